/*
 * db.c - MariaDB/MySQL through the C API, prepared statements only.
 *
 * One connection per worker.  Statements are prepared once per worker and
 * kept in a list keyed by their SQL text; results are buffered on the
 * client (store_result) so a handler can run another statement while it
 * walks a result, and every column is read as text.  A lost connection
 * marks the database down: the request fails with 503 and the next one
 * reconnects (no silent auto-reconnect inside a transaction).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mysql.h>
#include <errmsg.h>

#include "core.h"

/* MySQL 8 dropped my_bool; MariaDB Connector/C keeps it. */
#if !defined(MARIADB_PACKAGE_VERSION) && defined(MYSQL_VERSION_ID) && MYSQL_VERSION_ID >= 80001
#include <stdbool.h>
typedef bool my_bool;
#endif

#define DB_COLBUF 256

struct portal_stmt {
	struct db *db;
	char *sql;
	MYSQL_STMT *st;
	unsigned nparams, ncols;
	MYSQL_BIND *pb;
	long long *pint;
	double *pdbl;
	unsigned long *plen;
	unsigned char *pset;
	MYSQL_BIND *rb;
	char **rbuf;
	unsigned long *rlen, *rcap;
	my_bool *rnull, *rerr;
	int active; /* executed, result not yet freed */
	unsigned last_errno; /* of the last execute, 0 after success */
	unsigned warnings;   /* of the last execute (LIMIT ROWS EXAMINED stopped it) */
	struct pool *pool;
	struct portal_stmt *next;
};

struct db {
	const struct conf_db *conf;
	MYSQL *my;
	int down;
	unsigned last_errno; /* of the last failure */
	long long call_ms;   /* when the last call to the server began */
	long long deadline;  /* log_now_ms() after which no statement starts; 0: none */
	int slow;            /* the last failure came after a wait (a timeout) */
	unsigned long reconnects;
	char err[256];
	struct portal_stmt *stmts;
};

struct db *
db_new(const struct conf_db *c)
{
	struct db *d = calloc(1, sizeof(*d));
	if (d)
		d->conf = c;
	return d;
}

static void
db_stmt_free(struct portal_stmt *s)
{
	if (s->st)
		mysql_stmt_close(s->st);
	for (unsigned i = 0; i < s->ncols; i++)
		free(s->rbuf[i]);
	free(s->rbuf);
	free(s->rb);
	free(s->rlen);
	free(s->rcap);
	free(s->rnull);
	free(s->rerr);
	free(s->pb);
	free(s->pint);
	free(s->pdbl);
	free(s->plen);
	free(s->pset);
	free(s->sql);
	free(s);
}

static void
db_close(struct db *d)
{
	struct portal_stmt *s = d->stmts;
	while (s) {
		struct portal_stmt *n = s->next;
		db_stmt_free(s);
		s = n;
	}
	d->stmts = NULL;
	if (d->my)
		mysql_close(d->my);
	d->my = NULL;
}

void
db_free(struct db *d)
{
	if (d == NULL)
		return;
	db_close(d);
	free(d);
}

const char *
db_error(const struct db *d)
{
	return d->err;
}

int
db_is_down(const struct db *d)
{
	return d->down || d->my == NULL;
}

int
db_waited(const struct db *d)
{
	return d->slow;
}

int
db_timed_out(const struct db *d)
{
	/* MariaDB's ER_STATEMENT_TIMEOUT, MySQL's ER_QUERY_TIMEOUT */
	return d->last_errno == 1969 || d->last_errno == 3024;
}

/* Not a server's number (theirs end below 5000, the client's at 2999) */
#define DB_ERR_BUDGET 59001

void
db_set_deadline(struct db *d, long long at_ms)
{
	d->deadline = at_ms;
}

int
db_over_budget(const struct db *d)
{
	return d->last_errno == DB_ERR_BUDGET;
}

unsigned long
db_reconnects(const struct db *d)
{
	return d->reconnects;
}

