/*
 * doc.c - the JSON shape of a visit: the schema the core validates
 * against, the rules across fields that a schema cannot say (dates,
 * links to partnerships and projects), rendering a database row as the
 * item clients see, the folded text `q` searches, and the periods partial
 * dates stand for.
 *
 * An item always carries every member (null, [] or {} when unknown), so
 * clients see one stable shape:
 *
 *   {id, municipality, title, direction, status, start_date, end_date,
 *    partnership_ids: [], project_id,
 *    delegation: {organisations: [], countries: [], participants},
 *    purpose, programme: [{date, place, description}], host_unit,
 *    cost: {amount, currency} | null, outcome, public,
 *    created_at, updated_at, version}
 *
 * plus "linked" (what links to the visit) on the single item.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "visits.h"

const char *const doc_directions[] = {"incoming", "outgoing", NULL};

/* A cancelled visit stays (marked cancelled); DELETE is for mistakes. */
const char *const doc_statuses[] = {"planned", "confirmed", "completed", "cancelled", NULL};

/* Members the server owns: never written by a client. */
const char *const doc_readonly[] = {"id",      "municipality", "created_at", "updated_at",
                                           "version", "linked",       NULL};

/* Ids are BIGINTs; json-c reads integers as int64. */
#define DOC_MAX_ID 9223372036854775807.0

static const struct portal_field doc_partnership_id = {
	.name = "partnership_id", .type = PF_INT, .min = 1, .max_num = DOC_MAX_ID};

static const struct portal_field doc_organisation = {.name = "organisation", .type = PF_STRING,
                                                     .max = 200};

static const struct portal_field doc_country = {.name = "country", .type = PF_COUNTRY};

static const struct portal_field doc_delegation_fields[] = {
	{.name = "organisations", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = 50,
	 .items = &doc_organisation},
	{.name = "countries", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = 50, .items = &doc_country},
	{.name = "participants", .type = PF_INT, .min = 0, .max_num = 100000},
	{.name = NULL},
};

static const struct portal_field doc_day_fields[] = {
	{.name = "date", .type = PF_DATE},
	{.name = "place", .type = PF_STRING, .max = 200},
	{.name = "description", .type = PF_TEXT, .max = 4000},
	{.name = NULL},
};

static const struct portal_field doc_day = {.name = "day", .type = PF_OBJECT,
                                            .fields = doc_day_fields};

static const struct portal_field doc_cost_fields[] = {
	{.name = "amount", .type = PF_NUMBER, .flags = PF_REQUIRED, .min = 0, .max_num = 1e12},
	{.name = "currency", .type = PF_CURRENCY, .flags = PF_REQUIRED},
	{.name = NULL},
};

/* The item as a client writes it (POST body, or the current item merged
 * with a PATCH).  status and public get their defaults on create. */
const struct portal_field doc_schema[] = {
	{.name = "title", .type = PF_STRING, .flags = PF_REQUIRED, .max = 300},
	{.name = "direction", .type = PF_ENUM, .flags = PF_REQUIRED, .values = doc_directions},
	{.name = "status", .type = PF_ENUM, .flags = PF_REQUIRED, .values = doc_statuses},
	{.name = "start_date", .type = PF_DATE},
	{.name = "end_date", .type = PF_DATE},
	{.name = "partnership_ids", .type = PF_ARRAY, .flags = PF_UNIQUE,
	 .max = VISITS_MAX_PARTNERSHIPS, .items = &doc_partnership_id},
	{.name = "project_id", .type = PF_INT, .min = 1, .max_num = DOC_MAX_ID},
	{.name = "delegation", .type = PF_OBJECT, .fields = doc_delegation_fields},
	{.name = "purpose", .type = PF_TEXT, .max = 20000},
	{.name = "programme", .type = PF_ARRAY, .max = VISITS_MAX_PROGRAMME, .items = &doc_day},
	{.name = "host_unit", .type = PF_STRING, .max = 200},
	{.name = "cost", .type = PF_OBJECT, .fields = doc_cost_fields},
	{.name = "outcome", .type = PF_TEXT, .max = 20000},
	{.name = "public", .type = PF_BOOL, .flags = PF_REQUIRED},
	{.name = NULL},
};

const char *
doc_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* A valid partial date member, else NULL (validate reported it). */
static const char *
doc_date(struct json_object *o, const char *key)
{
	const char *s = doc_str(o, key);
	return s && api->is_partial_date(s) ? s : NULL;
}

/* Partial dates compared on their common precision: "2008" is neither
 * before nor after "2008-05". */
static int
doc_date_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	return strncmp(a, b, la < lb ? la : lb);
}

/* Checks the programme's entries against the visit's dates: an entry may
 * not lie before start_date or after end_date (common precision, so a
 * full date is checked against full dates day by day and a month against
 * its month). */
