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
      filters shown and removable, the pager and the exports keep them; date
      filters as GOV.UK date inputs, an impossible date a message beside them
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
    # snippets: the text as written, the words marked
    ids["snip"] = news("Besök %ssnip" % TAG,
                       body="Vi besökte Straße 12 i Ærøskøbing och Køge, %ssnip." % TAG)["id"]
    ids["snipcut"] = news("Lång %scut" % TAG,
                          body="Årets första möte på rådhuset i Ærøskøbing samlade tjänstepersoner från "
                               "fem kommuner, och därefter talade man länge om skolutbyte, kultur och "
                               "klimat innan ordet Göteborgsvarvet %scut föll." % TAG)["id"]
    # a word common in one module (more than a fifth of its first 30
    # items: the list's order answers) and rare in another (the index)
    ids["common"] = [news("Vanligt %scommon %d" % (TAG, i))["id"] for i in range(8)]
    ids["rare"] = partnership("Sällsynt %scommon" % TAG)["id"]
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


def t_snippet():
    j = expect_json(search("aeroskobing %ssnip" % TAG), 200)
    expect([(i["module"], i["id"]) for i in j["items"]] == [("news", ids["snip"])],
           "results %r" % j["items"])
    it = j["items"][0]
    sn, marks = it["snippet"], it["marks"]
    expect("Straße 12 i Ærøskøbing och Køge" in sn, "the snippet is not the text as written: %r" % sn)
    marked = [sn[a:b] for a, b in marks]
    expect(marked == ["Ærøskøbing", "%ssnip" % TAG], "marks %r give %r in %r" % (marks, marked, sn))
    # cut before the word: "…" counts as one character of the snippet
    j = expect_json(search("goteborgsvarvet %scut" % TAG), 200)
    it = j["items"][0] if j["items"] else {"snippet": "", "marks": []}
    sn = it["snippet"]
    marked = [sn[a:b] for a, b in it["marks"]]
    expect(sn.startswith("…") and marked == ["Göteborgsvarvet", "%scut" % TAG],
           "a cut snippet %r marks %r" % (sn, marked))
    r = page("/%s/search?q=%s&lang=sv" % (M, urllib.parse.quote("ÆRØSKØBING %ssnip" % TAG)))
    expect_status(r, 200)
    expect("<mark>Ærøskøbing</mark>" in r.text and "<mark>%ssnip</mark>" % TAG in r.text and
           "Straße 12 i" in r.text, "no <mark> around the words on the page", r)


def t_common():
    got = sorted(found("%scommon" % TAG))
    want = sorted([("news", i) for i in ids["common"]] + [("partnerships", ids["rare"])])
    expect(got == want, "a word common in news and rare in partnerships gave %r, want %r" % (got, want))
    got = sorted(found("%scommon" % TAG, token=tok("lerum", "reader")))
    expect(got == want, "another municipality's reader gave %r" % got)


def t_writes():
    """While an item flips between published ("Publicerad") and draft
    ("Utkast", same word), every anonymous search answers 200 and never
    shows it as a draft.  (The load of what the index found checks the
    visibility again, in the same row as the title; the window between
    the two statements is too short for this test to hit on purpose:
    with that check switched off it still passed.  test_store checks the
    load's condition.)"""
    import threading
    nid = news("Publicerad %sflip" % TAG)["id"]
    stop = threading.Event()
    bad = []

    def flip():
        k = 0
        while not stop.is_set() and k < 200:
            draft = k % 2 == 0
            r = request("PATCH", "%s/%s/news/%d" % (API, M, nid), token=tok(M, "editor"),
                        body={"status": "draft" if draft else "published",
                              "title": ("Utkast %sflip" if draft else "Publicerad %sflip") % TAG})
            if r.status != 200:
                bad.append("PATCH %d" % r.status)
            k += 1

    th = threading.Thread(target=flip)
    th.start()
    seen = set()
    try:
        for _ in range(60):
            r = search("%sflip" % TAG)
            if r.status != 200:
                bad.append("search %d" % r.status)
                continue
            for it in r.json["items"]:
                seen.add(it["title"].split()[0])
                if not it["title"].startswith("Publicerad"):
                    bad.append("a draft shown: %r" % it["title"])
    finally:
        stop.set()
        th.join()
    expect(not bad, "while writing: %r" % bad[:5])
    expect("Publicerad" in seen, "the published item was never found while it flipped")


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
        inp = re.search(r'<input[^>]*type="search"[^>]*id="([^"]+)"[^>]*name="q"', form)
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


