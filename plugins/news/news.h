/*
 * news.h - what the files of the news plugin share.
 *
 *   news.c      descriptor, init, the HTTP handlers
 *   doc.c       the JSON shape: schema, rules a schema cannot say
 *               (slug, published_at), rendering a row, the search text
 *   markdown.c  the body as safe HTML (libcmark)
 *   store.c     the SQL: loading, listing, writing
 *
 * Everything here is hidden: the shared object exports `portal_module`
 * and the generated `news_migrations` and `news_openapi` only.
 */
#ifndef NEWS_H
#define NEWS_H

#include <stddef.h>

#include "portal.h"

#if defined(__GNUC__)
#pragma GCC visibility push(hidden)
#endif

/* The core's services, set once in init (SQLite's sqlite3_api). */
extern const struct portal_api *api;

#define NEWS_SLUG_MAX 100     /* bytes of a slug */
#define NEWS_SLUG_TRIES 50    /* derived slugs: base, base-2 .. base-50 */
#define NEWS_MAX_RELATED 50   /* ids per related module */
#define NEWS_TS_LEN 20        /* "YYYY-MM-DDTHH:MM:SSZ" */

/* The modules a news item may point at, in the order of "related". */
extern const char *const doc_related_modules[];

/* ---- doc.c ---- */
extern const char *const doc_statuses[];
extern const char *const doc_areas[];
extern const struct portal_field doc_schema[];
/* Members the server owns (id, version, ...): never written by a client. */
extern const char *const doc_readonly[];

/* 1 when `s` is a slug: a-z, 0-9 and inner hyphens, 1..NEWS_SLUG_MAX bytes. */
int doc_is_slug(const char *s);
/* A slug made of `title` (a request string): letters folded to a-z
 * (Besök från Norge -> besok-fran-norge), everything else a hyphen.  NULL
 * when the title has no letter or digit that folds to ASCII. */
char *doc_slugify(portal_req *r, const char *title);
/*
 * A timestamp "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" as UTC: writes
 * "YYYY-MM-DDTHH:MM:SSZ" to out (NEWS_TS_LEN + 1 bytes; fractions are
 * dropped).  With `partial`, a partial date YYYY, YYYY-MM or YYYY-MM-DD is
 * accepted too and means its first second.  PORTAL_OK or PORTAL_ERROR.
 */
int doc_timestamp(const char *s, int partial, char *out);
/* "YYYY-MM-DDTHH:MM:SSZ" -> "YYYY-MM-DD HH:MM:SS" for a DATETIME (a
 * request string). */
const char *doc_sql_time(portal_req *r, const char *ts);
/* The current time as "YYYY-MM-DDTHH:MM:SSZ" into out (NEWS_TS_LEN + 1). */
void doc_now(char *out);
/*
 * Validates a whole item (create body, or current item merged with a
 * patch) and normalises it in place: published_at to UTC "...Z", and set
 * to now when the item is published without one; "related" always with
 * its three arrays.  Records every problem; PORTAL_OK when there was none.
 */
int doc_check(portal_req *r, struct json_object *doc);
/* The member `key` of `o` when it is a string, else NULL. */
const char *doc_str(struct json_object *o, const char *key);
/* Text to search in (title, lead, body, author), folded; a request string. */
const char *doc_search_text(portal_req *r, struct json_object *doc);
/* A new item (owned by the caller) from the current row of a statement
 * selecting STORE_COLS, with body_html rendered; NULL when out of memory. */
struct json_object *doc_from_row(portal_req *r, portal_stmt *s);

/* ---- markdown.c ---- */
/*
 * `md` (CommonMark) as HTML that is safe to embed in a page: raw HTML is
 * dropped, and links and images keep only http(s) (links also mailto: and
 * tel:) or relative URLs; a link with any other URL is left as its text
 * (an autolink, whose text is the URL, goes entirely).  A request string;
 * NULL when out of memory.
 */
char *md_render(portal_req *r, const char *md);

/* ---- store.c ---- */
/* Columns of a news row, in the order doc_from_row reads them. */
enum store_col {
	COL_ID,
	COL_MUNICIPALITY,
	COL_SLUG,
	COL_TITLE,
	COL_LEAD,
	COL_BODY,
	COL_LANG,
	COL_STATUS,
	COL_PUBLISHED,
	COL_AUTHOR,
	COL_AREAS,
	COL_RELATED,
	COL_IMAGE_URL,
	COL_IMAGE_ALT,
	COL_IMAGE_CREDIT,
	COL_CREATED,
	COL_UPDATED,
	COL_VERSION,
	COL_SORT_AT
};

/* The list's filters: their values in struct portal_list's arg[]. */
enum store_filter { F_STATUS, F_AREA, F_LANG, F_SINCE, F_SLUG };

/* Loads item `id` of this request's municipality into *item (owned by the
 * request) and its version into *version.  `for_update` locks the row
 * until the transaction ends.  Drafts are loaded for everyone: the caller
 * decides who may see them.  Returns 1 found, 0 not found, PORTAL_ERROR. */
int store_load(portal_req *r, long long id, int for_update, struct json_object **item,
               long long *version);
/* Appends up to l->limit items to the array `items`, which owns them, in
 * (sort_at, id) descending order; sets *more when further items follow and
 * *last_sort to the last item's sort key (a request string).  PORTAL_OK or
 * PORTAL_ERROR. */
int store_list(portal_req *r, const struct portal_list *l, struct json_object *items, int *more,
               const char **last_sort);
/* 1 when another item of this municipality than `except_id` (0: none) has
 * `slug`, 0 when none, PORTAL_ERROR. */
int store_slug_taken(portal_req *r, const char *slug, long long except_id);
/* Inserts a validated item; returns its id, or PORTAL_ERROR. */
/* Returned by store_insert/store_update when the slug was taken meanwhile
 * (a concurrent write won the UNIQUE key). */
#define STORE_DUPLICATE (-2)
long long store_insert(portal_req *r, struct json_object *doc);
/* Writes a validated item over `id` and bumps its version.  PORTAL_OK or
 * PORTAL_ERROR. */
int store_update(portal_req *r, long long id, struct json_object *doc);
/* Deletes `id`.  PORTAL_OK or PORTAL_ERROR. */
int store_delete(portal_req *r, long long id);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif /* NEWS_H */
