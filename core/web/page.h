/*
 * page.h - what the web layer's parts share (pages.c, the editor, sign-in):
 * one page being made, the templates and the words.  Not for plugins, not
 * for the server layer (core.h says what they may call).
 */
#ifndef PAGE_H
#define PAGE_H

#include "core.h"

struct page {
	struct core *c;
	struct portal_req *r;
	pages_api_fn api; /* the page's parts (and the editor's writes) through the JSON API */
	const char *lang;
	const char *module; /* the plugin whose templates are used, or "" */
	struct json_object *root;
	struct json_object *labels;
	int personal; /* the page is for one person (sign-in, the editor): never cached */
	int status;   /* a module's page: its status when not 200 (a filter's error: 422) */
};

extern struct json_object *catalogue; /* the core's words: {"sv": {...}, "da": ..., "en": ...} */

/* A template of `owner` (a plugin's name, or "" for the core's). */
const struct tmpl *pages_find(const char *owner, const char *name);
const struct tmpl *page_partial(void *ctx, const char *name);
/* ?lang=, else Accept-Language, else the municipality's first language. */
const char *page_lang(struct portal_req *r);
struct json_object *page_words(const portal_plugin *p, const char *lang);
const char *page_word(const portal_plugin *p, const char *lang, const char *key, const char *def);
/* The outermost context every template sees; `current` the module the
 * menu marks ("" the overview, NULL none). */
void page_root(struct page *pg, const char *current);
int page_render(struct page *pg, const struct tmpl *t, struct json_object *data, struct buf *out);
/* Wraps `content` in the layout and answers `status` as HTML. */
void page_send(struct page *pg, int status, const char *title, const char *content,
               const char *jsonld);
void page_error(struct page *pg, int status, const char *detail);
void page_static(struct portal_req *r, const char *body, const char *type);
/* 303 See Other to `location` (a local path), not stored by anyone. */
void page_redirect(struct portal_req *r, const char *location);
/* "base" in the root: the start of absolute links, from the configuration. */
void page_base(struct page *pg);

/* ---- account.c: sign-in, sessions, CSRF, users and tokens in the browser ---- */
/* /login and /logout: PORTAL_DONE when answered, PORTAL_DECLINED when the
 * path is not theirs. */
int account_dispatch(struct page *pg);
/* For every page under /edit/: the session's user in pg->r->user
 * (PORTAL_OK), or PORTAL_DONE after answering 303 to /login (no or an
 * expired session) or 503. */
int account_require(struct page *pg);
/* For every POST under /edit/ (and /logout): the form's `csrf` field is
 * the session's token and Origin / Sec-Fetch-Site say the form is this
 * site's.  PORTAL_OK, or PORTAL_DONE after answering 403. */
int account_csrf(struct page *pg, const struct form *f);
/* For every page under /edit/ after account_require: for /edit/{m}/...
 * of a configured municipality it sets r->muni and refuses (403 page,
 * PORTAL_DONE) a user with no role in {m}; it answers /edit/{m}/users and
 * /edit/{m}/tokens (an admin's pages: 403 for others).  PORTAL_DECLINED
 * when the page is not theirs (then r->muni is set when {m} is known). */
int account_admin(struct page *pg);
/* The signed-in user's role in r->muni (PORTAL_ROLE_NONE without either):
 * what the editor checks before showing a form (editor) or writing. */
int account_role(struct page *pg);
/* PORTAL_OK when account_role(pg) >= role, else PORTAL_DONE after a 403
 * page ("You do not have access to this page"). */
int account_need(struct page *pg, int role);
/* After page_root: root.user = {name, email, csrf} of the signed-in user,
 * for the sign-out form (templates/account_bar.html). */
void account_root(struct page *pg);
/* The value of cookie `name` in a Cookie header (the first of that name):
 * 1 with it in out, 0 when absent, malformed (not RFC 6265
 * cookie-octets), empty, or not shorter than outlen; a header longer than
 * 8 KiB is not looked at. */
int account_cookie_get(const char *header, const char *name, char *out, size_t outlen);
/* The request came over https (REQUEST_SCHEME https, or HTTPS on). */
int account_secure(struct portal_req *r);
/* A Set-Cookie value: HttpOnly, SameSite, Path, Max-Age, Secure behind
 * https. */
const char *account_cookie_line(struct portal_req *r, const char *name, const char *value,
                                const char *path, const char *samesite, long max_age);

/* ---- find.c: the search across modules ---- */
/* /{m}/search?q=: the page of GET /api/v1/{m}/search. */
void find_page(struct page *pg);

/* ---- edit.c: the editor, forms made from each module's declared fields ---- */
/* Everything under /edit/: PORTAL_DONE. */
int edit_dispatch(struct page *pg);

/* ---- form_doc.c: a posted form as the item's JSON document, and back ---- */
/* The document the form `f` gives for an item of `fields`, a new object
 * the request keeps (pool_keep_json): names are JSON paths
 * ("partner.name", "agreements[0].date", "description.sv", a date's
 * "X.year"/"X.month"/"X.day"), empty inputs are left out, arrays
 * compacted in index order, strict decimals made numbers.  A name that is
 * no field (nor "_...", "csrf", "version") and a date with a day but no
 * month or a month but no year are field errors (out_field_error), left
 * out of the document. */
struct json_object *form_doc(struct portal_req *r, const struct portal_field *fields,
                             const struct form *f);
/* The form's values for document `doc`: a flat object {name: text}
 * (dates split into X.year/X.month/X.day, booleans "true"/"false",
 * numbers in their shortest form, arrays by index; PF_READONLY members
 * left out), kept by the request, such that form_doc of them gives `doc`
 * again for a valid document. */
struct json_object *form_values(struct portal_req *r, const struct portal_field *fields,
                                struct json_object *doc);

/* ---- translate.c: the validators' messages in the reader's language ---- */
/* `english` (a message of the API's problem+json errors) in `lang` ("sv",
 * "da"; a region such as "sv-FI" counts as its language) by the patterns
 * of core/web/validation.json, in pool p; `english` itself for "en", an
 * unknown language or a message no pattern matches. */
const char *msg_translate(struct pool *p, const char *lang, const char *english);
/* The table, parsed once (msg_translate calls it): PORTAL_OK, or
 * PORTAL_ERROR when validation.json is no JSON object. */
int msg_init(void);
/* The printf placeholders (%s, %zu, %.0f, ...) in fmt; with lit, the n+1
 * literal pieces around them, malloc'd, at most max.  For the tests. */
size_t msg_placeholders(const char *fmt, char **lit, size_t max);

#endif /* PAGE_H */
