# SPDX-License-Identifier: MIT
"""Python's multiprocessing.Pool (2 processes, apply_async) on tarn's
workloads; prints JSON on stdout (see peerlib.py). Standard library only.

multiprocessing has no object store and no dependencies between tasks, so
put is not applicable, get is measured as the round trip of a task that
returns 1 MiB, and the DAG is driven by the driver: it gets the source's
value, submits the 10,000 middle tasks with it, gets their values and
submits the sink with the list. That is how a multiprocessing user writes
it, and it is the full 1 -> 10,000 -> 1 shape.
"""
import multiprocessing
import sys

import peerlib
from peerlib import median, now


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
    quick = peerlib.parse_quick(sys.argv)
    res = peerlib.Results("multiprocessing", quick)
    res.extra["python"] = sys.version.split()[0]
    # The pool's rate falls as its backlog grows (one feeder thread and one
    # result thread share the GIL with the submitting loop): about 30k/s
    # for 5,000 tasks, 17k/s for 100,000 here. 10,000 keeps it near its
    # best, so tarn's ratio is not flattered by a backlog.
    n = 5000 if quick else 10000
    hot = 500 if quick else 5000
    idle = 5 if quick else 20
    runs = 1 if quick else 5
    width = 1000 if quick else 10000

    with multiprocessing.Pool(2) as pool:
        for r in [pool.apply_async(noop) for _ in range(100)]:
            r.get()
        # noop: submit all, then get all, as tarn-bench does.
        rates = []
        start = now()
        for _ in range(runs):
            t0 = now()
            rs = [pool.apply_async(noop) for _ in range(n)]
            for r in rs:
                r.get()
            rates.append(n / (now() - t0))
            if now() - start > 15:
                break
        res.add("noop", "rate", median(rates), "tasks/s", "higher",
                "N=%d, median of %d" % (n, len(rates)))
        # noop-batch: Pool.map, chunked as tarn groups a batch (4 chunks
        # per worker), over 1,000,000 calls as tarn-bench does.
        nb = 100000 if quick else 1000000
        chunk = max(1, nb // 8)
        rates = []
        for _ in range(1 if quick else 3):
            t0 = now()
            pool.map(noop, range(nb), chunksize=chunk)
            rates.append(nb / (now() - t0))
        res.add("noop-batch", "rate", median(rates), "tasks/s", "higher",
                "Pool.map, N=%d, chunksize %d, median of %d"
                % (nb, chunk, len(rates)))

        def rt():
            pool.apply_async(noop).get()

        us = peerlib.roundtrips(rt, hot, hot // 10)
        peerlib.add_roundtrips(res, "roundtrip-hot", us,
                               "%d samples after %d warm-up" % (hot, hot // 10))
        us = peerlib.roundtrips(rt, idle, 0, pause=0.1)
        peerlib.add_roundtrips(res, "roundtrip-idle", us,
                               "%d samples, 100 ms asleep before each" % idle)

        res.na("put-1MiB", "no object store: data travels only as task "
               "arguments and results")
        # The pool's result thread unpickles a result before the
        # AsyncResult is ready, so a get of a ready result times nothing:
        # only the whole round trip is meaningful.
        mib = 1 << 20
        us = peerlib.roundtrips(lambda: pool.apply_async(fill, (mib, 7)).get(),
                                50, 5)
        res.add("get-1MiB", "roundtrip", median(us), "us", "lower",
                "task returning 1 MiB of bytes, submit -> get, median of 50")
        res.na("put-1GiB", "not run: no object store")
        res.na("get-1GiB", "not run: 1 GiB through a pipe, pickled, says "
               "nothing about an object store")

        secs = []
        for _ in range(runs):
            t0 = now()
            src = pool.apply_async(dag_src).get()
            mids = [pool.apply_async(dag_mid, (src, i)) for i in range(width)]
            vals = [m.get() for m in mids]
            total = pool.apply_async(dag_sink, (vals,)).get()
            secs.append(now() - t0)
            assert total == width + width * (width - 1) // 2
        s = median(secs)
        res.add("dag", "total", s, "s", "lower",
                "1 -> %d -> 1, values relayed by the driver; median of %d"
                % (width, runs))
        res.add("dag", "rate", (width + 2) / s, "tasks/s", "higher")

        peerlib.idle_cpu(res, 0.5 if quick else 2.0,
                         lambda: peerlib.roundtrips(rt, 1000, 0))
    res.dump()


if __name__ == "__main__":
    main()
