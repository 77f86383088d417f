#!/usr/bin/env python3
"""Integration tests of the projects module through nginx (stdlib only).

Run by tests/run.sh with PORTAL_URL, PORTAL_CONF, PORTALCTL, PORTAL_VAR set,
on a stack whose database holds the demo data (plugins/partnerships/demo/*.json and
plugins/projects/demo/*.json) and whose configuration is conf/demo.conf plus
`provkommun`, which enables no module.

Only what is the projects module's own: its demo data, its filters
(funder, programme, active_on) and search, its list order, its members'
constraints (budget, funders, partners, reports, dates), its links to
partnerships and from visits, and its audit entries.  The lifecycle every
module shares (create, read, list, paging, PATCH, If-Match, 404s, the
generic 422s, read-only members, 400/413/415) is test_lifecycle.py's; the
callers on every write route are test_authz_matrix.py's.

Writes go to svenljunga (scratch projects, and one scratch partnership for
the stale-link case); every item created here is deleted again at the end.
Each scratch project's title carries TAG, so `q=TAG` confines a list to
this run's items.
"""
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import (Tap, create_token, error_fields, expect, expect_field_error,  # noqa: E402
                     expect_json, expect_names_param, expect_problem, expect_status, portalctl,
                     request, token_id)

API = "/api/v1"
TAG = "itestproj%d" % os.getpid()  # one word: q=TAG finds this run's items

DEMO = ["lerum", "herrljunga", "lejre", "borlange", "svenljunga"]
BORLANGE = {
    "Kostprojekt med Chișinău": "completed",
    "Ungdoms- och demokratiprojekt med Chișinău": "completed",
    "Utvecklingsprojekt om barn och ungdomar med autism": "running",
    "Nytt och längre projekt om barn och ungdomar med autism": "planned",
}
AUTISM = "Utvecklingsprojekt om barn och ungdomar med autism"
MEMBERS = ["id", "municipality", "title", "acronym", "summary", "programme", "funders", "status",
           "start_date", "end_date", "budget", "partners", "responsible_unit", "areas", "url",
           "reports", "created_at", "updated_at", "version"]

t = Tap()
tokens = {}       # (slug, role) -> token
created = []      # (slug, module, id) to delete at the end
state = {}        # values shared between checks


def tok(slug, role):
    if (slug, role) not in tokens:
        tokens[(slug, role)] = create_token(slug, role)
    return tokens[(slug, role)]


def coll(slug, module="projects"):
    return "%s/%s/%s" % (API, slug, module)


def item(slug, pid, module="projects"):
    return "%s/%s/%s/%s" % (API, slug, module, pid)


def list_all(slug, module="projects", **query):
    query.setdefault("limit", "100")
    r = request("GET", coll(slug, module), query=query)
    body = expect_json(r, 200)
    expect(isinstance(body, dict) and isinstance(body.get("items"), list),
           "list body has no items array", r)
    expect("next" in body, "list body has no `next` member", r)
    return body, r


def titles(items):
    return [i.get("title") for i in items]


def partnership_id(slug, name):
    body, r = list_all(slug, "partnerships")
    ids = [i["id"] for i in body["items"] if (i.get("partner") or {}).get("name") == name]
    expect(len(ids) == 1, "%s: expected one partnership named %r, found %d" % (slug, name, len(ids)),
           r)
    return ids[0]


def project_id(slug, title):
    body, r = list_all(slug)
    ids = [i["id"] for i in body["items"] if i.get("title") == title]
    expect(len(ids) == 1, "%s: expected one project titled %r, found %d" % (slug, title, len(ids)),
           r)
    return ids[0]


def new_body(title, **extra):
    b = {"title": "%s %s" % (title, TAG), "status": "running"}
    b.update(extra)
    return b


def create(slug, body, token=None, module="projects"):
    r = request("POST", coll(slug, module), body=body, token=token or tok(slug, "editor"))
    j = expect_json(r, 201)
    expect(isinstance(j, dict) and "id" in j, "created item has no id", r)
    created.append((slug, module, j["id"]))
    return j, r


def get_item(slug, pid, **kw):
    return request("GET", item(slug, pid), **kw)


# ---------------------------------------------------------------------------
# demo data

def t_municipality_modules():
    r = request("GET", API + "/municipalities")
    j = expect_json(r, 200)
    by = {m.get("slug"): m for m in j.get("items", []) if isinstance(m, dict)}
    for s in DEMO:
        expect("projects" in (by.get(s, {}).get("modules") or []),
               "%s does not enable projects: %r" % (s, by.get(s)), r)
    expect("projects" not in (by.get("provkommun", {}).get("modules") or []),
           "provkommun enables projects", r)


def t_borlange_demo():
    body, r = list_all("borlange")
    got = {i["title"]: i["status"] for i in body["items"]}
    expect(got == BORLANGE, "borlange projects are %r" % got, r)
    expect(body["next"] is None, "next should be null when everything fits", r)
    for it in body["items"]:
        missing = [k for k in MEMBERS if k not in it]
        expect(not missing, "list item %r lacks %r" % (it.get("title"), missing), r)
        expect("linked" not in it, "list items carry no `linked`", r)
        expect(set(it["budget"]) == {"total", "grant", "currency"},
               "budget members %r" % sorted(it["budget"]), r)
        for p in it["partners"]:
            expect(set(p) == {"name", "country", "role", "partnership_id"},
                   "partner members %r" % sorted(p), r)


def t_other_demo_empty():
    for slug in ("lerum", "herrljunga", "lejre", "svenljunga"):
        body, r = list_all(slug)
        got = [n for n in titles(body["items"]) if TAG not in str(n)]
        expect(got == [], "%s has demo projects %r; the pages describe none" % (slug, got), r)


