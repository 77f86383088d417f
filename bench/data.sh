#!/bin/sh
# bench/data.sh - the `make bench-data` driver (issue #6, "Scale").
#
#   1. a MUNICIPALITIES file: conf/demo.conf plus bench-001..bench-NNN
#      (bench/scale.py conf), and a private stack with it (scripts/stack.sh,
#      temporary PORTAL_VAR, free port, demo data)
#   2. the generator: bench/scale.py sql, one INSERT ... SELECT from
#      MariaDB's seq_1_to_N tables per BENCH_CHUNK municipalities, run as
#      MariaDB's root over the stack's socket, each statement timed
#   3. bench/scale.py measure: page 1 vs page 500 (keyset cursors walked
#      through the API), ANALYZE of the plugins' own list statements, and
#      the p50 of full-text searches (`q`)
#   4. the stack is stopped and the directory removed (KEEP=1 keeps it; start
#      it again with PORTAL_VAR=DIR MUNICIPALITIES=DIR/municipalities.conf
#      sh scripts/stack.sh start)
#
# Environment: B, BENCH_MUNIS (100), BENCH_PARTNERSHIPS (1000 per
# municipality), BENCH_NEWS (10000 per municipality), BENCH_CHUNK (10
# municipalities per statement), BENCH_DATA_REPS (30 timings per page), KEEP.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
export PATH

B=${B:-build}
BENCH_MUNIS=${BENCH_MUNIS:-100}
BENCH_PARTNERSHIPS=${BENCH_PARTNERSHIPS:-1000}
BENCH_NEWS=${BENCH_NEWS:-10000}
BENCH_CHUNK=${BENCH_CHUNK:-10}
BENCH_DATA_REPS=${BENCH_DATA_REPS:-30}
KEEP=${KEEP:-}

say() { printf 'bench-data: %s\n' "$*" >&2; }
die() {
	say "FAILED: $*"
	exit 1
}
case "$BENCH_MUNIS$BENCH_PARTNERSHIPS$BENCH_NEWS$BENCH_CHUNK$BENCH_DATA_REPS" in
*[!0-9]*) die "BENCH_MUNIS, BENCH_PARTNERSHIPS, BENCH_NEWS, BENCH_CHUNK, BENCH_DATA_REPS must be whole numbers" ;;
esac
[ "$BENCH_MUNIS" -ge 50 ] && [ "$BENCH_MUNIS" -le 999 ] || die "BENCH_MUNIS must be 50..999 (bench-050 is measured)"
[ "$BENCH_PARTNERSHIPS" -ge 1 ] && [ "$BENCH_CHUNK" -ge 1 ] || die "BENCH_PARTNERSHIPS and BENCH_CHUNK must be >= 1"
for c in curl python3 mariadb mariadbd nginx; do
	command -v "$c" >/dev/null 2>&1 || die "command \"$c\" not found (sh scripts/deps.sh installs it)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/portal-data.XXXXXX") || exit 2
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
	port=$((20000 + $$ % 20000))
url=http://127.0.0.1:$port
stack_up=0

