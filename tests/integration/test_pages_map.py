#!/usr/bin/env python3
"""test_pages_map.py - the rest of issue 4 on the citizens' pages: the
offline map of partner towns (inline SVG over Natural Earth outlines, on the
partnerships list and the overview), the municipality's own JSON-LD
(GovernmentOrganization) on its overview, and linked items named by their
titles on visit and news pages.  The iCalendar DTEND is checked in
test_pages_modules.py.  Python 3 standard library only.
"""
import html.parser
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import Tap, expect, expect_json, request  # noqa: E402

ADMIN = os.environ.get("PORTAL_ADMIN_TOKEN", "")
EVIL = "<script>alert(1)</script>\"'&<img src=x onerror=alert(2)>"
MUNI = "svenljunga"  # where the injection item is made; no lat/lon configured
state = {}


def page(path, query=None):
    return request("GET", path, query=query, headers={"Accept": "text/html"})


class Svg(html.parser.HTMLParser):
    """The maps of a page: each <svg> with its attributes, its <title>'s
    text, its markers (circle/path with a class) and each marker's title."""

    def __init__(self):
        super().__init__()
        self.maps = []
        self.stack = []
        self.captions = []
        self.in_caption = False
        self.scripts = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.maps.append({"attrs": a, "title": None, "markers": []})
        elif self.maps and self.stack and "svg" in self.stack:
            m = self.maps[-1]
            if tag in ("circle", "path") and a.get("class") in ("place", "home"):
                m["markers"].append({"class": a["class"], "attrs": a, "title": None})
            if tag == "title":
                self.stack.append("title")
                return
        if tag == "figcaption":
            self.in_caption = True
            self.captions.append("")
        if tag == "script":
            self.in_script = True
            self.scripts.append("")
        self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "title" and "svg" in self.stack and self.maps:
            m = self.maps[-1]
            parent = self.stack[-2] if len(self.stack) > 1 else None
            if parent == "svg":
                m["title"] = (m["title"] or "") + data
            elif m["markers"]:
                mk = m["markers"][-1]
                mk["title"] = (mk["title"] or "") + data
        if self.in_caption:
            self.captions[-1] += data
        if self.in_script:
            self.scripts[-1] += data

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self.in_caption = False
        if tag == "script":
            self.in_script = False
        while self.stack:
            if self.stack.pop() == tag:
                break


def maps_of(r):
    expect(r.status == 200, "%d" % r.status, r)
    p = Svg()
    p.feed(r.text)
    p.close()
    return p


def partners(muni, query=None):
    q = {"limit": "100"}
    q.update(query or {})
    return expect_json(request("GET", "/api/v1/%s/partnerships" % muni, query=q), 200)["items"]


IN_BOX = lambda p: (p["partner"].get("lat") is not None and 34 <= p["partner"]["lat"] <= 72 and  # noqa: E731
                    -25 <= p["partner"]["lon"] <= 45)


def check_map(r, want_in, want_out, home):
    p = maps_of(r)
    expect(len(p.maps) == 1, "%d maps on the page" % len(p.maps), r)
    m = p.maps[0]
    a = m["attrs"]
    expect(a.get("role") == "img", "the svg has role %r" % a.get("role"), r)
    tid = a.get("aria-labelledby")
    expect(tid and ('id="%s"' % tid) in r.text, "aria-labelledby %r names nothing" % tid, r)
    expect(re.fullmatch(r"0 0 \d+ \d+", a.get("viewbox", "")), "viewBox %r" % a.get("viewbox"), r)
    expect(m["title"] and all(n in m["title"] for n in want_in), "the map's title %r lacks a place" % m["title"], r)
    places = [k for k in m["markers"] if k["class"] == "place"]
    homes = [k for k in m["markers"] if k["class"] == "home"]
    expect(sorted(k["title"] for k in places) == sorted(want_in),
           "markers %r, not %r" % ([k["title"] for k in places], want_in), r)
    w, h = (int(x) for x in a["viewbox"].split()[2:])
    for k in places:
        cx, cy = float(k["attrs"]["cx"]), float(k["attrs"]["cy"])
        expect(0 <= cx <= w and 0 <= cy <= h, "marker %r at %s,%s is off the map" % (k["title"], cx, cy), r)
    expect(len(homes) == (1 if home else 0) and (not home or homes[0]["title"] == home),
           "home marker %r, want %r" % ([k["title"] for k in homes], home), r)
    cap = p.captions[0] if p.captions else ""
    for n in want_out:
        expect(n in cap, "%r (beyond the map) is not named in the caption %r" % (n, cap), r)
    land = re.search(r'<path class="land" d="(M[^"]{1000,})"', r.text)
    expect(land, "no country outlines", r)
    expect(re.fullmatch(r"[MlzL0-9 \-.]+", land.group(1)), "the outline path has odd characters", r)
    # every partner is still listed as text, with a link
    for n in want_in + want_out:
        expect(">%s</a>" % n in r.text, "%r is not in the list as a link" % n, r)
    return p


