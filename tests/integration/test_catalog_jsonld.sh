#!/bin/sh
# test_catalog_jsonld.sh - the DCAT-AP-SE catalogue (GET /api/v1/catalog.jsonld)
# expanded to RDF by a real JSON-LD processor (npm jsonld, no network):
# tests/contract/catalog.mjs.  Run by tests/run.sh with PORTAL_URL set.
# Without node the whole file is skipped; without jsonld in
# tests/contract/node_modules it fails, naming the command that installs it.
root=$(cd "$(dirname "$0")/../.." && pwd)

if ! command -v node >/dev/null 2>&1; then
	echo "1..0 # skip node not installed"
	exit 0
fi
if [ ! -f "$root/tests/contract/node_modules/jsonld/package.json" ]; then
	echo "not ok 1 - tests/contract/node_modules/jsonld is missing: run sh scripts/deps.sh (npm ci --prefix tests/contract)"
	exit 1
fi
exec node "$root/tests/contract/catalog.mjs"
