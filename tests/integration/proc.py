"""proc.py - processes and ports for the integration tests that stop,
kill and start parts of a stack (test_faults, test_supervise,
test_replica).  Reads no environment (helpers.py does), so a test can use
it before it sets up the environment helpers reads."""
import os
import socket
import time


def mono():
    return time.monotonic()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def proc_stat(pid):
    """(state, ppid, pgrp) of a process, None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1]), int(fields[2])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid):
    """Runs (a zombie, which a container's init may never reap, does not)."""
    s = proc_stat(pid) if pid else None
    return s is not None and s[0] not in ("Z", "X")


def _live(match):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            s = proc_stat(int(d))
            if s and match(s) and s[0] not in ("Z", "X"):
                out.append(int(d))
    return sorted(out)


def children(pid):
    """The live children of pid (portald's workers and probe), sorted."""
    return _live(lambda s: s[1] == pid)


def group_members(pgid):
    """The live processes of process group pgid, sorted."""
    return _live(lambda s: s[2] == pgid)


def wait_for(cond, seconds, step=0.02):
    """cond() until it is true or `seconds` have passed; its last value."""
    end = mono() + seconds
    while True:
        v = cond()
        if v or mono() >= end:
            return v
        time.sleep(step)
