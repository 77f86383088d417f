/*
 * links.c - links between items of different modules.  The source plugin
 * checks a link with link_exists (the target plugin answers through the
 * hook it registered), stores it with link_set, and the target lists what
 * links to an item with links_to.  Rows live in the core's `links` table.
 */
#include <string.h>

#include <sodium.h>

#include "core.h"

/* What links to item `id` of `plugin`, read once per request for both its
 * ETag and its "linked" (r->ctx[REQ_CTX_LINKS]); forgotten when the request
 * writes links (links_set, links_forget). */
struct links_req {
	const portal_plugin *plugin;
	long long id;
	struct json_object *res;
	const char *fp;
};

int
links_target(portal_plugin *p, int (*exists)(portal_req *r, long long id))
{
	if (p == NULL || !p->in_init || exists == NULL)
		return PORTAL_ERROR;
	p->link_exists = exists;
	return PORTAL_OK;
}

int
links_exists(portal_req *r, const char *module, long long id)
{
	portal_plugin *t = module ? plugin_find(r->core->plugins, module) : NULL;
	if (t == NULL || t->link_exists == NULL || r->muni == NULL ||
	    !conf_muni_has_module(r->muni, module) || id <= 0)
		return 0;
	/* the target's hook runs as the target: its plugin_data, its log name */
	portal_plugin *saved = r->plugin;
	r->plugin = t;
	int rc = t->link_exists(r, id);
	r->plugin = saved;
	return rc < 0 ? PORTAL_ERROR : rc > 0;
}

/* The request wrote links (to `to_module`'s items; NULL: any): what
 * links_read kept may be stale, and what links_touch found before. */
static void
links_changed(portal_req *r, const char *to_module)
{
	struct links_req *q = r->ctx[REQ_CTX_LINKS];
	struct req_touched *t = r->ctx[REQ_CTX_TOUCHED];
	if (q)
		q->res = NULL;
	if (t && (to_module == NULL || strcmp(to_module, "media") != 0))
		t->links_written = 1;
}

int
links_set(portal_req *r, long long from_id, const char *to_module, const long long *ids, size_t n,
          const char *title, const char *date, int is_public)
{
	struct db *d = req_db(r);
	links_changed(r, to_module);
	if (r->plugin == NULL || r->muni == NULL || to_module == NULL || title == NULL)
		return PORTAL_ERROR;
	struct portal_stmt *s = db_prepare(d, "DELETE FROM links WHERE municipality = ? AND "
	                                      "from_module = ? AND from_id = ? AND to_module = ?");
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_bind_text(s, 1, r->plugin->name) ||
	    db_bind_int(s, 2, from_id) || db_bind_text(s, 3, to_module) || db_execute(s))
		return PORTAL_ERROR;
	db_done(s);
	for (size_t i = 0; i < n; i++) {
		s = db_prepare(d, "INSERT IGNORE INTO links (municipality, from_module, from_id, "
		                  "to_module, to_id, title, date, public) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
		if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_bind_text(s, 1, r->plugin->name) ||
		    db_bind_int(s, 2, from_id) || db_bind_text(s, 3, to_module) ||
		    db_bind_int(s, 4, ids[i]) || db_bind_text(s, 5, title) || db_bind_text(s, 6, date) ||
		    db_bind_int(s, 7, is_public ? 1 : 0) || db_execute(s))
			return PORTAL_ERROR;
		db_done(s);
	}
	return PORTAL_OK;
}

int
links_forget(portal_req *r, long long id)
{
	links_changed(r, NULL);
	if (r->plugin == NULL || r->muni == NULL)
		return PORTAL_ERROR;
	struct portal_stmt *s = db_prepare(
	    req_db(r), "DELETE FROM links WHERE municipality = ? AND ((from_module = ? AND from_id = ?) "
	                 "OR (to_module = ? AND to_id = ?))");
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_bind_text(s, 1, r->plugin->name) ||
	    db_bind_int(s, 2, id) || db_bind_text(s, 3, r->plugin->name) || db_bind_int(s, 4, id) ||
	    db_execute(s))
		return PORTAL_ERROR;
	db_done(s);
	return PORTAL_OK;
}

/*
 * What links to item `id` of the request's module, as the caller may see
 * it: {module: [{id, title, date}]} and a fingerprint of the same rows for
 * the item's ETag ("" when nothing links to it).  A GET needs both; they
 * are read with one statement and kept on the request.  A write needs them
 * up to three times (the If-Match check, then the answer's "linked" and
 * ETag): the rows read before the write still hold after it unless the
 * request wrote links itself (within its transaction a read sees the
 * snapshot and its own changes only), and links_set and links_forget
 * forget them.  NULL on a database failure.
 */
