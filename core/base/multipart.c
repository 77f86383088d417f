/*
 * multipart.c - multipart/form-data bodies (RFC 7578), the editor's forms
 * with a file input.  A small streaming parser: the body is fed in pieces
 * of any size and handed on part by part (struct multipart_sink), so a file part
 * goes to a temporary file a buffer at a time and is never held whole in
 * memory.  Bounded: a boundary of 1 to 70 characters of RFC 2046's set,
 * MULTIPART_MAX_HEADER bytes of headers per part (each line "Name: value", no
 * folding), MULTIPART_MAX_PARTS parts, MULTIPART_MAX_FILES file parts, names of at most
 * FORM_MAX_NAME bytes and file names of MULTIPART_MAX_FILENAME; every part must
 * have a Content-Disposition "form-data" with a name.  Whatever it refuses
 * is refused with a status and a message naming it.
 *
 * req_read_form_files turns a request's body into the same struct form the
 * urlencoded forms give: the plain fields go through form_add (so their
 * names and values are checked exactly as form_parse checks them), a file
 * part adds the pair (field, file name) and a struct form_file whose bytes
 * are in media.dir/tmp.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

enum { MULTIPART_BODY, MULTIPART_AFTER, MULTIPART_HEADERS, MULTIPART_DONE };

#define MULTIPART_CHUNK 65536

static int
multipart_bchar(unsigned char c)
{
	/* RFC 2046 bchars */
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       strchr("'()+_,-./:=? ", c) != NULL;
}

size_t
multipart_boundary(const char *ct, char *out, size_t outlen)
{
	static const char want[] = "multipart/form-data";
	if (outlen == 0)
		return 0;
	out[0] = '\0';
	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, sizeof(want) - 1) != 0)
		return 0;
	const char *p = ct + sizeof(want) - 1;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ';')
			return 0;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		const char *k = p;
		while (*p && *p != '=' && *p != ';')
			p++;
		if (*p != '=')
			return 0;
		size_t klen = (size_t)(p - k);
		while (klen > 0 && (k[klen - 1] == ' ' || k[klen - 1] == '\t'))
			klen--;
		p++;
		const char *v;
		size_t vlen;
		if (*p == '"') {
			v = ++p;
			while (*p && *p != '"')
				p++;
			if (*p != '"')
				return 0;
			vlen = (size_t)(p - v);
			p++;
		} else {
			v = p;
			while (*p && *p != ';' && *p != ' ' && *p != '\t')
				p++;
			vlen = (size_t)(p - v);
		}
		if (klen == 8 && strncasecmp(k, "boundary", 8) == 0) {
			if (vlen == 0 || vlen > MULTIPART_MAX_BOUNDARY || vlen + 1 > outlen || v[vlen - 1] == ' ')
				return 0;
			for (size_t i = 0; i < vlen; i++)
				if (!multipart_bchar((unsigned char)v[i]))
					return 0;
			if (out[0]) /* twice */
				return 0;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
		}
	}
	return strlen(out);
}

void
multipart_init(struct multipart *m, struct pool *p, const char *boundary, const struct multipart_sink *sink)
{
	memset(m, 0, sizeof(*m));
	m->pool = p;
	m->sink = *sink;
	/* the body is read as if it began with CRLF: the first delimiter is
	 * then found like any other, and a preamble is skipped */
	m->dlen = (size_t)snprintf(m->delim, sizeof(m->delim), "\r\n--%.*s", MULTIPART_MAX_BOUNDARY, boundary);
	m->cap = MULTIPART_CHUNK + MULTIPART_MAX_HEADER + sizeof(m->delim);
	m->buf = pool_alloc(p, m->cap);
	m->buf[0] = '\r';
	m->buf[1] = '\n';
	m->len = 2;
	m->state = MULTIPART_BODY;
}

int
multipart_fail(struct multipart *m, int status, const char *detail)
{
	if (m->detail == NULL)
		m->detail = detail;
	m->state = MULTIPART_DONE;
	return status;
}

