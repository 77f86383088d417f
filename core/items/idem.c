/*
 * idem.c - Idempotency-Key for POST (after the IETF httpapi draft).  The
 * first 2xx answer to a (municipality, token, key) is stored in the write's
 * own transaction; a retry with the same key and the same request gets that
 * answer again (with "Idempotent-Replayed: true"), one with another request
 * gets 422, and one that races the first gets 409.  A token's keys are
 * its own; a signed-in user's (the editor's forms: a key per new item's
 * form, so a second click on Save makes no second item) are the user's,
 * as caller IDEM_USER | user id, beyond any token id.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core.h"

#define IDEM_MAX_KEY 200
#define IDEM_USER (1LL << 62)

/* Whose keys a request's are (its token's, its user's): 1 and *id, or 0
 * when it has neither. */
static int
idem_caller(const struct portal_req *r, long long *id)
{
	if (r->has_token)
		*id = r->token.id;
	else if (r->user != NULL && r->user->id > 0)
		*id = IDEM_USER | r->user->id;
	else
		return 0;
	return 1;
}

/* The key, or NULL when none was sent; *bad set for a malformed one. */
const char *
idem_key(struct portal_req *r, int *bad)
{
	const char *k = req_header(r, "Idempotency-Key");
	*bad = 0;
	if (k == NULL)
		return NULL;
	size_t n = strlen(k);
	/* a structured-field string may come quoted */
	if (n >= 2 && k[0] == '"' && k[n - 1] == '"') {
		k = pool_strndup(r->pool, k + 1, n - 2);
		n -= 2;
	}
	if (n == 0 || n > IDEM_MAX_KEY)
		*bad = 1;
	for (size_t i = 0; i < n && !*bad; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			*bad = 1;
	return k;
}

static void
idem_hash(struct portal_req *r, char hex[65])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];
	const char *body = r->body ? json_object_to_json_string_ext(r->body, JSON_C_TO_STRING_PLAIN) : "";
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)r->method, strlen(r->method) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)r->path, strlen(r->path) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)body, strlen(body));
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

/* One key's row, by its primary key (a record lock only, no gap). */
static int
idem_delete(struct core *c, const char *muni, long long token_id, const char *key)
{
	struct portal_stmt *s = db_prepare(c->db, "DELETE FROM idempotency_keys WHERE municipality = ? "
	                                          "AND token_id = ? AND idem_key = ?");
	if (s == NULL || db_bind_text(s, 0, muni) || db_bind_int(s, 1, token_id) ||
	    db_bind_text(s, 2, key) || db_execute(s))
		return PORTAL_ERROR;
	db_done(s);
	return PORTAL_OK;
}

int
idem_replay(struct core *c, struct portal_req *r)
{
	int bad;
	const char *key = idem_key(r, &bad);
	if (key == NULL || strcmp(r->method, "POST") != 0)
		return 0;
	if (bad) {
		out_field_error(r, "Idempotency-Key", "must be 1 to 200 visible ASCII characters");
		out_problem(r, 400, "invalid Idempotency-Key header");
		return 1;
	}
	long long caller;
	if (!idem_caller(r, &caller))
		return 0; /* writes need a token or a user: the role check answers */
	char hash[65];
	idem_hash(r, hash);
	struct portal_stmt *s = db_prepare(
	    c->db, "SELECT request_hash, status, location, etag, body, "
	           "created_at < NOW(3) - INTERVAL ? SECOND FROM idempotency_keys "
	           "WHERE municipality = ? AND token_id = ? AND idem_key = ?");
	if (s == NULL || db_bind_int(s, 0, c->conf->idempotency_ttl) ||
	    db_bind_text(s, 1, r->muni->slug) || db_bind_int(s, 2, caller) ||
	    db_bind_text(s, 3, key) || db_execute(s)) {
		out_problem(r, 503, "the database does not answer; try again shortly");
		return 1;
	}
	int rc = db_fetch(s);
	if (rc != 1) {
		db_done(s);
		return rc < 0 ? (out_problem(r, 503, "the database does not answer"), 1) : 0;
	}
	if (db_col_int(s, 5)) {
		/* older than core.idempotency_ttl: forgotten, the key is new again */
		db_done(s);
		if (idem_delete(c, r->muni->slug, caller, key) != PORTAL_OK) {
			out_problem(r, 503, "the database does not answer; try again shortly");
			return 1;
		}
		return 0;
	}
	if (strcmp(db_col_text(s, 0), hash) != 0) {
		db_done(s);
		out_problem(r, 422, "this Idempotency-Key was used for another request; use a new key");
		return 1;
	}
	int status = (int)db_col_int(s, 1);
	const char *loc = db_col_text(s, 2), *etag = db_col_text(s, 3), *body = db_col_text(s, 4);
	struct json_object *o = body ? json_tokener_parse(body) : NULL;
	if (loc)
		out_header(r, "Location", loc);
	if (etag)
		out_header(r, "ETag", etag);
	out_header(r, "Idempotent-Replayed", "true");
	db_done(s);
	out_json(r, status, o);
	return 1;
}

