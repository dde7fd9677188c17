"""Neural networks on scalar Values: Module, Neuron, Layer, MLP.

The same classes as micrograd's ``nn``, giving its numbers: the same weight
draws (so ``random.seed(s)`` gives the same model as the original), the same
reprs, the same forward computation. Beyond the original: an
``activation=`` choice.

>>> import random
>>> from micrograd.nn import MLP
>>> random.seed(1337)
>>> model = MLP(2, [16, 16, 1])
>>> len(model.parameters())
337
>>> score = model([2.0, -1.0])

Fused layers. A ``Layer`` of plain ``Neuron`` s, and an ``MLP`` of such
layers, compute their outputs in one C call (``micrograd_c.kernels``),
building the very nodes the neuron-by-neuron code builds, so the numbers are
the same. It is an optimization that never changes a result: what the
kernel needs (the neurons' weight lists, biases and activations) is read
again whenever anything may have changed it, that is after any attribute of
any Module is set or deleted, any Module's ``__dict__`` is handed out (it is
then read at every call), the ``layers`` or ``neurons`` lists change, or
``Neuron.__call__`` / ``Layer.__call__`` are replaced; subclasses, and
layers holding anything but plain Neurons, run their own code. Only
``object.__setattr__(module, ...)``, which skips the class's
``__setattr__``, goes unseen: call ``micrograd.nn.changed()`` after it.
"""

import random
import weakref
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Iterator
from typing import Any

from micrograd.engine import Value, dot
from micrograd_c.kernels import UNARY, Stack

# micrograd's nn exports these names to `from micrograd.nn import *`.
__all__ = ["Value", "Module", "Neuron", "Layer", "MLP", "random"]

# activation name (the Value method applied to a neuron's sum, but for
# 'linear') -> its name in a Neuron's repr
ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Linear"}


# ---- what the fused layers know, and when they must read it again -------------

_generation = 0                 # bumped by every change a plan could miss
_exposed = weakref.WeakSet()    # Modules whose __dict__ was handed out
_plans = {}                     # id(module) -> its _Plan


def changed() -> None:
    """Note that a Module changed in a way its class cannot see (after
    ``object.__setattr__``): fused layers read their neurons again."""
    global _generation
    _generation += 1


class _Plan:
    """A fused Layer's or MLP's call: the kernel (a Stack over its neurons'
    weight lists, biases and activations, watching the Layer and neuron
    lists it read), or None if the module cannot be fused."""

    __slots__ = ("owner", "generation", "stack", "volatile")

    def __init__(self, module: "Module", stack: "Stack | None", volatile: bool) -> None:
        self.owner = weakref.ref(module, lambda _, key=id(module): _plans.pop(key, None))
        self.generation = _generation
        self.stack = stack
        self.volatile = volatile


def _layer_of(neurons: "list[Any]") -> "tuple[list[Any], list[Any], list[int]] | None":
    """The kernel's (rows, biases, acts) for a list of plain Neurons, or None."""
    rows, biases, acts = [], [], []
    for n in neurons:
        if type(n) is not Neuron:
            return None
        rows.append(n.w)
        biases.append(n.b)
        activation = getattr(n, "activation", "relu")
        if not n.nonlin or activation == "linear":
            acts.append(-1)
        elif activation in UNARY:
            acts.append(UNARY[activation])
        else:
            return None
    return (rows, biases, acts)


def _read_layers(module: "Module", layers: "list[Any]", own_list: bool
                 ) -> "tuple[Stack | None, bool]":
    """(Stack or None, volatile) for module over these Layers; own_list:
    layers is the module's own list (an MLP's), to watch as well."""
    watched, triples = [], []
    volatile = module in _exposed
    try:
        for layer in layers:
            neurons = layer.neurons
            if type(neurons) is not list:
                return None, volatile
            watched.append(neurons)
            volatile = volatile or layer in _exposed or any(n in _exposed for n in neurons)
            triple = _layer_of(neurons)
            if triple is None:
                return None, volatile
            triples.append(triple)
    except AttributeError:                 # let the module's own code say what
        return None, volatile
    if not triples or any(len(rows) < 2 for rows, _, _ in triples[:-1]):
        return None, volatile              # a 1-neuron hidden layer returns a Value
    if own_list:
        watched.append(layers)
    return Stack(triples, watched), volatile


