# kaeri - plain Makefile (STYLE.md section 9).
#
#   make            debug build: emulator/kaeri
#   make test       AddressSanitizer + UBSan build in build/asan, every test
#   make run        kaeri serve on fixtures/default.json
#   make demo       start kaeri, sign alice in, print her tokens, stop
#   make bench      benchmark programs (build/release)
#   make fuzz       libFuzzer targets with clang
#
# Objects live in build/<config>/, one folder per configuration, with -MMD
# dependencies. V=1 shows the commands.

CC      ?= cc
STD      = -std=c11 -D_DEFAULT_SOURCE
WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wold-style-definition -Wpointer-arith \
           -Wwrite-strings -Wvla -Wformat=2 -Wundef -Wimplicit-fallthrough
SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all \
           -fno-omit-frame-pointer
PKGS     = libmicrohttpd libnghttp2 jansson openssl zlib
TEST_PKGS = cmocka libcurl

ifeq ($(V),1)
Q =
else
Q = @
endif

# pkg-config is read lazily: on a machine without the packages yet, the
# deps step below runs first and installs them.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) libwebsockets 2>/dev/null)
# libwebsockets is linked statically so lws_hdr_copy can be wrapped at link
# time (emulator/lws_hdr_wrap.c says why).
LWS_LIBS   = $(shell pkg-config --variable=libdir libwebsockets 2>/dev/null)/libwebsockets.a \
             -Wl,--wrap=lws_hdr_copy -lcap -ldl -lpthread
PKG_LIBS   = $(LWS_LIBS) $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# The wrapper lives in libkaeri.a, which the linker reads before
# libwebsockets.a: ask for it up front so it is always linked in.
LINK_PRE   = -Wl,--undefined=__wrap_lws_hdr_copy
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS   = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

