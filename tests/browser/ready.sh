# tests/browser/ready.sh - sourced by the integration tests that drive
# headless Chromium (test_browser.sh, test_editor_browser.sh,
# test_media_browser.sh) after they set `root`: exports CHROMIUM (default
# /usr/bin/chromium) and ends the caller with a TAP skip when node,
# chromium or tests/browser/node_modules is missing (sh scripts/deps.sh
# installs all).
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM
if ! command -v node >/dev/null 2>&1; then
	echo "1..0 # skip node not installed"
	exit 0
fi
if [ ! -x "$CHROMIUM" ]; then
	echo "1..0 # skip no chromium at $CHROMIUM (Debian's chromium package; sh scripts/deps.sh installs it)"
	exit 0
fi
for m in playwright-core axe-core; do
	if [ ! -f "$root/tests/browser/node_modules/$m/package.json" ]; then
		echo "1..0 # skip tests/browser/node_modules/$m is missing: run sh scripts/deps.sh (npm ci --prefix tests/browser)"
		exit 0
	fi
done
