#!/usr/bin/env python3
"""Integration tests of the funds module through nginx (stdlib, and
python3-icalendar for funds.ics: run it with /usr/bin/python3).

Run by tests/run.sh with PORTAL_URL, PORTAL_CONF, PORTALCTL, PORTAL_VAR set,
on a stack with the demo data (plugins/funds/demo/*.json) and conf/demo.conf:
borlange, herrljunga and lejre enable funds; lerum does not.

Only what is the funds module's own: `status` derived from the dates
(upcoming, open, closed, and open without dates) on the item and by the
list's `status` filter, the rules across members (closes_on before
opens_on, amount.min above amount.max), `status` refused when sent,
funds.ics (each deadline an all-day event, parsed with icalendar),
funds.atom (well-formed Atom), the overview's open calls, the demo data,
and a project's `fund_id` (the call it applied to: linked on the fund,
another municipality's fund refused, a named fund not deleted).  The
lifecycle every module shares is test_lifecycle.py's.

Scratch items go to herrljunga and are deleted again at the end.
"""
import datetime
import os
import sys
import xml.etree.ElementTree as ET

try:
    import icalendar  # noqa: F401  (Debian's python3-icalendar)
except ImportError:  # another python3 first on PATH: Debian's has it (scripts/deps.sh)
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != "/usr/bin/python3" \
            and not os.environ.get("FUNDS_TEST_REEXEC"):
        os.environ["FUNDS_TEST_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import (Tap, create_token, expect, expect_field_error,  # noqa: E402
                     expect_json, expect_status, portalctl, request, token_id)

API = "/api/v1"
TAG = "ftest-%d" % os.getpid()
SCRATCH = "herrljunga"
ATOM = "{http://www.w3.org/2005/Atom}"

t = Tap()
tokens = {}
created = []   # (slug, module, id), deleted at the end (projects first)
state = {}
today = datetime.datetime.now(datetime.timezone.utc).date()


def tok(slug, role="editor"):
    if (slug, role) not in tokens:
        tokens[(slug, role)] = create_token(slug, role)
    return tokens[(slug, role)]


def day(n):
    return (today + datetime.timedelta(days=n)).isoformat()


def create(slug, body, module="funds"):
    r = request("POST", "%s/%s/%s" % (API, slug, module), body=body, token=tok(slug))
    item = expect_json(r, 201)
    created.append((slug, module, item["id"]))
    return item


def fund(title, **kw):
    body = {"title": "%s %s" % (TAG, title), "funder": {"name": "Testfonden", "kind": "other"}}
    body.update(kw)
    return body


def list_ids(slug, **query):
    query.setdefault("limit", "100")
    query.setdefault("q", TAG)
    r = request("GET", "%s/%s/funds" % (API, slug), query=query)
    body = expect_json(r, 200)
    return [i["id"] for i in body["items"]], body["items"]


def t_status_derived():
    cases = {"upcoming": fund("upcoming", opens_on=day(10), closes_on=day(40)),
             "open": fund("open", opens_on=day(-10), closes_on=day(10)),
             "open_today": fund("closes today", opens_on=day(-3), closes_on=day(0)),
             "closed": fund("closed", opens_on=day(-40), closes_on=day(-1)),
             "standing": fund("no dates"),
             "month": fund("this month", closes_on=today.strftime("%Y-%m"))}
    want = {"upcoming": "upcoming", "open": "open", "open_today": "open", "closed": "closed",
            "standing": "open", "month": "open"}
    for k, body in cases.items():
        item = create(SCRATCH, body)
        state[k] = item["id"]
        expect(item["status"] == want[k], "%s: status %r, wanted %r" % (k, item["status"], want[k]))
        got = expect_json(request("GET", "%s/%s/funds/%d" % (API, SCRATCH, item["id"])), 200)
        expect(got["status"] == want[k], "%s: GET status %r" % (k, got["status"]))


