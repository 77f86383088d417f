#!/usr/bin/env python3
"""map-outline.py - writes core/web/map/europe.txt, the country outlines under
the partner-town maps, from Natural Earth's admin-0 countries as the npm
package `world-atlas` ships them (TopoJSON).  Run once by hand; the build
only embeds the text it writes, so it needs neither npm nor the network:

    cd /tmp && npm pack world-atlas && tar xzf world-atlas-*.tgz
    python3 tools/map-outline.py /tmp/package/countries-110m.json > core/web/map/europe.txt

Each country's rings are clipped to the box below (Sutherland-Hodgman
against each side; the edges it adds along the box are hidden by the map's
frame) and written as longitude/latitude in hundredths of a degree, one
ring a line.  The projection is the server's (core/web/pages.c), not ours.
Python 3 standard library only.
"""
import json
import sys

# west, south, east, north: Europe from Iceland to the Urals' foothills and
# from Crete to the North Cape, which holds every partner town of the demo
# data except the two in China (those are listed beside the map instead).
BOX = (-25.0, 34.0, 45.0, 72.0)


def decode_arcs(topo):
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)
    return arcs


def ring_of(arcs, idxs):
    ring = []
    for i in idxs:
        pts = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        ring.extend(pts if not ring else pts[1:])
    return ring


def unwrap(ring):
    """A ring that crosses the antimeridian (Russia's, in this data) jumps
    from +180 to -180; shifted by 360 degrees after each jump it runs on,
    so that clipping does not draw a band across the whole box."""
    out, shift = [], 0.0
    for k, (lon, lat) in enumerate(ring):
        if k and abs(lon + shift - out[-1][0]) > 180:
            shift += 360.0 if lon + shift < out[-1][0] else -360.0
        out.append((lon + shift, lat))
    return out


def clip(ring, inside, cross):
    out = []
    for k, cur in enumerate(ring):
        prev = ring[k - 1]
        if inside(cur):
            if not inside(prev):
                out.append(cross(prev, cur))
            out.append(cur)
        elif inside(prev):
            out.append(cross(prev, cur))
    return out


def clip_box(ring):
    w, s, e, n = BOX

    def at_x(x):
        return lambda a, b: (x, a[1] + (b[1] - a[1]) * (x - a[0]) / (b[0] - a[0]))

    def at_y(y):
        return lambda a, b: (a[0] + (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]), y)

    for inside, cross in ((lambda p: p[0] >= w, at_x(w)), (lambda p: p[0] <= e, at_x(e)),
                          (lambda p: p[1] >= s, at_y(s)), (lambda p: p[1] <= n, at_y(n))):
        if not ring:
            break
        ring = clip(ring, inside, cross)
    return ring


def main():
    topo = json.load(open(sys.argv[1], encoding="utf-8"))
    arcs = decode_arcs(topo)
    rings = []
    for g in topo["objects"]["countries"]["geometries"]:
        polys = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]] if g["type"] == "Polygon" else []
        for poly in polys:
            for idxs in poly:
                r = clip_box(unwrap(ring_of(arcs, idxs)))
                q = []
                for lon, lat in r:
                    p = (round(lon * 100), round(lat * 100))
                    if not q or q[-1] != p:
                        q.append(p)
                if len(q) > 1 and q[0] == q[-1]:
                    q.pop()
                if len(q) >= 3:
                    rings.append(q)
    w, s, e, n = BOX
    print("# Country outlines for the partner-town maps: Natural Earth 1:110m admin-0")
    print("# countries (version 4.1.0, via the npm package world-atlas 2.0.2,")
    print("# countries-110m.json).  Natural Earth is in the public domain: \"No")
    print("# permission is needed to use Natural Earth\" (naturalearthdata.com/about/terms-of-use).")
    print("# Written by tools/map-outline.py; do not edit by hand.")
    print("# box WEST SOUTH EAST NORTH, then one ring a line: lon lat lon lat ...")
    print("# (hundredths of a degree)")
    print("box %d %d %d %d" % (w * 100, s * 100, e * 100, n * 100))
    for q in rings:
        print(" ".join("%d %d" % p for p in q))


if __name__ == "__main__":
    main()
