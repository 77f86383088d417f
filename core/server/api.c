/*
 * api.c - the table of core services handed to every plugin's init (after
 * SQLite's sqlite3_api_routines).  Each entry is a thin wrapper over the
 * core file that owns the concern.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core.h"


static void api_log(portal_req *r, int level, const char *fmt, ...) PORTAL_PRINTF(3, 4);
static void api_plugin_log(portal_plugin *p, int level, const char *fmt, ...) PORTAL_PRINTF(3, 4);
static char *api_printf(portal_req *r, const char *fmt, ...) PORTAL_PRINTF(2, 3);
static void api_field_error(portal_req *r, const char *field, const char *fmt, ...)
    PORTAL_PRINTF(3, 4);
static int api_problem(portal_req *r, int status, const char *fmt, ...) PORTAL_PRINTF(3, 4);

static void
api_set_data(portal_plugin *p, void *data)
{
	p->data = data;
}

static void
api_log(portal_req *r, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(level, r ? r->request_id : NULL, "%s: %s", r && r->plugin ? r->plugin->name : "-", msg);
}

static void
api_plugin_log(portal_plugin *p, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(level, NULL, "plugin %s: %s", p ? p->name : "-", msg);
}

static void *
api_plugin_data(portal_req *r)
{
	return r->plugin ? r->plugin->data : NULL;
}

static const char *
api_municipality(portal_req *r)
{
	return r->muni ? r->muni->slug : NULL;
}

static struct json_object *
api_body(portal_req *r)
{
	return r->body;
}

static int
api_role(portal_req *r)
{
	return r->role;
}

/* The override for this municipality, else the plugin's section. */
static config_setting_t *
api_setting_find(portal_req *r, const char *name, const struct portal_setting **decl)
{
	*decl = r->plugin ? plugin_setting(r->plugin, name) : NULL;
	if (*decl == NULL) {
		log_msg(PORTAL_LOG_ERR, r->request_id, "plugin %s reads undeclared setting \"%s\"",
		        r->plugin ? r->plugin->name : "-", name);
		return NULL;
	}
	config_setting_t *s = NULL;
	if (r->muni && r->muni->overrides) {
		config_setting_t *g = config_setting_get_member(r->muni->overrides, r->plugin->name);
		if (g)
			s = config_setting_get_member(g, name);
	}
	if (s == NULL && r->plugin->section)
		s = config_setting_get_member(r->plugin->section, name);
	return s;
}

static long long
api_setting_int(portal_req *r, const char *name)
{
	const struct portal_setting *d;
	config_setting_t *s = api_setting_find(r, name, &d);
	if (d == NULL)
		return 0;
	if (s == NULL)
		return d->def_int;
	return d->type == PS_BOOL ? config_setting_get_bool(s) : config_setting_get_int64(s);
}

static const char *
api_setting_str(portal_req *r, const char *name)
{
	const struct portal_setting *d;
	config_setting_t *s = api_setting_find(r, name, &d);
	if (d == NULL)
		return NULL;
	if (s == NULL || d->type != PS_STRING)
		return d->def_str;
	return config_setting_get_string(s);
}

static void *
api_alloc(portal_req *r, size_t n)
{
	return pool_alloc(r->pool, n);
}

static char *
api_strdup(portal_req *r, const char *s)
{
	return pool_strdup(r->pool, s);
}

static char *
api_printf(portal_req *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = pool_vprintf(r->pool, fmt, ap);
	va_end(ap);
	return s;
}

static struct json_object *
api_keep(portal_req *r, struct json_object *o)
{
	return pool_keep_json(r->pool, o);
}

static void
api_sink_error(void *ctx, const char *field, const char *msg)
{
	out_field_error(ctx, field, msg);
}

static int
api_validate(portal_req *r, const struct portal_field *schema, struct json_object *doc,
             const char *prefix)
{
	struct valid_sink sink = {r, api_sink_error};
	return valid_doc(schema, doc, prefix, &sink);
}

