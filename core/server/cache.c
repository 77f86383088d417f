/*
 * cache.c - a response cache in each worker that is never stale after an
 * acknowledged write, on this host or on any other sharing the database.
 *
 * What is cached: the 200 answers to anonymous GETs under a municipality
 * (/api/v1/{m}/..., /{m}/...) that say "Cache-Control: public".  The key
 * is everything such an answer depends on, parsed, so that spelling a
 * request differently does not miss the cache: the decoded path, the
 * query arguments some handler knows (q, limit, cursor, lang and every
 * module's list filters; not limit and cursor for an export, which pages
 * itself) in the order of their names, the first of each name, with
 * their decoded values, the language the answer is in (page_lang:
 * ?lang=, else Accept-Language, else the municipality's) and the scheme.
 * `?_=123`, a new Accept-Language value or Portal-Read (honoured only
 * with a token) no longer make a new entry.  A handler that reads an
 * argument the key leaves out marks the request (req_query, arg_unkeyed)
 * and its answer is not stored.  Absolute links come from the
 * configuration, never from Host, so Host is not part of the key.  Token
 * callers are never served from or stored into the cache.
 *
 * Freshness: every municipality has a generation, a random 63-bit token in
 * the database (cache_generations) that each successful write replaces in
 * its own transaction (cache_bump).  An entry remembers the token read
 * before its answer was made; a later request is served from the entry
 * only if the token is still the same, read again from the primary
 * database.  Reading the token first means an answer can only be older
 * than its token says if a write committed in between, and then the token
 * has changed and the entry is never served.  Random tokens (not a
 * counter) also survive a restore from a backup: the restored token
 * belongs to exactly the restored data.
 *
 * While the database cannot validate an entry (its breaker is open, or the
 * token read fails), an entry made at most cache.stale_if_error seconds
 * ago is served anyway, with an Age header and a log line (RFC 5861's
 * stale-if-error; Varnish calls it grace), unless a write on this host has
 * outdated it: citizens keep reading through a database restart.
 *
 * That costs one primary-key read per hit, unless another request of this
 * host has read it since this one arrived: see "One read for many hits"
 * below.  `check = "host"` replaces it
 * with a generation in the memory the workers of this host share, bumped
 * after each commit here: a hit then touches no database, but writes made
 * by another host or by hand in SQL are only seen when entries expire
 * (ttl).  It is for single-host installations; README says so.
 *
 * Item tokens.  Every write replaces `token`, as above.  A write through
 * the item lifecycle (item.c) also sets `item_token` to the same value and
 * replaces, in `cache_items`, the token of each item it touched (its own
 * and those of the items linked to or from it, before and after:
 * links_touch); any other write sets `other_token` to it.  `token` then
 * equals one of the two unless the last write was neither (an older
 * portald during an upgrade, an edit by hand in SQL as README says), and
 * the next item write replaces `other_token` as well.  An item's own
 * answer (item_get of a module declaring .own_answer: r->item_answer) also
 * remembers `other_token` and the item's token, read with `token` in one
 * statement before the answer was made.  When `token` has changed, one
 * statement reads them again: if `other_token` and the item's token are
 * the same and `token` is one of the two, every write since was an item
 * write that did not touch this item, and the answer is served and
 * carries the new `token`.  Not with read replicas (entries made from a
 * replica are not revalidated) nor with `check = "host"`.
 *
 * Memory: entries live in malloc'ed blocks outside the request pool, LRU,
 * bounded by `size` bytes per worker.
 *
 * One read for many hits.  The guarantee is about arrival: a request must
 * not be answered from data older than a write acknowledged before the
 * request arrived.  A token read that *started* after the request arrived
 * sees every such write (the write committed before its acknowledgement,
 * and an autocommit SELECT's read view is made after its statement is
 * sent), so it answers that request as well as a read of its own would.
 * Each worker publishes the token it read, with the CLOCK_REALTIME at
 * which it was about to send the read, in the page the host's workers
 * share (struct metrics_check, a seqlock per slot); a later request takes
 * it instead of reading when that read started after the request arrived.
 *
 * "Arrived" is when nginx received the request, not when a worker took it
 * (with a worker handling one request at a time that would be after every
 * read the others made).  nginx passes `fastcgi_param REQUEST_MSEC $msec`:
 * its cached time of day (gettimeofday, updated once per pass of its event
 * loop, after epoll_wait returned) when it built the FastCGI request.  The
 * request's first bytes were in its socket before that pass began, so the
 * stamp is at or after the arrival; it is truncated to the millisecond, so
 * the true stamp is before stamp + 1 ms.  A read qualifies only when it
 * started strictly after stamp + 1 ms.  Without the parameter, or when it
 * does not parse or is more than CACHE_ARRIVAL_MAX old, the arrival is the
 * time the worker took the request: always safe, rarely shared.  The
 * stamp is never later than now: min(stamp + 1 ms, now).
 *
 * Clocks: both are CLOCK_REALTIME, which only compares within one kernel,
 * so the parameter is trusted only from a web server on this host (a unix
 * socket or loopback; c->peer_local).  CLOCK_REALTIME can also step (NTP,
 * settimeofday), which would make "started after" a lie.  Each look
 * samples REALTIME - MONOTONIC; a change of more than CACHE_STEP_US from
 * the last one seen is a step: for CACHE_ARRIVAL_MAX after it (no stamp
 * older than that is used) nothing is shared, and a read published before
 * it (its offset differs) is never used.  Slewing moves both clocks alike.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "core.h"
#include "web/page.h"

struct cache_entry {
	struct cache_entry *hnext;      /* hash chain */
	struct cache_entry *prev, *next; /* LRU list, most recent first */
	uint64_t hash;
	char *key; /* keylen bytes */
	size_t keylen;
	long long token;     /* database generation when made */
	unsigned long local; /* host generation when made */
	/* an item's own answer: which, and the tokens it was made under */
	char *item_module;
	long long item_id, other, item_token;
	time_t made, expires;
	const char *content_type; /* static strings only (see cache_store) */
	char *route;              /* for the log line and /metrics */
	char *etag;
	char *head; /* "Name: value\r\n" lines of the handler's headers */
	size_t headlen;
	char *body;
	size_t bodylen;
	size_t size; /* what it counts against cache.size */
};

