/*
 * funds.c - the funds module: funding sources and calls a municipality's
 * people may apply to (its own fund pool such as Lejre's IFIL, ICLD's
 * calls, EU programmes, Svenska institutet, Nordiska ministerrådet ...):
 * the funder, the programme, when the call opens and closes, the amounts,
 * who may apply, the areas and where to read more.
 *
 * The item is declared once, below (fields, columns of the table `funds`,
 * filters, sort key); the core derives the five routes, the SQL and the
 * item's JSON from it (portal.h, struct portal_item).  What is this
 * module's own: the rules across members (dates, amounts) and `status`,
 * derived from the dates and never stored: `upcoming` before opens_on,
 * `closed` after closes_on, `open` in between (and for a call without
 * those dates, such as a standing fund pool).  The list's `status` filter
 * derives it in SQL from the same dates (UTC_DATE()), the render hook in
 * C (today in UTC), so both agree.
 *
 * Funds are a link target (a project names the call it applied to with
 * projects.fund_id): a call a project names is not deleted (409).
 */
#include <string.h>
#include <time.h>

#include "portal.h"

PORTAL_PLUGIN_API; /* defined by PORTAL_PLUGIN, at the end */

#define FUNDS_MAX_AMOUNT 1e15

static const char *const funds_statuses[] = {"upcoming", "open", "closed", NULL};
/* the same kinds as a project's funders (plugins/projects/projects.c) */
static const char *const funds_funder_kinds[] = {"eu",     "sida",     "icld", "si",
                                                 "nordic", "national", "other", NULL};
static const char *const funds_areas[] = {PORTAL_AREAS, NULL};

static const struct portal_field funds_funder_fields[] = {
	{.name = "name", .type = PF_STRING, .flags = PF_REQUIRED | PF_SEARCH, .max = 200,
	 .column = "funder_name"},
	{.name = "kind", .type = PF_ENUM, .flags = PF_REQUIRED, .values = funds_funder_kinds,
	 .column = "funder_kind", .doc = "The same kinds as a project's funders."},
	{.name = NULL},
};

/* null when no amount is known; the currency first, so it decides */
static const struct portal_field funds_amount_fields[] = {
	{.name = "currency", .type = PF_CURRENCY, .flags = PF_REQUIRED, .column = "amount_currency"},
	{.name = "min", .type = PF_NUMBER, .min = 0, .max_num = FUNDS_MAX_AMOUNT,
	 .column = "amount_min"},
	{.name = "max", .type = PF_NUMBER, .min = 0, .max_num = FUNDS_MAX_AMOUNT,
	 .column = "amount_max"},
	{.name = NULL},
};

static const struct portal_field funds_area = {.name = "area", .type = PF_ENUM,
                                               .values = funds_areas};

static const struct portal_field funds_fields[] = {
	{.name = "title", .type = PF_STRING, .flags = PF_REQUIRED | PF_SEARCH, .max = 300},
	{.name = "funder", .type = PF_OBJECT, .flags = PF_REQUIRED, .fields = funds_funder_fields},
	{.name = "programme", .type = PF_STRING, .flags = PF_SEARCH, .max = 200},
	{.name = "opens_on", .type = PF_DATE},
	{.name = "closes_on", .type = PF_DATE},
	{.name = "amount", .type = PF_OBJECT, .flags = PF_NULLABLE, .fields = funds_amount_fields},
	{.name = "eligibility", .type = PF_LANGMAP, .flags = PF_SEARCH, .max = 20000},
	{.name = "areas", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = PORTAL_NAREAS,
	 .items = &funds_area},
	{.name = "url", .type = PF_URL, .max = 2000},
	{.name = "status", .type = PF_ENUM, .flags = PF_READONLY | PF_REQUIRED, /* funds_render */
	 .values = funds_statuses,
	 .doc = "Derived from the dates, never written: upcoming before opens_on, closed after "
	        "closes_on, else open."},
	{.name = NULL},
};

/* check hook: closes_on not before opens_on; min not above max. */
static int
funds_check(portal_req *r, struct portal_write *w)
{
	const char *opens = api->member_date(w->doc, "opens_on");
	const char *closes = api->member_date(w->doc, "closes_on");
	if (opens && closes && api->date_cmp(closes, opens) < 0)
		api->field_error(r, "closes_on", "must not be before opens_on (%s)", opens);
	struct json_object *amount, *min, *max;
	if (json_object_object_get_ex(w->doc, "amount", &amount) &&
	    json_object_is_type(amount, json_type_object) &&
	    json_object_object_get_ex(amount, "min", &min) &&
	    json_object_object_get_ex(amount, "max", &max) &&
	    (json_object_is_type(min, json_type_int) || json_object_is_type(min, json_type_double)) &&
	    (json_object_is_type(max, json_type_int) || json_object_is_type(max, json_type_double)) &&
	    json_object_get_double(min) > json_object_get_double(max))
		api->field_error(r, "amount.min", "must not be larger than amount.max (%s)",
		                 json_object_to_json_string(max));
	return PORTAL_OK;
}

/* render hook: `status` from the dates, today in UTC (as UTC_DATE() in
 * the list's filter). */
static int
funds_render(portal_req *r, struct json_object *item)
{
	char today[16];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	const char *opens = api->period(r, api->member_date(item, "opens_on"), 0);
	const char *closes = api->period(r, api->member_date(item, "closes_on"), 1);
	const char *status = "open";
	if (opens && strcmp(today, opens) < 0)
		status = "upcoming";
	else if (closes && strcmp(today, closes) > 0)
		status = "closed";
	json_object_object_add(item, "status", json_object_new_string(status));
	return PORTAL_OK;
}

/* written hook: nothing links from a fund; projects link to it. */

/* Newest calls first (by opens_on; undated ones last).  open_from /
 * open_to: the first day of opens_on's period and the last of closes_on's,
 * what `status` is derived from. */
static const struct portal_column funds_columns[] = {
	{.name = "sort_open", .member = "opens_on", .how = PC_SORT},
	{.name = "open_from", .member = "opens_on", .how = PC_FIRST_DAY},
	{.name = "open_to", .member = "closes_on", .how = PC_LAST_DAY},
	{.name = NULL},
};

#define FUNDS_STATUS_SQL                                                                    \
	"(CASE WHEN t.open_from IS NOT NULL AND UTC_DATE() < t.open_from THEN 'upcoming'"       \
	" WHEN t.open_to IS NOT NULL AND UTC_DATE() > t.open_to THEN 'closed' ELSE 'open' END) = ?"

static const struct portal_filter funds_filters[] = {
	{.name = "status", .type = PF_ENUM, .values = funds_statuses, .sql = FUNDS_STATUS_SQL,
	 .doc = "Only funds with this derived status (from the dates and today's date, UTC)."},
	{.name = "funder", .type = PF_ENUM, .values = funds_funder_kinds, .sql = "t.funder_kind = ?",
	 .doc = "Only funds whose funder is of this kind."},
	{.name = "area", .member = "areas",
	 .doc = "Only funds whose `areas` contain this area."},
	{.name = NULL},
};

static const struct portal_item funds_item = {
	.noun = "fund", .schema = funds_fields, .own_answer = 1,
	.list_summary = "list funds and calls (status, funder, area, q, limit, cursor)",
	.table = "funds", .columns = funds_columns, .link_target = 1, .sort = "t.sort_open",
	.sort_desc = 1, .cursor_max = 10, .filters = funds_filters,
	.check = funds_check, .render = funds_render,
	.theme = "ECON", /* the catalogue's EU data theme */
};

PORTAL_PLUGIN(funds, "1.0.0", NULL, &funds_item, NULL);
