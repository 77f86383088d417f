#!/bin/sh
# stack.sh init|start|stop|status - the local stack: a private MariaDB, portald
# and nginx, all under $PORTAL_VAR.  Used by `make run` (scripts/run.sh) and
# `make test` (tests/run.sh); nothing of the system's MariaDB or nginx is used.
#
#   init    first time only (idempotent): MariaDB data directory and
#           $PORTAL_VAR/portal.conf (with a random database password)
#   start   mariadbd, database + user, `portalctl migrate`, portald, nginx;
#           waits for GET /healthz = 200; on a new database creates an admin
#           token for `*` ($PORTAL_VAR/admin.token), loads the demo data and
#           creates demo accounts for the browser (/login): editor@SLUG.example
#           (editor of SLUG) per municipality and admin@demo.example (admin
#           of all), with random passwords in $PORTAL_VAR/demo-users.txt
#           (mode 0600) -- unless PORTAL_NO_DEMO is non-empty.  On failure
#           it stops again.
#   stop    nginx, portald, mariadbd (pid files in $PORTAL_VAR/run); bounded
#   start-mariadb | start-portald | start-nginx
#           one part of a stack whose others run (scripts/run.sh restarts
#           with these what exited): what the dead one left (its stale pid
#           file, processes of its group) is cleaned up first, then it is
#           started as `start` starts it; on failure only that part is
#           stopped again.  MariaDB's database, user and migrations are not
#           touched (the data directory is the same).
#   status  what runs, and GET /healthz; exit 0 only when all is well
#           (status --no-http: the processes only)
#
# Environment:
#   PORTAL_VAR      state directory (default: var/ in the repository)
#   PORT            nginx's port on 127.0.0.1 (default 8080)
#   B               build directory with portald, portalctl, plugins/ (default build)
#   MUNICIPALITIES  libconfig file with `plugins: {...}` and `municipalities = (...)`,
#                   included by portal.conf (default conf/demo.conf)
#   PORTAL_NO_DEMO  non-empty: do not load the demo data into a new database
#   STACK_DB_PORT   a port: MariaDB also listens on 127.0.0.1:PORT and writes a
#                   binary log (server_id 1), so that a replica can follow it
#                   (tests/integration/test_replica.py; make test sets it).
#                   Unset (make run): unix socket only, no binary log.
#
# Layout: $PORTAL_VAR/{portal.conf,nginx.conf,admin.token,demo-users.txt,mysql/,nginx/,
# run/{mariadb,portald,nginx}.pid,run/{mysqld,portald}.sock,log/*.log}.
# Progress goes to stderr as "stack: ..." lines.
set -u

PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
export PATH

root=$(cd "$(dirname "$0")/.." && pwd)

# Relative paths are taken from the caller's directory (make: the repository).
abspath() { realpath -m -- "$1"; }
VAR=$(abspath "${PORTAL_VAR:-$root/var}")
PORT=${PORT:-8080}
B=$(abspath "${B:-build}")
MUNI=$(abspath "${MUNICIPALITIES:-$root/conf/demo.conf}")
RUN=$VAR/run
LOG=$VAR/log
CONF=$VAR/portal.conf
DBSOCK=$RUN/mysqld.sock
PSOCK=$RUN/portald.sock
NGINX_CONF=$VAR/nginx.conf

# Bounded waits, in tenths of a second (sanitizer builds are slower).
WAIT_DB=${STACK_WAIT_DB:-600}
WAIT_PORTALD=${STACK_WAIT_PORTALD:-300}
WAIT_HTTP=${STACK_WAIT_HTTP:-300}

cd "$root" || exit 1

