"""Memory per live node: resident-set growth while a chain graph is alive.

Not a timing: each row runs ``memory_probe.py`` in a fresh interpreter (the
row's time is just that process's wall time) and records ``bytes_per_node``
in ``benchmark.extra_info``, so it lands in the ``--benchmark-json`` file,
and prints it.  ``root`` rows hold only the root ``Value`` (the graph keeps
the rest alive); ``handles`` rows also keep a ``Value`` for every node.
This engine and the pure one are measured at 10^6 nodes, the original at
10^5 (about 60 MB already).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import harness
from harness import measure

PROBE = Path(__file__).resolve().parent / "memory_probe.py"
NODES = {"micrograd-c": 10**6, "pure": 10**6, "original": 10**5}


def probe(engine_name, nodes, keep):
    cmd = [sys.executable, str(PROBE), engine_name, str(nodes)] + (["--keep"] if keep else [])
    # the child imports exactly what this process imports
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.benchmark(group="memory")
@pytest.mark.parametrize("held", ["root", "handles"])
@pytest.mark.parametrize("engine", list(NODES), indirect=True)
def test_memory_per_node(benchmark, engine, held):
    nodes = NODES[engine.name]
    result = measure(benchmark, lambda: probe(engine.name, nodes, held == "handles"),
                     engine=engine, rounds=1, held=held)
    assert result["nodes"] == 4 * (nodes // 4) + 1
    assert 0 < result["bytes_per_node"] < 10_000, result
    benchmark.extra_info.update(
        nodes=result["nodes"], rss_delta=result["rss_delta"],
        bytes_per_node=round(result["bytes_per_node"], 1))
    if "arena_bytes_per_live_node" in result:
        benchmark.extra_info["arena_bytes_per_live_node"] = round(
            result["arena_bytes_per_live_node"], 1)
    row = {"engine": engine.name, "held": held, "nodes": result["nodes"],
           "bytes_per_node": round(result["bytes_per_node"], 1)}
    if "arena_stats" in result:
        row["arena_stats"] = result["arena_stats"]
    harness.MEMORY.append(row)
    print(json.dumps(row))
