# cython: language_level=3
"""Fused kernels: whole neuron and layer sums in one C call.

Each kernel builds exactly the nodes, in exactly the order, that the Python
expression it replaces would build, so values and gradients are bit-for-bit
those of the unfused code; it only skips the interpreter and the handles of
intermediate nodes.

    dot(ws, xs, start)   ==  sum((w * x for w, x in zip(ws, xs)), start)
    dense(neurons, x)    ==  [n(x) for n in neurons]   (micrograd.nn.Neuron)

Operands are read into a per-call C array of node indices and numbers. No
Python code may run between reading them and building the nodes (it could
free a node whose index was read), so exotic numbers (numpy scalars,
Fractions: anything whose conversion runs Python code) are first converted
into a private list of floats, and the reading starts again.
"""

from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsDouble
from libc.stdint cimport int32_t

from micrograd_c.arena cimport (
    Arena, get_arena, arena_reserve, node_put,
    OP_LEAF, OP_ADD, OP_MUL, OP_RELU, OP_TANH, OP_SIGMOID)
from micrograd_c.ops cimport op_forward
from micrograd_c.value cimport Value, wrap, to_double

cdef Arena* A = get_arena()

# micrograd.nn.Neuron.activation -> op code applied to the sum; -1: none
cdef dict ACTIVATION_OPS = {"relu": OP_RELU, "tanh": OP_TANH,
                            "sigmoid": OP_SIGMOID, "linear": -1}

cdef enum:
    STACK_OPERANDS = 512


# An operand: a node index, or -1 and the number in `num`.
ctypedef struct Operand:
    int32_t idx
    double num


cdef inline object _as_seq(object s):
    """s itself if a list or tuple (indexing them runs no Python code)."""
    if type(s) is list or type(s) is tuple:
        return s
    return list(s)


cdef bint _read(object seq, Operand* out) except -1:
    """Read seq (a list or tuple) into out. False, with nothing to trust in
    out, if an item is not a Value or an exact int, float or bool."""
    cdef Py_ssize_t k
    cdef type t
    for k, o in enumerate(seq):
        t = type(o)
        if t is Value:
            out[k].idx = (<Value>o).idx
        elif t is float:
            out[k].idx = -1
            out[k].num = PyFloat_AS_DOUBLE(o)
        elif isinstance(o, Value):
            out[k].idx = (<Value>o).idx
        elif t is int or t is bool:
            out[k].idx = -1
            out[k].num = PyLong_AsDouble(o)
        else:
            return False
    return True


cdef list _floats(object seq, str what):
    """seq with every number turned into a float (TypeError for non-numbers)."""
    cdef double x
    cdef list out = []
    for k, o in enumerate(seq):
        if isinstance(o, Value):
            out.append(o)
        elif to_double(o, &x):
            out.append(x)
        else:
            raise TypeError(f"{what}[{k}] must be a Value or a real number, "
                            f"not {type(o).__name__!r}")
    return out


cdef object _scalar(object o, str what):
    """A Value or a float, from a Value or a number."""
    cdef double x
    if isinstance(o, Value):
        return o
    if to_double(o, &x):
        return x
    raise TypeError(f"{what} must be a Value or a real number, not "
                    f"{type(o).__name__!r}")


cdef inline Operand _operand(object o) noexcept:
    """A Value or an exact float (see _scalar) as an operand."""
    cdef Operand r
    if type(o) is float:
        r.idx = -1
        r.num = PyFloat_AS_DOUBLE(o)
    else:
        r.idx = (<Value>o).idx
    return r


cdef inline double _val(Operand o) noexcept:
    return o.num if o.idx < 0 else A.nodes[o.idx].data


cdef inline int32_t _node(int op, Operand p, Operand q) noexcept:
    """`p op q` for a Value p (no error possible for + * and activations);
    a number q becomes a leaf first, as `Value(q)` in the original."""
    cdef int err = 0
    cdef double r = op_forward(op, _val(p), _val(q), 0.0, &err)
    cdef int32_t b = q.idx
    if op == OP_ADD or op == OP_MUL:
        if b < 0:
            b = node_put(A, OP_LEAF, q.num, -1, -1, 0.0)
    else:
        b = -1
    return node_put(A, op, r, p.idx, b, 0.0)


