/* A request for the harnesses: one header (or query string) from the
 * input, nothing else; the pool is reset after each input. */
#ifndef FUZZ_IO_H
#define FUZZ_IO_H

#include <string.h>

#include "core.h"

struct fuzz_io {
	const char *header; /* its CGI name, e.g. "HTTP_ACCEPT_LANGUAGE" */
	const char *value;
	const char *uri, *qs;
};

static inline const char *
fuzz_param(void *ctx, const char *name)
{
	struct fuzz_io *f = ctx;
	if (f->header && strcmp(name, f->header) == 0)
		return f->value;
	if (strcmp(name, "REQUEST_URI") == 0)
		return f->uri ? f->uri : "/";
	if (strcmp(name, "QUERY_STRING") == 0)
		return f->qs ? f->qs : "";
	if (strcmp(name, "REQUEST_METHOD") == 0)
		return "GET";
	return NULL;
}

static inline int
fuzz_read(void *ctx, char *buf, int n)
{
	(void)ctx, (void)buf, (void)n;
	return 0;
}

static inline int
fuzz_write(void *ctx, const char *buf, size_t n)
{
	(void)ctx, (void)buf, (void)n;
	return 0;
}

/* A request in `pool` reading its parameters from f. */
static inline struct portal_req *
fuzz_req(struct pool *pool, struct req_io *io, struct fuzz_io *f)
{
	io->ctx = f;
	io->param = fuzz_param;
	io->read = fuzz_read;
	io->write = fuzz_write;
	struct portal_req *r = pool_alloc(pool, sizeof(*r));
	r->pool = pool;
	r->io = io;
	return r;
}

/* The input as a NUL-terminated string (cut at its first NUL). */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
