#!/bin/sh
# bench/run.sh [--install-peers] [--quick] [--backends "seq procpool"]
#
# The one documented benchmark command (docs/performance.md): builds tarn
# if needed, runs tarn-bench on every backend that is built and can run
# here, with 2 workers (mpi twice: SPMD under mpiexec -n 4, and spawn
# from a singleton), runs the Python peers (multiprocessing.Pool, Dask
# distributed and mpi4py.futures.MPIPoolExecutor) on the same workloads,
# and prints one table with
# tarn's figures as ratios to the peers', under a description of the
# machine. The JSON of every program and the table are kept in
# $TARN_BENCH_OUT (default: <build dir>/bench-results).
#
#   --install-peers  install the peers first: Debian's python3-distributed
#                    and python3-mpi4py (multiprocessing is in the stdlib)
#                    and, for bench/graysort.sh, DuckDB's npm package into
#                    bench/.peers/duckdb
#   --quick          smoke-test sizes: everything runs, in well under a minute
#   --backends LIST  tarn backends to run (default: every available one)
#
# TARN_BUILD_DIR selects the build directory (default: build). A peer that
# is not installed is reported as such and skipped; a failing workload is
# an error line in the table, and the exit status is then 1.
set -eu
cd "$(dirname "$0")/.."

install_peers=0
quick=
backends=
while [ $# -gt 0 ]; do
	case $1 in
	--install-peers) install_peers=1 ;;
	--quick) quick=--quick ;;
	--backends)
		[ $# -ge 2 ] || { echo "run.sh: --backends needs a list" >&2; exit 2; }
		backends=$2
		shift
		;;
	-h | --help)
		sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "run.sh: unknown option $1 (try --help)" >&2
		exit 2
		;;
	esac
	shift
done

# The DuckDB release the graysort figures in docs/performance.md used.
duckdb_version=1.5.6-r.1
build=${TARN_BUILD_DIR:-build}
out=${TARN_BENCH_OUT:-$build/bench-results}
# The peers need Debian's interpreter: a pyenv python3 first in PATH does
# not see Debian's python3-distributed.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || echo python3)

if [ "$install_peers" = 1 ]; then
	sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	want=
	"$py" -c 'import distributed' 2>/dev/null || want="$want python3-distributed"
	"$py" -c 'import mpi4py' 2>/dev/null || want="$want python3-mpi4py"
	if [ -n "$want" ]; then
		$sudo apt-get update
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y \
			--no-install-recommends $want
	fi
	# DuckDB, the graysort benchmark's peer (bench/graysort.sh): the npm
	# package, into a folder of the bench (never global), pinned so that
	# figures compare across runs.
	peers=${TARN_BENCH_PEERS:-bench/.peers}
	if [ ! -d "$peers/duckdb/node_modules/@duckdb/node-api" ]; then
		if ! command -v npm >/dev/null 2>&1; then
			DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y \
				--no-install-recommends nodejs npm
		fi
		mkdir -p "$peers/duckdb"
		npm install --no-audit --no-fund --prefix "$peers/duckdb" \
			@duckdb/node-api@$duckdb_version
	fi
fi

# The build's chatter is shown only when it fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
TARN_BUILD_DIR=$build scripts/build.sh >"$log" 2>&1 || {
	cat "$log" >&2
	echo "run.sh: the build failed" >&2
	exit 1
}

