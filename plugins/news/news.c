/*
 * news.c - the news module: articles about a municipality's international
 * work, written in Markdown and served with their safe HTML.
 *
 *   GET    /api/v1/{m}/news        list, newest first (area, lang, since,
 *                                  status, slug, q, keyset cursor)
 *   GET    /api/v1/{m}/news/{id}   one item, ETag
 *   POST   /api/v1/{m}/news        create (editor)
 *   PATCH  /api/v1/{m}/news/{id}   JSON merge patch (editor)
 *   DELETE /api/v1/{m}/news/{id}   delete (editor)
 *
 * Drafts exist only for a token of the municipality with role reader or
 * higher: for everyone else a draft answers 404 and is absent from lists.
 *
 * Handlers answer through api->respond / api->problem and return
 * PORTAL_OK; they return PORTAL_ERROR without answering only when the
 * database failed, and the core then answers 500/503.  The core runs each
 * write in one transaction and commits it only on a 2xx answer, so a
 * handler that answers 409/422 halfway leaves nothing behind.
 *
 * Ownership: every JSON object a handler holds is owned by the request
 * (store_load keeps what it loads, copies are api->keep'ed); respond()
 * and audit() take a reference of their own via json_object_get().
 */
#include <stdio.h>
#include <string.h>

#include "news.h"

const struct portal_api *api;

/* Generated from schema/NNN_name.sql by tools/embed-migrations.sh, and
 * from openapi.json by tools/embed-text.sh. */
struct portal_migration_src {
	unsigned version;
	const char *name;
	const char *sql;
};
extern const struct portal_migration_src news_migrations[];
extern const char news_openapi[];
/* Generated from templates/ and messages.json (pages for citizens). */
struct file_src {
	const char *name, *text;
};
extern const struct file_src news_templates[];
extern const char news_messages[];

/* The {id} of the path: digits without a leading zero, at most 18 of them
 * (fits a BIGINT).  Anything else is an id no item has: -1. */
static long long
news_id(portal_req *r)
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
news_not_found(portal_req *r)
{
	return api->problem(r, 404, "%s has no news item %s", api->municipality(r),
	                    api->param(r, "id"));
}

/* 1 when the caller may see drafts: a token of this municipality (or of
 * all) with role reader or higher. */
static int
news_insider(portal_req *r)
{
	return api->role(r) >= PORTAL_ROLE_READER;
}

/* 1 when `item` is a draft that the caller may not see. */
static int
news_hidden(portal_req *r, struct json_object *item)
{
	const char *status = doc_str(item, "status");
	return !news_insider(r) && (status == NULL || strcmp(status, "published") != 0);
}

/* A deep copy of `o`, owned by the request; NULL when out of memory. */
static struct json_object *
news_copy(portal_req *r, struct json_object *o)
{
	struct json_object *copy = NULL;
	if (json_object_deep_copy(o, &copy, NULL) != 0)
		return NULL;
	return api->keep(r, copy);
}

/* The body of a write, when it is an object; else records why not. */
static struct json_object *
news_body(portal_req *r)
{
	struct json_object *body = api->body(r);
	if (!json_object_is_type(body, json_type_object)) {
		api->field_error(r, "body", "must be a JSON object");
		return NULL;
	}
	return body;
}

/* ---- links to partnerships, projects and visits ---- */

static const char *
news_singular(const char *module)
{
	if (strcmp(module, "partnerships") == 0)
		return "partnership";
	if (strcmp(module, "projects") == 0)
		return "project";
	return "visit";
}

/* 1 when the array `ids` holds `id`. */
static int
news_has_id(struct json_object *ids, long long id)
{
	size_t n = json_object_is_type(ids, json_type_array) ? json_object_array_length(ids) : 0;
	for (size_t i = 0; i < n; i++)
		if (json_object_get_int64(json_object_array_get_idx(ids, i)) == id)
			return 1;
	return 0;
}

/*
 * Checks every id of doc's "related" with the module it names (same
 * municipality, module enabled there, item exists); records an error
 * naming "related.visits[0]" for each that does not.  Targets refuse to
 * be deleted while linked (api->link_guard), but a municipality may
 * switch a module off: an id the item already had (in `before`, on a
 * patch) that no longer answers is dropped instead, so an editor can
 * still change the title of an older article.  PORTAL_OK, or
 * PORTAL_ERROR when the database failed.
 */
