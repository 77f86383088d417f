/*
 * t.h - the unit tests' harness: one line per check, "ok N - what" or
 * "not ok N - what", counted by tests/run.sh.  A test program exits 1 when
 * any check failed.
 */
#ifndef T_H
#define T_H

#include <stdio.h>
#include <string.h>

static int t_count, t_failed;

#define T_OK(cond, ...)                                                        \
	do {                                                                   \
		int t_c_ = (cond) ? 1 : 0;                                     \
		t_count++;                                                     \
		if (!t_c_)                                                     \
			t_failed++;                                            \
		printf("%sok %d - ", t_c_ ? "" : "not ", t_count);             \
		printf(__VA_ARGS__);                                           \
		printf("\n");                                                  \
		if (!t_c_)                                                     \
			printf("#   at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	} while (0)

#define T_STR(got, want, ...)                                                  \
	do {                                                                   \
		const char *t_g_ = (got), *t_w_ = (want);                      \
		int t_eq_ = (t_g_ == NULL && t_w_ == NULL) ||                  \
		            (t_g_ && t_w_ && strcmp(t_g_, t_w_) == 0);         \
		T_OK(t_eq_, __VA_ARGS__);                                      \
		if (!t_eq_)                                                    \
			printf("#   got \"%s\", want \"%s\"\n", t_g_ ? t_g_ : "(null)", \
			       t_w_ ? t_w_ : "(null)");                        \
	} while (0)

#define T_DONE() (fflush(stdout), t_failed ? 1 : 0)

#endif
