#!/bin/sh
# run.sh - `make run`: the whole local stack in the foreground, supervised.
#
# `make run` has installed the packages and built (scripts/deps.sh run);
# this initialises $PORTAL_VAR once, starts MariaDB, portald and nginx
# (scripts/stack.sh start), prints the URL and watches them (every second,
# by their pid files).  When one of them exits, it says so on stderr (one
# "run: ..." line and the last lines of that one's log) and starts that one
# again (stack.sh start-mariadb|start-portald|start-nginx), the others
# untouched: while MariaDB is gone, portald answers 503 and reconnects by
# itself.  Restarts back off: 1 s before the first, then 2, 4, 8 ... up to
# RUN_BACKOFF_MAX (30) seconds while it keeps exiting or failing to start;
# back to 1 s once it has stayed up RUN_BACKOFF_RESET (60) seconds.
# SIGINT (Ctrl-C), SIGTERM or SIGHUP stop everything it started.  The data
# in $PORTAL_VAR survives: the next run starts from it.
#
# Environment: B (build), PORT (8080), PORTAL_VAR (var/), MUNICIPALITIES,
# PORTAL_NO_DEMO, STACK_DB_PORT -- see scripts/stack.sh; RUN_BACKOFF_MAX,
# RUN_BACKOFF_RESET (seconds).
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
PORTAL_VAR=$(realpath -m -- "${PORTAL_VAR:-$root/var}")
PORT=${PORT:-8080}
B=${B:-build}
export PORTAL_VAR PORT B
cd "$root" || exit 1

say() { printf 'run: %s\n' "$*" >&2; }
stack() { sh "$root/scripts/stack.sh" "$@"; }
# stack_bg ARGS: stack.sh in the background, its pid in $child (stack.sh
# itself, not a subshell: on_signal's SIGTERM must reach it), then waits
stack_bg() {
	sh "$root/scripts/stack.sh" "$@" &
	child=$!
	wait "$child"
	rc=$?
	child=
	return $rc
}

if [ ! -f "$PORTAL_VAR/portal.conf" ] || [ ! -d "$PORTAL_VAR/mysql/mysql" ]; then
	stack init || exit 1
fi

BACKOFF_MAX=${RUN_BACKOFF_MAX:-30}
BACKOFF_RESET=${RUN_BACKOFF_RESET:-60}
for v in "$BACKOFF_MAX" "$BACKOFF_RESET"; do
	case $v in
	'' | *[!0-9]*) say "RUN_BACKOFF_MAX and RUN_BACKOFF_RESET are seconds, not \"$v\""; exit 2 ;;
	esac
done

waiter=
child=
stopping=0
on_signal() {
	[ "$stopping" = 1 ] && return
	stopping=1
	trap '' INT TERM HUP
	say "got SIG$1, stopping"
	[ -n "$waiter" ] && kill "$waiter" 2>/dev/null
	if [ -n "$child" ]; then
		# a restart under way: stack.sh stops what it started
		kill -TERM "$child" 2>/dev/null
		wait "$child"
	fi
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

# `start` stops what it started when it fails (or is interrupted)
stack_bg start || exit 1

url="http://127.0.0.1:$PORT"
{
	echo
	echo "  The portal runs on $url/  (state and logs: $PORTAL_VAR)"
	echo
	echo "  curl -s $url/api/v1/municipalities"
	if [ -s "$PORTAL_VAR/admin.token" ]; then
		echo "  curl -s -H \"Authorization: Bearer \$(cat $PORTAL_VAR/admin.token)\" $url/api/v1/lerum/partnerships"
	fi
	if [ -s "$PORTAL_VAR/demo-users.txt" ]; then
		echo
		echo "  Edit in the browser: sign in at $url/login"
		echo "  with a demo account; e-mail addresses and passwords: $PORTAL_VAR/demo-users.txt"
	fi
	echo
	echo "  Ctrl-C stops it."
	echo
} >&2

# nap SECONDS: a sleep that a signal interrupts at once
nap() {
	sleep "$1" &
	waiter=$!
	wait "$waiter"
	waiter=
}

# The parts, by stack.sh status's names; per part (variables NAME_...):
# down (0/1), pid (last seen), delay (the next back-off, s), next (when to
# try again, epoch s), since (up since, epoch s).
parts="mariadbd portald nginx"
now=$(date +%s)
for p in $parts; do
	eval "down_$p=0 pid_$p= delay_$p=1 next_$p=0 since_$p=$now"
done
# part_of NAME: stack.sh's start-PART; log_of NAME: its log
part_of() { case $1 in mariadbd) echo mariadb ;; *) echo "$1" ;; esac; }
log_of() {
	case $1 in
	mariadbd) echo "$PORTAL_VAR/log/mariadb.log" ;;
	portald) echo "$PORTAL_VAR/log/portald.log" ;;
	nginx) echo "$PORTAL_VAR/log/nginx-error.log" ;;
	esac
}
double() {
	d=$(($1 * 2))
	[ "$d" -gt "$BACKOFF_MAX" ] && d=$BACKOFF_MAX
	echo "$d"
}

