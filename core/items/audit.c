/*
 * audit.c - the audit log: every write, in its own transaction (who, when,
 * which municipality, module and item, before and after), and
 * GET /api/v1/{m}/audit for the municipality's admins.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

int
audit_record(struct portal_req *r, const char *action, long long id, struct json_object *before,
             struct json_object *after)
{
	pool_keep_json(r->pool, before);
	pool_keep_json(r->pool, after);
	struct portal_stmt *s = db_prepare(r->core->db,
	                                   "INSERT INTO audit_log (token_id, municipality, module, item_id, "
	                                   "action, request_id, before_doc, after_doc, user_id) "
	                                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL)
		return PORTAL_ERROR;
	if (r->has_token)
		db_bind_int(s, 0, r->token.id);
	else
		db_bind_null(s, 0);
	db_bind_text(s, 1, r->muni ? r->muni->slug : "");
	db_bind_text(s, 2, r->plugin ? r->plugin->name : "core");
	db_bind_int(s, 3, id);
	db_bind_text(s, 4, action);
	db_bind_text(s, 5, r->request_id);
	db_bind_text(s, 6, before ? json_object_to_json_string_ext(before, JSON_C_TO_STRING_PLAIN) : NULL);
	db_bind_text(s, 7, after ? json_object_to_json_string_ext(after, JSON_C_TO_STRING_PLAIN) : NULL);
	/* a browser write: its signed-in user (a token, when one was sent, is
	 * recorded as well) */
	if (r->user)
		db_bind_int(s, 8, r->user->id);
	else
		db_bind_null(s, 8);
	int rc = db_execute(s);
	db_done(s);
	return rc;
}

static long long
audit_id_arg(struct portal_req *r, const char *name)
{
	const char *v = req_query(r, name);
	if (v == NULL)
		return 0;
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (*v < '1' || *v > '9' || *end || errno || n <= 0) {
		out_field_error(r, name, "must be a positive whole number");
		return -1;
	}
	return n;
}

void
audit_list(struct core *c, struct portal_req *r)
{
	const char *module = req_query(r, "module"), *action = req_query(r, "action");
	const char *since = req_query(r, "since");
	long long item = audit_id_arg(r, "item"), after_id = 0;
	int limit = paging_limit(r);
	if (module && plugin_find(c->plugins, module) == NULL)
		out_field_error(r, "module", "is not a loaded module");
	if (action && strcmp(action, "create") && strcmp(action, "update") && strcmp(action, "delete"))
		out_field_error(r, "action", "must be one of: create, update, delete");
	if (since && !valid_partial_date(since))
		out_field_error(r, "since", "must be a date as YYYY, YYYY-MM or YYYY-MM-DD");
	const char *cursor = req_query(r, "cursor");
	if (cursor) {
		struct json_object *k = paging_cursor_decode(r, cursor);
		struct json_object *id = k ? json_object_array_get_idx(k, 0) : NULL;
		if (k && (json_object_array_length(k) != 1 || !json_object_is_type(id, json_type_int) ||
		          json_object_get_int64(id) <= 0))
			out_field_error(r, "cursor", "is not a cursor of this list; start without it");
		else if (id)
			after_id = json_object_get_int64(id);
	}
	if (r->errors && json_object_array_length(r->errors) > 0) {
		out_problem(r, 422, "the list's arguments are not valid");
		return;
	}
	struct portal_stmt *s = db_prepare(
	    c->db,
	    "SELECT a.id, DATE_FORMAT(a.at, '%Y-%m-%dT%H:%i:%s.%fZ'), a.token_id, t.prefix, t.label, "
	    "a.module, a.item_id, a.action, a.request_id, a.before_doc, a.after_doc, "
	    "a.user_id, u.name, u.email "
	    "FROM audit_log a LEFT JOIN tokens t ON t.id = a.token_id "
	    "LEFT JOIN users u ON u.id = a.user_id "
	    "WHERE a.municipality = ? AND (? IS NULL OR a.module = ?) AND (? = 0 OR a.item_id = ?) "
	    "AND (? IS NULL OR a.action = ?) AND (? IS NULL OR a.at >= ?) AND (? = 0 OR a.id < ?) "
	    "ORDER BY a.id DESC LIMIT ?");
	if (s == NULL || db_bind_text(s, 0, r->muni->slug) || db_bind_text(s, 1, module) ||
	    db_bind_text(s, 2, module) || db_bind_int(s, 3, item) || db_bind_int(s, 4, item) ||
	    db_bind_text(s, 5, action) || db_bind_text(s, 6, action) || db_bind_text(s, 7, since) ||
	    db_bind_text(s, 8, since) || db_bind_int(s, 9, after_id) || db_bind_int(s, 10, after_id) ||
	    db_bind_int(s, 11, limit + 1) || db_execute(s)) {
		out_problem(r, 503, "the database does not answer; try again shortly");
		return;
	}
	struct json_object *res = json_object_new_object(), *items = json_object_new_array();
	json_object_object_add(res, "items", items);
	int n = 0, rc;
	long long last = 0;
	while ((rc = db_fetch(s)) == 1) {
		if (++n > limit)
			break;
		struct json_object *o = json_object_new_object(), *tok = NULL;
		last = db_col_int(s, 0);
		json_object_object_add(o, "id", json_object_new_int64(last));
		/* DATE_FORMAT gives microseconds; keep milliseconds */
		char at[40];
		snprintf(at, sizeof(at), "%.23sZ", db_col_text(s, 1));
		json_object_object_add(o, "at", json_object_new_string(at));
		if (!db_col_is_null(s, 2)) {
			tok = json_object_new_object();
			json_object_object_add(tok, "id", json_object_new_int64(db_col_int(s, 2)));
			json_object_object_add(tok, "prefix", db_col_text(s, 3) ? json_object_new_string(db_col_text(s, 3)) : NULL);
			json_object_object_add(tok, "label", db_col_text(s, 4) ? json_object_new_string(db_col_text(s, 4)) : NULL);
		}
		json_object_object_add(o, "token", tok);
		struct json_object *user = NULL;
		if (!db_col_is_null(s, 11)) {
			user = json_object_new_object();
			json_object_object_add(user, "id", json_object_new_int64(db_col_int(s, 11)));
			json_object_object_add(user, "name", db_col_text(s, 12) ? json_object_new_string(db_col_text(s, 12)) : NULL);
			json_object_object_add(user, "email", db_col_text(s, 13) ? json_object_new_string(db_col_text(s, 13)) : NULL);
		}
		json_object_object_add(o, "user", user);
		json_object_object_add(o, "module", json_object_new_string(db_col_text(s, 5)));
		json_object_object_add(o, "item_id", db_col_is_null(s, 6) ? NULL : json_object_new_int64(db_col_int(s, 6)));
		json_object_object_add(o, "action", json_object_new_string(db_col_text(s, 7)));
		json_object_object_add(o, "request_id", db_col_text(s, 8) ? json_object_new_string(db_col_text(s, 8)) : NULL);
		const char *b = db_col_text(s, 9), *a = db_col_text(s, 10);
		json_object_object_add(o, "before", b ? json_tokener_parse(b) : NULL);
		json_object_object_add(o, "after", a ? json_tokener_parse(a) : NULL);
		json_object_array_add(items, o);
	}
	db_done(s);
	if (rc < 0) {
		json_object_put(res);
		out_problem(r, 503, "the database does not answer; try again shortly");
		return;
	}
	if (n > limit) {
		struct json_object *keys = json_object_new_array();
		json_object_array_add(keys, json_object_new_int64(last));
		json_object_object_add(res, "next", json_object_new_string(paging_cursor_encode(r, keys)));
		json_object_put(keys);
	} else {
		json_object_object_add(res, "next", NULL);
	}
	out_json(r, 200, res);
}

