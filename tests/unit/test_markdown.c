/*
 * test_markdown.c - markdown_html keeps what it rendered (core/base/
 * markdown.c): a text read again is not rendered again, and the answer is
 * always the text's own, whatever else was rendered in between.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core.h"
#include "t.h"

static unsigned long
hits(void)
{
	unsigned long h, m;
	markdown_cache_stats(&h, &m);
	return h;
}

int
main(void)
{
	struct pool pool;
	pool_init(&pool);
	const char *a = "Vänorter *i* [Lettland](https://example.lv) <script>x</script>";
	char *first = markdown_html(&pool, a);
	unsigned long h0 = hits();
	char *again = markdown_html(&pool, a);
	T_OK(first && again && strcmp(first, again) == 0, "the same text gives the same HTML");
	T_OK(hits() == h0 + 1, "the second time it is not rendered again (hits %lu -> %lu)", h0, hits());
	T_OK(first && strstr(first, "<em>i</em>") && !strstr(first, "<script"),
	     "what it keeps is the rendered, cleaned HTML: %s", first ? first : "(null)");
	T_OK(again != first, "each caller gets its own copy in its pool");

	/* many texts in between, some in a's slot: each answer is its own */
	int bad = 0;
	char md[64], want[64];
	for (int i = 0; i < 2000 && !bad; i++) {
		snprintf(md, sizeof(md), "**n%d**", i);
		snprintf(want, sizeof(want), "<p><strong>n%d</strong></p>\n", i);
		char *got = markdown_html(&pool, md);
		bad = got == NULL || strcmp(got, want) != 0;
		if (bad)
			printf("#   %s -> %s\n", md, got ? got : "(null)");
	}
	T_OK(!bad, "2,000 texts: each gets its own HTML");
	for (int i = 1999; i >= 1990 && !bad; i--) {
		snprintf(md, sizeof(md), "**n%d**", i);
		snprintf(want, sizeof(want), "<p><strong>n%d</strong></p>\n", i);
		char *got = markdown_html(&pool, md);
		bad = got == NULL || strcmp(got, want) != 0;
	}
	T_OK(!bad, "and again, kept or not");
	char *third = markdown_html(&pool, a);
	T_OK(third && strcmp(third, first) == 0, "the first text still gives its HTML");

	/* a long text is rendered each time (not kept) */
	size_t n = 40000;
	char *big = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		big[i] = i % 80 == 79 ? '\n' : 'a';
	big[n] = '\0';
	unsigned long h1 = hits();
	char *b1 = markdown_html(&pool, big), *b2 = markdown_html(&pool, big);
	T_OK(b1 && b2 && strcmp(b1, b2) == 0 && hits() == h1, "a 40,000-byte text is not kept");
	free(big);
	pool_destroy(&pool);
	return T_DONE();
}
