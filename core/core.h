/*
 * core.h - internal header of the core (kcgi's extern.h): what the core's
 * files share and no plugin sees.  Each file owns one concern and its
 * functions carry the file's prefix: pool_ (pool.c), conf_ (conf.c),
 * plugin_ (plugin.c), router_ (router.c), req_ (request.c), valid_
 * (valid.c), out_ (output.c), db_ (db.c), auth_ (auth.c), migrate_
 * (migrate.c), dispatch_ (dispatch.c), api_ (api.c), log_ (log.c).
 */
#ifndef CORE_H
#define CORE_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <libconfig.h>
#include <json.h>

#include "portal.h"

#define CORE_VERSION "0.1.0"

/* ---- log.c ---- */
extern int log_level;        /* enum portal_log_level */
extern const char *log_name; /* "portald[1234]" */
void log_msg(int level, const char *reqid, const char *fmt, ...) PORTAL_PRINTF(3, 4);
void log_vmsg(int level, const char *reqid, const char *fmt, va_list ap) PORTAL_PRINTF(3, 0);
int log_parse_level(const char *s);
long long log_now_ms(void); /* CLOCK_MONOTONIC, for intervals */

/* ---- pool.c: request memory, released in one place ---- */
struct pool_block;
struct pool_cleanup;
struct pool {
	struct pool_block *blocks;
	struct pool_cleanup *cleanups;
	struct pool_block *spare; /* standard blocks kept from earlier requests */
	unsigned nspare;
};
void pool_init(struct pool *p);
void *pool_alloc(struct pool *p, size_t n); /* zeroed; never NULL (aborts on OOM) */
void *pool_alloc_raw(struct pool *p, size_t n); /* not zeroed; never NULL */
char *pool_strdup(struct pool *p, const char *s);
char *pool_strndup(struct pool *p, const char *s, size_t n);
char *pool_printf(struct pool *p, const char *fmt, ...) PORTAL_PRINTF(2, 3);
char *pool_vprintf(struct pool *p, const char *fmt, va_list ap) PORTAL_PRINTF(2, 0);
/* fn(data) runs at pool_reset, last registered first. */
void pool_cleanup(struct pool *p, void (*fn)(void *), void *data);
struct json_object *pool_keep_json(struct pool *p, struct json_object *o);
void pool_reset(struct pool *p); /* runs cleanups, frees all but one block */
void pool_destroy(struct pool *p);

/* A growable byte buffer in a pool. */
struct buf {
	struct pool *pool;
	char *data;
	size_t len, cap;
};
void buf_init(struct buf *b, struct pool *p);
void buf_add(struct buf *b, const void *data, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) PORTAL_PRINTF(2, 3);

/* ---- conf.c ---- */
struct conf_db {
	const char *socket, *host, *name, *user, *password;
	int port, connect_timeout, read_timeout, write_timeout;
	/* seconds the server may spend on one statement (max_statement_time),
	 * 0 for no bound; set in portald's workers only (db_connect) */
	int statement_timeout;
};

/* Read replicas in database.replicas: few, since each worker opens one
 * connection to one of them (conf_load refuses more). */
#define CONF_MAX_REPLICAS 16

struct conf_municipality {
	const char *slug, *name, *country;
	const char **languages;
	size_t nlanguages;
	const char **modules;
	size_t nmodules;
	config_setting_t *overrides; /* group or NULL */
	config_setting_t *group;     /* the municipality's own group */
	const char *logo;            /* look: logo URL, or NULL */
	const char *accent, *accent_text; /* look: "#rrggbb" colours, or NULL */
	int has_place;               /* lat and lon were given */
	double lat, lon;             /* decimal degrees (the map's home point) */
	const char *wikidata;        /* "Q...", or NULL (JSON-LD sameAs) */
	const char *public_url;      /* base of absolute links ("https://host[/path]"), or NULL:
	                              * then core.public_url */
	const char *license;         /* the data's licence, a URL (CONF_LICENSE_DEFAULT) */
	long long media_quota_bytes; /* media_quota_bytes, or -1: media.quota_bytes */
};
/* The data licence of a municipality that names none: CC0 1.0. */
#define CONF_LICENSE_DEFAULT "https://creativecommons.org/publicdomain/zero/1.0/"

struct conf {
	config_t cfg;
	char *path;
	const char *listen;
	int socket_mode;
	int workers;
	const char *plugin_dir;
	int log_level;
	long long max_body;
	int json_max_depth;
	int max_query_args;
	const char *user, *group; /* privileges to drop to after opening the socket, or NULL */
	const char *public_url;   /* core.public_url: base of absolute links, or NULL */
	int idempotency_ttl;      /* seconds an Idempotency-Key is kept (and honoured) */
	int session_idle;         /* seconds a browser session lives unused (core.session_idle) */
	int session_max;          /* seconds a browser session lives at most (core.session_max) */
	int changes_retention;    /* days GET /{m}/changes answers for (core.changes_retention) */
	int request_timeout;      /* seconds of a request's budget (core.request_timeout); 0: none */
	struct conf_db db;
	long long cache_size; /* bytes per worker; 0: no response cache */
	int cache_ttl;        /* seconds an entry may be served at most */
	int cache_check_host; /* 1: validate against this host's writes only */
	int cache_stale_if_error; /* seconds an entry may be served while the database is away */
	struct conf_db replicas[CONF_MAX_REPLICAS]; /* name, user, password, timeouts: db's unless given */
	size_t nreplicas;
	int replica_retry; /* seconds a worker reads from the primary after its replica failed */
	/* media = { dir; max_bytes; quota_bytes; max_pixels; } (media.c) */
	char *media_dir;            /* absolute (a relative one is the file's directory's) */
	long long media_max_bytes;  /* one upload at most (413) */
	long long media_quota_bytes; /* one municipality's uploads together (507) */
	long long media_max_pixels; /* width x height of an image at most (422) */
	config_setting_t *plugins; /* group of plugin sections, or NULL */
	struct conf_municipality *munis;
	size_t nmunis;
	/* problems found, "file:line: message", NULL-terminated */
	char **errors;
	size_t nerrors;
};

/* Reads and checks the core part of `path`.  Returns PORTAL_OK, or
 * PORTAL_ERROR with c->errors listing every problem. */
int conf_load(struct conf *c, const char *path);
void conf_free(struct conf *c);
void conf_error(struct conf *c, const config_setting_t *s, const char *fmt, ...) PORTAL_PRINTF(3, 4);
const struct conf_municipality *conf_municipality(const struct conf *c, const char *slug);
int conf_muni_has_module(const struct conf_municipality *m, const char *module);
/* 1 when `slug` names a path of the portal's own (edit, login, logout,
 * static, api, ...), which no municipality may be called. */
int conf_slug_reserved(const char *slug);

/* ---- plugin.c ---- */
struct plugin_route {
	struct portal_route def;
	portal_plugin *plugin;
	char **seg; /* pattern split on '/', "{x}" kept */
	size_t nseg;
};

struct plugin_migration {
	unsigned version;
	const char *name, *sql;
};

struct portal_plugin {
	char *name;
	char *path;
	void *dl;
	const struct portal_module *mod;
	void *data;
	config_setting_t *section; /* the plugin's group in `plugins`, or NULL */
	struct plugin_migration *migrations;
	size_t nmigrations;
	int in_init;
	int (*link_exists)(portal_req *r, long long id); /* link target hook, or NULL */
	struct json_object *messages; /* {"sv": {...}, ...} the plugin's words, or NULL */
	const char *openapi; /* the plugin's OpenAPI fragment, or NULL */
	const struct portal_item *item; /* the item lifecycle's declaration (item.c), or NULL */
	char item_pattern[80];          /* "NAME/{id}", its routes' pattern */
	char uid_pattern[80];           /* "NAME/uid/{uid}" (an item declared with a table) */
	char item_summary[5][96];       /* its routes' summaries */
	struct store_sql *store;        /* the store derived from the item (store.c), or NULL */
	struct portal_plugin *next;
	unsigned index; /* its place among the loaded plugins: its api->ctx slot */
};

