/* form.c: urlencoded bodies, their limits and the messages that name
 * what a refused body got wrong. */
#include <stdlib.h>
#include <time.h>

#include "core.h"
#include "t.h"
#include "fake_io.h"

static struct pool pool;

static int
parse(const char *body, struct form *f, const char **detail)
{
	*detail = "";
	return form_parse(&pool, body, strlen(body), f, detail);
}

/* A body of n pairs "f0=v&f1=v&..." (names distinct, or all "dup" when
 * `same`), malloc'd. */
static char *
many(size_t n, int same)
{
	char *b = malloc(n * 16 + 1), *w = b;
	for (size_t i = 0; i < n; i++)
		w += same && i == n - 1 ? sprintf(w, "%sf0=v", i ? "&" : "")
		                        : sprintf(w, "%sf%zu=v", i ? "&" : "", i);
	*w = '\0';
	return b;
}

static void
test_pairs(void)
{
	struct form f;
	const char *d;
	T_OK(parse("kind=twin_town&partner.name=Chi%C8%99in%C4%83u&partner.country=MD", &f, &d) == 0 &&
	         f.n == 3,
	     "plain pairs");
	T_STR(form_get(&f, "kind"), "twin_town", "form_get");
	T_STR(form_get(&f, "partner.name"), "Chi\xc8\x99in\xc4\x83u", "%%XX decoded to UTF-8");
	T_OK(form_get(&f, "partner.region") == NULL, "absent name is NULL");
	T_STR(f.pairs[0].name, "kind", "pairs keep the body's order");
	T_STR(f.pairs[2].name, "partner.country", "... to the last");

	T_OK(parse("a=one+two%2Bthree&b=%26%3D", &f, &d) == 0, "'+' and escapes");
	T_STR(form_get(&f, "a"), "one two+three", "'+' is a space, %%2B a plus");
	T_STR(form_get(&f, "b"), "&=", "escaped '&' and '=' are data");
	T_OK(parse("a%5B0%5D=x", &f, &d) == 0 && form_get(&f, "a[0]") != NULL,
	     "an escaped name is decoded before it is checked");

	T_OK(parse("&&a=1&&&b=2&", &f, &d) == 0 && f.n == 2, "empty pieces skipped");
	T_OK(parse("", &f, &d) == 0 && f.n == 0, "an empty body is an empty form");
	T_OK(form_get(&f, "a") == NULL, "form_get on an empty form");
	T_OK(parse("flag&x=", &f, &d) == 0 && f.n == 2, "a name without '='");
	T_STR(form_get(&f, "flag"), "", "... has the empty value");
	T_STR(form_get(&f, "x"), "", "an empty value");
	T_OK(parse("a=b=c", &f, &d) == 0, "'=' in a value");
	T_STR(form_get(&f, "a"), "b=c", "... is kept after the first");
	T_OK(parse("end_reason=line+one%0D%0Aline%09two", &f, &d) == 0, "CR LF and TAB in a value");
	T_STR(form_get(&f, "end_reason"), "line one\r\nline\ttwo", "... kept (a textarea's lines)");
	T_OK(parse("_action=save&csrf=abc&description.ro-MD=x&a:b=1&agreements[10].signatories[0]=x",
	           &f, &d) == 0,
	     "names: '_', '-', ':', indices");

	struct form hand = {.pairs = (struct form_pair[]){{"a", "1"}, {"b", "2"}}, .n = 2};
	T_STR(form_get(&hand, "b"), "2", "form_get on a form made by hand (no index)");
}

