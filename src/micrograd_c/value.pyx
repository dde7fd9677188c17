# cython: language_level=3
"""`Value`: the Python handle of a node in the arena.

A handle holds nothing but its node's index, so it is not tracked by the
cyclic garbage collector; the graph itself lives in the arena. Each op is one
C call: it computes the forward value with Python's float semantics, raises
if Python would, and only then allocates the node.
"""

cimport cython
from cpython.object cimport PyObject
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsDouble

from micrograd_c.arena cimport (
    Arena, Node, get_arena, arena_reserve, node_put, node_decref,
    NODE_INT_CONST, NODE_EXTRA, NODE_TAPE_ROOT,
    OP_LEAF, OP_ADD, OP_MUL, OP_POW, OP_POWV, OP_RELU, OP_TANH, OP_EXP,
    OP_LOG, OP_SIGMOID, OP_CUSTOM)
from micrograd_c.ops cimport (
    op_forward, op_backward, FWD_OK, FWD_ZERO_POW_NEG, FWD_NEG_POW_FRAC,
    FWD_POW_RANGE, FWD_MATH_RANGE, FWD_MATH_DOMAIN)
from micrograd_c.graph cimport run_backward

import numbers

cdef Arena* A = get_arena()
cdef object _Real = numbers.Real
cdef object _Integral = numbers.Integral

# `_op` of each op code (OP_POW formats its exponent; see Value._op).
cdef tuple OP_NAMES = ('', '+', '*', '**', '**', 'ReLU', 'tanh', 'exp', 'log',
                       'sigmoid', '', '<freed>')

# Operand markers for _build: a child that is a plain number (made a leaf),
# or no child at all.
cdef enum:
    NUMBER = -2
    NONE = -1


# --- numbers ---------------------------------------------------------------

cdef int to_double(object x, double* out) except -1:
    """Store x's value and return 1 if x is a real number, else return 0.

    Real numbers are int, float, bool and anything registered as
    numbers.Real (numpy scalars, Fraction). Values are not numbers here.
    """
    cdef type t = type(x)
    if t is float:
        out[0] = PyFloat_AS_DOUBLE(x)
        return 1
    if t is int or t is bool:
        out[0] = PyLong_AsDouble(x)
        return 1
    if isinstance(x, Value):
        return 0
    if isinstance(x, float):
        out[0] = PyFloat_AS_DOUBLE(x)
        return 1
    if isinstance(x, _Real):
        out[0] = float(x)
        return 1
    return 0


cdef double number(object x, str what) except? -1.0:
    cdef double v
    if not to_double(x, &v):
        raise TypeError(f"{what} must be a real number (int, float, bool or a "
                        f"numpy scalar), not {type(x).__name__!r}")
    return v


cdef int raise_forward_error(int err) except -1:
    """Raise what Python's float math raises for forward error `err`."""
    if err == FWD_ZERO_POW_NEG:
        raise ZeroDivisionError("0.0 cannot be raised to a negative power")
    if err == FWD_NEG_POW_FRAC:
        raise ValueError("math domain error: a negative number cannot be "
                         "raised to a fractional power")
    if err == FWD_POW_RANGE:
        raise OverflowError(34, "Numerical result out of range")
    if err == FWD_MATH_RANGE:
        raise OverflowError("math range error")
    if err == FWD_MATH_DOMAIN:
        raise ValueError("math domain error")
    return 0


# --- extras: labels and user-built nodes -----------------------------------
# The few nodes that carry Python objects (a label, a user-given `_op`, the
# `_children` of `Value(data, _children, _op)`) keep them here, keyed by node
# index, so that handles themselves hold no object references. An entry is
# dropped by the arena when its node is freed.

cdef dict _extras = {}


cdef list _extra(int32_t i):
    cdef list e = _extras.get(i)
    if e is None:
        e = [None, None, None]        # label, op, children
        _extras[i] = e
        A.nodes[i].flags |= NODE_EXTRA
    return e


cdef void _on_extra_release(int32_t i) noexcept:
    _extras.pop(i, None)


A.on_extra_release = _on_extra_release


# --- handles ---------------------------------------------------------------

cdef inline void _attach(Value v, int32_t i) noexcept:
    v.idx = i
    A.nodes[i].refs += 1
    A.handles[i] = <PyObject*>v


cdef Value wrap(int32_t i):
    """The live handle of node i, made if it has none."""
    cdef PyObject* h = A.handles[i]
    if h != NULL:
        return <Value>h
    cdef Value v = Value.__new__(Value)
    _attach(v, i)
    return v


