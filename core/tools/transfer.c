/*
 * transfer.c - a municipality's data out of and into the portal:
 * `portalctl export` (one JSON document, or a CSV file per module) and
 * `portalctl import` (that document, into the same or another
 * municipality).
 *
 * Everything goes through the JSON API in-process (dispatch_api, as
 * pages.c does for its sub-requests) as a local caller with a role and no
 * token (core.local_role).  So an export is what the API shows an admin,
 * drafts and non-public items included, and an import is a series of
 * POSTs: every rule a plugin checks on create applies to an imported
 * record, and a refused record is named with the plugin's own field
 * errors.  The import holds one transaction around all of them
 * (core.outer_txn turns each write into a savepoint): every record is
 * written, or none.
 *
 * The core knows no module.  What it needs to know about one comes from
 * the module's OpenAPI fragment: the members its items show (the item
 * schema of GET /{module}/{id}), the members a create accepts (the request
 * schema of POST /{module}); those the first has and the second lacks are
 * the server's (id, created_at ...) and are dropped on import.  And which
 * members hold ids of other modules' items: "x-portal-links" on the POST
 * operation, {"partners[].partnership_id": "partnerships", ...}, from
 * which follow the order of the import (link targets first) and the ids
 * to rewrite (an imported item gets a new id).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core.h"

#define TRANSFER_FORMAT "portal-export"
/* 2: links are the target items' uids (1: their ids; still read) */
#define TRANSFER_VERSION 2
#define TRANSFER_MAX_FILE (1024LL * 1024 * 1024) /* bytes of one document */
#define TRANSFER_MAX_ITEMS 1000000               /* per module, on export */
#define TRANSFER_MAX_MODULES 64
#define TRANSFER_MAX_REPORTED 20 /* refused records named before giving up */

/* ---- in-process requests ---- */

struct transfer_io {
	const char *method, *uri, *qs, *reqid;
	const char *ctype; /* the body's Content-Type: JSON unless set (a file's) */
	const char *body;
	size_t len, off;
	char clen[24];
};

static const char *
transfer_param(void *ctx, const char *name)
{
	struct transfer_io *t = ctx;
	if (strcmp(name, "REQUEST_METHOD") == 0)
		return t->method;
	if (strcmp(name, "REQUEST_URI") == 0)
		return t->uri;
	if (strcmp(name, "QUERY_STRING") == 0)
		return t->qs;
	if (strcmp(name, "REQUEST_ID") == 0)
		return t->reqid;
	if (strcmp(name, "CONTENT_TYPE") == 0)
		return t->body ? (t->ctype ? t->ctype : "application/json") : NULL;
	if (strcmp(name, "CONTENT_LENGTH") == 0)
		return t->body ? t->clen : NULL;
	return NULL; /* no Authorization: the core's local_role applies */
}

static int
transfer_read(void *ctx, char *buf, int n)
{
	struct transfer_io *t = ctx;
	size_t left = t->len - t->off;
	if ((size_t)n > left)
		n = (int)left;
	memcpy(buf, t->body + t->off, (size_t)n);
	t->off += (size_t)n;
	return n;
}

static int
transfer_write(void *ctx, const char *buf, size_t n)
{
	(void)ctx, (void)buf, (void)n;
	return 0; /* the answer is read from the request, never written */
}

/* Runs `method` `path`?`query` with `body` (JSON text or NULL) through the
 * API.  The answer is on the returned request, in c->pool: the caller
 * takes what it keeps (json_object_get) before transfer_done(). */
static struct portal_req *
transfer_request_raw(struct core *c, const char *method, const char *path, const char *query,
                     const char *body, size_t len, const char *ctype, const char *reqid)
{
	struct pool *p = &c->pool;
	struct transfer_io *t = pool_alloc(p, sizeof(*t));
	t->method = method;
	t->qs = query ? query : "";
	t->uri = pool_printf(p, "%s%s%s", path, *t->qs ? "?" : "", t->qs);
	t->reqid = reqid;
	t->ctype = ctype;
	t->body = body;
	t->len = body ? len : 0;
	snprintf(t->clen, sizeof(t->clen), "%zu", t->len);
	struct req_io *io = pool_alloc(p, sizeof(*io));
	io->ctx = t;
	io->param = transfer_param;
	io->read = transfer_read;
	io->write = transfer_write;
	struct portal_req *r = dispatch_new(c, p, io, NULL);
	if (!r->responded)
		dispatch_api(c, r);
	return r;
}

static struct portal_req *
transfer_request(struct core *c, const char *method, const char *path, const char *query,
                 const char *body, const char *reqid)
{
	return transfer_request_raw(c, method, path, query, body, body ? strlen(body) : 0, NULL, reqid);
}

/* Ends the requests' statements and frees their memory. */
static void
transfer_done(struct core *c)
{
	db_done_all(c->db);
	pool_reset(&c->pool);
}