def _fused(module: "Module", x: "Sequence[Value | float]", stack: bool) -> "list[Value] | None":
    """The kernel's outputs for a Layer (stack False) or MLP, or None when
    it must run its own code."""
    if Neuron.__call__ is not _NEURON_CALL or (stack and Layer.__call__ is not _LAYER_CALL):
        return None
    plan = _plans.get(id(module))
    if (plan is None or plan.generation != _generation or plan.volatile
            or plan.owner() is not module):
        plan = _make_plan(module, stack)
    if plan.stack is None:
        return None
    out = plan.stack(x)
    if out is None and plan.stack is not None:
        plan = _make_plan(module, stack)    # a watched list changed: read again
        out = plan.stack(x) if plan.stack is not None else None
    return out


def _make_plan(module: "Module", stack: bool) -> "_Plan":
    if stack:
        layers = module.layers
        ok = type(layers) is list and all(type(layer) is Layer for layer in layers)
        kernel, volatile = (_read_layers(module, layers, True) if ok
                            else (None, module in _exposed))
    else:
        kernel, volatile = _read_layers(module, [module], False)
    plan = _Plan(module, kernel, volatile)
    _plans[id(module)] = plan
    return plan


class _Attributes:
    """Instances with a __dict__ (Module's base: see Module.__dict__)."""


_REAL_DICT = _Attributes.__dict__["__dict__"]


class Module(_Attributes):
    """Base class: a thing with parameters."""

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        changed()

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        changed()

    @property
    def __dict__(self) -> dict[str, Any]:
        """The instance's attributes. Whoever has the dict can change them
        behind the class's back, so fused layers read this Module at every
        call from now on."""
        _exposed.add(self)
        changed()
        return _REAL_DICT.__get__(self)

    @__dict__.setter
    def __dict__(self, value: dict[str, Any]) -> None:
        _REAL_DICT.__set__(self, value)
        changed()

    def __setstate__(self, state: dict[str, Any]) -> None:
        # copy and pickle restore attributes here, not through __dict__.
        _REAL_DICT.__get__(self).update(state)
        changed()

    def zero_grad(self) -> None:
        """Set the grad of every parameter to 0."""
        for p in self.parameters():
            p.grad = 0

    def parameters(self) -> list[Value]:
        """The list of this module's parameter Values."""
        return []

    def state_dict(self) -> dict[str, float]:
        """The parameters' values by name: a dict ``{name: float}`` in the
        order of ``parameters()``.

        A parameter is named by the attribute path that reaches it:
        ``'layers.0.neurons.3.w.1'`` is ``self.layers[0].neurons[3].w[1]``
        (attributes are searched in the order they were set, through
        Modules, lists, tuples and dicts with string keys; a parameter found
        no such way is named ``'parameters.<k>'`` after its position). A
        Value listed twice by ``parameters()`` appears once. The floats are
        copies: later training does not change a state dict already taken.

        >>> from micrograd.nn import Neuron
        >>> list(Neuron(2).state_dict())
        ['w.0', 'w.1', 'b']
        """
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, float]) -> None:
        """Set every parameter from ``state``, a mapping as ``state_dict()``
        returns it.

        ``state`` must name exactly this module's parameters, each with a
        real number. Everything is checked first: on a missing or unexpected
        name (ValueError, naming them and both sizes) or a value that is not
        a real number (TypeError, naming the parameter), no parameter is
        changed. Values are stored as floats, so ``state_dict()`` then
        ``load_state_dict()`` restores every parameter bit for bit.
        """
        import numbers
        from collections.abc import Mapping

        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a mapping of parameter names to "
                            f"numbers (as state_dict() returns), not "
                            f"{type(state).__name__!r}")
        named = list(self.named_parameters())
        names = {name for name, _ in named}
        missing = [name for name, _ in named if name not in state]
        unexpected = [key for key in state if key not in names]
        if missing or unexpected:
            def few(keys: list[str]) -> str:
                shown = ", ".join(repr(k) for k in keys[:5])
                return shown + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
            problems = []
            if missing:
                problems.append(f"missing {len(missing)}: {few(missing)}")
            if unexpected:
                problems.append(f"unexpected {len(unexpected)}: {few(unexpected)}")
            raise ValueError(f"state does not fit this {type(self).__name__}: it has "
                             f"{len(state)} entries, the module {len(named)} "
                             f"parameters ({'; '.join(problems)})")
        values = []
        for name, _ in named:
            x = state[name]
            if isinstance(x, bool) or not isinstance(x, numbers.Real):
                raise TypeError(f"state[{name!r}] must be a real number, not "
                                f"{type(x).__name__!r}")
            try:
                values.append(float(x))
            except (OverflowError, ValueError) as exc:
                raise ValueError(f"state[{name!r}]: {exc}") from None
        for (_, p), x in zip(named, values):
            p.data = x

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        """Iterate over ``(name, parameter)`` pairs: each Value of
        ``parameters()`` once, in its order, under its dotted attribute path
        (``'layers.0.neurons.3.w.1'`` is ``self.layers[0].neurons[3].w[1]``),
        the names ``state_dict()`` uses. Attributes are searched in the
        order they were set, through Modules, lists, tuples and dicts with
        string keys; a parameter found no such way is named
        ``'parameters.<k>'`` after its position in ``parameters()``. Names
        depend only on the model's structure: the same in every run.

        >>> from micrograd.nn import Neuron
        >>> [name for name, p in Neuron(2).named_parameters()]
        ['w.0', 'w.1', 'b']
        """
        paths = {}
        walked = set()
        todo = [("", self)]
        while todo:                 # depth first, in attribute order
            path, obj = todo.pop()
            if isinstance(obj, Value):
                paths.setdefault(id(obj), path)
                continue
            if id(obj) in walked:
                continue
            if isinstance(obj, Module):
                items = list(_REAL_DICT.__get__(obj).items())
            elif isinstance(obj, (list, tuple)):
                items = list(enumerate(obj))
            elif isinstance(obj, dict):
                items = [(k, v) for k, v in obj.items() if isinstance(k, str)]
            else:
                continue
            walked.add(id(obj))
            prefix = path + "." if path else ""
            todo.extend((f"{prefix}{key}", item) for key, item in reversed(items))
        listed = set()
        for k, p in enumerate(self.parameters()):
            if id(p) not in listed:
                listed.add(id(p))
                yield paths.get(id(p), f"parameters.{k}"), p


