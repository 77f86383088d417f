/*
 * store.c - the visits tables (schema/001_init.sql).  Only prepared
 * statements with constant SQL: the core caches them per worker by text.
 * Every function ends the statements it used (api->done) before it
 * returns, and answers PORTAL_ERROR on a database failure, which the
 * handler passes on so the core answers 500/503.
 */
#include <stdlib.h>
#include <string.h>

#include "visits.h"

/* The columns doc_from_row reads (enum store_col). */
#define STORE_COLS                                                                  \
	"v.id, v.municipality, v.title, v.direction, v.status, v.start_date, "          \
	"v.end_date, v.partnership_ids, v.project_id, v.delegation_organisations, "     \
	"v.delegation_countries, v.delegation_participants, v.purpose, v.programme, "   \
	"v.host_unit, v.cost_amount, v.cost_currency, v.outcome, v.public, "            \
	"DATE_FORMAT(v.created_at, '%Y-%m-%dT%H:%i:%sZ'), "                             \
	"DATE_FORMAT(v.updated_at, '%Y-%m-%dT%H:%i:%sZ'), v.version, v.sort_date"

static const char store_sql_load[] =
    "SELECT " STORE_COLS " FROM visits v WHERE v.id = ? AND v.municipality = ?";

static const char store_sql_load_lock[] =
    "SELECT " STORE_COLS " FROM visits v WHERE v.id = ? AND v.municipality = ? FOR UPDATE";

static const char store_sql_exists[] =
    "SELECT 1 FROM visits WHERE id = ? AND municipality = ? LOCK IN SHARE MODE";

/*
 * The list: every filter is always in the statement and switched off by
 * binding NULL, so there is one SQL text.  from/to select the visits whose
 * period [period_start, period_end] overlaps theirs; undated visits have
 * no period and drop out.  Keyset pagination on (sort_date, id)
 * descending, which the index visits_list serves.
 */
#define STORE_TERM " AND (? IS NULL OR v.search_text LIKE ? ESCAPE '!')"
static const char store_sql_list[] =
    "SELECT " STORE_COLS " FROM visits v"
    " WHERE v.municipality = ?"
    " AND (v.public = 1 OR ? = 1)"
    " AND (? IS NULL OR v.direction = ?)"
    " AND (? IS NULL OR v.status = ?)"
    " AND (? IS NULL OR v.period_end >= ?)"
    " AND (? IS NULL OR v.period_start <= ?)"
    " AND (? IS NULL OR EXISTS (SELECT 1 FROM visit_partnerships vp"
    "      WHERE vp.visit_id = v.id AND vp.partnership_id = ?))"
    STORE_TERM STORE_TERM STORE_TERM STORE_TERM
    " AND (? IS NULL OR v.sort_date < ? OR (v.sort_date = ? AND v.id < ?))"
    " ORDER BY v.sort_date DESC, v.id DESC LIMIT ?";

/* The 21 columns a client's item fills, in the order store_bind_item
 * binds them. */
#define STORE_ITEM_COLS 21
static const char store_sql_insert[] =
    "INSERT INTO visits (municipality, title, direction, status, start_date, end_date,"
    " sort_date, period_start, period_end, partnership_ids, project_id,"
    " delegation_organisations, delegation_countries, delegation_participants, purpose,"
    " programme, host_unit, cost_amount, cost_currency, outcome, public, search_text,"
    " version, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1,"
    " UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))";

static const char store_sql_update[] =
    "UPDATE visits SET title = ?, direction = ?, status = ?, start_date = ?, end_date = ?,"
    " sort_date = ?, period_start = ?, period_end = ?, partnership_ids = ?, project_id = ?,"
    " delegation_organisations = ?, delegation_countries = ?, delegation_participants = ?,"
    " purpose = ?, programme = ?, host_unit = ?, cost_amount = ?, cost_currency = ?,"
    " outcome = ?, public = ?, search_text = ?, version = version + 1,"
    " updated_at = UTC_TIMESTAMP(3)"
    " WHERE id = ? AND municipality = ?";

static const char store_sql_delete[] = "DELETE FROM visits WHERE id = ? AND municipality = ?";

static const char store_sql_partnerships_delete[] =
    "DELETE FROM visit_partnerships WHERE visit_id = ?";

static const char store_sql_partnership_insert[] =
    "INSERT IGNORE INTO visit_partnerships (visit_id, partnership_id) VALUES (?, ?)";

/* Binds the STORE_ITEM_COLS columns of a validated item from parameter
 * `first` on, in the order of the INSERT and UPDATE statements. */
static void
store_bind_item(portal_req *r, portal_stmt *s, unsigned first, struct json_object *doc)
{
	struct json_object *delegation = NULL, *cost = NULL, *pub = NULL;
	json_object_object_get_ex(doc, "delegation", &delegation);
	json_object_object_get_ex(doc, "cost", &cost);
	json_object_object_get_ex(doc, "public", &pub);
	const char *start = doc_str(doc, "start_date"), *end = doc_str(doc, "end_date");
	char lo[11], hi[11];
	unsigned i = first;

	api->bind_member_text(s, i++, doc, "title");
	api->bind_member_text(s, i++, doc, "direction");
	api->bind_member_text(s, i++, doc, "status");
	api->bind_text(s, i++, start);
	api->bind_text(s, i++, end);
	/* undated visits sort after every dated one (descending order) */
	api->bind_text(s, i++, start ? start : "");
	if (start) {
		/* bind_text keeps the pointer until execute: request strings */
		doc_period_lo(start, lo);
		doc_period_hi(end ? end : start, hi);
		api->bind_text(s, i++, api->strdup(r, lo));
		api->bind_text(s, i++, api->strdup(r, hi));
	} else {
		api->bind_null(s, i++);
		api->bind_null(s, i++);
	}
	api->bind_member_json(r, s, i++, doc, "partnership_ids", "[]");
	api->bind_member_int(s, i++, doc, "project_id");
	api->bind_member_json(r, s, i++, delegation, "organisations", "[]");
	api->bind_member_json(r, s, i++, delegation, "countries", "[]");
	api->bind_member_int(s, i++, delegation, "participants");
	api->bind_member_text(s, i++, doc, "purpose");
	api->bind_member_json(r, s, i++, doc, "programme", "[]");
	api->bind_member_text(s, i++, doc, "host_unit");
	api->bind_member_double(s, i++, cost, "amount");
	api->bind_member_text(s, i++, cost, "currency");
	api->bind_member_text(s, i++, doc, "outcome");
	api->bind_int(s, i++, pub == NULL || json_object_get_boolean(pub) ? 1 : 0);
	api->bind_text(s, i++, doc_search_text(r, doc));
}

