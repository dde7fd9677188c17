"""Hostile programs: whatever Python code runs in the middle of the core's
work (GC callbacks that allocate, numbers whose __float__ changes what is
being read, re-entered constructors, deep nesting, tiny capacity limits,
forks), there is no crash, no stale read, no leak and no lost file: the
right result or a clean Python exception, and the arena back to where it
was. One test (or table) per class of failure; the whole suite also runs
in the moving-arena stress mode under AddressSanitizer (scripts/asan-tests.sh),
where any pointer into the arena kept across such code is reported.
"""

import array
import contextlib
import gc
import json
import math
import numbers
import os
import subprocess
import sys
import threading
import weakref

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import micrograd
from micrograd.engine import Value, dot
from micrograd.nn import MLP
from micrograd.optim import SGD, Adam
from micrograd_c.arena import set_max_capacity
from micrograd_c.tape import Tape

from conftest import examples, live_nodes, pure_value, run_python


@pytest.fixture
def baseline():
    """Live nodes before the test; at the end everything it made is freed."""
    gc.collect()
    before = live_nodes()
    yield before
    gc.collect()
    assert live_nodes() == before


@contextlib.contextmanager
def gc_storm(action):
    """Run the block with the cyclic GC collecting at every allocation and
    calling `action` each time it starts (the action allocates freely)."""
    busy = []

    def callback(phase, info):
        if phase == "start" and not busy:
            busy.append(1)
            try:
                action()
            finally:
                busy.pop()

    old = gc.get_threshold()
    gc.callbacks.append(callback)
    gc.set_threshold(1)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.callbacks.remove(callback)


# --- 1. pointers into the arena held across Python code -----------------------------------


def test_prev_reads_no_moved_arena(baseline):
    keep = []

    def grow():        # enough new nodes to move the arena
        keep.extend(Value(1.0) for _ in range(2 * micrograd.arena_stats()["capacity"]))

    with gc_storm(grow):
        c = Value(1.0) + Value(2.0)
        seen = sorted(v.data for v in c._prev)
    assert seen == [1.0, 2.0]
    del c
    keep.clear()


def test_compile_check_and_roots_with_allocating_callbacks(baseline):
    keep = []

    def grow():
        keep.extend(Value(0.5) * 2 for _ in range(300))

    x = Value(1.5)
    tape = Tape()
    tape.set_inputs([x])
    tape.start()
    outs = [x * k for k in range(300)]
    tape.stop()
    with gc_storm(grow):
        assert tape.register_roots(outs) == 300
        checked = micrograd.compile(lambda x: (x * 2).relu() + x, check=True)
        for v in (1.0, 2.0, 3.0):
            assert checked(v).data == 2 * v + v
    keep.clear()
    del outs, tape, checked, x


# --- 2. sizes checked before conversions that run Python ------------------------------------


class Sneaky(numbers.Real):
    """A real number whose conversion changes the list it sits in."""

    def __init__(self, x, grow=None, shrink=None):
        self.x, self.grow, self.shrink = x, grow, shrink

    def __float__(self):
        if self.grow is not None:
            self.grow.extend(Value(9.0) for _ in range(1000))
        if self.shrink is not None and self.shrink:
            del self.shrink[:]
        return float(self.x)

    # the rest of numbers.Real, as plain floats
    def __abs__(self): return abs(self.x)
    def __add__(self, o): return self.x + o
    def __radd__(self, o): return o + self.x
    def __mul__(self, o): return self.x * o
    def __rmul__(self, o): return o * self.x
    def __neg__(self): return -self.x
    def __pos__(self): return +self.x
    def __truediv__(self, o): return self.x / o
    def __rtruediv__(self, o): return o / self.x
    def __pow__(self, o): return self.x ** o
    def __rpow__(self, o): return o ** self.x
    def __floordiv__(self, o): return self.x // o
    def __rfloordiv__(self, o): return o // self.x
    def __mod__(self, o): return self.x % o
    def __rmod__(self, o): return o % self.x
    def __lt__(self, o): return self.x < o
    def __le__(self, o): return self.x <= o
    def __eq__(self, o): return self.x == o
    def __hash__(self): return hash(self.x)
    def __trunc__(self): return math.trunc(self.x)
    def __floor__(self): return math.floor(self.x)
    def __ceil__(self): return math.ceil(self.x)
    def __round__(self, n=None): return round(self.x, n)


