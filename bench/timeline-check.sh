#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/timeline-check.sh [--attempts N] [--build DIR]
#
# A manual check, not run by CI: makes a synthetic job's report with
# bench/report-bench (N attempts on 4 workers, default 2000, some failed)
# and opens its timeline.html in headless chromium, with no network:
# fails when the page logs a script error, when the script did not draw
# the time axis, or when the page does not have one bar per attempt.
# Leaves a screenshot in $TARN_BENCH_OUT/timeline.png (default:
# <build>/bench-results). Needs chromium (apt-get install chromium).
set -eu
cd "$(dirname "$0")/.."

attempts=2000
build=${TARN_BUILD_DIR:-build}
while [ $# -gt 0 ]; do
	case $1 in
	--attempts) attempts=$2; shift ;;
	--build) build=$2; shift ;;
	*) echo "timeline-check.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "timeline-check.sh: no chromium (apt-get install chromium)" >&2; exit 1; }
ninja -C "$build" bench/report-bench >/dev/null
out=${TARN_BENCH_OUT:-$build/bench-results}
mkdir -p "$out"
job=$(mktemp -d)
trap 'rm -rf "$job"' EXIT

"$build/bench/report-bench" --attempts "$attempts" --workers 4 "$job/job" >/dev/null 2>&1
page="file://$job/job/timeline.html"
# A proxy that does not exist: any network fetch would fail and be logged.
flags="--headless --no-sandbox --disable-gpu --proxy-server=127.0.0.1:9 \
	--window-size=1400,500 --enable-logging=stderr --v=0"
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --virtual-time-budget=5000 --dump-dom "$page" \
	>"$job/dom.html" 2>"$job/console.log"
# shellcheck disable=SC2086
timeout 120 "$browser" $flags --screenshot="$out/timeline.png" "$page" \
	>/dev/null 2>>"$job/console.log"

status=0
if grep -E 'Uncaught|CONSOLE.*(Error|error)|ERR_PROXY|net::ERR' "$job/console.log"; then
	echo "timeline-check: the page logged errors (above)"
	status=1
fi
bars=$(grep -o '<rect class="bar' "$job/dom.html" | wc -l)
ticks=$(sed -n 's/.*<div id="axis">\(.*\)<\/div>.*/\1/p' "$job/dom.html" | grep -o '<span' | wc -l)
echo "timeline-check: $bars bars for $attempts attempts, $ticks axis ticks drawn by the script"
[ "$bars" -eq "$attempts" ] || { echo "timeline-check: expected $attempts bars"; status=1; }
[ "$ticks" -gt 0 ] || { echo "timeline-check: the script drew no axis"; status=1; }
echo "timeline-check: screenshot in $out/timeline.png"
exit $status
