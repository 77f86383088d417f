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
 * Handlers answer through api->respond / api->problem and return
 * PORTAL_OK; they return PORTAL_ERROR without answering only when the
 * database failed, and the core then answers 500/503.  The core runs each
 * write in one transaction and commits it only on a 2xx answer, so a
 * handler that answers 422 halfway leaves nothing behind.
 *
 * Ownership: every JSON object a handler holds is owned by the request
 * (store_load keeps what it loads, copies are api->keep'ed); respond()
 * and audit() take a reference of their own via json_object_get().
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

/* The {id} of the path: digits without a leading zero, at most 18 of them
 * (fits a BIGINT).  Anything else is an id no item has: -1. */
static long long
projects_id(portal_req *r)
{
	const char *s = api->param(r, "id");
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 18 || s[0] == '0')
		return -1;
	long long id = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		id = id * 10 + (s[i] - '0');
	}
	return id;
}

static int
projects_not_found(portal_req *r)
{
	return api->problem(r, 404, "%s has no project %s", api->municipality(r),
	                    api->param(r, "id"));
}

/* A deep copy of `o`, owned by the request; NULL when out of memory. */
static struct json_object *
projects_copy(portal_req *r, struct json_object *o)
{
	struct json_object *copy = NULL;
	if (json_object_deep_copy(o, &copy, NULL) != 0)
		return NULL;
	return api->keep(r, copy);
}

/* The body of a write, when it is an object; else records why not. */
static struct json_object *
projects_body(portal_req *r)
{
	struct json_object *body = api->body(r);
	if (!json_object_is_type(body, json_type_object)) {
		api->field_error(r, "body", "must be a JSON object");
		return NULL;
	}
	return body;
}

/* Adds "linked" (what other modules' items say about item `id`) to an
 * item about to be answered.  The item is the request's; audit() has
 * already written its copy.  PORTAL_OK or PORTAL_ERROR. */