/* `s` of n bytes, without leading and trailing blanks. */
static const char *
multipart_trim(const char *s, size_t n, size_t *out)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*out = n;
	return s;
}

/* The value of parameter `key` in a Content-Disposition's parameters
 * (`; name="x"; filename="y"`): 1 found (pool copy in *out), 0 not there,
 * -1 malformed. */
static int
multipart_param(struct multipart *m, const char *s, size_t n, const char *key, char **out, size_t *outlen)
{
	const char *end = s + n, *p = s;
	int found = 0;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		if (*p != ';')
			return -1;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *k = p;
		while (p < end && *p != '=' && *p != ';')
			p++;
		if (p == end || *p != '=')
			return -1;
		size_t klen;
		k = multipart_trim(k, (size_t)(p - k), &klen);
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		const char *v;
		size_t vlen;
		if (p < end && *p == '"') {
			/* browsers send '"' as %22 and line ends as %0A/%0D (WHATWG);
			 * a backslash is taken as itself */
			v = ++p;
			while (p < end && *p != '"')
				p++;
			if (p == end)
				return -1;
			vlen = (size_t)(p - v);
			p++;
		} else {
			v = p;
			while (p < end && *p != ';' && *p != ' ' && *p != '\t')
				p++;
			vlen = (size_t)(p - v);
		}
		if (klen == strlen(key) && strncasecmp(k, key, klen) == 0) {
			if (found)
				return -1; /* twice */
			found = 1;
			*out = pool_strndup(m->pool, v, vlen);
			*outlen = vlen;
		}
	}
	return found;
}

/* The headers of a part, hlen bytes ending before the blank line. */
static int
multipart_headers(struct multipart *m, const char *h, size_t hlen)
{
	char *name = NULL, *filename = NULL, *type = NULL;
	size_t nlen = 0, flen = 0;
	int disposition = 0;
	const char *p = h, *end = h + hlen;
	while (p < end) {
		const char *eol = memchr(p, '\r', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		else if (eol + 1 >= end || eol[1] != '\n')
			return multipart_fail(m, 400, "the form is not valid: a part's header line does not end "
			                       "with CRLF");
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p || *p == ' ' || *p == '\t')
			return multipart_fail(m, 400, "the form is not valid: a part has a header line that is not "
			                       "\"Name: value\"");
		for (const char *q = p; q < eol; q++)
			if ((unsigned char)*q < 0x20 && *q != '\t')
				return multipart_fail(m, 400, "the form is not valid: a part's header has a control "
				                       "character");
		size_t vlen;
		const char *v = multipart_trim(colon + 1, (size_t)(eol - colon - 1), &vlen);
		size_t klen = (size_t)(colon - p);
		if (klen == 19 && strncasecmp(p, "Content-Disposition", 19) == 0) {
			if (disposition++)
				return multipart_fail(m, 400, "the form is not valid: a part has two "
				                       "Content-Disposition headers");
			if (vlen < 9 || strncasecmp(v, "form-data", 9) != 0 ||
			    (vlen > 9 && v[9] != ';' && v[9] != ' ' && v[9] != '\t'))
				return multipart_fail(m, 400, "the form is not valid: a part's Content-Disposition is "
				                       "not form-data");
			int a = multipart_param(m, v + 9, vlen - 9, "name", &name, &nlen);
			int b = a < 0 ? -1 : multipart_param(m, v + 9, vlen - 9, "filename", &filename, &flen);
			if (a < 0 || b < 0)
				return multipart_fail(m, 400, "the form is not valid: a part's Content-Disposition "
				                       "cannot be read");
		} else if (klen == 12 && strncasecmp(p, "Content-Type", 12) == 0) {
			if (type)
				return multipart_fail(m, 400, "the form is not valid: a part has two Content-Type "
				                       "headers");
			type = pool_strndup(m->pool, v, vlen);
		}
		p = eol == end ? end : eol + 2;
	}
	if (name == NULL || nlen == 0)
		return multipart_fail(m, 400, "the form is not valid: a part has no Content-Disposition with "
		                       "a name");
	if (nlen > FORM_MAX_NAME || memchr(name, '\0', nlen))
		return multipart_fail(m, 422, pool_printf(m->pool, "the form has a field name longer than %d "
		                                            "bytes",
		                                   FORM_MAX_NAME));
	if (++m->parts > MULTIPART_MAX_PARTS)
		return multipart_fail(m, 422, pool_printf(m->pool, "the form has more than %d fields",
		                                   MULTIPART_MAX_PARTS));
	if (filename) {
		if (flen > MULTIPART_MAX_FILENAME || memchr(filename, '\0', flen) || !valid_utf8(filename, flen))
			return multipart_fail(m, 422, pool_printf(m->pool, "the name of the file sent as %s must be "
			                                            "UTF-8 of at most %d bytes",
			                                   valid_utf8(name, nlen) ? name : "a field",
			                                   MULTIPART_MAX_FILENAME));
		if (flen > 0 && ++m->files > MULTIPART_MAX_FILES)
			return multipart_fail(m, 422, pool_printf(m->pool, "the form has more than %d files",
			                                   MULTIPART_MAX_FILES));
	}
	m->inpart = 1;
	int st = m->sink.begin(m, name, filename, type);
	return st ? multipart_fail(m, st, m->detail ? m->detail : "the form cannot be read") : 0;
}

