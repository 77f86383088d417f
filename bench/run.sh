#!/bin/sh
# bench/run.sh - the `make bench` driver (issue #6).
#
#   1. a private stack (scripts/stack.sh: MariaDB + portald + nginx, demo
#      data) in a temporary PORTAL_VAR on a free loopback port; BENCH_ITEMS
#      synthetic partnerships and BENCH_FEED_ITEMS news items (linked to
#      them) are POSTed to BENCH_MUNI (borlange, the demo municipality with
#      all four modules) so that a list page has 20 items and the feed 20
#      entries
#   2. the portal's answers of the four cases are captured: the partnerships
#      list (?limit=20), one partnership, the news Atom feed and the HTML
#      overview page /{m}/; nginx gets two references per case serving the
#      very same bytes with the same Content-Type: a static file
#      (/bench/static/NAME) and bench/raw_fcgi.c (/bench/raw/NAME, all of
#      portald's response headers, as many workers as portald's, on its own
#      unix socket, in a copy of the portal's `location /` block, i.e. the
#      same fastcgi settings); the bench's nginx.conf is the stack's with
#      those locations inserted, installed in its place (nginx re-reads the
#      file it was started with) and loaded with `nginx -s reload`
#      PHP-FPM + PDO (bench/php_list.php) answers /bench/php/list: the same
#      list from the same MariaDB with one prepared statement and
#      json_encode, php-fpm with as many children as portald's workers on its
#      own unix socket in the temporary directory, opcache on, in another copy
#      of the same `location /` block (not the same bytes: the same rows in
#      the same order, checked by ids); BENCH_PHP=0 or no php-fpm skips it
#   3. wrk -t2 -c64 --latency, BENCH_SECONDS per run, interleaved static,
#      raw, portal, BENCH_ROUNDS rounds per case; then the write mix (90%
#      GET item, 10% PATCH; bench/mix.lua); worker RSS checkpoints after
#      each case; the memory phase (to 100k requests, and with BENCH_MEMORY=1
#      on to 200k, at least 50k more, with the same workers)
#   4. bench/bench.py report prints the table and the targets (also written
#      to $B/bench/report.md); everything started is stopped (trap)
#
# Environment: B (build dir), BENCH_SECONDS (10), BENCH_ROUNDS (2), BENCH_CASES
# (the cases run: "list item news html"; "" only the write mix),
# BENCH_WARMUP (1 s per target and case, 0: none), BENCH_THREADS (2),
# BENCH_CONNS (64), BENCH_MEMORY (1: the 200k memory check; 0: no memory
# phase at all; default: on to 100k requests only), BENCH_MEMORY_MAX
# (seconds of load at most per memory leg, 240), BENCH_MUNI (borlange),
# BENCH_ITEMS (24), BENCH_FEED_ITEMS (20), MUNICIPALITIES (conf/demo.conf), KEEP
# (1: keep the temporary directory), BENCH_PERF (1: one more portal run of
# the list and of the HTML page, not in the table, under `perf record` of
# portald's workers; the profiles are printed), BENCH_PHP (0: no PHP-FPM
# reference; `make bench` installs php-fpm and php-mysql first:
# scripts/deps.sh bench).
#
# Caching (issue #6, core/server/cache.c): BENCH_CACHE_OFF, BENCH_CACHE_ON and
# BENCH_CACHE_HOST are shell commands that set the `cache` group of the
# stack's configuration ($CONF): off (cache.size = 0: every request reads
# MariaDB), on (the default: cache.check = "database", one primary-key read
# per hit) and host (cache.check = "host": hits touch no database).  The
# bench runs the four cases off and on and the list and the HTML page with
# host, reloading portald (SIGHUP) in between; the write mix runs last,
# with the default cache.  BENCH_CACHE_HOST='' skips the host runs.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
export PATH

