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
 * The core runs the five routes (api->item, portal.h): this file declares
 * the item and keeps the module's own rules: drafts, slugs (derived,
 * unique: 409), the related items and the list's since and slug
 * arguments.
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

/* 1 when the caller may see drafts: a token of this municipality (or of
 * all) with role reader or higher. */
static int
news_insider(portal_req *r)
{
	return api->role(r) >= PORTAL_ROLE_READER;
}

/* visible hook: a draft is a 404 for anyone but an insider. */
static int
news_visible(portal_req *r, struct json_object *item)
{
	const char *status = doc_str(item, "status");
	return news_insider(r) || (status != NULL && strcmp(status, "published") == 0);
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

/* ---- the item's hooks ---- */

/* prepare hook: a create without a slug gets one made of its title. */
static int
news_prepare(portal_req *r, struct portal_write *w)
{
	struct json_object *slug = NULL;
	if (w->before != NULL ||
	    (json_object_object_get_ex(w->doc, "slug", &slug) && slug != NULL))
		return PORTAL_OK;
	json_object_object_del(w->doc, "slug");
	return news_derive_slug(r, w->doc);
}

/* check hook: the rules across members, normalising (doc.c), and the
 * related items. */
static int
news_check(portal_req *r, struct portal_write *w)
{
	doc_check(r, w->doc);
	return news_check_related(r, w->doc, w->before);
}

/* before_write hook: the slug must be free (409). */
static int
news_before_write(portal_req *r, struct portal_write *w)
{
	return news_slug_free(r, w->doc, w->id);
}

/* insert and update: a slug taken meanwhile is the same 409. */
static long long
news_insert(portal_req *r, struct portal_write *w)
{
	long long id = store_insert(r, w->doc);
	if (id == STORE_DUPLICATE) {
		news_slug_race(r, w->doc);
		return 0;
	}
	return id;
}

static int
news_update(portal_req *r, struct portal_write *w)
{
	int rc = store_update(r, w->id, w->doc);
	if (rc == STORE_DUPLICATE) {
		news_slug_race(r, w->doc);
		return 1;
	}
	return rc;
}

/* written hook: the links to the related items. */
static int
news_written(portal_req *r, struct portal_write *w)
{
	return news_set_links(r, w->id, w->doc);
}

/* ---- list ---- */

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

/* The `since` argument: a partial date or a timestamp, as a DATETIME. */
static const char *
news_since_arg(portal_req *r, struct portal_list *l, const char *v)
{
	char ts[NEWS_TS_LEN + 1];
	if (doc_timestamp(v, 1, ts) == PORTAL_OK)
		return doc_sql_time(r, ts);
	api->field_error(r, "since",
	                 "must be a date (YYYY, YYYY-MM or YYYY-MM-DD) or a timestamp "
	                 "such as \"2024-09-09T08:00:00Z\"");
	return NULL;
}

static const char *
news_slug_arg(portal_req *r, struct portal_list *l, const char *v)
{
	if (doc_is_slug(v))
		return v;
	api->field_error(r, "slug", "must be a-z, 0-9 and hyphens, at most %d bytes", NEWS_SLUG_MAX);
	return NULL;
}

/* The list's filters, in the order of enum store_filter. */
static const struct portal_filter news_filters[] = {
	[F_STATUS] = {.name = "status", .type = PF_ENUM, .values = doc_statuses},
	[F_AREA] = {.name = "area", .type = PF_ENUM, .values = doc_areas},
	[F_LANG] = {.name = "lang", .type = PF_LANG},
	[F_SINCE] = {.name = "since", .parse = news_since_arg},
	[F_SLUG] = {.name = "slug", .parse = news_slug_arg},
	{.name = NULL},
};

/* The item.  News items link to others but nothing links to them. */
static const struct portal_item news_item = {
	.noun = "news item",
	.list_summary = "list news, newest first (area, lang, since, status, slug, q, limit, cursor)",
	.schema = doc_schema,
	.readonly = doc_readonly,
	.defaults = "{\"status\": \"draft\"}",
	.filters = news_filters,
	.cursor_key = news_is_sort_key,
	.load = store_load,
	.list = store_list,
	.insert = news_insert,
	.update = news_update,
	.remove = store_delete,
	.visible = news_visible,
	.prepare = news_prepare,
	.check = news_check,
	.before_write = news_before_write,
	.written = news_written,
};

/* ---- the module ---- */

static int
news_init(portal_plugin *p, const struct portal_api *core)
{
	if (core->abi_version != PORTAL_ABI_VERSION || !PORTAL_API_HAS(core, list_rows)) {
		core->plugin_log(p, PORTAL_LOG_ERR, "the core's API table is older than this plugin");
		return PORTAL_ERROR;
	}
	api = core;
	if (api->item(p, &news_item) != PORTAL_OK)
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
