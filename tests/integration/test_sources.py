#!/usr/bin/env python3
"""Integration tests of what the core gives every module's items (stdlib
only): `sources` and the country and language names of the pages.

Run by tests/run.sh with PORTAL_URL, PORTAL_CONF, PORTALCTL, PORTAL_VAR set,
on a stack with the demo data and conf/demo.conf.

  - sources [{url, title, retrieved_on}]: on every module whose item is
    declared with a table (found, not listed: the served OpenAPI
    description has `sources` in each module's item and POST schemas), a
    round trip on two modules (POST, GET, list, PATCH, PATCH null), the
    item page's "Källa"/"Kilde"/"Source" section, and 422s naming the
    member for a url that is not a URL, a missing title, a bad date;
  - the demo data names its source on every item of every module;
  - country names: a partnership's page says "Lettland" (sv), "Letland"
    (da), "Latvia" (en), not "LV"; a partner's other name shows its
    language's name.

Scratch items go to herrljunga and are deleted again at the end.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import (Tap, create_token, expect, expect_field_error, expect_json,  # noqa: E402
                     expect_status, portalctl, request, token_id)

API = "/api/v1"
TAG = "stest-%d" % os.getpid()
SCRATCH = "herrljunga"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

t = Tap()
tokens = {}
created = []
SRC = [{"url": "https://example.org/%s/strategi" % TAG, "title": "%s strategi" % TAG,
        "retrieved_on": "2024-05-02"},
       {"title": "%s tryckt broschyr" % TAG}]
SHOWN = [SRC[0], dict(SRC[1], url=None, retrieved_on=None)]


def tok(slug, role="editor"):
    if (slug, role) not in tokens:
        tokens[(slug, role)] = create_token(slug, role)
    return tokens[(slug, role)]


def schemas():
    doc = expect_json(request("GET", API + "/openapi.json"), 200)
    return doc


def t_openapi():
    doc = schemas()
    comps = doc["components"]["schemas"]

    def props(s, seen=0):
        if "$ref" in s:
            return props(comps[s["$ref"].split("/")[-1]], seen + 1)
        out = dict(s.get("properties", {}))
        for a in s.get("allOf", []):
            out.update(props(a, seen + 1))
        return out
    mods = [m for m in sorted(os.listdir(os.path.join(ROOT, "plugins")))
            if "/api/v1/{municipality}/%s/{id}" % m in doc["paths"]]
    expect(len(mods) >= 5, "modules in the description: %r" % mods)
    for m in mods:
        p = doc["paths"]["/api/v1/{municipality}/%s" % m]
        post = p["post"]["requestBody"]["content"]["application/json"]["schema"]
        got = doc["paths"]["/api/v1/{municipality}/%s/{id}" % m]["get"]["responses"]["200"]
        item = got["content"]["application/json"]["schema"]
        expect("sources" in props(post), "%s: POST schema without sources" % m)
        expect("sources" in props(item), "%s: item schema without sources" % m)


def round_trip(module, body):
    body = dict(body, sources=SRC)
    r = request("POST", "%s/%s/%s" % (API, SCRATCH, module), body=body, token=tok(SCRATCH))
    item = expect_json(r, 201)
    created.append((module, item["id"]))
    expect(item["sources"] == SHOWN, "%s: POST answers sources %r" % (module, item["sources"]))
    got = expect_json(request("GET", "%s/%s/%s/%d" % (API, SCRATCH, module, item["id"]),
                              token=tok(SCRATCH)), 200)
    expect(got["sources"] == SHOWN, "%s: GET sources %r" % (module, got["sources"]))
    r = request("PATCH", "%s/%s/%s/%d" % (API, SCRATCH, module, item["id"]), token=tok(SCRATCH),
                body={"sources": SRC[:1]})
    expect(expect_json(r, 200)["sources"] == SHOWN[:1], "%s: PATCH sources" % module)
    page = request("GET", "/%s/%s/%d" % (SCRATCH, module, item["id"]), query={"lang": "sv"},
                   headers={"Accept": "text/html"}, token=tok(SCRATCH))
    expect_status(page, 200)
    expect("Källa" in page.text and 'href="%s"' % SRC[0]["url"] in page.text
           and SRC[0]["title"] in page.text, "%s: the page does not show the source" % module, page)
    r = request("PATCH", "%s/%s/%s/%d" % (API, SCRATCH, module, item["id"]), token=tok(SCRATCH),
                body={"sources": None})
    expect(expect_json(r, 200)["sources"] == [], "%s: PATCH sources null leaves []" % module)
    page = request("GET", "/%s/%s/%d" % (SCRATCH, module, item["id"]), query={"lang": "sv"},
                   headers={"Accept": "text/html"}, token=tok(SCRATCH))
    expect('class="sources"' not in page.text, "%s: an empty sources section" % module, page)
    for bad, field in (([{"url": "not a url", "title": "x"}], "sources[0].url"),
                       ([{"url": "javascript:alert(1)", "title": "x"}], "sources[0].url"),
                       ([{"url": "https://example.org/"}], "sources[0].title"),
                       ([{"title": "x", "retrieved_on": "2024-13-01"}], "sources[0].retrieved_on"),
                       ([{"title": "x", "by": "me"}], "sources[0].by"),
                       ("a string", "sources")):
        r = request("POST", "%s/%s/%s" % (API, SCRATCH, module), body=dict(body, sources=bad),
                    token=tok(SCRATCH))
        expect_field_error(r, field)


def t_projects():
    round_trip("projects", {"title": "%s project" % TAG})


def t_partnerships():
    round_trip("partnerships", {"partner": {"name": "%s stad" % TAG, "country": "LV"},
                                "kind": "twin_town"})


def t_funds():
    round_trip("funds", {"title": "%s fund" % TAG, "funder": {"name": "X", "kind": "other"}})



def t_country_names():
    pid = [i for m, i in created if m == "partnerships"][0]
    want = {"sv": "Lettland", "da": "Letland", "en": "Latvia"}
    for lang, name in want.items():
        r = request("GET", "/%s/partnerships/%d" % (SCRATCH, pid), query={"lang": lang},
                    headers={"Accept": "text/html"})
        expect_status(r, 200)
        expect(name in r.text, "%s: the page does not say %s" % (lang, name), r)
        expect(">LV<" not in r.text, "%s: the page shows the code LV" % lang, r)
    r = request("GET", "/lerum/partnerships/", query={"lang": "da"}, headers={"Accept": "text/html"})
    expect("Letland" in r.text and "Finland" in r.text, "lerum's list in Danish: no Letland", r)


def t_language_names():
    r = request("POST", "%s/%s/partnerships" % (API, SCRATCH), token=tok(SCRATCH),
                body={"partner": {"name": "%s by" % TAG, "country": "FI",
                                  "other_names": [{"name": "%s stad" % TAG, "lang": "sv"}]},
                      "kind": "twin_town"})
    item = expect_json(r, 201)
    created.append(("partnerships", item["id"]))
    page = request("GET", "/%s/partnerships/%d" % (SCRATCH, item["id"]), query={"lang": "en"},
                   headers={"Accept": "text/html"})
    expect("Swedish" in page.text and "Finland" in page.text, "no language name on the page", page)
    page = request("GET", "/%s/partnerships/%d" % (SCRATCH, item["id"]), query={"lang": "sv"},
                   headers={"Accept": "text/html"})
    expect("Svenska" in page.text, "no Swedish language name on the Swedish page", page)


def t_demo_sourced():
    missing = []
    slugs = ["lerum", "herrljunga", "lejre", "borlange", "svenljunga"]
    for module in sorted(os.listdir(os.path.join(ROOT, "plugins"))):
        for slug in slugs:
            if not os.path.exists(os.path.join(ROOT, "plugins", module, "demo", slug + ".json")):
                continue
            r = request("GET", "%s/%s/%s" % (API, slug, module), query={"limit": "100"},
                        token=tok(slug, "reader"))
            if r.status != 200:
                continue
            for it in r.json["items"]:
                if str(it.get("title", "")).startswith(("ftest-", "stest-", "itest-", "lcy")):
                    continue
                if not it.get("sources"):
                    missing.append("%s/%s/%s" % (slug, module, it["id"]))
    expect(not missing, "demo items without a source: %s" % ", ".join(missing))


def t_cleanup():
    failed = []
    for module, iid in created:
        r = request("DELETE", "%s/%s/%s/%d" % (API, SCRATCH, module, iid), token=tok(SCRATCH))
        if r.status not in (204, 404):
            failed.append("%s/%d: %d" % (module, iid, r.status))
    expect(not failed, "could not delete: %s" % failed)


def main():
    t.check("every module's item and POST schemas in the OpenAPI description have sources", t_openapi)
    t.check("projects: sources round trip (POST, GET, PATCH, null), on the page, bad ones 422",
            t_projects)
    t.check("partnerships: sources round trip (POST, GET, PATCH, null), on the page, bad ones 422",
            t_partnerships)
    t.check("funds: sources round trip (POST, GET, PATCH, null), on the page, bad ones 422", t_funds)
    t.check("a partnership's page names the country in sv, da and en (Lettland, Letland, Latvia)",
            t_country_names)
    t.check("a partner's other name shows its language's name (Swedish, Svenska)", t_language_names)
    t.check("clean up the items created by this run", t_cleanup)
    t.check("every demo item names its source", t_demo_sourced)
    for tk in tokens.values():
        try:
            portalctl("token", "revoke", token_id(tk))
        except Exception:
            pass
    return t.done()


if __name__ == "__main__":
    try:
        rc = main()
    except Exception as e:  # never die without a verdict
        print("not ok %d - the test script itself failed: %s" % (t.n + 1, e))
        t.failed += 1
        t.n += 1
        rc = t.done()
    sys.exit(rc)
