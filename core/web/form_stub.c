/* TEMPORARY until the forms branch is merged */
#include "page.h"
struct json_object *
form_doc(struct portal_req *r, const struct portal_field *fields, const struct form *f)
{
	(void)fields, (void)f;
	return pool_keep_json(r->pool, json_object_new_object());
}
struct json_object *
form_values(struct portal_req *r, const struct portal_field *fields, struct json_object *doc)
{
	(void)fields;
	struct json_object *o = pool_keep_json(r->pool, json_object_new_object());
	json_object_object_foreach(doc, k, v) if (json_object_is_type(v, json_type_string))
		json_object_object_add(o, k, json_object_get(v));
	return o;
}
const char *
msg_translate(struct pool *p, const char *lang, const char *english)
{
	(void)p, (void)lang;
	return english;
}
