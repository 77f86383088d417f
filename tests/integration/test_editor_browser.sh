#!/bin/sh
# test_editor_browser.sh - the browser editor end to end in headless
# Chromium (tests/browser/editor.mjs): sign in, create with two agreements,
# an invalid date, a conflict between two sessions, restore from history,
# delete, sign out; axe-core on every editor page.  Creates its own editor
# and admin accounts with portalctl (random passwords, never printed).
#
# Run by tests/run.sh with PORTAL_URL, PORTAL_CONF, PORTALCTL and
# PORTAL_VAR set.  Skipped as a whole when node, chromium or
# tests/browser/node_modules is missing (sh scripts/deps.sh installs all).
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/browser/ready.sh"
tag=$$.$(date +%s)
pw() { od -An -N18 -tx1 /dev/urandom | tr -d ' \n'; }
EDITOR_EMAIL="editor.$tag@lerum.example"; EDITOR_PASSWORD=$(pw)
ADMIN_EMAIL="admin.$tag@lerum.example"; ADMIN_PASSWORD=$(pw)
printf '%s\n' "$EDITOR_PASSWORD" | "$PORTALCTL" -c "$PORTAL_CONF" user add "$EDITOR_EMAIL" \
	--name "Elin Editor" --municipality lerum --role editor >/dev/null || {
	echo "not ok 1 - portalctl user add (editor)"; exit 1; }
printf '%s\n' "$ADMIN_PASSWORD" | "$PORTALCTL" -c "$PORTAL_CONF" user add "$ADMIN_EMAIL" \
	--name "Adam Admin" --municipality lerum --role admin >/dev/null || {
	echo "not ok 1 - portalctl user add (admin)"; exit 1; }
export EDITOR_EMAIL EDITOR_PASSWORD ADMIN_EMAIL ADMIN_PASSWORD
exec node "$root/tests/browser/editor.mjs"
