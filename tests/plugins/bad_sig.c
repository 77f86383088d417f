/* Right ABI number, built against another json-c: refused before init. */
#include <stdlib.h>
#include "portal.h"

static int
init(portal_plugin *p, const struct portal_api *a)
{
	(void)p, (void)a;
	abort();
}

const struct portal_module portal_module = {PORTAL_MODULE_MAGIC, PORTAL_ABI_VERSION,
                                            "abi=1,json-c=0.9,ptr=8", "bad_sig", "0.9", NULL, init,
                                            NULL, {0}};
