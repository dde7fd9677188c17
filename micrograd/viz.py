"""Pictures: a computation graph (graphviz) and a 2-D classifier's decision
boundary (matplotlib).

Both libraries come with the ``plot`` extra (``pip install "micrograd-c[plot]"``)
and are imported only when a picture is drawn; rendering a graph also needs
Graphviz's ``dot`` program (``apt-get install graphviz``, ``brew install
graphviz``).

>>> from micrograd.engine import Value
>>> from micrograd.viz import draw_dot
>>> x = Value(2.0, label='x')
>>> y = (x * x + 1).relu(); y.label = 'y'
>>> y.backward()
>>> dot = draw_dot(y)                     # a graphviz.Digraph
>>> svg = dot.pipe(format='svg')          # or dot.render('graph'), or show it in Jupyter
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Sequence

    import graphviz  # type: ignore[import-untyped]  # graphviz ships no types
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

    from micrograd.engine import Value

__all__ = ["trace", "draw_dot", "plot_decision_boundary", "MAX_NODES"]

# draw_dot refuses bigger graphs unless told otherwise: dot's layout time
# grows quickly, and a picture of thousands of nodes cannot be read anyway.
MAX_NODES = 500

# Characters with a meaning inside a record node's label.
_RECORD_SPECIALS = "\\{}|<>\""


def trace(root: "Value", max_nodes: "int | None" = None
          ) -> "tuple[list[Value], list[tuple[Value, Value]]]":
    """The nodes and edges of the graph that produced ``root``.

    Returns ``(nodes, edges)``: ``nodes`` the Values reachable from ``root``
    through ``_prev``, root first, in the order they were reached; ``edges``
    the ``(child, parent)`` pairs, each once. The walk is iterative, so
    graphs of any depth work. With ``max_nodes``, stop as soon as more than
    that many nodes are found (then ``len(nodes) == max_nodes + 1``).
    """
    nodes = [root]
    seen = {id(root)}          # the Values are kept alive by `nodes`, so ids are stable
    edges = []
    stack = [root]
    while stack:
        v = stack.pop()
        for child in v._prev:
            edges.append((child, v))
            if id(child) not in seen:
                seen.add(id(child))
                nodes.append(child)
                if max_nodes is not None and len(nodes) > max_nodes:
                    return nodes, edges
                stack.append(child)
    return nodes, edges


def _text(s: str, specials: str = "\\") -> str:
    # Characters with a meaning in a dot label, escaped to show as themselves.
    for ch in specials:
        s = s.replace(ch, "\\" + ch)
    return s


def draw_dot(root: "Value", format: str = "svg", rankdir: str = "LR",
             max_nodes: "int | None" = MAX_NODES) -> "graphviz.Digraph":
    """The graph of ``root`` as a ``graphviz.Digraph``, as micrograd's notebooks draw it.

    Every Value is a record node ``{ label | data ... | grad ... }`` (the
    label only when it has one); a Value made by an op gets an op node
    (``+``, ``*``, ``ReLU``, ...) with an edge into it, and an edge runs from
    each operand to that op node. ``format`` is the output format of
    ``render()``/``pipe()``; ``rankdir`` 'LR' (left to right) or 'TB' (top
    to bottom).

    Graphs of more than ``max_nodes`` Values are refused with a ValueError
    (pass a larger ``max_nodes`` to draw them anyway, or ``None`` for no
    limit): laying out thousands of nodes takes ``dot`` a long time.
    """
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', not {rankdir!r}")
    nodes, edges = trace(root, max_nodes)
    if max_nodes is not None and len(nodes) > max_nodes:
        raise ValueError(
            f"the graph has {len(trace(root)[0]):,} nodes, more than max_nodes={max_nodes}; "
            f"draw_dot(root, max_nodes=N) draws bigger graphs (slowly), or draw a smaller "
            f"piece of the computation")
    try:
        from graphviz import Digraph, nohtml
    except ImportError:
        raise ImportError("draw_dot needs the graphviz package: pip install graphviz "
                          "(or pip install \"micrograd-c[plot]\"), and Graphviz's dot program "
                          "to render") from None

    name = {id(n): f"v{i}" for i, n in enumerate(nodes)}
    dot = Digraph(format=format, graph_attr={"rankdir": rankdir})
    for n in nodes:
        uid = name[id(n)]
        fields = [f"data {n.data:.4f}", f"grad {n.grad:.4f}"]
        label = getattr(n, "label", "")
        if label:
            fields.insert(0, _text(label, _RECORD_SPECIALS))
        dot.node(uid, label="{ " + " | ".join(fields) + " }", shape="record")
        if n._op:
            dot.node(uid + "_op", label=nohtml(_text(n._op)))
            dot.edge(uid + "_op", uid)
    for child, parent in edges:
        target = name[id(parent)]
        dot.edge(name[id(child)], target + "_op" if parent._op else target)
    return dot


def plot_decision_boundary(score: "Callable[[float, float], float]",
                           X: "Sequence[Sequence[float]]", y: "Sequence[float]",
                           path: "str | os.PathLike[str] | None" = None, ax: "Axes | None" = None,
                           title: "str | None" = None, resolution: float = 0.02,
                           margin: float = 0.5, class_names: "Sequence[str] | None" = None,
                           xlabel: str = "x0", ylabel: str = "x1") -> "Figure | SubFigure":
    """Draw a 2-D binary classifier's decision regions and its data; return the Figure.

    ``score(x0, x1)`` returns the model's score (a number; its sign is the
    class), ``X`` the points ``[x0, x1]`` and ``y`` their labels (-1/+1, or
    0/1: a label above 0 is the positive class). The grid spans the data
    plus ``margin``, ``resolution`` apart. The axes get ``xlabel`` and
    ``ylabel``, ``title`` if given, and a legend naming the two classes
    (``class_names``: a pair, negative class first; by default ``class
    <label>`` for each).

    ``ax``: a matplotlib Axes to draw into (say, from ``plt.subplots()`` in
    a notebook); without it a new Figure is made (no pyplot: no GUI, no
    global state). Returns the Figure that holds the drawing (in Jupyter,
    it shows itself inline). ``path``: if given, the Figure is also saved
    there, in the format of its extension (``.png``, ``.svg``, ``.pdf``).
    Needs matplotlib (an ImportError otherwise).

    >>> from micrograd.viz import plot_decision_boundary
    >>> fig = plot_decision_boundary(lambda a, b: a - b, [[0, 1], [1, 0]], [-1, 1])
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['class -1', 'class 1']
    """
    points = [tuple(p) for p in X]
    labels = list(y)
    if not points:
        raise ValueError("X has no points")
    if len(points) != len(labels):
        raise ValueError(f"X has {len(points)} points but y has {len(labels)} labels")
    if any(len(p) != 2 for p in points):
        raise ValueError("every point of X must have 2 coordinates [x0, x1]")
    if not resolution > 0:
        raise ValueError(f"resolution must be > 0, got {resolution!r}")
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin!r}")
    positive = [label > 0 for label in labels]
    if class_names is None:
        negatives = [label for label, pos in zip(labels, positive) if not pos]
        positives = [label for label, pos in zip(labels, positive) if pos]
        class_names = (f"class {min(negatives) if negatives else -1:g}",
                       f"class {max(positives) if positives else 1:g}")
    elif len(class_names) != 2:
        raise ValueError(f"class_names must be a pair (negative, positive), got "
                         f"{len(class_names)} names")

    from matplotlib.figure import Figure   # imported only to draw

    xs0 = [p[0] for p in points]
    xs1 = [p[1] for p in points]
    lo0, hi0 = min(xs0) - margin, max(xs0) + margin
    lo1, hi1 = min(xs1) - margin, max(xs1) + margin
    n0 = int((hi0 - lo0) / resolution) + 1
    n1 = int((hi1 - lo1) / resolution) + 1
    grid0 = [lo0 + i * resolution for i in range(n0)]
    grid1 = [lo1 + j * resolution for j in range(n1)]
    regions = [[1.0 if score(a, b) > 0 else 0.0 for a in grid0] for b in grid1]

    fig: "Figure | SubFigure"
    if ax is None:
        fig = Figure(figsize=(6, 4.5), layout="tight")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    ax.contourf(grid0, grid1, regions, levels=[-0.5, 0.5, 1.5], cmap="Spectral", alpha=0.8)
    for cls, name in ((0, class_names[0]), (1, class_names[1])):
        members = [p for p, pos in zip(points, positive) if pos == cls]
        ax.scatter([p[0] for p in members], [p[1] for p in members], c=[cls] * len(members),
                   s=30, cmap="Spectral", vmin=0, vmax=1, edgecolors="k", linewidths=0.5,
                   label=name)
    ax.set_xlim(lo0, hi0)
    ax.set_ylim(lo1, hi1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper right")
    if title:
        ax.set_title(title)
    if path is not None:
        root = fig
        while not hasattr(root, "savefig"):     # a SubFigure: save the whole figure
            root = root.figure
        root.savefig(path, dpi=100)
    return fig
