/* Request parsing without FastCGI: path segments, query arguments, headers
 * and JSON bodies with their limits. */
#include <stdlib.h>

#include "core.h"
#include "t.h"
#include "fake_io.h"

static struct pool pool;
static struct fake fk;
static struct req_io io = {&fk, fparam, fread_, fwrite_};

static struct portal_req *
mkreq(const char *method, const char *uri, const char *qs)
{
	pool_reset(&pool);
	memset(&fk, 0, sizeof(fk));
	fk.params[0][0] = "REQUEST_METHOD", fk.params[0][1] = method;
	fk.params[1][0] = "REQUEST_URI", fk.params[1][1] = uri;
	fk.params[2][0] = "QUERY_STRING", fk.params[2][1] = qs;
	struct portal_req *r = pool_alloc(&pool, sizeof(*r));
	r->pool = &pool;
	r->io = &io;
	return r;
}

static int
parse(struct portal_req *r)
{
	const char *detail = NULL;
	return req_parse(r, &detail);
}

static int
body(const char *ct, const char *data, size_t len, long long max, const char **detail)
{
	struct portal_req *r = mkreq("POST", "/api/v1/x/y", "");
	fk.params[3][0] = "CONTENT_TYPE", fk.params[3][1] = ct;
	fk.body = data;
	fk.len = len;
	parse(r);
	*detail = "";
	int st = req_read_json(r, max, 4, detail);
	return st;
}

