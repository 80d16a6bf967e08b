#!/bin/sh
# The README's first command: install what is missing, build, and run
# tarn's main job on the default backend.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
build=${TARN_BUILD_DIR:-build}
echo "== tarn: backends found"
"$build/tools/tarn/tarn" plugins
echo "== tarn: main job (examples/quickstart) on the default backend"
"$build/examples/quickstart"
