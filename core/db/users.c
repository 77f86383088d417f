/*
 * users.c - accounts for the browser: users and their roles per
 * municipality, sessions, and the counts login throttling needs.  All in
 * MariaDB (schema/006_accounts.sql), so every portal host shares them.
 *
 * Passwords: libsodium's crypto_pwhash_str (Argon2id, its interactive
 * limits), nothing of our own.  Session ids: 32 random bytes the browser
 * holds as base64url; the database keeps only their SHA-256 (hex), so a
 * copy of the database signs nobody in.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core.h"

/* A hash made once per process from a random password: an unknown user's
 * sign-in is verified against it, so it costs what a known user's does. */
static char users_dummy[crypto_pwhash_STRBYTES];

int
users_hash_password(const char *password, char out[USERS_HASH_LEN])
{
	if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return PORTAL_ERROR;
	return PORTAL_OK;
}

const char *
users_password_problem(const char *password)
{
	if (password == NULL || *password == '\0')
		return "the password is empty";
	if (!valid_utf8(password, strlen(password)))
		return "the password is not valid UTF-8";
	if (strlen(password) < USERS_PASSWORD_MIN)
		return "the password is shorter than 10 characters";
	if (strlen(password) > USERS_PASSWORD_MAX)
		return "the password is longer than 1000 bytes";
	return NULL;
}

int
users_email_ok(const char *email)
{
	size_t n = email ? strlen(email) : 0;
	const char *at = email ? strchr(email, '@') : NULL;
	if (n < 3 || n > 254 || at == NULL || at == email || at[1] == '\0' || strchr(at + 1, '@'))
		return 0;
	for (const unsigned char *p = (const unsigned char *)email; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == '"' || *p == ',')
			return 0;
	return valid_utf8(email, n);
}

/* Lower-cases the ASCII letters of an e-mail address into out. */
static void
users_fold(const char *email, char out[255])
{
	size_t i = 0;
	for (; email[i] && i < 254; i++)
		out[i] = (email[i] >= 'A' && email[i] <= 'Z') ? (char)(email[i] + 32) : email[i];
	out[i] = '\0';
}

long long
users_add(struct db *d, const char *email, const char *name, const char *password)
{
	char hash[USERS_HASH_LEN], mail[255];
	if (users_hash_password(password, hash) != PORTAL_OK)
		return PORTAL_ERROR;
	users_fold(email, mail);
	struct portal_stmt *s =
	    db_prepare(d, "INSERT INTO users (email, name, password_hash) VALUES (?, ?, ?)");
	if (s == NULL || db_bind_text(s, 0, mail) || db_bind_text(s, 1, name) ||
	    db_bind_text(s, 2, hash))
		return PORTAL_ERROR;
	int rc = db_execute(s); /* the bound hash is read here: zeroed after */
	sodium_memzero(hash, sizeof(hash));
	if (rc != PORTAL_OK)
		return db_is_duplicate(s) ? 0 : PORTAL_ERROR;
	long long id = db_insert_id(s);
	db_done(s);
	return id;
}

long long
users_find(struct db *d, const char *email)
{
	char mail[255];
	users_fold(email, mail);
	struct portal_stmt *s = db_prepare(d, "SELECT id FROM users WHERE email = ?");
	if (s == NULL || db_bind_text(s, 0, mail) || db_execute(s))
		return PORTAL_ERROR;
	int rc = db_fetch(s);
	long long id = rc == 1 ? db_col_int(s, 0) : rc == 0 ? 0 : PORTAL_ERROR;
	db_done(s);
	return id;
}

/* Runs a statement of one id parameter (and optionally a text first). */
static int
users_exec(struct db *d, const char *sql, const char *text, long long id, long long *affected)
{
	struct portal_stmt *s = db_prepare(d, sql);
	unsigned i = 0;
	if (s == NULL || (text && db_bind_text(s, i++, text)) || db_bind_int(s, i, id) ||
	    db_execute(s) != PORTAL_OK)
		return PORTAL_ERROR;
	if (affected)
		*affected = db_affected(s);
	db_done(s);
	return PORTAL_OK;
}

int
users_passwd(struct db *d, long long id, const char *password)
{
	char hash[USERS_HASH_LEN];
	long long n = 0;
	if (users_hash_password(password, hash) != PORTAL_OK)
		return PORTAL_ERROR;
	int rc = users_exec(d, "UPDATE users SET password_hash = ? WHERE id = ?", hash, id, &n);
	sodium_memzero(hash, sizeof(hash));
	/* a new password ends the sessions made with the old one */
	if (rc == PORTAL_OK)
		rc = users_exec(d, "DELETE FROM sessions WHERE user_id = ?", NULL, id, NULL);
	return rc == PORTAL_OK ? (n > 0) : PORTAL_ERROR;
}

