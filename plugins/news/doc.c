/*
 * doc.c - the JSON shape of a news item: the schema the core validates
 * against, the rules across fields that a schema cannot say (the slug's
 * form, published_at), rendering a database row as the item clients see,
 * and the folded text `q` searches.
 *
 * An item always carries every member (null, [] or {} when unknown), so
 * clients see one stable shape:
 *
 *   {id, municipality, slug, title, lead, body, body_html, lang, status,
 *    published_at, author, areas: [], related: {partnerships: [],
 *    projects: [], visits: []}, image: {url, alt, credit} | null,
 *    created_at, updated_at, version}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "news.h"

const char *const doc_statuses[] = {"draft", "published", NULL};

/* The same areas as a partnership's (plugins/partnerships/doc.c), so one
 * `area` finds an area's partnerships and news alike. */
const char *const doc_areas[] = {
	"education",       "culture",            "environment",    "climate",
	"energy",          "public_health",      "social_welfare", "democracy",
	"business",        "trade",              "labour_market",  "youth",
	"sport",           "tourism",            "research",       "digitalisation",
	"gender_equality", "emergency_services", "infrastructure", "rural_development",
	"urban_development", NULL};
#define DOC_NAREAS 21

const char *const doc_related_modules[] = {"partnerships", "projects", "visits", NULL};

/* Members the server owns: never written by a client. */
const char *const doc_readonly[] = {"id", "municipality", "body_html", "created_at",
                                           "updated_at", "version", NULL};

static const struct portal_field doc_area = {.name = "area", .type = PF_ENUM,
                                             .values = doc_areas};

/* An id of another module's item; checked against that module on write. */
static const struct portal_field doc_related_id = {
	.name = "id", .type = PF_INT, .min = 1, .max_num = 9007199254740991.0};

static const struct portal_field doc_related_fields[] = {
	{.name = "partnerships", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = NEWS_MAX_RELATED,
	 .items = &doc_related_id},
	{.name = "projects", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = NEWS_MAX_RELATED,
	 .items = &doc_related_id},
	{.name = "visits", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = NEWS_MAX_RELATED,
	 .items = &doc_related_id},
	{.name = NULL},
};

/* An image needs its text alternative (WCAG 1.1.1): both are required. */
static const struct portal_field doc_image_fields[] = {
	{.name = "url", .type = PF_URL, .flags = PF_REQUIRED, .max = 2000},
	{.name = "alt", .type = PF_STRING, .flags = PF_REQUIRED, .max = 500},
	{.name = "credit", .type = PF_STRING, .max = 200},
	{.name = NULL},
};

/* The item as a client writes it (POST body, or the current item merged
 * with a PATCH).  slug and status are filled in before this is checked on
 * create; published_at is checked by doc_check. */
const struct portal_field doc_schema[] = {
	{.name = "slug", .type = PF_STRING, .flags = PF_REQUIRED, .max = NEWS_SLUG_MAX},
	{.name = "title", .type = PF_STRING, .flags = PF_REQUIRED, .max = 300},
	{.name = "lead", .type = PF_TEXT, .max = 2000},
	{.name = "body", .type = PF_TEXT, .max = 100000},
	{.name = "lang", .type = PF_LANG, .flags = PF_REQUIRED},
	{.name = "status", .type = PF_ENUM, .flags = PF_REQUIRED, .values = doc_statuses},
	{.name = "published_at", .type = PF_STRING, .max = 40},
	{.name = "author", .type = PF_STRING, .max = 200},
	{.name = "areas", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = DOC_NAREAS,
	 .items = &doc_area},
	{.name = "related", .type = PF_OBJECT, .fields = doc_related_fields},
	{.name = "image", .type = PF_OBJECT, .fields = doc_image_fields},
	{.name = NULL},
};

