#!/usr/bin/env python3
"""test_statement_timeout.py - database.statement_timeout bounds a worker's
statement (issue 13): a client holds a row lock, a PATCH of that row waits
for it, and the server ends the PATCH's statement after statement_timeout
seconds (MariaDB's max_statement_time, set on the workers' sessions):
portald answers 503 problem+json with Retry-After ("took too long"), well
within nginx's fastcgi_read_timeout, MariaDB counts it
(Max_statement_time_exceeded), the item is unchanged and no audit entry is
written, and the worker answers the next request.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import PORTAL_CONF, Fail, Tap, expect, request  # noqa: E402
from test_faults import conf_group  # noqa: E402

M = "borlange"
LIST = "/api/v1/%s/partnerships" % M


def client(db, sql, wait=True):
    argv = ["mariadb", "--protocol=socket", "--socket=" + db["socket"], "--user=" + db["user"],
            "--password=" + db.get("password", ""), "--batch", "--skip-column-names",
            db.get("name", "portal"), "-e", sql]
    if not wait:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise Fail("mariadb -e %r: %s" % (sql[:60], r.stderr.strip()))
    return r.stdout.strip()


def exceeded(db):
    out = client(db, "SHOW GLOBAL STATUS LIKE 'Max_statement_time_exceeded'")
    return int(out.split()[-1])


def answered_503(state, words):
    """The PATCH of the scenario (state["resp"]) got 503 problem+json with
    Retry-After and `words` in its detail."""
    r = state.get("resp")
    expect(r is not None, "the scenario did not run")
    p = r.json if isinstance(r.json, dict) else {}
    expect(r.status == 503 and r.ctype == "application/problem+json" and r.header("retry-after")
           and words in str(p.get("detail", "")),
           "the PATCH got %d %s" % (r.status, r.ctype), r)


def nothing_written(state, token):
    """state["item"] is as it was, and audit_log (state["audit"]: rows
    before, after) did not grow."""
    expect("item" in state, "the scenario did not run")
    item = state["item"]
    r = request("GET", "%s/%d" % (LIST, item["id"]), token=token)
    expect(r.status == 200 and r.json["version"] == item["version"]
           and r.json["status"] == item["status"], "the item changed", r)
    expect(state["audit"][0] == state["audit"][1], "audit_log went from %s to %s rows" % state["audit"])


def patch_locked(db, item_id, hold, settle, token, state):
    """PATCHes partnership item_id while another client holds its row
    (FOR UPDATE, then SLEEP(hold)); the PATCH is sent `settle` seconds after
    the holder started.  Sets state's resp and took (seconds)."""
    holder = client(db, "START TRANSACTION; SELECT id FROM partnerships WHERE id = %d FOR UPDATE;"
                    " SELECT SLEEP(%d); ROLLBACK;" % (item_id, hold), wait=False)
    try:
        time.sleep(settle)
        t0 = time.monotonic()
        r = request("PATCH", "%s/%d" % (LIST, item_id), body={"status": "ended"}, token=token,
                    timeout=60)
        state.update(resp=r, took=time.monotonic() - t0)
    finally:
        holder.wait(60)


def next_ok(token):
    r = request("GET", LIST, query={"limit": "2"}, token=token)
    expect(r.status == 200, "the next request: %d" % r.status, r)


def main():
    t = Tap()
    if not PORTAL_CONF or not os.environ.get("PORTAL_ADMIN_TOKEN"):
        print("1..0 # skip no stack (PORTAL_CONF, PORTAL_ADMIN_TOKEN)")
        return 0
    with open(PORTAL_CONF, encoding="utf-8") as f:
        db = conf_group(f.read(), "database")
    if not db.get("socket"):
        print("1..0 # skip database.socket not set")
        return 0
    token = os.environ["PORTAL_ADMIN_TOKEN"]
    bound = float(db.get("statement_timeout") or min(8, float(db.get("read_timeout") or 10)))
    state = {}

    def scenario():
        r = request("GET", LIST, query={"limit": "1"}, token=token)
        expect(r.status == 200 and r.json["items"], "GET %s: %d" % (LIST, r.status), r)
        item = r.json["items"][0]
        state["item"] = item
        audit0 = client(db, "SELECT COUNT(*) FROM audit_log")
        n0 = exceeded(db)
        # the lock holder: longer than the bound, shorter than nginx's 60 s
        patch_locked(db, item["id"], int(bound) + 6, 1.0, token, state)
        state.update(exceeded=exceeded(db) - n0, audit=(audit0, client(db, "SELECT COUNT(*) FROM audit_log")))
        print("# PATCH of a locked row: %d after %.2f s (statement_timeout %g s); "
              "Max_statement_time_exceeded +%d" % (state["resp"].status, state["took"], bound,
                                                    state["exceeded"]))


    def within_bound():
        expect("took" in state, "the scenario did not run")
        expect(bound - 0.5 <= state["took"] < bound + 5,
               "the answer came after %.2f s, not about %g s" % (state["took"], bound))
        expect(state["exceeded"] >= 1, "MariaDB did not count a statement ended by max_statement_time")


    t.check("a PATCH waits on a row another session holds (scenario)", scenario)
    t.check("the server ends its statement: 503 problem+json, Retry-After, 'took too long'",
            answered_503, state, "took too long")
    t.check("after statement_timeout seconds, counted by MariaDB", within_bound)
    t.check("the item is unchanged, no audit entry", nothing_written, state, token)
    t.check("the next request is answered", next_ok, token)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
