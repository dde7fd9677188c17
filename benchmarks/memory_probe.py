"""Bytes per live graph node, measured in a fresh interpreter.

Run as a script: ``python benchmarks/memory_probe.py ENGINE NODES [--keep]``,
with ENGINE one of ``micrograd-c``, ``pure``, ``original``.  It builds the
chain of ``chain_workload`` with about NODES nodes and prints one JSON line
whose ``bytes_per_node`` is the resident-set growth / nodes.  Without
``--keep`` only the root's ``Value`` is held (the graph keeps the rest
alive); with it a ``Value`` is kept for every node, as user code that holds
on to its intermediates does.

Each measurement runs in a fresh interpreter, so memory that earlier work
freed but the allocator kept cannot hide part of the growth.
"""

import gc
import json
import os
import sys
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def load_value(engine):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if engine == "micrograd-c":
        import micrograd_c  # noqa: F401  (the compiled core must be there)
        from micrograd.engine import Value
    elif engine == "pure":
        from micrograd.pure import Value
    elif engine == "original":
        import peers
        Value = peers.load_original()[0].Value
    else:
        raise SystemExit(f"unknown engine {engine!r}")
    return Value


def build(Value, steps, keep):
    from chain_workload import A, B
    x = Value(1.0)
    kept = [x] if keep else None
    for _ in range(steps):
        a = Value(A)
        m = x * a
        b = Value(B)
        x = m + b
        if keep:
            kept += (a, m, b, x)
    return x, kept


def main(argv):
    engine, nodes = argv[1], int(float(argv[2]))
    keep = "--keep" in argv[3:]
    Value = load_value(engine)
    gc.disable()   # no collector passes while building; memory is the same
    steps = max(1, nodes // 4)
    gc.collect()
    before = rss_bytes()
    root, kept = build(Value, steps, keep)
    gc.collect()
    delta = rss_bytes() - before
    n = 4 * steps + 1
    out = {"engine": engine, "nodes": n, "handles_kept": keep, "rss_delta": delta,
           "bytes_per_node": delta / n}
    if engine == "micrograd-c":
        import micrograd_c
        stats = micrograd_c.arena_stats()
        out["arena_stats"] = stats
        if stats.get("live"):
            out["arena_bytes_per_live_node"] = stats["bytes"] / stats["live"]
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv)
