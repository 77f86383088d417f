/*
 * projects.c - the projects module: externally funded work of a
 * municipality (EU, Sida/ICLD, Svenska institutet, Nordic funds ...), its
 * funders, partners, budget and half-yearly reports.
 *
 * The item is declared once, below (fields, columns of the table
 * `projects`, filters, sort key); the core derives the five routes, the
 * SQL and the item's JSON from it (portal.h, struct portal_item).  What is
 * this module's own: the rules across members (budget, lead partner,
 * reports), the links of partners[].partnership_id to partnerships, and
 * the derived columns the list reads (funder kinds, the date period).
 *
 * Projects are a link target themselves (visits.project_id,
 * news.related.projects): a project something links to is not deleted
 * (409) and single items carry "linked"; its own links go with it.
 */
#include <string.h>

#include "portal.h"

PORTAL_PLUGIN_API; /* defined by PORTAL_PLUGIN, at the end */

#define PROJECTS_MAX_PARTNERS 100
#define PROJECTS_MAX_FUNDERS 20
#define PROJECTS_MAX_REPORTS 100 /* fifty years of half-years */
#define PROJECTS_MAX_AMOUNT 1e15 /* budget amounts, in the currency's units */

static const char *const projects_statuses[] = {"planned", "applied", "granted", "running",
                                                "completed", "rejected", NULL};

/* eu: EU programmes; sida: Sida; icld: ICLD (Sida-funded, municipal
 * partnerships); si: Svenska institutet; nordic: Nordiska ministerrådet and
 * other Nordic funds; national: other national bodies; other: the rest
 * (foundations, a municipality's own fund pool such as Lejre's IFIL). */
static const char *const projects_funder_kinds[] = {"eu",     "sida",     "icld", "si",
                                                    "nordic", "national", "other", NULL};
static const char *const projects_roles[] = {"lead", "partner", "associated", NULL};
static const char *const projects_areas[] = {PORTAL_AREAS, NULL};

static const struct portal_field projects_funder_fields[] = {
	{.name = "name", .type = PF_STRING, .flags = PF_REQUIRED | PF_SEARCH, .max = 200},
	{.name = "kind", .type = PF_ENUM, .flags = PF_REQUIRED, .values = projects_funder_kinds,
	 .doc = "eu: EU programmes; sida: Sida; icld: ICLD; si: Svenska institutet; nordic: "
	        "Nordiska ministerrådet and other Nordic funds; national: other national bodies; "
	        "other: the rest (foundations, a municipality's own fund pool)."},
	{.name = NULL},
};
static const struct portal_field projects_funder = {.name = "funder", .type = PF_OBJECT,
                                                    .fields = projects_funder_fields};

static const struct portal_field projects_partner_fields[] = {
	{.name = "name", .type = PF_STRING, .flags = PF_REQUIRED | PF_SEARCH, .max = 200},
	{.name = "country", .type = PF_COUNTRY},
	{.name = "role", .type = PF_ENUM, .values = projects_roles},
	{.name = "partnership_id", .type = PF_INT, .min = 1, .max_num = 999999999999999999.0,
	 .link = "partnerships", .doc = "A partnership of the same municipality."},
	{.name = NULL},
};
static const struct portal_field projects_partner = {.name = "partner", .type = PF_OBJECT,
                                                     .fields = projects_partner_fields};

static const struct portal_field projects_budget_fields[] = {
	{.name = "total", .type = PF_NUMBER, .min = 0, .max_num = PROJECTS_MAX_AMOUNT,
	 .column = "budget_total"},
	{.name = "grant", .type = PF_NUMBER, .min = 0, .max_num = PROJECTS_MAX_AMOUNT,
	 .column = "budget_grant", .doc = "The external funding granted; not more than total."},
	{.name = "currency", .type = PF_CURRENCY, .column = "budget_currency",
	 .doc = "Required when total or grant is given: removed only together with them."},
	{.name = NULL},
};

