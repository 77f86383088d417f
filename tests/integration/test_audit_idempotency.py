#!/usr/bin/env python3
"""test_audit_idempotency.py - the core's audit log (GET /api/v1/{m}/audit,
admins only) and Idempotency-Key on POST.  Writes go to Lejre's
partnerships (the demo has none there) and are removed at the end.
"""
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import (Tap, create_token, expect, expect_field_error, expect_json,  # noqa: E402
                     expect_names_param, expect_problem, request)

M = "lejre"
BASE = "/api/v1/%s/partnerships" % M
AUDIT = "/api/v1/%s/audit" % M
ITEM = {"partner": {"name": "Audit-prøve", "country": "LV"}, "kind": "twin_town"}
S = {}


def setup():
    S["admin"] = create_token(M, "admin")
    S["editor"] = create_token(M, "editor")
    S["editor2"] = create_token(M, "editor")
    S["reader"] = create_token(M, "reader")
    S["other_admin"] = create_token("borlange", "admin")
    S["created"] = []


def post(token, body, key=None):
    h = {"Idempotency-Key": key} if key else None
    return request("POST", BASE, body=body, token=token, headers=h)


def t_replay():
    key = "k-" + uuid.uuid4().hex
    r1 = post(S["editor"], ITEM, key)
    b1 = expect_json(r1, 201)
    S["created"].append(b1["id"])
    r2 = post(S["editor"], ITEM, key)
    b2 = expect_json(r2, 201)
    expect(b2 == b1, "the replay's body differs from the first answer", r2)
    expect(r2.header("location") == r1.header("location"), "the replay's Location differs", r2)
    expect(r2.header("etag") == r1.header("etag"), "the replay's ETag differs", r2)
    expect(r2.header("idempotent-replayed") == "true", "no Idempotent-Replayed: true", r2)
    lst = expect_json(request("GET", BASE, query={"q": "Audit-prøve", "limit": "100"}), 200)
    expect(len(lst["items"]) == 1, "a retried POST made %d items" % len(lst["items"]))
    S["key"] = key


def t_other_body():
    r = post(S["editor"], dict(ITEM, kind="friendship"), S["key"])
    expect_problem(r, 422)


def t_key_per_token():
    r = post(S["editor2"], ITEM, S["key"])
    b = expect_json(r, 201)
    S["created"].append(b["id"])
    expect(r.header("idempotent-replayed") is None, "another token's key was replayed", r)


def t_bad_key():
    r = post(S["editor"], ITEM, "x" * 201)
    expect_field_error(r, "Idempotency-Key", codes=(400,))
    r = request("POST", BASE, body=ITEM, token=S["editor"], headers={"Idempotency-Key": "a b"})
    expect_problem(r, 400)


def t_failed_not_stored():
    key = "k-" + uuid.uuid4().hex
    r = post(S["editor"], {"partner": {"name": "X", "country": "XX"}, "kind": "twin_town"}, key)
    expect_field_error(r, "partner.country")
    r = post(S["editor"], ITEM, key)  # same key, now a good body: not a replay of the 422
    b = expect_json(r, 201)
    S["created"].append(b["id"])


def t_audit_auth():
    expect_problem(request("GET", AUDIT), 401)
    expect_problem(request("GET", AUDIT, token=S["reader"]), 403)
    expect_problem(request("GET", AUDIT, token=S["editor"]), 403)
    expect_problem(request("GET", AUDIT, token=S["other_admin"]), 403)
    expect_problem(request("POST", AUDIT, body={}, token=S["admin"]), 405)


def t_audit_records():
    pid = S["created"][0]
    r = request("PATCH", "%s/%d" % (BASE, pid), body={"status": "paused"}, token=S["editor"])
    expect_json(r, 200)
    a = expect_json(request("GET", AUDIT, token=S["admin"],
                            query={"module": "partnerships", "item": str(pid)}), 200)
    acts = [e["action"] for e in a["items"]]
    expect(acts == ["update", "create"], "audit of item %d: %r" % (pid, acts))
    upd = a["items"][0]
    expect(upd["before"]["status"] == "active" and upd["after"]["status"] == "paused",
           "update entry lacks before/after: %r" % upd)
    expect(upd["token"] and upd["token"]["prefix"] == S["editor"][:10],
           "update entry names token %r" % (upd.get("token"),))
    expect(upd["at"].endswith("Z") and upd["request_id"], "entry lacks at/request_id: %r" % upd)


def t_audit_pages():
    seen, cursor, pages = [], None, 0
    while True:
        q = {"limit": "2", "module": "partnerships"}
        if cursor:
            q["cursor"] = cursor
        a = expect_json(request("GET", AUDIT, token=S["admin"], query=q), 200)
        seen += [e["id"] for e in a["items"]]
        cursor = a["next"]
        pages += 1
        if not cursor or pages > 50:
            break
    expect(len(seen) == len(set(seen)) and seen == sorted(seen, reverse=True),
           "audit pages repeat or are out of order: %r" % seen)
    expect(len(seen) >= 4, "only %d audit entries for lejre" % len(seen))


def t_audit_args():
    expect_names_param(request("GET", AUDIT, token=S["admin"], query={"action": "explode"}), "action")
    expect_names_param(request("GET", AUDIT, token=S["admin"], query={"item": "-3"}), "item")
    expect_names_param(request("GET", AUDIT, token=S["admin"], query={"module": "nope"}), "module")
    expect_names_param(request("GET", AUDIT, token=S["admin"], query={"cursor": "zzz"}), "cursor")
    expect_names_param(request("GET", AUDIT, token=S["admin"], query={"since": "2024-13"}), "since")


def t_cleanup():
    for pid in S["created"]:
        r = request("DELETE", "%s/%d" % (BASE, pid), token=S["admin"])
        expect(r.status in (204, 404), "DELETE %d: %d" % (pid, r.status), r)
    a = expect_json(request("GET", AUDIT, token=S["admin"], query={"action": "delete"}), 200)
    expect(any(e["item_id"] == S["created"][0] and e["after"] is None for e in a["items"]),
           "the delete is not in the audit log")


def main():
    t = Tap()
    if t.check("tokens for lejre (admin, editors, reader) and another municipality", setup) is None:
        return t.done()
    t.check("POST retried with the same Idempotency-Key answers the first 201 again, no duplicate", t_replay)
    t.check("the same key with another body is a 422 problem", t_other_body)
    t.check("keys are per token: another token's equal key creates", t_key_per_token)
    t.check("a malformed Idempotency-Key is a 400 problem naming the header", t_bad_key)
    t.check("a failed POST does not keep its key", t_failed_not_stored)
    t.check("audit log: 401 without token, 403 for reader/editor/other admin, 405 for POST", t_audit_auth)
    t.check("audit log records create and update with token, before and after", t_audit_records)
    t.check("audit log pages newest first without repeats", t_audit_pages)
    t.check("audit log arguments are checked, naming the argument", t_audit_args)
    t.check("deletes are audited (cleanup)", t_cleanup)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
