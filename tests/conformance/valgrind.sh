#!/bin/sh
# Runs a Criterion test program under valgrind memcheck, following the
# child process each test runs in, and fails on any memory error or any
# definite/indirect leak in any of those processes.
# Usage: valgrind.sh TEST_PROGRAM [ARGS...]
set -eu
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
rc=0
valgrind --trace-children=yes --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	--log-file="$logs/%p.log" "$@" -j1 || rc=$?
bad=$(grep -L "ERROR SUMMARY: 0 errors" "$logs"/*.log || true)
n=$(ls "$logs"/*.log | wc -l)
if [ -n "$bad" ] || [ "$rc" -ne 0 ]; then
	echo "valgrind found problems (exit $rc) in:" >&2
	for f in $bad; do cat "$f" >&2; done
	exit 1
fi
echo "valgrind: $n processes, 0 errors, no definite or indirect leaks"
