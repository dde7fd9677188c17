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

# activation name -> (repr prefix, op applied to a neuron's sum)
ACTIVATIONS = {
    "relu": ("ReLU", Value.relu),
    "tanh": ("Tanh", Value.tanh),
    "sigmoid": ("Sigmoid", Value.sigmoid),
    "linear": ("Linear", None),
}


class Module:
    """Base class: a thing with parameters."""

    def zero_grad(self):
        """Set the grad of every parameter to 0."""
        for p in self.parameters():
            p.grad = 0

    def parameters(self):
        """The list of this module's parameter Values."""
        return []


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
        # followed by the activation (see micrograd_c.kernels.dense).
        return dense((self,), x)[0]

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        name = ACTIVATIONS[self.activation][0] if self.nonlin else "Linear"
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
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
