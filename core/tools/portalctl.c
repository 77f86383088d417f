/*
 * portalctl - administration from the shell.
 *
 *   portalctl -c FILE migrate [status]
 *   portalctl -c FILE token create --municipality SLUG|'*' --role ROLE [--label TEXT]
 *                                  [--expires 30d|12h|YYYY-MM-DD]
 *   portalctl -c FILE token list
 *   portalctl -c FILE token revoke ID
 *   portalctl -c FILE user add EMAIL --name NAME --municipality SLUG|'*' --role ROLE  (password: stdin)
 *   portalctl -c FILE user list
 *   portalctl -c FILE user disable EMAIL
 *   portalctl -c FILE user passwd EMAIL  (password: stdin)
 *   portalctl -c FILE user role EMAIL --municipality SLUG|'*' --role ROLE|none
 *   portalctl -c FILE audit [--municipality SLUG] [--limit N]
 *   portalctl -c FILE check
 *   portalctl -c FILE export MUNICIPALITY [-o FILE] [--format json|csv] [--quiet]
 *   portalctl -c FILE import MUNICIPALITY FILE [--dry-run] [--quiet] [--new-uids]
 *   portalctl [COMMAND] --help
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core.h"

static struct conf conf;
static struct plugins plugins;

static void
usage(FILE *f)
{
	fputs("usage: portalctl -c FILE COMMAND\n"
	      "\n"
	      "commands:\n"
	      "  migrate               apply the pending schema migrations (core, then plugins)\n"
	      "  migrate status        list every migration and whether it is applied\n"
	      "  token create --municipality SLUG|'*' --role reader|editor|admin [--label TEXT]\n"
	      "               [--expires 90s|45m|12h|30d|YYYY-MM-DD|YYYY-MM-DDTHH:MM:SSZ]\n"
	      "                        create an API token; prints it alone on stdout, once\n"
	      "  token list            list tokens (never the tokens themselves)\n"
	      "  token revoke ID       revoke a token; it stops working at once\n"
	      "  user add EMAIL --name NAME --municipality SLUG|'*' --role ROLE\n"
	      "                        create an account for the browser; its password is\n"
	      "                        read, one line, from stdin\n"
	      "  user list             list accounts and their roles\n"
	      "  user disable EMAIL    disable an account; its sessions end at once\n"
	      "  user passwd EMAIL     set a new password (stdin); its sessions end\n"
	      "  user role EMAIL --municipality SLUG|'*' --role ROLE|none\n"
	      "                        set (or with none remove) a role in a municipality\n"
	      "  audit [--municipality SLUG] [--limit N]\n"
	      "                        the latest writes, newest first (default 50)\n"
	      "  check                 check the configuration and every plugin's part of it\n"
	      "  export SLUG [-o FILE] [--format json|csv]\n"
	      "                        a municipality's items of every module, as one JSON\n"
	      "                        document (or one CSV file per module in -o DIR)\n"
	      "  import SLUG FILE [--dry-run]\n"
	      "                        create the items of an exported document in a\n"
	      "                        municipality: all of them, or none\n"
	      "  help                  this text\n"
	      "\n"
	      "portalctl COMMAND --help explains one command.\n",
	      f);
}

/* portalctl COMMAND --help */
static const struct {
	const char *cmd, *text;
} helps[] = {
    {"migrate", "usage: portalctl -c FILE migrate [status]\n"
                "\n"
                "Applies the schema migrations the database lacks: the core's first, then each\n"
                "plugin's, in order, each recorded in schema_migrations.  `status` lists every\n"
                "migration and whether it is applied, and changes nothing.\n"},
    {"token", "usage: portalctl -c FILE token create --municipality SLUG|'*' --role ROLE [--label TEXT]\n"
              "                  [--expires 90s|45m|12h|30d|YYYY-MM-DD|YYYY-MM-DDTHH:MM:SSZ]\n"
              "       portalctl -c FILE token list\n"
              "       portalctl -c FILE token revoke ID\n"
              "\n"
              "create prints a new API token alone on stdout, once (only its hash is stored);\n"
              "ROLE is reader (may also see drafts), editor (writes content) or admin (also\n"
              "reads the audit log).  list shows id, prefix, scope, role and dates, never a\n"
              "token.  revoke ID stops a token at once.  --expires ends a token: a time\n"
              "from now (90s, 45m, 12h, 30d) or a UTC date; after it the token is refused\n"
              "(401, \"this token has expired\").\n"},
    {"user", "usage: portalctl -c FILE user add EMAIL --name NAME --municipality SLUG|'*' --role ROLE\n"
             "       portalctl -c FILE user list\n"
             "       portalctl -c FILE user disable EMAIL\n"
             "       portalctl -c FILE user passwd EMAIL\n"
             "       portalctl -c FILE user role EMAIL --municipality SLUG|'*' --role ROLE|none\n"
             "\n"
             "Accounts for signing in at /login (the editor, /edit/).  add and passwd read\n"
             "the password, one line, from standard input (at least 10 characters; it is\n"
             "stored as an Argon2id hash):\n"
             "  printf '%s\\n' \"$PASSWORD\" | portalctl -c FILE user add a@b.se --name 'A B' \\\n"
             "      --municipality lerum --role editor\n"
             "ROLE is reader (sees drafts), editor (writes content) or admin (also manages\n"
             "the municipality's users and API tokens in the browser); a user may have a\n"
             "role in several municipalities (user role), '*' is all of them.  disable\n"
             "and passwd end the account's sessions at once.\n"},
    {"audit", "usage: portalctl -c FILE audit [--municipality SLUG] [--limit N]\n"
              "\n"
              "The latest writes, newest first: when, where, which item, what, by which token\n"
              "and request.  --limit: 1 to 100000 (default 50).\n"},
    {"check", "usage: portalctl -c FILE check\n"
              "\n"
              "Loads the configuration and every plugin and checks each plugin's settings;\n"
              "says \"OK\" or names each problem as file:line.  Exit status 0 when OK.\n"},
    {"export", "usage: portalctl -c FILE export SLUG [-o FILE] [--format json] [--quiet]\n"
               "       portalctl -c FILE export SLUG --format csv -o DIR [--quiet]\n"
               "\n"
               "Writes every item of every module municipality SLUG enables, drafts and\n"
               "non-public items included, as one JSON document (to FILE, else stdout):\n"
               "  {\"format\": \"portal-export\", \"version\": 2, \"municipality\": SLUG,\n"
               "   \"exported_at\": ..., \"modules\": {\"partnerships\": [items...], ...},\n"
               "   \"media\": [uploaded files, each with its bytes in base64 as \"data\"]}\n"
               "Each item is what GET /api/v1/SLUG/MODULE/ID shows an admin (without\n"
               "\"linked\"), oldest first.  `portalctl import` reads it back.\n"
               "\n"
               "--format csv writes DIR/MODULE.csv for each module with a CSV export, the\n"
               "same as GET /api/v1/SLUG/MODULE.csv with an admin token.  --quiet: no\n"
               "summary on stderr.\n"},
    {"import", "usage: portalctl -c FILE import SLUG FILE [--dry-run] [--quiet] [--new-uids]\n"
               "\n"
               "Creates the items of FILE (a document of `portalctl export`; - is stdin) in\n"
               "municipality SLUG, through the same API handlers as POST, so every rule of\n"
               "the API applies.  Link targets come first (partnerships before the projects\n"
               "and visits naming them); each item gets a new id and links (the targets'\n"
               "uids in a version 2 document, ids in version 1) are rewritten to the new\n"
               "ids.  The members the server sets (id, created_at, updated_at, version,\n"
               "...) are taken anew, but for the uid: each item keeps its uid,\n"
               "so ids that outsiders hold stay valid when a municipality moves between\n"
               "installations; a uid an item of this installation has already refuses the\n"
               "record (and so the import).  --new-uids gives every item a new uid instead\n"
               "(a copy within one installation).\n"
               "\n"
               "All in one transaction: when any record is refused, nothing is written, and\n"
               "each problem is named as\n"
               "  import: modules.MODULE[INDEX] (id ID, \"TITLE\"): FIELD: what is wrong\n"
               "--dry-run checks every record the same way and then writes nothing.\n"
               "A progress bar is drawn on stderr when it is a terminal; --quiet: none, and\n"
               "no summary.  Exit status 0 when imported (or valid), 1 when not.\n"},
    {"help", "usage: portalctl help | portalctl --help | portalctl COMMAND --help\n"},
};

