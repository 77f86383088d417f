/* The store derived from a declared item (core/items/store.c): the statements,
 * and that every '?' in them is one the core binds. */
#include "core.h"
#include "t.h"

static const char *const kinds[] = {"a", "b", NULL};

static const struct portal_field inner[] = {
	{.name = "name", .type = PF_STRING, .flags = PF_SEARCH, .column = "inner_name"},
	{.name = "n", .type = PF_INT, .column = "inner_n"},
	{.name = NULL},
};

static const struct portal_field fields[] = {
	{.name = "title", .type = PF_STRING, .flags = PF_REQUIRED | PF_SEARCH},
	{.name = "kind", .type = PF_ENUM, .values = kinds},
	{.name = "at", .type = PF_STRING, .flags = PF_UTC},
	{.name = "inner", .type = PF_OBJECT, .flags = PF_NULLABLE, .fields = inner},
	{.name = "tags", .type = PF_ARRAY, .column = "tag_list"},
	{.name = "html", .type = PF_TEXT, .flags = PF_READONLY},
	{.name = "kept", .type = PF_ARRAY, .flags = PF_EXTERNAL},
	{.name = NULL},
};

static const struct portal_filter filters[] = {
	{.name = "kind", .type = PF_ENUM, .values = kinds, .sql = "t.kind = ?"},
	{.name = "tag", .type = PF_ENUM, .values = kinds, .sql = "t.a = ? OR t.b LIKE CONCAT(?, '%')"},
	{.name = NULL},
};

static const struct portal_column columns[] = {
	{.name = "sort_title", .member = "title", .how = PC_SORT},
	{.name = NULL},
};

/* What the core does of a declaration (slugs, drafts, Markdown, filters
 * over arrays): the filters it adds, the listed SQL and its hooks. */
static const struct portal_field area = {.name = "area", .type = PF_ENUM, .values = kinds};
static const struct portal_field decl_fields[] = {
	{.name = "slug", .type = PF_STRING, .flags = PF_SLUG | PF_UNIQUE, .max = 100, .from = "title"},
	{.name = "key", .type = PF_STRING, .flags = PF_SLUG, .column = "page_key"},
	{.name = "title", .type = PF_STRING},
	{.name = "body", .type = PF_TEXT, .flags = PF_MARKDOWN},
	{.name = "body_html", .type = PF_TEXT, .flags = PF_READONLY, .from = "body"},
	{.name = "status", .type = PF_ENUM, .values = kinds},
	{.name = "areas", .type = PF_ARRAY, .items = &area},
	{.name = NULL},
};
static const struct portal_filter decl_filters[] = {
	{.name = "key", .doc = "The key."},
	{.name = "area", .member = "areas"},
	{.name = NULL},
};
static const struct portal_field bad_slug[] = {
	{.name = "n", .type = PF_INT, .flags = PF_SLUG},
	{.name = NULL},
};
static const struct portal_field bad_from[] = {
	{.name = "html", .type = PF_TEXT, .flags = PF_READONLY, .from = "title"},
	{.name = "title", .type = PF_STRING},
	{.name = NULL},
};

static void
test_declared(void)
{
	const struct portal_item it = {.noun = "page", .schema = decl_fields, .filters = decl_filters,
	                               .table = "pages", .published = {"status", "b"}};
	struct store_sql *q = store_build(&it);
	T_OK(q != NULL, "a declaration with slugs, drafts, Markdown and an array filter builds");
	if (q == NULL)
		return;
	const struct portal_filter *f = q->item.filters;
	T_OK(f[0].name && strcmp(f[0].name, "area") == 0 && f[0].type == PF_ENUM &&
	         f[0].values == kinds && strcmp(f[0].sql, "JSON_CONTAINS(t.areas, JSON_QUOTE(?))") == 0,
	     "a filter with member: its items' type and values, JSON_CONTAINS on its column");
	T_OK(f[1].name && strcmp(f[1].name, "slug") == 0 && strcmp(f[1].sql, "t.slug = ?") == 0 &&
	         strcmp(f[1].doc, "The page with this slug.") == 0 &&
	         strcmp(f[1].pattern, PORTAL_SLUG_PATTERN) == 0 && f[1].parse == NULL,
	     "a PF_SLUG member gets the core's filter, after the module's others");
	T_OK(f[2].name && strcmp(f[2].name, "key") == 0 && strcmp(f[2].sql, "t.page_key = ?") == 0 &&
	         strcmp(f[2].doc, "The key.") == 0 && f[3].name == NULL,
	     "the module's filter of a PF_SLUG member keeps its doc, in the fields' order");
	T_OK(q->item.listed && strcmp(q->item.listed, "t.status = 'b'") == 0 &&
	         strstr(q->list, "AND (? = 1 OR (t.status = 'b'))") != NULL,
	     "published: the listed SQL is made of it");
	T_OK(q->item.visible && q->item.prepare && q->item.check && q->item.before_write &&
	         q->item.render,
	     "published, from and PF_UNIQUE give the core's hooks");
	store_free(q);

	const struct portal_item pub = {.noun = "visit", .schema = fields, .table = "visits",
	                                .published = {"kind", NULL}};
	T_OK(store_build(&pub) == NULL, "published without a value needs a PF_BOOL member");
	const struct portal_item slug = {.noun = "x", .schema = bad_slug, .table = "x"};
	T_OK(store_build(&slug) == NULL, "a PF_SLUG that is not a string is refused");
	const struct portal_item from = {.noun = "x", .schema = bad_from, .table = "x"};
	T_OK(store_build(&from) == NULL, "a read-only member made from no Markdown member is refused");
}