def t_filter_form():
    r = page("/%s/partnerships/?lang=en" % M)
    expect_status(r, 200)
    m = re.search(r'<form class="filters" method="get" action="/%s/partnerships/">(.*?)</form>' % M, r.text, re.S)
    expect(m, "no filter form on the list page", r)
    form = m.group(1)
    for name in ("country", "kind", "status", "area"):
        expect('<label for="filter-%s">' % name in form and
               '<select class="select" id="filter-%s" name="%s">' % (name, name) in form,
               "no labelled select for %s" % name, r)
    expect('<option value="LV">Latvia</option>' in form, "countries are not named", r)
    expect('<option value="twin_town">Twin town</option>' in form, "kinds are not worded", r)
    r = page("/%s/partnerships/?lang=sv" % M)
    expect('<option value="LV">Lettland</option>' in r.text, "countries are not named in Swedish", r)
    # news: no status select for anonymous readers (drafts are theirs), nor
    # the page's own lang
    r = page("/%s/news/?lang=en" % M)
    expect('id="filter-area"' in r.text, "no area select on news", r)
    expect('id="filter-status"' not in r.text and 'id="filter-lang"' not in r.text,
           "news offers status or lang to anonymous readers", r)


def t_filters_persist():
    """q and a filter: the selected filters are shown, each removable; the
    pager and the export links keep them all."""
    q = "%spage" % TAG
    base = "/%s/partnerships/?country=SE&kind=cooperation&q=%s&limit=1&lang=en" % (M, q)
    seen, path = [], base
    for _ in range(6):
        r = page(path)
        expect_status(r, 200)
        seen += re.findall(r'href="/%s/partnerships/(\d+)\?lang=en"' % M, r.text)
        expect('<option value="SE" selected>' in r.text, "%s: Sweden is not selected" % path, r)
        expect('<option value="cooperation" selected>' in r.text, "%s: the kind is not selected" % path, r)
        expect('<input type="hidden" name="q" value="%s">' % q in r.text, "%s: the form loses q" % path, r)
        m = re.search(r'<a href="\?([^"]*)" rel="next">', r.text)
        if not m:
            break
        args = dict(urllib.parse.parse_qsl(htmlmod.unescape(m.group(1))))
        for k, v in (("country", "SE"), ("kind", "cooperation"), ("q", q), ("limit", "1"), ("lang", "en")):
            expect(args.get(k) == v, "the next page link %r lost %s" % (m.group(1), k), r)
        path = "/%s/partnerships/?%s" % (M, htmlmod.unescape(m.group(1)))
    want = sorted(str(i) for i in ids["paged"][:3])
    expect(sorted(seen) == want, "the pages gave %r, want %r" % (seen, want))
    # removable: a link to the list without each one
    r = page(base)
    sel = re.search(r'<ul class="selected-filters"[^>]*>(.*?)</ul>', r.text, re.S)
    expect(sel, "no selected filters shown", r)
    links = dict((htmlmod.unescape(t), htmlmod.unescape(h)) for h, t in
                 re.findall(r'<a href="([^"]+)">([^<]+)</a>', sel.group(1)))
    expect(len(links) == 3, "%d remove links: %r" % (len(links), links), r)
    for name, label in (("country", "Country Sweden"), ("kind", "Kind Cooperation"), ("q", "Words " + q)):
        href = [h for t_, h in links.items() if t_.endswith(label)]
        expect(href, "no link removing %s (%r)" % (label, links), r)
        args = dict(urllib.parse.parse_qsl(href[0].lstrip("?")))
        expect(name not in args and len(args) == 4, "removing %s gives %r" % (name, args), r)
    # an empty select ("Any") is no filter
    r = page("/%s/partnerships/?country=&kind=&status=&area=&q=%s&lang=en" % (M, q))
    expect(r.status == 200 and len(set(re.findall(r'href="/%s/partnerships/(\d+)\?lang=en"' % M, r.text))) == 3,
           "empty selects are not ignored", r)