struct cache {
	struct cache_entry **tab;
	size_t nbuckets;
	struct cache_entry lru; /* sentinel */
	size_t bytes, max_bytes;
	int ttl;
	int stale_if_error;
	int check_host;
	/* SipHash key: the URI is the client's, so chains cannot be flooded */
	unsigned char hkey[crypto_shorthash_KEYBYTES];
};

#define CACHE_BUCKETS 4096

struct cache *
cache_new(const struct conf *conf)
{
	if (conf->cache_size <= 0)
		return NULL;
	struct cache *k = calloc(1, sizeof(*k));
	if (k == NULL)
		return NULL;
	k->nbuckets = CACHE_BUCKETS;
	k->tab = calloc(k->nbuckets, sizeof(*k->tab));
	if (k->tab == NULL) {
		free(k);
		return NULL;
	}
	k->lru.prev = k->lru.next = &k->lru;
	k->max_bytes = (size_t)conf->cache_size;
	k->ttl = conf->cache_ttl;
	k->stale_if_error = conf->cache_stale_if_error;
	k->check_host = conf->cache_check_host;
	randombytes_buf(k->hkey, sizeof(k->hkey));
	return k;
}

static void
cache_entry_free(struct cache_entry *e)
{
	free(e->key);
	free(e->item_module);
	free(e->route);
	free(e->etag);
	free(e->head);
	free(e->body);
	free(e);
}

static void
cache_unlink(struct cache *k, struct cache_entry *e)
{
	struct cache_entry **pp = &k->tab[e->hash % k->nbuckets];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	e->prev->next = e->next;
	e->next->prev = e->prev;
	k->bytes -= e->size;
	cache_entry_free(e);
}

void
cache_free(struct cache *k)
{
	if (k == NULL)
		return;
	while (k->lru.next != &k->lru)
		cache_unlink(k, k->lru.next);
	free(k->tab);
	free(k);
}

/* ---- generations ---- */

static unsigned
cache_slot(const char *slug)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (; *slug; slug++)
		h = (h ^ (unsigned char)*slug) * 16777619u;
	return h % METRICS_CACHE_SLOTS;
}

static unsigned long
cache_local(struct core *c, const char *slug)
{
	return c->metrics ? __atomic_load_n(&c->metrics->cache_gen[cache_slot(slug)], __ATOMIC_ACQUIRE)
	                  : 0;
}

/* The municipality's token in the database: 0 when it was never written,
 * -1 when the database failed.  Shared through cache_check_put by the
 * caller, which took the time before. */
static long long
cache_token(struct db *d, const char *slug)
{
	struct portal_stmt *s = db_prepare(d, "SELECT token FROM cache_generations WHERE municipality = ?");
	if (s == NULL || db_bind_text(s, 0, slug) != PORTAL_OK || db_execute(s) != PORTAL_OK) {
		if (s)
			db_done(s);
		return -1;
	}
	long long t = db_fetch(s) == 1 ? db_col_int(s, 0) : 0;
	db_done(s);
	return t;
}

/* `token`, `other_token` and item `id`'s token (0: none yet) in one
 * statement; *other is -1 when `token` is neither `item_token` nor
 * `other_token` (a write the tokens do not account for: no item's answer
 * may be kept by them).  PORTAL_OK or PORTAL_ERROR. */