static int
projects_add_linked(portal_req *r, long long id, struct json_object *item)
{
	struct json_object *linked = api->links_to(r, id); /* the request's */
	if (linked == NULL)
		return PORTAL_ERROR;
	json_object_object_add(item, "linked", json_object_get(linked));
	return PORTAL_OK;
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

/* Replaces the links of project `id` (as stored in `item`) to partnerships. */
static int
projects_link(portal_req *r, long long id, struct json_object *item, const long long *ids, size_t n)
{
	return api->link_set(r, id, "partnerships", ids, n, doc_str(item, "title"),
	                     doc_str(item, "start_date"), 1);
}

/* The link_target hook: does project `id` exist in this municipality? */
static int
projects_exists(portal_req *r, long long id)
{
	return store_exists(r, id);
}

/* ---- list ---- */

/* A query argument that must be one of `values`; records an error named
 * after the argument otherwise. */
static const char *
projects_enum_arg(portal_req *r, const char *name, const char *const *values)
{
	const char *v = api->query(r, name);
	if (v != NULL && !doc_in(values, v)) {
		const char *list = values[0];
		for (const char *const *e = values + 1; *e; e++)
			list = api->printf(r, "%s, %s", list, *e);
		api->field_error(r, name, "must be one of: %s", list);
		return NULL;
	}
	return v;
}

/* The `programme` argument: one line of 1..200 bytes. */
static const char *
projects_programme_arg(portal_req *r)
{
	const char *v = api->query(r, "programme");
	if (v == NULL)
		return NULL;
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

/* Reads the list's arguments into f; records every problem. */
static void
projects_list_args(portal_req *r, struct store_filter *f)
{
	f->status = projects_enum_arg(r, "status", doc_statuses);
	f->funder = projects_enum_arg(r, "funder", doc_funder_kinds);
	f->area = projects_enum_arg(r, "area", doc_areas);
	f->programme = projects_programme_arg(r);

	const char *day = api->query(r, "active_on");
	if (day != NULL && !doc_is_full_date(day))
		api->field_error(r, "active_on", "must be a real date as YYYY-MM-DD");
	else
		f->active_on = day;

	api->search_terms(r, api->query(r, "q"), f->terms, PROJECTS_Q_TERMS);

	f->limit = api->limit(r);

	const char *cursor = api->query(r, "cursor");
	if (cursor != NULL) {
		struct json_object *keys = api->cursor_decode(r, cursor); /* the request's */
		if (keys == NULL)
			return; /* the core recorded the error */
		struct json_object *start = json_object_array_get_idx(keys, 0);
		struct json_object *id = json_object_array_get_idx(keys, 1);
		if (json_object_array_length(keys) != 2 || !json_object_is_type(start, json_type_string) ||
		    json_object_get_string_len(start) > 10 || !json_object_is_type(id, json_type_int) ||
		    json_object_get_int64(id) <= 0) {
			api->field_error(r, "cursor", "is not a cursor of this list; start without it");
			return;
		}
		f->after_start = json_object_get_string(start);
		f->after_id = json_object_get_int64(id);
	}
}

static int
projects_list(portal_req *r)
{
	struct store_filter f;
	memset(&f, 0, sizeof(f));
	projects_list_args(r, &f);
	if (api->has_errors(r))
		return api->problem(r, 422, "the list's arguments are not valid");

	struct json_object *res = api->keep(r, json_object_new_object());
	struct json_object *items = json_object_new_array();
	json_object_object_add(res, "items", items);
	int more = 0;
	const char *last_start = NULL;
	if (store_list(r, &f, items, &more, &last_start) != PORTAL_OK)
		return PORTAL_ERROR;

	struct json_object *next = NULL;
	size_t n = json_object_array_length(items);
	if (more && n > 0) {
		struct json_object *last = json_object_array_get_idx(items, n - 1), *id;
		json_object_object_get_ex(last, "id", &id);
		struct json_object *keys = api->keep(r, json_object_new_array());
		json_object_array_add(keys, json_object_new_string(last_start ? last_start : ""));
		json_object_array_add(keys, json_object_new_int64(json_object_get_int64(id)));
		next = json_object_new_string(api->cursor_encode(r, keys));
	}
	json_object_object_add(res, "next", next);
	return api->respond(r, 200, json_object_get(res));
}

/* ---- one item ---- */

static int
projects_get(portal_req *r)
{
	long long id = projects_id(r), version;
	struct json_object *item;
	if (id < 0)
		return projects_not_found(r);
	int rc = store_load(r, id, 0, &item, &version);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0)
		return projects_not_found(r);
	if (api->etag(r, id, version) != PORTAL_OK)
		return PORTAL_OK; /* 304 sent */
	if (projects_add_linked(r, id, item) != PORTAL_OK)
		return PORTAL_ERROR;
	return api->respond(r, 200, json_object_get(item));
}

static int
projects_create(portal_req *r)
{
	struct json_object *body = projects_body(r);
	if (body == NULL)
		return api->problem(r, 422, "the project is not valid");
	doc_reject_readonly(r, body);

	struct json_object *doc = projects_copy(r, body);
	if (doc == NULL)
		return PORTAL_ERROR;
	doc_strip_readonly(doc);
	if (!json_object_object_get_ex(doc, "status", NULL))
		json_object_object_add(doc, "status", json_object_new_string("planned"));
	doc_check(r, doc);
	long long *ids;
	size_t n;
	if (projects_partnerships(r, doc, 1, &ids, &n) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->has_errors(r))
		return api->problem(r, 422, "the project is not valid");

	long long id = store_insert(r, doc), version;
	struct json_object *item;
	if (id < 0 || store_load(r, id, 0, &item, &version) != 1)
		return PORTAL_ERROR;
	if (projects_link(r, id, item, ids, n) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->audit(r, "create", id, NULL, json_object_get(item)) != PORTAL_OK)
		return PORTAL_ERROR;
	if (projects_add_linked(r, id, item) != PORTAL_OK)
		return PORTAL_ERROR;
	api->set_header(r, "Location",
	                api->printf(r, "/api/v1/%s/projects/%lld", api->municipality(r), id));
	api->set_etag(r, id, version);
	return api->respond(r, 201, json_object_get(item));
}

static int
projects_update(portal_req *r)
{
	long long id = projects_id(r), version;
	struct json_object *before, *after;
	if (id < 0)
		return projects_not_found(r);
	int rc = store_load(r, id, 1, &before, &version);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0)
		return projects_not_found(r);
	if (api->etag(r, id, version) != PORTAL_OK)
		return PORTAL_OK; /* 412 sent */

	struct json_object *patch = projects_body(r);
	if (patch == NULL)
		return api->problem(r, 422, "the patch is not valid");
	doc_reject_readonly(r, patch);
	doc_check_patch_names(r, doc_schema, patch, "");

	/* the item as GET shows it, without what the server owns, patched */
	struct json_object *doc = projects_copy(r, before);
	if (doc == NULL)
		return PORTAL_ERROR;
	doc_strip_readonly(doc);
	api->merge_patch(doc, patch);
	doc_strip_readonly(doc);
	doc_check(r, doc);
	long long *ids;
	size_t n;
	int strict = json_object_object_get_ex(patch, "partners", NULL);
	if (projects_partnerships(r, doc, strict, &ids, &n) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->has_errors(r))
		return api->problem(r, 422, "the project would not be valid after this patch");

	if (store_update(r, id, doc) != PORTAL_OK || store_load(r, id, 0, &after, &version) != 1)
		return PORTAL_ERROR;
	/* every write: the title and date the partnership lists may have changed */
	if (projects_link(r, id, after, ids, n) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->audit(r, "update", id, json_object_get(before), json_object_get(after)) != PORTAL_OK)
		return PORTAL_ERROR;
	if (projects_add_linked(r, id, after) != PORTAL_OK)
		return PORTAL_ERROR;
	api->set_etag(r, id, version);
	return api->respond(r, 200, json_object_get(after));
}