struct plugins {
	struct portal_plugin *head;
	size_t count;
	struct router *router;
	char *openapi; /* merged description, built once before the workers fork */
};

/* Loads one plugin .so and runs its init.  On failure writes a message
 * naming the plugin (and both versions on a mismatch) into err and leaves
 * nothing registered. */
int plugin_load(struct plugins *ps, const char *path, const char *expect_name,
                config_setting_t *section, char *err, size_t errlen);
/* Loads every plugin named in the conf's `plugins` group from plugin_dir,
 * then checks each plugin's section and the municipalities' overrides
 * against the declared settings.  Errors go to c->errors. */
int plugin_load_all(struct plugins *ps, struct conf *c);
void plugin_unload_all(struct plugins *ps);
/* registry.c: what the plugins registered */
struct json_object *registry_links(const portal_plugin *p); /* the item's .link members */
portal_plugin *plugin_find(struct plugins *ps, const char *name);
void plugin_loading(struct plugins *ps); /* where api->route adds, during init; NULL after */
int plugin_route_add(portal_plugin *p, const struct portal_route *def);
int plugin_migration_add(portal_plugin *p, unsigned version, const char *name, const char *sql);
void plugin_free_routes(const portal_plugin *p);
const struct portal_setting *plugin_setting(const portal_plugin *p, const char *name);

/* ---- router.c ---- */
struct router;
struct router *router_new(void);
void router_free(struct router *rt);
/* Adds a route; PORTAL_ERROR when the pattern is malformed or a route with
 * the same method and pattern exists. */
int router_add(struct router *rt, struct plugin_route *route);
/* Removes every route of plugin p. */
void router_remove_plugin(struct router *rt, const portal_plugin *p);
#define ROUTER_MAX_PARAMS 8
struct router_match {
	struct plugin_route *route;
	size_t nparams;
	const char *names[ROUTER_MAX_PARAMS];
	const char *values[ROUTER_MAX_PARAMS];
	char allow[64]; /* methods matching the path, for 405 */
};
/* Matches method + segments.  Returns 200 (found), 404 or 405. */
int router_match(struct router *rt, const char *method, char **seg, size_t nseg,
                 struct router_match *m);
size_t router_count(const struct router *rt);
struct plugin_route *router_at(const struct router *rt, size_t i);

/* ---- valid.c ---- */
int valid_partial_date(const char *s);
/* 1 when s is a UTC time "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[.fff]Z"
 * (or +00:00); out gets it as MariaDB reads it, "YYYY-MM-DD HH:MM:SS.ffffff". */
int valid_utc_time(const char *s, char out[32]);
/* Compares two partial dates on their common precision: <0, 0, >0. */
int valid_date_cmp(const char *a, const char *b);
int valid_country(const char *s);
int valid_currency(const char *s);
int valid_lang(const char *s);
int valid_url(const char *s);
int valid_qid(const char *s);
int valid_utf8(const char *s, size_t n);
size_t valid_chars(const char *s, size_t n);
struct valid_sink {
	void *ctx;
	void (*error)(void *ctx, const char *field, const char *msg);
};
int valid_doc(const struct portal_field *schema, struct json_object *doc, const char *prefix,
              const struct valid_sink *sink);
void valid_merge_patch(struct json_object *target, struct json_object *patch);

/* ---- db.c ---- */
struct db;
int db_library_init(void); /* once per process, before fork */
void db_library_end(void);
struct db *db_new(const struct conf_db *c);
void db_free(struct db *d);
int db_connect(struct db *d);   /* PORTAL_OK or PORTAL_ERROR (message in db_error) */
int db_ensure(struct db *d);    /* connects when not connected */
/* The last failure came after waiting a second or more (a timeout, not a
 * connection found closed at once). */
int db_waited(const struct db *d);
/* The last failure was the server ending a statement at statement_timeout. */
int db_timed_out(const struct db *d);
/* After log_now_ms() reaches at_ms no statement starts (it fails, and
 * db_over_budget() says why); 0: no deadline.  A request's budget. */
void db_set_deadline(struct db *d, long long at_ms);
int db_over_budget(const struct db *d);
int db_is_down(const struct db *d); /* 1 after a lost connection or failed connect */
const char *db_error(const struct db *d);
int db_exec(struct db *d, const char *sql); /* a trusted literal statement (DDL, BEGIN) */
struct portal_stmt *db_prepare(struct db *d, const char *sql);
void db_stmt_set_pool(struct portal_stmt *s, struct pool *p);
int db_bind_text(struct portal_stmt *s, unsigned i, const char *v);
int db_bind_int(struct portal_stmt *s, unsigned i, long long v);
int db_bind_double(struct portal_stmt *s, unsigned i, double v);
int db_bind_null(struct portal_stmt *s, unsigned i);
int db_execute(struct portal_stmt *s);
int db_fetch(struct portal_stmt *s);
const char *db_col_text(struct portal_stmt *s, unsigned i);
long long db_col_int(struct portal_stmt *s, unsigned i);
double db_col_double(struct portal_stmt *s, unsigned i);
int db_col_is_null(struct portal_stmt *s, unsigned i);
struct json_object *db_col_json(struct portal_stmt *s, unsigned i);
long long db_insert_id(struct portal_stmt *s);
long long db_affected(struct portal_stmt *s);
void db_done(struct portal_stmt *s);
int db_is_duplicate(struct portal_stmt *s); /* the last execute hit a UNIQUE key */
/* The last execute of a SELECT left warnings: for a statement with LIMIT
 * ROWS EXAMINED, it was stopped there and its rows may be incomplete. */
int db_stopped(struct portal_stmt *s);
void db_done_all(struct db *d); /* ends every statement still in use */
int db_begin(struct db *d);
int db_commit(struct db *d);
int db_rollback(struct db *d);
int db_ping(struct db *d);
unsigned long db_reconnects(const struct db *d);

/* ---- migrate.c ---- */
extern const struct portal_migration_src core_migrations[];
/* Applies what is missing, prints progress to `out` (may be NULL).
 * `status_only` lists without applying.  Returns PORTAL_OK or PORTAL_ERROR. */
int migrate_run(struct db *d, struct plugins *ps, int status_only, void *out);

/* ---- auth.c ---- */
struct auth_token {
	long long id;
	char municipality[65];
	int role;
	int revoked;
	int expired; /* its expires_at has passed */
};
/* A browser session's user (users.c): who, and their role in each
 * municipality (a slug, or "*" for all). */
#define AUTH_USER_ROLES 32
struct auth_user {
	long long id;
	char email[255];
	char name[201];
	size_t nroles;
	struct {
		char municipality[65];
		int role;
	} roles[AUTH_USER_ROLES];
	char csrf[64]; /* the session's CSRF token, put in every form */
};
/* The user's role in municipality `slug` (PORTAL_ROLE_NONE when none). */
int auth_user_role(const struct auth_user *u, const char *slug);
#define AUTH_TOKEN_LEN 46 /* "pt_" + 43 base64url characters */
int auth_init(void); /* libsodium */
/* Writes a new token (NUL-terminated, AUTH_TOKEN_LEN chars) and its hash. */
int auth_token_new(char *token, size_t toklen, char hash_hex[65]);
void auth_hash(const char *token, char hash_hex[65]);
/* Looks up `token`.  Returns 1 found (t filled), 0 unknown, PORTAL_ERROR on a
 * database failure. */