def t_autism_project():
    pid = project_id("borlange", AUTISM)
    state["autism"] = pid
    chisinau = partnership_id("borlange", "Chișinău")
    state["chisinau"] = chisinau
    r = get_item("borlange", pid)
    j = expect_json(r, 200)
    expect(r.header("etag"), "no ETag header", r)
    expect({(f["name"], f["kind"]) for f in j["funders"]} == {("Sida", "sida"), ("ICLD", "icld")},
           "funders %r" % j["funders"], r)
    expect(len(j["partners"]) == 1 and j["partners"][0]["partnership_id"] == chisinau
           and j["partners"][0]["country"] == "MD",
           "partners %r (Chișinău is partnership %r)" % (j["partners"], chisinau), r)
    expect(j["start_date"] is None and j["end_date"] is None and j["budget"]["total"] is None,
           "the page gives no dates or sums, yet the demo has some", r)
    expect(isinstance(j.get("linked"), dict), "GET item has no `linked` object", r)


def t_autism_linked_visits():
    # demo/visits may link a visit to the project (visits.project_id): then
    # `linked.visits` lists it and each listed visit exists
    pid = state.get("autism") or project_id("borlange", AUTISM)
    r = get_item("borlange", pid)
    j = expect_json(r, 200)
    visits = j["linked"].get("visits")
    if visits is None:
        t.diag("no visit links to the project (nothing in plugins/visits/demo/ does)")
        return
    expect(isinstance(visits, list) and visits, "linked.visits %r" % visits, r)
    for v in visits:
        expect(set(v) == {"id", "title", "date"} and isinstance(v["id"], int) and v["title"],
               "linked visit %r" % v, r)
        expect_json(request("GET", item("borlange", v["id"], "visits")), 200)


def t_chisinau_lists_projects():
    chisinau = state.get("chisinau") or partnership_id("borlange", "Chișinău")
    r = request("GET", item("borlange", chisinau, "partnerships"))
    j = expect_json(r, 200)
    if "linked" not in j:
        t.diag("SKIP: the partnerships plugin does not show `linked` yet")
        return
    got = {p.get("title") for p in (j["linked"].get("projects") or [])}
    expect(got == set(BORLANGE), "Chișinău's linked projects are %r" % sorted(got), r)


# ---------------------------------------------------------------------------
# filters and q on the demo data

def filter_case(slug, query, expected, tagged=False):
    def fn():
        q = dict(query)
        if tagged:
            q["q"] = (q.get("q", "") + " " + TAG).strip()
        body, r = list_all(slug, **q)
        got = titles(body["items"])
        if tagged:
            got = [g[:-len(TAG) - 1] for g in got]
        expect(sorted(got) == sorted(expected),
               "GET %s?%r gave %r, expected %r" % (coll(slug), q, got, sorted(expected)), r)
    return fn


def bad_param_case(query, name):
    def fn():
        expect_names_param(request("GET", coll("borlange"), query=query), name)
    return fn


def t_q_sql_chars():
    for q in ("%", "_", "'", "\"", "\\", "' OR 1=1 --", "!"):
        r = request("GET", coll("borlange"), query={"q": q})
        j = expect_json(r, 200)
        if q in ("%", "_", "' OR 1=1 --", "!"):
            expect(len(j["items"]) == 0, "q=%r matched %r (wildcards not escaped?)"
                   % (q, titles(j["items"])), r)


# ---------------------------------------------------------------------------
# scratch projects with dates (svenljunga), active_on and order

DATED = {
    "A": {"start_date": "2023", "end_date": "2024-06"},
    "B": {"start_date": "2024-03-15", "end_date": "2024-03-20"},
    "C": {"start_date": "2024-07"},
    "D": {"end_date": "2024"},
    "E": {"start_date": "2022-05-10", "end_date": "2022"},
}


def t_dated_setup():
    for name, dates in sorted(DATED.items()):
        j, _ = create("svenljunga", new_body("dated-" + name, **dates))
        state["dated-" + name] = j["id"]


def active_case(day, names):
    return filter_case("svenljunga", {"active_on": day}, ["dated-" + n for n in names], tagged=True)


def t_order():
    body, r = list_all("svenljunga", q=TAG + " dated")
    got = [ti.split(" ")[0] for ti in titles(body["items"])]
    want = ["dated-C", "dated-B", "dated-A", "dated-E", "dated-D"]
    expect(got == want, "order %r, expected start_date descending, undated last: %r"
           % (got, want), r)


def walk(slug, limit, **query):
    seen, pages, cursor = [], 0, None
    while True:
        q = dict(query, limit=str(limit))
        if cursor is not None:
            q["cursor"] = cursor
        r = request("GET", coll(slug), query=q)
        body = expect_json(r, 200)
        items = body.get("items")
        expect(len(items) <= limit, "page of %d items for limit=%d" % (len(items), limit), r)
        pages += 1
        expect(pages <= 60, "more than 60 pages: the cursor does not advance", r)
        seen += [i["id"] for i in items]
        cursor = body.get("next")
        if cursor is None:
            return seen, pages, r
        expect(isinstance(cursor, str) and cursor, "next is neither null nor a string", r)
        expect(len(items) > 0, "empty page with a next cursor", r)


def pagination_case(limit, **query):
    def fn():
        full, r = list_all("svenljunga", **query)
        want = [i["id"] for i in full["items"]]
        got, pages, r2 = walk("svenljunga", limit, **query)
        expect(got == want, "pages gave %r, the full list %r (same order expected)" % (got, want),
               r2)
        expect(pages >= (len(want) + limit - 1) // limit,
               "%d pages for %d items at limit %d" % (pages, len(want), limit), r2)
    return fn


