#!/usr/bin/env python3
"""test_faults.py - fault tests against the stack of tests/run.sh (issue 7).

  a. kill -9 one worker under a load of concurrent GETs: the master starts a
     new one within 1.5 s, logs the signal, survives; at most the one request
     that worker had in hand fails; portal_worker_restarts_total goes up.
  b. SIGSTOP MariaDB under load: every answer is portald's own 503
     problem+json with Retry-After (never nginx's 502/504), each within 25 s;
     /healthz says 503; after SIGCONT a 200 within 2 s, portald not restarted.
  c. MariaDB stopped (SIGTERM, waited for): 503 at once; started again
     exactly as scripts/stack.sh starts it: 200 within 2 s of its socket
     answering, portald not restarted.
  d. A write storm (partnerships with 3 agreements each, for herrljunga,
     names "faulttest-...") and kill -9 of the master and its workers
     mid-storm; portald started again exactly as stack.sh starts it; every
     write that got a 2xx is in the database as answered, no partnership is
     torn (all 3 agreements or none), the rows are the acknowledged ones plus
     at most the ones in flight at the kill, each with its audit entry.
  e. The breaker and stale-if-error (issue 13): a page in every worker's
     response cache, then MariaDB frozen (SIGSTOP) with no load: the first
     uncached request may wait read_timeout; after it the next 4 uncached
     requests answer portald's 503 within 1.5 s each, the cached page 200
     with an Age header, /healthz 503 within 1.5 s, and /metrics shows the
     breaker open; after SIGCONT a 200 within 10 s and the breaker closed.

Every case leaves the stack as it found it: MariaDB and portald running, with
valid pid files in $PORTAL_VAR/run (a restarted process writes its own).  A
process is started again the way stack.sh starts it: the same executable,
arguments, environment and directory read from /proc before it is stopped,
in a new session (setsid), stdin from /dev/null, stdout and stderr appended
to $PORTAL_VAR/log/NAME.log, SIGINT and SIGQUIT ignored (as for a `cmd &`
of a non-interactive sh).

FAULTS_FREEZE_CLIENTS=N (default 4) and FAULTS_FREEZE_SECONDS=S (default: as
long as it takes to see six 503s and /healthz's) change case b's load and
the least time MariaDB stays frozen.  The whole file takes about 30 s.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import (PORTAL_CONF, PORTAL_VAR, Fail, Tap, create_token, expect,  # noqa: E402
                     portalctl, request, token_id)
from proc import alive, children, mono, proc_stat, wait_for  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(PORTAL_VAR, "run")
LOGDIR = os.path.join(PORTAL_VAR, "log")
PORTALD_PIDFILE = os.path.join(RUN, "portald.pid")
MARIADB_PIDFILE = os.path.join(RUN, "mariadb.pid")
PORTALD_LOG = os.path.join(LOGDIR, "portald.log")
MARIADB_LOG = os.path.join(LOGDIR, "mariadb.log")
NGINX_ERROR_LOG = os.path.join(LOGDIR, "nginx-error.log")

LIST = "/api/v1/borlange/partnerships"
M = "herrljunga"
PREFIX = "faulttest-"
NGINX_503 = "the portal is not answering"   # nginx.conf.example's own 502/503 page




# --- configuration -----------------------------------------------------------

def conf_group(text, group):
    """The string and number settings of one top-level libconfig group."""
    i = 0
    n = len(text)
    start = -1
    while i < n:  # find "group :|= {" outside strings and comments
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            i = text.find("*/", i + 2)
            i = n if i < 0 else i + 1
        elif text.startswith(group, i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            j = i + len(group)
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j < n and text[j] in ":=":
                j += 1
                while j < n and text[j] in " \t\r\n":
                    j += 1
                if j < n and text[j] == "{":
                    start = j + 1
                    break
        i += 1
    if start < 0:
        return {}
    out = {}
    i = start
    key = None
    while i < n:
        c = text[i]
        if c == "}":
            break
        if c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_-"):
                j += 1
            word = text[i:j]
            k = j
            while k < n and text[k] in " \t\r\n":
                k += 1
            if key is None and k < n and text[k] in ":=":
                key = word
                i = k + 1
                continue
            if key is not None:  # a bare value (number, true)
                out[key] = word
                key = None
            i = j
            continue
        if c == '"' and key is not None:
            j = i + 1
            buf = []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                else:
                    buf.append(text[j])
                    j += 1
            out[key] = "".join(buf)
            key = None
            i = j + 1
            continue
        if (c.isdigit() or c == "-") and key is not None:
            j = i
            while j < n and text[j] not in ";,\n":
                j += 1
            out[key] = text[i:j].strip()
            key = None
            i = j
            continue
        i += 1
    return out


def read_conf():
    with open(PORTAL_CONF, encoding="utf-8") as f:
        text = f.read()
    return conf_group(text, "core"), conf_group(text, "database")


CORE, DB = ({}, {})


class Sql:
    """The mariadb client with the socket and credentials of portal.conf."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="portal-faults.")
        self.cnf = os.path.join(self.dir, "client.cnf")
        fd = os.open(self.cnf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("[client]\nprotocol=socket\nsocket=%s\nuser=%s\npassword=%s\n"
                    % (DB.get("socket", ""), DB.get("user", ""), DB.get("password", "")))

    def rows(self, query):
        r = subprocess.run(["mariadb", "--defaults-file=" + self.cnf, "--batch", "--skip-column-names",
                            "--connect-timeout=5", DB.get("name", "portal"), "-e", query],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise Fail("mariadb -e %r exited %d: %s" % (query[:80], r.returncode, r.stderr.strip()))
        return [ln.split("\t") for ln in r.stdout.splitlines() if ln]

    def close(self):
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))
        os.rmdir(self.dir)


