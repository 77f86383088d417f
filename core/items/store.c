/*
 * store.c - an item's store derived from its declaration (struct
 * portal_item with `table`, portal.h): the SQL of load, list, insert,
 * update, exists and delete, the order its parameters are bound in, the
 * item's JSON made of a row, and the folded text `q` searches, all from
 * the one table of fields.  The statements are built once, when the
 * plugin registers its item, and live as long as the plugin.
 *
 * A row is selected as: id, municipality, the members' columns in the
 * order the fields declare them (an object without a column: its
 * members'), created_at, updated_at, version and the sort key; a write
 * binds the members' columns in the same order, then the declared extra
 * columns, then search_text.  Nothing else knows these positions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core.h"

/* the plugins' table, handed over by item_use_api (item.c) */
static const struct portal_api *api;

void
store_use_api(const struct portal_api *a)
{
	api = a;
}

#define STORE_TS "%Y-%m-%dT%H:%i:%sZ" /* DATE_FORMAT of a UTC timestamp */

/* A growing malloc'd string for the statements (registration, not a request). */
struct store_text {
	char *s;
	size_t len, cap;
	int failed;
};

static void store_add(struct store_text *t, const char *fmt, ...) PORTAL_PRINTF(2, 3);

static void
store_add(struct store_text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || t->failed) {
		t->failed = 1;
		return;
	}
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 512;
		while (cap < t->len + (size_t)n + 1)
			cap *= 2;
		char *s = realloc(t->s, cap);
		if (s == NULL) {
			t->failed = 1;
			return;
		}
		t->s = s;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* 1 when f is an object whose members are columns of their own. */
static int
store_is_flat(const struct portal_field *f)
{
	return f->type == PF_OBJECT && f->column == NULL && f->fields != NULL &&
	       !(f->flags & (PF_EXTERNAL | PF_READONLY));
}

/* The column of field f in the item's row, or NULL when it has none (an
 * object of columns, or a member kept elsewhere). */
static const char *
store_column(const struct portal_field *f)
{
	if ((f->flags & (PF_EXTERNAL | PF_READONLY)) || store_is_flat(f))
		return NULL;
	return f->column ? f->column : f->name;
}

/* The SELECT list (sel) and the written columns (ins: "a, b", upd: "a = ?,
 * b = ?") of `fields`, in declared order; counts the columns read. */
static void
store_columns(const struct portal_field *fields, struct store_text *sel, struct store_text *ins,
              struct store_text *upd, unsigned *nsel, unsigned *nwrite)
{
	for (const struct portal_field *f = fields; f && f->name; f++) {
		if (store_is_flat(f)) {
			store_columns(f->fields, sel, ins, upd, nsel, nwrite);
			continue;
		}
		const char *col = store_column(f);
		if (col == NULL)
			continue;
		if (f->flags & PF_UTC)
			store_add(sel, ", DATE_FORMAT(t.%s, '%s')", col, STORE_TS);
		else
			store_add(sel, ", t.%s", col);
		(*nsel)++;
		store_add(ins, ", %s", col);
		store_add(upd, "%s = ?, ", col);
		(*nwrite)++;
	}
}

/* How many '?' a filter's condition has. */
static unsigned
store_marks(const char *sql)
{
	unsigned n = 0;
	for (; sql && *sql; sql++)
		n += *sql == '?';
	return n;
}

void
store_free(struct store_sql *q)
{
	if (q == NULL)
		return;
	char *const sql[] = {q->load,     q->load_lock, q->list,   q->list_all, q->insert,
	                     q->update,   q->exists,    q->remove, q->by_uid,   q->uid_taken,
	                     q->search,   q->list_fts,  q->list_scan, q->search_probe,
	                     q->search_ids, q->search_load};
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		free(sql[i]);
	free(q->readonly);
	free(q->schema);
	free(q->filters);
	free(q->listed);
	free(q->filter_texts);
	free(q);
}

/*
 * `sources`, the core's member of every item declared with a table: where
 * the item's facts come from, [{url, title, retrieved_on}] (title
 * required: a source without a web address, such as a printed strategy,
 * is named by its title).  Appended to the module's fields once, here, so
 * every module (and every module to come) gets it without a line of its
 * own: validated, stored in the JSON column `sources` (which migrate.c
 * adds to the module's table), shown, exported and imported like any other
 * member; openapi.c adds it to the module's schemas and pages.c shows it
 * on the item's page.  A module that declares a member `sources` itself
 * keeps its own.
 */
static const struct portal_field store_source_fields[] = {
	{.name = "url", .type = PF_URL, .max = 2000},
	{.name = "title", .type = PF_STRING, .flags = PF_REQUIRED, .max = 300},
	{.name = "retrieved_on", .type = PF_DATE},
	{.name = NULL},
};
static const struct portal_field store_source = {.name = "source", .type = PF_OBJECT,
                                                 .fields = store_source_fields};
const struct portal_field store_sources = {.name = STORE_SOURCES, .type = PF_ARRAY,
                                           .flags = PF_SHAPED, .max = STORE_SOURCES_MAX,
                                           .items = &store_source};

/* The module's fields with `sources` appended (malloc'd), or NULL when
 * out of memory; a module that declares `sources` keeps its own. */
static struct portal_field *
store_with_sources(const struct portal_field *fields)
{
	size_t n = 0;
	int own = 0;
	for (; fields[n].name; n++)
		own |= strcmp(fields[n].name, STORE_SOURCES) == 0;
	struct portal_field *all = calloc(n + 2, sizeof(*all));
	if (all == NULL)
		return NULL;
	memcpy(all, fields, n * sizeof(*all));
	if (!own)
		all[n++] = store_sources;
	all[n].name = NULL;
	return all;
}

/* The server's members, in the order a client is told about them: id,
 * municipality, uid, the PF_READONLY fields, created_at, updated_at, version,
 * and "linked" on a link target. */
static const char **
store_readonly(const struct portal_item *it)
{
	size_t n = 8;
	for (const struct portal_field *f = it->schema; f->name; f++)
		n += (f->flags & PF_READONLY) != 0;
	const char **ro = calloc(n + 1, sizeof(*ro));
	if (ro == NULL)
		return NULL;
	size_t k = 0;
	ro[k++] = "id";
	ro[k++] = "municipality";
	ro[k++] = STORE_UID;
	for (const struct portal_field *f = it->schema; f->name; f++)
		if (f->flags & PF_READONLY)
			ro[k++] = f->name;
	ro[k++] = "created_at";
	ro[k++] = "updated_at";
	ro[k++] = "version";
	if (it->link_target)
		ro[k++] = "linked";
	ro[k] = NULL;
	return ro;
}

/* ---- what the declaration asks of the core (PF_SLUG, PF_UNIQUE, from,
 * published): its checks and answers, before and around the module's own
 * hooks, which the store's item (q->item) calls in their place ---- */

/* The bytes a PF_STRING member holds at the most (valid.c's default). */
static size_t
store_max(const struct portal_field *f)
{
	return f->max ? f->max : 200;
}

/* The member `name` of the item (not of an object in it), or NULL. */
static const struct portal_field *
store_member(const struct portal_field *fields, const char *name)
{
	for (const struct portal_field *f = fields; name && f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* 1 when f is a member whose value no other item of the municipality has. */
static int
store_is_unique(const struct portal_field *f)
{
	return f->type == PF_STRING && (f->flags & PF_UNIQUE) && store_column(f) != NULL;
}

/* 1 when another item of the request's municipality than `except_id` (0:
 * none) has `value` in unique member f, 0 when none, PORTAL_ERROR. */
static int
store_taken(portal_req *r, const struct portal_field *f, const char *value, long long except_id)
{
	if (value == NULL)
		return 0;
	portal_stmt *s = api->prepare(
	    r, api->printf(r, "SELECT t.id FROM %s t WHERE t.municipality = ? AND t.%s = ? AND t.id <> ?",
	                   r->plugin->item->table, store_column(f)));
	if (s == NULL)
		return PORTAL_ERROR;
	api->bind_text(s, 0, api->municipality(r));
	api->bind_text(s, 1, value);
	api->bind_int(s, 2, except_id);
	int rc = api->execute(s) == PORTAL_OK ? api->fetch(s) : PORTAL_ERROR;
	api->done(s);
	return rc < 0 ? PORTAL_ERROR : rc;
}

/* The 409 of a unique member f whose `value` another item has. */
static int
store_taken_answer(portal_req *r, const struct portal_field *f, const char *value)
{
	const char *noun = r->plugin->item->noun, *m = api->municipality(r);
	api->field_error(r, f->name, "is taken by another %s of %s", noun, m);
	return api->problem(r, 409, "%s already has a %s with %s \"%s\"", m, noun, f->name,
	                    value ? value : "");
}

/* slug_derive's question for PF_SLUG member `arg`: is `slug` taken? */
static int
store_slug_taken(portal_req *r, const void *arg, const char *slug)
{
	const struct portal_field *f = arg;
	return store_is_unique(f) ? store_taken(r, f, slug, 0) : 0;
}

/* 1 when `item` is public by the `published` rule of its declaration d:
 * its member is the value, or without one, a boolean that is true. */
static int
store_is_public(const struct portal_item *d, struct json_object *item)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(item, d->published.member, &v) || v == NULL)
		return 0;
	if (d->published.value == NULL)
		return json_object_get_boolean(v);
	return json_object_is_type(v, json_type_string) &&
	       strcmp(json_object_get_string(v), d->published.value) == 0;
}

