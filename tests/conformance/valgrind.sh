#!/bin/sh
# Runs a Criterion test program under valgrind memcheck, following the
# child process each test runs in, and fails on any memory error or any
# definite/indirect leak in any of those processes.
# Usage: valgrind.sh TEST_PROGRAM [ARGS...]
#
# A process killed by SIGKILL (a procpool worker a test kills, or one
# past its time limit) leaves a log with valgrind's preamble and nothing
# else: it could report nothing, and had reported nothing. Such logs are
# counted apart, not as failures; a log with anything past the preamble
# and no clean summary is one.
#
# procpool's store defaults to half the machine's memory, and memcheck's
# exit-time leak scan reads every page of that mapping: a worker then took
# longer to exit than the tests wait. Under valgrind it is 256 MiB unless
# the caller sets it.
set -eu
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
: "${UNIDIST_PROCPOOL_STORE_SIZE:=256M}"
export UNIDIST_PROCPOOL_STORE_SIZE
rc=0
valgrind --trace-children=yes --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	--log-file="$logs/%p.log" "$@" -j1 || rc=$?
bad=
killed=0
for f in "$logs"/*.log; do
	grep -q "ERROR SUMMARY: 0 errors" "$f" && continue
	if ! grep -q "ERROR SUMMARY" "$f" &&
		! grep -v -E '^==[0-9]+== ((Memcheck, a memory error detector|Copyright |Using Valgrind-|Command: |Parent PID: ).*)?$' \
			"$f" | grep -q .; then
		killed=$((killed + 1))
		continue
	fi
	bad="$bad $f"
done
n=$(ls "$logs"/*.log | wc -l)
if [ -n "$bad" ] || [ "$rc" -ne 0 ]; then
	echo "valgrind found problems (exit $rc) in:" >&2
	for f in $bad; do cat "$f" >&2; done
	exit 1
fi
echo "valgrind: $n processes ($killed killed before they could report), 0 errors, no definite or indirect leaks"
