/*
 * dispatch.c - one request from the first parameter to the last byte:
 * parse, find the municipality and the route, authenticate, check the
 * role, read the body, run the handler (inside a transaction for writes),
 * commit, write the response, log one line, release the request's memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core.h"

static struct portal_req *dispatch_sub(struct core *c, struct portal_req *r,
                                       const struct pages_call *call);

static void
dispatch_healthz(struct core *c, struct portal_req *r)
{
	if (breaker_primary(c) != PORTAL_OK) {
		out_problem(r, 503, "the database does not answer");
		return;
	}
	if (db_ping(c->db) != PORTAL_OK) {
		metrics_add(c->metrics, METRICS_DB_ERRORS, 1);
		breaker_reconnect(c);
		out_problem(r, 503, "the database does not answer");
		return;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("ok"));
	out_json(r, 200, o);
	out_header(r, "Cache-Control", "no-store");
}

static void
dispatch_metrics(struct core *c, struct portal_req *r)
{
	struct buf b;
	buf_init(&b, r->pool);
	metrics_text(c->metrics, &b, c->plugins->count);
	r->status = 200;
	r->responded = 1;
	r->content_type = "text/plain; version=0.0.4";
	out_header(r, "Cache-Control", "no-store");
	r->resp_raw = b.data;
	r->resp_raw_len = b.len;
}

static void
dispatch_municipalities(struct core *c, struct portal_req *r)
{
	struct json_object *items = json_object_new_array();
	for (size_t i = 0; i < c->conf->nmunis; i++) {
		const struct conf_municipality *m = &c->conf->munis[i];
		struct json_object *o = json_object_new_object(), *l = json_object_new_array(),
		                   *mods = json_object_new_array();
		json_object_object_add(o, "slug", json_object_new_string(m->slug));
		json_object_object_add(o, "name", json_object_new_string(m->name));
		json_object_object_add(o, "country", json_object_new_string(m->country));
		for (size_t k = 0; k < m->nlanguages; k++)
			json_object_array_add(l, json_object_new_string(m->languages[k]));
		json_object_object_add(o, "languages", l);
		for (size_t k = 0; k < m->nmodules; k++)
			if (plugin_find(c->plugins, m->modules[k]))
				json_object_array_add(mods, json_object_new_string(m->modules[k]));
		json_object_object_add(o, "modules", mods);
		json_object_object_add(o, "license", json_object_new_string(m->license));
		json_object_array_add(items, o);
	}
	struct json_object *res = json_object_new_object();
	json_object_object_add(res, "items", items);
	out_json(r, 200, res);
}

/* Authorization: Bearer TOKEN.  PORTAL_OK, or PORTAL_DONE after answering
 * 401 or 503. */
static int
dispatch_auth(struct core *c, struct portal_req *r)
{
	const char *h = req_header(r, "Authorization");
	r->role = PORTAL_ROLE_NONE;
	/* portalctl's own requests (transfer.c): the operator at the shell
	 * already holds the database password; no token to present */
	if ((h == NULL || *h == '\0') && c->local_role > PORTAL_ROLE_NONE)
		r->role = c->local_role;
	/* the editor's write or read on behalf of its signed-in user */
	if ((h == NULL || *h == '\0') && r->user != NULL)
		r->role = auth_user_role(r->user, r->muni->slug);
	if (h == NULL || *h == '\0')
		return PORTAL_OK;
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		out_problem(r, 401, "the Authorization header must be \"Bearer TOKEN\"");
		return PORTAL_DONE;
	}
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	int rc = auth_lookup(c->db, tok, &r->token);
	if (rc < 0) {
		breaker_reconnect(c);
		out_problem(r, 503, "the database does not answer");
		return PORTAL_DONE;
	}
	if (rc == 1 && r->token.expired && !r->token.revoked) {
		out_problem(r, 401, "this token has expired");
		return PORTAL_DONE;
	}
	if (rc == 0 || r->token.revoked || r->token.role < PORTAL_ROLE_READER) {
		out_problem(r, 401, "unknown or revoked token");
		return PORTAL_DONE;
	}
	r->has_token = 1;
	if (strcmp(r->token.municipality, "*") == 0 || strcmp(r->token.municipality, r->muni->slug) == 0)
		r->role = r->token.role;
	return PORTAL_OK;
}

