#!/bin/sh
# deps.sh [run|test|bench] - install the Debian (12, bookworm) packages the project
# needs, before anything is compiled (the Makefile's `run`, `test` and `deps`
# call it first).
#
#   run    what building and running needs: the compiler, pkg-config, the
#          -dev libraries, MariaDB, nginx, python3, curl and iso-codes (the
#          country and language names the build compiles in) (`make run`)
#   test   all of run's, and what the tests and the bench need: clang and its
#          sanitizer runtime, valgrind, chromium, jq, spawn-fcgi, wrk,
#          python3-icalendar (test_harden.py reads the iCalendar export with it),
#          python3-vobject (test_contacts.py reads the vCard export with it),
#          Node.js and npm, then the npm packages of tests/contract (the
#          OpenAPI lint and contract tests) and tests/browser (playwright-core
#          and axe-core, driving Debian's chromium: no browser is downloaded)
#          (`make test`, `make deps`; the default)
#   bench  all of run's, wrk, and the PHP-FPM + PDO reference of `make bench`
#          (php-fpm, php-mysql: Debian's PHP 8.2 with opcache and pdo_mysql);
#          not in test's, so CI does not install PHP (`make bench`)
#
# Installs only what is missing, runs `apt-get update` only then, and says
# nothing when all is there.  Not root: prints the apt-get command and exits 1
# when something is missing.  Node.js and npm: any installation on PATH will
# do; Debian's nodejs and npm packages are installed when there is none.  The
# npm packages come from tests/{contract,browser}/package-lock.json (`npm
# ci`), only when node_modules is missing or was installed from another lock.  The
# MariaDB server and nginx are only used as private instances
# (scripts/stack.sh), so installing them must not leave the system's services
# running: a temporary policy-rc.d forbids starting them, and under systemd
# the ones installed here are stopped and disabled.
set -u

# One entry per need; "a|b" is satisfied by either package (the first is
# installed when none is).
RUN_NEEDS="build-essential pkg-config libfcgi-dev libmariadb-dev libconfig-dev
libjson-c-dev libsodium-dev libcmark-dev libunistring-dev libmagic-dev libvips-dev mariadb-server mariadb-client
nginx-light|nginx|nginx-core|nginx-full|nginx-extras python3 curl iso-codes"
TEST_NEEDS="jq spawn-fcgi wrk clang libclang-rt-14-dev valgrind chromium python3-icalendar python3-vobject"
BENCH_NEEDS="wrk php-fpm php-mysql"

say() { printf 'deps: %s\n' "$*" >&2; }

set_=${1:-test}
case $set_ in
run) NEEDS=$RUN_NEEDS ;;
test) NEEDS="$RUN_NEEDS $TEST_NEEDS" ;;
bench) NEEDS="$RUN_NEEDS $BENCH_NEEDS" ;;
*) say "usage: deps.sh [run|test|bench]"; exit 2 ;;
esac
# the place of the temporary policy-rc.d, and the init scripts' directory
# (tests/integration/test_deps.sh points both elsewhere)
policy=${DEPS_POLICY_RC_D:-/usr/sbin/policy-rc.d}
initd=${DEPS_INIT_D:-/etc/init.d}

root=$(cd "$(dirname "$0")/.." && pwd)

# npm_deps: tests/contract/node_modules and tests/browser/node_modules from
# their lock files.  A copy of the lock it was installed from is kept in
# node_modules, so a changed lock (a pull, a version bump) installs again; a
# failed install leaves no copy.
npm_deps() {
	[ "$set_" = test ] || return 0
	rc=0
	for sub in contract browser; do
		npm_ci "$sub" || rc=1
	done
	return $rc
}

npm_ci() {
	dir=$root/tests/$1
	[ -f "$dir/package-lock.json" ] || return 0
	if [ -d "$dir/node_modules" ] && cmp -s "$dir/package-lock.json" "$dir/node_modules/.deps-lock.json"; then
		return 0
	fi
	say "npm ci --prefix tests/$1"
	# its output only when it fails; playwright-core drives the system's
	# chromium, so no browser download
	if ! out=$(PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error 2>&1); then
		printf '%s\n' "$out" >&2
		say "FAILED: npm ci --prefix tests/$1"
		return 1
	fi
	cp "$dir/package-lock.json" "$dir/node_modules/.deps-lock.json"
}

installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q ' installed$'
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	say "no dpkg/apt-get: not a Debian system; install by hand:"
	say "  $(echo "$NEEDS" | sed 's/|[^[:space:]]*//g' | tr '\n' ' ')"
	exit 1
fi

missing=
for need in $NEEDS; do
	ok=0
	for p in $(echo "$need" | tr '|' ' '); do
		if installed "$p"; then
			ok=1
			break
		fi
	done
	[ "$ok" = 1 ] || missing="$missing ${need%%|*}"
done
# node and npm by command: a Node.js from elsewhere (NodeSource, nvm) is fine
if [ "$set_" = test ]; then
	command -v node >/dev/null 2>&1 || missing="$missing nodejs"
	command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
missing=${missing# }
if [ -z "$missing" ]; then
	npm_deps
	exit
fi

cmd="apt-get install -y --no-install-recommends $missing"
if [ "$(id -u)" != 0 ]; then
	say "missing Debian packages: $missing"
	say "not root, so nothing was installed; as root, run:"
	echo "  apt-get update && $cmd" >&2
	say "then this command again"
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
made_policy=0
cleanup() {
	[ "$made_policy" = 1 ] && rm -f "$policy"
	made_policy=0
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
if [ ! -e "$policy" ]; then
	# 101 = "action forbidden": invoke-rc.d / deb-systemd-invoke start nothing
	printf '#!/bin/sh\n# temporary, from scripts/deps.sh\nexit 101\n' >"$policy" &&
		chmod 755 "$policy" && made_policy=1
fi

apt="apt-get -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
say "installing: $missing"
say "apt-get update"
if ! $apt update >&2; then
	say "FAILED: apt-get update (is a Debian mirror reachable? see /etc/apt/sources.list*)"
	say "nothing was compiled; run the same command again once apt-get works"
	exit 1
fi
# shellcheck disable=SC2086
if ! $apt install -y --no-install-recommends $missing >&2; then
	say "FAILED: $cmd"
	say "nothing was compiled; run the same command again once apt-get works"
	exit 1
fi
cleanup

# The system instances are never used: make sure none runs because of us.
for p in $missing; do
	case $p in
	mariadb-server) svc=mariadb ;;
	nginx*) svc=nginx ;;
	php-fpm)
		# php8.2-fpm: the bench runs its own in a temporary directory
		svc=$(cd "$initd" 2>/dev/null && ls -d php*-fpm 2>/dev/null | head -n 1)
		[ -n "$svc" ] || continue
		;;
	*) continue ;;
	esac
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		say "stopping and disabling the system's $svc service (the project runs its own)"
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	elif [ -x "$initd/$svc" ] && "$initd/$svc" status >/dev/null 2>&1; then
		say "stopping the system's $svc service (the project runs its own)"
		"$initd/$svc" stop >/dev/null 2>&1 || true
	fi
done

for need in $NEEDS; do
	ok=0
	for p in $(echo "$need" | tr '|' ' '); do
		installed "$p" && ok=1
	done
	[ "$ok" = 1 ] || { say "still missing after apt-get: ${need%%|*}"; exit 1; }
done
if [ "$set_" = test ]; then
	for c in node npm; do
		command -v "$c" >/dev/null 2>&1 || { say "still missing after apt-get: $c"; exit 1; }
	done
fi
say "all packages installed"
npm_deps