static void
api_field_error(portal_req *r, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = pool_vprintf(r->pool, fmt, ap);
	va_end(ap);
	out_field_error(r, field, msg);
}

static int
api_has_errors(portal_req *r)
{
	return r->errors != NULL && json_object_array_length(r->errors) > 0;
}

static int
api_respond(portal_req *r, int status, struct json_object *body)
{
	if (status < 200 || status > 599) {
		json_object_put(body);
		log_msg(PORTAL_LOG_ERR, r->request_id, "plugin answered invalid status %d", status);
		return PORTAL_ERROR;
	}
	out_json(r, status, body);
	return PORTAL_OK;
}

static void
api_set_header(portal_req *r, const char *name, const char *value)
{
	out_header(r, name, value);
}

static int
api_problem(portal_req *r, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *detail = pool_vprintf(r->pool, fmt, ap);
	va_end(ap);
	if (status < 400 || status > 599)
		status = 500;
	out_problem(r, status, detail);
	return PORTAL_OK;
}


/* "id-version", and for an item others link to, a fingerprint of those
 * links: the item's representation shows them ("linked"). */
static const char *
api_etag_value(portal_req *r, long long id, long long version)
{
	const char *fp = links_fingerprint(r, id);
	return pool_printf(r->pool, "\"%lld-%lld%s%s\"", id, version, fp ? fp : "",
	                   r->etag_part ? r->etag_part : "");
}

/* api->etag_part: a short hash of `text` joins the ETag of the item this
 * request answers. */
static void
api_etag_part(portal_req *r, const char *text)
{
	unsigned char h[6];
	char hex[2 * sizeof(h) + 1];
	crypto_generichash(h, sizeof(h), (const unsigned char *)(text ? text : ""),
	                   text ? strlen(text) : 0, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	r->etag_part = pool_printf(r->pool, "%s.%s", r->etag_part ? r->etag_part : "", hex);
}

static int
api_etag(portal_req *r, long long id, long long version)
{
	const char *tag = api_etag_value(r, id, version);
	out_header(r, "ETag", tag);
	if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) {
		const char *inm = req_header(r, "If-None-Match");
		if (inm && out_etag_listed(inm, tag, 1)) {
			r->status = 304;
			r->responded = 1;
			r->resp_json = NULL;
			r->content_type = NULL;
			return PORTAL_DONE;
		}
		return PORTAL_OK;
	}
	const char *im = req_header(r, "If-Match");
	if (im && !out_etag_listed(im, tag, 0)) {
		out_problem(r, 412, pool_printf(r->pool,
		                                "the item has changed since you read it; its ETag is now %s",
		                                tag));
		return PORTAL_DONE;
	}
	return PORTAL_OK;
}

static portal_stmt *
api_prepare(portal_req *r, const char *sql)
{
	portal_stmt *s = db_prepare(req_db(r), sql);
	if (s)
		db_stmt_set_pool(s, r->pool);
	return s;
}

static int
api_execute(portal_stmt *s)
{
	return db_execute(s);
}

static const char *
api_param(portal_req *r, const char *name)
{
	return req_param(r, name);
}

static const char *
api_query(portal_req *r, const char *name)
{
	return req_query(r, name);
}

static const char *
api_header(portal_req *r, const char *name)
{
	return req_header(r, name);
}

static void
api_set_etag(portal_req *r, long long id, long long version)
{
	out_header(r, "ETag", api_etag_value(r, id, version));
}

static const char *const *
api_languages(portal_req *r)
{
	static const char *const none[] = {NULL};
	return r->muni && r->muni->languages ? r->muni->languages : none;
}