/*
 * The history of one item, newest first (at most 200 entries): [{"id",
 * "at", "action", "user" (the browser user's name, or null), "token_id"
 * (or null), "before", "after"}], owned by the request.  For the editor's
 * history page; the caller checks the role.
 */
int
audit_history(struct portal_req *r, const char *slug, const char *module, long long id,
              struct json_object **out)
{
	struct portal_stmt *s = db_prepare(
	    r->core->db, "SELECT a.id, DATE_FORMAT(a.at, '%Y-%m-%d %H:%i:%s'), a.action, u.name, "
	                 "a.token_id, a.before_doc, a.after_doc FROM audit_log a "
	                 "LEFT JOIN users u ON u.id = a.user_id "
	                 "WHERE a.municipality = ? AND a.module = ? AND a.item_id = ? "
	                 "ORDER BY a.id DESC LIMIT 200");
	if (s == NULL || db_bind_text(s, 0, slug) != PORTAL_OK || db_bind_text(s, 1, module) != PORTAL_OK ||
	    db_bind_int(s, 2, id) != PORTAL_OK || db_execute(s) != PORTAL_OK)
		return PORTAL_ERROR;
	struct json_object *list = pool_keep_json(r->pool, json_object_new_array());
	int rc;
	while ((rc = db_fetch(s)) == 1) {
		struct json_object *e = json_object_new_object();
		json_object_object_add(e, "id", json_object_new_string(db_col_text(s, 0)));
		json_object_object_add(e, "at", json_object_new_string(db_col_text(s, 1)));
		json_object_object_add(e, "action", json_object_new_string(db_col_text(s, 2)));
		json_object_object_add(e, "user", db_col_text(s, 3) ? json_object_new_string(db_col_text(s, 3)) : NULL);
		json_object_object_add(e, "token_id", db_col_is_null(s, 4) ? NULL : json_object_new_int64(db_col_int(s, 4)));
		json_object_object_add(e, "before", db_col_text(s, 5) ? json_tokener_parse(db_col_text(s, 5)) : NULL);
		json_object_object_add(e, "after", db_col_text(s, 6) ? json_tokener_parse(db_col_text(s, 6)) : NULL);
		json_object_array_add(list, e);
	}
	db_done(s);
	*out = list;
	return rc < 0 ? PORTAL_ERROR : PORTAL_OK;
}
