/*
 * metrics.c - counters shared by all workers (one anonymous shared mapping
 * made by the master before it forks) and their Prometheus text.  Routes
 * get a slot each on first use, claimed with a compare-and-swap, so the
 * table needs no lock and survives a reload (new routes take new slots).
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "core.h"

static const double metrics_le[METRICS_BUCKETS - 1] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1.0,  2.5};

struct metrics *
metrics_new(void)
{
	struct metrics *m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	                         -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	memset(m, 0, sizeof(*m));
	return m;
}

static unsigned
metrics_hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of `key`, claiming a free one; NULL when the table is full. */
static struct metrics_route *
metrics_slot(struct metrics *m, const char *key)
{
	unsigned start = metrics_hash(key) % METRICS_ROUTES;
	for (unsigned k = 0; k < METRICS_ROUTES; k++) {
		struct metrics_route *s = &m->routes[(start + k) % METRICS_ROUTES];
		int state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		if (state == 0) {
			int expect = 0;
			if (__atomic_compare_exchange_n(&s->state, &expect, 1, 0, __ATOMIC_ACQ_REL,
			                                __ATOMIC_ACQUIRE)) {
				snprintf(s->key, sizeof(s->key), "%s", key);
				__atomic_store_n(&s->state, 2, __ATOMIC_RELEASE);
				return s;
			}
			state = expect;
		}
		while (state == 1) /* another worker is writing the key */
			state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		if (strncmp(s->key, key, sizeof(s->key) - 1) == 0)
			return s;
	}
	return NULL;
}

void
metrics_request(struct metrics *m, const char *route, int status, double seconds)
{
	if (m == NULL || status < 100 || status > 599)
		return;
	__atomic_add_fetch(&m->requests[status / 100], 1, __ATOMIC_RELAXED);
	struct metrics_route *s = metrics_slot(m, route);
	if (s == NULL)
		return;
	__atomic_add_fetch(&s->status[status / 100], 1, __ATOMIC_RELAXED);
	int b = 0;
	while (b < METRICS_BUCKETS - 1 && seconds > metrics_le[b])
		b++;
	__atomic_add_fetch(&s->bucket[b], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->sum_us, (unsigned long)(seconds * 1e6), __ATOMIC_RELAXED);
}

