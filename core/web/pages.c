/*
 * pages.c - HTML pages for citizens.  A page is the JSON API's answer
 * rendered through a template: /{m}/{module}/ runs the module's list
 * handler (a sub-request to /api/v1/{m}/{module}), /{m}/{module}/{id} its
 * item handler, and the module's templates (list.html, item.html,
 * registered with api->template) turn that one result object into HTML
 * inside the core's layout.  The core knows no module: titles and words
 * come from each plugin's catalogue (api->messages).
 *
 * Languages: ?lang=, else Accept-Language, else the municipality's first
 * language, among those the catalogues have (sv, da, en).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core.h"
#include "page.h"

extern const char core_css[];

/* ---- sub-requests: the page's data from the JSON API ---- */

/* GET `path` (with `query`, already encoded) through the JSON API as the
 * page's caller, by the dispatcher's hand (pg->api: pages do not know the
 * dispatcher); the answer is in the returned request. */
static struct portal_req *
page_sub(struct page *pg, const char *path, const char *query)
{
	struct pages_call call = {.path = path, .query = query};
	return pg->api(pg->c, pg->r, &call);
}

/*
 * /{m}/{module}/{x}: x is an item's id, or, for a module whose list has a
 * `slug` filter (pages, news), an item's slug: the id of the item the list
 * finds for ?slug=x (as the reader may see it), else x itself (the item
 * request then answers 404).
 */
static const char *
page_slug_id(struct page *pg, const portal_plugin *p, const char *x)
{
	struct portal_req *r = pg->r;
	if (item_parse_id(x) >= 0 || p->item == NULL || p->item->filters == NULL)
		return x;
	const struct portal_filter *f = p->item->filters;
	while (f->name && strcmp(f->name, "slug") != 0)
		f++;
	if (f->name == NULL || strspn(x, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(x))
		return x;
	struct portal_req *sub =
	    page_sub(pg, pool_printf(r->pool, "/api/v1/%s/%s", r->muni->slug, p->name),
	             pool_printf(r->pool, "slug=%s&limit=1", x));
	struct json_object *items, *id;
	if (sub->status == 200 && sub->resp_json &&
	    json_object_object_get_ex(sub->resp_json, "items", &items) &&
	    json_object_array_length(items) == 1 &&
	    json_object_object_get_ex(json_object_array_get_idx(items, 0), "id", &id))
		return json_object_get_string(id);
	return x;
}

/* `s` percent-encoded onto b (unreserved characters as they are). */
static void
page_encode(struct buf *b, const char *s)
{
	for (const unsigned char *v = (const unsigned char *)s; *v; v++) {
		if (isalnum(*v) || strchr("-._~", *v))
			buf_add(b, v, 1);
		else
			buf_printf(b, "%%%02X", *v);
	}
}

/* The page's query arguments again, encoded: all but `lang` (news has a
 * `lang` filter of its own), `skip` (NULL: none) and empty ones (a filter
 * form's "any"); with `links`, also without `cursor`, and with `exports`
 * without `limit` too.  "" when none are left. */
static const char *
page_args(struct portal_req *r, const char *skip, int links, int exports)
{
	struct buf b;
	buf_init(&b, r->pool);
	for (size_t i = 0; i < r->nargs; i++) {
		const char *n = r->args[i].name;
		if (strcmp(n, "lang") == 0 || *r->args[i].value == '\0' || (skip && strcmp(n, skip) == 0) ||
		    (links && strcmp(n, "cursor") == 0) || (exports && strcmp(n, "limit") == 0))
			continue;
		if (b.len)
			buf_puts(&b, "&");
		page_encode(&b, n);
		buf_puts(&b, "=");
		page_encode(&b, r->args[i].value);
	}
	return b.data ? b.data : "";
}

/* The page's query arguments for the API, without `lang` and empty ones;
 * without `limit` and `cursor` when `own_paging` (an export pages through
 * the whole list itself: a client's limit=1 made it run 100 statements of
 * one row, a client's cursor made it fetch the same page 100 times, since
 * the first of two arguments wins). */
static const char *
page_query(struct portal_req *r, int own_paging)
{
	return page_args(r, NULL, own_paging, own_paging);
}

/* How a list filter is named on its form: the module's word for it, else
 * the core's "filter_NAME", else the name. */
static const char *
page_filter_label(struct page *pg, const portal_plugin *p, const char *name)
{
	const char *w = page_word(p, pg->lang, name, NULL);
	struct json_object *v;
	if (w == NULL &&
	    json_object_object_get_ex(json_object_object_get(catalogue, pg->lang),
	                              pool_printf(pg->r->pool, "filter_%s", name), &v))
		w = json_object_get_string(v);
	return w ? w : name;
}

struct page_option {
	const char *code, *name;
};

static int
page_option_cmp(const void *a, const void *b)
{
	return strcmp(((const struct page_option *)a)->name, ((const struct page_option *)b)->name);
}

static struct json_object *
page_option(const char *value, const char *label, int selected, int language)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "value", json_object_new_string(value));
	json_object_object_add(o, "label", json_object_new_string(label));
	json_object_object_add(o, "selected", json_object_new_boolean(selected));
	json_object_object_add(o, "language", json_object_new_boolean(language));
	return o;
}

/* The request's arguments without those named `name`, `name`.month and
 * `name`.day, and with name=value at the end when value is not NULL. */
