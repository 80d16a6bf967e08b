#!/bin/sh
# The export list is explicit: every TARN_API declaration in the public
# headers, every name in core/libtarn.map and every function libtarn.so
# really exports must be the same set.
# Usage: check-exports.sh SOURCE_ROOT LIBTARN_SO
set -eu
src=$1
lib=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

grep -ho '^TARN_API[^(]*(' "$src"/core/include/tarn/*.h "$src"/core/include/tarn/version.h.in |
	sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/' | sort -u >"$tmp/headers"
sed -n '/global:/,/local:/p' "$src/core/libtarn.map" | grep -Eo '^[[:space:]]*[a-z_0-9]+;' |
	tr -d ' \t;' | sort -u >"$tmp/map"
nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort -u >"$tmp/lib"

status=0
if ! diff -u "$tmp/headers" "$tmp/map" >"$tmp/d1"; then
	echo "TARN_API declarations (-) and core/libtarn.map (+) differ:" >&2
	cat "$tmp/d1" >&2
	status=1
fi
if ! diff -u "$tmp/map" "$tmp/lib" >"$tmp/d2"; then
	echo "core/libtarn.map (-) and the symbols libtarn.so exports (+) differ:" >&2
	cat "$tmp/d2" >&2
	status=1
fi
[ $status -eq 0 ] && echo "exports ok: $(wc -l <"$tmp/lib") functions"
exit $status
