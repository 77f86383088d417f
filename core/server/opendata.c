/*
 * opendata.c - what the core offers the systems that integrate, for every
 * module whose item is declared with a table, without a line in the
 * module:
 *
 *   GET /api/v1/{m}/changes?since=&cursor=&limit=   what changed, from the
 *       audit log: {module, id, uid, action, at}, deletions included, in
 *       the log's order (the order the writes were made)
 *   GET /api/v1/all/{module}?municipality=a,b        one list over the
 *       municipalities that enable the module, the anonymous view
 *   GET /api/v1/catalog.jsonld                       a DCAT-AP-SE catalogue
 *       of the datasets: one per municipality and enabled module
 *
 * The routes are chosen by dispatch.c, which has authorized the request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"

/* The rows of the audit log one page of changes looks at, at most. */
#define OPENDATA_SCAN 1000

/* "YYYY-MM-DD HH:MM:SS.000000" of now less `days`, UTC. */
static void
opendata_horizon(int days, char out[32])
{
	time_t t = time(NULL) - (time_t)days * 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M:%S.000000", &tm);
}

/* The item's member "uid" as a JSON string, or NULL. */
static struct json_object *
opendata_uid(struct json_object *doc)
{
	struct json_object *v;
	if (doc && json_object_object_get_ex(doc, STORE_UID, &v) && json_object_is_type(v, json_type_string))
		return json_object_new_string(json_object_get_string(v));
	return NULL;
}

/* 1 when the caller may see `doc` of module p (NULL: no such state). */
static int
opendata_visible(struct portal_req *r, portal_plugin *p, struct json_object *doc)
{
	if (doc == NULL)
		return 0;
	if (p->item->visible == NULL)
		return 1;
	portal_plugin *was = r->plugin;
	r->plugin = p;
	int v = p->item->visible(r, doc);
	r->plugin = was;
	return v;
}

