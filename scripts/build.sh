#!/bin/sh
# Configures (once) and builds tarn in ./build (or $TARN_BUILD_DIR), with
# warnings as errors. Extra arguments go to `meson setup`.
set -eu
cd "$(dirname "$0")/.."
build=${TARN_BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" -Dwerror=true "$@"
fi
ninja -C "$build"
