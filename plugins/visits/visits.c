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

/* A decimal id: digits without a leading zero, at most 18 of them (fits a
 * BIGINT).  Anything else: -1. */
static long long
visits_parse_id(const char *s)
{
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

/* The {id} of the path; an id no item has (-1) when it is not one. */
static long long
visits_id(portal_req *r)
{
	return visits_parse_id(api->param(r, "id"));
}

static int
visits_not_found(portal_req *r)
{
	return api->problem(r, 404, "%s has no visit %s", api->municipality(r), api->param(r, "id"));
}

/* 1 when the caller may see non-public visits of this municipality. */
static int
visits_insider(portal_req *r)
{
	return api->role(r) >= PORTAL_ROLE_READER;
}

/* A deep copy of `o`, owned by the request; NULL when out of memory. */
static struct json_object *
visits_copy(portal_req *r, struct json_object *o)
{
	struct json_object *copy = NULL;
	if (json_object_deep_copy(o, &copy, NULL) != 0)
		return NULL;
	return api->keep(r, copy);
}

/* The body of a write, when it is an object; else records why not. */
static struct json_object *
visits_body(portal_req *r)
{
	struct json_object *body = api->body(r);
	if (!json_object_is_type(body, json_type_object)) {
		api->field_error(r, "body", "must be a JSON object");
		return NULL;
	}
	return body;
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

/* The item as GET shows it: `item` with "linked" (what links to it). */
static int
visits_add_linked(portal_req *r, long long id, struct json_object *item)
{
	struct json_object *linked = api->links_to(r, id); /* the request's */
	if (linked == NULL)
		return PORTAL_ERROR;
	json_object_object_add(item, "linked", json_object_get(linked));
	return PORTAL_OK;
}

/* ---- list ---- */

/* A query argument that must be one of `values`; records an error named
 * after the argument otherwise. */
static const char *
visits_enum_arg(portal_req *r, const char *name, const char *const *values)
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

/* A partial-date query argument; records an error otherwise. */
static const char *
visits_date_arg(portal_req *r, const char *name)
{
	const char *v = api->query(r, name);
	if (v != NULL && !api->is_partial_date(v)) {
		api->field_error(r, name, "must be a date as YYYY, YYYY-MM or YYYY-MM-DD");
		return NULL;
	}
	return v;
}

/* Reads the list's arguments into f; records every problem. */
static void
visits_list_args(portal_req *r, struct store_filter *f)
{
	f->direction = visits_enum_arg(r, "direction", doc_directions);
	f->status = visits_enum_arg(r, "status", doc_statuses);

	/* from/to as whole periods: from=2024 means from 2024-01-01, to=2024-09
	 * up to 2024-09-30 */
	const char *from = visits_date_arg(r, "from"), *to = visits_date_arg(r, "to");
	if (from != NULL) {
		char *lo = api->alloc(r, 11);
		doc_period_lo(from, lo);
		f->from = lo;
	}
	if (to != NULL) {
		char *hi = api->alloc(r, 11);
		doc_period_hi(to, hi);
		f->to = hi;
	}
	if (f->from && f->to && strcmp(f->to, f->from) < 0)
		api->field_error(r, "to", "must not be before from (%s)", from);

	const char *partnership = api->query(r, "partnership");
	if (partnership != NULL && (f->partnership = visits_parse_id(partnership)) <= 0) {
		api->field_error(r, "partnership", "must be a partnership id (a positive integer)");
		f->partnership = 0;
	}

	api->search_terms(r, api->query(r, "q"), f->terms, VISITS_Q_TERMS);
	f->limit = api->limit(r);
	f->insider = visits_insider(r);

	const char *cursor = api->query(r, "cursor");
	if (cursor != NULL) {
		struct json_object *keys = api->cursor_decode(r, cursor); /* the request's */
		if (keys == NULL)
			return; /* the core recorded the error */
		struct json_object *date = json_object_array_get_idx(keys, 0);
		struct json_object *id = json_object_array_get_idx(keys, 1);
		if (json_object_array_length(keys) != 2 || !json_object_is_type(date, json_type_string) ||
		    json_object_get_string_len(date) > 10 || !json_object_is_type(id, json_type_int) ||
		    json_object_get_int64(id) <= 0) {
			api->field_error(r, "cursor", "is not a cursor of this list; start without it");
			return;
		}
		f->after_date = json_object_get_string(date);
		f->after_id = json_object_get_int64(id);
	}
}

static int
visits_list(portal_req *r)
{
	struct store_filter f;
	memset(&f, 0, sizeof(f));
	visits_list_args(r, &f);
	if (api->has_errors(r))
		return api->problem(r, 422, "the list's arguments are not valid");

	struct json_object *res = api->keep(r, json_object_new_object());
	struct json_object *items = json_object_new_array();
	json_object_object_add(res, "items", items);
	int more = 0;
	const char *last_date = NULL;
	if (store_list(r, &f, items, &more, &last_date) != PORTAL_OK)
		return PORTAL_ERROR;

	struct json_object *next = NULL;
	size_t n = json_object_array_length(items);
	if (more && n > 0) {
		struct json_object *last = json_object_array_get_idx(items, n - 1), *id;
		json_object_object_get_ex(last, "id", &id);
		struct json_object *keys = api->keep(r, json_object_new_array());
		json_object_array_add(keys, json_object_new_string(last_date ? last_date : ""));
		json_object_array_add(keys, json_object_new_int64(json_object_get_int64(id)));
		next = json_object_new_string(api->cursor_encode(r, keys));
	}
	json_object_object_add(res, "next", next);
	return api->respond(r, 200, json_object_get(res));
}

/* ---- one item ---- */

/* Loads {id} for a handler: 1 found (and visible to the caller), 0 when
 * the handler has answered 404, PORTAL_ERROR. */
static int
visits_load(portal_req *r, long long id, int for_update, struct json_object **item,
            long long *version)
{
	int is_public = 0;
	int rc = id < 0 ? 0 : store_load(r, id, for_update, item, version, &is_public);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0 || (!is_public && !visits_insider(r))) {
		visits_not_found(r);
		return 0;
	}
	return 1;
}

static int
visits_get(portal_req *r)
{
	long long id = visits_id(r), version;
	struct json_object *item;
	int rc = visits_load(r, id, 0, &item, &version);
	if (rc <= 0)
		return rc;
	if (api->etag(r, id, version) != PORTAL_OK)
		return PORTAL_OK; /* 304 sent */
	if (visits_add_linked(r, id, item) != PORTAL_OK)
		return PORTAL_ERROR;
	return api->respond(r, 200, json_object_get(item));
}

static int
visits_create(portal_req *r)
{
	struct json_object *body = visits_body(r);
	if (body == NULL)
		return api->problem(r, 422, "the visit is not valid");
	doc_reject_readonly(r, body);

	struct json_object *doc = visits_copy(r, body);
	if (doc == NULL)
		return PORTAL_ERROR;
	doc_strip_readonly(doc);
	if (!json_object_object_get_ex(doc, "status", NULL))
		json_object_object_add(doc, "status", json_object_new_string("planned"));
	if (!json_object_object_get_ex(doc, "public", NULL))
		json_object_object_add(doc, "public", json_object_new_boolean(1));
	int rc = doc_check(r, doc, DOC_CHECK_PARTNERSHIPS | DOC_CHECK_PROJECT);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc != PORTAL_OK || api->has_errors(r))
		return api->problem(r, 422, "the visit is not valid");
	doc_normalise(doc);

	long long id = store_insert(r, doc), version;
	struct json_object *item;
	int is_public;
	if (id < 0 || visits_set_links(r, id, doc) != PORTAL_OK ||
	    store_load(r, id, 0, &item, &version, &is_public) != 1)
		return PORTAL_ERROR;
	if (api->audit(r, "create", id, NULL, json_object_get(item)) != PORTAL_OK)
		return PORTAL_ERROR;
	if (visits_add_linked(r, id, item) != PORTAL_OK)
		return PORTAL_ERROR;
	api->set_header(r, "Location",
	                api->printf(r, "/api/v1/%s/visits/%lld", api->municipality(r), id));
	api->set_etag(r, id, version);
	return api->respond(r, 201, json_object_get(item));
}

