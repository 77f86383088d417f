/*
 * store.c - the projects table (schema/001_init.sql).  Only prepared
 * statements with constant SQL: the core caches them per worker by text.
 * Every function ends the statements it used (api->done) before it
 * returns, and answers PORTAL_ERROR on a database failure, which the
 * handler passes on so the core answers 500/503.
 */
#include <string.h>

#include "projects.h"

/* The columns doc_from_row reads (enum store_col). */
#define STORE_COLS                                                                  \
	"p.id, p.municipality, p.title, p.acronym, p.summary, p.programme, p.funders, "   \
	"p.status, p.start_date, p.end_date, p.budget_total, p.budget_grant, "            \
	"p.budget_currency, p.partners, p.responsible_unit, p.areas, p.url, p.reports, "  \
	"DATE_FORMAT(p.created_at, '%Y-%m-%dT%H:%i:%sZ'), "                             \
	"DATE_FORMAT(p.updated_at, '%Y-%m-%dT%H:%i:%sZ'), p.version, p.sort_start"

static const char store_sql_load[] =
    "SELECT " STORE_COLS " FROM projects p WHERE p.id = ? AND p.municipality = ?";

static const char store_sql_load_lock[] =
    "SELECT " STORE_COLS " FROM projects p WHERE p.id = ? AND p.municipality = ? FOR UPDATE";

/* For other modules' links (link_target).  The shared lock, held until the
 * linking write's transaction ends, orders it with a DELETE of the project
 * (which locks the row FOR UPDATE and then looks for links): either the
 * link is committed first and the DELETE sees it (409), or the DELETE
 * commits first and the link is refused (422).  No link outlives its
 * project. */
static const char store_sql_exists[] =
    "SELECT 1 FROM projects WHERE id = ? AND municipality = ? LOCK IN SHARE MODE";

/*
 * The list: every filter is always in the statement and switched off by
 * binding NULL, so there is one SQL text.  Keyset pagination on
 * (sort_start, id), both descending, which the index projects_list serves.
 * `active_on`: the project's period (from the first day of start_date's
 * period to the last day of end_date's, open without end_date) contains
 * the day; a project without start_date never matches.
 */
#define STORE_TERM " AND (? IS NULL OR p.search_text LIKE ? ESCAPE '!')"
static const char store_sql_list[] =
    "SELECT " STORE_COLS " FROM projects p"
    " WHERE p.municipality = ?"
    " AND (? IS NULL OR p.status = ?)"
    " AND (? IS NULL OR JSON_CONTAINS(p.funder_kinds, JSON_QUOTE(?)))"
    " AND (? IS NULL OR LOWER(p.programme) = LOWER(?))"
    " AND (? IS NULL OR JSON_CONTAINS(p.areas, JSON_QUOTE(?)))"
    " AND (? IS NULL OR (p.period_from <= ? AND (p.period_to IS NULL OR p.period_to >= ?)))"
    STORE_TERM STORE_TERM STORE_TERM STORE_TERM
    " AND (? IS NULL OR p.sort_start < ? OR (p.sort_start = ? AND p.id < ?))"
    " ORDER BY p.sort_start DESC, p.id DESC LIMIT ?";

/* The 21 columns a write sets, in the order store_bind_item binds them. */
#define STORE_ITEM_COLS 21
static const char store_sql_insert[] =
    "INSERT INTO projects (municipality, title, acronym, summary, programme, funders,"
    " funder_kinds, status, start_date, end_date, sort_start, period_from, period_to,"
    " budget_total, budget_grant, budget_currency, partners, responsible_unit, areas, url,"
    " reports, search_text, version, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1,"
    " UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))";

static const char store_sql_update[] =
    "UPDATE projects SET title = ?, acronym = ?, summary = ?, programme = ?, funders = ?,"
    " funder_kinds = ?, status = ?, start_date = ?, end_date = ?, sort_start = ?,"
    " period_from = ?, period_to = ?, budget_total = ?, budget_grant = ?,"
    " budget_currency = ?, partners = ?, responsible_unit = ?, areas = ?, url = ?,"
    " reports = ?, search_text = ?, version = version + 1, updated_at = UTC_TIMESTAMP(3)"
    " WHERE id = ? AND municipality = ?";

static const char store_sql_delete[] = "DELETE FROM projects WHERE id = ? AND municipality = ?";

/* Binds the STORE_ITEM_COLS columns of a validated item from parameter
 * `first` on, in the order of the INSERT and UPDATE statements. */
static void
store_bind_item(portal_req *r, portal_stmt *s, unsigned first, struct json_object *doc)
{
	struct json_object *budget = NULL;
	json_object_object_get_ex(doc, "budget", &budget);
	const char *start = doc_str(doc, "start_date"), *end = doc_str(doc, "end_date");
	unsigned i = first;
	api->bind_member_text(s, i++, doc, "title");
	api->bind_member_text(s, i++, doc, "acronym");
	api->bind_member_json(r, s, i++, doc, "summary", "{}");
	api->bind_member_text(s, i++, doc, "programme");
	api->bind_member_json(r, s, i++, doc, "funders", "[]");
	api->bind_text(s, i++, doc_funder_kinds_json(r, doc));
	api->bind_member_text(s, i++, doc, "status");
	api->bind_text(s, i++, start);
	api->bind_text(s, i++, end);
	api->bind_text(s, i++, start ? start : ""); /* sort_start */
	api->bind_text(s, i++, doc_period_first(r, start));
	api->bind_text(s, i++, doc_period_last(r, end));
	api->bind_member_double(s, i++, budget, "total");
	api->bind_member_double(s, i++, budget, "grant");
	api->bind_member_text(s, i++, budget, "currency");
	api->bind_member_json(r, s, i++, doc, "partners", "[]");
	api->bind_member_text(s, i++, doc, "responsible_unit");
	api->bind_member_json(r, s, i++, doc, "areas", "[]");
	api->bind_member_text(s, i++, doc, "url");
	api->bind_member_json(r, s, i++, doc, "reports", "[]");
	api->bind_text(s, i++, doc_search_text(r, doc));
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
           const char **last_start)
{
	portal_stmt *s = api->prepare(r, store_sql_list);
	if (s == NULL)
		return PORTAL_ERROR;
	unsigned i = 0;
	api->bind_text(s, i++, api->municipality(r));
	i = store_bind_opt(s, i, l->arg[F_STATUS]);
	i = store_bind_opt(s, i, l->arg[F_FUNDER]);
	i = store_bind_opt(s, i, l->arg[F_PROGRAMME]);
	i = store_bind_opt(s, i, l->arg[F_AREA]);
	for (int k = 0; k < 3; k++)
		api->bind_text(s, i++, l->arg[F_ACTIVE_ON]);
	return api->list_rows(r, s, i, l, doc_from_row, COL_SORT_START, items, more, last_start);
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
	return id > 0 ? id : PORTAL_ERROR;
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
	return rc;
}

int
store_delete(portal_req *r, long long id)
{
	return api->by_id_exec(r, store_sql_delete, id);
}
