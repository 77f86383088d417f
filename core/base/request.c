/*
 * request.c - one request, read through struct req_io so that the parsing
 * can be tested and fuzzed without FastCGI: method, path segments, query
 * arguments (percent-decoded, valid UTF-8), headers and the JSON body.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uninorm.h>

#include "core.h"

#define REQ_MAX_URI 8192

static int
req_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
req_percent_decode(char *s, int plus_is_space)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (*p == '%') {
			int hi = req_hex(p[1]), lo = hi >= 0 ? req_hex(p[2]) : -1;
			if (hi < 0 || lo < 0)
				return -1;
			*w++ = (char)(hi * 16 + lo);
			p += 2;
		} else if (*p == '+' && plus_is_space) {
			*w++ = ' ';
		} else {
			*w++ = *p;
		}
	}
	size_t n = (size_t)(w - s);
	*w = '\0';
	/* a decoded NUL would cut the string: refuse it with bad UTF-8 */
	if (memchr(s, '\0', n) != NULL || !valid_utf8(s, n))
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
	return 0;
}

static int
req_method_known(const char *m)
{
	static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
	                                    "OPTIONS", NULL};
	for (const char *const *k = known; *k; k++)
		if (strcmp(m, *k) == 0)
			return 1;
	return 0;
}

int
req_parse(struct portal_req *r, const char **detail)
{
	const char *m = r->io->param(r->io->ctx, "REQUEST_METHOD");
	r->method = m ? m : "GET";
	if (!req_method_known(r->method)) {
		*detail = "unknown request method";
		return 501;
	}
	const char *uri = r->io->param(r->io->ctx, "REQUEST_URI");
	if (uri == NULL)
		uri = r->io->param(r->io->ctx, "DOCUMENT_URI");
	if (uri == NULL || uri[0] != '/')
		uri = "/";
	if (strlen(uri) > REQ_MAX_URI) {
		*detail = "the URI is too long";
		return 414;
	}
	r->uri = uri;
	const char *q = strchr(uri, '?');
	size_t plen = q ? (size_t)(q - uri) : strlen(uri);
	char *path = pool_strndup(r->pool, uri, plen);

	/* segments: "/a/b%20c/" -> ["a", "b c"]; one trailing slash ignored */
	size_t cap = 1;
	for (const char *c = path; *c; c++)
		cap += *c == '/';
	r->seg = pool_alloc(r->pool, cap * sizeof(char *));
	r->nseg = 0;
	char *s = path + 1;
	while (*s || r->nseg == 0) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		if (req_percent_decode(s, 0) != 0 || strchr(s, '/') != NULL) {
			*detail = "the path is not valid percent-encoded UTF-8";
			return 400;
		}
		r->seg[r->nseg++] = s;
		if (!slash)
			break;
		s = slash + 1;
	}
	if (r->nseg == 1 && r->seg[0][0] == '\0')
		r->nseg = 0;
	r->path = pool_strndup(r->pool, uri, plen);

	const char *qs = r->io->param(r->io->ctx, "QUERY_STRING");
	if (qs == NULL && q)
		qs = q + 1;
	size_t max_args = r->max_args ? r->max_args : REQ_MAX_ARGS;
	if (qs && *qs) {
		char *copy = pool_strdup(r->pool, qs), *save = NULL;
		r->args = pool_alloc(r->pool, max_args * sizeof(*r->args));
		for (char *kv = strtok_r(copy, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');
			if (eq)
				*eq++ = '\0';
			if (req_percent_decode(kv, 1) != 0) {
				*detail = "a query parameter name is not valid percent-encoded UTF-8";
				return 400;
			}
			if (eq && req_percent_decode(eq, 1) != 0) {
				out_field_error(r, kv, "is not valid percent-encoded UTF-8 text");
				*detail = "invalid query parameter";
				return 400;
			}
			if (*kv == '\0')
				continue;
			if (r->nargs == max_args) {
				*detail = "too many query parameters";
				return 400;
			}
			r->args[r->nargs].name = kv;
			r->args[r->nargs].value = eq ? eq : (char *)"";
			r->nargs++;
		}
	}
	r->request_id = r->io->param(r->io->ctx, "REQUEST_ID");
	if (r->request_id) {
		/* only a token that is safe in logs and JSON */
		for (const char *c = r->request_id; *c; c++)
			if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
				r->request_id = NULL;
		if (r->request_id && strlen(r->request_id) > 64)
			r->request_id = NULL;
	}
	return 0;
}

const char *
req_query(struct portal_req *r, const char *name)
{
	if (r->arg_keyed && !r->arg_keyed(r, name))
		r->arg_unkeyed = 1;
	for (size_t i = 0; i < r->nargs; i++)
		if (strcmp(r->args[i].name, name) == 0)
			return r->args[i].value;
	return NULL;
}

