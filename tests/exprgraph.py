"""Random expression graphs for differential tests.

A *program* is a list of leaf values and a list of steps ``(op, i, j, c)``:
step k computes node ``len(leaves) + k`` from earlier nodes ``i`` and ``j``
(unary ops use only ``i``) and, for the ops with a number operand, the
constant ``c``.  Operands are drawn among all earlier nodes, so programs
share subexpressions, and some ops use one node twice (``a * a``).

Programs are drawn raw and then made *safe* with plain float math: a step
whose op is undefined or badly conditioned at its operands (log of a
non-positive number, division by ~0, exp of a large number, results beyond
1e6, ...) is replaced by ``tanh`` (or, among the original's ops, ``relu``) of
its first operand, which is always defined.  Every engine then runs the same safe program.
"""

import math

from hypothesis import strategies as st


# Ops written in Python, the micrograd way (the lecture's tanh; a product and
# an exp as a user would add them): each makes its output with
# ``Value(data, (children...), op)`` and gives it a ``_backward`` closure.
# They take the operands' class, so they run on any engine.

def py_tanh(a):
    x = a.data
    t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
    out = type(a)(t, (a,), "tanh")

    def _backward():
        a.grad += (1 - t ** 2) * out.grad
    out._backward = _backward
    return out


def py_mul(a, b):
    out = type(a)(a.data * b.data, (a, b), "*")

    def _backward():
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad
    out._backward = _backward
    return out


def py_exp(a):
    out = type(a)(math.exp(a.data), (a,), "exp")

    def _backward():
        a.grad += out.data * out.grad
    out._backward = _backward
    return out

# op name -> (arity, how the engine computes it); arity 1 ops read node i,
# arity 2 ops nodes i and j; '_s' ops take the number c.
OPS = {
    "add": (2, lambda a, b, c: a + b),
    "sub": (2, lambda a, b, c: a - b),
    "mul": (2, lambda a, b, c: a * b),
    "div": (2, lambda a, b, c: a / b),
    "powv": (2, lambda a, b, c: a ** b),
    "add_self": (1, lambda a, b, c: a + a),
    "sub_self": (1, lambda a, b, c: a - a),
    "mul_self": (1, lambda a, b, c: a * a),
    "div_self": (1, lambda a, b, c: a / a),
    "pow_self": (1, lambda a, b, c: a ** a),
    "neg": (1, lambda a, b, c: -a),
    "relu": (1, lambda a, b, c: a.relu()),
    "tanh": (1, lambda a, b, c: a.tanh()),
    "exp": (1, lambda a, b, c: a.exp()),
    "log": (1, lambda a, b, c: a.log()),
    "sigmoid": (1, lambda a, b, c: a.sigmoid()),
    "pow_c": (1, lambda a, b, c: a ** c),
    "add_s": (1, lambda a, b, c: a + c),
    "radd_s": (1, lambda a, b, c: c + a),
    "sub_s": (1, lambda a, b, c: a - c),
    "rsub_s": (1, lambda a, b, c: c - a),
    "mul_s": (1, lambda a, b, c: a * c),
    "rmul_s": (1, lambda a, b, c: c * a),
    "div_s": (1, lambda a, b, c: a / c),
    "rdiv_s": (1, lambda a, b, c: c / a),
    "rpow_s": (1, lambda a, b, c: c ** a),
    "max": (2, lambda a, b, c: a.max(b)),
    "max_s": (1, lambda a, b, c: a.max(c)),
    "detach": (1, lambda a, b, c: a.detach() * a),
    "sin": (1, lambda a, b, c: a.sin()),
    "cos": (1, lambda a, b, c: a.cos()),
    "py_tanh": (1, lambda a, b, c: py_tanh(a)),
    "py_mul": (2, lambda a, b, c: py_mul(a, b)),
    "py_exp": (1, lambda a, b, c: py_exp(a)),
}

