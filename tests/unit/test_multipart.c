/* multipart.c: the streaming multipart/form-data parser (any split of the
 * body gives the same parts), its limits, and req_read_form_files: plain
 * fields checked as urlencoded ones are, files streamed to media.dir/tmp
 * and removed with the request. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "t.h"
#include "fake_io.h"

static struct pool pool;

/* ---- the parser alone, with a sink that writes down what it gets ---- */

struct rec {
	struct buf log; /* "[name|filename|type]data" per part */
};

static int
r_begin(struct multipart *m, const char *name, const char *filename, const char *type)
{
	struct rec *x = m->sink.ctx;
	buf_printf(&x->log, "[%s|%s|%s]", name, filename ? filename : "-", type ? type : "-");
	return 0;
}

static int
r_data(struct multipart *m, const char *p, size_t n)
{
	struct rec *x = m->sink.ctx;
	buf_add(&x->log, p, n);
	return 0;
}

static int
r_end(struct multipart *m)
{
	struct rec *x = m->sink.ctx;
	buf_puts(&x->log, "$");
	return 0;
}

/* Parses `body` fed in pieces of `step` bytes (0: at once): the status,
 * the log in *log. */
static int
feed(const char *boundary, const char *body, size_t len, size_t step, const char **log,
     const char **detail)
{
	struct rec *x = pool_alloc(&pool, sizeof(*x));
	buf_init(&x->log, &pool);
	struct multipart_sink sink = {.ctx = x, .begin = r_begin, .data = r_data, .end = r_end};
	struct multipart m;
	multipart_init(&m, &pool, boundary, &sink);
	int st = 0;
	if (step == 0)
		step = len ? len : 1;
	for (size_t off = 0; off < len && st == 0; off += step)
		st = multipart_feed(&m, body + off, len - off < step ? len - off : step);
	if (st == 0)
		st = multipart_finish(&m);
	buf_add(&x->log, "", 1);
	*log = x->log.data;
	*detail = m.detail ? m.detail : "";
	return st;
}

static const char body1[] = "--XyZ\r\n"
                            "Content-Disposition: form-data; name=\"csrf\"\r\n\r\n"
                            "tok\r\n"
                            "--XyZ\r\n"
                            "Content-Disposition: form-data; name=\"_file.image.media\"; "
                            "filename=\"b\xc3\xa5t.jpg\"\r\n"
                            "Content-Type: image/jpeg\r\n\r\n"
                            "\xff\xd8 data with \r\n--XyY and \r\n-- and \r\n--Xy inside\r\n"
                            "--XyZ\r\n"
                            "content-disposition: form-data; name=empty\r\n\r\n"
                            "\r\n"
                            "--XyZ--\r\nepilogue";
static const char log1[] = "[csrf|-|-]tok$"
                           "[_file.image.media|b\xc3\xa5t.jpg|image/jpeg]"
                           "\xff\xd8 data with \r\n--XyY and \r\n-- and \r\n--Xy inside$"
                           "[empty|-|-]$";