def t_pagination_borlange():
    # four undated demo projects: the keyset runs on (start "", id)
    full, r = list_all("borlange")
    want = [i["id"] for i in full["items"]]
    expect(want == sorted(want, reverse=True), "undated items not by id descending: %r" % want, r)
    got, _, r2 = walk("borlange", 1)
    expect(got == want, "pages gave %r, the full list %r" % (got, want), r2)


# ---------------------------------------------------------------------------
# q over every searched member (accents and case do not matter)

def t_search_setup():
    j, _ = create("svenljunga", new_body(
        "search", acronym="NORDKØGE", programme="Interreg Öresund-Kattegat-Skagerrak",
        summary={"da": "Et samarbejde om klimatilpasning i Vestsjælland"},
        funders=[{"name": "Nordiska ministerrådet", "kind": "nordic"},
                 {"name": "Europeiska regionala utvecklingsfonden", "kind": "eu"}],
        partners=[{"name": "Køge Kommune", "country": "DK", "role": "lead"},
                  {"name": "Straßenbauamt Rehna", "country": "DE", "role": "associated"}],
        responsible_unit="Samhällsbyggnadsförvaltningen",
        areas=["climate", "environment"]))
    state["search"] = j["id"]


def search_case(q, found=True):
    def fn():
        body, r = list_all("svenljunga", q="%s %s" % (q, TAG))
        got = [i["id"] for i in body["items"]]
        if found:
            expect(state["search"] in got, "q=%r did not find the project (got %r)" % (q, got), r)
        else:
            expect(state["search"] not in got, "q=%r found the project" % q, r)
    return fn


def programme_case(value, found):
    def fn():
        body, r = list_all("svenljunga", programme=value, q=TAG)
        got = [i["id"] for i in body["items"]]
        expect((state["search"] in got) == found,
               "programme=%r %s the project (got %r)" % (value, "missed" if found else "found", got),
               r)
    return fn


# ---------------------------------------------------------------------------
# single items, 404s

# ---------------------------------------------------------------------------
# create, auth

FULL = {
    "acronym": "FULL",
    "summary": {"sv": "Ett fullständigt provprojekt.", "en": "A complete test project."},
    "programme": "Erasmus+",
    "funders": [{"name": "Europeiska kommissionen", "kind": "eu"},
                {"name": "Svenska institutet", "kind": "si"}],
    "status": "granted",
    "start_date": "2024-09",
    "end_date": "2026-08-31",
    "budget": {"total": 1250000.5, "grant": 1000000, "currency": "SEK"},
    "partners": [{"name": "Tamsalu vald", "country": "EE", "role": "lead"},
                 {"name": "Rehna"}],
    "responsible_unit": "Kanslienheten",
    "areas": ["education", "youth"],
    "url": "https://example.org/full",
    "reports": [{"period": "2024-H2", "submitted_on": "2025-01-31", "summary": "Första rapporten.",
                 "document_url": "https://example.org/full/2024-h2.pdf"},
                {"period": "2025-H1"}],
}


def t_create():
    body = new_body("full", **FULL)
    j, r = create("svenljunga", body)
    loc = r.header("location")
    expect(loc, "no Location header", r)
    expect(urllib.parse.urlsplit(loc).path.rstrip("/").endswith(item("svenljunga", j["id"])),
           "Location %r is not the item's URL" % loc, r)
    expect(r.header("etag"), "no ETag on 201", r)
    expect(isinstance(j.get("id"), int) and j.get("version") == 1, "id/version", r)
    expect(j.get("municipality") == "svenljunga", "municipality %r" % j.get("municipality"), r)
    expect(j.get("created_at") and j.get("updated_at"), "created_at/updated_at missing", r)
    for k in ("acronym", "summary", "programme", "funders", "status", "start_date", "end_date",
              "responsible_unit", "areas", "url"):
        expect(j.get(k) == body[k], "%s: %r, sent %r" % (k, j.get(k), body[k]), r)
    expect(j["budget"] == {"total": 1250000.5, "grant": 1000000, "currency": "SEK"},
           "budget %r" % j["budget"], r)
    expect(j["partners"] == [
        {"name": "Tamsalu vald", "country": "EE", "role": "lead", "partnership_id": None},
        {"name": "Rehna", "country": None, "role": None, "partnership_id": None}],
        "partners not completed with nulls: %r" % j["partners"], r)
    expect(j["reports"] == [
        dict(FULL["reports"][0], document=None),
        {"period": "2025-H1", "submitted_on": None, "summary": None, "document_url": None, "document": None}],
        "reports %r" % j["reports"], r)
    expect(j.get("linked") == {}, "a new project's linked is %r, expected {}" % j.get("linked"), r)
    state["item"] = j["id"]
    g = get_item("svenljunga", j["id"])
    gj = expect_json(g, 200)
    expect(gj == j, "GET after create differs from the 201 body:\n%r\n%r" % (gj, j), g)
    expect(g.header("etag") == r.header("etag"), "GET ETag %r, POST ETag %r"
           % (g.header("etag"), r.header("etag")), g)


def t_create_default_status():
    b = new_body("default-status")
    del b["status"]
    j, r = create("svenljunga", b)
    expect(j["status"] == "planned", "status defaults to %r, documented: planned" % j["status"], r)
    expect(j["funders"] == [] and j["partners"] == [] and j["reports"] == [] and j["areas"] == []
           and j["summary"] == {}, "empty members are not []/{}", r)


def t_create_nulls():
    j, r = create("svenljunga", new_body("nulls", acronym=None, budget=None, partners=None,
                                         summary=None, url=None))
    expect(j["acronym"] is None and j["budget"] == {"total": None, "grant": None, "currency": None}
           and j["partners"] == [] and j["summary"] == {}, "nulls not taken as unknown", r)