/* visible: the `published` rule, then the module's hook. */
static int
store_visible(portal_req *r, struct json_object *item)
{
	const struct portal_item *d = r->plugin->store->decl;
	if (api->role(r) < PORTAL_ROLE_READER && !store_is_public(d, item))
		return 0;
	return d->visible == NULL || d->visible(r, item);
}

/* prepare: a create that leaves a PF_SLUG member with `from` out (or
 * null) gets one made of that member, then the module's hook. */
static int
store_prepare(portal_req *r, struct portal_write *w)
{
	const struct store_sql *q = r->plugin->store;
	for (const struct portal_field *f = q->schema; w->before == NULL && f->name; f++) {
		struct json_object *v = NULL;
		if (!(f->flags & PF_SLUG) || f->from == NULL ||
		    (json_object_object_get_ex(w->doc, f->name, &v) && v != NULL))
			continue;
		json_object_object_del(w->doc, f->name);
		if (slug_derive(r, w->doc, f->name, f->from, api->member_str(w->doc, f->from), store_max(f),
		                store_slug_taken, f) != PORTAL_OK)
			return PORTAL_ERROR;
	}
	return q->decl->prepare ? q->decl->prepare(r, w) : PORTAL_OK;
}

/* check: each PF_SLUG member is a slug, then the module's hook. */
static int
store_check(portal_req *r, struct portal_write *w)
{
	const struct store_sql *q = r->plugin->store;
	for (const struct portal_field *f = q->schema; f->name; f++)
		if (f->flags & PF_SLUG)
			api->slug_check(r, w->doc, f->name, store_max(f));
	return q->decl->check ? q->decl->check(r, w) : PORTAL_OK;
}

/* before_write: each unique member's value is free (409), then the
 * module's hook. */
static int
store_before_write(portal_req *r, struct portal_write *w)
{
	const struct store_sql *q = r->plugin->store;
	for (const struct portal_field *f = q->schema; f->name; f++) {
		if (!store_is_unique(f))
			continue;
		const char *v = api->member_str(w->doc, f->name);
		int rc = store_taken(r, f, v, w->id);
		if (rc < 0)
			return PORTAL_ERROR;
		if (rc > 0) {
			store_taken_answer(r, f, v);
			return PORTAL_DONE;
		}
	}
	return q->decl->before_write ? q->decl->before_write(r, w) : PORTAL_OK;
}

/* render: each read-only member with `from` is the HTML of that Markdown
 * member, then the module's hook. */
static int
store_render(portal_req *r, struct json_object *item)
{
	const struct store_sql *q = r->plugin->store;
	for (const struct portal_field *f = q->schema; f->name; f++) {
		if (!(f->flags & PF_READONLY) || f->from == NULL)
			continue;
		const char *md = api->member_str(item, f->from);
		char *html = NULL;
		if (md != NULL && (html = api->markdown(r, md)) == NULL)
			return PORTAL_ERROR;
		json_object_object_add(item, f->name, html ? json_object_new_string(html) : NULL);
	}
	return q->decl->render ? q->decl->render(r, item) : PORTAL_OK;
}

/* 1 when the declaration's PF_SLUG, PF_UNIQUE, `from` and `published` say
 * what the core can do, else 0 after logging why. */
static int
store_declared_ok(const struct portal_item *it)
{
	const char *why = NULL, *name = "published";
	for (const struct portal_field *f = it->schema; f->name && why == NULL; f++) {
		const struct portal_field *src = store_member(it->schema, f->from);
		name = f->name;
		if ((f->flags & PF_SLUG) && (f->type != PF_STRING || store_column(f) == NULL))
			why = "a PF_SLUG is a PF_STRING in a column of the row";
		else if (f->from != NULL && (f->flags & PF_SLUG) && src == NULL)
			why = "`from` names no member of the item";
		else if (f->from != NULL && !(f->flags & PF_SLUG) &&
		         (!(f->flags & PF_READONLY) || src == NULL || !(src->flags & PF_MARKDOWN)))
			why = "`from` is a PF_SLUG's source, or a PF_READONLY member's PF_MARKDOWN "
			      "source";
	}
	for (const struct portal_filter *fl = it->filters; fl && fl->name && why == NULL; fl++) {
		const struct portal_field *f = store_member(it->schema, fl->member);
		name = fl->name;
		if (fl->member != NULL &&
		    (f == NULL || f->type != PF_ARRAY || f->items == NULL || store_column(f) == NULL))
			why = "the filter's `member` names no array member in a column of the row";
	}
	const struct portal_published *pub = &it->published;
	if (why == NULL && pub->member != NULL) {
		const struct portal_field *f = store_member(it->schema, pub->member);
		name = "published";
		if (f == NULL || store_column(f) == NULL ||
		    (pub->value == NULL ? f->type != PF_BOOL : strpbrk(pub->value, "'\\") != NULL))
			why = "names no member in a column of the row, a value with a quote, or no value "
			      "and no boolean member";
	}
	if (why != NULL)
		log_msg(PORTAL_LOG_ERR, NULL, "item %s, %s: %s", it->noun, name, why);
	return why == NULL;
}

/* The list's filters: the module's (one with `member` made whole: its SQL,
 * type and values), then one per PF_SLUG member in the fields' order, the
 * module's of that name or else the core's ("The NOUN with this NAME."),
 * each without a parse hook of its own an exact match on the member's
 * column that the core checks as a slug (item.c).  NULL when out of
 * memory; the texts of the core's conditions and descriptions in *texts
 * (malloc'd, one after another, taken in the order they are written). */
static struct portal_filter *
store_filters(const struct portal_item *it, char **texts)
{
	size_t n = 0, k = 0;
	struct store_text t = {0};
	for (const struct portal_filter *f = it->filters; f && f->name; f++, n++) {
		const struct portal_field *m = store_member(it->schema, f->name);
		if (f->member != NULL && f->sql == NULL && !(m != NULL && (m->flags & PF_SLUG)))
			store_add(&t, "JSON_CONTAINS(t.%s, JSON_QUOTE(?))%c",
			          store_column(store_member(it->schema, f->member)), '\0');
	}
	for (const struct portal_field *f = it->schema; f->name; f++)
		if (f->flags & PF_SLUG) {
			n++;
			store_add(&t, "t.%s = ?%cThe %s with this %s.%c", store_column(f), '\0', it->noun,
			          f->name, '\0');
		}
	struct portal_filter *all = calloc(n + 1, sizeof(*all));
	if (all == NULL || t.failed) {
		free(all);
		free(t.s);
		return NULL;
	}
	const char *text = t.s;
	for (const struct portal_filter *f = it->filters; f && f->name; f++) {
		const struct portal_field *m = store_member(it->schema, f->name);
		if (m != NULL && (m->flags & PF_SLUG))
			continue;
		struct portal_filter *to = &all[k++];
		*to = *f;
		if (f->member == NULL)
			continue;
		/* an array member's: its items' type and values, JSON_CONTAINS */
		const struct portal_field *items = store_member(it->schema, f->member)->items;
		if (to->type == PF_STRING && to->values == NULL) {
			to->type = items->type;
			to->values = items->values;
		}
		if (to->sql == NULL) {
			to->sql = text;
			text += strlen(text) + 1;
		}
	}
	for (const struct portal_field *f = it->schema; f->name; f++) {
		if (!(f->flags & PF_SLUG))
			continue;
		const struct portal_filter *own = it->filters;
		while (own && own->name && strcmp(own->name, f->name) != 0)
			own++;
		struct portal_filter *to = &all[k++];
		if (own && own->name)
			*to = *own;
		to->name = f->name;
		if (to->sql == NULL)
			to->sql = text;
		text += strlen(text) + 1;
		if (to->doc == NULL)
			to->doc = text;
		text += strlen(text) + 1;
		if (to->pattern == NULL)
			to->pattern = PORTAL_SLUG_PATTERN;
	}
	all[k].name = NULL;
	*texts = t.s;
	return all;
}

