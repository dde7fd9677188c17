# cython: language_level=3
"""Capture and replay: a recorded graph re-run in C, with no Python per node.

A Tape holds the nodes created while it recorded, in creation order (which
is a topological order), each pinned by one reference of the tape's own.
Replaying writes new numbers into the tape's input leaves, recomputes every
recorded op from its children's values in that order and zeroes the
recorded grads, which is exactly the state a fresh dynamic run of the same
code would leave. Values from outside the recording (parameters) are read
live. backward() from a recorded root sweeps the recorded nodes reachable
from it in reverse creation order: no topological sort.

micrograd.compile (micrograd/compile.py) decides when to record and when to
replay; this module only records and replays.
"""

from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.stdint cimport int32_t, uint32_t
from libc.string cimport memcpy
from cpython.pythread cimport PyThread_get_thread_ident

from micrograd_c.arena cimport (
    Arena, Node, get_arena, node_decref, arena_next_epoch,
    NODE_INT_CONST, NODE_TAPE_ROOT, OP_LEAF, OP_CUSTOM, OP_POW, OP_ADD, OP_MUL)
from micrograd_c.ops cimport op_forward, local_backward, FWD_OK
from micrograd_c.value cimport Value, raise_forward_error, to_double
from micrograd_c.graph cimport run_backward

import weakref

cdef Arena* A = get_arena()

# Root node -> weak reference to the Tape that recorded it (see
# Tape.register_root); a node is recorded by one tape at most.
cdef dict _roots = {}


cdef int _tape_backward(int32_t root) except -1:
    ref = _roots.get(root)
    tape = ref() if ref is not None else None
    if tape is None:
        run_backward(A, root)
    else:
        (<Tape>tape)._backward(root)
    return 0


A.tape_backward = _tape_backward


cdef int32_t* _copy(const int32_t* src, Py_ssize_t n) except NULL:
    cdef int32_t* p = <int32_t*>PyMem_Malloc(max(n, 1) * sizeof(int32_t))
    if p == NULL:
        raise MemoryError()
    if n:
        memcpy(p, src, n * sizeof(int32_t))
    return p


cdef inline bint _is_leaf(Node* n) noexcept:
    return n.op == OP_LEAF or n.op == OP_CUSTOM


# One recorded op, self-contained so replay reads instructions in order and
# touches nodes only for their values.
ctypedef struct Instr:
    int32_t out
    int32_t a
    int32_t b       # -1 for unary ops
    int32_t op


# A neuron's sum is a chain of `m = w * x; s = acc + m` pairs (and `x*w + c`
# is such a pair too). Replay runs a pair as one step (the op codes below
# mark its first instruction), with the same arithmetic: m stays in a
# register.
cdef enum:
    DOT_FORWARD = 100     # MUL m, then ADD s = acc + m
    DOT_BACKWARD = 101    # ADD s = acc + m, then MUL m (reverse order)


cdef void _fuse(Instr* code, Py_ssize_t n, bint forward, int mark) noexcept:
    """Mark the first instruction of each fusable MUL/ADD pair in code
    (forward: MUL m then ADD s; backward order: ADD s then MUL m), with the
    ADD's operands swapped if need be so that its `b` is m (+ commutes
    exactly; the two grad updates of an ADD touch different nodes, or the
    same node twice)."""
    cdef Py_ssize_t k = 0
    cdef Instr* mul
    cdef Instr* add
    cdef int32_t t
    while k + 1 < n:
        mul = &code[k] if forward else &code[k + 1]
        add = &code[k + 1] if forward else &code[k]
        if (mul.op == OP_MUL and add.op == OP_ADD and
                (add.a == mul.out or add.b == mul.out)):
            if add.b != mul.out:
                t = add.a
                add.a = add.b
                add.b = t
            code[k].op = mark
            k += 2
        else:
            k += 1