# --- processes ---------------------------------------------------------------

def read_pid(path):
    try:
        with open(path) as f:
            s = f.read().strip()
        return int(s) if s.isdigit() else None
    except OSError:
        return None










class Captured:
    """How a running process was started, read from /proc, to start it again."""

    def __init__(self, pid, log):
        self.pid = pid
        self.log = log
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            self.argv = [a.decode() for a in f.read().split(b"\0")[:-1]]
        with open("/proc/%d/environ" % pid, "rb") as f:
            self.env = dict(e.decode("utf-8", "replace").split("=", 1)
                            for e in f.read().split(b"\0") if b"=" in e)
        self.exe = os.readlink("/proc/%d/exe" % pid)
        if self.exe.endswith(" (deleted)"):
            self.exe = self.argv[0]
        expect(self.argv, "no command line for pid %d" % pid)

    def start(self):
        """As stack.sh: `setsid CMD... </dev/null >>LOG 2>&1 &` from the repository."""
        old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGQUIT)}
        try:
            with open(self.log, "ab") as lf:
                p = subprocess.Popen(self.argv, executable=self.exe, cwd=ROOT, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT,
                                     start_new_session=True, close_fds=True)
        finally:
            for s, h in old.items():
                signal.signal(s, h)
        return p.pid


def db_socket_answers():
    """MariaDB's socket accepts a connection and sends its greeting."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(DB["socket"])
        return len(s.recv(16)) >= 5
    except OSError:
        return False
    finally:
        s.close()


def start_mariadb(cap):
    """Starts MariaDB as stack.sh does and waits for its socket; returns the
    new pid and the moment (monotonic) the socket first answered."""
    try:
        os.unlink(DB["socket"])  # stack.sh: rm -f "$DBSOCK" "$RUN/mariadb.pid"
    except OSError:
        pass
    try:
        os.unlink(MARIADB_PIDFILE)
    except OSError:
        pass
    pid = cap.start()
    ok = wait_for(lambda: db_socket_answers() or not alive(pid), 60, 0.01)
    t = mono()
    expect(ok and alive(pid), "the restarted mariadbd (pid %d) does not answer on %s; %s"
           % (pid, DB["socket"], tail(MARIADB_LOG)))
    if not wait_for(lambda: read_pid(MARIADB_PIDFILE) == pid, 5):
        with open(MARIADB_PIDFILE, "w") as f:  # stack.sh: [ -s pid ] || echo $! > pid
            f.write("%d\n" % pid)
    return pid, t


def start_portald(cap):
    """Starts portald as stack.sh does; waits for its socket and /healthz 200."""
    sock = CORE.get("listen", os.path.join(RUN, "portald.sock"))
    for f in (sock, PORTALD_PIDFILE):  # stack.sh: rm -f "$PSOCK" "$RUN/portald.pid"
        try:
            os.unlink(f)
        except OSError:
            pass
    t0 = mono()
    pid = cap.start()
    expect(wait_for(lambda: os.path.exists(sock) or not alive(pid), 30),
           "the restarted portald made no socket; " + tail(PORTALD_LOG))
    expect(alive(pid), "the restarted portald exited; " + tail(PORTALD_LOG))
    if not wait_for(lambda: read_pid(PORTALD_PIDFILE) == pid, 5):
        with open(PORTALD_PIDFILE, "w") as f:
            f.write("%d\n" % pid)

    def healthy():
        try:
            return request("GET", "/healthz", timeout=5).status == 200
        except Exception:
            return False
    expect(wait_for(healthy, 30, 0.05), "the restarted portald does not answer /healthz 200; "
           + tail(PORTALD_LOG))
    return pid, mono() - t0


def tail(path, n=15):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()[-n:]
    except OSError:
        return "(no %s)" % path
    return "last lines of %s:\n%s" % (path, "".join(lines))


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def read_since(path, offset):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def metric(name):
    r = request("GET", "/metrics", timeout=10)
    expect(r.status == 200, "GET /metrics: %d" % r.status, r)
    for ln in r.text.splitlines():
        if ln.startswith(name + " "):
            return float(ln.split()[1])
    raise Fail("no %s in /metrics" % name, r)


# --- load --------------------------------------------------------------------

def classify(r):
    """ok, core503 (portald's own, with Retry-After), nginx502 (nginx's
    503 page, which stands for its 502/503), nginx504, or http:N."""
    if r.status == 200:
        return "ok"
    p = r.json if isinstance(r.json, dict) else {}
    detail = str(p.get("detail", ""))
    if r.status == 503 and NGINX_503 in detail:
        return "nginx502"
    if r.status == 504:
        return "nginx504"
    if (r.status == 503 and r.ctype == "application/problem+json" and p.get("status") == 503
            and r.header("retry-after") and detail.startswith("the database does not answer")
            and str(p.get("instance", "")).startswith("urn:request:")):
        return "core503"
    return "http:%d" % r.status


class Load:
    """Threads GETting a list as fast as they can; every answer is recorded
    as (start, end, kind).  With `uncached`, each request asks a search no
    request asked before, so the response cache (which serves what it has
    while the database is away) cannot answer it."""

    def __init__(self, n, path=LIST, timeout=40, uncached=False):
        self.path = path
        self.uncached = uncached
        self.seq = 0
        self.timeout = timeout
        self.halt = False
        self.records = []
        self.examples = {}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(n)]

    def run(self):
        while not self.halt:
            t0 = mono()
            query = {"limit": "3"}
            if self.uncached:
                with self.lock:
                    self.seq += 1
                    query["q"] = "load%d%d" % (os.getpid(), self.seq)
            try:
                r = request("GET", self.path, query=query, timeout=self.timeout)
                kind = classify(r)
                ex = r
            except Exception as e:
                kind, ex = "error:" + type(e).__name__, e
            t1 = mono()
            with self.lock:
                self.records.append((t0, t1, kind))
                if kind != "ok" and kind not in self.examples:
                    self.examples[kind] = ex

    def count(self, kind=None, since=None):
        with self.lock:
            return sum(1 for t0, t1, k in self.records
                       if (kind is None or k == kind) and (since is None or t1 >= since))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *a):
        self.halt = True
        for t in self.threads:
            t.join(60)

    def describe(self, kind):
        ex = self.examples.get(kind)
        if ex is None:
            return ""
        if isinstance(ex, Exception):
            return "%s: %s" % (kind, ex)
        return "%s: %d %s %s" % (kind, ex.status, ex.header("content-type"), ex.text[:300].strip())


def summary(records):
    out = {}
    for _, _, k in records:
        out[k] = out.get(k, 0) + 1
    return ", ".join("%s %d" % kv for kv in sorted(out.items()))


# --- a. a worker killed under load ---------------------------------------------

A = {}


def a_run():
    mp = read_pid(PORTALD_PIDFILE)
    expect(alive(mp), "portald (pid %r) does not run" % mp)
    before = children(mp)
    expect(before, "no workers under master %d" % mp)
    restarts0 = metric("portal_worker_restarts_total")
    off = file_size(PORTALD_LOG)
    with Load(6, timeout=30) as load:
        wait_for(lambda: load.count("ok") >= 100, 3)
        victim = before[0]
        t_kill = mono()
        os.kill(victim, signal.SIGKILL)
        new = wait_for(lambda: [p for p in children(mp) if p not in before], 5, 0.005)
        t_new = mono()
        time.sleep(1.0)
    A.update(master=mp, before=before, victim=victim, new=new, restart_s=t_new - t_kill,
             records=load.records, load=load, off=off, restarts0=restarts0)
    bad = [r for r in load.records if r[2] != "ok"]
    print("# a: killed worker %d of master %d; new worker %s after %.3f s; %d requests, %d failed (%s)"
          % (victim, mp, new, t_new - t_kill, len(load.records), len(bad), summary(load.records)))
    for k in sorted({r[2] for r in bad}):
        print("#    " + load.describe(k))
    expect(new, "no new worker under master %d within 5 s of killing %d (workers now %r)"
           % (mp, victim, children(mp)))


def a_restarted():
    expect(A.get("new"), "the scenario did not run")
    expect(A["restart_s"] <= 1.5, "the new worker came after %.3f s (> 1.5 s)" % A["restart_s"])
    expect(alive(A["master"]) and read_pid(PORTALD_PIDFILE) == A["master"],
           "the master %d does not run any more, or the pid file changed" % A["master"])
    now = children(A["master"])
    expect(len(now) == len(A["before"]) and A["victim"] not in now,
           "workers were %r, now %r" % (A["before"], now))


def a_failures():
    recs = A.get("records")
    expect(recs is not None, "the scenario did not run")
    bad = [r for r in recs if r[2] != "ok"]
    expect(len(recs) - len(bad) >= 100, "only %d requests answered 200" % (len(recs) - len(bad)))
    expect(len(bad) <= 1, "%d requests failed (the killed worker had at most 1 in hand): %s"
           % (len(bad), summary(bad)))


def a_log():
    expect(A.get("new"), "the scenario did not run")
    want = "worker %d killed by signal %d" % (A["victim"], signal.SIGKILL)
    expect(wait_for(lambda: want in read_since(PORTALD_LOG, A["off"]), 3),
           "no %r in portald.log:\n%s" % (want, read_since(PORTALD_LOG, A["off"])[-1500:]))
    for ln in read_since(PORTALD_LOG, A["off"]).splitlines():
        if want in ln:
            print("#   " + ln)


def a_metrics():
    expect(A.get("new"), "the scenario did not run")
    n = metric("portal_worker_restarts_total")
    print("# a: portal_worker_restarts_total %g -> %g" % (A["restarts0"], n))
    expect(n >= A["restarts0"] + 1, "portal_worker_restarts_total went from %g to %g"
           % (A["restarts0"], n))


# --- b. MariaDB frozen (SIGSTOP) under load -------------------------------------

B = {}


def all_threads_stopped(pid):
    """Every thread of `pid` is in state T (stopped)."""
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                if f.read().rsplit(")", 1)[1].split()[0] not in ("T", "t"):
                    return False
        return True
    except OSError:
        return False


def b_run():
    mp = read_pid(PORTALD_PIDFILE)
    workers0 = children(mp)
    dbpid = read_pid(MARIADB_PIDFILE)
    expect(alive(mp) and alive(dbpid), "portald %r or mariadbd %r does not run" % (mp, dbpid))
    noff = file_size(NGINX_ERROR_LOG)
    health = {}

    def probe_health():
        t0 = mono()
        try:
            r = request("GET", "/healthz", timeout=40)
            health.update(kind=classify(r), status=r.status, s=mono() - t0, resp=r)
        except Exception as e:
            health.update(kind="error:" + type(e).__name__, status=None, s=mono() - t0, resp=None,
                          err=str(e))

    # FAULTS_FREEZE_CLIENTS / FAULTS_FREEZE_SECONDS: more clients than the
    # default 4, frozen for at least that long (to try the core's limits)
    clients = int(os.environ.get("FAULTS_FREEZE_CLIENTS", "4"))
    least = float(os.environ.get("FAULTS_FREEZE_SECONDS", "0"))
    with Load(clients, timeout=60, uncached=True) as load:
        wait_for(lambda: load.count("ok") >= 20, 3)
        t_stop = mono()
        os.kill(dbpid, signal.SIGSTOP)
        try:
            # SIGSTOP takes effect asynchronously: a thread on another CPU
            # may still answer a ping; probe only once every thread stopped
            wait_for(lambda: all_threads_stopped(dbpid), 5, 0.01)
            hp = threading.Thread(target=probe_health, daemon=True)
            hp.start()
            # frozen until several answers came back and /healthz answered
            wait_for(lambda: load.count("core503", t_stop) >= 6 and not hp.is_alive()
                     and mono() - t_stop >= least, max(30, least), 0.05)
        finally:
            t_cont = mono()
            os.kill(dbpid, signal.SIGCONT)
        hp.join(40)

        def back():  # a search never asked: the cache cannot answer it
            try:
                return request("GET", LIST, query={"q": "back%f" % mono()}, timeout=10).status == 200
            except Exception:
                return False
        ok = wait_for(back, 10, 0.01)
        t_back = mono()
        time.sleep(1.0)
    recs = load.records
    during = [r for r in recs if r[1] >= t_stop and r[0] <= t_cont]
    c503 = [r for r in recs if r[2] == "core503"]
    B.update(master=mp, workers0=workers0, dbpid=dbpid, t_stop=t_stop, t_cont=t_cont,
             back=ok and t_back - t_cont, records=recs, load=load, health=health,
             nginx=read_since(NGINX_ERROR_LOG, noff))
    print("# b: MariaDB (pid %d) stopped for %.1f s; %d clients, %d requests (%s)"
          % (dbpid, t_cont - t_stop, clients, len(recs), summary(recs)))
    if c503:
        print("# b: first 503 %.2f s after SIGSTOP; 503 answers took %.2f..%.2f s; longest request %.2f s"
              % (min(r[1] for r in c503) - t_stop, min(r[1] - r[0] for r in c503),
                 max(r[1] - r[0] for r in c503), max(r[1] - r[0] for r in recs)))
    print("# b: /healthz while frozen: %s after %.2f s" % (health.get("status"), health.get("s", 0)))
    if ok:
        print("# b: a new request answered 200 %.3f s after SIGCONT" % (t_back - t_cont))
    for k in sorted({r[2] for r in recs if r[2] not in ("ok", "core503")}):
        print("#    " + load.describe(k))
    expect(during, "no request was in flight while MariaDB was stopped")


def b_503():
    recs = B.get("records")
    expect(recs is not None, "the scenario did not run")
    c503 = [r for r in recs if r[2] == "core503"]
    other = [r for r in recs if r[2] not in ("ok", "core503")]
    expect(c503, "no request got portald's 503 while MariaDB was stopped (%s)" % summary(recs))
    expect(not other, "answers other than 200 and portald's 503 + Retry-After: %s; %s"
           % (summary(other), "; ".join(B["load"].describe(k) for k in {r[2] for r in other})))
    longest = max(r[1] - r[0] for r in recs)
    expect(longest < 25, "a request took %.1f s (>= 25 s)" % longest)
    bad = [ln for ln in B["nginx"].splitlines() if "upstream" in ln]
    expect(not bad, "nginx logged upstream errors:\n" + "\n".join(bad[:5]))


def b_healthz():
    h = B.get("health")
    expect(h, "the scenario did not run")
    expect(h.get("status") == 503 and h.get("kind") == "core503",
           "/healthz while MariaDB was stopped: %s (%s) after %.1f s %s"
           % (h.get("status"), h.get("kind"), h.get("s", 0),
              h["resp"].text[:300] if h.get("resp") is not None else h.get("err", "")))
    expect(h["s"] < 25, "/healthz took %.1f s" % h["s"])


def b_recovery():
    expect(B.get("records") is not None, "the scenario did not run")
    expect(B["back"] is not False and B["back"] is not None,
           "no 200 within 10 s of SIGCONT")
    expect(B["back"] < 2, "the first 200 came %.2f s after SIGCONT (>= 2 s)" % B["back"])
    late = [r for r in B["records"] if r[0] >= B["t_cont"] + B["back"] and r[2] != "ok"]
    expect(not late, "requests after recovery failed: %s" % summary(late))
    expect(alive(B["master"]) and read_pid(PORTALD_PIDFILE) == B["master"],
           "portald's master changed")
    expect(children(B["master"]) == B["workers0"], "the workers changed: %r -> %r"
           % (B["workers0"], children(B["master"])))


# --- c. MariaDB stopped and started again ---------------------------------------

C = {}


def c_run():
    mp = read_pid(PORTALD_PIDFILE)
    workers0 = children(mp)
    dbpid = read_pid(MARIADB_PIDFILE)
    expect(alive(mp) and alive(dbpid), "portald %r or mariadbd %r does not run" % (mp, dbpid))
    cap = Captured(dbpid, MARIADB_LOG)
    t0 = mono()
    os.kill(dbpid, signal.SIGTERM)
    expect(wait_for(lambda: not alive(dbpid), 60, 0.05), "mariadbd %d still runs 60 s after SIGTERM"
           % dbpid)
    C.update(stop_s=mono() - t0, master=mp, workers0=workers0, cap=cap)
    down = []
    # what the response cache cannot answer (it serves what it has while
    # the database is away: case e)
    fresh = LIST + "?q=down%d" % os.getpid()
    for path in (fresh + "a", "/api/v1/lerum/partnerships/1?limit=1", "/healthz", fresh + "b",
                 fresh + "c"):
        t1 = mono()
        r = request("GET", path, timeout=30)
        down.append((path, mono() - t1, classify(r), r))
    C["down"] = down
    print("# c: mariadbd %d stopped in %.2f s; while down: %s" % (
        dbpid, C["stop_s"], ", ".join("%d in %.3f s" % (d[3].status, d[1]) for d in down)))
    t1 = mono()
    newpid, t_sock = start_mariadb(cap)
    C.update(newpid=newpid, start_s=t_sock - t1)

    def back():  # a search never asked: the cache cannot answer it
        try:
            return request("GET", LIST, query={"q": "back%f" % mono()}, timeout=10).status == 200
        except Exception:
            return False
    ok = wait_for(back, 10, 0.01)
    C["back"] = ok and mono() - t_sock
    print("# c: mariadbd started again (pid %d), socket answered after %.2f s; first 200 %.3f s later"
          % (newpid, C["start_s"], C["back"] or -1))


def c_down():
    down = C.get("down")
    expect(down, "the scenario did not run")
    for path, s, kind, r in down:
        expect(kind == "core503", "GET %s while MariaDB was down: %s" % (path, kind), r)
        expect(s < 2, "GET %s while MariaDB was down took %.2f s" % (path, s), r)


def c_back():
    expect(C.get("newpid"), "the scenario did not run")
    expect(C["back"] is not False, "no 200 within 10 s of MariaDB answering again")
    expect(C["back"] < 2, "the first 200 came %.2f s after MariaDB answered" % C["back"])
    expect(read_pid(MARIADB_PIDFILE) == C["newpid"], "mariadb.pid holds %r, not %d"
           % (read_pid(MARIADB_PIDFILE), C["newpid"]))
    expect(alive(C["master"]) and read_pid(PORTALD_PIDFILE) == C["master"], "portald's master changed")
    expect(children(C["master"]) == C["workers0"], "the workers changed: %r -> %r"
           % (C["workers0"], children(C["master"])))


# --- e. the breaker and stale-if-error -------------------------------------------

E = {}


def timed(path, **kw):
    t0 = mono()
    try:
        r = request("GET", path, timeout=40, **kw)
        return r, mono() - t0
    except Exception as e:  # noqa: BLE001 (a time-out is a result here)
        return e, mono() - t0


def e_run():
    mp = read_pid(PORTALD_PIDFILE)
    dbpid = read_pid(MARIADB_PIDFILE)
    expect(alive(mp) and alive(dbpid), "portald %r or mariadbd %r does not run" % (mp, dbpid))
    nworkers = int(CORE.get("workers") or 0) or len(children(mp)) - 1
    tag = "%d%d" % (os.getpid(), int(time.time()))
    # a page no earlier request asked for (a query argument of its own), so
    # that every worker stores it: warm up until the store counter says so
    page = "/borlange/?warm=" + tag
    stores0 = metric('portal_cache_total{event="store"}')
    deadline = mono() + 20
    while metric('portal_cache_total{event="store"}') - stores0 < nworkers and mono() < deadline:
        ts = [threading.Thread(target=lambda: request("GET", page, timeout=10)) for _ in range(8)]
        for th in ts:
            th.start()
        for th in ts:
            th.join(15)
    stored = metric('portal_cache_total{event="store"}') - stores0
    expect(stored >= nworkers, "the page went into %d of %d workers' caches" % (stored, nworkers))
    opened0 = metric('portal_db_breaker_changes_total{to="open"}')
    closed0 = metric('portal_db_breaker_changes_total{to="closed"}')
    uncached = lambda i: LIST + "?q=breaker%s%d" % (tag, i)  # noqa: E731 (never asked before)
    res = {}
    os.kill(dbpid, signal.SIGSTOP)
    try:
        wait_for(lambda: all_threads_stopped(dbpid), 5, 0.01)
        res["first"] = timed(uncached(0))
        res["next"] = [timed(uncached(i)) for i in range(1, 5)]
        res["page"] = [timed(page) for _ in range(3)]
        res["health"] = timed("/healthz")
        res["open"] = metric("portal_db_breaker_open")
    finally:
        t_cont = mono()
        os.kill(dbpid, signal.SIGCONT)

    def back():
        r, _ = timed(uncached(99))
        return not isinstance(r, Exception) and r.status == 200
    ok = wait_for(back, 10, 0.05)
    res["back"] = ok and mono() - t_cont
    res["closed"] = wait_for(lambda: metric('portal_db_breaker_changes_total{to="closed"}') > closed0, 5)
    res["opened"] = metric('portal_db_breaker_changes_total{to="open"}') - opened0
    E.update(res)

    def show(x):
        r, s = x
        return "%s in %.2f s" % (type(r).__name__ if isinstance(r, Exception) else r.status, s)
    print("# e: MariaDB frozen; first uncached request %s; next 4: %s" % (
        show(res["first"]), ", ".join(show(x) for x in res["next"])))
    print("# e: cached page: %s (Age %s); /healthz %s; breaker opened %d time(s); 200 again %.2f s "
          "after SIGCONT" % (", ".join(show(x) for x in res["page"]),
                             ", ".join(str(x[0].header("age")) for x in res["page"]
                                       if not isinstance(x[0], Exception)),
                             show(res["health"]), res["opened"], res["back"] or -1))


def e_fast_503():
    expect(E.get("next"), "the scenario did not run")
    for r, s in E["next"]:
        expect(not isinstance(r, Exception), "a request failed: %r" % (r,))
        expect(classify(r) == "core503", "an uncached GET while frozen: %s" % classify(r), r)
        expect(s < 1.5, "an uncached GET while frozen took %.2f s (>= 1.5 s)" % s, r)


def e_stale():
    expect(E.get("page"), "the scenario did not run")
    for r, s in E["page"]:
        expect(not isinstance(r, Exception), "the cached page failed: %r" % (r,))
        expect(r.status == 200, "the cached page while frozen: %d" % r.status, r)
        expect(r.header("age") is not None and r.header("age").isdigit(), "no Age header", r)
        expect(s < 1.5, "the cached page took %.2f s" % s, r)


def e_healthz():
    expect(E.get("health"), "the scenario did not run")
    r, s = E["health"]
    expect(not isinstance(r, Exception) and classify(r) == "core503",
           "/healthz while frozen: %r" % (getattr(r, "status", r),))
    expect(s < 1.5, "/healthz took %.2f s" % s)


def e_breaker_metrics():
    expect("opened" in E, "the scenario did not run")
    expect(E["open"] == 1, "portal_db_breaker_open was %r while frozen" % E["open"])
    expect(E["opened"] >= 1, "portal_db_breaker_changes_total{to=\"open\"} did not go up")
    expect(E["closed"], "portal_db_breaker_changes_total{to=\"closed\"} did not go up")


def e_recovery():
    expect("back" in E, "the scenario did not run")
    expect(E["back"] is not False and E["back"] is not None, "no 200 within 10 s of SIGCONT")


# --- d. write storm and kill -9 of the whole portal ------------------------------

D = {}


def body(name):
    return {
        "partner": {"name": name, "country": "LT"},
        "kind": "friendship",
        "status": "active",
        "start_date": "2001",
        "agreements": [
            {"kind": "letter_of_intent", "date": "2001", "title": name + " / 1"},
            {"kind": "friendship_agreement", "date": "2002-05", "title": name + " / 2",
             "signatories": ["A. Andersson", "B. Berg"]},
            {"kind": "cooperation_agreement", "date": "2003-06-07", "title": name + " / 3",
             "unit": "Kommunstyrelsen"},
        ],
    }


def same_agreements(posted, got):
    if not isinstance(got, list) or len(got) != len(posted):
        return False
    for p, g in zip(posted, got):
        if not isinstance(g, dict):
            return False
        for k, v in p.items():
            if g.get(k) != v:
                return False
        for k, v in g.items():
            if k not in p and v not in (None, [], {}):
                return False
    return True


def db_items(sql, run):
    """{id: (name, number of agreements)} of this run's partnerships, from SQL."""
    rows = sql.rows("SELECT p.id, p.partner_name, COUNT(a.id) FROM partnerships p "
                    "LEFT JOIN partnership_agreements a ON a.partnership_id = p.id "
                    "WHERE p.municipality = '%s' AND p.partner_name LIKE '%s%%' GROUP BY p.id"
                    % (M, run.replace("_", "\\_")))
    return {int(r[0]): (r[1], int(r[2])) for r in rows}


