/*
 * paging.c - a list's page: `limit` (1..100, default 20) and the opaque
 * `cursor` (base64url of a JSON array of the last row's sort keys), for
 * the items' lists and the audit log alike (api->limit, api->cursor_*).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

const char *
paging_cursor_encode(portal_req *r, struct json_object *keys)
{
	const char *s = json_object_to_json_string_ext(keys, JSON_C_TO_STRING_PLAIN);
	return auth_b64url(r->pool, (const unsigned char *)s, strlen(s));
}

struct json_object *
paging_cursor_decode(portal_req *r, const char *cursor)
{
	size_t n = 0;
	unsigned char *raw = NULL;
	if (strlen(cursor) <= 2048)
		raw = auth_b64url_decode(r->pool, cursor, &n);
	struct json_object *o = NULL;
	if (raw && n > 0 && valid_utf8((const char *)raw, n)) {
		struct json_tokener *tok = json_tokener_new_ex(4);
		if (tok) {
			o = json_tokener_parse_ex(tok, (const char *)raw, (int)n);
			if (json_tokener_get_error(tok) != json_tokener_success ||
			    json_tokener_get_parse_end(tok) != n) {
				json_object_put(o);
				o = NULL;
			}
			json_tokener_free(tok);
		}
	}
	if (o == NULL || !json_object_is_type(o, json_type_array)) {
		json_object_put(o);
		out_field_error(r, "cursor", "is not a cursor this server gave out; start without it");
		return NULL;
	}
	return pool_keep_json(r->pool, o);
}

int
paging_limit(portal_req *r)
{
	const char *s = req_query(r, "limit");
	if (s == NULL)
		return 20;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno || v < 1 || v > 100) {
		out_field_error(r, "limit", "must be a whole number from 1 to 100");
		return -1;
	}
	return (int)v;
}