def t_status_filter():
    for status in ("upcoming", "open", "closed"):
        ids, items = list_ids(SCRATCH, status=status)
        expect(all(i["status"] == status for i in items), "status=%s lists another status" % status)
        for k, want in (("upcoming", "upcoming"), ("open", "open"), ("open_today", "open"),
                        ("closed", "closed"), ("standing", "open"), ("month", "open")):
            expect((state[k] in ids) == (want == status),
                   "status=%s: %s %s" % (status, k, "missing" if want == status else "listed"))
    r = request("GET", "%s/%s/funds" % (API, SCRATCH), query={"status": "ajar"})
    expect_field_error(r, "status")


def t_rules():
    r = request("POST", "%s/%s/funds" % (API, SCRATCH), token=tok(SCRATCH),
                body=fund("bad dates", opens_on=day(5), closes_on=day(1)))
    expect_field_error(r, "closes_on")
    r = request("POST", "%s/%s/funds" % (API, SCRATCH), token=tok(SCRATCH),
                body=fund("bad amount", amount={"currency": "SEK", "min": 10, "max": 5}))
    expect_field_error(r, "amount.min")
    r = request("POST", "%s/%s/funds" % (API, SCRATCH), token=tok(SCRATCH),
                body=fund("sends status", status="open"))
    expect_field_error(r, "status")
    r = request("POST", "%s/%s/funds" % (API, SCRATCH), token=tok(SCRATCH),
                body=fund("bad kind", funder={"name": "X", "kind": "lottery"}))
    expect_field_error(r, "funder.kind")


def t_ics():
    import icalendar
    r = request("GET", "%s/%s/funds.ics" % (API, SCRATCH), headers={"Accept": "text/calendar"})
    expect_status(r, 200)
    expect(r.ctype == "text/calendar", "content type %r" % r.ctype, r)
    cal = icalendar.Calendar.from_ical(r.body)
    events = {str(e.get("UID")): e for e in cal.walk("VEVENT")}
    uid = "fund-%d@%s.portal" % (state["open"], SCRATCH)
    expect(uid in events, "no event %s in funds.ics" % uid, r)
    ev = events[uid]
    start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
    expect(isinstance(start, datetime.date) and not isinstance(start, datetime.datetime),
           "DTSTART is not an all-day date: %r" % start)
    expect(start.isoformat() == day(10), "DTSTART %s, wanted the deadline %s" % (start, day(10)))
    expect((end - start).days == 1, "DTEND %s is not the day after" % end)
    expect("fund-%d@%s.portal" % (state["standing"], SCRATCH) not in events,
           "a fund without closes_on has an event")
    month = events.get("fund-%d@%s.portal" % (state["month"], SCRATCH))
    expect(month is not None, "no event for a deadline given as a month")
    # a calendar without deadlines (Lejre's pool has none) is still a valid one
    r = request("GET", "%s/lejre/funds.ics" % API, headers={"Accept": "text/calendar"})
    expect_status(r, 200)
    cal = icalendar.Calendar.from_ical(r.body)
    expect(not cal.walk("VEVENT") and cal.walk("VTIMEZONE"),
           "Lejre's calendar: no events, and one component (RFC 5545)", r)


def t_atom():
    r = request("GET", "%s/%s/funds.atom" % (API, SCRATCH), headers={"Accept": "application/atom+xml"})
    expect_status(r, 200)
    expect(r.ctype == "application/atom+xml", "content type %r" % r.ctype, r)
    root = ET.fromstring(r.body)
    expect(root.tag == ATOM + "feed", "root is %s" % root.tag)
    for need in ("id", "title", "updated"):
        expect(root.find(ATOM + need) is not None, "feed without %s" % need)
    titles = [e.findtext(ATOM + "title") for e in root.findall(ATOM + "entry")]
    expect(any(t_ and t_.startswith(TAG) for t_ in titles), "no new call in the feed: %r" % titles[:5])
    for e in root.findall(ATOM + "entry"):
        for need in ("id", "title", "updated"):
            expect(e.find(ATOM + need) is not None, "entry without %s" % need)


