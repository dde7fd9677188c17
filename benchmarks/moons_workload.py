"""The original micrograd demo: an MLP 2-16-16-1 trained on two moons.

``loss`` and ``train_step`` are the demo notebook's user code, unchanged
except that ``Value``, the model and the data are passed in instead of being
globals (and the numpy mini-batch branch is left out: the demo trains on the
full batch).  ``CompiledMoonsRun`` is the same step written for
``micrograd.compile`` and ``micrograd.optim.SGD``, as in this package's
README.  ``TorchMoons`` is the same model and loss as batched float64
tensors, with the same initial weights.
"""

import math
import random

from micrograd import demo

SEED = 1337          # the demo's random.seed(1337)
N_SAMPLES = 100
NOISE = 0.1
LAYERS = [16, 16, 1]


def make_moons(n_samples=N_SAMPLES, noise=NOISE, seed=0):
    """Two interleaving half circles, as sklearn's ``make_moons``, without numpy.

    Returns ``(X, y)``: ``X`` a list of ``[x0, x1]`` floats, ``y`` a list of
    ints in {-1, +1} (the demo's ``y*2 - 1``).  Uses its own ``random.Random``
    so the global ``random`` stream (the model's weights) is left alone.

    >>> X, y = make_moons(4, noise=0.0)
    >>> len(X), sorted(set(y))
    (4, [-1, 1])
    """
    rng = random.Random(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out

    def angles(n):
        return [math.pi * i / (n - 1) if n > 1 else 0.0 for i in range(n)]

    points = [(math.cos(t), math.sin(t), -1) for t in angles(n_out)]
    points += [(1.0 - math.cos(t), 1.0 - math.sin(t) - 0.5, 1) for t in angles(n_in)]
    rng.shuffle(points)
    X = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for a, b, _ in points]
    y = [label for _, _, label in points]
    return X, y


# ---- the demo's user code ------------------------------------------------

def loss(model, X, y, Value):
    """The demo's ``loss()`` (full batch): svm max-margin loss + L2, and accuracy,
    as micrograd.demo writes it, run on any engine's Value."""
    total_loss, scores = demo.loss(model, X, y, Value)
    return total_loss, demo.accuracy(scores, y)


def train_step(model, X, y, Value, k):
    """One iteration of the demo's optimization loop; returns ``(loss, accuracy)``."""
    # forward
    total_loss, acc = loss(model, X, y, Value)

    # backward
    model.zero_grad()
    total_loss.backward()

    # update (sgd)
    learning_rate = 1.0 - 0.9*k/100
    for p in model.parameters():
        p.data -= learning_rate * p.grad

    return total_loss.data, acc


# ---- harness ---------------------------------------------------------------

def count_nodes(root):
    """Number of distinct nodes reachable from ``root`` through ``_prev`` (iterative)."""
    seen = {id(root): root}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in seen:
                seen[id(child)] = child
                stack.append(child)
    return len(seen)


class MoonsRun:
    """A seeded demo model and its data, with the three timed pieces of a step.

    ``step()`` is the whole training step; ``forward()`` builds the loss graph;
    ``backward(total_loss)`` is the step's backward.  Every step's loss is
    kept in ``losses``, to check against other engines.
    """

    def __init__(self, Value, MLP, seed=SEED):
        self.Value = Value
        random.seed(seed)
        self.model = MLP(2, list(LAYERS))
        self.X, self.y = make_moons()
        self.k = 0
        self.losses = []
        self.last = None

    def step(self):
        out = train_step(self.model, self.X, self.y, self.Value, self.k)
        self.k = (self.k + 1) % 100   # keep the demo's decaying rate positive however many rounds
        self.losses.append(out[0])
        return out[0]

    def _loss(self):
        """The demo's ``loss()``: ``(total_loss, accuracy)``."""
        return loss(self.model, self.X, self.y, self.Value)

    def forward(self):
        self.last, _ = self._loss()
        return self.last.data

    def drop(self):
        self.last = None        # for a compiled run, the recording keeps its nodes

    def prepare_backward(self):
        """Zero the parameters' grads and build (or replay) a fresh loss graph
        (setup, untimed)."""
        self.model.zero_grad()
        total_loss, _ = self._loss()
        return (total_loss,), {}

    @staticmethod
    def backward(total_loss, retain=False):
        total_loss.backward()

    def grads(self):
        return [p.grad for p in self.model.parameters()]