static void
test_refused(void)
{
	struct form f;
	const char *d;
	T_OK(parse("a=%zz", &f, &d) == 400 && strstr(d, "field a") && strstr(d, "escape"),
	     "bad escape in a value: 400 naming it (%s)", d);
	T_OK(parse("a=%4", &f, &d) == 400, "truncated escape: 400");
	T_OK(parse("a%g0=1", &f, &d) == 400 && strstr(d, "name"), "bad escape in a name: 400 (%s)", d);
	T_OK(parse("a=%C3%28", &f, &d) == 400 && strstr(d, "UTF-8") && strstr(d, "field a"),
	     "invalid UTF-8 in a value: 400 (%s)", d);
	T_OK(parse("a=%ED%A0%80", &f, &d) == 400, "a surrogate: 400");
	T_OK(parse("a=%C0%AF", &f, &d) == 400, "overlong UTF-8: 400");
	T_OK(parse("a=\xff", &f, &d) == 400, "a raw invalid byte: 400");
	T_OK(parse("%C3%28=1", &f, &d) == 400 && strstr(d, "UTF-8"),
	     "invalid UTF-8 in a name: 400 (%s)", d);
	T_OK(parse("a=x%00y", &f, &d) == 400 && strstr(d, "NUL"), "NUL in a value: 400 (%s)", d);
	T_OK(parse("a%00b=1", &f, &d) == 400, "NUL in a name: 400 (it would cut the name)");
	T_OK(parse("a=%1B[31m", &f, &d) == 400 && strstr(d, "control"),
	     "ESC in a value: 400 (%s)", d);
	T_OK(parse("a=%7F", &f, &d) == 400, "DEL in a value: 400");
	T_OK(parse("a%0A=1", &f, &d) == 400, "LF in a name: 400");

	T_OK(parse("a=1&a=2", &f, &d) == 422 && strstr(d, "a occurs twice"),
	     "a name twice: 422 (%s)", d);
	T_OK(parse("b=1&a=1&c=1&a%5B0%5D=1&a=", &f, &d) == 422 && strstr(d, "the field a "),
	     "a name twice among others, one escaped: 422 (%s)", d);
	T_OK(parse("a%5B0%5D=1&a[0]=2", &f, &d) == 422, "the same name escaped and not: 422");
	T_OK(parse("a[1]=1&a[01]=2", &f, &d) == 422, "a leading zero in an index: 422");

	const char *notpaths[] = {"a.", ".a", "a..b", "a[", "a[]", "a[x]", "a]", "[0]", "a[0]b",
	                          "a b", "a/b", "<script>", "a[1234567890]", "é", NULL};
	for (const char **n = notpaths; *n; n++) {
		char body[64];
		snprintf(body, sizeof(body), "%s=1", *n);
		int st = parse(body, &f, &d);
		T_OK(st == 422 && strstr(d, "not a field path"), "\"%s\" is no field path: %d (%s)",
		     *n, st, d);
	}
	T_OK(parse("a[99999999]=1", &f, &d) == 0, "a[99999999] is a field path (form_doc refuses it)");
	T_OK(parse("a[999999999]=1", &f, &d) == 0, "nine digits of index pass");

	char name[FORM_MAX_NAME + 8];
	memset(name, 'n', sizeof(name));
	name[FORM_MAX_NAME + 1] = '\0';
	T_OK(parse(name, &f, &d) == 422 && strstr(d, "not a field path") && strstr(d, "…"),
	     "a name of %d bytes: 422, shown shortened", FORM_MAX_NAME + 1);
	name[FORM_MAX_NAME] = '\0';
	T_OK(parse(name, &f, &d) == 0, "a name of %d bytes passes", FORM_MAX_NAME);
	char *longname = malloc(100001);
	memset(longname, 'n', 100000);
	longname[100000] = '\0';
	T_OK(parse(longname, &f, &d) == 422, "a name of 100000 bytes: 422");
	free(longname);

	T_OK(parse("a.b.c.d.e.f.g.h=1", &f, &d) == 0, "depth %d passes", FORM_MAX_DEPTH);
	T_OK(parse("a.b.c.d.e.f.g.h.i=1", &f, &d) == 422 && strstr(d, "deeper than"),
	     "depth %d: 422 (%s)", FORM_MAX_DEPTH + 1, d);
	T_OK(parse("a[0][1][2][3][4][5][6][7]=1", &f, &d) == 422, "indices count as levels");
	T_OK(parse("a[0].b[1].c[2].d=1", &f, &d) == 0, "\"a[0].b[1].c[2].d\" is 7 levels");
}

