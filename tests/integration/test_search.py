#!/usr/bin/env python3
"""Integration tests of the search across modules and of the filters people
can see (issue 19, parts 1-3), through nginx (stdlib only).

Run by tests/run.sh with PORTAL_URL, PORTAL_CONF, PORTALCTL, PORTAL_VAR set,
on a stack whose configuration is conf/demo.conf (herrljunga has every
module).  Scratch items go to herrljunga, each with this run's tag in its
texts; every item created here is deleted again at the end.

  GET /api/v1/{m}/search?q=&limit=&cursor=   ranked {module, id, title,
      snippet, url}, cursor pages, 422 naming q / cursor / limit, drafts
      only for the municipality's readers
  /{m}/search?q=                            its page; a search box on every
      page of a municipality
  the modules' own `q`                      the same FULLTEXT index: word
      prefixes, accent- and case-insensitive
  list pages                                a filter form, the selected
      filters shown and removable, the pager and the exports keep them
"""
import html as htmlmod
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import (Tap, create_token, expect, expect_field_error, expect_json,  # noqa: E402
                     expect_status, portalctl, request, token_id)

API = "/api/v1"
M = "herrljunga"
PID = os.getpid()
# a word of letters only: one token for the index, found by nothing else
TAG = "srch" + "".join(chr(ord("a") + int(d)) for d in "%07d" % PID)

t = Tap()
tokens = {}
created = []   # (module, id)
ids = {}


def tok(slug, role):
    if (slug, role) not in tokens:
        tokens[(slug, role)] = create_token(slug, role)
    return tokens[(slug, role)]


def create(module, body):
    r = request("POST", "%s/%s/%s" % (API, M, module), body=body, token=tok(M, "editor"))
    j = expect_json(r, 201)
    created.append((module, j["id"]))
    return j


def partnership(name, **extra):
    b = {"partner": {"name": name, "country": "SE"}, "kind": "cooperation", "status": "active"}
    b.update(extra)
    return create("partnerships", b)


def news(title, body="", status="published"):
    return create("news", {"title": title, "lang": "sv", "body": body, "status": status})


def search(q, token=None, slug=M, **query):
    query["q"] = q
    return request("GET", "%s/%s/search" % (API, slug), query=query, token=token)


def found(q, token=None, **query):
    """(module, id) of every result of q, walking every page."""
    out, cursor = [], None
    for _ in range(50):
        if cursor:
            query["cursor"] = cursor
        r = search(q, token=token, **query)
        j = expect_json(r, 200)
        for it in j["items"]:
            out.append((it["module"], it["id"]))
        cursor = j.get("next")
        if not cursor:
            break
    return out


def page(path, token=None):
    return request("GET", path, token=token, headers={"Accept": "text/html"})


# --- the data ----------------------------------------------------------------

def t_setup():
    # relevance: the title that is the query against a body that repeats it
    ids["title"] = partnership("%srank" % TAG)["id"]
    ids["body"] = news("Nyheter om annat %s" % TAG,
                       body=" ".join(["%srank" % TAG] * 12))["id"]
    # accents and prefixes
    ids["koge"] = partnership("Køge %sacc" % TAG)["id"]
    ids["chisinau"] = news("Besök från Chișinău %sacc" % TAG)["id"]
    ids["baldone"] = partnership("Baldone %spfx" % TAG)["id"]
    # drafts
    ids["draft"] = news("Utkast %sdraft" % TAG, status="draft")["id"]
    # pages of results
    ids["paged"] = [partnership("Sida %d %spage" % (i, TAG))["id"] for i in range(3)] + \
        [news("Sida %d %spage" % (i, TAG))["id"] for i in range(2)]


# --- the API ----------------------------------------------------------------

def t_shape():
    r = search("%sacc" % TAG)
    j = expect_json(r, 200)
    expect(set(j) == {"items", "next"}, "members %r" % sorted(j), r)
    expect(len(j["items"]) == 2, "%d results for the tag" % len(j["items"]), r)
    for it in j["items"]:
        expect(set(it) >= {"module", "id", "title", "snippet", "url"}, "result %r" % it, r)
        expect(it["url"].endswith("/%s/%s/%d" % (M, it["module"], it["id"])), "url %r" % it["url"], r)
    titles = {it["module"]: it["title"] for it in j["items"]}
    expect(titles.get("partnerships") == "Køge %sacc" % TAG, "titles %r" % titles, r)
    expect(titles.get("news") == "Besök från Chișinău %sacc" % TAG, "titles %r" % titles, r)