cdef inline bint _outside_non_leaf(Node* N, uint32_t* mark, uint32_t epoch,
                                   int32_t c) noexcept:
    """Whether child c (-1: none) is an unmarked node with children."""
    return c >= 0 and mark[c] != epoch and N[c].a >= 0


cdef class Tape:
    """A recording of the nodes one run of some code created.

    Use: ``tape.set_inputs(values)``, ``tape.start()``, run the code,
    ``tape.stop()`` (or ``tape.abort()`` if it failed); then
    ``tape.replay(numbers)`` and ``tape.backward(root)`` any number of times.
    Dropping the tape unpins its nodes.
    """
    cdef int32_t* nodes         # every recorded node, in creation order
    cdef Py_ssize_t n
    cdef Instr* code            # the recorded nodes that compute (not leaves)
    cdef Instr* fwd             # code with the fused pairs marked
    cdef Py_ssize_t ncode
    cdef int32_t* leaves        # the recorded leaves (constants)
    cdef Py_ssize_t nleaves
    cdef int32_t* inputs        # the input leaves, made before recording
    cdef Py_ssize_t ninputs
    cdef bint recording
    cdef bint closed            # stop() done: replayable
    cdef bint reaches_outside   # a recorded node has a non-leaf child made
                                # outside the recording: backward goes on there
    cdef dict orders            # root node -> its backward sweep (bytes)
    cdef list roots             # nodes registered in _roots
    cdef object __weakref__

    def __cinit__(self):
        self.orders = {}
        self.roots = []

    def __dealloc__(self):
        for r in self.roots:
            _roots.pop(r, None)
            A.nodes[<int32_t>r].flags &= ~NODE_TAPE_ROOT
        if self.recording:
            A.recording = False
            self._unpin_rec()
        self._unpin(self.nodes, self.n)
        self._unpin(self.inputs, self.ninputs)
        PyMem_Free(self.nodes)
        PyMem_Free(self.code)
        PyMem_Free(self.fwd)
        PyMem_Free(self.leaves)
        PyMem_Free(self.inputs)

    cdef void _unpin(self, int32_t* idx, Py_ssize_t n) noexcept:
        cdef Py_ssize_t k
        for k in range(n):
            node_decref(A, idx[k])

    cdef void _unpin_rec(self) noexcept:
        # The arena's recording buffer may be appended to while nodes are
        # released (hooks can run code), but not while recording is off.
        cdef Py_ssize_t k
        cdef Py_ssize_t n = A.rec_n
        A.rec_n = 0
        for k in range(n):
            node_decref(A, A.rec[k])

    def set_inputs(self, values):
        """Pin the input leaves (a sequence of Values made before start())."""
        if self.inputs != NULL or self.recording or self.closed:
            raise RuntimeError("set_inputs() comes once, before start()")
        cdef Py_ssize_t k, n = len(values)
        cdef int32_t* p = <int32_t*>PyMem_Malloc(max(n, 1) * sizeof(int32_t))
        if p == NULL:
            raise MemoryError()
        for k in range(n):
            v = values[k]
            if not isinstance(v, Value):
                PyMem_Free(p)
                raise TypeError("inputs must be Values")
            p[k] = (<Value>v).idx
        for k in range(n):
            A.nodes[p[k]].refs += 1
        self.inputs = p
        self.ninputs = n

    def start(self):
        """Start recording every node the arena creates."""
        if A.recording:
            raise RuntimeError("a recording is already in progress")
        if self.recording or self.closed:
            raise RuntimeError("a tape records once")
        A.rec_n = 0
        A.rec_thread = PyThread_get_thread_ident()
        A.recording = True
        self.recording = True

    def abort(self):
        """Stop recording and unpin everything recorded."""
        if self.recording:
            A.recording = False
            self.recording = False
            self._unpin_rec()

    def stop(self):
        """Stop recording; the tape can then be replayed."""
        if not self.recording:
            raise RuntimeError("stop() without start()")
        A.recording = False
        self.recording = False
        cdef Py_ssize_t n = A.rec_n, k, nc = 0, nl = 0
        try:
            self.nodes = _copy(A.rec, n)
            self.leaves = _copy(A.rec, n)
            self.code = <Instr*>PyMem_Malloc(max(n, 1) * sizeof(Instr))
            self.fwd = <Instr*>PyMem_Malloc(max(n, 1) * sizeof(Instr))
            if self.code == NULL or self.fwd == NULL:
                raise MemoryError()
        except MemoryError:
            self._unpin_rec()
            raise
        self.n = n
        A.rec_n = 0
        cdef Node* N = A.nodes
        cdef uint32_t* mark = A.marks
        cdef uint32_t epoch = arena_next_epoch(A)
        cdef int32_t i
        for k in range(n):
            mark[self.nodes[k]] = epoch
        for k in range(self.ninputs):
            mark[self.inputs[k]] = epoch
        for k in range(n):
            i = self.nodes[k]
            if _is_leaf(&N[i]):
                self.leaves[nl] = i
                nl += 1
                continue
            self.code[nc].out = i
            self.code[nc].a = N[i].a
            self.code[nc].b = N[i].b
            self.code[nc].op = N[i].op
            nc += 1
            if _outside_non_leaf(N, mark, epoch, N[i].a) or \
                    _outside_non_leaf(N, mark, epoch, N[i].b):
                self.reaches_outside = True
        self.ncode = nc
        memcpy(self.fwd, self.code, nc * sizeof(Instr))
        _fuse(self.fwd, nc, True, DOT_FORWARD)
        self.nleaves = nl
        self.closed = True

    @property
    def size(self):
        """Number of recorded nodes."""
        return self.n

    @property
    def n_inputs(self):
        """Number of input leaves."""
        return self.ninputs

    def replay(self, const double[:] xs):
        """Write xs into the input leaves and recompute every recorded node.

        Raises what the dynamic run would have raised (after computing
        everything, with the IEEE values in place) if an op fails.
        """
        if not self.closed:
            raise RuntimeError("replay() before the recording is complete")
        if xs.shape[0] != self.ninputs:
            raise ValueError(f"this recording takes {self.ninputs} numbers, "
                             f"got {xs.shape[0]}")
        cdef Node* N = A.nodes
        cdef double* C = A.consts
        cdef Instr* ins = self.fwd
        cdef Instr* end = self.fwd + self.ncode
        cdef Node* nd
        cdef Py_ssize_t k
        cdef double x, r
        cdef int err = FWD_OK, first = FWD_OK
        for k in range(self.ninputs):
            nd = &N[self.inputs[k]]
            nd.data = xs[k]
            nd.grad = 0.0
        for k in range(self.nleaves):
            N[self.leaves[k]].grad = 0.0
        while ins < end:
            x = N[ins.a].data
            if ins.op == DOT_FORWARD:
                x = x * N[ins.b].data           # m = w * x
                nd = &N[ins.out]
                nd.data = x
                nd.grad = 0.0
                ins += 1
                r = N[ins.a].data + x           # s = acc + m
            elif ins.op == OP_ADD:
                r = x + N[ins.b].data
            elif ins.op == OP_MUL:
                r = x * N[ins.b].data
            else:
                r = op_forward(ins.op, x, N[ins.b].data if ins.b >= 0 else 0.0,
                               C[ins.out], &err)
                if err != FWD_OK and first == FWD_OK:
                    first = err
            nd = &N[ins.out]
            nd.data = r
            nd.grad = 0.0
            ins += 1
        if first != FWD_OK:
            raise_forward_error(first)

    cdef bytes _order(self, int32_t root):
        """The recorded ops reachable from root, in reverse creation order
        (an Instr array in a bytes object)."""
        cdef Node* N = A.nodes
        cdef uint32_t* mark = A.marks
        cdef uint32_t epoch = arena_next_epoch(A)
        cdef Instr* out = <Instr*>PyMem_Malloc(max(self.ncode, 1) * sizeof(Instr))
        cdef Py_ssize_t k, m = 0
        cdef Instr* ins
        if out == NULL:
            raise MemoryError()
        try:
            mark[root] = epoch
            for k in range(self.ncode - 1, -1, -1):
                ins = &self.code[k]
                if mark[ins.out] != epoch:
                    continue
                out[m] = ins[0]
                m += 1
                mark[ins.a] = epoch
                if ins.b >= 0:
                    mark[ins.b] = epoch
            _fuse(out, m, False, DOT_BACKWARD)
            return (<char*>out)[:m * sizeof(Instr)]
        finally:
            PyMem_Free(out)

    def register_root(self, Value v):
        """Make ``v.backward()`` use this tape's recorded order, if v is a
        node it recorded (returns whether it is)."""
        return self.register_roots([v]) == 1

    def register_roots(self, values):
        """register_root for each of values, with one pass over the
        recording; returns how many were registered."""
        if not self.closed:
            return 0
        cdef uint32_t* mark = A.marks
        cdef uint32_t epoch = arena_next_epoch(A)
        cdef Py_ssize_t k, count = 0
        cdef int32_t i
        for v in values:
            if isinstance(v, Value):
                mark[(<Value>v).idx] = epoch
        for k in range(self.n):
            i = self.nodes[k]
            if mark[i] == epoch and i not in _roots:
                _roots[i] = weakref.ref(self)
                self.roots.append(i)
                A.nodes[i].flags |= NODE_TAPE_ROOT
                count += 1
        return count

    def backward(self, Value root):
        """root.backward() over the recording: the root's grad set to 1, then
        the recorded nodes below it in reverse creation order."""
        self._backward(root.idx)

    cdef int _backward(self, int32_t r) except -1:
        if self.reaches_outside or not self.closed:
            return run_backward(A, r)
        order = self.orders.get(r)
        if order is None:
            order = self.orders[r] = self._order(r)
        cdef const Instr* ins = <const Instr*><const char*>order
        cdef const Instr* end = ins + len(<bytes>order) // sizeof(Instr)
        cdef Node* N = A.nodes
        cdef double* C = A.consts
        cdef double g
        N[r].grad = 1.0
        cdef double gm
        while ins < end:
            if ins.op == DOT_BACKWARD:
                g = N[ins.out].grad             # s = acc + m
                N[ins.a].grad += g
                gm = N[ins.b].grad + g
                N[ins.b].grad = gm
                ins += 1                        # m = w * x
                N[ins.a].grad += N[ins.b].data * gm
                N[ins.b].grad += N[ins.a].data * gm
            elif ins.op == OP_ADD:
                g = N[ins.out].grad
                N[ins.a].grad += g
                N[ins.b].grad += g
            elif ins.op == OP_MUL:
                g = N[ins.out].grad
                N[ins.a].grad += N[ins.b].data * g
                N[ins.b].grad += N[ins.a].data * g
            else:
                local_backward(N, C, ins.op, ins.out, ins.a, ins.b)
            ins += 1
        return 0

    def signature(self, bint constants=False):
        """The recorded graph as a list of tuples, one per node in creation
        order: (op, int exponent?, exponent, child refs) where a child ref is
        ('node', position), ('input', position) or ('outside', node index);
        with constants=True, leaves also give their value. Two runs of the
        same code with the same wiring have equal signatures."""
        cdef Node* N = A.nodes
        cdef Py_ssize_t k
        cdef int32_t i
        pos = {self.nodes[k]: k for k in range(self.n)}
        inp = {self.inputs[k]: k for k in range(self.ninputs)}
        out = []
        for k in range(self.n):
            i = self.nodes[k]
            refs = []
            for c in (N[i].a, N[i].b):
                if c < 0:
                    continue
                if c in pos:
                    refs.append(('node', pos[c]))
                elif c in inp:
                    refs.append(('input', inp[c]))
                else:
                    refs.append(('outside', c))
            const = A.consts[i] if N[i].op == OP_POW else None
            if constants and _is_leaf(&N[i]) and N[i].a < 0:
                const = N[i].data
            out.append((N[i].op, bool(N[i].flags & NODE_INT_CONST), const,
                        tuple(refs)))
        return out


