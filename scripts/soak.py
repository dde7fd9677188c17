"""Soak test: many moons training steps, dynamic and replayed, with memory
figures along the way.

    python scripts/soak.py                       # 10,000 + 10,000 steps
    python scripts/soak.py --steps 2000 --every 200

Trains the micrograd demo (MLP 2-16-16-1 on 100 moons points, svm
max-margin loss with L2) for ``--steps`` steps as the original demo's code
does (a fresh graph every step, plain-Python SGD), then a fresh model for
``--replay-steps`` steps through ``micrograd.compile`` (recorded once,
replayed in C) with ``micrograd.optim.SGD``. Every ``--every`` steps it
prints the live nodes of the arena, its capacity, the resident set size, the
interpreter's allocated blocks and the time per step.

Exits with status 1 if, after ``--warmup`` steps, the live node count or the
arena capacity moves at all, or resident memory grows by more than
``--rss-slack`` MiB, in either phase.
"""

import argparse
import array
import gc
import os
import random
import sys
import time

import micrograd
from micrograd.data import make_moons
from micrograd.engine import Value
from micrograd.nn import MLP
from micrograd.optim import SGD


def rss_mib():
    """Resident set size in MiB (None where it cannot be read)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, AttributeError):
        pass
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss    # peak only
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def model():
    random.seed(1337)
    return MLP(2, [16, 16, 1])


def dynamic_steps(X, y):
    """The original demo's training loop, one step per iteration."""
    m = model()
    k = 0
    while True:
        inputs = [list(map(Value, row)) for row in X]
        scores = list(map(m, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in m.parameters())
        loss = data_loss + reg_loss
        m.zero_grad()
        loss.backward()
        lr = max(0.1, 1.0 - 0.9 * k / 100)
        for p in m.parameters():
            p.data -= lr * p.grad
        k += 1
        yield loss.data


def replayed_steps(X, y):
    """The same training through micrograd.compile and the C optimizer."""
    m = model()
    opt = SGD(m.parameters(), lr=1.0)

    @micrograd.compile
    def step(X):
        scores = list(map(m, X))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        return data_loss + 1e-4 * sum(p * p for p in m.parameters())

    k = 0
    while True:
        loss = step(X)
        opt.zero_grad()
        loss.backward()
        opt.lr = max(0.1, 1.0 - 0.9 * k / 100)
        opt.step()
        k += 1
        yield loss.data


def soak(name, steps, args):
    """Run one phase; print its table; return the problems found."""
    X, y = make_moons(args.samples, noise=0.1, seed=args.seed)
    gc.collect()
    print(f"\n{name}: {steps} steps, MLP 2-16-16-1, {args.samples} points")
    print(f"{'step':>7} {'live nodes':>11} {'capacity':>9} {'RSS MiB':>8} "
          f"{'py blocks':>10} {'ms/step':>8} {'loss':>9}")
    # Readings go into preallocated arrays: taking them allocates nothing,
    # so the interpreter's block count shows the training's allocations only.
    n = steps // args.every + 2
    ints = array.array("q", bytes(8 * 4 * n))       # step, live, capacity, blocks
    reals = array.array("d", bytes(8 * 3 * n))      # RSS MiB (-1: n/a), ms/step, loss
    count = 0
    run = iter(dynamic_steps(X, y) if name == "dynamic" else replayed_steps(X, y))
    last_t, last_k = time.perf_counter(), 0
    for k in range(1, steps + 1):
        loss = next(run)
        if k % args.every == 0 or k == steps or k == 1:
            now = time.perf_counter()
            stats = micrograd.arena_stats()
            size = rss_mib()
            ints[4 * count:4 * count + 4] = array.array(
                "q", (k, stats["live"], stats["capacity"], sys.getallocatedblocks()))
            reals[3 * count:3 * count + 3] = array.array(
                "d", (-1.0 if size is None else size,
                      1e3 * (now - last_t) / max(k - last_k, 1), loss))
            row = tuple(ints[4 * count:4 * count + 4]) + tuple(reals[3 * count:3 * count + 3])
            count += 1
            rss = "n/a" if row[4] < 0 else f"{row[4]:.1f}"
            print(f"{row[0]:>7} {row[1]:>11} {row[2]:>9} {rss:>8} {row[3]:>10} "
                  f"{row[5]:>8.3f} {row[6]:>9.5f}", flush=True)
            del row
            last_t, last_k = time.perf_counter(), k
    run.close()
    # (step, live, capacity, RSS or None, blocks)
    rows = [tuple(ints[4 * i:4 * i + 3]) + (reals[3 * i] if reals[3 * i] >= 0 else None,
                                             ints[4 * i + 3]) for i in range(count)]

    after = [r for r in rows if r[0] >= args.warmup]
    problems = []
    if len({r[1] for r in after}) > 1:
        problems.append(f"{name}: live nodes moved after warm-up "
                        f"({min(r[1] for r in after)}..{max(r[1] for r in after)})")
    if len({r[2] for r in after}) > 1:
        problems.append(f"{name}: the arena grew after warm-up")
    sizes = [r[3] for r in after if r[3] is not None]
    if sizes and max(sizes) - sizes[0] > args.rss_slack:
        problems.append(f"{name}: resident memory grew by {max(sizes) - sizes[0]:.1f} MiB "
                        f"after warm-up")
    if after:
        blocks = after[-1][4] - after[0][4]
        print(f"{name}: after warm-up (step {after[0][0]} to {after[-1][0]}): live nodes "
              f"{'flat at ' + str(after[0][1]) if len({r[1] for r in after}) == 1 else 'MOVED'}, "
              f"RSS {'n/a' if not sizes else f'{sizes[0]:.1f} -> {sizes[-1]:.1f} MiB'}, "
              f"Python blocks {blocks:+d}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10_000, help="dynamic steps")
    parser.add_argument("--replay-steps", type=int, default=10_000, help="replayed steps")
    parser.add_argument("--every", type=int, default=1000, help="print every N steps")
    parser.add_argument("--warmup", type=int, default=100, help="steps before checking")
    parser.add_argument("--samples", type=int, default=100, help="moons points")
    parser.add_argument("--seed", type=int, default=1, help="moons data seed")
    parser.add_argument("--rss-slack", type=float, default=2.0,
                        help="allowed RSS growth after warm-up, MiB")
    args = parser.parse_args(argv)
    if min(args.steps, args.replay_steps, args.every) < 1:
        parser.error("--steps, --replay-steps and --every must be at least 1")

    print(f"micrograd-c {micrograd.__version__}, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cpus")
    problems = soak("dynamic", args.steps, args) + soak("replayed", args.replay_steps, args)
    if problems:
        print("\nFAILED:\n  " + "\n  ".join(problems))
        return 1
    print("\nOK: memory is flat in both phases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
