#!/bin/sh
# The README's second command (and what CI runs): install what is missing,
# build with warnings as errors, and run the whole test suite; then run it
# again in an AddressSanitizer + UndefinedBehaviorSanitizer build.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh

echo "== build (warnings are errors) and test"
./scripts/build.sh
meson test -C "${TARN_BUILD_DIR:-build}" --print-errorlogs --num-processes 2

echo "== sanitizer build (address, undefined) and test"
asan=${TARN_BUILD_DIR:-build}-asan
if [ ! -f "$asan/build.ninja" ]; then
	meson setup "$asan" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C "$asan" --print-errorlogs --num-processes 2
