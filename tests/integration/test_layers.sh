#!/bin/sh
# test_layers.sh - core/ is in layers (base, db, items, web, server, tools,
# lowest first: the Makefile's CORE_LAYERS): no core file calls a file of a
# higher layer, and no two core files call each other, directly or through
# others.  Read from the object files of the build ($B/core) by
# tools/core-calls.py (nm).  Needs no stack.
root=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
layers=$(sed -n 's/^CORE_LAYERS := //p' "$root/Makefile" | tr ' ' ',')
echo "1..3"
if [ -z "$layers" ]; then
	echo "not ok 1 - the Makefile names CORE_LAYERS"
else
	echo "ok 1 - the Makefile names CORE_LAYERS ($layers)"
fi
n=$(ls "$root/$B/core"/*/*.o 2>/dev/null | wc -l)
if [ "$n" -gt 20 ]; then
	echo "ok 2 - $n core objects in $B/core/LAYER/"
else
	echo "not ok 2 - only $n core objects in $B/core/LAYER/ (build first)"
fi
out=$(python3 "$root/tools/core-calls.py" "$root/$B/core" --layers "$layers" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
if [ "$rc" = 0 ]; then
	echo "ok 3 - no circle between core files, no call against the layers"
else
	echo "not ok 3 - circles or calls against the layers (above)"
fi