static void
page_arg_set(struct portal_req *r, const char *name, const char *value)
{
	struct req_arg *a = pool_alloc(r->pool, (r->nargs + 1) * sizeof(*a));
	size_t n = 0, len = strlen(name);
	for (size_t i = 0; i < r->nargs; i++) {
		const char *an = r->args[i].name;
		if (strncmp(an, name, len) == 0 &&
		    (an[len] == '\0' || strcmp(an + len, ".month") == 0 || strcmp(an + len, ".day") == 0))
			continue;
		a[n++] = r->args[i];
	}
	if (value) {
		a[n].name = pool_strdup(r->pool, name);
		a[n++].value = pool_strdup(r->pool, value);
	}
	r->args = a;
	r->nargs = n;
}

static int
page_is_date_filter(const struct portal_filter *f)
{
	return f->type == PF_DATE && strcmp(f->name, "lang") != 0;
}

/*
 * A list's date filters as GOV.UK's date input (year first, as the
 * editor has it): the year box is the argument itself (`from=2024` is a
 * year), the month and day boxes `from.month` and `from.day`.  Joined
 * here into the one value the API takes ("2024", "2024-03",
 * "2024-03-07"; the API's parse hook says whether it is a date), and the
 * boxes' arguments dropped, so the pager, the exports and the "remove"
 * links carry `from` alone.  What was typed is kept in *typed ({name:
 * {year, month, day}}) for the form.
 */
static void
page_dates_join(struct portal_req *r, const portal_plugin *p, struct json_object *typed)
{
	for (const struct portal_filter *f = p->item ? p->item->filters : NULL; f && f->name; f++) {
		if (!page_is_date_filter(f))
			continue;
		const char *y = req_query(r, f->name);
		const char *mo = req_query(r, pool_printf(r->pool, "%s.month", f->name));
		const char *d = req_query(r, pool_printf(r->pool, "%s.day", f->name));
		if (mo == NULL && d == NULL)
			continue;
		struct json_object *t = json_object_new_object();
		json_object_object_add(t, "year", json_object_new_string(y ? y : ""));
		json_object_object_add(t, "month", json_object_new_string(mo ? mo : ""));
		json_object_object_add(t, "day", json_object_new_string(d ? d : ""));
		json_object_object_add(typed, f->name, t);
		struct buf b;
		buf_init(&b, r->pool);
		const char *parts[] = {y, mo, d};
		for (int i = 0; i < 3; i++) {
			const char *v = parts[i] ? parts[i] : "";
			v += strspn(v, " ");
			size_t n = strcspn(v, " ");
			if (n == 0)
				continue;
			if (b.len || i > 0)
				buf_puts(&b, "-");
			if (i > 0 && n == 1 && *v >= '0' && *v <= '9')
				buf_puts(&b, "0"); /* 3 is March */
			buf_add(&b, v, n);
		}
		page_arg_set(r, f->name, b.len ? b.data : NULL);
	}
}

/* A date filter's value as its boxes {year, month, day}: "2024-03" is
 * year 2024, month 03; anything else (a timestamp of news' `since`)
 * stays whole in the year box. */
static struct json_object *
page_date_split(struct portal_req *r, const char *v)
{
	const char *y = v ? v : "", *mo = "", *dd = "";
	size_t n = strlen(y);
	if (strspn(y, "0123456789-") == n && (n == 7 || n == 10) && y[4] == '-') {
		mo = pool_strndup(r->pool, y + 5, 2);
		if (n == 10)
			dd = pool_strndup(r->pool, y + 8, 2);
		y = pool_strndup(r->pool, y, 4);
	}
	struct json_object *t = json_object_new_object();
	json_object_object_add(t, "year", json_object_new_string(y));
	json_object_object_add(t, "month", json_object_new_string(mo));
	json_object_object_add(t, "day", json_object_new_string(dd));
	return t;
}

/*
 * A list's answer of 422 for its date filters only (an impossible date):
 * each such field's message (in the page's language) into `errs`
 * ({name: message}) and its argument dropped (what was given kept in
 * typed, as page_dates_join keeps it); 1 when the list can be
 * asked again without them, 0 when some error is about something else.
 */
static int
page_date_errors(struct page *pg, const portal_plugin *p, const struct portal_req *sub,
                 struct json_object *typed, struct json_object *errs)
{
	struct json_object *list;
	if (sub->status != 422 || sub->resp_json == NULL ||
	    !json_object_object_get_ex(sub->resp_json, "errors", &list) || p->item == NULL)
		return 0;
	size_t n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		const char *field = json_object_get_string(
		    json_object_object_get(json_object_array_get_idx(list, i), "field"));
		const struct portal_filter *f = p->item->filters;
		while (f && f->name && (field == NULL || strcmp(f->name, field) != 0))
			f++;
		if (f == NULL || f->name == NULL || !page_is_date_filter(f))
			return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(list, i);
		const char *field = json_object_get_string(json_object_object_get(e, "field"));
		const char *msg = json_object_get_string(json_object_object_get(e, "message"));
		const char *v = req_query(pg->r, field);
		if (!json_object_object_get_ex(typed, field, NULL) && v) /* given whole: split */
			json_object_object_add(typed, field, page_date_split(pg->r, v));
		json_object_object_add(errs, field, json_object_new_string(
		                                        msg_translate(pg->r->pool, pg->lang, msg ? msg : "")));
		page_arg_set(pg->r, field, NULL);
	}
	return n > 0;
}

/* A date filter's boxes for the form: what was typed, else the value
 * split (page_date_split). */
