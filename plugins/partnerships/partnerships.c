/*
 * partnerships.c - the partnerships module: twin towns and other
 * partnerships of a municipality, with the agreements signed in them.
 *
 * The item is declared once, below: its fields (JSON shape, validation,
 * columns of the table `partnerships`, what `q` searches), its list
 * filters and sort key.  The core derives the five routes, the SQL and the
 * item's JSON from it (portal.h, struct portal_item).  What is this
 * module's own: the rules across members (partnerships_check) and the
 * agreements, kept in a table of their own (partnership_agreements).
 *
 * Other modules link to partnerships (a visit's partnership_ids, a
 * project partner's partnership_id, a news item's related.partnerships):
 * it is a link target, single items carry "linked", and a partnership
 * something links to is not deleted (409): the relation is ended (status
 * "ended"), not erased.
 */
#include <string.h>

#include "portal.h"

PORTAL_PLUGIN_API; /* defined by PORTAL_PLUGIN, at the end */

#define PARTNERSHIPS_MAX_AGREEMENTS 1000 /* the setting's upper bound */

static const char *const partnerships_kinds[] = {"twin_town", "friendship",
                                                 "municipal_partnership", "cooperation", NULL};
static const char *const partnerships_statuses[] = {"active", "inactive", "paused", "ended", NULL};

static const char *const partnerships_areas[] = {PORTAL_AREAS, NULL};

static const char *const partnerships_agreement_kinds[] = {
	"letter_of_intent", "twinning_agreement", "friendship_agreement", "cooperation_agreement",
	"termination", NULL};

static const struct portal_field partnerships_other_name_fields[] = {
	{.name = "lang", .type = PF_LANG, .flags = PF_REQUIRED, .doc = "BCP 47 language tag."},
	{.name = "name", .type = PF_STRING, .flags = PF_REQUIRED | PF_SEARCH, .max = 200},
	{.name = NULL},
};
static const struct portal_field partnerships_other_name = {
	.name = "other_name", .type = PF_OBJECT, .fields = partnerships_other_name_fields};

static const struct portal_field partnerships_partner_fields[] = {
	{.name = "name", .type = PF_STRING, .flags = PF_REQUIRED | PF_SEARCH, .max = 200,
	 .column = "partner_name"},
	{.name = "other_names", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = 50,
	 .items = &partnerships_other_name},
	{.name = "country", .type = PF_COUNTRY},
	{.name = "region", .type = PF_STRING, .flags = PF_SEARCH, .max = 200},
	{.name = "wikidata", .type = PF_QID},
	{.name = "lat", .type = PF_NUMBER, .min = -90, .max_num = 90,
	 .doc = "Set or removed together with lon: {\"lat\": null, \"lon\": null}."},
	{.name = "lon", .type = PF_NUMBER, .min = -180, .max_num = 180,
	 .doc = "Set or removed together with lat."},
	{.name = "website", .type = PF_URL, .max = 2000},
	{.name = NULL},
};

static const struct portal_field partnerships_signatory = {.name = "signatory", .type = PF_STRING,
                                                           .max = 200};

/* An agreement: a row of partnership_agreements (after partnership_id and
 * position), kept by partnerships_saved and partnerships_loaded. */
static const struct portal_field partnerships_agreement_fields[] = {
	{.name = "date", .type = PF_DATE},
	{.name = "kind", .type = PF_ENUM, .flags = PF_REQUIRED, .values = partnerships_agreement_kinds},
	{.name = "title", .type = PF_STRING, .max = 500},
	{.name = "signatories", .type = PF_ARRAY, .max = 50, .items = &partnerships_signatory},
	{.name = "unit", .type = PF_STRING, .max = 200, .doc = "The department that signed."},
	{.name = "document_url", .type = PF_URL, .max = 2000},
	{.name = "document", .type = PF_INT, .min = 1, .max_num = 1e18, .link = "media",
	 .doc = "An uploaded PDF of this municipality (POST /api/v1/{municipality}/media): its id."},
	{.name = NULL},
};
static const struct portal_field partnerships_agreement = {
	.name = "agreement", .type = PF_OBJECT, .fields = partnerships_agreement_fields};

