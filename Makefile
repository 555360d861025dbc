# Plue — build, run, test, bench, fuzz.
#   make            build ./plue
#   make run        install dependencies, build, start the server on 127.0.0.1:4000
#                   (git over SSH on 127.0.0.1:2222)
#   make test       unit, Kubernetes-double, integration, interop, model-double and browser tests
#                   (SAN=1: under ASan/UBSan)
#   make bench      benchmarks against nginx, cgit and git http-backend
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS
#   make format     clang-format src/ and tests/unit/ (format-check: list what is not)
#   make deps       install the Debian packages (build + run)

CC      ?= cc
PKGS    := libmicrohttpd libpq libgit2 jansson yaml-0.1 libcurl openssl libsecp256k1 \
           nettle libsodium libjwt libcmark-gfm zlib libssh
WARN    := -Wall -Wextra -Wformat=2 -Wno-unused-parameter -Wno-missing-field-initializers \
           -Wshadow=local -Wvla -Wno-format-truncation -Werror
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -pthread -D_GNU_SOURCE -Isrc $(WARN) \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcmark-gfm-extensions -lcmark-gfm -lm -pthread

ifeq ($(SAN),1)
BUILD   ?= build-san
CFLAGS  += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   ?= build
endif

SRCS     := $(filter-out src/plue.c,$(wildcard src/*/*.c))
OBJS     := $(SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/migrations.o $(BUILD)/gen/statx-shim.o \
            $(BUILD)/gen/netfilter-shim.o $(BUILD)/gen/assets.o
ASSETS   := $(sort $(wildcard src/web/static/*))
MIGS     := $(sort $(wildcard db/migrations/*.sql))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# test_k8s needs the npm packages tests/k8s/run.sh installs: `make k8s` runs it
UNIT_RUN := $(filter-out $(BUILD)/tests/test_k8s,$(UNIT_BIN))
PLUE     := $(BUILD)/plue
SHIM     := $(BUILD)/plue-statx.so
NETSHIM  := $(BUILD)/plue-netfilter.so

.PHONY: all deps run test unit k8s integration interop llm browser bench fuzz clean format format-check
all: $(PLUE) plue

# preloaded into commands in gVisor sandboxes (src/runner/shim/statx.c);
# its bytes are linked into plue as sandbox_statx_shim[_end]. Every program
# in the sandbox maps it: two segments and no RELRO keep that to the least
# work for the loader
$(SHIM): src/runner/shim/statx.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -shared -fPIC -D_GNU_SOURCE -Wall -Wextra -Werror -fno-asynchronous-unwind-tables \
	  -Wl,-z,noseparate-code -Wl,-z,norelro -Wl,--build-id=none -o $@ $<

$(BUILD)/gen/statx-shim.o: $(SHIM)
	@mkdir -p $(dir $@)
	printf '%s\n' '.section .rodata' '.balign 16' '.globl sandbox_statx_shim' \
	  'sandbox_statx_shim:' '.incbin "$(SHIM)"' '.globl sandbox_statx_shim_end' \
	  'sandbox_statx_shim_end:' '.section .note.GNU-stack,"",@progbits' | \
	  $(CC) -c -x assembler -o $@ -

# preloaded into the slirp4netns process of a sandbox with network
# (src/runner/shim/netfilter.c): refuses the destinations a step must not
# reach; linked into plue as sandbox_netfilter_shim[_end]
$(NETSHIM): src/runner/shim/netfilter.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -shared -fPIC -D_GNU_SOURCE -Wall -Wextra -Werror -o $@ $<

$(BUILD)/gen/netfilter-shim.o: $(NETSHIM)
	@mkdir -p $(dir $@)
	printf '%s\n' '.section .rodata' '.balign 16' '.globl sandbox_netfilter_shim' \
	  'sandbox_netfilter_shim:' '.incbin "$(NETSHIM)"' '.globl sandbox_netfilter_shim_end' \
	  'sandbox_netfilter_shim_end:' '.section .note.GNU-stack,"",@progbits' | \
	  $(CC) -c -x assembler -o $@ -

# the pages' stylesheet and scripts (src/web/static/), linked into plue as
# web_asset_NAME[_end] with NAME the file name, '.' and '-' as '_'
$(BUILD)/gen/assets.o: $(ASSETS)
	@mkdir -p $(dir $@)
	{ echo '.section .rodata'; for f in $(ASSETS); do s=$$(basename $$f | tr .- __); \
	  printf '%s\n' ".globl web_asset_$$s" "web_asset_$$s:" ".incbin \"$$f\"" \
	  ".globl web_asset_$${s}_end" "web_asset_$${s}_end:"; done; \
	  echo '.section .note.GNU-stack,"",@progbits'; } | $(CC) -c -x assembler -o $@ -

plue: $(PLUE)
	@ln -sf $(PLUE) plue

$(PLUE): $(BUILD)/src/plue.o $(BUILD)/libplue.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libplue.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -c -o $@ $<

$(BUILD)/gen/migrations.c: $(MIGS) scripts/embed-migrations.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-migrations.sh $(MIGS) > $@

$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libplue.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libplue.a $(LDLIBS) -lcmocka

deps:
	bash scripts/deps.sh run

run: deps
	$(MAKE) all
	./plue serve --ssh-listen 127.0.0.1

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_RUN); do echo "== $$t"; $$t; done

integration: all
	PLUE=$(abspath $(PLUE)) bash tests/integration/run.sh

interop: all
	PLUE=$(abspath $(PLUE)) bash tests/interop/run.sh

# the model doubles (Anthropic, OpenAI-compatible) checked against the
# official SDKs, then the C clients against the doubles
llm: $(BUILD)/tests/test_anthropic $(BUILD)/tests/test_openai
	ANTHROPIC_TEST=$(abspath $(BUILD)/tests/test_anthropic) \
	OPENAI_TEST=$(abspath $(BUILD)/tests/test_openai) bash tests/llm/run.sh

browser: all
	PLUE=$(abspath $(PLUE)) bash tests/browser/run.sh

# the Kubernetes API double checked against kubernetes-models, then the C
# client (src/k8s) against the double
k8s: $(BUILD)/tests/test_k8s
	K8S_TEST=$(abspath $(BUILD)/tests/test_k8s) bash tests/k8s/run.sh

test:
	bash scripts/deps.sh test
	$(MAKE) unit
	$(MAKE) k8s
	$(MAKE) integration
	$(MAKE) interop
	$(MAKE) llm
	$(MAKE) browser

bench:
	bash scripts/deps.sh bench
	$(MAKE) all
	PLUE=$(abspath $(PLUE)) bash bench/run.sh

FUZZ_SECONDS ?= 120
fuzz:
	bash fuzz/run.sh $(FUZZ_SECONDS)

# clang-format 19: .clang-format uses its Macros key
CLANG_FORMAT ?= clang-format-19
FORMAT_SRCS  := $(sort $(wildcard src/*.c src/*/*.[ch] src/*/*/*.[ch] tests/unit/*.[ch]))

format:
	$(CLANG_FORMAT) -i $(FORMAT_SRCS)

# fails, naming each file that `make format` would change
format-check:
	@command -v $(CLANG_FORMAT) >/dev/null || { echo "format-check: no $(CLANG_FORMAT) (make deps)" >&2; exit 1; }
	@bad=0; for f in $(FORMAT_SRCS); do \
	  $(CLANG_FORMAT) --dry-run --Werror "$$f" >/dev/null 2>&1 || { echo "not formatted: $$f"; bad=1; }; \
	done; \
	if [ $$bad -ne 0 ]; then echo "format-check: run 'make format'" >&2; exit 1; fi

clean:
	rm -rf build build-san plue

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
-include tests/sandbox/sandbox.mk
