/*
 * account.c - sign-in, sessions, CSRF, and an admin's users and tokens in
 * the browser.
 *
 *   GET  /login    the form (email, password, a hidden csrf)
 *   POST /login    a good one: a new session, cookie portal_session, 303 to
 *                  `next` (a local path) or /edit/; a bad one: the form
 *                  again, the same message whatever was wrong
 *   POST /logout   ends the session on the server, 303 to /login
 *   /edit/{m}/users, /edit/{m}/tokens   the pages of {m}'s admins
 *
 * A session is 32 random bytes in an HttpOnly, SameSite=Lax cookie (Secure
 * behind https); the database keeps their SHA-256 (users.c).  It ends
 * after core.session_idle seconds unused and core.session_max seconds
 * after sign-in.  Before there is a session the login form's csrf is a
 * double-submit token: a random value in a short-lived cookie
 * (portal_login, Path=/login) that the hidden field must repeat.  After
 * it, every form carries the session's own token, and a POST must also
 * come from this site (Origin, Sec-Fetch-Site).
 *
 * Sign-in is throttled: after ACCOUNT_FAILS_EMAIL failures for one account
 * or ACCOUNT_FAILS_ADDRESS from one client address (REMOTE_ADDR) within
 * ACCOUNT_WINDOW seconds, 429 without looking at the password.
 *
 * Sessions are looked up on the primary (c->db): a revoked session or a
 * disabled user must not live on in a replica's lag.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "page.h"

#define ACCOUNT_SESSION_COOKIE "portal_session"
#define ACCOUNT_LOGIN_COOKIE "portal_login"
#define ACCOUNT_LOGIN_AGE 3600      /* seconds the login form's token lives */
#define ACCOUNT_WINDOW 900          /* seconds failures are counted over */
#define ACCOUNT_FAILS_EMAIL 5       /* failures for one account in the window */
#define ACCOUNT_FAILS_ADDRESS 20    /* failures from one address in the window */
#define ACCOUNT_COOKIE_MAX 8192     /* bytes of a Cookie header looked at */

/* ---- cookies ---- */

static int
account_cookie_octet(unsigned char ch)
{
	/* RFC 6265 cookie-octet */
	return ch == 0x21 || (ch >= 0x23 && ch <= 0x2b) || (ch >= 0x2d && ch <= 0x3a) ||
	       (ch >= 0x3c && ch <= 0x5b) || (ch >= 0x5d && ch <= 0x7e);
}

int
account_cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	if (outlen == 0)
		return 0;
	out[0] = '\0';
	if (header == NULL || strnlen(header, ACCOUNT_COOKIE_MAX + 1) > ACCOUNT_COOKIE_MAX)
		return 0;
	const char *p = header;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *start = p;
		size_t len = strcspn(p, ";");
		p += len;
		const char *eq = memchr(start, '=', len);
		if (eq == NULL)
			continue;
		size_t klen = (size_t)(eq - start);
		while (klen > 0 && (start[klen - 1] == ' ' || start[klen - 1] == '\t'))
			klen--;
		if (klen != nlen || memcmp(start, name, nlen) != 0)
			continue;
		/* the first cookie of the name decides (the most specific path) */
		const char *v = eq + 1, *vend = start + len;
		while (v < vend && (*v == ' ' || *v == '\t'))
			v++;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		if (vend - v >= 2 && *v == '"' && vend[-1] == '"') {
			v++;
			vend--;
		}
		size_t vlen = (size_t)(vend - v);
		if (vlen == 0 || vlen >= outlen)
			return 0;
		for (size_t i = 0; i < vlen; i++)
			if (!account_cookie_octet((unsigned char)v[i]))
				return 0;
		memcpy(out, v, vlen);
		out[vlen] = '\0';
		return 1;
	}
	return 0;
}

int
account_secure(struct portal_req *r)
{
	const char *scheme = r->io->param(r->io->ctx, "REQUEST_SCHEME");
	const char *https = r->io->param(r->io->ctx, "HTTPS");
	return (scheme && strcasecmp(scheme, "https") == 0) || (https && strcasecmp(https, "on") == 0);
}

const char *
account_cookie_line(struct portal_req *r, const char *name, const char *value, const char *path,
                    const char *samesite, long max_age)
{
	return pool_printf(r->pool, "%s=%s; Path=%s; Max-Age=%ld; HttpOnly; SameSite=%s%s", name,
	                   value, path, max_age, samesite, account_secure(r) ? "; Secure" : "");
}

/* A well-formed token of ours: 43 base64url characters. */
static int
account_token_ok(const char *s)
{
	if (s == NULL || strlen(s) != USERS_SESSION_ID_LEN)
		return 0;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return 0;
	return 1;
}

