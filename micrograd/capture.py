"""Capture and replay: ``micrograd.compile`` (defined here).

A training step builds the same graph every time. ``compile`` records the
graph a function builds on its first call, then, on later calls with
arguments of the same structure, writes the new numbers into the recording
and re-runs its forward in C; ``backward()`` on a returned Value then sweeps
the recording in reverse, without a topological sort::

    import micrograd
    from micrograd.nn import MLP
    from micrograd.optim import SGD

    model = MLP(2, [16, 16, 1])
    opt = SGD(model.parameters(), lr=0.1)

    @micrograd.compile
    def step_loss(X, y):
        scores = [model(row) for row in X]       # X's floats arrive as Values
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        return sum(losses) * (1.0 / len(losses)), scores

    for k in range(100):
        loss, scores = step_loss(X, y)   # records once, then replays in C
        opt.zero_grad()
        loss.backward()
        opt.step()

What is recorded, and what is not:

- Arguments: every float (Python float, numpy float scalar, the items of a
  float numpy array) becomes an input leaf Value; inside the function the
  argument arrives with Values in its place (numpy arrays as nested lists).
  Everything else is *structure*: lengths and nesting, ints and bools (they
  usually choose graph wiring, such as embedding rows), strings, Values
  passed in. A call whose structure differs records again; up to
  ``cache_size`` recordings are kept (least recently used dropped).
- Values made outside the function (parameters) are read live at every
  replay, so in-place updates (``p.data -= ...``) take effect.
- Python code runs only while recording. A decision the function takes by
  reading ``.data`` (an ``if``, a ``max`` to shift a softmax) is baked in as
  it was at record time, as with ``torch.jit.trace``. A number computed from
  ``.data`` and used as a constant (a softmax's max-shift) keeps its recorded
  value: the results then agree with a dynamic run to rounding, not to the
  bit (for a max-shift the softmax is mathematically the same; a ``max``
  node, ``detach``-ed, recomputes at every replay instead). Numbers the
  function returns (not Values) are returned as recorded.
- Forward values replay bit for bit. ``backward()`` sweeps the recording in
  reverse creation order, where a dynamic run may take another topological
  order: a gradient that sums three or more contributions can then differ
  from a dynamic run's in the last bits (floating-point addition is not
  associative), about 1e-16 relative.
  ``compile(fn, check=True)`` runs the function dynamically at every call as
  well and raises ``RuntimeError`` if the graph it builds differs from the
  recording (``check="strict"`` also compares the constants).
- Replay reuses the recorded nodes: the returned Values are the same objects
  at every call, updated in place. Copy ``.data`` out to keep a value.
- A sum of products (``dot``, ``sum(w * x ...)``, a Neuron) replays in
  registers: its products and partial sums, which nothing else refers to,
  are left unwritten, most of a network's nodes. They are written before
  anything can see them: when one is reached through ``_prev``, when the
  data or grad of any computed node is set (by Python code or an optimizer;
  a parameter's, a leaf's, does not count), when a ``backward()`` other
  than the recording's first one after a replay runs or a ``_backward()``
  is called, when the recording is dropped. Their values are then those of
  the replay, even after an optimizer step. A recording one of whose
  unwritten nodes was reached through ``_prev`` writes every node from then
  on.
- Index inputs: ints that select Values, such as token ids, are inputs of
  the recording when their parameter is named in ``index_inputs`` and the
  function selects with ``micrograd.engine.take(values, i)`` (an embedding
  row, the target of a cross-entropy): a GPT step then replays across
  documents of one length. Inside the function such an int arrives as a
  ``micrograd.engine.Index``, which only ``take`` accepts (used as an int,
  it would be baked in, so that raises TypeError).
- Reading ``.data`` of a Value the function computes, or of an input,
  while it records warns (``TraceWarning``, once per compiled function,
  naming the line; not with ``check``, which compares every call): the
  number is baked into the recording.
- Calling a compiled function while another one records (in this thread,
  or, for a structure not yet recorded, in another) runs it as plain code.
- Ops written in Python (a node made with ``Value(data, _children, _op)``,
  or given a ``_backward``) compute in Python, which a replay cannot do: a
  function whose graph holds one runs as plain code for that structure,
  with a ``TraceWarning`` naming the op, the first time.

The recording pins its nodes; they are freed when the compiled function is
dropped, re-records an evicted structure, or ``cache_clear()`` is called.
"""

