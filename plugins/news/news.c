/*
 * news.c - the news module: articles about a municipality's international
 * work, written in Markdown and served with their safe HTML.
 *
 * The item is declared once, below (fields, columns of the table `news`,
 * filters, sort key); the core derives the five routes, the SQL and the
 * item's JSON from it (portal.h, struct portal_item).  What is this
 * module's own: published_at (normalised to UTC), the related items of
 * other modules, the image, and the list's since argument.  Declared, and
 * done by the core: the slug (PF_SLUG made of the title, unique: 409, the
 * list's slug argument), drafts (`published`: only a token of the
 * municipality with role reader or higher sees a draft; for everyone else
 * it answers 404 and is absent from lists) and body_html (`from` the
 * Markdown body).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "portal.h"

PORTAL_PLUGIN_API; /* defined by PORTAL_PLUGIN, at the end */

#define NEWS_SLUG_MAX 100   /* bytes of a slug */
#define NEWS_MAX_RELATED 50 /* ids per related module */
#define NEWS_TS_LEN 20      /* "YYYY-MM-DDTHH:MM:SSZ" */

static const char *const news_statuses[] = {"draft", "published", NULL};
/* The same areas as a partnership's, so one `area` finds both. */
static const char *const news_areas[] = {PORTAL_AREAS, NULL};
/* The modules a news item may point at, in the order of "related". */
static const char *const news_related_modules[] = {"partnerships", "projects", "visits", NULL};

static const struct portal_field news_area = {.name = "area", .type = PF_ENUM,
                                              .values = news_areas};

/* An id of another module's item; checked against that module on write. */
static const struct portal_field news_related_id = {
	.name = "id", .type = PF_INT, .min = 1, .max_num = 9007199254740991.0};

static const struct portal_field news_related_fields[] = {
	{.name = "partnerships", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = NEWS_MAX_RELATED,
	 .items = &news_related_id, .link = "partnerships"},
	{.name = "projects", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = NEWS_MAX_RELATED,
	 .items = &news_related_id, .link = "projects"},
	{.name = "visits", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = NEWS_MAX_RELATED,
	 .items = &news_related_id, .link = "visits"},
	{.name = NULL},
};

/* An image needs its text alternative (WCAG 1.1.1): alt is required, and
 * one of media (an uploaded file's id, /api/v1/{m}/media) or url (an
 * external image, kept for what was written before uploads; news_check).
 * Null without one (PF_NULLABLE: alt, the first column, is NULL). */
static const struct portal_field news_image_fields[] = {
	{.name = "alt", .type = PF_STRING, .flags = PF_REQUIRED, .max = 500, .column = "image_alt",
	 .doc = "Text alternative (required with the image)."},
	{.name = "media", .type = PF_INT, .min = 1, .max_num = 1e18, .column = "image_media",
	 .link = "media", .doc = "The id of an uploaded image of this municipality."},
	{.name = "url", .type = PF_URL, .flags = PF_KEPT, .max = 2000, .column = "image_url",
	 .doc = "An external image: removed only by giving media, or by removing the image "
	        "(null as a whole)."},
	{.name = "credit", .type = PF_STRING, .max = 200, .column = "image_credit",
	 .doc = "Who took or owns the picture."},
	{.name = NULL},
};

/* The uploaded file of `image.media`, for pages (news_image_file): its URL,
 * size and the srcset of its renditions. */
static const struct portal_field news_image_file_fields[] = {
	{.name = "url", .type = PF_STRING, .flags = PF_REQUIRED},
	{.name = "type", .type = PF_STRING, .flags = PF_REQUIRED},
	{.name = "width", .type = PF_INT},
	{.name = "height", .type = PF_INT},
	{.name = "srcset", .type = PF_STRING, .flags = PF_REQUIRED},
	{.name = "webp_srcset", .type = PF_STRING},
	{.name = NULL},
};

/* The item.  slug and status are filled in before it is checked on
 * create (the core, the defaults); published_at is checked by
 * news_check_doc. */
