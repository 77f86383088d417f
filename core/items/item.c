/*
 * item.c - the item lifecycle (struct portal_item in portal.h): the five
 * routes a module's items share (list, read, create, merge-patch, delete),
 * run the same way for every module that declares its item with
 * api->item() (or PORTAL_PLUGIN).  The store is the module's hooks or, for
 * an item declared with a table, derived from its fields (store.c); the
 * module keeps its own rules (the other hooks); this file knows no module.
 *
 * It uses the core's services through the same table the plugins get,
 * so a hook and the lifecycle see one request alike.  The server's loader
 * hands that table over before any plugin's init (item_use_api): this
 * layer names nothing of the server's.
 *
 * Handlers answer and return PORTAL_OK, or return PORTAL_ERROR without
 * answering when the database failed (dispatch answers 500/503).  A
 * function or hook that has answered itself (304, 404, 409, 412) returns
 * PORTAL_DONE, and its caller stops there.  Every
 * JSON object held here belongs to the request: what load() gives is the
 * request's, copies are kept with api->keep; respond() and audit() get a
 * reference of their own.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"

static const struct portal_api *api;

void
item_use_api(const struct portal_api *a)
{
	api = a;
	store_use_api(a);
}

/* The module's declaration; dispatch set r->plugin from the route. */
static const struct portal_item *
item_of(portal_req *r)
{
	return r->plugin->item;
}

long long
item_parse_id(const char *s)
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

/* The {id} of the path; an id no item has: -1. */
static long long
item_id(portal_req *r)
{
	return item_parse_id(api->param(r, "id"));
}

static int
item_not_found(portal_req *r)
{
	return api->problem(r, 404, "%s has no %s %s", api->municipality(r), item_of(r)->noun,
	                    api->param(r, "id"));
}

/* Loads {id} for a handler: PORTAL_OK found and visible to the caller;
 * PORTAL_DONE after answering 404; PORTAL_ERROR. */
static int
item_load(portal_req *r, long long *id, int for_update, struct json_object **item,
          long long *version)
{
	const struct portal_item *it = item_of(r);
	*id = item_id(r);
	int rc = *id < 0 ? 0 : it->load(r, *id, for_update, item, version);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0 || (it->visible != NULL && !it->visible(r, *item))) {
		item_not_found(r);
		return PORTAL_DONE;
	}
	return PORTAL_OK;
}

/* A single item as answered: with "linked", what other modules' items say
 * about it, when the module is a link target.  PORTAL_ERROR when the
 * database failed. */
static int
item_add_linked(portal_req *r, long long id, struct json_object *item)
{
	if (item_of(r)->exists == NULL)
		return PORTAL_OK;
	struct json_object *linked = api->links_to(r, id); /* the request's */
	if (linked == NULL)
		return PORTAL_ERROR;
	json_object_object_add(item, "linked", json_object_get(linked));
	return PORTAL_OK;
}

/* A deep copy of `o`, owned by the request; NULL when out of memory. */
static struct json_object *
item_copy(portal_req *r, struct json_object *o)
{
	struct json_object *copy = NULL;
	if (json_object_deep_copy(o, &copy, NULL) != 0)
		return NULL;
	return api->keep(r, copy);
}

/* The body of a write, when it is an object; else records why not. */
static struct json_object *
item_body(portal_req *r)
{
	struct json_object *body = api->body(r);
	if (!json_object_is_type(body, json_type_object)) {
		api->field_error(r, "body", "must be a JSON object");
		return NULL;
	}
	return body;
}

/* 1 when `s` is one of the NULL-terminated `values`. */
static int
item_in(const char *const *values, const char *s)
{
	for (; values && s && *values; values++)
		if (strcmp(*values, s) == 0)
			return 1;
	return 0;
}

/* Records "is read-only" for each server-owned member present in `body`. */
static void
item_reject_readonly(portal_req *r, struct json_object *body)
{
	for (const char *const *k = item_of(r)->readonly; k && *k; k++)
		if (json_object_object_get_ex(body, *k, NULL))
			api->field_error(r, *k, "is read-only: the server sets it");
}