B=${B:-build}
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_ROUNDS=${BENCH_ROUNDS:-2}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_CONNS=${BENCH_CONNS:-64}
BENCH_MEMORY=${BENCH_MEMORY:-}
BENCH_MEMORY_MAX=${BENCH_MEMORY_MAX:-240}
BENCH_MUNI=${BENCH_MUNI:-borlange}
BENCH_ITEMS=${BENCH_ITEMS:-24}
BENCH_FEED_ITEMS=${BENCH_FEED_ITEMS:-20}
BENCH_CACHE_OFF=${BENCH_CACHE_OFF-'sed -i "/^cache = /d" "$CONF"; echo "cache = { size = 0; };" >>"$CONF"'}
BENCH_CACHE_ON=${BENCH_CACHE_ON-'sed -i "/^cache = /d" "$CONF"; echo "cache = { check = \"database\"; };" >>"$CONF"'}
BENCH_CACHE_HOST=${BENCH_CACHE_HOST-'sed -i "/^cache = /d" "$CONF"; echo "cache = { check = \"host\"; };" >>"$CONF"'}
BENCH_PERF=${BENCH_PERF:-}
BENCH_PHP=${BENCH_PHP:-1}
MUNI_FILE=${MUNICIPALITIES:-$root/conf/demo.conf}
KEEP=${KEEP:-}

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	say "FAILED: $*"
	exit 1
}

for c in wrk nginx curl python3 mariadbd; do
	command -v "$c" >/dev/null 2>&1 || die "command \"$c\" not found (sh scripts/deps.sh installs it)"
done
for f in "$B/portald" "$B/portalctl" "$B/bench/raw_fcgi"; do
	[ -x "$f" ] || die "$f not found: make bench-build B=$B"
done
case "$BENCH_SECONDS$BENCH_ROUNDS$BENCH_THREADS$BENCH_CONNS$BENCH_WARMUP" in
*[!0-9]*) die "BENCH_SECONDS, BENCH_ROUNDS, BENCH_THREADS, BENCH_CONNS, BENCH_WARMUP must be whole numbers" ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/portal-bench.XXXXXX") || exit 2
res=$tmp/bench
mkdir -p "$res" || exit 2
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
	port=$((20000 + $$ % 20000))
url=http://127.0.0.1:$port
stack_up=0
rawpid=
rawdbpid=
phppid=

stack() {
	PORTAL_VAR=$tmp PORT=$port B=$B MUNICIPALITIES=$MUNI_FILE PORTAL_NO_DEMO='' \
		sh "$root/scripts/stack.sh" "$@"
}

# stop_pid SIGNAL PID: PID (when set and alive) gets SIGNAL, then KILL
# if it still runs 5 s later
stop_pid() {
	[ -n "$2" ] && kill -0 "$2" 2>/dev/null || return 0
	kill -"$1" "$2" 2>/dev/null
	n=0
	while kill -0 "$2" 2>/dev/null && [ "$n" -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	kill -KILL "$2" 2>/dev/null
}

cleanup() {
	trap - EXIT INT TERM HUP
	stop_pid TERM "$rawpid"
	stop_pid TERM "$rawdbpid"
	stop_pid QUIT "$phppid" # php-fpm: a graceful stop
	if [ "$stack_up" = 1 ]; then
		stack_up=0
		stack stop >>"$res/stack.out" 2>&1 || say "stack stop failed (see $res/stack.out)"
	fi
	if [ "$KEEP" = 1 ]; then
		say "kept $tmp (KEEP=1)"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT
trap 'say terminated; exit 143' TERM
trap 'exit 129' HUP

started=$(date +%s)

# ---------------------------------------------------------------- the stack

say "starting a private stack in $tmp on $url (log: $res/stack.out)"
stack_up=1
if ! { stack init && stack start; } >"$res/stack.out" 2>&1; then
	cat "$res/stack.out" >&2
	die "the stack did not start"
fi
token=$(cat "$tmp/admin.token") || die "no $tmp/admin.token (demo data not loaded?)"
master_pidfile=$tmp/run/portald.pid

say "POSTing $BENCH_ITEMS synthetic partnerships and $BENCH_FEED_ITEMS news items to $BENCH_MUNI"
ids=$(python3 bench/bench.py fill --url "$url" --token "$token" --muni "$BENCH_MUNI" \
	--count "$BENCH_ITEMS") || die "could not fill $BENCH_MUNI"
idcsv=$(printf '%s\n' "$ids" | paste -sd, -)
# the third one has three agreements (bench.py: i % 4) and linked news
item_id=$(echo "$ids" | sed -n 3p)
[ -n "$item_id" ] || die "fewer than 3 partnerships created"
python3 bench/bench.py fill --url "$url" --token "$token" --muni "$BENCH_MUNI" --module news \
	--count "$BENCH_FEED_ITEMS" --related "$idcsv" >/dev/null || die "could not fill $BENCH_MUNI's news"

# The cases: NAME and the portal's path.  The references answer
# /bench/static/NAME and /bench/raw/NAME (with the same query string).
CASES="list item news html"
path_list="/api/v1/$BENCH_MUNI/partnerships?limit=20"
path_item="/api/v1/$BENCH_MUNI/partnerships/$item_id"
path_news="/api/v1/$BENCH_MUNI/news.atom"
path_html="/$BENCH_MUNI/"
portal_path() { eval "printf '%s' \"\$path_$1\""; }
ref_path() {
	pp=$(portal_path "$2")
	case "$pp" in
	*\?*) printf '/bench/%s/%s?%s' "$1" "$2" "${pp#*\?}" ;;
	*) printf '/bench/%s/%s' "$1" "$2" ;;
	esac
}