int auth_lookup(struct db *d, const char *token, struct auth_token *t);
int auth_role_parse(const char *s);
const char *auth_role_name(int role);
char *auth_b64url(struct pool *p, const unsigned char *bin, size_t n);
unsigned char *auth_b64url_decode(struct pool *p, const char *s, size_t *n);

/* Tokens of one municipality for its admins' pages (account.c); the
 * token is written once into `token` (AUTH_TOKEN_LEN + 1).  until: UTC
 * "YYYY-MM-DD HH:MM:SS" or NULL.  The id, or PORTAL_ERROR. */
long long auth_token_create(struct db *d, const char *municipality, int role, const char *label,
                            const char *until, char *token, size_t toklen);
/* [{id, prefix, role, label, created_at, revoked_at, expires_at}], newest
 * first; NULL on a database failure. */
struct json_object *auth_token_list(struct db *d, const char *municipality);
/* 1 revoked, 0 no such active token of that municipality, PORTAL_ERROR. */
int auth_token_revoke(struct db *d, long long id, const char *municipality);

/* ---- users.c: accounts, sessions, login throttling ---- */
#define USERS_PASSWORD_MIN 10   /* characters (bytes) a password has at least */
#define USERS_PASSWORD_MAX 1000
#define USERS_HASH_LEN 128      /* crypto_pwhash_STRBYTES */
#define USERS_SESSION_BYTES 32
#define USERS_SESSION_ID_LEN 43 /* base64url of 32 bytes, no padding */
/* NULL when `password` may be used, else why not ("the password is ..."). */
const char *users_password_problem(const char *password);
int users_email_ok(const char *email);
int users_hash_password(const char *password, char out[USERS_HASH_LEN]);
/* A new user (e-mail folded to lower case): the id, 0 when the e-mail is
 * taken, PORTAL_ERROR. */
long long users_add(struct db *d, const char *email, const char *name, const char *password);
long long users_find(struct db *d, const char *email); /* id, 0 none, PORTAL_ERROR */
/* 1 done, 0 no such (active) user, PORTAL_ERROR.  Both end the user's
 * sessions. */
int users_passwd(struct db *d, long long id, const char *password);
int users_disable(struct db *d, long long id);
/* role PORTAL_ROLE_NONE removes the user's role in `municipality`. */
int users_set_role(struct db *d, long long id, const char *municipality, int role);
/* 1 with *id when the password is the active user's; 0 for an unknown
 * user, a disabled one and a wrong password alike (and as slowly);
 * PORTAL_ERROR on a database failure. */
int users_verify(struct db *d, const char *email, const char *password, long long *id);
int users_roles(struct db *d, struct auth_user *u); /* u->id's roles into u */
/* [{id, email, name, disabled_at, created_at, roles: [{municipality, role}]}]
 * of every user, or of those with a role in `municipality`; NULL on a
 * database failure. */
struct json_object *users_list(struct db *d, const char *municipality);
void users_random(char out[USERS_SESSION_ID_LEN + 1]); /* 32 random bytes, base64url */
/* A new session of max_seconds at most: its id (for the cookie) and CSRF
 * token.  Deletes up to 100 ended sessions (idle_seconds unused, or past
 * their end) on the way. */
int users_session_new(struct db *d, long long user_id, int idle_seconds, int max_seconds,
                      char id[USERS_SESSION_ID_LEN + 1], char csrf[USERS_SESSION_ID_LEN + 1]);
/* The live session `id` (the cookie's value): 1 with u filled (roles,
 * csrf) and *stale set when last_seen is over a minute old; 0 when there
 * is none, or it ended (idle, absolute, user disabled: then it is
 * deleted); PORTAL_ERROR on a database failure. */
int users_session_get(struct db *d, const char *id, int idle_seconds, struct auth_user *u,
                      int *stale);
int users_session_touch(struct db *d, const char *id);
int users_session_end(struct db *d, const char *id);
/* Failed sign-ins within `window` seconds, for the account and the
 * client address. */
int users_throttle_count(struct db *d, const char *email, const char *address, int window,
                         int *by_email, int *by_address);
int users_throttle_record(struct db *d, const char *email, const char *address, int window);
int users_throttle_clear(struct db *d, const char *email); /* after a good sign-in */

/* ---- request.c: one request, independent of FastCGI ---- */
struct req_io {
	void *ctx;
	const char *(*param)(void *ctx, const char *name); /* CGI/FastCGI param */
	int (*read)(void *ctx, char *buf, int n);         /* body bytes, <=0 at end */
	int (*write)(void *ctx, const char *buf, size_t n);
};

struct req_header {
	char *name, *value;
	struct req_header *next;
};

struct req_arg {
	char *name, *value;
};

#define REQ_MAX_ARGS 64 /* default of core.max_query_args */

struct core; /* the process state (dispatch.c) */

enum req_ctx {
	REQ_CTX_CACHE, /* struct cache_req (cache.c) */
	REQ_CTX_LINKS, /* struct links_req (links.c) */
	REQ_CTX_TOUCHED, /* struct req_touched (links.c) */
	REQ_CTX_N
};

struct portal_req {
	struct pool *pool;
	struct core *core;
	const struct req_io *io;
	const char *method;
	const char *uri;  /* raw REQUEST_URI */
	char *path;       /* decoded path, without query */
	char **seg;       /* path segments (decoded) */
	size_t nseg;
	struct req_arg *args; /* in the pool */
	size_t nargs;
	/* Set by the response cache (cache.c) when the answer may be stored:
	 * 1 when `name` is part of the cache key.  req_query sets arg_unkeyed
	 * when a handler reads any other argument, and the answer is not
	 * stored (it may depend on what the key leaves out). */
	int (*arg_keyed)(struct portal_req *r, const char *name);
	int arg_unkeyed;
	/* What a plugin added to the item's ETag for this caller
	 * (api->etag_part): ".HASH" per part, or NULL. */
	const char *etag_part;
	size_t max_args; /* 0: REQ_MAX_ARGS */
	const char *request_id;
	const struct conf_municipality *muni;
	struct router_match match;
	portal_plugin *plugin;
	/* where this request's statements go: the primary for writes (and all
	 * inside their transaction), a replica for reads when one is
	 * configured (dispatch_api picks it; pages' sub-requests inherit it).
	 * Tokens, idempotency keys and the audit log always use core->db. */
	struct db *db;
	struct json_object *body;
	struct auth_token token;
	int has_token; /* a valid, unrevoked token was presented */
	/* the signed-in user of a browser session (the editor's pages and
	 * their sub-requests); NULL otherwise.  With no token, the role is
	 * the user's in r->muni. */
	const struct auth_user *user;
	int role;
	struct json_object *errors; /* field errors recorded */
	/* the response, written after the handler (and the commit) */
	int status;
	int responded;
	struct req_header *resp_headers;
	const char *content_type;
	struct json_object *resp_json;
	const char *resp_raw;
	size_t resp_raw_len;
	const char *resp_head_raw; /* more header lines, "Name: value\r\n" (cache hits) */
	size_t resp_head_raw_len;
	size_t bytes_out;
	const char *route_name; /* for the log line, when the answer's maker names it (a cache hit) */
	int top_level;    /* the request nginx sent (not a page's part, an export's or an import's) */
	/* set around a list whose items go out as JSON unread (item.c): the
	 * store writes each item as text from its row, its JSON columns as
	 * stored, without json-c trees (store.c) */
	int json_through;
	/* the id of the item a GET answered, when the answer is that item's
	 * alone (item.c); the cache keeps it valid by the item's own token */
	long long item_answer;
	/* the per-request state of a part of the core, kept off this struct
	 * (nginx's r->ctx[module.ctx_index]): its owner allocates it from
	 * the pool; NULL until then */
	void *ctx[REQ_CTX_N];
	/* the plugins' context slots (api->ctx), by portal_plugin.index: in the
	 * pool, made by the first set_ctx */
	void **plugin_ctx;
	size_t nplugin_ctx;
};

