#!/usr/bin/env python3
"""test_lifecycle.py - one item lifecycle, the same for every module.

The modules are found, not listed: every plugins/NAME/ of the repository
(as the Makefile builds them).  Each must be described by the served OpenAPI
document (/api/v1/openapi.json) with POST NAME and GET/PATCH/DELETE
NAME/{id}; everything below is derived from that description, so a new
module is tested without a change here:

  - a valid item is made from the POST body's schema (its required members,
    and one value for each member a list filter of the module reads);
  - create (201, Location, ETag, id/version, the sent members, the declared
    defaults), read (the same item and ETag, 304 for If-None-Match), list
    (found by walking the pages; limit), each declared enum filter (found
    with its value, not with another), string filters that name a member,
    and q with a word of the item's text;
  - PATCH (merge patch of a text member: changed, the rest kept, version+1,
    a new ETag), If-Match with the old ETag 412 (PATCH and DELETE), a
    required member patched to null is a 422 naming it;
  - 422 naming the member for each member of the item the POST body does
    not declare (the server's: id, version, linked, ...) sent in a POST or
    a PATCH;
  - 422 naming the member for each required member left out, each enum
    given a value it does not list, each member given a value of another
    JSON type, and an unknown member (additionalProperties false);
  - 404s: unknown and non-numeric ids, an unknown municipality, and one
    that has not enabled the module; 401 for a write without a token;
  - DELETE: 204, then GET, PATCH and DELETE are 404;
  - paging: two more items, the list walked with limit 1, 2 and 3 gives
    every item once, in the order of limit=100; no limit gives at most 20;
    bad limit and cursor values are problems naming them; an enum filter
    with a value it does not list finds nothing or is a problem naming it;
  - the body: malformed JSON 400, a JSON array 400/422, text/plain 415,
    over 1 MiB 413, several errors named at once, nothing stored after any
    of them; PATCH with an enum value it does not list or an unknown member
    is a 422 that changes nothing; PATCH with Content-Type application/json
    is a merge patch too;
  - tokens: a reader of the municipality reads, a non-Bearer Authorization
    is 401; through another municipality that has the module, the item is
    404 for GET, PATCH and DELETE and nothing changes.
Once, not per module: GET /healthz, the municipalities list, an unknown
module 404, and `portalctl token list` (prefix, municipality, role).  The
other callers (unknown, revoked, reader, other municipality's editor,
admin, *) on every write route: test_authz_matrix.py.

The items are made in `flyttkommun` (tests/run.sh: every module found, no
demo data) and all deleted again, even after a failure, because
test_transfer.py imports into it while it is empty.  What is a module's own
(its rules across members, links, exports, pages) stays in
test_MODULE.py.
"""
import copy
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import (Fail, Tap, create_token, error_fields, expect, expect_field_error,  # noqa: E402
                     expect_json, expect_names_param, expect_problem, expect_status, portalctl,
                     raw_request_status, request, token_id)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLUG = "flyttkommun"
t = Tap()
doc = {}
tokens = {}
created = []   # (module, id) to delete at the end, whatever happened
WORD = "lcy%06d" % random.randrange(10 ** 6)


def modules_found():
    d = os.path.join(ROOT, "plugins")
    return sorted(m for m in os.listdir(d) if os.path.isdir(os.path.join(d, m)))


def editor():
    if "editor" not in tokens:
        tokens["editor"] = create_token(SLUG, "editor")
    return tokens["editor"]


# --- the served description ---------------------------------------------------

def resolve(s):
    """A schema with its $ref (and a one-member allOf) followed."""
    seen = 0
    while isinstance(s, dict) and ("$ref" in s or (list(s.get("allOf", [])) and len(s["allOf"]) == 1)):
        if "$ref" in s:
            name = s["$ref"].rsplit("/", 1)[-1]
            extra = {k: v for k, v in s.items() if k != "$ref"}
            s = dict(doc["components"]["schemas"][name], **extra)
        else:
            extra = {k: v for k, v in s.items() if k != "allOf"}
            s = dict(resolve(s["allOf"][0]), **extra)
        seen += 1
        if seen > 20:
            break
    return s


def non_null(s):
    """The schema without its null alternative: anyOf [X, null], type [T, null]."""
    s = resolve(s)
    if "anyOf" in s or "oneOf" in s:
        alts = [resolve(a) for a in s.get("anyOf", s.get("oneOf"))]
        alts = [a for a in alts if a.get("type") != "null"]
        if alts:
            merged = dict(alts[0])
            for k in ("description", "default"):
                if k in s and k not in merged:
                    merged[k] = s[k]
            return non_null(merged)
    if isinstance(s.get("type"), list):
        types = [x for x in s["type"] if x != "null"]
        s = dict(s, type=types[0] if types else "null")
    return s


def kind(s):
    s = non_null(s)
    if "enum" in s:
        return "enum"
    if "type" in s:
        return s["type"]
    if "properties" in s:
        return "object"
    return None


def op(path, method):
    return doc["paths"].get(path, {}).get(method)


