"""A deep chain: ``x = x * A + B`` repeated ``depth`` times, then backward.

Each repetition adds two levels to the graph (a ``*`` node, then a ``+``
node) and four nodes (two of them constant leaves), so a chain ``depth`` deep
has ``4 * depth + 1`` nodes and ``2 * depth + 1`` levels.  The original
micrograd's recursive topological sort needs one Python frame per level: it
survives ``depth`` 400 and raises RecursionError by ``depth`` 500.

The forward value and the gradient of the input are known exactly: the same
float operations run as a plain loop.
"""

A = 1.0000001
B = 1e-9


def chain(Value, depth):
    """Build the chain on ``Value``, backprop, return ``(x.data, x0.grad)``."""
    x0 = x = Value(1.0)
    for _ in range(depth):
        x = x * A + B
    x.backward()
    return x.data, x0.grad


def compiled_chain(compile, depth):
    """The chain as a function of ``x0`` compiled with ``micrograd.compile``,
    recorded here (one untimed call).  Returns ``fn``; ``replay_chain(fn)``
    replays it and backprops."""
    @compile
    def fn(x0):                    # x0's float arrives as a Value
        x = x0
        for _ in range(depth):
            x = x * A + B
        return x, x0

    fn(1.0)
    return fn


def replay_chain(fn):
    """Replay the recorded chain, run ``backward()`` over the recording,
    return ``(x.data, x0.grad)`` (as ``chain``)."""
    x, x0 = fn(1.0)
    x.backward()
    return x.data, x0.grad


def chain_torch(torch, depth):
    """The same chain on 0-d float64 tensors (autograd per scalar op)."""
    x0 = x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    for _ in range(depth):
        x = x * A + B
    x.backward()
    return x.item(), x0.grad.item()


def chain_reference(depth):
    """``(x.data, x0.grad)`` computed with plain floats in the engine's order."""
    x, g = 1.0, 1.0
    for _ in range(depth):
        x = x * A + B
        g = A * g          # mul's local grad: other.data * out.grad
    return x, g


def nodes(depth):
    return 4 * depth + 1
