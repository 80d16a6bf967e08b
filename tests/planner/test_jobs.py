#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Whole planner jobs through `tarn run` and the examples.

Usage: test_jobs.py CASE. Each case runs in a fresh temporary folder that
is removed afterwards; every process is started in its own session and the
session is killed at the end, so nothing outlives the test.
"""
import collections
import csv
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TARN = os.environ["TARN"]
TESTFNS = os.environ["TESTFNS"]
SRC = os.environ["TARN_TEST_SRC"]
ROOT = os.path.dirname(os.path.dirname(SRC))
sessions = []


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def start(args, env=None, **kw):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.Popen(args, env=e, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True,
                         start_new_session=True, **kw)
    sessions.append(p.pid)
    return p


def run(args, env=None, timeout=100, cwd=None):
    p = start(args, env, cwd=cwd)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        fail("timed out: %s\n%s" % (" ".join(args), out))
    return p.returncode, out


def kill_sessions():
    for pid in sessions:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def tree(d):
    """{relative path: sha256} of every file under d, commit marks aside
    (they name the job and the attempt that committed)."""
    out = {}
    for base, _, files in os.walk(d):
        for f in files:
            if f == ".tarn-commit":
                continue
            p = os.path.join(base, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, d)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def status_of(job_dir):
    with open(os.path.join(job_dir, ".STATUS")) as f:
        return f.read()


def staging_empty(job_dir):
    s = os.path.join(job_dir, "staging")
    return not os.path.isdir(s) or not os.listdir(s)


def make_lines(d, nfiles, lines):
    os.makedirs(d, exist_ok=True)
    for i in range(nfiles):
        with open(os.path.join(d, "f%04d.txt" % i), "w") as f:
            for j in range(lines):
                k = (i * 7919 + j * 104729) % 1000
                f.write("k%03d,%d,%d\n" % (k, i, j))


BIG_PLAN = """
name: reliability
libraries: [{testfns}]
nodes:
  - {{name: src, kind: source, glob: "{input}/*.txt"}}
  - {{name: files, kind: partition, input: src, by: files, npartitions: {n}}}
  - {{name: sorted, kind: sort, input: files, key: {{field: 1, delimiter: ","}}}}
  - {{name: copy, kind: compute, input: sorted, function: {fn}, args: "{args}"}}
  - {{name: h, kind: partition, input: copy, by: hash, npartitions: 8,
     key: {{field: 1, delimiter: ","}}}}
  - {{name: hs, kind: sort, input: h, key: {{field: 1, delimiter: ","}}}}
  - {{name: all, kind: consolidate, input: hs, dimensions: []}}
  - {{name: out, kind: sink, input: all, path: result}}