def params(path, method):
    p = doc["paths"].get(path, {})
    out = []
    for x in p.get("parameters", []) + (p.get(method) or {}).get("parameters", []):
        if "$ref" in x:
            x = doc["components"]["parameters"][x["$ref"].rsplit("/", 1)[-1]]
        out.append(x)
    return out


def body_schema(module, method):
    o = op("/api/v1/{municipality}/" + module + ("/{id}" if method == "patch" else ""), method)
    return resolve(o["requestBody"]["content"]["application/json"]["schema"])


# --- a valid item from the schema ---------------------------------------------

def text(s, n):
    """A string the schema accepts, holding WORD when it is free text."""
    s = non_null(s)
    pat = s.get("pattern", "")
    if s.get("format") == "date" or pat.startswith("^[0-9]{4}"):
        return "2024-05-01" if "(-" not in pat else "2024-05"
    if "[a-z]{2,3}" in pat:
        return LANG
    if pat.startswith("^[a-z0-9]"):
        return "%s-%d" % (WORD, n)
    if "Tt][Pp]" in pat or s.get("format") == "uri":
        return "https://example.org/%s" % WORD
    if pat.startswith("^Q"):
        return "Q42"
    if pat.startswith("^[A-Z]{2}"):
        return "SE"
    if pat.startswith("^[A-Z]{3}"):
        return "SEK"
    if pat:
        raise Fail("no value made for the pattern %r" % pat)
    v = "Lifecycle %s %d" % (WORD, n)
    return v[:s.get("maxLength", 200)]


def make(s, n=0, want=()):
    """A value for schema `s`: required members only, plus the `want` ones."""
    s = non_null(s)
    k = kind(s)
    if k == "enum":
        vals = [v for v in s["enum"] if v is not None]
        return vals[0]
    if k == "string":
        return text(s, n)
    if k == "integer":
        return max(int(s.get("minimum", 1)), 1)
    if k == "number":
        return s.get("minimum", 0) if s.get("minimum", 0) > 0 else 1.5
    if k == "boolean":
        return True
    if k == "array":
        if s.get("minItems", 0) > 0:
            return [make(s.get("items", {}), n)]
        return []
    if k == "object":
        props = s.get("properties")
        if props is None:
            add = s.get("additionalProperties")
            if isinstance(add, dict):   # a map by language
                return {LANG: "Lifecycle %s" % WORD}
            return {}
        out = {}
        for i, name in enumerate(props):
            if name in s.get("required", []) or name in want:
                out[name] = make(props[name], n * 10 + i)
        return out
    return None


def filters(module):
    """The list's query filters: [(name, schema)], without the paging ones."""
    return [(p["name"], resolve(p.get("schema", {}))) for p in params("/api/v1/{municipality}/" + module, "get")
            if p.get("in") == "query" and p["name"] not in ("limit", "cursor", "q")]


def filter_member(s_body, name):
    """The member of the POST body a filter `name` reads: name, or its plural
    (an array of such values); None for other shapes (an array of objects)."""
    props = s_body.get("properties", {})
    for m in (name, name + "s"):
        if m in props:
            ps = non_null(props[m])
            if kind(ps) == "array":
                ps = non_null(ps.get("items", {}))
            return m if kind(ps) in ("enum", "string", "integer", "number", "boolean") else None
    return None


def enum_values(s):
    s = non_null(s)
    if kind(s) == "array":
        s = non_null(s.get("items", {}))
    return [v for v in s.get("enum", []) if v is not None]


def valid_item(module, n=1):
    s = body_schema(module, "post")
    want = [m for m in (filter_member(s, f) for f, fs in filters(module) if enum_values(fs)) if m]
    item = make(s, n, want)
    for f, fs in filters(module):
        m = filter_member(s, f)
        vals = enum_values(fs)
        if m and vals and kind(s["properties"][m]) == "array":
            item[m] = [vals[-1]]
    return item


def subset(sent, got, path=""):
    """Every member sent is in `got` with the same value (got may add more)."""
    if isinstance(sent, dict):
        expect(isinstance(got, dict), "%s: sent an object, got %r" % (path or "body", got))
        for k, v in sent.items():
            expect(k in got, "%s: the member %r sent is missing" % (path or "body", k))
            subset(v, got[k], "%s.%s" % (path, k) if path else k)
    elif isinstance(sent, list):
        expect(isinstance(got, list) and len(got) == len(sent),
               "%s: sent %r, got %r" % (path, sent, got))
        for i, (a, b) in enumerate(zip(sent, got)):
            subset(a, b, "%s[%d]" % (path, i))
    else:
        expect(sent == got, "%s: sent %r, got %r" % (path, sent, got))


# --- the checks ------------------------------------------------------------------

def coll(module, slug=SLUG):
    return "/api/v1/%s/%s" % (slug, module)


def one(module, i, slug=SLUG):
    return "/api/v1/%s/%s/%s" % (slug, module, i)


