/*
 * form.c - application/x-www-form-urlencoded bodies (the browser editor's
 * forms), as the WHATWG URL standard parses them: name=value pairs joined
 * by '&', '+' for a space, %XX for a byte.  Every name and value must be
 * valid UTF-8 without control characters (values may have TAB, CR and LF:
 * a textarea's lines); names are field paths ("partner.name",
 * "agreements[1].date") of bounded length and depth.  A name may occur
 * once: a form the server made never repeats one, so a repeated name is a
 * forged or broken body.  Limits (FORM_MAX_*) bound the work one body can
 * cause; whatever they refuse is refused with a message naming it, never
 * truncated.  The repeated-name check and form_get work on a sorted index
 * of the names, so a body of FORM_MAX_FIELDS names costs n log n.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"

static int
form_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes '+' and %XX in place: the decoded length (bytes, a NUL among
 * them possible), or -1 for a bad escape. */
static long
form_decode(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (*p == '%') {
			int hi = form_hex(p[1]), lo = hi >= 0 ? form_hex(p[2]) : -1;
			if (hi < 0 || lo < 0)
				return -1;
			*w++ = (char)(hi * 16 + lo);
			p += 2;
		} else if (*p == '+') {
			*w++ = ' ';
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	return (long)(w - s);
}

/* 0, or what is wrong with the decoded text s of n bytes: a NUL, invalid
 * UTF-8 or a control character (TAB, CR and LF allowed when `lines`). */
static const char *
form_text_bad(const char *s, size_t n, int lines)
{
	if (memchr(s, '\0', n) != NULL)
		return "a NUL byte";
	if (!valid_utf8(s, n))
		return "text that is not valid UTF-8";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch < 0x20 || ch == 0x7f) && !(lines && (ch == '\t' || ch == '\r' || ch == '\n')))
			return "a control character";
	}
	return NULL;
}

/* The bytes of UTF-8 text s in its first `max` bytes, not cutting a
 * character. */
static size_t
form_cut(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

static int
form_seg_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == ':';
}

/* A field path: SEG ( "." SEG | "[" INDEX "]" )*, SEG of [A-Za-z0-9_:-],
 * INDEX decimal digits without a leading zero (so "a[01]" and "a[1]" are
 * not one field under two names), at most 9 of them.  Its depth (number
 * of steps) in *depth; 0 when it is no field path. */
static int
form_path(const char *s, size_t *depth)
{
	size_t d = 0;
	const char *p = s;
	for (;;) {
		const char *b = p;
		while (form_seg_char(*p))
			p++;
		if (p == b)
			return 0;
		d++;
		while (*p == '[') {
			b = ++p;
			while (*p >= '0' && *p <= '9')
				p++;
			if (p == b || p - b > 9 || (*b == '0' && p - b > 1) || *p != ']')
				return 0;
			p++;
			d++;
		}
		if (*p == '\0')
			break;
		if (*p != '.')
			return 0;
		p++;
	}
	*depth = d;
	return 1;
}

static int
form_pair_cmp(const void *a, const void *b)
{
	const struct form_pair *x = *(const struct form_pair *const *)a;
	const struct form_pair *y = *(const struct form_pair *const *)b;
	return strcmp(x->name, y->name);
}

/* 0, or what is wrong with a decoded name (a status, *detail). */
static int
form_name_check(struct pool *p, const char *name, size_t nlen, const char **detail)
{
	const char *bad = form_text_bad(name, nlen, 0);
	if (bad) {
		*detail = pool_printf(p, "the form is not valid: a field name has %s", bad);
		return 400;
	}
	size_t depth = 0;
	if (nlen > FORM_MAX_NAME || !form_path(name, &depth)) {
		size_t cut = form_cut(name, 40);
		*detail = pool_printf(p, "the form has a field name that is not a field path (%.*s%s)",
		                      (int)cut, name, name[cut] ? "…" : "");
		return 422;
	}
	if (depth > FORM_MAX_DEPTH) {
		*detail = pool_printf(p, "the field %s is nested deeper than %d levels", name,
		                      FORM_MAX_DEPTH);
		return 422;
	}
	return 0;
}

int
form_add(struct pool *p, struct form *f, char *name, size_t nlen, char *value, size_t vlen,
         const char **detail)
{
	int st = form_name_check(p, name, nlen, detail);
	if (st != 0)
		return st;
	const char *bad;
	if (vlen > FORM_MAX_VALUE) {
		*detail = pool_printf(p, "the field %s is longer than %d bytes", name, FORM_MAX_VALUE);
		return 413;
	}
	bad = form_text_bad(value, vlen, 1);
	if (bad) {
		*detail = pool_printf(p, "the field %s is not valid: it has %s", name, bad);
		return 400;
	}
	if (f->n == f->cap) {
		if (f->n >= FORM_MAX_FIELDS) {
			*detail = pool_printf(p, "the form has more than %d fields", FORM_MAX_FIELDS);
			return 422;
		}
		size_t ncap = f->cap ? f->cap * 2 : 16;
		if (ncap > FORM_MAX_FIELDS)
			ncap = FORM_MAX_FIELDS;
		struct form_pair *np = pool_alloc(p, ncap * sizeof(*np));
		if (f->n)
			memcpy(np, f->pairs, f->n * sizeof(*np));
		f->pairs = np;
		f->cap = ncap;
	}
	f->pairs[f->n].name = name;
	f->pairs[f->n].value = value;
	f->n++;
	return 0;
}

