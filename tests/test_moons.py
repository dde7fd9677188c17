"""The original micrograd demo, 20 training steps: compiled nn vs the pure engine.

The compiled run uses ``micrograd.nn``; the oracle is a small MLP written
here after the original's ``nn.py``, over ``micrograd.pure`` Values, drawn
from the same ``random.seed(1337)``.  Both must follow the same loss sequence.
"""

import math
import random

from conftest import pure_value

STEPS = 20


def make_moons(n=100, noise=0.1, seed=0):
    """Two interleaving half circles, labels -1 and +1 (sklearn's layout)."""
    rng = random.Random(seed)  # private: the global generator draws the weights
    n_outer = n // 2
    n_inner = n - n_outer
    X, y = [], []
    for i in range(n_outer):
        t = math.pi * i / (n_outer - 1)
        X.append([math.cos(t) + rng.gauss(0.0, noise), math.sin(t) + rng.gauss(0.0, noise)])
        y.append(-1)
    for i in range(n_inner):
        t = math.pi * i / (n_inner - 1)
        X.append([1.0 - math.cos(t) + rng.gauss(0.0, noise),
                  1.0 - math.sin(t) - 0.5 + rng.gauss(0.0, noise)])
        y.append(1)
    return X, y


class PureMLP:
    """The original micrograd's MLP (ReLU hidden layers, linear output)."""

    def __init__(self, Value, nin, nouts):
        sizes = [nin] + nouts
        self.layers = []
        for i in range(len(nouts)):
            nonlin = i != len(nouts) - 1
            neurons = [([Value(random.uniform(-1, 1)) for _ in range(sizes[i])], Value(0), nonlin)
                       for _ in range(sizes[i + 1])]
            self.layers.append(neurons)

    def __call__(self, x):
        for layer in self.layers:
            out = []
            for w, b, nonlin in layer:
                act = sum((wi * xi for wi, xi in zip(w, x)), b)
                out.append(act.relu() if nonlin else act)
            x = out[0] if len(out) == 1 else out
        return x

    def parameters(self):
        return [p for layer in self.layers for w, b, _ in layer for p in w + [b]]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0


def train(model, Value, X, y, steps=STEPS):
    """The demo's loop: svm max-margin loss + L2, SGD with a decaying rate."""
    history = []
    for k in range(steps):
        inputs = [list(map(Value, row)) for row in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum((p * p for p in model.parameters()))
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        history.append((total_loss.data, sum(accuracy) / len(accuracy)))
    return history


def test_moons_training_matches_the_pure_engine():
    from micrograd.engine import Value
    from micrograd.nn import MLP

    X, y = make_moons()
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    PV = pure_value()
    random.seed(1337)
    oracle = PureMLP(PV, 2, [16, 16, 1])
    assert [p.data for p in model.parameters()] == [p.data for p in oracle.parameters()]

    ours = train(model, Value, X, y)
    expected = train(oracle, PV, X, y)
    for k, ((loss, acc), (loss_e, acc_e)) in enumerate(zip(ours, expected)):
        assert math.isclose(loss, loss_e, rel_tol=1e-12), (k, loss, loss_e)
        assert acc == acc_e, k
    for p, q in zip(model.parameters(), oracle.parameters()):
        assert math.isclose(p.data, q.data, rel_tol=1e-12, abs_tol=1e-15)
    # It learns: the demo's loss falls and accuracy rises over these steps.
    assert ours[-1][0] < 0.5 * ours[0][0]
    assert ours[-1][1] > ours[0][1]


def test_moons_data_is_deterministic_and_balanced():
    X, y = make_moons()
    assert (X, y) == make_moons()
    assert len(X) == 100 and y.count(1) == y.count(-1) == 50
    assert X[0][0] != 1.0  # noise was added
