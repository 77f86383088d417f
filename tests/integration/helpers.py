"""helpers.py - shared pieces of the integration tests (python3 stdlib only).

Environment (set by the test driver, tests/run.sh):
  PORTAL_URL   base URL of nginx in front of the portal, e.g. http://127.0.0.1:18080
  PORTAL_CONF  the portal's configuration file (for portalctl)
  PORTALCTL    path to build/portalctl
  PORTAL_VAR   the stack's state directory (logs are in $PORTAL_VAR/log/)

Output is TAP-ish: one `ok N - ...` / `not ok N - ...` line per check, with
`# ...` diagnostics (status, headers, body) under a failure.
"""
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import traceback
import urllib.parse

PORTAL_URL = os.environ.get("PORTAL_URL", "http://127.0.0.1:8080").rstrip("/")
PORTAL_CONF = os.environ.get("PORTAL_CONF", "")
PORTALCTL = os.environ.get("PORTALCTL", "build/portalctl")
PORTAL_VAR = os.environ.get("PORTAL_VAR", "")

_u = urllib.parse.urlsplit(PORTAL_URL)
HOST = _u.hostname or "127.0.0.1"
PORT = _u.port or (443 if _u.scheme == "https" else 80)
SCHEME = _u.scheme or "http"
PREFIX = _u.path.rstrip("/")


class Fail(Exception):
    """A failed expectation; `diag` lines are printed as TAP comments."""

    def __init__(self, msg, resp=None):
        super().__init__(msg)
        self.resp = resp


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body or b""
        self.text = self.body.decode("utf-8", "replace")
        self._json = None
        self._json_done = False

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    @property
    def ctype(self):
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    @property
    def json(self):
        if not self._json_done:
            self._json_done = True
            try:
                self._json = json.loads(self.text) if self.text.strip() else None
            except ValueError:
                self._json = None
        return self._json

    def describe(self):
        lines = ["status: %s" % self.status]
        for k in ("content-type", "location", "etag", "www-authenticate"):
            if k in self.headers:
                lines.append("%s: %s" % (k, self.headers[k]))
        body = self.text
        if len(body) > 1500:
            body = body[:1500] + "... (%d bytes)" % len(self.body)
        lines.append("body: " + body.replace("\n", "\n#   "))
        return lines


def url_path(path, query=None):
    p = PREFIX + path
    if query:
        p += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    return p