static int
account_cookie(struct portal_req *r, const char *name, char out[USERS_SESSION_ID_LEN + 1])
{
	char v[USERS_SESSION_ID_LEN + 2];
	if (!account_cookie_get(req_header(r, "Cookie"), name, v, sizeof(v)) || !account_token_ok(v))
		return 0;
	memcpy(out, v, USERS_SESSION_ID_LEN + 1);
	return 1;
}

/* Two tokens are equal, in time independent of where they differ. */
static int
account_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return 0;
	size_t n = strlen(a);
	return n > 0 && n == strlen(b) && sodium_memcmp(a, b, n) == 0;
}

/* ---- pages ---- */

static const char *
account_word(struct page *pg, const char *key)
{
	struct json_object *v;
	if (json_object_object_get_ex(json_object_object_get(catalogue, pg->lang), key, &v))
		return json_object_get_string(v);
	return key;
}

/* lang and root for a page of ours; never cached (page_send). */
static void
account_page(struct page *pg)
{
	pg->personal = 1;
	if (pg->lang == NULL)
		pg->lang = page_lang(pg->r);
	if (pg->root == NULL)
		page_root(pg, NULL);
}

static void
account_render(struct page *pg, int status, const char *name, struct json_object *d,
               const char *title)
{
	struct buf b;
	account_page(pg);
	buf_init(&b, pg->r->pool);
	/* GOV.UK: a page with errors says so first in its title */
	if (json_object_object_get_ex(d, "errors", NULL))
		title = pool_printf(pg->r->pool, "%s: %s", account_word(pg, "acct_error_prefix"), title);
	if (page_render(pg, pages_find("", name), d, &b) != PORTAL_OK) {
		page_error(pg, 500, NULL);
		return;
	}
	page_send(pg, status, title, b.data ? b.data : "", NULL);
}

static int
account_fail(struct page *pg, int status, const char *key)
{
	account_page(pg);
	page_error(pg, status, key ? account_word(pg, key) : NULL);
	return PORTAL_DONE;
}

/* The primary, connected, or NULL while it does not answer (the breaker
 * open: no statement is sent to it then). */
static struct db *
account_db(struct page *pg)
{
	struct core *c = pg->c;
	if (c->metrics && c->metrics->breaker.open)
		return NULL;
	if (db_ensure(c->db) != PORTAL_OK) {
		log_msg(PORTAL_LOG_WARN, pg->r->request_id, "sign-in: %s", db_error(c->db));
		return NULL;
	}
	return c->db;
}

static int
account_unavailable(struct page *pg)
{
	log_msg(PORTAL_LOG_WARN, pg->r->request_id, "sign-in: database: %s", db_error(pg->c->db));
	return account_fail(pg, 503, NULL);
}

/* `next` when it is a path of this site ("/x", not "//x" nor "/\x", no
 * control characters or spaces), else /edit/. */
static const char *
account_next(const char *next)
{
	if (next == NULL || next[0] != '/' || next[1] == '/' || next[1] == '\\' || strlen(next) > 2000)
		return "/edit/";
	for (const unsigned char *p = (const unsigned char *)next; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '\\')
			return "/edit/";
	return next;
}

static const char *
account_encode(struct pool *p, const char *s)
{
	struct buf b;
	buf_init(&b, p);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (isalnum(*c) || strchr("-._~/", *c))
			buf_add(&b, c, 1);
		else
			buf_printf(&b, "%%%02X", *c);
	}
	return b.data ? b.data : "";
}

/* The origins a form of this site is posted from: the municipality's
 * public_url, core.public_url, else the Host the request came to. */
static int
account_origin_ok(struct page *pg, const char *origin)
{
	struct portal_req *r = pg->r;
	const char *urls[2] = {r->muni ? r->muni->public_url : NULL, pg->c->conf->public_url};
	int configured = 0;
	for (int i = 0; i < 2; i++) {
		const char *u = urls[i];
		const char *h = u ? strstr(u, "://") : NULL;
		if (h == NULL)
			continue;
		configured = 1;
		size_t n = (size_t)(h + 3 - u) + strcspn(h + 3, "/");
		if (strlen(origin) == n && strncasecmp(origin, u, n) == 0)
			return 1;
	}
	if (configured)
		return 0;
	const char *host = req_header(r, "Host");
	if (host == NULL || *host == '\0')
		return 0;
	const char *want = pool_printf(r->pool, "%s://%s", account_secure(r) ? "https" : "http", host);
	return strcasecmp(origin, want) == 0;
}

/* The request says it comes from a page of this site: Origin, when sent,
 * is this site's; Sec-Fetch-Site, when sent, is same-origin or none. */
static int
account_fetch_ok(struct page *pg)
{
	const char *origin = req_header(pg->r, "Origin");
	const char *site = req_header(pg->r, "Sec-Fetch-Site");
	if (origin && !account_origin_ok(pg, origin))
		return 0;
	if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
		return 0;
	return 1;
}