cdef inline double _fwd(int op, double x, double y, double c) except? -1.0:
    cdef int err = FWD_OK
    cdef double r = op_forward(op, x, y, c, &err)
    if err != FWD_OK:
        raise_forward_error(err)
    return r


cdef inline double _data(int32_t i, double num) noexcept:
    return num if i < 0 else A.nodes[i].data


cdef inline int32_t _alloc(int op, double r, int32_t a, double xa,
                           int32_t b, double xb, double c) noexcept:
    """Allocate op's node (after arena_reserve), making NUMBER operands
    leaves first, as the original's `Value(other)` does."""
    if a == NUMBER:
        a = node_put(A, OP_LEAF, xa, NONE, NONE, 0.0)
    if b == NUMBER:
        b = node_put(A, OP_LEAF, xb, NONE, NONE, 0.0)
    return node_put(A, op, r, a, b, c)


cdef Value _build(int op, int32_t a, double xa, int32_t b, double xb,
                  double c, unsigned char flags):
    """One op node over children a and b (node indices, NUMBER or NONE)."""
    cdef double r = _fwd(op, _data(a, xa), _data(b, xb), c)
    cdef Value v = Value.__new__(Value)
    arena_reserve(A, 3)
    cdef int32_t i = _alloc(op, r, a, xa, b, xb, c)
    A.nodes[i].flags |= flags
    _attach(v, i)
    return v


cdef Value _compound(int32_t x, bint inverse, int op, int32_t other, double xo,
                     bint x_left):
    """`op(t, other)` (x_left) or `op(other, t)` where t is x's negation
    (`x * -1`, as the original's `-x`) or, with inverse, `x ** -1`."""
    cdef double t
    cdef double r
    if inverse:
        t = _fwd(OP_POW, A.nodes[x].data, 0.0, -1.0)
    else:
        t = _fwd(OP_MUL, A.nodes[x].data, -1.0, 0.0)
    if x_left:
        r = _fwd(op, t, _data(other, xo), 0.0)
    else:
        r = _fwd(op, _data(other, xo), t, 0.0)
    cdef Value v = Value.__new__(Value)
    arena_reserve(A, 4)
    cdef int32_t n
    if inverse:
        n = _alloc(OP_POW, t, x, 0.0, NONE, 0.0, -1.0)
        A.nodes[n].flags |= NODE_INT_CONST
    else:
        n = _alloc(OP_MUL, t, x, 0.0, NUMBER, -1.0, 0.0)
    cdef int32_t i
    if x_left:
        i = _alloc(op, r, n, 0.0, other, xo, 0.0)
    else:
        i = _alloc(op, r, other, xo, n, 0.0, 0.0)
    _attach(v, i)
    return v


cdef inline bint _operand(object o, int32_t* i, double* x) except -1:
    """Classify a binary op's other operand: a Value (sets *i) or a number
    (sets *x, *i = NUMBER). False for anything else (-> NotImplemented)."""
    if isinstance(o, Value):
        i[0] = (<Value>o).idx
        return True
    if to_double(o, x):
        i[0] = NUMBER
        return True
    return False


cdef inline int32_t _own(Value v) except -1:
    """v's node, which v may change; a blank handle (made by Value.__new__
    without __init__) owns none."""
    if v.idx == 0:
        raise RuntimeError("this Value was never initialised (Value.__new__ "
                           "without __init__): it has no node to change")
    return v.idx


cdef object _binary(int op, Value self, object other):
    """`self op other`, or NotImplemented if other is not a number."""
    cdef int32_t j
    cdef double x
    if not _operand(other, &j, &x):
        return NotImplemented
    return _build(op, self.idx, 0.0, j, x, 0.0, 0)


cdef int32_t _custom_node(double x, tuple children) noexcept:
    """The node of `Value(x, children, op)` (arena reserved for len - 1).

    Its children are linked in the arena, as (c0, c1) or, for more, as
    (c0, link(c1, link(c2, ...))) through hidden OP_CUSTOM nodes, so that
    backward() reaches them as the original's does (the node itself, like
    the original's, passes no gradient on).
    """
    cdef Py_ssize_t k = len(children)
    cdef int32_t tail = (<Value>children[k - 1]).idx
    cdef Py_ssize_t j
    if k == 1:
        return node_put(A, OP_CUSTOM, x, tail, NONE, 0.0)
    for j in range(k - 2, 0, -1):
        tail = node_put(A, OP_CUSTOM, 0.0, (<Value>children[j]).idx, tail, 0.0)
    return node_put(A, OP_CUSTOM, x, (<Value>children[0]).idx, tail, 0.0)


