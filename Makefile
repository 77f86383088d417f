# Plain make; pkg-config for every library.
#   make            build build/portald, build/portalctl, build/plugins/*.so
#   make run        the whole local stack on http://127.0.0.1:$(PORT)/
#   make test       every test (unit, loader, integration through nginx)
#   make test SAN=1 the same under AddressSanitizer + UBSan
#   make DB=mysqlclient   build against libmysqlclient instead of libmariadb
#   make fuzz       libFuzzer harnesses (clang), FUZZ_SECONDS each (default 60)

CC      ?= cc
DB      ?= libmariadb
PORT    ?= 8080
B       := build
PKGS    := $(DB) libconfig json-c libsodium libcmark libmagic vips

WARN    := -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes \
           -Wshadow -Wpointer-arith -Wformat=2 -Wvla -Wundef -Wno-unused-parameter
# CFLAGS and LDFLAGS are the user's (make CFLAGS=-O0 changes only the
# optimisation); what the build needs is added in ALL_CFLAGS and ALL_LDFLAGS.
CFLAGS  ?= -O2 -g
LDFLAGS ?=
# pkg-config runs once, when a compile first needs it (not when the Makefile
# is read, so `make run` and `make test` can install the libraries first).
pkg_ok   = $(eval pkg_ok := $$(shell pkg-config --exists $(PKGS) && echo yes))$(pkg_ok)
pkgflags = $(if $(pkg_ok),$(shell pkg-config $(1) $(PKGS)),$(error pkg-config finds no $(PKGS): \
           "make deps" installs the packages (so do "make run" and "make test", before they compile)))
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(call pkgflags,--cflags))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $$(call pkgflags,--libs))$(PKG_LIBS)
SAN_FLAGS :=
ifeq ($(FUZZ),1)
# libFuzzer harnesses (tests/fuzz/): clang, the core built for fuzzing.
CC      := clang
SAN_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
SAN_LDFLAGS := -fsanitize=address,undefined
B       := build-fuzz
endif
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined
B       := build-san
endif
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE -fPIC $(WARN) -Icore $(PKG_CFLAGS) $(SAN_FLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_LDFLAGS) $(LDFLAGS)
# libunistring (NFC on write) has no .pc file: linked by name
LDLIBS   = $(PKG_LIBS) -lfcgi -lunistring -ldl -lm

