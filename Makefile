# afetch — `make` builds ./afetch; `make test` runs unit + integration tests;
# `make test SANITIZE=1` does the same in an ASan+UBSan build under build/san/;
# `make fuzz` runs the libFuzzer harnesses of tests/fuzz/ (clang) for FUZZ_SECONDS each.

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
PKG_CONFIG ?= pkg-config

AFETCH_PKGS      := libcurl libevent_core libevent_extra libcjson libcrypto libxml-2.0 libpsl libxxhash hiredis
TEST_SERVER_PKGS := libevent libevent_openssl openssl
UNIT_TEST_PKGS   := $(AFETCH_PKGS) cmocka

# The version, in one place: `git describe --tags` in a git checkout with a v* tag (0.2.0,
# or 0.2.0-3-gabc1234 three commits after v0.2.0), else the VERSION file. `make
# AFETCH_VERSION=...` (or the environment) overrides it; debian/rules passes the package's.
ifeq ($(origin AFETCH_VERSION),undefined)
AFETCH_VERSION := $(patsubst v%,%,$(if $(wildcard .git),$(shell \
	git describe --tags --match 'v[0-9]*' 2>/dev/null)))
AFETCH_VERSION := $(or $(AFETCH_VERSION),$(shell cat VERSION))
endif
VERSION_DEFINE := -DAFETCH_VERSION='"$(AFETCH_VERSION)"'

# CFLAGS, CPPFLAGS and LDFLAGS from the command line or the environment are used as given
# (dpkg-buildflags' hardening among them); CFLAGS defaults to $(OPTIMIZE).
CSTD     := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -pthread
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OPTIMIZE ?= -O2 -g
CFLAGS   ?= $(OPTIMIZE)
ALL_CFLAGS = $(CSTD) $(CPPFLAGS) $(VERSION_DEFINE) $(WARNINGS) $(CFLAGS) -Iinclude -MMD -MP

ifeq ($(WERROR),1)
ALL_CFLAGS += -Werror
endif

ifeq ($(SANITIZE),1)
BUILD       := build/san
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ALL_CFLAGS  += $(SAN_FLAGS)
LDFLAGS     += $(SAN_FLAGS)
AFETCH_BIN  := $(BUILD)/afetch
else
BUILD       := build/release
AFETCH_BIN  := afetch
endif

pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1))
pkg_libs   = $(shell $(PKG_CONFIG) --libs $(1))

# Every module but main.c: linked into afetch and into the unit tests.
LIB_SRCS := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/src/%.o)
MAIN_OBJ := $(BUILD)/src/main.o

