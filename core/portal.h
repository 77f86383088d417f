/*
 * portal.h - the one header a plugin includes.
 *
 * A plugin is a shared object exporting one symbol, `portal_module`, a
 * `struct portal_module` that begins with PORTAL_MODULE_V1.  The core reads
 * that descriptor (data only) and refuses the plugin when the magic, the ABI
 * version or the build signature differ from its own, before calling any of
 * the plugin's functions.  It then calls init() with a table of core services
 * (`struct portal_api`, after SQLite's sqlite3_api_routines): a plugin never
 * links against libfcgi or the database driver, and everything it may do
 * goes through that table.  The table only ever grows at its end; `size`
 * tells a plugin which members exist (PORTAL_API_HAS).
 *
 * Return codes, one family everywhere (as nginx): PORTAL_OK (0) on success,
 * PORTAL_ERROR (-1) on failure, PORTAL_DONE (-4, nginx's NGX_DONE) when a
 * function has answered the request itself (a 304, 409, 412 ...) and the
 * caller only returns, PORTAL_DECLINED (-5) when a request is not the
 * function's to answer.  Functions that answer a question say so.
 *
 * Memory: everything a handler gets from the core (strings, statements,
 * JSON from body()/query) belongs to the request and is released by the core
 * after the response.  Handlers allocate with api->alloc / api->strdup /
 * api->printf and never free.  JSON objects handed to the core (respond,
 * audit) are owned by the core from that call on.
 */
#ifndef PORTAL_H
#define PORTAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <json.h>

#define PORTAL_OK 0
#define PORTAL_ERROR (-1)
#define PORTAL_DONE (-4) /* answered already: the caller stops and returns */
#define PORTAL_DECLINED (-5) /* not this one's to answer: the caller tries the next */

#define PORTAL_MODULE_MAGIC 0x50525431u /* "PRT1" */
/* 2: portal_field grew doc, link, pattern; portal_filter doc, pattern, example;
 * 3: portal_field grew from, portal_item published, portal_filter member,
 *    portal_item own_answer */
#define PORTAL_ABI_VERSION 3u

/* What must match between core and plugin beyond the ABI version: the
 * json-c major/minor (JSON objects cross the boundary) and pointer size. */
#define PORTAL_STR_(x) #x
#define PORTAL_STR(x) PORTAL_STR_(x)
#define PORTAL_BUILD_SIG                                                       \
	"abi=" PORTAL_STR(PORTAL_ABI_VERSION) ",json-c=" PORTAL_STR(             \
	    JSON_C_MAJOR_VERSION) "." PORTAL_STR(JSON_C_MINOR_VERSION) ",ptr=" PORTAL_STR(__SIZEOF_POINTER__)

#define PORTAL_MODULE_V1 PORTAL_MODULE_MAGIC, PORTAL_ABI_VERSION, PORTAL_BUILD_SIG

#if defined(__GNUC__)
#define PORTAL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PORTAL_PRINTF(f, a)
#endif

typedef struct portal_req portal_req;       /* one HTTP request */
typedef struct portal_stmt portal_stmt;     /* one prepared statement */
typedef struct portal_plugin portal_plugin; /* the core's handle on a plugin */
struct portal_api;
struct portal_bundle;

/* Roles, ordered: a higher role may do everything a lower one may. */
enum portal_role {
	PORTAL_ROLE_NONE = 0, /* anonymous, or a token of another municipality */
	PORTAL_ROLE_READER = 1, /* also sees drafts and unpublished items */
	PORTAL_ROLE_EDITOR = 2, /* writes content */
	PORTAL_ROLE_ADMIN = 3   /* also manages tokens and reads the audit log */
};

enum portal_log_level { PORTAL_LOG_ERR = 0, PORTAL_LOG_WARN, PORTAL_LOG_INFO, PORTAL_LOG_DEBUG };

/*
 * Routes.  `pattern` is relative to the municipality prefix /api/v1/{m}/ and
 * starts with the plugin's name: "partnerships", "partnerships/{id}".  A
 * segment "{name}" captures one path segment, read with api->param().
 * The core answers 404 for an unknown municipality or one that has not
 * enabled the plugin, enforces `min_role` (401 without a valid token, 403
 * with a token lacking the role or the municipality), parses a JSON body for
 * POST/PUT/PATCH (400/413/415 before the handler runs), and runs every
 * non-GET handler inside one database transaction that it commits only when
 * the handler answered with a 2xx status.
 */
typedef int (*portal_handler)(portal_req *r);

struct portal_route {
	const char *method;  /* "GET", "POST", "PATCH", "DELETE", "PUT" */
	const char *pattern; /* e.g. "partnerships/{id}" */
	portal_handler handler;
	int min_role; /* enum portal_role; writes use PORTAL_ROLE_EDITOR */
	const char *summary; /* one line, for logs and the API description */
};

/*
 * Declarative validation (after kcgi's kvalid): a body is checked against a
 * NULL-terminated array of fields.  Unknown members are errors, every error
 * names its field path ("partner.country", "agreements[1].date"), and
 * validation never stops at the first error.
 */
enum portal_ftype {
	PF_STRING,  /* single-line text, 1..max bytes (default 200), no control chars */
	PF_TEXT,    /* multi-line text, 0..max bytes (default 20000) */
	PF_INT,     /* integer within [min, max] */
	PF_NUMBER,  /* number within [min, max] */
	PF_BOOL,
	PF_ENUM,    /* string, one of `values` */
	PF_DATE,    /* partial date: YYYY, YYYY-MM or YYYY-MM-DD, a real one */
	PF_COUNTRY, /* ISO 3166-1 alpha-2, upper case */
	PF_LANG,    /* BCP 47 language tag, e.g. "sv", "da", "en", "ro-MD" */
	PF_CURRENCY,/* ISO 4217, e.g. "SEK", "EUR" */
	PF_URL,     /* absolute http(s) URL, max bytes (default 2000) */
	PF_QID,     /* Wikidata item id, "Q" followed by digits */
	PF_LANGMAP, /* object {lang: text}, keys PF_LANG, values PF_TEXT(max) */
	PF_OBJECT,  /* object with members `fields` */
	PF_ARRAY    /* array (at most max items, default 100) of `items` */
};