static struct json_object *
page_date_field(struct page *pg, const portal_plugin *p, const struct portal_filter *f,
                const char *v, struct json_object *typed, struct json_object *errs)
{
	struct portal_req *r = pg->r;
	struct json_object *d = json_object_new_object(), *t, *e;
	json_object_object_add(d, "name", json_object_new_string(f->name));
	json_object_object_add(d, "id", json_object_new_string(pool_printf(r->pool, "filter-%s", f->name)));
	json_object_object_add(d, "label", json_object_new_string(page_filter_label(pg, p, f->name)));
	if (!json_object_object_get_ex(typed, f->name, &t))
		t = pool_keep_json(r->pool, page_date_split(r, v));
	json_object_object_foreach(t, k, tv)
		json_object_object_add(d, k, json_object_get(tv));
	if (json_object_object_get_ex(errs, f->name, &e))
		json_object_object_add(d, "date_error", json_object_get(e));
	return d;
}

/*
 * A list page's filters (core/web/templates/list_filters.html, which each
 * module's list.html includes): in the root, "filter_form" {action,
 * fields: [{name, id, label, options: [{value, label, selected,
 * language}]}], hidden: [{name, value}], selected: [{label, value, href}]},
 * "list_query" (the arguments the pager keeps, each followed by "&") and
 * "filter_query" (those the exports keep).  A select for each declared
 * filter the core checks itself (PF_ENUM: the module's words for the
 * values, PF_COUNTRY: every country by its name in the page's language,
 * PF_LANG: the municipality's languages); a module's `status` filter is
 * left out for those who may only see what it lists anyway (`listed`).
 * Filters of the module's own (a parse hook: dates, ids, slugs) and `q`
 * have no select: they are kept as hidden inputs, but for dates (a
 * filter declared PF_DATE with its own parse hook): GOV.UK's date input,
 * "dates" [{name, id, label, year, month, day, date_error}], and
 * "errors" [{id, label, message}] for the summary above the form, from
 * `errs` (page_date_errors).  A filter called `lang` is not the page's
 * (?lang= is the page's language).  Every argument given is shown, each
 * with a link to the same list without it.
 */
static void
page_filters(struct page *pg, const portal_plugin *p, const struct portal_req *sub,
             struct json_object *typed, struct json_object *errs)
{
	struct portal_req *r = pg->r;
	const char *lq = page_args(r, NULL, 1, 0), *fq = page_args(r, NULL, 1, 1);
	json_object_object_add(pg->root, "list_query",
	                       json_object_new_string(*lq ? pool_printf(r->pool, "%s&", lq) : ""));
	if (*fq)
		json_object_object_add(pg->root, "filter_query", json_object_new_string(fq));
	const struct portal_item *it = p->item;
	if (it == NULL)
		return;
	struct json_object *form = json_object_new_object(), *fields = json_object_new_array();
	struct json_object *hidden = json_object_new_array(), *selected = json_object_new_array();
	struct json_object *dates = json_object_new_array(), *errors = json_object_new_array();
	int insider = sub->role >= PORTAL_ROLE_READER;
	for (const struct portal_filter *f = it->filters; f && f->name; f++) {
		if (strcmp(f->name, "lang") == 0)
			continue; /* on a page, ?lang= is the page's language */
		const char *v = req_query(r, f->name);
		if (v && *v == '\0')
			v = NULL;
		const char *label = page_filter_label(pg, p, f->name), *shown = v;
		int select = f->parse == NULL &&
		             (f->type == PF_ENUM || f->type == PF_COUNTRY || f->type == PF_LANG) &&
		             !(it->listed && strcmp(f->name, "status") == 0 && !insider);
		if (select) {
			struct json_object *fd = json_object_new_object(), *opts = json_object_new_array();
			json_object_object_add(fd, "name", json_object_new_string(f->name));
			json_object_object_add(fd, "id", json_object_new_string(pool_printf(r->pool, "filter-%s", f->name)));
			json_object_object_add(fd, "label", json_object_new_string(label));
			if (f->type == PF_ENUM) {
				for (const char *const *e = f->values; e && *e; e++) {
					const char *w = page_word(p, pg->lang, *e, *e);
					int sel = v && strcmp(v, *e) == 0;
					if (sel)
						shown = w;
					json_object_array_add(opts, page_option(*e, w, sel, 0));
				}
			} else if (f->type == PF_COUNTRY) {
				struct json_object *all = tmpl_countries();
				size_t n = all ? (size_t)json_object_object_length(all) : 0, k = 0;
				struct page_option *o = pool_alloc(r->pool, (n + 1) * sizeof(*o));
				json_object_object_foreach(all, code, names) {
					struct json_object *nm;
					if (k < n && (json_object_object_get_ex(names, pg->lang, &nm) ||
					              json_object_object_get_ex(names, "en", &nm))) {
						o[k].code = code;
						o[k++].name = json_object_get_string(nm);
					}
				}
				qsort(o, k, sizeof(*o), page_option_cmp);
				for (size_t i = 0; i < k; i++) {
					int sel = v && strcmp(v, o[i].code) == 0;
					if (sel)
						shown = o[i].name;
					json_object_array_add(opts, page_option(o[i].code, o[i].name, sel, 0));
				}
			} else {
				for (size_t i = 0; i < r->muni->nlanguages; i++) {
					const char *code = r->muni->languages[i];
					json_object_array_add(opts, page_option(code, code, v && strcmp(v, code) == 0, 1));
				}
			}
			json_object_object_add(fd, "options", opts);
			json_object_array_add(fields, fd);
		} else if (page_is_date_filter(f)) {
			struct json_object *d = page_date_field(pg, p, f, v, typed, errs), *m;
			if (json_object_object_get_ex(d, "date_error", &m)) {
				struct json_object *e = json_object_new_object();
				json_object_object_add(e, "id", json_object_get(json_object_object_get(d, "id")));
				json_object_object_add(e, "label", json_object_new_string(label));
				json_object_object_add(e, "message", json_object_get(m));
				json_object_array_add(errors, e);
			}
			json_object_array_add(dates, d);
		} else if (v) {
			struct json_object *h = json_object_new_object();
			json_object_object_add(h, "name", json_object_new_string(f->name));
			json_object_object_add(h, "value", json_object_new_string(v));
			json_object_array_add(hidden, h);
		}
		if (v) {
			const char *rest = page_args(r, f->name, 1, 0);
			struct json_object *e = json_object_new_object();
			json_object_object_add(e, "label", json_object_new_string(label));
			json_object_object_add(e, "value", json_object_new_string(shown));
			json_object_object_add(e, "href", json_object_new_string(pool_printf(
			                                      r->pool, "?%s%slang=%s", rest, *rest ? "&" : "", pg->lang)));
			json_object_array_add(selected, e);
		}
	}
	const char *q = req_query(r, "q");
	if (q && *q) {
		struct json_object *h = json_object_new_object(), *e = json_object_new_object();
		json_object_object_add(h, "name", json_object_new_string("q"));
		json_object_object_add(h, "value", json_object_new_string(q));
		json_object_array_add(hidden, h);
		const char *rest = page_args(r, "q", 1, 0);
		json_object_object_add(e, "label", json_object_new_string(page_filter_label(pg, p, "q")));
		json_object_object_add(e, "value", json_object_new_string(q));
		json_object_object_add(e, "href", json_object_new_string(pool_printf(
		                                      r->pool, "?%s%slang=%s", rest, *rest ? "&" : "", pg->lang)));
		json_object_array_add(selected, e);
	}
	json_object_object_add(form, "action", json_object_new_string(
	                                           pool_printf(r->pool, "/%s/%s/", r->muni->slug, p->name)));
	json_object_object_add(form, "show", json_object_new_boolean(json_object_array_length(fields) > 0 ||
	                                                             json_object_array_length(dates) > 0));
	json_object_object_add(form, "fields", fields);
	json_object_object_add(form, "dates", dates);
	json_object_object_add(form, "errors", errors);
	if (json_object_array_length(errors) > 0)
		pg->status = 422;
	json_object_object_add(form, "hidden", hidden);
	json_object_object_add(form, "selected", selected);
	json_object_object_add(pg->root, "filter_form", form);
}