/* Parses method, path, query.  Returns 0 or an HTTP status (400, 414) after
 * recording a field error or setting detail. */
int req_parse(struct portal_req *r, const char **detail);
const char *req_param(struct portal_req *r, const char *name);
/* The database r's statements go to (r->db), the primary when dispatch has
 * not chosen (a request made up by a test harness). */
struct db *req_db(struct portal_req *r);
const char *req_header(struct portal_req *r, const char *name);
const char *req_query(struct portal_req *r, const char *name);
/* Reads and parses a JSON body, its strings in Unicode NFC: 0 or
 * 400/413/415/422 with *detail set (500 when out of memory). */
int req_read_json(struct portal_req *r, long long max_body, int max_depth, const char **detail);
int req_percent_decode(char *s, int plus_is_space); /* in place; -1 on bad encoding */

/* Reads the body, at most max_body bytes: 0 with *data (NUL-terminated,
 * the request's) and *len, or 400/413 with *detail set. */
int req_read_body(struct portal_req *r, long long max_body, char **data, size_t *len,
                  const char **detail);

/* ---- markdown.c, slug.c (api->markdown, api->slugify, api->is_slug) ---- */
char *markdown_html(struct pool *p, const char *md); /* NULL when out of memory */
/* Texts markdown_html found rendered already in this process, and not. */
void markdown_cache_stats(unsigned long *hits, unsigned long *misses);
char *slug_make(struct pool *p, const char *title, size_t max); /* NULL: no letter */
int slug_valid(const char *s, size_t max);
/* Gives `doc` a member `member` made of `title` (slug_make, at most `max`
 * bytes): the first of base, base-2 .. base-50 that taken(r, arg, slug)
 * (1 taken, 0 free, PORTAL_ERROR) says is free, else base (the
 * uniqueness check then answers 409).  A title without letters records a
 * field error naming `from`; a NULL title gives "untitled" (the title's
 * own error is reported).  PORTAL_OK or PORTAL_ERROR. */
int slug_derive(struct portal_req *r, struct json_object *doc, const char *member, const char *from,
                const char *title, size_t max,
                int (*taken)(struct portal_req *r, const void *arg, const char *slug),
                const void *arg);

/* ---- form.c: application/x-www-form-urlencoded bodies ---- */
#define FORM_MAX_BODY (1024 * 1024) /* bytes of one form */
#define FORM_MAX_FIELDS 5000        /* name=value pairs */
#define FORM_MAX_NAME 200           /* bytes of a name (a field path) */
#define FORM_MAX_VALUE 100000       /* bytes of a value */
#define FORM_MAX_DEPTH 8            /* levels of a field path ("a.b[2].c" is 4) */
struct form_pair {
	char *name, *value; /* decoded, valid UTF-8; names unique */
};
/* A file of a multipart/form-data body, streamed to a temporary file in
 * media.dir/tmp (removed with the request's pool).  Its field is also a
 * pair of the form, whose value is the file's name. */
struct form_file {
	const char *field;    /* the part's name, a field path */
	const char *filename; /* as the browser sent it ("" when no file was chosen) */
	const char *type;     /* the part's Content-Type, "" when none */
	const char *path;     /* the temporary file; NULL when nothing was stored */
	long long bytes;      /* the file's size (counted on past max_bytes) */
	int over;             /* larger than media.max_bytes: nothing kept */
};
struct form {
	struct form_pair *pairs; /* in the body's order */
	size_t n, cap;
	struct form_pair **sorted; /* by name, for form_get (NULL: it searches pairs) */
	struct form_file *files;   /* multipart only */
	size_t nfiles;
};
/* Parses a body: 0, or 400 (bad escape, invalid UTF-8, control
 * characters), 413 (too large) or 422 (too many fields, a name that is no
 * field path, too deep, twice) with *detail saying which.  A name is a
 * field path: SEG ("." SEG | "[" INDEX "]")*, SEG of [A-Za-z0-9_:-], INDEX
 * at most 9 digits without a leading zero. */
int form_parse(struct pool *p, const char *body, size_t len, struct form *f, const char **detail);
const char *form_get(const struct form *f, const char *name); /* NULL when absent */
/* The request's form body (Content-Type checked: 415), as form_parse. */
int req_read_form(struct portal_req *r, struct form *f, const char **detail);
/* A pair already decoded (multipart.c): checked and added as form_parse
 * does: 0, or a status with *detail.  form_finish sorts the names and
 * refuses one that occurs twice (422). */
int form_add(struct pool *p, struct form *f, char *name, size_t nlen, char *value, size_t vlen,
             const char **detail);
int form_finish(struct pool *p, struct form *f, const char **detail);
/* The file sent as field `name`, NULL when none. */
const struct form_file *form_file(const struct form *f, const char *name);

/* ---- multipart.c: multipart/form-data (RFC 7578), streamed ---- */
#define MULTIPART_MAX_BOUNDARY 70          /* RFC 2046 */
#define MULTIPART_MAX_HEADER 8192          /* bytes of one part's headers */
#define MULTIPART_MAX_PARTS FORM_MAX_FIELDS
#define MULTIPART_MAX_FILES 20             /* parts with a file name */
#define MULTIPART_MAX_FILENAME 255         /* bytes of a file's name */
/* Where a parser hands its parts: begin (name; filename NULL for a plain
 * field; type NULL when the part has none), data (any number of times),
 * end.  Each returns 0, or an HTTP status that stops the parse (with the
 * parser's detail set through multipart_fail). */
struct multipart;
struct multipart_sink {
	void *ctx;
	int (*begin)(struct multipart *m, const char *name, const char *filename, const char *type);
	int (*data)(struct multipart *m, const char *p, size_t n);
	int (*end)(struct multipart *m);
};
struct multipart {
	struct pool *pool;
	struct multipart_sink sink;
	char delim[4 + MULTIPART_MAX_BOUNDARY + 1]; /* "\r\n--" BOUNDARY */
	size_t dlen;
	int state;  /* MULTIPART_BODY, MULTIPART_AFTER, MULTIPART_HEADERS, MULTIPART_DONE */
	int inpart; /* a part was begun (the preamble is no part) */
	char *buf;  /* bytes not yet consumed */
	size_t len, cap;
	size_t parts, files;
	const char *detail;
};
/* The boundary of a Content-Type "multipart/form-data; boundary=...":
 * its length, or 0 when ct is no such type or the boundary is invalid. */
size_t multipart_boundary(const char *ct, char *out, size_t outlen);
void multipart_init(struct multipart *m, struct pool *p, const char *boundary,
                    const struct multipart_sink *sink);
/* Feeds n bytes: 0, or 400 (malformed), 413/422 (over a limit) or the
 * sink's status, with m->detail. */
int multipart_feed(struct multipart *m, const char *data, size_t n);
/* The end of the body: 0 when the closing delimiter was seen, else 400. */
int multipart_finish(struct multipart *m);
int multipart_fail(struct multipart *m, int status, const char *detail);
/* The request's body as a form: urlencoded as req_read_form, or
 * multipart/form-data with its files streamed to media.dir/tmp (each at
 * most media.max_bytes: past that `over` is set and nothing kept). */
int req_read_form_files(struct portal_req *r, struct form *f, const char **detail);
/* A new temporary file in media.dir/tmp (created when missing), removed
 * when the pool is: its fd (path in *path), or -1 (logged). */
