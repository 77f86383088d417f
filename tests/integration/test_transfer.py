#!/usr/bin/env python3
"""test_transfer.py - `portalctl export` and `portalctl import` (issue #7).

Borlänge's demo data (every module, items linking to each other) is
exported, imported into `flyttkommun` (every module enabled, no demo data;
tests/run.sh adds it to the test configuration) and exported again: the two
documents must be equal but for ids (new ones, the links rewritten to
them), the times the server sets and the municipality.  Refused documents
(a wrong type deep in a record, an unknown member, a link to an item the
document lacks, a truncated file, another format or version) must name the
record and the field, exit non-zero and write nothing; so must --dry-run,
even when all is well.  The CSV export must parse and have one row per
item.  Last, 2,000 generated records are imported and the speed is shown
(a diagnostic, not a timed assertion).

The refused documents are tried while flyttkommun is still empty, so
"nothing written" is "still empty".
"""
import copy
import csv
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import PORTAL_CONF, PORTALCTL, Fail, Tap, expect, expect_json, request  # noqa: E402

SRC = "borlange"
DST = "flyttkommun"
# every module, found in plugins/ (in the order load-demo.py loads them:
# linked-to first) that both municipalities enable (setup()); the source
# must hold items of those with demo data there
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = tuple(subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "load-demo.py"), "--modules"],
                               capture_output=True, text=True, check=True).stdout.strip().split(", "))
SRC_DEMO = [m for m in MODULES if os.path.exists(os.path.join(ROOT, "plugins", m, "demo", SRC + ".json"))]
SERVER_OWNED = {"id", "municipality", "created_at", "updated_at", "version"}
# the uid is kept by an import (issue #19), but this copy stays in one
# installation, so it imports with --new-uids and compares without it
COPY = "--new-uids"
ADMIN = os.environ.get("PORTAL_ADMIN_TOKEN", "")
S = {}


def items(slug, module):
    """Every item of a module as an admin sees it, following the cursors."""
    out, cursor = [], None
    for _ in range(1000):
        q = {"limit": "100"}
        if cursor:
            q["cursor"] = cursor
        j = expect_json(request("GET", "/api/v1/%s/%s" % (slug, module), token=ADMIN, query=q), 200)
        out += j["items"]
        cursor = j.get("next")
        if not cursor:
            return out
    raise Fail("more than 1000 pages of %s/%s" % (slug, module))


def counts(slug):
    return {m: len(items(slug, m)) for m in MODULES}


def run_ctl(*args):
    """portalctl -c PORTAL_CONF ARGS (helpers.portalctl allows 60 s; a large
    import under the sanitizers on a busy machine may take longer)."""
    t0 = time.monotonic()
    r = subprocess.run([PORTALCTL, "-c", PORTAL_CONF] + list(args), capture_output=True, text=True,
                       timeout=240)
    r.seconds = time.monotonic() - t0
    return r


def expect_rc(r, rc, what):
    expect(r.returncode == rc, "%s exited %d, not %d\nstdout: %s\nstderr: %s"
           % (what, r.returncode, rc, r.stdout[-1500:], r.stderr[-1500:]))


def path(name):
    return os.path.join(S["dir"], name)


