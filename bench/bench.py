#!/usr/bin/env python3
"""bench.py - the helpers of `make bench` (bench/run.sh); standard library only.

    bench.py fill --url URL --token T --muni SLUG [--module partnerships|news] --count N [--related IDS]
                                                              POST N synthetic items; prints their ids
    bench.py wrk FILE CASE KIND ROUND [CPU0 CPU1]             one wrk output as a JSON line
                                                              (with CPU per request between two snapshots)
    bench.py cpu RUNDIR OUT                                   CPU ticks of nginx, raw_fcgi, portald, mariadbd
    bench.py workers PIDFILE                                  the master's children: pid VmRSS VmHWM (KiB)
    bench.py requests URL                                     requests answered so far (GET /metrics)
    bench.py checkpoint URL PIDFILE LABEL                     a JSON line: label, requests, each worker's RSS
    bench.py report DIR                                       the table and the targets (from DIR/*.jsonl)
    bench.py same-rows PORTAL-LIST PHP-LIST                   the PHP reference lists the portal's items
                                                              (same ids, same order); prints both sizes
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

# ------------------------------------------------------------------ fill

COUNTRIES = ["NO", "DK", "FI", "IS", "EE", "LV", "LT", "PL", "DE", "MD", "RO", "UA"]
AREAS = ["education", "culture", "environment", "climate", "youth", "democracy",
         "business", "public_health", "social_welfare", "tourism", "sport", "research"]
KINDS = ["twin_town", "friendship", "municipal_partnership", "cooperation"]
STATUSES = ["active", "active", "active", "inactive", "paused", "ended"]


def synthetic_partnership(i):
    """A made-up partnership the size of the demo's (descriptions in two
    languages, up to three agreements).  Nothing here describes a real place."""
    name = "Benchby %02d" % i
    country = COUNTRIES[i % len(COUNTRIES)]
    areas = [AREAS[i % len(AREAS)], AREAS[(i * 5 + 3) % len(AREAS)]]
    areas = sorted(set(areas))
    sv = ("%s är en påhittad vänort som bara finns i prestandatestet. Samarbetet gäller %s "
          "och har pågått sedan %d; skolor, föreningar och förvaltningar har besökt varandra, "
          "och ett nytt utbyte planeras inom %s med stöd av ICLD." %
          (name, " och ".join(areas), 1990 + i % 30, areas[0]))
    en = ("%s is a made-up twin town that exists only in the benchmark. The partnership covers %s "
          "and has run since %d; schools, associations and departments have visited each other, "
          "and a new exchange in %s is planned with support from ICLD." %
          (name, " and ".join(areas), 1990 + i % 30, areas[-1]))
    item = {
        "partner": {
            "name": name,
            "other_names": [{"lang": "en", "name": "Bench Town %02d" % i}],
            "country": country,
            "region": "Region %d" % (i % 7),
            "lat": 50.0 + (i % 17) * 0.731,
            "lon": 10.0 + (i % 23) * 0.577,
            "website": "https://benchby%02d.example.org/" % i,
        },
        "kind": KINDS[i % len(KINDS)],
        "status": STATUSES[i % len(STATUSES)],
        "start_date": "%d-%02d" % (1990 + i % 30, 1 + i % 12),
        "areas": areas,
        "description": {"sv": sv, "en": en},
    }
    agreements = []
    for k in range(i % 4):
        agreements.append({
            "date": "%d" % (1991 + i % 30 + k),
            "kind": ["letter_of_intent", "twinning_agreement", "cooperation_agreement"][k % 3],
            "title": "Avtal %d mellan orterna (påhittat)" % (k + 1),
            "signatories": ["Kommunstyrelsens ordförande", "Borgmästaren i %s" % name],
        })
    if agreements:
        item["agreements"] = agreements
    return item


def synthetic_news(i, partnership_ids):
    """A made-up, published news item (Markdown body of a typical length),
    about one of the partnerships `partnership_ids` when there are any."""
    town = "Benchby %02d" % (1 + i % 24)
    body = ("%s tog emot en delegation från %s den här veckan. Besöket ingår i det "
            "påhittade samarbetet i prestandatestet och handlade om **skolor**, *ungdomsråd* "
            "och klimatarbete.\n\n## Program\n\n- måndag: skolbesök och elevråd\n"
            "- tisdag: möte med klimatenheten\n- onsdag: kulturskolan och biblioteket\n\n"
            "Nästa besök planeras till våren. Läs mer på [kommunens webbplats]"
            "(https://example.org/nyheter/%d)." % ("Kommunen", town, i))
    item = {
        "slug": "bench-news-%02d" % i,
        "title": "Delegation från %s (nyhet %d i prestandatestet)" % (town, i),
        "lead": "En påhittad nyhet: %s besökte kommunen och ett nytt utbyte planeras." % town,
        "body": body,
        "lang": "sv",
        "status": "published",
        "published_at": "2025-%02d-%02dT08:%02d:00Z" % (1 + i % 12, 1 + i % 28, i % 60),
        "author": "Prestandatestet",
        "areas": [AREAS[i % len(AREAS)]],
    }
    if partnership_ids:
        item["related"] = {"partnerships": [partnership_ids[i % len(partnership_ids)]]}
    return item


def cmd_fill(args):
    import argparse
    ap = argparse.ArgumentParser(prog="bench.py fill")
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--muni", required=True)
    ap.add_argument("--module", default="partnerships", choices=["partnerships", "news"])
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--related", default="", help="news: partnership ids (comma-separated) to link")
    a = ap.parse_args(args)
    url = "%s/api/v1/%s/%s" % (a.url.rstrip("/"), a.muni, a.module)
    related = [int(x) for x in a.related.split(",") if x]
    for i in range(1, a.count + 1):
        item = (synthetic_partnership(i) if a.module == "partnerships"
                else synthetic_news(i, related))
        body = json.dumps(item, ensure_ascii=False).encode()
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": "Bearer " + a.token})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                doc = json.loads(resp.read())
        except urllib.error.HTTPError as e:
            sys.exit("bench.py fill: POST %s: %d %s" % (url, e.code, e.read()[:500]))
        print(doc["id"])


# ------------------------------------------------------------------ wrk output

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def dur_ms(s):
    m = re.match(r"^([0-9.]+)(us|ms|s|m)$", s.strip())
    if not m:
        return None
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(text):
    r = {"rps": None, "p50": None, "p99": None, "requests": 0, "socket_errors": 0,
         "socket_detail": "", "non2xx": 0, "status": {}, "sent": {}}
    for line in text.splitlines():
        s = line.strip()
        m = re.match(r"^Requests/sec:\s+([0-9.]+)", s)
        if m:
            r["rps"] = float(m.group(1))
        m = re.match(r"^(50|99)(?:\.0+)?%\s+(\S+)$", s)
        if m:
            r["p" + m.group(1)] = dur_ms(m.group(2))
        m = re.match(r"^(\d+) requests in", s)
        if m:
            r["requests"] = int(m.group(1))
        m = re.match(r"^Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", s)
        if m:
            r["socket_errors"] = sum(int(x) for x in m.groups())
            r["socket_detail"] = s
        m = re.match(r"^Non-2xx or 3xx responses: (\d+)", s)
        if m:
            r["non2xx"] = int(m.group(1))
        m = re.match(r"^status (\d+): (\d+)$", s)
        if m:
            r["status"][m.group(1)] = int(m.group(2))
        m = re.match(r"^sent (\S+): (\d+)$", s)
        if m:
            r["sent"][m.group(1)] = int(m.group(2))
    # with a Lua response() we know every status: 3xx counts as an error here too
    if r["status"]:
        r["non2xx"] = sum(v for k, v in r["status"].items() if not k.startswith("2"))
    return r


def cmd_wrk(args):
    path, case, kind, rnd = args[:4]
    with open(path, encoding="utf-8", errors="replace") as f:
        r = parse_wrk(f.read())
    r.update({"case": case, "kind": kind, "round": rnd})
    if len(args) >= 6 and r["requests"]:
        r["cpu"] = cpu_per_request(args[4], args[5], r["requests"],
                                   args[6:8] if len(args) >= 8 else None)
    print(json.dumps(r))
    if r["rps"] is None:
        sys.stderr.write("bench.py: no Requests/sec in %s\n" % path)
        sys.exit(1)


# ------------------------------------------------------------------ processes

def proc_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def children(ppid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(")") + 2:].split()
        if len(rest) > 1 and rest[0] != "Z" and int(rest[1]) == ppid:
            kids.append(int(d))
    return sorted(kids)


def workers(pidfile):
    with open(pidfile) as f:
        master = int(f.read().strip())
    res = []
    for pid in children(master):
        st = proc_status(pid)
        res.append({"pid": pid, "rss": st.get("VmRSS"), "hwm": st.get("VmHWM")})
    return res


def cmd_workers(args):
    for w in workers(args[0]):
        print("%d %s %s" % (w["pid"], w["rss"], w["hwm"]))


CPU_GROUPS = (("nginx", "nginx.pid"), ("raw_fcgi", "raw_fcgi.pid"), ("portald", "portald.pid"),
              ("mariadbd", "mariadb.pid"), ("php-fpm", "php-fpm.pid"),
              ("raw_fcgi_db", "raw_fcgi_db.pid"))


def proc_cpu(pid):
    """utime + stime of a process (all its threads), in clock ticks."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return 0
    rest = st[st.rfind(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def cpu_snapshot(rundir):
    """CPU ticks used so far by each process group of the stack (a master
    and its children), and by the whole machine (busy, all)."""
    snap = {}
    for name, pf in CPU_GROUPS:
        try:
            with open(os.path.join(rundir, pf)) as f:
                master = int(f.read().strip())
        except (OSError, ValueError):
            continue
        snap[name] = sum(proc_cpu(p) for p in [master] + children(master))
    sock = os.path.join(rundir, "mysqld.sock")
    if os.path.exists(sock):
        try:
            out = subprocess.run(
                ["mariadb", "--no-defaults", "--protocol=socket", "--socket=" + sock, "--user=root",
                 "--batch", "--skip-column-names", "-e",
                 "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_stmt_execute', 'Questions')"],
                capture_output=True, text=True, timeout=10).stdout
            for line in out.splitlines():
                k, v = line.split("\t")
                snap["_" + k.lower()] = int(v)
        except (OSError, ValueError, subprocess.SubprocessError):
            pass
    snap["_t"] = time.time()
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    snap["_all"] = sum(v[:8])
    snap["_busy"] = snap["_all"] - idle
    return snap


def cmd_cpu(args):
    with open(args[1], "w") as f:
        json.dump(cpu_snapshot(args[0]), f)


def shell_times(line):
    """The children's user + system seconds of a `times` line."""
    return sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", line))


def cpu_per_request(before, after, requests, wrk_times=None):
    """CPU milliseconds per request of each group between two snapshots;
    wrk's from the shell's `times` before and after it; "other" is the
    machine's busy time nothing of the bench accounts for (whatever else
    runs on the machine), "other_cores" that as cores in use."""
    with open(before) as f:
        a = json.load(f)
    with open(after) as f:
        b = json.load(f)
    tick_ms = 1000.0 / os.sysconf("SC_CLK_TCK")
    out = {}
    known = 0.0
    for name, _ in CPU_GROUPS:
        if name in a and name in b:
            d = b[name] - a[name]
            known += d
            out[name] = d * tick_ms / requests
    if wrk_times:
        w = (shell_times(wrk_times[1]) - shell_times(wrk_times[0])) * 1000.0 / tick_ms
        known += w
        out["wrk"] = w * tick_ms / requests
    busy = b["_busy"] - a["_busy"]
    out["other"] = max(busy - known, 0) * tick_ms / requests
    if "_t" in a and "_t" in b and b["_t"] > a["_t"]:
        out["other_cores"] = max(busy - known, 0) * tick_ms / 1000.0 / (b["_t"] - a["_t"])
    out["busy"] = busy * tick_ms / requests
    # statements MariaDB ran per request (minus the two SHOW STATUS of the snapshots)
    if "_questions" in a and "_questions" in b:
        out["db_statements"] = (b["_questions"] - a["_questions"] - 1) / requests
    allt = b["_all"] - a["_all"]
    out["idle_pct"] = 100.0 * (allt - busy) / allt if allt else None
    return out


def requests_total(url):
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/metrics", timeout=10) as resp:
            text = resp.read().decode()
    except (OSError, urllib.error.URLError):
        return None
    n = 0
    for line in text.splitlines():
        if line.startswith("portal_requests_total{"):
            n += int(float(line.rsplit(" ", 1)[1]))
    return n


def cmd_requests(args):
    print(requests_total(args[0]))


def cmd_checkpoint(args):
    url, pidfile, label = args
    print(json.dumps({"label": label, "requests": requests_total(url),
                      "workers": workers(pidfile)}))


# ------------------------------------------------------------------ report

def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def load_jsonl(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    return out


def fmt_rps(x):
    return "-" if x is None else "%.0f" % x


def fmt_ms(x):
    if x is None:
        return "-"
    return "%.2f" % x if x < 10 else "%.1f" % x


def agg(runs):
    if not runs:
        return None
    return {"rps": mean([r["rps"] for r in runs]), "p50": mean([r["p50"] for r in runs]),
            "p99": mean([r["p99"] for r in runs]), "rounds": len(runs),
            "rps_rounds": [r["rps"] for r in runs],
            "runs": sorted(runs, key=lambda r: str(r["round"])),
            "requests": sum(r["requests"] for r in runs),
            "socket_errors": sum(r["socket_errors"] for r in runs),
            "non2xx": sum(r["non2xx"] for r in runs),
            "status": merge_counts([r.get("status", {}) for r in runs]),
            "sent": merge_counts([r.get("sent", {}) for r in runs]),
            "cpu": mean_dicts([r["cpu"] for r in runs if r.get("cpu")])}


def mean_dicts(ds):
    if not ds:
        return None
    keys = set().union(*ds)
    return {k: mean([d.get(k) for d in ds]) for k in keys}


def merge_counts(ds):
    out = {}
    for d in ds:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def cmd_report(args):
    d = args[0]
    meta = {}
    if os.path.exists(os.path.join(d, "meta.json")):
        with open(os.path.join(d, "meta.json")) as f:
            meta = json.load(f)
    runs = load_jsonl(os.path.join(d, "runs.jsonl"))
    cps = load_jsonl(os.path.join(d, "checkpoints.jsonl"))
    cache_modes = meta.get("cache_modes", ["off"])
    have_cache = "on" in cache_modes
    have_host = "host" in cache_modes

    by = {}
    for r in runs:
        by.setdefault((r["case"], r["kind"]), []).append(r)

    def cell(case, kind):
        return agg(by.get((case, kind), []))

    rows = []   # (label, static, raw, portal, note)
    NA_FEED = "n/a: no Atom feed yet (issue 4)"
    NA_HTML = "n/a: no HTML pages yet (issue 4)"
    NO_CACHE = "no response cache yet: 'cached' = same as uncached"
    for case, label in (("list", "partnerships list (20 items)"), ("item", "partnership item"),
                        ("news", "news Atom feed (20 entries)"),
                        ("html", "HTML overview page")):
        for mode in ("off", "on", "host"):
            if mode == "host" and (not have_host or case not in ("list", "html")):
                continue
            ml = "%s, %s" % (label, {"off": "uncached", "on": "cached",
                                     "host": "cached, check = host"}[mode])
            key = {"off": case, "on": case + "-cached", "host": case + "-host"}[mode]
            if not by.get((case, "portal")):
                if mode == "off":
                    rows.append((label, None, None, None,
                                 NA_FEED if case == "news" else NA_HTML if case == "html"
                                 else "not run"))
                continue
            if mode == "on" and not have_cache:
                rows.append((ml, None, None, None, NO_CACHE))
                continue
            rows.append((ml, cell(key, "static"), cell(key, "raw"), cell(key, "portal"), ""))
    rows.append(("write mix (90% GET item, 10% PATCH)", None, None, cell("write", "portal"),
                 "references n/a (a write has no static equivalent)"))

    def ratio(a, b):
        return None if a is None or b is None or b == 0 else a / b

    def paired(po, ref, key):
        """the mean over rounds of portal/reference, each round with the
        reference run just before it (drift on a shared machine cancels)"""
        if not po or not ref:
            return None
        rs = [ratio(p[key], q[key]) for p, q in zip(po["runs"], ref["runs"])]
        return mean(rs)

    def errs(c):
        if c is None:
            return "-"
        n = c["socket_errors"] + c["non2xx"]
        if n == 0:
            return "0"
        parts = []
        if c["socket_errors"]:
            parts.append("%d socket" % c["socket_errors"])
        if c["non2xx"]:
            bad = {k: v for k, v in c["status"].items() if not k.startswith("2")}
            parts.append("%d non-2xx%s" % (c["non2xx"], (" " + json.dumps(bad)) if bad else ""))
        return ", ".join(parts)

    hdr = ["case", "static rps", "p50 ms", "p99 ms", "raw-fcgi rps", "p50 ms", "p99 ms",
           "portal rps", "p50 ms", "p99 ms", "portal/raw rps", "p99 ratio", "errors (portal)"]
    lines = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    ref_errors = 0
    for label, st, raw, po, note in rows:
        if st is None and raw is None and po is None:
            lines.append("| %s | %s |%s" % (label, note, " |" * (len(hdr) - 2)))
            continue
        for c in (st, raw):
            if c:
                ref_errors += c["socket_errors"] + c["non2xx"]
        cols = [label]
        for c in (st, raw, po):
            if c is None:
                cols += ["n/a", "", ""]
            else:
                cols += [fmt_rps(c["rps"]), fmt_ms(c["p50"]), fmt_ms(c["p99"])]
        rr = paired(po, raw, "rps")
        pr = paired(po, raw, "p99")
        cols += ["-" if rr is None else "%.2f×" % rr, "-" if pr is None else "%.1f×" % pr,
                 errs(po) + ((" — " + note) if note else "")]
        lines.append("| " + " | ".join(cols) + " |")
    table = "\n".join(lines)

    # ---- targets
    def get(case, kind):
        return cell(case, kind)

    targets = []

    def target(name, ok, value, why=""):
        status = "n/a" if ok is None else ("PASS" if ok else "FAIL")
        targets.append((name, status, value, why))

    def cached(case):
        if have_cache:
            return get(case + "-cached", "portal"), get(case + "-cached", "raw"), ""
        return get(case, "portal"), get(case, "raw"), "no response cache yet: measured uncached"

    cl, clraw, why = cached("list")
    r = paired(cl, clraw, "rps")
    target("cached JSON list: rps >= 0.9x raw libfcgi", None if r is None else r >= 0.9,
           "-" if r is None else "%.2f×" % r, why)
    r = paired(cl, clraw, "p99")
    target("cached JSON list: p99 <= 2x raw libfcgi p99", None if r is None else r <= 2.0,
           "-" if r is None else "%.1f×" % r, why)
    target("(issue 18) cached JSON list: p99 <= 1.5x raw libfcgi p99", None if r is None else r <= 1.5,
           "-" if r is None else "%.1f×" % r, why)
    if have_host:
        hl, hlraw = get("list-host", "portal"), get("list-host", "raw")
        r = paired(hl, hlraw, "rps")
        target("(cache.check = host) cached JSON list: rps >= 0.9x raw libfcgi",
               None if r is None else r >= 0.9, "-" if r is None else "%.2f×" % r,
               "single-host mode: hits read no database")
        r = paired(hl, hlraw, "p99")
        target("(cache.check = host) cached JSON list: p99 <= 2x raw libfcgi p99",
               None if r is None else r <= 2.0, "-" if r is None else "%.1f×" % r, "")
    for name, case in (("list", "list"), ("item", "item"), ("Atom feed", "news"),
                       ("HTML overview", "html")):
        c, raw = get(case, "portal"), get(case, "raw")
        r = paired(c, raw, "rps")
        target("uncached %s (reads MariaDB): rps >= 0.5x raw" % name,
               None if r is None else r >= 0.5, "-" if r is None else "%.2f×" % r,
               "" if c else (NA_FEED if case == "news" else NA_HTML if case == "html" else ""))
    ch, chraw, why = cached("html")
    r = paired(ch, chraw, "rps")
    target("cached HTML overview: rps >= 0.8x raw", None if r is None else r >= 0.8,
           "-" if r is None else "%.2f×" % r, why if ch else NA_HTML)
    if have_host:
        hh, hhraw = get("html-host", "portal"), get("html-host", "raw")
        r = paired(hh, hhraw, "rps")
        target("(cache.check = host) cached HTML overview: rps >= 0.8x raw",
               None if r is None else r >= 0.8, "-" if r is None else "%.2f×" % r, "")
    all_runs = [c for c in (agg(v) for v in by.values()) if c]
    nerr = sum(c["socket_errors"] + c["non2xx"] for c in all_runs)
    perr = sum(c["socket_errors"] + c["non2xx"] for (k, kind), v in by.items()
               if kind == "portal" for c in [agg(v)])
    target("zero errors and zero non-2xx in every case", nerr == 0,
           "%d portal, %d reference" % (perr, nerr - perr))

    # memory
    MIB = 1024
    c100 = next((c for c in cps if c.get("label") == "mem-100k"), None)
    c200 = next((c for c in cps if c.get("label") == "mem-200k"), None)
    last = cps[-1] if cps else None
    if c200:
        worst = max((w["rss"] or 0) for w in c200["workers"])
        target("memory: each worker <= 16 MiB RSS after 200k requests", worst <= 16 * MIB,
               "max %.1f MiB at %d requests" % (worst / MIB, c200["requests"]))
    else:
        worst = max((w["rss"] or 0) for w in last["workers"]) if last and last["workers"] else 0
        target("memory: each worker <= 16 MiB RSS after 200k requests", None,
               "max %.1f MiB at %s requests" % (worst / MIB, last["requests"] if last else "?"),
               "not judged: 200k not reached within BENCH_MEMORY_MAX" if meta.get("memory") == "1"
               else "not judged: run with BENCH_MEMORY=1")
    if c100 and c200:
        same = {w["pid"] for w in c100["workers"]} == {w["pid"] for w in c200["workers"]}
        growth = {w["pid"]: (w["rss"] or 0) - (o["rss"] or 0)
                  for w in c200["workers"] for o in c100["workers"] if o["pid"] == w["pid"]}
        g = max(growth.values()) if growth else None
        ok = same and g is not None and g <= 64
        target("memory: no RSS growth between 100k and 200k requests",
               ok if same else False,
               ("+%d KiB (max of workers)" % g) if g is not None else "-",
               "tolerance 64 KiB" if same else "a worker was replaced between the checkpoints")
    else:
        target("memory: no RSS growth between 100k and 200k requests", None, "-",
               "not judged: 200k not reached within BENCH_MEMORY_MAX" if meta.get("memory") == "1"
               else "not judged: run with BENCH_MEMORY=1")
    target("scale: page 500 <= 1.5x page 1, EXPLAIN, search p50", None, "-",
           "see `make bench-data`")

    out = []
    out.append("## make bench — %s" % meta.get("when", ""))
    out.append("")
    out.append("Machine: %s" % meta.get("machine", "?"))
    out.append("wrk -t%s -c%s -d%ss --latency per run; interleaved static, raw-fcgi, portal, "
               "%s rounds each; numbers are the mean of the rounds, the ratios the mean of each "
               "round's portal/raw (the raw run just before it). portald: %s workers, "
               "raw_fcgi: %s workers; nginx worker_processes auto."
               % (meta.get("threads"), meta.get("conns"), meta.get("seconds"),
                  meta.get("rounds"), meta.get("workers"), meta.get("workers")))
    if not have_cache:
        out.append("Caching: %s (there is no response cache in the core; every request reads "
                   "MariaDB)." % NO_CACHE)
    out.append("")
    out.append(table)
    out.append("")
    php, praw, ppo = get("list", "php"), get("list", "raw"), get("list", "portal")
    rawdb = get("list", "rawdb")
    if php or rawdb:
        out.append("References of the uncached list, in the same rounds: raw-fcgi + 1 read "
                   "(bench/raw_fcgi.c -q: the same bytes after one prepared primary-key read "
                   "from the same MariaDB, a connection per worker; the least any answer read "
                   "from the database costs) and PHP-FPM + PDO (bench/php_list.php: the same "
                   "list of the same municipality from the same MariaDB, one prepared "
                   "statement and json_encode, php-fpm with %s children, opcache on; the same "
                   "rows, not the same bytes):" % meta.get("workers"))
        out.append("")
        out.append("| uncached list | rps | p50 ms | p99 ms | ratio to raw rps | portal/PHP rps "
                   "| errors |")
        out.append("|---|---|---|---|---|---|---|")
        for label, c in (("raw-fcgi", praw), ("raw-fcgi + 1 read", rawdb), ("PHP-FPM + PDO", php),
                         ("portal", ppo)):
            if not c:
                continue
            rr = paired(c, praw, "rps")
            pp = paired(ppo, php, "rps") if c is ppo and php else None
            out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                label, fmt_rps(c["rps"]), fmt_ms(c["p50"]), fmt_ms(c["p99"]),
                "-" if rr is None else "%.2f×" % rr, "-" if pp is None else "%.2f×" % pp,
                errs(c)))
        out.append("")
    wr = get("write", "portal")
    if wr:
        out.append("Write mix: sent %s; answers %s." % (
            ", ".join("%s %d" % kv for kv in sorted(wr["sent"].items())),
            ", ".join("%s: %d" % kv for kv in sorted(wr["status"].items()))))
    out.append("")
    out.append("Each round (rps; p99 ms):")
    out.append("")
    for case in ("list", "list-cached", "list-host", "item", "item-cached", "news",
                 "news-cached", "html", "html-cached", "html-host", "write"):
        parts = []
        for kind in ("static", "raw", "rawdb", "portal", "php"):
            c = get(case, kind)
            if c:
                parts.append("%s %s" % (kind, ", ".join("%.0f; %s" % (r["rps"], fmt_ms(r["p99"]))
                                                        for r in c["runs"])))
        po, raw = get(case, "portal"), get(case, "raw")
        if po and raw:
            parts.append("portal/raw rps %s" % ", ".join(
                "%.2f" % ratio(p["rps"], q["rps"]) for p, q in zip(po["runs"], raw["runs"])))
        if parts:
            out.append("- %s: %s" % (case, " | ".join(parts)))
    out.append("")
    out.append("CPU per request (ms, all cores; from /proc: each process group's utime+stime "
               "over the run / requests, wrk's from the shell's `times`; \"others\" is the "
               "machine's remaining busy time, i.e. other tenants of a shared machine, also "
               "as cores in use during the run):")
    out.append("")
    out.append("| case | target | nginx | raw_fcgi | portald | php-fpm | mariadbd | wrk | others "
               "| busy | idle % | others, cores | SQL statements / request |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for case in ("list", "list-cached", "list-host", "item", "item-cached", "news",
                 "news-cached", "html", "html-cached", "html-host", "write"):
        for kind in ("static", "raw", "rawdb", "portal", "php"):
            c = get(case, kind)
            if not c or not c["cpu"]:
                continue
            u = c["cpu"]

            def f(k, kind=kind):
                if (k == "raw_fcgi" and kind not in ("raw", "rawdb") or
                        k == "portald" and kind != "portal" or k == "php-fpm" and kind != "php"):
                    return "-"
                v = u.get("raw_fcgi_db" if k == "raw_fcgi" and kind == "rawdb" else k)
                return "-" if v is None else "%.3f" % v
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                case, kind, f("nginx"), f("raw_fcgi"), f("portald"), f("php-fpm"), f("mariadbd"),
                f("wrk"),
                f("other"), f("busy"),
                "-" if u.get("idle_pct") is None else "%.0f" % u["idle_pct"],
                "-" if u.get("other_cores") is None else "%.2f" % u["other_cores"],
                "-" if u.get("db_statements") is None else "%.2f" % u["db_statements"]))
    out.append("")
    out.append("Targets (issue 6; 2 cores shared with wrk, 64 connections):")
    out.append("")
    out.append("| target | result | measured | note |")
    out.append("|---|---|---|---|")
    for name, status, value, why in targets:
        out.append("| %s | %s | %s | %s |" % (name, status, value, why))
    out.append("")
    out.append("Worker RSS (VmRSS / VmHWM, KiB) at each checkpoint (requests = portald's total "
               "from /metrics, both workers):")
    out.append("")
    for c in cps:
        out.append("- %-14s %8s requests: %s" % (c["label"], c["requests"], ", ".join(
            "pid %d %s/%s" % (w["pid"], w["rss"], w["hwm"]) for w in c["workers"])))
    print("\n".join(out))