/* `period` is a string here; projects_check reads it as YYYY-H1 / YYYY-H2. */
static const struct portal_field projects_report_fields[] = {
	{.name = "period", .type = PF_STRING, .flags = PF_REQUIRED, .max = 7,
	 .pattern = "^[1-9][0-9]{3}-H[12]$",
	 .doc = "A half-year: YYYY-H1 (January–June) or YYYY-H2 (July–December)."},
	{.name = "submitted_on", .type = PF_DATE},
	{.name = "summary", .type = PF_TEXT, .max = 20000},
	{.name = "document_url", .type = PF_URL, .max = 2000},
	/* an uploaded PDF (POST /api/v1/{m}/media): its id */
	{.name = "document", .type = PF_INT, .min = 1, .max_num = 1e18, .link = "media",
	 .doc = "An uploaded PDF of the municipality (POST /api/v1/{m}/media): its id."},
	{.name = NULL},
};
static const struct portal_field projects_report = {.name = "report", .type = PF_OBJECT,
                                                    .fields = projects_report_fields};

/* A report's uploaded document as pages show it: which report (its index
 * and period), the file's URL, name, type and size. */
static const struct portal_field projects_document_fields[] = {
	{.name = "report", .type = PF_INT},
	{.name = "period", .type = PF_STRING},
	PORTAL_FILE_ENTRY_FIELDS, /* api->file_entry */
	{.name = NULL},
};
static const struct portal_field projects_document = {.name = "document", .type = PF_OBJECT,
                                                      .fields = projects_document_fields};

static const struct portal_field projects_area = {.name = "area", .type = PF_ENUM,
                                                  .values = projects_areas};

/* The item: every member always shown (null, [] or {} when unknown), the
 * objects inside its arrays too (PF_SHAPED). */
static const struct portal_field projects_fields[] = {
	{.name = "title", .type = PF_STRING, .flags = PF_REQUIRED | PF_SEARCH, .max = 300},
	{.name = "acronym", .type = PF_STRING, .flags = PF_SEARCH, .max = 50},
	{.name = "summary", .type = PF_LANGMAP, .flags = PF_SEARCH, .max = 20000},
	{.name = "programme", .type = PF_STRING, .flags = PF_SEARCH, .max = 200},
	{.name = "funders", .type = PF_ARRAY, .flags = PF_UNIQUE | PF_SHAPED,
	 .max = PROJECTS_MAX_FUNDERS, .items = &projects_funder},
	{.name = "status", .type = PF_ENUM, .flags = PF_REQUIRED, .values = projects_statuses,
	 .doc = "Usually planned → applied → granted → running → completed, or applied → "
	        "rejected; not enforced."},
	{.name = "start_date", .type = PF_DATE},
	{.name = "end_date", .type = PF_DATE},
	{.name = "budget", .type = PF_OBJECT, .fields = projects_budget_fields,
	 .doc = "Amounts are non-negative; `grant` not more than `total`; `currency` is required "
	        "when an amount is given."},
	{.name = "partners", .type = PF_ARRAY, .flags = PF_SHAPED, .max = PROJECTS_MAX_PARTNERS,
	 .items = &projects_partner,
	 .doc = "In the order the editor gave them."},
	{.name = "responsible_unit", .type = PF_STRING, .flags = PF_SEARCH, .max = 200},
	{.name = "areas", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = PORTAL_NAREAS,
	 .items = &projects_area},
	{.name = "url", .type = PF_URL, .max = 2000},
	{.name = "reports", .type = PF_ARRAY, .flags = PF_SHAPED, .max = PROJECTS_MAX_REPORTS,
	 .items = &projects_report,
	 .doc = "In the order the editor gave them."},
	/* the call (funds module) the project applied to */
	{.name = "fund_id", .type = PF_INT, .min = 1, .max_num = 999999999999999999.0,
	 .link = "funds",
	 .doc = "The call (an item of the funds module, same municipality) the project applied "
	        "to; another municipality's fund is a 422 naming fund_id."},
	/* the uploaded documents of the reports, for pages (projects_render) */
	{.name = "documents", .type = PF_ARRAY, .flags = PF_READONLY, .items = &projects_document,
	 .doc = "The reports' uploaded documents (read-only): which report, the file's URL, name, "
	        "type and size."},
	{.name = NULL},
};

/* ---- the rules across members ---- */

/* Member `key` of `o` when it is an array / a number, else NULL. */
static struct json_object *
projects_member(struct json_object *o, const char *key, int number)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	if (number)
		return json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)
		           ? v
		           : NULL;
	return json_object_is_type(v, json_type_array) ? v : NULL;
}