def test_dot_with_numbers_that_change_its_lists(baseline):
    ws = [Value(0.5), Value(-1.0), Value(2.0)]
    xs = [1.0, Sneaky(2.0, grow=ws), 3.0]
    out = dot(ws, xs)                 # the expression's own semantics
    assert out.data == 0.5 * 1.0 + -1.0 * 2.0 + 2.0 * 3.0
    xs2 = [1.0, Sneaky(2.0, shrink=ws), 3.0]
    out2 = dot([Value(0.5), Value(-1.0), Value(2.0)], xs2)
    assert out2.data == 0.5 - 2.0 + 6.0
    del out, out2, ws, xs, xs2


def test_fused_layers_with_numbers_that_change_the_model(baseline):
    model = MLP(3, [4, 1])
    row = model.layers[0].neurons[0].w
    out = model([1.0, Sneaky(2.0, grow=row), 3.0])     # the per-op code, as written
    assert isinstance(out, Value)
    del out, model, row


# --- 3. the blank handle --------------------------------------------------------------------


def test_blank_values_own_nothing_and_change_nothing(baseline):
    blank = Value.__new__(Value)
    for attempt in (lambda: blank + 1, lambda: 1 * blank, lambda: blank.relu(),
                    lambda: blank.backward(), lambda: blank._prev, lambda: blank.data,
                    lambda: SGD([blank], lr=0.1), lambda: dot([blank], [1.0]).data):
        with pytest.raises(AttributeError, match="no data"):
            attempt()
    other = Value.__new__(Value)
    with pytest.raises(AttributeError):
        other.grad
    blank.data = -5.0                        # now a leaf of its own
    assert (blank.data, blank.grad) == (-5.0, 0)
    del blank, other


# --- 4. nesting deeper than C recursion can go ------------------------------------------------


def test_compile_arguments_nested_too_deep(baseline):
    nested = [1.0]
    for _ in range(100_000):
        nested = [nested]
    f = micrograd.compile(lambda x: Value(1.0))
    with pytest.raises(RecursionError):
        f(nested)
    assert f(1.0).data == 1.0                # still usable


# --- 5. lifecycle re-entry ----------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda p: SGD(p, lr=0.1, momentum=0.9),
                                  lambda p: Adam(p, lr=0.1)])
def test_optimizer_init_again_with_more_parameters(baseline, make):
    few = [Value(1.0)]
    opt = make(few)
    many = [Value(float(k)) for k in range(1000)]
    type(opt).__mro__[1].__init__(opt, many)         # Optimizer.__init__ again
    for p in many:
        p.grad = 1.0
    opt.step()
    opt.step()
    assert len(opt.params) == 1000 and all(p.data < k for k, p in enumerate(many))
    opt.__init__(few, lr=0.1)
    opt.step()
    del opt, few, many


def test_set_inputs_from_a_generator_of_fresh_values(baseline):
    t = Tape()
    t.set_inputs(Value(float(k)) for k in range(3))
    t.start()
    t.stop()
    t.replay(array.array("d", [1.0, 2.0, 3.0]))
    del t


def test_reinit_onto_itself_is_a_chain(baseline):
    v = Value(1.0)
    for _ in range(50):
        v.__init__(2.0, (v,))
    assert v.data == 2.0 and len(v._prev) == 1
    del v


# --- 6. sizes past what the arena may hold --------------------------------------------------------


def test_running_out_of_room_is_a_clean_memory_error(baseline):
    x = Value(2.0)
    cap = micrograd.arena_stats()["capacity"]
    previous = set_max_capacity(cap)
    try:
        big = cap
        with pytest.raises(MemoryError):
            dot([x] * big, [1.0] * big)
        with pytest.raises(MemoryError):
            keep = [x * 2 for _ in range(cap + 1)]
        with pytest.raises(MemoryError):
            MLP(cap, [1])
        with pytest.raises(MemoryError):
            Value(1.0, [x] * (cap + 1))
    finally:
        set_max_capacity(previous)
    assert (x * 3).data == 6.0
    del x
    gc.collect()