static const struct portal_field partnerships_area = {.name = "area", .type = PF_ENUM,
                                                      .values = partnerships_areas};

/* An agreement's uploaded document as pages show it: which agreement
 * (its index), the file's URL, name, type and size. */
static const struct portal_field partnerships_document_fields[] = {
	{.name = "agreement", .type = PF_INT, .flags = PF_REQUIRED,
	 .doc = "The agreement's index in agreements."},
	{.name = "id", .type = PF_INT, .flags = PF_REQUIRED, .min = 1, .max_num = 1e18},
	{.name = "url", .type = PF_STRING, .flags = PF_REQUIRED},
	{.name = "name", .type = PF_STRING, .flags = PF_REQUIRED},
	{.name = "type", .type = PF_STRING, .flags = PF_REQUIRED},
	{.name = "bytes", .type = PF_INT},
	{.name = "size", .type = PF_STRING, .flags = PF_REQUIRED,
	 .doc = "For people: \"120 kB\", \"1.2 MB\"."},
	{.name = NULL},
};
static const struct portal_field partnerships_document = {
	.name = "document", .type = PF_OBJECT, .fields = partnerships_document_fields};

/* The item.  The agreements' array takes the setting's upper bound;
 * partnerships_check applies the municipality's max_agreements. */
static const struct portal_field partnerships_fields[] = {
	{.name = "partner", .type = PF_OBJECT, .flags = PF_REQUIRED,
	 .fields = partnerships_partner_fields, .doc = "The other place."},
	{.name = "kind", .type = PF_ENUM, .flags = PF_REQUIRED, .values = partnerships_kinds},
	{.name = "status", .type = PF_ENUM, .flags = PF_REQUIRED, .values = partnerships_statuses},
	{.name = "start_date", .type = PF_DATE},
	{.name = "end_date", .type = PF_DATE},
	{.name = "end_reason", .type = PF_TEXT, .max = 2000},
	{.name = "areas", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = PORTAL_NAREAS,
	 .items = &partnerships_area},
	{.name = "description", .type = PF_LANGMAP, .flags = PF_SEARCH, .max = 20000},
	{.name = "agreements", .type = PF_ARRAY, .flags = PF_EXTERNAL,
	 .max = PARTNERSHIPS_MAX_AGREEMENTS, .items = &partnerships_agreement,
	 .doc = "In the order the editor gave them."},
	/* the uploaded documents of the agreements, for pages (partnerships_loaded) */
	{.name = "documents", .type = PF_ARRAY, .flags = PF_READONLY, .items = &partnerships_document,
	 .doc = "Read-only: the uploaded documents of the agreements."},
	{.name = NULL},
};

static const struct portal_setting partnerships_settings[] = {
	{.name = "max_agreements", .type = PS_INT, .min = 0, .max = PARTNERSHIPS_MAX_AGREEMENTS,
	 .def_int = 50, .help = "how many agreements one partnership may list"},
	{.name = NULL},
};

/* 1 when `o` has member `key` with a value other than null. */
static int
partnerships_has(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && v != NULL;
}

/* check hook: the rules across members.  The municipality's
 * max_agreements applies when the write sets "agreements" (a create, or a
 * patch that writes them), so lowering the setting does not lock older
 * items. */