static struct json_object *
links_read(portal_req *r, long long id, const char **fp)
{
	struct links_req *q = r->ctx[REQ_CTX_LINKS];
	if (q && q->res && q->plugin == r->plugin && q->id == id) {
		*fp = q->fp;
		return q->res;
	}
	struct portal_stmt *s = db_prepare(
	    req_db(r), "SELECT from_module, from_id, title, date FROM links WHERE municipality = ? AND "
	                 "to_module = ? AND to_id = ? AND (public = 1 OR ? = 1) "
	                 "ORDER BY from_module, date DESC, from_id DESC");
	int insider = r->role >= PORTAL_ROLE_READER;
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_bind_text(s, 1, r->plugin->name) ||
	    db_bind_int(s, 2, id) || db_bind_int(s, 3, insider) || db_execute(s))
		return NULL;
	struct json_object *res = pool_keep_json(r->pool, json_object_new_object());
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, 8);
	size_t n = 0;
	int rc;
	while ((rc = db_fetch(s)) == 1) {
		const char *module = db_col_text(s, 0);
		/* a module the municipality no longer enables is not shown */
		if (!conf_muni_has_module(r->muni, module))
			continue;
		struct json_object *list;
		if (!json_object_object_get_ex(res, module, &list)) {
			list = json_object_new_array();
			json_object_object_add(res, module, list);
		}
		const char *title = db_col_text(s, 2), *date = db_col_text(s, 3);
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(db_col_int(s, 1)));
		json_object_object_add(o, "title", json_object_new_string(title));
		json_object_object_add(o, "date", date ? json_object_new_string(date) : NULL);
		json_object_array_add(list, o);
		const char *row = pool_printf(r->pool, "%s|%lld|%s|%s\n", module, db_col_int(s, 1),
		                              title ? title : "", date ? date : "-");
		crypto_generichash_update(&h, (const unsigned char *)row, strlen(row));
		n++;
	}
	db_done(s);
	if (rc < 0)
		return NULL;
	unsigned char sum[8];
	char hex[17];
	crypto_generichash_final(&h, sum, sizeof(sum));
	sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
	*fp = n == 0 ? "" : pool_printf(r->pool, "-%zx.%s", n, hex);
	if (q == NULL)
		r->ctx[REQ_CTX_LINKS] = q = pool_alloc(r->pool, sizeof(*q));
	q->plugin = r->plugin;
	q->id = id;
	q->res = res;
	q->fp = *fp;
	return res;
}

struct json_object *
links_to(portal_req *r, long long id)
{
	const char *fp;
	if (r->plugin == NULL || r->muni == NULL)
		return NULL;
	return links_read(r, id, &fp);
}

/* A short text that changes whenever what links to item `id` (as the
 * caller may see it) changes; part of the item's ETag.  "" when the plugin
 * is not a link target; NULL on a database failure. */
const char *
links_fingerprint(portal_req *r, long long id)
{
	const char *fp = NULL;
	if (r->plugin == NULL || r->plugin->link_exists == NULL || r->muni == NULL)
		return "";
	return links_read(r, id, &fp) ? fp : NULL;
}

/* What item `id` of `module` links to, for its page: {to_module: [to_id,
 * ...]} by module and id, every link the item holds (the page opens each
 * target as its reader, who may not see them all).  NULL on a database
 * failure.  Unlike links_to, the caller names the source: pages.c runs
 * outside any plugin. */
struct json_object *
links_from(portal_req *r, const char *module, long long id)
{
	if (r->muni == NULL || module == NULL)
		return NULL;
	struct portal_stmt *s = db_prepare(
	    r->core->db, "SELECT to_module, to_id FROM links WHERE municipality = ? AND "
	                 "from_module = ? AND from_id = ? ORDER BY to_module, to_id");
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_bind_text(s, 1, module) ||
	    db_bind_int(s, 2, id) || db_execute(s))
		return NULL;
	struct json_object *res = pool_keep_json(r->pool, json_object_new_object());
	int rc;
	while ((rc = db_fetch(s)) == 1) {
		const char *to = db_col_text(s, 0);
		struct json_object *list;
		if (!json_object_object_get_ex(res, to, &list)) {
			list = json_object_new_array();
			json_object_object_add(res, to, list);
		}
		json_object_array_add(list, json_object_new_int64(db_col_int(s, 1)));
	}
	db_done(s);
	return rc < 0 ? NULL : res;
}

#define LINKS_VISIBLE_CHUNK 100 /* ids per statement */

/*
 * Keeps in ids[0..*n) those of `module`'s items the caller may see, in
 * their order, and sets *n to how many: none when the module is not
 * enabled for the municipality; for a caller without a token of the
 * municipality (role below reader), only the rows the module lists to
 * everyone (its item's `listed`, e.g. public visits), read in chunks of
 * LINKS_VISIBLE_CHUNK ids.  Ids of missing items go too.  PORTAL_OK or
 * PORTAL_ERROR (database).
 */