static const char *
transfer_str(struct json_object *o, const char *name)
{
	struct json_object *v;
	if (json_object_object_get_ex(o, name, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* "status 404: detail" of a problem answer, in the pool. */
static const char *
transfer_problem(struct portal_req *r)
{
	const char *d = r->resp_json ? transfer_str(r->resp_json, "detail") : NULL;
	return pool_printf(r->pool, "status %d%s%s", r->status, d ? ": " : "", d ? d : "");
}

static double
transfer_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct conf_municipality *
transfer_muni(struct core *c, const char *slug, const char *cmd)
{
	const struct conf_municipality *m = conf_municipality(c->conf, slug);
	if (m == NULL)
		fprintf(stderr, "%s: no municipality \"%s\" in %s\n", cmd, slug, c->conf->path);
	return m;
}

/* ---- export ---- */

static int
transfer_by_id(const void *a, const void *b)
{
	struct json_object *x = *(struct json_object *const *)a, *y = *(struct json_object *const *)b, *v;
	long long i = json_object_object_get_ex(x, "id", &v) ? json_object_get_int64(v) : 0;
	long long j = json_object_object_get_ex(y, "id", &v) ? json_object_get_int64(v) : 0;
	return i < j ? -1 : i > j;
}

/* Every item of `module` in `m` as the API lists them to an admin, oldest
 * (lowest id) first, so that an import creates them in the same order.
 * NULL after saying why. */
static struct json_object *
transfer_list(struct core *c, const struct conf_municipality *m, const char *module)
{
	struct json_object *all = json_object_new_array();
	char *cursor = NULL;
	const char *path = pool_printf(&c->pool, "/api/v1/%s/%s", m->slug, module);
	path = strdup(path);
	for (;;) {
		char *q = NULL;
		if (asprintf(&q, "limit=100%s%s", cursor ? "&cursor=" : "", cursor ? cursor : "") < 0)
			q = NULL;
		struct portal_req *r = transfer_request(c, "GET", path, q, NULL, "portalctl-export");
		free(q);
		struct json_object *items, *next;
		if (r->status != 200 || r->resp_json == NULL ||
		    !json_object_object_get_ex(r->resp_json, "items", &items) ||
		    !json_object_is_type(items, json_type_array)) {
			fprintf(stderr, "export: GET %s: %s\n", path, transfer_problem(r));
			transfer_done(c);
			json_object_put(all);
			all = NULL;
			break;
		}
		for (size_t i = 0; i < json_object_array_length(items); i++)
			json_object_array_add(all, json_object_get(json_object_array_get_idx(items, i)));
		free(cursor);
		cursor = NULL;
		if (json_object_object_get_ex(r->resp_json, "next", &next) && next != NULL &&
		    json_object_array_length(items) > 0)
			cursor = strdup(json_object_get_string(next)); /* base64url: safe in a query */
		transfer_done(c);
		if (cursor == NULL)
			break;
		if (json_object_array_length(all) >= TRANSFER_MAX_ITEMS) {
			fprintf(stderr, "export: %s has more than %d items\n", path, TRANSFER_MAX_ITEMS);
			json_object_put(all);
			all = NULL;
			break;
		}
	}
	free(cursor);
	free((char *)path);
	if (all)
		json_object_array_sort(all, transfer_by_id);
	return all;
}

static struct json_object *transfer_get(struct json_object *o, ...);

/* The uid of the item with id `id` in `items`, or NULL. */
static const char *
transfer_uid_of(struct json_object *items, long long id)
{
	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i), *v, *u;
		if (json_object_object_get_ex(it, "id", &v) && json_object_get_int64(v) == id &&
		    json_object_object_get_ex(it, STORE_UID, &u) && json_object_is_type(u, json_type_string))
			return json_object_get_string(u);
	}
	return NULL;
}

/* Export: the ids at `path` ("partners[].partnership_id") under `o` become
 * the uids of the target's items (`items`), where the document has them. */
static void
transfer_links_to_uids(struct pool *p, struct json_object *o, const char *path,
                       struct json_object *items)
{
	size_t seg = strcspn(path, ".");
	const char *rest = path[seg] == '.' ? path + seg + 1 : NULL;
	int arr = seg >= 2 && strncmp(path + seg - 2, "[]", 2) == 0;
	char *name = pool_strndup(p, path, arr ? seg - 2 : seg);
	struct json_object *v;
	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, name, &v) ||
	    v == NULL)
		return;
	size_t n = arr ? (json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0) : 1;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = arr ? json_object_array_get_idx(v, i) : v;
		if (rest) {
			transfer_links_to_uids(p, e, rest, items);
			continue;
		}
		const char *uid = json_object_is_type(e, json_type_int)
		                      ? transfer_uid_of(items, json_object_get_int64(e))
		                      : NULL;
		if (uid == NULL)
			continue;
		if (arr)
			json_object_array_put_idx(v, i, json_object_new_string(uid));
		else
			json_object_object_add(o, name, json_object_new_string(uid));
	}
}

/* Export: every link member of every module (x-portal-links) names its
 * target by uid. */
static int
transfer_export_links(struct core *c, struct json_object *mods)
{
	char *text = openapi_build(c->plugins);
	struct json_object *api = text ? json_tokener_parse(text) : NULL;
	free(text);
	if (api == NULL)
		return PORTAL_ERROR;
	json_object_object_foreach(mods, name, items) {
		char coll[200];
		snprintf(coll, sizeof(coll), "/api/v1/{municipality}/%s", name);
		struct json_object *links = transfer_get(api, "paths", coll, "post", "x-portal-links", NULL);
		if (!json_object_is_type(links, json_type_object))
			continue;
		json_object_object_foreach(links, lpath, target) {
			struct json_object *titems = NULL;
			if (!json_object_object_get_ex(mods, json_object_get_string(target), &titems))
				continue; /* not exported: the ids stay */
			for (size_t i = 0; i < json_object_array_length(items); i++)
				transfer_links_to_uids(&c->pool, json_object_array_get_idx(items, i), lpath, titems);
		}
	}
	json_object_put(api);
	return PORTAL_OK;
}

/* The uploaded files' bytes into their records ("data": base64 of the
 * file as stored under media.dir: images already re-encoded, without
 * metadata).  PORTAL_ERROR after saying why. */
static int
transfer_media_files(struct core *c, struct json_object *media)
{
	for (size_t i = 0; i < json_object_array_length(media); i++) {
		struct json_object *rec = json_object_array_get_idx(media, i);
		const char *url = transfer_str(rec, "url");
		if (url == NULL || strncmp(url, "/media/", 7) != 0 || strstr(url, "..")) {
			fprintf(stderr, "export: media[%zu]: no file URL\n", i);
			return PORTAL_ERROR;
		}
		char *path = NULL;
		if (asprintf(&path, "%s/%s", c->conf->media_dir, url + 7) < 0)
			return PORTAL_ERROR;
		FILE *f = fopen(path, "rb");
		unsigned char *bytes = NULL;
		long n = -1;
		if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
		    (bytes = malloc((size_t)n + 1)) != NULL && fread(bytes, 1, (size_t)n, f) != (size_t)n)
			n = -1;
		if (f)
			fclose(f);
		if (n < 0 || bytes == NULL) {
			fprintf(stderr, "export: media[%zu]: cannot read %s: %s\n", i, path, strerror(errno));
			free(path);
			free(bytes);
			return PORTAL_ERROR;
		}
		free(path);
		size_t blen = sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_ORIGINAL);
		char *b64 = malloc(blen);
		if (b64 == NULL) {
			free(bytes);
			return PORTAL_ERROR;
		}
		sodium_bin2base64(b64, blen, bytes, (size_t)n, sodium_base64_VARIANT_ORIGINAL);
		json_object_object_add(rec, "data", json_object_new_string(b64));
		json_object_object_del(rec, "used_by");
		free(b64);
		free(bytes);
	}
	return PORTAL_OK;
}