const char *
req_param(struct portal_req *r, const char *name)
{
	for (size_t i = 0; i < r->match.nparams; i++) {
		const char *n = r->match.names[i]; /* "{id}" */
		size_t len = strlen(n);
		if (len - 2 == strlen(name) && strncmp(n + 1, name, len - 2) == 0)
			return r->match.values[i];
	}
	return NULL;
}

struct db *
req_db(struct portal_req *r)
{
	return r->db ? r->db : r->core->db;
}

const char *
req_header(struct portal_req *r, const char *name)
{
	char key[128];
	size_t n = strlen(name);
	if (n + 6 > sizeof(key))
		return NULL;
	if (strcasecmp(name, "Content-Type") == 0 || strcasecmp(name, "Content-Length") == 0) {
		key[0] = '\0';
	} else {
		memcpy(key, "HTTP_", 5);
		key[5] = '\0';
	}
	size_t k = strlen(key);
	for (size_t i = 0; i < n; i++)
		key[k++] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	key[k] = '\0';
	return r->io->param(r->io->ctx, key);
}

/* "application/json", "application/merge-patch+json; charset=utf-8" */
static int
req_json_type(const char *ct)
{
	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	size_t n = strcspn(ct, "; ");
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return 1;
	return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
	       strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/*
 * json-c accepts single-quoted strings and NaN/Infinity even in strict
 * mode, and keeps the last of duplicate keys silently; RFC 8259 allows
 * neither the first nor the second in what we accept.  This scan checks
 * that only these bytes occur outside strings and counts the members of
 * every object, in the order the objects open, so that req_json_dups()
 * can find an object that json-c made smaller by merging duplicates.
 * Returns the number of objects, or -1 for a stray byte.
 */
static long
req_json_scan(const char *p, size_t n, unsigned *counts, int max_depth)
{
	long nobj = 0;
	long stack[64];   /* index in counts of the open object, -1 for an array */
	int depth = 0, in_str = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_str = 1;
			break;
		case '{':
		case '[':
			if (depth < 64 && depth <= max_depth) {
				stack[depth] = c == '{' ? nobj : -1;
				if (c == '{' && counts)
					counts[nobj] = 0;
			}
			if (c == '{')
				nobj++;
			depth++;
			break;
		case '}':
		case ']':
			if (depth > 0)
				depth--;
			break;
		case ':':
			if (counts && depth > 0 && depth <= 64 && depth - 1 <= max_depth && stack[depth - 1] >= 0)
				counts[stack[depth - 1]]++;
			break;
		default:
			if (!strchr(" \t\r\n,-+.0123456789eEtruefalsn", c))
				return -1;
		}
	}
	return nobj;
}

/* Walks objects in the order they opened; 1 when one has fewer members
 * than the scan counted, i.e. it had a key twice. */
static int
req_json_dups(struct json_object *o, const unsigned *counts, long nobj, long *next)
{
	if (json_object_is_type(o, json_type_object)) {
		if (*next >= nobj || (unsigned)json_object_object_length(o) != counts[(*next)++])
			return 1;
		json_object_object_foreach(o, key, val) {
			(void)key;
			if (val && req_json_dups(val, counts, nobj, next))
				return 1;
		}
	} else if (json_object_is_type(o, json_type_array)) {
		size_t n = json_object_array_length(o);
		for (size_t i = 0; i < n; i++) {
			struct json_object *v = json_object_array_get_idx(o, i);
			if (v && req_json_dups(v, counts, nobj, next))
				return 1;
		}
	}
	return 0;
}

/* Reads the body (at most max_body bytes, after Content-Length):
 * 0 with *data (NUL-terminated, request memory) and *len, or 400/413 with
 * *detail set. */