def t_described(module):
    for path, methods in (("/api/v1/{municipality}/" + module, ("get", "post")),
                          ("/api/v1/{municipality}/" + module + "/{id}", ("get", "patch", "delete"))):
        for m in methods:
            expect(op(path, m) is not None, "the OpenAPI document has no %s %s" % (m.upper(), path))
    body_schema(module, "post")
    body_schema(module, "patch")


def t_create(module, st):
    body = valid_item(module)
    r = request("POST", coll(module), body=body, token=editor())
    j = expect_json(r, 201)
    expect(isinstance(j.get("id"), int) and j["id"] > 0, "no integer id", r)
    created.append((module, j["id"]))
    loc = r.header("location") or ""
    expect(loc.endswith("/api/v1/%s/%s/%d" % (SLUG, module, j["id"])),
           "Location %r is not the new item" % loc, r)
    expect(r.header("etag"), "no ETag on 201", r)
    expect(j.get("municipality") == SLUG, "municipality %r" % j.get("municipality"), r)
    expect(isinstance(j.get("version"), int), "no integer version", r)
    expect(j.get("created_at") and j.get("updated_at"), "no created_at or updated_at", r)
    try:
        subset(body, j)
    except Fail as e:
        raise Fail("the answer does not hold what was sent: %s" % e, r)
    props = body_schema(module, "post").get("properties", {})
    for name, ps in props.items():
        d = resolve(ps).get("default", ps.get("default"))
        if d is not None and name not in body:
            expect(j.get(name) == d, "%s is %r, not its declared default %r" % (name, j.get(name), d), r)
    st.update(body=body, item=j, etag=r.header("etag"), id=j["id"])


def t_read(module, st):
    r = request("GET", one(module, st["id"]), token=editor())
    j = expect_json(r, 200)
    expect(j == st["item"], "GET differs from the POST answer", r)
    expect(r.header("etag") == st["etag"], "ETag %r, POST gave %r" % (r.header("etag"), st["etag"]), r)
    r = request("GET", one(module, st["id"]), token=editor(), headers={"If-None-Match": st["etag"]})
    expect_status(r, 304)
    expect(not r.body, "a 304 with a body", r)
    r = request("GET", one(module, st["id"]), token=editor(), headers={"If-None-Match": '"other"'})
    expect_json(r, 200)


def walk(module, query, limit=100, token=None):
    """Every item of the list (following `next`)."""
    out, cursor = [], None
    for _ in range(5000):
        q = dict(query, limit=str(limit))
        if cursor:
            q["cursor"] = cursor
        r = request("GET", coll(module), token=token or editor(), query=q)
        j = expect_json(r, 200)
        expect(isinstance(j.get("items"), list) and "next" in j, "not {\"items\", \"next\"}", r)
        expect(len(j["items"]) <= limit, "%d items for limit=%d" % (len(j["items"]), limit), r)
        out += j["items"]
        cursor = j["next"]
        if not cursor:
            return out
    raise Fail("more than 5000 pages")


def ids(items):
    return [i.get("id") for i in items]


def t_list(module, st):
    items = walk(module, {})
    expect(st["id"] in ids(items), "the new item is not in the list")
    mine = [i for i in items if i["id"] == st["id"]][0]
    try:
        subset(st["body"], mine)
    except Fail as e:
        raise Fail("the listed item does not hold what was sent: %s" % e)
    expect(st["id"] in ids(walk(module, {}, limit=1)), "not found walking pages of 1")


def t_filter(module, st, name, fs):
    s = body_schema(module, "post")
    m = filter_member(s, name)
    have = st["item"].get(m)
    vals = enum_values(fs)
    if vals:
        v = have[0] if isinstance(have, list) else have
        expect(v in vals, "the item's %s is %r, not one of the filter's values" % (m, have))
        expect(st["id"] in ids(walk(module, {name: v})), "%s=%s does not find the item" % (name, v))
        expect(st["id"] in ids(walk(module, {name: v}, limit=1)),
               "%s=%s does not find the item in pages of 1" % (name, v))
        other = [x for x in vals if x != v and not (isinstance(have, list) and x in have)]
        if other:
            expect(st["id"] not in ids(walk(module, {name: other[0]})),
                   "%s=%s finds the item, whose %s is %r" % (name, other[0], m, have))
    else:
        expect(st["id"] in ids(walk(module, {name: have})), "%s=%s does not find the item" % (name, have))


def t_search(module, st):
    expect(st["id"] in ids(walk(module, {"q": WORD})), "q=%s does not find the item" % WORD)
    expect(st["id"] in ids(walk(module, {"q": WORD.upper()})), "q=%s does not find the item" % WORD.upper())
    expect(st["id"] not in ids(walk(module, {"q": WORD + "x"})), "q=%sx finds the item" % WORD)