static const struct portal_field news_fields[] = {
	{.name = "slug", .type = PF_STRING, .flags = PF_REQUIRED | PF_SLUG | PF_UNIQUE,
	 .max = NEWS_SLUG_MAX, .from = "title", .doc = "Made of the title when absent or null."},
	{.name = "title", .type = PF_STRING, .flags = PF_REQUIRED | PF_SEARCH, .max = 300},
	{.name = "lead", .type = PF_TEXT, .flags = PF_SEARCH, .max = 2000},
	{.name = "body", .type = PF_TEXT, .flags = PF_SEARCH | PF_MARKDOWN, .max = 100000},
	{.name = "body_html", .type = PF_TEXT, .flags = PF_READONLY, .from = "body"}, /* the core's HTML */
	{.name = "lang", .type = PF_LANG, .flags = PF_REQUIRED,
	 .doc = "BCP 47 language tag."},
	{.name = "status", .type = PF_ENUM, .flags = PF_REQUIRED, .values = news_statuses},
	{.name = "published_at", .type = PF_STRING, .flags = PF_UTC, .max = 40,
	 .doc = "UTC; always set on a published item."},
	{.name = "author", .type = PF_STRING, .flags = PF_SEARCH, .max = 200},
	{.name = "areas", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = PORTAL_NAREAS,
	 .items = &news_area},
	{.name = "related", .type = PF_OBJECT, .fields = news_related_fields, .column = "related",
	 .doc = "Ids of this municipality's partnerships, projects and visits the item is about."},
	{.name = "image", .type = PF_OBJECT, .flags = PF_NULLABLE, .fields = news_image_fields,
	 .doc = "alt and one of media (an uploaded image's id) or url (an external image)."},
	{.name = "image_file", .type = PF_OBJECT, .flags = PF_READONLY | PF_NULLABLE,
	 .fields = news_image_file_fields,
	 .doc = "The uploaded file of image.media, for pages: its URL, size and the srcset of "
	        "its renditions (its own type's, and WebP's); null when the image is not an "
	        "upload."},
	{.name = NULL},
};

/* The `n` digits at s as a number, or -1 when they are not all digits. */
static int
news_num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Writes `t` (UTC seconds) as "YYYY-MM-DDTHH:MM:SSZ"; PORTAL_ERROR when the
 * year is outside 1000..9999 (what DATETIME holds). */
static int
news_format(time_t t, char *out)
{
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1000 || tm.tm_year + 1900 > 9999)
		return PORTAL_ERROR;
	strftime(out, NEWS_TS_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return PORTAL_OK;
}

/*
 * A timestamp "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" as UTC: writes
 * "YYYY-MM-DDTHH:MM:SSZ" to out (NEWS_TS_LEN + 1 bytes; fractions are
 * dropped).  With `partial`, a partial date YYYY, YYYY-MM or YYYY-MM-DD is
 * accepted too and means its first second.  PORTAL_OK or PORTAL_ERROR.
 */
