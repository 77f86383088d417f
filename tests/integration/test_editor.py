#!/usr/bin/env python3
"""The browser editor over HTTP (issue 15), without a browser: what a form
post does, and what hostile ones do not.

  - forms are made from the declared fields: field names are the JSON
    paths (partner.name, description.sv, agreements[0].kind), dates are
    year/month/day, enums are selects, every form has a hidden csrf
  - a save is 303 to the item's form, written through the API's lifecycle
    (the audit log names the user), and the cache is invalidated (the
    public page shows the change at once)
  - invalid input: 422, the form again with the input kept, an error
    summary linking to each field and the message beside it, in the
    user's language (sv, da, en)
  - a save over a newer version: 409, nothing lost
  - an unknown field: 422 naming it; a reader sees no form and may not post
  - hostile bodies (huge fields, invalid UTF-8, 10,000 fields, a[99999999],
    duplicate names, too deep): 4xx, never 5xx, nothing written
  - editor pages are private, no-store
"""
import http.client
import json
import os
import re
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import (HOST, PORT, SCHEME, Tap, create_token, expect, portalctl,  # noqa: E402
                     request)

t = Tap()
state = {}
MUNI = "lerum"


class Browser:
    """Cookies and forms over http.client: a browser without JavaScript."""

    def __init__(self, lang="en"):
        self.cookies = {}
        self.lang = lang

    def go(self, method, path, form=None, raw=None, headers=None):
        h = {"Accept-Language": self.lang}
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        if data is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
            h["Origin"] = "%s://%s:%d" % (SCHEME, HOST, PORT)
            h["Sec-Fetch-Site"] = "same-origin"
        if headers:
            h.update(headers)
        cls = http.client.HTTPSConnection if SCHEME == "https" else http.client.HTTPConnection
        conn = cls(HOST, PORT, timeout=60)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            body = r.read()
            hdrs = r.getheaders()
        finally:
            conn.close()
        for k, v in hdrs:
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                value = rest.split(";", 1)[0]
                if "max-age=0" in v.lower() or "expires=thu, 01 jan 1970" in v.lower() or value == "":
                    self.cookies.pop(name.strip(), None)
                else:
                    self.cookies[name.strip()] = value
        return Page(r.status, hdrs, body)


class Page:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.text = body.decode("utf-8", "replace")

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def hidden(self, name):
        m = re.search(r'<input type="hidden" name="%s" value="([^"]*)"' % re.escape(name), self.text)
        return m.group(1) if m else None

    def describe(self):
        return "status %s, location %s\n%s" % (self.status, self.header("location"), self.text[:1500])


def sign_in(email, password, lang="en"):
    b = Browser(lang)
    p = b.go("GET", "/login")
    expect(p.status == 200, "GET /login: %s" % p.status)
    csrf = p.hidden("csrf")
    expect(csrf, "the login form has a hidden csrf")
    p = b.go("POST", "/login", form={"email": email, "password": password, "csrf": csrf})
    expect(p.status == 303, "POST /login: %s\n%s" % (p.status, p.text[:500]))
    return b


def add_user(email, role, muni=MUNI, name="Test Person"):
    pw = "pw-%s-%d" % (role, os.getpid()) + "x" * 8
    r = portalctl("user", "add", email, "--name", name, "--municipality", muni, "--role", role, input=pw + "\n")
    expect(r.returncode == 0, "portalctl user add: %s %s" % (r.stdout, r.stderr))
    return pw


def setup():
    tag = "%d%d" % (os.getpid(), int(time.time()))
    state["editor"] = "ed%s@lerum.example" % tag
    state["editor_pw"] = add_user(state["editor"], "editor", name="Eva Redaktör")
    state["reader"] = "re%s@lerum.example" % tag
    state["reader_pw"] = add_user(state["reader"], "reader")
    state["b"] = sign_in(state["editor"], state["editor_pw"])
    state["admin_token"] = create_token(MUNI, "admin")