class CompiledMoonsRun(MoonsRun):
    """The demo's step through ``micrograd.compile`` and ``micrograd.optim.SGD``.

    The same model (``micrograd.nn.MLP`` after ``random.seed(seed)``), data,
    loss and learning-rate schedule as ``MoonsRun``, written as this
    package's README shows: the compiled function takes ``X`` (floats, which
    arrive inside it as Values) and returns ``(loss, scores)``; the first call
    records the graph (done here, untimed), every later call replays it in C.
    Then ``opt.zero_grad()``, ``loss.backward()`` (a reverse sweep of the
    recording), ``opt.lr = schedule``, ``opt.step()`` (the SGD loop in C).
    Replay computes what a fresh dynamic run computes, so ``losses`` must
    equal the dynamic engine's bit for bit.
    """

    def __init__(self, compile, MLP, optim, seed=SEED):
        super().__init__(None, MLP, seed)   # the same model and data
        model, y = self.model, self.y
        self.opt = optim.SGD(model.parameters(), lr=1.0)

        @compile
        def step_loss(X):
            # the demo's loss() on Values already made from X: model, svm loss, L2
            return demo.loss_of_inputs(model, X, y)

        self.step_loss = step_loss
        step_loss(self.X)                  # record now: every timed call replays

    def _loss(self):
        """Replay the forward; returns ``(total_loss, accuracy)`` as ``loss()`` does."""
        total_loss, scores = self.step_loss(self.X)
        return total_loss, demo.accuracy(scores, self.y)

    def step(self):
        total_loss, acc = self._loss()
        self.opt.zero_grad()
        total_loss.backward()
        self.opt.lr = 1.0 - 0.9*self.k/100
        self.opt.step()
        self.k = (self.k + 1) % 100
        value = total_loss.data
        self.losses.append(value)
        return value


class TorchMoons:
    """The demo's model and loss as batched float64 tensors, same initial weights."""

    def __init__(self, torch, seed=SEED):
        self.torch = torch
        f64 = torch.float64
        random.seed(seed)
        sizes = [2] + LAYERS
        self.params = []           # in the original's parameters() order: per layer W then b
        for nin, nout in zip(sizes, sizes[1:]):
            # the original draws each neuron's nin weights in turn, bias is 0
            W = torch.tensor([[random.uniform(-1, 1) for _ in range(nin)] for _ in range(nout)],
                             dtype=f64, requires_grad=True)
            b = torch.zeros(nout, dtype=f64, requires_grad=True)
            self.params += [W, b]
        X, y = make_moons()
        self.X = torch.tensor(X, dtype=f64)
        self.y = torch.tensor(y, dtype=f64)
        self.k = 0
        self.losses = []
        self.last = None

    def loss(self):
        torch = self.torch
        h = self.X
        n_layers = len(self.params) // 2
        for i in range(n_layers):
            W, b = self.params[2 * i], self.params[2 * i + 1]
            h = h @ W.T + b
            if i != n_layers - 1:
                h = torch.relu(h)
        scores = h.squeeze(1)
        losses = torch.relu(1 + -self.y * scores)
        data_loss = losses.sum() * (1.0 / losses.shape[0])
        reg_loss = 1e-4 * sum((p * p).sum() for p in self.params)
        total_loss = data_loss + reg_loss
        accuracy = ((self.y > 0) == (scores > 0)).double().mean()
        return total_loss, accuracy

    def step(self):
        torch = self.torch
        total_loss, acc = self.loss()
        for p in self.params:
            p.grad = None
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * self.k / 100
        with torch.no_grad():
            for p in self.params:
                p -= learning_rate * p.grad
        self.k = (self.k + 1) % 100
        value = total_loss.item()
        acc.item()
        if len(self.losses) < 3:
            self.losses.append(value)
        return value

    def forward(self):
        self.last, acc = self.loss()
        acc.item()
        return self.last.item()

    def drop(self):
        self.last = None

    def prepare_backward(self):
        for p in self.params:
            p.grad = None
        total_loss, _ = self.loss()
        return (total_loss,), {}

    @staticmethod
    def backward(total_loss, retain=False):
        total_loss.backward(retain_graph=retain)

    def grads(self):
        """Grads flattened in the original's parameters() order (neuron by neuron)."""
        out = []
        for i in range(0, len(self.params), 2):
            W, b = self.params[i], self.params[i + 1]
            for j in range(W.shape[0]):
                out += W.grad[j].tolist() + [b.grad[j].item()]
        return out
