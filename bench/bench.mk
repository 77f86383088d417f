# bench/bench.mk - `make bench` and `make bench-data` (issue #6), included
# at the end of the Makefile.  See "## Performance" in README.md.
#
#   make bench [BENCH_SECONDS=10] [BENCH_MEMORY=1] [BENCH_PERF=1]
#       a private stack (MariaDB + portald + nginx, demo data) and, per case
#       (list, item, Atom feed, HTML page), two references serving the very
#       same bytes (an nginx static file and bench/raw_fcgi.c), driven with
#       wrk; prints one table, the CPU per request and the targets
#   make bench-data [BENCH_NEWS=10000]
#       a private stack with 100 generated municipalities x 1,000
#       partnerships (and news), then page 1 vs page 500, EXPLAIN, search p50

BENCH_SECONDS ?= 10

$(B)/bench/raw_fcgi: bench/raw_fcgi.c core/fcgi_out.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< -lfcgi $$(pkg-config --libs $(DB))

bench-build: all $(B)/bench/raw_fcgi

# its packages first (scripts/deps.sh bench: wrk, php-fpm, php-mysql), as
# `make test` does with its own
bench:
	sh scripts/deps.sh bench
	$(MAKE) bench-build
	B=$(B) BENCH_SECONDS=$(BENCH_SECONDS) sh bench/run.sh

# the list statements the core derives from the plugins' items (scale.py)
$(B)/bench/list_sql: bench/list_sql.c $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CORE_OBJ) $(LDLIBS)

bench-data: all $(B)/bench/list_sql
	B=$(B) sh bench/data.sh

.PHONY: bench bench-build bench-data
