/* libFuzzer: the Cookie header parser of sign-in (account.c).  Checks
 * properties, not just crashes: a value found is non-empty, shorter than
 * the buffer, and made of RFC 6265 cookie-octets only; it occurs in the
 * header. */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "web/page.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	char out[48];
	for (size_t len = 1; len <= sizeof(out); len += 23) {
		memset(out, 'x', sizeof(out));
		if (account_cookie_get(s, "portal_session", out, len)) {
			size_t n = strlen(out);
			if (n == 0 || n >= len || strstr(s, out) == NULL)
				abort();
			for (size_t i = 0; i < n; i++) {
				unsigned char c = (unsigned char)out[i];
				if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\')
					abort();
			}
		} else if (out[0] != '\0') {
			abort();
		}
	}
	free(s);
	return 0;
}