int
main(void)
{
	pool_init(&pool);
	struct portal_req *r = mkreq("GET", "/api/v1/borlange/partnerships?limit=5", "limit=5");
	T_OK(parse(r) == 0 && r->nseg == 4 && strcmp(r->seg[2], "borlange") == 0 &&
	         strcmp(r->seg[3], "partnerships") == 0,
	     "path split into segments");
	T_STR(req_query(r, "limit"), "5", "query argument");
	T_OK(req_query(r, "cursor") == NULL, "absent argument is NULL");

	r = mkreq("GET", "/api/v1/borlange/partnerships/", "q=Chi%C8%99in%C4%83u+x&country=MD&country=RO&flag");
	T_OK(parse(r) == 0 && r->nseg == 4, "one trailing slash ignored");
	T_STR(req_query(r, "q"), "Chi\xc8\x99in\xc4\x83u x", "percent-decoded UTF-8, '+' is a space");
	T_STR(req_query(r, "country"), "MD", "a repeated argument gives the first");
	T_STR(req_query(r, "flag"), "", "argument without value");

	r = mkreq("GET", "/a%2Fb", "");
	T_OK(parse(r) == 400, "encoded slash in a path segment refused");
	r = mkreq("GET", "/a", "q=%zz");
	T_OK(parse(r) == 400, "bad percent-encoding refused");
	r = mkreq("GET", "/a", "q=%00");
	T_OK(parse(r) == 400, "encoded NUL refused");
	r = mkreq("GET", "/a", "q=%C3%28");
	T_OK(parse(r) == 400 && r->errors && strstr(json_object_to_json_string(r->errors), "\"q\""),
	     "invalid UTF-8 refused, naming the argument");
	r = mkreq("GET", "/a", "q=%0d%0aSet-Cookie:x");
	T_OK(parse(r) == 400, "CR LF in an argument refused");
	char many[2000] = "";
	for (int i = 0; i < 70; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "a%d=1&", i);
	r = mkreq("GET", "/a", many);
	T_OK(parse(r) == 400, "more than %d arguments refused", REQ_MAX_ARGS);
	r = mkreq("BREW", "/a", "");
	T_OK(parse(r) == 501, "unknown method");
	char longuri[9000];
	memset(longuri, 'a', sizeof(longuri) - 1);
	longuri[0] = '/';
	longuri[sizeof(longuri) - 1] = '\0';
	r = mkreq("GET", longuri, "");
	T_OK(parse(r) == 414, "URI over 8 KiB: 414");

	r = mkreq("GET", "/a", "");
	fk.params[3][0] = "HTTP_IF_MATCH", fk.params[3][1] = "\"1-2\"";
	fk.params[4][0] = "CONTENT_TYPE", fk.params[4][1] = "application/json";
	T_STR(req_header(r, "If-Match"), "\"1-2\"", "header If-Match");
	T_STR(req_header(r, "content-type"), "application/json", "Content-Type from CONTENT_TYPE");

	const char *d;
	T_OK(body("application/json", "{\"a\":1}", 7, 100, &d) == 0, "JSON body parsed");
	T_OK(body("application/json; charset=utf-8", "{\"a\":1}", 7, 100, &d) == 0, "charset parameter accepted");
	T_OK(body("application/merge-patch+json", "{}", 2, 100, &d) == 0, "merge-patch+json accepted");
	T_OK(body("text/plain", "{}", 2, 100, &d) == 415, "text/plain: 415");
	T_OK(body(NULL, "{}", 2, 100, &d) == 415, "no Content-Type: 415");
	T_OK(body("application/jsonx", "{}", 2, 100, &d) == 415, "application/jsonx: 415");
	T_OK(body("application/json", "{\"a\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}", 37, 20, &d) == 413,
	     "body over the limit: 413");
	T_OK(body("application/json", "{\"a\":", 5, 100, &d) == 400 && strstr(d, "too early"),
	     "truncated JSON: 400 (%s)", d);
	T_OK(body("application/json", "{'a':1}", 7, 100, &d) == 400, "single quotes: 400 (%s)", d);
	T_OK(body("application/json", "{\"a\":1} x", 9, 100, &d) == 400, "trailing data: 400 (%s)", d);
	T_OK(body("application/json", "{\"a\":[[[[[1]]]]]}", 17, 100, &d) == 400 && strstr(d, "nested"),
	     "nesting deeper than the limit: 400 (%s)", d);
	T_OK(body("application/json", "{\"a\":\"\xc3\x28\"}", 10, 100, &d) == 400,
	     "invalid UTF-8 in JSON: 400 (%s)", d);
	T_OK(body("application/json", "{\"a\":\"x\"}\0", 10, 100, &d) == 400, "NUL byte: 400");
	T_OK(body("application/json", "", 0, 100, &d) == 400, "empty body: 400");
	T_OK(body("application/json", "{\"a\":NaN}", 9, 100, &d) == 400, "NaN: 400");
	static const char dup1[] = "{\"a\":1,\"a\":2}";
	T_OK(body("application/json", dup1, sizeof(dup1) - 1, 100, &d) == 400 && strstr(d, "same key"),
	     "duplicate key: 400 (%s)", d);
	static const char dup2[] = "{\"x\":[{\"b\":1},{\"c\":{\"d\":1,\"e\":{},\"d\":2}}],\"y\":{}}";
	T_OK(body("application/json", dup2, sizeof(dup2) - 1, 100, &d) == 400,
	     "duplicate key deep inside arrays: 400 (%s)", d);
	static const char nodup[] = "{\"x\":[{\"a\":1},{\"a\":2}],\"a\":\"{\\\"a\\\":1,\\\"a\\\":2}\"}";
	T_OK(body("application/json", nodup, sizeof(nodup) - 1, 100, &d) == 0,
	     "same key in different objects, and keys inside strings, are fine (%s)", d);
	T_OK(body("application/json", "{\"a\":Infinity}", 14, 100, &d) == 400, "Infinity: 400");
	static const char quoted[] = "{\"it's\":\"a \\\"b\\\" 'c'\"}";
	T_OK(body("application/json", quoted, sizeof(quoted) - 1, 100, &d) == 0,
	     "quotes inside strings are fine (%s)", d);
	T_OK(body("application/json", "  {\"a\":1}\n", 10, 100, &d) == 0, "surrounding whitespace accepted");
	pool_destroy(&pool);
	return T_DONE();
}
