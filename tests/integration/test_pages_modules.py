#!/usr/bin/env python3
"""test_pages_modules.py - the citizens' pages, feeds and exports of the
projects, visits and news modules (issue 4): list and item pages (outline,
JSON-LD), 404s, stored script injection shown inert on pages and in every
feed and export, drafts kept out, the Atom feed (xml.etree), the iCalendar
file (a small strict parser written here) and the CSV exports (csv module).
Python 3 standard library only.
"""
import csv
import datetime
import html.parser
import io
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import Tap, expect, expect_json, request  # noqa: E402

ADMIN = os.environ.get("PORTAL_ADMIN_TOKEN", "")
ATOM = "{http://www.w3.org/2005/Atom}"
EVIL = "<script>alert(1)</script>\"'&<img src=x onerror=alert(2)>"
MUNI = "svenljunga"  # the municipality the injection items are made in
state = {}


class Outline(html.parser.HTMLParser):
    """<html lang>, h1 count, heading levels in order, the skip link, the
    scripts (type and text) and element nesting."""

    def __init__(self):
        super().__init__()
        self.lang = None
        self.h1 = 0
        self.levels = []
        self.skip = False
        self.scripts = []
        self.in_script = None
        self.open = []
        self.styles = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "style" in a:
            self.styles += 1
        if tag == "html":
            self.lang = a.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.levels.append(int(tag[1]))
            self.h1 += tag == "h1"
        if tag == "a" and a.get("href") == "#main":
            self.skip = True
        if tag == "script":
            self.in_script = [a.get("type"), ""]
            self.scripts.append(self.in_script)
        if tag in ("html", "body", "main", "ul", "ol", "dl", "section", "nav", "header", "footer",
                   "article", "li"):
            self.open.append(tag)

    def handle_data(self, data):
        if self.in_script is not None:
            self.in_script[1] += data

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = None
        if tag in ("html", "body", "main", "ul", "ol", "dl", "section", "nav", "header", "footer",
                   "article", "li"):
            expect(self.open and self.open[-1] == tag, "</%s> closes <%s>" % (tag, self.open[-1:] or "nothing"))
            self.open.pop()


def page(path, query=None, token=None):
    return request("GET", path, query=query, token=token, headers={"Accept": "text/html"})


def outline(r):
    expect(r.ctype == "text/html", "Content-Type is %r" % r.header("content-type"), r)
    o = Outline()
    o.feed(r.text)
    o.close()
    expect(not o.open, "unclosed elements: %r" % o.open, r)
    expect(o.h1 == 1, "%d h1 elements" % o.h1, r)
    expect(o.levels and o.levels[0] == 1, "the first heading is not the h1: %r" % o.levels, r)
    for a, b in zip(o.levels, o.levels[1:]):
        expect(b <= a + 1, "a heading level is skipped: %r" % o.levels, r)
    expect(o.skip, "no skip link to #main", r)
    expect(o.lang in ("sv", "da", "en"), "<html lang=%r>" % o.lang, r)
    expect(o.styles == 0, "%d inline style attributes" % o.styles, r)
    expect(all(t == "application/ld+json" for t, _ in o.scripts),
           "a script that is not JSON-LD: %r" % [t for t, _ in o.scripts], r)
    return o


def jsonld(r, o):
    """The page's JSON-LD objects (each must parse; no '<' inside)."""
    out = []
    for _, text in o.scripts:
        expect("<" not in text, "a '<' inside the JSON-LD script", r)
        try:
            out.append(json.loads(text))
        except ValueError as e:
            expect(False, "JSON-LD does not parse: %s" % e, r)
    return out


def first_id(muni, module, query=None):
    j = expect_json(request("GET", "/api/v1/%s/%s" % (muni, module), query=query), 200)
    expect(j["items"], "no %s in %s" % (module, muni))
    return j["items"][0]["id"], j


# ---------------------------------------------------------------- pages