first=1
while :; do
	[ "$first" = 1 ] || nap 1
	first=0
	[ "$stopping" = 1 ] && break
	status=$(stack status --no-http 2>&1)
	now=$(date +%s)
	for p in $parts; do
		line=$(printf '%s\n' "$status" | awk -v p="$p" '$1 == p')
		down=0 pid='' delay=1 next=0 since=$now
		eval "down=\$down_$p pid=\$pid_$p delay=\$delay_$p next=\$next_$p since=\$since_$p"
		case $line in
		*"running (pid "*)
			pid=${line##*pid }
			pid=${pid%)}
			if [ "$down" = 1 ]; then
				# started by someone else meanwhile
				say "$p runs again (pid $pid)"
				since=$now
			fi
			# up long enough: the next restart waits 1 s again
			[ "$delay" -gt 1 ] && [ $((now - since)) -ge "$BACKOFF_RESET" ] && delay=1
			eval "down_$p=0 pid_$p=\$pid delay_$p=\$delay since_$p=\$since"
			continue
			;;
		*stopped*) ;;
		*) continue ;; # no answer about it: next time
		esac
		if [ "$down" = 0 ]; then
			# the pid its pid file still names (SIGKILL leaves it), else
			# the one last seen
			f=$(tr -dc '0-9' <"$PORTAL_VAR/run/$(part_of "$p").pid" 2>/dev/null)
			[ -n "$f" ] && pid=$f
			say "$p${pid:+ (pid $pid)} exited; restarting it in ${delay}s (the rest keeps running)"
			log=$(log_of "$p")
			if [ -s "$log" ]; then
				echo "---- last lines of $log ----" >&2
				tail -n 10 "$log" >&2
				echo "----" >&2
			else
				say "($log is empty)"
			fi
			eval "down_$p=1 next_$p=$((now + delay))"
			continue
		fi
		[ "$now" -ge "$next" ] || continue
		say "starting $p again (stack.sh start-$(part_of "$p"))"
		stack_bg "start-$(part_of "$p")"
		rc=$?
		[ "$stopping" = 1 ] && break
		now=$(date +%s)
		if [ "$rc" = 0 ]; then
			pid=$(tr -dc '0-9' <"$PORTAL_VAR/run/$(part_of "$p").pid" 2>/dev/null)
			say "$p is back${pid:+ (pid $pid)}"
			eval "down_$p=0 pid_$p=\$pid since_$p=$now delay_$p=$(double "$delay")"
		else
			delay=$(double "$delay")
			say "$p did not start (above); next try in ${delay}s"
			eval "delay_$p=$delay next_$p=$((now + delay))"
		fi
	done
done