case "$VAR" in
*[[:space:]\"\'\\]*)
	# mariadb-install-db cannot, and nginx.conf and portal.conf quote with "
	echo "stack: PORTAL_VAR=$VAR: the path must not contain spaces or quotes" >&2
	exit 1
	;;
esac

say() { printf 'stack: %s\n' "$*" >&2; }

# tail_log FILE [LINES]: the end of a log, on stderr (since the last
# "---- stack.sh start" line)
tail_log() {
	if [ -s "$1" ]; then
		printf -- '---- last lines of %s ----\n' "$1" >&2
		awk -v max="${2:-30}" '
			/^---- stack\.sh start / { n = 0 }
			{ a[n % max] = $0; n++ }
			END { for (i = (n > max ? n - max : 0); i < n; i++) print a[i % max] }' "$1" >&2
		printf -- '---- end of %s ----\n' "$1" >&2
	elif [ -e "$1" ]; then
		say "($1 is empty)"
	fi
}

STARTING=0
PART=
LAUNCHED=
# fail MESSAGE [LOG...]: says what failed, shows the logs, stops what `start`
# (or `start-PART`) started, exits 1
fail() {
	msg=$1
	shift
	trap '' INT TERM HUP
	say "FAILED: $msg"
	for f in "$@"; do
		tail_log "$f"
	done
	if [ "$STARTING" = 1 ]; then
		STARTING=0
		say "stopping what was started"
		do_stop
	elif [ -n "$PART" ]; then
		p=$PART
		PART=
		say "stopping $p again"
		stop_part "$p"
	fi
	# a process launched but not yet in its pid file
	if [ -n "$LAUNCHED" ] && kill -0 "$LAUNCHED" 2>/dev/null; then
		kill -TERM "$LAUNCHED" 2>/dev/null
		wait_gone "$LAUNCHED" 100 || kill -KILL "$LAUNCHED" 2>/dev/null
	fi
	exit 1
}

need_cmd() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			fail "command \"$c\" not found (install the packages: sh scripts/deps.sh)"
	done
}

# A unix socket path must fit in sun_path (108 bytes with the NUL).
check_sock_len() {
	if [ "${#1}" -gt 107 ]; then
		fail "socket path too long (${#1} > 107 bytes): $1 -- use a shorter PORTAL_VAR"
	fi
}

# pid_of NAME PIDFILE: prints the pid when that process runs and is NAME
pid_of() {
	[ -s "$2" ] || return 1
	p=$(tr -dc '0-9' <"$2")
	[ -n "$p" ] || return 1
	kill -0 "$p" 2>/dev/null || [ -d "/proc/$p" ] || return 1
	if [ -r "/proc/$p/cmdline" ]; then
		# after a reboot the pid may belong to someone else
		tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- "$1" || return 1
	fi
	echo "$p"
}

# proc_stat PID: sets st_state and st_pgrp from /proc/PID/stat ("pid (comm)
# state ppid pgrp ...", where comm may hold spaces and ")"); 1 when unknown
proc_stat() {
	st_state='' st_pgrp=''
	line=
	read -r line 2>/dev/null <"/proc/$1/stat" || return 1
	# shellcheck disable=SC2086
	set -- ${line##*) }
	st_state=${1:-} st_pgrp=${3:-}
	[ -n "$st_state" ]
}

# pgrp_alive PGID: some process of that process group still runs (zombies,
# which a container's init may never reap, do not count)
pgrp_alive() {
	kill -s 0 -- "-$1" 2>/dev/null || return 1
	[ -r /proc/self/stat ] || return 0
	g=$1
	for s in /proc/[0-9]*; do
		proc_stat "${s#/proc/}" || continue
		[ "$st_pgrp" = "$g" ] && [ "$st_state" != Z ] && return 0
	done
	return 1
}

# wait_gone PID TENTHS: 0 when PID is gone within the time
wait_gone() {
	n=0
	while kill -0 "$1" 2>/dev/null; do
		# a zombie (left unreaped by a container's init) counts as gone
		proc_stat "$1" && [ "$st_state" = Z ] && return 0
		[ "$n" -ge "$2" ] && return 1
		sleep 0.1
		n=$((n + 1))
	done
	return 0
}

# stop_one NAME PIDFILE TENTHS [LOG]: SIGTERM, wait, then SIGKILL (the whole
# process group when the process leads one, as mariadbd and portald do)
stop_one() {
	name=$1 pidfile=$2 limit=$3
	if ! pid=$(pid_of "$name" "$pidfile"); then
		if [ -e "$pidfile" ]; then
			say "$name: not running (stale $pidfile removed)"
			# a master killed with SIGKILL may leave its group (workers)
			old=$(tr -dc '0-9' <"$pidfile")
			# (only while no live process has that pid: a reused pid is not ours)
			if [ -n "$old" ] && [ "$old" -gt 1 ] &&
				! { proc_stat "$old" && [ "$st_state" != Z ]; } && pgrp_alive "$old"; then
				say "$name: processes of its group $old left: stopping them"
				kill -s TERM -- "-$old" 2>/dev/null
				sleep 1
				pgrp_alive "$old" && kill -s KILL -- "-$old" 2>/dev/null
			fi
		fi
		rm -f "$pidfile"
		return 0
	fi
	proc_stat "$pid"
	pgid=$st_pgrp
	say "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null
	if ! wait_gone "$pid" "$limit"; then
		say "$name (pid $pid) did not stop in $((limit / 10))s: SIGKILL"
		[ -n "${4:-}" ] && tail_log "$4" 10
		kill -KILL "$pid" 2>/dev/null
		wait_gone "$pid" 50 || say "$name (pid $pid) survives SIGKILL"
	fi
	# workers left behind by a master that is gone
	if [ "$pgid" = "$pid" ] && pgrp_alive "$pgid"; then
		kill -s TERM -- "-$pgid" 2>/dev/null
		n=0
		while pgrp_alive "$pgid" && [ "$n" -lt 50 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		if pgrp_alive "$pgid"; then
			say "$name: processes of group $pgid left: SIGKILL"
			kill -s KILL -- "-$pgid" 2>/dev/null
		fi
	fi
	rm -f "$pidfile"
}

# stop_part mariadb|portald|nginx
stop_part() {
	case $1 in
	nginx) stop_one nginx "$RUN/nginx.pid" 100 "$LOG/nginx-error.log" ;;
	portald) stop_one portald "$RUN/portald.pid" 150 "$LOG/portald.log" ;;
	mariadb) stop_one mariadbd "$RUN/mariadb.pid" 600 "$LOG/mariadb.log" ;;
	esac
}