import functools
import inspect
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, Literal, ParamSpec, TypeVar, cast, overload

from micrograd.engine import Value
from micrograd_c.tape import Tape, flatten, recording, recording_here, substitute
from micrograd_c.value import Index, set_recorded_read_hook

__all__ = ["compile", "CompiledFunction", "TraceWarning", "Index"]

P = ParamSpec("P")
R = TypeVar("R")


class TraceWarning(UserWarning):
    """A compiled function does something a recording cannot replay
    faithfully (as ``torch.jit.TracerWarning``)."""


# The compiled function whose recording is in progress in this thread, and
# where it first read the data of a recorded node.
_recorder = threading.local()


def _on_recorded_read() -> None:
    """A node of the recording in progress had its data read (a Value made
    inside the function, or one of its inputs): the number read is baked
    into the recording. Keep the first place it happens, for the warning
    given when the recording ends."""
    fn = getattr(_recorder, "fn", None)
    if fn is None or fn._warned_read or fn.check or getattr(_recorder, "read", None):
        return
    frame = sys._getframe(1)
    _recorder.read = (frame.f_code.co_filename, frame.f_lineno, frame.f_globals)


def _warn_recorded_read(fn: "CompiledFunction[..., Any]",
                        read: tuple[str, int, dict[str, Any]]) -> None:
    """The TraceWarning for a read of recorded data, at the line that read it."""
    fn._warned_read = True
    filename, lineno, module_globals = read
    warnings.warn_explicit(
        f"compiled function {fn._name()!r} reads the data of a Value it computes "
        f"(or of an input) while it is recorded: the number is baked into the "
        f"recording, so replays with other inputs keep its branch or its value. "
        f"compile(..., check=True) checks every call; or leave the reading out "
        f"of the compiled function", TraceWarning, filename, lineno,
        module=module_globals.get("__name__"), module_globals=module_globals)


set_recorded_read_hook(_on_recorded_read)


def _as_indices(obj: Any) -> Any:
    """obj with every int (not bool) in it, through lists and tuples, an
    Index (an index input)."""
    t = type(obj)
    if t is int:
        return Index(obj)
    if t is list:
        return [_as_indices(x) for x in obj]
    if t is tuple:
        return tuple(_as_indices(x) for x in obj)
    return obj


def _positions(signature: inspect.Signature, names: tuple[str, ...]) -> tuple[int, ...] | None:
    """The positions of the parameters names in a positional call, in
    order, or None if one of them cannot be passed by position (or the
    function has ``*args`` before one)."""
    params = list(signature.parameters.values())
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    at: list[int] = []
    for name in names:
        k = next(k for k, p in enumerate(params) if p.name == name)
        if any(p.kind not in kinds for p in params[:k + 1]):
            return None
        at.append(k)
    return tuple(sorted(set(at)))


def _copy_out(out: Any) -> Any:
    """A fresh copy of the output containers (the Values are shared)."""
    t = type(out)
    if t is list:
        return [_copy_out(x) for x in out]
    if t is tuple:
        return tuple(_copy_out(x) for x in out)
    if t is dict:
        return {k: _copy_out(v) for k, v in out.items()}
    return out


def _values_in(out: Any) -> Iterator[Value]:
    t = type(out)
    if isinstance(out, Value):
        yield out
    elif t is list or t is tuple:
        for x in out:
            yield from _values_in(x)
    elif t is dict:
        for x in out.values():
            yield from _values_in(x)
    # anything else holds no Value that compile knows of


class _Recording:
    __slots__ = ("tape", "out", "keys")

    def __init__(self, tape: Tape | None, out: Any, keys: list[Value]) -> None:
        self.tape = tape    # None: this structure runs as plain code
        self.out = out
        self.keys = keys    # Values passed in: their ids are in the key


