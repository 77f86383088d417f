#!/bin/sh
# test_backup.sh - backup and restore with mariadb-dump, as the README's
# "Operations" section says: dump the portal's database with the socket,
# user and password of $PORTAL_CONF, restore it into a second database on
# the same server, and compare: the same tables, the same definitions, the
# same row counts and the same CHECKSUM TABLE for every table; portalctl
# sees every migration applied in the copy.
#
# Creating (and dropping) the second database needs more than the portal's
# user may do (GRANT ALL ON portal.*): that is done as MariaDB's root over
# the test stack's private socket, which has no password (scripts/stack.sh).
# Dump and restore themselves run as the portal's user.
set -u

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/#   /'; }

if [ -z "${PORTAL_CONF:-}" ] || [ ! -r "$PORTAL_CONF" ]; then
	echo "1..0 # skip no PORTAL_CONF"
	exit 0
fi
for c in mariadb mariadb-dump; do
	if ! command -v "$c" >/dev/null 2>&1; then
		echo "1..0 # skip $c not installed"
		exit 0
	fi
done

. "$(dirname "$0")/../../scripts/conf_db.sh"
sock=$(conf_db socket)
name=$(conf_db name)
user=$(conf_db user)
password=$(conf_db password)
if [ -z "$sock" ] || [ -z "$name" ] || [ -z "$user" ]; then
	echo "1..0 # skip database.socket, name or user not set in $PORTAL_CONF"
	exit 0
fi
copy=${name}_restore_test_$$

