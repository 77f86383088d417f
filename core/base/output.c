/*
 * output.c - responses.  A handler's response is kept on the request and
 * written after the handler returned and its transaction committed, so a
 * client never sees a 2xx for a write that did not land.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core.h"

const char *
out_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 507: return "Insufficient Storage";
	case 422: return "Unprocessable Content";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return status < 400 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
	}
}

void
out_header(struct portal_req *r, const char *name, const char *value)
{
	/* header injection: names are tokens, values single-line */
	for (const char *c = name; *c; c++)
		if (*c <= ' ' || *c == ':' || (unsigned char)*c >= 0x7f)
			return;
	for (const char *c = value; *c; c++)
		if (*c == '\r' || *c == '\n' || *c == '\0')
			return;
	struct req_header **pp = &r->resp_headers;
	while (*pp) {
		if (strcasecmp((*pp)->name, name) == 0) { /* replace */
			(*pp)->value = pool_strdup(r->pool, value);
			return;
		}
		pp = &(*pp)->next;
	}
	struct req_header *h = pool_alloc(r->pool, sizeof(*h));
	h->name = pool_strdup(r->pool, name);
	h->value = pool_strdup(r->pool, value);
	*pp = h;
}

/* Is `tag` in the comma-separated list `hdr`?  W/ is ignored (weak
 * comparison) when `weak`. */
int
out_etag_listed(const char *hdr, const char *tag, int weak)
{
	if (hdr == NULL || tag == NULL)
		return 0;
	const char *p = hdr;
	size_t tl = strlen(tag);
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (weak && strncmp(p, "W/", 2) == 0)
			p += 2;
		size_t n = strcspn(p, ",");
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n == tl && strncmp(p, tag, tl) == 0)
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}

void
out_json(struct portal_req *r, int status, struct json_object *body)
{
	/* the request owns the body from here; a replaced one is released too */
	if (body != NULL)
		pool_keep_json(r->pool, body);
	r->status = status;
	r->responded = 1;
	r->content_type = "application/json";
	r->resp_json = body;
	r->resp_raw = NULL;
}

void
out_field_error(struct portal_req *r, const char *field, const char *msg)
{
	if (r->errors == NULL)
		r->errors = pool_keep_json(r->pool, json_object_new_array());
	if (json_object_array_length(r->errors) >= 100)
		return;
	/* one message per field: the first (a hook's own reason, such as
	 * "the title has no letters to make one of") says more than a
	 * later generic one ("is required") */
	for (size_t i = 0; i < json_object_array_length(r->errors); i++) {
		struct json_object *f;
		if (json_object_object_get_ex(json_object_array_get_idx(r->errors, i), "field", &f) &&
		    strcmp(json_object_get_string(f), field) == 0)
			return;
	}
	struct json_object *e = json_object_new_object();
	json_object_object_add(e, "field", json_object_new_string(field));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_array_add(r->errors, e);
}

void
out_problem(struct portal_req *r, int status, const char *detail)
{
	struct json_object *p = json_object_new_object();
	json_object_object_add(p, "type", json_object_new_string("about:blank"));
	json_object_object_add(p, "title", json_object_new_string(out_reason(status)));
	json_object_object_add(p, "status", json_object_new_int(status));
	if (detail)
		json_object_object_add(p, "detail", json_object_new_string(detail));
	if (r->request_id)
		json_object_object_add(
		    p, "instance", json_object_new_string(pool_printf(r->pool, "urn:request:%s", r->request_id)));
	if (r->errors && json_object_array_length(r->errors) > 0)
		json_object_object_add(p, "errors", json_object_get(r->errors));
	out_json(r, status, p);
	r->content_type = "application/problem+json";
	if (status == 503)
		out_header(r, "Retry-After", "5");
	if (status == 401)
		out_header(r, "WWW-Authenticate", "Bearer realm=\"portal\"");
}

int
out_send(struct portal_req *r)
{
	struct buf b;
	const char *body = NULL;
	size_t blen = 0;
	int status = r->status ? r->status : 500;
	int with_body = status != 204 && status != 304 && strcmp(r->method ? r->method : "", "HEAD") != 0;

	if (r->resp_json) {
		body = json_object_to_json_string_ext(r->resp_json, JSON_C_TO_STRING_PLAIN |
		                                                        JSON_C_TO_STRING_NOSLASHESCAPE);
		blen = strlen(body);
	} else if (r->resp_raw) {
		body = r->resp_raw;
		blen = r->resp_raw_len;
	}
	buf_init(&b, r->pool);
	buf_printf(&b, "Status: %d %s\r\n", status, out_reason(status));
	if (status != 204 && status != 304 && r->content_type)
		buf_printf(&b, "Content-Type: %s%s\r\n", r->content_type,
		           strncmp(r->content_type, "text/", 5) == 0 ? "; charset=utf-8" : "");
	buf_puts(&b, "X-Content-Type-Options: nosniff\r\n");
	if (status >= 400)
		buf_puts(&b, "Cache-Control: no-store\r\n");
	for (struct req_header *h = r->resp_headers; h; h = h->next)
		buf_printf(&b, "%s: %s\r\n", h->name, h->value);
	if (r->resp_head_raw)
		buf_add(&b, r->resp_head_raw, r->resp_head_raw_len);
	if (status != 204 && status != 304)
		buf_printf(&b, "Content-Length: %zu\r\n", with_body ? blen : blen);
	buf_puts(&b, "\r\n");
	if (with_body && blen)
		buf_add(&b, body, blen);
	r->bytes_out = b.len;
	return r->io->write(r->io->ctx, b.data, b.len) < 0 ? PORTAL_ERROR : PORTAL_OK;
}