static int
news_timestamp(const char *s, int partial, char *out)
{
	char date[11];
	size_t n = s ? strlen(s) : 0;
	if (partial && n <= 10 && api->is_partial_date(s)) {
		snprintf(out, NEWS_TS_LEN + 1, "%.4s-%.2s-%.2sT00:00:00Z", s, n >= 7 ? s + 5 : "01",
		         n == 10 ? s + 8 : "01");
		return PORTAL_OK;
	}
	if (n < 20 || n > 40)
		return PORTAL_ERROR;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (!api->is_partial_date(date) || strlen(date) != 10 || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return PORTAL_ERROR;
	int hh = news_num(s + 11, 2), mm = news_num(s + 14, 2), ss = news_num(s + 17, 2);
	if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
		return PORTAL_ERROR;
	const char *z = s + 19;
	if (*z == '.') { /* a fraction of a second: dropped */
		const char *f = ++z;
		while (*z >= '0' && *z <= '9')
			z++;
		if (z == f || z - f > 9)
			return PORTAL_ERROR;
	}
	long offset = 0;
	if ((z[0] == 'Z' || z[0] == 'z') && z[1] == '\0') {
		offset = 0;
	} else if ((z[0] == '+' || z[0] == '-') && strlen(z) == 6 && z[3] == ':') {
		int oh = news_num(z + 1, 2), om = news_num(z + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return PORTAL_ERROR;
		offset = (oh * 60L + om) * 60L * (z[0] == '-' ? -1 : 1);
	} else {
		return PORTAL_ERROR;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = news_num(s, 4) - 1900;
	tm.tm_mon = news_num(s + 5, 2) - 1;
	tm.tm_mday = news_num(s + 8, 2);
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	return news_format(timegm(&tm) - offset, out);
}

/* "YYYY-MM-DDTHH:MM:SSZ" -> "YYYY-MM-DD HH:MM:SS" for a DATETIME (a
 * request string). */
static const char *
news_sql_time(portal_req *r, const char *ts)
{
	return api->printf(r, "%.10s %.8s", ts, ts + 11);
}

/* The current time as "YYYY-MM-DDTHH:MM:SSZ" into out (NEWS_TS_LEN + 1). */
static void
news_now(char *out)
{
	if (news_format(time(NULL), out) != PORTAL_OK)
		snprintf(out, NEWS_TS_LEN + 1, "9999-12-31T23:59:59Z"); /* a clock past 9999 */
}

/* 1 when `s` is a string the core's PF_STRING check passed: no control
 * character and not only white space (so a published_at error is not
 * reported twice). */
static int
news_plain_string(const char *s)
{
	int text = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (*p != ' ')
			text = 1;
	}
	return text;
}

/* "related" with its three arrays, null and absent ones as [] (in place,
 * when it is an object or absent). */
static void
news_fill_related(struct json_object *doc)
{
	struct json_object *rel;
	if (!json_object_object_get_ex(doc, "related", &rel) || rel == NULL) {
		rel = json_object_new_object();
		json_object_object_add(doc, "related", rel);
	}
	if (!json_object_is_type(rel, json_type_object))
		return;
	for (const char *const *m = news_related_modules; *m; m++) {
		struct json_object *ids;
		if (!json_object_object_get_ex(rel, *m, &ids) || ids == NULL)
			json_object_object_add(rel, *m, json_object_new_array());
	}
}

/*
 * The rules across members of a whole item (create body, or current item
 * merged with a patch), normalising it in place: published_at to UTC
 * "...Z", and set to now when the item is published without one;
 * "related" always with its three arrays.  Records every problem.
 */
static int
news_check_doc(portal_req *r, struct json_object *doc)
{
	if (!json_object_is_type(doc, json_type_object))
		return PORTAL_ERROR;

	/* published_at: normalised to UTC; a published item always has one */
	char ts[NEWS_TS_LEN + 1];
	const char *at = api->member_str(doc, "published_at"), *status = api->member_str(doc, "status");
	struct json_object *atv = NULL;
	int has_at = json_object_object_get_ex(doc, "published_at", &atv) && atv != NULL;
	if (at != NULL) {
		if (news_timestamp(at, 0, ts) == PORTAL_OK)
			json_object_object_add(doc, "published_at", json_object_new_string(ts));
		else if (strlen(at) <= 40 && news_plain_string(at))
			api->field_error(r, "published_at",
			                 "must be a timestamp such as \"2024-09-09T08:00:00Z\" (UTC, or "
			                 "with an offset such as +02:00), years 1000 to 9999");
	} else if (!has_at && status != NULL && strcmp(status, "published") == 0) {
		news_now(ts); /* absent or null: published now */
		json_object_object_add(doc, "published_at", json_object_new_string(ts));
	}

	news_fill_related(doc);
	return api->has_errors(r) ? PORTAL_ERROR : PORTAL_OK;
}

/* ---- links to partnerships, projects and visits ---- */

static const char *
news_singular(const char *module)
{
	if (strcmp(module, "partnerships") == 0)
		return "partnership";
	if (strcmp(module, "projects") == 0)
		return "project";
	return "visit";
}

/* 1 when the array `ids` holds `id`. */
static int
news_has_id(struct json_object *ids, long long id)
{
	size_t n = json_object_is_type(ids, json_type_array) ? json_object_array_length(ids) : 0;
	for (size_t i = 0; i < n; i++)
		if (json_object_get_int64(json_object_array_get_idx(ids, i)) == id)
			return 1;
	return 0;
}

/*
 * Checks every id of doc's "related" with the module it names (same
 * municipality, module enabled there, item exists); records an error
 * naming "related.visits[0]" for each that does not.  Targets refuse to
 * be deleted while linked (api->link_guard), but a municipality may
 * switch a module off: an id the item already had (in `before`, on a
 * patch) that no longer answers is dropped instead, so an editor can
 * still change the title of an older article.  PORTAL_OK, or
 * PORTAL_ERROR when the database failed.
 */
static int
news_check_related(portal_req *r, struct json_object *doc, struct json_object *before)
{
	struct json_object *rel, *old_rel = NULL;
	if (!json_object_object_get_ex(doc, "related", &rel) ||
	    !json_object_is_type(rel, json_type_object))
		return PORTAL_OK; /* validate said why */
	if (before != NULL)
		json_object_object_get_ex(before, "related", &old_rel);
	for (const char *const *m = news_related_modules; *m; m++) {
		struct json_object *ids, *old = NULL, *keep;
		if (!json_object_object_get_ex(rel, *m, &ids) || !json_object_is_type(ids, json_type_array))
			continue;
		if (old_rel != NULL)
			json_object_object_get_ex(old_rel, *m, &old);
		size_t n = json_object_array_length(ids), dropped = 0;
		keep = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			struct json_object *v = json_object_array_get_idx(ids, i);
			if (!json_object_is_type(v, json_type_int))
				continue; /* validate said why */
			long long id = json_object_get_int64(v);
			int rc = api->link_exists(r, *m, id);
			if (rc < 0) {
				json_object_put(keep);
				return PORTAL_ERROR;
			}
			if (rc > 0)
				json_object_array_add(keep, json_object_new_int64(id));
			else if (news_has_id(old, id))
				dropped++;
			else
				api->field_error(r, api->printf(r, "related.%s[%zu]", *m, i),
				                 "is not a %s of this municipality", news_singular(*m));
		}
		if (dropped)
			json_object_object_add(rel, *m, keep); /* rel takes keep */
		else
			json_object_put(keep);
	}
	return PORTAL_OK;
}

/* Stores the links of item `id` (as stored: `item`) in the core, for each
 * module, also with none, so a changed title or status reaches them. */
static int
news_set_links(portal_req *r, long long id, struct json_object *item)
{
	const char *status = api->member_str(item, "status");
	int is_public = status != NULL && strcmp(status, "published") == 0;
	struct json_object *rel = NULL;
	json_object_object_get_ex(item, "related", &rel);
	for (const char *const *m = news_related_modules; *m; m++) {
		size_t n;
		long long *ids = api->member_ids(r, rel, *m, &n, 0);
		if (api->link_set(r, id, *m, ids, n, api->member_str(item, "title"),
		                  api->member_str(item, "published_at"), is_public) != PORTAL_OK)
			return PORTAL_ERROR;
	}
	return PORTAL_OK;
}

/*
 * loaded hook: of the related items, only those the caller may see, so
 * that a published news item does not tell anonymous readers the ids of
 * non-public visits (api->link_visible, one call per module for the
 * whole page).  Insiders see every id.
 */
static int
news_loaded(portal_req *r, struct json_object *const *items, const long long *ids, size_t n)
{
	(void)ids;
	if (api->role(r) >= PORTAL_ROLE_READER || !PORTAL_API_HAS(api, link_visible))
		return PORTAL_OK;
	for (const char *const *m = news_related_modules; *m; m++) {
		size_t total = 0;
		for (size_t k = 0; k < n; k++) {
			struct json_object *rel = NULL, *a = NULL;
			if (json_object_object_get_ex(items[k], "related", &rel) &&
			    json_object_object_get_ex(rel, *m, &a) && json_object_is_type(a, json_type_array))
				total += json_object_array_length(a);
		}
		if (total == 0)
			continue;
		long long *all = api->alloc(r, total * sizeof(*all));
		size_t nall = 0;
		for (size_t k = 0; k < n; k++) {
			struct json_object *rel = NULL;
			json_object_object_get_ex(items[k], "related", &rel);
			size_t c;
			long long *one = api->member_ids(r, rel, *m, &c, 0);
			for (size_t i = 0; i < c && nall < total; i++)
				all[nall++] = one[i];
		}
		if (api->link_visible(r, *m, all, &nall) != PORTAL_OK)
			return PORTAL_ERROR;
		if (n == 1 && PORTAL_API_HAS(api, etag_part)) {
			/* the item's ETag follows what this caller sees of it: a
			 * visit made public (or not) changes it */
			const char *seen = *m;
			for (size_t j = 0; j < nall; j++)
				seen = api->printf(r, "%s,%lld", seen, all[j]);
			api->etag_part(r, seen);
		}
		for (size_t k = 0; k < n; k++) {
			struct json_object *rel = NULL, *a = NULL;
			if (!json_object_object_get_ex(items[k], "related", &rel) ||
			    !json_object_object_get_ex(rel, *m, &a) || !json_object_is_type(a, json_type_array))
				continue;
			struct json_object *shown = json_object_new_array();
			for (size_t i = 0; i < json_object_array_length(a); i++) {
				long long id = json_object_get_int64(json_object_array_get_idx(a, i));
				for (size_t j = 0; j < nall; j++)
					if (all[j] == id) {
						json_object_array_add(shown, json_object_new_int64(id));
						break;
					}
			}
			json_object_object_add(rel, *m, shown);
		}
	}
	return PORTAL_OK;
}

/* image: an uploaded image of this municipality (media) or an external
 * url, not both.  PORTAL_ERROR when the database failed. */
static int
news_check_image(portal_req *r, struct json_object *doc)
{
	struct json_object *img, *m = NULL, *u = NULL;
	if (!json_object_object_get_ex(doc, "image", &img) || !json_object_is_type(img, json_type_object))
		return PORTAL_OK;
	int has_url = json_object_object_get_ex(img, "url", &u) && u != NULL;
	int has_media = json_object_object_get_ex(img, "media", &m) && m != NULL;
	if (has_url && has_media) {
		api->field_error(r, "image.media", "give either media (an uploaded file) or url, not both");
		return PORTAL_OK;
	}
	if (!has_url && !has_media) {
		api->field_error(r, "image.media", "is required: the id of an uploaded image (or an external url)");
		return PORTAL_OK;
	}
	if (!has_media || !json_object_is_type(m, json_type_int))
		return PORTAL_OK; /* validate said why */
	if (!PORTAL_API_HAS(api, media)) {
		api->field_error(r, "image.media", "uploaded files need a newer core");
		return PORTAL_OK;
	}
	struct json_object *rec = api->media(r, json_object_get_int64(m));
	const char *type = rec ? api->member_str(rec, "type") : NULL;
	if (type == NULL)
		api->field_error(r, "image.media", "is not an uploaded file of this municipality");
	else if (strncmp(type, "image/", 6) != 0)
		api->field_error(r, "image.media", "is a %s, not an image", type);
	return PORTAL_OK;
}

/* check hook: the rules across members, normalising (news_check_doc), and the
 * related items. */
static int
news_check(portal_req *r, struct portal_write *w)
{
	news_check_doc(r, w->doc);
	if (news_check_image(r, w->doc) != PORTAL_OK)
		return PORTAL_ERROR;
	return news_check_related(r, w->doc, w->before);
}

/* written hook: the links to the related items. */
static int
news_written(portal_req *r, struct portal_write *w)
{
	if (news_set_links(r, w->id, w->doc) != PORTAL_OK)
		return PORTAL_ERROR;
	/* the uploaded image, so that it is not deleted while used */
	struct json_object *img = NULL, *m = NULL;
	long long id = 0;
	if (json_object_object_get_ex(w->doc, "image", &img) && img &&
	    json_object_object_get_ex(img, "media", &m) && json_object_is_type(m, json_type_int))
		id = json_object_get_int64(m);
	size_t n = id > 0;
	long long *ids = &id;
	if (!PORTAL_API_HAS(api, media))
		return PORTAL_OK;
	const char *status = api->member_str(w->doc, "status");
	return api->link_set(r, w->id, "media", ids, n, api->member_str(w->doc, "title"),
	                     api->member_str(w->doc, "published_at"),
	                     status != NULL && strcmp(status, "published") == 0);
}

/* 1 when `s` is a sort key this list gives out: "YYYY-MM-DD HH:MM:SS". */
static int
news_is_sort_key(const char *s)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd";
	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return 0;
	return 1;
}

