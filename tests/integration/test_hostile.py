#!/usr/bin/env python3
"""test_hostile.py - crafted hostile requests against every module (read
from the served OpenAPI description): malformed and truncated JSON, wrong
types, out-of-range numbers, impossible dates, SQL and path-traversal
strings, script injection, oversize fields, deep nesting, odd headers,
methods and paths.  Every answer must be below 500; every 4xx must be
problem+json; what is accepted (2xx) must read back unchanged and is
deleted again.  Afterwards the server must be healthy and no worker may
have died.  One TAP line per request.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import (PORTAL_VAR, Tap, create_token, expect, expect_problem,  # noqa: E402
                     request)

M = "svenljunga"  # every module enabled
NASTY_STRINGS = [
    "'; DROP TABLE partnerships; --",
    "\" OR \"1\"=\"1",
    "../../../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "%00",
    "\u202eevil\u202c",
    "\U0001F600 emoji",
    "a" * 5000,
    "",
    " ",
    "\\",
    "{{7*7}}",
    "${jndi:ldap://x}",
]
NASTY_VALUES = [None, True, 0, -1, 2 ** 63, -2 ** 63 - 1, 1e308, -1e308, 0.5, [], {}, [None],
                {"$ne": 1}, "2024-02-30", "9999-99-99", "XX"]


def raw_bodies():
    deep = "[" * 200 + "]" * 200
    return [
        ("empty body", b""),
        ("just {", b"{"),
        ("truncated object", b'{"title": "x", "sta'),
        ("truncated string", b'{"title": "x'),
        ("array", b"[1, 2, 3]"),
        ("bare string", b'"hello"'),
        ("bare number", b"42"),
        ("null", b"null"),
        ("trailing comma", b'{"title": "x",}'),
        ("single quotes", b"{'title': 'x'}"),
        ("NaN", b'{"title": NaN}'),
        ("Infinity", b'{"title": Infinity}'),
        ("comment", b'/* c */ {"title": "x"}'),
        ("two documents", b'{"title": "x"} {"title": "y"}'),
        ("deep nesting 200", deep.encode()),
        ("deep objects 40", ('{"a":' * 40 + "1" + "}" * 40).encode()),
        ("invalid UTF-8", b'{"title": "\xff\xfe"}'),
        ("overlong UTF-8", b'{"title": "\xc0\xaf"}'),
        ("NUL byte", b'{"title": "a\x00b"}'),
        ("escaped NUL", b'{"title": "a\\u0000b"}'),
        ("lone surrogate escape", b'{"title": "\\ud800"}'),
        ("UTF-8 BOM", b'\xef\xbb\xbf{"title": "x"}'),
        ("duplicate keys", b'{"title": "x", "title": "y"}'),
        ("huge number", b'{"title": 1e999999}'),
        ("huge integer", b'{"title": 123456789012345678901234567890}'),
        ("control chars", b'{"title": "a\tb\x01c"}'),
        ("unknown members only", b'{"zzz": 1, "yyy": [1]}'),
        ("1000 members", json.dumps({"k%d" % i: i for i in range(1000)}).encode()),
        ("wide array", json.dumps({"areas": ["culture"] * 5000}).encode()),
    ]


def modules():
    doc = request("GET", "/api/v1/openapi.json").json
    out = []
    for path, ops in doc["paths"].items():
        if path.startswith("/api/v1/{municipality}/") and path.count("/") == 4 and "post" in ops:
            name = path.rsplit("/", 1)[1]
            content = ops["post"]["requestBody"]["content"]
            if "application/json" not in content:
                continue  # an upload (media): the file itself, test_media.py
            ex = content["application/json"].get("example") or {}
            out.append((name, ex))
    return sorted(out)


S = {"created": []}


def check(method, path, body=None, raw=None, token=None, headers=None, query=None,
          content_type="application/json", allow_2xx=True):
    r = request(method, path, body=body, raw=raw, token=token, headers=headers, query=query,
                content_type=content_type)
    expect(r.status < 500, "server error %d" % r.status, r)
    if r.status >= 400:
        expect_problem(r, r.status)
    elif r.status < 300:
        expect(allow_2xx, "accepted (%d) what must be refused" % r.status, r)
        if method == "POST" and r.status == 201 and isinstance(r.json, dict) and "id" in r.json:
            S["created"].append((path, r.json["id"]))
    return r


def mutate(example, field, value):
    b = json.loads(json.dumps(example))
    b[field] = value
    return b


LOG = os.path.join(PORTAL_VAR, "log", "portald.log")


def main():
    t = Tap()
    start = os.path.getsize(LOG) if os.path.exists(LOG) else 0  # only this run's lines count
    tok = t.check("an editor token for %s" % M, lambda: create_token(M, "editor"))
    mods = t.check("modules with POST from the OpenAPI description", modules)
    if not tok or not mods:
        return t.done()
    n = 0
    for name, example in mods:
        base = "/api/v1/%s/%s" % (M, name)
        for label, raw in raw_bodies():
            n += 1
            # json-c turns a lone surrogate escape into U+FFFD: valid text
            t.check("%s POST %s" % (name, label), check, "POST", base, None, raw, tok, None, None,
                    "application/json", label == "lone surrogate escape")
        for field in sorted(example):
            for v in NASTY_VALUES:
                n += 1
                t.check("%s POST %s = %s" % (name, field, json.dumps(v)[:40]), check, "POST", base,
                        mutate(example, field, v), None, tok)
            for s in NASTY_STRINGS[:6] + NASTY_STRINGS[10:11]:
                n += 1
                t.check("%s POST %s = %r" % (name, field, s[:30]), check, "POST", base,
                        mutate(example, field, s), None, tok)
        for ct in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                   "application/jsonp", ""):
            n += 1
            t.check("%s POST Content-Type %r" % (name, ct), check, "POST", base, example, None, tok,
                    None, None, ct, False)
        for q in [{"limit": "-1"}, {"limit": "0"}, {"limit": "1e9"}, {"limit": "abc"},
                  {"limit": "99999999999999999999"}, {"cursor": "garbage"}, {"cursor": "W10"},
                  {"cursor": "eyJhIjoxfQ"}, {"cursor": "A" * 3000}, {"q": "' OR 1=1 --"},
                  {"q": "%"}, {"q": "_"}, {"q": "!"}, {"q": "x" * 300}, {"q": "\u0000"},
                  {"status": "ACTIVE"}, {"status": "'"}, {"area": "../etc"}, {"country": "xx"},
                  {"from": "2024-02-30"}, {"to": "yesterday"}, {"since": "2024-13-01"},
                  {"active_on": "2024-00-10"}, {"partnership": "-5"}, {"lang": "english"}]:
            n += 1
            t.check("%s GET ?%s" % (name, "&".join("%s=%s" % (k, v[:20]) for k, v in q.items())),
                    check, "GET", base, None, None, None, None, q)
        for bad in ["0", "-1", "abc", "1e3", "99999999999999999999999", "%2e%2e", "..%2f..%2fetc",
                    "1%00", "1;DROP", "1%20OR%201=1", "%C3%28", "1.0", "%0d%0aX:1"]:
            for method in ("GET", "PATCH", "DELETE"):
                n += 1
                t.check("%s %s /%s" % (name, method, bad), check, method, base + "/" + bad,
                        {} if method == "PATCH" else None, None, tok, None, None,
                        "application/json", False)
        for h in [{"If-Match": "garbage"}, {"If-Match": "\"1-1\", W/\"x\""}, {"If-None-Match": "*"},
                  {"Idempotency-Key": ""}, {"Idempotency-Key": "k" * 500}, {"Accept": "text/html"},
                  {"X-Forwarded-For": "' OR 1=1"}, {"Proxy": "http://evil.example/"}]:
            n += 1
            t.check("%s GET with %s" % (name, list(h)[0]), check, "GET", base, None, None, None, h)
        for auth in ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 5000,
                     "Bearer pt_" + "é" * 10, "bearer " + tok.upper()]:
            n += 1
            t.check("%s POST Authorization %r" % (name, auth[:24]), check, "POST", base, example,
                    None, None, {"Authorization": auth}, None, "application/json", False)
        for method in ("PUT", "OPTIONS"):
            n += 1
            t.check("%s %s on the collection" % (name, method), check, method, base, example, None,
                    tok, None, None, "application/json", False)

    def cleanup():
        for path, item in S["created"]:
            r = request("DELETE", "%s/%s" % (path, item), token=tok)
            expect(r.status in (204, 404, 409), "cleanup DELETE %s/%s: %d" % (path, item, r.status), r)
    t.check("delete what was accepted (%d items)" % len(S["created"]), cleanup)

    def healthy():
        r = request("GET", "/healthz")
        expect(r.status == 200, "healthz %d" % r.status, r)
        if os.path.exists(LOG):
            with open(LOG, "rb") as f:
                f.seek(start)
                lines = f.read().decode("utf-8", "replace").splitlines(True)
            dead = [ln for ln in lines if "killed by signal" in ln or "exited with" in ln]
            expect(not dead, "workers died:\n" + "".join(dead[:5]))
    t.check("the server is healthy afterwards and no worker died", healthy)
    print("# %d hostile requests" % n)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