def _restore(double data, double grad):
    """Unpickle a Value (as a leaf: the graph is not pickled)."""
    cdef Value v = Value(data)
    v.grad = grad
    return v


@cython.freelist(4096)
@cython.auto_pickle(False)
cdef class Value:
    """A scalar and its gradient: a node of the autograd graph.

    Same API as micrograd's ``Value``: arithmetic builds the graph and
    ``backward()`` fills in ``grad`` of every node the result depends on.

    >>> a = Value(-4.0); b = Value(2.0)
    >>> c = a * b + b ** 3
    >>> c.backward()
    >>> a.grad, b.grad
    (2.0, -4.0)
    """

    # Keep numpy from broadcasting over Values: `np.float64(2) * v` then
    # falls back to Value.__rmul__ and gives a Value.
    __array_ufunc__ = None

    def __init__(self, data, _children=(), _op='', label=''):
        """Value(data, _children=(), _op='', label='')

        data: a real number (int, float, bool, numpy scalar). _children and
        _op describe a node built by hand (as in the original, such a node
        passes no gradient on); label names it in graph pictures.
        """
        cdef double x = number(data, "Value data")
        cdef tuple children = tuple(_children)
        for ch in children:
            if not isinstance(ch, Value):
                raise TypeError(f"_children must be Values, not "
                                f"{type(ch).__name__!r}")
        if not isinstance(_op, str) or not isinstance(label, str):
            raise TypeError("_op and label must be strings")
        cdef Py_ssize_t k = len(children)
        arena_reserve(A, <int32_t>max(k - 1, 1))
        cdef int32_t old = self.idx
        cdef int32_t i = _custom_node(x, children) if k else \
            node_put(A, OP_LEAF, x, NONE, NONE, 0.0)
        _attach(self, i)
        if children or _op or label:
            _extra(i)[:] = [label or None, _op or None, children or None]
        if old > 0:                   # __init__ called again on a live handle
            if A.handles[old] == <PyObject*>self:
                A.handles[old] = NULL
            node_decref(A, old)

    def __dealloc__(self):
        cdef int32_t i = self.idx
        if i > 0:
            if A.handles[i] == <PyObject*>self:
                A.handles[i] = NULL
            node_decref(A, i)

    def __reduce__(self):
        return (_restore, (self.data, self.grad))

    @property
    def data(self):
        """The scalar this node holds (a float)."""
        return A.nodes[self.idx].data

    @data.setter
    def data(self, value):
        cdef double x = number(value, "data")
        A.nodes[_own(self)].data = x

    @property
    def grad(self):
        """d(root)/d(this node), accumulated by backward() (a float)."""
        return A.nodes[self.idx].grad

    @grad.setter
    def grad(self, value):
        cdef double x = number(value, "grad")
        A.nodes[_own(self)].grad = x

    @property
    def label(self):
        """A name for graph pictures ('' if none)."""
        if A.nodes[self.idx].flags & NODE_EXTRA:
            return _extras[self.idx][0] or ''
        return ''

    @label.setter
    def label(self, value):
        if not isinstance(value, str):
            raise TypeError(f"label must be a str, not {type(value).__name__!r}")
        _extra(_own(self))[0] = value or None

    @property
    def _op(self):
        """The op that produced this node: '', '+', '*', '**2', 'ReLU', ..."""
        cdef Node* n = &A.nodes[self.idx]
        if n.flags & NODE_EXTRA:
            op = _extras[self.idx][1]
            if op is not None:
                return op
        if n.op == OP_POW:
            if n.flags & NODE_INT_CONST:
                return f'**{int(A.consts[self.idx])}'
            return f'**{A.consts[self.idx]}'
        return OP_NAMES[n.op]

    @property
    def _prev(self):
        """The set of this node's children (the same objects while alive)."""
        cdef Node* n = &A.nodes[self.idx]
        if n.op == OP_CUSTOM:
            return set(_extras[self.idx][2])
        cdef set s = set()
        if n.a >= 0:
            s.add(wrap(n.a))
        if n.b >= 0:
            s.add(wrap(A.nodes[self.idx].b))
        return s

    def _backward(self):
        """Apply this node's local chain rule once (as the original's closure)."""
        op_backward(A, self.idx)

    def backward(self):
        """Set this node's grad to 1 and accumulate d(self)/d(node) into the
        grad of every node it depends on. Grads are not zeroed first."""
        if A.nodes[self.idx].flags & NODE_TAPE_ROOT and A.tape_backward != NULL:
            A.tape_backward(self.idx)
        else:
            run_backward(A, self.idx)

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    # --- arithmetic (decomposed exactly as the original) -------------------

    def __add__(self, other):
        return _binary(OP_ADD, self, other)

    def __radd__(self, other):            # other + self  ->  self + other
        return _binary(OP_ADD, self, other)

    def __mul__(self, other):
        return _binary(OP_MUL, self, other)

    def __rmul__(self, other):            # other * self  ->  self * other
        return _binary(OP_MUL, self, other)

    def __neg__(self):                    # self * -1
        return _build(OP_MUL, self.idx, 0.0, NUMBER, -1.0, 0.0, 0)

    def __sub__(self, other):             # self + (-other)
        cdef double x
        if isinstance(other, Value):
            return _compound((<Value>other).idx, False, OP_ADD, self.idx, 0.0, False)
        if not to_double(other, &x):
            return NotImplemented
        if type(other) is not float:
            x = number(-other, "operand")  # Python's negation (int 0 -> +0.0)
        else:
            x = -x
        return _build(OP_ADD, self.idx, 0.0, NUMBER, x, 0.0, 0)

    def __rsub__(self, other):            # other + (-self)  ->  (-self) + other
        cdef int32_t j
        cdef double x
        if not _operand(other, &j, &x):
            return NotImplemented
        return _compound(self.idx, False, OP_ADD, j, x, True)

    def __truediv__(self, other):         # self * other**-1
        cdef double x
        if isinstance(other, Value):
            return _compound((<Value>other).idx, True, OP_MUL, self.idx, 0.0, False)
        if not to_double(other, &x):
            return NotImplemented
        if type(other) is float or type(other) is int or type(other) is bool:
            x = _fwd(OP_POW, x, 0.0, -1.0)
        else:
            x = number(other ** -1, "operand")
        return _build(OP_MUL, self.idx, 0.0, NUMBER, x, 0.0, 0)

    def __rtruediv__(self, other):        # other * self**-1  ->  self**-1 * other
        cdef int32_t j
        cdef double x
        if not _operand(other, &j, &x):
            return NotImplemented
        return _compound(self.idx, True, OP_MUL, j, x, True)

    def __pow__(self, other, mod):
        cdef double c
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported for Value")
        if isinstance(other, Value):
            return _build(OP_POWV, self.idx, 0.0, (<Value>other).idx, 0.0, 0.0, 0)
        if not to_double(other, &c):
            return NotImplemented
        int_const = type(other) is int or (type(other) is not float and
                                           isinstance(other, _Integral))
        out = _build(OP_POW, self.idx, 0.0, NONE, 0.0, c,
                     NODE_INT_CONST if int_const else 0)
        if int_const and int(c) != other:   # |int| > 2**53: keep its digits
            _extra(out.idx)[1] = f'**{other}'
        return out

    def __rpow__(self, other, mod):       # Value(other) ** self
        cdef double x
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported for Value")
        if not to_double(other, &x):
            return NotImplemented
        return _build(OP_POWV, NUMBER, x, self.idx, 0.0, 0.0, 0)

    # --- unary ops -----------------------------------------------------------

    def relu(self):
        """max(0, x); '_op' 'ReLU'."""
        return _build(OP_RELU, self.idx, 0.0, NONE, 0.0, 0.0, 0)

    def tanh(self):
        """Hyperbolic tangent (math.tanh); '_op' 'tanh'."""
        return _build(OP_TANH, self.idx, 0.0, NONE, 0.0, 0.0, 0)

    def exp(self):
        """e**x (math.exp; OverflowError past ~709.78); '_op' 'exp'."""
        return _build(OP_EXP, self.idx, 0.0, NONE, 0.0, 0.0, 0)

    def log(self):
        """Natural log (math.log; ValueError for x <= 0); '_op' 'log'."""
        return _build(OP_LOG, self.idx, 0.0, NONE, 0.0, 0.0, 0)

    def sigmoid(self):
        """1 / (1 + e**-x), computed without overflow; '_op' 'sigmoid'."""
        return _build(OP_SIGMOID, self.idx, 0.0, NONE, 0.0, 0.0, 0)
