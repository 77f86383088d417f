/* libFuzzer: the template engine.  The input is "NAME.EXT\n" (the mode),
 * a template, "\n---\n" and JSON data; compiled, then rendered with a
 * partial that refers to itself (the depth guard must stop it). */
#include <stdlib.h>
#include <string.h>

#include "core.h"

static struct tmpl *self;

static const struct tmpl *
partial(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "self") == 0 ? self : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pool pool;
	char *buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *nl = strchr(buf, '\n');
	const char *name = "f.html", *text = buf;
	if (nl && nl - buf < 20) {
		*nl = '\0';
		name = buf;
		text = nl + 1;
	}
	char *sep = strstr((char *)text, "\n---\n");
	const char *json = "{}";
	if (sep) {
		*sep = '\0';
		json = sep + 5;
	}
	char err[256];
	struct tmpl *t = tmpl_compile(name, text, err, sizeof(err));
	if (t) {
		self = t;
		struct json_object *d = json_tokener_parse(json);
		struct json_object *msgs = json_tokener_parse("{\"month_01\":\"januari\"}");
		struct tmpl_env env = {"sv", "en", msgs, NULL, NULL, partial, NULL};
		struct buf b;
		buf_init(&b, &pool);
		tmpl_render(t, d ? d : msgs, &env, &b);
		/* escaping: an HTML render of data without '<' in the template has none */
		if (tmpl_mode_of(name) == TMPL_HTML && strchr(text, '<') == NULL && strstr(text, "{{{") == NULL &&
		    strstr(text, "{{&") == NULL && strstr(text, "|json") == NULL && b.data && strchr(b.data, '<'))
			abort();
		json_object_put(d);
		json_object_put(msgs);
		tmpl_free(t);
		self = NULL;
	}
	pool_reset(&pool);
	free(buf);
	return 0;
}
