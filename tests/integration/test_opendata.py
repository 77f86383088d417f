#!/usr/bin/env python3
"""test_opendata.py - open data for the systems that integrate (issue #19,
parts 4-7): every item's uid (made on create, read-only, resolved by
GET /{m}/{module}/uid/{uid}, kept by export and import), `updated_since`
on the lists, GET /{m}/changes (created, updated, deleted; cursor pages;
410 before the retention; only what the caller may see), the list over
municipalities GET /api/v1/all/{module}, the data licence (municipalities
list, pages' footer) and the DCAT-AP-SE catalogue GET /api/v1/catalog.jsonld
(its RDF expansion is test_catalog_jsonld.sh's).

Writes news in `svenljunga` and, for the uid's move between
municipalities, in `lejre`; everything it creates is deleted again
(lejre, which has no news of its own).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import (PORTAL_CONF, PORTAL_URL, PORTALCTL, Fail, Tap, create_token, expect,  # noqa: E402
                     expect_field_error, expect_json, expect_status, request)

M = "svenljunga"
DST = "lejre"  # enables news and has none (flyttkommun is test_transfer.py's)
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
S = {"made": []}


def news(title, status="published"):
    return {"title": title, "lead": "Ingress.", "body": "Text om %s." % title, "lang": "sv",
            "status": status, "author": "Test", "areas": ["culture"]}


def create(body, slug=M):
    r = request("POST", "/api/v1/%s/news" % slug, body=body, token=S["editor"] if slug == M else S["admin"])
    j = expect_json(r, 201)
    S["made"].append((slug, j["id"]))
    return j


def patch(item_id, body, slug=M):
    r = request("PATCH", "/api/v1/%s/news/%d" % (slug, item_id), body=body, token=S["editor"],
                headers={"Content-Type": "application/merge-patch+json"})
    return expect_json(r, 200)


def delete(item_id, slug=M):
    tok = S["editor"] if slug == M else S["admin"]
    expect_status(request("DELETE", "/api/v1/%s/news/%d" % (slug, item_id), token=tok), 204)
    S["made"] = [x for x in S["made"] if x != (slug, item_id)]


def changes(token=None, **q):
    """Every change since q['since'], following the cursors."""
    out, cursor = [], None
    for _ in range(200):
        qq = dict(q)
        if cursor:
            qq["cursor"] = cursor
        j = expect_json(request("GET", "/api/v1/%s/changes" % M, token=token, query=qq), 200)
        expect(set(j) == {"items", "next"}, "members %r" % sorted(j))
        out += j["items"]
        cursor = j["next"]
        if not cursor:
            return out
    raise Fail("more than 200 pages of changes")


def setup():
    S["admin"] = create_token("*", "admin")
    S["editor"] = create_token(M, "editor")
    S["reader"] = create_token(M, "reader")
    # the server's clock: the Date of an answer, a second back
    r = request("GET", "/healthz")
    t = time.strptime(r.header("Date"), "%a, %d %b %Y %H:%M:%S GMT")
    S["t0"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.mktime(t) - time.timezone - 1))


def t_uid():
    a = create(news("Opendata A"))
    expect(UUID4.match(a.get("uid") or ""), "uid %r is no UUID v4" % a.get("uid"))
    b = create(news("Opendata B", "draft"))
    expect(b["uid"] != a["uid"], "two items, one uid")
    S["a"], S["b"] = a, b
    r = request("GET", "/api/v1/%s/news/uid/%s" % (M, a["uid"]))
    j = expect_json(r, 200)
    expect(j["id"] == a["id"] and j["uid"] == a["uid"], "uid resolves to %r" % j.get("id"))
    expect(r.header("Content-Location") == "/api/v1/%s/news/%d" % (M, a["id"]),
           "Content-Location %r" % r.header("Content-Location"))
    # a draft by its uid: a reader sees it, nobody else
    expect_status(request("GET", "/api/v1/%s/news/uid/%s" % (M, b["uid"])), 404)
    expect_json(request("GET", "/api/v1/%s/news/uid/%s" % (M, b["uid"]), token=S["reader"]), 200)
    expect_status(request("GET", "/api/v1/%s/news/uid/%s" % (M, "0" * 8 + "-0000-4000-8000-" + "0" * 12)), 404)
    expect_status(request("GET", "/api/v1/%s/news/uid/not-a-uid" % M), 404)
    # another municipality does not find it
    expect_status(request("GET", "/api/v1/borlange/news/uid/%s" % a["uid"]), 404)
    # read-only, and a change keeps it
    expect_field_error(request("POST", "/api/v1/%s/news" % M, body=dict(news("x"), uid=a["uid"]),
                               token=S["editor"]), "uid")
    p = patch(a["id"], {"lead": "Ny ingress."})
    expect(p["uid"] == a["uid"], "a change gave a new uid")


def t_every_module_uid():
    mods = [m for m in expect_json(request("GET", "/api/v1/municipalities"), 200)["items"]
            if m["slug"] == "borlange"][0]["modules"]
    for mod in mods:
        j = expect_json(request("GET", "/api/v1/borlange/%s" % mod, token=S["admin"], query={"limit": "3"}), 200)
        expect(j["items"], "borlange has no %s" % mod)
        for it in j["items"]:
            expect(UUID4.match(it.get("uid") or ""), "%s %s: uid %r" % (mod, it.get("id"), it.get("uid")))
            one = expect_json(request("GET", "/api/v1/borlange/%s/uid/%s" % (mod, it["uid"]), token=S["admin"]), 200)
            expect(one["id"] == it["id"], "%s uid resolves to %r" % (mod, one["id"]))


def t_updated_since():
    j = expect_json(request("GET", "/api/v1/%s/news" % M, token=S["reader"],
                            query={"updated_since": S["t0"], "limit": "100"}), 200)
    ids = {it["id"] for it in j["items"]}
    expect(ids == {S["a"]["id"], S["b"]["id"]}, "updated_since %s: %r" % (S["t0"], sorted(ids)))
    j = expect_json(request("GET", "/api/v1/%s/news" % M, query={"updated_since": S["t0"]}), 200)
    expect({it["id"] for it in j["items"]} == {S["a"]["id"]}, "anonymous: drafts too? %r" % j["items"])
    old = expect_json(request("GET", "/api/v1/%s/news" % M, query={"updated_since": "2000-01-01", "limit": "100"}), 200)
    expect(len(old["items"]) == len(muni_list(M)), "a date long ago finds only %d" % len(old["items"]))
    for mod in ("partnerships", "projects", "visits", "contacts", "pages"):
        j = expect_json(request("GET", "/api/v1/%s/%s" % (M, mod), query={"updated_since": "2999-01-01T00:00:00Z"}), 200)
        expect(j["items"] == [], "%s: items changed in 2999" % mod)
    for bad in ("yesterday", "2024-13-01", "2024-01-01T25:00:00Z", "2024-01-01T10:00:00+02:00"):
        expect_field_error(request("GET", "/api/v1/%s/news" % M, query={"updated_since": bad}), "updated_since")


def t_changes():
    a, b = S["a"], S["b"]
    delete(a["id"])
    mine = lambda lst: [(c["module"], c["id"], c["uid"], c["action"]) for c in lst  # noqa: E731
                        if c["module"] == "news" and c["id"] in (a["id"], b["id"])]
    got = changes(token=S["reader"], since=S["t0"])
    want = [("news", a["id"], a["uid"], "created"), ("news", b["id"], b["uid"], "created"),
            ("news", a["id"], a["uid"], "updated"), ("news", a["id"], a["uid"], "deleted")]
    expect(mine(got) == want, "a reader's changes:\n%r\nwant\n%r" % (mine(got), want))
    for c in got:
        expect(set(c) == {"module", "id", "uid", "action", "at"}, "members %r" % sorted(c))
        expect(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", c["at"]), "at %r" % c["at"])
    ats = [c["at"] for c in got]
    expect(ats == sorted(ats), "not in time order: %r" % ats)
    # anonymous: the draft is not there
    anon = mine(changes(since=S["t0"]))
    expect(anon == [w for w in want if w[1] == a["id"]], "anonymous changes: %r" % anon)
    # the draft published is created for an anonymous caller, unpublished deleted
    patch(b["id"], {"status": "published"})
    patch(b["id"], {"status": "draft"})
    anon = [x for x in mine(changes(since=S["t0"])) if x[1] == b["id"]]
    expect([x[3] for x in anon] == ["created", "deleted"], "publish, unpublish: %r" % anon)
    reader = [x for x in mine(changes(token=S["reader"], since=S["t0"])) if x[1] == b["id"]]
    expect([x[3] for x in reader] == ["created", "updated", "updated"], "reader: %r" % reader)


def t_changes_pages():
    whole = changes(token=S["reader"], since=S["t0"])
    paged = changes(token=S["reader"], since=S["t0"], limit="1")
    expect(paged == whole, "limit=1 pages differ from one page:\n%r\n%r" % (paged, whole))
    expect(len(whole) >= 6, "only %d changes" % len(whole))
    # without since: the whole retention (the demo data's creation is in it)
    j = expect_json(request("GET", "/api/v1/%s/changes" % M, query={"limit": "5"}), 200)
    expect(len(j["items"]) == 5 and j["next"], "no since: %r" % j)


def t_changes_errors():
    r = request("GET", "/api/v1/%s/changes" % M, query={"since": "2000-01-01"})
    expect_status(r, 410)
    detail = r.json.get("detail", "")
    expect("90 days" in detail and "changes_retention" in detail, "410 detail %r" % detail)
    expect_field_error(request("GET", "/api/v1/%s/changes" % M, query={"since": "soon"}), "since")
    expect_field_error(request("GET", "/api/v1/%s/changes" % M, query={"cursor": "x"}), "cursor")
    expect_status(request("POST", "/api/v1/%s/changes" % M, body={}, token=S["admin"]), 405)
    expect_status(request("GET", "/api/v1/provkommun/news/uid/%s" % S["a"]["uid"]), 404)


def all_list(token=None, **q):
    out, cursor = [], None
    for _ in range(500):
        qq = dict(q)
        if cursor:
            qq["cursor"] = cursor
        r = request("GET", "/api/v1/all/news", token=token, query=qq)
        j = expect_json(r, 200)
        expect("public" in (r.header("Cache-Control") or ""), "Cache-Control %r" % r.header("Cache-Control"))
        out += j["items"]
        cursor = j["next"]
        if not cursor:
            return out
    raise Fail("too many pages")


def muni_list(slug):
    out, cursor = [], None
    while True:
        q = {"limit": "100"}
        if cursor:
            q["cursor"] = cursor
        j = expect_json(request("GET", "/api/v1/%s/news" % slug, query=q), 200)
        out += j["items"]
        cursor = j["next"]
        if not cursor:
            return out


def t_all():
    for i in range(3):
        create(news("Alla %d" % i))
    two = all_list(municipality="borlange,%s" % M, limit="1")
    want = muni_list("borlange") + muni_list(M)
    expect(sorted(i["uid"] for i in two) == sorted(i["uid"] for i in want),
           "all/news for borlange,lerum: %d items, the two lists %d" % (len(two), len(want)))
    expect({i["municipality"] for i in two} == {"borlange", M}, "municipalities %r"
           % {i["municipality"] for i in two})
    keys = [(i["published_at"] or "", i["id"]) for i in two]
    expect(keys == sorted(keys, reverse=True), "not in the list's order (newest first)")
    # a token changes nothing: the anonymous view
    with_token = all_list(token=S["admin"], municipality=M, limit="100")
    expect(all(i["status"] == "published" for i in with_token), "drafts in the all-list")
    every = all_list(limit="100")
    slugs = [m["slug"] for m in expect_json(request("GET", "/api/v1/municipalities"), 200)["items"]
             if "news" in m["modules"]]
    expect(len(every) == sum(len(muni_list(s)) for s in slugs), "all/news without municipality")
    expect_field_error(request("GET", "/api/v1/all/news", query={"municipality": "provkommun"}), "municipality")
    expect_field_error(request("GET", "/api/v1/all/news", query={"municipality": "nowhere"}), "municipality")
    expect_field_error(request("GET", "/api/v1/all/news", query={"updated_since": "x"}), "updated_since")
    expect_status(request("GET", "/api/v1/all/nosuchmodule"), 404)
    expect_status(request("POST", "/api/v1/all/news", body={}, token=S["admin"]), 405)
    s = all_list(municipality="borlange", updated_since="2999-01-01")
    expect(s == [], "updated_since in the all-list")


def t_license():
    ms = expect_json(request("GET", "/api/v1/municipalities"), 200)["items"]
    for m in ms:
        expect(m.get("license") == "https://creativecommons.org/publicdomain/zero/1.0/",
               "%s: license %r" % (m["slug"], m.get("license")))
    r = request("GET", "/%s/" % M, headers={"Accept": "text/html"})
    expect_status(r, 200)
    html = r.body.decode("utf-8")
    expect(re.search(r'<a href="https://creativecommons.org/publicdomain/zero/1.0/" rel="license">CC0 1.0</a>', html),
           "the footer names no licence")


def t_catalog():
    r = request("GET", "/api/v1/catalog.jsonld", headers={"Host": "evil.example"})
    expect_status(r, 200)
    expect((r.header("Content-Type") or "").startswith("application/ld+json"), r.header("Content-Type"))
    cat = r.json
    expect(cat["@type"] == "dcat:Catalog", "@type %r" % cat.get("@type"))
    base = PORTAL_URL.split("/api/")[0]
    ms = expect_json(request("GET", "/api/v1/municipalities"), 200)["items"]
    want = {"%s/%s" % (m["slug"], mod) for m in ms for mod in m["modules"]}
    got = {d["dct:identifier"] for d in cat["dcat:dataset"]}
    expect(got == want, "datasets %r, want %r" % (sorted(got ^ want), sorted(want)))
    text = json.dumps(cat)
    expect("evil.example" not in text, "a URL from the Host header")
    for d in cat["dcat:dataset"]:
        fmts = {x["dct:format"]["@id"].rsplit("/", 1)[1] for x in d["dcat:distribution"]}
        mod = d["dct:identifier"].split("/")[1]
        expect("JSON" in fmts and "CSV" in fmts, "%s: formats %r" % (d["dct:identifier"], fmts))
        expect(("ICAL" in fmts) == (mod in ("visits", "funds")), "%s: %r" % (d["dct:identifier"], fmts))
        expect(("GEOJSON" in fmts) == (mod == "partnerships"), "%s: %r" % (d["dct:identifier"], fmts))
        expect(("VCARD" in fmts) == (mod == "contacts"), "%s: %r" % (d["dct:identifier"], fmts))
        expect(d["dct:license"]["@id"] == "https://creativecommons.org/publicdomain/zero/1.0/", "licence")
        for x in d["dcat:distribution"]:
            for k in ("dcat:accessURL", "dcat:downloadURL"):
                expect(x[k]["@id"].startswith(base + "/api/v1/"), "%s %r" % (k, x[k]))
        for k in ("dct:publisher", "dcat:contactPoint", "dcat:theme", "dct:title"):
            expect(k in d, "%s has no %s" % (d["dct:identifier"], k))
    # a distribution's URL answers
    d = [d for d in cat["dcat:dataset"] if d["dct:identifier"] == "borlange/visits"][0]
    for x in d["dcat:distribution"]:
        u = x["dcat:downloadURL"]["@id"][len(base):]
        expect_status(request("GET", u, headers={"Accept": "*/*"}), 200)
    d = [d for d in cat["dcat:dataset"] if d["dct:identifier"] == "%s/news" % M][0]
    expect(d["dct:modified"]["@value"] >= S["t0"], "dct:modified %r before this test's writes"
           % d["dct:modified"])


def t_uid_move():
    """Export keeps uids; importing them where they are taken is refused
    (nothing written); after the items left the source, the import keeps
    them and the uids resolve in the new municipality."""
    c = create(news("Flytt 1"))
    d = create(news("Flytt 2", "draft"))
    tmp = tempfile.mkdtemp()
    full = os.path.join(tmp, "src.json")
    r = subprocess.run([PORTALCTL, "-c", PORTAL_CONF, "export", M, "-o", full, "--quiet"],
                       capture_output=True, text=True, timeout=240)
    expect(r.returncode == 0, "export: %s" % r.stderr)
    with open(full, encoding="utf-8") as f:
        doc = json.load(f)
    mine = [it for it in doc["modules"]["news"] if it["id"] in (c["id"], d["id"])]
    expect([it["uid"] for it in mine] == [c["uid"], d["uid"]], "the export's uids %r" % mine)
    doc["modules"] = {"news": mine}
    part = os.path.join(tmp, "part.json")
    with open(part, "w", encoding="utf-8") as f:
        json.dump(doc, f)

    def imp():
        return subprocess.run([PORTALCTL, "-c", PORTAL_CONF, "import", DST, part, "--quiet"],
                              capture_output=True, text=True, timeout=240)
    r = imp()
    expect(r.returncode != 0 and re.search(r"uid: %s is already the uid of an item of %s" % (c["uid"], M), r.stderr),
           "import of taken uids: %d %s" % (r.returncode, r.stderr))
    j = expect_json(request("GET", "/api/v1/%s/news" % DST, token=S["admin"]), 200)
    expect(j["items"] == [], "the refused import wrote %d items" % len(j["items"]))
    delete(c["id"])
    delete(d["id"])
    r = imp()
    expect(r.returncode == 0, "import after the move: %s" % r.stderr)
    for it in (c, d):
        one = expect_json(request("GET", "/api/v1/%s/news/uid/%s" % (DST, it["uid"]), token=S["admin"]), 200)
        expect(one["title"] == it["title"] and one["uid"] == it["uid"], "moved: %r" % one)
        S["made"].append((DST, one["id"]))


def cleanup():
    for slug, item_id in list(S["made"]):
        request("DELETE", "/api/v1/%s/news/%d" % (slug, item_id), token=S["admin"])


def main():
    t = Tap()
    if t.check("setup: tokens, the server's time", setup) is None:
        return t.done()
    try:
        if t.check("uid: a UUID v4 on create, read-only, kept by a change, GET /news/uid/{uid}", t_uid):
            t.check("updated_since on the lists: changed items only; 422 naming it", t_updated_since)
            t.check("changes: created, updated, deleted in order with uids; drafts hidden from "
                    "anonymous callers; publish is created, unpublish deleted", t_changes)
            t.check("changes: cursor pages equal one page; no since is the retention", t_changes_pages)
            t.check("changes: 410 before the retention, 422 naming since and cursor, 405", t_changes_errors)
        t.check("every module's items have a uid that resolves", t_every_module_uid)
        t.check("all/news: one cursor-paged list over the municipalities, anonymous, cacheable", t_all)
        t.check("the data licence: municipalities list and the pages' footer", t_license)
        t.check("catalog.jsonld: a dataset per municipality and module, distributions, URLs from "
                "public_url", t_catalog)
        t.check("uid round trip: export keeps uids, a taken uid refuses the import, a move keeps them",
                t_uid_move)
    finally:
        cleanup()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