/* Removes the server-owned members from an item, in place. */
static void
item_strip_readonly(portal_req *r, struct json_object *doc)
{
	for (const char *const *k = item_of(r)->readonly; k && *k; k++)
		json_object_object_del(doc, *k);
}

/* Records members of a merge patch that the schema does not know and that
 * the patch sets to null (a merge drops them, so validate never sees
 * them); read-only ones were reported already. */
static void
item_check_patch_names(portal_req *r, const struct portal_field *schema, struct json_object *patch,
                       const char *path)
{
	if (!json_object_is_type(patch, json_type_object))
		return;
	json_object_object_foreach(patch, key, val) {
		const struct portal_field *f = schema;
		while (f->name && strcmp(f->name, key) != 0)
			f++;
		const char *sub = *path ? api->printf(r, "%s.%s", path, key) : key;
		if (f->name == NULL) {
			if (val == NULL && !(*path == '\0' && item_in(item_of(r)->readonly, key)))
				api->field_error(r, sub, "is not a known field");
		} else if (f->type == PF_OBJECT && json_object_is_type(val, json_type_object)) {
			item_check_patch_names(r, f->fields, val, sub);
		}
	}
}

/* Adds the declared defaults that `doc` lacks.  PORTAL_ERROR when they do
 * not parse (a plugin's mistake) or memory ran out. */
static int
item_defaults(portal_req *r, struct json_object *doc)
{
	const char *text = item_of(r)->defaults;
	if (text == NULL)
		return PORTAL_OK;
	struct json_object *defs = api->keep(r, json_tokener_parse(text));
	if (!json_object_is_type(defs, json_type_object)) {
		api->log(r, PORTAL_LOG_ERR, "the item's defaults are not a JSON object");
		return PORTAL_ERROR;
	}
	json_object_object_foreach(defs, key, val) {
		if (!json_object_object_get_ex(doc, key, NULL))
			json_object_object_add(doc, key, json_object_get(val));
	}
	return PORTAL_OK;
}

/* The rules of a write after the read-only members were handled: prepare,
 * the schema, check.  Errors are recorded; PORTAL_ERROR when the database
 * failed. */
static int
item_check(portal_req *r, struct portal_write *w)
{
	const struct portal_item *it = item_of(r);
	if (it->prepare != NULL && it->prepare(r, w) < 0)
		return PORTAL_ERROR;
	api->validate(r, it->schema, w->doc, NULL);
	if (it->check != NULL && it->check(r, w) < 0)
		return PORTAL_ERROR;
	return PORTAL_OK;
}

/* ---- the handlers ---- */

static int
item_get(portal_req *r)
{
	long long id, version;
	struct json_object *item;
	int rc = item_load(r, &id, 0, &item, &version);
	if (rc == PORTAL_OK)
		rc = api->etag(r, id, version); /* a 304 is PORTAL_DONE */
	if (rc != PORTAL_OK)
		return rc == PORTAL_DONE ? PORTAL_OK : rc;
	if (item_add_linked(r, id, item) != PORTAL_OK)
		return PORTAL_ERROR;
	if (item_of(r)->own_answer)
		r->item_answer = id; /* the answer is the item's alone (cache.c) */
	return api->respond(r, 200, json_object_get(item));
}

