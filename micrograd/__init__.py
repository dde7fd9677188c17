"""micrograd-c: a drop-in, C-accelerated micrograd.

Import it as you import micrograd::

    from micrograd.engine import Value
    from micrograd.nn import Neuron, Layer, MLP

Beyond the original: ``micrograd.compile`` (record a step's graph once,
replay it in C), ``micrograd.optim`` (SGD, Adam, AdamW in C, and
learning-rate schedules), ``micrograd.save`` / ``micrograd.load`` (models,
optimizer state and metadata as JSON), ``micrograd.torch`` (to_torch /
from_torch: PyTorch twins of ``nn`` and ``gpt`` models; imports PyTorch,
which ``import micrograd`` never does), ``micrograd.data`` (make_moons),
``micrograd.arena_stats()`` (the node arena's occupancy) and
``micrograd.arena_trim()`` (give its free memory back).
"""

from micrograd import _integrity

_integrity.check()      # before anything else: a clear error if files are not ours

# `name as name`: re-exported for type checkers too (`compile` is not in
# __all__, yet `micrograd.compile` is public).
from micrograd_c import arena_stats as arena_stats, arena_trim as arena_trim  # noqa: E402
from micrograd.engine import Value as Value  # noqa: E402
from micrograd.capture import CompiledFunction as CompiledFunction, compile as compile  # noqa: E402
from micrograd.serialize import load as load, save as save  # noqa: E402

__version__ = "0.1.0"
# `compile` is left out: `from micrograd import *` must not shadow the builtin.
__all__ = ["Value", "arena_stats", "arena_trim", "CompiledFunction", "save", "load", "__version__"]
