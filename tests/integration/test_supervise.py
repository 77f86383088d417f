#!/usr/bin/env python3
"""test_supervise.py - `make run`'s supervisor (scripts/run.sh) rides out its
parts dying (issue 13).

It does not use the stack of tests/run.sh: it starts scripts/run.sh itself,
as `make run` does, on a PORTAL_VAR of its own in a temporary directory, a
free loopback port and a MariaDB on a free loopback port too (STACK_DB_PORT,
as tests/run.sh), without the demo data.  Then:

  a. an admin token (portalctl); a writer POSTs partnerships (3 agreements
     each) one after the other, all through the case;
  b. kill -9 of MariaDB: nginx and portald keep answering (portald's own 503
     problem+json with Retry-After for the writes and /healthz, never
     nginx's "not answering" page, a 502/504 or a refused connection);
     neither portald nor nginx is restarted; the supervisor says that
     mariadbd exited and starts it again; 200 within 60 s of the kill; every
     write that got a 201 is there afterwards, with its 3 agreements; killed
     again at once, it is started again after 2 s of back-off (not 1 s);
  c. kill -9 of nginx's master, then of portald's master: each is logged,
     started again (a new pid), what it left (nginx's workers, portald's
     workers) is gone, and /healthz answers 200 within 30 s;
  d. SIGTERM to the supervisor: it exits (143) within 90 s, and no process
     of the stack is left, nor a pid file; with SAN=1, no sanitizer report
     in this stack's logs.

Every wait is bounded; on any failure or interruption the supervisor is
stopped, then `stack.sh stop` on the same PORTAL_VAR, and the directory is
removed.  The times printed are fault-path bounds on a shared machine, not
performance figures.  About 45 s.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from proc import alive, free_port, group_members, mono, proc_stat, wait_for  # noqa: E402




PORT = free_port()
DB_PORT = free_port()
while DB_PORT == PORT:
    DB_PORT = free_port()
# short: the unix sockets under it must fit in sun_path
TMP = tempfile.mkdtemp(prefix="portal-sup.", dir="/tmp")
VAR = os.path.join(TMP, "var")
B = os.path.abspath(os.path.join(ROOT, os.environ.get("B", "build")))

# helpers reads these when imported: this stack, not tests/run.sh's
os.environ["PORTAL_URL"] = "http://127.0.0.1:%d" % PORT
os.environ["PORTAL_CONF"] = os.path.join(VAR, "portal.conf")
os.environ["PORTALCTL"] = os.path.join(B, "portalctl")
os.environ["PORTAL_VAR"] = VAR
sys.path.insert(0, HERE)
from helpers import Fail, Tap, create_token, expect, request  # noqa: E402

RUN = os.path.join(VAR, "run")
LOG = os.path.join(VAR, "log")
SUP_LOG = os.path.join(TMP, "run.sh.log")
PIDFILES = {"mariadbd": "mariadb.pid", "portald": "portald.pid", "nginx": "nginx.pid"}
M = "herrljunga"
NGINX_503 = "the portal is not answering"   # nginx.conf.example's own 503 page
SAN_REPORT = re.compile(r"==[0-9]+==ERROR: [A-Za-z]+Sanitizer|runtime error:")   # as tests/run.sh

S = {"sup": None, "seen_groups": set(), "seen_pids": set()}










def read_pid(name):
    try:
        with open(os.path.join(RUN, PIDFILES[name])) as f:
            s = f.read().strip()
        return int(s) if s.isdigit() else None
    except OSError:
        return None


def running_pid(name):
    """The pid in NAME's pid file when that process runs, and remember it."""
    p = read_pid(name)
    if p and alive(p):
        S["seen_pids"].add(p)
        st = proc_stat(p)
        if st:
            S["seen_groups"].add(st[2])
        return p
    return None




def sup_log():
    try:
        with open(SUP_LOG, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def tail(path, n=20):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no %s)" % path


