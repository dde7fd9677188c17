"""Turn a ``--benchmark-json`` file into the markdown results table.

Usage::

    python benchmarks/report.py results.json                  # print the markdown
    python benchmarks/report.py results.json --update-readme  # also put it in README.md

Each timing group lists every engine's median and the ratios of medians
``original / this``, ``original gc off / this``, ``pure / this`` and
``script's Value / this``, ``PyTorch f64 / this`` and ``PyTorch f32 /
this``, all from the one run in the file: ``593×`` means this row is 593
times faster than that baseline, ``1/12`` that it is 12 times slower.  The
``memory`` group is shown as bytes per live node instead, the
``replay-1e6`` group also as nanoseconds per node, the ``op-overhead``
group as nanoseconds per statement net of the empty loop, with the ratio
to the statement it wraps.  Rows the suite skipped
on purpose are listed with their reason.  Last, the performance targets
(``TARGETS``), each with the ratio measured in this run and whether it is
met.
"""

import argparse
import json
import sys
from pathlib import Path

GROUP_ORDER = ["moons-step", "moons-forward", "moons-backward", "backward-fixed",
               "chain-400", "chain-1e5", "chain-1e6", "replay-1e6",
               "gpt-step", "gpt-fwd-bwd", "gpt-adam", "gpt-script"]
ENGINE_ORDER = ["original", "original-nogc", "micrograd-c", "micrograd-c-ops",
                "micrograd-c-cadam", "micrograd-c-compiled", "pure", "script",
                "torch", "torch-f32"]
BASELINES = [("original", "original / this"), ("original-nogc", "original gc off / this"),
             ("pure", "pure / this"), ("script", "script's Value / this"),
             ("torch", "PyTorch f64 / this"), ("torch-f32", "PyTorch f32 / this")]
