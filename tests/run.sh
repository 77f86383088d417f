#!/bin/sh
# tests/run.sh - the `make test` driver.
#
#   1. unit tests: every $B/tests/test_* binary (cwd = repository, env B)
#   2. integration: a private stack (MariaDB + portald + nginx, demo data) in a
#      temporary PORTAL_VAR on a free loopback port, then every
#      tests/integration/test_*.py (python3) and test_*.sh (sh) with
#      PORTAL_URL, PORTAL_CONF, PORTALCTL, PORTAL_VAR, PORTAL_DB_PORT (the
#      stack's MariaDB on 127.0.0.1, with a binary log, for a replica) and
#      PORTAL_ADMIN_TOKEN (an admin token for `*`) in the environment
#   3. the stack is stopped and the temporary directory removed (KEEP=1
#      keeps it); with SAN=1 every sanitizer report in the stack's logs is a
#      failure
#
# Every test program prints TAP-ish lines "ok N - what" / "not ok N - what"
# (other lines are diagnostics).  A program that exits non-zero without a
# "not ok" line, prints no result at all (unless "1..0", skip all) or runs
# longer than TEST_TIMEOUT seconds (default 300) counts as one failure.  The
# last line is "N passed, M failed"; the exit status is 0 only when M is 0.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
B=${B:-build}
SAN=${SAN:-}
KEEP=${KEEP:-}
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
export B

if [ "$SAN" = 1 ]; then
	# Leaks count; a report does not abort (so the rest of the output and the
	# exit status tell), UBSan stops at the first error (-fno-sanitize-recover).
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:strict_string_checks=1:print_summary=1}
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:print_summary=1}
	if [ -z "${LSAN_OPTIONS:-}" ] && [ -f "$root/tests/lsan.supp" ]; then
		LSAN_OPTIONS=suppressions=$root/tests/lsan.supp:print_suppressions=0
		export LSAN_OPTIONS
	fi
	export ASAN_OPTIONS UBSAN_OPTIONS
	# sanitizer builds start slower
	STACK_WAIT_PORTALD=${STACK_WAIT_PORTALD:-600}
	STACK_WAIT_HTTP=${STACK_WAIT_HTTP:-600}
	export STACK_WAIT_PORTALD STACK_WAIT_HTTP
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/portal-test.XXXXXX") || exit 2
out=$tmp/test-output
mkdir -p "$out" || exit 2
passed=0
failed=0
failures=$out/failures
: >"$failures"
stack_up=0
n_own=0

stack() {
	PORTAL_VAR=$tmp PORT=$port MUNICIPALITIES=$tmp/municipalities.conf \
		STACK_DB_PORT=$db_port PORTAL_NO_DEMO='' sh "$root/scripts/stack.sh" "$@"
}