/* The help of the command in argv (after -c FILE), else the overview. */
static int
help(int argc, char **argv)
{
	const char *cmd = NULL;
	for (int i = 1; i < argc && cmd == NULL; i++) {
		if (strcmp(argv[i], "-c") == 0)
			i++;
		else if (argv[i][0] != '-')
			cmd = argv[i];
	}
	for (size_t k = 0; cmd && k < sizeof(helps) / sizeof(helps[0]); k++)
		if (strcmp(helps[k].cmd, cmd) == 0) {
			fputs(helps[k].text, stdout);
			return 0;
		}
	usage(stdout);
	return 0;
}

static int
load(const char *cfile, int quiet)
{
	if (quiet)
		log_level = PORTAL_LOG_WARN;
	conf_load(&conf, cfile);
	if (conf.plugin_dir && conf.nerrors == 0)
		plugin_load_all(&plugins, &conf);
	if (conf.nerrors) {
		for (size_t i = 0; i < conf.nerrors; i++)
			fprintf(stderr, "portalctl: %s\n", conf.errors[i]);
		fprintf(stderr, "portalctl: configuration file %s has %zu problem%s\n", cfile,
		        conf.nerrors, conf.nerrors == 1 ? "" : "s");
		return PORTAL_ERROR;
	}
	return PORTAL_OK;
}

