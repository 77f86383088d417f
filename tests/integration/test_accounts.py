#!/usr/bin/env python3
"""Accounts, sessions and CSRF for the browser (issue 15, parts 1-3).

  portalctl user add / list / role / passwd / disable (password on stdin,
  at least 10 characters); GET /login; a good POST /login (a new session
  id, cookie HttpOnly, SameSite=Lax, Path=/); a bad one (the same message
  for an unknown user, a wrong password and a disabled user, no cookie);
  session fixation; logout ends the session on the server; throttling
  (20 failures from one address, 5 for one account -> 429); CSRF (no token,
  a wrong Origin, Sec-Fetch-Site cross-site -> 403, nothing written);
  roles (an editor of lerum gets 403 on /edit/borlange/, a reader sees no
  admin forms); expired and idle sessions go to /login; an admin creates
  and revokes a token in the browser; the audit log names the user of a
  browser write.

Throttling counts by REMOTE_ADDR: its checks connect from other loopback
addresses (127.0.0.x) and delete their rows afterwards, so that the
stack's other tests can still sign in from 127.0.0.1.
"""
import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import (HOST, PORT, PORTAL_CONF, PORTAL_URL, PORTAL_VAR, Tap, create_token,  # noqa: E402
                     expect, portalctl, request, token_id)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
B = os.path.join(ROOT, os.environ.get("B", "build"))
ADMIN = os.environ.get("PORTAL_ADMIN_TOKEN", "")
TAG = "acct%d" % os.getpid()
ORIGIN = "%s://%s" % (urllib.parse.urlsplit(PORTAL_URL).scheme, urllib.parse.urlsplit(PORTAL_URL).netloc)
PW = "correct horse %s" % TAG

t = Tap()
state = {}


def email(who):
    return "%s-%s@example.org" % (who, TAG)


# ---------------------------------------------------------------- helpers

def conf_db():
    """The database settings of PORTAL_CONF (socket, name, user, password)."""
    with open(PORTAL_CONF, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"database\s*[:=]\s*\{(.*?)\};", text, re.S)
    expect(m, "no database group in %s" % PORTAL_CONF)
    out = {}
    for k in ("socket", "host", "name", "user", "password"):
        v = re.search(r'\b%s\s*=\s*"([^"]*)"' % k, m.group(1))
        if v:
            out[k] = v.group(1)
    port = re.search(r"\bport\s*=\s*(\d+)", m.group(1))
    if port:
        out["port"] = port.group(1)
    return out


def sql(query):
    db = conf_db()
    cmd = ["mariadb", "--no-defaults", "--batch", "--skip-column-names", "--user=" + db["user"]]
    if db.get("socket"):
        cmd += ["--protocol=socket", "--socket=" + db["socket"]]
    else:
        cmd += ["--protocol=tcp", "--host=" + db.get("host", "127.0.0.1"), "--port=" + db.get("port", "3306")]
    cmd += [db["name"], "-e", query]
    env = dict(os.environ, MYSQL_PWD=db.get("password", ""))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env)
    expect(r.returncode == 0, "mariadb: %s" % r.stderr.strip())
    return r.stdout


def user_add(addr, name, muni, role, password=PW):
    r = subprocess.run([os.environ.get("PORTALCTL", os.path.join(B, "portalctl")), "-c", PORTAL_CONF,
                        "user", "add", addr, "--name", name, "--municipality", muni, "--role", role],
                       input=password + "\n", capture_output=True, text=True, timeout=60)
    return r


class Browser:
    """A cookie jar and requests as a browser sends them (Origin on POST)."""

    def __init__(self, source=None):
        self.cookies = {}
        self.source = source

    def req(self, method, path, form=None, headers=None, cookies=None, origin=True):
        h = {"Accept": "text/html", "Accept-Language": "en"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
            if origin:
                h["Origin"] = ORIGIN
        jar = dict(self.cookies)
        if cookies is not None:
            jar = cookies
        if jar:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in jar.items())
        if headers:
            h.update(headers)
        conn = http.client.HTTPConnection(HOST, PORT, timeout=60,
                                          source_address=(self.source, 0) if self.source else None)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            set_cookies = [v for k, v in r.getheaders() if k.lower() == "set-cookie"]
            res = Resp(r.status, r.getheaders(), data, set_cookies)
        finally:
            conn.close()
        for sc in set_cookies:
            name, _, rest = sc.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in sc.lower() or value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return res

    def login_form(self):
        r = self.req("GET", "/login")
        expect(r.status == 200, "GET /login: %d" % r.status, r)
        m = re.search(r'name="csrf" value="([^"]+)"', r.text)
        expect(m, "GET /login has no csrf field", r)
        return m.group(1)

    def login(self, addr, password=PW, next_=None, **kw):
        csrf = self.login_form()
        form = {"csrf": csrf, "email": addr, "password": password}
        if next_ is not None:
            form["next"] = next_
        return self.req("POST", "/login", form=form, **kw)

    def csrf_of(self, path):
        r = self.req("GET", path)
        m = re.search(r'name="csrf" value="([^"]+)"', r.text)
        expect(m, "GET %s (%d) has no csrf field" % (path, r.status), r)
        return m.group(1)


