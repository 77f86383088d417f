/*
 * doc.c - the JSON shape of a partnership: the schema the core validates
 * against, the rules across fields that a schema cannot say, rendering a
 * database row as the item clients see, and the folded text `q` searches.
 *
 * An item always carries every member (null, [] or {} when unknown), so
 * clients see one stable shape:
 *
 *   {id, municipality, partner: {name, other_names: [{lang, name}], country,
 *    region, wikidata, lat, lon, website}, kind, status, start_date,
 *    end_date, end_reason, areas: [], description: {lang: text},
 *    agreements: [{date, kind, title, signatories: [], unit, document_url}],
 *    created_at, updated_at, version}
 *
 * A single item (GET, and the answers of POST and PATCH) also carries
 * "linked": {module: [{id, title, date}]}, what other modules link to it
 * (partnerships.c asks the core; lists leave it out).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partnerships.h"

const char *const doc_kinds[] = {"twin_town", "friendship", "municipal_partnership",
                                 "cooperation", NULL};

const char *const doc_statuses[] = {"active", "inactive", "paused", "ended", NULL};

/* What partnerships work on: SPEC's list plus what the source pages and
 * the demo data name (Lejre: climate/energy, village development;
 * Borlänge: infrastructure).  No "health": public_health says it. */
const char *const doc_areas[] = {
	"education",       "culture",            "environment",    "climate",
	"energy",          "public_health",      "social_welfare", "democracy",
	"business",        "trade",              "labour_market",  "youth",
	"sport",           "tourism",            "research",       "digitalisation",
	"gender_equality", "emergency_services", "infrastructure", "rural_development",
	"urban_development", NULL};
#define DOC_NAREAS 21

static const char *const doc_agreement_kinds[] = {"letter_of_intent", "twinning_agreement",
                                                  "friendship_agreement", "cooperation_agreement",
                                                  "termination", NULL};

/* Members the server owns: never written by a client.  "linked" is what
 * other modules link to the item (partnerships.c adds it to single items). */
const char *const doc_readonly[] = {"id", "municipality", "created_at", "updated_at",
                                           "version", "linked", NULL};

static const struct portal_field doc_other_name_fields[] = {
	{.name = "lang", .type = PF_LANG, .flags = PF_REQUIRED},
	{.name = "name", .type = PF_STRING, .flags = PF_REQUIRED, .max = 200},
	{.name = NULL},
};

static const struct portal_field doc_other_name = {
	.name = "other_name", .type = PF_OBJECT, .fields = doc_other_name_fields};

static const struct portal_field doc_partner_fields[] = {
	{.name = "name", .type = PF_STRING, .flags = PF_REQUIRED, .max = 200},
	{.name = "other_names", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = 50,
	 .items = &doc_other_name},
	{.name = "country", .type = PF_COUNTRY},
	{.name = "region", .type = PF_STRING, .max = 200},
	{.name = "wikidata", .type = PF_QID},
	{.name = "lat", .type = PF_NUMBER, .min = -90, .max_num = 90},
	{.name = "lon", .type = PF_NUMBER, .min = -180, .max_num = 180},
	{.name = "website", .type = PF_URL, .max = 2000},
	{.name = NULL},
};

static const struct portal_field doc_signatory = {.name = "signatory", .type = PF_STRING,
                                                  .max = 200};

static const struct portal_field doc_agreement_fields[] = {
	{.name = "date", .type = PF_DATE},
	{.name = "kind", .type = PF_ENUM, .flags = PF_REQUIRED, .values = doc_agreement_kinds},
	{.name = "title", .type = PF_STRING, .max = 500},
	{.name = "signatories", .type = PF_ARRAY, .max = 50, .items = &doc_signatory},
	{.name = "unit", .type = PF_STRING, .max = 200},
	{.name = "document_url", .type = PF_URL, .max = 2000},
	{.name = NULL},
};

static const struct portal_field doc_agreement = {
	.name = "agreement", .type = PF_OBJECT, .fields = doc_agreement_fields};

static const struct portal_field doc_area = {.name = "area", .type = PF_ENUM,
                                             .values = doc_areas};

/* The item as a client writes it (POST body, or the current item merged
 * with a PATCH).  The agreements' array takes the setting's upper bound;
 * doc_check applies the municipality's max_agreements. */
const struct portal_field doc_schema[] = {
	{.name = "partner", .type = PF_OBJECT, .flags = PF_REQUIRED, .fields = doc_partner_fields},
	{.name = "kind", .type = PF_ENUM, .flags = PF_REQUIRED, .values = doc_kinds},
	{.name = "status", .type = PF_ENUM, .flags = PF_REQUIRED, .values = doc_statuses},
	{.name = "start_date", .type = PF_DATE},
	{.name = "end_date", .type = PF_DATE},
	{.name = "end_reason", .type = PF_TEXT, .max = 2000},
	{.name = "areas", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = DOC_NAREAS,
	 .items = &doc_area},
	{.name = "description", .type = PF_LANGMAP, .max = 20000},
	{.name = "agreements", .type = PF_ARRAY, .max = PARTNERSHIPS_MAX_AGREEMENTS,
	 .items = &doc_agreement},
	{.name = NULL},
};

/* The member `key` of `o` when it is a string, else NULL. */
static const char *
doc_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* 1 when `o` has member `key` with a value other than null. */
static int
doc_has(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && v != NULL;
}

/* Partial dates compared on their common precision: "2008" is neither
 * before nor after "2008-05". */
static int
doc_date_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	return strncmp(a, b, la < lb ? la : lb);
}

