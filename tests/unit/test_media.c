/* The upload path's own parsing (core/items/media.c): the declared
 * Content-Type, the allow-list, the polyglot scan, file names; and the
 * media settings of portal.conf (conf.c). */
#include <stdlib.h>
#include <unistd.h>

#include "core.h"
#include "t.h"

static void
test_declared(void)
{
	static const struct {
		const char *ct, *want;
	} cases[] = {
	    {"image/png", "image/png"},
	    {"Image/JPEG; charset=binary", "image/jpeg"},
	    {"  application/pdf", "application/pdf"},
	    {"application/octet-stream", "application/octet-stream"},
	    {"png", ""},
	    {"", ""},
	    {"image/p\001ng", ""},
	    {"image/svg+xml", "image/svg+xml"},
	};
	char out[64];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		media_declared_type(cases[i].ct, out, sizeof(out));
		T_STR(out, cases[i].want, "Content-Type \"%s\" declares \"%s\"", cases[i].ct, cases[i].want);
	}
	T_OK(media_declared_type(NULL, out, sizeof(out)) == 0 && out[0] == '\0', "no Content-Type");
	char tiny[5];
	T_OK(media_declared_type("image/jpeg", tiny, sizeof(tiny)) == 0 && tiny[0] == '\0',
	     "a type longer than the buffer is none, not cut");
}

static void
test_kinds(void)
{
	T_OK(media_kind_of("image/jpeg") && media_kind_of("image/jpeg")->image, "JPEG is an image");
	T_OK(media_kind_of("application/pdf") && !media_kind_of("application/pdf")->image, "PDF is a document");
	T_OK(media_kind_of("image/webp") != NULL && media_kind_of("image/png") != NULL, "WebP, PNG accepted");
	T_OK(media_kind_of("image/svg+xml") == NULL, "SVG is not accepted");
	T_OK(media_kind_of("image/gif") == NULL && media_kind_of("text/html") == NULL, "GIF, HTML are not");
	T_OK(media_kind_of(NULL) == NULL, "no type");
}

static void
test_scan(void)
{
	static const struct {
		const char *bytes;
		int pdf;
		const char *want;
	} cases[] = {
	    {"\x89PNG....IEND<?php system($_GET[1]); ?>", 0, "<?php"},
	    {"GIF89a<ScRiPt>alert(1)</script>", 0, "<script"},
	    {"....<svg onload=alert(1)>", 0, "<svg"},
	    {"....<!DOCTYPE html>", 0, "<!doctype"},
	    {"%PDF-1.4 /OpenAction << /S /JavaScript >>", 1, "/javascript"},
	    {"%PDF-1.4 /OpenAction << /S /JavaScript >>", 0, NULL},
	    {"%PDF-1.4 /Launch", 1, "/launch"},
	    {"\xff\xd8\xff\xe0 plain image data <scrip", 0, NULL},
	    {"", 0, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		T_STR(media_scan((const unsigned char *)cases[i].bytes, strlen(cases[i].bytes), cases[i].pdf),
		      cases[i].want, "scan %zu finds %s", i, cases[i].want ? cases[i].want : "nothing");
}

static void
test_names(void)
{
	T_OK(media_name_problem("Avtal Lerum–Kaunas 2024.pdf") == NULL, "a name with a dash and blanks");
	T_OK(media_name_problem("") != NULL, "an empty name");
	T_OK(media_name_problem("../etc/passwd") != NULL, "a slash");
	T_OK(media_name_problem("a\"b.pdf") != NULL, "a double quote (Content-Disposition)");
	T_OK(media_name_problem("a\nb.pdf") != NULL, "a line break");
	T_OK(media_name_problem("\xff\xfe.pdf") != NULL, "not UTF-8");
	char long_name[300];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	T_OK(media_name_problem(long_name) != NULL, "more than 255 bytes");
}

static void
test_conf(void)
{
	char path[] = "/tmp/portal-test-media-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "core: { listen = \"/tmp/x.sock\"; plugin_dir = \"/tmp\"; };\n"
	                   "database: { socket = \"/tmp/db.sock\"; name = \"p\"; user = \"p\"; };\n"
	                   "media: { max_bytes = 1048576; quota_bytes = 5000000; };\n"
	                   "municipalities = ( { slug = \"a\"; name = \"A\"; country = \"SE\"; "
	                   "languages = [\"sv\"]; modules = []; media_quota_bytes = 1000; },\n"
	                   "  { slug = \"b\"; name = \"B\"; country = \"SE\"; languages = [\"sv\"]; "
	                   "modules = []; } );\n";
	T_OK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "a configuration written");
	close(fd);
	struct conf c;
	int rc = conf_load(&c, path);
	T_OK(rc == PORTAL_OK, "media settings load");
	for (size_t i = 0; i < c.nerrors; i++)
		printf("#   %s\n", c.errors[i]);
	char want[64];
	snprintf(want, sizeof(want), "/tmp/media");
	T_STR(c.media_dir, want, "media.dir defaults to \"media\" beside the configuration");
	T_OK(c.media_max_bytes == 1048576 && c.media_quota_bytes == 5000000, "max_bytes, quota_bytes read");
	T_OK(c.media_max_pixels == 40000000, "max_pixels defaults to 40 megapixels");
	T_OK(c.nmunis == 2 && c.munis[0].media_quota_bytes == 1000 && c.munis[1].media_quota_bytes == -1,
	     "a municipality's media_quota_bytes, -1 without");
	conf_free(&c);
	unlink(path);
}

int
main(void)
{
	test_declared();
	test_kinds();
	test_scan();
	test_names();
	test_conf();
	return T_DONE();
}
