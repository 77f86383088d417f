/*
 * registry.c - what the plugins registered: routes (api->route),
 * migrations (api->migration), their settings, and finding a plugin by
 * name.  The loader (plugin.c) fills and empties it; the rest of the core
 * only reads it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Routes are owned by their plugin; freed with it (see plugin_unload_all). */
struct route_holder {
	struct plugin_route route;
	struct route_holder *next;
};

static struct route_holder *route_list; /* every registered route, for freeing */

void
plugin_free_routes(const portal_plugin *p)
{
	struct route_holder **pp = &route_list;
	while (*pp) {
		struct route_holder *h = *pp;
		if (h->route.plugin == p) {
			*pp = h->next;
			for (size_t i = 0; i < h->route.nseg; i++)
				free(h->route.seg[i]);
			free(h->route.seg);
			free(h);
		} else {
			pp = &h->next;
		}
	}
}

static struct plugins *loading; /* the set being loaded into (init is synchronous) */

void
plugin_loading(struct plugins *ps)
{
	loading = ps;
}

int
plugin_route_add(portal_plugin *p, const struct portal_route *def)
{
	if (p == NULL || !p->in_init || loading == NULL) {
		log_msg(PORTAL_LOG_ERR, NULL, "plugin %s: route() outside init", p ? p->name : "?");
		return PORTAL_ERROR;
	}
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", NULL};
	int ok = 0;
	for (const char *const *m = methods; *m; m++)
		if (def->method && strcmp(def->method, *m) == 0)
			ok = 1;
	if (!ok || def->pattern == NULL || def->handler == NULL || def->min_role < 0 ||
	    def->min_role > PORTAL_ROLE_ADMIN) {
		log_msg(PORTAL_LOG_ERR, NULL, "plugin %s: invalid route %s %s", p->name,
		        def->method ? def->method : "(null)", def->pattern ? def->pattern : "(null)");
		return PORTAL_ERROR;
	}
	/* the first segment names the module: "news", "news/{id}", "news.atom" */
	size_t nl = strlen(p->name);
	if (strncmp(def->pattern, p->name, nl) != 0 ||
	    (def->pattern[nl] != '\0' && def->pattern[nl] != '/' && def->pattern[nl] != '.')) {
		log_msg(PORTAL_LOG_ERR, NULL, "plugin %s: route pattern \"%s\" must start with \"%s\"",
		        p->name, def->pattern, p->name);
		return PORTAL_ERROR;
	}
	struct route_holder *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return PORTAL_ERROR;
	h->route.def = *def;
	h->route.plugin = p;
	char *copy = strdup(def->pattern);
	size_t cap = 1;
	for (const char *c = def->pattern; *c; c++)
		cap += *c == '/';
	h->route.seg = calloc(cap, sizeof(char *));
	if (copy == NULL || h->route.seg == NULL) {
		free(copy);
		free(h->route.seg);
		free(h);
		return PORTAL_ERROR;
	}
	/* split keeping empty segments, so "a//b" is refused by router_add */
	char *s = copy;
	for (;;) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		h->route.seg[h->route.nseg++] = strdup(s);
		if (!slash)
			break;
		s = slash + 1;
	}
	free(copy);
	h->next = route_list;
	route_list = h;
	if (router_add(loading->router, &h->route) != PORTAL_OK) {
		log_msg(PORTAL_LOG_ERR, NULL,
		        "plugin %s: route %s %s is malformed or registered twice", p->name,
		        def->method, def->pattern);
		route_list = h->next;
		for (size_t i = 0; i < h->route.nseg; i++)
			free(h->route.seg[i]);
		free(h->route.seg);
		free(h);
		return PORTAL_ERROR;
	}
	return PORTAL_OK;
}

int
plugin_migration_add(portal_plugin *p, unsigned version, const char *name, const char *sql)
{
	if (p == NULL || !p->in_init || version == 0 || name == NULL || sql == NULL)
		return PORTAL_ERROR;
	/* versions must come in order 1, 2, 3 ... */
	if (version != p->nmigrations + 1) {
		log_msg(PORTAL_LOG_ERR, NULL, "plugin %s: migration %u registered after %zu", p->name,
		        version, p->nmigrations);
		return PORTAL_ERROR;
	}
	struct plugin_migration *m = realloc(p->migrations, (p->nmigrations + 1) * sizeof(*m));
	if (m == NULL)
		return PORTAL_ERROR;
	p->migrations = m;
	m[p->nmigrations].version = version;
	m[p->nmigrations].name = name;
	m[p->nmigrations].sql = sql;
	p->nmigrations++;
	return PORTAL_OK;
}

const struct portal_setting *
plugin_setting(const portal_plugin *p, const char *name)
{
	if (p->mod->settings == NULL)
		return NULL;
	for (const struct portal_setting *s = p->mod->settings; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

portal_plugin *
plugin_find(struct plugins *ps, const char *name)
{
	for (portal_plugin *p = ps->head; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* The link members of `fields` (a field's .link) into `links`, their paths
 * after `prefix`. */
static void
registry_link_members(const struct portal_field *fields, const char *prefix, struct json_object *links)
{
	for (const struct portal_field *f = fields; f && f->name; f++) {
		char path[256];
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", f->name);
		const struct portal_field *v = f;
		if (f->type == PF_ARRAY && f->items != NULL) {
			snprintf(path + strlen(path), sizeof(path) - strlen(path), "[]");
			v = f->items;
		}
		if (v->link != NULL)
			json_object_object_add(links, path, json_object_new_string(v->link));
		else if (f->link != NULL)
			json_object_object_add(links, path, json_object_new_string(f->link));
		if (v->type == PF_OBJECT)
			registry_link_members(v->fields, path, links);
	}
}

/* {"partners[].partnership_id": "partnerships", ...}: the members of p's
 * item that hold other items' ids, by the module they name (the document's
 * x-portal-links; the editor's selects).  The caller owns it. */
struct json_object *
registry_links(const portal_plugin *p)
{
	struct json_object *links = json_object_new_object();
	if (p->item != NULL)
		registry_link_members(p->item->schema, "", links);
	return links;
}
