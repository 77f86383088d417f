#!/usr/bin/env python3
"""test_request_budget.py - portald's own time budget per request
(core.request_timeout, issue 20 point 4): after it no statement starts.

The stack is reloaded with core.request_timeout = 2.  A PATCH of a row that
another session holds locked for 4 s waits for the lock (statement_timeout
is longer), gets it after ~4 s and then may not start its UPDATE: portald
answers 503 problem+json with Retry-After ("took longer than the server
allows"), the write is rolled back (item and audit log unchanged), the
metrics count it, and the next request is answered.  Before the budget the
PATCH answered 200 after 4 s.  The configuration is restored at the end.
The watchdog (a worker still busy read_timeout + 2 s after the budget ends
itself) is tested in tests/unit/test_watchdog.c.
"""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import PORTAL_CONF, PORTAL_VAR, Fail, Tap, expect, request  # noqa: E402
from test_faults import conf_group  # noqa: E402
from test_reload import log_since, log_size, master_pid, wait_for  # noqa: E402
from test_statement_timeout import (answered_503, client, next_ok, nothing_written,  # noqa: E402
                                    patch_locked)

M = "borlange"
LIST = "/api/v1/%s/partnerships" % M
BUDGET = 2
HOLD = 4


def over_budget_503():
    r = request("GET", "/metrics")
    m = re.search(r'^portal_request_over_budget_total\{outcome="503"\} (\d+)$', r.body.decode(), re.M)
    return int(m.group(1)) if m else None


def reload(conf_text):
    with open(PORTAL_CONF, "w", encoding="utf-8") as f:
        f.write(conf_text)
    off = log_size()
    os.kill(master_pid(), signal.SIGHUP)
    if not wait_for(lambda: "reloaded:" in log_since(off), 15):
        raise Fail("the stack did not reload:\n" + log_since(off)[-1500:])
    time.sleep(0.5)  # the old workers finish


def main():
    t = Tap()
    if not PORTAL_CONF or not PORTAL_VAR or not os.environ.get("PORTAL_ADMIN_TOKEN"):
        print("1..0 # skip no stack (PORTAL_CONF, PORTAL_VAR, PORTAL_ADMIN_TOKEN)")
        return 0
    with open(PORTAL_CONF, encoding="utf-8") as f:
        good = f.read()
    db = conf_group(good, "database")
    if not db.get("socket"):
        print("1..0 # skip database.socket not set")
        return 0
    if float(db.get("statement_timeout") or 8) <= HOLD:
        print("1..0 # skip database.statement_timeout <= %d s would end the lock wait first" % HOLD)
        return 0
    token = os.environ["PORTAL_ADMIN_TOKEN"]
    state = {}

    def scenario():
        expect("request_timeout" not in good, "the test configuration sets core.request_timeout already")
        reload(good.replace("core: {", "core: {\n  request_timeout = %d;" % BUDGET, 1))
        r = request("GET", LIST, query={"limit": "1"}, token=token)
        expect(r.status == 200 and r.json["items"], "GET %s: %d" % (LIST, r.status), r)
        item = r.json["items"][0]
        state["item"] = item
        state["n0"] = over_budget_503()
        audit0 = client(db, "SELECT COUNT(*) FROM audit_log")
        patch_locked(db, item["id"], HOLD, 0.5, token, state)
        state["audit"] = (audit0, client(db, "SELECT COUNT(*) FROM audit_log"))
        state["n1"] = over_budget_503()
        print("# PATCH of a row locked %d s with core.request_timeout = %d: %d after %.2f s"
              % (HOLD, BUDGET, state["resp"].status, state["took"]))

    def after_the_lock():
        expect("took" in state, "the scenario did not run")
        expect(HOLD - 1.0 <= state["took"] < HOLD + 4,
               "the answer came after %.2f s, not after the lock (%d s)" % (state["took"], HOLD))

    def counted():
        expect(state.get("n0") is not None and state.get("n1") is not None,
               "no portal_request_over_budget_total{outcome=\"503\"} in /metrics")
        expect(state["n1"] == state["n0"] + 1, "the metric went from %s to %s" % (state["n0"], state["n1"]))

    try:
        t.check("a PATCH waits %d s on a row another session holds, budget %d s (scenario)" % (HOLD, BUDGET),
                scenario)
        t.check("no statement after the budget: 503 problem+json, Retry-After, 'longer than the server allows'",
                answered_503, state, "longer than the server allows")
        t.check("answered when the lock was released, not after statement_timeout", after_the_lock)
        t.check("the write was rolled back: the item is unchanged, no audit entry", nothing_written, state,
                token)
        t.check("/metrics counts it (portal_request_over_budget_total{outcome=\"503\"})", counted)
        t.check("the next request is answered", next_ok, token)
    finally:
        reload(good)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
