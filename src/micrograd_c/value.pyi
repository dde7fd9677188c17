"""Type stubs of micrograd_c.value: the `Value` handle, `Index` and `take`.

Operands typed ``float`` take ints and bools too (a ``float`` annotation
accepts an ``int``); at run time numpy scalars and other ``numbers.Real``
are accepted as well. ``data`` and ``grad`` are ``int | float``: ints stay
ints where Python's arithmetic keeps them (``Value(2) * 3`` holds ``6``).
"""

from collections.abc import Callable, Iterable, Sequence
from typing import SupportsIndex, TypeVar, overload

from typing_extensions import disjoint_base

_T = TypeVar("_T")

@disjoint_base
class Value:
    """A scalar and its gradient: a node of the autograd graph
    (``micrograd.engine.Value``)."""

    label: str
    """The node's name in graph pictures ('' if it has none)."""

    def __init__(
        self,
        data: float,
        _children: Iterable[Value] = (),
        _op: str = "",
        label: str = "",
    ) -> None: ...

    @property
    def data(self) -> int | float:
        """The scalar this node holds (an int or a float, as micrograd's)."""
    @data.setter
    def data(self, value: float) -> None: ...
    @property
    def grad(self) -> int | float:
        """d(root)/d(this node), accumulated by backward() (an int until a
        float is added, as micrograd's)."""
    @grad.setter
    def grad(self, value: float) -> None: ...
    @property
    def _op(self) -> str:
        """The op that produced this node: '', '+', '*', '**2', 'ReLU', ..."""
    @_op.setter
    def _op(self, value: str) -> None: ...
    @property
    def _prev(self) -> set[Value]:
        """The set of this node's children."""
    @_prev.setter
    def _prev(self, children: Iterable[Value]) -> None: ...
    @property
    def _backward(self) -> Callable[[], None]:
        """Apply this node's local chain rule once: a closure given to it
        (an op written in Python), else its op's row."""
    @_backward.setter
    def _backward(self, fn: Callable[[], object]) -> None: ...
    @_backward.deleter
    def _backward(self) -> None: ...
    def _chain_rule(self) -> None:
        """The op's local chain rule, applied once (the default `_backward`)."""

    def backward(self) -> None:
        """Set this node's grad to 1 and accumulate d(self)/d(node) into the
        grad of every node it depends on. Grads are not zeroed first."""

    # arithmetic, decomposed as micrograd's (a - b is a + (-b), a / b is a * b**-1)
    def __add__(self, other: Value | float, /) -> Value: ...
    def __radd__(self, other: float, /) -> Value: ...
    def __sub__(self, other: Value | float, /) -> Value: ...
    def __rsub__(self, other: float, /) -> Value: ...
    def __mul__(self, other: Value | float, /) -> Value: ...
    def __rmul__(self, other: float, /) -> Value: ...
    def __truediv__(self, other: Value | float, /) -> Value: ...
    def __rtruediv__(self, other: float, /) -> Value: ...
    def __pow__(self, other: Value | float, mod: None = None, /) -> Value: ...
    def __rpow__(self, other: float, mod: None = None, /) -> Value: ...
    def __neg__(self) -> Value: ...

    def max(self, other: Value | float) -> Value:
        """The larger of self and other, as Python's ``max(self, other)``
        picks it (self on a tie); its gradient goes to the one picked."""

    # the unary ops of the op table (ops.h)
    def relu(self) -> Value:
        """max(0, x), '_op' 'ReLU'."""
    def tanh(self) -> Value:
        """math.tanh(x)."""
    def exp(self) -> Value:
        """math.exp(x) (OverflowError as math.exp)."""
    def log(self) -> Value:
        """math.log(x) (ValueError for x <= 0, as math.log)."""
    def sigmoid(self) -> Value:
        """1 / (1 + exp(-x))."""
    def sin(self) -> Value:
        """math.sin(x)."""
    def cos(self) -> Value:
        """math.cos(x)."""
    def detach(self) -> Value:
        """x's value, through which no gradient flows."""

@disjoint_base
class Index:
    """An int argument of a compiled function that selects Values (an
    index input, ``micrograd.compile(..., index_inputs=...)``); only
    ``take`` reads it. Used as an int it raises TypeError, so it has no
    ``__index__`` here."""

    def __init__(self, value: int, leaf: Value | None = None) -> None: ...
    @property
    def value(self) -> int:
        """The int."""
    @property
    def leaf(self) -> Value | None:
        """The recording's input that holds it, or None."""

@overload
def take(values: Sequence[Value], i: SupportsIndex | Index) -> Value: ...
@overload
def take(values: Sequence[list[Value]], i: SupportsIndex | Index) -> list[Value]: ...
@overload
def take(values: Sequence[Sequence[Value]], i: SupportsIndex | Index) -> Sequence[Value]: ...
@overload
def take(values: Sequence[_T], i: SupportsIndex | Index) -> _T:
    """``values[i]``; with an index input of a compiled function, a
    selection the recording replays with each call's index (a row of an
    embedding table comes back as a list)."""

def set_recorded_read_hook(fn: Callable[[], object] | None) -> None:
    """Call fn() whenever the data of a node of the recording in progress
    is read."""
