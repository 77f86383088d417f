/*
 * breaker.c - which database answers a request: the primary behind a
 * circuit breaker the host's workers share, or the worker's read replica,
 * which falls back to the primary for replica_retry seconds after it fails.
 *
 * The primary's breaker.
 *
 * A database that does not answer costs each statement sent to it the
 * client's read_timeout (a frozen server) and each connect connect_timeout;
 * with a handful of workers the whole portal then hangs.  So the first
 * worker that sees the primary fail (a failed connect, a lost connection, a
 * statement that timed out) opens the breaker in the page the workers share
 * (struct metrics), and from then on every worker answers what needs the
 * database with 503 + Retry-After at once, and serves the response cache
 * unvalidated (cache.stale_if_error), without sending a statement.
 *
 * One process of its own (the master forks it beside the workers) probes
 * while the breaker is open: a connect and a ping, with one-second
 * timeouts, every quarter second.  When one works it closes the breaker;
 * each worker then reconnects on its next request.  States: closed -> open
 * (breaker_trip, any worker) -> closed (breaker_probe); /metrics counts both
 * changes (portal_db_breaker_changes_total) and shows the state.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core.h"

int
breaker_is_open(struct metrics *m)
{
	return m != NULL && __atomic_load_n(&m->breaker.open, __ATOMIC_ACQUIRE) != 0;
}

void
breaker_trip(struct metrics *m, const char *why)
{
	if (m == NULL)
		return;
	int expect = 0;
	if (!__atomic_compare_exchange_n(&m->breaker.open, &expect, 1, 0, __ATOMIC_ACQ_REL,
	                                 __ATOMIC_ACQUIRE))
		return; /* another worker opened it first */
	__atomic_store_n(&m->breaker.since_ms, log_now_ms(), __ATOMIC_RELEASE);
	__atomic_add_fetch(&m->breaker.opened, 1, __ATOMIC_RELAXED);
	log_msg(PORTAL_LOG_WARN, NULL,
	        "database breaker open (%s): answering 503 without asking the database until a "
	        "probe gets an answer",
	        why && *why ? why : "no answer");
}

static void
breaker_close(struct metrics *m)
{
	int expect = 1;
	if (!__atomic_compare_exchange_n(&m->breaker.open, &expect, 0, 0, __ATOMIC_ACQ_REL,
	                                 __ATOMIC_ACQUIRE))
		return;
	__atomic_add_fetch(&m->breaker.closed, 1, __ATOMIC_RELAXED);
	long long ms = log_now_ms() - __atomic_load_n(&m->breaker.since_ms, __ATOMIC_ACQUIRE);
	log_msg(PORTAL_LOG_INFO, NULL, "database breaker closed: the database answers again after %.1f s",
	        (double)ms / 1000.0);
}

int
breaker_primary(struct core *c)
{
	struct metrics *m = c->metrics;
	if (breaker_is_open(m))
		return PORTAL_ERROR;
	unsigned long epoch = m ? __atomic_load_n(&m->breaker.closed, __ATOMIC_ACQUIRE) : 0;
	int rc = epoch != c->db_epoch ? db_connect(c->db) : db_ensure(c->db);
	if (rc != PORTAL_OK) {
		metrics_add(m, METRICS_DB_ERRORS, 1);
		breaker_trip(m, db_error(c->db));
		return PORTAL_ERROR;
	}
	c->db_epoch = epoch;
	return PORTAL_OK;
}

int
breaker_reconnect(struct core *c)
{
	if (breaker_is_open(c->metrics))
		return PORTAL_ERROR;
	if (!db_is_down(c->db))
		return PORTAL_OK;
	if (!db_waited(c->db)) {
		char was[256];
		snprintf(was, sizeof(was), "%s", db_error(c->db));
		if (db_connect(c->db) == PORTAL_OK) {
			log_msg(PORTAL_LOG_WARN, NULL, "database: connection lost (%s); connected again", was);
			return PORTAL_OK;
		}
	}
	breaker_trip(c->metrics, db_error(c->db));
	return PORTAL_ERROR;
}

/* ---- the replica: a breaker of each worker's own ---- */

struct db *
breaker_replica_new(const struct conf *conf, int index)
{
	if (conf->nreplicas == 0)
		return NULL;
	return db_new(&conf->replicas[(size_t)(index < 0 ? 0 : index) % conf->nreplicas]);
}

/*
 * The replica failed (no connection, or lost in the middle of a read):
 * this request and this worker's reads for the next replica_retry seconds
 * go to the primary, which has every row the replica has.  Per worker,
 * since each worker has its own replica connection: a replica that
 * refuses connections costs one attempt per worker and period, one that
 * hangs costs connect_timeout once per worker and period.
 */
void
breaker_replica_failed(struct core *c, struct portal_req *r)
{
	log_msg(PORTAL_LOG_WARN, r->request_id, "replica: %s; reading from the primary for %ds",
	        db_error(c->rdb), c->conf->replica_retry);
	c->rdb_retry_ms = log_now_ms() + 1000LL * c->conf->replica_retry;
	metrics_add(c->metrics, METRICS_REPLICA_FALLBACKS, 1);
	db_done_all(c->rdb);
	r->db = c->db;
}

struct db *
breaker_read_db(struct core *c, struct portal_req *r)
{
	if (c->rdb == NULL)
		return c->db;
	/* read-your-writes on request: a client that has just written (so
	 * has a token) and must see it asks for the primary (replicas lag);
	 * without a token the header is ignored, or anyone could send every
	 * read to the primary */
	const char *h = req_header(r, "Portal-Read");
	if (h && strcasecmp(h, "primary") == 0 && req_header(r, "Authorization") != NULL)
		return c->db;
	if (c->rdb_retry_ms != 0) {
		if (log_now_ms() < c->rdb_retry_ms) {
			metrics_add(c->metrics, METRICS_REPLICA_FALLBACKS, 1);
			return c->db;
		}
		c->rdb_retry_ms = 0;
	}
	return c->rdb;
}

static void
breaker_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL); /* a signal ends it early: the loop checks *stop */
}

void
breaker_probe(const struct conf_db *db, struct metrics *m, volatile sig_atomic_t *stop)
{
	/* the probe's own settings: short timeouts, no statement bound needed */
	struct conf_db pc = *db;
	pc.connect_timeout = pc.read_timeout = pc.write_timeout = 1;
	pc.statement_timeout = 0;
	unsigned long failures = 0;
	while (!*stop) {
		if (!breaker_is_open(m)) {
			failures = 0;
			breaker_sleep_ms(50);
			continue;
		}
		struct db *d = db_new(&pc);
		int ok = d != NULL && db_ping(d) == PORTAL_OK;
		if (!ok && d && (failures++ % 40) == 0) /* one line per ten seconds down */
			log_msg(PORTAL_LOG_WARN, NULL, "database probe: %s", db_error(d));
		db_free(d);
		if (ok)
			breaker_close(m);
		else
			breaker_sleep_ms(250);
	}
}