static int
item_create(portal_req *r)
{
	const struct portal_item *it = item_of(r);
	struct portal_write w = {0};
	struct json_object *body = item_body(r);
	if (body == NULL)
		return api->problem(r, 422, "the %s is not valid", it->noun);
	item_reject_readonly(r, body);

	if ((w.doc = item_copy(r, body)) == NULL)
		return PORTAL_ERROR;
	item_strip_readonly(r, w.doc);
	if (item_defaults(r, w.doc) != PORTAL_OK || item_check(r, &w) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->has_errors(r))
		return api->problem(r, 422, "the %s is not valid", it->noun);
	int rc = it->before_write != NULL ? it->before_write(r, &w) : PORTAL_OK;
	if (rc != PORTAL_OK)
		return rc == PORTAL_DONE ? PORTAL_OK : PORTAL_ERROR;

	long long version;
	w.id = it->insert(r, &w);
	if (w.id == PORTAL_DONE)
		return PORTAL_OK; /* answered */
	if (w.id <= 0 || it->load(r, w.id, 0, &w.item, &version) != 1)
		return PORTAL_ERROR;
	if (it->written != NULL && it->written(r, &w) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->audit(r, "create", w.id, NULL, json_object_get(w.item)) != PORTAL_OK)
		return PORTAL_ERROR;
	/* after the audit, which shares the item: it records the item's own
	 * members */
	if (item_add_linked(r, w.id, w.item) != PORTAL_OK || links_touch(r, w.id, 1) != PORTAL_OK)
		return PORTAL_ERROR;
	api->set_header(r, "Location", api->printf(r, "/api/v1/%s/%s/%lld", api->municipality(r),
	                                            r->plugin->name, w.id));
	api->set_etag(r, w.id, version);
	return api->respond(r, 201, json_object_get(w.item));
}

static int
item_update(portal_req *r)
{
	const struct portal_item *it = item_of(r);
	struct portal_write w = {0};
	long long version;
	int rc = item_load(r, &w.id, 1, &w.before, &version);
	if (rc == PORTAL_OK)
		rc = api->etag(r, w.id, version); /* a 412 is PORTAL_DONE */
	if (rc != PORTAL_OK)
		return rc == PORTAL_DONE ? PORTAL_OK : rc;

	/* what links to and from it before the write (the row is locked) */
	if (links_touch(r, w.id, 0) != PORTAL_OK)
		return PORTAL_ERROR;
	if ((w.patch = item_body(r)) == NULL)
		return api->problem(r, 422, "the patch is not valid");
	item_reject_readonly(r, w.patch);
	item_check_patch_names(r, it->schema, w.patch, "");

	/* the item as GET shows it, without what the server owns, patched */
	if ((w.doc = item_copy(r, w.before)) == NULL)
		return PORTAL_ERROR;
	item_strip_readonly(r, w.doc);
	api->merge_patch(w.doc, w.patch);
	item_strip_readonly(r, w.doc);
	if (item_check(r, &w) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->has_errors(r))
		return api->problem(r, 422, "the %s would not be valid after this patch", it->noun);
	if (it->before_write != NULL && (rc = it->before_write(r, &w)) != PORTAL_OK)
		return rc == PORTAL_DONE ? PORTAL_OK : PORTAL_ERROR;

	if ((rc = it->update(r, &w)) != PORTAL_OK)
		return rc == PORTAL_DONE ? PORTAL_OK : PORTAL_ERROR;
	if (it->load(r, w.id, 0, &w.item, &version) != 1)
		return PORTAL_ERROR;
	if (it->written != NULL && it->written(r, &w) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->audit(r, "update", w.id, json_object_get(w.before), json_object_get(w.item)) !=
	    PORTAL_OK)
		return PORTAL_ERROR;
	if (item_add_linked(r, w.id, w.item) != PORTAL_OK || links_touch(r, w.id, 1) != PORTAL_OK)
		return PORTAL_ERROR;
	api->set_etag(r, w.id, version);
	return api->respond(r, 200, json_object_get(w.item));
}

static int
item_delete(portal_req *r)
{
	const struct portal_item *it = item_of(r);
	long long id, version;
	struct json_object *before;
	int rc = item_load(r, &id, 1, &before, &version);
	if (rc == PORTAL_OK)
		rc = api->etag(r, id, version); /* a 412 is PORTAL_DONE */
	if (rc != PORTAL_OK)
		return rc == PORTAL_DONE ? PORTAL_OK : rc;
	/* An item others link to is not deleted (409 naming them), so no item
	 * keeps a dangling id.  The row is locked (FOR UPDATE above) and the
	 * exists hook reads it in share mode, so a concurrent linking write
	 * either ends before (and is seen here) or waits and finds nothing. */
	if (it->exists != NULL && (rc = api->link_guard(r, id)) != PORTAL_OK)
		return rc == PORTAL_DONE ? PORTAL_OK : PORTAL_ERROR;
	/* its own links go with it: the items they joined are touched */
	if (links_touch(r, id, 0) != PORTAL_OK || it->remove(r, id) != PORTAL_OK ||
	    api->link_forget(r, id) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->audit(r, "delete", id, json_object_get(before), NULL) != PORTAL_OK)
		return PORTAL_ERROR;
	((struct req_touched *)r->ctx[REQ_CTX_TOUCHED])->whole = 1;
	return api->respond(r, 204, NULL);
}

