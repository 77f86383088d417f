/* Registers a route and a migration, then fails: the loader must forget
 * both and unload the plugin. */
#include "portal.h"

static int
h(portal_req *r)
{
	(void)r;
	return PORTAL_OK;
}

static const struct portal_route route = {"GET", "fail_init", h, PORTAL_ROLE_NONE, "x"};

static int
init(portal_plugin *p, const struct portal_api *api)
{
	api->route(p, &route);
	api->migration(p, 1, "x", "SELECT 1;");
	api->plugin_log(p, PORTAL_LOG_ERR, "cannot start: the test says so");
	return PORTAL_ERROR;
}

const struct portal_module portal_module = {PORTAL_MODULE_V1, "fail_init", "0.1", NULL, init, NULL, {0}};
