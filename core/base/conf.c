/*
 * conf.c - the configuration file (libconfig): the core's groups, the
 * municipalities and where each plugin's section is.  Every problem is
 * collected with its file:line, so `portald -t` can list them all.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

void
conf_error(struct conf *c, const config_setting_t *s, const char *fmt, ...)
{
	char msg[512], *line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	const char *file = s ? config_setting_source_file(s) : NULL;
	unsigned ln = s ? config_setting_source_line(s) : 0;
	if (file == NULL)
		file = c->path;
	if (ln > 0) {
		if (asprintf(&line, "%s:%u: %s", file, ln, msg) < 0)
			line = NULL;
	} else if (asprintf(&line, "%s: %s", file, msg) < 0) {
		line = NULL;
	}
	if (line == NULL)
		return;
	char **e = realloc(c->errors, (c->nerrors + 2) * sizeof(*e));
	if (e == NULL) {
		free(line);
		return;
	}
	c->errors = e;
	c->errors[c->nerrors++] = line;
	c->errors[c->nerrors] = NULL;
}

/* Members of a group that are not in `known` are errors: a typo must not
 * silently fall back to a default. */
static void
conf_check_members(struct conf *c, config_setting_t *g, const char *gname, const char *const *known)
{
	int n = config_setting_length(g);
	for (int i = 0; i < n; i++) {
		config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);
		int ok = 0;
		for (const char *const *k = known; *k; k++)
			if (name && strcmp(name, *k) == 0)
				ok = 1;
		if (!ok)
			conf_error(c, m, "unknown setting \"%s\" in %s", name ? name : "?", gname);
	}
}

static const char *
conf_str(struct conf *c, config_setting_t *g, const char *name, const char *def, int required)
{
	config_setting_t *s = g ? config_setting_get_member(g, name) : NULL;
	if (s == NULL) {
		if (required)
			conf_error(c, g, "missing setting \"%s\"", name);
		return def;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		conf_error(c, s, "\"%s\" must be a string", name);
		return def;
	}
	return config_setting_get_string(s);
}

static long long
conf_int(struct conf *c, config_setting_t *g, const char *name, long long def, long long min,
         long long max)
{
	config_setting_t *s = g ? config_setting_get_member(g, name) : NULL;
	if (s == NULL)
		return def;
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
		conf_error(c, s, "\"%s\" must be an integer", name);
		return def;
	}
	long long v = config_setting_get_int64(s);
	if (v < min || v > max) {
		conf_error(c, s, "\"%s\" must be between %lld and %lld, not %lld", name, min, max, v);
		return def;
	}
	return v;
}

static const char **
conf_str_list(struct conf *c, config_setting_t *s, const char *name, size_t *n)
{
	*n = 0;
	if (s == NULL)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST) {
		conf_error(c, s, "\"%s\" must be a list of strings, e.g. [\"sv\", \"en\"]", name);
		return NULL;
	}
	int len = config_setting_length(s);
	const char **v = calloc((size_t)len + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (int i = 0; i < len; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			conf_error(c, e, "\"%s\" must contain strings only", name);
			continue;
		}
		v[(*n)++] = config_setting_get_string(e);
	}
	return v;
}

/* The first path segments the portal answers itself (pages.c, dispatch.c,
 * account.c): a municipality so called would never be reached. */
int
conf_slug_reserved(const char *slug)
{
	static const char *const reserved[] = {"edit", "login", "logout", "account", "static", "api",
	                                       "healthz", "metrics", "all", NULL};
	for (const char *const *r = reserved; *r; r++)
		if (strcmp(slug, *r) == 0)
			return 1;
	return 0;
}

static int
conf_slug_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return s[0] != '-';
}

/*
 * A base URL for absolute links (feeds, exports, JSON-LD): "http://" or
 * "https://", a host (name, IPv4 or [IPv6]) and optionally a port and a
 * path, no query, fragment, user or space.
 * The Host header never makes a link (issue 20, point 3).
 */