if [ -z "$backends" ]; then
	# seq first: the reference the others are read against.
	backends=$("$build/tools/tarn/tarn" plugins --json | "$py" -c '
import json, sys
names = [p["name"] for p in json.load(sys.stdin)
         if p["loadable"] and p["available"]]
print(" ".join(n for n in ("seq", "procpool", "mpi") if n in names))')
fi

# Open MPI refuses root without these, and this machine may have fewer
# cores than the ranks of a run (driver, monitor, 2 workers): the harness
# says so for its own runs; tarn never sets them.
if [ "$(id -u)" = 0 ]; then
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=1

mkdir -p "$out"
# Only what an earlier run wrote: $out may be a folder of the caller's.
rm -f "$out"/tarn-*.json "$out"/peer-*.json "$out/report.txt"
# Other work on a 2-core machine moves every figure: the report says how
# busy the machine was when the run began.
TARN_BENCH_LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
export TARN_BENCH_LOAD_START
status=0
set -- # from here on, the JSON files for the report
for b in $backends; do
	# mpi runs twice: SPMD (mpiexec starts driver, monitor and 2 workers)
	# and spawn (a singleton spawns them).
	runs=$b
	[ "$b" = mpi ] && runs="mpi-spmd mpi-spawn"
	for label in $runs; do
		echo "== tarn on $label (2 workers)"
		launch=
		[ "$label" = mpi-spmd ] && launch="mpiexec -n 4"
		# --backend sets UNIDIST_BACKEND through tarn_config_set(); the
		# caller's backend variables are cleared so that they cannot conflict.
		# shellcheck disable=SC2086
		env -u SP_PLATFORM -u UNIDIST_BACKEND $launch "$build/bench/tarn-bench" \
			--backend "$b" --workers 2 --label "$label" ${quick:+"$quick"} \
			--json "$out/tarn-$label.json" || status=1
		if [ -f "$out/tarn-$label.json" ]; then
			set -- "$@" "$out/tarn-$label.json"
		fi
	done
done

# Placement against unidist's round-robin, where it matters: large task
# results read by other tasks, with the shared store off (as between hosts).
case " $backends " in
*" mpi "*)
	echo "== tarn on mpi-spmd: locality-aware placement against round-robin"
	for policy in locality round-robin; do
		env -u SP_PLATFORM -u UNIDIST_BACKEND UNIDIST_MPI_SHARED_OBJECT_STORE=false \
			UNIDIST_MPI_SCHEDULING=$policy mpiexec -n 4 "$build/bench/tarn-bench" \
			--backend mpi --workers 2 --label "mpi-spmd/$policy" \
			${quick:+"$quick"} --only locality \
			--json "$out/locality-$policy.json" || status=1
	done
	# Both medians and their ratio: the gain is the point of the workload.
	"$py" - "$out/locality-locality.json" "$out/locality-round-robin.json" <<'PY' || status=1
import json, sys
def total(path):
    for r in json.load(open(path))["results"]:
        if r["workload"] == "locality" and r.get("metric") == "total":
            return r["value"]
    sys.exit("no locality figure in " + path)
loc, rr = total(sys.argv[1]), total(sys.argv[2])
print("mpi-spmd  locality        locality-aware %.3g s, round-robin %.3g s: %.2fx"
      % (loc, rr, rr / loc))
PY
	echo "== tarn on mpi-spmd: 64 MiB from a task on one worker to a task on the other"
	for store in true false; do
		env -u SP_PLATFORM -u UNIDIST_BACKEND UNIDIST_MPI_SHARED_OBJECT_STORE=$store \
			UNIDIST_MPI_SCHEDULING=round-robin mpiexec -n 4 "$build/bench/tarn-bench" \
			--backend mpi --workers 2 --label "mpi-spmd/store=$store" \
			${quick:+"$quick"} --only xfer-64MiB || status=1
	done
	;;
esac

for peer in mp dask mpi4py; do
	echo "== $peer peer"
	f=$out/peer-$peer.json
	if "$py" "bench/peers/${peer}_peer.py" ${quick:+"$quick"} >"$f"; then
		:
	else
		# A broken peer is reported, never fatal: tarn's figures stand.
		"$py" -c 'import json, sys
json.dump({"system": sys.argv[1], "error": "the peer script failed; see its output above"}, sys.stdout)' \
			"$(case $peer in mp) echo multiprocessing ;; *) echo $peer ;; esac)" >"$f"
	fi
	set -- "$@" "$f"
done

echo
"$py" bench/report.py --build "$build" "$@" | tee "$out/report.txt"
exit $status
