#!/bin/sh
# test_browser.sh - accessibility of the HTML pages in headless Chromium:
# tests/browser/a11y.mjs (playwright-core driving Debian's chromium, and
# axe-core).  Every page type (/, /{m}/, the accessibility statement, a 404,
# and each module's list and one item) in sv, da and en at 375x812 and
# 1280x800: axe-core (WCAG 2.1 A/AA) with zero violations, the skip link
# first and working, a visible focus indicator (3:1) on every element Tab
# reaches, focus never lost, <html lang> right, no horizontal scrolling.
# Screenshots go to $PORTAL_VAR/screenshots/ (make test KEEP=1 keeps them).
#
# Run by tests/run.sh with PORTAL_URL and PORTAL_VAR set.  Skipped as a
# whole when node, chromium (CHROMIUM, default /usr/bin/chromium) or
# tests/browser/node_modules is missing (sh scripts/deps.sh installs all).
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/browser/ready.sh"
exec node "$root/tests/browser/a11y.mjs"