/* Reads a POST's form: PORTAL_OK, or PORTAL_DONE after answering. */
static int
account_form(struct page *pg, struct form *f)
{
	const char *detail = NULL;
	int st = req_read_form(pg->r, f, &detail);
	if (st == 0)
		return PORTAL_OK;
	account_page(pg);
	page_error(pg, st, detail);
	return PORTAL_DONE;
}

/* An error for the GOV.UK pattern: in `errors` (the summary, linking to
 * #field) and as FIELD_error (beside the field). */
static void
account_invalid(struct page *pg, struct json_object *d, const char *field, const char *key)
{
	struct json_object *errors;
	if (!json_object_object_get_ex(d, "errors", &errors)) {
		errors = json_object_new_array();
		json_object_object_add(d, "errors", errors);
	}
	struct json_object *e = json_object_new_object();
	json_object_object_add(e, "field", json_object_new_string(field));
	json_object_object_add(e, "message", json_object_new_string(account_word(pg, key)));
	json_object_array_add(errors, e);
	json_object_object_add(d, pool_printf(pg->r->pool, "%s_error", field),
	                       json_object_new_string(account_word(pg, key)));
}

static int
account_has_errors(struct json_object *d)
{
	return json_object_object_get_ex(d, "errors", NULL);
}

static void
account_str(struct json_object *d, const char *key, const char *v)
{
	json_object_object_add(d, key, v ? json_object_new_string(v) : NULL);
}

/* ---- /login, /logout ---- */

/* The sign-in throttle for `email` from the request's address (copied to
 * address[65]): 0 go on, 1 too many failures (logged, Retry-After set; the
 * caller answers 429 with its form), -1 the database failed. */
static int
account_throttled(struct page *pg, struct db *d, const char *email, char address[65])
{
	struct portal_req *r = pg->r;
	const char *addr = r->io->param(r->io->ctx, "REMOTE_ADDR");
	snprintf(address, 65, "%s", addr ? addr : "");
	int by_email = 0, by_address = 0;
	if (users_throttle_count(d, email, address, ACCOUNT_WINDOW, &by_email, &by_address) != PORTAL_OK)
		return -1;
	if (by_email < ACCOUNT_FAILS_EMAIL && by_address < ACCOUNT_FAILS_ADDRESS)
		return 0;
	log_msg(PORTAL_LOG_WARN, r->request_id, "sign-in throttled (%d for the account, %d from %s)",
	        by_email, by_address, address);
	out_header(r, "Retry-After", pool_printf(r->pool, "%d", ACCOUNT_WINDOW));
	return 1;
}

static void
account_login_form(struct page *pg, int status, const char *email, const char *next,
                   const char *error_field, const char *error_key)
{
	struct portal_req *r = pg->r;
	char token[USERS_SESSION_ID_LEN + 1];
	/* the same token while its cookie lives: two tabs both work */
	if (!account_cookie(r, ACCOUNT_LOGIN_COOKIE, token))
		users_random(token);
	out_header(r, "Set-Cookie", account_cookie_line(r, ACCOUNT_LOGIN_COOKIE, token, "/login",
	                                                "Strict", ACCOUNT_LOGIN_AGE));
	account_page(pg);
	struct json_object *d = pool_keep_json(r->pool, json_object_new_object());
	account_str(d, "csrf", token);
	account_str(d, "email", email ? email : "");
	account_str(d, "next", strcmp(account_next(next), "/edit/") ? account_next(next) : NULL);
	if (error_field)
		account_invalid(pg, d, error_field, error_key);
	if (status == 429)
		account_str(d, "throttled", account_word(pg, "acct_throttled"));
	account_render(pg, status, "login.html", d, account_word(pg, "acct_signin"));
}

