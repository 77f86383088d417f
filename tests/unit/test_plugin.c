/* The plugin loader: good plugins load, mismatches are refused before
 * any plugin code runs, a failing init is rolled back. */
#include <stdlib.h>

#include "core.h"
#include "t.h"

static char dir[512];

static int
load(struct plugins *ps, const char *name, char *err, size_t n)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/%s.so", dir, name);
	err[0] = '\0';
	return plugin_load(ps, path, name, NULL, err, n);
}

int
main(void)
{
	const char *b = getenv("B");
	snprintf(dir, sizeof(dir), "%s/tests/plugins", b ? b : "build");
	log_level = -1; /* quiet */
	struct plugins ps = {0};
	ps.router = router_new();
	char err[512];

	T_OK(load(&ps, "good", err, sizeof(err)) == PORTAL_OK, "good plugin loads (%s)", err);
	portal_plugin *good = plugin_find(&ps, "good");
	T_OK(good && router_count(ps.router) == 2 && good->nmigrations == 1,
	     "its two routes and one migration are registered");
	T_OK(load(&ps, "good", err, sizeof(err)) == PORTAL_ERROR && strstr(err, "loaded twice"),
	     "loading it twice is refused: %s", err);

	T_OK(load(&ps, "bad_abi", err, sizeof(err)) == PORTAL_ERROR, "wrong ABI refused");
	T_OK(strstr(err, "bad_abi") && strstr(err, "version 999") && strstr(err, "ABI version 3"),
	     "message names the plugin and both versions: %s", err);
	T_OK(load(&ps, "bad_sig", err, sizeof(err)) == PORTAL_ERROR && strstr(err, "bad_sig") &&
	         strstr(err, "json-c=0.9") && strstr(err, PORTAL_BUILD_SIG),
	     "wrong build signature refused: %s", err);
	T_OK(load(&ps, "no_descriptor", err, sizeof(err)) == PORTAL_ERROR &&
	         strstr(err, "no \"portal_module\""),
	     "shared object without descriptor refused: %s", err);
	T_OK(load(&ps, "missing", err, sizeof(err)) == PORTAL_ERROR && strstr(err, "cannot load"),
	     "missing file refused: %s", err);

	T_OK(load(&ps, "fail_init", err, sizeof(err)) == PORTAL_ERROR &&
	         strstr(err, "fail_init") && strstr(err, "init failed"),
	     "failing init named: %s", err);
	T_OK(plugin_find(&ps, "fail_init") == NULL && router_count(ps.router) == 2 && ps.count == 1,
	     "failing init rolled back: no plugin, no routes left");
	T_OK(load(&ps, "bad_route", err, sizeof(err)) == PORTAL_ERROR && router_count(ps.router) == 2,
	     "a route outside the plugin's name is refused");

	/* the good plugin still works after the failures */
	struct router_match m;
	char s0[] = "good", s1[] = "7", *seg[] = {s0, s1};
	T_OK(router_match(ps.router, "GET", seg, 2, &m) == 200 && m.route->plugin == good,
	     "good/{id} still routes to the good plugin");
	T_OK(plugin_setting(good, "max_items") && plugin_setting(good, "nope") == NULL,
	     "declared settings are found");

	/* each plugin's context slot on a request (api->ctx), its own */
	struct portal_plugin other = {.name = "other", .index = 5};
	struct pool pool;
	pool_init(&pool);
	struct core core = {.plugins = &ps};
	struct portal_req r = {.pool = &pool, .core = &core};
	int a = 1, z = 2;
	T_OK(api_table.ctx(&r, good) == NULL && api_table.ctx(&r, &other) == NULL,
	     "a request's slots are empty at first");
	api_table.set_ctx(&r, good, &a);
	api_table.set_ctx(&r, &other, &z);
	T_OK(api_table.ctx(&r, good) == &a && api_table.ctx(&r, &other) == &z,
	     "each plugin reads back what it set, not another's (indexes %u and %u)", good->index,
	     other.index);
	api_table.set_ctx(&r, good, NULL);
	T_OK(api_table.ctx(&r, good) == NULL && api_table.ctx(&r, &other) == &z, "a slot is cleared alone");
	pool_destroy(&pool);

	plugin_unload_all(&ps);
	T_OK(ps.count == 0 && ps.head == NULL, "unload all");
	return T_DONE();
}