class Resp:
    def __init__(self, status, headers, body, set_cookies):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self.text = body.decode("utf-8", "replace")
        self.set_cookies = set_cookies

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def cookie(self, name):
        for sc in self.set_cookies:
            if sc.startswith(name + "="):
                return sc
        return None

    def describe(self):
        lines = ["status: %s" % self.status]
        for k in ("location", "set-cookie", "content-type"):
            if k in self.headers:
                lines.append("%s: %s" % (k, self.headers[k]))
        body = re.sub(r"(?s)^.*<main[^>]*>|</main>.*$", "", self.text)
        lines.append("body: " + body[:1200].replace("\n", "\n#   "))
        return lines


def expect_status(r, *codes):
    expect(r.status in codes, "expected %s, got %d" % (" or ".join(map(str, codes)), r.status), r)


def expect_to_login(r):
    expect_status(r, 303)
    expect((r.header("location") or "").startswith("/login"),
           "redirects to %r, not /login" % r.header("location"), r)


def session_of(b):
    return b.cookies.get("portal_session")


def signed_in(user, password=PW):
    b = Browser()
    r = b.login(user, password)
    expect_status(r, 303)
    expect(session_of(b), "no session cookie after a good sign-in", r)
    return b


# ---------------------------------------------------------------- portalctl

def t_user_add():
    for who, muni, role in (("ed", "lerum", "editor"), ("reader", "lerum", "reader"),
                            ("admin", "lerum", "admin"), ("other", "borlange", "editor"),
                            ("victim", "lerum", "editor")):
        r = user_add(email(who), "%s %s" % (who.title(), TAG), muni, role)
        expect(r.returncode == 0, "user add %s: exit %d: %s" % (who, r.returncode, r.stderr.strip()))


def t_user_add_refuses_short():
    r = user_add(email("short"), "Short", "lerum", "editor", password="abc123")
    expect(r.returncode != 0 and "10" in r.stderr,
           "a 6-character password: exit %d, %r" % (r.returncode, r.stderr.strip()))
    r = user_add(email("empty"), "Empty", "lerum", "editor", password="")
    expect(r.returncode != 0 and "empty" in r.stderr,
           "an empty password: exit %d, %r" % (r.returncode, r.stderr.strip()))
    r = user_add(email("ed"), "Again", "lerum", "editor")
    expect(r.returncode != 0 and "exists" in r.stderr,
           "a second account with the same e-mail: exit %d, %r" % (r.returncode, r.stderr.strip()))
    r = user_add(email("x"), "X", "nowhere", "editor")
    expect(r.returncode != 0, "an unknown municipality is accepted")
    r = user_add(email("x"), "X", "lerum", "superuser")
    expect(r.returncode != 0, "an unknown role is accepted")


def t_user_list():
    r = portalctl("user", "list")
    expect(r.returncode == 0, "user list: exit %d: %s" % (r.returncode, r.stderr))
    lines = [ln for ln in r.stdout.splitlines() if email("ed") in ln]
    expect(len(lines) == 1 and "lerum:editor" in lines[0] and "active" in lines[0],
           "user list does not show %s as an active lerum:editor:\n%s" % (email("ed"), r.stdout))
    expect("$argon2" not in r.stdout, "user list shows password hashes")


def t_hash_is_argon2id():
    out = sql("SELECT password_hash FROM users WHERE email = '%s'" % email("ed")).strip()
    expect(out.startswith("$argon2id$"), "the stored hash is not Argon2id: %r" % out[:20])


# ---------------------------------------------------------------- sign-in

def t_login_form():
    b = Browser()
    r = b.req("GET", "/login")
    expect_status(r, 200)
    for want in ('name="email"', 'name="password"', 'name="csrf"', 'autocomplete="username"',
                 'autocomplete="current-password"', 'method="post"', '<label'):
        expect(want in r.text, "the form lacks %s" % want, r)
    c = r.cookie("portal_login")
    expect(c and "HttpOnly" in c and "SameSite" in c, "the login cookie: %r" % c, r)
    expect("no-store" in (r.header("cache-control") or ""), "the login page may be cached", r)
    expect("<script" not in r.text, "the login page has a script", r)


