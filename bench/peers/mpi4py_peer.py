# SPDX-License-Identifier: MIT
"""mpi4py.futures.MPIPoolExecutor (2 workers, spawned with MPI_Comm_spawn
from this singleton, as tarn's mpi backend does in spawn mode) on tarn's
workloads; prints JSON on stdout (see peerlib.py). Debian package
python3-mpi4py.

Like multiprocessing it has no object store and no dependencies between
tasks: put is not applicable, get is the round trip of a task returning
1 MiB, the DAG is driven by the driver. Its batch call is
executor.map(..., chunksize=...), which tarn's API has no match for yet.
The harness sets Open MPI's root and oversubscription variables.
"""
import sys

import peerlib
from peerlib import median, now

try:
    from mpi4py.futures import MPIPoolExecutor
except ImportError:
    MPIPoolExecutor = None


def noop(*_):
    return 0


def fill(size, byte):
    return bytes([byte]) * size


def dag_src():
    return 1


def dag_mid(src, i):
    return src + i


def dag_sink(values):
    return sum(values)


def main():
    if MPIPoolExecutor is None:
        peerlib.not_installed("mpi4py", "python3-mpi4py")
    quick = peerlib.parse_quick(sys.argv)
    res = peerlib.Results("mpi4py", quick)
    res.extra["python"] = sys.version.split()[0]
    n = 2000 if quick else 10000
    hot = 300 if quick else 3000
    idle = 5 if quick else 20
    runs = 1 if quick else 3
    width = 1000 if quick else 10000

    with MPIPoolExecutor(max_workers=2) as ex:
        for f in [ex.submit(noop) for _ in range(100)]:
            f.result()
        rates = []
        for _ in range(runs):
            t0 = now()
            fs = [ex.submit(noop) for _ in range(n)]
            for f in fs:
                f.result()
            rates.append(n / (now() - t0))
        res.add("noop", "rate", median(rates), "tasks/s", "higher",
                "N=%d, submit then result, median of %d" % (n, len(rates)))
        t0 = now()
        nb = 10 * n
        done = sum(1 for _ in ex.map(noop, range(nb), chunksize=1000))
        assert done == nb
        res.add("noop-batch", "rate", nb / (now() - t0), "tasks/s", "higher",
                "executor.map over %d items, chunksize 1000" % nb,
                comparable=False)

        def rt():
            ex.submit(noop).result()

        us = peerlib.roundtrips(rt, hot, hot // 10)
        peerlib.add_roundtrips(res, "roundtrip-hot", us,
                               "%d samples after %d warm-up" % (hot, hot // 10))
        us = peerlib.roundtrips(rt, idle, 0, pause=0.1)
        peerlib.add_roundtrips(res, "roundtrip-idle", us,
                               "%d samples, 100 ms asleep before each" % idle)
        res.na("put-1MiB", "no object store")
        mib = 1 << 20
        us = peerlib.roundtrips(lambda: ex.submit(fill, mib, 7).result(), 50, 5)
        res.add("get-1MiB", "roundtrip", median(us), "us", "lower",
                "task returning 1 MiB of bytes, submit -> result, median of 50")
        res.na("put-1GiB", "not run: no object store")
        res.na("get-1GiB", "not run: no object store")

        secs = []
        for _ in range(runs):
            t0 = now()
            src = ex.submit(dag_src).result()
            mids = [ex.submit(dag_mid, src, i) for i in range(width)]
            vals = [m.result() for m in mids]
            total = ex.submit(dag_sink, vals).result()
            secs.append(now() - t0)
            assert total == width + width * (width - 1) // 2
        s = median(secs)
        res.add("dag", "total", s, "s", "lower",
                "1 -> %d -> 1, values relayed by the driver; median of %d"
                % (width, runs))
        res.add("dag", "rate", (width + 2) / s, "tasks/s", "higher")
        peerlib.idle_cpu(res, 0.5 if quick else 2.0,
                         lambda: peerlib.roundtrips(rt, 300, 0))
    res.dump()


if __name__ == "__main__":
    main()
