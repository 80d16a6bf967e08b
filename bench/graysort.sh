#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/graysort.sh [--quick] [--size SIZE] [--workers N] [--runs N]
#                   [--tarn-cmd CMD] [--build DIR] [--no-build] [--keep]
#
# The graysort benchmark (docs/performance.md, "Planner: graysort"): one
# command that generates SIZE of 100-byte records (10-byte keys, ascii
# layout: 100-byte lines, like gensort -a), sorts them file to file with
# tarn's graysort, with `LC_ALL=C sort --parallel=N` and, when installed,
# with DuckDB (COPY (SELECT ... ORDER BY key) TO ...), validates every
# output (global key order, record count, checksum of all records), and
# prints each one's throughput (input MB / wall seconds, MB = 10^6 bytes)
# with tarn's ratio to each peer.
#
#   --quick        64 MiB instead of 2 GiB (what `meson test --benchmark` runs)
#   --size SIZE    bytes of records, with an optional K, M or G (binary)
#                  suffix; default 2G
#   --workers N    workers for tarn, threads for sort and DuckDB (default 2)
#   --runs N       run the three N times, interleaved, and report each
#                  one's median and the median of the per-run ratios
#                  (default 1; use 3 on a shared machine)
#   --tarn-cmd CMD tarn's graysort, as a command line with placeholders:
#                  {in} the folder of input files (part-NNNNN.dat), {out} an
#                  empty folder for the sorted files (read back in path
#                  order, sub-folders included, dot files ignored), {tmp} an
#                  empty scratch folder (a data root), {workers}, {build}.
#                  Default: $TARN_GRAYSORT_CMD, else examples/graysort
#                  (--no-generate, 4 files, one range partition per worker,
#                  at most 4: fused into the sort, docs/planner.md). The same
#                  plan as a YAML file for `tarn run`:
#                  --tarn-cmd 'env GRAYSORT_INPUT={in} {build}/tools/tarn/tarn
#                  run bench/graysort-plan.yaml --data_root {tmp}
#                  --output_path {out} --num_executors {workers}'
#   --build DIR    the build directory (default: $TARN_BUILD_DIR or build)
#   --no-build     do not run scripts/build.sh first
#   --keep         keep the input and outputs (in $TARN_BENCH_OUT/graysort)
#
# DuckDB is the npm package @duckdb/node-api in bench/.peers/duckdb
# (`bench/run.sh --install-peers` installs it); without it, or without
# node, DuckDB is reported as not installed. Results go to
# $TARN_BENCH_OUT/graysort.json (default: <build>/bench-results). The exit
# status is 1 when a sorter fails or its output does not validate.
set -eu
cd "$(dirname "$0")/.."

size=2G
workers=2
runs=1
tarn_cmd=${TARN_GRAYSORT_CMD:-}
build=${TARN_BUILD_DIR:-build}
do_build=1
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) size=64M ;;
	--size | --workers | --runs | --tarn-cmd | --build)
		[ $# -ge 2 ] || { echo "graysort.sh: $1 needs a value" >&2; exit 2; }
		case $1 in
		--size) size=$2 ;;
		--workers) workers=$2 ;;
		--runs) runs=$2 ;;
		--tarn-cmd) tarn_cmd=$2 ;;
		--build) build=$2 ;;
		esac
		shift
		;;
	--no-build) do_build=0 ;;
	--keep) keep=1 ;;
	-h | --help)
		sed -n '3,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "graysort.sh: unknown option $1 (try --help)" >&2
		exit 2
		;;
	esac
	shift
done

case $size in
[0-9]*[0-9] | [0-9] | [0-9]*[0-9kKmMgG]) ;;
*) size=bad ;;
esac
case ${size%[kKmMgG]} in
'' | *[!0-9]*)
	echo "graysort.sh: --size $size: not a size (allowed: bytes, or a whole number with K, M or G)" >&2
	exit 2
	;;
esac
case $size in
*[kK]) bytes=$((${size%?} * 1024)) ;;
*[mM]) bytes=$((${size%?} * 1024 * 1024)) ;;
*[gG]) bytes=$((${size%?} * 1024 * 1024 * 1024)) ;;
*) bytes=$size ;;
esac
for n in "--workers $workers" "--runs $runs"; do
	case ${n#* } in
	'' | *[!0-9]* | 0)
		echo "graysort.sh: $n: not a positive integer" >&2
		exit 2
		;;
	esac