def write_doc(name, doc):
    with open(path(name), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
    return path(name)


# --- the link declarations, as the importer reads them ----------------------

def link_decls():
    api = expect_json(request("GET", "/api/v1/openapi.json"), 200)
    out = {}
    for m in MODULES:
        post = api["paths"].get("/api/v1/{municipality}/%s" % m, {}).get("post", {})
        out[m] = post.get("x-portal-links", {})
    return out


def remap(obj, path_, fn):
    """Applies fn to every id at path_ ("partners[].partnership_id") in obj."""
    seg, _, rest = path_.partition(".")
    arr = seg.endswith("[]")
    name = seg[:-2] if arr else seg
    if not isinstance(obj, dict) or obj.get(name) is None:
        return
    if arr:
        v = obj[name]
        for i, e in enumerate(v):
            if rest:
                remap(e, rest, fn)
            elif isinstance(e, (int, str)):
                v[i] = fn(e)
    elif rest:
        remap(obj[name], rest, fn)
    elif isinstance(obj[name], (int, str)):
        obj[name] = fn(obj[name])


# --- checks ---------------------------------------------------------------------

def setup():
    global MODULES
    expect(ADMIN, "no PORTAL_ADMIN_TOKEN")
    # the modules both municipalities enable (a module the source lacks is
    # not exported)
    served = {m["slug"]: m.get("modules", []) for m in
              expect_json(request("GET", "/api/v1/municipalities"), 200)["items"]}
    MODULES = tuple(m for m in MODULES if m in served.get(SRC, []) and m in served.get(DST, []))
    S["dir"] = tempfile.mkdtemp(prefix="portal-transfer-")
    c = counts(DST)
    expect(sum(c.values()) == 0, "%s is not empty: %r" % (DST, c))
    S["src_counts"] = counts(SRC)
    expect(all(S["src_counts"][m] > 0 for m in SRC_DEMO),
           "%s lacks items of some module: %r" % (SRC, S["src_counts"]))
    S["links"] = link_decls()
    expect(S["links"]["visits"] and S["links"]["news"] and S["links"]["projects"],
           "x-portal-links missing in the API description: %r" % S["links"])


def t_help():
    r = run_ctl("--help")
    expect_rc(r, 0, "portalctl --help")
    expect("export" in r.stdout and "import" in r.stdout, "--help names no export/import:\n" + r.stdout)
    for cmd in ("migrate", "token", "audit", "check", "export", "import", "help"):
        r = subprocess.run([PORTALCTL, cmd, "--help"], capture_output=True, text=True, timeout=30)
        expect_rc(r, 0, "portalctl %s --help" % cmd)
        expect(r.stdout.startswith("usage: portalctl") and cmd in r.stdout.splitlines()[0],
               "portalctl %s --help: %r" % (cmd, r.stdout[:200]))
    r = subprocess.run([PORTALCTL, "import", "--help"], capture_output=True, text=True, timeout=30)
    expect("--dry-run" in r.stdout and "one transaction" in r.stdout, r.stdout)


def t_export():
    r = run_ctl("export", SRC, "-o", path("src.json"))
    expect_rc(r, 0, "export")
    with open(path("src.json"), encoding="utf-8") as f:
        doc = json.load(f)
    expect(doc.get("format") == "portal-export" and doc.get("version") == 2,
           "format/version: %r %r" % (doc.get("format"), doc.get("version")))
    expect(doc.get("municipality") == SRC, "municipality %r" % doc.get("municipality"))
    expect(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", doc.get("exported_at", "")), "exported_at")
    got = {m: len(doc["modules"].get(m, [])) for m in MODULES}
    expect(got == S["src_counts"], "exported %r, the API lists %r" % (got, S["src_counts"]))
    for m in MODULES:
        ids = [it["id"] for it in doc["modules"][m]]
        expect(ids == sorted(ids), "%s not oldest first: %r" % (m, ids))
    # version 2: links name their targets by uid
    found = []
    for m in MODULES:
        for it in doc["modules"][m]:
            for p_, target in S["links"][m].items():
                if target not in doc["modules"]:
                    continue  # "media": uploaded files keep their ids (doc["media"])
                uids = {x["uid"] for x in doc["modules"][target]}

                def check(v, t=target, u=uids):
                    expect(isinstance(v, str) and v in u, "%s %d: link to %s %r is no uid of the "
                           "document" % (m, it["id"], t, v))
                    found.append(v)
                    return v
                remap(copy.deepcopy(it), p_, check)
    expect(found, "no link in the export")
    # the same on stdout
    r = run_ctl("export", SRC, "--quiet")
    expect_rc(r, 0, "export to stdout")
    expect(json.loads(r.stdout)["modules"] == doc["modules"], "stdout export differs from -o")
    S["src"] = doc


def t_export_unknown():
    r = run_ctl("export", "nosuchtown", "-o", path("x.json"))
    expect(r.returncode != 0 and "nosuchtown" in r.stderr, "export nosuchtown: %d %s"
           % (r.returncode, r.stderr))
    expect(not os.path.exists(path("x.json")), "a file was left behind")


def t_csv():
    d = path("csv")
    r = run_ctl("export", SRC, "--format", "csv", "-o", d)
    expect_rc(r, 0, "export --format csv")
    for m in MODULES:
        with open(os.path.join(d, m + ".csv"), encoding="utf-8-sig", newline="") as f:
            # the templates end with an empty line, which is no row
            rows = [row for row in csv.reader(f) if row]
        expect(len(rows) >= 1 and "id" in rows[0], "%s.csv has no header with id: %r" % (m, rows[:1]))
        expect(len(rows) - 1 == S["src_counts"][m], "%s.csv: %d rows for %d items"
               % (m, len(rows) - 1, S["src_counts"][m]))
        width = {len(row) for row in rows}
        expect(len(width) == 1, "%s.csv rows of different widths %r" % (m, width))
        ids = sorted(int(row[rows[0].index("id")]) for row in rows[1:])
        expect(ids == sorted(it["id"] for it in S["src"]["modules"][m]), "%s.csv ids" % m)


def refused(name, doc_or_text, *needles):
    if isinstance(doc_or_text, str):
        with open(path(name), "w", encoding="utf-8") as f:
            f.write(doc_or_text)
        p = path(name)
    else:
        p = write_doc(name, doc_or_text)
    r = run_ctl("import", DST, p, COPY)
    expect(r.returncode != 0, "import of %s exited 0:\n%s" % (name, r.stderr))
    for n in needles:
        expect(re.search(n, r.stderr), "stderr lacks /%s/:\n%s" % (n, r.stderr))
    c = counts(DST)
    expect(sum(c.values()) == 0, "%s was written to: %r" % (name, c))
    return r


def t_bad_records():
    doc = copy.deepcopy(S["src"])
    pj = doc["modules"]["projects"]
    pj[1]["budget"] = dict(pj[1].get("budget") or {}, total="lots")
    pj[2]["colour"] = "blue"
    doc["modules"]["visits"][0]["partnership_ids"] = (doc["modules"]["visits"][0]
                                                      .get("partnership_ids") or []) + [999999]
    r = refused("bad.json", doc,
                r'modules\.projects\[1\] \(id %d, "[^"]+"\): budget\.total: must be a number'
                % pj[1]["id"],
                r'modules\.projects\[2\] \(id %d, "[^"]+"\): colour: ' % pj[2]["id"],
                r'modules\.visits\[0\] \(id \d+, "[^"]+"\): partnership_ids\[\d+\]: links to '
                r'partnerships 999999, which is not in this document',
                r"nothing was written")
    S["diag_bad"] = r.stderr


def t_bad_files():
    text = json.dumps(S["src"])
    refused("truncated.json", text[:len(text) // 2], r"ends early|truncated")
    refused("garbage.json", text.replace('"modules":', '"modules"', 1), r"not valid JSON near byte")
    refused("trailing.json", text + "\n{}", r"more text after the JSON document")
    refused("empty.json", "", r"ends early|not valid")
    refused("array.json", "[]", r"must be a JSON object")
    refused("v3.json", dict(S["src"], version=3), r"version")
    refused("format.json", dict(S["src"], format="something-else"), r"format")
    refused("extra.json", dict(S["src"], comment="x"), r"comment: unknown member")
    bad_item = copy.deepcopy(S["src"])
    bad_item["modules"]["news"].append(42)
    refused("notobject.json", bad_item, r"modules\.news\[\d+\]: must be a JSON object")
    dup = copy.deepcopy(S["src"])
    dup["modules"]["partnerships"].append(copy.deepcopy(dup["modules"]["partnerships"][0]))
    refused("dup.json", dup, r"modules\.partnerships\[\d+\]: id: \d+ is also the id of")
    r = run_ctl("import", DST, path("nonexistent.json"))
    expect(r.returncode != 0 and "nonexistent.json" in r.stderr, r.stderr)
    r = run_ctl("import", "provkommun", path("src.json"))
    expect(r.returncode != 0 and "does not enable" in r.stderr, r.stderr)


def t_dry_run():
    r = run_ctl("import", DST, path("src.json"), "--dry-run", COPY)
    expect_rc(r, 0, "import --dry-run")
    expect("dry run" in r.stderr and "nothing was written" in r.stderr, r.stderr)
    c = counts(DST)
    expect(sum(c.values()) == 0, "--dry-run wrote: %r" % c)


def t_progress_tty():
    """On a terminal the importer draws a bar (dry run: nothing written)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([PORTALCTL, "-c", PORTAL_CONF, "import", DST, path("src.json"), "--dry-run", COPY],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    p.wait(timeout=30)
    os.close(master)
    text = out.decode("utf-8", "replace")
    expect(p.returncode == 0, "exit %d: %s" % (p.returncode, text))
    expect(re.search(r"import: \[#+\] \d+/\d+ +100%", text), "no progress bar on the tty: %r" % text)


def t_uid_taken():
    """Without --new-uids every item keeps its uid: the source's items have
    them already, so the import is refused, naming the uid, and writes
    nothing."""
    r = refused_plain("uids.json")
    expect(re.search(r"uid: [0-9a-f-]{36} is already the uid of an item of %s" % SRC, r.stderr),
           "stderr does not name the taken uid:\n%s" % r.stderr[-1500:])


def refused_plain(name):
    r = run_ctl("import", DST, path("src.json"))
    expect(r.returncode != 0, "import of %s exited 0:\n%s" % (name, r.stderr))
    c = counts(DST)
    expect(sum(c.values()) == 0, "%s was written to: %r" % (name, c))
    return r


def newest_audit_id(slug):
    a = expect_json(request("GET", "/api/v1/%s/audit" % slug, token=ADMIN, query={"limit": "1"}), 200)
    return a["items"][0]["id"] if a["items"] else 0


def t_import():
    S["audit_before"] = newest_audit_id(DST)  # what other tests wrote there, as portalctl too
    r = run_ctl("import", DST, path("src.json"), COPY)
    expect_rc(r, 0, "import")
    c = counts(DST)
    expect(c == S["src_counts"], "imported %r, exported %r" % (c, S["src_counts"]))
    r = run_ctl("export", DST, "-o", path("dst.json"))
    expect_rc(r, 0, "export of the imported municipality")
    with open(path("dst.json"), encoding="utf-8") as f:
        S["dst"] = json.load(f)


def t_round_trip():
    src, dst = S["src"]["modules"], S["dst"]["modules"]
    # both lists are oldest first and the import creates in document order,
    # so items pair up by position; the ids must be new and consistent
    idmap, uidmap = {}, {}
    for m in MODULES:
        expect(len(src[m]) == len(dst[m]), "%s: %d vs %d" % (m, len(src[m]), len(dst[m])))
        idmap[m] = {a["id"]: b["id"] for a, b in zip(src[m], dst[m])}
        uidmap[m] = {a["uid"]: b["uid"] for a, b in zip(src[m], dst[m])}
        expect(len(set(idmap[m].values())) == len(src[m]), "%s: new ids not distinct" % m)
    for m in MODULES:
        for a, b in zip(src[m], dst[m]):
            want = copy.deepcopy(a)
            for p_, target in S["links"][m].items():
                remap(want, p_, lambda old, t=target: uidmap[t].get(old, old))
            for k in SERVER_OWNED:
                want.pop(k, None)
                expect(k in b, "%s %d has no %s after import" % (m, b["id"], k))
            expect(a.get("uid") and b.get("uid") and a["uid"] != b["uid"],
                   "%s %d: uid %r, the copy's %r (--new-uids: a new one)" % (m, b["id"], a.get("uid"), b.get("uid")))
            want.pop("uid", None)
            got = {k: v for k, v in b.items() if k not in SERVER_OWNED and k != "uid"}
            if want != got:
                diff = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
                raise Fail("%s %d (was %d) differs in %s:\n  want %s\n  got  %s" % (
                    m, b["id"], a["id"], diff, json.dumps({k: want.get(k) for k in diff})[:600],
                    json.dumps({k: got.get(k) for k in diff})[:600]))
            expect(b["municipality"] == DST, "municipality %r" % b["municipality"])
            expect(b["version"] == 1, "%s %d: version %r (a create is version 1)" % (m, b["id"], b["version"]))
    S["idmap"] = idmap


def t_linked():
    """What links to an item (the core's links table) follows the new ids."""
    idmap = S["idmap"]
    for m in MODULES:
        for old, new in idmap[m].items():
            a = expect_json(request("GET", "/api/v1/%s/%s/%d" % (SRC, m, old), token=ADMIN), 200)
            b = expect_json(request("GET", "/api/v1/%s/%s/%d" % (DST, m, new), token=ADMIN), 200)
            la, lb = a.get("linked"), b.get("linked")
            if la is None and lb is None:
                continue
            want = {mod: sorted((idmap[mod][e["id"]], e["title"]) for e in lst) for mod, lst in la.items()}
            got = {mod: sorted((e["id"], e["title"]) for e in lst) for mod, lst in lb.items()}
            expect(want == got, "%s %d linked: want %r, got %r" % (m, new, want, got))


def t_audit():
    """One create per imported item, by portalctl-import (an import may also
    update what it made, and create the files it brings: those entries are
    not counted, nor what came before this import)."""
    want, created, q = sum(S["src_counts"].values()), set(), {"limit": "100"}
    for _ in range(20):
        a = expect_json(request("GET", "/api/v1/%s/audit" % DST, token=ADMIN, query=q), 200)
        created |= {(e["module"], e["item_id"]) for e in a["items"]
                    if e.get("request_id") == "portalctl-import" and e.get("action") == "create"
                    and e.get("module") in MODULES  # not the files (media) it brought
                    and e["id"] > S.get("audit_before", 0)}
        if not a.get("next") or len(created) >= want:
            break
        q["cursor"] = a["next"]
    expect(len(created) == want, "%d items created by portalctl-import, %d exported" % (len(created), want))


def t_large():
    """2,000 records: 1,000 partnerships and 1,000 projects naming them."""
    parts, projs = [], []
    for i in range(1, 1001):
        parts.append({"id": i, "partner": {"name": "Ort %d" % i, "country": "NO"}, "kind": "cooperation",
                      "status": "active", "areas": ["culture"], "start_date": "20%02d" % (i % 25)})
        projs.append({"id": 5000 + i, "title": "Projekt %d" % i, "status": "running",
                      "funders": [{"name": "Sida", "kind": "sida"}],
                      "partners": [{"name": "Ort %d" % i, "country": "NO", "role": "partner",
                                    "partnership_id": i}]})
    doc = {"format": "portal-export", "version": 1, "municipality": "generated",
           "modules": {"projects": projs, "partnerships": parts}}  # targets last: order is derived
    before = counts(DST)
    r = run_ctl("import", DST, write_doc("large.json", doc))  # no uids: new ones
    expect_rc(r, 0, "import of 2,000 records")
    after = counts(DST)
    expect(after["partnerships"] - before["partnerships"] == 1000 and
           after["projects"] - before["projects"] == 1000, "counts %r -> %r" % (before, after))
    m = re.search(r"in ([\d.]+) s, (\d+) records/s", r.stderr)
    expect(m, "no speed in the summary: %s" % r.stderr)
    print("# import: 2000 records in %s s inside portalctl, %s records/s (%.2f s wall clock "
          "with startup)" % (m.group(1), m.group(2), r.seconds))
    # a project names its partnership by the new id
    p = [x for x in items(DST, "projects") if x["title"] == "Projekt 777"]
    expect(len(p) == 1, "Projekt 777: %d found" % len(p))
    pid = p[0]["partners"][0]["partnership_id"]
    j = expect_json(request("GET", "/api/v1/%s/partnerships/%d" % (DST, pid), token=ADMIN), 200)
    expect(j["partner"]["name"] == "Ort 777", "Projekt 777 links to %r" % j["partner"]["name"])


def main():
    t = Tap()
    if t.check("setup: %s is empty, %s has items of every module, links declared" % (DST, SRC),
               setup) is None:
        return t.done()
    try:
        t.check("portalctl --help and COMMAND --help for every command", t_help)
        if t.check("export %s: one portal-export document, every item, oldest first" % SRC,
                   t_export) is None:
            return t.done()
        t.check("export of an unknown municipality fails and leaves no file", t_export_unknown)
        t.check("export --format csv: one file per module, parses, one row per item", t_csv)
        t.check("refused records name record and field, exit 1, write nothing", t_bad_records)
        t.check("truncated, invalid, foreign or duplicate-id documents fail cleanly, write nothing",
                t_bad_files)
        t.check("--dry-run checks everything and writes nothing", t_dry_run)
        t.check("a progress bar on a terminal", t_progress_tty)
        t.check("uids are kept: one the installation has already refuses the import", t_uid_taken)
        if t.check("import into %s, then export it again" % DST, t_import) is not None:
            t.check("round trip: equal but for ids (remapped consistently), server times, "
                    "municipality", t_round_trip)
            if "idmap" in S:
                t.check("linked (what points at an item) follows the new ids", t_linked)
            t.check("the import is in the audit log as portalctl-import", t_audit)
        t.check("2,000 generated records import (speed as a diagnostic)", t_large)
    finally:
        shutil.rmtree(S.get("dir", ""), ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
