/*
 * visits.c - the visits module: delegations a municipality receives
 * (incoming) or sends (outgoing), with their programme day by day, what
 * they cost and what came out of them.
 *
 * The item is declared once, below (fields, columns of the table
 * `visits`, filters, sort key); the core derives the five routes, the SQL
 * and the item's JSON from it (portal.h, struct portal_item).  What is
 * this module's own: the rules across members (dates, the programme),
 * the links to partnerships and a project, the stored shape of the
 * programme and the list's date and partnership arguments.  Who sees a
 * non-public visit is declared (`published`: the core's rule).
 *
 * A visit with public = false exists only for a token of the municipality
 * with role reader or higher: to anyone else it is a 404 and absent from
 * lists.  Visits are a link target themselves (news items point at them).
 */
#include <string.h>

#include "portal.h"

PORTAL_PLUGIN_API; /* defined by PORTAL_PLUGIN, at the end */

#define VISITS_MAX_PARTNERSHIPS 50 /* partnership_ids per visit */
#define VISITS_MAX_PROGRAMME 200  /* programme entries per visit */
#define VISITS_MAX_ID 9223372036854775807.0 /* ids are BIGINTs, json-c's int64 */

static const char *const visits_directions[] = {"incoming", "outgoing", NULL};
/* A cancelled visit stays (marked cancelled); DELETE is for mistakes. */
static const char *const visits_statuses[] = {"planned", "confirmed", "completed", "cancelled",
                                              NULL};

static const struct portal_field visits_partnership_id = {
	.name = "partnership_id", .type = PF_INT, .min = 1, .max_num = VISITS_MAX_ID};
static const struct portal_field visits_organisation = {.name = "organisation",
                                                        .type = PF_STRING, .max = 200};
static const struct portal_field visits_country = {.name = "country", .type = PF_COUNTRY};

static const struct portal_field visits_delegation_fields[] = {
	{.name = "organisations", .type = PF_ARRAY, .flags = PF_UNIQUE | PF_SEARCH, .max = 50,
	 .items = &visits_organisation, .column = "delegation_organisations"},
	{.name = "countries", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = 50,
	 .items = &visits_country, .column = "delegation_countries"},
	{.name = "participants", .type = PF_INT, .min = 0, .max_num = 100000,
	 .column = "delegation_participants"},
	{.name = NULL},
};

static const struct portal_field visits_day_fields[] = {
	{.name = "date", .type = PF_DATE},
	{.name = "place", .type = PF_STRING, .flags = PF_SEARCH, .max = 200},
	{.name = "description", .type = PF_TEXT, .flags = PF_SEARCH, .max = 4000},
	{.name = NULL},
};
static const struct portal_field visits_day = {.name = "day", .type = PF_OBJECT,
                                               .fields = visits_day_fields};

/* null when the visit has no cost (PF_NULLABLE: no amount) */
static const struct portal_field visits_cost_fields[] = {
	{.name = "amount", .type = PF_NUMBER, .flags = PF_REQUIRED, .min = 0, .max_num = 1e12,
	 .column = "cost_amount"},
	{.name = "currency", .type = PF_CURRENCY, .flags = PF_REQUIRED, .column = "cost_currency"},
	{.name = NULL},
};