UNIT_TEST_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TEST_BINS := $(UNIT_TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
INTEGRATION_SRCS := $(wildcard tests/integration/*.c)
INTEGRATION_BIN  := $(BUILD)/tests/integration
TEST_SERVER_BIN  := $(BUILD)/tests/test-server

.PHONY: all test unit-test integration-test readme-test completion-test completions demo bench \
	bench-queue bench-deps bench-tables bench-extract prefilter-diff fuzz fuzz-build fuzz-check install uninstall clean format \
	version FORCE

all: $(AFETCH_BIN)

version:
	@echo '$(AFETCH_VERSION)'

# Holds the version the objects were built with, rewritten only when it changes, so that a new
# version rebuilds the files that use AFETCH_VERSION (and only those).
VERSION_STAMP := build/version
$(VERSION_STAMP): FORCE
	@mkdir -p $(dir $@)
	@[ "$$(cat $@ 2>/dev/null)" = '$(AFETCH_VERSION)' ] || echo '$(AFETCH_VERSION)' > $@
VERSION_USERS := $(shell grep -l AFETCH_VERSION src/*.c tests/unit/*.c)

$(AFETCH_BIN): $(MAIN_OBJ) $(LIB_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(call pkg_libs,$(AFETCH_PKGS)) -pthread -lm

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(call pkg_cflags,$(AFETCH_PKGS)) -c -o $@ $<

# AFETCH_SOURCE_DIR: where a unit test finds the files it checks against the code (test_cli_table
# reads docs/afetch.1 and completions/).
$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DAFETCH_SOURCE_DIR='"$(CURDIR)"' $(call pkg_cflags,$(UNIT_TEST_PKGS)) \
		$(LDFLAGS) -o $@ $(filter %.c %.o,$^) \
		$(call pkg_libs,$(UNIT_TEST_PKGS)) -pthread -lm

$(patsubst src/%.c,$(BUILD)/src/%.o,$(filter src/%,$(VERSION_USERS))) \
$(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(filter tests/unit/%,$(VERSION_USERS))): $(VERSION_STAMP)

# The zsh and fish completions are written from the option table by
# completions/generator/completions.c (the bash one is written by hand; test_cli_table holds its
# lists to the table). `make completions`
# rewrites completions/_afetch and completions/afetch.fish, which are committed (installed
# without building the generator); test_cli_table fails while they differ from its output.
GEN_COMPLETIONS_BIN := $(BUILD)/completions/gen_completions
$(GEN_COMPLETIONS_BIN): completions/generator/gen_completions.c completions/generator/completions.c \
		completions/generator/completions.h $(LIB_OBJS) $(VERSION_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(call pkg_cflags,$(AFETCH_PKGS)) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) \
		$(call pkg_libs,$(AFETCH_PKGS)) -pthread -lm

$(BUILD)/tests/test_cli_table: completions/generator/completions.c \
		completions/generator/completions.h $(VERSION_STAMP)

completions: $(GEN_COMPLETIONS_BIN)
	$(GEN_COMPLETIONS_BIN) zsh > completions/_afetch.new && mv completions/_afetch.new completions/_afetch
	$(GEN_COMPLETIONS_BIN) fish > completions/afetch.fish.new && \
		mv completions/afetch.fish.new completions/afetch.fish

$(TEST_SERVER_BIN): tests/server/test_server.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(call pkg_cflags,$(TEST_SERVER_PKGS)) $(LDFLAGS) -o $@ $< \
		$(call pkg_libs,$(TEST_SERVER_PKGS))

$(INTEGRATION_BIN): $(INTEGRATION_SRCS) $(wildcard tests/integration/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(call pkg_cflags,libcjson cmocka) $(LDFLAGS) -o $@ $(INTEGRATION_SRCS) \
		$(call pkg_libs,libcjson cmocka)

# The runner prints every suite's cmocka report, then one closing "N passed, N failed" line.
TEST_ENV = AFETCH_BIN=$(abspath $(AFETCH_BIN)) TEST_SERVER_BIN=$(abspath $(TEST_SERVER_BIN)) \
	INTEGRATION_BIN=$(abspath $(INTEGRATION_BIN))

# The integration suite runs three times: as is (--threads auto), on one loop (run-inline.sh)
# and on two worker threads (run-threaded.sh); then every README example runs against the
# test server, and the bash, zsh and fish completions are checked.
INTEGRATION_RUNS = $(INTEGRATION_BIN) tests/integration/run-inline.sh tests/integration/run-threaded.sh
test: $(AFETCH_BIN) $(UNIT_TEST_BINS) $(TEST_SERVER_BIN) $(INTEGRATION_BIN)
	@$(TEST_ENV) tests/run-tests.sh $(UNIT_TEST_BINS) $(INTEGRATION_RUNS) \
		tests/readme-examples.sh tests/completion-test.sh tests/completion-test-shells.sh

unit-test: $(UNIT_TEST_BINS)
	@tests/run-tests.sh $(UNIT_TEST_BINS)

integration-test: $(AFETCH_BIN) $(TEST_SERVER_BIN) $(INTEGRATION_BIN)
	@$(TEST_ENV) tests/run-tests.sh $(INTEGRATION_RUNS)

# Offline demo: start the local test server, fetch a generated list against it, stop the server.
demo: $(AFETCH_BIN) $(TEST_SERVER_BIN)
	@AFETCH_BIN=$(abspath $(AFETCH_BIN)) TEST_SERVER_BIN=$(abspath $(TEST_SERVER_BIN)) tests/demo.sh

# Side-by-side benchmark against a private nginx; see bench/README.md. Options: BENCH_RUNS,
# BENCH_WORKLOADS (all|quick|W1,...), BENCH_TOOLS, BENCH_TIMEOUT, BENCH_SCALE, BENCH_WRITE_DOC=1.
bench: $(AFETCH_BIN)
	/usr/bin/python3 bench/run_bench.py
	/usr/bin/python3 bench/crawl_docs.py
	@if command -v redis-server >/dev/null; then $(MAKE) --no-print-directory bench-queue; \
	else echo "bench: no redis-server, the work queue rows skipped"; fi

# The work queue (docs/benchmarks.md, "Work queue on Redis"): 1, 2 and 4 workers against one
# plain run, CPU per request; one worker with Redis on loopback and 20 ms away.
bench-queue: $(AFETCH_BIN) $(TEST_SERVER_BIN)
	AFETCH_BIN=$(abspath $(AFETCH_BIN)) TEST_SERVER_BIN=$(abspath $(TEST_SERVER_BIN)) bench/queue_scale.sh
	AFETCH_BIN=$(abspath $(AFETCH_BIN)) TEST_SERVER_BIN=$(abspath $(TEST_SERVER_BIN)) bench/queue_rtt.sh

# The in-memory tables (frontier, state, link seen-set, -o names) on a unit-level workload:
# best of 5 wall times per workload (docs/benchmarks.md, "Hash tables").
TABLE_BENCH_BIN := $(BUILD)/bench/table_bench
$(TABLE_BENCH_BIN): bench/table_bench.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(call pkg_cflags,$(AFETCH_PKGS)) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) \
		$(call pkg_libs,$(AFETCH_PKGS)) -pthread -lm

bench-tables: $(TABLE_BENCH_BIN)
	$(TABLE_BENCH_BIN)

# Link extraction alone, for profiles and differential checks (docs/benchmarks.md, C2).
EXTRACT_LINKS_BIN := $(BUILD)/bench/extract_links
bench-extract: $(EXTRACT_LINKS_BIN)
$(EXTRACT_LINKS_BIN): bench/extract_links.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(call pkg_cflags,$(AFETCH_PKGS)) $(LDFLAGS) -o $@ $< $(LIB_OBJS) \
		$(call pkg_libs,$(AFETCH_PKGS)) -lm

# The differential proof of the HTML pre-filter (html_prefilter.h): links and requisites with
# and without it, in pieces of several sizes, over the checked-in corpus, the test server's
# pages and Python's HTML documentation when python3-doc is installed. PREFILTER_DIFF_PATHS
# adds paths; PREFILTER_DIFF_MAX_SINGLE limits pieces of one byte to smaller files.
PREFILTER_DIFF_BIN := $(BUILD)/tests/prefilter_diff
PREFILTER_DIFF_DOCS := $(firstword $(wildcard /usr/share/doc/python3/html /usr/share/doc/python3-doc/html))
PREFILTER_DIFF_MAX_SINGLE ?= 300000
$(PREFILTER_DIFF_BIN): tests/differential/prefilter_diff.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(call pkg_cflags,$(AFETCH_PKGS)) $(LDFLAGS) -o $@ $< $(LIB_OBJS) \
		$(call pkg_libs,$(AFETCH_PKGS)) -lm
prefilter-diff: $(PREFILTER_DIFF_BIN) $(TEST_SERVER_BIN)
	tests/differential/test_server_pages.sh $(TEST_SERVER_BIN) $(BUILD)/prefilter-diff-pages
	$(PREFILTER_DIFF_BIN) --max-single $(PREFILTER_DIFF_MAX_SINGLE) tests/differential/corpus \
		$(BUILD)/prefilter-diff-pages $(PREFILTER_DIFF_DOCS)/ $(PREFILTER_DIFF_PATHS)

# The benchmark's server, load generator and peers, from Debian (run as root or via sudo).
bench-deps:
	apt-get update -q
	apt-get install -y -q nginx-light libnginx-mod-http-echo wrk curl aria2 wget2 \
		python3-aiohttp time

# Every ```sh block of README.md run against the local test server (tests/readme-examples.sh).
readme-test: $(AFETCH_BIN) $(TEST_SERVER_BIN)
	@$(TEST_ENV) tests/readme-examples.sh

# completions/: syntax, every option, value completion in bash, zsh and fish (test_cli_table
# holds them to src/cli_table.c's table; a shell that is not installed is skipped).
completion-test:
	@tests/run-tests.sh tests/completion-test.sh tests/completion-test-shells.sh

# libFuzzer harnesses (tests/fuzz/fuzz_NAME.c) linked with every module, all built by clang
# with ASan + UBSan under build/fuzz/. `make fuzz` runs each for FUZZ_SECONDS on a copy of its
# seed corpus (build/fuzz/corpus-NAME) and fails on the first crash; `make fuzz-check` only
# replays the seed corpora (a regression run). FUZZ_TARGETS picks harnesses.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= source json_line links robots output_name state resolve prefilter
FUZZ_BUILD   := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS   = $(CSTD) $(VERSION_DEFINE) $(WARNINGS) -O1 -g $(FUZZ_SAN) -Iinclude -MMD -MP \
	$(if $(filter 1,$(WERROR)),-Werror) $(call pkg_cflags,$(AFETCH_PKGS))
FUZZ_LIB_OBJS := $(LIB_SRCS:src/%.c=$(FUZZ_BUILD)/src/%.o)
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
# Built only through the harnesses' pattern rule: without this, make deletes them as
# intermediate files and every `make fuzz` compiles every module again.
.SECONDARY: $(FUZZ_LIB_OBJS)
$(patsubst src/%.c,$(FUZZ_BUILD)/src/%.o,$(filter src/%,$(VERSION_USERS))): $(VERSION_STAMP)

$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_helpers.h $(FUZZ_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJS) \
		$(call pkg_libs,$(AFETCH_PKGS)) -pthread -lm

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-check: $(FUZZ_BINS)
	@tests/fuzz/run.sh $(FUZZ_BUILD) 0 $(FUZZ_TARGETS)

# The binary, the man page (its title line given the version being installed) and the
# completions: bash (loaded on demand by bash-completion), zsh and fish (their vendor
# directories, which Debian's zsh and fish read).
BINDIR         = $(PREFIX)/bin
MAN1DIR        = $(PREFIX)/share/man/man1
COMPLETIONSDIR = $(PREFIX)/share/bash-completion/completions
ZSH_COMPLETIONSDIR  = $(PREFIX)/share/zsh/vendor-completions
FISH_COMPLETIONSDIR = $(PREFIX)/share/fish/vendor_completions.d

install: $(AFETCH_BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MAN1DIR) $(DESTDIR)$(COMPLETIONSDIR) \
		$(DESTDIR)$(ZSH_COMPLETIONSDIR) $(DESTDIR)$(FISH_COMPLETIONSDIR)
	install -m 755 $(AFETCH_BIN) $(DESTDIR)$(BINDIR)/afetch
	sed '/^\.TH /s/"afetch [^"]*"/"afetch $(AFETCH_VERSION)"/' docs/afetch.1 \
		> $(DESTDIR)$(MAN1DIR)/afetch.1
	chmod 644 $(DESTDIR)$(MAN1DIR)/afetch.1
	install -m 644 completions/afetch.bash $(DESTDIR)$(COMPLETIONSDIR)/afetch
	install -m 644 completions/_afetch $(DESTDIR)$(ZSH_COMPLETIONSDIR)/_afetch
	install -m 644 completions/afetch.fish $(DESTDIR)$(FISH_COMPLETIONSDIR)/afetch.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/afetch $(DESTDIR)$(MAN1DIR)/afetch.1 \
		$(DESTDIR)$(COMPLETIONSDIR)/afetch $(DESTDIR)$(ZSH_COMPLETIONSDIR)/_afetch \
		$(DESTDIR)$(FISH_COMPLETIONSDIR)/afetch.fish

format:
	clang-format -i src/*.c include/afetch/*.h tests/*/*.c tests/*/*.h \
		completions/generator/*.[ch]

clean:
	rm -rf build afetch

-include $(shell find build -name '*.d' 2>/dev/null)