EMU_SRCS  = $(wildcard emulator/*.c)
LIB_SRCS  = $(filter-out emulator/main.c,$(EMU_SRCS))
SUPPORT_SRCS = $(wildcard tests/support/*.c)
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
TOOL_SRCS = $(wildcard tools/*.c)
WIRE_SRCS = $(wildcard tests/wire/test_*.c)
HEADERS   = $(wildcard emulator/*.h)

# Per-configuration flags.
debug_CFLAGS   = -g -O1
asan_CFLAGS    = -g -O1 $(SAN)
asan_LDFLAGS   = $(SAN)
release_CFLAGS = -O2 -g

FINAL_CFLAGS = $(STD) $(WARN) -Iemulator -Itests/support $(PKG_CFLAGS) \
               $(TEST_CFLAGS) -MMD -MP

.PHONY: all test run demo bench fuzz clean deps hdr-check format format-check \
        valgrind

all: emulator/kaeri

deps:
	@tools/deps.sh

# --- object rules, one set per configuration -------------------------------
define config_rules
$(1)_CC ?= $$(CC)
build/$(1)/%.o: %.c | deps
	@mkdir -p $$(dir $$@)
	$$(if $$(Q),@echo "  CC [$(1)] $$<")
	$(Q)$$($(1)_CC) $$(FINAL_CFLAGS) $$($(1)_CFLAGS) $$(CFLAGS) -c $$< -o $$@

build/$(1)/libkaeri.a: $$(LIB_SRCS:%.c=build/$(1)/%.o)
	$(Q)rm -f $$@ && ar rcs $$@ $$^

build/$(1)/libsupport.a: $$(SUPPORT_SRCS:%.c=build/$(1)/%.o)
	$(Q)rm -f $$@ && ar rcs $$@ $$^

build/$(1)/kaeri: build/$(1)/emulator/main.o build/$(1)/libkaeri.a
	$$(if $$(Q),@echo "  LD [$(1)] $$@")
	$(Q)$$($(1)_CC) $$($(1)_LDFLAGS) $$(LINK_PRE) -o $$@ $$^ $$(PKG_LIBS) \
	    $$(LDFLAGS)

$(1)_TEST_BINS = $$(patsubst %.c,build/$(1)/%,$$(UNIT_SRCS) $$(WIRE_SRCS) \
                    $$(TOOL_SRCS))
$$($(1)_TEST_BINS): build/$(1)/%: build/$(1)/%.o build/$(1)/libsupport.a \
                    build/$(1)/libkaeri.a
	$$(if $$(Q),@echo "  LD [$(1)] $$@")
	$(Q)$$($(1)_CC) $$($(1)_LDFLAGS) $$(LINK_PRE) -o $$@ $$^ $$(PKG_LIBS) \
	    $$(TEST_LIBS) $$(LDFLAGS)

# Fuzz targets: with replay.c under gcc (every config), with libFuzzer in
# the fuzz config.
$(1)_FUZZ_BINS = $$(FUZZ_TARGETS:%=build/$(1)/tests/fuzz/fuzz_%)
$$($(1)_FUZZ_BINS): build/$(1)/tests/fuzz/fuzz_%: \
        build/$(1)/tests/fuzz/fuzz_%.o $$($(1)_FUZZ_MAIN) build/$(1)/libkaeri.a
	$$(if $$(Q),@echo "  LD [$(1)] $$@")
	$(Q)$$($(1)_CC) $$($(1)_LDFLAGS) $$(LINK_PRE) -o $$@ $$^ $$(PKG_LIBS) \
	    $$(LDFLAGS)
endef
FUZZ_TARGETS = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
asan_FUZZ_MAIN  = build/asan/tests/fuzz/replay.o
fuzz_CC         = clang
fuzz_CFLAGS     = -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
                  -fno-omit-frame-pointer
fuzz_LDFLAGS    = -fsanitize=fuzzer,address,undefined
$(eval $(call config_rules,debug))
$(eval $(call config_rules,asan))
$(eval $(call config_rules,release))
$(eval $(call config_rules,fuzz))

emulator/kaeri: build/debug/kaeri
	$(Q)cp $< $@

UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=build/asan/tests/unit/%)
WIRE_BINS = $(WIRE_SRCS:tests/wire/%.c=build/asan/tests/wire/%)

# Each header must compile on its own (git's hdr-check).
HDR_CHECKS = $(HEADERS:emulator/%.h=build/hdr/%.ok)
build/hdr/%.ok: emulator/%.h | deps
	@mkdir -p $(dir $@)
	$(Q)echo '#include "$*.h"' | $(CC) $(STD) $(WARN) -Iemulator \
	    $(PKG_CFLAGS) -x c -fsyntax-only - && touch $@
hdr-check: $(HDR_CHECKS)

# Unit tests, wire tests, every fuzz corpus replayed, and the demo itself;
# the debug build is made too, since -O1 without sanitizers warns
# differently and its warnings are errors as well.
test: build/asan/kaeri emulator/kaeri $(UNIT_BINS) $(WIRE_BINS) \
      $(asan_FUZZ_BINS) build/asan/tools/demo hdr-check
	@KAERI_BIN=$(CURDIR)/build/asan/kaeri KAERI_ROOT=$(CURDIR) \
	    tools/run-tests.sh $(UNIT_BINS) $(WIRE_BINS) $(asan_FUZZ_BINS) \
	    build/asan/tools/demo

# Benchmarks run on the optimised build; they print, they never fail a test.
bench: build/release/kaeri build/release/tools/bench
	@KAERI_BIN=$(CURDIR)/build/release/kaeri KAERI_ROOT=$(CURDIR) \
	    build/release/tools/bench

FUZZ_TIME ?= 60
fuzz: $(fuzz_FUZZ_BINS)
	@command -v clang >/dev/null || { echo "make fuzz needs clang: apt-get install clang"; exit 1; }
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p build/fuzz/corpus/$$t && \
	    cp -n tests/fuzz/corpus/$$t/* build/fuzz/corpus/$$t/ 2>/dev/null; \
	    echo "== fuzz_$$t for $(FUZZ_TIME)s"; \
	    build/fuzz/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) \
	        build/fuzz/corpus/$$t || exit 1; done

run: emulator/kaeri
	./emulator/kaeri serve

# The demo is a client program (tools/demo.c) that starts kaeri itself.
demo: emulator/kaeri build/debug/tools/demo
	@KAERI_BIN=$(CURDIR)/emulator/kaeri KAERI_ROOT=$(CURDIR) \
	    build/debug/tools/demo

valgrind: $(UNIT_SRCS:tests/unit/%.c=build/debug/tests/unit/%)
	@for t in $^; do valgrind -q --error-exitcode=1 --leak-check=full \
	    --suppressions=tests/valgrind.supp $$t || exit 1; done

format:
	clang-format -i emulator/*.[ch] tests/*/*.[ch]
format-check:
	clang-format --dry-run --Werror emulator/*.[ch] tests/*/*.[ch]

clean:
	rm -rf build emulator/kaeri

.SECONDARY:
-include $(shell find build -name '*.d' 2>/dev/null)