def pages_case(muni, module, ldtype, words):
    def fn():
        iid, lst = first_id(muni, module)
        r = page("/%s/%s/" % (muni, module), query={"lang": "en"})
        expect(r.status == 200, "list page %d" % r.status, r)
        o = outline(r)
        expect(o.lang == "en", "?lang=en gave %r" % o.lang, r)
        for it in lst["items"]:
            expect('href="/%s/%s/%d' % (muni, module, it["id"]) in r.text,
                   "the list page does not link item %d" % it["id"], r)
        r = page("/%s/%s/%d" % (muni, module, iid), query={"lang": "sv"})
        expect(r.status == 200, "item page %d" % r.status, r)
        o = outline(r)
        lds = jsonld(r, o)
        expect(len(lds) == 1 and lds[0].get("@type") == ldtype and lds[0].get("@context") == "https://schema.org",
               "JSON-LD is %r, not one %s" % (lds, ldtype), r)
        for w in words:
            expect(w in r.text, "the item page lacks %r" % w, r)
        return lds[0]
    return fn


def t_project_page():
    ld = pages_case("borlange", "projects", "Project", [])()
    # the ICLD project: funders, partner linked to its partnership
    j = expect_json(request("GET", "/api/v1/borlange/projects", query={"funder": "sida"}), 200)
    pid = j["items"][0]["id"]
    r = page("/borlange/projects/%d" % pid, query={"lang": "en"})
    o = outline(r)
    ld = jsonld(r, o)[0]
    expect([f["name"] for f in ld["funder"]] == [f["name"] for f in j["items"][0]["funders"]],
           "JSON-LD funder %r" % ld.get("funder"), r)
    expect("<h2>Funders</h2>" in r.text and "<li>Sida (Sida)</li>" in r.text, "funders not listed", r)
    pship = j["items"][0]["partners"][0]["partnership_id"]
    expect('href="/borlange/partnerships/%d?lang=en"' % pship in r.text, "the partner is not linked to its partnership", r)


def t_visit_page():
    pages_case("lerum", "visits", "Event", ["Genomfört"])()
    iid, _ = first_id("lerum", "visits", {"q": "Baldone", "direction": "outgoing"})
    r = page("/lerum/visits/%d" % iid, query={"lang": "da"})
    o = outline(r)
    expect(o.lang == "da" and "Gennemført" in r.text, "the status is not in Danish", r)
    ld = jsonld(r, o)[0]
    expect(ld.get("startDate"), "the Event has no startDate: %r" % ld, r)
    r = page("/borlange/visits/1", query={"lang": "en"})
    outline(r)
    expect("Programme day by day" in r.text and "Jakobsgårdsskolan" in r.text, "no programme", r)
    expect("<h2>Delegation</h2>" in r.text and "Frederikshavn" in r.text, "no delegation", r)


def t_news_page():
    iid, lst = first_id("borlange", "news")
    ld = pages_case("borlange", "news", "NewsArticle", [])()
    item = lst["items"][0]
    expect(ld.get("headline") == item["title"] and ld.get("inLanguage") == item["lang"] and
           ld.get("datePublished") == item["published_at"], "NewsArticle %r" % ld)
    r = page("/borlange/news/%d" % iid)
    # the safe body is HTML, not text
    expect("<h2>Kultursamarbete med vänorterna</h2>" in r.text, "body_html is not rendered as HTML", r)
    expect('<article lang="sv">' in r.text, "the article does not say its language", r)


def t_overview():
    r = page("/borlange/", query={"lang": "sv"})
    outline(r)
    running = expect_json(request("GET", "/api/v1/borlange/projects", query={"status": "running"}), 200)
    for p in running["items"]:
        expect(p["title"] in r.text, "the overview lacks the running project %r" % p["title"], r)
    news = expect_json(request("GET", "/api/v1/borlange/news", query={"limit": "1"}), 200)
    expect(news["items"][0]["title"] in r.text, "the overview lacks the latest news", r)
    for m in ("projects", "visits", "news"):
        expect('id="s-%s"' % m in r.text, "no %s section on the overview" % m, r)