int
doc_check(portal_req *r, struct json_object *doc, int new_agreements)
{
	if (!json_object_is_type(doc, json_type_object))
		return PORTAL_ERROR;

	struct json_object *partner;
	if (json_object_object_get_ex(doc, "partner", &partner) &&
	    json_object_is_type(partner, json_type_object)) {
		int lat = doc_has(partner, "lat"), lon = doc_has(partner, "lon");
		if (lat && !lon)
			api->field_error(r, "partner.lon", "is required when partner.lat is given");
		else if (lon && !lat)
			api->field_error(r, "partner.lat", "is required when partner.lon is given");
	}

	const char *start = doc_str(doc, "start_date"), *end = doc_str(doc, "end_date");
	if (start && end && api->is_partial_date(start) && api->is_partial_date(end) &&
	    doc_date_cmp(end, start) < 0)
		api->field_error(r, "end_date", "must not be before start_date (%s)", start);

	struct json_object *agreements;
	if (new_agreements && json_object_object_get_ex(doc, "agreements", &agreements) &&
	    json_object_is_type(agreements, json_type_array)) {
		long long max = api->setting_int(r, "max_agreements");
		size_t n = json_object_array_length(agreements);
		if ((long long)n > max)
			api->field_error(r, "agreements", "must have at most %lld items (has %zu)", max,
			                 n);
	}
	return api->has_errors(r) ? PORTAL_ERROR : PORTAL_OK;
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

/* The searched members of `doc`, one per line; writes when out != NULL
 * and returns the length either way. */
static size_t
doc_collect(struct json_object *doc, char *out)
{
	size_t len = 0;
	struct json_object *partner, *names, *desc;
	if (json_object_object_get_ex(doc, "partner", &partner) &&
	    json_object_is_type(partner, json_type_object)) {
		doc_append(out, &len, doc_str(partner, "name"));
		if (json_object_object_get_ex(partner, "other_names", &names) &&
		    json_object_is_type(names, json_type_array))
			for (size_t i = 0; i < json_object_array_length(names); i++)
				doc_append(out, &len, doc_str(json_object_array_get_idx(names, i), "name"));
		doc_append(out, &len, doc_str(partner, "region"));
	}
	if (json_object_object_get_ex(doc, "description", &desc) &&
	    json_object_is_type(desc, json_type_object)) {
		json_object_object_foreach(desc, lang, text) {
			(void)lang;
			if (json_object_is_type(text, json_type_string))
				doc_append(out, &len, json_object_get_string(text));
		}
	}
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

/* A JSON column of type `type`; `type` empty when the column is NULL or
 * not of that type.  The result is new (its reference is the caller's). */
static struct json_object *
doc_col_json(portal_stmt *s, unsigned i, enum json_type type)
{
	struct json_object *o = api->col_json(s, i); /* owned by the request */
	if (o != NULL && json_object_is_type(o, type))
		return json_object_get(o);
	return type == json_type_array ? json_object_new_array() : json_object_new_object();
}

struct json_object *
doc_from_row(portal_req *r, portal_stmt *s)
{
	(void)r;
	struct json_object *item = json_object_new_object();
	struct json_object *partner = json_object_new_object();

	json_object_object_add(item, "id", json_object_new_int64(api->col_int(s, COL_ID)));
	json_object_object_add(item, "municipality", doc_col_str(s, COL_MUNICIPALITY));

	json_object_object_add(partner, "name", doc_col_str(s, COL_NAME));
	json_object_object_add(partner, "other_names", doc_col_json(s, COL_OTHER_NAMES,
	                                                            json_type_array));
	json_object_object_add(partner, "country", doc_col_str(s, COL_COUNTRY));
	json_object_object_add(partner, "region", doc_col_str(s, COL_REGION));
	json_object_object_add(partner, "wikidata", doc_col_str(s, COL_WIKIDATA));
	json_object_object_add(partner, "lat", api->col_is_null(s, COL_LAT)
	                                           ? NULL
	                                           : doc_new_double(api->col_double(s, COL_LAT)));
	json_object_object_add(partner, "lon", api->col_is_null(s, COL_LON)
	                                           ? NULL
	                                           : doc_new_double(api->col_double(s, COL_LON)));
	json_object_object_add(partner, "website", doc_col_str(s, COL_WEBSITE));
	json_object_object_add(item, "partner", partner);

	json_object_object_add(item, "kind", doc_col_str(s, COL_KIND));
	json_object_object_add(item, "status", doc_col_str(s, COL_STATUS));
	json_object_object_add(item, "start_date", doc_col_str(s, COL_START));
	json_object_object_add(item, "end_date", doc_col_str(s, COL_END));
	json_object_object_add(item, "end_reason", doc_col_str(s, COL_END_REASON));
	json_object_object_add(item, "areas", doc_col_json(s, COL_AREAS, json_type_array));
	json_object_object_add(item, "description", doc_col_json(s, COL_DESCRIPTION,
	                                                         json_type_object));
	json_object_object_add(item, "agreements", json_object_new_array());
	json_object_object_add(item, "created_at", doc_col_str(s, COL_CREATED));
	json_object_object_add(item, "updated_at", doc_col_str(s, COL_UPDATED));
	json_object_object_add(item, "version", json_object_new_int64(api->col_int(s, COL_VERSION)));
	return item;
}

struct json_object *
doc_agreement_from_row(portal_req *r, portal_stmt *s, unsigned first)
{
	(void)r;
	struct json_object *a = json_object_new_object();
	json_object_object_add(a, "date", doc_col_str(s, first));
	json_object_object_add(a, "kind", doc_col_str(s, first + 1));
	json_object_object_add(a, "title", doc_col_str(s, first + 2));
	json_object_object_add(a, "signatories", doc_col_json(s, first + 3, json_type_array));
	json_object_object_add(a, "unit", doc_col_str(s, first + 4));
	json_object_object_add(a, "document_url", doc_col_str(s, first + 5));
	return a;
}
