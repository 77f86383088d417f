/*
 * valid.c - validators (after kcgi's kvalid_*): partial dates, ISO codes,
 * language tags, URLs, Wikidata ids, and the declarative checking of a
 * JSON document against a struct portal_field schema, which records every
 * problem with its field path and never stops at the first.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"

/* ISO 3166-1 alpha-2, officially assigned codes, plus XK (Kosovo), which
 * the EU and Wikidata use. */
static const char iso3166[] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW XK";

/* ISO 4217 codes in use. */
static const char iso4217[] =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR "
    "FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD "
    "JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT "
    "MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG "
    "QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB "
    "TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF "
    "YER ZAR ZMW ZWG ZWL";

static int
valid_in_list(const char *list, const char *s, size_t len)
{
	if (strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return 0;
	for (const char *p = list; *p; p += len + (p[len] == ' ')) {
		if (memcmp(p, s, len) == 0)
			return 1;
		if (p[len] == '\0')
			break;
	}
	return 0;
}

int
valid_country(const char *s)
{
	return s != NULL && valid_in_list(iso3166, s, 2);
}

int
valid_currency(const char *s)
{
	return s != NULL && valid_in_list(iso4217, s, 3);
}

static int
valid_digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int
valid_partial_date(const char *s)
{
	if (s == NULL)
		return 0;
	size_t n = strlen(s);
	if ((n != 4 && n != 7 && n != 10) || !valid_digits(s, 4))
		return 0;
	int y = atoi(s);
	if (y < 1000)
		return 0;
	if (n == 4)
		return 1;
	if (s[4] != '-' || !valid_digits(s + 5, 2))
		return 0;
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	if (m < 1 || m > 12)
		return 0;
	if (n == 7)
		return 1;
	if (s[7] != '-' || !valid_digits(s + 8, 2))
		return 0;
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	int max = mdays[m - 1] + (m == 2 && leap);
	return d >= 1 && d <= max;
}

int
valid_utc_time(const char *s, char out[32])
{
	if (s == NULL || strlen(s) < 10 || strlen(s) > 40)
		return 0;
	char day[11];
	memcpy(day, s, 10);
	day[10] = '\0';
	if (!valid_partial_date(day) || strlen(day) != 10)
		return 0;
	if (s[10] == '\0') {
		snprintf(out, 32, "%s 00:00:00.000000", day);
		return 1;
	}
	const char *t = s + 11;
	if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !valid_digits(t, 2) || t[2] != ':' ||
	    !valid_digits(t + 3, 2) || t[5] != ':' || !valid_digits(t + 6, 2))
		return 0;
	if (atoi(t) > 23 || atoi(t + 3) > 59 || atoi(t + 6) > 59)
		return 0;
	const char *p = t + 8;
	char frac[7] = "000000";
	if (*p == '.') {
		size_t n = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 6)
				frac[n] = *p;
		if (n == 0)
			return 0;
	}
	if (!((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') && strcmp(p, "+00:00") != 0)
		return 0;
	snprintf(out, 32, "%s %.2s:%.2s:%.2s.%s", day, t, t + 3, t + 6, frac);
	return 1;
}

int
valid_date_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	return strncmp(a, b, la < lb ? la : lb);
}

int
valid_lang(const char *s)
{
	if (s == NULL)
		return 0;
	size_t n = strlen(s), i = 0;
	if (n < 2 || n > 35)
		return 0;
	while (i < n && s[i] >= 'a' && s[i] <= 'z')
		i++;
	if (i < 2 || i > 3)
		return 0;
	while (i < n) {
		if (s[i] != '-')
			return 0;
		size_t start = ++i;
		while (i < n && isalnum((unsigned char)s[i]))
			i++;
		if (i - start < 1 || i - start > 8)
			return 0;
	}
	return 1;
}

int
valid_url(const char *s)
{
	if (s == NULL)
		return 0;
	const char *h;
	if (strncasecmp(s, "https://", 8) == 0)
		h = s + 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		h = s + 7;
	else
		return 0;
	if (*h == '\0' || *h == '/' || *h == '?' || *h == '#' || *h == '.')
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\' ||
		    *p == '`')
			return 0;
	return 1;
}

int
valid_qid(const char *s)
{
	if (s == NULL || s[0] != 'Q' || s[1] < '1' || s[1] > '9')
		return 0;
	size_t n = strlen(s);
	return n <= 12 && valid_digits(s + 1, (int)n - 1);
}

/* The characters (code points) of UTF-8 text of n bytes: the bytes that
 * do not continue a sequence.  What JSON Schema's maxLength counts and
 * MariaDB's VARCHAR(N) holds, unlike n. */
size_t
valid_chars(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += (s[i] & 0xc0) != 0x80;
	return k;
}

