#!/usr/bin/env python3
"""The response cache and conditional GETs (core/server/cache.c, dispatch.c), through nginx.

The stack runs the default cache (cache.check = "database"): an answer is
served from a worker's cache only while the municipality's generation in
the database is the one it was made under.  Checks:
  - every public GET has an ETag and Cache-Control; If-None-Match gives 304
    (also when the answer comes from the cache);
  - repeated anonymous GETs are answered from the cache (portal_cache_total);
  - after an acknowledged write every later read shows it, on every worker;
  - a write made by another process that shares no memory with portald
    (the in-process replay tool, standing in for a second portal host) is
    seen at once too: the database generation, not this host's memory;
  - token callers are never served from, nor stored into, the cache;
  - one generation read answers the hits that arrived before it started
    (nginx's REQUEST_MSEC): a request sent straight to portald's socket
    with an arrival before the last read is answered without a statement
    (MariaDB's Com_stmt_execute and portal_cache_total{event="check_shared"}),
    one that arrived after it reads;
  - a write made directly in MariaDB, with the generation bumped as the
    core does (another host), is seen by every request that arrived after
    its COMMIT returned, also while other clients keep hitting the item;
    a request that arrived before the write may still get the earlier
    answer, and does when it is answered from the earlier read;
  - item tokens: an item's own answer stays cached through a write to an
    unrelated item (portal_cache_total{event="item_valid"}, one statement
    instead of a new answer), but not through a write to an item linked
    to it (a news item's title in its "linked", a link made, a link
    removed), nor through an edit by hand that replaces the token.
Scratch items go to herrljunga and are deleted at the end.
"""
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import http.client  # noqa: E402

from helpers import HOST, PORT, Tap, create_token, expect, expect_json, expect_status, request  # noqa: E402

API = "/api/v1"
TAG = "cachetest-%d" % os.getpid()
B = os.environ.get("B", "build")
M = "herrljunga"
READS = 8  # enough that both workers (core.workers = 2 in the test stack) answer some

t = Tap()
state = {}


def metric(event):
    r = request("GET", "/metrics")
    expect_status(r, 200)
    m = re.search(r'^portal_cache_total\{event="%s"\} (\d+)$' % event, r.text, re.M)
    expect(m is not None, "/metrics has no portal_cache_total{event=%r}" % event, r)
    return int(m.group(1))


def names(resp):
    return [i["partner"]["name"] for i in resp.json["items"]]


def headers_on_public_gets():
    for path in ("%s/%s/partnerships" % (API, M), "/%s/" % M, "%s/%s/news.atom" % (API, M),
                 "%s/%s/partnerships.csv" % (API, M)):
        r = request("GET", path, headers={"Accept": "*/*"})
        expect_status(r, 200)
        etag, cc = r.header("etag"), r.header("cache-control") or ""
        expect(etag and etag.startswith('"'), "%s: no strong ETag" % path, r)
        expect("public" in cc, "%s: Cache-Control %r is not public" % (path, cc), r)
        for _ in range(3):  # from the handler and from the cache alike
            r2 = request("GET", path, headers={"If-None-Match": etag, "Accept": "*/*"})
            expect(r2.status == 304 and r2.body == b"", "%s: If-None-Match %s gave %d" %
                   (path, etag, r2.status), r2)
            expect(r2.header("etag") == etag, "%s: the 304 has ETag %r" % (path, r2.header("etag")), r2)


def token_answers_are_private():
    r = request("GET", "%s/%s/partnerships" % (API, M), token=state["editor"])
    expect_status(r, 200)
    expect(r.header("cache-control") == "private, no-store",
           "a token caller's answer says Cache-Control %r" % r.header("cache-control"), r)


def repeated_reads_hit():
    before = metric("hit")
    for _ in range(READS):
        expect_status(request("GET", "%s/%s/partnerships" % (API, M)), 200)
    after = metric("hit")
    t.diag("hits: %d of %d reads" % (after - before, READS))
    expect(after - before >= READS - 2, "only %d of %d repeated reads were cache hits" %
           (after - before, READS))


def create_partnership(name):
    r = request("POST", "%s/%s/partnerships" % (API, M), token=state["editor"],
                body={"partner": {"name": name, "country": "NO"}, "kind": "twin_town"})
    expect_json(r, 201)
    return r.json