def d_run(sql):
    tok = create_token(M, "editor")
    D["token"] = tok
    # leftovers of an earlier run that was interrupted
    for i in db_items(sql, PREFIX):
        request("DELETE", "/api/v1/%s/partnerships/%d" % (M, i), token=tok)
    run = "%s%d-%d-" % (PREFIX, os.getpid(), int(time.time()))
    D["run"] = run
    mp = read_pid(PORTALD_PIDFILE)
    expect(alive(mp), "portald does not run")
    expect(wait_for(lambda: request("GET", "/healthz", timeout=10).status == 200, 10),
           "/healthz does not answer 200 before the storm")
    cap = Captured(mp, PORTALD_LOG)
    acked, unacked, early = [], [], []
    lock = threading.Lock()
    killed = threading.Event()

    def storm(tid):
        n = 0
        while not killed.is_set():
            n += 1
            name = "%s%d-%d" % (run, tid, n)
            b = body(name)
            before_kill = not killed.is_set()
            try:
                r = request("POST", "/api/v1/%s/partnerships" % M, body=b, token=tok, timeout=30)
                st, j, what = r.status, r.json, "%d %s" % (r.status, r.text[:200].strip())
            except Exception as e:
                st, j, what = None, None, "%s: %s" % (type(e).__name__, e)
            with lock:
                if st is not None and 200 <= st < 300 and isinstance(j, dict) and "id" in j:
                    acked.append((j["id"], name, b, j))
                elif killed.is_set() or not before_kill:
                    unacked.append((name, what))
                else:
                    early.append((name, what))

    threads = [threading.Thread(target=storm, args=(i,), daemon=True) for i in range(6)]
    for t in threads:
        t.start()
    wait_for(lambda: len(acked) >= 150, 5)
    workers = children(mp)
    st = proc_stat(mp)
    with lock:
        n_before = len(acked)
    # the flag first: a request that fails from here on was in flight at
    # the kill (set after it, a loaded machine could run a storm thread's
    # answer in between and count it as failing before the kill)
    killed.set()
    if st and st[2] == mp:
        os.killpg(mp, signal.SIGKILL)   # master and workers at once: none can fork in between
    else:
        os.kill(mp, signal.SIGKILL)
    for w in workers:
        try:
            os.kill(w, signal.SIGKILL)
        except ProcessLookupError:
            pass
    t_kill = mono()
    for t in threads:
        t.join(60)
    gone = wait_for(lambda: not any(alive(p) for p in [mp] + workers), 10)
    D.update(master=mp, workers=workers, acked=acked, unacked=unacked, early=early,
             n_before=n_before, gone=gone)
    expect(gone, "portald %d or its workers %r survived SIGKILL" % (mp, workers))
    newpid, up_s = start_portald(cap)
    D.update(newpid=newpid, up_s=up_s, down_s=mono() - t_kill)
    print("# d: %d POSTs acknowledged, %d failed around the kill (in flight), %d failed before it;"
          " killed master %d and workers %r; portald back as %d after %.2f s (down %.2f s)"
          % (len(acked), len(unacked), len(early), mp, workers, newpid, up_s, D["down_s"]))
    for name, what in unacked[:8]:
        print("#    in flight: %s: %s" % (name, what))
    D["db"] = db_items(sql, run)


