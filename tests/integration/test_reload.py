#!/usr/bin/env python3
"""test_reload.py - SIGHUP re-reads the configuration and replaces the
workers without failing a request; a broken configuration is refused and
the old one keeps serving.  Runs against the stack of tests/run.sh.
"""
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helpers import (PORTAL_CONF, PORTAL_VAR, Fail, Tap, expect, request)  # noqa: E402

PIDFILE = os.path.join(PORTAL_VAR, "run", "portald.pid")
LOG = os.path.join(PORTAL_VAR, "log", "portald.log")


def master_pid():
    with open(PIDFILE) as f:
        return int(f.read().strip())


def workers(pid):
    """The master's children (the workers)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return sorted(out)


def log_size():
    return os.path.getsize(LOG)


def log_since(offset):
    with open(LOG, "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def wait_for(cond, seconds=10.0):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


class Load:
    """Threads reading a list as fast as they can; counts the answers."""

    def __init__(self, n=4):
        self.stop = False
        self.ok = 0
        self.bad = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(n)]

    def run(self):
        while not self.stop:
            try:
                r = request("GET", "/api/v1/borlange/partnerships", query={"limit": "3"}, timeout=15)
                good = r.status == 200
                what = r.status
            except Exception as e:  # a reset connection is a failure too
                good, what = False, repr(e)
            with self.lock:
                if good:
                    self.ok += 1
                else:
                    self.bad.append(what)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *a):
        self.stop = True
        for t in self.threads:
            t.join()


def t_reload_under_load():
    pid = master_pid()
    before = workers(pid)
    expect(len(before) >= 1, "no workers found under master %d" % pid)
    off = log_size()
    with Load() as load:
        time.sleep(0.5)
        for _ in range(3):
            os.kill(pid, signal.SIGHUP)
            time.sleep(0.7)
        # keep the load on until the third reload is done: a sanitizer build
        # on a busy machine can take longer than the 0.7 s between signals
        wait_for(lambda: log_since(off).count("reloaded:") >= 3, 30)
        time.sleep(0.5)
    expect(load.ok > 20, "only %d requests answered during the reloads" % load.ok)
    expect(not load.bad, "%d of %d requests failed during the reloads: %r"
           % (len(load.bad), load.ok + len(load.bad), load.bad[:5]))
    log = log_since(off)
    expect(log.count("reloaded:") == 3, "expected 3 'reloaded:' lines in the log, got:\n" + log[-2000:])
    expect(wait_for(lambda: len(workers(pid)) == len(before)),
           "worker count after reload is %d, was %d" % (len(workers(pid)), len(before)))
    after = workers(pid)
    expect(not set(after) & set(before), "old workers %r still running" % (set(after) & set(before)))
    expect(master_pid() == pid, "the master changed")


def t_broken_config_refused():
    pid = master_pid()
    with open(PORTAL_CONF, encoding="utf-8") as f:
        good = f.read()
    off = log_size()
    before = workers(pid)
    try:
        with open(PORTAL_CONF, "w", encoding="utf-8") as f:
            f.write(good.replace("core:", "core: { workers = \"many\"; };\ncore_broken:", 1))
        os.kill(pid, signal.SIGHUP)
        expect(wait_for(lambda: "reload refused" in log_since(off)),
               "no 'reload refused' in the log:\n" + log_since(off)[-2000:])
        log = log_since(off)
        expect(PORTAL_CONF in log, "the refusal does not name the file:\n" + log[-2000:])
        r = request("GET", "/api/v1/borlange/partnerships")
        expect(r.status == 200, "after a refused reload GET answered %d" % r.status, r)
        expect(workers(pid) == before, "a refused reload replaced the workers")
    finally:
        with open(PORTAL_CONF, "w", encoding="utf-8") as f:
            f.write(good)
    off = log_size()
    os.kill(pid, signal.SIGHUP)
    expect(wait_for(lambda: "reloaded:" in log_since(off)), "the good configuration did not reload")
    r = request("GET", "/healthz")
    expect(r.status == 200, "healthz after reload: %d" % r.status, r)


def main():
    t = Tap()
    if not os.path.exists(PIDFILE) or not PORTAL_CONF:
        print("1..0 # skip no stack (PORTAL_VAR/run/portald.pid, PORTAL_CONF)")
        return 0
    t.check("SIGHUP three times under load: every request answered 200, workers replaced",
            t_reload_under_load)
    t.check("a broken configuration is refused with file:line and the old one keeps serving",
            t_broken_config_refused)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