int
idem_store(struct core *c, struct portal_req *r)
{
	int bad;
	const char *key = idem_key(r, &bad);
	long long caller;
	if (key == NULL || bad || strcmp(r->method, "POST") != 0 || !idem_caller(r, &caller))
		return PORTAL_OK;
	char hash[65];
	idem_hash(r, hash);
	const char *loc = NULL, *etag = NULL;
	for (struct req_header *h = r->resp_headers; h; h = h->next) {
		if (strcasecmp(h->name, "Location") == 0)
			loc = h->value;
		else if (strcasecmp(h->name, "ETag") == 0)
			etag = h->value;
	}
	struct portal_stmt *s = db_prepare(
	    c->db, "INSERT INTO idempotency_keys (municipality, token_id, idem_key, request_hash, "
	           "status, location, etag, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_bind_int(s, 1, caller) ||
	    db_bind_text(s, 2, key) || db_bind_text(s, 3, hash) || db_bind_int(s, 4, r->status) ||
	    db_bind_text(s, 5, loc) || db_bind_text(s, 6, etag) ||
	    db_bind_text(s, 7, r->resp_json ? json_object_to_json_string_ext(r->resp_json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : NULL) ||
	    db_execute(s))
		return PORTAL_ERROR;
	db_done(s);
	return PORTAL_OK;
}

void
idem_purge(struct core *c, struct portal_req *r)
{
	int bad;
	const char *key = idem_key(r, &bad);
	long long caller;
	if (key == NULL || bad || strcmp(r->method, "POST") != 0 || !idem_caller(r, &caller) ||
	    r->status < 200 ||
	    r->status > 299 || c->outer_txn)
		return;
	/* the expired keys first (a plain read takes no locks), then each by
	 * its primary key: a range DELETE would lock gaps that concurrent
	 * POSTs insert into */
	struct portal_stmt *s = db_prepare(
	    c->db, "SELECT municipality, token_id, idem_key FROM idempotency_keys "
	           "WHERE created_at < NOW(3) - INTERVAL ? SECOND ORDER BY created_at LIMIT 100");
	if (s == NULL || db_bind_int(s, 0, c->conf->idempotency_ttl) || db_execute(s))
		return;
	struct old_key {
		char *muni, *key;
		long long token_id;
	} old[100];
	size_t n = 0;
	while (n < 100 && db_fetch(s) == 1) {
		old[n].muni = pool_strdup(r->pool, db_col_text(s, 0));
		old[n].token_id = db_col_int(s, 1);
		old[n].key = pool_strdup(r->pool, db_col_text(s, 2));
		n++;
	}
	db_done(s);
	size_t gone = 0;
	for (size_t i = 0; i < n; i++)
		gone += idem_delete(c, old[i].muni, old[i].token_id, old[i].key) == PORTAL_OK;
	if (n)
		log_msg(PORTAL_LOG_INFO, r->request_id, "idempotency keys older than %d s purged: %zu",
		        c->conf->idempotency_ttl, gone);
}
