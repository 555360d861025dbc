# tests/sandbox/sandbox.mk — the sandbox driver used by bench/sandbox.sh
# (included from the Makefile): $(BUILD)/sbx.
$(BUILD)/sbx: tests/sandbox/sbx.c $(BUILD)/libplue.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libplue.a $(LDLIBS)