"""


def big_plan(tmp, n, fn="t_copy", args=""):
    inp = os.path.join(tmp, "in")
    make_lines(inp, n, 20)
    path = os.path.join(tmp, "plan.yaml")
    with open(path, "w") as f:
        f.write(BIG_PLAN.format(testfns=TESTFNS, input=inp, n=n, fn=fn,
                                args=args))
    return path


def tarn_run(plan, root, job, backend, *opts, timeout=100):
    return run([TARN, "run", plan, "--data_root=" + root, "--job_id=" + job,
                *opts], env={"UNIDIST_BACKEND": backend}, timeout=timeout)


# Cases -----------------------------------------------------------------


def case_wordcount(tmp, backend):
    inp = os.path.join(tmp, "input")
    os.makedirs(inp)
    words = ["alpha", "beta", "Gamma", "delta", "eps1lon", "zeta"]
    expect = collections.Counter()
    for i in range(9):
        with open(os.path.join(inp, "t%d.txt" % i), "w") as f:
            for j in range(40 + i):
                line = " ".join(words[(i * j + k) % 6] for k in range(j % 5 + 1))
                f.write(line + "; -- \n")
                expect.update(w.lower() for w in line.split())
    env = {"WORDCOUNT_INPUT": inp, "UNIDIST_BACKEND": backend}
    rc, out = run([TARN, "run", os.path.join(ROOT, "examples/wordcount/plan.yaml"),
                   "--data_root=" + tmp, "--job_id=wc"], env=env)
    check(rc == 0, "wordcount failed:\n" + out)
    res = os.path.join(tmp, "wc", "output", "wordcount")
    got = collections.Counter()
    for f in sorted(os.listdir(res)):
        if f.startswith("."):
            continue
        prev = None
        for line in open(os.path.join(res, f)):
            w, c = line.rstrip("\n").split("\t")
            check(prev is None or prev < w, "not sorted in %s: %s" % (f, w))
            prev = w
            check(w not in got, "word %s counted twice" % w)
            got[w] = int(c)
    check(got == expect, "counts differ:\n%s\n%s" % (sorted(got.items()),
                                                      sorted(expect.items())))
    check(status_of(os.path.join(tmp, "wc")).startswith("success"),
          "STATUS: " + status_of(os.path.join(tmp, "wc")))
    check(staging_empty(os.path.join(tmp, "wc")), "staging not empty")
    for f in ["task_metrics.csv", "trace.json", "timeline.html", "journal"]:
        check(os.path.getsize(os.path.join(tmp, "wc", f)) > 0, f + " missing")


def case_graysort(tmp, backend):
    rc, out = run([os.environ["GRAYSORT"], "--records=60000", "--files=3",
                   "--partitions=4", "--input=" + os.path.join(tmp, "in"),
                   "--data_root=" + os.path.join(tmp, "data")],
                  env={"UNIDIST_BACKEND": backend})
    check(rc == 0, "graysort failed:\n" + out)
    check(re.search(r"60000 records in 4 files, globally sorted", out), out)


def case_options(tmp):
    rc, out = run([TARN, "run", "--help"])
    check(rc == 0, out)
    for opt in ["job_id", "job_time", "job_name", "data_root", "num_executors",
                "platform", "random_seed", "max_retry_count", "max_fail_count",
                "prioritize_retry", "speculative_exec", "fail_fast",
                "fault_inject_prob", "memory_allocator", "bind_numa_node",
                "enforce_memory_limit", "console_log_level", "file_log_level",
                "remove_output_root", "skip_task_with_empty_input",
                "output_path", "env_variables"]:
        check("--" + opt in out, "--help lacks --%s:\n%s" % (opt, out))
    plan = big_plan(tmp, 3)
    rc, out = tarn_run(plan, tmp, "o", "seq", "--speculative_exec=sometimes")
    check(rc == 2 and "SP_SPECULATIVE_EXEC=sometimes" in out
          and "disable, enable, aggressive" in out, out)
    rc, out = tarn_run(plan, tmp, "o", "seq", "--fault_inject_prob=2")
    check(rc == 2 and "SP_FAULT_INJECT_PROB" in out, out)
    rc, out = run([TARN, "run", plan, "--no-such-option"])
    check(rc == 2 and "no-such-option" in out, out)
    rc, out = run([TARN, "run"])
    check(rc == 2 and "give a plan file" in out, out)
    nolib = os.path.join(tmp, "nolib.yaml")
    with open(nolib, "w") as f:
        f.write("libraries: [/nonexistent/libx.so]\nnodes:\n"
                "  - {name: a, kind: source, glob: '%s/in/*.txt'}\n" % tmp)
    rc, out = tarn_run(nolib, tmp, "nl", "seq")
    check(rc == 2 and "plan library /nonexistent/libx.so" in out, out)
    # SP_* from the environment work like the options
    rc, out = run([TARN, "run", plan], env={
        "UNIDIST_BACKEND": "seq", "SP_DATA_ROOT": tmp, "SP_JOBID": "envjob",
        "SP_OUTPUT_PATH": os.path.join(tmp, "elsewhere"),
        "SP_REMOVE_OUTPUT_ROOT": "true", "SP_ENV_VARIABLES": "A=1,B=2"})
    check(rc == 0, out)
    check(os.path.isdir(os.path.join(tmp, "elsewhere", "result")),
          "output_path not used")
    check(not os.path.exists(os.path.join(tmp, "envjob", "tasks")),
          "remove_output_root did not remove tasks/")
    # a relative data_root is taken from the current folder, as a shell
    # user expects, and so are the sinks under it
    rc, out = run([TARN, "run", plan, "--data_root=rel", "--job_id=relj"],
                  env={"UNIDIST_BACKEND": "seq"}, cwd=tmp)
    check(rc == 0, "relative --data_root failed:\n" + out)
    check(os.path.isdir(os.path.join(tmp, "rel", "relj", "output", "result")),
          "relative data_root: no output under %s/rel/relj" % tmp)
    check("CRITICAL" not in out, out)
    # a sink path holding another job's output is refused, not taken
    rc, out = run([TARN, "run", plan, "--max_fail_count=1"], env={
        "UNIDIST_BACKEND": "seq", "SP_DATA_ROOT": tmp, "SP_JOBID": "envjob2",
        "SP_OUTPUT_PATH": os.path.join(tmp, "elsewhere")})
    check(rc == 1 and "was not written by job envjob2" in out, out)
    # the same job id with another plan: refused, naming the journal
    other = big_plan(os.path.join(tmp, "o2"), 4)
    rc, out = tarn_run(other, tmp, "envjob", "seq")
    check(rc == 1 and "was written for another plan" in out, out)
    rc, out = run([TARN, "plan", plan])
    check(rc == 0 and "plan reliability: 8 nodes" in out, out)
    rc, out = run([TARN, "plan", "--dot", plan])
    check(rc == 0 and out.startswith('digraph "reliability"'), out)
    bad = os.path.join(tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write("nodes:\n  - name: a\n    kind: source\n    glob: x\n    by: hash\n")
    rc, out = run([TARN, "plan", bad])
    check(rc == 1 and bad + ":5:5: unknown key 'by'" in out, out)


def case_crash(tmp):
    counter = os.path.join(tmp, "calls")
    plan = os.path.join(tmp, "crash.yaml")
    make_lines(os.path.join(tmp, "in"), 2, 5)
    with open(plan, "w") as f:
        f.write("""libraries: [%s]
