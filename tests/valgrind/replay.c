/*
 * replay - dispatches a file of requests through the core in-process, for
 * valgrind: the same code path as a worker (dispatch_request, the plugins,
 * the database), without FastCGI and without fork.
 *
 *   replay -c CONF FILE
 *
 * FILE: one request per line, "METHOD PATH [BODY]"; a METHOD ending in '*'
 * is sent with "Authorization: Bearer $PORTAL_ADMIN_TOKEN"; "{id}" in a
 * PATH is the id of the item the last 201 created; # starts a comment.
 * Prints "STATUS METHOD PATH" per request; exits 1 if any answered 5xx.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

struct rq {
	const char *method, *uri, *qs, *body, *auth;
	size_t off, len;
	int status;
	long long id;
};

static const char *
param(void *ctx, const char *name)
{
	struct rq *q = ctx;
	if (strcmp(name, "REQUEST_METHOD") == 0)
		return q->method;
	if (strcmp(name, "REQUEST_URI") == 0)
		return q->uri;
	if (strcmp(name, "QUERY_STRING") == 0)
		return q->qs;
	if (strcmp(name, "CONTENT_TYPE") == 0)
		return q->body ? "application/json" : NULL;
	if (strcmp(name, "HTTP_AUTHORIZATION") == 0)
		return q->auth;
	if (strcmp(name, "REQUEST_ID") == 0)
		return "replay";
	return NULL;
}

static int
rd(void *ctx, char *buf, int n)
{
	struct rq *q = ctx;
	size_t left = q->len - q->off;
	if ((size_t)n > left)
		n = (int)left;
	memcpy(buf, q->body + q->off, (size_t)n);
	q->off += (size_t)n;
	return n;
}

/* keeps the status and, from a body, the first "id" (a created item's) */
static int
wr(void *ctx, const char *buf, size_t n)
{
	struct rq *q = ctx;
	(void)n;
	if (strncmp(buf, "Status: ", 8) == 0)
		q->status = atoi(buf + 8);
	const char *b = strstr(buf, "\r\n\r\n");
	const char *id = b ? strstr(b, "{\"id\":") : NULL;
	q->id = id ? atoll(id + 6) : 0;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cfile = NULL;
	int ch;
	while ((ch = getopt(argc, argv, "c:")) != -1)
		if (ch == 'c')
			cfile = optarg;
	if (cfile == NULL || optind + 1 != argc) {
		fprintf(stderr, "usage: replay -c CONF FILE\n");
		return 2;
	}
	static struct conf conf;
	static struct plugins plugins;
	log_level = PORTAL_LOG_WARN;
	if (auth_init() != PORTAL_OK || conf_load(&conf, cfile) != PORTAL_OK ||
	    plugin_load_all(&plugins, &conf) != PORTAL_OK ||
	    (plugins.openapi = openapi_build(&plugins)) == NULL) {
		for (size_t i = 0; i < conf.nerrors; i++)
			fprintf(stderr, "replay: %s\n", conf.errors[i]);
		return 1;
	}
	db_library_init();
	struct core c;
	memset(&c, 0, sizeof(c));
	c.conf = &conf;
	c.plugins = &plugins;
	c.db = db_new(&conf.db);
	c.cache = cache_new(&conf);
	pool_init(&c.pool);
	const char *tok = getenv("PORTAL_ADMIN_TOKEN");
	char auth[200] = "";
	if (tok)
		snprintf(auth, sizeof(auth), "Bearer %s", tok);

	FILE *f = fopen(argv[optind], "r");
	if (f == NULL) {
		perror(argv[optind]);
		return 1;
	}
	char line[8192];
	long long last_id = 0;
	int bad = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		char *method = strtok(line, " "), *path = strtok(NULL, " "), *body = strtok(NULL, "");
		if (method == NULL || path == NULL)
			continue;
		struct rq q;
		memset(&q, 0, sizeof(q));
		size_t ml = strlen(method);
		if (method[ml - 1] == '*') {
			method[ml - 1] = '\0';
			q.auth = auth;
		}
		char uri[1024], *id = strstr(path, "{id}");
		if (id)
			snprintf(uri, sizeof(uri), "%.*s%lld%s", (int)(id - path), path, last_id, id + 4);
		else
			snprintf(uri, sizeof(uri), "%s", path);
		char *qm = strchr(uri, '?');
		q.method = method;
		q.uri = uri;
		q.qs = qm ? qm + 1 : "";
		q.body = body;
		q.len = body ? strlen(body) : 0;
		struct req_io io = {&q, param, rd, wr};
		dispatch_request(&c, &io);
		int status = q.status;
		if (status == 201 && q.id > 0)
			last_id = q.id;
		printf("%d %s %s\n", status, method, uri);
		if (status >= 500)
			bad = 1;
	}
	fclose(f);
	db_free(c.db);
	cache_free(c.cache);
	pool_destroy(&c.pool);
	plugin_unload_all(&plugins);
	conf_free(&conf);
	db_library_end();
	return bad;
}