#define PF_REQUIRED 0x1u /* must be present (on create, and after a merge patch) */
#define PF_NULLABLE 0x2u /* null is accepted (and means "not known") */
#define PF_UNIQUE   0x4u /* for arrays: items must be distinct; for a PF_STRING of an item
                         * with a table: no other item of the municipality has the value
                         * (409 naming the member, before the write and when a UNIQUE
                         * key refuses it) */
/* For an item declared with a table (struct portal_item's `table`): */
#define PF_SEARCH   0x8u  /* `q` searches it: a string, each text of a PF_LANGMAP, each
                           * string of an array (members of objects say for themselves) */
#define PF_READONLY 0x10u /* the server's member: shown (null until the item's render
                           * hook sets it), never written by a client nor validated */
#define PF_SHAPED   0x20u /* an array of objects shown with exactly the declared members
                           * (null for a missing one), in declared order */
#define PF_UTC      0x40u /* a timestamp "YYYY-MM-DDTHH:MM:SSZ" kept in a DATETIME column */
#define PF_EXTERNAL 0x80u /* not in the item's row: the module keeps it (loaded, saved) */
#define PF_MARKDOWN 0x100u /* a PF_TEXT written in Markdown: the editor offers a preview */
#define PF_DERIVED  0x200u /* the item's prepare hook fills it in when a create leaves it out
                           * (or null): optional in the POST body the document describes */
#define PF_KEPT     0x400u /* optional, but a merge patch may not remove it alone (the
                           * module's check needs it or another member): no null in the
                           * Patch schema; its .doc says what goes with it */
#define PF_SLUG     0x800u /* a PF_STRING that is a slug (api->is_slug, at most `max` bytes;
                           * PORTAL_SLUG_PATTERN in the document), checked after the
                           * schema; with a table, the list gets a filter of the member's
                           * name (exact match); with `from`, made of that member on a
                           * create that leaves it out or null (api->slugify, the first
                           * free of -2 .. -50 when PF_UNIQUE) */

struct portal_field {
	const char *name;
	enum portal_ftype type;
	unsigned flags;
	size_t max;                        /* bytes for strings, items for arrays; 0 = default */
	double min, max_num;               /* for PF_INT / PF_NUMBER */
	const char *const *values;         /* PF_ENUM: NULL-terminated */
	const struct portal_field *fields; /* PF_OBJECT: NULL-name-terminated array */
	const struct portal_field *items;  /* PF_ARRAY: the one element schema */
	/*
	 * Where an item declared with a table keeps the member (the core
	 * derives SELECT, INSERT, UPDATE, the binding and the item's JSON from
	 * it): the column `column`, by default the member's name; for
	 * PF_LANGMAP, PF_ARRAY and a PF_OBJECT with a column, a JSON column.  A
	 * PF_OBJECT without a column keeps each member in a column of its own
	 * and shows {} of them, or null when it is PF_NULLABLE and its first
	 * member's column is NULL.  PF_EXTERNAL and PF_READONLY members are not
	 * in the row: an array shows [] and anything else null until a hook
	 * (loaded, render) fills it in; saved() writes it.
	 */
	const char *column;
	/* What the OpenAPI document says of the member besides what the rest
	 * of the field says (its type, length, enum ...: the core derives
	 * those): its "description".  NULL: none. */
	const char *doc;
	/* The module whose items' ids the member holds ("partnerships"; on
	 * an array, its items): the core names it in the document's
	 * "x-portal-links", which the editor and export/import read.  A
	 * module still checks and stores its links itself (check, written). */
	const char *link;
	/* The JSON Schema "pattern" of a PF_STRING the module's own hook
	 * checks further ("YYYY-H1"): for the document.  NULL: none. */
	const char *pattern;
	/* The member this one is made of, by the core, for an item with a
	 * table: a PF_SLUG's text to slugify on create ("title"), or a
	 * PF_READONLY member's PF_MARKDOWN source ("body"), which every read
	 * shows as safe HTML (api->markdown; null when the source is).  NULL:
	 * none. */
	const char *from;
};

/* What the international work of a municipality is about: one vocabulary
 * for every module's `areas`, so `area` means the same on each list.
 * static const char *const m_areas[] = {PORTAL_AREAS, NULL}; */
#define PORTAL_AREAS                                                                        \
	"education", "culture", "environment", "climate", "energy", "public_health",             \
	    "social_welfare", "democracy", "business", "trade", "labour_market", "youth", "sport", \
	    "tourism", "research", "digitalisation", "gender_equality", "emergency_services",      \
	    "infrastructure", "rural_development", "urban_development"
#define PORTAL_NAREAS 21

/* What api->is_slug accepts, as a JSON Schema pattern (a field's `pattern`). */
#define PORTAL_SLUG_PATTERN "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"

/* Plugin settings, checked by the core in the plugin's section and in every
 * municipality's override of it (`portald -t` reports file:line). */
enum portal_stype { PS_INT, PS_BOOL, PS_STRING };

struct portal_setting {
	const char *name;
	enum portal_stype type;
	long long min, max;  /* PS_INT bounds */
	long long def_int;   /* PS_INT / PS_BOOL default */
	const char *def_str; /* PS_STRING default */
	const char *help;
};

/* The descriptor.  Grow it only at the end, into `spare`. */
struct portal_module {
	uint32_t magic;        /* PORTAL_MODULE_MAGIC */
	uint32_t abi_version;  /* PORTAL_ABI_VERSION the plugin was built with */
	const char *build_sig; /* PORTAL_BUILD_SIG the plugin was built with */
	const char *name;      /* module name; also its URL segment and config section */
	const char *version;   /* the plugin's own version */
	const struct portal_setting *settings; /* NULL-name-terminated, or NULL */
	/* Registers routes and migrations.  Returns PORTAL_OK, or PORTAL_ERROR
	 * after api->log() said why; the core then unloads the plugin and
	 * forgets everything it registered. */
	int (*init)(portal_plugin *p, const struct portal_api *api);
	void (*fini)(portal_plugin *p); /* may be NULL */
	void *spare[8];
};

/* A plugin exports exactly this symbol. */
#define PORTAL_MODULE_SYMBOL "portal_module"

/* What the Makefile embeds of plugins/NAME/ (tools/embed-*.sh): the
 * templates and migrations. */
struct portal_file {
	const char *name, *text;
};
struct portal_migration_src {
	unsigned version;
	const char *name;
	const char *sql;
};

