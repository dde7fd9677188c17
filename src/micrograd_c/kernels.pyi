"""Type stubs of micrograd_c.kernels: fused dot products and layers."""

from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias, overload

from typing_extensions import disjoint_base

from micrograd_c.value import Value

UNARY: dict[str, int]
"""The table's unary ops by Value method name (activation codes)."""

# With a Value start the result is a Value; without one, empty operands
# give the start (or 0), as sum() does, and numbers only give a number.
@overload
def dot(
    ws: Iterable[Value | float],
    xs: Iterable[Value | float],
    start: Value,
    *,
    strict: bool = True,
) -> Value: ...
@overload
def dot(
    ws: Iterable[float],
    xs: Iterable[float],
    start: float | None = None,
    *,
    strict: bool = True,
) -> float: ...
@overload
def dot(
    ws: Iterable[Value | float],
    xs: Iterable[Value | float],
    start: Value | float | None = None,
    *,
    strict: bool = True,
) -> Value | float:
    """``sum((w * x for w, x in zip(ws, xs)), start)`` in one C call (the
    same nodes); ``strict``: ws and xs must have the same length."""

_Rows: TypeAlias = list[list[Value]] | list[tuple[Value, ...]] | list[Sequence[Value]]
_Layer: TypeAlias = tuple[_Rows, list[Value], list[int]]

@disjoint_base
class Stack:
    """Layers applied to x in turn, in one C call: each layer is
    ``(rows, biases, acts)``, a row of weights, a bias and an activation
    code (``UNARY[name]`` or -1) per neuron."""

    def __init__(self, layers: Iterable[_Layer], watched: Iterable[list[Any]] = ()) -> None: ...
    def __call__(self, x: Sequence[Value | float]) -> list[Value] | None:
        """The last layer's outputs, or None (nothing built) when the
        kernel cannot give exactly what the layers' Python code gives."""

def dense_stack(layers: Iterable[_Layer], x: Sequence[Value | float]) -> list[Value] | None:
    """``Stack(layers)(x)``."""

def dense(
    rows: _Rows,
    biases: list[Value],
    acts: list[int],
    x: Sequence[Value | float],
) -> list[Value] | None:
    """One layer: ``Stack([(rows, biases, acts)])(x)``."""