static int
visits_update(portal_req *r)
{
	long long id = visits_id(r), version;
	struct json_object *before, *after;
	int rc = visits_load(r, id, 1, &before, &version);
	if (rc <= 0)
		return rc;
	if (api->etag(r, id, version) != PORTAL_OK)
		return PORTAL_OK; /* 412 sent */

	struct json_object *patch = visits_body(r);
	if (patch == NULL)
		return api->problem(r, 422, "the patch is not valid");
	doc_reject_readonly(r, patch);
	doc_check_patch_names(r, doc_schema, patch, "");

	/* the item as GET shows it, without what the server owns, patched */
	struct json_object *doc = visits_copy(r, before);
	if (doc == NULL)
		return PORTAL_ERROR;
	doc_strip_readonly(doc);
	api->merge_patch(doc, patch);
	doc_strip_readonly(doc);
	/* links are checked when the patch writes them: a partnership deleted
	 * since does not lock the rest of the visit */
	unsigned links = 0;
	if (json_object_object_get_ex(patch, "partnership_ids", NULL))
		links |= DOC_CHECK_PARTNERSHIPS;
	if (json_object_object_get_ex(patch, "project_id", NULL))
		links |= DOC_CHECK_PROJECT;
	rc = doc_check(r, doc, links);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc != PORTAL_OK || api->has_errors(r))
		return api->problem(r, 422, "the visit would not be valid after this patch");
	doc_normalise(doc);

	int is_public;
	if (store_update(r, id, doc) != PORTAL_OK || visits_set_links(r, id, doc) != PORTAL_OK ||
	    store_load(r, id, 0, &after, &version, &is_public) != 1)
		return PORTAL_ERROR;
	if (api->audit(r, "update", id, json_object_get(before), json_object_get(after)) !=
	    PORTAL_OK)
		return PORTAL_ERROR;
	if (visits_add_linked(r, id, after) != PORTAL_OK)
		return PORTAL_ERROR;
	api->set_etag(r, id, version);
	return api->respond(r, 200, json_object_get(after));
}