def t_not_found():
    for path in ("/borlange/projects/999999", "/borlange/visits/999999", "/borlange/news/999999",
                 "/borlange/news/abc", "/lejre/visits/", "/lejre/visits/1"):
        r = page(path)
        expect(r.status == 404 and r.ctype == "text/html", "%s answered %d %s" % (path, r.status, r.ctype), r)
        outline(r)
    for path in ("/api/v1/lejre/visits.ics", "/api/v1/lejre/visits.csv"):
        r = request("GET", path)
        expect(r.status == 404, "%s answered %d" % (path, r.status), r)


# ---------------------------------------------------------------- injection

def create(module, body):
    r = request("POST", "/api/v1/%s/%s" % (MUNI, module), body=body, token=ADMIN)
    item = expect_json(r, 201)
    state.setdefault("made", []).append((module, item["id"]))
    return item


def t_create_evil():
    expect(ADMIN, "PORTAL_ADMIN_TOKEN is not set")
    state["project"] = create("projects", {
        "title": EVIL, "acronym": EVIL[:50], "summary": {"sv": EVIL, "en": EVIL}, "programme": EVIL,
        "funders": [{"name": EVIL, "kind": "eu"}], "status": "running",
        "start_date": "2024-01", "end_date": "2026", "budget": {"total": 1000, "grant": 800, "currency": "SEK"},
        "partners": [{"name": EVIL, "country": "LV", "role": "lead"}], "responsible_unit": EVIL,
        "areas": ["culture"], "url": "https://example.org/a?b=%22%3E",
        "reports": [{"period": "2024-H1", "submitted_on": "2024-08", "summary": EVIL}]})
    state["visit"] = create("visits", {
        "title": EVIL, "direction": "incoming", "status": "cancelled", "start_date": "2025-05-06",
        "end_date": "2025-05-08", "delegation": {"organisations": [EVIL], "countries": ["LV"], "participants": 4},
        "purpose": EVIL + "\nline two; with, ICS specials\\", "programme": [{"date": "2025-05-06", "place": EVIL, "description": EVIL}],
        "host_unit": EVIL, "cost": {"amount": 1200.5, "currency": "SEK"}, "outcome": EVIL, "public": True})
    state["news"] = create("news", {
        "slug": "xss-test-%d" % os.getpid(), "title": EVIL, "lead": EVIL, "lang": "sv", "status": "published",
        "body": "Text " + EVIL + "\n\n[x](javascript:alert(3)) *fin*\n", "author": EVIL,
        "image": {"url": "https://example.org/a.jpg", "alt": EVIL, "credit": None}})
    state["draft"] = create("news", {
        "slug": "draft-test-%d" % os.getpid(), "title": "Utkast %d" % os.getpid(), "lead": "hemligt",
        "lang": "sv", "status": "draft", "body": "inte publicerat"})


def inert_page(path, query=None):
    r = page(path, query=query)
    expect(r.status == 200, "%s answered %d" % (path, r.status), r)
    o = outline(r)
    for bad in ("<script>alert", "<img src=x", "\" onerror", "javascript:alert"):
        expect(bad not in r.text, "%s shows %r unescaped" % (path, bad), r)
    return r, o


def t_evil_pages():
    expect("project" in state, "the items were not created")
    for module in ("projects", "visits", "news"):
        iid = state[module.rstrip("s") if module != "news" else "news"]["id"]
        r, o = inert_page("/%s/%s/%d" % (MUNI, module, iid))
        expect("&lt;script&gt;alert(1)&lt;/script&gt;" in r.text, "%s item does not show the text escaped" % module, r)
        for ld in jsonld(r, o):
            name = ld.get("name") or ld.get("headline")
            expect(name == EVIL, "JSON-LD of %s has %r, not the stored text" % (module, name), r)
        inert_page("/%s/%s/" % (MUNI, module))
    r, _ = inert_page("/%s/" % MUNI)
    expect("&lt;script&gt;alert(1)&lt;/script&gt;" in r.text, "the overview does not show the new items", r)
    r, _ = inert_page("/%s/visits/%d" % (MUNI, state["visit"]["id"]), {"lang": "en"})
    expect("Cancelled" in r.text, "the cancelled visit is not marked", r)