/* The item.  status and public get their defaults on create. */
static const struct portal_field visits_fields[] = {
	{.name = "title", .type = PF_STRING, .flags = PF_REQUIRED | PF_SEARCH, .max = 300},
	{.name = "direction", .type = PF_ENUM, .flags = PF_REQUIRED, .values = visits_directions},
	{.name = "status", .type = PF_ENUM, .flags = PF_REQUIRED, .values = visits_statuses,
	 .doc = "Default planned. A cancelled visit stays, marked cancelled; DELETE is for "
	        "mistakes."},
	{.name = "start_date", .type = PF_DATE,
	 .doc = "Removing it (null) needs end_date removed too, in the same patch or before."},
	{.name = "end_date", .type = PF_DATE,
	 .doc = "Not before start_date (compared on the common precision); needs start_date."},
	{.name = "partnership_ids", .type = PF_ARRAY, .flags = PF_UNIQUE,
	 .max = VISITS_MAX_PARTNERSHIPS, .items = &visits_partnership_id, .link = "partnerships",
	 .doc = "Partnerships of the same municipality; another one is a 422 naming "
	        "partnership_ids[i]."},
	{.name = "project_id", .type = PF_INT, .min = 1, .max_num = VISITS_MAX_ID,
	 .link = "projects",
	 .doc = "A project of the same municipality; another one is a 422 naming project_id."},
	{.name = "delegation", .type = PF_OBJECT, .fields = visits_delegation_fields,
	 .doc = "Who travels."},
	{.name = "purpose", .type = PF_TEXT, .flags = PF_SEARCH, .max = 20000},
	{.name = "programme", .type = PF_ARRAY, .max = VISITS_MAX_PROGRAMME, .items = &visits_day,
	 .doc = "Day by day. A date must lie within the visit's dates."},
	{.name = "host_unit", .type = PF_STRING, .flags = PF_SEARCH, .max = 200},
	{.name = "cost", .type = PF_OBJECT, .flags = PF_NULLABLE, .fields = visits_cost_fields},
	{.name = "outcome", .type = PF_TEXT, .flags = PF_SEARCH, .max = 20000},
	{.name = "public", .type = PF_BOOL, .flags = PF_REQUIRED,
	 .doc = "Default true. A non-public visit is seen only with a reader (or higher) token "
	        "of the municipality."},
	{.name = NULL},
};

/* ---- the module's own rules ---- */

/* The programme's entries lie within the visit's dates (common precision,
 * so a full date is checked day by day and a month against its month). */
static void
visits_check_programme(portal_req *r, struct json_object *doc)
{
	struct json_object *days;
	if (!json_object_object_get_ex(doc, "programme", &days) ||
	    !json_object_is_type(days, json_type_array))
		return;
	const char *start = api->member_date(doc, "start_date");
	const char *end = api->member_date(doc, "end_date");
	if (end && start && api->date_cmp(end, start) < 0)
		end = NULL; /* already an error of its own */
	for (size_t i = 0; i < json_object_array_length(days); i++) {
		struct json_object *day = json_object_array_get_idx(days, i);
		if (!json_object_is_type(day, json_type_object))
			continue;
		if (!api->member_str(day, "place") && !api->member_str(day, "description"))
			api->field_error(r, api->printf(r, "programme[%zu]", i),
			                 "needs a place or a description");
		const char *d = api->member_date(day, "date");
		if (d == NULL)
			continue;
		const char *field = api->printf(r, "programme[%zu].date", i);
		if (start && api->date_cmp(d, start) < 0)
			api->field_error(r, field, "must lie within the visit's dates: not before "
			                           "start_date (%s)", start);
		else if (end && api->date_cmp(d, end) > 0)
			api->field_error(r, field, "must lie within the visit's dates: not after "
			                           "end_date (%s)", end);
	}
}

