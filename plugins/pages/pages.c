/*
 * pages.c - the pages module: the municipality's own texts about its
 * international work (its strategy, goals, organisation, an introduction,
 * how to take part), written in Markdown and served with their safe HTML.
 *
 * The item is declared once, below (fields, columns of the table `pages`,
 * filters, sort key); the core derives the five routes, the SQL and the
 * item's JSON from it (portal.h, struct portal_item).  What is this
 * module's own: translations (a shared `key`: the pages with one key are
 * one text in several languages, at most one page per language: 409),
 * the order of the list and the attached documents.  Declared, and done
 * by the core: the slug (PF_SLUG made of the title, unique in the
 * municipality: 409, the list's slug argument; key is a PF_SLUG too),
 * drafts (`published`) and body_html (`from` the Markdown body).
 *
 * Drafts exist only for a token of the municipality with role reader or
 * higher: for everyone else a draft answers 404, is absent from lists and
 * from a page's `translations` (pages_render).
 *
 * The overview (/{m}/) shows the page whose key is "introduction"
 * (messages.json, overview_query).
 */
#include <stdio.h>
#include <string.h>

#include "portal.h"

PORTAL_PLUGIN_API; /* defined by PORTAL_PLUGIN, at the end */

#define PAGES_SLUG_MAX 100  /* bytes of a slug and of a key */
#define PAGES_ORDER_MAX 9999

static const char *const pages_statuses[] = {"draft", "published", NULL};

/* What pages_render shows of each translation of a page. */
static const struct portal_field pages_translation_fields[] = {
	{.name = "id", .type = PF_INT, .flags = PF_REQUIRED, .min = 1, .max_num = 1e18},
	{.name = "lang", .type = PF_LANG, .flags = PF_REQUIRED},
	{.name = "slug", .type = PF_STRING, .flags = PF_REQUIRED, .max = PAGES_SLUG_MAX,
	 .pattern = PORTAL_SLUG_PATTERN, .doc = "a-z, 0-9 and hyphens, not first or last."},
	{.name = "title", .type = PF_STRING, .flags = PF_REQUIRED, .max = 300},
	{.name = NULL},
};
static const struct portal_field pages_translation = {
	.name = "translation", .type = PF_OBJECT, .fields = pages_translation_fields};

/* The item.  slug, key and status are filled in before it is checked on
 * create (the core, pages_prepare, the defaults). */
#define PAGES_MAX_ATTACHMENTS 50

/* An attached document: an uploaded PDF (POST /api/v1/{m}/media) and the
 * title the page shows for it (else the file's name). */
static const struct portal_field pages_attachment_fields[] = {
	{.name = "media", .type = PF_INT, .flags = PF_REQUIRED, .min = 1, .max_num = 1e18,
	 .link = "media"},
	{.name = "title", .type = PF_STRING, .max = 300},
	{.name = NULL},
};
static const struct portal_field pages_attachment = {.name = "attachment", .type = PF_OBJECT,
                                                     .fields = pages_attachment_fields};

/* An attachment as pages show it: which one (its index), the file's URL,
 * name (the title, else the file's), type and size. */
static const struct portal_field pages_document_fields[] = {
	{.name = "attachment", .type = PF_INT},
	PORTAL_FILE_ENTRY_FIELDS, /* api->file_entry */
	{.name = NULL},
};
static const struct portal_field pages_document = {.name = "document", .type = PF_OBJECT,
                                                   .fields = pages_document_fields};

