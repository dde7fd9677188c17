"""micrograd.viz: graph pictures rendered by Graphviz's ``dot``, and the decision-boundary plot.

The rendering tests draw to SVG with the real ``dot`` program and count the
node and edge groups it writes; they are skipped only when the ``graphviz``
Python package or the ``dot`` program is missing.
"""

import os
import random
import shutil
import sys

import pytest

from micrograd.viz import MAX_NODES, draw_dot, plot_decision_boundary, trace


def _graphviz():
    graphviz = pytest.importorskip(
        "graphviz", reason="the graphviz Python package is not installed (pip install graphviz)")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not on PATH (apt-get install graphviz)")
    return graphviz


def svg_counts(dot):
    """(nodes, edges) in the SVG that ``dot`` renders."""
    svg = dot.pipe(format="svg").decode()
    return svg.count('class="node"'), svg.count('class="edge"'), svg


def lecture_neuron(V):
    """The lecture's neuron: o = tanh(x1*w1 + x2*w2 + b), every Value labelled."""
    x1, x2 = V(2.0, label="x1"), V(0.0, label="x2")
    w1, w2 = V(-3.0, label="w1"), V(1.0, label="w2")
    b = V(6.8813735870195432, label="b")
    x1w1 = x1 * w1; x1w1.label = "x1*w1"
    x2w2 = x2 * w2; x2w2.label = "x2*w2"
    s = x1w1 + x2w2; s.label = "x1*w1 + x2*w2"
    n = s + b; n.label = "n"
    o = n.tanh(); o.label = "o"
    o.backward()
    return o


def test_trace_lists_each_node_and_edge_once(V):
    a, b = V(2.0), V(-3.0)
    c = a * b
    d = c * c + a          # c used twice by one op: one edge
    nodes, edges = trace(d)
    assert nodes[0] is d
    assert len(nodes) == len({id(n) for n in nodes}) == 5      # a, b, c, c*c, d
    assert len(edges) == len(set((id(x), id(y)) for x, y in edges)) == 5


def test_trace_is_iterative():
    from micrograd.engine import Value
    x = Value(1.0)
    for _ in range(20_000):
        x = x * 1.0001
    nodes, edges = trace(x)
    assert len(nodes) == 40_001 and len(edges) == 40_000


def test_lecture_neuron_renders_with_labels(V):
    _graphviz()
    o = lecture_neuron(V)
    dot = draw_dot(o)
    nodes, edges, svg = svg_counts(dot)
    # 10 Values and 5 op nodes (*, *, +, +, tanh); 5 op -> result edges and
    # 9 operand -> op edges
    assert (nodes, edges) == (15, 14)
    for text in ("x1*w1 + x2*w2", "data 0.7071", "grad 0.5000", "tanh"):
        assert text in svg
    assert dot.format == "svg" and "rankdir=LR" in dot.source


def test_a_few_hundred_nodes_render(V):
    _graphviz()
    random.seed(0)
    w = [[V(random.uniform(-1, 1)) for _ in range(3)] for _ in range(40)]
    x = [V(1.0), V(-2.0), V(0.5)]
    out = sum(((sum((wi * xi for wi, xi in zip(row, x)), V(0.0))).relu() for row in w), V(0.0))
    values, operand_edges = trace(out)
    with_op = sum(1 for v in values if v._op)
    assert 250 < len(values) <= MAX_NODES
    nodes, edges, _ = svg_counts(draw_dot(out, rankdir="TB"))
    assert nodes == len(values) + with_op
    assert edges == len(operand_edges) + with_op


def test_labels_with_record_syntax_are_shown_as_written():
    _graphviz()
    from micrograd.engine import Value
    a = Value(1.0, label='{a|b} <c> "d" \\e')
    nodes, edges, svg = svg_counts(draw_dot(a * 2))
    assert (nodes, edges) == (4, 3)
    assert "{a|b} &lt;c&gt; &quot;d&quot; \\e" in svg


def test_big_graphs_are_refused_with_their_size():
    from micrograd.engine import Value
    x = Value(1.0)
    for _ in range(300):
        x = x * 2.0 + 1.0          # 4 new Values a round
    with pytest.raises(ValueError, match=r"1,201 nodes, more than max_nodes=500.*max_nodes="):
        draw_dot(x)
    pytest.importorskip("graphviz", reason="the graphviz Python package is not installed")
    for limit in (2000, None):                   # building the Digraph is cheap; no rendering
        source = draw_dot(x, max_nodes=limit).source
        assert source.count("shape=record") == 1201
        assert source.count("->") == 600 + 1200   # op -> result, operand -> op


