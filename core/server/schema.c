/*
 * schema.c - the JSON Schemas of a declared item (struct portal_item's
 * fields), for the OpenAPI document (openapi.c): what the validator
 * (core/base/valid.c) accepts and what the store (core/items/store.c)
 * shows, said once, by the table.  For an item whose noun is "fund":
 *
 *   Fund       the item as a list shows it: every member present
 *   FundItem   a single item of a link target: a Fund with `linked`
 *   FundList   {"items": [Fund], "next": Cursor}
 *   FundInput  the body of POST: the required members, null for the others
 *   FundPatch  the body of PATCH (RFC 7396): null only where the server
 *              accepts null, i.e. for optional members
 *
 * and the module's "x-portal-links" ({"partners[].partnership_id":
 * "partnerships"}) from the fields' `link`, and the list's query
 * parameters from its filters.  The core's `uid` and `sources` are added
 * by openapi.c, as for any item.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

enum schema_mode {
	SCHEMA_SHOWN, /* as the store shows it: every member present */
	SCHEMA_INPUT, /* as a client writes it on create (and an array's items on patch) */
	SCHEMA_PATCH, /* a merge patch: nothing required */
	SCHEMA_SERVER /* a PF_READONLY member, as the module's hooks make it: shown, and
	               * a string's length only where the field declares one */
};

#define SCHEMA_LANG_PATTERN "^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
#define SCHEMA_URL_PATTERN "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#.\\s\"<>\\\\`][^\\s\"<>\\\\`]*$"

static struct json_object *schema_object(const struct portal_field *fields, enum schema_mode mode);

static struct json_object *
schema_ref(const char *name)
{
	char to[256];
	snprintf(to, sizeof(to), "#/components/schemas/%s", name);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "$ref", json_object_new_string(to));
	return o;
}

static struct json_object *
schema_type(const char *type)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(type));
	return o;
}