static void
test_parser(void)
{
	const char *log, *d;
	T_OK(feed("XyZ", body1, sizeof(body1) - 1, 0, &log, &d) == 0, "a body at once (%s)", d);
	T_STR(log, log1, "its parts, with delimiter-like bytes inside a file kept");
	int same = 1;
	for (size_t step = 1; step < 40 && same; step++) {
		if (feed("XyZ", body1, sizeof(body1) - 1, step, &log, &d) != 0 || strcmp(log, log1) != 0)
			same = 0;
	}
	T_OK(same, "the same parts whatever the pieces it is fed in (1 to 39 bytes)");
	const char pre[] = "preamble\r\n--B\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--B--";
	T_OK(feed("B", pre, sizeof(pre) - 1, 0, &log, &d) == 0 && strcmp(log, "[a|-|-]x$") == 0,
	     "a preamble is skipped (%s)", log);
	const char nofin[] = "--B\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--B\r\n";
	T_OK(feed("B", nofin, sizeof(nofin) - 1, 0, &log, &d) == 400 && strstr(d, "closing"),
	     "no closing delimiter: 400 (%s)", d);
	const char cut[] = "--B\r\nContent-Disposition: form-data; name=a\r\n\r\nxxxx";
	T_OK(feed("B", cut, sizeof(cut) - 1, 0, &log, &d) == 400, "a body cut short: 400");
	const char noname[] = "--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--";
	T_OK(feed("B", noname, sizeof(noname) - 1, 0, &log, &d) == 400 && strstr(d, "name"),
	     "a part without a name: 400 (%s)", d);
	const char nodisp[] = "--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--";
	T_OK(feed("B", nodisp, sizeof(nodisp) - 1, 0, &log, &d) == 400,
	     "a part without Content-Disposition: 400");
	const char nohead[] = "--B\r\n\r\nx\r\n--B--";
	T_OK(feed("B", nohead, sizeof(nohead) - 1, 0, &log, &d) == 400, "a part without headers: 400");
	const char attach[] = "--B\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--B--";
	T_OK(feed("B", attach, sizeof(attach) - 1, 0, &log, &d) == 400 && strstr(d, "form-data"),
	     "a disposition other than form-data: 400");
	const char twice[] = "--B\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nx\r\n--B--";
	T_OK(feed("B", twice, sizeof(twice) - 1, 0, &log, &d) == 400, "a parameter twice: 400");
	const char unq[] = "--B\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--B--";
	T_OK(feed("B", unq, sizeof(unq) - 1, 0, &log, &d) == 400, "an unclosed quote: 400");
	const char fold[] = "--B\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\nx\r\n--B--";
	T_OK(feed("B", fold, sizeof(fold) - 1, 0, &log, &d) == 400, "a folded header: 400");
	const char lf[] = "--B\nContent-Disposition: form-data; name=a\n\nx\n--B--";
	T_OK(feed("B", lf, sizeof(lf) - 1, 0, &log, &d) == 400, "bare LF line ends: 400");
	const char after[] = "--Bx\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--B--";
	T_OK(feed("B", after, sizeof(after) - 1, 0, &log, &d) == 400,
	     "a boundary followed by more than a line end: 400");

	/* limits */
	struct buf b;
	buf_init(&b, &pool);
	buf_puts(&b, "--B\r\nContent-Disposition: form-data; name=a\r\nX-Pad: ");
	for (int i = 0; i < MULTIPART_MAX_HEADER; i++)
		buf_add(&b, "p", 1);
	buf_puts(&b, "\r\n\r\nx\r\n--B--");
	T_OK(feed("B", b.data, b.len, 1000, &log, &d) == 413 && strstr(d, "headers"),
	     "headers over %d bytes: 413 (%s)", MULTIPART_MAX_HEADER, d);
	buf_init(&b, &pool);
	for (int i = 0; i <= MULTIPART_MAX_PARTS; i++)
		buf_printf(&b, "--B\r\nContent-Disposition: form-data; name=f%d\r\n\r\n\r\n", i);
	buf_puts(&b, "--B--");
	T_OK(feed("B", b.data, b.len, 0, &log, &d) == 422 && strstr(d, "fields"),
	     "%d parts: 422 (%s)", MULTIPART_MAX_PARTS + 1, d);
	buf_init(&b, &pool);
	for (int i = 0; i <= MULTIPART_MAX_FILES; i++)
		buf_printf(&b, "--B\r\nContent-Disposition: form-data; name=f%d; filename=x%d\r\n\r\nx\r\n",
		           i, i);
	buf_puts(&b, "--B--");
	T_OK(feed("B", b.data, b.len, 0, &log, &d) == 422 && strstr(d, "files"),
	     "%d files: 422 (%s)", MULTIPART_MAX_FILES + 1, d);
	buf_init(&b, &pool);
	for (int i = 0; i <= MULTIPART_MAX_FILES; i++)
		buf_printf(&b, "--B\r\nContent-Disposition: form-data; name=f%d; filename=\"\"\r\n\r\n\r\n", i);
	buf_puts(&b, "--B--");
	T_OK(feed("B", b.data, b.len, 0, &log, &d) == 0,
	     "%d empty file inputs (no file chosen) do not count as files", MULTIPART_MAX_FILES + 1);
	buf_init(&b, &pool);
	buf_puts(&b, "--B\r\nContent-Disposition: form-data; name=");
	for (int i = 0; i <= FORM_MAX_NAME; i++)
		buf_add(&b, "n", 1);
	buf_puts(&b, "\r\n\r\nx\r\n--B--");
	T_OK(feed("B", b.data, b.len, 0, &log, &d) == 422, "a name over %d bytes: 422", FORM_MAX_NAME);
	buf_init(&b, &pool);
	buf_puts(&b, "--B\r\nContent-Disposition: form-data; name=a; filename=\"");
	for (int i = 0; i <= MULTIPART_MAX_FILENAME; i++)
		buf_add(&b, "n", 1);
	buf_puts(&b, "\"\r\n\r\nx\r\n--B--");
	T_OK(feed("B", b.data, b.len, 0, &log, &d) == 422 && strstr(d, "name of the file"),
	     "a file name over %d bytes: 422 (%s)", MULTIPART_MAX_FILENAME, d);
	const char badutf[] = "--B\r\nContent-Disposition: form-data; name=a; filename=\"\xff\"\r\n\r\n"
	                      "x\r\n--B--";
	T_OK(feed("B", badutf, sizeof(badutf) - 1, 0, &log, &d) == 422, "a file name not UTF-8: 422");
}