static void
doc_check_programme(portal_req *r, struct json_object *doc)
{
	struct json_object *days;
	if (!json_object_object_get_ex(doc, "programme", &days) ||
	    !json_object_is_type(days, json_type_array))
		return;
	const char *start = doc_date(doc, "start_date"), *end = doc_date(doc, "end_date");
	if (end && start && doc_date_cmp(end, start) < 0)
		end = NULL; /* already an error of its own */
	for (size_t i = 0; i < json_object_array_length(days); i++) {
		struct json_object *day = json_object_array_get_idx(days, i);
		if (!json_object_is_type(day, json_type_object))
			continue;
		if (!doc_str(day, "place") && !doc_str(day, "description"))
			api->field_error(r, api->printf(r, "programme[%zu]", i),
			                 "needs a place or a description");
		const char *d = doc_date(day, "date");
		if (d == NULL)
			continue;
		const char *field = api->printf(r, "programme[%zu].date", i);
		if (start && doc_date_cmp(d, start) < 0)
			api->field_error(r, field, "must lie within the visit's dates: not before "
			                           "start_date (%s)", start);
		else if (end && doc_date_cmp(d, end) > 0)
			api->field_error(r, field, "must lie within the visit's dates: not after "
			                           "end_date (%s)", end);
	}
}

/* Asks the partnerships and projects modules about the visit's links. */
static int
doc_check_links(portal_req *r, struct json_object *doc, unsigned links)
{
	struct json_object *ids, *project;
	if ((links & DOC_CHECK_PARTNERSHIPS) &&
	    json_object_object_get_ex(doc, "partnership_ids", &ids) &&
	    json_object_is_type(ids, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(ids); i++) {
			struct json_object *id = json_object_array_get_idx(ids, i);
			if (!json_object_is_type(id, json_type_int) || json_object_get_int64(id) <= 0)
				continue; /* validate reported it */
			int rc = api->link_exists(r, "partnerships", json_object_get_int64(id));
			if (rc < 0)
				return PORTAL_ERROR;
			if (rc == 0)
				api->field_error(r, api->printf(r, "partnership_ids[%zu]", i),
				                 "is not a partnership of %s", api->municipality(r));
		}
	}
	if ((links & DOC_CHECK_PROJECT) && json_object_object_get_ex(doc, "project_id", &project) &&
	    json_object_is_type(project, json_type_int) && json_object_get_int64(project) > 0) {
		int rc = api->link_exists(r, "projects", json_object_get_int64(project));
		if (rc < 0)
			return PORTAL_ERROR;
		if (rc == 0)
			api->field_error(r, "project_id", "is not a project of %s", api->municipality(r));
	}
	return PORTAL_OK;
}

int
doc_check(portal_req *r, struct json_object *doc, unsigned links)
{
	if (!json_object_is_type(doc, json_type_object))
		return 1;

	const char *start = doc_date(doc, "start_date"), *end = doc_date(doc, "end_date");
	struct json_object *v;
	if (json_object_object_get_ex(doc, "end_date", &v) && v != NULL &&
	    (!json_object_object_get_ex(doc, "start_date", &v) || v == NULL))
		api->field_error(r, "start_date", "is required when end_date is given");
	if (start && end && doc_date_cmp(end, start) < 0)
		api->field_error(r, "end_date", "must not be before start_date (%s)", start);
	doc_check_programme(r, doc);

	if (doc_check_links(r, doc, links) != PORTAL_OK)
		return PORTAL_ERROR;
	return api->has_errors(r) ? 1 : PORTAL_OK;
}

/* Member `key` of `o`, a new reference (NULL for null or absent). */
static struct json_object *
doc_take(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	json_object_object_get_ex(o, key, &v);
	return json_object_get(v);
}

