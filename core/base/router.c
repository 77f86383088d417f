/*
 * router.c - method + path patterns.  A pattern is split on '/' into
 * segments; "{name}" matches any one non-empty segment and captures it.
 * Literal segments win over captures, so "news/feed" and "news/{id}" can
 * live side by side.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct router {
	struct plugin_route **routes;
	size_t n, cap;
};

struct router *
router_new(void)
{
	return calloc(1, sizeof(struct router));
}

void
router_free(struct router *rt)
{
	if (rt == NULL)
		return;
	free(rt->routes);
	free(rt);
}

static int
router_is_capture(const char *seg)
{
	size_t n = strlen(seg);
	return n > 2 && seg[0] == '{' && seg[n - 1] == '}';
}

static int
router_same_shape(const struct plugin_route *a, const struct plugin_route *b)
{
	if (a->nseg != b->nseg)
		return 0;
	for (size_t i = 0; i < a->nseg; i++) {
		int ca = router_is_capture(a->seg[i]), cb = router_is_capture(b->seg[i]);
		if (ca != cb || (!ca && strcmp(a->seg[i], b->seg[i]) != 0))
			return 0;
	}
	return 1;
}

int
router_add(struct router *rt, struct plugin_route *route)
{
	size_t ncap = 0;
	if (route->nseg == 0)
		return PORTAL_ERROR;
	for (size_t i = 0; i < route->nseg; i++) {
		const char *s = route->seg[i];
		if (*s == '\0' || (strchr(s, '{') && !router_is_capture(s)))
			return PORTAL_ERROR;
		if (router_is_capture(s))
			ncap++;
	}
	if (ncap > ROUTER_MAX_PARAMS)
		return PORTAL_ERROR;
	for (size_t i = 0; i < rt->n; i++)
		if (strcmp(rt->routes[i]->def.method, route->def.method) == 0 &&
		    router_same_shape(rt->routes[i], route))
			return PORTAL_ERROR;
	if (rt->n == rt->cap) {
		size_t cap = rt->cap ? rt->cap * 2 : 16;
		struct plugin_route **r = realloc(rt->routes, cap * sizeof(*r));
		if (r == NULL)
			return PORTAL_ERROR;
		rt->routes = r;
		rt->cap = cap;
	}
	rt->routes[rt->n++] = route;
	return PORTAL_OK;
}

void
router_remove_plugin(struct router *rt, const portal_plugin *p)
{
	size_t j = 0;
	for (size_t i = 0; i < rt->n; i++)
		if (rt->routes[i]->plugin != p)
			rt->routes[j++] = rt->routes[i];
	rt->n = j;
}

size_t
router_count(const struct router *rt)
{
	return rt->n;
}

struct plugin_route *
router_at(const struct router *rt, size_t i)
{
	return i < rt->n ? rt->routes[i] : NULL;
}

/* Score of a path match: more literal segments is better; -1 no match. */
static int
router_score(const struct plugin_route *r, char **seg, size_t nseg)
{
	if (r->nseg != nseg)
		return -1;
	int score = 0;
	for (size_t i = 0; i < nseg; i++) {
		if (router_is_capture(r->seg[i])) {
			if (seg[i][0] == '\0')
				return -1;
		} else if (strcmp(r->seg[i], seg[i]) != 0) {
			return -1;
		} else {
			score++;
		}
	}
	return score;
}

int
router_match(struct router *rt, const char *method, char **seg, size_t nseg,
             struct router_match *m)
{
	struct plugin_route *best = NULL;
	int best_score = -1, any = 0;
	const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < rt->n; i++) {
		int s = router_score(rt->routes[i], seg, nseg);
		if (s < 0)
			continue;
		any = 1;
		if (strcmp(rt->routes[i]->def.method, want) == 0 && s > best_score) {
			best = rt->routes[i];
			best_score = s;
		}
	}
	if (best == NULL) {
		if (!any)
			return 404;
		/* 405: list what the path does answer */
		for (size_t i = 0; i < rt->n; i++) {
			if (router_score(rt->routes[i], seg, nseg) < 0 ||
			    strstr(m->allow, rt->routes[i]->def.method))
				continue;
			/* HEAD is answered wherever GET is */
			const char *meth = strcmp(rt->routes[i]->def.method, "GET") == 0 ? "GET, HEAD"
			                                                                  : rt->routes[i]->def.method;
			size_t len = strlen(m->allow);
			if (len + strlen(meth) + 3 < sizeof(m->allow)) {
				if (len)
					strcat(m->allow, ", ");
				strcat(m->allow, meth);
			}
		}
		return 405;
	}
	m->route = best;
	for (size_t i = 0; i < nseg; i++) {
		if (!router_is_capture(best->seg[i]))
			continue;
		m->names[m->nparams] = best->seg[i];
		m->values[m->nparams] = seg[i];
		m->nparams++;
	}
	return 200;
}