static void
test_boundary(void)
{
	char b[MULTIPART_MAX_BOUNDARY + 1];
	T_OK(multipart_boundary("multipart/form-data; boundary=----WebKitFormBoundaryA1b2", b, sizeof(b)) &&
	         strcmp(b, "----WebKitFormBoundaryA1b2") == 0,
	     "Chrome's boundary");
	T_OK(multipart_boundary("Multipart/Form-Data;boundary=\"a b:c\"", b, sizeof(b)) && strcmp(b, "a b:c") == 0,
	     "a quoted boundary, the type case-insensitively");
	T_OK(multipart_boundary("multipart/form-data; charset=utf-8; boundary=x", b, sizeof(b)) &&
	         strcmp(b, "x") == 0,
	     "another parameter first");
	T_OK(multipart_boundary("multipart/form-data", b, sizeof(b)) == 0, "no boundary: refused");
	T_OK(multipart_boundary("multipart/form-data; boundary=", b, sizeof(b)) == 0, "an empty boundary");
	T_OK(multipart_boundary("multipart/form-data; boundary=a; boundary=b", b, sizeof(b)) == 0,
	     "two boundaries");
	T_OK(multipart_boundary("multipart/form-data; boundary=\"a\x01\"", b, sizeof(b)) == 0,
	     "a control character in it");
	T_OK(multipart_boundary("multipart/form-data; boundary=\"a \"", b, sizeof(b)) == 0,
	     "a space at its end (RFC 2046)");
	char longb[200];
	snprintf(longb, sizeof(longb), "multipart/form-data; boundary=%071d", 0);
	T_OK(multipart_boundary(longb, b, sizeof(b)) == 0, "71 characters: refused");
	snprintf(longb, sizeof(longb), "multipart/form-data; boundary=%070d", 0);
	T_OK(multipart_boundary(longb, b, sizeof(b)) == 70, "70 characters");
	T_OK(multipart_boundary("multipart/mixed; boundary=x", b, sizeof(b)) == 0, "multipart/mixed");
	T_OK(multipart_boundary("multipart/form-datax; boundary=x", b, sizeof(b)) == 0, "a longer type");
}

/* ---- req_read_form_files ---- */

static struct fake fk;
static struct req_io io = {&fk, fparam, fread_, fwrite_};
static struct conf conf;
static struct core core;
static char dir[] = "/tmp/test_multipart.XXXXXX";

static int
read_files(const char *ct, const char *data, size_t len, struct form *f, const char **detail)
{
	pool_reset(&pool);
	memset(&fk, 0, sizeof(fk));
	char l[32];
	snprintf(l, sizeof(l), "%zu", len);
	fk.params[0][0] = "REQUEST_METHOD", fk.params[0][1] = "POST";
	fk.params[1][0] = "REQUEST_URI", fk.params[1][1] = "/edit/borlange/media";
	fk.params[2][0] = "QUERY_STRING", fk.params[2][1] = "";
	fk.params[3][0] = "CONTENT_TYPE", fk.params[3][1] = ct;
	fk.params[4][0] = "CONTENT_LENGTH", fk.params[4][1] = l;
	fk.body = data;
	fk.len = len;
	struct portal_req *r = pool_alloc(&pool, sizeof(*r));
	r->pool = &pool;
	r->io = &io;
	r->core = &core;
	*detail = "";
	if (req_parse(r, detail) != 0)
		return -1;
	return req_read_form_files(r, f, detail);
}

static int
file_is(const char *path, const char *want, size_t n)
{
	FILE *fp = path ? fopen(path, "rb") : NULL;
	if (fp == NULL)
		return 0;
	char got[256];
	size_t k = fread(got, 1, sizeof(got), fp);
	fclose(fp);
	return k == n && memcmp(got, want, n) == 0;
}