def t_export_links():
    r = page("/%s/news/?area=culture&q=%spage&limit=1&cursor=x&lang=en" % (M, TAG))
    expect_status(r, 422)  # a bad cursor is the API's 422
    r = page("/%s/news/?area=culture&q=%spage&limit=1&lang=en" % (M, TAG))
    expect_status(r, 200)
    csv = re.search(r'href="(/api/v1/%s/news\.csv[^"]*)"' % M, r.text)
    atom = re.search(r'href="(/api/v1/%s/news\.atom[^"]*)"' % M, r.text)
    expect(csv and atom, "no export links", r)
    for link in (csv.group(1), atom.group(1)):
        args = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(htmlmod.unescape(link)).query))
        expect(args == {"area": "culture", "q": TAG + "page"}, "the export %s keeps %r" % (link, args), r)
    # and the export honours them: none of our news has the area culture
    e = request("GET", htmlmod.unescape(csv.group(1)))
    expect(e.status == 200 and TAG not in e.text, "the filtered CSV holds our news", e)
    e = request("GET", "/api/v1/%s/news.csv?q=%spage" % (M, TAG))
    expect(e.status == 200 and len([ln for ln in e.text.splitlines() if TAG in ln]) == 2,
           "the CSV with q has not our 2 news", e)


def ids_on_page(text, module):
    return sorted({int(i) for i in re.findall(r'href="/%s/%s/(\d+)\?' % (M, module), text)})