def text_path(body, s, path=()):
    """The path of a free-text member of the item (required first), for PATCH."""
    s = non_null(s)
    props = s.get("properties", {})
    order = [p for p in s.get("required", []) if p in body] + [p for p in body if p not in s.get("required", [])]
    for p in order:
        ps = non_null(props.get(p, {}))
        if kind(ps) == "string" and not ps.get("pattern") and "format" not in ps:
            return path + (p,)
        if kind(ps) == "object" and isinstance(body.get(p), dict) and ps.get("properties"):
            sub = text_path(body[p], ps, path + (p,))
            if sub:
                return sub
    return None


def nest(path, value):
    for p in reversed(path):
        value = {p: value}
    return value


def at(doc_, path):
    for p in path:
        doc_ = doc_[p]
    return doc_


def t_patch(module, st):
    path = text_path(st["body"], body_schema(module, "post"))
    expect(path, "no free-text member to patch")
    new = "Patched %s" % WORD
    r = request("PATCH", one(module, st["id"]), body=nest(path, new), token=editor(),
                headers={"If-Match": st["etag"]}, content_type="application/merge-patch+json")
    j = expect_json(r, 200)
    expect(at(j, path) == new, "%s is %r after the PATCH" % (".".join(path), at(j, path)), r)
    expect(j["version"] == st["item"]["version"] + 1, "version %r after %r" % (j["version"], st["item"]["version"]), r)
    expect(r.header("etag") and r.header("etag") != st["etag"], "the ETag did not change", r)
    kept = copy.deepcopy(st["body"])
    at(kept, path[:-1])[path[-1]] = new
    try:
        subset(kept, j)
    except Fail as e:
        raise Fail("the PATCH changed more than it was asked: %s" % e, r)
    g = expect_json(request("GET", one(module, st["id"]), token=editor()), 200)
    expect(g == j, "GET after the PATCH differs from its answer")
    st.update(old_etag=st["etag"], etag=r.header("etag"), item=j, body=kept)


def t_stale(module, st, method):
    body = {} if method == "PATCH" else None
    r = request(method, one(module, st["id"]), body=body, token=editor(),
                headers={"If-Match": st["old_etag"]},
                content_type="application/merge-patch+json" if body is not None else None)
    expect_problem(r, 412)
    g = request("GET", one(module, st["id"]), token=editor())
    expect_json(g, 200)
    expect(g.header("etag") == st["etag"], "the item changed after a 412", g)


def t_patch_null(module, st, field):
    r = request("PATCH", one(module, st["id"]), body={field: None}, token=editor(),
                content_type="application/merge-patch+json")
    expect_field_error(r, field)


def wrong_type(s):
    k = kind(s)
    return {"string": 12345, "integer": "x", "number": "x", "boolean": "x", "array": "x",
            "object": "x", "enum": 12345}.get(k)


def invalid(module, mutate, field, alternatives=()):
    def f():
        b = copy.deepcopy(valid_item(module))
        mutate(b)
        before = len(walk(module, {}))
        r = request("POST", coll(module), body=b, token=editor())
        if r.status == 201 and isinstance(r.json, dict) and "id" in r.json:
            created.append((module, r.json["id"]))
        expect_field_error(r, field, alternatives=alternatives)
        expect(len(walk(module, {})) == before, "an item was stored after a 422")
    return f


def setter(path, value):
    def m(b):
        d = b
        for p in path[:-1]:
            d = d.setdefault(p, {})
        d[path[-1]] = value
    return m


def deleter(path):
    def m(b):
        d = b
        for p in path[:-1]:
            d = d[p]
        d.pop(path[-1], None)
    return m


def required_paths(s, body, path=()):
    """Every required member of the item, nested ones of objects it holds."""
    s = non_null(s)
    out = []
    for p in s.get("required", []):
        out.append(path + (p,))
        ps = non_null(s.get("properties", {}).get(p, {}))
        if kind(ps) == "object" and isinstance(body.get(p), dict):
            out += required_paths(ps, body[p], path + (p,))
    return out


def enum_paths(s, body, path=()):
    s = non_null(s)
    out = []
    for p, ps in s.get("properties", {}).items():
        ps = non_null(ps)
        if kind(ps) == "enum":
            out.append(path + (p,))
        elif kind(ps) == "array" and kind(ps.get("items", {})) == "enum":
            out.append(path + (p, 0))
        elif kind(ps) == "object" and isinstance(body.get(p), dict):
            out += enum_paths(ps, body[p], path + (p,))
    return out


def t_not_found(module, st):
    for method, path in (("GET", one(module, 999999999)), ("PATCH", one(module, 999999999)),
                         ("DELETE", one(module, 999999999)),
                         ("GET", coll(module, "no-such-municipality")),
                         ("GET", one(module, st["id"], "no-such-municipality"))):
        body = {} if method == "PATCH" else None
        r = request(method, path, body=body, token=tokens.get("admin"),
                    content_type="application/merge-patch+json" if body is not None else None)
        expect_problem(r, 404)
    for bad in ("abc", "0", "-1", "01", "0012", "1.5", "9" * 30):
        expect_problem(request("GET", one(module, bad), token=tokens.get("admin")), 404, 400)


