#!/usr/bin/env python3
"""Integration tests of the visits module through nginx (stdlib only).

Run by tests/run.sh with PORTAL_URL, PORTAL_CONF, PORTALCTL, PORTAL_VAR set,
on a stack whose database holds the demo data (plugins/partnerships/demo/*.json,
plugins/visits/demo/*.json) and whose configuration is conf/demo.conf plus
`provkommun` (no modules).  Lejre has not enabled visits.

Only what is the visits module's own: its demo data, its search over the
programme and delegation, its order, the period filters (from, to) and the
partnership filter, non-public visits, its members' rules (period,
programme days, cost, delegation), links to partnerships and projects,
cancelling.  The lifecycle every module shares (create, read, list, paging,
PATCH, If-Match, 404s, the generic 422s, read-only members, 400/413/415) is
test_lifecycle.py's; the callers on every write route are
test_authz_matrix.py's.

Scratch visits go to herrljunga (which has no demo visits) and link to its
demo partnerships Ukmergė and Kamianets-Podilskyi; every item created here
is deleted again at the end.
"""
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import (Tap, create_token, error_fields, expect, expect_field_error,  # noqa: E402
                     expect_json, expect_names_param, expect_problem, expect_status, portalctl,
                     request, token_id)

API = "/api/v1"
TAG = "itest-%d" % os.getpid()  # marks the items this run creates
SCRATCH = "herrljunga"

t = Tap()
tokens = {}       # (slug, role) -> token
created = []      # (slug, id) to delete at the end
state = {}        # values shared between checks


def tok(slug, role):
    if (slug, role) not in tokens:
        tokens[(slug, role)] = create_token(slug, role)
    return tokens[(slug, role)]


def coll(slug, module="visits"):
    return "%s/%s/%s" % (API, slug, module)


def item(slug, vid, module="visits"):
    return "%s/%s/%s/%s" % (API, slug, module, vid)


def list_all(slug, token=None, **query):
    query.setdefault("limit", "100")
    r = request("GET", coll(slug), query=query, token=token)
    body = expect_json(r, 200)
    expect(isinstance(body, dict) and isinstance(body.get("items"), list),
           "list body has no items array", r)
    expect("next" in body, "list body has no `next` member", r)
    return body, r


def titles(items):
    return [i.get("title") for i in items]


def partnership_id(slug, name):
    r = request("GET", coll(slug, "partnerships"), query={"limit": "100"})
    body = expect_json(r, 200)
    ids = [i["id"] for i in body["items"] if (i.get("partner") or {}).get("name") == name]
    expect(len(ids) == 1, "%s: expected one partnership %r, found %d" % (slug, name, len(ids)), r)
    return ids[0]


def new_body(name, **extra):
    b = {"title": "%s-%s" % (TAG, name), "direction": "incoming"}
    b.update(extra)
    return b


def create(slug, body, token=None):
    r = request("POST", coll(slug), body=body, token=token or tok(slug, "editor"))
    j = expect_json(r, 201)
    expect(isinstance(j, dict) and "id" in j, "created item has no id", r)
    created.append((slug, j["id"]))
    return j, r


def get_item(slug, vid, **kw):
    return request("GET", item(slug, vid), **kw)


def scratch_titles(**query):
    """Titles (without the tag) of this run's scratch visits, in list order."""
    token = query.pop("token", None)
    query.setdefault("q", TAG)
    body, r = list_all(SCRATCH, token=token, **query)
    return [x[len(TAG) + 1:] for x in titles(body["items"])], r


# ---------------------------------------------------------------------------
# demo data