do_stop() {
	stop_part nginx
	stop_part portald
	stop_part mariadb
	rm -f "$PSOCK"
}

# conf_db KEY FILE: a string setting of the database group of a portal.conf
. "$root/scripts/conf_db.sh"

sql() {
	mariadb --no-defaults --protocol=socket --socket="$DBSOCK" --user=root \
		--batch --skip-column-names "$@"
}

# sed replacement text: escape \, & and the delimiter |
sed_esc() { printf '%s' "$1" | sed -e 's/[\\&|]/\\&/g'; }

# ---------------------------------------------------------------- init

do_init() {
	mkdir -p "$RUN" "$LOG" "$VAR/nginx" || fail "cannot create $VAR"
	# MariaDB's root has no password: only we may reach its socket
	chmod 700 "$VAR" "$RUN" || fail "cannot chmod $VAR"
	check_sock_len "$DBSOCK"
	check_sock_len "$PSOCK"

	if [ -d "$VAR/mysql/mysql" ]; then
		say "MariaDB data directory $VAR/mysql exists, kept"
	else
		need_cmd mariadb-install-db
		say "creating the MariaDB data directory $VAR/mysql"
		rm -rf "$VAR/mysql.new"
		if ! mariadb-install-db --no-defaults --auth-root-authentication-method=normal \
			--datadir="$VAR/mysql.new" --user="$(id -un)" --skip-test-db \
			--skip-name-resolve >"$LOG/mariadb-install.log" 2>&1; then
			rm -rf "$VAR/mysql.new"
			fail "mariadb-install-db" "$LOG/mariadb-install.log"
		fi
		mv "$VAR/mysql.new" "$VAR/mysql" || fail "cannot rename $VAR/mysql.new"
	fi

	if [ -f "$CONF" ]; then
		say "$CONF exists, kept (delete it to write a new one)"
		return 0
	fi
	[ -r "$MUNI" ] || fail "municipalities file $MUNI not found (MUNICIPALITIES=...)"
	# libconfig 1.5 puts the include directory (portal.conf's, set by the core)
	# before every @include path, absolute ones too: write it relative.
	inc=$(realpath -m --relative-to="$VAR" -- "$MUNI")
	password=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
	[ "${#password}" -eq 36 ] || fail "cannot read /dev/urandom"
	say "writing $CONF"
	(
		umask 077
		cat >"$CONF.new" <<EOF
# portal.conf for the local stack, written once by scripts/stack.sh init.
# Edit freely; delete it and run "stack.sh init" again to get a fresh one
# (stack.sh start sets the database user's password from this file).

core: {
  listen = "$PSOCK";
  socket_mode = "0660";
  workers = 2;
  plugin_dir = "$B/plugins";
  log_level = "info";
  max_body = 1048576;         # nginx.conf: client_max_body_size 1m
  json_max_depth = 16;
  # absolute links in feeds, exports and JSON-LD: never the Host header
  public_url = "http://127.0.0.1:$PORT";
};

# Uploaded files: nginx.conf serves media.dir at /media/.
media: {
  dir = "$VAR/media";
  max_bytes = 20971520;       # nginx.conf: client_max_body_size 25m for uploads
  quota_bytes = 1073741824;   # per municipality (media_quota_bytes in its group)
};

database: {
  socket = "$DBSOCK";
  name = "portal";
  user = "portal";
  password = "$password";
  connect_timeout = 3;
  read_timeout = 10;
  write_timeout = 10;
};

# The plugins' settings and the municipalities: $MUNI
# (relative to this file's directory).
@include "$inc"
EOF
	) || fail "cannot write $CONF"
	mv "$CONF.new" "$CONF" || fail "cannot write $CONF"
}