static void
test_limits(void)
{
	struct form f;
	const char *d;
	size_t big = FORM_MAX_VALUE + 1;
	char *b = malloc(big + 3);
	memcpy(b, "a=", 2);
	memset(b + 2, 'x', big);
	b[big + 2] = '\0';
	T_OK(parse(b, &f, &d) == 413 && strstr(d, "field a is longer"),
	     "a value of %zu bytes: 413 (%s)", big, d);
	b[big + 1] = '\0';
	T_OK(parse(b, &f, &d) == 0 && strlen(form_get(&f, "a")) == FORM_MAX_VALUE,
	     "a value of %d bytes passes", FORM_MAX_VALUE);
	free(b);
	/* an escaped value counts decoded: 3 * max encoded bytes pass */
	b = malloc(3 * FORM_MAX_VALUE + 3);
	memcpy(b, "a=", 2);
	for (size_t i = 0; i < FORM_MAX_VALUE; i++)
		memcpy(b + 2 + 3 * i, "%41", 3);
	b[3 * FORM_MAX_VALUE + 2] = '\0';
	T_OK(parse(b, &f, &d) == 0 && strlen(form_get(&f, "a")) == FORM_MAX_VALUE,
	     "a value counts decoded bytes");
	free(b);

	b = malloc(FORM_MAX_BODY + 2);
	memset(b, 'x', FORM_MAX_BODY + 1);
	b[0] = 'a', b[1] = '=';
	T_OK(form_parse(&pool, b, FORM_MAX_BODY + 1, &f, &d) == 413 && strstr(d, "larger"),
	     "a body over %d bytes: 413 (%s)", FORM_MAX_BODY, d);
	memset(b, '&', FORM_MAX_BODY);
	T_OK(form_parse(&pool, b, FORM_MAX_BODY, &f, &d) == 0 && f.n == 0,
	     "a body of %d '&' is an empty form", FORM_MAX_BODY);
	free(b);

	b = many(10000, 0);
	T_OK(parse(b, &f, &d) == 422 && strstr(d, "10000 fields") && strstr(d, "at most 5000"),
	     "10,000 fields: 422 (%s)", d);
	free(b);
	b = many(FORM_MAX_FIELDS, 0);
	clock_t t0 = clock();
	int st = parse(b, &f, &d);
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	T_OK(st == 0 && f.n == FORM_MAX_FIELDS, "%d fields pass", FORM_MAX_FIELDS);
	T_STR(form_get(&f, "f4321"), "v", "form_get among %d", FORM_MAX_FIELDS);
	T_OK(form_get(&f, "f5000") == NULL, "... and an absent one");
	T_OK(secs < 0.5, "%d fields parse in %.3f s (no quadratic check)", FORM_MAX_FIELDS, secs);
	free(b);
	b = many(FORM_MAX_FIELDS, 1);
	T_OK(parse(b, &f, &d) == 422 && strstr(d, "f0 occurs twice"),
	     "a repeat as the last of %d fields: 422 (%s)", FORM_MAX_FIELDS, d);
	free(b);
}

static struct fake fk;
static struct req_io io = {&fk, fparam, fread_, fwrite_};

static int
read_form(const char *ct, const char *data, struct form *f, const char **detail)
{
	pool_reset(&pool);
	memset(&fk, 0, sizeof(fk));
	char len[32];
	snprintf(len, sizeof(len), "%zu", strlen(data));
	fk.params[0][0] = "REQUEST_METHOD", fk.params[0][1] = "POST";
	fk.params[1][0] = "REQUEST_URI", fk.params[1][1] = "/edit/borlange/partnerships/new";
	fk.params[2][0] = "QUERY_STRING", fk.params[2][1] = "";
	fk.params[3][0] = "CONTENT_TYPE", fk.params[3][1] = ct;
	fk.params[4][0] = "CONTENT_LENGTH", fk.params[4][1] = len;
	fk.body = data;
	fk.len = strlen(data);
	struct portal_req *r = pool_alloc(&pool, sizeof(*r));
	r->pool = &pool;
	r->io = &io;
	*detail = "";
	if (req_parse(r, detail) != 0)
		return -1;
	return req_read_form(r, f, detail);
}

static void
test_read(void)
{
	struct form f;
	const char *d;
	T_OK(read_form("application/x-www-form-urlencoded", "kind=twin_town", &f, &d) == 0 &&
	         f.n == 1,
	     "req_read_form reads the body");
	T_STR(form_get(&f, "kind"), "twin_town", "... and parses it");
	T_OK(read_form("application/x-www-form-urlencoded; charset=UTF-8", "a=1", &f, &d) == 0,
	     "a charset parameter");
	T_OK(read_form("Application/X-WWW-Form-Urlencoded", "a=1", &f, &d) == 0,
	     "the type case-insensitively");
	T_OK(read_form("application/json", "{}", &f, &d) == 415 && strstr(d, "Content-Type"),
	     "another type: 415 (%s)", d);
	T_OK(read_form("application/x-www-form-urlencodedx", "a=1", &f, &d) == 415,
	     "a longer type: 415");
	T_OK(read_form("application/x-www-form-urlencoded", "a=1&a=2", &f, &d) == 422,
	     "form_parse's answers pass through");
}

int
main(void)
{
	pool_init(&pool);
	test_pairs();
	test_refused();
	test_limits();
	test_read();
	pool_destroy(&pool);
	return T_DONE();
}