/* The members api->file_entry adds, as lines of a field table: a
 * module's read-only "documents" declares its own members (which report,
 * attachment ...), then these. */
#define PORTAL_FILE_ENTRY_FIELDS                                                               \
	{.name = "id", .type = PF_INT}, {.name = "url", .type = PF_STRING},                        \
	    {.name = "name", .type = PF_STRING}, {.name = "type", .type = PF_STRING},              \
	    {.name = "bytes", .type = PF_INT}, {.name = "size", .type = PF_STRING}

#define PORTAL_API_HAS(api, member)                                            \
	((api)->size >= offsetof(struct portal_api, member) + sizeof((api)->member))

/*
 * The item lifecycle.  A module whose items are read, listed, created,
 * changed with a merge patch and deleted declares a `struct portal_item`
 * (its fields, and with `table` the store derived from them) and hands it
 * to api->item() in init (PORTAL_PLUGIN does); the core then registers the five
 * routes ("NAME", "NAME/{id}") and runs them, the same way for every module:
 *
 *   GET    NAME        filters, q, limit, keyset cursor -> list(); 422 names
 *                      each bad argument; {"items": [...], "next": cursor}
 *   GET    NAME/{id}   load(), visible(), ETag / If-None-Match (304),
 *                      "linked" when the module is a link target
 *   POST   NAME        body an object; read-only members rejected then
 *                      stripped; `defaults` added; prepare(); the schema;
 *                      check(); 422 "the NOUN is not valid"; before_write();
 *                      insert(); load(); written(); audit "create"; 201
 *                      with Location and ETag
 *   PATCH  NAME/{id}   load() FOR UPDATE, visible(), If-Match (412); the
 *                      patch an object, read-only members rejected, unknown
 *                      members set to null rejected; the stored item minus
 *                      read-only members, merge-patched; prepare(); the
 *                      schema; check(); 422 "the NOUN would not be valid
 *                      after this patch"; before_write(); update(); load();
 *                      written(); audit "update"; 200 with ETag
 *   DELETE NAME/{id}   load() FOR UPDATE, visible(), If-Match (412);
 *                      link_guard (409) when a link target; remove();
 *                      link_forget; audit "delete"; 204
 *
 * With `table`, what the declaration asks (PF_SLUG, PF_UNIQUE, `from`,
 * `published`, a filter's `member`) the core does first in each step:
 * the draft rule before visible(), a slug made before prepare(), checked
 * before check(), free (409) before before_write(), the HTML of Markdown
 * before render().
 *
 * An {id} that is not a positive decimal of at most 18 digits, an item
 * load() does not find and one visible() hides all answer 404 "M has no
 * NOUN ID".  Hooks answer PORTAL_ERROR only when the database failed (the
 * core then answers 500/503); every JSON object in a portal_write belongs
 * to the request.
 */

/* One write as it passes through the hooks. */
struct portal_write {
	long long id;               /* the item's id; 0 on a create until insert() */
	struct json_object *before; /* PATCH: the stored item, as load() gave it; NULL on POST */
	struct json_object *patch;  /* PATCH: the merge patch; NULL on POST */
	struct json_object *doc;    /* the item to write: body or patched item, without read-only members */
	struct json_object *item;   /* after the write: the stored item, as load() gives it */
	void *data;                 /* the plugin's, from one hook to the next (request memory) */
};

#define PORTAL_LIST_FILTERS 8 /* filters of one list at the most */
#define PORTAL_LIST_TERMS 4   /* words of `q` matched separately */

/* A list's arguments as the core read them, for list(). */
struct portal_list {
	const char *arg[PORTAL_LIST_FILTERS]; /* per filter, in declared order: the value, NULL: any */
	const char *terms[PORTAL_LIST_TERMS]; /* LIKE patterns of `q` (api->search_terms), NULL: none */
	const char *after_key; /* keyset cursor: the last sort key given out, NULL: from the start */
	long long after_id;    /* ... and the last item's id */
	int limit;             /* 1..100 */
	int insider;           /* 1 when the caller's role is reader or higher */
	/* With a table: only items changed at or after this UTC time
	 * ("YYYY-MM-DD HH:MM:SS[.fff]", from `updated_since`), NULL: any */
	const char *updated_since;
	/* With a table: the all-list's municipalities, "a,b" (NULL: the
	 * request's) */
	const char *municipalities;
	/* `q` for the FULLTEXT index over search_text (the core adds it to the
	 * table of every item declared with one): "+word* +word*" in boolean
	 * mode, each word of at least 3 characters a required prefix; NULL
	 * when q has no such word.  The terms above still apply (each word a
	 * substring): a derived list asks for both. */
	const char *match;
};

/* A list filter: query argument `name`.  With `parse`, parse decides (the
 * value to use, possibly rewritten, or NULL after recording a field error
 * named after the argument; earlier filters' values are in l->arg).
 * Without: `type` PF_ENUM (one of `values`), PF_COUNTRY, PF_DATE (a
 * partial date) or PF_LANG, with the core's messages. */
struct portal_filter {
	const char *name;
	enum portal_ftype type;
	const char *const *values;
	const char *(*parse)(portal_req *r, struct portal_list *l, const char *value);
	/* With a table: the condition over the row `t`, each ? bound to the
	 * value ("t.kind = ?", "JSON_CONTAINS(t.areas, JSON_QUOTE(?))"); the
	 * core switches it off while the argument is absent. */
	const char *sql;
	/* For the OpenAPI document: the query parameter's "description", the
	 * "pattern" of a string the parse hook checks, and an "example". */
	const char *doc;
	const char *pattern;
	const char *example;
	/* With a table: the items whose array member `member` ("areas") holds
	 * the value; the core writes the condition (JSON_CONTAINS on its
	 * column) unless `sql` is given, and a filter without `type` and
	 * `values` takes its items' (an enum's values, PF_LANG ...). */
	const char *member;
};

/* A column an item's row keeps besides its members (a sort key, a
 * period), made of the valid item: `value`'s text (a request string or a
 * literal; NULL for SQL NULL), or else made of the member `member`
 * ("start_date", "partner.name"; `fallback` when it is absent) as `how` says. */