def t_borlange_demo():
    body, r = list_all("borlange")
    demo = [i for i in body["items"] if not str(i.get("title")).startswith("itest-")]
    expect(len(demo) == 1, "borlange should hold one demo visit, has %r" % titles(demo), r)
    v = demo[0]
    state["borlange_visit"] = v["id"]
    expect(v["title"] == "Besök från Norge, Danmark och Moldavien", "title %r" % v["title"], r)
    expect(v["direction"] == "incoming", "direction %r" % v["direction"], r)
    want = {partnership_id("borlange", n) for n in ("Frederikshavn", "Larvik", "Chișinău")}
    expect(set(v["partnership_ids"]) == want and len(v["partnership_ids"]) == 3,
           "partnership_ids %r, expected Frederikshavn, Larvik, Chișinău %r"
           % (v["partnership_ids"], want), r)
    expect(sorted(v["delegation"]["countries"]) == ["DK", "MD", "NO"],
           "delegation countries %r" % v["delegation"]["countries"], r)
    places = [d.get("place") for d in v["programme"]]
    for p in ("Elevhälsan", "Ljungbergsgymnasiet", "Maserskolan", "Jakobsgårdsskolan",
              "Borlänge sjukhus", "Matjes Emils gård"):
        expect(p in places, "programme lacks %s: %r" % (p, places), r)
    for d in v["programme"]:
        expect(set(d) == {"date", "place", "description"}, "programme entry members %r" % d, r)
    expect("linked" not in v, "list items should not carry linked", r)
    pr = request("GET", coll("borlange", "projects"), query={"limit": "100"})
    projects = expect_json(pr, 200)["items"]
    want = [p["id"] for p in projects
            if p.get("title") == "Utvecklingsprojekt om barn och ungdomar med autism"]
    expect(len(want) == 1 and v["project_id"] == want[0],
           "project_id %r is not the autism development project %r" % (v["project_id"], want), pr)


def t_borlange_item():
    vid = state["borlange_visit"]
    r = get_item("borlange", vid)
    j = expect_json(r, 200)
    expect(r.header("etag"), "no ETag", r)
    for k in ("id", "municipality", "title", "direction", "status", "start_date", "end_date",
              "partnership_ids", "project_id", "delegation", "purpose", "programme", "host_unit",
              "cost", "outcome", "public", "created_at", "updated_at", "version", "linked"):
        expect(k in j, "item lacks %r" % k, r)
    expect(set(j["delegation"]) == {"organisations", "countries", "participants"},
           "delegation members %r" % j["delegation"], r)
    expect(isinstance(j["linked"], dict), "linked is not an object", r)
    expect(j["public"] is True and j["municipality"] == "borlange", "public/municipality", r)


def t_partnership_shows_visit():
    vid = state["borlange_visit"]
    pid = partnership_id("borlange", "Chișinău")
    r = request("GET", item("borlange", pid, "partnerships"))
    j = expect_json(r, 200)
    linked = (j.get("linked") or {}).get("visits") or []
    expect([x.get("id") for x in linked] == [vid],
           "Chișinău's linked.visits is %r, expected the demo visit %d" % (linked, vid), r)
    expect(linked[0].get("title") == "Besök från Norge, Danmark och Moldavien",
           "linked title %r" % linked[0].get("title"), r)


def t_lerum_demo():
    body, r = list_all("lerum")
    demo = [i for i in body["items"] if not str(i.get("title")).startswith("itest-")]
    dates = [i.get("start_date") for i in demo]
    expect(dates == ["2004-10", "1999", "1998"],
           "lerum visits' start dates in list order are %r, expected 2004-10, 1999, 1998" % dates, r)
    baldone = partnership_id("lerum", "Baldone")
    for i in demo:
        expect(i["partnership_ids"] == [baldone], "%r not linked to Baldone" % i["title"], r)
        expect(i["status"] == "completed", "%r status %r" % (i["title"], i["status"]), r)
    expect([i["direction"] for i in demo] == ["outgoing", "incoming", "outgoing"],
           "directions %r" % [i["direction"] for i in demo], r)


def q_case(slug, q, expected):
    def fn():
        body, r = list_all(slug, q=q)
        got = [x for x in titles(body["items"]) if not str(x).startswith("itest-")]
        expect(sorted(got) == sorted(expected), "q=%r gave %r, expected %r" % (q, got, expected), r)
    return fn