def t_evil_exports():
    expect("project" in state, "the items were not created")
    for module, key in (("projects", "project"), ("visits", "visit"), ("news", "news")):
        r = request("GET", "/api/v1/%s/%s.csv" % (MUNI, module))
        rows = {x["id"]: x for x in csv.DictReader(io.StringIO(r.body.decode("utf-8-sig")))}
        row = rows.get(str(state[key]["id"]))
        expect(row is not None and row["title"] == EVIL, "%s.csv does not give the title back as it was: %r"
               % (module, row and row["title"]), r)
    # Atom: the text parses back, the body is escaped HTML without the script
    feed = ET.fromstring(request("GET", "/api/v1/%s/news.atom" % MUNI).body)
    entries = [e for e in feed.findall(ATOM + "entry") if e.findtext(ATOM + "title") == EVIL]
    expect(len(entries) == 1, "the feed does not hold the item's title as text")
    content = entries[0].findtext(ATOM + "content") or ""
    expect("<script" not in content and "javascript:" not in content and "<em>fin</em>" in content,
           "the feed's content is not the safe body: %r" % content)
    expect(entries[0].findtext(ATOM + "summary") == EVIL, "summary is not the lead")
    # iCalendar: SUMMARY unescapes to the title
    cal = parse_ics(request("GET", "/api/v1/%s/visits.ics" % MUNI))
    ev = [e for e in cal["VEVENT"] if e["UID"] == "visit-%d@%s.portal" % (state["visit"]["id"], MUNI)]
    expect(len(ev) == 1, "the visit is not in the calendar")
    expect(ics_text(ev[0]["SUMMARY"]) == EVIL, "SUMMARY %r" % ev[0]["SUMMARY"])
    expect(ev[0].get("DTSTART;VALUE=DATE") == "20250506" and ev[0].get("DTEND;VALUE=DATE") == "20250509",
           "6-8 May 2025 is not DTSTART 20250506, DTEND 20250509: %r" % ev[0])
    expect(ev[0].get("STATUS") == "CANCELLED", "the cancelled visit has STATUS %r" % ev[0].get("STATUS"))
    expect(ics_text(ev[0]["DESCRIPTION"]) == state["visit"]["purpose"], "DESCRIPTION %r" % ev[0]["DESCRIPTION"])


def t_drafts():
    expect("draft" in state, "the draft was not created")
    d = state["draft"]
    r = page("/%s/news/%d" % (MUNI, d["id"]))
    expect(r.status == 404, "a draft's page answered %d to an anonymous caller" % r.status, r)
    for path in ("/%s/news/" % MUNI, "/%s/" % MUNI):
        r = page(path)
        expect(d["title"] not in r.text, "%s shows the draft" % path, r)
    r = request("GET", "/api/v1/%s/news.atom" % MUNI)
    expect(d["title"] not in r.text, "the Atom feed shows the draft", r)
    r = request("GET", "/api/v1/%s/news.csv" % MUNI)
    expect(d["title"] not in r.text, "the CSV export shows the draft", r)


def t_cleanup():
    bad = []
    for module, iid in reversed(state.get("made", [])):
        r = request("DELETE", "/api/v1/%s/%s/%d" % (MUNI, module, iid), token=ADMIN)
        if r.status != 204:
            bad.append("%s %d: %d" % (module, iid, r.status))
    expect(not bad, "not deleted: %s" % bad)


# ---------------------------------------------------------------- Atom

