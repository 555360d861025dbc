# vars.mk — lets fuzz/run.sh read the Makefile's variables (PKGS, LDLIBS)
# so fuzz targets link exactly like the server:
#   make -s -f Makefile -f fuzz/vars.mk fuzz-print-LDLIBS
fuzz-print-%:
	@echo $($*)
