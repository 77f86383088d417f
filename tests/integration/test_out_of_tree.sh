#!/bin/sh
# test_out_of_tree.sh - a plugin built outside the tree, as README "Writing a
# plugin" tells a reader to write one, against what `make install` installs:
#
#   1. `make install DESTDIR=TMP` puts portal.h and portal-plugin.pc there
#   2. the FIRST ```c block of the README's section "Writing a plugin" is
#      extracted (never copied here: it follows the README) and compiled in a
#      directory of its own with `pkg-config --cflags portal-plugin` only
#      (PKG_CONFIG_PATH into the DESTDIR, --define-prefix to find it there)
#   3. the installed portald loads it (`portald -t`) from a plugin_dir with
#      nothing else, and, in a database of its own on the test stack's
#      MariaDB, the installed portalctl applies its migration and a GET of
#      its route answers 200 (tests/valgrind/replay: the worker's code path)
#   4. `make CFLAGS=-O0` changes only the optimisation: the warnings, -Werror
#      and the include flags stay (core objects and plugins)
set -u

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/#   /'; }
check() { # check DESCRIPTION COMMAND...: ok when the command succeeds
	d=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then ok "$d"; else not_ok "$d"; diag <"$tmp/out"; fi
}

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
B=${B:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/portal-oot.XXXXXX") || exit 1
db=
cleanup() {
	[ -n "$db" ] && admin -e "DROP DATABASE IF EXISTS \`$db\`" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
dest=$tmp/dest
prefix=/usr/local

# ---------------------------------------------------------------- 1. install
if make -s install DESTDIR="$dest" PREFIX="$prefix" B="$B" >"$tmp/install.log" 2>&1; then
	ok "make install DESTDIR=... (B=$B)"
else
	not_ok "make install DESTDIR=... (B=$B)"
	tail -n 30 "$tmp/install.log" | diag
	echo "1..$n"
	exit 1
fi
check "it installs the plugin API header, include/portal/portal.h" \
	test -s "$dest$prefix/include/portal/portal.h"
check "the installed header is core/portal.h" cmp "$dest$prefix/include/portal/portal.h" core/portal.h
check "it installs lib/pkgconfig/portal-plugin.pc" test -s "$dest$prefix/lib/pkgconfig/portal-plugin.pc"

PKG_CONFIG_PATH=$dest$prefix/lib/pkgconfig
export PKG_CONFIG_PATH
cflags=$(pkg-config --cflags portal-plugin 2>&1 | sed 's/ *$//')
case " $cflags " in
*" -I$prefix/include/portal "*) ok "pkg-config --cflags portal-plugin names $prefix/include/portal ($cflags)" ;;
*) not_ok "pkg-config --cflags portal-plugin names $prefix/include/portal (got: $cflags)" ;;
esac
jc=$(pkg-config --cflags json-c | sed 's/ *$//')
case " $cflags " in
*" $jc "*) ok "... and json-c's flags ($jc), which portal.h needs" ;;
*) not_ok "... and json-c's flags ($jc), which portal.h needs (got: $cflags)" ;;
esac
pdir=$(pkg-config --variable=plugindir portal-plugin 2>&1)
if [ "$pdir" = "$prefix/lib/portal/plugins" ]; then
	ok "pkg-config --variable=plugindir portal-plugin is $pdir"
else
	not_ok "pkg-config --variable=plugindir portal-plugin is $prefix/lib/portal/plugins (got: $pdir)"
fi
dcflags=$(pkg-config --define-prefix --cflags portal-plugin 2>&1)
case " $dcflags " in
*" -I$dest$prefix/include/portal "*) ok "pkg-config --define-prefix finds the header in the DESTDIR" ;;
*) not_ok "pkg-config --define-prefix finds the header in the DESTDIR (got: $dcflags)" ;;
esac

