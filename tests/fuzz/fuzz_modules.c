/* libFuzzer: the real plugins' create handlers (their JSON validation,
 * link checks and row building) on arbitrary bodies.  The plugins are
 * every NAME.so the build put in build-fuzz/plugins (found there, not
 * listed: a new module is fuzzed without a change here), loaded by the real
 * loader; the database is one that cannot be reached, so a handler that
 * gets past validation fails at its first statement, as it would with the
 * database down.
 *
 * An input "NAME\nBODY" sends BODY to the module NAME's create route (the
 * seeds: tests/fuzz/run.sh writes every plugins/NAME/fuzz/ body for every
 * module); any other input's first byte picks the module. */
#include <dirent.h>
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

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* every DIR/NAME.so, sorted: "NAME: { }; " for plugins, "\"NAME\", " for modules */
static void
find_plugins(const char *dir, char *plist, size_t np, char *mlist, size_t nm)
{
	char *names[64];
	size_t n = 0;
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "fuzz_modules: cannot open %s\n", dir);
		abort();
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < 64) {
		size_t len = strlen(e->d_name);
		if (len > 3 && strcmp(e->d_name + len - 3, ".so") == 0)
			names[n++] = strndup(e->d_name, len - 3);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	plist[0] = mlist[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		snprintf(plist + strlen(plist), np - strlen(plist), "%s: { }; ", names[i]);
		snprintf(mlist + strlen(mlist), nm - strlen(mlist), "%s\"%s\"", i ? ", " : "", names[i]);
		free(names[i]);
	}
	if (n == 0) {
		fprintf(stderr, "fuzz_modules: no plugin (*.so) in %s\n", dir);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	char self[4096], pdir[4200], path[] = "/tmp/portal-fuzz-XXXXXX";
	char plist[4096], mlist[4096];
	snprintf(self, sizeof(self), "%s", (*argv)[0]);
	char *dir = dirname(self); /* build-fuzz/fuzz */
	snprintf(pdir, sizeof(pdir), "%s/../plugins", dir);
	find_plugins(pdir, plist, sizeof(plist), mlist, sizeof(mlist));
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fprintf(f,
	        "core: { listen = \"/nonexistent/portal.sock\"; plugin_dir = \"%s\"; };\n"
	        "database: { socket = \"/nonexistent/mysqld.sock\"; name = \"x\"; user = \"x\"; "
	        "connect_timeout = 1; };\n"
	        "plugins: { %s};\n"
	        "municipalities = ( { slug = \"fz\"; name = \"Fuzz\"; country = \"SE\"; "
	        "languages = [\"sv\"]; modules = [%s]; } );\n",
	        pdir, plist, mlist);
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
	struct plugin_route *rt = NULL;
	size_t skip = 1;
	const uint8_t *nl = memchr(data, '\n', size < 65 ? size : 65);
	for (size_t i = 0; nl && i < ncreates && rt == NULL; i++)
		if (strlen(creates[i]->def.pattern) == (size_t)(nl - data) &&
		    memcmp(creates[i]->def.pattern, data, (size_t)(nl - data)) == 0)
			rt = creates[i], skip = (size_t)(nl - data) + 1;
	if (rt == NULL)
		rt = creates[data[0] % ncreates];
	char uri[128];
	snprintf(uri, sizeof(uri), "/api/v1/fz/%s", rt->def.pattern);
	struct fz f = {(const char *)data + skip, size - skip, 0, uri};
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
