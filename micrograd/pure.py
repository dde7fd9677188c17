"""A pure-Python scalar autograd engine with the same API as the compiled one.

`micrograd.pure.Value` behaves like `micrograd.engine.Value`: the same ops,
the same decomposition of compound ops, the same forward formulas and local
gradient formulas, the same errors and the same ``_op`` strings.  Its forward
values are bit-for-bit those of the original micrograd 0.1.0 and of the
compiled core.  It exists as

- the independent oracle the tests compare the compiled core against,
- the pure-Python baseline in the benchmarks,
- the ``--compare`` engine of the demo.

Unlike the original, a node holds no closure: it stores its children, an op
record from the table below and, for ``x ** c``, the constant.  Graphs are
therefore acyclic object graphs that reference counting frees at once, and
``backward()`` sorts the graph iteratively, so million-deep chains work.

Example::

    >>> from micrograd.pure import Value
    >>> a, b = Value(-4.0), Value(2.0)
    >>> c = (a * b + b ** 3).relu()
    >>> c.backward()
    >>> c.data, a.grad, b.grad
    (0.0, 0.0, 0.0)
    >>> d = a.tanh() * b
    >>> d.backward()
    >>> round(b.grad, 6)
    -0.999329
"""

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, TypeVar

_T = TypeVar("_T")

__all__ = ["Value", "take"]


def take(values: Sequence[_T], i: int) -> _T:
    """``values[i]`` (the compiled engine's ``take`` also records it)."""
    return values[i]


def _is_number(x: object) -> bool:
    """True for the operands that become leaves: any real number that is not a Value.

    That is int, float, bool and anything registered as ``numbers.Real``
    (Fraction, numpy scalars); not complex numbers, strings, None, sequences
    or numpy arrays.
    """
    return isinstance(x, numbers.Real) and not isinstance(x, Value)


def _as_number(x: Any, what: str = "Value data") -> int | float:
    """``x`` as micrograd holds it: an int (from int, bool and other
    integers) or a float, or a TypeError naming its type."""
    if type(x) is float or type(x) is int:
        return x
    if isinstance(x, numbers.Integral) and not isinstance(x, Value):
        return int(x)
    if _is_number(x):
        return float(x)
    raise TypeError(
        f"{what} must be a real number (int, float, bool or a numpy scalar), "
        f"not {type(x).__name__!r}"
    )


def _is_odd_integer(y: float) -> bool:
    return math.fmod(math.fabs(y), 2.0) == 1.0


def _pow(x: float, y: float) -> float:
    """``x ** y`` with Python float semantics, but a real-valued result.

    Python turns a negative base with a fractional exponent into a complex
    number; here that is a ValueError, as ``math.pow`` gives it.
    ``0.0 ** -1`` raises ZeroDivisionError and an overflow OverflowError.
    """
    out: float | complex = x ** y
    if isinstance(out, complex):
        raise ValueError("math domain error")
    return out


def _c_pow(x: float, y: float) -> float:
    """``x ** y`` as C's ``pow()`` gives it: inf or nan instead of an error.

    Used in backward passes, where the compiled core computes local gradients
    in C and never raises (e.g. the gradient of ``x ** 0.5`` at 0 is inf).
    """
    try:
        out = x ** y
    except ZeroDivisionError:  # 0.0 ** negative
        return math.copysign(math.inf, x) if _is_odd_integer(y) else math.inf
    except OverflowError:
        return -math.inf if (x < 0 and _is_odd_integer(y)) else math.inf
    return math.nan if type(out) is complex else out


def _c_div(a: float, b: float) -> float:
    """``a / b`` as C divides: inf or nan for b == 0 instead of an error."""
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0.0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _sigmoid(x: float) -> float:
    # Two branches so that exp() never overflows.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _power_grad(x: float, c: float, g: float) -> float:
    # d(x**c)/dx = c * x**(c-1), and 0 for c == 0 (a constant), as PyTorch.
    if c == 0:
        return 0.0
    return (c * _c_pow(x, c - 1)) * g


