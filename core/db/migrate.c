/*
 * migrate.c - schema migrations: the core's (schema/NNN_name.sql, compiled
 * in) and each plugin's, applied in order and recorded in
 * schema_migrations(component, version).  A migration's statements are
 * separated by ";" at the end of a line; "--" comment lines are dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static int
migrate_apply_sql(struct db *d, const char *sql, FILE *out)
{
	char *copy = strdup(sql);
	if (copy == NULL)
		return PORTAL_ERROR;
	/* each line is copied with a '\n' and a NUL after it: one byte more
	 * than the text when its last line has no newline of its own */
	size_t cap = strlen(sql) + 2, len = 0;
	char *stmt = malloc(cap);
	int rc = PORTAL_OK;
	if (stmt == NULL) {
		free(copy);
		return PORTAL_ERROR;
	}
	stmt[0] = '\0';
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "--", 2) == 0 || *p == '\0')
			continue;
		size_t n = strlen(line);
		memcpy(stmt + len, line, n);
		len += n;
		stmt[len++] = '\n';
		stmt[len] = '\0';
		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
			n--;
		if (n > 0 && line[n - 1] == ';') {
			if (db_exec(d, stmt) != PORTAL_OK) {
				if (out)
					fprintf(out, "  failed: %s\n  in: %.200s\n", db_error(d), stmt);
				rc = PORTAL_ERROR;
				break;
			}
			len = 0;
			stmt[0] = '\0';
		}
	}
	if (rc == PORTAL_OK && len > 0) {
		int blank = 1;
		for (size_t i = 0; i < len; i++)
			if (stmt[i] != ' ' && stmt[i] != '\n' && stmt[i] != '\t')
				blank = 0;
		if (!blank && db_exec(d, stmt) != PORTAL_OK) {
			if (out)
				fprintf(out, "  failed: %s\n  in: %.200s\n", db_error(d), stmt);
			rc = PORTAL_ERROR;
		}
	}
	free(stmt);
	free(copy);
	return rc;
}