static int
account_login(struct page *pg)
{
	struct portal_req *r = pg->r;
	struct core *c = pg->c;
	struct form f;
	if (account_form(pg, &f) != PORTAL_OK)
		return PORTAL_DONE;
	const char *email = form_get(&f, "email"), *password = form_get(&f, "password");
	const char *next = form_get(&f, "next");
	char token[USERS_SESSION_ID_LEN + 1];
	if (!account_cookie(r, ACCOUNT_LOGIN_COOKIE, token) || !account_same(token, form_get(&f, "csrf")) ||
	    !account_fetch_ok(pg))
		return account_fail(pg, 403, "acct_csrf_failed");
	email = email ? email : "";
	password = password ? password : "";
	if (*email == '\0') {
		account_login_form(pg, 422, email, next, "email", "acct_enter_email");
		return PORTAL_DONE;
	}
	if (*password == '\0') {
		account_login_form(pg, 422, email, next, "password", "acct_enter_password");
		return PORTAL_DONE;
	}
	struct db *d = account_db(pg);
	if (d == NULL)
		return account_unavailable(pg);
	char address[65];
	int th = account_throttled(pg, d, email, address);
	if (th < 0)
		return account_unavailable(pg);
	if (th > 0) {
		account_login_form(pg, 429, email, next, NULL, NULL);
		return PORTAL_DONE;
	}
	long long id = 0;
	int rc = strlen(email) > 254 || strlen(password) > USERS_PASSWORD_MAX
	             ? 0
	             : users_verify(d, email, password, &id);
	if (rc < 0)
		return account_unavailable(pg);
	if (rc == 0) {
		if (users_throttle_record(d, email, address, ACCOUNT_WINDOW) != PORTAL_OK)
			return account_unavailable(pg);
		log_msg(PORTAL_LOG_INFO, r->request_id, "sign-in failed from %s", address);
		account_login_form(pg, 401, email, next, "email", "acct_bad_login");
		return PORTAL_DONE;
	}
	/* never a session id the client chose or held: a new one, and the
	 * one it presented (if any) ends */
	char old[USERS_SESSION_ID_LEN + 1], sid[USERS_SESSION_ID_LEN + 1],
	    csrf[USERS_SESSION_ID_LEN + 1];
	if (account_cookie(r, ACCOUNT_SESSION_COOKIE, old))
		users_session_end(d, old);
	users_throttle_clear(d, email);
	if (users_session_new(d, id, c->conf->session_idle, c->conf->session_max, sid, csrf) != PORTAL_OK)
		return account_unavailable(pg);
	log_msg(PORTAL_LOG_INFO, r->request_id, "signed in: user %lld", id);
	out_header(r, "Set-Cookie", account_cookie_line(r, ACCOUNT_SESSION_COOKIE, sid, "/", "Lax",
	                                                c->conf->session_max));
	sodium_memzero(sid, sizeof(sid));
	page_redirect(r, account_next(next));
	return PORTAL_DONE;
}

static int
account_logout(struct page *pg)
{
	struct portal_req *r = pg->r;
	struct form f;
	char sid[USERS_SESSION_ID_LEN + 1];
	if (account_form(pg, &f) != PORTAL_OK)
		return PORTAL_DONE;
	if (account_cookie(r, ACCOUNT_SESSION_COOKIE, sid)) {
		struct db *d = account_db(pg);
		if (d == NULL)
			return account_unavailable(pg);
		struct auth_user *u = pool_alloc(r->pool, sizeof(*u));
		int stale, rc = users_session_get(d, sid, pg->c->conf->session_idle, u, &stale);
		if (rc < 0)
			return account_unavailable(pg);
		if (rc == 1) {
			r->user = u;
			if (account_csrf(pg, &f) != PORTAL_OK)
				return PORTAL_DONE;
			if (users_session_end(d, sid) != PORTAL_OK)
				return account_unavailable(pg);
			log_msg(PORTAL_LOG_INFO, r->request_id, "signed out: user %lld", u->id);
		}
	}
	out_header(r, "Set-Cookie", account_cookie_line(r, ACCOUNT_SESSION_COOKIE, "", "/", "Lax", 0));
	page_redirect(r, "/login");
	return PORTAL_DONE;
}

/* ---- /account: a signed-in user changes their own password ---- */

static void
account_password_form(struct page *pg, int status, struct json_object *d)
{
	account_page(pg);
	account_root(pg);
	account_str(d, "csrf", pg->r->user->csrf);
	account_str(d, "email", pg->r->user->email);
	account_render(pg, status, "account.html", d, account_word(pg, "acct_change_password"));
}

/*
 * The current password, a new one twice.  A wrong current password counts
 * as a failed sign-in of the account (the same throttle).  The new one
 * ends every session of the user (users_passwd); this browser gets a new
 * one, with a new id, and the page says so.
 */
