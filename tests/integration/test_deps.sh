#!/bin/sh
# test_deps.sh - `make run` and `make test` install their packages before
# they compile anything (issue 13), on a machine where nothing is installed
# and without installing anything.
#
# A copy of the working tree (no build, var or node_modules) in a temporary
# directory, and fakes of the package tools first on PATH: dpkg-query
# (nothing installed; everything once the fake apt-get has "installed"),
# apt-get (logs its arguments and whether the temporary policy-rc.d is in
# place, then succeeds or fails as the case needs), systemctl, node and npm
# (`npm ci` logs and makes node_modules in the copy), pkg-config (finds
# everything), cc (logs "compiled" and fails, so that make stops at the first
# compile and never starts a stack) and, for the not-root cases, id (uid
# 1000).  scripts/deps.sh's DEPS_POLICY_RC_D and DEPS_INIT_D point at the
# temporary directory, whose init.d has fake mariadb and nginx scripts that
# log: nothing of the system is touched.  Cases:
#
#   make run, root, apt-get works: `apt-get update`, then one `apt-get
#     install` of what running needs (the compiler, -dev libraries, MariaDB,
#     nginx ...) and none of the test packages (chromium, valgrind, clang
#     ...), no npm, the policy-rc.d there during the install and gone after,
#     the system's mariadb and nginx services stopped (the fakes); all that
#     before the first compile, and the compile does come after
#   make test, root, apt-get works: the same with the test packages too, and
#     `npm ci` of tests/contract and tests/browser, all before any compile
#   make run, apt-get install fails / apt-get update fails: make stops with
#     deps.sh's "FAILED: ..." and "nothing was compiled", nothing compiled
#   make run / make test, not root: the exact `apt-get update && apt-get
#     install ...` line on its own (with its set of packages), apt-get never
#     run, nothing compiled
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/#   /'; }

for c in make tar; do
	if ! command -v "$c" >/dev/null 2>&1; then
		echo "1..0 # skip $c not installed"
		exit 0
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/portal-deps.XXXXXX") || exit 1
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------- the copy

mkdir -p "$tmp/repo" "$tmp/bin" "$tmp/notroot" "$tmp/init.d" "$tmp/state" || exit 1
if ! tar -C "$root" --exclude=./.git --exclude=./build --exclude='./build-*' --exclude=./var \
	--exclude=node_modules --exclude=__pycache__ -cf - . | tar -C "$tmp/repo" -xf -; then
	echo "not ok 1 - cannot copy $root to $tmp/repo"
	exit 1
fi

# ---------------------------------------------------------------- the fakes

# every fake logs one line to $FAKE_LOG
cat >"$tmp/bin/dpkg-query" <<'EOF'
#!/bin/sh
# nothing is installed until the fake apt-get has installed
[ -f "$FAKE_STATE/installed" ] || exit 1
echo "install ok installed"
EOF
cat >"$tmp/bin/apt-get" <<'EOF'
#!/bin/sh
echo "apt-get $*" >>"$FAKE_LOG"
for a in "$@"; do
	case $a in
	update)
		[ "$FAKE_APT" = fail-update ] && { echo "E: fake: update fails" >&2; exit 100; }
		exit 0
		;;
	install)
		if [ -x "$DEPS_POLICY_RC_D" ]; then
			echo "policy-rc.d: $("$DEPS_POLICY_RC_D" >/dev/null 2>&1; echo $?)" >>"$FAKE_LOG"
		else
			echo "policy-rc.d: absent" >>"$FAKE_LOG"
		fi
		[ "$FAKE_APT" = fail-install ] && { echo "E: fake: install fails" >&2; exit 100; }
		: >"$FAKE_STATE/installed"
		exit 0
		;;
	esac
done
exit 0
EOF
cat >"$tmp/bin/cc" <<'EOF'
#!/bin/sh
echo "compiled $*" >>"$FAKE_LOG"
echo "fake cc: stops make here" >&2
exit 1
EOF
cat >"$tmp/bin/pkg-config" <<'EOF'
#!/bin/sh
exit 0
EOF
cat >"$tmp/bin/npm" <<'EOF'
#!/bin/sh
echo "npm $*" >>"$FAKE_LOG"
# npm ci --prefix DIR ...
[ "${1:-}" = ci ] && [ "${2:-}" = --prefix ] && mkdir -p "$3/node_modules"
exit 0
EOF
cat >"$tmp/bin/node" <<'EOF'
#!/bin/sh
echo "node $*" >>"$FAKE_LOG"
exit 0
EOF
cat >"$tmp/bin/systemctl" <<'EOF'
#!/bin/sh
echo "systemctl $*" >>"$FAKE_LOG"
exit 0
EOF
for svc in mariadb nginx; do
	cat >"$tmp/init.d/$svc" <<EOF
