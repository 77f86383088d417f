/* libFuzzer: request parsing (method, path segments, query arguments)
 * from a REQUEST_URI and QUERY_STRING made of the input. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct fz {
	char *uri, *qs;
};

static const char *
param(void *ctx, const char *name)
{
	struct fz *f = ctx;
	if (strcmp(name, "REQUEST_URI") == 0)
		return f->uri;
	if (strcmp(name, "QUERY_STRING") == 0)
		return f->qs;
	if (strcmp(name, "REQUEST_METHOD") == 0)
		return "GET";
	if (strcmp(name, "REQUEST_ID") == 0)
		return f->qs;
	return NULL;
}

static int
rd(void *ctx, char *buf, int n)
{
	(void)ctx, (void)buf, (void)n;
	return 0;
}

static int
wr(void *ctx, const char *buf, size_t n)
{
	(void)ctx, (void)buf, (void)n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pool pool;
	char *buf = malloc(size + 2);
	memcpy(buf, data, size);
	buf[size] = '\0';
	buf[size + 1] = '\0';
	/* "URI\nQUERY": the URI as nginx would pass it, the query separately */
	char *nl = memchr(buf, '\n', size);
	struct fz f = {buf, nl ? nl + 1 : buf + size};
	if (nl)
		*nl = '\0';
	struct req_io io = {&f, param, rd, wr};
	struct portal_req *r = pool_alloc(&pool, sizeof(*r));
	r->pool = &pool;
	r->io = &io;
	const char *detail = NULL;
	if (req_parse(r, &detail) == 0) {
		req_query(r, "limit");
		req_query(r, "q");
		for (size_t i = 0; i < r->nseg; i++)
			if (strlen(r->seg[i]) > 8192)
				abort();
	}
	out_problem(r, 400, detail ? detail : "x");
	pool_reset(&pool);
	free(buf);
	return 0;
}
