/* form_doc.c: a posted form as the item's JSON document (form_doc) and a
 * document as the form's values (form_values), on a field table like the
 * partnerships module's. */
#include <stdlib.h>

#include "web/page.h"
#include "t.h"

static const char *const kinds[] = {"twin_town", "friendship", "cooperation", NULL};
static const char *const areas[] = {"culture", "youth", "climate", NULL};
static const char *const agreement_kinds[] = {"letter_of_intent", "twinning_agreement", NULL};

static const struct portal_field partner_fields[] = {
    {.name = "name", .type = PF_STRING, .flags = PF_REQUIRED},
    {.name = "country", .type = PF_COUNTRY},
    {.name = "lat", .type = PF_NUMBER, .min = -90, .max_num = 90},
    {.name = "lon", .type = PF_NUMBER, .min = -180, .max_num = 180},
    {.name = NULL},
};
static const struct portal_field signatory = {.name = "signatory", .type = PF_STRING};
static const struct portal_field agreement_fields[] = {
    {.name = "date", .type = PF_DATE},
    {.name = "kind", .type = PF_ENUM, .flags = PF_REQUIRED, .values = agreement_kinds},
    {.name = "signatories", .type = PF_ARRAY, .items = &signatory},
    {.name = NULL},
};
static const struct portal_field agreement = {.name = "agreement", .type = PF_OBJECT,
                                              .fields = agreement_fields};
static const struct portal_field area = {.name = "area", .type = PF_ENUM, .values = areas};
static const struct portal_field id = {.name = "id", .type = PF_INT, .min = 1, .max_num = 1e15};
static const struct portal_field fields[] = {
    {.name = "partner", .type = PF_OBJECT, .flags = PF_REQUIRED, .fields = partner_fields},
    {.name = "kind", .type = PF_ENUM, .flags = PF_REQUIRED, .values = kinds},
    {.name = "start_date", .type = PF_DATE},
    {.name = "areas", .type = PF_ARRAY, .flags = PF_UNIQUE, .items = &area},
    {.name = "description", .type = PF_LANGMAP},
    {.name = "agreements", .type = PF_ARRAY, .flags = PF_EXTERNAL, .items = &agreement},
    {.name = "public", .type = PF_BOOL},
    {.name = "ids", .type = PF_ARRAY, .items = &id},
    {.name = "end_reason", .type = PF_TEXT},
    {.name = "count", .type = PF_INT},
    {.name = "website", .type = PF_URL},
    {.name = "linked", .type = PF_OBJECT, .flags = PF_READONLY, .fields = partner_fields},
    {.name = NULL},
};

static struct pool pool;
static struct portal_req *r;

static void
fresh(void)
{
	pool_reset(&pool);
	r = pool_alloc(&pool, sizeof(*r));
	r->pool = &pool;
}

/* form_doc of `body` (urlencoded, parsed by form_parse) as JSON text. */
static const char *
doc(const char *body)
{
	fresh();
	struct form f;
	const char *detail;
	if (form_parse(&pool, body, strlen(body), &f, &detail) != 0)
		return detail;
	return json_object_to_json_string_ext(form_doc(r, fields, &f), JSON_C_TO_STRING_PLAIN);
}

static const char *
errors(void)
{
	return r->errors ? json_object_to_json_string_ext(r->errors, JSON_C_TO_STRING_PLAIN) : "";
}

