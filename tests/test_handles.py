"""Handles and the nodes behind them: dropped in any order, outliving their
graph's root or their parents, and never showing a node that reused a freed
slot. Dropping huge graphs frees them without recursion."""

import copy
import gc
import math
import os
import platform
import random
import subprocess
import sys
import textwrap

import pytest

import micrograd
from micrograd.engine import Value, dot
from micrograd.optim import SGD

from conftest import live_nodes


@pytest.fixture
def baseline():
    """Live nodes before the test (the cyclic GC held off while counting);
    at the end the test must have freed everything it made."""
    gc.collect()
    gc.disable()
    before = live_nodes()
    try:
        yield before
    finally:
        gc.enable()
    gc.collect()
    assert live_nodes() == before


def all_handles(root):
    """Every node reachable from root through _prev, root first (handles)."""
    seen, order, stack = {id(root)}, [root], [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in seen:
                seen.add(id(child))
                order.append(child)
                stack.append(child)
    return order


def snapshot(v):
    """What a handle shows: its own numbers and its children's."""
    return (v.data, v.grad, v._op, v.label,
            sorted((c.data, c.grad, c._op) for c in v._prev))


def build(seed):
    """A graph with shared subexpressions, every op, a labelled and a
    hand-built node; backward done."""
    rng = random.Random(seed)
    xs = [Value(rng.uniform(0.5, 2.0), label=f"x{k}") for k in range(4)]
    a, b, c, d = xs
    e = (a * b + c).tanh()
    f = (e - d) ** 2 + e.exp() / (c + 1)
    g = Value(f.data * 2, (e, f, a), "custom", label="g")
    h = (f * g).sigmoid() + (a ** b).log() + (2 ** c).relu() - (1 / d)
    h.backward()
    return h


def _fill_free_slots():
    """Make the arena's free slots all taken (by one handle's graph), so that
    the next slots to be freed are the next to be reused."""
    stats = micrograd.arena_stats()
    n = (stats["capacity"] - stats["live"]) // 3 + 1
    v = Value(0.0)
    return dot([v] * n, [0.0] * n)          # ~3n nodes, one handle


# --- dropping handles in any order ---------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_dropping_handles_in_any_order(baseline, seed):
    handles = all_handles(build(seed))
    expected = [snapshot(v) for v in handles]
    rng = random.Random(seed)
    alive = list(range(len(handles)))
    while alive:
        k = alive.pop(rng.randrange(len(alive)))
        handles[k] = None                    # drop this handle
        for j in alive:                      # every other one reads as before
            assert snapshot(handles[j]) == expected[j], (seed, k, j)
    assert live_nodes() == baseline


def test_handles_outlive_the_root(baseline):
    a, b = Value(2.0), Value(-3.0)
    mid = a * b
    root = (mid + a).relu() * mid
    root.backward()
    grads = (a.grad, b.grad, mid.grad)
    del root
    assert live_nodes() == baseline + 3      # a, b and mid remain
    assert (a.grad, b.grad, mid.grad) == grads and mid.data == -6.0
    mid.grad = 0.0
    a.grad = b.grad = 0.0
    mid.backward()                           # the rest of the graph still works
    assert (a.grad, b.grad) == (-3.0, 2.0)


def test_prev_handles_kept_after_the_parent_dies(baseline):
    x = Value(1.5)
    out = ((x * 2.0 + 1.0).tanh() * 3.0).exp()
    out.backward()
    (child,) = out._prev                     # the '*' node under exp
    (grandchild, three) = sorted(child._prev, key=lambda v: v._op)[::-1]
    want = [snapshot(v) for v in (child, grandchild, three)]
    del out, x
    assert [snapshot(v) for v in (child, grandchild, three)] == want
    del child
    assert [snapshot(v) for v in (grandchild, three)] == want[1:]
    # The walk down from a kept handle still reaches the leaf.
    leaves = [v for v in all_handles(grandchild) if not v._prev]
    assert sorted(v.data for v in leaves) == [1.0, 1.5, 2.0]


def test_a_freed_slot_reused_by_a_new_node_never_shows_through_an_old_handle(baseline):
    fill = _fill_free_slots()
    handles = all_handles(build(11))
    keep = handles[::3]
    want = [snapshot(v) for v in keep]
    dropped = len(handles) - len(keep)
    del handles
    # The nodes only the dropped handles held are free now and are the
    # lowest free slots: new nodes go exactly there.
    newcomers = [Value(1e6 + k, (), "new", label="new") for k in range(dropped + 16)]
    newcomers += [v * -1.0 for v in newcomers[:8]]
    for v, w in zip(keep, want):
        assert snapshot(v) == w
    for v in all_handles(keep[0]):
        assert v.data < 1e6 and v.label != "new" and v._op != "new"
    del newcomers, keep, v, fill


def test_a_reused_slot_does_not_inherit_label_op_or_children(baseline):
    fill = _fill_free_slots()
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    custom = Value(9.0, (a, b, c), "f", label="custom")
    labelled = Value(4.0, label="old")
    del custom, labelled, a, b, c              # 2 nodes + 1 hidden link node + 3 leaves
    fresh = [Value(float(k)) for k in range(10)]
    assert all(v.label == "" and v._op == "" and v._prev == set() for v in fresh)
    assert {v.data for v in fresh} == {float(k) for k in range(10)}
    del fresh, fill


def test_reinitialised_handle_moves_to_a_new_node(baseline):
    a = Value(2.0)
    out = a * 3.0
    a.__init__(5.0)
    assert a.data == 5.0 and a.grad == 0.0 and a._prev == set()
    old = [c for c in out._prev if c.data == 2.0]
    assert len(old) == 1 and old[0] is not a   # the parent keeps the old node
    out.backward()
    assert old[0].grad == 3.0 and a.grad == 0.0
    del old, out, a


def test_optimizer_never_writes_through_a_stale_index():
    fill = _fill_free_slots()
    p = Value(1.0)
    opt = SGD([p], lr=1.0)
    p.__init__(2.0)                          # p's old node is freed
    others = [Value(100.0) for _ in range(8)]  # one of them takes the freed slot
    for v in others:
        v.grad = 1.0
    p.grad = 1.0
    opt.step()
    changed = [v.data for v in others if v.data != 100.0]
    stepped = p.data
    del fill, opt, others, v, p
    assert changed == [] and stepped == 1.0


def test_hand_built_node_keeps_its_children_and_frees_them(baseline):
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    node = Value(6.0, (a, b, c), "sum3")
    ids = {id(a), id(b), id(c)}
    del a, b, c
    assert {id(v) for v in node._prev} == ids     # the very same objects
    node.backward()
    assert all(v.grad == 0.0 for v in node._prev)  # no backward rule, as the original
    del node


def test_handles_in_reference_cycles_are_freed_by_the_collector(baseline):
    box = [Value(1.0) * 2.0]
    box.append(box)
    del box
    gc.collect()


def test_copies_are_independent_leaves(baseline):
    a = Value(2.0)
    b = a * a
    b.backward()
    c = copy.copy(b)
    d = copy.deepcopy([a, b])
    assert (c.data, c.grad, c._prev) == (4.0, 1.0, set())
    assert [v.data for v in d] == [2.0, 4.0] and d[0] is not a
    c.data = 7.0
    assert b.data == 4.0
    del a, b, c, d


BLANK_HANDLE = textwrap.dedent("""
    from micrograd.engine import Value
    blank = Value.__new__(Value)        # no __init__: it owns no node
    for name in ("data", "grad", "_op", "_prev"):
        try:
            getattr(blank, name)
        except AttributeError:          # as the original's, it has no data yet
            pass
        else:
            raise SystemExit(f"{name} of a blank Value did not raise")
    for op in (lambda: blank + 1, lambda: 2 * blank, lambda: blank.relu(),
               lambda: blank.backward()):
        try:
            op()
        except AttributeError:
            pass
        else:
            raise SystemExit("an op on a blank Value did not raise")
    blank.data = 3                      # assigning data makes it a leaf
    print(repr((blank.data, blank.grad, blank._op, blank.label, blank._prev)))
""")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc",
                    reason="MALLOC_PERTURB_ (fresh memory not zero) is glibc's")