/*
 * A connected primary (PORTAL_OK), or 503 (PORTAL_DONE).  While the
 * database does not answer, every statement costs read_timeout and every
 * connect connect_timeout; so the first failure opens the host's breaker
 * (breaker.c) and from then on every worker answers 503 at once, until the
 * probe process finds the database answering again.
 */
static int
dispatch_primary(struct core *c, struct portal_req *r)
{
	if (breaker_primary(c) != PORTAL_OK) {
		out_problem(r, 503, "the database does not answer; try again shortly");
		return PORTAL_DONE;
	}
	return PORTAL_OK;
}

/*
 * r->db connected (PORTAL_OK), or 503 (PORTAL_DONE).  A replica that
 * cannot be reached is not an error: the read goes to the primary.  A
 * token is looked up on the primary whatever r->db is (a revocation takes
 * effect at once), so a request with one needs the primary too; an
 * anonymous read from a replica does not, and is answered while the
 * primary is away.
 */
static int
dispatch_db(struct core *c, struct portal_req *r)
{
	if (r->db == NULL)
		r->db = c->db;
	if (r->db != c->db && db_ensure(r->db) != PORTAL_OK)
		breaker_replica_failed(c, r);
	const char *h = req_header(r, "Authorization");
	if (r->db == c->db || (h && *h))
		return dispatch_primary(c, r);
	return PORTAL_OK;
}

/* Database, token and role for a request that needs `min_role`.  Returns
 * PORTAL_OK to go on, or answers (503, 401, 403) and returns PORTAL_DONE. */
static int
dispatch_authorize(struct core *c, struct portal_req *r, int min_role)
{
	if (dispatch_db(c, r) == PORTAL_DONE || dispatch_auth(c, r) == PORTAL_DONE)
		return PORTAL_DONE;
	if (min_role > r->role) {
		if (!r->has_token)
			out_problem(r, 401, "this request needs a token: Authorization: Bearer TOKEN");
		else
			out_problem(r, 403, pool_printf(r->pool, "this token may not do this in %s (it is "
			                                         "%s for %s, this needs %s)",
			                                r->muni->slug, auth_role_name(r->token.role),
			                                r->token.municipality, auth_role_name(min_role)));
		return PORTAL_DONE;
	}
	return PORTAL_OK;
}

/* The module a path under /api/v1/{m}/ belongs to: "partnerships.csv" ->
 * "partnerships". */
static int
dispatch_module_enabled(const struct conf_municipality *m, const char *seg)
{
	char name[65];
	size_t n = strcspn(seg, ".");
	if (n == 0 || n >= sizeof(name))
		return 0;
	memcpy(name, seg, n);
	name[n] = '\0';
	return conf_muni_has_module(m, name);
}

/*
 * A write's transaction.  In portald every write request is a transaction
 * of its own.  portalctl import (c->outer_txn) runs all its writes inside
 * one transaction it holds itself, all or nothing; there a write is a
 * savepoint, so a refused record is undone alone and the importer decides
 * about the whole.  what: 'b'egin, 'c'ommit, 'r'ollback.
 */
static int
dispatch_txn(struct core *c, int what)
{
	if (!c->outer_txn)
		return what == 'b' ? db_begin(c->db) : what == 'c' ? db_commit(c->db) : db_rollback(c->db);
	if (what == 'b')
		return db_exec(c->db, "SAVEPOINT portal_write");
	if (what == 'r' && db_exec(c->db, "ROLLBACK TO SAVEPOINT portal_write") != PORTAL_OK)
		return PORTAL_ERROR;
	return db_exec(c->db, "RELEASE SAVEPOINT portal_write");
}

