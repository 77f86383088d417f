/* libFuzzer: the Idempotency-Key header (idem_key): a key taken is 1..200
 * visible ASCII characters, a quoted one is taken without its quotes. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pool pool;
	char *s = fuzz_str(data, size);
	struct req_io io;
	struct fuzz_io f = {"HTTP_IDEMPOTENCY_KEY", s, NULL, NULL};
	struct portal_req *r = fuzz_req(&pool, &io, &f);
	int bad = 0;
	const char *k = idem_key(r, &bad);
	if (k == NULL)
		abort(); /* the header is there */
	if (!bad) {
		size_t n = strlen(k);
		if (n == 0 || n > 200)
			abort();
		for (size_t i = 0; i < n; i++)
			if (k[i] < 0x21 || k[i] > 0x7e)
				abort();
		size_t m = strlen(s);
		if (!(strcmp(k, s) == 0 || (m >= 2 && s[0] == '"' && s[m - 1] == '"' && n == m - 2 &&
		                             strncmp(k, s + 1, n) == 0)))
			abort();
	}
	pool_reset(&pool);
	free(s);
	return 0;
}
