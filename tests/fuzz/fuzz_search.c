/* libFuzzer: `q` (search_fold and search_terms): folding never lengthens
 * the text, and every LIKE pattern is "%...%" where %, _ and ! from the
 * client are escaped with ! (ESCAPE '!'); only the last term may hold an
 * unescaped % (the blanks between its words). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_io.h"

#define FUZZ_TERMS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pool pool;
	char *s = fuzz_str(data, size);
	struct req_io io;
	struct fuzz_io f = {0};
	struct portal_req *r = fuzz_req(&pool, &io, &f);
	char *folded = search_fold(r, s);
	if (folded == NULL || strlen(folded) > strlen(s))
		abort();
	const char *terms[FUZZ_TERMS];
	int n = search_terms(r, s, terms, FUZZ_TERMS);
	if (n < -1 || n > FUZZ_TERMS)
		abort();
	for (int t = 0; t < n; t++) {
		const char *p = terms[t];
		size_t len = p ? strlen(p) : 0;
		if (len < 2 || p[0] != '%' || p[len - 1] != '%')
			abort();
		for (size_t i = 1; i + 1 < len; i++) {
			if (p[i] == '!') {
				if (p[i + 1] != '%' && p[i + 1] != '_' && p[i + 1] != '!')
					abort();
				i++;
				continue;
			}
			if (p[i] == '_' || (p[i] == '%' && t != FUZZ_TERMS - 1))
				abort(); /* a client's wildcard, unescaped */
		}
	}
	for (int t = n < 0 ? 0 : n; t < FUZZ_TERMS; t++)
		if (terms[t] != NULL)
			abort();
	pool_reset(&pool);
	free(s);
	return 0;
}