static int
account_password(struct page *pg)
{
	struct portal_req *r = pg->r;
	struct core *c = pg->c;
	if (account_require(pg) != PORTAL_OK)
		return PORTAL_DONE;
	account_page(pg); /* the language of its messages */
	struct json_object *d = pool_keep_json(r->pool, json_object_new_object());
	if (strcmp(r->method, "POST") != 0) {
		if (req_query(r, "changed") != NULL)
			account_str(d, "changed", account_word(pg, "acct_password_changed"));
		account_password_form(pg, 200, d);
		return PORTAL_DONE;
	}
	struct form f;
	if (account_form(pg, &f) != PORTAL_OK || account_csrf(pg, &f) != PORTAL_OK)
		return PORTAL_DONE;
	const char *current = form_get(&f, "current"), *fresh = form_get(&f, "new"),
	           *again = form_get(&f, "again");
	current = current ? current : "";
	fresh = fresh ? fresh : "";
	again = again ? again : "";
	if (*current == '\0')
		account_invalid(pg, d, "current", "acct_enter_current");
	if (*fresh == '\0')
		account_invalid(pg, d, "new", "acct_enter_new");
	else if (strlen(fresh) < USERS_PASSWORD_MIN)
		account_invalid(pg, d, "new", "acct_new_short");
	else if (users_password_problem(fresh) != NULL)
		account_invalid(pg, d, "new", "acct_new_invalid");
	else if (strcmp(fresh, again) != 0)
		account_invalid(pg, d, "again", "acct_again_differs");
	if (account_has_errors(d)) {
		account_password_form(pg, 422, d);
		return PORTAL_DONE;
	}
	struct db *db = account_db(pg);
	if (db == NULL)
		return account_unavailable(pg);
	const struct auth_user *u = r->user;
	char address[65];
	int th = account_throttled(pg, db, u->email, address);
	if (th < 0)
		return account_unavailable(pg);
	if (th > 0) {
		account_str(d, "throttled", account_word(pg, "acct_throttled"));
		account_password_form(pg, 429, d);
		return PORTAL_DONE;
	}
	long long id = 0;
	int rc = strlen(current) > USERS_PASSWORD_MAX ? 0 : users_verify(db, u->email, current, &id);
	if (rc < 0)
		return account_unavailable(pg);
	if (rc == 0 || id != u->id) {
		if (users_throttle_record(db, u->email, address, ACCOUNT_WINDOW) != PORTAL_OK)
			return account_unavailable(pg);
		log_msg(PORTAL_LOG_INFO, r->request_id, "password change refused: user %lld, from %s", u->id,
		        address);
		account_invalid(pg, d, "current", "acct_current_wrong");
		account_password_form(pg, 422, d);
		return PORTAL_DONE;
	}
	char sid[USERS_SESSION_ID_LEN + 1], csrf[USERS_SESSION_ID_LEN + 1];
	if (users_passwd(db, id, fresh) != 1 ||
	    users_session_new(db, id, c->conf->session_idle, c->conf->session_max, sid, csrf) != PORTAL_OK)
		return account_unavailable(pg);
	log_msg(PORTAL_LOG_INFO, r->request_id, "password changed: user %lld (its sessions ended)", id);
	out_header(r, "Set-Cookie", account_cookie_line(r, ACCOUNT_SESSION_COOKIE, sid, "/", "Lax",
	                                                c->conf->session_max));
	sodium_memzero(sid, sizeof(sid));
	page_redirect(r, "/account?changed=1");
	return PORTAL_DONE;
}

int
account_dispatch(struct page *pg)
{
	struct portal_req *r = pg->r;
	if (r->nseg != 1)
		return PORTAL_DECLINED;
	if (strcmp(r->seg[0], "account") == 0) {
		int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
		if (get || strcmp(r->method, "POST") == 0)
			return account_password(pg);
		out_header(r, "Allow", "GET, HEAD, POST");
		account_fail(pg, 405, NULL);
		return PORTAL_DONE;
	}
	int login = strcmp(r->seg[0], "login") == 0, logout = strcmp(r->seg[0], "logout") == 0;
	if (!login && !logout)
		return PORTAL_DECLINED;
	pg->personal = 1;
	int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
	if (login && get) {
		account_login_form(pg, 200, "", req_query(r, "next"), NULL, NULL);
		return PORTAL_DONE;
	}
	if (strcmp(r->method, "POST") == 0)
		return login ? account_login(pg) : account_logout(pg);
	out_header(r, "Allow", login ? "GET, HEAD, POST" : "POST");
	account_fail(pg, 405, NULL);
	return PORTAL_DONE;
}

/* ---- the session of every /edit/ page ---- */

static int
account_to_login(struct page *pg, int forget)
{
	struct portal_req *r = pg->r;
	const char *here = r->uri && r->uri[0] == '/' ? r->uri : "/edit/";
	if (forget)
		out_header(r, "Set-Cookie", account_cookie_line(r, ACCOUNT_SESSION_COOKIE, "", "/", "Lax", 0));
	page_redirect(r, pool_printf(r->pool, "/login?next=%s",
	                             account_encode(r->pool, account_next(here))));
	return PORTAL_DONE;
}

