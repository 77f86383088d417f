/*
 * search.c - free-text search with LIKE.  Plugins keep a folded copy of an
 * item's texts in a column with collation utf8mb4_unicode_520_ci, which
 * makes LIKE case- and accent-insensitive letter by letter (Chisinau finds
 * Chișinău, koge finds Køge); letters that stand for two (ß = ss, æ = ae)
 * it cannot match that way, so the stored text and the query are both
 * folded here first.
 */
#include <string.h>

#include "core.h"

static const struct {
	const char *from, *to;
} search_folds[] = {
	{"\xc3\x9f", "ss"},     /* ß */
	{"\xe1\xba\x9e", "ss"}, /* ẞ */
	{"\xc3\xa6", "ae"},     /* æ */
	{"\xc3\x86", "ae"},     /* Æ */
	{"\xc5\x93", "oe"},     /* œ */
	{"\xc5\x92", "oe"},     /* Œ */
	{"\xc3\xbe", "th"},     /* þ */
	{"\xc3\x9e", "th"},     /* Þ */
	{"\xc4\xb1", "i"},      /* ı */
};

const char *
search_fold_char(const char *s, size_t *n)
{
	for (size_t i = 0; i < sizeof(search_folds) / sizeof(search_folds[0]); i++) {
		*n = strlen(search_folds[i].from);
		if (strncmp(s, search_folds[i].from, *n) == 0)
			return search_folds[i].to;
	}
	return NULL;
}

char *
search_fold(portal_req *r, const char *s)
{
	if (s == NULL)
		return NULL;
	/* no replacement is longer than what it replaces */
	char *out = pool_alloc(r->pool, strlen(s) + 1), *o = out;
	while (*s) {
		size_t n;
		const char *to = search_fold_char(s, &n);
		if (to) {
			size_t m = strlen(to);
			memcpy(o, to, m);
			o += m;
			s += n;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/* `s` (n bytes) as a LIKE pattern matching it anywhere; %, _ and the
 * escape character ! are escaped with !. */
static char *
search_like(portal_req *r, const char *s, size_t n)
{
	char *p = pool_alloc(r->pool, 2 * n + 3), *o = p;
	*o++ = '%';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' || s[i] == '_' || s[i] == '!')
			*o++ = '!';
		*o++ = s[i];
	}
	*o++ = '%';
	*o = '\0';
	return p;
}

int
search_terms(portal_req *r, const char *q, const char **terms, int max)
{
	for (int i = 0; i < max; i++)
		terms[i] = NULL;
	if (q == NULL || max <= 0)
		return 0;
	if (valid_chars(q, strlen(q)) > 200) { /* characters, as the schema's maxLength */
		out_field_error(r, "q", "must be at most 200 characters long");
		return -1;
	}
	const char *p = search_fold(r, q);
	int t = 0;
	while (*p && t < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		/* the last slot takes the rest: blanks between its words match anything */
		size_t n = t == max - 1 ? strlen(p) : strcspn(p, " \t");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		char *like = search_like(r, p, n);
		if (t == max - 1)
			for (char *c = like; *c; c++)
				if (*c == ' ' || *c == '\t')
					*c = '%';
		terms[t++] = like;
		p += n;
	}
	return t;
}

/* 1 when the UTF-8 sequence at s is a word character for the index's
 * tokenizer as this approximates it: ASCII letters and digits, '_', and
 * any character beyond ASCII except the general punctuation block
 * (U+2000-U+206F: dashes, quotes) and Latin-1's signs (U+00A0-U+00BF). */
static size_t
search_word_char(const unsigned char *s)
{
	if (*s < 0x80)
		return (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		               (*s >= '0' && *s <= '9') || *s == '_'
		           ? 1
		           : 0;
	size_t n = *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 : *s >= 0xc0 ? 2 : 1;
	for (size_t i = 1; i < n; i++)
		if (s[i] == '\0')
			return 0;
	if (*s == 0xc2 && s[1] >= 0xa0 && s[1] <= 0xbf)
		return 0;
	if (*s == 0xe2 && s[1] >= 0x80 && s[1] <= 0x81)
		return 0;
	return n;
}

/*
 * `q` as a FULLTEXT query in boolean mode: "+word* +word* ...", each word
 * of at least SEARCH_MIN_CHARS characters (the index's
 * innodb_ft_min_token_size: shorter words are not in it) a required
 * prefix; NULL when no word is that long (the LIKE terms alone decide
 * then).  Words are what the index's tokenizer takes for words (letters,
 * digits and '_'), so "f-draft" asks for "draft*" and an operator in `q`
 * is never one.  The column's collation (utf8mb4_unicode_520_ci) makes
 * the index case- and accent-insensitive: "chisin" finds Chișinău.
 */
const char *
search_match(portal_req *r, const char *q)
{
	if (q == NULL)
		return NULL;
	const unsigned char *p = (const unsigned char *)search_fold(r, q);
	struct buf b;
	buf_init(&b, r->pool);
	int words = 0;
	while (*p && words < SEARCH_MAX_WORDS) {
		size_t n;
		while (*p && (n = search_word_char(p)) == 0)
			p++;
		const unsigned char *w = p;
		size_t chars = 0;
		while (*p && (n = search_word_char(p)) > 0) {
			p += n;
			chars++;
		}
		if (chars >= SEARCH_MIN_CHARS && chars <= 84) {
			buf_printf(&b, "%s+%.*s*", b.len ? " " : "", (int)(p - w), (const char *)w);
			words++;
		}
	}
	return b.len ? b.data : NULL;
}