BORLANGE_VISIT = "Besök från Norge, Danmark och Moldavien"


def t_no_demo_elsewhere():
    for slug in ("herrljunga", "svenljunga"):
        body, r = list_all(slug)
        got = [x for x in titles(body["items"]) if not str(x).startswith("itest-")]
        expect(got == [], "%s should have no demo visits, has %r" % (slug, got), r)


# ---------------------------------------------------------------------------
# scratch visits in herrljunga: filters, order, pagination

def t_setup():
    uk = partnership_id(SCRATCH, "Ukmergė")
    ka = partnership_id(SCRATCH, "Kamianets-Podilskyi")
    state["uk"], state["ka"] = uk, ka
    specs = {
        "A": dict(direction="incoming", status="completed", start_date="2019-05-10",
                  end_date="2019-05-12", partnership_ids=[uk]),
        "B": dict(direction="outgoing", status="planned", start_date="2019-06",
                  partnership_ids=[ka]),
        "C": dict(direction="incoming", status="cancelled", start_date="2019"),
        "D": dict(direction="outgoing", status="confirmed", start_date="2020-01-15",
                  end_date="2020-01-20", partnership_ids=[uk, ka]),
        "E": dict(direction="incoming"),
        "F": dict(direction="incoming", status="confirmed", start_date="2019-05-11",
                  partnership_ids=[uk], public=False),
    }
    for name, extra in specs.items():
        j, _ = create(SCRATCH, new_body(name, **extra))
        state[name] = j["id"]
    j, r = create(SCRATCH, new_body("G", direction="incoming", start_date="2019-05-10",
                                    end_date="2019-05-11",
                                    delegation={"organisations": ["Ukmergės rajono savivaldybė"],
                                                "countries": ["LT"], "participants": 4},
                                    purpose="Studiebesök om äldreomsorg",
                                    programme=[{"date": "2019-05-10", "place": "Jakobsgårdsskolan",
                                                "description": "Skolbesök"},
                                               {"date": "2019-05-11",
                                                "description": "Möte med kommunstyrelsen"}],
                                    host_unit="Kommunledningskontoret",
                                    cost={"amount": 12500.5, "currency": "SEK"},
                                    outcome="Ett gemensamt projekt om äldreomsorg"))
    state["G"] = j["id"]
    state["G_body"] = j


def t_create_shape():
    j = state["G_body"]
    expect(j["status"] == "planned", "status default is not planned: %r" % j["status"])
    expect(j["public"] is True, "public default is not true: %r" % j["public"])
    expect(j["delegation"] == {"organisations": ["Ukmergės rajono savivaldybė"],
                               "countries": ["LT"], "participants": 4},
           "delegation %r" % j["delegation"])
    expect(j["programme"][1] == {"date": "2019-05-11", "place": None,
                                 "description": "Möte med kommunstyrelsen"},
           "programme entries get every member: %r" % j["programme"][1])
    expect(j["cost"] == {"amount": 12500.5, "currency": "SEK"}, "cost %r" % j["cost"])
    expect(j["version"] == 1 and j["created_at"] and j["updated_at"], "version/timestamps")
    expect(j["partnership_ids"] == [] and j["project_id"] is None, "links default empty")
    expect(j.get("linked") == {}, "a new visit's linked is %r" % j.get("linked"))
    e = expect_json(get_item(SCRATCH, state["E"]), 200)
    expect(e["start_date"] is None and e["cost"] is None and e["programme"] == []
           and e["delegation"] == {"organisations": [], "countries": [], "participants": None},
           "an empty visit's members: %r" % e)