static void
test_scalars(void)
{
	T_STR(doc("kind=twin_town&partner.name=Chi%C8%99in%C4%83u&partner.country=+MD+"),
	      "{\"partner\":{\"name\":\"Chișinău\",\"country\":\"MD\"},\"kind\":\"twin_town\"}",
	      "scalar members, nested, in the declared order; a country trimmed");
	T_STR(errors(), "", "no errors");
	T_STR(doc("kind=&partner.name=&partner.country="), "{\"partner\":{}}",
	      "empty inputs left out; a required object with none is {} (its members are then "
	      "named as required)");
	T_STR(doc("partner.name=+B%C3%B6rl%C3%A4nge+"), "{\"partner\":{\"name\":\" Börlänge \"}}",
	      "a PF_STRING is not trimmed");
	T_STR(doc("end_reason=one%0D%0Atwo%0D%0A"), "{\"end_reason\":\"one\\ntwo\\n\"}",
	      "PF_TEXT: CR LF made LF, not trimmed");
	T_STR(doc("website=+https%3A%2F%2Fx.se%2F+"), "{\"website\":\"https:\\/\\/x.se\\/\"}",
	      "PF_URL trimmed");
	T_STR(doc("kind=+twin_town"), "{\"kind\":\" twin_town\"}", "PF_ENUM kept as typed");

	T_STR(doc("public=true"), "{\"public\":true}", "PF_BOOL true");
	T_STR(doc("public=false"), "{\"public\":false}", "PF_BOOL false");
	T_STR(doc("public="), "{}", "PF_BOOL empty: absent");
	T_STR(doc("public=yes"), "{\"public\":\"yes\"}", "PF_BOOL other: the string, for the validator");

	T_STR(doc("count=+42+"), "{\"count\":42}", "PF_INT trimmed, a number");
	T_STR(doc("count=-7"), "{\"count\":-7}", "PF_INT negative");
	T_STR(doc("count="), "{}", "PF_INT empty: absent");
	T_STR(doc("count=4.5"), "{\"count\":\"4.5\"}", "PF_INT with a fraction: the string");
	T_STR(doc("count=1e3"), "{\"count\":\"1e3\"}", "PF_INT 1e3: the string");
	T_STR(doc("count=12abc"), "{\"count\":\"12abc\"}", "PF_INT 12abc: the string");
	T_STR(doc("count=99999999999999999999"), "{\"count\":\"99999999999999999999\"}",
	      "PF_INT out of range: the string");
	T_STR(doc("partner.lat=59,3&partner.lon=15.25"),
	      "{\"partner\":{\"lat\":59.3,\"lon\":15.25}}", "PF_NUMBER with a decimal comma or point");
	T_STR(doc("partner.lat=059,30&partner.lon=-0,5"),
	      "{\"partner\":{\"lat\":59.299999999999997,\"lon\":-0.5}}",
	      "PF_NUMBER with a leading zero: a number, shown as JSON's");
	T_STR(doc("partner.lat=60"), "{\"partner\":{\"lat\":60}}", "PF_NUMBER integral: an int");
	T_STR(doc("partner.lat=-0.5"), "{\"partner\":{\"lat\":-0.5}}", "PF_NUMBER negative");
	T_STR(doc("partner.lat=59%2C"), "{\"partner\":{\"lat\":\"59,\"}}",
	      "PF_NUMBER \"59,\": the string");
	T_STR(doc("partner.lat=.5"), "{\"partner\":{\"lat\":\".5\"}}", "PF_NUMBER \".5\": the string");
	T_STR(doc("partner.lat=1.2.3"), "{\"partner\":{\"lat\":\"1.2.3\"}}",
	      "PF_NUMBER \"1.2.3\": the string");
	T_STR(doc("partner.lat=+"), "{\"partner\":{}}", "PF_NUMBER blank: absent");
}

