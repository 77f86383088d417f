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
  - token callers are never served from, nor stored into, the cache.
Scratch items go to herrljunga and are deleted at the end.
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import Tap, create_token, expect, expect_json, expect_status, request  # noqa: E402

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


def cleanup():
    for pid in state.get("ids", []):
        r = request("DELETE", "%s/%s/partnerships/%d" % (API, M, pid), token=state["admin"])
        expect(r.status in (204, 404), "DELETE partnership %d: %d" % (pid, r.status), r)
    if "news" in state:
        request("DELETE", "%s/%s/news/%d" % (API, M, state["news"]), token=state["admin"])
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
t.check("after DELETE no read lists the items", cleanup)
sys.exit(t.done())
