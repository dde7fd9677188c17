"""Type stubs of micrograd_c.tape: capture and replay."""

from array import array
from collections.abc import Iterable
from typing import Any, TypeAlias

from typing_extensions import Buffer, disjoint_base

from micrograd_c.value import Value

_ChildRef: TypeAlias = tuple[str, int]
_NodeSignature: TypeAlias = tuple[int, bool, float | None, tuple[_ChildRef, ...]]

@disjoint_base
class Tape:
    """A recording of the nodes one run of some code created: set_inputs(),
    start(), run the code, stop() (or abort()); then replay() and
    backward() any number of times."""

    @property
    def python_op(self) -> str | None:
        """The `_op` of a recorded node made in Python (the recording then
        cannot be replayed), or None."""
    @property
    def size(self) -> int:
        """Number of recorded nodes."""
    @property
    def n_inputs(self) -> int:
        """Number of input leaves."""
    @property
    def elided(self) -> int:
        """How many recorded nodes a replay leaves unwritten until they can
        be seen (the links of dot chains), 0 if it writes every node."""
    def write_every_node(self) -> None:
        """Stop eliding: every replay writes every recorded node."""
    def set_inputs(self, values: Iterable[Value]) -> None:
        """Pin the input leaves (Values made before start())."""
    def start(self) -> None:
        """Start recording every node this thread creates."""
    def abort(self) -> None:
        """Stop recording and unpin everything recorded."""
    def stop(self, outputs: Iterable[Value] | None = None) -> None:
        """Stop recording; with outputs, keep only the nodes they depend on."""
    def replay(self, xs: Buffer) -> None:
        """Write xs (doubles: an array('d'), a float64 numpy array) into the
        input leaves and recompute every recorded node."""
    def register_root(self, v: Value) -> bool:
        """Make ``v.backward()`` use this tape's recorded order, if v is a
        node it recorded (returns whether it is)."""
    def register_roots(self, values: Iterable[object]) -> int:
        """register_root for each Value of values; returns how many were
        registered."""
    def backward(self, root: Value) -> None:
        """root.backward() over the recording."""
    def signature(self, constants: bool = False) -> list[_NodeSignature]:
        """The recorded graph, one tuple per node in creation order:
        (op code, int exponent?, exponent or constant, child refs)."""

def recording() -> bool:
    """Whether a recording is in progress (in any thread)."""

def recording_here() -> bool:
    """Whether this thread is recording now."""

def is_ndarray(x: object) -> bool:
    """Whether x is a numpy array (told without importing numpy)."""

def flatten(args: object, kwargs: dict[str, Any] | None) -> tuple[tuple[Any, ...], array[float]]:
    """(key, numbers) of a call: a hashable description of the arguments'
    structure, and their floats in order."""

def substitute(
    args: tuple[Any, ...], kwargs: dict[str, Any] | None, leaves: Iterable[Value]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """(args, kwargs) with the Values of leaves in the floats' places."""