int
account_require(struct page *pg)
{
	struct portal_req *r = pg->r;
	char sid[USERS_SESSION_ID_LEN + 1];
	pg->personal = 1;
	if (!account_cookie(r, ACCOUNT_SESSION_COOKIE, sid))
		return account_to_login(pg, req_header(r, "Cookie") &&
		                                strstr(req_header(r, "Cookie"), ACCOUNT_SESSION_COOKIE));
	struct db *d = account_db(pg);
	if (d == NULL)
		return account_unavailable(pg);
	struct auth_user *u = pool_alloc(r->pool, sizeof(*u));
	int stale = 0, rc = users_session_get(d, sid, pg->c->conf->session_idle, u, &stale);
	if (rc < 0)
		return account_unavailable(pg);
	if (rc == 0)
		return account_to_login(pg, 1);
	/* last_seen moves at most once a minute: a write per page would
	 * cost more than the idle limit's precision is worth */
	if (stale && users_session_touch(d, sid) != PORTAL_OK)
		log_msg(PORTAL_LOG_WARN, r->request_id, "session touch: %s", db_error(d));
	r->user = u;
	return PORTAL_OK;
}

int
account_csrf(struct page *pg, const struct form *f)
{
	const struct auth_user *u = pg->r->user;
	if (u == NULL || !account_same(u->csrf, form_get(f, "csrf")) || !account_fetch_ok(pg)) {
		log_msg(PORTAL_LOG_WARN, pg->r->request_id, "form refused: no valid csrf, or not this site's");
		return account_fail(pg, 403, "acct_csrf_failed");
	}
	return PORTAL_OK;
}

int
account_role(struct page *pg)
{
	struct portal_req *r = pg->r;
	return r->user && r->muni ? auth_user_role(r->user, r->muni->slug) : PORTAL_ROLE_NONE;
}

int
account_need(struct page *pg, int role)
{
	if (account_role(pg) >= role)
		return PORTAL_OK;
	return account_fail(pg, 403, "acct_forbidden");
}

void
account_root(struct page *pg)
{
	const struct auth_user *u = pg->r->user;
	if (u == NULL || pg->root == NULL)
		return;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(u->name));
	json_object_object_add(o, "email", json_object_new_string(u->email));
	json_object_object_add(o, "csrf", json_object_new_string(u->csrf));
	json_object_object_add(pg->root, "user", o);
}

/* ---- an admin's pages: /edit/{m}/users, /edit/{m}/tokens ---- */

/* The role of user `id` in r->muni's own row (not '*'), -1 when the user
 * has none there, -2 on a database failure; *elsewhere: the user has roles
 * in other municipalities or '*'. */
static int
account_user_role_here(struct db *d, struct portal_req *r, long long id, int *elsewhere)
{
	struct auth_user u;
	memset(&u, 0, sizeof(u));
	u.id = id;
	*elsewhere = 0;
	if (users_roles(d, &u) != PORTAL_OK)
		return -2;
	int role = -1;
	for (size_t i = 0; i < u.nroles; i++) {
		if (strcmp(u.roles[i].municipality, r->muni->slug) == 0)
			role = u.roles[i].role;
		else
			*elsewhere = 1;
	}
	return role;
}

static struct json_object *
account_admin_data(struct page *pg, const char *what)
{
	struct portal_req *r = pg->r;
	struct json_object *d = pool_keep_json(r->pool, json_object_new_object());
	account_str(d, "csrf", r->user->csrf);
	account_str(d, "slug", r->muni->slug);
	account_str(d, "municipality", r->muni->name);
	account_str(d, "users_href", pool_printf(r->pool, "/edit/%s/users", r->muni->slug));
	account_str(d, "tokens_href", pool_printf(r->pool, "/edit/%s/tokens", r->muni->slug));
	json_object_object_add(d, strcmp(what, "users") == 0 ? "on_users" : "on_tokens",
	                       json_object_new_boolean(1));
	return d;
}

static int
account_users_page(struct page *pg, struct db *d, int status, struct json_object *data)
{
	struct portal_req *r = pg->r;
	struct json_object *users = users_list(d, r->muni->slug);
	if (users == NULL)
		return account_unavailable(pg);
	pool_keep_json(r->pool, users);
	for (size_t i = 0; i < json_object_array_length(users); i++) {
		struct json_object *u = json_object_array_get_idx(users, i), *roles, *id;
		json_object_object_get_ex(u, "roles", &roles);
		json_object_object_get_ex(u, "id", &id);
		int elsewhere = 0;
		for (size_t k = 0; k < json_object_array_length(roles); k++) {
			struct json_object *ro = json_object_array_get_idx(roles, k);
			const char *m = json_object_get_string(json_object_object_get(ro, "municipality"));
			if (strcmp(m, r->muni->slug) == 0)
				json_object_object_add(u, "role", json_object_get(json_object_object_get(ro, "role")));
			else
				elsewhere = 1;
		}
		int self = json_object_get_int64(id) == r->user->id;
		json_object_object_add(u, "self", json_object_new_boolean(self));
		json_object_object_add(u, "can_disable",
		                       json_object_new_boolean(!elsewhere && !self &&
		                                               json_object_object_get(u, "disabled_at") == NULL));
	}
	json_object_object_add(data, "users", json_object_get(users));
	account_render(pg, status, "users.html", data,
	               pool_printf(r->pool, "%s – %s", account_word(pg, "acct_users"), r->muni->name));
	return PORTAL_DONE;
}

