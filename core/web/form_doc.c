/*
 * form_doc.c - the editor's forms and the item's JSON document: a posted
 * form (form.c) made into the document the JSON API validates and
 * stores, and a document made into the form's values again.
 *
 * A form field's name is the JSON path the API's problem+json errors use:
 * "kind", "partner.name", "agreements[0].date",
 * "agreements[0].signatories[1]", "description.sv"; a PF_DATE is three
 * inputs "X.year", "X.month", "X.day" (or one, "X").  The rules, which the
 * editor's renderer follows:
 *
 *   - empty inputs are left out (an empty string, map, array or object is
 *     absent), except an element of an array of objects, which is kept
 *     even when all its members are empty (the validator names what is
 *     required);
 *   - arrays are compacted in index order (gaps: unchecked checkboxes);
 *   - PF_COUNTRY, PF_CURRENCY, PF_QID, PF_LANG, PF_URL, PF_INT, PF_NUMBER
 *     and date parts are trimmed, other strings kept as typed; PF_TEXT
 *     (and a PF_LANGMAP's texts) have CR LF made LF;
 *   - a strict decimal is a number (PF_NUMBER also with a decimal comma,
 *     "59,3"), "true"/"false" a PF_BOOL; anything else stays a string, for
 *     the validator to name;
 *   - names beginning with '_' (the editor's buttons), "csrf" and
 *     "version" are not the item's; any other name that is no path of the
 *     fields (PF_READONLY members included) is a field error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"

#define FD_MAX_INDEX 9999

/* One step of a name: a member (seg, len) or an index (idx >= 0). */
struct fd_step {
	const char *seg;
	size_t len;
	long idx;
};

/* A name of the form, split into steps, and its value. */
struct fd_name {
	const char *name, *value;
	struct fd_step *steps;
	size_t n;
};

/* Splits a field path; 0 when it is none (form_parse's grammar). */
static int
fd_split(struct pool *p, const char *name, struct fd_name *out)
{
	size_t cap = 1;
	for (const char *s = name; *s; s++)
		cap += *s == '.' || *s == '[';
	out->steps = pool_alloc(p, cap * sizeof(*out->steps));
	out->n = 0;
	const char *s = name;
	for (;;) {
		const char *b = s;
		while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		       *s == '_' || *s == '-' || *s == ':')
			s++;
		if (s == b)
			return 0;
		out->steps[out->n++] = (struct fd_step){b, (size_t)(s - b), -1};
		while (*s == '[') {
			b = ++s;
			long v = 0;
			while (*s >= '0' && *s <= '9' && s - b < 9)
				v = v * 10 + (*s++ - '0');
			if (s == b || *s != ']' || (*b == '0' && s - b > 1))
				return 0;
			s++;
			out->steps[out->n++] = (struct fd_step){NULL, 0, v};
		}
		if (*s == '\0')
			return 1;
		if (*s++ != '.')
			return 0;
	}
}

static const struct portal_field *
fd_member(const struct portal_field *fields, const struct fd_step *st)
{
	if (st->seg == NULL || fields == NULL)
		return NULL;
	for (const struct portal_field *f = fields; f->name; f++)
		if (strlen(f->name) == st->len && memcmp(f->name, st->seg, st->len) == 0)
			return (f->flags & PF_READONLY) ? NULL : f;
	return NULL;
}

static int
fd_scalar(enum portal_ftype t)
{
	return t != PF_DATE && t != PF_LANGMAP && t != PF_OBJECT && t != PF_ARRAY;
}

static int
fd_seg_is(const struct fd_step *st, const char *s)
{
	return st->seg && strlen(s) == st->len && memcmp(st->seg, s, st->len) == 0;
}