def t_list_map():
    items = partners("borlange")
    want_in = [p["partner"]["name"] for p in items if IN_BOX(p)]
    want_out = [p["partner"]["name"] for p in items if p["partner"].get("lat") is not None and not IN_BOX(p)]
    expect("Wuhan" in want_out and "Larvik" in want_in, "the demo data changed: %r %r" % (want_in, want_out))
    for lang in ("sv", "da", "en"):
        check_map(page("/borlange/partnerships/", {"lang": lang}), want_in, want_out, "Borlänge kommun")


def t_overview_map():
    items = partners("lerum", {"status": "active"})
    want_in = [p["partner"]["name"] for p in items if IN_BOX(p)]
    expect(want_in, "no active partner town of Lerum with a place")
    r = page("/lerum/", {"lang": "en"})
    p = check_map(r, want_in, [], "Lerums kommun")
    expect('aria-labelledby="s-partnerships"' in r.text, "no partnerships section", r)
    # Herrljunga has no lat/lon in the configuration: no home marker
    items = partners("herrljunga", {"status": "active"})
    check_map(page("/herrljunga/", {"lang": "sv"}), [p["partner"]["name"] for p in items if IN_BOX(p)], [], None)


def t_no_map():
    # Lejre has no partnerships: no map, the overview and list still render
    for path in ("/lejre/", "/lejre/partnerships/"):
        p = maps_of(page(path))
        expect(not p.maps, "%s has a map without places" % path)
    # a list whose items have no place has no map either
    p = maps_of(page("/borlange/projects/"))
    expect(not p.maps, "the projects list has a map")


def t_evil_map():
    expect(ADMIN, "PORTAL_ADMIN_TOKEN is not set")
    r = request("POST", "/api/v1/%s/partnerships" % MUNI, token=ADMIN, body={
        "partner": {"name": EVIL, "country": "LV", "lat": 56.95, "lon": 24.1},
        "kind": "cooperation", "status": "active"})
    state["evil"] = expect_json(r, 201)
    r2 = request("POST", "/api/v1/%s/partnerships" % MUNI, token=ADMIN, body={
        "partner": {"name": "Far " + EVIL, "country": "JP", "lat": 35.0, "lon": 135.0},
        "kind": "cooperation", "status": "active"})
    state["far"] = expect_json(r2, 201)
    for path in ("/%s/partnerships/" % MUNI, "/%s/" % MUNI):
        r = page(path, {"lang": "en"})
        for bad in ("<script>alert", "<img src=x", "\" onerror"):
            expect(bad not in r.text, "%s shows %r unescaped" % (path, bad), r)
        p = maps_of(r)
        expect(p.maps, "%s has no map" % path, r)
        m = p.maps[0]
        expect(EVIL in (m["title"] or ""), "the map's title does not hold the name as text", r)
        expect(any(k["title"] == EVIL for k in m["markers"]), "no marker titled with the name as text", r)
        expect(p.captions and ("Far " + EVIL) in p.captions[0], "the far partner is not beyond the map", r)


def t_cleanup():
    bad = []
    for k in ("evil", "far"):
        if k in state:
            r = request("DELETE", "/api/v1/%s/partnerships/%d" % (MUNI, state[k]["id"]), token=ADMIN)
            if r.status != 204:
                bad.append(r.status)
    expect(not bad, "not deleted: %r" % bad)


def jsonld(r):
    p = maps_of(r)
    out = []
    for text in p.scripts:
        expect("<" not in text, "a '<' inside the JSON-LD", r)
        out.append(json.loads(text))
    return out


