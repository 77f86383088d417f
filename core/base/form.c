/*
 * form.c - application/x-www-form-urlencoded bodies (the browser editor's
 * forms), as the WHATWG URL standard parses them: name=value pairs joined
 * by '&', '+' for a space, %XX for a byte.  Every name and value must be
 * valid UTF-8 without control characters other than TAB, CR and LF (in
 * values); names are field paths ("partner.name", "agreements[1].date")
 * of bounded length and depth.  A name may occur once: a form the server
 * made never repeats one, so a repeated name is a forged or broken body.
 * Limits (FORM_MAX_*) bound the work one body can cause; whatever they
 * refuse is refused with a message naming it, never truncated.
 */
#include <string.h>
#include <strings.h>

#include "core.h"

/* The depth of a field path: its '.' and '[' separators, plus one. */
static size_t
form_depth(const char *name)
{
	size_t d = 1;
	for (const char *p = name; *p; p++)
		if (*p == '.' || *p == '[')
			d++;
	return d;
}

/* A name's characters: a field path's, and nothing a template or a
 * message could be confused by. */
static int
form_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '.' || *p == '[' || *p == ']' || *p == '-' || *p == ':'))
			return 0;
	return 1;
}

static int
form_hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes '+' and %XX in place: the length, or -1 for a bad escape. */
static long
form_decode(char *s)
{
	char *w = s;
	for (const char *p = s; *p; p++) {
		if (*p == '+') {
			*w++ = ' ';
		} else if (*p == '%') {
			int hi = form_hex((unsigned char)p[1]), lo = hi < 0 ? -1 : form_hex((unsigned char)p[2]);
			if (lo < 0)
				return -1;
			*w++ = (char)(hi * 16 + lo);
			p += 2;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	return (long)(w - s);
}

static int
form_value_ok(const char *s, size_t n)
{
	if (!valid_utf8(s, n) || strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\n') || ch == 0x7f)
			return 0;
	}
	return 1;
}

int
form_parse(struct pool *p, const char *body, size_t len, struct form *f, const char **detail)
{
	memset(f, 0, sizeof(*f));
	if (len > FORM_MAX_BODY) {
		*detail = "the form is larger than the server accepts";
		return 413;
	}
	size_t fields = len ? 1 : 0;
	for (size_t i = 0; i < len; i++)
		fields += body[i] == '&';
	if (fields > FORM_MAX_FIELDS) {
		*detail = pool_printf(p, "the form has %zu fields; at most %d are accepted", fields,
		                      FORM_MAX_FIELDS);
		return 422;
	}
	f->pairs = pool_alloc(p, (fields ? fields : 1) * sizeof(*f->pairs));
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
		char *name = pool_strndup(p, s, (size_t)(nend - s));
		char *value = eq ? pool_strndup(p, eq + 1, (size_t)(stop - eq - 1)) : pool_strdup(p, "");
		long nlen = form_decode(name), vlen = form_decode(value);
		if (nlen < 0 || vlen < 0) {
			*detail = "the form is not valid: a bad %-escape";
			return 400;
		}
		if ((size_t)nlen > FORM_MAX_NAME || !form_name_ok(name)) {
			*detail = pool_printf(p, "the form has a field name that is not a field path (%.40s%s)",
			                      valid_utf8(name, strlen(name)) ? name : "?",
			                      strlen(name) > 40 ? "…" : "");
			return 422;
		}
		if (form_depth(name) > FORM_MAX_DEPTH) {
			*detail = pool_printf(p, "the field %s is nested deeper than %d levels", name,
			                      FORM_MAX_DEPTH);
			return 422;
		}
		if ((size_t)vlen > FORM_MAX_VALUE) {
			*detail = pool_printf(p, "the field %s is longer than %d bytes", name, FORM_MAX_VALUE);
			return 413;
		}
		if (!form_value_ok(value, (size_t)vlen)) {
			*detail = pool_printf(p, "the field %s is not valid UTF-8 text", name);
			return 400;
		}
		if (form_get(f, name) != NULL) {
			*detail = pool_printf(p, "the field %s occurs twice", name);
			return 422;
		}
		f->pairs[f->n].name = name;
		f->pairs[f->n].value = value;
		f->n++;
		s = stop + 1;
	}
	return 0;
}

const char *
form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->pairs[i].name, name) == 0)
			return f->pairs[i].value;
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