nodes:
  - {name: src, kind: source, glob: "%s/in/*.txt"}
  - {name: boom, kind: compute, input: src, function: t_crash, args: "%s"}
""" % (TESTFNS, tmp, counter))
    rc, out = tarn_run(plan, tmp, "c", "procpool", "--max_fail_count=3")
    check(rc == 1, "a crashing job must fail (rc %d):\n%s" % (rc, out))
    check(re.search(r"task boom/00000 \(node boom, partition -\) failed 3 times "
                    r"\(max_fail_count=3\); last cause: .*(signal|SIG|abort|crash|died)",
                    out, re.I), out)
    check(os.path.getsize(counter) == 3,
          "%d attempts, expected 3" % os.path.getsize(counter))
    check(status_of(os.path.join(tmp, "c")).startswith("failure"),
          status_of(os.path.join(tmp, "c")))
    check(staging_empty(os.path.join(tmp, "c")), "staging not empty")


def case_fail_seq(tmp):
    counter = os.path.join(tmp, "calls")
    plan = os.path.join(tmp, "fail.yaml")
    make_lines(os.path.join(tmp, "in"), 2, 5)
    with open(plan, "w") as f:
        f.write("""libraries: [%s]
nodes:
  - {name: src, kind: source, glob: "%s/in/*.txt"}
  - {name: f, kind: partition, input: src, by: files, npartitions: 2}
  - {name: bad, kind: compute, input: f, function: t_fail, args: "%s"}