static int
cache_item_read(struct db *d, const char *slug, const char *module, long long id, long long *token,
                long long *other, long long *item_token)
{
	struct portal_stmt *s = db_prepare(
	    d, "SELECT g.token, IF(g.token IN (g.item_token, g.other_token), g.other_token, -1), "
	       "i.token FROM cache_generations g LEFT JOIN cache_items i ON i.municipality = "
	       "g.municipality AND i.module = ? AND i.item_id = ? WHERE g.municipality = ?");
	if (s == NULL || db_bind_text(s, 0, module) != PORTAL_OK || db_bind_int(s, 1, id) != PORTAL_OK ||
	    db_bind_text(s, 2, slug) != PORTAL_OK || db_execute(s) != PORTAL_OK) {
		if (s)
			db_done(s);
		return PORTAL_ERROR;
	}
	int rc = db_fetch(s);
	*token = *item_token = 0;
	*other = -1;
	if (rc == 1) {
		*token = db_col_int(s, 0);
		*other = db_col_int(s, 1);
		*item_token = db_col_is_null(s, 2) ? 0 : db_col_int(s, 2);
	}
	db_done(s);
	return rc < 0 ? PORTAL_ERROR : PORTAL_OK;
}

/* ---- one read for many hits (see the top) ---- */

#define CACHE_ARRIVAL_MAX 1000000LL /* us: a stamp older than this is not trusted */
#define CACHE_STEP_US 1000LL        /* a larger change of REALTIME - MONOTONIC: a step */

struct cache_clock {
	long long real_us, mono_us, off_us;
};

static long long
cache_us(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Now on both clocks, and whether REALTIME stepped since the last look of
 * any worker (then noted in the shared page). */
static void
cache_clock_now(struct metrics *m, struct cache_clock *k)
{
	for (int tries = 0; tries < 3; tries++) {
		long long m0 = cache_us(CLOCK_MONOTONIC);
		k->real_us = cache_us(CLOCK_REALTIME);
		k->mono_us = cache_us(CLOCK_MONOTONIC);
		if (k->mono_us - m0 < 50) /* not preempted between the two */
			break;
	}
	k->off_us = k->real_us - k->mono_us;
	if (m == NULL)
		return;
	long long seen = __atomic_load_n(&m->clock_off_us, __ATOMIC_ACQUIRE);
	if (seen == 0) {
		__atomic_compare_exchange_n(&m->clock_off_us, &seen, k->off_us, 0, __ATOMIC_ACQ_REL,
		                            __ATOMIC_ACQUIRE);
	} else if (llabs(k->off_us - seen) > CACHE_STEP_US) {
		__atomic_store_n(&m->clock_step_us, k->mono_us, __ATOMIC_RELEASE);
		__atomic_store_n(&m->clock_off_us, k->off_us, __ATOMIC_RELEASE);
		log_msg(PORTAL_LOG_WARN, NULL,
		        "the system clock stepped by %+lld ms: no shared generation reads for %lld ms",
		        (k->off_us - seen) / 1000, CACHE_ARRIVAL_MAX / 1000);
	}
}

/*
 * The time a shared read must have started after to answer r (REALTIME
 * us): nginx's stamp + 1 ms when a web server on this host sent one, never
 * later than now; else now (the worker has the request: it has arrived).
 */
static long long
cache_arrival(struct core *c, struct portal_req *r, const struct cache_clock *k)
{
	const char *p = c->peer_local ? r->io->param(r->io->ctx, "REQUEST_MSEC") : NULL;
	if (p == NULL)
		return k->real_us;
	/* "1733500000.123": seconds, a dot, exactly three digits */
	long long ms = 0;
	const char *d = p;
	for (; *d >= '0' && *d <= '9' && d - p < 12; d++)
		ms = ms * 10 + (*d - '0');
	if (d == p || d[0] != '.')
		return k->real_us;
	for (int i = 1; i <= 3; i++) {
		if (d[i] < '0' || d[i] > '9')
			return k->real_us;
		ms = ms * 10 + (d[i] - '0');
	}
	if (d[4] != '\0')
		return k->real_us;
	long long after = ms * 1000 + 1000;
	if (after > k->real_us)
		return k->real_us;
	return k->real_us - after > CACHE_ARRIVAL_MAX ? k->real_us : after;
}

/* The slug as the slot holds it: NUL-padded words; 0 when it does not fit. */
static int
cache_slug_words(const char *slug, unsigned long long w[METRICS_SLUG_WORDS])
{
	size_t n = strlen(slug);
	if (n >= sizeof(unsigned long long) * METRICS_SLUG_WORDS)
		return 0;
	memset(w, 0, sizeof(unsigned long long) * METRICS_SLUG_WORDS);
	memcpy(w, slug, n);
	return 1;
}

static struct metrics_check *
cache_check_slot(struct metrics *m, const char *slug)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (; *slug; slug++)
		h = (h ^ (unsigned char)*slug) * 16777619u;
	return &m->checks[h % METRICS_CHECK_SLOTS];
}

