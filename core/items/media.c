/*
 * media.c - uploaded images and documents (/api/v1/{m}/media).
 *
 * An upload is streamed to a temporary file under media.dir (never held
 * whole in memory), hashed on the way (SHA-256, libsodium), its type read
 * from the bytes (libmagic) against an allow-list, and an image decoded
 * and written again by libvips: orientation applied, metadata (EXIF, GPS,
 * XMP, ICC comments) stripped, renditions 320 and 1280 px wide plus WebP.
 * Files are named by the hash of the uploaded bytes, so the same bytes are
 * stored once whichever municipality sends them; nginx serves them from
 * media.dir (portald never streams a file).  A record per municipality and
 * file is in the `media` table; what uses a file is in `links`
 * (to_module "media").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <magic.h>
#include <sodium.h>
#include <vips/vips.h>

#include "core.h"

static const struct media_kind media_kinds[] = {
    {"image/jpeg", "jpg", 1}, {"image/png", "png", 1}, {"image/webp", "webp", 1},
    {"application/pdf", "pdf", 0}, {NULL, NULL, 0}};

static const int media_widths[] = {320, 1280};

const struct media_kind *
media_kind_of(const char *mime)
{
	if (mime == NULL)
		return NULL;
	for (const struct media_kind *k = media_kinds; k->mime; k++)
		if (strcasecmp(k->mime, mime) == 0)
			return k;
	return NULL;
}

size_t
media_declared_type(const char *ct, char *out, size_t outlen)
{
	size_t n = 0;
	if (outlen == 0)
		return 0;
	out[0] = '\0';
	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	for (; *ct && *ct != ';' && *ct != ' ' && *ct != '\t'; ct++) {
		unsigned char ch = (unsigned char)*ct;
		if (ch < 0x21 || ch > 0x7e || n + 1 >= outlen) {
			out[0] = '\0';
			return 0;
		}
		out[n++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	out[n] = '\0';
	if (strchr(out, '/') == NULL) {
		out[0] = '\0';
		return 0;
	}
	return n;
}

/* Markers of content a browser or a server-side interpreter would run,
 * found anywhere in a file that claims to be an image or a PDF: such a
 * file is a polyglot (e.g. a JPEG with PHP or HTML appended). */
static const char *const media_markers[] = {"<?php", "<?=", "<script", "<html", "<!doctype",
                                            "<svg", "<iframe", "<body", "javascript:", NULL};
/* In a PDF: actions that run something when it is opened. */
static const char *const media_pdf_markers[] = {"/javascript", "/launch", NULL};

static int
media_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

const char *
media_scan(const unsigned char *p, size_t n, int pdf)
{
	for (int set = 0; set < 2; set++) {
		const char *const *m = set == 0 ? media_markers : media_pdf_markers;
		if (set == 1 && !pdf)
			break;
		for (; *m; m++) {
			size_t k = strlen(*m);
			for (size_t i = 0; i + k <= n; i++) {
				size_t j = 0;
				if (p[i] != (unsigned char)(*m)[0] && media_lower(p[i]) != (*m)[0])
					continue;
				while (j < k && media_lower(p[i + j]) == (*m)[j])
					j++;
				if (j == k)
					return *m;
			}
		}
	}
	return NULL;
}

const char *
media_name_problem(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 255)
		return "must be 1 to 255 bytes";
	if (!valid_utf8(name, n))
		return "must be UTF-8";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '"')
			return "must not contain control characters, slashes or double quotes";
	}
	return NULL;
}

/* ---- files ---- */

/* "DIR/ab/SHA[-W].EXT" */
static char *
media_path(struct portal_req *r, const char *sha, int width, const char *ext)
{
	const char *dir = r->core->conf->media_dir;
	if (width)
		return pool_printf(r->pool, "%s/%.2s/%s-%d.%s", dir, sha, sha, width, ext);
	return pool_printf(r->pool, "%s/%.2s/%s.%s", dir, sha, sha, ext);
}

static char *
media_url(struct portal_req *r, const char *sha, int width, const char *ext)
{
	if (width)
		return pool_printf(r->pool, "/media/%.2s/%s-%d.%s", sha, sha, width, ext);
	return pool_printf(r->pool, "/media/%.2s/%s.%s", sha, sha, ext);
}

static int
media_mkdir(const char *path)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return PORTAL_OK;
	return PORTAL_ERROR;
}