int
transfer_export(struct core *c, const char *slug, FILE *out, const struct transfer_opts *o)
{
	const struct conf_municipality *m = transfer_muni(c, slug, "export");
	if (m == NULL)
		return 1;
	c->local_role = PORTAL_ROLE_ADMIN;
	time_t now = time(NULL);
	struct tm tm;
	char ts[32];
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	struct json_object *doc = json_object_new_object(), *mods = json_object_new_object();
	json_object_object_add(doc, "format", json_object_new_string(TRANSFER_FORMAT));
	json_object_object_add(doc, "version", json_object_new_int(TRANSFER_VERSION));
	json_object_object_add(doc, "municipality", json_object_new_string(m->slug));
	json_object_object_add(doc, "exported_at", json_object_new_string(ts));
	json_object_object_add(doc, "generator", json_object_new_string("portalctl " CORE_VERSION));
	json_object_object_add(doc, "modules", mods);
	size_t total = 0;
	for (size_t i = 0; i < m->nmodules; i++) {
		if (plugin_find(c->plugins, m->modules[i]) == NULL)
			continue;
		struct json_object *items = transfer_list(c, m, m->modules[i]);
		if (items == NULL) {
			json_object_put(doc);
			return 1;
		}
		total += json_object_array_length(items);
		if (!o->quiet)
			fprintf(stderr, "export: %s: %zu %s\n", m->slug, json_object_array_length(items),
			        m->modules[i]);
		json_object_object_add(mods, m->modules[i], items);
	}
	if (transfer_export_links(c, mods) != PORTAL_OK) {
		fprintf(stderr, "export: the API description does not parse\n");
		json_object_put(doc);
		return 1;
	}
	struct json_object *media = transfer_list(c, m, "media");
	if (media == NULL || transfer_media_files(c, media) != PORTAL_OK) {
		json_object_put(media);
		json_object_put(doc);
		return 1;
	}
	if (!o->quiet)
		fprintf(stderr, "export: %s: %zu uploaded files\n", m->slug, json_object_array_length(media));
	json_object_object_add(doc, "media", media);
	const char *text = json_object_to_json_string_ext(
	    doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = fputs(text, out) < 0 || fputc('\n', out) == EOF ? 1 : 0;
	json_object_put(doc);
	if (rc == 0 && !o->quiet)
		fprintf(stderr, "export: %zu items of %s\n", total, m->slug);
	return rc;
}

FILE *
transfer_fopen_private(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	FILE *f = fchmod(fd, 0600) == 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

int
transfer_export_csv(struct core *c, const char *slug, const char *dir, const struct transfer_opts *o)
{
	const struct conf_municipality *m = transfer_muni(c, slug, "export");
	if (m == NULL)
		return 1;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "export: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	c->local_role = PORTAL_ROLE_ADMIN;
	int rc = 0;
	for (size_t i = 0; i < m->nmodules && rc == 0; i++) {
		const char *module = m->modules[i];
		if (plugin_find(c->plugins, module) == NULL)
			continue;
		const char *path = pool_printf(&c->pool, "/api/v1/%s/%s.csv", m->slug, module);
		struct portal_req *r = transfer_request(c, "GET", path, NULL, NULL, "portalctl-export");
		if (r->status == 404 && r->resp_raw == NULL) {
			if (!o->quiet)
				fprintf(stderr, "export: %s has no CSV export; skipped\n", module);
		} else if (r->status != 200 || r->resp_raw == NULL) {
			fprintf(stderr, "export: GET %s: %s\n", path, transfer_problem(r));
			rc = 1;
		} else {
			/* FILE.tmp, then rename: no half-written file under the name */
			char *file = pool_printf(&c->pool, "%s/%s.csv", dir, module);
			char *tmp = pool_printf(&c->pool, "%s.tmp", file);
			FILE *f = transfer_fopen_private(tmp);
			if (f == NULL || fwrite(r->resp_raw, 1, r->resp_raw_len, f) != r->resp_raw_len ||
			    fclose(f) != 0 || rename(tmp, file) != 0) {
				fprintf(stderr, "export: %s: %s\n", file, strerror(errno));
				unlink(tmp);
				rc = 1;
			} else if (!o->quiet) {
				fprintf(stderr, "export: %s (%zu bytes)\n", file, r->resp_raw_len);
			}
		}
		transfer_done(c);
	}
	return rc;
}

/* ---- import: what the API description says about each module ---- */

struct transfer_map {
	long long old_id, new_id; /* new_id -1: the record was refused */
	const char *uid;          /* the record's uid (the document's), or NULL */
};

struct transfer_module {
	const char *name;
	struct json_object *items;    /* the document's array */
	struct json_object *readonly; /* {"id": true, ...}: the server's members */
	struct json_object *links;    /* x-portal-links, or NULL */
	struct transfer_map *map;     /* sorted by old_id once the module is done */
	size_t nmap;
	int done;
};

struct transfer_import {
	struct core *c;
	const struct conf_municipality *m;
	const struct transfer_opts *o;
	struct transfer_module mods[TRANSFER_MAX_MODULES];
	size_t nmods;
	struct transfer_module media; /* the document's uploaded files (items NULL: none) */
	size_t total, done, refused, reported;
	double t0, shown;
	int bar; /* a progress line is on the terminal */
};

/* Member `a`.`b`.`c`... (NULL-terminated names) of o, or NULL. */
static struct json_object *
transfer_get(struct json_object *o, ...)
{
	va_list ap;
	va_start(ap, o);
	const char *k;
	while (o && (k = va_arg(ap, const char *)) != NULL)
		if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, k, &o))
			o = NULL;
	va_end(ap);
	return o;
}

/* Adds the names of the members `schema` declares (through $ref into
 * components.schemas and allOf) to `names`. */