static struct db *
connect_db(void)
{
	if (db_library_init() != PORTAL_OK)
		return NULL;
	/* migrations and imports may run statements longer than a request's */
	conf.db.statement_timeout = 0;
	struct db *d = db_new(&conf.db);
	if (d == NULL || db_connect(d) != PORTAL_OK) {
		fprintf(stderr, "portalctl: %s\n", d ? db_error(d) : "out of memory");
		db_free(d);
		return NULL;
	}
	return d;
}

/* --expires: "90s", "45m", "12h", "30d" from now, or a UTC date
 * "YYYY-MM-DD" (its start) or "YYYY-MM-DDTHH:MM:SSZ", in the future.
 * Writes "YYYY-MM-DD HH:MM:SS" (UTC) for MariaDB; 0 when valid. */
static int
token_expiry(const char *s, char *out, size_t outlen)
{
	time_t now = time(NULL), at;
	struct tm tm;
	char *end = NULL;
	memset(&tm, 0, sizeof(tm));
	long long n = (*s >= '0' && *s <= '9') ? strtoll(s, &end, 10) : 0;
	if (end && end > s && end[0] != '\0' && end[1] == '\0' && strchr("smhd", end[0])) {
		long long mult = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : 86400;
		if (n <= 0 || n > 3660LL * 86400 / mult)
			return -1;
		at = now + (time_t)(n * mult);
	} else {
		const char *rest = strptime(s, "%Y-%m-%d", &tm);
		if (rest && *rest == 'T')
			rest = strptime(rest, "T%H:%M:%SZ", &tm);
		if (rest == NULL || *rest != '\0')
			return -1;
		at = timegm(&tm);
		if (at <= now || at == (time_t)-1)
			return -1;
	}
	if (gmtime_r(&at, &tm) == NULL || strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return -1;
	return 0;
}

static int
cmd_token_create(struct db *d, int argc, char **argv)
{
	const char *muni = NULL, *role = NULL, *label = NULL, *expires = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--municipality") == 0 && i + 1 < argc)
			muni = argv[++i];
		else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
			role = argv[++i];
		else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
			label = argv[++i];
		else if (strcmp(argv[i], "--expires") == 0 && i + 1 < argc)
			expires = argv[++i];
		else {
			fprintf(stderr, "portalctl: token create: unexpected \"%s\"\n", argv[i]);
			return 2;
		}
	}
	if (muni == NULL || role == NULL) {
		fprintf(stderr, "portalctl: token create needs --municipality SLUG|'*' and --role ROLE\n");
		return 2;
	}
	if (strcmp(muni, "*") != 0 && conf_municipality(&conf, muni) == NULL) {
		fprintf(stderr, "portalctl: no municipality \"%s\" in %s\n", muni, conf.path);
		return 1;
	}
	int r = auth_role_parse(role);
	if (r < 0) {
		fprintf(stderr, "portalctl: role must be reader, editor or admin, not \"%s\"\n", role);
		return 2;
	}
	if (label && (strlen(label) > 200 || !valid_utf8(label, strlen(label)))) {
		fprintf(stderr, "portalctl: --label must be at most 200 bytes of UTF-8\n");
		return 2;
	}
	char until[32] = "";
	if (expires && token_expiry(expires, until, sizeof(until)) != 0) {
		fprintf(stderr, "portalctl: --expires takes a time from now (90s, 45m, 12h, 30d) or a "
		                "UTC date in the future (2027-06-30, 2027-06-30T12:00:00Z), not \"%s\"\n",
		        expires);
		return 2;
	}
	char token[AUTH_TOKEN_LEN + 1], hash[65], prefix[12];
	if (auth_token_new(token, sizeof(token), hash) != PORTAL_OK)
		return 1;
	snprintf(prefix, sizeof(prefix), "%.10s", token);
	struct portal_stmt *s = db_prepare(
	    d, "INSERT INTO tokens (hash, prefix, municipality, role, label, expires_at) "
	       "VALUES (?, ?, ?, ?, ?, ?)");
	if (s == NULL || db_bind_text(s, 0, hash) || db_bind_text(s, 1, prefix) ||
	    db_bind_text(s, 2, muni) || db_bind_text(s, 3, auth_role_name(r)) ||
	    db_bind_text(s, 4, label) || db_bind_text(s, 5, *until ? until : NULL) ||
	    db_execute(s) != PORTAL_OK) {
		fprintf(stderr, "portalctl: cannot store the token: %s (did you run migrate?)\n",
		        db_error(d));
		return 1;
	}
	fprintf(stderr, "portalctl: token %lld created: %s for %s%s%s%s\n", db_insert_id(s),
	        auth_role_name(r), muni, *until ? ", expires " : "", until, *until ? " UTC" : "");
	printf("%s\n", token);
	return 0;
}