done
records=$((bytes / 100))
[ "$records" -gt 0 ] || { echo "graysort.sh: --size $size: less than one 100-byte record" >&2; exit 2; }

if [ "$do_build" = 1 ]; then
	log=$(mktemp)
	TARN_BUILD_DIR=$build scripts/build.sh >"$log" 2>&1 || {
		cat "$log" >&2
		rm -f "$log"
		echo "graysort.sh: the build failed" >&2
		exit 1
	}
	rm -f "$log"
fi
tool=$build/bench/graysort-records
[ -x "$tool" ] || { echo "graysort.sh: $tool is not built" >&2; exit 1; }

out=${TARN_BENCH_OUT:-$build/bench-results}
mkdir -p "$out"
# Absolute: a plan resolves relative paths against its own folder.
out=$(cd "$out" && pwd)
work=$out/graysort
rm -rf "$work"
mkdir -p "$work/in"
cleanup() {
	[ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null)
echo "graysort: $records records of 100 bytes ($bytes bytes), $workers workers"
echo "machine: $(nproc) CPUs ($cpu), $mem memory; load at start: $load"

# 4 input files: enough for a planner to split by files, few enough that
# sort's and DuckDB's start-up per file is nothing.
secs() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'
}

t0=$(date +%s.%N)
sum=$("$tool" gen --seed 42 --files 4 "$records" "$work/in/part")
t1=$(date +%s.%N)
echo "input: $work/in/part-0000[0-3].dat, checksum $sum (generated in $(secs "$t0" "$t1") s)"
echo

status=0
results=
# run NAME OUTDIR COMMAND...: times COMMAND, then validates the files in
# OUTDIR (name order) against the input's checksum.
run() {
	name=$1
	dir=$2
	shift 2
	rm -rf "$dir" "$work/tmp"
	mkdir -p "$dir" "$work/tmp"
	sync
	printf '%-8s ' "$name"
	t0=$(date +%s.%N)
	if ! "$@" >"$work/$name.log" 2>&1; then
		t1=$(date +%s.%N)
		echo "FAILED after $(secs "$t0" "$t1") s; its output:"
		sed 's/^/    /' "$work/$name.log" | tail -20
		status=1
		results="$results $name:failed:$i"
		return 0
	fi
	t1=$(date +%s.%N)
	# Sub-folders too (tarn's sink writes {out}/graysort/), dot files not
	# (a sink's commit marker).
	files=$(find "$dir" -type f ! -name '.*' | LC_ALL=C sort)
	if [ -z "$files" ]; then
		echo "FAILED: no output files in $dir"
		status=1
		results="$results $name:failed:$i"
		return 0
	fi
	# shellcheck disable=SC2086
	if ! v=$("$tool" validate --expect "$sum" $files 2>&1); then
		echo "INVALID: $v"
		status=1
		results="$results $name:invalid:$i"
		return 0
	fi
	s=$(secs "$t0" "$t1")
	mbs=$(awk -v b="$bytes" -v s="$s" 'BEGIN { printf "%.1f", b / s / 1e6 }')
	echo "$s s  $mbs MB/s  (valid)"
	results="$results $name:$mbs:$s:$i"
	[ "$keep" = 1 ] || rm -rf "$dir" "$work/tmp"
}

if [ -z "$tarn_cmd" ] && [ -x "$build/examples/graysort/graysort" ]; then
	# examples/graysort: the plan built with the C API, on the files
	# already in {in}; it leaves validating to us (--no-generate).
	# One range per worker: the planner fuses up to 4 ranges into the
	# sort, which then writes every record once.
	ranges=$((workers < 4 ? workers : 4))
	tarn_cmd="{build}/examples/graysort/graysort --no-generate --input={in} \
--output={out} --files=4 --partitions=$ranges --data_root={tmp} \
--num_executors={workers} --console_log_level=warning"
fi
if [ -n "$tarn_cmd" ]; then
	cmd=$(printf '%s' "$tarn_cmd" | sed -e "s|{in}|$work/in|g" \
		-e "s|{out}|$work/out-tarn|g" -e "s|{tmp}|$work/tmp|g" \
		-e "s|{workers}|$workers|g" -e "s|{build}|$build|g")
	echo "tarn command: $cmd"