# The ops written in Python (above), and those made by the engines.
PYTHON_OPS = ["py_tanh", "py_mul", "py_exp"]
ENGINE_OPS = [op for op in OPS if op not in PYTHON_OPS]

# The ops of the original micrograd 0.1.0 (no tanh/exp/log/sigmoid, no
# Value ** Value, no number ** Value).
ORIGINAL_OPS = [
    "add", "sub", "mul", "div", "add_self", "sub_self", "mul_self", "div_self",
    "neg", "relu", "pow_c", "add_s", "radd_s", "sub_s", "rsub_s", "mul_s",
    "rmul_s", "div_s", "rdiv_s",
]

# Number operands: ints and floats, exact and inexact.
NUMBERS = [2, 3, -1, 0, 1, 0.5, -2.5, 0.1, 1.5, 7.25]
EXPONENTS = [2, 3, -1, -2, 0, 1, 0.5, 1.5, -0.5, 2.0, 3.0]
BASES = [0.5, 2, 3, 1.5, 0.1]  # number ** Value

LIMIT = 1e6  # largest magnitude a safe node may have
TINY = 1e-2  # smallest magnitude of a divisor or negative-power base


def _is_integer(c):
    return float(c) == math.floor(c)


def _ok(op, x, y, c):
    """May ``op`` run at operand values x, y and number c (all plain floats)?"""
    if op in ("div",):
        return abs(y) > TINY
    if op in ("div_self", "rdiv_s"):
        return abs(x) > TINY
    if op == "div_s":
        return c != 0
    if op in ("exp", "py_exp", "py_tanh"):
        return x < 30
    if op == "log":
        return x > 1e-3
    if op == "pow_c":
        if not _is_integer(c) and x <= TINY:
            return False
        if c <= 0 and abs(x) <= TINY:
            return False
        return True
    if op == "powv":
        return x > TINY and abs(y) <= 8 and abs(y * math.log(x)) < 30
    if op == "pow_self":
        return x > TINY and abs(x * math.log(x)) < 30
    if op == "rpow_s":
        return abs(x * math.log(c)) < 30
    return True


def _float_eval(op, x, y, c):
    """Plain-float value of a step, None where the op is not defined."""
    try:
        out = OPS[op][1](_F(x), _F(y), c).x
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return out if isinstance(out, float) and math.isfinite(out) else None


class _F:
    """A float with the op methods, for checking a program's safety cheaply
    (also as the Value of the Python-written ops, which only read data)."""

    __slots__ = ("x", "_backward")

    def __init__(self, x, _children=(), _op=""):
        self.x = float(x)

    @property
    def data(self):
        return self.x

    def __add__(self, o):
        return _F(self.x + _x(o))

    __radd__ = __add__

    def __sub__(self, o):
        return _F(self.x - _x(o))

    def __rsub__(self, o):
        return _F(_x(o) - self.x)

    def __mul__(self, o):
        return _F(self.x * _x(o))

    __rmul__ = __mul__

    def __truediv__(self, o):
        return _F(self.x / _x(o))

    def __rtruediv__(self, o):
        return _F(_x(o) / self.x)

    def __pow__(self, o):
        r = self.x ** _x(o)
        if isinstance(r, complex):
            raise ValueError
        return _F(r)

    def __rpow__(self, o):
        return _F(_x(o) ** self.x)

    def __neg__(self):
        return _F(-self.x)

    def relu(self):
        return _F(0.0 if self.x < 0 else self.x)

    def tanh(self):
        return _F(math.tanh(self.x))

    def exp(self):
        return _F(math.exp(self.x))

    def log(self):
        return _F(math.log(self.x))

    def sin(self):
        return _F(math.sin(self.x))

    def max(self, o):
        return _F(max(self.x, _x(o)))

    def detach(self):
        return _F(self.x)

    def cos(self):
        return _F(math.cos(self.x))

    def sigmoid(self):
        return _F(1.0 / (1.0 + math.exp(-self.x)) if self.x >= 0 else
                  math.exp(self.x) / (1.0 + math.exp(self.x)))