int req_tmpfile(struct portal_req *r, char **path);

/* ---- paging.c: limit and cursor of a list ---- */
int paging_limit(struct portal_req *r); /* -1 after a field error */
const char *paging_cursor_encode(struct portal_req *r, struct json_object *keys);
/* The keys, kept by the request's pool; NULL after a field error. */
struct json_object *paging_cursor_decode(struct portal_req *r, const char *cursor);

/* ---- output.c ---- */
const char *out_reason(int status);
void out_header(struct portal_req *r, const char *name, const char *value);
void out_json(struct portal_req *r, int status, struct json_object *body);
void out_problem(struct portal_req *r, int status, const char *detail);
/* Is `tag` in the comma-separated list `hdr` (If-Match, If-None-Match)?
 * With `weak`, W/ is ignored (RFC 9110's weak comparison, for GET). */
int out_etag_listed(const char *hdr, const char *tag, int weak);
void out_field_error(struct portal_req *r, const char *field, const char *msg);
/* Writes status line, headers and body through r->io. */
int out_send(struct portal_req *r);

/* ---- dispatch.c ---- */
#define METRICS_ROUTES 128
#define METRICS_BUCKETS 12
#define METRICS_CACHE_SLOTS 1024
struct metrics_route {
	int state; /* 0 free, 1 being claimed, 2 in use */
	char key[96]; /* "GET partnerships/{id}", "healthz", "-" */
	unsigned long status[6]; /* by status class 1xx..5xx */
	unsigned long bucket[METRICS_BUCKETS];
	unsigned long sum_us;
};

enum metrics_cache_event {
	METRICS_CACHE_HIT,
	METRICS_CACHE_MISS,
	METRICS_CACHE_STALE,
	METRICS_CACHE_STORE,
	METRICS_CACHE_EVICT,
	METRICS_CACHE_STALE_IF_ERROR, /* served unvalidated while the database is away */
	METRICS_CACHE_CHECK_READ,     /* a generation read from the database (one statement) */
	METRICS_CACHE_CHECK_SHARED,   /* a generation taken from a read another request made */
	METRICS_CACHE_ITEM_VALID,     /* an item's answer kept through another item's write */
	METRICS_CACHE_EVENTS
};

/* While the primary does not answer, every worker of the host answers 503
 * at once instead of sending statements; a probe process closes it. */
struct breaker {
	int open;               /* 1: no statements to the primary */
	long long since_ms;     /* CLOCK_MONOTONIC ms when it last opened */
	unsigned long opened;   /* times it opened (closed -> open) */
	unsigned long closed;   /* times it closed again */
};

/* The last database generation a worker of this host read for a
 * municipality, for the others to use (cache.c; a seqlock). */
#define METRICS_CHECK_SLOTS 512
#define METRICS_SLUG_WORDS 9 /* a slug is at most 64 bytes: NUL-padded 8-byte words */
struct metrics_check {
	unsigned seq;       /* odd while a worker writes the slot */
	unsigned long long slug[METRICS_SLUG_WORDS];
	long long token;    /* the generation read */
	long long read_us;  /* CLOCK_REALTIME, microseconds, just before the read was sent */
	long long off_us;   /* CLOCK_REALTIME - CLOCK_MONOTONIC then (a step shows) */
};

struct metrics {
	unsigned long requests[6]; /* by status class 1xx..5xx; [0] unused */
	unsigned long db_errors;
	unsigned long db_reconnects;
	unsigned long worker_restarts;
	unsigned long replica_reads;     /* reads answered by a replica */
	unsigned long replica_fallbacks; /* reads sent to the primary since the replica failed */
	unsigned long over_budget[2];    /* requests past core.request_timeout: [0] 503, [1] worker ended */
	struct breaker breaker; /* the database's circuit breaker (breaker.c) */
	unsigned long cache[METRICS_CACHE_EVENTS]; /* enum metrics_cache_event */
	/* this host's generation of each municipality (by hash of its slug),
	 * bumped after every committed write (cache.c) */
	unsigned long cache_gen[METRICS_CACHE_SLOTS];
	struct metrics_check checks[METRICS_CHECK_SLOTS];
	long long clock_off_us;  /* CLOCK_REALTIME - CLOCK_MONOTONIC as last seen (cache.c) */
	long long clock_step_us; /* CLOCK_MONOTONIC when that last changed (a clock step) */
	struct metrics_route routes[METRICS_ROUTES];
};

/* ---- metrics.c ---- */
enum metrics_counter {
	METRICS_DB_ERRORS,
	METRICS_DB_RECONNECTS,
	METRICS_WORKER_RESTARTS,
	METRICS_REPLICA_READS,
	METRICS_REPLICA_FALLBACKS,
	METRICS_OVER_BUDGET,     /* a request answered 503 at core.request_timeout */
	METRICS_OVER_HARD_LIMIT  /* a worker ended by its watchdog (watchdog.c) */
};
struct metrics *metrics_new(void); /* shared mapping, before fork; NULL on failure */
void metrics_request(struct metrics *m, const char *route, int status, double seconds);
void metrics_add(struct metrics *m, enum metrics_counter which, unsigned long n);
void metrics_cache(struct metrics *m, enum metrics_cache_event e);
void metrics_text(struct metrics *m, struct buf *b, size_t plugins);

/* ---- watchdog.c: a worker ends itself when a request never ends ---- */
#define PORTAL_EXIT_OVERRUN 75 /* a worker's exit status when its watchdog fired */
struct core;
void watchdog_init(struct core *c); /* SIGALRM ends the worker, naming c->current */
/* request_timeout + read_timeout + 2 seconds, or 0 without core.request_timeout */
unsigned watchdog_limit(const struct conf *conf);
void watchdog_arm(unsigned seconds); /* before a request; 0: none */
void watchdog_disarm(void);          /* after it */

/* ---- breaker.c: stop asking a database that does not answer ---- */
/* The primary failed (no connection, a lost one, a statement that timed
 * out): open the breaker for every worker of the host.  m may be NULL
 * (portalctl, tests): then nothing happens. */
void breaker_trip(struct metrics *m, const char *why);
int breaker_is_open(struct metrics *m);
struct core;
/* The primary (c->db), connected, or PORTAL_ERROR when the breaker is open
 * or a connect fails (which opens it).  After the breaker closed, every
 * worker connects anew: its old connection went with the outage. */
int breaker_primary(struct core *c);
/* After a statement on the primary failed: PORTAL_OK when the primary is
 * connected again, or was not lost (the failure was another; the caller
 * may try once more), else PORTAL_ERROR with the breaker open.  A loss
 * found at once (a connection the server had closed, e.g. after its
 * restart or wait_timeout) is connected again; a statement that waited
 * (a frozen server) opens the breaker without another connect_timeout. */
int breaker_reconnect(struct core *c);
/* The replica worker `index` reads from (by index, so the workers spread
 * over the replicas), or NULL when none is configured. */
struct db *breaker_replica_new(const struct conf *conf, int index);
/* The database a read of r goes to: c->rdb unless it is absent, failed
 * within core.replica_retry seconds or asked off by the client; else the
 * primary. */
struct db *breaker_read_db(struct core *c, struct portal_req *r);

/* ---- opendata.c: changes, the all-lists, the DCAT-AP-SE catalogue ---- */
/* GET /api/v1/{m}/changes (r->muni, role and database set) */
void opendata_changes(struct core *c, struct portal_req *r);
/* GET /api/v1/all/{module} (database set; anonymous) */
void opendata_all(struct core *c, struct portal_req *r, const char *module);
/* GET /api/v1/catalog.jsonld (database set) */
void opendata_catalog(struct core *c, struct portal_req *r);
/* The replica failed in r: r and this worker's reads for replica_retry
 * seconds go to the primary. */