# ---------------------------------------------------------------- start

start_mariadb() {
	need_cmd mariadbd mariadb mariadb-admin
	if [ "$(id -u)" = 0 ]; then
		set -- --user="$(id -un)"
	else
		set --
	fi
	if [ -n "${STACK_DB_PORT:-}" ]; then
		case "$STACK_DB_PORT" in
		*[!0-9]*) fail "STACK_DB_PORT=$STACK_DB_PORT is not a number" ;;
		esac
		# a primary for replicas: loopback only, GTIDs in a binary log
		set -- "$@" --bind-address=127.0.0.1 --port="$STACK_DB_PORT" --skip-name-resolve --server-id=1 \
			--log-bin=primary-bin --binlog-format=ROW
		say "starting mariadbd (log: $LOG/mariadb.log; also 127.0.0.1:$STACK_DB_PORT, binary log)"
	else
		set -- "$@" --skip-networking
		say "starting mariadbd (log: $LOG/mariadb.log)"
	fi
	rm -f "$DBSOCK" "$RUN/mariadb.pid"
	$SETSID mariadbd --no-defaults --datadir="$VAR/mysql" --socket="$DBSOCK" \
		--pid-file="$RUN/mariadb.pid" "$@" \
		--log-error="$LOG/mariadb.log" --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_unicode_ci </dev/null >>"$LOG/mariadb.log" 2>&1 &
	dbpid=$!
	LAUNCHED=$dbpid
	n=0
	until mariadb-admin --no-defaults --protocol=socket --socket="$DBSOCK" --user=root \
		--connect-timeout=2 ping >/dev/null 2>&1; do
		kill -0 "$dbpid" 2>/dev/null || fail "mariadbd exited during start" "$LOG/mariadb.log"
		[ "$n" -ge "$WAIT_DB" ] &&
			fail "mariadbd does not answer on $DBSOCK after $((WAIT_DB / 10))s" "$LOG/mariadb.log"
		sleep 0.1
		n=$((n + 1))
	done
	[ -s "$RUN/mariadb.pid" ] || echo "$dbpid" >"$RUN/mariadb.pid"
	LAUNCHED=
}

