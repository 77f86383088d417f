#!/bin/sh
# test_valgrind.sh - a sequence of requests (tests/valgrind/requests.txt:
# reads, writes, bad input, errors) dispatched in-process through the core
# and the real plugins against the test stack's database, under valgrind:
# no memory errors and no definite leaks.
set -u
B=${B:-build}
case $B in *san*|*fuzz*)
	echo "1..0 # skip valgrind cannot run sanitizer builds"; exit 0 ;;
esac
command -v valgrind >/dev/null 2>&1 || { echo "1..0 # skip valgrind not installed"; exit 0; }
[ -x "$B/tests/replay" ] || { echo "not ok 1 - $B/tests/replay is not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
	--log-file="$tmp/vg.log" "$B/tests/replay" -c "$PORTAL_CONF" tests/valgrind/requests.txt \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
n=$(wc -l <"$tmp/out")
created=$(grep -c '^201 ' "$tmp/out")
if [ "$rc" != 1 ] && [ "$n" -ge 20 ] && [ "$created" -ge 2 ] && ! grep -q '^5' "$tmp/out"; then
	echo "ok 1 - $n requests replayed under valgrind ($created writes), none answered 5xx"
else
	echo "not ok 1 - replay: exit $rc, $n requests"
	sed 's/^/#   /' "$tmp/out" "$tmp/err" | tail -40
fi
if [ "$rc" != 99 ] && ! grep -q 'definitely lost: [1-9]' "$tmp/vg.log"; then
	echo "ok 2 - valgrind: no memory errors, no definite leaks"
else
	echo "not ok 2 - valgrind found errors or definite leaks"
	sed 's/^/#   /' "$tmp/vg.log" | head -80
fi
echo "1..2"
