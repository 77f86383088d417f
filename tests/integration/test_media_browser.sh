#!/bin/sh
# test_media_browser.sh - uploads from the browser editor in headless
# Chromium with JavaScript off (tests/browser/media.mjs): the Files page,
# a refused file, a news item's image and a page's PDF uploaded from their
# forms, the 409 of a used file; axe-core on the Files page, the forms and
# the public pages.  Creates its own editor account with portalctl (a
# random password, never printed).
#
# Run by tests/run.sh with PORTAL_URL, PORTAL_CONF, PORTALCTL and
# PORTAL_VAR set.  Skipped as a whole when node, chromium or
# tests/browser/node_modules is missing (sh scripts/deps.sh installs all).
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/browser/ready.sh"
tag=$$.$(date +%s)
EDITOR_EMAIL="media.$tag@lerum.example"
EDITOR_PASSWORD=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$EDITOR_PASSWORD" | "$PORTALCTL" -c "$PORTAL_CONF" user add "$EDITOR_EMAIL" \
	--name "Maja Media" --municipality lerum --role editor >/dev/null || {
	echo "not ok 1 - portalctl user add (editor)"; exit 1; }
export EDITOR_EMAIL EDITOR_PASSWORD
exec node "$root/tests/browser/media.mjs"