static int
doc_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int
doc_is_slug(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > NEWS_SLUG_MAX || !doc_is_alnum(s[0]) || !doc_is_alnum(s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!doc_is_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/*
 * Latin letters as ASCII for slugs, the way Scandinavian URLs write them
 * (ä -> a, ö -> o, ø -> o, å -> a).  Indexed by code point; '*' marks the
 * letters that become two (doc_fold2), '-' the signs that separate words.
 */
static const char doc_fold_latin1[] = /* U+00C0 .. U+00FF */
    "aaaaaa*ceeeeiiii"
    "dnooooo-ouuuuy**"
    "aaaaaa*ceeeeiiii"
    "dnooooo-ouuuuy*y";
static const char doc_fold_exta[] = /* U+0100 .. U+017F */
    "aaaaaaccccccccdd"
    "ddeeeeeeeeeegggg"
    "gggghhhhiiiiiiii"
    "ii**jjkkklllllll"
    "lllnnnnnnnnnoooo"
    "oo**rrrrrrssssss"
    "ssttttttuuuuuuuu"
    "uuuuwwyyyzzzzzzs";

static const char *
doc_fold2(unsigned cp)
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
doc_fold(unsigned cp, char *buf)
{
	char c = 0;
	if (cp < 0x80) {
		c = (char)cp;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!doc_is_alnum(c))
			c = 0;
	} else if (cp >= 0xc0 && cp <= 0xff) {
		c = doc_fold_latin1[cp - 0xc0];
	} else if (cp >= 0x100 && cp <= 0x17f) {
		c = doc_fold_exta[cp - 0x100];
	} else if (cp == 0x218 || cp == 0x219) { /* Ș ș, Romanian */
		c = 's';
	} else if (cp == 0x21a || cp == 0x21b) { /* Ț ț */
		c = 't';
	}
	if (c == '*')
		return doc_fold2(cp);
	if (c == 0 || c == '-')
		return "";
	buf[0] = c;
	buf[1] = '\0';
	return buf;
}

/* The code point of the UTF-8 sequence at *p, which is advanced past it;
 * a broken sequence is U+FFFD (a separator), and a NUL is never passed. */
static unsigned
doc_next_cp(const unsigned char **p)
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

char *
doc_slugify(portal_req *r, const char *title)
{
	char *out = api->alloc(r, NEWS_SLUG_MAX + 1), buf[2];
	size_t n = 0;
	int gap = 0;
	const unsigned char *p = (const unsigned char *)title;
	while (p && *p) {
		const char *f = doc_fold(doc_next_cp(&p), buf);
		if (*f == '\0') {
			gap = n > 0;
			continue;
		}
		size_t m = strlen(f);
		if (n + gap + m > NEWS_SLUG_MAX)
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

/* The `n` digits at s as a number, or -1 when they are not all digits. */
static int
doc_num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Writes `t` (UTC seconds) as "YYYY-MM-DDTHH:MM:SSZ"; PORTAL_ERROR when the
 * year is outside 1000..9999 (what DATETIME holds). */
static int
doc_format(time_t t, char *out)
{
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1000 || tm.tm_year + 1900 > 9999)
		return PORTAL_ERROR;
	strftime(out, NEWS_TS_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return PORTAL_OK;
}

int
doc_timestamp(const char *s, int partial, char *out)
{
	char date[11];
	size_t n = s ? strlen(s) : 0;
	if (partial && n <= 10 && api->is_partial_date(s)) {
		snprintf(out, NEWS_TS_LEN + 1, "%.4s-%.2s-%.2sT00:00:00Z", s, n >= 7 ? s + 5 : "01",
		         n == 10 ? s + 8 : "01");
		return PORTAL_OK;
	}
	if (n < 20 || n > 40)
		return PORTAL_ERROR;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (!api->is_partial_date(date) || strlen(date) != 10 || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return PORTAL_ERROR;
	int hh = doc_num(s + 11, 2), mm = doc_num(s + 14, 2), ss = doc_num(s + 17, 2);
	if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
		return PORTAL_ERROR;
	const char *z = s + 19;
	if (*z == '.') { /* a fraction of a second: dropped */
		const char *f = ++z;
		while (*z >= '0' && *z <= '9')
			z++;
		if (z == f || z - f > 9)
			return PORTAL_ERROR;
	}
	long offset = 0;
	if ((z[0] == 'Z' || z[0] == 'z') && z[1] == '\0') {
		offset = 0;
	} else if ((z[0] == '+' || z[0] == '-') && strlen(z) == 6 && z[3] == ':') {
		int oh = doc_num(z + 1, 2), om = doc_num(z + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return PORTAL_ERROR;
		offset = (oh * 60L + om) * 60L * (z[0] == '-' ? -1 : 1);
	} else {
		return PORTAL_ERROR;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = doc_num(s, 4) - 1900;
	tm.tm_mon = doc_num(s + 5, 2) - 1;
	tm.tm_mday = doc_num(s + 8, 2);
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	return doc_format(timegm(&tm) - offset, out);
}

const char *
doc_sql_time(portal_req *r, const char *ts)
{
	return api->printf(r, "%.10s %.8s", ts, ts + 11);
}

void
doc_now(char *out)
{
	if (doc_format(time(NULL), out) != PORTAL_OK)
		snprintf(out, NEWS_TS_LEN + 1, "9999-12-31T23:59:59Z"); /* a clock past 9999 */
}

const char *
doc_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* 1 when `s` is a string the core's PF_STRING check passed: no control
 * character and not only white space (so a slug error is not reported
 * twice). */
static int
doc_plain_string(const char *s)
{
	int text = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (*p != ' ')
			text = 1;
	}
	return text;
}

/* "related" with its three arrays, null and absent ones as [] (in place,
 * when it is an object or absent). */
static void
doc_fill_related(struct json_object *doc)
{
	struct json_object *rel;
	if (!json_object_object_get_ex(doc, "related", &rel) || rel == NULL) {
		rel = json_object_new_object();
		json_object_object_add(doc, "related", rel);
	}
	if (!json_object_is_type(rel, json_type_object))
		return;
	for (const char *const *m = doc_related_modules; *m; m++) {
		struct json_object *ids;
		if (!json_object_object_get_ex(rel, *m, &ids) || ids == NULL)
			json_object_object_add(rel, *m, json_object_new_array());
	}
}

int
doc_check(portal_req *r, struct json_object *doc)
{
	if (!json_object_is_type(doc, json_type_object))
		return PORTAL_ERROR;

	const char *slug = doc_str(doc, "slug");
	if (slug && strlen(slug) <= NEWS_SLUG_MAX && doc_plain_string(slug) && !doc_is_slug(slug))
		api->field_error(r, "slug",
		                 "must be a-z, 0-9 and hyphens (not first or last), at most %d bytes",
		                 NEWS_SLUG_MAX);

	/* published_at: normalised to UTC; a published item always has one */
	char ts[NEWS_TS_LEN + 1];
	const char *at = doc_str(doc, "published_at"), *status = doc_str(doc, "status");
	struct json_object *atv = NULL;
	int has_at = json_object_object_get_ex(doc, "published_at", &atv) && atv != NULL;
	if (at != NULL) {
		if (doc_timestamp(at, 0, ts) == PORTAL_OK)
			json_object_object_add(doc, "published_at", json_object_new_string(ts));
		else if (strlen(at) <= 40 && doc_plain_string(at))
			api->field_error(r, "published_at",
			                 "must be a timestamp such as \"2024-09-09T08:00:00Z\" (UTC, or "
			                 "with an offset such as +02:00), years 1000 to 9999");
	} else if (!has_at && status != NULL && strcmp(status, "published") == 0) {
		doc_now(ts); /* absent or null: published now */
		json_object_object_add(doc, "published_at", json_object_new_string(ts));
	}

	doc_fill_related(doc);
	return api->has_errors(r) ? PORTAL_ERROR : PORTAL_OK;
}

/* Appends `s` and a line break to out (when not NULL) at *len. */
static void
doc_append(char *out, size_t *len, const char *s)
{
	if (s == NULL || *s == '\0')
		return;
	size_t n = strlen(s);
	if (out) {
		memcpy(out + *len, s, n);
		out[*len + n] = '\n';
	}
	*len += n + 1;
}

/* The searched members of `doc`, one per line; writes when out != NULL
 * and returns the length either way. */
static size_t
doc_collect(struct json_object *doc, char *out)
{
	size_t len = 0;
	doc_append(out, &len, doc_str(doc, "title"));
	doc_append(out, &len, doc_str(doc, "lead"));
	doc_append(out, &len, doc_str(doc, "body"));
	doc_append(out, &len, doc_str(doc, "author"));
	return len;
}

const char *
doc_search_text(portal_req *r, struct json_object *doc)
{
	size_t len = doc_collect(doc, NULL);
	char *s = api->alloc(r, len + 1);
	doc_collect(doc, s);
	s[len] = '\0';
	return api->search_fold(r, s);
}

/* A string column as a JSON string, or null. */
static struct json_object *
doc_col_str(portal_stmt *s, unsigned i)
{
	const char *t = api->col_text(s, i);
	return t ? json_object_new_string(t) : NULL;
}

/* A JSON column of type `type`; empty when the column is NULL or not of
 * that type.  The result is new (its reference is the caller's). */
static struct json_object *
doc_col_json(portal_stmt *s, unsigned i, enum json_type type)
{
	struct json_object *o = api->col_json(s, i); /* owned by the request */
	if (o != NULL && json_object_is_type(o, type))
		return json_object_get(o);
	return type == json_type_array ? json_object_new_array() : json_object_new_object();
}

/* {"partnerships": [...], "projects": [...], "visits": [...]} from the
 * stored object, always with all three, in that order. */
static struct json_object *
doc_col_related(portal_stmt *s, unsigned i)
{
	struct json_object *stored = api->col_json(s, i); /* owned by the request */
	struct json_object *rel = json_object_new_object();
	for (const char *const *m = doc_related_modules; *m; m++) {
		struct json_object *ids = NULL;
		if (json_object_is_type(stored, json_type_object) &&
		    json_object_object_get_ex(stored, *m, &ids) &&
		    json_object_is_type(ids, json_type_array))
			json_object_object_add(rel, *m, json_object_get(ids));
		else
			json_object_object_add(rel, *m, json_object_new_array());
	}
	return rel;
}

struct json_object *
doc_from_row(portal_req *r, portal_stmt *s)
{
	const char *body = api->col_text(s, COL_BODY);
	char *html = NULL;
	if (body != NULL && (html = md_render(r, body)) == NULL)
		return NULL;

	struct json_object *item = json_object_new_object();
	json_object_object_add(item, "id", json_object_new_int64(api->col_int(s, COL_ID)));
	json_object_object_add(item, "municipality", doc_col_str(s, COL_MUNICIPALITY));
	json_object_object_add(item, "slug", doc_col_str(s, COL_SLUG));
	json_object_object_add(item, "title", doc_col_str(s, COL_TITLE));
	json_object_object_add(item, "lead", doc_col_str(s, COL_LEAD));
	json_object_object_add(item, "body", doc_col_str(s, COL_BODY));
	json_object_object_add(item, "body_html", html ? json_object_new_string(html) : NULL);
	json_object_object_add(item, "lang", doc_col_str(s, COL_LANG));
	json_object_object_add(item, "status", doc_col_str(s, COL_STATUS));
	json_object_object_add(item, "published_at", doc_col_str(s, COL_PUBLISHED));
	json_object_object_add(item, "author", doc_col_str(s, COL_AUTHOR));
	json_object_object_add(item, "areas", doc_col_json(s, COL_AREAS, json_type_array));
	json_object_object_add(item, "related", doc_col_related(s, COL_RELATED));
	struct json_object *image = NULL;
	if (!api->col_is_null(s, COL_IMAGE_URL)) {
		image = json_object_new_object();
		json_object_object_add(image, "url", doc_col_str(s, COL_IMAGE_URL));
		json_object_object_add(image, "alt", doc_col_str(s, COL_IMAGE_ALT));
		json_object_object_add(image, "credit", doc_col_str(s, COL_IMAGE_CREDIT));
	}
	json_object_object_add(item, "image", image);
	json_object_object_add(item, "created_at", doc_col_str(s, COL_CREATED));
	json_object_object_add(item, "updated_at", doc_col_str(s, COL_UPDATED));
	json_object_object_add(item, "version", json_object_new_int64(api->col_int(s, COL_VERSION)));
	return item;
}