# capture NAME: the portal's answer (body, headers; the headers raw_fcgi
# repeats are all of portald's, i.e. not nginx's own)
capture() {
	code=$(curl -s -D "$res/$1.h" -o "$res/$1.body" -w '%{http_code}' "$url$(portal_path "$1")") ||
		die "curl $(portal_path "$1")"
	[ "$code" = 200 ] || die "GET $(portal_path "$1"): HTTP $code: $(head -c 300 "$res/$1.body")"
	tr -d '\r' <"$res/$1.h" | sed -e '1d' -e '/^$/d' |
		grep -viE '^(server|date|content-length|connection|transfer-encoding|x-request-id):' \
			>"$res/$1.hdrs"
	sed -n 's/^content-type:[[:space:]]*//Ip' "$res/$1.hdrs" | head -n 1 >"$res/$1.ct"
}
for c in $CASES; do
	capture "$c"
	say "captured $c: $(portal_path "$c"): $(wc -c <"$res/$c.body") bytes, $(cat "$res/$c.ct")"
done
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$res/list.body")
[ "$n" = 20 ] || die "the list has $n items, not 20"
n=$(grep -c '<entry[ >]' "$res/news.body")
[ "$n" -ge 20 ] || die "the Atom feed has $n entries, fewer than 20"

# ---------------------------------------------------------------- the references

# wait_socket WHAT PID SOCKET LOG: until PID, started in the background,
# has made SOCKET (dies naming LOG when it exited, or after 5 s)
wait_socket() {
	n=0
	until [ -S "$3" ]; do
		kill -0 "$2" 2>/dev/null || die "$1 exited: $(cat "$4")"
		[ "$n" -ge 50 ] && die "$1 did not create $3"
		sleep 0.1
		n=$((n + 1))
	done
}


workers=$(awk '/^[[:space:]]*workers[[:space:]]*=/ { gsub(/[^0-9]/, ""); print; exit }' "$tmp/portal.conf")
[ -n "$workers" ] && [ "$workers" != 0 ] || workers=$(nproc)
rawsock=$tmp/run/raw.sock
say "starting raw_fcgi on $rawsock with $workers workers"
set --
for c in $CASES; do
	set -- "$@" -m "/bench/raw/$c=$res/$c.body"
	while IFS= read -r h; do
		set -- "$@" -H "$h"
	done <"$res/$c.hdrs"
done
"$B/bench/raw_fcgi" -s "$rawsock" -n "$workers" -p "$tmp/run/raw_fcgi.pid" "$@" \
	</dev/null >>"$tmp/log/raw_fcgi.log" 2>&1 &
rawpid=$!
wait_socket raw_fcgi "$rawpid" "$rawsock" "$tmp/log/raw_fcgi.log"

# raw + 1 read: raw_fcgi -q, the list's bytes after one primary-key read
# of the bench's item from the same MariaDB (a connection and a prepared
# statement per worker), the least any uncached answer costs.
conf_db() {
	sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\"\([^\"]*\)\";.*/\1/p" "$tmp/portal.conf" | head -n 1
}
rawdbsock=$tmp/run/rawdb.sock
set -- -m "/bench/rawdb/list=$res/list.body"
while IFS= read -r h; do
	set -- "$@" -H "$h"
