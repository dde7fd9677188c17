"""Learning-rate schedules for ``micrograd.optim``, with PyTorch's semantics.

Import it as ``micrograd.optim.lr_scheduler`` (as ``torch.optim.lr_scheduler``).
A scheduler sets the ``'lr'`` of its optimizer's parameter groups; call its
``step()`` after the optimizer's, once per step (or epoch)::

    from micrograd.optim import SGD
    from micrograd.optim.lr_scheduler import CosineAnnealingLR

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = CosineAnnealingLR(opt, T_max=100)
    for step in range(100):
        ...                       # forward, opt.zero_grad(), backward
        opt.step()
        sched.step()

Every scheduler computes the very numbers PyTorch's computes (the same
formulas, in the same order): ``StepLR``, ``LinearLR``, ``CosineAnnealingLR``
(recursive forms, which follow changes other code makes to ``group['lr']``)
and ``LambdaLR`` (``base_lr * lr_lambda(epoch)``). Making a scheduler stores
each group's starting rate as ``group['initial_lr']`` (kept in the
optimizer's ``state_dict()``) and applies the schedule's first rate; a
scheduler made with ``last_epoch=k`` resumes after step ``k`` and needs that
``'initial_lr'``. ``state_dict()`` / ``load_state_dict()`` save and restore
the scheduler's own state (its position and settings, not the optimizer's).

The optimizer can be any object with ``param_groups``, a list of dicts with
an ``'lr'``: ``micrograd.optim``'s, or one written in Python. Not provided:
PyTorch's deprecated ``step(epoch)`` and its warning when ``step()`` is
called before the optimizer's.
"""

from __future__ import annotations

import math
import numbers
import types
from typing import Any, Callable, Protocol, Sequence

__all__ = ["LRScheduler", "StepLR", "LinearLR", "CosineAnnealingLR", "LambdaLR"]


class HasParamGroups(Protocol):
    """What a scheduler needs of an optimizer: its parameter groups."""

    @property
    def param_groups(self) -> list[dict[str, Any]]: ...


def _int(x: object, name: str, low: int) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"{name} must be an int, not {type(x).__name__!r}")
    if x < low:
        raise ValueError(f"{name} must be >= {low}, got {x!r}")
    return x


