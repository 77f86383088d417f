/* The response cache without a database (cache.check = "host"): what is
 * cacheable, the key, 304s, invalidation by this host's writes, and the
 * size bound with LRU eviction; then, with the database check and its
 * breaker open, entries served unvalidated (stale_if_error), and validated
 * by a generation read another request started after this one arrived
 * (REQUEST_MSEC + 1 ms, a stamp from this host only, no clock step).  The database
 * check is tested through nginx in tests/integration/test_cache.py, the
 * breaker with a frozen MariaDB in tests/integration/test_faults.py. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core.h"
#include "t.h"
#include "fake_io.h"

static struct fake fk;
static struct req_io io = {&fk, fparam, fread_, fwrite_};
static struct core core;

/* A parsed request: method, URI, then header name/value pairs (CGI names). */
static struct portal_req *
mkreq(const char *method, const char *uri, const char *h1, const char *v1)
{
	pool_reset(&core.pool);
	memset(&fk, 0, sizeof(fk));
	const char *qs = strchr(uri, '?');
	fk.params[0][0] = "REQUEST_METHOD", fk.params[0][1] = method;
	fk.params[1][0] = "REQUEST_URI", fk.params[1][1] = uri;
	fk.params[2][0] = "QUERY_STRING", fk.params[2][1] = qs ? qs + 1 : "";
	fk.params[3][0] = "HTTP_HOST", fk.params[3][1] = "portal.example";
	fk.params[4][0] = h1, fk.params[4][1] = v1;
	struct portal_req *r = dispatch_new(&core, &core.pool, &io, NULL);
	return r;
}

/* Whether the lookup let r's answer be stored. */
static int
eligible(struct portal_req *r)
{
	struct cache_req *q = cache_req(r);
	return q && q->eligible;
}

/* The answer a handler would have left. */
static void
answer(struct portal_req *r, const char *body, const char *cc, const char *etag)
{
	r->status = 200;
	r->responded = 1;
	r->content_type = "application/json";
	r->resp_raw = body;
	r->resp_raw_len = strlen(body);
	if (cc)
		out_header(r, "Cache-Control", cc);
	if (etag)
		out_header(r, "ETag", etag);
}

/* GET uri once (stored if it missed); 1 when it was a hit. */
static int
get(const char *uri, const char *body)
{
	struct portal_req *r = mkreq("GET", uri, NULL, NULL);
	if (cache_serve(&core, r) == PORTAL_DONE)
		return 1;
	answer(r, body, "public, no-cache", "\"e1\"");
	cache_store(&core, r, "GET test");
	return 0;
}

