/* Built for another plugin ABI: the loader must refuse it without calling
 * init (which would abort the test). */
#include <stdlib.h>
#include "portal.h"

static int
init(portal_plugin *p, const struct portal_api *a)
{
	(void)p, (void)a;
	abort();
}

const struct portal_module portal_module = {PORTAL_MODULE_MAGIC, 999, PORTAL_BUILD_SIG, "bad_abi",
                                            "0.9", NULL, init, NULL, {0}};