class CompiledFunction(Generic[P, R]):
    """A function whose graph is recorded once per argument structure and
    replayed in C afterwards. Made by ``micrograd.compile``; see the module
    documentation for what is recorded. It is called as the function is
    (``CompiledFunction[P, R]`` for a function of parameters ``P``
    returning ``R``).

    Attributes: ``check`` (False, True or "strict"), ``cache_size``,
    ``index_inputs``.
    """

    fn: Callable[P, R]
    check: bool | Literal["strict"]
    cache_size: int
    index_inputs: tuple[str, ...]

    def __init__(self, fn: Callable[P, R], check: bool | Literal["strict"] = False,
                 cache_size: int = 8, index_inputs: str | Iterable[str] = ()) -> None:
        if not callable(fn):
            raise TypeError(f"compile() needs a function, not {type(fn).__name__!r}")
        if check not in (False, True, "strict"):
            raise ValueError(f"check must be False, True or 'strict', got {check!r}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) \
                or cache_size < 1:
            raise ValueError(f"cache_size must be an int >= 1, got {cache_size!r}")
        if isinstance(index_inputs, str):
            index_inputs = (index_inputs,)
        index_inputs = tuple(index_inputs)
        self._signature: inspect.Signature | None = None
        self._index_positions: tuple[int, ...] | None = None
        if index_inputs:
            try:
                self._signature = inspect.signature(fn)
            except (TypeError, ValueError):
                raise TypeError(f"index_inputs needs a function with a signature, "
                                f"not {fn!r}") from None
            unknown = [n for n in index_inputs if n not in self._signature.parameters]
            if unknown:
                raise ValueError(f"index_inputs names no parameter of {fn!r}: "
                                 f"{', '.join(map(repr, unknown))}")
            self._index_positions = _positions(self._signature, index_inputs)
        self.fn = fn
        self.check = check
        self.cache_size = cache_size
        self.index_inputs = index_inputs
        self._cache: OrderedDict[tuple[Any, ...], _Recording] = OrderedDict()
        self._warned_read = False
        functools.update_wrapper(self, fn)

    def _mark_indices(self, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The call's arguments with the ints of the index inputs as Index objects."""
        assert self._signature is not None     # set when there are index inputs
        where = self._index_positions
        if not kwargs and where is not None and where[-1] < len(args):
            marked = list(args)         # the common call: binding would give the same
            for k in where:
                marked[k] = _as_indices(marked[k])
            return tuple(marked), kwargs
        bound = self._signature.bind(*args, **kwargs)
        for name in self.index_inputs:
            if name in bound.arguments:
                bound.arguments[name] = _as_indices(bound.arguments[name])
        return bound.args, bound.kwargs

    def __call__(self, *fn_args: P.args, **fn_kwargs: P.kwargs) -> R:
        args: tuple[Any, ...] = fn_args
        kwargs: dict[str, Any] = fn_kwargs
        if self.index_inputs:
            args, kwargs = self._mark_indices(args, kwargs)
        key, xs = flatten(args, kwargs)
        rec = None if recording_here() else self._cache.get(key)
        if rec is None:
            if recording():
                # Inside another recording (this one's nodes belong to it),
                # or another thread is recording: one recording at a time.
                return self._run_dynamic(args, kwargs, xs)
            rec, out = self._record(key, args, kwargs, xs)
            return out if rec.tape is None else cast(R, _copy_out(rec.out))
        self._cache.move_to_end(key)
        if rec.tape is None:
            return self._run_dynamic(args, kwargs, xs)
        rec.tape.replay(xs)
        if self.check:
            self._check(rec, args, kwargs, xs)
        return cast(R, _copy_out(rec.out))

    def _run_dynamic(self, args: tuple[Any, ...], kwargs: dict[str, Any], xs: Iterable[float],
                     inputs: list[Value] | None = None) -> R:
        """fn run as plain code, with Values made from xs as its floats."""
        args, kwargs = substitute(args, kwargs,
                                  inputs if inputs is not None else [Value(x) for x in xs])
        return self.fn(*args, **kwargs)

    def _run_recorded(self, args: tuple[Any, ...], kwargs: dict[str, Any],
                      xs: Iterable[float]) -> tuple[Tape, R]:
        """Run fn on Values made from xs, recording; return (tape, out)."""
        inputs = [Value(x) for x in xs]
        tape = Tape()
        tape.set_inputs(inputs)
        tape.start()
        _recorder.fn, _recorder.read = self, None
        try:
            out = self._run_dynamic(args, kwargs, xs, inputs)
        except BaseException:
            tape.abort()
            raise
        finally:
            _recorder.fn = None
        tape.stop(list(_values_in(out)))     # what the outputs depend on, only
        return tape, out

    def _record(self, key: tuple[Any, ...], args: tuple[Any, ...], kwargs: dict[str, Any],
                xs: Iterable[float]) -> tuple[_Recording, R]:
        """Record fn for this structure; (the cache entry, fn's result)."""
        tape, out = self._run_recorded(args, kwargs, xs)
        keys = [v for v in _values_in((args, kwargs))]
        if tape.python_op is not None:
            warnings.warn(
                f"compiled function {self._name()!r} builds a node made in Python "
                f"({tape.python_op!r}), which a replay cannot recompute: it runs as "
                f"plain code for these arguments", TraceWarning, stacklevel=3)
            rec = _Recording(None, None, keys)
        else:
            if _recorder.read is not None:       # an error filter raises: nothing kept
                _warn_recorded_read(self, _recorder.read)
            tape.register_roots(list(_values_in(out)))
            rec = _Recording(tape, out, keys)
        self._cache[key] = rec
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return rec, out

    def _name(self) -> object:
        return getattr(self.fn, '__qualname__', self.fn)

    def _check(self, rec: _Recording, args: tuple[Any, ...], kwargs: dict[str, Any],
               xs: Iterable[float]) -> None:
        strict = self.check == "strict"
        assert rec.tape is not None         # a replayed structure has a tape
        tape, _ = self._run_recorded(args, kwargs, xs)
        want = rec.tape.signature(strict)
        got = tape.signature(strict)
        if got != want:
            first = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b),
                         min(len(got), len(want)))
            raise RuntimeError(
                f"compiled function {self._name()!r}: "
                f"the graph built now differs from the recording at node {first} "
                f"of {len(want)} (now {len(got)} nodes): control flow or constants "
                f"depend on the data; do not compile it, or give it the varying "
                f"values as arguments")

    def cache_info(self) -> dict[str, Any]:
        """A dict: recordings kept, cache_size, nodes recorded per structure,
        and per structure how many of them a replay leaves unwritten until
        they can be seen (``elided``, see the module documentation)."""
        tapes = [rec.tape for rec in self._cache.values()]
        return {"recordings": len(self._cache), "cache_size": self.cache_size,
                "nodes": [t.size if t is not None else 0 for t in tapes],
                "elided": [t.elided if t is not None else 0 for t in tapes]}

    def cache_clear(self) -> None:
        """Drop every recording (their nodes are freed)."""
        self._cache.clear()

    def __repr__(self) -> str:
        return f"<compiled {self._name()!r}>"