int
main(void)
{
	static struct conf conf;
	static struct conf_municipality lerum = {.slug = "lerum", .name = "Lerum", .country = "SE"};
	conf.munis = &lerum;
	conf.nmunis = 1;
	conf.max_query_args = REQ_MAX_ARGS;
	conf.cache_size = 64 * 1024;
	conf.cache_ttl = 300;
	conf.cache_check_host = 1;
	T_OK(auth_init() == PORTAL_OK, "libsodium");
	core.conf = &conf;
	core.metrics = metrics_new();
	core.cache = cache_new(&conf);
	pool_init(&core.pool);
	T_OK(core.metrics && core.cache, "a cache and the shared page");

	const char *list = "/api/v1/lerum/partnerships?limit=2";
	T_OK(get(list, "{\"items\":[]}") == 0, "first GET: a miss, stored");
	struct portal_req *r = mkreq("GET", list, NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DONE && r->status == 200, "second GET: a hit");
	T_OK(r->resp_raw_len == 12 && memcmp(r->resp_raw, "{\"items\":[]}", 12) == 0,
	     "the hit has the stored bytes");
	T_OK(r->resp_head_raw && strstr(r->resp_head_raw, "ETag: \"e1\"\r\n") &&
	         strstr(r->resp_head_raw, "Cache-Control: public, no-cache\r\n"),
	     "and the handler's headers");
	T_STR(r->route_name, "GET test", "and its route, for the log line");

	r = mkreq("GET", list, "HTTP_IF_NONE_MATCH", "\"zz\", W/\"e1\"");
	T_OK(cache_serve(&core, r) == PORTAL_DONE && r->status == 304 && r->resp_raw == NULL,
	     "If-None-Match listing the ETag: 304 without a body");
	r = mkreq("HEAD", list, NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DONE && r->status == 200, "HEAD is served from a GET's entry");

	/* the key is parsed (issue 20, point 4): what no handler reads, the
	 * order and spelling of the arguments, and an Accept-Language that
	 * resolves to the same language make no new entry */
	r = mkreq("GET", list, "HTTP_ACCEPT_LANGUAGE", "da");
	T_OK(cache_serve(&core, r) == PORTAL_DONE,
	     "an Accept-Language that resolves to the same language is the same entry");
	r = mkreq("GET", "/api/v1/lerum/partnerships?_=123&limit=2", NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DONE, "an unknown argument (?_=123) is the same entry");
	r = mkreq("GET", "/api/v1/lerum/partnerships?%6cimit=2&limit=7", NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DONE, "decoded names; the first of two wins, as for handlers");
	r = mkreq("GET", "/api/v1/lerum/partnerships?q=a&limit=2", NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED, "a known argument more is another entry");
	answer(r, "{\"items\":[1]}", "public, no-cache", "\"e2\"");
	cache_store(&core, r, "GET test");
	r = mkreq("GET", "/api/v1/lerum/partnerships?limit=2&q=a", NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DONE && r->resp_raw_len == 13 && memcmp(r->resp_raw, "{\"items\":[1]}", 13) == 0,
	     "the arguments in another order are the same entry");
	r = mkreq("GET", "/api/v1/lerum/partnerships?limit=3", NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED, "another value is another entry");
	T_OK(req_query(r, "limit") && !r->arg_unkeyed && req_query(r, "colour") == NULL && r->arg_unkeyed,
	     "a handler reading an argument the key leaves out marks the request");
	answer(r, "{\"colour\":1}", "public, no-cache", NULL);
	cache_store(&core, r, "GET test");
	r = mkreq("GET", "/api/v1/lerum/partnerships?limit=3", NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED, "and its answer is not stored");
	r = mkreq("GET", "/api/v1/lerum/partnerships.csv?limit=1&cursor=abc", NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED, "an export: a miss");
	answer(r, "a,b", "public, max-age=60", NULL);
	cache_store(&core, r, "export");
	r = mkreq("GET", "/api/v1/lerum/partnerships.csv", NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DONE, "an export's key has no limit or cursor (it pages itself)");

	r = mkreq("GET", list, "HTTP_AUTHORIZATION", "Bearer pt_x");
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED && !eligible(r), "a token caller is never served from it");
	answer(r, "{\"secret\":1}", "public", NULL);
	cache_store(&core, r, "GET test");
	r = mkreq("GET", list, NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DONE && strstr(r->resp_raw, "secret") == NULL,
	     "nor stored into it, even when the handler says public");
	r = mkreq("GET", list, "HTTP_PORTAL_READ", "primary");
	T_OK(cache_serve(&core, r) == PORTAL_DONE, "Portal-Read: primary without a token is ignored (no bypass)");
	r = mkreq("GET", "/api/v1/nowhere/partnerships", NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED && !eligible(r), "an unknown municipality: not cacheable");
	r = mkreq("POST", list, NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED && !eligible(r), "a POST: not cacheable");

	r = mkreq("GET", "/lerum/", NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED && eligible(r), "a page is cacheable");
	answer(r, "<p>private</p>", "private, no-store", NULL);
	cache_store(&core, r, "page");
	r = mkreq("GET", "/lerum/", NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED, "an answer that is not public is not kept");
	answer(r, "<p>x</p>", "public, max-age=60", NULL);
	r->status = 404;
	cache_store(&core, r, "page");
	r = mkreq("GET", "/lerum/", NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED, "nor one that is not a 200");

	/* a write committed on this host */
	r = mkreq("PATCH", "/api/v1/lerum/partnerships/1", NULL, NULL);
	r->muni = &lerum;
	cache_written(&core, r);
	unsigned long stale0 = core.metrics->cache[METRICS_CACHE_STALE];
	r = mkreq("GET", list, NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED && core.metrics->cache[METRICS_CACHE_STALE] == stale0 + 1,
	     "after a write in the municipality the entry is stale, dropped");
	answer(r, "{\"items\":[1]}", "public, no-cache", "\"e2\"");
	cache_store(&core, r, "GET test");
	r = mkreq("GET", list, NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DONE && strcmp(r->resp_raw, "{\"items\":[1]}") == 0,
	     "and the next answer is kept under the new generation");

	/* bound: 1 KiB answers into 64 KiB */
	static char big[1025];
	memset(big, 'x', 1024);
	unsigned long ev0 = core.metrics->cache[METRICS_CACHE_EVICT];
	char uri[64];
	for (int i = 0; i < 200; i++) {
		snprintf(uri, sizeof(uri), "/api/v1/lerum/news?limit=%d", i + 1);
		get(uri, big);
	}
	unsigned long ev = core.metrics->cache[METRICS_CACHE_EVICT] - ev0;
	T_OK(ev >= 140, "200 answers of 1 KiB in 64 KiB: %lu evicted", ev);
	T_OK(get("/api/v1/lerum/news?limit=200", big) == 1, "the newest is still there");
	T_OK(get("/api/v1/lerum/news?limit=1", big) == 0, "the oldest was evicted (LRU)");
	static char huge[9000];
	memset(huge, 'y', sizeof(huge) - 1);
	get("/api/v1/lerum/news?limit=999", huge);
	T_OK(get("/api/v1/lerum/news?limit=999", huge) == 0,
	     "an answer over an eighth of the cache is not kept");

	cache_free(core.cache);

	/* the database check with the database away: the breaker is open */
	conf.cache_check_host = 0;
	conf.cache_stale_if_error = 600;
	core.cache = cache_new(&conf);
	T_OK(!breaker_is_open(core.metrics), "the breaker starts closed");
	breaker_trip(core.metrics, "unit test");
	breaker_trip(core.metrics, "a second worker");
	T_OK(breaker_is_open(core.metrics) && core.metrics->breaker.opened == 1,
	     "two trips open it once");
	const char *ov = "/lerum/?lang=sv";
	r = mkreq("GET", ov, NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED && !eligible(r),
	     "no entry: the normal path answers (503), and its answer is not kept");
	/* an entry made while the database answered (token 42) */
	cache_req(r)->eligible = 1;
	cache_req(r)->token = 42;
	answer(r, "<p>overview</p>", "public, max-age=60", "\"o1\"");
	cache_store(&core, r, "page");
	unsigned long grace0 = core.metrics->cache[METRICS_CACHE_STALE_IF_ERROR];
	r = mkreq("GET", ov, NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DONE && r->status == 200 && strcmp(r->resp_raw, "<p>overview</p>") == 0,
	     "an entry is served unvalidated while the breaker is open");
	const char *age = NULL;
	for (struct req_header *h = r->resp_headers; h; h = h->next)
		if (strcmp(h->name, "Age") == 0)
			age = h->value;
	T_OK(age && (strcmp(age, "0") == 0 || strcmp(age, "1") == 0), "with Age: %s", age ? age : "(none)");
	T_OK(core.metrics->cache[METRICS_CACHE_STALE_IF_ERROR] == grace0 + 1,
	     "counted as stale_if_error");
	r = mkreq("GET", ov, "HTTP_IF_NONE_MATCH", "\"o1\"");
	T_OK(cache_serve(&core, r) == PORTAL_DONE && r->status == 304, "If-None-Match still gives 304");
	r = mkreq("PATCH", "/api/v1/lerum/partnerships/1", NULL, NULL);
	r->muni = &lerum;
	cache_written(&core, r);
	r = mkreq("GET", ov, NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED, "not after a write on this host made it outdated");
	cache_free(core.cache);

	conf.cache_stale_if_error = 0;
	core.cache = cache_new(&conf);
	r = mkreq("GET", ov, NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED, "stale_if_error = 0: a miss");
	cache_req(r)->eligible = 1;
	cache_req(r)->token = 42;
	answer(r, "<p>overview</p>", "public, max-age=60", NULL);
	cache_store(&core, r, "page");
	r = mkreq("GET", ov, NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED, "stale_if_error = 0: never served unvalidated");

	/* One read for many hits: the entry above (token 42) is validated by a
	 * generation another request read, when that read started after this
	 * request arrived (nginx's REQUEST_MSEC + 1 ms).  The breaker is still
	 * open, so any request that has to read gets no answer from the cache:
	 * DECLINED below means "would have read". */
	core.peer_local = 1;
	long long now_us = (long long)time(NULL) * 1000000;
	{
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		now_us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	}
	long long t_ms = now_us / 1000 - 10; /* a millisecond 10 ms ago */
	char stamp[32];
	unsigned long shared0 = core.metrics->cache[METRICS_CACHE_CHECK_SHARED];
	unsigned long grace1 = core.metrics->cache[METRICS_CACHE_STALE_IF_ERROR];
	cache_check_offer(core.metrics, "lerum", 42, t_ms * 1000 + 500); /* read sent at t + 0.5 ms */