def t_atom():
    r = request("GET", "/api/v1/borlange/news.atom")
    expect(r.status == 200 and r.ctype == "application/atom+xml", "%d %s" % (r.status, r.ctype), r)
    feed = ET.fromstring(r.body)
    expect(feed.tag == ATOM + "feed", "root is %s" % feed.tag, r)
    for el in ("id", "title", "updated"):
        expect((feed.findtext(ATOM + el) or "").strip(), "feed has no %s" % el, r)
    expect(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", feed.findtext(ATOM + "updated")), "updated is not RFC 3339", r)
    rels = {l.get("rel"): l.get("href") for l in feed.findall(ATOM + "link")}
    expect(rels.get("self", "").endswith("/api/v1/borlange/news.atom") and
           rels.get("alternate", "").endswith("/borlange/news/"), "links %r" % rels, r)
    expect(feed.find(ATOM + "author/" + ATOM + "name") is not None, "no feed author", r)
    api = expect_json(request("GET", "/api/v1/borlange/news"), 200)
    entries = feed.findall(ATOM + "entry")
    expect(len(entries) == len(api["items"]), "%d entries for %d items" % (len(entries), len(api["items"])), r)
    ids = set()
    for e, item in zip(entries, api["items"]):
        eid = e.findtext(ATOM + "id") or ""
        expect(re.match(r"^(tag|urn):", eid), "entry id %r is not a tag: or urn: URI" % eid, r)
        ids.add(eid)
        expect(e.findtext(ATOM + "title") == item["title"], "entry title", r)
        expect(e.findtext(ATOM + "updated") == item["updated_at"], "entry updated", r)
        expect(e.findtext(ATOM + "published") == item["published_at"], "entry published", r)
        link = e.find(ATOM + "link")
        expect(link is not None and link.get("href", "").endswith("/borlange/news/%d" % item["id"]), "entry link", r)
        c = e.find(ATOM + "content")
        expect(c is not None and c.get("type") == "html" and c.text == item["body_html"],
               "content is not the body as escaped HTML", r)
        expect(e.findtext(ATOM + "summary") == item["lead"], "summary is not the lead", r)
    expect(len(ids) == len(entries), "entry ids repeat", r)
    again = ET.fromstring(request("GET", "/api/v1/borlange/news.atom").body)
    expect([e.findtext(ATOM + "id") for e in again.findall(ATOM + "entry")] ==
           [e.findtext(ATOM + "id") for e in entries], "entry ids are not stable", r)


# ---------------------------------------------------------------- iCalendar

def parse_ics(r):
    """A strict RFC 5545 reading: CRLF only, lines of at most 75 octets,
    unfolded, BEGIN/END balanced.  {"VCALENDAR": [props], "VEVENT": [{name:
    value}, ...]} with the raw (escaped) values; parameters kept in
    name;params form under the bare name too."""
    expect(r.status == 200 and r.ctype == "text/calendar", "%d %s" % (r.status, r.ctype), r)
    raw = r.body
    expect(raw.endswith(b"\r\n"), "the file does not end with CRLF", r)
    phys = raw[:-2].split(b"\r\n")
    for ln in phys:
        expect(b"\n" not in ln and b"\r" not in ln, "a bare LF or CR: %r" % ln[:80], r)
        expect(len(ln) <= 75, "a line of %d octets: %r" % (len(ln), ln[:80]), r)
        ln.decode("utf-8")  # folding never splits a character
    lines = []
    for ln in phys:
        if ln[:1] in (b" ", b"\t"):
            expect(lines, "a continuation line first", r)
            lines[-1] += ln[1:]
        else:
            expect(ln, "an empty line", r)
            lines.append(ln)
    lines = [ln.decode("utf-8") for ln in lines]
    stack, cal, events, cur = [], {}, [], None
    for ln in lines:
        m = re.match(r"^([A-Za-z0-9-]+)((?:;[^:]*)?):(.*)$", ln)
        expect(m, "not a content line: %r" % ln, r)
        name, params, value = m.group(1).upper(), m.group(2), m.group(3)
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                cur = {}
                events.append(cur)
            continue
        if name == "END":
            expect(stack and stack[-1] == value, "END:%s closes %r" % (value, stack), r)
            stack.pop()
            cur = None if value == "VEVENT" else cur
            continue
        target = cur if cur is not None else cal
        expect(name not in target or name in ("CATEGORIES", "ATTENDEE", "COMMENT"),
               "%s twice in one component" % name, r)
        target[name] = value
        if params:
            target[name + params.upper()] = value
    expect(not stack, "unclosed: %r" % stack, r)
    expect(lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR", "not one VCALENDAR", r)
    expect(cal.get("VERSION") == "2.0" and cal.get("PRODID"), "VERSION/PRODID %r" % cal, r)
    for e in events:
        for p in ("UID", "DTSTAMP", "DTSTART"):
            expect(p in e, "a VEVENT without %s: %r" % (p, e), r)
        expect(re.match(r"^\d{8}T\d{6}Z$", e["DTSTAMP"]), "DTSTAMP %r" % e["DTSTAMP"], r)
        expect(re.match(r"^\d{8}$", e.get("DTSTART;VALUE=DATE", "")), "DTSTART is not a DATE: %r" % e, r)
        # all-day events end (exclusively) after their last day, RFC 5545 3.6.1
        expect(re.match(r"^\d{8}$", e.get("DTEND;VALUE=DATE", "")), "DTEND is not a DATE: %r" % e, r)
        expect(e["DTEND;VALUE=DATE"] > e["DTSTART;VALUE=DATE"], "DTEND is not after DTSTART: %r" % e, r)
    return {"VCALENDAR": cal, "VEVENT": events}


def ics_text(v):
    """An RFC 5545 TEXT value unescaped (and checked: no bare , or ;)."""
    expect(not re.search(r"(?<!\\)(\\\\)*[,;]", v.replace("\\,", "").replace("\\;", "")),
           "an unescaped , or ; in %r" % v)
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), v)


