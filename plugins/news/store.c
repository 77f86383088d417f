/*
 * store.c - the news table (schema/001_init.sql).  Only prepared
 * statements with constant SQL: the core caches them per worker by text.
 * Every function ends the statements it used (api->done) before it
 * returns, and answers PORTAL_ERROR on a database failure, which the
 * handler passes on so the core answers 500/503.
 */
#include <string.h>

#include "news.h"

/* The columns doc_from_row reads (enum store_col). */
#define STORE_COLS                                                                  \
	"n.id, n.municipality, n.slug, n.title, n.lead, n.body, n.lang, n.status, "     \
	"DATE_FORMAT(n.published_at, '%Y-%m-%dT%H:%i:%sZ'), n.author, n.areas, "        \
	"n.related, n.image_url, n.image_alt, n.image_credit, "                         \
	"DATE_FORMAT(n.created_at, '%Y-%m-%dT%H:%i:%sZ'), "                             \
	"DATE_FORMAT(n.updated_at, '%Y-%m-%dT%H:%i:%sZ'), n.version, "                  \
	"DATE_FORMAT(n.sort_at, '%Y-%m-%d %H:%i:%s')"

static const char store_sql_load[] =
    "SELECT " STORE_COLS " FROM news n WHERE n.id = ? AND n.municipality = ?";

static const char store_sql_load_lock[] =
    "SELECT " STORE_COLS " FROM news n WHERE n.id = ? AND n.municipality = ? FOR UPDATE";

/*
 * The list: every filter is always in the statement and switched off by
 * binding NULL, so there is one SQL text.  Newest first: keyset
 * pagination on (sort_at, id) descending, which the index news_list
 * serves; sort_at is published_at, or the end of time for a draft that
 * has none (so undated drafts come first, newest id first).  `lang`
 * matches a tag and its subtags (RFC 4647 basic filtering: "sv" finds
 * "sv-FI"); the column's collation makes it case-insensitive.
 */
#define STORE_TERM " AND (? IS NULL OR n.search_text LIKE ? ESCAPE '!')"
static const char store_sql_list[] =
    "SELECT " STORE_COLS " FROM news n"
    " WHERE n.municipality = ?"
    " AND (? = 1 OR n.status = 'published')"
    " AND (? IS NULL OR n.status = ?)"
    " AND (? IS NULL OR n.lang = ? OR n.lang LIKE CONCAT(?, '-%'))"
    " AND (? IS NULL OR JSON_CONTAINS(n.areas, JSON_QUOTE(?)))"
    " AND (? IS NULL OR n.published_at >= ?)"
    " AND (? IS NULL OR n.slug = ?)"
    STORE_TERM STORE_TERM STORE_TERM STORE_TERM
    " AND (? IS NULL OR n.sort_at < ? OR (n.sort_at = ? AND n.id < ?))"
    " ORDER BY n.sort_at DESC, n.id DESC LIMIT ?";

static const char store_sql_slug[] =
    "SELECT n.id FROM news n WHERE n.municipality = ? AND n.slug = ? AND n.id <> ?";

/* The 14 columns a client writes, in the order store_bind_item binds them. */
#define STORE_ITEM_COLS 14
static const char store_sql_insert[] =
    "INSERT INTO news (municipality, slug, title, lead, body, lang, status, published_at,"
    " author, areas, related, image_url, image_alt, image_credit, search_text, version,"
    " created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1,"
    " UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))";

static const char store_sql_update[] =
    "UPDATE news SET slug = ?, title = ?, lead = ?, body = ?, lang = ?, status = ?,"
    " published_at = ?, author = ?, areas = ?, related = ?, image_url = ?, image_alt = ?,"
    " image_credit = ?, search_text = ?, version = version + 1,"
    " updated_at = UTC_TIMESTAMP(3)"
    " WHERE id = ? AND municipality = ?";

static const char store_sql_delete[] = "DELETE FROM news WHERE id = ? AND municipality = ?";

/* Member `key` of `o` (NULL when absent, null or `o` is not an object). */
static struct json_object *
store_member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* Binds a string member, or NULL. */
static void
store_bind_str(portal_stmt *s, unsigned i, struct json_object *o, const char *key)
{
	struct json_object *v = store_member(o, key);
	api->bind_text(s, i, json_object_is_type(v, json_type_string) ? json_object_get_string(v)
	                                                               : NULL);
}