/* The core's `listed` of the `published` rule ("t.status = 'published'",
 * "t.public = 1"), malloc'd; NULL without one or when out of memory. */
static char *
store_listed(const struct portal_item *it)
{
	if (it->published.member == NULL)
		return NULL;
	const char *col = store_column(store_member(it->schema, it->published.member));
	struct store_text t = {0};
	if (it->published.value == NULL)
		store_add(&t, "t.%s = 1", col);
	else
		store_add(&t, "t.%s = '%s'", col, it->published.value);
	return t.s;
}

struct store_sql *
store_build(const struct portal_item *decl)
{
	if (!store_declared_ok(decl))
		return NULL;
	struct store_sql *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	if ((q->schema = store_with_sources(decl->schema)) == NULL) {
		free(q);
		return NULL;
	}
	/* the declaration as the store runs it: its filters, listed, and the
	 * core's hooks of the declared features (which call the module's) */
	struct portal_item with = *decl;
	const struct portal_item *it = &with;
	q->decl = decl;
	if ((q->filters = store_filters(decl, &q->filter_texts)) == NULL) {
		store_free(q);
		return NULL;
	}
	with.filters = q->filters;
	if (decl->listed == NULL && decl->published.member != NULL) {
		if ((q->listed = store_listed(decl)) == NULL) {
			store_free(q);
			return NULL;
		}
		with.listed = q->listed;
	}
	if (decl->published.member != NULL)
		with.visible = store_visible;
	for (const struct portal_field *f = decl->schema; f->name; f++) {
		if ((f->flags & PF_SLUG) && f->from != NULL)
			with.prepare = store_prepare;
		if (f->flags & PF_SLUG)
			with.check = store_check;
		if (store_is_unique(f))
			with.before_write = store_before_write;
		if ((f->flags & PF_READONLY) && f->from != NULL)
			with.render = store_render;
	}
	struct store_text sel = {0}, ins = {0}, upd = {0}, t = {0};
	unsigned nsel = 2;
	int failed = 0;
	store_add(&sel, "t.id, t.municipality");
	store_add(&ins, "municipality");
	store_columns(q->schema, &sel, &ins, &upd, &nsel, &q->nwrite);
	for (const struct portal_column *c = it->columns; c && c->name; c++) {
		store_add(&ins, ", %s", c->name);
		store_add(&upd, "%s = ?, ", c->name);
		q->nwrite++;
	}
	q->nwrite++; /* search_text */
	const char *sort = it->sort ? it->sort : "t.id";
	store_add(&sel,
	          ", t." STORE_UID ", DATE_FORMAT(t.created_at, '%s'), DATE_FORMAT(t.updated_at, '%s'),"
	          " t.version, %s",
	          STORE_TS, STORE_TS, it->sort_text ? it->sort_text : sort);
	q->ncols = nsel + 5;
	if (sel.failed || ins.failed || upd.failed) { /* out of memory */
		free(sel.s);
		free(ins.s);
		free(upd.s);
		store_free(q);
		return NULL;
	}

	store_add(&t, "SELECT %s FROM %s t WHERE t.id = ? AND t.municipality = ?", sel.s, it->table);
	q->load = t.s;
	failed |= t.failed;
	t = (struct store_text){0};
	store_add(&t, "SELECT %s FROM %s t WHERE t.id = ? AND t.municipality = ? FOR UPDATE", sel.s,
	          it->table);
	q->load_lock = t.s;
	failed |= t.failed;

	/* every filter always in the statement, switched off by binding NULL:
	 * one SQL text */
	/* the all-list (GET /api/v1/all/{module}) is the same over the
	 * municipalities named in one comma-separated parameter */
	for (int all = 0; all < 2; all++) {
		t = (struct store_text){0};
		store_add(&t, "SELECT %s FROM %s t WHERE %s", sel.s, it->table,
		          all ? "FIND_IN_SET(t.municipality, ?)" : "t.municipality = ?");
		if (it->listed)
			store_add(&t, " AND (? = 1 OR (%s))", it->listed);
		for (size_t i = 0; it->filters && it->filters[i].name && i < PORTAL_LIST_FILTERS; i++) {
			store_add(&t, " AND (? IS NULL OR (%s))", it->filters[i].sql);
			q->filter_marks[i] = store_marks(it->filters[i].sql);
		}
		store_add(&t, " AND (? IS NULL OR t.updated_at >= ?)");
		/* q: the FULLTEXT index finds the rows (word prefixes), the LIKE
		 * terms then check them (each word a substring; alone for words
		 * too short for the index) */
		store_add(&t, " AND (? IS NULL OR MATCH(t.search_text) AGAINST (? IN BOOLEAN MODE))");
		for (int k = 0; k < PORTAL_LIST_TERMS; k++)
			store_add(&t, " AND (? IS NULL OR t.search_text LIKE ? ESCAPE '!')");
		const char *cmp = it->sort_desc ? "<" : ">", *dir = it->sort_desc ? " DESC" : "";
		store_add(&t,
		          " AND (? IS NULL OR %s %s ? OR (%s = ? AND t.id %s ?)) ORDER BY %s%s, t.id%s LIMIT ?",
		          sort, cmp, sort, cmp, sort, dir, dir);
		*(all ? &q->list_all : &q->list) = t.s;
		failed |= t.failed;
	}
	/* q through the index, stopped after so many rows (store_list_fts) */
	t = (struct store_text){0};
	store_add(&t, "%s ROWS EXAMINED %d", q->list ? q->list : "", STORE_FTS_ROWS);
	q->list_fts = t.s;
	failed |= t.failed;
	t = (struct store_text){0};
	store_add(&t, "%s ROWS EXAMINED %d", q->list ? q->list : "", STORE_SCAN_ROWS);
	q->list_scan = t.s;
	failed |= t.failed;

	/* the search across modules (store_search): the same visibility as
	 * the list (`listed`), ranked by the FULLTEXT index's relevance */
	t = (struct store_text){0};
	store_add(&t, "SELECT %s, MATCH(t.search_text) AGAINST (? IN BOOLEAN MODE) AS search_score "
	              "FROM %s t WHERE t.municipality = ?",
	          sel.s, it->table);
	if (it->listed)
		store_add(&t, " AND (? = 1 OR (%s))", it->listed);
	store_add(&t, " AND (? IS NULL OR MATCH(t.search_text) AGAINST (? IN BOOLEAN MODE))");
	for (int k = 0; k < PORTAL_LIST_TERMS; k++)
		store_add(&t, " AND (? IS NULL OR t.search_text LIKE ? ESCAPE '!')");
	store_add(&t, " ORDER BY search_score DESC, t.id DESC LIMIT ? ROWS EXAMINED %d", STORE_FTS_ROWS);
	q->search = t.s;
	failed |= t.failed;

	/* the search across modules in few statements (store_search_all):
	 * this module's branch of the UNION ALL asking whether the words are
	 * common (how many of the first STORE_SCAN_ROWS items of the list,
	 * as the caller sees it, have them), of the UNION ALL asking the
	 * index (ids and relevance, ranked and limited in SQL), and the load
	 * of the items it found (their visibility and words checked again) */
	const char *sdir = it->sort_desc ? " DESC" : "";
	t = (struct store_text){0};
	/* (the derived table holds the LIKE's answer, not the text: a TEXT
	 * column would make it an on-disk temporary table, 0.5-1 ms each) */
	store_add(&t, "COALESCE(SUM(x.hit), 0) FROM (SELECT 1 = 1");
	for (int k = 0; k < PORTAL_LIST_TERMS; k++)
		store_add(&t, " AND (? IS NULL OR t.search_text LIKE ? ESCAPE '!')");
	store_add(&t, " AS hit FROM %s t WHERE t.municipality = ?", it->table);
	if (it->listed)
		store_add(&t, " AND (? = 1 OR (%s))", it->listed);
	store_add(&t, " ORDER BY %s%s, t.id%s LIMIT %d) x", sort, sdir, sdir, STORE_SEARCH_PROBE);
	q->search_probe = t.s;
	failed |= t.failed;
	t = (struct store_text){0};
	store_add(&t, "t.id, MATCH(t.search_text) AGAINST (? IN BOOLEAN MODE) AS search_score FROM %s t "
	              "WHERE t.municipality = ?",
	          it->table);
	if (it->listed)
		store_add(&t, " AND (? = 1 OR (%s))", it->listed);
	store_add(&t, " AND (? IS NULL OR MATCH(t.search_text) AGAINST (? IN BOOLEAN MODE))");
	for (int k = 0; k < PORTAL_LIST_TERMS; k++)
		store_add(&t, " AND (? IS NULL OR t.search_text LIKE ? ESCAPE '!')");
	store_add(&t, " ORDER BY search_score DESC, t.id DESC LIMIT ?");
	q->search_ids = t.s;
	failed |= t.failed;
	t = (struct store_text){0};
	store_add(&t, "SELECT %s FROM %s t WHERE t.municipality = ?", sel.s, it->table);
	if (it->listed)
		store_add(&t, " AND (? = 1 OR (%s))", it->listed);
	for (int k = 0; k < PORTAL_LIST_TERMS; k++)
		store_add(&t, " AND (? IS NULL OR t.search_text LIKE ? ESCAPE '!')");
	store_add(&t, " AND t.id IN (?");
	for (int k = 1; k < STORE_SEARCH_MAX; k++)
		store_add(&t, ", ?");
	store_add(&t, ")");
	q->search_load = t.s;
	failed |= t.failed;

	t = (struct store_text){0};
	store_add(&t, "INSERT INTO %s (%s, search_text, " STORE_UID ", version, created_at, updated_at) VALUES (?",
	          it->table, ins.s);
	for (unsigned k = 0; k <= q->nwrite; k++) /* and the uid */
		store_add(&t, ", ?");
	store_add(&t, ", 1, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))");
	q->insert = t.s;
	failed |= t.failed;
	t = (struct store_text){0};
	store_add(&t, "UPDATE %s SET %ssearch_text = ?, version = version + 1, "
	              "updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND municipality = ?",
	          it->table, upd.s ? upd.s : "");
	q->update = t.s;
	failed |= t.failed;
	t = (struct store_text){0};
	store_add(&t, "SELECT 1 FROM %s WHERE id = ? AND municipality = ? LOCK IN SHARE MODE",
	          it->table);
	q->exists = t.s;
	failed |= t.failed;
	t = (struct store_text){0};
	store_add(&t, "DELETE FROM %s WHERE id = ? AND municipality = ?", it->table);
	q->remove = t.s;
	failed |= t.failed;
	t = (struct store_text){0};
	store_add(&t, "SELECT id FROM %s WHERE " STORE_UID " = ? AND municipality = ?", it->table);
	q->by_uid = t.s;
	failed |= t.failed;
	t = (struct store_text){0};
	store_add(&t, "SELECT municipality FROM %s WHERE " STORE_UID " = ?", it->table);
	q->uid_taken = t.s;
	failed |= t.failed;
	q->readonly = store_readonly(it);
	q->item = *it;
	q->item.schema = q->schema;
	q->item.readonly = it->readonly ? it->readonly : q->readonly;
	q->item.load = it->load ? it->load : store_load;
	q->item.list = it->list ? it->list : store_list;
	q->item.insert = it->insert ? it->insert : store_insert;
	q->item.update = it->update ? it->update : store_update;
	q->item.remove = it->remove ? it->remove : store_remove;
	if (it->link_target && it->exists == NULL)
		q->item.exists = store_exists;

	failed |= sel.failed || ins.failed || upd.failed || !q->load || !q->load_lock ||
	             !q->list || !q->list_all || !q->insert || !q->update || !q->exists || !q->remove ||
	             !q->by_uid || !q->uid_taken || !q->readonly || !q->list_fts || !q->list_scan ||
	             !q->search || !q->search_probe || !q->search_ids || !q->search_load;
	free(sel.s);
	free(ins.s);
	free(upd.s);
	if (failed) {
		store_free(q);
		return NULL;
	}
	return q;
}

