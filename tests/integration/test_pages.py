#!/usr/bin/env python3
"""test_pages.py - the citizens' HTML pages: the API's answers rendered
through templates (issue 4, first part: layout, overview, the partnerships
pages).  Languages, 404s, escaping of stored content, security headers.
"""
import html.parser
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import Tap, create_token, expect, expect_json, request  # noqa: E402


class Outline(html.parser.HTMLParser):
    """Counts what the checks need: <html lang>, h1s, the skip link, and
    whether any <script> other than JSON-LD appears."""

    def __init__(self):
        super().__init__()
        self.lang = None
        self.h1 = 0
        self.skip = False
        self.scripts = []
        self.open = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "h1":
            self.h1 += 1
        if tag == "a" and a.get("href") == "#main":
            self.skip = True
        if tag == "script":
            self.scripts.append(a.get("type"))
        if tag in ("html", "body", "main", "ul", "ol", "dl", "section", "nav", "header", "footer"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in ("html", "body", "main", "ul", "ol", "dl", "section", "nav", "header", "footer"):
            expect(self.open and self.open[-1] == tag, "</%s> closes <%s>" % (tag, self.open[-1:] or "nothing"))
            self.open.pop()


def page(path, **kw):
    r = request("GET", path, headers=kw.pop("headers", None), **kw)
    return r


def outline(r):
    expect(r.ctype == "text/html", "Content-Type is %r" % r.header("content-type"), r)
    o = Outline()
    o.feed(r.text)
    o.close()
    expect(not o.open, "unclosed elements: %r" % o.open, r)
    expect(o.h1 == 1, "%d h1 elements" % o.h1, r)
    expect(o.skip, "no skip link to #main", r)
    expect(all(t == "application/ld+json" for t in o.scripts), "a script that is not JSON-LD: %r" % o.scripts, r)
    return o


def t_index():
    r = page("/")
    expect(r.status == 200, "GET / answered %d" % r.status, r)
    outline(r)
    for name in ("Borlänge kommun", "Lejre Kommune", "Lerums kommun"):
        expect(name in r.text, "the index does not list %s" % name, r)


def t_languages():
    r = page("/borlange/", headers={"Accept-Language": "da-DK,da;q=0.9,en;q=0.5"})
    expect(outline(r).lang == "da", "Accept-Language da gave <html lang=%r>" % outline(r).lang, r)
    r = page("/borlange/", query={"lang": "en"}, headers={"Accept-Language": "da"})
    expect(outline(r).lang == "en", "?lang=en gave <html lang=%r>" % outline(r).lang, r)
    expect(r.header("content-language") == "en", "Content-Language %r" % r.header("content-language"), r)
    r = page("/lejre/")
    expect(outline(r).lang == "da", "Lejre's default language is not da", r)
    r = page("/borlange/")
    expect(outline(r).lang == "sv", "Borlänge's default language is not sv", r)


def t_overview():
    r = page("/borlange/", query={"lang": "sv"})
    expect(r.status == 200, "overview %d" % r.status, r)
    outline(r)
    for name in ("Chișinău", "Larvik", "Frederikshavn", "Wuhan"):
        expect(name in r.text, "the overview lacks the active partner %s" % name, r)


def t_list():
    r = page("/borlange/partnerships/", query={"lang": "sv"})
    outline(r)
    names = re.findall(r'<h2><a href="/borlange/partnerships/\d+\?lang=sv">([^<]*)</a></h2>', r.text)
    expect(sorted(names) == sorted(["Chișinău", "Frederikshavn", "Larvik", "Pitești",
                                    "Vestmannaeyjar", "Wuhan"]), "list shows %r" % names, r)
    expect("Vänort" in r.text and "Kommunalt partnerskap" in r.text and "Aktiv" in r.text,
           "kinds and statuses are not in Swedish", r)
    r = page("/borlange/partnerships/", query={"lang": "sv", "kind": "municipal_partnership"})
    names = re.findall(r'<h2><a href="[^"]*">([^<]*)</a></h2>', r.text)
    expect(sorted(names) == ["Chișinău", "Pitești", "Wuhan"], "the page's filter gave %r" % names, r)


def t_item():
    lst = expect_json(request("GET", "/api/v1/lerum/partnerships", query={"q": "Baldone"}), 200)
    pid = lst["items"][0]["id"]
    r = page("/lerum/partnerships/%d" % pid, query={"lang": "en"})
    outline(r)
    expect("<title>Baldone – Lerums kommun</title>" in r.text, "title", r)
    order = [m for m in re.findall(r"<strong>([^<]*)</strong>", r.text)]
    expect(order[0] == "September 1999" and order[-1] == "October 2004", "agreements in order: %r" % order, r)
    expect("Henrik Ripa" in r.text and "Karina Putnina" in r.text, "signatories missing", r)
    expect('"@type": "GovernmentOrganization"' in r.text, "no schema.org JSON-LD", r)


def t_not_found():
    for path in ("/borlange/partnerships/999999", "/provkommun/partnerships/", "/lejre/visits/",
                 "/borlange/nothing/", "/nowhere/", "/nowhere/partnerships/1"):
        r = page(path)
        expect(r.status == 404 and r.ctype == "text/html", "%s answered %d %s" % (path, r.status, r.ctype), r)
        outline(r)


def t_escaped():
    tok = create_token("lejre", "editor")
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    body = {"partner": {"name": evil, "country": "LV", "region": "\" onmouseover=\"alert(3)"},
            "kind": "twin_town", "description": {"da": "<b>fed</b> & javascript:alert(4)"}}
    r = request("POST", "/api/v1/lejre/partnerships", body=body, token=tok)
    item = expect_json(r, 201)
    try:
        for path in ("/lejre/partnerships/", "/lejre/partnerships/%d" % item["id"], "/lejre/"):
            p = page(path)
            outline(p)
            for bad in ("<script>alert", "<img src=x", "<b>fed"):
                expect(bad not in p.text, "%s shows %r unescaped" % (path, bad), p)
            # a quote that would end an attribute (inside JSON-LD it is \")
            expect(not re.search(r'(?<!\\)" onmouseover', p.text),
                   "%s lets a quote end an attribute" % path, p)
            expect("&lt;script&gt;alert(1)&lt;/script&gt;" in p.text or path == "/lejre/",
                   "%s does not show the name escaped" % path, p)
    finally:
        request("DELETE", "/api/v1/lejre/partnerships/%d" % item["id"], token=tok)


def t_headers():
    r = page("/borlange/partnerships/")
    csp = r.header("content-security-policy") or ""
    expect("default-src 'none'" in csp and "script-src" not in csp, "CSP %r" % csp, r)
    expect(r.header("x-frame-options") == "DENY", "X-Frame-Options", r)
    expect((r.header("cache-control") or "").startswith("public"), "public page not cacheable", r)
    r = page("/static/portal.css")
    expect(r.status == 200 and r.ctype == "text/css", "portal.css %d %s" % (r.status, r.ctype), r)
    r = request("POST", "/borlange/partnerships/", body={})
    expect(r.status == 405, "POST to a page answered %d" % r.status, r)


def t_geojson():
    import json
    r = request("GET", "/api/v1/borlange/partnerships.geojson")
    expect(r.status == 200 and r.ctype == "application/geo+json", "%d %s" % (r.status, r.ctype), r)
    fc = json.loads(r.text)
    expect(fc["type"] == "FeatureCollection", "not a FeatureCollection", r)
    api = expect_json(request("GET", "/api/v1/borlange/partnerships", query={"limit": "100"}), 200)
    want = {i["id"]: i for i in api["items"] if i["partner"]["lat"] is not None}
    expect(len(fc["features"]) == len(want) and want, "%d features for %d located partners"
           % (len(fc["features"]), len(want)), r)
    for f in fc["features"]:
        item = want[f["id"]]
        lon, lat = f["geometry"]["coordinates"]
        expect(f["geometry"]["type"] == "Point" and lon == item["partner"]["lon"] and
               lat == item["partner"]["lat"], "feature %s is not [lon, lat]" % f["id"], r)
        expect(f["properties"]["name"] == item["partner"]["name"], "name of %s" % f["id"], r)


def t_csv():
    import csv
    import io
    r = request("GET", "/api/v1/borlange/partnerships.csv", query={"kind": "municipal_partnership"})
    expect(r.status == 200 and r.ctype == "text/csv", "%d %s" % (r.status, r.ctype), r)
    rows = list(csv.DictReader(io.StringIO(r.body.decode("utf-8-sig"))))
    expect(sorted(x["partner"] for x in rows) == ["Chișinău", "Pitești", "Wuhan"],
           "CSV with kind=municipal_partnership has %r" % [x["partner"] for x in rows], r)
    expect("attachment" in (r.header("content-disposition") or ""), "no Content-Disposition", r)
    r = request("GET", "/api/v1/borlange/partnerships.csv", query={"country": "xx"})
    expect(r.status == 422, "a bad filter on the export answered %d" % r.status, r)
    r = request("GET", "/api/v1/borlange/partnerships.nope")
    expect(r.status == 404, "an unknown export answered %d" % r.status, r)


def main():
    t = Tap()
    t.check("GET / lists the municipalities (HTML, one h1, skip link, no script)", t_index)
    t.check("language: Accept-Language, ?lang=, the municipality's own by default", t_languages)
    t.check("overview of Borlänge shows its active partners", t_overview)
    t.check("partnerships list page: six partners, Swedish words, filters", t_list)
    t.check("partnership page: title, agreements over time, signatories, JSON-LD", t_item)
    t.check("unknown id, disabled module, unknown module: HTML 404", t_not_found)
    t.check("stored script and attribute injection is shown inert on every page", t_escaped)
    t.check("security and caching headers; the stylesheet; 405 for POST", t_headers)
    t.check("partnerships.geojson parses as a FeatureCollection with [lon, lat] points", t_geojson)
    t.check("partnerships.csv parses with the list's filters; a bad filter is 422", t_csv)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