def t_login_good():
    b = Browser()
    r = b.login(email("ed"))
    expect_status(r, 303)
    expect(r.header("location") == "/edit/", "a sign-in without next goes to %r" % r.header("location"), r)
    c = r.cookie("portal_session")
    expect(c, "no portal_session cookie", r)
    parts = [p.strip() for p in c.split(";")]
    expect("HttpOnly" in parts, "the session cookie is not HttpOnly: %s" % c, r)
    expect("SameSite=Lax" in parts or "SameSite=Strict" in parts, "no SameSite: %s" % c, r)
    expect("Path=/" in parts, "the session cookie's Path is not /: %s" % c, r)
    expect("Secure" not in parts, "Secure over plain http (the browser would drop it): %s" % c, r)
    value = parts[0].split("=", 1)[1]
    expect(re.fullmatch(r"[A-Za-z0-9_-]{43}", value), "the session id is not 32 bytes base64url: %r" % value)
    hashes = sql("SELECT id_hash FROM sessions").split()
    expect(value not in hashes and all(len(h) == 64 for h in hashes),
           "the sessions table holds the id itself, not its hash")
    r = b.req("GET", "/edit/lerum/")
    expect_status(r, 200)
    state["ed"] = b


def t_login_next():
    b = Browser()
    r = b.login(email("ed"), next_="/edit/lerum/news/")
    expect(r.status == 303 and r.header("location") == "/edit/lerum/news/",
           "next=/edit/lerum/news/ went to %r" % r.header("location"), r)
    for bad in ("//evil.example/", "/\\evil.example/", "https://evil.example/", "javascript:alert(1)"):
        b = Browser()
        r = b.login(email("ed"), next_=bad)
        expect(r.status == 303 and r.header("location") == "/edit/",
               "next=%r went to %r" % (bad, r.header("location")), r)


def t_login_bad_same_message():
    msgs = []
    sql("UPDATE users SET disabled_at = NULL WHERE email = '%s'" % email("victim"))
    portalctl("user", "disable", email("victim"))
    for addr, pw in ((email("ed"), "wrong password!"), (email("nobody"), PW), (email("victim"), PW)):
        b = Browser()
        r = b.login(addr, pw)
        expect_status(r, 401, 200)
        expect(r.cookie("portal_session") is None, "a bad sign-in set a session cookie", r)
        expect('value="%s"' % addr in r.text, "the e-mail is not kept in the form", r)
        expect('class="error-summary"' in r.text and 'href="#email"' in r.text,
               "no error summary linking to the field", r)
        expect('aria-invalid="true"' in r.text, "the field is not marked aria-invalid", r)
        m = re.search(r'<p id="email-error" class="error-message">([^<]*)</p>', r.text)
        expect(m, "no message beside the field", r)
        msgs.append((r.status, m.group(1)))
    expect(len(set(msgs)) == 1, "different answers for a wrong password, an unknown user and a "
                                "disabled one: %r" % msgs)
    sql("DELETE FROM login_failures WHERE email IN ('%s', '%s', '%s')" %
        (email("ed"), email("nobody"), email("victim")))


def t_fixation():
    # the attacker's own valid session, planted in the victim's browser
    attacker = signed_in(email("other"))
    planted = session_of(attacker)
    b = Browser()
    b.cookies["portal_session"] = planted
    r = b.login(email("ed"))
    expect_status(r, 303)
    new = session_of(b)
    expect(new and new != planted, "the session id presented before sign-in was kept")
    r = attacker.req("GET", "/edit/borlange/")
    expect_to_login(r)
    # an id the server never made is not taken either
    b = Browser()
    b.cookies["portal_session"] = "A" * 43
    r = b.login(email("ed"))
    expect(session_of(b) not in (None, "A" * 43), "a client-chosen session id was used")


def t_logout():
    b = signed_in(email("ed"))
    old = session_of(b)
    csrf = b.csrf_of("/edit/lerum/")
    r = b.req("POST", "/logout", form={"csrf": csrf})
    expect_status(r, 303)
    expect(r.header("location") == "/login", "logout goes to %r" % r.header("location"), r)
    c = r.cookie("portal_session") or ""
    expect("Max-Age=0" in c, "logout does not expire the cookie: %r" % c, r)
    # the old cookie, replayed, no longer works: the session ended on the server
    r = b.req("GET", "/edit/lerum/", cookies={"portal_session": old})
    expect_to_login(r)