def t_overview():
    r = request("GET", "/%s/" % SCRATCH, headers={"Accept": "text/html"}, query={"lang": "sv"})
    expect_status(r, 200)
    expect("%s open" % TAG in r.text, "the overview does not show an open call", r)
    expect("%s closed" % TAG not in r.text and "%s upcoming" % TAG not in r.text,
           "the overview shows a call that is not open", r)
    r = request("GET", "/%s/funds/%d" % (SCRATCH, state["closed"]), headers={"Accept": "text/html"},
                query={"lang": "sv"})
    expect_status(r, 200)
    expect("Stängd" in r.text, "the page of a closed call does not say Stängd", r)
    r = request("GET", "/%s/funds/" % SCRATCH, headers={"Accept": "text/html"},
                query={"lang": "da", "status": "closed"})
    expect_status(r, 200)
    expect("%s closed" % TAG in r.text and "%s open" % TAG not in r.text,
           "the list page's status=closed does not show exactly the closed calls", r)
    expect("?status=upcoming&amp;lang=da" in r.text, "no link to the upcoming calls", r)


def t_demo():
    _, items = list_ids("lejre", q="IFIL")
    expect(len(items) == 1 and items[0]["funder"]["kind"] == "other", "Lejre's IFIL pool: %r" % items)
    expect(items[0]["sources"] and items[0]["sources"][0]["title"], "IFIL without its source")
    _, items = list_ids("borlange", q="ICLD")
    expect(any(i["funder"]["kind"] == "icld" for i in items), "Borlänge's ICLD programme missing")
    r = request("GET", "%s/lerum/funds" % API)
    expect_status(r, 404)


def t_project_link():
    r = request("GET", "%s/lejre/funds" % API, query={"q": "IFIL"})
    other = expect_json(r, 200)["items"][0]["id"]
    r = request("POST", "%s/%s/projects" % (API, SCRATCH), token=tok(SCRATCH),
                body={"title": "%s project" % TAG, "fund_id": other})
    expect_field_error(r, "fund_id")
    p = create(SCRATCH, {"title": "%s project" % TAG, "fund_id": state["open"]}, module="projects")
    expect(p["fund_id"] == state["open"], "fund_id not kept: %r" % p.get("fund_id"))
    f = expect_json(request("GET", "%s/%s/funds/%d" % (API, SCRATCH, state["open"])), 200)
    linked = [x["id"] for x in f.get("linked", {}).get("projects", [])]
    expect(p["id"] in linked, "the fund does not list the project in linked: %r" % f.get("linked"))
    r = request("DELETE", "%s/%s/funds/%d" % (API, SCRATCH, state["open"]), token=tok(SCRATCH))
    expect_status(r, 409)
    r = request("PATCH", "%s/%s/projects/%d" % (API, SCRATCH, p["id"]), token=tok(SCRATCH),
                body={"fund_id": other})
    expect_field_error(r, "fund_id")
    page = request("GET", "/%s/projects/%d" % (SCRATCH, p["id"]), headers={"Accept": "text/html"})
    expect("%s open" % TAG in page.text, "the project's page does not name its call", page)


def t_cleanup():
    failed = []
    for slug, module, iid in sorted(created, key=lambda c: c[1] != "projects"):
        r = request("DELETE", "%s/%s/%s/%d" % (API, slug, module, iid), token=tok(slug))
        if r.status not in (204, 404):
            failed.append("%s/%s/%d: %d" % (slug, module, iid, r.status))
    expect(not failed, "could not delete: %s" % failed)


def main():
    if t.check("status is derived from the dates (upcoming, open, closed; open without dates)",
               t_status_derived):
        t.check("status=upcoming|open|closed lists exactly those (derived in SQL); a bad value 422",
                t_status_filter)
        t.check("funds.ics: each deadline an all-day event (python3-icalendar)", t_ics)
        t.check("funds.atom is a well-formed Atom feed with the new calls", t_atom)
        t.check("the overview shows open calls only; a closed call's page says so; the list "
                "page filters by status", t_overview)
        t.check("a project names its call (fund_id): linked, 409 on delete, another municipality's refused",
                t_project_link)
    t.check("closes_on before opens_on, min above max, status sent, a bad funder kind: 422", t_rules)
    t.check("demo: Lejre's IFIL pool with its source, Borlänge's ICLD; lerum has no funds", t_demo)
    t.check("clean up the items created by this run", t_cleanup)
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
