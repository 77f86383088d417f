#!/usr/bin/env python3
"""Integration tests of the news module through nginx (stdlib only).

Run by tests/run.sh with PORTAL_URL, PORTAL_CONF, PORTALCTL, PORTAL_VAR set,
on a stack whose database holds the demo data (plugins/*/demo/MUNICIPALITY.json:
Borlänge's article about the week-37 visit) and whose configuration is
conf/demo.conf plus `provkommun` (no modules).  Lejre has not enabled
visits.

Only what is the news module's own: its demo article, drafts and
publishing, slugs, Markdown, its filters (lang, since, area, status, slug)
and order, images, its members' rules, related items and the links they
make.  The lifecycle every module shares (create, read, list, paging,
PATCH, If-Match, 404s, the generic 422s, read-only members, 400/413/415) is
test_lifecycle.py's; the callers on every write route are
test_authz_matrix.py's.

Scratch items go to svenljunga (drafts, links to its demo partnerships
Rehna, Tamsalu and Chizhou, Markdown, validation) and herrljunga (filters,
ordering, pagination); every item created here is deleted again at the end.
"""
import calendar
import email.utils
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import (Tap, create_token, expect, expect_field_error,  # noqa: E402
                     expect_json, expect_names_param, expect_problem, expect_status, portalctl,
                     request, token_id)

API = "/api/v1"
TAG = "itest-%d" % os.getpid()  # marks the items this run creates (also a valid slug part)
DEMO_SLUG = "besok-fran-norge-danmark-och-moldavien"
DEMO_TITLE = "Besök från Norge, Danmark och Moldavien"  # also the demo visit's title
AUTISM = "Utvecklingsprojekt om barn och ungdomar med autism"  # a demo project of Borlänge

t = Tap()
tokens = {}       # (slug, role) -> token
created = []      # (slug, id, module) to delete at the end
state = {}        # values shared between checks


def tok(slug, role):
    if (slug, role) not in tokens:
        tokens[(slug, role)] = create_token(slug, role)
    return tokens[(slug, role)]


def coll(slug, module="news"):
    return "%s/%s/%s" % (API, slug, module)


def item(slug, nid, module="news"):
    return "%s/%s/%s/%s" % (API, slug, module, nid)


def list_all(muni, token=None, **query):
    query.setdefault("limit", "100")
    r = request("GET", coll(muni), query=query, token=token)
    body = expect_json(r, 200)
    expect(isinstance(body, dict) and isinstance(body.get("items"), list),
           "list body has no items array", r)
    expect("next" in body, "list body has no `next` member", r)
    return body, r


def slugs(items):
    return [i.get("slug") for i in items]


def ours(items):
    """The slugs of the items this run made, in the order listed."""
    return [s for s in slugs(items) if str(s).startswith(TAG)]


def partnership_id(slug, name):
    r = request("GET", coll(slug, "partnerships"), query={"limit": "100"})
    body = expect_json(r, 200)
    ids = [i["id"] for i in body["items"] if (i.get("partner") or {}).get("name") == name]
    expect(len(ids) == 1, "%s: expected one partnership %r, found %d" % (slug, name, len(ids)), r)
    return ids[0]


def new_body(name, **extra):
    b = {"slug": "%s-%s" % (TAG, name), "title": "%s %s" % (TAG, name), "lang": "sv"}
    b.update(extra)
    return b


def create(slug, body, token=None):
    r = request("POST", coll(slug), body=body, token=token or tok(slug, "editor"))
    j = expect_json(r, 201)
    expect(isinstance(j, dict) and "id" in j, "created item has no id", r)
    created.append((slug, j["id"], "news"))
    return j, r


def get_item(slug, nid, **kw):
    return request("GET", item(slug, nid), **kw)


# "sources" and "uid" are the core's members of every module's items
# (core/items/store.c)
MEMBERS = ["id", "municipality", "slug", "title", "lead", "body", "body_html", "lang", "status",
           "published_at", "author", "areas", "related", "image", "image_file", "sources",
           "uid", "created_at", "updated_at", "version"]


def is_ts(s):
    return isinstance(s, str) and len(s) == 20 and s[4] == "-" and s[10] == "T" and s.endswith("Z")


def expect_shape(j, r=None):
    expect(isinstance(j, dict), "item is not an object", r)
    expect(sorted(j) == sorted(MEMBERS), "members are %r, expected %r" % (sorted(j), sorted(MEMBERS)), r)
    rel = j["related"]
    expect(isinstance(rel, dict) and sorted(rel) == ["partnerships", "projects", "visits"]
           and all(isinstance(v, list) for v in rel.values()),
           "related is %r, not {partnerships, projects, visits: [...]}" % (rel,), r)
    expect(isinstance(j["areas"], list), "areas is not an array", r)
    expect(is_ts(j["created_at"]) and is_ts(j["updated_at"]), "created_at/updated_at not timestamps", r)
    expect(j["published_at"] is None or is_ts(j["published_at"]),
           "published_at %r is not YYYY-MM-DDTHH:MM:SSZ" % j["published_at"], r)
    expect(isinstance(j["version"], int) and j["version"] >= 1, "version", r)


# ---------------------------------------------------------------------------
# the demo article

