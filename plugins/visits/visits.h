/*
 * visits.h - what the files of the visits plugin share.
 *
 *   visits.c  descriptor, init, the HTTP handlers
 *   doc.c     the JSON shape: schema, rules a schema cannot say (dates,
 *             links), rendering a row, the search text, date periods
 *   store.c   the SQL: loading, listing, writing
 *
 * Everything here is hidden: the shared object exports `portal_module`
 * and the generated `visits_migrations` and `visits_openapi` only.
 */
#ifndef VISITS_H
#define VISITS_H

#include <stddef.h>

#include "portal.h"

#if defined(__GNUC__)
#pragma GCC visibility push(hidden)
#endif

/* The core's services, set once in init (SQLite's sqlite3_api). */
extern const struct portal_api *api;

#define VISITS_MAX_PARTNERSHIPS 50 /* partnership_ids per visit */
#define VISITS_MAX_PROGRAMME 200  /* programme entries per visit */

/* ---- doc.c ---- */
extern const char *const doc_directions[];
extern const char *const doc_statuses[];
extern const struct portal_field doc_schema[];
/* Members the server owns (id, version, ...): never written by a client. */
extern const char *const doc_readonly[];


/* Which links doc_check asks the target modules about. */
#define DOC_CHECK_PARTNERSHIPS 0x1u
#define DOC_CHECK_PROJECT      0x2u

/* Validates a whole item (create body, or current item merged with a
 * patch): the schema, the rules across fields, and the links named in
 * `links` (DOC_CHECK_*: a create checks both, a patch what it writes, so a
 * partnership deleted later does not lock the visit).  Records every
 * problem.  Returns PORTAL_OK when there was none, 1 when there were
 * (recorded), PORTAL_ERROR when the database failed. */
int doc_check(portal_req *r, struct json_object *doc, unsigned links);
/* Rewrites a validated item into the stored shape, in place: every
 * programme entry gets date, place and description (null when not given). */
void doc_normalise(struct json_object *doc);
/* Text to search in, folded (api->search_fold); a request string. */
const char *doc_search_text(portal_req *r, struct json_object *doc);

/* The first ("lo") or last ("hi") day of the period a partial date names,
 * as "YYYY-MM-DD" into out[11].  `d` must be a valid partial date. */
void doc_period_lo(const char *d, char out[11]);
void doc_period_hi(const char *d, char out[11]);

/* A new item (owned by the caller) from the current row of a statement
 * selecting STORE_COLS. */
struct json_object *doc_from_row(portal_req *r, portal_stmt *s);
/* Member `key` of `o` when it is a string, else NULL. */
const char *doc_str(struct json_object *o, const char *key);

/* ---- store.c ---- */
/* Columns of a visit row, in the order doc_from_row reads them. */
enum store_col {
	COL_ID,
	COL_MUNICIPALITY,
	COL_TITLE,
	COL_DIRECTION,
	COL_STATUS,
	COL_START,
	COL_END,
	COL_PARTNERSHIPS,
	COL_PROJECT,
	COL_ORGANISATIONS,
	COL_COUNTRIES,
	COL_PARTICIPANTS,
	COL_PURPOSE,
	COL_PROGRAMME,
	COL_HOST_UNIT,
	COL_COST_AMOUNT,
	COL_COST_CURRENCY,
	COL_OUTCOME,
	COL_PUBLIC,
	COL_CREATED,
	COL_UPDATED,
	COL_VERSION,
	COL_SORT_DATE
};

/* The list's filters: their values in struct portal_list's arg[]. */
enum store_filter { F_DIRECTION, F_STATUS, F_FROM, F_TO, F_PARTNERSHIP };

/* Loads visit `id` of this request's municipality, public or not, into
 * *item (owned by the request: json_object_get() it to hand it on) and its
 * version into *version.  `for_update` locks the row until the transaction
 * ends.  Returns 1 found, 0 not found, PORTAL_ERROR. */
int store_load(portal_req *r, long long id, int for_update, struct json_object **item,
               long long *version);
/* 1 when visit `id` exists in this request's municipality (public or
 * not), 0 when not, PORTAL_ERROR. */
int store_exists(portal_req *r, long long id);
/* Appends up to l->limit items to the array `items`, which owns them, in
 * (sort_date, id) descending order; sets *more when further items follow
 * and *last_date to the last item's sort date (a request string).
 * PORTAL_OK or PORTAL_ERROR. */
int store_list(portal_req *r, const struct portal_list *l, struct json_object *items, int *more,
               const char **last_date);
/* Inserts a validated, normalised item; returns its id, or PORTAL_ERROR. */
long long store_insert(portal_req *r, struct portal_write *w);
/* Writes a validated, normalised item over `id` and bumps its version.
 * PORTAL_OK or PORTAL_ERROR. */
int store_update(portal_req *r, struct portal_write *w);
/* Deletes `id` (its partnership rows go with it).  PORTAL_OK or
 * PORTAL_ERROR. */
int store_delete(portal_req *r, long long id);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#endif /* VISITS_H */