int
valid_utf8(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t len;
		unsigned min;
		if (c < 0x80) {
			if (c == 0)
				return 0;
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, min = 0x10000, c &= 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* ---- schema checking ---- */

struct vctx {
	const struct valid_sink *sink;
	int count;
};

static void
verr(struct vctx *v, const char *path, const char *fmt, ...) PORTAL_PRINTF(3, 4);
static void
verr(struct vctx *v, const char *path, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->count++;
	v->sink->error(v->sink->ctx, path, msg);
}

static const char *
vtype_name(enum json_type t)
{
	switch (t) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double:
	case json_type_int: return "a number";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "something else";
}

static void vobject(struct vctx *v, const struct portal_field *fields, struct json_object *o,
                    const char *path);

/* A string's length and content; `multiline` allows \n \r \t. */
static int
vstring(struct vctx *v, struct json_object *o, const char *path, size_t min, size_t max,
        int multiline)
{
	if (!json_object_is_type(o, json_type_string)) {
		verr(v, path, "must be a string, not %s", vtype_name(json_object_get_type(o)));
		return 0;
	}
	const char *s = json_object_get_string(o);
	size_t n = (size_t)json_object_get_string_len(o);
	if (!valid_utf8(s, n) || strlen(s) != n) {
		verr(v, path, "must be valid UTF-8 without NUL characters");
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && !(multiline && (c == '\n' || c == '\r' || c == '\t'))) || c == 0x7f) {
			verr(v, path, "must not contain control characters%s",
			     multiline ? "" : " or line breaks");
			return 0;
		}
	}
	size_t chars = n > max ? valid_chars(s, n) : n; /* n bytes hold at most n characters */
	if (chars > max) {
		verr(v, path, "must be at most %zu characters long (is %zu)", max, chars);
		return 0;
	}
	if (min > 0) {
		size_t k = 0;
		while (k < n && isspace((unsigned char)s[k]))
			k++;
		if (k == n) {
			verr(v, path, "must not be empty");
			return 0;
		}
	}
	return 1;
}

static void
vfield(struct vctx *v, const struct portal_field *f, struct json_object *o, const char *path)
{
	const char *s;
	if (o == NULL) { /* JSON null */
		if ((f->flags & PF_REQUIRED) && !(f->flags & PF_NULLABLE))
			verr(v, path, "is required and must not be null");
		return;
	}
	switch (f->type) {
	case PF_STRING:
		vstring(v, o, path, 1, f->max ? f->max : 200, 0);
		break;
	case PF_TEXT:
		vstring(v, o, path, 0, f->max ? f->max : 20000, 1);
		break;
	case PF_INT:
		if (!json_object_is_type(o, json_type_int)) {
			verr(v, path, "must be an integer, not %s", vtype_name(json_object_get_type(o)));
			break;
		}
		{
			/* json-c clamps out-of-range integers; errno tells */
			errno = 0;
			int64_t i = json_object_get_int64(o);
			if (errno == ERANGE || (double)i < f->min || (double)i > f->max_num)
				verr(v, path, "must be an integer from %.0f to %.0f", f->min, f->max_num);
		}
		break;
	case PF_NUMBER:
		if (!json_object_is_type(o, json_type_int) && !json_object_is_type(o, json_type_double)) {
			verr(v, path, "must be a number, not %s", vtype_name(json_object_get_type(o)));
			break;
		}
		{
			double d = json_object_get_double(o);
			if (!isfinite(d) || d < f->min || d > f->max_num)
				verr(v, path, "must be a number from %g to %g", f->min, f->max_num);
		}
		break;
	case PF_BOOL:
		if (!json_object_is_type(o, json_type_boolean))
			verr(v, path, "must be true or false, not %s", vtype_name(json_object_get_type(o)));
		break;
	case PF_ENUM:
		if (!vstring(v, o, path, 1, 100, 0))
			break;
		s = json_object_get_string(o);
		for (const char *const *e = f->values; e && *e; e++)
			if (strcmp(*e, s) == 0)
				return;
		{
			char list[600] = "";
			for (const char *const *e = f->values; e && *e; e++) {
				if (strlen(list) + strlen(*e) + 3 >= sizeof(list))
					break;
				if (*list)
					strcat(list, ", ");
				strcat(list, *e);
			}
			verr(v, path, "must be one of: %s", list);
		}
		break;
	case PF_DATE:
		if (!vstring(v, o, path, 1, 10, 0))
			break;
		if (!valid_partial_date(json_object_get_string(o)))
			verr(v, path, "must be a real date as YYYY, YYYY-MM or YYYY-MM-DD");
		break;
	case PF_COUNTRY:
		if (!vstring(v, o, path, 1, 2, 0)) /* message says "at most 2 characters" for longer ones */
			break;
		if (!valid_country(json_object_get_string(o)))
			verr(v, path, "must be an ISO 3166-1 alpha-2 country code such as \"SE\"");
		break;
	case PF_LANG:
		if (!vstring(v, o, path, 1, 35, 0))
			break;
		if (!valid_lang(json_object_get_string(o)))
			verr(v, path, "must be a BCP 47 language tag such as \"sv\" or \"en\"");
		break;
	case PF_CURRENCY:
		if (!vstring(v, o, path, 1, 3, 0))
			break;
		if (!valid_currency(json_object_get_string(o)))
			verr(v, path, "must be an ISO 4217 currency code such as \"SEK\" or \"EUR\"");
		break;
	case PF_URL:
		if (!vstring(v, o, path, 1, f->max ? f->max : 2000, 0))
			break;
		if (!valid_url(json_object_get_string(o)))
			verr(v, path, "must be an absolute http:// or https:// URL");
		break;
	case PF_QID:
		if (!vstring(v, o, path, 1, 12, 0))
			break;
		if (!valid_qid(json_object_get_string(o)))
			verr(v, path, "must be a Wikidata item id such as \"Q1754\"");
		break;
	case PF_LANGMAP:
		if (!json_object_is_type(o, json_type_object)) {
			verr(v, path, "must be an object {\"sv\": \"...\", \"en\": \"...\"}");
			break;
		}
		if (json_object_object_length(o) > 30) {
			verr(v, path, "must have at most 30 languages");
			break;
		}
		json_object_object_foreach(o, key, val) {
			char sub[512];
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
			if (!valid_lang(key))
				verr(v, sub, "is not a BCP 47 language tag such as \"sv\" or \"en\"");
			else if (val == NULL)
				verr(v, sub, "must be a string, not null");
			else
				vstring(v, val, sub, 0, f->max ? f->max : 20000, 1);
		}
		break;
	case PF_OBJECT:
		if (!json_object_is_type(o, json_type_object)) {
			verr(v, path, "must be an object, not %s", vtype_name(json_object_get_type(o)));
			break;
		}
		vobject(v, f->fields, o, path);
		break;
	case PF_ARRAY:
		if (!json_object_is_type(o, json_type_array)) {
			verr(v, path, "must be an array, not %s", vtype_name(json_object_get_type(o)));
			break;
		}
		{
			size_t n = json_object_array_length(o), max = f->max ? f->max : 100;
			if (n > max) {
				verr(v, path, "must have at most %zu items (has %zu)", max, n);
				break;
			}
			for (size_t i = 0; i < n; i++) {
				char sub[512];
				snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
				struct json_object *it = json_object_array_get_idx(o, i);
				if (it == NULL) {
					verr(v, sub, "must not be null");
					continue;
				}
				if (f->items)
					vfield(v, f->items, it, sub);
				if (f->flags & PF_UNIQUE) {
					const char *a = json_object_to_json_string(it);
					for (size_t k = 0; k < i; k++) {
						struct json_object *b = json_object_array_get_idx(o, k);
						if (b && strcmp(a, json_object_to_json_string(b)) == 0) {
							verr(v, sub, "repeats an earlier item");
							break;
						}
					}
				}
			}
		}
		break;
	}
}