static void
test_read(void)
{
	struct form f;
	const char *d;
	const char *ct = "multipart/form-data; boundary=XyZ";
	T_OK(read_files(ct, body1, sizeof(body1) - 1, &f, &d) == 0, "a multipart form (%s)", d);
	T_STR(form_get(&f, "csrf"), "tok", "a plain field");
	T_STR(form_get(&f, "empty"), "", "an empty field");
	T_STR(form_get(&f, "_file.image.media"), "b\xc3\xa5t.jpg", "a file's pair: its name");
	const struct form_file *ff = form_file(&f, "_file.image.media");
	T_OK(ff && f.nfiles == 1 && ff->bytes == 47 && !ff->over && strcmp(ff->type, "image/jpeg") == 0,
	     "the file: %lld bytes, its type", ff ? ff->bytes : -1);
	T_OK(ff && strncmp(ff->path, dir, strlen(dir)) == 0 && strstr(ff->path, "/tmp/upload-"),
	     "stored in media.dir/tmp (%s)", ff ? ff->path : "");
	T_OK(ff && file_is(ff->path, "\xff\xd8 data with \r\n--XyY and \r\n-- and \r\n--Xy inside", 47),
	     "... with the part's bytes");
	char *path = ff ? strdup(ff->path) : NULL;
	pool_reset(&pool);
	T_OK(path && access(path, F_OK) != 0, "removed with the request's pool");
	free(path);

	const char small[] = "--B\r\nContent-Disposition: form-data; name=f; filename=a.pdf\r\n\r\n"
	                     "12345678901\r\n--B--";
	conf.media_max_bytes = 10;
	T_OK(read_files("multipart/form-data; boundary=B", small, sizeof(small) - 1, &f, &d) == 0 &&
	         (ff = form_file(&f, "f")) && ff->over && ff->path == NULL && ff->bytes == 11,
	     "a file over media.max_bytes: over, nothing kept, the form read on");
	conf.media_max_bytes = 1000;
	const char none[] = "--B\r\nContent-Disposition: form-data; name=f; filename=\"\"\r\n"
	                    "Content-Type: application/octet-stream\r\n\r\n\r\n--B--";
	T_OK(read_files("multipart/form-data; boundary=B", none, sizeof(none) - 1, &f, &d) == 0 &&
	         (ff = form_file(&f, "f")) && ff->path == NULL && ff->bytes == 0 &&
	         strcmp(form_get(&f, "f"), "") == 0,
	     "no file chosen: a file without path and bytes");
	const char bytes[] = "--B\r\nContent-Disposition: form-data; name=f; filename=\"\"\r\n\r\nxx\r\n--B--";
	T_OK(read_files("multipart/form-data; boundary=B", bytes, sizeof(bytes) - 1, &f, &d) == 400,
	     "bytes in a file without a name: 400");
	const char dup[] = "--B\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
	                   "--B\r\nContent-Disposition: form-data; name=a\r\n\r\n2\r\n--B--";
	T_OK(read_files("multipart/form-data; boundary=B", dup, sizeof(dup) - 1, &f, &d) == 422 &&
	         strstr(d, "twice"),
	     "a name twice: 422, as in a urlencoded form (%s)", d);
	const char notpath[] = "--B\r\nContent-Disposition: form-data; name=\"a b\"\r\n\r\n1\r\n--B--";
	T_OK(read_files("multipart/form-data; boundary=B", notpath, sizeof(notpath) - 1, &f, &d) == 422 &&
	         strstr(d, "field path"),
	     "a name that is no field path: 422 (%s)", d);
	const char ctl[] = "--B\r\nContent-Disposition: form-data; name=a\r\n\r\n\x01\r\n--B--";
	T_OK(read_files("multipart/form-data; boundary=B", ctl, sizeof(ctl) - 1, &f, &d) == 400 &&
	         strstr(d, "control"),
	     "a control character in a value: 400 (%s)", d);
	struct buf b;
	pool_reset(&pool);
	char *big = malloc(FORM_MAX_VALUE + 200);
	int n = sprintf(big, "--B\r\nContent-Disposition: form-data; name=a\r\n\r\n");
	memset(big + n, 'v', FORM_MAX_VALUE + 1);
	n += FORM_MAX_VALUE + 1;
	n += sprintf(big + n, "\r\n--B--");
	T_OK(read_files("multipart/form-data; boundary=B", big, (size_t)n, &f, &d) == 413,
	     "a value over %d bytes: 413", FORM_MAX_VALUE);
	free(big);
	(void)b;
	T_OK(read_files("multipart/form-data", "x", 1, &f, &d) == 400 && strstr(d, "boundary"),
	     "no boundary: 400 (%s)", d);
	T_OK(read_files("application/x-www-form-urlencoded", "a=1&b=2", 7, &f, &d) == 0 && f.n == 2 &&
	         f.nfiles == 0,
	     "an urlencoded form as req_read_form");
	T_OK(read_files("text/plain", "a=1", 3, &f, &d) == 415, "another type: 415");
	conf.media_dir = "/nonexistent/dir";
	T_OK(read_files("multipart/form-data; boundary=B", small, sizeof(small) - 1, &f, &d) == 500,
	     "media.dir that cannot be written: 500, not a crash");
	conf.media_dir = dir;
}

int
main(void)
{
	pool_init(&pool);
	if (mkdtemp(dir) == NULL)
		return 2;
	conf.media_dir = dir;
	conf.media_max_bytes = 1000;
	core.conf = &conf;
	test_boundary();
	test_parser();
	test_read();
	pool_reset(&pool);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 2;
	return T_DONE();
}
