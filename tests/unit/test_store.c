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