static void
vobject(struct vctx *v, const struct portal_field *fields, struct json_object *o, const char *path)
{
	char sub[512];
	/* unknown members first: a typo'd name is the likeliest mistake */
	json_object_object_foreach(o, key, val) {
		(void)val;
		const struct portal_field *f = fields;
		while (f && f->name && strcmp(f->name, key) != 0)
			f++;
		if (f == NULL || f->name == NULL || (f->flags & PF_READONLY)) {
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
			verr(v, sub, "is not a known field");
		}
	}
	for (const struct portal_field *f = fields; f && f->name; f++) {
		struct json_object *member;
		if (f->flags & PF_READONLY)
			continue; /* the server's */
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", f->name);
		if (!json_object_object_get_ex(o, f->name, &member)) {
			if (f->flags & PF_REQUIRED)
				verr(v, sub, "is required");
			continue;
		}
		vfield(v, f, member, sub);
	}
}

int
valid_doc(const struct portal_field *schema, struct json_object *doc, const char *prefix,
          const struct valid_sink *sink)
{
	struct vctx v = {sink, 0};
	if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
		verr(&v, prefix && *prefix ? prefix : "body", "must be a JSON object");
		return PORTAL_ERROR;
	}
	vobject(&v, schema, doc, prefix ? prefix : "");
	return v.count ? PORTAL_ERROR : PORTAL_OK;
}

void
valid_merge_patch(struct json_object *target, struct json_object *patch)
{
	if (!json_object_is_type(target, json_type_object) ||
	    !json_object_is_type(patch, json_type_object))
		return;
	json_object_object_foreach(patch, key, val) {
		struct json_object *cur;
		if (val == NULL) {
			json_object_object_del(target, key);
		} else if (json_object_is_type(val, json_type_object) &&
		           json_object_object_get_ex(target, key, &cur) &&
		           json_object_is_type(cur, json_type_object)) {
			valid_merge_patch(cur, val);
		} else {
			struct json_object *copy = NULL;
			if (json_object_deep_copy(val, &copy, NULL) == 0) {
				/* a null inside a new object means "absent" (RFC 7396) */
				if (json_object_is_type(copy, json_type_object)) {
					struct json_object *empty = json_object_new_object();
					valid_merge_patch(empty, copy);
					json_object_put(copy);
					copy = empty;
				}
				json_object_object_add(target, key, copy);
			}
		}
	}
}
