#!/bin/sh
# libtarn-planner's export list is explicit, like libtarn's: the
# TARN_PLANNER_API declarations of <tarn/plan.h>, the names in
# planner/libtarn-planner.map and what the library exports are one set.
# Usage: check-exports.sh SOURCE_ROOT LIBTARN_PLANNER_SO
set -eu
src=$1
lib=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# declarations may wrap: "TARN_PLANNER_API type\nname(" -> join first
tr '\n' ' ' <"$src/core/include/tarn/plan.h" | grep -Eo 'TARN_PLANNER_API [a-z_0-9 *\t]+\(' | grep -v __attribute__ |
	sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/' | sort -u >"$tmp/headers"
sed -n '/global:/,/local:/p' "$src/planner/libtarn-planner.map" |
	grep -Eo '^[[:space:]]*[a-z_0-9]+;' | tr -d ' \t;' | sort -u >"$tmp/map"
nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' |
	sort -u >"$tmp/lib"

status=0
if ! diff -u "$tmp/headers" "$tmp/map"; then
	echo "TARN_PLANNER_API declarations (-) and libtarn-planner.map (+) differ" >&2
	status=1
fi
if ! diff -u "$tmp/map" "$tmp/lib"; then
	echo "libtarn-planner.map (-) and what the library exports (+) differ" >&2
	status=1
fi
[ $status -eq 0 ] && echo "planner exports ok: $(wc -l <"$tmp/lib") functions"
exit $status
