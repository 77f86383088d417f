/* libFuzzer: list cursors (paging_cursor_decode): anything a client sends
 * is refused or decoded to a JSON array, and what is decoded encodes and
 * decodes again to the same array. */
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
	struct fuzz_io f = {0};
	struct portal_req *r = fuzz_req(&pool, &io, &f);
	struct json_object *k = paging_cursor_decode(r, s);
	if (k != NULL) {
		if (!json_object_is_type(k, json_type_array))
			abort();
		const char *again = paging_cursor_encode(r, k);
		struct json_object *k2 = again ? paging_cursor_decode(r, again) : NULL;
		if (k2 == NULL || !json_object_equal(k, k2))
			abort();
	} else if (r->errors == NULL || json_object_array_length(r->errors) != 1) {
		abort(); /* a refusal names the cursor */
	}
	pool_reset(&pool);
	free(s);
	return 0;
}