enum portal_derive {
	PC_TEXT,      /* the member's text, NULL when absent */
	PC_SORT,      /* the member's text, "" when absent (sorts first, last descending) */
	PC_FIRST_DAY, /* a partial date's first day, YYYY-MM-DD */
	PC_LAST_DAY   /* a partial date's last day */
};

struct portal_column {
	const char *name;
	const char *(*value)(portal_req *r, struct json_object *doc);
	const char *member, *fallback;
	enum portal_derive how;
};

struct portal_item {
	const char *noun;         /* one item in messages: "partnership", "news item" */
	const char *list_summary; /* the list route's summary, e.g. "list visits (direction, ...)" */
	const struct portal_field *schema; /* the item as a client writes it */
	/* server-owned members (NULL-terminated): rejected, stripped; NULL
	 * with `table`: id, municipality, the PF_READONLY fields, created_at,
	 * updated_at, version, and linked on a link target */
	const char *const *readonly;
	const char *defaults; /* JSON object text: members a POST gets when absent; NULL: none */
	const struct portal_filter *filters; /* the list's, NULL-name-terminated; NULL: none */
	/* 1 when `key` is a sort key list() gives out (a cursor's first key);
	 * NULL: any string. */
	int (*cursor_key)(const char *key);

	/* --- the store: the plugin's SQL (NULL with `table`: derived) --- */
	/* Item `id` of the request's municipality into *item (the request's)
	 * and its version; `for_update` locks the row.  1 found, 0 not,
	 * PORTAL_ERROR. */
	int (*load)(portal_req *r, long long id, int for_update, struct json_object **item,
	            long long *version);
	/* Appends up to l->limit items to `items` (which owns them), sets
	 * *more when further items follow and *last_key to the last item's
	 * sort key (a request string).  PORTAL_OK or PORTAL_ERROR. */
	int (*list)(portal_req *r, const struct portal_list *l, struct json_object *items, int *more,
	            const char **last_key);
	/* Writes w->doc as a new item: its id; PORTAL_DONE after answering
	 * (e.g. 409 on a UNIQUE key); PORTAL_ERROR. */
	long long (*insert)(portal_req *r, struct portal_write *w);
	/* Writes w->doc over item w->id and bumps its version: PORTAL_OK;
	 * PORTAL_DONE after answering; PORTAL_ERROR. */
	int (*update)(portal_req *r, struct portal_write *w);
	int (*remove)(portal_req *r, long long id); /* PORTAL_OK or PORTAL_ERROR */
	/* Set: the module is a link target (api->link_target with this hook),
	 * single items carry "linked" and a linked item is not deleted (409). */
	int (*exists)(portal_req *r, long long id);

	/* --- the module's own rules, each may be NULL --- */
	/* 0 when the caller may not see `item` (non-public items; drafts:
	 * `published`): 404. */
	int (*visible)(portal_req *r, struct json_object *item);
	/* Before the schema: derive members (pages' key from its slug). */
	int (*prepare)(portal_req *r, struct portal_write *w);
	/* After the schema: rules across members and links; records field
	 * errors (the core answers 422); may normalise w->doc. */
	int (*check)(portal_req *r, struct portal_write *w);
	/* Once the item is valid, before the write: PORTAL_OK to go on,
	 * PORTAL_DONE after answering (409), PORTAL_ERROR. */
	int (*before_write)(portal_req *r, struct portal_write *w);
	/* After the write, w->item loaded: store links (api->link_set). */
	int (*written)(portal_req *r, struct portal_write *w);

	/*
	 * --- or the store derived from the declaration ---
	 * With `table` set and load, list, insert, update and remove NULL, the
	 * core runs them from `schema`'s columns.  The table has the columns
	 * id (AUTO_INCREMENT), municipality, version, created_at, updated_at
	 * (DATETIME(3), UTC), search_text (the PF_SEARCH members, folded), the
	 * members' and `columns`; an item shows id and municipality, its
	 * members and created_at, updated_at and version, in that order.
	 */
	const char *table;
	const struct portal_column *columns; /* NULL-name-terminated, or NULL */
	const char *sort;      /* the list's key over the row `t`, e.g. "t.sort_name" */
	const char *sort_text; /* how a cursor shows the key (SELECT); NULL: `sort` */
	int sort_desc;         /* 1: highest key first */
	/* The rows everyone may list, over the row `t` ("t.public = 1"); the
	 * rest only readers and higher.  NULL: every row. */
	const char *listed;
	int link_target; /* 1: other modules link to the items (`exists` from the table) */
	size_t cursor_max; /* a cursor's sort key has at most this many bytes; 0: any */
	/* After the row was written (w->id set), before it is loaded: what
	 * the module keeps in tables of its own.  PORTAL_OK or PORTAL_ERROR. */
	int (*saved)(portal_req *r, struct portal_write *w);
	/* After n rows were read into items (their ids in ids): members from
	 * the module's own tables, i.e. the PF_EXTERNAL and PF_READONLY ones.
	 * In a list answered as JSON (not a page's part) the items hold only
	 * "id" and those members; the rest is the row's text, written as it
	 * is (store.c).  PORTAL_OK or PORTAL_ERROR. */
	int (*loaded)(portal_req *r, struct json_object *const *items, const long long *ids,
	              size_t n);
	/* Each item read: its PF_READONLY members.  PORTAL_OK or PORTAL_ERROR. */
	int (*render)(portal_req *r, struct json_object *item);
	/* A UNIQUE key refused the write (a concurrent twin): answer (409).
	 * NULL with a PF_UNIQUE member: the core's 409 naming the first. */
	int (*conflict)(portal_req *r, struct portal_write *w);
	/* The catalogue's (GET /api/v1/catalog.jsonld) EU data theme of the
	 * module's datasets: "INTR" (international issues), "ECON" ...; NULL:
	 * "GOVE" (government and public sector). */
	const char *theme;
	/* Drafts, with a table: an item is public only while its member
	 * `member` is `value` ({"status", "published"}), or without a value,
	 * while its PF_BOOL member is true ({.member = "public"}); for a
	 * caller below PORTAL_ROLE_READER any other item answers 404 (before
	 * the module's visible hook) and is not listed (`listed`, when NULL,
	 * is made of it: "t.status = 'published'", "t.public = 1").  NULL
	 * member: every item is public. */
	struct portal_published {
		const char *member, *value;
	} published;
	/* 1: an item's answer (GET .../{id}) is made of its row, its own
	 * tables, uploaded files and what links to and from it, and of no
	 * other item's row (pages show their translations: 0).  The response
	 * cache then keeps it through writes to other items (README,
	 * "Response cache").  0: every write of the municipality outdates it. */
	int own_answer;
};

