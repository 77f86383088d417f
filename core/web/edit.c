/*
 * edit.c - the editor: /edit/ pages whose forms are made from each
 * module's declared fields (struct portal_item's schema), so a new module
 * gets its editor without writing HTML.
 *
 *   /edit/                               what the user may edit
 *   /edit/{m}/                           the same, for one municipality
 *   /edit/{m}/{module}/                  the items, drafts included
 *   /edit/{m}/{module}/new               a form for a new item
 *   /edit/{m}/{module}/{id}              the item's form (with its version)
 *   /edit/{m}/{module}/{id}/delete       asks before deleting
 *   /edit/{m}/{module}/{id}/history      who changed what; restore a version
 *   /edit/{m}/users, /edit/{m}/tokens    an admin's (account.c)
 *
 * One write path: a save is a POST, PATCH or DELETE of the JSON API made
 * as the signed-in user (pages_call), so validation, links, audit, cache
 * and its messages are the API's.  Field names are the JSON paths its
 * errors use (form_doc.c turns a form into the item's document).  Arrays
 * of objects are added to, removed from and reordered by submit buttons
 * (`_action`) that render the form again: no JavaScript anywhere.  Forms
 * follow the GOV.UK Design System: an error summary linking to each field,
 * the message beside its field, the input kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "page.h"

extern const char core_edit_words[];

static struct json_object *edit_words_all; /* edit_words.json, parsed once */

/* ---- words ---- */

/* edit_words.json, parsed at its first use (in each worker; it lives as
 * long as the process). */
static struct json_object *
ew_all(void)
{
	if (edit_words_all == NULL)
		edit_words_all = json_tokener_parse(core_edit_words);
	return edit_words_all;
}

static const char *
ew(struct page *pg, const char *key)
{
	struct json_object *l, *v;
	if ((json_object_object_get_ex(ew_all(), pg->lang, &l) ||
	     json_object_object_get_ex(ew_all(), "en", &l)) &&
	    json_object_object_get_ex(l, key, &v))
		return json_object_get_string(v);
	return key;
}

/* A word for `name` (a member, a code): the module's, else the editor's
 * catalogue `section` ("fields", "codes"), else the name made readable
 * ("labour_market" -> "Labour market"). */
static const char *
ew_named(struct page *pg, const portal_plugin *p, const char *section, const char *name)
{
	const char *w = page_word(p, pg->lang, name, NULL);
	struct json_object *c, *l, *v;
	if (w)
		return w;
	if (json_object_object_get_ex(ew_all(), section, &c) &&
	    (json_object_object_get_ex(c, pg->lang, &l) || json_object_object_get_ex(c, "en", &l)) &&
	    json_object_object_get_ex(l, name, &v))
		return json_object_get_string(v);
	char *s = pool_strdup(pg->r->pool, name);
	for (char *x = s; *x; x++)
		if (*x == '_')
			*x = ' ';
	if (*s >= 'a' && *s <= 'z')
		*s = (char)(*s - 'a' + 'A');
	return s;
}

/* A field's label ("start_date" -> "Start date" at the least). */
static const char *
ew_field(struct page *pg, const portal_plugin *p, const char *name)
{
	return ew_named(pg, p, "fields", name);
}

/* A code's word ("labour_market"). */
static const char *
ew_code(struct page *pg, const portal_plugin *p, const char *code)
{
	return ew_named(pg, p, "codes", code);
}

/* ---- HTML ---- */

static void
esc(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': buf_puts(b, "&amp;"); break;
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&#39;"); break;
		default: buf_add(b, s, 1);
		}
	}
}

/* One editor page being made. */
struct ed {
	struct page *pg;
	struct portal_req *r;
	portal_plugin *p;             /* the module, or NULL */
	const struct portal_item *it; /* its declaration */
	int role;                     /* the user's in r->muni */
	struct buf b;                 /* the content */
	struct json_object *vals;     /* {path: text}: what the fields show */
	struct json_object *errs;     /* {path: message} */
	struct json_object *links;    /* x-portal-links of the module: {"a[].b": "module"} */
	struct json_object *opts;     /* {module: [{"id", "label"}]} the link choices */
	const char *base;             /* "/edit/{m}/{module}" */
	int preview;                  /* render Markdown previews */
};

static struct json_object *ed_form_uploads(struct ed *e, struct form *f);

static const char *
ed_val(struct ed *e, const char *path)
{
	struct json_object *v;
	if (json_object_object_get_ex(e->vals, path, &v))
		return json_object_get_string(v);
	return "";
}

static const char *
ed_err(struct ed *e, const char *path)
{
	struct json_object *v;
	if (e->errs && json_object_object_get_ex(e->errs, path, &v))
		return json_object_get_string(v);
	return NULL;
}

/* id="f-PATH", and the error's wiring when the field has one. */
static void
ed_attrs(struct ed *e, const char *path, const char *id_suffix, int first)
{
	buf_puts(&e->b, " id=\"f-");
	esc(&e->b, path);
	esc(&e->b, id_suffix);
	buf_puts(&e->b, "\"");
	if (first && ed_err(e, path)) {
		buf_puts(&e->b, " aria-invalid=\"true\" aria-describedby=\"f-");
		esc(&e->b, path);
		buf_puts(&e->b, "-error\"");
	}
}

static void
ed_error_message(struct ed *e, const char *path)
{
	const char *m = ed_err(e, path);
	if (m == NULL)
		return;
	buf_puts(&e->b, "<p class=\"error-message\" id=\"f-");
	esc(&e->b, path);
	buf_puts(&e->b, "-error\"><span class=\"visually-hidden\">");
	esc(&e->b, ew(e->pg, "error_prefix"));
	buf_puts(&e->b, "</span> ");
	esc(&e->b, m);
	buf_puts(&e->b, "</p>\n");
}

/* "agreements[2].date" -> "agreements[].date": the shape x-portal-links names. */
static const char *
ed_shape(struct ed *e, const char *path)
{
	struct buf b;
	buf_init(&b, e->r->pool);
	for (const char *s = path; *s; s++) {
		buf_add(&b, s, 1);
		if (*s == '[') {
			while (s[1] >= '0' && s[1] <= '9')
				s++;
		}
	}
	buf_add(&b, "", 1);
	return b.data;
}