static int
api_plugin_setup(portal_plugin *p, const struct portal_bundle *b)
{
	if (b->item != NULL && item_register(p, b->item) != PORTAL_OK)
		return PORTAL_ERROR;
	for (const struct portal_migration_src *m = b->migrations; m && m->sql; m++)
		if (plugin_migration_add(p, m->version, m->name, m->sql) != PORTAL_OK)
			return PORTAL_ERROR;
	if (b->openapi != NULL && *b->openapi && openapi_register(p, b->openapi) != PORTAL_OK) {
		api_plugin_log(p, PORTAL_LOG_ERR, "cannot register the OpenAPI fragment");
		return PORTAL_ERROR;
	}
	for (const struct portal_file *t = b->templates; t && t->name; t++)
		if (pages_register(p, t->name, t->text) != PORTAL_OK)
			return PORTAL_ERROR;
	if (b->messages != NULL && *b->messages && pages_messages(p, b->messages) != PORTAL_OK)
		return PORTAL_ERROR;
	return b->setup != NULL ? b->setup(p) : PORTAL_OK;
}

static const char *
api_member_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static const char *
api_member_date(struct json_object *o, const char *key)
{
	const char *s = api_member_str(o, key);
	return s && valid_partial_date(s) ? s : NULL;
}

static const char *
api_period(portal_req *r, const char *d, int last)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (d == NULL)
		return NULL;
	size_t n = strlen(d);
	if (n >= 10)
		return pool_printf(r->pool, "%.10s", d);
	if (!last)
		return pool_printf(r->pool, "%.4s-%.2s-01", d, n >= 7 ? d + 5 : "01");
	int y = atoi(d), m = n >= 7 ? atoi(d + 5) : 12;
	if (m < 1 || m > 12)
		m = 12; /* not a valid date: validate reported it */
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return pool_printf(r->pool, "%.4s-%02d-%02d", d, m, mdays[m - 1] + (m == 2 && leap));
}

static long long *
api_member_ids(portal_req *r, struct json_object *o, const char *key, size_t *n, int distinct)
{
	struct json_object *a = NULL;
	*n = 0;
	if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
		return NULL;
	size_t len = json_object_array_length(a);
	long long *ids = pool_alloc(r->pool, (len ? len : 1) * sizeof(*ids));
	for (size_t i = 0; i < len; i++) {
		struct json_object *v = json_object_array_get_idx(a, i);
		long long id = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
		size_t k = 0;
		while (distinct && k < *n && ids[k] != id)
			k++;
		if (id > 0 && (!distinct || k == *n))
			ids[(*n)++] = id;
	}
	return ids;
}

static char *
api_markdown(portal_req *r, const char *md)
{
	return markdown_html(r->pool, md);
}

static char *
api_slugify(portal_req *r, const char *title, size_t max)
{
	return slug_make(r->pool, title, max);
}

/* Member `member` of `doc` is a slug of at most `max` bytes, else a field
 * error; not when the core's PF_STRING check already refused the string
 * (too long, a control character, only white space), so that a slug error
 * is not reported twice. */
static void
api_slug_check(portal_req *r, struct json_object *doc, const char *member, size_t max)
{
	const char *v = api_member_str(doc, member);
	if (v == NULL || strlen(v) > max || slug_valid(v, max))
		return;
	int text = 0;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return;
		if (*p != ' ')
			text = 1;
	}
	if (text)
		out_field_error(r, member,
		                pool_printf(r->pool,
		                            "must be a-z, 0-9 and hyphens (not first or last), at most %zu bytes",
		                            max));
}

/* api->slug_derive's question, through slug_derive: the module's taken(). */
struct api_slug_ask {
	int (*taken)(portal_req *r, const char *slug);
};

static int
api_slug_taken(portal_req *r, const void *arg, const char *slug)
{
	return ((const struct api_slug_ask *)arg)->taken(r, slug);
}

static int
api_slug_derive(portal_req *r, struct json_object *doc, const char *title, size_t max,
                int (*taken)(portal_req *r, const char *slug))
{
	const struct api_slug_ask ask = {taken};
	return slug_derive(r, doc, "slug", "title", title, max, api_slug_taken, &ask);
}

static void *
api_ctx(portal_req *r, portal_plugin *p)
{
	if (r == NULL || p == NULL || p->index >= r->nplugin_ctx)
		return NULL;
	return r->plugin_ctx[p->index];
}

