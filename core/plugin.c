/*
 * plugin.c - loading plugins (after nginx's ngx_add_module and Redis'
 * moduleLoad).  The descriptor is read as data and checked (magic, ABI
 * version, build signature, name) before any plugin function is called;
 * a failing init is rolled back: its routes and migrations are forgotten
 * and the object unloaded.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static void plugin_free_routes(const portal_plugin *p);

/* Forgets everything p registered and unloads it. */
static void
plugin_free(struct plugins *ps, portal_plugin *p)
{
	if (p == NULL)
		return;
	if (ps->router)
		router_remove_plugin(ps->router, p);
	plugin_free_routes(p);
	pages_forget(p);
	store_free(p->store);
	json_object_put(p->messages);
	free(p->migrations);
	if (p->dl)
		dlclose(p->dl);
	free(p->name);
	free(p->path);
	free(p);
}

/* Routes are owned by their plugin; freed with it (see plugin_unload_all). */
struct route_holder {
	struct plugin_route route;
	struct route_holder *next;
};

static struct route_holder *route_list; /* every registered route, for freeing */

static void
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

int
plugin_route_add(portal_plugin *p, const struct portal_route *def);
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

int plugin_migration_add(portal_plugin *p, unsigned version, const char *name, const char *sql);
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

int
plugin_load(struct plugins *ps, const char *path, const char *expect_name,
            config_setting_t *section, char *err, size_t errlen)
{
	if (plugin_find(ps, expect_name)) {
		snprintf(err, errlen, "plugin %s: loaded twice", expect_name);
		return PORTAL_ERROR;
	}
	/* RTLD_LOCAL: plugins do not see each other's symbols. */
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		snprintf(err, errlen, "plugin %s: cannot load %s: %s", expect_name, path, dlerror());
		return PORTAL_ERROR;
	}
	const struct portal_module *mod = dlsym(dl, PORTAL_MODULE_SYMBOL);
	if (mod == NULL) {
		snprintf(err, errlen, "plugin %s: %s exports no \"%s\" descriptor", expect_name, path,
		         PORTAL_MODULE_SYMBOL);
		dlclose(dl);
		return PORTAL_ERROR;
	}
	if (mod->magic != PORTAL_MODULE_MAGIC) {
		snprintf(err, errlen, "plugin %s: %s is not a portal plugin (bad magic 0x%08x)",
		         expect_name, path, mod->magic);
		dlclose(dl);
		return PORTAL_ERROR;
	}
	if (mod->abi_version != PORTAL_ABI_VERSION) {
		snprintf(err, errlen,
		         "plugin %s: built for plugin ABI version %u, but this portal has ABI version %u;"
		         " rebuild the plugin against this portal's portal.h",
		         expect_name, mod->abi_version, PORTAL_ABI_VERSION);
		dlclose(dl);
		return PORTAL_ERROR;
	}
	if (mod->build_sig == NULL || strcmp(mod->build_sig, PORTAL_BUILD_SIG) != 0) {
		snprintf(err, errlen,
		         "plugin %s: built with \"%s\", but this portal is \"%s\"; rebuild the plugin",
		         expect_name, mod->build_sig ? mod->build_sig : "(none)", PORTAL_BUILD_SIG);
		dlclose(dl);
		return PORTAL_ERROR;
	}
	if (mod->name == NULL || strcmp(mod->name, expect_name) != 0 || mod->init == NULL) {
		snprintf(err, errlen, "plugin %s: %s calls itself \"%s\"%s", expect_name, path,
		         mod->name ? mod->name : "(null)", mod->init ? "" : " and has no init");
		dlclose(dl);
		return PORTAL_ERROR;
	}

	portal_plugin *p = calloc(1, sizeof(*p));
	if (p == NULL || (p->name = strdup(expect_name)) == NULL || (p->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "plugin %s: out of memory", expect_name);
		if (p)
			free(p->name);
		free(p);
		dlclose(dl);
		return PORTAL_ERROR;
	}
	p->dl = dl;
	p->mod = mod;
	p->section = section;
	p->in_init = 1;
	loading = ps;
	int rc = mod->init(p, &api_table);
	loading = NULL;
	p->in_init = 0;
	if (rc != PORTAL_OK) {
		snprintf(err, errlen, "plugin %s %s: init failed; plugin unloaded", expect_name,
		         mod->version ? mod->version : "");
		plugin_free(ps, p);
		return PORTAL_ERROR;
	}
	/* keep load order: migrations and listings follow the config */
	portal_plugin **tail = &ps->head;
	while (*tail)
		tail = &(*tail)->next;
	*tail = p;
	ps->count++;
	log_msg(PORTAL_LOG_INFO, NULL, "plugin %s %s loaded from %s", p->name,
	        mod->version ? mod->version : "", path);
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

