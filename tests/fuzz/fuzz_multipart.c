/* libFuzzer: multipart/form-data bodies (multipart.c), boundary "XyZ".
 * The first byte of the input is a piece size; the rest is the body.
 * Checks properties, not just crashes: the body fed at once and fed in
 * pieces of that size give the same status and the same parts (the
 * parser is streaming, so where the pieces split must not matter);
 * accepted bodies have at most MULTIPART_MAX_PARTS parts and MULTIPART_MAX_FILES named
 * files, names of at most FORM_MAX_NAME bytes and file names of at most
 * MULTIPART_MAX_FILENAME; a refusal has a status the editor answers and a
 * detail; the plain fields then go through form_add and form_finish
 * (what req_read_form_files does) without breaking their rules. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct rec {
	struct buf log;
	size_t parts, files;
	struct form f;
	char *name;
	int file;
	struct buf value;
};

static int
r_begin(struct multipart *m, const char *name, const char *filename, const char *type)
{
	struct rec *x = m->sink.ctx;
	size_t nl = strlen(name);
	if (nl == 0 || nl > FORM_MAX_NAME || (filename && strlen(filename) > MULTIPART_MAX_FILENAME))
		abort();
	x->parts++;
	x->files += filename && *filename;
	buf_printf(&x->log, "[%s|%s|%s]", name, filename ? filename : "-", type ? type : "-");
	x->name = pool_strdup(m->pool, name);
	x->file = filename != NULL;
	buf_init(&x->value, m->pool);
	return 0;
}

static int
r_data(struct multipart *m, const char *p, size_t n)
{
	struct rec *x = m->sink.ctx;
	if (n == 0)
		abort(); /* never called for nothing */
	buf_add(&x->log, p, n);
	if (!x->file)
		buf_add(&x->value, p, n);
	return 0;
}

static int
r_end(struct multipart *m)
{
	struct rec *x = m->sink.ctx;
	buf_puts(&x->log, "$");
	if (!x->file) {
		const char *detail = NULL;
		buf_add(&x->value, "", 1);
		int st = form_add(m->pool, &x->f, x->name, strlen(x->name), x->value.data,
		                  x->value.len - 1, &detail);
		if (st != 0 && (detail == NULL || (st != 400 && st != 413 && st != 422)))
			abort();
	}
	return 0;
}

static int
run(struct pool *p, const uint8_t *data, size_t size, size_t step, struct rec **out,
    const char **detail)
{
	struct rec *x = pool_alloc(p, sizeof(*x));
	buf_init(&x->log, p);
	struct multipart_sink sink = {.ctx = x, .begin = r_begin, .data = r_data, .end = r_end};
	struct multipart m;
	multipart_init(&m, p, "XyZ", &sink);
	int st = 0;
	for (size_t off = 0; off < size && st == 0; off += step)
		st = multipart_feed(&m, (const char *)data + off, size - off < step ? size - off : step);
	if (st == 0)
		st = multipart_finish(&m);
	buf_add(&x->log, "", 1);
	*out = x;
	*detail = m.detail;
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pool pool;
	static int init;
	if (!init) {
		pool_init(&pool);
		init = 1;
	}
	if (size < 1)
		return 0;
	size_t step = data[0] ? data[0] : 1;
	data++, size--;
	struct rec *a, *b;
	const char *da, *db;
	int sa = run(&pool, data, size, size ? size : 1, &a, &da);
	int sb = run(&pool, data, size, step, &b, &db);
	if (sa != sb || a->parts != b->parts)
		abort();
	if (sa == 0) {
		if (strcmp(a->log.data, b->log.data) != 0 || a->parts > MULTIPART_MAX_PARTS ||
		    a->files > MULTIPART_MAX_FILES)
			abort();
		const char *detail = NULL;
		if (form_finish(&pool, &a->f, &detail) != 0 && detail == NULL)
			abort();
		for (size_t i = 0; i < a->f.n; i++)
			if (!valid_utf8(a->f.pairs[i].value, strlen(a->f.pairs[i].value)))
				abort();
	} else if ((sa != 400 && sa != 413 && sa != 422) || da == NULL || *da == '\0' ||
	           !valid_utf8(da, strlen(da))) {
		abort();
	}
	pool_reset(&pool);
	return 0;
}