static magic_t media_magic;
static int media_vips_ready;

/* libmagic and libvips, once per process (after the fork: libvips keeps
 * threads).  PORTAL_OK or PORTAL_ERROR (logged). */
static int
media_libs(struct portal_req *r)
{
	if (media_magic == NULL) {
		media_magic = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
		if (media_magic == NULL || magic_load(media_magic, NULL) != 0) {
			log_msg(PORTAL_LOG_ERR, r->request_id, "libmagic: %s",
			        media_magic ? magic_error(media_magic) : "cannot open");
			if (media_magic)
				magic_close(media_magic);
			media_magic = NULL;
			return PORTAL_ERROR;
		}
	}
	if (!media_vips_ready) {
		if (VIPS_INIT("portald") != 0) {
			log_msg(PORTAL_LOG_ERR, r->request_id, "libvips: %s", vips_error_buffer());
			return PORTAL_ERROR;
		}
		/* one image at a time per worker, nothing kept between requests */
		vips_concurrency_set(1);
		vips_cache_set_max(0);
		vips_cache_set_max_mem(0);
		media_vips_ready = 1;
	}
	return PORTAL_OK;
}

/* ---- records ---- */

#define MEDIA_COLS "id, sha256, type, name, bytes, width, height, renditions, " \
                   "DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ')"

static struct json_object *
media_row(struct portal_req *r, struct portal_stmt *s)
{
	struct json_object *o = json_object_new_object();
	const char *sha = db_col_text(s, 1), *type = db_col_text(s, 2);
	const struct media_kind *k = media_kind_of(type);
	json_object_object_add(o, "id", json_object_new_int64(db_col_int(s, 0)));
	json_object_object_add(o, "url", json_object_new_string(media_url(r, sha, 0, k ? k->ext : "bin")));
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "name", db_col_is_null(s, 3) ? NULL : json_object_new_string(db_col_text(s, 3)));
	json_object_object_add(o, "bytes", json_object_new_int64(db_col_int(s, 4)));
	json_object_object_add(o, "sha256", json_object_new_string(sha));
	json_object_object_add(o, "width", db_col_is_null(s, 5) ? NULL : json_object_new_int64(db_col_int(s, 5)));
	json_object_object_add(o, "height", db_col_is_null(s, 6) ? NULL : json_object_new_int64(db_col_int(s, 6)));
	struct json_object *rend = db_col_json(s, 7);
	/* the statements here have no pool: the parsed value is ours */
	json_object_object_add(o, "renditions", rend ? rend : json_object_new_array());
	json_object_object_add(o, "created_at", json_object_new_string(db_col_text(s, 8)));
	return o;
}

/* Record `id` of r's municipality (kept by the pool), NULL when there is
 * none; *err set on a database failure. */
static struct json_object *
media_load(struct portal_req *r, long long id, int *err)
{
	*err = 0;
	struct portal_stmt *s = db_prepare(req_db(r), "SELECT " MEDIA_COLS " FROM media WHERE id = ? "
	                                              "AND municipality = ?");
	if (s == NULL || db_bind_int(s, 0, id) || db_bind_text(s, 1, r->muni->slug) || db_execute(s)) {
		*err = 1;
		return NULL;
	}
	int rc = db_fetch(s);
	struct json_object *o = rc == 1 ? pool_keep_json(r->pool, media_row(r, s)) : NULL;
	db_done(s);
	if (rc < 0)
		*err = 1;
	return o;
}

struct json_object *
media_record(struct portal_req *r, long long id)
{
	int err;
	if (r->muni == NULL || id <= 0)
		return NULL;
	return media_load(r, id, &err);
}

int
media_exists(struct portal_req *r, long long id)
{
	int err;
	if (r->muni == NULL || id <= 0)
		return 0;
	struct json_object *o = media_load(r, id, &err);
	return err ? PORTAL_ERROR : o != NULL;
}