def test_bad_rankdir():
    from micrograd.engine import Value
    with pytest.raises(ValueError, match="rankdir"):
        draw_dot(Value(1.0), rankdir="RL")


def test_without_the_graphviz_package_a_clear_error(monkeypatch):
    from micrograd.engine import Value
    monkeypatch.setitem(sys.modules, "graphviz", None)
    with pytest.raises(ImportError, match="pip install graphviz"):
        draw_dot(Value(1.0) + 1)


def test_decision_boundary_png(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    X = [[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]]
    y = [-1, 1, -1, 1]
    path = tmp_path / "boundary.png"
    calls = []

    def score(x0, x1):
        calls.append((x0, x1))
        return x0 - 0.5

    plot_decision_boundary(score, X, y, str(path), title="test", resolution=0.1)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(calls) == 21 * 21      # the data's 1x1 box plus a margin of 0.5 around it, 0.1 apart


def _matplotlib():
    return pytest.importorskip("matplotlib", reason="matplotlib is not installed")


def _boundary_data():
    X = [[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.2, 0.8]]
    y = [-1, 1, -1, 1, -1]
    return X, y


def test_decision_boundary_returns_the_figure_and_writes_nothing(tmp_path, monkeypatch):
    _matplotlib()
    from matplotlib.figure import Figure
    monkeypatch.chdir(tmp_path)
    X, y = _boundary_data()
    fig = plot_decision_boundary(lambda a, b: a - 0.5, X, y, resolution=0.1)
    assert isinstance(fig, Figure)
    assert os.listdir(tmp_path) == []
    (ax,) = fig.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x0", "x1")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class -1", "class 1"]
    # each class's points are drawn as given, in the class's own scatter
    offsets = [c.get_offsets().tolist() for c in ax.collections if c.get_label() in
               ("class -1", "class 1")]
    assert offsets == [[p for p, label in zip(X, y) if label < 0],
                       [p for p, label in zip(X, y) if label > 0]]
    assert ax.get_xlim() == pytest.approx((-0.5, 1.5)) and ax.get_ylim() == pytest.approx((-0.5, 1.5))


def test_decision_boundary_draws_into_a_given_axes_and_saves_svg(tmp_path):
    _matplotlib()
    from matplotlib.figure import Figure
    X, y = _boundary_data()
    outer = Figure()
    left, right = outer.subplots(1, 2)
    fig = plot_decision_boundary(lambda a, b: b - a, X, [0, 1, 0, 1, 0], ax=right,
                                 path=tmp_path / "b.svg", title="t", xlabel="a", ylabel="b",
                                 resolution=0.25)
    assert fig is outer and fig.axes == [left, right]
    assert not left.collections and right.collections
    assert right.get_title() == "t" and (right.get_xlabel(), right.get_ylabel()) == ("a", "b")
    assert [t.get_text() for t in right.get_legend().get_texts()] == ["class 0", "class 1"]
    assert b"<svg" in (tmp_path / "b.svg").read_bytes()[:500]


def test_decision_boundary_class_names_and_the_grid():
    _matplotlib()
    X, y = _boundary_data()
    calls = []

    def score(a, b):
        calls.append((a, b))
        return 1.0

    fig = plot_decision_boundary(score, X, y, class_names=("outer", "inner"), resolution=0.5,
                                 margin=0.0)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["outer", "inner"]
    assert calls == [(a, b) for b in (0.0, 0.5, 1.0) for a in (0.0, 0.5, 1.0)]


@pytest.mark.parametrize("kwargs, words", [
    ({"X": [], "y": []}, "no points"),
    ({"y": [1, -1]}, "5 points but y has 2 labels"),
    ({"X": [[0.0, 1.0, 2.0]], "y": [1]}, "2 coordinates"),
    ({"resolution": 0}, "resolution must be > 0"),
    ({"margin": -1}, "margin must be >= 0"),
    ({"class_names": ("a",)}, "a pair"),
])
def test_decision_boundary_bad_input(kwargs, words):
    X, y = _boundary_data()
    args = {"X": X, "y": y, **kwargs}
    with pytest.raises(ValueError, match=words):
        plot_decision_boundary(lambda a, b: a, args.pop("X"), args.pop("y"), **args)