/* The value at a dotted path ("partner.lat") of an object, or NULL. */
static struct json_object *
page_path(struct json_object *o, const char *path)
{
	char seg[64];
	while (o && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof(seg) || !json_object_is_type(o, json_type_object))
			return NULL;
		memcpy(seg, path, n);
		seg[n] = '\0';
		if (!json_object_object_get_ex(o, seg, &o))
			return NULL;
		path += n + (path[n] == '.');
	}
	return o;
}

static int
page_number(struct json_object *v, double *d)
{
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return 0;
	*d = json_object_get_double(v);
	return 1;
}

/* A map of the items in `data` (see map.c) as data.map, when the module's
 * catalogue says where an item keeps its place and name:
 *   "map": {"lat": "partner.lat", "lon": "partner.lon", "label": "partner.name"}
 * {outline, width, height, id, points: [{x, y, label}], labels: [...],
 * outside: [label, ...] (placed beyond the map's box), home: {x, y, label}
 * (the municipality, when configured with lat/lon)}.  Nothing when no item
 * has a place: the list says it all then.  core/web/templates/map.html draws
 * it; the core knows only the field names the plugin gave. */
static void
page_map(struct page *pg, const portal_plugin *p, struct json_object *data)
{
	struct json_object *spec, *items;
	if (p->messages == NULL || !json_object_object_get_ex(p->messages, "map", &spec) ||
	    !json_object_is_type(data, json_type_object) ||
	    !json_object_object_get_ex(data, "items", &items) || !json_object_is_type(items, json_type_array))
		return;
	const char *flat = json_object_get_string(json_object_object_get(spec, "lat"));
	const char *flon = json_object_get_string(json_object_object_get(spec, "lon"));
	const char *flabel = json_object_get_string(json_object_object_get(spec, "label"));
	if (flat == NULL || flon == NULL || flabel == NULL)
		return;
	struct portal_req *r = pg->r;
	struct json_object *points = json_object_new_array(), *labels = json_object_new_array();
	struct json_object *outside = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i), *l = page_path(it, flabel);
		double lat, lon, x, y;
		if (!page_number(page_path(it, flat), &lat) || !page_number(page_path(it, flon), &lon))
			continue;
		const char *label = json_object_is_type(l, json_type_string) ? json_object_get_string(l) : "";
		if (!map_project(lat, lon, &x, &y)) {
			json_object_array_add(outside, json_object_new_string(label));
			continue;
		}
		struct json_object *pt = json_object_new_object();
		json_object_object_add(pt, "x", json_object_new_string(pool_printf(r->pool, "%.1f", x)));
		json_object_object_add(pt, "y", json_object_new_string(pool_printf(r->pool, "%.1f", y)));
		json_object_object_add(pt, "label", json_object_new_string(label));
		json_object_array_add(points, pt);
		json_object_array_add(labels, json_object_new_string(label));
	}
	if (json_object_array_length(points) == 0) {
		json_object_put(points);
		json_object_put(labels);
		json_object_put(outside);
		return;
	}
	double w, h, x, y;
	map_size(&w, &h);
	struct json_object *m = json_object_new_object();
	json_object_object_add(m, "id", json_object_new_string(pool_printf(r->pool, "map-%s", p->name)));
	json_object_object_add(m, "outline", json_object_new_string(map_outline()));
	json_object_object_add(m, "width", json_object_new_int((int)w));
	json_object_object_add(m, "height", json_object_new_int((int)h));
	json_object_object_add(m, "points", points);
	json_object_object_add(m, "labels", labels);
	json_object_object_add(m, "outside", outside);
	if (r->muni && r->muni->has_place && map_project(r->muni->lat, r->muni->lon, &x, &y)) {
		struct json_object *home = json_object_new_object();
		json_object_object_add(home, "x", json_object_new_string(pool_printf(r->pool, "%.1f", x)));
		json_object_object_add(home, "y", json_object_new_string(pool_printf(r->pool, "%.1f", y)));
		json_object_object_add(home, "label", json_object_new_string(r->muni->name));
		json_object_object_add(m, "home", home);
	}
	json_object_object_add(data, "map", m);
}