/*
 * The token of slug read by a request of this host that started after
 * `after` (REALTIME us) with the clock not stepped since: 1 and *token, or
 * 0 (nothing such; the caller reads).
 */
static int
cache_check_get(struct metrics *m, const char *slug, long long after, const struct cache_clock *k,
                long long *token)
{
	unsigned long long w[METRICS_SLUG_WORDS];
	if (m == NULL || !cache_slug_words(slug, w))
		return 0;
	long long step = __atomic_load_n(&m->clock_step_us, __ATOMIC_ACQUIRE);
	if (step != 0 && k->mono_us - step <= CACHE_ARRIVAL_MAX)
		return 0;
	struct metrics_check *s = cache_check_slot(m, slug);
	unsigned seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
	if (seq & 1)
		return 0; /* being written */
	int same = 1;
	for (int i = 0; i < METRICS_SLUG_WORDS; i++)
		same &= __atomic_load_n(&s->slug[i], __ATOMIC_RELAXED) == w[i];
	long long t = __atomic_load_n(&s->token, __ATOMIC_RELAXED);
	long long read_us = __atomic_load_n(&s->read_us, __ATOMIC_RELAXED);
	long long off = __atomic_load_n(&s->off_us, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) != seq)
		return 0;
	if (!same || read_us <= after || llabs(off - k->off_us) > CACHE_STEP_US)
		return 0;
	*token = t;
	return 1;
}

/* Offers the token of slug, read by a statement sent after `at`, to the
 * host's other workers, unless the slot holds a later read of it or another
 * worker is writing the slot (then it is simply not offered). */