static const char *
ed_link_target(struct ed *e, const char *path)
{
	struct json_object *v;
	if (e->links && json_object_object_get_ex(e->links, ed_shape(e, path), &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* An item's title as its module's title.txt makes it. */
static const char *
ed_title(struct page *pg, const portal_plugin *p, struct json_object *item)
{
	const struct tmpl *t = p ? pages_find(p->name, "title.txt") : NULL;
	struct json_object *id;
	if (t) {
		struct buf b;
		buf_init(&b, pg->r->pool);
		const char *module = pg->module;
		pg->module = p->name;
		int rc = page_render(pg, t, item, &b);
		pg->module = module;
		if (rc == PORTAL_OK && b.len > 0) {
			buf_add(&b, "", 1);
			char *s = b.data;
			while (*s == ' ' || *s == '\n')
				s++;
			size_t n = strlen(s);
			while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
				s[--n] = '\0';
			if (*s)
				return s;
		}
	}
	if (json_object_object_get_ex(item, "id", &id))
		return pool_printf(pg->r->pool, "%s %s", ew(pg, "item"), json_object_get_string(id));
	return ew(pg, "item");
}

static const char *
ed_or(const char *s, const char *otherwise)
{
	return s ? s : otherwise;
}

/* The municipality's items of `module` a link may point at. */
static struct json_object *
ed_options(struct ed *e, const char *module)
{
	struct json_object *o;
	if (json_object_object_get_ex(e->opts, module, &o))
		return o;
	o = json_object_new_array();
	json_object_object_add(e->opts, module, o);
	/* a module's items, or the core's own lists of the same shape (the
	 * municipality's files: "media") */
	portal_plugin *tp = plugin_find(e->pg->c->plugins, module);
	if (tp ? !conf_muni_has_module(e->r->muni, module) : strcmp(module, "media") != 0)
		return o;
	struct pages_call call = {
	    .path = pool_printf(e->r->pool, "/api/v1/%s/%s", e->r->muni->slug, module),
	    .query = "limit=100"};
	struct portal_req *sub = e->pg->api(e->pg->c, e->r, &call);
	struct json_object *items;
	if (sub->status != 200 || sub->resp_json == NULL ||
	    !json_object_object_get_ex(sub->resp_json, "items", &items))
		return o;
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i), *id;
		if (!json_object_object_get_ex(it, "id", &id))
			continue;
		struct json_object *opt = json_object_new_object();
		json_object_object_add(opt, "id", json_object_new_string(json_object_get_string(id)));
		const char *label = tp ? ed_title(e->pg, tp, it)
		                       : pool_printf(e->r->pool, "%s (%s)",
		                                     ed_or(json_object_get_string(json_object_object_get(it, "name")),
		                                            json_object_get_string(id)),
		                                     ed_or(json_object_get_string(json_object_object_get(it, "type")), "?"));
		json_object_object_add(opt, "label", json_object_new_string(label));
		json_object_array_add(o, opt);
	}
	return o;
}

/* How many elements the array at `path` shows: its highest index plus
 * one, or the count the form carried (_n.PATH), whichever is more. */
static size_t
ed_count(struct ed *e, const char *path)
{
	size_t n = 0, plen = strlen(path);
	const char *hint = ed_val(e, pool_printf(e->r->pool, "_n.%s", path));
	if (*hint)
		n = (size_t)strtoul(hint, NULL, 10);
	json_object_object_foreach(e->vals, key, val) {
		(void)val;
		if (strncmp(key, path, plen) == 0 && key[plen] == '[') {
			size_t i = (size_t)strtoul(key + plen + 1, NULL, 10);
			if (i + 1 > n)
				n = i + 1;
		}
	}
	return n > 1000 ? 1000 : n;
}

/* 1 when some path key[i] with `prefix` "X[" has the value `v`. */
static int
ed_has_value(struct ed *e, const char *path, const char *v)
{
	size_t plen = strlen(path);
	json_object_object_foreach(e->vals, key, val) {
		if (strncmp(key, path, plen) == 0 && key[plen] == '[' &&
		    strcmp(json_object_get_string(val), v) == 0)
			return 1;
	}
	return 0;
}

static void ed_field(struct ed *e, const struct portal_field *f, const char *path);

static void
ed_label(struct ed *e, const struct portal_field *f, const char *path, const char *for_suffix)
{
	buf_puts(&e->b, "<label class=\"label\" for=\"f-");
	esc(&e->b, path);
	esc(&e->b, for_suffix);
	buf_puts(&e->b, "\">");
	esc(&e->b, ew_field(e->pg, e->p, f->name));
	if (!(f->flags & PF_REQUIRED)) {
		buf_puts(&e->b, " <span class=\"optional\">");
		esc(&e->b, ew(e->pg, "optional"));
		buf_puts(&e->b, "</span>");
	}
	buf_puts(&e->b, "</label>\n");
}

static void
ed_legend(struct ed *e, const char *text, int optional)
{
	buf_puts(&e->b, "<legend>");
	esc(&e->b, text);
	if (optional) {
		buf_puts(&e->b, " <span class=\"optional\">");
		esc(&e->b, ew(e->pg, "optional"));
		buf_puts(&e->b, "</span>");
	}
	buf_puts(&e->b, "</legend>\n");
}

static void
ed_group_open(struct ed *e, const char *path)
{
	buf_puts(&e->b, ed_err(e, path) ? "<div class=\"group group-error\">\n" : "<div class=\"group\">\n");
}

/* A select of `n` codes (labels through the module's words). */
static void
ed_select(struct ed *e, const char *path, const char *const *values, struct json_object *opts,
          int required)
{
	const char *cur = ed_val(e, path);
	buf_puts(&e->b, "<select class=\"select\" name=\"");
	esc(&e->b, path);
	buf_puts(&e->b, "\"");
	ed_attrs(e, path, "", 1);
	buf_puts(&e->b, ">\n<option value=\"\"");
	if (!*cur)
		buf_puts(&e->b, " selected");
	buf_puts(&e->b, ">");
	esc(&e->b, required ? ew(e->pg, "choose") : "—");
	buf_puts(&e->b, "</option>\n");
	int found = !*cur;
	for (size_t i = 0; values && values[i]; i++) {
		buf_puts(&e->b, "<option value=\"");
		esc(&e->b, values[i]);
		buf_puts(&e->b, "\"");
		if (strcmp(values[i], cur) == 0) {
			buf_puts(&e->b, " selected");
			found = 1;
		}
		buf_puts(&e->b, ">");
		esc(&e->b, ew_code(e->pg, e->p, values[i]));
		buf_puts(&e->b, "</option>\n");
	}
	for (size_t i = 0; opts && i < json_object_array_length(opts); i++) {
		struct json_object *o = json_object_array_get_idx(opts, i);
		const char *id = json_object_get_string(json_object_object_get(o, "id"));
		buf_puts(&e->b, "<option value=\"");
		esc(&e->b, id);
		buf_puts(&e->b, "\"");
		if (strcmp(id, cur) == 0) {
			buf_puts(&e->b, " selected");
			found = 1;
		}
		buf_puts(&e->b, ">");
		esc(&e->b, json_object_get_string(json_object_object_get(o, "label")));
		buf_puts(&e->b, "</option>\n");
	}
	if (!found) { /* what the user sent, kept even when it is no choice */
		buf_puts(&e->b, "<option selected value=\"");
		esc(&e->b, cur);
		buf_puts(&e->b, "\">");
		esc(&e->b, cur);
		buf_puts(&e->b, "</option>\n");
	}
	buf_puts(&e->b, "</select>\n");
}

/* A text box named PATH+name_suffix, with the id f-PATH+id_suffix (the
 * first box of a field carries the error's wiring). */
static void
ed_input(struct ed *e, const char *path, const char *name_suffix, const char *id_suffix,
         const char *cls, const char *extra)
{
	const char *full = pool_printf(e->r->pool, "%s%s", path, name_suffix);
	buf_puts(&e->b, "<input class=\"");
	buf_puts(&e->b, cls);
	buf_puts(&e->b, "\" type=\"text\" name=\"");
	esc(&e->b, full);
	buf_puts(&e->b, "\" value=\"");
	esc(&e->b, ed_val(e, full));
	buf_puts(&e->b, "\"");
	ed_attrs(e, path, id_suffix, *id_suffix == '\0');
	if (extra)
		buf_puts(&e->b, extra);
	buf_puts(&e->b, ">\n");
}

static void
ed_textarea(struct ed *e, const char *path, int rows)
{
	buf_printf(&e->b, "<textarea class=\"textarea\" rows=\"%d\" name=\"", rows);
	esc(&e->b, path);
	buf_puts(&e->b, "\"");
	ed_attrs(e, path, "", 1);
	buf_puts(&e->b, ">");
	esc(&e->b, ed_val(e, path));
	buf_puts(&e->b, "</textarea>\n");
}

static void
ed_button(struct ed *e, const char *action, const char *path, const char *text, const char *what)
{
	buf_puts(&e->b, "<button class=\"button button-secondary\" type=\"submit\" name=\"_action\" value=\"");
	esc(&e->b, action);
	buf_puts(&e->b, ":");
	esc(&e->b, path);
	buf_puts(&e->b, "\">");
	esc(&e->b, text);
	if (what) {
		buf_puts(&e->b, "<span class=\"visually-hidden\"> ");
		esc(&e->b, what);
		buf_puts(&e->b, "</span>");
	}
	buf_puts(&e->b, "</button>\n");
}

/* A partial date: year, month, day (GOV.UK's date input, year first as
 * dates are written here). */
static void
ed_date(struct ed *e, const struct portal_field *f, const char *path)
{
	static const char *const parts[] = {".year", ".month", ".day"};
	static const char *const words[] = {"year", "month", "day"};
	ed_group_open(e, path);
	buf_puts(&e->b, "<fieldset class=\"fieldset\" role=\"group\" aria-describedby=\"f-");
	esc(&e->b, path);
	buf_puts(&e->b, "-hint");
	if (ed_err(e, path)) {
		buf_puts(&e->b, " f-");
		esc(&e->b, path);
		buf_puts(&e->b, "-error");
	}
	buf_puts(&e->b, "\">\n");
	ed_legend(e, ew_field(e->pg, e->p, f->name), !(f->flags & PF_REQUIRED));
	buf_puts(&e->b, "<p class=\"hint\" id=\"f-");
	esc(&e->b, path);
	buf_puts(&e->b, "-hint\">");
	esc(&e->b, ew(e->pg, "date_hint"));
	buf_puts(&e->b, "</p>\n");
	ed_error_message(e, path);
	buf_puts(&e->b, "<div class=\"date-input\">\n");
	for (int i = 0; i < 3; i++) {
		buf_puts(&e->b, "<div class=\"date-part\"><label class=\"label\" for=\"f-");
		esc(&e->b, path);
		if (i > 0)
			esc(&e->b, parts[i]);
		buf_puts(&e->b, "\">");
		esc(&e->b, ew(e->pg, words[i]));
		buf_puts(&e->b, "</label>\n");
		/* the first box carries the field's id, so the summary's link lands there */
		ed_input(e, path, parts[i], i == 0 ? "" : parts[i],
		         i == 0 ? "input width-4" : "input width-2", " inputmode=\"numeric\"");
		buf_puts(&e->b, "</div>\n");
	}
	buf_puts(&e->b, "</div>\n</fieldset>\n</div>\n");
}

/* The word `key` with its "%s" replaced by `arg`. */
static const char *
ed_fill(struct ed *e, const char *key, const char *arg)
{
	const char *w = ew(e->pg, key), *at = strstr(w, "%s");
	if (at == NULL)
		return w;
	return pool_printf(e->r->pool, "%.*s%s%s", (int)(at - w), w, arg, at + 2);
}

static const char *
ed_mb(struct ed *e)
{
	return pool_printf(e->r->pool, "%lld", e->r->core->conf->media_max_bytes / 1000000);
}

/* Beside the select of a member holding a file's id: a file input named
 * "_file.PATH" (GOV.UK's file upload: label, hint, the input); a file
 * sent with the form is uploaded first and becomes the member. */
static void
ed_file_input(struct ed *e, const char *path)
{
	buf_puts(&e->b, "<div class=\"file-upload\"><label class=\"label\" for=\"f-");
	esc(&e->b, path);
	buf_puts(&e->b, "-file\">");
	esc(&e->b, ew(e->pg, "or_upload"));
	buf_puts(&e->b, "</label>\n<p class=\"hint\" id=\"f-");
	esc(&e->b, path);
	buf_puts(&e->b, "-file-hint\">");
	esc(&e->b, ed_fill(e, "upload_hint", ed_mb(e)));
	buf_puts(&e->b, "</p>\n<input class=\"file-input\" type=\"file\" name=\"_file.");
	esc(&e->b, path);
	buf_puts(&e->b, "\" id=\"f-");
	esc(&e->b, path);
	buf_puts(&e->b, "-file\" aria-describedby=\"f-");
	esc(&e->b, path);
	buf_puts(&e->b, "-file-hint\" accept=\"image/jpeg,image/png,image/webp,application/pdf\"></div>\n");
}

static void
ed_scalar(struct ed *e, const struct portal_field *f, const char *path)
{
	const char *target = ed_link_target(e, path);
	if (f->type == PF_DATE) {
		ed_date(e, f, path);
		return;
	}
	if (f->type == PF_BOOL) {
		ed_group_open(e, path);
		buf_puts(&e->b, "<fieldset class=\"fieldset\"");
		if (ed_err(e, path)) {
			buf_puts(&e->b, " aria-describedby=\"f-");
			esc(&e->b, path);
			buf_puts(&e->b, "-error\"");
		}
		buf_puts(&e->b, ">\n");
		ed_legend(e, ew_field(e->pg, e->p, f->name), !(f->flags & PF_REQUIRED));
		ed_error_message(e, path);
		buf_puts(&e->b, "<div class=\"radios\">\n");
		for (int i = 0; i < 2; i++) {
			const char *v = i == 0 ? "true" : "false";
			buf_puts(&e->b, "<div class=\"radio\"><input type=\"radio\" name=\"");
			esc(&e->b, path);
			buf_printf(&e->b, "\" value=\"%s\"", v);
			if (strcmp(ed_val(e, path), v) == 0)
				buf_puts(&e->b, " checked");
			buf_puts(&e->b, " id=\"f-");
			esc(&e->b, path);
			if (i == 1)
				buf_puts(&e->b, "-no");
			buf_puts(&e->b, "\"> <label for=\"f-");
			esc(&e->b, path);
			if (i == 1)
				buf_puts(&e->b, "-no");
			buf_puts(&e->b, "\">");
			esc(&e->b, ew(e->pg, i == 0 ? "yes" : "no"));
			buf_puts(&e->b, "</label></div>\n");
		}
		buf_puts(&e->b, "</div>\n</fieldset>\n</div>\n");
		return;
	}
	ed_group_open(e, path);
	ed_label(e, f, path, "");
	ed_error_message(e, path);
	if (f->type == PF_ENUM)
		ed_select(e, path, f->values, NULL, f->flags & PF_REQUIRED);
	else if (target && (f->type == PF_INT || f->type == PF_NUMBER))
		ed_select(e, path, NULL, ed_options(e, target), f->flags & PF_REQUIRED);
	else if (f->type == PF_TEXT)
		ed_textarea(e, path, (f->flags & PF_MARKDOWN) ? 14 : 5);
	else if (f->type == PF_INT || f->type == PF_NUMBER)
		ed_input(e, path, "", "", "input width-10",
		         f->type == PF_INT ? " inputmode=\"numeric\"" : " inputmode=\"decimal\"");
	else if (f->type == PF_COUNTRY || f->type == PF_CURRENCY || f->type == PF_LANG)
		ed_input(e, path, "", "", "input width-5", " spellcheck=\"false\"");
	else if (f->type == PF_URL)
		ed_input(e, path, "", "", "input", " spellcheck=\"false\" inputmode=\"url\"");
	else
		ed_input(e, path, "", "", "input", NULL);
	if (target && strcmp(target, "media") == 0 && (f->type == PF_INT || f->type == PF_NUMBER))
		ed_file_input(e, path);
	if ((f->flags & PF_MARKDOWN) && e->preview && *ed_val(e, path)) {
		/* the same rendering the published item gets */
		char *html = markdown_html(e->r->pool, ed_val(e, path));
		if (html) {
			buf_puts(&e->b, "<div class=\"preview\"><h3>");
			esc(&e->b, ew(e->pg, "preview_heading"));
			buf_puts(&e->b, "</h3>\n");
			buf_puts(&e->b, html);
			buf_puts(&e->b, "</div>\n");
		}
	}
	if (f->flags & PF_MARKDOWN)
		ed_button(e, "preview", path, ew(e->pg, "preview"), NULL);
	buf_puts(&e->b, "</div>\n");
}

static void
ed_langmap(struct ed *e, const struct portal_field *f, const char *path)
{
	ed_group_open(e, path);
	buf_puts(&e->b, "<fieldset class=\"fieldset\">\n");
	ed_legend(e, ew_field(e->pg, e->p, f->name), !(f->flags & PF_REQUIRED));
	ed_error_message(e, path);
	const char *const *langs = e->r->muni->languages;
	for (size_t i = 0; i < e->r->muni->nlanguages; i++) {
		const char *p = pool_printf(e->r->pool, "%s.%s", path, langs[i]);
		struct json_object *words = json_object_object_get(catalogue, langs[i]);
		const char *lname = json_object_get_string(json_object_object_get(words, "language_name"));
		buf_puts(&e->b, ed_err(e, p) ? "<div class=\"group group-error\">\n" : "<div class=\"group\">\n");
		buf_puts(&e->b, "<label class=\"label\" for=\"f-");
		esc(&e->b, p);
		buf_puts(&e->b, "\">");
		esc(&e->b, lname ? lname : langs[i]);
		buf_puts(&e->b, " (");
		esc(&e->b, langs[i]);
		buf_puts(&e->b, ")</label>\n");
		ed_error_message(e, p);
		buf_puts(&e->b, "<textarea class=\"textarea\" rows=\"5\" lang=\"");
		esc(&e->b, langs[i]);
		buf_puts(&e->b, "\" name=\"");
		esc(&e->b, p);
		buf_puts(&e->b, "\"");
		ed_attrs(e, p, "", 1);
		buf_puts(&e->b, ">");
		esc(&e->b, ed_val(e, p));
		buf_puts(&e->b, "</textarea>\n</div>\n");
	}
	buf_puts(&e->b, "</fieldset>\n</div>\n");
}

/* One checkbox of the array at `path`: named PATH[i], value `v`. */
static void
ed_checkbox(struct ed *e, const char *path, size_t i, const char *v, const char *label, int checked)
{
	const char *p = pool_printf(e->r->pool, "%s[%zu]", path, i);
	buf_puts(&e->b, "<div class=\"checkbox\"><input type=\"checkbox\" name=\"");
	esc(&e->b, p);
	buf_puts(&e->b, "\" value=\"");
	esc(&e->b, v);
	buf_puts(&e->b, "\" id=\"f-");
	esc(&e->b, p);
	buf_puts(&e->b, "\"");
	if (checked)
		buf_puts(&e->b, " checked");
	buf_puts(&e->b, "> <label for=\"f-");
	esc(&e->b, p);
	buf_puts(&e->b, "\">");
	esc(&e->b, label);
	buf_puts(&e->b, "</label></div>\n");
}

/* The value of choice i: an enum's code, or a link option's id. */
static const char *
ed_choice(const char *const *values, struct json_object *opts, size_t i)
{
	return values ? values[i]
	              : json_object_get_string(
	                    json_object_object_get(json_object_array_get_idx(opts, i), "id"));
}

/* Checkboxes: of an enum's codes, or of the items a link may point at. */
static void
ed_checkboxes(struct ed *e, const struct portal_field *f, const char *path,
              const char *const *values, struct json_object *opts)
{
	ed_group_open(e, path);
	buf_puts(&e->b, "<fieldset class=\"fieldset\"");
	if (ed_err(e, path)) {
		buf_puts(&e->b, " aria-describedby=\"f-");
		esc(&e->b, path);
		buf_puts(&e->b, "-error\"");
	}
	buf_puts(&e->b, " id=\"f-");
	esc(&e->b, path);
	buf_puts(&e->b, "\">\n");
	ed_legend(e, ew_field(e->pg, e->p, f->name), !(f->flags & PF_REQUIRED));
	ed_error_message(e, path);
	buf_puts(&e->b, "<div class=\"checkboxes\">\n");
	size_t n = values ? 0 : json_object_array_length(opts);
	if (values)
		while (values[n])
			n++;
	for (size_t i = 0; i < n; i++) {
		const char *v = ed_choice(values, opts, i);
		const char *label = values ? ew_code(e->pg, e->p, v)
		                           : json_object_get_string(json_object_object_get(
		                                 json_object_array_get_idx(opts, i), "label"));
		ed_checkbox(e, path, i, v, label, ed_has_value(e, path, v));
	}
	/* a value that is no choice (an item beyond the first 100, or one the
	 * user may not see) stays chosen, shown as it is */
	size_t extra = n, plen = strlen(path);
	json_object_object_foreach(e->vals, key, val) {
		const char *v = json_object_get_string(val);
		if (strncmp(key, path, plen) != 0 || key[plen] != '[' || *v == '\0')
			continue;
		int known = 0;
		for (size_t i = 0; i < n && !known; i++)
			known = strcmp(v, ed_choice(values, opts, i)) == 0;
		if (!known)
			ed_checkbox(e, path, extra++, v, v, 1);
	}
	buf_puts(&e->b, "</div>\n</fieldset>\n</div>\n");
}

static void
ed_array(struct ed *e, const struct portal_field *f, const char *path)
{
	const struct portal_field *it = f->items;
	const char *target = ed_link_target(e, pool_printf(e->r->pool, "%s[0]", path));
	if (it->type == PF_ENUM) {
		ed_checkboxes(e, f, path, it->values, NULL);
		return;
	}
	if (target && (it->type == PF_INT || it->type == PF_NUMBER)) {
		ed_checkboxes(e, f, path, NULL, ed_options(e, target));
		return;
	}
	size_t n = ed_count(e, path);
	const char *label = ew_field(e->pg, e->p, f->name);
	const char *one = ew_field(e->pg, e->p, it->name);
	ed_group_open(e, path);
	buf_puts(&e->b, "<fieldset class=\"fieldset\" id=\"f-");
	esc(&e->b, path);
	buf_puts(&e->b, "\">\n");
	ed_legend(e, label, !(f->flags & PF_REQUIRED));
	ed_error_message(e, path);
	buf_printf(&e->b, "<input type=\"hidden\" name=\"_n.");
	esc(&e->b, path);
	buf_printf(&e->b, "\" value=\"%zu\">\n", n);
	for (size_t i = 0; i < n; i++) {
		const char *p = pool_printf(e->r->pool, "%s[%zu]", path, i);
		const char *what = pool_printf(e->r->pool, "%s %zu", one, i + 1);
		if (it->type == PF_OBJECT) {
			buf_puts(&e->b, "<fieldset class=\"fieldset element\" id=\"f-");
			esc(&e->b, p);
			buf_puts(&e->b, "\">\n");
			ed_legend(e, what, 0);
			ed_error_message(e, p);
			for (const struct portal_field *m = it->fields; m && m->name; m++)
				if (!(m->flags & PF_READONLY))
					ed_field(e, m, pool_printf(e->r->pool, "%s.%s", p, m->name));
			buf_puts(&e->b, "<div class=\"button-group\">\n");
			ed_button(e, "remove", p, ew(e->pg, "remove"), what);
			if (i > 0)
				ed_button(e, "up", p, ew(e->pg, "move_up"), what);
			if (i + 1 < n)
				ed_button(e, "down", p, ew(e->pg, "move_down"), what);
			buf_puts(&e->b, "</div>\n</fieldset>\n");
		} else {
			struct portal_field one_f = *it;
			one_f.name = it->name;
			one_f.flags |= PF_REQUIRED; /* no "(optional)" on each line */
			buf_puts(&e->b, ed_err(e, p) ? "<div class=\"group group-error element-line\">\n"
			                             : "<div class=\"group element-line\">\n");
			buf_puts(&e->b, "<label class=\"label\" for=\"f-");
			esc(&e->b, p);
			buf_puts(&e->b, "\">");
			esc(&e->b, what);
			buf_puts(&e->b, "</label>\n");
			ed_error_message(e, p);
			ed_input(e, p, "", "", "input", NULL);
			ed_button(e, "remove", p, ew(e->pg, "remove"), what);
			buf_puts(&e->b, "</div>\n");
		}
	}
	ed_button(e, "add", path, n ? ew(e->pg, "add_another") : ew(e->pg, "add"), one);
	buf_puts(&e->b, "</fieldset>\n</div>\n");
}

/*
 * A module's own widget for a member: its template "widget.SHAPE.html"
 * (SHAPE the path without indices: "email", "agreements.kind"), given
 * {name, id, value, label, optional, error, error_prefix} and the form's
 * values ("values", by name).  1 when the module has one.
 */
static int
ed_widget(struct ed *e, const struct portal_field *f, const char *path)
{
	struct buf shape;
	buf_init(&shape, e->r->pool);
	buf_puts(&shape, "widget.");
	for (const char *s = path; *s; s++) {
		if (*s == '[') {
			while (*s && *s != ']')
				s++;
			continue;
		}
		buf_add(&shape, s, 1);
	}
	buf_puts(&shape, ".html");
	buf_add(&shape, "", 1);
	const struct tmpl *t = pages_find(e->p->name, shape.data);
	if (t == NULL)
		return 0;
	struct json_object *d = pool_keep_json(e->r->pool, json_object_new_object());
	json_object_object_add(d, "name", json_object_new_string(path));
	json_object_object_add(d, "id", json_object_new_string(pool_printf(e->r->pool, "f-%s", path)));
	json_object_object_add(d, "value", json_object_new_string(ed_val(e, path)));
	json_object_object_add(d, "label", json_object_new_string(ew_field(e->pg, e->p, f->name)));
	if (!(f->flags & PF_REQUIRED))
		json_object_object_add(d, "optional", json_object_new_string(ew(e->pg, "optional")));
	if (ed_err(e, path))
		json_object_object_add(d, "error", json_object_new_string(ed_err(e, path)));
	json_object_object_add(d, "error_prefix", json_object_new_string(ew(e->pg, "error_prefix")));
	json_object_object_add(d, "values", json_object_get(e->vals));
	const char *module = e->pg->module;
	e->pg->module = e->p->name;
	page_render(e->pg, t, d, &e->b);
	e->pg->module = module;
	return 1;
}

static void
ed_field(struct ed *e, const struct portal_field *f, const char *path)
{
	if (f->flags & PF_READONLY)
		return;
	if (ed_widget(e, f, path))
		return;
	switch (f->type) {
	case PF_OBJECT:
		ed_group_open(e, path);
		buf_puts(&e->b, "<fieldset class=\"fieldset\" id=\"f-");
		esc(&e->b, path);
		buf_puts(&e->b, "\">\n");
		ed_legend(e, ew_field(e->pg, e->p, f->name), !(f->flags & PF_REQUIRED));
		ed_error_message(e, path);
		for (const struct portal_field *m = f->fields; m && m->name; m++)
			ed_field(e, m, pool_printf(e->r->pool, "%s.%s", path, m->name));
		buf_puts(&e->b, "</fieldset>\n</div>\n");
		break;
	case PF_LANGMAP:
		ed_langmap(e, f, path);
		break;
	case PF_ARRAY:
		ed_array(e, f, path);
		break;
	default:
		ed_scalar(e, f, path);
	}
}

/* ---- errors: the summary, and which field each message belongs to ---- */

/* The errors of a 422 answer as {path: message}, in the user's language. */
static struct json_object *
ed_errors_of(struct ed *e, struct json_object *errors)
{
	struct json_object *map = pool_keep_json(e->r->pool, json_object_new_object());
	for (size_t i = 0; errors && i < json_object_array_length(errors); i++) {
		struct json_object *x = json_object_array_get_idx(errors, i);
		const char *field = json_object_get_string(json_object_object_get(x, "field"));
		const char *msg = json_object_get_string(json_object_object_get(x, "message"));
		if (field == NULL || msg == NULL || json_object_object_get_ex(map, field, NULL))
			continue;
		json_object_object_add(map, field,
		                       json_object_new_string(msg_translate(e->r->pool, e->pg->lang, msg)));
	}
	return map;
}

/* `a` with the messages of `b` for fields `a` has none for (upload
 * errors first: a file refused is why the member is empty). */
static struct json_object *
ed_errors_merge(struct json_object *a, struct json_object *b)
{
	json_object_object_foreach(b, k, v) json_object_object_add(a, k, json_object_get(v));
	return a;
}

/* The label of an error's field for the summary: "Agreement 2: Date". */
static const char *
ed_error_label(struct ed *e, const char *path)
{
	const char *dot = strrchr(path, '.'), *br = strrchr(path, '[');
	const char *leaf = dot && (!br || dot > br) ? dot + 1 : path;
	char name[80];
	size_t n = strcspn(leaf, "[");
	snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), leaf);
	const char *label = ew_field(e->pg, e->p, name);
	const char *idx = strchr(path, '[');
	if (idx) {
		unsigned long i = strtoul(idx + 1, NULL, 10);
		return pool_printf(e->r->pool, "%s (%lu)", label, i + 1);
	}
	return label;
}

