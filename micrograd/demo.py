"""micrograd's moons demo, on any of this package's engines.

An MLP 2-16-16-1 (ReLU) learns two interleaving half circles
(``micrograd.data.make_moons``) with the svm max-margin loss plus L2
regularisation, by SGD whose learning rate decays linearly from 1.0 to 0.1
(the original's ``1.0 - 0.9*k/100`` over its 100 steps). The loss and the
step are the original notebook's user code; the engine only changes how the
graph is built:

- ``dynamic``: ``micrograd.nn`` with every neuron summing in Python, one op
  at a time, as the original micrograd does;
- ``fused``: ``micrograd.nn`` as it is, each layer one C call;
- ``compiled``: the fused step captured once by ``micrograd.compile`` and
  replayed;
- ``pure``: the dynamic model on ``micrograd.pure.Value``, the pure-Python
  engine with the same API (the baseline of ``micrograd demo --compare``).

>>> demo = MoonsDemo("fused", steps=100)
>>> for _ in range(demo.steps):
...     loss, acc = demo.step()
>>> demo.evaluate()[1] >= 0.97
True
"""

import functools
import random
from collections.abc import Callable, Sequence
from typing import Any

import micrograd
from micrograd.data import make_moons
from micrograd.nn import MLP, Neuron
from micrograd.optim import SGD
from micrograd.optim.lr_scheduler import LambdaLR

__all__ = ["ENGINES", "default_engine", "PerOpNeuron", "per_op", "loss", "loss_of_inputs",
           "accuracy", "MoonsDemo"]

ENGINES = ("dynamic", "fused", "compiled")   # slowest to fastest
LAYERS = [16, 16, 1]


def default_engine() -> str:
    """The fastest engine: 'compiled'."""
    return ENGINES[-1]


class PerOpNeuron(Neuron):
    """A ``micrograd.nn.Neuron`` that computes its sum in Python, one op at a
    time, as the original micrograd does. ``micrograd.nn.Layer`` calls such
    neurons one by one instead of running its fused kernel."""

    __call__ = Neuron._per_op


def per_op(model: MLP, Value: type[Any] | None = None) -> MLP:
    """Turn every neuron of a ``micrograd.nn`` model into a ``PerOpNeuron``,
    in place; with ``Value`` (another engine's class), remake its weights as
    that class's Values with the same data. Returns ``model``."""
    for layer in model.layers:
        for neuron in layer.neurons:
            neuron.__class__ = PerOpNeuron
            if Value is not None:
                neuron.w = [Value(w.data) for w in neuron.w]
                neuron.b = Value(neuron.b.data)
    return model


# ---- the demo's user code -------------------------------------------------------

def loss(model: MLP, X: Sequence[Sequence[float]], y: Sequence[int],
         Value: type[Any]) -> tuple[Any, list[Any]]:
    """The demo's full-batch loss: svm max-margin loss + 1e-4 * L2.

    Returns ``(total_loss, scores)``, both Values (nothing read back, so
    that a captured forward can replay it).
    """
    inputs = [list(map(Value, xrow)) for xrow in X]
    return loss_of_inputs(model, inputs, y)


def loss_of_inputs(model: MLP, inputs: Sequence[Sequence[Any]],
                   y: Sequence[int]) -> tuple[Any, list[Any]]:
    """``loss`` for inputs that are Values already (as inside a function
    given to ``micrograd.compile``): ``(total_loss, scores)``."""
    # forward the model to get scores
    scores = list(map(model, inputs))

    # svm "max-margin" loss
    losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    # L2 regularization
    alpha = 1e-4
    reg_loss = alpha * sum((p*p for p in model.parameters()))
    total_loss = data_loss + reg_loss
    return total_loss, scores


