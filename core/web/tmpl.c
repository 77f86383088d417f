/*
 * tmpl.c - a logic-less template engine (a Mustache subset) that escapes
 * by default, as kcgi's output writers do: the template says where data
 * goes, the engine says how it is written for the output's format.
 *
 *   {{name}}          a value from the data, escaped for the mode
 *   {{a.b.c}}         a dotted path; {{.}} the current value; {{a.0}} the
 *                     first item of an array ({{#a.0}} = "has items")
 *   {{name|filter}}   lang (text of a {lang: text} map in the request's
 *                     language, else a fallback), date (a partial date or a
 *                     timestamp for people), count (length of an array),
 *                     json (the value as JSON, safe inside <script>),
 *                     url (percent-encoded), ics_date (YYYYMMDD), ics_end
 *                     (YYYYMMDD of the day after the date: an all-day
 *                     event's exclusive DTEND, RFC 5545 3.6.1; after a
 *                     partial date's month or year), first_day and
 *                     last_day (YYYY-MM-DD of the first or last day of the
 *                     period a partial date names, for schema.org's Date
 *                     properties; a full date or a timestamp as it is), label
 *                     (a code such as "twin_town" as the module's
 *                     catalogue words it, else the code itself), join
 *                     (an array of strings as one text, "a; b"), langcode (the
 *                     language |lang picks: <p lang="{{d|langcode}}">),
 *                     country (an ISO 3166-1 code as the country's name in
 *                     the page's language: LV is "Lettland" in Swedish,
 *                     "Letland" in Danish), language (a BCP 47 tag as the
 *                     language's name: "da" is "danska" in Swedish; "ro-MD"
 *                     "rumänska (Moldavien)"); both from Debian's
 *                     iso-codes (tools/iso-names.py), English when the
 *                     page's language has no name, the code itself when
 *                     unknown; an array of codes gives the names, ", "
 *                     between them
 *   {{#name}}..{{/name}}  a section: each item of an array, once for a
 *                     true value (an object becomes the current value)
 *   {{^name}}..{{/name}}  inverted: when missing, false, null, "", [] or {}
 *   {{^-first}}..{{/-first}}  inside an array's section: for every item but
 *                     the first ({{#-first}} only the first), for
 *                     separators: [{{#a}}{{^-first}}, {{/-first}}..{{/a}}]
 *   {{#name=value}}..{{/name=value}}  when the value is that text (and
 *                     {{^name=value}} when not): status=cancelled
 *   {{> name}}        another template (a partial), same data
 *   {{{name}}}        raw, unescaped: only for HTML the server made safe
 *                     (a news body rendered by cmark in safe mode)
 *   {{! comment}}
 *
 * A vCard template (.vcf) escapes as an iCalendar one (.ics): RFC 6350 3.4
 * and RFC 5545 3.3.11 escape the same characters in a text value.
 *
 * In a CSV template every line end of the template's own text is written
 * as CRLF (RFC 4180); a template puts each record's line end before it
 * ("header{{#items}}\nrecord{{/items}}\n"), so there is no empty record.
 *
 * Templates are compiled once (errors name the template and line) and
 * rendered per request into a pool buffer.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"

enum tmpl_kind { T_TEXT, T_VAR, T_RAW, T_SECTION, T_INVERTED, T_PARTIAL };

enum tmpl_filter { F_NONE, F_LANG, F_LANGCODE, F_DATE, F_COUNT, F_JSON, F_URL, F_ICS_DATE, F_ICS_END, F_LABEL, F_JOIN,
                   F_COUNTRY, F_LANGUAGE, F_FIRST_DAY, F_LAST_DAY };

struct tmpl_node {
	enum tmpl_kind kind;
	char *text;   /* T_TEXT: the bytes; others: the name/path */
	size_t len;
	enum tmpl_filter filter;
	unsigned line;
	struct tmpl_node *child; /* sections */
	struct tmpl_node *next;
};

struct tmpl {
	char *name;
	enum tmpl_mode mode;
	struct tmpl_node *nodes;
};

static void
tmpl_free_nodes(struct tmpl_node *n)
{
	while (n) {
		struct tmpl_node *next = n->next;
		tmpl_free_nodes(n->child);
		free(n->text);
		free(n);
		n = next;
	}
}