static int
cmd_token_list(struct db *d)
{
	struct portal_stmt *s = db_prepare(
	    d, "SELECT id, prefix, municipality, role, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ'), "
	       "DATE_FORMAT(revoked_at, '%Y-%m-%dT%H:%i:%sZ'), COALESCE(label, ''), "
	       "DATE_FORMAT(expires_at, '%Y-%m-%dT%H:%i:%sZ') FROM tokens ORDER BY id");
	if (s == NULL || db_execute(s) != PORTAL_OK) {
		fprintf(stderr, "portalctl: %s\n", db_error(d));
		return 1;
	}
	printf("%-6s %-12s %-16s %-7s %-21s %-21s %-21s %s\n", "ID", "PREFIX", "MUNICIPALITY", "ROLE",
	       "CREATED", "REVOKED", "EXPIRES", "LABEL");
	while (db_fetch(s) == 1)
		printf("%-6s %-12s %-16s %-7s %-21s %-21s %-21s %s\n", db_col_text(s, 0), db_col_text(s, 1),
		       db_col_text(s, 2), db_col_text(s, 3), db_col_text(s, 4),
		       db_col_text(s, 5) ? db_col_text(s, 5) : "-", db_col_text(s, 7) ? db_col_text(s, 7) : "-",
		       db_col_text(s, 6));
	return 0;
}

static int
cmd_token_revoke(struct db *d, const char *idstr)
{
	char *end;
	errno = 0;
	long long id = strtoll(idstr, &end, 10);
	if (*idstr == '\0' || *end != '\0' || errno || id <= 0) {
		fprintf(stderr, "portalctl: token revoke needs a token id (see token list)\n");
		return 2;
	}
	struct portal_stmt *s =
	    db_prepare(d, "UPDATE tokens SET revoked_at = CURRENT_TIMESTAMP(3) WHERE id = ? AND "
	                  "revoked_at IS NULL");
	if (s == NULL || db_bind_int(s, 0, id) || db_execute(s) != PORTAL_OK) {
		fprintf(stderr, "portalctl: %s\n", db_error(d));
		return 1;
	}
	if (db_affected(s) == 0) {
		fprintf(stderr, "portalctl: no active token %lld\n", id);
		return 1;
	}
	fprintf(stderr, "portalctl: token %lld revoked\n", id);
	return 0;
}