def t_location():
    r = request("POST", coll(SCRATCH), body=new_body("loc"), token=tok(SCRATCH, "editor"))
    j = expect_json(r, 201)
    created.append((SCRATCH, j["id"]))
    loc = urllib.parse.urlsplit(r.header("location") or "").path
    expect(loc == item(SCRATCH, j["id"]), "Location %r" % r.header("location"), r)
    expect(r.header("etag"), "no ETag on 201", r)
    request("DELETE", item(SCRATCH, j["id"]), token=tok(SCRATCH, "editor"))


def scratch_case(query, expected, ordered=False):
    def fn():
        got, r = scratch_titles(**query)
        if ordered:
            expect(got == expected, "%r gave %r, expected %r" % (query, got, expected), r)
        else:
            expect(sorted(got) == sorted(expected),
                   "%r gave %r, expected %r" % (query, got, sorted(expected)), r)
    return fn


def partnership_case(key, expected):
    def fn():
        got, r = scratch_titles(partnership=str(state[key]))
        expect(sorted(got) == sorted(expected), "partnership=%s gave %r, expected %r"
               % (key, got, expected), r)
    return fn


def walk(limit, **query):
    seen, cursor, pages = [], None, 0
    while True:
        q = dict(query, limit=str(limit), q=TAG)
        if cursor:
            q["cursor"] = cursor
        r = request("GET", coll(SCRATCH), query=q)
        body = expect_json(r, 200)
        expect(len(body["items"]) <= limit, "page larger than limit", r)
        seen += [x["title"][len(TAG) + 1:] for x in body["items"]]
        pages += 1
        expect(pages < 30, "the cursor does not advance", r)
        cursor = body["next"]
        if cursor is None:
            return seen, r
        expect(body["items"], "empty page with a next cursor", r)


def pagination_case(limit, **query):
    def fn():
        want, _ = scratch_titles(**query)
        got, r = walk(limit, **query)
        expect(got == want, "pages of %d gave %r, one page %r" % (limit, got, want), r)
    return fn


def t_hidden_anonymous():
    got, r = scratch_titles()
    expect("F" not in got, "non-public F listed without a token", r)
    expect_problem(get_item(SCRATCH, state["F"]), 404)


def t_hidden_other_municipality():
    got, r = scratch_titles(token=tok("lerum", "reader"))
    expect("F" not in got, "non-public F listed with a lerum token", r)
    expect_problem(get_item(SCRATCH, state["F"], token=tok("lerum", "admin")), 404)


def t_visible_reader():
    got, r = scratch_titles(token=tok(SCRATCH, "reader"))
    expect("F" in got, "non-public F not listed with a herrljunga reader token: %r" % got, r)
    j = expect_json(get_item(SCRATCH, state["F"], token=tok(SCRATCH, "reader")), 200)
    expect(j["public"] is False, "F public is %r" % j["public"])
    expect_json(get_item(SCRATCH, state["F"], token=tok("*", "reader")), 200)


def t_hidden_in_partnership_links():
    uk = state["uk"]
    j = expect_json(request("GET", item(SCRATCH, uk, "partnerships")), 200)
    ids = [x["id"] for x in (j.get("linked") or {}).get("visits", [])]
    expect(state["A"] in ids and state["D"] in ids, "Ukmergė's linked.visits %r lacks A, D" % ids)
    expect(state["F"] not in ids, "non-public F shown on Ukmergė without a token")
    j = expect_json(request("GET", item(SCRATCH, uk, "partnerships"),
                            token=tok(SCRATCH, "reader")), 200)
    ids = [x["id"] for x in (j.get("linked") or {}).get("visits", [])]
    expect(state["F"] in ids, "non-public F not shown on Ukmergė with a reader token")


def bad_param_case(query, name):
    def fn():
        expect_names_param(request("GET", coll(SCRATCH), query=query), name)
    return fn


# ---------------------------------------------------------------------------
# links, validation, auth

