/*
 * test_watchdog.c - a worker whose request runs past its hard limit ends
 * itself (watchdog.c), naming the request; a disarmed one lives on; the
 * limit follows core.request_timeout and database.read_timeout.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "t.h"

/* Forks a child that arms `arm` seconds, disarms when `disarm`, then
 * spins for `spin_ms` and exits 0; its stderr into out. Returns the
 * child's wait status, or -1. */
static int
child(unsigned arm, int disarm, long spin_ms, char *out, size_t n)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		static struct core c;
		static struct portal_req r;
		r.method = "GET";
		r.path = (char *)"/api/v1/borlange/slow";
		r.request_id = "abc123";
		c.current = &r;
		log_name = "portald[test]";
		watchdog_init(&c);
		watchdog_arm(arm);
		if (disarm)
			watchdog_disarm();
		struct timespec t0, t;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do /* a loop no database can stop */
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < spin_ms);
		_exit(0);
	}
	close(p[1]);
	size_t got = 0;
	ssize_t k;
	while (got + 1 < n && (k = read(p[0], out + got, n - 1 - got)) > 0)
		got += (size_t)k;
	out[got] = '\0';
	close(p[0]);
	int status = -1;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

int
main(void)
{
	char out[1024];
	int st = child(1, 0, 4000, out, sizeof(out));
	T_OK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == PORTAL_EXIT_OVERRUN,
	     "a request spinning past its 1 s limit ends the worker with status %d (got %d)",
	     PORTAL_EXIT_OVERRUN, st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	T_OK(strstr(out, "req=abc123") && strstr(out, "GET /api/v1/borlange/slow") &&
	         strstr(out, "still running after 1 s") && strstr(out, "portald[test]"),
	     "the worker's last line names the request and the limit");
	printf("#   %s", out);

	st = child(1, 1, 1500, out, sizeof(out));
	T_OK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && out[0] == '\0',
	     "a disarmed watchdog leaves a worker alone after the request ends");

	st = child(0, 0, 1200, out, sizeof(out));
	T_OK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	     "no limit (core.request_timeout = 0): nothing fires");

	struct conf cf;
	memset(&cf, 0, sizeof(cf));
	cf.request_timeout = 20;
	cf.db.read_timeout = 10;
	T_OK(watchdog_limit(&cf) == 32, "hard limit = request_timeout + read_timeout + 2 (%u)",
	     watchdog_limit(&cf));
	cf.request_timeout = 0;
	T_OK(watchdog_limit(&cf) == 0, "request_timeout = 0: no hard limit");
	return T_DONE();
}
