# cython: language_level=3
"""Optimizers whose update loops run in C over the parameters' nodes.

Each step computes, per parameter, exactly the Python expression given in
the class docstring (same operations, same order), so it matches an update
written in Python per parameter bit for bit.
"""

from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.math cimport sqrt, pow
from libc.stdint cimport int32_t
from libc.string cimport memset

from micrograd_c.arena cimport Arena, Node, get_arena, checked_bytes, NODE_INT_DATA, NODE_INT_GRAD
from micrograd_c.value cimport Value, to_double, node_of

cdef Arena* A = get_arena()


cdef double _hyper(object x, str name, double low, bint low_open,
                   double high=float("inf")) except? -1.0:
    """A hyperparameter as a float in its range, or TypeError/ValueError."""
    cdef double v
    cdef bint is_int
    if isinstance(x, bool) or not to_double(x, &v, &is_int):
        raise TypeError(f"{name} must be a real number, not {type(x).__name__!r}")
    if not (v > low if low_open else v >= low) or not v < high:
        lo = "(" if low_open else "["
        raise ValueError(f"{name} must be in {lo}{low}, {high}), got {x!r}")
    return v


cdef class Optimizer:
    """Base: holds the parameters (a tuple of Values), the learning rate, the
    weight decay and the per-parameter state (`slots` zeroed doubles per
    parameter, made together with the parameter count, so that calling
    __init__ again can never leave them out of step). Steps find each
    parameter's node through its Value, so they follow a Value even if it is
    re-initialised."""
    cdef tuple _params
    cdef Py_ssize_t n
    cdef double _lr, _weight_decay
    cdef double* state      # `slots` arrays of n doubles, one after the other
    cdef int slots

    def __dealloc__(self):
        PyMem_Free(self.state)

    @property
    def lr(self):
        """Learning rate >= 0 (settable, e.g. for a schedule)."""
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = _hyper(value, "lr", 0.0, False)

    @property
    def weight_decay(self):
        """L2 penalty factor >= 0 (settable)."""
        return self._weight_decay

    @weight_decay.setter
    def weight_decay(self, value):
        self._weight_decay = _hyper(value, "weight_decay", 0.0, False)

    def __init__(self, params):
        params = tuple(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        for k, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"params[{k}] must be a Value, not "
                                f"{type(p).__name__!r}")
            node_of(p)
        if len(set(map(id, params))) != len(params):
            raise ValueError("params contain the same Value twice")
        cdef double* state = _zeros(len(params) * max(self.slots, 1))
        PyMem_Free(self.state)
        self.state = state
        self._params = params
        self.n = len(params)

    @property
    def params(self):
        """The parameters (a tuple of Values), in the order of the state."""
        return self._params

    cdef inline Node* _node(self, Py_ssize_t k) noexcept:
        return &A.nodes[(<Value>self._params[k]).idx]

    def zero_grad(self):
        """Set every parameter's grad to 0 (the int, as Module.zero_grad)."""
        cdef Py_ssize_t k
        cdef Node* p
        for k in range(self.n):
            p = self._node(k)
            p.grad = 0.0
            p.flags |= NODE_INT_GRAD


cdef double* _zeros(Py_ssize_t n) except NULL:
    cdef size_t nbytes = checked_bytes(n, sizeof(double))
    cdef double* p = <double*>PyMem_Malloc(nbytes)
    if p == NULL:
        raise MemoryError()
    memset(p, 0, nbytes)
    return p


cdef class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum and L2 decay.

    ``SGD(params, lr, momentum=0.0, weight_decay=0.0)``; ``step()`` does, for
    each parameter ``p`` (``buf`` starts at 0)::

        g = p.grad + weight_decay * p.data      # only if weight_decay != 0
        buf = momentum * buf + g                # only if momentum != 0
        g = buf                                 #   (then step along buf)
        p.data -= lr * g

    ``lr`` (and ``momentum``, ``weight_decay``) can be set at any time, e.g.
    for a learning-rate schedule.

    >>> from micrograd.engine import Value
    >>> w = Value(1.0); w.grad = 0.5
    >>> SGD([w], lr=0.1).step(); w.data
    0.95
    """
    cdef double _momentum

    def __cinit__(self):
        self.slots = 1                  # the momentum buffer

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        Optimizer.__init__(self, params)

    @property
    def momentum(self):
        """Momentum factor in [0, 1) (settable)."""
        return self._momentum

    @momentum.setter
    def momentum(self, value):
        self._momentum = _hyper(value, "momentum", 0.0, False, 1.0)

    def step(self):
        """One update of every parameter from its current grad."""
        cdef Node* p
        cdef Py_ssize_t k
        cdef double g
        cdef double lr = self._lr, mom = self._momentum, wd = self._weight_decay
        for k in range(self.n):
            p = self._node(k)
            g = p.grad
            if wd != 0.0:
                g = g + wd * p.data
            if mom != 0.0:
                self.state[k] = mom * self.state[k] + g
                g = self.state[k]
            p.data -= lr * g
            p.flags &= ~NODE_INT_DATA

    def state_dict(self):
        """The optimizer's state: hyperparameters and momentum buffers."""
        return {"type": "SGD", "lr": self._lr, "momentum": self._momentum,
                "weight_decay": self._weight_decay,
                "buf": [self.state[k] for k in range(self.n)]}

    def load_state_dict(self, state):
        """Restore what state_dict() returned (same number of parameters)."""
        _check_state(state, "SGD", self.n, ("buf",))
        buf = [float(x) for x in state["buf"]]
        lr = _hyper(state["lr"], "lr", 0.0, False)
        momentum = _hyper(state["momentum"], "momentum", 0.0, False, 1.0)
        weight_decay = _hyper(state["weight_decay"], "weight_decay", 0.0, False)
        self._lr, self._momentum, self._weight_decay = lr, momentum, weight_decay
        for k in range(self.n):
            self.state[k] = buf[k]