/* ---- row -> JSON ---- */

/* d in the fewest digits (15 to 17) that read back as d, in buf (40 bytes). */
static const char *
store_double_text(double d, char *buf)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, 40, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return buf;
}

/*
 * 1 when t, a number as the database sent it, is already what
 * store_double_text makes of its value (printf's %g costs thousands of
 * instructions): plain decimal digits, no exponent, at most 15
 * significant ones, no trailing zero after the point, and within the
 * range %g writes without one (1e-4 <= |v| < 1e15).  A double read from
 * at most 15 significant digits prints them back at %.15g.
 */
static int
store_double_as_sent(const char *t)
{
	if (t == NULL)
		return 0;
	const char *p = t + (*t == '-');
	size_t ilen = strspn(p, "0123456789");
	if (ilen == 0 || ilen > 15 || (ilen > 1 && *p == '0'))
		return 0;
	int zero = ilen == 1 && *p == '0';
	const char *f = p + ilen;
	size_t flen = 0, lead = 0;
	if (*f == '.') {
		flen = strspn(f + 1, "0123456789");
		if (flen == 0 || f[flen] == '0' || f[1 + flen] != '\0')
			return 0;
		lead = zero ? strspn(f + 1, "0") : 0;
	} else if (*f != '\0' || zero) {
		return 0; /* an exponent, or 0 and -0: the long way */
	}
	if (zero && (lead >= 4 || lead == flen))
		return 0;
	return (zero ? flen - lead : ilen + flen) <= 15;
}

struct json_object *
store_new_double(double d)
{
	char buf[40];
	return json_object_new_double_s(d, store_double_text(d, buf));
}

/* A string column as a JSON string, or null. */
static struct json_object *
store_col_str(portal_stmt *s, unsigned i)
{
	const char *t = api->col_text(s, i);
	return t ? json_object_new_string(t) : NULL;
}

/* `o` rebuilt with exactly the members `fields` (arrays [] and anything
 * else null when missing); the values are shared with o. */
static struct json_object *
store_shape(const struct portal_field *fields, struct json_object *o)
{
	struct json_object *to = json_object_new_object(), *v;
	for (const struct portal_field *f = fields; f->name; f++) {
		if (!json_object_object_get_ex(o, f->name, &v))
			v = NULL;
		if (f->type == PF_ARRAY && !json_object_is_type(v, json_type_array))
			json_object_object_add(to, f->name, json_object_new_array());
		else
			json_object_object_add(to, f->name, json_object_get(v));
	}
	return to;
}

/*
 * The stored text of a JSON column that a list written through
 * (r->json_through) may copy as it is: the core wrote it, MariaDB keeps
 * it JSON_VALID, and parsing it only to write it again is most of a
 * list's work.  A language map ({...}) and an array ([...]) whose
 * elements need no shaping qualify; NULL for anything else (parse it).
 */
static const char *
store_through_text(portal_req *r, const struct portal_field *f, portal_stmt *s, unsigned i)
{
	if (r == NULL || !r->json_through ||
	    !(f->type == PF_LANGMAP || (f->type == PF_ARRAY && !(f->flags & PF_SHAPED))))
		return NULL;
	const char *t = api->col_text(s, i);
	return t != NULL && *t == (f->type == PF_ARRAY ? '[' : '{') ? t : NULL;
}

/* A JSON column as field f shows it. */
static struct json_object *
store_col_json(const struct portal_field *f, portal_stmt *s, unsigned i)
{
	struct json_object *o = api->col_json(s, i); /* owned by the request */
	if (f->type == PF_ARRAY) {
		if (!json_object_is_type(o, json_type_array))
			return json_object_new_array();
		if (!(f->flags & PF_SHAPED) || f->items == NULL || f->items->fields == NULL)
			return json_object_get(o);
		struct json_object *out = json_object_new_array();
		for (size_t k = 0; k < json_object_array_length(o); k++) {
			struct json_object *e = json_object_array_get_idx(o, k);
			if (json_object_is_type(e, json_type_object))
				json_object_array_add(out, store_shape(f->items->fields, e));
		}
		return out;
	}
	if (f->type == PF_OBJECT && f->fields != NULL)
		return store_shape(f->fields, json_object_is_type(o, json_type_object) ? o : NULL);
	return json_object_is_type(o, json_type_object) ? json_object_get(o) : json_object_new_object();
}

/* How many columns of the row `fields` have. */
static unsigned
store_ncols(const struct portal_field *fields)
{
	unsigned n = 0;
	for (const struct portal_field *f = fields; f->name; f++)
		n += store_is_flat(f) ? store_ncols(f->fields) : store_column(f) != NULL;
	return n;
}

/* Adds the members `fields` of a row to `obj`, from column *i on. */
static void
store_members(const struct portal_field *fields, portal_stmt *s, unsigned *i,
              struct json_object *obj)
{
	for (const struct portal_field *f = fields; f->name; f++) {
		struct json_object *v = NULL;
		if (store_is_flat(f)) {
			if ((f->flags & PF_NULLABLE) && api->col_is_null(s, *i)) {
				*i += store_ncols(f->fields);
			} else {
				v = json_object_new_object();
				store_members(f->fields, s, i, v);
			}
		} else if (store_column(f) == NULL) {
			v = f->type == PF_ARRAY ? json_object_new_array() : NULL;
		} else {
			unsigned c = (*i)++;
			switch (f->type) {
			case PF_INT:
				v = api->col_is_null(s, c) ? NULL : json_object_new_int64(api->col_int(s, c));
				break;
			case PF_NUMBER:
				v = api->col_is_null(s, c) ? NULL : store_new_double(api->col_double(s, c));
				break;
			case PF_BOOL:
				v = json_object_new_boolean(api->col_int(s, c) != 0);
				break;
			case PF_LANGMAP:
			case PF_ARRAY:
			case PF_OBJECT:
				v = store_col_json(f, s, c);
				break;
			default:
				v = store_col_str(s, c);
			}
		}
		json_object_object_add(obj, f->name, v);
	}
}

