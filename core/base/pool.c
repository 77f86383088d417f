/*
 * pool.c - request memory (after nginx's ngx_pool_t): allocations come from
 * blocks that are released together after the response; resources that are
 * not memory (JSON objects, statement results) register a cleanup.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define POOL_BLOCK 16384
#define POOL_ALIGN 16
/* Standard blocks a pool keeps across resets (nginx keeps a worker's
 * pools too): a request's memory is then taken without malloc or free.
 * 32 x 16 KiB = 512 KiB per worker at most. */
#define POOL_SPARE 32

struct pool_block {
	struct pool_block *next;
	size_t size, used;
	_Alignas(POOL_ALIGN) unsigned char data[];
};

struct pool_cleanup {
	void (*fn)(void *);
	void *data;
	struct pool_cleanup *next;
};

static void *
pool_oom(void)
{
	fputs("portal: out of memory\n", stderr);
	abort();
}

void
pool_init(struct pool *p)
{
	p->blocks = NULL;
	p->cleanups = NULL;
	p->spare = NULL;
	p->nspare = 0;
}

/* n bytes, not zeroed: for buffers and strings, which are written whole
 * before they are read (zeroing them was a quarter of a cached hit's
 * instructions). */
void *
pool_alloc_raw(struct pool *p, size_t n)
{
	struct pool_block *b = p->blocks;
	size_t need = (n + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);

	if (need < n)
		return pool_oom();
	if (b == NULL || b->size - b->used < need) {
		size_t size = need > POOL_BLOCK / 4 ? need : POOL_BLOCK;
		struct pool_block *nb;
		if (size == POOL_BLOCK && p->spare != NULL) {
			nb = p->spare;
			p->spare = nb->next;
			p->nspare--;
		} else if ((nb = malloc(sizeof(*nb) + size)) == NULL) {
			return pool_oom();
		}
		nb->size = size;
		nb->used = 0;
		if (b != NULL && size != POOL_BLOCK) {
			/* a large allocation: keep the current block in front */
			nb->next = b->next;
			b->next = nb;
			nb->used = need;
			return nb->data;
		}
		nb->next = b;
		p->blocks = b = nb;
	}
	void *ptr = b->data + b->used;
	b->used += need;
	return ptr;
}

void *
pool_alloc(struct pool *p, size_t n)
{
	void *ptr = pool_alloc_raw(p, n);
	memset(ptr, 0, n);
	return ptr;
}

char *
pool_strndup(struct pool *p, const char *s, size_t n)
{
	char *d = pool_alloc_raw(p, n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *
pool_strdup(struct pool *p, const char *s)
{
	return s == NULL ? NULL : pool_strndup(p, s, strlen(s));
}

char *
pool_vprintf(struct pool *p, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return pool_strdup(p, "");
	char *s = pool_alloc_raw(p, (size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

char *
pool_printf(struct pool *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = pool_vprintf(p, fmt, ap);
	va_end(ap);
	return s;
}

void
pool_cleanup(struct pool *p, void (*fn)(void *), void *data)
{
	struct pool_cleanup *c = pool_alloc(p, sizeof(*c));
	c->fn = fn;
	c->data = data;
	c->next = p->cleanups;
	p->cleanups = c;
}

static void
pool_json_put(void *o)
{
	json_object_put(o);
}

struct json_object *
pool_keep_json(struct pool *p, struct json_object *o)
{
	if (o != NULL)
		pool_cleanup(p, pool_json_put, o);
	return o;
}

void
pool_reset(struct pool *p)
{
	/* cleanups live in the blocks: run them all before freeing any */
	for (struct pool_cleanup *c = p->cleanups; c != NULL; c = c->next)
		c->fn(c->data);
	p->cleanups = NULL;

	/* standard blocks go back to the spares (up to POOL_SPARE), large
	 * ones to malloc */
	struct pool_block *b = p->blocks;
	while (b != NULL) {
		struct pool_block *next = b->next;
		if (b->size == POOL_BLOCK && p->nspare < POOL_SPARE) {
			b->used = 0;
			b->next = p->spare;
			p->spare = b;
			p->nspare++;
		} else {
			free(b);
		}
		b = next;
	}
	p->blocks = NULL;
}

void
pool_destroy(struct pool *p)
{
	pool_reset(p);
	while (p->spare != NULL) {
		struct pool_block *next = p->spare->next;
		free(p->spare);
		p->spare = next;
	}
	p->nspare = 0;
}

void
buf_init(struct buf *b, struct pool *p)
{
	b->pool = p;
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Room for n more bytes and the NUL after them. */
static void
buf_reserve(struct buf *b, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = pool_alloc_raw(b->pool, cap);
		if (b->len)
			memcpy(d, b->data, b->len);
		b->data = d;
		b->cap = cap;
	}
}

void
buf_add(struct buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	/* formatted straight into the buffer's free room; a second pass
	 * only when it did not fit */
	va_list ap;
	size_t room = b->cap > b->len ? b->cap - b->len : 0;
	va_start(ap, fmt);
	int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (room)
			b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		buf_reserve(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}
