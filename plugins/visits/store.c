/*
 * store.c - the visits tables (schema/001_init.sql).  Only prepared
 * statements with constant SQL: the core caches them per worker by text.
 * Every function ends the statements it used (api->done) before it
 * returns, and answers PORTAL_ERROR on a database failure, which the
 * handler passes on so the core answers 500/503.
 */
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

/* Member `key` of `o` (NULL when absent, null or `o` is not an object). */
static struct json_object *
store_member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* Binds a string member, or NULL. */
static void
store_bind_str(portal_stmt *s, unsigned i, struct json_object *o, const char *key)
{
	struct json_object *v = store_member(o, key);
	api->bind_text(s, i, json_object_is_type(v, json_type_string) ? json_object_get_string(v)
	                                                               : NULL);
}

/* Binds an integer member, or NULL. */
static void
store_bind_int(portal_stmt *s, unsigned i, struct json_object *o, const char *key)
{
	struct json_object *v = store_member(o, key);
	if (json_object_is_type(v, json_type_int))
		api->bind_int(s, i, json_object_get_int64(v));
	else
		api->bind_null(s, i);
}

/* Binds a number member, or NULL. */
static void
store_bind_num(portal_stmt *s, unsigned i, struct json_object *o, const char *key)
{
	struct json_object *v = store_member(o, key);
	if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))
		api->bind_double(s, i, json_object_get_double(v));
	else
		api->bind_null(s, i);
}

/* Binds a JSON member as text (a request string), "[]" when absent. */
static void
store_bind_array(portal_req *r, portal_stmt *s, unsigned i, struct json_object *o,
                 const char *key)
{
	struct json_object *v = store_member(o, key);
	const char *text = "[]";
	if (json_object_is_type(v, json_type_array))
		text = api->strdup(r, json_object_to_json_string_ext(
		                          v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	api->bind_text(s, i, text);
}

/* Binds the STORE_ITEM_COLS columns of a validated item from parameter
 * `first` on, in the order of the INSERT and UPDATE statements. */
static void
store_bind_item(portal_req *r, portal_stmt *s, unsigned first, struct json_object *doc)
{
	struct json_object *delegation = store_member(doc, "delegation");
	struct json_object *cost = store_member(doc, "cost");
	struct json_object *pub = store_member(doc, "public");
	const char *start = doc_str(doc, "start_date"), *end = doc_str(doc, "end_date");
	char lo[11], hi[11];
	unsigned i = first;

	store_bind_str(s, i++, doc, "title");
	store_bind_str(s, i++, doc, "direction");
	store_bind_str(s, i++, doc, "status");
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
	store_bind_array(r, s, i++, doc, "partnership_ids");
	store_bind_int(s, i++, doc, "project_id");
	store_bind_array(r, s, i++, delegation, "organisations");
	store_bind_array(r, s, i++, delegation, "countries");
	store_bind_int(s, i++, delegation, "participants");
	store_bind_str(s, i++, doc, "purpose");
	store_bind_array(r, s, i++, doc, "programme");
	store_bind_str(s, i++, doc, "host_unit");
	store_bind_num(s, i++, cost, "amount");
	store_bind_str(s, i++, cost, "currency");
	store_bind_str(s, i++, doc, "outcome");
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
	struct json_object *ids = store_member(doc, "partnership_ids");
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
           long long *version, int *is_public)
{
	portal_stmt *s = api->prepare(r, for_update ? store_sql_load_lock : store_sql_load);
	if (s == NULL)
		return PORTAL_ERROR;
	api->bind_int(s, 0, id);
	api->bind_text(s, 1, api->municipality(r));
	if (api->execute(s) != PORTAL_OK) {
		api->done(s);
		return PORTAL_ERROR;
	}
	int rc = api->fetch(s);
	if (rc != 1) {
		api->done(s);
		return rc == 0 ? 0 : PORTAL_ERROR;
	}
	*item = api->keep(r, doc_from_row(r, s));
	*version = api->col_int(s, COL_VERSION);
	*is_public = api->col_int(s, COL_PUBLIC) != 0;
	api->done(s);
	return 1;
}

int
store_exists(portal_req *r, long long id)
{
	portal_stmt *s = api->prepare(r, store_sql_exists);
	if (s == NULL)
		return PORTAL_ERROR;
	api->bind_int(s, 0, id);
	api->bind_text(s, 1, api->municipality(r));
	if (api->execute(s) != PORTAL_OK) {
		api->done(s);
		return PORTAL_ERROR;
	}
	int rc = api->fetch(s);
	api->done(s);
	return rc < 0 ? PORTAL_ERROR : rc;
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
store_list(portal_req *r, const struct store_filter *f, struct json_object *items, int *more,
           const char **last_date)
{
	portal_stmt *s = api->prepare(r, store_sql_list);
	if (s == NULL)
		return PORTAL_ERROR;
	unsigned i = 0;
	api->bind_text(s, i++, api->municipality(r));
	api->bind_int(s, i++, f->insider ? 1 : 0);
	i = store_bind_opt(s, i, f->direction);
	i = store_bind_opt(s, i, f->status);
	i = store_bind_opt(s, i, f->from);
	i = store_bind_opt(s, i, f->to);
	if (f->partnership > 0) {
		api->bind_int(s, i++, f->partnership);
		api->bind_int(s, i++, f->partnership);
	} else {
		api->bind_null(s, i++);
		api->bind_null(s, i++);
	}
	for (int t = 0; t < VISITS_Q_TERMS; t++)
		i = store_bind_opt(s, i, f->terms[t]);
	if (f->after_date) {
		api->bind_text(s, i++, f->after_date);
		api->bind_text(s, i++, f->after_date);
		api->bind_text(s, i++, f->after_date);
		api->bind_int(s, i++, f->after_id);
	} else {
		for (int k = 0; k < 4; k++)
			api->bind_null(s, i++);
	}
	api->bind_int(s, i, f->limit + 1); /* one more tells whether a next page exists */
	if (api->execute(s) != PORTAL_OK) {
		api->done(s);
		return PORTAL_ERROR;
	}

	int n = 0, rc;
	*more = 0;
	while ((rc = api->fetch(s)) == 1) {
		if (n == f->limit) {
			*more = 1;
			break;
		}
		json_object_array_add(items, doc_from_row(r, s)); /* the array owns it */
		*last_date = api->strdup(r, api->col_text(s, COL_SORT_DATE));
		n++;
	}
	api->done(s);
	return rc < 0 ? PORTAL_ERROR : PORTAL_OK;
}

long long
store_insert(portal_req *r, struct json_object *doc)
{
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
store_update(portal_req *r, long long id, struct json_object *doc)
{
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
	portal_stmt *s = api->prepare(r, store_sql_delete);
	if (s == NULL)
		return PORTAL_ERROR;
	api->bind_int(s, 0, id);
	api->bind_text(s, 1, api->municipality(r));
	int rc = api->execute(s);
	api->done(s);
	return rc;
}