/*
 * /api/v1/{m}/media[/{id}], every municipality's (media.c): reads for
 * anyone (the files are public at their URLs anyway), uploads and deletes
 * for editors, in a transaction of their own.  The upload's body is not
 * JSON and not core.max_body's: media.c streams it to a file.
 */
static void
dispatch_media(struct core *c, struct portal_req *r)
{
	long long id = 0;
	const char *allow = r->nseg == 4 ? "GET, HEAD, POST" : "GET, HEAD, DELETE";
	if (r->nseg == 5 && (id = item_parse_id(r->seg[4])) <= 0) {
		out_problem(r, 404, "no such file");
		return;
	}
	int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
	int post = r->nseg == 4 && strcmp(r->method, "POST") == 0;
	int del = r->nseg == 5 && strcmp(r->method, "DELETE") == 0;
	if (!get && !post && !del) {
		out_header(r, "Allow", allow);
		out_problem(r, 405, pool_printf(r->pool, "this resource answers %s", allow));
		return;
	}
	r->db = get ? (r->db ? r->db : breaker_read_db(c, r)) : c->db;
	if (dispatch_authorize(c, r, get ? PORTAL_ROLE_NONE : PORTAL_ROLE_EDITOR) != PORTAL_OK)
		return;
	int rc;
	if (get) {
		rc = r->nseg == 4 ? media_list(r) : media_get(r, id);
	} else {
		/* the cached answers of the municipality's reads (the list of
		 * files, pages showing them) go with the write, as in dispatch_api */
		if (cache_row(c, r) != PORTAL_OK || dispatch_txn(c, 'b') != PORTAL_OK) {
			out_problem(r, 503, "the database does not answer; try again shortly");
			return;
		}
		rc = post ? media_upload(r) : media_delete(r, id);
		db_done_all(c->db);
		int ok = rc == PORTAL_OK && r->responded && r->status >= 200 && r->status < 300;
		if (!ok || cache_bump(c, r) != PORTAL_OK || dispatch_txn(c, 'c') != PORTAL_OK) {
			dispatch_txn(c, 'r');
			if (ok)
				rc = PORTAL_ERROR;
		} else {
			cache_written(c, r);
		}
	}
	if (rc != PORTAL_OK) {
		r->resp_headers = NULL;
		r->errors = NULL;
		metrics_add(c->metrics, METRICS_DB_ERRORS, 1);
		log_msg(PORTAL_LOG_ERR, r->request_id, "%s %s failed (database: %s)", r->method, r->path,
		        db_error(r->db));
		out_problem(r, db_is_down(r->db) ? 503 : 500, "the server failed to answer this request");
	}
}