def _x(o):
    return o.x if isinstance(o, _F) else float(o)


def make_safe(leaves, raw_steps, ops):
    """Resolve raw steps into a safe program over ``ops``.

    Raw operand indices count back from the newest node, modulo the number of
    nodes so far (so they are always valid and favour deep graphs).
    """
    values = [float(v) for v in leaves]
    steps = []
    fallback = "tanh" if "tanh" in ops else "relu"  # defined everywhere, no larger than x
    for op_index, back_i, back_j, c_index in raw_steps:
        op = ops[op_index % len(ops)]
        n = len(values)
        i, j = n - 1 - back_i % n, n - 1 - back_j % n
        c = (EXPONENTS if op == "pow_c" else BASES if op == "rpow_s" else NUMBERS)[
            c_index % len(EXPONENTS if op == "pow_c" else BASES if op == "rpow_s" else NUMBERS)]
        x, y = values[i], values[j]
        out = _float_eval(op, x, y, c) if _ok(op, x, y, c) else None
        if out is None or abs(out) > LIMIT:
            op, out = fallback, _float_eval(fallback, x, y, c)
        steps.append((op, i, j, c))
        values.append(out)
    return list(leaves), steps


leaf_values = st.one_of(
    st.floats(-3.0, 3.0, allow_nan=False, allow_subnormal=False),
    st.integers(-3, 3),
    st.sampled_from([0.0, -0.0, 1.0, 0.5]),
)


@st.composite
def programs(draw, ops=tuple(OPS), max_leaves=4, max_steps=14):
    """A safe program (leaves, steps) over the given op names."""
    ops = list(ops)
    leaves = draw(st.lists(leaf_values, min_size=1, max_size=max_leaves))
    raw = draw(st.lists(
        st.tuples(st.integers(0, len(ops) - 1), st.integers(0, 7), st.integers(0, 7),
                  st.integers(0, 63)),
        min_size=1, max_size=max_steps))
    return make_safe(leaves, raw, ops)


def run(program, Value):
    """Build the program's graph with ``Value``; return all its nodes, root last."""
    leaves, steps = program
    nodes = [Value(v) for v in leaves]
    for op, i, j, c in steps:
        nodes.append(OPS[op][1](nodes[i], nodes[j], c))
    return nodes


def run_torch(program, torch):
    """The program on float64 PyTorch tensors; returns (values, grads) of all nodes."""
    leaves, steps = program
    nodes = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in leaves]
    for op, i, j, c in steps:
        a, b = nodes[i], nodes[j]
        if op == "relu":
            t = torch.relu(a)
        elif op == "tanh":
            t = torch.tanh(a)
        elif op == "py_tanh":           # the lecture's formula, as py_tanh computes it
            e = torch.exp(2 * a)
            t = (e - 1) / (e + 1)
        elif op in ("exp", "py_exp"):
            t = torch.exp(a)
        elif op == "py_mul":
            t = a * b
        elif op == "max":
            t = torch.where(b > a, b, a)
        elif op == "max_s":
            t = torch.where(float(c) > a, torch.tensor(float(c), dtype=torch.float64), a)
        elif op == "detach":
            t = a.detach() * a
        elif op == "sin":
            t = torch.sin(a)
        elif op == "cos":
            t = torch.cos(a)
        elif op == "log":
            t = torch.log(a)
        elif op == "sigmoid":
            t = torch.sigmoid(a)
        else:  # arithmetic: the same Python expression as for Values
            t = OPS[op][1](a, b, float(c))
        t.retain_grad()
        nodes.append(t)
    nodes[-1].backward()
    values = [t.item() for t in nodes]
    grads = [0.0 if t.grad is None else t.grad.item() for t in nodes]
    return values, grads


def readme_example(Value):
    """The original micrograd README example; returns (a, b, g) after g.backward()."""
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return a, b, g