static long long
migrate_current(struct db *d, const char *component)
{
	struct portal_stmt *s =
	    db_prepare(d, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = ?");
	if (s == NULL || db_bind_text(s, 0, component) != PORTAL_OK || db_execute(s) != PORTAL_OK)
		return -1;
	long long v = db_fetch(s) == 1 ? db_col_int(s, 0) : -1;
	db_done(s);
	return v;
}

static int
migrate_component(struct db *d, const char *component, const struct plugin_migration *m,
                  size_t n, int status_only, FILE *out)
{
	long long cur = migrate_current(d, component);
	if (cur < 0) {
		if (out)
			fprintf(out, "migrate: cannot read schema_migrations: %s\n", db_error(d));
		return PORTAL_ERROR;
	}
	if ((size_t)cur > n && out)
		fprintf(out, "migrate: %s: the database is at version %lld, newer than this build (%zu)\n",
		        component, cur, n);
	for (size_t i = 0; i < n; i++) {
		if (m[i].version <= cur) {
			if (status_only && out)
				fprintf(out, "%-16s %3u %-28s applied\n", component, m[i].version, m[i].name);
			continue;
		}
		if (status_only) {
			if (out)
				fprintf(out, "%-16s %3u %-28s pending\n", component, m[i].version, m[i].name);
			continue;
		}
		if (out)
			fprintf(out, "migrate: %s %u %s ... ", component, m[i].version, m[i].name), fflush(out);
		if (migrate_apply_sql(d, m[i].sql, out) != PORTAL_OK)
			return PORTAL_ERROR;
		struct portal_stmt *s = db_prepare(
		    d, "INSERT INTO schema_migrations (component, version, name) VALUES (?, ?, ?)");
		if (s == NULL || db_bind_text(s, 0, component) != PORTAL_OK ||
		    db_bind_int(s, 1, m[i].version) != PORTAL_OK || db_bind_text(s, 2, m[i].name) ||
		    db_execute(s) != PORTAL_OK) {
			if (out)
				fprintf(out, "\nmigrate: cannot record %s %u: %s\n", component, m[i].version,
				        db_error(d));
			return PORTAL_ERROR;
		}
		db_done(s);
		if (out)
			fprintf(out, "applied\n");
	}
	return PORTAL_OK;
}

/* The table of a module's item the core adds its own columns and index
 * to (sources, uid, the FULLTEXT index), or NULL: the module has no
 * derived store, or the name is not a plain one (a-z, 0-9, _), which is
 * the module's own business. */
static const char *
migrate_item_table(const portal_plugin *p)
{
	if (p->store == NULL || p->store->item.table == NULL)
		return NULL;
	const char *table = p->store->item.table;
	for (const char *c = table; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return NULL;
	return table;
}

/* The column of the core's `sources` member (store.c) in the table of a
 * module's item, added after the module's own migrations when it lacks it:
 * so every module, and every module to come, keeps sources without a
 * migration of its own.  Idempotent (ADD COLUMN IF NOT EXISTS); a table
 * the module has not made (yet) is left alone. */
static int
migrate_sources(struct db *d, const portal_plugin *p, FILE *out)
{
	const char *table = migrate_item_table(p);
	if (table == NULL)
		return PORTAL_OK;
	struct portal_stmt *s = db_prepare(
	    d, "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE()"
	       " AND table_name = ? AND column_name IN ('id', '" STORE_SOURCES "')");
	if (s == NULL || db_bind_text(s, 0, table) != PORTAL_OK || db_execute(s) != PORTAL_OK) {
		if (out)
			fprintf(out, "migrate: %s: %s\n", p->name, db_error(d));
		return PORTAL_ERROR;
	}
	long long n = db_fetch(s) == 1 ? db_col_int(s, 0) : -1;
	db_done(s);
	if (n != 1) /* no table (0), or it has the column already (2) */
		return n < 0 ? PORTAL_ERROR : PORTAL_OK;
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "ALTER TABLE %s ADD COLUMN IF NOT EXISTS " STORE_SOURCES
	         " LONGTEXT NOT NULL DEFAULT '[]' CHECK (JSON_VALID(" STORE_SOURCES "))",
	         table);
	if (out)
		fprintf(out, "migrate: %s: the column %s.%s ... ", p->name, table, STORE_SOURCES),
		    fflush(out);
	if (db_exec(d, sql) != PORTAL_OK) {
		if (out)
			fprintf(out, "failed: %s\n", db_error(d));
		return PORTAL_ERROR;
	}
	if (out)
		fprintf(out, "added\n");
	return PORTAL_OK;
}

/* The column of the core's `uid` member (store.c): a UUID that names the
 * item across installations (export and import keep it), unique in the
 * table, added after the module's own migrations when the table lacks it,
 * like `sources`.  Rows made before it get a version 4 UUID made from a
 * random salt and their id; store_insert gives every new row its own. */
static int
migrate_uid(struct db *d, const portal_plugin *p, FILE *out)
{
	const char *table = migrate_item_table(p);
	if (table == NULL)
		return PORTAL_OK;
	struct portal_stmt *s = db_prepare(
	    d, "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE()"
	       " AND table_name = ? AND column_name IN ('id', '" STORE_UID "')");
	if (s == NULL || db_bind_text(s, 0, table) != PORTAL_OK || db_execute(s) != PORTAL_OK) {
		if (out)
			fprintf(out, "migrate: %s: %s\n", p->name, db_error(d));
		return PORTAL_ERROR;
	}
	long long n = db_fetch(s) == 1 ? db_col_int(s, 0) : -1;
	db_done(s);
	if (n != 1)
		return n < 0 ? PORTAL_ERROR : PORTAL_OK;
	char sql[1024];
	snprintf(sql, sizeof(sql),
	         "ALTER TABLE %s ADD COLUMN IF NOT EXISTS " STORE_UID
	         " CHAR(36) CHARACTER SET ascii COLLATE ascii_general_ci NULL,"
	         " ADD UNIQUE KEY IF NOT EXISTS %s_" STORE_UID " (" STORE_UID ")",
	         table, table);
	if (out)
		fprintf(out, "migrate: %s: the column %s.%s ... ", p->name, table, STORE_UID), fflush(out);
	int rc = db_exec(d, sql);
	if (rc == PORTAL_OK)
		rc = db_exec(d, "SET @portal_uid_salt = CONCAT(UUID(), RAND())");
	if (rc == PORTAL_OK) {
#define H "SHA2(CONCAT(@portal_uid_salt, ':', id), 256)"
		snprintf(sql, sizeof(sql),
		         "UPDATE %s SET " STORE_UID " = CONCAT(SUBSTR(" H ", 1, 8), '-', SUBSTR(" H
		         ", 9, 4), '-4', SUBSTR(" H ", 14, 3), '-', ELT(1 + CONV(SUBSTR(" H
		         ", 17, 1), 16, 10) %% 4, '8', '9', 'a', 'b'), SUBSTR(" H ", 18, 3), '-', SUBSTR(" H
		         ", 21, 12)) WHERE " STORE_UID " IS NULL",
		         table);
#undef H
		rc = db_exec(d, sql);
	}
	if (rc != PORTAL_OK) {
		if (out)
			fprintf(out, "failed: %s\n", db_error(d));
		return PORTAL_ERROR;
	}
	if (out)
		fprintf(out, "added\n");
	return PORTAL_OK;
}

/* The FULLTEXT index over search_text in the table of a module's item
 * (search.c: `q` of the module's list and the search across modules ask
 * it), added after the module's own migrations when the table has the
 * column and no such index: so every module, and every module to come,
 * is searched through an index without a migration of its own.  Built
 * without stopwords (innodb_ft_enable_stopword is taken for the index
 * when it is made), so "the" or "och" are found like any other word.  A
 * table the module has not made (yet) is left alone. */
static int
migrate_fulltext(struct db *d, const portal_plugin *p, FILE *out)
{
	const char *table = migrate_item_table(p);
	if (table == NULL)
		return PORTAL_OK;
	struct portal_stmt *s = db_prepare(
	    d, "SELECT (SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE()"
	       " AND table_name = ? AND column_name = 'search_text'),"
	       " (SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE()"
	       " AND table_name = ? AND column_name = 'search_text' AND index_type = 'FULLTEXT')");
	if (s == NULL || db_bind_text(s, 0, table) != PORTAL_OK || db_bind_text(s, 1, table) != PORTAL_OK ||
	    db_execute(s) != PORTAL_OK) {
		if (out)
			fprintf(out, "migrate: %s: %s\n", p->name, db_error(d));
		return PORTAL_ERROR;
	}
	long long has_col = -1, has_index = -1;
	if (db_fetch(s) == 1) {
		has_col = db_col_int(s, 0);
		has_index = db_col_int(s, 1);
	}
	db_done(s);
	if (has_col < 0 || has_index < 0)
		return PORTAL_ERROR;
	if (has_col == 0 || has_index > 0)
		return PORTAL_OK;
	char sql[256];
	snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD FULLTEXT INDEX %.40s_search (search_text)", table,
	         table);
	if (out)
		fprintf(out, "migrate: %s: the FULLTEXT index %s.search_text ... ", p->name, table),
		    fflush(out);
	if (db_exec(d, "SET SESSION innodb_ft_enable_stopword = OFF") != PORTAL_OK ||
	    db_exec(d, sql) != PORTAL_OK) {
		if (out)
			fprintf(out, "failed: %s\n", db_error(d));
		return PORTAL_ERROR;
	}
	db_exec(d, "SET SESSION innodb_ft_enable_stopword = DEFAULT");
	if (out)
		fprintf(out, "added\n");
	return PORTAL_OK;
}