void breaker_replica_failed(struct core *c, struct portal_req *r);
/* The probe process: while the breaker is open, connect and ping every
 * quarter second with one-second timeouts; close it when that works.
 * Returns when *stop becomes non-zero. */
void breaker_probe(const struct conf_db *db, struct metrics *m, volatile sig_atomic_t *stop);

#define CORE_GEN_WORDS 16
struct core {
	struct conf *conf;
	struct plugins *plugins;
	struct db *db;  /* the primary */
	struct db *rdb; /* this worker's read replica, or NULL without replicas */
	long long rdb_retry_ms; /* after the replica failed: until then, reads go to db */
	struct pool pool;
	struct metrics *metrics; /* shared between workers (mmap), may be NULL */
	struct cache *cache;     /* this worker's response cache, or NULL */
	uint64_t gen_ready[CORE_GEN_WORDS]; /* municipalities whose cache row exists (cache_row) */
	unsigned long db_epoch; /* breaker closings seen when c->db connected (breaker.c) */
	/* 1 while the request in hand came from a web server on this host (a
	 * unix socket or loopback: its clock is ours), so its REQUEST_MSEC
	 * can be trusted (cache.c); set by portald's loop per request */
	int peer_local;
	/* portalctl import/export (transfer.c) only; 0 in portald: */
	int local_role;  /* a request without Authorization acts with this role */
	int outer_txn;   /* the caller holds a transaction: writes are savepoints */
	const char *keep_uid; /* import: the uid the next create keeps, or NULL: a new one */
	struct portal_req *current; /* the request being handled (the watchdog names it), or NULL */
};

/* A request on io, its memory in p, parsed (a request that cannot be is
 * answered: r->responded).  Every way into the core starts here: FastCGI,
 * a page's parts, portalctl's import and export.  db: the database its
 * reads go to, or NULL for dispatch to choose. */
struct portal_req *dispatch_new(struct core *c, struct pool *p, const struct req_io *io, struct db *db);
/* Handles one request from io to the last byte written. */
void dispatch_request(struct core *c, const struct req_io *io);
/* /api/v1/...: the answer is left on r (also for pages' sub-requests). */
void dispatch_api(struct core *c, struct portal_req *r);

/* ---- cache.c: responses to anonymous GETs, never stale after a write ---- */
/* What a request's lookup noted for its store (r->ctx[REQ_CTX_CACHE]). */
struct cache_req {
	int eligible; /* its answer may be stored */
	const char *key;
	size_t keylen;
	uint64_t hash;
	const struct conf_municipality *muni;
	long long token;     /* the database generation read before the answer */
	unsigned long local; /* this host's generation then */
	/* an item's URL (/api/v1/{m}/{module}/{id}): its module and id, and
	 * with `item_read` the tokens read before the answer (cache_item_read) */
	const char *item_module;
	long long item_id;
	int item_read;
	long long other, item_token; /* other: -1 when the tokens do not account for the last write */
};
struct cache_req *cache_req(struct portal_req *r); /* NULL before cache_serve looked */
struct cache;
struct cache *cache_new(const struct conf *conf); /* NULL when cache.size is 0 */
void cache_free(struct cache *k);
/* PORTAL_DONE when r was answered from the cache (status, headers and body
 * set); otherwise notes what cache_store needs and returns PORTAL_DECLINED. */
int cache_serve(struct core *c, struct portal_req *r);
/* Keeps r's answer when it is a public 200 to a cacheable request. */
void cache_store(struct core *c, struct portal_req *r, const char *route);
/* Before a write's transaction: the municipality's generation row exists. */
int cache_row(struct core *c, struct portal_req *r);
/* In a write's transaction: a new generation for r's municipality. */
int cache_bump(struct core *c, struct portal_req *r);
/* After that write committed: this host's workers drop their entries. */
void cache_written(struct core *c, struct portal_req *r);
/* Offers slug's database generation `token`, read by a statement sent at
 * read_us (CLOCK_REALTIME, microseconds), to the host's workers: what
 * each read does (cache_serve); public for the unit test. */
void cache_check_offer(struct metrics *m, const char *slug, long long token, long long read_us);

/* ---- links.c ---- */
/* What a write through the item lifecycle touched (item.c calls
 * links_touch before and after it writes): the item and every item linked
 * to or from it, before and after.  `whole` once the lifecycle ended the
 * write: the list then names every item whose own answer it changed, and
 * the cache keeps the other items' answers (cache_bump). */
struct req_touched {
	size_t n, cap;
	int whole;
	int links_written; /* links to items were written since the first look */
	struct req_touched_item {
		const char *module;
		long long id;
	} *item;
};
/* Adds item `id` of r's module and its linked items to r's touched list;
 * `whole`: the write is done.  PORTAL_OK or PORTAL_ERROR (database). */
int links_touch(portal_req *r, long long id, int whole);
int links_target(portal_plugin *p, int (*exists)(portal_req *r, long long id));
int links_exists(portal_req *r, const char *module, long long id);
int links_set(portal_req *r, long long from_id, const char *to_module, const long long *ids,
              size_t n, const char *title, const char *date, int is_public);
int links_forget(portal_req *r, long long id);
struct json_object *links_to(portal_req *r, long long id);
struct json_object *links_from(portal_req *r, const char *module, long long id);
const char *links_fingerprint(portal_req *r, long long id);
int links_guard(portal_req *r, long long id);
int links_visible(portal_req *r, const char *module, long long *ids, size_t *n);

/* ---- media.c: uploaded images and documents ---- */
struct media_kind {
	const char *mime, *ext;
	int image; /* decoded and written again by libvips */
};
/* The allow-list's entry for a MIME type, or NULL. */
const struct media_kind *media_kind_of(const char *mime);
/* A Content-Type's type/subtype, lower case, into out: its length, or 0
 * (out "") when there is none or it is malformed. */
size_t media_declared_type(const char *ct, char *out, size_t outlen);
/* The first marker of markup or script (a polyglot's other half) in
 * p[0..n), with PDF's auto-run actions when `pdf`; NULL when none. */
const char *media_scan(const unsigned char *p, size_t n, int pdf);
/* NULL when `name` may be a file's name, else why not. */
const char *media_name_problem(const char *name);
/* The handlers of /api/v1/{m}/media[/{id}] (dispatch.c routes, checks the
 * role and holds the write's transaction): they answer r and return
 * PORTAL_OK, or PORTAL_ERROR on a database failure. */
int media_upload(struct portal_req *r);
/* What media_ingest made of a file: status 200 (the same bytes were
 * there) or 201 with record and id, else a refusal (400, 413, 415, 422,
 * 500, 503, 507, 409) with detail. */
struct media_result {
	int status;
	const char *detail;
	struct json_object *record; /* kept by the request's pool */
	long long id;
};
/* The one write path of an uploaded file (the API's body, the editor's
 * multipart part): tmp is a file of req_tmpfile of `total` bytes;
 * declared its sent type (NULL: taken from the bytes).  PORTAL_ERROR on a
 * database failure. */
int media_ingest(struct portal_req *r, const char *tmp, long long total, const char *declared,
                 const char *name, struct media_result *res);
int media_get(struct portal_req *r, long long id);
int media_list(struct portal_req *r);
int media_delete(struct portal_req *r, long long id);
/* 1 when record `id` is r's municipality's, 0 not, PORTAL_ERROR. */
int media_exists(struct portal_req *r, long long id);
/* Record `id` of r's municipality (the request's memory), or NULL. */
struct json_object *media_record(struct portal_req *r, long long id);

/* ---- files.c: an item's uploaded files (api->files_check, files_link,
 * file_entry; portal.h says what they do) ---- */