struct portal_api {
	uint32_t abi_version;
	size_t size; /* sizeof(struct portal_api) of the core */

	/* --- registration, only inside init() --- */
	int (*route)(portal_plugin *p, const struct portal_route *route);
	/* Migration `version` (1, 2, ...) of this plugin; SQL statements
	 * separated by ";" at line ends.  Applied in order by `portalctl
	 * migrate` and recorded in schema_migrations. */
	int (*migration)(portal_plugin *p, unsigned version, const char *name, const char *sql);
	/* Data kept for the plugin; handlers get it back with api->plugin_data(r). */
	void (*set_data)(portal_plugin *p, void *data);

	/* --- logging (a request's lines carry its request id) --- */
	void (*log)(portal_req *r, int level, const char *fmt, ...) PORTAL_PRINTF(3, 4);
	void (*plugin_log)(portal_plugin *p, int level, const char *fmt, ...) PORTAL_PRINTF(3, 4);

	/* --- the request --- */
	void *(*plugin_data)(portal_req *r);
	const char *(*municipality)(portal_req *r);    /* the {m} slug */
	const char *(*param)(portal_req *r, const char *name); /* path "{name}", or NULL */
	/* Query argument, percent-decoded and valid UTF-8; NULL when absent.
	 * A repeated argument: the first. */
	const char *(*query)(portal_req *r, const char *name);
	const char *(*header)(portal_req *r, const char *name); /* e.g. "If-Match"; NULL when absent */
	struct json_object *(*body)(portal_req *r); /* parsed body (POST/PATCH), owned by the request */
	int (*role)(portal_req *r); /* the caller's enum portal_role for this municipality */
	/* Setting `name` of this plugin for this request's municipality
	 * (override, else plugin section, else the declared default). */
	long long (*setting_int)(portal_req *r, const char *name);
	const char *(*setting_str)(portal_req *r, const char *name);

	/* --- request memory, released after the response --- */
	void *(*alloc)(portal_req *r, size_t n); /* zeroed */
	char *(*strdup)(portal_req *r, const char *s);
	char *(*printf)(portal_req *r, const char *fmt, ...) PORTAL_PRINTF(2, 3);
	/* json_object_put(obj) after the response. Returns obj. */
	struct json_object *(*keep)(portal_req *r, struct json_object *obj);

	/* --- validation --- */
	/* Checks `doc` against `schema` and records each problem on the
	 * request.  `prefix` (may be NULL) is prepended to field paths.
	 * Returns PORTAL_OK when nothing was wrong. */
	int (*validate)(portal_req *r, const struct portal_field *schema, struct json_object *doc,
	                const char *prefix);
	/* Records one problem on the request, for rules a schema cannot say. */
	void (*field_error)(portal_req *r, const char *field, const char *fmt, ...) PORTAL_PRINTF(3, 4);
	int (*has_errors)(portal_req *r);
	/* RFC 7396 merge patch: applies `patch` to `target` in place. */
	void (*merge_patch)(struct json_object *target, struct json_object *patch);

	/* --- responses --- */
	/* Sends `body` with `status` (takes ownership of body). */
	int (*respond)(portal_req *r, int status, struct json_object *body);
	/* Adds a response header (Location, ETag, ...). */
	void (*set_header)(portal_req *r, const char *name, const char *value);
	/* problem+json: {"type","title","status","detail"} plus "errors" when
	 * field errors were recorded.  Always returns PORTAL_OK, so handlers
	 * can `return api->problem(...)`. */
	int (*problem)(portal_req *r, int status, const char *fmt, ...) PORTAL_PRINTF(3, 4);
	/* Sets ETag for `version` of item `id` and checks the preconditions:
	 * on GET/HEAD a matching If-None-Match answers 304, on other methods a
	 * stale If-Match answers 412.  Returns PORTAL_OK when the request may
	 * go on, PORTAL_DONE when the core has answered (the handler then
	 * returns PORTAL_OK).  After a write, use set_etag for the new version. */
	int (*etag)(portal_req *r, long long id, long long version);
	/* Opaque list cursors: encode a JSON array of keys (the caller keeps
	 * `keys`; the string belongs to the request); decode answers NULL
	 * (after recording a "cursor" field error) when malformed, else an
	 * array owned by the request. */
	const char *(*cursor_encode)(portal_req *r, struct json_object *keys);
	struct json_object *(*cursor_decode)(portal_req *r, const char *cursor);
	/* The `limit` argument checked against 1..100 (default 20); records a
	 * "limit" field error and returns -1 when invalid. */
	int (*limit)(portal_req *r);

	/* --- database (prepared statements only) --- */
	/* A statement for `sql`, prepared once per worker and reused.  NULL on
	 * a database failure (the core answers 503/500 when the handler then
	 * returns PORTAL_ERROR).  Parameters are numbered from 0. */
	portal_stmt *(*prepare)(portal_req *r, const char *sql);
	/* bind_text keeps the pointer, not a copy: `v` must live until
	 * execute (a request string from api->strdup/printf, or a literal).
	 * NULL binds NULL. */
	int (*bind_text)(portal_stmt *s, unsigned i, const char *v);
	int (*bind_int)(portal_stmt *s, unsigned i, long long v);
	int (*bind_double)(portal_stmt *s, unsigned i, double v);
	int (*bind_null)(portal_stmt *s, unsigned i);
	int (*execute)(portal_stmt *s);
	/* 1 when a row was fetched, 0 at the end, PORTAL_ERROR on failure. */
	int (*fetch)(portal_stmt *s);
	const char *(*col_text)(portal_stmt *s, unsigned i); /* NULL for SQL NULL */
	long long (*col_int)(portal_stmt *s, unsigned i);
	double (*col_double)(portal_stmt *s, unsigned i);
	int (*col_is_null)(portal_stmt *s, unsigned i);
	/* JSON column parsed; NULL for SQL NULL.  Owned by the request. */
	struct json_object *(*col_json)(portal_stmt *s, unsigned i);
	long long (*insert_id)(portal_stmt *s);
	long long (*affected)(portal_stmt *s);
	/* Ends the use of a statement (frees its result) so it can be run again. */
	void (*done)(portal_stmt *s);