static unsigned
marks(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += *s == '?';
	return n;
}

int
main(void)
{
	const struct portal_item it = {.noun = "thing", .schema = fields, .filters = filters,
	                               .table = "things", .columns = columns, .sort = "t.sort_title",
	                               .sort_desc = 1, .listed = "t.kind = 'a'", .link_target = 1};
	struct store_sql *q = store_build(&it);
	T_OK(q != NULL, "a declared item gives a store");
	if (q == NULL)
		return T_DONE();
	T_STR(q->load,
	      "SELECT t.id, t.municipality, t.title, t.kind, DATE_FORMAT(t.at, '%Y-%m-%dT%H:%i:%sZ'), "
	      "t.inner_name, t.inner_n, t.tag_list, t.sources, t.uid, DATE_FORMAT(t.created_at, '%Y-%m-%dT%H:%i:%sZ'), "
	      "DATE_FORMAT(t.updated_at, '%Y-%m-%dT%H:%i:%sZ'), t.version, t.sort_title FROM things t "
	      "WHERE t.id = ? AND t.municipality = ?",
	      "SELECT: id, municipality, the columns in declared order (an object's members, no "
	      "read-only or external ones) and the core's sources, the core's uid, the timestamps, "
	      "version, the sort key");
	T_OK(q->ncols == 14, "14 columns: version is column 12, the sort key 13");
	T_STR(q->insert,
	      "INSERT INTO things (municipality, title, kind, at, inner_name, inner_n, tag_list, "
	      "sources, sort_title, search_text, uid, version, created_at, updated_at) VALUES (?, ?, ?, ?, "
	      "?, ?, ?, ?, ?, ?, ?, 1, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
	      "INSERT: the members, the core's sources, the extra columns, search_text, the uid");
	{
		const struct portal_field *last = NULL;
		for (const struct portal_field *f = q->item.schema; f->name; f++)
			last = f;
		T_OK(q->item.schema != fields && last && strcmp(last->name, "sources") == 0 &&
		         last->type == PF_ARRAY && last->items == store_sources.items,
		     "the item's fields are the module's and the core's sources, last");
	}
	T_OK(marks(q->insert) == 2 + q->nwrite, "INSERT binds municipality, %u columns and the uid",
	     q->nwrite);
	T_OK(marks(q->update) == q->nwrite + 2, "UPDATE binds the same columns, then id and "
	                                        "municipality");
	/* municipality, insider, each filter's value once more than its
	 * condition has ?, updated_since twice, q for the index twice, the q
	 * terms, the cursor, the limit */
	unsigned want = 1 + 1 + (1 + 1) + (1 + 2) + 2 + 2 + 2 * PORTAL_LIST_TERMS + 4 + 1;
	T_OK(marks(q->list) == want, "the list has the %u parameters the core binds (has %u)", want,
	     marks(q->list));
	T_OK(marks(q->list_all) == want && strstr(q->list_all, "WHERE FIND_IN_SET(t.municipality, ?)") &&
	         strcmp(strstr(q->list_all, " AND"), strstr(q->list, " AND")) == 0,
	     "the all-list is the list over FIND_IN_SET(municipality, ?)");
	T_OK(strstr(q->list, "AND (? IS NULL OR t.updated_at >= ?)") != NULL, "updated_since");
	T_STR(q->by_uid, "SELECT id FROM things WHERE uid = ? AND municipality = ?", "by uid");
	T_OK(strstr(q->list, "AND (? = 1 OR (t.kind = 'a'))") != NULL, "listed: readers see all");
	T_OK(strstr(q->list, "ORDER BY t.sort_title DESC, t.id DESC LIMIT ?") != NULL &&
	         strstr(q->list, "t.sort_title < ? OR (t.sort_title = ? AND t.id < ?)") != NULL,
	     "descending keyset order and cursor");
	T_OK(strstr(q->list, "AND (? IS NULL OR MATCH(t.search_text) AGAINST (? IN BOOLEAN MODE)) "
	                     "AND (? IS NULL OR t.search_text LIKE ? ESCAPE '!')") != NULL,
	     "q: the FULLTEXT index, then the LIKE terms");
	/* the search across modules: match (the score), municipality, insider,
	 * match twice, the q terms, the limit */
	want = 1 + 1 + 1 + 2 + 2 * PORTAL_LIST_TERMS + 1;
	T_OK(q->search && marks(q->search) == want, "the search has the %u parameters store_search binds",
	     want);
	T_OK(q->search && strstr(q->search, "AND (? = 1 OR (t.kind = 'a'))") != NULL &&
	         strstr(q->search, "ORDER BY search_score DESC, t.id DESC LIMIT ?") != NULL,
	     "the search: the list's visibility, best first");
	/* the search across modules in few statements (store_search_all) */
	want = 2 * PORTAL_LIST_TERMS + 1 + 1;
	T_OK(q->search_probe && marks(q->search_probe) == want,
	     "the probe has the %u parameters store_search_all binds (terms, municipality, insider)", want);
	T_OK(q->search_probe && strstr(q->search_probe, "AND (? = 1 OR (t.kind = 'a'))") != NULL &&
	         strstr(q->search_probe, "ORDER BY t.sort_title DESC, t.id DESC LIMIT 30) x") != NULL &&
	         strstr(q->search_probe, "AS hit FROM things t") != NULL,
	     "the probe: the first STORE_SEARCH_PROBE items of the list as the caller sees it, "
	     "holding the LIKE's answer (no TEXT in the derived table)");
	want = 1 + 1 + 1 + 2 + 2 * PORTAL_LIST_TERMS + 1;
	T_OK(q->search_ids && marks(q->search_ids) == want &&
	         strncmp(q->search_ids, "t.id, MATCH(t.search_text)", 26) == 0 &&
	         strstr(q->search_ids, "AND (? = 1 OR (t.kind = 'a'))") != NULL &&
	         strstr(q->search_ids, "ORDER BY search_score DESC, t.id DESC LIMIT ?") != NULL,
	     "the index's branch: id and relevance, the list's visibility, best first, %u parameters", want);
	want = 1 + 1 + 2 * PORTAL_LIST_TERMS + STORE_SEARCH_MAX;
	T_OK(q->search_load && marks(q->search_load) == want &&
	         strstr(q->search_load, "AND (? = 1 OR (t.kind = 'a'))") != NULL &&
	         strstr(q->search_load, "t.search_text LIKE ?") != NULL,
	     "the load of what the index found checks visibility and words again (%u parameters)", want);
	T_OK(q->filter_marks[0] == 1 && q->filter_marks[1] == 2, "each filter's ? counted");
	T_OK(q->item.readonly == q->readonly && q->item.load == store_load &&
	         q->item.exists == store_exists,
	     "the hooks are the derived store's; a link target has exists");
	T_OK(strcmp(q->readonly[2], "uid") == 0 && strcmp(q->readonly[3], "html") == 0 &&
	         strcmp(q->readonly[7], "linked") == 0 && q->readonly[8] == NULL,
	     "read-only: id, municipality, uid, html, created_at, updated_at, version, linked");
	store_free(q);
	test_declared();
	{
		char a[37], b[37];
		store_new_uid(a);
		store_new_uid(b);
		T_OK(store_uid_ok(a) && store_uid_ok(b) && strcmp(a, b) != 0 && a[14] == '4' &&
		         strchr("89ab", a[19]) != NULL,
		     "store_new_uid: version 4 UUIDs, lower case, two differ (%s)", a);
		T_OK(!store_uid_ok("not-a-uid") && !store_uid_ok("A0000000-0000-4000-8000-000000000000") &&
		         !store_uid_ok(NULL),
		     "store_uid_ok refuses what is no lower-case UUID");
	}
	return T_DONE();
}
