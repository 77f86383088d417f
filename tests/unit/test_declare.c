/*
 * Every plugin in $B/plugins whose item is declared with a table: the
 * request schema of POST /NAME in the OpenAPI description the core builds
 * (core/server/schema.c derives it from the field table; openapi.c adds
 * the core's `sources`) says what its field table (with `sources`) says:
 * the same members, at every level, the same enum values, maxLength and
 * maxItems.  A check of the generator by another reading of the table.
 * With OPENAPI_GENERATED=FILE it also writes each module's derived
 * schemas, links and list parameters (tools/openapi-compare.py).
 */
#include <dirent.h>
#include <stdlib.h>

#include "core.h"
#include "t.h"

static struct json_object *root; /* the merged OpenAPI description */

static struct json_object *
get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* A schema with its $refs (into the fragment), allOf and nullable anyOf
 * resolved: a new object (the caller's) or a reference; NULL for a
 * reference outside the fragment (the core's PartialDate ...). */
static struct json_object *
resolve(struct json_object *s)
{
	for (int depth = 0; s && depth < 16; depth++) {
		const char *ref = json_object_get_string(get(s, "$ref"));
		struct json_object *alt = get(s, "anyOf") ? get(s, "anyOf") : get(s, "oneOf");
		if (ref && strncmp(ref, "#/components/schemas/", 21) == 0)
			s = get(get(get(root, "components"), "schemas"), ref + 21);
		else if (ref)
			return NULL;
		else if (alt && json_object_array_length(alt) > 0) {
			struct json_object *pick = NULL;
			for (size_t i = 0; i < json_object_array_length(alt) && pick == NULL; i++) {
				struct json_object *b = json_object_array_get_idx(alt, i);
				const char *t = json_object_get_string(get(b, "type"));
				if (t == NULL || strcmp(t, "null") != 0)
					pick = b;
			}
			s = pick;
		} else
			return s;
	}
	return s;
}

/* The properties of an object schema, allOf merged into `into`. */
static void
properties(struct json_object *s, struct json_object *into)
{
	s = resolve(s);
	struct json_object *all = get(s, "allOf");
	for (size_t i = 0; all && i < json_object_array_length(all); i++)
		properties(json_object_array_get_idx(all, i), into);
	json_object_object_foreach(get(s, "properties"), k, v)
		json_object_object_add(into, k, json_object_get(v));
}

static void compare(const char *path, const struct portal_field *fields, struct json_object *s);

static void
compare_field(const char *path, const struct portal_field *f, struct json_object *p)
{
	struct json_object *r = resolve(p), *e;
	if (r == NULL)
		return; /* a core schema */
	if (f->type == PF_ARRAY && f->items != NULL) {
		struct json_object *mi = get(r, "maxItems");
		T_OK(mi == NULL || f->max == 0 || (size_t)json_object_get_int64(mi) == f->max,
		     "%s: maxItems %s, declared %zu", path, mi ? json_object_get_string(mi) : "-",
		     f->max);
		char sub[256];
		snprintf(sub, sizeof(sub), "%s[]", path);
		compare_field(sub, f->items, get(r, "items"));
		return;
	}
	if (f->type == PF_OBJECT && f->fields != NULL) {
		compare(path, f->fields, r);
		return;
	}
	if (f->type == PF_ENUM && (e = get(r, "enum")) != NULL) {
		size_t n = 0, same = 1;
		for (const char *const *v = f->values; v && *v; v++, n++)
			same = same && n < json_object_array_length(e) &&
			       strcmp(json_object_get_string(json_object_array_get_idx(e, n)), *v) == 0;
		T_OK(same && n == json_object_array_length(e), "%s: the enum's %zu values", path, n);
	}
	struct json_object *ml = get(r, "maxLength");
	if (ml && f->max && (f->type == PF_STRING || f->type == PF_TEXT))
		T_OK((size_t)json_object_get_int64(ml) == f->max, "%s: maxLength %s, declared %zu", path,
		     json_object_get_string(ml), f->max);
}

static void
compare(const char *path, const struct portal_field *fields, struct json_object *s)
{
	struct json_object *props = json_object_new_object();
	properties(s, props);
	size_t n = 0;
	for (const struct portal_field *f = fields; f->name; f++) {
		if (f->flags & PF_READONLY)
			continue;
		char sub[256];
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", f->name);
		struct json_object *p = get(props, f->name);
		T_OK(p != NULL, "%s is in the OpenAPI schema", sub);
		if (p != NULL)
			compare_field(sub, f, p);
		n++;
	}
	T_OK(json_object_object_length(props) == (int)n, "%s: %zu members, as declared (the schema "
	     "has %d)", *path ? path : "the item", n, json_object_object_length(props));
	json_object_put(props);
}

/* 1 when schema `s` allows null (type null, or an anyOf/oneOf with it). */
static int
allows_null(struct json_object *s)
{
	const char *ref = json_object_get_string(get(s, "$ref"));
	if (ref && strncmp(ref, "#/components/schemas/", 21) == 0)
		return allows_null(get(get(get(root, "components"), "schemas"), ref + 21));
	struct json_object *t = get(s, "type"), *alt = get(s, "anyOf") ? get(s, "anyOf") : get(s, "oneOf");
	if (t && json_object_is_type(t, json_type_string))
		return strcmp(json_object_get_string(t), "null") == 0;
	for (size_t i = 0; t && json_object_is_type(t, json_type_array) && i < json_object_array_length(t); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(t, i)), "null") == 0)
			return 1;
	for (size_t i = 0; alt && i < json_object_array_length(alt); i++)
		if (allows_null(json_object_array_get_idx(alt, i)))
			return 1;
	return 0;
}