	/* --- audit: records a write in the same transaction --- */
	/* action: "create", "update", "delete".  before/after may be NULL; the
	 * core takes ownership. */
	int (*audit)(portal_req *r, const char *action, long long id, struct json_object *before,
	             struct json_object *after);

	/* --- reference data --- */
	int (*is_country)(const char *code); /* 1 when ISO 3166-1 alpha-2 */
	int (*is_partial_date)(const char *s); /* 1 when a valid partial date */

	/* ---- members below were added after the first release of ABI 1;
	 * test with PORTAL_API_HAS(api, member) before use ---- */

	/* ETag of a version the handler just wrote; checks nothing. */
	void (*set_etag)(portal_req *r, long long id, long long version);

	/*
	 * Links between modules (a visit's partnerships, a news item's
	 * projects).  A plugin whose items can be linked to declares it in init
	 * with link_target(); another plugin checks a link on write with
	 * link_exists() (same municipality, module enabled, item exists), stores
	 * it with link_set(), and the target shows what links to one of its
	 * items with links_to().  Plugins never read each other's tables.
	 */
	int (*link_target)(portal_plugin *p, int (*exists)(portal_req *r, long long id));
	/* 1 when item `id` of `module` exists in the request's municipality,
	 * 0 when not (or the module is not enabled there), PORTAL_ERROR when
	 * the database failed. */
	int (*link_exists)(portal_req *r, const char *module, long long id);
	/* Replaces the links from this plugin's item `from_id` to items of
	 * `to_module` with `ids` (n of them; n may be 0).  `title` (required)
	 * and `date` (partial date or ISO timestamp, may be NULL) are how the
	 * item is listed on the target; `is_public` 0 hides it from readers
	 * without a token of the municipality (drafts, non-public visits). */
	int (*link_set)(portal_req *r, long long from_id, const char *to_module, const long long *ids,
	                size_t n, const char *title, const char *date, int is_public);
	/* Forgets every link from and to item `id` of this plugin (on delete).
	 * A target refuses (409, link_guard below) to delete an item others
	 * link to, so no source keeps a dangling id: a relation is ended, not
	 * erased.  The ETag of a link target's item covers what links to it. */
	int (*link_forget)(portal_req *r, long long id);
	/* What links to item `id` of this plugin, as the caller may see it:
	 * {"projects": [{"id": 3, "title": "...", "date": "2024-09"}], ...},
	 * each list newest first.  Owned by the request; NULL on failure. */
	struct json_object *(*links_to)(portal_req *r, long long id);

	/* The plugin's part of the OpenAPI description: a JSON object with
	 * "paths" (relative to /api/v1/{municipality}, e.g. "/news/{id}") and
	 * optionally "tags" and "components"; merged by the core into
	 * GET /api/v1/openapi.json.  Only inside init(); the text must live as
	 * long as the plugin (a string literal).  For a declared item the core
	 * adds what the field table says (core/server/schema.c): the schemas
	 * NOUN, NOUNItem, NOUNList, NOUNInput, NOUNPatch the operations refer
	 * to, the list's and exports' query parameters, and "x-portal-links"
	 * on the POST operation ({"partners[].partnership_id": "partnerships"},
	 * from the fields' `link`), which `portalctl import` and the editor
	 * read; import also drops the members the item schema of GET
	 * "/{module}/{id}" shows and the POST request schema lacks. */
	int (*openapi)(portal_plugin *p, const char *json);

	/*
	 * Free-text search (`q` on a list).  Keep a column `search_text` with
	 * COLLATE utf8mb4_unicode_520_ci holding search_fold() of the item's
	 * texts; then search_terms() turns `q` into at most `max` LIKE
	 * patterns (each word must occur; use "... LIKE ? ESCAPE '!'") and
	 * returns how many, 0 for no `q`, or -1 after recording a "q" field
	 * error.  Chisinau finds Chișinău, koge finds Køge, strasse finds
	 * Straße.  Both return request strings.
	 */
	char *(*search_fold)(portal_req *r, const char *text);
	int (*search_terms)(portal_req *r, const char *q, const char **terms, int max);

	/* For a link target's DELETE: PORTAL_OK when nothing links to item
	 * `id`; PORTAL_DONE after answering 409 naming what links to it (the
	 * handler returns PORTAL_OK); PORTAL_ERROR when the database failed.  Call it with the
	 * item's row locked (SELECT ... FOR UPDATE), and read it in share mode
	 * in the link_target hook, so no link can slip in between. */
	int (*link_guard)(portal_req *r, long long id);

	/* 1 when the last execute of `s` failed because a UNIQUE key already
	 * holds the value (two requests racing for one slug): answer 409. */
	int (*is_duplicate)(portal_stmt *s);
	int (*is_lang)(const char *tag); /* 1 when a BCP 47 language tag */
	/* The request's municipality's languages, first the main one;
	 * NULL-terminated. */
	const char *const *(*languages)(portal_req *r);

	/*
	 * Citizens' pages.  /{m}/{module}/ and /{m}/{module}/{id} are the
	 * module's GET "{module}" and "{module}/{id}" answers rendered through
	 * its templates "list.html" and "item.html" (and "title.txt" for an
	 * item's title, "item.jsonld" for schema.org data, "overview.html" for
	 * its part of /{m}/) inside the core's layout: one result object feeds
	 * JSON and HTML.  Templates are logic-less and escape by default (see
	 * core/web/tmpl.c); only inside init(), text living as long as the plugin.
	 */
	int (*template)(portal_plugin *p, const char *name, const char *text);
	/* The plugin's words, {"sv": {"title": "...", "twin_town": "..."}, "da":
	 * ..., "en": ...}: "title" names the module in menus; the template
	 * filter |label turns a code into its word. */
	int (*messages)(portal_plugin *p, const char *json);

