"""micrograd_c: the compiled core of micrograd-c.

The node arena, the `Value` handle, the op table and backward, in Cython.
Users normally import the `micrograd` facade instead::

    from micrograd.engine import Value
"""

from micrograd_c.arena import arena_stats, arena_trim
from micrograd_c.value import Value
from micrograd_c.kernels import dense, dot

__all__ = ["Value", "arena_stats", "arena_trim", "dense", "dot"]