class _PlainSGD:
    """``p.data -= lr * p.grad`` in Python, for ``micrograd.pure``'s Values
    (``micrograd.optim.SGD`` updates this package's); schedulable, as it
    has ``param_groups``."""

    def __init__(self, params: Sequence[Any], lr: float) -> None:
        self.param_groups: list[dict[str, Any]] = [{"params": list(params), "lr": lr}]

    def step(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.data -= group["lr"] * p.grad


def accuracy(scores: Sequence[Any], y: Sequence[int]) -> float:
    """The fraction of the scores whose sign is the label's."""
    return sum((yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)) / len(y)


class MoonsDemo:
    """The demo's model and data on one engine, trained a step at a time.

    engine: one of ``ENGINES`` or 'pure' (default: the fastest,
    'compiled'). steps: the length of the run
    (the learning rate decays over it). seed: seeds both the weights
    (``random.seed(seed)``, as the original demo does) and the data.
    ``step()`` takes one step, ``train(progress=True)`` the rest of the
    run with a progress bar; ``score(x0, x1)`` is what
    ``micrograd.viz.plot_decision_boundary`` draws.
    """

    engine: str
    steps: int
    seed: int
    X: list[list[float]]
    y: list[int]
    Value: type[Any]
    model: MLP
    forward: Callable[[], tuple[Any, list[Any]]]
    k: int
    optimizer: Any
    scheduler: LambdaLR

    def __init__(self, engine: str | None = None, steps: int = 100, seed: int = 1337,
                 n_samples: int = 100, noise: float = 0.1) -> None:
        engine = engine or default_engine()
        if engine not in ENGINES + ("pure",):
            raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        self.engine, self.steps, self.seed = engine, steps, seed
        self.X, self.y = make_moons(n_samples, noise, seed)

        if engine == "pure":
            from micrograd.pure import Value
        else:
            from micrograd.engine import Value
        self.Value = Value
        random.seed(seed)
        self.model = MLP(2, list(LAYERS))
        if engine in ("dynamic", "pure"):
            per_op(self.model, None if engine == "dynamic" else Value)

        self.forward = functools.partial(loss, self.model, self.X, self.y, Value)
        if engine == "compiled":
            self.forward = micrograd.compile(self.forward)
        self.k = 0   # steps taken
        # SGD at the original's rate, 1.0 - 0.9*k/steps, as a schedule
        self.optimizer = (_PlainSGD if engine == "pure" else SGD)(self.model.parameters(), lr=1.0)
        self.scheduler = LambdaLR(self.optimizer, lambda k: 1.0 - 0.9*k/steps)

    def step(self) -> tuple[float, float]:
        """One training step: forward, ``zero_grad``, ``backward``, SGD update.

        Returns ``(loss, accuracy)`` of the model before the update.
        """
        total_loss, scores = self.forward()

        # backward
        self.model.zero_grad()
        total_loss.backward()

        # update (sgd)
        self.optimizer.step()
        self.scheduler.step()

        self.k += 1
        return total_loss.data, accuracy(scores, self.y)

    def evaluate(self) -> tuple[float, float]:
        """``(loss, accuracy)`` of the model as it is now (no update)."""
        total_loss, scores = self.forward()
        return total_loss.data, accuracy(scores, self.y)

    def train(self, progress: bool = False) -> list[tuple[float, float]]:
        """Take the steps left of the run (``steps`` less those taken), one
        ``step()`` each; return their ``[(loss, accuracy)]``.

        progress: show a progress bar (``tqdm.auto``: a widget in Jupyter
        with ipywidgets, text on stderr elsewhere) with the loss and the
        accuracy.

        >>> demo = MoonsDemo("compiled", steps=100)
        >>> history = demo.train()
        >>> len(history), history[-1][1] >= 0.97
        (100, True)
        """
        from tqdm.auto import tqdm

        history = []
        with tqdm(total=self.steps, initial=self.k, desc=self.engine, unit="step",
                  disable=not progress) as bar:
            while self.k < self.steps:
                loss, acc = self.step()
                history.append((loss, acc))
                bar.set_postfix_str(f"loss {loss:.4f}, accuracy {acc:.0%}", refresh=False)
                bar.update()
        return history

    def score(self, x0: float, x1: float) -> float:
        """The model's score at the point ``(x0, x1)``: its sign is the class."""
        return self.model([self.Value(x0), self.Value(x1)]).data
