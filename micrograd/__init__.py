"""micrograd-c: a drop-in, C-accelerated micrograd.

Import it as you import micrograd::

    from micrograd.engine import Value
    from micrograd.nn import Neuron, Layer, MLP
"""

from micrograd_c import arena_stats
from micrograd.engine import Value

__version__ = "0.1.0"
__all__ = ["Value", "arena_stats", "__version__"]
