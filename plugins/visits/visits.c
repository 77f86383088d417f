/*
 * visits.c - the visits module: delegations a municipality receives
 * (incoming) or sends (outgoing), with their programme day by day, what
 * they cost and what came out of them.
 *
 *   GET    /api/v1/{m}/visits        list (filters, q, keyset cursor)
 *   GET    /api/v1/{m}/visits/{id}   one item with "linked", ETag
 *   POST   /api/v1/{m}/visits        create (editor)
 *   PATCH  /api/v1/{m}/visits/{id}   JSON merge patch (editor)
 *   DELETE /api/v1/{m}/visits/{id}   delete (editor)
 *
 * A visit with public = false exists only for a token of the municipality
 * with role reader or higher: to anyone else it is a 404 and absent from
 * lists.  Visits link to partnerships and a project of the same
 * municipality (checked through the core, kept in the core's links table
 * so the partnership and the project can show their visits) and are a
 * link target themselves (news items point at them).
 *
 * The core runs the five routes (api->item, portal.h): this file declares
 * the item and keeps the module's own rules: who sees a non-public visit,
 * the links, the stored shape and the list's date and partnership
 * arguments.
 */
#include <string.h>

#include "visits.h"

const struct portal_api *api;

/* Generated from schema/NNN_name.sql by tools/embed-migrations.sh. */
struct portal_migration_src {
	unsigned version;
	const char *name;
	const char *sql;
};
extern const struct portal_migration_src visits_migrations[];

/* Generated from openapi.json by tools/embed-text.sh. */
extern const char visits_openapi[];
/* Generated from templates/ and messages.json (pages for citizens). */
struct file_src {
	const char *name, *text;
};
extern const struct file_src visits_templates[];
extern const char visits_messages[];

/* 1 when the caller may see non-public visits of this municipality. */
static int
visits_insider(portal_req *r)
{
	return api->role(r) >= PORTAL_ROLE_READER;
}

/*
 * Stores the visit's links in the core (after every create and update, so
 * a changed title, date or public flag reaches the partnerships' and the
 * project's pages): its partnerships and its project, either list maybe
 * empty.  `doc` is the validated item.
 */
static int
visits_set_links(portal_req *r, long long id, struct json_object *doc)
{
	const char *title = doc_str(doc, "title"), *date = doc_str(doc, "start_date");
	struct json_object *pub, *ids, *project;
	int is_public = !json_object_object_get_ex(doc, "public", &pub) ||
	                json_object_get_boolean(pub);

	size_t n = 0;
	long long *pids = NULL;
	if (json_object_object_get_ex(doc, "partnership_ids", &ids) &&
	    json_object_is_type(ids, json_type_array) && (n = json_object_array_length(ids)) > 0) {
		pids = api->alloc(r, n * sizeof(*pids));
		for (size_t i = 0; i < n; i++)
			pids[i] = json_object_get_int64(json_object_array_get_idx(ids, i));
	}
	if (api->link_set(r, id, "partnerships", pids, n, title, date, is_public) != PORTAL_OK)
		return PORTAL_ERROR;

	long long pid = 0;
	if (json_object_object_get_ex(doc, "project_id", &project) &&
	    json_object_is_type(project, json_type_int))
		pid = json_object_get_int64(project);
	return api->link_set(r, id, "projects", &pid, pid > 0 ? 1 : 0, title, date, is_public);
}

/* ---- the module's own rules ---- */

/* visible hook: a non-public visit is a 404 for anyone but an insider. */
static int
visits_visible(portal_req *r, struct json_object *item)
{
	struct json_object *pub;
	return visits_insider(r) || (json_object_object_get_ex(item, "public", &pub) &&
	                             json_object_get_boolean(pub));
}

/* check hook: the rules across members and the links (doc.c).  Links are
 * checked when the write sets them: a partnership deleted since does not
 * lock the rest of the visit. */
static int
visits_check(portal_req *r, struct portal_write *w)
{
	unsigned links = DOC_CHECK_PARTNERSHIPS | DOC_CHECK_PROJECT;
	if (w->patch != NULL) {
		links = 0;
		if (json_object_object_get_ex(w->patch, "partnership_ids", NULL))
			links |= DOC_CHECK_PARTNERSHIPS;
		if (json_object_object_get_ex(w->patch, "project_id", NULL))
			links |= DOC_CHECK_PROJECT;
	}
	return doc_check(r, w->doc, links) < 0 ? PORTAL_ERROR : PORTAL_OK;
}

