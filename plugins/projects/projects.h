/*
 * projects.h - what the files of the projects plugin share.
 *
 *   projects.c  descriptor, init, the HTTP handlers, links to partnerships
 *   doc.c       the JSON shape: schema, rules a schema cannot say,
 *               rendering a row, the derived columns, the search text
 *   store.c     the SQL: loading, listing, writing
 *
 * Everything here is hidden: the shared object exports `portal_module`
 * and the generated `projects_migrations` / `projects_openapi` only.
 */
#ifndef PROJECTS_H
#define PROJECTS_H

#include <stddef.h>

#include "portal.h"

#if defined(__GNUC__)
#pragma GCC visibility push(hidden)
#endif

/* The core's services, set once in init (SQLite's sqlite3_api). */
extern const struct portal_api *api;

#define PROJECTS_MAX_PARTNERS 100
#define PROJECTS_MAX_FUNDERS 20
#define PROJECTS_MAX_REPORTS 100 /* fifty years of half-years */
#define PROJECTS_MAX_AMOUNT 1e15 /* budget amounts, in the currency's units */

/* ---- doc.c ---- */
extern const char *const doc_statuses[];
extern const char *const doc_funder_kinds[];
extern const char *const doc_areas[];
extern const struct portal_field doc_schema[];
/* Members the server owns (id, version, ...): never written by a client. */
extern const char *const doc_readonly[];

/* Validates a whole item (create body, or current item merged with a
 * patch): the schema plus the rules across fields.  Records every
 * problem; returns PORTAL_OK when there was none. */
int doc_check(portal_req *r, struct json_object *doc);
/* 1 when `s` is a whole date YYYY-MM-DD (the `active_on` argument). */
int doc_is_full_date(const char *s);
/* The first / last day (YYYY-MM-DD, a request string) of the period a
 * partial date names: "2024" -> 2024-01-01 / 2024-12-31; NULL for NULL. */
const char *doc_period_first(portal_req *r, const char *partial);
const char *doc_period_last(portal_req *r, const char *partial);
/* The distinct funders[].kind of a validated item as JSON text (a request
 * string), e.g. ["sida","icld"]. */
const char *doc_funder_kinds_json(portal_req *r, struct json_object *doc);
/* Text to search in, folded (api->search_fold); a request string. */
const char *doc_search_text(portal_req *r, struct json_object *doc);
/* The member `key` of `o` when it is a string, else NULL. */
const char *doc_str(struct json_object *o, const char *key);
/* A JSON number that prints as the shortest text reading back as `d`.
 * New object, owned by the caller. */
struct json_object *doc_new_double(double d);
/* A new item (owned by the caller) from the current row of a statement
 * selecting STORE_COLS, every member present. */
struct json_object *doc_from_row(portal_req *r, portal_stmt *s);

/* ---- store.c ---- */
/* Columns of a project row, in the order doc_from_row reads them. */
enum store_col {
	COL_ID,
	COL_MUNICIPALITY,
	COL_TITLE,
	COL_ACRONYM,
	COL_SUMMARY,
	COL_PROGRAMME,
	COL_FUNDERS,
	COL_STATUS,
	COL_START,
	COL_END,
	COL_BUDGET_TOTAL,
	COL_BUDGET_GRANT,
	COL_BUDGET_CURRENCY,
	COL_PARTNERS,
	COL_RESPONSIBLE_UNIT,
	COL_AREAS,
	COL_URL,
	COL_REPORTS,
	COL_CREATED,
	COL_UPDATED,
	COL_VERSION,
	COL_SORT_START
};

/* The list's filters: their values in struct portal_list's arg[]. */
enum store_filter { F_STATUS, F_FUNDER, F_AREA, F_PROGRAMME, F_ACTIVE_ON };

/* Loads item `id` of this request's municipality into *item (owned by the
 * request: json_object_get() it to hand it on) and its version into
 * *version.  `for_update` locks the row until the transaction ends.
 * Returns 1 found, 0 not found, PORTAL_ERROR. */
int store_load(portal_req *r, long long id, int for_update, struct json_object **item,
               long long *version);
/* 1 when item `id` exists in this request's municipality, 0 when not,
 * PORTAL_ERROR.  Locks the row in share mode until the transaction ends. */
int store_exists(portal_req *r, long long id);
/* Appends up to l->limit items to the array `items`, which owns them, in
 * (sort_start DESC, id DESC) order; sets *more when further items follow
 * and *last_start to the last item's sort key (a request string).
 * PORTAL_OK or PORTAL_ERROR. */
int store_list(portal_req *r, const struct portal_list *l, struct json_object *items, int *more,
               const char **last_start);
/* Inserts the validated w->doc; returns its id, or PORTAL_ERROR. */
long long store_insert(portal_req *r, struct portal_write *w);
/* Writes the validated w->doc over w->id and bumps its version.
 * PORTAL_OK or PORTAL_ERROR. */
int store_update(portal_req *r, struct portal_write *w);
/* Deletes `id`.  PORTAL_OK or PORTAL_ERROR. */
int store_delete(portal_req *r, long long id);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif /* PROJECTS_H */