void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	tmpl_free_nodes(t->nodes);
	free(t->name);
	free(t);
}

enum tmpl_mode
tmpl_mode_of(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (dot == NULL)
		return TMPL_TEXT;
	if (strcmp(dot, ".html") == 0)
		return TMPL_HTML;
	if (strcmp(dot, ".atom") == 0 || strcmp(dot, ".xml") == 0 || strcmp(dot, ".svg") == 0)
		return TMPL_XML;
	if (strcmp(dot, ".csv") == 0)
		return TMPL_CSV;
	if (strcmp(dot, ".ics") == 0 || strcmp(dot, ".vcf") == 0) /* vCard escapes as iCalendar */
		return TMPL_ICS;
	if (strcmp(dot, ".json") == 0 || strcmp(dot, ".geojson") == 0 || strcmp(dot, ".jsonld") == 0)
		return TMPL_JSON;
	return TMPL_TEXT;
}

static int
tmpl_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-' &&
		    s[i] != '/')
			return 0;
	return 1;
}

struct tmpl_parser {
	const char *src, *p, *name;
	unsigned line;
	char *err;
	size_t errlen;
};

static struct tmpl_node *
tmpl_node_new(enum tmpl_kind kind, const char *text, size_t len, unsigned line)
{
	struct tmpl_node *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->text = strndup(text, len);
	n->len = len;
	n->line = line;
	if (n->text == NULL) {
		free(n);
		return NULL;
	}
	return n;
}