def t_logout_needs_csrf():
    b = signed_in(email("ed"))
    r = b.req("POST", "/logout", form={"csrf": "x" * 43})
    expect_status(r, 403)
    r = b.req("GET", "/edit/lerum/")
    expect_status(r, 200)


def t_edit_needs_session():
    r = Browser().req("GET", "/edit/")
    expect_to_login(r)
    r = Browser().req("GET", "/edit/lerum/news/?x=1")
    expect_to_login(r)
    expect(r.header("location") == "/login?next=/edit/lerum/news/%3Fx%3D1",
           "next is not the page asked for: %r" % r.header("location"), r)
    r = Browser().req("GET", "/edit/", cookies={"portal_session": "garbage;;=="})
    expect_to_login(r)


def t_expired():
    b = signed_in(email("ed"))
    sql("UPDATE sessions SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE user_id = "
        "(SELECT id FROM users WHERE email = '%s')" % email("ed"))
    r = b.req("GET", "/edit/lerum/")
    expect_to_login(r)
    b = signed_in(email("ed"))
    sql("UPDATE sessions SET last_seen = UTC_TIMESTAMP(3) - INTERVAL 3 HOUR WHERE user_id = "
        "(SELECT id FROM users WHERE email = '%s')" % email("ed"))
    r = b.req("GET", "/edit/lerum/")
    expect_to_login(r)


def t_touch():
    b = signed_in(email("ed"))
    sql("UPDATE sessions SET last_seen = UTC_TIMESTAMP(3) - INTERVAL 30 MINUTE WHERE user_id = "
        "(SELECT id FROM users WHERE email = '%s')" % email("ed"))
    expect_status(b.req("GET", "/edit/lerum/"), 200)
    age = sql("SELECT MIN(TIMESTAMPDIFF(SECOND, last_seen, UTC_TIMESTAMP(3))) FROM sessions WHERE "
              "user_id = (SELECT id FROM users WHERE email = '%s')" % email("ed")).strip()
    expect(int(age) < 60, "last_seen did not move on use (%s s old)" % age)


# ---------------------------------------------------------------- throttling

def t_throttle_address():
    src = "127.0.0.%d" % (10 + os.getpid() % 200)
    b = Browser(source=src)
    try:
        for i in range(20):
            r = b.login(email("t%d" % i), "wrong password %d" % i)
            expect(r.status in (401, 200), "wrong password %d: %d" % (i + 1, r.status), r)
        r = b.login(email("ed"), PW)
        expect_status(r, 429)
        expect(r.header("retry-after", "").isdigit(), "no Retry-After", r)
        expect(r.cookie("portal_session") is None, "a throttled sign-in set a session", r)
        # another address is not affected
        r = Browser().login(email("ed"))
        expect_status(r, 303)
    finally:
        sql("DELETE FROM login_failures WHERE address = '%s'" % src)


def t_throttle_account():
    src = "127.0.1.%d" % (10 + os.getpid() % 200)
    b = Browser(source=src)
    try:
        for i in range(5):
            r = b.login(email("victim2"), "wrong password %d" % i)
            expect(r.status in (401, 200), "wrong password %d: %d" % (i + 1, r.status), r)
        r = Browser().login(email("victim2"), "yet another one")
        expect_status(r, 429)
    finally:
        sql("DELETE FROM login_failures WHERE address = '%s' OR email = '%s'" % (src, email("victim2")))


# ---------------------------------------------------------------- CSRF

def t_login_csrf():
    b = Browser()
    b.login_form()
    r = b.req("POST", "/login", form={"email": email("ed"), "password": PW})
    expect_status(r, 403)
    expect(r.cookie("portal_session") is None, "a sign-in without csrf set a session", r)
    r = b.req("POST", "/login", form={"csrf": "x" * 43, "email": email("ed"), "password": PW})
    expect_status(r, 403)
    # a token from another browser (cookie) does not count
    csrf = Browser().login_form()
    r = b.req("POST", "/login", form={"csrf": csrf, "email": email("ed"), "password": PW})
    expect_status(r, 403)


def admin_browser():
    if "admin" not in state:
        state["admin"] = signed_in(email("admin"))
    return state["admin"]


def t_post_without_csrf():
    b = admin_browser()
    who = email("csrf1")
    r = b.req("POST", "/edit/lerum/users", form={"action": "add", "email": who, "name": "C", "role": "editor"})
    expect_status(r, 403)
    expect("expired" in r.text or "not this site" in r.text, "the 403 page does not say why", r)
    r = portalctl("user", "list")
    expect(who not in r.stdout, "a POST without csrf created a user")


