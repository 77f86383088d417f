/* libFuzzer: iCalendar line folding (pages_ics_fold): CRLF line ends, no
 * line over 75 octets, nothing lost (unfolding gives the input back), and
 * for valid UTF-8 no character split by a fold. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_io.h"

/* s without "\r\n " (the folds) */
static char *
unfold(const char *s, size_t n)
{
	char *o = malloc(n + 1), *q = o;
	if (o == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (i + 2 < n && s[i] == '\r' && s[i + 1] == '\n' && s[i + 2] == ' ') {
			i += 2;
			continue;
		}
		*q++ = s[i];
	}
	*q = '\0';
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pool pool;
	char *s = fuzz_str(data, size);
	size_t len = 0;
	char *out = pages_ics_fold(&pool, s, &len);
	if (out == NULL || strlen(out) != len)
		abort();
	size_t col = 0;
	for (size_t i = 0; i < len; i++) {
		if (out[i] == '\r') {
			if (i + 1 >= len || out[i + 1] != '\n')
				abort(); /* a bare CR */
			i++;
			col = 0;
			continue;
		}
		if (out[i] == '\n')
			abort(); /* a bare LF */
		if (++col > 75)
			abort();
	}
	/* the input as the folder ends its lines: without CR, LF as CRLF */
	size_t n = strlen(s);
	char *want = malloc(2 * n + 1), *w = want;
	if (want == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r')
			continue;
		if (s[i] == '\n')
			*w++ = '\r';
		*w++ = s[i];
	}
	*w = '\0';
	char *a = unfold(out, len), *b = unfold(want, strlen(want));
	if (strcmp(a, b) != 0)
		abort();
	if (valid_utf8(s, n))
		for (size_t i = 0; i + 3 < len; i++)
			if (out[i] == '\r' && out[i + 1] == '\n' && out[i + 2] == ' ' &&
			    ((unsigned char)out[i + 3] & 0xc0) == 0x80)
				abort(); /* a fold inside a character */
	free(a);
	free(b);
	free(want);
	pool_reset(&pool);
	free(s);
	return 0;
}
