#!/bin/sh
# test_contract.sh - contract tests of the JSON API against the OpenAPI
# document the server serves: tests/contract/contract.mjs (node, Ajv).
# Run by tests/run.sh with PORTAL_URL and PORTAL_ADMIN_TOKEN set.  Without
# node the whole file is skipped; without tests/contract/node_modules it
# fails, naming the command that installs it.
root=$(cd "$(dirname "$0")/../.." && pwd)

if ! command -v node >/dev/null 2>&1; then
	echo "1..0 # skip node not installed"
	exit 0
fi
for m in ajv ajv-formats; do
	if [ ! -f "$root/tests/contract/node_modules/$m/package.json" ]; then
		echo "not ok 1 - tests/contract/node_modules/$m is missing: run sh scripts/deps.sh (npm ci --prefix tests/contract)"
		exit 1
	fi
done
exec node "$root/tests/contract/contract.mjs"