def t_create_any_status():
    for st in ("planned", "applied", "granted", "running", "completed", "rejected"):
        j, r = create("svenljunga", new_body("status-" + st, status=st))
        expect(j["status"] == st, "status %r stored as %r" % (st, j["status"]), r)


# ---------------------------------------------------------------------------
# validation

def invalid_case(mutate, field, alternatives=()):
    def fn():
        b = new_body("invalid")
        mutate(b)
        r = request("POST", coll("svenljunga"), body=b, token=tok("svenljunga", "editor"))
        if r.status == 201 and r.json and "id" in r.json:
            created.append(("svenljunga", "projects", r.json["id"]))
        expect_field_error(r, field, alternatives=alternatives)
    return fn


def m_set(**kv):
    return lambda b: b.update(kv)


def t_nothing_created():
    body, r = list_all("svenljunga", q="invalid " + TAG)
    expect(body["items"] == [], "invalid bodies were stored: %r" % titles(body["items"]), r)


# ---------------------------------------------------------------------------
# links to partnerships

def link_case(ids_fn, field):
    """POST with partners whose partnership_id come from ids_fn(): 422 naming `field`."""
    def fn():
        partners = [{"name": "P%d" % i, "partnership_id": pid} for i, pid in enumerate(ids_fn())]
        r = request("POST", coll("svenljunga"), body=new_body("invalid", partners=partners),
                    token=tok("svenljunga", "editor"))
        if r.status == 201 and r.json and "id" in r.json:
            created.append(("svenljunga", "projects", r.json["id"]))
        p = expect_field_error(r, field)
        fields = error_fields(p)
        expect(fields.count(field) == 1, "the error is named %r, not %r" % (fields, field), r)
    return fn


def t_link_setup():
    state["rehna"] = partnership_id("svenljunga", "Rehna")
    state["tamsalu"] = partnership_id("svenljunga", "Tamsalu")
    state["baldone"] = partnership_id("lerum", "Baldone")


def t_link_create():
    j, r = create("svenljunga", new_body("linked", start_date="2025-02", partners=[
        {"name": "Rehna", "country": "DE", "role": "partner", "partnership_id": state["rehna"]},
        {"name": "Rehnas skola", "country": "DE", "partnership_id": state["rehna"]},
        {"name": "Tamsalu", "country": "EE", "partnership_id": state["tamsalu"]}]))
    expect([p["partnership_id"] for p in j["partners"]] == [state["rehna"], state["rehna"],
                                                            state["tamsalu"]],
           "partnership ids not kept: %r" % j["partners"], r)
    state["linked"] = j["id"]


def partnership_linked(pid):
    """The projects a partnership lists as linked, or None when it shows no `linked`."""
    r = request("GET", item("svenljunga", pid, "partnerships"))
    j = expect_json(r, 200)
    if "linked" not in j:
        return None, r
    return j["linked"].get("projects") or [], r


def linked_case(partnership, want_title, want_date=None, present=True):
    def fn():
        got, r = partnership_linked(state[partnership])
        if got is None:
            t.diag("SKIP: the partnerships plugin does not show `linked` yet")
            return
        mine = [p for p in got if p.get("id") == state["linked"]]
        if not present:
            expect(not mine, "%s still lists the project: %r" % (partnership, got), r)
            return
        expect(len(mine) == 1, "%s lists the project %d times: %r" % (partnership, len(mine), got), r)
        expect(mine[0].get("title") == want_title and mine[0].get("date") == want_date,
               "%s lists %r, expected title %r date %r" % (partnership, mine[0], want_title,
                                                           want_date), r)
    return fn


def t_link_retitle():
    r = request("PATCH", item("svenljunga", state["linked"]),
                body={"title": "linked-renamed " + TAG, "start_date": "2025-03"},
                token=tok("svenljunga", "editor"))
    expect_json(r, 200)


def t_link_drop_one():
    r = request("PATCH", item("svenljunga", state["linked"]),
                body={"partners": [{"name": "Tamsalu", "partnership_id": state["tamsalu"]}]},
                token=tok("svenljunga", "editor"))
    j = expect_json(r, 200)
    expect(len(j["partners"]) == 1, "partners not replaced: %r" % j["partners"], r)


def t_link_patch_bad():
    pid = state["linked"]
    before = expect_json(get_item("svenljunga", pid), 200)
    for bad, field in ((state["baldone"], "partners[1].partnership_id"),
                       (987654321, "partners[1].partnership_id")):
        r = request("PATCH", item("svenljunga", pid), body={"partners": [
            {"name": "Tamsalu", "partnership_id": state["tamsalu"]},
            {"name": "X", "partnership_id": bad}]}, token=tok("svenljunga", "editor"))
        expect_field_error(r, field)
    after = expect_json(get_item("svenljunga", pid), 200)
    expect(after == before, "a PATCH answered 422 changed the item")


