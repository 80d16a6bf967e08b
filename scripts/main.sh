#!/bin/sh
# The README's first command: install what is missing, build, and run
# tarn's main jobs on the default backend: the quickstart (remote tasks)
# and the planner's word count over tarn's own documentation.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
build=${TARN_BUILD_DIR:-build}
echo "== tarn: backends found"
"$build/tools/tarn/tarn" plugins
echo "== tarn: main job (examples/quickstart) on the default backend"
"$build/examples/quickstart"

echo "== tarn: planner job (examples/wordcount over docs/*.md) on the default backend"
input=$(mktemp -d)
trap 'rm -rf "$input"' EXIT
for f in docs/*.md; do
	cp "$f" "$input/$(basename "$f" .md).txt"
done
job="wordcount-$(date +%Y%m%d-%H%M%S)"
WORDCOUNT_INPUT=$input WORDCOUNT_LIB=$PWD/$build/examples/wordcount/libwordcount.so \
	"$build/tools/tarn/tarn" run examples/wordcount/plan.yaml \
	--data_root="$PWD/$build/jobs" --job_id="$job"
echo "== the 10 most frequent words ($build/jobs/$job/output/wordcount/):"
cat "$build/jobs/$job/output/wordcount/"part-* | sort -t "$(printf '\t')" -k2,2nr | head -n 10
