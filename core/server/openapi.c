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
	char *text = strdup(json_object_to_json_string_ext(
	    doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	return text;
}
