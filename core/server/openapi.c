/*
 * openapi.c - GET /api/v1/openapi.json: the core's own description
 * (core/server/openapi.json) merged with each plugin's fragment, whose paths are
 * relative to /api/v1/{municipality}.  Built once, before the workers fork.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

int
openapi_register(portal_plugin *p, const char *text)
{
	if (p == NULL || !p->in_init || text == NULL)
		return PORTAL_ERROR;
	struct json_object *o = json_tokener_parse(text), *paths;
	int ok = o && json_object_is_type(o, json_type_object) &&
	         json_object_object_get_ex(o, "paths", &paths) &&
	         json_object_is_type(paths, json_type_object);
	if (ok) {
		size_t nl = strlen(p->name);
		json_object_object_foreach(paths, key, val) {
			(void)val;
			if (key[0] != '/' || strncmp(key + 1, p->name, nl) != 0 ||
			    (key[nl + 1] != '\0' && key[nl + 1] != '/' && key[nl + 1] != '.')) {
				log_msg(PORTAL_LOG_ERR, NULL, "plugin %s: OpenAPI path \"%s\" must start with /%s",
				        p->name, key, p->name);
				ok = 0;
			}
		}
	} else {
		log_msg(PORTAL_LOG_ERR, NULL,
		        "plugin %s: its OpenAPI fragment is not a JSON object with \"paths\"", p->name);
	}
	json_object_put(o);
	if (!ok)
		return PORTAL_ERROR;
	p->openapi = text;
	return PORTAL_OK;
}

static struct json_object *
openapi_member(struct json_object *o, const char *name)
{
	struct json_object *m;
	if (!json_object_object_get_ex(o, name, &m) || !json_object_is_type(m, json_type_object)) {
		m = json_object_new_object();
		json_object_object_add(o, name, m);
	}
	return m;
}

/* The schema a $ref "#/components/schemas/NAME" names in `schemas`, or
 * `o` itself when it is no $ref. */
static struct json_object *
openapi_deref(struct json_object *schemas, struct json_object *o)
{
	struct json_object *ref, *to;
	static const char prefix[] = "#/components/schemas/";
	if (!json_object_object_get_ex(o, "$ref", &ref) || !json_object_is_type(ref, json_type_string))
		return o;
	const char *name = json_object_get_string(ref);
	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0 ||
	    !json_object_object_get_ex(schemas, name + sizeof(prefix) - 1, &to))
		return NULL;
	return to;
}

/* Adds `sources` to the object schema `o` (through $refs and allOf): as
 * the item shows it (`shown`: $ref Sources, required) or as a client
 * writes it (SourcesInput). */
static void
openapi_add_member(struct json_object *schemas, struct json_object *o, const char *name,
                   const char *schema, int required, int depth)
{
	struct json_object *props, *all, *req;
	o = openapi_deref(schemas, o);
	if (o == NULL || !json_object_is_type(o, json_type_object) || depth > 4)
		return;
	if (json_object_object_get_ex(o, "allOf", &all) && json_object_is_type(all, json_type_array))
		for (size_t i = 0; i < json_object_array_length(all); i++)
			openapi_add_member(schemas, json_object_array_get_idx(all, i), name, schema, required,
			                   depth + 1);
	if (!json_object_object_get_ex(o, "properties", &props) ||
	    !json_object_is_type(props, json_type_object) ||
	    json_object_object_get_ex(props, name, NULL))
		return;
	struct json_object *ref = json_object_new_object();
	json_object_object_add(ref, "$ref", json_object_new_string(schema));
	json_object_object_add(props, name, ref);
	if (required && json_object_object_get_ex(o, "required", &req) &&
	    json_object_is_type(req, json_type_array))
		json_object_array_add(req, json_object_new_string(name));
}

static void
openapi_add_sources(struct json_object *schemas, struct json_object *o, int shown, int depth)
{
	openapi_add_member(schemas, o, STORE_SOURCES,
	                   shown ? "#/components/schemas/Sources" : "#/components/schemas/SourcesInput",
	                   shown, depth);
}

/* The schema of operation `method` of path `path` in `paths`: its
 * request body's (`request`) or its 200/201 answer's, application/json. */
