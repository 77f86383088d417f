/* translate.c: the validators' English messages in Swedish and Danish by
 * the patterns of core/web/validation.json (read here from the file, as
 * the binary embeds it). */
#include <ctype.h>
#include <glob.h>
#include <stdlib.h>

#include "web/page.h"
#include "t.h"

static struct pool pool;

static const char *
sv(const char *en)
{
	return msg_translate(&pool, "sv", en);
}

static const char *
da(const char *en)
{
	return msg_translate(&pool, "da", en);
}

/* The placeholders of fmt, as one string ("%zu %zu"). */
static const char *
specs(const char *fmt)
{
	char *out = pool_alloc(&pool, strlen(fmt) + 1), *w = out;
	for (const char *s = fmt; *s; s++) {
		if (*s != '%')
			continue;
		if (s[1] == '%') {
			s++;
			continue;
		}
		const char *b = s++;
		while (*s && strchr("-+ #0123456789.hlzjtL", *s))
			s++;
		if (*s && strchr("diouxXfFeEgGsc", *s)) {
			if (w != out)
				*w++ = ' ';
			memcpy(w, b, (size_t)(s - b + 1));
			w += s - b + 1;
		}
	}
	*w = '\0';
	return out;
}

static void
test_table(void)
{
	struct json_object *t = json_object_from_file("core/web/validation.json");
	T_OK(json_object_is_type(t, json_type_object), "core/web/validation.json is a JSON object");
	if (t == NULL)
		return;
	int n = 0, bad = 0;
	json_object_object_foreach(t, en, tr) {
		if (en[0] == '_')
			continue;
		n++;
		struct json_object *s, *d;
		int ok = json_object_object_get_ex(tr, "sv", &s) && json_object_is_type(s, json_type_string) &&
		         json_object_object_get_ex(tr, "da", &d) && json_object_is_type(d, json_type_string) &&
		         *json_object_get_string(s) && *json_object_get_string(d);
		if (!ok) {
			T_OK(0, "\"%s\" has sv and da", en);
			bad++;
			continue;
		}
		const char *want = specs(en), *gs = specs(json_object_get_string(s)),
		           *gd = specs(json_object_get_string(d));
		if (strcmp(want, gs) != 0 || strcmp(want, gd) != 0) {
			T_OK(0, "\"%s\": placeholders \"%s\", sv \"%s\", da \"%s\"", en, want, gs, gd);
			bad++;
		}
		if (en[0] != '=' && strcmp(sv(en), json_object_get_string(s)) != 0 &&
		    strcmp(want, "") == 0) {
			T_OK(0, "\"%s\" is found (an earlier pattern wins: %s)", en, sv(en));
			bad++;
		}
	}
	T_OK(n > 60 && bad == 0, "%d patterns, each with sv and da, the same placeholders in the "
	                         "same order, a message without placeholders found as itself", n);
	json_object_put(t);
}