def t_jsonld():
    munis = {m["slug"]: m for m in expect_json(request("GET", "/api/v1/municipalities"), 200)["items"]}
    for slug in ("borlange", "lejre", "herrljunga"):
        r = page("/%s/" % slug, {"lang": "en"})
        lds = jsonld(r)
        expect(len(lds) == 1, "%d JSON-LD objects on /%s/" % (len(lds), slug), r)
        ld = lds[0]
        expect(ld.get("@context") == "https://schema.org" and ld.get("@type") == "GovernmentOrganization",
               "JSON-LD %r" % ld, r)
        expect(ld.get("name") == munis[slug]["name"], "name %r" % ld.get("name"), r)
        expect(re.fullmatch(r"https?://[^/]+/%s/" % slug, ld.get("url", "")), "url %r" % ld.get("url"), r)
        expect(ld.get("address", {}).get("addressCountry") == munis[slug]["country"], "address %r" % ld.get("address"), r)
        # the demo configuration sets no Wikidata ids (none guessed) and no logos
        expect("sameAs" not in ld and "logo" not in ld, "sameAs/logo without configuration: %r" % ld, r)
        geo = ld.get("location", {}).get("geo")
        if slug == "borlange":
            expect(geo and abs(geo["latitude"] - 60.48) < 1e-9 and abs(geo["longitude"] - 15.43) < 1e-9,
                   "geo %r" % geo, r)
        if slug == "herrljunga":
            expect(geo is None, "Herrljunga has no place configured, yet geo %r" % geo, r)


def t_linked_titles():
    # Borlänge's visit links three partnerships and a project: named, not numbered
    v = expect_json(request("GET", "/api/v1/borlange/visits", query={"limit": "100"}), 200)["items"]
    v = [x for x in v if x["partnership_ids"]][0]
    names = {p["id"]: p["partner"]["name"] for p in partners("borlange")}
    for lang, word in (("en", "Partnership"), ("sv", "Partnerskap")):
        r = page("/borlange/visits/%d" % v["id"], {"lang": lang})
        expect(r.status == 200, "%d" % r.status, r)
        for pid in v["partnership_ids"]:
            want = '<a href="/borlange/partnerships/%d?lang=%s">%s</a>' % (pid, lang, names[pid])
            expect(want in r.text, "the visit page lacks %r" % want, r)
        expect(not re.search(r">%s \d+</a>" % word, r.text), "a link still says %r and a number" % word, r)
        if v.get("project_id"):
            pr = expect_json(request("GET", "/api/v1/borlange/projects/%d" % v["project_id"]), 200)
            want = '<a href="/borlange/projects/%d?lang=%s">%s</a>' % (v["project_id"], lang, pr["title"])
            expect(want in r.text, "the visit page lacks %r" % want, r)
    # the news item about that visit: partnerships, projects and visits by title, in the page's language
    n = expect_json(request("GET", "/api/v1/borlange/news"), 200)["items"][0]
    rel = n.get("related") or {}
    expect(rel.get("partnerships") and rel.get("visits"), "the demo news item links nothing: %r" % rel)
    r = page("/borlange/news/%d" % n["id"], {"lang": "en"})
    for pid in rel["partnerships"]:
        want = '<a href="/borlange/partnerships/%d?lang=en">%s</a>' % (pid, names[pid])
        expect(want in r.text, "the news page lacks %r" % want, r)
    for vid in rel["visits"]:
        vt = expect_json(request("GET", "/api/v1/borlange/visits/%d" % vid), 200)["title"]
        want = '<a href="/borlange/visits/%d?lang=en">%s</a>' % (vid, vt)
        expect(want in r.text, "the news page lacks %r" % want, r)
    expect(not re.search(r">(Partnership|Project|Visit) \d+</a>", r.text), "a numbered link is left", r)


def main():
    t = Tap()
    t.check("partnerships list: an SVG map (role=img, titled) with a marker per placed partner, "
            "Borlänge marked, Wuhan named beyond the map, in sv/da/en", t_list_map)
    t.check("overview: the same map over the active partnerships; no home marker without lat/lon", t_overview_map)
    t.check("no map where no item has a place (Lejre, projects)", t_no_map)
    if t.check("a partner named with <script> is escaped in the map's title, marker and caption", t_evil_map):
        pass
    t.check("the partnerships made for the test are deleted", t_cleanup)
    t.check("overview JSON-LD: GovernmentOrganization with name, url, addressCountry, geo when configured", t_jsonld)
    t.check("visit and news pages name linked items by their titles, not 'Partnership 5'", t_linked_titles)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