def t_relevance():
    got = found("%srank" % TAG)
    expect(("partnerships", ids["title"]) in got and ("news", ids["body"]) in got,
           "both items found: %r" % got)
    expect(got[0] == ("partnerships", ids["title"]),
           "the exact title match is not first: %r" % got)


def t_accents():
    for q in ("koge %sacc" % TAG, "KØGE %sacc" % TAG, "Køge %sACC" % TAG.upper()):
        expect(("partnerships", ids["koge"]) in found(q), "q=%r does not find Køge" % q)
    for q in ("chisinau %sacc" % TAG, "CHIȘINĂU %sacc" % TAG):
        expect(("news", ids["chisinau"]) in found(q), "q=%r does not find Chișinău" % q)


def t_prefix():
    expect(("partnerships", ids["baldone"]) in found("baldon %spfx" % TAG),
           "baldon does not find Baldone")
    expect(("partnerships", ids["baldone"]) in found("%s" % (TAG + "pf")),
           "a prefix of the tag does not find it")
    expect(("partnerships", ids["baldone"]) not in found("aldone %spfx" % TAG),
           "aldone (inside a word) finds Baldone")
    expect(found("%snowhere" % TAG) == [], "a word found nowhere finds something")


def t_module_q():
    """The modules' own q goes through the same index: prefixes, accents."""
    r = request("GET", "%s/%s/partnerships" % (API, M), query={"q": "baldon %spfx" % TAG})
    got = [i["id"] for i in expect_json(r, 200)["items"]]
    expect(got == [ids["baldone"]], "partnerships?q=baldon gave %r" % got, r)
    r = request("GET", "%s/%s/news" % (API, M), query={"q": "chisin %sacc" % TAG})
    got = [i["id"] for i in expect_json(r, 200)["items"]]
    expect(got == [ids["chisinau"]], "news?q=chisin gave %r" % got, r)
    r = request("GET", "%s/%s/partnerships" % (API, M), query={"q": "KOGE %sacc" % TAG})
    got = [i["id"] for i in expect_json(r, 200)["items"]]
    expect(got == [ids["koge"]], "partnerships?q=KOGE gave %r" % got, r)


def t_drafts():
    q = "%sdraft" % TAG
    expect(found(q) == [], "an anonymous search finds the draft")
    expect(found(q, token=tok(M, "reader")) == [("news", ids["draft"])],
           "a reader of %s does not find the draft" % M)
    expect(found(q, token=tok("lerum", "reader")) == [],
           "a reader of another municipality finds the draft")
    r = page("/%s/search?q=%s" % (M, q))
    expect(r.status == 200 and "Utkast" not in r.text, "the search page shows the draft", r)


def t_cursor():
    q = "%spage" % TAG
    want = sorted([("partnerships", i) for i in ids["paged"][:3]] + [("news", i) for i in ids["paged"][3:]])
    pages, cursor, seen = 0, None, []
    while True:
        query = {"limit": "2"}
        if cursor:
            query["cursor"] = cursor
        j = expect_json(search(q, **query), 200)
        expect(len(j["items"]) <= 2, "a page of %d" % len(j["items"]))
        seen += [(i["module"], i["id"]) for i in j["items"]]
        pages += 1
        cursor = j["next"]
        if not cursor or pages > 10:
            break
    expect(pages == 3, "%d pages of 2 for 5 results" % pages)
    expect(sorted(seen) == want, "the pages gave %r, want %r" % (seen, want))
    expect(found(q, limit="100") == seen, "pages of 2 and one of 100 differ")


def t_422():
    expect_field_error(request("GET", "%s/%s/search" % (API, M)), "q")
    expect_field_error(search("   "), "q")
    expect_field_error(search("x" * 201), "q")
    expect_field_error(search("baldone", cursor="not-a-cursor!"), "cursor")
    expect_field_error(search("baldone", limit="0"), "limit")
    expect_field_error(search("baldone", limit="101"), "limit")
    r = request("GET", "%s/nosuchplace/search" % API, query={"q": "x"})
    expect_status(r, 404)
    r = request("POST", "%s/%s/search" % (API, M), body={}, token=tok(M, "editor"))
    expect_status(r, 405)