/* "outgoing" in the root for an item's page: what the item links to, by
 * module, as [{id, title, href}] with each target's title rendered from its own
 * title.txt over its own JSON (a sub-request as the page's reader), so a
 * visit names its partnerships instead of numbering them.  A target the
 * reader may not open (or that is gone) is left out: a link there would
 * only lead to a 404. */
static void
page_outgoing(struct page *pg, const portal_plugin *p, long long id)
{
	struct portal_req *r = pg->r;
	struct json_object *links = links_from(r, p->name, id);
	if (links == NULL)
		return;
	struct json_object *out = json_object_new_object();
	json_object_object_foreach(links, module, ids) {
		/* an uploaded file the item uses is shown by the item's own
		 * template (image_file, documents), not as a related item */
		if (strcmp(module, "media") == 0)
			continue;
		const struct tmpl *tt = pages_find(module, "title.txt");
		struct json_object *list = json_object_new_array();
		for (size_t i = 0; tt && i < json_object_array_length(ids); i++) {
			long long to = json_object_get_int64(json_object_array_get_idx(ids, i));
			struct portal_req *sub = page_sub(pg, pool_printf(r->pool, "/api/v1/%s/%s/%lld", r->muni->slug, module, to), "");
			struct buf tb;
			buf_init(&tb, r->pool);
			if (sub->status != 200 || sub->resp_json == NULL || page_render(pg, tt, sub->resp_json, &tb) != PORTAL_OK)
				continue;
			while (tb.len > 0 && isspace((unsigned char)tb.data[tb.len - 1]))
				tb.data[--tb.len] = '\0';
			struct json_object *e = json_object_new_object();
			json_object_object_add(e, "id", json_object_new_int64(to));
			json_object_object_add(e, "title", json_object_new_string(tb.data ? tb.data : ""));
			/* the page's language: inside an item, {{lang}} is the item's own */
			json_object_object_add(e, "href", json_object_new_string(pool_printf(
			    r->pool, "/%s/%s/%lld?lang=%s", r->muni->slug, module, to, pg->lang)));
			json_object_array_add(list, e);
		}
		json_object_object_add(out, module, list);
	}
	json_object_object_add(pg->root, "outgoing", out);
}

/* Renders the module's `name` template over the sub-request's answer;
 * a title from "title.txt" for items. */
static void
page_module(struct page *pg, portal_plugin *p, const char *name, struct portal_req *sub)
{
	struct portal_req *r = pg->r;
	if (sub->status != 200 || sub->resp_json == NULL) {
		const char *detail = NULL;
		struct json_object *d;
		if (sub->resp_json && json_object_object_get_ex(sub->resp_json, "detail", &d))
			detail = json_object_get_string(d);
		page_error(pg, sub->status >= 400 ? sub->status : 500, detail);
		return;
	}
	struct buf b, tb, jb;
	buf_init(&b, r->pool);
	buf_init(&tb, r->pool);
	buf_init(&jb, r->pool);
	if (strcmp(name, "list.html") == 0)
		page_map(pg, p, sub->resp_json);
	int item = strcmp(name, "item.html") == 0;
	/* an item's sources (the core's member, store.c) under the module's
	 * own template, the same on every module's pages */
	if (page_render(pg, pages_find(p->name, name), sub->resp_json, &b) != PORTAL_OK ||
	    (item && page_render(pg, pages_find("", "sources.html"), sub->resp_json, &b) != PORTAL_OK)) {
		page_error(pg, 500, NULL);
		return;
	}
	const char *title = page_word(p, pg->lang, "title", p->name);
	const struct tmpl *tt = item ? pages_find(p->name, "title.txt") : NULL;
	if (tt && page_render(pg, tt, sub->resp_json, &tb) == PORTAL_OK && tb.data) {
		while (tb.len > 0 && isspace((unsigned char)tb.data[tb.len - 1]))
			tb.data[--tb.len] = '\0';
		title = tb.data;
	}
	const struct tmpl *jt = pages_find(p->name, item ? "item.jsonld" : "list.jsonld");
	if (jt)
		page_render(pg, jt, sub->resp_json, &jb);
	page_send(pg, pg->status ? pg->status : 200, title, b.data, jb.data);
}

