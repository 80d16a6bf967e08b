# SPDX-License-Identifier: MIT
"""Dask distributed (LocalCluster: 2 worker processes, 1 thread each) on
tarn's workloads; prints JSON on stdout (see peerlib.py).

Dask runs about 650 tasks/s on this machine, so the task counts are small
and the rates extrapolated: 2,000 no-op tasks instead of 1,000,000, and a
1 -> 1,000 -> 1 DAG instead of 1 -> 10,000 -> 1 (its total time is then not
comparable; its rate is). Objects: scatter is Dask's put, gathering a
finished future is its get.
"""
import logging
import sys

import peerlib
from peerlib import median, now

try:
    import distributed
except ImportError:
    peerlib.not_installed("dask", "python3-distributed")


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
    res = peerlib.Results("dask", quick)
    res.extra["python"] = sys.version.split()[0]
    res.extra["dask_distributed"] = distributed.__version__
    n = 200 if quick else 2000
    hot = 50 if quick else 300
    idle = 5 if quick else 20
    runs = 1 if quick else 3
    width = 100 if quick else 1000

    t0 = now()
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1,
        dashboard_address=None, silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    client.wait_for_workers(2)
    res.extra["startup_s"] = now() - t0
    try:
        # Imports and connections happen on the first tasks: keep them
        # out of the figures.
        client.gather([client.submit(noop, pure=False) for _ in range(50)])
        rates = []
        start = now()
        for _ in range(runs):
            t0 = now()
            fs = [client.submit(noop, pure=False) for _ in range(n)]
            client.gather(fs)
            rates.append(n / (now() - t0))
            del fs
            if now() - start > 20:
                break
        res.add("noop", "rate", median(rates), "tasks/s", "higher",
                "N=%d, rate extrapolated; median of %d"
                % (n, len(rates)))
        # noop-batch: client.map, Dask's batch call (one task per element).
        rates = []
        for _ in range(runs):
            t0 = now()
            client.gather(client.map(noop, range(n), pure=False))
            rates.append(n / (now() - t0))
        res.add("noop-batch", "rate", median(rates), "tasks/s", "higher",
                "client.map, N=%d, rate extrapolated; median of %d"
                % (n, len(rates)))

        def rt():
            client.submit(noop, pure=False).result()

        us = peerlib.roundtrips(rt, hot, hot // 10)
        peerlib.add_roundtrips(res, "roundtrip-hot", us,
                               "%d samples after %d warm-up" % (hot, hot // 10))
        us = peerlib.roundtrips(rt, idle, 0, pause=0.1)
        peerlib.add_roundtrips(res, "roundtrip-idle", us,
                               "%d samples, 100 ms asleep before each" % idle)

        # put: scatter to a worker. hash=False, or a repeat of the same
        # bytes would be recognised and not sent again.
        mib = 1 << 20
        data = b"\x5a" * mib
        secs = []
        for _ in range(21):
            t0 = now()
            f = client.scatter(data, hash=False)
            secs.append(now() - t0)
            f.release()
        res.add("put-1MiB", "first", mib / secs[0] / 1e9, "GB/s", "higher",
                "client.scatter; repeat: median of 20")
        res.add("put-1MiB", "repeat", mib / median(secs[1:]) / 1e9, "GB/s",
                "higher")

        gets, rts = [], []
        for i in range(20):
            f = client.submit(fill, mib, i + 1, pure=False)
            distributed.wait(f)
            t0 = now()
            b = f.result()
            gets.append((now() - t0) * 1e6)
            assert len(b) == mib
            f.release()
            t0 = now()
            client.submit(fill, mib, 7, pure=False).result()
            rts.append((now() - t0) * 1e6)
        res.add("get-1MiB", "get", median(gets), "us", "lower",
                "gather of a finished future holding 1 MiB; median of 20")
        res.add("get-1MiB", "roundtrip", median(rts), "us", "lower")
        res.na("put-1GiB", "not run: too slow for the time budget")
        res.na("get-1GiB", "not run: too slow for the time budget")

        secs = []
        for _ in range(runs):
            t0 = now()
            src = client.submit(dag_src, pure=False)
            mids = [client.submit(dag_mid, src, i, pure=False)
                    for i in range(width)]
            total = client.submit(dag_sink, mids, pure=False).result()
            secs.append(now() - t0)
            assert total == width + width * (width - 1) // 2
            del src, mids
        s = median(secs)
        res.add("dag", "total", s, "s", "lower",
                "1 -> %d -> 1 (reduced scale), futures as arguments; "
                "median of %d" % (width, runs), comparable=False)
        res.add("dag", "rate", (width + 2) / s, "tasks/s", "higher")

        peerlib.idle_cpu(res, 0.5 if quick else 2.0,
                         lambda: peerlib.roundtrips(rt, 100, 0))
    finally:
        client.close()
        cluster.close()
    res.dump()


if __name__ == "__main__":
    main()
