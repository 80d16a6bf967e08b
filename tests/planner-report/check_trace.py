#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check a job's trace.json the way Perfetto reads it, then print its
complete ("X") events for the C test to compare: one line per event, by
start time, "name partition outcome tid" with the strings as hex of their
UTF-8 bytes (so that any byte in a task name survives the round trip).

Exits 1 with a message naming the problem when the file is not valid JSON
or an event lacks what the trace event format requires."""
import json
import sys


def fail(msg):
    print(f"check_trace: {sys.argv[1]}: {msg}", file=sys.stderr)
    sys.exit(1)


try:
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
except (OSError, ValueError) as e:
    fail(f"not valid JSON: {e}")

events = doc.get("traceEvents")
if not isinstance(events, list):
    fail("no traceEvents list")
named = set()
xs = []
for i, ev in enumerate(events):
    ph = ev.get("ph")
    if ph == "M":
        if ev.get("name") == "thread_name":
            named.add(ev["tid"])
        continue
    if ph != "X":
        fail(f"event {i}: phase {ph!r} (expected X or M)")
    for k, t in (("name", str), ("ts", (int, float)), ("dur", (int, float)),
                 ("pid", int), ("tid", int), ("args", dict)):
        if not isinstance(ev.get(k), t):
            fail(f"event {i}: {k} missing or of the wrong type: {ev!r}")
    if ev["dur"] < 0 or ev["ts"] < 0:
        fail(f"event {i}: negative ts or dur")
    for k in ("partition", "outcome", "attempt", "worker"):
        if k not in ev["args"]:
            fail(f"event {i}: args.{k} missing")
    xs.append(ev)
for ev in xs:
    if ev["tid"] not in named:
        fail(f"track {ev['tid']} has no thread_name")
# Events on one track must not overlap, or Perfetto nests them wrongly.
by_tid = {}
for ev in xs:
    by_tid.setdefault(ev["tid"], []).append(ev)
for tid, evs in by_tid.items():
    evs.sort(key=lambda e: e["ts"])
    for a, b in zip(evs, evs[1:]):
        if a["ts"] + a["dur"] > b["ts"] + 1e-3:
            fail(f"track {tid}: {a['name']!r} and {b['name']!r} overlap")
xs.sort(key=lambda e: (e["ts"], e["name"]))
for ev in xs:
    print(ev["name"].encode().hex(), ev["args"]["partition"].encode().hex(),
          ev["args"]["outcome"], ev["tid"])
