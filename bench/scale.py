#!/usr/bin/env python3
"""scale.py - the helpers of `make bench-data` (bench/data.sh); standard library only.

    scale.py conf DEMO_CONF OUT N          a MUNICIPALITIES file: the demo ones plus bench-001..bench-N
    scale.py sql N_MUNI N_PARTNERSHIPS N_NEWS CHUNK
                                           the generator's SQL (INSERT ... SELECT from seq_1_to_N),
                                           one statement per CHUNK municipalities
    scale.py list-sql PLUGIN               the plugin's list statement, as the core derives it
                                           from the declared item ($B/bench/list_sql)
    scale.py measure --url URL --sql-cmd CMD [--muni SLUG] [--reps N]
                                           page 1 vs page 500, EXPLAIN/ANALYZE, search p50

The generated rows are what the plugins would write for the same items
posted through the API: partner_name = sort_name (ASCII names: the plugin's
folding changes nothing), search_text = the searched members, each followed
by a line break, in the declared fields' order (partnerships: name, other names,
region, description values; news: title, lead, body, author); JSON members
always a value ('[]' / '{}'); sort_at is news' generated column.
"""
import base64
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ------------------------------------------------------------------ conf


def cmd_conf(args):
    demo, out, n = args[0], args[1], int(args[2])
    with open(demo, encoding="utf-8") as f:
        lines = f.read().split("\n")
    last = max(i for i, l in enumerate(lines) if re.match(r"^\);\s*$", l))
    extra = []
    # every module, found in plugins/ (scripts/load-demo.py --modules)
    mods = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                        "scripts", "load-demo.py"), "--modules"],
                          capture_output=True, text=True, check=True).stdout.strip().split(", ")
    for k in range(1, n + 1):
        extra.append('  , { slug = "bench-%03d"; name = "Benchkommun %03d"; country = "SE"; '
                     'languages = ["sv", "en"]; modules = [%s]; }'
                     % (k, k, ", ".join('"%s"' % m for m in mods)))
    lines[last:last] = extra
    with open(out, "w", encoding="utf-8") as f:
        f.write("# make bench-data: conf/demo.conf plus %d generated municipalities\n" % n)
        f.write("\n".join(lines))


# ------------------------------------------------------------------ generator

def sql_elt(expr, values):
    return "ELT(1 + (%s) %% %d, %s)" % (expr, len(values), ", ".join("'%s'" % v for v in values))


HEADS = ["Aal", "Bor", "Cal", "Dun", "Eke", "Fal", "Gra", "Hel", "Ist", "Jar", "Kal", "Lun",
         "Mal", "Nor", "Osk", "Pit"]
TAILS = ["by", "berg", "holm", "stad", "vik", "dal", "havn", "ice", "burg", "ova", "ten", "ila"]
COUNTRIES = ["NO", "DK", "FI", "IS", "EE", "LV", "LT", "PL", "DE", "MD", "RO", "UA"]
KINDS = ["twin_town", "friendship", "municipal_partnership", "cooperation"]
STATUSES = ["active", "active", "active", "inactive", "paused", "ended"]
AREAS = ["education", "culture", "environment", "climate", "youth", "democracy", "business",
         "public_health", "social_welfare", "tourism", "sport", "research"]
TITLES = ["Delegation from", "New project with", "Agreement signed with", "Visit to",
          "Exchange with", "Report from", "Youth camp in", "Conference in"]