/* Parses until {{/end}} (or the end of text when end is NULL). */
static struct tmpl_node *
tmpl_parse(struct tmpl_parser *ps, const char *end, int *ok)
{
	struct tmpl_node *head = NULL, **tail = &head;
	*ok = 1;
	while (*ps->p) {
		const char *open = strstr(ps->p, "{{");
		size_t tlen = open ? (size_t)(open - ps->p) : strlen(ps->p);
		if (tlen) {
			struct tmpl_node *n = tmpl_node_new(T_TEXT, ps->p, tlen, ps->line);
			if (n == NULL)
				goto fail;
			*tail = n;
			tail = &n->next;
			for (size_t i = 0; i < tlen; i++)
				ps->line += ps->p[i] == '\n';
			ps->p += tlen;
		}
		if (open == NULL)
			break;
		int triple = open[2] == '{';
		const char *close = strstr(open + 2, triple ? "}}}" : "}}");
		if (close == NULL) {
			snprintf(ps->err, ps->errlen, "%s:%u: \"{{\" is not closed", ps->name, ps->line);
			goto fail;
		}
		const char *tag = open + (triple ? 3 : 2);
		size_t n = (size_t)(close - tag);
		ps->p = close + (triple ? 3 : 2);
		char sigil = triple ? '{' : *tag;
		if (!triple && strchr("#^/>&!", sigil)) {
			tag++;
			n--;
		} else if (!triple) {
			sigil = 0;
		}
		while (n && isspace((unsigned char)*tag))
			tag++, n--;
		while (n && isspace((unsigned char)tag[n - 1]))
			n--;
		if (sigil == '!') {
			for (const char *c = open; c < ps->p; c++)
				ps->line += *c == '\n';
			continue;
		}
		if (sigil == '/') {
			if (end == NULL || strlen(end) != n || strncmp(end, tag, n) != 0) {
				snprintf(ps->err, ps->errlen, "%s:%u: {{/%.*s}} closes %s%s%s", ps->name,
				         ps->line, (int)n, tag, end ? "{{#" : "nothing", end ? end : "",
				         end ? "}}" : "");
				goto fail;
			}
			return head;
		}
		/* name|filter */
		enum tmpl_filter filter = F_NONE;
		const char *bar = memchr(tag, '|', n);
		size_t nlen = bar ? (size_t)(bar - tag) : n;
		while (nlen && isspace((unsigned char)tag[nlen - 1]))
			nlen--;
		if (bar) {
			const char *f = bar + 1;
			size_t fl = (size_t)(tag + n - f);
			while (fl && isspace((unsigned char)*f))
				f++, fl--;
			static const struct {
				const char *name;
				enum tmpl_filter f;
			} filters[] = {{"lang", F_LANG}, {"date", F_DATE}, {"count", F_COUNT},
			               {"json", F_JSON}, {"url", F_URL}, {"ics_date", F_ICS_DATE}, {"ics_end", F_ICS_END},
			               {"label", F_LABEL}, {"join", F_JOIN}, {"langcode", F_LANGCODE},
			               {"country", F_COUNTRY}, {"language", F_LANGUAGE},
			               {"first_day", F_FIRST_DAY}, {"last_day", F_LAST_DAY}};
			for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
				if (strlen(filters[i].name) == fl && strncmp(filters[i].name, f, fl) == 0)
					filter = filters[i].f;
			if (filter == F_NONE || sigil == '#' || sigil == '^' || sigil == '>') {
				snprintf(ps->err, ps->errlen, "%s:%u: unknown or misplaced filter \"%.*s\"",
				         ps->name, ps->line, (int)fl, f);
				goto fail;
			}
		}
		const char *eq = (sigil == '#' || sigil == '^') ? memchr(tag, '=', nlen) : NULL;
		if (eq && (eq == tag || !tmpl_name_ok(tag, (size_t)(eq - tag)) ||
		           !tmpl_name_ok(eq + 1, nlen - (size_t)(eq - tag) - 1))) {
			snprintf(ps->err, ps->errlen, "%s:%u: bad test \"%.*s\"", ps->name, ps->line,
			         (int)nlen, tag);
			goto fail;
		}
		if (!eq && !(nlen == 1 && tag[0] == '.') && !tmpl_name_ok(tag, nlen)) {
			snprintf(ps->err, ps->errlen, "%s:%u: bad name \"%.*s\"", ps->name, ps->line,
			         (int)nlen, tag);
			goto fail;
		}
		enum tmpl_kind kind = sigil == '#'   ? T_SECTION
		                      : sigil == '^' ? T_INVERTED
		                      : sigil == '>' ? T_PARTIAL
		                      : sigil == '{' || sigil == '&' ? T_RAW
		                                                     : T_VAR;
		struct tmpl_node *node = tmpl_node_new(kind, tag, nlen, ps->line);
		if (node == NULL)
			goto fail;
		node->filter = filter;
		*tail = node;
		tail = &node->next;
		if (kind == T_SECTION || kind == T_INVERTED) {
			int cok;
			node->child = tmpl_parse(ps, node->text, &cok);
			if (!cok)
				goto fail;
		}
	}
	if (end != NULL) {
		snprintf(ps->err, ps->errlen, "%s:%u: {{#%s}} is not closed", ps->name, ps->line, end);
		goto fail;
	}
	return head;
fail:
	*ok = 0;
	tmpl_free_nodes(head);
	return NULL;
}

struct tmpl *
tmpl_compile(const char *name, const char *text, char *err, size_t errlen)
{
	struct tmpl_parser ps = {text, text, name, 1, err, errlen};
	int ok;
	err[0] = '\0';
	struct tmpl_node *nodes = tmpl_parse(&ps, NULL, &ok);
	if (!ok)
		return NULL;
	struct tmpl *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->name = strdup(name)) == NULL) {
		free(t);
		tmpl_free_nodes(nodes);
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	t->mode = tmpl_mode_of(name);
	t->nodes = nodes;
	return t;
}

const char *
tmpl_name(const struct tmpl *t)
{
	return t->name;
}

/* ---- rendering ---- */

#define TMPL_MAX_DEPTH 32

struct tmpl_ctx {
	const struct tmpl_env *env;
	enum tmpl_mode mode;
	struct json_object *stack[TMPL_MAX_DEPTH];
	int depth;
	int first; /* 1 while on the first item of the innermost array section */
	int partials; /* nesting of partials, against loops */
	struct buf *out;
	int failed;
};

/* A dotted path looked up from the innermost context outwards (the first
 * segment decides which context, as in Mustache). */