static int
multipart_emit(struct multipart *m, const char *p, size_t n)
{
	if (n == 0 || !m->inpart)
		return 0; /* the preamble is dropped */
	int st = m->sink.data(m, p, n);
	return st ? multipart_fail(m, st, m->detail ? m->detail : "the form cannot be read") : 0;
}

/* Consumes what it can of m->buf: 0 (more is needed) or a status. */
static int
multipart_run(struct multipart *m)
{
	for (;;) {
		size_t used = 0;
		int st = 0;
		if (m->state == MULTIPART_DONE) {
			m->len = 0; /* the epilogue is dropped */
			return 0;
		}
		if (m->state == MULTIPART_BODY) {
			char *hit = memmem(m->buf, m->len, m->delim, m->dlen);
			if (hit == NULL) {
				/* keep what may be the start of a delimiter */
				size_t keep = m->dlen - 1 < m->len ? m->dlen - 1 : m->len;
				if ((st = multipart_emit(m, m->buf, m->len - keep)) != 0)
					return st;
				memmove(m->buf, m->buf + m->len - keep, keep);
				m->len = keep;
				return 0;
			}
			size_t at = (size_t)(hit - m->buf);
			if ((st = multipart_emit(m, m->buf, at)) != 0)
				return st;
			if (m->inpart && (st = m->sink.end(m)) != 0)
				return multipart_fail(m, st, m->detail ? m->detail : "the form cannot be read");
			m->inpart = 0;
			used = at + m->dlen;
			m->state = MULTIPART_AFTER;
		} else if (m->state == MULTIPART_AFTER) {
			if (m->len < 2)
				return 0;
			if (m->buf[0] == '-' && m->buf[1] == '-') {
				m->state = MULTIPART_DONE;
				used = 2;
			} else if (m->buf[0] == '\r' && m->buf[1] == '\n') {
				m->state = MULTIPART_HEADERS;
				used = 2;
			} else {
				return multipart_fail(m, 400, "the form is not valid: a boundary is not followed by a "
				                       "line end");
			}
		} else { /* MULTIPART_HEADERS */
			if (m->len >= 2 && m->buf[0] == '\r' && m->buf[1] == '\n')
				return multipart_fail(m, 400, "the form is not valid: a part has no headers");
			char *blank = memmem(m->buf, m->len < MULTIPART_MAX_HEADER + 4 ? m->len : MULTIPART_MAX_HEADER + 4,
			                     "\r\n\r\n", 4);
			if (blank == NULL) {
				if (m->len >= MULTIPART_MAX_HEADER + 4)
					return multipart_fail(m, 413, pool_printf(m->pool, "the form has a part whose "
					                                            "headers are longer than %d bytes",
					                                   MULTIPART_MAX_HEADER));
				return 0;
			}
			size_t hlen = (size_t)(blank - m->buf);
			if ((st = multipart_headers(m, m->buf, hlen)) != 0)
				return st;
			used = hlen + 4;
			/* the part's data begins right after the blank line, and the
			 * delimiter that ends it brings its own CRLF: the search looks
			 * for "\r\n--B", so an empty part is "\r\n\r\n" + "\r\n--B" */
			m->state = MULTIPART_BODY;
		}
		memmove(m->buf, m->buf + used, m->len - used);
		m->len -= used;
	}
}

