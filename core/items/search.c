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

char *
search_fold(portal_req *r, const char *s)
{
	if (s == NULL)
		return NULL;
	/* no replacement is longer than what it replaces */
	char *out = pool_alloc(r->pool, strlen(s) + 1), *o = out;
	while (*s) {
		size_t i, n = 0, nf = sizeof(search_folds) / sizeof(search_folds[0]);
		for (i = 0; i < nf; i++) {
			n = strlen(search_folds[i].from);
			if (strncmp(s, search_folds[i].from, n) == 0)
				break;
		}
		if (i < nf) {
			size_t m = strlen(search_folds[i].to);
			memcpy(o, search_folds[i].to, m);
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