static struct json_object *
tmpl_lookup(struct tmpl_ctx *c, const char *path, int *found)
{
	*found = 0;
	if (strcmp(path, ".") == 0) {
		*found = 1;
		return c->stack[c->depth - 1];
	}
	char first[128];
	size_t fl = strcspn(path, ".");
	if (fl >= sizeof(first))
		return NULL;
	memcpy(first, path, fl);
	first[fl] = '\0';
	struct json_object *v = NULL;
	int i;
	for (i = c->depth - 1; i >= 0; i--)
		if (json_object_is_type(c->stack[i], json_type_object) &&
		    json_object_object_get_ex(c->stack[i], first, &v))
			break;
	if (i < 0)
		return NULL;
	const char *rest = path + fl;
	while (*rest == '.') {
		rest++;
		size_t sl = strcspn(rest, ".");
		char seg[128];
		if (sl >= sizeof(seg))
			return NULL;
		memcpy(seg, rest, sl);
		seg[sl] = '\0';
		if (json_object_is_type(v, json_type_array) && sl > 0 && strspn(seg, "0123456789") == sl) {
			/* items.0: the first item, or missing ("has items" without a loop) */
			size_t idx = (size_t)strtoul(seg, NULL, 10);
			if (idx >= json_object_array_length(v))
				return NULL;
			v = json_object_array_get_idx(v, idx);
		} else if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, seg, &v)) {
			return NULL;
		}
		rest += sl;
	}
	*found = 1;
	return v;
}

static int
tmpl_truthy(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return 0;
	case json_type_boolean: return json_object_get_boolean(v);
	case json_type_string: return json_object_get_string_len(v) > 0;
	case json_type_array: return json_object_array_length(v) > 0;
	case json_type_int: return 1;
	case json_type_double: return 1;
	case json_type_object: return json_object_object_length(v) > 0; /* {}: an empty lang map */
	}
	return 0;
}

/* Writes s (n bytes) escaped for the mode. */
static void
tmpl_escape(struct buf *b, enum tmpl_mode mode, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep = NULL;
		unsigned char ch = (unsigned char)s[i];
		switch (mode) {
		case TMPL_HTML:
		case TMPL_XML:
			rep = ch == '&' ? "&amp;" : ch == '<' ? "&lt;" : ch == '>' ? "&gt;"
			    : ch == '"' ? "&quot;" : ch == '\'' ? "&#39;" : NULL;
			/* control characters XML 1.0 does not allow */
			if (!rep && ch < 0x20 && ch != '\n' && ch != '\t' && ch != '\r')
				rep = "";
			break;
		case TMPL_ICS: /* RFC 5545 TEXT */
			rep = ch == '\\' ? "\\\\" : ch == ';' ? "\\;" : ch == ',' ? "\\," : ch == '\n' ? "\\n"
			    : ch == '\r' ? "" : NULL;
			break;
		case TMPL_JSON: /* inside a JSON string, and safe inside <script> */
			rep = ch == '"' ? "\\\"" : ch == '\\' ? "\\\\" : ch == '\n' ? "\\n" : ch == '\r' ? "\\r"
			    : ch == '\t' ? "\\t" : ch == '<' ? "\\u003c" : ch == '>' ? "\\u003e"
			    : ch == '&' ? "\\u0026" : NULL;
			if (!rep && ch < 0x20) {
				char u[8];
				snprintf(u, sizeof(u), "\\u%04x", ch);
				buf_add(b, s + start, i - start);
				buf_puts(b, u);
				start = i + 1;
				continue;
			}
			break;
		case TMPL_CSV: /* the field is quoted by tmpl_value */
			rep = ch == '"' ? "\"\"" : NULL;
			break;
		case TMPL_TEXT:
			break;
		}
		if (rep) {
			buf_add(b, s + start, i - start);
			buf_puts(b, rep);
			start = i + 1;
		}
	}
	buf_add(b, s + start, n - start);
}

/* ---- country and language names (|country, |language) ---- */

/* tools/iso-names.py's output, compiled in (the Makefile, from Debian's
 * iso-codes): {"countries": {"LV": {"sv": ...}}, "languages": {...}} */
extern const char core_iso_names[];
static struct json_object *tmpl_names;

