/* Validators, partial dates, the schema checker and merge patch. */
#include <stdlib.h>

#include "core.h"
#include "t.h"

static void
test_dates(void)
{
	static const struct {
		const char *s;
		int ok;
	} cases[] = {
	    {"2008", 1},       {"2008-05", 1},    {"2008-05-31", 1}, {"2004-02-29", 1},
	    {"2000-02-29", 1}, {"1900-02-29", 0}, {"2008-02-30", 0}, {"2008-13", 0},
	    {"2008-00", 0},    {"2008-04-31", 0}, {"2008-04-00", 0}, {"08", 0},
	    {"20080", 0},      {"2008-5", 0},     {"2008-05-1", 0},  {"2008/05/01", 0},
	    {"", 0},           {"0999", 0},       {"2008-05-01T00:00", 0}, {"abcd", 0},
	    {"2008-1a", 0},    {" 2008", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_OK(valid_partial_date(cases[i].s) == cases[i].ok, "partial date \"%s\" is %s",
		     cases[i].s, cases[i].ok ? "valid" : "invalid");
	T_OK(valid_partial_date(NULL) == 0, "NULL is no date");
	T_OK(valid_date_cmp("2008", "2008-05") == 0, "2008 and 2008-05 overlap");
	T_OK(valid_date_cmp("2004-10", "2002") > 0, "2004-10 is after 2002");
	T_OK(valid_date_cmp("1999-09", "2004-10-01") < 0, "1999-09 is before 2004-10-01");
}

static void
test_codes(void)
{
	const char *countries[] = {"SE", "DK", "NO", "FI", "LV", "LT", "UA", "MD", "RO", "CN",
	                           "IS", "DE", "EE", "XK", NULL};
	for (const char **c = countries; *c; c++)
		T_OK(valid_country(*c), "country %s", *c);
	const char *bad[] = {"XX", "se", "S", "SWE", "", "UK", "EU", "ZZ", NULL};
	for (const char **c = bad; *c; c++)
		T_OK(!valid_country(*c), "not a country: \"%s\"", *c);
	T_OK(valid_currency("SEK") && valid_currency("EUR") && valid_currency("DKK"), "currencies");
	T_OK(!valid_currency("sek") && !valid_currency("XXX") && !valid_currency("EU"),
	     "not currencies");
	T_OK(valid_lang("sv") && valid_lang("en") && valid_lang("ro-MD") && valid_lang("zh-Hans-CN"),
	     "language tags");
	T_OK(!valid_lang("") && !valid_lang("s") && !valid_lang("SV") && !valid_lang("sv-") &&
	         !valid_lang("sv_SE") && !valid_lang("english"),
	     "not language tags");
	T_OK(valid_url("https://www.borlange.se/") && valid_url("http://lerum.se/a?b=c#d"), "URLs");
	T_OK(!valid_url("javascript:alert(1)") && !valid_url("ftp://x") && !valid_url("https://") &&
	         !valid_url("https://a b") && !valid_url("//x.se") && !valid_url("https://x\"y"),
	     "not URLs");
	T_OK(valid_qid("Q11746") && valid_qid("Q1"), "QIDs");
	T_OK(!valid_qid("Q") && !valid_qid("Q0") && !valid_qid("q5") && !valid_qid("Q12a") &&
	         !valid_qid("Q1234567890123"),
	     "not QIDs");
	T_OK(valid_utf8("Chi\xc8\x99in\xc4\x83u", 10), "UTF-8 Chișinău");
	T_OK(!valid_utf8("\xc3\x28", 2) && !valid_utf8("\xed\xa0\x80", 3) && !valid_utf8("\xc0\xaf", 2) &&
	         !valid_utf8("a\0b", 3) && !valid_utf8("\xf4\x90\x80\x80", 4),
	     "invalid UTF-8 refused (bad continuation, surrogate, overlong, NUL, > U+10FFFF)");
}

/* ---- the schema checker ---- */
static char errs[4096];

static void
collect(void *ctx, const char *field, const char *msg)
{
	(void)ctx;
	size_t n = strlen(errs);
	snprintf(errs + n, sizeof(errs) - n, "%s: %s|", field, msg);
}

static const char *const kinds[] = {"twin_town", "friendship", NULL};
static const struct portal_field agreement[] = {
    {.name = "date", .type = PF_DATE, .flags = PF_REQUIRED},
    {.name = "title", .type = PF_STRING},
    {0},
};
static const struct portal_field agreement_item = {.name = "", .type = PF_OBJECT, .fields = agreement};
static const struct portal_field area_item = {.name = "", .type = PF_STRING, .max = 20};
static const struct portal_field partner[] = {
    {.name = "name", .type = PF_STRING, .flags = PF_REQUIRED},
    {.name = "country", .type = PF_COUNTRY},
    {.name = "lat", .type = PF_NUMBER, .min = -90, .max_num = 90},
    {0},
};
static const struct portal_field schema[] = {
    {.name = "partner", .type = PF_OBJECT, .flags = PF_REQUIRED, .fields = partner},
    {.name = "kind", .type = PF_ENUM, .flags = PF_REQUIRED, .values = kinds},
    {.name = "count", .type = PF_INT, .min = 0, .max_num = 10},
    {.name = "public", .type = PF_BOOL},
    {.name = "areas", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = 3, .items = &area_item},
    {.name = "agreements", .type = PF_ARRAY, .items = &agreement_item},
    {.name = "description", .type = PF_LANGMAP, .max = 50},
    {.name = "website", .type = PF_URL},
    {0},
};

static int
check(const char *json)
{
	struct valid_sink sink = {NULL, collect};
	errs[0] = '\0';
	struct json_object *o = json_tokener_parse(json);
	int rc = valid_doc(schema, o, NULL, &sink);
	json_object_put(o);
	return rc;
}

static void
test_schema(void)
{
	T_OK(check("{\"partner\":{\"name\":\"Chi\xc8\x99in\xc4\x83u\",\"country\":\"MD\",\"lat\":47.0},"
	           "\"kind\":\"twin_town\",\"areas\":[\"education\"],"
	           "\"agreements\":[{\"date\":\"2004-10\"}],\"description\":{\"sv\":\"V\xc3\xa4nort\"}}") ==
	         PORTAL_OK && errs[0] == '\0',
	     "a valid document passes");
	T_OK(check("{\"kind\":\"twin_town\"}") == PORTAL_ERROR && strstr(errs, "partner: is required"),
	     "missing required object named: %s", errs);
	check("{\"partner\":{\"name\":\"A\",\"country\":\"XX\",\"lat\":91},\"kind\":\"sister\",\"foo\":1}");
	T_OK(strstr(errs, "partner.country: ") != NULL, "bad country named partner.country");
	T_OK(strstr(errs, "partner.lat: ") != NULL, "latitude 91 named partner.lat");
	T_OK(strstr(errs, "kind: must be one of: twin_town, friendship") != NULL, "enum lists values");
	T_OK(strstr(errs, "foo: is not a known field") != NULL, "unknown member named");
	check("{\"partner\":{\"name\":\"  \"},\"kind\":\"twin_town\",\"count\":11,\"public\":1}");
	T_OK(strstr(errs, "partner.name: must not be empty") != NULL, "blank string refused");
	T_OK(strstr(errs, "count: must be an integer from 0 to 10") != NULL, "int range");
	T_OK(strstr(errs, "public: must be true or false") != NULL, "bool type");
	check("{\"partner\":{\"name\":\"A\"},\"kind\":\"twin_town\",\"areas\":[\"a\",\"a\",\"b\",\"c\"]}");
	T_OK(strstr(errs, "areas: must have at most 3 items") != NULL, "array length: %s", errs);
	check("{\"partner\":{\"name\":\"A\"},\"kind\":\"twin_town\",\"areas\":[\"a\",\"a\"]}");
	T_OK(strstr(errs, "areas[1]: repeats an earlier item") != NULL, "unique items");
	check("{\"partner\":{\"name\":\"A\"},\"kind\":\"twin_town\",\"agreements\":[{\"date\":\"2004-10\"},"
	      "{\"date\":\"2008-02-30\",\"x\":1},{}]}");
	T_OK(strstr(errs, "agreements[1].date: must be a real date") != NULL, "nested path with index");
	T_OK(strstr(errs, "agreements[1].x: is not a known field") != NULL, "nested unknown member");
	T_OK(strstr(errs, "agreements[2].date: is required") != NULL, "nested required");
	check("{\"partner\":{\"name\":\"A\"},\"kind\":\"twin_town\",\"description\":{\"SV\":\"x\","
	      "\"en\":1}}");
	T_OK(strstr(errs, "description.SV: ") != NULL && strstr(errs, "description.en: must be a string"),
	     "language map keys and values: %s", errs);
	check("{\"partner\":{\"name\":\"A\\nB\"},\"kind\":\"twin_town\",\"website\":\"javascript:alert(1)\"}");
	T_OK(strstr(errs, "partner.name: must not contain control characters") != NULL,
	     "line break in a single-line string");
	T_OK(strstr(errs, "website: must be an absolute http") != NULL, "javascript: URL refused");
	check("{\"partner\":{\"name\":\"A\",\"country\":null},\"kind\":null}");
	T_OK(strstr(errs, "kind: is required and must not be null") != NULL &&
	         strstr(errs, "partner.country") == NULL,
	     "null: refused when required, accepted when optional");
	T_OK(check("[1,2]") == PORTAL_ERROR && strstr(errs, "must be a JSON object"),
	     "a body that is not an object");
	char big[400];
	memset(big, 'a', 250);
	big[250] = '\0';
	char doc[1200];
	snprintf(doc, sizeof(doc), "{\"partner\":{\"name\":\"%s\"},\"kind\":\"twin_town\"}", big);
	check(doc);
	T_OK(strstr(errs, "partner.name: must be at most 200 characters long") != NULL, "default max length");
	/* maxLength counts characters (code points), not bytes (issue 20, point 13) */
	char wide[1000] = "";
	for (int i = 0; i < 200; i++)
		strcat(wide, "\xc3\xb6"); /* o-umlaut, 2 bytes */
	snprintf(doc, sizeof(doc), "{\"partner\":{\"name\":\"%s\"},\"kind\":\"twin_town\"}", wide);
	check(doc);
	T_OK(strstr(errs, "partner.name") == NULL, "200 two-byte characters are 200 characters");
	strcat(wide, "\xf0\x9f\x8e\x89"); /* one more: a 4-byte emoji */
	snprintf(doc, sizeof(doc), "{\"partner\":{\"name\":\"%s\"},\"kind\":\"twin_town\"}", wide);
	check(doc);
	T_OK(strstr(errs, "partner.name: must be at most 200 characters long (is 201)") != NULL,
	     "201 characters are counted as 201");
	T_OK(valid_chars("a\xc3\xb6\xe2\x82\xac\xf0\x9f\x8e\x89", 10) == 4, "valid_chars counts code points");
}

static void
test_merge_patch(void)
{
	struct json_object *t = json_tokener_parse(
	    "{\"a\":\"b\",\"c\":{\"d\":\"e\",\"f\":\"g\"},\"keep\":[1,2]}");
	struct json_object *p = json_tokener_parse("{\"a\":\"z\",\"c\":{\"f\":null},\"n\":{\"x\":null,\"y\":1}}");
	valid_merge_patch(t, p);
	T_STR(json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN),
	      "{\"a\":\"z\",\"c\":{\"d\":\"e\"},\"keep\":[1,2],\"n\":{\"y\":1}}", "RFC 7396 merge patch");
	json_object_put(t);
	json_object_put(p);
}

/* updated_since and the changes' since (issue #19) */
static void
test_utc_time(void)
{
	static const struct {
		const char *s, *want; /* want NULL: refused */
	} cases[] = {
	    {"2024-09-09", "2024-09-09 00:00:00.000000"},
	    {"2024-09-09T08:05:03Z", "2024-09-09 08:05:03.000000"},
	    {"2024-09-09T08:05:03.25Z", "2024-09-09 08:05:03.250000"},
	    {"2024-09-09t08:05:03.1234567z", "2024-09-09 08:05:03.123456"},
	    {"2024-09-09T08:05:03+00:00", "2024-09-09 08:05:03.000000"},
	    {"2024-09-09T08:05:03+02:00", NULL},
	    {"2024-09-09T08:05:03", NULL},
	    {"2024-09-09T24:00:00Z", NULL},
	    {"2024-02-30", NULL},
	    {"2024-09", NULL},
	    {"2024-09-09T08:05:03.Z", NULL},
	    {"yesterday", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[32] = "";
		int ok = valid_utc_time(cases[i].s, out);
		T_OK(cases[i].want ? ok && strcmp(out, cases[i].want) == 0 : !ok, "UTC time \"%s\": %s",
		     cases[i].s, cases[i].want ? cases[i].want : "refused");
	}
	T_OK(!valid_utc_time(NULL, (char[32]){0}), "NULL is no time");
}

int
main(void)
{
	test_dates();
	test_codes();
	test_schema();
	test_merge_patch();
	test_utc_time();
	return T_DONE();
}
