/*
 * news.c - the news module.  Scaffolding only while issue 3 is being
 * written: it loads and registers nothing yet.
 */
#include "portal.h"

static int
news_init(portal_plugin *p, const struct portal_api *api)
{
	(void)p;
	(void)api;
	return PORTAL_OK;
}

const struct portal_module portal_module = {PORTAL_MODULE_V1, "news", "0.0.1", NULL, news_init, NULL, {0}};
