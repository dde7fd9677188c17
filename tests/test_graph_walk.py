"""Graph walks over ``_prev`` and ``_op``, as graphviz tracers do them.

Such tracers key nodes by ``id()``: they work only if ``_prev`` gives the same
objects every time while they are alive, and a node's children once each.
"""


def trace(root):
    """All nodes (id -> node) and edges (child id, parent id) reachable from root.

    Each node's ``_prev`` is read exactly once, when it is first reached; the
    edges are kept in a list so that a duplicate would show.
    """
    nodes, edges = {id(root): root}, []
    stack = [root]
    while stack:
        v = stack.pop()
        for child in v._prev:
            edges.append((id(child), id(v)))
            if id(child) not in nodes:
                nodes[id(child)] = child
                stack.append(child)
    return nodes, edges


def test_trace_finds_every_node_and_edge_once(V):
    a, b = V(2.0, label="a"), V(-3.0, label="b")
    c = a * b
    d = c + a
    e = d.relu()
    f = e * e  # one child, used twice: one edge
    g = f + 1.0
    (one,) = [x for x in g._prev if x is not f]  # the leaf made from 1.0
    nodes, edges = trace(g)
    assert set(nodes) == {id(x) for x in (a, b, c, d, e, f, g, one)}
    expected = [(a, c), (b, c), (c, d), (a, d), (d, e), (e, f), (f, g), (one, g)]
    assert sorted(edges) == sorted((id(x), id(y)) for x, y in expected)
    assert len(edges) == len(set(edges)) == 8
    ops = {id(x): x._op for x in nodes.values()}
    assert [ops[id(x)] for x in (a, b, c, d, e, f, g, one)] == ["", "", "*", "+", "ReLU", "*", "+", ""]
    assert a.label == "a" and one.label == ""


def test_trace_twice_gives_the_same_ids(V):
    # No intermediate is held by the test: the first trace keeps them alive,
    # and the second must see the very same objects.
    x, y = V(1.5), V(-0.5)
    root = ((x * y + x).tanh() * (y - 2.0) + (x / y).relu()) ** 2
    nodes1, edges1 = trace(root)
    nodes2, edges2 = trace(root)
    assert nodes1.keys() == nodes2.keys()
    assert all(nodes1[k] is nodes2[k] for k in nodes1)
    assert sorted(edges1) == sorted(edges2)
    assert len(edges1) == len(set(edges1))
    # x, y, x*y, +x, tanh, -2.0 leaf, y + -2.0, *, y**-1, x*y**-1, relu, +, **2
    assert len(nodes1) == 13


def test_prev_gives_the_same_objects_while_alive(V):
    x = V(3.0)
    out = (x * 2.0 + 1.0).exp()
    first = out._prev
    (inner,) = first
    assert next(iter(out._prev)) is inner
    leaves1 = {id(c) for c in inner._prev}
    leaves2 = {id(c) for c in inner._prev}
    assert leaves1 == leaves2