def form_of(p):
    """The form's fields as a browser would post them (text inputs, selected
    options, checked boxes, textareas, hidden inputs)."""
    f = {}
    # the editor's form only (the page's header has a search form of its own)
    m = re.search(r'<form method="post" novalidate.*?</form>', p.text, re.S)
    text = m.group(0) if m else p.text
    for m in re.finditer(r'<input ([^>]*)>', text):
        a = m.group(1)
        name = re.search(r'name="([^"]*)"', a)
        if not name or 'type="submit"' in a:
            continue
        val = re.search(r'value="([^"]*)"', a)
        typ = re.search(r'type="([^"]*)"', a)
        if typ and typ.group(1) in ("checkbox", "radio") and " checked" not in a:
            continue
        f[unescape(name.group(1))] = unescape(val.group(1) if val else "")
    for m in re.finditer(r'<textarea [^>]*name="([^"]*)"[^>]*>(.*?)</textarea>', text, re.S):
        f[unescape(m.group(1))] = unescape(m.group(2))
    for m in re.finditer(r'<select [^>]*name="([^"]*)"[^>]*>(.*?)</select>', text, re.S):
        sel = re.search(r'<option value="([^"]*)" selected|<option selected value="([^"]*)"', m.group(2))
        v = "" if sel is None else sel.group(1) if sel.group(1) is not None else sel.group(2)
        f[unescape(m.group(1))] = unescape(v)
    return f


def unescape(s):
    return (s.replace("&quot;", '"').replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">")
            .replace("&amp;", "&"))


def t_form_names():
    p = state["b"].go("GET", "/edit/%s/partnerships/new" % MUNI)
    expect(p.status == 200, "GET new: %s" % p.status)
    for name in ("partner.name", "partner.country", "kind", "status", "start_date.year", "start_date.month",
                 "start_date.day", "description.sv", "description.en", "csrf"):
        expect('name="%s"' % name in p.text, "the form has a field named %s" % name)
    expect(re.search(r'<select [^>]*name="kind"', p.text), "kind is a select")
    expect('value="add:agreements"' in p.text, "agreements can be added with a button")
    expect("<script" not in p.text, "no script")
    cc = p.header("cache-control") or ""
    expect("no-store" in cc and "private" in cc, "editor pages are private, no-store (%s)" % cc)


def t_create():
    b = state["b"]
    p = b.go("GET", "/edit/%s/partnerships/new" % MUNI)
    f = form_of(p)
    name = "Formby %d" % os.getpid()
    f.update({"partner.name": name, "kind": "friendship", "status": "active", "start_date.year": "1998",
              "start_date.month": "6", "description.sv": "Rad ett\r\nRad två", "areas[1]": "culture",
              "_n.agreements": "1", "agreements[0].kind": "letter_of_intent", "agreements[0].date.year": "1997",
              "agreements[0].signatories[0]": "Anna Andersson"})
    p = b.go("POST", "/edit/%s/partnerships/new" % MUNI, form=f)
    expect(p.status == 303, "save: %s" % p.describe())
    loc = p.header("location") or ""
    m = re.search(r"/edit/%s/partnerships/(\d+)" % MUNI, loc)
    expect(m, "303 to the item's form: %s" % loc)
    state["id"] = m.group(1)
    r = request("GET", "/api/v1/%s/partnerships/%s" % (MUNI, state["id"]), token=state["admin_token"])
    it = r.json
    expect(it["partner"]["name"] == name and it["start_date"] == "1998-06" and it["kind"] == "friendship",
           "written as typed: %s" % r.text)
    expect(it["description"]["sv"] == "Rad ett\nRad två", "line ends kept (as LF): %r" % it["description"])
    expect(it["areas"] == ["culture"] and it["agreements"][0]["signatories"] == ["Anna Andersson"],
           "arrays: %s" % r.text)
    p = b.go("GET", loc)
    expect(p.status == 200 and 'value="%s"' % name in p.text, "the form shows the item")
    expect(p.hidden("version") == "1", "the form carries the version")


def t_audit_user():
    r = request("GET", "/api/v1/%s/audit" % MUNI, token=state["admin_token"],
                query={"module": "partnerships", "item": state["id"]})
    expect(r.status == 200, "audit: %s" % r.status)
    expect("Eva Redaktör" in r.text, "the audit log names the user: %s" % r.text[:800])


def t_invalid():
    b = state["b"]
    path = "/edit/%s/partnerships/%s" % (MUNI, state["id"])
    f = form_of(b.go("GET", path))
    f["end_date.year"] = "1990"  # before the start
    f["partner.website"] = "not a url"
    f["partner.name"] = ""
    p = b.go("POST", path, form=f)
    expect(p.status == 422, "422: %s" % p.describe())
    expect('class="error-summary"' in p.text, "an error summary")
    for field in ("partner.name", "partner.website", "end_date"):
        expect('href="#f-%s"' % field in p.text, "the summary links to %s" % field)
        expect('id="f-%s-error"' % field in p.text, "the message of %s is beside it" % field)
    expect('value="not a url"' in p.text, "the input is kept")
    r = request("GET", "/api/v1/%s/partnerships/%s" % (MUNI, state["id"]), token=state["admin_token"])
    expect(r.json["version"] == 1, "nothing written")