OPS = "op-overhead"
README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def fmt_time(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_ratio(r):
    """``593×`` when this row is faster than the baseline, ``1/12`` when slower."""
    if r is None:
        return ""
    if r < 1:
        inv = 1.0 / r
        return f"1/{inv:,.0f}" if inv >= 100 else f"1/{inv:.3g}"
    return f"{r:,.0f}×" if r >= 100 else f"{r:.3g}×"


def engine_of(bench):
    info = bench.get("extra_info", {})
    return info.get("engine") or bench.get("param") or bench["name"]


def rank(name, order):
    return order.index(name) if name in order else len(order)


def header(data):
    mi = data.get("machine_info", {})
    cpu = mi.get("lscpu_model") or mi.get("cpu", {}).get("brand_raw") or mi.get("processor", "?")
    cores = mi.get("cores") or mi.get("cpu", {}).get("count", "?")
    date = (data.get("datetime") or "?")[:10]
    parts = [f"Machine: {cpu}, {cores} cores", f"Python {mi.get('python_version', '?')}"]
    if mi.get("torch"):
        parts.append(f"torch {mi['torch']}")
    parts.append(f"run of {date}")
    if mi.get("budget_seconds_per_row") is not None:
        parts.append(f"{mi['budget_seconds_per_row']:g} s of timing per row")
    commit = data.get("commit_info", {}).get("id")
    if commit:
        parts.append(f"commit {commit[:10]}" + (" (dirty)" if data["commit_info"].get("dirty") else ""))
    return "; ".join(parts) + "."


def timing_table(data):
    groups = {}
    for b in data.get("benchmarks", []):
        if b.get("group") not in ("memory", OPS):
            groups.setdefault(b.get("group") or "", []).append(b)
    skipped = {}
    for s in data.get("skipped_rows", []):
        skipped.setdefault(s["group"], []).append(s)
    names = sorted(set(groups) | set(skipped), key=lambda g: (rank(g, GROUP_ORDER), g))
    lines = ["| workload | engine | median | rounds | "
             + " | ".join(title for _, title in BASELINES) + " |",
             "|---|---|---:|---:|" + "---:|" * len(BASELINES)]
    notes = []
    for g in names:
        medians = {engine_of(b): b["stats"]["median"] for b in groups.get(g, [])}
        rows = [(engine_of(b), b) for b in groups.get(g, [])]
        rows += [(s["engine"], s) for s in skipped.get(g, [])]
        rows.sort(key=lambda row: rank(row[0], ENGINE_ORDER))
        for e, row in rows:
            if "stats" not in row:              # skipped on purpose
                if row["reason"] not in notes:
                    notes.append(row["reason"])
                n = notes.index(row["reason"]) + 1
                lines.append(f"| {g} | {row.get('label', e)} | skipped [{n}] | | "
                             + " | ".join("" for _ in BASELINES) + " |")
                continue
            label = row.get("extra_info", {}).get("label", e)
            t = medians[e]
            ratios = [fmt_ratio(medians[base] / t) if base in medians and base != e else ""
                      for base, _ in BASELINES]
            lines.append(f"| {g} | {label} | {fmt_time(t)} | {row['stats']['rounds']} | "
                         + " | ".join(ratios) + " |")
    if notes:
        lines += [""] + [f"- [{i}] {reason}" for i, reason in enumerate(notes, 1)]
    return "\n".join(lines)


def memory_table(data):
    rows = [b for b in data.get("benchmarks", []) if b.get("group") == "memory"]
    if not rows:
        return ""
    rows.sort(key=lambda b: (b["extra_info"].get("held") != "root",
                             rank(engine_of(b), ENGINE_ORDER)))
    per = {(engine_of(b), b["extra_info"].get("held")): b["extra_info"].get("bytes_per_node")
           for b in rows}
    lines = ["| engine | values held | nodes | bytes / node | original / this |",
             "|---|---|---:|---:|---:|"]
    for b in rows:
        info = b["extra_info"]
        e, held = engine_of(b), info.get("held")
        bpn = info.get("bytes_per_node")
        orig = per.get(("original", held))
        ratio = fmt_ratio(orig / bpn) if orig and bpn and e != "original" else ""
        lines.append(f"| {info.get('label', e)} | {'root only' if held == 'root' else 'every node'} "
                     f"| {info.get('nodes', 0):,} | {bpn:.0f} | {ratio} |")
    return "\n".join(lines)


def replay_table(data):
    rows = [b for b in data.get("benchmarks", []) if b.get("group") == "replay-1e6"
            and "ns_per_node" in b.get("extra_info", {})]
    if not rows:
        return ""
    rows.sort(key=lambda b: rank(engine_of(b), ENGINE_ORDER))
    lines = ["| engine | timed | nodes | median | ns / node |", "|---|---|---:|---:|---:|"]
    for b in rows:
        info = b["extra_info"]
        lines.append(f"| {info.get('label', engine_of(b))} | {info.get('timed', '')} "
                     f"| {info.get('nodes', 0):,} | {fmt_time(b['stats']['median'])} "
                     f"| {info['ns_per_node']:.2f} |")
    return "\n".join(lines)


def op_times(data):
    """{row: net seconds per statement} of the op-overhead group: each row's
    median per statement, less the empty loop's."""
    rows = {b["extra_info"]["row"]: b for b in data.get("benchmarks", [])
            if b.get("group") == OPS and "row" in b.get("extra_info", {})}
    empty = rows.get("empty loop")
    if empty is None:
        return {}
    per = {r: b["stats"]["median"] / b["extra_info"]["statements_per_call"]
           for r, b in rows.items()}
    return {r: t - per["empty loop"] for r, t in per.items() if r != "empty loop"}


def op_table(data):
    rows = {b["extra_info"]["row"]: b["extra_info"] for b in data.get("benchmarks", [])
            if b.get("group") == OPS and "row" in b.get("extra_info", {})}
    net = op_times(data)
    if not net:
        return ""
    lines = ["| statement | net ns | measured against | ratio |", "|---|---:|---|---:|"]
    for row, info in rows.items():
        if row not in net:
            continue
        base = info.get("baseline")
        ratio = f"{net[row] / net[base]:.2f}×" if base in net and net[base] > 0 else ""
        lines.append(f"| `{info['statement']}` ({row}) | {net[row] * 1e9:.1f} "
                     f"| {base or ''} | {ratio} |")
    return "\n".join(lines)


# ---- targets -------------------------------------------------------------------

def _medians(data):
    return {(b.get("group"), engine_of(b)): b["stats"]["median"]
            for b in data.get("benchmarks", []) if "stats" in b}


def _speedup(base, this, at_least):
    """A target 'this is at least ``at_least`` times faster than base'."""
    def check(med, _data):
        if base not in med or this not in med:
            return None
        r = med[base] / med[this]
        return fmt_ratio(r), r >= at_least
    return check


def _time_ratio(this, base, at_most, unit):
    """A target 'this takes at most ``at_most`` times base's time'."""
    def check(med, _data):
        if base not in med or this not in med:
            return None
        r = med[this] / med[base]
        return f"{r:.3g}× {unit}", r <= at_most
    return check


def _memory(at_most):
    def check(_med, data):
        per = {b["extra_info"].get("held"): b["extra_info"].get("bytes_per_node")
               for b in data.get("benchmarks", [])
               if b.get("group") == "memory" and engine_of(b) == "micrograd-c"}
        if not per:
            return None
        shown = ", ".join(f"{per[h]:.0f} ({'root only' if h == 'root' else 'every node'})"
                          for h in ("root", "handles") if per.get(h) is not None)
        return shown, max(v for v in per.values() if v is not None) <= at_most
    return check


def _ns_per_node(at_most):
    def check(_med, data):
        ns = [b["extra_info"]["ns_per_node"] for b in data.get("benchmarks", [])
              if b.get("group") == "replay-1e6" and engine_of(b) == "micrograd-c-compiled"
              and "ns_per_node" in b.get("extra_info", {})]
        if not ns:
            return None
        return f"{ns[0]:.2f} ns / node", ns[0] <= at_most
    return check


def _op_ratio(row, at_most):
    """A target 'row's net time is at most ``at_most`` times its baseline's'."""
    def check(_med, data):
        net = op_times(data)
        base = {b["extra_info"]["row"]: b["extra_info"].get("baseline")
                for b in data.get("benchmarks", [])
                if b.get("group") == OPS and "row" in b.get("extra_info", {})}.get(row)
        if row not in net or base not in net:
            return None
        r = net[row] / net[base]
        return f"{r:.2f}× {base}", r <= at_most
    return check


# (target, how it is measured, its check)
TARGETS = [
    ("moons step, the original's code, vs micrograd 0.1.0 (default GC): ≥ 100×",
     "moons-step: micrograd-c, per-op nn vs micrograd 0.1.0",
     _speedup(("moons-step", "original"), ("moons-step", "micrograd-c-ops"), 100)),
    ("moons step, the original's code, vs micrograd 0.1.0 with `gc.disable()`: ≥ 15×",
     "moons-step: micrograd-c, per-op nn vs micrograd 0.1.0, gc off",
     _speedup(("moons-step", "original-nogc"), ("moons-step", "micrograd-c-ops"), 15)),
    ("backward alone, ~65k-node graph, vs micrograd 0.1.0: ≥ 100×",
     "moons-backward: micrograd-c, per-op nn vs micrograd 0.1.0",
     _speedup(("moons-backward", "original"), ("moons-backward", "micrograd-c-ops"), 100)),
    ("chain 10^6 deep: ≤ 12× the time of 10^5",
     "chain-1e6 / chain-1e5, micrograd-c",
     _time_ratio(("chain-1e6", "micrograd-c"), ("chain-1e5", "micrograd-c"), 12,
                 "the time of 10^5")),
    ("GPT forward + backward vs micrograd.pure: ≥ 25×",
     "gpt-fwd-bwd: micrograd-c vs micrograd.pure",
     _speedup(("gpt-fwd-bwd", "pure"), ("gpt-fwd-bwd", "micrograd-c"), 25)),
    ("memory per live node: ≤ 96 bytes",
     "memory: micrograd-c, 10^6-node chain, bytes / node",
     _memory(96)),
    ("fused moons step vs micrograd 0.1.0: ≥ 400×",
     "moons-step: micrograd-c vs micrograd 0.1.0",
     _speedup(("moons-step", "original"), ("moons-step", "micrograd-c"), 400)),
    ("fused moons step within 5× of PyTorch",
     "moons-step: micrograd-c / PyTorch f64, 1 thread (time)",
     _time_ratio(("moons-step", "micrograd-c"), ("moons-step", "torch"), 5,
                 "PyTorch's time")),
    ("compiled + C SGD moons step: ≤ 1.0× PyTorch's time",
     "moons-step: micrograd-c, compiled / PyTorch f64, 1 thread (time)",
     _time_ratio(("moons-step", "micrograd-c-compiled"), ("moons-step", "torch"), 1.0,
                 "PyTorch's time")),
    ("compiled + C SGD moons step vs micrograd 0.1.0 (default GC): ≥ 2,000×",
     "moons-step: micrograd-c, compiled vs micrograd 0.1.0",
     _speedup(("moons-step", "original"), ("moons-step", "micrograd-c-compiled"), 2000)),
    ("GPT step, dynamic + C Adam, vs micrograd.pure + Python Adam: ≥ 60×",
     "gpt-step: micrograd-c, C Adam vs micrograd.pure",
     _speedup(("gpt-step", "pure"), ("gpt-step", "micrograd-c-cadam"), 60)),
    ("compiled GPT step (replay + C Adam) vs PyTorch f32 eager: ≥ 4× (goal 8×)",
     "gpt-step: micrograd-c, compiled vs PyTorch f32, 1 thread",
     _speedup(("gpt-step", "torch-f32"), ("gpt-step", "micrograd-c-compiled"), 4)),
    ("compiled GPT step vs micrograd.pure + Python Adam: ≥ 300×",
     "gpt-step: micrograd-c, compiled vs micrograd.pure",
     _speedup(("gpt-step", "pure"), ("gpt-step", "micrograd-c-compiled"), 300)),
    ("the popular script's GPT step on this Value vs its own `__slots__` Value: ≥ 30×",
     "gpt-script: micrograd-c vs the script's own Value",
     _speedup(("gpt-script", "script"), ("gpt-script", "micrograd-c"), 30)),
    ("binary op `a * b`: ≤ 3× the float op (net of the loop)",
     "op-overhead: Value a * b / float x * y",
     _op_ratio("Value a * b", 3)),
    ("binary op `a + b`: ≤ 3× the float op (net of the loop)",
     "op-overhead: Value a + b / float x + y",
     _op_ratio("Value a + b", 3)),
    ("`a.data` read: ≤ 2.5× a `__slots__` attribute's (goal 2×)",
     "op-overhead: Value get a.data / slot get",
     _op_ratio("Value get a.data", 2.5)),
    ("`a.grad` read: ≤ 2.5× a `__slots__` attribute's (goal 2×)",
     "op-overhead: Value get a.grad / slot get",
     _op_ratio("Value get a.grad", 2.5)),
    ("`a.data =` write: ≤ 2.5× a `__slots__` attribute's (goal 1.5×)",
     "op-overhead: Value set a.data / slot set",
     _op_ratio("Value set a.data = x", 2.5)),
    ("`a.grad =` write: ≤ 2.5× a `__slots__` attribute's (goal 1.5×)",
     "op-overhead: Value set a.grad / slot set",
     _op_ratio("Value set a.grad = x", 2.5)),
    ("replay overhead, forward + backward: ≤ 5 ns per node",
     "replay-1e6: micrograd-c, compiled, 10^6-node recording",
     _ns_per_node(5)),
]


def targets_table(data):
    med = _medians(data)
    lines = ["| target | measured as | this run | met |", "|---|---|---:|---|"]
    for target, how, check in TARGETS:
        got = check(med, data)
        shown, met = ("not measured", None) if got is None else got
        lines.append(f"| {target} | {how} | {shown} | "
                     f"{'' if met is None else ('met' if met else 'not met')} |")
    return "\n".join(lines)


LEGEND = ("Ratios are of medians from this one run: `593×` = this row is 593 times "
          "faster than that column's engine, `1/12` = 12 times slower.")


def render(data):
    parts = [header(data), "", LEGEND, "", timing_table(data)]
    replay = replay_table(data)
    if replay:
        parts += ["", "Forward + backward per node, chain of 10^6 nodes (`replay-1e6`):", "",
                  replay]
    ops = op_table(data)
    if ops:
        parts += ["", "The dynamic floor (`op-overhead`): nanoseconds per statement, net of "
                  "the empty loop, and the ratio to the statement it wraps:", "", ops]
    mem = memory_table(data)
    if mem:
        parts += ["", "Memory per live node (resident-set growth / nodes, fresh process):", "", mem]
    parts += ["", "Targets, with the ratios of this run:", "", targets_table(data)]
    return "\n".join(parts) + "\n"


def update_readme(markdown, readme=README):
    text = readme.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{readme} has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{markdown}{END}{tail}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json_file", type=Path, help="a pytest --benchmark-json output file")
    ap.add_argument("--update-readme", action="store_true",
                    help=f"replace the results section of {README.name} with the table")
    args = ap.parse_args(argv)
    markdown = render(json.loads(args.json_file.read_text()))
    sys.stdout.write(markdown)
    if args.update_readme:
        update_readme(markdown)


if __name__ == "__main__":
    main()
