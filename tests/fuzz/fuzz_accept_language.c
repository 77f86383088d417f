/* libFuzzer: Accept-Language (and ?lang=) as page_lang resolves them for
 * a municipality with two languages: the answer is always a short
 * lowercase tag the portal has words for, the same each time, never NULL. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_io.h"
#include "web/page.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pool pool;
	static int ready;
	static const char *const langs[] = {"sv", "da"};
	static struct conf_municipality muni = {.slug = "lerum", .name = "Lerum", .country = "SE"};
	if (!ready) {
		if (pages_init() != PORTAL_OK)
			abort();
		muni.languages = (const char **)langs;
		muni.nlanguages = 2;
		ready = 1;
	}
	char *s = fuzz_str(data, size);
	/* "ACCEPT-LANGUAGE\nQUERY" */
	char *nl = strchr(s, '\n');
	if (nl)
		*nl = '\0';
	struct req_io io;
	struct fuzz_io f = {"HTTP_ACCEPT_LANGUAGE", s, "/lerum/", nl ? nl + 1 : ""};
	struct portal_req *r = fuzz_req(&pool, &io, &f);
	const char *detail = NULL;
	if (req_parse(r, &detail) == 0) {
		r->muni = &muni;
		const char *lang = page_lang(r);
		/* a tag of the catalogue ("sv", "da", "en", ...) or a municipality's */
		if (lang == NULL || strlen(lang) < 2 || strlen(lang) > 3 ||
		    strspn(lang, "abcdefghijklmnopqrstuvwxyz") != strlen(lang))
			abort();
		/* the same question gives the same answer */
		if (strcmp(lang, page_lang(r)) != 0)
			abort();
	}
	pool_reset(&pool);
	free(s);
	return 0;
}