/* One line of standard input: the password (without its line end), in
 * buf.  0, or 1 after saying what is wrong with it. */
static int
user_read_password(const char *cmd, char *buf, size_t len)
{
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "password (one line, at least %d characters): ", USERS_PASSWORD_MIN);
	if (fgets(buf, (int)len, stdin) == NULL)
		buf[0] = '\0';
	size_t n = strlen(buf);
	if (n == len - 1 && buf[n - 1] != '\n') {
		fprintf(stderr, "portalctl: user %s: the password is longer than %d bytes\n", cmd,
		        USERS_PASSWORD_MAX);
		return 1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	const char *why = users_password_problem(buf);
	if (why) {
		fprintf(stderr, "portalctl: user %s: %s; give it, one line, on standard input "
		                "(at least %d characters)\n", cmd, why, USERS_PASSWORD_MIN);
		return 1;
	}
	return 0;
}

/* --municipality and --role of user add / user role; 0, or 2 after
 * saying what is wrong. */
static int
user_scope(const char *cmd, int argc, char **argv, const char **name, const char **muni, int *role,
           int none_ok)
{
	const char *r = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--municipality") == 0 && i + 1 < argc)
			*muni = argv[++i];
		else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
			r = argv[++i];
		else if (name && strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			*name = argv[++i];
		else {
			fprintf(stderr, "portalctl: user %s: unexpected \"%s\" (see portalctl user --help)\n",
			        cmd, argv[i]);
			return 2;
		}
	}
	if (*muni == NULL || r == NULL || (name && *name == NULL)) {
		fprintf(stderr, "portalctl: user %s needs %s--municipality SLUG|'*' and --role ROLE\n", cmd,
		        name ? "--name NAME, " : "");
		return 2;
	}
	if (strcmp(*muni, "*") != 0 && conf_municipality(&conf, *muni) == NULL) {
		fprintf(stderr, "portalctl: no municipality \"%s\" in %s\n", *muni, conf.path);
		return 2;
	}
	*role = none_ok && strcmp(r, "none") == 0 ? PORTAL_ROLE_NONE : auth_role_parse(r);
	if (*role < 0) {
		fprintf(stderr, "portalctl: role must be reader, editor or admin%s, not \"%s\"\n",
		        none_ok ? " (or none)" : "", r);
		return 2;
	}
	if (name && (**name == '\0' || strlen(*name) > 200 || !valid_utf8(*name, strlen(*name)))) {
		fprintf(stderr, "portalctl: --name must be 1 to 200 bytes of UTF-8\n");
		return 2;
	}
	return 0;
}

/* The id of the account EMAIL, or 0 after saying there is none. */
static long long
user_id(struct db *d, const char *email)
{
	long long id = users_find(d, email);
	if (id < 0)
		fprintf(stderr, "portalctl: %s\n", db_error(d));
	else if (id == 0)
		fprintf(stderr, "portalctl: no account \"%s\" (see portalctl user list)\n", email);
	return id > 0 ? id : 0;
}