/* Asks the partnerships and projects modules about the visit's links. */
static int
visits_check_links(portal_req *r, struct json_object *doc, int partnerships, int project)
{
	struct json_object *ids, *pr;
	if (partnerships && json_object_object_get_ex(doc, "partnership_ids", &ids) &&
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
	if (project && json_object_object_get_ex(doc, "project_id", &pr) &&
	    json_object_is_type(pr, json_type_int) && json_object_get_int64(pr) > 0) {
		int rc = api->link_exists(r, "projects", json_object_get_int64(pr));
		if (rc < 0)
			return PORTAL_ERROR;
		if (rc == 0)
			api->field_error(r, "project_id", "is not a project of %s", api->municipality(r));
	}
	return PORTAL_OK;
}

/* check hook: the rules across members, and the links the write sets (a
 * create both; a partnership deleted since does not lock the rest of an
 * older visit). */
static int
visits_check(portal_req *r, struct portal_write *w)
{
	struct json_object *doc = w->doc, *v;
	const char *start = api->member_date(doc, "start_date");
	const char *end = api->member_date(doc, "end_date");
	if (json_object_object_get_ex(doc, "end_date", &v) && v != NULL &&
	    (!json_object_object_get_ex(doc, "start_date", &v) || v == NULL))
		api->field_error(r, "start_date", "is required when end_date is given");
	if (start && end && api->date_cmp(end, start) < 0)
		api->field_error(r, "end_date", "must not be before start_date (%s)", start);
	visits_check_programme(r, doc);
	int all = w->patch == NULL;
	return visits_check_links(r, doc,
	                          all || json_object_object_get_ex(w->patch, "partnership_ids", NULL),
	                          all || json_object_object_get_ex(w->patch, "project_id", NULL));
}

/* Member `key` of `o`, a new reference (NULL for null or absent). */
static struct json_object *
visits_take(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	json_object_object_get_ex(o, key, &v);
	return json_object_get(v);
}

/* before_write hook: the valid item in its stored shape: every programme
 * entry has date, place and description (null when not given). */
static int
visits_before_write(portal_req *r, struct portal_write *w)
{
	struct json_object *days;
	if (!json_object_object_get_ex(w->doc, "programme", &days) ||
	    !json_object_is_type(days, json_type_array))
		return PORTAL_OK;
	for (size_t i = 0; i < json_object_array_length(days); i++) {
		struct json_object *day = json_object_array_get_idx(days, i);
		struct json_object *norm = json_object_new_object();
		json_object_object_add(norm, "date", visits_take(day, "date"));
		json_object_object_add(norm, "place", visits_take(day, "place"));
		json_object_object_add(norm, "description", visits_take(day, "description"));
		json_object_array_put_idx(days, i, norm); /* releases the old entry */
	}
	return PORTAL_OK;
}

/* saved hook: the rows the `partnership` filter reads, replaced with the
 * item's partnership_ids. */
static int
visits_saved(portal_req *r, struct portal_write *w)
{
	portal_stmt *s = api->prepare(r, "DELETE FROM visit_partnerships WHERE visit_id = ?");
	if (s == NULL)
		return PORTAL_ERROR;
	api->bind_int(s, 0, w->id);
	int rc = api->execute(s);
	api->done(s);
	size_t n;
	long long *ids = api->member_ids(r, w->doc, "partnership_ids", &n, 0);
	if (rc != PORTAL_OK)
		return PORTAL_ERROR;
	if (n == 0)
		return PORTAL_OK;
	s = api->prepare(r, "INSERT IGNORE INTO visit_partnerships (visit_id, partnership_id)"
	                    " VALUES (?, ?)");
	if (s == NULL)
		return PORTAL_ERROR;
	for (size_t k = 0; k < n && rc == PORTAL_OK; k++) {
		api->bind_int(s, 0, w->id);
		api->bind_int(s, 1, ids[k]);
		rc = api->execute(s);
	}
	api->done(s);
	return rc;
}

/* written hook: the links in the core (after every write, so a changed
 * title, date or public flag reaches the partnerships' and the project's
 * pages): its partnerships and its project, either maybe none. */
static int
visits_written(portal_req *r, struct portal_write *w)
{
	struct json_object *doc = w->doc, *pub, *project;
	const char *title = api->member_str(doc, "title"), *date = api->member_str(doc, "start_date");
	int is_public = !json_object_object_get_ex(doc, "public", &pub) ||
	                json_object_get_boolean(pub);
	size_t n;
	long long *pids = api->member_ids(r, doc, "partnership_ids", &n, 0);
	if (api->link_set(r, w->id, "partnerships", pids, n, title, date, is_public) != PORTAL_OK)
		return PORTAL_ERROR;
	long long pid = 0;
	if (json_object_object_get_ex(doc, "project_id", &project) &&
	    json_object_is_type(project, json_type_int))
		pid = json_object_get_int64(project);
	return api->link_set(r, w->id, "projects", &pid, pid > 0 ? 1 : 0, title, date, is_public);
}

/* ---- the columns the list reads ---- */

/* Undated visits sort after every dated one (descending order).  The
 * period [period_start, period_end] from/to overlap: from the first day
 * of start_date to the last of end_date (or of start_date); none for an
 * undated visit (end_date needs start_date). */
static const struct portal_column visits_columns[] = {
	{.name = "sort_date", .member = "start_date", .how = PC_SORT},
	{.name = "period_start", .member = "start_date", .how = PC_FIRST_DAY},
	{.name = "period_end", .member = "end_date", .fallback = "start_date", .how = PC_LAST_DAY},
	{.name = NULL},
};

/* ---- the list ---- */

/* A partial-date argument as the first ("from") or last ("to") day of its
 * period: from=2024 means from 2024-01-01, to=2024-09 up to 2024-09-30. */
static const char *
visits_date_arg(portal_req *r, const char *name, const char *v, int last)
{
	if (!api->is_partial_date(v)) {
		api->field_error(r, name, "must be a date as YYYY, YYYY-MM or YYYY-MM-DD");
		return NULL;
	}
	return api->period(r, v, last);
}

static const char *
visits_from_arg(portal_req *r, struct portal_list *l, const char *v)
{
	return visits_date_arg(r, "from", v, 0);
}

static const char *
visits_to_arg(portal_req *r, struct portal_list *l, const char *v)
{
	const char *to = visits_date_arg(r, "to", v, 1), *from = l->arg[2];
	if (to && from && strcmp(to, from) < 0)
		api->field_error(r, "to", "must not be before from (%s)", api->query(r, "from"));
	return to;
}

static const char *
visits_partnership_arg(portal_req *r, struct portal_list *l, const char *v)
{
	if (api->parse_id(v) > 0)
		return v;
	api->field_error(r, "partnership", "must be a partnership id (a positive integer)");
	return NULL;
}

/* from/to select the visits whose period overlaps theirs; undated visits
 * have none and drop out. */
static const struct portal_filter visits_filters[] = {
	{.name = "direction", .type = PF_ENUM, .values = visits_directions,
	 .sql = "t.direction = ?",
	 .doc = "incoming or outgoing"},
	{.name = "status", .type = PF_ENUM, .values = visits_statuses, .sql = "t.status = ?",
	 .doc = "planned, confirmed, completed or cancelled"},
	{.name = "from", .type = PF_DATE, .parse = visits_from_arg, .sql = "t.period_end >= ?",
	 .doc = "Visits whose dates overlap [from, to]; a partial date stands for its whole "
	        "period (from=2024 means from 2024-01-01). Undated visits never match."}, /* l->arg[2] */
	{.name = "to", .type = PF_DATE, .parse = visits_to_arg, .sql = "t.period_start <= ?",
	 .doc = "See from (to=2024-09 means up to 2024-09-30)."},
	{.name = "partnership", .type = PF_INT, .parse = visits_partnership_arg,
	 .sql = "EXISTS (SELECT 1 FROM visit_partnerships vp WHERE vp.visit_id = t.id"
	        " AND vp.partnership_id = ?)",
	 .doc = "Visits linked to this partnership id."},
	{.name = NULL},
};

static const struct portal_item visits_item = {
	.noun = "visit", .schema = visits_fields, .own_answer = 1,
	.defaults = "{\"status\": \"planned\", \"public\": true}",
	.list_summary = "list visits (direction, status, from, to, partnership, q, limit, cursor)",
	/* the store: newest first (the index visits_list); non-public visits
	 * only for readers */
	.table = "visits", .columns = visits_columns, .published = {.member = "public"},
	.link_target = 1,
	.sort = "t.sort_date", .sort_desc = 1, .cursor_max = 10, .filters = visits_filters,
	/* the module's own rules */
	.check = visits_check, .before_write = visits_before_write,
	.saved = visits_saved, .written = visits_written,
	.theme = "INTR", /* the catalogue's EU data theme */
};

PORTAL_PLUGIN(visits, "1.0.0", NULL, &visits_item, NULL);
