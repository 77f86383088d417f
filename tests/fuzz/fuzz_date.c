/* libFuzzer: partial dates and the other validators; checks properties,
 * not just crashes: a valid partial date compares equal to itself and to
 * its own prefixes. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	if (valid_partial_date(s)) {
		size_t n = strlen(s);
		if (n != 4 && n != 7 && n != 10)
			abort();
		if (valid_date_cmp(s, s) != 0)
			abort();
		char y[5];
		memcpy(y, s, 4);
		y[4] = '\0';
		if (!valid_partial_date(y) || valid_date_cmp(s, y) != 0)
			abort();
	}
	valid_country(s);
	valid_currency(s);
	valid_lang(s);
	valid_url(s);
	valid_qid(s);
	valid_utf8(s, size);
	free(s);
	return 0;
}