setup_database() {
	dbname=$(conf_db name "$CONF")
	dbuser=$(conf_db user "$CONF")
	dbpass=$(conf_db password "$CONF")
	[ -n "$dbname" ] && [ -n "$dbuser" ] ||
		fail "no database.name or database.user in $CONF"
	case "$dbname$dbuser$dbpass" in
	*[\'\`\\]*) fail "database name, user or password in $CONF contains ' \` or \\" ;;
	esac
	exists=$(sql -e "SHOW DATABASES LIKE '$dbname'" 2>"$LOG/mariadb-client.log") ||
		fail "cannot query MariaDB as root" "$LOG/mariadb-client.log"
	if [ -z "$exists" ]; then
		say "creating database $dbname and user $dbuser"
		: >"$VAR/demo.pending"
	fi
	sql >"$LOG/mariadb-client.log" 2>&1 <<EOF || fail "cannot create database/user" "$LOG/mariadb-client.log"
CREATE DATABASE IF NOT EXISTS \`$dbname\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$dbuser'@'localhost' IDENTIFIED BY '$dbpass';
ALTER USER '$dbuser'@'localhost' IDENTIFIED BY '$dbpass';
GRANT ALL ON \`$dbname\`.* TO '$dbuser'@'localhost';
EOF
	if [ -n "${STACK_DB_PORT:-}" ]; then
		# root has no password (the socket is ours alone): no root and no
		# anonymous account may be reached over TCP
		sql >"$LOG/mariadb-client.log" 2>&1 <<EOF || fail "cannot drop TCP accounts" "$LOG/mariadb-client.log"
SET sql_log_bin = 0;
DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1', 'root'@'%', ''@'localhost', ''@'%', ''@'127.0.0.1';
EOF
	fi
}

migrate() {
	say "applying migrations (portalctl migrate)"
	if ! "$B/portalctl" -c "$CONF" migrate </dev/null >>"$LOG/portalctl.log" 2>&1; then
		fail "$B/portalctl -c $CONF migrate" "$LOG/portalctl.log"
	fi
}

start_portald() {
	say "starting portald (log: $LOG/portald.log)"
	rm -f "$PSOCK" "$RUN/portald.pid"
	$SETSID "$B/portald" -c "$CONF" -p "$RUN/portald.pid" </dev/null >>"$LOG/portald.log" 2>&1 &
	ppid_=$!
	LAUNCHED=$ppid_
	n=0
	until [ -S "$PSOCK" ]; do
		kill -0 "$ppid_" 2>/dev/null || fail "portald exited during start" "$LOG/portald.log"
		[ "$n" -ge "$WAIT_PORTALD" ] &&
			fail "portald did not create $PSOCK in $((WAIT_PORTALD / 10))s" "$LOG/portald.log"
		sleep 0.1
		n=$((n + 1))
	done
	[ -s "$RUN/portald.pid" ] || echo "$ppid_" >"$RUN/portald.pid"
	LAUNCHED=
	case $(stat -c %a "$PSOCK" 2>/dev/null) in
	*[2367]) fail "portald's socket $PSOCK is world-writable ($(stat -c %a "$PSOCK")); check core.socket_mode" "$LOG/portald.log" ;;
	esac
}

# stack_media_dir: media.dir of $CONF (a portal.conf from before media:
# $VAR/media, the core's default for a file in $VAR)
stack_media_dir() {
	d=$(sed -n 's/^[[:space:]]*dir[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$CONF" 2>/dev/null | head -n 1)
	case $d in
	/*) printf '%s\n' "$d" ;;
	"") printf '%s\n' "$VAR/media" ;;
	*) printf '%s\n' "$VAR/$d" ;;
	esac
}

start_nginx() {
	need_cmd nginx
	[ -r "$root/nginx.conf.example" ] || fail "$root/nginx.conf.example not found"
	if [ "$(id -u)" = 0 ]; then
		# root's workers would run as nobody, who cannot reach the socket
		userdir="user root;"
	else
		userdir="# (not root: nginx runs as $(id -un), no user directive)"
	fi
	sed -e "s|@USER_DIRECTIVE@|$(sed_esc "$userdir")|g" \
		-e "s|@VAR@|$(sed_esc "$VAR")|g" \
		-e "s|@PORT@|$(sed_esc "$PORT")|g" \
		-e "s|@SOCKET@|$(sed_esc "$PSOCK")|g" \
		-e "s|@MEDIA@|$(sed_esc "$(stack_media_dir)")|g" \
		"$root/nginx.conf.example" >"$NGINX_CONF" || fail "cannot write $NGINX_CONF"
	if grep -n '@[A-Z_]*@' "$NGINX_CONF" >&2; then
		fail "placeholders left in $NGINX_CONF (above)"
	fi
	mkdir -p "$VAR/nginx" || fail "cannot create $VAR/nginx"
	say "starting nginx on 127.0.0.1:$PORT (logs: $LOG/nginx-*.log)"
	rm -f "$RUN/nginx.pid"
	if ! nginx -p "$VAR/nginx" -c "$NGINX_CONF" -e "$LOG/nginx-error.log" \
		</dev/null >"$LOG/nginx-start.log" 2>&1; then
		if [ -s "$LOG/nginx-start.log" ]; then
			fail "nginx did not start (config: $NGINX_CONF)" "$LOG/nginx-start.log"
		fi
		fail "nginx did not start (config: $NGINX_CONF)" "$LOG/nginx-error.log"
	fi
	n=0
	until pid_of nginx "$RUN/nginx.pid" >/dev/null; do
		[ "$n" -ge 100 ] && fail "nginx wrote no pid file $RUN/nginx.pid" "$LOG/nginx-error.log"
		sleep 0.1
		n=$((n + 1))
	done
}

wait_healthz() {
	need_cmd curl
	url="http://127.0.0.1:$PORT/healthz"
	say "waiting for $url"
	n=0
	while :; do
		code=$(curl -s -o "$LOG/healthz.out" -w '%{http_code}' --max-time 5 "$url" 2>/dev/null)
		[ "$code" = 200 ] && break
		if ! pid_of portald "$RUN/portald.pid" >/dev/null; then
			fail "portald exited" "$LOG/portald.log"
		fi
		if [ "$n" -ge "$WAIT_HTTP" ]; then
			say "last answer: HTTP $code: $(head -c 300 "$LOG/healthz.out" 2>/dev/null)"
			fail "GET $url did not answer 200 in $((WAIT_HTTP / 10))s" \
				"$LOG/portald.log" "$LOG/nginx-error.log"
		fi
		sleep 0.2
		n=$((n + 2))
	done
}

load_demo() {
	[ -f "$VAR/demo.pending" ] || return 0
	if [ -n "${PORTAL_NO_DEMO:-}" ]; then
		say "new database: no demo data (PORTAL_NO_DEMO is set)"
		rm -f "$VAR/demo.pending"
		return 0
	fi
	say "new database: creating an admin token for * ($VAR/admin.token)"
	token=$("$B/portalctl" -c "$CONF" token create --municipality '*' --role admin \
		--label "stack.sh: demo data and local admin" </dev/null 2>>"$LOG/portalctl.log") ||
		fail "portalctl token create" "$LOG/portalctl.log"
	token=$(printf '%s\n' "$token" | sed -n '/[^[:space:]]/{p;q;}' | tr -d '[:space:]')
	[ -n "$token" ] || fail "portalctl token create printed no token" "$LOG/portalctl.log"
	(umask 077 && printf '%s\n' "$token" >"$VAR/admin.token") || fail "cannot write $VAR/admin.token"
	if [ ! -f "$root/scripts/load-demo.py" ]; then
		say "WARNING: scripts/load-demo.py not found: no demo data (will retry on next start)"
		return 0
	fi
	need_cmd python3
	say "loading the demo data (log: $LOG/demo.log)"
	if ! python3 "$root/scripts/load-demo.py" --url "http://127.0.0.1:$PORT" --token "$token" \
		</dev/null >>"$LOG/demo.log" 2>&1; then
		fail "scripts/load-demo.py" "$LOG/demo.log" "$LOG/portald.log"
	fi
	demo_users
	rm -f "$VAR/demo.pending"
}

# demo_users: an editor per demo municipality and an admin of all, each with
# a random password, listed in $VAR/demo-users.txt (0600; never printed)
demo_users() {
	list="$VAR/demo-users.txt"
	say "new database: demo accounts for /login (passwords in $list)"
	(umask 077 && : >"$list") || fail "cannot write $list"
	chmod 600 "$list"
	printf '# Demo accounts of this stack: sign in at http://127.0.0.1:%s/login\n' "$PORT" >>"$list"
	printf '# email password role municipality\n' >>"$list"
	slugs=$(grep -o 'slug *= *"[a-z0-9-]*"' "$MUNI" | sed 's/.*"\(.*\)"/\1/')
	for who in $slugs '*'; do
		if [ "$who" = '*' ]; then
			email=admin@demo.example name="Demo admin" role=admin
		else
			email=editor@$who.example name="Demo editor ($who)" role=editor
		fi
		pw=$(head -c 15 /dev/urandom | base64 | tr '+/' '-_')
		if printf '%s\n' "$pw" | "$B/portalctl" -c "$CONF" user add "$email" --name "$name" \
			--municipality "$who" --role "$role" 2>>"$LOG/portalctl.log"; then
			printf '%s %s %s %s\n' "$email" "$pw" "$role" "$who" >>"$list"
		else
			say "WARNING: could not create the demo account $email (see $LOG/portalctl.log)"
		fi
	done
}

# prepare_start: what `start` and `start-PART` check and set up first
prepare_start() {
	[ -f "$CONF" ] && [ -d "$VAR/mysql/mysql" ] ||
		fail "$VAR is not initialised: run \"sh scripts/stack.sh init\" first"
	for f in "$B/portald" "$B/portalctl"; do
		[ -x "$f" ] || fail "$f not found: build first (make B=$B)"
	done
	case "$PORT" in
	'' | *[!0-9]*) fail "PORT=$PORT is not a number" ;;
	esac
	mkdir -p "$RUN" "$LOG" || fail "cannot create $RUN, $LOG"
	chmod 700 "$RUN" || fail "cannot chmod $RUN"
	check_sock_len "$DBSOCK"
	check_sock_len "$PSOCK"
	SETSID=
	command -v setsid >/dev/null 2>&1 && SETSID=setsid
	stamp="---- stack.sh start $(date '+%Y-%m-%d %H:%M:%S') ----"
}

do_start() {
	prepare_start
	for c in mariadbd:mariadb.pid portald:portald.pid nginx:nginx.pid; do
		if p=$(pid_of "${c%%:*}" "$RUN/${c#*:}"); then
			fail "${c%%:*} already runs (pid $p) for $VAR; stop it first: PORTAL_VAR=$VAR sh scripts/stack.sh stop"
		fi
	done

	for f in portald.log portalctl.log demo.log; do
		echo "$stamp" >>"$LOG/$f"
	done

	STARTING=1
	# interrupted: stop what was started (fail)
	trap 'fail "interrupted"' INT TERM HUP
	start_mariadb
	setup_database
	migrate
	start_portald
	start_nginx
	wait_healthz
	load_demo
	STARTING=0
	trap - INT TERM HUP
	say "running: http://127.0.0.1:$PORT/ (state: $VAR)"
}

# do_start_part mariadb|portald|nginx: one part again, the others running
do_start_part() {
	case $1 in
	mariadb) name=mariadbd ;;
	*) name=$1 ;;
	esac
	prepare_start
	if p=$(pid_of "$name" "$RUN/$1.pid"); then
		fail "$name already runs (pid $p) for $VAR"
	fi
	# what a process killed with SIGKILL left: its pid file, its group
	stop_part "$1"
	[ "$1" = portald ] && echo "$stamp" >>"$LOG/portald.log"
	PART=$1
	trap 'fail "interrupted"' INT TERM HUP
	"start_$1"
	PART=
	trap - INT TERM HUP
	say "$name runs again (pid $(pid_of "$name" "$RUN/$1.pid"))"
}

# ---------------------------------------------------------------- status

do_status() {
	all=0
	for c in mariadbd:mariadb.pid portald:portald.pid nginx:nginx.pid; do
		if p=$(pid_of "${c%%:*}" "$RUN/${c#*:}"); then
			printf '%-9s running (pid %s)\n' "${c%%:*}" "$p"
		else
			printf '%-9s stopped\n' "${c%%:*}"
			all=1
		fi
	done
	[ "${1:-}" = --no-http ] && return $all
	if [ "$all" = 0 ] && command -v curl >/dev/null 2>&1; then
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/healthz")
		printf '%-9s GET http://127.0.0.1:%s/healthz: %s\n' healthz "$PORT" "$code"
		[ "$code" = 200 ] || all=1
	fi
	return $all
}

case "${1:-}" in
init) do_init ;;
start) do_start ;;
stop) do_stop ;;
start-mariadb | start-portald | start-nginx) do_start_part "${1#start-}" ;;
status) do_status "${2:-}" ;;
*)
	echo "usage: [PORTAL_VAR=DIR] [PORT=N] [B=DIR] [MUNICIPALITIES=FILE] sh scripts/stack.sh init|start|stop|status [--no-http]|start-mariadb|start-portald|start-nginx" >&2
	exit 2
	;;
esac