void
doc_normalise(struct json_object *doc)
{
	struct json_object *days;
	if (!json_object_object_get_ex(doc, "programme", &days) ||
	    !json_object_is_type(days, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(days); i++) {
		struct json_object *day = json_object_array_get_idx(days, i);
		struct json_object *norm = json_object_new_object();
		json_object_object_add(norm, "date", doc_take(day, "date"));
		json_object_object_add(norm, "place", doc_take(day, "place"));
		json_object_object_add(norm, "description", doc_take(day, "description"));
		json_object_array_put_idx(days, i, norm); /* releases the old entry */
	}
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
	struct json_object *delegation, *orgs, *days;
	doc_append(out, &len, doc_str(doc, "title"));
	doc_append(out, &len, doc_str(doc, "purpose"));
	doc_append(out, &len, doc_str(doc, "outcome"));
	doc_append(out, &len, doc_str(doc, "host_unit"));
	if (json_object_object_get_ex(doc, "delegation", &delegation) &&
	    json_object_object_get_ex(delegation, "organisations", &orgs) &&
	    json_object_is_type(orgs, json_type_array))
		for (size_t i = 0; i < json_object_array_length(orgs); i++) {
			struct json_object *o = json_object_array_get_idx(orgs, i);
			if (json_object_is_type(o, json_type_string))
				doc_append(out, &len, json_object_get_string(o));
		}
	if (json_object_object_get_ex(doc, "programme", &days) &&
	    json_object_is_type(days, json_type_array))
		for (size_t i = 0; i < json_object_array_length(days); i++) {
			struct json_object *day = json_object_array_get_idx(days, i);
			doc_append(out, &len, doc_str(day, "place"));
			doc_append(out, &len, doc_str(day, "description"));
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

/* Days in month `m` (1..12) of year `y`, Gregorian. */
static int
doc_days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

void
doc_period_lo(const char *d, char out[11])
{
	size_t n = strlen(d);
	snprintf(out, 11, "%.4s-%.2s-%.2s", d, n >= 7 ? d + 5 : "01", n >= 10 ? d + 8 : "01");
}

void
doc_period_hi(const char *d, char out[11])
{
	size_t n = strlen(d);
	if (n >= 10) {
		snprintf(out, 11, "%.10s", d);
		return;
	}
	int y = atoi(d), m = n >= 7 ? atoi(d + 5) : 12;
	if (m < 1 || m > 12)
		m = 12; /* not a valid date: validate reported it */
	snprintf(out, 11, "%.4s-%02d-%02d", d, m, doc_days_in_month(y, m));
}

/* A JSON number that prints as the shortest text reading back as `d`.
 * New object, owned by the caller. */
static struct json_object *
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

/* An integer column, or null. */
static struct json_object *
doc_col_int(portal_stmt *s, unsigned i)
{
	return api->col_is_null(s, i) ? NULL : json_object_new_int64(api->col_int(s, i));
}

/* A JSON array column; empty when the column is NULL or not an array.
 * The result is new (its reference is the caller's). */
static struct json_object *
doc_col_array(portal_stmt *s, unsigned i)
{
	struct json_object *o = api->col_json(s, i); /* owned by the request */
	if (o != NULL && json_object_is_type(o, json_type_array))
		return json_object_get(o);
	return json_object_new_array();
}

struct json_object *
doc_from_row(portal_req *r, portal_stmt *s)
{
	(void)r;
	struct json_object *item = json_object_new_object();
	struct json_object *delegation = json_object_new_object();

	json_object_object_add(item, "id", json_object_new_int64(api->col_int(s, COL_ID)));
	json_object_object_add(item, "municipality", doc_col_str(s, COL_MUNICIPALITY));
	json_object_object_add(item, "title", doc_col_str(s, COL_TITLE));
	json_object_object_add(item, "direction", doc_col_str(s, COL_DIRECTION));
	json_object_object_add(item, "status", doc_col_str(s, COL_STATUS));
	json_object_object_add(item, "start_date", doc_col_str(s, COL_START));
	json_object_object_add(item, "end_date", doc_col_str(s, COL_END));
	json_object_object_add(item, "partnership_ids", doc_col_array(s, COL_PARTNERSHIPS));
	json_object_object_add(item, "project_id", doc_col_int(s, COL_PROJECT));

	json_object_object_add(delegation, "organisations", doc_col_array(s, COL_ORGANISATIONS));
	json_object_object_add(delegation, "countries", doc_col_array(s, COL_COUNTRIES));
	json_object_object_add(delegation, "participants", doc_col_int(s, COL_PARTICIPANTS));
	json_object_object_add(item, "delegation", delegation);

	json_object_object_add(item, "purpose", doc_col_str(s, COL_PURPOSE));
	json_object_object_add(item, "programme", doc_col_array(s, COL_PROGRAMME));
	json_object_object_add(item, "host_unit", doc_col_str(s, COL_HOST_UNIT));
	struct json_object *cost = NULL;
	if (!api->col_is_null(s, COL_COST_AMOUNT)) {
		cost = json_object_new_object();
		json_object_object_add(cost, "amount",
		                       doc_new_double(api->col_double(s, COL_COST_AMOUNT)));
		json_object_object_add(cost, "currency", doc_col_str(s, COL_COST_CURRENCY));
	}
	json_object_object_add(item, "cost", cost);
	json_object_object_add(item, "outcome", doc_col_str(s, COL_OUTCOME));
	json_object_object_add(item, "public",
	                       json_object_new_boolean(api->col_int(s, COL_PUBLIC) != 0));
	json_object_object_add(item, "created_at", doc_col_str(s, COL_CREATED));
	json_object_object_add(item, "updated_at", doc_col_str(s, COL_UPDATED));
	json_object_object_add(item, "version", json_object_new_int64(api->col_int(s, COL_VERSION)));
	return item;
}
