/*
 * page.c - what every page of the web layer is made with: the templates
 * (the core's and the plugins'), the words, the language, the outermost
 * context, the layout and the error page.  pages.c (citizens' pages), the
 * editor (edit.c) and sign-in (account.c) all use it; it calls none of
 * them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"
#include "page.h"

extern const struct portal_file core_templates[];
extern const char core_messages[];

struct page_tmpl {
	char *owner; /* plugin name, or "" for the core */
	struct tmpl *t;
	const portal_plugin *plugin;
	struct page_tmpl *next;
};

static struct page_tmpl *templates;
struct json_object *catalogue; /* {"sv": {...}, "da": {...}, "en": {...}} */

static int
pages_add(const char *owner, const portal_plugin *p, const char *name, const char *text)
{
	char err[300];
	struct tmpl *t = tmpl_compile(name, text, err, sizeof(err));
	if (t == NULL) {
		log_msg(PORTAL_LOG_ERR, NULL, "template %s%s%s", owner, *owner ? "/" : "", err);
		return PORTAL_ERROR;
	}
	struct page_tmpl *pt = calloc(1, sizeof(*pt));
	if (pt == NULL || (pt->owner = strdup(owner)) == NULL) {
		free(pt);
		tmpl_free(t);
		return PORTAL_ERROR;
	}
	pt->t = t;
	pt->plugin = p;
	pt->next = templates;
	templates = pt;
	return PORTAL_OK;
}

int
pages_init(void)
{
	if (catalogue != NULL)
		return PORTAL_OK;
	catalogue = json_tokener_parse(core_messages);
	if (catalogue == NULL) {
		log_msg(PORTAL_LOG_ERR, NULL, "core/web/messages.json is not valid JSON");
		return PORTAL_ERROR;
	}
	for (const struct portal_file *f = core_templates; f->name; f++)
		if (pages_add("", NULL, f->name, f->text) != PORTAL_OK)
			return PORTAL_ERROR;
	if (tmpl_names_init() != PORTAL_OK)
		return PORTAL_ERROR;
	return map_init();
}

int
pages_register(portal_plugin *p, const char *name, const char *text)
{
	if (p == NULL || !p->in_init || name == NULL || text == NULL || strchr(name, '/'))
		return PORTAL_ERROR;
	return pages_add(p->name, p, name, text);
}

int
pages_messages(portal_plugin *p, const char *json)
{
	if (p == NULL || !p->in_init || json == NULL)
		return PORTAL_ERROR;
	struct json_object *o = json_tokener_parse(json);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		log_msg(PORTAL_LOG_ERR, NULL, "plugin %s: its messages are not a JSON object "
		                              "{\"sv\": {...}, ...}", p->name);
		return PORTAL_ERROR;
	}
	json_object_put(p->messages);
	p->messages = o;
	return PORTAL_OK;
}

void
pages_forget(const portal_plugin *p)
{
	struct page_tmpl **pp = &templates;
	while (*pp) {
		struct page_tmpl *t = *pp;
		if (t->plugin == p) {
			*pp = t->next;
			tmpl_free(t->t);
			free(t->owner);
			free(t);
		} else {
			pp = &t->next;
		}
	}
}

const struct tmpl *
pages_find(const char *owner, const char *name)
{
	for (struct page_tmpl *t = templates; t; t = t->next)
		if (strcmp(t->owner, owner) == 0 && strcmp(tmpl_name(t->t), name) == 0)
			return t->t;
	return NULL;
}

/* ---- one page (struct page: page.h) ---- */

const struct tmpl *
page_partial(void *ctx, const char *name)
{
	struct page *pg = ctx;
	const struct tmpl *t = pages_find(pg->module, name);
	return t ? t : pages_find("", name);
}

static int
page_has_lang(const char *lang)
{
	return lang && json_object_object_get_ex(catalogue, lang, NULL);
}

const char *
page_lang(struct portal_req *r)
{
	const char *q = req_query(r, "lang");
	if (page_has_lang(q))
		return q;
	const char *al = req_header(r, "Accept-Language");
	while (al && *al) {
		while (*al == ' ' || *al == ',')
			al++;
		char tag[4] = "";
		size_t n = 0;
		while (n < 3 && isalpha((unsigned char)al[n])) {
			tag[n] = (char)tolower((unsigned char)al[n]);
			n++;
		}
		tag[n] = '\0';
		if (page_has_lang(tag))
			return pool_strdup(r->pool, tag);
		al = strchr(al, ',');
	}
	if (r->muni)
		for (size_t i = 0; i < r->muni->nlanguages; i++)
			if (page_has_lang(r->muni->languages[i]))
				return r->muni->languages[i];
	return "en";
}