def d_acked():
    acked = D.get("acked")
    expect(acked is not None and D.get("db") is not None, "the scenario did not run")
    expect(len(acked) >= 50, "only %d writes were acknowledged before the kill" % len(acked))
    expect(not D["early"], "%d writes failed before the kill: %r" % (len(D["early"]), D["early"][:3]))
    missing, differ = [], []
    for i, name, b, j in acked:
        r = request("GET", "/api/v1/%s/partnerships/%d" % (M, i), timeout=30)
        if r.status != 200:
            missing.append((i, name, r.status))
            continue
        g = r.json
        if not (isinstance(g, dict) and g.get("partner", {}).get("name") == name
                and same_agreements(b["agreements"], g.get("agreements")) and g == j):
            differ.append((i, name, r.text[:400], json.dumps(j)[:400]))
    print("# d: %d acknowledged items read back" % (len(acked) - len(missing)))
    expect(not missing, "%d acknowledged writes are not there: %r" % (len(missing), missing[:5]))
    expect(not differ, "%d items differ from the answer to their POST: %r" % (len(differ), differ[:2]))


def d_not_torn():
    db = D.get("db")
    expect(db is not None, "the scenario did not run")
    torn = {i: v for i, v in db.items() if v[1] != 3}
    expect(not torn, "partnerships without all of their 3 agreements: %r" % list(torn.items())[:5])
    posted = {name: b for _, name, b, _ in D["acked"]}
    for name, _ in D["unacked"]:
        posted.setdefault(name, body(name))
    bad = []
    for i, (name, n) in sorted(db.items()):
        r = request("GET", "/api/v1/%s/partnerships/%d" % (M, i), timeout=30)
        if r.status != 200 or not isinstance(r.json, dict) or name not in posted or \
                not same_agreements(posted[name]["agreements"], r.json.get("agreements")):
            bad.append((i, name, r.status, r.text[:300]))
    expect(not bad, "%d items do not answer with their agreements as posted: %r" % (len(bad), bad[:3]))