def test_blank_handle_reads_a_clean_sentinel():
    # Fresh memory filled with non-zero bytes (glibc's MALLOC_PERTURB_; an
    # AddressSanitizer build fills it with 0xbe anyway) makes it show.
    env = {**os.environ, "MALLOC_PERTURB_": "165"}
    proc = subprocess.run([sys.executable, "-c", BLANK_HANDLE], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-1000:]
    assert proc.stdout.strip() == "(3, 0, '', '', set())"


def test_outputs_of_a_compiled_function_outlive_it(baseline):
    w = Value(2.0)
    f = micrograd.compile(lambda x: (x * w).tanh())
    out = f(0.25)
    out2 = f(0.5)                            # replay: the same Value, updated
    assert out2 is out and out.data == math.tanh(1.0)
    del f, out2
    assert out.data == math.tanh(1.0)
    out.backward()                           # plain backward now
    assert w.grad == (1 - math.tanh(1.0) ** 2) * 0.5
    del out, w


# --- huge graphs: freed without recursion -----------------------------------------------

FREE_WITHOUT_RECURSION = textwrap.dedent("""
    import threading
    import micrograd
    from micrograd.engine import Value, dot

    def live():
        return micrograd.arena_stats()["live"]

    def work():
        base = live()
        # A chain a million nodes deep, dropped from the root.
        x0 = x = Value(1.0)
        for _ in range(500_000):
            x = x.relu() + x0
        assert live() - base == 1 + 2 * 500_000, live() - base
        x.backward()
        del x
        assert live() == base + 1
        del x0
        assert live() == base
        # A chain dropped from the middle first: the root's half goes, then
        # the rest when the middle handle goes.
        x = Value(0.5)
        for k in range(1_000_000):
            x = x.tanh()
            if k == 500_000:
                middle = x
        del x
        assert live() - base == 500_002, live() - base
        del middle
        assert live() == base
        # A wide, shallow graph (one dot of a million terms).
        v = Value(2.0)
        s = dot([v] * 400_000, [1.0] * 400_000)
        assert live() - base > 1_000_000
        s.backward()
        assert v.grad == 400_000.0
        del s, v
        assert live() == base
        print("ok")

    threading.stack_size(64 * 1024)     # recursion in C would overflow this
    t = threading.Thread(target=work)
    t.start()
    t.join()
""")