	/* The item lifecycle (struct portal_item above): registers the five
	 * routes of `item` and, when it has `exists`, the link target.  Only
	 * inside init(); `item` must live as long as the plugin. */
	int (*item)(portal_plugin *p, const struct portal_item *item);
	/* Binds member `key` of object `o` to parameter i of `s`: a string
	 * (else NULL) ... */
	int (*bind_member_text)(portal_stmt *s, unsigned i, struct json_object *o, const char *key);
	/* ... an integer (else NULL) ... */
	int (*bind_member_int)(portal_stmt *s, unsigned i, struct json_object *o, const char *key);
	/* ... a number (else NULL) ... */
	int (*bind_member_double)(portal_stmt *s, unsigned i, struct json_object *o, const char *key);
	/* ... any JSON value as its text (a request string), `absent` (may be
	 * NULL) when the member is absent or null. */
	int (*bind_member_json)(portal_req *r, portal_stmt *s, unsigned i, struct json_object *o,
	                        const char *key, const char *absent);
	/* Runs `sql`, whose two parameters are an item's id and its
	 * municipality, with `id` and the request's municipality.  by_id_row
	 * fetches the first row: 1 with *out on it (read its columns, then
	 * api->done(*out)), 0 when there is none, PORTAL_ERROR.  by_id_exec
	 * (a DELETE, an UPDATE): PORTAL_OK or PORTAL_ERROR. */
	int (*by_id_row)(portal_req *r, const char *sql, long long id, portal_stmt **out);
	int (*by_id_exec)(portal_req *r, const char *sql, long long id);
	/* The end of a list() whose SQL ends in PORTAL_LIST_TERMS times
	 * "(? IS NULL OR search_text LIKE ? ...)", then "(? IS NULL OR key <
	 * ? OR (key = ? AND id < ?))" (or >) and "LIMIT ?": binds those from
	 * parameter i on (l->terms, l->after_key/after_id, l->limit + 1),
	 * executes `s`, appends an item per row made by from_row (NULL: out of
	 * memory) to `items` and ends `s`; sets *more when a further row
	 * exists and *last_key to column key_col of the last item's row (a
	 * request string).  PORTAL_OK or PORTAL_ERROR. */
	int (*list_rows)(portal_req *r, portal_stmt *s, unsigned i, const struct portal_list *l,
	                 struct json_object *(*from_row)(portal_req *r, portal_stmt *s),
	                 unsigned key_col, struct json_object *items, int *more, const char **last_key);
	/* An item id as a client writes it (in a path or a query argument):
	 * digits without a leading zero, at most 18 of them (fits a BIGINT).
	 * The id, or -1 for anything else. */
	long long (*parse_id)(const char *s);

	/* PORTAL_PLUGIN's init: registers what `b` holds, then runs b->setup.
	 * PORTAL_OK or PORTAL_ERROR (logged). */
	int (*plugin_setup)(portal_plugin *p, const struct portal_bundle *b);
	/* Member `key` of `o` when it is a string, else NULL. */
	const char *(*member_str)(struct json_object *o, const char *key);
	/* Partial dates compared on their common precision (strcmp's sign):
	 * "2008" is neither before nor after "2008-05". */
	int (*date_cmp)(const char *a, const char *b);
	/* The first (last: the last) day of the period a valid partial date
	 * names, "YYYY-MM-DD" (a request string); NULL for NULL. */
	const char *(*period)(portal_req *r, const char *partial, int last);
	/* The ids in the array member `key` of `o` (positive integers; others
	 * skipped) as request memory; *n of them, distinct when `distinct`. */
	long long *(*member_ids)(portal_req *r, struct json_object *o, const char *key, size_t *n,
	                         int distinct);
	/* A module's own table read and written with a field table (each
	 * field's `column`), as the core does an item's row: row_object makes
	 * a new object (the caller's) of the row's columns from `first` on;
	 * bind_members binds the members of `o` from parameter `first` on and
	 * returns the next parameter. */
	struct json_object *(*row_object)(portal_stmt *s, unsigned first,
	                                  const struct portal_field *fields);
	unsigned (*bind_members)(portal_req *r, portal_stmt *s, unsigned first,
	                         const struct portal_field *fields, struct json_object *o);
	/* Markdown (CommonMark) as HTML safe to put in a page (libcmark: raw
	 * HTML removed, links only relative, http(s), mailto and tel), a
	 * request string; NULL when out of memory.  The editor's preview is
	 * the same rendering. */
	char *(*markdown)(portal_req *r, const char *md);
	/* A slug of at most `max` bytes made of `title` (Besök från Norge ->
	 * besok-fran-norge), a request string; NULL when the title has no
	 * letter or digit that folds to a-z/0-9. */
	char *(*slugify)(portal_req *r, const char *title, size_t max);
	/* 1 when `s` is a slug: a-z, 0-9 and inner hyphens, 1..max bytes. */
	int (*is_slug)(const char *s, size_t max);
	/* Keeps in ids[0..*n) the ids of `module`'s items the caller may see
	 * (module enabled; for a caller without a token of the municipality,
	 * only what that module lists to everyone, e.g. public visits), in
	 * their order, and sets *n to how many.  For the ids an item shows of
	 * other modules' items, so that a public item does not reveal which
	 * non-public ones exist.  PORTAL_OK or PORTAL_ERROR. */
	int (*link_visible)(portal_req *r, const char *module, long long *ids, size_t *n);
	/* Adds a short hash of `text` to the ETag of the item this request
	 * answers: for what an item shows differently to different callers
	 * and its version does not cover (the related ids an anonymous
	 * reader may see), so that a 304 never keeps a view that changed.
	 * Call it from the load or loaded hook, before the core sets the
	 * ETag. */
	void (*etag_part)(portal_req *r, const char *text);
	/* Gives `doc` a member "slug" made of `title` (api->slugify, at most
	 * `max` bytes) when it has none: the first of base, base-2 .. base-50
	 * that taken() (1 taken, 0 free, PORTAL_ERROR) says is free, else base
	 * (the module's uniqueness check then answers 409).  A title without
	 * letters records a "slug" field error; a NULL title gives "untitled"
	 * (the title's own error is reported).  PORTAL_OK or PORTAL_ERROR. */
	int (*slug_derive)(portal_req *r, struct json_object *doc, const char *title, size_t max,
	                   int (*taken)(portal_req *r, const char *slug));
	/* Uploaded files (/api/v1/{m}/media): the record of file `id` of the
	 * request's municipality ({id, url, type, name, bytes, sha256, width,
	 * height, renditions, created_at}; request memory), or NULL when
	 * there is none.  An item that uses a file says so with link_set(r,
	 * id, "media", ...), which keeps the file from being deleted (409). */
	struct json_object *(*media)(portal_req *r, long long id);
	/* 1 when the last execute of `s` was stopped by its LIMIT ... ROWS
	 * EXAMINED (its rows may be incomplete; the core's q uses it). */
	int (*stopped)(portal_stmt *s);
	/* The plugin's context slot on the request (nginx's
	 * ngx_http_get_module_ctx): what set_ctx left there for plugin `p`
	 * (the plugin's own handle, `portal_self` under PORTAL_PLUGIN), NULL
	 * until then.  Per request, one slot per plugin, whichever plugin's
	 * route the request is; what it points to is request memory
	 * (api->alloc), released with the request.  A plugin keeps its
	 * per-request state here, never in the core's request. */
	void *(*ctx)(portal_req *r, portal_plugin *p);
	void (*set_ctx)(portal_req *r, portal_plugin *p, void *data);
	/*
	 * An item's uploaded files, the members declared .link = "media",
	 * named by a path: "reports[].document" is member "document" of each
	 * object of the array "reports", "image" a member of the item.
	 *
	 * files_check: each id the path holds in `doc` (of the first `max`
	 * elements; 0: all) is an uploaded file of the municipality of `type`
	 * (NULL: any), else a field error naming it ("reports[2].document":
	 * "is not an uploaded file of this municipality", "is a image/png, not
	 * a PDF").  Call it from the check hook.
	 */
	void (*files_check)(portal_req *r, struct json_object *doc, const char *path,
	                    const char *type, size_t max);
	/* files_link: the ids the path holds in `item` as the links of item
	 * `from_id` to "media" (api->link_set with `title`, `is_public`), so
	 * that a file is not deleted while the item uses it. */
	int (*files_link)(portal_req *r, long long from_id, struct json_object *item,
	                  const char *path, const char *title, int is_public);
	/* file_entry: adds to `o` the file whose id member `member` of
	 * `element` holds, as pages show it: id, url, name (`name`, else the
	 * file's, else `fallback`), type ("PDF"), bytes and size ("1.2 MB",
	 * "120 kB").  1, or 0 when there is no such file (nothing added).  The
	 * module adds its own members first (which element, its title). */
	int (*file_entry)(portal_req *r, struct json_object *o, struct json_object *element,
	                  const char *member, const char *name, const char *fallback);
	/* Member `member` of `doc`, when a string, is a slug of at most `max`
	 * bytes (api->is_slug), else the field error "must be a-z, 0-9 and
	 * hyphens (not first or last), at most MAX bytes"; not for a string
	 * the PF_STRING check refused (too long, a control character, only
	 * white space): that error is not reported twice.  For the check hook. */
	void (*slug_check)(portal_req *r, struct json_object *doc, const char *member, size_t max);
	/* Member `key` of `o` when it is a valid partial date, else NULL (in
	 * a check hook: the schema reported it). */
	const char *(*member_date)(struct json_object *o, const char *key);
};