static void
page_overview(struct page *pg)
{
	struct portal_req *r = pg->r;
	struct json_object *d = pool_keep_json(r->pool, json_object_new_object());
	struct json_object *sections = json_object_new_array();
	json_object_object_add(d, "sections", sections);
	for (size_t i = 0; i < r->muni->nmodules; i++) {
		portal_plugin *p = plugin_find(pg->c->plugins, r->muni->modules[i]);
		const struct tmpl *t = p ? pages_find(p->name, "overview.html") : NULL;
		if (t == NULL)
			continue;
		struct json_object *q;
		const char *query = "limit=5";
		if (p->messages && json_object_object_get_ex(p->messages, "overview_query", &q))
			query = json_object_get_string(q);
		struct portal_req *sub = page_sub(pg, pool_printf(r->pool, "/api/v1/%s/%s", r->muni->slug, p->name), query);
		if (sub->status != 200)
			continue;
		page_map(pg, p, sub->resp_json);
		const char *saved = pg->module;
		struct json_object *saved_labels = pg->labels;
		pg->module = p->name;
		pg->labels = page_words(p, pg->lang);
		json_object_object_add(pg->root, "words", pg->labels ? json_object_get(pg->labels) : NULL);
		struct buf b;
		buf_init(&b, r->pool);
		page_render(pg, t, sub->resp_json, &b);
		pg->module = saved;
		pg->labels = saved_labels;
		struct json_object *s = json_object_new_object();
		json_object_object_add(s, "module", json_object_new_string(p->name));
		json_object_object_add(s, "title", json_object_new_string(page_word(p, pg->lang, "title", p->name)));
		json_object_object_add(s, "href", json_object_new_string(pool_printf(r->pool, "/%s/%s/?lang=%s", r->muni->slug, p->name, pg->lang)));
		json_object_object_add(s, "html", json_object_new_string(b.data ? b.data : ""));
		json_object_array_add(sections, s);
	}
	struct buf b, jb;
	buf_init(&b, r->pool);
	buf_init(&jb, r->pool);
	page_render(pg, pages_find("", "overview.html"), d, &b);
	/* the municipality itself, for search engines and open-data harvesters */
	page_base(pg);
	page_render(pg, pages_find("", "overview.jsonld"), d, &jb);
	page_send(pg, 200, r->muni->name, b.data, jb.data);
}

static void
page_index(struct page *pg)
{
	struct portal_req *r = pg->r;
	struct json_object *d = pool_keep_json(r->pool, json_object_new_object());
	struct json_object *items = json_object_new_array();
	for (size_t i = 0; i < pg->c->conf->nmunis; i++) {
		struct json_object *m = json_object_new_object();
		json_object_object_add(m, "slug", json_object_new_string(pg->c->conf->munis[i].slug));
		json_object_object_add(m, "name", json_object_new_string(pg->c->conf->munis[i].name));
		json_object_array_add(items, m);
	}
	json_object_object_add(d, "items", items);
	struct buf b;
	buf_init(&b, r->pool);
	page_render(pg, pages_find("", "index.html"), d, &b);
	const char *title = json_object_get_string(json_object_object_get(json_object_object_get(catalogue, pg->lang), "site"));
	page_send(pg, 200, title, b.data, NULL);
}

void
page_static(struct portal_req *r, const char *body, const char *type)
{
	r->status = 200;
	r->responded = 1;
	r->content_type = type;
	r->resp_raw = body;
	r->resp_raw_len = strlen(body);
	out_header(r, "Cache-Control", "public, max-age=3600");
}

/* iCalendar wants CRLF and lines of at most 75 octets (RFC 5545 3.1),
 * folded without splitting a UTF-8 character.  A sequence cut short (by
 * the end of s, a line end, any byte that does not continue it) is copied
 * as far as it goes: never past the NUL, never swallowing a line end. */
char *
pages_ics_fold(struct pool *pool, const char *s, size_t *len)
{
	struct buf b;
	buf_init(&b, pool);
	size_t col = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n') {
			buf_puts(&b, "\r\n");
			col = 0;
			continue;
		}
		size_t clen = 1;
		unsigned char ch = (unsigned char)*p;
		if (ch >= 0xf0)
			clen = 4;
		else if (ch >= 0xe0)
			clen = 3;
		else if (ch >= 0xc0)
			clen = 2;
		/* a sequence is its lead byte and the continuation bytes that
		 * follow (fewer in invalid UTF-8: never a NUL or a line end) */
		for (size_t k = 1; k < clen; k++)
			if (((unsigned char)p[k] & 0xc0) != 0x80) {
				clen = k;
				break;
			}
		if (col + clen > 75) {
			buf_puts(&b, "\r\n ");
			col = 1;
		}
		buf_add(&b, p, clen);
		col += clen;
		p += clen - 1;
	}
	*len = b.len;
	return b.data ? b.data : pool_strdup(pool, "");
}

/* JSON from a template: templates write "item," for every item, and the
 * commas before "]" or "}" (and doubled ones) go here, outside strings;
 * then the text must parse.  NULL when it does not. */
static char *
page_json_tidy(struct pool *pool, const char *s, size_t *len)
{
	struct buf b;
	buf_init(&b, pool);
	int in_str = 0;
	for (const char *p = s; *p; p++) {
		if (in_str) {
			buf_add(&b, p, 1);
			if (*p == '\\' && p[1]) {
				buf_add(&b, ++p, 1);
			} else if (*p == '"') {
				in_str = 0;
			}
			continue;
		}
		if (*p == '"')
			in_str = 1;
		if (*p == ',') {
			const char *q = p + 1;
			while (*q == ' ' || *q == '\n' || *q == '\t' || *q == '\r')
				q++;
			size_t k = b.len;
			while (k > 0 && (b.data[k - 1] == ' ' || b.data[k - 1] == '\n' || b.data[k - 1] == '\t'))
				k--;
			if (*q == ']' || *q == '}' || *q == ',' || k == 0 || b.data[k - 1] == '[' || b.data[k - 1] == '{')
				continue;
		}
		buf_add(&b, p, 1);
	}
	const char *out = b.data ? b.data : "";
	struct json_object *o = json_tokener_parse(out);
	if (o == NULL)
		return NULL;
	json_object_put(o);
	*len = b.len;
	return (char *)out;
}

/* What list.EXT is not an export for: the parts of a module's pages
 * (list.html, list.jsonld), which are not lists to download. */
static const char *const pages_not_exports[] = {"html", "jsonld", NULL};

