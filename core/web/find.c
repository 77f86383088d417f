/*
 * find.c - the search across modules: GET /api/v1/{m}/search?q=&limit=&cursor=
 * (find_api, which the dispatcher calls as it calls an export: a core
 * resource, not a plugin's route) and its page /{m}/search (find_page,
 * which reads that answer through the JSON API like every page).
 *
 * Every module the municipality enables whose item is declared with a
 * table is asked through its FULLTEXT index, all in a few statements
 * (store_search_all: the module's `listed` and visible hook decide what
 * the caller sees, as on its list and its item's GET), up to
 * FIND_PER_MODULE items each, best first by the index's relevance.  They are then ranked together: first the items
 * whose title (the module's title.txt) is the query, then those whose
 * title holds every word of it (as a word's beginning), then the rest,
 * each group by the index's relevance, then by module and newest id.
 * `cursor` pages through that ranking (an offset: the ranking is made
 * anew for each page, so a page after a write may repeat or skip one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "page.h"

#define FIND_PER_MODULE STORE_SEARCH_MAX /* the best of each module by the index's relevance */

/* The base letters of U+00C0..U+017F and U+0218..U+021B (Ș ș Ț ț), lower
 * case, '?' for a sign: accents and case compared away, as the index's
 * collation does. */
static const char find_latin[] =
    "aaaaaaaceeeeiiiidnooooo?ouuuuytsaaaaaaaceeeeiiiidnooooo?ouuuuytyaaaaaaccccccccddddeeeeeeeeeeg"
    "gggggggghhhhiiiiiiiiiiiijjkkkllllllllllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyz"
    "zzzzzs";
static const char find_latin_b[] = "sstt";

/* The character at s as one byte to compare (a lower-case base letter, or
 * the first byte of a character this does not know); *n its length. */