static void
ed_summary(struct ed *e, struct buf *out, const char *detail)
{
	if ((e->errs == NULL || json_object_object_length(e->errs) == 0) && detail == NULL)
		return;
	buf_puts(out, "<div class=\"error-summary\" aria-labelledby=\"error-summary-title\" role=\"alert\" "
	              "tabindex=\"-1\">\n<h2 class=\"error-summary-title\" id=\"error-summary-title\">");
	esc(out, ew(e->pg, "error_summary"));
	buf_puts(out, "</h2>\n");
	if (detail) {
		buf_puts(out, "<p>");
		esc(out, detail);
		buf_puts(out, "</p>\n");
	}
	buf_puts(out, "<ul class=\"error-summary-list\">\n");
	if (e->errs) {
		json_object_object_foreach(e->errs, path, msg) {
			int shown = strstr(e->b.data ? e->b.data : "", pool_printf(e->r->pool, "id=\"f-%s-error\"", path)) != NULL;
			buf_puts(out, "<li>");
			if (shown) {
				buf_puts(out, "<a href=\"#f-");
				esc(out, path);
				buf_puts(out, "\">");
			}
			/* a field the form does not show is named by its path */
			esc(out, shown ? ed_error_label(e, path) : path);
			buf_puts(out, ": ");
			esc(out, json_object_get_string(msg));
			if (shown)
				buf_puts(out, "</a>");
			buf_puts(out, "</li>\n");
		}
	}
	buf_puts(out, "</ul>\n</div>\n");
}