int
users_disable(struct db *d, long long id)
{
	long long n = 0;
	if (users_exec(d, "UPDATE users SET disabled_at = UTC_TIMESTAMP(3) WHERE id = ? AND "
	                  "disabled_at IS NULL", NULL, id, &n) != PORTAL_OK ||
	    users_exec(d, "DELETE FROM sessions WHERE user_id = ?", NULL, id, NULL) != PORTAL_OK)
		return PORTAL_ERROR;
	return n > 0;
}

int
users_set_role(struct db *d, long long id, const char *municipality, int role)
{
	struct portal_stmt *s;
	if (role <= PORTAL_ROLE_NONE) {
		s = db_prepare(d, "DELETE FROM user_roles WHERE user_id = ? AND municipality = ?");
		if (s == NULL || db_bind_int(s, 0, id) || db_bind_text(s, 1, municipality) || db_execute(s))
			return PORTAL_ERROR;
	} else {
		s = db_prepare(d, "INSERT INTO user_roles (user_id, municipality, role) VALUES (?, ?, ?) "
		                  "ON DUPLICATE KEY UPDATE role = VALUES(role)");
		if (s == NULL || db_bind_int(s, 0, id) || db_bind_text(s, 1, municipality) ||
		    db_bind_text(s, 2, auth_role_name(role)) || db_execute(s))
			return PORTAL_ERROR;
	}
	db_done(s);
	return PORTAL_OK;
}

int
users_verify(struct db *d, const char *email, const char *password, long long *id)
{
	char mail[255], hash[USERS_HASH_LEN] = "";
	int found = 0, disabled = 1;
	*id = 0;
	if (users_dummy[0] == '\0') {
		unsigned char rnd[24];
		char pw[2 * sizeof(rnd) + 1];
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
		if (users_hash_password(pw, users_dummy) != PORTAL_OK)
			return PORTAL_ERROR;
	}
	users_fold(email, mail);
	struct portal_stmt *s = db_prepare(
	    d, "SELECT id, password_hash, disabled_at IS NOT NULL FROM users WHERE email = ?");
	if (s == NULL || db_bind_text(s, 0, mail) || db_execute(s))
		return PORTAL_ERROR;
	int rc = db_fetch(s);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 1 && db_col_text(s, 1)) {
		found = 1;
		*id = db_col_int(s, 0);
		snprintf(hash, sizeof(hash), "%s", db_col_text(s, 1));
		disabled = (int)db_col_int(s, 2);
	}
	db_done(s);
	/* the same work whether or not the user exists, or is disabled */
	int good = crypto_pwhash_str_verify(found ? hash : users_dummy, password, strlen(password)) == 0;
	if (!found || disabled || !good) {
		*id = 0;
		return 0;
	}
	return 1;
}

int
users_roles(struct db *d, struct auth_user *u)
{
	struct portal_stmt *s = db_prepare(
	    d, "SELECT municipality, role FROM user_roles WHERE user_id = ? ORDER BY municipality");
	if (s == NULL || db_bind_int(s, 0, u->id) || db_execute(s))
		return PORTAL_ERROR;
	int rc;
	u->nroles = 0;
	while ((rc = db_fetch(s)) == 1) {
		if (u->nroles >= AUTH_USER_ROLES)
			continue;
		snprintf(u->roles[u->nroles].municipality, sizeof(u->roles[0].municipality), "%s",
		         db_col_text(s, 0));
		u->roles[u->nroles].role = auth_role_parse(db_col_text(s, 1));
		u->nroles++;
	}
	db_done(s);
	return rc < 0 ? PORTAL_ERROR : PORTAL_OK;
}