/* A half-year "YYYY-H1" / "YYYY-H2": returns 1 or 2, 0 when not one. */
static int
projects_half_year(const char *s)
{
	if (s == NULL || strlen(s) != 7 || s[4] != '-' || s[5] != 'H' || (s[6] != '1' && s[6] != '2'))
		return 0;
	for (int i = 0; i < 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[0] == '0' ? 0 : s[6] - '0';
}

/* The budget: grant within total, a currency for any amount. */
static void
projects_check_budget(portal_req *r, struct json_object *budget)
{
	if (!json_object_is_type(budget, json_type_object))
		return;
	struct json_object *total = projects_member(budget, "total", 1);
	struct json_object *grant = projects_member(budget, "grant", 1), *cur;
	if (total && grant && json_object_get_double(grant) > json_object_get_double(total))
		api->field_error(r, "budget.grant", "must not be larger than budget.total (%s)",
		                 json_object_to_json_string(total));
	int has_cur = json_object_object_get_ex(budget, "currency", &cur) && cur != NULL;
	if ((total || grant) && !has_cur)
		api->field_error(r, "budget.currency", "is required when an amount is given");
}

/* Only one partner leads. */
static void
projects_check_partners(portal_req *r, struct json_object *partners)
{
	size_t n = partners ? json_object_array_length(partners) : 0;
	long lead = -1;
	for (size_t i = 0; i < n; i++) {
		const char *role = api->member_str(json_object_array_get_idx(partners, i), "role");
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
projects_check_reports(portal_req *r, struct json_object *reports)
{
	size_t n = reports ? json_object_array_length(reports) : 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *rep = json_object_array_get_idx(reports, i);
		const char *period = api->member_str(rep, "period");
		if (period == NULL)
			continue; /* validate said why */
		int half = projects_half_year(period);
		if (half == 0) {
			api->field_error(r, api->printf(r, "reports[%zu].period", i),
			                 "must be a half-year as YYYY-H1 or YYYY-H2, such as \"2024-H1\"");
			continue;
		}
		for (size_t k = 0; k < i; k++) {
			const char *prev = api->member_str(json_object_array_get_idx(reports, k), "period");
			if (prev && strcmp(prev, period) == 0) {
				api->field_error(r, api->printf(r, "reports[%zu].period", i),
				                 "repeats reports[%zu]: one report per half-year", k);
				break;
			}
		}
		const char *sub = api->member_str(rep, "submitted_on");
		const char *begins = api->printf(r, "%.4s-%s-01", period, half == 1 ? "01" : "07");
		if (sub && api->is_partial_date(sub) && api->date_cmp(sub, begins) < 0)
			api->field_error(r, api->printf(r, "reports[%zu].submitted_on", i),
			                 "must not be before the half-year it reports on begins (%s)",
			                 begins);
	}
}

/*
 * The partnerships that partners[].partnership_id name.  Each id is asked
 * of the partnerships module (same municipality, module enabled, item
 * exists).  With `strict` (a create, or a patch that writes "partners") an
 * id that is not one is an error naming its field; otherwise the item
 * keeps the id it had (the partnership was deleted since: the link is
 * gone, the project still says which partner it was) and it is not linked.
 * Sets ids (request memory) and *n to the distinct ids to link.
 * PORTAL_OK, or PORTAL_ERROR when the database failed.
 */
static int
projects_partnerships(portal_req *r, struct json_object *doc, int strict, long long **ids,
                      size_t *n)
{
	struct json_object *partners = projects_member(doc, "partners", 0);
	size_t len = partners ? json_object_array_length(partners) : 0;
	*n = 0;
	*ids = api->alloc(r, (len ? len : 1) * sizeof(**ids));
	if (len > PROJECTS_MAX_PARTNERS)
		return PORTAL_OK; /* validate said so; ask nothing */
	for (size_t i = 0; i < len; i++) {
		struct json_object *pid;
		if (!json_object_object_get_ex(json_object_array_get_idx(partners, i), "partnership_id",
		                               &pid) ||
		    !json_object_is_type(pid, json_type_int) || json_object_get_int64(pid) <= 0)
			continue; /* absent, null, or validate said why */
		long long id = json_object_get_int64(pid);
		int rc = api->link_exists(r, "partnerships", id);
		if (rc < 0)
			return PORTAL_ERROR;
		if (rc == 0) {
			if (strict)
				api->field_error(r, api->printf(r, "partners[%zu].partnership_id", i),
				                 "is not a partnership of %s", api->municipality(r));
			continue;
		}
		size_t k = 0;
		while (k < *n && (*ids)[k] != id)
			k++;
		if (k == *n)
			(*ids)[(*n)++] = id;
	}
	return PORTAL_OK;
}

/* The partnerships a write links to, from check to written, and the fund
 * (0: none). */
struct projects_links {
	long long *ids;
	size_t n;
	long long fund;
};

/* fund_id names a call of the funds module, same municipality (asked of
 * it, as partnerships are), strictly on a create or a patch that writes it;
 * a fund deleted since is not linked.  PORTAL_OK or PORTAL_ERROR. */
static int
projects_fund(portal_req *r, struct json_object *doc, int strict, long long *fund)
{
	struct json_object *fid;
	*fund = 0;
	if (!json_object_object_get_ex(doc, "fund_id", &fid) ||
	    !json_object_is_type(fid, json_type_int) || json_object_get_int64(fid) <= 0)
		return PORTAL_OK; /* absent, null, or validate said why */
	int rc = api->link_exists(r, "funds", json_object_get_int64(fid));
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0) {
		if (strict)
			api->field_error(r, "fund_id", "is not a fund of %s", api->municipality(r));
		return PORTAL_OK;
	}
	*fund = json_object_get_int64(fid);
	return PORTAL_OK;
}

/* check hook: the rules across members, then the partnerships that
 * partners[] name, strictly on a create or a patch that writes them. */
static int
projects_check(portal_req *r, struct portal_write *w)
{
	struct json_object *doc = w->doc, *budget;
	const char *start = api->member_str(doc, "start_date"), *end = api->member_str(doc, "end_date");
	if (start && end && api->is_partial_date(start) && api->is_partial_date(end) &&
	    api->date_cmp(end, start) < 0)
		api->field_error(r, "end_date", "must not be before start_date (%s)", start);
	if (json_object_object_get_ex(doc, "budget", &budget))
		projects_check_budget(r, budget);
	projects_check_partners(r, projects_member(doc, "partners", 0));
	projects_check_reports(r, projects_member(doc, "reports", 0));
	if (w->patch == NULL || json_object_object_get_ex(w->patch, "reports", NULL))
		api->files_check(r, doc, "reports[].document", "application/pdf", PROJECTS_MAX_REPORTS);

	struct projects_links *links = api->alloc(r, sizeof(*links));
	int strict = w->patch == NULL || json_object_object_get_ex(w->patch, "partners", NULL);
	w->data = links;
	if (projects_fund(r, doc, w->patch == NULL || json_object_object_get_ex(w->patch, "fund_id", NULL),
	                  &links->fund) != PORTAL_OK)
		return PORTAL_ERROR;
	return projects_partnerships(r, doc, strict, &links->ids, &links->n);
}

/* render hook: "documents", the uploaded files of the reports (a file
 * that is gone is left out). */
static int
projects_render(portal_req *r, struct json_object *item)
{
	struct json_object *reports = projects_member(item, "reports", 0);
	struct json_object *docs = json_object_new_array();
	size_t n = reports ? json_object_array_length(reports) : 0;
	for (size_t k = 0; k < n; k++) {
		struct json_object *rep = json_object_array_get_idx(reports, k);
		const char *period = api->member_str(rep, "period");
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "report", json_object_new_int64((long long)k));
		json_object_object_add(o, "period", period ? json_object_new_string(period) : NULL);
		if (api->file_entry(r, o, rep, "document", NULL,
		                    api->printf(r, "report-%s.pdf", period ? period : "")))
			json_object_array_add(docs, o);
		else
			json_object_put(o);
	}
	json_object_object_add(item, "documents", docs);
	return PORTAL_OK;
}