def write_is_seen_at_once():
    for _ in range(READS):  # fill both workers' caches
        request("GET", "%s/%s/partnerships" % (API, M))
    p = create_partnership(TAG + " Tromsø")
    state["ids"] = [p["id"]]
    for i in range(READS):
        r = request("GET", "%s/%s/partnerships" % (API, M))
        expect_status(r, 200)
        expect(TAG + " Tromsø" in names(r), "read %d after the 201 does not show the new item" % i, r)
    r = request("PATCH", "%s/%s/partnerships/%d" % (API, M, p["id"]), token=state["editor"],
                body={"partner": {"name": TAG + " Bodø"}}, content_type="application/merge-patch+json",
                headers={"If-Match": request("GET", "%s/%s/partnerships/%d" % (API, M, p["id"]))
                         .header("etag")})
    expect_json(r, 200)
    for i in range(READS):
        got = names(request("GET", "%s/%s/partnerships" % (API, M)))
        expect(TAG + " Bodø" in got and TAG + " Tromsø" not in got,
               "read %d after the PATCH shows %r" % (i, [n for n in got if TAG in n]))
        r = request("GET", "%s/%s/partnerships/%d" % (API, M, p["id"]))
        expect(r.json["partner"]["name"] == TAG + " Bodø", "item read %d is stale" % i, r)


def other_host_write_is_seen():
    replay = os.path.join(B, "tests", "replay")
    expect(os.access(replay, os.X_OK), "%s is not built" % replay)
    for _ in range(READS):
        request("GET", "%s/%s/partnerships" % (API, M))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write('POST* %s/%s/partnerships {"partner":{"name":"%s Narvik","country":"NO"},'
                '"kind":"twin_town"}\n' % (API, M, TAG))
        path = f.name
    try:
        env = dict(os.environ, PORTAL_ADMIN_TOKEN=state["admin"])
        p = subprocess.run([replay, "-c", os.environ["PORTAL_CONF"], path], capture_output=True,
                           text=True, timeout=60, env=env)
    finally:
        os.unlink(path)
    expect(p.returncode == 0 and p.stdout.startswith("201 "),
           "replay exited %d: %s %s" % (p.returncode, p.stdout, p.stderr))
    for i in range(READS):
        r = request("GET", "%s/%s/partnerships" % (API, M))
        expect(TAG + " Narvik" in names(r), "read %d misses the other process's write" % i, r)
    state["ids"] += [i["id"] for i in r.json["items"] if i["partner"]["name"] == TAG + " Narvik"]


def drafts_never_leak():
    r = request("POST", "%s/%s/news" % (API, M), token=state["editor"],
                body={"title": TAG + " utkast", "lang": "sv", "status": "draft"})
    expect_json(r, 201)
    state["news"] = r.json["id"]
    for i in range(READS):
        a = request("GET", "%s/%s/news" % (API, M))
        k = request("GET", "%s/%s/news" % (API, M), token=state["editor"])
        expect(TAG + " utkast" not in a.text, "anonymous read %d shows the draft" % i, a)
        expect(TAG + " utkast" in k.text, "token read %d misses the draft" % i, k)


def conf_value(group, key):
    """A string setting of PORTAL_CONF's group (database, core)."""
    with open(os.environ["PORTAL_CONF"], encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"\b%s\s*[:=]\s*\{(.*?)\};" % group, text, re.S)
    expect(m, "no %s group in PORTAL_CONF" % group)
    v = re.search(r'\b%s\s*=\s*"([^"]*)"' % key, m.group(1))
    return v.group(1) if v else None


def sql(query):
    """Runs query with the mariadb client as the portal's database user: a
    write from outside portald, as another host's would be.  Returns when
    the server has answered (a COMMIT: acknowledged)."""
    cmd = ["mariadb", "--no-defaults", "--batch", "--skip-column-names",
           "--user=" + conf_value("database", "user")]
    sock, host = conf_value("database", "socket"), conf_value("database", "host")
    if sock:
        cmd += ["--protocol=socket", "--socket=" + sock]
    else:
        with open(os.environ["PORTAL_CONF"], encoding="utf-8") as f:
            port = re.search(r"\bport\s*=\s*(\d+)", f.read())
        cmd += ["--protocol=tcp", "--host=" + (host or "127.0.0.1"),
                "--port=" + (port.group(1) if port else "3306")]
    cmd += [conf_value("database", "name"), "-e", query]
    env = dict(os.environ, MYSQL_PWD=conf_value("database", "password") or "")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env)
    expect(r.returncode == 0, "mariadb: %s" % r.stderr.strip())
    return r.stdout


def statements():
    """Prepared statements MariaDB has executed (portald prepares every one)."""
    out = sql("SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'")
    return int(out.split()[1])


