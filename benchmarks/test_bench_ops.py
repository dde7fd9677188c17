"""The dynamic floor, statement by statement (group ``op-overhead``).

Each row times one statement repeated in a loop of plain Python
(``REPEAT`` copies per iteration, ``ITERATIONS`` iterations, in one
function made for it), and the ``empty loop`` row times the same loop with
nothing in it. ``report.py`` subtracts that loop from every row and shows
nanoseconds per statement and the ratio to the statement it wraps:

- ``a * b``, ``a + b`` (two Values) against ``x * y``, ``x + y`` (floats);
- ``a.data``, ``a.grad`` read and written against a ``__slots__``
  attribute's read and write;
- ``c.real`` (a complex number's member, CPython's own C descriptor) for
  the floor any attribute implemented in C pays on this interpreter.
"""

import pytest

from harness import Engine, measure

REPEAT = 20
ITERATIONS = 5_000

# row name -> (statement, the statement it is measured against)
STATEMENTS = {
    "empty loop": ("pass", None),
    "float x * y": ("x * y", None),
    "Value a * b": ("a * b", "float x * y"),
    "float x + y": ("x + y", None),
    "Value a + b": ("a + b", "float x + y"),
    "slot get s.data": ("s.data", None),
    "Value get a.data": ("a.data", "slot get s.data"),
    "Value get a.grad": ("a.grad", "slot get s.data"),
    "C member get c.real": ("c.real", "slot get s.data"),
    "slot set s.data = x": ("s.data = x", None),
    "Value set a.data = x": ("a.data = x", "slot set s.data = x"),
    "Value set a.grad = x": ("a.grad = x", "slot set s.data = x"),
}


class Slots:
    __slots__ = ("data", "grad")

    def __init__(self, data):
        self.data = data
        self.grad = 0.0


def make_loop(statement):
    """A function running ``statement`` REPEAT * ITERATIONS times on its locals."""
    body = "\n".join("        " + statement for _ in range(REPEAT))
    src = (f"def loop(a, b, x, y, s, c):\n"
           f"    for _ in range({ITERATIONS}):\n{body}\n")
    namespace = {}
    exec(compile(src, f"<op-overhead {statement!r}>", "exec"), namespace)
    return namespace["loop"]


@pytest.mark.benchmark(group="op-overhead")
@pytest.mark.parametrize("row", list(STATEMENTS))
def test_op_overhead(benchmark, row):
    from micrograd.engine import Value
    statement, baseline = STATEMENTS[row]
    loop = make_loop(statement)
    a, b = Value(1.5), Value(-0.25)
    args = (a, b, 1.5, -0.25, Slots(1.5), complex(1.5, 2.0))
    loop(*args)                                 # it runs, and leaves the values sane
    assert a.data in (1.5, -0.25) and b.data == -0.25
    engine = Engine("micrograd-c")
    engine.label = row
    measure(benchmark, loop, setup=lambda: (args, {}), engine=engine, row=row,
            statement=statement, baseline=baseline,
            statements_per_call=REPEAT * ITERATIONS)
