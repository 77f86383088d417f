/* Configuration: every problem named with file:line, plugin sections and
 * overrides checked against the plugin's declared settings. */
#include <stdlib.h>
#include <unistd.h>

#include "core.h"
#include "t.h"

static char path[256];

static void
write_conf(const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static const char *
errors_of(struct conf *c)
{
	static char all[8192];
	all[0] = '\0';
	for (size_t i = 0; i < c->nerrors; i++) {
		strncat(all, c->errors[i], sizeof(all) - strlen(all) - 2);
		strncat(all, "\n", sizeof(all) - strlen(all) - 1);
	}
	return all;
}

static char good_core[1024];

int
main(void)
{
	const char *b = getenv("B");
	char cwd[512];
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return 1;
	snprintf(path, sizeof(path), "/tmp/portal-test-conf-%d.conf", (int)getpid());
	char plugdir[800];
	if (b && b[0] == '/')
		snprintf(plugdir, sizeof(plugdir), "%s/tests/plugins", b);
	else
		snprintf(plugdir, sizeof(plugdir), "%s/%s/tests/plugins", cwd, b ? b : "build");
	snprintf(good_core, sizeof(good_core),
	         "core: { listen = \"/tmp/x.sock\"; plugin_dir = \"%s\"; };\n"
	         "database: { socket = \"/tmp/m.sock\"; name = \"portal\"; user = \"portal\"; };\n",
	         plugdir);
	log_level = -1;
	struct conf c;
	struct plugins ps;
	char buf[4096];

	/* 1. a good file */
	snprintf(buf, sizeof(buf),
	         "%splugins: { good: { max_items = 7; }; };\n"
	         "municipalities = ( { slug = \"borlange\"; name = \"Borl\xc3\xa4nge kommun\"; country = \"SE\";\n"
	         "  languages = [\"sv\", \"en\"]; modules = [\"good\"];\n"
	         "  overrides = { good = { max_items = 3; }; }; } );\n",
	         good_core);
	write_conf(buf);
	memset(&ps, 0, sizeof(ps));
	T_OK(conf_load(&c, path) == PORTAL_OK && plugin_load_all(&ps, &c) == PORTAL_OK &&
	         c.nerrors == 0,
	     "a good configuration loads: %s", errors_of(&c));
	T_OK(c.nmunis == 1 && strcmp(c.munis[0].name, "Borl\xc3\xa4nge kommun") == 0 &&
	         c.munis[0].nlanguages == 2 && conf_muni_has_module(&c.munis[0], "good"),
	     "municipality read with its languages and modules");
	T_OK(c.socket_mode == 0660 && c.max_body == 1048576 && c.db.port == 3306,
	     "defaults for unset settings");
	plugin_unload_all(&ps);
	conf_free(&c);

	/* 1b. a module a municipality enables loads without a section of its
	 * own in `plugins` (none at all here): its settings' defaults */
	snprintf(buf, sizeof(buf),
	         "%smunicipalities = ( { slug = \"borlange\"; name = \"B\"; country = \"SE\";\n"
	         "  languages = [\"sv\"]; modules = [\"good\"]; } );\n",
	         good_core);
	write_conf(buf);
	memset(&ps, 0, sizeof(ps));
	T_OK(conf_load(&c, path) == PORTAL_OK && plugin_load_all(&ps, &c) == PORTAL_OK &&
	         c.nerrors == 0,
	     "a module without a section loads: %s", errors_of(&c));
	portal_plugin *gp = plugin_find(&ps, "good");
	T_OK(gp != NULL && gp->section == NULL && ps.count == 1, "good is loaded once, without a section");
	plugin_unload_all(&ps);
	conf_free(&c);

	/* 2. a syntax error names file:line */
	write_conf("core: {\n  listen = \"/x\";\n  workers = ;\n};\n");
	T_OK(conf_load(&c, path) == PORTAL_ERROR && c.nerrors == 1, "syntax error refused");
	snprintf(buf, sizeof(buf), "%s:3: ", path);
	T_OK(strstr(errors_of(&c), buf) != NULL, "syntax error at %s: %s", buf, errors_of(&c));
	conf_free(&c);

	/* 3. every problem, each with its line */
	snprintf(buf, sizeof(buf),
	         "%s"                                            /* lines 1-2 */
	         "plugins: {\n"                                  /* 3 */
	         "  good: { max_items = 50;\n"                   /* 4 */
	         "          typo = 1; };\n"                      /* 5 */
	         "};\n"                                          /* 6 */
	         "municipalities = (\n"                          /* 7 */
	         "  { slug = \"Bad Slug\"; name = \"X\"; country = \"XX\";\n" /* 8 */
	         "    languages = [\"sv\"]; modules = [\"good\", \"visits\"];\n" /* 9 */
	         "    overrides = { good = { max_items = \"many\"; }; nope = { a = 1; }; }; }\n" /* 10 */
	         ");\n"
	         "surprise = 1;\n", /* 12 */
	         good_core);
	write_conf(buf);
	memset(&ps, 0, sizeof(ps));
	conf_load(&c, path);
	plugin_load_all(&ps, &c);
	const char *e = errors_of(&c);
	char want[512];
	snprintf(want, sizeof(want), "%s:4: good.max_items must be between 1 and 10, not 50", path);
	T_OK(strstr(e, want) != NULL, "plugin setting out of range at line 4");
	snprintf(want, sizeof(want), "%s:5: plugin good has no setting \"typo\"", path);
	T_OK(strstr(e, want) != NULL, "unknown plugin setting at line 5");
	snprintf(want, sizeof(want), "%s:8: slug \"Bad Slug\"", path);
	T_OK(strstr(e, want) != NULL, "bad slug at line 8");
	snprintf(want, sizeof(want), "%s:8: country \"XX\"", path);
	T_OK(strstr(e, want) != NULL, "bad country at line 8");
	T_OK(strstr(e, "enables \"visits\", which is not a loaded plugin (no ") != NULL,
	     "module that is not there");
	snprintf(want, sizeof(want), "%s:10: good.max_items must be an integer", path);
	T_OK(strstr(e, want) != NULL, "override of the wrong type at line 10");
	T_OK(strstr(e, "override for \"nope\", which is not a loaded plugin") != NULL,
	     "override for an unknown plugin");
	snprintf(want, sizeof(want), "%s:12: unknown setting \"surprise\"", path);
	T_OK(strstr(e, want) != NULL, "unknown top-level setting at line 12");
	if (t_failed)
		printf("# errors:\n%s", e);
	plugin_unload_all(&ps);
	conf_free(&c);

	/* 4. a world-writable socket and a missing plugin */
	snprintf(buf, sizeof(buf),
	         "core: { listen = \"/tmp/x.sock\"; socket_mode = \"0666\"; plugin_dir = \"/nonexistent\"; };\n"
	         "database: { socket = \"/tmp/m.sock\"; name = \"p\"; user = \"p\"; };\n"
	         "plugins: { ghost: { }; };\nmunicipalities = ();\n");
	write_conf(buf);
	memset(&ps, 0, sizeof(ps));
	conf_load(&c, path);
	plugin_load_all(&ps, &c);
	e = errors_of(&c);
	T_OK(strstr(e, "socket_mode 0666 lets every local user write") != NULL, "world-writable socket refused");
	T_OK(strstr(e, "plugin ghost: cannot load /nonexistent/ghost.so") != NULL, "missing plugin named: %s", e);
	plugin_unload_all(&ps);
	conf_free(&c);

	/* 5. the municipality's place and Wikidata id: optional, checked */
	snprintf(buf, sizeof(buf),
	         "%smunicipalities = (\n"
	         "  { slug = \"a\"; name = \"A\"; country = \"SE\"; languages = [\"sv\"]; modules = [];\n"
	         "    lat = 60.48; lon = 15; wikidata = \"Q42\"; },\n"                /* 5 */
	         "  { slug = \"b\"; name = \"B\"; country = \"SE\"; languages = [\"sv\"]; modules = []; },\n"
	         "  { slug = \"c\"; name = \"C\"; country = \"SE\"; languages = [\"sv\"]; modules = [];\n"
	         "    lat = 95.0; lon = 15.0; },\n"                                 /* 8 */
	         "  { slug = \"d\"; name = \"D\"; country = \"SE\"; languages = [\"sv\"]; modules = [];\n"
	         "    lat = 60.0; wikidata = \"Borl\"; } );\n",                      /* 10 */
	         good_core);
	write_conf(buf);
	conf_load(&c, path);
	e = errors_of(&c);
	T_OK(c.nmunis >= 2 && c.munis[0].has_place && c.munis[0].lat == 60.48 && c.munis[0].lon == 15.0 &&
	         strcmp(c.munis[0].wikidata, "Q42") == 0,
	     "lat, lon (an integer too) and wikidata read: %s", e);
	T_OK(c.nmunis >= 2 && !c.munis[1].has_place && c.munis[1].wikidata == NULL, "all three are optional");
	snprintf(want, sizeof(want), "%s:8: lat and lon are decimal degrees", path);
	T_OK(strstr(e, want) != NULL, "a latitude beyond 90 refused at line 8: %s", e);
	snprintf(want, sizeof(want), "%s:10: lat and lon are decimal degrees", path);
	T_OK(strstr(e, want) != NULL, "lat without lon refused at line 10");
	T_OK(strstr(e, "wikidata is an item id such as \"Q123\", not \"Borl\"") != NULL, "a bad Wikidata id refused");
	conf_free(&c);

	/* 6. read replicas: name, user, password and timeouts from the primary
	 * unless given; a typo, a replica without an address and too many are
	 * refused with their lines */
	snprintf(buf, sizeof(buf),
	         "core: { listen = \"/tmp/x.sock\"; plugin_dir = \"/nonexistent\"; };\n" /* 1 */
	         "database: { socket = \"/tmp/m.sock\"; name = \"p\"; user = \"u\"; password = \"pw\";\n" /* 2 */
	         "  read_timeout = 7; replica_retry = 2;\n"                /* 3 */
	         "  replicas = ( { host = \"10.0.0.7\"; port = 3307; },\n" /* 4 */
	         "               { socket = \"/tmp/r.sock\"; user = \"ro\"; password = \"x\"; } ); };\n" /* 5 */
	         "municipalities = ();\n");
	write_conf(buf);
	T_OK(conf_load(&c, path) == PORTAL_OK, "replicas load: %s", errors_of(&c));
	T_OK(c.nreplicas == 2 && c.replica_retry == 2 && strcmp(c.replicas[0].host, "10.0.0.7") == 0 &&
	         c.replicas[0].port == 3307 && strcmp(c.replicas[0].name, "p") == 0 &&
	         strcmp(c.replicas[0].user, "u") == 0 && strcmp(c.replicas[0].password, "pw") == 0 &&
	         c.replicas[0].read_timeout == 7 && c.replicas[0].connect_timeout == 3,
	     "a replica inherits the primary's name, user, password and timeouts");
	T_OK(strcmp(c.replicas[1].socket, "/tmp/r.sock") == 0 && strcmp(c.replicas[1].user, "ro") == 0 &&
	         strcmp(c.replicas[1].password, "x") == 0,
	     "a replica's own user and password win");
	conf_free(&c);

	snprintf(buf, sizeof(buf),
	         "core: { listen = \"/tmp/x.sock\"; plugin_dir = \"/nonexistent\"; };\n" /* 1 */
	         "database: { socket = \"/tmp/m.sock\"; name = \"p\"; user = \"u\";\n" /* 2 */
	         "  replicas = ( { prot = 3306; host = \"h\"; },\n"       /* 3 */
	         "               { port = 3306; } ); };\n"               /* 4 */
	         "municipalities = ();\n");
	write_conf(buf);
	T_OK(conf_load(&c, path) == PORTAL_ERROR, "bad replicas refused");
	e = errors_of(&c);
	snprintf(want, sizeof(want), "%s:3: unknown setting \"prot\" in database.replicas", path);
	T_OK(strstr(e, want) != NULL, "a typo in a replica at line 3: %s", e);
	snprintf(want, sizeof(want), "%s:4: database.replicas[1] needs \"socket\" or \"host\"", path);
	T_OK(strstr(e, want) != NULL, "a replica without an address at line 4");
	conf_free(&c);

	{
		char many[4096];
		int len = snprintf(many, sizeof(many),
		                   "core: { listen = \"/tmp/x.sock\"; plugin_dir = \"/nonexistent\"; };\n"
		                   "database: { socket = \"/tmp/m.sock\"; name = \"p\"; user = \"u\";\n"
		                   "  replicas = (");
		for (int i = 0; i <= CONF_MAX_REPLICAS; i++)
			len += snprintf(many + len, sizeof(many) - (size_t)len, "%s{ host = \"h%d\"; }",
			                i ? ", " : "", i);
		snprintf(many + len, sizeof(many) - (size_t)len, "); };\nmunicipalities = ();\n");
		write_conf(many);
		T_OK(conf_load(&c, path) == PORTAL_ERROR && strstr(errors_of(&c), "at most 16") != NULL,
		     "more than %d replicas refused: %s", CONF_MAX_REPLICAS, errors_of(&c));
		conf_free(&c);
	}

	/* open data (issue #19): core.changes_retention, a municipality's
	 * license, the reserved slug "all" */
	snprintf(buf, sizeof(buf),
	         "core: { listen = \"/tmp/x.sock\"; plugin_dir = \"/nonexistent\"; changes_retention = 30; };\n"
	         "database: { socket = \"/tmp/m.sock\"; name = \"p\"; user = \"u\"; };\n"
	         "municipalities = (\n"
	         "  { slug = \"a\"; name = \"A\"; country = \"SE\"; languages = [\"sv\"]; modules = []; },\n"
	         "  { slug = \"b\"; name = \"B\"; country = \"SE\"; languages = [\"sv\"]; modules = [];\n"
	         "    license = \"https://creativecommons.org/licenses/by/4.0/\"; } );\n");
	write_conf(buf);
	T_OK(conf_load(&c, path) == PORTAL_OK && c.changes_retention == 30 && c.nmunis == 2 &&
	         strcmp(c.munis[0].license, CONF_LICENSE_DEFAULT) == 0 &&
	         strcmp(c.munis[1].license, "https://creativecommons.org/licenses/by/4.0/") == 0,
	     "changes_retention and license read; CC0 1.0 by default: %s", errors_of(&c));
	conf_free(&c);
	snprintf(buf, sizeof(buf),
	         "core: { listen = \"/tmp/x.sock\"; plugin_dir = \"/nonexistent\"; };\n" /* 1 */
	         "database: { socket = \"/tmp/m.sock\"; name = \"p\"; user = \"u\"; };\n" /* 2 */
	         "municipalities = (\n" /* 3 */
	         "  { slug = \"all\"; name = \"A\"; country = \"SE\"; languages = [\"sv\"]; modules = []; },\n" /* 4 */
	         "  { slug = \"b\"; name = \"B\"; country = \"SE\"; languages = [\"sv\"]; modules = [];\n" /* 5 */
	         "    license = \"CC0\"; } );\n"); /* 6 */
	write_conf(buf);
	T_OK(conf_load(&c, path) == PORTAL_ERROR, "a municipality called all, a licence that is no URL");
	e = errors_of(&c);
	T_OK(strstr(e, "slug \"all\" is reserved") != NULL, "all is reserved (GET /api/v1/all/...): %s", e);
	snprintf(want, sizeof(want), "%s:6: license must be the licence's http(s) URL", path);
	T_OK(strstr(e, want) != NULL, "a licence that is no URL at line 6");
	conf_free(&c);
	T_OK(conf_slug_reserved("all"), "conf_slug_reserved(\"all\")");

	T_OK(conf_load(&c, "/nonexistent/portal.conf") == PORTAL_ERROR &&
	         strstr(errors_of(&c), "/nonexistent/portal.conf: cannot read"),
	     "missing file named");
	conf_free(&c);
	unlink(path);
	return T_DONE();
}