def recording():
    """Whether a recording is in progress (in any thread)."""
    return bool(A.recording)


def recording_here():
    """Whether this thread is recording now."""
    return bool(A.recording) and A.rec_thread == PyThread_get_thread_ident()


# --- arguments -------------------------------------------------------------
# micrograd.compile keys its recordings by the structure of the arguments and
# feeds their floats to Tape.replay. Walking the arguments is on every call's
# path, hence here in C.

cimport cpython.array
import array as _array_module
import numbers as _numbers

cdef object _LIST = "list", _TUPLE = "tuple", _DICT = "dict", _FLOAT = "float"
cdef object _INT = "int", _ARRAY = "array", _VALUE = "Value", _OBJ = "obj"
cdef cpython.array.array _DOUBLES = _array_module.array("d")


cdef inline int _push(cpython.array.array xs, double x) except -1:
    cdef Py_ssize_t n = len(xs)
    cpython.array.resize_smart(xs, n + 1)
    xs.data.as_doubles[n] = x
    return 0


cpdef bint is_ndarray(object x):
    """Whether x is a numpy array (told without importing numpy)."""
    cdef type t = type(x)
    return t.__name__ == "ndarray" and t.__module__ == "numpy"


cdef int _walk(object obj, list key, cpython.array.array xs) except -1:
    cdef type t = type(obj)
    if t is float:
        key.append(_FLOAT)
        _push(xs, obj)
    elif t is list or t is tuple:
        key.append(_LIST if t is list else _TUPLE)
        key.append(len(obj))
        for item in obj:
            _walk(item, key, xs)
    elif t is int or t is bool:
        key.append(_INT)
        key.append(obj)
    elif isinstance(obj, Value):
        key.append(_VALUE)
        key.append(id(obj))
    elif t is dict:
        names = tuple(obj)
        key.append(_DICT)
        key.append(names)
        for name in names:
            _walk(obj[name], key, xs)
    elif is_ndarray(obj):
        kind = obj.dtype.kind
        key.append(_ARRAY)
        key.append(obj.shape)
        if kind == "f":
            key.append(kind)
            for x in obj.ravel().tolist():
                _push(xs, x)
        elif kind in "iub":
            key.append(obj.tobytes())
        else:
            raise TypeError(f"compile: unsupported numpy array of dtype {obj.dtype}")
    elif isinstance(obj, _numbers.Integral):
        key.append(_INT)
        key.append(int(obj))
    elif isinstance(obj, _numbers.Real):
        key.append(_FLOAT)
        _push(xs, float(obj))
    else:
        try:
            hash(obj)
        except TypeError:
            raise TypeError(f"compile: cannot take an argument of type "
                            f"{t.__name__!r} (use numbers, Values, lists, "
                            f"tuples, dicts, numpy arrays, or hashable "
                            f"objects)") from None
        key.append(_OBJ)
        key.append(obj)
    return 0


def flatten(args, kwargs):
    """(key, numbers) of a call: key, a hashable description of the
    arguments' structure (nesting, lengths, ints, identities of Values,
    other hashable objects); numbers, an array('d') of their floats in
    order (Python floats, numpy float scalars and float arrays' items)."""
    cdef list key = []
    cdef cpython.array.array xs = cpython.array.clone(_DOUBLES, 0, False)
    _walk(args, key, xs)
    if kwargs:
        _walk(kwargs, key, xs)
    return tuple(key), xs