static int
news_check_related(portal_req *r, struct json_object *doc, struct json_object *before)
{
	struct json_object *rel, *old_rel = NULL;
	if (!json_object_object_get_ex(doc, "related", &rel) ||
	    !json_object_is_type(rel, json_type_object))
		return PORTAL_OK; /* validate said why */
	if (before != NULL)
		json_object_object_get_ex(before, "related", &old_rel);
	for (const char *const *m = doc_related_modules; *m; m++) {
		struct json_object *ids, *old = NULL, *keep;
		if (!json_object_object_get_ex(rel, *m, &ids) || !json_object_is_type(ids, json_type_array))
			continue;
		if (old_rel != NULL)
			json_object_object_get_ex(old_rel, *m, &old);
		size_t n = json_object_array_length(ids), dropped = 0;
		keep = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			struct json_object *v = json_object_array_get_idx(ids, i);
			if (!json_object_is_type(v, json_type_int))
				continue; /* validate said why */
			long long id = json_object_get_int64(v);
			int rc = api->link_exists(r, *m, id);
			if (rc < 0) {
				json_object_put(keep);
				return PORTAL_ERROR;
			}
			if (rc > 0)
				json_object_array_add(keep, json_object_new_int64(id));
			else if (news_has_id(old, id))
				dropped++;
			else
				api->field_error(r, api->printf(r, "related.%s[%zu]", *m, i),
				                 "is not a %s of this municipality", news_singular(*m));
		}
		if (dropped)
			json_object_object_add(rel, *m, keep); /* rel takes keep */
		else
			json_object_put(keep);
	}
	return PORTAL_OK;
}

/* The ids of doc's related.`module` into a request array; *n of them. */
static long long *
news_related_ids(portal_req *r, struct json_object *doc, const char *module, size_t *n)
{
	struct json_object *rel, *ids;
	*n = 0;
	if (!json_object_object_get_ex(doc, "related", &rel) ||
	    !json_object_object_get_ex(rel, module, &ids) || !json_object_is_type(ids, json_type_array))
		return NULL;
	size_t len = json_object_array_length(ids);
	long long *out = api->alloc(r, (len ? len : 1) * sizeof(*out));
	for (size_t i = 0; i < len; i++)
		out[(*n)++] = json_object_get_int64(json_object_array_get_idx(ids, i));
	return out;
}

/* Stores the links of item `id` (as stored: `item`) in the core, for each
 * module, also with none, so a changed title or status reaches them. */
static int
news_set_links(portal_req *r, long long id, struct json_object *item)
{
	const char *status = doc_str(item, "status");
	int is_public = status != NULL && strcmp(status, "published") == 0;
	for (const char *const *m = doc_related_modules; *m; m++) {
		size_t n;
		long long *ids = news_related_ids(r, item, *m, &n);
		if (api->link_set(r, id, *m, ids, n, doc_str(item, "title"),
		                  doc_str(item, "published_at"), is_public) != PORTAL_OK)
			return PORTAL_ERROR;
	}
	return PORTAL_OK;
}

/* ---- slugs ---- */

/*
 * Gives doc a slug made of its title when it has none: the title folded
 * (doc_slugify), and when another item has that, the first free of
 * "-2" .. "-50" appended.  Records an error when the title gives no slug.
 * PORTAL_OK, or PORTAL_ERROR when the database failed.
 */