def t_wrong_origin():
    b = admin_browser()
    csrf = b.csrf_of("/edit/lerum/users")
    who = email("csrf2")
    form = {"csrf": csrf, "action": "add", "email": who, "name": "C", "role": "editor"}
    r = b.req("POST", "/edit/lerum/users", form=form, headers={"Origin": "https://evil.example"})
    expect_status(r, 403)
    r = b.req("POST", "/edit/lerum/users", form=form, headers={"Sec-Fetch-Site": "cross-site"})
    expect_status(r, 403)
    r = b.req("POST", "/edit/lerum/users", form=form, headers={"Origin": "null"})
    expect_status(r, 403)
    r = portalctl("user", "list")
    expect(who not in r.stdout, "a cross-site POST created a user")
    # the other session's token is not this one's
    other = signed_in(email("admin"))
    r = other.req("POST", "/edit/lerum/users", form=form)
    expect_status(r, 403)


# ---------------------------------------------------------------- roles

def t_other_municipality():
    b = signed_in(email("ed"))
    for path in ("/edit/borlange/", "/edit/borlange/news/", "/edit/borlange/users"):
        r = b.req("GET", path)
        expect_status(r, 403)
    expect_status(b.req("GET", "/edit/lerum/users"), 403)
    expect_status(b.req("GET", "/edit/lerum/tokens"), 403)


def t_reader_no_forms():
    b = signed_in(email("reader"))
    for path in ("/edit/lerum/users", "/edit/lerum/tokens"):
        r = b.req("GET", path)
        expect_status(r, 403)
        # (every page has the site's search form, a GET; no form that writes)
        expect('method="post"' not in r.text and 'name="csrf"' not in r.text,
               "%s shows a reader a form" % path, r)
    r = b.req("GET", "/edit/lerum/news/new")
    expect_status(r, 403)
    expect('name="title"' not in r.text, "a reader gets the new-item form", r)


# ---------------------------------------------------------------- admin pages

def t_admin_users_page():
    b = admin_browser()
    r = b.req("GET", "/edit/lerum/users")
    expect_status(r, 200)
    for who in ("ed", "reader", "admin"):
        expect(email(who) in r.text, "the users page lacks %s" % email(who), r)
    expect(email("other") not in r.text, "lerum's users page lists a borlange user", r)
    expect(r.text.count('name="csrf"') >= 3, "the forms lack the csrf field", r)


def t_admin_add_invalid():
    b = admin_browser()
    csrf = b.csrf_of("/edit/lerum/users")
    r = b.req("POST", "/edit/lerum/users", form={"csrf": csrf, "action": "add", "email": "not an address",
                                                 "name": "Kept Name", "role": "editor", "password": "short"})
    expect_status(r, 422)
    expect('href="#email"' in r.text and 'href="#password"' in r.text, "the summary does not link to the fields", r)
    expect('aria-describedby="email-error"' in r.text and 'aria-invalid="true"' in r.text,
           "the field is not described by its message", r)
    expect('value="Kept Name"' in r.text and 'value="not an address"' in r.text, "the input is not kept", r)


def t_admin_add_user():
    b = admin_browser()
    csrf = b.csrf_of("/edit/lerum/users")
    who = email("made")
    r = b.req("POST", "/edit/lerum/users", form={"csrf": csrf, "action": "add", "email": who,
                                                 "name": "Made In Browser", "role": "editor", "password": ""})
    expect_status(r, 200)
    m = re.search(r'<code class="secret">([^<]+)</code>', r.text)
    expect(m, "no password shown for the new user", r)
    password = m.group(1)
    expect(len(password) >= 10, "the made password is short: %r" % password)
    expect(password not in b.req("GET", "/edit/lerum/users").text, "the password is shown again")
    nb = signed_in(who, password)
    expect_status(nb.req("GET", "/edit/lerum/"), 200)
    uid = sql("SELECT id FROM users WHERE email = '%s'" % who).strip()
    # role: editor -> reader
    r = b.req("POST", "/edit/lerum/users", form={"csrf": csrf, "action": "role", "user": uid, "role": "reader"})
    expect_status(r, 303)
    out = portalctl("user", "list").stdout
    expect(any(who in ln and "lerum:reader" in ln for ln in out.splitlines()), "the role did not change:\n" + out)
    # disable: the account's session ends, it cannot sign in
    r = b.req("POST", "/edit/lerum/users", form={"csrf": csrf, "action": "disable", "user": uid})
    expect_status(r, 303)
    expect_to_login(nb.req("GET", "/edit/lerum/"))
    r = Browser().login(who, password)
    expect_status(r, 401, 200)
    # a user of another municipality is not this admin's to change
    oid = sql("SELECT id FROM users WHERE email = '%s'" % email("other")).strip()
    r = b.req("POST", "/edit/lerum/users", form={"csrf": csrf, "action": "disable", "user": oid})
    expect_status(r, 404)
    out = portalctl("user", "list").stdout
    expect(any(email("other") in ln and "active" in ln for ln in out.splitlines()),
           "lerum's admin disabled a borlange user")
    sql("DELETE FROM login_failures WHERE email = '%s'" % who)


