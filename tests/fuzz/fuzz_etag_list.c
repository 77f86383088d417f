/* libFuzzer: If-None-Match / If-Match lists (out_etag_listed) as "LIST\nTAG":
 * a tag is found in a list of itself, in a list with others around it,
 * and weak comparison finds whatever strong comparison finds. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	char *nl = strchr(s, '\n');
	const char *tag = nl ? nl + 1 : "\"1-1\"";
	if (nl)
		*nl = '\0';
	int strong = out_etag_listed(s, tag, 0), weak = out_etag_listed(s, tag, 1);
	if (tag[0] == '"' && strong && !weak)
		abort(); /* for an ETag (quoted; W/ is never part of one) */
	/* an ETag as portald makes them: quoted, no comma, no blank */
	int plain = tag[0] == '"' && strlen(tag) >= 2 && tag[strlen(tag) - 1] == '"' &&
	            strcspn(tag, ", ") == strlen(tag);
	if (plain) {
		size_t n = strlen(tag);
		char *list = malloc(2 * n + 32);
		if (list == NULL)
			abort();
		if (!out_etag_listed(tag, tag, 0))
			abort();
		snprintf(list, 2 * n + 32, "\"x\", %s , W/%s", tag, tag);
		if (!out_etag_listed(list, tag, 0) || !out_etag_listed(list, tag, 1))
			abort();
		snprintf(list, 2 * n + 32, "W/%s", tag);
		if (out_etag_listed(list, tag, 0) || !out_etag_listed(list, tag, 1))
			abort();
		free(list);
	}
	out_etag_listed(s, "", 0);
	out_etag_listed("", s, 1);
	free(s);
	return 0;
}
