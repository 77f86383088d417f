/* libFuzzer: the upload path's own parsing (core/items/media.c): the
 * Content-Type's type/subtype (media_declared_type), the polyglot scan
 * (media_scan) and the file-name check (media_name_problem).  The bytes
 * themselves are read by libmagic and libvips, not by us.  Checks
 * properties: a declared type is lower case, printable, has a '/', no ';'
 * or blank, and fits the buffer; a marker found is in the bytes (case
 * folded) and is one of the scan's; a scan split in two with the overlap
 * media_upload keeps finds what the whole finds; an accepted name is valid
 * UTF-8 without controls or slashes. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
contains_folded(const unsigned char *p, size_t n, const char *m)
{
	size_t k = strlen(m);
	for (size_t i = 0; i + k <= n; i++) {
		size_t j = 0;
		while (j < k && lower(p[i + j]) == m[j])
			j++;
		if (j == k)
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	char out[64];
	size_t n = media_declared_type(s, out, sizeof(out));
	if (n) {
		if (n >= sizeof(out) || strlen(out) != n || strchr(out, '/') == NULL)
			abort();
		for (size_t i = 0; i < n; i++)
			if (out[i] < 0x21 || out[i] > 0x7e || out[i] == ';' || (out[i] >= 'A' && out[i] <= 'Z'))
				abort();
		if (media_kind_of(out) && strcmp(media_kind_of(out)->mime, out) != 0)
			abort();
	} else if (out[0] != '\0') {
		abort();
	}

	for (int pdf = 0; pdf < 2; pdf++) {
		const char *m = media_scan(data, size, pdf);
		if (m && !contains_folded(data, size, m))
			abort();
		/* split at the middle, the second part with the 16 bytes before it */
		size_t half = size / 2, keep = half < 16 ? half : 16;
		const char *a = media_scan(data, half, pdf);
		const char *b = media_scan(data + half - keep, size - half + keep, pdf);
		if ((m != NULL) != (a != NULL || b != NULL))
			abort();
	}

	if (media_name_problem(s) == NULL) {
		size_t len = strlen(s);
		if (len == 0 || len > 255 || !valid_utf8(s, len) || strchr(s, '/') || strchr(s, '"'))
			abort();
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] < 0x20)
				abort();
	}
	free(s);
	return 0;
}
