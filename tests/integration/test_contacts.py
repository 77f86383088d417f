#!/usr/bin/env python3
"""Integration tests of the contacts module through nginx (stdlib, and
Debian's python3-vobject for the vCard export).

Run by tests/run.sh with PORTAL_URL, PORTAL_CONF, PORTALCTL, PORTAL_VAR set,
on a stack whose database holds the demo data (plugins/contacts/demo/*.json,
plugins/partnerships/demo/*.json) and whose configuration is conf/demo.conf
plus `provkommun` (no modules).

Only what is the contacts module's own: its demo content (Borlänge's and
Svenljunga's contacts as the seeds give them), non-public contacts
(invisible to anonymous readers in the API, lists, contacts.vcf, HTML and on
the pages of the items they are linked to; visible with a reader token), the
shape of e-mail and phone, links to partnerships and projects ("Ask: ..." on
their pages, the filters, a linked partnership is not deleted), JSON-LD
Person/ContactPoint, and contacts.vcf read with a real vCard parser.  The
lifecycle every module shares is test_lifecycle.py's; the callers on every
write route are test_authz_matrix.py's.

Scratch contacts go to borlange (linked to its demo partnerships and
projects); every contact created here is deleted again at the end.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import (Fail, Tap, create_token, expect, expect_field_error, expect_json,  # noqa: E402
                     expect_problem, expect_status, portalctl, request, token_id)

try:
    import vobject
except ImportError:   # Debian's python3-vobject, under /usr/bin/python3 (scripts/deps.sh)
    vobject = None

API = "/api/v1"
TAG = "itest%d" % os.getpid()
SCRATCH = "borlange"

t = Tap()
tokens = {}
created = []
state = {}


def tok(muni, role):
    if (muni, role) not in tokens:
        tokens[(muni, role)] = create_token(muni, role)
    return tokens[(muni, role)]


def coll(muni, module="contacts"):
    return "%s/%s/%s" % (API, muni, module)


def one(muni, i, module="contacts"):
    return "%s/%s/%s/%s" % (API, muni, module, i)


def list_all(muni, token=None, module="contacts", **query):
    query.setdefault("limit", "100")
    return expect_json(request("GET", coll(muni, module), query=query, token=token), 200)["items"]


def post(body, muni=SCRATCH, status=201):
    r = request("POST", coll(muni), body=body, token=tok(muni, "editor"))
    if r.status == 201 and isinstance(r.json, dict):
        created.append((muni, r.json["id"]))
    return expect_json(r, 201) if status == 201 else r


def partnership(muni, name):
    for p in list_all(muni, module="partnerships"):
        if p["partner"]["name"] == name:
            return p["id"]
    raise Fail("%s has no partnership %s" % (muni, name))


def html(path, token=None):
    return request("GET", path, token=token, headers={"Accept": "text/html"})


def vcards(muni, token=None, **query):
    r = request("GET", "%s/%s/contacts.vcf" % (API, muni), token=token, query=query or None,
                headers={"Accept": "text/vcard"})
    expect_status(r, 200)
    expect(r.ctype == "text/vcard", "Content-Type %r" % r.ctype, r)
    expect(not r.text or "\r\n" in r.text and "\n" not in r.text.replace("\r\n", ""),
           "lines do not end in CRLF", r)
    for ln in r.body.split(b"\r\n"):
        expect(len(ln) <= 75, "a line of %d octets (RFC 6350 3.2: 75)" % len(ln), r)
    cards = list(vobject.readComponents(r.text)) if r.text.strip() else []
    for c in cards:
        expect(c.name == "VCARD" and c.version.value == "4.0", "not a vCard 4.0: %r" % c)
        expect(c.fn.value, "a card without FN")
    return cards


# --- demo -------------------------------------------------------------------------

def t_demo():
    b = {c["name"]: c for c in list_all("borlange")}
    kw = b.get("Kristina Westhed")
    expect(kw and kw["title"] == "internationell samordnare" and kw["public"], "Borlänge: %r" % kw)
    ids = set(kw["links"]["partnerships"])
    for name in ("Larvik", "Frederikshavn", "Chișinău"):
        expect(partnership("borlange", name) in ids, "Kristina Westhed is not linked to %s" % name)
    sc = b.get("Servicecenter")
    expect(sc and sc["phone"] == "0243 - 740 00", "Borlänge's Servicecenter: %r" % sc)
    s = {c["name"]: c for c in list_all("svenljunga")}
    expect("Kanslienheten" in s and s["Kanslienheten"]["unit"] == "Kommunstyrelseförvaltningen",
           "Svenljunga: %r" % s)


def t_ask_on_partnership():
    pid = partnership("borlange", "Larvik")
    j = expect_json(request("GET", one("borlange", pid, "partnerships")), 200)
    titles = [x["title"] for x in j["linked"].get("contacts", [])]
    expect("Kristina Westhed, internationell samordnare" in titles, "linked.contacts is %r" % titles)
    for lang, word in (("sv", "Fråga"), ("da", "Spørg"), ("en", "Ask")):
        r = html("/borlange/partnerships/%d?lang=%s" % (pid, lang))
        expect_status(r, 200)
        expect(re.search(r"%s: <a href=\"/borlange/contacts/\d+\?lang=%s\">Kristina Westhed" % (word, lang), r.text),
               "the %s page does not say %s: Kristina Westhed" % (lang, word), r)


def t_html_and_jsonld():
    kw = [c for c in list_all("borlange") if c["name"] == "Kristina Westhed"][0]
    r = html("/borlange/contacts/%d" % kw["id"])
    expect_status(r, 200)
    m = re.search(r'<script type="application/ld\+json">(.*?)</script>', r.text, re.S)
    expect(m, "no JSON-LD", r)
    ld = json.loads(m.group(1))
    expect(ld.get("@type") == "Person" and ld.get("name") == "Kristina Westhed", "JSON-LD %r" % ld)
    expect(ld.get("jobTitle") == "internationell samordnare", "jobTitle %r" % ld.get("jobTitle"))
    cp = ld.get("contactPoint") or {}
    expect(cp.get("@type") == "ContactPoint" and cp.get("availableLanguage") == ["sv"], "contactPoint %r" % cp)
    expect('href="/borlange/partnerships/' in r.text, "the page does not link its partnerships", r)
    r = html("/borlange/contacts/")
    expect_status(r, 200)
    expect("Kristina Westhed" in r.text and "contacts.vcf" in r.text, "the contacts page", r)


# --- non-public ---------------------------------------------------------------------

def t_not_public():
    pid = partnership("borlange", "Frederikshavn")
    c = post({"name": "Hemlig %s" % TAG, "title": "handläggare", "links": {"partnerships": [pid]}})
    expect(c["public"] is False, "a contact without public is public=%r" % c["public"])
    state["hidden"] = (c, pid)
    expect_problem(request("GET", one(SCRATCH, c["id"])), 404)
    expect(c["id"] not in [x["id"] for x in list_all(SCRATCH)], "listed anonymously")
    expect_problem(request("GET", one(SCRATCH, c["id"]), token=tok("svenljunga", "reader")), 404)
    expect_status(html("/%s/contacts/%d" % (SCRATCH, c["id"])), 404)
    j = expect_json(request("GET", one(SCRATCH, pid, "partnerships")), 200)
    expect(c["id"] not in [x["id"] for x in j["linked"].get("contacts", [])], "linked anonymously")
    expect("Hemlig %s" % TAG not in html("/%s/partnerships/%d" % (SCRATCH, pid)).text,
           "the partnership's page names a non-public contact")
    if vobject:
        expect("Hemlig %s" % TAG not in [x.fn.value for x in vcards(SCRATCH)], "in contacts.vcf anonymously")


def t_not_public_reader():
    c, pid = state["hidden"]
    rd = tok(SCRATCH, "reader")
    expect_json(request("GET", one(SCRATCH, c["id"]), token=rd), 200)
    expect(c["id"] in [x["id"] for x in list_all(SCRATCH, token=rd)], "a reader's list lacks it")
    j = expect_json(request("GET", one(SCRATCH, pid, "partnerships"), token=rd), 200)
    expect(c["id"] in [x["id"] for x in j["linked"].get("contacts", [])], "not linked for a reader")
    r = html("/%s/contacts/%d" % (SCRATCH, c["id"]), token=rd)
    expect_status(r, 200)
    if vobject:
        expect("Hemlig %s" % TAG in [x.fn.value for x in vcards(SCRATCH, token=rd)], "not in a reader's vcf")


def t_publish():
    c, pid = state["hidden"]
    expect_json(request("PATCH", one(SCRATCH, c["id"]), body={"public": True}, token=tok(SCRATCH, "editor"),
                        content_type="application/merge-patch+json"), 200)
    expect_json(request("GET", one(SCRATCH, c["id"])), 200)
    r = html("/%s/partnerships/%d" % (SCRATCH, pid))
    expect("Hemlig %s, handläggare" % TAG in r.text, "published, but not on the partnership's page", r)


# --- rules --------------------------------------------------------------------------

def t_shapes():
    for email in ("no-at-sign", "a@b", "a b@kommun.se", "a@kommun..se", "a@@kommun.se", "a@-kommun.se"):
        expect_field_error(post({"name": "x", "email": email}, status=422), "email")
    for phone in ("call me", "12", "0243+74000", "tel:0243"):
        expect_field_error(post({"name": "x", "phone": phone}, status=422), "phone")
    c = post({"name": "Form %s" % TAG, "email": "fornamn.efternamn@borlange.se", "phone": "+46 (0)243-740 00"})
    expect(c["email"] == "fornamn.efternamn@borlange.se", "email %r" % c["email"])
    expect_field_error(post({"name": "x", "languages": ["not a language"]}, status=422), "languages[0]")


def t_links():
    other = partnership("lerum", "Baldone")
    expect_field_error(post({"name": "x", "links": {"partnerships": [other]}}, status=422), "links.partnerships[0]")
    expect_field_error(post({"name": "x", "links": {"projects": [999999999]}}, status=422), "links.projects[0]")
    projects = list_all(SCRATCH, module="projects")
    expect(projects, "borlange has no demo projects")
    prid = projects[0]["id"]
    pid = partnership("borlange", "Wuhan")
    c = post({"name": "Projekt %s" % TAG, "title": "projektledare", "links": {"projects": [prid], "partnerships": [pid]},
              "areas": ["education"], "languages": ["sv", "ro"], "public": True})
    j = expect_json(request("GET", one(SCRATCH, prid, "projects")), 200)
    expect(c["id"] in [x["id"] for x in j["linked"].get("contacts", [])], "the project does not list it")
    r = html("/%s/projects/%d?lang=en" % (SCRATCH, prid))
    expect("Ask: " in r.text and "Projekt %s, projektledare" % TAG in r.text, "the project's page lacks Ask:", r)
    for q, want in (({"project": str(prid)}, True), ({"partnership": str(pid)}, True),
                    ({"area": "education"}, True), ({"area": "culture"}, False),
                    ({"language": "ro"}, True), ({"language": "da"}, False)):
        got = c["id"] in [x["id"] for x in list_all(SCRATCH, **q)]
        expect(got == want, "%r finds it: %r" % (q, got))
    expect_problem(request("GET", coll(SCRATCH), query={"partnership": "abc"}), 422)
    r = request("DELETE", one(SCRATCH, pid, "partnerships"), token=tok(SCRATCH, "editor"))
    expect_problem(r, 409)
    expect_json(request("PATCH", one(SCRATCH, c["id"]), body={"links": {"projects": [], "partnerships": None}},
                        token=tok(SCRATCH, "editor"), content_type="application/merge-patch+json"), 200)
    j = expect_json(request("GET", one(SCRATCH, c["id"])), 200)
    expect(j["links"] == {"partnerships": [], "projects": []}, "links after the PATCH: %r" % j["links"])
    j = expect_json(request("GET", one(SCRATCH, prid, "projects")), 200)
    expect(c["id"] not in [x["id"] for x in j["linked"].get("contacts", [])], "still linked after the PATCH")


def t_vcard():
    if vobject is None:
        raise Fail("python3-vobject is not installed (apt-get install python3-vobject; scripts/deps.sh)")
    long_unit = "Kommunstyrelseförvaltningen, kansliet; internationella enheten \\ " + "å" * 60
    c = post({"name": "Åsa Öberg-Ärlig %s" % TAG, "title": "samordnare, EU; Norden", "unit": long_unit,
              "email": "asa@borlange.se", "phone": "0243 - 740 00", "languages": ["sv", "en"],
              "areas": ["culture"], "public": True})
    cards = vcards(SCRATCH)
    anon = list_all(SCRATCH)
    expect(len(cards) == len(anon), "%d cards, %d public contacts" % (len(cards), len(anon)))
    mine = [x for x in cards if x.fn.value == c["name"]]
    expect(len(mine) == 1, "the contact is not one card")
    v = mine[0]
    expect(v.title.value == "samordnare, EU; Norden", "TITLE %r" % v.title.value)
    org = v.org.value
    expect((org if isinstance(org, str) else ";".join(org)) == long_unit, "ORG %r" % org)
    expect(v.email.value == "asa@borlange.se", "EMAIL %r" % v.email.value)
    expect(v.tel.value == "0243 - 740 00", "TEL %r" % v.tel.value)
    expect(sorted(x.value for x in v.contents["lang"]) == ["en", "sv"], "LANG %r" % v.contents.get("lang"))
    expect(v.url.value.endswith("/%s/contacts/%d" % (SCRATCH, c["id"])), "URL %r" % v.url.value)
    expect(v.uid.value, "no UID")
    expect(len(vcards("svenljunga")) == 1, "Svenljunga's vcf is not its one contact")
    expect(len(vcards(SCRATCH, area="culture")) < len(cards), "the list's filters do not apply")


def t_cleanup():
    left = []
    for muni, i in reversed(created):
        r = request("DELETE", one(muni, i), token=tok(muni, "editor"))
        if r.status not in (204, 404):
            left.append("%s/%d: %d" % (muni, i, r.status))
    expect(not left, "not deleted: %s" % ", ".join(left))


def main():
    t.check("demo: Borlänge's Kristina Westhed (linked to Larvik, Frederikshavn, Chișinău) and Servicecenter; "
            "Svenljunga's Kanslienheten", t_demo)
    t.check("a partnership lists its contacts (linked) and its page says Fråga/Spørg/Ask: ...", t_ask_on_partnership)
    t.check("the contact's page (JSON-LD Person with ContactPoint) and the contacts page", t_html_and_jsonld)
    if t.check("a non-public contact (the default) is 404 and absent for anonymous readers: API, list, HTML, "
               "the partnership's linked and page, contacts.vcf", t_not_public):
        t.check("a reader token of the municipality sees it: API, list, linked, HTML, contacts.vcf",
                t_not_public_reader)
        t.check("public: true shows it on the partnership's page", t_publish)
    t.check("e-mail, phone and languages are checked (422 naming them)", t_shapes)
    t.check("links: other municipalities' and unknown ids are 422; a project lists its contact (Ask:); the "
            "filters; a linked partnership is not deleted (409); PATCH unlinks", t_links)
    t.check("contacts.vcf is vCard 4.0 read by vobject: one card per public contact, escaped values, "
            "lines folded at 75 octets, CRLF", t_vcard)
    t.check("clean up the contacts created by this run", t_cleanup)
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