def t_link_other_municipality():
    baldone = partnership_id("lerum", "Baldone")
    b = new_body("invalid", partnership_ids=[state["uk"], baldone])
    r = request("POST", coll(SCRATCH), body=b, token=tok(SCRATCH, "editor"))
    if r.status == 201:
        created.append((SCRATCH, r.json["id"]))
    p = expect_field_error(r, "partnership_ids[1]")
    expect("partnership_ids[0]" not in error_fields(p), "the own partnership was refused", r)


def t_link_unknown():
    b = new_body("invalid", partnership_ids=[987654321])
    r = request("POST", coll(SCRATCH), body=b, token=tok(SCRATCH, "editor"))
    if r.status == 201:
        created.append((SCRATCH, r.json["id"]))
    expect_field_error(r, "partnership_ids[0]")


def t_project_unknown():
    r = request("POST", coll(SCRATCH), body=new_body("invalid", project_id=987654321),
                token=tok(SCRATCH, "editor"))
    if r.status == 201:
        created.append((SCRATCH, r.json["id"]))
    expect_field_error(r, "project_id")


def invalid_case(extra, field, drop=None):
    def fn():
        b = new_body("invalid", **extra)
        if drop:
            del b[drop]
        r = request("POST", coll(SCRATCH), body=b, token=tok(SCRATCH, "editor"))
        if r.status == 201 and r.json and "id" in r.json:
            created.append((SCRATCH, r.json["id"]))
        expect_field_error(r, field)
    return fn


def t_nothing_created():
    got, r = scratch_titles(token=tok(SCRATCH, "reader"))
    expect("invalid" not in got, "an invalid body was stored", r)


# ---------------------------------------------------------------------------
# PATCH, ETag, DELETE

def t_cancel():
    vid = state["A"]
    g = get_item(SCRATCH, vid)
    before = expect_json(g, 200)
    etag = g.header("etag")
    r = request("PATCH", item(SCRATCH, vid), body={"status": "cancelled"},
                token=tok(SCRATCH, "editor"), headers={"If-Match": etag})
    j = expect_json(r, 200)
    expect(j["status"] == "cancelled" and j["version"] == before["version"] + 1,
           "status/version after PATCH: %r/%r" % (j["status"], j["version"]), r)
    for k in ("title", "start_date", "end_date", "partnership_ids", "delegation", "created_at"):
        expect(j[k] == before[k], "%s changed by a PATCH of status" % k, r)
    expect(r.header("etag") and r.header("etag") != etag, "no new ETag", r)
    expect("linked" in j, "PATCH answer lacks linked", r)
    state["old_etag"], state["etag"] = etag, r.header("etag")
    got, lr = scratch_titles(status="cancelled")
    expect(sorted(got) == ["A", "C"], "cancelled visits listed: %r" % got, lr)


def patch_invalid_case(patch, field):
    def fn():
        before = expect_json(get_item(SCRATCH, state["A"]), 200)
        r = request("PATCH", item(SCRATCH, state["A"]), body=patch, token=tok(SCRATCH, "editor"))
        expect_field_error(r, field)
        after = expect_json(get_item(SCRATCH, state["A"]), 200)
        expect(after == before, "a 422 PATCH changed the item")
    return fn


def t_patch_links():
    vid = state["B"]
    r = request("PATCH", item(SCRATCH, vid), body={"partnership_ids": [state["uk"]],
                                                   "title": TAG + "-B"},
                token=tok(SCRATCH, "editor"))
    j = expect_json(r, 200)
    expect(j["partnership_ids"] == [state["uk"]], "partnership_ids %r" % j["partnership_ids"], r)
    got, lr = scratch_titles(partnership=str(state["ka"]))
    expect(sorted(got) == ["D"], "after the patch Kamianets has %r" % got, lr)
    p = expect_json(request("GET", item(SCRATCH, state["ka"], "partnerships")), 200)
    ids = [x["id"] for x in (p.get("linked") or {}).get("visits", [])]
    expect(vid not in ids, "Kamianets still shows B after the patch: %r" % ids)