static int
visits_delete(portal_req *r)
{
	long long id = visits_id(r), version;
	struct json_object *before;
	int rc = visits_load(r, id, 1, &before, &version);
	if (rc <= 0)
		return rc;
	if (api->etag(r, id, version) != PORTAL_OK)
		return PORTAL_OK; /* 412 sent */
	/* news that link to the visit keep it (409): change or delete them first */
	rc = api->link_guard(r, id);
	if (rc != 0)
		return rc > 0 ? PORTAL_OK : PORTAL_ERROR;
	if (store_delete(r, id) != PORTAL_OK || api->link_forget(r, id) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->audit(r, "delete", id, json_object_get(before), NULL) != PORTAL_OK)
		return PORTAL_ERROR;
	return api->respond(r, 204, NULL);
}

/* ---- link target: news items point at visits ---- */

static int
visits_exists(portal_req *r, long long id)
{
	return store_exists(r, id);
}

/* ---- the module ---- */

static const struct portal_route visits_routes[] = {
	{"GET", "visits", visits_list, PORTAL_ROLE_NONE,
	 "list visits (direction, status, from, to, partnership, q, limit, cursor)"},
	{"GET", "visits/{id}", visits_get, PORTAL_ROLE_NONE, "one visit"},
	{"POST", "visits", visits_create, PORTAL_ROLE_EDITOR, "create a visit"},
	{"PATCH", "visits/{id}", visits_update, PORTAL_ROLE_EDITOR,
	 "change a visit (JSON merge patch)"},
	{"DELETE", "visits/{id}", visits_delete, PORTAL_ROLE_EDITOR, "delete a visit"},
};

static int
visits_init(portal_plugin *p, const struct portal_api *core)
{
	if (core->abi_version != PORTAL_ABI_VERSION || !PORTAL_API_HAS(core, link_guard) ||
	    !PORTAL_API_HAS(core, messages)) {
		core->plugin_log(p, PORTAL_LOG_ERR, "the core's API table is older than this plugin");
		return PORTAL_ERROR;
	}
	api = core;
	for (size_t i = 0; i < sizeof(visits_routes) / sizeof(visits_routes[0]); i++)
		if (api->route(p, &visits_routes[i]) != PORTAL_OK)
			return PORTAL_ERROR;
	for (const struct portal_migration_src *m = visits_migrations; m->sql; m++)
		if (api->migration(p, m->version, m->name, m->sql) != PORTAL_OK)
			return PORTAL_ERROR;
	if (api->link_target(p, visits_exists) != PORTAL_OK ||
	    api->openapi(p, visits_openapi) != PORTAL_OK)
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