static void
transfer_props(struct json_object *api, struct json_object *schema, struct json_object *names,
               int depth)
{
	if (schema == NULL || depth > 8)
		return;
	const char *ref = transfer_str(schema, "$ref");
	if (ref && strncmp(ref, "#/components/schemas/", 21) == 0)
		transfer_props(api, transfer_get(api, "components", "schemas", ref + 21, NULL), names,
		               depth + 1);
	struct json_object *props = transfer_get(schema, "properties", NULL), *all;
	if (props && json_object_is_type(props, json_type_object)) {
		json_object_object_foreach(props, key, val) {
			(void)val;
			json_object_object_add(names, key, json_object_new_boolean(1));
		}
	}
	if (json_object_object_get_ex(schema, "allOf", &all) && json_object_is_type(all, json_type_array))
		for (size_t i = 0; i < json_object_array_length(all); i++)
			transfer_props(api, json_object_array_get_idx(all, i), names, depth + 1);
}

/* The module's read-only members and links from the API description.
 * PORTAL_ERROR after saying why. */
static int
transfer_describe(struct json_object *api, struct transfer_module *tm)
{
	char coll[200], item[220];
	snprintf(coll, sizeof(coll), "/api/v1/{municipality}/%s", tm->name);
	snprintf(item, sizeof(item), "%s/{id}", coll);
	struct json_object *post = transfer_get(api, "paths", coll, "post", NULL);
	struct json_object *in = transfer_get(post, "requestBody", "content", "application/json",
	                                      "schema", NULL);
	struct json_object *out = transfer_get(api, "paths", item, "get", "responses", "200",
	                                       "content", "application/json", "schema", NULL);
	if (in == NULL || out == NULL) {
		fprintf(stderr, "import: the API description of %s has no POST %s request schema or "
		                "GET %s answer schema; it cannot be imported\n",
		        tm->name, coll, item);
		return PORTAL_ERROR;
	}
	struct json_object *accepts = json_object_new_object(), *shows = json_object_new_object();
	transfer_props(api, in, accepts, 0);
	transfer_props(api, out, shows, 0);
	tm->readonly = json_object_new_object();
	json_object_object_foreach(shows, key, val) {
		(void)val;
		if (!json_object_object_get_ex(accepts, key, NULL))
			json_object_object_add(tm->readonly, key, json_object_new_boolean(1));
	}
	json_object_put(accepts);
	json_object_put(shows);
	tm->links = transfer_get(post, "x-portal-links", NULL);
	if (tm->links && !json_object_is_type(tm->links, json_type_object)) {
		fprintf(stderr, "import: %s: x-portal-links must be an object\n", tm->name);
		return PORTAL_ERROR;
	}
	return PORTAL_OK;
}

static struct transfer_module *
transfer_module(struct transfer_import *im, const char *name)
{
	if (strcmp(name, "media") == 0)
		return im->media.items ? &im->media : NULL;
	for (size_t i = 0; i < im->nmods; i++)
		if (strcmp(im->mods[i].name, name) == 0)
			return &im->mods[i];
	return NULL;
}

/* Link targets before the items linking to them: a topological order of
 * the document's modules over their x-portal-links.  PORTAL_ERROR after
 * saying why (a cycle). */
static int
transfer_order(struct transfer_import *im, struct transfer_module **order)
{
	size_t n = 0;
	while (n < im->nmods) {
		size_t before = n;
		for (size_t i = 0; i < im->nmods; i++) {
			struct transfer_module *tm = &im->mods[i];
			if (tm->done)
				continue;
			int ready = 1;
			if (tm->links) {
				json_object_object_foreach(tm->links, path, target) {
					(void)path;
					struct transfer_module *t = transfer_module(im, json_object_get_string(target));
					if (t && t != tm && !t->done)
						ready = 0;
				}
			}
			if (ready) {
				tm->done = 1;
				order[n++] = tm;
			}
		}
		if (n == before) {
			fprintf(stderr, "import: the links between the modules form a cycle; such "
			                "documents cannot be imported\n");
			return PORTAL_ERROR;
		}
	}
	for (size_t i = 0; i < im->nmods; i++)
		im->mods[i].done = 0;
	return PORTAL_OK;
}

/* ---- import: one record ---- */

/* A short name for a record in messages: its title, name or slug, or
 * the name of its first object member that has one (a partner). */
