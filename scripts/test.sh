#!/bin/sh
# The README's second command (and what CI runs): install what is missing,
# build with warnings as errors, and run the whole test suite; then run it
# again in an AddressSanitizer + UndefinedBehaviorSanitizer build. Ends
# with one line "tests: N passed, N failed" over both runs.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh

build=${TARN_BUILD_DIR:-build}
asan=$build-asan
passed=0
failed=0

# Runs meson test in build dir $1 and adds its counts to the totals.
run_suite() {
	rc=0
	meson test -C "$1" --print-errorlogs --num-processes 2 || rc=$?
	# meson writes one JSON object per test; count them by result.
	ok=$(grep -c '"result": "OK"' "$1/meson-logs/testlog.json" || true)
	all=$(grep -c '"result": ' "$1/meson-logs/testlog.json" || true)
	passed=$((passed + ok))
	failed=$((failed + all - ok))
	return $rc
}

status=0
echo "== build (warnings are errors) and test"
./scripts/build.sh
run_suite "$build" || status=1

echo "== sanitizer build (address, undefined) and test"
if [ ! -f "$asan/build.ninja" ]; then
	meson setup "$asan" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$asan"
# handle_segv=0: tests crash workers on purpose and check the signal.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:handle_segv=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run_suite "$asan" || status=1

echo "tests: $passed passed, $failed failed"
exit $status
