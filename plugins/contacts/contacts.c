/*
 * contacts.c - the contacts module: the people and units to ask about a
 * municipality's international work, as the municipality publishes them
 * (name, title, unit, e-mail, phone, languages, areas), and what each
 * answers for: partnerships and projects, whose pages then say "Ask: ...".
 *
 * The item is declared once, below (fields, columns of the table
 * `contacts`, filters, sort key); the core derives the five routes, the SQL
 * and the item's JSON from it (portal.h, struct portal_item).  What is this
 * module's own: the shape of an e-mail address and a phone number, its
 * `links` to partnerships and projects, and the list's partnership and
 * project arguments.  Who sees a contact that is not public is declared
 * (`published`: the core's rule).
 *
 * A contact with public = false (the default: personal data are shown
 * only once the municipality decides to publish them) exists only for a
 * token of the municipality with role reader or higher: to anyone else it
 * is a 404, absent from lists, from contacts.vcf and from the pages of the
 * items it is linked to.
 */
#include <string.h>

#include "portal.h"

PORTAL_PLUGIN_API; /* defined by PORTAL_PLUGIN, at the end */

#define CONTACTS_MAX_LINKS 50 /* ids per linked module */
#define CONTACTS_MAX_ID 9223372036854775807.0

static const char *const contacts_areas[] = {PORTAL_AREAS, NULL};

static const struct portal_field contacts_area = {.name = "area", .type = PF_ENUM,
                                                  .values = contacts_areas};
static const struct portal_field contacts_language = {.name = "language", .type = PF_LANG};
static const struct portal_field contacts_id = {.name = "id", .type = PF_INT, .min = 1,
                                                .max_num = CONTACTS_MAX_ID};

/* What a contact answers for: ids of this municipality's partnerships and
 * projects, checked with those modules on write. */
static const struct portal_field contacts_links_fields[] = {
	{.name = "partnerships", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = CONTACTS_MAX_LINKS,
	 .items = &contacts_id, .link = "partnerships"},
	{.name = "projects", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = CONTACTS_MAX_LINKS,
	 .items = &contacts_id, .link = "projects"},
	{.name = NULL},
};

/* The item.  public gets its default (false) on create; links is always
 * stored with both arrays (contacts_check). */
static const struct portal_field contacts_fields[] = {
	{.name = "name", .type = PF_STRING, .flags = PF_REQUIRED | PF_SEARCH, .max = 200,
	 .doc = "A person's name, or a unit's (Servicecenter)."},
	{.name = "title", .type = PF_STRING, .flags = PF_SEARCH, .max = 200,
	 .doc = "What the person does: internationell samordnare."},
	{.name = "unit", .type = PF_STRING, .flags = PF_SEARCH, .max = 200},
	{.name = "email", .type = PF_STRING, .max = 254,
	 .doc = "An e-mail address (name@kommun.se)."},
	{.name = "phone", .type = PF_STRING, .max = 40,
	 .doc = "As the municipality writes it: digits, blanks, a leading +, and - ( ) / ."},
	{.name = "languages", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = 20,
	 .items = &contacts_language,
	 .doc = "The languages one may write or speak in (BCP 47)."},
	{.name = "areas", .type = PF_ARRAY, .flags = PF_UNIQUE, .max = PORTAL_NAREAS,
	 .items = &contacts_area},
	{.name = "links", .type = PF_OBJECT, .fields = contacts_links_fields, .column = "links",
	 .doc = "What the contact answers for: ids of this municipality's partnerships and "
	        "projects (which must have the module enabled); their pages show the contact "
	        "(\"Ask: ...\"). A missing or null array is []."},
	{.name = "public", .type = PF_BOOL, .flags = PF_REQUIRED,
	 .doc = "false (the default): only tokens of the municipality with role reader or higher "
	        "see the contact."},
	{.name = NULL},
};

/* The modules a contact links to (each a member of `links`). */
static const struct {
	const char *module, *noun;
} contacts_links[] = {
	{"partnerships", "partnership"},
	{"projects", "project"},
};

/* ---- the module's own rules ---- */

/* 1 when `s` looks like an e-mail address: one @, a local part of
 * printable ASCII without blanks, quotes, angle brackets, commas and
 * semicolons, and a domain of letters, digits, hyphens and at least one
 * inner dot.  (Enough to refuse a typo; RFC 5321 allows more, that no
 * municipality uses.) */
static int
contacts_is_email(const char *s)
{
	const char *at = strchr(s, '@');
	if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
		return 0;
	for (const char *p = s; p < at; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("\"<>(),;:[]\\", *p))
			return 0;
	const char *d = at + 1;
	size_t n = strlen(d);
	if (n < 3 || d[0] == '.' || d[0] == '-' || d[n - 1] == '.' || d[n - 1] == '-' ||
	    strchr(d, '.') == NULL || strstr(d, "..") != NULL)
		return 0;
	for (const char *p = d; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '.'))
			return 0;
	return 1;
}

/* 1 when `s` is a phone number as people write it: digits, blanks, + (only
 * first), - ( ) / and ., with at least 3 digits. */
static int
contacts_is_phone(const char *s)
{
	int digits = 0;
	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '+' ? p != s : !strchr(" -()/.", *p))
			return 0;
	}
	return digits >= 3;
}

/* check hook: e-mail and phone shapes, and the links the write sets (a
 * create all; a patch those it names, so an item deleted since does not
 * lock the rest of an older contact). */