/* before_write hook: the valid item in its stored shape. */
static int
visits_before_write(portal_req *r, struct portal_write *w)
{
	doc_normalise(w->doc);
	return 0;
}

/* written hook: the links, after every create and update. */
static int
visits_written(portal_req *r, struct portal_write *w)
{
	return visits_set_links(r, w->id, w->doc);
}

/* ---- list ---- */

/* A partial-date argument as the first ("from") or last ("to") day of its
 * period: from=2024 means from 2024-01-01, to=2024-09 up to 2024-09-30. */
static const char *
visits_date_arg(portal_req *r, const char *name, const char *v, int last)
{
	if (!api->is_partial_date(v)) {
		api->field_error(r, name, "must be a date as YYYY, YYYY-MM or YYYY-MM-DD");
		return NULL;
	}
	char *day = api->alloc(r, 11);
	if (last)
		doc_period_hi(v, day);
	else
		doc_period_lo(v, day);
	return day;
}

static const char *
visits_from_arg(portal_req *r, struct portal_list *l, const char *v)
{
	return visits_date_arg(r, "from", v, 0);
}

static const char *
visits_to_arg(portal_req *r, struct portal_list *l, const char *v)
{
	const char *to = visits_date_arg(r, "to", v, 1), *from = l->arg[F_FROM];
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

/* A cursor's sort key: a start date (or "" for none), at most 10 bytes. */
static int
visits_cursor_key(const char *key)
{
	return strlen(key) <= 10;
}

/* The list's filters, in the order of enum store_filter. */
static const struct portal_filter visits_filters[] = {
	[F_DIRECTION] = {.name = "direction", .type = PF_ENUM, .values = doc_directions},
	[F_STATUS] = {.name = "status", .type = PF_ENUM, .values = doc_statuses},
	[F_FROM] = {.name = "from", .parse = visits_from_arg},
	[F_TO] = {.name = "to", .parse = visits_to_arg},
	[F_PARTNERSHIP] = {.name = "partnership", .parse = visits_partnership_arg},
	{.name = NULL},
};

/*
 * The item.  Visits are a link target (news items point at them): a visit
 * a news item links to is not deleted (409), single items carry "linked".
 */
static const struct portal_item visits_item = {
	.noun = "visit",
	.list_summary = "list visits (direction, status, from, to, partnership, q, limit, cursor)",
	.schema = doc_schema,
	.readonly = doc_readonly,
	.defaults = "{\"status\": \"planned\", \"public\": true}",
	.filters = visits_filters,
	.cursor_key = visits_cursor_key,
	.load = store_load,
	.list = store_list,
	.insert = store_insert,
	.update = store_update,
	.remove = store_delete,
	.exists = store_exists,
	.visible = visits_visible,
	.check = visits_check,
	.before_write = visits_before_write,
	.written = visits_written,
};

/* ---- the module ---- */

static int
visits_init(portal_plugin *p, const struct portal_api *core)
{
	if (core->abi_version != PORTAL_ABI_VERSION || !PORTAL_API_HAS(core, parse_id)) {
		core->plugin_log(p, PORTAL_LOG_ERR, "the core's API table is older than this plugin");
		return PORTAL_ERROR;
	}
	api = core;
	if (api->item(p, &visits_item) != PORTAL_OK)
		return PORTAL_ERROR;
	for (const struct portal_migration_src *m = visits_migrations; m->sql; m++)
		if (api->migration(p, m->version, m->name, m->sql) != PORTAL_OK)
			return PORTAL_ERROR;
	if (api->openapi(p, visits_openapi) != PORTAL_OK)
		return PORTAL_ERROR;
	for (const struct file_src *t = visits_templates; t->name; t++)
		if (api->template(p, t->name, t->text) != PORTAL_OK)
			return PORTAL_ERROR;
	return api->messages(p, visits_messages);
}

static void
visits_fini(portal_plugin *p)
{
	(void)p;
	api = NULL;
}

const struct portal_module portal_module = {
	PORTAL_MODULE_V1,
	.name = "visits",
	.version = "1.0.0",
	.init = visits_init,
	.fini = visits_fini,
};
