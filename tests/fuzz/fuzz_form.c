/* libFuzzer: urlencoded form bodies (form_parse).  Checks properties, not
 * just crashes: a parsed form has at most FORM_MAX_FIELDS pairs, each name
 * a field path found again by form_get (names unique), each value valid
 * UTF-8 of at most FORM_MAX_VALUE bytes; a refusal has a status the
 * editor answers and a detail. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pool pool;
	static int init;
	if (!init) {
		pool_init(&pool);
		init = 1;
	}
	struct form f;
	const char *detail = NULL;
	int st = form_parse(&pool, (const char *)data, size, &f, &detail);
	if (st == 0) {
		if (f.n > FORM_MAX_FIELDS)
			abort();
		for (size_t i = 0; i < f.n; i++) {
			const char *n = f.pairs[i].name, *v = f.pairs[i].value;
			size_t nl = strlen(n), vl = strlen(v);
			if (nl == 0 || nl > FORM_MAX_NAME || vl > FORM_MAX_VALUE || !valid_utf8(n, nl) ||
			    !valid_utf8(v, vl))
				abort();
			if (form_get(&f, n) != v) /* found, and no other pair has the name */
				abort();
		}
	} else if ((st != 400 && st != 413 && st != 422) || detail == NULL || *detail == '\0' ||
	           !valid_utf8(detail, strlen(detail))) {
		abort();
	}
	pool_reset(&pool);
	return 0;
}