def t_ics():
    a = parse_ics(request("GET", "/api/v1/lerum/visits.ics"))
    api = expect_json(request("GET", "/api/v1/lerum/visits", query={"limit": "100"}), 200)
    dated = {i["id"]: i for i in api["items"] if i["start_date"]}
    uids = {e["UID"]: e for e in a["VEVENT"]}
    expect(len(uids) == len(a["VEVENT"]) == len(dated), "%d events, %d UIDs, %d dated visits"
           % (len(a["VEVENT"]), len(uids), len(dated)))
    for iid, item in dated.items():
        e = uids.get("visit-%d@lerum.portal" % iid)
        expect(e is not None, "visit %d has no event" % iid)
        expect(ics_text(e["SUMMARY"]) == item["title"], "SUMMARY of %d" % iid)
        want = (item["start_date"].replace("-", "") + "0101")[:8] if len(item["start_date"]) == 4 else \
            (item["start_date"].replace("-", "") + "01")[:8]
        expect(e["DTSTART;VALUE=DATE"] == want, "DTSTART of %d is %s, not %s" % (iid, e["DTSTART;VALUE=DATE"], want))
        # the exclusive end: the day after the last day, or after the month
        # or year a partial date names (Lerum's visits: "1998", "2004-10")
        last = item["end_date"] or item["start_date"]
        y, m, d = (int(x) for x in (last.split("-") + ["0", "0"])[:3])
        end = datetime.date(y + 1, 1, 1) if not m else \
            (datetime.date(y + (m == 12), m % 12 + 1, 1) if not d else datetime.date(y, m, d) + datetime.timedelta(days=1))
        expect(e["DTEND;VALUE=DATE"] == end.strftime("%Y%m%d"),
               "DTEND of %d (%s) is %s, not %s" % (iid, last, e["DTEND;VALUE=DATE"], end.strftime("%Y%m%d")))
    b = parse_ics(request("GET", "/api/v1/lerum/visits.ics"))
    expect(sorted(uids) == sorted(e["UID"] for e in b["VEVENT"]), "UIDs change between two fetches")
    c = parse_ics(request("GET", "/api/v1/lerum/visits.ics", query={"direction": "incoming"}))
    want = sorted("visit-%d@lerum.portal" % i for i, x in dated.items() if x["direction"] == "incoming")
    expect(sorted(e["UID"] for e in c["VEVENT"]) == want, "direction=incoming gave %r" % c["VEVENT"])


