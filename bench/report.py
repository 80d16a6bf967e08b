# SPDX-License-Identifier: MIT
"""Reads the JSON that tarn-bench and the peers wrote and prints the one
table of bench/run.sh: every workload and figure, tarn on each backend with
its ratio to each peer, and the peers' own figures, under a description of
the machine. Standard library only.

A ratio says how many times better tarn's figure is: tarn/peer for figures
where higher is better (tasks/s, GB/s), peer/tarn where lower is better
(µs, s, CPU). Below 1 means tarn is worse. No ratio is printed when either
side is missing, zero, or marked "comparable": false (a different scale).

usage: report.py [--build DIR] FILE.json...
"""
import json
import os
import platform
import shlex
import subprocess
import sys

SHORT = {"multiprocessing": "mp", "dask": "dask", "mpi4py": "mpi4py"}


def fmt(value, unit):
    if unit == "tasks/s":
        if value >= 1e6:
            return "%.3g M/s" % (value / 1e6)
        if value >= 1e3:
            return "%.3g k/s" % (value / 1e3)
        return "%.3g /s" % value
    if unit == "us":
        if value >= 1e3:
            return "%.3g ms" % (value / 1e3)
        return "%.3g µs" % value
    if unit == "cpu-s/s":
        return "%.4f cpu-s/s" % value
    return "%.3g %s" % (value, unit)


def ratio(tarn, peer):
    if peer.get("comparable", True) is False:
        return None
    a, b = tarn["value"], peer["value"]
    if a <= 0 or b <= 0:
        return None
    # Idle CPU below a thousandth of a core is the measuring itself:
    # dividing two such figures means nothing.
    if tarn["unit"] == "cpu-s/s" and min(a, b) < 0.001:
        return None
    return a / b if tarn["better"] == "higher" else b / a


def fmt_ratio(r):
    if r >= 100:
        return "%.0f×" % r
    if r >= 10:
        return "%.1f×" % r
    return "%.2f×" % r


def machine(build):
    lines = []
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = os.cpu_count()
    avail = len(os.sched_getaffinity(0))
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 2**20)
    except OSError:
        pass
    cc = "?"
    try:
        # The compiler that really built tarn-bench, and how.
        with open(os.path.join(build, "compile_commands.json")) as f:
            prog = shlex.split(json.load(f)[0]["command"])[0]
        out = subprocess.run([prog, "--version"], capture_output=True,
                             text=True, check=True).stdout
        cc = out.splitlines()[0]
        with open(os.path.join(build, "meson-info",
                               "intro-buildoptions.json")) as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
            cc += " (meson buildtype %s)" % opts.get("buildtype")
    except (OSError, KeyError, ValueError, IndexError,
            subprocess.CalledProcessError):
        pass
    lines.append("CPU: %s, %d cores (%d available to this process)"
                 % (model, cores, avail))
    lines.append("memory: %s; kernel: %s %s; compiler: %s"
                 % (mem, platform.system(), platform.release(), cc))
    try:
        # Other work on a 2-core machine moves every figure: say so.
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
        start = os.environ.get("TARN_BENCH_LOAD_START")
        lines.append("load average (1, 5, 15 min): %sat the end %s"
                     % ("at the start %s, " % start if start else "", load))
    except OSError:
        pass
    return lines


def load(paths):
    tarn, peers = [], []
    for p in paths:
        try:
            with open(p) as f:
                d = json.load(f)
        except (OSError, ValueError) as e:
            print("report: %s: %s" % (p, e), file=sys.stderr)
            continue
        (tarn if d.get("system") == "tarn" else peers).append(d)
    # Columns: seq first (the reference), then the other backends, then
    # the peers, whatever order the files came in.
    tarn.sort(key=lambda d: (d.get("backend") != "seq", d.get("backend", "")))
    rank = {"multiprocessing": 0, "dask": 1, "mpi4py": 2}
    peers.sort(key=lambda d: (rank.get(d.get("system"), 3), d.get("system")))
    return tarn, peers


def index(doc):
    """(workload, metric) -> result; n/a and errors under metric None."""
    out = {}
    for r in doc.get("results", []):
        out[(r["workload"], r.get("metric"))] = r
    return out


def main(argv):
    build = "build"
    if len(argv) > 2 and argv[1] == "--build":
        build = argv[2]
        argv = argv[2:]
    tarn, peers = load(argv[1:])
    quick = any(d.get("quick") for d in tarn + peers)

    print("machine: " + "\n         ".join(machine(build)))
    for d in peers:
        if "python" in d:
            print("%s: Python %s%s" % (d["system"], d["python"],
                  ", distributed %s" % d["dask_distributed"]
                  if "dask_distributed" in d else ""))
    if quick:
        print("QUICK RUN: smoke-test sizes, figures not representative")
    print()

    # One row per (workload, figure), in the order the programs ran them;
    # a workload that is only n/a or failed everywhere gets one bare row.
    order, figures = [], {}
    for d in tarn + peers:
        for r in d.get("results", []):
            w, m = r["workload"], r.get("metric")
            if w not in figures:
                order.append(w)
                figures[w] = []
            if m and m != "error" and m not in figures[w]:
                figures[w].append(m)
    rows = [(w, m) for w in order for m in (figures[w] or [None])]

    cols = ["tarn " + d["backend"] for d in tarn]
    cols += [d["system"] for d in peers]
    idx = [index(d) for d in tarn + peers]
    table = [["workload", "figure"] + cols]
    for w, m in rows:
        line = [w, m or ""]
        for i, d in enumerate(tarn + peers):
            if d.get("not_installed"):
                line.append("not installed")
                continue
            if d.get("error") and not d.get("results"):
                line.append("failed")
                continue
            r = idx[i].get((w, m)) if m else None
            if r is None:
                bad = idx[i].get((w, None)) or idx[i].get((w, "error"))
                line.append("" if bad is None else
                            "error" if "error" in bad else "n/a")
                continue
            cell = fmt(r["value"], r["unit"])
            if d.get("system") == "tarn":
                rs = []
                for p in peers:
                    pr = index(p).get((w, m))
                    x = pr and ratio(r, pr)
                    if x:
                        rs.append("%s %s" % (fmt_ratio(x),
                                             SHORT.get(p["system"],
                                                       p["system"])))
                if rs:
                    cell += " (" + ", ".join(rs) + ")"
            line.append(cell)
        table.append(line)
    width = [max(len(r[c]) for r in table) for c in range(len(table[0]))]
    for n, r in enumerate(table):
        print("| " + " | ".join(s.ljust(width[c]) for c, s in enumerate(r))
              + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in width) + "|")

    print()
    print("Ratios: how many times better tarn's figure is than the peer's "
          "(mp = multiprocessing.Pool(2), dask = LocalCluster, 2 worker "
          "processes); below 1, tarn is worse.")
    print("Notes, by workload:")
    for d in tarn + peers:
        if d.get("not_installed"):
            print("  %s: not installed (Debian package %s; bench/run.sh "
                  "--install-peers installs it)"
                  % (d["system"], d["not_installed"]))
        elif d.get("error"):
            print("  %s: %s" % (d["system"], d["error"]))
    for w in order:
        for d in tarn + peers:
            name = "tarn " + d["backend"] if d.get("system") == "tarn" \
                else d["system"]
            for r in d.get("results", []):
                text = r.get("note") or r.get("na") or r.get("error")
                if r["workload"] != w or not text:
                    continue
                kind = "n/a: " if "na" in r else \
                    "ERROR: " if "error" in r else ""
                print("  %-15s %-16s %s%s" % (w, name, kind, text))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
