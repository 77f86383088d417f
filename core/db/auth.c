/*
 * auth.c - API tokens.  A token is 32 random bytes (libsodium), shown once
 * as "pt_" + base64url; the database keeps only its SHA-256.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core.h"

static const char *const auth_roles[] = {"none", "reader", "editor", "admin"};

int
auth_init(void)
{
	return sodium_init() < 0 ? PORTAL_ERROR : PORTAL_OK;
}

int
auth_role_parse(const char *s)
{
	for (int i = PORTAL_ROLE_READER; i <= PORTAL_ROLE_ADMIN; i++)
		if (s && strcmp(s, auth_roles[i]) == 0)
			return i;
	return -1;
}

const char *
auth_role_name(int role)
{
	return role >= 0 && role <= PORTAL_ROLE_ADMIN ? auth_roles[role] : "none";
}

void
auth_hash(const char *token, char hash_hex[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(hash_hex, 65, h, sizeof(h));
}

int
auth_token_new(char *token, size_t toklen, char hash_hex[65])
{
	unsigned char raw[32];
	char b64[64];
	if (toklen < AUTH_TOKEN_LEN + 1)
		return PORTAL_ERROR;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(token, toklen, "pt_%s", b64);
	sodium_memzero(raw, sizeof(raw));
	auth_hash(token, hash_hex);
	return PORTAL_OK;
}

int
auth_lookup(struct db *d, const char *token, struct auth_token *t)
{
	char hex[65];
	memset(t, 0, sizeof(*t));
	/* only well-formed tokens reach the database */
	size_t n = strlen(token);
	if (n != AUTH_TOKEN_LEN || strncmp(token, "pt_", 3) != 0)
		return 0;
	for (size_t i = 3; i < n; i++) {
		char c = token[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	auth_hash(token, hex);
	struct portal_stmt *s = db_prepare(
	    d, "SELECT id, municipality, role, revoked_at IS NOT NULL, "
	       "expires_at IS NOT NULL AND expires_at <= UTC_TIMESTAMP(3) FROM tokens WHERE hash = ?");
	if (s == NULL || db_bind_text(s, 0, hex) != PORTAL_OK || db_execute(s) != PORTAL_OK)
		return PORTAL_ERROR;
	int rc = db_fetch(s);
	if (rc == 1) {
		t->id = db_col_int(s, 0);
		snprintf(t->municipality, sizeof(t->municipality), "%s", db_col_text(s, 1));
		t->role = auth_role_parse(db_col_text(s, 2));
		t->revoked = (int)db_col_int(s, 3);
		t->expired = (int)db_col_int(s, 4);
	}
	db_done(s);
	return rc;
}

char *
auth_b64url(struct pool *p, const unsigned char *bin, size_t n)
{
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = pool_alloc(p, len);
	sodium_bin2base64(out, len, bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

unsigned char *
auth_b64url_decode(struct pool *p, const char *s, size_t *n)
{
	size_t len = strlen(s);
	unsigned char *out = pool_alloc(p, len + 1);
	if (sodium_base642bin(out, len + 1, s, len, NULL, n, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return NULL;
	out[*n] = '\0';
	return out;
}

int
auth_user_role(const struct auth_user *u, const char *slug)
{
	int role = PORTAL_ROLE_NONE;
	for (size_t i = 0; u && i < u->nroles; i++)
		if ((strcmp(u->roles[i].municipality, "*") == 0 ||
		     strcmp(u->roles[i].municipality, slug) == 0) &&
		    u->roles[i].role > role)
			role = u->roles[i].role;
	return role;
}

long long
auth_token_create(struct db *d, const char *municipality, int role, const char *label,
                  const char *until, char *token, size_t toklen)
{
	char hash[65], prefix[12];
	if (auth_token_new(token, toklen, hash) != PORTAL_OK)
		return PORTAL_ERROR;
	snprintf(prefix, sizeof(prefix), "%.10s", token);
	struct portal_stmt *s = db_prepare(
	    d, "INSERT INTO tokens (hash, prefix, municipality, role, label, expires_at) "
	       "VALUES (?, ?, ?, ?, ?, ?)");
	if (s == NULL || db_bind_text(s, 0, hash) || db_bind_text(s, 1, prefix) ||
	    db_bind_text(s, 2, municipality) || db_bind_text(s, 3, auth_role_name(role)) ||
	    db_bind_text(s, 4, label && *label ? label : NULL) || db_bind_text(s, 5, until) ||
	    db_execute(s) != PORTAL_OK)
		return PORTAL_ERROR;
	long long id = db_insert_id(s);
	db_done(s);
	return id;
}

struct json_object *
auth_token_list(struct db *d, const char *municipality)
{
	struct portal_stmt *s = db_prepare(
	    d, "SELECT id, prefix, role, COALESCE(label, ''), "
	       "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i'), DATE_FORMAT(revoked_at, '%Y-%m-%d %H:%i'), "
	       "DATE_FORMAT(expires_at, '%Y-%m-%d %H:%i'), "
	       "expires_at IS NOT NULL AND expires_at <= UTC_TIMESTAMP(3) "
	       "FROM tokens WHERE municipality = ? ORDER BY id DESC");
	if (s == NULL || db_bind_text(s, 0, municipality) || db_execute(s))
		return NULL;
	struct json_object *items = json_object_new_array();
	int rc;
	while ((rc = db_fetch(s)) == 1) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(db_col_int(s, 0)));
		json_object_object_add(o, "prefix", json_object_new_string(db_col_text(s, 1)));
		json_object_object_add(o, "role", json_object_new_string(db_col_text(s, 2)));
		json_object_object_add(o, "label", json_object_new_string(db_col_text(s, 3)));
		json_object_object_add(o, "created_at", json_object_new_string(db_col_text(s, 4)));
		json_object_object_add(o, "revoked_at", db_col_text(s, 5) ? json_object_new_string(db_col_text(s, 5)) : NULL);
		json_object_object_add(o, "expires_at", db_col_text(s, 6) ? json_object_new_string(db_col_text(s, 6)) : NULL);
		json_object_object_add(o, "expired", json_object_new_boolean(db_col_int(s, 7) != 0));
		json_object_object_add(o, "active", json_object_new_boolean(!db_col_text(s, 5) && db_col_int(s, 7) == 0));
		json_object_array_add(items, o);
	}
	db_done(s);
	if (rc < 0) {
		json_object_put(items);
		return NULL;
	}
	return items;
}

int
auth_token_revoke(struct db *d, long long id, const char *municipality)
{
	struct portal_stmt *s =
	    db_prepare(d, "UPDATE tokens SET revoked_at = UTC_TIMESTAMP(3) WHERE id = ? AND "
	                  "municipality = ? AND revoked_at IS NULL");
	if (s == NULL || db_bind_int(s, 0, id) || db_bind_text(s, 1, municipality) || db_execute(s))
		return PORTAL_ERROR;
	int n = db_affected(s) > 0;
	db_done(s);
	return n;
}