/* {module: [ids]} of what uses record `id`; NULL on a database failure. */
static struct json_object *
media_used_by(struct portal_req *r, long long id, struct buf *text)
{
	struct portal_stmt *s = db_prepare(req_db(r), "SELECT from_module, from_id FROM links WHERE "
	                                              "municipality = ? AND to_module = 'media' AND "
	                                              "to_id = ? ORDER BY from_module, from_id");
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_bind_int(s, 1, id) || db_execute(s))
		return NULL;
	struct json_object *res = pool_keep_json(r->pool, json_object_new_object());
	int rc;
	while ((rc = db_fetch(s)) == 1) {
		const char *module = db_col_text(s, 0);
		struct json_object *list;
		if (!json_object_object_get_ex(res, module, &list)) {
			list = json_object_new_array();
			json_object_object_add(res, module, list);
			if (text)
				buf_printf(text, "%s%s %lld", text->len ? "; " : "", module, db_col_int(s, 1));
		} else if (text) {
			buf_printf(text, ", %lld", db_col_int(s, 1));
		}
		json_object_array_add(list, json_object_new_int64(db_col_int(s, 1)));
	}
	db_done(s);
	return rc < 0 ? NULL : res;
}

/* ---- GET ---- */

int
media_get(struct portal_req *r, long long id)
{
	int err;
	struct json_object *o = media_load(r, id, &err);
	if (err)
		return PORTAL_ERROR;
	if (o == NULL) {
		out_problem(r, 404, "no such file");
		return PORTAL_OK;
	}
	struct json_object *used = media_used_by(r, id, NULL);
	if (used == NULL)
		return PORTAL_ERROR;
	json_object_object_add(o, "used_by", json_object_get(used));
	out_json(r, 200, json_object_get(o));
	return PORTAL_OK;
}

int
media_list(struct portal_req *r)
{
	int limit = paging_limit(r);
	long long before = 0;
	const char *cursor = req_query(r, "cursor");
	if (cursor) {
		struct json_object *keys = paging_cursor_decode(r, cursor), *k0;
		if (keys == NULL || !json_object_is_type(keys, json_type_array) ||
		    (k0 = json_object_array_get_idx(keys, 0)) == NULL ||
		    (before = json_object_get_int64(k0)) <= 0) {
			if (keys)
				out_field_error(r, "cursor", "is not a cursor of this list");
			out_problem(r, 400, "invalid cursor");
			return PORTAL_OK;
		}
	}
	if (limit < 0) {
		out_problem(r, 400, "invalid limit");
		return PORTAL_OK;
	}
	struct portal_stmt *s = db_prepare(req_db(r), "SELECT " MEDIA_COLS " FROM media WHERE "
	                                              "municipality = ? AND (? = 0 OR id < ?) "
	                                              "ORDER BY id DESC LIMIT ?");
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_bind_int(s, 1, before) ||
	    db_bind_int(s, 2, before) || db_bind_int(s, 3, limit + 1) || db_execute(s))
		return PORTAL_ERROR;
	struct json_object *items = json_object_new_array(), *res = json_object_new_object();
	json_object_object_add(res, "items", items);
	int rc, n = 0;
	long long last = 0;
	while ((rc = db_fetch(s)) == 1) {
		if (n++ == limit)
			break;
		last = db_col_int(s, 0);
		json_object_array_add(items, media_row(r, s));
	}
	db_done(s);
	if (rc < 0) {
		json_object_put(res);
		return PORTAL_ERROR;
	}
	const char *next = NULL;
	if (n > limit) {
		struct json_object *keys = pool_keep_json(r->pool, json_object_new_array());
		json_object_array_add(keys, json_object_new_int64(last));
		next = paging_cursor_encode(r, keys);
	}
	json_object_object_add(res, "next", next ? json_object_new_string(next) : NULL);
	out_json(r, 200, res);
	return PORTAL_OK;
}

/* ---- DELETE ---- */

