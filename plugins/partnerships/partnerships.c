/*
 * partnerships.c - the partnerships module: twin towns and other
 * partnerships of a municipality, with the agreements signed in them.
 *
 *   GET    /api/v1/{m}/partnerships        list (filters, q, keyset cursor)
 *   GET    /api/v1/{m}/partnerships/{id}   one item, ETag
 *   POST   /api/v1/{m}/partnerships        create (editor)
 *   PATCH  /api/v1/{m}/partnerships/{id}   JSON merge patch (editor)
 *   DELETE /api/v1/{m}/partnerships/{id}   delete (editor)
 *
 * Other modules link to partnerships (a visit's partnership_ids, a
 * project partner's partnership_id, a news item's related.partnerships):
 * the plugin is a link target, checks such ids through
 * store_exists, shows what links to an item as its member "linked"
 * and makes the core forget the links to an item it deletes.
 *
 * The core runs the five routes (api->item, portal.h): this file declares
 * the item (schema, read-only members, defaults, list filters, the store
 * of store.c) and keeps the one rule of its own, doc_check's.
 */
#include <string.h>

#include "partnerships.h"

const struct portal_api *api;

/* The OpenAPI fragment, openapi.json embedded by the Makefile. */
extern const char partnerships_openapi[];
/* Generated from templates/ and messages.json (pages for citizens). */
struct file_src {
	const char *name, *text;
};
extern const struct file_src partnerships_templates[];
extern const char partnerships_messages[];

/* Generated from schema/NNN_name.sql by tools/embed-migrations.sh. */
struct portal_migration_src {
	unsigned version;
	const char *name;
	const char *sql;
};
extern const struct portal_migration_src partnerships_migrations[];

static const struct portal_setting partnerships_settings[] = {
	{.name = "max_agreements", .type = PS_INT, .min = 0, .max = PARTNERSHIPS_MAX_AGREEMENTS,
	 .def_int = 50, .help = "how many agreements one partnership may list"},
	{.name = NULL},
};

/* ---- the module's own rules ---- */

/* check hook: the rules across members (doc.c).  The municipality's
 * max_agreements applies when the write sets "agreements" (a create, or a
 * patch that writes them), so lowering the setting does not lock older
 * items. */
static int
partnerships_check(portal_req *r, struct portal_write *w)
{
	doc_check(r, w->doc, w->patch == NULL || json_object_object_get_ex(w->patch, "agreements", NULL));
	return PORTAL_OK;
}

/* The list's filters, in the order of enum store_filter. */
static const struct portal_filter partnerships_filters[] = {
	[F_COUNTRY] = {.name = "country", .type = PF_COUNTRY},
	[F_KIND] = {.name = "kind", .type = PF_ENUM, .values = doc_kinds},
	[F_STATUS] = {.name = "status", .type = PF_ENUM, .values = doc_statuses},
	[F_AREA] = {.name = "area", .type = PF_ENUM, .values = doc_areas},
	{.name = NULL},
};

/*
 * The item.  Other modules link to partnerships (a visit's
 * partnership_ids, a project partner's partnership_id, a news item's
 * related.partnerships), so it is a link target: `exists` answers for
 * them, single items carry "linked", and a partnership something links to
 * is not deleted (409): the relation is ended (status "ended"), not erased.
 */
static const struct portal_item partnerships_item = {
	.noun = "partnership",
	.list_summary = "list partnerships (country, kind, status, area, q, limit, cursor)",
	.schema = doc_schema,
	.readonly = doc_readonly,
	.defaults = "{\"status\": \"active\"}",
	.filters = partnerships_filters,
	.load = store_load,
	.list = store_list,
	.insert = store_insert,
	.update = store_update,
	.remove = store_delete,
	.exists = store_exists,
	.check = partnerships_check,
};

/* ---- the module ---- */

static int
partnerships_init(portal_plugin *p, const struct portal_api *core)
{
	if (core->abi_version != PORTAL_ABI_VERSION || !PORTAL_API_HAS(core, list_rows)) {
		core->plugin_log(p, PORTAL_LOG_ERR, "the core's API table is older than this plugin");
		return PORTAL_ERROR;
	}
	api = core;
	if (api->item(p, &partnerships_item) != PORTAL_OK)
		return PORTAL_ERROR;
	for (const struct portal_migration_src *m = partnerships_migrations; m->sql; m++)
		if (api->migration(p, m->version, m->name, m->sql) != PORTAL_OK)
			return PORTAL_ERROR;
	if (api->openapi(p, partnerships_openapi) != PORTAL_OK) {
		api->plugin_log(p, PORTAL_LOG_ERR, "cannot register the OpenAPI fragment");
		return PORTAL_ERROR;
	}
	for (const struct file_src *t = partnerships_templates; t->name; t++)
		if (api->template(p, t->name, t->text) != PORTAL_OK)
			return PORTAL_ERROR;
	return api->messages(p, partnerships_messages);
}

static void
partnerships_fini(portal_plugin *p)
{
	(void)p;
	api = NULL;
}

const struct portal_module portal_module = {
	PORTAL_MODULE_V1,
	.name = "partnerships",
	.version = "1.0.0",
	.settings = partnerships_settings,
	.init = partnerships_init,
	.fini = partnerships_fini,
};