static void
api_set_ctx(portal_req *r, portal_plugin *p, void *data)
{
	if (r == NULL || p == NULL)
		return;
	if (p->index >= r->nplugin_ctx) {
		size_t n = r->core && r->core->plugins ? r->core->plugins->count : 0;
		if (n <= p->index)
			n = p->index + 1;
		void **slots = pool_alloc(r->pool, n * sizeof(*slots));
		for (size_t i = 0; i < r->nplugin_ctx; i++)
			slots[i] = r->plugin_ctx[i];
		r->plugin_ctx = slots;
		r->nplugin_ctx = n;
	}
	r->plugin_ctx[p->index] = data;
}

const struct portal_api api_table = {
	.abi_version = PORTAL_ABI_VERSION,
	.size = sizeof(struct portal_api),
	.route = plugin_route_add,
	.migration = plugin_migration_add,
	.set_data = api_set_data,
	.log = api_log,
	.plugin_log = api_plugin_log,
	.plugin_data = api_plugin_data,
	.municipality = api_municipality,
	.param = api_param,
	.query = api_query,
	.header = api_header,
	.body = api_body,
	.role = api_role,
	.setting_int = api_setting_int,
	.setting_str = api_setting_str,
	.alloc = api_alloc,
	.strdup = api_strdup,
	.printf = api_printf,
	.keep = api_keep,
	.validate = api_validate,
	.field_error = api_field_error,
	.has_errors = api_has_errors,
	.merge_patch = valid_merge_patch,
	.respond = api_respond,
	.set_header = api_set_header,
	.problem = api_problem,
	.etag = api_etag,
	.cursor_encode = paging_cursor_encode,
	.cursor_decode = paging_cursor_decode,
	.limit = paging_limit,
	.prepare = api_prepare,
	.bind_text = db_bind_text,
	.bind_int = db_bind_int,
	.bind_double = db_bind_double,
	.bind_null = db_bind_null,
	.execute = api_execute,
	.fetch = db_fetch,
	.col_text = db_col_text,
	.col_int = db_col_int,
	.col_double = db_col_double,
	.col_is_null = db_col_is_null,
	.col_json = db_col_json,
	.insert_id = db_insert_id,
	.affected = db_affected,
	.done = db_done,
	.audit = audit_record,
	.is_country = valid_country,
	.is_partial_date = valid_partial_date,
	.set_etag = api_set_etag,
	.link_target = links_target,
	.link_exists = links_exists,
	.link_set = links_set,
	.link_forget = links_forget,
	.links_to = links_to,
	.openapi = openapi_register,
	.search_fold = search_fold,
	.search_terms = search_terms,
	.link_guard = links_guard,
	.is_duplicate = db_is_duplicate,
	.stopped = db_stopped,
	.is_lang = valid_lang,
	.languages = api_languages,
	.template = pages_register,
	.messages = pages_messages,
	.item = item_register,
	.bind_member_text = item_bind_text,
	.bind_member_int = item_bind_int,
	.bind_member_double = item_bind_double,
	.bind_member_json = item_bind_json,
	.by_id_row = item_by_id_row,
	.by_id_exec = item_by_id_exec,
	.list_rows = item_list_rows,
	.parse_id = item_parse_id,
	.plugin_setup = api_plugin_setup,
	.member_str = api_member_str,
	.date_cmp = valid_date_cmp,
	.period = api_period,
	.member_ids = api_member_ids,
	.row_object = store_row_object,
	.bind_members = store_bind_object,
	.markdown = api_markdown,
	.slugify = api_slugify,
	.is_slug = slug_valid,
	.slug_derive = api_slug_derive,
	.link_visible = links_visible,
	.etag_part = api_etag_part,
	.media = media_record,
	.ctx = api_ctx,
	.set_ctx = api_set_ctx,
	.files_check = files_check,
	.files_link = files_link,
	.file_entry = file_entry,
	.slug_check = api_slug_check,
	.member_date = api_member_date,
};