static struct json_object *
openapi_op_schema(struct json_object *paths, const char *path, const char *method, int request)
{
	struct json_object *p, *op, *x, *content, *json, *schema;
	if (!json_object_object_get_ex(paths, path, &p) || !json_object_object_get_ex(p, method, &op))
		return NULL;
	if (request) {
		if (!json_object_object_get_ex(op, "requestBody", &x))
			return NULL;
	} else if (!json_object_object_get_ex(op, "responses", &x) ||
	           (!json_object_object_get_ex(x, "200", &x) && !json_object_object_get_ex(x, "201", &x))) {
		return NULL;
	}
	if (!json_object_object_get_ex(x, "content", &content) ||
	    !json_object_object_get_ex(content, "application/json", &json) ||
	    !json_object_object_get_ex(json, "schema", &schema))
		return NULL;
	return schema;
}

/* The core's `sources` member (store.c) in the schemas of a module whose
 * item is declared with a table: the item as GET /{module}/{id} and the
 * list show it, and the bodies of POST and PATCH.  So every module's
 * description has it without the module writing it. */
/* A $ref object. */
static struct json_object *
openapi_ref(const char *to)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "$ref", json_object_new_string(to));
	return o;
}

/* The core's members and routes of every module whose item is declared
 * with a table (store.c, item.c): `uid` in the item as shown, the list's
 * `updated_since`, GET /{module}/uid/{uid} and GET /api/v1/all/{module}
 * (the list's answer, over municipalities). */
static void
openapi_opendata(struct json_object *paths, struct json_object *schemas, const portal_plugin *p)
{
	if (p->store == NULL)
		return;
	char list[128], one[160], byuid[192], all[128];
	snprintf(list, sizeof(list), "/api/v1/{municipality}/%s", p->name);
	snprintf(one, sizeof(one), "/api/v1/{municipality}/%s/{id}", p->name);
	snprintf(byuid, sizeof(byuid), "/api/v1/{municipality}/%s/uid/{uid}", p->name);
	snprintf(all, sizeof(all), "/api/v1/all/%s", p->name);
	struct json_object *items, *lst = openapi_op_schema(paths, list, "get", 0);
	lst = lst ? openapi_deref(schemas, lst) : NULL;
	if (lst && json_object_object_get_ex(lst, "properties", &items) &&
	    json_object_object_get_ex(items, "items", &items) &&
	    json_object_object_get_ex(items, "items", &items))
		openapi_add_member(schemas, items, STORE_UID, "#/components/schemas/Uid", 1, 0);
	struct json_object *shown = openapi_op_schema(paths, one, "get", 0);
	openapi_add_member(schemas, shown, STORE_UID, "#/components/schemas/Uid", 1, 0);

	struct json_object *path, *get, *params;
	if (json_object_object_get_ex(paths, list, &path) && json_object_object_get_ex(path, "get", &get)) {
		if (!json_object_object_get_ex(get, "parameters", &params) ||
		    !json_object_is_type(params, json_type_array)) {
			params = json_object_new_array();
			json_object_object_add(get, "parameters", params);
		}
		/* the all-list: the same operation and answer, over municipalities */
		struct json_object *op = NULL;
		if (json_object_deep_copy(get, &op, NULL) == 0) {
			char id[160];
			snprintf(id, sizeof(id), "listAll_%s", p->name);
			json_object_object_add(op, "operationId", json_object_new_string(id));
			json_object_object_add(op, "security", json_tokener_parse("[{}]"));
			json_object_object_add(op, "summary", json_object_new_string(
			    "The list over every municipality that enables the module (anonymous view)"));
			json_object_object_add(op, "description", json_object_new_string(
			    "The module's list as an anonymous caller sees it, over the municipalities that "
			    "enable the module (all of them, or those named in `municipality`), in the list's "
			    "order, with cursor pages; cacheable (Cache-Control: public, max-age=60)."));
			struct json_object *ps = NULL;
			json_object_object_get_ex(op, "parameters", &ps);
			json_object_array_add(ps, openapi_ref("#/components/parameters/municipalities"));
			struct json_object *pi = json_object_new_object();
			json_object_object_add(pi, "get", op);
			json_object_object_add(paths, all, pi);
		}
		json_object_array_add(params, openapi_ref("#/components/parameters/updatedSince"));
	}
	if (shown != NULL && json_object_object_get_ex(paths, one, &path) &&
	    json_object_object_get_ex(path, "get", &get)) {
		struct json_object *op = json_object_new_object(), *ps = json_object_new_array();
		char id[160], summary[160];
		snprintf(id, sizeof(id), "byUid_%s", p->name);
		snprintf(summary, sizeof(summary), "One %s by its uid", p->item->noun);
		struct json_object *tags = json_object_new_array();
		json_object_array_add(tags, json_object_new_string(p->name));
		json_object_object_add(op, "tags", tags);
		json_object_object_add(op, "operationId", json_object_new_string(id));
		json_object_object_add(op, "summary", json_object_new_string(summary));
		json_object_object_add(op, "description", json_object_new_string(
		    "The item itself, as GET /{module}/{id} answers it, with Content-Location naming that "
		    "URL; 404 when the municipality has no such item (or the caller may not see it)."));
		json_object_object_add(op, "security", json_tokener_parse("[{}, {\"bearer\": []}]"));
		json_object_array_add(ps, openapi_ref("#/components/parameters/municipality"));
		json_object_array_add(ps, openapi_ref("#/components/parameters/uid"));
		json_object_object_add(op, "parameters", ps);
		struct json_object *res = json_object_new_object(), *ok = json_object_new_object(),
		                   *content = json_object_new_object(), *media = json_object_new_object();
		json_object_object_add(media, "schema", json_object_get(shown));
		json_object_object_add(content, "application/json", media);
		json_object_object_add(ok, "description", json_object_new_string("The item."));
		json_object_object_add(ok, "content", content);
		json_object_object_add(res, "200", ok);
		json_object_object_add(res, "404", openapi_ref("#/components/responses/NotFound"));
		json_object_object_add(op, "responses", res);
		struct json_object *pi = json_object_new_object();
		json_object_object_add(pi, "get", op);
		json_object_object_add(paths, byuid, pi);
	}
}

