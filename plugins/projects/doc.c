/*
 * doc.c - the JSON shape of a project: the schema the core validates
 * against, the rules across fields that a schema cannot say, rendering a
 * database row as the item clients see, the columns derived for the list
 * (date period, funder kinds) and the folded text `q` searches.
 *
 * An item always carries every member (null, [] or {} when unknown), so
 * clients see one stable shape; so do the objects inside its arrays:
 *
 *   {id, municipality, title, acronym, summary: {lang: text}, programme,
 *    funders: [{name, kind}], status, start_date, end_date,
 *    budget: {total, grant, currency},
 *    partners: [{name, country, role, partnership_id}], responsible_unit,
 *    areas: [], url, reports: [{period, submitted_on, summary, document_url}],
 *    created_at, updated_at, version}
 *
 * and, on the item's own URL (GET, POST, PATCH answers), "linked".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "projects.h"

const char *const doc_statuses[] = {"planned", "applied", "granted", "running",
                                    "completed", "rejected", NULL};

/* eu: EU programmes; sida: Sida; icld: ICLD (Sida-funded, municipal
 * partnerships); si: Svenska institutet; nordic: Nordiska ministerrådet and
 * other Nordic funds; national: other national bodies; other: the rest
 * (foundations, a municipality's own fund pool such as Lejre's IFIL). */
const char *const doc_funder_kinds[] = {"eu", "sida", "icld", "si", "nordic", "national", "other",
                                        NULL};

static const char *const doc_roles[] = {"lead", "partner", "associated", NULL};

/* The same list as the partnerships plugin's doc_areas
 * (plugins/partnerships/doc.c): a project and a partnership use one
 * vocabulary, so `area` filters mean the same on both.  Keep them equal. */
const char *const doc_areas[] = {
	"education",       "culture",            "environment",    "climate",
	"energy",          "public_health",      "social_welfare", "democracy",
	"business",        "trade",              "labour_market",  "youth",
	"sport",           "tourism",            "research",       "digitalisation",
	"gender_equality", "emergency_services", "infrastructure", "rural_development",
	"urban_development", NULL};
#define DOC_NAREAS 21

/* Members the server owns: never written by a client.  "linked" is what
 * other modules say about the item (api->links_to), shown on its URL. */
const char *const doc_readonly[] = {"id", "municipality", "created_at", "updated_at",
                                           "version", "linked", NULL};

static const struct portal_field doc_funder_fields[] = {
	{.name = "name", .type = PF_STRING, .flags = PF_REQUIRED, .max = 200},
	{.name = "kind", .type = PF_ENUM, .flags = PF_REQUIRED, .values = doc_funder_kinds},
	{.name = NULL},
};

static const struct portal_field doc_funder = {.name = "funder", .type = PF_OBJECT,
                                               .fields = doc_funder_fields};

static const struct portal_field doc_partner_fields[] = {
	{.name = "name", .type = PF_STRING, .flags = PF_REQUIRED, .max = 200},
	{.name = "country", .type = PF_COUNTRY},
	{.name = "role", .type = PF_ENUM, .values = doc_roles},
	{.name = "partnership_id", .type = PF_INT, .min = 1, .max_num = 999999999999999999.0},
	{.name = NULL},
};

static const struct portal_field doc_partner = {.name = "partner", .type = PF_OBJECT,
                                                .fields = doc_partner_fields};

static const struct portal_field doc_budget_fields[] = {
	{.name = "total", .type = PF_NUMBER, .min = 0, .max_num = PROJECTS_MAX_AMOUNT},
	{.name = "grant", .type = PF_NUMBER, .min = 0, .max_num = PROJECTS_MAX_AMOUNT},
	{.name = "currency", .type = PF_CURRENCY},
	{.name = NULL},
};

/* `period` is a string here; doc_check reads it as YYYY-H1 / YYYY-H2. */
static const struct portal_field doc_report_fields[] = {
	{.name = "period", .type = PF_STRING, .flags = PF_REQUIRED, .max = 7},
	{.name = "submitted_on", .type = PF_DATE},
	{.name = "summary", .type = PF_TEXT, .max = 20000},
	{.name = "document_url", .type = PF_URL, .max = 2000},
	{.name = NULL},
};

static const struct portal_field doc_report = {.name = "report", .type = PF_OBJECT,
                                               .fields = doc_report_fields};

static const struct portal_field doc_area = {.name = "area", .type = PF_ENUM,
                                             .values = doc_areas};

/* The item as a client writes it (POST body, or the current item merged
 * with a PATCH). */
