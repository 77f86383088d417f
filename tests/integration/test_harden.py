#!/usr/bin/env python3
"""Hardening and format conformance (issue 20, points 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19).

  1  /metrics only at its canonical path: /metrics/ and the like are 404
     from portald, and nginx's ACL (a prefix match) covers them all; tried
     from 127.0.0.2, which nginx does not allow.
  2  no link built from the request path starts with // (or /\\).
  3  the Host header never reaches absolute links (Atom, iCalendar, GeoJSON,
     JSON-LD): they start with the configured public_url; a bad public_url
     is a configuration error.
  4  the response cache's key is the parsed request (known arguments in
     order, the language resolved): ?_=123, another Accept-Language,
     Portal-Read or Host without a token hit the cache; an export pages
     itself (a client's limit or cursor neither repeats nor drops rows);
     nginx limits anonymous traffic, stricter for exports and q.
  5  a published news item's related lists anonymous readers only the ids
     of items they may see (no non-public visit).
  6  portald: RLIMIT_CORE 0 and not dumpable (master and workers); the pid
     file is not written through a symbolic link; portalctl's exports are
     0600; tokens with --expires are refused after it; Idempotency-Keys older
     than core.idempotency_ttl are forgotten and purged.
  8  CSV exports: CRLF record ends, no empty record at the end.
  9  iCalendar: no METHOD without ORGANIZER; an empty calendar still has a
     component (python3-icalendar reads them).
  10 JSON-LD of every item page: funder entries {"@type": "Organization",
     "name"} only, no empty description, Date properties full ISO values (a
     partial date as its first or last day).
  11 text is written in Unicode NFC (POST and PATCH, at any depth): a title
     typed with combining marks gets the slug of the precomposed one.
  13 lengths count characters (code points) wherever a schema says
     maxLength (bodies, q, programme); language tags are documented as at
     most 35 characters.
  14 DELETE of a linked item is a 409 naming the linking items, and every
     DELETE with a 409 response says so (no "links are forgotten").
  15 the ETag is documented as opaque and strong, with a pattern every ETag
     (also an item others link to) matches; If-None-Match/If-Match lists.
  16 every export documents its Cache-Control (public, max-age=60 without a
     token, private, no-store with one) and sends what it documents.
  17 nginx's own 4xx (TRACE, a 20 KB header, a long request line, HTTP/2.0
     in the request line, its internal paths) are problem+json, in
     nginx.conf.example and the stack's nginx.
  18 every null a Patch schema allows is accepted (2xx); members removed
     only together are sent together and their description says so.
  19 small errors: visits.csv of a municipality without visits names the
     module; a null body is called null; Allow on 405 lists HEAD; an
     emoji-only news title names slug once.
"""
import csv
import http.client
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import (HOST, PORT, PORTAL_CONF, PORTAL_URL, PORTAL_VAR, Tap, create_token,  # noqa: E402
                     expect, expect_json, expect_problem, expect_status, portalctl, request, token_id)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
B = os.path.join(ROOT, os.environ.get("B", "build"))
ADMIN = os.environ.get("PORTAL_ADMIN_TOKEN", "")
TAG = "harden-%d" % os.getpid()

t = Tap()
state = {}


def get_from(source, path, headers=None):
    """GET path (sent as is) from the source address `source`."""
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30, source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace"), dict((k.lower(), v) for k, v in r.getheaders())
    finally:
        conn.close()


def conf_text():
    with open(PORTAL_CONF, encoding="utf-8") as f:
        return f.read()


def public_url():
    m = re.search(r'^\s*public_url\s*=\s*"([^"]*)"', conf_text(), re.M)
    return m.group(1).rstrip("/") if m else None


def sql(query):
    sock = os.path.join(PORTAL_VAR, "run", "mysqld.sock")
    r = subprocess.run(["mariadb", "--no-defaults", "--protocol=socket", "--socket=" + sock, "--user=root",
                        "--batch", "--skip-column-names", "portal", "-e", query],
                       capture_output=True, text=True, timeout=30)
    expect(r.returncode == 0, "mariadb: %s" % r.stderr.strip())
    return r.stdout


# ---------------------------------------------------------------- 1 /metrics

METRICS_LIKE = ("/metrics/", "/metrics/x", "/%6detrics", "/%6Detrics/", "/metrics%2f", "//metrics",
                "/./metrics", "/metrics.txt")


def is_metrics(body):
    return "portal_requests_total" in body


def t_metrics_loopback():
    st, body, _ = get_from("127.0.0.1", "/metrics")
    expect(st == 200 and is_metrics(body), "GET /metrics from 127.0.0.1: %d" % st)
    bad = []
    for p in METRICS_LIKE:
        st, body, _ = get_from("127.0.0.1", p)
        if is_metrics(body):
            bad.append("%s answered %d with the metrics" % (p, st))
    expect(not bad, "\n".join(bad))


def t_metrics_other_address():
    try:
        st, body, _ = get_from("127.0.0.2", "/healthz")
    except OSError as e:
        raise AssertionError("cannot connect from 127.0.0.2: %s" % e)
    expect(st == 200, "GET /healthz from 127.0.0.2: %d" % st)
    bad = []
    for p in ("/metrics",) + METRICS_LIKE:
        st, body, _ = get_from("127.0.0.2", p)
        if is_metrics(body) or st == 200:
            bad.append("%s from 127.0.0.2 answered %d%s" % (p, st, " with the metrics" if is_metrics(body) else ""))
    expect(not bad, "\n".join(bad))


def t_metrics_nginx_prefix():
    with open(os.path.join(ROOT, "nginx.conf.example"), encoding="utf-8") as f:
        text = f.read()
    expect(not re.search(r"location\s*=\s*/metrics\b", text), "nginx.conf.example still has `location = /metrics`")
    expect(re.search(r"location\s+(\^~\s+)?/metrics\s*\{", text), "nginx.conf.example has no prefix location for /metrics")


# ---------------------------------------------------------------- 2 //

def t_no_protocol_relative():
    bad = []
    for p in ("//evil.example/x", "///evil.example/x", "/\\evil.example/x", "//evil.example/",
              "//borlange/", "/%2F%2Fevil.example/x"):
        st, body, _ = get_from("127.0.0.1", p)
        for m in re.finditer(r'(?:href|src|action)\s*=\s*"([^"]*)"', body):
            v = m.group(1).replace("&#x2F;", "/").replace("&#47;", "/").replace("&#92;", "\\")
            if re.match(r"^\s*[/\\]{2}", v):
                bad.append("%s (%d): %s" % (p, st, m.group(0)))
    expect(not bad, "\n".join(bad[:10]))


# ---------------------------------------------------------------- 3 Host

EXPORTS = ("/api/v1/borlange/news.atom", "/api/v1/lerum/visits.ics", "/api/v1/borlange/partnerships.geojson",
           "/borlange/")


def t_host_not_in_links():
    base = public_url()
    bad = []
    for p in EXPORTS:
        for host in ("evil.example", "evil.example:666"):
            r = request("GET", p, headers={"Host": host, "Accept-Language": "en"})
            expect(r.status == 200, "%s with Host %s: %d" % (p, host, r.status), r)
            if "evil.example" in r.text:
                bad.append("%s with Host: %s puts it in the answer" % (p, host))
            if base and p != "/borlange/" and base not in r.text:
                bad.append("%s has no link under public_url %s" % (p, base))
    expect(not bad, "\n".join(bad))


