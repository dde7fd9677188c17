"""micrograd's engine: the scalar `Value` and its autograd.

`Value` here is the compiled handle from `micrograd_c`; it behaves like the
original micrograd's class (same ops, same numbers, same `backward()`).

>>> from micrograd.engine import Value
>>> a = Value(2.0); b = Value(-3.0)
>>> c = (a * b + 1).relu() + a ** 2
>>> c.backward()
>>> c.data, a.grad, b.grad
(4.0, 4.0, 0.0)

`dot(ws, xs, start)` is ``sum((w * x for w, x in zip(ws, xs)), start)`` in
one C call: the same nodes, the same numbers, without the interpreter loop.
`take(values, i)` is ``values[i]``, and a selection that
``micrograd.compile`` can replay with other indices (``index_inputs``).
"""

from micrograd_c.kernels import dot
from micrograd_c.value import Index, Value, take

__all__ = ["Value", "dot", "take", "Index"]
