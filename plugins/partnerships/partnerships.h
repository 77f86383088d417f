/*
 * partnerships.h - what the files of the partnerships plugin share.
 *
 *   partnerships.c  descriptor, init, the HTTP handlers
 *   doc.c           the JSON shape: schema, rules a schema cannot say,
 *                   rendering a row, the search text
 *   store.c         the SQL: loading, listing, writing
 *
 * Everything here is hidden: the shared object exports `portal_module`
 * and the generated `partnerships_migrations` only.
 */
#ifndef PARTNERSHIPS_H
#define PARTNERSHIPS_H

#include <stddef.h>

#include "portal.h"

#if defined(__GNUC__)
#pragma GCC visibility push(hidden)
#endif

/* The core's services, set once in init (SQLite's sqlite3_api). */
extern const struct portal_api *api;

#define PARTNERSHIPS_MAX_AGREEMENTS 1000 /* the setting's upper bound */

/* ---- doc.c ---- */
extern const char *const doc_kinds[];
extern const char *const doc_statuses[];
extern const char *const doc_areas[];
extern const struct portal_field doc_schema[];
/* Members the server owns (id, version, ...): never written by a client. */
extern const char *const doc_readonly[];

/* Validates a whole item (create body, or current item merged with a
 * patch): the schema plus the rules across fields.  The municipality's
 * max_agreements applies when `new_agreements` (a create, or a patch that
 * writes "agreements"), so lowering the setting does not lock older items.
 * Records every problem; returns PORTAL_OK when there was none. */
int doc_check(portal_req *r, struct json_object *doc, int new_agreements);
/* Text to search in, folded (api->search_fold); a request string. */
const char *doc_search_text(portal_req *r, struct json_object *doc);
/* A JSON number that prints as the shortest text reading back as `d`.
 * New object, owned by the caller. */
struct json_object *doc_new_double(double d);
/* A new item (owned by the caller) from the current row of a statement
 * selecting STORE_COLS; "agreements" is an empty array for store.c to fill. */
struct json_object *doc_from_row(portal_req *r, portal_stmt *s);
/* A new agreement object (owned by the caller) from columns first.. of a
 * row: date, kind, title, signatories, unit, document_url. */
struct json_object *doc_agreement_from_row(portal_req *r, portal_stmt *s, unsigned first);

/* ---- store.c ---- */
/* Columns of a partnership row, in the order doc_from_row reads them. */
enum store_col {
	COL_ID,
	COL_MUNICIPALITY,
	COL_NAME,
	COL_OTHER_NAMES,
	COL_COUNTRY,
	COL_REGION,
	COL_WIKIDATA,
	COL_LAT,
	COL_LON,
	COL_WEBSITE,
	COL_KIND,
	COL_STATUS,
	COL_START,
	COL_END,
	COL_END_REASON,
	COL_AREAS,
	COL_DESCRIPTION,
	COL_CREATED,
	COL_UPDATED,
	COL_VERSION,
	COL_SORT_NAME
};

/* The list's filters: their values in struct portal_list's arg[]. */
enum store_filter { F_COUNTRY, F_KIND, F_STATUS, F_AREA };

/* The item's store, as struct portal_item (portal.h) calls it. */
/* Loads item `id` of this request's municipality into *item (owned by the
 * request: json_object_get() it to hand it on) and its version into
 * *version.  `for_update` locks the row until the transaction ends.
 * Returns 1 found, 0 not found, PORTAL_ERROR. */
int store_load(portal_req *r, long long id, int for_update, struct json_object **item,
               long long *version);
/* Appends up to l->limit items (with their agreements) to the array
 * `items`, which owns them, in (sort_name, id) order; sets *more when
 * further items follow and *last_name to the last item's sort name (a
 * request string).  PORTAL_OK or PORTAL_ERROR. */
int store_list(portal_req *r, const struct portal_list *l, struct json_object *items, int *more,
               const char **last_name);
/* Inserts the validated w->doc; returns its id, or PORTAL_ERROR. */
long long store_insert(portal_req *r, struct portal_write *w);
/* Writes the validated w->doc over w->id and bumps its version; replaces
 * the agreements when the patch writes them.  PORTAL_OK or PORTAL_ERROR. */
int store_update(portal_req *r, struct portal_write *w);
/* Whether item `id` of this request's municipality exists: 1, 0, or
 * PORTAL_ERROR.  Locks the row in share mode until the transaction ends. */
int store_exists(portal_req *r, long long id);
/* Deletes `id` (its agreements go with it).  PORTAL_OK or PORTAL_ERROR. */
int store_delete(portal_req *r, long long id);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif /* PARTNERSHIPS_H */