/* written hook: replaces the project's links to partnerships; on every
 * write, as the title and date the partnership lists may have changed. */
static int
projects_written(portal_req *r, struct portal_write *w)
{
	const struct projects_links *links = w->data;
	const char *title = api->member_str(w->item, "title");
	const char *date = api->member_str(w->item, "start_date");
	if (api->link_set(r, w->id, "partnerships", links->ids, links->n, title, date, 1) != PORTAL_OK ||
	    api->files_link(r, w->id, w->item, "reports[].document", title ? title : "project", 1) !=
	        PORTAL_OK)
		return PORTAL_ERROR;
	return api->link_set(r, w->id, "funds", &links->fund, links->fund > 0 ? 1 : 0, title, date, 1);
}

/* ---- the columns the list reads ---- */

/* The distinct funders[].kind as JSON text, e.g. ["sida","icld"]. */
static const char *
projects_funder_kinds_json(portal_req *r, struct json_object *doc)
{
	struct json_object *funders = projects_member(doc, "funders", 0);
	struct json_object *kinds = api->keep(r, json_object_new_array());
	size_t n = funders ? json_object_array_length(funders) : 0;
	for (const char *const *k = projects_funder_kinds; *k; k++)
		for (size_t i = 0; i < n; i++) {
			const char *kind = api->member_str(json_object_array_get_idx(funders, i), "kind");
			if (kind && strcmp(kind, *k) == 0) {
				json_object_array_add(kinds, json_object_new_string(*k));
				break;
			}
		}
	return api->strdup(r, json_object_to_json_string_ext(kinds, JSON_C_TO_STRING_PLAIN));
}