stack() {
	PORTAL_VAR=$tmp PORT=$port B=$B MUNICIPALITIES=$tmp/municipalities.conf PORTAL_NO_DEMO='' \
		sh "$root/scripts/stack.sh" "$@"
}
cleanup() {
	trap - EXIT INT TERM HUP
	if [ "$stack_up" = 1 ]; then
		stack_up=0
		stack stop >>"$tmp/stack.out" 2>&1 || say "stack stop failed"
	fi
	if [ "$KEEP" = 1 ]; then
		say "kept $tmp (KEEP=1): PORTAL_VAR=$tmp MUNICIPALITIES=$tmp/municipalities.conf B=$B sh scripts/stack.sh start"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT
trap 'say terminated; exit 143' TERM
trap 'exit 129' HUP

sql() {
	mariadb --no-defaults --protocol=socket --socket="$tmp/run/mysqld.sock" --user=root \
		--batch --skip-column-names portal "$@"
}

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

python3 bench/scale.py conf conf/demo.conf "$tmp/municipalities.conf" "$BENCH_MUNIS" ||
	die "cannot write $tmp/municipalities.conf"
say "starting a private stack in $tmp on $url with $BENCH_MUNIS generated municipalities"
stack_up=1
# the response cache off: these timings are of the database path (with it,
# 29 of the 30 identical requests of each measurement would be cache hits)
if ! { stack init && echo 'cache = { size = 0; };' >>"$tmp/portal.conf" && stack start; } \
	>"$tmp/stack.out" 2>&1; then
	cat "$tmp/stack.out" >&2
	die "the stack did not start"
fi

python3 bench/scale.py sql "$BENCH_MUNIS" "$BENCH_PARTNERSHIPS" "$BENCH_NEWS" "$BENCH_CHUNK" \
	>"$tmp/generate.sql" || die "cannot generate the SQL"
say "generating $BENCH_MUNIS x $BENCH_PARTNERSHIPS partnerships and $BENCH_MUNIS x $BENCH_NEWS news ($tmp/generate.sql)"
t0=$(date +%s.%N)
# one statement per line; the session settings go with each one
sed -n 2p "$tmp/generate.sql" >"$tmp/session.sql"
sed -n '3,$p' "$tmp/generate.sql" | while IFS= read -r stmt; do
	s0=$(date +%s.%N)
	{ cat "$tmp/session.sql"; printf '%s\n' "$stmt"; } | sql >/dev/null 2>"$tmp/sql.err" ||
		{ cat "$tmp/sql.err" >&2; echo FAIL >"$tmp/sql.failed"; break; }
	what=$(printf '%s' "$stmt" | sed -n \
		-e 's/^INSERT INTO \([a-z_]*\) .*m\.seq BETWEEN \([0-9]*\) AND \([0-9]*\).*/\1 of bench-\2..\3/p' \
		-e 's/^INSERT INTO \([a-z_]*\) .*/\1/p' -e 's/^\(ANALYZE\|SET GLOBAL\) .*/\1/p' \
		-e 's/^SET SESSION innodb_ft_enable_stopword = OFF; ALTER TABLE \([a-z_]*\) ADD FULLTEXT.*/FULLTEXT index of \1/p' \
		-e 's/^ALTER TABLE \([a-z_]*\) DROP INDEX.*/(the FULLTEXT index of \1 dropped)/p' | head -n 1)
	printf 'bench-data:   %-40s %6.1f s\n' "$what" "$(elapsed "$s0")" >&2
done
[ -f "$tmp/sql.failed" ] && die "the generator failed (above)"
gen=$(elapsed "$t0")
counts=$(sql -e "SELECT (SELECT COUNT(*) FROM partnerships), (SELECT COUNT(*) FROM partnership_agreements), (SELECT COUNT(*) FROM news)")
size=$(sql -e "SELECT ROUND(SUM(data_length + index_length) / 1048576) FROM information_schema.tables WHERE table_schema = 'portal'")
set -- $counts

# The generated rows are what the plugins write: PATCH one partnership and
# one news item through the API (which recomputes sort_name and search_text)
# and compare.
token=$(cat "$tmp/admin.token")
consistent=yes
for pair in "partnerships:kind:MD5(search_text), MD5(sort_name)" "news:lang:MD5(search_text), sort_at"; do
	tbl=${pair%%:*}
	rest=${pair#*:}
	col=${rest%%:*}
	what=${rest#*:}
	id=$(sql -e "SELECT id FROM $tbl WHERE municipality = 'bench-050' ORDER BY id LIMIT 1 OFFSET 7")
	val=$(sql -e "SELECT $col FROM $tbl WHERE id = $id")
	before=$(sql -e "SELECT $what FROM $tbl WHERE id = $id")
	code=$(curl -s -o "$tmp/patch.out" -w '%{http_code}' -X PATCH -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' -d "{\"$col\":\"$val\"}" "$url/api/v1/bench-050/$tbl/$id")
	after=$(sql -e "SELECT $what FROM $tbl WHERE id = $id")
	if [ "$code" != 200 ] || [ "$before" != "$after" ]; then
		consistent="NO: $tbl $id: HTTP $code, before \"$before\", after \"$after\""
	fi
done

echo "## make bench-data — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "Machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM; MariaDB $(mariadbd --version | sed 's/.*Ver \([^ ]*\).*/\1/') as the stack starts it (--no-defaults: innodb_buffer_pool_size 128 MiB)."
echo
printf 'Generated in %.0f s: %s municipalities (bench-001..), %s partnerships, %s agreements, %s news; the database holds %s MiB.\n' \
	"$gen" "$BENCH_MUNIS" "$1" "$2" "$3" "$size"
echo
echo "Generated rows as the plugins write them (one partnership and one news item PATCHed through the API, sort_name/search_text/sort_at unchanged): $consistent"
echo
python3 bench/scale.py measure --url "$url" --reps "$BENCH_DATA_REPS" --muni bench-050 \
	--sql-cmd "mariadb --no-defaults --protocol=socket --socket=$tmp/run/mysqld.sock --user=root portal" ||
	die "the measurement failed"