""" % (TESTFNS, tmp, counter))
    rc, out = tarn_run(plan, tmp, "f", "seq", "--max_fail_count=4")
    check(rc == 1, out)
    check(re.search(r"task bad/0000[01] \(node bad, partition f=[01]/2\) failed 4 times.*"
                    r"deliberate failure for the test", out), out)
    check(status_of(os.path.join(tmp, "f")).startswith("failure"), "STATUS")
    rc, out = tarn_run(plan, tmp, "ff", "seq", "--fail_fast")
    check(rc == 1 and "failed 1 time (max_fail_count=3, fail_fast)" in out, out)


def case_faults(tmp):
    plan = big_plan(tmp, 250)
    rc, out = tarn_run(plan, tmp, "clean", "seq", "--speculative_exec=disable")
    check(rc == 0, out)
    rc, out = tarn_run(plan, tmp, "faulty", "procpool", "--fault_inject_prob=0.2",
                       "--max_fail_count=30", "--random_seed=5", timeout=130)
    check(rc == 0, out)
    clean = tree(os.path.join(tmp, "clean", "output"))
    faulty = tree(os.path.join(tmp, "faulty", "output"))
    check(len(clean) == 8, "clean output: %s" % sorted(clean))
    check(clean == faulty, "outputs differ")
    # the built-in sort, checked another way: by key, ties by the whole row
    res = os.path.join(tmp, "clean", "output", "result")
    nrows = 0
    for f in sorted(f for f in os.listdir(res) if not f.startswith(".")):
        rows = open(os.path.join(res, f)).read().splitlines()
        nrows += len(rows)
        check(rows == sorted(rows, key=lambda r: (r.split(",")[0], r)),
              "%s is not sorted by its first field" % f)
    check(nrows == 250 * 20, "%d rows in the output, expected 5000" % nrows)
    # every task folder holds the same files (no duplicates, no orphans),
    # commit marks aside (they name the job and attempt)
    ct = tree(os.path.join(tmp, "clean", "tasks"))
    ft = tree(os.path.join(tmp, "faulty", "tasks"))
    check(ct == ft, "task outputs differ: %s" % sorted(set(ct) ^ set(ft))[:10])
    check(staging_empty(os.path.join(tmp, "faulty")), "staging not empty")
    journal = open(os.path.join(tmp, "faulty", "journal")).read().splitlines()
    commits = [l for l in journal if l.startswith("commit ")]
    check(len(commits) == len(set(commits)) == 759,
          "%d commits in the journal, %d distinct, expected 759"
          % (len(commits), len(set(commits))))
    rows = list(csv.DictReader(open(os.path.join(tmp, "faulty", "task_metrics.csv"))))
    start = sum(1 for r in rows if r["outcome"] == "injected"
                and "at task start" in r["error"])
    commit = sum(1 for r in rows if r["outcome"] == "injected"
                 and "before commit" in r["error"])
    ok = sum(1 for r in rows if r["outcome"] == "ok")
    attempts = len(rows)
    # P(injected at start) = 0.2 and P(before commit | started) = 0.2
    check(start > 0.1 * attempts and commit > 0.05 * attempts,
          "%d injected at start, %d before commit, of %d attempts"
          % (start, commit, attempts))
    check(ok == 759, "%d ok attempts, expected one per task (759)" % ok)
    check(status_of(os.path.join(tmp, "faulty")).startswith("success"), "STATUS")
    print("faults: 759 tasks, %d attempts, %d injected at start, %d before commit"
          % (attempts, start, commit))


def case_kill_resume(tmp):
    plan = big_plan(tmp, 250, fn="t_slow_copy", args="15")
    rc, out = tarn_run(plan, tmp, "ref", "seq", "--speculative_exec=disable",
                       timeout=130)
    check(rc == 0, out)
    root = os.path.join(tmp, "k")
    args = [TARN, "run", plan, "--data_root=" + tmp, "--job_id=k",
            "--speculative_exec=disable"]
    p = start(args, env={"UNIDIST_BACKEND": "procpool"})
    journal = os.path.join(root, "journal")
    deadline = time.time() + 100
    committed = 0
    while time.time() < deadline and p.poll() is None:
        if os.path.exists(journal):
            committed = sum(1 for l in open(journal) if l.startswith("commit "))
            if committed >= 300:
                break
        time.sleep(0.02)
    check(p.poll() is None, "the job ended before it could be killed")
    # the driver alone: its workers must notice and go
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    gone = time.time() + 20
    while time.time() < gone:
        try:
            os.killpg(p.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        fail("workers of the killed driver still alive after 20 s")
    committed = sum(1 for l in open(journal) if l.startswith("commit "))
    check(committed < 759, "killed too late")
    rc, out = tarn_run(plan, tmp, "k", "procpool", "--speculative_exec=disable",
                       timeout=130)
    check(rc == 0, out)
    m = re.search(r"resuming job k: (\d+) of (\d+) tasks already committed", out)
    check(m, "no resume line:\n" + out)
    reused = int(m.group(1))
    print("kill-resume: %d committed at the kill, %d reused" % (committed, reused))
    check(reused >= 0.95 * committed, "reused %d of %d" % (reused, committed))
    check(tree(os.path.join(tmp, "ref", "output")) ==
          tree(os.path.join(tmp, "k", "output")), "outputs differ")
    check(staging_empty(root), "staging not empty")


def case_speculative(tmp):
    marker = os.path.join(tmp, "straggled")
    make_lines(os.path.join(tmp, "in"), 8, 5)
    plan = os.path.join(tmp, "spec.yaml")
    with open(plan, "w") as f:
        f.write("""libraries: [%s]