int
media_delete(struct portal_req *r, long long id)
{
	int err;
	struct json_object *o = media_load(r, id, &err);
	if (err)
		return PORTAL_ERROR;
	if (o == NULL) {
		out_problem(r, 404, "no such file");
		return PORTAL_OK;
	}
	struct buf text;
	buf_init(&text, r->pool);
	if (media_used_by(r, id, &text) == NULL)
		return PORTAL_ERROR;
	if (text.len) {
		out_problem(r, 409, pool_printf(r->pool, "file %lld is used by %s; remove it there first",
		                                id, text.data));
		return PORTAL_OK;
	}
	const char *sha = json_object_get_string(json_object_object_get(o, "sha256"));
	struct portal_stmt *s = db_prepare(req_db(r), "DELETE FROM media WHERE id = ? AND municipality = ?");
	if (s == NULL || db_bind_int(s, 0, id) || db_bind_text(s, 1, r->muni->slug) || db_execute(s))
		return PORTAL_ERROR;
	db_done(s);
	if (audit_record(r, "delete", id, json_object_get(o), NULL) != PORTAL_OK)
		return PORTAL_ERROR;
	/* the files go when no municipality has them any more */
	s = db_prepare(req_db(r), "SELECT COUNT(*) FROM media WHERE sha256 = ?");
	if (s == NULL || db_bind_text(s, 0, sha) || db_execute(s))
		return PORTAL_ERROR;
	long long others = db_fetch(s) == 1 ? db_col_int(s, 0) : 1;
	db_done(s);
	if (others == 0) {
		const struct media_kind *k = media_kind_of(json_object_get_string(json_object_object_get(o, "type")));
		const char *ext = k ? k->ext : "bin";
		unlink(media_path(r, sha, 0, ext));
		unlink(media_path(r, sha, 0, "webp"));
		for (size_t i = 0; i < sizeof(media_widths) / sizeof(media_widths[0]); i++) {
			unlink(media_path(r, sha, media_widths[i], ext));
			unlink(media_path(r, sha, media_widths[i], "webp"));
		}
	}
	r->status = 204;
	r->responded = 1;
	return PORTAL_OK;
}

/* ---- POST ---- */

/* Saves `im` to `path` (its saver from the extension) with its metadata
 * stripped, through a temporary name in the same directory. */
static int
media_save(struct portal_req *r, VipsImage *im, const char *path, const char *ext)
{
	/* a name of this request's own: concurrent uploads of the same bytes
	 * (other workers, other hosts on a shared media.dir) each write theirs
	 * and rename it over the same final name */
	char *tmp = pool_printf(r->pool, "%s.%08x.part.%s", path, randombytes_random(), ext);
	int rc;
	if (strcmp(ext, "png") == 0)
		rc = vips_pngsave(im, tmp, "strip", TRUE, "compression", 6, NULL);
	else if (strcmp(ext, "webp") == 0)
		rc = vips_webpsave(im, tmp, "strip", TRUE, "Q", 80, NULL);
	else
		rc = vips_jpegsave(im, tmp, "strip", TRUE, "Q", 85, "optimize_coding", TRUE, NULL);
	if (rc != 0 || rename(tmp, path) != 0) {
		log_msg(PORTAL_LOG_ERR, r->request_id, "media: cannot write %s: %s", path,
		        rc ? vips_error_buffer() : strerror(errno));
		vips_error_clear();
		unlink(tmp);
		return PORTAL_ERROR;
	}
	return PORTAL_OK;
}

static struct json_object *
media_rendition(struct portal_req *r, const char *sha, int w, int h, const char *mime, const char *ext)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "width", json_object_new_int(w));
	json_object_object_add(o, "height", json_object_new_int(h));
	json_object_object_add(o, "type", json_object_new_string(mime));
	json_object_object_add(o, "url", json_object_new_string(media_url(r, sha, w, ext)));
	return o;
}

/*
 * The image in `tmp`: header checked (dimensions against media.max_pixels
 * before anything is decoded), decoded, turned upright, written without
 * metadata as DIR/ab/SHA.EXT, and its renditions.  0 with *width, *height
 * and *rend set, or an HTTP status (422; 500 when a file cannot be
 * written) with *detail.
 */