def t_patch_nested_and_null():
    vid = state["G"]
    r = request("PATCH", item(SCRATCH, vid),
                body={"delegation": {"participants": 5}, "cost": None, "host_unit": None},
                content_type="application/merge-patch+json", token=tok(SCRATCH, "editor"))
    j = expect_json(r, 200)
    expect(j["delegation"] == {"organisations": ["Ukmergės rajono savivaldybė"],
                               "countries": ["LT"], "participants": 5},
           "delegation after a nested patch: %r" % j["delegation"], r)
    expect(j["cost"] is None and j["host_unit"] is None, "null did not remove cost/host_unit", r)
    g = expect_json(get_item(SCRATCH, vid), 200)
    expect(g["cost"] is None and g["delegation"]["participants"] == 5, "GET after PATCH")


def t_patch_hide():
    vid = state["C"]
    expect_json(request("PATCH", item(SCRATCH, vid), body={"public": False},
                        token=tok(SCRATCH, "editor")), 200)
    expect_problem(get_item(SCRATCH, vid), 404)
    got, r = scratch_titles()
    expect("C" not in got, "C still listed after public=false", r)
    expect_json(request("PATCH", item(SCRATCH, vid), body={"public": True},
                        token=tok(SCRATCH, "editor")), 200)
    expect_json(get_item(SCRATCH, vid), 200)


def t_delete():
    vid = state["A"]
    g = get_item(SCRATCH, vid)
    expect_json(g, 200)
    r = request("DELETE", item(SCRATCH, vid), token=tok(SCRATCH, "editor"),
                headers={"If-Match": g.header("etag")})
    expect_status(r, 204)
    expect(not r.body, "204 with a body", r)
    expect_problem(get_item(SCRATCH, vid), 404)
    expect_problem(request("DELETE", item(SCRATCH, vid), token=tok(SCRATCH, "editor")), 404)
    expect_problem(request("PATCH", item(SCRATCH, vid), body={"status": "planned"},
                           token=tok(SCRATCH, "editor")), 404)
    got, lr = scratch_titles()
    expect("A" not in got, "deleted visit still listed", lr)
    p = expect_json(request("GET", item(SCRATCH, state["uk"], "partnerships")), 200)
    ids = [x["id"] for x in (p.get("linked") or {}).get("visits", [])]
    expect(vid not in ids, "Ukmergė still shows the deleted visit")


def t_cleanup():
    left = []
    tk = tok("*", "editor")
    for slug, vid in created:
        r = request("DELETE", item(slug, vid), token=tk)
        if r.status not in (204, 404):
            left.append((slug, vid, r.status))
    expect(not left, "could not delete %r" % left)
    got, r = scratch_titles(token=tok(SCRATCH, "reader"))
    expect(not got, "scratch visits left: %r" % got, r)


# ---------------------------------------------------------------------------

