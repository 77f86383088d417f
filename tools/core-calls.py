#!/usr/bin/env python3
"""core-calls.py BUILD_CORE_DIR [--layers A,B,...] [-v]: the calls between
the core's files.

Reads the symbols each object file in BUILD_CORE_DIR (e.g. build/core)
defines and uses (nm), makes the graph "file A calls file B" and prints
every circle in it (a strongly connected component of more than one file):
`core/` is built in layers, and no two files may call each other, directly
or through others.  With --layers (the subfolders of core/, lowest first),
a call from a file to a file in a higher layer is an error too.  Exits 1
when there is a circle or such a call.  -v prints every edge.  Only the
standard library and binutils' nm.
"""
import collections
import os
import subprocess
import sys

GENERATED = {"schema_sql", "openapi_json", "assets"}


def graph(bdir, layers=None):
    """With layers, only the objects in those subfolders (an object left
    at the top by a build from before the layers is not the core's)."""
    defs, uses = {}, collections.defaultdict(set)
    for dirpath, _, files in os.walk(bdir):
        for f in files:
            if not f.endswith(".o"):
                continue
            name = os.path.relpath(os.path.join(dirpath, f), bdir)[:-2]
            if os.path.basename(name) in GENERATED:
                continue
            if layers is not None and ("/" not in name or name.split("/", 1)[0] not in layers):
                continue
            out = subprocess.run(["nm", os.path.join(dirpath, f)], capture_output=True,
                                 text=True, check=True).stdout
            for ln in out.splitlines():
                p = ln.split()
                if len(p) == 3 and p[1] in "TDBR":
                    defs[p[2]] = name
                elif len(p) == 2 and p[0] == "U":
                    uses[name].add(p[1])
    edges = collections.defaultdict(set)
    for f, us in uses.items():
        edges[f]  # every file is a node
        for u in us:
            if u in defs and defs[u] != f:
                edges[f].add(defs[u])
    return edges


def circles(edges):
    """Tarjan's strongly connected components, iteratively."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    order = None
    if "--layers" in sys.argv:
        order = sys.argv[sys.argv.index("--layers") + 1].split(",")
    edges = graph(sys.argv[1], order)
    if "-v" in sys.argv:
        for f in sorted(edges):
            print("%s -> %s" % (f, " ".join(sorted(edges[f])) or "-"))
    found = circles(edges)
    for comp in found:
        print("circle: " + " ".join(comp))
        for f in comp:
            print("  %s -> %s" % (f, " ".join(sorted(x for x in edges[f] if x in comp))))
    upward = []
    if order is not None:
        def rank(f):
            top = f.split("/", 1)[0] if "/" in f else ""
            return order.index(top) if top in order else -1
        for f in sorted(edges):
            if rank(f) < 0:
                upward.append("%s is in no layer (%s)" % (f, ", ".join(order)))
            for g in sorted(edges[f]):
                if rank(f) >= 0 and rank(g) > rank(f):
                    upward.append("%s calls %s, a higher layer" % (f, g))
        for u in upward:
            print(u)
    print("%d files, %d calls between files, %d circle(s), %d call(s) against the layers"
          % (len(edges), sum(len(v) for v in edges.values()), len(found), len(upward)))
    return 1 if found or upward else 0


if __name__ == "__main__":
    sys.exit(main())