def _pow_exponent_grad(x: float, y: float, out: float, g: float) -> float:
    # d(x**y)/dy = x**y * log(x); defined for x > 0, and 0 at x == 0 when
    # y >= 0 (the limit from the right); nan elsewhere.
    if x > 0:
        local = out * math.log(x)
    elif x == 0 and y >= 0:
        local = 0.0
    else:
        local = math.nan
    return local * g


class _Op(NamedTuple):
    """One row of the op table: an op's ``_op`` string, forward and backward.

    ``forward(x, y)`` gives the output's data from the operands' data; ``y``
    is the second child's data, the constant of ``x ** c``, or None for a
    unary op.  ``backward(x, y, out, g)`` gives the local contribution to each
    child's grad, in child order, where ``out`` is the output's data and ``g``
    the output's grad.
    """

    name: str
    forward: Callable[[Any, Any], Any]
    backward: Optional[Callable[[Any, Any, Any, Any], tuple[Any, ...]]]


# The op table: each op's forward and local gradient, side by side.
# g is out.grad; the tuples are added (+=) to the children's grads in order.
# ('**c' is x ** c for a number c; its nodes show the exponent: '**2'.)
#            _op         forward(x, y)                      backward(x, y, out, g) -> child grads
_ADD = _Op("+",       lambda x, y: x + y,                lambda x, y, out, g: (g, g))
_MUL = _Op("*",       lambda x, y: x * y,                lambda x, y, out, g: (y * g, x * g))
_POW_CONST = _Op("**c", _pow,                            lambda x, c, out, g: (_power_grad(x, c, g),))
_POW = _Op("**",      _pow,                              lambda x, y, out, g: (_power_grad(x, y, g),
                                                                               _pow_exponent_grad(x, y, out, g)))
_RELU = _Op("ReLU",   lambda x, _: 0 if x < 0 else x,    lambda x, _, out, g: ((out > 0) * g,))
_TANH = _Op("tanh",   lambda x, _: math.tanh(x),         lambda x, _, out, g: ((1 - out * out) * g,))
_EXP = _Op("exp",     lambda x, _: math.exp(x),          lambda x, _, out, g: (out * g,))
_LOG = _Op("log",     lambda x, _: math.log(x),          lambda x, _, out, g: (_c_div(g, x),))
_SIGMOID = _Op("sigmoid", lambda x, _: _sigmoid(x),      lambda x, _, out, g: ((out * (1.0 - out)) * g,))
_MAX = _Op("max",     lambda x, y: y if y > x else x,   lambda x, y, out, g: ((0.0 if y > x else g),
                                                                               (g if y > x else 0.0)))
_DETACH = _Op("detach", lambda x, _: x,                 None)   # no gradient flows through
_SIN = _Op("sin",     lambda x, _: math.sin(x),          lambda x, _, out, g: (math.cos(x) * g,))
_COS = _Op("cos",     lambda x, _: math.cos(x),          lambda x, _, out, g: (-math.sin(x) * g,))

# The unary ops by method name (each becomes a method of Value, below).
_UNARY = {"relu": _RELU, "tanh": _TANH, "exp": _EXP, "log": _LOG,
          "sigmoid": _SIGMOID, "sin": _SIN, "cos": _COS, "detach": _DETACH}