struct json_object *
page_words(const portal_plugin *p, const char *lang)
{
	struct json_object *w;
	if (p && p->messages && json_object_object_get_ex(p->messages, lang, &w))
		return w;
	return NULL;
}

const char *
page_word(const portal_plugin *p, const char *lang, const char *key, const char *def)
{
	struct json_object *w = page_words(p, lang), *v;
	if (w && json_object_object_get_ex(w, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return def;
}

/* The outermost context every template sees. */
void
page_root(struct page *pg, const char *current)
{
	struct portal_req *r = pg->r;
	struct json_object *root = pool_keep_json(r->pool, json_object_new_object());
	json_object_object_add(root, "lang", json_object_new_string(pg->lang));
	json_object_object_add(root, "t", json_object_get(json_object_object_get(catalogue, pg->lang)));
	if (r->muni) {
		struct json_object *m = json_object_new_object(), *nav = json_object_new_array();
		json_object_object_add(m, "slug", json_object_new_string(r->muni->slug));
		json_object_object_add(m, "name", json_object_new_string(r->muni->name));
		json_object_object_add(m, "country", json_object_new_string(r->muni->country));
		if (r->muni->wikidata)
			json_object_object_add(m, "wikidata", json_object_new_string(r->muni->wikidata));
		if (r->muni->has_place) {
			/* as text: "%g" keeps 60.48 from becoming 60.479999999999997 */
			json_object_object_add(m, "lat", json_object_new_string(pool_printf(r->pool, "%g", r->muni->lat)));
			json_object_object_add(m, "lon", json_object_new_string(pool_printf(r->pool, "%g", r->muni->lon)));
		}
		if (r->muni->logo)
			json_object_object_add(m, "logo", json_object_new_string(r->muni->logo));
		for (size_t i = 0; i < r->muni->nmodules; i++) {
			portal_plugin *p = plugin_find(pg->c->plugins, r->muni->modules[i]);
			if (p == NULL || pages_find(p->name, "list.html") == NULL)
				continue;
			struct json_object *e = json_object_new_object();
			json_object_object_add(e, "title", json_object_new_string(page_word(p, pg->lang, "title", p->name)));
			json_object_object_add(e, "href", json_object_new_string(
			    pool_printf(r->pool, "/%s/%s/?lang=%s", r->muni->slug, p->name, pg->lang)));
			json_object_object_add(e, "current", json_object_new_boolean(current && strcmp(current, p->name) == 0));
			json_object_array_add(nav, e);
		}
		json_object_object_add(m, "nav", nav);
		/* the data's licence (the municipality's `license`) */
		json_object_object_add(m, "license", json_object_new_string(r->muni->license));
		json_object_object_add(m, "license_name", json_object_new_string(
		                                             strcmp(r->muni->license, CONF_LICENSE_DEFAULT) == 0
		                                                 ? "CC0 1.0"
		                                                 : r->muni->license));
		json_object_object_add(m, "home_current", json_object_new_boolean(current && *current == '\0'));
		json_object_object_add(root, "municipality", m);
	}
	/* the same page in every language the catalogues have; the path
	 * without its leading slashes (and backslashes, which browsers take
	 * for slashes), so that "//evil.example/x" never becomes a
	 * protocol-relative link */
	const char *here = r->path ? r->path : "/";
	here += strspn(here, "/\\");
	struct json_object *langs = json_object_new_array();
	json_object_object_foreach(catalogue, code, words) {
		struct json_object *e = json_object_new_object(), *self;
		json_object_object_add(e, "code", json_object_new_string(code));
		json_object_object_add(e, "label", json_object_object_get_ex(words, "language_name", &self)
		                                       ? json_object_get(self)
		                                       : json_object_new_string(code));
		json_object_object_add(e, "href", json_object_new_string(pool_printf(r->pool, "/%s?lang=%s", here, code)));
		json_object_object_add(e, "current", json_object_new_boolean(strcmp(code, pg->lang) == 0));
		json_object_array_add(langs, e);
	}
	json_object_object_add(root, "langs", langs);
	pg->root = root;
}

int
page_render(struct page *pg, const struct tmpl *t, struct json_object *data, struct buf *out)
{
	struct tmpl_env env = {pg->lang, pg->r->muni && pg->r->muni->nlanguages ? pg->r->muni->languages[0] : "en",
	                       json_object_object_get(catalogue, pg->lang), pg->labels, pg->root,
	                       page_partial, pg};
	return tmpl_render(t, data, &env, out);
}

/* "base" in the root: the start of absolute links in feeds, exports and
 * JSON-LD.  From the configuration (the municipality's public_url, else
 * core.public_url), never from the Host header a client sends; without
 * either, the server name and port nginx is configured with (SERVER_NAME,
 * SERVER_PORT), else localhost. */
void
page_base(struct page *pg)
{
	struct portal_req *r = pg->r;
	const char *url = r->muni && r->muni->public_url ? r->muni->public_url : pg->c->conf->public_url;
	const char *base;
	if (url) {
		size_t n = strlen(url);
		while (n > 0 && url[n - 1] == '/')
			n--;
		base = pool_strndup(r->pool, url, n);
	} else {
		const char *scheme = r->io->param(r->io->ctx, "REQUEST_SCHEME");
		const char *name = r->io->param(r->io->ctx, "SERVER_NAME");
		const char *port = r->io->param(r->io->ctx, "SERVER_PORT");
		int https = scheme && strcmp(scheme, "https") == 0;
		static const char host_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
		if (name == NULL || *name == '\0' || strlen(name) > 253 || strspn(name, host_chars) != strlen(name))
			name = "localhost";
		if (port == NULL || *port == '\0' || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port) ||
		    strcmp(port, https ? "443" : "80") == 0)
			port = NULL;
		base = pool_printf(r->pool, "%s://%s%s%s", https ? "https" : "http", name, port ? ":" : "",
		                   port ? port : "");
	}
	json_object_object_add(pg->root, "base", json_object_new_string(base));
}

/* Wraps `content` in the layout and answers 200/404/... as HTML. */
void
page_send(struct page *pg, int status, const char *title, const char *content, const char *jsonld)
{
	struct portal_req *r = pg->r;
	struct json_object *d = pool_keep_json(r->pool, json_object_new_object());
	json_object_object_add(d, "title", json_object_new_string(title ? title : ""));
	json_object_object_add(d, "content", json_object_new_string(content ? content : ""));
	if (jsonld && *jsonld)
		json_object_object_add(d, "jsonld", json_object_new_string(jsonld));
	struct buf b;
	buf_init(&b, r->pool);
	if (page_render(pg, pages_find("", "layout.html"), d, &b) != PORTAL_OK) {
		out_problem(r, 500, "the page could not be rendered");
		return;
	}
	r->status = status;
	r->responded = 1;
	r->content_type = "text/html";
	r->resp_raw = b.data;
	r->resp_raw_len = b.len;
	out_header(r, "Content-Security-Policy",
	           "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
	           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
	out_header(r, "X-Frame-Options", "DENY");
	out_header(r, "Referrer-Policy", "strict-origin-when-cross-origin");
	out_header(r, "Content-Language", pg->lang);
	out_header(r, "Vary", "Accept-Language, Authorization");
	/* a signed-in user's pages (the editor, sign-in) are theirs alone */
	out_header(r, "Cache-Control", status == 200 && req_header(r, "Authorization") == NULL &&
	                                       r->user == NULL && !pg->personal
	                                   ? "public, max-age=60"
	                                   : "private, no-store");
}

void
page_error(struct page *pg, int status, const char *detail)
{
	struct json_object *t = json_object_object_get(catalogue, pg->lang);
	struct json_object *d = pool_keep_json(pg->r->pool, json_object_new_object());
	const char *heading = json_object_get_string(json_object_object_get(t, status == 404 ? "not_found" : "error"));
	json_object_object_add(d, "heading", json_object_new_string(heading));
	json_object_object_add(d, "text", json_object_get(json_object_object_get(t, status == 404 ? "not_found_text" : "error_text")));
	if (detail && status < 500 && status != 404)
		json_object_object_add(d, "detail", json_object_new_string(detail));
	struct buf b;
	buf_init(&b, pg->r->pool);
	page_render(pg, pages_find("", "error.html"), d, &b);
	page_send(pg, status, heading, b.data, NULL);
	if (status == 503)
		out_header(pg->r, "Retry-After", "5");
}

