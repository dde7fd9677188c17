# cython: language_level=3
"""Fused kernels: whole neuron and layer sums in one C call.

Each kernel builds exactly the nodes, in exactly the order, that the Python
expression it replaces would build, so values and gradients are bit-for-bit
those of the unfused code; it only skips the interpreter and the handles of
intermediate nodes.

    dot(ws, xs, start)          ==  sum((w * x for w, x in zip(ws, xs)), start)
    dense(rows, biases, acts, x)
        ==  [act(sum((w * xi for w, xi in zip(row, x)), b))
             for row, b, act in zip(rows, biases, acts)]
    Stack(layers)(x)            ==  dense applied layer after layer

The kernels know nothing of micrograd.nn: they take rows of weights,
biases and activation codes (`UNARY`, the table's unary ops by method name;
-1 for none). They run only when that equality holds by construction:
every operand an exact `Value`, float, int or bool, and `Value`'s `+`, `*`
and the activations as the op table makes them (not monkeypatched). For
anything else `dot` evaluates the expression itself, and `dense` and
`Stack` return None, building nothing, so that the caller computes the
layer as written.

Operands are read into a per-call C array of node indices and numbers;
reading them runs no Python code, so nothing can change between sizing the
array, reading and building.
"""

from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsDouble
from libc.stdint cimport int32_t, uint64_t

from micrograd_c.arena cimport (
    Arena, get_arena, arena_reserve, node_put, checked_bytes, NODE_INT_DATA)
from micrograd_c.ops cimport (
    OP_LEAF, OP_ADD, OP_MUL, N_OPS, mg_forward, mg_op_methods, mg_op_arity)
from micrograd_c.value cimport Value, wrap

cdef Arena* A = get_arena()

cdef extern from "Python.h":
    PyObject* PyDict_GetItem(object d, object key)
    ctypedef struct PyListObject:
        PyObject** ob_item
    ctypedef struct PyTupleObject:
        PyObject* ob_item[1]

cdef extern from *:
    """
    static PyObject *mg_type_dict(PyTypeObject *t) { return t->tp_dict; }
    static void *mg_nb_add(PyTypeObject *t) { return (void *)t->tp_as_number->nb_add; }
    static void *mg_nb_mul(PyTypeObject *t) { return (void *)t->tp_as_number->nb_multiply; }
    """
    PyObject* mg_type_dict(PyTypeObject* t)
    void* mg_nb_add(PyTypeObject* t)
    void* mg_nb_mul(PyTypeObject* t)

cdef enum:
    STACK_OPERANDS = 512
    NO_ACTIVATION = -1

# The unary ops by Value method name, for activation codes.
UNARY = {mg_op_methods[op].decode(): op for op in range(N_OPS)
         if mg_op_arity[op] == 1 and mg_op_methods[op][0] != 0}

# What `Value` was made with, to tell whether it was monkeypatched since.
cdef PyTypeObject* VALUE_TYPE = <PyTypeObject*>Value
cdef void* NB_ADD = mg_nb_add(VALUE_TYPE)
cdef void* NB_MUL = mg_nb_mul(VALUE_TYPE)
cdef list METHOD_NAMES = [mg_op_methods[op].decode() for op in range(N_OPS)]
cdef PyObject* METHODS[64]
for _op in range(N_OPS):
    METHODS[_op] = (PyDict_GetItem(<object>mg_type_dict(VALUE_TYPE), METHOD_NAMES[_op])
                    if mg_op_arity[_op] == 1 and METHOD_NAMES[_op] else NULL)


cdef bint _arithmetic_intact() noexcept:
    """Value's + and * are still the op table's."""
    return mg_nb_add(VALUE_TYPE) == NB_ADD and mg_nb_mul(VALUE_TYPE) == NB_MUL


cdef bint _method_intact(int op):
    """Value's method of unary op `op` is still the one made from the table."""
    return (METHODS[op] != NULL and
            PyDict_GetItem(<object>mg_type_dict(VALUE_TYPE), METHOD_NAMES[op]) == METHODS[op])


# An operand: a node index, or -1 and the number in `num` (an int if is_int).
ctypedef struct Operand:
    int32_t idx
    bint is_int
    double num