def d_counts(sql):
    db = D.get("db")
    expect(db is not None, "the scenario did not run")
    acked_ids = {i for i, _, _, _ in D["acked"]}
    extra = {i: v for i, v in db.items() if i not in acked_ids}
    inflight = {name for name, _ in D["unacked"]}
    print("# d: %d rows in the database for this run = %d acknowledged + %d of the %d in flight"
          % (len(db), len(acked_ids & set(db)), len(extra), len(inflight)))
    expect(acked_ids <= set(db), "acknowledged ids missing from the table: %r"
           % sorted(acked_ids - set(db))[:10])
    expect(len(extra) <= len(inflight), "%d unacknowledged rows, but only %d requests were in flight"
           % (len(extra), len(inflight)))
    strays = [v[0] for v in extra.values() if v[0] not in inflight]
    expect(not strays, "rows that no request in flight had sent: %r" % strays[:5])
    if db:
        rows = sql.rows("SELECT COUNT(DISTINCT item_id) FROM audit_log WHERE municipality = '%s' "
                        "AND module = 'partnerships' AND action = 'create' AND item_id IN (%s)"
                        % (M, ",".join(str(i) for i in sorted(db))))
        n = int(rows[0][0])
        expect(n == len(db), "%d of %d rows have their audit entry" % (n, len(db)))


