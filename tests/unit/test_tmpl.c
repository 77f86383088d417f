/* The template engine: escaping per output format, sections, filters,
 * partials, and syntax errors named with template and line. */
#include <stdlib.h>

#include "core.h"
#include "t.h"

static struct pool pool;
static struct tmpl *partial_t;

static const struct tmpl *
partial(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "p") == 0 ? partial_t : NULL;
}

static const char *
render(const char *name, const char *text, const char *json, const char *lang)
{
	char err[256];
	struct tmpl *t = tmpl_compile(name, text, err, sizeof(err));
	if (t == NULL)
		return pool_strdup(&pool, err);
	struct json_object *data = json_tokener_parse(json);
	struct json_object *msgs = json_tokener_parse("{\"month_10\":\"oktober\",\"month_09\":\"september\"}");
	struct json_object *labels = json_tokener_parse("{\"twin_town\":\"V\u00e4nort\"}");
	struct tmpl_env env = {lang, "sv", msgs, labels, NULL, partial, NULL};
	struct buf b;
	buf_init(&b, &pool);
	int rc = tmpl_render(t, data, &env, &b);
	json_object_put(data);
	json_object_put(msgs);
	json_object_put(labels);
	tmpl_free(t);
	if (rc != PORTAL_OK)
		return "(render failed)";
	return b.data ? b.data : "";
}