nodes:
  - {name: src, kind: source, glob: "%s/in/*.txt"}
  - {name: f, kind: partition, input: src, by: files, npartitions: 8}
  - {name: s, kind: compute, input: f, function: t_straggler, args: "%s"}
  - {name: out, kind: sink, input: s}
""" % (TESTFNS, tmp, marker))
    t0 = time.time()
    rc, out = tarn_run(plan, tmp, "s", "procpool", "--speculative_exec=aggressive",
                       "--num_executors=2")
    check(rc == 0, out)
    check(re.search(r"task s/00000: running .* speculative attempt", out), out)
    check(os.path.exists(marker), "the straggler never ran")
    files = sorted(f for f in os.listdir(os.path.join(tmp, "s", "output", "out"))
                   if not f.startswith("."))
    check(len(files) == 8, "sink files: %s" % files)
    check(staging_empty(os.path.join(tmp, "s")), "staging not empty")
    print("speculative: job took %.1f s (straggler sleeps 4 s)" % (time.time() - t0))


FUSED_PLAN = """
name: fused
nodes:
  - {{name: src, kind: source, glob: "{input}/*.txt"}}
  - {{name: files, kind: partition, input: src, by: files, npartitions: 5}}
  - {{name: r, kind: partition, input: files, by: range, npartitions: 3,
     key: {{field: 1, delimiter: ","}}}}
  - {{name: s, kind: sort, input: r, key: {{field: 1, delimiter: ","}}}}
  - {{name: out, kind: sink, input: s, path: result}}
{extra}"""


def case_fused(tmp):
    """A range partition fused into its sort: the same bytes as unfused."""
    inp = os.path.join(tmp, "in")
    make_lines(inp, 20, 40)
    plans = {}
    # a second reader of r keeps its buckets as files: the unfused plan
    for name, extra in [("fused", ""), ("split", "  - {name: raw, kind: sink, "
                                        "input: r, mode: manifest, path: raw}\n")]:
        plans[name] = os.path.join(tmp, name + ".yaml")
        with open(plans[name], "w") as f:
            f.write(FUSED_PLAN.format(input=inp, extra=extra))
    rc, out = tarn_run(plans["split"], tmp, "split", "seq")
    check(rc == 0, out)
    rc, out = tarn_run(plans["fused"], tmp, "fused", "procpool",
                       "--fault_inject_prob=0.2", "--max_fail_count=30",
                       "--random_seed=3", "--num_executors=2", timeout=100)
    check(rc == 0, out)
    tasks = [r["task"] for r in csv.DictReader(
        open(os.path.join(tmp, "fused", "task_metrics.csv")))]
    check(not any(re.match(r"r/\d+$", t) for t in tasks),
          "the fused job ran range splits: %s" % sorted(set(tasks)))
    check(any(re.match(r"r/\d+$", t) for t in [r["task"] for r in csv.DictReader(
        open(os.path.join(tmp, "split", "task_metrics.csv")))]),
          "the unfused job ran no range splits")
    fused = tree(os.path.join(tmp, "fused", "output", "result"))
    split = tree(os.path.join(tmp, "split", "output", "result"))
    check(len(fused) == 3, "fused output: %s" % sorted(fused))
    check(fused == split, "fused and split outputs differ")
    # and they are right: every row once, ranges in order, each sorted
    src = []
    for f in sorted(os.listdir(inp)):
        src += open(os.path.join(inp, f)).read().splitlines()
    res = os.path.join(tmp, "fused", "output", "result")
    got = []
    for f in sorted(f for f in os.listdir(res) if not f.startswith(".")):
        got += open(os.path.join(res, f)).read().splitlines()
    key = lambda r: (r.split(",")[0], r)
    check(got == sorted(src, key=key), "the output is not the input sorted")
    check(staging_empty(os.path.join(tmp, "fused")), "staging not empty")


def case_kinds(tmp):
    """Every node kind and partition method on seq, outputs checked."""
    make_lines(os.path.join(tmp, "in"), 6, 30)   # 180 rows "kNNN,i,j"
    plan = os.path.join(tmp, "kinds.yaml")
    with open(plan, "w") as f:
        f.write("""name: kinds