static unsigned char
find_base(const unsigned char *s, size_t *n)
{
	if (*s < 0x80) {
		*n = 1;
		return (*s >= 'A' && *s <= 'Z') ? (unsigned char)(*s + 32) : *s;
	}
	size_t len = *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 : *s >= 0xc0 ? 2 : 1;
	for (size_t i = 1; i < len; i++)
		if (s[i] == '\0')
			len = i;
	*n = len;
	if (len == 2) {
		unsigned cp = ((unsigned)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
		if (cp >= 0xc0 && cp < 0x180)
			return (unsigned char)find_latin[cp - 0xc0];
		if (cp >= 0x218 && cp <= 0x21b)
			return (unsigned char)find_latin_b[cp - 0x218];
	}
	return *s;
}

static int
find_is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

/* `s` folded as search_fold folds it (ß is ss) and compared away
 * (find_base): one byte per letter; offs[i] the byte of s where the
 * character that gave byte i began (offs[len] = strlen(s)). */
static char *
find_skel(struct pool *p, const char *s, size_t **offs)
{
	size_t n = strlen(s), k = 0, len;
	char *out = pool_alloc(p, n + 1);
	if (offs)
		*offs = pool_alloc(p, (n + 1) * sizeof(**offs));
	for (size_t i = 0; i < n; i += len) {
		const unsigned char *to = (const unsigned char *)search_fold_char(s + i, &len);
		if (to == NULL) {
			if (offs)
				(*offs)[k] = i;
			out[k++] = (char)find_base((const unsigned char *)s + i, &len);
			continue;
		}
		for (size_t one; *to; to++) { /* ß: "ss", both from its byte */
			if (offs)
				(*offs)[k] = i;
			out[k++] = (char)find_base(to, &one);
		}
	}
	if (offs)
		(*offs)[k] = n;
	out[k] = '\0';
	return out;
}

/* The words of a skeleton, NULL-terminated (at most SEARCH_MAX_WORDS). */
static const char **
find_words(struct pool *p, const char *skel)
{
	const char **w = pool_alloc(p, (SEARCH_MAX_WORDS + 1) * sizeof(*w));
	size_t k = 0;
	for (const char *s = skel; *s && k < SEARCH_MAX_WORDS;) {
		while (*s && !find_is_word((unsigned char)*s))
			s++;
		size_t n = 0;
		while (s[n] && find_is_word((unsigned char)s[n]))
			n++;
		if (n)
			w[k++] = pool_strndup(p, s, n);
		s += n;
	}
	w[k] = NULL;
	return w;
}

/* Where `word` begins a word of `skel`, or NULL. */
static const char *
find_word_start(const char *skel, const char *word)
{
	size_t n = strlen(word);
	for (const char *s = skel; (s = strstr(s, word)) != NULL; s++)
		if ((s == skel || !find_is_word((unsigned char)s[-1])) && n > 0)
			return s;
	return NULL;
}

/* 2: the title is the query; 1: every word of the query begins a word of
 * the title; 0: neither. */
static int
find_tier(struct portal_req *r, const char *title, const char *const *qwords)
{
	struct pool *p = r->pool;
	const char *tskel = find_skel(p, title, NULL);
	const char *const *tw = find_words(p, tskel);
	size_t nq = 0, nt = 0;
	while (qwords[nq])
		nq++;
	while (tw[nt])
		nt++;
	if (nq == 0)
		return 0;
	int same = nq == nt;
	for (size_t i = 0; same && i < nq; i++)
		same = strcmp(qwords[i], tw[i]) == 0;
	if (same)
		return 2;
	for (size_t i = 0; i < nq; i++)
		if (find_word_start(tskel, qwords[i]) == NULL)
			return 0;
	return 1;
}

/* Characters (code points) of the n bytes at s. */
static long long
find_chars(const char *s, size_t n)
{
	long long k = 0;
	for (size_t i = 0; i < n; i++)
		k += ((unsigned char)s[i] & 0xc0) != 0x80;
	return k;
}

/*
 * The snippet of a result into e: "snippet", a line of `text` (the item's
 * searched texts as written, one a line) around the first word of the
 * query found in it, with "…" where it was cut, else its first line that
 * is not the title; "marks", [[from, to], ...]: where in the snippet (in
 * characters, from 0, `to` not included) a word begins with a word of
 * the query, compared as the index compares (case, accents and ß away).
 */
static void
find_snippet(struct pool *p, const char *text, const char *title, const char *const *qwords,
             struct json_object *e)
{
	size_t *offs;
	const char *skel = find_skel(p, text, &offs);
	/* the title is shown already: a line after it, when one has a word */
	size_t body = 0, tl = strlen(title), nskel = strlen(skel);
	if (strncmp(text, title, tl) == 0 && text[tl] == '\n' && text[tl + 1])
		while (body < nskel && offs[body] <= tl)
			body++;
	const char *hit = NULL;
	for (size_t i = 0; qwords[i] && hit == NULL; i++)
		hit = find_word_start(skel + body, qwords[i]);
	for (size_t i = 0; qwords[i] && hit == NULL; i++)
		hit = find_word_start(skel, qwords[i]);
	size_t at = hit ? offs[hit - skel] : offs[body];
	size_t start = at, end = at, len = strlen(text);
	while (start > 0 && text[start - 1] != '\n' && at - start < 60)
		start--;
	if (start > 0 && text[start - 1] != '\n') /* from the beginning of a word */
		while (start < at && text[start - 1] != ' ')
			start++;
	while (start < at && ((unsigned char)text[start] & 0xc0) == 0x80)
		start++; /* not inside a character */
	while (end < len && text[end] != '\n' && end - at < 160)
		end++;
	while (end > at && end < len && ((unsigned char)text[end] & 0xc0) == 0x80)
		end--;
	int cut_before = start > 0 && text[start - 1] != '\n';
	int cut_after = end < len && text[end] != '\n';
	json_object_object_add(e, "snippet", json_object_new_string(pool_printf(
	                                         p, "%s%.*s%s", cut_before ? "…" : "", (int)(end - start),
	                                         text + start, cut_after ? "…" : "")));
	struct json_object *marks = json_object_new_array();
	long long lead = cut_before ? 1 : 0; /* "…" */
	for (size_t k = 0; k < nskel && offs[k] < end; k++) {
		if (offs[k] < start || (k > 0 && find_is_word((unsigned char)skel[k - 1])) ||
		    !find_is_word((unsigned char)skel[k]))
			continue;
		int begins = 0;
		for (size_t i = 0; qwords[i] && !begins; i++)
			begins = strncmp(skel + k, qwords[i], strlen(qwords[i])) == 0;
		size_t kk = k;
		while (kk < nskel && find_is_word((unsigned char)skel[kk]))
			kk++;
		if (begins) {
			size_t to = offs[kk] < end ? offs[kk] : end;
			struct json_object *m = json_object_new_array();
			json_object_array_add(m, json_object_new_int64(lead + find_chars(text + start, offs[k] - start)));
			json_object_array_add(m, json_object_new_int64(lead + find_chars(text + start, to - start)));
			json_object_array_add(marks, m);
		}
		k = kk - 1;
	}
	json_object_object_add(e, "marks", marks);
}

struct find_hit {
	int tier;
	double score;
	size_t module; /* the municipality's order of modules */
	long long id;
	struct json_object *o;
	const char *title;
};

static int
find_cmp(const void *a, const void *b)
{
	const struct find_hit *x = a, *y = b;
	if (x->tier != y->tier)
		return y->tier - x->tier;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	if (x->module != y->module)
		return x->module < y->module ? -1 : 1;
	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

void
find_api(struct core *c, struct portal_req *r)
{
	const char *q = req_query(r, "q");
	struct portal_list l;
	memset(&l, 0, sizeof(l));
	l.insider = r->role >= PORTAL_ROLE_READER;
	if (q == NULL || q[strspn(q, " \t")] == '\0')
		out_field_error(r, "q", "is required: the words to search for");
	else if (search_terms(r, q, l.terms, PORTAL_LIST_TERMS) > 0)
		l.match = search_match(r, q);
	l.limit = paging_limit(r);
	long long offset = 0;
	const char *cursor = req_query(r, "cursor");
	if (cursor) {
		struct json_object *keys = paging_cursor_decode(r, cursor), *o;
		if (keys && (json_object_array_length(keys) != 1 ||
		             !json_object_is_type(o = json_object_array_get_idx(keys, 0), json_type_int) ||
		             (offset = json_object_get_int64(o)) <= 0 || offset > 100000))
			out_field_error(r, "cursor", "is not a cursor of this search; start without it");
	}
	if (r->errors) {
		out_problem(r, 422, "the search's arguments are not valid");
		return;
	}

	struct page pg;
	memset(&pg, 0, sizeof(pg));
	pg.c = c;
	pg.r = r;
	pg.lang = page_lang(r);
	pg.module = "";
	page_root(&pg, NULL);
	page_base(&pg);
	const char *base = json_object_get_string(json_object_object_get(pg.root, "base"));

	struct json_object *all = pool_keep_json(r->pool, json_object_new_array());
	size_t first = 0, n;
	struct find_hit *hits = NULL;
	size_t nhits = 0, cap = 0;
	const char *const *qwords = find_words(r->pool, find_skel(r->pool, q ? q : "", NULL));
	size_t nmods = 0;
	portal_plugin **mods = pool_alloc(r->pool, (r->muni->nmodules + 1) * sizeof(*mods));
	struct json_object **outs = pool_alloc(r->pool, (r->muni->nmodules + 1) * sizeof(*outs));
	for (size_t m = 0; m < r->muni->nmodules; m++) {
		portal_plugin *p = plugin_find(c->plugins, r->muni->modules[m]);
		if (p == NULL || p->store == NULL)
			continue;
		outs[nmods] = pool_keep_json(r->pool, json_object_new_array());
		mods[nmods++] = p;
	}
	if (store_search_all(r, mods, nmods, &l, FIND_PER_MODULE, outs) != PORTAL_OK) {
		log_msg(PORTAL_LOG_ERR, r->request_id, "search failed (database: %s)", db_error(r->db));
		out_problem(r, db_is_down(r->db) ? 503 : 500, "the server failed to answer this request");
		return;
	}
	for (size_t m = 0; m < nmods; m++) {
		portal_plugin *p = mods[m];
		for (size_t k = 0; k < json_object_array_length(outs[m]); k++)
			json_object_array_add(all, json_object_get(json_object_array_get_idx(outs[m], k)));
		const struct tmpl *tt = pages_find(p->name, "title.txt");
		pg.module = p->name;
		pg.labels = page_words(p, pg.lang);
		for (n = json_object_array_length(all); first < n; first++) {
			struct json_object *o = json_object_array_get_idx(all, first), *v;
			struct buf tb;
			buf_init(&tb, r->pool);
			json_object_object_get_ex(o, "item", &v);
			if (tt == NULL || page_render(&pg, tt, v, &tb) != PORTAL_OK || tb.data == NULL)
				buf_puts(&tb, pool_printf(r->pool, "%s %s", p->name,
				                          json_object_get_string(json_object_object_get(o, "id"))));
			while (tb.len > 0 && (tb.data[tb.len - 1] == '\n' || tb.data[tb.len - 1] == ' '))
				tb.data[--tb.len] = '\0';
			if (nhits == cap) {
				size_t ncap = cap ? 2 * cap : 64;
				struct find_hit *nh = pool_alloc(r->pool, ncap * sizeof(*nh));
				if (nhits)
					memcpy(nh, hits, nhits * sizeof(*nh));
				hits = nh;
				cap = ncap;
			}
			struct find_hit *h = &hits[nhits++];
			h->o = o;
			h->module = m;
			h->title = tb.data;
			h->id = json_object_get_int64(json_object_object_get(o, "id"));
			h->score = json_object_get_double(json_object_object_get(o, "score"));
			h->tier = find_tier(r, h->title, qwords);
		}
	}
	if (nhits > 1)
		qsort(hits, nhits, sizeof(*hits), find_cmp);

	struct json_object *res = json_object_new_object(), *items = json_object_new_array();
	json_object_object_add(res, "items", items);
	for (size_t i = (size_t)offset; i < nhits && i < (size_t)offset + (size_t)l.limit; i++) {
		struct find_hit *h = &hits[i];
		struct json_object *e = json_object_new_object();
		const char *module = json_object_get_string(json_object_object_get(h->o, "module"));
		const char *text = json_object_get_string(json_object_object_get(h->o, "text"));
		json_object_object_add(e, "module", json_object_new_string(module));
		json_object_object_add(e, "id", json_object_new_int64(h->id));
		json_object_object_add(e, "title", json_object_new_string(h->title));
		find_snippet(r->pool, text ? text : "", h->title, qwords, e);
		json_object_object_add(e, "url", json_object_new_string(pool_printf(
		                                     r->pool, "%s/%s/%s/%lld", base, r->muni->slug, module, h->id)));
		json_object_array_add(items, e);
	}
	struct json_object *next = NULL;
	if ((size_t)offset + (size_t)l.limit < nhits) {
		struct json_object *keys = pool_keep_json(r->pool, json_object_new_array());
		json_object_array_add(keys, json_object_new_int64(offset + l.limit));
		next = json_object_new_string(paging_cursor_encode(r, keys));
	}
	json_object_object_add(res, "next", next);
	out_json(r, 200, res);
}

/* The byte of s (UTF-8) where character k begins (strlen(s) past the end). */
static size_t
find_byte(const char *s, long long k)
{
	size_t i = 0;
	for (; s[i] && k >= 0; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && k-- == 0)
			return i;
	return i;
}

/* A snippet and its marks (find_snippet) as the page's parts: [{text,
 * mark}], each mark a <mark> of search.html; NULL for no snippet. */
static struct json_object *
find_parts(struct pool *p, struct json_object *snippet, struct json_object *marks)
{
	const char *s = json_object_get_string(snippet);
	if (s == NULL || *s == '\0')
		return NULL;
	struct json_object *parts = json_object_new_array();
	size_t at = 0, n = strlen(s);
	for (size_t i = 0; i <= json_object_array_length(marks); i++) {
		struct json_object *m = json_object_array_get_idx(marks, i);
		size_t from = m ? find_byte(s, json_object_get_int64(json_object_array_get_idx(m, 0))) : n;
		size_t to = m ? find_byte(s, json_object_get_int64(json_object_array_get_idx(m, 1))) : n;
		if (from < at || to < from)
			continue; /* not a mark of this snippet */
		for (int mark = 0; mark < 2; mark++) {
			size_t a = mark ? from : at, b = mark ? to : from;
			if (b <= a)
				continue;
			struct json_object *e = json_object_new_object();
			json_object_object_add(e, "text", json_object_new_string(pool_strndup(p, s + a, b - a)));
			json_object_object_add(e, "mark", json_object_new_boolean(mark));
			json_object_array_add(parts, e);
		}
		at = to;
	}
	return parts;
}

/* /{m}/search?q=: the search's answer through the JSON API, ranked, each
 * result a link to its item's page; without q only the form. */
void
find_page(struct page *pg)
{
	struct portal_req *r = pg->r;
	struct json_object *d = pool_keep_json(r->pool, json_object_new_object());
	const char *q = req_query(r, "q");
	const char *heading =
	    json_object_get_string(json_object_object_get(json_object_object_get(catalogue, pg->lang), "search"));
	int status = 200;
	if (q != NULL && q[strspn(q, " \t")] != '\0') {
		json_object_object_add(d, "q", json_object_new_string(q));
		struct buf qs;
		buf_init(&qs, r->pool);
		const char *names[] = {"q", "cursor", "limit"};
		for (size_t i = 0; i < 3; i++) {
			const char *v = req_query(r, names[i]);
			if (v == NULL)
				continue;
			buf_printf(&qs, "%s%s=", qs.len ? "&" : "", names[i]);
			for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
				if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
				    strchr("-._~", *s))
					buf_add(&qs, s, 1);
				else
					buf_printf(&qs, "%%%02X", *s);
			}
		}
		struct pages_call call = {.path = pool_printf(r->pool, "/api/v1/%s/search", r->muni->slug),
		                          .query = qs.data};
		struct portal_req *sub = pg->api(pg->c, r, &call);
		if (sub->status != 200 || sub->resp_json == NULL) {
			struct json_object *errs;
			const char *detail = NULL;
			if (sub->resp_json && json_object_object_get_ex(sub->resp_json, "errors", &errs) &&
			    json_object_array_length(errs) > 0)
				detail = pool_printf(r->pool, "%s %s",
				                     json_object_get_string(json_object_object_get(
				                         json_object_array_get_idx(errs, 0), "field")),
				                     msg_translate(r->pool, pg->lang,
				                                   json_object_get_string(json_object_object_get(
				                                       json_object_array_get_idx(errs, 0), "message"))));
			page_error(pg, sub->status >= 400 ? sub->status : 500, detail);
			return;
		}
		struct json_object *items, *next;
		json_object_object_get_ex(sub->resp_json, "items", &items);
		struct json_object *list = json_object_new_array();
		for (size_t i = 0; i < json_object_array_length(items); i++) {
			struct json_object *it = json_object_array_get_idx(items, i), *e = json_object_new_object();
			const char *module = json_object_get_string(json_object_object_get(it, "module"));
			portal_plugin *p = plugin_find(pg->c->plugins, module);
			json_object_object_add(e, "title", json_object_get(json_object_object_get(it, "title")));
			json_object_object_add(e, "snippet", find_parts(r->pool, json_object_object_get(it, "snippet"),
			                                                json_object_object_get(it, "marks")));
			json_object_object_add(e, "module", json_object_new_string(page_word(p, pg->lang, "title", module)));
			json_object_object_add(e, "href", json_object_new_string(pool_printf(
			                                      r->pool, "/%s/%s/%s?lang=%s", r->muni->slug, module,
			                                      json_object_get_string(json_object_object_get(it, "id")),
			                                      pg->lang)));
			json_object_array_add(list, e);
		}
		json_object_object_add(d, "items", list);
		json_object_object_add(d, "none", json_object_new_boolean(json_object_array_length(list) == 0));
		if (json_object_object_get_ex(sub->resp_json, "next", &next) && next)
			json_object_object_add(d, "next", json_object_get(next));
		heading = pool_printf(r->pool, "%s: %s", heading, q);
	}
	struct buf b;
	buf_init(&b, r->pool);
	if (page_render(pg, pages_find("", "search.html"), d, &b) != PORTAL_OK) {
		page_error(pg, 500, NULL);
		return;
	}
	page_send(pg, status, heading, b.data, NULL);
}
