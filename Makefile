# FlowMaster — one binary, every service. `make run` builds and starts it; `make test`
# builds and runs every test (also under AddressSanitizer + UBSan); `make bench` measures.
# Build dependencies (Debian 12 packages) are installed by scripts/deps.sh when missing.

CC       ?= cc
PKGS     := libcjson libuv sqlite3 libsodium libpcre2-8 expat libcurl libwebsockets zlib
CFLAGS   ?= -O2 -g
# pkg-config runs when first needed (after scripts/deps.sh may have installed the
# packages on a fresh machine), once: the $(eval) memoizes the answer.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null))$(PKG_LIBS)
CFLAGS   += -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
            -Isrc -Ibuild/gen $(PKG_CFLAGS)
LDLIBS    = -lcivetweb $(PKG_LIBS) -lpthread -lm   # CivetWeb ships no .pc file
SAN      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

SRC      := $(wildcard src/*.c src/*/*.c src/modules/*/*.c)
CORE_SRC := $(filter-out src/main.c,$(SRC))
EMBEDDED := $(shell find migrations web -type f 2>/dev/null | sort)
UNIT     := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

OBJ      := $(patsubst src/%.c,build/obj/%.o,$(CORE_SRC)) build/obj/gen/fm_embedded.o
ASAN_OBJ := $(patsubst src/%.c,build/asan/%.o,$(CORE_SRC)) build/asan/gen/fm_embedded.o
DEPS     := build/.deps-build

.PHONY: all run test test-unit test-http test-asan bench bench-bpmn bench-rules bench-exec bench-feel-probe bench-exec-probe bench-sched bench-notify bench-integrations bench-bus bench-mcp bench-entities bench-analytics install uninstall \
        clean deps conformance
all: build/flowmaster flowmaster

# One stamp per set; each set includes the one before, so parallel make never runs two
# apt-get at once.
$(DEPS) build/.deps-test build/.deps-bench: scripts/deps.sh
	@mkdir -p build
	@scripts/deps.sh $(patsubst build/.deps-%,%,$@)
	@touch $@
build/.deps-test: $(DEPS)
build/.deps-bench: build/.deps-test
deps: build/.deps-test

build/tools/fm_embed: tools/fm_embed.c | $(DEPS)
	@mkdir -p $(@D)
	$(CC) -std=c11 -O1 -Wall -Wextra -Werror -o $@ $<

build/gen/fm_embedded.c: build/tools/fm_embed $(EMBEDDED)
	@mkdir -p $(@D)
	build/tools/fm_embed $@ migrations web

build/obj/%.o: src/%.c | $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<
build/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<
build/asan/%.o: src/%.c | $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -MMD -MP -c -o $@ $<
build/asan/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -c -o $@ $<

# Made anew each time: `ar r` never drops a member whose source was deleted.
build/libfm.a: $(OBJ)
	rm -f $@ && $(AR) rcs $@ $^
build/libfm-asan.a: $(ASAN_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

build/flowmaster: build/obj/main.o build/libfm.a
	$(CC) -o $@ $^ $(LDLIBS)
build/asan/flowmaster: build/asan/main.o build/libfm-asan.a
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)
flowmaster: build/flowmaster
	cp $< $@

# Unit tests: one cmocka binary per tests/unit/test_<unit>.c, linked with the core.
TEST_SUPPORT := $(wildcard tests/support/*.c)
build/tests/%: tests/unit/%.c $(TEST_SUPPORT) build/libfm.a | build/.deps-test
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/support -o $@ $< $(TEST_SUPPORT) build/libfm.a $(LDLIBS) -lcmocka
build/tests-asan/%: tests/unit/%.c $(TEST_SUPPORT) build/libfm-asan.a | build/.deps-test
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -Itests/support -o $@ $< $(TEST_SUPPORT) build/libfm-asan.a $(LDLIBS) -lcmocka

# DMN TCK conformance: tests/conformance/dmn_tck.c over ../shared/conformance/dmn-tck.
TCK_DIR ?= ../shared/conformance/dmn-tck
build/tests/dmn_tck: tests/conformance/dmn_tck.c build/libfm.a | $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< build/libfm.a $(LDLIBS)
build/tests-asan/dmn_tck: tests/conformance/dmn_tck.c build/libfm-asan.a | $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -o $@ $< build/libfm-asan.a $(LDLIBS)
conformance: build/tests/dmn_tck
	build/tests/dmn_tck $(TCK_DIR) tests/conformance/dmn-tck-known-failures.txt

run: all
	./build/flowmaster serve --data-dir ./data

test: build/.deps-test build/flowmaster build/asan/flowmaster build/tests/dmn_tck build/tests-asan/dmn_tck \
      $(addprefix build/tests/,$(UNIT)) $(addprefix build/tests-asan/,$(UNIT))
	@scripts/test.sh

test-unit: $(addprefix build/tests/,$(UNIT)) build/tests/dmn_tck
	@scripts/test.sh unit
test-http: build/.deps-test build/flowmaster
	@scripts/test.sh http

bench: build/.deps-bench build/flowmaster build/bench/auth_bench
	bash bench/run.sh build/flowmaster

build/bench/auth_bench: bench/auth_bench.c build/libfm.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< build/libfm.a $(LDLIBS)

# BPMN import/validate/render timings (bench/bpmn_bench.c, linked with the core).
build/bench/bpmn_bench: bench/bpmn_bench.c build/libfm.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< build/libfm.a $(LDLIBS)
bench-bpmn: build/bench/bpmn_bench
	bash bench/bpmn_bench.sh

# Rules engine: in-process vs feelin (npm, temporary folder) and HTTP with wrk.
build/bench/rules_bench: bench/rules_bench.c build/libfm.a | $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< build/libfm.a $(LDLIBS)
bench-rules: build/.deps-bench build/flowmaster build/bench/rules_bench
	bash bench/rules_bench.sh

# FEEL robustness probe: RSS around evaluations at the memory cap, list built-ins on 40k items.
bench-feel-probe: build/flowmaster
	bash bench/feel_probe.sh build/flowmaster

# Execution Engine: in-process (the engine's bench API in exec.h, built once that header
# exists), npm bpmn-engine (temporary folder), and POST /executions over HTTP.
build/bench/exec_http_bench: bench/exec_http_bench.c | $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(PKG_LIBS)
build/bench/exec_inproc_bench: bench/exec_inproc_bench.c build/libfm.a | $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< build/libfm.a $(LDLIBS)
# Scheduling: fire delay of 10,000 schedules due at once (BENCH_SCHED_N to change).
bench-sched: build/flowmaster
	python3 bench/sched_bench.py build/flowmaster

# Notifications: queued -> accepted by a local SMTP server (aiosmtpd) per second.
bench-notify: build/.deps-test build/flowmaster
	python3 bench/notify_bench.py build/flowmaster

bench-exec: build/.deps-bench build/flowmaster build/bench/exec_http_bench \
            $(if $(wildcard src/modules/execution/exec.h),build/bench/exec_inproc_bench)
	bash bench/exec_bench.sh
bench-exec-probe: build/flowmaster
	bash bench/exec_probe.sh build/flowmaster

# External Integration: connector calls/s and added latency over a direct request, webhooks/s.
bench-integrations: build/.deps-bench build/flowmaster
	python3 bench/integrations_bench.py

# Event bus: in-memory publish→deliver, the durable log, webhooks, engine with the log on/off.
build/bench/bus_bench: bench/bus_bench.c build/libfm.a | $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< build/libfm.a $(LDLIBS)
bench-bus: build/.deps-bench build/flowmaster build/bench/bus_bench build/bench/exec_http_bench
	bash bench/bus_bench.sh

# MCP Server: tools/call round trips over Streamable HTTP (bench/mcp_bench.sh).
build/bench/mcp_bench: bench/mcp_bench.c | $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< -lpthread
bench-mcp: build/.deps-bench build/flowmaster build/bench/mcp_bench
	bash bench/mcp_bench.sh

# Legal Entity Service: the UBO solver on a 10,000-entity graph, then UBO over HTTP.
build/bench/entities_bench: bench/entities_bench.c build/libfm.a | $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< build/libfm.a $(LDLIBS)
bench-entities: build/flowmaster build/bench/entities_bench
	build/bench/entities_bench 10000
	python3 bench/entities_http_bench.py build/flowmaster

# Process Analytics: ingestion rate, dashboard latency with 1M recorded instances, UBO.
build/bench/analytics_bench: bench/analytics_bench.c build/libfm.a | $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< build/libfm.a $(LDLIBS)
bench-analytics: build/bench/analytics_bench build/bench/entities_bench
	build/bench/analytics_bench 1000000
	build/bench/entities_bench 10000

PREFIX  ?= /usr/local
DESTDIR ?=
install: build/flowmaster
	install -D -m 0755 build/flowmaster $(DESTDIR)$(PREFIX)/bin/flowmaster
	install -D -m 0644 flowmaster.conf.example $(DESTDIR)/etc/flowmaster/flowmaster.conf.example
	@# the unit reads /etc/flowmaster/flowmaster.conf: start from the documented defaults,
	@# never overwrite one that is there
	[ -e $(DESTDIR)/etc/flowmaster/flowmaster.conf ] || \
	    install -m 0640 flowmaster.conf.example $(DESTDIR)/etc/flowmaster/flowmaster.conf
	install -D -m 0644 dist/flowmaster.service $(DESTDIR)/etc/systemd/system/flowmaster.service
	@echo "installed; create the user with: useradd --system --home /var/lib/flowmaster flowmaster"
	@echo "then: systemctl daemon-reload && systemctl enable --now flowmaster"
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/flowmaster $(DESTDIR)/etc/systemd/system/flowmaster.service

clean:
	rm -rf build flowmaster

-include $(shell find build/obj build/asan -name "*.d" 2>/dev/null)