static void
test_messages(void)
{
	T_STR(sv("is required"), "måste fyllas i", "sv: is required");
	T_STR(da("is required"), "skal udfyldes", "da: is required");
	T_STR(sv("must be at most 200 characters long (is 250)"),
	      "får vara högst 200 tecken lång (nu 250); korta texten", "sv: %%zu pieces kept in order");
	T_STR(da("must have at most 50 items (has 51)"),
	      "må højst have 50 rækker (har 51); fjern nogle", "da: two numbers");
	T_STR(sv("must not be before start_date (1992-05)"),
	      "får inte vara före startdatumet (1992-05)", "sv: a plugin's message with a date");
	T_STR(da("must be one of: twin_town, friendship, cooperation"),
	      "skal være en af mulighederne: twin_town, friendship, cooperation",
	      "da: a list captured whole");
	T_STR(sv("must be a number from -90 to 90"), "måste vara ett tal från -90 till 90",
	      "sv: %%g pieces");
	T_STR(sv("must be an integer from 1 to 1000000000000000"),
	      "måste vara ett heltal från 1 till 1000000000000000", "sv: %%.0f pieces");
	T_STR(sv("must be an integer, not a string"), "måste vara ett heltal, till exempel 12",
	      "sv: a specific message before the general one");
	T_STR(da("must be an array, not a number"), "skal være en liste, ikke et tal",
	      "da: a captured type name translated");
	T_STR(sv("must be an object, not a boolean"), "måste vara ett objekt, inte ja eller nej",
	      "sv: another type name");
	T_STR(sv("is not a partnership of this municipality"),
	      "är inte ett partnerskap i den här kommunen", "sv: news' related.partnerships");
	T_STR(da("is taken by another news item of borlange"),
	      "bruges allerede af en anden nyhed i borlange; vælg en anden", "da: news' slug");
	T_STR(sv("only one partner can be the lead (partners[0] is)"),
	      "bara en partner kan vara huvudpartner (partners[0] är redan det)", "sv: projects' lead");
	T_STR(da("must be a-z, 0-9 and hyphens (not first or last), at most 80 bytes"),
	      "må kun indeholde a–z, 0–9 og bindestreger (ikke først eller sidst), højst 80 byte",
	      "da: news' slug form");
	T_STR(sv("give the year too, not only the month or day"),
	      "ange året också, inte bara månad eller dag", "sv: form_doc's date message");
	T_STR(sv("is not a field of this form"), "är inte ett fält i det här formuläret",
	      "sv: form_doc's unknown name");
	T_STR(msg_translate(&pool, "sv-FI", "is required"), "måste fyllas i", "sv-FI counts as sv");

	const char *en = "is required";
	T_OK(msg_translate(&pool, "en", en) == en, "en: the message itself");
	T_OK(msg_translate(&pool, "fi", en) == en, "a language without a table: English");
	T_OK(msg_translate(&pool, "", en) == en && msg_translate(&pool, NULL, en) == en,
	     "no language: English");
	T_OK(msg_translate(&pool, "sv", NULL) == NULL, "no message: NULL");
	const char *odd = "is required when the moon is full";
	T_OK(sv(odd) == odd, "an unknown message stays English");
	T_STR(sv("is required!"), "is required!", "patterns are anchored at the end");
	T_STR(sv("it is required"), "it is required", "... and at the start");
	char *longmsg = pool_alloc(&pool, 1200);
	memcpy(longmsg, "must be one of: ", 16);
	memset(longmsg + 16, 'a', 1100);
	T_OK(sv(longmsg) == longmsg, "a message over 1000 bytes stays English (bounded matching)");
	T_STR(sv("must be one of: "), "måste vara ett av alternativen: ", "a placeholder may match nothing");
	T_STR(sv("must be at most 5% characters long (is %s)"),
	      "får vara högst 5% tecken lång (nu %s); korta texten",
	      "'%%' in a captured piece is kept as it is");
}

/* Every message the schema checker gives for some bad documents has a
 * Swedish and a Danish text. */
struct seen {
	int n, missing;
};

static void
sink_error(void *ctx, const char *field, const char *msg)
{
	struct seen *s = ctx;
	s->n++;
	if (sv(msg) == msg || da(msg) == msg) {
		s->missing++;
		printf("#   no translation: %s: %s\n", field, msg);
	}
}

static void
test_validator(void)
{
	static const char *const kinds[] = {"a", "b", NULL};
	static const struct portal_field item = {.name = "i", .type = PF_STRING, .max = 5};
	static const struct portal_field obj_fields[] = {{.name = "x", .type = PF_INT}, {.name = NULL}};
	static const struct portal_field schema[] = {
	    {.name = "s", .type = PF_STRING, .flags = PF_REQUIRED, .max = 5},
	    {.name = "t", .type = PF_TEXT, .max = 5},
	    {.name = "i", .type = PF_INT, .min = 1, .max_num = 10},
	    {.name = "n", .type = PF_NUMBER, .min = -90, .max_num = 90},
	    {.name = "b", .type = PF_BOOL},
	    {.name = "e", .type = PF_ENUM, .values = kinds},
	    {.name = "d", .type = PF_DATE},
	    {.name = "c", .type = PF_COUNTRY},
	    {.name = "l", .type = PF_LANG},
	    {.name = "cur", .type = PF_CURRENCY},
	    {.name = "u", .type = PF_URL},
	    {.name = "q", .type = PF_QID},
	    {.name = "m", .type = PF_LANGMAP},
	    {.name = "o", .type = PF_OBJECT, .fields = obj_fields},
	    {.name = "a", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = 2, .items = &item},
	    {.name = "r", .type = PF_STRING, .flags = PF_REQUIRED},
	    {.name = NULL},
	};
	static const char *const docs[] = {
	    "{\"s\":\"toolong\",\"t\":\"a\\u0001\",\"i\":\"4.5\",\"n\":\"59,\",\"b\":\"yes\",\"e\":\"c\","
	    "\"d\":\"2024-ab\",\"c\":\"XX\",\"l\":\"english\",\"cur\":\"XXX\",\"u\":\"ftp://x\","
	    "\"q\":\"Q\",\"m\":{\"english\":\"x\",\"sv\":null},\"o\":{\"x\":1.5,\"y\":1},"
	    "\"a\":[\"x\",\"x\",\"y\"],\"zz\":1}",
	    "{\"s\":\"a\\nb\",\"t\":\"123456\",\"i\":99,\"n\":91,\"b\":1,\"m\":[],\"o\":[],\"a\":{},"
	    "\"r\":null}",
	    "{\"s\":\"  \",\"i\":true,\"n\":{},\"m\":\"x\",\"a\":[null],\"o\":\"x\"}",
	    "{\"s\":1,\"i\":[],\"n\":null,\"b\":null,\"a\":[1]}",
	    "[]",
	};
	struct seen seen = {0};
	struct valid_sink sink = {&seen, sink_error};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct json_object *d = json_tokener_parse(docs[i]);
		valid_doc(schema, d, "", &sink);
		json_object_put(d);
	}
	T_OK(seen.n > 30 && seen.missing == 0,
	     "every one of %d messages of the schema checker has sv and da (%d missing)", seen.n,
	     seen.missing);
}