/* ---- the list ---- */

/* The PF_SLUG member of item `it` that filter `name` is of, or NULL. */
static const struct portal_field *
item_slug_member(const struct portal_item *it, const char *name)
{
	for (const struct portal_field *f = it->schema; f->name; f++)
		if ((f->flags & PF_SLUG) && strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* One filter without a parse hook: its type's check (a PF_SLUG member's:
 * a slug), with the message a client sees.  The value, or NULL after
 * recording an error. */
static const char *
item_filter_arg(portal_req *r, const struct portal_filter *f, const char *v)
{
	const struct portal_field *slug = item_slug_member(item_of(r), f->name);
	if (slug != NULL) {
		size_t max = slug->max ? slug->max : 200;
		if (api->is_slug(v, max))
			return v;
		api->field_error(r, f->name, "must be a-z, 0-9 and hyphens, at most %zu bytes", max);
		return NULL;
	}
	switch (f->type) {
	case PF_ENUM:
		if (!item_in(f->values, v)) {
			const char *list = f->values[0];
			for (const char *const *e = f->values + 1; *e; e++)
				list = api->printf(r, "%s, %s", list, *e);
			api->field_error(r, f->name, "must be one of: %s", list);
			return NULL;
		}
		return v;
	case PF_COUNTRY:
		if (!api->is_country(v)) {
			api->field_error(r, f->name,
			                 "must be an ISO 3166-1 alpha-2 country code such as \"SE\"");
			return NULL;
		}
		return v;
	case PF_DATE:
		if (!api->is_partial_date(v)) {
			api->field_error(r, f->name, "must be a date as YYYY, YYYY-MM or YYYY-MM-DD");
			return NULL;
		}
		return v;
	case PF_LANG: {
		/* the schema's checker, so the message is the one a body gets */
		struct json_object *o = api->keep(r, json_object_new_object());
		json_object_object_add(o, f->name, json_object_new_string(v));
		const struct portal_field one[] = {{.name = f->name, .type = PF_LANG}, {.name = NULL}};
		return api->validate(r, one, o, NULL) == PORTAL_OK ? v : NULL;
	}
	default: /* item_register refused it */
		return NULL;
	}
}

/* Reads the list's arguments into l: the filters in declared order, then
 * q, limit and cursor; records every problem. */
static void
item_list_args(portal_req *r, struct portal_list *l)
{
	const struct portal_item *it = item_of(r);
	l->insider = api->role(r) >= PORTAL_ROLE_READER;
	for (size_t i = 0; it->filters && it->filters[i].name && i < PORTAL_LIST_FILTERS; i++) {
		const struct portal_filter *f = &it->filters[i];
		const char *v = api->query(r, f->name);
		if (v != NULL)
			l->arg[i] = f->parse ? f->parse(r, l, v) : item_filter_arg(r, f, v);
	}
	if (api->search_terms(r, api->query(r, "q"), l->terms, PORTAL_LIST_TERMS) > 0)
		l->match = search_match(r, api->query(r, "q"));
	l->limit = api->limit(r);
	const char *since = api->query(r, "updated_since");
	if (since != NULL) {
		char *at = api->alloc(r, 32);
		if (valid_utc_time(since, at))
			l->updated_since = at;
		else
			api->field_error(r, "updated_since",
			                 "must be a UTC time as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
	}

	const char *cursor = api->query(r, "cursor");
	if (cursor == NULL)
		return;
	struct json_object *keys = api->cursor_decode(r, cursor); /* the request's */
	if (keys == NULL)
		return; /* the core recorded the error */
	struct json_object *key = json_object_array_get_idx(keys, 0);
	struct json_object *id = json_object_array_get_idx(keys, 1);
	if (json_object_array_length(keys) != 2 || !json_object_is_type(key, json_type_string) ||
	    (it->cursor_key != NULL && !it->cursor_key(json_object_get_string(key))) ||
	    (it->cursor_max > 0 && strlen(json_object_get_string(key)) > it->cursor_max) ||
	    !json_object_is_type(id, json_type_int) || json_object_get_int64(id) <= 0) {
		api->field_error(r, "cursor", "is not a cursor of this list; start without it");
		return;
	}
	l->after_key = json_object_get_string(key);
	l->after_id = json_object_get_int64(id);
}

/* The list of r's module with the arguments in l (checked): {items, next}. */
static int
item_list_answer(portal_req *r, struct portal_list *l)
{
	struct json_object *res = api->keep(r, json_object_new_object());
	struct json_object *items = json_object_new_array();
	json_object_object_add(res, "items", items);
	int more = 0;
	const char *last_key = NULL;
	/* Nothing reads these items before they are written as JSON (no render
	 * hook, not a page's or an export's part): the store writes each as
	 * text straight from its row, without a json-c tree */
	r->json_through = r->top_level && item_of(r)->render == NULL;
	int rc = item_of(r)->list(r, l, items, &more, &last_key);
	r->json_through = 0;
	if (rc != PORTAL_OK)
		return PORTAL_ERROR;

	struct json_object *next = NULL;
	size_t n = json_object_array_length(items);
	if (more && n > 0) {
		struct json_object *last = json_object_array_get_idx(items, n - 1), *id;
		json_object_object_get_ex(last, "id", &id);
		struct json_object *keys = api->keep(r, json_object_new_array());
		json_object_array_add(keys, json_object_new_string(last_key ? last_key : ""));
		json_object_array_add(keys, json_object_new_int64(json_object_get_int64(id)));
		next = json_object_new_string(api->cursor_encode(r, keys));
	}
	json_object_object_add(res, "next", next);
	return api->respond(r, 200, json_object_get(res));
}

static int
item_list(portal_req *r)
{
	struct portal_list l;
	memset(&l, 0, sizeof(l));
	item_list_args(r, &l);
	if (api->has_errors(r))
		return api->problem(r, 422, "the list's arguments are not valid");
	return item_list_answer(r, &l);
}

int
item_all_list(portal_req *r, const char *municipalities)
{
	struct portal_list l;
	memset(&l, 0, sizeof(l));
	item_list_args(r, &l);
	l.insider = 0; /* the anonymous view, whoever asks */
	l.municipalities = municipalities;
	if (api->has_errors(r))
		return api->problem(r, 422, "the list's arguments are not valid");
	return item_list_answer(r, &l);
}

/* GET /{module}/uid/{uid}: the item itself, as GET /{module}/{id} answers
 * it, with Content-Location naming that URL. */
static int
item_by_uid(portal_req *r)
{
	const struct portal_item *it = item_of(r);
	const char *uid = api->param(r, "uid");
	long long id = store_id_of_uid(r, uid), version;
	if (id < 0)
		return PORTAL_ERROR;
	struct json_object *item = NULL;
	int rc = id == 0 ? 0 : it->load(r, id, 0, &item, &version);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0 || (it->visible != NULL && !it->visible(r, item)))
		return api->problem(r, 404, "%s has no %s with the uid %s", api->municipality(r), it->noun,
		                    uid);
	if ((rc = api->etag(r, id, version)) != PORTAL_OK)
		return rc == PORTAL_DONE ? PORTAL_OK : rc;
	if (item_add_linked(r, id, item) != PORTAL_OK)
		return PORTAL_ERROR;
	api->set_header(r, "Content-Location", api->printf(r, "/api/v1/%s/%s/%lld", api->municipality(r),
	                                                    r->plugin->name, id));
	return api->respond(r, 200, json_object_get(item));
}

/* ---- registration ---- */

int
item_register(portal_plugin *p, const struct portal_item *it)
{
	if (p != NULL && p->in_init && it != NULL && it->table != NULL && it->schema != NULL &&
	    p->item == NULL && p->store == NULL) {
		/* the store derived from the declaration (store.c) */
		if ((p->store = store_build(it)) == NULL) {
			log_msg(PORTAL_LOG_ERR, NULL, "plugin %s: its item is refused (above) or out of memory",
			        p->name);
			return PORTAL_ERROR;
		}
		it = &p->store->item;
	}
	if (p == NULL || !p->in_init || it == NULL || p->item != NULL || it->noun == NULL ||
	    it->schema == NULL || it->load == NULL || it->list == NULL || it->insert == NULL ||
	    it->update == NULL || it->remove == NULL) {
		log_msg(PORTAL_LOG_ERR, NULL, "plugin %s: item() outside init, twice or incomplete",
		        p ? p->name : "?");
		return PORTAL_ERROR;
	}
	size_t nf = 0;
	for (; it->filters && it->filters[nf].name; nf++) {
		const struct portal_filter *f = &it->filters[nf];
		if ((f->parse == NULL && !(f->type == PF_ENUM && f->values && f->values[0]) &&
		     f->type != PF_COUNTRY && f->type != PF_DATE && f->type != PF_LANG &&
		     item_slug_member(it, f->name) == NULL) ||
		    (p->store != NULL && f->sql == NULL)) {
			log_msg(PORTAL_LOG_ERR, NULL, "plugin %s: list filter \"%s\" has no check or no SQL",
			        p->name, f->name);
			return PORTAL_ERROR;
		}
	}
	if (nf > PORTAL_LIST_FILTERS) {
		log_msg(PORTAL_LOG_ERR, NULL, "plugin %s: more than %d list filters", p->name,
		        PORTAL_LIST_FILTERS);
		return PORTAL_ERROR;
	}
	snprintf(p->item_pattern, sizeof(p->item_pattern), "%s/{id}", p->name);
	snprintf(p->item_summary[0], sizeof(p->item_summary[0]), "one %s", it->noun);
	snprintf(p->item_summary[1], sizeof(p->item_summary[1]), "create a %s", it->noun);
	snprintf(p->item_summary[2], sizeof(p->item_summary[2]), "change a %s (JSON merge patch)",
	         it->noun);
	snprintf(p->item_summary[3], sizeof(p->item_summary[3]), "delete a %s", it->noun);
	const struct portal_route routes[] = {
	    {"GET", p->name, item_list, PORTAL_ROLE_NONE, it->list_summary},
	    {"GET", p->item_pattern, item_get, PORTAL_ROLE_NONE, p->item_summary[0]},
	    {"POST", p->name, item_create, PORTAL_ROLE_EDITOR, p->item_summary[1]},
	    {"PATCH", p->item_pattern, item_update, PORTAL_ROLE_EDITOR, p->item_summary[2]},
	    {"DELETE", p->item_pattern, item_delete, PORTAL_ROLE_EDITOR, p->item_summary[3]},
	};
	p->item = it;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (api->route(p, &routes[i]) != PORTAL_OK)
			return PORTAL_ERROR;
	if (it->exists != NULL && api->link_target(p, it->exists) != PORTAL_OK)
		return PORTAL_ERROR;
	if (p->store != NULL) {
		snprintf(p->uid_pattern, sizeof(p->uid_pattern), "%s/uid/{uid}", p->name);
		snprintf(p->item_summary[4], sizeof(p->item_summary[4]), "one %s by its uid", it->noun);
		const struct portal_route by_uid = {"GET", p->uid_pattern, item_by_uid, PORTAL_ROLE_NONE,
		                                    p->item_summary[4]};
		if (api->route(p, &by_uid) != PORTAL_OK)
			return PORTAL_ERROR;
	}
	return PORTAL_OK;
}

/* ---- binding members and running statements by id ---- */

/* Member `key` of `o` (NULL when absent, null or `o` is not an object). */
static struct json_object *
item_member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

int
item_bind_text(portal_stmt *s, unsigned i, struct json_object *o, const char *key)
{
	struct json_object *v = item_member(o, key);
	return api->bind_text(s, i, json_object_is_type(v, json_type_string) ? json_object_get_string(v)
	                                                                     : NULL);
}

int
item_bind_int(portal_stmt *s, unsigned i, struct json_object *o, const char *key)
{
	struct json_object *v = item_member(o, key);
	if (json_object_is_type(v, json_type_int))
		return api->bind_int(s, i, json_object_get_int64(v));
	return api->bind_null(s, i);
}

int
item_bind_double(portal_stmt *s, unsigned i, struct json_object *o, const char *key)
{
	struct json_object *v = item_member(o, key);
	if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))
		return api->bind_double(s, i, json_object_get_double(v));
	return api->bind_null(s, i);
}