/* Is steps[d..n) a path into a value of field f? */
static int
fd_resolves(const struct portal_field *f, const struct fd_step *steps, size_t d, size_t n)
{
	while (f) {
		if (d == n)
			return f->type != PF_LANGMAP && f->type != PF_OBJECT && f->type != PF_ARRAY;
		const struct fd_step *st = &steps[d];
		if (fd_scalar(f->type))
			return 0;
		switch (f->type) {
		case PF_DATE:
			return d + 1 == n &&
			       (fd_seg_is(st, "year") || fd_seg_is(st, "month") || fd_seg_is(st, "day"));
		case PF_LANGMAP:
			return d + 1 == n && st->seg != NULL;
		case PF_OBJECT:
			f = fd_member(f->fields, st);
			d++;
			break;
		case PF_ARRAY:
			if (st->seg != NULL || st->idx > FD_MAX_INDEX)
				return 0;
			f = f->items;
			d++;
			break;
		default:
			return 0;
		}
	}
	return 0;
}

static int
fd_step_cmp(const struct fd_step *a, const struct fd_step *b)
{
	if (a->seg && b->seg) {
		size_t m = a->len < b->len ? a->len : b->len;
		int c = memcmp(a->seg, b->seg, m);
		return c ? c : (a->len > b->len) - (a->len < b->len);
	}
	if (!a->seg && !b->seg)
		return (a->idx > b->idx) - (a->idx < b->idx);
	return a->seg ? 1 : -1;
}

static int
fd_name_cmp(const void *x, const void *y)
{
	const struct fd_name *a = x, *b = y;
	for (size_t i = 0; i < a->n && i < b->n; i++) {
		int c = fd_step_cmp(&a->steps[i], &b->steps[i]);
		if (c)
			return c;
	}
	return (a->n > b->n) - (a->n < b->n);
}

/* The end of the run of names from lo on that share steps[0..d]. */
static size_t
fd_group(const struct fd_name *v, size_t lo, size_t hi, size_t d)
{
	size_t e = lo + 1;
	while (e < hi && v[e].n > d && fd_step_cmp(&v[e].steps[d], &v[lo].steps[d]) == 0)
		e++;
	return e;
}