#!/bin/sh
echo "init.d/$svc \$*" >>"\$FAKE_LOG"
exit 0
EOF
done
real_id=$(command -v id)
cat >"$tmp/notroot/id" <<EOF
#!/bin/sh
case "\${1:-}" in
-u) echo 1000 ;;
-un) echo tester ;;
*) exec "$real_id" "\$@" ;;
esac
EOF
chmod 755 "$tmp/bin/"* "$tmp/notroot/id" "$tmp/init.d/"*

RUN_PKGS="build-essential pkg-config libfcgi-dev libmariadb-dev libconfig-dev libjson-c-dev
libsodium-dev libcmark-dev libunistring-dev libmagic-dev libvips-dev mariadb-server mariadb-client nginx-light python3 curl iso-codes"
TEST_PKGS="clang libclang-rt-14-dev valgrind chromium jq spawn-fcgi wrk python3-icalendar"

# run_make CASE TARGET APT [notroot]: make TARGET in the copy with the fakes;
# its output in $tmp/CASE.out, the fakes' log in $tmp/CASE.log, the status
# in $rc
run_make() {
	c=$1 target=$2 apt=$3
	path=$tmp/bin:$PATH
	[ "${4:-}" = notroot ] && path=$tmp/notroot:$path
	rm -rf "$tmp/state/installed" "$tmp/build" "$tmp/policy-rc.d" \
		"$tmp/repo/tests/contract/node_modules" "$tmp/repo/tests/browser/node_modules"
	: >"$tmp/$c.log"
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PATH="$path" FAKE_LOG="$tmp/$c.log" \
		FAKE_STATE="$tmp/state" FAKE_APT="$apt" DEPS_POLICY_RC_D="$tmp/policy-rc.d" \
		DEPS_INIT_D="$tmp/init.d" \
		timeout -k 5 120 make -C "$tmp/repo" "$target" CC="$tmp/bin/cc" B="$tmp/build" \
		PORT=1 </dev/null >"$tmp/$c.out" 2>&1
	rc=$?
}

# line_of FILE ERE: the number of the first line matching, else 0
line_of() { grep -n -E -m 1 -- "$2" "$1" | cut -d: -f1 | grep . || echo 0; }

# install_list CASE: the packages of the fake apt-get's install line
install_list() {
	sed -n 's/^apt-get .* install -y --no-install-recommends //p' "$tmp/$1.log" | head -n 1
}

# has_all LIST WORDS / has_none LIST WORDS: print what is wrong
has_all() {
	for w in $2; do
		case " $1 " in *" $w "*) ;; *) printf '%s ' "$w" ;; esac
	done
}
has_none() {
	for w in $2; do
		case " $1 " in *" $w "*) printf '%s ' "$w" ;; esac
	done
}

show() {
	{
		echo "make's output (end):"
		tail -n 15 "$tmp/$1.out"
		echo "the fakes' log:"
		head -c 3000 "$tmp/$1.log"
	} | diag
}

# check_installed_first CASE WHAT RUN_OR_TEST
check_installed_first() {
	c=$1
	upd=$(line_of "$tmp/$c.log" '^apt-get .*update')
	ins=$(line_of "$tmp/$c.log" '^apt-get .* install ')
	cmp_=$(line_of "$tmp/$c.log" '^compiled ')
	if [ "$upd" -gt 0 ] && [ "$ins" -gt "$upd" ] && [ "$cmp_" -gt "$ins" ]; then
		ok "$2: apt-get update, then apt-get install, then the first compile"
	else
		not_ok "$2: apt-get update, then apt-get install, then the first compile (lines $upd, $ins, $cmp_ of the log)"
		show "$c"
	fi
	list=$(install_list "$c")
	if [ "$3" = run ]; then
		miss=$(has_all "$list" "$RUN_PKGS")
		extra=$(has_none "$list" "$TEST_PKGS nodejs npm")
	else
		miss=$(has_all "$list" "$RUN_PKGS $TEST_PKGS")
		extra=
	fi
	if [ -n "$list" ] && [ -z "$miss" ] && [ -z "$extra" ]; then
		if [ "$3" = run ]; then
			ok "$2: the install line has run's packages and none of the tests' (chromium, valgrind, clang ...)"
		else
			ok "$2: the install line has run's and the tests' packages"
		fi
	else
		not_ok "$2: the install line has $3's packages (missing: ${miss:-none}; not wanted: ${extra:-none})"
		echo "install line: $list" | diag
	fi
	if grep -qx 'policy-rc.d: 101' "$tmp/$c.log" && [ ! -e "$tmp/policy-rc.d" ]; then
		ok "$2: a policy-rc.d forbidding service starts during the install, removed after"
	else
		not_ok "$2: a policy-rc.d forbidding service starts during the install, removed after"
		grep '^policy-rc.d' "$tmp/$c.log" | diag
	fi
	if grep -qx 'init.d/mariadb stop' "$tmp/$c.log" && grep -qx 'init.d/nginx stop' "$tmp/$c.log" &&
		[ "$(line_of "$tmp/$c.log" '^init\.d/nginx stop')" -lt "$cmp_" ]; then
		ok "$2: the system's mariadb and nginx services stopped (DEPS_INIT_D's fakes) before the compile"
	else
		not_ok "$2: the system's mariadb and nginx services stopped (DEPS_INIT_D's fakes) before the compile"
		grep '^init\.d' "$tmp/$c.log" | diag
	fi
}