def t_stale_link():
    # a partnership deleted after a project linked to it: the project keeps
    # the id (a patch of other members still works), a patch that writes
    # partners with that id again is refused
    tk = tok("svenljunga", "editor")
    pj, _ = create("svenljunga", {"partner": {"name": "itest-stale-" + TAG, "country": "DE"},
                                  "kind": "cooperation"}, module="partnerships")
    j, _ = create("svenljunga", new_body("stale", partners=[
        {"name": "Stale", "partnership_id": pj["id"]}]))
    d = request("DELETE", item("svenljunga", pj["id"], "partnerships"), token=tk)
    if d.status == 409:
        # the partnerships module refuses to delete a linked partnership
        # (portal.h's advice to link targets): no stale id can arise
        expect_problem(d, 409)
        t.diag("the partnerships module refuses (409) to delete a linked partnership")
        return
    expect_status(d, 204)
    r = request("PATCH", item("svenljunga", j["id"]), body={"status": "completed"}, token=tk)
    pr = expect_json(r, 200)
    expect(pr["partners"][0]["partnership_id"] == pj["id"],
           "the stale partnership id was dropped: %r" % pr["partners"], r)
    r = request("PATCH", item("svenljunga", j["id"]), body={"partners": [
        {"name": "Stale", "partnership_id": pj["id"]}]}, token=tk)
    expect_field_error(r, "partners[0].partnership_id")


# ---------------------------------------------------------------------------
# PATCH, conditional requests, audit, DELETE

def t_patch():
    pid = state["item"]
    g = get_item("svenljunga", pid)
    before = expect_json(g, 200)
    etag = g.header("etag")
    expect(etag, "no ETag", g)
    r = request("PATCH", item("svenljunga", pid), body={"status": "running"},
                token=tok("svenljunga", "editor"), headers={"If-Match": etag})
    j = expect_json(r, 200)
    expect(j.get("status") == "running", "status not changed", r)
    for k in MEMBERS + ["linked"]:
        if k not in ("status", "version", "updated_at"):
            expect(j.get(k) == before.get(k), "%s changed by a patch of status: %r -> %r"
                   % (k, before.get(k), j.get(k)), r)
    expect(j.get("version") == before["version"] + 1,
           "version %r -> %r, expected +1" % (before.get("version"), j.get("version")), r)
    new = r.header("etag")
    expect(new and new != etag, "PATCH answered no new ETag (old %r, new %r)" % (etag, new), r)
    g2 = get_item("svenljunga", pid)
    j2 = expect_json(g2, 200)
    expect(j2 == j, "GET after PATCH differs from the PATCH answer", g2)
    expect(g2.header("etag") == new, "GET ETag %r differs from PATCH ETag %r"
           % (g2.header("etag"), new), g2)
    state["old_etag"] = etag


def t_patch_any_transition():
    # no lifecycle is enforced: editors correct mistakes
    pid = state["item"]
    for st in ("completed", "planned", "rejected", "running"):
        r = request("PATCH", item("svenljunga", pid), body={"status": st},
                    token=tok("svenljunga", "editor"))
        j = expect_json(r, 200)
        expect(j["status"] == st, "status %r not set" % st, r)


def t_patch_budget_merge():
    pid = state["item"]
    r = request("PATCH", item("svenljunga", pid), body={"budget": {"grant": 900000}},
                token=tok("svenljunga", "editor"),
                content_type="application/merge-patch+json")
    j = expect_json(r, 200)
    expect(j["budget"] == {"total": 1250000.5, "grant": 900000, "currency": "SEK"},
           "budget merge: %r" % j["budget"], r)


def t_patch_reports():
    pid = state["item"]
    reports = [{"period": "2024-H2", "submitted_on": "2025-01"},
               {"period": "2025-H1", "submitted_on": "2025-08-15", "summary": "Andra rapporten."}]
    r = request("PATCH", item("svenljunga", pid), body={"reports": reports},
                token=tok("svenljunga", "editor"))
    j = expect_json(r, 200)
    expect([x["period"] for x in j["reports"]] == ["2024-H2", "2025-H1"]
           and j["reports"][0]["summary"] is None and j["reports"][1]["submitted_on"] == "2025-08-15",
           "reports not replaced wholesale: %r" % j["reports"], r)


def t_patch_null_removes():
    pid = state["item"]
    r = request("PATCH", item("svenljunga", pid),
                body={"acronym": None, "budget": {"grant": None}, "reports": None, "url": None},
                token=tok("svenljunga", "editor"))
    j = expect_json(r, 200)
    expect(j["acronym"] is None and j["url"] is None and j["reports"] == [],
           "members not removed: %r" % {k: j[k] for k in ("acronym", "url", "reports")}, r)
    expect(j["budget"] == {"total": 1250000.5, "grant": None, "currency": "SEK"},
           "budget.grant not removed alone: %r" % j["budget"], r)
    expect(j["title"] == "full " + TAG, "title lost", r)


def patch_invalid_case(patch, field, alternatives=()):
    def fn():
        pid = state["item"]
        before = expect_json(get_item("svenljunga", pid), 200)
        r = request("PATCH", item("svenljunga", pid), body=patch, token=tok("svenljunga", "editor"))
        expect_field_error(r, field, alternatives=alternatives)
        after = expect_json(get_item("svenljunga", pid), 200)
        expect(after == before, "a PATCH answered 422 changed the item: %r -> %r" % (before, after))
    return fn


def t_audit():
    pid = state["item"]
    r = request("GET", API + "/svenljunga/audit", query={"module": "projects", "item": str(pid)},
                token=tok("svenljunga", "admin"))
    if r.status == 404:
        t.diag("SKIP: the core has no GET /api/v1/{m}/audit")
        return
    j = expect_json(r, 200)
    actions = [a.get("action") for a in j.get("items", [])]
    expect("create" in actions and "update" in actions, "audit actions %r" % actions, r)
    first = [a for a in j["items"] if a.get("action") == "create"][0]
    expect((first.get("after") or {}).get("title") == "full " + TAG and first.get("before") is None,
           "audit of the create: %r" % first, r)
    last = j["items"][0]
    expect(last.get("action") == "update" and last.get("before") and last.get("after")
           and last["after"]["version"] == last["before"]["version"] + 1,
           "audit of the last update: %r" % last, r)