static int
cmd_user(struct db *d, int argc, char **argv)
{
	const char *cmd = argc >= 1 ? argv[0] : "";
	char pw[USERS_PASSWORD_MAX + 2];
	int rc = 2;
	if (strcmp(cmd, "list") == 0 && argc == 1) {
		struct json_object *users = users_list(d, NULL);
		if (users == NULL) {
			fprintf(stderr, "portalctl: %s (did you run migrate?)\n", db_error(d));
			return 1;
		}
		printf("%-6s %-32s %-24s %-9s %s\n", "ID", "EMAIL", "NAME", "STATUS", "ROLES");
		for (size_t i = 0; i < json_object_array_length(users); i++) {
			struct json_object *u = json_object_array_get_idx(users, i), *roles;
			json_object_object_get_ex(u, "roles", &roles);
			char rl[1024] = "";
			size_t off = 0;
			for (size_t k = 0; k < json_object_array_length(roles) && off < sizeof(rl); k++) {
				struct json_object *r = json_object_array_get_idx(roles, k);
				off += (size_t)snprintf(rl + off, sizeof(rl) - off, "%s%s:%s", k ? "," : "",
				                        json_object_get_string(json_object_object_get(r, "municipality")),
				                        json_object_get_string(json_object_object_get(r, "role")));
			}
			printf("%-6s %-32s %-24s %-9s %s\n",
			       json_object_get_string(json_object_object_get(u, "id")),
			       json_object_get_string(json_object_object_get(u, "email")),
			       json_object_get_string(json_object_object_get(u, "name")),
			       json_object_object_get(u, "disabled_at") ? "disabled" : "active", *rl ? rl : "-");
		}
		json_object_put(users);
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "portalctl: user add|list|disable|passwd|role (see portalctl user --help)\n");
		return 2;
	}
	const char *email = argv[1];
	if (strcmp(cmd, "add") == 0) {
		const char *name = NULL, *muni = NULL;
		int role;
		if ((rc = user_scope(cmd, argc - 2, argv + 2, &name, &muni, &role, 0)) != 0)
			return rc;
		if (!users_email_ok(email)) {
			fprintf(stderr, "portalctl: \"%s\" is not an e-mail address\n", email);
			return 2;
		}
		if (user_read_password(cmd, pw, sizeof(pw)) != 0)
			return 1;
		long long id = users_add(d, email, name, pw);
		sodium_memzero(pw, sizeof(pw));
		if (id == 0) {
			fprintf(stderr, "portalctl: an account \"%s\" exists already (user role, user passwd "
			                "change it)\n", email);
			return 1;
		}
		if (id < 0 || users_set_role(d, id, muni, role) != PORTAL_OK) {
			fprintf(stderr, "portalctl: cannot store the account: %s (did you run migrate?)\n",
			        db_error(d));
			return 1;
		}
		fprintf(stderr, "portalctl: user %lld created: %s, %s for %s\n", id, email,
		        auth_role_name(role), muni);
		return 0;
	}
	if (strcmp(cmd, "role") == 0) {
		const char *muni = NULL;
		int role;
		if ((rc = user_scope(cmd, argc - 2, argv + 2, NULL, &muni, &role, 1)) != 0)
			return rc;
		long long id = user_id(d, email);
		if (id == 0)
			return 1;
		if (users_set_role(d, id, muni, role) != PORTAL_OK) {
			fprintf(stderr, "portalctl: %s\n", db_error(d));
			return 1;
		}
		fprintf(stderr, "portalctl: %s is now %s for %s\n", email, auth_role_name(role), muni);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "portalctl: user %s: unexpected \"%s\"\n", cmd, argv[2]);
		return 2;
	}
	if (strcmp(cmd, "disable") == 0) {
		long long id = user_id(d, email);
		if (id == 0)
			return 1;
		rc = users_disable(d, id);
		if (rc < 0)
			fprintf(stderr, "portalctl: %s\n", db_error(d));
		else
			fprintf(stderr, "portalctl: %s %s\n", email, rc ? "disabled; its sessions ended" : "was disabled already");
		return rc < 0;
	}
	if (strcmp(cmd, "passwd") == 0) {
		long long id = user_id(d, email);
		if (id == 0 || user_read_password(cmd, pw, sizeof(pw)) != 0)
			return 1;
		rc = users_passwd(d, id, pw);
		sodium_memzero(pw, sizeof(pw));
		if (rc < 0) {
			fprintf(stderr, "portalctl: %s\n", db_error(d));
			return 1;
		}
		fprintf(stderr, "portalctl: new password for %s; its sessions ended\n", email);
		return 0;
	}
	fprintf(stderr, "portalctl: user add|list|disable|passwd|role (see portalctl user --help)\n");
	return 2;
}