static const struct portal_field pages_fields[] = {
	{.name = "slug", .type = PF_STRING, .flags = PF_REQUIRED | PF_SLUG | PF_UNIQUE,
	 .max = PAGES_SLUG_MAX, .from = "title",
	 .doc = "Unique within the municipality. Made of the title when absent or null (Vänorter "
	        "och samarbete: vanorter-och-samarbete; -2, -3 ... when taken)."},
	{.name = "key", .type = PF_STRING, .flags = PF_REQUIRED | PF_DERIVED | PF_SLUG,
	 .max = PAGES_SLUG_MAX, .column = "page_key",
	 .doc = "The text this page is a language of: the pages with one key are translations of "
	        "each other, at most one per language (409). The slug when absent or null."},
	{.name = "title", .type = PF_STRING, .flags = PF_REQUIRED | PF_SEARCH, .max = 300},
	{.name = "body", .type = PF_TEXT, .flags = PF_SEARCH | PF_MARKDOWN, .max = 100000},
	{.name = "body_html", .type = PF_TEXT, .flags = PF_READONLY, .from = "body"}, /* the core's HTML */
	{.name = "lang", .type = PF_LANG, .flags = PF_REQUIRED,
	 .doc = "BCP 47 language tag."},
	{.name = "order", .type = PF_INT, .flags = PF_REQUIRED, .min = 0,
	 .max_num = PAGES_ORDER_MAX, .column = "position",
	 .doc = "The list's order: lowest first, then the order of creation."},
	{.name = "status", .type = PF_ENUM, .flags = PF_REQUIRED, .values = pages_statuses},
	{.name = "translations", .type = PF_ARRAY, .flags = PF_READONLY, /* pages_render */
	 .items = &pages_translation,
	 .doc = "The other pages with the same key (the same text in other languages) the caller "
	        "may see, by language."},
	{.name = "attachments", .type = PF_ARRAY, .max = PAGES_MAX_ATTACHMENTS, .items = &pages_attachment,
	 .doc = "Documents attached to the page: uploaded PDFs of the municipality and the title "
	        "the page shows for each (else the file's name)."},
	{.name = "documents", .type = PF_ARRAY, .flags = PF_READONLY, .items = &pages_document,
	 .doc = "The attachments as pages show them (read-only): which attachment, the file's URL, "
	        "name, type and size."}, /* pages_render */
	{.name = NULL},
};


/* 1 when another page of this municipality than `except_id` (0: none)
 * has `key` in `lang`, 0 when none, PORTAL_ERROR. */
static int
pages_translation_taken(portal_req *r, const char *key, const char *lang, long long except_id)
{
	const char *const texts[] = {api->municipality(r), key, lang};
	portal_stmt *s = api->prepare(r, "SELECT p.id FROM pages p WHERE p.municipality = ?"
	                                 " AND p.page_key = ? AND p.lang = ? AND p.id <> ?");
	if (s == NULL)
		return PORTAL_ERROR;
	for (unsigned i = 0; i < 3; i++)
		api->bind_text(s, i, texts[i]);
	api->bind_int(s, 3, except_id);
	int rc = api->execute(s) == PORTAL_OK ? api->fetch(s) : PORTAL_ERROR;
	api->done(s);
	return rc < 0 ? PORTAL_ERROR : rc;
}

/* 1 when member `key` of `o` is absent or null. */
static int
pages_absent(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	return !json_object_object_get_ex(o, key, &v) || v == NULL;
}

/* prepare hook, after the core made a slug of the title: a create without
 * a key gets its slug (a page of its own, until a translation names it). */
static int
pages_prepare(portal_req *r, struct portal_write *w)
{
	if (w->before != NULL)
		return PORTAL_OK;
	if (pages_absent(w->doc, "key")) {
		const char *slug = api->member_str(w->doc, "slug");
		json_object_object_del(w->doc, "key");
		if (slug != NULL)
			json_object_object_add(w->doc, "key", json_object_new_string(slug));
	}
	return PORTAL_OK;
}

/* check hook (after the core checked that slug and key are slugs):
 * attachments[].media is an uploaded PDF of this municipality (strictly
 * on a create or a patch that writes the attachments). */
static int
pages_check(portal_req *r, struct portal_write *w)
{
	if (w->patch == NULL || json_object_object_get_ex(w->patch, "attachments", NULL))
		api->files_check(r, w->doc, "attachments[].media", "application/pdf",
		                 PAGES_MAX_ATTACHMENTS);
	return PORTAL_OK;
}

/* written hook: the attachments' files in the core's links (to_module
 * "media"), so that a file is not deleted while a page uses it. */