class Value:
    """A scalar in a computation graph: its data, its gradient and its origin.

    ``Value(data, _children=(), _op='', label='')``; ``data`` is any real
    number, kept as an int or a float as the original keeps it.
    ``_children`` and ``_op`` are there for compatibility with the original
    micrograd: a Value built by hand with children is a node that
    ``backward()`` walks through but does not differentiate, unless it is
    given a ``_backward`` closure (an op written in Python).

    Supports ``+ - * / **`` (with Values or real numbers on either side),
    unary ``-``, and ``relu``, ``tanh``, ``exp``, ``log``, ``sigmoid``,
    ``sin``, ``cos``.
    Equality and hashing are by identity.

    >>> x = Value(3.0)
    >>> y = x * x + 1
    >>> y.backward()
    >>> y, x.grad
    (Value(data=10.0, grad=1), 6.0)
    """

    __slots__ = ("_data", "_grad", "_children", "_kind", "_const", "_op", "label",
                 "_py_backward")
    _data: int | float
    _grad: int | float
    _children: tuple["Value", ...]
    _kind: Optional[_Op]
    _const: Optional[float]
    _op: str
    label: str
    _py_backward: Optional[Callable[[], None]]

    def __init__(self, data: float, _children: Iterable["Value"] = (), _op: str = "",
                 label: str = "") -> None:
        data = _as_number(data)
        children = tuple(_children)
        for child in children:
            if not isinstance(child, Value):
                raise TypeError(f"_children must be Values, not {type(child).__name__!r}")
        if not isinstance(_op, str) or not isinstance(label, str):
            raise TypeError("_op and label must be strings")
        self._data = data
        self._grad = 0
        self._children = children
        self._kind = None  # hand-built nodes have no backward rule
        self._const = None
        self._op = _op
        self.label = label
        self._py_backward = None

    @classmethod
    def _node(cls, data: float, children: tuple["Value", ...], kind: Optional[_Op],
              const: Optional[float] = None, op: Optional[str] = None) -> "Value":
        # Allocation path for op results: no validation, operands are known.
        out = cls.__new__(cls)
        out._data = data
        out._grad = 0
        out._children = children
        out._kind = kind
        out._const = const
        out._op = op if op is not None else kind.name if kind is not None else ""
        out.label = ""
        out._py_backward = None
        return out

    def _apply(self, kind: _Op, other: Optional["Value"] = None) -> "Value":
        # Forward one op; the node is created only once forward succeeded.
        if other is None:
            return Value._node(kind.forward(self._data, None), (self,), kind)
        return Value._node(kind.forward(self._data, other._data), (self, other), kind)

    @staticmethod
    def _leaf(x: float) -> "Value":
        # A plain number operand becomes a leaf Value.
        return Value._node(_as_number(x), (), None, op="")

    # --- data and grad ----------------------------------------------------

    @property
    def data(self) -> int | float:
        """The scalar value (an int or a float); assignable with any real number."""
        return self._data

    @data.setter
    def data(self, value: float) -> None:
        self._data = _as_number(value, "data")

    @property
    def grad(self) -> int | float:
        """d(root)/d(self) accumulated by ``backward()``; assignable."""
        return self._grad

    @grad.setter
    def grad(self, value: float) -> None:
        self._grad = _as_number(value, "grad")

    @property
    def _prev(self) -> set["Value"]:
        """The set of child Values this node was computed from."""
        return set(self._children)

    # --- primitive ops ----------------------------------------------------
    # A binary op's other operand is a Value or a real number (made a leaf);
    # anything else gives NotImplemented, so Python raises the TypeError.

    def __add__(self, other: "Value | float") -> "Value":
        """``self + other``."""
        if isinstance(other, Value):
            return self._apply(_ADD, other)
        if _is_number(other):
            return self._apply(_ADD, Value._leaf(other))
        return NotImplemented

    def __mul__(self, other: "Value | float") -> "Value":
        """``self * other``."""
        if isinstance(other, Value):
            return self._apply(_MUL, other)
        if _is_number(other):
            return self._apply(_MUL, Value._leaf(other))
        return NotImplemented

    def max(self, other: "Value | float") -> "Value":
        """The larger of self and other, as Python's ``max(self, other)``
        picks it; the gradient goes to the one picked."""
        if isinstance(other, Value):
            return self._apply(_MAX, other)
        if _is_number(other):
            return self._apply(_MAX, Value._leaf(other))
        raise TypeError(f"max() of a Value and a {type(other).__name__!r}")

    def __pow__(self, other: "Value | float") -> "Value":
        """``self ** other``: a real exponent c gives ``'**c'``, a Value ``'**'``."""
        if isinstance(other, Value):
            return self._apply(_POW, other)
        if not _is_number(other):
            return NotImplemented
        c = _as_number(other)
        out = _pow(self._data, c)
        # The original formats the exponent as given: '**2', '**-1', '**0.5'.
        op = f"**{int(other)}" if isinstance(other, numbers.Integral) else f"**{c}"
        return Value._node(out, (self,), _POW_CONST, const=c, op=op)

    # --- compound ops, decomposed exactly as the original micrograd --------

    def __neg__(self) -> "Value":
        """``-self``, computed as ``self * -1``."""
        return self * -1

    def __radd__(self, other: float) -> "Value":
        """``other + self``, computed as ``self + other``."""
        return self.__add__(other)

    def __sub__(self, other: "Value | float") -> "Value":
        """``self - other``, computed as ``self + (-other)``.

        A number is negated as Python negates it (so ``-0`` is ``+0.0``).
        """
        if isinstance(other, Value):
            return self + (-other)
        if not _is_number(other):
            return NotImplemented
        return self + _as_number(-other)

    def __rsub__(self, other: float) -> "Value":
        """``other - self``, computed as ``other + (-self)``."""
        if not _is_number(other):
            return NotImplemented
        return other + (-self)

    def __rmul__(self, other: float) -> "Value":
        """``other * self``, computed as ``self * other``."""
        return self.__mul__(other)

    def __truediv__(self, other: "Value | float") -> "Value":
        """``self / other``, computed as ``self * other**-1``.

        A number's ``other**-1`` is computed by Python (``1 / 0`` raises
        ZeroDivisionError) in the number's own type, as the original does.
        """
        if isinstance(other, Value):
            return self * other ** -1
        if not _is_number(other):
            return NotImplemented
        return self * _as_number(other ** -1)

    def __rtruediv__(self, other: float) -> "Value":
        """``other / self``, computed as ``other * self**-1``."""
        if not _is_number(other):
            return NotImplemented
        return other * self ** -1

    def __rpow__(self, other: float) -> "Value":
        """``other ** self``, computed as ``Value(other) ** self``."""
        if not _is_number(other):
            return NotImplemented
        return Value._leaf(other) ** self

    # --- autograd -----------------------------------------------------------

    def _topological_order(self) -> list["Value"]:
        """Nodes reachable from self, children before parents (iterative DFS).

        The order is the post-order of a depth-first search that visits the
        children in order, as the original's recursive ``build_topo``.
        """
        order = []
        visited = {self}
        stack = [(self, iter(self._children))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in visited:
                    visited.add(child)
                    stack.append((child, iter(child._children)))
                    break
            else:
                stack.pop()
                order.append(node)
        return order

    @property
    def _backward(self) -> Callable[[], None]:
        """Apply this node's local chain rule once, as the original's closure:
        its own closure if it was given one, else its op's row (nothing for
        a leaf or a hand-built node)."""
        if self._py_backward is not None:
            return self._py_backward
        return lambda: _chain_rule(self)

    @_backward.setter
    def _backward(self, fn: Callable[[], None]) -> None:
        self._py_backward = fn

    def backward(self) -> None:
        """Set ``self.grad`` to 1 and accumulate (+=) d(self)/d(node) into every node.

        Grads are not zeroed first: call ``zero_grad`` (or set ``.grad = 0``)
        between passes, as with the original micrograd.
        """
        order = self._topological_order()
        self._grad = 1
        for node in reversed(order):
            if node._py_backward is not None:
                node._py_backward()
            elif node._kind is not None:
                _chain_rule(node)

    def __repr__(self) -> str:
        """``Value(data=..., grad=...)``, as the original prints it."""
        return f"Value(data={self._data}, grad={self._grad})"

    if TYPE_CHECKING:
        # The unary ops, set on the class from _UNARY below.
        def relu(self) -> "Value": ...
        def tanh(self) -> "Value": ...
        def exp(self) -> "Value": ...
        def log(self) -> "Value": ...
        def sigmoid(self) -> "Value": ...
        def sin(self) -> "Value": ...
        def cos(self) -> "Value": ...
        def detach(self) -> "Value": ...


def _chain_rule(node: Value) -> None:
    # out -> children: child.grad += local derivative * out.grad, in child order.
    kind = node._kind
    if kind is None or kind.backward is None:
        return
    children = node._children
    y = children[1]._data if len(children) == 2 else node._const
    grads = kind.backward(children[0]._data, y, node._data, node._grad)
    for child, d in zip(children, grads):
        child._grad += d


def _unary_method(name: str, kind: _Op) -> Callable[[Value], Value]:
    def method(self: Value) -> Value:
        return self._apply(kind)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"x.{name}(): a new Value, the op {kind.name!r} applied to x."
    return method


for _name, _kind in _UNARY.items():
    setattr(Value, _name, _unary_method(_name, _kind))