def t_not_enabled(module, st, slug):
    for method, path in (("GET", coll(module, slug)), ("POST", coll(module, slug)),
                         ("GET", one(module, st["id"], slug)), ("PATCH", one(module, st["id"], slug)),
                         ("DELETE", one(module, st["id"], slug))):
        r = request(method, path, body=({} if method in ("POST", "PATCH") else None),
                    token=tokens.get("admin"))
        expect_problem(r, 404)


def t_no_token(module, st):
    r = request("POST", coll(module), body=valid_item(module))
    expect_problem(r, 401)
    r = request("PATCH", one(module, st["id"]), body={}, content_type="application/merge-patch+json")
    expect_problem(r, 401)
    r = request("DELETE", one(module, st["id"]))
    expect_problem(r, 401)


def t_delete(module, st):
    r = request("DELETE", one(module, st["id"]), token=editor(), headers={"If-Match": st["etag"]})
    expect_status(r, 204)
    expect(not r.body, "a 204 with a body", r)
    created.remove((module, st["id"]))
    for method in ("GET", "PATCH", "DELETE"):
        body = {} if method == "PATCH" else None
        r = request(method, one(module, st["id"]), body=body, token=editor(),
                    content_type="application/merge-patch+json" if body is not None else None)
        expect_problem(r, 404)
    expect(st["id"] not in ids(walk(module, {})), "the deleted item is still listed")


def t_cleanup():
    left = []
    for module, i in reversed(list(created)):
        r = request("DELETE", one(module, i), token=editor())
        if r.status not in (204, 404):
            left.append("%s %d: %d" % (module, i, r.status))
    del created[:]
    expect(not left, "not deleted: %s" % ", ".join(left))