void
opendata_changes(struct core *c, struct portal_req *r)
{
	const char *since = req_query(r, "since"), *cursor = req_query(r, "cursor");
	char at[32], horizon[32];
	const char *after_at = NULL;
	long long after = 0;
	int limit = paging_limit(r);
	opendata_horizon(c->conf->changes_retention, horizon);
	if (since == NULL)
		memcpy(at, horizon, sizeof(at));
	else if (!valid_utc_time(since, at))
		out_field_error(r, "since", "must be a UTC time as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
	if (cursor) {
		/* [the last entry's time as the database has it, its id] */
		struct json_object *k = paging_cursor_decode(r, cursor);
		struct json_object *t = k ? json_object_array_get_idx(k, 0) : NULL;
		struct json_object *id = k ? json_object_array_get_idx(k, 1) : NULL;
		char check[32];
		if (k && (json_object_array_length(k) != 2 || !json_object_is_type(t, json_type_string) ||
		          !valid_utc_time(json_object_get_string(t), check) ||
		          !json_object_is_type(id, json_type_int) || json_object_get_int64(id) <= 0))
			out_field_error(r, "cursor", "is not a cursor of this list; start without it");
		else if (id) {
			after_at = pool_strdup(r->pool, check);
			after = json_object_get_int64(id);
		}
	}
	if (r->errors && json_object_array_length(r->errors) > 0) {
		out_problem(r, 422, "the list's arguments are not valid");
		return;
	}
	if (strcmp(at, horizon) < 0) {
		out_problem(r, 410, pool_printf(r->pool,
		                                "changes are kept for %d days (core.changes_retention): "
		                                "since must be %.10s or later; read the lists anew instead",
		                                c->conf->changes_retention, horizon));
		return;
	}
	/* in time order, then the log's: the index audit_at (municipality,
	 * at) and its primary key give that order without sorting */
	struct portal_stmt *s = db_prepare(
	    r->db ? r->db : c->db,
	    "SELECT a.id, DATE_FORMAT(a.at, '%Y-%m-%dT%H:%i:%s.%f'), a.module, a.item_id, a.action, "
	    "a.before_doc, a.after_doc FROM audit_log a "
	    "WHERE a.municipality = ? AND a.at >= ? "
	    "AND (? IS NULL OR a.at > ? OR (a.at = ? AND a.id > ?)) AND a.item_id IS NOT NULL "
	    "AND a.action IN ('create', 'update', 'delete') ORDER BY a.at, a.id LIMIT ?");
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_bind_text(s, 1, at) ||
	    db_bind_text(s, 2, after_at) || db_bind_text(s, 3, after_at) ||
	    db_bind_text(s, 4, after_at) || db_bind_int(s, 5, after) ||
	    db_bind_int(s, 6, OPENDATA_SCAN) || db_execute(s)) {
		out_problem(r, 503, "the database does not answer; try again shortly");
		return;
	}
	int insider = r->role >= PORTAL_ROLE_READER;
	struct json_object *res = json_object_new_object(), *items = json_object_new_array();
	json_object_object_add(res, "items", items);
	int n = 0, rows = 0, rc, full = 0;
	long long last = 0;
	const char *last_at = NULL;
	while ((rc = db_fetch(s)) == 1) {
		rows++;
		if (n == limit) {
			full = 1;
			break;
		}
		last = db_col_int(s, 0);
		last_at = pool_printf(r->pool, "%sZ", db_col_text(s, 1));
		const char *module = db_col_text(s, 2), *action = db_col_text(s, 4);
		portal_plugin *p = plugin_find(c->plugins, module);
		if (p == NULL || p->store == NULL || !conf_muni_has_module(r->muni, module))
			continue;
		const char *b = db_col_text(s, 5), *a = db_col_text(s, 6);
		struct json_object *before = pool_keep_json(r->pool, b ? json_tokener_parse(b) : NULL);
		struct json_object *after_doc = pool_keep_json(r->pool, a ? json_tokener_parse(a) : NULL);
		const char *shown = strcmp(action, "create") == 0   ? "created"
		                    : strcmp(action, "delete") == 0 ? "deleted"
		                                                    : "updated";
		if (!insider) {
			/* what an anonymous caller could see before and after: an
			 * item that becomes visible is created for it, one that
			 * stops being visible is deleted */
			int vb = opendata_visible(r, p, before), va = opendata_visible(r, p, after_doc);
			if (!vb && !va)
				continue;
			shown = vb && va ? shown : va ? "created" : "deleted";
		}
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "module", json_object_new_string(module));
		json_object_object_add(o, "id", json_object_new_int64(db_col_int(s, 3)));
		struct json_object *uid = opendata_uid(after_doc);
		json_object_object_add(o, "uid", uid ? uid : opendata_uid(before));
		json_object_object_add(o, "action", json_object_new_string(shown));
		json_object_object_add(o, "at", json_object_new_string(
		                                    pool_printf(r->pool, "%.23sZ", db_col_text(s, 1))));
		json_object_array_add(items, o);
		n++;
	}
	db_done(s);
	if (rc < 0) {
		json_object_put(res);
		out_problem(r, 503, "the database does not answer; try again shortly");
		return;
	}
	/* a full page, or the scan's end with more rows behind it: a cursor
	 * after the last row looked at */
	if (full || rows == OPENDATA_SCAN) {
		struct json_object *keys = json_object_new_array();
		json_object_array_add(keys, json_object_new_string(last_at ? last_at : ""));
		json_object_array_add(keys, json_object_new_int64(last));
		json_object_object_add(res, "next", json_object_new_string(paging_cursor_encode(r, keys)));
		json_object_put(keys);
	} else {
		json_object_object_add(res, "next", NULL);
	}
	out_json(r, 200, res);
}