def request(method, path, body=None, token=None, headers=None, query=None, raw=None,
            content_type="application/json", timeout=30):
    """One HTTP request; `body` is JSON-encoded, `raw` (bytes/str) is sent as is."""
    h = {"Accept": "application/json"}
    data = None
    if raw is not None:
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
    elif body is not None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    if data is not None and content_type:
        h["Content-Type"] = content_type
    if token:
        h["Authorization"] = "Bearer " + token
    if headers:
        h.update(headers)
    cls = http.client.HTTPSConnection if SCHEME == "https" else http.client.HTTPConnection
    conn = cls(HOST, PORT, timeout=timeout)
    try:
        conn.request(method, url_path(path, query), body=data, headers=h)
        r = conn.getresponse()
        return Resp(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


def raw_request_status(method, path, headers, body, timeout=30):
    """Sends a (large) body over a plain socket, tolerating the server closing
    the connection early (nginx answers 413 before reading everything).
    Returns a Resp built from whatever answer came back."""
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    try:
        head = "%s %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\nContent-Length: %d\r\n" % (
            method, url_path(path), HOST, PORT, len(body))
        for k, v in headers.items():
            head += "%s: %s\r\n" % (k, v)
        head += "\r\n"
        try:
            s.sendall(head.encode("latin-1"))
            for i in range(0, len(body), 65536):
                s.sendall(body[i:i + 65536])
        except OSError:
            pass  # the server stopped reading; its answer should be waiting
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except OSError:
            pass
        data = b"".join(chunks)
    finally:
        s.close()
    if not data:
        raise Fail("no answer at all (connection closed or reset)")
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/\d\.\d (\d{3})", lines[0])
    if not m:
        raise Fail("not an HTTP answer: %r" % data[:200])
    hdrs = []
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs.append((k.strip(), v.strip()))
    return Resp(int(m.group(1)), hdrs, rest)


# --- expectations -----------------------------------------------------------

def expect(cond, msg, resp=None):
    if not cond:
        raise Fail(msg, resp)


def expect_status(resp, *codes):
    if resp.status not in codes:
        raise Fail("expected status %s, got %d" % (" or ".join(map(str, codes)), resp.status), resp)


def expect_json(resp, *codes):
    expect_status(resp, *codes)
    expect(resp.ctype == "application/json",
           "expected Content-Type application/json, got %r" % resp.header("content-type"), resp)
    expect(resp.json is not None, "body is not JSON", resp)
    return resp.json


def expect_problem(resp, *codes):
    """A 4xx/5xx answer: RFC 9457 problem+json whose `status` is the HTTP status."""
    expect_status(resp, *codes)
    expect(resp.ctype == "application/problem+json",
           "expected Content-Type application/problem+json, got %r" % resp.header("content-type"),
           resp)
    p = resp.json
    expect(isinstance(p, dict), "problem body is not a JSON object", resp)
    for k in ("type", "title", "status"):
        expect(k in p, "problem has no %r member" % k, resp)
    expect(isinstance(p["type"], str) and isinstance(p["title"], str),
           "problem type/title are not strings", resp)
    expect(isinstance(p["status"], int) and not isinstance(p["status"], bool)
           and p["status"] == resp.status,
           "problem status %r is not the integer HTTP status %d" % (p.get("status"), resp.status),
           resp)
    return p


def error_fields(problem):
    errs = problem.get("errors") if isinstance(problem, dict) else None
    if not isinstance(errs, list):
        return []
    return [e.get("field") for e in errs if isinstance(e, dict)]


def expect_field_error(resp, field, codes=(422,), alternatives=()):
    """A validation problem whose `errors` name `field` (or one of `alternatives`)."""
    p = expect_problem(resp, *codes)
    fields = error_fields(p)
    want = (field,) + tuple(alternatives)
    expect(any(f in want for f in fields),
           "errors do not name %s (they name %r)" % (" or ".join(want), fields), resp)
    for e in p.get("errors", []):
        expect(isinstance(e, dict) and isinstance(e.get("message"), str) and e.get("message"),
               "an error entry lacks a message: %r" % (e,), resp)
    return p


def expect_names_param(resp, name, codes=(400, 422)):
    """A problem for a bad query parameter, naming it in `errors` or `detail`."""
    p = expect_problem(resp, *codes)
    fields = error_fields(p)
    detail = str(p.get("detail", "")) + " " + str(p.get("title", ""))
    expect(name in fields or name in detail,
           "problem does not name %r (errors %r, detail %r)" % (name, fields, p.get("detail")),
           resp)
    return p


# --- portalctl ---------------------------------------------------------------

def portalctl(*args, input=None):
    """Runs portalctl with the stack's configuration; `input` goes to its stdin."""
    cmd = [PORTALCTL]
    if PORTAL_CONF:
        cmd += ["-c", PORTAL_CONF]
    cmd += list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, input=input)


def create_token(slug, role):
    r = portalctl("token", "create", "--municipality", slug, "--role", role)
    if r.returncode != 0:
        raise Fail("portalctl token create %s %s exited %d: %s" % (slug, role, r.returncode,
                                                                   r.stderr.strip()))
    lines = [ln.strip() for ln in r.stdout.splitlines() if ln.strip()]
    if len(lines) != 1 or " " in lines[0]:
        raise Fail("portalctl token create printed %r, not one token alone on its line" % r.stdout)
    return lines[0]


def token_id(token):
    """The id of `token` from `portalctl token list` (found by its prefix)."""
    r = portalctl("token", "list")
    if r.returncode != 0:
        raise Fail("portalctl token list exited %d: %s" % (r.returncode, r.stderr.strip()))
    for n in (16, 12, 10, 8, 6):
        hits = [ln for ln in r.stdout.splitlines() if token[:n] in ln]
        if len(hits) == 1:
            m = re.search(r"\b(\d+)\b", hits[0])
            if m:
                return m.group(1)
    raise Fail("cannot find the token's id in `portalctl token list`:\n" + r.stdout)


# --- TAP ---------------------------------------------------------------------

class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def diag(self, msg):
        for ln in str(msg).splitlines() or [""]:
            print("#   " + ln)

    def check(self, desc, fn, *args):
        """Runs fn(*args); prints ok/not ok.  Returns fn's value, or None on failure."""
        self.n += 1
        try:
            v = fn(*args)
        except Fail as e:
            self.failed += 1
            print("not ok %d - %s" % (self.n, desc))
            self.diag(str(e))
            if e.resp is not None:
                for ln in e.resp.describe():
                    self.diag(ln)
            sys.stdout.flush()
            return None
        except Exception as e:  # an unexpected answer must not end the run
            self.failed += 1
            print("not ok %d - %s" % (self.n, desc))
            self.diag("%s: %s" % (type(e).__name__, e))
            self.diag(traceback.format_exc().strip())
            sys.stdout.flush()
            return None
        print("ok %d - %s" % (self.n, desc))
        sys.stdout.flush()
        return v if v is not None else True

    def done(self):
        print("1..%d" % self.n)
        print("# %d passed, %d failed" % (self.n - self.failed, self.failed))
        return 1 if self.failed else 0
