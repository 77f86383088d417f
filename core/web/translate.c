/*
 * translate.c - the validators' messages in the reader's language.  The
 * JSON API's problem+json messages are English, made with printf formats
 * (core/base/valid.c, core/items/ and the plugins' check hooks); the
 * editor shows them in Swedish or Danish by the table in
 * core/web/validation.json: {English format: {"sv": ..., "da": ...}}.  A
 * message is matched against each format in the table's order (the
 * placeholders match any text; anchored at both ends; the first that
 * matches wins) and printed again with the translated format, the pieces
 * the placeholders captured in the same order.  A key "=words" translates
 * a captured piece that is exactly "words".  A message no format matches
 * stays English.
 */
#include <stdlib.h>
#include <string.h>

#include "page.h"

extern const char core_validation[];

#define MSG_MAX 1000 /* bytes of a message translated */

/* A format split at its placeholders: n+1 literal pieces around n holes. */
struct msg_pat {
	char **lit;
	size_t nlit;
	struct json_object *tr; /* {"sv": ..., "da": ...} */
};

static struct json_object *msg_table;
static struct msg_pat *msg_pats;
static size_t msg_npats;

/* The length of the printf conversion at s (s[0] == '%', not "%%"), or 0. */
static size_t
msg_conv(const char *s)
{
	size_t i = 1;
	while (s[i] && strchr("-+ #0", s[i]))
		i++;
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	if (s[i] == '.') {
		i++;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	while (s[i] && strchr("hlzjtL", s[i]))
		i++;
	return s[i] && strchr("diouxXfFeEgGsc", s[i]) ? i + 1 : 0;
}

/* The number of placeholders in fmt; with lit, the literal pieces around
 * them (malloc'd, "%%" made "%"), at most max of them. */
size_t
msg_placeholders(const char *fmt, char **lit, size_t max)
{
	size_t n = 0, len = 0;
	char *cur = lit ? malloc(strlen(fmt) + 1) : NULL;
	for (const char *s = fmt; *s;) {
		size_t c = *s == '%' && s[1] != '%' ? msg_conv(s) : 0;
		if (c) {
			if (cur && n < max) {
				cur[len] = '\0';
				lit[n] = cur;
				cur = malloc(strlen(fmt) + 1);
			}
			n++;
			len = 0;
			s += c;
			continue;
		}
		if (cur)
			cur[len++] = *s;
		s += *s == '%' && s[1] == '%' ? 2 : 1;
	}
	if (cur && n < max) {
		cur[len] = '\0';
		lit[n] = cur;
	} else {
		free(cur);
	}
	return n;
}

int
msg_init(void)
{
	if (msg_table)
		return PORTAL_OK;
	struct json_object *t = json_tokener_parse(core_validation);
	if (!json_object_is_type(t, json_type_object)) {
		json_object_put(t);
		log_msg(PORTAL_LOG_ERR, NULL, "core/web/validation.json is not a JSON object");
		return PORTAL_ERROR;
	}
	msg_pats = calloc((size_t)json_object_object_length(t) + 1, sizeof(*msg_pats));
	json_object_object_foreach(t, en, tr) {
		if (en[0] == '_' || en[0] == '=' || !json_object_is_type(tr, json_type_object))
			continue;
		struct msg_pat *p = &msg_pats[msg_npats++];
		p->nlit = msg_placeholders(en, NULL, 0) + 1;
		p->lit = calloc(p->nlit, sizeof(*p->lit));
		msg_placeholders(en, p->lit, p->nlit);
		p->tr = tr;
	}
	msg_table = t;
	return PORTAL_OK;
}

/* Does s match lit[k..] with holes between, the holes' pieces (start,
 * length) in cap? */
static int
msg_match(const struct msg_pat *p, size_t k, const char *s, const char **cs, size_t *cl)
{
	size_t n = strlen(p->lit[k]);
	if (strncmp(s, p->lit[k], n) != 0)
		return 0;
	s += n;
	if (k + 1 == p->nlit)
		return *s == '\0';
	/* a hole: the shortest piece after which the rest matches */
	const char *next = p->lit[k + 1];
	for (const char *e = s;; e++) {
		if ((*next == '\0' || strncmp(e, next, strlen(next)) == 0) &&
		    msg_match(p, k + 1, e, cs, cl)) {
			cs[k] = s;
			cl[k] = (size_t)(e - s);
			return 1;
		}
		if (*e == '\0')
			return 0;
	}
}

static const char *
msg_piece(struct pool *pl, const char *lang, const char *s, size_t n)
{
	char *key = pool_printf(pl, "=%.*s", (int)n, s);
	struct json_object *tr, *w;
	if (json_object_object_get_ex(msg_table, key, &tr) && json_object_object_get_ex(tr, lang, &w))
		return json_object_get_string(w);
	return key + 1;
}

const char *
msg_translate(struct pool *pl, const char *lang, const char *english)
{
	/* the validators' messages are short; a long one is not matched (the
	 * matcher's backtracking is quadratic in the worst case) */
	if (english == NULL || lang == NULL || strlen(english) > MSG_MAX || msg_init() != PORTAL_OK)
		return english;
	char l[4] = "";
	size_t ln = strcspn(lang, "-_");
	if (ln != 2)
		return english;
	memcpy(l, lang, 2);
	if (strcmp(l, "sv") != 0 && strcmp(l, "da") != 0)
		return english;
	const char *cs[16];
	size_t cl[16];
	for (size_t i = 0; i < msg_npats; i++) {
		const struct msg_pat *p = &msg_pats[i];
		if (p->nlit > 16 || !msg_match(p, 0, english, cs, cl))
			continue;
		struct json_object *w;
		if (!json_object_object_get_ex(p->tr, l, &w) || !json_object_is_type(w, json_type_string))
			return english;
		const char *fmt = json_object_get_string(w);
		if (msg_placeholders(fmt, NULL, 0) != p->nlit - 1)
			return english; /* a broken table entry: the test says which */
		struct buf b;
		buf_init(&b, pl);
		buf_add(&b, "", 0);
		size_t k = 0;
		for (const char *s = fmt; *s;) {
			size_t c = *s == '%' && s[1] != '%' ? msg_conv(s) : 0;
			if (c) {
				const char *piece = msg_piece(pl, l, cs[k], cl[k]);
				buf_add(&b, piece, strlen(piece));
				k++;
				s += c;
			} else {
				buf_add(&b, s, 1);
				s += *s == '%' ? 2 : 1;
			}
		}
		return b.data;
	}
	return english;
}