static int
partnerships_check(portal_req *r, struct portal_write *w)
{
	struct json_object *doc = w->doc, *partner, *agreements;
	if (json_object_object_get_ex(doc, "partner", &partner) &&
	    json_object_is_type(partner, json_type_object)) {
		int lat = partnerships_has(partner, "lat"), lon = partnerships_has(partner, "lon");
		if (lat && !lon)
			api->field_error(r, "partner.lon", "is required when partner.lat is given");
		else if (lon && !lat)
			api->field_error(r, "partner.lat", "is required when partner.lon is given");
	}
	const char *start = api->member_str(doc, "start_date"), *end = api->member_str(doc, "end_date");
	if (start && end && api->is_partial_date(start) && api->is_partial_date(end) &&
	    api->date_cmp(end, start) < 0)
		api->field_error(r, "end_date", "must not be before start_date (%s)", start);
	int writes = w->patch == NULL || json_object_object_get_ex(w->patch, "agreements", NULL);
	if (writes && json_object_object_get_ex(doc, "agreements", &agreements) &&
	    json_object_is_type(agreements, json_type_array)) {
		long long max = api->setting_int(r, "max_agreements");
		size_t n = json_object_array_length(agreements);
		if ((long long)n > max)
			api->field_error(r, "agreements", "must have at most %lld items (has %zu)", max,
			                 n);
		/* a document is an uploaded PDF of this municipality */
		api->files_check(r, doc, "agreements[].document", "application/pdf", 0);
	}
	return PORTAL_OK;
}

/* ---- the agreements (partnership_agreements) ---- */

/* Agreements of up to PARTNERSHIPS_IN partnerships in one query; unused
 * slots are bound NULL, which matches nothing. */
#define PARTNERSHIPS_IN 100
#define PARTNERSHIPS_Q10 "?,?,?,?,?,?,?,?,?,?"
#define PARTNERSHIPS_Q100                                                                   \
	PARTNERSHIPS_Q10 "," PARTNERSHIPS_Q10 "," PARTNERSHIPS_Q10 "," PARTNERSHIPS_Q10 ","        \
	PARTNERSHIPS_Q10 "," PARTNERSHIPS_Q10 "," PARTNERSHIPS_Q10 "," PARTNERSHIPS_Q10 ","        \
	PARTNERSHIPS_Q10 "," PARTNERSHIPS_Q10
static const char partnerships_sql_agreements[] =
    "SELECT a.partnership_id, a.date, a.kind, a.title, a.signatories, a.unit, a.document_url,"
    " a.document"
    " FROM partnership_agreements a WHERE a.partnership_id IN (" PARTNERSHIPS_Q100 ")"
    " ORDER BY a.partnership_id, a.position";
static const char partnerships_sql_agreements_delete[] =
    "DELETE FROM partnership_agreements WHERE partnership_id = ?";
static const char partnerships_sql_agreement_insert[] =
    "INSERT INTO partnership_agreements (partnership_id, position, date, kind, title,"
    " signatories, unit, document_url, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* The "agreements" member of an item, or NULL. */
static struct json_object *
partnerships_agreements_of(struct json_object *item)
{
	struct json_object *v = NULL;
	json_object_object_get_ex(item, "agreements", &v);
	return v;
}

/* "documents": the uploaded files of the item's agreements (a file that
 * is gone is left out). */
static void
partnerships_documents(portal_req *r, struct json_object *item)
{
	struct json_object *agreements = partnerships_agreements_of(item);
	struct json_object *docs = json_object_new_array();
	size_t n = json_object_is_type(agreements, json_type_array) ? json_object_array_length(agreements) : 0;
	for (size_t k = 0; k < n; k++) {
		struct json_object *a = json_object_array_get_idx(agreements, k);
		const char *title = api->member_str(a, "title");
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "agreement", json_object_new_int64((long long)k));
		if (api->file_entry(r, o, a, "document", NULL, title ? title : "document.pdf"))
			json_object_array_add(docs, o);
		else
			json_object_put(o);
	}
	json_object_object_add(item, "documents", docs);
}

/* loaded hook: fills the "agreements" arrays of `n` items (whose ids are
 * ids[]) with one query per PARTNERSHIPS_IN items. */