static void
test_dates(void)
{
	T_STR(doc("start_date.year=1992&start_date.month=5&start_date.day=3"),
	      "{\"start_date\":\"1992-05-03\"}", "a date of three inputs, padded");
	T_STR(doc("start_date.year=+1992+&start_date.month=11&start_date.day="),
	      "{\"start_date\":\"1992-11\"}", "year and month, trimmed");
	T_STR(doc("start_date.year=1992&start_date.month=&start_date.day="),
	      "{\"start_date\":\"1992\"}", "year only");
	T_STR(doc("start_date.year=&start_date.month=&start_date.day="), "{}", "all empty: absent");
	T_STR(errors(), "", "... and no error");
	T_STR(doc("start_date.year=1992&start_date.day=3"), "{}", "a day without a month: absent");
	T_OK(strstr(errors(), "\"field\":\"start_date\"") && strstr(errors(), "month"),
	     "... and an error on start_date (%s)", errors());
	T_STR(doc("start_date.month=5"), "{}", "a month without a year: absent");
	T_OK(strstr(errors(), "\"field\":\"start_date\"") && strstr(errors(), "year"),
	     "... and an error on start_date (%s)", errors());
	T_STR(doc("start_date.day=5"), "{}", "a day alone: absent");
	T_OK(strstr(errors(), "year and month"), "... and the error says year and month (%s)",
	     errors());
	T_STR(doc("start_date.year=2024&start_date.month=ab"), "{\"start_date\":\"2024-ab\"}",
	      "non-digits assembled as typed (the validator says it is no date)");
	T_STR(doc("start_date.year=24&start_date.month=1&start_date.day=2"),
	      "{\"start_date\":\"24-01-02\"}", "a short year kept as typed");
	T_STR(doc("start_date=+1992-05+"), "{\"start_date\":\"1992-05\"}", "one input: the whole date");
	T_STR(doc("start_date="), "{}", "one input empty: absent");
	T_STR(doc("start_date=2001&start_date.year=1992&start_date.month="),
	      "{\"start_date\":\"1992\"}", "parts and the one input: the parts");
	T_STR(doc("start_date=2001&start_date.year=&start_date.month="),
	      "{\"start_date\":\"2001\"}", "empty parts and the one input: the one input");
	T_STR(doc("agreements[0].date.year=2001&agreements[0].date.month=2&agreements[0].kind=x"),
	      "{\"agreements\":[{\"date\":\"2001-02\",\"kind\":\"x\"}]}", "a date in an array");
	T_STR(doc("agreements[4].date.day=2&agreements[4].kind=x"),
	      "{\"agreements\":[{\"kind\":\"x\"}]}", "a bad date in an array: left out");
	T_OK(strstr(errors(), "\"field\":\"agreements[0].date\""),
	     "... its error on the compacted path (%s)", errors());
}

static void
test_maps_arrays(void)
{
	T_STR(doc("description.sv=Hej&description.en=&description.da=Hej%0D%0Ahej"),
	      "{\"description\":{\"da\":\"Hej\\nhej\",\"sv\":\"Hej\"}}",
	      "PF_LANGMAP: one input a language, empty ones left out, CR LF made LF");
	T_STR(doc("description.sv=&description.en="), "{}", "an empty map left out");

	T_STR(doc("areas[0]=culture&areas[2]=youth&areas[7]=climate"),
	      "{\"areas\":[\"culture\",\"youth\",\"climate\"]}", "an array of scalars, gaps compacted");
	T_STR(doc("areas[10]=c&areas[9]=b&areas[2]=a"), "{\"areas\":[\"a\",\"b\",\"c\"]}",
	      "in index order, not the body's (10 after 9)");
	T_STR(doc("areas[0]=&areas[1]=youth&areas[2]="), "{\"areas\":[\"youth\"]}",
	      "empty values dropped");
	T_STR(doc("areas[0]=&areas[1]="), "{}", "an empty array left out");
	T_STR(doc("ids[2]=14&ids[0]=3&ids[5]=x"), "{\"ids\":[3,14,\"x\"]}",
	      "an array of ints: ints (a string for the validator to name)");

	T_STR(doc("agreements[3].kind=letter_of_intent&agreements[3].signatories[1]=B&"
	          "agreements[3].signatories[0]=A&agreements[1].kind=twinning_agreement"),
	      "{\"agreements\":[{\"kind\":\"twinning_agreement\"},{\"kind\":\"letter_of_intent\","
	      "\"signatories\":[\"A\",\"B\"]}]}",
	      "an array of objects, with an array in it, in index order");
	T_STR(doc("agreements[0].kind=&agreements[0].date.year=&agreements[1].kind=x"),
	      "{\"agreements\":[{},{\"kind\":\"x\"}]}", "an element with every member empty is kept");
	T_STR(doc("partner.lat=&partner.lon="), "{\"partner\":{}}",
	      "a required object with no member present is {}");
}