static const char *
transfer_label(struct pool *p, struct json_object *item)
{
	static const char *const keys[] = {"title", "name", "slug", NULL};
	const char *s = NULL;
	for (const char *const *k = keys; *k && s == NULL; k++)
		s = transfer_str(item, *k);
	if (s == NULL && json_object_is_type(item, json_type_object)) {
		json_object_object_foreach(item, key, val) {
			(void)key;
			if (s == NULL && json_object_is_type(val, json_type_object))
				s = transfer_str(val, "name");
		}
	}
	if (s == NULL)
		return NULL;
	/* one line, at most ~60 bytes, cut on a character boundary */
	size_t n = 0;
	while (s[n] && n < 60)
		n++;
	while (n > 0 && s[n] && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	char *l = pool_strndup(p, s, n);
	for (char *q = l; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == '"')
			*q = ' ';
	return s[n] ? pool_printf(p, "%s...", l) : l;
}

struct transfer_rec {
	struct transfer_import *im;
	struct transfer_module *tm;
	size_t index;
	long long old_id;
	const char *label;
	int bad;
};

static void
transfer_bar_clear(struct transfer_import *im)
{
	if (im->bar) {
		fputs("\r\033[K", stderr);
		im->bar = 0;
	}
}

/* One problem with a record, named: modules.projects[17] (id 23, "..."): field: what */
static void
transfer_complain(struct transfer_rec *rec, const char *field, const char *msg)
{
	struct transfer_import *im = rec->im;
	if (!rec->bad) {
		rec->bad = 1;
		im->refused++;
	}
	if (im->reported > TRANSFER_MAX_REPORTED * 10)
		return;
	im->reported++;
	transfer_bar_clear(im);
	fprintf(stderr, "import: modules.%s[%zu]", rec->tm->name, rec->index);
	if (rec->old_id > 0 && rec->label)
		fprintf(stderr, " (id %lld, \"%s\")", rec->old_id, rec->label);
	else if (rec->old_id > 0)
		fprintf(stderr, " (id %lld)", rec->old_id);
	else if (rec->label)
		fprintf(stderr, " (\"%s\")", rec->label);
	fprintf(stderr, ": %s%s%s\n", field ? field : "", field ? ": " : "", msg);
}

static int
transfer_map_cmp(const void *a, const void *b)
{
	const struct transfer_map *x = a, *y = b;
	return x->old_id < y->old_id ? -1 : x->old_id > y->old_id;
}

/* The new id of item `old` of a module done before; 0 when the document
 * has no such item, -1 when it was refused. */
static long long
transfer_new_id(struct transfer_module *t, long long old)
{
	struct transfer_map key = {old, 0, NULL};
	if (!t->done) {
		/* a link within the module being imported: to a record before */
		for (size_t i = 0; t->map && i < t->nmap; i++)
			if (t->map[i].old_id == old)
				return t->map[i].new_id;
		return 0;
	}
	struct transfer_map *m =
	    t->map ? bsearch(&key, t->map, t->nmap, sizeof(*t->map), transfer_map_cmp) : NULL;
	return m ? m->new_id : 0;
}

/* The same for a link by uid (version 2 documents). */
static long long
transfer_new_id_by_uid(struct transfer_module *t, const char *uid)
{
	for (size_t i = 0; t->map && i < t->nmap; i++)
		if (t->map[i].uid && strcmp(t->map[i].uid, uid) == 0)
			return t->map[i].new_id;
	return 0;
}

/* Rewrites the ids at `path` ("partners[].partnership_id") under `o`
 * (whose field name so far is `field`) to the target's new ids. */
static void
transfer_remap(struct transfer_rec *rec, struct json_object *o, const char *path, const char *field,
               struct transfer_module *target, const char *target_name)
{
	struct pool *p = &rec->im->c->pool;
	size_t seg = strcspn(path, ".");
	const char *rest = path[seg] == '.' ? path + seg + 1 : NULL;
	int arr = seg >= 2 && strncmp(path + seg - 2, "[]", 2) == 0;
	char *name = pool_strndup(p, path, arr ? seg - 2 : seg);
	struct json_object *v;
	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, name, &v) ||
	    v == NULL)
		return; /* absent, or the API says what is wrong with its type */
	const char *f = *field ? pool_printf(p, "%s.%s", field, name) : name;
	size_t n = arr ? (json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0) : 1;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = arr ? json_object_array_get_idx(v, i) : v;
		const char *fi = arr ? pool_printf(p, "%s[%zu]", f, i) : f;
		if (rest) {
			transfer_remap(rec, e, rest, fi, target, target_name);
			continue;
		}
		const char *what;
		long long id;
		if (json_object_is_type(e, json_type_string) && store_uid_ok(json_object_get_string(e))) {
			what = pool_strdup(p, json_object_get_string(e)); /* a uid: version 2 */
			id = target ? transfer_new_id_by_uid(target, what) : 0;
			if (id > 0 && arr)
				json_object_array_put_idx(v, i, json_object_new_int64(id));
			else if (id > 0)
				json_object_object_add(o, name, json_object_new_int64(id));
		} else if (json_object_is_type(e, json_type_int)) {
			long long old = json_object_get_int64(e);
			what = pool_printf(p, "%lld", old);
			id = target ? transfer_new_id(target, old) : 0;
			if (id > 0)
				json_object_set_int64(e, id);
		} else {
			continue; /* null, or a type the API will name */
		}
		if (id < 0)
			transfer_complain(rec, fi, pool_printf(p, "links to %s %s, which was refused",
			                                       target_name, what));
		else if (id == 0)
			transfer_complain(rec, fi, pool_printf(p, "links to %s %s, which is not in this "
			                                          "document", target_name, what));
	}
}

/* The API's answer to a refused record: each field error, else detail. */
static void
transfer_refused(struct transfer_rec *rec, struct portal_req *r)
{
	struct json_object *errs = r->resp_json ? transfer_get(r->resp_json, "errors", NULL) : NULL;
	size_t n = errs && json_object_is_type(errs, json_type_array) ? json_object_array_length(errs) : 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(errs, i);
		const char *field = transfer_str(e, "field"), *msg = transfer_str(e, "message");
		transfer_complain(rec, field, msg ? msg : "is not valid");
	}
	if (n == 0)
		transfer_complain(rec, NULL, transfer_problem(r));
}

/* Creates one record.  Returns its new id, -1 when it was refused. */
static long long
transfer_record(struct transfer_import *im, struct transfer_module *tm, size_t index,
                struct json_object *item)
{
	struct core *c = im->c;
	struct transfer_rec rec = {im, tm, index, 0, NULL, 0};
	rec.label = transfer_label(&c->pool, item);
	if (!json_object_is_type(item, json_type_object)) {
		transfer_complain(&rec, NULL, "must be a JSON object");
		return -1;
	}
	struct json_object *id;
	if (json_object_object_get_ex(item, "id", &id)) {
		if (!json_object_is_type(id, json_type_int) || json_object_get_int64(id) <= 0) {
			transfer_complain(&rec, "id", "must be a whole number above 0 (or absent)");
			return -1;
		}
		rec.old_id = json_object_get_int64(id);
	}
	/* the item's uid is kept (store_insert): a uid any item of the
	 * installation has already refuses the record, and so the import */
	struct json_object *uidv;
	const char *uid = NULL;
	if (!im->o->new_uids && json_object_object_get_ex(item, STORE_UID, &uidv) && uidv != NULL) {
		uid = json_object_get_string(uidv);
		if (!json_object_is_type(uidv, json_type_string) || !store_uid_ok(uid)) {
			transfer_complain(&rec, STORE_UID, "must be a UUID in lower case (or absent: a new one)");
			return -1;
		}
	}
	struct json_object *body = NULL;
	if (json_object_deep_copy(item, &body, NULL) != 0)
		return -1;
	pool_keep_json(&c->pool, body);
	/* the server's own members: it sets them anew */
	json_object_object_foreach(tm->readonly, ro, yes) {
		(void)yes;
		json_object_object_del(body, ro);
	}
	if (tm->links) {
		json_object_object_foreach(tm->links, path, target) {
			const char *tn = json_object_get_string(target);
			transfer_remap(&rec, body, path, "", transfer_module(im, tn), tn);
		}
	}
	if (rec.bad)
		return -1;
	const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
	                                                            JSON_C_TO_STRING_NOSLASHESCAPE);
	const char *coll = pool_printf(&c->pool, "/api/v1/%s/%s", im->m->slug, tm->name);
	c->keep_uid = uid;
	struct portal_req *r = transfer_request(c, "POST", coll, NULL, text, "portalctl-import");
	c->keep_uid = NULL;
	struct json_object *nid;
	if (r->status != 201 || r->resp_json == NULL ||
	    !json_object_object_get_ex(r->resp_json, "id", &nid) || json_object_get_int64(nid) <= 0) {
		transfer_refused(&rec, r);
		return -1;
	}
	long long new_id = json_object_get_int64(nid);
	/*
	 * A member a create sets its own way (a status only a later change
	 * reaches) is given again as a change: what the record says wins.
	 * null ("not known; make one", e.g. a slug) and members the answer
	 * does not show are left as the create made them.
	 */
	struct json_object *patch = pool_keep_json(&c->pool, json_object_new_object());
	json_object_object_foreach(body, key, want) {
		struct json_object *got = NULL;
		if (want != NULL && json_object_object_get_ex(r->resp_json, key, &got) &&
		    !json_object_equal(want, got))
			json_object_object_add(patch, key, json_object_get(want));
	}
	if (json_object_object_length(patch) > 0) {
		const char *ptext = json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN |
		                                                              JSON_C_TO_STRING_NOSLASHESCAPE);
		const char *ipath = pool_printf(&c->pool, "%s/%lld", coll, new_id);
		r = transfer_request(c, "PATCH", ipath, NULL, ptext, "portalctl-import");
		if (r->status != 200) {
			transfer_refused(&rec, r);
			return -1;
		}
	}
	return new_id;
}