# ---------------------------------------------------------------- CSV

def csv_rows(path, query=None):
    r = request("GET", path, query=query)
    expect(r.status == 200 and r.ctype == "text/csv", "%s: %d %s" % (path, r.status, r.ctype), r)
    expect("attachment" in (r.header("content-disposition") or ""), "no Content-Disposition", r)
    return list(csv.DictReader(io.StringIO(r.body.decode("utf-8-sig"))))


def csv_case(muni, module, query, bad):
    def fn():
        rows = csv_rows("/api/v1/%s/%s.csv" % (muni, module), query)
        q = dict(query, limit="100")
        api = expect_json(request("GET", "/api/v1/%s/%s" % (muni, module), query=q), 200)
        expect(api["items"], "the filter %r finds nothing to compare" % query)
        expect([r["id"] for r in rows] == [str(i["id"]) for i in api["items"]],
               "%s.csv with %r has ids %r, the list %r" % (module, query, [r["id"] for r in rows],
                                                            [i["id"] for i in api["items"]]))
        for row, item in zip(rows, api["items"]):
            expect(row["title"] == item["title"], "title of %s" % item["id"])
            if "areas" in row:
                expect(row["areas"] == "; ".join(item["areas"]), "areas of %s: %r" % (item["id"], row["areas"]))
        every = csv_rows("/api/v1/%s/%s.csv" % (muni, module))
        expect(len(every) >= len(rows), "the unfiltered export is smaller")
        r = request("GET", "/api/v1/%s/%s.csv" % (muni, module), query=bad)
        expect(r.status == 422, "a bad filter %r answered %d" % (bad, r.status), r)
    return fn


def main():
    t = Tap()
    t.check("projects: list and item pages (outline, JSON-LD Project with funders, partner links)", t_project_page)
    t.check("visits: list and item pages (Event JSON-LD, programme, delegation, Danish words)", t_visit_page)
    t.check("news: list and item pages (NewsArticle JSON-LD, body rendered as HTML)", t_news_page)
    t.check("the overview has running projects, visits and the latest news", t_overview)
    t.check("unknown ids and Lejre's disabled visits answer 404 pages (and exports)", t_not_found)
    if t.check("a project, a cancelled visit, a news item and a draft with <script> in every text field are created in %s" % MUNI,
               t_create_evil):
        t.check("the stored script is inert on every page (HTML escaped, JSON-LD intact)", t_evil_pages)
        t.check("the stored script is inert in the CSVs, the Atom feed and the iCalendar file", t_evil_exports)
        t.check("drafts are on no page, in no feed and no export for anonymous callers", t_drafts)
    t.check("the items made for the test are deleted", t_cleanup)
    t.check("news.atom parses (xml.etree, Atom namespace): feed and entry elements, stable ids", t_atom)
    t.check("visits.ics: CRLF, 75-octet lines, balanced, UID/DTSTAMP/DTSTART/DTEND (exclusive), stable UIDs, filters", t_ics)
    t.check("projects.csv parses, status filter as the list; a bad filter is 422",
            csv_case("borlange", "projects", {"status": "completed"}, {"status": "nope"}))
    t.check("visits.csv parses, direction filter as the list; a bad filter is 422",
            csv_case("lerum", "visits", {"direction": "outgoing"}, {"direction": "sideways"}))
    t.check("news.csv parses, area filter as the list; a bad filter is 422",
            csv_case("borlange", "news", {"area": "culture"}, {"since": "yesterday"}))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
