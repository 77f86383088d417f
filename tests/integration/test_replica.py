"""test_replica.py - several portal hosts on one MariaDB, and read replicas.

Against the test stack (tests/run.sh starts its MariaDB with a binary log on
127.0.0.1:$PORTAL_DB_PORT), this test starts, all under $PORTAL_VAR/replica:

  - a second MariaDB on loopback, seeded with `mariadb-dump --master-data
    --gtid` of the portal database and replicating the stack's MariaDB
    (MASTER_USE_GTID=slave_pos).  The portal's user there may only SELECT,
    so a write that went to it would fail;
  - a second portald ("host B") with the stack's configuration and its own
    socket, and two nginx: one whose upstream holds both portalds (the
    stack's and B), and one in front of B alone.

Then: (1) writes through the shared upstream are read back consistently,
whichever host answers (each answer's X-Request-Id is found in one host's
log); (2) B is reloaded (SIGHUP) with `database.replicas` naming the second
MariaDB: reads come from it (metrics, the replica's own statement counter,
and lag: with replication stopped a new item is missing through B and
there through the primary or `Portal-Read: primary`, and appears once
replication starts again), writes and tokens go to the primary; (3) with
the replica killed every read still answers 200 (from the primary) and
portal_db_replica_fallbacks_total counts them; after it is back, reads go
to it again.  Everything it starts is stopped at the end, also on failure.
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import Fail, Tap, expect, portalctl, create_token, token_id, request  # noqa: E402
from proc import children, free_port  # noqa: E402

VAR = os.environ.get("PORTAL_VAR", "")
CONF = os.environ.get("PORTAL_CONF", "")
DB_PORT = os.environ.get("PORTAL_DB_PORT", "")
PORTALCTL = os.environ.get("PORTALCTL", "build/portalctl")
ADMIN = os.environ.get("PORTAL_ADMIN_TOKEN", "")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MUNI = "borlange"
RETRY = 1  # database.replica_retry for host B, seconds

R = os.path.join(VAR, "replica")
RSOCK = os.path.join(R, "run", "mysqld.sock")
BSOCK = os.path.join(R, "run", "portald.sock")
BCONF = os.path.join(VAR, "portal-b.conf")  # beside portal.conf: its @include is relative
BLOG = os.path.join(R, "log", "portald.log")
started = []  # (name, pid) to stop at the end, last first


def conf_db(key):
    """A string setting of the stack's database group."""
    text = open(CONF).read()
    m = re.search(r"^\s*database\s*[:=]\s*\{(.*?)^\s*\}", text, re.S | re.M)
    v = re.search(r"^\s*%s\s*[:=]\s*\"([^\"]*)\"" % key, m.group(1), re.M) if m else None
    return v.group(1) if v else None