/* Checks a group of settings (the plugin's section or an override). */
static void
plugin_check_settings(struct conf *c, const portal_plugin *p, config_setting_t *g, const char *where)
{
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		conf_error(c, g, "%s must be a group { setting = value; }", where);
		return;
	}
	int n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);
		const struct portal_setting *s = name ? plugin_setting(p, name) : NULL;
		if (s == NULL) {
			conf_error(c, m, "plugin %s has no setting \"%s\"", p->name, name ? name : "?");
			continue;
		}
		int t = config_setting_type(m);
		switch (s->type) {
		case PS_INT:
			if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
				conf_error(c, m, "%s.%s must be an integer", p->name, name);
			} else {
				long long v = config_setting_get_int64(m);
				if (v < s->min || v > s->max)
					conf_error(c, m, "%s.%s must be between %lld and %lld, not %lld",
					           p->name, name, s->min, s->max, v);
			}
			break;
		case PS_BOOL:
			if (t != CONFIG_TYPE_BOOL)
				conf_error(c, m, "%s.%s must be true or false", p->name, name);
			break;
		case PS_STRING:
			if (t != CONFIG_TYPE_STRING)
				conf_error(c, m, "%s.%s must be a string", p->name, name);
			break;
		}
	}
}

int
plugin_load_all(struct plugins *ps, struct conf *c)
{
	if (ps->router == NULL && (ps->router = router_new()) == NULL)
		return PORTAL_ERROR;
	if (pages_init() != PORTAL_OK) {
		conf_error(c, NULL, "the core's templates or messages are broken (see above)");
		return PORTAL_ERROR;
	}
	size_t before = c->nerrors;
	int n = c->plugins ? config_setting_length(c->plugins) : 0;
	for (int i = 0; i < n; i++) {
		config_setting_t *sec = config_setting_get_elem(c->plugins, (unsigned)i);
		const char *name = config_setting_name(sec);
		char path[PATH_MAX], err[512];
		int ok = name != NULL && *name != '\0';
		for (const char *q = name; ok && *q; q++)
			if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_'))
				ok = 0;
		if (!ok) {
			conf_error(c, sec, "plugin name \"%s\" must be a-z, 0-9 and '_'", name ? name : "");
			continue;
		}
		if (strcmp(name, "audit") == 0) {
			conf_error(c, sec, "\"audit\" is the core's own resource, not a plugin name");
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s.so", c->plugin_dir ? c->plugin_dir : ".", name);
		if (plugin_load(ps, path, name, sec, err, sizeof(err)) != PORTAL_OK) {
			conf_error(c, sec, "%s", err);
			continue;
		}
		plugin_check_settings(c, plugin_find(ps, name), sec, name);
	}
	/* the municipalities: modules must be loaded plugins, overrides valid */
	for (size_t i = 0; i < c->nmunis; i++) {
		const struct conf_municipality *m = &c->munis[i];
		config_setting_t *g = NULL;
		for (int k = 0; k < (int)m->nmodules; k++)
			if (plugin_find(ps, m->modules[k]) == NULL)
				conf_error(c, config_setting_get_member(m->group, "modules"),
				           "municipality %s enables \"%s\", which is not a loaded plugin",
				           m->slug, m->modules[k]);
		if (m->overrides == NULL)
			continue;
		int no = config_setting_length(m->overrides);
		for (int k = 0; k < no; k++) {
			g = config_setting_get_elem(m->overrides, (unsigned)k);
			const char *pname = config_setting_name(g);
			portal_plugin *p = pname ? plugin_find(ps, pname) : NULL;
			if (p == NULL) {
				conf_error(c, g, "override for \"%s\", which is not a loaded plugin",
				           pname ? pname : "?");
				continue;
			}
			plugin_check_settings(c, p, g, pname);
		}
	}
	return c->nerrors > before ? PORTAL_ERROR : PORTAL_OK;
}

void
plugin_unload_all(struct plugins *ps)
{
	portal_plugin *p = ps->head;
	while (p) {
		portal_plugin *next = p->next;
		if (p->mod->fini)
			p->mod->fini(p);
		plugin_free(ps, p);
		p = next;
	}
	ps->head = NULL;
	ps->count = 0;
	router_free(ps->router);
	ps->router = NULL;
	free(ps->openapi);
	ps->openapi = NULL;
}

portal_plugin *
plugin_find(struct plugins *ps, const char *name)
{
	for (portal_plugin *p = ps->head; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}