static int
fd_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static char *
fd_trim(struct pool *p, const char *s)
{
	while (fd_space(*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && fd_space(s[n - 1]))
		n--;
	return pool_strndup(p, s, n);
}

/* CR LF (and a lone CR) made LF. */
static char *
fd_lines(struct pool *p, const char *s)
{
	char *o = pool_strdup(p, s), *w = o;
	for (const char *q = s; *q; q++) {
		if (*q == '\r') {
			*w++ = '\n';
			if (q[1] == '\n')
				q++;
		} else {
			*w++ = *q;
		}
	}
	*w = '\0';
	return o;
}

static int
fd_digits(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* A strict decimal: -?DIGITS, or with `frac` -?DIGITS([.,]DIGITS)?, at
 * most 30 characters. */
static struct json_object *
fd_number(const char *s, int frac)
{
	size_t n = strlen(s);
	if (n == 0 || n > 30)
		return NULL;
	const char *d = s + (*s == '-');
	const char *sep = frac ? strpbrk(d, ".,") : NULL;
	size_t ilen = sep ? (size_t)(sep - d) : strlen(d);
	if (!fd_digits(d, ilen) || (sep && !fd_digits(sep + 1, strlen(sep + 1))))
		return NULL;
	if (sep == NULL) {
		errno = 0;
		char *end;
		long long v = strtoll(s, &end, 10);
		if (errno == 0 && *end == '\0')
			return json_object_new_int64(v);
		if (!frac)
			return NULL;
	}
	char buf[32];
	memcpy(buf, s, n + 1);
	if (sep)
		buf[sep - s] = '.';
	/* shown as typed (59.3, not 59.299999999999997) when that is JSON's
	 * form of a number (no leading zero) */
	double x = strtod(buf, NULL);
	if (d[0] == '0' && d[1] != '.' && d[1] != ',')
		return json_object_new_double(x);
	return json_object_new_double_s(x, buf);
}

/* A scalar's value from the text typed, or NULL when it is absent. */
static struct json_object *
fd_scalar_value(struct pool *p, enum portal_ftype t, const char *v)
{
	switch (t) {
	case PF_TEXT:
		v = fd_lines(p, v);
		break;
	case PF_COUNTRY:
	case PF_CURRENCY:
	case PF_QID:
	case PF_LANG:
	case PF_URL:
		v = fd_trim(p, v);
		break;
	case PF_INT:
	case PF_NUMBER: {
		v = fd_trim(p, v);
		struct json_object *num = fd_number(v, t == PF_NUMBER);
		if (num)
			return num;
		break;
	}
	case PF_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
			return json_object_new_boolean(v[0] == 't');
		break;
	default:
		break;
	}
	return *v ? json_object_new_string(v) : NULL;
}

/* A one-digit month or day made two digits; anything else kept as typed. */
static const char *
fd_pad(struct pool *p, const char *s)
{
	return strlen(s) == 1 && s[0] >= '0' && s[0] <= '9' ? pool_printf(p, "0%s", s) : s;
}

static struct json_object *
fd_date(struct portal_req *r, const char *path, const struct fd_name *v, size_t lo, size_t hi,
        size_t d)
{
	const char *whole = NULL, *year = NULL, *month = NULL, *day = NULL;
	int parts = 0;
	for (size_t i = lo; i < hi; i++) {
		if (v[i].n == d) {
			whole = v[i].value;
			continue;
		}
		parts = 1;
		const struct fd_step *st = &v[i].steps[d];
		const char *t = fd_trim(r->pool, v[i].value);
		if (fd_seg_is(st, "year"))
			year = t;
		else if (fd_seg_is(st, "month"))
			month = t;
		else
			day = t;
	}
	int y = year && *year, m = month && *month, dd = day && *day;
	if (!parts || (!y && !m && !dd)) { /* the one input, if any */
		const char *t = whole ? fd_trim(r->pool, whole) : "";
		return *t ? json_object_new_string(t) : NULL;
	}
	if (!y || (dd && !m)) {
		out_field_error(r, path,
		                !y && dd && !m ? "give the year and month too, not only the day"
		                : !y           ? "give the year too, not only the month or day"
		                               : "give the month too, not only the year and day");
		return NULL;
	}
	const char *s = !m    ? year
	                : !dd ? pool_printf(r->pool, "%s-%s", year, fd_pad(r->pool, month))
	                      : pool_printf(r->pool, "%s-%s-%s", year, fd_pad(r->pool, month),
	                                    fd_pad(r->pool, day));
	return json_object_new_string(s);
}

static struct json_object *fd_build(struct portal_req *r, const struct portal_field *f,
                                    const char *path, const struct fd_name *v, size_t lo,
                                    size_t hi, size_t d);

static struct json_object *
fd_object(struct portal_req *r, const struct portal_field *fields, const char *path,
          const struct fd_name *v, size_t lo, size_t hi, size_t d)
{
	/* the members' values, added in the declared order */
	size_t nf = 0;
	while (fields[nf].name)
		nf++;
	struct json_object **got = pool_alloc(r->pool, (nf ? nf : 1) * sizeof(*got));
	for (size_t i = lo; i < hi;) {
		size_t e = fd_group(v, i, hi, d);
		const struct portal_field *m = fd_member(fields, &v[i].steps[d]);
		const char *mpath = *path ? pool_printf(r->pool, "%s.%s", path, m->name) : m->name;
		got[m - fields] = fd_build(r, m, mpath, v, i, e, d + 1);
		i = e;
	}
	struct json_object *o = NULL;
	for (size_t k = 0; k < nf; k++)
		if (got[k]) {
			if (o == NULL)
				o = json_object_new_object();
			json_object_object_add(o, fields[k].name, got[k]);
		}
	return o;
}

static struct json_object *
fd_build(struct portal_req *r, const struct portal_field *f, const char *path,
         const struct fd_name *v, size_t lo, size_t hi, size_t d)
{
	switch (f->type) {
	case PF_DATE:
		return fd_date(r, path, v, lo, hi, d);
	case PF_LANGMAP: {
		struct json_object *o = NULL;
		for (size_t i = lo; i < hi; i++) {
			if (v[i].n != d + 1 || *v[i].value == '\0')
				continue;
			if (o == NULL)
				o = json_object_new_object();
			const struct fd_step *st = &v[i].steps[d];
			json_object_object_add(o, pool_strndup(r->pool, st->seg, st->len),
			                       json_object_new_string(fd_lines(r->pool, v[i].value)));
		}
		return o;
	}
	case PF_OBJECT: {
		/* a required object whose boxes were all left empty is {}: then
		 * the messages name its required members (partner.name), beside
		 * their boxes, not the object */
		struct json_object *o = fd_object(r, f->fields, path, v, lo, hi, d);
		if (o == NULL && (f->flags & PF_REQUIRED) && hi > lo)
			o = json_object_new_object();
		return o;
	}
	case PF_ARRAY: {
		struct json_object *a = NULL;
		for (size_t i = lo; i < hi;) {
			size_t e = fd_group(v, i, hi, d);
			size_t k = a ? json_object_array_length(a) : 0;
			const char *ipath = pool_printf(r->pool, "%s[%zu]", path, k);
			struct json_object *x = fd_build(r, f->items, ipath, v, i, e, d + 1);
			if (x == NULL && f->items->type == PF_OBJECT)
				x = json_object_new_object();
			if (x) {
				if (a == NULL)
					a = json_object_new_array();
				json_object_array_add(a, x);
			}
			i = e;
		}
		return a;
	}
	default:
		return v[lo].n == d ? fd_scalar_value(r->pool, f->type, v[lo].value) : NULL;
	}
}

/* The path a field error about `name` is given: the name, or when it is
 * not a printable path, its part up to the step before the first byte
 * that is not. */
static const char *
fd_error_path(struct pool *p, const char *name)
{
	size_t n = 0, last = 0;
	for (; name[n] && n < FORM_MAX_NAME; n++) {
		char c = name[n];
		if (c == '.' || c == '[')
			last = n;
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		           c == '_' || c == '-' || c == ':' || c == ']'))
			break;
	}
	if (name[n] == '\0')
		return name;
	return last ? pool_strndup(p, name, last) : "form";
}