static int
pages_written(portal_req *r, struct portal_write *w)
{
	const char *title = api->member_str(w->item, "title"), *status = api->member_str(w->item, "status");
	return api->files_link(r, w->id, w->item, "attachments[].media", title ? title : "page",
	                       status && strcmp(status, "published") == 0);
}

/* "documents": the attachments' files (a file that is gone is left out). */
static void
pages_documents(portal_req *r, struct json_object *item)
{
	struct json_object *att = NULL, *docs = json_object_new_array();
	json_object_object_get_ex(item, "attachments", &att);
	size_t n = json_object_is_type(att, json_type_array) ? json_object_array_length(att) : 0;
	for (size_t k = 0; k < n; k++) {
		struct json_object *a = json_object_array_get_idx(att, k);
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "attachment", json_object_new_int64((long long)k));
		if (api->file_entry(r, o, a, "media", api->member_str(a, "title"), "document.pdf"))
			json_object_array_add(docs, o);
		else
			json_object_put(o);
	}
	json_object_object_add(item, "documents", docs);
}

/* before_write hook (after the core found the slug free): the key must
 * not have a page in this language yet (409). */
static int
pages_before_write(portal_req *r, struct portal_write *w)
{
	const char *key = api->member_str(w->doc, "key"), *lang = api->member_str(w->doc, "lang");
	int rc = pages_translation_taken(r, key, lang, w->id);
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc > 0) {
		api->field_error(r, "lang", "page \"%s\" already has a translation in %s", key, lang);
		api->problem(r, 409, "%s already has a page with key \"%s\" in %s",
		             api->municipality(r), key, lang);
		return PORTAL_DONE;
	}
	return PORTAL_OK;
}

/* conflict hook: a concurrent write took the slug or the key's language
 * between the checks before the write and the write: one 409 for both (a
 * page has two UNIQUE keys; the core rolls the transaction back). */
static int
pages_conflict(portal_req *r, struct portal_write *w)
{
	const char *slug = api->member_str(w->doc, "slug"), *key = api->member_str(w->doc, "key");
	return api->problem(r, 409, "%s already has a page with slug \"%s\", or with key \"%s\" in "
	                    "this language", api->municipality(r), slug ? slug : "", key ? key : "");
}

/* render hook (after the core's body_html): the documents, and the other
 * languages of the page (the pages with its key), as far as the caller
 * may see them. */
static int
pages_render(portal_req *r, struct json_object *item)
{
	pages_documents(r, item);

	struct json_object *list = json_object_new_array(), *idv;
	json_object_object_add(item, "translations", list);
	const char *key = api->member_str(item, "key");
	if (key == NULL || !json_object_object_get_ex(item, "id", &idv))
		return PORTAL_OK;
	portal_stmt *s = api->prepare(
	    r, "SELECT p.id, p.lang, p.title, p.slug FROM pages p WHERE p.municipality = ?"
	       " AND p.page_key = ? AND p.id <> ? AND (? OR p.status = 'published')"
	       " ORDER BY p.lang, p.id");
	if (s == NULL)
		return PORTAL_ERROR;
	api->bind_text(s, 0, api->municipality(r));
	api->bind_text(s, 1, key);
	api->bind_int(s, 2, json_object_get_int64(idv));
	api->bind_int(s, 3, api->role(r) >= PORTAL_ROLE_READER);
	if (api->execute(s) != PORTAL_OK) {
		api->done(s);
		return PORTAL_ERROR;
	}
	int rc;
	while ((rc = api->fetch(s)) == 1) {
		struct json_object *t = json_object_new_object();
		json_object_object_add(t, "id", json_object_new_int64(api->col_int(s, 0)));
		json_object_object_add(t, "lang", json_object_new_string(api->col_text(s, 1)));
		json_object_object_add(t, "title", json_object_new_string(api->col_text(s, 2)));
		json_object_object_add(t, "slug", json_object_new_string(api->col_text(s, 3)));
		json_object_array_add(list, t);
	}
	api->done(s);
	return rc < 0 ? PORTAL_ERROR : PORTAL_OK;
}