cdef inline Operand _binop(int op, Operand p, Operand q) noexcept:
    """`p op q` for op + or *, at least one of p and q a Value, as Python
    evaluates it: `Value op x` keeps its order, `number op Value` runs the
    Value's reflected op (the Value comes first). (Callers leave products
    of two plain numbers to Python, whose ints are exact.)"""
    cdef Operand r
    r.idx = _node(op, p, q) if p.idx >= 0 else _node(op, q, p)
    return r


cdef Operand _dot(Operand* w, Operand* x, Py_ssize_t n, Operand acc) noexcept:
    """acc + w[0]*x[0] + w[1]*x[1] + ..., left to right (arena reserved)."""
    cdef Py_ssize_t k
    for k in range(n):
        acc = _binop(OP_ADD, acc, _binop(OP_MUL, w[k], x[k]))
    return acc


cdef inline object _result(Operand r):
    return wrap(r.idx) if r.idx >= 0 else r.num


cdef Operand* _buffer(Py_ssize_t n, Operand* small) except NULL:
    if n <= STACK_OPERANDS:
        return small
    cdef Operand* p = <Operand*>PyMem_Malloc(n * sizeof(Operand))
    if p == NULL:
        raise MemoryError()
    return p


def dot(ws, xs, start=None):
    """``sum((w * x for w, x in zip(ws, xs)), start)`` in one C call.

    ws, xs: sequences of Values or numbers, of the same length (ValueError
    otherwise: no silent truncation as with zip). start: a Value, a number,
    or None for sum's default 0. Builds the very nodes the expression
    builds, in the same order, so results and gradients are identical.
    Returns a Value (a number when no Value is involved).

    >>> from micrograd.engine import Value, dot
    >>> w = [Value(0.5), Value(-2.0)]
    >>> dot(w, [4.0, 1.0], Value(1.0)).data
    1.0
    """
    ws = _as_seq(ws)
    xs = _as_seq(xs)
    cdef Py_ssize_t n = len(ws)
    if len(xs) != n:
        raise ValueError(f"dot: {n} weights but {len(xs)} inputs")
    if n == 0:
        return 0 if start is None else start
    cdef double ignored
    for w, x in zip(ws, xs):
        if (not isinstance(w, Value) and not isinstance(x, Value)
                and to_double(w, &ignored) and to_double(x, &ignored)):
            # A product of two plain numbers is Python's (ints are exact):
            # the expression itself, as it stands.
            return sum((w * x for w, x in zip(ws, xs)), 0 if start is None else start)
    start = 0.0 if start is None else _scalar(start, "start")
    cdef Operand[STACK_OPERANDS] small
    cdef Operand* buf = _buffer(2 * n, small)
    try:
        while not (_read(ws, buf) and _read(xs, buf + n)):
            ws = _floats(ws, "ws")
            xs = _floats(xs, "xs")
        arena_reserve(A, <int32_t>(3 * n + 1))
        return _result(_dot(buf, buf + n, n, _operand(start)))
    finally:
        if buf != small:
            PyMem_Free(buf)


cdef int _activation(object neuron) except -2:
    if not neuron.nonlin:
        return -1
    op = ACTIVATION_OPS.get(neuron.activation)
    if op is None:
        raise ValueError(f"unknown activation {neuron.activation!r}")
    return op


# Bumped by micrograd.nn whenever a Neuron's attribute is set: layer plans
# made before then are read again.
cdef unsigned long long _nn_version = 0


def touch():
    """Note that a Neuron's attributes changed (DenseLayer plans are stale)."""
    global _nn_version
    _nn_version += 1


cdef class _Plan:
    """What a layer's fused call needs from its neurons, read once."""
    cdef object source      # the neurons list read
    cdef tuple neurons      # its items then
    cdef list rows          # each neuron's weights (as the neuron holds them)
    cdef list biases        # each neuron's bias: a Value or a float
    cdef int* acts          # each neuron's activation op, -1: none
    cdef Py_ssize_t n

    def __dealloc__(self):
        PyMem_Free(self.acts)

    cdef bint current(self, object neurons):
        """Whether neurons is still the list read, with the same items, and
        no Neuron attribute was set since (see touch)."""
        cdef Py_ssize_t k
        if (neurons is not self.source or type(neurons) is not list
                or len(<list>neurons) != self.n):
            return False
        for k in range(self.n):
            if (<list>neurons)[k] is not self.neurons[k]:
                return False
        return True