def lifecycle(module, muni_modules):
    st = {}
    if not t.check("%s: the OpenAPI document describes POST, GET, PATCH and DELETE" % module,
                   t_described, module):
        return
    if not t.check("%s: POST a valid item made from the schema: 201, Location, ETag, what was sent, "
                   "the defaults" % module, t_create, module, st):
        return
    t.check("%s: GET it: the same item and ETag; If-None-Match 304" % module, t_read, module, st)
    t.check("%s: the list holds it (pages of 100 and of 1)" % module, t_list, module, st)
    t.check("%s: a reader token of the municipality reads and lists it" % module, t_reader, module, st)
    if t.check("%s: two more items for paging, made with an admin token of %s and an editor "
               "token for *" % (module, SLUG), t_more_items, module, st):
        t.check("%s: limit=1, 2 and 3 walk every item once in the order of limit=100; "
                "no limit is at most 20" % module, t_paging, module, st)
    for key, val in (("limit", "0"), ("limit", "101"), ("limit", "abc"), ("limit", "-1"),
                     ("limit", "99999999999999999999"), ("cursor", "garbage!!"),
                     ("cursor", "AAAA"), ("cursor", "x" * 3000)):
        t.check("%s: %s=%s is a 422 problem naming %s" % (module, key, val[:20], key),
                t_bad_param, module, key, val)
    s_post = body_schema(module, "post")
    for name, fs in filters(module):
        m = filter_member(s_post, name)
        if m is None or st["item"].get(m) in (None, [], {}):
            continue
        t.check("%s: list filter %s finds it%s" % (module, name, ", another value does not" if enum_values(fs) else ""),
                t_filter, module, st, name, fs)
    for name, fs in filters(module):
        if enum_values(fs):
            t.check("%s: list filter %s=no-such-value finds nothing or is a problem naming %s"
                    % (module, name, name), t_bad_filter, module, name, fs)
    if any(p["name"] == "q" for p in params("/api/v1/{municipality}/" + module, "get")):
        t.check("%s: q finds it by a word of its text (any case), not by another" % module, t_search, module, st)
    if not t.check("%s: PATCH a text member: changed, the rest kept, version+1, new ETag" % module,
                   t_patch, module, st):
        return
    t.check("%s: PATCH with Content-Type application/json is a merge patch too" % module,
            t_patch_json, module, st)
    t.check("%s: PATCH with the old ETag in If-Match is 412 and changes nothing" % module,
            t_stale, module, st, "PATCH")
    t.check("%s: DELETE with the old ETag in If-Match is 412 and deletes nothing" % module,
            t_stale, module, st, "DELETE")
    if optional_member(module, "text")[0]:
        t.check("%s: PATCH %s (optional) to a value, then to null removes it"
                % (module, optional_member(module, "text")[0]), t_patch_null_removes, module, st)
    if optional_member(module, "enums")[0]:
        t.check("%s: PATCH %s (an array) replaces it whole" % (module, optional_member(module, "enums")[0]),
                t_patch_array, module, st)
    for field in s_post.get("required", []):
        t.check("%s: PATCH %s to null is a 422 naming %s" % (module, field, field),
                t_patch_null, module, st, field)
    for path in required_paths(s_post, valid_item(module))[len(s_post.get("required", [])):]:
        f = ".".join(path)
        t.check("%s: PATCH %s to null is a 422 naming it and changes nothing" % (module, f),
                t_patch_refused, module, st, nest(path, None), f)
    for path in enum_paths(s_post, valid_item(module)):
        if path[-1] != 0:
            f = ".".join(path)
            t.check("%s: PATCH %s = a value it does not list is a 422 naming it and changes nothing"
                    % (module, f), t_patch_refused, module, st, nest(path, "no-such-value"), f)
    t.check("%s: PATCH an unknown member is a 422 naming it and changes nothing" % module,
            t_patch_refused, module, st, {"lifecycle_unknown": None}, "lifecycle_unknown")
    for name in server_members(module, st):
        t.check("%s: %s (the server's) in a POST body is a 422 naming it" % (module, name),
                t_read_only, module, st, name, "POST")
        t.check("%s: %s (the server's) in a PATCH is a 422 naming it, nothing changed" % (module, name),
                t_read_only, module, st, name, "PATCH")
    body = valid_item(module)
    for path in required_paths(s_post, body):
        f = ".".join(path)
        t.check("%s: POST without %s is a 422 naming it" % (module, f), invalid(module, deleter(path), f))
    for path in enum_paths(s_post, body):
        if path[-1] == 0:   # an array of enum values: one value it does not list
            f = "%s[0]" % ".".join(path[:-1])
            t.check("%s: POST %s = [a value it does not list] is a 422 naming %s" % (module, f[:-3], f),
                    invalid(module, setter(path[:-1], ["no-such-value"]), f, (f[:-3],)))
            continue
        f = ".".join(path)
        t.check("%s: POST %s = a value it does not list is a 422 naming it" % (module, f),
                invalid(module, setter(path, "no-such-value"), f))
    for name, ps in s_post.get("properties", {}).items():
        v = wrong_type(ps)
        if v is None:
            continue
        t.check("%s: POST %s = %r (another JSON type) is a 422 naming it" % (module, name, v),
                invalid(module, setter((name,), v), name))
    if s_post.get("additionalProperties") is False:
        t.check("%s: POST an unknown member is a 422 naming it" % module,
                invalid(module, setter(("lifecycle_unknown",), 1), "lifecycle_unknown"))
        t.check("%s: POST with every required member missing and an unknown one names them all" % module,
                t_several, module)
    t.check("%s: POST malformed JSON is a 400 problem, nothing stored" % module,
            t_body_refused, module, '{"title": ', "application/json", (400,))
    t.check("%s: POST a JSON array is a 400/422 problem, nothing stored" % module,
            t_body_refused, module, "[]", "application/json", (400, 422))
    t.check("%s: POST with Content-Type text/plain is a 415 problem, nothing stored" % module,
            t_body_refused, module, "{}", "text/plain", (415,))
    t.check("%s: POST a body over 1 MiB is 413" % module, t_too_large, module)
    t.check("%s: a non-Bearer Authorization is 401" % module, t_non_bearer, module, st)
    other = [s_ for s_, mods in muni_modules.items() if module in mods and s_ != SLUG]
    if other:
        t.check("%s: through %s (which has it too) the item is 404 for GET, PATCH and DELETE, "
                "unchanged" % (module, other[0]), t_other_municipality, module, st, other[0])
    t.check("%s: unknown and malformed ids (abc, 0, -1, 01, 1.5, 9x30), an unknown municipality: "
            "404 problems" % module,
            t_not_found, module, st)
    off = [s for s, mods in muni_modules.items() if module not in mods]
    if off:
        t.check("%s: %s has not enabled it: list, POST, GET, PATCH, DELETE are 404 problems"
                % (module, off[0]),
                t_not_enabled, module, st, off[0])
    t.check("%s: POST, PATCH and DELETE without a token are 401 problems" % module, t_no_token, module, st)
    t.check("%s: DELETE: 204, then GET, PATCH and DELETE are 404 and the list lacks it" % module,
            t_delete, module, st)


# --- moved from the four copied test_MODULE.py ------------------------------------

def t_healthz():
    r = request("GET", "/healthz")
    j = expect_json(r, 200)
    expect(j.get("status") == "ok", "status is %r" % j.get("status"), r)


def t_municipalities(mm, items):
    for m in items:
        expect(isinstance(m.get("slug"), str) and isinstance(m.get("name"), str) and m["name"],
               "a municipality without slug or name: %r" % m)
        expect(isinstance(m.get("modules"), list), "%s: modules is not a list" % m.get("slug"))
        expect(isinstance(m.get("languages"), list) and m["languages"], "%s: no languages" % m["slug"])
    expect("provkommun" in mm and mm["provkommun"] == [], "provkommun (no modules) is %r" % mm.get("provkommun"))


def t_unknown_module():
    expect_problem(request("GET", "/api/v1/%s/no-such-module" % SLUG), 404)
    expect_problem(request("GET", "/api/v1/%s/no-such-module/1" % SLUG), 404)


