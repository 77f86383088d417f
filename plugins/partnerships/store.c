/*
 * store.c - the partnerships tables (schema/001_init.sql).  Only prepared
 * statements with constant SQL: the core caches them per worker by text.
 * Every function ends the statements it used (api->done) before it
 * returns, and answers PORTAL_ERROR on a database failure, which the
 * handler passes on so the core answers 500/503.
 */
#include <string.h>

#include "partnerships.h"

/* The columns doc_from_row reads (enum store_col). */
#define STORE_COLS                                                                  \
	"p.id, p.municipality, p.partner_name, p.other_names, p.country, p.region, "    \
	"p.wikidata, p.lat, p.lon, p.website, p.kind, p.status, p.start_date, "         \
	"p.end_date, p.end_reason, p.areas, p.description, "                            \
	"DATE_FORMAT(p.created_at, '%Y-%m-%dT%H:%i:%sZ'), "                             \
	"DATE_FORMAT(p.updated_at, '%Y-%m-%dT%H:%i:%sZ'), p.version, p.sort_name"

static const char store_sql_load[] =
    "SELECT " STORE_COLS " FROM partnerships p WHERE p.id = ? AND p.municipality = ?";

static const char store_sql_load_lock[] =
    "SELECT " STORE_COLS " FROM partnerships p WHERE p.id = ? AND p.municipality = ? FOR UPDATE";

/*
 * The list: every filter is always in the statement and switched off by
 * binding NULL, so there is one SQL text.  Keyset pagination on
 * (sort_name, id), which the index partnerships_list serves.
 */
#define STORE_TERM " AND (? IS NULL OR p.search_text LIKE ? ESCAPE '!')"
static const char store_sql_list[] =
    "SELECT " STORE_COLS " FROM partnerships p"
    " WHERE p.municipality = ?"
    " AND (? IS NULL OR p.country = ?)"
    " AND (? IS NULL OR p.kind = ?)"
    " AND (? IS NULL OR p.status = ?)"
    " AND (? IS NULL OR JSON_CONTAINS(p.areas, JSON_QUOTE(?)))"
    STORE_TERM STORE_TERM STORE_TERM STORE_TERM
    " AND (? IS NULL OR p.sort_name > ? OR (p.sort_name = ? AND p.id > ?))"
    " ORDER BY p.sort_name, p.id LIMIT ?";

/* Agreements of up to STORE_IN partnerships in one query; unused slots
 * are bound NULL, which matches nothing. */
#define STORE_IN 100
#define STORE_Q10 "?,?,?,?,?,?,?,?,?,?"
#define STORE_Q100                                                                  \
	STORE_Q10 "," STORE_Q10 "," STORE_Q10 "," STORE_Q10 "," STORE_Q10 ","             \
	STORE_Q10 "," STORE_Q10 "," STORE_Q10 "," STORE_Q10 "," STORE_Q10
static const char store_sql_agreements[] =
    "SELECT a.partnership_id, a.date, a.kind, a.title, a.signatories, a.unit, a.document_url"
    " FROM partnership_agreements a WHERE a.partnership_id IN (" STORE_Q100 ")"
    " ORDER BY a.partnership_id, a.position";

/* The 17 columns a client writes, in the order store_bind_item binds them. */
#define STORE_ITEM_COLS 17
static const char store_sql_insert[] =
    "INSERT INTO partnerships (municipality, partner_name, sort_name, other_names, country,"
    " region, wikidata, lat, lon, website, kind, status, start_date, end_date, end_reason,"
    " areas, description, search_text, version, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1,"
    " UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))";

static const char store_sql_update[] =
    "UPDATE partnerships SET partner_name = ?, sort_name = ?, other_names = ?, country = ?,"
    " region = ?, wikidata = ?, lat = ?, lon = ?, website = ?, kind = ?, status = ?,"
    " start_date = ?, end_date = ?, end_reason = ?, areas = ?, description = ?,"
    " search_text = ?, version = version + 1, updated_at = UTC_TIMESTAMP(3)"
    " WHERE id = ? AND municipality = ?";

/* Whether an item exists, for other modules' links (link_target).  The
 * shared lock keeps it from being deleted until the linking write ends
 * (partnerships_delete locks the row FOR UPDATE, then forgets the links). */
static const char store_sql_exists[] =
    "SELECT 1 FROM partnerships WHERE id = ? AND municipality = ? LOCK IN SHARE MODE";

static const char store_sql_delete[] =
    "DELETE FROM partnerships WHERE id = ? AND municipality = ?";

static const char store_sql_agreements_delete[] =
    "DELETE FROM partnership_agreements WHERE partnership_id = ?";

static const char store_sql_agreement_insert[] =
    "INSERT INTO partnership_agreements (partnership_id, position, date, kind, title,"
    " signatories, unit, document_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

/* Binds the STORE_ITEM_COLS columns of a validated item from parameter
 * `first` on, in the order of the INSERT and UPDATE statements. */
static void
store_bind_item(portal_req *r, portal_stmt *s, unsigned first, struct json_object *doc)
{
	struct json_object *partner = NULL;
	json_object_object_get_ex(doc, "partner", &partner);
	unsigned i = first;
	api->bind_member_text(s, i++, partner, "name");
	api->bind_member_text(s, i++, partner, "name"); /* sort_name */
	api->bind_member_json(r, s, i++, partner, "other_names", "[]");
	api->bind_member_text(s, i++, partner, "country");
	api->bind_member_text(s, i++, partner, "region");
	api->bind_member_text(s, i++, partner, "wikidata");
	api->bind_member_double(s, i++, partner, "lat");
	api->bind_member_double(s, i++, partner, "lon");
	api->bind_member_text(s, i++, partner, "website");
	api->bind_member_text(s, i++, doc, "kind");
	api->bind_member_text(s, i++, doc, "status");
	api->bind_member_text(s, i++, doc, "start_date");
	api->bind_member_text(s, i++, doc, "end_date");
	api->bind_member_text(s, i++, doc, "end_reason");
	api->bind_member_json(r, s, i++, doc, "areas", "[]");
	api->bind_member_json(r, s, i++, doc, "description", "{}");
	api->bind_text(s, i++, doc_search_text(r, doc));
}

