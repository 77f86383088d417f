/* Sign-in's small parts (core/web/account.c): the Cookie header parser,
 * table-driven, and the Set-Cookie line's flags (Secure behind https). */
#include <stdlib.h>

#include "core.h"
#include "web/page.h"
#include "t.h"
#include "fake_io.h"

static struct pool pool;
static struct fake fk;
static struct req_io io = {&fk, fparam, fread_, fwrite_};

static const struct {
	const char *header, *name, *want; /* want NULL: not found */
	size_t outlen;
	const char *what;
} cases[] = {
    {"portal_session=abc", "portal_session", "abc", 64, "alone"},
    {"a=1; portal_session=abc; b=2", "portal_session", "abc", 64, "among others"},
    {"a=1;portal_session=abc;b=2", "portal_session", "abc", 64, "without spaces"},
    {"  portal_session = abc ;", "portal_session", "abc", 64, "spaces around = and value"},
    {"portal_session=\"abc\"", "portal_session", "abc", 64, "a quoted value"},
    {"xportal_session=abc", "portal_session", NULL, 64, "a longer name is another cookie"},
    {"portal_sessionx=abc", "portal_session", NULL, 64, "a name with a suffix is another cookie"},
    {"portal_login=zzz; portal_session=abc", "portal_session", "abc", 64, "after a similar name"},
    {"portal_session=first; portal_session=second", "portal_session", "first", 64, "the first of two"},
    {"portal_session=", "portal_session", NULL, 64, "an empty value"},
    {"portal_session", "portal_session", NULL, 64, "no ="},
    {"portal_session=a b", "portal_session", NULL, 64, "a space inside the value"},
    {"portal_session=a\"b", "portal_session", NULL, 64, "a quote inside"},
    {"portal_session=a\\b", "portal_session", NULL, 64, "a backslash inside"},
    {"portal_session=a,b", "portal_session", NULL, 64, "a comma inside"},
    {"portal_session=\x7f", "portal_session", NULL, 64, "DEL"},
    {"portal_session=\xc3\xa4", "portal_session", NULL, 64, "a non-ASCII byte"},
    {"portal_session=abcdefgh", "portal_session", NULL, 8, "a value that does not fit"},
    {"portal_session=abcdefg", "portal_session", "abcdefg", 8, "a value that just fits"},
    {";;;=;=x;portal_session=ok", "portal_session", "ok", 64, "empty pieces before"},
    {"", "portal_session", NULL, 64, "an empty header"},
    {NULL, "portal_session", NULL, 64, "no header"},
    {"Portal_Session=abc", "portal_session", NULL, 64, "names are case-sensitive"},
};

static struct portal_req *
mkreq(const char *scheme, const char *https)
{
	pool_reset(&pool);
	memset(&fk, 0, sizeof(fk));
	int i = 0;
	if (scheme)
		fk.params[i][0] = "REQUEST_SCHEME", fk.params[i++][1] = scheme;
	if (https)
		fk.params[i][0] = "HTTPS", fk.params[i++][1] = https;
	struct portal_req *r = pool_alloc(&pool, sizeof(*r));
	r->pool = &pool;
	r->io = &io;
	return r;
}

int
main(void)
{
	pool_init(&pool);
	char out[64];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = account_cookie_get(cases[i].header, cases[i].name, out, cases[i].outlen);
		if (cases[i].want)
			T_STR(got ? out : NULL, cases[i].want, "cookie: %s", cases[i].what);
		else
			T_OK(got == 0 && out[0] == '\0', "cookie: %s: not taken", cases[i].what);
	}
	/* a header longer than 8 KiB is not looked at: bounded work */
	size_t big = 10000;
	char *h = malloc(big + 32);
	memset(h, 'a', big);
	strcpy(h + big, "; portal_session=abc");
	memcpy(h, "x=", 2);
	T_OK(account_cookie_get(h, "portal_session", out, sizeof(out)) == 0, "cookie: a 10 kB header is refused");
	strcpy(h, "portal_session=abc; y=");
	memset(h + strlen(h), 'b', 8000);
	h[22 + 8000] = '\0';
	T_STR(account_cookie_get(h, "portal_session", out, sizeof(out)) ? out : NULL, "abc",
	      "cookie: an 8 kB header is read");
	free(h);

	struct portal_req *r = mkreq("http", NULL);
	const char *line = account_cookie_line(r, "portal_session", "v", "/", "Lax", 60);
	T_STR(line, "portal_session=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax",
	      "set-cookie over http: HttpOnly, SameSite, no Secure");
	r = mkreq("https", NULL);
	line = account_cookie_line(r, "portal_session", "v", "/", "Lax", 60);
	T_OK(strstr(line, "; Secure") != NULL && strstr(line, "HttpOnly") != NULL,
	     "set-cookie with REQUEST_SCHEME https: Secure (%s)", line);
	r = mkreq(NULL, "on");
	T_OK(account_secure(r), "HTTPS on: secure");
	r = mkreq("http", "");
	T_OK(!account_secure(r), "HTTPS empty over http: not secure");
	r = mkreq(NULL, NULL);
	T_OK(!account_secure(r), "neither: not secure");

	pool_destroy(&pool);
	return T_DONE();
}