/* Remembers the last error; a lost connection marks the database down. */
static void
db_note_error(struct db *d, unsigned no, const char *msg)
{
	snprintf(d->err, sizeof(d->err), "%u: %s", no, msg ? msg : "");
	d->last_errno = no;
	d->slow = log_now_ms() - d->call_ms >= 1000;
	switch (no) {
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_LOST_EXTENDED:
	case 1927: /* ER_CONNECTION_KILLED */
	case 1053: /* ER_SERVER_SHUTDOWN */
	case 4031: /* client inactivity timeout */
		d->down = 1;
		break;
	default:
		break;
	}
}

/* Past the request's deadline no statement starts: the request fails as a
 * statement would (the caller rolls back), without asking the server. */
static int
db_past_deadline(struct db *d)
{
	if (d->deadline == 0)
		return 0;
	long long now = log_now_ms();
	if (now < d->deadline)
		return 0;
	d->call_ms = now; /* no wait: not a reason to open the breaker */
	db_note_error(d, DB_ERR_BUDGET, "the request's time budget (core.request_timeout) is spent");
	return 1;
}

/*
 * The server aborts a statement that runs longer than statement_timeout
 * (MariaDB's max_statement_time; MySQL's max_execution_time bounds only
 * SELECTs), so no worker goes on working for a request nginx has given up
 * on.  A server that knows neither keeps its connection unbounded: only
 * read_timeout then limits the wait.
 */
static void
db_statement_timeout(struct db *d)
{
	char sql[96];
	snprintf(sql, sizeof(sql), "SET SESSION max_statement_time = %d", d->conf->statement_timeout);
	if (mysql_query(d->my, sql) == 0)
		return;
	snprintf(sql, sizeof(sql), "SET SESSION max_execution_time = %d",
	         d->conf->statement_timeout * 1000);
	if (mysql_query(d->my, sql) != 0)
		log_msg(PORTAL_LOG_WARN, NULL, "database: no statement time limit (%s)", mysql_error(d->my));
}

