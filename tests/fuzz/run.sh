#!/bin/sh
# tests/fuzz/run.sh SECONDS [DIR]: runs every fuzzer in DIR (default
# build-fuzz/fuzz) for SECONDS each on a copy of its seed corpus, and prints
# one TAP line per fuzzer with its executions; a crash is a failure whose
# reproducer is left in DIR/crashes/.
#
# Seeds: tests/fuzz/corpus/NAME/* for fuzz_NAME; fuzz_modules (the plugins'
# create handlers) gets the bodies every module keeps in plugins/*/fuzz/,
# each addressed to every module ("MODULE\nBODY", as the harness reads it).
set -u
secs=${1:-60}
dir=${2:-build-fuzz/fuzz}
root=$(cd "$(dirname "$0")/../.." && pwd)
n=0
fail=0
mkdir -p "$dir/crashes"
for f in "$dir"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	short=${name#fuzz_}
	n=$((n + 1))
	work=$(mktemp -d)
	cp "$root/tests/fuzz/corpus/$short"/* "$work/" 2>/dev/null
	if [ "$short" = modules ]; then
		for m in "$root"/plugins/*/; do
			m=$(basename "$m")
			for s in "$root"/plugins/*/fuzz/*; do
				[ -f "$s" ] || continue
				from=$(basename "$(dirname "$(dirname "$s")")")
				{ printf '%s\n' "$m"; cat "$s"; } >"$work/$m-from-$from-$(basename "$s")"
			done
		done
	fi
	log=$dir/$name.log
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$f" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$dir/crashes/$name-" "$work" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
	[ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
	if [ "$rc" = 0 ]; then
		echo "ok $n - $name: ${execs:-?} executions in ${secs}s, no crash"
	else
		fail=$((fail + 1))
		echo "not ok $n - $name: exit $rc after ${execs:-?} executions"
		tail -30 "$log" | sed 's/^/#   /'
	fi
	rm -rf "$work"
done
[ "$n" -gt 0 ] || { echo "1..0 # skip no fuzzers built in $dir"; exit 0; }
echo "1..$n"
[ "$fail" = 0 ]