cdef class Adam(Optimizer):
    """Adam (Kingma & Ba), with bias correction, as PyTorch's default Adam.

    ``Adam(params, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)``;
    ``step()`` increments ``t`` and does, for each parameter ``p`` (``m``
    and ``v`` start at 0)::

        g = p.grad + weight_decay * p.data      # only if weight_decay != 0
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        p.data -= lr * m_hat / (math.sqrt(v_hat) + eps)

    ``lr`` and ``weight_decay`` are settable at any time.
    """
    cdef double beta1, beta2, _eps
    cdef long long _t

    def __cinit__(self):
        self.slots = 2                  # the moments m, then v

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0):
        self.lr = lr
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair, got {betas!r}") from None
        self.beta1 = _hyper(b1, "betas[0]", 0.0, False, 1.0)
        self.beta2 = _hyper(b2, "betas[1]", 0.0, False, 1.0)
        self._eps = _hyper(eps, "eps", 0.0, True)
        self.weight_decay = weight_decay
        Optimizer.__init__(self, params)
        self._t = 0

    @property
    def t(self):
        """Steps taken (the bias corrections' exponent)."""
        return self._t

    @property
    def betas(self):
        """(beta1, beta2)."""
        return (self.beta1, self.beta2)

    @property
    def eps(self):
        """The term added to the denominator."""
        return self._eps

    def step(self):
        """One update of every parameter from its current grad."""
        cdef Node* p
        cdef Py_ssize_t k
        cdef double g, m_hat, v_hat
        cdef double* m = self.state
        cdef double* v = self.state + self.n
        cdef double b1 = self.beta1, b2 = self.beta2
        cdef double lr = self._lr, eps = self._eps, wd = self._weight_decay
        self._t += 1
        cdef double c1 = 1.0 - pow(b1, <double>self._t)
        cdef double c2 = 1.0 - pow(b2, <double>self._t)
        for k in range(self.n):
            p = self._node(k)
            g = p.grad
            if wd != 0.0:
                g = g + wd * p.data
            m[k] = b1 * m[k] + (1.0 - b1) * g
            v[k] = b2 * v[k] + (1.0 - b2) * g * g
            m_hat = m[k] / c1
            v_hat = v[k] / c2
            p.data -= lr * m_hat / (sqrt(v_hat) + eps)
            p.flags &= ~NODE_INT_DATA

    def state_dict(self):
        """The optimizer's state: hyperparameters, step count and moments."""
        return {"type": "Adam", "lr": self._lr, "betas": [self.beta1, self.beta2],
                "eps": self._eps, "weight_decay": self._weight_decay,
                "t": self._t,
                "m": [self.state[k] for k in range(self.n)],
                "v": [self.state[self.n + k] for k in range(self.n)]}

    def load_state_dict(self, state):
        """Restore what state_dict() returned (same number of parameters)."""
        _check_state(state, "Adam", self.n, ("m", "v"))
        m = [float(x) for x in state["m"]]
        v = [float(x) for x in state["v"]]
        t = state["t"]
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= 2 ** 62:
            raise ValueError(f"Adam state: t must be an int in [0, 2**62], got {t!r}")
        b1, b2 = state["betas"]
        lr = _hyper(state["lr"], "lr", 0.0, False)
        beta1 = _hyper(b1, "betas[0]", 0.0, False, 1.0)
        beta2 = _hyper(b2, "betas[1]", 0.0, False, 1.0)
        eps = _hyper(state["eps"], "eps", 0.0, True)
        weight_decay = _hyper(state["weight_decay"], "weight_decay", 0.0, False)
        # All checked: now change the optimizer.
        self._lr, self.beta1, self.beta2 = lr, beta1, beta2
        self._eps, self._weight_decay, self._t = eps, weight_decay, t
        for k in range(self.n):
            self.state[k] = m[k]
            self.state[self.n + k] = v[k]


def _check_state(state, str kind, Py_ssize_t n, tuple arrays):
    if not isinstance(state, dict) or state.get("type") != kind:
        raise ValueError(f"not a {kind} state: {state!r:.80}")
    for name in arrays:
        if len(state[name]) != n:
            raise ValueError(f"{kind} state has {len(state[name])} entries in "
                             f"{name!r}, this optimizer has {n} parameters")