int
migrate_run(struct db *d, struct plugins *ps, int status_only, void *outp)
{
	FILE *out = outp;
	if (db_exec(d, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	               " component VARCHAR(64) NOT NULL,"
	               " version INT UNSIGNED NOT NULL,"
	               " name VARCHAR(200) NOT NULL,"
	               " applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),"
	               " PRIMARY KEY (component, version)"
	               ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci") != PORTAL_OK) {
		if (out)
			fprintf(out, "migrate: %s\n", db_error(d));
		return PORTAL_ERROR;
	}
	size_t n = 0;
	while (core_migrations[n].sql)
		n++;
	struct plugin_migration *cm = calloc(n + 1, sizeof(*cm));
	if (cm == NULL)
		return PORTAL_ERROR;
	for (size_t i = 0; i < n; i++) {
		cm[i].version = core_migrations[i].version;
		cm[i].name = core_migrations[i].name;
		cm[i].sql = core_migrations[i].sql;
	}
	int rc = migrate_component(d, "core", cm, n, status_only, out);
	free(cm);
	for (portal_plugin *p = ps->head; rc == PORTAL_OK && p; p = p->next) {
		rc = migrate_component(d, p->name, p->migrations, p->nmigrations, status_only, out);
		if (rc == PORTAL_OK && !status_only)
			rc = migrate_sources(d, p, out);
		if (rc == PORTAL_OK && !status_only)
			rc = migrate_uid(d, p, out);
		if (rc == PORTAL_OK && !status_only)
			rc = migrate_fulltext(d, p, out);
	}
	return rc;
}