static const char *
conf_public_url(struct conf *c, config_setting_t *g)
{
	const char *v = conf_str(c, g, "public_url", NULL, 0);
	if (v == NULL)
		return NULL;
	const char *host = strncmp(v, "https://", 8) == 0 ? v + 8 : strncmp(v, "http://", 7) == 0 ? v + 7 : NULL;
	size_t len = strlen(v);
	int ok = host != NULL && len <= 200 && *host != '\0' && *host != '/' && *host != ':';
	for (const char *p = host; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || strchr("-._~/:[]%", *p) != NULL;
	if (ok && strchr(host, '/') && strstr(strchr(host, '/'), "//"))
		ok = 0;
	if (!ok) {
		conf_error(c, config_setting_get_member(g, "public_url"),
		           "public_url must be \"http(s)://host[:port][/path]\", not \"%s\"", v);
		return NULL;
	}
	return v; /* a trailing slash is dropped where it is used */
}

/* The optional place of the municipality: `lat` and `lon` (decimal
 * degrees, both or neither; the partner-town map marks the municipality
 * there) and `wikidata` (its Wikidata item "Q..."; the overview's JSON-LD
 * links it with sameAs). */
static void
conf_place(struct conf *c, config_setting_t *g, struct conf_municipality *m)
{
	config_setting_t *la = config_setting_get_member(g, "lat"), *lo = config_setting_get_member(g, "lon");
	if (la || lo) {
		int ok = la && lo;
		for (int k = 0; ok && k < 2; k++) {
			config_setting_t *s = k ? lo : la;
			int t = config_setting_type(s);
			ok = t == CONFIG_TYPE_FLOAT || t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
		}
		double lat = ok ? config_setting_get_float(la) : 0, lon = ok ? config_setting_get_float(lo) : 0;
		/* libconfig gives 0.0 for an integer asked as a float */
		if (ok && config_setting_type(la) != CONFIG_TYPE_FLOAT)
			lat = (double)config_setting_get_int64(la);
		if (ok && config_setting_type(lo) != CONFIG_TYPE_FLOAT)
			lon = (double)config_setting_get_int64(lo);
		if (!ok || lat < -90 || lat > 90 || lon < -180 || lon > 180) {
			conf_error(c, la ? la : lo, "lat and lon are decimal degrees, both or neither "
			                            "(lat = 60.48; lon = 15.43;)");
		} else {
			m->has_place = 1;
			m->lat = lat;
			m->lon = lon;
		}
	}
	m->wikidata = conf_str(c, g, "wikidata", NULL, 0);
	if (m->wikidata && (m->wikidata[0] != 'Q' || m->wikidata[1] < '1' || m->wikidata[1] > '9' ||
	                    strspn(m->wikidata + 1, "0123456789") != strlen(m->wikidata + 1) ||
	                    strlen(m->wikidata) > 12))
		conf_error(c, config_setting_get_member(g, "wikidata"),
		           "wikidata is an item id such as \"Q123\", not \"%s\"", m->wikidata);
}

/* media = { dir = "media"; max_bytes = 20971520; quota_bytes = ...; max_pixels = ...; };
 * (optional).  A relative dir is the configuration file's directory's, so
 * $PORTAL_VAR/portal.conf keeps its files in $PORTAL_VAR/media. */
static void
conf_media(struct conf *c)
{
	config_setting_t *g = config_lookup(&c->cfg, "media");
	if (g && config_setting_type(g) != CONFIG_TYPE_GROUP) {
		conf_error(c, g, "\"media\" must be a group { dir = \"media\"; max_bytes = 20971520; }");
		g = NULL;
	} else if (g) {
		static const char *const known[] = {"dir", "max_bytes", "quota_bytes", "max_pixels", NULL};
		conf_check_members(c, g, "media", known);
	}
	const char *dir = conf_str(c, g, "dir", "media", 0);
	if (dir[0] == '/' || c->path == NULL) {
		c->media_dir = strdup(dir);
	} else {
		const char *slash = strrchr(c->path, '/');
		int n = slash ? (int)(slash - c->path) : 1;
		const char *base = slash ? c->path : ".";
		if (asprintf(&c->media_dir, "%.*s/%s", n, base, dir) < 0)
			c->media_dir = NULL;
	}
	c->media_max_bytes = conf_int(c, g, "max_bytes", 20LL * 1024 * 1024, 1024, 1LL << 32);
	c->media_quota_bytes = conf_int(c, g, "quota_bytes", 1LL << 30, 0, 1LL << 50);
	c->media_max_pixels = conf_int(c, g, "max_pixels", 40LL * 1000 * 1000, 1, 1LL << 31);
}

static void
conf_municipalities(struct conf *c)
{
	config_setting_t *list = config_lookup(&c->cfg, "municipalities");
	if (list == NULL) {
		conf_error(c, NULL, "missing \"municipalities\": the list of municipalities served");
		return;
	}
	if (config_setting_type(list) != CONFIG_TYPE_LIST) {
		conf_error(c, list, "\"municipalities\" must be a list: ( { slug = ...; }, ... )");
		return;
	}
	int n = config_setting_length(list);
	c->munis = calloc((size_t)n + 1, sizeof(*c->munis));
	if (c->munis == NULL)
		return;
	static const char *const known[] = {"slug", "name", "country", "languages", "modules",
	                                    "overrides", "look", "lat", "lon", "wikidata",
	                                    "public_url", "license", "media_quota_bytes", NULL};
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			conf_error(c, g, "each municipality must be a group { slug = ...; }");
			continue;
		}
		struct conf_municipality *m = &c->munis[c->nmunis];
		m->group = g;
		conf_check_members(c, g, "a municipality", known);
		m->slug = conf_str(c, g, "slug", NULL, 1);
		m->name = conf_str(c, g, "name", NULL, 1);
		m->country = conf_str(c, g, "country", NULL, 1);
		if (m->slug == NULL || m->name == NULL || m->country == NULL)
			continue;
		if (!conf_slug_ok(m->slug))
			conf_error(c, config_setting_get_member(g, "slug"),
			           "slug \"%s\" must be 1-64 characters a-z, 0-9 and '-'", m->slug);
		else if (conf_slug_reserved(m->slug))
			conf_error(c, config_setting_get_member(g, "slug"),
			           "slug \"%s\" is reserved: /%s/ is the portal's own path", m->slug,
			           m->slug);
		if (!valid_country(m->country))
			conf_error(c, config_setting_get_member(g, "country"),
			           "country \"%s\" is not an ISO 3166-1 alpha-2 code", m->country);
		m->languages = conf_str_list(c, config_setting_get_member(g, "languages"), "languages",
		                             &m->nlanguages);
		for (size_t j = 0; j < m->nlanguages; j++)
			if (!valid_lang(m->languages[j]))
				conf_error(c, config_setting_get_member(g, "languages"),
				           "language \"%s\" is not a BCP 47 tag", m->languages[j]);
		if (m->nlanguages == 0)
			conf_error(c, g, "municipality \"%s\" needs at least one language", m->slug);
		m->modules = conf_str_list(c, config_setting_get_member(g, "modules"), "modules",
		                           &m->nmodules);
		conf_place(c, g, m);
		m->public_url = conf_public_url(c, g);
		m->license = conf_str(c, g, "license", CONF_LICENSE_DEFAULT, 0);
		if (!valid_url(m->license))
			conf_error(c, config_setting_get_member(g, "license"),
			           "license must be the licence's http(s) URL, not \"%s\"", m->license);
		m->media_quota_bytes = config_setting_get_member(g, "media_quota_bytes")
		                           ? conf_int(c, g, "media_quota_bytes", 0, 0, 1LL << 50)
		                           : -1;
		config_setting_t *look = config_setting_get_member(g, "look");
		if (look && config_setting_type(look) != CONFIG_TYPE_GROUP) {
			conf_error(c, look, "\"look\" must be a group { logo = \"https://...\"; accent = \"#00528a\"; }");
		} else if (look) {
			static const char *const lk[] = {"logo", "accent", "accent_text", NULL};
			conf_check_members(c, look, "look", lk);
			m->logo = conf_str(c, look, "logo", NULL, 0);
			m->accent = conf_str(c, look, "accent", NULL, 0);
			m->accent_text = conf_str(c, look, "accent_text", NULL, 0);
			if (m->logo && !valid_url(m->logo))
				conf_error(c, config_setting_get_member(look, "logo"), "logo must be an http(s) URL");
			const char *cols[] = {m->accent, m->accent_text};
			for (int k = 0; k < 2; k++) {
				const char *v = cols[k];
				int ok = v == NULL || (strlen(v) == 7 && v[0] == '#' && strspn(v + 1, "0123456789abcdefABCDEF") == 6);
				if (!ok)
					conf_error(c, config_setting_get_member(look, k ? "accent_text" : "accent"),
					           "colours are written \"#rrggbb\", not \"%s\"", v);
			}
		}
		m->overrides = config_setting_get_member(g, "overrides");
		if (m->overrides && config_setting_type(m->overrides) != CONFIG_TYPE_GROUP) {
			conf_error(c, m->overrides, "\"overrides\" must be a group { plugin = { ... }; }");
			m->overrides = NULL;
		}
		for (size_t j = 0; j < c->nmunis; j++)
			if (strcmp(c->munis[j].slug, m->slug) == 0)
				conf_error(c, g, "municipality \"%s\" is listed twice", m->slug);
		c->nmunis++;
	}
}