/* Undated projects sort after every dated one (descending order); the
 * period runs from the first day of start_date's period to the last day
 * of end_date's (open without end_date). */
static const struct portal_column projects_columns[] = {
	{.name = "funder_kinds", .value = projects_funder_kinds_json},
	{.name = "sort_start", .member = "start_date", .how = PC_SORT},
	{.name = "period_from", .member = "start_date", .how = PC_FIRST_DAY},
	{.name = "period_to", .member = "end_date", .how = PC_LAST_DAY},
	{.name = NULL},
};

/* ---- the list ---- */

/* The `programme` argument: one line of 1..200 bytes. */
static const char *
projects_programme_arg(portal_req *r, struct portal_list *l, const char *v)
{
	size_t n = strlen(v), blank = 0, chars = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 || c == 0x7f) {
			api->field_error(r, "programme", "must not contain control characters");
			return NULL;
		}
		blank += c == ' ';
		chars += (c & 0xc0) != 0x80; /* characters, as the schema's maxLength counts */
	}
	if (n == 0 || blank == n || chars > 200) {
		api->field_error(r, "programme", "must be a programme's name, 1 to 200 characters");
		return NULL;
	}
	return v;
}

/* The `active_on` argument: a whole date. */
static const char *
projects_active_on_arg(portal_req *r, struct portal_list *l, const char *v)
{
	if (strlen(v) == 10 && api->is_partial_date(v))
		return v;
	api->field_error(r, "active_on", "must be a real date as YYYY-MM-DD");
	return NULL;
}

/* active_on: the project's period contains the day; a project without
 * start_date never matches. */
static const struct portal_filter projects_filters[] = {
	{.name = "status", .type = PF_ENUM, .values = projects_statuses, .sql = "t.status = ?",
	 .doc = "Only projects with this status."},
	{.name = "funder", .type = PF_ENUM, .values = projects_funder_kinds,
	 .sql = "JSON_CONTAINS(t.funder_kinds, JSON_QUOTE(?))",
	 .doc = "Only projects with a funder of this kind."},
	{.name = "area", .member = "areas",
	 .doc = "Only projects whose `areas` contain this area."},
	{.name = "programme", .parse = projects_programme_arg,
	 .example = "ICLD:s kommunala partnerskapsprogram", .sql = "LOWER(t.programme) = LOWER(?)",
	 .doc = "Only projects of this programme: the whole name, case does not matter (accents "
	        "do)."},
	{.name = "active_on", .type = PF_DATE, .parse = projects_active_on_arg,
	 .pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
	 .example = "2024-06-01",
	 .sql = "t.period_from <= ? AND (t.period_to IS NULL OR t.period_to >= ?)",
	 .doc = "Only projects running on this day: from the first day of `start_date`'s period "
	        "(\"2024\" is 2024-01-01) to the last day of `end_date`'s (\"2025-06\" is "
	        "2025-06-30), open-ended without `end_date`. Projects without `start_date` never "
	        "match; `status` is not looked at (combine with `status=running` if wanted)."},
	{.name = NULL},
};

static const struct portal_item projects_item = {
	.noun = "project", .schema = projects_fields, .own_answer = 1,
	.defaults = "{\"status\": \"planned\"}",
	.list_summary = "list projects (status, funder, programme, area, active_on, q, limit, cursor)",
	/* the store: newest first (the index projects_list) */
	.table = "projects", .columns = projects_columns, .link_target = 1, .sort = "t.sort_start",
	.sort_desc = 1, .cursor_max = 10, .filters = projects_filters,
	.check = projects_check, .written = projects_written, /* the module's own rules */
	.render = projects_render,
	.theme = "INTR", /* the catalogue's EU data theme */
};

PORTAL_PLUGIN(projects, "1.0.0", NULL, &projects_item, NULL);
