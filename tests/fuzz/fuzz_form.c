/* libFuzzer: urlencoded form bodies (form_parse) and the documents made
 * of them (form_doc, form_values, on fields like the partnerships
 * module's).  Checks properties, not just crashes: a parsed form has at
 * most FORM_MAX_FIELDS pairs, each name a field path found again by
 * form_get (names unique), each value valid UTF-8 of at most
 * FORM_MAX_VALUE bytes; a refusal has a status the editor answers and a
 * detail; form_doc gives an object, and form_doc of its form_values gives
 * an object again; every field error form_doc makes has a Swedish text;
 * msg_translate of the input (as a message) gives valid UTF-8. */
#include <stdlib.h>
#include <string.h>

#include "web/page.h"

static const char *const kinds[] = {"twin_town", "friendship", NULL};
static const struct portal_field partner_fields[] = {
	{.name = "name", .type = PF_STRING, .flags = PF_REQUIRED},
	{.name = "country", .type = PF_COUNTRY},
	{.name = "lat", .type = PF_NUMBER, .min = -90, .max_num = 90},
	{.name = NULL},
};
static const struct portal_field signatory = {.name = "s", .type = PF_STRING};
static const struct portal_field agreement_fields[] = {
	{.name = "date", .type = PF_DATE},
	{.name = "kind", .type = PF_ENUM, .values = kinds},
	{.name = "signatories", .type = PF_ARRAY, .items = &signatory},
	{.name = "text", .type = PF_LANGMAP},
	{.name = NULL},
};
static const struct portal_field agreement = {.name = "a", .type = PF_OBJECT,
                                              .fields = agreement_fields};
static const struct portal_field id = {.name = "id", .type = PF_INT};
static const struct portal_field fields[] = {
	{.name = "partner", .type = PF_OBJECT, .fields = partner_fields},
	{.name = "kind", .type = PF_ENUM, .values = kinds},
	{.name = "start_date", .type = PF_DATE},
	{.name = "description", .type = PF_LANGMAP},
	{.name = "agreements", .type = PF_ARRAY, .flags = PF_EXTERNAL, .items = &agreement},
	{.name = "public", .type = PF_BOOL},
	{.name = "ids", .type = PF_ARRAY, .items = &id},
	{.name = "end_reason", .type = PF_TEXT},
	{.name = "linked", .type = PF_STRING, .flags = PF_READONLY},
	{.name = NULL},
};

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
	struct form f;
	const char *detail = NULL;
	int st = form_parse(&pool, (const char *)data, size, &f, &detail);
	if (st == 0) {
		if (f.n > FORM_MAX_FIELDS)
			abort();
		for (size_t i = 0; i < f.n; i++) {
			const char *n = f.pairs[i].name, *v = f.pairs[i].value;
			size_t nl = strlen(n), vl = strlen(v);
			if (nl == 0 || nl > FORM_MAX_NAME || vl > FORM_MAX_VALUE || !valid_utf8(n, nl) ||
			    !valid_utf8(v, vl))
				abort();
			if (form_get(&f, n) != v) /* found, and no other pair has the name */
				abort();
		}
		struct portal_req *r = pool_alloc(&pool, sizeof(*r));
		r->pool = &pool;
		struct json_object *doc = form_doc(r, fields, &f);
		if (!json_object_is_type(doc, json_type_object))
			abort();
		struct json_object *vals = form_values(r, fields, doc);
		struct form g = {.pairs = pool_alloc(&pool, (size_t)json_object_object_length(vals) *
		                                                 sizeof(struct form_pair) + 1)};
		json_object_object_foreach(vals, k, val) {
			g.pairs[g.n].name = k;
			g.pairs[g.n].value = (char *)json_object_get_string(val);
			g.n++;
		}
		if (!json_object_is_type(form_doc(r, fields, &g), json_type_object))
			abort();
		for (size_t i = 0; r->errors && i < json_object_array_length(r->errors); i++) {
			struct json_object *e = json_object_array_get_idx(r->errors, i), *m;
			if (!json_object_object_get_ex(e, "message", &m))
				abort();
			const char *en = json_object_get_string(m), *sv = msg_translate(&pool, "sv", en);
			if (sv == en || !valid_utf8(sv, strlen(sv)))
				abort(); /* form_doc's messages are all in the table */
		}
	} else if ((st != 400 && st != 413 && st != 422) || detail == NULL || *detail == '\0' ||
	           !valid_utf8(detail, strlen(detail))) {
		abort();
	}
	/* the input as a message: translated or itself, valid UTF-8 either way */
	if (size <= 400 && valid_utf8((const char *)data, size) && memchr(data, 0, size) == NULL) {
		char *m = pool_strndup(&pool, (const char *)data, size);
		const char *t = msg_translate(&pool, size % 2 ? "da" : "sv", m);
		if (t == NULL || !valid_utf8(t, strlen(t)))
			abort();
	}
	pool_reset(&pool);
	return 0;
}
