#!/usr/bin/env python3
"""load-demo.py - load the demo data into a running portal through its API.

    python3 scripts/load-demo.py --url http://127.0.0.1:8080 --token TOKEN [--dir demo]

For every file DIR/partnerships/SLUG.json (a JSON array of items in the shape
of the API's POST body) each item is POSTed to /api/v1/SLUG/partnerships with
`Authorization: Bearer TOKEN` (an editor or admin token for all
municipalities, `portalctl token create --municipality '*' --role editor`).
Prints one line per municipality ("borlange: 6 partnerships").  On the first
answer other than 201 it prints the status, the item's partner name and the
problem body, and exits 1.  Python 3 standard library only.
"""
import argparse
import json
import os
import sys
import urllib.error
import urllib.request

MODULES = ["partnerships"]  # the order matters once modules link to each other


def post(url, token, item, timeout):
    body = json.dumps(item, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Authorization": "Bearer " + token,
    })
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def item_label(item):
    if isinstance(item, dict):
        p = item.get("partner")
        if isinstance(p, dict) and p.get("name"):
            return p["name"]
        for k in ("title", "slug", "name"):
            if item.get(k):
                return str(item[k])
    return "?"


def main():
    ap = argparse.ArgumentParser(description="Load the demo data through the portal's JSON API.")
    ap.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:8080")
    ap.add_argument("--token", required=True, help="bearer token allowed to write every demo municipality")
    ap.add_argument("--dir", default="demo", help="demo data directory (default: demo)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: 30)")
    args = ap.parse_args()

    base = args.url.rstrip("/")
    loaded_any = False
    for module in MODULES:
        mdir = os.path.join(args.dir, module)
        if not os.path.isdir(mdir):
            continue
        for fname in sorted(os.listdir(mdir)):
            if not fname.endswith(".json"):
                continue
            slug = fname[:-len(".json")]
            path = os.path.join(mdir, fname)
            try:
                with open(path, encoding="utf-8") as f:
                    items = json.load(f)
            except (OSError, ValueError) as e:
                print("%s: cannot read: %s" % (path, e), file=sys.stderr)
                return 1
            if not isinstance(items, list):
                print("%s: not a JSON array" % path, file=sys.stderr)
                return 1
            url = "%s/api/v1/%s/%s" % (base, slug, module)
            for item in items:
                try:
                    status, text = post(url, args.token, item, args.timeout)
                except (OSError, urllib.error.URLError) as e:
                    print("%s: POST %s failed for %s: %s" % (slug, url, item_label(item), e),
                          file=sys.stderr)
                    return 1
                if status != 201:
                    print("%s: POST %s answered %d for %s:" % (slug, url, status, item_label(item)),
                          file=sys.stderr)
                    print(text, file=sys.stderr)
                    return 1
            print("%s: %d %s" % (slug, len(items), module))
            loaded_any = True
    if not loaded_any:
        print("no demo data found under %s" % args.dir, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