/* ---- row -> JSON text, for a list written through (r->json_through) ---- */

/* t as a JSON string, escaped as json-c escapes it with
 * JSON_C_TO_STRING_NOSLASHESCAPE: an answer is the same bytes either way. */
static void
store_put_string(struct buf *b, const char *t)
{
	static const char hex[] = "0123456789abcdef";
	buf_add(b, "\"", 1);
	for (;;) {
		const char *run = t;
		while ((unsigned char)*t >= 0x20 && *t != '"' && *t != '\\')
			t++;
		buf_add(b, run, (size_t)(t - run));
		unsigned char c = (unsigned char)*t++;
		if (c == '\0')
			break;
		char esc[7] = {'\\', (char)c, '\0'};
		switch (c) {
		case '\b': esc[1] = 'b'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\f': esc[1] = 'f'; break;
		case '"':
		case '\\': break;
		default: /* the other control characters */
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			esc[6] = '\0';
		}
		buf_puts(b, esc);
	}
	buf_add(b, "\"", 1);
}

/* Column c as store_col_str shows it. */
static void
store_put_col_str(struct buf *b, portal_stmt *s, unsigned c)
{
	const char *t = api->col_text(s, c);
	if (t)
		store_put_string(b, t);
	else
		buf_puts(b, "null");
}

/*
 * An item written through: its text in segments, and between them the
 * members the row does not hold (PF_EXTERNAL, PF_READONLY), which the
 * list's loaded hook may fill in; they stay json-c values, members of the
 * placeholder, written in their place.
 */
struct store_slot {
	size_t cut;                       /* where it goes in b */
	const struct portal_field *field; /* the member */
};
struct store_through {
	struct buf b;
	int n;
	struct store_slot slot[]; /* as many as the schema has members, at most */
};

/* The members `fields` of a row from column *i on, as store_members
 * makes them and json-c writes them (JSON_C_TO_STRING_PLAIN), after a
 * comma unless `first`; th: the top level's slots, or NULL. */