def status(path, timeout=5, token=None, method="GET", body=None):
    """(status or None, Resp or error text)"""
    try:
        r = request(method, path, token=token, body=body, timeout=timeout)
        return r.status, r
    except Exception as e:  # refused, reset, timed out
        return None, "%s: %s" % (type(e).__name__, e)


def portald_503(r):
    """portald's own 503: problem+json, status 503, Retry-After; not nginx's page."""
    if r is None or isinstance(r, str) or r.status != 503:
        return False
    p = r.json if isinstance(r.json, dict) else {}
    return (r.ctype == "application/problem+json" and p.get("status") == 503
            and bool(r.header("retry-after")) and NGINX_503 not in str(p.get("detail", "")))


def healthy():
    return status("/healthz")[0] == 200


# --- setup -------------------------------------------------------------------

def start():
    env = dict(os.environ)
    for k in ("PORTAL_URL", "PORTAL_CONF", "PORTALCTL", "PORTAL_ADMIN_TOKEN", "PORTAL_DB_PORT"):
        env.pop(k, None)
    env.update(PORTAL_VAR=VAR, PORT=str(PORT), B=B, STACK_DB_PORT=str(DB_PORT),
               PORTAL_NO_DEMO="1", MUNICIPALITIES=os.path.join(ROOT, "conf", "demo.conf"))
    log = open(SUP_LOG, "wb")
    t0 = mono()
    S["sup"] = subprocess.Popen(["sh", os.path.join(ROOT, "scripts", "run.sh")], cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    log.close()
    up = wait_for(lambda: S["sup"].poll() is not None or healthy(), 240, 0.25)
    expect(S["sup"].poll() is None,
           "scripts/run.sh exited (%s) while starting:\n%s" % (S["sup"].returncode, sup_log()[-3000:]))
    expect(up, "no 200 from /healthz within 240 s:\n" + sup_log()[-3000:])
    for n in PIDFILES:
        expect(running_pid(n), "%s does not run after the start" % n)
    print("# the supervised stack is up on port %d after %.1f s (%s)" % (PORT, mono() - t0, VAR))
    S["token"] = create_token("*", "admin")


# --- a. the writer -----------------------------------------------------------

def body(name):
    return {
        "partner": {"name": name, "country": "LT"},
        "kind": "friendship",
        "status": "active",
        "start_date": "2001",
        "agreements": [
            {"kind": "letter_of_intent", "date": "2001", "title": name + " / 1"},
            {"kind": "friendship_agreement", "date": "2002-05", "title": name + " / 2"},
            {"kind": "cooperation_agreement", "date": "2003-06-07", "title": name + " / 3"},
        ],
    }


class Writer(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.acked = []      # (id, name)
        self.refused = []    # (time, status or error, is portald's 503)
        self.n = 0

    def run(self):
        run = "suptest-%d-" % os.getpid()
        while not self.stop.is_set():
            self.n += 1
            name = "%s%d" % (run, self.n)
            st, r = status("/api/v1/%s/partnerships" % M, timeout=30, token=S["token"],
                           method="POST", body=body(name))
            if st == 201 and isinstance(r.json, dict) and "id" in r.json:
                self.acked.append((r.json["id"], name))
            else:
                self.refused.append((mono(), st if st else r, portald_503(r)))
                time.sleep(0.05)


def a_writes():
    w = Writer()
    S["writer"] = w
    w.start()
    expect(wait_for(lambda: len(w.acked) >= 20 or not w.is_alive(), 60),
           "fewer than 20 writes acknowledged in 60 s (%d; refused: %r)"
           % (len(w.acked), w.refused[:3]))
    expect(not w.refused, "writes refused before any fault: %r" % w.refused[:3])


# --- b. kill -9 MariaDB --------------------------------------------------------

def b_run():
    w = S["writer"]
    db, pd, ng = running_pid("mariadbd"), running_pid("portald"), running_pid("nginx")
    expect(db and pd and ng, "not all of the stack runs before the kill")
    S.update(b_db=db, b_portald=pd, b_nginx=ng)
    n_acked = len(w.acked)
    log_at = len(sup_log())
    answers = []   # (t, what): every probe meanwhile
    os.kill(db, signal.SIGKILL)
    t0 = mono()
    back = None
    while mono() - t0 < 60:
        st, r = status("/healthz", timeout=5)
        answers.append((mono() - t0, "healthz", st, portald_503(r), r))
        st2, r2 = status("/api/v1/%s/partnerships" % M, timeout=5, token=S["token"])
        answers.append((mono() - t0, "list", st2, portald_503(r2), r2))
        if st == 200 and st2 == 200 and mono() - t0 > 0.5:
            back = mono() - t0
            break
        time.sleep(0.1)
    S.update(b_answers=answers, b_back=back, b_log_at=log_at,
             b_refused=[x for x in w.refused if x[0] >= t0], b_acked_before=n_acked)
    n503 = sum(1 for a in answers if a[3])
    print("# b: MariaDB (pid %d) killed; %d probes, %d of them portald's 503; back (200) after %s"
          % (db, len(answers), n503, "%.1f s" % back if back is not None else "NOT within 60 s"))
    expect(back is not None, "no 200 from /healthz and the list within 60 s of the kill")


def b_stays_up():
    answers = S.get("b_answers")
    expect(answers, "the scenario did not run")
    bad = [(round(t, 2), what, st, r if isinstance(r, str) else r.text[:200])
           for t, what, st, is503, r in answers if st != 200 and not is503]
    expect(not bad, "answers other than 200 or portald's 503 while MariaDB was gone: %r" % bad[:5])
    expect(alive(S["b_portald"]) and read_pid("portald") == S["b_portald"],
           "portald was restarted (pid %s, was %d)" % (read_pid("portald"), S["b_portald"]))
    expect(alive(S["b_nginx"]) and read_pid("nginx") == S["b_nginx"],
           "nginx was restarted (pid %s, was %d)" % (read_pid("nginx"), S["b_nginx"]))


def b_503():
    answers = S.get("b_answers")
    expect(answers, "the scenario did not run")
    seen = [a for a in answers if a[3]] + [x for x in S["b_refused"] if x[2]]
    expect(seen, "no 503 problem+json with Retry-After while MariaDB was gone (probes: %r)"
           % [(round(a[0], 2), a[1], a[2]) for a in answers[:8]])
    w = [x for x in S["b_refused"] if not x[2]]
    expect(not w, "writes answered other than portald's 503 meanwhile: %r" % w[:3])
    print("# b: %d refused writes (503) while MariaDB was gone" % len(S["b_refused"]))


def log_has(want, since, seconds=30):
    """The lines the supervisor has not printed (yet: each wait bounded)."""
    wait_for(lambda: all(x in sup_log()[since:] for x in want), seconds, 0.2)
    log = sup_log()[since:]
    return [x for x in want if x not in log], log


def b_logged():
    expect("b_log_at" in S, "the scenario did not run")
    want = ["mariadbd (pid %d) exited" % S["b_db"], "starting mariadbd again", "mariadbd is back"]
    missing, log = log_has(want, S["b_log_at"])
    expect(not missing, "the supervisor's output lacks %r:\n%s" % (missing, log[-2000:]))
    db = running_pid("mariadbd")
    expect(db and db != S["b_db"], "no new mariadbd (pid file: %s)" % read_pid("mariadbd"))


def b_nothing_lost():
    w = S["writer"]
    # a few more writes after the recovery, then stop
    n = len(w.acked)
    wait_for(lambda: len(w.acked) >= n + 5, 30)
    w.stop.set()
    w.join(40)
    expect(not w.is_alive(), "the writer did not stop")
    expect(len(w.acked) > S["b_acked_before"], "no write acknowledged after the recovery")
    missing, torn = [], []
    for i, name in w.acked:
        st, r = status("/api/v1/%s/partnerships/%s" % (M, i), timeout=30, token=S["token"])
        if st != 200 or not isinstance(r.json, dict) or r.json.get("partner", {}).get("name") != name:
            missing.append((i, name, st))
        elif len(r.json.get("agreements") or []) != 3:
            torn.append((i, name))
    print("# b: %d acknowledged writes (%d before the kill), all read back: %s"
          % (len(w.acked), S["b_acked_before"], "yes" if not missing else "NO"))
    expect(not missing, "%d acknowledged writes are not there: %r" % (len(missing), missing[:5]))
    expect(not torn, "items without their 3 agreements: %r" % torn[:5])


def b_backoff():
    """MariaDB killed again soon after its restart: the supervisor waits 2 s
    this time (1 s the first time), and it comes back again."""
    expect("b_log_at" in S, "the scenario did not run")
    db = running_pid("mariadbd")
    expect(db, "mariadbd does not run")
    log_at = len(sup_log())
    os.kill(db, signal.SIGKILL)
    t0 = mono()
    back = wait_for(lambda: running_pid("mariadbd") not in (None, db) and healthy(), 60, 0.2)
    took = mono() - t0
    print("# b: MariaDB killed again (pid %d): back after %s" % (db, "%.1f s" % took if back else "NOT within 60 s"))
    want = ["mariadbd (pid %d) exited; restarting it in 2s" % db, "mariadbd is back"]
    missing, log = log_has(want, log_at)
    expect(not missing, "the supervisor's output lacks %r:\n%s" % (missing, log[-2000:]))
    expect(back, "MariaDB not back (200) within 60 s of the second kill")


# --- c. kill -9 nginx's and portald's masters --------------------------------

def kill_master(name):
    pid = running_pid(name)
    expect(pid, "%s does not run" % name)
    st = proc_stat(pid)
    members = group_members(st[2]) if st and st[2] == pid else [pid]
    log_at = len(sup_log())
    os.kill(pid, signal.SIGKILL)
    t0 = mono()
    newpid = wait_for(lambda: (lambda p: p if p and p != pid else None)(running_pid(name)), 60, 0.1)
    up = wait_for(healthy, 30, 0.1) if newpid else False
    took = mono() - t0
    print("# c: %s's master %d killed (group %r); new %s pid %s, /healthz 200 after %.1f s"
          % (name, pid, members, name, newpid, took))
    expect(newpid, "%s was not started again within 60 s:\n%s" % (name, sup_log()[log_at:][-2000:]))
    expect(up, "/healthz not 200 within 30 s of the new %s" % name)
    want = ["%s (pid %d) exited" % (name, pid), "%s is back" % name]
    missing, log = log_has(want, log_at)
    expect(not missing, "the supervisor's output lacks %r:\n%s" % (missing, log[-2000:]))
    gone = wait_for(lambda: not [p for p in members if alive(p)], 10)
    expect(gone, "processes of the killed %s left: %r" % (name, [p for p in members if alive(p)]))


def c_nginx():
    kill_master("nginx")


def c_portald():
    kill_master("portald")


# --- d. SIGTERM ----------------------------------------------------------------

def stack_processes():
    """Processes still running of what the stack started: by our directory in
    their command line, or in a process group of a master we saw."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        p = int(d)
        st = proc_stat(p)
        if not st or st[0] in ("Z", "X"):
            continue
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if p == os.getpid():
            continue
        if TMP in cmd or st[2] in S["seen_groups"] or p in S["seen_pids"]:
            out.append((p, cmd.strip()[:120]))
    return out


def d_sigterm():
    for n in PIDFILES:
        running_pid(n)
    sup = S["sup"]
    expect(sup.poll() is None, "the supervisor is not running (%s)" % sup.returncode)
    sup.send_signal(signal.SIGTERM)
    t0 = mono()
    try:
        rc = sup.wait(90)
    except subprocess.TimeoutExpired:
        rc = None
    took = mono() - t0
    print("# d: the supervisor exited %s after %.1f s" % (rc, took))
    expect(rc is not None, "the supervisor did not exit within 90 s of SIGTERM")
    expect(rc == 143, "exit status %s, not 143" % rc)
    left = wait_for(lambda: not stack_processes(), 10)
    expect(left, "processes left after SIGTERM: %r" % stack_processes())
    pidfiles = [f for f in PIDFILES.values() if os.path.exists(os.path.join(RUN, f))]
    expect(not pidfiles, "pid files left: %r" % pidfiles)
    expect("got SIGTERM, stopping" in sup_log(), "the supervisor did not say it stops")


def d_sanitizers():
    """SAN=1 (make test SAN=1): no sanitizer report in this stack's logs
    (tests/run.sh counts only its own stack's)."""
    found = []
    for f in ("portald.log", "portalctl.log"):
        try:
            with open(os.path.join(LOG, f), encoding="utf-8", errors="replace") as fh:
                for ln in fh:
                    if SAN_REPORT.search(ln):
                        found.append("%s: %s" % (f, ln.strip()[:200]))
        except OSError:
            pass
    expect(not found, "sanitizer reports:\n" + "\n".join(found[:10]))


# --- cleanup -------------------------------------------------------------------

def cleanup():
    w = S.get("writer")
    if w:
        w.stop.set()
    sup = S["sup"]
    if sup is not None and sup.poll() is None:
        sup.send_signal(signal.SIGTERM)
        try:
            sup.wait(90)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(sup.pid, signal.SIGKILL)
            except OSError:
                pass
            sup.wait(10)
    if os.path.isdir(RUN) and any(os.path.exists(os.path.join(RUN, f)) for f in PIDFILES.values()):
        subprocess.run(["sh", os.path.join(ROOT, "scripts", "stack.sh"), "stop"], cwd=ROOT,
                       env=dict(os.environ, PORTAL_VAR=VAR, PORT=str(PORT), B=B),
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)
    if os.environ.get("KEEP") == "1":
        print("# kept %s (KEEP=1)" % TMP)
    else:
        subprocess.run(["rm", "-rf", TMP])


def main():
    t = Tap()
    for c in ("mariadbd", "nginx"):
        if subprocess.run(["sh", "-c", "PATH=$PATH:/usr/sbin:/sbin command -v " + c],
                          stdout=subprocess.DEVNULL).returncode != 0:
            print("1..0 # skip %s not installed" % c)
            return 0
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    try:
        if not t.check("scripts/run.sh starts the stack on its own PORTAL_VAR and port %d" % PORT,
                       start):
            t.diag(sup_log()[-3000:])
            return t.done()
        t.check("20 writes acknowledged before any fault", a_writes)
        if "writer" in S:
            t.check("kill -9 MariaDB: 200 again within 60 s", b_run)
            t.check("meanwhile only 200s and portald's own 503s; portald and nginx not restarted",
                    b_stays_up)
            t.check("meanwhile 503 problem+json with Retry-After for what needs the database",
                    b_503)
            t.check("the supervisor says mariadbd exited, starts it again, and it is back",
                    b_logged)
            t.check("every acknowledged write is there after MariaDB's restart", b_nothing_lost)
            t.check("kill -9 MariaDB again at once: restarted after a longer back-off (2 s)",
                    b_backoff)
        t.check("kill -9 nginx's master: started again, its workers gone, 200 within 30 s",
                c_nginx)
        t.check("kill -9 portald's master: started again, its workers gone, 200 within 30 s",
                c_portald)
        t.check("SIGTERM: the supervisor stops everything (no process, no pid file left)",
                d_sigterm)
        if os.environ.get("SAN") == "1":
            t.check("no sanitizer report in this stack's logs", d_sanitizers)
        if t.failed:
            t.diag("---- the supervisor's output (end)")
            t.diag(sup_log()[-4000:])
            for f in ("portald.log", "nginx-error.log", "mariadb.log"):
                t.diag("---- " + f)
                t.diag(tail(os.path.join(LOG, f)))
    finally:
        cleanup()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