cdef _Plan _gather(object neurons, object neuron_type):
    """Read the neurons' attributes (this may run Python code), or None if a
    neuron is not exactly of neuron_type."""
    cdef _Plan plan = _Plan.__new__(_Plan)
    cdef Py_ssize_t k
    plan.source = neurons
    plan.neurons = tuple(neurons)      # any iterable; nothing more is read
    plan.n = len(plan.neurons)
    plan.rows = [None] * plan.n
    plan.biases = [None] * plan.n
    plan.acts = <int*>PyMem_Malloc(max(plan.n, 1) * sizeof(int))
    if plan.acts == NULL:
        raise MemoryError()
    for k, neuron in enumerate(plan.neurons):
        if neuron_type is not None and type(neuron) is not neuron_type:
            return None
        plan.rows[k] = neuron.w
        plan.biases[k] = _scalar(neuron.b, "bias")
        plan.acts[k] = _activation(neuron)
    return plan


cdef list _run(list plans, object x):
    """Layers of neurons (one plan each) applied to x in turn, built in one
    go; the outputs of the last layer (None, building nothing, if a weight
    is not a Value). A hidden layer's outputs feed the next layer as nodes,
    without handles."""
    x = _as_seq(x)
    cdef Py_ssize_t nlayers = len(plans), l, k
    cdef Py_ssize_t nin, nout, total, widest = 0
    cdef _Plan plan
    cdef list rows_of = [None] * nlayers     # rows per layer, copied if changed
    cdef Operand[STACK_OPERANDS] small
    cdef Operand* buf = NULL
    cdef Operand* cur
    cdef Operand* nxt
    cdef Operand* w
    cdef Operand acc
    cdef int act
    cdef int32_t nodes = 0
    cdef bint ok
    # Sizes: every neuron of layer l takes the outputs of layer l - 1.
    nin = len(x)
    total = nin
    for l in range(nlayers):
        plan = plans[l]
        rows = plan.rows
        for k in range(plan.n):
            row = rows[k]
            if type(row) is not list and type(row) is not tuple:
                if rows is plan.rows:
                    rows = list(rows)
                row = rows[k] = list(row)
            if len(row) != nin:
                raise ValueError(f"Neuron expects {len(row)} inputs, got {nin}")
        rows_of[l] = rows
        total += plan.n * nin
        nodes += <int32_t>(plan.n * (3 * nin + 2))
        widest = max(widest, plan.n)
        nin = plan.n
    buf = _buffer(total + 2 * widest, small)
    try:
        # Read every operand; convert exotic numbers (which runs Python
        # code) and read everything again.
        while True:
            ok = _read(x, buf)
            if not ok:
                x = _floats(x, "x")
                continue
            w = buf + len(x)
            nin = len(x)
            for l in range(nlayers):
                rows = rows_of[l]
                for k in range((<_Plan>plans[l]).n):
                    ok = _read(rows[k], w)
                    if not ok:
                        if rows is (<_Plan>plans[l]).rows:
                            rows = rows_of[l] = list(rows)
                        rows[k] = _floats(rows[k], "w")
                        break
                    w += nin
                if not ok:
                    break
                nin = (<_Plan>plans[l]).n
            if ok:
                break
        # Weights that are plain numbers (never so in micrograd.nn) would
        # multiply plain-number inputs as Python does: leave them to Python.
        for k in range(len(x), total):
            if buf[k].idx < 0:
                return None
        # Build: no Python code runs from here on.
        arena_reserve(A, nodes)
        cur = buf
        nin = len(x)
        w = buf + nin
        nxt = buf + total
        for l in range(nlayers):
            plan = plans[l]
            for k in range(plan.n):
                acc = _dot(w, cur, nin, _operand(plan.biases[k]))
                act = plan.acts[k]
                if act >= 0 and acc.idx >= 0:
                    acc.idx = _node(act, acc, acc)
                nxt[k] = acc
                w += nin
            cur = nxt
            nxt = buf + total + widest if cur == buf + total else buf + total
            nin = plan.n
        out = PyList_New(nin)
        for k in range(nin):
            r = _result(cur[k])
            Py_INCREF(r)
            PyList_SET_ITEM(out, k, r)
        return out
    finally:
        if buf != small:
            PyMem_Free(buf)