void files_check(portal_req *r, struct json_object *doc, const char *path, const char *type,
                 size_t max);
int files_link(portal_req *r, long long from_id, struct json_object *item, const char *path,
               const char *title, int is_public);
int file_entry(portal_req *r, struct json_object *o, struct json_object *element,
               const char *member, const char *name, const char *fallback);

/* ---- item.c: the item lifecycle (portal.h, struct portal_item) ---- */
int item_register(portal_plugin *p, const struct portal_item *it);
/* GET /api/v1/all/{module}: r's module's list, the anonymous view, over
 * the comma-separated municipalities (r->plugin set, r->muni NULL). */
int item_all_list(portal_req *r, const char *municipalities);
int item_bind_text(portal_stmt *s, unsigned i, struct json_object *o, const char *key);
int item_bind_int(portal_stmt *s, unsigned i, struct json_object *o, const char *key);
int item_bind_double(portal_stmt *s, unsigned i, struct json_object *o, const char *key);
int item_bind_json(portal_req *r, portal_stmt *s, unsigned i, struct json_object *o, const char *key,
                   const char *absent);
int item_by_id_row(portal_req *r, const char *sql, long long id, portal_stmt **out);
long long item_parse_id(const char *s);
int item_by_id_exec(portal_req *r, const char *sql, long long id);
int item_list_rows(portal_req *r, portal_stmt *s, unsigned i, const struct portal_list *l,
                   struct json_object *(*from_row)(portal_req *r, portal_stmt *s), unsigned key_col,
                   struct json_object *items, int *more, const char **last_key);

/* ---- store.c: an item's store derived from its declaration ---- */
struct store_sql {
	char *load, *load_lock, *list, *insert, *update, *exists, *remove;
	char *list_all;  /* list over FIND_IN_SET(municipality, ?): GET /api/v1/all/{module} */
	char *by_uid;    /* the id of (uid, municipality) */
	char *uid_taken; /* the municipality of an item with this uid, in any */
	char *search; /* the search across modules, one module: the row and its relevance */
	/* the search across modules in few statements (store_search_all): a
	 * branch of a UNION ALL after "SELECT n, " (how many of the first
	 * STORE_SCAN_ROWS items of the list have the words; the ids the
	 * index finds and their relevance), and the load of those ids */
	char *search_probe, *search_ids, *search_load;
	char *list_fts; /* list, stopped after STORE_FTS_ROWS rows: q through the index */
	char *list_scan; /* list, stopped after STORE_SCAN_ROWS rows: is a word common? */
	unsigned ncols;  /* columns a row is selected with: version ncols-2, sort key ncols-1 */
	unsigned nwrite; /* parameters an item's write binds (before id, municipality) */
	unsigned filter_marks[PORTAL_LIST_FILTERS]; /* '?' in each filter's condition */
	const char **readonly; /* the server's members, NULL-terminated */
	struct portal_field *schema; /* the module's fields and the core's `sources` */
	/* the module's filters, then one per PF_SLUG member (the declared one
	 * of its name, or the core's), NULL-name-terminated */
	struct portal_filter *filters;
	char *filter_texts; /* the core's filters' conditions and descriptions */
	char *listed; /* made of the item's `published` rule, or NULL */
	const struct portal_item *decl; /* the module's declaration, its own hooks */
	struct portal_item item; /* the declaration with the hooks above filled in, and the
	                          * core's of the declared features (store_build) */
};
/* A word of `q` is common when the FULLTEXT index hands over more than
 * this many rows (of every municipality): then the list's own order with
 * the LIKE terms answers (store_list). */
#define STORE_FTS_ROWS 10000
/* ... and a word is common when the list's own order finds a full page of
 * it within this many rows: that page is the answer, the index is not
 * asked (its work for a word in every one of a million news is longer
 * than statement_timeout, before a single row is examined). */
#define STORE_SCAN_ROWS 100
#define STORE_SCAN_PAGE 20 /* the search across modules: a common word's items per module */
#define STORE_SEARCH_MAX 100 /* the search across modules: at most so many items per module */
/* ... where a word is common when more than a fifth of the first
 * STORE_SEARCH_PROBE items of a module's list have it (reading them is
 * most of the cost of a rare word's search: 100 items of each module
 * took about 1 ms each of news and partnerships in `make bench-data`) */
#define STORE_SEARCH_PROBE 30
/* `sources`: the member the core adds to every item declared with a
 * table (store.c), its column (migrate.c), its schema (openapi.c). */
#define STORE_SOURCES "sources"
/* `uid`: the UUID the core gives every item declared with a table
 * (store.c), its column (migrate.c), its schema (openapi.c). */
#define STORE_UID "uid"
/* A new version 4 UUID (libsodium's randombytes), lower case. */
void store_new_uid(char out[37]);
/* 1 when s is a UUID as store_new_uid writes them. */
int store_uid_ok(const char *s);
/* The id of the item of r's module and municipality with this uid; 0 when
 * none (or not a uid), -1 when the database failed. */
long long store_id_of_uid(portal_req *r, const char *uid);
#define STORE_SOURCES_MAX 20
extern const struct portal_field store_sources;
/* The statements of `it` (with `table`); NULL when out of memory. */
struct store_sql *store_build(const struct portal_item *it);
void store_free(struct store_sql *q);
/* The hooks of struct portal_item, for r->plugin's item. */
int store_load(portal_req *r, long long id, int for_update, struct json_object **item,
               long long *version);
int store_list(portal_req *r, const struct portal_list *l, struct json_object *items, int *more,
               const char **last_key);
long long store_insert(portal_req *r, struct portal_write *w);
int store_update(portal_req *r, struct portal_write *w);
int store_exists(portal_req *r, long long id);
int store_remove(portal_req *r, long long id);
/* Up to `max` items of plugin p that l->match and l->terms find, as the
 * caller may see them (p's `listed` and visible hook), best first:
 * {"module", "id", "score", "item", "text"} appended to out. */
int store_search(portal_req *r, portal_plugin *p, const struct portal_list *l, int max,
                 struct json_object *out);
/* The same for each of the n plugins ps[i] into outs[i], in a few
 * statements whatever n is (max <= STORE_SEARCH_MAX). */
int store_search_all(portal_req *r, portal_plugin *const *ps, size_t n, const struct portal_list *l,
                     int max, struct json_object *const *outs);
/* A JSON number printed as the shortest text that reads back as d. */
struct json_object *store_new_double(double d);
struct json_object *store_row_object(portal_stmt *s, unsigned first,
                                     const struct portal_field *fields);
unsigned store_bind_object(portal_req *r, portal_stmt *s, unsigned first,
                           const struct portal_field *fields, struct json_object *o);

/* ---- openapi.c ---- */
extern const char core_openapi[]; /* core/server/openapi.json, compiled in */
/* Merges the core's description with every plugin's fragment.  Returns a
 * malloc'ed JSON text, or NULL after logging what was wrong. */
char *openapi_build(struct plugins *ps);
int openapi_register(portal_plugin *p, const char *json);
/* ---- schema.c: the JSON Schemas of a declared item, for openapi.c ---- */
/* Adds to `schemas` the item's NOUN, NOUNItem (a link target), NOUNList,
 * NOUNInput and NOUNPatch (CamelCase noun: "news item" -> NewsItem) that
 * it does not already hold. */
void schema_item(struct json_object *schemas, const portal_plugin *p);
/* "NOUN" + suffix into out. */
void schema_name(const portal_plugin *p, const char *suffix, char *out, size_t n);
/* {"member path": "module"} of the fields' `link`s (a new object). */
/* The list's query parameters of the item's filters (a new array). */
struct json_object *schema_filters(const portal_plugin *p);