/* Replaces the partnership rows of visit `id` (what the `partnership`
 * filter reads) with the item's partnership_ids. */
static int
store_put_partnerships(portal_req *r, long long id, struct json_object *doc)
{
	portal_stmt *s = api->prepare(r, store_sql_partnerships_delete);
	if (s == NULL)
		return PORTAL_ERROR;
	api->bind_int(s, 0, id);
	int rc = api->execute(s);
	api->done(s);
	if (rc != PORTAL_OK)
		return PORTAL_ERROR;
	struct json_object *ids = NULL;
	json_object_object_get_ex(doc, "partnership_ids", &ids);
	size_t n = json_object_is_type(ids, json_type_array) ? json_object_array_length(ids) : 0;
	if (n == 0)
		return PORTAL_OK;
	if ((s = api->prepare(r, store_sql_partnership_insert)) == NULL)
		return PORTAL_ERROR;
	for (size_t k = 0; k < n; k++) {
		api->bind_int(s, 0, id);
		api->bind_int(s, 1, json_object_get_int64(json_object_array_get_idx(ids, k)));
		if (api->execute(s) != PORTAL_OK) {
			api->done(s);
			return PORTAL_ERROR;
		}
	}
	api->done(s);
	return PORTAL_OK;
}

int
store_load(portal_req *r, long long id, int for_update, struct json_object **item,
           long long *version)
{
	portal_stmt *s;
	int rc = api->by_id_row(r, for_update ? store_sql_load_lock : store_sql_load, id, &s);
	if (rc != 1)
		return rc;
	*item = api->keep(r, doc_from_row(r, s));
	*version = api->col_int(s, COL_VERSION);
	api->done(s);
	return 1;
}

int
store_exists(portal_req *r, long long id)
{
	portal_stmt *s;
	int rc = api->by_id_row(r, store_sql_exists, id, &s);
	if (rc == 1)
		api->done(s);
	return rc;
}

/* Binds "(? IS NULL OR x = ?)": the value twice, or NULL twice. */
static unsigned
store_bind_opt(portal_stmt *s, unsigned i, const char *v)
{
	api->bind_text(s, i, v);
	api->bind_text(s, i + 1, v);
	return i + 2;
}

int
store_list(portal_req *r, const struct portal_list *l, struct json_object *items, int *more,
           const char **last_date)
{
	portal_stmt *s = api->prepare(r, store_sql_list);
	if (s == NULL)
		return PORTAL_ERROR;
	unsigned i = 0;
	api->bind_text(s, i++, api->municipality(r));
	api->bind_int(s, i++, l->insider ? 1 : 0);
	i = store_bind_opt(s, i, l->arg[F_DIRECTION]);
	i = store_bind_opt(s, i, l->arg[F_STATUS]);
	i = store_bind_opt(s, i, l->arg[F_FROM]);
	i = store_bind_opt(s, i, l->arg[F_TO]);
	if (l->arg[F_PARTNERSHIP] != NULL) { /* digits, checked by visits.c */
		long long partnership = strtoll(l->arg[F_PARTNERSHIP], NULL, 10);
		api->bind_int(s, i++, partnership);
		api->bind_int(s, i++, partnership);
	} else {
		api->bind_null(s, i++);
		api->bind_null(s, i++);
	}
	return api->list_rows(r, s, i, l, doc_from_row, COL_SORT_DATE, items, more, last_date);
}

long long
store_insert(portal_req *r, struct portal_write *w)
{
	struct json_object *doc = w->doc;
	portal_stmt *s = api->prepare(r, store_sql_insert);
	if (s == NULL)
		return PORTAL_ERROR;
	api->bind_text(s, 0, api->municipality(r));
	store_bind_item(r, s, 1, doc);
	if (api->execute(s) != PORTAL_OK) {
		api->done(s);
		return PORTAL_ERROR;
	}
	long long id = api->insert_id(s);
	api->done(s);
	if (id <= 0 || store_put_partnerships(r, id, doc) != PORTAL_OK)
		return PORTAL_ERROR;
	return id;
}

int
store_update(portal_req *r, struct portal_write *w)
{
	struct json_object *doc = w->doc;
	long long id = w->id;
	portal_stmt *s = api->prepare(r, store_sql_update);
	if (s == NULL)
		return PORTAL_ERROR;
	store_bind_item(r, s, 0, doc);
	api->bind_int(s, STORE_ITEM_COLS, id);
	api->bind_text(s, STORE_ITEM_COLS + 1, api->municipality(r));
	int rc = api->execute(s);
	api->done(s);
	if (rc != PORTAL_OK)
		return PORTAL_ERROR;
	return store_put_partnerships(r, id, doc);
}

int
store_delete(portal_req *r, long long id)
{
	return api->by_id_exec(r, store_sql_delete, id);
}
