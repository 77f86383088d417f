#!/usr/bin/env python3
"""load-demo.py - load the demo data into a running portal through its API.

    python3 scripts/load-demo.py --url http://127.0.0.1:8080 --token TOKEN [--plugins DIR]
    python3 scripts/load-demo.py --modules [--plugins DIR]

The modules are found, not listed: every DIR/MODULE/demo/SLUG.json (DIR is
the repository's plugins/ by default) is a JSON array of items in the shape
of the API's POST body, and each item is POSTed to /api/v1/SLUG/MODULE with
`Authorization: Bearer TOKEN` (an editor or admin token for all
municipalities, `portalctl token create --municipality '*' --role editor`).

Links: a string "@MODULE:KEY" anywhere in an item is replaced by the id of
the item of that module, in the same municipality, loaded earlier, whose key
is KEY.  An item's key is its `slug`, else its `title`, else its `name`,
else the `name` of its first member that is an object (a partnership's
partner.name): "@partnerships:Larvik" becomes e.g. 7.  The modules are
loaded in the order those references ask for (a module another one refers
to first; otherwise by name), so a new module needs nothing here.

--modules prints every module (each directory DIR/NAME/, as the Makefile
builds them), comma-separated, in that order, and loads nothing:
tests/run.sh enables them all for a test municipality.

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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def item_key(item):
    """The name "@module:KEY" references use for an item."""
    if not isinstance(item, dict):
        return None
    for k in ("slug", "title", "name"):
        if isinstance(item.get(k), str):
            return item[k]
    for v in item.values():
        if isinstance(v, dict) and isinstance(v.get("name"), str):
            return v["name"]
    return None


def refs(value):
    """The modules that "@module:key" strings in `value` refer to."""
    if isinstance(value, dict):
        return set().union(*(refs(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(refs(v) for v in value)) if value else set()
    if isinstance(value, str) and value.startswith("@") and ":" in value:
        return {value[1:].split(":", 1)[0]}
    return set()


def find_modules(pdir):
    """{module: {slug: path}} for every PDIR/MODULE/demo/SLUG.json."""
    found = {}
    for module in sorted(os.listdir(pdir)) if os.path.isdir(pdir) else []:
        ddir = os.path.join(pdir, module, "demo")
        if not os.path.isdir(ddir):
            continue
        files = {f[:-len(".json")]: os.path.join(ddir, f)
                 for f in sorted(os.listdir(ddir)) if f.endswith(".json")}
        if files:
            found[module] = files
    return found


def load_order(data):
    """The modules, each after those its items refer to (then by name)."""
    deps = {m: set().union(*(refs(items) for items in files.values())) - {m}
            for m, files in data.items()}
    order = []
    while len(order) < len(deps):
        ready = sorted(m for m in deps if m not in order and deps[m] <= set(order) | (deps[m] - set(deps)))
        if not ready:
            raise ValueError("the demo data's \"@module:key\" references go round in a circle: %s"
                             % ", ".join(sorted(m for m in deps if m not in order)))
        order.append(ready[0])
    return order


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
    ap.add_argument("--url", help="base URL, e.g. http://127.0.0.1:8080")
    ap.add_argument("--token", help="bearer token allowed to write every demo municipality")
    ap.add_argument("--modules", action="store_true",
                    help="print every module, in load order, comma-separated; load nothing")
    ap.add_argument("--plugins", default=os.path.join(ROOT, "plugins"),
                    help="the plugins directory: MODULE/demo/SLUG.json (default: the repository's plugins/)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: 30)")
    args = ap.parse_args()
    if not args.modules and (not args.url or not args.token):
        ap.error("--url and --token are needed (or --modules)")

    files = find_modules(args.plugins)
    data = {}
    for module, slugs in files.items():
        data[module] = {}
        for slug, path in slugs.items():
            try:
                with open(path, encoding="utf-8") as f:
                    items = json.load(f)
            except (OSError, ValueError) as e:
                print("%s: cannot read: %s" % (path, e), file=sys.stderr)
                return 1
            if not isinstance(items, list):
                print("%s: not a JSON array" % path, file=sys.stderr)
                return 1
            data[module][slug] = items
    if args.modules:
        # modules without demo data too: every directory, as the Makefile
        for m in sorted(os.listdir(args.plugins)):
            if m not in data and os.path.isdir(os.path.join(args.plugins, m)):
                data[m] = {}
    try:
        order = load_order(data)
    except ValueError as e:
        print(str(e), file=sys.stderr)
        return 1
    if args.modules:
        print(", ".join(order))
        return 0
    base = args.url.rstrip("/")
    ids = {}
    for module in order:
        for slug, items in data[module].items():
            url = "%s/api/v1/%s/%s" % (base, slug, module)
            for n, raw in enumerate(items):
                label = item_key(raw) or "item %d" % n
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
                key = item_key(raw)
                if key is not None:
                    ids[(slug, module, key)] = json.loads(text)["id"]
            print("%s: %d %s" % (slug, len(items), module))
    if not data:
        print("no demo data found: no %s/*/demo/*.json" % args.plugins, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