def t_admin_tokens():
    b = admin_browser()
    csrf = b.csrf_of("/edit/lerum/tokens")
    r = b.req("POST", "/edit/lerum/tokens", form={"csrf": csrf, "action": "create", "role": "editor",
                                                  "label": TAG + " browser", "expires": "30"})
    expect_status(r, 200)
    m = re.search(r"\b(pt_[A-Za-z0-9_-]{43})\b", r.text)
    expect(m, "the new token is not shown", r)
    token = m.group(1)
    expect(TAG + " browser" in r.text, "the label is not listed", r)
    expect(token not in b.req("GET", "/edit/lerum/tokens").text, "the token is shown a second time")
    api = request("GET", "/api/v1/lerum/partnerships", token=token)
    expect(api.status == 200, "the new token does not work: %d %s" % (api.status, api.text[:200]))
    tid = token_id(token)
    r = b.req("POST", "/edit/lerum/tokens", form={"csrf": csrf, "action": "revoke", "token": tid})
    expect_status(r, 303)
    api = request("GET", "/api/v1/lerum/partnerships", token=token)
    expect(api.status == 401, "the revoked token still works: %d" % api.status)
    # a token of another municipality is not lerum's admin's to revoke
    other = create_token("borlange", "reader")
    r = b.req("POST", "/edit/lerum/tokens", form={"csrf": csrf, "action": "revoke", "token": token_id(other)})
    expect_status(r, 404)
    expect(request("GET", "/api/v1/borlange/partnerships", token=other).status == 200,
           "lerum's admin revoked a borlange token")


def t_admin_tokens_invalid():
    b = admin_browser()
    csrf = b.csrf_of("/edit/lerum/tokens")
    r = b.req("POST", "/edit/lerum/tokens", form={"csrf": csrf, "action": "create", "role": "root",
                                                  "label": "kept label", "expires": "soon"})
    expect_status(r, 422)
    expect('href="#expires"' in r.text and 'href="#role"' in r.text, "no summary linking to the fields", r)
    expect('value="kept label"' in r.text, "the label is not kept", r)
    expect(not re.search(r"pt_[A-Za-z0-9_-]{43}", r.text), "a token was made from an invalid form", r)


# ---------------------------------------------------------------- portalctl passwd, disable

def t_passwd():
    b = signed_in(email("ed"))
    new = "a new one " + TAG
    r = subprocess.run([os.environ.get("PORTALCTL", os.path.join(B, "portalctl")), "-c", PORTAL_CONF,
                        "user", "passwd", email("ed")], input=new + "\n", capture_output=True, text=True, timeout=60)
    expect(r.returncode == 0, "user passwd: exit %d: %s" % (r.returncode, r.stderr))
    expect_to_login(b.req("GET", "/edit/lerum/"))
    expect_status(Browser().login(email("ed"), PW), 401, 200)
    signed_in(email("ed"), new)
    r = subprocess.run([os.environ.get("PORTALCTL", os.path.join(B, "portalctl")), "-c", PORTAL_CONF,
                        "user", "passwd", email("ed")], input="short\n", capture_output=True, text=True, timeout=60)
    expect(r.returncode != 0, "user passwd accepted a 5-character password")
    r = subprocess.run([os.environ.get("PORTALCTL", os.path.join(B, "portalctl")), "-c", PORTAL_CONF,
                        "user", "passwd", email("ed")], input=PW + "\n", capture_output=True, text=True, timeout=60)
    expect(r.returncode == 0, "user passwd back: %s" % r.stderr)
    sql("DELETE FROM login_failures WHERE email = '%s'" % email("ed"))


def t_role_and_disable_cli():
    r = portalctl("user", "role", email("other"), "--municipality", "lerum", "--role", "reader")
    expect(r.returncode == 0, "user role: %s" % r.stderr)
    b = signed_in(email("other"))
    expect_status(b.req("GET", "/edit/lerum/"), 200)
    expect_status(b.req("GET", "/edit/borlange/"), 200)
    r = portalctl("user", "role", email("other"), "--municipality", "lerum", "--role", "none")
    expect(r.returncode == 0, "user role none: %s" % r.stderr)
    r = portalctl("user", "disable", email("other"))
    expect(r.returncode == 0, "user disable: %s" % r.stderr)
    expect_to_login(b.req("GET", "/edit/borlange/"))
    out = portalctl("user", "list").stdout
    expect(any(email("other") in ln and "disabled" in ln for ln in out.splitlines()), "not listed as disabled")