def write_elsewhere(news_id, title):
    """A write as another portal host makes it: the row and a new random
    generation token of the municipality in one transaction."""
    sql("START TRANSACTION; UPDATE news SET title = '%s', version = version + 1 WHERE id = %d; "
        "INSERT INTO cache_generations (municipality, token) VALUES ('%s', "
        "FLOOR(1 + RAND() * 9000000000000000000)) ON DUPLICATE KEY UPDATE token = VALUES(token); "
        "COMMIT;" % (title, news_id, M))


def now_ms():
    return int(time.time() * 1000)


def fcgi_get(path, msec):
    """GET path straight from portald's socket, as nginx would send it, with
    REQUEST_MSEC = msec (nginx's $msec: when it got the request).  Returns
    (status, body)."""
    params = {"REQUEST_METHOD": "GET", "REQUEST_URI": path, "QUERY_STRING": "",
              "SCRIPT_NAME": "", "DOCUMENT_URI": path, "SERVER_PROTOCOL": "HTTP/1.1",
              "REQUEST_SCHEME": "http", "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_SOFTWARE": "nginx",
              "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "1", "SERVER_ADDR": "127.0.0.1",
              "SERVER_PORT": str(PORT), "SERVER_NAME": "localhost", "HTTP_HOST": "%s:%d" % (HOST, PORT),
              "HTTP_ACCEPT": "application/json", "REQUEST_ID": "%032x" % (now_ms() * 1000 + os.getpid()),
              "REQUEST_MSEC": "%d.%03d" % (msec // 1000, msec % 1000)}

    def record(kind, content):
        return struct.pack("!BBHHBx", 1, kind, 1, len(content), 0) + content

    def length(n):
        return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)

    body = b"".join(length(len(k)) + length(len(v.encode())) + k.encode() + v.encode()
                    for k, v in params.items())
    msg = (record(1, struct.pack("!HB5x", 1, 0)) + record(4, body) + record(4, b"") +
           record(5, b""))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(conf_value("core", "listen"))
    s.sendall(msg)
    out, buf = b"", b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 8:
            _, kind, _, clen, plen = struct.unpack("!BBHHB", buf[:7])
            if len(buf) < 8 + clen + plen:
                break
            if kind == 6:
                out += buf[8:8 + clen]
            buf = buf[8 + clen + plen:]
    s.close()
    head, _, payload = out.partition(b"\r\n\r\n")
    m = re.search(rb"^Status: (\d+)", head, re.M)
    return (int(m.group(1)) if m else 200), payload


def news_title(body):
    import json
    return json.loads(body)["title"]


def fcgi_counted(path, msec):
    """fcgi_get, with the statements MariaDB executed meanwhile and the
    changes of portal_cache_total (/metrics and SHOW STATUS execute none)."""
    events = ("hit", "miss", "check_shared", "check_read")
    m0, s0 = {e: metric(e) for e in events}, statements()
    st, body = fcgi_get(path, msec)
    s1 = statements()
    return st, body, s1 - s0, {e: metric(e) - m0[e] for e in events}


def shared_read_answers_earlier_arrivals():
    r = request("POST", "%s/%s/news" % (API, M), token=state["editor"],
                body={"title": TAG + " v0", "lang": "sv", "status": "published"})
    expect_json(r, 201)
    nid = state["shared_news"] = r.json["id"]
    path = "%s/%s/news/%d" % (API, M, nid)
    state["shared_path"] = path
    # Each worker has its own entries: until the request lands on a worker
    # that has one (a miss stores it there), try again.
    for _ in range(10):
        before = now_ms() - 2  # arrived 2 ms before the read below started
        expect_status(request("GET", path), 200)  # reads the generation, shares it
        st, body, stmts, d = fcgi_counted(path, before)
        expect(st == 200 and news_title(body) == TAG + " v0", "the FastCGI GET gave %d %r" % (st, body[:200]))
        if d["hit"]:
            break
    t.diag("arrived before the last read: %d statements, %r" % (stmts, d))
    expect(d["hit"] == 1, "no FastCGI GET was a cache hit")
    expect(stmts == 0, "a hit that arrived before the last generation read sent %d statements" % stmts)
    expect(d["check_shared"] == 1 and d["check_read"] == 0, "not counted as answered by the shared read")
    for _ in range(10):
        st, body, stmts, d = fcgi_counted(path, now_ms())
        expect(st == 200, "the FastCGI GET gave %d" % st)
        if d["hit"]:
            break
    t.diag("arrived after the last read: %d statements, %r" % (stmts, d))
    expect(d["hit"] == 1 and stmts == 1 and d["check_read"] == 1,
           "a hit that arrived after the last read sent %d statements, not the one token read" % stmts)


def write_elsewhere_never_missed():
    nid, path = state["shared_news"], state["shared_path"]
    # A request that arrived before the write may show the old title (it
    # arrived first): the read made before the write answers it.
    before = now_ms() - 2
    expect_status(request("GET", path), 200)
    write_elsewhere(nid, TAG + " v1")
    st, body = fcgi_get(path, before)
    # v0 from a worker that has the entry (the earlier read vouches for it);
    # v1 from one that makes the answer anew
    expect(st == 200 and news_title(body) in (TAG + " v0", TAG + " v1"),
           "arrived before the write: got %r" % body[:200])
    t.diag("arrived before the write, after the last read started: %s" % news_title(body))
    st, body = fcgi_get(path, now_ms())
    expect(st == 200 and news_title(body) == TAG + " v1",
           "arrived after the COMMIT returned: expected v1, got %r" % body[:200])
    expect(news_title(request("GET", path).body) == TAG + " v1", "through nginx: not v1")

    # Under load: clients keep reading through nginx (keep-alive) while
    # writes land directly in MariaDB; no answer to a request sent after a
    # COMMIT returned may show an older title.
    stop = threading.Event()
    seen = []  # (sent, version)
    errors = []

    def reader():
        conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
        try:
            while not stop.is_set():
                sent = time.time()
                conn.request("GET", path, headers={"Accept": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    errors.append(resp.status)
                    continue
                seen.append((sent, int(news_title(data).rsplit(" v", 1)[1])))
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))
        finally:
            conn.close()

    shared0, read0 = metric("check_shared"), metric("check_read")
    threads = [threading.Thread(target=reader) for _ in range(8)]
    for th in threads:
        th.start()
    acks = []
    missed = []
    try:
        for k in range(2, 22):
            time.sleep(0.03)
            write_elsewhere(nid, "%s v%d" % (TAG, k))
            acks.append((time.time(), k))
            got = news_title(request("GET", path).body)
            if got != "%s v%d" % (TAG, k):
                missed.append((k, got))
            st, body = fcgi_get(path, now_ms())
            if news_title(body) != "%s v%d" % (TAG, k):
                missed.append((k, news_title(body)))
    finally:
        stop.set()
        for th in threads:
            th.join()
    stale = [(sent, v, k) for sent, v in seen for ack, k in acks if sent > ack and v < k]
    t.diag("%d reads by 8 clients during 20 writes: check_shared +%d, check_read +%d" %
           (len(seen), metric("check_shared") - shared0, metric("check_read") - read0))
    expect(not errors, "readers failed: %r" % errors[:5])
    expect(not missed, "reads after a COMMIT returned showed older titles: %r" % missed[:5])
    expect(not stale, "%d reads sent after a COMMIT returned showed an older version, e.g. %r" %
           (len(stale), stale[:3]))


def item_get(pid):
    r = request("GET", "%s/%s/partnerships/%d" % (API, M, pid))
    expect_json(r, 200)
    return r.json


def patch(path, body):
    etag = request("GET", path, token=state["editor"]).header("etag")
    r = request("PATCH", path, token=state["editor"], body=body,
                content_type="application/merge-patch+json", headers={"If-Match": etag})
    expect_json(r, 200)
    return r.json


def linked_news(item):
    return [n["title"] for n in item.get("linked", {}).get("news", [])]


def item_tokens():
    a = create_partnership(TAG + " Alta")
    b = create_partnership(TAG + " Hammerfest")
    state["ids"] += [a["id"], b["id"]]
    for _ in range(READS):
        item_get(a["id"])
    # an unrelated write: a's answer stays, revalidated by one statement per worker
    v0, s0 = metric("item_valid"), statements()
    patch("%s/%s/partnerships/%d" % (API, M, b["id"]), {"partner": {"region": "Troms"}})
    s1 = statements()
    for i in range(READS):
        expect(item_get(a["id"])["partner"]["name"] == TAG + " Alta", "read %d of a is wrong" % i)
    valid, stmts = metric("item_valid") - v0, statements() - s1
    t.diag("after a write to another item: %d revalidated, %d statements for %d reads (the "
           "write: %d)" % (valid, stmts, READS, s1 - s0))
    expect(1 <= valid <= 2, "%d answers kept by the item token, not 1 or 2 (one per worker)" % valid)
    expect(stmts <= READS + 2, "%d statements for %d reads: answers were made again" % (stmts, READS))
    # a news item linking to a: its title is in a's "linked"; each change shows at once
    r = request("POST", "%s/%s/news" % (API, M), token=state["editor"],
                body={"title": TAG + " nyhet", "lang": "sv", "status": "published",
                      "related": {"partnerships": [a["id"]]}})
    expect_json(r, 201)
    state["linked_news"] = nid = r.json["id"]
    pn = "%s/%s/news/%d" % (API, M, nid)
    for i in range(READS):
        expect(linked_news(item_get(a["id"])) == [TAG + " nyhet"], "read %d: a new link not shown" % i)
    patch(pn, {"title": TAG + " ny rubrik"})
    for i in range(READS):
        got = linked_news(item_get(a["id"]))
        expect(got == [TAG + " ny rubrik"], "read %d after the news' title changed: %r" % (i, got))
    patch(pn, {"related": {"partnerships": [b["id"]]}})
    for i in range(READS):
        got = linked_news(item_get(a["id"]))
        expect(got == [], "read %d after the link was removed: %r" % (i, got))
        got = linked_news(item_get(b["id"]))
        expect(got == [TAG + " ny rubrik"], "read %d of the new target: %r" % (i, got))
    # a write that is not an item's (an upload) outdates every item's answer
    for _ in range(READS):
        item_get(a["id"])
    v0, st0 = metric("item_valid"), metric("stale")
    nonce = os.urandom(8).hex().encode()
    r = request("POST", "%s/%s/media" % (API, M), token=state["editor"], content_type="application/pdf",
                raw=b"%PDF-1.4\n%" + nonce + b"\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n"
                    b"%%EOF\n")
    expect_json(r, 201)
    state["media"] = r.json["id"]
    for i in range(READS):
        item_get(a["id"])
    t.diag("after an upload: %d kept by the item token, %d stale" %
           (metric("item_valid") - v0, metric("stale") - st0))
    expect(metric("item_valid") == v0, "an item's answer was kept through an upload")
    # by hand in SQL, with the token replaced as README says
    sql("START TRANSACTION; UPDATE partnerships SET partner_name = '%s', version = version + 1 "
        "WHERE id = %d; UPDATE cache_generations SET token = token + 1 WHERE municipality = '%s'; "
        "COMMIT;" % (TAG + " Tromsø by hand", a["id"], M))
    for i in range(READS):
        got = item_get(a["id"])["partner"]["name"]
        expect(got == TAG + " Tromsø by hand", "read %d after an edit by hand: %r" % (i, got))


def cleanup():
    if "linked_news" in state:  # first: it links to partnerships
        request("DELETE", "%s/%s/news/%d" % (API, M, state.pop("linked_news")), token=state["admin"])
    for pid in state.get("ids", []):
        r = request("DELETE", "%s/%s/partnerships/%d" % (API, M, pid), token=state["admin"])
        expect(r.status in (204, 404), "DELETE partnership %d: %d" % (pid, r.status), r)
    if "media" in state:
        request("DELETE", "%s/%s/media/%d" % (API, M, state.pop("media")), token=state["admin"])
    for key in ("news", "shared_news"):
        if key in state:
            request("DELETE", "%s/%s/news/%d" % (API, M, state[key]), token=state["admin"])
    for _ in range(READS):
        r = request("GET", "%s/%s/partnerships" % (API, M))
        expect(not [n for n in names(r) if TAG in n], "deleted items still listed", r)


state["editor"] = create_token(M, "editor")
state["admin"] = os.environ.get("PORTAL_ADMIN_TOKEN") or create_token("*", "admin")
t.check("every public GET has a strong ETag and public Cache-Control; If-None-Match gives 304",
        headers_on_public_gets)
t.check("a token caller's answer is private, no-store", token_answers_are_private)
t.check("repeated anonymous reads are cache hits", repeated_reads_hit)
t.check("after a 201 and a 200 PATCH every read on every worker shows the write", write_is_seen_at_once)
t.check("a write by another process (no shared memory: a second host) is seen at once",
        other_host_write_is_seen)
t.check("a draft is never served from the cache to an anonymous reader, always to a token",
        drafts_never_leak)
t.check("a request that arrived before another's generation read started is answered without a "
        "statement; one that arrived after it reads", shared_read_answers_earlier_arrivals)
t.check("a write made directly in MariaDB (another host) is seen by every request that arrived after "
        "its COMMIT returned, also while 8 clients keep hitting", write_elsewhere_never_missed)
t.check("an item's answer is kept through a write to another item, not through one to an item "
        "linked to it, nor through an edit by hand", item_tokens)
t.check("after DELETE no read lists the items", cleanup)
sys.exit(t.done())
