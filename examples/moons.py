"""micrograd's moons demo: the original notebook's user code, unchanged
(only the data comes from micrograd.data instead of scikit-learn).

    python examples/moons.py [--steps N]
"""

import argparse
import random
import time

from micrograd.engine import Value
from micrograd.nn import MLP
from micrograd.data import make_moons

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=100, help="training steps (default 100)")
args = parser.parse_args()
if args.steps < 1:
    parser.error("--steps must be at least 1")

random.seed(1337)
X, y = make_moons(n_samples=100, noise=0.1, seed=1)

model = MLP(2, [16, 16, 1])  # 2-layer neural network
print(model)
print("number of parameters", len(model.parameters()))


# loss function
def loss(batch_size=None):

    # inline DataLoader :)
    if batch_size is None:
        Xb, yb = X, y
    else:
        ri = random.sample(range(len(X)), batch_size)
        Xb, yb = [X[i] for i in ri], [y[i] for i in ri]
    inputs = [list(map(Value, xrow)) for xrow in Xb]

    # forward the model to get scores
    scores = list(map(model, inputs))

    # svm "max-margin" loss
    losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(yb, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    # L2 regularization
    alpha = 1e-4
    reg_loss = alpha * sum((p*p for p in model.parameters()))
    total_loss = data_loss + reg_loss

    # also get accuracy
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
    return total_loss, sum(accuracy) / len(accuracy)


t0 = time.perf_counter()
for k in range(args.steps):

    # forward
    total_loss, acc = loss()

    # backward
    model.zero_grad()
    total_loss.backward()

    # update (sgd)
    learning_rate = 1.0 - 0.9*k/100
    for p in model.parameters():
        p.data -= learning_rate * p.grad

    if k % 1 == 0:
        print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")
elapsed = time.perf_counter() - t0
print(f"{args.steps} steps in {elapsed:.3f} s ({1000 * elapsed / max(args.steps, 1):.2f} ms/step)")
