#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/graysort-records, the graysort benchmark's record tool, as the
# benchmark uses it: gen prints the checksum, validate accepts sort(1)'s
# output with that checksum and rejects unsorted or short output, and bad
# arguments exit 2 with a message naming the argument.
# usage: graysort-cli.sh PATH/TO/graysort-records
set -u
tool=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() {
	echo "graysort-cli: $*" >&2
	exit 1
}

sum=$("$tool" gen --seed 7 --files 3 5000 "$dir/in") || fail "gen failed"
case $sum in
5000:????????????????????????????????) ;;
*) fail "gen printed '$sum', expected 5000:<32 hex digits>" ;;
esac
[ "$(cat "$dir"/in-0000[0-2].dat | wc -c)" -eq 500000 ] || fail "gen wrote the wrong size"
[ "$("$tool" sum "$dir"/in-0000[0-2].dat)" = "$sum" ] || fail "sum differs from gen's checksum"

LC_ALL=C sort -o "$dir/out" "$dir"/in-0000[0-2].dat || fail "sort failed"
out=$("$tool" validate --expect "$sum" "$dir/out") || fail "valid output rejected: $out"
case $out in
"ok: 5000 records in key order, same records as the input"*) ;;
*) fail "unexpected validate output: $out" ;;
esac

if out=$("$tool" validate --expect "$sum" "$dir"/in-0000[0-2].dat 2>&1); then
	fail "unsorted input accepted"
fi
case $out in
*"out of order"*) ;;
*) fail "no order error: $out" ;;
esac

head -c 499900 "$dir/out" >"$dir/short"
if out=$("$tool" validate --expect "$sum" "$dir/short" 2>&1); then
	fail "a lost record was not noticed"
fi
case $out in
*"4999 records, the input 5000"*) ;;
*) fail "no count error: $out" ;;
esac

"$tool" gen --files 0 10 "$dir/x" 2>"$dir/err"
[ $? -eq 2 ] || fail "--files 0 did not exit 2"
grep -q -- "--files=0" "$dir/err" || fail "--files 0: the message does not name it: $(cat "$dir/err")"
"$tool" validate --expect nonsense "$dir/out" 2>"$dir/err"
[ $? -eq 2 ] || fail "a bad --expect did not exit 2"
grep -q "expected <records>:<32 hex digits>" "$dir/err" || fail "bad --expect message: $(cat "$dir/err")"
echo "graysort-cli: ok"