def t_invalid_sv():
    b = Browser("sv")
    b.cookies = dict(state["b"].cookies)
    path = "/edit/%s/partnerships/%s" % (MUNI, state["id"])
    f = form_of(b.go("GET", path))
    f["partner.name"] = ""
    p = b.go("POST", path, form=f)
    expect(p.status == 422, "422: %s" % p.status)
    m = re.search(r'id="f-partner.name-error">(.*?)</p>', p.text, re.S)
    expect(m, "a message beside partner.name")
    msg = re.sub(r"<[^>]+>", "", m.group(1))
    expect("is required" not in msg and "Det finns ett problem" in p.text,
           "the message and summary are in Swedish: %r" % msg)


def t_conflict():
    b = state["b"]
    path = "/edit/%s/partnerships/%s" % (MUNI, state["id"])
    f = form_of(b.go("GET", path))
    r = request("PATCH", "/api/v1/%s/partnerships/%s" % (MUNI, state["id"]), token=state["admin_token"],
                body={"partner": {"region": "Jylland"}})
    expect(r.status == 200, "API patch: %s" % r.status)
    f["partner.region"] = "Själland"
    p = b.go("POST", path, form=f)
    expect(p.status == 409, "409: %s" % p.describe())
    expect("Jylland" in p.text and 'value="Själland"' in p.text, "both versions are on the page")
    r = request("GET", "/api/v1/%s/partnerships/%s" % (MUNI, state["id"]), token=state["admin_token"])
    expect(r.json["partner"]["region"] == "Jylland", "the newer version is not overwritten")
    f2 = form_of(p)
    expect(f2.get("version") == "2", "the conflict page's form is over the newer version")
    p = b.go("POST", path, form=f2)
    expect(p.status == 303, "saving again: %s" % p.status)


def t_unknown_field():
    b = state["b"]
    path = "/edit/%s/partnerships/%s" % (MUNI, state["id"])
    f = form_of(b.go("GET", path))
    f["partner.shoe_size"] = "44"
    p = b.go("POST", path, form=f)
    expect(p.status == 422 and "partner.shoe_size" in p.text, "422 naming the field: %s" % p.status)