static void
cache_check_put(struct metrics *m, const char *slug, long long token, const struct cache_clock *at)
{
	unsigned long long w[METRICS_SLUG_WORDS];
	if (m == NULL || !cache_slug_words(slug, w))
		return;
	struct metrics_check *s = cache_check_slot(m, slug);
	unsigned seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
	if ((seq & 1) || !__atomic_compare_exchange_n(&s->seq, &seq, seq + 1, 0, __ATOMIC_ACQUIRE,
	                                              __ATOMIC_RELAXED))
		return;
	/* the odd sequence before any of the stores below (a reader that sees
	 * one of them sees the sequence changed) */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	int same = 1;
	for (int i = 0; i < METRICS_SLUG_WORDS; i++)
		same &= __atomic_load_n(&s->slug[i], __ATOMIC_RELAXED) == w[i];
	if (!same || __atomic_load_n(&s->read_us, __ATOMIC_RELAXED) < at->real_us) {
		for (int i = 0; i < METRICS_SLUG_WORDS; i++)
			__atomic_store_n(&s->slug[i], w[i], __ATOMIC_RELAXED);
		__atomic_store_n(&s->token, token, __ATOMIC_RELAXED);
		__atomic_store_n(&s->read_us, at->real_us, __ATOMIC_RELAXED);
		__atomic_store_n(&s->off_us, at->off_us, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

void
cache_check_offer(struct metrics *m, const char *slug, long long token, long long read_us)
{
	struct cache_clock at;
	cache_clock_now(m, &at);
	at.real_us = read_us;
	cache_check_put(m, slug, token, &at);
}

/* The primary's token for slug, read now and offered to the other
 * workers; -1 when the database failed. */
static long long
cache_token_read(struct core *c, const char *slug)
{
	struct cache_clock at;
	cache_clock_now(c->metrics, &at);
	long long t = cache_token(c->db, slug);
	metrics_cache(c->metrics, METRICS_CACHE_CHECK_READ);
	if (t >= 0)
		cache_check_put(c->metrics, slug, t, &at);
	return t;
}

/*
 * Before a write's transaction: make sure the municipality's row exists,
 * in a statement of its own.  Two transactions that both insert the same
 * missing key can deadlock; updating an existing row only queues them.
 * Once per worker and municipality.
 */
int
cache_row(struct core *c, struct portal_req *r)
{
	size_t i = r->muni ? (size_t)(r->muni - c->conf->munis) : 0;
	if (r->muni == NULL || (i < 64 * CORE_GEN_WORDS && (c->gen_ready[i / 64] >> (i % 64) & 1)))
		return PORTAL_OK;
	struct portal_stmt *s = db_prepare(c->db, "INSERT IGNORE INTO cache_generations (municipality, "
	                                          "token) VALUES (?, 1)");
	int rc = s && db_bind_text(s, 0, r->muni->slug) == PORTAL_OK ? db_execute(s) : PORTAL_ERROR;
	if (s)
		db_done(s);
	if (rc == PORTAL_OK && i < 64 * CORE_GEN_WORDS)
		c->gen_ready[i / 64] |= 1ULL << (i % 64);
	return rc;
}

/* One of the writes' statements on cache_generations: slug, then t for
 * each token. */
static int
cache_bump_run(struct portal_stmt *s, const char *slug, long long t)
{
	int rc = s && db_bind_text(s, 0, slug) == PORTAL_OK && db_bind_int(s, 1, t) == PORTAL_OK &&
	                 db_bind_int(s, 2, t) == PORTAL_OK && db_bind_int(s, 3, t) == PORTAL_OK
	             ? db_execute(s)
	             : PORTAL_ERROR;
	if (s)
		db_done(s);
	return rc;
}

static int
cache_touched_cmp(const void *a, const void *b)
{
	const struct req_touched_item *x = a, *y = b;
	int c = strcmp(x->module, y->module);
	return c ? c : (x->id > y->id) - (x->id < y->id);
}

#define CACHE_ITEMS_ROWS 8 /* rows per statement (the last repeated to fill it) */

/* An item write: token `t` for every item it touched (in key order, so
 * that two writes lock the rows in the same order), then `token` and
 * `item_token` (and `other_token` when `token` was neither: see the top). */
static int
cache_bump_items(struct core *c, struct portal_req *r, struct req_touched *tw, long long t)
{
	qsort(tw->item, tw->n, sizeof(tw->item[0]), cache_touched_cmp);
	for (size_t at = 0; at < tw->n; at += CACHE_ITEMS_ROWS) {
		struct portal_stmt *s = db_prepare(
		    c->db, "INSERT INTO cache_items (municipality, module, item_id, token) VALUES "
		           "(?, ?, ?, ?), (?, ?, ?, ?), (?, ?, ?, ?), (?, ?, ?, ?), (?, ?, ?, ?), "
		           "(?, ?, ?, ?), (?, ?, ?, ?), (?, ?, ?, ?) ON DUPLICATE KEY UPDATE token = "
		           "VALUES(token)");
		if (s == NULL)
			return PORTAL_ERROR;
		for (unsigned k = 0; k < CACHE_ITEMS_ROWS; k++) {
			size_t i = at + k < tw->n ? at + k : tw->n - 1;
			if (db_bind_text(s, 4 * k, r->muni->slug) != PORTAL_OK ||
			    db_bind_text(s, 4 * k + 1, tw->item[i].module) != PORTAL_OK ||
			    db_bind_int(s, 4 * k + 2, tw->item[i].id) != PORTAL_OK ||
			    db_bind_int(s, 4 * k + 3, t) != PORTAL_OK) {
				db_done(s);
				return PORTAL_ERROR;
			}
		}
		int rc = db_execute(s);
		db_done(s);
		if (rc != PORTAL_OK)
			return PORTAL_ERROR;
	}
	/* (MariaDB assigns left to right: other_token sees the old values) */
	struct portal_stmt *s = db_prepare(
	    c->db, "INSERT INTO cache_generations (municipality, token, item_token, other_token) "
	           "VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE other_token = IF(token IN (item_token, "
	           "other_token), other_token, VALUES(other_token)), token = VALUES(token), item_token "
	           "= VALUES(item_token)");
	return cache_bump_run(s, r->muni->slug, t);
}

int
cache_bump(struct core *c, struct portal_req *r)
{
	if (r->muni == NULL)
		return PORTAL_OK;
	long long t = 0;
	while (t == 0) /* 0 means "never written" */
		randombytes_buf(&t, sizeof(t)), t &= 0x7fffffffffffffffLL;
	struct req_touched *tw = r->ctx[REQ_CTX_TOUCHED];
	if (tw != NULL && tw->whole && tw->n > 0)
		return cache_bump_items(c, r, tw, t);
	struct portal_stmt *s = db_prepare(
	    c->db, "INSERT INTO cache_generations (municipality, token, item_token, other_token) VALUES "
	           "(?, ?, ?, ?) ON DUPLICATE KEY UPDATE token = VALUES(token), other_token = "
	           "VALUES(other_token)");
	return cache_bump_run(s, r->muni->slug, t);
}

void
cache_written(struct core *c, struct portal_req *r)
{
	if (r->muni && c->metrics)
		__atomic_add_fetch(&c->metrics->cache_gen[cache_slot(r->muni->slug)], 1, __ATOMIC_RELEASE);
}

/* ---- lookup and store ---- */

struct cache_req *
cache_req(struct portal_req *r)
{
	return r->ctx[REQ_CTX_CACHE];
}

/* The municipality a cacheable request is about, or NULL. */
static const struct conf_municipality *
cache_muni(struct core *c, struct portal_req *r)
{
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
		return NULL;
	/* a token sees more (and only with one is Portal-Read: primary honoured) */
	if (req_header(r, "Authorization") != NULL || r->uri == NULL)
		return NULL;
	const char *slug = NULL;
	if (r->nseg >= 4 && strcmp(r->seg[0], "api") == 0 && strcmp(r->seg[1], "v1") == 0)
		slug = r->seg[2];
	else if (r->nseg >= 1 && strcmp(r->seg[0], "api") != 0)
		slug = r->seg[0];
	return slug ? conf_municipality(c->conf, slug) : NULL;
}

static void
cache_key_part(struct buf *b, const char *s)
{
	if (s)
		buf_puts(b, s);
	buf_add(b, "\n", 1);
}

/* The query arguments the core's handlers read, besides the modules'
 * list filters (sorted). */
static const char *const cache_core_args[] = {"cursor", "lang", "limit", "municipality", "q",
                                               "since", "updated_since", NULL};

/* req->arg_keyed: 1 when `name` is an argument some handler knows (and so
 * part of the key when present). */
static int
cache_arg_keyed(struct portal_req *r, const char *name)
{
	for (const char *const *a = cache_core_args; *a; a++)
		if (strcmp(*a, name) == 0)
			return 1;
	for (const struct portal_plugin *p = r->core->plugins ? r->core->plugins->head : NULL; p;
	     p = p->next)
		for (const struct portal_filter *f = p->item ? p->item->filters : NULL; f && f->name; f++)
			if (strcmp(f->name, name) == 0)
				return 1;
	return 0;
}

/* 1 when r is an export (/api/v1/{m}/{module}.{ext}), which pages the
 * whole list itself and reads no limit or cursor. */
static int
cache_is_export(const struct portal_req *r)
{
	return r->nseg == 4 && strcmp(r->seg[0], "api") == 0 && strchr(r->seg[3], '.') != NULL;
}

/* The arguments of the key: the known ones, by name, the first of each. */
static void
cache_key_args(struct buf *b, struct portal_req *r)
{
	const char *last = NULL;
	for (;;) {
		/* the next name after `last` in byte order: n args, a handful */
		const struct req_arg *next = NULL;
		for (size_t i = 0; i < r->nargs; i++) {
			const struct req_arg *a = &r->args[i];
			if ((last && strcmp(a->name, last) <= 0) || (next && strcmp(a->name, next->name) >= 0))
				continue;
			if (!cache_arg_keyed(r, a->name) ||
			    (cache_is_export(r) && (strcmp(a->name, "limit") == 0 || strcmp(a->name, "cursor") == 0)))
				continue;
			next = a;
		}
		if (next == NULL)
			break;
		/* length-prefixed: no value can run into the next */
		buf_printf(b, "%zu:%s=%zu:%s&", strlen(next->name), next->name, strlen(next->value),
		           next->value);
		last = next->name;
	}
	buf_add(b, "\n", 1);
}

static struct cache_entry *
cache_find(struct cache *k, uint64_t hash, const char *key, size_t keylen)
{
	for (struct cache_entry *e = k->tab[hash % k->nbuckets]; e; e = e->hnext)
		if (e->hash == hash && e->keylen == keylen && memcmp(e->key, key, keylen) == 0)
			return e;
	return NULL;
}


/* Whether entries of r may be kept by their item's token: the item URL of
 * a module with items, the database check, no replica.  Notes which item. */
static int
cache_item_url(struct core *c, struct portal_req *r, struct cache_req *q)
{
	portal_plugin *p;
	long long id;
	if (c->cache->check_host || c->rdb != NULL || r->nseg != 5 ||
	    strcmp(r->seg[0], "api") != 0 || (id = item_parse_id(r->seg[4])) <= 0 ||
	    (p = plugin_find(c->plugins, r->seg[3])) == NULL || p->item == NULL)
		return 0;
	q->item_module = p->name;
	q->item_id = id;
	return 1;
}

/*
 * A miss: the answer will be made from a read replica when there is one,
 * and a replica may lag behind the token just read from the primary.  The
 * entry must carry the token of the data it is made from, read from that
 * replica before the answer (the replica applies each write's transaction
 * whole, token included).  The request keeps that database (dispatch and
 * pages use r->db when it is set).
 */
static void
cache_miss(struct core *c, struct portal_req *r)
{
	struct cache_req *q = cache_req(r);
	long long gen;
	if (q->item_id > 0) {
		/* the tokens an item's own answer is kept by, read before it is
		 * made (the generation too: all from one read) */
		if (!q->item_read && breaker_primary(c) == PORTAL_OK &&
		    cache_item_read(c->db, q->muni->slug, q->item_module, q->item_id, &gen, &q->other,
		                    &q->item_token) == PORTAL_OK) {
			q->token = gen;
			q->item_read = 1;
		}
		return;
	}
	if (c->rdb == NULL || c->cache->check_host)
		return;
	r->db = breaker_read_db(c, r);
	if (r->db == c->db)
		return;
	if (db_is_down(r->db) || db_ensure(r->db) != PORTAL_OK ||
	    (q->token = cache_token(r->db, q->muni->slug)) < 0) {
		q->eligible = 0; /* dispatch falls back to the primary */
		r->db = NULL;
	}
}

/* r answered from e, which becomes the most recently used. */
static void
cache_answer(struct core *c, struct portal_req *r, struct cache_entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->next = c->cache->lru.next;
	e->prev = &c->cache->lru;
	e->next->prev = e;
	c->cache->lru.next = e;

	r->muni = cache_req(r)->muni;
	r->route_name = e->route;
	r->responded = 1;
	r->content_type = e->content_type;
	r->resp_head_raw = e->head;
	r->resp_head_raw_len = e->headlen;
	if (out_etag_listed(req_header(r, "If-None-Match"), e->etag, 1)) {
		r->status = 304;
	} else {
		r->status = 200;
		r->resp_raw = e->body;
		r->resp_raw_len = e->bodylen;
	}
}

/*
 * The database cannot validate: serve the entry unvalidated when it was
 * made at most stale_if_error seconds ago and no write on this host has
 * outdated it, saying how old it is (Age).  Otherwise the normal path
 * answers (503 without a database; PORTAL_DECLINED); its answer is not
 * stored.
 */
static int
cache_stale(struct core *c, struct portal_req *r)
{
	struct cache_req *q = cache_req(r);
	q->eligible = 0;
	struct cache_entry *e = cache_find(c->cache, q->hash, q->key, q->keylen);
	time_t age = e ? time(NULL) - e->made : 0;
	if (e == NULL || c->cache->stale_if_error <= 0 || age > c->cache->stale_if_error ||
	    e->local != q->local)
		return PORTAL_DECLINED;
	metrics_cache(c->metrics, METRICS_CACHE_STALE_IF_ERROR);
	log_msg(PORTAL_LOG_WARN, r->request_id,
	        "database unavailable: %s served from the cache unvalidated, %lld s old", r->uri,
	        (long long)age);
	cache_answer(c, r, e);
	out_header(r, "Age", pool_printf(r->pool, "%lld", (long long)(age < 0 ? 0 : age)));
	return PORTAL_DONE;
}

int
cache_serve(struct core *c, struct portal_req *r)
{
	const struct conf_municipality *m;
	if (c->cache == NULL || (m = cache_muni(c, r)) == NULL)
		return PORTAL_DECLINED;
	struct buf b;
	buf_init(&b, r->pool);
	cache_key_part(&b, r->path);
	cache_key_args(&b, r);
	/* the language the answer will be in, as pages resolve it */
	const struct conf_municipality *saved = r->muni;
	r->muni = m;
	cache_key_part(&b, page_lang(r));
	r->muni = saved;
	cache_key_part(&b, r->io->param(r->io->ctx, "REQUEST_SCHEME"));
	r->arg_keyed = cache_arg_keyed;
	struct cache_req *q = pool_alloc(r->pool, sizeof(*q));
	r->ctx[REQ_CTX_CACHE] = q;
	q->key = b.data;
	q->keylen = b.len;
	unsigned char h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const unsigned char *)b.data, b.len, c->cache->hkey);
	memcpy(&q->hash, h, sizeof(q->hash));
	q->muni = m;
	q->eligible = 1;

	/* the generations as they are before the answer is made */
	q->local = cache_local(c, m->slug);
	if (!c->cache->check_host) {
		struct cache_clock now;
		cache_clock_now(c->metrics, &now);
		if (cache_check_get(c->metrics, m->slug, cache_arrival(c, r, &now), &now, &q->token)) {
			metrics_cache(c->metrics, METRICS_CACHE_CHECK_SHARED);
		} else {
			if (breaker_primary(c) != PORTAL_OK)
				return cache_stale(c, r);
			q->token = cache_token_read(c, m->slug);
			if (q->token < 0) {
				/* a connection the server had closed is made again at once */
				if (breaker_reconnect(c) != PORTAL_OK ||
				    (q->token = cache_token_read(c, m->slug)) < 0)
					return cache_stale(c, r);
			}
		}
	}
	struct cache_entry *e = cache_find(c->cache, q->hash, b.data, b.len);
	if (e == NULL) {
		metrics_cache(c->metrics, METRICS_CACHE_MISS);
		cache_item_url(c, r, q);
		cache_miss(c, r);
		return PORTAL_DECLINED;
	}
	/* an item's answer may still be valid by its item's token */
	if (e->expires > time(NULL) && e->item_id > 0 && cache_item_url(c, r, q) &&
	    (e->local != q->local || e->token != q->token) && breaker_primary(c) == PORTAL_OK &&
	    cache_item_read(c->db, m->slug, e->item_module, e->item_id, &q->token, &q->other,
	                    &q->item_token) == PORTAL_OK) {
		q->item_read = 1; /* (what a miss would read: its store uses them) */
		if (q->other >= 0 && q->other == e->other && q->item_token == e->item_token) {
			/* no write since it was made touched this item */
			e->token = q->token;
			e->local = q->local;
			metrics_cache(c->metrics, METRICS_CACHE_ITEM_VALID);
		}
	}
	if (e->expires <= time(NULL) || e->local != q->local ||
	    (!c->cache->check_host && e->token != q->token)) {
		cache_unlink(c->cache, e);
		cache_item_url(c, r, q);
		metrics_cache(c->metrics, METRICS_CACHE_STALE);
		cache_miss(c, r);
		return PORTAL_DECLINED;
	}
	metrics_cache(c->metrics, METRICS_CACHE_HIT);
	cache_answer(c, r, e);
	return PORTAL_DONE;
}

/* Only the content types the core itself sets are cached: the entry keeps
 * the pointer, not a copy. */
static const char *
cache_content_type(const char *ct)
{
	static const char *const known[] = {
	    "application/json", "text/html", "application/atom+xml", "text/calendar",
	    "application/geo+json", "text/csv", "text/plain", "application/ld+json", NULL};
	for (int i = 0; known[i]; i++)
		if (ct && strcmp(ct, known[i]) == 0)
			return known[i];
	return NULL;
}

void
cache_store(struct core *c, struct portal_req *r, const char *route)
{
	struct cache_req *q = cache_req(r);
	if (c->cache == NULL || q == NULL || !q->eligible || r->status != 200 || !r->responded ||
	    strcmp(r->method, "GET") != 0 || r->resp_raw == NULL || r->resp_json != NULL)
		return;
	if (r->arg_unkeyed) {
		/* a handler read an argument the key leaves out (cache_arg_keyed):
		 * storing the answer could serve it for other values of it */
		log_msg(PORTAL_LOG_DEBUG, r->request_id, "not cached: %s reads an argument not in the key",
		        route);
		return;
	}
	const char *ct = cache_content_type(r->content_type);
	const char *cc = NULL, *etag = NULL;
	size_t headlen = 0;
	for (struct req_header *h = r->resp_headers; h; h = h->next) {
		if (strcasecmp(h->name, "Cache-Control") == 0)
			cc = h->value;
		else if (strcasecmp(h->name, "ETag") == 0)
			etag = h->value;
		headlen += strlen(h->name) + strlen(h->value) + 4;
	}
	if (ct == NULL || cc == NULL || strstr(cc, "public") == NULL)
		return;
	struct cache *k = c->cache;
	size_t size = sizeof(struct cache_entry) + q->keylen + headlen + r->resp_raw_len + 64 +
	              strlen(route);
	if (size > k->max_bytes / 8) /* one answer may not push out most of the others */
		return;

	struct cache_entry *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return;
	e->key = malloc(q->keylen);
	e->head = malloc(headlen + 1);
	e->body = malloc(r->resp_raw_len + 1); /* NUL-terminated, as resp_raw often is */
	e->route = strdup(route);
	e->etag = etag ? strdup(etag) : NULL;
	if (!e->key || !e->head || !e->body || !e->route || (etag && !e->etag)) {
		cache_entry_free(e);
		return;
	}
	memcpy(e->key, q->key, q->keylen);
	e->keylen = q->keylen;
	e->hash = q->hash;
	char *p = e->head;
	for (struct req_header *h = r->resp_headers; h; h = h->next) {
		size_t nl = strlen(h->name), vl = strlen(h->value);
		memcpy(p, h->name, nl);
		p += nl;
		memcpy(p, ": ", 2);
		p += 2;
		memcpy(p, h->value, vl);
		p += vl;
		memcpy(p, "\r\n", 2);
		p += 2;
	}
	*p = '\0';
	e->headlen = headlen;
	memcpy(e->body, r->resp_raw, r->resp_raw_len);
	e->body[r->resp_raw_len] = '\0';
	e->bodylen = r->resp_raw_len;
	e->content_type = ct;
	e->token = q->token;
	e->local = q->local;
	if (q->item_read && q->other >= 0 && r->item_answer == q->item_id &&
	    (e->item_module = strdup(q->item_module))) {
		e->item_id = q->item_id;
		e->other = q->other;
		e->item_token = q->item_token;
	}
	e->made = time(NULL);
	e->expires = e->made + k->ttl;
	e->size = size;

	struct cache_entry *old = cache_find(k, e->hash, e->key, e->keylen);
	if (old)
		cache_unlink(k, old);
	while (k->bytes + size > k->max_bytes && k->lru.prev != &k->lru) {
		cache_unlink(k, k->lru.prev);
		metrics_cache(c->metrics, METRICS_CACHE_EVICT);
	}
	struct cache_entry **bucket = &k->tab[e->hash % k->nbuckets];
	e->hnext = *bucket;
	*bucket = e;
	e->next = k->lru.next;
	e->prev = &k->lru;
	e->next->prev = e;
	k->lru.next = e;
	k->bytes += size;
	metrics_cache(c->metrics, METRICS_CACHE_STORE);
}