tmp=$(mktemp -d "${TMPDIR:-/tmp}/portal-backup.XXXXXX") || exit 1
admin() {
	mariadb --no-defaults --protocol=socket --socket="$sock" --user=root \
		--batch --skip-column-names "$@"
}
cleanup() {
	admin -e "DROP DATABASE IF EXISTS \`$copy\`" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The client's options in a file of mode 0600: the password stays off the
# command line (and out of ps).
(
	umask 077
	cat >"$tmp/client.cnf" <<EOF
[client]
protocol=socket
socket=$sock
user=$user
password=$password
EOF
) || exit 1
db() { mariadb --defaults-file="$tmp/client.cnf" --batch --skip-column-names "$@"; }

# checksums DB: "table<TAB>checksum" for every base table, sorted
checksums() {
	tables=$(db -e "SELECT table_name FROM information_schema.tables WHERE table_schema = '$1' AND table_type = 'BASE TABLE' ORDER BY table_name") || return 1
	[ -n "$tables" ] || return 0
	list=$(printf '%s\n' "$tables" | sed "s/.*/\`$1\`.\`&\`/" | paste -sd, -)
	db -e "CHECKSUM TABLE $list EXTENDED" | sed "s/^$1\.//" | sort
}

# counts DB: "table<TAB>rows" for every base table (exact, SELECT COUNT(*))
counts() {
	db -e "SELECT table_name FROM information_schema.tables WHERE table_schema = '$1' AND table_type = 'BASE TABLE' ORDER BY table_name" |
		while read -r t; do
			printf '%s\t%s\n' "$t" "$(db -e "SELECT COUNT(*) FROM \`$1\`.\`$t\`")"
		done
}

# definitions DB: SHOW CREATE TABLE of every table
definitions() {
	db -e "SELECT table_name FROM information_schema.tables WHERE table_schema = '$1' ORDER BY table_name" |
		while read -r t; do
			db -e "SHOW CREATE TABLE \`$1\`.\`$t\`"
		done
}

# 1. the dump, with the same command the README gives
before=$(checksums "$name") || { not_ok "checksums of $name"; echo "1..$n"; exit 1; }
if mariadb-dump --defaults-file="$tmp/client.cnf" --single-transaction --routines --triggers \
	--events --hex-blob --default-character-set=utf8mb4 "$name" >"$tmp/portal.sql" 2>"$tmp/dump.err"; then
	ntab=$(grep -c '^CREATE TABLE' "$tmp/portal.sql")
	ok "mariadb-dump --single-transaction of $name as $user ($(wc -c <"$tmp/portal.sql") bytes, $ntab tables)"
else
	not_ok "mariadb-dump of $name as $user"
	diag <"$tmp/dump.err"
	echo "1..$n"
	exit 1
fi
after=$(checksums "$name")
if [ "$before" = "$after" ]; then
	ok "$name did not change while it was dumped (the comparison below is meaningful)"
else
	not_ok "$name changed while it was dumped; the comparison below may fail for that reason"
	printf '%s\n' "$before" >"$tmp/before"
	printf '%s\n' "$after" >"$tmp/after"
	diff "$tmp/before" "$tmp/after" | diag
fi

# 2. a second database on the same server, restored as the portal's user
if admin -e "CREATE DATABASE \`$copy\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
	GRANT ALL ON \`$copy\`.* TO '$user'@'localhost';" 2>"$tmp/admin.err"; then
	:
else
	echo "# cannot create a second database as root over $sock (not the test stack?):"
	diag <"$tmp/admin.err"
	echo "1..$n # skip the restore"
	[ "$failed" = 0 ]
	exit $?
fi
if db "$copy" <"$tmp/portal.sql" 2>"$tmp/restore.err"; then
	ok "restored into $copy with the mariadb client"
else
	not_ok "restore into $copy"
	diag <"$tmp/restore.err"
fi

# 3. compare
checksums "$name" >"$tmp/sum.orig"
checksums "$copy" >"$tmp/sum.copy"
cut -f1 "$tmp/sum.orig" >"$tmp/tables.orig"
cut -f1 "$tmp/sum.copy" >"$tmp/tables.copy"
if [ -s "$tmp/tables.orig" ] && cmp -s "$tmp/tables.orig" "$tmp/tables.copy"; then
	ok "the same $(wc -l <"$tmp/tables.orig") tables: $(paste -sd' ' "$tmp/tables.orig")"
else
	not_ok "the same tables"
	diff "$tmp/tables.orig" "$tmp/tables.copy" | diag
fi
if [ -s "$tmp/sum.orig" ] && cmp -s "$tmp/sum.orig" "$tmp/sum.copy" &&
	! grep -q 'NULL$' "$tmp/sum.orig"; then
	ok "CHECKSUM TABLE ... EXTENDED is the same for every table"
else
	not_ok "CHECKSUM TABLE ... EXTENDED is the same for every table"
	diff "$tmp/sum.orig" "$tmp/sum.copy" | diag
fi
counts "$name" >"$tmp/count.orig"
counts "$copy" >"$tmp/count.copy"
if [ -s "$tmp/count.orig" ] && cmp -s "$tmp/count.orig" "$tmp/count.copy"; then
	ok "the same row counts: $(awk -F'\t' '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }' "$tmp/count.orig")"
else
	not_ok "the same row counts"
	diff "$tmp/count.orig" "$tmp/count.copy" | diag
fi
definitions "$name" >"$tmp/def.orig"
definitions "$copy" >"$tmp/def.copy"
if [ -s "$tmp/def.orig" ] && cmp -s "$tmp/def.orig" "$tmp/def.copy"; then
	ok "the same table definitions (SHOW CREATE TABLE, AUTO_INCREMENT included)"
else
	not_ok "the same table definitions"
	diff "$tmp/def.orig" "$tmp/def.copy" | head -40 | diag
fi

# 4. the copy is a portal database: portalctl finds every migration applied
if [ -n "${PORTALCTL:-}" ] && [ -x "$PORTALCTL" ]; then
	# the copy's configuration lives next to the original (its @include is relative)
	cconf=$(dirname "$PORTAL_CONF")/.backup-test-$$.conf
	(
		umask 077 # it holds the password
		awk -v copy="$copy" '
			/^[[:space:]]*database[[:space:]]*[:=]/ { in_db = 1 }
			in_db && /^[[:space:]]*}/ { in_db = 0 }
			in_db && /^[[:space:]]*name[[:space:]]*[:=]/ { sub(/".*"/, "\"" copy "\"") }
			{ print }' "$PORTAL_CONF" >"$cconf"
	)
	st=$("$PORTALCTL" -c "$cconf" migrate status 2>&1)
	rc=$?
	rm -f "$cconf"
	if [ "$rc" = 0 ] && printf '%s\n' "$st" | grep -q ' applied$' &&
		! printf '%s\n' "$st" | grep -qv ' applied$'; then
		ok "portalctl migrate status on $copy: all $(printf '%s\n' "$st" | grep -c ' applied$') migrations applied"
	else
		not_ok "portalctl migrate status on $copy (exit $rc)"
		printf '%s\n' "$st" | diag
	fi
fi

if admin -e "DROP DATABASE \`$copy\`" 2>"$tmp/admin.err"; then
	ok "the copy $copy is dropped"
else
	not_ok "DROP DATABASE $copy"
	diag <"$tmp/admin.err"
fi
echo "1..$n"
[ "$failed" = 0 ]