def gen_sql(nmuni, npart, nnews, chunk):
    out = []
    w = out.append
    w("-- make bench-data: %d municipalities x %d partnerships, %d news each (bench/scale.py)"
      % (nmuni, npart, nnews))
    w("SET SESSION foreign_key_checks = 0, unique_checks = 0;")
    w("SET GLOBAL innodb_flush_log_at_trx_commit = 2;")
    # the FULLTEXT indexes the core adds (core/db/migrate.c, migrate_fulltext)
    # are made again after the rows, in one sorted build, as an upgrade of a
    # full database would make them
    for t in ("partnerships", "news"):
        # ALGORITHM=COPY: dropped in place, InnoDB keeps its hidden FTS_DOC_ID
        # column, and an index made again later finds none of the rows written
        # in between (MariaDB 10.11)
        w("ALTER TABLE %s DROP INDEX IF EXISTS %s_search, ALGORITHM=COPY;" % (t, t))
    name = "CONCAT(%s, %s, ' ', p.seq)" % (sql_elt("p.seq * 7", HEADS),
                                            sql_elt("p.seq * 11 + m.seq", TAILS))
    region = "CONCAT('Region ', p.seq % 20)"
    descr = ("CONCAT('A made-up partnership of the benchmark on ', {area}, ' since ', 1980 + p.seq % 40,"
             " '; schools, associations and departments visit each other every year. Reference ref',"
             " LPAD(p.seq, 4, '0'), '.')").format(area=sql_elt("p.seq", AREAS))
    for a in range(1, nmuni + 1, chunk):
        b = min(a + chunk - 1, nmuni)
        w("INSERT INTO partnerships (municipality, partner_name, sort_name, other_names, country,"
          " region, wikidata, lat, lon, website, kind, status, start_date, end_date, end_reason,"
          " areas, description, search_text, version, created_at, updated_at)"
          " SELECT muni, name, name, '[]', country, region, NULL, lat, lon, NULL, kind, status,"
          " start_date, NULL, NULL, areas, JSON_OBJECT('en', descr),"
          " CONCAT(name, '\\n', region, '\\n', descr, '\\n'), 1, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)"
          " FROM (SELECT CONCAT('bench-', LPAD(m.seq, 3, '0')) AS muni, %s AS name, %s AS region,"
          " %s AS descr, %s AS country, 50 + (p.seq %% 170) / 10 AS lat, 5 + (p.seq %% 230) / 10 AS lon,"
          " %s AS kind, %s AS status, CONCAT(1980 + p.seq %% 40) AS start_date,"
          " JSON_ARRAY(%s) AS areas"
          " FROM seq_1_to_%d m, seq_1_to_%d p WHERE m.seq BETWEEN %d AND %d) x;"
          % (name, region, descr, sql_elt("p.seq", COUNTRIES), sql_elt("p.seq", KINDS),
             sql_elt("p.seq", STATUSES), sql_elt("p.seq * 5 + 3", AREAS), nmuni, npart, a, b))
    w("INSERT INTO partnership_agreements (partnership_id, position, date, kind, title, signatories)"
      " SELECT id, 0, start_date, 'twinning_agreement', CONCAT('Agreement with ', partner_name),"
      " '[\"Chair of the municipal executive board\"]'"
      " FROM partnerships WHERE municipality LIKE 'bench-%' AND id % 3 = 0;")
    if nnews > 0:
        town = "CONCAT(%s, %s)" % (sql_elt("n.seq * 7", HEADS), sql_elt("n.seq * 11 + m.seq", TAILS))
        title = "CONCAT(%s, ' ', %s, ', no. ', n.seq)" % (sql_elt("n.seq", TITLES), town)
        lead = ("CONCAT('Item ', n.seq, ' of the benchmark: a short lead that says what happened,"
                " who came and what comes next for the partnership.')")
        body = ("CONCAT('## What happened\\n\\nA made-up article of the benchmark, number ', n.seq,"
                " '. The delegation met schools, the youth council and the climate office; the *next*"
                " visit is planned for the spring.\\n\\n- a list item\\n- another one with **bold** text"
                "\\n\\nRead more on [the municipality site](https://example.org/news/', n.seq, ').')")
        for a in range(1, nmuni + 1, chunk):
            b = min(a + chunk - 1, nmuni)
            w("INSERT INTO news (municipality, slug, title, lead, body, lang, status, published_at,"
              " author, areas, related, image_url, image_alt, image_credit, search_text, version,"
              " created_at, updated_at)"
              " SELECT muni, slug, title, lead, body, lang, status, published_at, 'Bench Author',"
              " areas, '{}', NULL, NULL, NULL,"
              " CONCAT(title, '\\n', lead, '\\n', body, '\\n', 'Bench Author', '\\n'),"
              " 1, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)"
              " FROM (SELECT CONCAT('bench-', LPAD(m.seq, 3, '0')) AS muni,"
              " CONCAT('news-', LPAD(n.seq, 5, '0')) AS slug, %s AS title, %s AS lead, %s AS body,"
              " IF(n.seq %% 3 = 0, 'en', 'sv') AS lang,"
              " IF(n.seq %% 1000 = 0, 'draft', 'published') AS status,"
              " IF(n.seq %% 1000 = 0, NULL, TIMESTAMP'2014-01-01 00:00:00'"
              " + INTERVAL ((n.seq * 7919) %% 10007 * 37800 + m.seq) SECOND) AS published_at,"
              " JSON_ARRAY(%s) AS areas"
              " FROM seq_1_to_%d m, seq_1_to_%d n WHERE m.seq BETWEEN %d AND %d) x;"
              % (title, lead, body, sql_elt("n.seq", AREAS), nmuni, nnews, a, b))
    for t in ("partnerships", "news"):  # one line: the session's setting goes with it
        w("SET SESSION innodb_ft_enable_stopword = OFF; "
          "ALTER TABLE %s ADD FULLTEXT INDEX %s_search (search_text);" % (t, t))
    w("SET GLOBAL innodb_flush_log_at_trx_commit = 1;")
    w("ANALYZE TABLE partnerships, partnership_agreements, news;")
    return "\n".join(out) + "\n"