def d_cleanup(sql):
    tok = D.get("token")
    expect(tok, "no token")
    ids = set(db_items(sql, PREFIX)) if D.get("run") else set()
    bad = []
    for i in sorted(ids):
        r = request("DELETE", "/api/v1/%s/partnerships/%d" % (M, i), token=tok, timeout=30)
        if r.status not in (204, 404):
            bad.append((i, r.status))
    left = db_items(sql, PREFIX)
    r = portalctl("token", "revoke", token_id(tok))
    expect(r.returncode == 0, "portalctl token revoke: %s" % r.stderr.strip())
    print("# d: %d faulttest items deleted" % len(ids))
    expect(not bad and not left, "cleanup: DELETE failed for %r; left %r" % (bad[:5], list(left)[:5]))


# --- the stack afterwards ----------------------------------------------------------

def restore_stack(caps):
    """Whatever a failed case left behind: MariaDB stopped or missing, portald
    missing.  Only what this test changed is touched."""
    notes = []
    dbpid = read_pid(MARIADB_PIDFILE)
    st = proc_stat(dbpid) if dbpid else None
    if st and st[0] == "T":
        os.kill(dbpid, signal.SIGCONT)
        notes.append("mariadbd %d continued" % dbpid)
    if not alive(dbpid) and caps.get("mariadb"):
        pid, _ = start_mariadb(caps["mariadb"])
        notes.append("mariadbd started again as %d" % pid)
    mp = read_pid(PORTALD_PIDFILE)
    if not alive(mp) and caps.get("portald"):
        pid, _ = start_portald(caps["portald"])
        notes.append("portald started again as %d" % pid)
    return notes


