/*
 * slug.c - slugs: the last part of a readable URL (news/besok-fran-norge,
 * pages/vanorter): a-z, 0-9 and inner hyphens, made of a title by folding
 * its Latin letters the way Scandinavian URLs write them.  For every
 * module through api->slugify and api->is_slug.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"

static int
slug_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int
slug_valid(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max || !slug_is_alnum(s[0]) || !slug_is_alnum(s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!slug_is_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/*
 * Latin letters as ASCII for slugs, the way Scandinavian URLs write them
 * (ä -> a, ö -> o, ø -> o, å -> a).  Indexed by code point; '*' marks the
 * letters that become two (slug_fold2), '-' the signs that separate words.
 */
static const char slug_fold_latin1[] = /* U+00C0 .. U+00FF */
    "aaaaaa*ceeeeiiii"
    "dnooooo-ouuuuy**"
    "aaaaaa*ceeeeiiii"
    "dnooooo-ouuuuy*y";
static const char slug_fold_exta[] = /* U+0100 .. U+017F */
    "aaaaaaccccccccdd"
    "ddeeeeeeeeeegggg"
    "gggghhhhiiiiiiii"
    "ii**jjkkklllllll"
    "lllnnnnnnnnnoooo"
    "oo**rrrrrrssssss"
    "ssttttttuuuuuuuu"
    "uuuuwwyyyzzzzzzs";

static const char *
slug_fold2(unsigned cp)
{
	switch (cp) {
	case 0xc6: case 0xe6: return "ae";
	case 0xde: case 0xfe: return "th";
	case 0xdf: return "ss";
	case 0x132: case 0x133: return "ij";
	case 0x152: case 0x153: return "oe";
	}
	return "";
}

/* The ASCII letters code point `cp` folds to; "" for none (a separator). */
static const char *
slug_fold(unsigned cp, char *buf)
{
	char c = 0;
	if (cp < 0x80) {
		c = (char)cp;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!slug_is_alnum(c))
			c = 0;
	} else if (cp >= 0xc0 && cp <= 0xff) {
		c = slug_fold_latin1[cp - 0xc0];
	} else if (cp >= 0x100 && cp <= 0x17f) {
		c = slug_fold_exta[cp - 0x100];
	} else if (cp == 0x218 || cp == 0x219) { /* Ș ș, Romanian */
		c = 's';
	} else if (cp == 0x21a || cp == 0x21b) { /* Ț ț */
		c = 't';
	}
	if (c == '*')
		return slug_fold2(cp);
	if (c == 0 || c == '-')
		return "";
	buf[0] = c;
	buf[1] = '\0';
	return buf;
}

/* The code point of the UTF-8 sequence at *p, which is advanced past it;
 * a broken sequence is U+FFFD (a separator), and a NUL is never passed. */
static unsigned
slug_next_cp(const unsigned char **p)
{
	const unsigned char *s = *p;
	unsigned c = *s++;
	int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
	c &= more ? 0x3fu >> more : 0xffu;
	for (; more > 0 && (*s & 0xc0) == 0x80; more--)
		c = (c << 6) | (*s++ & 0x3fu);
	*p = s;
	return more ? 0xfffd : c;
}

/* A slug of at most `max` bytes made of `title` (pool memory): letters folded to a-z
 * (Besök från Norge -> besok-fran-norge), everything else a hyphen.  NULL
 * when the title has no letter or digit that folds to ASCII. */
char *
slug_make(struct pool *pool, const char *title, size_t max)
{
	char *out = pool_alloc(pool, max + 1), buf[2];
	size_t n = 0;
	int gap = 0;
	const unsigned char *p = (const unsigned char *)title;
	while (p && *p) {
		const char *f = slug_fold(slug_next_cp(&p), buf);
		if (*f == '\0') {
			gap = n > 0;
			continue;
		}
		size_t m = strlen(f);
		if (n + gap + m > max)
			break; /* cut at a word or letter boundary, never mid-fold */
		if (gap)
			out[n++] = '-';
		gap = 0;
		memcpy(out + n, f, m);
		n += m;
	}
	out[n] = '\0';
	return n > 0 ? out : NULL;
}


#define SLUG_TRIES 50 /* base, base-2 .. base-50 */

int
slug_derive(struct portal_req *r, struct json_object *doc, const char *member, const char *from,
            const char *title, size_t max,
            int (*taken)(struct portal_req *r, const void *arg, const char *slug), const void *arg)
{
	if (title == NULL) {
		/* validate reports the title; the item fails on it anyway, so a
		 * stand-in spares the client an error about a slug it never wrote */
		json_object_object_add(doc, member, json_object_new_string("untitled"));
		return PORTAL_OK;
	}
	char *base = slug_make(r->pool, title, max);
	if (base == NULL) {
		out_field_error(r, member,
		                pool_printf(r->pool, "is required: the %s has no letters to make one of",
		                            from));
		return PORTAL_OK;
	}
	for (int k = 1; k <= SLUG_TRIES; k++) {
		const char *slug = base;
		if (k > 1) {
			char suffix[8];
			size_t n = (size_t)snprintf(suffix, sizeof(suffix), "-%d", k), len = strlen(base);
			if (len + n > max)
				len = max - n;
			while (len > 0 && base[len - 1] == '-')
				len--;
			slug = pool_printf(r->pool, "%.*s%s", (int)len, base, suffix);
		}
		int rc = taken(r, arg, slug);
		if (rc < 0)
			return PORTAL_ERROR;
		if (rc == 0) {
			json_object_object_add(doc, member, json_object_new_string(slug));
			return PORTAL_OK;
		}
	}
	json_object_object_add(doc, member, json_object_new_string(base));
	return PORTAL_OK;
}