void
dispatch_api(struct core *c, struct portal_req *r)
{
	const char *detail = NULL;
	int st;

	if (r->nseg == 3 && strcmp(r->seg[2], "municipalities") == 0) {
		if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
			out_header(r, "Allow", "GET, HEAD");
			out_problem(r, 405, "this resource only answers GET and HEAD");
			return;
		}
		dispatch_municipalities(c, r);
		return;
	}
	if (r->nseg == 3 && strcmp(r->seg[2], "openapi.json") == 0 && c->plugins->openapi) {
		r->status = 200;
		r->responded = 1;
		r->content_type = "application/json";
		r->resp_raw = c->plugins->openapi;
		r->resp_raw_len = strlen(c->plugins->openapi);
		return;
	}
	/* open data (opendata.c): the catalogue and the all-lists, anonymous */
	int reading = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
	if ((r->nseg == 3 && strcmp(r->seg[2], "catalog.jsonld") == 0) ||
	    (r->nseg == 4 && strcmp(r->seg[2], "all") == 0)) {
		if (!reading) {
			out_header(r, "Allow", "GET, HEAD");
			out_problem(r, 405, "this resource only answers GET and HEAD");
			return;
		}
		if (r->db == NULL)
			r->db = breaker_read_db(c, r);
		if (dispatch_db(c, r) == PORTAL_DONE)
			return;
		if (r->nseg == 3)
			opendata_catalog(c, r);
		else
			opendata_all(c, r, r->seg[3]);
		return;
	}
	if (r->nseg < 4 || (r->muni = conf_municipality(c->conf, r->seg[2])) == NULL) {
		out_problem(r, 404, "no such resource");
		return;
	}
	if (r->nseg == 4 && strcmp(r->seg[3], "changes") == 0) {
		if (!reading) {
			out_header(r, "Allow", "GET, HEAD");
			out_problem(r, 405, "the changes are read-only");
			return;
		}
		if (r->db == NULL)
			r->db = breaker_read_db(c, r);
		if (dispatch_authorize(c, r, PORTAL_ROLE_NONE) == PORTAL_OK)
			opendata_changes(c, r);
		return;
	}
	if (r->nseg == 4 && strcmp(r->seg[3], "audit") == 0) {
		if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
			out_header(r, "Allow", "GET, HEAD");
			out_problem(r, 405, "the audit log is read-only");
		} else if (dispatch_authorize(c, r, PORTAL_ROLE_ADMIN) == PORTAL_OK) {
			audit_list(c, r);
		}
		return;
	}
	if (strcmp(r->seg[3], "media") == 0 && r->nseg <= 5) {
		dispatch_media(c, r);
		return;
	}
	if (r->nseg == 4 && strcmp(r->seg[3], "search") == 0) {
		/* the search across modules (find.c): every enabled module, as
		 * the caller may see it */
		if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
			out_header(r, "Allow", "GET, HEAD");
			out_problem(r, 405, "the search only answers GET and HEAD");
			return;
		}
		if (r->db == NULL)
			r->db = breaker_read_db(c, r);
		if (dispatch_authorize(c, r, PORTAL_ROLE_NONE) == PORTAL_OK)
			find_api(c, r);
		return;
	}
	if (!dispatch_module_enabled(r->muni, r->seg[3])) {
		out_problem(r, 404, pool_printf(r->pool, "%s has no module \"%.*s\"", r->muni->name,
		                                (int)strcspn(r->seg[3], "."), r->seg[3]));
		return;
	}
	const char *dot = r->nseg == 4 ? strchr(r->seg[3], '.') : NULL;
	if (dot && dot[1] != '\0') {
		char module[65];
		snprintf(module, sizeof(module), "%.*s", (int)(dot - r->seg[3]), r->seg[3]);
		if (pages_export(c, r, module, dot + 1, dispatch_sub) == PORTAL_DONE)
			return;
	}
	st = router_match(c->plugins->router, r->method, r->seg + 3, r->nseg - 3, &r->match);
	if (st == 404) {
		out_problem(r, 404, "no such resource");
		return;
	}
	if (st == 405) {
		out_header(r, "Allow", r->match.allow);
		out_problem(r, 405, pool_printf(r->pool, "this resource answers %s", r->match.allow));
		return;
	}
	r->plugin = r->match.route->plugin;

	/* Writes, and everything in their transaction, go to the primary;
	 * reads to the worker's replica, if any.  A sub-request of a page
	 * comes with its page's choice. */
	int write = strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0;
	if (write)
		r->db = c->db;
	else if (r->db == NULL)
		r->db = breaker_read_db(c, r);
	if (dispatch_authorize(c, r, r->match.route->def.min_role) != PORTAL_OK)
		return;
	if (strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0 ||
	    strcmp(r->method, "PATCH") == 0) {
		if ((st = req_read_json(r, c->conf->max_body, c->conf->json_max_depth, &detail)) != 0) {
			out_problem(r, st, detail);
			return;
		}
	}
	/* A connection that died since the last request (the database was
	 * restarted, or closed an idle connection) is found by the first
	 * statement: the cache row's (once per worker), BEGIN, or the first
	 * query of a read.  Nothing has been done yet in either case, so
	 * reconnect and try once more. */
	if (write && (cache_row(c, r) != PORTAL_OK || dispatch_txn(c, 'b') != PORTAL_OK) &&
	    (c->outer_txn || !db_is_down(c->db) || breaker_reconnect(c) != PORTAL_OK ||
	     cache_row(c, r) != PORTAL_OK ||
	     db_begin(c->db) != PORTAL_OK)) {
		out_problem(r, 503, "the database does not answer; try again shortly");
		return;
	}
	if (write && idem_replay(c, r)) {
		dispatch_txn(c, 'r');
		return;
	}
	int rc = r->match.route->def.handler(r);
	if (!write && rc != PORTAL_OK && db_is_down(r->db)) {
		/* a replica that does not take a new connection either: the
		 * read is done again on the primary, so it gets no 5xx */
		if (r->db != c->db && db_connect(r->db) != PORTAL_OK)
			breaker_replica_failed(c, r);
		if (r->db == c->db ? breaker_reconnect(c) == PORTAL_OK : !db_is_down(r->db)) {
			log_msg(PORTAL_LOG_WARN, r->request_id, "database connection lost; reconnected, retrying");
			r->responded = 0;
			r->status = 0;
			r->resp_headers = NULL;
			r->resp_json = NULL;
			r->errors = NULL;
			rc = r->match.route->def.handler(r);
		}
	}
	int ok = r->responded && r->status >= 200 && r->status < 300;
	if (write) {
		db_done_all(c->db);
		if (ok && rc == PORTAL_OK && idem_store(c, r) != PORTAL_OK) {
			/* the same key committed by a concurrent twin request */
			dispatch_txn(c, 'r');
			r->resp_headers = NULL;
			out_problem(r, 409, "a request with this Idempotency-Key is being or was just "
			                    "processed; retry to get its answer");
			return;
		}
		if (ok && rc == PORTAL_OK && cache_bump(c, r) != PORTAL_OK) {
			log_msg(PORTAL_LOG_ERR, r->request_id, "cache generation: %s", db_error(c->db));
			rc = PORTAL_ERROR;
			dispatch_txn(c, 'r');
		} else if (ok && rc == PORTAL_OK) {
			if (dispatch_txn(c, 'c') != PORTAL_OK) {
				log_msg(PORTAL_LOG_ERR, r->request_id, "commit failed: %s", db_error(c->db));
				dispatch_txn(c, 'r');
				r->responded = 0;
				r->resp_headers = NULL;
				rc = PORTAL_ERROR;
			} else {
				cache_written(c, r);
			}
		} else {
			dispatch_txn(c, 'r');
		}
	}
	if (rc != PORTAL_OK && (!r->responded || ok)) {
		/* a handler failed: say whether it was the database */
		r->resp_headers = NULL;
		r->errors = NULL;
		if (db_over_budget(c->db) || db_over_budget(r->db)) {
			/* core.request_timeout: nothing more was asked of the
			 * database, and a write was rolled back */
			metrics_add(c->metrics, METRICS_OVER_BUDGET, 1);
			log_msg(PORTAL_LOG_WARN, r->request_id, "%s %s: over core.request_timeout (%d s)",
			        r->method, r->path, c->conf->request_timeout);
			out_problem(r, 503, "this request took longer than the server allows; try again "
			                    "shortly");
			return;
		}
		metrics_add(c->metrics, METRICS_DB_ERRORS, 1);
		if (db_is_down(r->db)) {
			if (r->db == c->db)
				breaker_reconnect(c);
			out_problem(r, 503, "the database does not answer; try again shortly");
		} else if (db_timed_out(r->db)) {
			/* the server ended a statement at statement_timeout: it
			 * answers, slowly; no breaker */
			log_msg(PORTAL_LOG_WARN, r->request_id, "%s %s: %s", r->method, r->path,
			        db_error(r->db));
			out_problem(r, 503, "the database took too long to answer; try again shortly");
		} else {
			log_msg(PORTAL_LOG_ERR, r->request_id, "%s %s failed (database: %s)", r->method,
			        r->path, db_error(r->db));
			out_problem(r, 500, "the server failed to answer this request");
		}
	} else if (!r->responded) {
		log_msg(PORTAL_LOG_ERR, r->request_id, "%s %s: handler sent no response", r->method, r->path);
		out_problem(r, 500, "the server failed to answer this request");
	}
}