# ---------------------------------------------------------------- 2. the README's example
src=$tmp/hello
mkdir -p "$src"
awk '/^## Writing a plugin[[:space:]]*$/ { s = 1; next }
	s && /^## / { exit }
	s && !c && /^```c[[:space:]]*$/ { c = 1; next }
	c && /^```/ { exit }
	c' README.md >"$src/example.c"
if grep -q 'portal\.h' "$src/example.c" && [ "$(wc -l <"$src/example.c")" -gt 5 ]; then
	ok "README \"Writing a plugin\": its first \`\`\`c block is a plugin ($(wc -l <"$src/example.c") lines)"
else
	not_ok "README \"Writing a plugin\": its first \`\`\`c block is a plugin"
	diag <"$src/example.c"
fi
CC=${CC:-cc}
# out of tree: its own directory, no -I of ours, only what pkg-config says
# shellcheck disable=SC2086
if (cd "$src" && $CC -std=c11 -D_GNU_SOURCE -fPIC -Wall -Wextra -Werror -Wmissing-prototypes \
	-Wstrict-prototypes -Wno-unused-parameter $dcflags -shared -o example.so example.c) >"$tmp/cc.log" 2>&1; then
	ok "it compiles out of tree with only \`pkg-config --cflags portal-plugin\`, -Wall -Wextra -Werror"
else
	not_ok "it compiles out of tree with only \`pkg-config --cflags portal-plugin\`, -Wall -Wextra -Werror"
	diag <"$tmp/cc.log"
	echo "1..$n"
	exit 1
fi

# its name, from its descriptor (whatever macro wrote it), with the
# installed header
cat >"$src/name.c" <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
#include <portal.h>
int main(int argc, char **argv)
{
	void *h = dlopen(argc > 1 ? argv[1] : "", RTLD_LAZY | RTLD_LOCAL);
	const struct portal_module *m = h ? dlsym(h, PORTAL_MODULE_SYMBOL) : NULL;
	if (m == NULL || m->magic != PORTAL_MODULE_MAGIC || m->name == NULL) {
		fprintf(stderr, "%s\n", h ? "no portal_module descriptor" : dlerror());
		return 1;
	}
	printf("%s\n", m->name);
	return 0;
}
EOF
# shellcheck disable=SC2086
if (cd "$src" && $CC -std=c11 $dcflags -o name name.c $(pkg-config --libs json-c) -ldl) >"$tmp/cc.log" 2>&1 &&
	name=$("$src/name" "$src/example.so" 2>"$tmp/cc.log") && [ -n "$name" ]; then
	ok "its descriptor names the module \"$name\""
else
	not_ok "its descriptor names the module"
	diag <"$tmp/cc.log"
	echo "1..$n"
	exit 1
fi

# ---------------------------------------------------------------- 3. load it
pd=$tmp/plugins
mkdir -p "$pd"
cp "$src/example.so" "$pd/$name.so"
write_conf() { # write_conf FILE DATABASE-GROUP
	cat >"$1" <<EOF
core: { listen = "$tmp/portald.sock"; plugin_dir = "$pd"; log_level = "warn"; };
database: { $2 };
plugins: { $name: { }; };
municipalities = ( { slug = "oot"; name = "Out of tree"; country = "SE"; languages = ["sv"];
                     modules = ["$name"]; } );
EOF
}
write_conf "$tmp/check.conf" 'socket = "/nonexistent/mysqld.sock"; name = "x"; user = "x";'
if "$dest$prefix/sbin/portald" -t -c "$tmp/check.conf" >"$tmp/t.log" 2>&1 &&
	grep -q '1 plugin' "$tmp/t.log"; then
	ok "the installed portald -t loads it from plugin_dir ($(cat "$tmp/t.log"))"
else
	not_ok "the installed portald -t loads it from plugin_dir"
	diag <"$tmp/t.log"
fi