def healthy_afterwards():
    mp, dbpid = read_pid(PORTALD_PIDFILE), read_pid(MARIADB_PIDFILE)
    expect(alive(mp), "portald.pid names %r, which does not run" % mp)
    expect(alive(dbpid), "mariadb.pid names %r, which does not run" % dbpid)
    expect(children(mp), "portald %d has no workers" % mp)
    r = request("GET", "/healthz", timeout=10)
    expect(r.status == 200, "healthz %d" % r.status, r)
    r = request("GET", LIST, timeout=10)
    expect(r.status == 200, "GET %s: %d" % (LIST, r.status), r)


def main():
    global CORE, DB
    t = Tap()
    if not PORTAL_VAR or not PORTAL_CONF or not os.path.exists(PORTALD_PIDFILE) \
            or not os.path.exists(MARIADB_PIDFILE):
        print("1..0 # skip no stack (PORTAL_VAR/run/{portald,mariadb}.pid, PORTAL_CONF)")
        return 0
    CORE, DB = read_conf()
    if not DB.get("socket"):
        print("1..0 # skip database.socket not set in %s" % PORTAL_CONF)
        return 0
    t0 = mono()
    # run.sh's timeout sends SIGTERM: leave through the finally below, which
    # continues or starts MariaDB and portald again
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # how to start both again, should a case fail half-way
    caps = {"mariadb": Captured(read_pid(MARIADB_PIDFILE), MARIADB_LOG),
            "portald": Captured(read_pid(PORTALD_PIDFILE), PORTALD_LOG)}
    sql = Sql()
    try:
        t.check("a: kill -9 of a worker under load (scenario)", a_run)
        t.check("a: the master starts a new worker within 1.5 s and survives", a_restarted)
        t.check("a: at most the killed worker's one request failed, the rest answered 200",
                a_failures)
        t.check("a: the log names the worker and the signal", a_log)
        t.check("a: portal_worker_restarts_total went up", a_metrics)
        for n in restore_stack(caps):
            print("# restored: " + n)

        t.check("b: MariaDB frozen with SIGSTOP under load (scenario)", b_run)
        t.check("b: only portald's 503 problem+json with Retry-After, each within 25 s, no nginx 502/504",
                b_503)
        t.check("b: /healthz answers 503 while MariaDB is frozen", b_healthz)
        t.check("b: after SIGCONT a 200 within 2 s, same master and workers", b_recovery)
        for n in restore_stack(caps):
            print("# restored: " + n)

        t.check("c: MariaDB stopped, then started as stack.sh does (scenario)", c_run)
        if C.get("cap"):
            caps["mariadb"] = C["cap"]
        t.check("c: while MariaDB is down, 503 problem+json with Retry-After at once", c_down)
        t.check("c: 200 within 2 s of MariaDB's socket answering, portald not restarted", c_back)
        for n in restore_stack(caps):
            print("# restored: " + n)

        t.check("d: write storm, kill -9 of master and workers, portald started again (scenario)",
                d_run, sql)
        t.check("d: every acknowledged write reads back as it was answered", d_acked)
        t.check("d: no partnership is torn: 3 agreements as posted, or no row", d_not_torn)
        t.check("d: rows = acknowledged + at most the requests in flight, each audited",
                d_counts, sql)
        t.check("d: the faulttest items are deleted", d_cleanup, sql)
        for n in restore_stack(caps):
            print("# restored: " + n)

        t.check("e: a page in every worker's cache, MariaDB frozen, requests timed (scenario)", e_run)
        t.check("e: after the first, 4 uncached GETs answer portald's 503 within 1.5 s each",
                e_fast_503)
        t.check("e: the cached page answers 200 with Age (stale-if-error)", e_stale)
        t.check("e: /healthz answers 503 within 1.5 s", e_healthz)
        t.check("e: /metrics shows the breaker open, then counts it opening and closing",
                e_breaker_metrics)
        t.check("e: after SIGCONT a 200 within 10 s", e_recovery)
    finally:
        try:
            for n in restore_stack(caps):
                print("# restored: " + n)
        finally:
            sql.close()
    t.check("the stack is whole afterwards: MariaDB and portald run under their pid files, 200",
            healthy_afterwards)
    print("# fault tests took %.1f s" % (mono() - t0))
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