static void
openapi_sources(struct json_object *paths, struct json_object *schemas, const portal_plugin *p)
{
	if (p->store == NULL)
		return;
	for (const struct portal_field *f = p->item->schema; f && f->name; f++)
		if (strcmp(f->name, STORE_SOURCES) == 0 && f->items != store_sources.items)
			return; /* the module's own sources: its own description */
	char list[128], one[160];
	snprintf(list, sizeof(list), "/api/v1/{municipality}/%s", p->name);
	snprintf(one, sizeof(one), "/api/v1/{municipality}/%s/{id}", p->name);
	struct json_object *items, *lst = openapi_op_schema(paths, list, "get", 0);
	lst = lst ? openapi_deref(schemas, lst) : NULL;
	if (lst && json_object_object_get_ex(lst, "properties", &items) &&
	    json_object_object_get_ex(items, "items", &items) &&
	    json_object_object_get_ex(items, "items", &items))
		openapi_add_sources(schemas, items, 1, 0);
	openapi_add_sources(schemas, openapi_op_schema(paths, one, "get", 0), 1, 0);
	openapi_add_sources(schemas, openapi_op_schema(paths, list, "post", 1), 0, 0);
	openapi_add_sources(schemas, openapi_op_schema(paths, one, "patch", 1), 0, 0);
}

/* The name of parameter `p` (a $ref into components.parameters resolved). */
static const char *
openapi_param_name(struct json_object *comps, struct json_object *p)
{
	struct json_object *v, *params, *to;
	static const char prefix[] = "#/components/parameters/";
	if (json_object_object_get_ex(p, "name", &v))
		return json_object_get_string(v);
	if (!json_object_object_get_ex(p, "$ref", &v))
		return NULL;
	const char *ref = json_object_get_string(v);
	if (strncmp(ref, prefix, sizeof(prefix) - 1) != 0 ||
	    !json_object_object_get_ex(comps, "parameters", &params) ||
	    !json_object_object_get_ex(params, ref + sizeof(prefix) - 1, &to) ||
	    !json_object_object_get_ex(to, "name", &v))
		return NULL;
	return json_object_get_string(v);
}

/* Appends to the parameters of operation `op` those of `want` (the
 * module's filters, q, limit, cursor) it does not have by name; `list`
 * 0 (an export): not limit and cursor. */
static void
openapi_params(struct json_object *comps, struct json_object *op, struct json_object *want,
               int list)
{
	struct json_object *have;
	if (!json_object_object_get_ex(op, "parameters", &have) ||
	    !json_object_is_type(have, json_type_array)) {
		have = json_object_new_array();
		json_object_object_add(op, "parameters", have);
	}
	size_t n = json_object_array_length(have);
	for (size_t i = 0; i < json_object_array_length(want); i++) {
		struct json_object *w = json_object_array_get_idx(want, i);
		const char *name = openapi_param_name(comps, w);
		if (name == NULL || (!list && (strcmp(name, "limit") == 0 || strcmp(name, "cursor") == 0)))
			continue;
		int found = 0;
		for (size_t k = 0; k < n && !found; k++) {
			const char *h = openapi_param_name(comps, json_object_array_get_idx(have, k));
			found = h && strcmp(h, name) == 0;
		}
		if (!found)
			json_object_array_add(have, json_object_get(w));
	}
}