static long long
account_id(const char *s)
{
	char *end;
	long long id = s && *s >= '1' && *s <= '9' ? strtoll(s, &end, 10) : 0;
	return id > 0 && *end == '\0' ? id : 0;
}

static int
account_users_post(struct page *pg, struct db *d, const struct form *f, struct json_object *data)
{
	struct portal_req *r = pg->r;
	const char *action = form_get(f, "action");
	action = action ? action : "";
	if (strcmp(action, "add") == 0) {
		const char *email = form_get(f, "email"), *name = form_get(f, "name");
		const char *role = form_get(f, "role"), *password = form_get(f, "password");
		email = email ? email : "";
		name = name ? name : "";
		int rl = auth_role_parse(role);
		account_str(data, "email", email);
		account_str(data, "name", name);
		account_str(data, "role", rl > 0 ? role : "editor");
		if (!users_email_ok(email))
			account_invalid(pg, data, "email", "acct_bad_email");
		if (*name == '\0' || strlen(name) > 200)
			account_invalid(pg, data, "name", "acct_bad_name");
		if (rl < 0)
			account_invalid(pg, data, "role", "acct_bad_role");
		char made[USERS_SESSION_ID_LEN + 1] = "";
		if (password == NULL || *password == '\0') {
			unsigned char raw[15];
			randombytes_buf(raw, sizeof(raw));
			sodium_bin2base64(made, sizeof(made), raw, sizeof(raw),
			                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
			password = made;
		} else if (users_password_problem(password)) {
			account_invalid(pg, data, "password", "acct_bad_password");
		}
		if (account_has_errors(data))
			return account_users_page(pg, d, 422, data);
		long long id = users_find(d, email);
		int existed = id > 0;
		if (id == 0)
			id = users_add(d, email, name, password);
		if (id == 0) /* added meanwhile */
			id = users_find(d, email), existed = 1;
		if (id <= 0 || users_set_role(d, id, r->muni->slug, rl) != PORTAL_OK)
			return account_unavailable(pg);
		log_msg(PORTAL_LOG_INFO, r->request_id, "user %lld (%s) by user %lld: %s in %s", id,
		        existed ? "existing" : "new", r->user->id, auth_role_name(rl), r->muni->slug);
		struct json_object *done = json_object_new_object();
		account_str(done, "email", email);
		if (existed)
			account_str(done, "existed", "1");
		else if (*made)
			account_str(done, "password", made);
		json_object_object_add(data, "added", done);
		account_str(data, "email", "");
		account_str(data, "name", "");
		return account_users_page(pg, d, 200, data);
	}
	long long id = account_id(form_get(f, "user"));
	int elsewhere = 0, here = id ? account_user_role_here(d, r, id, &elsewhere) : -1;
	if (here == -2)
		return account_unavailable(pg);
	if (here < 0)
		return account_fail(pg, 404, "acct_no_such");
	if (strcmp(action, "role") == 0) {
		const char *role = form_get(f, "role");
		int rl = role && strcmp(role, "none") == 0 ? PORTAL_ROLE_NONE : auth_role_parse(role);
		if (rl < 0)
			return account_fail(pg, 422, "acct_bad_role");
		if (users_set_role(d, id, r->muni->slug, rl) != PORTAL_OK)
			return account_unavailable(pg);
		log_msg(PORTAL_LOG_INFO, r->request_id, "user %lld by user %lld: %s in %s", id,
		        r->user->id, auth_role_name(rl), r->muni->slug);
	} else if (strcmp(action, "disable") == 0) {
		if (id == r->user->id)
			return account_fail(pg, 422, "acct_self");
		if (elsewhere)
			return account_fail(pg, 422, "acct_not_here");
		if (users_disable(d, id) < 0)
			return account_unavailable(pg);
		log_msg(PORTAL_LOG_INFO, r->request_id, "user %lld disabled by user %lld", id, r->user->id);
	} else {
		return account_fail(pg, 422, "acct_bad_action");
	}
	page_redirect(r, pool_printf(r->pool, "/edit/%s/users", r->muni->slug));
	return PORTAL_DONE;
}

static int
account_tokens_page(struct page *pg, struct db *d, int status, struct json_object *data)
{
	struct portal_req *r = pg->r;
	struct json_object *tokens = auth_token_list(d, r->muni->slug);
	if (tokens == NULL)
		return account_unavailable(pg);
	json_object_object_add(data, "tokens", tokens);
	account_render(pg, status, "tokens.html", data,
	               pool_printf(r->pool, "%s – %s", account_word(pg, "acct_tokens"), r->muni->name));
	return PORTAL_DONE;
}

static int
account_tokens_post(struct page *pg, struct db *d, const struct form *f, struct json_object *data)
{
	struct portal_req *r = pg->r;
	const char *action = form_get(f, "action");
	action = action ? action : "";
	if (strcmp(action, "create") == 0) {
		const char *role = form_get(f, "role"), *label = form_get(f, "label");
		const char *expires = form_get(f, "expires");
		label = label ? label : "";
		expires = expires ? expires : "";
		int rl = auth_role_parse(role);
		account_str(data, "label", label);
		account_str(data, "expires", expires);
		account_str(data, "role", rl > 0 ? role : "editor");
		if (rl < 0)
			account_invalid(pg, data, "role", "acct_bad_role");
		if (strlen(label) > 200)
			account_invalid(pg, data, "label", "acct_bad_label");
		long long days = 0;
		char until[32] = "";
		if (*expires) {
			char *end;
			days = *expires >= '1' && *expires <= '9' ? strtoll(expires, &end, 10) : 0;
			if (days <= 0 || *end != '\0' || days > 3660) {
				account_invalid(pg, data, "expires", "acct_bad_expires");
			} else {
				time_t at = time(NULL) + (time_t)(days * 86400);
				struct tm tm;
				gmtime_r(&at, &tm);
				strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S", &tm);
			}
		}
		if (account_has_errors(data))
			return account_tokens_page(pg, d, 422, data);
		char token[AUTH_TOKEN_LEN + 1];
		long long id = auth_token_create(d, r->muni->slug, rl, label, *until ? until : NULL, token,
		                                 sizeof(token));
		if (id <= 0)
			return account_unavailable(pg);
		log_msg(PORTAL_LOG_INFO, r->request_id, "token %lld created by user %lld: %s for %s", id,
		        r->user->id, auth_role_name(rl), r->muni->slug);
		struct json_object *made = json_object_new_object();
		account_str(made, "token", token);
		account_str(made, "role", auth_role_name(rl));
		account_str(made, "label", label);
		account_str(made, "expires_at", *until ? until : NULL);
		json_object_object_add(data, "created", made);
		account_str(data, "label", "");
		account_str(data, "expires", "");
		sodium_memzero(token, sizeof(token));
		return account_tokens_page(pg, d, 200, data);
	}
	if (strcmp(action, "revoke") == 0) {
		long long id = account_id(form_get(f, "token"));
		int rc = id ? auth_token_revoke(d, id, r->muni->slug) : 0;
		if (rc < 0)
			return account_unavailable(pg);
		if (rc == 0)
			return account_fail(pg, 404, "acct_no_token");
		log_msg(PORTAL_LOG_INFO, r->request_id, "token %lld revoked by user %lld", id, r->user->id);
		page_redirect(r, pool_printf(r->pool, "/edit/%s/tokens", r->muni->slug));
		return PORTAL_DONE;
	}
	return account_fail(pg, 422, "acct_bad_action");
}

int
account_admin(struct page *pg)
{
	struct portal_req *r = pg->r;
	if (r->nseg < 2 || r->user == NULL)
		return PORTAL_DECLINED;
	const struct conf_municipality *m = conf_municipality(pg->c->conf, r->seg[1]);
	if (m == NULL)
		return PORTAL_DECLINED;
	r->muni = m;
	/* no page of a municipality for those without a role in it */
	if (account_need(pg, PORTAL_ROLE_READER) != PORTAL_OK)
		return PORTAL_DONE;
	if (r->nseg != 3 || (strcmp(r->seg[2], "users") != 0 && strcmp(r->seg[2], "tokens") != 0))
		return PORTAL_DECLINED;
	if (account_need(pg, PORTAL_ROLE_ADMIN) != PORTAL_OK)
		return PORTAL_DONE;
	int users = strcmp(r->seg[2], "users") == 0;
	int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
	if (!get && strcmp(r->method, "POST") != 0) {
		out_header(r, "Allow", "GET, HEAD, POST");
		return account_fail(pg, 405, NULL);
	}
	struct form f;
	if (!get && (account_form(pg, &f) != PORTAL_OK || account_csrf(pg, &f) != PORTAL_OK))
		return PORTAL_DONE;
	struct db *d = account_db(pg);
	if (d == NULL)
		return account_unavailable(pg);
	account_page(pg);
	account_root(pg);
	struct json_object *data = account_admin_data(pg, users ? "users" : "tokens");
	if (get) {
		account_str(data, "role", "editor");
		return users ? account_users_page(pg, d, 200, data) : account_tokens_page(pg, d, 200, data);
	}
	return users ? account_users_post(pg, d, &f, data) : account_tokens_post(pg, d, &f, data);
}