/* The `since` argument: a partial date or a timestamp, as a DATETIME. */
static const char *
news_since_arg(portal_req *r, struct portal_list *l, const char *v)
{
	char ts[NEWS_TS_LEN + 1];
	if (news_timestamp(v, 1, ts) == PORTAL_OK)
		return news_sql_time(r, ts);
	api->field_error(r, "since",
	                 "must be a date (YYYY, YYYY-MM or YYYY-MM-DD) or a timestamp "
	                 "such as \"2024-09-09T08:00:00Z\"");
	return NULL;
}

/* render hook (after the core's body_html), image_file: what a page needs to show image.media, the uploaded file:
 * its URL, size and srcsets (its own type's renditions and WebP's).  Null
 * when the image is not an upload (or the file is gone). */
static int
news_image_file(portal_req *r, struct json_object *item)
{
	struct json_object *img = NULL, *m = NULL, *rec = NULL, *rend = NULL;
	json_object_object_get_ex(item, "image", &img);
	if (img && json_object_object_get_ex(img, "media", &m) && json_object_is_type(m, json_type_int) &&
	    PORTAL_API_HAS(api, media))
		rec = api->media(r, json_object_get_int64(m));
	if (rec == NULL) {
		json_object_object_add(item, "image_file", NULL);
		return PORTAL_OK;
	}
	const char *url = api->member_str(rec, "url"), *type = api->member_str(rec, "type");
	struct json_object *w = NULL, *h = NULL, *f = json_object_new_object();
	json_object_object_get_ex(rec, "width", &w);
	json_object_object_get_ex(rec, "height", &h);
	json_object_object_get_ex(rec, "renditions", &rend);
	char *srcset = api->printf(r, "%s %dw", url, json_object_get_int(w));
	char *webp = NULL;
	size_t n = rend && json_object_is_type(rend, json_type_array) ? json_object_array_length(rend) : 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(rend, i), *xw = NULL;
		const char *xu = api->member_str(x, "url"), *xt = api->member_str(x, "type");
		json_object_object_get_ex(x, "width", &xw);
		if (xu == NULL || xt == NULL)
			continue;
		if (type && strcmp(xt, type) == 0)
			srcset = api->printf(r, "%s %dw, %s", xu, json_object_get_int(xw), srcset);
		else if (strcmp(xt, "image/webp") == 0)
			webp = webp ? api->printf(r, "%s, %s %dw", webp, xu, json_object_get_int(xw))
			            : api->printf(r, "%s %dw", xu, json_object_get_int(xw));
	}
	json_object_object_add(f, "url", json_object_new_string(url ? url : ""));
	json_object_object_add(f, "type", json_object_new_string(type ? type : ""));
	json_object_object_add(f, "width", json_object_get(w));
	json_object_object_add(f, "height", json_object_get(h));
	json_object_object_add(f, "srcset", json_object_new_string(srcset));
	json_object_object_add(f, "webp_srcset", webp ? json_object_new_string(webp) : NULL);
	json_object_object_add(item, "image_file", f);
	return PORTAL_OK;
}