int
tmpl_names_init(void)
{
	if (tmpl_names == NULL)
		tmpl_names = json_tokener_parse(core_iso_names);
	if (!json_object_is_type(tmpl_names, json_type_object)) {
		log_msg(PORTAL_LOG_ERR, NULL, "the compiled-in country and language names are not JSON");
		return PORTAL_ERROR;
	}
	return PORTAL_OK;
}

struct json_object *
tmpl_countries(void)
{
	struct json_object *k;
	if (tmpl_names == NULL && tmpl_names_init() != PORTAL_OK)
		return NULL;
	return json_object_object_get_ex(tmpl_names, "countries", &k) ? k : NULL;
}

/* The name of `code` in the `kind` ("countries", "languages") of the
 * page's language (its primary subtag), else English; NULL when unknown. */
static const char *
tmpl_name_of(struct tmpl_ctx *c, const char *kind, const char *code)
{
	struct json_object *k, *names, *n;
	char lang[9];
	const char *l = c->env->lang ? c->env->lang : "en";
	size_t ll = strcspn(l, "-_");
	if (tmpl_names == NULL && tmpl_names_init() != PORTAL_OK)
		return NULL;
	if (ll >= sizeof(lang))
		ll = 0;
	memcpy(lang, l, ll);
	lang[ll] = '\0';
	if (!json_object_object_get_ex(tmpl_names, kind, &k) ||
	    !json_object_object_get_ex(k, code, &names))
		return NULL;
	if ((json_object_object_get_ex(names, lang, &n) || json_object_object_get_ex(names, "en", &n)) &&
	    json_object_is_type(n, json_type_string))
		return json_object_get_string(n);
	return NULL;
}

/* One code's name: a country's, or a language tag's ("ro-MD": the
 * language's, then the region's country in brackets); the code when
 * unknown. */
static const char *
tmpl_code_name(struct tmpl_ctx *c, enum tmpl_filter f, const char *code)
{
	struct pool *p = c->out->pool;
	if (f == F_COUNTRY) {
		const char *n = tmpl_name_of(c, "countries", code);
		return n ? n : code;
	}
	char primary[9];
	size_t pl = strcspn(code, "-");
	if (pl == 0 || pl >= sizeof(primary))
		return code;
	for (size_t i = 0; i < pl; i++)
		primary[i] = (char)tolower((unsigned char)code[i]);
	primary[pl] = '\0';
	const char *n = tmpl_name_of(c, "languages", primary);
	if (n == NULL)
		return code;
	const char *rest = code + pl;
	if (*rest == '-' && strlen(rest + 1) == 2 && isalpha((unsigned char)rest[1]) &&
	    isalpha((unsigned char)rest[2])) {
		char region[3] = {(char)toupper((unsigned char)rest[1]), (char)toupper((unsigned char)rest[2]), '\0'};
		const char *r = tmpl_name_of(c, "countries", region);
		return pool_printf(p, "%s (%s)", n, r ? r : region);
	}
	return n;
}

/* A {lang: text} map's text in the request's language, else the
 * fallback's, else any. */
static const char *
tmpl_pick_lang(struct tmpl_ctx *c, struct json_object *v, const char **code)
{
	struct json_object *t;
	*code = NULL;
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	if (!json_object_is_type(v, json_type_object))
		return NULL;
	if (c->env->lang && json_object_object_get_ex(v, c->env->lang, &t) && t) {
		*code = c->env->lang;
		return json_object_get_string(t);
	}
	if (c->env->fallback_lang && json_object_object_get_ex(v, c->env->fallback_lang, &t) && t) {
		*code = c->env->fallback_lang;
		return json_object_get_string(t);
	}
	json_object_object_foreach(v, k, val) {
		if (json_object_is_type(val, json_type_string)) {
			*code = k;
			return json_object_get_string(val);
		}
	}
	return NULL;
}

/* "2004-10" -> "oktober 2004" with the month names of the catalogue
 * (t.month_10), "2026-11-23T10:00:00Z" -> "23 november 2026". */