static void
transfer_progress(struct transfer_import *im, int last)
{
	if (im->o->quiet)
		return;
	double now = transfer_now();
	if (im->o->progress) {
		/* a bar redrawn at most ten times a second, and at the end */
		if (!last && now - im->shown < 0.1)
			return;
		im->shown = now;
		size_t pct = im->total ? im->done * 100 / im->total : 100, w = 30, fill = pct * w / 100;
		char bar[64];
		for (size_t i = 0; i < w; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[w] = '\0';
		double s = now - im->t0;
		fprintf(stderr, "\r\033[Kimport: [%s] %zu/%zu %3zu%%  %.0f records/s", bar, im->done,
		        im->total, pct, s > 0 ? (double)im->done / s : 0.0);
		im->bar = 1;
		if (last)
			transfer_bar_clear(im);
		fflush(stderr);
	} else if (!last && im->done % 1000 == 0) {
		fprintf(stderr, "import: %zu/%zu records\n", im->done, im->total);
	}
}

/* ---- import: the document ---- */

/* Reads and parses `path` (at most TRANSFER_MAX_FILE bytes).  NULL after
 * saying why. */
static struct json_object *
transfer_load(const char *path, int max_depth)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "import: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	struct json_tokener *tok = json_tokener_new_ex(max_depth);
	struct json_object *doc = NULL;
	enum json_tokener_error jerr = json_tokener_continue;
	char buf[65536];
	long long total = 0;
	size_t n;
	int trailing = 0, too_big = 0;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		total += (long long)n;
		if (total > TRANSFER_MAX_FILE) {
			fprintf(stderr, "import: %s: larger than %lld bytes\n", path, TRANSFER_MAX_FILE);
			too_big = 1;
			break;
		}
		if (doc != NULL) {
			/* after the document only white space */
			for (size_t i = 0; i < n; i++)
				if (buf[i] != ' ' && buf[i] != '\n' && buf[i] != '\r' && buf[i] != '\t')
					trailing = 1;
			continue;
		}
		doc = json_tokener_parse_ex(tok, buf, (int)n);
		jerr = json_tokener_get_error(tok);
		if (doc == NULL && jerr != json_tokener_continue)
			break;
		if (doc != NULL) {
			size_t used = json_tokener_get_parse_end(tok);
			for (size_t i = used; i < n; i++)
				if (buf[i] != ' ' && buf[i] != '\n' && buf[i] != '\r' && buf[i] != '\t')
					trailing = 1;
		}
	}
	int failed = ferror(f) || too_big;
	if (f != stdin)
		fclose(f);
	if (failed) {
		if (!too_big)
			fprintf(stderr, "import: %s: read error\n", path);
	} else if (doc == NULL && jerr == json_tokener_continue) {
		/* a number at the very end needs to be told the text is over */
		doc = json_tokener_parse_ex(tok, "", 1);
		if (doc == NULL)
			fprintf(stderr, "import: %s: the JSON ends early after %lld bytes (a truncated "
			                "file?)\n", path, total);
	} else if (doc == NULL) {
		fprintf(stderr, "import: %s: not valid JSON near byte %lld: %s\n", path,
		        total - (long long)n + (long long)json_tokener_get_parse_end(tok),
		        json_tokener_error_desc(jerr));
	} else if (doc != NULL && trailing) {
		fprintf(stderr, "import: %s: more text after the JSON document\n", path);
		json_object_put(doc);
		doc = NULL;
	}
	json_tokener_free(tok);
	if (failed) {
		json_object_put(doc);
		return NULL;
	}
	return doc;
}

/* The document's frame: format, version, modules.  PORTAL_ERROR after
 * naming every problem. */