static int
news_derive_slug(portal_req *r, struct json_object *doc)
{
	const char *title = doc_str(doc, "title");
	if (title == NULL) {
		/* validate reports the title; the item fails on it anyway, so a
		 * stand-in spares the client an error about a slug it never wrote */
		json_object_object_add(doc, "slug", json_object_new_string("untitled"));
		return PORTAL_OK;
	}
	char *base = doc_slugify(r, title);
	if (base == NULL) {
		api->field_error(r, "slug", "is required: the title has no letters to make one of");
		return PORTAL_OK;
	}
	for (int k = 1; k <= NEWS_SLUG_TRIES; k++) {
		const char *slug = base;
		if (k > 1) {
			char suffix[8];
			size_t n = (size_t)snprintf(suffix, sizeof(suffix), "-%d", k), len = strlen(base);
			if (len + n > NEWS_SLUG_MAX)
				len = NEWS_SLUG_MAX - n;
			while (len > 0 && base[len - 1] == '-')
				len--;
			slug = api->printf(r, "%.*s%s", (int)len, base, suffix);
		}
		int rc = store_slug_taken(r, slug, 0);
		if (rc < 0)
			return PORTAL_ERROR;
		if (rc == 0) {
			json_object_object_add(doc, "slug", json_object_new_string(slug));
			return PORTAL_OK;
		}
	}
	json_object_object_add(doc, "slug", json_object_new_string(base));
	return PORTAL_OK; /* news_slug_free answers 409 */
}

/* 0 when doc's slug is free (other than item `id`); else answers 409 (or
 * leaves the 500 to the core) and returns 1 / PORTAL_ERROR. */
static int
news_slug_free(portal_req *r, struct json_object *doc, long long id)
{
	const char *slug = doc_str(doc, "slug");
	int rc = store_slug_taken(r, slug, id);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0)
		return 0;
	api->field_error(r, "slug", "is taken by another news item of %s", api->municipality(r));
	api->problem(r, 409, "%s already has a news item with slug \"%s\"", api->municipality(r),
	             slug);
	return 1;
}

/* A concurrent write took the slug between news_slug_free and the write:
 * the same 409 (the core rolls the transaction back). */
static int
news_slug_race(portal_req *r, struct json_object *doc)
{
	const char *slug = doc_str(doc, "slug");
	api->field_error(r, "slug", "is taken by another news item of %s", api->municipality(r));
	return api->problem(r, 409, "%s already has a news item with slug \"%s\"",
	                    api->municipality(r), slug ? slug : "");
}

/* ---- list ---- */

/* A query argument that must be one of `values`; records an error named
 * after the argument otherwise. */
static const char *
news_enum_arg(portal_req *r, const char *name, const char *const *values)
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

/* 1 when `s` is a sort key this list gives out: "YYYY-MM-DD HH:MM:SS". */
static int
news_is_sort_key(const char *s)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd";
	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return 0;
	return 1;
}

static const struct portal_field news_lang_arg[] = {
	{.name = "lang", .type = PF_LANG},
	{.name = NULL},
};

/* Reads the list's arguments into f; records every problem. */
static void
news_list_args(portal_req *r, struct store_filter *f)
{
	f->insider = news_insider(r);
	f->status = news_enum_arg(r, "status", doc_statuses);
	f->area = news_enum_arg(r, "area", doc_areas);

	const char *lang = api->query(r, "lang");
	if (lang != NULL) {
		struct json_object *o = api->keep(r, json_object_new_object());
		json_object_object_add(o, "lang", json_object_new_string(lang));
		if (api->validate(r, news_lang_arg, o, NULL) == PORTAL_OK)
			f->lang = lang;
	}

	const char *since = api->query(r, "since");
	char ts[NEWS_TS_LEN + 1];
	if (since != NULL) {
		if (doc_timestamp(since, 1, ts) == PORTAL_OK)
			f->since = doc_sql_time(r, ts);
		else
			api->field_error(r, "since",
			                 "must be a date (YYYY, YYYY-MM or YYYY-MM-DD) or a timestamp "
			                 "such as \"2024-09-09T08:00:00Z\"");
	}

	const char *slug = api->query(r, "slug");
	if (slug != NULL && !doc_is_slug(slug))
		api->field_error(r, "slug", "must be a-z, 0-9 and hyphens, at most %d bytes",
		                 NEWS_SLUG_MAX);
	else
		f->slug = slug;

	api->search_terms(r, api->query(r, "q"), f->terms, NEWS_Q_TERMS);
	f->limit = api->limit(r);

	const char *cursor = api->query(r, "cursor");
	if (cursor != NULL) {
		struct json_object *keys = api->cursor_decode(r, cursor); /* the request's */
		if (keys == NULL)
			return; /* the core recorded the error */
		struct json_object *at = json_object_array_get_idx(keys, 0);
		struct json_object *id = json_object_array_get_idx(keys, 1);
		if (json_object_array_length(keys) != 2 || !json_object_is_type(at, json_type_string) ||
		    !news_is_sort_key(json_object_get_string(at)) ||
		    !json_object_is_type(id, json_type_int) || json_object_get_int64(id) <= 0) {
			api->field_error(r, "cursor", "is not a cursor of this list; start without it");
			return;
		}
		f->after_sort = json_object_get_string(at);
		f->after_id = json_object_get_int64(id);
	}
}