struct json_object *
users_list(struct db *d, const char *municipality)
{
	struct portal_stmt *s = db_prepare(
	    d, "SELECT u.id, u.email, u.name, DATE_FORMAT(u.disabled_at, '%Y-%m-%dT%H:%i:%sZ'), "
	       "DATE_FORMAT(u.created_at, '%Y-%m-%dT%H:%i:%sZ'), r.municipality, r.role "
	       "FROM users u LEFT JOIN user_roles r ON r.user_id = u.id "
	       "WHERE ? IS NULL OR u.id IN (SELECT user_id FROM user_roles WHERE municipality = ?) "
	       "ORDER BY u.email, r.municipality");
	if (s == NULL || db_bind_text(s, 0, municipality) || db_bind_text(s, 1, municipality) ||
	    db_execute(s))
		return NULL;
	struct json_object *items = json_object_new_array(), *cur = NULL;
	long long last = 0;
	int rc;
	while ((rc = db_fetch(s)) == 1) {
		long long id = db_col_int(s, 0);
		if (cur == NULL || id != last) {
			cur = json_object_new_object();
			json_object_object_add(cur, "id", json_object_new_int64(id));
			json_object_object_add(cur, "email", json_object_new_string(db_col_text(s, 1)));
			json_object_object_add(cur, "name", json_object_new_string(db_col_text(s, 2)));
			json_object_object_add(cur, "disabled_at", db_col_text(s, 3) ? json_object_new_string(db_col_text(s, 3)) : NULL);
			json_object_object_add(cur, "created_at", json_object_new_string(db_col_text(s, 4)));
			json_object_object_add(cur, "roles", json_object_new_array());
			json_object_array_add(items, cur);
			last = id;
		}
		if (db_col_text(s, 5)) {
			struct json_object *r = json_object_new_object();
			json_object_object_add(r, "municipality", json_object_new_string(db_col_text(s, 5)));
			json_object_object_add(r, "role", json_object_new_string(db_col_text(s, 6)));
			json_object_array_add(json_object_object_get(cur, "roles"), r);
		}
	}
	db_done(s);
	if (rc < 0) {
		json_object_put(items);
		return NULL;
	}
	return items;
}

/* ---- sessions ---- */

/* The stored form of a session id: SHA-256 (hex) of its 32 bytes; 0, or
 * -1 when `id` is not 43 base64url characters of 32 bytes. */
