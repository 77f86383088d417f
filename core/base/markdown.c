/*
 * markdown.c - a Markdown text (CommonMark) as HTML safe to put in a page,
 * with libcmark: news bodies, pages, the editor's preview (the plugins
 * call it as api->markdown).
 *
 * cmark's default (safe) mode already renders raw HTML as a comment and
 * empties javascript:, vbscript:, file: and most data: URLs.  We go
 * further on the parsed tree before rendering, so the rules are ours and
 * not a library default that could change:
 *
 *   - raw HTML (blocks and inline) is removed, comment and all;
 *   - a link keeps its URL only when it is relative or http:, https:,
 *     mailto: or tel: (an image: relative, http: or https:), judged the
 *     way a browser reads a scheme (leading blanks and tabs/line breaks
 *     inside ignored, any case); otherwise the link is replaced by its
 *     text, and an autolink (whose text is the URL) disappears.
 *
 * The HTML is made when an item is read, not stored, so a fix here
 * applies to every item at once; each worker keeps what it made lately
 * (below), so a text read again is not parsed again.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmark.h>

#include "core.h"

/* 1 when `url` may stay in a link (image: in an image's src). */
static int
md_url_ok(const char *url, int image)
{
	char scheme[8];
	size_t n = 0;
	int long_scheme = 0;
	const unsigned char *p = (const unsigned char *)url;
	while (*p && *p <= 0x20) /* browsers strip leading C0 controls and spaces */
		p++;
	for (; *p; p++) {
		if (*p == '\t' || *p == '\n' || *p == '\r') /* removed anywhere by browsers */
			continue;
		if (*p == ':')
			break;
		if (*p == '/' || *p == '?' || *p == '#')
			return 1; /* a path, query or fragment before any ':': relative */
		if (n + 1 < sizeof(scheme))
			scheme[n++] = (char)tolower(*p);
		else
			long_scheme = 1;
	}
	if (*p == '\0')
		return 1; /* no scheme: relative */
	scheme[n] = '\0';
	if (long_scheme)
		return 0;
	if (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)
		return 1;
	return !image && (strcmp(scheme, "mailto") == 0 || strcmp(scheme, "tel") == 0);
}

/* 1 when link `node` is an autolink: its only child is its URL as text. */
static int
md_is_autolink(cmark_node *node, const char *url)
{
	cmark_node *c = cmark_node_first_child(node);
	if (c == NULL || c != cmark_node_last_child(node) || cmark_node_get_type(c) != CMARK_NODE_TEXT)
		return 0;
	const char *text = cmark_node_get_literal(c);
	return text != NULL &&
	       (strcmp(text, url) == 0 || (strncmp(url, "mailto:", 7) == 0 && strcmp(text, url + 7) == 0));
}

/* Replaces `node` by its children (in place), then frees it. */
static void
md_unwrap(cmark_node *node)
{
	cmark_node *c;
	while ((c = cmark_node_first_child(node)) != NULL)
		cmark_node_insert_before(node, c); /* moves c out of node */
	cmark_node_free(node);
}

/* Applies the rules above to the tree under `doc`.  cmark allows changing
 * a node at its EXIT event, or at ENTER for a leaf: the iterator has
 * already stepped past it then. */
static void
md_clean(cmark_node *doc)
{
	cmark_iter *it = cmark_iter_new(doc);
	cmark_event_type ev;
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *node = cmark_iter_get_node(it);
		cmark_node_type type = cmark_node_get_type(node);
		if (type == CMARK_NODE_HTML_BLOCK || type == CMARK_NODE_HTML_INLINE) {
			cmark_node_free(node); /* a leaf: ENTER is its only event */
		} else if (ev == CMARK_EVENT_EXIT &&
		           (type == CMARK_NODE_LINK || type == CMARK_NODE_IMAGE)) {
			const char *url = cmark_node_get_url(node);
			if (url == NULL || md_url_ok(url, type == CMARK_NODE_IMAGE))
				continue;
			if (md_is_autolink(node, url))
				cmark_node_free(node);
			else
				md_unwrap(node);
		}
	}
	cmark_iter_free(it);
}

/*
 * What the worker rendered lately, so that a text read again and again
 * (the news of a feed, a page) is rendered once, not on every read: a
 * table of MD_SLOTS entries by the text's hash, each the text and its
 * HTML, compared in full before use.  Texts over MD_ENTRY_MAX bytes (with
 * their HTML) are not kept, so a worker keeps at most MD_SLOTS x
 * MD_ENTRY_MAX = 4 MiB.  The output depends on the text alone (and on this
 * file: a new build starts empty).
 */
#define MD_SLOTS 256
#define MD_ENTRY_MAX 16384
struct md_entry {
	uint64_t hash;
	size_t md_len;
	char *md, *html; /* one malloc: the text, then the HTML */
};
static struct md_entry md_cache[MD_SLOTS];
static unsigned long md_hits, md_misses;

static uint64_t
md_hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static char *
md_render(const char *md, size_t n)
{
	cmark_node *doc = cmark_parse_document(md, n, CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8);
	if (doc == NULL)
		return NULL;
	md_clean(doc);
	/* never CMARK_OPT_UNSAFE: the renderer's own safe mode stays on */
	char *html = cmark_render_html(doc, CMARK_OPT_DEFAULT);
	cmark_node_free(doc);
	return html;
}

char *
markdown_html(struct pool *p, const char *md)
{
	size_t n = strlen(md);
	uint64_t h = md_hash(md, n);
	struct md_entry *e = &md_cache[h % MD_SLOTS];
	if (e->md != NULL && e->hash == h && e->md_len == n && memcmp(e->md, md, n) == 0) {
		md_hits++;
		return pool_strdup(p, e->html);
	}
	md_misses++;
	char *html = md_render(md, n);
	if (html == NULL)
		return NULL;
	char *out = pool_strdup(p, html); /* the pool's; cmark's copy is freed here */
	size_t hl = strlen(html);
	cmark_get_default_mem_allocator()->free(html);
	if (n + hl + 2 <= MD_ENTRY_MAX) {
		char *keep = malloc(n + hl + 2);
		if (keep != NULL) {
			free(e->md);
			memcpy(keep, md, n + 1);
			memcpy(keep + n + 1, out, hl + 1);
			*e = (struct md_entry){h, n, keep, keep + n + 1};
		}
	}
	return out;
}

void
markdown_cache_stats(unsigned long *hits, unsigned long *misses)
{
	*hits = md_hits;
	*misses = md_misses;
}
