/*
 * partnerships.c - the partnerships module: twin towns and other
 * partnerships of a municipality, with the agreements signed in them.
 *
 *   GET    /api/v1/{m}/partnerships        list (filters, q, keyset cursor)
 *   GET    /api/v1/{m}/partnerships/{id}   one item, ETag
 *   POST   /api/v1/{m}/partnerships        create (editor)
 *   PATCH  /api/v1/{m}/partnerships/{id}   JSON merge patch (editor)
 *   DELETE /api/v1/{m}/partnerships/{id}   delete (editor)
 *
 * Other modules link to partnerships (a visit's partnership_ids, a
 * project partner's partnership_id, a news item's related.partnerships):
 * the plugin is a link target, checks such ids through
 * partnerships_exists, shows what links to an item as its member "linked"
 * and makes the core forget the links to an item it deletes.
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

#include "partnerships.h"

const struct portal_api *api;

/* The OpenAPI fragment, openapi.json embedded by the Makefile. */
extern const char partnerships_openapi[];
/* Generated from templates/ and messages.json (pages for citizens). */
struct file_src {
	const char *name, *text;
};
extern const struct file_src partnerships_templates[];
extern const char partnerships_messages[];

/* Generated from schema/NNN_name.sql by tools/embed-migrations.sh. */
struct portal_migration_src {
	unsigned version;
	const char *name;
	const char *sql;
};
extern const struct portal_migration_src partnerships_migrations[];

static const struct portal_setting partnerships_settings[] = {
	{.name = "max_agreements", .type = PS_INT, .min = 0, .max = PARTNERSHIPS_MAX_AGREEMENTS,
	 .def_int = 50, .help = "how many agreements one partnership may list"},
	{.name = NULL},
};

/* The {id} of the path: digits without a leading zero, at most 18 of them
 * (fits a BIGINT).  Anything else is an id no item has: -1. */
static long long
partnerships_id(portal_req *r)
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
partnerships_not_found(portal_req *r)
{
	return api->problem(r, 404, "%s has no partnership %s", api->municipality(r),
	                    api->param(r, "id"));
}

/* The item as a single-item answer shows it: with "linked", what other
 * modules link to it as the caller may see it (the core hides non-public
 * ones from callers without a token of the municipality).  `item` is the
 * request's; PORTAL_ERROR when the database failed. */
static int
partnerships_add_linked(portal_req *r, struct json_object *item, long long id)
{
	struct json_object *linked = api->links_to(r, id); /* the request's */
	if (linked == NULL)
		return PORTAL_ERROR;
	json_object_object_add(item, "linked", json_object_get(linked));
	return PORTAL_OK;
}

/* ETag of a version this handler wrote (api->etag() would check If-Match
 * against the new version). */
static void
partnerships_set_etag(portal_req *r, long long id, long long version)
{
	api->set_etag(r, id, version);
}

/* A deep copy of `o`, owned by the request; NULL when out of memory. */
static struct json_object *
partnerships_copy(portal_req *r, struct json_object *o)
{
	struct json_object *copy = NULL;
	if (json_object_deep_copy(o, &copy, NULL) != 0)
		return NULL;
	return api->keep(r, copy);
}

/* The body of a write, when it is an object; else records why not. */
static struct json_object *
partnerships_body(portal_req *r)
{
	struct json_object *body = api->body(r);
	if (!json_object_is_type(body, json_type_object)) {
		api->field_error(r, "body", "must be a JSON object");
		return NULL;
	}
	return body;
}

/* ---- list ---- */

/* A query argument that must be one of `values`; records an error named
 * after the argument otherwise. */
static const char *
partnerships_enum_arg(portal_req *r, const char *name, const char *const *values)
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

/* Reads the list's arguments into f; records every problem. */
static void
partnerships_list_args(portal_req *r, struct store_filter *f)
{
	const char *country = api->query(r, "country");
	if (country != NULL && !api->is_country(country))
		api->field_error(r, "country",
		                 "must be an ISO 3166-1 alpha-2 country code such as \"SE\"");
	else
		f->country = country;
	f->kind = partnerships_enum_arg(r, "kind", doc_kinds);
	f->status = partnerships_enum_arg(r, "status", doc_statuses);
	f->area = partnerships_enum_arg(r, "area", doc_areas);

	const char *q = api->query(r, "q");
	api->search_terms(r, q, f->terms, PARTNERSHIPS_Q_TERMS);

	f->limit = api->limit(r);

	const char *cursor = api->query(r, "cursor");
	if (cursor != NULL) {
		struct json_object *keys = api->cursor_decode(r, cursor); /* the request's */
		if (keys == NULL)
			return; /* the core recorded the error */
		struct json_object *name = json_object_array_get_idx(keys, 0);
		struct json_object *id = json_object_array_get_idx(keys, 1);
		if (json_object_array_length(keys) != 2 || !json_object_is_type(name, json_type_string) ||
		    !json_object_is_type(id, json_type_int) || json_object_get_int64(id) <= 0) {
			api->field_error(r, "cursor", "is not a cursor of this list; start without it");
			return;
		}
		f->after_name = json_object_get_string(name);
		f->after_id = json_object_get_int64(id);
	}
}