def test_limits_are_checked():
    with pytest.raises(ValueError):
        set_max_capacity(10)                  # below what is in use


# --- 7. replays that must not be mixed up -----------------------------------------------------------


def test_integer_arrays_and_bools_are_structure_of_their_own(baseline):
    table = [Value(float(k)) for k in range(256)]
    f = micrograd.compile(lambda idx: table[int(idx[0]) % 256] * 1.0)
    assert f(np.array([200], dtype=np.uint8)).data == 200.0
    assert f(np.array([-56], dtype=np.int8)).data == float(-56 % 256)
    g = micrograd.compile(lambda x, flag: x * (2.0 if flag is True else 3.0))
    assert g(1.0, True).data == 2.0
    assert g(1.0, 1).data == 3.0
    assert g(1.0, True).data == 2.0
    del f, g, table


# --- 8. numerics: PyTorch's gradients where the formula has 0 * inf ----------------------------------


def test_powers_at_zero_have_pytorchs_gradients():
    torch = pytest.importorskip("torch")
    for V in (Value, pure_value()):
        x = V(0.0)
        s = sum(x ** k for k in range(3))
        s.backward()
        a, b = V(0.0), V(0.0)
        (a ** b).backward()
        tx = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
        sum(tx ** k for k in range(3)).backward()
        ta = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
        (ta ** tb).backward()
        assert x.grad == tx.grad.item() == 1.0
        assert (a.grad, b.grad) == (ta.grad.item(), tb.grad.item()) == (0.0, 0.0)


# --- 9. leaks -----------------------------------------------------------------------------------------


def test_a_compiled_method_in_a_reference_cycle_is_collected(baseline):
    unraisable = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append

    class Model:
        def __init__(self):
            self.w = Value(0.5)
            self.step = micrograd.compile(self.loss)

        def loss(self, x):
            return (self.w * x).relu() * 2

    try:
        for _ in range(3):
            m = Model()
            m.step(1.0)
            m.step(2.0)                      # replayed
            ref = weakref.ref(m)
            del m
            gc.collect()
            assert ref() is None
    finally:
        sys.unraisablehook = old_hook
    assert unraisable == []


def test_freed_graphs_give_their_memory_back(baseline):
    x = Value(1.0)
    y = x
    for _ in range(200_000):
        y = y * 1.0
    grown = micrograd.arena_stats()["capacity"]
    del y
    assert micrograd.arena_trim() < grown // 8
    assert (x * 2).data == 2.0
    del x


def rss_kib():
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0])


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
@pytest.mark.skipif(os.environ.get("MICROGRAD_C_ASAN") == "1",
                    reason="the sanitizer's quarantine keeps freed memory")
def test_a_huge_graph_freed_gives_its_memory_back_by_itself():
    code = ("import micrograd\nfrom micrograd.engine import Value\n"
            "x = Value(1.0); y = x\n"
            "for _ in range(5_000_000): y = y * 1.0\n"
            "peak = int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])\n"
            "del y\n"
            "after = int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])\n"
            "print(peak, after, micrograd.arena_stats()['capacity'])\n")
    peak, after, capacity = map(int, run_python(code, timeout=600).split())
    assert capacity == 1024 and after < peak / 4, (peak, after)


# --- 10. files ------------------------------------------------------------------------------------------


def test_save_through_a_symlink_updates_its_target(tmp_path):
    model = MLP(2, [3, 1])
    target = tmp_path / "real.json"
    micrograd.save(MLP(2, [3, 1]), target)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    micrograd.save(model, link)
    assert link.is_symlink()
    assert json.loads(target.read_text())["parameters"] == model.state_dict()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_save_refuses_what_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        micrograd.save(MLP(2, [1]), fifo)
    assert fifo.is_fifo()
    with pytest.raises(OSError):
        micrograd.save(MLP(2, [1]), tmp_path)          # a directory


def test_load_of_bad_files_names_them(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="deep.json"):
        micrograd.load(deep, MLP(2, [1]))
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="binary.json.*UTF-8"):
        micrograd.load(binary, MLP(2, [1]))