done <"$res/list.hdrs"
say "starting raw_fcgi -q (one read per request) on $rawdbsock with $workers workers"
RAW_DB_SOCKET=$tmp/run/mysqld.sock RAW_DB_USER=$(conf_db user) RAW_DB_PASSWORD=$(conf_db password) \
	RAW_DB_NAME=$(conf_db name) RAW_DB_ID=$item_id \
	RAW_DB_SQL='SELECT version FROM partnerships WHERE id = ?' \
	"$B/bench/raw_fcgi" -q -s "$rawdbsock" -n "$workers" -p "$tmp/run/raw_fcgi_db.pid" "$@" \
	</dev/null >>"$tmp/log/raw_fcgi_db.log" 2>&1 &
rawdbpid=$!
wait_socket "raw_fcgi -q" "$rawdbpid" "$rawdbsock" "$tmp/log/raw_fcgi_db.log"

# PHP-FPM + PDO (bench/php_list.php): php-fpm in $tmp/php, as many children
# as portald's workers (pm = static), on its own unix socket, opcache on (as
# production PHP runs; Debian's php.ini and conf.d otherwise), the portal's
# database user on MariaDB's socket.
phpfpm=
if [ "$BENCH_PHP" != 0 ]; then
	phpfpm=$(command -v php-fpm 2>/dev/null ||
		ls /usr/sbin/php-fpm[0-9]* 2>/dev/null | sort -V | tail -n 1)
	[ -n "$phpfpm" ] || say "no php-fpm (sh scripts/deps.sh bench installs it): no PHP reference"
fi
phpsock=$tmp/run/php.sock
: >"$res/php.params"
if [ -n "$phpfpm" ]; then
	mkdir -p "$tmp/php" || die "mkdir $tmp/php"
	cp bench/php_list.php "$tmp/php/list.php" || die "cp bench/php_list.php"
	set --
	[ "$(id -u)" = 0 ] && set -- -R # (a private instance, run as the bench's user)
	# opcache on, scripts never checked for changes (as production PHP runs)
	set -- "$@" -d opcache.enable=1 -d opcache.validate_timestamps=0
	{
		echo "[global]"
		echo "pid = $tmp/run/php-fpm.pid"
		echo "error_log = $tmp/log/php-fpm.log"
		echo "daemonize = no"
		echo "[bench]"
		echo "user = $(id -un)"
		echo "group = $(id -gn)"
		echo "listen = $phpsock"
		echo "listen.mode = 0666"
		echo "pm = static"
		echo "pm.max_children = $workers"
		echo "catch_workers_output = yes"
		echo "php_admin_value[display_errors] = 0"
		echo "php_admin_value[log_errors] = 1"
	} >"$tmp/php/php-fpm.conf" || die "cannot write $tmp/php/php-fpm.conf"
	say "starting $phpfpm on $phpsock with $workers children (opcache on)"
	"$phpfpm" "$@" -y "$tmp/php/php-fpm.conf" </dev/null >>"$tmp/log/php-fpm.log" 2>&1 &
	phppid=$!
	wait_socket php-fpm "$phppid" "$phpsock" "$tmp/log/php-fpm.log"
	printf 'BENCH_MUNI\t%s\nBENCH_DB_SOCKET\t%s\nBENCH_DB_NAME\t%s\nBENCH_DB_USER\t%s\nBENCH_DB_PASSWORD\t%s\nSCRIPT_FILENAME\t%s\n' \
		"$BENCH_MUNI" "$tmp/run/mysqld.sock" "$(conf_db name)" "$(conf_db user)" "$(conf_db password)" \
		"$tmp/php/list.php" >"$res/php.params"
fi

# The bench's nginx.conf: the stack's, plus an upstream for raw_fcgi and,
# after the portal's `location / { ... }`, a static location per case and
# copies of that block for raw_fcgi (same fastcgi settings, other
# fastcgi_pass).
for c in $CASES; do
	printf '%s\t%s\t%s\n' "$c" "$res/$c.body" "$(cat "$res/$c.ct")"
done >"$res/cases.tsv"
awk -v rawsock="$rawsock" -v rawdbsock="$rawdbsock" -v cases="$res/cases.tsv" -v phpsock="${phpfpm:+$phpsock}" \
	-v phpparams="$res/php.params" '