static int
transfer_check(struct transfer_import *im, struct json_object *doc, const char *path)
{
	static const char *const known[] = {"format", "version", "municipality", "exported_at",
	                                    "generator", "modules", "media", NULL};
	int bad = 0;
	if (!json_object_is_type(doc, json_type_object)) {
		fprintf(stderr, "import: %s: the document must be a JSON object\n", path);
		return PORTAL_ERROR;
	}
	const char *fmt = transfer_str(doc, "format");
	struct json_object *ver = transfer_get(doc, "version", NULL);
	if (fmt == NULL || strcmp(fmt, TRANSFER_FORMAT) != 0) {
		fprintf(stderr, "import: %s: format: must be \"%s\" (made by portalctl export)\n", path,
		        TRANSFER_FORMAT);
		return PORTAL_ERROR;
	}
	if (!json_object_is_type(ver, json_type_int) || json_object_get_int64(ver) < 1 ||
	    json_object_get_int64(ver) > TRANSFER_VERSION) {
		fprintf(stderr, "import: %s: version: this portalctl reads version 1 to %d documents, not %s\n",
		        path, TRANSFER_VERSION, ver ? json_object_to_json_string(ver) : "(none)");
		return PORTAL_ERROR;
	}
	json_object_object_foreach(doc, key, val) {
		(void)val;
		size_t k = 0;
		while (known[k] && strcmp(known[k], key) != 0)
			k++;
		if (known[k] == NULL) {
			fprintf(stderr, "import: %s: %s: unknown member\n", path, key);
			bad = 1;
		}
	}
	struct json_object *media = transfer_get(doc, "media", NULL);
	if (media != NULL && !json_object_is_type(media, json_type_array)) {
		fprintf(stderr, "import: %s: media: must be an array of files\n", path);
		return PORTAL_ERROR;
	}
	if (media != NULL) {
		im->media.name = "media";
		im->media.items = media;
		im->media.done = 1; /* imported first, before the modules are ordered */
		im->total += json_object_array_length(media);
	}
	struct json_object *mods = transfer_get(doc, "modules", NULL);
	if (!json_object_is_type(mods, json_type_object)) {
		fprintf(stderr, "import: %s: modules: must be an object {\"module\": [items...]}\n", path);
		return PORTAL_ERROR;
	}
	json_object_object_foreach(mods, name, items) {
		if (!json_object_is_type(items, json_type_array)) {
			fprintf(stderr, "import: %s: modules.%s: must be an array of items\n", path, name);
			bad = 1;
			continue;
		}
		if (json_object_array_length(items) == 0)
			continue; /* nothing to write: need not be enabled */
		if (plugin_find(im->c->plugins, name) == NULL) {
			fprintf(stderr, "import: %s: modules.%s: no such module is loaded\n", path, name);
			bad = 1;
		} else if (!conf_muni_has_module(im->m, name)) {
			fprintf(stderr, "import: %s: modules.%s: %s does not enable this module\n", path, name,
			        im->m->slug);
			bad = 1;
		} else if (im->nmods == TRANSFER_MAX_MODULES) {
			fprintf(stderr, "import: %s: more than %d modules\n", path, TRANSFER_MAX_MODULES);
			bad = 1;
		} else {
			struct transfer_module *tm = &im->mods[im->nmods++];
			tm->name = name;
			tm->items = items;
			im->total += json_object_array_length(items);
		}
	}
	return bad ? PORTAL_ERROR : PORTAL_OK;
}

/* The document's old ids of module tm are distinct. */
static int
transfer_ids_distinct(struct transfer_import *im, struct transfer_module *tm)
{
	size_t n = json_object_array_length(tm->items), k = 0;
	struct transfer_map *ids = calloc(n ? n : 1, sizeof(*ids));
	int bad = 0;
	if (ids == NULL)
		return PORTAL_ERROR;
	for (size_t i = 0; i < n; i++) {
		struct json_object *id = transfer_get(json_object_array_get_idx(tm->items, i), "id", NULL);
		if (json_object_is_type(id, json_type_int) && json_object_get_int64(id) > 0) {
			ids[k].old_id = json_object_get_int64(id);
			ids[k++].new_id = (long long)i;
		}
	}
	qsort(ids, k, sizeof(*ids), transfer_map_cmp);
	for (size_t i = 1; i < k; i++)
		if (ids[i].old_id == ids[i - 1].old_id) {
			fprintf(stderr, "import: modules.%s[%lld]: id: %lld is also the id of modules.%s[%lld]\n",
			        tm->name, ids[i].new_id, ids[i].old_id, tm->name, ids[i - 1].new_id);
			bad = 1;
		}
	free(ids);
	(void)im;
	return bad ? PORTAL_ERROR : PORTAL_OK;
}

/*
 * The document's files, each uploaded again through the API (POST
 * /api/v1/{m}/media with its bytes: the same checks as any upload), old id
 * to new in im->media's map for the modules' links ("image.media",
 * "agreements[].document": x-portal-links to "media").  A file the
 * municipality has already answers its record (200).  The files written
 * stay under media.dir if the import is rolled back (unreferenced; the
 * same bytes again reuse them).  PORTAL_ERROR when the memory ran out.
 */
static int
transfer_media_import(struct transfer_import *im)
{
	struct core *c = im->c;
	struct transfer_module *tm = &im->media;
	size_t n = json_object_array_length(tm->items);
	tm->map = calloc(n ? n : 1, sizeof(*tm->map));
	if (tm->map == NULL)
		return PORTAL_ERROR;
	const char *path = pool_printf(&c->pool, "/api/v1/%s/media", im->m->slug);
	path = strdup(path);
	if (path == NULL)
		return PORTAL_ERROR;
	for (size_t i = 0; i < n; i++) {
		struct json_object *rec = json_object_array_get_idx(tm->items, i), *old;
		struct transfer_rec tr = {im, tm, i, 0, transfer_label(&c->pool, rec), 0};
		old = transfer_get(rec, "id", NULL);
		tr.old_id = json_object_is_type(old, json_type_int) ? json_object_get_int64(old) : 0;
		const char *b64 = transfer_str(rec, "data"), *type = transfer_str(rec, "type");
		const char *name = transfer_str(rec, "name");
		size_t cap = b64 ? strlen(b64) : 0, len = 0;
		unsigned char *bytes = malloc(cap + 1);
		if (bytes == NULL) {
			free((char *)path);
			return PORTAL_ERROR;
		}
		if (b64 == NULL || type == NULL ||
		    sodium_base642bin(bytes, cap, b64, cap, NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
			transfer_complain(&tr, "data", "must be the file's bytes in base64, with its type");
		} else {
			char *q = NULL;
			if (name) {
				/* the name as a query argument: every byte but unreserved ones escaped */
				struct buf b;
				buf_init(&b, &c->pool);
				buf_puts(&b, "name=");
				for (const unsigned char *p = (const unsigned char *)name; *p; p++)
					if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
					    *p == '-' || *p == '.' || *p == '_')
						buf_add(&b, p, 1);
					else
						buf_printf(&b, "%%%02X", *p);
				q = b.data;
			}
			struct portal_req *r = transfer_request_raw(c, "POST", path, q, (const char *)bytes, len,
			                                            type, "portalctl-import");
			struct json_object *id = r->resp_json ? transfer_get(r->resp_json, "id", NULL) : NULL;
			if ((r->status == 200 || r->status == 201) && json_object_is_type(id, json_type_int)) {
				if (tr.old_id > 0) {
					tm->map[tm->nmap].old_id = tr.old_id;
					tm->map[tm->nmap++].new_id = json_object_get_int64(id);
				}
			} else {
				transfer_refused(&tr, r);
			}
		}
		free(bytes);
		transfer_done(c);
		im->done++;
		transfer_progress(im, 0);
	}
	free((char *)path);
	qsort(tm->map, tm->nmap, sizeof(*tm->map), transfer_map_cmp);
	return PORTAL_OK;
}