@overload
def compile(fn: Callable[P, R], *, check: bool | Literal["strict"] = False,
            cache_size: int = 8, index_inputs: str | Iterable[str] = ()
            ) -> CompiledFunction[P, R]: ...
@overload
def compile(fn: None = None, *, check: bool | Literal["strict"] = False,
            cache_size: int = 8, index_inputs: str | Iterable[str] = ()
            ) -> Callable[[Callable[P, R]], CompiledFunction[P, R]]: ...
def compile(fn: Callable[P, R] | None = None, *, check: bool | Literal["strict"] = False,
            cache_size: int = 8, index_inputs: str | Iterable[str] = ()
            ) -> CompiledFunction[P, R] | Callable[[Callable[P, R]], CompiledFunction[P, R]]:
    """Record the graph ``fn`` builds and replay it in C on later calls.

    Use as ``@micrograd.compile``, ``@micrograd.compile(check=True)`` or
    ``micrograd.compile(fn, cache_size=4)``. ``index_inputs``: names of
    parameters whose ints select Values through ``micrograd.engine.take``
    (token ids): they are inputs of the recording, not structure. See the
    ``micrograd.compile`` module documentation (``micrograd.capture``) for
    the rules.
    """
    def make(f: Callable[P, R]) -> CompiledFunction[P, R]:
        return CompiledFunction(f, check=check, cache_size=cache_size,
                                index_inputs=index_inputs)
    return make if fn is None else make(fn)