/* Binds a JSON member as text (a request string), `empty` when absent. */
static void
store_bind_json(portal_req *r, portal_stmt *s, unsigned i, struct json_object *o,
                const char *key, const char *empty)
{
	struct json_object *v = store_member(o, key);
	const char *text = empty;
	if (v != NULL)
		text = api->strdup(r, json_object_to_json_string_ext(
		                          v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	api->bind_text(s, i, text);
}

/* Binds the STORE_ITEM_COLS columns of a validated item from parameter
 * `first` on, in the order of the INSERT and UPDATE statements. */
static void
store_bind_item(portal_req *r, portal_stmt *s, unsigned first, struct json_object *doc)
{
	struct json_object *image = store_member(doc, "image");
	const char *at = doc_str(doc, "published_at"); /* normalised by doc_check */
	unsigned i = first;
	store_bind_str(s, i++, doc, "slug");
	store_bind_str(s, i++, doc, "title");
	store_bind_str(s, i++, doc, "lead");
	store_bind_str(s, i++, doc, "body");
	store_bind_str(s, i++, doc, "lang");
	store_bind_str(s, i++, doc, "status");
	api->bind_text(s, i++, at ? doc_sql_time(r, at) : NULL);
	store_bind_str(s, i++, doc, "author");
	store_bind_json(r, s, i++, doc, "areas", "[]");
	store_bind_json(r, s, i++, doc, "related", "{}");
	store_bind_str(s, i++, image, "url");
	store_bind_str(s, i++, image, "alt");
	store_bind_str(s, i++, image, "credit");
	api->bind_text(s, i++, doc_search_text(r, doc));
}

int
store_load(portal_req *r, long long id, int for_update, struct json_object **item,
           long long *version)
{
	portal_stmt *s = api->prepare(r, for_update ? store_sql_load_lock : store_sql_load);
	if (s == NULL)
		return PORTAL_ERROR;
	api->bind_int(s, 0, id);
	api->bind_text(s, 1, api->municipality(r));
	if (api->execute(s) != PORTAL_OK) {
		api->done(s);
		return PORTAL_ERROR;
	}
	int rc = api->fetch(s);
	if (rc != 1) {
		api->done(s);
		return rc == 0 ? 0 : PORTAL_ERROR;
	}
	struct json_object *it = doc_from_row(r, s);
	*version = api->col_int(s, COL_VERSION);
	api->done(s);
	if (it == NULL)
		return PORTAL_ERROR;
	*item = api->keep(r, it);
	return 1;
}

/* Binds "(? IS NULL OR x = ?)": the value twice, or NULL twice. */
static unsigned
store_bind_opt(portal_stmt *s, unsigned i, const char *v)
{
	api->bind_text(s, i, v);
	api->bind_text(s, i + 1, v);
	return i + 2;
}

int
store_list(portal_req *r, const struct store_filter *f, struct json_object *items, int *more,
           const char **last_sort)
{
	portal_stmt *s = api->prepare(r, store_sql_list);
	if (s == NULL)
		return PORTAL_ERROR;
	unsigned i = 0;
	api->bind_text(s, i++, api->municipality(r));
	api->bind_int(s, i++, f->insider ? 1 : 0);
	i = store_bind_opt(s, i, f->status);
	i = store_bind_opt(s, i, f->lang);
	api->bind_text(s, i++, f->lang);
	i = store_bind_opt(s, i, f->area);
	i = store_bind_opt(s, i, f->since);
	i = store_bind_opt(s, i, f->slug);
	for (int t = 0; t < NEWS_Q_TERMS; t++)
		i = store_bind_opt(s, i, f->terms[t]);
	if (f->after_sort) {
		api->bind_text(s, i++, f->after_sort);
		api->bind_text(s, i++, f->after_sort);
		api->bind_text(s, i++, f->after_sort);
		api->bind_int(s, i++, f->after_id);
	} else {
		for (int k = 0; k < 4; k++)
			api->bind_null(s, i++);
	}
	api->bind_int(s, i, f->limit + 1); /* one more tells whether a next page exists */
	if (api->execute(s) != PORTAL_OK) {
		api->done(s);
		return PORTAL_ERROR;
	}

	size_t n = 0;
	int rc;
	*more = 0;
	while ((rc = api->fetch(s)) == 1) {
		if (n == (size_t)f->limit) {
			*more = 1;
			break;
		}
		struct json_object *it = doc_from_row(r, s);
		if (it == NULL) {
			rc = PORTAL_ERROR;
			break;
		}
		json_object_array_add(items, it); /* the array owns it */
		*last_sort = api->strdup(r, api->col_text(s, COL_SORT_AT));
		n++;
	}
	api->done(s);
	return rc < 0 ? PORTAL_ERROR : PORTAL_OK;
}

int
store_slug_taken(portal_req *r, const char *slug, long long except_id)
{
	portal_stmt *s = api->prepare(r, store_sql_slug);
	if (s == NULL)
		return PORTAL_ERROR;
	api->bind_text(s, 0, api->municipality(r));
	api->bind_text(s, 1, slug);
	api->bind_int(s, 2, except_id);
	if (api->execute(s) != PORTAL_OK) {
		api->done(s);
		return PORTAL_ERROR;
	}
	int rc = api->fetch(s);
	api->done(s);
	return rc < 0 ? PORTAL_ERROR : rc;
}

long long
store_insert(portal_req *r, struct json_object *doc)
{
	portal_stmt *s = api->prepare(r, store_sql_insert);
	if (s == NULL)
		return PORTAL_ERROR;
	api->bind_text(s, 0, api->municipality(r));
	store_bind_item(r, s, 1, doc);
	if (api->execute(s) != PORTAL_OK) {
		int dup = api->is_duplicate(s);
		api->done(s);
		return dup ? STORE_DUPLICATE : PORTAL_ERROR;
	}
	long long id = api->insert_id(s);
	api->done(s);
	return id > 0 ? id : PORTAL_ERROR;
}

int
store_update(portal_req *r, long long id, struct json_object *doc)
{
	portal_stmt *s = api->prepare(r, store_sql_update);
	if (s == NULL)
		return PORTAL_ERROR;
	store_bind_item(r, s, 0, doc);
	api->bind_int(s, STORE_ITEM_COLS, id);
	api->bind_text(s, STORE_ITEM_COLS + 1, api->municipality(r));
	int rc = api->execute(s);
	if (rc != PORTAL_OK && api->is_duplicate(s))
		rc = STORE_DUPLICATE;
	api->done(s);
	return rc;
}

int
store_delete(portal_req *r, long long id)
{
	portal_stmt *s = api->prepare(r, store_sql_delete);
	if (s == NULL)
		return PORTAL_ERROR;
	api->bind_int(s, 0, id);
	api->bind_text(s, 1, api->municipality(r));
	int rc = api->execute(s);
	api->done(s);
	return rc;
}