int
transfer_import(struct core *c, const char *slug, const char *path, const struct transfer_opts *o)
{
	struct transfer_import *im = calloc(1, sizeof(*im));
	struct json_object *doc = NULL, *api = NULL;
	char *api_text = NULL;
	int rc = 1, in_txn = 0;
	if (im == NULL)
		return 1;
	im->c = c;
	im->o = o;
	if ((im->m = transfer_muni(c, slug, "import")) == NULL)
		goto out;
	if ((doc = transfer_load(path, c->conf->json_max_depth + 4)) == NULL)
		goto out;
	if (transfer_check(im, doc, path) != PORTAL_OK)
		goto out;
	if ((api_text = openapi_build(c->plugins)) == NULL || (api = json_tokener_parse(api_text)) == NULL)
		goto out;
	for (size_t i = 0; i < im->nmods; i++)
		if (transfer_describe(api, &im->mods[i]) != PORTAL_OK ||
		    transfer_ids_distinct(im, &im->mods[i]) != PORTAL_OK)
			goto out;
	struct transfer_module *order[TRANSFER_MAX_MODULES];
	if (transfer_order(im, order) != PORTAL_OK)
		goto out;

	c->local_role = PORTAL_ROLE_ADMIN;
	/* Without autocommit, a transaction the server ends on its own (a
	 * deadlock rolls it back) cannot leave the records after it committed
	 * one by one: they open a new transaction, rolled back at the end as
	 * the failed record makes the import fail. */
	if (db_ensure(c->db) != PORTAL_OK || db_exec(c->db, "SET autocommit = 0") != PORTAL_OK ||
	    db_begin(c->db) != PORTAL_OK) {
		fprintf(stderr, "import: the database: %s\n", db_error(c->db));
		goto out;
	}
	in_txn = 1;
	c->outer_txn = 1;
	im->t0 = transfer_now();
	if (im->media.items && transfer_media_import(im) != PORTAL_OK)
		goto out;
	for (size_t k = 0; k < im->nmods && im->refused <= TRANSFER_MAX_REPORTED; k++) {
		struct transfer_module *tm = order[k];
		size_t n = json_object_array_length(tm->items);
		tm->map = calloc(n ? n : 1, sizeof(*tm->map));
		if (tm->map == NULL)
			goto out;
		for (size_t i = 0; i < n && im->refused <= TRANSFER_MAX_REPORTED; i++) {
			struct json_object *item = json_object_array_get_idx(tm->items, i);
			long long id = transfer_record(im, tm, i, item);
			struct json_object *old = transfer_get(item, "id", NULL);
			struct json_object *uid = transfer_get(item, STORE_UID, NULL);
			if ((json_object_is_type(old, json_type_int) && json_object_get_int64(old) > 0) ||
			    json_object_is_type(uid, json_type_string)) {
				tm->map[tm->nmap].old_id =
				    json_object_is_type(old, json_type_int) ? json_object_get_int64(old) : 0;
				tm->map[tm->nmap].uid =
				    json_object_is_type(uid, json_type_string) ? json_object_get_string(uid) : NULL;
				tm->map[tm->nmap++].new_id = id;
			}
			transfer_done(c);
			if (db_is_down(c->db)) {
				transfer_bar_clear(im);
				fprintf(stderr, "import: the database connection was lost: %s\n", db_error(c->db));
				goto out;
			}
			im->done++;
			transfer_progress(im, 0);
		}
		qsort(tm->map, tm->nmap, sizeof(*tm->map), transfer_map_cmp);
		tm->done = 1;
	}
	transfer_progress(im, 1);
	double secs = transfer_now() - im->t0;
	if (im->refused > 0) {
		fprintf(stderr, "import: %zu record%s refused%s; nothing was written to %s\n", im->refused,
		        im->refused == 1 ? "" : "s",
		        im->refused > TRANSFER_MAX_REPORTED ? " (stopped early)" : "", slug);
		goto out;
	}
	if (o->dry_run) {
		if (!o->quiet)
			fprintf(stderr, "import: dry run: all %zu records are valid for %s (%.2f s, %.0f "
			                "records/s); nothing was written\n", im->total, slug, secs,
			        secs > 0 ? (double)im->total / secs : 0.0);
		rc = 0;
		goto out;
	}
	c->outer_txn = 0;
	if (db_commit(c->db) != PORTAL_OK) {
		fprintf(stderr, "import: commit failed: %s; nothing was written\n", db_error(c->db));
		goto out;
	}
	in_txn = 0;
	rc = 0;
	if (!o->quiet) {
		fprintf(stderr, "import: %zu records into %s (", im->total, slug);
		for (size_t k = 0; k < im->nmods; k++)
			fprintf(stderr, "%s%s %zu", k ? ", " : "", order[k]->name,
			        json_object_array_length(order[k]->items));
		fprintf(stderr, ") in %.2f s, %.0f records/s\n", secs,
		        secs > 0 ? (double)im->total / secs : 0.0);
	}
out:
	transfer_bar_clear(im);
	c->outer_txn = 0;
	if (in_txn)
		db_rollback(c->db);
	for (size_t i = 0; i < im->nmods; i++) {
		json_object_put(im->mods[i].readonly);
		free(im->mods[i].map);
	}
	free(im->media.map);
	json_object_put(api);
	free(api_text);
	json_object_put(doc);
	free(im);
	return rc;
}
