#!/bin/sh
# Runs an MPI test program in one launch mode and checks that it left
# nothing behind: no process of the program, no new orted daemon, no new
# Open MPI or tarn file in /dev/shm. Exits with the program's status, or 1
# when something was left (and then ends what it left, by pid).
#
# Usage: launch.sh spmd|spawn|spawn1|valgrind PROGRAM [ARGS...]
#   spmd    mpiexec -n 4: driver, monitor, 2 workers
#   valgrind  spmd with every rank under valgrind memcheck; fails on any
#           memory error or definite/indirect leak in any rank (Open MPI's
#           own are suppressed: valgrind-openmpi.supp)
#   spawn   the program alone (a singleton) spawns monitor + UNIDIST_CPUS workers
#   spawn1  mpiexec -n 1, spawning likewise
# The harness (meson) sets Open MPI's root and oversubscription variables.
set -u
mode=$1
prog=$2
case $prog in /*) ;; *) prog=$(pwd)/$prog ;; esac
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Segments Open MPI (vader, pmix) or tarn could leave; other files are not ours.
ours='vader|pmix|ompi|tarn'
ls /dev/shm 2>/dev/null | grep -E "$ours" | sort > "$tmp/shm.before"
# A singleton's orted runs in the singleton's working directory: only those
# in ours can be this test's (another build's tests may run meanwhile).
here=$(pwd -P)
our_orted() {
	for p in $(pgrep -x orted); do
		[ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$here" ] && echo "$p"
	done | sort
}
our_orted > "$tmp/orted.before"

case $mode in
spmd) timeout -k 5 170 mpiexec -n 4 "$prog" "$@" ;;
valgrind)
	here_dir=$(dirname "$0")
	timeout -k 5 400 mpiexec -n 4 valgrind --num-callers=50 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		--suppressions=/usr/share/openmpi/openmpi-valgrind.supp \
		--suppressions="$here_dir/valgrind-openmpi.supp" \
		--log-file="$tmp/vg.%p.log" "$prog" "$@" ;;
spawn) UNIDIST_BACKEND=mpi timeout -k 5 170 "$prog" "$@" ;;
spawn1) timeout -k 5 170 mpiexec -n 1 "$prog" "$@" ;;
*) echo "launch.sh: unknown mode '$mode' (spmd, spawn, spawn1)" >&2; exit 2 ;;
esac
rc=$?
if [ "$mode" = valgrind ]; then
	n=$(ls "$tmp"/vg.*.log 2>/dev/null | wc -l)
	clean=$(grep -l "ERROR SUMMARY: 0 errors" "$tmp"/vg.*.log 2>/dev/null | wc -l)
	if [ "$n" -ne 4 ] || [ "$clean" -ne 4 ]; then
		echo "launch.sh: valgrind: $clean of $n ranks clean (want 4 of 4):" >&2
		for f in "$tmp"/vg.*.log; do
			grep -q "ERROR SUMMARY: 0 errors" "$f" || cat "$f" >&2
		done
		rc=1
	else
		echo "launch.sh: valgrind: 4 ranks, 0 errors, no definite or indirect leaks"
	fi
fi

# Ranks and daemons get a moment to finish exiting.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	left=$(pgrep -f -x "$prog( .*)?")
	orted=$(our_orted | comm -13 "$tmp/orted.before" -)
	[ -z "$left$orted" ] && break
	sleep 0.5
done
if [ -n "$left$orted" ]; then
	echo "launch.sh: left running: $left $orted" >&2
	for p in $left $orted; do kill -9 "$p" 2>/dev/null; done
	rc=1
fi
# A new segment that a live process still maps is another job's (this
# one's processes are all gone by now): other builds' MPI tests and
# benchmarks may run on the machine at the same time. So is a tarn
# segment whose job's driver (the pid its name starts with) still runs,
# even before any process maps it.
in_use() { grep -qsF "/dev/shm/$1" /proc/[0-9]*/maps; }
driver_alive() {
	case $1 in
	tarn-mpi-*-*) ;;
	*) return 1 ;;
	esac
	hex=${1#tarn-mpi-}
	hex=${hex%%-*}
	case $hex in '' | *[!0-9a-f]*) return 1 ;; esac
	[ -d "/proc/$(printf %d "0x$hex")" ]
}
shm=$(ls /dev/shm 2>/dev/null | grep -E "$ours" | sort | comm -13 "$tmp/shm.before" - |
	while read -r f; do in_use "$f" || driver_alive "$f" || echo "$f"; done)
if [ -n "$shm" ]; then
	echo "launch.sh: left in /dev/shm: $shm" >&2
	rc=1
fi
exit $rc
