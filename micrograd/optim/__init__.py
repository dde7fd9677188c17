"""Optimizers with their update loops in C: SGD, Adam, AdamW; and
learning-rate schedules (``micrograd.optim.lr_scheduler``).

As PyTorch's ``torch.optim``: an optimizer takes a list of Values or of
parameter groups (dicts with ``'params'`` and their own hyperparameters),
``step()`` updates every parameter (computing exactly the Python update
written in the class docstring, bit for bit), ``zero_grad()`` zeroes the
grads, ``param_groups`` holds each group's settings (changes take effect at
the next step), ``lr`` reads or sets the rate of every group, and
``state_dict()`` / ``load_state_dict(state, strict=True)`` save and restore
the optimizer's state.

>>> from micrograd.nn import MLP
>>> from micrograd.optim import SGD
>>> from micrograd.optim.lr_scheduler import StepLR
>>> model = MLP(2, [4, 1])
>>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> sched = StepLR(opt, step_size=10, gamma=0.5)
"""

from micrograd_c.optim import SGD, Adam, AdamW, IncompatibleKeys, Optimizer
from micrograd.optim import lr_scheduler

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "IncompatibleKeys", "lr_scheduler"]