const struct portal_field doc_schema[] = {
	{.name = "title", .type = PF_STRING, .flags = PF_REQUIRED, .max = 300},
	{.name = "acronym", .type = PF_STRING, .max = 50},
	{.name = "summary", .type = PF_LANGMAP, .max = 20000},
	{.name = "programme", .type = PF_STRING, .max = 200},
	{.name = "funders", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = PROJECTS_MAX_FUNDERS,
	 .items = &doc_funder},
	{.name = "status", .type = PF_ENUM, .flags = PF_REQUIRED, .values = doc_statuses},
	{.name = "start_date", .type = PF_DATE},
	{.name = "end_date", .type = PF_DATE},
	{.name = "budget", .type = PF_OBJECT, .fields = doc_budget_fields},
	{.name = "partners", .type = PF_ARRAY, .max = PROJECTS_MAX_PARTNERS, .items = &doc_partner},
	{.name = "responsible_unit", .type = PF_STRING, .max = 200},
	{.name = "areas", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = DOC_NAREAS,
	 .items = &doc_area},
	{.name = "url", .type = PF_URL, .max = 2000},
	{.name = "reports", .type = PF_ARRAY, .max = PROJECTS_MAX_REPORTS, .items = &doc_report},
	{.name = NULL},
};

/* The members of the objects inside the arrays, in the order an item
 * shows them. */
static const char *const doc_funder_keys[] = {"name", "kind", NULL};
static const char *const doc_partner_keys[] = {"name", "country", "role", "partnership_id", NULL};
static const char *const doc_report_keys[] = {"period", "submitted_on", "summary", "document_url",
                                              NULL};

const char *
doc_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Member `key` of `o` when it is an array, else NULL. */
static struct json_object *
doc_array(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

/* Member `key` of `o` when it is a number, else NULL. */
static struct json_object *
doc_num(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return NULL;
	return v;
}

/* Partial dates compared on their common precision: "2008" is neither
 * before nor after "2008-05". */
static int
doc_date_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	return strncmp(a, b, la < lb ? la : lb);
}

/* A half-year "YYYY-H1" / "YYYY-H2": returns 1 or 2, 0 when not one. */
static int
doc_half_year(const char *s)
{
	if (s == NULL || strlen(s) != 7 || s[4] != '-' || s[5] != 'H' || (s[6] != '1' && s[6] != '2'))
		return 0;
	for (int i = 0; i < 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	if (s[0] == '0')
		return 0;
	return s[6] - '0';
}

/* Rules for the budget: grant within total, a currency for any amount. */
static void
doc_check_budget(portal_req *r, struct json_object *budget)
{
	if (!json_object_is_type(budget, json_type_object))
		return;
	struct json_object *total = doc_num(budget, "total"), *grant = doc_num(budget, "grant");
	if (total && grant && json_object_get_double(grant) > json_object_get_double(total))
		api->field_error(r, "budget.grant", "must not be larger than budget.total (%s)",
		                 json_object_to_json_string(total));
	struct json_object *cur;
	int has_cur = json_object_object_get_ex(budget, "currency", &cur) && cur != NULL;
	if ((total || grant) && !has_cur)
		api->field_error(r, "budget.currency", "is required when an amount is given");
}

/* Only one partner leads. */
static void
doc_check_partners(portal_req *r, struct json_object *partners)
{
	size_t n = partners ? json_object_array_length(partners) : 0;
	long lead = -1;
	for (size_t i = 0; i < n; i++) {
		const char *role = doc_str(json_object_array_get_idx(partners, i), "role");
		if (role == NULL || strcmp(role, "lead") != 0)
			continue;
		if (lead >= 0)
			api->field_error(r, api->printf(r, "partners[%zu].role", i),
			                 "only one partner can be the lead (partners[%ld] is)", lead);
		else
			lead = (long)i;
	}
}

/* Each report names a half-year once, and is not submitted before the
 * half-year begins. */
static void
doc_check_reports(portal_req *r, struct json_object *reports)
{
	size_t n = reports ? json_object_array_length(reports) : 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *rep = json_object_array_get_idx(reports, i);
		const char *period = doc_str(rep, "period");
		if (period == NULL)
			continue; /* validate said why */
		int half = doc_half_year(period);
		if (half == 0) {
			api->field_error(r, api->printf(r, "reports[%zu].period", i),
			                 "must be a half-year as YYYY-H1 or YYYY-H2, such as \"2024-H1\"");
			continue;
		}
		for (size_t k = 0; k < i; k++) {
			const char *prev = doc_str(json_object_array_get_idx(reports, k), "period");
			if (prev && strcmp(prev, period) == 0) {
				api->field_error(r, api->printf(r, "reports[%zu].period", i),
				                 "repeats reports[%zu]: one report per half-year", k);
				break;
			}
		}
		const char *sub = doc_str(rep, "submitted_on");
		const char *begins = api->printf(r, "%.4s-%s-01", period, half == 1 ? "01" : "07");
		if (sub && api->is_partial_date(sub) && doc_date_cmp(sub, begins) < 0)
			api->field_error(r, api->printf(r, "reports[%zu].submitted_on", i),
			                 "must not be before the half-year it reports on begins (%s)",
			                 begins);
	}
}