/* ---- search.c ---- */
char *search_fold(portal_req *r, const char *s);
/* The letters search_fold makes of the character at s ("ss" for ß), and
 * its length in *n; NULL when it keeps the character. */
const char *search_fold_char(const char *s, size_t *n);
int search_terms(portal_req *r, const char *q, const char **terms, int max);
/* The FULLTEXT index over search_text (migrate.c adds it to every
 * module's table): `q` as a boolean-mode query of word prefixes, or NULL
 * when no word of q is long enough for the index. */
#define SEARCH_MIN_CHARS 3 /* innodb_ft_min_token_size */
#define SEARCH_MAX_WORDS 8
const char *search_match(portal_req *r, const char *q);

/* ---- idem.c ---- */
/* 1 when the request was answered from a stored Idempotency-Key answer (or
 * refused for its key); 0 to go on. */
/* The request's Idempotency-Key (unquoted), or NULL when none was sent;
 * *bad set when it is not 1..200 visible ASCII characters. */
const char *idem_key(struct portal_req *r, int *bad);
int idem_replay(struct core *c, struct portal_req *r);
/* Stores the handler's 2xx answer under the request's key, in its
 * transaction.  PORTAL_ERROR when that failed (a concurrent twin). */
int idem_store(struct core *c, struct portal_req *r);
/* After a POST that stored a key (its answer written): deletes keys older
 * than core.idempotency_ttl, each by its primary key, outside any
 * transaction. */
void idem_purge(struct core *c, struct portal_req *r);

/* ---- audit.c ---- */
int audit_record(struct portal_req *r, const char *action, long long id, struct json_object *before,
                 struct json_object *after);
void audit_list(struct core *c, struct portal_req *r);
/* One item's history, newest first: [{"id", "at", "action", "user",
 * "token_id", "before", "after"}] (request memory).  PORTAL_ERROR when the
 * database failed. */
int audit_history(struct portal_req *r, const char *slug, const char *module, long long id,
                  struct json_object **out);

/* ---- tmpl.c: logic-less templates, escaping by default ---- */
enum tmpl_mode { TMPL_TEXT, TMPL_HTML, TMPL_XML, TMPL_CSV, TMPL_ICS, TMPL_JSON };
struct tmpl;
struct tmpl_env {
	const char *lang, *fallback_lang; /* for the lang filter */
	struct json_object *messages;     /* the language's catalogue (month names for date) */
	struct json_object *labels;       /* the module's words for codes (label filter), or NULL */
	struct json_object *root;         /* outermost context (site, municipality, t), or NULL */
	const struct tmpl *(*partial)(void *ctx, const char *name);
	void *ctx;
};
/* Compiles `text`; the mode comes from the name's extension (.html,
 * .atom/.xml/.svg, .csv, .ics, .json/.geojson/.jsonld).  NULL with
 * "name:line: what" in err on a syntax error. */
struct tmpl *tmpl_compile(const char *name, const char *text, char *err, size_t errlen);
void tmpl_free(struct tmpl *t);
enum tmpl_mode tmpl_mode_of(const char *name);
const char *tmpl_name(const struct tmpl *t);
int tmpl_render(const struct tmpl *t, struct json_object *data, const struct tmpl_env *env,
                struct buf *out);
/* The country and language names of |country and |language, parsed once
 * (pages_init; else on first use).  PORTAL_OK or PORTAL_ERROR (logged). */
int tmpl_names_init(void);
/* The country names, {"LV": {"sv": "Lettland", "da": ..., "en": ...}, ...}
 * (the filter forms' choices); NULL when they are not there. */
struct json_object *tmpl_countries(void);

/* ---- pages.c: HTML pages from the API's answers and templates ---- */
int pages_init(void); /* the core's templates and catalogue, once */
/* s (NUL-terminated) with CRLF line ends and lines of at most 75 octets
 * (RFC 5545 3.1), not splitting a UTF-8 character; *len its length. */
char *pages_ics_fold(struct pool *pool, const char *s, size_t *len);

/* ---- map.c ---- */
int map_init(void);             /* the outline path, once; pages_init calls it */
const char *map_outline(void);  /* SVG path data of the country outlines */
void map_size(double *width, double *height); /* the viewBox */
/* 1 with (x, y) in the viewBox when (lat, lon) is inside the map's box */
int map_project(double lat, double lon, double *x, double *y);

int pages_register(portal_plugin *p, const char *name, const char *text);
int pages_messages(portal_plugin *p, const char *json);
void pages_forget(const portal_plugin *p);
/* A request a page makes through the JSON API as the page's caller (the
 * signed-in user, for the editor): a GET for its parts, a write for a
 * form.  The dispatcher's dispatch_sub runs it; pages do not call the
 * dispatcher by name.  The answer is in the returned request. */
struct pages_call {
	const char *method;   /* NULL: GET */
	const char *path;     /* "/api/v1/{m}/{module}[/{id}]" */
	const char *query;    /* encoded, or NULL */
	const char *body;     /* JSON text of a POST or PATCH, or NULL */
	const char *if_match; /* or NULL */
	const char *idem_key; /* a POST's Idempotency-Key, or NULL */
	/* instead of body: a file sent as the body (an upload the editor
	 * received, to POST /api/v1/{m}/media), its type and size */
	const char *body_file, *body_type;
	long long body_bytes;
};
typedef struct portal_req *(*pages_api_fn)(struct core *c, struct portal_req *r,
                                           const struct pages_call *call);
/* PORTAL_DONE when the request was a page (or static file) and is
 * answered, PORTAL_DECLINED when it is not a page. */
int pages_dispatch(struct core *c, struct portal_req *r, pages_api_fn api);
/* /api/v1/{m}/{module}.{ext} through the module's list.{ext} template;
 * PORTAL_DONE when answered, PORTAL_DECLINED when the module has no such
 * template. */
int pages_export(struct core *c, struct portal_req *r, const char *module, const char *ext,
                 pages_api_fn api);

/* ---- find.c: the search across modules ---- */
/* GET /api/v1/{m}/search?q=&limit=&cursor= for r (its municipality,
 * database and role set): ranked results of every enabled module with a
 * table, {"items": [{module, id, title, snippet, url}], "next"}; 422
 * naming q or cursor. */
void find_api(struct core *c, struct portal_req *r);

/* ---- transfer.c: portalctl export / import ---- */
struct transfer_opts {
	int quiet;    /* no progress, no summary */
	int dry_run;  /* import: check every record, then roll back */
	int progress; /* import: a progress bar (stderr is a terminal) */
	int new_uids; /* import: new uids (a copy within one installation), not the document's */
};
/* Writes municipality `slug`'s items of every enabled module as one JSON
 * document to `out`.  0, or 1 after saying why on stderr. */
int transfer_export(struct core *c, const char *slug, FILE *out, const struct transfer_opts *o);
/* A new file for an export, mode 0600 whatever the umask (it holds drafts,
 * non-public items and contact details), never through a symbolic link. */
FILE *transfer_fopen_private(const char *path);
/* Writes DIR/{module}.csv for every enabled module with a CSV export. */
int transfer_export_csv(struct core *c, const char *slug, const char *dir,
                        const struct transfer_opts *o);
/* Creates the records of the document in `path` in municipality `slug`,
 * all in one transaction: every record, or (on any error, named on
 * stderr) none.  0, or 1. */
int transfer_import(struct core *c, const char *slug, const char *path, const struct transfer_opts *o);

/* ---- api.c ---- */
/* The table the item lifecycle (item.c) and the derived stores (store.c)
 * work through, as plugins do; the loader hands it over before any init. */
void item_use_api(const struct portal_api *a);
void store_use_api(const struct portal_api *a);
extern const struct portal_api api_table;

#endif /* CORE_H */