def t_sql_chars():
    for q in ("%", "_", "'", "\"", "\\", "' OR 1=1 --", "+-><()~*:\"&|", "@3 ~x"):
        j = expect_json(search(q), 200)
        if q in ("%", "_"):
            expect(j["items"] == [], "q=%r matched %r" % (q, j["items"]))


# --- the pages -------------------------------------------------------------

SEARCH_FORM = re.compile(r'<form[^>]*role="search"[^>]*>(.*?)</form>', re.S)


def has_search_box(text):
    for m in SEARCH_FORM.finditer(text):
        form = m.group(0)
        if 'method="get"' not in form.lower():
            continue
        inp = re.search(r'<input type="search" id="([^"]+)" name="q"', form)
        if inp and ('<label for="%s">' % inp.group(1) in form or "aria-label" in inp.group(0)):
            return True
    return False


def t_search_page():
    r = page("/%s/search?q=%s&lang=en" % (M, urllib.parse.quote("koge %sacc" % TAG)))
    expect_status(r, 200)
    expect("<script" not in r.text.replace('<script type="application/ld+json">', ""),
           "a script on the search page", r)
    expect('href="/%s/partnerships/%d?lang=en"' % (M, ids["koge"]) in r.text,
           "no link to the item's page", r)
    expect("Køge %sacc" % TAG in htmlmod.unescape(r.text), "no title", r)
    r = page("/%s/search?lang=en" % M)
    expect(r.status == 200 and has_search_box(r.text), "no form on the empty search page", r)
    r = page("/%s/search?q=%s" % (M, "x" * 201))
    expect_status(r, 422)
    # a next page link keeps q
    r = page("/%s/search?q=%spage&limit=2" % (M, TAG))
    m = re.search(r'<a href="\?q=([^"&]*)&amp;cursor=([^"&]+)&amp;lang=\w+" rel="next"', r.text)
    expect(m and urllib.parse.unquote(m.group(1)) == TAG + "page", "no next link with q", r)


def t_search_box():
    news_id = ids["chisinau"]
    for path in ("/%s/" % M, "/%s/news/" % M, "/%s/news/%d" % (M, news_id), "/%s/partnerships/" % M,
                 "/%s/accessibility" % M, "/%s/search?q=x" % M, "/%s/nosuchmodule/" % M):
        r = page(path)
        expect(r.status in (200, 404), "%s: %d" % (path, r.status), r)
        expect(has_search_box(r.text), "%s has no labelled search box in a role=search GET form" % path, r)
        m = re.search(r'<form[^>]*role="search"[^>]*action="([^"]+)"', r.text)
        expect(m and m.group(1) == "/%s/search" % M, "%s: the box goes to %r" % (path, m and m.group(1)), r)


def t_cleanup():
    bad = []
    for module, i in reversed(created):
        r = request("DELETE", "%s/%s/%s/%d" % (API, M, module, i), token=tok(M, "editor"))
        if r.status != 204:
            bad.append((module, i, r.status))
    del created[:]
    expect(not bad, "not deleted: %r" % bad)


def main():
    if t.check("scratch items in %s (tag %s)" % (M, TAG), t_setup):
        t.check("GET /api/v1/{m}/search: {items: [{module, id, title, snippet, url}], next}", t_shape)
        t.check("an exact title match ranks above a body that repeats the word", t_relevance)
        t.check("accent- and case-insensitive: koge finds Køge, chisinau finds Chișinău", t_accents)
        t.check("word prefixes: baldon finds Baldone, aldone does not", t_prefix)
        t.check("the modules' own q uses the same index (prefixes, accents)", t_module_q)
        t.check("drafts: not for anonymous callers nor another municipality's reader; for its reader",
                t_drafts)
        t.check("cursor pages: 5 results in pages of 2, each once", t_cursor)
        t.check("the search page lists the results, each linking to its item; 422 for a long q",
                t_search_page)
        t.check("every page of a municipality has a labelled search box (role=search, GET)",
                t_search_box)
    t.check("422 naming q (missing, blank, too long), cursor and limit; 404, 405", t_422)
    t.check("operators and SQL characters in q are words, not syntax", t_sql_chars)
    t.check("clean up the items created by this run", t_cleanup)
    for tk in tokens.values():
        try:
            portalctl("token", "revoke", token_id(tk))
        except Exception:
            pass
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