def _float(x: object, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, not {type(x).__name__!r}")
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return v


class LRScheduler:
    """Base class: ``step()`` moves to the next epoch and writes
    ``get_lr()`` into every group's ``'lr'``.

    Attributes, as PyTorch's: ``optimizer``; ``base_lrs`` (each group's
    ``'initial_lr'``); ``last_epoch`` (the index of the current step: 0 once
    made, from ``last_epoch=-1``). Subclasses define ``get_lr()``.
    """

    _is_initial: bool = False

    def __init__(self, optimizer: HasParamGroups, last_epoch: int = -1) -> None:
        groups = getattr(optimizer, "param_groups", None)
        if not isinstance(groups, list) or not groups or not all(
                isinstance(g, dict) and "lr" in g for g in groups):
            raise TypeError(f"{type(optimizer).__name__} is not an optimizer (it needs "
                            f"param_groups, a list of dicts with an 'lr')")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"last_epoch must be an int >= -1, got {last_epoch!r}")
        if last_epoch == -1:
            for group in groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   f"when resuming a scheduler with last_epoch >= 0 (load "
                                   f"the optimizer's state_dict first)")
        self.optimizer = optimizer
        self.base_lrs: list[float] = [group["initial_lr"] for group in groups]
        self.last_epoch: int = last_epoch
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The rates of the groups at ``last_epoch`` (called by ``step()``)."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The rates the last ``step()`` (or the constructor) set, one per group."""
        return list(self._last_lr)

    def step(self) -> None:
        """Move to the next epoch: ``last_epoch += 1`` and set every group's
        ``'lr'``. Call it after the optimizer's ``step()``."""
        self._step_count += 1
        self.last_epoch += 1
        values = self.get_lr()
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise RuntimeError(f"the optimizer has {len(groups)} parameter groups, the "
                               f"scheduler was made for {len(values)}")
        for group, lr in zip(groups, values):
            group["lr"] = lr
        self._last_lr: list[float] = [group["lr"] for group in groups]

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state: every attribute but the optimizer (a new dict)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict()`` returned."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"state_dict must be a dict, not {type(state_dict).__name__!r}")
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs:
    ``lr = base_lr * gamma ** (epoch // step_size)``, computed as PyTorch
    does, from the current rate.

    >>> from micrograd.engine import Value
    >>> from micrograd.optim import SGD
    >>> opt = SGD([Value(1.0)], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(sched.get_last_lr()[0]); sched.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: HasParamGroups, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size: int = _int(step_size, "step_size", 1)
        self.gamma: float = _float(gamma, "gamma")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class LinearLR(LRScheduler):
    """Scale the rate linearly from ``start_factor * base_lr`` to
    ``end_factor * base_lr`` over ``total_iters`` epochs, then keep it
    (PyTorch's recursive form: each step multiplies the current rate).

    ``0 < start_factor <= 1``, ``0 <= end_factor <= 1`` (ValueError
    otherwise, as PyTorch).
    """

    def __init__(self, optimizer: HasParamGroups, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        start_factor = _float(start_factor, "start_factor")
        end_factor = _float(end_factor, "end_factor")
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 "
                             "and less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor: float = start_factor
        self.end_factor: float = end_factor
        self.total_iters: int = _int(total_iters, "total_iters", 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return [group["lr"] for group in groups]
        return [group["lr"] * (1.0 + (self.end_factor - self.start_factor)
                               / (self.total_iters * self.start_factor
                                  + (self.last_epoch - 1) * (self.end_factor
                                                             - self.start_factor)))
                for group in groups]


class CosineAnnealingLR(LRScheduler):
    """Anneal the rate along a cosine from ``base_lr`` (epoch 0) to
    ``eta_min`` (epoch ``T_max``), then back up, and so on:
    ``eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``,
    computed recursively from the current rate as PyTorch does.
    """

    def __init__(self, optimizer: HasParamGroups, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max: int = _int(T_max, "T_max", 1)
        self.eta_min: float = _float(eta_min, "eta_min")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and self.last_epoch > 0:
            return [self.eta_min + (base_lr - self.eta_min)
                    * (1 + math.cos(self.last_epoch * math.pi / self.T_max)) / 2
                    for base_lr in self.base_lrs]
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return [group["lr"] + (base_lr - self.eta_min)
                    * (1 - math.cos(math.pi / self.T_max)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * self.last_epoch / self.T_max))
                / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
                * (group["lr"] - self.eta_min) + self.eta_min
                for group in groups]


class LambdaLR(LRScheduler):
    """``lr = base_lr * lr_lambda(epoch)``; ``lr_lambda`` is one function
    for every group or a list of one per group.

    ``state_dict()`` cannot hold functions: for a plain function (or
    lambda) it saves None in its place, for a callable object its
    ``__dict__`` (as PyTorch).

    >>> from micrograd.engine import Value
    >>> from micrograd.optim import SGD
    >>> opt = SGD([Value(1.0)], lr=1.0)
    >>> sched = LambdaLR(opt, lambda k: 1.0 - 0.9 * k / 100)   # micrograd's demo
    >>> sched.step(); sched.get_last_lr()
    [0.991]
    """

    def __init__(self, optimizer: HasParamGroups,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        groups = getattr(optimizer, "param_groups", None)
        n = len(groups) if isinstance(groups, list) else 0
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            lambdas = list(lr_lambda)
        else:
            lambdas = [lr_lambda] * n
        for k, fn in enumerate(lambdas):
            if not callable(fn):
                raise TypeError(f"lr_lambda[{k}] must be callable, not {type(fn).__name__!r}")
        self.lr_lambdas: list[Callable[[int], float]] = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * fn(self.last_epoch)
                for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state; each lambda saved as its ``__dict__`` if
        it is a callable object, None if it is a function."""
        state = {key: value for key, value in self.__dict__.items()
                 if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType)
                               else dict(fn.__dict__) for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict()`` returned (the lambdas themselves stay)."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"state_dict must be a dict, not {type(state_dict).__name__!r}")
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        if len(saved) != len(self.lr_lambdas):
            raise ValueError(f"state has {len(saved)} lr_lambdas, this scheduler "
                             f"{len(self.lr_lambdas)}")
        self.__dict__.update(state)
        for fn, attrs in zip(self.lr_lambdas, saved):
            if attrs is not None:
                fn.__dict__.update(attrs)
