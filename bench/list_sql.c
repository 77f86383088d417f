/*
 * list_sql.c - prints the list statement the core derives from a plugin's
 * declared item (core/items/store.c), for bench/scale.py's ANALYZE:
 *
 *   list_sql PLUGIN_SO NAME
 */
#include <stdio.h>
#include <string.h>

#include "core.h"

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fputs("usage: list_sql PLUGIN_SO NAME\n", stderr);
		return 2;
	}
	log_level = -1; /* quiet */
	struct plugins ps;
	memset(&ps, 0, sizeof(ps));
	ps.router = router_new();
	char err[512] = "";
	if (plugin_load(&ps, argv[1], argv[2], NULL, err, sizeof(err)) != PORTAL_OK) {
		fprintf(stderr, "list_sql: %s\n", err);
		return 1;
	}
	portal_plugin *p = plugin_find(&ps, argv[2]);
	int rc = p && p->store ? 0 : 1;
	if (rc == 0)
		puts(p->store->list);
	else
		fprintf(stderr, "list_sql: %s declares no item with a table\n", argv[2]);
	plugin_unload_all(&ps);
	return rc;
}