def t_jsonld_base():
    base = public_url()
    r = request("GET", "/borlange/", headers={"Host": "evil.example"})
    m = re.search(r'<script type="application/ld\+json">(.*?)</script>', r.text, re.S)
    expect(m, "no JSON-LD on /borlange/", r)
    expect("evil.example" not in m.group(1), "the JSON-LD names the Host header: %s" % m.group(1)[:300])
    if base:
        expect('"url": "%s/borlange/"' % base in m.group(1), "JSON-LD url is not under %s: %s" % (base, m.group(1)[:300]))


def write_conf(name, text):
    path = os.path.join(os.path.dirname(PORTAL_CONF), name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def t_public_url_checked():
    text = conf_text()
    bad_url = 'public_url = "javascript:alert(1)";'
    if re.search(r'^\s*public_url\s*=.*$', text, re.M):
        text = re.sub(r'^\s*public_url\s*=.*$', "  " + bad_url, text, count=1, flags=re.M)
    else:
        text = re.sub(r"(core\s*[:=]\s*\{)", r"\1 " + bad_url, text, count=1)
    path = write_conf("harden-bad-url.conf", text)
    try:
        r = subprocess.run([os.path.join(B, "portald"), "-t", "-c", path], capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(path)
    expect(r.returncode != 0 and "public_url" in r.stderr,
           "portald -t accepts public_url = javascript:... (exit %d): %s" % (r.returncode, r.stderr.strip()[-300:]))


# ---------------------------------------------------------------- 4 anonymous cost

def cache_hits():
    r = request("GET", "/metrics")
    m = re.search(r'^portal_cache_total\{event="hit"\} (\d+)$', r.body.decode(), re.M)
    expect(m, "/metrics has no portal_cache_total{event=\"hit\"}")
    return int(m.group(1))


def t_cache_key_parsed():
    base = "/api/v1/herrljunga/partnerships"
    for _ in range(8):  # every worker has made and kept it
        expect_json(request("GET", base, query={"limit": "3", "q": "a"}), 200)
    variants = [
        (base + "?limit=3&q=a&_=%d" % time.time_ns(), {}),
        (base + "?q=a&limit=3", {}),
        (base + "?%%71=a&limit=3&utm_source=%d" % time.time_ns(), {}),
        (base + "?limit=3&q=a", {"Accept-Language": "x-%d" % time.time_ns()}),
        (base + "?limit=3&q=a", {"Portal-Read": "primary"}),
        (base + "?limit=3&q=a&q=zzz", {"Host": "other.example"}),
    ]
    before = cache_hits()
    for path, headers in variants * 2:
        conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
        try:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            r.read()
            expect(r.status == 200, "GET %s %r: %d" % (path, headers, r.status))
        finally:
            conn.close()
    hits = cache_hits() - before
    t.diag("%d of %d spelled-differently reads were cache hits" % (hits, 2 * len(variants)))
    expect(hits >= 2 * len(variants) - 2, "only %d of %d reads spelled differently were hits" % (hits, 2 * len(variants)))


def csv_ids(path):
    r = request("GET", path)
    expect(r.status == 200, "GET %s: %d" % (path, r.status), r)
    rows = list(csv.reader(io.StringIO(r.body.decode("utf-8-sig"), newline="")))
    return [row[0] for row in rows[1:]]


def t_export_paging_own():
    whole = csv_ids("/api/v1/borlange/partnerships.csv")
    expect(len(whole) >= 3, "borlange has %d partnerships" % len(whole))
    page = expect_json(request("GET", "/api/v1/borlange/partnerships", query={"limit": "1"}), 200)
    expect(page.get("next"), "no cursor after the first partnership")
    for q in ("limit=1", "cursor=%s" % page["next"], "limit=2&cursor=%s" % page["next"]):
        got = csv_ids("/api/v1/borlange/partnerships.csv?" + q)
        expect(got == whole, "partnerships.csv?%s: %d rows (%d distinct), want the %d of the export"
               % (q, len(got), len(set(got)), len(whole)))


def t_list_html_not_export():
    for ext in ("html", "txt", "title.txt"):
        r = request("GET", "/api/v1/borlange/partnerships.%s" % ext)
        expect(r.status == 404 and r.ctype == "application/problem+json",
               "partnerships.%s: %d %s (a page template served as an export)" % (ext, r.status, r.ctype), r)
    expect_status(request("GET", "/api/v1/borlange/partnerships.csv"), 200)


def t_portal_read_needs_token():
    with open(os.path.join(ROOT, "core", "server", "breaker.c"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r'"Portal-Read"\);\s*if \(([^)]*\)[^{]*)', text)
    expect(m and "Authorization" in m.group(1), "breaker_read_db honours Portal-Read without a token")


def t_nginx_anonymous_limits():
    with open(os.path.join(ROOT, "nginx.conf.example"), encoding="utf-8") as f:
        text = f.read()
    for zone in ("portal_anon", "portal_exports", "portal_search"):
        expect(re.search(r"limit_req_zone\s+\S+\s+zone=%s:" % zone, text), "no limit_req_zone %s" % zone)
        expect(re.search(r"limit_req\s+zone=%s\b" % zone, text), "zone %s is not used" % zone)
    expect(re.search(r"limit_conn_zone\s+\S+\s+zone=portal_conn:", text) and re.search(r"limit_conn\s+portal_conn\s+\d+", text),
           "no limit_conn for anonymous clients")
    # from an address the limits apply to (loopback 127.0.0.1 is exempt)
    def burst(path, n):
        codes = []
        for _ in range(n):
            st, body, hdrs = get_from("127.0.0.2", path)
            codes.append(st)
            if st == 429:
                expect(hdrs.get("content-type") == "application/problem+json", "429 is %r" % hdrs.get("content-type"))
        return codes
    codes = burst("/api/v1/borlange/partnerships.csv", 20)
    expect(429 in codes and codes[0] == 200, "20 exports at once from 127.0.0.2: %r" % codes)
    codes = burst("/api/v1/borlange/partnerships?q=a", 40)
    expect(429 in codes and codes[0] == 200, "40 searches at once from 127.0.0.2: %r" % codes)
    codes = burst("/api/v1/borlange/partnerships/1", 30)
    expect(429 not in codes, "30 plain reads at once from 127.0.0.2 were limited: %r" % codes)


# ---------------------------------------------------------------- 5 ids of non-public items

def t_related_hidden():
    expect(ADMIN, "PORTAL_ADMIN_TOKEN is not set")
    ids = {}
    for name, public in (("open", True), ("closed", False)):
        r = request("POST", "/api/v1/borlange/visits", token=ADMIN,
                    body={"title": "%s-%s" % (TAG, name), "direction": "incoming", "status": "planned",
                          "start_date": "2031-05-01", "public": public})
        ids[name] = expect_json(r, 201)["id"]
    state["visits"] = list(ids.values())
    r = request("POST", "/api/v1/borlange/news", token=ADMIN,
                body={"title": "%s related" % TAG, "lang": "sv", "body": "x", "status": "published",
                      "published_at": "2031-04-01T10:00:00Z",
                      "related": {"visits": [ids["closed"], ids["open"]]}})
    news = expect_json(r, 201)["id"]
    state["news"] = news
    path = "/api/v1/borlange/news/%d" % news
    got = expect_json(request("GET", path), 200)["related"]["visits"]
    expect(got == [ids["open"]], "anonymous GET %s: related.visits %r (non-public %d)" % (path, got, ids["closed"]))
    got = expect_json(request("GET", path, token=ADMIN), 200)["related"]["visits"]
    expect(got == [ids["closed"], ids["open"]], "with a token: related.visits %r" % got)
    lst = expect_json(request("GET", "/api/v1/borlange/news", query={"slug": "%s-related" % TAG}), 200)["items"]
    expect(len(lst) == 1 and lst[0]["related"]["visits"] == [ids["open"]],
           "anonymous list: %r" % [i["related"] for i in lst])
    # what an anonymous reader sees changes when the visit is made public:
    # the ETag follows, so a conditional GET is not a 304 of the old view
    r = request("GET", path)
    etag = r.header("ETag")
    expect_json(request("PATCH", "/api/v1/borlange/visits/%d" % ids["closed"], token=ADMIN, body={"public": True}), 200)
    r = request("GET", path, headers={"If-None-Match": etag})
    expect(r.status == 200, "the visit was made public, yet If-None-Match %s answered %d" % (etag, r.status), r)
    got = expect_json(r, 200)["related"]["visits"]
    expect(sorted(got) == sorted(ids.values()), "after the visit was made public: %r" % got)
    expect(r.header("ETag") != etag, "the ETag did not change: %s" % etag)
    expect_status(request("GET", path, headers={"If-None-Match": r.header("ETag")}), 304)


# ---------------------------------------------------------------- 6 process

def portald_pids():
    with open(os.path.join(PORTAL_VAR, "run", "portald.pid")) as f:
        master = int(f.read().strip())
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            if int(st.rsplit(")", 1)[1].split()[1]) == master:
                kids.append(int(d))
    return master, kids


def core_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for ln in f:
            if ln.startswith("Max core file size"):
                return ln.split()[4:6]
    return None


def t_no_core_dumps():
    master, kids = portald_pids()
    expect(kids, "portald %d has no workers" % master)
    bad = ["pid %d: Max core file size %r" % (p, core_limit(p)) for p in [master] + kids
           if core_limit(p) != ["0", "0"]]
    expect(not bad, "\n".join(bad))


def t_not_dumpable():
    """A non-dumpable process's /proc/PID/* belong to root whatever its uid:
    portald started as nobody (no database: it need not serve) shows it."""
    d = tempfile.mkdtemp(prefix="harden-dump.")
    os.chmod(d, 0o755)
    conf = re.sub(r'^(\s*listen\s*=\s*)"[^"]*"', r'\1"%s/s.sock"' % d, conf_text(), count=1, flags=re.M)
    conf = re.sub(r'@include\s+"[^"]*"', '@include "municipalities.conf"', conf)
    with open(os.path.join(d, "portal.conf"), "w") as f:
        f.write(conf)
    inc = re.search(r'@include\s+"([^"]*)"', conf_text())
    expect(inc, "no @include in %s" % PORTAL_CONF)
    with open(os.path.join(os.path.dirname(PORTAL_CONF), inc.group(1))) as src, \
            open(os.path.join(d, "municipalities.conf"), "w") as dst:
        dst.write(src.read())
    os.chmod(os.path.join(d, "portal.conf"), 0o600)  # it holds the database password
    for n in ("", "portal.conf", "municipalities.conf"):
        os.chown(os.path.join(d, n), 65534, 65534)
    p = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                          os.path.join(B, "portald"), "-c", os.path.join(d, "portal.conf")],
                         stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "log"), "w+"),
                         start_new_session=True)
    try:
        deadline = time.time() + 20
        while not os.path.exists(os.path.join(d, "s.sock")) and time.time() < deadline and p.poll() is None:
            time.sleep(0.1)
        if p.poll() is not None:
            with open(os.path.join(d, "log")) as f:
                raise AssertionError("portald as nobody exited: %s" % f.read()[-500:])
        time.sleep(0.5)
        pids = [p.pid] + [int(x) for x in os.listdir("/proc") if x.isdigit() and os.path.exists("/proc/%s/stat" % x)
                          and open("/proc/%s/stat" % x).read().rsplit(")", 1)[1].split()[1] == str(p.pid)]
        bad = []
        for pid in pids:
            with open("/proc/%d/status" % pid) as f:
                uid = re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1)
            owner = os.stat("/proc/%d/status" % pid).st_uid
            if uid != "65534":
                bad.append("pid %d runs as uid %s, not nobody" % (pid, uid))
            elif owner != 0:
                bad.append("pid %d (uid nobody) is dumpable: /proc/%d/status belongs to uid %d" % (pid, pid, owner))
            if core_limit(pid) != ["0", "0"]:
                bad.append("pid %d: Max core file size %r" % (pid, core_limit(pid)))
        t.diag("portald as nobody: pids %s" % pids)
        expect(len(pids) >= 2, "no worker of portald as nobody: %r" % pids)
        expect(not bad, "\n".join(bad))
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        subprocess.run(["rm", "-rf", d])