cleanup() {
	if [ "$stack_up" = 1 ]; then
		stack_up=0
		stack stop
	fi
	if [ "$KEEP" = 1 ]; then
		echo "# kept $tmp (KEEP=1)"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT
trap 'echo "# terminated"; exit 143' TERM
trap 'exit 129' HUP

# own NAME OK|FAIL: a result of this driver itself
own() {
	n_own=$((n_own + 1))
	if [ "$2" = OK ]; then
		echo "ok $n_own - $1"
		passed=$((passed + 1))
	else
		echo "not ok $n_own - $1"
		failed=$((failed + 1))
		echo "run.sh: not ok - $1" >>"$failures"
	fi
}

# run NAME COMMAND...: runs one test program, shows its output and counts it
run() {
	name=$1
	shift
	f=$out/$(echo "$name" | tr '/' '_')
	echo "# --- $name"
	{
		timeout --foreground -k 10 "$TEST_TIMEOUT" "$@" </dev/null 2>&1
		echo $? >"$f.rc"
	} | tee "$f.out"
	rc=$(cat "$f.rc" 2>/dev/null || echo 1)
	p=$(grep -cE '^ok([[:space:]]|$)' "$f.out")
	nf=$(grep -cE '^not ok([[:space:]]|$)' "$f.out")
	passed=$((passed + p))
	failed=$((failed + nf))
	grep -E '^not ok([[:space:]]|$)' "$f.out" | sed "s|^|$name: |" >>"$failures"
	why=
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		why="timed out after ${TEST_TIMEOUT}s"
	elif [ "$rc" != 0 ] && [ "$nf" = 0 ]; then
		why="exited with status $rc"
	elif [ "$rc" = 0 ] && [ "$p" = 0 ] && [ "$nf" = 0 ] && ! grep -q '^1\.\.0' "$f.out"; then
		why="printed no ok/not ok line"
	fi
	if [ -n "$why" ]; then
		echo "not ok - $name $why"
		failed=$((failed + 1))
		echo "$name: $why" >>"$failures"
		return 1
	fi
	[ "$rc" = 0 ] && [ "$nf" = 0 ]
}

# show_logs: the ends of the stack's logs, after an integration failure
show_logs() {
	for l in portald.log nginx-error.log; do
		if [ -s "$tmp/log/$l" ]; then
			echo "# ---- last 40 lines of $tmp/log/$l"
			tail -n 40 "$tmp/log/$l" | sed 's/^/# /'
		fi
	done
}

# count_san_reports FILE...: sanitizer reports in the logs, one failure each
count_san_reports() {
	for l in "$@"; do
		[ -s "$l" ] || continue
		c=$(grep -cE '==[0-9]+==ERROR: [A-Za-z]+Sanitizer|runtime error:' "$l")
		if [ "$c" -gt 0 ]; then
			echo "# $c sanitizer report(s) in $l:"
			grep -E '==[0-9]+==ERROR: [A-Za-z]+Sanitizer|runtime error:|^SUMMARY: ' "$l" | head -n 20 | sed 's/^/#   /'
			failed=$((failed + c))
			echo "sanitizer: $c report(s) in $(basename "$l")" >>"$failures"
		fi
	done
}

# ---------------------------------------------------------------- unit tests

echo "# unit tests ($B/tests)"
nunit=0
for t in "$B"/tests/test_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	nunit=$((nunit + 1))
	run "$(basename "$t")" "$t"
done
[ "$nunit" = 0 ] && echo "# no unit test binaries in $B/tests"

# ---------------------------------------------------------------- fuzz smoke

# Each libFuzzer harness for FUZZ_SMOKE seconds (default 5; 0 skips) when
# clang is there; `make fuzz` runs them longer.
FUZZ_SMOKE=${FUZZ_SMOKE:-5}
if [ "$FUZZ_SMOKE" != 0 ] && command -v clang >/dev/null 2>&1; then
	echo "# fuzz smoke (${FUZZ_SMOKE}s per harness)"
	if make -s FUZZ=1 fuzz-build >"$out/fuzz-build.log" 2>&1; then
		run fuzz-smoke sh tests/fuzz/run.sh "$FUZZ_SMOKE" build-fuzz/fuzz
	else
		own "the fuzz harnesses build (see below)" FAIL
		tail -n 20 "$out/fuzz-build.log" | sed 's/^/#   /'
	fi
else
	echo "# fuzz smoke skipped (FUZZ_SMOKE=0 or no clang)"
fi

# ---------------------------------------------------------------- integration

echo "# integration tests (stack in $tmp)"
integ_failed_before=$failed

# The test configuration is conf/demo.conf plus `provkommun`, a
# municipality with no modules enabled (for the 404 tests), and
# `flyttkommun`, every module found in plugins/ and no demo data (what
# test_transfer.py imports into): the entries go in before the list's
# closing ");".
all_modules=$(python3 scripts/load-demo.py --modules | sed 's/[a-z0-9_][a-z0-9_]*/"&"/g')
if [ -n "$all_modules" ] && awk -v mods="$all_modules" '/^\);[[:space:]]*$/ { last = NR } { line[NR] = $0 }
	END {
		if (!last) exit 1
		for (i = 1; i <= NR; i++) {
			if (i == last) {
				print "  , { slug = \"provkommun\"; name = \"Provkommun\"; country = \"SE\"; languages = [\"sv\"]; modules = []; media_quota_bytes = 300000; }"
				print "  , { slug = \"flyttkommun\"; name = \"Flyttkommun\"; country = \"SE\"; languages = [\"sv\", \"en\"]; modules = [" mods "]; }"
			}
			print line[i]
		}
	}' conf/demo.conf >"$tmp/municipalities.conf"; then
	own "the test configuration is conf/demo.conf plus provkommun and flyttkommun" OK
else
	own "the test configuration is conf/demo.conf plus provkommun and flyttkommun (no closing \");\" line in conf/demo.conf)" FAIL
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
	port=$((20000 + $$ % 20000))
# MariaDB on loopback too, with a binary log, for test_replica.py's replica
db_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
	db_port=$((port + 1))

if stack init && { stack_up=1; stack start; }; then
	own "stack starts (MariaDB, migrations, portald, nginx on port $port, demo data)" OK
	PORTAL_URL=http://127.0.0.1:$port
	PORTAL_CONF=$tmp/portal.conf
	PORTALCTL=$(realpath -m -- "$B/portalctl")
	PORTAL_VAR=$tmp
	PORTAL_ADMIN_TOKEN=$(cat "$tmp/admin.token" 2>/dev/null || true)
	PORTAL_DB_PORT=$db_port
	export PORTAL_URL PORTAL_CONF PORTALCTL PORTAL_VAR PORTAL_ADMIN_TOKEN PORTAL_DB_PORT
	# Debian's python3 has the python3-* packages the tests read formats
	# with (icalendar, vobject); a python3 earlier on PATH may not
	py=python3
	[ -x /usr/bin/python3 ] && py=/usr/bin/python3
	for t in tests/integration/test_*.py tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		case $t in
		*.py) run "$t" "$py" "$t" ;;
		*.sh) run "$t" sh "$t" ;;
		esac
	done
	unset PORTAL_URL PORTAL_CONF PORTALCTL PORTAL_VAR PORTAL_ADMIN_TOKEN PORTAL_DB_PORT
	# the stack must still be whole after the tests
	if stack status --no-http >"$out/status" 2>&1; then
		own "the stack still runs after the integration tests" OK
	else
		sed 's/^/# /' "$out/status"
		own "the stack still runs after the integration tests" FAIL
	fi
else
	own "stack starts (MariaDB, migrations, portald, nginx on port $port, demo data)" FAIL
	echo "# integration tests not run: the stack did not start"
fi

if [ "$stack_up" = 1 ]; then
	stack_up=0
	if stack stop; then
		own "stack stops cleanly" OK
	else
		own "stack stops cleanly" FAIL
	fi
fi
[ "$SAN" = 1 ] && count_san_reports "$tmp/log/portald.log" "$tmp/log/portalctl.log"
[ "$failed" -gt "$integ_failed_before" ] && show_logs

# ---------------------------------------------------------------- summary

if [ -s "$failures" ]; then
	echo "# failed:"
	sed 's/^/#   /' "$failures"
fi
trap '' INT TERM HUP
cleanup
trap - EXIT
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