/* `lang` matches a tag and its subtags (RFC 4647 basic filtering: "sv"
 * finds "sv-FI"); the column's collation makes it case-insensitive. */
static const struct portal_filter news_filters[] = {
	{.name = "status", .type = PF_ENUM, .values = news_statuses, .sql = "t.status = ?",
	 .doc = "draft or published; drafts only with a reader token of the municipality."},
	{.name = "area", .member = "areas",
	 .doc = "Items whose areas contain this one."},
	{.name = "lang", .type = PF_LANG, .sql = "t.lang = ? OR t.lang LIKE CONCAT(?, '-%')",
	 .doc = "Items in this language or one of its variants (sv finds sv and sv-FI)."},
	{.name = "since", .type = PF_DATE, .parse = news_since_arg, .sql = "t.published_at >= ?",
	 .pattern = "^[0-9]{4}(-[0-9]{2}(-[0-9]{2}([Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?"
	            "([Zz]|[+-][0-9]{2}:[0-9]{2}))?)?)?$",
	 .doc = "Items published at or after this date (YYYY, YYYY-MM, YYYY-MM-DD: its first "
	        "second, UTC) or timestamp (2024-09-09T08:00:00Z, or with an offset)."},
	{.name = NULL},
};

/* News items link to others but nothing links to them.  Newest first:
 * sort_at is published_at, or the end of time for a draft that has none
 * (so undated drafts come first, newest id first). */
static const struct portal_item news_item = {
	.noun = "news item", .schema = news_fields, .own_answer = 1,
	.defaults = "{\"status\": \"draft\"}",
	.list_summary = "list news, newest first (area, lang, since, status, slug, q, limit, cursor)",
	.table = "news", .published = {"status", "published"}, /* drafts: readers only */
	.sort = "t.sort_at", .sort_desc = 1, /* the index news_list */
	.sort_text = "DATE_FORMAT(t.sort_at, '%Y-%m-%d %H:%i:%s')", .cursor_key = news_is_sort_key,
	.filters = news_filters,
	/* the module's own rules */
	.check = news_check, .written = news_written, .render = news_image_file,
	.loaded = news_loaded,
};

PORTAL_PLUGIN(news, "1.0.0", NULL, &news_item, NULL);