static int
cmd_audit(struct db *d, int argc, char **argv)
{
	const char *muni = NULL;
	long long limit = 50;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--municipality") == 0 && i + 1 < argc) {
			muni = argv[++i];
		} else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
			char *end;
			limit = strtoll(argv[++i], &end, 10);
			if (*end || limit < 1 || limit > 100000) {
				fprintf(stderr, "portalctl: --limit must be 1 to 100000\n");
				return 2;
			}
		} else {
			fprintf(stderr, "portalctl: audit: unexpected \"%s\"\n", argv[i]);
			return 2;
		}
	}
	struct portal_stmt *s = db_prepare(
	    d, "SELECT a.id, DATE_FORMAT(a.at, '%Y-%m-%dT%H:%i:%sZ'), a.municipality, a.module, "
	       "COALESCE(a.item_id, ''), a.action, COALESCE(t.prefix, '-'), COALESCE(a.request_id, '-'), "
	       "COALESCE(u.email, '-') "
	       "FROM audit_log a LEFT JOIN tokens t ON t.id = a.token_id "
	       "LEFT JOIN users u ON u.id = a.user_id "
	       "WHERE (? IS NULL OR a.municipality = ?) ORDER BY a.id DESC LIMIT ?");
	if (s == NULL || db_bind_text(s, 0, muni) || db_bind_text(s, 1, muni) || db_bind_int(s, 2, limit) ||
	    db_execute(s)) {
		fprintf(stderr, "portalctl: %s\n", db_error(d));
		return 1;
	}
	printf("%-8s %-20s %-14s %-14s %-8s %-7s %-12s %-32s %s\n", "ID", "AT", "MUNICIPALITY",
	       "MODULE", "ITEM", "ACTION", "TOKEN", "REQUEST", "USER");
	while (db_fetch(s) == 1)
		printf("%-8s %-20s %-14s %-14s %-8s %-7s %-12s %-32s %s\n", db_col_text(s, 0),
		       db_col_text(s, 1), db_col_text(s, 2), db_col_text(s, 3), db_col_text(s, 4),
		       db_col_text(s, 5), db_col_text(s, 6), db_col_text(s, 7), db_col_text(s, 8));
	return 0;
}

static int
cmd_export(struct core *c, int argc, char **argv)
{
	const char *slug = NULL, *out = NULL, *format = "json";
	struct transfer_opts o = {0, 0, 0, 0};
	for (int i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			format = argv[++i];
		else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)
			o.quiet = 1;
		else if (argv[i][0] != '-' && slug == NULL)
			slug = argv[i];
		else {
			fprintf(stderr, "portalctl: export: unexpected \"%s\" (see portalctl export --help)\n",
			        argv[i]);
			return 2;
		}
	}
	if (slug == NULL || (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)) {
		fprintf(stderr, "portalctl: export needs a municipality, and --format json or csv\n");
		return 2;
	}
	if (strcmp(format, "csv") == 0) {
		if (out == NULL) {
			fprintf(stderr, "portalctl: export --format csv needs -o DIR\n");
			return 2;
		}
		return transfer_export_csv(c, slug, out, &o);
	}
	if (out == NULL || strcmp(out, "-") == 0)
		return transfer_export(c, slug, stdout, &o) || fflush(stdout) != 0;
	/* FILE.tmp, then rename: no half-written document under the name */
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", out) >= sizeof(tmp)) {
		fprintf(stderr, "portalctl: export: -o %s: name too long\n", out);
		return 2;
	}
	FILE *f = transfer_fopen_private(tmp);
	if (f == NULL) {
		fprintf(stderr, "portalctl: export: %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	int rc = transfer_export(c, slug, f, &o);
	if (fclose(f) != 0 && rc == 0) {
		fprintf(stderr, "portalctl: export: %s: %s\n", tmp, strerror(errno));
		rc = 1;
	}
	if (rc == 0 && rename(tmp, out) != 0) {
		fprintf(stderr, "portalctl: export: %s: %s\n", out, strerror(errno));
		rc = 1;
	}
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static int
cmd_import(struct core *c, int argc, char **argv)
{
	const char *slug = NULL, *file = NULL;
	struct transfer_opts o = {0, 0, isatty(STDERR_FILENO), 0};
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0)
			o.dry_run = 1;
		else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)
			o.quiet = 1;
		else if (strcmp(argv[i], "--new-uids") == 0)
			o.new_uids = 1;
		else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && slug == NULL)
			slug = argv[i];
		else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && file == NULL)
			file = argv[i];
		else {
			fprintf(stderr, "portalctl: import: unexpected \"%s\" (see portalctl import --help)\n",
			        argv[i]);
			return 2;
		}
	}
	if (slug == NULL || file == NULL) {
		fprintf(stderr, "portalctl: import needs a municipality and a file\n");
		return 2;
	}
	return transfer_import(c, slug, file, &o);
}