int
doc_check(portal_req *r, struct json_object *doc)
{
	if (!json_object_is_type(doc, json_type_object))
		return PORTAL_ERROR;

	const char *start = doc_str(doc, "start_date"), *end = doc_str(doc, "end_date");
	if (start && end && api->is_partial_date(start) && api->is_partial_date(end) &&
	    doc_date_cmp(end, start) < 0)
		api->field_error(r, "end_date", "must not be before start_date (%s)", start);

	struct json_object *budget;
	if (json_object_object_get_ex(doc, "budget", &budget))
		doc_check_budget(r, budget);
	doc_check_partners(r, doc_array(doc, "partners"));
	doc_check_reports(r, doc_array(doc, "reports"));
	return api->has_errors(r) ? PORTAL_ERROR : PORTAL_OK;
}

int
doc_is_full_date(const char *s)
{
	return s != NULL && strlen(s) == 10 && api->is_partial_date(s);
}

const char *
doc_period_first(portal_req *r, const char *d)
{
	if (d == NULL)
		return NULL;
	switch (strlen(d)) {
	case 4: return api->printf(r, "%s-01-01", d);
	case 7: return api->printf(r, "%s-01", d);
	default: return d;
	}
}

const char *
doc_period_last(portal_req *r, const char *d)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (d == NULL)
		return NULL;
	switch (strlen(d)) {
	case 4:
		return api->printf(r, "%s-12-31", d);
	case 7: {
		int y = atoi(d), m = atoi(d + 5);
		if (m < 1 || m > 12)
			return NULL; /* validated before; never */
		int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		return api->printf(r, "%s-%02d", d, mdays[m - 1] + (m == 2 && leap));
	}
	default:
		return d;
	}
}

const char *
doc_funder_kinds_json(portal_req *r, struct json_object *doc)
{
	struct json_object *funders = doc_array(doc, "funders");
	struct json_object *kinds = api->keep(r, json_object_new_array());
	size_t n = funders ? json_object_array_length(funders) : 0;
	for (const char *const *k = doc_funder_kinds; *k; k++)
		for (size_t i = 0; i < n; i++) {
			const char *kind = doc_str(json_object_array_get_idx(funders, i), "kind");
			if (kind && strcmp(kind, *k) == 0) {
				json_object_array_add(kinds, json_object_new_string(*k));
				break;
			}
		}
	return api->strdup(r, json_object_to_json_string_ext(kinds, JSON_C_TO_STRING_PLAIN));
}

/* Appends `s` and a line break to out (when not NULL) at *len. */
static void
doc_append(char *out, size_t *len, const char *s)
{
	if (s == NULL || *s == '\0')
		return;
	size_t n = strlen(s);
	if (out) {
		memcpy(out + *len, s, n);
		out[*len + n] = '\n';
	}
	*len += n + 1;
}

/* Appends member `key` of each object in the array member `array` of doc. */
static void
doc_append_each(char *out, size_t *len, struct json_object *doc, const char *array,
                const char *key)
{
	struct json_object *a = doc_array(doc, array);
	size_t n = a ? json_object_array_length(a) : 0;
	for (size_t i = 0; i < n; i++)
		doc_append(out, len, doc_str(json_object_array_get_idx(a, i), key));
}

/* The searched members of `doc`, one per line; writes when out != NULL
 * and returns the length either way. */
static size_t
doc_collect(struct json_object *doc, char *out)
{
	size_t len = 0;
	struct json_object *summary;
	doc_append(out, &len, doc_str(doc, "title"));
	doc_append(out, &len, doc_str(doc, "acronym"));
	if (json_object_object_get_ex(doc, "summary", &summary) &&
	    json_object_is_type(summary, json_type_object)) {
		json_object_object_foreach(summary, lang, text) {
			(void)lang;
			if (json_object_is_type(text, json_type_string))
				doc_append(out, &len, json_object_get_string(text));
		}
	}
	doc_append(out, &len, doc_str(doc, "programme"));
	doc_append_each(out, &len, doc, "funders", "name");
	doc_append_each(out, &len, doc, "partners", "name");
	doc_append(out, &len, doc_str(doc, "responsible_unit"));
	return len;
}