fi
peers=${TARN_BENCH_PEERS:-bench/.peers}
have_duckdb=0
if command -v node >/dev/null 2>&1 &&
	[ -d "$peers/duckdb/node_modules/@duckdb/node-api" ]; then
	have_duckdb=1
fi

# Interleaved, so that a burst of load elsewhere hits every system.
i=1
while [ "$i" -le "$runs" ]; do
	[ "$runs" = 1 ] || echo "-- run $i of $runs"
	if [ -n "$tarn_cmd" ]; then
		run tarn "$work/out-tarn" sh -c "$cmd"
	else
		echo "tarn     skipped: $build/examples/graysort/graysort is not built and no --tarn-cmd"
		results="$results tarn:skipped:$i"
	fi

	run sort "$work/out-sort" env LC_ALL=C sort --parallel="$workers" \
		-T "$work/tmp" -o "$work/out-sort/sorted.dat" \
		"$work/in/part-00000.dat" "$work/in/part-00001.dat" \
		"$work/in/part-00002.dat" "$work/in/part-00003.dat"

	if [ "$have_duckdb" = 1 ]; then
		run duckdb "$work/out-duckdb" \
			env TARN_BENCH_PEERS="$(cd "$peers" && pwd)" \
			node bench/peers/duckdb_graysort.mjs "$work/in/part-*.dat" \
			"$work/out-duckdb/sorted.dat" "$workers" "$work/tmp"
	else
		echo "duckdb   not installed (bench/run.sh --install-peers installs @duckdb/node-api)"
		results="$results duckdb:not-installed:$i"
	fi
	i=$((i + 1))
done

# The table of ratios, and the JSON for whoever wants the figures.
/usr/bin/python3 - "$out/graysort.json" "$bytes" "$workers" "$load" $results <<'EOF'
import json, sys
path, nbytes, workers, load = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
runs = {}
for item in sys.argv[5:]:
    f = item.split(":")
    # name:MB/s:seconds:run, or name:error:run
    runs.setdefault(f[0], {})[int(f[-1])] = f[1:-1]
res = {}
for name, rs in runs.items():
    errors = [r[0] for r in rs.values() if len(r) != 2]
    if errors:
        # One failed or invalid run spoils the system's figure.
        res[name] = {"error": errors[0]}
        continue
    mbs = sorted(float(r[0]) for r in rs.values())
    secs = sorted(float(r[1]) for r in rs.values())
    res[name] = {"mb_per_s": mbs[len(mbs) // 2],
                 "seconds": secs[len(secs) // 2], "runs": len(rs),
                 "by_run": {i: float(r[0]) for i, r in sorted(rs.items())}}
print()
for name, r in res.items():
    if "mb_per_s" in r and r["runs"] > 1:
        print("%-8s median of %d: %.1f MB/s (%s)" % (
            name, r["runs"], r["mb_per_s"],
            ", ".join("%.1f" % v for v in r["by_run"].values())))
tarn = res.get("tarn", {})
for peer in ("sort", "duckdb"):
    p = res.get(peer, {})
    if "mb_per_s" in tarn and "mb_per_s" in p:
        # Ratios of the same run: the two ran minutes apart at most.
        per_run = sorted(tarn["by_run"][i] / p["by_run"][i]
                         for i in tarn["by_run"] if i in p["by_run"])
        p["tarn_ratio_by_run"] = per_run
        line = "tarn / %-6s = %.2fx" % (peer, per_run[len(per_run) // 2])
        if len(per_run) > 1:
            line += " (median of the runs' ratios: %s)" % ", ".join(
                "%.2f" % v for v in per_run)
        if peer == "duckdb":
            line += "; target: at least 1.2x"
        print(line)
    else:
        print("tarn / %-6s: no ratio (tarn %s, %s %s)" % (
            peer, tarn.get("error", "ok"), peer, p.get("error", "ok")))
with open(path, "w") as f:
    json.dump({"workload": "graysort", "bytes": nbytes, "workers": workers,
               "load_at_start": load, "results": res}, f, indent=1)
    f.write("\n")
EOF
exit $status