/* The core as portald runs it, in this process, for export and import. */
static int
cmd_transfer(struct db *d, const char *cmd, int argc, char **argv)
{
	struct core c;
	memset(&c, 0, sizeof(c));
	c.conf = &conf;
	c.plugins = &plugins;
	c.db = d;
	pool_init(&c.pool);
	int rc = strcmp(cmd, "export") == 0 ? cmd_export(&c, argc, argv) : cmd_import(&c, argc, argv);
	db_done_all(d);
	pool_destroy(&c.pool);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *cfile = NULL;
	int ch;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0)
			return help(argc, argv);
	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		switch (ch) {
		case 'c': cfile = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc >= 1 && (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (cfile == NULL || argc < 1) {
		usage(stderr);
		return 2;
	}
	if (auth_init() != PORTAL_OK)
		return 1;
	int quiet = strcmp(argv[0], "check") != 0;
	if (load(cfile, quiet) != PORTAL_OK)
		return 1;
	int rc = 2;
	const char *cmd = argv[0];
	if (strcmp(cmd, "check") == 0) {
		printf("portalctl: configuration file %s is OK (%zu plugins, %zu municipalities)\n",
		       cfile, plugins.count, conf.nmunis);
		/* where reads go: worker i reads from replica i % n */
		for (size_t i = 0; i < conf.nreplicas; i++) {
			const struct conf_db *r = &conf.replicas[i];
			if (r->socket)
				printf("portalctl: read replica %zu: socket %s, database %s, user %s\n", i + 1,
				       r->socket, r->name, r->user);
			else
				printf("portalctl: read replica %zu: %s:%d, database %s, user %s\n", i + 1,
				       r->host, r->port, r->name, r->user);
		}
		if (conf.nreplicas)
			printf("portalctl: reads go to the replicas (a failed one: to the primary for %ds), "
			       "writes and tokens to the primary\n",
			       conf.replica_retry);
		rc = 0;
	} else if (strcmp(cmd, "migrate") == 0 || strcmp(cmd, "token") == 0 ||
	           strcmp(cmd, "audit") == 0 || strcmp(cmd, "export") == 0 || strcmp(cmd, "user") == 0 ||
	           strcmp(cmd, "import") == 0) {
		struct db *d = connect_db();
		if (d == NULL)
			return 1;
		if (strcmp(cmd, "export") == 0 || strcmp(cmd, "import") == 0) {
			rc = cmd_transfer(d, cmd, argc - 1, argv + 1);
		} else if (strcmp(cmd, "audit") == 0) {
			rc = cmd_audit(d, argc - 1, argv + 1);
		} else if (strcmp(cmd, "user") == 0) {
			rc = cmd_user(d, argc - 1, argv + 1);
		} else if (strcmp(cmd, "migrate") == 0) {
			int status = argc >= 2 && strcmp(argv[1], "status") == 0;
			if (argc >= 2 && !status && strcmp(argv[1], "up") != 0) {
				usage(stderr);
				rc = 2;
			} else {
				rc = migrate_run(d, &plugins, status, status ? stdout : stderr) == PORTAL_OK ? 0 : 1;
				if (rc == 0 && !status)
					fprintf(stderr, "migrate: the database is up to date\n");
			}
		} else if (argc >= 2 && strcmp(argv[1], "create") == 0) {
			rc = cmd_token_create(d, argc - 2, argv + 2);
		} else if (argc == 2 && strcmp(argv[1], "list") == 0) {
			rc = cmd_token_list(d);
		} else if (argc == 3 && strcmp(argv[1], "revoke") == 0) {
			rc = cmd_token_revoke(d, argv[2]);
		} else {
			usage(stderr);
		}
		db_free(d);
		db_library_end();
	} else {
		fprintf(stderr, "portalctl: unknown command \"%s\"\n", cmd);
		usage(stderr);
	}
	plugin_unload_all(&plugins);
	conf_free(&conf);
	return rc;
}