const char *
doc_search_text(portal_req *r, struct json_object *doc)
{
	size_t len = doc_collect(doc, NULL);
	char *s = api->alloc(r, len + 1);
	doc_collect(doc, s);
	s[len] = '\0';
	return api->search_fold(r, s);
}

struct json_object *
doc_new_double(double d)
{
	char buf[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return json_object_new_double_s(d, buf);
}

/* A string column as a JSON string, or null. */
static struct json_object *
doc_col_str(portal_stmt *s, unsigned i)
{
	const char *t = api->col_text(s, i);
	return t ? json_object_new_string(t) : NULL;
}

/* A DOUBLE column as a JSON number, or null. */
static struct json_object *
doc_col_num(portal_stmt *s, unsigned i)
{
	return api->col_is_null(s, i) ? NULL : doc_new_double(api->col_double(s, i));
}

/* A JSON column of type `type`; empty when the column is NULL or not of
 * that type.  The result is new (its reference is the caller's). */
static struct json_object *
doc_col_json(portal_stmt *s, unsigned i, enum json_type type)
{
	struct json_object *o = api->col_json(s, i); /* owned by the request */
	if (o != NULL && json_object_is_type(o, type))
		return json_object_get(o);
	return type == json_type_array ? json_object_new_array() : json_object_new_object();
}

/* A JSON array column of objects, each rebuilt with exactly the members
 * `keys` (null for a missing one), so every item has one shape.  The
 * values are shared with the parsed column (a reference each). */
static struct json_object *
doc_col_objects(portal_stmt *s, unsigned i, const char *const *keys)
{
	struct json_object *src = api->col_json(s, i); /* owned by the request */
	struct json_object *out = json_object_new_array();
	size_t n = json_object_is_type(src, json_type_array) ? json_object_array_length(src) : 0;
	for (size_t k = 0; k < n; k++) {
		struct json_object *from = json_object_array_get_idx(src, k), *v;
		if (!json_object_is_type(from, json_type_object))
			continue;
		struct json_object *to = json_object_new_object();
		for (const char *const *key = keys; *key; key++)
			json_object_object_add(to, *key,
			                       json_object_object_get_ex(from, *key, &v) ? json_object_get(v)
			                                                                 : NULL);
		json_object_array_add(out, to);
	}
	return out;
}

struct json_object *
doc_from_row(portal_req *r, portal_stmt *s)
{
	(void)r;
	struct json_object *item = json_object_new_object();
	struct json_object *budget = json_object_new_object();

	json_object_object_add(item, "id", json_object_new_int64(api->col_int(s, COL_ID)));
	json_object_object_add(item, "municipality", doc_col_str(s, COL_MUNICIPALITY));
	json_object_object_add(item, "title", doc_col_str(s, COL_TITLE));
	json_object_object_add(item, "acronym", doc_col_str(s, COL_ACRONYM));
	json_object_object_add(item, "summary", doc_col_json(s, COL_SUMMARY, json_type_object));
	json_object_object_add(item, "programme", doc_col_str(s, COL_PROGRAMME));
	json_object_object_add(item, "funders", doc_col_objects(s, COL_FUNDERS, doc_funder_keys));
	json_object_object_add(item, "status", doc_col_str(s, COL_STATUS));
	json_object_object_add(item, "start_date", doc_col_str(s, COL_START));
	json_object_object_add(item, "end_date", doc_col_str(s, COL_END));

	json_object_object_add(budget, "total", doc_col_num(s, COL_BUDGET_TOTAL));
	json_object_object_add(budget, "grant", doc_col_num(s, COL_BUDGET_GRANT));
	json_object_object_add(budget, "currency", doc_col_str(s, COL_BUDGET_CURRENCY));
	json_object_object_add(item, "budget", budget);

	json_object_object_add(item, "partners", doc_col_objects(s, COL_PARTNERS, doc_partner_keys));
	json_object_object_add(item, "responsible_unit", doc_col_str(s, COL_RESPONSIBLE_UNIT));
	json_object_object_add(item, "areas", doc_col_json(s, COL_AREAS, json_type_array));
	json_object_object_add(item, "url", doc_col_str(s, COL_URL));
	json_object_object_add(item, "reports", doc_col_objects(s, COL_REPORTS, doc_report_keys));
	json_object_object_add(item, "created_at", doc_col_str(s, COL_CREATED));
	json_object_object_add(item, "updated_at", doc_col_str(s, COL_UPDATED));
	json_object_object_add(item, "version", json_object_new_int64(api->col_int(s, COL_VERSION)));
	return item;
}