static void
store_put_members(portal_req *r, const struct portal_field *fields, portal_stmt *s, unsigned *i,
                  struct buf *b, int first, struct store_through *th)
{
	for (const struct portal_field *f = fields; f->name; f++, first = 0) {
		if (!first)
			buf_add(b, ",", 1);
		store_put_string(b, f->name);
		buf_add(b, ":", 1);
		if (store_is_flat(f)) {
			if ((f->flags & PF_NULLABLE) && api->col_is_null(s, *i)) {
				*i += store_ncols(f->fields);
				buf_puts(b, "null");
			} else {
				buf_add(b, "{", 1);
				store_put_members(r, f->fields, s, i, b, 1, NULL);
				buf_add(b, "}", 1);
			}
			continue;
		}
		if (store_column(f) == NULL) {
			if (th != NULL) {
				th->slot[th->n].cut = b->len;
				th->slot[th->n++].field = f;
			} else {
				buf_puts(b, f->type == PF_ARRAY ? "[]" : "null");
			}
			continue;
		}
		unsigned c = (*i)++;
		struct json_object *o;
		const char *t;
		switch (f->type) {
		case PF_INT:
			if (api->col_is_null(s, c))
				buf_puts(b, "null");
			else
				buf_printf(b, "%lld", api->col_int(s, c));
			break;
		case PF_NUMBER:
			if (api->col_is_null(s, c)) {
				buf_puts(b, "null");
			} else if (store_double_as_sent(api->col_text(s, c))) {
				buf_puts(b, api->col_text(s, c));
			} else {
				char d[40];
				buf_puts(b, store_double_text(api->col_double(s, c), d));
			}
			break;
		case PF_BOOL:
			buf_puts(b, api->col_int(s, c) != 0 ? "true" : "false");
			break;
		case PF_LANGMAP:
		case PF_ARRAY:
		case PF_OBJECT:
			if ((t = store_through_text(r, f, s, c)) != NULL) {
				buf_puts(b, t);
			} else {
				o = store_col_json(f, s, c);
				buf_puts(b, json_object_to_json_string_ext(
				                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
				json_object_put(o);
			}
			break;
		default:
			store_put_col_str(b, s, c);
		}
	}
}

/* json-c writes an item written through (below): its segments, and in
 * between the members the loaded hook may have filled in. */
static int
store_write_item(struct json_object *o, struct printbuf *pb, int level, int flags)
{
	(void)level;
	const struct store_through *th = json_object_get_userdata(o);
	size_t at = 0;
	for (int k = 0; k < th->n; k++) {
		struct json_object *v = NULL;
		json_object_object_get_ex(o, th->slot[k].field->name, &v);
		const char *t = v ? json_object_to_json_string_ext(v, flags) : "null";
		if (printbuf_memappend(pb, th->b.data + at, (int)(th->slot[k].cut - at)) < 0 ||
		    printbuf_memappend(pb, t, (int)strlen(t)) < 0)
			return -1;
		at = th->slot[k].cut;
	}
	return printbuf_memappend(pb, th->b.data + at, (int)(th->b.len - at));
}

/*
 * The item of the row as JSON text (store_from_row's item as json-c
 * writes it), in a placeholder json-c writes as that text.  Its members
 * are "id" (for the cursor and the loaded hook) and those the row does
 * not hold ([] or null, for the loaded hook to fill in: in a list written
 * through, that hook sees only these).
 */
static struct json_object *
store_through_row(portal_req *r, portal_stmt *s)
{
	const struct portal_item *it = r->plugin->item;
	size_t members = 0;
	while (it->schema[members].name)
		members++;
	struct store_through *th = api->alloc(r, sizeof(*th) + members * sizeof(th->slot[0]));
	struct buf *b = &th->b;
	buf_init(b, r->pool);
	unsigned i = 2;
	long long id = api->col_int(s, 0);
	buf_printf(b, "{\"id\":%lld,\"municipality\":", id);
	store_put_col_str(b, s, 1);
	store_put_members(r, it->schema, s, &i, b, 0, th);
	buf_puts(b, ",\"" STORE_UID "\":");
	store_put_col_str(b, s, i);
	buf_puts(b, ",\"created_at\":");
	store_put_col_str(b, s, i + 1);
	buf_puts(b, ",\"updated_at\":");
	store_put_col_str(b, s, i + 2);
	buf_printf(b, ",\"version\":%lld}", api->col_int(s, i + 3));
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(id));
	for (int k = 0; k < th->n; k++) {
		const struct portal_field *f = th->slot[k].field;
		json_object_object_add(o, f->name, f->type == PF_ARRAY ? json_object_new_array() : NULL);
	}
	json_object_set_serializer(o, store_write_item, th, NULL);
	return o;
}

/* The item of the statement's current row (selected as store_build
 * says); NULL when the render hook failed.  Owned by the caller. */
static struct json_object *
store_from_row(portal_req *r, portal_stmt *s)
{
	const struct portal_item *it = r->plugin->item;
	if (r->json_through)
		return store_through_row(r, s); /* nothing reads it: no tree */
	struct json_object *item = json_object_new_object();
	unsigned i = 2;
	json_object_object_add(item, "id", json_object_new_int64(api->col_int(s, 0)));
	json_object_object_add(item, "municipality", store_col_str(s, 1));
	store_members(it->schema, s, &i, item);
	json_object_object_add(item, STORE_UID, store_col_str(s, i));
	json_object_object_add(item, "created_at", store_col_str(s, i + 1));
	json_object_object_add(item, "updated_at", store_col_str(s, i + 2));
	json_object_object_add(item, "version", json_object_new_int64(api->col_int(s, i + 3)));
	/* the all-list (no municipality of its own): the row's, while the
	 * module renders it */
	const struct conf_municipality *was = r->muni;
	if (was == NULL && api->col_text(s, 1) != NULL)
		r->muni = conf_municipality(r->core->conf, api->col_text(s, 1));
	int bad = it->render != NULL && it->render(r, item) != PORTAL_OK;
	r->muni = was;
	if (bad) {
		json_object_put(item);
		return NULL;
	}
	return item;
}

/* ---- the searched text ---- */

static void
store_search_add(struct buf *b, struct json_object *v)
{
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
	if (s == NULL || *s == '\0')
		return;
	buf_puts(b, s);
	buf_add(b, "\n", 1);
}

/* Each PF_SEARCH text of `o` (an object declared by `fields`), one a line. */
static void
store_search_collect(struct buf *b, const struct portal_field *fields, struct json_object *o)
{
	if (!json_object_is_type(o, json_type_object))
		return;
	for (const struct portal_field *f = fields; f->name; f++) {
		struct json_object *v;
		if (!json_object_object_get_ex(o, f->name, &v) || v == NULL)
			continue;
		if (f->type == PF_OBJECT) {
			store_search_collect(b, f->fields, v);
		} else if (f->type == PF_ARRAY && json_object_is_type(v, json_type_array)) {
			for (size_t k = 0; k < json_object_array_length(v); k++) {
				struct json_object *e = json_object_array_get_idx(v, k);
				if (f->items && f->items->type == PF_OBJECT)
					store_search_collect(b, f->items->fields, e);
				else if (f->flags & PF_SEARCH)
					store_search_add(b, e);
			}
		} else if (f->type == PF_LANGMAP && (f->flags & PF_SEARCH) &&
		           json_object_is_type(v, json_type_object)) {
			json_object_object_foreach(v, lang, text) {
				(void)lang;
				store_search_add(b, text);
			}
		} else if (f->flags & PF_SEARCH) {
			store_search_add(b, v);
		}
	}
}

/* ---- writing ---- */

/* Binds the members `fields` of `o` from parameter *i on. */
static void
store_bind_members(portal_req *r, portal_stmt *s, unsigned *i, const struct portal_field *fields,
                   struct json_object *o)
{
	for (const struct portal_field *f = fields; f->name; f++) {
		if (store_is_flat(f)) {
			struct json_object *sub = NULL;
			if (o != NULL)
				json_object_object_get_ex(o, f->name, &sub);
			store_bind_members(r, s, i, f->fields, sub);
			continue;
		}
		if (store_column(f) == NULL)
			continue;
		unsigned k = (*i)++;
		struct json_object *v = NULL;
		if (o != NULL)
			json_object_object_get_ex(o, f->name, &v);
		if (f->flags & PF_UTC) {
			const char *ts = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
			                                                          : NULL;
			api->bind_text(s, k, ts ? api->printf(r, "%.10s %.8s", ts, ts + 11) : NULL);
			continue;
		}
		switch (f->type) {
		case PF_INT:
			api->bind_member_int(s, k, o, f->name);
			break;
		case PF_NUMBER:
			api->bind_member_double(s, k, o, f->name);
			break;
		case PF_BOOL:
			if (json_object_is_type(v, json_type_boolean))
				api->bind_int(s, k, json_object_get_boolean(v) ? 1 : 0);
			else
				api->bind_null(s, k);
			break;
		case PF_ARRAY:
			api->bind_member_json(r, s, k, o, f->name, "[]");
			break;
		case PF_LANGMAP:
		case PF_OBJECT:
			api->bind_member_json(r, s, k, o, f->name, "{}");
			break;
		default:
			api->bind_member_text(s, k, o, f->name);
		}
	}
}

/* The text of column c made of the valid item `doc`, NULL for NULL. */
static const char *
store_derive(portal_req *r, const struct portal_column *c, struct json_object *doc)
{
	if (c->value != NULL)
		return c->value(r, doc);
	struct json_object *o = doc;
	const char *key = c->member, *dot = strchr(key, '.');
	if (dot != NULL) { /* one level down: "partner.name" */
		if (!json_object_object_get_ex(doc, api->printf(r, "%.*s", (int)(dot - key), key), &o))
			o = NULL;
		key = dot + 1;
	}
	const char *v = api->member_str(o, key);
	if (v == NULL && c->fallback != NULL)
		v = api->member_str(doc, c->fallback);
	switch (c->how) {
	case PC_SORT:
		return v ? v : "";
	case PC_FIRST_DAY:
	case PC_LAST_DAY:
		return api->period(r, v, c->how == PC_LAST_DAY);
	default:
		return v;
	}
}

/* Binds the item's columns, the extra columns and search_text from
 * parameter `first` on; the next parameter. */
static unsigned
store_bind_item(portal_req *r, portal_stmt *s, unsigned first, struct json_object *doc)
{
	const struct portal_item *it = r->plugin->item;
	unsigned i = first;
	store_bind_members(r, s, &i, it->schema, doc);
	for (const struct portal_column *c = it->columns; c && c->name; c++)
		api->bind_text(s, i++, store_derive(r, c, doc));
	struct buf b;
	buf_init(&b, r->pool);
	store_search_collect(&b, it->schema, doc);
	api->bind_text(s, i++, api->search_fold(r, b.data ? b.data : ""));
	return i;
}

/* After a failed write: a UNIQUE key refused it (a concurrent twin took
 * the value between before_write and the write): the module's 409, else
 * the core's of its first unique member (PORTAL_DONE); else PORTAL_ERROR. */
static int
store_failed(portal_req *r, portal_stmt *s, struct portal_write *w)
{
	const struct portal_item *it = r->plugin->item;
	int dup = api->is_duplicate(s);
	api->done(s);
	if (dup && it->conflict != NULL) {
		it->conflict(r, w);
		return PORTAL_DONE;
	}
	for (const struct portal_field *f = it->schema; dup && f->name; f++)
		if (store_is_unique(f)) {
			store_taken_answer(r, f, api->member_str(w->doc, f->name));
			return PORTAL_DONE;
		}
	return PORTAL_ERROR;
}

struct json_object *
store_row_object(portal_stmt *s, unsigned first, const struct portal_field *fields)
{
	struct json_object *o = json_object_new_object();
	store_members(fields, s, &first, o);
	return o;
}

unsigned
store_bind_object(portal_req *r, portal_stmt *s, unsigned first, const struct portal_field *fields,
                  struct json_object *o)
{
	store_bind_members(r, s, &first, fields, o);
	return first;
}

/* ---- the hooks (struct portal_item) ---- */

int
store_load(portal_req *r, long long id, int for_update, struct json_object **item,
           long long *version)
{
	const struct portal_item *it = r->plugin->item;
	const struct store_sql *q = r->plugin->store;
	portal_stmt *s;
	int rc = api->by_id_row(r, for_update ? q->load_lock : q->load, id, &s);
	if (rc != 1)
		return rc;
	struct json_object *o = store_from_row(r, s);
	*version = api->col_int(s, q->ncols - 2);
	api->done(s);
	if (o == NULL)
		return PORTAL_ERROR;
	api->keep(r, o);
	if (it->loaded != NULL && it->loaded(r, &o, &id, 1) != PORTAL_OK)
		return PORTAL_ERROR;
	*item = o;
	return 1;
}

/* Runs a list statement of the store (q->list or q->list_fts) with l's
 * arguments and `match` for the index (NULL: the LIKE terms alone). */
static int
store_list_run(portal_req *r, const char *sql, const struct portal_list *l, const char *match,
               struct json_object *items, int *more, const char **last_key, int *stopped)
{
	const struct portal_item *it = r->plugin->item;
	const struct store_sql *q = r->plugin->store;
	/* the all-list is q->list over several municipalities */
	portal_stmt *s = api->prepare(r, l->municipalities && sql == q->list ? q->list_all : sql);
	if (s == NULL)
		return PORTAL_ERROR;
	unsigned i = 0;
	api->bind_text(s, i++, l->municipalities ? l->municipalities : api->municipality(r));
	if (it->listed)
		api->bind_int(s, i++, l->insider ? 1 : 0);
	for (size_t f = 0; it->filters && it->filters[f].name; f++)
		for (unsigned k = 0; k <= q->filter_marks[f]; k++)
			api->bind_text(s, i++, l->arg[f]);
	api->bind_text(s, i++, l->updated_since);
	api->bind_text(s, i++, l->updated_since);
	api->bind_text(s, i++, match);
	api->bind_text(s, i++, match);
	int rc = api->list_rows(r, s, i, l, store_from_row, q->ncols - 1, items, more, last_key);
	if (stopped)
		*stopped = api->stopped(s);
	return rc;
}

/*
 * q through the FULLTEXT index (l->match), stopped after STORE_FTS_ROWS
 * rows (LIMIT ROWS EXAMINED): 1 with the page in `items`, 0 when the word
 * is too common for it (the index would hand over every row of every
 * municipality that has it, to be joined and sorted: for a word in most
 * of a million news, longer than statement_timeout), PORTAL_ERROR.
 */
static int
store_list_fts(portal_req *r, const struct portal_list *l, struct json_object *items,
               int *more, const char **last_key)
{
	struct json_object *got = api->keep(r, json_object_new_array());
	int stopped = 0, full = 0;
	const char *key = NULL;
	/* common: a full page within STORE_SCAN_ROWS rows of the list's order */
	if (store_list_run(r, r->plugin->store->list_scan, l, NULL, got, &full, &key, NULL) != PORTAL_OK)
		return PORTAL_ERROR;
	if (full) {
		stopped = 0;
	} else {
		json_object_array_del_idx(got, 0, json_object_array_length(got));
		key = NULL;
		if (store_list_run(r, r->plugin->store->list_fts, l, l->match, got, &full, &key,
		                   &stopped) != PORTAL_OK)
			return PORTAL_ERROR;
		if (stopped)
			return 0;
	}
	*more = full;
	for (size_t k = 0; k < json_object_array_length(got); k++)
		json_object_array_add(items, json_object_get(json_object_array_get_idx(got, k)));
	*last_key = key;
	return 1;
}

int
store_list(portal_req *r, const struct portal_list *l, struct json_object *items, int *more,
           const char **last_key)
{
	const struct portal_item *it = r->plugin->item;
	const struct store_sql *q = r->plugin->store;
	size_t first = json_object_array_length(items);
	/* a common word: the list's own order with the LIKE terms, which
	 * fills a page of it soon (substring matches then, as before the index) */
	int rc = l->match && l->municipalities == NULL ? store_list_fts(r, l, items, more, last_key) : 0;
	if (rc < 0)
		return PORTAL_ERROR;
	if (rc == 0 && store_list_run(r, q->list, l, NULL, items, more, last_key, NULL) != PORTAL_OK)
		return PORTAL_ERROR;
	size_t n = json_object_array_length(items) - first;
	if (it->loaded == NULL || n == 0)
		return PORTAL_OK;
	struct json_object **page = api->alloc(r, n * sizeof(*page));
	long long *ids = api->alloc(r, n * sizeof(*ids));
	for (size_t k = 0; k < n; k++) {
		struct json_object *id;
		page[k] = json_object_array_get_idx(items, first + k);
		json_object_object_get_ex(page[k], "id", &id);
		ids[k] = json_object_get_int64(id);
	}
	return it->loaded(r, page, ids, n);
}

/* A new version 4 UUID, lower case, in `out` (37 bytes). */
void
store_new_uid(char out[37])
{
	unsigned char b[16];
	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[b[i] >> 4];
		out[k++] = hex[b[i] & 15];
	}
	out[k] = '\0';
}

