#!/bin/sh
# run.sh - `make run`: the whole local stack in the foreground.
#
# `make run` has installed the packages and built (scripts/deps.sh run);
# this initialises $PORTAL_VAR once,
# starts MariaDB, portald and nginx (scripts/stack.sh), prints the URL and
# waits.  SIGINT (Ctrl-C), SIGTERM or SIGHUP stop everything it started; so
# does one of the three dying.  The data in $PORTAL_VAR survives: the next
# run starts from it.
#
# Environment: B (build), PORT (8080), PORTAL_VAR (var/), MUNICIPALITIES,
# PORTAL_NO_DEMO -- see scripts/stack.sh.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
PORTAL_VAR=$(realpath -m -- "${PORTAL_VAR:-$root/var}")
PORT=${PORT:-8080}
B=${B:-build}
export PORTAL_VAR PORT B
cd "$root" || exit 1

say() { printf 'run: %s\n' "$*" >&2; }
stack() { sh "$root/scripts/stack.sh" "$@"; }

if [ ! -f "$PORTAL_VAR/portal.conf" ] || [ ! -d "$PORTAL_VAR/mysql/mysql" ]; then
	stack init || exit 1
fi

waiter=
stopping=0
on_signal() {
	[ "$stopping" = 1 ] && return
	stopping=1
	trap '' INT TERM HUP
	say "got SIG$1, stopping"
	[ -n "$waiter" ] && kill "$waiter" 2>/dev/null
	stack stop
	case $1 in
	INT) exit 130 ;;
	HUP) exit 129 ;;
	*) exit 143 ;;
	esac
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

# `start` stops what it started when it fails
stack start || exit 1

url="http://127.0.0.1:$PORT"
{
	echo
	echo "  The portal runs on $url/  (state and logs: $PORTAL_VAR)"
	echo
	echo "  curl -s $url/api/v1/municipalities"
	if [ -s "$PORTAL_VAR/admin.token" ]; then
		echo "  curl -s -H \"Authorization: Bearer \$(cat $PORTAL_VAR/admin.token)\" $url/api/v1/lerum/partnerships"
	fi
	echo
	echo "  Ctrl-C stops it."
	echo
} >&2

# Wait, and notice when a part of the stack dies.
while :; do
	sleep 5 &
	waiter=$!
	wait "$waiter"
	waiter=
	[ "$stopping" = 1 ] && break
	if ! out=$(stack status --no-http 2>&1); then
		say "the stack is no longer complete:"
		printf '%s\n' "$out" >&2
		for f in portald.log nginx-error.log mariadb.log; do
			if [ -s "$PORTAL_VAR/log/$f" ]; then
				echo "---- last lines of $PORTAL_VAR/log/$f ----" >&2
				tail -n 15 "$PORTAL_VAR/log/$f" >&2
			fi
		done
		trap '' INT TERM HUP
		stack stop
		exit 1
	fi
done