struct json_object *
form_doc(struct portal_req *r, const struct portal_field *fields, const struct form *f)
{
	struct fd_name *v = pool_alloc(r->pool, (f->n ? f->n : 1) * sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++) {
		const char *name = f->pairs[i].name;
		if (name[0] == '_' || strcmp(name, "csrf") == 0 || strcmp(name, "version") == 0)
			continue;
		struct fd_name *x = &v[n];
		x->name = name;
		x->value = f->pairs[i].value ? f->pairs[i].value : "";
		if (!fd_split(r->pool, name, x) ||
		    !fd_resolves(fd_member(fields, &x->steps[0]), x->steps, 1, x->n)) {
			out_field_error(r, fd_error_path(r->pool, name), "is not a field of this form");
			continue;
		}
		n++;
	}
	qsort(v, n, sizeof(*v), fd_name_cmp);
	/* a name twice (a form not made by form_parse): the first counts */
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (w == 0 || fd_name_cmp(&v[w - 1], &v[i]) != 0)
			v[w++] = v[i];
	struct json_object *doc = fd_object(r, fields, "", v, 0, w, 0);
	return pool_keep_json(r->pool, doc ? doc : json_object_new_object());
}

/* ---- form_values: a document as the form's values ---- */

static const char *
fd_num_text(struct pool *p, struct json_object *x)
{
	if (json_object_is_type(x, json_type_int))
		return pool_printf(p, "%lld", (long long)json_object_get_int64(x));
	/* the shortest text that reads back as the same double, without an
	 * exponent (form_doc takes plain decimals only) */
	double d = json_object_get_double(x);
	char buf[400];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (strchr(buf, 'e') == NULL && strchr(buf, 'n') == NULL)
		return pool_strdup(p, buf);
	for (int prec = 0; prec <= 340; prec++) {
		snprintf(buf, sizeof(buf), "%.*f", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return pool_strdup(p, buf);
}

static void fd_values(struct pool *p, const struct portal_field *f, const char *path,
                      struct json_object *x, struct json_object *out);

/* An element of an array of objects with no value: one empty input (its
 * first scalar or date member's), so that it is kept. */
static void
fd_empty_element(struct pool *p, const struct portal_field *f, const char *path,
                 struct json_object *out)
{
	for (const struct portal_field *m = f->fields; m && m->name; m++) {
		if (m->flags & PF_READONLY || !(fd_scalar(m->type) || m->type == PF_DATE))
			continue;
		json_object_object_add(out, pool_printf(p, "%s.%s%s", path, m->name,
		                                        m->type == PF_DATE ? ".year" : ""),
		                       json_object_new_string(""));
		return;
	}
}

static void
fd_values(struct pool *p, const struct portal_field *f, const char *path, struct json_object *x,
          struct json_object *out)
{
	if (x == NULL)
		return;
	json_type jt = json_object_get_type(x);
	switch (f->type) {
	case PF_OBJECT:
		if (jt != json_type_object)
			return;
		for (const struct portal_field *m = f->fields; m && m->name; m++) {
			struct json_object *mx;
			if (!(m->flags & PF_READONLY) && json_object_object_get_ex(x, m->name, &mx))
				fd_values(p, m, pool_printf(p, "%s%s%s", path, *path ? "." : "", m->name),
				          mx, out);
		}
		return;
	case PF_ARRAY:
		if (jt != json_type_array)
			return;
		for (size_t i = 0; i < json_object_array_length(x); i++) {
			const char *ipath = pool_printf(p, "%s[%zu]", path, i);
			int before = json_object_object_length(out);
			fd_values(p, f->items, ipath, json_object_array_get_idx(x, i), out);
			if (json_object_object_length(out) == before && f->items->type == PF_OBJECT)
				fd_empty_element(p, f->items, ipath, out);
		}
		return;
	case PF_LANGMAP:
		if (jt != json_type_object)
			return;
		json_object_object_foreach(x, lang, text) {
			if (json_object_is_type(text, json_type_string))
				json_object_object_add(out, pool_printf(p, "%s.%s", path, lang),
				                       json_object_new_string(json_object_get_string(text)));
		}
		return;
	case PF_DATE:
		if (jt == json_type_string) {
			const char *s = json_object_get_string(x);
			const char *d1 = strchr(s, '-'), *d2 = d1 ? strchr(d1 + 1, '-') : NULL;
			json_object_object_add(out, pool_printf(p, "%s.year", path),
			                       json_object_new_string_len(s, d1 ? (int)(d1 - s)
			                                                        : (int)strlen(s)));
			if (d1)
				json_object_object_add(
				    out, pool_printf(p, "%s.month", path),
				    json_object_new_string_len(d1 + 1, d2 ? (int)(d2 - d1 - 1)
				                                          : (int)strlen(d1 + 1)));
			if (d2)
				json_object_object_add(out, pool_printf(p, "%s.day", path),
				                       json_object_new_string(d2 + 1));
		}
		return;
	default:
		break;
	}
	const char *s = NULL;
	if (jt == json_type_string)
		s = json_object_get_string(x);
	else if (jt == json_type_boolean)
		s = json_object_get_boolean(x) ? "true" : "false";
	else if (jt == json_type_int || jt == json_type_double)
		s = fd_num_text(p, x);
	if (s)
		json_object_object_add(out, path, json_object_new_string(s));
}

struct json_object *
form_values(struct portal_req *r, const struct portal_field *fields, struct json_object *doc)
{
	struct json_object *out = pool_keep_json(r->pool, json_object_new_object());
	struct portal_field root = {.name = "", .type = PF_OBJECT, .fields = fields};
	fd_values(r->pool, &root, "", doc, out);
	return out;
}