int
store_uid_ok(const char *s)
{
	if (s == NULL || strlen(s) != 36)
		return 0;
	for (size_t i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

long long
store_id_of_uid(portal_req *r, const char *uid)
{
	if (!store_uid_ok(uid))
		return 0;
	portal_stmt *s = api->prepare(r, r->plugin->store->by_uid);
	if (s == NULL)
		return -1;
	api->bind_text(s, 0, uid);
	api->bind_text(s, 1, api->municipality(r));
	if (api->execute(s) != PORTAL_OK) {
		api->done(s);
		return -1;
	}
	int rc = api->fetch(s);
	long long id = rc == 1 ? api->col_int(s, 0) : 0;
	api->done(s);
	return rc < 0 ? -1 : id;
}

long long
store_insert(portal_req *r, struct portal_write *w)
{
	const struct portal_item *it = r->plugin->item;
	/* a new uid, or the one an import keeps (portalctl import only): a
	 * uid any item of the table has already is a 409 */
	char fresh[37];
	const char *uid = r->core->keep_uid;
	if (uid != NULL) {
		portal_stmt *t = api->prepare(r, r->plugin->store->uid_taken);
		if (t == NULL)
			return PORTAL_ERROR;
		api->bind_text(t, 0, uid);
		int rc = api->execute(t) == PORTAL_OK ? api->fetch(t) : -1;
		const char *where = rc == 1 ? api->strdup(r, api->col_text(t, 0)) : NULL;
		api->done(t);
		if (rc < 0)
			return PORTAL_ERROR;
		if (rc == 1) {
			api->field_error(r, STORE_UID, "%s is already the uid of an item of %s", uid,
			                 where ? where : "this installation");
			api->problem(r, 409, "the %s's uid is taken", it->noun);
			return PORTAL_DONE;
		}
	} else {
		store_new_uid(fresh);
		uid = fresh;
	}
	portal_stmt *s = api->prepare(r, r->plugin->store->insert);
	if (s == NULL)
		return PORTAL_ERROR;
	api->bind_text(s, 0, api->municipality(r));
	unsigned i = store_bind_item(r, s, 1, w->doc);
	api->bind_text(s, i, uid);
	if (api->execute(s) != PORTAL_OK)
		return store_failed(r, s, w);
	long long id = api->insert_id(s);
	api->done(s);
	if (id <= 0)
		return PORTAL_ERROR;
	w->id = id;
	if (it->saved != NULL && it->saved(r, w) != PORTAL_OK)
		return PORTAL_ERROR;
	return id;
}

int
store_update(portal_req *r, struct portal_write *w)
{
	const struct portal_item *it = r->plugin->item;
	portal_stmt *s = api->prepare(r, r->plugin->store->update);
	if (s == NULL)
		return PORTAL_ERROR;
	unsigned i = store_bind_item(r, s, 0, w->doc);
	api->bind_int(s, i, w->id);
	api->bind_text(s, i + 1, api->municipality(r));
	if (api->execute(s) != PORTAL_OK)
		return store_failed(r, s, w);
	api->done(s);
	if (it->saved != NULL && it->saved(r, w) != PORTAL_OK)
		return PORTAL_ERROR;
	return PORTAL_OK;
}

int
store_exists(portal_req *r, long long id)
{
	portal_stmt *s;
	int rc = api->by_id_row(r, r->plugin->store->exists, id, &s);
	if (rc == 1)
		api->done(s);
	return rc;
}

int
store_remove(portal_req *r, long long id)
{
	return api->by_id_exec(r, r->plugin->store->remove, id);
}

/* A result of the search across modules, appended to `out`: {"module",
 * "id", "score", "item" (r->plugin's item, as its GET shows it), "text"
 * (the item's searched texts as written, one a line: for a snippet)}. */
static void
store_search_hit(portal_req *r, struct json_object *item, double score, struct json_object *out)
{
	struct json_object *o = json_object_new_object(), *id;
	struct buf b;
	buf_init(&b, r->pool);
	store_search_collect(&b, r->plugin->item->schema, item);
	json_object_object_get_ex(item, "id", &id);
	json_object_object_add(o, "module", json_object_new_string(r->plugin->name));
	json_object_object_add(o, "id", json_object_get(id));
	json_object_object_add(o, "score", json_object_new_double(score));
	json_object_object_add(o, "item", json_object_get(item));
	json_object_object_add(o, "text", json_object_new_string(b.data ? b.data : ""));
	json_object_array_add(out, o);
}

/* The search of a word too common for the index (store_list_fts): the
 * first STORE_SCAN_PAGE items of r->plugin's list that have it (the LIKE
 * terms), unranked (score 0), appended to `out` as store_search does,
 * after what the stopped search appended (nothing: it sorts last). */
static int
store_search_common(portal_req *r, const struct portal_list *l, struct json_object *out)
{
	const struct portal_item *it = r->plugin->item;
	struct portal_list first = *l;
	struct json_object *scan = api->keep(r, json_object_new_array());
	int more = 0;
	const char *key = NULL;
	first.after_key = NULL;
	first.limit = STORE_SCAN_PAGE;
	if (store_list_run(r, r->plugin->store->list, &first, NULL, scan, &more, &key, NULL) != PORTAL_OK)
		return PORTAL_ERROR;
	for (size_t k = 0; k < json_object_array_length(scan); k++) {
		struct json_object *item = json_object_array_get_idx(scan, k);
		if (it->visible == NULL || it->visible(r, item))
			store_search_hit(r, item, 0, out);
	}
	return PORTAL_OK;
}

/* Binds l's LIKE terms from parameter *i on, each twice ("? IS NULL OR ... LIKE ?"). */
static void
store_bind_terms(portal_stmt *s, unsigned *i, const struct portal_list *l)
{
	for (int k = 0; k < PORTAL_LIST_TERMS; k++) {
		api->bind_text(s, (*i)++, l->terms[k]);
		api->bind_text(s, (*i)++, l->terms[k]);
	}
}

/*
 * The search across modules: up to `max` items of plugin p (with a
 * table) that `l` (match, terms, insider) finds, best first by the
 * index's relevance, each as store_search_hit gives it.
 * What the caller may see is what p's list shows it (`listed`), and p's
 * visible hook has the last word, as on the item's own GET.
 * PORTAL_OK or PORTAL_ERROR.
 */
int
store_search(portal_req *r, portal_plugin *p, const struct portal_list *l, int max,
             struct json_object *out)
{
	if (p->store == NULL)
		return PORTAL_OK;
	portal_plugin *saved = r->plugin;
	r->plugin = p; /* the hooks and store_from_row read the module of r */
	const struct portal_item *it = p->item;
	const struct store_sql *q = p->store;
	int rc = PORTAL_ERROR;
	size_t first = json_object_array_length(out);
	if (l->match != NULL) {
		/* a common word (store_list_fts): the index is not asked */
		struct portal_list page = *l;
		struct json_object *scan = api->keep(r, json_object_new_array());
		int full = 0;
		const char *key = NULL;
		page.after_key = NULL;
		page.limit = STORE_SCAN_PAGE;
		if (store_list_run(r, q->list_scan, &page, NULL, scan, &full, &key, NULL) != PORTAL_OK)
			goto end;
		if (full) {
			rc = store_search_common(r, l, out);
			goto end;
		}
	}
	portal_stmt *s = api->prepare(r, q->search);
	if (s == NULL)
		goto end;
	unsigned i = 0;
	api->bind_text(s, i++, l->match);
	api->bind_text(s, i++, api->municipality(r));
	if (it->listed)
		api->bind_int(s, i++, l->insider ? 1 : 0);
	api->bind_text(s, i++, l->match);
	api->bind_text(s, i++, l->match);
	store_bind_terms(s, &i, l);
	api->bind_int(s, i, max);
	if (api->execute(s) != PORTAL_OK) {
		api->done(s);
		goto end;
	}
	while ((rc = api->fetch(s)) == 1) {
		struct json_object *item = store_from_row(r, s);
		if (item == NULL) {
			rc = PORTAL_ERROR;
			break;
		}
		api->keep(r, item);
		if (it->visible == NULL || it->visible(r, item))
			store_search_hit(r, item, api->col_double(s, q->ncols), out);
	}
	int stopped = api->stopped(s);
	api->done(s);
	rc = rc < 0 ? PORTAL_ERROR : PORTAL_OK;
	if (rc == PORTAL_OK && stopped) {
		/* what the stopped search gave (nothing: it sorts last) goes */
		size_t n = json_object_array_length(out);
		if (n > first)
			json_object_array_del_idx(out, first, n - first);
		rc = store_search_common(r, l, out);
	}
end:
	r->plugin = saved;
	return rc;
}

struct store_found {
	long long id;
	double score;
};

/*
 * The search across modules, as store_search for each plugin ps[i] into
 * outs[i], in a few statements whatever the number of modules (each
 * statement's round trip and execution cost about as much as the work of
 * a rare word; seven modules asked one by one, twice each, took 8-9 ms):
 *   1. one UNION ALL asks every module whether the words are common:
 *      more than STORE_SCAN_PAGE of the first STORE_SCAN_ROWS items of
 *      its list (as the caller sees it) have them.  Such a module's
 *      index is not asked (store_list_fts says why); its first items
 *      answer (store_search_common, one statement each).
 *   2. one UNION ALL asks the index of every other module: the ids and
 *      relevance of its best `max`, ranked and limited in SQL, under one
 *      STORE_FTS_ROWS budget; when that stops it, each module is asked
 *      on its own as before (store_search).
 *   3. one statement per module that found anything loads those items,
 *      checking `listed` and the words again (a write between 2 and 3
 *      drops an item: it is never shown when it should not be), then
 *      the visible hook, as store_search does.
 * PORTAL_OK or PORTAL_ERROR.
 */
int
store_search_all(portal_req *r, portal_plugin *const *ps, size_t n, const struct portal_list *l,
                 int max, struct json_object *const *outs)
{
	portal_plugin *saved = r->plugin;
	int rc = PORTAL_ERROR;
	int *common = api->alloc(r, (n + 1) * sizeof(*common));
	struct store_found **found = api->alloc(r, (n + 1) * sizeof(*found));
	size_t *nfound = api->alloc(r, (n + 1) * sizeof(*nfound));
	const char *muni = api->municipality(r);
	portal_stmt *s;
	struct buf b;
	size_t branches = 0;
	unsigned i = 0;
	if (max > STORE_SEARCH_MAX)
		max = STORE_SEARCH_MAX;

	/* 1. which modules have the words in most of their first items */
	buf_init(&b, r->pool);
	for (size_t m = 0; m < n && l->match; m++)
		if (ps[m]->store)
			buf_printf(&b, "%sSELECT %zu, %s", branches++ ? " UNION ALL " : "", m,
			           ps[m]->store->search_probe);
	if (branches) {
		if ((s = api->prepare(r, b.data)) == NULL)
			goto end;
		for (size_t m = 0; m < n; m++) {
			if (ps[m]->store == NULL)
				continue;
			store_bind_terms(s, &i, l);
			api->bind_text(s, i++, muni);
			if (ps[m]->item->listed)
				api->bind_int(s, i++, l->insider ? 1 : 0);
		}
		if (api->execute(s) != PORTAL_OK) {
			api->done(s);
			goto end;
		}
		int f;
		while ((f = api->fetch(s)) == 1) {
			long long m = api->col_int(s, 0);
			if (m >= 0 && (size_t)m < n)
				common[m] = api->col_int(s, 1) > STORE_SEARCH_PROBE / 5;
		}
		api->done(s);
		if (f < 0)
			goto end;
	}

	/* 2. the index of every other module, in one ranking per module */
	buf_init(&b, r->pool);
	branches = 0;
	for (size_t m = 0; m < n; m++)
		if (ps[m]->store && !common[m])
			buf_printf(&b, "%s(SELECT %zu, %s)", branches++ ? " UNION ALL " : "", m,
			           ps[m]->store->search_ids);
	int stopped = 0;
	if (branches) {
		buf_printf(&b, " LIMIT ROWS EXAMINED %d", STORE_FTS_ROWS);
		if ((s = api->prepare(r, b.data)) == NULL)
			goto end;
		i = 0;
		for (size_t m = 0; m < n; m++) {
			if (ps[m]->store == NULL || common[m])
				continue;
			api->bind_text(s, i++, l->match);
			api->bind_text(s, i++, muni);
			if (ps[m]->item->listed)
				api->bind_int(s, i++, l->insider ? 1 : 0);
			api->bind_text(s, i++, l->match);
			api->bind_text(s, i++, l->match);
			store_bind_terms(s, &i, l);
			api->bind_int(s, i++, max);
		}
		if (api->execute(s) != PORTAL_OK) {
			api->done(s);
			goto end;
		}
		int f;
		while ((f = api->fetch(s)) == 1) {
			long long m = api->col_int(s, 0);
			if (m < 0 || (size_t)m >= n || nfound[m] >= (size_t)max)
				continue;
			if (found[m] == NULL)
				found[m] = api->alloc(r, (size_t)max * sizeof(**found));
			found[m][nfound[m]].id = api->col_int(s, 1);
			found[m][nfound[m]++].score = api->col_double(s, 2);
		}
		stopped = api->stopped(s);
		api->done(s);
		if (f < 0)
			goto end;
	}

	for (size_t m = 0; m < n; m++) {
		if (ps[m]->store == NULL)
			continue;
		r->plugin = ps[m]; /* the hooks and store_from_row read the module of r */
		if (common[m]) {
			if (store_search_common(r, l, outs[m]) != PORTAL_OK)
				goto end;
			continue;
		}
		if (stopped) {
			r->plugin = saved;
			if (store_search(r, ps[m], l, max, outs[m]) != PORTAL_OK)
				goto end;
			continue;
		}
		if (nfound[m] == 0)
			continue;
		/* 3. the items found, as the caller may see them now */
		const struct portal_item *it = ps[m]->item;
		if ((s = api->prepare(r, ps[m]->store->search_load)) == NULL)
			goto end;
		i = 0;
		api->bind_text(s, i++, muni);
		if (it->listed)
			api->bind_int(s, i++, l->insider ? 1 : 0);
		store_bind_terms(s, &i, l);
		for (size_t k = 0; k < STORE_SEARCH_MAX; k++, i++)
			if (k < nfound[m])
				api->bind_int(s, i, found[m][k].id);
			else
				api->bind_null(s, i);
		if (api->execute(s) != PORTAL_OK) {
			api->done(s);
			goto end;
		}
		int f;
		while ((f = api->fetch(s)) == 1) {
			struct json_object *item = store_from_row(r, s);
			if (item == NULL) {
				f = PORTAL_ERROR;
				break;
			}
			api->keep(r, item);
			if (it->visible != NULL && !it->visible(r, item))
				continue;
			long long id = api->col_int(s, 0);
			double score = 0;
			for (size_t k = 0; k < nfound[m]; k++)
				if (found[m][k].id == id)
					score = found[m][k].score;
			store_search_hit(r, item, score, outs[m]);
		}
		api->done(s);
		if (f < 0)
			goto end;
	}
	rc = PORTAL_OK;
end:
	r->plugin = saved;
	return rc;
}