def t_visit_links():
    # a visit (not public) linking to a scratch project: an editor or reader
    # sees it in `linked`, the ETag changes, and the project cannot be
    # deleted while it links (409); once the visit is gone it can
    tk = tok("svenljunga", "editor")
    pj, _ = create("svenljunga", new_body("visited"))
    pid = pj["id"]
    g1 = get_item("svenljunga", pid, token=tok("svenljunga", "reader"))
    expect_json(g1, 200)
    r = request("POST", coll("svenljunga", "visits"), token=tk,
                body={"title": "itest-visit " + TAG, "direction": "incoming",
                      "project_id": pid, "public": False})
    if r.status == 404:
        t.diag("SKIP: svenljunga has no visits module")
        return
    v = expect_json(r, 201)
    created.append(("svenljunga", "visits", v["id"]))
    g2 = get_item("svenljunga", pid, token=tok("svenljunga", "reader"))
    j2 = expect_json(g2, 200)
    expect([x.get("id") for x in j2["linked"].get("visits", [])] == [v["id"]],
           "linked.visits for a reader: %r" % j2["linked"], g2)
    expect(g2.header("etag") != g1.header("etag"),
           "the ETag %r did not change when a visit linked to the project" % g2.header("etag"), g2)
    anon = expect_json(get_item("svenljunga", pid), 200)
    expect("visits" not in anon["linked"], "a non-public visit shows to anonymous callers: %r"
           % anon["linked"])
    d = request("DELETE", item("svenljunga", pid), token=tk)
    p = expect_problem(d, 409)
    expect("visits" in p.get("detail", "") and str(v["id"]) in p.get("detail", ""),
           "409 detail does not name the visit: %r" % p.get("detail"), d)
    expect_json(get_item("svenljunga", pid), 200)
    expect_status(request("DELETE", item("svenljunga", v["id"], "visits"), token=tk), 204)
    g3 = get_item("svenljunga", pid, token=tok("svenljunga", "reader"))
    j3 = expect_json(g3, 200)
    expect(j3["linked"] == {}, "linked after the visit's deletion: %r" % j3["linked"], g3)
    expect(g3.header("etag") == g1.header("etag"), "ETag %r, before the visit %r"
           % (g3.header("etag"), g1.header("etag")), g3)
    expect_status(request("DELETE", item("svenljunga", pid), token=tk), 204)


def t_delete_linked():
    r = request("DELETE", item("svenljunga", state["linked"]), token=tok("svenljunga", "editor"))
    expect_status(r, 204)


def t_cleanup():
    left = []
    tk = tok("*", "editor")
    for slug, module, pid in reversed(created):
        r = request("DELETE", item(slug, pid, module), token=tk)
        if r.status not in (204, 404):
            left.append((slug, module, pid, r.status))
    expect(not left, "could not delete %r" % left)
    body, r = list_all("svenljunga", q=TAG)
    expect(body["items"] == [], "svenljunga still has test items %r" % titles(body["items"]), r)


# ---------------------------------------------------------------------------