def main():
    t.check("borlange holds its week-37 visit from Frederikshavn, Larvik and Chișinău",
            t_borlange_demo)
    if "borlange_visit" in state:
        t.check("GET the borlange visit: every member, ETag, linked", t_borlange_item)
        t.check("the Chișinău partnership lists the visit in linked.visits",
                t_partnership_shows_visit)
    t.check("lerum holds its three Baldone visits, newest first", t_lerum_demo)
    t.check("herrljunga and svenljunga have no demo visits", t_no_demo_elsewhere)
    t.check("q=jakobsgardsskolan finds Jakobsgårdsskolan (no diacritics)",
            q_case("borlange", "jakobsgardsskolan", [BORLANGE_VISIT]))
    t.check("q=Jakobsgårdsskolan finds it (with diacritics)",
            q_case("borlange", "Jakobsgårdsskolan", [BORLANGE_VISIT]))
    t.check("q=MATJES emils (programme place, case) finds it",
            q_case("borlange", "MATJES emils", [BORLANGE_VISIT]))
    t.check("q=chisinau autism (delegation, purpose) finds it",
            q_case("borlange", "chisinau autism", [BORLANGE_VISIT]))
    t.check("q=riga finds Lerum's 1998 visit", q_case("lerum", "riga",
                                                      ["Första besöket mellan Lerum och Baldone"]))
    t.check("q=nowhere-at-all finds nothing", q_case("borlange", "nowhere-at-all", []))
    t.check("q=% finds nothing (wildcards escaped)", q_case("borlange", "%", []))

    if t.check("create scratch visits A..G in herrljunga", t_setup):
        t.check("a created visit has every member, defaults status planned, public true",
                t_create_shape)
        t.check("POST answers Location and ETag", t_location)
        t.check("order: start_date descending, then id; undated last",
                scratch_case({}, ["D", "B", "G", "A", "C", "E"], ordered=True))
        t.check("direction=outgoing", scratch_case({"direction": "outgoing"}, ["D", "B"]))
        t.check("status=cancelled", scratch_case({"status": "cancelled"}, ["C"]))
        t.check("direction and status combine",
                scratch_case({"direction": "incoming", "status": "completed"}, ["A"]))
        t.check("from=to=2019-05-11: A, G and the year-only C overlap",
                scratch_case({"from": "2019-05-11", "to": "2019-05-11"}, ["A", "C", "G"]))
        t.check("from=2019-05-12&to=2019-05-31: A's last day, C's year",
                scratch_case({"from": "2019-05-12", "to": "2019-05-31"}, ["A", "C"]))
        t.check("from=2019-05-13&to=2019-05-31: only the year-only C",
                scratch_case({"from": "2019-05-13", "to": "2019-05-31"}, ["C"]))
        t.check("from=2019-06 (a month from its first day): B, C, D",
                scratch_case({"from": "2019-06"}, ["B", "C", "D"]))
        t.check("to=2019-05 (a month up to its last day): A, C, G",
                scratch_case({"to": "2019-05"}, ["A", "C", "G"]))
        t.check("to=2019-06-01 reaches the month-only B",
                scratch_case({"from": "2019-06-01", "to": "2019-06-01"}, ["B", "C"]))
        t.check("from=2020: D", scratch_case({"from": "2020"}, ["D"]))
        t.check("from=2020-01-20&to=2020-02: D's last day",
                scratch_case({"from": "2020-01-20", "to": "2020-02"}, ["D"]))
        t.check("partnership=Ukmergė: A, D", partnership_case("uk", ["A", "D"]))
        t.check("partnership=Kamianets-Podilskyi: B, D", partnership_case("ka", ["B", "D"]))
        t.check("partnership=unknown id: nothing",
                scratch_case({"partnership": "987654321"}, []))
        t.check("q=jakobsgardsskolan in a scratch programme finds G",
                scratch_case({"q": TAG + " jakobsgardsskolan"}, ["G"]))
        t.check("q=ukmerges (delegation organisation, no diacritics) finds G",
                scratch_case({"q": TAG + " ukmerges rajono"}, ["G"]))
        t.check("q=aldreomsorg (purpose/outcome) finds G",
                scratch_case({"q": TAG + " aldreomsorg"}, ["G"]))
        t.check("q=kommunledningskontoret (host_unit) finds G",
                scratch_case({"q": TAG + " kommunledningskontoret"}, ["G"]))
        t.check("pagination limit=1 gives the same order", pagination_case(1))
        t.check("pagination limit=2 gives the same order", pagination_case(2))
        t.check("pagination keeps filters (direction=incoming, limit=1)",
                pagination_case(1, direction="incoming"))
        t.check("non-public F: absent from the list and 404 without a token", t_hidden_anonymous)
        t.check("non-public F: hidden from a token of another municipality",
                t_hidden_other_municipality)
        t.check("non-public F: listed and readable with a herrljunga reader token",
                t_visible_reader)
        t.check("non-public F: on the partnership's linked.visits only with a reader token",
                t_hidden_in_partnership_links)

        for query, name in (({"direction": "sideways"}, "direction"),
                            ({"status": "postponed"}, "status"),
                            ({"from": "2019-13"}, "from"), ({"to": "yesterday"}, "to"),
                            ({"from": "2020", "to": "2019"}, "to"),
                            ({"partnership": "abc"}, "partnership"),
                            ({"partnership": "0"}, "partnership"),
                            ({"q": "x" * 201}, "q")):
            t.check("%s is a 422 naming %s" % (urllib.parse.urlencode(query)[:40], name),
                    bad_param_case(query, name))

        t.check("a partnership of another municipality is a 422 naming partnership_ids[1]",
                t_link_other_municipality)
        t.check("an unknown partnership id is a 422 naming partnership_ids[0]", t_link_unknown)
        t.check("an unknown project id is a 422 naming project_id", t_project_unknown)
        for extra, field, drop in (
                ({"title": ""}, "title", None),
                ({"start_date": "2019-13"}, "start_date", None),
                ({"start_date": "2019-05-10", "end_date": "2019-05-09"}, "end_date", None),
                ({"end_date": "2019-05-09"}, "start_date", None),
                ({"start_date": "2019-05-10", "end_date": "2019-05-12",
                  "programme": [{"date": "2019-05-10", "place": "x"},
                                {"date": "2019-05-13", "place": "y"}]}, "programme[1].date", None),
                ({"start_date": "2019-05-10",
                  "programme": [{"date": "2019-05-09", "place": "x"}]}, "programme[0].date", None),
                ({"programme": [{"date": "2019-05-10"}]}, "programme[0]", None),
                ({"programme": [{"place": "x", "when": "now"}]}, "programme[0].when", None),
                ({"cost": {"amount": 100}}, "cost.currency", None),
                ({"cost": {"amount": 100, "currency": "XYZ"}}, "cost.currency", None),
                ({"cost": {"amount": -5, "currency": "SEK"}}, "cost.amount", None),
                ({"cost": {"amount": "100", "currency": "SEK"}}, "cost.amount", None),
                ({"delegation": {"countries": ["XX"]}}, "delegation.countries[0]", None),
                ({"delegation": {"participants": -1}}, "delegation.participants", None),
                ({"delegation": {"participants": 2.5}}, "delegation.participants", None),
                ({"delegation": {"organisations": ["A", "A"]}}, "delegation.organisations[1]", None),
                ({"partnership_ids": ["x"]}, "partnership_ids[0]", None),
                ({"project_id": 0}, "project_id", None)):
            t.check("POST 422 naming %s (%r)" % (field, extra)[:110],
                    invalid_case(extra, field, drop))
        t.check("no invalid visit was stored", t_nothing_created)

        t.check("a cancelled visit stays listed with status cancelled (PATCH, version+1, ETag)",
                t_cancel)

        if "etag" in state:
            t.check("PATCH with end_date before start_date is 422",
                    patch_invalid_case({"end_date": "2019-05-01"}, "end_date"))
            t.check("PATCH with a programme day after end_date is 422",
                    patch_invalid_case({"programme": [{"date": "2019-05-20", "place": "x"}]},
                                       "programme[0].date"))
            t.check("PATCH linking another municipality's partnership is 422",
                    lambda: patch_invalid_case(
                        {"partnership_ids": [partnership_id("lerum", "Baldone")]},
                        "partnership_ids[0]")())
            t.check("PATCH of partnership_ids moves the links (filter and linked)", t_patch_links)
            t.check("PATCH merges delegation and null removes cost/host_unit",
                    t_patch_nested_and_null)
            t.check("PATCH public=false hides a visit, public=true shows it again", t_patch_hide)
            t.check("DELETE is 204; then GET/PATCH/DELETE 404, unlisted, unlinked", t_delete)

    t.check("clean up the visits created by this run", t_cleanup)
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