static int
partnerships_loaded(portal_req *r, struct json_object *const *items, const long long *ids,
                    size_t n)
{
	for (size_t base = 0; base < n; base += PARTNERSHIPS_IN) {
		size_t m = n - base < PARTNERSHIPS_IN ? n - base : PARTNERSHIPS_IN;
		portal_stmt *s = api->prepare(r, partnerships_sql_agreements);
		if (s == NULL)
			return PORTAL_ERROR;
		for (unsigned i = 0; i < PARTNERSHIPS_IN; i++) {
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
			json_object_array_add(partnerships_agreements_of(items[base + k]),
			                      api->row_object(s, 1, partnerships_agreement_fields));
		}
		api->done(s);
		if (rc != 0)
			return PORTAL_ERROR;
	}
	for (size_t i = 0; i < n; i++)
		partnerships_documents(r, items[i]);
	return PORTAL_OK;
}

/* saved hook: the agreements of a create, or of a patch that writes them
 * (replacing what was there). */
static int
partnerships_saved(portal_req *r, struct portal_write *w)
{
	portal_stmt *s;
	if (w->patch != NULL) {
		if (!json_object_object_get_ex(w->patch, "agreements", NULL))
			return PORTAL_OK;
		if ((s = api->prepare(r, partnerships_sql_agreements_delete)) == NULL)
			return PORTAL_ERROR;
		api->bind_int(s, 0, w->id);
		int rc = api->execute(s);
		api->done(s);
		if (rc != PORTAL_OK)
			return PORTAL_ERROR;
	}
	struct json_object *agreements = partnerships_agreements_of(w->doc);
	size_t n = json_object_is_type(agreements, json_type_array)
	               ? json_object_array_length(agreements)
	               : 0;
	/* the documents in the core's links, so that a file is not deleted
	 * while an agreement uses it */
	if (api->files_link(r, w->id, w->doc, "agreements[].document", "agreement", 1) != PORTAL_OK)
		return PORTAL_ERROR;
	if (n == 0)
		return PORTAL_OK;
	if ((s = api->prepare(r, partnerships_sql_agreement_insert)) == NULL)
		return PORTAL_ERROR;
	for (size_t k = 0; k < n; k++) {
		api->bind_int(s, 0, w->id);
		api->bind_int(s, 1, (long long)k);
		api->bind_members(r, s, 2, partnerships_agreement_fields,
		                  json_object_array_get_idx(agreements, k));
		if (api->execute(s) != PORTAL_OK) {
			api->done(s);
			return PORTAL_ERROR;
		}
	}
	api->done(s);
	return PORTAL_OK;
}

/* The list's sort key: the partner's name. */
static const struct portal_column partnerships_columns[] = {
	{.name = "sort_name", .member = "partner.name"},
	{.name = NULL},
};

static const struct portal_filter partnerships_filters[] = {
	{.name = "country", .type = PF_COUNTRY, .sql = "t.country = ?",
	 .doc = "The partner's country (ISO 3166-1 alpha-2, e.g. MD)."},
	{.name = "kind", .type = PF_ENUM, .values = partnerships_kinds, .sql = "t.kind = ?",
	 .doc = "Only partnerships of this kind."},
	{.name = "status", .type = PF_ENUM, .values = partnerships_statuses, .sql = "t.status = ?",
	 .doc = "Only partnerships with this status."},
	{.name = "area", .member = "areas",
	 .doc = "Only partnerships whose `areas` contain this area."},
	{.name = NULL},
};

static const struct portal_item partnerships_item = {
	.noun = "partnership", .schema = partnerships_fields, .own_answer = 1,
	.defaults = "{\"status\": \"active\"}",
	.list_summary = "list partnerships (country, kind, status, area, q, limit, cursor)",
	.table = "partnerships", .columns = partnerships_columns, .link_target = 1,
	.sort = "t.sort_name", /* the index partnerships_list */
	.filters = partnerships_filters,
	/* the module's own rules and its agreements */
	.check = partnerships_check, .saved = partnerships_saved, .loaded = partnerships_loaded,
	.theme = "INTR", /* the catalogue's EU data theme */
};

PORTAL_PLUGIN(partnerships, "1.0.0", partnerships_settings, &partnerships_item, NULL);
