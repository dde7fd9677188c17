"""A mistake mypy must report: a learning rate that is not a number
(tests/test_typing.py checks the error)."""

from micrograd.nn import MLP
from micrograd.optim import SGD

opt = SGD(MLP(2, [4, 1]).parameters(), lr=0.1)
opt.lr = "fast"
