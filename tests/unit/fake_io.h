/*
 * fake_io.h - a request without FastCGI for the unit tests: CGI parameters
 * from a table, a body from memory, the answer thrown away.
 */
#ifndef FAKE_IO_H
#define FAKE_IO_H

#include <string.h>

struct fake {
	const char *params[16][2];
	const char *body;
	size_t off, len;
};

static const char *
fparam(void *ctx, const char *name)
{
	struct fake *f = ctx;
	for (int i = 0; i < 16 && f->params[i][0]; i++)
		if (strcmp(f->params[i][0], name) == 0)
			return f->params[i][1];
	return NULL;
}

static int
fread_(void *ctx, char *buf, int n)
{
	struct fake *f = ctx;
	size_t left = f->len - f->off;
	if ((size_t)n > left)
		n = (int)left;
	memcpy(buf, f->body + f->off, (size_t)n);
	f->off += (size_t)n;
	return n;
}

static int
fwrite_(void *ctx, const char *buf, size_t n)
{
	(void)ctx, (void)buf, (void)n;
	return 0;
}

#endif