# check_stopped CASE WHAT MESSAGE...: make failed, said each MESSAGE, compiled nothing
check_stopped() {
	c=$1 what=$2
	shift 2
	bad=
	[ "$rc" != 0 ] || bad="make exited 0;"
	for m in "$@"; do
		grep -qF -- "$m" "$tmp/$c.out" || bad="$bad no \"$m\";"
	done
	grep -q '^compiled ' "$tmp/$c.log" && bad="$bad a compile ran;"
	grep -q '^npm ' "$tmp/$c.log" && bad="$bad npm ran;"
	if [ -z "$bad" ]; then
		ok "$what"
	else
		not_ok "$what ($bad)"
		show "$c"
	fi
}

# ---------------------------------------------------------------- cases

run_make run-ok run ok
check_installed_first run-ok "make run (root)" run
if grep -q '^npm ' "$tmp/run-ok.log"; then
	not_ok "make run (root): no npm"
	grep '^npm ' "$tmp/run-ok.log" | diag
else
	ok "make run (root): no npm"
fi

run_make test-ok test ok
check_installed_first test-ok "make test (root)" test
ci_c=$(grep -c '^npm ci --prefix .*/tests/\(contract\|browser\) ' "$tmp/test-ok.log")
last_npm=$(grep -n '^npm ci' "$tmp/test-ok.log" | tail -n 1 | cut -d: -f1)
first_cc=$(line_of "$tmp/test-ok.log" '^compiled ')
if [ "$ci_c" = 2 ] && [ "${last_npm:-0}" -lt "$first_cc" ]; then
	ok "make test (root): npm ci of tests/contract and tests/browser, before the first compile"
else
	not_ok "make test (root): npm ci of tests/contract and tests/browser, before the first compile ($ci_c npm ci, last at line ${last_npm:-none}, first compile at $first_cc)"
	show test-ok
fi

run_make run-fail-install run fail-install
check_stopped run-fail-install "make run, apt-get install fails: make stops, says so, compiles nothing" \
	"deps: FAILED: apt-get install -y --no-install-recommends" "nothing was compiled"
if [ -e "$tmp/policy-rc.d" ]; then
	not_ok "make run, apt-get install fails: the temporary policy-rc.d is removed"
else
	ok "make run, apt-get install fails: the temporary policy-rc.d is removed"
fi

run_make run-fail-update run fail-update
check_stopped run-fail-update "make run, apt-get update fails: make stops, says so, compiles nothing" \
	"deps: FAILED: apt-get update" "nothing was compiled"

for t in run test; do
	run_make "$t-notroot" "$t" ok notroot
	check_stopped "$t-notroot" "make $t, not root: stops, compiles nothing" \
		"not root, so nothing was installed"
	line=$(grep -x '  apt-get update && apt-get install -y --no-install-recommends [a-z0-9.+ -]*' "$tmp/$t-notroot.out")
	list=${line#*--no-install-recommends }
	if [ "$t" = run ]; then
		miss=$(has_all "$list" "$RUN_PKGS")
		extra=$(has_none "$list" "$TEST_PKGS nodejs npm")
	else
		miss=$(has_all "$list" "$RUN_PKGS $TEST_PKGS")
		extra=
	fi
	if [ -n "$line" ] && [ -z "$miss" ] && [ -z "$extra" ] && ! grep -q '^apt-get' "$tmp/$t-notroot.log"; then
		ok "make $t, not root: prints the exact apt-get line ($(echo "$list" | wc -w) packages), runs no apt-get"
	else
		not_ok "make $t, not root: prints the exact apt-get line, runs no apt-get (missing: ${miss:-none}; not wanted: ${extra:-none})"
		show "$t-notroot"
	fi
done

echo "1..$n"
[ "$failed" = 0 ]
