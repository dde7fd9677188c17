"""Long training runs keep memory flat: the moons demo trained for a few
hundred steps, dynamically and replayed, with live nodes exactly constant
and resident memory flat after warm-up.

(CI-sized; ``scripts/soak.py`` runs 10,000 steps of each and prints the
figures.)
"""

import array
import gc
import os
import sys

import pytest

import micrograd
from micrograd.data import make_moons
from micrograd.engine import Value
from micrograd.nn import MLP
from micrograd.optim import SGD

from conftest import live_nodes

STEPS = 600
WARMUP = 30
CHECK_EVERY = 30
# Resident memory may move by a few pages (allocator arenas, caches); a leak
# of one node and its handle per step over 270 steps would not show here,
# which is what the exact node count is for; this catches leaks of buffers,
# and sys.getallocatedblocks() leaks of Python objects.
RSS_SLACK = 4 * 2**20
BLOCKS_SLACK = 50          # Python object allocations (sys.getallocatedblocks)
SANITIZED = os.environ.get("MICROGRAD_C_ASAN") == "1"   # quarantine keeps freed memory


def rss():
    """Resident set size in bytes (None where it cannot be read)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        pass
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def demo_loss(model, X, y):
    """The original demo's loss: svm max-margin, averaged, plus L2."""
    inputs = [list(map(Value, row)) for row in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    return data_loss + 1e-4 * sum(p * p for p in model.parameters())


def replay_loss(model, y):
    def loss(X):      # X arrives as Values: compile substitutes its floats
        scores = list(map(model, X))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        return sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())
    return micrograd.compile(loss)


class Meter:
    """Readings taken at the same point of every CHECK_EVERY-th step, kept
    in a preallocated array so that taking them allocates nothing."""

    FIELDS = 5      # step, live nodes, arena capacity, RSS (-1: unknown), blocks

    def __init__(self, readings=STEPS):
        self.rows = array.array("q", bytes(8 * self.FIELDS * (readings + 1)))
        self.n = 0

    def read(self, step):
        size = rss()
        row = (step, live_nodes(), micrograd.arena_stats()["capacity"],
               -1 if size is None else size, sys.getallocatedblocks())
        self.rows[self.n * self.FIELDS:(self.n + 1) * self.FIELDS] = array.array("q", row)
        self.n += 1

    def table(self):
        return [tuple(self.rows[k * self.FIELDS:(k + 1) * self.FIELDS]) for k in range(self.n)]

    def check_flat(self):
        rows = self.table()
        after = [r for r in rows if r[0] >= WARMUP]
        assert len(after) >= 3
        assert len({r[1] for r in after}) == 1, f"live nodes moved after warm-up: {rows}"
        assert len({r[2] for r in after}) == 1, f"arena grew after warm-up: {rows}"
        blocks = [r[4] for r in after]
        assert max(blocks) - blocks[0] <= BLOCKS_SLACK, f"Python objects pile up: {rows}"
        sizes = [r[3] for r in after]
        if -1 not in sizes and not SANITIZED:
            assert max(sizes) - sizes[0] <= RSS_SLACK, f"resident memory grew: {rows}"


@pytest.fixture
def quiet_gc():
    """Counts are exact: no collection of older garbage in the middle."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def seeded_model():
    import random

    random.seed(1337)
    return MLP(2, [16, 16, 1])


def test_dynamic_training_is_flat(quiet_gc):
    X, y = make_moons(100, noise=0.1, seed=7)
    model = seeded_model()
    before = live_nodes()
    meter = Meter()
    first = None
    for k in range(STEPS):
        loss = demo_loss(model, X, y)
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / STEPS
        for p in model.parameters():
            p.data -= lr * p.grad
        first = loss.data if first is None else first
        if k % CHECK_EVERY == 0 or k == STEPS - 1:
            meter.read(k)
    assert loss.data < 0.5 * first                  # it trains
    meter.check_flat()
    del loss
    assert live_nodes() == before                   # only the model is left


def test_replayed_training_is_flat(quiet_gc):
    X, y = make_moons(100, noise=0.1, seed=7)
    model = seeded_model()
    opt = SGD(model.parameters(), lr=0.5)
    before = live_nodes()
    step = replay_loss(model, y)
    meter = Meter()
    first = None
    for k in range(STEPS):
        loss = step(X)
        opt.zero_grad()
        loss.backward()
        opt.lr = 0.5 - 0.4 * k / STEPS
        opt.step()
        first = loss.data if first is None else first
        if k % CHECK_EVERY == 0 or k == STEPS - 1:
            meter.read(k)
    assert loss.data < 0.5 * first
    assert step.cache_info()["recordings"] == 1
    meter.check_flat()
    del loss, step
    assert live_nodes() == before                   # the recording is freed with it


def test_alternating_dynamic_and_replayed_steps_are_flat(quiet_gc):
    # Both kinds of graph in one arena, their slots reused in turn.
    X, y = make_moons(20, noise=0.1, seed=3)
    model = seeded_model()
    opt = SGD(model.parameters(), lr=0.2)
    step = replay_loss(model, y)
    meter = Meter()
    for k in range(STEPS // 3):
        for loss in (step(X), demo_loss(model, X, y)):
            opt.zero_grad()
            loss.backward()
            opt.step()
        if k % 10 == 0 or k == STEPS // 3 - 1:
            meter.read(k * 3)
    meter.check_flat()