static int
contacts_check(portal_req *r, struct portal_write *w)
{
	const char *email = api->member_str(w->doc, "email"), *phone = api->member_str(w->doc, "phone");
	if (email && strlen(email) <= 254 && !contacts_is_email(email))
		api->field_error(r, "email", "must be an e-mail address such as name@kommun.se");
	if (phone && strlen(phone) <= 40 && !contacts_is_phone(phone))
		api->field_error(r, "phone", "must be a phone number: digits, blanks, a leading +, "
		                             "and - ( ) / .");
	struct json_object *links = NULL, *plinks = NULL;
	if (!json_object_object_get_ex(w->doc, "links", &links) || links == NULL) {
		links = json_object_new_object(); /* absent or null: none */
		json_object_object_add(w->doc, "links", links);
	}
	if (!json_object_is_type(links, json_type_object))
		return PORTAL_OK; /* validate said why */
	if (w->patch != NULL)
		json_object_object_get_ex(w->patch, "links", &plinks);
	for (size_t k = 0; k < sizeof(contacts_links) / sizeof(contacts_links[0]); k++) {
		struct json_object *ids = NULL;
		const char *m = contacts_links[k].module;
		if (!json_object_object_get_ex(links, m, &ids) || ids == NULL) {
			json_object_object_add(links, m, json_object_new_array());
			continue;
		}
		/* a patch checks again only the arrays it names: an item deleted
		 * since (or a module switched off) does not lock the rest */
		if (w->patch != NULL && !(json_object_is_type(plinks, json_type_object) &&
		                          json_object_object_get_ex(plinks, m, NULL)))
			continue;
		if (!json_object_is_type(ids, json_type_array))
			continue;
		for (size_t i = 0; i < json_object_array_length(ids); i++) {
			struct json_object *id = json_object_array_get_idx(ids, i);
			if (!json_object_is_type(id, json_type_int) || json_object_get_int64(id) <= 0)
				continue; /* validate reported it */
			int rc = api->link_exists(r, m, json_object_get_int64(id));
			if (rc < 0)
				return PORTAL_ERROR;
			if (rc == 0)
				api->field_error(r, api->printf(r, "links.%s[%zu]", m, i),
				                 "is not a %s of %s", contacts_links[k].noun,
				                 api->municipality(r));
		}
	}
	return PORTAL_OK;
}

/* written hook: the links in the core (after every write, so a changed
 * name, title or public flag reaches the partnerships' and projects'
 * pages).  The link's title is how a target names the contact: "name,
 * title". */
static int
contacts_written(portal_req *r, struct portal_write *w)
{
	struct json_object *doc = w->doc, *pub, *links = NULL;
	const char *name = api->member_str(doc, "name"), *title = api->member_str(doc, "title");
	const char *label = title ? api->printf(r, "%s, %s", name ? name : "", title) : name;
	int is_public = json_object_object_get_ex(doc, "public", &pub) && json_object_get_boolean(pub);
	json_object_object_get_ex(doc, "links", &links);
	for (size_t k = 0; k < sizeof(contacts_links) / sizeof(contacts_links[0]); k++) {
		size_t n;
		long long *ids = api->member_ids(r, links, contacts_links[k].module, &n, 0);
		if (api->link_set(r, w->id, contacts_links[k].module, ids, n, label, NULL, is_public) !=
		    PORTAL_OK)
			return PORTAL_ERROR;
	}
	return PORTAL_OK;
}

/* ---- the list ---- */

static const char *
contacts_id_arg(portal_req *r, const char *name, const char *noun, const char *v)
{
	if (api->parse_id(v) > 0)
		return v;
	api->field_error(r, name, "must be a %s id (a positive integer)", noun);
	return NULL;
}

static const char *
contacts_partnership_arg(portal_req *r, struct portal_list *l, const char *v)
{
	return contacts_id_arg(r, "partnership", "partnership", v);
}

static const char *
contacts_project_arg(portal_req *r, struct portal_list *l, const char *v)
{
	return contacts_id_arg(r, "project", "project", v);
}

/* An id argument is digits only, so it is a JSON number as it is. */
static const struct portal_filter contacts_filters[] = {
	{.name = "area", .member = "areas",
	 .doc = "Contacts whose areas contain this one."},
	{.name = "language", .member = "languages",
	 .doc = "Contacts who take this language (exactly as written)."},
	{.name = "partnership", .type = PF_INT, .parse = contacts_partnership_arg,
	 .sql = "JSON_CONTAINS(t.links, ?, '$.partnerships')",
	 .doc = "Contacts for this partnership id."},
	{.name = "project", .type = PF_INT, .parse = contacts_project_arg,
	 .sql = "JSON_CONTAINS(t.links, ?, '$.projects')",
	 .doc = "Contacts for this project id."},
	{.name = NULL},
};

/* By name (the column's collation), then id. */
static const struct portal_item contacts_item = {
	.noun = "contact", .schema = contacts_fields, .own_answer = 1,
	.defaults = "{\"public\": false}",
	.list_summary = "list contacts by name (area, language, partnership, project, q, limit, cursor)",
	.table = "contacts", .published = {.member = "public"}, .sort = "t.name",
	.cursor_max = 200,
	.filters = contacts_filters,
	/* the module's own rules */
	.check = contacts_check, .written = contacts_written,
};

PORTAL_PLUGIN(contacts, "1.0.0", NULL, &contacts_item, NULL);