/* ---- the page around the content ---- */

static void
ed_head(struct ed *e, struct buf *out)
{
	const struct auth_user *u = e->r->user;
	buf_puts(out, "<div class=\"editor-bar\"><p>");
	esc(out, ew(e->pg, "signed_in_as"));
	buf_puts(out, " <strong>");
	esc(out, u->name);
	buf_puts(out, "</strong> (");
	esc(out, u->email);
	buf_puts(out, ")</p>\n<p><a href=\"/edit/\">");
	esc(out, ew(e->pg, "your_municipalities"));
	buf_puts(out, "</a> · <a href=\"/account\">");
	esc(out, ew(e->pg, "change_password"));
	buf_puts(out, "</a></p>\n<form method=\"post\" action=\"/logout\"><input type=\"hidden\" "
	              "name=\"csrf\" value=\"");
	esc(out, u->csrf);
	buf_puts(out, "\"><button class=\"button button-secondary\" type=\"submit\">");
	esc(out, ew(e->pg, "log_out"));
	buf_puts(out, "</button></form></div>\n");
}

/* Sends the content in the layout: title, the user's bar, an optional
 * note ("Saved."), the error summary, the content. */
static void
ed_send(struct ed *e, int status, const char *title, const char *note, const char *detail)
{
	struct buf out;
	buf_init(&out, e->r->pool);
	ed_head(e, &out);
	buf_add(&e->b, "", 1);
	e->b.len--;
	ed_summary(e, &out, detail);
	if (note) {
		buf_puts(&out, "<div class=\"notice\" role=\"status\"><p>");
		esc(&out, note);
		buf_puts(&out, "</p></div>\n");
	}
	buf_add(&out, e->b.data ? e->b.data : "", e->b.len);
	buf_add(&out, "", 1);
	const char *t = title;
	if (e->errs && json_object_object_length(e->errs) > 0)
		t = pool_printf(e->r->pool, "%s %s", ew(e->pg, "error_prefix"), title);
	page_send(e->pg, status, t, out.data, NULL);
	out_header(e->r, "Cache-Control", "private, no-store");
}

static void
ed_heading(struct ed *e, const char *caption, const char *title)
{
	if (caption) {
		buf_puts(&e->b, "<p class=\"caption\">");
		esc(&e->b, caption);
		buf_puts(&e->b, "</p>\n");
	}
	buf_puts(&e->b, "<h1>");
	esc(&e->b, title);
	buf_puts(&e->b, "</h1>\n");
}

static const char *
ed_module_title(struct ed *e, const portal_plugin *p)
{
	return page_word(p, e->pg->lang, "title", p->name);
}

/* ---- what the user may edit ---- */

static void
ed_index(struct ed *e, const struct conf_municipality *only)
{
	const struct auth_user *u = e->r->user;
	struct core *c = e->pg->c;
	ed_heading(e, NULL, ew(e->pg, "your_municipalities"));
	int any = 0;
	for (size_t i = 0; i < c->conf->nmunis; i++) {
		const struct conf_municipality *m = &c->conf->munis[i];
		int role = auth_user_role(u, m->slug);
		if (role < PORTAL_ROLE_READER || (only && only != m))
			continue;
		any = 1;
		buf_puts(&e->b, "<section class=\"muni-block\"><h2>");
		esc(&e->b, m->name);
		buf_puts(&e->b, " <span class=\"role\">(");
		esc(&e->b, ew(e->pg, role == PORTAL_ROLE_ADMIN ? "role_admin"
		                     : role == PORTAL_ROLE_EDITOR ? "role_editor" : "role_reader"));
		buf_puts(&e->b, ")</span></h2>\n<ul class=\"list\">\n");
		for (size_t k = 0; k < m->nmodules; k++) {
			portal_plugin *p = plugin_find(c->plugins, m->modules[k]);
			if (p == NULL || p->item == NULL)
				continue;
			buf_puts(&e->b, "<li><a href=\"/edit/");
			esc(&e->b, m->slug);
			buf_puts(&e->b, "/");
			esc(&e->b, p->name);
			buf_puts(&e->b, "/\">");
			esc(&e->b, page_word(p, e->pg->lang, "title", p->name));
			buf_puts(&e->b, "</a></li>\n");
		}
		buf_puts(&e->b, "<li><a href=\"/edit/");
		esc(&e->b, m->slug);
		buf_puts(&e->b, "/media/\">");
		esc(&e->b, ew(e->pg, "files"));
		buf_puts(&e->b, "</a></li>\n");
		if (role >= PORTAL_ROLE_ADMIN) {
			buf_puts(&e->b, "<li><a href=\"/edit/");
			esc(&e->b, m->slug);
			buf_puts(&e->b, "/users\">");
			esc(&e->b, ew(e->pg, "users"));
			buf_puts(&e->b, "</a></li>\n<li><a href=\"/edit/");
			esc(&e->b, m->slug);
			buf_puts(&e->b, "/tokens\">");
			esc(&e->b, ew(e->pg, "tokens"));
			buf_puts(&e->b, "</a></li>\n");
		}
		buf_puts(&e->b, "</ul></section>\n");
	}
	if (!any) {
		buf_puts(&e->b, "<p>");
		esc(&e->b, ew(e->pg, "no_roles"));
		buf_puts(&e->b, "</p>\n");
	}
	ed_send(e, 200, ew(e->pg, "your_municipalities"), NULL, NULL);
}

/* ---- a module's items ---- */

/* Percent-encodes `s` as a query argument's value. */
static void
ed_url_part(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '-' || *s == '_' || *s == '.')
			buf_add(b, s, 1);
		else
			buf_printf(b, "%%%02X", (unsigned char)*s);
	}
}

static void
ed_list(struct ed *e)
{
	struct portal_req *r = e->r;
	const char *cursor = req_query(r, "cursor"), *q = req_query(r, "q");
	struct buf qs;
	buf_init(&qs, r->pool);
	buf_puts(&qs, "limit=50");
	if (cursor) {
		buf_puts(&qs, "&cursor=");
		ed_url_part(&qs, cursor);
	}
	if (q && *q) {
		buf_puts(&qs, "&q=");
		ed_url_part(&qs, q);
	}
	buf_add(&qs, "", 1);
	struct pages_call call = {
	    .path = pool_printf(r->pool, "/api/v1/%s/%s", r->muni->slug, e->p->name), .query = qs.data};
	struct portal_req *sub = e->pg->api(e->pg->c, r, &call);
	struct json_object *items = NULL, *next = NULL;
	if (sub->status != 200 || sub->resp_json == NULL ||
	    !json_object_object_get_ex(sub->resp_json, "items", &items)) {
		page_error(e->pg, sub->status >= 400 ? sub->status : 500, NULL);
		return;
	}
	json_object_object_get_ex(sub->resp_json, "next", &next);
	const char *title = ed_module_title(e, e->p);
	ed_heading(e, r->muni->name, title);
	if (e->role >= PORTAL_ROLE_EDITOR) {
		buf_puts(&e->b, "<p><a class=\"button\" href=\"");
		esc(&e->b, e->base);
		buf_puts(&e->b, "/new\">");
		esc(&e->b, ew(e->pg, "new_item"));
		buf_puts(&e->b, "<span class=\"visually-hidden\">: ");
		esc(&e->b, title);
		buf_puts(&e->b, "</span></a></p>\n");
	} else {
		buf_puts(&e->b, "<p>");
		esc(&e->b, ew(e->pg, "read_only"));
		buf_puts(&e->b, "</p>\n");
	}
	buf_puts(&e->b, "<form method=\"get\" class=\"search\" role=\"search\" action=\"");
	esc(&e->b, e->base);
	buf_puts(&e->b, "/\"><label class=\"label\" for=\"f-q\">");
	esc(&e->b, ew(e->pg, "search"));
	buf_puts(&e->b, "</label>\n<input class=\"input width-20\" type=\"search\" id=\"f-q\" name=\"q\" value=\"");
	esc(&e->b, q ? q : "");
	buf_puts(&e->b, "\"> <button class=\"button button-secondary\" type=\"submit\">");
	esc(&e->b, ew(e->pg, "search_button"));
	buf_puts(&e->b, "</button></form>\n");
	size_t n = json_object_array_length(items);
	if (n == 0) {
		buf_puts(&e->b, "<p>");
		esc(&e->b, ew(e->pg, "no_items"));
		buf_puts(&e->b, "</p>\n");
	} else {
		buf_puts(&e->b, "<table class=\"table\"><caption class=\"visually-hidden\">");
		esc(&e->b, title);
		buf_puts(&e->b, "</caption>\n<thead><tr><th scope=\"col\">");
		esc(&e->b, ew(e->pg, "item"));
		buf_puts(&e->b, "</th><th scope=\"col\">");
		esc(&e->b, ew(e->pg, "status"));
		buf_puts(&e->b, "</th><th scope=\"col\">");
		esc(&e->b, ew(e->pg, "updated"));
		buf_puts(&e->b, "</th></tr></thead>\n<tbody>\n");
		for (size_t i = 0; i < n; i++) {
			struct json_object *it = json_object_array_get_idx(items, i);
			const char *id = json_object_get_string(json_object_object_get(it, "id"));
			const char *st = json_object_get_string(json_object_object_get(it, "status"));
			const char *up = json_object_get_string(json_object_object_get(it, "updated_at"));
			buf_puts(&e->b, "<tr><td><a href=\"");
			esc(&e->b, e->base);
			buf_puts(&e->b, "/");
			esc(&e->b, id);
			buf_puts(&e->b, "\">");
			esc(&e->b, ed_title(e->pg, e->p, it));
			buf_puts(&e->b, "</a></td><td>");
			if (st)
				esc(&e->b, ew_code(e->pg, e->p, st));
			buf_puts(&e->b, "</td><td>");
			esc(&e->b, up ? up : "");
			buf_puts(&e->b, "</td></tr>\n");
		}
		buf_puts(&e->b, "</tbody></table>\n");
	}
	if (next && json_object_is_type(next, json_type_string)) {
		buf_puts(&e->b, "<p><a href=\"");
		esc(&e->b, e->base);
		buf_puts(&e->b, "/?cursor=");
		struct buf u;
		buf_init(&u, r->pool);
		ed_url_part(&u, json_object_get_string(next));
		if (q && *q) {
			buf_puts(&u, "&q=");
			ed_url_part(&u, q);
		}
		buf_add(&u, "", 1);
		esc(&e->b, u.data);
		buf_puts(&e->b, "\">");
		esc(&e->b, ew(e->pg, "next_page"));
		buf_puts(&e->b, "</a></p>\n");
	}
	const char *note = req_query(r, "deleted") ? ew(e->pg, "deleted") : NULL;
	ed_send(e, 200, title, note, NULL);
}

/* ---- the form ---- */

/* The item's members a client writes: the schema's, without read-only
 * ones (what the form shows and a save replaces). */
static struct json_object *
ed_writable(struct ed *e, struct json_object *item)
{
	struct json_object *o = pool_keep_json(e->r->pool, json_object_new_object()), *v;
	for (const struct portal_field *f = e->it->schema; f->name; f++)
		if (!(f->flags & PF_READONLY) && json_object_object_get_ex(item, f->name, &v) && v)
			json_object_object_add(o, f->name, json_object_get(v));
	return o;
}

/* A JSON merge patch (RFC 7396) that turns `from` into `to`: changed
 * members, objects member by member, removed ones null.  NULL when
 * nothing changes. */