static int
partnerships_list(portal_req *r)
{
	struct store_filter f;
	memset(&f, 0, sizeof(f));
	partnerships_list_args(r, &f);
	if (api->has_errors(r))
		return api->problem(r, 422, "the list's arguments are not valid");

	struct json_object *res = api->keep(r, json_object_new_object());
	struct json_object *items = json_object_new_array();
	json_object_object_add(res, "items", items);
	int more = 0;
	const char *last_name = NULL;
	if (store_list(r, &f, items, &more, &last_name) != PORTAL_OK)
		return PORTAL_ERROR;

	struct json_object *next = NULL;
	size_t n = json_object_array_length(items);
	if (more && n > 0) {
		struct json_object *last = json_object_array_get_idx(items, n - 1), *id;
		json_object_object_get_ex(last, "id", &id);
		struct json_object *keys = api->keep(r, json_object_new_array());
		json_object_array_add(keys, json_object_new_string(last_name));
		json_object_array_add(keys, json_object_new_int64(json_object_get_int64(id)));
		next = json_object_new_string(api->cursor_encode(r, keys));
	}
	json_object_object_add(res, "next", next);
	return api->respond(r, 200, json_object_get(res));
}

/* ---- one item ---- */

static int
partnerships_get(portal_req *r)
{
	long long id = partnerships_id(r), version;
	struct json_object *item;
	if (id < 0)
		return partnerships_not_found(r);
	int rc = store_load(r, id, 0, &item, &version);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0)
		return partnerships_not_found(r);
	if (api->etag(r, id, version) != PORTAL_OK)
		return PORTAL_OK; /* 304 sent */
	if (partnerships_add_linked(r, item, id) != PORTAL_OK)
		return PORTAL_ERROR;
	return api->respond(r, 200, json_object_get(item));
}

static int
partnerships_create(portal_req *r)
{
	struct json_object *body = partnerships_body(r);
	if (body == NULL)
		return api->problem(r, 422, "the partnership is not valid");
	doc_reject_readonly(r, body);

	struct json_object *doc = partnerships_copy(r, body);
	if (doc == NULL)
		return PORTAL_ERROR;
	doc_strip_readonly(doc);
	if (!json_object_object_get_ex(doc, "status", NULL))
		json_object_object_add(doc, "status", json_object_new_string("active"));
	if (doc_check(r, doc, 1) != PORTAL_OK || api->has_errors(r))
		return api->problem(r, 422, "the partnership is not valid");

	long long id = store_insert(r, doc), version;
	struct json_object *item;
	if (id < 0 || store_load(r, id, 0, &item, &version) != 1)
		return PORTAL_ERROR;
	if (api->audit(r, "create", id, NULL, json_object_get(item)) != PORTAL_OK)
		return PORTAL_ERROR;
	/* after the audit, which shares `item`: the audit records the item's own
	 * members; a new item's links are {} unless ids were reused */
	if (partnerships_add_linked(r, item, id) != PORTAL_OK)
		return PORTAL_ERROR;
	api->set_header(r, "Location",
	                api->printf(r, "/api/v1/%s/partnerships/%lld", api->municipality(r), id));
	partnerships_set_etag(r, id, version);
	return api->respond(r, 201, json_object_get(item));
}

static int
partnerships_update(portal_req *r)
{
	long long id = partnerships_id(r), version;
	struct json_object *before, *after;
	if (id < 0)
		return partnerships_not_found(r);
	int rc = store_load(r, id, 1, &before, &version);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0)
		return partnerships_not_found(r);
	if (api->etag(r, id, version) != PORTAL_OK)
		return PORTAL_OK; /* 412 sent */

	struct json_object *patch = partnerships_body(r);
	if (patch == NULL)
		return api->problem(r, 422, "the patch is not valid");
	doc_reject_readonly(r, patch);
	doc_check_patch_names(r, doc_schema, patch, "");

	/* the item as GET shows it, without what the server owns, patched */
	struct json_object *doc = partnerships_copy(r, before);
	if (doc == NULL)
		return PORTAL_ERROR;
	doc_strip_readonly(doc);
	api->merge_patch(doc, patch);
	doc_strip_readonly(doc);
	int agreements = json_object_object_get_ex(patch, "agreements", NULL);
	if (doc_check(r, doc, agreements) != PORTAL_OK || api->has_errors(r))
		return api->problem(r, 422, "the partnership would not be valid after this patch");

	if (store_update(r, id, doc, agreements) != PORTAL_OK ||
	    store_load(r, id, 0, &after, &version) != 1)
		return PORTAL_ERROR;
	if (api->audit(r, "update", id, json_object_get(before), json_object_get(after)) !=
	    PORTAL_OK)
		return PORTAL_ERROR;
	if (partnerships_add_linked(r, after, id) != PORTAL_OK)
		return PORTAL_ERROR;
	partnerships_set_etag(r, id, version);
	return api->respond(r, 200, json_object_get(after));
}