static int
news_list(portal_req *r)
{
	struct store_filter f;
	memset(&f, 0, sizeof(f));
	news_list_args(r, &f);
	if (api->has_errors(r))
		return api->problem(r, 422, "the list's arguments are not valid");

	struct json_object *res = api->keep(r, json_object_new_object());
	struct json_object *items = json_object_new_array();
	json_object_object_add(res, "items", items);
	int more = 0;
	const char *last_sort = NULL;
	if (store_list(r, &f, items, &more, &last_sort) != PORTAL_OK)
		return PORTAL_ERROR;

	struct json_object *next = NULL;
	size_t n = json_object_array_length(items);
	if (more && n > 0) {
		struct json_object *last = json_object_array_get_idx(items, n - 1), *id;
		json_object_object_get_ex(last, "id", &id);
		struct json_object *keys = api->keep(r, json_object_new_array());
		json_object_array_add(keys, json_object_new_string(last_sort));
		json_object_array_add(keys, json_object_new_int64(json_object_get_int64(id)));
		next = json_object_new_string(api->cursor_encode(r, keys));
	}
	json_object_object_add(res, "next", next);
	return api->respond(r, 200, json_object_get(res));
}

/* ---- one item ---- */

static int
news_get(portal_req *r)
{
	long long id = news_id(r), version;
	struct json_object *item;
	if (id < 0)
		return news_not_found(r);
	int rc = store_load(r, id, 0, &item, &version);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0 || news_hidden(r, item))
		return news_not_found(r);
	if (api->etag(r, id, version) != PORTAL_OK)
		return PORTAL_OK; /* 304 sent */
	return api->respond(r, 200, json_object_get(item));
}

static int
news_create(portal_req *r)
{
	struct json_object *body = news_body(r);
	if (body == NULL)
		return api->problem(r, 422, "the news item is not valid");
	doc_reject_readonly(r, body);

	struct json_object *doc = news_copy(r, body);
	if (doc == NULL)
		return PORTAL_ERROR;
	doc_strip_readonly(doc);
	if (!json_object_object_get_ex(doc, "status", NULL))
		json_object_object_add(doc, "status", json_object_new_string("draft"));
	struct json_object *slug = NULL;
	int derive = !json_object_object_get_ex(doc, "slug", &slug) || slug == NULL;
	if (derive) {
		json_object_object_del(doc, "slug");
		if (news_derive_slug(r, doc) != PORTAL_OK)
			return PORTAL_ERROR;
	}
	doc_check(r, doc);
	if (news_check_related(r, doc, NULL) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->has_errors(r))
		return api->problem(r, 422, "the news item is not valid");
	int taken = news_slug_free(r, doc, 0);
	if (taken != 0)
		return taken < 0 ? PORTAL_ERROR : PORTAL_OK;

	long long id = store_insert(r, doc), version;
	struct json_object *item;
	if (id == STORE_DUPLICATE)
		return news_slug_race(r, doc);
	if (id < 0 || news_set_links(r, id, doc) != PORTAL_OK ||
	    store_load(r, id, 0, &item, &version) != 1)
		return PORTAL_ERROR;
	if (api->audit(r, "create", id, NULL, json_object_get(item)) != PORTAL_OK)
		return PORTAL_ERROR;
	api->set_header(r, "Location", api->printf(r, "/api/v1/%s/news/%lld", api->municipality(r), id));
	api->set_etag(r, id, version);
	return api->respond(r, 201, json_object_get(item));
}