BEGIN {
	FS = "\t"
	while ((getline line < cases) > 0) {
		split(line, f, "\t")
		n++; name[n] = f[1]; file[n] = f[2]; ct[n] = f[3]
	}
	while (phpsock != "" && (getline line < phpparams) > 0) {
		split(line, f, "\t")
		nphp++; phpk[nphp] = f[1]; phpv[nphp] = f[2]
	}
	FS = " "
}
# the PHP reference: the block once more, with the server level fastcgi_param
# lines repeated (a fastcgi_param in a location hides the inherited ones),
# the script and the database as parameters
function php_loc(   i, k, l) {
	for (i = 1; i <= nblock; i++) {
		l = block[i]
		if (i == 1)
			sub(/location \/ \{/, "location = /bench/php/list {", l)
		if (l ~ /fastcgi_pass portald;/) {
			sub(/fastcgi_pass portald;/, "fastcgi_pass bench_php;", l)
			print l
			for (k = 1; k <= nparam; k++)
				print param[k]
			for (k = 1; k <= nphp; k++)
				print "            fastcgi_param " phpk[k] " \"" phpv[k] "\";"
			continue
		}
		print l
	}
}
function static_loc(nm, fl, t) {
	print "        location = /bench/static/" nm " {"
	print "            alias \"" fl "\";"
	print "            types { }"
	print "            default_type \"" t "\";"
	print "            add_header X-Content-Type-Options nosniff;"
	print "            add_header X-Request-Id $request_id always;"
	print "        }"
}
function raw_loc(nm, kind,   i, l) {
	for (i = 1; i <= nblock; i++) {
		l = block[i]
		if (i == 1)
			sub(/location \/ \{/, "location = /bench/" kind "/" nm " {", l)
		sub(/fastcgi_pass portald;/, "fastcgi_pass bench_" kind ";", l)
		print l
	}
}
/^[[:space:]]*upstream portald[[:space:]]*\{/ {
	print "    upstream bench_raw {"
	print "        server \"unix:" rawsock "\";"
	print "    }"
	print "    upstream bench_rawdb {"
	print "        server \"unix:" rawdbsock "\";"
	print "    }"
	if (phpsock != "") {
		print "    upstream bench_php {"
		print "        server \"unix:" phpsock "\";"
		print "    }"
	}
	up = 1
}
!inblock && /^[[:space:]]*fastcgi_param[[:space:]]/ { param[++nparam] = $0 }
!done && /^[[:space:]]*location \/ \{/ { inblock = 1; depth = 0 }
{ print }
inblock {
	block[++nblock] = $0
	o = gsub(/\{/, "{"); c = gsub(/\}/, "}")
	depth += o - c
	if (depth == 0) {
		inblock = 0; done = 1
		print "        # ---- make bench: the references (bench/run.sh)"
		for (i = 1; i <= n; i++)
			static_loc(name[i], file[i], ct[i])
		for (i = 1; i <= n; i++)
			raw_loc(name[i], "raw")
		raw_loc("list", "rawdb")
		if (phpsock != "")
			php_loc()
	}
}
END { if (!up || !done || !n) exit 1 }' "$tmp/nginx.conf" >"$tmp/nginx-bench.conf" ||
	die "cannot find \"upstream portald {\" and \"location / {\" in $tmp/nginx.conf"
nginx -t -p "$tmp/nginx" -c "$tmp/nginx-bench.conf" -e "$tmp/log/nginx-error.log" \
	>"$res/nginx-t.out" 2>&1 || die "nginx -t of the bench config: $(cat "$res/nginx-t.out")"
cp "$tmp/nginx.conf" "$tmp/nginx.conf.stack" && cp "$tmp/nginx-bench.conf" "$tmp/nginx.conf" ||
	die "cannot install $tmp/nginx-bench.conf"
nginx -p "$tmp/nginx" -c "$tmp/nginx.conf" -e "$tmp/log/nginx-error.log" -s reload ||
	die "nginx -s reload"

# same_bytes PATH FILE: the answer to PATH is FILE, byte for byte (retried:
# the reload is asynchronous).  The Atom feed's own <updated> is the time of
# the request, so the portal's feed is compared with that one element masked
# (same length: the references serve the captured one).
feed_mask() { sed '0,/<updated>/s/<updated>[^<]*<\/updated>/<updated>(masked)<\/updated>/' "$1"; }
same_bytes() {
	k=0
	while [ "$k" -lt 50 ]; do
		if curl -s -o "$res/check.body" "$url$1"; then
			if cmp -s "$res/check.body" "$2"; then
				return 0
			fi
			if [ "$(head -c 5 "$2")" = "<?xml" ] &&
				[ "$(wc -c <"$res/check.body")" = "$(wc -c <"$2")" ] &&
				[ "$(feed_mask "$res/check.body" | cksum)" = "$(feed_mask "$2" | cksum)" ]; then
				return 0
			fi
		fi
		sleep 0.1
		k=$((k + 1))
	done
	return 1
}
for c in $CASES; do
	for p in "$(ref_path static "$c")" "$(ref_path raw "$c")" "$(portal_path "$c")"; do
		same_bytes "$p" "$res/$c.body" || die "GET $p does not answer the bytes of $res/$c.body"
		ct=$(curl -s -o /dev/null -w '%{content_type}' "$url$p")
		[ "$ct" = "$(cat "$res/$c.ct")" ] || die "GET $p: Content-Type $ct, not $(cat "$res/$c.ct")"
	done
done
same_bytes "$(ref_path rawdb list)" "$res/list.body" ||
	die "GET $(ref_path rawdb list) does not answer the bytes of $res/list.body: $(cat "$tmp/log/raw_fcgi_db.log")"
say "static, raw-fcgi and portal answer the same bytes with the same Content-Type ($CASES; the feed's <updated>, the time of the request, aside)"
php_path=
if [ -n "$phpfpm" ]; then
	php_path="/bench/php/list?limit=20"
	k=0
	until [ "$(curl -s -o "$res/php.body" -w '%{http_code}' "$url$php_path")" = 200 ]; do
		[ "$k" -ge 50 ] && die "GET $php_path: $(head -c 300 "$res/php.body"); $(tail -n 5 "$tmp/log/php-fpm.log")"
		sleep 0.1
		k=$((k + 1))
	done
	python3 bench/bench.py same-rows "$res/list.body" "$res/php.body" >&2 ||
		die "the PHP reference does not answer the portal's list ($res/php.body)"
fi

# ---------------------------------------------------------------- runs

cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
cache_modes='"off"'
[ -n "$BENCH_CACHE_ON" ] && cache_modes="$cache_modes, \"on\""
[ -n "$BENCH_CACHE_HOST" ] && cache_modes="$cache_modes, \"host\""
python3 - "$res/meta.json" <<EOF
import json, sys
json.dump({
    "when": "$(date -u '+%Y-%m-%d %H:%M UTC')",
    "machine": "$(nproc) cores ($cpu), $mem RAM, Linux $(uname -r), $(nginx -v 2>&1 | sed 's/.*: //'), $(mariadbd --version | sed 's/.*Ver \([^ ]*\).*/MariaDB \1/'), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)",
    "threads": $BENCH_THREADS, "conns": $BENCH_CONNS, "seconds": $BENCH_SECONDS,
    "rounds": $BENCH_ROUNDS, "workers": $workers, "memory": "$BENCH_MEMORY",
    "cache_modes": [$cache_modes],
}, open(sys.argv[1], "w"))
EOF

checkpoint() {
	python3 bench/bench.py checkpoint "$url" "$master_pidfile" "$1" >>"$res/checkpoints.jsonl" ||
		say "checkpoint $1 failed"
}

# run_wrk CASE KIND ROUND PATH [SCRIPT LUA-ARG...]
run_wrk() {
	c=$1 k=$2 r=$3 p=$4
	shift 4
	f=$res/wrk-$c-$k-$r.txt
	python3 bench/bench.py cpu "$tmp/run" "$res/cpu0.json"
	times >"$res/times0" # (not in $(...): a subshell has its own children)
	if [ $# -gt 0 ]; then
		s=$1
		shift
		wrk -t"$BENCH_THREADS" -c"$BENCH_CONNS" -d"${BENCH_SECONDS}s" --latency -s "$s" \
			"$url$p" -- "$@" >"$f" 2>&1
	else
		wrk -t"$BENCH_THREADS" -c"$BENCH_CONNS" -d"${BENCH_SECONDS}s" --latency "$url$p" >"$f" 2>&1
	fi
	times >"$res/times1"
	python3 bench/bench.py cpu "$tmp/run" "$res/cpu1.json"
	if ! python3 bench/bench.py wrk "$f" "$c" "$k" "$r" "$res/cpu0.json" "$res/cpu1.json" \
		"$(tail -n 1 "$res/times0")" "$(tail -n 1 "$res/times1")" >>"$res/runs.jsonl"; then
		cat "$f" >&2
		die "wrk $c $k: no result"
	fi
	printf 'bench:   %-12s %-7s round %s: %8s req/s  p50 %-9s p99 %-9s %s\n' "$c" "$k" "$r" \
		"$(sed -n 's/^Requests\/sec:[[:space:]]*//p' "$f")" \
		"$(awk '$1 == "50%" { print $2 }' "$f")" "$(awk '$1 == "99%" { print $2 }' "$f")" \
		"$(grep -E '^[[:space:]]*(Socket errors|Non-2xx)' "$f" | tr -s ' \n' ' ')" >&2
}

warm() {
	[ "$BENCH_WARMUP" -gt 0 ] || return 0
	wrk -t"$BENCH_THREADS" -c"$BENCH_CONNS" -d"${BENCH_WARMUP}s" "$url$1" >/dev/null 2>&1
}

perf_portal() {
	[ "$BENCH_PERF" = 1 ] && command -v perf >/dev/null 2>&1 || return 0
	pids=$(python3 bench/bench.py workers "$master_pidfile" | cut -d' ' -f1 | tr '\n' ',' | sed 's/,$//')
	perf record -q -o "$res/perf.data" -p "$pids" -- sleep "$BENCH_SECONDS" \
		>"$res/perf.out" 2>&1 &
	perfpid=$!
}
perf_report() {
	[ -n "${perfpid:-}" ] || return 0
	wait "$perfpid"
	perfpid=
	say "perf: where the portal's workers spend their time ($1 case), by library:"
	perf report -i "$res/perf.data" --sort dso --stdio 2>/dev/null |
		grep -E '^ +[0-9.]+%' | head -n 12 >&2
	say "perf: by function (self, top 30):"
	perf report -i "$res/perf.data" --sort dso,symbol --stdio 2>/dev/null |
		grep -E '^ +[0-9.]+%' | head -n 30 >&2
}

# read_case CASE PORTAL-PATH STATIC-PATH RAW-PATH
read_case() {
	say "case $1: static $3, raw-fcgi $4, portal $2"
	warm "$3"
	warm "$4"
	warm "$2"
	[ "$1" = list ] && warm "$(ref_path rawdb list)"
	[ "$1" = list ] && [ -n "$php_path" ] && warm "$php_path"
	r=1
	while [ "$r" -le "$BENCH_ROUNDS" ]; do
		run_wrk "$1" static "$r" "$3"
		run_wrk "$1" raw "$r" "$4"
		run_wrk "$1" portal "$r" "$2"
		# raw + 1 read: what any uncached answer costs at the least
		[ "$1" = list ] && run_wrk "$1" rawdb "$r" "$(ref_path rawdb list)"
		# the PHP-FPM reference of the uncached list, in the same rounds
		[ "$1" = list ] && [ -n "$php_path" ] && run_wrk "$1" php "$r" "$php_path"
		r=$((r + 1))
	done
	if [ "$BENCH_PERF" = 1 ] && { [ "$1" = list ] || [ "$1" = html ]; }; then
		# an extra run under perf, not in the table (perf slows the workers)
		perf_portal
		run_wrk "perf-$1" portal 1 "$2"
		perf_report "$1"
	fi
	checkpoint "after-$1"
}

# set_cache on|off: the future cache knob (see the top of this file)
set_cache() {
	case $1 in
	on) cmd=$BENCH_CACHE_ON ;;
	host) cmd=$BENCH_CACHE_HOST ;;
	*) cmd=$BENCH_CACHE_OFF ;;
	esac
	[ -n "$cmd" ] || return 0
	say "caching $1: $cmd"
	CONF=$tmp/portal.conf PORTAL_VAR=$tmp sh -c "$cmd" || die "BENCH_CACHE_${1} failed"
	before=$(python3 bench/bench.py workers "$master_pidfile" | cut -d' ' -f1 | tr '\n' ' ')
	kill -HUP "$(cat "$master_pidfile")" || die "cannot signal portald"
	k=0
	while :; do
		now=$(python3 bench/bench.py workers "$master_pidfile" | cut -d' ' -f1 | tr '\n' ' ')
		if [ "$now" != "$before" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")" = 200 ]; then
			break
		fi
		[ "$k" -ge 100 ] && die "portald did not replace its workers after SIGHUP (log: $tmp/log/portald.log)"
		sleep 0.1
		k=$((k + 1))
	done
	for c in $CASES; do
		same_bytes "$(portal_path "$c")" "$res/$c.body" ||
			die "with caching $1 the portal answers other bytes than captured ($c)"
	done
}

checkpoint start
say "worker RSS before (pid VmRSS VmHWM KiB): $(python3 bench/bench.py workers "$master_pidfile" | tr '\n' ';')"

modes=off
[ -n "$BENCH_CACHE_ON" ] && modes="$modes on"
[ -n "$BENCH_CACHE_HOST" ] && modes="$modes host"
for mode in $modes; do
	set_cache "$mode"
	sfx=
	cases=${BENCH_CASES-$CASES}
	[ "$mode" = on ] && sfx=-cached
	[ "$mode" = host ] && sfx=-host && cases="list html"
	for c in $cases; do
		read_case "$c$sfx" "$(portal_path "$c")" "$(ref_path static "$c")" "$(ref_path raw "$c")"
	done
done

[ -n "$BENCH_CACHE_HOST" ] && [ -n "$BENCH_CACHE_ON" ] && set_cache on
say "case write: 90% GET item, 10% PATCH ($BENCH_ITEMS items of $BENCH_MUNI, admin token)"
r=1
while [ "$r" -le "$BENCH_ROUNDS" ]; do
	run_wrk write portal "$r" "$path_item" bench/mix.lua \
		"/api/v1/$BENCH_MUNI/partnerships" "$token" "$idcsv" 10
	r=$((r + 1))
done
checkpoint after-write

# ---------------------------------------------------------------- memory

# drive_to N LABEL: the memory mix (list, items, 10% PATCH) until portald
# has answered N requests in all, at most BENCH_MEMORY_MAX seconds
drive_to() {
	t0=$(date +%s)
	leg=0
	while :; do
		total=$(python3 bench/bench.py requests "$url")
		[ "$total" -ge "$1" ] && return 0
		if [ $(($(date +%s) - t0)) -ge "$BENCH_MEMORY_MAX" ]; then
			say "memory: only $total of $1 requests within BENCH_MEMORY_MAX=${BENCH_MEMORY_MAX}s"
			return 1
		fi
		leg=$((leg + 1))
		run_wrk memory portal "$2.$leg" "$path_item" bench/mix.lua \
			"/api/v1/$BENCH_MUNI/partnerships" "$token" "$idcsv" 10 "$path_list" 3
	done
}

total=$(python3 bench/bench.py requests "$url")
say "portald has answered $total requests"
target=100000
[ "$total" -gt "$target" ] && target=$total
[ "$BENCH_MEMORY" = 0 ] || { drive_to "$target" to100k && checkpoint mem-100k; }
if [ "$BENCH_MEMORY" = 1 ]; then
	base=$(python3 bench/bench.py requests "$url")
	target=$((base + 50000))
	[ "$target" -lt 200000 ] && target=200000
	say "memory: on to $target requests (list, items, 10% PATCH) from $base"
	drive_to "$target" to200k && checkpoint mem-200k
fi
checkpoint end
say "worker RSS after (pid VmRSS VmHWM KiB): $(python3 bench/bench.py workers "$master_pidfile" | tr '\n' ';')"

# ---------------------------------------------------------------- report

say "done in $(($(date +%s) - started)) s"
mkdir -p "$B/bench"
python3 bench/bench.py report "$res" >"$B/bench/report.md" || die "bench.py report failed"
cat "$B/bench/report.md"
echo "(also in $B/bench/report.md)"
