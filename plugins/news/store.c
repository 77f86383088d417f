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

/* Binds the STORE_ITEM_COLS columns of a validated item from parameter
 * `first` on, in the order of the INSERT and UPDATE statements. */
static void
store_bind_item(portal_req *r, portal_stmt *s, unsigned first, struct json_object *doc)
{
	struct json_object *image = NULL;
	json_object_object_get_ex(doc, "image", &image);
	const char *at = doc_str(doc, "published_at"); /* normalised by doc_check */
	unsigned i = first;
	api->bind_member_text(s, i++, doc, "slug");
	api->bind_member_text(s, i++, doc, "title");
	api->bind_member_text(s, i++, doc, "lead");
	api->bind_member_text(s, i++, doc, "body");
	api->bind_member_text(s, i++, doc, "lang");
	api->bind_member_text(s, i++, doc, "status");
	api->bind_text(s, i++, at ? doc_sql_time(r, at) : NULL);
	api->bind_member_text(s, i++, doc, "author");
	api->bind_member_json(r, s, i++, doc, "areas", "[]");
	api->bind_member_json(r, s, i++, doc, "related", "{}");
	api->bind_member_text(s, i++, image, "url");
	api->bind_member_text(s, i++, image, "alt");
	api->bind_member_text(s, i++, image, "credit");
	api->bind_text(s, i++, doc_search_text(r, doc));
}

int
store_load(portal_req *r, long long id, int for_update, struct json_object **item,
           long long *version)
{
	portal_stmt *s;
	int rc = api->by_id_row(r, for_update ? store_sql_load_lock : store_sql_load, id, &s);
	if (rc != 1)
		return rc;
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
store_list(portal_req *r, const struct portal_list *l, struct json_object *items, int *more,
           const char **last_sort)
{
	portal_stmt *s = api->prepare(r, store_sql_list);
	if (s == NULL)
		return PORTAL_ERROR;
	unsigned i = 0;
	api->bind_text(s, i++, api->municipality(r));
	api->bind_int(s, i++, l->insider ? 1 : 0);
	i = store_bind_opt(s, i, l->arg[F_STATUS]);
	i = store_bind_opt(s, i, l->arg[F_LANG]);
	api->bind_text(s, i++, l->arg[F_LANG]);
	i = store_bind_opt(s, i, l->arg[F_AREA]);
	i = store_bind_opt(s, i, l->arg[F_SINCE]);
	i = store_bind_opt(s, i, l->arg[F_SLUG]);
	return api->list_rows(r, s, i, l, doc_from_row, COL_SORT_AT, items, more, last_sort);
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
	return api->by_id_exec(r, store_sql_delete, id);
}