static struct json_object *
ed_diff(struct json_object *from, struct json_object *to)
{
	struct json_object *patch = json_object_new_object(), *v;
	json_object_object_foreach(to, key, want) {
		struct json_object *have = json_object_object_get_ex(from, key, &v) ? v : NULL;
		if (have && json_object_is_type(have, json_type_object) &&
		    json_object_is_type(want, json_type_object)) {
			struct json_object *sub = ed_diff(have, want);
			if (sub)
				json_object_object_add(patch, key, sub);
		} else if (have == NULL || !json_object_equal(have, want)) {
			json_object_object_add(patch, key, json_object_get(want));
		}
	}
	json_object_object_foreach(from, k2, had) {
		if (had != NULL && !json_object_object_get_ex(to, k2, NULL))
			json_object_object_add(patch, k2, NULL);
	}
	if (json_object_object_length(patch) == 0) {
		json_object_put(patch);
		return NULL;
	}
	return patch;
}

/* The form's pairs as {path: text}, without csrf and the buttons. */
static struct json_object *
ed_form_vals(struct ed *e, const struct form *f)
{
	struct json_object *o = pool_keep_json(e->r->pool, json_object_new_object());
	for (size_t i = 0; i < f->n; i++) {
		const char *k = f->pairs[i].name;
		if (strcmp(k, "csrf") == 0 || strcmp(k, "_action") == 0)
			continue;
		json_object_object_add(o, k, json_object_new_string(f->pairs[i].value));
	}
	return o;
}

/* "agreements[2]" -> path "agreements", index 2; -1 when not so. */
static long
ed_split_index(struct portal_req *r, const char *p, const char **array)
{
	size_t n = strlen(p);
	if (n < 4 || p[n - 1] != ']')
		return -1;
	const char *open = strrchr(p, '[');
	if (open == NULL || open == p)
		return -1;
	char *end;
	long i = strtol(open + 1, &end, 10);
	if (end != p + n - 1 || i < 0 || i > 9999)
		return -1;
	*array = pool_strndup(r->pool, p, (size_t)(open - p));
	return i;
}

/* Renames the elements of `array` in e->vals: index i becomes map(i)
 * (-1: dropped), for the paths themselves and their _n. counts. */
static void
ed_reindex(struct ed *e, const char *array, long a, long b, int remove)
{
	struct json_object *nv = pool_keep_json(e->r->pool, json_object_new_object());
	size_t alen = strlen(array);
	json_object_object_foreach(e->vals, key, val) {
		const char *k = key, *pre = "";
		if (strncmp(k, "_n.", 3) == 0) {
			k += 3;
			pre = "_n.";
		}
		if (strncmp(k, array, alen) == 0 && k[alen] == '[') {
			char *end;
			long i = strtol(k + alen + 1, &end, 10);
			if (*end == ']') {
				long to = i;
				if (remove) {
					if (i == a)
						continue;
					if (i > a)
						to = i - 1;
				} else if (i == a) {
					to = b;
				} else if (i == b) {
					to = a;
				}
				json_object_object_add(nv, pool_printf(e->r->pool, "%s%.*s[%ld]%s", pre,
				                                       (int)alen, k, to, end + 1),
				                       json_object_get(val));
				continue;
			}
		}
		json_object_object_add(nv, key, json_object_get(val));
	}
	e->vals = nv;
}

/* An editor's button: add an element, remove, move one, preview.  1 when
 * the form is to be shown again, 0 for a save. */
static int
ed_action(struct ed *e, const char *action)
{
	if (action == NULL || *action == '\0')
		return 0;
	const char *colon = strchr(action, ':');
	const char *what = colon ? colon + 1 : "";
	size_t vlen = colon ? (size_t)(colon - action) : strlen(action);
	const char *array;
	if (vlen == 7 && strncmp(action, "preview", 7) == 0) {
		e->preview = 1;
	} else if (vlen == 3 && strncmp(action, "add", 3) == 0) {
		size_t n = ed_count(e, what);
		json_object_object_add(e->vals, pool_printf(e->r->pool, "_n.%s", what),
		                       json_object_new_string(pool_printf(e->r->pool, "%zu", n + 1)));
	} else {
		long i = ed_split_index(e->r, what, &array);
		if (i < 0)
			return 1;
		size_t n = ed_count(e, array);
		if (vlen == 6 && strncmp(action, "remove", 6) == 0) {
			ed_reindex(e, array, i, 0, 1);
			json_object_object_add(e->vals, pool_printf(e->r->pool, "_n.%s", array),
			                       json_object_new_string(pool_printf(e->r->pool, "%zu", n ? n - 1 : 0)));
		} else if (vlen == 2 && strncmp(action, "up", 2) == 0 && i > 0) {
			ed_reindex(e, array, i, i - 1, 0);
		} else if (vlen == 4 && strncmp(action, "down", 4) == 0 && (size_t)i + 1 < n) {
			ed_reindex(e, array, i, i + 1, 0);
		}
	}
	return 1;
}

/* 1 when a member of the module holds a file's id (x-portal-links to
 * "media"): its form is multipart/form-data, with file inputs. */
static int
ed_has_files(struct ed *e)
{
	if (e->links == NULL)
		return 0;
	json_object_object_foreach(e->links, k, v) {
		(void)k;
		if (v && strcmp(json_object_get_string(v), "media") == 0)
			return 1;
	}
	return 0;
}

#define ED_IDEM_HEX 32 /* a new item's form: its Idempotency-Key, hex */

/* The key a new item's form posted (`_idem`), when it is one the editor
 * made; else NULL. */
static const char *
ed_idem(const char *v)
{
	size_t n = v ? strlen(v) : 0;
	if (n != ED_IDEM_HEX)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
			return NULL;
	return v;
}

/* The form of an item (id 0: a new one), with e->vals and e->errs.  A new
 * item's form carries an Idempotency-Key (`_idem`, kept when the form
 * comes back with messages): its POST is made once however often Save
 * is pressed (a second answer is the first's). */
static void
ed_form(struct ed *e, long long id, const char *version, int status, const char *note,
        const char *detail, const char *title)
{
	struct buf form = e->b;
	buf_init(&e->b, e->r->pool);
	for (const struct portal_field *f = e->it->schema; f->name; f++)
		ed_field(e, f, f->name);
	struct buf fields = e->b;
	e->b = form;
	buf_puts(&e->b, "<form method=\"post\" novalidate");
	if (ed_has_files(e))
		buf_puts(&e->b, " enctype=\"multipart/form-data\"");
	buf_puts(&e->b, " action=\"");
	esc(&e->b, e->base);
	if (id)
		buf_printf(&e->b, "/%lld", id);
	else
		buf_puts(&e->b, "/new");
	buf_puts(&e->b, "\">\n<input type=\"hidden\" name=\"csrf\" value=\"");
	esc(&e->b, e->r->user->csrf);
	buf_puts(&e->b, "\">\n");
	if (version) {
		buf_puts(&e->b, "<input type=\"hidden\" name=\"version\" value=\"");
		esc(&e->b, version);
		buf_puts(&e->b, "\">\n");
	}
	if (id == 0) {
		const char *key = ed_idem(ed_val(e, "_idem"));
		if (key == NULL) {
			unsigned char raw[ED_IDEM_HEX / 2];
			char *hex = pool_alloc(e->r->pool, ED_IDEM_HEX + 1);
			randombytes_buf(raw, sizeof(raw));
			key = sodium_bin2hex(hex, ED_IDEM_HEX + 1, raw, sizeof(raw));
		}
		buf_printf(&e->b, "<input type=\"hidden\" name=\"_idem\" value=\"%s\">\n", key);
	}
	/* Enter in a text box presses the first submit button: make that Save */
	buf_puts(&e->b, "<button class=\"visually-hidden\" type=\"submit\" tabindex=\"-1\" aria-hidden=\"true\">");
	esc(&e->b, ew(e->pg, "save"));
	buf_puts(&e->b, "</button>\n");
	buf_add(&e->b, fields.data ? fields.data : "", fields.len);
	buf_puts(&e->b, "<div class=\"button-group\"><button class=\"button\" type=\"submit\">");
	esc(&e->b, ew(e->pg, "save"));
	buf_puts(&e->b, "</button>\n<a class=\"link\" href=\"");
	esc(&e->b, e->base);
	buf_puts(&e->b, "/\">");
	esc(&e->b, ew(e->pg, "cancel"));
	buf_puts(&e->b, "</a></div>\n</form>\n");
	if (id) {
		buf_puts(&e->b, "<ul class=\"list actions\"><li><a href=\"");
		esc(&e->b, e->base);
		buf_printf(&e->b, "/%lld/history\">", id);
		esc(&e->b, ew(e->pg, "history"));
		buf_puts(&e->b, "</a></li><li><a class=\"warning-link\" href=\"");
		esc(&e->b, e->base);
		buf_printf(&e->b, "/%lld/delete\">", id);
		esc(&e->b, ew(e->pg, "delete"));
		buf_puts(&e->b, "</a></li></ul>\n");
	}
	ed_send(e, status, title, note, detail);
}

/* GET the item as the user sees it: 1 found (item, its ETag), 0 after
 * answering (404, 503 ...). */
static int
ed_get(struct ed *e, long long id, struct json_object **item, const char **etag)
{
	struct pages_call call = {
	    .path = pool_printf(e->r->pool, "/api/v1/%s/%s/%lld", e->r->muni->slug, e->p->name, id)};
	struct portal_req *sub = e->pg->api(e->pg->c, e->r, &call);
	if (sub->status != 200 || sub->resp_json == NULL) {
		page_error(e->pg, sub->status >= 400 ? sub->status : 500, NULL);
		return 0;
	}
	*item = sub->resp_json;
	*etag = NULL;
	for (struct req_header *h = sub->resp_headers; h; h = h->next)
		if (strcasecmp(h->name, "ETag") == 0)
			*etag = h->value;
	return 1;
}