def t_token_list():
    tk = editor()
    r = portalctl("token", "list")
    expect(r.returncode == 0, "portalctl token list exited %d: %s" % (r.returncode, r.stderr))
    rows = [ln for ln in r.stdout.splitlines() if tk[:8] in ln]
    expect(len(rows) == 1, "the token's prefix %r is not on exactly one line:\n%s" % (tk[:8], r.stdout))
    expect(SLUG in rows[0] and "editor" in rows[0], "no municipality and role in %r" % rows[0])
    expect(tk not in r.stdout, "the whole token is printed")
    token_id(tk)


def t_reader(module, st):
    if "reader" not in tokens:
        tokens["reader"] = create_token(SLUG, "reader")
    r = request("GET", one(module, st["id"]), token=tokens["reader"])
    expect(expect_json(r, 200).get("id") == st["id"], "not the item", r)
    expect(st["id"] in ids(walk(module, {}, token=tokens["reader"])), "not listed for a reader")


def t_non_bearer(module, st):
    r = request("POST", coll(module), body=valid_item(module),
                headers={"Authorization": "Basic dXNlcjpwYXNz"})
    expect_problem(r, 401)


def t_other_municipality(module, st, other):
    for method in ("GET", "PATCH", "DELETE"):
        body = {"title": "x"} if method == "PATCH" else None
        r = request(method, one(module, st["id"], other), body=body, token=tokens.get("admin"),
                    content_type="application/merge-patch+json" if body is not None else None)
        expect_problem(r, 404)
    r = request("GET", one(module, st["id"]), token=editor())
    expect(expect_json(r, 200) == st["item"] and r.header("etag") == st["etag"],
           "the item changed through %s" % other, r)


def t_more_items(module, st):
    for key, slug, role in (("muni_admin", SLUG, "admin"), ("all_editor", "*", "editor")):
        if key not in tokens:
            tokens[key] = create_token(slug, role)
    for n, key in ((2, "muni_admin"), (3, "all_editor")):
        b = valid_item(module, n)
        r = request("POST", coll(module), body=b, token=tokens[key])
        j = expect_json(r, 201)
        created.append((module, j["id"]))
        st.setdefault("more", []).append(j["id"])


def t_paging(module, st):
    want = ids(walk(module, {}))
    expect(len(want) >= 3 and len(set(want)) == len(want), "limit=100: %r" % want)
    for limit in (1, 2, 3):
        got = ids(walk(module, {}, limit=limit))
        expect(got == want, "limit=%d walks %r, limit=100 %r" % (limit, got, want))
    r = request("GET", coll(module), token=editor())
    j = expect_json(r, 200)
    expect(len(j["items"]) <= 20, "%d items without a limit" % len(j["items"]), r)


def t_bad_param(module, key, val):
    r = request("GET", coll(module), token=editor(), query={key: val})
    expect_names_param(r, key, codes=(422,))


def t_bad_filter(module, name, fs):
    r = request("GET", coll(module), token=editor(), query={name: "no-such-value"})
    if r.status == 200:
        expect(expect_json(r, 200)["items"] == [], "%s=no-such-value finds items" % name, r)
    else:
        expect_names_param(r, name)


def t_body_refused(module, raw, ctype, codes):
    before = ids(walk(module, {}))
    r = request("POST", coll(module), raw=raw, token=editor(), content_type=ctype)
    expect_problem(r, *codes)
    expect(ids(walk(module, {})) == before, "something was stored")


def t_too_large(module):
    body = b'{"title": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    r = raw_request_status("POST", coll(module), {"Content-Type": "application/json",
                                                  "Authorization": "Bearer " + editor()}, body)
    expect_status(r, 413)


def t_several(module):
    s = body_schema(module, "post")
    b = {"lifecycle_unknown": 1}
    r = request("POST", coll(module), body=b, token=editor())
    p = expect_problem(r, 422)
    want = set(s.get("required", [])) | {"lifecycle_unknown"}
    got = set(error_fields(p))
    expect(want <= got, "errors name %r, not all of %r" % (sorted(got), sorted(want)), r)


def t_patch_refused(module, st, patch, field, ctype="application/merge-patch+json"):
    r = request("PATCH", one(module, st["id"]), body=patch, token=editor(), content_type=ctype)
    expect_field_error(r, field)
    g = request("GET", one(module, st["id"]), token=editor())
    expect(expect_json(g, 200) == st["item"] and g.header("etag") == st["etag"], "the item changed", g)


def optional_member(module, want):
    s = body_schema(module, "post")
    for name, ps in s.get("properties", {}).items():
        if name in s.get("required", []):
            continue
        ps = non_null(ps)
        if want == "text" and kind(ps) == "string" and not ps.get("pattern") and "format" not in ps:
            return name, ps
        if want == "enums" and kind(ps) == "array" and len(enum_values(ps)) >= 2:
            return name, ps
    return None, None


def patched(module, st, patch):
    r = request("PATCH", one(module, st["id"]), body=patch, token=editor(),
                content_type="application/merge-patch+json")
    j = expect_json(r, 200)
    g = request("GET", one(module, st["id"]), token=editor())
    expect(expect_json(g, 200) == j, "GET after the PATCH differs from its answer", g)
    st.update(etag=r.header("etag"), item=j)
    return j, r


