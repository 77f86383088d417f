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
#include <unistd.h>

#include "core.h"

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
	plugin_loading(ps);
	item_use_api(&api_table); /* the lifecycle works through the plugins' table */
	int rc = mod->init(p, &api_table);
	plugin_loading(NULL);
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
	p->index = (unsigned)ps->count++;
	log_msg(PORTAL_LOG_INFO, NULL, "plugin %s %s loaded from %s", p->name,
	        mod->version ? mod->version : "", path);
	return PORTAL_OK;
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

/* Loads plugin_dir/NAME.so with its section `sec` (NULL: none, its
 * settings' defaults) and checks the section; errors go to c->errors
 * (at `where`). */
static void
plugin_load_one(struct plugins *ps, struct conf *c, const char *name, config_setting_t *sec,
                config_setting_t *where)
{
	char path[PATH_MAX], err[512];
	int ok = name != NULL && *name != '\0';
	for (const char *q = name; ok && *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_'))
			ok = 0;
	if (!ok) {
		conf_error(c, where, "plugin name \"%s\" must be a-z, 0-9 and '_'", name ? name : "");
		return;
	}
	if (strcmp(name, "audit") == 0 || strcmp(name, "search") == 0) {
		conf_error(c, where, "\"%s\" is the core's own resource, not a plugin name", name);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s.so", c->plugin_dir ? c->plugin_dir : ".", name);
	if (plugin_load(ps, path, name, sec, err, sizeof(err)) != PORTAL_OK) {
		conf_error(c, where, "%s", err);
		return;
	}
	if (sec != NULL)
		plugin_check_settings(c, plugin_find(ps, name), sec, name);
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
	/* the plugins with a section (their settings), in its order */
	int n = c->plugins ? config_setting_length(c->plugins) : 0;
	for (int i = 0; i < n; i++) {
		config_setting_t *sec = config_setting_get_elem(c->plugins, (unsigned)i);
		plugin_load_one(ps, c, config_setting_name(sec), sec, sec);
	}
	/* the municipalities: a module one enables is loaded, without a
	 * section when it has none (its settings' defaults); overrides valid */
	for (size_t i = 0; i < c->nmunis; i++) {
		const struct conf_municipality *m = &c->munis[i];
		config_setting_t *g = NULL;
		for (int k = 0; k < (int)m->nmodules; k++) {
			if (plugin_find(ps, m->modules[k]) != NULL)
				continue;
			int tried = 0; /* named in `plugins` (and failed): said already */
			for (int j = 0; j < n && !tried; j++) {
				const char *sn = config_setting_name(config_setting_get_elem(c->plugins, (unsigned)j));
				tried = sn && strcmp(sn, m->modules[k]) == 0;
			}
			config_setting_t *where = config_setting_get_member(m->group, "modules");
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s.so", c->plugin_dir ? c->plugin_dir : ".",
			         m->modules[k]);
			if (tried)
				conf_error(c, where, "municipality %s enables \"%s\", which is not a loaded plugin",
				           m->slug, m->modules[k]);
			else if (strchr(m->modules[k], '/') != NULL || access(path, F_OK) != 0)
				conf_error(c, where,
				           "municipality %s enables \"%s\", which is not a loaded plugin (no %s)",
				           m->slug, m->modules[k], path);
			else
				plugin_load_one(ps, c, m->modules[k], NULL, where);
		}
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