/* The text of a value in a comparison table. */
static const char *
ed_show(struct ed *e, struct json_object *v)
{
	if (v == NULL)
		return ew(e->pg, "empty");
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Flattens `v` into {path: value} (objects by member, arrays by index). */
static void
ed_flatten(struct portal_req *r, struct json_object *v, const char *path, struct json_object *out)
{
	if (v && json_object_is_type(v, json_type_object) && json_object_object_length(v) > 0) {
		json_object_object_foreach(v, k, m)
			ed_flatten(r, m, *path ? pool_printf(r->pool, "%s.%s", path, k) : k, out);
	} else if (v && json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0 &&
	           *path) {
		for (size_t i = 0; i < json_object_array_length(v); i++)
			ed_flatten(r, json_object_array_get_idx(v, i), pool_printf(r->pool, "%s[%zu]", path, i),
			           out);
	} else if (*path) {
		json_object_object_add(out, path, v ? json_object_get(v) : NULL);
	}
}

/* A table of what differs between two versions, field by field. */
static int
ed_compare(struct ed *e, struct json_object *a, struct json_object *b, const char *head_a,
           const char *head_b)
{
	struct json_object *fa = pool_keep_json(e->r->pool, json_object_new_object());
	struct json_object *fb = pool_keep_json(e->r->pool, json_object_new_object());
	ed_flatten(e->r, a, "", fa);
	ed_flatten(e->r, b, "", fb);
	struct buf rows;
	buf_init(&rows, e->r->pool);
	int n = 0;
	struct json_object *all = pool_keep_json(e->r->pool, json_object_new_object()), *v;
	json_object_object_foreach(fa, ka, va) {
		(void)va;
		json_object_object_add(all, ka, NULL);
	}
	json_object_object_foreach(fb, kb, vb) {
		(void)vb;
		json_object_object_add(all, kb, NULL);
	}
	json_object_object_foreach(all, k, unused) {
		(void)unused;
		struct json_object *x = json_object_object_get_ex(fa, k, &v) ? v : NULL;
		struct json_object *y = json_object_object_get_ex(fb, k, &v) ? v : NULL;
		if ((x == NULL && y == NULL) || (x && y && json_object_equal(x, y)))
			continue;
		n++;
		buf_puts(&rows, "<tr><th scope=\"row\">");
		esc(&rows, k);
		buf_puts(&rows, "</th><td>");
		esc(&rows, ed_show(e, x));
		buf_puts(&rows, "</td><td>");
		esc(&rows, ed_show(e, y));
		buf_puts(&rows, "</td></tr>\n");
	}
	if (n == 0)
		return 0;
	buf_puts(&e->b, "<table class=\"table diff\"><thead><tr><th scope=\"col\">");
	esc(&e->b, ew(e->pg, "field"));
	buf_puts(&e->b, "</th><th scope=\"col\">");
	esc(&e->b, head_a);
	buf_puts(&e->b, "</th><th scope=\"col\">");
	esc(&e->b, head_b);
	buf_puts(&e->b, "</th></tr></thead>\n<tbody>\n");
	buf_add(&e->b, rows.data, rows.len);
	buf_puts(&e->b, "</tbody></table>\n");
	return n;
}

/* The answer of a write: 2xx -> 303 `to`; 422 -> the form again with the
 * messages; 409/412 -> the conflict; others -> an error page. */
static void
ed_after_write(struct ed *e, struct portal_req *sub, long long id, const char *version,
               struct json_object *mine, const char *title)
{
	if (sub->status == 422) {
		struct json_object *errors = NULL;
		if (sub->resp_json)
			json_object_object_get_ex(sub->resp_json, "errors", &errors);
		e->errs = ed_errors_of(e, errors);
		const char *detail = NULL;
		if (json_object_object_length(e->errs) == 0 && sub->resp_json)
			detail = json_object_get_string(json_object_object_get(sub->resp_json, "detail"));
		ed_form(e, id, version, 422, NULL, detail, title);
		return;
	}
	if (sub->status == 409 || sub->status == 412) {
		struct json_object *theirs = NULL;
		const char *etag;
		if (id == 0 || !ed_get(e, id, &theirs, &etag)) {
			if (id == 0) {
				const char *detail = sub->resp_json ? json_object_get_string(json_object_object_get(
				                                          sub->resp_json, "detail"))
				                                    : NULL;
				ed_form(e, id, version, 409, NULL, detail, title);
			}
			return;
		}
		const char *v = json_object_get_string(json_object_object_get(theirs, "version"));
		if (sub->status == 409 && v && version && strcmp(v, version) == 0) {
			/* not a newer version: a rule of the module (a slug taken) */
			const char *detail = sub->resp_json ? json_object_get_string(json_object_object_get(
			                                          sub->resp_json, "detail"))
			                                    : NULL;
			ed_form(e, id, version, 409, NULL, detail, title);
			return;
		}
		buf_puts(&e->b, "<div class=\"warning\" role=\"alert\"><h2>");
		esc(&e->b, ew(e->pg, "conflict_heading"));
		buf_puts(&e->b, "</h2>\n<p>");
		esc(&e->b, ew(e->pg, "conflict_text"));
		buf_puts(&e->b, "</p>\n");
		ed_compare(e, mine, ed_writable(e, theirs), ew(e->pg, "yours"), ew(e->pg, "theirs"));
		buf_puts(&e->b, "</div>\n");
		/* the form keeps the user's input; saving now is over the newer version */
		ed_form(e, id, v, 409, NULL, NULL, title);
		return;
	}
	const char *detail = sub->resp_json
	                         ? json_object_get_string(json_object_object_get(sub->resp_json, "detail"))
	                         : NULL;
	page_error(e->pg, sub->status >= 400 ? sub->status : 500, detail);
}

/*
 * Writes `to` over item `id` (now `from`) as the API's merge patch of what
 * differs, with If-Match `if_match`: NULL after answering 303 to the
 * item's form (with ?unchanged=1 when nothing differs, else ?NOTE=1);
 * else the API's answer, for the caller to show.
 */
static struct portal_req *
ed_patch(struct ed *e, long long id, struct json_object *from, struct json_object *to,
         const char *if_match, const char *note)
{
	struct portal_req *r = e->r;
	struct json_object *patch = ed_diff(from, to);
	if (patch == NULL) {
		page_redirect(r, pool_printf(r->pool, "%s/%lld?unchanged=1", e->base, id));
		return NULL;
	}
	pool_keep_json(r->pool, patch);
	struct pages_call call = {
	    .method = "PATCH",
	    .path = pool_printf(r->pool, "/api/v1/%s/%s/%lld", r->muni->slug, e->p->name, id),
	    .body = json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN),
	    .if_match = if_match};
	struct portal_req *sub = e->pg->api(e->pg->c, r, &call);
	if (sub->status == 200) {
		page_redirect(r, pool_printf(r->pool, "%s/%lld?%s=1", e->base, id, note));
		return NULL;
	}
	return sub;
}

static void
ed_new(struct ed *e, struct form *f)
{
	struct portal_req *r = e->r;
	const char *title = pool_printf(r->pool, "%s: %s", ed_module_title(e, e->p), ew(e->pg, "new_item"));
	ed_heading(e, r->muni->name, title);
	if (f == NULL) {
		e->vals = pool_keep_json(r->pool, json_object_new_object());
		ed_form(e, 0, NULL, 200, NULL, NULL, title);
		return;
	}
	struct json_object *up = ed_form_uploads(e, f);
	e->vals = ed_form_vals(e, f);
	if (ed_action(e, form_get(f, "_action"))) {
		e->errs = json_object_object_length(up) ? up : NULL;
		ed_form(e, 0, NULL, json_object_object_length(up) ? 422 : 200, NULL, NULL, title);
		return;
	}
	struct json_object *doc = form_doc(r, e->it->schema, f);
	if ((r->errors && json_object_array_length(r->errors) > 0) || json_object_object_length(up)) {
		e->errs = ed_errors_merge(ed_errors_of(e, r->errors), up);
		r->errors = NULL;
		ed_form(e, 0, NULL, 422, NULL, NULL, title);
		return;
	}
	struct pages_call call = {
	    .method = "POST",
	    .path = pool_printf(r->pool, "/api/v1/%s/%s", r->muni->slug, e->p->name),
	    .body = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN),
	    .idem_key = ed_idem(form_get(f, "_idem"))};
	struct portal_req *sub = e->pg->api(e->pg->c, r, &call);
	/* 409 without field errors: a twin of this save (a double click) is
	 * being written; its answer is this one's once it is committed */
	for (int k = 0; k < 10 && sub->status == 409 && call.idem_key != NULL &&
	                !(sub->resp_json && json_object_object_get_ex(sub->resp_json, "errors", NULL));
	     k++) {
		struct timespec pause = {0, 50 * 1000000L};
		nanosleep(&pause, NULL);
		sub = e->pg->api(e->pg->c, r, &call);
	}
	if (sub->status == 201 && sub->resp_json) {
		const char *id = json_object_get_string(json_object_object_get(sub->resp_json, "id"));
		page_redirect(r, pool_printf(r->pool, "%s/%s?saved=1", e->base, id ? id : ""));
		return;
	}
	if (sub->status == 422 && call.idem_key != NULL &&
	    !(sub->resp_json && json_object_object_get_ex(sub->resp_json, "errors", NULL))) {
		/* the key of a form saved before with other details (Back, then
		 * Save): a new key, and the form says what saving again does */
		json_object_object_del(e->vals, "_idem");
		ed_form(e, 0, NULL, 422, NULL, ew(e->pg, "idem_again"), title);
		return;
	}
	ed_after_write(e, sub, 0, NULL, doc, title);
}

static void
ed_item(struct ed *e, long long id, struct form *f)
{
	struct portal_req *r = e->r;
	struct json_object *item;
	const char *etag;
	if (!ed_get(e, id, &item, &etag))
		return;
	const char *title = ed_title(e->pg, e->p, item);
	const char *version = json_object_get_string(json_object_object_get(item, "version"));
	ed_heading(e, ed_module_title(e, e->p), title);
	if (e->role < PORTAL_ROLE_EDITOR) {
		/* a reader sees the item, and no form */
		buf_puts(&e->b, "<p>");
		esc(&e->b, ew(e->pg, "read_only"));
		buf_puts(&e->b, "</p>\n<dl class=\"summary-list\">\n");
		struct json_object *flat = pool_keep_json(r->pool, json_object_new_object());
		ed_flatten(r, ed_writable(e, item), "", flat);
		json_object_object_foreach(flat, k, v) {
			buf_puts(&e->b, "<dt>");
			esc(&e->b, k);
			buf_puts(&e->b, "</dt><dd>");
			esc(&e->b, ed_show(e, v));
			buf_puts(&e->b, "</dd>\n");
		}
		buf_puts(&e->b, "</dl>\n");
		ed_send(e, 200, title, NULL, NULL);
		return;
	}
	if (f == NULL) {
		e->vals = form_values(r, e->it->schema, ed_writable(e, item));
		const char *note = req_query(r, "saved")      ? ew(e->pg, "saved")
		                   : req_query(r, "restored") ? ew(e->pg, "restored")
		                   : req_query(r, "unchanged") ? ew(e->pg, "nothing_changed")
		                                              : NULL;
		ed_form(e, id, version, 200, note, NULL, title);
		return;
	}
	struct json_object *up = ed_form_uploads(e, f);
	e->vals = ed_form_vals(e, f);
	const char *sent = form_get(f, "version");
	if (sent == NULL)
		sent = "";
	if (ed_action(e, form_get(f, "_action"))) {
		e->errs = json_object_object_length(up) ? up : NULL;
		ed_form(e, id, sent, json_object_object_length(up) ? 422 : 200, NULL, NULL, title);
		return;
	}
	struct json_object *doc = form_doc(r, e->it->schema, f);
	if ((r->errors && json_object_array_length(r->errors) > 0) || json_object_object_length(up)) {
		e->errs = ed_errors_merge(ed_errors_of(e, r->errors), up);
		r->errors = NULL;
		ed_form(e, id, sent, 422, NULL, NULL, title);
		return;
	}
	struct json_object *cur = ed_writable(e, item);
	if (version == NULL || strcmp(sent, version) != 0) {
		/* saved by someone else since this form was made */
		struct portal_req fake = {.status = 412};
		ed_after_write(e, &fake, id, sent, doc, title);
		return;
	}
	struct portal_req *sub = ed_patch(e, id, cur, doc, etag, "saved");
	if (sub != NULL)
		ed_after_write(e, sub, id, sent, doc, title);
}

/* ---- delete ---- */

static void
ed_delete(struct ed *e, long long id, const struct form *f)
{
	struct portal_req *r = e->r;
	struct json_object *item, *linked;
	const char *etag;
	if (!ed_get(e, id, &item, &etag))
		return;
	const char *title = ed_title(e->pg, e->p, item);
	const char *version = json_object_get_string(json_object_object_get(item, "version"));
	int status = 200;
	if (f != NULL) {
		const char *sent = form_get(f, "version");
		struct pages_call call = {
		    .method = "DELETE",
		    .path = pool_printf(r->pool, "/api/v1/%s/%s/%lld", r->muni->slug, e->p->name, id),
		    .if_match = sent && version && strcmp(sent, version) == 0 ? etag : "\"stale\""};
		struct portal_req *sub = e->pg->api(e->pg->c, r, &call);
		if (sub->status == 204) {
			page_redirect(r, pool_printf(r->pool, "%s/?deleted=1", e->base));
			return;
		}
		if (sub->status == 412) {
			page_redirect(r, pool_printf(r->pool, "%s/%lld", e->base, id));
			return;
		}
		if (sub->status != 409) {
			const char *detail = sub->resp_json ? json_object_get_string(json_object_object_get(
			                                          sub->resp_json, "detail"))
			                                    : NULL;
			page_error(e->pg, sub->status >= 400 ? sub->status : 500, detail);
			return;
		}
		status = 409;
	}
	ed_heading(e, title, ew(e->pg, "delete_confirm"));
	if (status == 409 && json_object_object_get_ex(item, "linked", &linked) &&
	    json_object_is_type(linked, json_type_object)) {
		buf_puts(&e->b, "<div class=\"warning\" role=\"alert\"><h2>");
		esc(&e->b, ew(e->pg, "linked_heading"));
		buf_puts(&e->b, "</h2>\n<p>");
		esc(&e->b, ew(e->pg, "linked_text"));
		buf_puts(&e->b, "</p>\n<ul class=\"list\">\n");
		json_object_object_foreach(linked, module, list) {
			portal_plugin *lp = plugin_find(e->pg->c->plugins, module);
			for (size_t i = 0; list && i < json_object_array_length(list); i++) {
				struct json_object *l = json_object_array_get_idx(list, i);
				buf_puts(&e->b, "<li>");
				if (lp)
					esc(&e->b, page_word(lp, e->pg->lang, "title", module));
				buf_puts(&e->b, ": <a href=\"/edit/");
				esc(&e->b, r->muni->slug);
				buf_puts(&e->b, "/");
				esc(&e->b, module);
				buf_puts(&e->b, "/");
				esc(&e->b, json_object_get_string(json_object_object_get(l, "id")));
				buf_puts(&e->b, "\">");
				esc(&e->b, json_object_get_string(json_object_object_get(l, "title")));
				buf_puts(&e->b, "</a></li>\n");
			}
		}
		buf_puts(&e->b, "</ul></div>\n");
	} else {
		buf_puts(&e->b, "<p>");
		esc(&e->b, ew(e->pg, "delete_explain"));
		buf_puts(&e->b, "</p>\n<form method=\"post\" action=\"");
		esc(&e->b, e->base);
		buf_printf(&e->b, "/%lld/delete\">\n<input type=\"hidden\" name=\"csrf\" value=\"", id);
		esc(&e->b, r->user->csrf);
		buf_puts(&e->b, "\">\n<input type=\"hidden\" name=\"version\" value=\"");
		esc(&e->b, version ? version : "");
		buf_puts(&e->b, "\">\n<div class=\"button-group\"><button class=\"button button-warning\" type=\"submit\">");
		esc(&e->b, ew(e->pg, "delete"));
		buf_puts(&e->b, "</button>\n");
	}
	buf_puts(&e->b, status == 409 ? "<p>" : "");
	buf_puts(&e->b, "<a class=\"link\" href=\"");
	esc(&e->b, e->base);
	buf_printf(&e->b, "/%lld\">", id);
	esc(&e->b, ew(e->pg, "cancel"));
	buf_puts(&e->b, status == 409 ? "</a></p>\n" : "</a></div>\n</form>\n");
	ed_send(e, status, ew(e->pg, "delete_confirm"), NULL, NULL);
}