def main():
    t.check("every demo municipality enables projects, provkommun does not", t_municipality_modules)
    t.check("borlange lists its four projects from the page, every member present", t_borlange_demo)
    t.check("lerum, herrljunga, lejre and svenljunga hold no demo projects", t_other_demo_empty)
    t.check("the autism project: Sida and ICLD, partner Chișinău linked, no invented dates",
            t_autism_project)
    t.check("Chișinău's partnership lists the four projects in `linked`", t_chisinau_lists_projects)
    t.check("a visit linking to the autism project appears in its `linked.visits`",
            t_autism_linked_visits)

    t.check("filter status=running", filter_case("borlange", {"status": "running"}, [AUTISM]))
    t.check("filter status=completed", filter_case(
        "borlange", {"status": "completed"},
        ["Kostprojekt med Chișinău", "Ungdoms- och demokratiprojekt med Chișinău"]))
    t.check("filter funder=sida", filter_case("borlange", {"funder": "sida"}, [AUTISM]))
    t.check("filter funder=icld", filter_case("borlange", {"funder": "icld"}, [AUTISM]))
    t.check("filter funder=eu matches nothing", filter_case("borlange", {"funder": "eu"}, []))
    t.check("filter programme, whole name in other case", filter_case(
        "borlange", {"programme": "icld:s KOMMUNALA partnerskapsprogram"}, [AUTISM]))
    t.check("filter programme, a part of the name matches nothing",
            filter_case("borlange", {"programme": "ICLD"}, []))
    t.check("filter area=youth", filter_case(
        "borlange", {"area": "youth"}, ["Ungdoms- och demokratiprojekt med Chișinău"]))
    t.check("filters combine (area=education&status=planned)", filter_case(
        "borlange", {"area": "education", "status": "planned"},
        ["Nytt och längre projekt om barn och ungdomar med autism"]))
    t.check("q=chisinau (no diacritics) finds the four Chișinău projects",
            filter_case("borlange", {"q": "chisinau"}, list(BORLANGE)))
    t.check("q=Chișinău (with diacritics) finds the same",
            filter_case("borlange", {"q": "Chișinău"}, list(BORLANGE)))
    t.check("q=KOSTPROJEKT finds the food project (case-insensitive)",
            filter_case("borlange", {"q": "KOSTPROJEKT"}, ["Kostprojekt med Chișinău"]))
    t.check("q with two words: both must occur",
            filter_case("borlange", {"q": "autism ljungbergsgymnasiet"}, [AUTISM]))
    t.check("q=nowhere-at-all finds nothing", filter_case("borlange", {"q": "nowhere-at-all"}, []))
    t.check("q with SQL wildcards and quotes answers 200 and matches nothing", t_q_sql_chars)
    for key, val in (("status", "finished"), ("funder", "sweden"), ("area", "health"),
                     ("programme", "x" * 201), ("programme", ""), ("active_on", "2024"),
                     ("active_on", "2024-02-30"), ("active_on", "2024-13-01"),
                     ("active_on", "yesterday"), ("q", "x" * 201)):
        t.check("%s=%s is a 422 problem naming %s" % (key, val[:20], key),
                bad_param_case({key: val}, key))
    t.check("undated demo projects page by id descending (limit=1)", t_pagination_borlange)

    if t.check("create five dated scratch projects in svenljunga", t_dated_setup):
        t.check("list order: start_date descending, a year after its months, undated last", t_order)
        t.check("active_on=2023-01-01: the year 2023 covers it", active_case("2023-01-01", "A"))
        t.check("active_on=2024-06-30: end_date 2024-06 covers all of June",
                active_case("2024-06-30", "A"))
        t.check("active_on=2024-07-01: open end", active_case("2024-07-01", "C"))
        t.check("active_on=2024-03-15: first day of a whole-date period",
                active_case("2024-03-15", "AB"))
        t.check("active_on=2024-03-20: last day of a whole-date period",
                active_case("2024-03-20", "AB"))
        t.check("active_on=2024-03-21: the day after", active_case("2024-03-21", "A"))
        t.check("active_on=2030-01-01: only the open-ended one", active_case("2030-01-01", "C"))
        t.check("active_on=2022-12-31: end_date 2022 covers the year's last day",
                active_case("2022-12-31", "E"))
        t.check("active_on=2022-05-09: before every start", active_case("2022-05-09", ""))
        t.check("a project without start_date never matches active_on",
                active_case("2024-01-01", "A"))
        t.check("active_on combines with status", filter_case(
            "svenljunga", {"active_on": "2024-03-16", "status": "completed"}, [], tagged=True))
        t.check("pagination limit=1 walks the dated projects in list order",
                pagination_case(1, q=TAG + " dated"))
        t.check("pagination limit=2 keeps filters (active_on) across pages",
                pagination_case(2, q=TAG + " dated", active_on="2024-03-18"))

    if t.check("create a scratch project with every searched member", t_search_setup):
        for q, what in (("ministerradet", "a funder's name without diacritics"),
                        ("MINISTERRÅDET", "a funder's name in upper case"),
                        ("koge", "a partner's name (Køge)"),
                        ("strasse", "a partner's name (Straße)"),
                        ("samhallsbyggnadsforvaltningen", "responsible_unit"),
                        ("nordkoge", "the acronym"),
                        ("oresund kattegat", "the programme, two words"),
                        ("vestsjaelland", "the summary (æ as ae)"),
                        ("utvecklingsfonden europeiska", "two words in any order")):
            t.check("q=%s finds %s" % (q, what), search_case(q))
        t.check("q=ukmerge does not find it", search_case("ukmerge", found=False))
        t.check("programme=interreg öresund-kattegat-skagerrak (case-insensitive) finds it",
                programme_case("interreg öresund-kattegat-skagerrak", True))
        t.check("programme=Interreg Oresund-Kattegat-Skagerrak (accent differs) does not",
                programme_case("Interreg Oresund-Kattegat-Skagerrak", False))
        t.check("filter funder=nordic finds it", filter_case(
            "svenljunga", {"funder": "nordic"}, ["search"], tagged=True))


    if t.check("POST creates: 201, Location, ETag, every member, linked {}", t_create):
        t.check("status defaults to planned; empty members are [] / {}", t_create_default_status)
        t.check("null members on create mean unknown", t_create_nulls)
        t.check("any status may be set on create", t_create_any_status)

        for desc, mutate, field in (
                ("empty title", m_set(title="  "), "title"),
                ("title over 300 characters", m_set(title="x" * 301), "title"),
                ("title with a line break", m_set(title="a\nb"), "title"),
                ("status null", m_set(status=None), "status"),
                ("acronym over 50 characters", m_set(acronym="A" * 51), "acronym"),
                ("summary with a bad language tag", m_set(summary={"Swedish": "x"}), "summary.Swedish"),
                ("funder without name", m_set(funders=[{"kind": "sida"}]), "funders[0].name"),
                ("funder with a bad kind", m_set(funders=[{"name": "Sida", "kind": "sida"},
                                                          {"name": "X", "kind": "bank"}]),
                 "funders[1].kind"),
                ("funder repeated", m_set(funders=[{"name": "Sida", "kind": "sida"},
                                                   {"name": "Sida", "kind": "sida"}]),
                 "funders[1]"),
                ("funder with an unknown member", m_set(funders=[{"name": "Sida", "kind": "sida",
                                                                  "amount": 5}]),
                 "funders[0].amount"),
                ("start_date 2024-13", m_set(start_date="2024-13"), "start_date"),
                ("start_date 2023-02-29", m_set(start_date="2023-02-29"), "start_date"),
                ("end_date 31/12/2024", m_set(end_date="31/12/2024"), "end_date"),
                ("end_date before start_date", m_set(start_date="2024-05", end_date="2024-04-30"),
                 "end_date"),
                ("budget.total negative", m_set(budget={"total": -5, "currency": "SEK"}),
                 "budget.total"),
                ("budget.grant negative", m_set(budget={"grant": -0.5, "currency": "SEK"}),
                 "budget.grant"),
                ("budget.total a string", m_set(budget={"total": "1000", "currency": "SEK"}),
                 "budget.total"),
                ("budget.grant above budget.total",
                 m_set(budget={"total": 100, "grant": 101, "currency": "EUR"}), "budget.grant"),
                ("an amount without currency", m_set(budget={"total": 100}), "budget.currency"),
                ("a grant with currency null", m_set(budget={"grant": 100, "currency": None}),
                 "budget.currency"),
                ("currency not ISO 4217", m_set(budget={"total": 1, "currency": "KR"}),
                 "budget.currency"),
                ("currency in lower case", m_set(budget={"total": 1, "currency": "sek"}),
                 "budget.currency"),
                ("budget with an unknown member", m_set(budget={"own": 1}), "budget.own"),
                ("partner without name", m_set(partners=[{"country": "DE"}]), "partners[0].name"),
                ("partner country XX", m_set(partners=[{"name": "A", "country": "XX"}]),
                 "partners[0].country"),
                ("partner role bad", m_set(partners=[{"name": "A", "role": "sponsor"}]),
                 "partners[0].role"),
                ("two lead partners", m_set(partners=[{"name": "A", "role": "lead"},
                                                      {"name": "B", "role": "partner"},
                                                      {"name": "C", "role": "lead"}]),
                 "partners[2].role"),
                ("partnership_id a string", m_set(partners=[{"name": "A", "partnership_id": "7"}]),
                 "partners[0].partnership_id"),
                ("partnership_id 0", m_set(partners=[{"name": "A", "partnership_id": 0}]),
                 "partners[0].partnership_id"),
                ("responsible_unit empty", m_set(responsible_unit=""), "responsible_unit"),
                ("repeated area", m_set(areas=["youth", "youth"]), "areas[1]"),
                ("url javascript:", m_set(url="javascript:alert(1)"), "url"),
                ("report period 2024-H3", m_set(reports=[{"period": "2024-H3"}]),
                 "reports[0].period"),
                ("report period 2024H1", m_set(reports=[{"period": "2024H1"}]), "reports[0].period"),
                ("report period 2024-h1", m_set(reports=[{"period": "2024-h1"}]),
                 "reports[0].period"),
                ("report without period", m_set(reports=[{"summary": "x"}]), "reports[0].period"),
                ("report period repeated", m_set(reports=[{"period": "2024-H1"},
                                                          {"period": "2024-H2"},
                                                          {"period": "2024-H1"}]),
                 "reports[2].period"),
                ("report submitted before its half-year",
                 m_set(reports=[{"period": "2024-H2", "submitted_on": "2024-06-30"}]),
                 "reports[0].submitted_on"),
                ("report submitted_on not a date",
                 m_set(reports=[{"period": "2024-H2", "submitted_on": "soon"}]),
                 "reports[0].submitted_on"),
                ("report document_url ftp:",
                 m_set(reports=[{"period": "2024-H2", "document_url": "ftp://x/y"}]),
                 "reports[0].document_url")):
            t.check("422 %s names %s" % (desc, field), invalid_case(mutate, field))
        t.check("no invalid body was stored", t_nothing_created)

        if t.check("find the partnerships to link to (svenljunga Rehna, Tamsalu; lerum Baldone)",
                   t_link_setup):
            t.check("422 partnership of another municipality names partners[2].partnership_id",
                    link_case(lambda: [state["rehna"], state["tamsalu"], state["baldone"]],
                              "partners[2].partnership_id"))
            t.check("422 unknown partnership id names partners[0].partnership_id",
                    link_case(lambda: [987654321], "partners[0].partnership_id"))
            if t.check("POST with partnership ids of the municipality links them", t_link_create):
                t.check("Rehna lists the project once (two partners name it)",
                        linked_case("rehna", "linked " + TAG, "2025-02"))
                t.check("Tamsalu lists the project", linked_case("tamsalu", "linked " + TAG,
                                                                 "2025-02"))
                t.check("PATCH of title and start_date", t_link_retitle)
                t.check("Rehna lists the new title and date",
                        linked_case("rehna", "linked-renamed " + TAG, "2025-03"))
                t.check("PATCH partners without Rehna", t_link_drop_one)
                t.check("Rehna no longer lists the project", linked_case("rehna", None, present=False))
                t.check("Tamsalu still lists it", linked_case("tamsalu", "linked-renamed " + TAG,
                                                              "2025-03"))
                t.check("PATCH partners with another municipality's or an unknown partnership: "
                        "422, unchanged", t_link_patch_bad)
                t.check("DELETE the linked project", t_delete_linked)
                t.check("Tamsalu no longer lists the deleted project",
                        linked_case("tamsalu", None, present=False))
            t.check("a deleted partnership's id stays; writing it again is a 422", t_stale_link)
        t.check("a visit links: reader sees it, ETag changes, DELETE is 409 until it is gone",
                t_visit_links)

        if t.check("PATCH changes one field, keeps the rest, version+1, new ETag", t_patch):
            t.check("PATCH may move status in any direction (no lifecycle enforced)",
                    t_patch_any_transition)
            t.check("PATCH merges budget member by member (merge-patch+json)", t_patch_budget_merge)
            t.check("PATCH replaces reports wholesale", t_patch_reports)
            t.check("PATCH with null removes members (also inside budget)", t_patch_null_removes)
            for patch, field in (({"status": None}, "status"),
                                 ({"end_date": "2024-08"}, "end_date"),
                                 ({"budget": {"currency": None}}, "budget.currency"),
                                 ({"budget": {"grant": 2000000}}, "budget.grant"),
                                 ({"budget": {"foo": None}}, "budget.foo"),
                                 ({"reports": [{"period": "2025-H1"}, {"period": "2025-H1"}]},
                                  "reports[1].period")):
                t.check("PATCH %s is 422 naming %s, nothing changed" % (patch, field),
                        patch_invalid_case(patch, field))
            t.check("the audit log holds the create and the updates, before and after", t_audit)

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