def t_demo_article():
    body, r = list_all("borlange")
    demo = [i for i in body["items"] if i.get("slug") == DEMO_SLUG]
    expect(len(demo) == 1, "borlange lists %r, not the demo article" % slugs(body["items"]), r)
    a = demo[0]
    expect_shape(a, r)
    expect(a["title"] == DEMO_TITLE, "title %r" % a["title"], r)
    expect(a["status"] == "published" and is_ts(a["published_at"]), "not published with a date", r)
    expect(a["lang"] == "sv", "lang %r" % a["lang"], r)
    expect("Vecka 37" in (a["body"] or ""), "the body does not keep the page's 'Vecka 37'", r)
    expect("<h2>" in (a["body_html"] or "") and "<blockquote>" in a["body_html"],
           "body_html is not the rendered Markdown: %r" % (a["body_html"] or "")[:200], r)
    want = sorted(partnership_id("borlange", n) for n in ("Frederikshavn", "Larvik", "Chișinău"))
    expect(sorted(a["related"]["partnerships"]) == want,
           "related.partnerships %r, expected Frederikshavn, Larvik, Chișinău %r"
           % (a["related"]["partnerships"], want), r)
    vis = [i["id"] for i in list_all_module("borlange", "visits") if i.get("title") == DEMO_TITLE]
    expect(a["related"]["visits"] == vis and len(vis) == 1,
           "related.visits %r, expected the demo visit %r" % (a["related"]["visits"], vis), r)
    pro = [i["id"] for i in list_all_module("borlange", "projects") if i.get("title") == AUTISM]
    expect(a["related"]["projects"] == pro and len(pro) == 1,
           "related.projects %r, expected the autism project %r" % (a["related"]["projects"], pro), r)
    state["demo"] = a


def list_all_module(muni, module):
    r = request("GET", coll(muni, module), query={"limit": "100"})
    return expect_json(r, 200)["items"]


def t_demo_linked_visit_project():
    a = state["demo"]
    for module, nid in (("visits", a["related"]["visits"][0]), ("projects", a["related"]["projects"][0])):
        r = request("GET", item("borlange", nid, module))
        j = expect_json(r, 200)
        news = ((j.get("linked") or {}).get("news")) or []
        expect([n.get("id") for n in news] == [a["id"]],
               "the demo %s' linked.news is %r, expected the article %d" % (module, news, a["id"]), r)


def t_demo_linked():
    a = state["demo"]
    pid = partnership_id("borlange", "Larvik")
    r = request("GET", item("borlange", pid, "partnerships"))
    j = expect_json(r, 200)
    news = ((j.get("linked") or {}).get("news")) or []
    expect([n.get("id") for n in news] == [a["id"]],
           "Larvik's linked.news is %r, expected the demo article %d" % (news, a["id"]), r)
    expect(news[0].get("title") == DEMO_TITLE and news[0].get("date") == a["published_at"],
           "linked entry %r: title and date should be the article's" % news[0], r)


def t_demo_only_borlange():
    for slug in ("lerum", "herrljunga", "lejre", "svenljunga"):
        body, r = list_all(slug)
        other = [s for s in slugs(body["items"]) if not str(s).startswith("itest-")]
        expect(not other, "%s has news items %r; the seeds give news only for Borlänge" % (slug, other), r)


def t_demo_by_slug():
    body, r = list_all("borlange", slug=DEMO_SLUG)
    expect(slugs(body["items"]) == [DEMO_SLUG], "slug filter gave %r" % slugs(body["items"]), r)
    g = get_item("borlange", state["demo"]["id"])
    j = expect_json(g, 200)
    expect(g.header("etag"), "no ETag", g)
    expect(j == state["demo"], "GET item differs from the list's item", g)


def q_case(slug, q, expect_found, **extra):
    def fn():
        body, r = list_all(slug, q=q, **extra)
        found = DEMO_SLUG in slugs(body["items"])
        expect(found == expect_found, "q=%r %s the demo article (got %r)"
               % (q, "did not find" if expect_found else "found", slugs(body["items"])), r)
    return fn


def t_q_sql_chars():
    for q in ("%", "_", "'", "\"", "\\", "' OR 1=1 --"):
        r = request("GET", coll("borlange"), query={"q": q})
        j = expect_json(r, 200)
        if q in ("%", "_", "' OR 1=1 --"):
            expect(len(j["items"]) == 0, "q=%r matched %r (wildcards not escaped?)" % (q, slugs(j["items"])), r)


# ---------------------------------------------------------------------------
# drafts

def t_draft_create():
    j, r = create("svenljunga", new_body("draft", lead="Utkast", body="Hemligt *utkast*",
                                         related={"partnerships": [partnership_id("svenljunga", "Rehna")]}))
    expect_shape(j, r)
    expect(j["status"] == "draft", "status defaults to %r, not draft" % j["status"], r)
    expect(j["published_at"] is None, "a draft got published_at %r" % j["published_at"], r)
    expect(j["body_html"] == "<p>Hemligt <em>utkast</em></p>\n", "body_html %r" % j["body_html"], r)
    state["draft"] = j["id"]


def t_draft_hidden_anonymous():
    nid = state["draft"]
    expect_problem(get_item("svenljunga", nid), 404)
    body, r = list_all("svenljunga")
    expect(nid not in [i["id"] for i in body["items"]], "anonymous list shows the draft", r)
    body, r = list_all("svenljunga", status="draft")
    expect(body["items"] == [], "anonymous status=draft lists %r" % slugs(body["items"]), r)


def t_draft_hidden_other_municipality():
    nid = state["draft"]
    for tk in (tok("lerum", "reader"), tok("lerum", "admin")):
        expect_problem(get_item("svenljunga", nid, token=tk), 404)
        body, r = list_all("svenljunga", token=tk)
        expect(nid not in [i["id"] for i in body["items"]], "a lerum token lists svenljunga's draft", r)


def t_draft_hidden_bad_token():
    r = get_item("svenljunga", state["draft"], token="no-such-token-0123456789")
    expect_status(r, 401, 404)
    expect(r.status == 401 or r.json.get("status") == 404, "a bad token saw the draft", r)


def t_draft_visible_reader():
    nid = state["draft"]
    for tk in (tok("svenljunga", "reader"), tok("svenljunga", "editor"), tok("*", "reader")):
        j = expect_json(get_item("svenljunga", nid, token=tk), 200)
        expect(j["status"] == "draft", "status")
        body, r = list_all("svenljunga", token=tk)
        expect(nid in [i["id"] for i in body["items"]], "the reader's list lacks the draft", r)
        body, r = list_all("svenljunga", token=tk, status="draft")
        expect(ours(body["items"]) == ["%s-draft" % TAG], "status=draft gave %r" % slugs(body["items"]), r)