/* ---- history ---- */

static void
ed_history(struct ed *e, long long id, const struct form *f)
{
	struct portal_req *r = e->r;
	struct json_object *item, *entries = NULL;
	const char *etag;
	if (!ed_get(e, id, &item, &etag))
		return;
	if (audit_history(r, r->muni->slug, e->p->name, id, &entries) != PORTAL_OK) {
		page_error(e->pg, 503, NULL);
		return;
	}
	const char *title = ed_title(e->pg, e->p, item);
	if (f != NULL) {
		/* restore: the version an entry wrote, written again as a new version */
		const char *which = form_get(f, "_restore");
		struct json_object *doc = NULL;
		for (size_t i = 0; which && i < json_object_array_length(entries); i++) {
			struct json_object *x = json_object_array_get_idx(entries, i);
			if (strcmp(json_object_get_string(json_object_object_get(x, "id")), which) == 0)
				doc = json_object_object_get(x, "after");
		}
		if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
			page_error(e->pg, 404, NULL);
			return;
		}
		const char *sent = form_get(f, "version");
		const char *version = json_object_get_string(json_object_object_get(item, "version"));
		struct portal_req *sub =
		    ed_patch(e, id, ed_writable(e, item), ed_writable(e, doc),
		             sent && version && strcmp(sent, version) == 0 ? etag : "\"stale\"", "restored");
		if (sub == NULL)
			return;
		if (sub->status == 412) {
			page_redirect(r, pool_printf(r->pool, "%s/%lld/history", e->base, id));
			return;
		}
		/* the old version does not pass today's rules: show it in the form */
		e->vals = form_values(r, e->it->schema, ed_writable(e, doc));
		ed_heading(e, ed_module_title(e, e->p), title);
		ed_after_write(e, sub, id, version, doc, title);
		return;
	}
	ed_heading(e, title, ew(e->pg, "history_heading"));
	size_t n = json_object_array_length(entries);
	if (n == 0) {
		buf_puts(&e->b, "<p>");
		esc(&e->b, ew(e->pg, "no_history"));
		buf_puts(&e->b, "</p>\n");
	}
	const char *version = json_object_get_string(json_object_object_get(item, "version"));
	for (size_t i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(entries, i);
		const char *action = json_object_get_string(json_object_object_get(x, "action"));
		const char *who = json_object_get_string(json_object_object_get(x, "user"));
		struct json_object *tok = json_object_object_get(x, "token_id");
		if (who == NULL)
			who = tok ? pool_printf(r->pool, "%s %s", ew(e->pg, "token_n"), json_object_get_string(tok))
			          : ew(e->pg, "unknown_who");
		buf_puts(&e->b, "<section class=\"history-entry\"><h2>");
		esc(&e->b, json_object_get_string(json_object_object_get(x, "at")));
		buf_puts(&e->b, ": ");
		esc(&e->b, who);
		buf_puts(&e->b, " (");
		esc(&e->b, ew(e->pg, action && strcmp(action, "create") == 0   ? "created"
		                     : action && strcmp(action, "delete") == 0 ? "deleted_action"
		                                                                : "updated_action"));
		buf_puts(&e->b, ")</h2>\n");
		struct json_object *before = json_object_object_get(x, "before");
		struct json_object *after = json_object_object_get(x, "after");
		ed_compare(e, before ? ed_writable(e, before) : NULL, after ? ed_writable(e, after) : NULL,
		           ew(e->pg, "before"), ew(e->pg, "after"));
		if (i > 0 && after && e->role >= PORTAL_ROLE_EDITOR) {
			buf_puts(&e->b, "<form method=\"post\" action=\"");
			esc(&e->b, e->base);
			buf_printf(&e->b, "/%lld/history\">\n<input type=\"hidden\" name=\"csrf\" value=\"", id);
			esc(&e->b, r->user->csrf);
			buf_puts(&e->b, "\">\n<input type=\"hidden\" name=\"version\" value=\"");
			esc(&e->b, version ? version : "");
			buf_puts(&e->b, "\">\n<input type=\"hidden\" name=\"_restore\" value=\"");
			esc(&e->b, json_object_get_string(json_object_object_get(x, "id")));
			buf_puts(&e->b, "\">\n<button class=\"button button-secondary\" type=\"submit\">");
			esc(&e->b, ew(e->pg, "restore"));
			buf_puts(&e->b, "<span class=\"visually-hidden\"> (");
			esc(&e->b, json_object_get_string(json_object_object_get(x, "at")));
			buf_puts(&e->b, ")</span></button>\n</form>\n");
		}
		buf_puts(&e->b, "</section>\n");
	}
	buf_puts(&e->b, "<p><a class=\"link\" href=\"");
	esc(&e->b, e->base);
	buf_printf(&e->b, "/%lld\">", id);
	esc(&e->b, title);
	buf_puts(&e->b, "</a></p>\n");
	ed_send(e, 200, pool_printf(r->pool, "%s: %s", ew(e->pg, "history_heading"), title), NULL, NULL);
}

/* ---- files ---- */

/* "1.2 MB", "120 kB": a file's size for people (as the modules' pages). */
static const char *
ed_size(struct ed *e, long long bytes)
{
	if (bytes >= 1000000)
		return pool_printf(e->r->pool, "%.1f MB", (double)bytes / 1e6);
	return pool_printf(e->r->pool, "%lld kB", (bytes + 999) / 1000);
}

/*
 * Uploads `ff` as the signed-in user through the API's own POST
 * /api/v1/{m}/media (the file as the body, its name as ?name=): type,
 * renditions, quota and dedupe are the API's.  The new (or existing)
 * record's id, or 0 with *status and *detail (in the page's language).
 */
static long long
ed_upload(struct ed *e, const struct form_file *ff, int *status, const char **detail)
{
	struct portal_req *r = e->r;
	if (ff->over) {
		*status = 413;
		*detail = ed_fill(e, "file_too_big", ed_mb(e));
		return 0;
	}
	if (ff->path == NULL || ff->bytes == 0) {
		*status = 422;
		*detail = ew(e->pg, "choose_file");
		return 0;
	}
	struct buf q;
	buf_init(&q, r->pool);
	if (*ff->filename && media_name_problem(ff->filename) == NULL) {
		buf_puts(&q, "name=");
		ed_url_part(&q, ff->filename);
	}
	buf_add(&q, "", 1);
	/* the type is read from the bytes: a browser's guess by the name is
	 * not sent */
	struct pages_call call = {.method = "POST",
	                          .path = pool_printf(r->pool, "/api/v1/%s/media", r->muni->slug),
	                          .query = q.data,
	                          .body_file = ff->path,
	                          .body_type = "application/octet-stream",
	                          .body_bytes = ff->bytes};
	struct portal_req *sub = e->pg->api(e->pg->c, r, &call);
	struct json_object *id;
	if ((sub->status == 200 || sub->status == 201) && sub->resp_json &&
	    json_object_object_get_ex(sub->resp_json, "id", &id))
		return json_object_get_int64(id);
	*status = sub->status >= 400 ? sub->status : 500;
	const char *d = sub->resp_json ? json_object_get_string(json_object_object_get(sub->resp_json,
	                                                                                 "detail"))
	                               : NULL;
	*detail = msg_translate(r->pool, e->pg->lang, d ? d : "the server could not store the file");
	return 0;
}

/* The files sent with an item's form: each "_file.PATH" with a file is
 * uploaded and its id becomes PATH's value (a member holding a file's
 * id).  {PATH: message} of the refused ones (empty when none). */
static struct json_object *
ed_form_uploads(struct ed *e, struct form *f)
{
	struct json_object *errs = pool_keep_json(e->r->pool, json_object_new_object());
	for (size_t i = 0; i < f->nfiles; i++) {
		const struct form_file *ff = &f->files[i];
		if (strncmp(ff->field, "_file.", 6) != 0)
			continue;
		const char *path = ff->field + 6, *target = ed_link_target(e, path);
		if (ff->path == NULL && !ff->over)
			continue; /* no file chosen */
		if (target == NULL || strcmp(target, "media") != 0) {
			json_object_object_add(errs, path, json_object_new_string(
			                                       msg_translate(e->r->pool, e->pg->lang,
			                                                     "is not a field that holds a file")));
			continue;
		}
		int status = 0;
		const char *detail = NULL;
		long long id = ed_upload(e, ff, &status, &detail);
		if (id <= 0) {
			json_object_object_add(errs, path, json_object_new_string(detail));
			continue;
		}
		const char *v = pool_printf(e->r->pool, "%lld", id);
		int set = 0;
		for (size_t k = 0; k < f->n; k++)
			if (strcmp(f->pairs[k].name, path) == 0) {
				f->pairs[k].value = (char *)v;
				set = 1;
			}
		if (!set && form_add(e->r->pool, f, pool_strdup(e->r->pool, path), strlen(path), (char *)v,
		                     strlen(v), &detail) == 0) /* a form without the select */
			form_finish(e->r->pool, f, &detail);
	}
	return errs;
}

/* /edit/{m}/media/: the municipality's files (thumbnail, name, type,
 * size, delete) and the form to upload one; POST uploads (a "file"), or
 * deletes file `_delete`. */