libraries: [%s]
nodes:
  - {name: src, kind: source, glob: "%s/in/*.txt"}
  - {name: rows, kind: partition, input: src, by: rows, npartitions: 4}
  - {name: fn, kind: partition, input: rows, by: function, function: t_split_mod,
     npartitions: 3, nested: true}
  - {name: byfn, kind: consolidate, input: fn, dimensions: [fn]}
  - {name: lim, kind: limit, input: byfn, rows: 7}
  - {name: hashed, kind: partition, input: src, by: hash, npartitions: 3,
     key: {field: 1, delimiter: ","}}
  - {name: both, kind: union, inputs: [lim, hashed]}
  - {name: desc, kind: compute, inputs: [lim, hashed], function: t_describe, args: "hello"}
  - {name: all, kind: consolidate, input: both, dimensions: []}
  - {name: sorted, kind: sort, input: all, key: {bytes: [0, 4]}}
  - {name: linked, kind: sink, input: sorted, mode: link, path: linked}
  - {name: listed, kind: sink, input: desc, mode: manifest, path: listed}
""" % (TESTFNS, tmp))
    rc, out = tarn_run(plan, tmp, "k", "seq")
    check(rc == 0, out)
    src_rows = []
    for f in sorted(os.listdir(os.path.join(tmp, "in"))):
        src_rows += open(os.path.join(tmp, "in", f)).read().splitlines()
    tasks = os.path.join(tmp, "k", "tasks")
    # by rows: 4 contiguous, even runs of the 180 rows, in order
    runs = [open(os.path.join(tasks, "rows", "00000", "%05d" % j, "data.txt"))
            .read().splitlines() for j in range(4)]
    check([len(r) for r in runs] == [45] * 4, [len(r) for r in runs])
    check(sum(runs, []) == src_rows, "rows partition lost or moved rows")
    # the partition function, nested: fn partition (rows=1, fn=2) holds
    # rows 2, 5, 8, ... of rows bucket 1
    fn = open(os.path.join(tasks, "fn", "00001", "00002", "rows.txt")).read().splitlines()
    check(fn == runs[1][2::3], "function partition")
    # limit: 7 rows of each consolidated fn partition
    for j in range(3):
        lim = open(os.path.join(tasks, "lim", "%05d" % j, "limit.txt")).read().splitlines()
        check(len(lim) == 7, "limit %d: %d rows" % (j, len(lim)))
    # hash: every key in exactly one partition
    seen = {}
    for j in range(3):
        for r in open(os.path.join(tasks, "hashed", "00000", "%05d" % j, "data.txt")):
            k = r.split(",")[0]
            check(seen.setdefault(k, j) == j, "key %s in two partitions" % k)
    # union -> consolidate -> sort -> link sink: the 21 limited rows and
    # all 180 hashed rows, sorted on the first 4 bytes
    out_dir = os.path.join(tmp, "k", "output", "linked")
    files = sorted(f for f in os.listdir(out_dir) if not f.startswith("."))
    check(len(files) == 1, files)
    got = open(os.path.join(out_dir, files[0])).read().splitlines()
    check(len(got) == 21 + 180, "%d rows after union" % len(got))
    check(got == sorted(got, key=lambda r: (r[:4], r)), "not sorted")
    check(os.stat(os.path.join(out_dir, files[0])).st_nlink == 2, "not a hard link")
    # compute with two inputs zipped: partition infos and input groups
    man = open(os.path.join(tmp, "k", "output", "listed", "manifest.txt")).read().split()
    check(len(man) == 3, man)
    ctx = open(man[1]).read()
    check("dim fn 1 3" in ctx and "input 0 limit.txt" in ctx
          and "input 1 data.txt" in ctx and "args hello" in ctx, ctx)


def main():
    case = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="tarn-jobs-")
    try:
        if case.startswith("wordcount-"):
            case_wordcount(tmp, case.split("-")[1])
        elif case.startswith("graysort-"):
            case_graysort(tmp, case.split("-")[1])
        else:
            globals()["case_" + case.replace("-", "_")](tmp)
    finally:
        kill_sessions()
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok: " + case)


if __name__ == "__main__":
    main()
