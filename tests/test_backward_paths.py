"""backward() orders nodes in one of two ways depending on where the arena put
them (descending-index sweep for graphs built in creation order, DFS
otherwise, and a hand-over from the first to the second when the graph is
spread thin over the arena). Every layout must give the pure engine's grads.
"""

import math
import random

import pytest

from conftest import compiled_value, live_nodes, pure_value


def build(V, xs, rng, steps):
    """A random expression over xs (Values), the same for a given rng state."""
    nodes = list(xs)
    for _ in range(steps):
        a = nodes[rng.randrange(len(nodes))]
        b = nodes[rng.randrange(len(nodes))]
        op = rng.randrange(6)
        if op == 0:
            out = a + b
        elif op == 1:
            out = a * b
        elif op == 2:
            out = (a * 0.5).tanh()
        elif op == 3:
            out = a - b * 0.25
        elif op == 4:
            out = (a * b).sigmoid()
        else:
            out = a.relu() + 1.5
        nodes.append(out)
    return nodes


def grads_of(V, layout, seed):
    rng = random.Random(seed)
    xs = [V(rng.uniform(-1.0, 1.0)) for _ in range(6)]
    filler = []
    if layout == "spread":
        # Many live nodes between the leaves and the rest of the graph.
        filler = [V(0.0) for _ in range(20000)]
    if layout == "scrambled":
        filler = [V(0.0) for _ in range(400)]
        first = build(V, xs, rng, 30)
        del filler[::2]  # holes below the nodes just built: reused next
        nodes = first + build(V, first, rng, 60)[len(first):]
    else:
        nodes = build(V, xs, rng, 90)
    root = sum(nodes[-10:], nodes[0]) * 1.0
    root.backward()
    return [root.data] + [x.grad for x in xs] + [n.grad for n in nodes]


@pytest.mark.parametrize("layout", ["fresh", "scrambled", "spread"])
@pytest.mark.parametrize("seed", range(15))
def test_grads_match_pure_in_every_arena_layout(layout, seed):
    before = live_nodes()
    got = grads_of(compiled_value(), layout, seed)
    want = grads_of(pure_value(), layout, seed)
    assert got[0] == want[0]
    for g, w in zip(got[1:], want[1:]):
        assert math.isclose(g, w, rel_tol=1e-12, abs_tol=1e-300), (g, w)
    assert live_nodes() == before


def test_second_backward_accumulates_in_every_layout():
    # Grads are not zeroed between calls, intermediate nodes' included: the
    # second pass re-propagates what they already hold, as in the original.
    results = []
    for V in (compiled_value(), pure_value()):
        for spread in (0, 20000):
            x = V(3.0)
            filler = [V(0.0) for _ in range(spread)]
            y = x * x + x
            y.backward()
            y.backward()
            results.append(x.grad)
            del filler
    # first pass: 2x + 1 = 7; second: the x*x node holds 2, so 2*2*3 + 1 = 13
    assert results == [20.0] * 4