static void
schema_int(struct json_object *o, const char *key, long long v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static void
schema_num(struct json_object *o, const char *key, double v)
{
	if (v >= 9223372036854775807.0) /* the largest id: what json-c reads of a BIGINT */
		json_object_object_add(o, key, json_object_new_int64(INT64_MAX));
	else if (v > -9.2e18 && v < 9.2e18 && v == (double)(long long)v)
		json_object_object_add(o, key, json_object_new_int64((long long)v));
	else
		json_object_object_add(o, key, json_object_new_double(v));
}

static void
schema_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

/* A string of 1..max characters (min 0: may be empty); lengths count
 * characters, as the validator does. */
static struct json_object *
schema_string(size_t min, size_t max)
{
	struct json_object *o = schema_type("string");
	if (min)
		schema_int(o, "minLength", (long long)min);
	schema_int(o, "maxLength", (long long)max);
	return o;
}

/* The value of field f, null aside. */
static struct json_object *
schema_value(const struct portal_field *f, enum schema_mode mode)
{
	struct json_object *o, *a;
	switch (f->type) {
	case PF_STRING:
		if (f->flags & PF_UTC)
			return schema_ref("Timestamp");
		if (mode == SCHEMA_SERVER) {
			o = schema_type("string");
			if (f->max)
				schema_int(o, "maxLength", (long long)f->max);
			return o;
		}
		o = schema_string(1, f->max ? f->max : 200);
		if (f->pattern != NULL || (f->flags & PF_SLUG))
			schema_str(o, "pattern", f->pattern ? f->pattern : PORTAL_SLUG_PATTERN);
		return o;
	case PF_TEXT:
		if (mode == SCHEMA_SERVER && !f->max)
			return schema_type("string");
		return schema_string(0, f->max ? f->max : 20000);
	case PF_INT:
	case PF_NUMBER:
		o = schema_type(f->type == PF_INT ? "integer" : "number");
		if (f->min != 0 || f->max_num != 0) { /* else the module's (render) */
			schema_num(o, "minimum", f->min);
			schema_num(o, "maximum", f->max_num);
		}
		return o;
	case PF_BOOL:
		return schema_type("boolean");
	case PF_ENUM:
		o = schema_type("string");
		a = json_object_new_array();
		for (const char *const *v = f->values; v && *v; v++)
			json_object_array_add(a, json_object_new_string(*v));
		json_object_object_add(o, "enum", a);
		return o;
	case PF_DATE:
		return schema_ref("PartialDate");
	case PF_COUNTRY:
		return schema_ref("Country");
	case PF_CURRENCY:
		return schema_ref("Currency");
	case PF_LANG:
		o = schema_string(0, 35);
		schema_str(o, "pattern", SCHEMA_LANG_PATTERN);
		return o;
	case PF_URL:
		/* no "format": "uri": the validator (valid_url) also takes what an
		 * RFC 3986 URI does not (Borlänge, {, |), so the pattern is its rule */
		o = schema_string(0, f->max ? f->max : 2000);
		schema_str(o, "pattern", SCHEMA_URL_PATTERN);
		return o;
	case PF_QID:
		o = schema_type("string");
		schema_str(o, "pattern", "^Q[1-9][0-9]{0,10}$");
		return o;
	case PF_LANGMAP:
		o = schema_type("object");
		schema_int(o, "maxProperties", 30);
		a = schema_string(0, 35);
		schema_str(a, "pattern", SCHEMA_LANG_PATTERN);
		json_object_object_add(o, "propertyNames", a);
		json_object_object_add(o, "additionalProperties", schema_string(0, f->max ? f->max : 20000));
		return o;
	case PF_OBJECT:
		if (f->fields == NULL)
			return schema_type("object");
		return schema_object(f->fields, mode);
	case PF_ARRAY:
		o = schema_type("array");
		schema_int(o, "maxItems", (long long)(f->max ? f->max : 100));
		if (f->flags & PF_UNIQUE)
			json_object_object_add(o, "uniqueItems", json_object_new_boolean(1));
		if (f->items != NULL) {
			/* shown: objects with exactly their members when PF_SHAPED,
			 * else as they were written; written: whole (a merge patch
			 * replaces an array) */
			enum schema_mode m = SCHEMA_INPUT;
			if (mode == SCHEMA_SERVER)
				m = SCHEMA_SERVER;
			else if (mode == SCHEMA_SHOWN && (f->flags & (PF_SHAPED | PF_EXTERNAL)))
				m = SCHEMA_SHOWN; /* the store's, the module's: every member */
			json_object_object_add(o, "items", schema_value(f->items, m));
		}
		return o;
	}
	return json_object_new_object();
}

/* 1 when field f may be null in `mode`. */
static int
schema_nullable(const struct portal_field *f, enum schema_mode mode)
{
	if (mode == SCHEMA_PATCH && (f->flags & PF_KEPT))
		return 0; /* removed only with others: the module's check */
	if (mode == SCHEMA_INPUT || mode == SCHEMA_PATCH) /* the validator: null is "absent", refused for a required member */
		return !(f->flags & PF_REQUIRED) || (f->flags & PF_NULLABLE);
	switch (f->type) { /* the store: arrays [], maps {}, booleans false when not known */
	case PF_ARRAY:
	case PF_LANGMAP:
	case PF_BOOL:
		return 0;
	case PF_OBJECT:
		return (f->flags & PF_NULLABLE) != 0;
	default:
		return !(f->flags & PF_REQUIRED) || (f->flags & PF_NULLABLE);
	}
}

static struct json_object *
schema_field(const struct portal_field *f, enum schema_mode mode)
{
	if (mode == SCHEMA_SHOWN && (f->flags & PF_READONLY))
		mode = SCHEMA_SERVER;
	struct json_object *v = schema_value(f, mode);
	if (f->doc != NULL) {
		schema_str(v, "description", f->doc);
	} else if ((f->flags & PF_READONLY) && f->from != NULL) { /* the core renders it (store.c) */
		char doc[160];
		snprintf(doc, sizeof(doc),
		         "The %.40s as HTML: raw HTML removed, links only to http(s), mailto, tel or "
		         "relative URLs.",
		         f->from);
		schema_str(v, "description", doc);
	} else if (f->flags & PF_MARKDOWN) {
		schema_str(v, "description", "CommonMark.");
	}
	if (!schema_nullable(f, mode))
		return v;
	struct json_object *any = json_object_new_array(), *o = json_object_new_object();
	json_object_array_add(any, v);
	json_object_array_add(any, schema_type("null"));
	json_object_object_add(o, "anyOf", any);
	return o;
}

/* Adds the members `fields` to `props` (and `req`, NULL in a patch). */
static void
schema_members(const struct portal_field *fields, enum schema_mode mode, struct json_object *props,
               struct json_object *req, struct json_object *defaults)
{
	for (const struct portal_field *f = fields; f && f->name; f++) {
		if ((mode == SCHEMA_INPUT || mode == SCHEMA_PATCH) && (f->flags & PF_READONLY))
			continue;
		if (f == &store_sources || (strcmp(f->name, STORE_SOURCES) == 0 &&
		                            f->items == store_sources.items))
			continue; /* the core's: openapi.c adds it */
		struct json_object *s = schema_field(f, mode), *def;
		int optional = 0; /* on create: a default or a hook fills it in */
		if (mode == SCHEMA_INPUT && defaults != NULL &&
		    json_object_object_get_ex(defaults, f->name, &def)) {
			json_object_object_add(s, "default", json_object_get(def));
			optional = 1;
		}
		/* a hook, or the core (a PF_SLUG made of `from`), fills it in */
		if (mode == SCHEMA_INPUT && ((f->flags & PF_DERIVED) || ((f->flags & PF_SLUG) && f->from))) {
			optional = 1;
			if (!schema_nullable(f, mode)) { /* null means "derive it" too */
				struct json_object *any = json_object_new_array(), *o = json_object_new_object();
				json_object_array_add(any, s);
				json_object_array_add(any, schema_type("null"));
				json_object_object_add(o, "anyOf", any);
				s = o;
			}
		}
		json_object_object_add(props, f->name, s);
		if (req != NULL && (mode == SCHEMA_SHOWN || mode == SCHEMA_SERVER ||
		                    ((f->flags & PF_REQUIRED) && !optional)))
			json_object_array_add(req, json_object_new_string(f->name));
	}
}

static struct json_object *
schema_object(const struct portal_field *fields, enum schema_mode mode)
{
	struct json_object *o = schema_type("object"), *props = json_object_new_object();
	struct json_object *req = mode == SCHEMA_PATCH ? NULL : json_object_new_array();
	json_object_object_add(o, "additionalProperties", json_object_new_boolean(0));
	schema_members(fields, mode, props, req, NULL);
	if (req != NULL && json_object_array_length(req) > 0)
		json_object_object_add(o, "required", req);
	else
		json_object_put(req);
	json_object_object_add(o, "properties", props);
	return o;
}

void
schema_name(const portal_plugin *p, const char *suffix, char *out, size_t n)
{
	size_t k = 0;
	int up = 1;
	for (const char *s = p->item->noun; s && *s && k + 1 < n; s++) {
		if (!isalnum((unsigned char)*s)) {
			up = 1;
			continue;
		}
		out[k++] = up ? (char)toupper((unsigned char)*s) : *s;
		up = 0;
	}
	out[k] = '\0';
	snprintf(out + k, n - k, "%s", suffix);
}

/* Adds to `schemas` what it lacks of one schema, named after the noun. */
static void
schema_put(struct json_object *schemas, const portal_plugin *p, const char *suffix,
           struct json_object *s)
{
	char name[128];
	schema_name(p, suffix, name, sizeof(name));
	if (json_object_object_get_ex(schemas, name, NULL))
		json_object_put(s); /* the fragment's own */
	else
		json_object_object_add(schemas, name, s);
}

static void
schema_server(struct json_object *props, struct json_object *req, const char *name,
              struct json_object *s)
{
	json_object_object_add(props, name, s);
	if (req)
		json_object_array_add(req, json_object_new_string(name));
}

void
schema_item(struct json_object *schemas, const portal_plugin *p)
{
	const struct portal_item *it = p->item;
	if (it == NULL || it->schema == NULL)
		return;
	char name[128], ref[160];

	/* the item as the store shows it: id, municipality, the members, the
	 * times, version; `linked` on single items of a link target */
	struct json_object *o = schema_type("object"), *props = json_object_new_object();
	struct json_object *req = json_object_new_array(), *id = schema_type("integer");
	schema_int(id, "minimum", 1);
	json_object_object_add(o, "additionalProperties", json_object_new_boolean(0));
	schema_server(props, req, "id", id);
	schema_server(props, req, "municipality", schema_type("string"));
	schema_members(it->schema, SCHEMA_SHOWN, props, req, NULL);
	schema_server(props, req, "created_at", schema_ref("Timestamp"));
	schema_server(props, req, "updated_at", schema_ref("Timestamp"));
	struct json_object *version = schema_type("integer");
	schema_int(version, "minimum", 1);
	schema_server(props, req, "version", version);
	int target = it->link_target || it->exists != NULL;
	if (target)
		schema_server(props, NULL, "linked", schema_ref("Links"));
	json_object_object_add(o, "required", req);
	json_object_object_add(o, "properties", props);
	schema_str(o, "description",
	           target ? "As lists show it: every member present (null, [] or {} when not known); "
	                    "`linked` only on single items."
	                  : "As lists and single items show it: every member present (null, [] or {} "
	                    "when not known).");
	schema_put(schemas, p, "", o);

	schema_name(p, "", name, sizeof(name));
	snprintf(ref, sizeof(ref), "%s", name);
	if (target) { /* a single item: with what links to it */
		struct json_object *one = json_object_new_object(), *all = json_object_new_array(),
		                   *more = json_object_new_object(), *lr = json_object_new_array();
		json_object_array_add(all, schema_ref(ref));
		json_object_array_add(lr, json_object_new_string("linked"));
		json_object_object_add(more, "required", lr);
		json_object_array_add(all, more);
		json_object_object_add(one, "allOf", all);
		schema_str(one, "description", "A single item (GET, and the answers of POST and PATCH): "
		                               "with `linked`, what links to it.");
		schema_put(schemas, p, "Item", one);
	}

	struct json_object *list = schema_type("object"), *lp = json_object_new_object(),
	                   *lreq = json_object_new_array(), *items = schema_type("array");
	json_object_array_add(lreq, json_object_new_string("items"));
	json_object_array_add(lreq, json_object_new_string("next"));
	json_object_object_add(list, "required", lreq);
	json_object_object_add(list, "additionalProperties", json_object_new_boolean(0));
	schema_int(items, "maxItems", 100);
	json_object_object_add(items, "items", schema_ref(ref));
	json_object_object_add(lp, "items", items);
	json_object_object_add(lp, "next", schema_ref("Cursor"));
	json_object_object_add(list, "properties", lp);
	schema_put(schemas, p, "List", list);

	struct json_object *input = schema_type("object"), *ip = json_object_new_object(),
	                   *ireq = json_object_new_array();
	struct json_object *defaults = it->defaults ? json_tokener_parse(it->defaults) : NULL;
	json_object_object_add(input, "additionalProperties", json_object_new_boolean(0));
	schema_members(it->schema, SCHEMA_INPUT, ip, ireq, defaults);
	json_object_put(defaults);
	json_object_object_add(input, "required", ireq);
	json_object_object_add(input, "properties", ip);
	schema_str(input, "description", "A new item. Absent or null members are not known; "
	                                 "server-owned and unknown members are a 422.");
	schema_put(schemas, p, "Input", input);
	struct json_object *patch = schema_object(it->schema, SCHEMA_PATCH);
	schema_str(patch, "description", "JSON merge patch (RFC 7396); the result must be valid.");
	schema_put(schemas, p, "Patch", patch);
}

struct json_object *
schema_filters(const portal_plugin *p)
{
	struct json_object *ps = json_object_new_array();
	const struct portal_filter *fl = p->item ? p->item->filters : NULL;
	for (; fl && fl->name; fl++) {
		struct json_object *q = json_object_new_object();
		schema_str(q, "name", fl->name);
		schema_str(q, "in", "query");
		if (fl->doc != NULL)
			schema_str(q, "description", fl->doc);
		struct portal_field f = {.name = fl->name, .type = fl->type, .values = fl->values};
		/* a string the filter's parse checks: its length is the parse's;
		 * a pattern says what the parse takes, whatever the type (news'
		 * since is a date in forms, and takes a timestamp too) */
		struct json_object *v;
		if (fl->pattern != NULL) {
			v = json_object_new_object();
			schema_str(v, "type", "string");
			schema_str(v, "pattern", fl->pattern);
		} else {
			v = schema_value(&f, fl->type == PF_STRING ? SCHEMA_SERVER : SCHEMA_INPUT);
		}
		if (fl->type == PF_INT) /* an item's id (api->parse_id) */
			schema_int(v, "minimum", 1);
		if (fl->example != NULL)
			schema_str(q, "example", fl->example);
		json_object_object_add(q, "schema", v);
		json_object_array_add(ps, q);
	}
	static const char *const core_params[] = {"q", "limit", "cursor"};
	for (size_t i = 0; i < sizeof(core_params) / sizeof(*core_params); i++) {
		char to[96];
		snprintf(to, sizeof(to), "#/components/parameters/%s", core_params[i]);
		struct json_object *o = json_object_new_object();
		schema_str(o, "$ref", to);
		json_object_array_add(ps, o);
	}
	return ps;
}