static int
media_image(struct portal_req *r, const char *tmp, const char *sha, const struct media_kind *k,
            int *width, int *height, struct json_object **rend, const char **detail)
{
	const char *loader = vips_foreign_find_load(tmp);
	char want[32];
	snprintf(want, sizeof(want), "%sload", strcmp(k->ext, "jpg") == 0 ? "jpeg" : k->ext);
	if (loader == NULL || strncasecmp(loader, "VipsForeignLoad", 15) != 0 ||
	    strncasecmp(loader + 15, want, strlen(want) - 4) != 0) {
		vips_error_clear();
		*detail = pool_printf(r->pool, "the file is not a readable %s image", k->mime);
		return 422;
	}
	VipsImage *in = vips_image_new_from_file(tmp, "access", VIPS_ACCESS_RANDOM, "fail_on",
	                                         VIPS_FAIL_ON_ERROR, NULL);
	if (in == NULL) {
		vips_error_clear();
		*detail = pool_printf(r->pool, "the %s image cannot be read", k->mime);
		return 422;
	}
	long long px = (long long)vips_image_get_width(in) * vips_image_get_height(in);
	if (px > r->core->conf->media_max_pixels || vips_image_get_width(in) > 20000 ||
	    vips_image_get_height(in) > 20000) {
		*detail = pool_printf(r->pool, "the image is %dx%d pixels; at most %lld pixels (and 20000 "
		                               "a side) are accepted",
		                      vips_image_get_width(in), vips_image_get_height(in),
		                      r->core->conf->media_max_pixels);
		g_object_unref(in);
		return 422;
	}
	VipsImage *up = NULL;
	if (vips_autorot(in, &up, NULL) != 0) {
		g_object_unref(in);
		vips_error_clear();
		*detail = pool_printf(r->pool, "the %s image cannot be decoded", k->mime);
		return 422;
	}
	g_object_unref(in);
	/* decode it all now: a truncated or corrupt image is the client's
	 * fault (422), not a failure to write */
	VipsImage *mem = vips_image_copy_memory(up);
	g_object_unref(up);
	if (mem == NULL) {
		vips_error_clear();
		*detail = pool_printf(r->pool, "the %s image cannot be decoded", k->mime);
		return 422;
	}
	*width = vips_image_get_width(mem);
	*height = vips_image_get_height(mem);
	*rend = json_object_new_array();
	int rc = 0;
	char *dir = pool_printf(r->pool, "%s/%.2s", r->core->conf->media_dir, sha);
	if (media_mkdir(dir) != PORTAL_OK ||
	    media_save(r, mem, media_path(r, sha, 0, k->ext), k->ext) != PORTAL_OK)
		rc = 500;
	if (rc == 0 && strcmp(k->ext, "webp") != 0) {
		if (media_save(r, mem, media_path(r, sha, 0, "webp"), "webp") != PORTAL_OK)
			rc = 500;
		else
			json_object_array_add(*rend, media_rendition(r, sha, 0, 0, "image/webp", "webp"));
	}
	for (size_t i = 0; rc == 0 && i < sizeof(media_widths) / sizeof(media_widths[0]); i++) {
		int w = media_widths[i];
		if (w >= *width)
			continue; /* never larger than the original */
		VipsImage *small = NULL;
		if (vips_resize(mem, &small, (double)w / *width, NULL) != 0) {
			rc = 500;
			break;
		}
		int h = vips_image_get_height(small);
		if (media_save(r, small, media_path(r, sha, w, k->ext), k->ext) != PORTAL_OK ||
		    (strcmp(k->ext, "webp") != 0 &&
		     media_save(r, small, media_path(r, sha, w, "webp"), "webp") != PORTAL_OK)) {
			g_object_unref(small);
			rc = 500;
			break;
		}
		g_object_unref(small);
		json_object_array_add(*rend, media_rendition(r, sha, w, h, k->mime, k->ext));
		if (strcmp(k->ext, "webp") != 0)
			json_object_array_add(*rend, media_rendition(r, sha, w, h, "image/webp", "webp"));
	}
	g_object_unref(mem);
	/* the full-size WebP was added with width 0: give it the real size */
	size_t n = json_object_array_length(*rend);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(*rend, i);
		if (json_object_get_int(json_object_object_get(o, "width")) == 0) {
			json_object_object_add(o, "width", json_object_new_int(*width));
			json_object_object_add(o, "height", json_object_new_int(*height));
			json_object_object_add(o, "url", json_object_new_string(media_url(r, sha, 0, "webp")));
		}
	}
	if (rc) {
		vips_error_clear();
		json_object_put(*rend);
		*rend = NULL;
		*detail = "the server could not store the file";
	}
	return rc;
}

/* The municipality's quota: its own media_quota_bytes, else media.quota_bytes. */
static long long
media_quota(struct portal_req *r)
{
	return r->muni->media_quota_bytes >= 0 ? r->muni->media_quota_bytes
	                                       : r->core->conf->media_quota_bytes;
}

/* Bytes the municipality's files take (`locking`: as committed, not as
 * the transaction's snapshot has them), or -1 on a database failure. */
static long long
media_used(struct portal_req *r, int locking)
{
	struct portal_stmt *s = db_prepare(req_db(r), locking ? "SELECT COALESCE(SUM(bytes), 0) FROM "
	                                                        "media WHERE municipality = ? LOCK IN "
	                                                        "SHARE MODE"
	                                                      : "SELECT COALESCE(SUM(bytes), 0) FROM "
	                                                        "media WHERE municipality = ?");
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_execute(s))
		return -1;
	long long n = db_fetch(s) == 1 ? db_col_int(s, 0) : -1;
	db_done(s);
	return n;
}