def cmd_same_rows(args):
    """The PHP reference's list has the portal's items: the same ids in the
    same order, both with a "next"; prints the two sizes."""
    with open(args[0], "rb") as f:
        portal_bytes = f.read()
    with open(args[1], "rb") as f:
        php_bytes = f.read()
    try:
        portal, php = json.loads(portal_bytes), json.loads(php_bytes)
    except ValueError as e:
        sys.exit("bench.py same-rows: not JSON: %s" % e)
    a = [it.get("id") for it in portal.get("items", [])]
    b = [it.get("id") for it in php.get("items", [])] if isinstance(php, dict) else None
    if a != b or (portal.get("next") is None) != (php.get("next") is None):
        sys.exit("bench.py same-rows: portal ids %s (next %s), PHP ids %s (next %s)" % (
            a, portal.get("next") is not None, b, php.get("next") is not None))
    print("bench: the PHP reference lists the same %d items in the same order: %d bytes "
          "(the portal's: %d)" % (len(a), len(php_bytes), len(portal_bytes)))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"fill": cmd_fill, "wrk": cmd_wrk, "workers": cmd_workers, "requests": cmd_requests,
          "checkpoint": cmd_checkpoint, "report": cmd_report, "cpu": cmd_cpu,
          "same-rows": cmd_same_rows}.get(cmd)
    if fn is None:
        sys.exit(__doc__)
    fn(args)


if __name__ == "__main__":
    main()