def t_csrf():
    b = state["b"]
    path = "/edit/%s/partnerships/%s" % (MUNI, state["id"])
    f = form_of(b.go("GET", path))
    before = request("GET", "/api/v1/%s/partnerships/%s" % (MUNI, state["id"]), token=state["admin_token"]).json
    f["partner.region"] = "Ingen"
    g = dict(f)
    del g["csrf"]
    p = b.go("POST", path, form=g)
    expect(p.status == 403, "without csrf: %s" % p.status)
    g["csrf"] = "x" * 43
    p = b.go("POST", path, form=g)
    expect(p.status == 403, "with a wrong csrf: %s" % p.status)
    p = b.go("POST", path, form=f, headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    expect(p.status == 403, "from another site: %s" % p.status)
    after = request("GET", "/api/v1/%s/partnerships/%s" % (MUNI, state["id"]), token=state["admin_token"]).json
    expect(after["version"] == before["version"], "nothing written")


def t_reader():
    b = sign_in(state["reader"], state["reader_pw"])
    p = b.go("GET", "/edit/%s/partnerships/%s" % (MUNI, state["id"]))
    expect(p.status == 200, "a reader may look: %s" % p.status)
    expect("<form method=\"post\" novalidate" not in p.text and 'name="partner.name"' not in p.text,
           "and sees no form")
    p = b.go("GET", "/edit/%s/partnerships/new" % MUNI)
    expect(p.status == 403, "no new form for a reader: %s" % p.status)
    csrf = re.search(r'name="csrf" value="([^"]*)"', b.go("GET", "/edit/").text)
    p = b.go("POST", "/edit/%s/partnerships/new" % MUNI,
             form={"csrf": csrf.group(1) if csrf else "", "partner.name": "X", "kind": "friendship",
                   "status": "active"})
    expect(p.status == 403, "a reader may not post: %s" % p.status)


def t_other_municipality():
    p = state["b"].go("GET", "/edit/borlange/partnerships/")
    expect(p.status == 403, "an editor of lerum on /edit/borlange/: %s" % p.status)


def t_public_page_fresh():
    b = state["b"]
    path = "/edit/%s/partnerships/%s" % (MUNI, state["id"])
    request("GET", "/%s/partnerships/%s" % (MUNI, state["id"]))  # into the cache
    f = form_of(b.go("GET", path))
    f["partner.region"] = "Färsk region"
    p = b.go("POST", path, form=f)
    expect(p.status == 303, "save: %s" % p.status)
    r = request("GET", "/%s/partnerships/%s" % (MUNI, state["id"]))
    expect("Färsk region" in r.text, "the public page shows the change at once")


def t_preview():
    b = state["b"]
    p = b.go("GET", "/edit/borlange/news/new")
    expect(p.status == 403, "an editor of lerum has no borlange news form: %s" % p.status)
    p = b.go("GET", "/edit/%s/news/new" % MUNI)
    if p.status == 404:
        return  # lerum without news
    f = form_of(p)
    f.update({"title": "Förhandsvisning", "body": "Hej **fet** text <script>x</script>",
              "_action": "preview:body"})
    p = b.go("POST", "/edit/%s/news/new" % MUNI, form=f)
    expect(p.status == 200, "preview: %s" % p.status)
    expect("<strong>fet</strong>" in p.text, "the Markdown is shown rendered")
    expect("<script>x</script>" not in p.text, "in safe mode (no raw HTML)")
    expect("Hej **fet** text" in p.text, "and the text kept in its box")


def t_widget():
    b = state["b"]
    p = b.go("GET", "/edit/%s/contacts/new" % MUNI)
    expect(p.status == 200, "contacts form: %s" % p.status)
    expect(re.search(r'<input class="input" type="email"[^>]*name="email"', p.text),
           "the module's own widget for email (type=email)")
    f = form_of(p)
    f.update({"name": "Test Kontakt", "email": "not-an-address"})
    p = b.go("POST", "/edit/%s/contacts/new" % MUNI, form=f)
    expect(p.status == 422, "422: %s" % p.status)
    expect('id="f-email-error"' in p.text and 'aria-describedby="f-email-error"' in p.text
           and 'value="not-an-address"' in p.text and 'href="#f-email"' in p.text,
           "its error is beside it, wired, linked from the summary, the input kept")


def hostile(body, what):
    b = state["b"]
    before = request("GET", "/api/v1/%s/partnerships/%s" % (MUNI, state["id"]), token=state["admin_token"]).json
    csrf = form_of(b.go("GET", "/edit/%s/partnerships/%s" % (MUNI, state["id"])))["csrf"]
    if isinstance(body, str):
        body = body.replace("CSRF", csrf)
    else:
        body = body.replace(b"CSRF", csrf.encode())
    p = b.go("POST", "/edit/%s/partnerships/%s" % (MUNI, state["id"]), raw=body)
    expect(400 <= p.status < 500, "%s: 4xx, got %s" % (what, p.status))
    after = request("GET", "/api/v1/%s/partnerships/%s" % (MUNI, state["id"]), token=state["admin_token"]).json
    expect(after["version"] == before["version"], "%s: nothing written" % what)


def t_hostile():
    hostile("csrf=CSRF&partner.name=" + "a" * 200000, "a 200 KB field")
    hostile(b"csrf=CSRF&partner.name=%ff%fe", "invalid UTF-8")
    hostile("csrf=CSRF&" + "&".join("f%d=1" % i for i in range(10000)), "10,000 fields")
    hostile("csrf=CSRF&agreements[99999999].kind=termination", "a[99999999]")
    hostile("csrf=CSRF&partner.name=a&partner.name=b", "a name twice")
    hostile("csrf=CSRF&" + ".".join(["a"] * 30) + "=1", "30 levels deep")
    hostile("csrf=CSRF&partner.name=%zz", "a bad escape")
    hostile("csrf=CSRF&partner.name=a%00b", "a NUL")
    hostile("csrf=CSRF&" + "x" * 2000000, "a 2 MB body")


def named(name):
    """The ids of lerum's partnerships called `name`."""
    r = request("GET", "/api/v1/%s/partnerships" % MUNI, token=state["admin_token"], query={"limit": "100"})
    return [str(i["id"]) for i in r.json["items"] if i["partner"]["name"] == name]


def saved_id(p):
    m = re.search(r"/edit/%s/partnerships/(\d+)" % MUNI, p.header("location") or "")
    return m.group(1) if m else None


def t_double_save():
    b = state["b"]
    f = form_of(b.go("GET", "/edit/%s/partnerships/new" % MUNI))
    expect(re.fullmatch(r"[0-9a-f]{32}", f.get("_idem", "")), "the new item's form has a key: %r" % f.get("_idem"))
    name = "Dubbelklick %d" % os.getpid()
    f.update({"partner.name": name, "kind": "friendship", "status": "active"})
    # Save twice, one after the other: the second answer is the first's
    p1, p2 = b.go("POST", "/edit/%s/partnerships/new" % MUNI, form=f), \
        b.go("POST", "/edit/%s/partnerships/new" % MUNI, form=f)
    expect(p1.status == 303 and p2.status == 303, "two saves: %s, %s" % (p1.describe(), p2.describe()))
    state["extra"] = ids = named(name)
    expect(len(ids) == 1 and saved_id(p1) == saved_id(p2) == ids[0],
           "one item made (%r), both saves lead to it (%s, %s)" % (ids, saved_id(p1), saved_id(p2)))
    # two saves at the same moment (a double click): still one item
    g = form_of(b.go("GET", "/edit/%s/partnerships/new" % MUNI))
    twin = name + " tvilling"
    g.update({"partner.name": twin, "kind": "friendship", "status": "active"})
    got = []
    threads = [threading.Thread(target=lambda: got.append(
        b.go("POST", "/edit/%s/partnerships/new" % MUNI, form=g))) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    state["extra"] += named(twin)
    t.diag("two saves at once: %s" % ", ".join(str(p.status) for p in got))
    expect(len(named(twin)) == 1, "two saves at once made %d items" % len(named(twin)))
    expect(all(p.status == 303 for p in got) and saved_id(got[0]) == saved_id(got[1]),
           "two saves at once both lead to the item: %s" % [p.describe() for p in got])
    # Back, other details, Save: the form says so, with a new key; saving again makes another item
    f2 = dict(f, **{"partner.name": name + " igen"})
    p = b.go("POST", "/edit/%s/partnerships/new" % MUNI, form=f2)
    expect(p.status == 422 and "already saved" in p.text, "other details under the same key: %s" % p.describe())
    f3 = form_of(p)
    expect(f3.get("_idem") and f3["_idem"] != f["_idem"] and f3["partner.name"] == name + " igen",
           "a new key, the input kept: %r" % {k: f3.get(k) for k in ("_idem", "partner.name")})
    p = b.go("POST", "/edit/%s/partnerships/new" % MUNI, form=f3)
    expect(p.status == 303 and saved_id(p) not in ids, "saved as another item: %s" % p.describe())
    state["extra"] += named(name + " igen")


def t_cleanup():
    """The partnership made by this run goes (other tests count the demo's)."""
    for pid in state.get("extra", []):
        request("DELETE", "/api/v1/%s/partnerships/%s" % (MUNI, pid), token=state["admin_token"])
    if state.get("id"):
        r = request("DELETE", "/api/v1/%s/partnerships/%s" % (MUNI, state["id"]), token=state["admin_token"])
        expect(r.status == 204, "DELETE: %s" % r.status)


def main():
    if t.check("set up: an editor and a reader of lerum, signed in", setup) is None:
        return t.done()
    t.check("forms are made from the declared fields; names are JSON paths; private pages", t_form_names)
    if t.check("a new partnership saved from a form: 303, written as typed", t_create) is None:
        t.check("clean up the partnership made by this run", t_cleanup)
        return t.done()
    t.check("the audit log names the browser user", t_audit_user)
    t.check("invalid input: 422, summary, messages beside fields, input kept, nothing written", t_invalid)
    t.check("messages in the user's language (sv)", t_invalid_sv)
    t.check("a save over a newer version: 409, both kept; saving again writes", t_conflict)
    t.check("an unknown field: 422 naming it", t_unknown_field)
    t.check("no csrf, a wrong one, another site: 403 and nothing written", t_csrf)
    t.check("a reader sees no form and may not post", t_reader)
    t.check("an editor of lerum gets 403 in borlange", t_other_municipality)
    t.check("a save invalidates the public page's cache", t_public_page_fresh)
    t.check("a Markdown field's preview renders it safely, nothing saved", t_preview)
    t.check("a module's own widget (contacts' email) takes part in errors like any field", t_widget)
    t.check("hostile form bodies: 4xx, never 5xx, nothing written", t_hostile)
    t.check("Save pressed twice, or twice at once, makes one item; Back and other details make another, "
            "said so", t_double_save)
    t.check("clean up the partnership made by this run", t_cleanup)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