int
form_finish(struct pool *p, struct form *f, const char **detail)
{
	f->sorted = pool_alloc(p, (f->n ? f->n : 1) * sizeof(*f->sorted));
	for (size_t i = 0; i < f->n; i++)
		f->sorted[i] = &f->pairs[i];
	qsort(f->sorted, f->n, sizeof(*f->sorted), form_pair_cmp);
	for (size_t i = 1; i < f->n; i++)
		if (strcmp(f->sorted[i - 1]->name, f->sorted[i]->name) == 0) {
			*detail = pool_printf(p, "the field %s occurs twice", f->sorted[i]->name);
			f->n = 0;
			return 422;
		}
	return 0;
}

int
form_parse(struct pool *p, const char *body, size_t len, struct form *f, const char **detail)
{
	memset(f, 0, sizeof(*f));
	if (len > FORM_MAX_BODY) {
		*detail = pool_printf(p, "the form is larger than the server accepts (%d bytes)",
		                      FORM_MAX_BODY);
		return 413;
	}
	size_t fields = 0;
	for (size_t i = 0; i < len; i++) /* pieces that are not empty */
		fields += body[i] != '&' && (i + 1 == len || body[i + 1] == '&');
	if (fields > FORM_MAX_FIELDS) {
		*detail = pool_printf(p, "the form has %zu fields; at most %d are accepted", fields,
		                      FORM_MAX_FIELDS);
		return 422;
	}
	f->cap = fields ? fields : 1;
	f->pairs = pool_alloc(p, f->cap * sizeof(*f->pairs));
	const char *s = body, *end = body + len;
	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *stop = amp ? amp : end;
		if (stop == s) { /* "a=1&&b=2": an empty piece, skipped as browsers do */
			s = stop + 1;
			continue;
		}
		const char *eq = memchr(s, '=', (size_t)(stop - s));
		const char *nend = eq ? eq : stop;
		if ((size_t)(nend - s) > 3 * FORM_MAX_NAME) { /* longer than any encoded name */
			*detail = pool_printf(p, "the form has a field name longer than %d bytes",
			                      FORM_MAX_NAME);
			return 422;
		}
		char *name = pool_strndup(p, s, (size_t)(nend - s));
		char *value = eq ? pool_strndup(p, eq + 1, (size_t)(stop - eq - 1)) : pool_strdup(p, "");
		long nlen = form_decode(name);
		if (nlen < 0) {
			*detail = "the form is not valid: a field name has a bad %-escape";
			return 400;
		}
		long vlen = form_decode(value);
		if (vlen < 0) {
			int st = form_name_check(p, name, (size_t)nlen, detail);
			if (st != 0)
				return st;
			*detail = pool_printf(p, "the field %s is not valid: a bad %%-escape", name);
			return 400;
		}
		int st = form_add(p, f, name, (size_t)nlen, value, (size_t)vlen, detail);
		if (st != 0)
			return st;
		s = stop + 1;
	}
	return form_finish(p, f, detail);
}

const char *
form_get(const struct form *f, const char *name)
{
	if (f->sorted == NULL) { /* a form not made by form_parse */
		for (size_t i = 0; i < f->n; i++)
			if (strcmp(f->pairs[i].name, name) == 0)
				return f->pairs[i].value;
		return NULL;
	}
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->sorted[mid]->name, name);
		if (c == 0)
			return f->sorted[mid]->value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
form_type(const char *ct)
{
	static const char want[] = "application/x-www-form-urlencoded";
	if (ct == NULL || strncasecmp(ct, want, sizeof(want) - 1) != 0)
		return 0;
	ct += sizeof(want) - 1;
	return *ct == '\0' || *ct == ';' || *ct == ' ';
}

const struct form_file *
form_file(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->nfiles; i++)
		if (strcmp(f->files[i].field, name) == 0)
			return &f->files[i];
	return NULL;
}

int
req_read_form(struct portal_req *r, struct form *f, const char **detail)
{
	if (!form_type(req_header(r, "Content-Type"))) {
		*detail = "the body must be a form, sent with Content-Type: "
		          "application/x-www-form-urlencoded";
		return 415;
	}
	char *data;
	size_t len;
	int st = req_read_body(r, FORM_MAX_BODY, &data, &len, detail);
	if (st != 0)
		return st;
	return form_parse(r->pool, data, len, f, detail);
}
