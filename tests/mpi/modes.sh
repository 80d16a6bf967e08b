#!/bin/sh
# UNIDIST_MPI_SPAWN: auto picks SPMD with more than one rank and spawn with
# one; a mode that cannot work is a clear error; UNIDIST_MPI_LOG writes one
# log per rank.
#
# Usage: modes.sh PROGRAM (tests/mpi/mpi_check.c)
set -u
prog=$1
case $prog in /*) ;; *) prog=$(pwd)/$prog ;; esac
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect LABEL WANT_RC REGEX COMMAND...
expect() {
	label=$1
	want=$2
	regex=$3
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	ok=1
	if [ "$want" = 0 ] && [ "$rc" -ne 0 ]; then ok=0; fi
	if [ "$want" != 0 ] && { [ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; }; then ok=0; fi
	printf '%s\n' "$out" | grep -Eq "$regex" || ok=0
	if [ "$ok" = 1 ]; then
		echo "ok $label (rc $rc)"
	else
		failed=$((failed + 1))
		echo "FAIL $label: rc $rc, wanted $want and a line matching: $regex"
		printf '%s\n' "$out" | tail -15
	fi
}

expect "spawn forced under mpiexec -n 3" 1 \
	"UNIDIST_MPI_SPAWN=true \(spawn mode\) needs the program to start as one rank, but mpiexec started 3" \
	env UNIDIST_MPI_SPAWN=true timeout -k 2 60 mpiexec -n 3 "$prog" life
expect "SPMD forced on a singleton" 1 \
	"SPMD mode \(UNIDIST_MPI_SPAWN=false\) needs at least 3 ranks .* started 1" \
	env UNIDIST_BACKEND=mpi UNIDIST_MPI_SPAWN=false timeout -k 2 60 "$prog" life
expect "auto with 2 ranks" 1 \
	"SPMD mode \(UNIDIST_MPI_SPAWN=auto\) needs at least 3 ranks .* started 2" \
	timeout -k 2 60 mpiexec -n 2 "$prog" life
expect "spawn needing oversubscription" 1 \
	"spawn mode could not start 9 ranks .*oversubscri" \
	env UNIDIST_BACKEND=mpi UNIDIST_CPUS=8 OMPI_MCA_rmaps_base_oversubscribe=0 timeout -k 2 60 "$prog" life
expect "auto with 3 ranks is SPMD" 0 "life: ok" \
	env UNIDIST_MPI_SPAWN=auto timeout -k 2 60 mpiexec -n 3 "$prog" life
expect "spawn forced with mpiexec -n 1" 0 "life: ok" \
	env UNIDIST_MPI_SPAWN=1 timeout -k 2 60 mpiexec -n 1 "$prog" life

# One log per rank, in the working directory.
(cd "$tmp" && UNIDIST_MPI_LOG=true timeout -k 2 60 mpiexec -n 4 "$prog" life >/dev/null 2>&1)
for r in 0 1 2 3; do
	if [ -s "$tmp/tarn-mpi-rank$r.log" ]; then
		echo "ok UNIDIST_MPI_LOG: tarn-mpi-rank$r.log"
	else
		failed=$((failed + 1))
		echo "FAIL UNIDIST_MPI_LOG: no tarn-mpi-rank$r.log in $(ls "$tmp")"
	fi
done
left=$(pgrep -f -x "$prog( .*)?")
if [ -n "$left" ]; then
	failed=$((failed + 1))
	echo "FAIL left running: $left"
	for p in $left; do kill -9 "$p" 2>/dev/null; done
fi
echo "modes: $failed failed"
[ "$failed" -eq 0 ]