static void
ed_media(struct ed *e, struct form *f)
{
	struct portal_req *r = e->r;
	const char *title = ew(e->pg, "files");
	const char *base = pool_printf(r->pool, "/edit/%s/media/", r->muni->slug);
	int status = 200;
	const char *summary = NULL;
	if (f != NULL) {
		const char *del = form_get(f, "_delete");
		if (del) {
			long long id = item_parse_id(del);
			struct pages_call call = {
			    .method = "DELETE",
			    .path = pool_printf(r->pool, "/api/v1/%s/media/%lld", r->muni->slug, id > 0 ? id : 0)};
			struct portal_req *sub = e->pg->api(e->pg->c, r, &call);
			if (sub->status == 204) {
				page_redirect(r, pool_printf(r->pool, "%s?deleted=1", base));
				return;
			}
			status = sub->status >= 400 ? sub->status : 500;
			const char *d = sub->resp_json ? json_object_get_string(json_object_object_get(
			                                     sub->resp_json, "detail"))
			                               : NULL;
			summary = msg_translate(r->pool, e->pg->lang, d ? d : "the file cannot be deleted");
			if (status >= 500) {
				page_error(e->pg, status, summary);
				return;
			}
		} else {
			const struct form_file *ff = form_file(f, "file");
			int st = 422;
			const char *detail = ew(e->pg, "choose_file");
			long long id = ff ? ed_upload(e, ff, &st, &detail) : 0;
			if (id > 0) {
				page_redirect(r, pool_printf(r->pool, "%s?uploaded=%lld", base, id));
				return;
			}
			if (st >= 500 && st != 507) {
				page_error(e->pg, st, detail);
				return;
			}
			status = st;
			e->errs = pool_keep_json(r->pool, json_object_new_object());
			json_object_object_add(e->errs, "file", json_object_new_string(detail));
		}
	}
	struct pages_call call = {.path = pool_printf(r->pool, "/api/v1/%s/media", r->muni->slug),
	                          .query = "limit=100"};
	struct portal_req *sub = e->pg->api(e->pg->c, r, &call);
	struct json_object *items = NULL;
	if (sub->status != 200 || sub->resp_json == NULL ||
	    !json_object_object_get_ex(sub->resp_json, "items", &items)) {
		page_error(e->pg, sub->status >= 400 ? sub->status : 500, NULL);
		return;
	}
	ed_heading(e, r->muni->name, title);
	buf_puts(&e->b, "<p>");
	esc(&e->b, ew(e->pg, "files_intro"));
	buf_puts(&e->b, "</p>\n");
	if (e->role >= PORTAL_ROLE_EDITOR) {
		buf_puts(&e->b, "<form method=\"post\" enctype=\"multipart/form-data\" novalidate action=\"");
		esc(&e->b, base);
		buf_puts(&e->b, "\">\n<input type=\"hidden\" name=\"csrf\" value=\"");
		esc(&e->b, r->user->csrf);
		buf_puts(&e->b, "\">\n");
		ed_group_open(e, "file");
		buf_puts(&e->b, "<label class=\"label\" for=\"f-file\">");
		esc(&e->b, ew(e->pg, "upload_label"));
		buf_puts(&e->b, "</label>\n<p class=\"hint\" id=\"f-file-hint\">");
		esc(&e->b, ed_fill(e, "upload_hint", ed_mb(e)));
		buf_puts(&e->b, "</p>\n");
		ed_error_message(e, "file");
		buf_puts(&e->b, "<input class=\"file-input\" type=\"file\" name=\"file\" id=\"f-file\" "
		                "accept=\"image/jpeg,image/png,image/webp,application/pdf\" "
		                "aria-describedby=\"f-file-hint");
		if (ed_err(e, "file"))
			buf_puts(&e->b, " f-file-error\" aria-invalid=\"true");
		buf_puts(&e->b, "\">\n</div>\n<div class=\"button-group\"><button class=\"button\" type=\"submit\">");
		esc(&e->b, ew(e->pg, "upload"));
		buf_puts(&e->b, "</button></div>\n</form>\n");
	}
	size_t n = json_object_array_length(items);
	if (n == 0) {
		buf_puts(&e->b, "<p>");
		esc(&e->b, ew(e->pg, "no_files"));
		buf_puts(&e->b, "</p>\n");
	} else {
		buf_puts(&e->b, "<table class=\"table files\"><caption class=\"visually-hidden\">");
		esc(&e->b, title);
		buf_puts(&e->b, "</caption>\n<thead><tr><th scope=\"col\">");
		esc(&e->b, ew(e->pg, "file_preview"));
		buf_puts(&e->b, "</th><th scope=\"col\">");
		esc(&e->b, ew(e->pg, "file_name"));
		buf_puts(&e->b, "</th><th scope=\"col\">");
		esc(&e->b, ew(e->pg, "file_type"));
		buf_puts(&e->b, "</th><th scope=\"col\">");
		esc(&e->b, ew(e->pg, "file_size"));
		buf_puts(&e->b, "</th><th scope=\"col\">");
		esc(&e->b, ew(e->pg, "file_added"));
		buf_puts(&e->b, "</th>");
		if (e->role >= PORTAL_ROLE_EDITOR) {
			buf_puts(&e->b, "<th scope=\"col\"><span class=\"visually-hidden\">");
			esc(&e->b, ew(e->pg, "remove_file"));
			buf_puts(&e->b, "</span></th>");
		}
		buf_puts(&e->b, "</tr></thead>\n<tbody>\n");
		for (size_t i = 0; i < n; i++) {
			struct json_object *it = json_object_array_get_idx(items, i), *rend;
			const char *id = json_object_get_string(json_object_object_get(it, "id"));
			const char *url = json_object_get_string(json_object_object_get(it, "url"));
			const char *type = json_object_get_string(json_object_object_get(it, "type"));
			const char *name = json_object_get_string(json_object_object_get(it, "name"));
			const char *thumb = NULL;
			if (json_object_object_get_ex(it, "renditions", &rend))
				for (size_t k = 0; k < json_object_array_length(rend); k++) {
					struct json_object *x = json_object_array_get_idx(rend, k);
					if (json_object_get_int(json_object_object_get(x, "width")) <= 320)
						thumb = json_object_get_string(json_object_object_get(x, "url"));
				}
			if (thumb == NULL && type && strncmp(type, "image/", 6) == 0)
				thumb = url;
			if (name == NULL)
				name = pool_printf(r->pool, "%s %s", ew(e->pg, "file_name"), id);
			buf_puts(&e->b, "<tr id=\"file-");
			esc(&e->b, id);
			buf_puts(&e->b, "\"><td>");
			if (thumb) {
				/* the name is in the next cell: the thumbnail is decorative */
				buf_puts(&e->b, "<img class=\"thumb\" src=\"");
				esc(&e->b, thumb);
				buf_puts(&e->b, "\" alt=\"\" width=\"80\" loading=\"lazy\">");
			}
			buf_puts(&e->b, "</td><td><a href=\"");
			esc(&e->b, url);
			buf_puts(&e->b, "\">");
			esc(&e->b, name);
			buf_puts(&e->b, "</a> <span class=\"hint\">(");
			esc(&e->b, id);
			buf_puts(&e->b, ")</span></td><td>");
			const struct media_kind *k = media_kind_of(type);
			esc(&e->b, k ? (strcmp(k->ext, "jpg") == 0 ? "JPEG" : strcmp(k->ext, "png") == 0 ? "PNG"
			                                               : strcmp(k->ext, "webp") == 0 ? "WebP" : "PDF")
			             : type);
			buf_puts(&e->b, "</td><td>");
			esc(&e->b, ed_size(e, json_object_get_int64(json_object_object_get(it, "bytes"))));
			buf_puts(&e->b, "</td><td>");
			esc(&e->b, json_object_get_string(json_object_object_get(it, "created_at")));
			buf_puts(&e->b, "</td>");
			if (e->role >= PORTAL_ROLE_EDITOR) {
				buf_puts(&e->b, "<td><form method=\"post\" action=\"");
				esc(&e->b, base);
				buf_puts(&e->b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
				esc(&e->b, r->user->csrf);
				buf_puts(&e->b, "\"><input type=\"hidden\" name=\"_delete\" value=\"");
				esc(&e->b, id);
				buf_puts(&e->b, "\"><button class=\"button button-secondary\" type=\"submit\">");
				esc(&e->b, ew(e->pg, "remove_file"));
				buf_puts(&e->b, "<span class=\"visually-hidden\"> ");
				esc(&e->b, name);
				buf_puts(&e->b, "</span></button></form></td>");
			}
			buf_puts(&e->b, "</tr>\n");
		}
		buf_puts(&e->b, "</tbody></table>\n");
	}
	const char *note = req_query(r, "uploaded")  ? ew(e->pg, "uploaded")
	                   : req_query(r, "deleted") ? ew(e->pg, "file_deleted")
	                                             : NULL;
	ed_send(e, status, title, note, summary);
}

/* ---- dispatch ---- */

static struct json_object *
ed_links_of(struct ed *e)
{
	return pool_keep_json(e->r->pool, registry_links(e->p));
}

int
edit_dispatch(struct page *pg)
{
	struct portal_req *r = pg->r;
	pg->personal = 1;
	if (account_require(pg) != PORTAL_OK)
		return PORTAL_DONE;
	if (account_admin(pg) == PORTAL_DONE)
		return PORTAL_DONE;
	pg->lang = page_lang(r);
	int post = strcmp(r->method, "POST") == 0;
	if (!post && strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		out_header(r, "Allow", "GET, HEAD, POST");
		out_problem(r, 405, "the editor's pages answer GET and POST");
		return PORTAL_DONE;
	}
	struct form form, *f = NULL;
	if (post) {
		const char *detail = NULL;
		int st = req_read_form_files(r, &form, &detail);
		page_root(pg, NULL);
		if (st != 0) {
			page_error(pg, st, detail);
			return PORTAL_DONE;
		}
		if (account_csrf(pg, &form) != PORTAL_OK)
			return PORTAL_DONE;
		f = &form;
	}
	struct ed e;
	memset(&e, 0, sizeof(e));
	e.pg = pg;
	e.r = r;
	buf_init(&e.b, r->pool);
	e.opts = pool_keep_json(r->pool, json_object_new_object());
	e.vals = pool_keep_json(r->pool, json_object_new_object());

	if (r->nseg == 1 || (r->nseg == 2 && *r->seg[1] == '\0')) {
		page_root(pg, NULL);
		if (post) {
			page_error(pg, 405, NULL);
			return PORTAL_DONE;
		}
		ed_index(&e, NULL);
		return PORTAL_DONE;
	}
	r->muni = conf_municipality(pg->c->conf, r->seg[1]);
	page_root(pg, NULL);
	if (r->muni == NULL) {
		page_error(pg, 404, NULL);
		return PORTAL_DONE;
	}
	e.role = auth_user_role(r->user, r->muni->slug);
	if (e.role < PORTAL_ROLE_READER) {
		page_error(pg, 403, ew(pg, "forbidden"));
		return PORTAL_DONE;
	}
	if (r->nseg == 2 || (r->nseg == 3 && *r->seg[2] == '\0')) {
		ed_index(&e, r->muni);
		return PORTAL_DONE;
	}
	if (strcmp(r->seg[2], "media") == 0) {
		/* the municipality's files (every municipality's: no module) */
		if (r->nseg > 4 || (r->nseg == 4 && *r->seg[3] != '\0')) {
			page_error(pg, 404, NULL);
		} else if (post && e.role < PORTAL_ROLE_EDITOR) {
			page_error(pg, 403, ew(pg, "read_only"));
		} else {
			ed_media(&e, f);
		}
		return PORTAL_DONE;
	}
	portal_plugin *p = conf_muni_has_module(r->muni, r->seg[2]) ? plugin_find(pg->c->plugins, r->seg[2]) : NULL;
	if (p == NULL || p->item == NULL || r->nseg > 5) {
		page_error(pg, 404, NULL);
		return PORTAL_DONE;
	}
	e.p = p;
	e.it = p->item;
	pg->labels = page_words(p, pg->lang);
	e.links = ed_links_of(&e);
	e.base = pool_printf(r->pool, "/edit/%s/%s", r->muni->slug, p->name);
	if (post && e.role < PORTAL_ROLE_EDITOR) {
		page_error(pg, 403, ew(pg, "read_only"));
		return PORTAL_DONE;
	}
	if (r->nseg == 3 || (r->nseg == 4 && *r->seg[3] == '\0')) {
		if (post)
			page_error(pg, 405, NULL);
		else
			ed_list(&e);
		return PORTAL_DONE;
	}
	if (r->nseg == 4 && strcmp(r->seg[3], "new") == 0) {
		if (e.role < PORTAL_ROLE_EDITOR)
			page_error(pg, 403, ew(pg, "read_only"));
		else
			ed_new(&e, f);
		return PORTAL_DONE;
	}
	long long id = item_parse_id(r->seg[3]);
	if (id < 0) {
		page_error(pg, 404, NULL);
		return PORTAL_DONE;
	}
	if (r->nseg == 4)
		ed_item(&e, id, f);
	else if (strcmp(r->seg[4], "history") == 0)
		ed_history(&e, id, f);
	else if (strcmp(r->seg[4], "delete") == 0 && e.role >= PORTAL_ROLE_EDITOR)
		ed_delete(&e, id, f);
	else
		page_error(pg, 404, NULL);
	return PORTAL_DONE;
}