/* 1 when member `key` differs between a and b (both absent: the same). */
static int
pages_differs(struct json_object *a, struct json_object *b, const char *key)
{
	struct json_object *x = NULL, *y = NULL;
	json_object_object_get_ex(a, key, &x);
	json_object_object_get_ex(b, key, &y);
	return !json_object_equal(x, y);
}

/* saved hook: a page's translations are part of what its other languages
 * show, so their versions (their ETags) move when one of them is created
 * or changes what `translations` shows (title, slug, lang, status, key).
 * (A DELETE has no hook: the other languages keep their version then.) */
static int
pages_saved(portal_req *r, struct portal_write *w)
{
	static const char *const shown[] = {"title", "slug", "lang", "status", "key", NULL};
	const char *key = api->member_str(w->doc, "key"), *old = key;
	if (w->before != NULL) {
		int changed = 0;
		for (const char *const *m = shown; *m && !changed; m++)
			changed = pages_differs(w->before, w->doc, *m);
		if (!changed)
			return PORTAL_OK;
		if (api->member_str(w->before, "key") != NULL)
			old = api->member_str(w->before, "key");
	}
	portal_stmt *s = api->prepare(r, "UPDATE pages SET version = version + 1 WHERE municipality = ?"
	                                 " AND page_key IN (?, ?) AND id <> ?");
	if (s == NULL)
		return PORTAL_ERROR;
	api->bind_text(s, 0, api->municipality(r));
	api->bind_text(s, 1, key);
	api->bind_text(s, 2, old);
	api->bind_int(s, 3, w->id);
	int rc = api->execute(s);
	api->done(s);
	return rc;
}

/* ---- the list ---- */

/* sort_key: the order as five digits, so the text sorts as the number. */
static const char *
pages_sort_value(portal_req *r, struct json_object *doc)
{
	struct json_object *o;
	long long order = 0;
	if (json_object_object_get_ex(doc, "order", &o) && json_object_is_type(o, json_type_int))
		order = json_object_get_int64(o);
	return api->printf(r, "%05lld", order);
}

static const struct portal_column pages_columns[] = {
	{.name = "sort_key", .value = pages_sort_value},
	{.name = NULL},
};

/* 1 when `s` is a sort key this list gives out: five digits. */
static int
pages_is_sort_key(const char *s)
{
	if (strlen(s) != 5)
		return 0;
	for (int i = 0; i < 5; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* `lang` matches a tag and its subtags (RFC 4647 basic filtering: "sv"
 * finds "sv-FI"); the column's collation makes it case-insensitive. */
static const struct portal_filter pages_filters[] = {
	{.name = "status", .type = PF_ENUM, .values = pages_statuses, .sql = "t.status = ?",
	 .doc = "draft or published; drafts only with a reader token of the municipality."},
	{.name = "lang", .type = PF_LANG, .sql = "t.lang = ? OR t.lang LIKE CONCAT(?, '-%')",
	 .doc = "Pages in this language or one of its variants (sv finds sv and sv-FI)."},
	/* slug: the core's (a PF_SLUG member); key: a PF_SLUG member's, with
	 * what only this module can say of it */
	{.name = "key",
	 .doc = "The pages with this key: one text in each of its languages (key=introduction: "
	        "the municipality's introduction, which the overview shows)."},
	{.name = NULL},
};

/* In `order`, then by id (the order they were written). */
static const struct portal_item pages_item = {
	.noun = "page", .schema = pages_fields,
	.defaults = "{\"status\": \"draft\", \"order\": 0}",
	.list_summary = "list pages in their order (status, lang, slug, key, q, limit, cursor)",
	.table = "pages", .columns = pages_columns, .published = {"status", "published"},
	.sort = "t.sort_key", .cursor_key = pages_is_sort_key, .cursor_max = 5,
	.filters = pages_filters,
	/* the module's own rules */
	.prepare = pages_prepare, .check = pages_check,
	.before_write = pages_before_write, .conflict = pages_conflict, .saved = pages_saved,
	.written = pages_written, .render = pages_render,
};

PORTAL_PLUGIN(pages, "1.0.0", NULL, &pages_item, NULL);