static int
media_refuse(struct portal_req *r, int status, const char *detail)
{
	out_problem(r, status, detail);
	return PORTAL_OK;
}

/* Whether `total` more bytes go over the quota (`locking`: as
 * media_used): 0 they fit, 1 they do not (res says 507 and why), -1 on a
 * database failure. */
static int
media_over_quota(struct portal_req *r, int locking, long long total, struct media_result *res)
{
	long long used = media_used(r, locking), quota = media_quota(r);
	if (used < 0)
		return -1;
	if (used + total <= quota)
		return 0;
	res->status = 507;
	res->detail = pool_printf(r->pool, "%s's files take %lld of its %lld bytes; this file does not "
	                                   "fit. Delete files that are no longer used, or ask for a "
	                                   "larger media_quota_bytes",
	                          r->muni->name, used, quota);
	return 1;
}

/* Under the municipality's lock: the quota checked and the record
 * written (201), or a refusal (507 over the quota, 409 the same bytes
 * just committed by another request) in res.  PORTAL_ERROR on a database
 * failure. */
static int
media_insert(struct portal_req *r, const char *sha, const struct media_kind *k, const char *name,
             long long total, int width, int height, struct json_object *rend,
             struct media_result *res)
{
	/* the municipality's row of cache_generations (cache_row made it
	 * before the transaction; the write's cache_bump updates it at the
	 * end) locked until the commit: two uploads at once check the quota
	 * one after the other, and the second counts the first's bytes (a
	 * locking read sees what is committed, not the transaction's
	 * snapshot) */
	struct portal_stmt *s = db_prepare(req_db(r), "SELECT token FROM cache_generations WHERE "
	                                              "municipality = ? FOR UPDATE");
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_execute(s))
		return PORTAL_ERROR;
	while (db_fetch(s) == 1)
		;
	db_done(s);
	int over = media_over_quota(r, 1, total, res);
	if (over != 0)
		return over < 0 ? PORTAL_ERROR : PORTAL_OK;
	s = db_prepare(req_db(r), "INSERT INTO media (municipality, sha256, type, "
	                                              "name, bytes, width, height, renditions) "
	                                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_bind_text(s, 1, sha) ||
	    db_bind_text(s, 2, k->mime) || (name ? db_bind_text(s, 3, name) : db_bind_null(s, 3)) ||
	    db_bind_int(s, 4, total) || (k->image ? db_bind_int(s, 5, width) : db_bind_null(s, 5)) ||
	    (k->image ? db_bind_int(s, 6, height) : db_bind_null(s, 6)) ||
	    db_bind_text(s, 7, json_object_to_json_string_ext(rend, JSON_C_TO_STRING_PLAIN |
	                                                                 JSON_C_TO_STRING_NOSLASHESCAPE)))
		return PORTAL_ERROR;
	if (db_execute(s) != PORTAL_OK) {
		if (!db_is_duplicate(s))
			return PORTAL_ERROR;
		/* the same bytes, uploaded at the same moment by a concurrent
		 * request that committed first: its record is the answer */
		db_done(s);
		res->status = 409;
		res->detail = "the same file is being uploaded by another request; send it again to get "
		              "its record";
		return PORTAL_OK;
	}
	long long id = db_insert_id(s);
	db_done(s);
	int err;
	struct json_object *o = media_load(r, id, &err);
	if (o == NULL)
		return PORTAL_ERROR;
	if (audit_record(r, "create", id, NULL, json_object_get(o)) != PORTAL_OK)
		return PORTAL_ERROR;
	res->status = 201;
	res->id = id;
	res->record = o;
	return PORTAL_OK;
}

/*
 * The one write path of a file, the API's upload and the editor's alike:
 * the file at `tmp` (a temporary file of req_tmpfile, `total` bytes) is
 * hashed, its type read from its bytes and checked against `declared`
 * (NULL or application/octet-stream: any allowed type), scanned for
 * markup, deduplicated, fitted into the quota and stored (an image
 * re-encoded with its renditions).  res->status is 200 (the same bytes
 * were there), 201 (res->record, res->id) or a refusal with res->detail
 * (and res->field when a field is to blame).  PORTAL_ERROR on a database
 * failure.
 */