def test_adam_state_with_a_huge_step_count_changes_nothing():
    opt = Adam([Value(1.0)], lr=0.01)
    state = opt.state_dict()
    state.update(t=2 ** 63, lr=0.5, betas=[0.5, 0.5])
    with pytest.raises(ValueError, match="t must be"):
        opt.load_state_dict(state)
    assert (opt.lr, opt.betas, opt.t) == (0.01, (0.9, 0.999), 0)


# --- 11. processes and pipes -------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_while_another_thread_records():
    inside, release = threading.Event(), threading.Event()

    def slow(x):
        inside.set()
        release.wait(30)
        return x * 2

    f = micrograd.compile(slow)
    t = threading.Thread(target=f, args=(1.0,))
    t.start()
    inside.wait(30)
    pid = os.fork()
    if pid == 0:                                        # the child: no recording thread
        try:
            from micrograd_c.tape import recording
            g = micrograd.compile(lambda x: x * 3)
            g(1.0)
            ok = not recording() and g.cache_info()["recordings"] == 1
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    release.set()
    t.join()
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_demo_into_a_closed_pipe_ends_quietly(tmp_path):
    proc = subprocess.run(
        f"{sys.executable} -m micrograd demo --steps 50 --no-plot | head -c 10",
        shell=True, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


# --- a reentrancy fuzz test -----------------------------------------------------------------------------


from exprgraph import ENGINE_OPS, programs, run    # noqa: E402


@settings(max_examples=examples(40), deadline=None)
@given(programs(ops=ENGINE_OPS, max_steps=12), st.integers(0, 3))
def test_graphs_built_in_a_gc_storm_match_the_pure_engine(program, seed):
    """Every allocation runs a GC callback that makes nodes, frees nodes,
    and runs backward() of a graph of its own; the program's numbers are
    still the pure engine's."""
    scratch = []

    def storm():
        scratch.append(Value(seed + 0.5) * Value(2.0) + 1)
        if len(scratch) > 3:
            scratch.pop(0).backward()
        if seed % 2:
            scratch.extend(Value(1.0) for _ in range(64 * (seed + 1)))
            del scratch[4:]

    with gc_storm(storm):
        ours = run(program, Value)
        ours[-1].backward()
    pure = run(program, pure_value())
    pure[-1].backward()
    for a, b in zip(ours, pure):
        assert a.data == b.data or (math.isnan(a.data) and math.isnan(b.data))
        assert math.isclose(a.grad, b.grad, rel_tol=1e-12, abs_tol=1e-12)
    del ours, scratch


@settings(max_examples=examples(40), deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 3, allow_nan=False), st.floats(-3, 3, allow_nan=False),
                          st.sampled_from(["value", "float", "int", "sneaky"])),
                min_size=1, max_size=40),
       st.booleans())
def test_kernels_with_side_effecting_numbers_in_a_gc_storm(items, through_nn):
    """dot (and a fused layer) over operands of every kind, some of them
    numbers whose __float__ changes the very lists being read, while the
    GC makes and frees nodes: the results are the expression's."""
    P = pure_value()
    ws = [Value(w) for w, _, _ in items]
    pws = [P(w) for w, _, _ in items]
    xs, pxs = [], []
    for _, x, kind in items:
        if kind == "value":
            xs.append(Value(x)); pxs.append(P(x))
        elif kind == "int":
            xs.append(int(x)); pxs.append(int(x))
        elif kind == "sneaky":
            xs.append(Sneaky(x, grow=[])); pxs.append(x)
        else:
            xs.append(x); pxs.append(x)
    junk = []
    with gc_storm(lambda: junk.extend(Value(0.5) * 2 for _ in range(50))):
        out = dot(ws, xs, Value(1.0))
        if through_nn:
            layer = micrograd.nn.Layer(len(items), 2)
            layer(xs)
        out.backward()
    ref = sum((w * x for w, x in zip(pws, pxs)), P(1.0))
    ref.backward()
    assert out.data == ref.data
    assert [w.grad for w in ws] == [w.grad for w in pws]
    junk.clear()
