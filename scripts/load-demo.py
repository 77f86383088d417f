#!/usr/bin/env python3
"""load-demo.py - load the demo data into a running portal through its API.

    python3 scripts/load-demo.py --url http://127.0.0.1:8080 --token TOKEN [--dir demo]

For every module in MODULES (in that order, so that links can point back)
and every file DIR/MODULE/SLUG.json (a JSON array of items in the shape of
the API's POST body), each item is POSTed to /api/v1/SLUG/MODULE with
`Authorization: Bearer TOKEN` (an editor or admin token for all
municipalities, `portalctl token create --municipality '*' --role editor`).

Links: a string "@MODULE:KEY" anywhere in an item is replaced by the id of
the item of that module, in the same municipality, loaded earlier, whose key
is KEY: a partnership's partner.name, a project's title, a visit's title, a
news item's slug.  "@partnerships:Larvik" becomes e.g. 7.

Prints one line per municipality and module ("borlange: 6 partnerships").  On
the first answer other than 201 it prints the status, the item and the
problem body, and exits 1.  Python 3 standard library only.
"""
import argparse
import json
import os
import sys
import urllib.error
import urllib.request

MODULES = ["partnerships", "projects", "visits", "news"]  # linked-to first


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


def item_key(module, item):
    """The name "@module:KEY" references use for an item."""
    if not isinstance(item, dict):
        return None
    if module == "partnerships":
        p = item.get("partner")
        return p.get("name") if isinstance(p, dict) else None
    if module == "news":
        return item.get("slug")
    return item.get("title")


def resolve(value, ids, slug, where):
    """`value` with every "@module:key" string replaced by its id."""
    if isinstance(value, dict):
        return {k: resolve(v, ids, slug, where) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, ids, slug, where) for v in value]
    if isinstance(value, str) and value.startswith("@") and ":" in value:
        module, key = value[1:].split(":", 1)
        if (slug, module, key) not in ids:
            raise KeyError("%s: %s refers to %s %r, which is not loaded before it"
                           % (slug, where, module, key))
        return ids[(slug, module, key)]
    return value


def main():
    ap = argparse.ArgumentParser(description="Load the demo data through the portal's JSON API.")
    ap.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:8080")
    ap.add_argument("--token", required=True, help="bearer token allowed to write every demo municipality")
    ap.add_argument("--dir", default="demo", help="demo data directory (default: demo)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: 30)")
    args = ap.parse_args()

    base = args.url.rstrip("/")
    ids = {}
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
            for n, raw in enumerate(items):
                label = item_key(module, raw) or "item %d" % n
                try:
                    item = resolve(raw, ids, slug, "%s %r" % (module, label))
                except KeyError as e:
                    print(str(e).strip('"'), file=sys.stderr)
                    return 1
                try:
                    status, text = post(url, args.token, item, args.timeout)
                except (OSError, urllib.error.URLError) as e:
                    print("%s: POST %s failed for %s: %s" % (slug, url, label, e), file=sys.stderr)
                    return 1
                if status != 201:
                    print("%s: POST %s answered %d for %s:" % (slug, url, status, label),
                          file=sys.stderr)
                    print(text, file=sys.stderr)
                    return 1
                key = item_key(module, raw)
                if key is not None:
                    ids[(slug, module, key)] = json.loads(text)["id"]
            print("%s: %d %s" % (slug, len(items), module))
            loaded_any = True
    if not loaded_any:
        print("no demo data found under %s" % args.dir, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