static int
partnerships_delete(portal_req *r)
{
	long long id = partnerships_id(r), version;
	struct json_object *before;
	if (id < 0)
		return partnerships_not_found(r);
	int rc = store_load(r, id, 1, &before, &version);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0)
		return partnerships_not_found(r);
	if (api->etag(r, id, version) != PORTAL_OK)
		return PORTAL_OK; /* 412 sent */
	/* A partnership that projects, visits or news link to is not deleted
	 * (409 naming them): the relation is ended (status "ended"), not erased,
	 * and no item keeps a dangling id.  The row is locked (FOR UPDATE) and
	 * partnerships_exists reads it in share mode, so a concurrent linking
	 * write either ends before (and is seen here) or waits and finds no
	 * partnership (422). */
	rc = api->link_guard(r, id);
	if (rc != 0)
		return rc > 0 ? PORTAL_OK : PORTAL_ERROR;
	if (store_delete(r, id) != PORTAL_OK || api->link_forget(r, id) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->audit(r, "delete", id, json_object_get(before), NULL) != PORTAL_OK)
		return PORTAL_ERROR;
	return api->respond(r, 204, NULL);
}

/* ---- the module ---- */

/* link_target hook: whether partnership `id` exists in the request's
 * municipality (1/0), for another module checking a link on write;
 * PORTAL_ERROR when the database failed.  The row is read with a shared
 * lock, held until the writer's transaction ends, so a concurrent DELETE
 * waits for it and then forgets the new link. */
static int
partnerships_exists(portal_req *r, long long id)
{
	if (id <= 0)
		return 0;
	return store_exists(r, id);
}

static const struct portal_route partnerships_routes[] = {
	{"GET", "partnerships", partnerships_list, PORTAL_ROLE_NONE,
	 "list partnerships (country, kind, status, area, q, limit, cursor)"},
	{"GET", "partnerships/{id}", partnerships_get, PORTAL_ROLE_NONE, "one partnership"},
	{"POST", "partnerships", partnerships_create, PORTAL_ROLE_EDITOR, "create a partnership"},
	{"PATCH", "partnerships/{id}", partnerships_update, PORTAL_ROLE_EDITOR,
	 "change a partnership (JSON merge patch)"},
	{"DELETE", "partnerships/{id}", partnerships_delete, PORTAL_ROLE_EDITOR,
	 "delete a partnership"},
};

static int
partnerships_init(portal_plugin *p, const struct portal_api *core)
{
	if (core->abi_version != PORTAL_ABI_VERSION || !PORTAL_API_HAS(core, messages)) {
		core->plugin_log(p, PORTAL_LOG_ERR, "the core's API table is older than this plugin");
		return PORTAL_ERROR;
	}
	api = core;
	for (size_t i = 0; i < sizeof(partnerships_routes) / sizeof(partnerships_routes[0]); i++)
		if (api->route(p, &partnerships_routes[i]) != PORTAL_OK)
			return PORTAL_ERROR;
	for (const struct portal_migration_src *m = partnerships_migrations; m->sql; m++)
		if (api->migration(p, m->version, m->name, m->sql) != PORTAL_OK)
			return PORTAL_ERROR;
	if (api->link_target(p, partnerships_exists) != PORTAL_OK ||
	    api->openapi(p, partnerships_openapi) != PORTAL_OK) {
		api->plugin_log(p, PORTAL_LOG_ERR, "cannot register as a link target or the OpenAPI fragment");
		return PORTAL_ERROR;
	}
	for (const struct file_src *t = partnerships_templates; t->name; t++)
		if (api->template(p, t->name, t->text) != PORTAL_OK)
			return PORTAL_ERROR;
	return api->messages(p, partnerships_messages);
}

static void
partnerships_fini(portal_plugin *p)
{
	(void)p;
	api = NULL;
}

const struct portal_module portal_module = {
	PORTAL_MODULE_V1,
	.name = "partnerships",
	.version = "1.0.0",
	.settings = partnerships_settings,
	.init = partnerships_init,
	.fini = partnerships_fini,
};
