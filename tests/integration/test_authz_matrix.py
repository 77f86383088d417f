#!/usr/bin/env python3
"""test_authz_matrix.py - every write route of every module (read from the
served OpenAPI description, so a new plugin's routes cannot escape) crossed
with every kind of caller: no token, an unknown token, a revoked token, a
reader, an editor of another municipality, an editor, an admin, a token for
all municipalities.  The first five must get 401/403 problem+json before the
handler runs; the others must get past auth (the handler then answers 4xx
for the deliberately empty body or unknown id, so nothing is written).
The audit log (admins only) is checked the same way.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import (Tap, create_token, expect, expect_json, expect_problem,  # noqa: E402
                     portalctl, request, token_id)

M = "herrljunga"
OTHER = "borlange"
WRITE_METHODS = ("post", "put", "patch", "delete")


def tokens():
    t = {
        "none": None,
        "unknown": "pt_" + "A" * 43,
        "malformed": "not-a-token",
        "revoked": create_token(M, "editor"),
        "reader": create_token(M, "reader"),
        "other_editor": create_token(OTHER, "editor"),
        "other_admin": create_token(OTHER, "admin"),
        "editor": create_token(M, "editor"),
        "admin": create_token(M, "admin"),
        "all_editor": create_token("*", "editor"),
    }
    r = portalctl("token", "revoke", token_id(t["revoked"]))
    expect(r.returncode == 0, "portalctl token revoke failed: %s" % r.stderr)
    return t


EXPECT = {
    "none": (401,), "unknown": (401,), "malformed": (401,), "revoked": (401,),
    "reader": (403,), "other_editor": (403,), "other_admin": (403,),
}
ALLOWED = ("editor", "admin", "all_editor")


def write_routes():
    doc = expect_json(request("GET", "/api/v1/openapi.json"), 200)
    muni = expect_json(request("GET", "/api/v1/municipalities"), 200)
    enabled = {m["slug"]: set(m["modules"]) for m in muni["items"]}
    routes = []
    prefix = "/api/v1/{municipality}/"
    for path, ops in sorted(doc.get("paths", {}).items()):
        if not path.startswith(prefix):
            continue
        module = path[len(prefix):].split("/")[0].split(".")[0]
        if module not in enabled.get(M, set()):
            continue
        for method in WRITE_METHODS:
            if method in ops:
                url = path.replace("{municipality}", M).replace("{id}", "999999999")
                routes.append((method.upper(), url))
    expect(routes, "the OpenAPI description lists no write routes for %s" % M)
    return routes


def cell(method, url, who, tok):
    body = {} if method in ("POST", "PUT", "PATCH") else None
    r = request(method, url, body=body, token=tok)
    if who in EXPECT:
        expect_problem(r, *EXPECT[who])
        if r.status == 401:
            expect(r.header("www-authenticate", "").lower().startswith("bearer"),
                   "401 without WWW-Authenticate: Bearer", r)
    else:
        expect(r.status not in (401, 403) and r.status < 500,
               "%s was refused or failed: %d" % (who, r.status), r)


def main():
    t = Tap()
    toks = t.check("tokens: revoked, reader, editors and admins of %s and %s, one for all" % (M, OTHER),
                   tokens)
    routes = t.check("write routes from /api/v1/openapi.json", write_routes)
    if not toks or not routes:
        return t.done()
    cells = 0
    for method, url in routes:
        for who, tok in toks.items():
            cells += 1
            t.check("%s %s as %s -> %s" % (method, url, who,
                                             "/".join(map(str, EXPECT[who])) if who in EXPECT
                                             else "past auth"),
                    cell, method, url, who, tok)
    audit = "/api/v1/%s/audit" % M
    for who, tok in toks.items():
        want = EXPECT.get(who) or ((200,) if who == "admin" else (403,))
        if who == "all_editor":
            want = (403,)
        t.check("GET %s as %s -> %s" % (audit, who, "/".join(map(str, want))),
                lambda tok=tok, want=want: (expect_json if want == (200,) else expect_problem)(
                    request("GET", audit, token=tok), *want))
        cells += 1
    print("# %d matrix cells over %d write routes" % (cells, len(routes)))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
