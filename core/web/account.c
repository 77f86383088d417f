/*
 * account.c - sign-in, sessions, CSRF, and an admin's users and tokens in
 * the browser.  (Being written: until then nobody can sign in.)
 */
#include <string.h>

#include "page.h"

int
account_dispatch(struct page *pg)
{
	(void)pg;
	return PORTAL_DECLINED;
}

int
account_require(struct page *pg)
{
	struct portal_req *r = pg->r;
	out_header(r, "Location", "/login");
	out_header(r, "Cache-Control", "no-store");
	r->status = 303;
	r->responded = 1;
	return PORTAL_DONE;
}

int
account_csrf(struct page *pg, const struct form *f)
{
	(void)f;
	page_error(pg, 403, "this form is not this site's");
	return PORTAL_DONE;
}

int
account_admin(struct page *pg)
{
	(void)pg;
	return PORTAL_DECLINED;
}