static int
projects_delete(portal_req *r)
{
	long long id = projects_id(r), version;
	struct json_object *before;
	if (id < 0)
		return projects_not_found(r);
	int rc = store_load(r, id, 1, &before, &version);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0)
		return projects_not_found(r);
	if (api->etag(r, id, version) != PORTAL_OK)
		return PORTAL_OK; /* 412 sent */
	/* A project that visits or news link to is not deleted (portal.h:
	 * a target refuses, so no item keeps a dangling project id): the
	 * editor changes or deletes those items first.  An editor sees every
	 * link, public or not.  The row lock taken above and the share lock of
	 * projects_exists keep a concurrent linking write out of the gap. */
	rc = api->link_guard(r, id);
	if (rc != 0)
		return rc > 0 ? PORTAL_OK : PORTAL_ERROR;
	/* its own links to partnerships go with it */
	if (store_delete(r, id) != PORTAL_OK || api->link_forget(r, id) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->audit(r, "delete", id, json_object_get(before), NULL) != PORTAL_OK)
		return PORTAL_ERROR;
	return api->respond(r, 204, NULL);
}

/* ---- the module ---- */

static const struct portal_route projects_routes[] = {
	{"GET", "projects", projects_list, PORTAL_ROLE_NONE,
	 "list projects (status, funder, programme, area, active_on, q, limit, cursor)"},
	{"GET", "projects/{id}", projects_get, PORTAL_ROLE_NONE, "one project"},
	{"POST", "projects", projects_create, PORTAL_ROLE_EDITOR, "create a project"},
	{"PATCH", "projects/{id}", projects_update, PORTAL_ROLE_EDITOR,
	 "change a project (JSON merge patch)"},
	{"DELETE", "projects/{id}", projects_delete, PORTAL_ROLE_EDITOR, "delete a project"},
};

static int
projects_init(portal_plugin *p, const struct portal_api *core)
{
	if (core->abi_version != PORTAL_ABI_VERSION || !PORTAL_API_HAS(core, link_guard) ||
	    !PORTAL_API_HAS(core, messages)) {
		core->plugin_log(p, PORTAL_LOG_ERR, "the core's API table is older than this plugin");
		return PORTAL_ERROR;
	}
	api = core;
	for (size_t i = 0; i < sizeof(projects_routes) / sizeof(projects_routes[0]); i++)
		if (api->route(p, &projects_routes[i]) != PORTAL_OK)
			return PORTAL_ERROR;
	for (const struct portal_migration_src *m = projects_migrations; m->sql; m++)
		if (api->migration(p, m->version, m->name, m->sql) != PORTAL_OK)
			return PORTAL_ERROR;
	if (api->link_target(p, projects_exists) != PORTAL_OK)
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