static void
test_names(void)
{
	T_STR(doc("_action=save&_add=agreements&csrf=t0k&version=3&kind=friendship"),
	      "{\"kind\":\"friendship\"}", "'_...', csrf and version skipped");
	T_STR(errors(), "", "... without errors");
	struct {
		const char *body, *field;
	} bad[] = {
	    {"colour=red", "colour"},
	    {"kind[0]=x", "kind[0]"},
	    {"kind.x=1", "kind.x"},
	    {"partner.name.first=x", "partner.name.first"},
	    {"partner=x", "partner"},
	    {"partner[0].name=x", "partner[0].name"},
	    {"areas=culture", "areas"},
	    {"areas.x=culture", "areas.x"},
	    {"areas[99999999]=culture", "areas[99999999]"},
	    {"areas[10000]=culture", "areas[10000]"},
	    {"agreements[0]=x", "agreements[0]"},
	    {"agreements[0].colour=x", "agreements[0].colour"},
	    {"start_date.week=3", "start_date.week"},
	    {"start_date.year.x=3", "start_date.year.x"},
	    {"description=x", "description"},
	    {"description.sv.x=x", "description.sv.x"},
	    {"description.sv[0]=x", "description.sv[0]"},
	    {"public[0]=true", "public[0]"},
	    {"linked.name=x", "linked.name"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char body[200], want[200];
		snprintf(body, sizeof(body), "kind=twin_town&%s", bad[i].body);
		snprintf(want, sizeof(want), "[{\"field\":\"%s\",\"message\":\"is not a field of this form\"}]",
		         bad[i].field);
		T_STR(doc(body), "{\"kind\":\"twin_town\"}", "%s: ignored", bad[i].body);
		T_STR(errors(), want, "... and a field error on %s", bad[i].field);
	}
	T_STR(doc("areas[9999]=youth"), "{\"areas\":[\"youth\"]}", "index 9999 is the last accepted");
	T_STR(doc("agreements[0].kind=x"), "{\"agreements\":[{\"kind\":\"x\"}]}",
	      "a PF_EXTERNAL member is read");

	/* a form made by hand (not by form_parse): names that are not paths */
	fresh();
	struct form_pair pairs[] = {{"kind", "friendship"}, {"partner.na\x01me", "x"},
	                            {"bad name", "x"}, {"kind", "twin_town"}};
	struct form f = {.pairs = pairs, .n = 4};
	struct json_object *o = form_doc(r, fields, &f);
	T_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), "{\"kind\":\"friendship\"}",
	      "a hand-made form: the first of a name twice counts");
	T_OK(strstr(errors(), "\"field\":\"partner\"") && strstr(errors(), "\"field\":\"form\""),
	     "not printable names: the error on the parent path, or \"form\" (%s)", errors());
	struct form empty = {0};
	T_STR(json_object_to_json_string(form_doc(r, fields, &empty)), "{ }", "an empty form: {}");
}

/* form_doc(form_values(doc)) == doc */
static void
round_trip(const char *json, const char *what)
{
	fresh();
	struct json_object *d = pool_keep_json(&pool, json_tokener_parse(json));
	struct json_object *vals = form_values(r, fields, d);
	struct form f = {.pairs = pool_alloc(&pool, (size_t)json_object_object_length(vals) *
	                                                sizeof(struct form_pair) + 1)};
	json_object_object_foreach(vals, k, v) {
		f.pairs[f.n].name = k;
		f.pairs[f.n].value = (char *)json_object_get_string(v);
		f.n++;
	}
	struct json_object *back = form_doc(r, fields, &f);
	int eq = json_object_equal(d, back);
	T_OK(eq && r->errors == NULL, "round trip: %s", what);
	if (!eq)
		printf("#   values %s\n#   back   %s\n", json_object_to_json_string(vals),
		       json_object_to_json_string(back));
}

