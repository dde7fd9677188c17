"""Neural networks on scalar Values: Module, Neuron, Layer, MLP.

The same classes as micrograd's ``nn``: the same weight draws (so
``random.seed(s)`` gives the same model as the original), the same reprs,
the same forward computation (so the same numbers). Beyond the original:
an ``activation=`` choice, and input sizes are checked.

>>> import random
>>> from micrograd.nn import MLP
>>> random.seed(1337)
>>> model = MLP(2, [16, 16, 1])
>>> len(model.parameters())
337
>>> score = model([2.0, -1.0])
"""

import random

from micrograd.engine import Value
from micrograd_c.kernels import DenseLayer, DenseStack, dense, touch

__all__ = ["Module", "Neuron", "Layer", "MLP", "ACTIVATIONS"]

# activation name (the Value method applied to a neuron's sum, but for
# 'linear') -> its name in a Neuron's repr
ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Linear"}


class Module:
    """Base class: a thing with parameters."""

    def zero_grad(self):
        """Set the grad of every parameter to 0."""
        for p in self.parameters():
            p.grad = 0

    def parameters(self):
        """The list of this module's parameter Values."""
        return []

    def state_dict(self):
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
        return {name: p.data for name, p in self._named_parameters()}

    def load_state_dict(self, state):
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
        named = self._named_parameters()
        names = {name for name, _ in named}
        missing = [name for name, _ in named if name not in state]
        unexpected = [key for key in state if key not in names]
        if missing or unexpected:
            def few(keys):
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

    def _named_parameters(self):
        """``[(name, parameter)]`` for ``parameters()``, each Value once,
        named as ``state_dict()`` describes."""
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
                items = list(getattr(obj, "__dict__", {}).items())
            elif isinstance(obj, (list, tuple)):
                items = list(enumerate(obj))
            elif isinstance(obj, dict):
                items = [(k, v) for k, v in obj.items() if isinstance(k, str)]
            else:
                continue
            walked.add(id(obj))
            prefix = path + "." if path else ""
            todo.extend((f"{prefix}{key}", item) for key, item in reversed(items))
        named, listed = [], set()
        for k, p in enumerate(self.parameters()):
            if id(p) not in listed:
                listed.add(id(p))
                named.append((paths.get(id(p), f"parameters.{k}"), p))
        return named


class Neuron(Module):
    """One neuron: ``activation(sum(w_i * x_i) + b)``.

    nin: number of inputs. nonlin: apply the activation (False: linear).
    activation: 'relu' (default, as the original), 'tanh', 'sigmoid' or
    'linear'. Weights are drawn from ``random.uniform(-1, 1)``, bias is 0.
    """

    def __init__(self, nin, nonlin=True, activation="relu"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one "
                             f"of {', '.join(map(repr, ACTIVATIONS))}")
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin
        self.activation = activation

    def __setattr__(self, name, value):
        # Layers cache what they read from their neurons; tell them.
        object.__setattr__(self, name, value)
        touch()

    def __call__(self, x):
        # One C call building the nodes of
        #   act = sum((wi*xi for wi, xi in zip(self.w, x)), self.b)
        # followed by the activation (see micrograd_c.kernels.dense); weights
        # that are plain numbers take the expression as it stands.
        out = dense((self,), x)
        return out[0] if out is not None else self._per_op(x)

    def _per_op(self, x):
        """The output as the original computes it, one op at a time in
        Python (on any engine's Values)."""
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        if not self.nonlin or self.activation == "linear":
            return act
        return getattr(act, self.activation)()

    def parameters(self):
        """The weights, then the bias."""
        return self.w + [self.b]

    def __repr__(self):
        name = ACTIVATIONS[self.activation] if self.nonlin else "Linear"
        return f"{name}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons over the same ``nin`` inputs.

    Calling it returns the list of outputs, or the single output when
    ``nout == 1`` (as the original). Extra keyword arguments go to Neuron.
    """

    def __init__(self, nin, nout, **kwargs):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]
        self._fused = DenseLayer(Neuron)

    def __call__(self, x):
        out = self._fused(self.neurons, x)        # all plain Neurons: one C call
        if out is None:                           # some neuron computes its own way
            out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        """The parameters of each neuron in turn."""
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multi-layer perceptron: ``MLP(nin, [h1, h2, ..., nout])``.

    Every layer but the last applies ``activation`` (default 'relu'); the
    last is linear, as in the original.
    """

    def __init__(self, nin, nouts, activation="relu"):
        sz = [nin] + list(nouts)
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1,
                             activation=activation)
                       for i in range(len(nouts))]
        self._fused = DenseStack(Layer, Neuron)

    def __call__(self, x):
        out = self._fused(self.layers, x)     # plain Layers: one C call
        if out is not None:
            return out[0] if len(out) == 1 else out
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        """The parameters of each layer in turn."""
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