# ---------------------------------------------------------------- audit

def t_audit_user():
    expect(ADMIN, "PORTAL_ADMIN_TOKEN is not set")
    r = request("POST", "/api/v1/lerum/news", token=ADMIN,
                body={"title": "%s audit" % TAG, "lang": "sv", "slug": "%s-audit" % TAG})
    expect(r.status == 201, "POST news: %d %s" % (r.status, r.text[:300]))
    nid = r.json["id"]
    a = request("GET", "/api/v1/lerum/audit", token=ADMIN, query={"module": "news", "item": nid})
    expect(a.status == 200, "GET audit: %d" % a.status)
    e = a.json["items"][0]
    expect(e.get("user") is None and e.get("token"), "an API write's entry: %r" % {k: e.get(k) for k in ("token", "user")})
    state["news"] = (nid, r.json.get("version"))


def t_audit_browser_write():
    nid, version = state["news"]
    b = signed_in(email("admin"))
    r = b.req("GET", "/edit/lerum/news/%d/delete" % nid)
    expect_status(r, 200)
    csrf = re.search(r'name="csrf" value="([^"]+)"', r.text)
    ver = re.search(r'name="version" value="([^"]+)"', r.text)
    expect(csrf and ver, "the delete page has no csrf/version", r)
    r = b.req("POST", "/edit/lerum/news/%d/delete" % nid, form={"csrf": csrf.group(1), "version": ver.group(1)})
    expect_status(r, 303)
    a = request("GET", "/api/v1/lerum/audit", token=ADMIN, query={"module": "news", "item": nid, "action": "delete"})
    expect(a.status == 200 and a.json["items"], "no audit entry for the delete: %d %s" % (a.status, a.text[:300]))
    u = a.json["items"][0].get("user") or {}
    expect(u.get("email") == email("admin") and u.get("name"), "the entry does not name the user: %r" % u)


# ---------------------------------------------------------------- configuration