int
media_ingest(struct portal_req *r, const char *tmp, long long total, const char *declared,
             const char *name, struct media_result *res)
{
	const struct conf *conf = r->core->conf;
	memset(res, 0, sizeof(*res));
	int octet = declared == NULL || strcmp(declared, "application/octet-stream") == 0;
	if (total > conf->media_max_bytes) {
		res->status = 413;
		res->detail = pool_printf(r->pool, "the file is larger than the %lld bytes accepted "
		                                   "(media.max_bytes)",
		                          conf->media_max_bytes);
		return PORTAL_OK;
	}
	if (total == 0) {
		res->status = 400;
		res->detail = "the file is empty";
		return PORTAL_OK;
	}
	if (media_libs(r) != PORTAL_OK) {
		res->status = 500;
		res->detail = "the server cannot read files now";
		return PORTAL_OK;
	}
	/* the type is the bytes', whatever the header said */
	const char *mime = magic_file(media_magic, tmp);
	if (mime == NULL) {
		res->status = 415;
		res->detail = "the type of the file cannot be told from its bytes";
		return PORTAL_OK;
	}
	const struct media_kind *k = media_kind_of(mime);
	res->status = 415;
	if (k == NULL) {
		if (strstr(mime, "svg"))
			res->detail = "SVG files are not accepted (they can carry scripts); send PNG, JPEG "
			              "or WebP";
		else
			res->detail = pool_printf(r->pool, "the file is %s by its bytes; JPEG, PNG, WebP and "
			                                   "PDF are accepted",
			                          mime);
		return PORTAL_OK;
	}
	if (!octet && strcmp(declared, k->mime) != 0) {
		res->detail = pool_printf(r->pool, "the file was sent as %s, but its bytes are %s",
		                          declared, k->mime);
		return PORTAL_OK;
	}
	res->status = 0;
	/* read back a chunk at a time, hashing (SHA-256) and scanning: a
	 * marker across two chunks is found in the overlap kept from the
	 * previous one */
	int fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		res->status = 500;
		res->detail = "the server could not store the file";
		return PORTAL_OK;
	}
	crypto_hash_sha256_state h;
	crypto_hash_sha256_init(&h);
	char *chunk = pool_alloc(r->pool, 65536);
	size_t keep = 0, overlap = 16;
	const char *marker = NULL;
	long long seen = 0;
	int n;
	while ((n = (int)read(fd, chunk + keep, 65536 - keep)) > 0) {
		crypto_hash_sha256_update(&h, (unsigned char *)chunk + keep, (size_t)n);
		seen += n;
		size_t len = keep + (size_t)n;
		if (marker == NULL)
			marker = media_scan((unsigned char *)chunk, len, !k->image);
		keep = len < overlap ? len : overlap;
		memmove(chunk, chunk + len - keep, keep);
	}
	close(fd);
	if (n < 0 || seen != total) {
		res->status = 500;
		res->detail = "the server could not store the file";
		return PORTAL_OK;
	}
	if (marker) {
		res->status = 422;
		res->detail = pool_printf(r->pool, "the file is a %s but also contains \"%s\" (markup or a "
		                                   "script): refused as a possible polyglot",
		                          k->mime, marker);
		return PORTAL_OK;
	}
	unsigned char sum[crypto_hash_sha256_BYTES];
	char sha[2 * sizeof(sum) + 1];
	crypto_hash_sha256_final(&h, sum);
	sodium_bin2hex(sha, sizeof(sha), sum, sizeof(sum));

	/* the same bytes again: the record there is */
	struct portal_stmt *s = db_prepare(req_db(r), "SELECT id FROM media WHERE municipality = ? AND "
	                                              "sha256 = ?");
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_bind_text(s, 1, sha) || db_execute(s))
		return PORTAL_ERROR;
	long long have = db_fetch(s) == 1 ? db_col_int(s, 0) : 0;
	db_done(s);
	if (have > 0) {
		int err;
		res->record = media_load(r, have, &err);
		if (res->record == NULL)
			return PORTAL_ERROR;
		res->id = have;
		res->status = 200;
		return PORTAL_OK;
	}

	/* a first look at the quota, before an image is decoded; the check
	 * that counts is media_insert's, under the lock */
	int over = media_over_quota(r, 0, total, res);
	if (over != 0)
		return over < 0 ? PORTAL_ERROR : PORTAL_OK;
	int width = 0, height = 0, st;
	struct json_object *rend = NULL;
	const char *detail = NULL;
	if (k->image) {
		if ((st = media_image(r, tmp, sha, k, &width, &height, &rend, &detail)) != 0) {
			res->status = st;
			res->detail = detail;
			return PORTAL_OK;
		}
	} else {
		/* a document is kept as sent */
		char *dir = pool_printf(r->pool, "%s/%.2s", conf->media_dir, sha);
		char *path = media_path(r, sha, 0, k->ext);
		if (media_mkdir(dir) != PORTAL_OK || chmod(tmp, 0644) != 0 || rename(tmp, path) != 0) {
			log_msg(PORTAL_LOG_ERR, r->request_id, "media: %s: %s", path, strerror(errno));
			res->status = 500;
			res->detail = "the server could not store the file";
			return PORTAL_OK;
		}
		rend = json_object_new_array();
	}
	pool_keep_json(r->pool, rend);
	return media_insert(r, sha, k, name, total, width, height, rend, res);
}