/* The "agreements" member of an item, or NULL. */
static struct json_object *
store_agreements_of(struct json_object *item)
{
	struct json_object *v = NULL;
	json_object_object_get_ex(item, "agreements", &v);
	return v;
}

/*
 * Fills the "agreements" arrays of `n` items (whose ids are ids[]) with
 * one query per STORE_IN items.
 */
static int
store_attach_agreements(portal_req *r, struct json_object **items, const long long *ids, size_t n)
{
	for (size_t base = 0; base < n; base += STORE_IN) {
		size_t m = n - base < STORE_IN ? n - base : STORE_IN;
		portal_stmt *s = api->prepare(r, store_sql_agreements);
		if (s == NULL)
			return PORTAL_ERROR;
		for (unsigned i = 0; i < STORE_IN; i++) {
			if (i < m)
				api->bind_int(s, i, ids[base + i]);
			else
				api->bind_null(s, i);
		}
		if (api->execute(s) != PORTAL_OK) {
			api->done(s);
			return PORTAL_ERROR;
		}
		int rc;
		size_t k = 0; /* rows come by partnership id: start where the last one was */
		while ((rc = api->fetch(s)) == 1) {
			long long pid = api->col_int(s, 0);
			size_t j;
			for (j = 0; j < m && ids[base + (k + j) % m] != pid; j++)
				;
			if (j == m)
				continue; /* deleted meanwhile */
			k = (k + j) % m;
			json_object_array_add(store_agreements_of(items[base + k]),
			                      doc_agreement_from_row(r, s, 1));
		}
		api->done(s);
		if (rc != 0)
			return PORTAL_ERROR;
	}
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
	struct json_object *it = api->keep(r, doc_from_row(r, s));
	*version = api->col_int(s, COL_VERSION);
	api->done(s);
	if (store_attach_agreements(r, &it, &id, 1) != PORTAL_OK)
		return PORTAL_ERROR;
	*item = it;
	return 1;
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
           const char **last_name)
{
	portal_stmt *s = api->prepare(r, store_sql_list);
	if (s == NULL)
		return PORTAL_ERROR;
	unsigned i = 0;
	api->bind_text(s, i++, api->municipality(r));
	i = store_bind_opt(s, i, l->arg[F_COUNTRY]);
	i = store_bind_opt(s, i, l->arg[F_KIND]);
	i = store_bind_opt(s, i, l->arg[F_STATUS]);
	i = store_bind_opt(s, i, l->arg[F_AREA]);
	size_t first = json_object_array_length(items);
	if (api->list_rows(r, s, i, l, doc_from_row, COL_SORT_NAME, items, more, last_name) !=
	    PORTAL_OK)
		return PORTAL_ERROR;
	size_t n = json_object_array_length(items) - first;
	struct json_object **page = api->alloc(r, (n ? n : 1) * sizeof(*page));
	long long *ids = api->alloc(r, (n ? n : 1) * sizeof(*ids));
	for (size_t k = 0; k < n; k++) {
		struct json_object *id;
		page[k] = json_object_array_get_idx(items, first + k);
		json_object_object_get_ex(page[k], "id", &id);
		ids[k] = json_object_get_int64(id);
	}
	return store_attach_agreements(r, page, ids, n);
}

/* Writes the agreements of item `id` (array or NULL), replacing what was
 * there when `replace`. */
static int
store_put_agreements(portal_req *r, long long id, struct json_object *agreements, int replace)
{
	portal_stmt *s;
	if (replace) {
		if ((s = api->prepare(r, store_sql_agreements_delete)) == NULL)
			return PORTAL_ERROR;
		api->bind_int(s, 0, id);
		int rc = api->execute(s);
		api->done(s);
		if (rc != PORTAL_OK)
			return PORTAL_ERROR;
	}
	if (!json_object_is_type(agreements, json_type_array))
		return PORTAL_OK;
	size_t n = json_object_array_length(agreements);
	if (n == 0)
		return PORTAL_OK;
	if ((s = api->prepare(r, store_sql_agreement_insert)) == NULL)
		return PORTAL_ERROR;
	for (size_t k = 0; k < n; k++) {
		struct json_object *a = json_object_array_get_idx(agreements, k);
		api->bind_int(s, 0, id);
		api->bind_int(s, 1, (long long)k);
		api->bind_member_text(s, 2, a, "date");
		api->bind_member_text(s, 3, a, "kind");
		api->bind_member_text(s, 4, a, "title");
		api->bind_member_json(r, s, 5, a, "signatories", "[]");
		api->bind_member_text(s, 6, a, "unit");
		api->bind_member_text(s, 7, a, "document_url");
		if (api->execute(s) != PORTAL_OK) {
			api->done(s);
			return PORTAL_ERROR;
		}
	}
	api->done(s);
	return PORTAL_OK;
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
	if (id <= 0)
		return PORTAL_ERROR;
	if (store_put_agreements(r, id, store_agreements_of(doc), 0) != PORTAL_OK)
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
	if (json_object_object_get_ex(w->patch, "agreements", NULL))
		return store_put_agreements(r, id, store_agreements_of(doc), 1);
	return PORTAL_OK;
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

int
store_delete(portal_req *r, long long id)
{
	return api->by_id_exec(r, store_sql_delete, id);
}
