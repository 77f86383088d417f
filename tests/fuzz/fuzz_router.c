/* libFuzzer: route matching against a table like the real one. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

static int
h(portal_req *r)
{
	(void)r;
	return 0;
}

static struct router *rt;
static const char *const patterns[] = {"partnerships", "partnerships/{id}", "partnerships.csv",
                                       "news", "news/{id}", "news.atom", "visits/{id}/programme",
                                       "projects/{id}/reports/{n}", NULL};

static void
setup(void)
{
	rt = router_new();
	static const char *const methods[] = {"GET", "PATCH"};
	for (int m = 0; m < 2; m++)
		for (const char *const *p = patterns; *p; p++) {
			struct plugin_route *r = calloc(1, sizeof(*r));
			r->def.method = methods[m];
			r->def.pattern = *p;
			r->def.handler = h;
			r->seg = calloc(8, sizeof(char *));
			char *copy = strdup(*p), *s = copy;
			for (;;) {
				char *slash = strchr(s, '/');
				if (slash)
					*slash = '\0';
				r->seg[r->nseg++] = s;
				if (!slash)
					break;
				s = slash + 1;
			}
			router_add(rt, r);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (rt == NULL)
		setup();
	if (size < 1)
		return 0;
	const char *method = (data[0] & 1) ? "GET" : (data[0] & 2) ? "PATCH" : "DELETE";
	char *buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	char *seg[16];
	size_t n = 0;
	for (char *s = buf; n < 16;) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		seg[n++] = s;
		if (!slash)
			break;
		s = slash + 1;
	}
	struct router_match m;
	int rc = router_match(rt, method, seg, n, &m);
	if (rc == 200 && (m.route == NULL || m.nparams > ROUTER_MAX_PARAMS))
		abort();
	free(buf);
	return 0;
}