int
main(void)
{
	pool_init(&pool);
	char err[256];
	partial_t = tmpl_compile("p.html", "<i>{{name}}</i>", err, sizeof(err));

	T_STR(render("a.html", "<p>{{name}}</p>", "{\"name\":\"<script>alert('x')</script> & \\\"q\\\"\"}", "sv"),
	      "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</p>",
	      "HTML: escaped by default");
	T_STR(render("a.html", "{{{html}}}|{{&html}}", "{\"html\":\"<b>ok</b>\"}", "sv"),
	      "<b>ok</b>|<b>ok</b>", "HTML: raw only when asked");
	T_STR(render("a.html", "{{#items}}[{{name}}]{{/items}}{{^items}}none{{/items}}",
	             "{\"items\":[{\"name\":\"Larvik\"},{\"name\":\"Chi\xc8\x99in\xc4\x83u\"}]}", "sv"),
	      "[Larvik][Chi\xc8\x99in\xc4\x83u]", "sections iterate arrays");
	T_STR(render("a.html", "{{#items}}x{{/items}}{{^items}}none{{/items}}", "{\"items\":[]}", "sv"),
	      "none", "inverted section for an empty array");
	T_STR(render("a.html", "{{#partner}}{{name}} ({{country}}){{/partner}}",
	             "{\"partner\":{\"name\":\"Nibe\",\"country\":\"DK\"}}", "sv"),
	      "Nibe (DK)", "an object section becomes the context");
	T_STR(render("a.html", "{{#items}}{{name}}/{{muni}};{{/items}}",
	             "{\"muni\":\"lerum\",\"items\":[{\"name\":\"a\"},{\"name\":\"b\"}]}", "sv"),
	      "a/lerum;b/lerum;", "names resolve outwards through the context stack");
	T_STR(render("a.html", "{{partner.name}}|{{missing.x}}|{{n}}|{{f}}|{{b}}|{{nul}}",
	             "{\"partner\":{\"name\":\"Ukmerg\xc4\x97\"},\"n\":12,\"f\":47.5,\"b\":true,\"nul\":null}", "sv"),
	      "Ukmerg\xc4\x97||12|47.5|true|", "dotted paths, numbers, booleans, null and missing");
	T_STR(render("a.html", "{{description|lang}}", "{\"description\":{\"sv\":\"V\xc3\xa4nort\",\"en\":\"Twin town\"}}", "en"),
	      "Twin town", "lang filter picks the request's language");
	T_STR(render("a.html", "{{description|lang}}", "{\"description\":{\"sv\":\"V\xc3\xa4nort\",\"en\":\"Twin town\"}}", "da"),
	      "V\xc3\xa4nort", "lang filter falls back");
	T_STR(render("a.html", "<p lang=\"{{d|langcode}}\">{{d|lang}}</p>", "{\"d\":{\"sv\":\"Hej\"}}", "en"),
	      "<p lang=\"sv\">Hej</p>", "langcode names the language the text is in");
	T_STR(render("a.html", "{{d1|date}}, {{d2|date}}, {{d3|date}}, {{ts|date}}",
	             "{\"d1\":\"2004-10\",\"d2\":\"1998\",\"d3\":\"1999-09-05\",\"ts\":\"2026-10-23T10:00:00Z\"}", "sv"),
	      "oktober 2004, 1998, 5 september 1999, 23 oktober 2026", "date filter with month names");
	T_STR(render("a.html", "{{#items.0}}has {{items|count}}{{/items.0}}{{^e.0}}, e empty{{/e.0}}",
	             "{\"items\":[1,2],\"e\":[]}", "sv"),
	      "has 2, e empty", "items.0 tests for items without a loop");
	T_STR(render("a.csv", "{{a|join}}\n", "{\"a\":[\"culture\",\"=x\",3]}", "sv"), "\"culture; =x\"\r\n",
	      "join filter makes one CSV field");
	T_STR(render("a.ics", "{{#items}}{{#status=cancelled}}STATUS:CANCELLED{{/status=cancelled}}{{^status=cancelled}}STATUS:CONFIRMED{{/status=cancelled}};{{/items}}",
	             "{\"items\":[{\"status\":\"cancelled\"},{\"status\":\"planned\"},{}]}", "sv"),
	      "STATUS:CANCELLED;STATUS:CONFIRMED;STATUS:CONFIRMED;", "value tests: {{#status=cancelled}}");
	T_OK(strstr(render("bad.html", "{{#=x}}{{/=x}}", "{}", "sv"), "bad test") != NULL, "a test without a name is refused");
	T_STR(render("a.html", "{{items|count}}", "{\"items\":[1,2,3]}", "sv"), "3", "count filter");
	/* names from Debian's iso-codes, compiled in (tools/iso-names.py) */
	T_STR(render("a.html", "{{c|country}}", "{\"c\":\"LV\"}", "sv"), "Lettland", "country filter: sv");
	T_STR(render("a.html", "{{c|country}}", "{\"c\":\"LV\"}", "da"), "Letland", "country filter: da");
	T_STR(render("a.html", "{{c|country}}", "{\"c\":\"LV\"}", "en"), "Latvia", "country filter: en");
	T_STR(render("a.html", "{{c|country}}", "{\"c\":\"MD\"}", "en"), "Moldova",
	      "country filter: the common name, not \"Moldova, Republic of\"");
	T_STR(render("a.html", "{{c|country}}", "{\"c\":\"LV\"}", "xx"), "Latvia",
	      "country filter: English for a language without names");
	T_STR(render("a.html", "{{c|country}}", "{\"c\":\"XK\"}", "sv"), "XK",
	      "country filter: an unknown code stays");
	T_STR(render("a.html", "{{c|country}}", "{\"c\":[\"DK\",\"NO\"]}", "sv-SE"), "Danmark, Norge",
	      "country filter: an array of codes; a page language with a region");
	T_STR(render("a.html", "{{l|language}}", "{\"l\":\"da\"}", "en"), "Danish", "language filter: en");
	T_STR(render("a.html", "{{l|language}}", "{\"l\":\"fi\"}", "da"), "finsk", "language filter: da");
	T_STR(render("a.html", "{{l|language}}", "{\"l\":\"ro-MD\"}", "en"), "Romanian (Moldova)",
	      "language filter: a tag with a region names the country too");
	T_STR(render("a.html", "{{l|language}}", "{\"l\":\"x-klingon\"}", "en"), "x-klingon",
	      "language filter: an unknown tag stays");
	T_STR(render("a.html", "<script type=\"application/ld+json\">{{data|json}}</script>",
	             "{\"data\":{\"name\":\"</script><script>alert(1)</script>\"}}", "sv"),
	      "<script type=\"application/ld+json\">{\"name\":\"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\"}</script>",
	      "json filter cannot close a script element");
	T_STR(render("a.json", "{\"name\":\"{{name}}\"}", "{\"name\":\"a\\\"b\\\\c\\n</script>\"}", "sv"),
	      "{\"name\":\"a\\\"b\\\\c\\n\\u003c/script\\u003e\"}", "JSON mode escapes for a JSON string");
	T_STR(render("a.atom", "<title>{{t}}</title>", "{\"t\":\"R&D <b>\\u0001\"}", "sv"),
	      "<title>R&amp;D &lt;b&gt;</title>", "XML mode, control characters dropped");
	T_STR(render("a.csv", "{{a}},{{b}},{{c}},{{n}}\n",
	             "{\"a\":\"x, \\\"y\\\"\",\"b\":\"=HYPERLINK(1)\",\"c\":\"-2+3\",\"n\":-5}", "sv"),
	      "\"x, \"\"y\"\"\",\"'=HYPERLINK(1)\",\"'-2+3\",\"-5\"\r\n", "CSV: quoted, formulas neutralised");
	T_STR(render("a.csv", "\"h\"{{#items}}\n{{.}}{{/items}}\r\n", "{\"items\":[\"a\nb\",\"c\"]}", "sv"),
	      "\"h\"\r\n\"a\nb\"\r\n\"c\"\r\n",
	      "CSV: the template's line ends are CRLF (RFC 4180), a value's own newline stays quoted");
	T_STR(render("a.ics", "SUMMARY:{{s}}\nDTSTART;VALUE=DATE:{{d|ics_date}}\n",
	             "{\"s\":\"Bes\xc3\xb6k; m\xc3\xb6te, dag 1\\nrad 2\",\"d\":\"2019-09\"}", "sv"),
	      "SUMMARY:Bes\xc3\xb6k\\; m\xc3\xb6te\\, dag 1\\nrad 2\nDTSTART;VALUE=DATE:20190901\n",
	      "iCalendar TEXT escaping and dates");
	T_STR(render("list.vcf", "FN:{{n}}\nTITLE:{{t}}\n",
	             "{\"n\":\"\u00c5sa \\\\ \u00d6berg\",\"t\":\"samordnare, EU; Norden\\nrad 2\"}", "sv"),
	      "FN:\xc3\x85sa \\\\ \xc3\x96" "berg\nTITLE:samordnare\\, EU\\; Norden\\nrad 2\n",
	      "vCard values escaped as RFC 6350 3.4 wants (as iCalendar TEXT)");
	/* DTEND of an all-day event is the day after its last day (RFC 5545
	 * 3.6.1), across months, years and 29 February */
	T_STR(render("a.ics", "{{a|ics_end}} {{b|ics_end}} {{c|ics_end}} {{d|ics_end}} {{e|ics_end}}",
	             "{\"a\":\"2026-09-13\",\"b\":\"2026-09-30\",\"c\":\"2026-12-31\",\"d\":\"2024-02-28\","
	             "\"e\":\"2023-02-28\"}", "sv"),
	      "20260914 20261001 20270101 20240229 20230301", "ics_end: the next day");
	T_STR(render("a.ics", "{{a|ics_end}} {{b|ics_end}} {{c|ics_end}} [{{d|ics_end}}] [{{e|ics_end}}]",
	             "{\"a\":\"2004-10\",\"b\":\"2004-12\",\"c\":\"1998\",\"d\":\"soon\",\"e\":null}", "sv"),
	      "20041101 20050101 19990101 [] []", "ics_end: after a partial date's month or year; nothing without a date");
	/* schema.org's Date properties want a full date: a partial one as the
	 * first or last day of its period (issue 20, point 10) */
	T_STR(render("a.jsonld", "{{a|first_day}} {{b|first_day}} {{c|first_day}} {{d|first_day}} [{{e|first_day}}]",
	             "{\"a\":\"2004-10\",\"b\":\"1998\",\"c\":\"2026-09-13\",\"d\":\"2026-11-23T10:00:00Z\",\"e\":\"soon\"}", "sv"),
	      "2004-10-01 1998-01-01 2026-09-13 2026-11-23T10:00:00Z []", "first_day: a partial date's first day");
	T_STR(render("a.jsonld", "{{a|last_day}} {{b|last_day}} {{c|last_day}} {{d|last_day}} {{e|last_day}} [{{f|last_day}}]",
	             "{\"a\":\"2004-10\",\"b\":\"1998\",\"c\":\"2024-02\",\"d\":\"2023-02\",\"e\":\"2026-09-13\",\"f\":null}", "sv"),
	      "2004-10-31 1998-12-31 2024-02-29 2023-02-28 2026-09-13 []", "last_day: a partial date's last day");
	T_STR(render("a.jsonld", "[{{#a}}{{^-first}}, {{/-first}}{\"n\": \"{{name}}\"}{{/a}}]",
	             "{\"a\":[{\"name\":\"EU\",\"kind\":\"eu\"},{\"name\":\"Sida\"},{\"name\":\"ICLD\"}]}", "sv"),
	      "[{\"n\": \"EU\"}, {\"n\": \"Sida\"}, {\"n\": \"ICLD\"}]", "-first: separators between an array's items");
	T_STR(render("a.html", "{{#a}}{{#-first}}1{{/-first}}{{^-first}}+{{/-first}}{{#b}}({{#-first}}f{{/-first}}{{.}}){{/b}}{{/a}}",
	             "{\"a\":[{\"b\":[\"x\",\"y\"]},{\"b\":[\"z\"]}]}", "sv"),
	      "1(fx)(y)+(fz)", "-first: the innermost array's item");
	T_STR(render("a.html", "{{#d}}has{{/d}}{{^d}}none{{/d}}|{{#e}}has{{/e}}", "{\"d\":{},\"e\":{\"sv\":\"x\"}}", "sv"),
	      "none|has", "an empty object is false in a section (no empty description)");
	T_STR(render("a.html", "<b>{{> p}}</b>", "{\"name\":\"<x>\"}", "sv"), "<b><i>&lt;x&gt;</i></b>",
	      "partials render with the same data, escaped");
	T_STR(render("a.html", "a{{! a comment }}b", "{}", "sv"), "ab", "comments");
	T_STR(render("a.html", "{{> nope}}", "{}", "sv"), "(render failed)", "a missing partial fails the render");

	T_STR(render("a.html", "{{k|label}}/{{o|label}}", "{\"k\":\"twin_town\",\"o\":\"other\"}", "sv"),
	      "V\xc3\xa4nort/other", "label filter: the catalogue's word, else the code");
	T_OK(strstr(render("bad.html", "x\n{{#a}}\ny", "{}", "sv"), "bad.html:3: {{#a}} is not closed") != NULL,
	     "unclosed section named with its line");
	T_OK(strstr(render("bad.html", "{{#a}}{{/b}}", "{}", "sv"), "bad.html:1: {{/b}} closes {{#a}}") != NULL,
	     "mismatched close named");
	T_OK(strstr(render("bad.html", "\n\n{{name|upper}}", "{}", "sv"), "bad.html:3: unknown or misplaced filter") != NULL,
	     "unknown filter named");
	T_OK(strstr(render("bad.html", "{{a b}}", "{}", "sv"), "bad name") != NULL, "bad name refused");
	T_OK(strstr(render("bad.html", "{{x", "{}", "sv"), "is not closed") != NULL, "unclosed tag refused");
	T_OK(tmpl_mode_of("x.geojson") == TMPL_JSON && tmpl_mode_of("x.ics") == TMPL_ICS &&
	         tmpl_mode_of("x.vcf") == TMPL_ICS && tmpl_mode_of("x.atom") == TMPL_XML && tmpl_mode_of("x.csv") == TMPL_CSV,
	     "mode from the extension");
	tmpl_free(partial_t);
	pool_destroy(&pool);
	return T_DONE();
}
