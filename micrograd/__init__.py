"""micrograd-c: a drop-in, C-accelerated micrograd.

Import it as you import micrograd::

    from micrograd.engine import Value
    from micrograd.nn import Neuron, Layer, MLP

Beyond the original: ``micrograd.compile`` (record a step's graph once,
replay it in C), ``micrograd.optim`` (SGD, Adam, AdamW in C, and
learning-rate schedules), ``micrograd.save`` /
``micrograd.load`` (models and optimizer state as JSON), ``micrograd.data``
(make_moons), ``micrograd.arena_stats()`` (the node arena's occupancy) and
``micrograd.arena_trim()`` (give its free memory back).
"""

from micrograd_c import arena_stats, arena_trim
from micrograd.engine import Value
from micrograd.capture import CompiledFunction, compile
from micrograd.serialize import load, save

__version__ = "0.1.0"
# `compile` is left out: `from micrograd import *` must not shadow the builtin.
__all__ = ["Value", "arena_stats", "arena_trim", "CompiledFunction", "save", "load", "__version__"]