def sql(sock, query, user="root", check=True, vertical=False):
    fmt = ["--vertical"] if vertical else ["--batch", "--skip-column-names"]
    r = subprocess.run(["mariadb", "--no-defaults", "--protocol=socket", "--socket=" + sock,
                        "--user=" + user] + fmt + ["-e", query],
                       capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise Fail("mariadb (%s): %s\n%s" % (os.path.basename(sock), query[:200], r.stderr))
    return r.stdout


def primary(query):
    return sql(os.path.join(VAR, "run", "mysqld.sock"), query)


def replica(query, check=True, vertical=False):
    return sql(RSOCK, query, check=check, vertical=vertical)


def req(port, method, path, body=None, token=None, headers=None):
    h = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    if token:
        h["Authorization"] = "Bearer " + token
    h.update(headers or {})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        b = r.read()
        try:
            j = json.loads(b) if b else None
        except ValueError:
            j = None
        return r.status, {k.lower(): v for k, v in r.getheaders()}, j, b
    finally:
        c.close()


def metric(port, name):
    st, _, _, b = req(port, "GET", "/metrics")
    expect(st == 200, "GET /metrics answered %d" % st)
    m = re.search(r"^%s (\d+)$" % re.escape(name), b.decode(), re.M)
    expect(m is not None, "no %s in /metrics" % name)
    return int(m.group(1))


def wait_for(cond, seconds=15.0, step=0.1):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(step)
    return False


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop(pid, sig=signal.SIGTERM, seconds=15):
    try:
        os.kill(pid, sig)
    except OSError:
        return
    if not wait_for(lambda: not pid_alive(pid), seconds):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.waitpid(pid, os.WNOHANG)
    except OSError:
        pass


def cleanup():
    for name, pid in reversed(started):
        stop(pid)
    started.clear()


def on_signal(signum, frame):
    cleanup()
    sys.exit(128 + signum)


# ---------------------------------------------------------------- setup

def start_replica_db(first):
    """mariadbd for the replica's data directory; `first`: create it."""
    data = os.path.join(R, "data")
    if first:
        for d in ("run", "log", "nginx-ab", "nginx-b"):
            os.makedirs(os.path.join(R, d), exist_ok=True)
        r = subprocess.run(["mariadb-install-db", "--no-defaults", "--auth-root-authentication-method=normal",
                            "--datadir=" + data, "--user=" + user_name(), "--skip-test-db",
                            "--skip-name-resolve"], capture_output=True, text=True, timeout=120)
        expect(r.returncode == 0, "mariadb-install-db failed:\n" + r.stdout[-1500:] + r.stderr[-1500:])
    extra = ["--user=root"] if os.getuid() == 0 else []
    log = open(os.path.join(R, "log", "mariadb.log"), "a")
    p = subprocess.Popen(["mariadbd", "--no-defaults", "--datadir=" + data, "--socket=" + RSOCK,
                          "--pid-file=" + os.path.join(R, "run", "mariadb.pid"),
                          "--bind-address=127.0.0.1", "--port=%d" % RPORT, "--skip-name-resolve",
                          "--server-id=2", "--read-only", "--character-set-server=utf8mb4",
                          "--collation-server=utf8mb4_unicode_ci",
                          "--log-error=" + os.path.join(R, "log", "mariadb.log")] + extra,
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    started.append(("replica mariadbd", p.pid))
    ok = wait_for(lambda: p.poll() is None and subprocess.run(
        ["mariadb-admin", "--no-defaults", "--protocol=socket", "--socket=" + RSOCK, "--user=root",
         "--connect-timeout=2", "ping"], capture_output=True).returncode == 0, 60, 0.2)
    expect(ok, "the replica's mariadbd did not start:\n" + tail(os.path.join(R, "log", "mariadb.log")))
    return p


def user_name():
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


def tail(path, n=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no %s)" % path


def replica_running():
    out = replica("SHOW SLAVE STATUS", vertical=True)
    return "Slave_IO_Running: Yes" in out and "Slave_SQL_Running: Yes" in out


def caught_up():
    """The replica has applied everything the primary has written."""
    pos = primary("SELECT @@gtid_binlog_pos").strip()
    return replica("SELECT @@gtid_slave_pos").strip() == pos


def setup_replication():
    global RDB
    RDB = start_replica_db(True)
    password = "repl-" + os.urandom(9).hex()
    primary("CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY '%s';"
            "ALTER USER 'repl'@'127.0.0.1' IDENTIFIED BY '%s';"
            "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';" % (password, password))
    name = conf_db("name")
    # a consistent copy and the GTID position it was taken at (SET GLOBAL gtid_slave_pos)
    dump = subprocess.run(["mariadb-dump", "--no-defaults", "--protocol=socket",
                           "--socket=" + os.path.join(VAR, "run", "mysqld.sock"), "--user=root",
                           "--single-transaction", "--master-data=1", "--gtid", "--databases", name],
                          capture_output=True, timeout=60)
    expect(dump.returncode == 0, "mariadb-dump --master-data failed: " + dump.stderr.decode()[-800:])
    expect(b"gtid_slave_pos" in dump.stdout, "the dump does not set gtid_slave_pos")
    load = subprocess.run(["mariadb", "--no-defaults", "--protocol=socket", "--socket=" + RSOCK,
                           "--user=root"], input=dump.stdout, capture_output=True, timeout=60)
    expect(load.returncode == 0, "loading the dump into the replica failed: " + load.stderr.decode()[-800:])
    # the portal's user on the replica may only read: a write sent there fails
    pw = conf_db("password") or ""
    user = conf_db("user")
    replica("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s';"
            "GRANT SELECT ON `%s`.* TO '%s'@'127.0.0.1';" % (user, pw, name, user))
    replica("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%s, MASTER_USER='repl', "
            "MASTER_PASSWORD='%s', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;"
            "START SLAVE;" % (DB_PORT, password))
    expect(wait_for(replica_running, 20), "replication does not run:\n" + replica("SHOW SLAVE STATUS", vertical=True))
    expect(wait_for(caught_up, 20), "the replica did not catch up")
    n_p = primary("SELECT COUNT(*) FROM `%s`.tokens" % name).strip()
    n_r = replica("SELECT COUNT(*) FROM `%s`.tokens" % name).strip()
    expect(n_p == n_r, "tokens: %s on the primary, %s on the replica" % (n_p, n_r))


def write_conf_b(replicas):
    text = open(CONF).read()
    text = re.sub(r'(^\s*listen\s*=\s*)"[^"]*"', lambda m: m.group(1) + '"%s"' % BSOCK, text,
                  count=1, flags=re.M)
    if replicas:
        text = re.sub(r"(^\s*database\s*[:=]\s*\{)",
                      lambda m: m.group(1) + '\n  replicas = ( { host = "127.0.0.1"; port = %d; } );'
                      '\n  replica_retry = %d;' % (RPORT, RETRY), text, count=1, flags=re.M)
    with open(BCONF + ".new", "w") as f:
        f.write(text)
    os.chmod(BCONF + ".new", 0o600)
    os.rename(BCONF + ".new", BCONF)


def start_portald_b():
    global BPID
    write_conf_b(False)
    portald = os.path.join(os.path.dirname(PORTALCTL), "portald")
    log = open(BLOG, "a")
    p = subprocess.Popen([portald, "-c", BCONF, "-p", os.path.join(R, "run", "portald.pid")],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    started.append(("portald B", p.pid))
    BPID = p.pid
    expect(wait_for(lambda: os.path.exists(BSOCK) or p.poll() is not None, 60) and p.poll() is None,
           "portald B did not start:\n" + tail(BLOG))


def start_nginx(tag, port, sockets):
    """An nginx from nginx.conf.example on `port` whose upstream holds `sockets`."""
    var = os.path.join(R, tag)
    for d in ("run", "log", "nginx"):
        os.makedirs(os.path.join(var, d), exist_ok=True)
    text = open(os.path.join(ROOT, "nginx.conf.example")).read()
    text = text.replace('server "unix:@SOCKET@";',
                        "\n        ".join('server "unix:%s";' % s for s in sockets))
    user = "user root;" if os.getuid() == 0 else "# not root"
    text = (text.replace("@USER_DIRECTIVE@", user).replace("@VAR@", var)
            .replace("@PORT@", str(port)))
    conf = os.path.join(var, "nginx.conf")
    with open(conf, "w") as f:
        f.write(text)
    r = subprocess.run(["nginx", "-p", os.path.join(var, "nginx"), "-c", conf,
                        "-e", os.path.join(var, "log", "nginx-error.log")],
                       capture_output=True, text=True, timeout=30)
    expect(r.returncode == 0, "nginx %s did not start: %s" % (tag, r.stderr))
    pidfile = os.path.join(var, "run", "nginx.pid")
    expect(wait_for(lambda: os.path.exists(pidfile) and open(pidfile).read().strip(), 10),
           "nginx %s wrote no pid file" % tag)
    started.append(("nginx " + tag, int(open(pidfile).read().strip())))
    expect(wait_for(lambda: req(port, "GET", "/healthz")[0] == 200, 30),
           "nginx %s: /healthz does not answer 200" % tag)


def setup():
    global RPORT, AB, BONLY
    RPORT, AB, BONLY = free_port(), free_port(), free_port()
    if os.path.exists(R):
        shutil.rmtree(R)
    os.makedirs(R)
    setup_replication()
    start_portald_b()
    start_nginx("nginx-ab", AB, [os.path.join(VAR, "run", "portald.sock"), BSOCK])
    start_nginx("nginx-b", BONLY, [BSOCK])


# ---------------------------------------------------------------- checks

created = []


def coll():
    return "/api/v1/%s/partnerships" % MUNI


def new_item(port, name):
    st, h, j, b = req(port, "POST", coll(), body={"partner": {"name": name, "country": "SE"},
                                                  "kind": "cooperation", "status": "active"},
                      token=ADMIN)
    expect(st == 201 and j and "id" in j, "POST through :%d answered %d: %s" % (port, st, b[:300]))
    created.append(j["id"])
    return j["id"], h


def host_of(h):
    """Which portald answered: the request id is in one host's log."""
    rid = h.get("x-request-id", "")
    expect(rid, "no X-Request-Id")
    # the log line is written after the answer: give it a moment
    for _ in range(50):
        in_a = rid in open(os.path.join(VAR, "log", "portald.log"), errors="replace").read()
        in_b = rid in open(BLOG, errors="replace").read()
        if in_a or in_b:
            return "A" if in_a else "B"
        time.sleep(0.05)
    raise Fail("request %s is in neither portald's log" % rid)


def t_two_hosts():
    """POST and GET through one upstream of two portalds on one database."""
    hosts_w, hosts_r, crossed = set(), set(), 0
    for k in range(6):
        pid, h = new_item(AB, "Replica test two hosts %d" % k)
        w = host_of(h)
        hosts_w.add(w)
        for _ in range(3):
            st, h2, j, b = req(AB, "GET", "%s/%d" % (coll(), pid))
            expect(st == 200 and j["partner"]["name"] == "Replica test two hosts %d" % k,
                   "GET of a new item through the shared upstream answered %d: %s" % (st, b[:200]))
            r = host_of(h2)
            hosts_r.add(r)
            crossed += r != w
    expect(hosts_w | hosts_r == {"A", "B"}, "only %s answered" % sorted(hosts_w | hosts_r))
    expect(crossed > 0, "no item was read through the other host than the one that wrote it")
    print("# %d reads on the other host than the writer's, all consistent" % crossed)


def reload_b_with_replica():
    write_conf_b(True)
    r = subprocess.run([PORTALCTL, "-c", BCONF, "check"], capture_output=True, text=True, timeout=60)
    expect(r.returncode == 0 and ("read replica 1: 127.0.0.1:%d" % RPORT) in r.stdout,
           "portalctl check does not report the replica: %s %s" % (r.stdout, r.stderr))
    off = os.path.getsize(BLOG)
    old = set(children(BPID))
    os.kill(BPID, signal.SIGHUP)
    expect(wait_for(lambda: "reloaded:" in open(BLOG, errors="replace").read()[off:], 30),
           "portald B did not reload:\n" + tail(BLOG))
    # the old workers finish and the new ones (with replica connections) take over
    expect(wait_for(lambda: children(BPID) and not set(children(BPID)) & old, 30),
           "portald B's old workers still run after the reload")




def replica_executes():
    return int(replica("SHOW GLOBAL STATUS LIKE 'Com_stmt_execute'").split()[1])


def t_reads_from_replica():
    reload_b_with_replica()
    reads0, ex0 = metric(BONLY, "portal_db_replica_reads_total"), replica_executes()
    for i in range(10):
        # a query of its own each time: a repeated one is a response-cache
        # hit, which only checks the generation on the primary
        st, _, j, b = req(BONLY, "GET", "%s?limit=%d" % (coll(), 10 + i))
        expect(st == 200 and j["items"], "GET list through B answered %d: %s" % (st, b[:200]))
    st, _, _, b = req(BONLY, "GET", "/%s/?lang=en" % MUNI, headers={"Accept": "text/html"})
    expect(st == 200, "the overview page through B answered %d" % st)
    reads1, ex1 = metric(BONLY, "portal_db_replica_reads_total"), replica_executes()
    expect(reads1 - reads0 >= 11, "portal_db_replica_reads_total rose by %d, not 11" % (reads1 - reads0))
    expect(ex1 - ex0 >= 11, "the replica executed %d statements for 11 reads" % (ex1 - ex0))
    print("# 11 reads through B: +%d replica reads, +%d statements executed on the replica"
          % (reads1 - reads0, ex1 - ex0))


def t_lag_and_writes():
    """Replication stopped: the replica lags, writes and tokens still go to the primary."""
    replica("STOP SLAVE")
    try:
        ex0 = replica_executes()
        pid, h = new_item(BONLY, "Replica test lag")
        st, _, j, b = req(BONLY, "PATCH", "%s/%d" % (coll(), pid), body={"status": "ended"},
                          token=ADMIN)
        expect(st == 200 and j["status"] == "ended",
               "PATCH through B (primary) answered %d: %s" % (st, b[:300]))
        expect(replica_executes() == ex0, "a write through B executed statements on the replica")
        st, _, _, _ = req(BONLY, "GET", "%s/%d" % (coll(), pid))
        expect(st == 404, "a new item read through B while replication is stopped answered %d, "
               "not 404 (the replica cannot have it)" % st)
        # Portal-Read is honoured with a token only (issue 20, point 4)
        st, _, j, _ = req(BONLY, "GET", "%s/%d" % (coll(), pid), token=ADMIN,
                          headers={"Portal-Read": "primary"})
        expect(st == 200 and j["status"] == "ended",
               "with Portal-Read: primary the new item answered %d" % st)
        st, _, _, _ = req(AB, "GET", "%s/%d" % (coll(), pid), token=ADMIN,
                          headers={"Portal-Read": "primary"})
        expect(st == 200, "the new item through the shared upstream answered %d" % st)
        # a token made now exists only on the primary, and is honoured at once;
        # revoked, it is refused at once, though the replica has not heard of either
        tok = create_token(MUNI, "reader")
        st, _, _, b = req(BONLY, "GET", coll(), token=tok)
        expect(st == 200, "a new token on a read through B answered %d: %s" % (st, b[:200]))
        tid = token_id(tok)
        r = portalctl("token", "revoke", tid)
        expect(r.returncode == 0, "token revoke failed: " + r.stderr)
        st, _, _, _ = req(BONLY, "GET", coll(), token=tok)
        expect(st == 401, "a revoked token on a read through B answered %d, not 401" % st)
    finally:
        replica("START SLAVE")
    expect(wait_for(lambda: req(BONLY, "GET", "%s/%d" % (coll(), pid))[0] == 200, 20),
           "the item did not appear through B after START SLAVE")
    st, _, j, _ = req(BONLY, "GET", "%s/%d" % (coll(), pid))
    expect(j["status"] == "ended", "the replica has the item but not its PATCH")


def t_replica_down():
    global RDB
    expect(wait_for(caught_up, 20), "the replica did not catch up")
    fb0 = metric(BONLY, "portal_db_replica_fallbacks_total")
    t0 = time.time()
    os.kill(RDB.pid, signal.SIGKILL)
    RDB.wait(timeout=30)
    bad = []
    for k in range(20):
        # each read different: a repeated one would be a response-cache hit
        # (checked on the primary), not a read of the replica or its fallback
        # (the key is the parsed request: a page differs by a known argument)
        path = ("%s?limit=%d" % (coll(), 30 + k) if k % 4
                else "/%s/partnerships/?limit=%d" % (MUNI, 30 + k))
        st, _, _, _ = req(BONLY, "GET", path, headers={"Accept": "text/html"} if k % 4 == 0 else None)
        if st != 200:
            bad.append((path, st))
    took = time.time() - t0
    expect(not bad, "reads with the replica killed: %r" % bad)
    fb1 = metric(BONLY, "portal_db_replica_fallbacks_total")
    expect(fb1 - fb0 >= 20, "portal_db_replica_fallbacks_total rose by %d for 20 reads" % (fb1 - fb0))
    pid, _ = new_item(BONLY, "Replica test while the replica is down")
    st, _, _, _ = req(BONLY, "GET", "%s/%d" % (coll(), pid))
    expect(st == 200, "a new item read while the replica is down answered %d" % st)
    print("# replica killed: 20 reads, all 200 from the primary in %.2fs; +%d fallbacks"
          % (took, fb1 - fb0))

    # back: mariadbd with the same data directory resumes replication by itself
    RDB = start_replica_db(False)
    expect(wait_for(replica_running, 20), "replication does not resume")
    expect(wait_for(caught_up, 20), "the replica did not catch up after its restart")
    time.sleep(RETRY + 0.2)
    r0, ex0 = metric(BONLY, "portal_db_replica_reads_total"), replica_executes()
    # each of B's workers tries its replica again on its first read after the hold-off
    end = time.time() + 10
    n = 0
    while time.time() < end:
        n += 1
        st, _, _, _ = req(BONLY, "GET", "%s?limit=%d" % (coll(), 1 + (50 + n) % 100))
        expect(st == 200, "a read after the replica's return answered %d" % st)
        if metric(BONLY, "portal_db_replica_reads_total") - r0 >= 5:
            break
    r1 = metric(BONLY, "portal_db_replica_reads_total")
    expect(r1 - r0 >= 5, "reads did not go back to the replica (+%d)" % (r1 - r0))
    expect(replica_executes() > ex0, "the replica executed nothing after its return")
    st, _, _, _ = req(BONLY, "GET", "%s/%d" % (coll(), pid))
    expect(st == 200, "the item written while it was down, read from the replica: %d" % st)


def t_no_sanitizer_reports():
    """Host B's log (a SAN=1 build's reports land there, not in the stack's)."""
    stop(BPID)
    started[:] = [s for s in started if s[1] != BPID]
    text = open(BLOG, errors="replace").read()
    reps = re.findall(r"==\d+==ERROR: \w+Sanitizer.*|runtime error:.*", text)
    expect(not reps, "sanitizer reports in portald B's log:\n" + "\n".join(reps[:10]))
    bad = [ln for ln in text.splitlines() if re.search(r" status=5\d\d ", ln)]
    expect(not bad, "portald B answered 5xx:\n" + "\n".join(bad[:10]))


def main():
    missing = [c for c in ("mariadbd", "mariadb-install-db", "mariadb-dump", "nginx")
               if shutil.which(c) is None]
    if not (VAR and CONF and DB_PORT and ADMIN):
        print("1..0 # skip needs PORTAL_VAR, PORTAL_CONF, PORTAL_DB_PORT and PORTAL_ADMIN_TOKEN "
              "(tests/run.sh)")
        return 0
    if missing:
        print("1..0 # skip not installed: " + " ".join(missing))
        return 0
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t = Tap()
    t0 = time.time()
    try:
        if t.check("a replica of the stack's MariaDB, a second portald and two nginx start", setup):
            t.check("two portalds behind one nginx upstream on one database: what one writes, "
                    "the other reads", t_two_hosts)
            if t.check("with database.replicas (after SIGHUP) reads come from the replica",
                       t_reads_from_replica):
                t.check("replication stopped: reads through the replica lag, writes, tokens and "
                        "Portal-Read: primary use the primary; START SLAVE catches up",
                        t_lag_and_writes)
                t.check("replica killed: reads fall back to the primary with no 5xx; "
                        "back, reads return to it", t_replica_down)
            t.check("portald B: no 5xx and no sanitizer report in its log", t_no_sanitizer_reports)
    finally:
        cleanup()
        for pid in created:
            try:
                st = request("DELETE", "%s/%d" % (coll(), pid), token=ADMIN).status
            except Exception as e:
                st = str(e)
            if st not in (204, 404):
                print("# could not delete partnership %d: %s" % (pid, st))
        try:
            primary("DROP USER IF EXISTS 'repl'@'127.0.0.1'")
        except Exception:
            pass
        if os.environ.get("KEEP") != "1":
            shutil.rmtree(R, ignore_errors=True)
            try:
                os.unlink(BCONF)
            except OSError:
                pass
    print("# test_replica took %.1fs" % (time.time() - t0))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