static int
news_update(portal_req *r)
{
	long long id = news_id(r), version;
	struct json_object *before, *after;
	if (id < 0)
		return news_not_found(r);
	int rc = store_load(r, id, 1, &before, &version);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0)
		return news_not_found(r);
	if (api->etag(r, id, version) != PORTAL_OK)
		return PORTAL_OK; /* 412 sent */

	struct json_object *patch = news_body(r);
	if (patch == NULL)
		return api->problem(r, 422, "the patch is not valid");
	doc_reject_readonly(r, patch);
	doc_check_patch_names(r, doc_schema, patch, "");

	/* the item as GET shows it, without what the server owns, patched */
	struct json_object *doc = news_copy(r, before);
	if (doc == NULL)
		return PORTAL_ERROR;
	doc_strip_readonly(doc);
	api->merge_patch(doc, patch);
	doc_strip_readonly(doc);
	doc_check(r, doc);
	if (news_check_related(r, doc, before) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->has_errors(r))
		return api->problem(r, 422, "the news item would not be valid after this patch");
	int taken = news_slug_free(r, doc, id);
	if (taken != 0)
		return taken < 0 ? PORTAL_ERROR : PORTAL_OK;

	int urc = store_update(r, id, doc);
	if (urc == STORE_DUPLICATE)
		return news_slug_race(r, doc);
	if (urc != PORTAL_OK || news_set_links(r, id, doc) != PORTAL_OK ||
	    store_load(r, id, 0, &after, &version) != 1)
		return PORTAL_ERROR;
	if (api->audit(r, "update", id, json_object_get(before), json_object_get(after)) !=
	    PORTAL_OK)
		return PORTAL_ERROR;
	api->set_etag(r, id, version);
	return api->respond(r, 200, json_object_get(after));
}

static int
news_delete(portal_req *r)
{
	long long id = news_id(r), version;
	struct json_object *before;
	if (id < 0)
		return news_not_found(r);
	int rc = store_load(r, id, 1, &before, &version);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0)
		return news_not_found(r);
	if (api->etag(r, id, version) != PORTAL_OK)
		return PORTAL_OK; /* 412 sent */
	if (store_delete(r, id) != PORTAL_OK || api->link_forget(r, id) != PORTAL_OK)
		return PORTAL_ERROR;
	if (api->audit(r, "delete", id, json_object_get(before), NULL) != PORTAL_OK)
		return PORTAL_ERROR;
	return api->respond(r, 204, NULL);
}

/* ---- the module ---- */

static const struct portal_route news_routes[] = {
	{"GET", "news", news_list, PORTAL_ROLE_NONE,
	 "list news, newest first (area, lang, since, status, slug, q, limit, cursor)"},
	{"GET", "news/{id}", news_get, PORTAL_ROLE_NONE, "one news item"},
	{"POST", "news", news_create, PORTAL_ROLE_EDITOR, "create a news item"},
	{"PATCH", "news/{id}", news_update, PORTAL_ROLE_EDITOR,
	 "change a news item (JSON merge patch)"},
	{"DELETE", "news/{id}", news_delete, PORTAL_ROLE_EDITOR, "delete a news item"},
};

static int
news_init(portal_plugin *p, const struct portal_api *core)
{
	if (core->abi_version != PORTAL_ABI_VERSION || !PORTAL_API_HAS(core, is_duplicate) ||
	    !PORTAL_API_HAS(core, messages)) {
		core->plugin_log(p, PORTAL_LOG_ERR, "the core's API table is older than this plugin");
		return PORTAL_ERROR;
	}
	api = core;
	for (size_t i = 0; i < sizeof(news_routes) / sizeof(news_routes[0]); i++)
		if (api->route(p, &news_routes[i]) != PORTAL_OK)
			return PORTAL_ERROR;
	for (const struct portal_migration_src *m = news_migrations; m->sql; m++)
		if (api->migration(p, m->version, m->name, m->sql) != PORTAL_OK)
			return PORTAL_ERROR;
	if (api->openapi(p, news_openapi) != PORTAL_OK)
		return PORTAL_ERROR;
	for (const struct file_src *t = news_templates; t->name; t++)
		if (api->template(p, t->name, t->text) != PORTAL_OK)
			return PORTAL_ERROR;
	return api->messages(p, news_messages);
}

static void
news_fini(portal_plugin *p)
{
	(void)p;
	api = NULL;
}

const struct portal_module portal_module = {
	PORTAL_MODULE_V1,
	.name = "news",
	.version = "1.0.0",
	.settings = NULL,
	.init = news_init,
	.fini = news_fini,
};