void
opendata_all(struct core *c, struct portal_req *r, const char *module)
{
	portal_plugin *p = plugin_find(c->plugins, module);
	if (p == NULL || p->store == NULL || p->item == NULL) {
		out_problem(r, 404, pool_printf(r->pool, "no module \"%s\" lists across municipalities",
		                                module));
		return;
	}
	const char *want = req_query(r, "municipality");
	struct buf list;
	buf_init(&list, r->pool);
	size_t n = 0;
	if (want != NULL) {
		char *copy = pool_strdup(r->pool, want), *save = NULL;
		for (char *m = strtok_r(copy, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
			const struct conf_municipality *cm = conf_municipality(c->conf, m);
			if (cm == NULL || !conf_muni_has_module(cm, module)) {
				out_field_error(r, "municipality",
				                pool_printf(r->pool, "\"%s\" is no municipality that enables %s", m,
				                            module));
				continue;
			}
			if (n++)
				buf_add(&list, ",", 1);
			buf_puts(&list, cm->slug);
		}
		if (n == 0 && (r->errors == NULL || json_object_array_length(r->errors) == 0))
			out_field_error(r, "municipality", "must name at least one municipality");
	} else {
		for (size_t i = 0; i < c->conf->nmunis; i++) {
			if (!conf_muni_has_module(&c->conf->munis[i], module))
				continue;
			if (n++)
				buf_add(&list, ",", 1);
			buf_puts(&list, c->conf->munis[i].slug);
		}
	}
	if (r->errors && json_object_array_length(r->errors) > 0) {
		out_problem(r, 422, "the list's arguments are not valid");
		return;
	}
	if (n == 0) {
		struct json_object *res = json_object_new_object();
		json_object_object_add(res, "items", json_object_new_array());
		json_object_object_add(res, "next", NULL);
		out_json(r, 200, res);
		return;
	}
	r->plugin = p;
	r->role = PORTAL_ROLE_NONE;
	if (item_all_list(r, list.data) != PORTAL_OK && !r->responded)
		out_problem(r, 503, "the database does not answer; try again shortly");
	else if (r->status == 200)
		out_header(r, "Cache-Control", "public, max-age=60");
}

/* ---- the catalogue ---- */

/* The formats a module's items come in: the list (JSON) and each export
 * its OpenAPI fragment describes at "/{module}.{ext}". */
static const struct opendata_format {
	const char *ext, *title, *eu, *media;
} opendata_formats[] = {
    {"json", "JSON", "JSON", "application/json"},
    {"csv", "CSV", "CSV", "text/csv"},
    {"geojson", "GeoJSON", "GEOJSON", "application/geo+json"},
    {"atom", "Atom", "ATOM", "application/atom+xml"},
    {"ics", "iCalendar", "ICAL", "text/calendar"},
    {"vcf", "vCard", "VCARD", "text/vcard"},
    {NULL, NULL, NULL, NULL},
};

/* The EU data theme (http://publications.europa.eu/resource/authority/data-theme/)
 * a module's item declares, GOVE when it declares none. */
static const char *
opendata_theme(const portal_plugin *p)
{
	return p->item && p->item->theme ? p->item->theme : "GOVE";
}

/* The EU language authority's code of a BCP 47 tag's language, or NULL. */
static const char *
opendata_language(const char *tag)
{
	static const char *const map[][2] = {
	    {"sv", "SWE"}, {"da", "DAN"}, {"en", "ENG"}, {"nb", "NOB"}, {"nn", "NNO"}, {"no", "NOR"},
	    {"fi", "FIN"}, {"is", "ISL"}, {"de", "DEU"}, {"fr", "FRA"}, {"et", "EST"}, {"lv", "LAV"},
	    {"lt", "LIT"}, {"pl", "POL"}, {"ro", "RON"}, {"uk", "UKR"}, {"se", "SME"}, {NULL, NULL}};
	size_t n = strcspn(tag, "-");
	for (size_t i = 0; map[i][0]; i++)
		if (strlen(map[i][0]) == n && strncmp(tag, map[i][0], n) == 0)
			return map[i][1];
	return NULL;
}

static struct json_object *
opendata_id(const char *url)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "@id", json_object_new_string(url));
	return o;
}

static struct json_object *
opendata_text(const char *text, const char *lang)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "@value", json_object_new_string(text));
	json_object_object_add(o, "@language", json_object_new_string(lang));
	return o;
}

/* The JSON-LD context of the catalogue: the vocabularies' prefixes, so the
 * document expands without loading anything. */
static struct json_object *
opendata_context(void)
{
	return json_tokener_parse("{\"dcat\": \"http://www.w3.org/ns/dcat#\","
	                          " \"dct\": \"http://purl.org/dc/terms/\","
	                          " \"foaf\": \"http://xmlns.com/foaf/0.1/\","
	                          " \"vcard\": \"http://www.w3.org/2006/vcard/ns#\","
	                          " \"xsd\": \"http://www.w3.org/2001/XMLSchema#\"}");
}

