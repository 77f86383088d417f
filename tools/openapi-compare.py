#!/usr/bin/env python3
"""openapi-compare.py GENERATED.json [PLUGIN ...]: the JSON Schemas the
core derives from each module's declared fields (core/server/schema.c;
GENERATED.json is what `OPENAPI_GENERATED=FILE build/tests/test_declare`
writes) against the ones written by hand in plugins/NAME/openapi.json,
where a fragment still has them.

Both are resolved ($refs into the fragment and core/server/openapi.json
inlined) and normalised (descriptions and examples dropped; `anyOf [X,
null]` and `type [X, "null"]` are one form; `allOf` of an object and a
`required` merged; `required` as a set), then every difference is printed
with its path.  Also compares x-portal-links (on POST /NAME) and the
list's query parameters.  Exits 1 when something differs.  Standard
library only.
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DROP = {"description", "example", "examples", "title"}


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def resolve(s, schemas, depth=0):
    """s with $refs inlined and allOf merged (a new object)."""
    if depth > 40:
        raise SystemExit("a $ref loop")
    if isinstance(s, list):
        return [resolve(x, schemas, depth + 1) for x in s]
    if not isinstance(s, dict):
        return s
    if "$ref" in s:
        name = s["$ref"].rsplit("/", 1)[-1]
        if name not in schemas:
            return {"$ref": s["$ref"]}
        return resolve(schemas[name], schemas, depth + 1)
    out = {}
    for k, v in s.items():
        if k in DROP:
            continue
        out[k] = resolve(v, schemas, depth + 1)
    if "allOf" in out:
        parts = out.pop("allOf")
        for p in parts:
            for k, v in p.items():
                if k == "required":
                    out["required"] = sorted(set(out.get("required", [])) | set(v))
                elif k == "properties":
                    out.setdefault("properties", {}).update(v)
                else:
                    out.setdefault(k, v)
    return out


def norm(s):
    if isinstance(s, list):
        return [norm(x) for x in s]
    if not isinstance(s, dict):
        return s
    s = {k: norm(v) for k, v in s.items()}
    alt = s.get("anyOf") or s.get("oneOf")
    if alt and len(alt) == 2 and {"type": "null"} in alt:
        other = dict([a for a in alt if a != {"type": "null"}][0])
        rest = {k: v for k, v in s.items() if k not in ("anyOf", "oneOf")}
        other.update(rest)
        other["nullable"] = True
        return other
    t = s.get("type")
    if isinstance(t, list) and "null" in t:
        t = [x for x in t if x != "null"]
        s["type"] = t[0] if len(t) == 1 else t
        s["nullable"] = True
    if "required" in s:
        s["required"] = sorted(s["required"])
    return s


def diff(a, b, path, out):
    """a: hand-written, b: generated."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in b:
                out.append("%s.%s: only by hand: %s" % (path, k, json.dumps(a[k])[:200]))
            elif k not in a:
                out.append("%s.%s: only generated: %s" % (path, k, json.dumps(b[k])[:200]))
            else:
                diff(a[k], b[k], path + "." + k, out)
    elif a != b:
        out.append("%s: by hand %s, generated %s" % (path, json.dumps(a)[:200], json.dumps(b)[:200]))


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    gen = load(sys.argv[1])
    only = set(sys.argv[2:])
    core = load(os.path.join(ROOT, "core/server/openapi.json"))
    core_schemas = core["components"]["schemas"]
    bad = 0
    for module, g in sorted(gen.items()):
        if only and module not in only:
            continue
        fpath = os.path.join(ROOT, "plugins", module, "openapi.json")
        if not os.path.exists(fpath):
            continue
        frag = load(fpath)
        hand = dict(core_schemas)
        hand.update(frag.get("components", {}).get("schemas", {}))
        genall = dict(core_schemas)
        genall.update(g["schemas"])
        out = []
        for name, s in sorted(g["schemas"].items()):
            if name not in frag.get("components", {}).get("schemas", {}):
                continue
            a = norm(resolve(hand[name], hand))
            b = norm(resolve(s, genall))
            diff(a, b, name, out)
        post = frag.get("paths", {}).get("/" + module, {}).get("post", {})
        if "x-portal-links" in post:
            diff(post["x-portal-links"], g["x-portal-links"], "x-portal-links", out)
        get = frag.get("paths", {}).get("/" + module, {}).get("get", {})
        if "parameters" in get:
            a = norm(resolve(get["parameters"], hand))
            b = norm(resolve(g["parameters"], genall))
            diff({p.get("name", json.dumps(p)): p for p in a},
                 {p.get("name", json.dumps(p)): p for p in b}, "parameters", out)
        print("# %s: %d differences" % (module, len(out)))
        for line in out:
            print("  " + line)
        bad += len(out)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
