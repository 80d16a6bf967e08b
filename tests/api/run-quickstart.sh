#!/bin/sh
# Runs examples/quickstart and checks its output line by line.
# Usage: run-quickstart.sh QUICKSTART_BINARY
set -eu
bin=$1
out=$("$bin")
expected='[0, 1, 4, 9]
[0.0, 1.0, 8.0, 27.0]'
if [ "$out" != "$expected" ]; then
	printf 'quickstart printed:\n%s\nexpected:\n%s\n' "$out" "$expected" >&2
	exit 1
fi
echo "quickstart output ok"