def cmd_sql(args):
    sys.stdout.write(gen_sql(int(args[0]), int(args[1]), int(args[2]), int(args[3])))


# ------------------------------------------------------------------ the plugin's SQL

def list_sql(plugin):
    """The list statement the core derives from the plugin's declared item
    (core/items/store.c), as $B/bench/list_sql prints it."""
    b = os.environ.get("B", "build")
    return subprocess.run([os.path.join(ROOT, b, "bench", "list_sql"),
                           os.path.join(ROOT, b, "plugins", plugin + ".so"), plugin],
                          text=True, capture_output=True, check=True).stdout.rstrip("\n")


def cmd_list_sql(args):
    print(list_sql(args[0]))


# ------------------------------------------------------------------ measurement

class Client:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = None

    def get(self, path):
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                t0 = time.perf_counter()
                self.conn.request("GET", path)
                resp = self.conn.getresponse()
                body = resp.read()
                ms = (time.perf_counter() - t0) * 1000
                if resp.status != 200:
                    raise SystemExit("scale.py: GET %s: %d %s" % (path, resp.status, body[:300]))
                return json.loads(body), ms
            except (http.client.HTTPException, ConnectionError):
                self.conn = None
                if attempt == 2:
                    raise


def walk(cl, base, pages):
    """The cursor of page `pages` (1: none) and how many pages there are up to it."""
    cursor, n = None, 1
    while n < pages:
        doc, _ = cl.get(base + ("&cursor=" + cursor if cursor else ""))
        if not doc.get("next"):
            break
        cursor, n = doc["next"], n + 1
    return cursor, n


def decode_cursor(c):
    return json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def timed_pair(cl, a, b, reps):
    """Interleaved timings of two paths (a, b, a, b, ...); the first of each
    is a warm-up."""
    ta, tb = [], []
    for i in range(reps + 1):
        _, x = cl.get(a)
        _, y = cl.get(b)
        if i:
            ta.append(x)
            tb.append(y)
    return ta, tb