void
metrics_add(struct metrics *m, enum metrics_counter which, unsigned long n)
{
	if (m == NULL || n == 0)
		return;
	unsigned long *c = which == METRICS_DB_ERRORS          ? &m->db_errors
	                   : which == METRICS_DB_RECONNECTS     ? &m->db_reconnects
	                   : which == METRICS_REPLICA_READS     ? &m->replica_reads
	                   : which == METRICS_REPLICA_FALLBACKS ? &m->replica_fallbacks
	                   : which == METRICS_OVER_BUDGET       ? &m->over_budget[0]
	                   : which == METRICS_OVER_HARD_LIMIT   ? &m->over_budget[1]
	                                                        : &m->worker_restarts;
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

void
metrics_cache(struct metrics *m, enum metrics_cache_event e)
{
	if (m)
		__atomic_add_fetch(&m->cache[e], 1, __ATOMIC_RELAXED);
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

void
metrics_text(struct metrics *m, struct buf *b, size_t plugins)
{
	struct metrics zero;
	if (m == NULL) {
		memset(&zero, 0, sizeof(zero));
		m = &zero;
	}
	buf_puts(b, "# HELP portal_requests_total Requests answered, by route and status class.\n"
	            "# TYPE portal_requests_total counter\n");
	for (unsigned i = 0; i < METRICS_ROUTES; i++) {
		struct metrics_route *s = &m->routes[i];
		if (LOAD(s->state) != 2)
			continue;
		for (int k = 1; k <= 5; k++)
			if (LOAD(s->status[k]))
				buf_printf(b, "portal_requests_total{route=\"%s\",code=\"%dxx\"} %lu\n", s->key, k,
				           LOAD(s->status[k]));
	}
	buf_puts(b, "# HELP portal_request_duration_seconds Time from the first parameter to the "
	            "last byte written, by route.\n"
	            "# TYPE portal_request_duration_seconds histogram\n");
	for (unsigned i = 0; i < METRICS_ROUTES; i++) {
		struct metrics_route *s = &m->routes[i];
		if (LOAD(s->state) != 2)
			continue;
		unsigned long cum = 0;
		for (int k = 0; k < METRICS_BUCKETS; k++) {
			cum += LOAD(s->bucket[k]);
			if (k < METRICS_BUCKETS - 1)
				buf_printf(b, "portal_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n",
				           s->key, metrics_le[k], cum);
			else
				buf_printf(b, "portal_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n",
				           s->key, cum);
		}
		buf_printf(b, "portal_request_duration_seconds_sum{route=\"%s\"} %.6f\n", s->key,
		           (double)LOAD(s->sum_us) / 1e6);
		buf_printf(b, "portal_request_duration_seconds_count{route=\"%s\"} %lu\n", s->key, cum);
	}
	buf_printf(b, "# HELP portal_db_errors_total Failed database statements and connections.\n"
	              "# TYPE portal_db_errors_total counter\nportal_db_errors_total %lu\n",
	           LOAD(m->db_errors));
	buf_printf(b, "# HELP portal_db_reconnects_total Database connections made again after a loss.\n"
	              "# TYPE portal_db_reconnects_total counter\nportal_db_reconnects_total %lu\n",
	           LOAD(m->db_reconnects));
	buf_printf(b, "# HELP portal_db_replica_reads_total Requests whose reads a replica answered.\n"
	              "# TYPE portal_db_replica_reads_total counter\nportal_db_replica_reads_total %lu\n",
	           LOAD(m->replica_reads));
	buf_printf(b, "# HELP portal_db_replica_fallbacks_total Reads sent to the primary because "
	              "the worker's replica failed (or failed within replica_retry seconds).\n"
	              "# TYPE portal_db_replica_fallbacks_total counter\n"
	              "portal_db_replica_fallbacks_total %lu\n",
	           LOAD(m->replica_fallbacks));
	buf_printf(b, "# HELP portal_worker_restarts_total Workers restarted by the master after dying.\n"
	              "# TYPE portal_worker_restarts_total counter\nportal_worker_restarts_total %lu\n",
	           LOAD(m->worker_restarts));
	buf_printf(b, "# HELP portal_request_over_budget_total Requests past core.request_timeout: "
	              "answered 503 (no statement started after it) or ended with their worker "
	              "(still running read_timeout + 2 s later).\n"
	              "# TYPE portal_request_over_budget_total counter\n"
	              "portal_request_over_budget_total{outcome=\"503\"} %lu\n"
	              "portal_request_over_budget_total{outcome=\"worker_ended\"} %lu\n",
	           LOAD(m->over_budget[0]), LOAD(m->over_budget[1]));
	buf_printf(b, "# HELP portal_db_breaker_open 1 while the database breaker is open (no "
	              "statements sent; 503 or stale cache entries).\n"
	              "# TYPE portal_db_breaker_open gauge\nportal_db_breaker_open %d\n",
	           LOAD(m->breaker.open));
	buf_printf(b, "# HELP portal_db_breaker_changes_total The database breaker's state changes.\n"
	              "# TYPE portal_db_breaker_changes_total counter\n"
	              "portal_db_breaker_changes_total{to=\"open\"} %lu\n"
	              "portal_db_breaker_changes_total{to=\"closed\"} %lu\n",
	           LOAD(m->breaker.opened), LOAD(m->breaker.closed));
	static const char *const events[METRICS_CACHE_EVENTS] = {
	    "hit", "miss", "stale", "store", "evict", "stale_if_error", "check_read", "check_shared",
	    "item_valid"};
	buf_puts(b, "# HELP portal_cache_total Response cache: hits, misses (no entry), stale "
	            "entries dropped, answers stored, entries evicted for room, entries served "
	            "unvalidated while the database was away, generations read from the database "
	            "(one statement each) and generations taken from a read another request of this "
	            "host started after this one arrived.\n"
	            "# TYPE portal_cache_total counter\n");
	for (int i = 0; i < METRICS_CACHE_EVENTS; i++)
		buf_printf(b, "portal_cache_total{event=\"%s\"} %lu\n", events[i], LOAD(m->cache[i]));
	buf_printf(b, "# HELP portal_plugins Plugins loaded.\n# TYPE portal_plugins gauge\n"
	              "portal_plugins %zu\n",
	           plugins);
}
