#!/bin/sh
# A worker rank killed by a signal ends the job within 15 s, with a non-zero
# exit and a message naming the rank, its pid and host, and the tasks it
# was running; never a hang. Runs the job N times in spawn mode (tarn's
# driver notices and ends the job), and twice in SPMD mode, where mpiexec
# also watches the ranks and ends the job on the first dead one: there the
# message may be tarn's (the driver polls its ranks every 20 ms and is
# usually first) or mpiexec's own. (With mpiexec --enable-recovery, Open
# MPI 4.1.4 exits 0 whatever the ranks do, so tarn cannot make it fail.)
#
# Usage: faults.sh PROGRAM N
set -u
prog=$1
case $prog in /*) ;; *) prog=$(pwd)/$prog ;; esac
n=$2
failed=0
# Open MPI's singleton start (its daemon, MPI_Comm_spawn) fails now and
# then on a loaded machine before tarn has any rank to watch; such a job
# is started again, at most this many times in all, and reported.
restarts=3

# run_once LABEL EXPECT COMMAND...: one job that must die quickly and say EXPECT.
run_once() {
	label=$1
	expect=$2
	shift 2
	start=$(date +%s%N)
	out=$("$@" 2>&1)
	rc=$?
	while ! printf '%s\n' "$out" | grep -q "die: started" && [ "$restarts" -gt 0 ]; do
		restarts=$((restarts - 1))
		echo "restart $label: the job did not start (rc $rc): $(printf '%s\n' "$out" | grep -v '^\[' | head -3 | tr '\n' ' ' | cut -c1-300)"
		sleep 1
		start=$(date +%s%N)
		out=$("$@" 2>&1)
		rc=$?
	done
	ms=$((($(date +%s%N) - start) / 1000000))
	why=""
	[ "$rc" -eq 0 ] && why="exit status 0"
	[ "$ms" -gt 15000 ] && why="took $ms ms"
	[ "$ms" -ge 30000 ] && why="hung (killed by timeout after $ms ms)"
	printf '%s\n' "$out" | grep -Eq "$expect" || why="$why; no message matching: $expect"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		left=$(pgrep -f -x "$prog( .*)?")
		[ -z "$left" ] && break
		sleep 0.5
	done
	if [ -n "$left" ]; then
		why="$why; left running: $left"
		for p in $left; do kill -9 "$p" 2>/dev/null; done
	fi
	if [ -n "$why" ]; then
		failed=$((failed + 1))
		echo "FAIL $label: rc $rc in $ms ms: $why"
		printf '%s\n' "$out" | tail -20
	else
		echo "ok $label: rc $rc in $ms ms: $(printf '%s\n' "$out" | grep -E "$expect" | head -1 | cut -c1-200)"
	fi
}

tarn_msg="worker rank [0-9]+ \(pid [0-9]+ on [^)]+\) died .*its tasks: .*'die'"
i=1
while [ "$i" -le "$n" ]; do
	run_once "spawn #$i" "$tarn_msg" env UNIDIST_BACKEND=mpi timeout -k 2 30 "$prog" die
	i=$((i + 1))
done
i=1
while [ "$i" -le 2 ]; do
	run_once "spmd #$i" "$tarn_msg|process rank [0-9]+ with PID [0-9]+ on node [^ ]+ exited on signal 9" \
		timeout -k 2 30 mpiexec -n 4 "$prog" die
	i=$((i + 1))
done
echo "faults: $failed failed"
[ "$failed" -eq 0 ]