int
req_read_body(struct portal_req *r, long long max_body, char **out, size_t *out_len,
              const char **detail)
{
	const char *cl = req_header(r, "Content-Length");
	if (cl && *cl) {
		char *end;
		long long len = strtoll(cl, &end, 10);
		if (*end != '\0' || len < 0) {
			*detail = "invalid Content-Length";
			return 400;
		}
		if (len > max_body) {
			*detail = "the body is larger than the server accepts";
			return 413;
		}
	}
	size_t cap = 8192, len = 0;
	char *data = pool_alloc(r->pool, cap + 1);
	for (;;) {
		if (len == cap) {
			if ((long long)cap > max_body)
				break;
			size_t ncap = cap * 2;
			char *nd = pool_alloc(r->pool, ncap + 1);
			memcpy(nd, data, len);
			data = nd;
			cap = ncap;
		}
		int n = r->io->read(r->io->ctx, data + len, (int)(cap - len));
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if ((long long)len > max_body) {
		*detail = "the body is larger than the server accepts";
		return 413;
	}
	data[len] = '\0';
	*out = data;
	*out_len = len;
	return 0;
}

/*
 * Every string value of `o` (at any depth) in Unicode NFC, in place, with
 * libunistring's u8_normalize: text typed with combining marks ("u" +
 * U+0308) is stored as the precomposed text ("\u00fc"), so the two
 * compare, search, sort and make slugs alike.  ASCII is NFC already and is
 * not copied; invalid UTF-8 (an overlong form) is kept as sent, for the
 * validator to refuse, not turned into U+FFFD.  Keys are left as sent (the schema's names and language
 * tags are ASCII).  0, or -1 when out of memory.
 */
static int
req_nfc(struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_string: {
		const uint8_t *s = (const uint8_t *)json_object_get_string(o);
		size_t n = (size_t)json_object_get_string_len(o), i = 0;
		while (i < n && s[i] < 0x80)
			i++;
		if (i == n || !valid_utf8((const char *)s, n))
			return 0; /* ASCII is NFC; invalid UTF-8 is left for the validator to refuse */
		size_t len = 0;
		uint8_t *nfc = u8_normalize(UNINORM_NFC, s, n, NULL, &len);
		if (nfc == NULL)
			return -1;
		int rc = 0;
		if (len != n || memcmp(nfc, s, n) != 0)
			rc = json_object_set_string_len(o, (const char *)nfc, (int)len) ? 0 : -1;
		free(nfc);
		return rc;
	}
	case json_type_array:
		for (size_t k = 0; k < json_object_array_length(o); k++)
			if (req_nfc(json_object_array_get_idx(o, k)) != 0)
				return -1;
		return 0;
	case json_type_object: {
		json_object_object_foreach(o, key, val) {
			(void)key;
			if (req_nfc(val) != 0)
				return -1;
		}
		return 0;
	}
	default:
		return 0;
	}
}

int
req_read_json(struct portal_req *r, long long max_body, int max_depth, const char **detail)
{
	const char *ct = req_header(r, "Content-Type");

	if (!req_json_type(ct)) {
		*detail = "the body must be JSON, sent with Content-Type: application/json";
		return 415;
	}
	char *data;
	size_t len;
	int st = req_read_body(r, max_body, &data, &len, detail);
	if (st != 0)
		return st;
	if (len == 0) {
		*detail = "the request body is empty; send a JSON object";
		return 400;
	}
	if (memchr(data, '\0', len) != NULL) {
		*detail = "the body contains a NUL byte";
		return 400;
	}
	size_t lead = 0, end = len;
	while (lead < len && isspace((unsigned char)data[lead]))
		lead++;
	while (end > lead && isspace((unsigned char)data[end - 1]))
		end--;
	if (end - lead == 4 && memcmp(data + lead, "null", 4) == 0) {
		/* valid JSON, but no object (json-c would call it "ends too early") */
		out_field_error(r, "body", "must be a JSON object, not null");
		*detail = "the body is the JSON value null; send a JSON object";
		return 422;
	}
	long nobj = req_json_scan(data, len, NULL, max_depth);
	if (nobj < 0) {
		*detail = "the body is not valid JSON: only double-quoted strings, numbers, true, false "
		          "and null are allowed";
		return 400;
	}
	struct json_tokener *tok = json_tokener_new_ex(max_depth);
	if (tok == NULL) {
		*detail = "out of memory";
		return 500;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *o = json_tokener_parse_ex(tok, data, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (o == NULL || jerr != json_tokener_success) {
		if (o)
			json_object_put(o);
		if (jerr == json_tokener_error_depth)
			*detail = pool_printf(r->pool, "the JSON body is nested deeper than %d levels",
			                      max_depth);
		else if (jerr == json_tokener_continue)
			*detail = "the JSON body ends too early";
		else
			*detail = pool_printf(r->pool, "the body is not valid JSON: %s at byte %zu",
			                      json_tokener_error_desc(jerr), used);
		return 400;
	}
	while (used < len && isspace((unsigned char)data[used]))
		used++;
	if (used != len) {
		json_object_put(o);
		*detail = pool_printf(r->pool, "the body has data after the JSON value at byte %zu", used);
		return 400;
	}
	r->body = pool_keep_json(r->pool, o);
	if (req_nfc(o) != 0) {
		*detail = "out of memory";
		return 500;
	}
	if (nobj > 0) {
		unsigned *counts = pool_alloc(r->pool, (size_t)nobj * sizeof(*counts));
		long next = 0;
		req_json_scan(data, len, counts, max_depth);
		if (req_json_dups(o, counts, nobj, &next)) {
			*detail = "the JSON body has an object with the same key twice";
			return 400;
		}
	}
	return 0;
}