# core/ in layers, lowest first (tools/core-calls.py checks that no file
# calls a higher layer, nor two files each other)
CORE_LAYERS := base db items web server tools
CORE_SRC := $(filter-out core/server/main.c core/tools/portalctl.c,$(wildcard $(CORE_LAYERS:%=core/%/*.c)))
CORE_OBJ := $(CORE_SRC:core/%.c=$(B)/core/%.o) $(B)/core/schema_sql.o $(B)/core/openapi_json.o \
            $(B)/core/assets.o
PLUGINS  := $(notdir $(wildcard plugins/*))
PLUGIN_SO := $(PLUGINS:%=$(B)/plugins/%.so)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TESTPLUG := $(patsubst tests/plugins/%.c,$(B)/tests/plugins/%.so,$(wildcard tests/plugins/*.c))

all: $(B)/portald $(B)/portalctl $(PLUGIN_SO)

$(B)/core/%.o: core/%.c core/*.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Core migrations, compiled into the binaries (schema/NNN_name.sql, in order).
$(B)/core/schema_sql.c: $(sort $(wildcard schema/*.sql)) tools/embed-migrations.sh
	@mkdir -p $(@D)
	sh tools/embed-migrations.sh core_migrations $(sort $(wildcard schema/*.sql)) > $@
$(B)/core/schema_sql.o: $(B)/core/schema_sql.c
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -Icore -c -o $@ $<

# The core's OpenAPI description, compiled in as core_openapi.
$(B)/core/openapi_json.c: core/server/openapi.json tools/embed-text.sh
	@mkdir -p $(@D)
	sh tools/embed-text.sh core_openapi core/server/openapi.json > $@
$(B)/core/openapi_json.o: $(B)/core/openapi_json.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Templates, words and the stylesheet of the pages, compiled in.
CORE_ASSETS := $(sort $(wildcard core/web/templates/*)) core/web/messages.json core/web/edit_words.json \
               core/web/validation.json core/web/static/portal.css core/web/map/europe.txt
# Country and language names in the pages' languages (the |country and
# |language filters), made from Debian's iso-codes at build time.
ISO_CODES ?= /usr/share/iso-codes/json
$(B)/core/iso_names.json: tools/iso-names.py $(wildcard $(ISO_CODES)/iso_3166-1.json $(ISO_CODES)/iso_639-2.json)
	@mkdir -p $(@D)
	python3 tools/iso-names.py --iso-codes $(ISO_CODES) > $@.tmp && mv $@.tmp $@
$(B)/core/assets.c: $(CORE_ASSETS) $(B)/core/iso_names.json tools/embed-files.sh tools/embed-text.sh
	@mkdir -p $(@D)
	{ sh tools/embed-files.sh core_templates $(sort $(wildcard core/web/templates/*)); \
	  sh tools/embed-text.sh core_iso_names $(B)/core/iso_names.json | grep -v '^/\*'; \
	  sh tools/embed-text.sh core_messages core/web/messages.json | grep -v '^/\*'; \
	  sh tools/embed-text.sh core_edit_words core/web/edit_words.json | grep -v '^/\*'; \
	  sh tools/embed-text.sh core_validation core/web/validation.json | grep -v '^/\*'; \
	  sh tools/embed-text.sh core_css core/web/static/portal.css | grep -v '^/\*'; \
	  sh tools/embed-text.sh core_map_outline core/web/map/europe.txt | grep -v '^/\*'; } > $@
$(B)/core/assets.o: $(B)/core/assets.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/portald: $(B)/core/server/main.o $(CORE_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/portalctl: $(B)/core/tools/portalctl.o $(CORE_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

# A plugin: every .c in plugins/NAME/, plus its schema/*.sql embedded as
# NAME_migrations, its openapi.json (if any) as NAME_openapi (an empty
# string without one), templates/* as NAME_templates ({name, text}, NULL-
# ended) and messages.json as NAME_messages.  It links to nothing of the core's: all goes through
# the api table handed to init().  Extra libraries: pkg-config package names
# in plugins/NAME/pkg-config (one line), e.g. "libxml-2.0".
.SECONDEXPANSION:
$(B)/plugins/%.so: $$(wildcard plugins/%/*.c) $$(wildcard plugins/%/*.h) $$(wildcard plugins/%/schema/*.sql) $$(wildcard plugins/%/openapi.json) $$(wildcard plugins/%/pkg-config) $$(wildcard plugins/%/templates/*) $$(wildcard plugins/%/messages.json) core/portal.h tools/embed-migrations.sh tools/embed-text.sh tools/embed-files.sh
	@mkdir -p $(@D) $(B)/gen
	sh tools/embed-migrations.sh $*_migrations $(sort $(wildcard plugins/$*/schema/*.sql)) > $(B)/gen/$*_schema.c
	sh tools/embed-text.sh $*_openapi $(wildcard plugins/$*/openapi.json) > $(B)/gen/$*_openapi.c
	{ sh tools/embed-files.sh $*_templates $(sort $(wildcard plugins/$*/templates/*)); \
	  sh tools/embed-text.sh $*_messages $(wildcard plugins/$*/messages.json) | grep -v '^/\*'; } > $(B)/gen/$*_pages.c
	$(CC) $(ALL_CFLAGS) $(if $(wildcard plugins/$*/pkg-config),$$(pkg-config --cflags $$(cat plugins/$*/pkg-config))) -Wno-missing-prototypes -shared -o $@ $(filter %.c,$^) $(B)/gen/$*_schema.c $(B)/gen/$*_openapi.c $(B)/gen/$*_pages.c $(ALL_LDFLAGS) $(shell pkg-config --libs json-c) $(if $(wildcard plugins/$*/pkg-config),$$(pkg-config --libs $$(cat plugins/$*/pkg-config)))

$(B)/tests/plugins/%.so: tests/plugins/%.c core/portal.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $< $(ALL_LDFLAGS)

$(B)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(CORE_OBJ) $(LDLIBS)

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_SECONDS ?= 60

$(B)/fuzz/%: tests/fuzz/%.c $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $(ALL_LDFLAGS) -o $@ $< $(CORE_OBJ) $(LDLIBS)

fuzz-build: $(FUZZ_BIN) $(PLUGIN_SO)

# make fuzz [FUZZ_SECONDS=60]: every harness for that long, with its corpus.
fuzz:
	$(MAKE) FUZZ=1 fuzz-build
	sh tests/fuzz/run.sh $(FUZZ_SECONDS) build-fuzz/fuzz

# In-process request replay, for valgrind (tests/integration/test_valgrind.sh).
$(B)/tests/replay: tests/valgrind/replay.c $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CORE_OBJ) $(LDLIBS)

check-build: all $(UNIT_BIN) $(TESTPLUG) $(B)/tests/replay

# `make run` and `make test` are a new user's first commands: each installs
# the packages it needs (scripts/deps.sh run|test) before it compiles
# anything, then builds with a make of its own.
test:
	sh scripts/deps.sh test
	$(MAKE) check-build
	B=$(B) SAN=$(SAN) sh tests/run.sh

run:
	sh scripts/deps.sh run
	$(MAKE) all
	B=$(B) PORT=$(PORT) sh scripts/run.sh

deps:
	sh scripts/deps.sh test

clean:
	rm -rf build build-san build-fuzz

.PHONY: all check-build test run deps clean fuzz fuzz-build
include bench/bench.mk
include mk/install.mk
