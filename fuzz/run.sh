#!/usr/bin/env bash
# run.sh — builds every fuzz/fuzz_*.c as a libFuzzer binary in build-fuzz/
# and runs each for SECONDS (default 60) on its seed corpus.
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]
#
# A target names the sources it needs in a comment line
#   // fuzz-sources: src/auth/siwe.c src/base/arena.c ...
# and may add libFuzzer flags with
#   // fuzz-options: -max_len=20000
# Seeds live in fuzz/corpus/<target>/ (read only); inputs the fuzzer finds
# go to build-fuzz/corpus/<target>/, crashes to build-fuzz/<target>-crash-*.
# fuzz/<target>.dict, when present, is passed as the dictionary.
set -euo pipefail

cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
shift || true
OUT=${FUZZ_BUILD:-build-fuzz}
CC=${FUZZ_CC:-clang}

mvar() { make -s --no-print-directory -f Makefile -f fuzz/vars.mk "fuzz-print-$1"; }
PKGS=$(mvar PKGS)
LDLIBS=$(mvar LDLIBS)
CFLAGS="-std=gnu11 -pthread -D_GNU_SOURCE -Isrc -g -O1 -fno-omit-frame-pointer
	-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
	$(pkg-config --cflags $PKGS)"

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in fuzz/fuzz_*.c; do
		[ -e "$f" ] && targets+=("$(basename "$f" .c)")
	done
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets in fuzz/"; exit 1; }

mkdir -p "$OUT"
failed=()
for t in "${targets[@]}"; do
	src=fuzz/$t.c
	srcs=$(sed -n 's|^// fuzz-sources:||p' "$src")
	opts=$(sed -n 's|^// fuzz-options:||p' "$src")
	[ -n "$srcs" ] || { echo "fuzz: $src has no '// fuzz-sources:' line"; exit 1; }
	echo "== fuzz $t: build"
	# shellcheck disable=SC2086 # word splitting of flag lists is intended
	$CC $CFLAGS -o "$OUT/$t" "$src" $srcs $LDLIBS

	seeds=fuzz/corpus/$t
	work=$OUT/corpus/$t
	mkdir -p "$work"
	args=(-max_total_time="$SECONDS_PER_TARGET" -artifact_prefix="$OUT/$t-" -print_final_stats=1)
	[ -f "fuzz/$t.dict" ] && args+=(-dict="fuzz/$t.dict")
	echo "== fuzz $t: ${SECONDS_PER_TARGET}s"
	# shellcheck disable=SC2086
	if ! "$OUT/$t" "${args[@]}" $opts "$work" $([ -d "$seeds" ] && echo "$seeds") \
		>"$OUT/$t.log" 2>&1; then
		failed+=("$t")
		tail -n 60 "$OUT/$t.log"
		echo "== fuzz $t: FAILED (log $OUT/$t.log)"
	else
		grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' \
			"$OUT/$t.log" || true
		echo "== fuzz $t: ok"
	fi
done

echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