/* What the declaration of a module's item says (schema.c): its schemas,
 * the query parameters of its list and exports (GET /NAME.EXT: the list's
 * filters and q apply), and the POST's x-portal-links, where the module's
 * fragment does not say them itself. */
static void
openapi_item(struct json_object *paths, struct json_object *comps, const portal_plugin *p)
{
	if (p->item == NULL || p->item->schema == NULL || p->openapi == NULL)
		return; /* no operations of its own in the document to refer to them */
	schema_item(openapi_member(comps, "schemas"), p);
	char prefix[128];
	int pl = snprintf(prefix, sizeof(prefix), "/api/v1/{municipality}/%s", p->name);
	struct json_object *want = schema_filters(p), *op;
	json_object_object_foreach(paths, key, path) {
		if (strncmp(key, prefix, (size_t)pl) != 0 || (key[pl] != '\0' && key[pl] != '.'))
			continue;
		if (json_object_object_get_ex(path, "get", &op))
			openapi_params(comps, op, want, key[pl] == '\0');
		if (key[pl] == '\0' && json_object_object_get_ex(path, "post", &op) &&
		    !json_object_object_get_ex(op, "x-portal-links", NULL)) {
			struct json_object *links = registry_links(p);
			if (json_object_object_length(links) > 0)
				json_object_object_add(op, "x-portal-links", links);
			else
				json_object_put(links);
		}
	}
	json_object_put(want);
}

char *
openapi_build(struct plugins *ps)
{
	struct json_object *doc = json_tokener_parse(core_openapi);
	if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
		log_msg(PORTAL_LOG_ERR, NULL, "core/server/openapi.json is not a JSON object");
		json_object_put(doc);
		return NULL;
	}
	struct json_object *paths = openapi_member(doc, "paths");
	struct json_object *comps = openapi_member(doc, "components");
	for (portal_plugin *p = ps->head; p; p = p->next) {
		if (p->openapi == NULL)
			continue;
		struct json_object *frag = json_tokener_parse(p->openapi), *fp, *fc;
		if (json_object_object_get_ex(frag, "paths", &fp)) {
			json_object_object_foreach(fp, key, val) {
				char full[512];
				snprintf(full, sizeof(full), "/api/v1/{municipality}%s", key);
				json_object_object_add(paths, full, json_object_get(val));
			}
		}
		struct json_object *ft;
		if (json_object_object_get_ex(frag, "tags", &ft) && json_object_is_type(ft, json_type_array)) {
			struct json_object *tags;
			if (!json_object_object_get_ex(doc, "tags", &tags) ||
			    !json_object_is_type(tags, json_type_array)) {
				tags = json_object_new_array();
				json_object_object_add(doc, "tags", tags);
			}
			for (size_t i = 0; i < json_object_array_length(ft); i++)
				json_object_array_add(tags, json_object_get(json_object_array_get_idx(ft, i)));
		}
		if (json_object_object_get_ex(frag, "components", &fc) &&
		    json_object_is_type(fc, json_type_object)) {
			json_object_object_foreach(fc, section, members) {
				if (!json_object_is_type(members, json_type_object))
					continue;
				struct json_object *dst = openapi_member(comps, section);
				json_object_object_foreach(members, name, def) {
					if (json_object_object_get_ex(dst, name, NULL)) {
						log_msg(PORTAL_LOG_WARN, NULL,
						        "plugin %s: OpenAPI components.%s.%s already defined; "
						        "keeping the first",
						        p->name, section, name);
						continue;
					}
					json_object_object_add(dst, name, json_object_get(def));
				}
			}
		}
		json_object_put(frag);
	}
	struct json_object *schemas = openapi_member(comps, "schemas");
	for (portal_plugin *p = ps->head; p; p = p->next)
		openapi_item(paths, comps, p);
	for (portal_plugin *p = ps->head; p; p = p->next) {
		openapi_sources(paths, schemas, p);
		openapi_opendata(paths, schemas, p);
	}
	char *text = strdup(json_object_to_json_string_ext(
	    doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	return text;
}