/*
 * Every 200 to a GET carries a validator and says who may keep it: the
 * handler's ETag, or a hash of the bytes; "public, no-cache" for anonymous
 * callers (keep it, but ask again: the ETag makes that a cheap 304) and
 * "private, no-store" for token callers, unless the handler chose.  Then
 * the answer may go into the response cache, and If-None-Match may turn it
 * into a 304.
 */
static void
dispatch_validate(struct core *c, struct portal_req *r, const char *route)
{
	if (!r->responded || r->status != 200 ||
	    (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0))
		return;
	if (r->resp_json) {
		r->resp_raw = json_object_to_json_string_ext(r->resp_json, JSON_C_TO_STRING_PLAIN |
		                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
		r->resp_raw_len = strlen(r->resp_raw);
		r->resp_json = NULL; /* still kept by the pool */
	}
	const char *etag = NULL, *cc = NULL;
	for (struct req_header *h = r->resp_headers; h; h = h->next) {
		if (strcasecmp(h->name, "ETag") == 0)
			etag = h->value;
		else if (strcasecmp(h->name, "Cache-Control") == 0)
			cc = h->value;
	}
	if (etag == NULL && r->resp_raw) {
		unsigned char h[16];
		char hex[2 * sizeof(h) + 1];
		crypto_generichash(h, sizeof(h), (const unsigned char *)r->resp_raw, r->resp_raw_len, NULL, 0);
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		etag = pool_printf(r->pool, "\"%s\"", hex);
		out_header(r, "ETag", etag);
	}
	if (cc == NULL)
		out_header(r, "Cache-Control",
		           req_header(r, "Authorization") ? "private, no-store" : "public, no-cache");
	cache_store(c, r, route);
	if (out_etag_listed(req_header(r, "If-None-Match"), etag, 1)) {
		r->status = 304;
		r->resp_raw = NULL;
		r->resp_raw_len = 0;
	}
}

/* ---- sub-requests: a page's parts from the JSON API (pages.c) ---- */

struct sub_io {
	const struct req_io *parent;
	const struct pages_call *call;
	const char *uri, *qs, *length;
	size_t done; /* bytes of the body read */
	int fd;      /* call->body_file, open while it is read (-1: not yet or done) */
};

static const char *
sub_param(void *ctx, const char *name)
{
	struct sub_io *s = ctx;
	const struct pages_call *call = s->call;
	if (strcmp(name, "REQUEST_METHOD") == 0)
		return call->method ? call->method : "GET";
	if (strcmp(name, "REQUEST_URI") == 0)
		return s->uri;
	if (strcmp(name, "QUERY_STRING") == 0)
		return s->qs;
	if (strcmp(name, "CONTENT_TYPE") == 0)
		return call->body_file ? call->body_type : call->body ? "application/json" : NULL;
	if (strcmp(name, "CONTENT_LENGTH") == 0)
		return s->length;
	if (strcmp(name, "HTTP_IF_MATCH") == 0)
		return call->if_match;
	if (strcmp(name, "HTTP_IDEMPOTENCY_KEY") == 0)
		return call->idem_key;
	if (strncmp(name, "HTTP_IF_", 8) == 0 || strcmp(name, "HTTP_IDEMPOTENCY_KEY") == 0)
		return NULL; /* the page's own conditions are not the item's */
	return s->parent->param(s->parent->ctx, name);
}

static void
sub_close(void *ctx)
{
	struct sub_io *s = ctx;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -2;
}

static int
sub_read(void *ctx, char *buf, int n)
{
	struct sub_io *s = ctx;
	if (s->call->body_file) {
		if (s->fd == -1 && s->done == 0) {
			s->fd = open(s->call->body_file, O_RDONLY | O_CLOEXEC);
			if (s->fd < 0)
				return -1;
		}
		if (s->fd < 0)
			return 0;
		ssize_t k;
		do
			k = read(s->fd, buf, (size_t)n);
		while (k < 0 && errno == EINTR);
		if (k <= 0) {
			close(s->fd);
			s->fd = -2;
			return k < 0 ? -1 : 0;
		}
		s->done += (size_t)k;
		return (int)k;
	}
	const char *body = s->call->body;
	size_t left = body ? strlen(body + s->done) : 0;
	size_t k = left < (size_t)n ? left : (size_t)n;
	if (k)
		memcpy(buf, body + s->done, k);
	s->done += k;
	return (int)k;
}

static int
sub_write(void *ctx, const char *buf, size_t n)
{
	(void)ctx, (void)buf, (void)n;
	return 0;
}

/* Runs `call` through the JSON API as r's caller (its token, else r->user
 * when the page has one; never the page's conditions); the answer is
 * in the returned request.  Handed to pages as their pages_api_fn. */
static struct portal_req *
dispatch_sub(struct core *c, struct portal_req *r, const struct pages_call *call)
{
	struct sub_io *s = pool_alloc(r->pool, sizeof(*s));
	struct pages_call *copy = pool_alloc(r->pool, sizeof(*copy));
	*copy = *call; /* the strings are the request's already */
	s->parent = r->io;
	s->call = copy;
	s->qs = call->query ? call->query : "";
	s->uri = pool_printf(r->pool, "%s%s%s", call->path, *s->qs ? "?" : "", s->qs);
	s->length = call->body_file ? pool_printf(r->pool, "%lld", call->body_bytes)
	            : call->body    ? pool_printf(r->pool, "%zu", strlen(call->body))
	                            : NULL;
	s->fd = -1;
	if (call->body_file)
		pool_cleanup(r->pool, sub_close, s);
	struct req_io *io = pool_alloc(r->pool, sizeof(*io));
	io->ctx = s;
	io->param = sub_param;
	io->read = sub_read;
	io->write = sub_write;
	int write = call->method && strcmp(call->method, "GET") != 0;
	/* the page reads all its parts from one server: a replica that fails
	 * in one sub-request is not asked by the next */
	if (r->db == NULL && !write)
		r->db = breaker_read_db(c, r);
	struct portal_req *sub = dispatch_new(c, r->pool, io, write ? c->db : r->db);
	sub->user = r->user;
	sub->arg_keyed = r->arg_keyed; /* the page's arguments, forwarded */
	if (!sub->responded)
		dispatch_api(c, sub);
	r->arg_unkeyed |= sub->arg_unkeyed;
	if (!write)
		r->db = sub->db;
	return sub;
}

/* The route's name for the log line and /metrics. */
static const char *
dispatch_route(struct portal_req *r)
{
	if (r->route_name)
		return r->route_name;
	if (r->status == 404 && !r->match.route)
		return "-"; /* unknown paths must not each take a slot */
	if (r->match.route)
		return pool_printf(r->pool, "%s %s", r->match.route->def.method, r->match.route->def.pattern);
	if (r->nseg == 1)
		return r->seg[0];
	if (r->nseg == 3 && strcmp(r->seg[0], "api") == 0)
		return r->seg[2];
	if (r->nseg == 4 && strcmp(r->seg[3], "audit") == 0)
		return "audit";
	if (r->nseg == 4 && strcmp(r->seg[3], "changes") == 0)
		return "changes";
	if (r->nseg == 4 && strcmp(r->seg[0], "api") == 0 && strcmp(r->seg[2], "all") == 0)
		return "all";
	if (r->nseg >= 4 && strcmp(r->seg[0], "api") == 0 && strcmp(r->seg[3], "media") == 0)
		return r->nseg == 4 ? "media" : "media/{id}";
	if (r->nseg == 4 && strcmp(r->seg[3], "search") == 0)
		return "search";
	if (r->nseg >= 4 && strcmp(r->seg[0], "api") == 0)
		return "export";
	return r->muni ? "page" : "-";
}

static unsigned long
dispatch_reconnects(const struct core *c)
{
	return db_reconnects(c->db) + (c->rdb ? db_reconnects(c->rdb) : 0);
}

struct portal_req *
dispatch_new(struct core *c, struct pool *p, const struct req_io *io, struct db *db)
{
	struct portal_req *r = pool_alloc(p, sizeof(*r));
	r->pool = p;
	r->core = c;
	r->io = io;
	r->max_args = (size_t)c->conf->max_query_args;
	r->db = db;
	const char *detail = NULL;
	int st = req_parse(r, &detail);
	if (st != 0)
		out_problem(r, st, detail);
	return r;
}

static void
dispatch_deadline(struct core *c, long long at_ms)
{
	db_set_deadline(c->db, at_ms);
	if (c->rdb)
		db_set_deadline(c->rdb, at_ms);
}

void
dispatch_request(struct core *c, const struct req_io *io)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	unsigned long reconnects = dispatch_reconnects(c);
	/* the request's own budget: no statement starts after it */
	dispatch_deadline(c, c->conf->request_timeout > 0
	                         ? log_now_ms() + c->conf->request_timeout * 1000LL
	                         : 0);
	struct portal_req *r = dispatch_new(c, &c->pool, io, NULL);
	r->top_level = 1;
	c->current = r;
	if (r->responded)
		; /* a request that could not be parsed */
	else if (cache_serve(c, r) == PORTAL_DONE)
		; /* answered from the cache */
	else if (r->nseg == 1 && strcmp(r->seg[0], "healthz") == 0)
		dispatch_healthz(c, r);
	else if (r->nseg == 1 && strcmp(r->path, "/metrics") == 0)
		dispatch_metrics(c, r); /* only at its canonical path, which nginx guards:
		                         * /metrics/ or /%6detrics would slip past its ACL */
	else if (r->nseg >= 3 && strcmp(r->seg[0], "api") == 0 && strcmp(r->seg[1], "v1") == 0)
		dispatch_api(c, r);
	else if (pages_dispatch(c, r, dispatch_sub) != PORTAL_DONE)
		out_problem(r, 404, "no such resource");

	const char *route = dispatch_route(r);
	if (!r->route_name)
		dispatch_validate(c, r, route);
	out_send(r);
	dispatch_deadline(c, 0);
	idem_purge(c, r); /* after a keyed POST: keys older than core.idempotency_ttl */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	int level = r->status >= 500 ? PORTAL_LOG_WARN : PORTAL_LOG_INFO;
	log_msg(level, r->request_id, "method=%s path=\"%s\" status=%d bytes=%zu ms=%.2f muni=%s route=\"%s\"",
	        r->method, r->path ? r->path : "-", r->status, r->bytes_out, ms,
	        r->muni ? r->muni->slug : "-", route);
	metrics_request(c->metrics, route, r->status, ms / 1e3);
	metrics_add(c->metrics, METRICS_DB_RECONNECTS, dispatch_reconnects(c) - reconnects);
	if (r->db != NULL && r->db == c->rdb)
		metrics_add(c->metrics, METRICS_REPLICA_READS, 1);
	db_done_all(c->db);
	if (c->rdb)
		db_done_all(c->rdb);
	c->current = NULL;
	pool_reset(&c->pool);
}