def t_pidfile_symlink():
    d = tempfile.mkdtemp(prefix="harden-pid.", dir=os.path.join(PORTAL_VAR, "run"))
    target = os.path.join(d, "target")
    with open(target, "w") as f:
        f.write("keep\n")
    link = os.path.join(d, "portald.pid")
    os.symlink(target, link)
    conf = re.sub(r'^(\s*listen\s*=\s*)"[^"]*"', r'\1"%s/s.sock"' % d, conf_text(), count=1, flags=re.M)
    path = write_conf("harden-pid.conf", conf)
    p = subprocess.Popen([os.path.join(B, "portald"), "-c", path, "-p", link], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        try:
            rc = p.wait(30)
        except subprocess.TimeoutExpired:
            rc = None
        err = p.stderr.read().decode() if rc is not None else ""
        with open(target) as f:
            content = f.read()
        expect(content == "keep\n", "portald wrote through the symbolic link: the target now holds %r" % content)
        expect(rc is not None and rc != 0, "portald started with a symbolic link as its pid file (exit %r)" % rc)
        expect("symbolic link" in err or "too many levels" in err.lower(), "no word of the link: %s" % err[-300:])
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        os.unlink(path)
        subprocess.run(["rm", "-rf", d])


def t_export_private():
    d = tempfile.mkdtemp(prefix="harden-export.")
    old = os.umask(0o022)
    try:
        out = os.path.join(d, "b.json")
        with open(out, "w") as f:
            f.write("old")
        os.chmod(out, 0o644)
        r = portalctl("export", "borlange", "-o", out, "--quiet")
        expect(r.returncode == 0, "export exited %d: %s" % (r.returncode, r.stderr.strip()))
        csvdir = os.path.join(d, "csv")
        r = portalctl("export", "borlange", "--format", "csv", "-o", csvdir, "--quiet")
        expect(r.returncode == 0, "export --format csv exited %d: %s" % (r.returncode, r.stderr.strip()))
    finally:
        os.umask(old)
    try:
        bad = []
        files = [out] + [os.path.join(csvdir, n) for n in sorted(os.listdir(csvdir))]
        expect(len(files) >= 3, "too few files exported: %r" % files)
        for f in files:
            mode = stat.S_IMODE(os.stat(f).st_mode)
            if mode != 0o600:
                bad.append("%s is %o" % (f, mode))
        mode = stat.S_IMODE(os.stat(csvdir).st_mode)
        if mode & 0o077:
            bad.append("%s (made by export) is %o" % (csvdir, mode))
        expect(not bad, "\n".join(bad))
    finally:
        subprocess.run(["rm", "-rf", d])


def t_token_expires():
    for when in ("2001-01-01", "soon", "0d", "-5m", "2001-01-01T00:00:00Z"):
        r = portalctl("token", "create", "--municipality", "borlange", "--role", "reader", "--expires", when)
        expect(r.returncode == 2 and not r.stdout.strip(), "--expires %s: exit %d, stdout %r" % (when, r.returncode, r.stdout))
    r = portalctl("token", "create", "--municipality", "borlange", "--role", "reader", "--expires", "3s",
                  "--label", TAG)
    expect(r.returncode == 0, "token create --expires 3s exited %d: %s" % (r.returncode, r.stderr.strip()))
    tok = r.stdout.strip()
    born = time.time()
    ok = request("GET", "/api/v1/borlange/visits", token=tok)
    expect(ok.status == 200 or time.time() - born > 2.5, "a fresh token with --expires 3s: %d" % ok.status, ok)
    r = portalctl("token", "list")
    line = [ln for ln in r.stdout.splitlines() if TAG in ln]
    expect(line and re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+%s" % TAG, line[0]), "token list shows no expiry: %r" % line)
    time.sleep(max(0.0, born + 4.2 - time.time()))
    r = request("GET", "/api/v1/borlange/visits", token=tok)
    p = expect_problem(r, 401)
    expect("expired" in str(p.get("detail")), "the detail does not say expired: %r" % p.get("detail"), r)
    # one with a far expiry still works
    r = portalctl("token", "create", "--municipality", "borlange", "--role", "reader", "--expires", "30d")
    expect(r.returncode == 0, "--expires 30d exited %d" % r.returncode)
    expect_json(request("GET", "/api/v1/borlange/visits", token=r.stdout.strip()), 200)


def t_idempotency_purge():
    tok = create_token("borlange", "editor")
    tid = int(token_id(tok))
    state["idem_token"] = tok
    for k in ("old-%s-1" % TAG, "old-%s-2" % TAG):
        sql("INSERT INTO idempotency_keys (municipality, token_id, idem_key, request_hash, status, body, created_at) "
            "VALUES ('borlange', %d, '%s', '%s', 201, '{}', NOW(3) - INTERVAL 3 DAY)" % (tid, k, "0" * 64))
    body = {"partner": {"name": "Harden %s" % TAG, "country": "SE"}, "kind": "cooperation", "status": "active"}
    r = request("POST", "/api/v1/borlange/partnerships", body=body, token=tok,
                headers={"Idempotency-Key": "old-%s-1" % TAG})
    j = expect_json(r, 201)
    state["idem_item"] = j.get("id")
    expect(r.header("Idempotent-Replayed") is None, "a key 3 days old was replayed", r)
    rows = sql("SELECT idem_key, created_at > NOW(3) - INTERVAL 1 HOUR FROM idempotency_keys "
               "WHERE token_id = %d ORDER BY idem_key" % tid).split("\n")
    rows = [x.split("\t") for x in rows if x]
    expect(rows == [["old-%s-1" % TAG, "1"]], "keys of the token after the POST: %r (the old one not purged)" % rows)
    # and the new key replays as before
    r = request("POST", "/api/v1/borlange/partnerships", body=body, token=tok,
                headers={"Idempotency-Key": "old-%s-1" % TAG})
    expect_json(r, 201)
    expect(r.header("Idempotent-Replayed") == "true", "the fresh key is not replayed", r)


# ---------------------------------------------------------------- 8 CSV

def csv_check(path, want_rows=None):
    r = request("GET", path)
    expect(r.status == 200 and r.ctype == "text/csv", "%s: %d %s" % (path, r.status, r.ctype), r)
    raw = r.body
    expect(raw.startswith(b"\xef\xbb\xbf"), "%s: no BOM" % path)
    raw = raw[3:]
    expect(raw.endswith(b"\r\n"), "%s does not end with CRLF: %r" % (path, raw[-20:]))
    expect(not raw.endswith(b"\r\n\r\n") and not raw.endswith(b"\n\n"), "%s ends with an empty record" % path)
    quoted = False
    for i, ch in enumerate(raw):
        if ch == 0x22:
            quoted = not quoted
        elif ch == 0x0a and not quoted and (i == 0 or raw[i - 1] != 0x0d):
            raise AssertionError("%s: a record ends in a bare LF at byte %d" % (path, i))
        elif ch == 0x0d and not quoted and raw[i + 1:i + 2] != b"\n":
            raise AssertionError("%s: a bare CR at byte %d" % (path, i))
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    expect(all(rows), "%s: an empty record in %r" % (path, [i for i, x in enumerate(rows) if not x]))
    expect(len({len(x) for x in rows}) == 1, "%s: records of different lengths" % path)
    if want_rows is not None:
        expect(len(rows) == want_rows + 1, "%s: %d records, want %d items + header" % (path, len(rows), want_rows))
    return rows


def t_csv():
    for m, mod in (("borlange", "partnerships"), ("borlange", "projects"), ("lerum", "visits"), ("borlange", "news")):
        n = len(expect_json(request("GET", "/api/v1/%s/%s" % (m, mod), query={"limit": "100"}), 200)["items"])
        csv_check("/api/v1/%s/%s.csv" % (m, mod), n)
    # an empty export: the header alone
    rows = csv_check("/api/v1/borlange/partnerships.csv?q=zz-no-such-partner-zz", 0)
    expect(rows[0][0] == "id", "header %r" % rows[0])


# ---------------------------------------------------------------- 9 iCalendar

ICS_READER = r"""
import json, sys
import icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
print(json.dumps({
    "name": cal.name, "method": str(cal["METHOD"]) if "METHOD" in cal else None,
    "components": [c.name for c in cal.subcomponents],
    "errors": [[c.name, list(map(str, getattr(c, "errors", []) or []))] for c in cal.walk()],
    "events": [{"uid": str(e.get("UID")), "organizer": "ORGANIZER" in e,
                "dtstart": str(e.decoded("DTSTART")) if "DTSTART" in e else None}
               for e in cal.walk() if e.name == "VEVENT"]}))
"""


def ics_python():
    """A python3 that has icalendar: this one, else Debian's (python3-icalendar)."""
    for py in (sys.executable, "/usr/bin/python3"):
        if py and subprocess.run([py, "-c", "import icalendar"], capture_output=True).returncode == 0:
            return py
    raise AssertionError("python3-icalendar is not installed (scripts/deps.sh test installs it)")


def ics(path):
    r = request("GET", path)
    expect(r.status == 200 and r.ctype == "text/calendar", "%s: %d %s" % (path, r.status, r.ctype), r)
    p = subprocess.run([ics_python(), "-c", ICS_READER], input=r.body, capture_output=True, timeout=60)
    expect(p.returncode == 0, "%s: icalendar cannot read it: %s" % (path, p.stderr.decode()[-500:]), r)
    cal = json.loads(p.stdout)
    expect(cal["name"] == "VCALENDAR", "%s: not a VCALENDAR" % path)
    if cal["method"]:
        bad = [e["uid"] for e in cal["events"] if not e["organizer"]]
        expect(not bad, "%s: METHOD:%s, but VEVENTs without ORGANIZER (RFC 5546): %s"
               % (path, cal["method"], ", ".join(bad[:5])))
    expect(cal["components"], "%s: a calendar without a component (RFC 5545 3.6 wants one)" % path)
    bad = [e for e in cal["errors"] if e[1]]
    expect(not bad, "%s: %r" % (path, bad))
    return cal, cal["events"]


def t_ics():
    _, events = ics("/api/v1/lerum/visits.ics")
    expect(events, "lerum's calendar has no events")
    cal, events = ics("/api/v1/lerum/visits.ics?q=zz-no-such-visit-zz")
    expect(not events, "an event in the empty calendar")
    t.diag("empty calendar: %s" % ", ".join(cal["components"]))


# ---------------------------------------------------------------- 15 ETag

def t_etag_opaque():
    doc = expect_json(request("GET", "/api/v1/openapi.json"), 200)
    text = json.dumps(doc)
    expect("ID-VERSION" not in text, "the OpenAPI document still promises \"ID-VERSION\"")
    h = doc["components"]["headers"]["ETag"]
    desc = h.get("description", "").lower()
    expect("opaque" in desc and "strong" in desc, "ETag header: %r" % h.get("description"))
    pattern = re.compile(h["schema"]["pattern"])
    # an item others link to: its ETag has more than id and version
    linked = None
    for it in expect_json(request("GET", "/api/v1/borlange/partnerships", query={"limit": "100"}), 200)["items"]:
        r = request("GET", "/api/v1/borlange/partnerships/%d" % it["id"])
        if expect_json(r, 200).get("linked"):
            linked = r
            break
    expect(linked is not None, "no borlange partnership is linked")
    for r in (linked, request("GET", "/api/v1/borlange/partnerships"), request("GET", "/api/v1/municipalities")):
        tag = r.header("ETag")
        expect(tag and pattern.match(tag) and not tag.startswith("W/"), "ETag %r does not match %s" % (tag, pattern.pattern), r)
    path = "/api/v1/borlange/partnerships/%d" % json.loads(linked.body)["id"]
    tag = linked.header("ETag")
    expect_status(request("GET", path, headers={"If-None-Match": tag}), 304)
    expect_status(request("GET", path, headers={"If-None-Match": '"x", ' + tag}), 304)
    expect_problem(request("PATCH", path, body={}, token=ADMIN, headers={"If-Match": '"0-0"'}), 412)


# ---------------------------------------------------------------- 16 Cache-Control

def t_cache_control_documented():
    doc = expect_json(request("GET", "/api/v1/openapi.json"), 200)
    bad, seen = [], 0
    for path, ops in sorted(doc["paths"].items()):
        op = ops.get("get")
        if not op or "{municipality}" not in path:
            continue
        is_export = path.rsplit("/", 1)[-1].count(".") == 1 and not path.endswith("openapi.json")
        hdr = (op["responses"].get("200", {}).get("headers") or {}).get("Cache-Control")
        if is_export and hdr is None:
            bad.append("GET %s: an export without a documented Cache-Control" % path)
            continue
        if hdr is None or not is_export:
            continue
        values = resolve(doc, hdr)["schema"]["enum"]
        concrete = path.replace("{municipality}", "borlange")
        if "{" in concrete:
            continue
        seen += 1
        for tok in (None, ADMIN):
            r = request("GET", concrete, token=tok)
            cc = r.header("Cache-Control")
            if r.status != 200 or cc not in values:
                bad.append("GET %s %s: %d, Cache-Control %r, documented %r"
                           % (concrete, "with a token" if tok else "anonymous", r.status, cc, values))
        if is_export and not any("max-age" in v for v in values):
            bad.append("GET %s: documented %r" % (path, values))
    expect(seen >= 6, "only %d exports document Cache-Control" % seen)
    info = doc["info"]["description"]
    expect("max-age=60" in info, "info.description does not say what exports send")
    expect(not bad, "\n".join(bad))


# ---------------------------------------------------------------- 17 nginx's own errors

def raw_exchange(data):
    """Sends raw bytes, returns (status, headers, body) of the answer."""
    import socket
    s = socket.create_connection((HOST, PORT), timeout=30)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except OSError:
                break
            if not c:
                break
            chunks.append(c)
    finally:
        s.close()
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/\d\.\d (\d{3})", lines[0])
    expect(m, "not an HTTP answer: %r" % raw[:200])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(m.group(1)), hdrs, body


def t_nginx_problems():
    host = "Host: %s:%d\r\n" % (HOST, PORT)
    cases = [
        ("TRACE", b"TRACE /api/v1/municipalities HTTP/1.1\r\n" + host.encode() + b"Connection: close\r\n\r\n", 405),
        ("TRACE on a page", b"TRACE /borlange/ HTTP/1.1\r\n" + host.encode() + b"Connection: close\r\n\r\n", 405),
        ("a 20 KB header", b"GET /api/v1/municipalities HTTP/1.1\r\n" + host.encode() + b"X-Big: " + b"a" * 20480 +
         b"\r\nConnection: close\r\n\r\n", 400),
        ("a 40 KB request line", b"GET /api/v1/municipalities?x=" + b"a" * 40960 + b" HTTP/1.1\r\n" + host.encode() +
         b"Connection: close\r\n\r\n", 414),
        ("HTTP/2.0 in a request line", b"GET /api/v1/municipalities HTTP/2.0\r\n" + host.encode() + b"Connection: close\r\n\r\n", 505),
        ("a POST without length", b"POST /api/v1/borlange/partnerships HTTP/1.1\r\n" + host.encode() +
         b"Transfer-Encoding: gzip\r\nConnection: close\r\n\r\n", None),
        ("nginx's internal error path", b"GET /_nginx/400 HTTP/1.1\r\n" + host.encode() + b"Connection: close\r\n\r\n", 404),
    ]
    bad = []
    for what, data, want in cases:
        st, hdrs, body = raw_exchange(data)
        ctype = hdrs.get("content-type", "")
        try:
            doc = json.loads(body.decode("utf-8"))
        except ValueError:
            doc = None
        if (want is not None and st != want) or st < 400 or ctype != "application/problem+json" or \
                not isinstance(doc, dict) or doc.get("status") != st or not doc.get("title"):
            bad.append("%s: %d %s %r" % (what, st, ctype, body[:120]))
        if st == 405 and "GET" not in hdrs.get("allow", ""):
            bad.append("%s: 405 without Allow" % what)
    expect(not bad, "\n".join(bad))


def t_nginx_problems_config():
    with open(os.path.join(ROOT, "nginx.conf.example"), encoding="utf-8") as f:
        text = f.read()
    for code in ("400", "405", "414", "494", "505"):
        expect(re.search(r"error_page\s+[^;]*\b%s\b" % code, text), "nginx.conf.example: no error_page for %s" % code)
    stack_conf = os.path.join(PORTAL_VAR, "nginx.conf")
    if os.path.exists(stack_conf):
        with open(stack_conf, encoding="utf-8") as f:
            expect("error_page 405" in f.read(), "the stack's nginx.conf has no error_page 405")


# ---------------------------------------------------------------- 18 Patch schemas and null

def resolve(doc, schema):
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        expect(ref.startswith("#/"), "external $ref %s" % ref)
        node = doc
        for part in ref[2:].split("/"):
            node = node[part]
        schema = dict(node, **{k: v for k, v in schema.items() if k != "$ref"})
    return schema


def allows_null(doc, schema):
    schema = resolve(doc, schema)
    if not isinstance(schema, dict):
        return schema is True
    t_ = schema.get("type")
    if t_ == "null" or (isinstance(t_, list) and "null" in t_):
        return True
    if "enum" in schema and None in schema["enum"]:
        return True
    return any(allows_null(doc, s) for s in schema.get("anyOf", []) + schema.get("oneOf", []))


def object_branch(doc, schema):
    """The object schema among schema's branches (a merge patch merges into it), or None."""
    schema = resolve(doc, schema)
    if not isinstance(schema, dict):
        return None
    if "properties" in schema:
        return schema
    for s in schema.get("anyOf", []) + schema.get("oneOf", []):
        o = object_branch(doc, s)
        if o is not None:
            return o
    return None


def null_paths(doc, schema, prefix=()):
    """Every member path a merge patch may set to null, two levels deep."""
    schema = object_branch(doc, schema)
    out = []
    for name, sub in sorted((schema or {}).get("properties", {}).items()):
        if allows_null(doc, sub):
            out.append(prefix + (name,))
        if len(prefix) < 1 and object_branch(doc, sub) is not None and \
                (resolve(doc, sub).get("additionalProperties") is not True):
            out.extend(null_paths(doc, sub, prefix + (name,)))
    return out


def nested(path, value):
    d = value
    for k in reversed(path):
        d = {k: d}
    return d


# Members removed only together (a rule across members, which a JSON Schema
# of a merge patch cannot say): sent with their companions, and the member's
# description must name them.
PATCH_COMPANIONS = {
    ("partnerships", "partner.lat"): ["partner.lon"],
    ("partnerships", "partner.lon"): ["partner.lat"],
    ("projects", "budget.currency"): ["budget.total", "budget.grant"],
    ("visits", "start_date"): ["end_date"],
}
# What the POST example lacks, so that a nested null has something to merge into.
PATCH_BASE = {"news": {"image": {"url": "https://example.org/a.jpg", "alt": "A picture", "credit": "Someone"}}}


def member_schema(doc, schema, path):
    for k in path:
        schema = object_branch(doc, schema)["properties"][k]
    return resolve(doc, schema)


def t_patch_nulls():
    expect(ADMIN, "PORTAL_ADMIN_TOKEN is not set")
    doc = expect_json(request("GET", "/api/v1/openapi.json"), 200)
    bad, tried = [], 0
    for path, ops in sorted(doc["paths"].items()):
        if "patch" not in ops or not path.endswith("/{id}"):
            continue
        module = path.split("/")[-2]
        post = doc["paths"][path.rsplit("/", 1)[0]]["post"]["requestBody"]["content"]["application/json"]
        example = dict(post["example"])
        example.pop("slug", None)
        example.pop("related", None)
        example.update(PATCH_BASE.get(module, {}))
        schema = ops["patch"]["requestBody"]["content"]["application/json"]["schema"]
        for np in null_paths(doc, schema):
            body = dict(example)
            if "title" in body:
                body["title"] = "%s %s %s" % (TAG, module, ".".join(np))
            r = request("POST", "/api/v1/borlange/%s" % module, body=body, token=ADMIN)
            item = expect_json(r, 201)["id"]
            patch = nested(np, None)
            companions = PATCH_COMPANIONS.get((module, ".".join(np)), [])
            if companions:
                text = json.dumps(member_schema(doc, schema, np))
                missing = [c for c in companions if c.split(".")[-1] not in text]
                if missing:
                    bad.append("%s %s: removed only with %s, which its description does not say"
                               % (module, ".".join(np), ", ".join(missing)))
            for c in companions:
                cp = tuple(c.split("."))
                if len(cp) == 2:
                    patch.setdefault(cp[0], {})[cp[1]] = None
                else:
                    patch[cp[0]] = None
            r = request("PATCH", "/api/v1/borlange/%s/%d" % (module, item), body=patch, token=ADMIN)
            tried += 1
            if r.status // 100 != 2:
                try:
                    detail = json.loads(r.body).get("errors") or json.loads(r.body).get("detail")
                except ValueError:
                    detail = r.body[:200]
                bad.append("%s %s: null allowed by the schema, answered %d %s" % (module, ".".join(np), r.status, detail))
            request("DELETE", "/api/v1/borlange/%s/%d" % (module, item), token=ADMIN)
    t.diag("%d nulls the Patch schemas allow, sent" % tried)
    expect(tried > 20, "only %d nullable members found" % tried)
    expect(not bad, "\n".join(bad))


# ---------------------------------------------------------------- 10 JSON-LD

LD_DATES = ("startDate", "endDate", "foundingDate", "dissolutionDate", "datePublished", "dateModified")
FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$")


def page_jsonld(path):
    r = request("GET", path)
    expect(r.status == 200, "GET %s: %d" % (path, r.status), r)
    html = r.body.decode("utf-8")
    out = []
    for text in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S):
        try:
            out.append(json.loads(text))
        except ValueError as e:
            raise AssertionError("%s: JSON-LD does not parse: %s" % (path, e))
    expect(out, "%s has no JSON-LD" % path)
    return out


def ld_problems(path, node, where="$"):
    bad = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "description" and (v is None or (isinstance(v, str) and not v.strip())):
                bad.append("%s: %s.description is empty" % (path, where))
            if k in LD_DATES and not (isinstance(v, str) and FULL_DATE.match(v)):
                bad.append("%s: %s.%s is %r, not a full ISO date" % (path, where, k, v))
            if k == "funder":
                for f in v if isinstance(v, list) else [v]:
                    if not isinstance(f, dict) or set(f) != {"@type", "name"} or f.get("@type") != "Organization":
                        bad.append("%s: a funder %r is not {\"@type\": \"Organization\", \"name\"}" % (path, f))
            bad.extend(ld_problems(path, v, "%s.%s" % (where, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            bad.extend(ld_problems(path, v, "%s[%d]" % (where, i)))
    return bad


def t_jsonld_items():
    expect(ADMIN, "PORTAL_ADMIN_TOKEN is not set")
    r = request("POST", "/api/v1/borlange/projects", token=ADMIN,
                body={"title": "%s funded" % TAG, "status": "running", "start_date": "2030-03",
                      "funders": [{"name": "Sida", "kind": "sida"}, {"name": "Svenska institutet", "kind": "si"}]})
    state.setdefault("ld", []).append(("projects", expect_json(r, 201)["id"]))
    r = request("POST", "/api/v1/borlange/visits", token=ADMIN,
                body={"title": "%s month" % TAG, "direction": "outgoing", "start_date": "2030-02",
                      "end_date": "2030-02", "public": True})
    state["ld"].append(("visits", expect_json(r, 201)["id"]))
    bad, seen = [], 0
    munis = expect_json(request("GET", "/api/v1/municipalities"), 200)["items"]
    modules = next(m["modules"] for m in munis if m["slug"] == "borlange")
    for module in modules:
        items = expect_json(request("GET", "/api/v1/borlange/%s" % module, query={"limit": "100"}), 200)["items"]
        for it in items:
            path = "/borlange/%s/%d" % (module, it["id"])
            for ld in page_jsonld(path):
                seen += 1
                bad.extend(ld_problems(path, ld))
    pid = state["ld"][0][1]
    ld = page_jsonld("/borlange/projects/%d" % pid)[0]
    expect(ld.get("funder") == [{"@type": "Organization", "name": "Sida"},
                                {"@type": "Organization", "name": "Svenska institutet"}],
           "funder %r" % ld.get("funder"))
    expect("description" not in ld, "a project without summary has a description %r" % ld.get("description"))
    expect(ld.get("foundingDate") == "2030-03-01", "foundingDate %r" % ld.get("foundingDate"))
    ld = page_jsonld("/borlange/visits/%d" % state["ld"][1][1])[0]
    expect((ld.get("startDate"), ld.get("endDate")) == ("2030-02-01", "2030-02-28"),
           "a visit in February 2030: %r .. %r" % (ld.get("startDate"), ld.get("endDate")))
    t.diag("%d JSON-LD objects read" % seen)
    expect(not bad, "\n".join(bad[:30]))


# ---------------------------------------------------------------- 11 NFC

def t_nfc():
    expect(ADMIN, "PORTAL_ADMIN_TOKEN is not set")
    decomposed = "Skagen Zu\u0308rich %s" % TAG       # u + COMBINING DIAERESIS
    r = request("POST", "/api/v1/borlange/news", token=ADMIN,
                body={"title": decomposed, "lang": "sv", "body": "Ko\u0308penhamn", "status": "published",
                      "published_at": "2031-01-01T10:00:00Z"})
    j = expect_json(r, 201)
    state.setdefault("ld", []).append(("news", j["id"]))
    expect(j["title"] == "Skagen Z\u00fcrich %s" % TAG, "title stored as %r, not NFC" % j["title"])
    expect(j["body"] == "K\u00f6penhamn", "body stored as %r" % j["body"])
    want = "skagen-zurich-%s" % TAG
    expect(j["slug"] == want, "slug %r, want %r" % (j["slug"], want))
    r = request("POST", "/api/v1/borlange/partnerships", token=ADMIN,
                body={"partner": {"name": "Ja\u0308rvenpa\u0308a\u0308", "other_names": [{"lang": "sv", "name": "A\u030angermanland"}],
                                  "country": "FI"}, "kind": "cooperation", "status": "active"})
    j = expect_json(r, 201)
    state["ld"].append(("partnerships", j["id"]))
    expect(j["partner"]["name"] == "J\u00e4rvenp\u00e4\u00e4", "partner.name %r" % j["partner"]["name"])
    expect(j["partner"]["other_names"][0]["name"] == "\u00c5ngermanland", "other_names %r" % j["partner"]["other_names"])
    # a PATCH too, and what is precomposed is found by what was typed precomposed
    r = request("PATCH", "/api/v1/borlange/partnerships/%d" % j["id"], token=ADMIN,
                body={"partner": {"region": "Uusimaa Nyla\u0308nd"}})
    expect(expect_json(r, 200)["partner"]["region"] == "Uusimaa Nyl\u00e4nd", "PATCH: region not NFC")
    found = expect_json(request("GET", "/api/v1/borlange/partnerships", query={"q": "J\u00e4rvenp\u00e4\u00e4"}), 200)
    expect(any(i["id"] == j["id"] for i in found["items"]), "q J\u00e4rvenp\u00e4\u00e4 does not find it")


# ---------------------------------------------------------------- 13 lengths in characters

def t_lengths_in_characters():
    expect(ADMIN, "PORTAL_ADMIN_TOKEN is not set")
    r = request("POST", "/api/v1/borlange/partnerships", token=ADMIN,
                body={"partner": {"name": "\u00f6" * 200, "country": "LV"}, "kind": "cooperation", "status": "active"})
    j = expect_json(r, 201)
    state.setdefault("ld", []).append(("partnerships", j["id"]))
    expect(j["partner"]["name"] == "\u00f6" * 200, "the name of 200 characters came back changed")
    p = expect_problem(request("POST", "/api/v1/borlange/partnerships", token=ADMIN,
                               body={"partner": {"name": "\u00f6" * 201, "country": "LV"}, "kind": "cooperation",
                                     "status": "active"}), 422)
    msgs = [e.get("message", "") for e in p.get("errors") or [] if e.get("field") == "partner.name"]
    expect(msgs and "201" in msgs[0] and "character" in msgs[0], "201 characters: %r" % msgs)
    r = request("POST", "/api/v1/borlange/visits", token=ADMIN,
                body={"title": "\U0001F389" * 300, "direction": "incoming", "public": False})
    state["ld"].append(("visits", expect_json(r, 201)["id"]))
    expect_json(request("GET", "/api/v1/borlange/partnerships", query={"q": "\u00e5" * 200}), 200)
    expect_problem(request("GET", "/api/v1/borlange/partnerships", query={"q": "\u00e5" * 201}), 422)
    expect_json(request("GET", "/api/v1/borlange/projects", query={"programme": "\u00f6" * 200}), 200)
    # the language tag's cap is documented
    doc = expect_json(request("GET", "/api/v1/openapi.json"), 200)
    caps = set()

    def walk(node):
        if isinstance(node, dict):
            if node.get("pattern", "").startswith("^[a-z]{2,3}"):
                caps.add(node.get("maxLength"))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(doc)
    expect(caps == {35}, "language tag schemas with maxLength %r" % caps)
    tag = "sv-" + "-".join(["abcdefgh"] * 4)[:32]
    expect(len(tag) == 35, tag)
    r = request("POST", "/api/v1/borlange/news", token=ADMIN, body={"title": "%s lang" % TAG, "lang": tag, "body": "x"})
    state["ld"].append(("news", expect_json(r, 201)["id"]))
    expect_problem(request("POST", "/api/v1/borlange/news", token=ADMIN,
                           body={"title": "%s lang2" % TAG, "lang": tag + "x", "body": "x"}), 422)


# ---------------------------------------------------------------- 14 DELETE of a linked item

def t_delete_linked():
    expect(ADMIN, "PORTAL_ADMIN_TOKEN is not set")
    doc = expect_json(request("GET", "/api/v1/openapi.json"), 200)
    bad = []
    for path, ops in sorted(doc["paths"].items()):
        op = ops.get("delete")
        if not op or "409" not in op.get("responses", {}):
            continue
        text = op.get("description") or ""
        if "forgotten" in text or "409" not in text:
            bad.append("DELETE %s: the description does not say 409 for a linked item: %r" % (path, text))
    expect(not bad, "\n".join(bad))
    r = request("POST", "/api/v1/borlange/partnerships", token=ADMIN,
                body={"partner": {"name": "%s linked" % TAG, "country": "LV"}, "kind": "cooperation",
                      "status": "active"})
    pid = expect_json(r, 201)["id"]
    r = request("POST", "/api/v1/borlange/visits", token=ADMIN,
                body={"title": "%s linking" % TAG, "direction": "incoming", "partnership_ids": [pid],
                      "public": False})
    vid = expect_json(r, 201)["id"]
    p = expect_problem(request("DELETE", "/api/v1/borlange/partnerships/%d" % pid, token=ADMIN), 409)
    expect("visits %d" % vid in str(p.get("detail")), "409 does not name visits %d: %r" % (vid, p.get("detail")))
    expect_json(request("GET", "/api/v1/borlange/partnerships/%d" % pid, token=ADMIN), 200)
    expect_status(request("DELETE", "/api/v1/borlange/visits/%d" % vid, token=ADMIN), 204)
    expect_status(request("DELETE", "/api/v1/borlange/partnerships/%d" % pid, token=ADMIN), 204)


# ---------------------------------------------------------------- 19 small errors

def t_module_name():
    for path, mod in (("/api/v1/lejre/visits.csv", "visits"), ("/api/v1/lejre/visits.ics", "visits"),
                      ("/api/v1/provkommun/news.atom", "news")):
        p = expect_problem(request("GET", path), 404)
        d = str(p.get("detail"))
        expect('"%s"' % mod in d and "." not in d.split('"')[1], "%s: %r" % (path, d))


def t_null_body():
    expect(ADMIN, "PORTAL_ADMIN_TOKEN is not set")
    for method, path in (("POST", "/api/v1/borlange/partnerships"), ("PATCH", "/api/v1/borlange/partnerships/1"),
                         ("POST", "/api/v1/borlange/news")):
        for raw in ("null", " null\n"):
            r = request(method, path, raw=raw, token=ADMIN)
            p = expect_problem(r, 400, 422)
            text = (str(p.get("detail")) + " " + " ".join(str(e.get("message")) for e in p.get("errors") or [])).lower()
            expect("empty" not in text and "too early" not in text and "null" in text,
                   "%s %s with %r: %r" % (method, path, raw, text), r)


def t_allow_head():
    bad = []
    cases = [("DELETE", "/api/v1/borlange/partnerships", None), ("PUT", "/api/v1/borlange/partnerships/1", ADMIN),
             ("PUT", "/api/v1/municipalities", None), ("POST", "/api/v1/borlange/audit", ADMIN),
             ("POST", "/api/v1/borlange/news.atom", None), ("OPTIONS", "/api/v1/borlange/visits/1", None)]
    for method, path, tok in cases:
        r = request(method, path, token=tok, raw="{}" if method in ("POST", "PUT") else None)
        allow = [x.strip() for x in (r.header("Allow") or "").split(",")]
        if r.status != 405 or "GET" not in allow or "HEAD" not in allow:
            bad.append("%s %s: %d, Allow: %r" % (method, path, r.status, r.header("Allow")))
        h = request("HEAD", path, token=tok)
        if h.status == 405:
            bad.append("HEAD %s: %d" % (path, h.status))
    expect(not bad, "\n".join(bad))


def t_emoji_slug():
    expect(ADMIN, "PORTAL_ADMIN_TOKEN is not set")
    r = request("POST", "/api/v1/borlange/news", token=ADMIN,
                body={"title": "\U0001F389\U0001F389\U0001F680", "lang": "sv", "body": "x"})
    p = expect_problem(r, 422)
    fields = [e.get("field") for e in p.get("errors") or []]
    expect(fields.count("slug") == 1, "errors name slug %d times: %r" % (fields.count("slug"), p.get("errors")), r)


def cleanup():
    for module, i in state.get("ld") or []:
        request("DELETE", "/api/v1/borlange/%s/%d" % (module, i), token=ADMIN)
    if state.get("news"):
        request("DELETE", "/api/v1/borlange/news/%s" % state["news"], token=ADMIN)
    for v in state.get("visits") or []:
        request("DELETE", "/api/v1/borlange/visits/%s" % v, token=ADMIN)
    if state.get("idem_item") and state.get("idem_token"):
        request("DELETE", "/api/v1/borlange/partnerships/%s" % state["idem_item"], token=state["idem_token"])


def main():
    t.diag("PORTAL_URL %s, public_url %s" % (PORTAL_URL, public_url()))
    t.check("/metrics/, /%6detrics and the like are not the metrics (from 127.0.0.1, which nginx allows)",
            t_metrics_loopback)
    t.check("no form of /metrics answers 127.0.0.2 (nginx's ACL and portald's canonical path)", t_metrics_other_address)
    t.check("nginx.conf.example guards /metrics with a prefix match", t_metrics_nginx_prefix)
    t.check("no link built from the request path starts with // (GET //evil.example/x)", t_no_protocol_relative)
    t.check("the Host header reaches no absolute link (Atom, iCalendar, GeoJSON, overview)", t_host_not_in_links)
    t.check("the overview's JSON-LD url is under public_url, whatever the Host", t_jsonld_base)
    t.check("portald -t refuses a public_url that is not http(s)://host", t_public_url_checked)
    t.check("the cache key is the parsed request: ?_=, argument order and spelling, Accept-Language, "
            "Portal-Read and Host without a token all hit", t_cache_key_parsed)
    t.check("an export pages itself: a client's limit or cursor neither repeats nor drops rows", t_export_paging_own)
    t.check("list.html is not an export route: partnerships.html is a 404", t_list_html_not_export)
    t.check("Portal-Read: primary is honoured only with a token", t_portal_read_needs_token)
    t.check("nginx limits anonymous traffic (limit_req, limit_conn), stricter for exports and q (from 127.0.0.2)",
            t_nginx_anonymous_limits)
    t.check("a published news item shows anonymous readers no id of a non-public visit (item and list)",
            t_related_hidden)
    t.check("portald's master and workers: RLIMIT_CORE 0", t_no_core_dumps)
    t.check("portald's master and workers are not dumpable (run as nobody: /proc/PID/status is root's)", t_not_dumpable)
    t.check("portald -p refuses a symbolic link as its pid file and writes nothing through it", t_pidfile_symlink)
    t.check("portalctl export (json and csv) writes 0600 files whatever the umask", t_export_private)
    t.check("token create --expires: bad or past values refused; the token is refused after it (401)",
            t_token_expires)
    t.check("an Idempotency-Key older than core.idempotency_ttl is forgotten, and old keys purged",
            t_idempotency_purge)
    t.check("CSV exports: CRLF record ends, no empty record at the end, the header alone when empty", t_csv)
    t.check("iCalendar (python3-icalendar): no METHOD without ORGANIZER; an empty calendar has a component", t_ics)
    t.check("the ETag is documented as an opaque strong tag and is one (pattern, 304, 412)", t_etag_opaque)
    t.check("exports document the Cache-Control they send (anonymous and with a token)", t_cache_control_documented)
    t.check("nginx's own errors are problem+json: TRACE 405, a 20 KB header 400, 414, 505, its internal paths 404",
            t_nginx_problems)
    t.check("nginx.conf.example (and the stack's nginx.conf made of it) map nginx's 4xx to problem+json",
            t_nginx_problems_config)
    t.check("every null a Patch schema allows is accepted (2xx)", t_patch_nulls)
    t.check("JSON-LD of item pages: funders {@type, name} only, no empty description, full ISO dates",
            t_jsonld_items)
    t.check("text is stored in NFC: a title with combining marks gets the precomposed title and slug skagen-zurich",
            t_nfc)
    t.check("lengths count characters: 200 \u00f6 in partner.name, 300 emoji in a title, q and programme of 200; lang capped at 35",
            t_lengths_in_characters)
    t.check("DELETE of a linked item: 409 naming what links to it, as its OpenAPI description says",
            t_delete_linked)
    t.check("a module's export in a municipality without it names the module (\"visits\", not \"visits.csv\")",
            t_module_name)
    t.check("a null body is called null, not empty", t_null_body)
    t.check("Allow on 405 lists HEAD next to GET, and HEAD is answered", t_allow_head)
    t.check("an emoji-only news title names slug once in errors", t_emoji_slug)
    cleanup()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