def dense(neurons, x, neuron_type=None):
    """``[n(x) for n in neurons]`` for micrograd.nn Neurons, in one C call.

    Each neuron computes ``activation(sum((w*x for w, x in zip(n.w, x)), n.b))``
    with the nodes, in the order, that micrograd.nn.Neuron builds, so the
    outputs equal the unfused ones bit for bit. Raises ValueError when
    ``len(x)`` differs from a neuron's number of weights. Everything is
    checked before any node is built. Returns None (building nothing) if a
    weight is not a Value, or, with ``neuron_type``, if a neuron is not
    exactly of that type: callers then compute those neurons themselves.
    """
    plan = _gather(neurons, neuron_type)
    return None if plan is None else _run([plan], x)


cdef class DenseLayer:
    """``dense`` for one layer, reading its neurons' attributes only when
    something changed: the neurons list (another list, or other items) or
    any Neuron attribute (micrograd.nn calls ``touch()`` when one is set).
    Weights and biases are read at every call, so in-place updates
    (``p.data -= ...``, ``n.w[i] = v``) always show.

    >>> from micrograd.nn import Neuron
    >>> layer = DenseLayer(Neuron)
    >>> neurons = [Neuron(2), Neuron(2)]
    >>> len(layer(neurons, [1.0, 2.0]))
    2
    """
    cdef _Plan plan
    cdef unsigned long long version
    cdef object neuron_type

    def __init__(self, neuron_type=None):
        self.neuron_type = neuron_type

    def __call__(self, neurons, x):
        """The outputs of ``neurons`` on ``x`` (a list), or None (building
        nothing) if a neuron is not of this layer's neuron type or a weight
        is not a Value."""
        if (self.plan is None or self.version != _nn_version
                or not self.plan.current(neurons)):
            self.plan = _gather(neurons, self.neuron_type)
            if self.plan is None:
                return None
            self.version = _nn_version
        return _run([self.plan], x)

    def __reduce__(self):
        return (DenseLayer, (self.neuron_type,))


cdef class DenseStack:
    """Layers called in turn, ``for layer in layers: x = layer(x)``, in one C
    call, for micrograd.nn's MLP: the hidden layers' outputs go straight to
    the next layer, with no Python objects made for them. The nodes are the
    ones the layers would build, in the same order.

    The layers' and neurons' attributes are read again only after a change
    (another list or other items, at either level, or ``touch()``).
    Returns None, building nothing, when there are no layers, a layer or
    neuron is not of the given types, a weight is not a Value, or a hidden
    layer has fewer than two neurons (the layers then run as they are, e.g.
    to raise as the original does).
    """
    cdef list plans
    cdef object layers_list         # the list object last seen
    cdef tuple layers               # its items then
    cdef unsigned long long version
    cdef object layer_type, neuron_type

    def __init__(self, layer_type, neuron_type):
        self.layer_type = layer_type
        self.neuron_type = neuron_type

    cdef bint _current(self, object layers) except -1:
        cdef Py_ssize_t l
        if (self.plans is None or layers is not self.layers_list
                or self.version != _nn_version or type(layers) is not list
                or len(<list>layers) != len(self.layers)):
            return False
        for l in range(len(self.layers)):
            layer = (<list>layers)[l]
            if (layer is not self.layers[l]
                    or not (<_Plan>self.plans[l]).current(layer.neurons)):
                return False
        return True

    def __call__(self, layers, x):
        """The last layer's outputs (a list), or None (see the class)."""
        cdef Py_ssize_t l
        if not self._current(layers):
            self.plans = None
            layers = _as_seq(layers)
            if not layers:
                return None
            plans = []
            for l, layer in enumerate(layers):
                if type(layer) is not self.layer_type:
                    return None
                plan = _gather(layer.neurons, self.neuron_type)
                if plan is None or ((<_Plan>plan).n < 2 and l < len(layers) - 1):
                    return None
                plans.append(plan)
            self.layers = tuple(layers)
            self.layers_list = layers
            self.version = _nn_version
            self.plans = plans
        return _run(self.plans, x)

    def __reduce__(self):
        return (DenseStack, (self.layer_type, self.neuron_type))