/*
 * database.replicas = ( { host = "10.0.0.7"; port = 3306; }, { socket = "..."; } ):
 * servers that replicate the primary, for reads.  Whatever a replica does
 * not name (database name, user, password, timeouts) is the primary's, as
 * replicas usually carry the same grants.
 */
static void
conf_replicas(struct conf *c, config_setting_t *db)
{
	config_setting_t *list = db ? config_setting_get_member(db, "replicas") : NULL;
	if (list == NULL)
		return;
	if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
		conf_error(c, list, "database.replicas must be a list ( { host = ...; }, ... )");
		return;
	}
	int n = config_setting_length(list);
	if (n > CONF_MAX_REPLICAS) {
		conf_error(c, list, "database.replicas names %d servers; at most %d", n, CONF_MAX_REPLICAS);
		return;
	}
	static const char *const known[] = {"socket", "host", "port", "name", "user", "password",
	                                    "connect_timeout", "read_timeout", "write_timeout", NULL};
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			conf_error(c, g, "database.replicas[%d] must be a group { host = ...; }", i);
			continue;
		}
		conf_check_members(c, g, "database.replicas", known);
		struct conf_db *r = &c->replicas[c->nreplicas++];
		r->socket = conf_str(c, g, "socket", NULL, 0);
		r->host = conf_str(c, g, "host", NULL, 0);
		r->port = (int)conf_int(c, g, "port", 3306, 1, 65535);
		r->name = conf_str(c, g, "name", c->db.name, 0);
		r->user = conf_str(c, g, "user", c->db.user, 0);
		r->password = conf_str(c, g, "password", c->db.password, 0);
		r->connect_timeout = (int)conf_int(c, g, "connect_timeout", c->db.connect_timeout, 1, 300);
		r->read_timeout = (int)conf_int(c, g, "read_timeout", c->db.read_timeout, 1, 3600);
		r->write_timeout = (int)conf_int(c, g, "write_timeout", c->db.write_timeout, 1, 3600);
		r->statement_timeout = c->db.statement_timeout < r->read_timeout ? c->db.statement_timeout
		                                                                  : r->read_timeout;
		if (r->socket == NULL && r->host == NULL)
			conf_error(c, g, "database.replicas[%d] needs \"socket\" or \"host\"", i);
	}
}

