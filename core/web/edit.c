/*
 * edit.c - the editor: /edit/ pages whose forms are made from each
 * module's declared fields.  (Being written.)
 */
#include <string.h>

#include "page.h"

int
edit_dispatch(struct page *pg)
{
	if (account_require(pg) != PORTAL_OK)
		return PORTAL_DONE;
	if (account_admin(pg) == PORTAL_DONE)
		return PORTAL_DONE;
	pg->lang = page_lang(pg->r);
	page_root(pg, NULL);
	page_error(pg, 404, NULL);
	return PORTAL_DONE;
}