/*
 * A plugin's glue, written once here (as SQLite's SQLITE_EXTENSION_INIT):
 *
 *   PORTAL_PLUGIN(news, "1.0.0", news_settings, &news_item, news_setup);
 *
 * defines the descriptor `portal_module` (name, version, settings or NULL),
 * its init and fini, `api`, the core's services, and `portal_self`, the
 * plugin's handle for api->ctx (both hidden: one per plugin).  init checks the core's table, then registers the item (or
 * NULL), what the Makefile embedded of plugins/NAME/ (NAME_migrations
 * from schema/, NAME_openapi from openapi.json, NAME_templates from
 * templates/, NAME_messages from messages.json; each optional), then runs
 * the plugin's own setup(p) (or NULL) for routes and settings of its own.
 * Code above it, and the plugin's other files, say PORTAL_PLUGIN_API; first.
 */
struct portal_bundle {
	const struct portal_item *item;
	const struct portal_migration_src *migrations;
	const char *openapi;
	const struct portal_file *templates;
	const char *messages;
	int (*setup)(portal_plugin *p);
};

#if defined(__GNUC__)
#define PORTAL_HIDDEN __attribute__((visibility("hidden")))
#define PORTAL_WEAK __attribute__((weak))
#else
#define PORTAL_HIDDEN
#define PORTAL_WEAK
#endif

#define PORTAL_PLUGIN_API                                                                      \
	extern PORTAL_HIDDEN const struct portal_api *api;                                         \
	extern PORTAL_HIDDEN portal_plugin *portal_self

#define PORTAL_PLUGIN(NAME, VERSION, SETTINGS, ITEM, SETUP)                                    \
	PORTAL_HIDDEN const struct portal_api *api;                                                \
	PORTAL_HIDDEN portal_plugin *portal_self; /* this plugin, for api->ctx */                 \
	extern const struct portal_migration_src NAME##_migrations[] PORTAL_WEAK;                  \
	extern const char NAME##_openapi[] PORTAL_WEAK;                                            \
	extern const struct portal_file NAME##_templates[] PORTAL_WEAK;                            \
	extern const char NAME##_messages[] PORTAL_WEAK;                                           \
	static int NAME##_init(portal_plugin *p, const struct portal_api *core)                    \
	{                                                                                          \
		static const struct portal_bundle bundle = {ITEM, NAME##_migrations, NAME##_openapi,    \
		                                            NAME##_templates, NAME##_messages, SETUP};  \
		if (core->abi_version != PORTAL_ABI_VERSION || !PORTAL_API_HAS(core, member_date)) {   \
			core->plugin_log(p, PORTAL_LOG_ERR, "the core's API table is older than this plugin"); \
			return PORTAL_ERROR;                                                               \
		}                                                                                      \
		api = core;                                                                            \
		portal_self = p;                                                                       \
		return api->plugin_setup(p, &bundle);                                                  \
	}                                                                                          \
	static void NAME##_fini(portal_plugin *p)                                                  \
	{                                                                                          \
		(void)p;                                                                               \
		api = NULL;                                                                            \
		portal_self = NULL;                                                                    \
	}                                                                                          \
	const struct portal_module portal_module = {PORTAL_MODULE_V1, #NAME, VERSION, SETTINGS,   \
	                                            NAME##_init, NAME##_fini, {0}}

#endif /* PORTAL_H */