def t_reserved_slug():
    with open(PORTAL_CONF, encoding="utf-8") as f:
        text = f.read()
    path = os.path.join(os.path.dirname(PORTAL_CONF), "acct-reserved.conf")
    inc = re.search(r'@include "([^"]+)"', text)
    expect(inc, "portal.conf has no @include of the municipalities")
    with open(os.path.join(os.path.dirname(PORTAL_CONF), inc.group(1)), encoding="utf-8") as f:
        munis = f.read()
    munis = munis.replace('slug = "lerum"', 'slug = "login"', 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(inc.group(0), "") + "\n" + munis)
    try:
        r = subprocess.run([os.path.join(B, "portald"), "-t", "-c", path], capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(path)
    expect(r.returncode != 0 and "reserved" in r.stderr,
           "portald -t accepts a municipality called login (exit %d): %s" % (r.returncode, r.stderr[-300:]))


# ---------------------------------------------------------------- /account

def t_own_password():
    user_add(email("own"), "Ola Egen", "lerum", "editor")
    b, other = signed_in(email("own")), signed_in(email("own"))
    expect_to_login(Browser().req("GET", "/account"))
    r = b.req("GET", "/account")
    expect_status(r, 200)
    for name, ac in (("current", "current-password"), ("new", "new-password"), ("again", "new-password")):
        expect(re.search(r'<label class="label" for="%s">' % name, r.text) and
               re.search(r'name="%s" type="password" autocomplete="%s"' % (name, ac), r.text),
               "the %s field has a label and autocomplete %s" % (name, ac), r)
    expect('href="/account"' in b.req("GET", "/edit/").text, "the editor's bar links to /account")
    csrf = b.csrf_of("/account")
    new = "ett nytt lösenord " + TAG
    cases = (({"current": "", "new": new, "again": new}, "current", "Enter your current password"),
             ({"current": PW, "new": "kort", "again": "kort"}, "new", "at least 10 characters"),
             ({"current": PW, "new": new, "again": new + "x"}, "again", "same new password twice"),
             ({"current": "wrong " + PW, "new": new, "again": new}, "current", "current password is wrong"))
    for form, field, text in cases:
        r = b.req("POST", "/account", form=dict(form, csrf=csrf))
        expect_status(r, 422)
        expect('<a href="#%s">' % field in r.text and 'id="%s-error"' % field in r.text and text in r.text,
               "%s: the summary links to the field, the message is beside it (%s)" % (field, text), r)
        expect(r.text.count('aria-invalid="true"') == 1, "only %s is marked invalid" % field, r)
    sql("DELETE FROM login_failures WHERE email = '%s'" % email("own"))
    r = b.req("POST", "/account", form={"current": PW, "new": new, "again": new})
    expect_status(r, 403)
    r = b.req("POST", "/account", form={"csrf": csrf, "current": PW, "new": new, "again": new},
              headers={"Origin": "https://elsewhere.example"})
    expect_status(r, 403)
    expect_status(Browser().login(email("own"), PW), 303)  # not changed by the refused ones
    old_sid = session_of(b)
    r = b.req("POST", "/account", form={"csrf": csrf, "current": PW, "new": new, "again": new})
    expect_status(r, 303)
    expect(r.header("location") == "/account?changed=1", "to the page, saying so: %s" % r.header("location"), r)
    expect(session_of(b) and session_of(b) != old_sid, "this browser has a new session id")
    r = b.req("GET", "/account?changed=1")
    expect_status(r, 200)
    expect("Your password is changed" in r.text, "the page says the password is changed", r)
    expect_to_login(other.req("GET", "/edit/lerum/"))  # the other sessions ended
    expect_status(Browser().login(email("own"), PW), 401, 200)
    signed_in(email("own"), new)
    sql("DELETE FROM login_failures WHERE email = '%s'" % email("own"))


def cleanup():
    sql("DELETE FROM users WHERE email LIKE '%%-%s@example.org'" % TAG)
    sql("DELETE FROM login_failures WHERE email LIKE '%%-%s@example.org'" % TAG)


def main():
    if not PORTAL_CONF:
        print("1..0 # SKIP PORTAL_CONF is not set")
        return 0
    t.check("portalctl user add (password on stdin)", t_user_add)
    t.check("portalctl user add refuses a short or empty password, a taken e-mail, unknown scope", t_user_add_refuses_short)
    t.check("portalctl user list", t_user_list)
    t.check("passwords are stored as Argon2id hashes", t_hash_is_argon2id)
    t.check("GET /login: the form (labels, autocomplete, csrf), a login cookie HttpOnly", t_login_form)
    t.check("good sign-in: 303, a new session cookie HttpOnly, SameSite, Path=/; stored hashed", t_login_good)
    t.check("next: a local path is followed, anything else goes to /edit/", t_login_next)
    t.check("bad sign-in: the same message for a wrong password, an unknown and a disabled user", t_login_bad_same_message)
    t.check("session fixation: sign-in makes a new id; the presented one ends", t_fixation)
    t.check("logout ends the session on the server; the old cookie does not work", t_logout)
    t.check("logout without the csrf: 403, still signed in", t_logout_needs_csrf)
    t.check("/edit/ without a session: 303 to /login?next=", t_edit_needs_session)
    t.check("an expired and an idle session go to /login", t_expired)
    t.check("using a session moves last_seen (at most once a minute)", t_touch)
    t.check("20 failures from one address: 429 with Retry-After", t_throttle_address)
    t.check("5 failures for one account: 429", t_throttle_account)
    t.check("POST /login without the double-submit token: 403", t_login_csrf)
    t.check("POST without csrf: 403 and nothing written", t_post_without_csrf)
    t.check("a wrong Origin, Sec-Fetch-Site cross-site, another session's token: 403", t_wrong_origin)
    t.check("an editor of lerum gets 403 on /edit/borlange/ and lerum's admin pages", t_other_municipality)
    t.check("a reader sees no forms on admin pages (403)", t_reader_no_forms)
    t.check("admin: users of the municipality, with csrf in every form", t_admin_users_page)
    t.check("admin: an invalid new user gets 422 with the GOV.UK error pattern", t_admin_add_invalid)
    t.check("admin: add a user (password shown once), change the role, disable", t_admin_add_user)
    t.check("admin: create a token (shown once, works), revoke it (401)", t_admin_tokens)
    t.check("admin: an invalid token form gets 422", t_admin_tokens_invalid)
    t.check("portalctl user passwd: new password works, sessions end", t_passwd)
    t.check("portalctl user role (several municipalities, none) and user disable", t_role_and_disable_cli)
    t.check("audit: an API write names its token and no user", t_audit_user)
    t.check("audit: a browser write (delete in the editor) names the user", t_audit_browser_write)
    t.check("/account: a signed-in user changes their password (GOV.UK errors, csrf, the other sessions end)",
            t_own_password)
    t.check("portald -t refuses a municipality called login (reserved)", t_reserved_slug)
    t.check("clean up the test's accounts", cleanup)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