int
media_upload(struct portal_req *r)
{
	const struct conf *conf = r->core->conf;
	char declared[128];
	const char *ct = req_header(r, "Content-Type");
	media_declared_type(ct, declared, sizeof(declared));
	if (declared[0] == '\0')
		return media_refuse(r, 415, "send the file itself as the body, with its Content-Type "
		                            "(image/jpeg, image/png, image/webp or application/pdf)");
	if (strcmp(declared, "image/jpg") == 0)
		strcpy(declared, "image/jpeg");
	int octet = strcmp(declared, "application/octet-stream") == 0;
	if (!octet && media_kind_of(declared) == NULL)
		return media_refuse(r, 415, pool_printf(r->pool, "%s files are not accepted; send JPEG, "
		                                                 "PNG, WebP or PDF",
		                                        declared));
	const char *name = req_query(r, "name");
	const char *np = name ? media_name_problem(name) : NULL;
	if (np) {
		out_field_error(r, "name", np);
		return media_refuse(r, 422, pool_printf(r->pool, "name %s", np));
	}
	const char *cl = req_header(r, "Content-Length");
	if (cl && *cl) {
		char *end;
		long long len = strtoll(cl, &end, 10);
		if (*end != '\0' || len < 0)
			return media_refuse(r, 400, "invalid Content-Length");
		if (len > conf->media_max_bytes)
			return media_refuse(r, 413, pool_printf(r->pool, "the file is %lld bytes; at most %lld "
			                                                 "are accepted (media.max_bytes)",
			                                        len, conf->media_max_bytes));
	}
	char *tmp;
	int fd = req_tmpfile(r, &tmp);
	if (fd < 0)
		return media_refuse(r, 500, "the server could not store the file");
	/* streamed: a buffer's worth in memory at a time */
	char *chunk = pool_alloc(r->pool, 65536);
	long long total = 0;
	int over = 0, werr = 0, n;
	while ((n = r->io->read(r->io->ctx, chunk, 65536)) > 0) {
		total += n;
		if (total > conf->media_max_bytes) {
			over = 1;
			continue; /* read the rest, keep nothing */
		}
		for (ssize_t off = 0; off < n && !werr;) {
			ssize_t w = write(fd, chunk + off, (size_t)(n - off));
			if (w < 0 && errno != EINTR)
				werr = 1;
			else if (w > 0)
				off += w;
		}
	}
	if (close(fd) != 0)
		werr = 1;
	if (over)
		return media_refuse(r, 413, pool_printf(r->pool, "the file is larger than the %lld bytes "
		                                                 "accepted (media.max_bytes)",
		                                        conf->media_max_bytes));
	if (werr) {
		log_msg(PORTAL_LOG_ERR, r->request_id, "media: writing %s: %s", tmp, strerror(errno));
		return media_refuse(r, 500, "the server could not store the file");
	}
	if (total == 0)
		return media_refuse(r, 400, "the body is empty; send the file itself");
	struct media_result res;
	if (media_ingest(r, tmp, total, declared, name, &res) != PORTAL_OK)
		return PORTAL_ERROR;
	if (res.status != 200 && res.status != 201)
		return media_refuse(r, res.status, res.detail);
	out_header(r, "Location", pool_printf(r->pool, "/api/v1/%s/media/%lld", r->muni->slug, res.id));
	out_json(r, res.status, json_object_get(res.record));
	return PORTAL_OK;
}