#define STAMP(ms) (snprintf(stamp, sizeof(stamp), "%lld.%03lld", (ms) / 1000, (ms) % 1000), stamp)
	r = mkreq("GET", ov, "REQUEST_MSEC", STAMP(t_ms - 1));
	T_OK(cache_serve(&core, r) == PORTAL_DONE && r->status == 200 &&
	         strcmp(r->resp_raw, "<p>overview</p>") == 0,
	     "arrived at t - 1 ms, a read sent at t + 0.5 ms: a hit without a statement");
	T_OK(core.metrics->cache[METRICS_CACHE_CHECK_SHARED] == shared0 + 1 &&
	         core.metrics->cache[METRICS_CACHE_STALE_IF_ERROR] == grace1,
	     "counted as check_shared, not as served unvalidated");
	r = mkreq("GET", ov, "REQUEST_MSEC", STAMP(t_ms));
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED,
	     "arrived at t (up to t + 1 ms): that read may have started before it, so it reads");
	r = mkreq("GET", ov, "REQUEST_MSEC", STAMP(t_ms + 5));
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED, "arrived after the read: it reads");
	r = mkreq("GET", ov, NULL, NULL);
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED,
	     "no REQUEST_MSEC: arrived when the worker took it, after the read");
	r = mkreq("GET", ov, "REQUEST_MSEC", "12.5");
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED, "a REQUEST_MSEC that does not parse: the same");
	core.peer_local = 0;
	r = mkreq("GET", ov, "REQUEST_MSEC", STAMP(t_ms - 1));
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED,
	     "a stamp from a web server on another host (another clock) is not trusted");
	core.peer_local = 1;
	cache_check_offer(core.metrics, "lerum", 42, now_us - 100000);
	r = mkreq("GET", ov, "REQUEST_MSEC", STAMP(now_us / 1000 - 2000));
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED, "nor one older than a second");
	cache_check_offer(core.metrics, "lerum", 42, now_us + 100);
	r = mkreq("GET", ov, "REQUEST_MSEC", STAMP(t_ms));
	T_OK(cache_serve(&core, r) == PORTAL_DONE, "a later read of the same generation: a hit again");
	cache_check_offer(core.metrics, "lerum", 7, now_us - 50);
	r = mkreq("GET", ov, "REQUEST_MSEC", STAMP(t_ms));
	T_OK(cache_serve(&core, r) == PORTAL_DONE, "an earlier read does not replace a later one");
	cache_check_offer(core.metrics, "lerum", 43, now_us + 200);
	unsigned long stale1 = core.metrics->cache[METRICS_CACHE_STALE];
	r = mkreq("GET", ov, "REQUEST_MSEC", STAMP(t_ms));
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED && core.metrics->cache[METRICS_CACHE_STALE] == stale1 + 1,
	     "a shared read of another generation (a write elsewhere): the entry is stale, dropped");
	cache_req(r)->eligible = 1;
	answer(r, "<p>overview 2</p>", "public, max-age=60", NULL);
	cache_store(&core, r, "page");
	r = mkreq("GET", ov, "REQUEST_MSEC", STAMP(t_ms));
	T_OK(cache_serve(&core, r) == PORTAL_DONE && strcmp(r->resp_raw, "<p>overview 2</p>") == 0,
	     "the answer made under it is a hit");
	r = mkreq("GET", "/api/v1/lerum/partnerships", "REQUEST_MSEC", STAMP(t_ms));
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED && eligible(r) && cache_req(r)->token == 43,
	     "a miss takes the shared generation for the answer it makes");
	/* a step of the system clock: REALTIME - MONOTONIC moves */
	long long off = core.metrics->clock_off_us;
	core.metrics->clock_off_us = off - 5000000;
	r = mkreq("GET", ov, "REQUEST_MSEC", STAMP(t_ms));
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED && core.metrics->clock_step_us != 0,
	     "after a clock step nothing is shared (for a second)");
	core.metrics->clock_step_us = 0;
	r = mkreq("GET", ov, "REQUEST_MSEC", STAMP(t_ms));
	T_OK(cache_serve(&core, r) == PORTAL_DONE, "a second later it is again");
	struct metrics_check *slot = NULL;
	for (int i = 0; i < METRICS_CHECK_SLOTS; i++)
		if (core.metrics->checks[i].token == 43)
			slot = &core.metrics->checks[i];
	T_OK(slot != NULL, "the read is in the shared page");
	slot->off_us -= 5000000;
	r = mkreq("GET", ov, "REQUEST_MSEC", STAMP(t_ms));
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED, "a read made before a step is not used after it");
	slot->seq++;
	cache_check_offer(core.metrics, "lerum", 43, now_us + 300);
	r = mkreq("GET", ov, "REQUEST_MSEC", STAMP(t_ms));
	T_OK(cache_serve(&core, r) == PORTAL_DECLINED, "nor a slot a worker is writing (odd sequence)");
	slot->seq++;
#undef STAMP

	struct buf mb;
	buf_init(&mb, &core.pool);
	metrics_text(core.metrics, &mb, 0);
	T_OK(strstr(mb.data, "portal_db_breaker_open 1\n") &&
	         strstr(mb.data, "portal_db_breaker_changes_total{to=\"open\"} 1\n") &&
	         strstr(mb.data, "portal_cache_total{event=\"stale_if_error\"} 2\n") &&
	         strstr(mb.data, "portal_cache_total{event=\"check_shared\"} 7\n"),
	     "/metrics shows the breaker and the stale answers");
	cache_free(core.cache);
	pool_destroy(&core.pool);
	return T_DONE();
}