int
db_connect(struct db *d)
{
	db_close(d);
	d->my = mysql_init(NULL);
	if (d->my == NULL) {
		snprintf(d->err, sizeof(d->err), "out of memory");
		return PORTAL_ERROR;
	}
	unsigned ct = (unsigned)d->conf->connect_timeout, rt = (unsigned)d->conf->read_timeout,
	         wt = (unsigned)d->conf->write_timeout;
	mysql_options(d->my, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(d->my, MYSQL_OPT_READ_TIMEOUT, &rt);
	mysql_options(d->my, MYSQL_OPT_WRITE_TIMEOUT, &wt);
	mysql_options(d->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(d->my, MYSQL_INIT_COMMAND,
	              "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,"
	              "NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'");
	const char *host = d->conf->socket ? "localhost" : d->conf->host;
	if (!mysql_real_connect(d->my, host, d->conf->user, d->conf->password, d->conf->name,
	                        d->conf->socket ? 0 : (unsigned)d->conf->port, d->conf->socket,
	                        CLIENT_FOUND_ROWS)) {
		snprintf(d->err, sizeof(d->err), "cannot connect to the database: %s",
		         mysql_error(d->my));
		mysql_close(d->my);
		d->my = NULL;
		d->down = 1;
		return PORTAL_ERROR;
	}
	if (d->conf->statement_timeout > 0)
		db_statement_timeout(d);
	if (d->down)
		d->reconnects++;
	d->down = 0;
	return PORTAL_OK;
}

int
db_ensure(struct db *d)
{
	if (d->my != NULL && !d->down)
		return PORTAL_OK;
	return db_connect(d);
}

int
db_ping(struct db *d)
{
	if (db_ensure(d) != PORTAL_OK)
		return PORTAL_ERROR;
	d->call_ms = log_now_ms();
	if (mysql_ping(d->my) != 0) {
		db_note_error(d, mysql_errno(d->my), mysql_error(d->my));
		d->down = 1;
		return PORTAL_ERROR;
	}
	return PORTAL_OK;
}

int
db_exec(struct db *d, const char *sql)
{
	if (db_past_deadline(d) || db_ensure(d) != PORTAL_OK)
		return PORTAL_ERROR;
	d->call_ms = log_now_ms();
	if (mysql_real_query(d->my, sql, strlen(sql)) != 0) {
		db_note_error(d, mysql_errno(d->my), mysql_error(d->my));
		return PORTAL_ERROR;
	}
	/* DDL and transaction commands have no result; drain any anyway */
	do {
		MYSQL_RES *res = mysql_store_result(d->my);
		if (res)
			mysql_free_result(res);
	} while (mysql_next_result(d->my) == 0);
	return PORTAL_OK;
}

int
db_begin(struct db *d)
{
	return db_exec(d, "START TRANSACTION");
}

int
db_commit(struct db *d)
{
	d->call_ms = log_now_ms();
	if (d->my == NULL || mysql_commit(d->my) != 0) {
		if (d->my)
			db_note_error(d, mysql_errno(d->my), mysql_error(d->my));
		return PORTAL_ERROR;
	}
	return PORTAL_OK;
}

int
db_rollback(struct db *d)
{
	if (d->my == NULL || d->down)
		return PORTAL_ERROR;
	d->call_ms = log_now_ms();
	if (mysql_rollback(d->my) != 0) {
		db_note_error(d, mysql_errno(d->my), mysql_error(d->my));
		return PORTAL_ERROR;
	}
	return PORTAL_OK;
}

static void *
db_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (p == NULL) {
		fputs("portal: out of memory\n", stderr);
		abort();
	}
	return p;
}

struct portal_stmt *
db_prepare(struct db *d, const char *sql)
{
	for (struct portal_stmt *s = d->stmts; s; s = s->next)
		if (strcmp(s->sql, sql) == 0) {
			if (s->active)
				db_done(s);
			memset(s->pset, 0, s->nparams ? s->nparams : 1);
			return s;
		}
	if (db_ensure(d) != PORTAL_OK)
		return NULL;

	struct portal_stmt *s = db_calloc(1, sizeof(*s));
	s->db = d;
	s->sql = strdup(sql);
	s->st = mysql_stmt_init(d->my);
	if (s->sql == NULL || s->st == NULL) {
		db_stmt_free(s);
		return NULL;
	}
	d->call_ms = log_now_ms();
	if (mysql_stmt_prepare(s->st, sql, strlen(sql)) != 0) {
		db_note_error(d, mysql_stmt_errno(s->st), mysql_stmt_error(s->st));
		log_msg(PORTAL_LOG_ERR, NULL, "cannot prepare \"%.80s\": %s", sql, d->err);
		db_stmt_free(s);
		return NULL;
	}
	s->nparams = (unsigned)mysql_stmt_param_count(s->st);
	s->pb = db_calloc(s->nparams, sizeof(*s->pb));
	s->pint = db_calloc(s->nparams, sizeof(*s->pint));
	s->pdbl = db_calloc(s->nparams, sizeof(*s->pdbl));
	s->plen = db_calloc(s->nparams, sizeof(*s->plen));
	s->pset = db_calloc(s->nparams, 1);

	MYSQL_RES *meta = mysql_stmt_result_metadata(s->st);
	if (meta) {
		s->ncols = mysql_num_fields(meta);
		mysql_free_result(meta);
	}
	s->rb = db_calloc(s->ncols, sizeof(*s->rb));
	s->rbuf = db_calloc(s->ncols, sizeof(*s->rbuf));
	s->rlen = db_calloc(s->ncols, sizeof(*s->rlen));
	s->rcap = db_calloc(s->ncols, sizeof(*s->rcap));
	s->rnull = db_calloc(s->ncols, sizeof(*s->rnull));
	s->rerr = db_calloc(s->ncols, sizeof(*s->rerr));
	for (unsigned i = 0; i < s->ncols; i++) {
		s->rcap[i] = DB_COLBUF;
		s->rbuf[i] = db_calloc(DB_COLBUF, 1);
	}
	s->next = d->stmts;
	d->stmts = s;
	return s;
}

void
db_stmt_set_pool(struct portal_stmt *s, struct pool *p)
{
	s->pool = p;
}

static int
db_param_ok(struct portal_stmt *s, unsigned i)
{
	if (s == NULL || i >= s->nparams) {
		log_msg(PORTAL_LOG_ERR, NULL, "bind: parameter %u out of range in \"%.80s\"", i,
		        s ? s->sql : "");
		return 0;
	}
	s->pset[i] = 1;
	memset(&s->pb[i], 0, sizeof(s->pb[i]));
	return 1;
}

int
db_bind_text(struct portal_stmt *s, unsigned i, const char *v)
{
	if (v == NULL)
		return db_bind_null(s, i);
	if (!db_param_ok(s, i))
		return PORTAL_ERROR;
	/* the string belongs to the caller and must live until execute */
	s->plen[i] = strlen(v);
	s->pb[i].buffer_type = MYSQL_TYPE_STRING;
	s->pb[i].buffer = (void *)(uintptr_t)v;
	s->pb[i].buffer_length = s->plen[i];
	s->pb[i].length = &s->plen[i];
	return PORTAL_OK;
}

int
db_bind_int(struct portal_stmt *s, unsigned i, long long v)
{
	if (!db_param_ok(s, i))
		return PORTAL_ERROR;
	s->pint[i] = v;
	s->pb[i].buffer_type = MYSQL_TYPE_LONGLONG;
	s->pb[i].buffer = &s->pint[i];
	return PORTAL_OK;
}

int
db_bind_double(struct portal_stmt *s, unsigned i, double v)
{
	if (!db_param_ok(s, i))
		return PORTAL_ERROR;
	s->pdbl[i] = v;
	s->pb[i].buffer_type = MYSQL_TYPE_DOUBLE;
	s->pb[i].buffer = &s->pdbl[i];
	return PORTAL_OK;
}

int
db_bind_null(struct portal_stmt *s, unsigned i)
{
	if (!db_param_ok(s, i))
		return PORTAL_ERROR;
	s->pb[i].buffer_type = MYSQL_TYPE_NULL;
	return PORTAL_OK;
}

static void
db_bind_results(struct portal_stmt *s)
{
	for (unsigned i = 0; i < s->ncols; i++) {
		memset(&s->rb[i], 0, sizeof(s->rb[i]));
		s->rb[i].buffer_type = MYSQL_TYPE_STRING;
		s->rb[i].buffer = s->rbuf[i];
		s->rb[i].buffer_length = s->rcap[i] - 1;
		s->rb[i].length = &s->rlen[i];
		s->rb[i].is_null = &s->rnull[i];
		s->rb[i].error = &s->rerr[i];
	}
	if (s->ncols)
		mysql_stmt_bind_result(s->st, s->rb);
}

int
db_execute(struct portal_stmt *s)
{
	struct db *d = s->db;
	if (s->active)
		db_done(s);
	for (unsigned i = 0; i < s->nparams; i++)
		if (!s->pset[i]) {
			log_msg(PORTAL_LOG_ERR, NULL, "execute: parameter %u not bound in \"%.80s\"", i,
			        s->sql);
			return PORTAL_ERROR;
		}
	s->last_errno = 0;
	s->warnings = 0;
	if (db_past_deadline(d)) {
		s->last_errno = DB_ERR_BUDGET;
		log_msg(PORTAL_LOG_WARN, NULL, "execute \"%.80s\": %s", s->sql, d->err);
		return PORTAL_ERROR;
	}
	d->call_ms = log_now_ms();
	if ((s->nparams && mysql_stmt_bind_param(s->st, s->pb)) || mysql_stmt_execute(s->st)) {
		s->last_errno = mysql_stmt_errno(s->st);
		db_note_error(d, mysql_stmt_errno(s->st), mysql_stmt_error(s->st));
		log_msg(d->down ? PORTAL_LOG_WARN : PORTAL_LOG_ERR, NULL, "execute \"%.80s\": %s",
		        s->sql, d->err);
		return PORTAL_ERROR;
	}
	s->active = 1;
	if (s->ncols) {
		db_bind_results(s);
		if (mysql_stmt_store_result(s->st) != 0) {
			db_note_error(d, mysql_stmt_errno(s->st), mysql_stmt_error(s->st));
			return PORTAL_ERROR;
		}
		s->warnings = mysql_warning_count(d->my);
	}
	return PORTAL_OK;
}

int
db_fetch(struct portal_stmt *s)
{
	if (!s->active || s->ncols == 0)
		return 0;
	int rc = mysql_stmt_fetch(s->st);
	if (rc == MYSQL_NO_DATA)
		return 0;
	if (rc == 1) {
		db_note_error(s->db, mysql_stmt_errno(s->st), mysql_stmt_error(s->st));
		return PORTAL_ERROR;
	}
	int rebind = 0;
	for (unsigned i = 0; i < s->ncols; i++) {
		if (s->rnull[i])
			continue;
		if (s->rlen[i] + 1 > s->rcap[i]) {
			/* truncated: grow and fetch this column again */
			char *nb = realloc(s->rbuf[i], s->rlen[i] + 1);
			if (nb == NULL)
				return PORTAL_ERROR;
			s->rbuf[i] = nb;
			s->rcap[i] = s->rlen[i] + 1;
			s->rb[i].buffer = nb;
			s->rb[i].buffer_length = s->rcap[i] - 1;
			if (mysql_stmt_fetch_column(s->st, &s->rb[i], i, 0) != 0) {
				db_note_error(s->db, mysql_stmt_errno(s->st), mysql_stmt_error(s->st));
				return PORTAL_ERROR;
			}
			rebind = 1;
		}
		s->rbuf[i][s->rlen[i]] = '\0';
	}
	if (rebind)
		mysql_stmt_bind_result(s->st, s->rb);
	return 1;
}

const char *
db_col_text(struct portal_stmt *s, unsigned i)
{
	if (i >= s->ncols || s->rnull[i])
		return NULL;
	return s->rbuf[i];
}

long long
db_col_int(struct portal_stmt *s, unsigned i)
{
	const char *t = db_col_text(s, i);
	return t ? strtoll(t, NULL, 10) : 0;
}

double
db_col_double(struct portal_stmt *s, unsigned i)
{
	const char *t = db_col_text(s, i);
	return t ? strtod(t, NULL) : 0.0;
}

int
db_col_is_null(struct portal_stmt *s, unsigned i)
{
	return i >= s->ncols || s->rnull[i];
}

struct json_object *
db_col_json(struct portal_stmt *s, unsigned i)
{
	const char *t = db_col_text(s, i);
	if (t == NULL)
		return NULL;
	struct json_object *o = json_tokener_parse(t);
	if (o && s->pool)
		pool_keep_json(s->pool, o);
	return o;
}

long long
db_insert_id(struct portal_stmt *s)
{
	return (long long)mysql_stmt_insert_id(s->st);
}

long long
db_affected(struct portal_stmt *s)
{
	return (long long)mysql_stmt_affected_rows(s->st);
}

void
db_done(struct portal_stmt *s)
{
	if (s == NULL || !s->active)
		return;
	if (s->ncols)
		mysql_stmt_free_result(s->st);
	s->active = 0;
}

void
db_done_all(struct db *d)
{
	for (struct portal_stmt *s = d->stmts; s; s = s->next) {
		db_done(s);
		s->pool = NULL;
	}
}

int
db_library_init(void)
{
	return mysql_library_init(0, NULL, NULL) ? PORTAL_ERROR : PORTAL_OK;
}

void
db_library_end(void)
{
	mysql_library_end();
}

int
db_stopped(struct portal_stmt *s)
{
	return s != NULL && s->warnings > 0;
}

int
db_is_duplicate(struct portal_stmt *s)
{
	return s != NULL && s->last_errno == 1062; /* ER_DUP_ENTRY */
}
