/* Tries to register a route outside its own name: refused, init fails. */
#include "portal.h"

static int
h(portal_req *r)
{
	(void)r;
	return PORTAL_OK;
}

static const struct portal_route route = {"GET", "partnerships/{id}", h, PORTAL_ROLE_NONE, "x"};

static int
init(portal_plugin *p, const struct portal_api *api)
{
	return api->route(p, &route);
}

const struct portal_module portal_module = {PORTAL_MODULE_V1, "bad_route", "0.1", NULL, init, NULL, {0}};