cdef inline object _as_seq(object s):
    """s itself if a list or tuple (indexing them runs no Python code)."""
    if type(s) is list or type(s) is tuple:
        return s
    return list(s)


cdef bint _read(object seq, Py_ssize_t n, Operand* out) except -1:
    """Read the first n items of seq (a list or tuple) into out. False, with
    nothing to trust in out, if an item is not an exact Value (with a node),
    float, int or bool."""
    cdef Py_ssize_t k
    cdef type t
    cdef PyObject** items = _items(seq)
    for k in range(n):
        o = <object>items[k]
        t = type(o)
        if t is Value:
            out[k].idx = (<Value>o).idx
            if out[k].idx <= 0:
                return False
        elif t is float:
            out[k].idx = -1
            out[k].is_int = False
            out[k].num = PyFloat_AS_DOUBLE(o)
        elif t is int or t is bool:
            out[k].idx = -1
            out[k].is_int = True
            out[k].num = PyLong_AsDouble(o)
        else:
            return False
    return True


cdef inline PyObject** _items(object seq) noexcept:
    """The item array of a list or tuple (valid while nothing changes it)."""
    if type(seq) is list:
        return (<PyListObject*>seq).ob_item
    return (<PyTupleObject*>seq).ob_item


cdef bint _read_one(object o, Operand* out) except -1:
    """_read for a single item."""
    cdef type t = type(o)
    if t is Value:
        out.idx = (<Value>o).idx
        return out.idx > 0
    if t is float:
        out.idx = -1
        out.is_int = False
        out.num = PyFloat_AS_DOUBLE(o)
        return True
    if t is int or t is bool:
        out.idx = -1
        out.is_int = True
        out.num = PyLong_AsDouble(o)
        return True
    return False


cdef inline double _val(Operand o) noexcept:
    return o.num if o.idx < 0 else A.nodes[o.idx].data


cdef inline int32_t _node(int op, Operand p, Operand q) noexcept:
    """`p op q` for a Value p (no error possible for + * and activations);
    a number q becomes a leaf first, as `Value(q)` in the original."""
    cdef int err = 0
    cdef double r = mg_forward(op, _val(p), _val(q), 0.0, &err)
    cdef int32_t b = q.idx
    if op == OP_ADD or op == OP_MUL:
        if b < 0:
            b = node_put(A, OP_LEAF, q.num, -1, -1, 0.0,
                         NODE_INT_DATA if q.is_int else 0)
    else:
        b = -1
    return node_put(A, op, r, p.idx, b, 0.0, 0)


cdef inline Operand _binop(int op, Operand p, Operand q) noexcept:
    """`p op q` for op + or *, at least one of p and q a Value, as Python
    evaluates it: `Value op x` keeps its order, `number op Value` runs the
    Value's reflected op (the Value comes first)."""
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
    return wrap(r.idx)


cdef Operand* _buffer(Py_ssize_t n, Operand* small) except NULL:
    if n <= STACK_OPERANDS:
        return small
    cdef Operand* p = <Operand*>PyMem_Malloc(checked_bytes(n, sizeof(Operand)))
    if p == NULL:
        raise MemoryError()
    return p


def dot(ws, xs, start=None, *, strict=True):
    """``sum((w * x for w, x in zip(ws, xs)), start)`` in one C call.

    ws, xs: sequences of Values or numbers. With ``strict`` (the default)
    they must have the same length (ValueError otherwise); with
    ``strict=False`` the longer is cut, as ``zip`` does. start: a Value, a
    number, or None for sum's default 0. Builds the very nodes the
    expression builds, in the same order, so results and gradients are
    identical (operands other than exact Values, floats, ints and bools are
    left to the expression itself).

    >>> from micrograd.engine import Value, dot
    >>> w = [Value(0.5), Value(-2.0)]
    >>> dot(w, [4.0, 1.0], Value(1.0)).data
    1.0
    """
    ws = _as_seq(ws)
    xs = _as_seq(xs)
    cdef Py_ssize_t n = len(ws)
    if len(xs) != n:
        if strict:
            raise ValueError(f"dot: {n} weights but {len(xs)} inputs")
        n = min(n, len(xs))
    cdef Operand[STACK_OPERANDS] small
    cdef Operand* buf = _buffer(2 * n + 1, small)
    cdef Operand acc
    try:
        if (n == 0 or not _arithmetic_intact()
                or not _read(ws, n, buf) or not _read(xs, n, buf + n)
                or not _read_one(0 if start is None else start, &acc)
                or not _all_pairs_have_a_value(buf, buf + n, n)):
            return sum((w * x for w, x in zip(ws[:n], xs[:n])),
                       0 if start is None else start)
        arena_reserve(A, 3 * n + 1)
        return _result(_dot(buf, buf + n, n, acc))
    finally:
        if buf != small:
            PyMem_Free(buf)