int
conf_load(struct conf *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	config_init(&c->cfg);
	c->path = strdup(path);
	if (c->path == NULL)
		return PORTAL_ERROR;
	/* @include "x" is relative to the file's own directory */
	char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash) {
		*slash = '\0';
		config_set_include_dir(&c->cfg, dir);
	}
	free(dir);

	if (access(path, R_OK) != 0) {
		conf_error(c, NULL, "cannot read the file: %m");
		return PORTAL_ERROR;
	}
	if (!config_read_file(&c->cfg, path)) {
		char *line;
		const char *f = config_error_file(&c->cfg);
		if (asprintf(&line, "%s:%d: %s", f ? f : path, config_error_line(&c->cfg),
		             config_error_text(&c->cfg)) >= 0) {
			c->errors = calloc(2, sizeof(*c->errors));
			if (c->errors) {
				c->errors[0] = line;
				c->nerrors = 1;
			} else {
				free(line);
			}
		}
		return PORTAL_ERROR;
	}

	config_setting_t *root = config_root_setting(&c->cfg);
	static const char *const top[] = {"core", "database", "cache", "media", "plugins", "municipalities", NULL};
	conf_check_members(c, root, "the file", top);

	config_setting_t *core = config_lookup(&c->cfg, "core");
	if (core == NULL)
		conf_error(c, NULL, "missing group \"core\"");
	else if (config_setting_type(core) != CONFIG_TYPE_GROUP)
		conf_error(c, core, "\"core\" must be a group");
	else {
		static const char *const known[] = {"listen", "socket_mode", "workers", "plugin_dir",
		                                    "log_level", "max_body", "json_max_depth",
		                                    "max_query_args", "user", "group",
		                                    "public_url", "idempotency_ttl", "session_idle",
		                                    "session_max", "changes_retention", "request_timeout",
		                                    NULL};
		conf_check_members(c, core, "core", known);
	}
	if (core && config_setting_type(core) != CONFIG_TYPE_GROUP)
		core = NULL;
	c->listen = conf_str(c, core, "listen", NULL, core != NULL);
	/* libconfig has no octal numbers: the mode is a string, "0660" */
	c->socket_mode = 0660;
	config_setting_t *sm = core ? config_setting_get_member(core, "socket_mode") : NULL;
	if (sm) {
		const char *v = config_setting_type(sm) == CONFIG_TYPE_STRING ? config_setting_get_string(sm) : NULL;
		char *end = NULL;
		long mode = v ? strtol(v, &end, 8) : -1;
		if (v == NULL || *v == '\0' || *end != '\0' || mode < 0 || mode > 0777)
			conf_error(c, sm, "socket_mode must be an octal mode in quotes, e.g. \"0660\"");
		else if (mode & 0007)
			conf_error(c, sm, "socket_mode %s lets every local user write to the socket; use \"0660\"", v);
		else
			c->socket_mode = (int)mode;
	}
	c->workers = (int)conf_int(c, core, "workers", 0, 0, 256);
	c->plugin_dir = conf_str(c, core, "plugin_dir", NULL, core != NULL);
	const char *lvl = conf_str(c, core, "log_level", "info", 0);
	c->log_level = log_parse_level(lvl);
	if (c->log_level < 0) {
		conf_error(c, config_setting_get_member(core, "log_level"),
		           "log_level must be error, warn, info or debug, not \"%s\"", lvl);
		c->log_level = PORTAL_LOG_INFO;
	}
	c->max_body = conf_int(c, core, "max_body", 1048576, 1024, 64LL * 1024 * 1024);
	c->json_max_depth = (int)conf_int(c, core, "json_max_depth", 16, 2, 64);
	c->max_query_args = (int)conf_int(c, core, "max_query_args", REQ_MAX_ARGS, 1, 1000);
	c->user = conf_str(c, core, "user", NULL, 0);
	c->group = conf_str(c, core, "group", NULL, 0);
	c->public_url = core ? conf_public_url(c, core) : NULL;
	c->idempotency_ttl = (int)conf_int(c, core, "idempotency_ttl", 86400, 60, 366 * 86400);
	/* a browser session ends after session_idle seconds unused, and
	 * session_max seconds after sign-in whatever happens */
	c->session_idle = (int)conf_int(c, core, "session_idle", 7200, 60, 7 * 86400);
	c->session_max = (int)conf_int(c, core, "session_max", 43200, 60, 30 * 86400);
	c->changes_retention = (int)conf_int(c, core, "changes_retention", 90, 1, 36600);
	/* a request's own time budget: no statement starts after it (503), and
	 * a worker still busy read_timeout + 2 s later is ended (watchdog.c) */
	c->request_timeout = (int)conf_int(c, core, "request_timeout", 20, 0, 3600);
	if (c->session_idle > c->session_max)
		conf_error(c, config_setting_get_member(core, "session_idle"),
		           "core.session_idle (%d s) must not exceed core.session_max (%d s)",
		           c->session_idle, c->session_max);

	config_setting_t *db = config_lookup(&c->cfg, "database");
	if (db == NULL)
		conf_error(c, NULL, "missing group \"database\"");
	else if (config_setting_type(db) != CONFIG_TYPE_GROUP) {
		conf_error(c, db, "\"database\" must be a group");
		db = NULL;
	} else {
		static const char *const known[] = {"socket", "host", "port", "name", "user",
		                                    "password", "connect_timeout", "read_timeout",
		                                    "write_timeout", "statement_timeout", "replicas",
		                                    "replica_retry", NULL};
		conf_check_members(c, db, "database", known);
	}
	c->db.socket = conf_str(c, db, "socket", NULL, 0);
	c->db.host = conf_str(c, db, "host", NULL, 0);
	c->db.port = (int)conf_int(c, db, "port", 3306, 1, 65535);
	c->db.name = conf_str(c, db, "name", NULL, db != NULL);
	c->db.user = conf_str(c, db, "user", NULL, db != NULL);
	c->db.password = conf_str(c, db, "password", "", 0);
	c->db.connect_timeout = (int)conf_int(c, db, "connect_timeout", 3, 1, 300);
	c->db.read_timeout = (int)conf_int(c, db, "read_timeout", 10, 1, 3600);
	c->db.write_timeout = (int)conf_int(c, db, "write_timeout", 10, 1, 3600);
	/* the server gives up on a statement before the client does (which
	 * would take the connection down with it) and before nginx does */
	c->db.statement_timeout = (int)conf_int(c, db, "statement_timeout",
	                                        c->db.read_timeout < 8 ? c->db.read_timeout : 8, 0, 3600);
	if (c->db.statement_timeout > c->db.read_timeout)
		conf_error(c, config_setting_get_member(db, "statement_timeout"),
		           "database.statement_timeout (%d s) must not exceed read_timeout (%d s): the "
		           "client would give up on the statement first",
		           c->db.statement_timeout, c->db.read_timeout);
	if (db && c->db.socket == NULL && c->db.host == NULL)
		conf_error(c, db, "database needs \"socket\" or \"host\"");
	c->replica_retry = (int)conf_int(c, db, "replica_retry", 5, 1, 3600);
	conf_replicas(c, db);

	/* cache = { size = 8388608; ttl = 300; check = "database"; };  (optional) */
	config_setting_t *cache = config_lookup(&c->cfg, "cache");
	if (cache && config_setting_type(cache) != CONFIG_TYPE_GROUP) {
		conf_error(c, cache, "\"cache\" must be a group { size = 8388608; ttl = 300; }");
		cache = NULL;
	} else if (cache) {
		static const char *const known[] = {"size", "ttl", "check", "stale_if_error", NULL};
		conf_check_members(c, cache, "cache", known);
	}
	c->cache_size = conf_int(c, cache, "size", 8LL * 1024 * 1024, 0, 1024LL * 1024 * 1024);
	c->cache_ttl = (int)conf_int(c, cache, "ttl", 300, 1, 86400);
	c->cache_stale_if_error = (int)conf_int(c, cache, "stale_if_error", 600, 0, 7 * 86400);
	const char *check = conf_str(c, cache, "check", "database", 0);
	c->cache_check_host = strcmp(check, "host") == 0;
	if (!c->cache_check_host && strcmp(check, "database") != 0)
		conf_error(c, config_setting_get_member(cache, "check"),
		           "cache.check must be \"database\" (several hosts may write) or \"host\" "
		           "(this host is the only writer), not \"%s\"", check);
	/* a replica may still lack a write this host has seen: an answer made
	 * from it would be kept as fresh */
	if (c->cache_check_host && c->nreplicas > 0 && c->cache_size > 0)
		conf_error(c, config_setting_get_member(cache, "check"),
		           "cache.check = \"host\" cannot be used with database.replicas; use \"database\"");

	conf_media(c);

	c->plugins = config_lookup(&c->cfg, "plugins");
	if (c->plugins && config_setting_type(c->plugins) != CONFIG_TYPE_GROUP) {
		conf_error(c, c->plugins, "\"plugins\" must be a group { name = { settings }; }");
		c->plugins = NULL;
	}
	conf_municipalities(c);
	return c->nerrors ? PORTAL_ERROR : PORTAL_OK;
}

void
conf_free(struct conf *c)
{
	for (size_t i = 0; i < c->nmunis; i++) {
		free(c->munis[i].languages);
		free(c->munis[i].modules);
	}
	free(c->munis);
	for (size_t i = 0; i < c->nerrors; i++)
		free(c->errors[i]);
	free(c->errors);
	free(c->path);
	free(c->media_dir);
	config_destroy(&c->cfg);
	memset(c, 0, sizeof(*c));
}

const struct conf_municipality *
conf_municipality(const struct conf *c, const char *slug)
{
	for (size_t i = 0; i < c->nmunis; i++)
		if (strcmp(c->munis[i].slug, slug) == 0)
			return &c->munis[i];
	return NULL;
}

int
conf_muni_has_module(const struct conf_municipality *m, const char *module)
{
	for (size_t i = 0; i < m->nmodules; i++)
		if (strcmp(m->modules[i], module) == 0)
			return 1;
	return 0;
}
