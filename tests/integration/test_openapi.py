#!/usr/bin/env python3
"""The OpenAPI description the server serves: lint, conventions, coverage.

Run by tests/run.sh (PORTAL_URL, PORTAL_VAR set) on the test stack.

  1. GET /api/v1/openapi.json, saved (pretty-printed) as
     $PORTAL_VAR/openapi.json, or in a temporary directory.
  2. `npx --prefix tests/contract redocly lint --config
     tests/contract/redocly.yaml` on it (the recommended rules): one check
     that it has no error, then one per part of the document -- the core's
     (core/server/openapi.json) and each plugin's (its paths and the components its
     plugins/NAME/openapi.json defines) -- that no problem, error or
     warning, points into it.  The core's warnings are shown, not counted.
     Needs node and tests/contract/node_modules (scripts/deps.sh); without
     node these checks are skipped.
  3. The conventions of a plugin's part: every operation has tags [NAME], a unique
     operationId, a summary and `security`; POST and PATCH bodies have an
     example; error responses are $refs to the core's responses; the
     objects of its 2xx answers say additionalProperties.
  4. Coverage: for every module some municipality enables (GET
     /api/v1/municipalities), the routes the server answers are found by
     asking OPTIONS on the module's path shapes (the router answers 405 with
     `Allow` listing the methods a path has) and compared with the document,
     both ways: nothing answered is left undescribed, nothing described is
     missing.  Likewise the core's paths.

Python 3 standard library; node only for the lint.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import Fail, Tap, expect, expect_json, request  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CONTRACT = os.path.join(ROOT, "tests", "contract")
PREFIX = "/api/v1/{municipality}"
CORE_PATHS = ("/healthz", "/metrics", "/api/v1/municipalities", "/api/v1/openapi.json",
              "/api/v1/catalog.jsonld")
# the core's paths under a municipality: the audit log (an admin token
# reads it) and the open data (issue #19), anyone's
ADMIN_MUNI_PATHS = (PREFIX + "/audit",)
OPEN_MUNI_PATHS = (PREFIX + "/changes",)
# uploaded files (test_media.py tries them)
MEDIA_PATHS = (PREFIX + "/media", PREFIX + "/media/{id}")
# the search across modules, and a GET it answers 200
SEARCH_PATHS = {PREFIX + "/search": "/api/v1/lerum/search?q=lerum"}
CORE_MUNI_PATHS = ADMIN_MUNI_PATHS + OPEN_MUNI_PATHS + MEDIA_PATHS + tuple(SEARCH_PATHS)
# the lists over municipalities of every module: /api/v1/all/{module}
ALL_LIST = re.compile(r"^/api/v1/all/([a-z0-9_]+)$")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# path shapes a module may answer besides those described (SPEC's exports)
SHAPES = ("", "/{id}", ".csv", ".atom", ".ics", ".vcf", ".geojson", ".json")

t = Tap()
state = {}


def doc():
    return state["doc"]


def module_of_path(path):
    """'partnerships' for /api/v1/{municipality}/partnerships.csv; None for core paths."""
    if not path.startswith(PREFIX + "/") or path in CORE_MUNI_PATHS:
        return None
    seg = path[len(PREFIX) + 1:].split("/")[0]
    return re.split(r"[.]", seg)[0]


def fragment_components():
    """{(section, name): module} from plugins/*/openapi.json in the tree."""
    owner = {}
    pdir = os.path.join(ROOT, "plugins")
    for name in sorted(os.listdir(pdir)) if os.path.isdir(pdir) else []:
        f = os.path.join(pdir, name, "openapi.json")
        try:
            with open(f, encoding="utf-8") as fh:
                frag = json.load(fh)
        except (OSError, ValueError):
            continue
        for section, members in (frag.get("components") or {}).items():
            if isinstance(members, dict):
                for m in members:
                    owner.setdefault((section, m), name)
    return owner


def part_of_pointer(pointer, owner):
    """The part of the document a JSON pointer ("#/paths/~1x/get") is in:
    a module name or "core"."""
    segs = [s.replace("~1", "/").replace("~0", "~") for s in pointer.lstrip("#/").split("/")]
    if len(segs) >= 2 and segs[0] == "paths":
        return module_of_path(segs[1]) or "core"
    if len(segs) >= 3 and segs[0] == "components":
        if (segs[1], segs[2]) in owner:
            return owner[(segs[1], segs[2])]
        for m in state.get("modules_in_doc", ()):
            # Project*, Visit*, News*, Partnership* (the naming convention)
            stem = m[:-1] if m.endswith("s") and not m.endswith("ss") else m
            if segs[2].lower().startswith(stem.lower()) and not core_has(segs[1], segs[2]):
                return m
    return "core"


def core_has(section, name):
    """Whether core/server/openapi.json defines components.SECTION.NAME."""
    if "core_doc" not in state:
        try:
            with open(os.path.join(ROOT, "core", "openapi.json"), encoding="utf-8") as fh:
                state["core_doc"] = json.load(fh)
        except (OSError, ValueError):
            state["core_doc"] = {}
    return name in ((state["core_doc"].get("components") or {}).get(section) or {})


# ---------------------------------------------------------------------------
# 1. the document

def t_fetch():
    r = request("GET", "/api/v1/openapi.json")
    d = expect_json(r, 200)
    expect(isinstance(d, dict) and str(d.get("openapi", "")).startswith("3.1"),
           "not an OpenAPI 3.1 document: openapi=%r" % (d.get("openapi") if isinstance(d, dict) else d), r)
    expect(isinstance(d.get("paths"), dict) and isinstance(d.get("components"), dict),
           "no paths or components", r)
    var = os.environ.get("PORTAL_VAR") or ""
    if not var or not os.path.isdir(var):
        var = tempfile.mkdtemp(prefix="portal-openapi.")
        state["tmpdir"] = var
    path = os.path.join(var, "openapi.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(d, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    state["doc"] = d
    state["file"] = path
    state["modules_in_doc"] = sorted({m for m in map(module_of_path, d["paths"]) if m})
    t.diag("saved as %s; modules described: %s" % (path, ", ".join(state["modules_in_doc"]) or "none"))


# ---------------------------------------------------------------------------
# 2. lint

def lint():
    """Runs redocly once; returns its problems (a list), or raises Fail."""
    if "lint" in state:
        return state["lint"]
    exe = os.path.join(CONTRACT, "node_modules", ".bin", "redocly")
    expect(os.path.exists(exe), "%s is missing: run `sh scripts/deps.sh` (npm ci --prefix tests/contract)"
           % os.path.relpath(exe, ROOT))
    env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true",
               NO_COLOR="1")
    cmd = ["npx", "--no", "--prefix", CONTRACT, "redocly", "lint", "--format=json",
           "--config", os.path.join(CONTRACT, "redocly.yaml"), state["file"]]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        raise Fail("redocly lint printed no JSON report (exit %d):\n%s\n%s"
                   % (p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    state["lint"] = out.get("problems") or []
    state["lint_rc"] = p.returncode
    return state["lint"]


def describe_problem(p):
    loc = (p.get("location") or [{}])[0].get("pointer", "?")
    return "%s %s at %s: %s" % (p.get("severity"), p.get("ruleId"), loc, p.get("message"))


def t_lint_errors():
    problems = lint()
    errors = [p for p in problems if p.get("severity") == "error"]
    for p in problems:
        if p.get("severity") != "error" and state["owner_of"](p) == "core":
            t.diag("core/server/openapi.json (not counted): " + describe_problem(p))
    expect(not errors, "%d lint error(s):\n%s" % (len(errors), "\n".join(map(describe_problem, errors))))
    expect(state["lint_rc"] == 0, "redocly lint exited %d without errors in its report" % state["lint_rc"])


def lint_part_case(module):
    def fn():
        mine = [p for p in lint() if state["owner_of"](p) == module]
        expect(not mine, "%d problem(s) in %s's part:\n%s" % (len(mine), module,
                                                                "\n".join(map(describe_problem, mine))))
    return fn


# ---------------------------------------------------------------------------
# 3. conventions of a plugin's part

def resolve(ref):
    """The object a local "#/..." reference points at (None if it does not)."""
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return None
    node = doc()
    for seg in ref[2:].split("/"):
        seg = seg.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or seg not in node:
            return None
        node = node[seg]
    return node


def deref(node):
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        node = resolve(node["$ref"])
        seen += 1
    return node


def unclosed_objects(schema, where, owner, module, seen, out):
    """Object schemas of `module` (inline or its components) with
    `properties` but no additionalProperties/unevaluatedProperties."""
    if isinstance(schema, list):
        for i, s in enumerate(schema):
            unclosed_objects(s, "%s[%d]" % (where, i), owner, module, seen, out)
        return
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str):
        m = re.match(r"#/components/schemas/([^/]+)$", ref)
        if m and owner.get(("schemas", m.group(1)), None) != module and \
                not m.group(1).lower().startswith(module.rstrip("s").lower()):
            return  # the core's (or another module's) schema
        if ref in seen:
            return
        seen.add(ref)
        unclosed_objects(resolve(ref), ref, owner, module, seen, out)
        return
    if "properties" in schema and "additionalProperties" not in schema and \
            "unevaluatedProperties" not in schema:
        out.append(where)
    for k in ("properties", "patternProperties", "$defs"):
        for name, sub in (schema.get(k) or {}).items():
            unclosed_objects(sub, "%s/%s" % (where, name), owner, module, seen, out)
    for k in ("items", "additionalProperties", "not", "if", "then", "else", "contains"):
        if isinstance(schema.get(k), (dict, list)):
            unclosed_objects(schema[k], "%s/%s" % (where, k), owner, module, seen, out)
    for k in ("allOf", "anyOf", "oneOf", "prefixItems"):
        if isinstance(schema.get(k), list):
            unclosed_objects(schema[k], "%s/%s" % (where, k), owner, module, seen, out)


def conventions_case(module):
    def fn():
        owner = fragment_components()
        bad = []
        op_ids = {}
        for path, item in doc()["paths"].items():
            for method, op in item.items():
                if method in METHODS and isinstance(op, dict):
                    if op.get("operationId"):
                        op_ids.setdefault(op["operationId"], []).append("%s %s" % (method.upper(), path))
        for path, item in sorted(doc()["paths"].items()):
            if module_of_path(path) != module:
                continue
            params = [deref(p) or {} for p in item.get("parameters") or []]
            for method, op in item.items():
                if method not in METHODS or not isinstance(op, dict):
                    continue
                where = "%s %s" % (method.upper(), path)
                allp = params + [deref(p) or {} for p in op.get("parameters") or []]
                if not any(p.get("in") == "path" and p.get("name") == "municipality" for p in allp):
                    bad.append("%s: does not declare the municipality path parameter" % where)
                if op.get("tags") != [module]:
                    bad.append("%s: tags are %r, not [%r]" % (where, op.get("tags"), module))
                if not op.get("operationId"):
                    bad.append("%s: no operationId" % where)
                elif len(op_ids.get(op["operationId"], [])) > 1:
                    bad.append("%s: operationId %r also used by %s" % (where, op["operationId"],
                                                                         op_ids[op["operationId"]]))
                if not op.get("summary"):
                    bad.append("%s: no summary" % where)
                if "security" not in op:
                    bad.append("%s: no security" % where)
                if method in ("post", "patch"):
                    body = deref(op.get("requestBody")) or {}
                    media = (body.get("content") or {}).get("application/json") or {}
                    if "example" not in media and not media.get("examples"):
                        bad.append("%s: the application/json request body has no example" % where)
                for code, resp in (op.get("responses") or {}).items():
                    if str(code)[:1] in ("4", "5") and not str((resp or {}).get("$ref", "")).startswith(
                            "#/components/responses/"):
                        bad.append("%s: response %s is not a $ref to the core's responses" % (where, code))
                    if str(code)[:1] == "2":
                        for ctype, media in ((deref(resp) or {}).get("content") or {}).items():
                            if "json" not in ctype:
                                continue
                            out = []
                            unclosed_objects(media.get("schema"), "%s %s %s" % (where, code, ctype),
                                             owner, module, set(), out)
                            bad += ["%s: object without additionalProperties" % w for w in out]
        expect(not bad, "\n".join(bad))
    return fn


# ---------------------------------------------------------------------------
# 4. coverage: what the server answers against what the document says

def allowed(path):
    """The methods the server answers on `path` (OPTIONS: 405 + Allow), or
    an empty set when it answers 404."""
    r = request("OPTIONS", path)
    if r.status == 404:
        return set(), r
    allow = r.header("allow")
    expect(allow is not None, "OPTIONS %s answered %d without Allow" % (path, r.status), r)
    return {m.strip().upper() for m in allow.split(",") if m.strip()}, r


def described_methods(item):
    return {m.upper() for m in item if m in METHODS}


def t_municipalities():
    j = expect_json(request("GET", "/api/v1/municipalities"), 200)
    enabled = {}
    for m in j.get("items") or []:
        for mod in m.get("modules") or []:
            enabled.setdefault(mod, m["slug"])
    state["enabled"] = enabled
    t.diag("modules enabled somewhere: %s" % ", ".join("%s (e.g. %s)" % kv for kv in sorted(enabled.items())))


def coverage_case(module):
    def fn():
        slug = state["enabled"][module]
        described = {p: item for p, item in doc()["paths"].items() if module_of_path(p) == module}
        shapes = {PREFIX + "/" + module + s for s in SHAPES} | set(described)
        bad = []
        for shape in sorted(shapes):
            concrete = shape.replace("{municipality}", slug)
            concrete = re.sub(r"\{id\}", "1", concrete)
            concrete = re.sub(r"\{[^}]+\}", "x", concrete)
            answered, _ = allowed(concrete)
            answered.discard("HEAD")
            said = described_methods(described.get(shape, {}))
            for m in sorted(answered - said):
                bad.append("%s %s is answered (OPTIONS %s: Allow lists it) but not described"
                           % (m, shape, concrete))
            for m in sorted(said - answered):
                bad.append("%s %s is described but not answered (OPTIONS %s allows %s)"
                           % (m, shape, concrete, ", ".join(sorted(answered)) or "nothing: 404"))
        expect(not bad, "\n".join(bad))
    return fn


def t_core_coverage():
    bad = []
    for p in CORE_PATHS:
        item = doc()["paths"].get(p)
        if not isinstance(item, dict) or "get" not in item:
            bad.append("GET %s is answered but not described" % p)
        r = request("GET", p)
        if r.status != 200:
            bad.append("GET %s answers %d" % (p, r.status))
    admin = os.environ.get("PORTAL_ADMIN_TOKEN", "")
    for p in ADMIN_MUNI_PATHS:
        item = doc()["paths"].get(p)
        if not isinstance(item, dict) or "get" not in item:
            bad.append("GET %s is answered but not described" % p)
        concrete = p.replace("{municipality}", "borlange")
        r = request("GET", concrete)
        if r.status != 401:
            bad.append("GET %s without a token answers %d" % (concrete, r.status))
        if admin and request("GET", concrete, token=admin).status != 200:
            bad.append("GET %s with an admin token does not answer 200" % concrete)
    for p, concrete in SEARCH_PATHS.items():
        item = doc()["paths"].get(p)
        if not isinstance(item, dict) or "get" not in item:
            bad.append("GET %s is answered but not described" % p)
        r = request("GET", concrete)
        if r.status != 200:
            bad.append("GET %s answers %d" % (concrete, r.status))
    some = sorted(state["enabled"].values())[0] if state["enabled"] else "borlange"
    for p in OPEN_MUNI_PATHS:
        r = request("GET", p.replace("{municipality}", some))
        if not isinstance(doc()["paths"].get(p), dict) or r.status != 200:
            bad.append("GET %s: described %s, answers %d" % (p, p in doc()["paths"], r.status))
    for p in doc()["paths"]:
        mod = module_of_path(p)
        m = ALL_LIST.match(p)
        if m:
            if m.group(1) not in state["enabled"]:
                bad.append("%s is described but no municipality enables %s" % (p, m.group(1)))
            elif request("GET", p).status != 200:
                bad.append("GET %s answers %d" % (p, request("GET", p).status))
        elif mod is None and p not in CORE_PATHS and p not in CORE_MUNI_PATHS:
            bad.append("%s is described but is neither a core path nor a module's" % p)
        elif mod is not None and mod not in state["enabled"]:
            bad.append("%s is described but no municipality enables %s" % (p, mod))
    expect(not bad, "\n".join(bad))


def main():
    if not t.check("GET /api/v1/openapi.json is an OpenAPI 3.1 document (saved)", t_fetch):
        return t.done()
    owner = fragment_components()
    state["owner_of"] = lambda p: part_of_pointer((p.get("location") or [{}])[0].get("pointer", ""), owner)

    if shutil.which("node") is None or shutil.which("npx") is None:
        t.n += 1
        print("ok %d - redocly lint # SKIP node not installed" % t.n)
    else:
        t.check("redocly lint (recommended rules, tests/contract/redocly.yaml): no errors", t_lint_errors)
        if "lint" in state:
            for m in state["modules_in_doc"]:
                t.check("redocly lint: no problem (error or warning) in the paths and components of %s"
                        % m, lint_part_case(m))

    for m in state["modules_in_doc"]:
        t.check("the operations of %s follow the conventions (tags, operationId, summary, security, "
                "examples, core error responses, closed objects)" % m, conventions_case(m))

    if t.check("GET /api/v1/municipalities lists the enabled modules", t_municipalities):
        for m in sorted(state["enabled"]):
            t.check("every route of %s is described, every described route is answered" % m,
                    coverage_case(m))
        t.check("the core's paths are described and answered; no path of an unknown module",
                t_core_coverage)
    if state.get("tmpdir"):
        shutil.rmtree(state["tmpdir"], ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    try:
        rc = main()
    except Exception as e:  # never die without a verdict
        print("not ok %d - the test script itself failed: %s" % (t.n + 1, e))
        t.failed += 1
        t.n += 1
        rc = t.done()
    sys.exit(rc)