cdef bint _all_pairs_have_a_value(Operand* w, Operand* x, Py_ssize_t n) noexcept:
    """A product of two plain numbers is Python's (ints are exact): the
    expression's, not the kernel's."""
    cdef Py_ssize_t k
    for k in range(n):
        if w[k].idx < 0 and x[k].idx < 0:
            return False
    return True


# --- layers -------------------------------------------------------------------

cdef class Stack:
    """Layers applied to x in turn, in one C call.

    ``Stack(layers, watched=())``: each layer is ``(rows, biases, acts)``,
    lists of equal length: a row of weights (a list or tuple of Values),
    a bias and an activation code (``UNARY[name]``, or -1 for none) per
    neuron. ``stack(x)`` gives
    ``[act(sum((w * xi for w, xi in zip(row, x)), b)) ...]`` for each layer,
    the next layer's x, and returns the last layer's outputs as a list of
    Values. The rows are read at every call (so changes to their items show);
    the biases and codes are the ones given.

    Returns None, building nothing, when the kernel cannot give exactly that
    (see the module), or when a list of ``watched`` no longer holds the items
    it held at construction (the caller's description is stale).
    """
    cdef list rows_of       # per layer: its list of rows
    cdef list biases_of     # per layer: its list of biases
    cdef int* acts          # every neuron's activation, layer after layer
    cdef uint64_t act_set   # the activations used (bit per op code)
    cdef Py_ssize_t nneurons, widest
    cdef list watched       # lists that must still hold ...
    cdef list snapshot      # ... these items (tuples)

    def __cinit__(self):
        self.acts = NULL

    def __dealloc__(self):
        PyMem_Free(self.acts)

    def __init__(self, layers, watched=()):
        cdef Py_ssize_t k, n = 0
        cdef int act
        self.rows_of, self.biases_of = [], []
        codes = []
        for layer in layers:
            if type(layer) is not tuple or len(<tuple>layer) != 3:
                raise TypeError("Stack: each layer is (rows, biases, acts)")
            rows, biases, acts = layer
            if type(rows) is not list or type(biases) is not list or type(acts) is not list:
                raise TypeError("Stack: rows, biases and acts are lists")
            if not rows or len(biases) != len(rows) or len(acts) != len(rows):
                raise ValueError(f"Stack: a layer of {len(rows)} rows has "
                                 f"{len(biases)} biases and {len(acts)} activations")
            for act in acts:
                if act != NO_ACTIVATION and not (0 <= act < N_OPS and METHODS[act] != NULL):
                    raise ValueError(f"Stack: {act} is not a unary op code (UNARY) or -1")
            self.rows_of.append(rows)
            self.biases_of.append(list(biases))
            codes.extend(acts)
            self.widest = max(self.widest, len(rows))
        if not self.rows_of:
            raise ValueError("Stack: no layers")
        self.nneurons = len(codes)
        self.acts = <int*>PyMem_Malloc(checked_bytes(self.nneurons, sizeof(int)))
        if self.acts == NULL:
            raise MemoryError()
        for k, act in enumerate(codes):
            self.acts[k] = act
            if act != NO_ACTIVATION:
                self.act_set |= (<uint64_t>1) << act
        self.watched = list(watched)
        self.snapshot = [tuple(w) for w in self.watched]

    cdef bint _fresh(self) noexcept:
        """The watched lists hold what they held, and Value's +, * and
        activations are the op table's."""
        cdef Py_ssize_t k, j, n
        cdef PyObject** items
        cdef PyObject** then
        for k in range(len(self.watched)):
            w = self.watched[k]
            n = len(<list>w)
            if n != len(<tuple>self.snapshot[k]):
                return False
            items = (<PyListObject*>w).ob_item
            then = (<PyTupleObject*>self.snapshot[k]).ob_item
            for j in range(n):
                if items[j] != then[j]:
                    return False
        if not _arithmetic_intact():
            return False
        for j in range(N_OPS):
            if (self.act_set >> j) & 1 and not _method_intact(<int>j):
                return False
        return True

    def __call__(self, x):
        if type(x) is not list and type(x) is not tuple:
            return None
        if not self._fresh():
            return None
        cdef Py_ssize_t nin = len(x), nodes = 0
        cdef Py_ssize_t total = self._sizes(nin, &nodes)
        if total < 0:
            return None
        cdef Operand[STACK_OPERANDS] small
        cdef Operand* buf = _buffer(nin + total + 2 * self.widest, small)
        cdef Operand* last
        try:
            if not _read(x, nin, buf) or not self._read(nin, buf + nin):
                return None
            arena_reserve(A, nodes)
            # No Python code runs from here on.
            last = self._build(buf, nin, buf + nin, buf + nin + total,
                               buf + nin + total + self.widest)
            return _outputs(last, len(<list>self.rows_of[len(self.rows_of) - 1]))
        finally:
            if buf != small:
                PyMem_Free(buf)

    cdef Py_ssize_t _sizes(self, Py_ssize_t nin, Py_ssize_t* nodes):
        """The operands the layers read (weights, biases), -1 if a row is
        not a list or tuple; adds the nodes they build to *nodes."""
        cdef Py_ssize_t total = 0, k, m
        for rows in self.rows_of:
            for k in range(len(<list>rows)):
                row = <object>(<PyListObject*>rows).ob_item[k]
                if type(row) is not list and type(row) is not tuple:
                    return -1
                m = min(len(row), nin)
                total += m + 1
                nodes[0] += 3 * m + 3
            nin = len(<list>rows)
        return total

    cdef bint _read(self, Py_ssize_t nin, Operand* w) except -1:
        """Read every layer's weights and biases, row after row (each row
        then its bias); False if they do not fit."""
        cdef Py_ssize_t l, k, m, j
        for l in range(len(self.rows_of)):
            rows = self.rows_of[l]
            biases = self.biases_of[l]
            for k in range(len(<list>rows)):
                row = <object>(<PyListObject*>rows).ob_item[k]
                m = min(len(row), nin)
                if not _read(row, m, w) or not _read_one((<list>biases)[k], w + m):
                    return False
                for j in range(m):
                    if w[j].idx < 0:           # a number weight: Python's product
                        return False
                if m == 0 and w[m].idx < 0:    # a bare number bias is no Value
                    return False
                w += m + 1
            nin = len(<list>rows)
        return True

    cdef Operand* _build(self, Operand* x, Py_ssize_t nin, Operand* w,
                         Operand* out0, Operand* out1) noexcept:
        """Build every layer in turn (arena reserved); returns the last
        layer's outputs (in out0 or out1)."""
        cdef Py_ssize_t l, k, m, nout, neuron = 0
        cdef Operand acc
        cdef Operand* out = out0
        cdef int act
        for l in range(len(self.rows_of)):
            rows = self.rows_of[l]
            nout = len(<list>rows)
            for k in range(nout):
                m = min(len(<object>(<PyListObject*>rows).ob_item[k]), nin)
                acc = _dot(w, x, m, w[m])
                act = self.acts[neuron]
                neuron += 1
                if act != NO_ACTIVATION:
                    acc.idx = _node(act, acc, acc)
                out[k] = acc
                w += m + 1
            x = out
            out = out1 if out == out0 else out0
            nin = nout
        return x


cdef list _outputs(Operand* ops, Py_ssize_t n):
    cdef list out = PyList_New(n)
    cdef Py_ssize_t k
    for k in range(n):
        r = _result(ops[k])
        Py_INCREF(r)
        PyList_SET_ITEM(out, k, r)
    return out


def dense_stack(layers, x):
    """``Stack(layers)(x)``: the layers applied to x in turn, in one call."""
    return Stack(layers)(x)


def dense(rows, biases, acts, x):
    """One layer: ``Stack([(rows, biases, acts)])(x)``."""
    return Stack([(rows, biases, acts)])(x)
