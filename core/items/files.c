/*
 * files.c - an item's uploaded files (api->files_check, api->files_link,
 * api->file_entry): what the modules whose members hold ids of the core's
 * media (declared .link = "media") do alike.
 *
 * A member is named by a path: "reports[].document" is member "document"
 * of each object of the array "reports"; "image" is a member of the item
 * itself.  What is the module's own (its index and other members in the
 * documents it shows, the title it links under) stays in the module.
 */
#include <string.h>

#include "core.h"

/* The path split: the array ("reports", or NULL when the path names a
 * member of the item) and the member ("document"). */
struct files_path {
	char array[128];
	const char *member;
};

static int
files_path(const char *path, struct files_path *p)
{
	const char *brackets = strstr(path, "[].");
	p->array[0] = '\0';
	p->member = path;
	if (brackets == NULL)
		return 0;
	size_t n = (size_t)(brackets - path);
	if (n == 0 || n >= sizeof(p->array))
		return -1;
	memcpy(p->array, path, n);
	p->array[n] = '\0';
	p->member = brackets + 3;
	return 1;
}

/* The id member `member` of `o` holds, when it is an integer; else 0. */
static long long
files_id(struct json_object *o, const char *member)
{
	struct json_object *d = NULL;
	if (!json_object_object_get_ex(o, member, &d) || !json_object_is_type(d, json_type_int))
		return 0;
	return json_object_get_int64(d);
}

/* The elements the path walks: the array of `doc` (n of them), or `doc`
 * itself (n = 1).  NULL with n = 0 when there are none. */
static struct json_object *
files_elements(struct json_object *doc, const struct files_path *p, size_t *n)
{
	struct json_object *a = NULL;
	*n = 0;
	if (p->array[0] == '\0') {
		*n = doc != NULL;
		return doc;
	}
	if (!json_object_object_get_ex(doc, p->array, &a) || !json_object_is_type(a, json_type_array))
		return NULL;
	*n = json_object_array_length(a);
	return a;
}

static struct json_object *
files_element(struct json_object *elements, const struct files_path *p, size_t i)
{
	return p->array[0] == '\0' ? elements : json_object_array_get_idx(elements, i);
}

/* "PDF" for application/pdf, else the type itself. */
static const char *
files_type_word(const char *type)
{
	return strcmp(type, "application/pdf") == 0 ? "PDF" : type;
}

void
files_check(portal_req *r, struct json_object *doc, const char *path, const char *type, size_t max)
{
	struct files_path p;
	size_t n;
	if (files_path(path, &p) < 0)
		return;
	struct json_object *elements = files_elements(doc, &p, &n);
	for (size_t i = 0; i < n && (max == 0 || i < max); i++) {
		long long id = files_id(files_element(elements, &p, i), p.member);
		if (id == 0)
			continue; /* absent, null, or validate said why */
		const char *field = p.array[0] ? pool_printf(r->pool, "%s[%zu].%s", p.array, i, p.member)
		                               : p.member;
		struct json_object *rec = media_record(r, id);
		struct json_object *t = NULL;
		const char *got = rec && json_object_object_get_ex(rec, "type", &t) &&
		                          json_object_is_type(t, json_type_string)
		                      ? json_object_get_string(t)
		                      : NULL;
		if (got == NULL)
			out_field_error(r, field, "is not an uploaded file of this municipality");
		else if (type != NULL && strcmp(got, type) != 0)
			out_field_error(r, field, pool_printf(r->pool, "is a %s, not a %s", got,
			                                      files_type_word(type)));
	}
}

int
files_link(portal_req *r, long long from_id, struct json_object *item, const char *path,
           const char *title, int is_public)
{
	struct files_path p;
	size_t n, m = 0;
	if (files_path(path, &p) < 0)
		return PORTAL_ERROR;
	struct json_object *elements = files_elements(item, &p, &n);
	long long *ids = pool_alloc(r->pool, (n ? n : 1) * sizeof(*ids));
	for (size_t i = 0; i < n; i++) {
		long long id = files_id(files_element(elements, &p, i), p.member);
		if (id != 0)
			ids[m++] = id;
	}
	return links_set(r, from_id, "media", ids, m, title, NULL, is_public);
}

/* "1.2 MB", "120 kB": a file's size for people. */
static const char *
files_size(portal_req *r, long long bytes)
{
	if (bytes >= 1000000)
		return pool_printf(r->pool, "%.1f MB", (double)bytes / 1e6);
	return pool_printf(r->pool, "%lld kB", (bytes + 999) / 1000);
}

int
file_entry(portal_req *r, struct json_object *o, struct json_object *element, const char *member,
           const char *name, const char *fallback)
{
	long long id = files_id(element, member);
	struct json_object *rec = id != 0 ? media_record(r, id) : NULL, *v = NULL, *b = NULL;
	if (rec == NULL)
		return 0;
	json_object_object_get_ex(rec, "bytes", &b);
	if (name == NULL && json_object_object_get_ex(rec, "name", &v) &&
	    json_object_is_type(v, json_type_string))
		name = json_object_get_string(v);
	const char *url = json_object_object_get_ex(rec, "url", &v) ? json_object_get_string(v) : NULL;
	const char *type = json_object_object_get_ex(rec, "type", &v) ? json_object_get_string(v) : NULL;
	json_object_object_add(o, "id", json_object_new_int64(id));
	json_object_object_add(o, "url", json_object_new_string(url ? url : ""));
	json_object_object_add(o, "name", json_object_new_string(name ? name : fallback ? fallback : ""));
	json_object_object_add(o, "type", json_object_new_string(files_type_word(type ? type : "")));
	json_object_object_add(o, "bytes", json_object_get(b));
	json_object_object_add(o, "size", json_object_new_string(files_size(r, json_object_get_int64(b))));
	return 1;
}