int
multipart_feed(struct multipart *m, const char *data, size_t n)
{
	if (m->state == MULTIPART_DONE)
		return m->detail ? 400 : 0;
	while (n > 0) {
		size_t room = m->cap - m->len, k = n < room ? n : room;
		memcpy(m->buf + m->len, data, k);
		m->len += k;
		data += k;
		n -= k;
		int st = multipart_run(m);
		if (st != 0)
			return st;
		if (m->len == m->cap) /* cannot happen: MULTIPART_BODY keeps dlen-1, headers are bounded */
			return multipart_fail(m, 400, "the form cannot be read");
	}
	return 0;
}

int
multipart_finish(struct multipart *m)
{
	if (m->state == MULTIPART_DONE && m->detail == NULL)
		return 0;
	return multipart_fail(m, 400, "the form is not valid: it ends before its closing boundary");
}

/* ---- the request's form ---- */

static void
multipart_unlink(void *path)
{
	unlink(path);
}

int
req_tmpfile(struct portal_req *r, char **path)
{
	const char *dir = r->core->conf->media_dir;
	if (dir == NULL)
		return -1;
	char *tmpdir = pool_printf(r->pool, "%s/tmp", dir);
	if ((mkdir(dir, 0755) != 0 && errno != EEXIST) || (mkdir(tmpdir, 0755) != 0 && errno != EEXIST)) {
		log_msg(PORTAL_LOG_ERR, r->request_id, "cannot create %s: %s", tmpdir, strerror(errno));
		return -1;
	}
	char *tmp = pool_printf(r->pool, "%s/upload-XXXXXX", tmpdir);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		log_msg(PORTAL_LOG_ERR, r->request_id, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	pool_cleanup(r->pool, multipart_unlink, tmp);
	*path = tmp;
	return fd;
}

/* The sink of req_read_form_files. */
struct multipart_form {
	struct portal_req *r;
	struct form *f;
	size_t cap_files;
	char *name, *filename;
	struct buf value;   /* a plain field's value */
	size_t text;        /* bytes of all plain values together */
	struct form_file *file;
	int fd;
	long long max_bytes;
};

static int
multipart_form_begin(struct multipart *m, const char *name, const char *filename, const char *type)
{
	struct multipart_form *x = m->sink.ctx;
	x->name = pool_strdup(m->pool, name);
	x->filename = filename ? pool_strdup(m->pool, filename) : NULL;
	buf_init(&x->value, m->pool);
	x->file = NULL;
	x->fd = -1;
	if (filename == NULL)
		return 0;
	struct form *f = x->f;
	if (f->nfiles == x->cap_files) {
		x->cap_files = x->cap_files ? x->cap_files * 2 : 4;
		struct form_file *nf = pool_alloc(m->pool, x->cap_files * sizeof(*nf));
		if (f->nfiles)
			memcpy(nf, f->files, f->nfiles * sizeof(*nf));
		f->files = nf;
	}
	x->file = &f->files[f->nfiles++];
	x->file->field = x->name;
	x->file->filename = x->filename;
	x->file->type = type ? type : "";
	if (*filename == '\0')
		return 0; /* no file chosen: the browser sends an empty part */
	char *path;
	x->fd = req_tmpfile(x->r, &path);
	if (x->fd < 0) {
		m->detail = "the server could not store the file";
		return 500;
	}
	x->file->path = path;
	return 0;
}

static int
multipart_form_data(struct multipart *m, const char *p, size_t n)
{
	struct multipart_form *x = m->sink.ctx;
	if (x->file == NULL) {
		if (x->value.len + n > FORM_MAX_VALUE) {
			m->detail = pool_printf(m->pool, "the field %s is longer than %d bytes", x->name,
			                        FORM_MAX_VALUE);
			return 413;
		}
		x->text += n;
		if (x->text > FORM_MAX_BODY) {
			m->detail = pool_printf(m->pool, "the form's fields are larger than the server accepts "
			                                 "(%d bytes)",
			                        FORM_MAX_BODY);
			return 413;
		}
		buf_add(&x->value, p, n);
		return 0;
	}
	x->file->bytes += (long long)n;
	if (x->fd < 0) {
		if (x->file->path == NULL && *x->filename == '\0' && x->file->bytes > 0) {
			/* bytes without a file name: there is no file to put them in */
			m->detail = "the form is not valid: a file without a name has content";
			return 400;
		}
		return 0; /* over: read on, keep nothing */
	}
	if (x->file->bytes > x->max_bytes) {
		x->file->over = 1;
		close(x->fd);
		x->fd = -1;
		unlink(x->file->path);
		x->file->path = NULL;
		return 0;
	}
	while (n > 0) {
		ssize_t w = write(x->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_msg(PORTAL_LOG_ERR, x->r->request_id, "writing %s: %s", x->file->path,
			        strerror(errno));
			m->detail = "the server could not store the file";
			return 500;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
multipart_form_end(struct multipart *m)
{
	struct multipart_form *x = m->sink.ctx;
	if (x->fd >= 0) {
		int rc = close(x->fd);
		x->fd = -1;
		if (rc != 0) {
			m->detail = "the server could not store the file";
			return 500;
		}
	}
	char *value;
	size_t vlen;
	if (x->file) { /* the pair of a file: its name */
		value = x->filename;
		vlen = strlen(value);
	} else {
		buf_add(&x->value, "", 1);
		value = x->value.data;
		vlen = x->value.len - 1;
	}
	const char *detail = NULL;
	int st = form_add(m->pool, x->f, x->name, strlen(x->name), value, vlen, &detail);
	if (st)
		m->detail = detail;
	return st;
}

static void
multipart_form_close(void *arg)
{
	struct multipart_form *x = arg;
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
}

int
req_read_form_files(struct portal_req *r, struct form *f, const char **detail)
{
	char boundary[MULTIPART_MAX_BOUNDARY + 1];
	const char *ct = req_header(r, "Content-Type");
	if (ct && strncasecmp(ct, "multipart/", 10) != 0)
		return req_read_form(r, f, detail);
	memset(f, 0, sizeof(*f));
	if (multipart_boundary(ct, boundary, sizeof(boundary)) == 0) {
		*detail = ct ? "the form is not valid: multipart/form-data needs a boundary of 1 to 70 "
		               "characters"
		             : "the body must be a form, sent with Content-Type: "
		               "application/x-www-form-urlencoded or multipart/form-data";
		return ct ? 400 : 415;
	}
	struct multipart_form *x = pool_alloc(r->pool, sizeof(*x));
	x->r = r;
	x->f = f;
	x->fd = -1;
	x->max_bytes = r->core->conf->media_max_bytes;
	pool_cleanup(r->pool, multipart_form_close, x);
	struct multipart_sink sink = {.ctx = x,
	                              .begin = multipart_form_begin,
	                              .data = multipart_form_data,
	                              .end = multipart_form_end};
	struct multipart m;
	multipart_init(&m, r->pool, boundary, &sink);
	char *chunk = pool_alloc(r->pool, MULTIPART_CHUNK);
	int n, st = 0;
	while ((n = r->io->read(r->io->ctx, chunk, MULTIPART_CHUNK)) > 0)
		if (st == 0)
			st = multipart_feed(&m, chunk, (size_t)n); /* after a refusal: read on, keep nothing */
	if (st == 0)
		st = multipart_finish(&m);
	if (st != 0) {
		*detail = m.detail ? m.detail : "the form cannot be read";
		f->n = 0;
		return st;
	}
	return form_finish(r->pool, f, detail);
}