/* /api/v1/{m}/{module}.{ext}: the module's list (every page, up to
 * 10,000 items; the Atom feed only the first) through its list.{ext}
 * template.  PORTAL_DONE when answered, PORTAL_DECLINED when list.EXT is a
 * part of the module's pages or the module has no such template. */
int
pages_export(struct core *c, struct portal_req *r, const char *module, const char *ext,
             pages_api_fn api)
{
	for (const char *const *x = pages_not_exports; *x; x++)
		if (strcmp(*x, ext) == 0)
			return PORTAL_DECLINED;
	portal_plugin *p = plugin_find(c->plugins, module);
	char name[64];
	snprintf(name, sizeof(name), "list.%s", ext);
	if (p == NULL || pages_find(p->name, name) == NULL)
		return PORTAL_DECLINED;
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		out_header(r, "Allow", "GET, HEAD");
		out_problem(r, 405, "exports only answer GET");
		return PORTAL_DONE;
	}
	struct page pg;
	memset(&pg, 0, sizeof(pg));
	pg.c = c;
	pg.r = r;
	pg.api = api;
	pg.module = p->name;
	pg.lang = page_lang(r);
	page_root(&pg, p->name);
	pg.labels = page_words(p, pg.lang);
	if (pg.labels)
		json_object_object_add(pg.root, "words", json_object_get(pg.labels));
	page_base(&pg);
	time_t now = time(NULL);
	struct tm tm;
	char ts[32], now_iso[32];
	gmtime_r(&now, &tm);
	strftime(now_iso, sizeof(now_iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_object_add(pg.root, "now", json_object_new_string(now_iso));
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	json_object_object_add(pg.root, "now_ics", json_object_new_string(ts));

	int all = strcmp(ext, "atom") != 0;
	const char *base = page_query(r, 1);
	const char *path = pool_printf(r->pool, "/api/v1/%s/%s", r->muni->slug, p->name);
	struct json_object *items = json_object_new_array();
	struct json_object *data = pool_keep_json(r->pool, json_object_new_object());
	json_object_object_add(data, "items", items);
	const char *cursor = NULL;
	for (int page = 0; page < (all ? 100 : 1); page++) {
		const char *q = base;
		if (all)
			q = pool_printf(r->pool, "%s%slimit=100%s%s", base, *base ? "&" : "",
			                cursor ? "&cursor=" : "", cursor ? cursor : "");
		struct portal_req *sub = page_sub(&pg, path, q);
		if (sub->status != 200 || sub->resp_json == NULL) {
			/* a bad filter or a database failure: the API's own answer */
			r->status = sub->status;
			r->responded = 1;
			r->content_type = sub->content_type;
			r->resp_json = sub->resp_json;
			r->resp_headers = sub->resp_headers;
			return PORTAL_DONE;
		}
		struct json_object *got, *next;
		if (json_object_object_get_ex(sub->resp_json, "items", &got))
			for (size_t i = 0; i < json_object_array_length(got); i++)
				json_object_array_add(items, json_object_get(json_object_array_get_idx(got, i)));
		if (!json_object_object_get_ex(sub->resp_json, "next", &next) || next == NULL)
			break;
		cursor = pool_strdup(r->pool, json_object_get_string(next));
		/* the cursor is base64url: safe in a query as it is */
	}
	/* "updated": the newest item's updated_at (a feed's own date must not
	 * move unless an entry did, or it could never be a 304), else now */
	const char *updated = NULL;
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *u;
		if (json_object_object_get_ex(json_object_array_get_idx(items, i), "updated_at", &u) &&
		    json_object_is_type(u, json_type_string) &&
		    (updated == NULL || strcmp(json_object_get_string(u), updated) > 0))
			updated = json_object_get_string(u);
	}
	json_object_object_add(pg.root, "updated", json_object_new_string(updated ? updated : now_iso));
	struct buf b;
	buf_init(&b, r->pool);
	if (strcmp(ext, "csv") == 0)
		buf_puts(&b, "\xef\xbb\xbf"); /* so spreadsheets read UTF-8 */
	if (page_render(&pg, pages_find(p->name, name), data, &b) != PORTAL_OK) {
		out_problem(r, 500, "the export could not be rendered");
		return PORTAL_DONE;
	}
	r->status = 200;
	r->responded = 1;
	r->resp_raw = b.data ? b.data : "";
	r->resp_raw_len = b.len;
	if (strcmp(ext, "atom") == 0) {
		r->content_type = "application/atom+xml";
	} else if (strcmp(ext, "ics") == 0 || strcmp(ext, "vcf") == 0) {
		/* vCard (RFC 6350 3.2) folds and ends lines as iCalendar does */
		r->content_type = strcmp(ext, "vcf") == 0 ? "text/vcard" : "text/calendar";
		r->resp_raw = pages_ics_fold(r->pool, r->resp_raw, &r->resp_raw_len);
	} else if (strcmp(ext, "geojson") == 0 || strcmp(ext, "json") == 0) {
		r->content_type = strcmp(ext, "json") ? "application/geo+json" : "application/json";
		char *tidy = page_json_tidy(r->pool, r->resp_raw, &r->resp_raw_len);
		if (tidy == NULL) {
			log_msg(PORTAL_LOG_ERR, r->request_id, "template %s/%s does not make JSON", p->name, name);
			r->resp_raw = NULL;
			out_problem(r, 500, "the export could not be rendered");
			return PORTAL_DONE;
		}
		r->resp_raw = tidy;
	} else if (strcmp(ext, "csv") == 0) {
		r->content_type = "text/csv";
		out_header(r, "Content-Disposition", pool_printf(r->pool, "attachment; filename=\"%s-%s.csv\"",
		                                                 r->muni->slug, p->name));
	} else {
		r->content_type = "text/plain";
	}
	out_header(r, "Cache-Control", req_header(r, "Authorization") ? "private, no-store" : "public, max-age=60");
	out_header(r, "Vary", "Accept-Language, Authorization");
	return PORTAL_DONE;
}