def t_date_filters():
    # a date in the boxes: the one value the API takes, shown and removable
    r = page("/%s/visits/?direction=&from=2024&from.month=3&from.day=&to=&to.month=&to.day=&lang=en" % M)
    expect_status(r, 200)
    for name, value in (("from", "2024"), ("from.month", "3"), ("from.day", "")):
        expect(re.search(r'<input class="input width-\d" id="[^"]+" name="%s" type="text" '
                         r'inputmode="numeric" value="%s"' % (re.escape(name), value), r.text),
               "the box %s does not keep %r" % (name, value), r)
    for part in ("from", "from-month", "from-day"):
        expect('<label for="filter-%s">' % part in r.text, "no label for filter-%s" % part, r)
    expect(re.search(r'<fieldset class="fieldset" role="group" aria-describedby="filter-from-hint">\s*'
                     r'<legend>From</legend>', r.text), "no fieldset with a legend and a hint", r)
    expect("<li>From: 2024-03 <a href=" in r.text, "the chosen date is not listed", r)
    m = re.search(r'<li>From: 2024-03 <a href="([^"]*)"', r.text)
    expect(m and "from" not in htmlmod.unescape(m.group(1)), "the remove link keeps from", r)
    expect("visits.csv?from=2024-03" in htmlmod.unescape(r.text), "the export link lost the date", r)
    api = expect_json(request("GET", "%s/%s/visits" % (API, M), query={"from": "2024-03", "limit": "100"}), 200)
    expect(ids_on_page(r.text, "visits") == sorted(i["id"] for i in api["items"]),
           "the page's visits %r are not the API's for from=2024-03 %r"
           % (ids_on_page(r.text, "visits"), [i["id"] for i in api["items"]]), r)
    # the same as from=2024-03 given by a link: split into the boxes
    r2 = page("/%s/visits/?from=2024-03&lang=en" % M)
    expect('name="from.month" type="text" inputmode="numeric" value="03"' in r2.text,
           "from=2024-03 is not split into the boxes", r2)
    # empty boxes are no filter
    r = page("/%s/visits/?from=&from.month=&from.day=&lang=en" % M)
    expect(r.status == 200 and "selected-filters" not in r.text, "empty date boxes filter", r)
    # an impossible date: 422, a summary linking to the boxes, the message
    # beside them, what was typed kept, the list without it
    r = page("/%s/visits/?from=2024&from.month=2&from.day=31&lang=en" % M)
    expect_status(r, 422)
    expect('<div class="error-summary" role="alert"' in r.text and '<a href="#filter-from">From: ' in r.text,
           "no error summary linking to the date", r)
    expect(re.search(r'aria-describedby="filter-from-hint filter-from-error">', r.text) and
           '<p class="error-message" id="filter-from-error">' in r.text,
           "no message beside the boxes", r)
    expect('name="from.day" type="text" inputmode="numeric" value="31" aria-invalid="true"' in r.text,
           "the typed day is not kept", r)
    api = expect_json(request("GET", "%s/%s/visits" % (API, M), query={"limit": "100"}), 200)
    expect(ids_on_page(r.text, "visits") == sorted(i["id"] for i in api["items"]),
           "the list beside the error is not the list without the date", r)
    # the same impossible date given whole, by a link: split into the boxes
    r = page("/%s/visits/?from=2024-02-31&lang=en" % M)
    expect(r.status == 422 and 'name="from.day" type="text" inputmode="numeric" value="31" aria-invalid="true"'
           in r.text and 'name="from" type="text" inputmode="numeric" value="2024" aria-invalid="true"' in r.text,
           "from=2024-02-31: the boxes do not keep it", r)
    # a filter that takes a full date only: the API's message, translated
    r = page("/%s/projects/?active_on=2024&active_on.month=3&lang=sv" % M)
    expect(r.status == 422 and 'id="filter-active_on-error"' in r.text and "ÅÅÅÅ-MM-DD" in r.text,
           "active_on=2024-03: no message beside the boxes in Swedish", r)
    r = page("/%s/projects/?active_on=2024&active_on.month=3&active_on.day=7&lang=en" % M)
    expect(r.status == 200 and "<li>Active on: 2024-03-07 <a href=" in r.text, "active_on 2024 3 7", r)
    r = page("/%s/news/?since=2024-09-09T08:00:00Z&lang=en" % M)
    expect(r.status == 200 and 'name="since" type="text" inputmode="numeric" value="2024-09-09T08:00:00Z"'
           in r.text, "a timestamp of since is not kept whole in the year box", r)


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
        t.check("snippets: the text as written (ß, æ, ø), the words marked; <mark> on the page",
                t_snippet)
        t.check("a word common in one module and rare in another: every item of both", t_common)
        t.check("while an item flips between draft and published, anonymous searches answer 200 "
                "and never show the draft", t_writes)
        t.check("the modules' own q uses the same index (prefixes, accents)", t_module_q)
        t.check("drafts: not for anonymous callers nor another municipality's reader; for its reader",
                t_drafts)
        t.check("cursor pages: 5 results in pages of 2, each once", t_cursor)
        t.check("the search page lists the results, each linking to its item; 422 for a long q",
                t_search_page)
        t.check("every page of a municipality has a labelled search box (role=search, GET)",
                t_search_box)
        t.check("list pages: a labelled select for each declared filter, worded", t_filter_form)
        t.check("filters and q persist across pages; each shown and removable; Any is no filter",
                t_filters_persist)
        t.check("the export links keep the filters and q (not cursor, limit)", t_export_links)
        t.check("date filters: GOV.UK date inputs joined into one value, kept, removable; an impossible "
                "date is a 422 page with the message beside the boxes", t_date_filters)
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