static const char *
tmpl_date(struct tmpl_ctx *c, const char *s)
{
	struct pool *p = c->out->pool;
	size_t n = strlen(s);
	if (n < 4 || !isdigit((unsigned char)s[0]))
		return s;
	if (n == 4)
		return s;
	char key[16];
	snprintf(key, sizeof(key), "month_%.2s", s + 5);
	struct json_object *m = NULL;
	const char *month = NULL;
	if (c->env->messages && json_object_object_get_ex(c->env->messages, key, &m))
		month = json_object_get_string(m);
	if (month == NULL)
		return pool_strndup(p, s, n > 10 ? 10 : n);
	if (n == 7)
		return pool_printf(p, "%s %.4s", month, s);
	int day = atoi(s + 8);
	return pool_printf(p, "%d %s %.4s", day, month, s);
}

/* The exclusive end of the day (or month, or year) a date names, as
 * YYYYMMDD: "2026-09-13" -> "20260914", "2004-10" -> "20041101", "1998" ->
 * "19990101".  RFC 5545 ends an all-day VEVENT at the start of the day
 * after its last day.  NULL when s holds no year. */
static const char *
tmpl_ics_end(struct pool *p, const char *s)
{
	char d[9] = "";
	size_t k = 0;
	for (const char *q = s; *q && k < 8; q++)
		if (isdigit((unsigned char)*q))
			d[k++] = *q;
	if (k != 4 && k != 6 && k != 8)
		return NULL;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0') - 1900;
	tm.tm_mon = k >= 6 ? (d[4] - '0') * 10 + (d[5] - '0') - 1 : 0;
	tm.tm_mday = k == 8 ? (d[6] - '0') * 10 + (d[7] - '0') : 1;
	if (k == 8)
		tm.tm_mday++;
	else if (k == 6)
		tm.tm_mon++;
	else
		tm.tm_year++;
	/* timegm carries 32 into the next month and 13 into the next year */
	time_t t = timegm(&tm);
	if (gmtime_r(&t, &tm) == NULL)
		return NULL;
	return pool_printf(p, "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* The first (or, when `last`, the last) day of the period a partial date
 * names, "YYYY-MM-DD": "2004-10" -> "2004-10-01" or "2004-10-31", "1998"
 * -> "1998-01-01" or "1998-12-31".  A full date or a timestamp is returned
 * as it is; NULL when s holds no year. */
static const char *
tmpl_iso_day(struct pool *p, const char *s, int last)
{
	size_t n = strlen(s);
	if (n >= 10)
		return s;
	if ((n != 4 && n != 7) || strspn(s, "0123456789") != 4 ||
	    (n == 7 && (s[4] != '-' || strspn(s + 5, "0123456789") != 2)))
		return NULL;
	if (!last) {
		return pool_printf(p, n == 4 ? "%s-01-01" : "%s-01", s);
	}
	const char *end = tmpl_ics_end(p, s); /* the day after, YYYYMMDD */
	if (end == NULL)
		return NULL;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = atoi(pool_printf(p, "%.4s", end)) - 1900;
	tm.tm_mon = atoi(pool_printf(p, "%.2s", end + 4)) - 1;
	tm.tm_mday = atoi(end + 6) - 1; /* 0 is the last day of the month before */
	time_t t = timegm(&tm);
	if (gmtime_r(&t, &tm) == NULL)
		return NULL;
	return pool_printf(p, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static void
tmpl_put(struct tmpl_ctx *c, const char *s, int raw)
{
	if (raw)
		buf_puts(c->out, s);
	else
		tmpl_escape(c->out, c->mode, s, strlen(s));
}

static void
tmpl_value(struct tmpl_ctx *c, const struct tmpl_node *n, struct json_object *v, int found)
{
	int raw = n->kind == T_RAW;
	const char *s = NULL;
	char num[64];
	struct pool *p = c->out->pool;

	switch (n->filter) {
	case F_COUNT:
		snprintf(num, sizeof(num), "%zu",
		         json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0);
		buf_puts(c->out, num);
		return;
	case F_JSON: {
		/* a complete JSON value, with <, > and & escaped for <script> */
		const char *js = found ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
		                                                               JSON_C_TO_STRING_NOSLASHESCAPE)
		                       : "null";
		for (const char *q = js; *q; q++) {
			if (*q == '<')
				buf_puts(c->out, "\\u003c");
			else if (*q == '>')
				buf_puts(c->out, "\\u003e");
			else if (*q == '&')
				buf_puts(c->out, "\\u0026");
			else
				buf_add(c->out, q, 1);
		}
		return;
	}
	case F_LANG: {
		const char *code;
		s = tmpl_pick_lang(c, v, &code);
		break;
	}
	case F_LANGCODE: {
		const char *code;
		tmpl_pick_lang(c, v, &code);
		s = code ? code : c->env->lang;
		break;
	}
	case F_COUNTRY:
	case F_LANGUAGE:
		if (json_object_is_type(v, json_type_string)) {
			s = tmpl_code_name(c, n->filter, json_object_get_string(v));
		} else if (json_object_is_type(v, json_type_array)) {
			struct buf j;
			buf_init(&j, p);
			for (size_t i = 0; i < json_object_array_length(v); i++) {
				struct json_object *e = json_object_array_get_idx(v, i);
				if (!json_object_is_type(e, json_type_string))
					continue;
				if (j.len)
					buf_puts(&j, ", ");
				buf_puts(&j, tmpl_code_name(c, n->filter, json_object_get_string(e)));
			}
			s = j.data ? j.data : "";
		}
		break;
	case F_JOIN:
		if (json_object_is_type(v, json_type_array)) {
			struct buf j;
			buf_init(&j, p);
			for (size_t i = 0; i < json_object_array_length(v); i++) {
				struct json_object *e = json_object_array_get_idx(v, i);
				if (!json_object_is_type(e, json_type_string))
					continue;
				if (j.len)
					buf_puts(&j, "; ");
				buf_puts(&j, json_object_get_string(e));
			}
			s = j.data ? j.data : "";
		}
		break;
	default:
		if (!found || v == NULL)
			s = NULL;
		else if (json_object_is_type(v, json_type_string))
			s = json_object_get_string(v);
		else if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double) ||
		         json_object_is_type(v, json_type_boolean))
			s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		else
			s = NULL; /* objects and arrays are not text */
	}
	if (s && n->filter == F_DATE)
		s = tmpl_date(c, s);
	if (s && n->filter == F_LABEL && c->env->labels) {
		struct json_object *l;
		if (json_object_object_get_ex(c->env->labels, s, &l) && json_object_is_type(l, json_type_string))
			s = json_object_get_string(l);
	}
	if (s && n->filter == F_ICS_DATE) {
		char d[16] = "";
		size_t k = 0;
		for (const char *q = s; *q && k < 8; q++)
			if (isdigit((unsigned char)*q))
				d[k++] = *q;
		for (; k < 8; k++) /* a partial date starts at its first day */
			d[k] = k == 5 || k == 7 ? '1' : '0';
		d[8] = '\0';
		s = pool_strdup(p, d);
	}
	if (s && n->filter == F_ICS_END)
		s = tmpl_ics_end(p, s);
	if (s && (n->filter == F_FIRST_DAY || n->filter == F_LAST_DAY))
		s = tmpl_iso_day(p, s, n->filter == F_LAST_DAY);
	if (s && n->filter == F_URL) {
		struct buf u;
		buf_init(&u, p);
		for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
			if (isalnum(*q) || strchr("-._~", *q)) {
				buf_add(&u, q, 1);
			} else {
				char h[4];
				snprintf(h, sizeof(h), "%%%02X", *q);
				buf_puts(&u, h);
			}
		}
		s = u.data ? u.data : "";
	}
	if (c->mode == TMPL_CSV && !raw) {
		/* every field quoted; a leading = + - @ would be a formula in a
		 * spreadsheet: prefixed with ' (OWASP CSV injection) */
		buf_puts(c->out, "\"");
		if (s && (*s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t' || *s == '\r') &&
		    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
			buf_puts(c->out, "'");
		if (s)
			tmpl_escape(c->out, c->mode, s, strlen(s));
		buf_puts(c->out, "\"");
		return;
	}
	if (s)
		tmpl_put(c, s, raw);
}

static void tmpl_run(struct tmpl_ctx *c, const struct tmpl_node *n);

/* "path=text": whether the value at path is the string text. */
static int
tmpl_equals(struct tmpl_ctx *c, const char *test)
{
	const char *eq = strchr(test, '=');
	char path[128];
	int found;
	if ((size_t)(eq - test) >= sizeof(path))
		return 0;
	memcpy(path, test, (size_t)(eq - test));
	path[eq - test] = '\0';
	struct json_object *v = tmpl_lookup(c, path, &found);
	return found && json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), eq + 1) == 0;
}