void
opendata_catalog(struct core *c, struct portal_req *r)
{
	const char *base = c->conf->public_url;
	if (base == NULL) {
		out_problem(r, 503, "the catalogue needs core.public_url (links are never made from the "
		                    "Host header)");
		return;
	}
	/* the latest write of each municipality and module */
	struct json_object *modified = pool_keep_json(r->pool, json_object_new_object());
	struct portal_stmt *s = db_prepare(
	    r->db ? r->db : c->db,
	    "SELECT municipality, module, DATE_FORMAT(MAX(at), '%Y-%m-%dT%H:%i:%sZ') FROM audit_log "
	    "GROUP BY municipality, module");
	if (s == NULL || db_execute(s) != PORTAL_OK) {
		out_problem(r, 503, "the database does not answer; try again shortly");
		return;
	}
	int rc;
	while ((rc = db_fetch(s)) == 1)
		json_object_object_add(modified,
		                       pool_printf(r->pool, "%s/%s", db_col_text(s, 0), db_col_text(s, 1)),
		                       json_object_new_string(db_col_text(s, 2)));
	db_done(s);
	if (rc < 0) {
		out_problem(r, 503, "the database does not answer; try again shortly");
		return;
	}
	struct json_object *doc = json_object_new_object(), *datasets = json_object_new_array();
	json_object_object_add(doc, "@context", opendata_context());
	json_object_object_add(doc, "@id", json_object_new_string(
	                                       pool_printf(r->pool, "%s/api/v1/catalog.jsonld", base)));
	json_object_object_add(doc, "@type", json_object_new_string("dcat:Catalog"));
	json_object_object_add(doc, "dct:title",
	                       opendata_text("The municipalities' international work: open data", "en"));
	struct buf names; /* the modules loaded: "partnerships, projects and visits" */
	buf_init(&names, r->pool);
	size_t nmod = 0, nth = 0;
	for (const portal_plugin *p = c->plugins->head; p; p = p->next)
		nmod += p->store != NULL;
	for (const portal_plugin *p = c->plugins->head; p; p = p->next)
		if (p->store != NULL) {
			nth++;
			buf_printf(&names, "%s%s", nth == 1 ? "" : nth == nmod ? " and " : ", ", p->name);
		}
	json_object_object_add(doc, "dct:description",
	                       opendata_text(pool_printf(r->pool, "The %s of the municipalities this "
	                                                 "portal serves, one dataset per municipality "
	                                                 "and module.", names.len ? names.data : "items"),
	                                     "en"));
	json_object_object_add(doc, "foaf:homepage", opendata_id(pool_printf(r->pool, "%s/", base)));
	struct json_object *pub = json_object_new_object();
	json_object_object_add(pub, "@type", json_object_new_string("foaf:Agent"));
	json_object_object_add(pub, "foaf:name", json_object_new_string("Municipal international portal"));
	json_object_object_add(doc, "dct:publisher", pub);
	for (size_t i = 0; i < c->conf->nmunis; i++) {
		const struct conf_municipality *m = &c->conf->munis[i];
		const char *mb = m->public_url ? m->public_url : base;
		const char *api = pool_printf(r->pool, "%s/api/v1/%s", mb, m->slug);
		for (size_t k = 0; k < m->nmodules; k++) {
			portal_plugin *p = plugin_find(c->plugins, m->modules[k]);
			if (p == NULL || p->store == NULL)
				continue;
			struct json_object *d = json_object_new_object(), *dists = json_object_new_array();
			json_object_object_add(d, "@id", json_object_new_string(
			                                     pool_printf(r->pool, "%s/%s/%s", mb, m->slug, p->name)));
			json_object_object_add(d, "@type", json_object_new_string("dcat:Dataset"));
			json_object_object_add(d, "dct:identifier",
			                       json_object_new_string(pool_printf(r->pool, "%s/%s", m->slug, p->name)));
			json_object_object_add(d, "dct:title", opendata_text(pool_printf(r->pool, "%s: %s", m->name,
			                                                                 p->name),
			                                                     "en"));
			json_object_object_add(d, "dct:description",
			                       opendata_text(pool_printf(r->pool, "The %s of %s (%s), as the "
			                                                          "portal's API publishes them.",
			                                                 p->name, m->name, m->country),
			                                     "en"));
			struct json_object *who = json_object_new_object();
			json_object_object_add(who, "@id", json_object_new_string(
			                                       m->wikidata ? pool_printf(r->pool, "http://www.wikidata.org/entity/%s", m->wikidata)
			                                                   : pool_printf(r->pool, "%s/%s/", mb, m->slug)));
			json_object_object_add(who, "@type", json_object_new_string("foaf:Agent"));
			json_object_object_add(who, "foaf:name", json_object_new_string(m->name));
			json_object_object_add(d, "dct:publisher", who);
			struct json_object *cp = json_object_new_object();
			json_object_object_add(cp, "@type", json_object_new_string("vcard:Organization"));
			json_object_object_add(cp, "vcard:fn", json_object_new_string(m->name));
			json_object_object_add(cp, "vcard:hasURL",
			                       opendata_id(pool_printf(r->pool, "%s/%s/", mb, m->slug)));
			json_object_object_add(d, "dcat:contactPoint", cp);
			json_object_object_add(d, "dcat:theme", opendata_id(pool_printf(
			                                            r->pool, "http://publications.europa.eu/resource/authority/data-theme/%s",
			                                            opendata_theme(p))));
			json_object_object_add(d, "dct:license", opendata_id(m->license));
			struct json_object *langs = json_object_new_array();
			for (size_t l = 0; l < m->nlanguages; l++) {
				const char *code = opendata_language(m->languages[l]);
				if (code)
					json_object_array_add(langs, opendata_id(pool_printf(
					                                 r->pool, "http://publications.europa.eu/resource/authority/language/%s", code)));
			}
			json_object_object_add(d, "dct:language", langs);
			json_object_object_add(d, "dcat:landingPage",
			                       opendata_id(pool_printf(r->pool, "%s/%s/%s", mb, m->slug, p->name)));
			struct json_object *when;
			if (json_object_object_get_ex(modified, pool_printf(r->pool, "%s/%s", m->slug, p->name),
			                              &when)) {
				struct json_object *t = json_object_new_object();
				json_object_object_add(t, "@value", json_object_get(when));
				json_object_object_add(t, "@type", json_object_new_string("xsd:dateTime"));
				json_object_object_add(d, "dct:modified", t);
			}
			for (const struct opendata_format *f = opendata_formats; f->ext; f++) {
				const char *path = pool_printf(r->pool, "/api/v1/{municipality}/%s.%s", p->name, f->ext);
				const char *url = pool_printf(r->pool, "%s/%s.%s", api, p->name, f->ext);
				if (strcmp(f->ext, "json") == 0)
					url = pool_printf(r->pool, "%s/%s", api, p->name);
				else if (c->plugins->openapi == NULL || strstr(c->plugins->openapi, path) == NULL)
					continue;
				struct json_object *di = json_object_new_object();
				json_object_object_add(di, "@id", json_object_new_string(pool_printf(r->pool, "%s#%s", url, f->ext)));
				json_object_object_add(di, "@type", json_object_new_string("dcat:Distribution"));
				json_object_object_add(di, "dct:title", opendata_text(pool_printf(r->pool, "%s: %s, %s",
				                                                                  m->name, p->name, f->title),
				                                                      "en"));
				json_object_object_add(di, "dcat:accessURL", opendata_id(url));
				json_object_object_add(di, "dcat:downloadURL", opendata_id(url));
				json_object_object_add(di, "dct:format", opendata_id(pool_printf(
				                                             r->pool, "http://publications.europa.eu/resource/authority/file-type/%s", f->eu)));
				json_object_object_add(di, "dcat:mediaType", opendata_id(pool_printf(
				                                                 r->pool, "https://www.iana.org/assignments/media-types/%s", f->media)));
				json_object_object_add(di, "dct:license", opendata_id(m->license));
				json_object_array_add(dists, di);
			}
			json_object_object_add(d, "dcat:distribution", dists);
			json_object_array_add(datasets, d);
		}
	}
	json_object_object_add(doc, "dcat:dataset", datasets);
	out_json(r, 200, doc);
	r->content_type = "application/ld+json";
	out_header(r, "Cache-Control", "public, max-age=300");
}