def t_patch_null_removes(module, st):
    name, ps = optional_member(module, "text")
    v = "Optional %s" % WORD
    j, r = patched(module, st, {name: v})
    expect(j.get(name) == v, "%s is %r after setting it" % (name, j.get(name)), r)
    j, r = patched(module, st, {name: None})
    expect(j.get(name) is None, "%s is %r after a PATCH to null" % (name, j.get(name)), r)
    st["body"].pop(name, None)


def t_patch_array(module, st):
    name, ps = optional_member(module, "enums")
    vals = enum_values(ps)
    j, r = patched(module, st, {name: vals[:2]})
    expect(j.get(name) == vals[:2], "%s is %r, not %r" % (name, j.get(name), vals[:2]), r)
    j, r = patched(module, st, {name: vals[1:2]})
    expect(j.get(name) == vals[1:2], "%s is %r after a PATCH to %r: merged, not replaced"
           % (name, j.get(name), vals[1:2]), r)
    st["body"][name] = vals[1:2]


def t_municipalities_conf(items):
    """The served municipalities are conf/demo.conf's, with their names, plus
    the two tests/run.sh adds."""
    text_ = open(os.path.join(ROOT, "conf", "demo.conf"), encoding="utf-8").read()
    conf = dict(re.findall(r'slug\s*=\s*"([^"]+)";\s*name\s*=\s*"([^"]+)"', text_))
    expect(conf, "no slug/name pairs in conf/demo.conf")
    got = {m["slug"]: m["name"] for m in items}
    want = dict(conf, provkommun="Provkommun", flyttkommun="Flyttkommun")
    expect(got == want, "served %r, configured %r" % (got, want))


def server_members(module, st):
    """Members of the item the POST body does not declare: the server's."""
    props = body_schema(module, "post").get("properties", {})
    return [k for k in st["item"] if k not in props]


def t_read_only(module, st, name, method):
    value = st["item"][name]
    if method == "POST":
        b = dict(valid_item(module), **{name: value})
        r = request("POST", coll(module), body=b, token=editor())
        if r.status == 201 and isinstance(r.json, dict) and "id" in r.json:
            created.append((module, r.json["id"]))
        expect_field_error(r, name)
    else:
        t_patch_refused(module, st, {name: value}, name)


def t_patch_json(module, st):
    path = text_path(st["body"], body_schema(module, "post"))
    new = "Patched again %s" % WORD
    r = request("PATCH", one(module, st["id"]), body=nest(path, new), token=editor(),
                headers={"If-Match": st["etag"]}, content_type="application/json")
    j = expect_json(r, 200)
    expect(at(j, path) == new, "%s is %r" % (".".join(path), at(j, path)), r)
    kept = copy.deepcopy(st["body"])
    at(kept, path[:-1])[path[-1]] = new
    subset(kept, j)
    st.update(old_etag=st["etag"], etag=r.header("etag"), item=j, body=kept)


def t_setup():
    r = request("GET", "/api/v1/openapi.json")
    doc.update(expect_json(r, 200))
    r = request("GET", "/api/v1/municipalities")
    j = expect_json(r, 200)
    mm = {m["slug"]: m.get("modules", []) for m in j["items"]}
    muni_items[:] = j["items"]
    expect(SLUG in mm, "no municipality %s (tests/run.sh adds it)" % SLUG, r)
    global LANG
    LANG = [m for m in j["items"] if m["slug"] == SLUG][0]["languages"][0]
    editor()
    tokens["admin"] = os.environ.get("PORTAL_ADMIN_TOKEN") or create_token("*", "admin")
    return mm


LANG = "sv"
muni_items = []


def main():
    mods = modules_found()
    mm = t.check("the OpenAPI document, the municipalities and an editor token of %s" % SLUG, t_setup)
    if not mm:
        return t.done()
    t.check("%s enables every module found in plugins/ (%s)" % (SLUG, ", ".join(mods)),
            lambda: expect(set(mods) <= set(mm[SLUG]), "%s enables %r" % (SLUG, mm[SLUG])))
    t.check("GET /healthz answers 200 {\"status\": \"ok\"}", t_healthz)
    t.check("GET /api/v1/municipalities: slug, name, languages and modules of each; provkommun none",
            t_municipalities, mm, muni_items)
    t.check("the municipalities served are conf/demo.conf's (slug, name) plus provkommun and flyttkommun",
            t_municipalities_conf, muni_items)
    t.check("an unknown module is a 404 problem", t_unknown_module)
    t.check("portalctl token list shows a token's prefix, municipality and role, not the token",
            t_token_list)
    try:
        for m in mods:
            lifecycle(m, mm)
    finally:
        t.check("every item this test made is deleted again", t_cleanup)
        for key, tk in tokens.items():
            if tk != os.environ.get("PORTAL_ADMIN_TOKEN"):
                try:
                    portalctl("token", "revoke", token_id(tk))
                except Exception:
                    pass
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