def t_draft_link_not_public():
    pid = partnership_id("svenljunga", "Rehna")
    r = request("GET", item("svenljunga", pid, "partnerships"))
    j = expect_json(r, 200)
    ids = [n.get("id") for n in (j.get("linked") or {}).get("news", [])]
    expect(state["draft"] not in ids, "Rehna shows the draft to anyone: %r" % ids, r)
    r = request("GET", item("svenljunga", pid, "partnerships"), token=tok("svenljunga", "reader"))
    j = expect_json(r, 200)
    ids = [n.get("id") for n in (j.get("linked") or {}).get("news", [])]
    expect(state["draft"] in ids, "Rehna's linked.news lacks the draft for a reader: %r" % ids, r)


def server_time(r):
    d = r.header("date")
    return email.utils.parsedate_to_datetime(d).timestamp() if d else time.time()


def ts_epoch(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def t_publish_sets_date():
    nid = state["draft"]
    r = request("PATCH", item("svenljunga", nid), body={"status": "published"},
                token=tok("svenljunga", "editor"))
    j = expect_json(r, 200)
    expect(j["status"] == "published" and is_ts(j["published_at"]),
           "publishing without published_at gave %r" % j["published_at"], r)
    expect(abs(ts_epoch(j["published_at"]) - server_time(r)) < 300,
           "published_at %r is not about now (%s)" % (j["published_at"], r.header("date")), r)
    expect_json(get_item("svenljunga", nid), 200)
    body, lr = list_all("svenljunga")
    expect(nid in [i["id"] for i in body["items"]], "the published item is not listed", lr)
    pid = partnership_id("svenljunga", "Rehna")
    pj = expect_json(request("GET", item("svenljunga", pid, "partnerships")), 200)
    linked = (pj.get("linked") or {}).get("news", [])
    expect([n.get("date") for n in linked if n.get("id") == nid] == [j["published_at"]],
           "Rehna's linked.news %r lacks the published item with its date" % linked)


def t_create_published():
    j, r = create("svenljunga", new_body("pub", status="published"))
    expect(is_ts(j["published_at"]), "published without published_at got %r" % j["published_at"], r)
    j2, r2 = create("svenljunga", new_body("pub-offset", status="published",
                                           published_at="2024-09-09T10:00:00+02:00"))
    expect(j2["published_at"] == "2024-09-09T08:00:00Z",
           "+02:00 was stored as %r, not 2024-09-09T08:00:00Z" % j2["published_at"], r2)
    j3, r3 = create("svenljunga", new_body("pub-frac", status="published",
                                           published_at="2024-09-09T08:00:00.250Z"))
    expect(j3["published_at"] == "2024-09-09T08:00:00Z", "fraction: %r" % j3["published_at"], r3)
    j4, r4 = create("svenljunga", new_body("draft-dated", published_at="2030-01-01T00:00:00Z"))
    expect(j4["status"] == "draft" and j4["published_at"] == "2030-01-01T00:00:00Z",
           "a draft may carry a planned date: %r" % j4["published_at"], r4)
    expect_problem(get_item("svenljunga", j4["id"]), 404)


# ---------------------------------------------------------------------------
# slugs

def t_slug_derived():
    b = {"title": "%s Besök från Åre & Ærø – Chișinău, Łódź 2024!" % TAG, "lang": "sv"}
    j, r = create("svenljunga", b)
    want = "%s-besok-fran-are-aero-chisinau-lodz-2024" % TAG
    expect(j["slug"] == want, "derived slug %r, expected %r" % (j["slug"], want), r)
    j2, r2 = create("svenljunga", b)
    expect(j2["slug"] == want + "-2", "second derived slug %r, expected %r" % (j2["slug"], want + "-2"), r2)
    j3, r3 = create("svenljunga", dict(b, slug=None))
    expect(j3["slug"] == want + "-3", "slug null: %r, expected %r" % (j3["slug"], want + "-3"), r3)


def t_slug_long_title():
    j, r = create("svenljunga", {"title": TAG + " " + "ordet " * 45, "lang": "sv"})
    s = j["slug"]
    expect(len(s) <= 100 and not s.endswith("-") and s.startswith(TAG + "-ordet-ordet"),
           "slug of a long title: %r" % s, r)


def t_slug_no_letters():
    r = request("POST", coll("svenljunga"), body={"title": "合作 — 交流", "lang": "zh"},
                token=tok("svenljunga", "editor"))
    if r.status == 201:
        created.append(("svenljunga", r.json["id"], "news"))
    expect_field_error(r, "slug")


def t_slug_duplicate():
    j, r = create("svenljunga", new_body("dup"))
    r2 = request("POST", coll("svenljunga"), body=new_body("dup", title="another"),
                 token=tok("svenljunga", "editor"))
    if r2.status == 201:
        created.append(("svenljunga", r2.json["id"], "news"))
    expect_field_error(r2, "slug", codes=(409,))
    # the same slug in another municipality is fine
    create("lerum", new_body("dup"))
    # a patch onto a taken slug
    j3, _ = create("svenljunga", new_body("dup-other"))
    r3 = request("PATCH", item("svenljunga", j3["id"]), body={"slug": "%s-dup" % TAG},
                 token=tok("svenljunga", "editor"))
    expect_field_error(r3, "slug", codes=(409,))
    after = expect_json(get_item("svenljunga", j3["id"], token=tok("svenljunga", "reader")), 200)
    expect(after["slug"] == "%s-dup-other" % TAG and after["version"] == j3["version"],
           "a 409 patch changed the item")
    # keeping its own slug is not a conflict
    r4 = request("PATCH", item("svenljunga", j["id"]), body={"slug": j["slug"], "title": "renamed"},
                 token=tok("svenljunga", "editor"))
    j4 = expect_json(r4, 200)
    expect(j4["slug"] == j["slug"] and j4["title"] == "renamed", "patch with its own slug", r4)


def bad_slug_case(value):
    def fn():
        r = request("POST", coll("svenljunga"), body=new_body("x", slug=value),
                    token=tok("svenljunga", "editor"))
        if r.status == 201:
            created.append(("svenljunga", r.json["id"], "news"))
        expect_field_error(r, "slug")
    return fn


# ---------------------------------------------------------------------------
# Markdown

UNSAFE = ("<script", "javascript:", "onerror", "vbscript:", "data:", "<iframe", "onmouseover",
          "<a href=\"\"", "file:")

MD_CASES = [
    ("<script>alert(1)</script>", None),
    ("Hej <script>alert(1)</script> då", "<p>Hej"),
    ("<img src=x onerror=alert(1)>", None),
    ("a <img src=x onerror=alert(1)> b", "<p>a"),
    ("<iframe src=\"https://evil.example\"></iframe>", None),
    ("<div onmouseover=\"alert(1)\">x</div>", None),
    ("<a href=\"javascript:alert(1)\">x</a>", None),
    ("[x](javascript:alert(1))", "<p>x</p>"),
    ("[x](JAVASCRIPT:alert(1))", "<p>x</p>"),
    ("[x](JaVaScRiPt:alert(1))", "<p>x</p>"),
    ("[x](&#106;avascript:alert(1))", "<p>x</p>"),
    ("[x](&#x6A;avascript&#58;alert(1))", "<p>x</p>"),
    ("[x](java&#9;script:alert(1))", "<p>x</p>"),
    ("[x](<javascript:alert(1)>)", "<p>x</p>"),
    ("[x][r]\n\n[r]: javascript:alert(1)", "<p>x</p>"),
    ("<javascript:alert(1)>", None),
    ("<JAVASCRIPT:alert(1)>", None),
    ("[x](vbscript:msgbox(1))", "<p>x</p>"),
    ("[x](file:///etc/passwd)", "<p>x</p>"),
    ("[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "<p>x</p>"),
    ("![x](data:image/png;base64,iVBORw0KGgo=)", "<p>x</p>"),
    ("![x](javascript:alert(1))", "<p>x</p>"),
    ("```html\n<script>alert(1)</script>\n```", "&lt;script&gt;"),
    ("`<script>` als Text", "<code>&lt;script&gt;</code>"),
]


def md_case(md, want):
    def fn():
        j, r = create("svenljunga", new_body("md-%d" % len(created), body=md))
        html = j["body_html"]
        expect(isinstance(html, str), "body_html is %r" % (html,), r)
        low = html.lower()
        for bad in UNSAFE:
            expect(bad not in low, "body_html contains %r: %r" % (bad, html), r)
        if want is not None:
            expect(want in html, "body_html %r lacks %r" % (html, want), r)
        g = expect_json(get_item("svenljunga", j["id"], token=tok("svenljunga", "reader")), 200)
        expect(g["body_html"] == html and g["body"] == md, "GET shows other body/body_html")
    return fn


def t_md_kept():
    md = ("**Fet** och *kursiv*, [länk](https://www.borlange.se/), <https://example.se/a?b=1&c=2>, "
          "[mejl](mailto:info@example.se), [tel](tel:+46243-74000), [här](/borlange/news/) och "
          "![bild](https://example.se/bild.jpg \"Titel\")\n\n- ett\n- två\n\n1 < 2 & 3 > 2")
    j, r = create("svenljunga", new_body("md-kept", body=md))
    html = j["body_html"]
    for want in ("<strong>Fet</strong>", "<em>kursiv</em>", '<a href="https://www.borlange.se/">länk</a>',
                 '<a href="https://example.se/a?b=1&amp;c=2">', '<a href="mailto:info@example.se">mejl</a>',
                 '<a href="tel:+46243-74000">tel</a>', '<a href="/borlange/news/">här</a>',
                 '<img src="https://example.se/bild.jpg" alt="bild" title="Titel" />', "<li>två</li>",
                 "1 &lt; 2 &amp; 3 &gt; 2"):
        expect(want in html, "body_html lacks %r: %r" % (want, html), r)


def t_md_null_body():
    j, r = create("svenljunga", new_body("md-null"))
    expect(j["body"] is None and j["body_html"] is None, "no body: body_html %r" % j["body_html"], r)
    r2 = request("PATCH", item("svenljunga", j["id"]), body={"body": "# Rubrik"},
                 token=tok("svenljunga", "editor"))
    j2 = expect_json(r2, 200)
    expect(j2["body_html"] == "<h1>Rubrik</h1>\n", "patched body_html %r" % j2["body_html"], r2)


# ---------------------------------------------------------------------------
# filters, order, pagination (herrljunga)

FILTER_ITEMS = [
    # name, lang, status, published_at, areas
    ("f-old", "sv", "published", "2020-01-01T00:00:00Z", ["culture"]),
    ("f-mid", "en", "published", "2023-06-15T12:00:00Z", ["culture", "youth"]),
    ("f-fi", "sv-FI", "published", "2023-06-15T12:00:00Z", ["education"]),
    ("f-new", "sv", "published", "2025-03-01T08:30:00Z", []),
    ("f-draft", "sv", "draft", None, ["culture"]),
    ("f-draft-dated", "da", "draft", "2024-01-01T00:00:00Z", []),
]


def t_filter_setup():
    for name, lang, status, at, areas in FILTER_ITEMS:
        b = new_body(name, lang=lang, status=status, areas=areas)
        if at:
            b["published_at"] = at
        if name == "f-mid":
            b["author"] = "Åsa Ødegård"
            b["lead"] = "Straße och Chișinău"
        create("herrljunga", b, token=tok("*", "editor"))


def filter_case(query, expected, token=None, ordered=False):
    def fn():
        body, r = list_all("herrljunga", token=token, **query)
        got = [s[len(TAG) + 1:] for s in ours(body["items"])]
        if not ordered:
            got, want = sorted(got), sorted(expected)
        else:
            want = expected
        expect(got == want, "GET herrljunga/news?%s gave %r, expected %r"
               % (urllib.parse.urlencode(query), got, want), r)
    return fn


def t_order_anonymous():
    filter_case({}, ["f-new", "f-fi", "f-mid", "f-old"], ordered=True)()


def t_order_reader():
    # undated drafts first; same published_at: newer id first
    filter_case({}, ["f-draft", "f-new", "f-draft-dated", "f-fi", "f-mid", "f-old"],
                token=tok("herrljunga", "reader"), ordered=True)()


def bad_param_case(query, name):
    def fn():
        expect_names_param(request("GET", coll("herrljunga"), query=query), name, codes=(422, 400))
    return fn


def t_q_author_folding():
    for q in ("asa odegard", "ÅSA ØDEGÅRD", "strasse", "Straße", "chisinau", "CHIȘINĂU"):
        body, r = list_all("herrljunga", q=q)
        got = [s[len(TAG) + 1:] for s in ours(body["items"])]
        expect(got == ["f-mid"], "q=%r gave %r, expected f-mid (author/lead)" % (q, got), r)


def t_q_draft_hidden():
    body, r = list_all("herrljunga", q="%s f-draft" % TAG)
    expect(ours(body["items"]) == [], "q finds drafts anonymously: %r" % ours(body["items"]), r)
    body, r = list_all("herrljunga", q="f-draft", token=tok("herrljunga", "reader"))
    expect(sorted(ours(body["items"])) == ["%s-f-draft" % TAG, "%s-f-draft-dated" % TAG],
           "q with a reader token: %r" % ours(body["items"]), r)


# ---------------------------------------------------------------------------
# links

def t_links_ok():
    rehna, tamsalu = partnership_id("svenljunga", "Rehna"), partnership_id("svenljunga", "Tamsalu")
    j, r = create("svenljunga", new_body("links", status="published",
                                         related={"partnerships": [tamsalu, rehna]}))
    expect(j["related"] == {"partnerships": [tamsalu, rehna], "projects": [], "visits": []},
           "related %r" % j["related"], r)
    state["linked"] = j["id"]
    pj = expect_json(request("GET", item("svenljunga", tamsalu, "partnerships")), 200)
    expect(j["id"] in [n.get("id") for n in (pj.get("linked") or {}).get("news", [])],
           "Tamsalu does not show the news item in linked.news")
    # a patch of one module's list keeps the others; the title reaches the link
    r2 = request("PATCH", item("svenljunga", j["id"]),
                 body={"title": "%s renamed links" % TAG, "related": {"partnerships": [rehna]}},
                 token=tok("svenljunga", "editor"))
    j2 = expect_json(r2, 200)
    expect(j2["related"]["partnerships"] == [rehna], "related after patch %r" % j2["related"], r2)
    pj = expect_json(request("GET", item("svenljunga", tamsalu, "partnerships")), 200)
    expect(j["id"] not in [n.get("id") for n in (pj.get("linked") or {}).get("news", [])],
           "Tamsalu still shows the unlinked news item")
    pj = expect_json(request("GET", item("svenljunga", rehna, "partnerships")), 200)
    titles = [n.get("title") for n in (pj.get("linked") or {}).get("news", []) if n.get("id") == j["id"]]
    expect(titles == ["%s renamed links" % TAG], "Rehna's link title %r" % titles)


def link_error_case(slug, related, field):
    def fn():
        r = request("POST", coll(slug), body=new_body("badlink", related=related),
                    token=tok(slug, "editor"))
        if r.status == 201:
            created.append((slug, r.json["id"], "news"))
        expect_field_error(r, field)
    return fn


def t_link_other_municipality():
    baldone = partnership_id("lerum", "Baldone")
    link_error_case("svenljunga", {"partnerships": [partnership_id("svenljunga", "Rehna"), baldone]},
                    "related.partnerships[1]")()


def t_link_patch_other_municipality():
    nid = state["linked"]
    before = expect_json(get_item("svenljunga", nid), 200)
    r = request("PATCH", item("svenljunga", nid),
                body={"related": {"partnerships": [partnership_id("lerum", "Baldone")]}},
                token=tok("svenljunga", "editor"))
    expect_field_error(r, "related.partnerships[0]")
    after = expect_json(get_item("svenljunga", nid), 200)
    expect(after == before, "a 422 patch changed the item")


def t_link_target_guarded():
    # a partnership a news item links to cannot be deleted (409 naming the
    # news item); once the article lets go of it, it can
    pr = request("POST", coll("svenljunga", "partnerships"),
                 body={"partner": {"name": "%s partner" % TAG}, "kind": "cooperation"},
                 token=tok("svenljunga", "editor"))
    p = expect_json(pr, 201)
    created.append(("svenljunga", p["id"], "partnerships"))
    rehna = partnership_id("svenljunga", "Rehna")
    j, _ = create("svenljunga", new_body("guard", related={"partnerships": [p["id"], rehna]}))
    r = request("DELETE", item("svenljunga", p["id"], "partnerships"), token=tok("svenljunga", "editor"))
    prob = expect_problem(r, 409)
    expect("news %d" % j["id"] in str(prob.get("detail")),
           "the 409 does not name the news item: %r" % prob.get("detail"), r)
    r = request("PATCH", item("svenljunga", j["id"]), body={"related": {"partnerships": [rehna]}},
                token=tok("svenljunga", "editor"))
    expect(expect_json(r, 200)["related"]["partnerships"] == [rehna], "related not patched", r)
    expect_status(request("DELETE", item("svenljunga", p["id"], "partnerships"),
                          token=tok("svenljunga", "editor")), 204)


# ---------------------------------------------------------------------------
# auth, modules

# ---------------------------------------------------------------------------
# validation

def invalid_case(mutate, field, alternatives=()):
    def fn():
        b = new_body("invalid")
        mutate(b)
        r = request("POST", coll("svenljunga"), body=b, token=tok("svenljunga", "editor"))
        if r.status == 201 and r.json and "id" in r.json:
            created.append(("svenljunga", r.json["id"], "news"))
        expect_field_error(r, field, alternatives=alternatives)
    return fn


def m_set(path, value):
    def mutate(b):
        d = b
        for k in path[:-1]:
            d = d.setdefault(k, {})
        d[path[-1]] = value
    return mutate


def t_nothing_created():
    body, r = list_all("svenljunga", token=tok("svenljunga", "reader"))
    bad = [s for s in slugs(body["items"]) if "invalid" in str(s) or "badlink" in str(s)]
    expect(not bad, "invalid bodies were stored: %r" % bad, r)


def t_image():
    j, r = create("svenljunga", new_body("image", image={"url": "https://example.se/a.jpg",
                                                         "alt": "Delegationen framför stadshuset"}))
    expect(j["image"] == {"url": "https://example.se/a.jpg", "alt": "Delegationen framför stadshuset",
                          "media": None, "credit": None}, "image %r" % j["image"], r)
    expect(j["image_file"] is None, "image_file %r for an external image" % j["image_file"], r)
    r2 = request("PATCH", item("svenljunga", j["id"]), body={"image": {"credit": "Foto: Kommunen"}},
                 token=tok("svenljunga", "editor"))
    j2 = expect_json(r2, 200)
    expect(j2["image"]["credit"] == "Foto: Kommunen" and j2["image"]["alt"], "image patch %r" % j2["image"], r2)
    r3 = request("PATCH", item("svenljunga", j["id"]), body={"image": {"alt": None}},
                 token=tok("svenljunga", "editor"))
    expect_field_error(r3, "image.alt")
    r4 = request("PATCH", item("svenljunga", j["id"]), body={"image": None},
                 token=tok("svenljunga", "editor"))
    expect(expect_json(r4, 200)["image"] is None, "image not removed", r4)


# ---------------------------------------------------------------------------
# PATCH, conditional requests, DELETE

def t_create_main():
    j, r = create("svenljunga", new_body("main", lead="Ingress", body="Text", author="Redaktionen",
                                         areas=["culture"], status="published",
                                         published_at="2024-09-09T08:00:00Z"))
    expect_shape(j, r)
    loc = r.header("location")
    expect(loc and urllib.parse.urlsplit(loc).path.endswith(item("svenljunga", j["id"])),
           "Location %r is not the item's URL" % loc, r)
    expect(r.header("etag"), "no ETag on 201", r)
    expect(j["municipality"] == "svenljunga" and j["version"] == 1, "municipality/version", r)
    state["item"] = j["id"]


def t_patch():
    nid = state["item"]
    g = get_item("svenljunga", nid)
    before = expect_json(g, 200)
    etag = g.header("etag")
    r = request("PATCH", item("svenljunga", nid), body={"title": "%s ändrad" % TAG},
                token=tok("svenljunga", "editor"), headers={"If-Match": etag})
    j = expect_json(r, 200)
    expect(j["title"] == "%s ändrad" % TAG, "title not changed", r)
    for k in ("slug", "lead", "body", "body_html", "lang", "status", "published_at", "author", "areas",
              "related", "image", "created_at"):
        expect(j[k] == before[k], "%s changed by a patch of title: %r -> %r" % (k, before[k], j[k]), r)
    expect(j["version"] == before["version"] + 1, "version did not grow by one", r)
    new = r.header("etag")
    expect(new and new != etag, "no new ETag", r)
    g2 = get_item("svenljunga", nid)
    expect(g2.header("etag") == new and expect_json(g2, 200) == j, "GET after PATCH differs", g2)
    state["old_etag"] = etag


def patch_invalid_case(patch, field):
    def fn():
        nid = state["item"]
        before = expect_json(get_item("svenljunga", nid), 200)
        r = request("PATCH", item("svenljunga", nid), body=patch, token=tok("svenljunga", "editor"))
        expect_field_error(r, field)
        after = expect_json(get_item("svenljunga", nid), 200)
        expect(after == before, "a 422 patch changed the item")
    return fn


def t_unpublish():
    nid = state["item"]
    r = request("PATCH", item("svenljunga", nid), body={"status": "draft"},
                token=tok("svenljunga", "editor"))
    j = expect_json(r, 200)
    expect(j["status"] == "draft" and j["published_at"] == "2024-09-09T08:00:00Z",
           "unpublishing keeps published_at: %r" % j["published_at"], r)
    expect_problem(get_item("svenljunga", nid), 404)
    r = request("PATCH", item("svenljunga", nid), body={"status": "published"},
                token=tok("svenljunga", "editor"))
    j = expect_json(r, 200)
    expect(j["published_at"] == "2024-09-09T08:00:00Z", "republishing changed published_at", r)


def t_draft_no_304():
    # the draft's ETag must not answer 304 to someone who may not see it
    nid = state["draft"]
    g = get_item("svenljunga", nid, token=tok("svenljunga", "reader"))
    expect_json(g, 200)
    expect_problem(get_item("svenljunga", nid, headers={"If-None-Match": g.header("etag")}), 404)


def t_delete_forgets_links():
    nid = state["linked"]
    rehna = partnership_id("svenljunga", "Rehna")
    expect_status(request("DELETE", item("svenljunga", nid), token=tok("svenljunga", "editor")), 204)
    pj = expect_json(request("GET", item("svenljunga", rehna, "partnerships"),
                             token=tok("svenljunga", "reader")), 200)
    expect(nid not in [n.get("id") for n in (pj.get("linked") or {}).get("news", [])],
           "Rehna still shows the deleted news item")


def t_openapi():
    j = expect_json(request("GET", API + "/openapi.json"), 200)
    paths = j.get("paths") or {}
    for p in ("/api/v1/{municipality}/news", "/api/v1/{municipality}/news/{id}"):
        expect(p in paths, "openapi.json lacks %s" % p)
    schemas = (j.get("components") or {}).get("schemas") or {}
    expect("NewsItem" in schemas and sorted(schemas["NewsItem"]["required"]) == sorted(MEMBERS),
           "NewsItem does not list every member")


def t_cleanup():
    left = []
    tk = tok("*", "admin")
    for slug, nid, module in reversed(created):
        r = request("DELETE", item(slug, nid, module), token=tk)
        if r.status not in (204, 404):
            left.append((slug, nid, module, r.status))
    expect(not left, "could not delete %r" % left)
    for slug in ("svenljunga", "herrljunga", "lerum"):
        body, r = list_all(slug, token=tk)
        rest = [s for s in slugs(body["items"]) if str(s).startswith(TAG)]
        expect(not rest, "%s still has test items %r" % (slug, rest), r)


# ---------------------------------------------------------------------------

def main():
    if t.check("borlange lists the demo article about the week-37 visit, related to its partnerships, "
               "the visit and the autism project",
               t_demo_article):
        t.check("Larvik shows the demo article in linked.news (title, date)", t_demo_linked)
        t.check("the demo visit and autism project show the article in linked.news",
                t_demo_linked_visit_project)
        t.check("slug filter and GET item give the demo article", t_demo_by_slug)
        t.check("q=chisinau finds the demo article", q_case("borlange", "chisinau", True))
        t.check("q=Chișinău (diacritics) finds it too", q_case("borlange", "Chișinău", True))
        t.check("q=CHIȘINĂU (case) finds it", q_case("borlange", "CHIȘINĂU", True))
        t.check("q=borlange finds Borlänge", q_case("borlange", "borlange", True))
        t.check("q with two words (larvik poesipark) finds it", q_case("borlange", "larvik poesipark", True))
        t.check("q=trevligt folk finds it (body)", q_case("borlange", "trevligt folk", True))
        t.check("q=nowhere-at-all finds nothing", q_case("borlange", "nowhere-at-all", False))
        t.check("q with area=culture and lang=sv", q_case("borlange", "poesipark", True, area="culture", lang="sv"))
        t.check("q with area=sport excludes it", q_case("borlange", "poesipark", False, area="sport"))
        t.check("since=2000 includes it, lang=da excludes it",
                lambda: (q_case("borlange", "larvik", True, since="2000")(),
                         q_case("borlange", "larvik", False, lang="da")()))
    t.check("q with SQL wildcards and quotes answers 200 and matches nothing", t_q_sql_chars)
    t.check("lerum, herrljunga, lejre and svenljunga have no demo news", t_demo_only_borlange)

    if t.check("POST creates a draft by default (status draft, published_at null, body_html)",
               t_draft_create):
        t.check("a draft is 404 and unlisted without a token", t_draft_hidden_anonymous)
        t.check("a draft is 404 and unlisted with tokens of another municipality (reader, admin)",
                t_draft_hidden_other_municipality)
        t.check("a draft is not shown with an unknown token", t_draft_hidden_bad_token)
        t.check("a draft is visible and listed with reader, editor and * reader tokens",
                t_draft_visible_reader)
        t.check("a draft's ETag gives no 304 without a token", t_draft_no_304)
        t.check("a draft's link is shown on the partnership only to readers", t_draft_link_not_public)
        t.check("publishing a draft without published_at sets it to now; then public",
                t_publish_sets_date)
    t.check("POST published sets published_at; offsets and fractions are normalised to UTC",
            t_create_published)

    t.check("slug made of the title (folded to a-z), -2 and -3 when taken", t_slug_derived)
    t.check("slug of a long title is cut at a word to 100 bytes", t_slug_long_title)
    t.check("a title without Latin letters and no slug is 422 naming slug", t_slug_no_letters)
    t.check("duplicate slug is 409 naming slug (POST and PATCH), other municipality fine",
            t_slug_duplicate)
    for v in ("Bad Slug", "-lead", "trail-", "a_b", "åäö", "x" * 101, 42, ""):
        t.check("422 slug %r" % (v if not isinstance(v, str) or len(v) < 20 else v[:10] + "..."),
                bad_slug_case(v))

    for md, want in MD_CASES:
        t.check("Markdown %r renders safely" % md[:50], md_case(md, want))
    t.check("Markdown keeps emphasis, http(s)/mailto/tel/relative links, images, escapes text", t_md_kept)
    t.check("no body: body_html null; a patched body renders", t_md_null_body)

    if t.check("create herrljunga items for filters (langs, dates, areas, drafts)", t_filter_setup):
        t.check("anonymous list: newest published first, no drafts", t_order_anonymous)
        t.check("reader list: undated drafts first, then by published_at, ties newest id first",
                t_order_reader)
        t.check("filter area=culture", filter_case({"area": "culture"}, ["f-old", "f-mid"]))
        t.check("filter area=culture with a reader token includes the draft",
                filter_case({"area": "culture"}, ["f-old", "f-mid", "f-draft"],
                            token=tok("herrljunga", "reader")))
        t.check("filter lang=sv also finds sv-FI", filter_case({"lang": "sv"}, ["f-old", "f-fi", "f-new"]))
        t.check("filter lang=en", filter_case({"lang": "en"}, ["f-mid"]))
        t.check("filter lang=sv-fi (case-insensitive)", filter_case({"lang": "sv-fi"}, ["f-fi"]))
        t.check("filter since=2023 (a year)", filter_case({"since": "2023"}, ["f-mid", "f-fi", "f-new"]))
        t.check("filter since=2023-06-15T12:00:00Z is inclusive",
                filter_case({"since": "2023-06-15T12:00:00Z"}, ["f-mid", "f-fi", "f-new"]))
        t.check("filter since=2023-06-15T12:00:01Z",
                filter_case({"since": "2023-06-15T12:00:01Z"}, ["f-new"]))
        t.check("filter since with an offset (14:00+02:00 = 12:00Z)",
                filter_case({"since": "2023-06-15T14:00:00+02:00"}, ["f-mid", "f-fi", "f-new"]))
        t.check("filter since=2023-07 with a reader token (undated drafts have no date)",
                filter_case({"since": "2023-07"}, ["f-new", "f-draft-dated"],
                            token=tok("herrljunga", "reader")))
        t.check("filter status=published with a reader token",
                filter_case({"status": "published"}, ["f-old", "f-mid", "f-fi", "f-new"],
                            token=tok("herrljunga", "reader")))
        t.check("filters combine (lang=sv, since=2021, area=culture): none",
                filter_case({"lang": "sv", "since": "2021", "area": "culture"}, []))
        t.check("filter slug", filter_case({"slug": "%s-f-mid" % TAG}, ["f-mid"]))
        t.check("q finds author and lead with and without diacritics (Åsa Ødegård, Straße, Chișinău)",
                t_q_author_folding)
        t.check("q does not find drafts without a token, does with one", t_q_draft_hidden)
    for key, val in (("area", "space"), ("lang", "Swedish"), ("lang", "s"), ("since", "yesterday"),
                     ("since", "2023-02-30"), ("since", "2023-06-15T25:00:00Z"), ("status", "archived"),
                     ("slug", "Not A Slug"), ("cursor", "WyJ4IiwxXQ"), ("q", "x" * 201)):
        t.check("%s=%s is a 422 problem naming %s" % (key, val[:20], key), bad_param_case({key: val}, key))

    t.check("related partnerships are stored, shown on the partnership, patched and renamed", t_links_ok)
    t.check("a partnership of another municipality is 422 naming related.partnerships[1]",
            t_link_other_municipality)
    t.check("an unknown partnership id is 422 naming related.partnerships[0]",
            link_error_case("svenljunga", {"partnerships": [987654321]}, "related.partnerships[0]"))
    t.check("an unknown project id is 422 naming related.projects[0]",
            link_error_case("svenljunga", {"projects": [987654321]}, "related.projects[0]"))
    t.check("an unknown visit id is 422 naming related.visits[0]",
            link_error_case("svenljunga", {"visits": [987654321]}, "related.visits[0]"))
    t.check("lejre (no visits module) related.visits is 422 naming related.visits[0]",
            link_error_case("lejre", {"visits": [1]}, "related.visits[0]"))
    t.check("a related id that is not an integer is 422 naming it",
            link_error_case("svenljunga", {"partnerships": ["1"]}, "related.partnerships[0]"))
    t.check("a repeated related id is 422", link_error_case(
        "svenljunga", {"partnerships": [partnership_id("svenljunga", "Rehna")] * 2},
        "related.partnerships[1]"))
    t.check("an unknown related member is 422", link_error_case("svenljunga", {"events": []}, "related.events"))
    if "linked" in state:
        t.check("PATCH to another municipality's partnership is 422 and changes nothing",
                t_link_patch_other_municipality)
    t.check("a linked partnership cannot be deleted (409 naming the news item) until unlinked",
            t_link_target_guarded)

    if t.check("POST: 201, Location, ETag, every member", t_create_main):

        t.check("422 empty title", invalid_case(m_set(["title"], "  "), "title"))
        t.check("422 title with a line break", invalid_case(m_set(["title"], "a\nb"), "title"))
        t.check("422 title over 300 characters", invalid_case(m_set(["title"], "å" * 301), "title"))
        t.check("422 lang 'Swedish'", invalid_case(m_set(["lang"], "Swedish"), "lang"))
        t.check("422 status null", invalid_case(m_set(["status"], None), "status"))
        for v in ("2024-09-09", "2024-13-01T00:00:00Z", "2024-02-30T10:00:00Z", "2024-09-09T24:00:00Z",
                  "2024-09-09 10:00:00", "2024-09-09T10:00:00", "2024-09-09T10:00:00+2", "0999-01-01T00:00:00Z",
                  "9999-12-31T23:00:00-02:00", 20240909):
            t.check("422 published_at %r" % (v,), invalid_case(m_set(["published_at"], v), "published_at"))
        t.check("422 lead over 2000 characters", invalid_case(m_set(["lead"], "x" * 2001), "lead"))
        t.check("422 repeated area", invalid_case(m_set(["areas"], ["culture", "culture"]), "areas[1]"))
        t.check("422 image without alt (accessibility)",
                invalid_case(m_set(["image"], {"url": "https://example.se/a.jpg"}), "image.alt"))
        t.check("422 image with empty alt",
                invalid_case(m_set(["image"], {"url": "https://example.se/a.jpg", "alt": " "}), "image.alt"))
        t.check("422 image alt without media or url", invalid_case(m_set(["image"], {"alt": "x"}), "image.media"))
        t.check("422 image url javascript:",
                invalid_case(m_set(["image"], {"url": "javascript:alert(1)", "alt": "x"}), "image.url"))
        t.check("422 image url data:",
                invalid_case(m_set(["image"], {"url": "data:image/png;base64,AAAA", "alt": "x"}), "image.url"))
        t.check("422 unknown member image.foo",
                invalid_case(m_set(["image"], {"url": "https://a.se/b.jpg", "alt": "x", "foo": 1}), "image.foo"))
        t.check("no invalid body was stored", t_nothing_created)
        t.check("image: url, alt, credit; patched; alt cannot be removed; image removed with null", t_image)

        if t.check("PATCH changes one field, keeps the rest, version+1, new ETag", t_patch):
            t.check("PATCH slug null is 422 naming slug", patch_invalid_case({"slug": None}, "slug"))
            t.check("PATCH bad published_at is 422", patch_invalid_case({"published_at": "2024"},
                                                                       "published_at"))
            t.check("unpublishing keeps published_at and hides the item; republishing keeps it",
                    t_unpublish)
    if "linked" in state:
        t.check("DELETE forgets the item's links", t_delete_forgets_links)
    t.check("openapi.json describes /news and /news/{id} with NewsItem", t_openapi)

    t.check("clean up the items created by this run", t_cleanup)
    for (slug, role), tk in tokens.items():
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
