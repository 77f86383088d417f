/* The router: literal before capture, 404 and 405, refused patterns. */
#include <stdlib.h>

#include "core.h"
#include "t.h"

static int h(portal_req *r) { (void)r; return 0; }

static struct pool pool; /* everything the test allocates */

static struct plugin_route *
mk(const char *method, const char *pattern)
{
	struct plugin_route *r = pool_alloc(&pool, sizeof(*r));
	r->def.method = method;
	r->def.pattern = pattern;
	r->def.handler = h;
	r->seg = pool_alloc(&pool, 8 * sizeof(char *));
	char *copy = pool_strdup(&pool, pattern), *s = copy;
	for (;;) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		r->seg[r->nseg++] = s;
		if (!slash)
			break;
		s = slash + 1;
	}
	return r;
}

static int
match(struct router *rt, const char *method, const char *path, struct router_match *m)
{
	char *copy = pool_strdup(&pool, path), *seg[16];
	size_t n = 0;
	for (char *s = copy;;) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		seg[n++] = s;
		if (!slash)
			break;
		s = slash + 1;
	}
	int rc = router_match(rt, method, seg, n, m);
	return rc; /* m points into the pool */
}

int
main(void)
{
	pool_init(&pool);
	struct router *rt = router_new();
	struct router_match m;
	T_OK(router_add(rt, mk("GET", "news")) == PORTAL_OK, "add GET news");
	T_OK(router_add(rt, mk("GET", "news/{id}")) == PORTAL_OK, "add GET news/{id}");
	T_OK(router_add(rt, mk("PATCH", "news/{id}")) == PORTAL_OK, "add PATCH news/{id}");
	T_OK(router_add(rt, mk("GET", "news/feed")) == PORTAL_OK, "add GET news/feed");
	T_OK(router_add(rt, mk("GET", "news.atom")) == PORTAL_OK, "add GET news.atom");
	T_OK(router_add(rt, mk("GET", "news/{slug}")) == PORTAL_ERROR, "same shape twice refused");
	T_OK(router_add(rt, mk("GET", "news//x")) == PORTAL_ERROR, "empty segment refused");
	T_OK(router_add(rt, mk("GET", "news/{id")) == PORTAL_ERROR, "unclosed capture refused");
	T_OK(router_count(rt) == 5, "five routes");

	T_OK(match(rt, "GET", "news", &m) == 200 && strcmp(m.route->def.pattern, "news") == 0,
	     "GET news");
	T_OK(match(rt, "GET", "news/42", &m) == 200 && m.nparams == 1 &&
	         strcmp(m.values[0], "42") == 0 && strcmp(m.names[0], "{id}") == 0,
	     "GET news/42 captures id");
	T_OK(match(rt, "GET", "news/feed", &m) == 200 && strcmp(m.route->def.pattern, "news/feed") == 0,
	     "literal segment wins over a capture");
	T_OK(match(rt, "HEAD", "news/7", &m) == 200, "HEAD uses the GET route");
	T_OK(match(rt, "DELETE", "news/42", &m) == 405 && strcmp(m.allow, "GET, HEAD, PATCH") == 0,
	     "405 lists the allowed methods (%s)", m.allow);
	T_OK(match(rt, "GET", "news/", &m) == 404, "an empty capture does not match");
	T_OK(match(rt, "GET", "news/1/2", &m) == 404, "too many segments");
	T_OK(match(rt, "GET", "visits", &m) == 404, "unknown module");
	T_OK(match(rt, "GET", "news.atom", &m) == 200, "news.atom");
	router_free(rt);
	pool_destroy(&pool);
	return T_DONE();
}
