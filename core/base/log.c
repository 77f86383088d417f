/*
 * log.c - one line per event on stderr: time, level, process, request id.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core.h"

int log_level = PORTAL_LOG_INFO;
const char *log_name = "portal";

static const char *const log_levels[] = {"error", "warn", "info", "debug"};

long long
log_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, log_levels[i]) == 0)
			return i;
	return -1;
}

void
log_vmsg(int level, const char *reqid, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	char line[2048], ts[32];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	int n = snprintf(line, sizeof(line), "%s.%03ldZ %s %s%s%s ", ts, now.tv_nsec / 1000000L,
	                 log_levels[level < 0 ? 0 : level > 3 ? 3 : level], log_name,
	                 reqid ? " req=" : "", reqid ? reqid : "");
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* one write per line, no control characters from the caller */
	size_t len = strlen(line);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = ' ';
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
	fflush(stderr);
}

void
log_msg(int level, const char *reqid, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, reqid, fmt, ap);
	va_end(ap);
}