def test_million_node_graphs_free_without_recursion():
    proc = subprocess.run([sys.executable, "-c", FREE_WITHOUT_RECURSION],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


# --- the C paths of `a + b`, `a * b` and of freeing a handle ---------------------------
# Two plain Values, a free handle and room in the arena: `+` and `*` run in
# C; anything else takes the general path. Both must give the same node.

def _same_as_general(x, y):
    """x + y and x * y through the C path, and through the general one
    (Value.__add__ called as a function), as (data, type, grads)."""
    out = []
    for add, mul in ((lambda p, q: p + q, lambda p, q: p * q),
                     (Value.__add__, Value.__mul__)):
        a, b = Value(x), Value(y)
        s, m = add(a, b), mul(a, b)
        (s * m).backward()
        out.append((s.data, type(s.data), m.data, type(m.data), s._op, m._op,
                    a.grad, type(a.grad), b.grad, sorted(c.data for c in m._prev)))
    return out


@pytest.mark.parametrize("x, y", [(2, 3), (2, 0.5), (-0.0, 0.0), (1e308, 10.0),
                                  (True, 2), (-3, -0.0)])
def test_c_binary_ops_make_the_general_node(baseline, x, y):
    fast, general = _same_as_general(x, y)
    assert fast == general
    assert fast[0] == x + y and fast[2] == x * y


def test_c_binary_ops_leave_way_to_patches_and_subclasses(baseline):
    class Sub(Value):
        def __mul__(self, other):
            return "sub"

    assert Sub(2.0) * Value(3.0) == "sub"
    assert (Value(2.0) * Sub(3.0)).data == 6.0        # Sub.__rmul__ is Value's
    saved = Value.__mul__
    try:
        Value.__mul__ = lambda self, other: "patched"
        assert Value(2.0) * Value(3.0) == "patched"
    finally:
        Value.__mul__ = saved
    assert (Value(2.0) * Value(3.0)).data == 6.0


def test_c_binary_ops_below_python_ops_keep_gc_visibility(baseline):
    x = Value(0.5)
    t = Value(math.tanh(x.data), (x,), "tanh")

    def _backward():
        x.grad += (1 - t.data ** 2) * t.grad
    t._backward = _backward
    y = t * t + t                               # the node reaches a Python op
    assert gc.is_tracked(y)
    y.backward()
    assert x.grad == pytest.approx((2 * t.data + 1) * (1 - t.data ** 2))
    del t, _backward, y


def test_c_binary_ops_when_the_arena_must_grow(baseline):
    fill = _fill_free_slots()                  # no free slot: the next op grows it
    cap = micrograd.arena_stats()["capacity"]
    a, b = Value(1.5), Value(2.0)
    chain = [a * b]
    while micrograd.arena_stats()["capacity"] == cap:
        chain.append(chain[-1] + b)
    assert chain[-1].data == 3.0 + 2.0 * (len(chain) - 1)
    del fill, chain


def test_freed_handles_come_back_blank(baseline):
    # handles with attributes or weak references take the general path when
    # freed; the ones that come back from the free list carry nothing over
    import weakref
    olds = [Value(1.0) * Value(2.0) for _ in range(50)]
    for k, v in enumerate(olds):
        if k % 3 == 0:
            v.name = "old"
        elif k % 3 == 1:
            weakref.ref(v)
    del olds, v
    news = [Value(1.0) + Value(k) for k in range(200)]
    for v in news:
        assert vars(v) == {} and v.label == "" and v._op == "+"
        assert weakref.getweakrefcount(v) == 0
    assert [v.data for v in news] == [1.0 + k for k in range(200)]
    del news, v