/* The string literal(s) that are all of s[0..n) ("a" "b" joined, C
 * escapes decoded), or NULL when it is anything else. */
static char *
literal(const char *s, size_t n)
{
	char *out = pool_alloc(&pool, n + 1), *w = out;
	size_t i = 0;
	int any = 0;
	for (;;) {
		while (i < n && isspace((unsigned char)s[i]))
			i++;
		if (i == n)
			break;
		if (s[i] != '"')
			return NULL;
		for (i++; i < n && s[i] != '"'; i++) {
			if (s[i] == '\\' && i + 1 < n) {
				i++;
				*w++ = s[i] == 'n' ? '\n' : s[i] == 't' ? '\t' : s[i];
			} else {
				*w++ = s[i];
			}
		}
		if (i == n)
			return NULL;
		i++;
		any = 1;
	}
	*w = '\0';
	return any ? out : NULL;
}

/* The third argument of each call of field_error (api->field_error,
 * out_field_error) and verr in `text` when it is a string literal. */
static void
messages_in(const char *file, const char *text, int *n, int *missing)
{
	static const char *const calls[] = {"field_error(", "verr(", NULL};
	/* formats whose printed forms are in the table one by one */
	static const char *const made[] = {"must not contain control characters%s", NULL};
	for (const char *const *c = calls; *c; c++) {
		for (const char *p = strstr(text, *c); p; p = strstr(p + 1, *c)) {
			if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_') && strcmp(*c, "verr(") == 0)
				continue;
			const char *a = p + strlen(*c), *start[4] = {a, NULL, NULL, NULL};
			int depth = 0, arg = 0;
			const char *q = a;
			for (; *q && arg < 3; q++) {
				if (*q == '"' || *q == '\'') {
					char quote = *q;
					for (q++; *q && *q != quote; q++)
						if (*q == '\\' && q[1])
							q++;
					if (!*q)
						break;
				} else if (*q == '(') {
					depth++;
				} else if (*q == ')') {
					if (depth-- == 0)
						break;
				} else if (*q == ',' && depth == 0) {
					start[++arg] = q + 1;
				}
			}
			if (start[2] == NULL)
				continue;
			const char *end = start[3] ? start[3] - 1 : q;
			char *fmt = literal(start[2], (size_t)(end - start[2]));
			if (fmt == NULL)
				continue;
			int skip = 0;
			for (const char *const *m = made; *m; m++)
				skip |= strcmp(*m, fmt) == 0;
			if (skip)
				continue;
			(*n)++;
			if (sv(fmt) == fmt || da(fmt) == fmt) {
				(*missing)++;
				printf("#   %s: no pattern in core/web/validation.json for \"%s\"\n", file, fmt);
			}
		}
	}
}

/* Every literal message of the core's and the plugins' sources. */
static void
test_sources(void)
{
	glob_t g;
	int n = 0, missing = 0;
	if (glob("core/*/*.c", 0, NULL, &g) != 0 || glob("plugins/*/*.c", GLOB_APPEND, NULL, &g) != 0) {
		T_OK(0, "the sources are found (run from the repository)");
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "r");
		if (f == NULL)
			continue;
		struct buf b;
		buf_init(&b, &pool);
		char chunk[4096];
		size_t k;
		while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_add(&b, chunk, k);
		fclose(f);
		if (b.data)
			messages_in(g.gl_pathv[i], b.data, &n, &missing);
	}
	globfree(&g);
	T_OK(n > 60 && missing == 0,
	     "each of the %d messages in field_error and verr calls of core/ and plugins/ has a "
	     "pattern (%d missing: add them to core/web/validation.json)",
	     n, missing);
}

int
main(void)
{
	pool_init(&pool);
	test_table();
	test_messages();
	test_validator();
	test_sources();
	pool_destroy(&pool);
	return T_DONE();
}