# a request to its route, in a database of its own on the stack's MariaDB
# (created as root over the stack's private socket, as test_backup.sh does)
. "$(dirname "$0")/../../scripts/conf_db.sh"
admin() {
	mariadb --no-defaults --protocol=socket --socket="$sock" --user=root --batch \
		--skip-column-names "$@"
}
if [ -z "${PORTAL_CONF:-}" ] || [ ! -r "${PORTAL_CONF:-}" ] || ! command -v mariadb >/dev/null 2>&1 ||
	[ ! -x "$B/tests/replay" ]; then
	echo "# no test stack (PORTAL_CONF), mariadb client or $B/tests/replay: no request to the plugin"
else
	sock=$(conf_db socket)
	user=$(conf_db user)
	password=$(conf_db password)
	db=portal_oot_test_$$
	if admin -e "CREATE DATABASE \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
		GRANT ALL ON \`$db\`.* TO '$user'@'localhost';" >"$tmp/db.log" 2>&1; then
		write_conf "$tmp/portal.conf" "socket = \"$sock\"; name = \"$db\"; user = \"$user\"; password = \"$password\";"
		check "the installed portalctl applies its migrations" \
			"$dest$prefix/bin/portalctl" -c "$tmp/portal.conf" migrate
		printf 'GET /api/v1/oot/%s\n' "$name" >"$tmp/requests.txt"
		if "$B/tests/replay" -c "$tmp/portal.conf" "$tmp/requests.txt" >"$tmp/replay.log" 2>&1 &&
			grep -q "^200 GET /api/v1/oot/$name" "$tmp/replay.log"; then
			ok "GET /api/v1/oot/$name answers 200 from the out-of-tree plugin"
		else
			not_ok "GET /api/v1/oot/$name answers 200 from the out-of-tree plugin"
			diag <"$tmp/replay.log"
		fi
	else
		not_ok "a database of its own for the plugin"
		diag <"$tmp/db.log"
	fi
fi

# ---------------------------------------------------------------- 4. make CFLAGS=-O0
# Only the optimisation changes: the compile lines still carry the warnings,
# -Werror, -Icore and pkg-config's flags.  One core object is really built
# (in a build directory of its own), the plugin's line is printed (make -n).
ob=$tmp/b
pkgi=$(pkg-config --cflags json-c | tr ' ' '\n' | grep '^-I' | head -n 1)
flags_ok() { # flags_ok FILE: the compile line keeps what the build needs
	line=$(grep -E '(^| )-c |-shared' "$1" | grep -- '-O0' | head -n 1)
	[ -n "$line" ] || return 1
	for f in -O0 -Wall -Wextra -Werror -Wmissing-prototypes -Icore -std=c11 -fPIC "$pkgi"; do
		case " $line " in *" $f "*) ;; *) echo "missing $f in: $line"; return 1 ;; esac
	done
	case " $line " in *" -O2 "*) echo "-O2 still in: $line"; return 1 ;; esac
}
if make B="$ob" CFLAGS=-O0 "$ob/core/base/pool.o" >"$tmp/o0.log" 2>&1 && [ -s "$ob/core/base/pool.o" ] &&
	flags_ok "$tmp/o0.log" >>"$tmp/o0.log"; then
	ok "make CFLAGS=-O0: a core object is built with -O0 and still the warnings, -Werror and includes"
else
	not_ok "make CFLAGS=-O0: a core object is built with -O0 and still the warnings, -Werror and includes"
	diag <"$tmp/o0.log"
fi
plugin=$(ls -d plugins/*/ | head -n 1 | xargs basename)
if make -n B="$ob" CFLAGS=-O0 "$ob/plugins/$plugin.so" >"$tmp/o0p.log" 2>&1 &&
	flags_ok "$tmp/o0p.log" >>"$tmp/o0p.log"; then
	ok "make CFLAGS=-O0: a plugin ($plugin) is compiled with -O0 and still the warnings and includes"
else
	not_ok "make CFLAGS=-O0: a plugin ($plugin) is compiled with -O0 and still the warnings and includes"
	diag <"$tmp/o0p.log"
fi

echo "1..$n"
[ "$failed" = 0 ]