static int
users_session_hash(const char *id, char hex[65])
{
	unsigned char raw[USERS_SESSION_BYTES], h[crypto_hash_sha256_BYTES];
	size_t n = 0;
	if (id == NULL || strlen(id) != USERS_SESSION_ID_LEN ||
	    sodium_base642bin(raw, sizeof(raw), id, strlen(id), NULL, &n, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != sizeof(raw))
		return -1;
	crypto_hash_sha256(h, raw, sizeof(raw));
	sodium_bin2hex(hex, 65, h, sizeof(h));
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

void
users_random(char out[USERS_SESSION_ID_LEN + 1])
{
	unsigned char raw[USERS_SESSION_BYTES];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, USERS_SESSION_ID_LEN + 1, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

int
users_session_new(struct db *d, long long user_id, int idle_seconds, int max_seconds,
                  char id[USERS_SESSION_ID_LEN + 1], char csrf[USERS_SESSION_ID_LEN + 1])
{
	char hex[65];
	users_random(id);
	users_random(csrf);
	if (users_session_hash(id, hex) != 0)
		return PORTAL_ERROR;
	struct portal_stmt *s = db_prepare(
	    d, "INSERT INTO sessions (id_hash, user_id, csrf, created_at, last_seen, expires_at) "
	       "VALUES (?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), "
	       "UTC_TIMESTAMP(3) + INTERVAL ? SECOND)");
	if (s == NULL || db_bind_text(s, 0, hex) || db_bind_int(s, 1, user_id) ||
	    db_bind_text(s, 2, csrf) || db_bind_int(s, 3, max_seconds) || db_execute(s))
		return PORTAL_ERROR;
	db_done(s);
	/* ended sessions (of anyone: a session nobody presents again is never
	 * looked up) go a few at a time, by the indexes on their ends */
	s = db_prepare(d, "DELETE FROM sessions WHERE expires_at < UTC_TIMESTAMP(3) OR "
	                  "last_seen < UTC_TIMESTAMP(3) - INTERVAL ? SECOND LIMIT 100");
	if (s && db_bind_int(s, 0, idle_seconds) == PORTAL_OK && db_execute(s) == PORTAL_OK)
		db_done(s);
	return PORTAL_OK;
}

int
users_session_get(struct db *d, const char *id, int idle_seconds, struct auth_user *u, int *stale)
{
	char hex[65];
	memset(u, 0, sizeof(*u));
	*stale = 0;
	if (users_session_hash(id, hex) != 0)
		return 0;
	struct portal_stmt *s = db_prepare(
	    d, "SELECT s.user_id, s.csrf, u.email, u.name, "
	       "u.disabled_at IS NULL AND s.expires_at > UTC_TIMESTAMP(3) AND "
	       "s.last_seen > UTC_TIMESTAMP(3) - INTERVAL ? SECOND, "
	       "s.last_seen < UTC_TIMESTAMP(3) - INTERVAL 60 SECOND "
	       "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?");
	if (s == NULL || db_bind_int(s, 0, idle_seconds) || db_bind_text(s, 1, hex) || db_execute(s))
		return PORTAL_ERROR;
	int rc = db_fetch(s), live = 0;
	if (rc == 1) {
		u->id = db_col_int(s, 0);
		snprintf(u->csrf, sizeof(u->csrf), "%s", db_col_text(s, 1));
		snprintf(u->email, sizeof(u->email), "%s", db_col_text(s, 2));
		snprintf(u->name, sizeof(u->name), "%s", db_col_text(s, 3));
		live = (int)db_col_int(s, 4);
		*stale = (int)db_col_int(s, 5);
	}
	db_done(s);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0)
		return 0;
	if (!live) {
		/* ended (idle, too old, or its user disabled): gone for good */
		users_session_end(d, id);
		memset(u, 0, sizeof(*u));
		return 0;
	}
	return users_roles(d, u) == PORTAL_OK ? 1 : PORTAL_ERROR;
}

int
users_session_touch(struct db *d, const char *id)
{
	char hex[65];
	if (users_session_hash(id, hex) != 0)
		return PORTAL_OK;
	struct portal_stmt *s =
	    db_prepare(d, "UPDATE sessions SET last_seen = UTC_TIMESTAMP(3) WHERE id_hash = ?");
	if (s == NULL || db_bind_text(s, 0, hex) || db_execute(s))
		return PORTAL_ERROR;
	db_done(s);
	return PORTAL_OK;
}

int
users_session_end(struct db *d, const char *id)
{
	char hex[65];
	if (users_session_hash(id, hex) != 0)
		return PORTAL_OK;
	struct portal_stmt *s = db_prepare(d, "DELETE FROM sessions WHERE id_hash = ?");
	if (s == NULL || db_bind_text(s, 0, hex) || db_execute(s))
		return PORTAL_ERROR;
	db_done(s);
	return PORTAL_OK;
}

/* ---- login throttling ---- */

int
users_throttle_count(struct db *d, const char *email, const char *address, int window,
                     int *by_email, int *by_address)
{
	char mail[255];
	users_fold(email ? email : "", mail);
	struct portal_stmt *s = db_prepare(
	    d, "SELECT (SELECT COUNT(*) FROM login_failures WHERE email = ? AND "
	       "at > UTC_TIMESTAMP(3) - INTERVAL ? SECOND), "
	       "(SELECT COUNT(*) FROM login_failures WHERE address = ? AND "
	       "at > UTC_TIMESTAMP(3) - INTERVAL ? SECOND)");
	if (s == NULL || db_bind_text(s, 0, mail) || db_bind_int(s, 1, window) ||
	    db_bind_text(s, 2, address ? address : "") || db_bind_int(s, 3, window) || db_execute(s))
		return PORTAL_ERROR;
	int rc = db_fetch(s);
	if (rc == 1) {
		*by_email = (int)db_col_int(s, 0);
		*by_address = (int)db_col_int(s, 1);
	}
	db_done(s);
	return rc == 1 ? PORTAL_OK : PORTAL_ERROR;
}

int
users_throttle_record(struct db *d, const char *email, const char *address, int window)
{
	char mail[255];
	users_fold(email ? email : "", mail);
	struct portal_stmt *s =
	    db_prepare(d, "INSERT INTO login_failures (email, address) VALUES (?, ?)");
	if (s == NULL || db_bind_text(s, 0, mail) || db_bind_text(s, 1, address ? address : "") ||
	    db_execute(s))
		return PORTAL_ERROR;
	db_done(s);
	/* what no window counts any more */
	s = db_prepare(d, "DELETE FROM login_failures WHERE at < UTC_TIMESTAMP(3) - INTERVAL ? SECOND "
	                  "LIMIT 100");
	if (s == NULL || db_bind_int(s, 0, window) || db_execute(s))
		return PORTAL_ERROR;
	db_done(s);
	return PORTAL_OK;
}

int
users_throttle_clear(struct db *d, const char *email)
{
	char mail[255];
	users_fold(email ? email : "", mail);
	struct portal_stmt *s = db_prepare(d, "DELETE FROM login_failures WHERE email = ?");
	if (s == NULL || db_bind_text(s, 0, mail) || db_execute(s))
		return PORTAL_ERROR;
	db_done(s);
	return PORTAL_OK;
}
