#!/usr/bin/env python3
"""Integration tests of the pages module (the municipality's own texts)
through nginx (stdlib only).

Run by tests/run.sh with PORTAL_URL, PORTAL_CONF, PORTALCTL, PORTAL_VAR set,
on a stack whose database holds the demo data (plugins/pages/demo/*.json) and
whose configuration is conf/demo.conf plus `provkommun` (no modules).  (The
core's HTML pages are test_pages.py's; this file is the module's.)

Only what is the pages module's own: its demo content (each municipality's
introduction on its overview, Lejre in Danish, Herrljunga's strategy), the
navigation, drafts (invisible to anonymous readers, visible with a reader
token: API, lists, HTML, translations), slugs (derived, unique: 409),
translations (a shared key, one page per language: 409; linked both ways),
the order of the list, the filters and the safe HTML of the body.  The
lifecycle every module shares is test_lifecycle.py's; the callers on every
write route are test_authz_matrix.py's.

Scratch pages go to herrljunga; every page created here is deleted again at
the end.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import (Tap, create_token, expect, expect_field_error, expect_json,  # noqa: E402
                     expect_problem, expect_status, portalctl, request, token_id)

API = "/api/v1"
TAG = "itest%d" % os.getpid()
SCRATCH = "herrljunga"
MUNIS = ("lerum", "herrljunga", "lejre", "borlange", "svenljunga")

t = Tap()
tokens = {}
created = []   # (slug, id)
state = {}


def tok(slug, role):
    if (slug, role) not in tokens:
        tokens[(slug, role)] = create_token(slug, role)
    return tokens[(slug, role)]


def coll(slug):
    return "%s/%s/pages" % (API, slug)


def one(slug, i):
    return "%s/%s/pages/%s" % (API, slug, i)


def list_all(muni, token=None, **query):
    query.setdefault("limit", "100")
    return expect_json(request("GET", coll(muni), query=query, token=token), 200)["items"]


def post(body, slug=SCRATCH, status=201):
    r = request("POST", coll(slug), body=body, token=tok(slug, "editor"))
    if r.status == 201 and isinstance(r.json, dict):
        created.append((slug, r.json["id"]))
    if status == 201:
        return expect_json(r, 201)
    return r


def html(path, token=None):
    r = request("GET", path, token=token, headers={"Accept": "text/html"})
    return r


# --- the demo content ------------------------------------------------------------

def t_demo_intros():
    for m in MUNIS:
        items = list_all(m, key="introduction")
        expect(len(items) == 1, "%s: %d introduction pages, not 1" % (m, len(items)))
        p = items[0]
        expect(p["status"] == "published" and p["body_html"], "%s: the introduction is not a published text" % m)
        expect(p["lang"] == ("da" if m == "lejre" else "sv"), "%s: the introduction is in %r" % (m, p["lang"]))


def t_demo_lejre():
    items = list_all("lejre")
    titles = [p["title"] for p in items]
    expect(all(p["lang"] == "da" for p in items), "Lejre has pages not in Danish")
    for want in ("Idræt og fritid", "Kultur", "Skole og uddannelse", "Klima, energi, miljø og økologi",
                 "Erhvervs- og landsbyudvikling", "Netværk"):
        expect(want in titles, "Lejre lacks the page %r: %r" % (want, titles))
    expect(any("IFIL" in x for x in titles), "Lejre has no IFIL page: %r" % titles)


def t_demo_herrljunga():
    items = list_all("herrljunga")
    goals = [p for p in items if p["key"] == "strategy-goals"]
    expect(goals, "Herrljunga has no goals page")
    expect(goals[0]["body_html"].count("<li>") == 8, "the goals page does not list 7 long-term goals and 1 sub-goal")
    orders = [p["order"] for p in items]
    expect(orders == sorted(orders), "the list is not in order: %r" % orders)
    expect(items[0]["key"] == "introduction", "the introduction (order 0) is not first")


def t_demo_lerum_reasons():
    p = list_all("lerum", key="reasons-for-twinning")
    expect(len(p) == 1, "Lerum has no page of the reasons for twinning")
    expect(p[0]["body_html"].count("<li>") == 4, "not four reasons")


def t_overview():
    for m in MUNIS:
        intro = list_all(m, key="introduction")[0]
        r = html("/%s/" % m)
        expect_status(r, 200)
        expect(intro["title"] in r.text, "%s: the overview lacks its introduction %r" % (m, intro["title"]), r)
        first_par = re.search(r"<p>(.*?)</p>", intro["body_html"]).group(1)
        expect(first_par in r.text, "%s: the overview lacks the introduction's text" % m, r)
        expect('href="/%s/pages/?lang=' % m in r.text, "%s: the navigation has no link to the pages" % m, r)


def t_html_item():
    p = list_all("lejre", key="ifil")[0]
    r = html("/lejre/pages/%d" % p["id"])
    expect_status(r, 200)
    expect("<title>" in r.text and p["title"] in r.text, "the page lacks its title", r)
    expect('"@type": "WebPage"' in r.text, "no JSON-LD WebPage", r)
    expect('lang="da"' in r.text, "the article is not marked Danish", r)


# --- drafts ------------------------------------------------------------------------

def t_draft():
    p = post({"title": "Utkast %s" % TAG, "lang": "sv", "body": "Hemligt %s" % TAG})
    expect(p["status"] == "draft", "a page without status is %r" % p["status"])
    state["draft"] = p
    expect_problem(request("GET", one(SCRATCH, p["id"])), 404)
    expect(p["id"] not in [x["id"] for x in list_all(SCRATCH)], "an anonymous list shows a draft")
    expect(p["id"] not in [x["id"] for x in list_all(SCRATCH, q=TAG)], "q finds a draft anonymously")
    expect_status(html("/%s/pages/%d" % (SCRATCH, p["id"])), 404)
    expect("Utkast %s" % TAG not in html("/%s/pages/" % SCRATCH).text, "the HTML list shows a draft")
    other = create_token("lerum", "reader")
    tokens[("lerum", "reader")] = other
    expect_problem(request("GET", one(SCRATCH, p["id"]), token=other), 404)


def t_draft_reader():
    p = state["draft"]
    rd = tok(SCRATCH, "reader")
    g = expect_json(request("GET", one(SCRATCH, p["id"]), token=rd), 200)
    expect(g["id"] == p["id"], "a reader does not get the draft")
    expect(p["id"] in [x["id"] for x in list_all(SCRATCH, token=rd)], "a reader's list lacks the draft")
    expect(p["id"] in [x["id"] for x in list_all(SCRATCH, token=rd, status="draft")], "status=draft lacks it")
    r = html("/%s/pages/%d" % (SCRATCH, p["id"]), token=rd)
    expect_status(r, 200)
    expect("Hemligt %s" % TAG in r.text, "the reader's HTML page lacks the body", r)


def t_publish():
    p = state["draft"]
    r = request("PATCH", one(SCRATCH, p["id"]), body={"status": "published"}, token=tok(SCRATCH, "editor"),
                content_type="application/merge-patch+json")
    expect_json(r, 200)
    expect_json(request("GET", one(SCRATCH, p["id"])), 200)


# --- slugs ---------------------------------------------------------------------------

def t_slug_derived():
    p = post({"title": "Vänorter & Samarbete %s" % TAG, "lang": "sv"})
    expect(p["slug"] == "vanorter-samarbete-%s" % TAG, "slug %r" % p["slug"])
    expect(p["key"] == p["slug"], "without a key, the key is %r, not the slug" % p["key"])
    q = post({"title": "Vänorter & Samarbete %s" % TAG, "lang": "en"})
    expect(q["slug"] == p["slug"] + "-2", "the second slug is %r" % q["slug"])
    state["slugged"] = p


def t_slug_taken():
    p = state["slugged"]
    r = post({"title": "Annan", "slug": p["slug"], "lang": "sv"}, status=409)
    expect_problem(r, 409)
    q = post({"title": "Annan %s" % TAG, "lang": "sv"})
    r = request("PATCH", one(SCRATCH, q["id"]), body={"slug": p["slug"]}, token=tok(SCRATCH, "editor"),
                content_type="application/merge-patch+json")
    expect_problem(r, 409)
    expect(list_all(SCRATCH, token=tok(SCRATCH, "reader"), slug=p["slug"])[0]["id"] == p["id"],
           "slug= does not find the page")


def t_slug_invalid():
    expect_field_error(post({"title": "x", "slug": "Not a slug", "lang": "sv"}, status=422), "slug")
    expect_field_error(post({"title": "x", "key": "-bad-", "lang": "sv"}, status=422), "key")
    expect_field_error(post({"title": "!!!", "lang": "sv"}, status=422), "slug")
    expect_field_error(post({"title": "x", "lang": "sv", "order": 10000}, status=422), "order")


# --- translations ----------------------------------------------------------------------

def t_translations():
    key = "tr-%s" % TAG
    sv = post({"title": "Strategi %s" % TAG, "key": key, "lang": "sv", "status": "published", "order": 5})
    en = post({"title": "Strategy %s" % TAG, "key": key, "lang": "en", "status": "published", "order": 5})
    da = post({"title": "Strategi da %s" % TAG, "key": key, "lang": "da"})   # a draft
    g = expect_json(request("GET", one(SCRATCH, sv["id"])), 200)
    expect([(x["id"], x["lang"]) for x in g["translations"]] == [(en["id"], "en")],
           "the Swedish page's translations (anonymous) are %r" % g["translations"])
    g = expect_json(request("GET", one(SCRATCH, en["id"])), 200)
    expect([x["id"] for x in g["translations"]] == [sv["id"]], "not linked back: %r" % g["translations"])
    g = expect_json(request("GET", one(SCRATCH, sv["id"]), token=tok(SCRATCH, "reader")), 200)
    expect(sorted(x["lang"] for x in g["translations"]) == ["da", "en"],
           "a reader does not see the draft translation: %r" % g["translations"])
    r = post({"title": "Strategi igen", "key": key, "lang": "sv"}, status=409)
    expect_problem(r, 409)
    items = list_all(SCRATCH, key=key)
    expect(sorted(x["lang"] for x in items) == ["en", "sv"], "key= lists %r" % [x["lang"] for x in items])
    expect([x["lang"] for x in list_all(SCRATCH, key=key, lang="en")] == ["en"], "lang= does not filter")
    r = html("/%s/pages/%d" % (SCRATCH, sv["id"]))
    expect('hreflang="en"' in r.text and "Strategy %s" % TAG in r.text, "the HTML page does not link its translation", r)
    state["tr"] = (sv, en, da)


def t_translation_etag():
    sv, en, da = state["tr"]
    r = request("GET", one(SCRATCH, sv["id"]))
    etag = r.header("etag")
    expect_json(request("PATCH", one(SCRATCH, en["id"]), body={"title": "Strategy again %s" % TAG},
                        token=tok(SCRATCH, "editor"), content_type="application/merge-patch+json"), 200)
    r = request("GET", one(SCRATCH, sv["id"]), headers={"If-None-Match": etag})
    j = expect_json(r, 200)
    expect(r.header("etag") != etag, "the ETag did not change", r)
    expect([x["title"] for x in j["translations"]] == ["Strategy again %s" % TAG], "translations %r" % j["translations"])


def t_translation_patch_conflict():
    sv, en, da = state["tr"]
    r = request("PATCH", one(SCRATCH, en["id"]), body={"lang": "sv"}, token=tok(SCRATCH, "editor"),
                content_type="application/merge-patch+json")
    expect_problem(r, 409)


def t_order():
    a = post({"title": "Sist %s" % TAG, "lang": "sv", "status": "published", "order": 9000})
    b = post({"title": "Först %s" % TAG, "lang": "sv", "status": "published", "order": 1})
    ids = [x["id"] for x in list_all(SCRATCH)]
    expect(ids.index(b["id"]) < ids.index(a["id"]), "order 1 is not listed before order 9000")
    expect(ids[-1] == a["id"], "order 9000 is not last")
    walked, cursor = [], None
    for _ in range(50):
        q = {"limit": "2"}
        if cursor:
            q["cursor"] = cursor
        j = expect_json(request("GET", coll(SCRATCH), query=q), 200)
        walked += [x["id"] for x in j["items"]]
        cursor = j["next"]
        if not cursor:
            break
    expect(walked == ids, "pages of 2 walk %r, not %r" % (walked, ids))


def t_safe_html():
    p = post({"title": "Html %s" % TAG, "lang": "sv", "status": "published",
              "body": "a <script>alert(1)</script> [x](javascript:alert(1)) [y](https://example.org/)"})
    h = p["body_html"]
    expect("<script" not in h and "javascript:" not in h, "unsafe HTML kept: %r" % h)
    expect('href="https://example.org/"' in h, "an https link was dropped: %r" % h)


def t_cleanup():
    left = []
    for slug, i in reversed(created):
        r = request("DELETE", one(slug, i), token=tok(slug, "editor"))
        if r.status not in (204, 404):
            left.append("%s/%d: %d" % (slug, i, r.status))
    expect(not left, "not deleted: %s" % ", ".join(left))


def t_slug_urls():
    r = request("GET", "/api/v1/lerum/pages", query={"limit": "1"})
    expect(r.status == 200 and r.json["items"], "a page of lerum: %s" % r.status)
    it = r.json["items"][0]
    by_slug = request("GET", "/lerum/pages/%s" % it["slug"])
    by_id = request("GET", "/lerum/pages/%s" % it["id"])
    expect(by_slug.status == 200 and by_id.status == 200, "both answer 200: %s %s" % (by_slug.status, by_id.status))
    expect(it["title"] in by_slug.text, "the slug's page is the item's")
    expect(request("GET", "/lerum/pages/no-such-page-slug").status == 404, "an unknown slug is 404")
    lst = request("GET", "/lerum/pages/")
    expect('href="/lerum/pages/%s?' % it["slug"] in lst.text, "the list links by slug")
    expect(request("GET", "/lerum/partnerships/not-an-id").status == 404,
           "a module without a slug filter: a non-id is 404")


def main():
    t.check("demo: each municipality's introduction (key introduction) is published, Lejre's in Danish", t_demo_intros)
    t.check("demo: Lejre's IFIL, five themes and networks are pages in Danish", t_demo_lejre)
    t.check("demo: Herrljunga's strategy, 7 long-term goals and a sub-goal, in order", t_demo_herrljunga)
    t.check("demo: Lerum's four reasons for twinning", t_demo_lerum_reasons)
    t.check("each overview shows its own introduction, and the navigation the pages", t_overview)
    t.check("an item page: title, JSON-LD WebPage, lang", t_html_item)
    if t.check("a draft is 404 and unlisted for anonymous readers and another municipality's reader", t_draft):
        t.check("a reader token of the municipality sees the draft (API, list, status=draft, HTML)", t_draft_reader)
        t.check("publishing the draft shows it to everyone", t_publish)
    if t.check("a slug is made of the title (folded), the key of the slug; a taken one gets -2", t_slug_derived):
        t.check("a taken slug is 409 on POST and PATCH; slug= finds the page", t_slug_taken)
    t.check("slug and key must be slugs, a title without letters gives none, order 0..9999: 422", t_slug_invalid)
    if t.check("translations: a shared key links them both ways; drafts only for readers; a second page "
               "in one language is 409; key= and lang= filter", t_translations):
        t.check("PATCH a translation's lang to one its key has is 409", t_translation_patch_conflict)
        t.check("changing a translation changes the other languages' ETags (not a stale 304)", t_translation_etag)
    t.check("the list is in order, then id; cursors walk the same order", t_order)
    t.check("/{m}/pages/{slug} is the page (the core asks the list's slug filter); lists link by slug",
            t_slug_urls)
    t.check("the body's HTML: raw HTML and javascript: links removed, https kept", t_safe_html)
    t.check("clean up the pages created by this run", t_cleanup)
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