static void
tmpl_push_run(struct tmpl_ctx *c, struct json_object *v, const struct tmpl_node *child)
{
	if (c->depth >= TMPL_MAX_DEPTH) {
		c->failed = 1;
		return;
	}
	c->stack[c->depth++] = v;
	tmpl_run(c, child);
	c->depth--;
}

static void
tmpl_run(struct tmpl_ctx *c, const struct tmpl_node *n)
{
	for (; n && !c->failed; n = n->next) {
		int found;
		struct json_object *v;
		switch (n->kind) {
		case T_TEXT:
			if (c->mode == TMPL_CSV) {
				/* RFC 4180: records end in CRLF, whatever the template file has */
				for (size_t i = 0; i < n->len; i++) {
					if (n->text[i] == '\n' && (i == 0 || n->text[i - 1] != '\r'))
						buf_add(c->out, "\r", 1);
					buf_add(c->out, n->text + i, 1);
				}
				break;
			}
			buf_add(c->out, n->text, n->len);
			break;
		case T_VAR:
		case T_RAW:
			v = tmpl_lookup(c, n->text, &found);
			tmpl_value(c, n, v, found);
			break;
		case T_SECTION:
			if (strcmp(n->text, "-first") == 0) {
				if (c->first)
					tmpl_run(c, n->child);
				break;
			}
			if (strchr(n->text, '=')) {
				if (tmpl_equals(c, n->text))
					tmpl_run(c, n->child);
				break;
			}
			v = tmpl_lookup(c, n->text, &found);
			if (!found || !tmpl_truthy(v))
				break;
			if (json_object_is_type(v, json_type_array)) {
				size_t len = json_object_array_length(v);
				int saved = c->first;
				for (size_t i = 0; i < len && !c->failed; i++) {
					c->first = i == 0;
					tmpl_push_run(c, json_object_array_get_idx(v, i), n->child);
				}
				c->first = saved;
			} else if (json_object_is_type(v, json_type_object)) {
				tmpl_push_run(c, v, n->child);
			} else {
				tmpl_run(c, n->child);
			}
			break;
		case T_INVERTED:
			if (strcmp(n->text, "-first") == 0) {
				if (!c->first)
					tmpl_run(c, n->child);
				break;
			}
			if (strchr(n->text, '=')) {
				if (!tmpl_equals(c, n->text))
					tmpl_run(c, n->child);
				break;
			}
			v = tmpl_lookup(c, n->text, &found);
			if (!found || !tmpl_truthy(v))
				tmpl_run(c, n->child);
			break;
		case T_PARTIAL: {
			const struct tmpl *t = c->env->partial ? c->env->partial(c->env->ctx, n->text) : NULL;
			if (t == NULL || c->partials >= 8) {
				log_msg(PORTAL_LOG_ERR, NULL, "template: no partial \"%s\" (or nested too deep)",
				        n->text);
				c->failed = 1;
				break;
			}
			enum tmpl_mode saved = c->mode;
			c->mode = t->mode == TMPL_TEXT ? saved : t->mode;
			c->partials++;
			tmpl_run(c, t->nodes);
			c->partials--;
			c->mode = saved;
			break;
		}
		}
	}
}

int
tmpl_render(const struct tmpl *t, struct json_object *data, const struct tmpl_env *env,
            struct buf *out)
{
	struct tmpl_ctx c;
	memset(&c, 0, sizeof(c));
	c.env = env;
	c.mode = t->mode;
	c.out = out;
	c.stack[c.depth++] = env->root ? env->root : data;
	if (env->root && data != env->root)
		c.stack[c.depth++] = data;
	tmpl_run(&c, t->nodes);
	return c.failed ? PORTAL_ERROR : PORTAL_OK;
}