/* The PATCH schema allows null exactly where the server does: a member
 * that is not PF_REQUIRED (nulling it removes it), or a PF_NULLABLE one
 * (issue #20: a schema must not allow what the server refuses). */
static void
patch_nulls(const portal_plugin *p)
{
	char post[300];
	snprintf(post, sizeof(post), "/api/v1/{municipality}/%s/{id}", p->name);
	struct json_object *s =
	    resolve(get(get(get(get(get(get(get(root, "paths"), post), "patch"), "requestBody"), "content"),
	                "application/json"),
	            "schema"));
	struct json_object *props = get(s, "properties");
	T_OK(props != NULL, "%s: PATCH /%s/{id} has a request schema with members", p->name, p->name);
	for (const struct portal_field *f = p->item->schema; props && f->name; f++) {
		if (f->flags & PF_READONLY)
			continue;
		struct json_object *m = get(props, f->name);
		int want = !(f->flags & PF_REQUIRED) || (f->flags & PF_NULLABLE);
		T_OK(m != NULL && allows_null(m) == want, "%s PATCH: %s %s null", p->name, f->name,
		     want ? "may be" : "may not be");
	}
}

int
main(void)
{
	const char *b = getenv("B");
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/plugins", b ? b : "build");
	log_level = -1; /* quiet */
	struct plugins ps = {0};
	ps.router = router_new();
	DIR *d = opendir(dir);
	struct dirent *de;
	int tested = 0;
	while (d && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
			continue;
		char path[1024], name[256], err[512] = "";
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(name, sizeof(name), "%.*s", (int)(len - 3), de->d_name);
		T_OK(plugin_load(&ps, path, name, NULL, err, sizeof(err)) == PORTAL_OK, "%s loads %s",
		     name, err);
	}
	char *merged = openapi_build(&ps);
	T_OK(merged != NULL, "the core merges the plugins' OpenAPI fragments");
	root = merged ? json_tokener_parse(merged) : NULL;
	free(merged);
	for (portal_plugin *p = ps.head; root && p; p = p->next) {
		if (p->store == NULL || p->openapi == NULL)
			continue;
		char post[300];
		snprintf(post, sizeof(post), "/api/v1/{municipality}/%s", p->name);
		struct json_object *s =
		    get(get(get(get(get(get(get(root, "paths"), post), "post"), "requestBody"), "content"),
		            "application/json"),
		        "schema");
		T_OK(s != NULL, "%s: POST /%s has a request schema", p->name, p->name);
		printf("# %s\n", p->name);
		compare("", p->item->schema, s);
		patch_nulls(p);
		tested++;
	}
	json_object_put(root);
	const char *dump = getenv("OPENAPI_GENERATED"); /* for tools/openapi-compare.py */
	if (dump != NULL) {
		struct json_object *all = json_object_new_object();
		for (portal_plugin *p = ps.head; p; p = p->next) {
			if (p->item == NULL)
				continue;
			struct json_object *g = json_object_new_object(), *sc = json_object_new_object();
			schema_item(sc, p);
			json_object_object_add(g, "schemas", sc);
			json_object_object_add(g, "x-portal-links", registry_links(p));
			json_object_object_add(g, "parameters", schema_filters(p));
			char name[128];
			schema_name(p, "", name, sizeof(name));
			json_object_object_add(g, "name", json_object_new_string(name));
			json_object_object_add(all, p->name, g);
		}
		T_OK(json_object_to_file_ext(dump, all, JSON_C_TO_STRING_PRETTY) == 0, "wrote %s", dump);
		json_object_put(all);
	}
	if (d)
		closedir(d);
	T_OK(tested > 0, "%d plugins with a declared item checked", tested);
	plugin_unload_all(&ps);
	return T_DONE();
}
