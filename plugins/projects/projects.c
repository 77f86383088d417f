/*
 * projects.c - the projects module: externally funded work of a
 * municipality (EU, Sida/ICLD, Svenska institutet, Nordic funds ...), its
 * funders, partners, budget and half-yearly reports.
 *
 *   GET    /api/v1/{m}/projects        list (filters, q, keyset cursor)
 *   GET    /api/v1/{m}/projects/{id}   one item with "linked", ETag
 *   POST   /api/v1/{m}/projects        create (editor)
 *   PATCH  /api/v1/{m}/projects/{id}   JSON merge patch (editor)
 *   DELETE /api/v1/{m}/projects/{id}   delete (editor); 409 while linked
 *
 * Links: partners[].partnership_id points at a partnership of the same
 * municipality (checked with api->link_exists, stored with api->link_set so
 * the partnership lists the project), and projects are a link target
 * themselves (visits.project_id, news.related.projects).
 *
 * The core runs the five routes (api->item, portal.h): this file declares
 * the item and keeps the module's own rules, the links to partnerships
 * and the list's programme and active_on arguments.
 */
#include <string.h>

#include "projects.h"

const struct portal_api *api;

/* Generated from schema/NNN_name.sql by tools/embed-migrations.sh, and
 * from openapi.json by tools/embed-text.sh. */
struct portal_migration_src {
	unsigned version;
	const char *name;
	const char *sql;
};
extern const struct portal_migration_src projects_migrations[];
extern const char projects_openapi[];
/* Generated from templates/ and messages.json (pages for citizens). */
struct file_src {
	const char *name, *text;
};
extern const struct file_src projects_templates[];
extern const char projects_messages[];

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
	struct json_object *partners;
	*ids = NULL;
	*n = 0;
	if (!json_object_object_get_ex(doc, "partners", &partners) ||
	    !json_object_is_type(partners, json_type_array))
		return PORTAL_OK;
	size_t len = json_object_array_length(partners);
	if (len > PROJECTS_MAX_PARTNERS)
		return PORTAL_OK; /* validate said so; ask nothing */
	*ids = api->alloc(r, (len ? len : 1) * sizeof(**ids));
	for (size_t i = 0; i < len; i++) {
		struct json_object *pid;
		if (!json_object_object_get_ex(json_object_array_get_idx(partners, i), "partnership_id",
		                               &pid) ||
		    !json_object_is_type(pid, json_type_int))
			continue; /* absent, null, or validate said why */
		long long id = json_object_get_int64(pid);
		if (id <= 0)
			continue;
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

/* The partnerships a write links to, from check to written. */
struct projects_links {
	long long *ids;
	size_t n;
};

/* check hook: the rules across members (doc.c), then the partnerships
 * that partners[] name, strictly on a create or a patch that writes
 * "partners". */
static int
projects_check(portal_req *r, struct portal_write *w)
{
	doc_check(r, w->doc);
	struct projects_links *links = api->alloc(r, sizeof(*links));
	int strict = w->patch == NULL || json_object_object_get_ex(w->patch, "partners", NULL);
	w->data = links;
	return projects_partnerships(r, w->doc, strict, &links->ids, &links->n);
}

/* written hook: replaces the links of the project (as stored) to
 * partnerships; on every write, as the title and date the partnership
 * lists may have changed. */
static int
projects_written(portal_req *r, struct portal_write *w)
{
	const struct projects_links *links = w->data;
	return api->link_set(r, w->id, "partnerships", links->ids, links->n,
	                     doc_str(w->item, "title"), doc_str(w->item, "start_date"), 1);
}

/* ---- list ---- */

/* The `programme` argument: one line of 1..200 bytes. */
static const char *
projects_programme_arg(portal_req *r, struct portal_list *l, const char *v)
{
	size_t n = strlen(v), blank = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 || c == 0x7f) {
			api->field_error(r, "programme", "must not contain control characters");
			return NULL;
		}
		blank += c == ' ';
	}
	if (n == 0 || blank == n || n > 200) {
		api->field_error(r, "programme", "must be a programme's name, 1 to 200 bytes");
		return NULL;
	}
	return v;
}

/* The `active_on` argument: a whole date. */
static const char *
projects_active_on_arg(portal_req *r, struct portal_list *l, const char *v)
{
	if (doc_is_full_date(v))
		return v;
	api->field_error(r, "active_on", "must be a real date as YYYY-MM-DD");
	return NULL;
}

/* A cursor's sort key: a start date (or "" for none), at most 10 bytes. */
static int
projects_cursor_key(const char *key)
{
	return strlen(key) <= 10;
}

/* The list's filters, in the order of enum store_filter. */
static const struct portal_filter projects_filters[] = {
	[F_STATUS] = {.name = "status", .type = PF_ENUM, .values = doc_statuses},
	[F_FUNDER] = {.name = "funder", .type = PF_ENUM, .values = doc_funder_kinds},
	[F_AREA] = {.name = "area", .type = PF_ENUM, .values = doc_areas},
	[F_PROGRAMME] = {.name = "programme", .parse = projects_programme_arg},
	[F_ACTIVE_ON] = {.name = "active_on", .parse = projects_active_on_arg},
	{.name = NULL},
};

/*
 * The item.  Projects are a link target (visits.project_id,
 * news.related.projects): a project something links to is not deleted
 * (409) and single items carry "linked"; its own links to partnerships go
 * with it.
 */
static const struct portal_item projects_item = {
	.noun = "project",
	.list_summary = "list projects (status, funder, programme, area, active_on, q, limit, cursor)",
	.schema = doc_schema,
	.readonly = doc_readonly,
	.defaults = "{\"status\": \"planned\"}",
	.filters = projects_filters,
	.cursor_key = projects_cursor_key,
	.load = store_load,
	.list = store_list,
	.insert = store_insert,
	.update = store_update,
	.remove = store_delete,
	.exists = store_exists,
	.check = projects_check,
	.written = projects_written,
};

/* ---- the module ---- */

static int
projects_init(portal_plugin *p, const struct portal_api *core)
{
	if (core->abi_version != PORTAL_ABI_VERSION || !PORTAL_API_HAS(core, list_rows)) {
		core->plugin_log(p, PORTAL_LOG_ERR, "the core's API table is older than this plugin");
		return PORTAL_ERROR;
	}
	api = core;
	if (api->item(p, &projects_item) != PORTAL_OK)
		return PORTAL_ERROR;
	for (const struct portal_migration_src *m = projects_migrations; m->sql; m++)
		if (api->migration(p, m->version, m->name, m->sql) != PORTAL_OK)
			return PORTAL_ERROR;
	if (api->openapi(p, projects_openapi) != PORTAL_OK)
		return PORTAL_ERROR;
	for (const struct file_src *t = projects_templates; t->name; t++)
		if (api->template(p, t->name, t->text) != PORTAL_OK)
			return PORTAL_ERROR;
	return api->messages(p, projects_messages);
}

static void
projects_fini(portal_plugin *p)
{
	(void)p;
	api = NULL;
}

const struct portal_module portal_module = {
	PORTAL_MODULE_V1,
	.name = "projects",
	.version = "1.0.0",
	.settings = NULL,
	.init = projects_init,
	.fini = projects_fini,
};
