# SPDX-License-Identifier: MIT
"""What the peer benchmarks share: timing, statistics, the process tree's
CPU time and the JSON that bench/report.py reads.

The JSON has the shape tarn-bench --json writes, so that the report can put
a peer's figure beside tarn's and divide: {"system", "results": [{"workload",
"metric", "value", "unit", "better", "note", "comparable"}]}. A result with
"comparable": false is shown but gets no ratio (a different scale, or a
different thing measured under the same name).
"""
import json
import os
import sys
import time

now = time.perf_counter


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def percentile(values, pct):
    """Nearest rank, as tarn-bench computes it."""
    v = sorted(values)
    rank = max(1, min(len(v), int(pct / 100.0 * len(v) + 0.999999)))
    return v[rank - 1]


class Results:
    def __init__(self, system, quick):
        self.system = system
        self.quick = quick
        self.results = []
        self.extra = {}

    def add(self, workload, metric, value, unit, better, note=None,
            comparable=True):
        r = {"workload": workload, "metric": metric, "value": value,
             "unit": unit, "better": better}
        if note:
            r["note"] = note
        if not comparable:
            r["comparable"] = False
        self.results.append(r)
        log("%-15s %-12s %.4g %s%s" % (workload, metric, value, unit,
                                       "  [%s]" % note if note else ""))

    def na(self, workload, why):
        self.results.append({"workload": workload, "na": why})
        log("%-15s n/a (%s)" % (workload, why))

    def error(self, workload, why):
        self.results.append({"workload": workload, "error": why})
        log("%-15s error: %s" % (workload, why))

    def dump(self):
        out = {"system": self.system, "workers": 2, "quick": self.quick,
               "results": self.results}
        out.update(self.extra)
        json.dump(out, sys.stdout, indent=1)
        sys.stdout.write("\n")


def not_installed(system, package):
    """The peer is missing: say so and succeed, the run goes on."""
    json.dump({"system": system, "not_installed": package}, sys.stdout)
    sys.stdout.write("\n")
    sys.exit(0)


def log(msg):
    # stdout carries the JSON; progress goes to stderr.
    print(msg, file=sys.stderr, flush=True)


def _stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    # The command name may hold spaces: fields start after the last ')'.
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def tree_pids():
    """This process and all its descendants, from one scan of /proc (done
    outside the measured window: it costs milliseconds)."""
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                parent[int(name)] = _stat(int(name))[0]
            except (OSError, ValueError, IndexError):
                pass
    tree = {os.getpid()}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parent.items():
            if pid not in tree and ppid in tree:
                tree.add(pid)
                changed = True
    return sorted(tree)


def tree_cpu(pids):
    """CPU seconds of @pids, every thread, as tarn-bench counts them:
    schedstat (nanoseconds) where the kernel has it, else utime+stime.
    getrusage(RUSAGE_CHILDREN) counts only children already waited for,
    so live workers are read from /proc."""
    hz = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            ns = 0
            for tid in os.listdir("/proc/%d/task" % pid):
                try:
                    with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                        ns += int(f.read().split()[0])
                except FileNotFoundError:
                    pass  # the thread just ended
            total += ns * 1e-9
        except FileNotFoundError:
            pass  # the process ended
        except (OSError, ValueError, IndexError):
            try:
                total += _stat(pid)[1] / hz
            except (OSError, ValueError, IndexError):
                pass
    return total


def idle_cpu(res, secs, warm):
    """@warm() makes the pool busy; then sleep @secs and count CPU time."""
    warm()
    pids = tree_pids()
    w0 = now()
    c0 = tree_cpu(pids)
    time.sleep(secs / 2)
    w1 = now()
    c1 = tree_cpu(pids)
    time.sleep(secs / 2)
    w2 = now()
    c2 = tree_cpu(pids)
    res.add("idle-cpu", "cpu", (c2 - c0) / (w2 - w0), "cpu-s/s", "lower",
            "%d processes, %.1f s idle after a burst of round trips"
            % (len(pids), w2 - w0))
    res.add("idle-cpu", "cpu-2nd-half", (c2 - c1) / (w2 - w1),
            "cpu-s/s", "lower")


def roundtrips(fn, samples, warmup, pause=0.0):
    """Microseconds of @samples calls of @fn (a full submit -> get)."""
    for _ in range(warmup):
        fn()
    us = []
    for _ in range(samples):
        if pause:
            time.sleep(pause)
        t0 = now()
        fn()
        us.append((now() - t0) * 1e6)
    return us


def add_roundtrips(res, workload, us, note):
    res.add(workload, "median", median(us), "us", "lower", note)
    res.add(workload, "p99", percentile(us, 99), "us", "lower")


def parse_quick(argv):
    return "--quick" in argv[1:]