class Neuron(Module):
    """One neuron: ``activation(sum(w_i * x_i) + b)``.

    nin: number of inputs. nonlin: apply the activation (False: linear).
    activation: 'relu' (default, as the original), 'tanh', 'sigmoid' or
    'linear'. Weights are drawn from ``random.uniform(-1, 1)``, bias is 0.
    """

    w: list[Value]
    b: Value
    nonlin: bool
    activation: str = "relu"    # for subclasses whose __init__ does not set it

    def __init__(self, nin: int, nonlin: bool = True, activation: str = "relu") -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one "
                             f"of {', '.join(map(repr, ACTIVATIONS))}")
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin
        self.activation = activation

    def __call__(self, x: Iterable[Value | float]) -> Value:
        # sum((wi*xi for wi, xi in zip(self.w, x)), self.b) in one C call
        # (micrograd.engine.dot builds the same nodes).
        w = self.w
        if (type(w) is list or type(w) is tuple) and (type(x) is list or type(x) is tuple):
            act = dot(w, x, self.b, strict=False)
        else:
            act = sum((wi * xi for wi, xi in zip(w, x)), self.b)
        return self._activate(act)

    def _activate(self, act: Value) -> Value:
        if not self.nonlin or self.activation == "linear":
            return act
        return getattr(act, self.activation)()

    def _per_op(self, x: Iterable[Any]) -> Any:
        """The output as the original computes it, one op at a time in
        Python (on any engine's Values)."""
        return self._activate(sum((wi * xi for wi, xi in zip(self.w, x)), self.b))

    def parameters(self) -> list[Value]:
        """The weights, then the bias."""
        return self.w + [self.b]

    def __repr__(self) -> str:
        name = ACTIVATIONS.get(self.activation, "ReLU") if self.nonlin else "Linear"
        return f"{name}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons over the same ``nin`` inputs.

    Calling it returns the list of outputs, or the single output when
    ``nout == 1`` (as the original). Extra keyword arguments go to Neuron.
    """

    neurons: list[Neuron]

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        out = _fused(self, x, False)              # plain Neurons: one C call
        if out is None:
            out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        """The parameters of each neuron in turn."""
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multi-layer perceptron: ``MLP(nin, [h1, h2, ..., nout])``.

    Every layer but the last applies ``activation`` (default 'relu'); the
    last is linear, as in the original.
    """

    layers: list[Layer]

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu") -> None:
        sz = [nin] + list(nouts)
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1,
                             activation=activation)
                       for i in range(len(nouts))]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        out = _fused(self, x, True)               # plain Layers: one C call
        if out is not None:
            return out[0] if len(out) == 1 else out
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        """The parameters of each layer in turn."""
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


_NEURON_CALL = Neuron.__call__
_LAYER_CALL = Layer.__call__
