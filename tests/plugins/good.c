/* A well-formed test plugin: two routes, one migration, one setting. */
#include "portal.h"

static const struct portal_api *api;

static int
list(portal_req *r)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "max_items", json_object_new_int64(api->setting_int(r, "max_items")));
	return api->respond(r, 200, o);
}

static const struct portal_route routes[] = {
    {"GET", "good", list, PORTAL_ROLE_NONE, "list"},
    {"GET", "good/{id}", list, PORTAL_ROLE_NONE, "item"},
};

static const struct portal_setting settings[] = {
    {"max_items", PS_INT, 1, 10, 5, NULL, "items per page"},
    {"greeting", PS_STRING, 0, 0, 0, "hej", "a string"},
    {0},
};

static int
init(portal_plugin *p, const struct portal_api *a)
{
	api = a;
	for (unsigned i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (api->route(p, &routes[i]) != PORTAL_OK)
			return PORTAL_ERROR;
	return api->migration(p, 1, "init", "CREATE TABLE good (id INT);");
}

const struct portal_module portal_module = {PORTAL_MODULE_V1, "good", "1.2.3", settings, init, NULL, {0}};