def sql_quote(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("\\", "\\\\").replace("'", "''") + "'"


def analyze(sql_cmd, plugin, params):
    """ANALYZE of the plugin's own list statement, prepared with ? and
    executed with `params` as the plugin binds them: the plan and the rows
    actually read (r_rows)."""
    sql = list_sql(plugin)
    nq = sql.count("?")
    if nq != len(params):
        raise SystemExit("scale.py: %s's list statement has %d parameters, the bench binds %d: "
                         "update bench/scale.py" % (plugin, nq, len(params)))
    script = "PREPARE s FROM %s;\nEXECUTE s USING %s;\n" % (
        sql_quote("ANALYZE " + sql), ", ".join(sql_quote(p) for p in params))
    res = subprocess.run(sql_cmd + ["--table"], input=script, text=True, capture_output=True)
    if res.returncode != 0:
        raise SystemExit("scale.py: ANALYZE failed: %s" % res.stderr)
    return res.stdout.rstrip()


def plan_ok(table, key, limit):
    """index `key` used, no filesort, rows read <= limit + 1 (+ a little)."""
    rows = [l for l in table.splitlines() if l.startswith("|") and "SIMPLE" in l]
    if not rows:
        return False, "no plan"
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    header = [l for l in table.splitlines() if l.startswith("|") and "select_type" in l][0]
    names = [c.strip() for c in header.strip("|").split("|")]
    d = dict(zip(names, cells))
    r_rows = float(d.get("r_rows", "nan"))
    # keyset: a page reads about limit + 1 rows (plus the drafts a public
    # news list skips); an OFFSET scan would read every row before the page
    ok = d.get("key") == key and "filesort" not in d.get("Extra", "") and r_rows <= 5 * (limit + 1)
    return ok, "type %s, key %s, rows read (r_rows) %s, Extra: %s" % (
        d.get("type"), d.get("key"), d.get("r_rows"), d.get("Extra"))


def p_params(muni, term=None, after=None, limit=20):
    """The partnerships list's parameters in the order the core binds them."""
    ps = [muni]
    ps += [None, None] * 4                      # country, kind, status, area
    ps += [None, None]                         # updated_since
    ps += [None, None]                         # q for the FULLTEXT index
    ps += [term, term] + [None, None] * 3      # q: up to 4 words
    if after:
        ps += [after[0], after[0], after[0], after[1]]
    else:
        ps += [None] * 4
    return ps + [limit + 1]


def n_params(muni, after=None, limit=20):
    """The news list's parameters in the order the core binds them (no token: published only)."""
    ps = [muni, 0, None, None, None, None, None, None, None, None, None, None, None]
    ps += [None, None]                         # updated_since
    ps += [None, None]                         # q for the FULLTEXT index
    ps += [None, None] * 4
    if after:
        ps += [after[0], after[0], after[0], after[1]]
    else:
        ps += [None] * 4
    return ps + [limit + 1]


def sql_p50(sql_cmd, stmt, reps):
    """p50 in ms of `stmt` run `reps` times in one session (SHOW PROFILES:
    the server's time, without the client's), the first run left out."""
    script = "SET profiling = 1;\nSET profiling_history_size = 100;\n" + (stmt + ";\n") * (reps + 1)
    script += "SHOW PROFILES;\n"
    res = subprocess.run(sql_cmd + ["--batch", "--skip-column-names"], input=script, text=True,
                         capture_output=True)
    if res.returncode != 0:
        raise SystemExit("scale.py: %s" % res.stderr)
    ds = []
    for line in res.stdout.splitlines():
        f = line.split("\t")
        if len(f) == 3 and f[0].isdigit() and "MATCH" in f[2]:
            ds.append(float(f[1]) * 1000)
    return statistics.median(ds[1:]) if len(ds) > 1 else float("nan"), ds


def search_targets(cl, sql_cmd, a):
    """Issue 19's targets: a rare or absent term over the 10,000 news of one
    municipality p50 <= 5 ms (the news list's q and the search across
    modules, through nginx), and over every news (1,000,000) p50 <= 20 ms
    (the index over the whole table, the server's time)."""
    print("Search targets (issue 19; rare: \"4321\", one news item per municipality; absent: "
          "\"nowhere\"; %d requests each):" % a.reps)
    print("")
    print("| what | q | found | p50 ms | target | |")
    print("|---|---|---|---|---|---|")
    oks = []
    for path, label in (("/api/v1/%s/news?q=%%s" % a.muni, "news list of %s (10,000)" % a.muni),
                        ("/api/v1/%s/search?q=%%s" % a.muni, "search of %s (every module)" % a.muni)):
        for q in ("4321", "nowhere"):
            p = path % q
            doc, _ = cl.get(p)
            ts = []
            for _ in range(a.reps):
                _, ms = cl.get(p)
                ts.append(ms)
            p50 = statistics.median(ts)
            ok = p50 <= 5.0
            oks.append(ok)
            print("| %s | %s | %d | %.2f | <= 5 ms | %s |" % (label, q, len(doc["items"]), p50,
                                                              "PASS" if ok else "FAIL"))
    for q in ("4321", "nowhere"):
        stmt = ("SELECT COUNT(*) FROM (SELECT t.id FROM news t WHERE MATCH(t.search_text) AGAINST "
                "('+%s*' IN BOOLEAN MODE) AND t.search_text LIKE '%%%s%%' ORDER BY t.id DESC LIMIT 101) x"
                % (q, q))
        p50, ds = sql_p50(sql_cmd, stmt, a.reps)
        n = subprocess.run(sql_cmd + ["--batch", "--skip-column-names"], input=stmt + ";\n", text=True,
                           capture_output=True).stdout.strip()
        ok = p50 <= 20.0
        oks.append(ok)
        print("| every news (SQL, the index over the whole table) | %s | %s | %.2f | <= 20 ms | %s |"
              % (q, n, p50, "PASS" if ok else "FAIL"))
    return all(oks)


def cmd_measure(args):
    import argparse
    ap = argparse.ArgumentParser(prog="scale.py measure")
    ap.add_argument("--url", required=True)
    ap.add_argument("--sql-cmd", required=True, help="the mariadb client command (root, portal db)")
    ap.add_argument("--muni", default="bench-050")
    ap.add_argument("--reps", type=int, default=30)
    a = ap.parse_args(args)
    sql_cmd = a.sql_cmd.split()
    cl = Client(a.url)
    results = []
    print("Deep pages (keyset cursors walked from page 1; each page timed %d times, interleaved "
          "with page 1; through nginx):" % a.reps)
    print("")
    print("| list | page 1 p50 ms | page N | page N p50 ms | ratio | target <= 1.5x |")
    print("|---|---|---|---|---|---|")
    plans = []
    for plugin, limit, label in (("partnerships", 2, "partnerships, limit=2"),
                                 ("partnerships", 20, "partnerships, limit=20"),
                                 ("news", 10, "news, limit=10"),
                                 ("news", 20, "news, limit=20")):
        base = "/api/v1/%s/%s?limit=%d" % (a.muni, plugin, limit)
        cursor, n = walk(cl, base, 500)
        if cursor is None:
            print("| %s | - | - | - | - | n/a: only one page |" % label)
            continue
        deep = base + "&cursor=" + cursor
        t1, tn = timed_pair(cl, base, deep, a.reps)
        p1, pn = statistics.median(t1), statistics.median(tn)
        ratio = pn / p1
        ok = ratio <= 1.5
        results.append(ok)
        print("| %s | %.2f | %d | %.2f | %.2f× | %s |" % (label, p1, n, pn, ratio,
                                                         "PASS" if ok else "FAIL"))
        after = decode_cursor(cursor)
        mk = p_params if plugin == "partnerships" else n_params
        key = "partnerships_list" if plugin == "partnerships" else "news_list"
        for page, par in (("1", mk(a.muni, limit=limit) if plugin == "news" else
                           mk(a.muni, limit=limit)),
                          (str(n), mk(a.muni, after=after, limit=limit))):
            t = analyze(sql_cmd, plugin, par)
            ok2, why = plan_ok(t, key, limit)
            plans.append((label, page, ok2, why, t))
    print("")
    print("EXPLAIN (ANALYZE) of the plugins' own list statements (derived from their items, "
          "prepared with ?, executed with the values the plugin binds):")
    print("")
    for label, page, ok, why, t in plans:
        print("- %s, page %s: %s — %s" % (label, page, "PASS (index, no OFFSET scan)" if ok
                                          else "FAIL", why))
        results.append(ok)
    print("")
    print("Full ANALYZE of the partnerships list, deepest page:")
    print("")
    deep_plans = [p for p in plans if p[0].startswith("partnerships, limit=2") and p[1] != "1"]
    if deep_plans:
        print("```")
        print(deep_plans[0][4])
        print("```")
    print("")

    print("Full-text search (`q`: the FULLTEXT index over search_text, then the LIKE check, "
          "%d requests each, %s):" % (a.reps, a.muni))
    print("")
    print("| list | q | matches (first page) | p50 ms | p90 ms |")
    print("|---|---|---|---|---|")
    for plugin, q in (("partnerships", "holm"), ("partnerships", "ref0500"),
                      ("partnerships", "nowhere"), ("partnerships", "kal region"),
                      ("news", "climate"), ("news", "4321"), ("news", "nowhere")):
        path = "/api/v1/%s/%s?q=%s" % (a.muni, plugin, urllib.parse.quote(q))
        doc, _ = cl.get(path)
        ts = []
        for _ in range(a.reps):
            _, ms = cl.get(path)
            ts.append(ms)
        print("| %s | %s | %d%s | %.2f | %.2f |" % (plugin, q, len(doc["items"]),
                                                    "+" if doc.get("next") else "",
                                                    statistics.median(ts), pct(ts, 90)))
    print("")
    search_ok = search_targets(cl, sql_cmd, a)
    print("")
    print("scale targets: %s" % ("PASS" if results and all(results) else "FAIL"))
    print("search targets: %s" % ("PASS" if search_ok else "FAIL"))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    fn = {"conf": cmd_conf, "sql": cmd_sql, "list-sql": cmd_list_sql,
          "measure": cmd_measure}.get(sys.argv[1])
    if fn is None:
        sys.exit(__doc__)
    fn(sys.argv[2:])


if __name__ == "__main__":
    main()
