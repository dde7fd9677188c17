"""Optimizers with their update loops in C: SGD and Adam.

``step()`` computes, for each parameter, exactly the Python update written
in the class docstring (bit for bit); ``zero_grad()`` zeroes the grads;
``lr`` is a settable attribute for schedules; ``state_dict()`` /
``load_state_dict()`` save and restore the optimizer's state.

>>> from micrograd.nn import MLP
>>> from micrograd.optim import SGD
>>> model = MLP(2, [4, 1])
>>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
"""

from micrograd_c.optim import Adam, Optimizer, SGD

__all__ = ["SGD", "Adam", "Optimizer"]
