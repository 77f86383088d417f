/*
 * visits.c - the visits module.  Scaffolding only while issue 3 is being
 * written: it loads and registers nothing yet.
 */
#include "portal.h"

static int
visits_init(portal_plugin *p, const struct portal_api *api)
{
	(void)p;
	(void)api;
	return PORTAL_OK;
}

const struct portal_module portal_module = {PORTAL_MODULE_V1, "visits", "0.0.1", NULL, visits_init, NULL, {0}};