static void
test_values(void)
{
	fresh();
	struct json_object *d = pool_keep_json(
	    &pool, json_tokener_parse("{\"start_date\":\"1992-05-03\",\"public\":false,"
	                              "\"partner\":{\"name\":\"X\",\"lat\":59.3,\"lon\":15},"
	                              "\"areas\":[\"culture\",\"youth\"],\"description\":{\"sv\":\"Hej\"},"
	                              "\"linked\":{\"name\":\"Y\"},\"unknown\":1,\"kind\":null}"));
	struct json_object *v = form_values(r, fields, d);
	T_STR(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
	      "{\"partner.name\":\"X\",\"partner.lat\":\"59.3\",\"partner.lon\":\"15\","
	      "\"start_date.year\":\"1992\",\"start_date.month\":\"05\",\"start_date.day\":\"03\","
	      "\"areas[0]\":\"culture\",\"areas[1]\":\"youth\",\"description.sv\":\"Hej\","
	      "\"public\":\"false\"}",
	      "form_values: flat, dates split, numbers and booleans as text; read-only, unknown and "
	      "null members left out");
	round_trip("{\"kind\":\"twin_town\"}", "one member");
	round_trip("{}", "an empty document");
	round_trip("{\"partner\":{\"name\":\"Chișinău\",\"country\":\"MD\",\"lat\":47.0105,"
	           "\"lon\":28.8638},\"kind\":\"twin_town\",\"start_date\":\"1992\","
	           "\"areas\":[\"culture\",\"youth\",\"climate\"],"
	           "\"description\":{\"sv\":\"Vänort sedan 1992.\\nNy rad.\",\"en\":\"Twin town\"},"
	           "\"agreements\":[{\"date\":\"1992-05-03\",\"kind\":\"twinning_agreement\","
	           "\"signatories\":[\"A\",\"B\"]},{\"kind\":\"letter_of_intent\"},"
	           "{\"date\":\"2001-02\",\"kind\":\"letter_of_intent\"}],"
	           "\"public\":true,\"ids\":[3,14,15],\"end_reason\":\"a\\nb\",\"count\":-12,"
	           "\"website\":\"https://x.se/\"}",
	           "every kind of field");
	round_trip("{\"partner\":{\"lat\":0.1,\"lon\":-179.99999999}}", "numbers in shortest form");
	round_trip("{\"partner\":{\"lat\":1e-07}}", "a tiny number");
	fresh();
	d = pool_keep_json(&pool, json_tokener_parse("{\"partner\":{\"lat\":1e-07,\"lon\":0.1}}"));
	T_STR(json_object_to_json_string_ext(form_values(r, fields, d), JSON_C_TO_STRING_PLAIN),
	      "{\"partner.lat\":\"0.0000001\",\"partner.lon\":\"0.1\"}",
	      "numbers without an exponent, shortest");
	fresh();
	d = pool_keep_json(&pool, json_tokener_parse("{\"agreements\":[{},{\"kind\":\"x\"}]}"));
	T_STR(json_object_to_json_string_ext(form_values(r, fields, d), JSON_C_TO_STRING_PLAIN),
	      "{\"agreements[0].date.year\":\"\",\"agreements[1].kind\":\"x\"}",
	      "an empty element of an array of objects: one empty input, so it is kept");
	round_trip("{\"agreements\":[{}]}", "an agreement with nothing in it");
	round_trip("{\"public\":false,\"start_date\":\"2024-02-29\"}", "false and a full date");
}

static void
sink_error(void *ctx, const char *field, const char *msg)
{
	out_field_error(ctx, field, msg);
}

/* A form through form_doc and the schema checker, as the editor will: the
 * messages name the inputs' paths. */
static void
test_validated(void)
{
	struct form f;
	const char *detail;
	const char *body = "partner.name=X&kind=twin_town&start_date.year=2024&start_date.month=13&"
	                   "count=4.5&public=yes&ids[3]=x&partner.lat=91&agreements[2].date.year=2001";
	fresh();
	form_parse(&pool, body, strlen(body), &f, &detail);
	struct json_object *d = form_doc(r, fields, &f);
	struct valid_sink sink = {r, sink_error};
	valid_doc(fields, d, "", &sink);
	T_STR(errors(),
	      "[{\"field\":\"partner.lat\",\"message\":\"must be a number from -90 to 90\"},"
	      "{\"field\":\"start_date\",\"message\":\"must be a real date as YYYY, YYYY-MM or YYYY-MM-DD\"},"
	      "{\"field\":\"agreements[0].kind\",\"message\":\"is required\"},"
	      "{\"field\":\"public\",\"message\":\"must be true or false, not a string\"},"
	      "{\"field\":\"ids[0]\",\"message\":\"must be an integer, not a string\"},"
	      "{\"field\":\"count\",\"message\":\"must be an integer, not a string\"}]",
	      "the schema checker names the inputs of a form_doc document");
}

int
main(void)
{
	pool_init(&pool);
	test_scalars();
	test_dates();
	test_maps_arrays();
	test_names();
	test_values();
	test_validated();
	pool_destroy(&pool);
	return T_DONE();
}