int
links_visible(portal_req *r, const char *module, long long *ids, size_t *n)
{
	portal_plugin *t = module ? plugin_find(r->core->plugins, module) : NULL;
	if (t == NULL || r->muni == NULL || !conf_muni_has_module(r->muni, module)) {
		*n = 0;
		return PORTAL_OK;
	}
	const struct portal_item *it = t->item;
	if (*n == 0 || r->role >= PORTAL_ROLE_READER || it == NULL || it->table == NULL ||
	    it->listed == NULL)
		return PORTAL_OK;
	size_t kept = 0;
	for (size_t first = 0; first < *n; first += LINKS_VISIBLE_CHUNK) {
		size_t m = *n - first < LINKS_VISIBLE_CHUNK ? *n - first : LINKS_VISIBLE_CHUNK;
		struct buf b;
		buf_init(&b, r->pool);
		buf_printf(&b, "SELECT t.id FROM %s t WHERE t.municipality = ? AND (%s) AND t.id IN (?",
		           it->table, it->listed);
		for (size_t k = 1; k < m; k++)
			buf_puts(&b, ", ?");
		buf_puts(&b, ")");
		struct portal_stmt *s = db_prepare(req_db(r), b.data);
		if (s == NULL || db_bind_text(s, 0, r->muni->slug))
			return PORTAL_ERROR;
		for (size_t k = 0; k < m; k++)
			if (db_bind_int(s, (unsigned)(k + 1), ids[first + k]))
				return PORTAL_ERROR;
		if (db_execute(s))
			return PORTAL_ERROR;
		long long *seen = pool_alloc(r->pool, m * sizeof(*seen));
		size_t nseen = 0;
		int rc;
		while ((rc = db_fetch(s)) == 1 && nseen < m)
			seen[nseen++] = db_col_int(s, 0);
		db_done(s);
		if (rc < 0)
			return PORTAL_ERROR;
		for (size_t k = 0; k < m; k++)
			for (size_t j = 0; j < nseen; j++)
				if (seen[j] == ids[first + k]) {
					ids[kept++] = ids[first + k];
					break;
				}
	}
	*n = kept;
	return PORTAL_OK;
}

int
links_guard(portal_req *r, long long id)
{
	if (r->plugin == NULL || r->muni == NULL)
		return PORTAL_ERROR;
	/* every link counts here, public or not */
	struct portal_stmt *s = db_prepare(
	    req_db(r), "SELECT from_module, GROUP_CONCAT(from_id ORDER BY from_id SEPARATOR ', ') "
	                 "FROM links WHERE municipality = ? AND to_module = ? AND to_id = ? "
	                 "GROUP BY from_module ORDER BY from_module");
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_bind_text(s, 1, r->plugin->name) ||
	    db_bind_int(s, 2, id) || db_execute(s))
		return PORTAL_ERROR;
	struct buf b;
	buf_init(&b, r->pool);
	int rc;
	while ((rc = db_fetch(s)) == 1)
		buf_printf(&b, "%s%s %s", b.len ? "; " : "", db_col_text(s, 0), db_col_text(s, 1));
	db_done(s);
	if (rc < 0)
		return PORTAL_ERROR;
	if (b.len == 0)
		return PORTAL_OK;
	out_problem(r, 409, pool_printf(r->pool, "%s %lld is linked from %s; change or delete those "
	                                         "first (or keep it and change its status)",
	                                r->plugin->name, id, b.data));
	return PORTAL_DONE;
}

static void
links_touched_add(portal_req *r, struct req_touched *t, const char *module, long long id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->item[i].id == id && strcmp(t->item[i].module, module) == 0)
			return;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct req_touched_item *a = pool_alloc(r->pool, cap * sizeof(*a));
		if (t->n)
			memcpy(a, t->item, t->n * sizeof(*a));
		t->item = a;
		t->cap = cap;
	}
	t->item[t->n].module = pool_strdup(r->pool, module);
	t->item[t->n++].id = id;
}

/* A plain read: within the write's transaction it sees the links as the
 * write left them (or, before it, as they were when the item's row was
 * locked: item_load's FOR UPDATE comes first).  After the write it is
 * read again only when the write changed links to items (not to files:
 * files have no answer of their own kept by a token). */
int
links_touch(portal_req *r, long long id, int whole)
{
	if (r->plugin == NULL || r->muni == NULL)
		return PORTAL_ERROR;
	struct req_touched *t = r->ctx[REQ_CTX_TOUCHED];
	if (t == NULL)
		r->ctx[REQ_CTX_TOUCHED] = t = pool_alloc(r->pool, sizeof(*t));
	else if (whole && t->n > 0 && !t->links_written) {
		t->whole = 1; /* the links are as they were before */
		return PORTAL_OK;
	}
	links_touched_add(r, t, r->plugin->name, id);
	struct portal_stmt *s = db_prepare(
	    req_db(r), "SELECT to_module, to_id FROM links WHERE municipality = ? AND from_module = ? "
	               "AND from_id = ? AND to_module <> 'media' UNION SELECT from_module, from_id "
	               "FROM links WHERE municipality = ? AND to_module = ? AND to_id = ?");
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_bind_text(s, 1, r->plugin->name) ||
	    db_bind_int(s, 2, id) || db_bind_text(s, 3, r->muni->slug) ||
	    db_bind_text(s, 4, r->plugin->name) || db_bind_int(s, 5, id) || db_execute(s))
		return PORTAL_ERROR;
	int rc;
	while ((rc = db_fetch(s)) == 1)
		links_touched_add(r, t, db_col_text(s, 0), db_col_int(s, 1));
	db_done(s);
	if (rc < 0)
		return PORTAL_ERROR;
	t->whole = whole;
	return PORTAL_OK;
}