int
item_bind_json(portal_req *r, portal_stmt *s, unsigned i, struct json_object *o, const char *key,
               const char *absent)
{
	struct json_object *v = item_member(o, key);
	const char *text = absent;
	if (v != NULL)
		text = api->strdup(r, json_object_to_json_string_ext(
		                          v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	return api->bind_text(s, i, text);
}

/* Prepares `sql` and runs it with (id, municipality); the statement, or
 * NULL after ending it on a failure. */
static portal_stmt *
item_by_id(portal_req *r, const char *sql, long long id)
{
	portal_stmt *s = api->prepare(r, sql);
	if (s == NULL)
		return NULL;
	api->bind_int(s, 0, id);
	api->bind_text(s, 1, api->municipality(r));
	if (api->execute(s) != PORTAL_OK) {
		api->done(s);
		return NULL;
	}
	return s;
}

int
item_by_id_row(portal_req *r, const char *sql, long long id, portal_stmt **out)
{
	portal_stmt *s = item_by_id(r, sql, id);
	if (s == NULL)
		return PORTAL_ERROR;
	int rc = api->fetch(s);
	if (rc != 1) {
		api->done(s);
		return rc == 0 ? 0 : PORTAL_ERROR;
	}
	*out = s;
	return 1;
}

int
item_by_id_exec(portal_req *r, const char *sql, long long id)
{
	portal_stmt *s = item_by_id(r, sql, id);
	if (s == NULL)
		return PORTAL_ERROR;
	api->done(s);
	return PORTAL_OK;
}

int
item_list_rows(portal_req *r, portal_stmt *s, unsigned i, const struct portal_list *l,
               struct json_object *(*from_row)(portal_req *r, portal_stmt *s), unsigned key_col,
               struct json_object *items, int *more, const char **last_key)
{
	for (int t = 0; t < PORTAL_LIST_TERMS; t++) {
		api->bind_text(s, i++, l->terms[t]);
		api->bind_text(s, i++, l->terms[t]);
	}
	if (l->after_key) {
		api->bind_text(s, i++, l->after_key);
		api->bind_text(s, i++, l->after_key);
		api->bind_text(s, i++, l->after_key);
		api->bind_int(s, i++, l->after_id);
	} else {
		for (int k = 0; k < 4; k++)
			api->bind_null(s, i++);
	}
	api->bind_int(s, i, l->limit + 1); /* one more tells whether a next page exists */
	if (api->execute(s) != PORTAL_OK) {
		api->done(s);
		return PORTAL_ERROR;
	}
	int n = 0, rc;
	*more = 0;
	while ((rc = api->fetch(s)) == 1) {
		if (n == l->limit) {
			*more = 1;
			break;
		}
		struct json_object *it = from_row(r, s);
		if (it == NULL) {
			rc = PORTAL_ERROR;
			break;
		}
		json_object_array_add(items, it); /* the array owns it */
		*last_key = api->strdup(r, api->col_text(s, key_col));
		n++;
	}
	api->done(s);
	return rc < 0 ? PORTAL_ERROR : PORTAL_OK;
}
