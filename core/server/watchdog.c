/*
 * watchdog.c - a worker's last line against a request that never ends.
 *
 * A request's budget is core.request_timeout: after it no statement starts
 * (db.c refuses, dispatch answers 503), which ends every request that
 * waits on the database.  What the database cannot stop (a loop in a
 * plugin, a decoder that hangs, a statement the server does not end) is
 * ended here: the worker arms alarm() for request_timeout +
 * database.read_timeout + 2 seconds before each request and disarms it
 * after.  When it fires, the worker writes one line naming the request and
 * exits with PORTAL_EXIT_OVERRUN; the master starts another.  The database
 * rolls back the worker's open transaction when its connection closes, and
 * nginx answers the client with its own 502 (problem+json under /api/).
 *
 * Everything the handler does is async-signal-safe: write(2), _exit(2),
 * an atomic add to the shared metrics, and reads of strings the stuck
 * request owns.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

static struct core *watchdog_core;
static unsigned watchdog_seconds;

/* Appends s to b (size n, used *len) as far as it fits. */
static void
watchdog_put(char *b, size_t n, size_t *len, const char *s)
{
	while (s && *s && *len + 1 < n) {
		unsigned char ch = (unsigned char)*s++;
		b[(*len)++] = ch < 0x20 ? ' ' : (char)ch;
	}
}

static void
watchdog_put_uint(char *b, size_t n, size_t *len, unsigned long v)
{
	char d[24];
	size_t k = sizeof(d) - 1;
	d[k] = '\0';
	do
		d[--k] = (char)('0' + v % 10);
	while ((v /= 10) != 0 && k > 0);
	watchdog_put(b, n, len, d + k);
}

/* "2026-12-06T22:41:07Z" (the log's form, without gmtime_r, which is not
 * async-signal-safe): Howard Hinnant's civil_from_days. */
static void
watchdog_put_time(char *b, size_t n, size_t *len)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long t = ts.tv_sec, days = t / 86400, sec = t % 86400;
	long long z = days + 719468, era = z / 146097, doe = z - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	long long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
	long long y = yoe + era * 400 + (m <= 2);
	const long long parts[6] = {y, m, d, sec / 3600, sec / 60 % 60, sec % 60};
	const char *const sep[6] = {"-", "-", "T", ":", ":", "Z "};
	for (int i = 0; i < 6; i++) {
		if (i > 0 && parts[i] < 10)
			watchdog_put(b, n, len, "0");
		watchdog_put_uint(b, n, len, (unsigned long)parts[i]);
		watchdog_put(b, n, len, sep[i]);
	}
}

static void
watchdog_fire(int sig)
{
	(void)sig;
	int saved = errno;
	char line[640];
	size_t len = 0;
	const struct portal_req *r = watchdog_core ? watchdog_core->current : NULL;
	watchdog_put_time(line, sizeof(line), &len);
	watchdog_put(line, sizeof(line), &len, "error ");
	watchdog_put(line, sizeof(line), &len, log_name);
	if (r && r->request_id) {
		watchdog_put(line, sizeof(line), &len, " req=");
		watchdog_put(line, sizeof(line), &len, r->request_id);
	}
	watchdog_put(line, sizeof(line), &len, " ");
	watchdog_put(line, sizeof(line), &len, r && r->method ? r->method : "-");
	watchdog_put(line, sizeof(line), &len, " ");
	watchdog_put(line, sizeof(line), &len, r && r->path ? r->path : "-");
	watchdog_put(line, sizeof(line), &len, ": still running after ");
	watchdog_put_uint(line, sizeof(line), &len, watchdog_seconds);
	watchdog_put(line, sizeof(line), &len,
	             " s (core.request_timeout + database.read_timeout + 2): ending this worker");
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
	if (watchdog_core)
		metrics_add(watchdog_core->metrics, METRICS_OVER_HARD_LIMIT, 1);
	errno = saved;
	_exit(PORTAL_EXIT_OVERRUN);
}

void
watchdog_init(struct core *c)
{
	watchdog_core = c;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watchdog_fire;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
}

unsigned
watchdog_limit(const struct conf *conf)
{
	if (conf->request_timeout <= 0)
		return 0;
	return (unsigned)conf->request_timeout + (unsigned)conf->db.read_timeout + 2;
}

void
watchdog_arm(unsigned seconds)
{
	watchdog_seconds = seconds;
	if (seconds)
		alarm(seconds);
}

void
watchdog_disarm(void)
{
	if (watchdog_seconds)
		alarm(0);
}