int
pages_dispatch(struct core *c, struct portal_req *r, pages_api_fn api)
{
	struct page pg;
	memset(&pg, 0, sizeof(pg));
	pg.c = c;
	pg.r = r;
	pg.api = api;
	pg.module = "";

	if (r->nseg == 2 && strcmp(r->seg[0], "static") == 0 && strcmp(r->seg[1], "portal.css") == 0) {
		page_static(r, core_css, "text/css");
		return PORTAL_DONE;
	}
	if (r->nseg == 3 && strcmp(r->seg[0], "static") == 0 && strcmp(r->seg[1], "look") == 0) {
		char slug[80];
		snprintf(slug, sizeof(slug), "%s", r->seg[2]);
		char *dot = strstr(slug, ".css");
		if (dot && dot[4] == '\0')
			*dot = '\0';
		const struct conf_municipality *m = conf_municipality(c->conf, slug);
		struct json_object *d = pool_keep_json(r->pool, json_object_new_object());
		json_object_object_add(d, "accent", json_object_new_string(m && m->accent ? m->accent : "#00528a"));
		json_object_object_add(d, "accent_text", json_object_new_string(m && m->accent_text ? m->accent_text : "#ffffff"));
		struct buf b;
		buf_init(&b, r->pool);
		pg.lang = "en";
		page_root(&pg, NULL);
		page_render(&pg, pages_find("", "look.css"), d, &b);
		page_static(r, b.data ? b.data : "", "text/css");
		return PORTAL_DONE;
	}
	if (r->nseg >= 1 && (strcmp(r->seg[0], "static") == 0 || strcmp(r->seg[0], "api") == 0))
		return PORTAL_DECLINED;
	if (r->nseg >= 1 && strcmp(r->seg[0], "edit") == 0)
		return edit_dispatch(&pg);
	if (r->nseg == 1 && account_dispatch(&pg) == PORTAL_DONE)
		return PORTAL_DONE;
	if (r->nseg >= 1 && (r->muni = conf_municipality(c->conf, r->seg[0])) == NULL) {
		/* a mistyped address gets a page, not JSON */
		pg.lang = page_lang(r);
		page_root(&pg, NULL);
		page_error(&pg, 404, NULL);
		return PORTAL_DONE;
	}
	pg.lang = page_lang(r);
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		out_header(r, "Allow", "GET, HEAD");
		out_problem(r, 405, "pages only answer GET");
		return PORTAL_DONE;
	}
	if (r->nseg == 0) {
		page_root(&pg, NULL);
		page_index(&pg);
		return PORTAL_DONE;
	}
	if (r->nseg == 1) {
		page_root(&pg, "");
		page_overview(&pg);
		return PORTAL_DONE;
	}
	if (r->nseg == 2 && strcmp(r->seg[1], "accessibility") == 0) {
		page_root(&pg, NULL);
		struct buf b;
		buf_init(&b, r->pool);
		page_render(&pg, pages_find("", "accessibility.html"),
		            pool_keep_json(r->pool, json_object_new_object()), &b);
		const char *title = json_object_get_string(json_object_object_get(json_object_object_get(catalogue, pg.lang), "accessibility"));
		page_send(&pg, 200, title, b.data, NULL);
		return PORTAL_DONE;
	}
	if (r->nseg == 2 && strcmp(r->seg[1], "search") == 0) {
		page_root(&pg, NULL);
		find_page(&pg);
		return PORTAL_DONE;
	}
	portal_plugin *p = conf_muni_has_module(r->muni, r->seg[1]) ? plugin_find(c->plugins, r->seg[1]) : NULL;
	const char *name = r->nseg == 2 ? "list.html" : r->nseg == 3 ? "item.html" : NULL;
	page_root(&pg, p ? p->name : NULL);
	if (p == NULL || name == NULL || pages_find(p->name, name) == NULL) {
		page_error(&pg, 404, NULL);
		return PORTAL_DONE;
	}
	pg.module = p->name;
	pg.labels = page_words(p, pg.lang);
	if (pg.labels)
		json_object_object_add(pg.root, "words", json_object_get(pg.labels));
	const char *item_seg = r->nseg == 3 ? page_slug_id(&pg, p, r->seg[2]) : NULL;
	const char *path = r->nseg == 2 ? pool_printf(r->pool, "/api/v1/%s/%s", r->muni->slug, p->name)
	                                : pool_printf(r->pool, "/api/v1/%s/%s/%s", r->muni->slug, p->name, item_seg);
	struct json_object *typed = pool_keep_json(r->pool, json_object_new_object());
	struct json_object *errs = pool_keep_json(r->pool, json_object_new_object());
	if (r->nseg == 2)
		page_dates_join(r, p, typed);
	struct portal_req *sub = page_sub(&pg, path, r->nseg == 2 ? page_query(r, 0) : "");
	/* an impossible date: the message beside its boxes, the list without it */
	if (r->nseg == 2 && page_date_errors(&pg, p, sub, typed, errs))
		sub = page_sub(&pg, path, page_query(r, 0));
	if (r->nseg == 2)
		page_filters(&pg, p, sub, typed, errs);
	struct json_object *idv;
	if (r->nseg == 3 && sub->status == 200 && sub->resp_json &&
	    json_object_object_get_ex(sub->resp_json, "id", &idv) && json_object_is_type(idv, json_type_int))
		page_outgoing(&pg, p, json_object_get_int64(idv));
	page_module(&pg, p, name, sub);
	return PORTAL_DONE;
}
