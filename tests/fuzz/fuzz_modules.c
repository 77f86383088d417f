/* libFuzzer: the real plugins' create handlers (their JSON validation,
 * link checks and row building) on arbitrary bodies.  The plugins are
 * loaded by the real loader from build-fuzz/plugins; the database is one
 * that cannot be reached, so a handler that gets past validation fails at
 * its first statement, as it would with the database down.  The first
 * byte picks the plugin. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

static struct conf conf;
static struct plugins plugins;
static struct core core;
static struct plugin_route *creates[16];
static size_t ncreates;

struct fz {
	const char *data;
	size_t len, off;
	const char *uri;
};

static const char *
param(void *ctx, const char *name)
{
	struct fz *f = ctx;
	if (strcmp(name, "CONTENT_TYPE") == 0)
		return "application/json";
	if (strcmp(name, "REQUEST_METHOD") == 0)
		return "POST";
	if (strcmp(name, "REQUEST_URI") == 0)
		return f->uri;
	return NULL;
}

static int
rd(void *ctx, char *buf, int n)
{
	struct fz *f = ctx;
	size_t left = f->len - f->off;
	if ((size_t)n > left)
		n = (int)left;
	memcpy(buf, f->data + f->off, (size_t)n);
	f->off += (size_t)n;
	return n;
}

static int
wr(void *ctx, const char *buf, size_t n)
{
	(void)ctx, (void)buf, (void)n;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	char self[4096], path[] = "/tmp/portal-fuzz-XXXXXX";
	snprintf(self, sizeof(self), "%s", (*argv)[0]);
	char *dir = dirname(self); /* build-fuzz/fuzz */
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fprintf(f,
	        "core: { listen = \"/nonexistent/portal.sock\"; plugin_dir = \"%s/../plugins\"; };\n"
	        "database: { socket = \"/nonexistent/mysqld.sock\"; name = \"x\"; user = \"x\"; "
	        "connect_timeout = 1; };\n"
	        "plugins: { partnerships: { }; projects: { }; visits: { }; news: { }; };\n"
	        "municipalities = ( { slug = \"fz\"; name = \"Fuzz\"; country = \"SE\"; "
	        "languages = [\"sv\"]; modules = [\"partnerships\", \"projects\", \"visits\", \"news\"]; } );\n",
	        dir);
	fclose(f);
	log_level = -1;
	if (conf_load(&conf, path) != PORTAL_OK || plugin_load_all(&plugins, &conf) != PORTAL_OK) {
		for (size_t i = 0; i < conf.nerrors; i++)
			fprintf(stderr, "%s\n", conf.errors[i]);
		abort();
	}
	unlink(path);
	for (size_t i = 0; i < router_count(plugins.router); i++) {
		struct plugin_route *rt = router_at(plugins.router, i);
		if (strcmp(rt->def.method, "POST") == 0 && rt->nseg == 1 && ncreates < 16)
			creates[ncreates++] = rt;
	}
	if (ncreates == 0)
		abort();
	core.conf = &conf;
	core.plugins = &plugins;
	core.db = db_new(&conf.db);
	pool_init(&core.pool);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct plugin_route *rt = creates[data[0] % ncreates];
	char uri[128];
	snprintf(uri, sizeof(uri), "/api/v1/fz/%s", rt->def.pattern);
	struct fz f = {(const char *)data + 1, size - 1, 0, uri};
	struct req_io io = {&f, param, rd, wr};
	struct portal_req *r = pool_alloc(&core.pool, sizeof(*r));
	r->pool = &core.pool;
	r->core = &core;
	r->io = &io;
	const char *detail = NULL;
	if (req_parse(r, &detail) == 0 &&
	    router_match(plugins.router, "POST", r->seg + 3, r->nseg - 3, &r->match) == 200) {
		r->muni = &conf.munis[0];
		r->plugin = r->match.route->plugin;
		r->role = PORTAL_ROLE_ADMIN;
		r->has_token = 1;
		if (req_read_json(r, conf.max_body, conf.json_max_depth, &detail) == 0)
			r->match.route->def.handler(r);
	}
	db_done_all(core.db);
	pool_reset(&core.pool);
	return 0;
}
