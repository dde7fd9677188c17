"""The tanh network of micrograd's lecture fitting four points by gradient descent.

An MLP 3-4-4-1 with tanh hidden layers (the output is linear, as in
micrograd.nn) learns the lecture's tiny dataset with a squared-error loss.

    python examples/regression.py [--steps N] [--lr LR]
"""

import argparse
import random
import time

from micrograd.nn import MLP

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=50, help="training steps (default 50)")
parser.add_argument("--lr", type=float, default=0.05, help="learning rate")
parser.add_argument("--seed", type=int, default=1337)
args = parser.parse_args()
if args.steps < 1:
    parser.error("--steps must be at least 1")
if not args.lr > 0:
    parser.error("--lr must be above 0")

random.seed(args.seed)
xs = [
    [2.0, 3.0, -1.0],
    [3.0, -1.0, 0.5],
    [0.5, 1.0, 1.0],
    [1.0, 1.0, -1.0],
]
ys = [1.0, -1.0, -1.0, 1.0]  # desired targets
n = MLP(3, [4, 4, 1], activation="tanh")
print(n)

t0 = time.perf_counter()
for k in range(args.steps):
    # forward pass
    ypred = [n(x) for x in xs]
    loss = sum((yout - ygt)**2 for ygt, yout in zip(ys, ypred))

    # backward pass
    n.zero_grad()
    loss.backward()

    # update
    for p in n.parameters():
        p.data += -args.lr * p.grad

    print(f"step {k} loss {loss.data:.6f}")
elapsed = time.perf_counter() - t0
print(f"{args.steps} steps in {elapsed:.3f} s ({1000 * elapsed / max(args.steps, 1):.2f} ms/step)")

for x, y in zip(xs, ys):
    print(f"target {y:+.1f}  prediction {n(x).data:+.4f}")
