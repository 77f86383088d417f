/* libFuzzer: a JSON body through the body reader (limits, duplicate keys,
 * UTF-8) and then the schema checker and merge patch, with a schema that
 * uses every field type. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct fz {
	const char *data;
	size_t len, off;
};

static const char *
param(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "CONTENT_TYPE") == 0)
		return "application/json";
	if (strcmp(name, "REQUEST_METHOD") == 0)
		return "POST";
	if (strcmp(name, "REQUEST_URI") == 0)
		return "/api/v1/x/y";
	return NULL;
}

static int
rd(void *ctx, char *buf, int n)
{
	struct fz *f = ctx;
	size_t left = f->len - f->off;
	if ((size_t)n > left)
		n = (int)left;
	memcpy(buf, f->data + f->off, (size_t)n);
	f->off += (size_t)n;
	return n;
}

static int
wr(void *ctx, const char *buf, size_t n)
{
	(void)ctx, (void)buf, (void)n;
	return 0;
}

static const char *const kinds[] = {"a", "b", NULL};
static const struct portal_field sub[] = {
    {.name = "date", .type = PF_DATE, .flags = PF_REQUIRED},
    {.name = "n", .type = PF_INT, .min = -5, .max_num = 5},
    {0},
};
static const struct portal_field sub_item = {.name = "", .type = PF_OBJECT, .fields = sub};
static const struct portal_field str_item = {.name = "", .type = PF_STRING, .max = 10};
static const struct portal_field schema[] = {
    {.name = "s", .type = PF_STRING, .flags = PF_REQUIRED},
    {.name = "t", .type = PF_TEXT, .max = 100},
    {.name = "i", .type = PF_INT, .min = 0, .max_num = 1e6},
    {.name = "f", .type = PF_NUMBER, .min = -90, .max_num = 90},
    {.name = "b", .type = PF_BOOL},
    {.name = "e", .type = PF_ENUM, .values = kinds},
    {.name = "d", .type = PF_DATE},
    {.name = "c", .type = PF_COUNTRY},
    {.name = "l", .type = PF_LANG},
    {.name = "cur", .type = PF_CURRENCY},
    {.name = "u", .type = PF_URL},
    {.name = "q", .type = PF_QID},
    {.name = "m", .type = PF_LANGMAP, .max = 50},
    {.name = "o", .type = PF_OBJECT, .fields = sub},
    {.name = "a", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = 5, .items = &str_item},
    {.name = "ao", .type = PF_ARRAY, .items = &sub_item},
    {0},
};

static void
sink_error(void *ctx, const char *field, const char *msg)
{
	out_field_error(ctx, field, msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pool pool;
	struct fz f = {(const char *)data, size, 0};
	struct req_io io = {&f, param, rd, wr};
	struct portal_req *r = pool_alloc(&pool, sizeof(*r));
	r->pool = &pool;
	r->io = &io;
	const char *detail = NULL;
	req_parse(r, &detail);
	if (req_read_json(r, 65536, 16, &detail) == 0) {
		struct valid_sink sink = {r, sink_error};
		valid_doc(schema, r->body, NULL, &sink);
		struct json_object *copy = NULL;
		if (json_object_deep_copy(r->body, &copy, NULL) == 0) {
			valid_merge_patch(copy, r->body);
			json_object_put(copy);
		}
	}
	pool_reset(&pool);
	return 0;
}
