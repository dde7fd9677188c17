# cython: language_level=3
"""Capture and replay: a recorded graph re-run in C, with no Python per node.

A Tape holds the nodes created while it recorded, in creation order (which
is a topological order), each pinned by one reference of the tape's own.
Replaying writes new numbers into the tape's input leaves, recomputes every
recorded op from its children's values in that order (the op table's
forward, ops.h) and zeroes the recorded grads, which is exactly the state a
fresh dynamic run of the same code would leave. Values from outside the
recording (parameters) are read live. backward() from a recorded root
sweeps the recorded nodes reachable from it in reverse creation order: no
topological sort.

Most of a network's nodes are the products and partial sums of its dot
products (a "chain", below). A replay runs each chain in registers and
writes only its result; those links are written when something could see
them, with the numbers the dynamic run would have left there (see Chain).
That halves the memory a replay and its sweep go through.

Nodes made in Python (`Value(data, _children, _op)`, or any node given a
`_backward`) compute their value in Python: a recording holding one cannot
be replayed, and says so (`Tape.python_op`).

micrograd.compile (micrograd/capture.py) decides when to record and when to
replay; this module only records and replays.
"""

cimport cython
from cpython.mem cimport PyMem_Malloc, PyMem_Free
from cpython.pythread cimport PyThread_get_thread_ident
from libc.stdint cimport int32_t, int64_t, uint16_t, uint32_t
from libc.stdlib cimport realloc
from libc.string cimport memcpy

from micrograd_c.arena cimport (
    mg_node_backward, mg_backward_op, mg_backward_grad, mg_add_grad, mg_candidate,
    mg_pass_grad)
from micrograd_c.arena cimport (
    Arena, Node, get_arena, node_incref, node_decref, checked_bytes,
    NODE_INT_DATA, NODE_INT_GRAD, NODE_INT_CONST, NODE_TAPE_ROOT, NODE_PYBACK,
    NODE_RECORDING, NODE_KEEP, NODE_ELIDED)
from cpython.object cimport PyObject
from micrograd_c.ops cimport (
    OP_LEAF, OP_CUSTOM, OP_LINK, OP_POW, OP_ADD, OP_MUL, OP_SELECT, MG_OK,
    mg_forward, mg_int_result)
from micrograd_c.value cimport Value, raise_forward_error, python_backward, python_backwards
from micrograd_c.value import Index
from micrograd_c.graph cimport (
    run_backward, run_order, set_tape_backward, visit_marks)

import os
import weakref

cdef Arena* A = get_arena()

# Root node -> weak reference to the Tape that recorded it (see
# Tape.register_roots); a node is recorded by one tape at most.
cdef dict _roots = {}


cdef int _tape_backward(int32_t root) except -1:
    ref = _roots.get(root)
    tape = ref() if ref is not None else None
    if tape is None:
        return run_backward(A, root)
    return (<Tape>tape)._backward(root)


set_tape_backward(_tape_backward)


# --- the recording in progress ------------------------------------------------
# While a tape records, the arena tells `_on_new` of every node made; those
# the recording thread makes are appended here, each pinned by one
# reference (other threads' nodes are theirs).

ctypedef struct Recording:
    int32_t* idx
    Py_ssize_t n
    int32_t* inputs     # the recording tape's inputs (flagged while it records)
    Py_ssize_t ninputs
    Py_ssize_t cap
    unsigned long thread
    bint active
    bint failed         # the buffer could not grow: stop() raises MemoryError

cdef Recording R


cdef void _on_new(int32_t i) noexcept:
    cdef void* p
    if PyThread_get_thread_ident() != R.thread:
        return
    if R.n == R.cap:
        p = realloc(R.idx, (R.cap * 2 + 1024) * sizeof(int32_t))
        if p == NULL:
            R.failed = True
            return
        R.idx = <int32_t*>p
        R.cap = R.cap * 2 + 1024
    R.idx[R.n] = i
    R.n += 1
    A.nodes[i].refs += 1        # a new node: no handle, nothing kept
    A.nodes[i].flags |= NODE_RECORDING


cdef void _end_recording() noexcept:
    cdef Py_ssize_t k
    R.active = False
    A.on_new = NULL
    for k in range(R.n):
        A.nodes[R.idx[k]].flags &= ~NODE_RECORDING
    for k in range(R.ninputs):
        A.nodes[R.inputs[k]].flags &= ~NODE_RECORDING


cdef void _unpin_recorded() noexcept:
    """Drop the recording's pins (recording already ended: nothing is
    appended while nodes are released, which can run Python code)."""
    cdef Py_ssize_t k
    cdef Py_ssize_t n = R.n
    R.n = 0
    for k in range(n):
        node_decref(A, R.idx[k])


def _forget_recording_after_fork():
    # A recording by a thread that does not exist in this child process
    # would never end.
    if R.active and R.thread != PyThread_get_thread_ident():
        _end_recording()
        R.n = 0

os.register_at_fork(after_in_child=_forget_recording_after_fork)


cdef int32_t* _copy(const int32_t* src, Py_ssize_t n) except NULL:
    cdef int32_t* p = <int32_t*>PyMem_Malloc(checked_bytes(n, sizeof(int32_t)))
    if p == NULL:
        raise MemoryError()
    if n:
        memcpy(p, src, n * sizeof(int32_t))
    return p


cdef inline bint _outside_computed(Node* N, uint32_t* mark, uint32_t epoch,
                                   int32_t c) noexcept:
    """Whether child c (-1: none) is a node with children made outside the
    recording (backward() must go on below it)."""
    return c >= 0 and mark[c] != epoch and N[c].a >= 0


cdef inline Py_ssize_t _chain_length(Node* N, int32_t b) noexcept:
    """Candidates on a SELECT node's chain."""
    cdef Py_ssize_t m = 1
    while N[b].op == OP_LINK:
        b = N[b].b
        m += 1
    return m


cdef inline bint _index_fits(double x, int32_t n) noexcept:
    """Whether x is an index into n values, as Python's (-n <= x < n)."""
    return x == <double>(<int64_t>x) and -n <= x < n


cdef inline int32_t _picked(const int32_t* cands, int32_t off, double x) noexcept:
    """The candidate a (checked) index picks."""
    cdef int64_t k = <int64_t>x
    if k < 0:
        k += cands[off]
    return cands[off + 1 + k]


cdef inline bint _is_leaf(int op) noexcept:
    return op == OP_LEAF or op == OP_CUSTOM or op == OP_LINK


# One recorded op, self-contained so replay reads instructions in order and
# touches nodes only for their values.
ctypedef struct Instr:
    int32_t out
    int32_t a
    int32_t b       # -1 for unary ops
    int32_t op

# A neuron's sum is a chain of `m = w * x; s = acc + m` pairs (and `x*w + c`
# is such a pair too). Replay runs a pair as one step, with the same
# arithmetic (the table's forward of each): m stays in a register.
cdef enum:
    DOT_FORWARD = 100     # MUL m, then ADD s = acc + m
    DOT_BACKWARD = 101    # ADD s = acc + m, then MUL m (reverse order)
    DOT_CHAIN = 102       # a whole Chain (below): out, acc, b = its number


# A dot chain: s_1 = acc + m_1, s_2 = s_1 + m_2, ..., out = s_n (n >= 2), with
# m_k = a_k * b_k, whose links (the products m_k and the partial sums s_k,
# k < n) have no handle and no parent but the next link. That is what
# `dot`, `sum` over products and micrograd's Neuron build, most of a
# network's nodes. A replay in the eliding mode runs a chain in registers
# and writes only out; its links hold nothing a dynamic run would show,
# until they are written (Tape._write_links) before anything can see them:
# before a link gets a handle (the arena's on_stale hook, from wrap; the
# tape then stops eliding), before a computed node's data or grad is set (by
# a setter or an optimizer), a backward() outside the recording runs or a
# `_backward` is called (on_stale(-1)), before a second sweep after one
# replay, and when the tape goes. Leaves can change meanwhile (an
# optimizer's step): their values at the replay are kept (the snapshot).
# The links' grads are all the same number after a sweep (an ADD passes its
# grad on as it is): the chain keeps it.
ctypedef struct Chain:
    int32_t out
    int32_t acc
    int32_t n           # products
    int32_t pairs       # the first of its n (a_k, b_k) pairs in Tape.pairs
    int32_t links       # the first of its 2n - 1 links in Tape.links: m_1, s_1, ..., m_n
    int32_t gi          # NODE_INT_GRAD if the links' grad is an int
    double g            # the links' grad: the int 0 after a replay, then the sweep's


cdef inline bint _is_link(Node* N, int32_t i) noexcept:
    """Whether recorded node i can be a chain's link: no handle, and one
    reference besides the tape's (its one parent)."""
    return (A.handles[i] == NULL and N[i].refs == 2 and
            not (N[i].flags & (NODE_KEEP | NODE_PYBACK | NODE_TAPE_ROOT)))


cdef inline void _set_link(Node* nd, double r, int is_int, const Chain* ch) noexcept:
    nd.data = r
    nd.grad = ch.g
    nd.flags = ((nd.flags & ~(NODE_INT_DATA | NODE_INT_GRAD)) | ch.gi |
                (NODE_INT_DATA if is_int else 0))


cdef inline double _chain_value(Node* N, const Chain* ch, const int32_t* pairs,
                                const int32_t* links, int* is_int) noexcept:
    """The value of ch's out (an int if *is_int), with the table's forward
    of each MUL and ADD, as the nodes would hold them; with links (ch's own),
    every link written too."""
    cdef const int32_t* p = pairs + 2 * ch.pairs
    cdef Node* x
    cdef Node* y
    cdef double s = N[ch.acc].data, m
    cdef int si = N[ch.acc].flags & NODE_INT_DATA, mi, err = MG_OK
    cdef Py_ssize_t k
    for k in range(ch.n):
        x = &N[p[2 * k]]
        y = &N[p[2 * k + 1]]
        m = mg_forward(OP_MUL, x.data, y.data, 0.0, &err)
        mi = mg_int_result(OP_MUL, 0.0, 0.0, 0.0, x.flags & NODE_INT_DATA,
                           y.flags & NODE_INT_DATA, 0)
        if mi:
            m += 0.0                    # an int has no sign of zero (_set_value)
        s = mg_forward(OP_ADD, s, m, 0.0, &err)
        si = mg_int_result(OP_ADD, 0.0, 0.0, 0.0, si, mi, 0)
        if si:
            s += 0.0
        if links != NULL:
            _set_link(&N[links[2 * k]], m, mi, ch)
            if k + 1 < ch.n:
                _set_link(&N[links[2 * k + 1]], s, si, ch)
    is_int[0] = si
    return s


cdef inline void _chain_backward(Node* N, const double* C, Chain* ch,
                                 const int32_t* pairs) noexcept:
    """The sweep's ops of ch's nodes, out's ADD down to m_1's MUL, with the
    links' grads in a register."""
    cdef const int32_t* p = pairs + 2 * ch.pairs
    cdef double G = N[ch.out].grad
    cdef int gi = N[ch.out].flags & NODE_INT_GRAD
    cdef double g = 0.0 + G             # each link's grad: its int 0 plus G
    cdef Py_ssize_t k
    if gi:                              # the MUL rows do not read their node (out)
        for k in range(ch.n - 1, 0, -1):
            mg_backward_grad(N, C, ch.out, OP_MUL, p[2 * k], p[2 * k + 1], 0.0, g, 1)
    else:                               # (float grads: the int rules compiled out)
        for k in range(ch.n - 1, 0, -1):
            mg_backward_grad(N, C, ch.out, OP_MUL, p[2 * k], p[2 * k + 1], 0.0, g, 0)
    mg_add_grad(N, ch.acc, g, gi)       # s_1 = acc + m_1 (a link: n >= 2)
    mg_backward_grad(N, C, ch.out, OP_MUL, p[0], p[1], 0.0, g, gi)
    ch.g = g
    ch.gi = gi




cdef void _fuse(Instr* code, Py_ssize_t n, bint forward, int mark) noexcept:
    """Mark the first instruction of each fusable MUL/ADD pair in code
    (forward: MUL m then ADD s = acc + m; backward order: ADD s then MUL m),
    with the ADD's operands swapped if need be so that its `b` is m (+
    commutes exactly; the two grad updates of an ADD touch different nodes,
    or the same node twice)."""
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


cdef inline void _set_value(Node* nd, double r, int is_int) noexcept:
    """A recomputed node: its value, an int or not, and a fresh grad (the
    int 0). (Adding -0.0 leaves every double as it is; adding 0.0 turns an
    int's -0.0 into 0: an int has no sign of zero.)"""
    nd.data = r + (0.0 if is_int else -0.0)
    nd.grad = 0.0
    nd.flags = (nd.flags & ~NODE_INT_DATA) | NODE_INT_GRAD | (NODE_INT_DATA if is_int else 0)


@cython.no_gc_clear
cdef class Tape:
    """A recording of the nodes one run of some code created.

    Use: ``tape.set_inputs(values)``, ``tape.start()``, run the code,
    ``tape.stop()`` (or ``tape.abort()`` if it failed); then, unless
    ``tape.python_op`` names a node made in Python, ``tape.replay(numbers)``
    and ``tape.backward(root)`` any number of times. Dropping the tape
    unpins its nodes.
    """
    cdef int32_t* nodes         # every recorded node, in creation order
    cdef Py_ssize_t n
    cdef Instr* fwd             # the recorded nodes that compute, pairs fused
    cdef Py_ssize_t ncode
    cdef int32_t* cands         # per SELECT: its number of candidates, then them
    cdef int32_t* selects       # the SELECT instructions (positions in fwd)
    cdef Py_ssize_t nselects
    cdef int32_t* leaves        # the recorded leaves (constants)
    cdef Py_ssize_t nleaves
    cdef int32_t* inputs        # the input leaves, made before recording
    cdef Py_ssize_t ninputs
    cdef bint recording
    cdef bint closed            # stop() done
    cdef bint reaches_outside   # a recorded node has a non-leaf child made
                                # outside the recording: backward goes on there
    cdef readonly object python_op  # a node made in Python, by its `_op`
    cdef unsigned long long pyback_seen   # python_backwards() when no recorded
                                          # node had a Python `_backward`
    cdef dict orders            # root node -> its backward sweep (bytes)
    # The eliding mode (see Chain): fwd with its chains as DOT_CHAIN ops.
    cdef bint elide
    cdef int stale              # 1: links unwritten since the replay; 2: and swept once
    cdef Instr* efwd
    cdef Py_ssize_t nefwd
    cdef Chain* chains
    cdef Py_ssize_t nchains
    cdef int32_t* pairs
    cdef Py_ssize_t npairs
    cdef int32_t* links
    cdef Py_ssize_t nlinks
    cdef int32_t* snap          # the leaves the chains read, and their values at the replay
    cdef double* snap_data
    cdef uint16_t* snap_flags
    cdef Py_ssize_t nsnap
    cdef dict eorders           # root node -> its sweep over efwd
    cdef list roots             # nodes registered in _roots
    cdef object __weakref__

    def __cinit__(self):
        self.orders = {}
        self.eorders = {}
        self.roots = []

    def __dealloc__(self):
        if self.elide:
            self._stop_eliding()        # the nodes can outlive the tape
        PyMem_Free(self.efwd)
        PyMem_Free(self.chains)
        PyMem_Free(self.pairs)
        PyMem_Free(self.links)
        PyMem_Free(self.snap)
        PyMem_Free(self.snap_data)
        PyMem_Free(self.snap_flags)
        for r in self.roots:
            _roots.pop(r, None)
            A.nodes[<int32_t>r].flags &= ~NODE_TAPE_ROOT
        if self.recording:
            _end_recording()
            _unpin_recorded()
        self._unpin(self.nodes, self.n)
        self._unpin(self.inputs, self.ninputs)
        PyMem_Free(self.nodes)
        PyMem_Free(self.fwd)
        PyMem_Free(self.cands)
        PyMem_Free(self.selects)
        PyMem_Free(self.leaves)
        PyMem_Free(self.inputs)

    cdef void _unpin(self, int32_t* idx, Py_ssize_t n) noexcept:
        cdef Py_ssize_t k
        for k in range(n):
            node_decref(A, idx[k])

    def set_inputs(self, values):
        """Pin the input leaves (a list or tuple of Values made before start())."""
        if self.inputs != NULL or self.recording or self.closed:
            raise RuntimeError("set_inputs() comes once, before start()")
        values = tuple(values)
        cdef Py_ssize_t k, n = len(values)
        for v in values:
            if type(v) is not Value or (<Value>v).idx <= 0:
                raise TypeError("inputs must be Values")
        cdef int32_t* p = <int32_t*>PyMem_Malloc(checked_bytes(n, sizeof(int32_t)))
        if p == NULL:
            raise MemoryError()
        for k in range(n):              # no Python code from here on
            p[k] = (<Value>values[k]).idx
            node_incref(A, p[k])
        self.inputs = p
        self.ninputs = n

    def start(self):
        """Start recording every node this thread creates."""
        cdef Py_ssize_t k
        if R.active:
            raise RuntimeError("a recording is already in progress")
        if self.recording or self.closed:
            raise RuntimeError("a tape records once")
        R.n = 0
        R.failed = False
        R.thread = PyThread_get_thread_ident()
        R.inputs = self.inputs
        R.ninputs = self.ninputs
        for k in range(self.ninputs):
            A.nodes[self.inputs[k]].flags |= NODE_RECORDING
        R.active = True
        A.on_new = _on_new
        self.recording = True

    def abort(self):
        """Stop recording and unpin everything recorded."""
        if self.recording:
            _end_recording()
            self.recording = False
            _unpin_recorded()

    def stop(self, outputs=None):
        """Stop recording; the tape can then be replayed (unless python_op).

        With ``outputs`` (an iterable of Values), only the recorded nodes
        they depend on are kept: nodes that other code running meanwhile in
        this thread made (a gc callback, a ``__del__``) are let go.
        """
        if not self.recording:
            raise RuntimeError("stop() without start()")
        cdef list outs = None
        if outputs is not None:
            outs = [(<Value>v).idx for v in outputs if isinstance(v, Value)]
        _end_recording()
        self.recording = False
        cdef Py_ssize_t n = R.n
        try:
            if R.failed:
                raise MemoryError("micrograd: the recording buffer could not grow")
            self.nodes = _copy(R.idx, n)
            self.leaves = _copy(R.idx, n)
            self.fwd = <Instr*>PyMem_Malloc(checked_bytes(n, sizeof(Instr)))
            if self.fwd == NULL:
                raise MemoryError()
        except MemoryError:
            _unpin_recorded()
            raise
        self.n = n
        R.n = 0
        if outs is not None:
            self._keep_only_below(outs)
        self._compile()
        self.closed = True
        self.python_op = self._find_python_op()
        if self.python_op is None and not self.reaches_outside:
            self._find_chains()

    cdef int _keep_only_below(self, list outs) except -1:
        """Drop (unpin) the recorded nodes that no output depends on."""
        cdef uint32_t epoch
        cdef uint32_t* mark = visit_marks(A, &epoch)
        cdef Py_ssize_t k, kept = 0, ndropped = 0
        cdef int32_t i
        cdef int32_t* dropped = <int32_t*>PyMem_Malloc(checked_bytes(self.n, sizeof(int32_t)))
        if dropped == NULL:
            raise MemoryError()
        for i in outs:                  # no Python code runs until the unpinning
            if i > 0:
                mark[i] = epoch
        for k in range(self.n - 1, -1, -1):     # creation order is topological
            i = self.nodes[k]
            if mark[i] == epoch:
                if A.nodes[i].a >= 0:
                    mark[A.nodes[i].a] = epoch
                if A.nodes[i].b >= 0:
                    mark[A.nodes[i].b] = epoch
        for k in range(self.n):
            i = self.nodes[k]
            if mark[i] == epoch:
                self.nodes[kept] = i
                kept += 1
            else:
                dropped[ndropped] = i
                ndropped += 1
        self.n = kept
        self._unpin(dropped, ndropped)  # may run Python code: nothing held
        PyMem_Free(dropped)
        return 0

    cdef int _compile(self) except -1:
        """Sort the recorded nodes into leaves and instructions."""
        cdef uint32_t epoch
        cdef uint32_t* mark = visit_marks(A, &epoch)
        cdef Node* N = A.nodes
        cdef Py_ssize_t k, nc = 0, nl = 0
        cdef int32_t i, c
        for k in range(self.n):
            mark[self.nodes[k]] = epoch
        for k in range(self.ninputs):
            mark[self.inputs[k]] = epoch
        self._gather_selections()
        cdef Py_ssize_t off = 0
        for k in range(self.n):
            i = self.nodes[k]
            if _is_leaf(N[i].op):
                self.leaves[nl] = i
                nl += 1
                continue
            self.fwd[nc].out = i
            self.fwd[nc].a = N[i].a
            self.fwd[nc].b = N[i].b
            self.fwd[nc].op = N[i].op
            if N[i].op == OP_SELECT:           # b: where its candidates are
                self.fwd[nc].b = <int32_t>off
                for c in range(self.cands[off]):
                    if _outside_computed(N, mark, epoch, self.cands[off + 1 + c]):
                        self.reaches_outside = True
                off += 1 + self.cands[off]
            elif _outside_computed(N, mark, epoch, N[i].a) or \
                    _outside_computed(N, mark, epoch, N[i].b):
                self.reaches_outside = True
            nc += 1
        self.ncode = nc
        self.nleaves = nl
        _fuse(self.fwd, nc, True, DOT_FORWARD)
        self.selects = <int32_t*>PyMem_Malloc(checked_bytes(nc, sizeof(int32_t)))
        if self.selects == NULL:
            raise MemoryError()
        for k in range(nc):
            if self.fwd[k].op == OP_SELECT:
                self.selects[self.nselects] = <int32_t>k
                self.nselects += 1
        return 0

    cdef int _gather_selections(self) except -1:
        """The candidates of every recorded SELECT node, in recording order:
        for each, their count and then their nodes (replay picks one by
        index, with no walk along the node's chain)."""
        cdef Node* N = A.nodes
        cdef Py_ssize_t k, total = 0, off = 0
        cdef int32_t i, c, m
        for k in range(self.n):
            i = self.nodes[k]
            if N[i].op == OP_SELECT:
                total += 1 + _chain_length(N, N[i].b)
        self.cands = <int32_t*>PyMem_Malloc(checked_bytes(total, sizeof(int32_t)))
        if self.cands == NULL:
            raise MemoryError()
        for k in range(self.n):
            i = self.nodes[k]
            if N[i].op != OP_SELECT:
                continue
            m = _chain_length(N, N[i].b)
            self.cands[off] = m
            for c in range(m):
                self.cands[off + 1 + c] = mg_candidate(N, N[i].b, c)
            off += 1 + m
        return 0

    cdef int _check_selections(self) except -1:
        """IndexError, before anything is computed, if an index input picks
        no candidate."""
        cdef Py_ssize_t k
        cdef Instr* ins
        cdef double x
        for k in range(self.nselects):
            ins = &self.fwd[self.selects[k]]
            x = A.nodes[ins.a].data
            if not _index_fits(x, self.cands[ins.b]):
                raise IndexError(f"take: index {x:g} out of range for "
                                 f"{self.cands[ins.b]} values")
        return 0

    cdef int _find_chains(self) except -1:
        """The eliding mode's program (efwd, chains, pairs, links, snap), if
        fwd has chains; the tape then joins the eliding ones. Nothing here
        runs Python code."""
        cdef Node* N = A.nodes
        cdef Py_ssize_t nc = self.ncode, k = 0, j, nf = 0, nch = 0, np = 0, nl = 0
        cdef int32_t s
        cdef Chain* ch
        cdef Instr* f = self.fwd
        self.efwd = <Instr*>PyMem_Malloc(checked_bytes(nc, sizeof(Instr)))
        self.chains = <Chain*>PyMem_Malloc(checked_bytes(nc // 2 + 1, sizeof(Chain)))
        self.pairs = <int32_t*>PyMem_Malloc(checked_bytes(nc + 1, sizeof(int32_t)))
        self.links = <int32_t*>PyMem_Malloc(checked_bytes(nc + 1, sizeof(int32_t)))
        if self.efwd == NULL or self.chains == NULL or self.pairs == NULL or self.links == NULL:
            raise MemoryError()
        while k < nc:
            if f[k].op != DOT_FORWARD or not _is_link(N, f[k].out):
                self.efwd[nf] = f[k]
                nf += 1
                k += 1
                continue
            ch = &self.chains[nch]
            ch.acc = f[k + 1].a
            ch.pairs = <int32_t>np
            ch.links = <int32_t>nl
            ch.n = 0
            j = k
            while True:                 # f[j]: m = a * b, f[j + 1]: s = acc + m
                self.pairs[2 * np] = f[j].a
                self.pairs[2 * np + 1] = f[j].b
                np += 1
                ch.n += 1
                self.links[nl] = f[j].out
                nl += 1
                s = f[j + 1].out
                j += 2
                if not (j < nc and f[j].op == DOT_FORWARD and f[j + 1].a == s and
                        _is_link(N, s) and _is_link(N, f[j].out)):
                    break
                self.links[nl] = s
                nl += 1
            if ch.n == 1:               # one product: a fused pair does as well
                np -= 1
                nl -= 1
                self.efwd[nf] = f[k]
                self.efwd[nf + 1] = f[k + 1]
                nf += 2
                k = j
                continue
            ch.out = s
            self.efwd[nf].out = s
            self.efwd[nf].a = ch.acc
            self.efwd[nf].b = <int32_t>nch
            self.efwd[nf].op = DOT_CHAIN
            nf += 1
            nch += 1
            k = j
        self.nefwd = nf
        self.nchains = nch
        self.npairs = np
        self.nlinks = nl
        if nch == 0:                    # nothing to elide: keep nothing
            PyMem_Free(self.efwd)
            PyMem_Free(self.chains)
            PyMem_Free(self.pairs)
            PyMem_Free(self.links)
            self.efwd = self.chains = NULL
            self.pairs = self.links = NULL
            return 0
        self._find_snapshot()
        for k in range(nl):
            N[self.links[k]].flags |= NODE_ELIDED
        self.elide = _join_eliding(self)
        if not self.elide:
            for k in range(nl):
                N[self.links[k]].flags &= ~NODE_ELIDED
        return 0

    cdef int _find_snapshot(self) except -1:
        """snap: the leaves the chains read (each once)."""
        cdef Node* N = A.nodes
        cdef uint32_t epoch
        cdef uint32_t* mark = visit_marks(A, &epoch)
        cdef Py_ssize_t k, n = 0, total = self.nchains + 2 * self.npairs
        cdef int32_t c
        self.snap = <int32_t*>PyMem_Malloc(checked_bytes(total, sizeof(int32_t)))
        if self.snap == NULL:
            raise MemoryError()
        for k in range(total):
            c = self.chains[k].acc if k < self.nchains else self.pairs[k - self.nchains]
            if N[c].a < 0 and mark[c] != epoch:
                mark[c] = epoch
                self.snap[n] = c
                n += 1
        self.nsnap = n
        self.snap_data = <double*>PyMem_Malloc(checked_bytes(n + 1, sizeof(double)))
        self.snap_flags = <uint16_t*>PyMem_Malloc(checked_bytes(n + 1, sizeof(uint16_t)))
        if self.snap_data == NULL or self.snap_flags == NULL:
            raise MemoryError()
        return 0

    cdef void _take_snapshot(self) noexcept:
        """The snapshot: the values the leaves have now (a replay's)."""
        cdef Py_ssize_t k
        for k in range(self.nsnap):
            self.snap_data[k] = A.nodes[self.snap[k]].data
            self.snap_flags[k] = A.nodes[self.snap[k]].flags & NODE_INT_DATA

    cdef void _swap_snapshot(self) noexcept:
        """The snapshot's values and the leaves' own, exchanged."""
        cdef Node* nd
        cdef double d
        cdef uint16_t f
        cdef Py_ssize_t k
        for k in range(self.nsnap):
            nd = &A.nodes[self.snap[k]]
            d = nd.data
            f = nd.flags & NODE_INT_DATA
            nd.data = self.snap_data[k]
            nd.flags = (nd.flags & ~NODE_INT_DATA) | self.snap_flags[k]
            self.snap_data[k] = d
            self.snap_flags[k] = f

    cdef void _set_stale(self, int stale) noexcept:
        if (self.stale != 0) != (stale != 0):
            A.nstale += 1 if stale else -1
        self.stale = stale

    cdef void _write_links(self) noexcept:
        """Every link as a dynamic run would have left it: computed from the
        values the replay read, with the grad the chain's sweep passed."""
        cdef Node* N = A.nodes
        cdef Py_ssize_t k
        cdef int is_int
        self._swap_snapshot()
        for k in range(self.nchains):
            _chain_value(N, &self.chains[k], self.pairs, self.links + self.chains[k].links,
                         &is_int)
        self._swap_snapshot()
        self._set_stale(0)

    cdef bint _has_link(self, int32_t i) noexcept:
        cdef Py_ssize_t k
        for k in range(self.nlinks):
            if self.links[k] == i:
                return True
        return False

    cdef void _stop_eliding(self) noexcept:
        """Write every node at every replay from now on (a link is seen)."""
        cdef Py_ssize_t k
        if self.stale:
            self._write_links()
        for k in range(self.nlinks):
            A.nodes[self.links[k]].flags &= ~NODE_ELIDED
        self.elide = False
        _leave_eliding(self)

    @property
    def elided(self):
        """How many recorded nodes a replay leaves unwritten until they can
        be seen (the links of dot chains), 0 if it writes every node."""
        return self.nlinks if self.elide else 0

    def write_every_node(self):
        """Stop eliding: every replay writes every recorded node."""
        if self.elide:
            self._stop_eliding()

    cdef object _find_python_op(self):
        """The `_op` of the first recorded node made in Python, or None."""
        cdef Py_ssize_t k
        cdef int32_t i
        for k in range(self.n):
            i = self.nodes[k]
            if (A.nodes[i].op == OP_CUSTOM and A.nodes[i].a >= 0) or (
                    A.nodes[i].flags & NODE_PYBACK and python_backward(i) is not None):
                h = A.handles[i]
                return (<Value>h)._op if h != NULL else "a Value made with _children"
        return None

    @property
    def size(self):
        """Number of recorded nodes."""
        return self.n

    @property
    def n_inputs(self):
        """Number of input leaves."""
        return self.ninputs

    cdef int _check_replayable(self) except -1:
        if not self.closed:
            raise RuntimeError("replay() before the recording is complete")
        if self.python_op is not None:
            raise RuntimeError(f"this recording holds a node made in Python "
                               f"({self.python_op!r}): it cannot be replayed")
        return 0

    def replay(self, const double[:] xs):
        """Write xs into the input leaves and recompute every recorded node.

        Raises what the dynamic run would have raised (after computing
        everything, with the IEEE values in place) if an op fails.
        """
        self._check_replayable()
        if xs.shape[0] != self.ninputs:
            raise ValueError(f"this recording takes {self.ninputs} numbers, "
                             f"got {xs.shape[0]}")
        cdef Py_ssize_t k
        for k in range(self.ninputs):
            _set_value(&A.nodes[self.inputs[k]], xs[k], False)
        for k in range(self.nleaves):
            A.nodes[self.leaves[k]].grad = 0.0
            A.nodes[self.leaves[k]].flags |= NODE_INT_GRAD
        self._check_selections()
        cdef int err
        if self.elide:
            self._take_snapshot()
            err = self._forward(self.efwd, self.nefwd)
            self._set_stale(1)
        else:
            err = self._forward(self.fwd, self.ncode)
        if err != MG_OK:
            raise_forward_error(err)

    cdef int _forward(self, Instr* ins, Py_ssize_t n) noexcept:
        """Every op of the program ins (fwd or efwd) recomputed in order;
        the first error, if any."""
        cdef Node* N = A.nodes
        cdef Instr* end = ins + n
        cdef Node* x
        cdef Node* y
        cdef Chain* ch
        cdef double m
        cdef int mi, err = MG_OK, first = MG_OK
        while ins < end:
            x = &N[ins.a]
            if ins.op == DOT_CHAIN:
                ch = &self.chains[ins.b]
                m = _chain_value(N, ch, self.pairs, NULL, &mi)
                _set_value(&N[ins.out], m, mi)
                ch.g = 0.0                      # the links' grads: the int 0
                ch.gi = NODE_INT_GRAD
            elif ins.op == DOT_FORWARD:           # m = w * x, then s = acc + m
                y = &N[ins.b]
                m = mg_forward(OP_MUL, x.data, y.data, 0.0, &err)
                mi = x.flags & y.flags & NODE_INT_DATA
                _set_value(&N[ins.out], m, mi)
                m = N[ins.out].data             # as the node holds it (an int's -0 is 0)
                ins += 1
                x = &N[ins.a]
                _set_value(&N[ins.out], mg_forward(OP_ADD, x.data, m, 0.0, &err),
                           mg_int_result(OP_ADD, 0.0, 0.0, 0.0,
                                         x.flags & NODE_INT_DATA, mi, 0))
            elif ins.op == OP_SELECT:
                y = &N[_picked(self.cands, ins.b, x.data)]
                _set_value(&N[ins.out], y.data, y.flags & NODE_INT_DATA)
            elif ins.op == OP_ADD:
                y = &N[ins.b]
                _set_value(&N[ins.out], mg_forward(OP_ADD, x.data, y.data, 0.0, &err),
                           mg_int_result(OP_ADD, 0.0, 0.0, 0.0, x.flags & NODE_INT_DATA,
                                         y.flags & NODE_INT_DATA, 0))
            elif ins.op == OP_MUL:
                y = &N[ins.b]
                _set_value(&N[ins.out], mg_forward(OP_MUL, x.data, y.data, 0.0, &err),
                           mg_int_result(OP_MUL, 0.0, 0.0, 0.0, x.flags & NODE_INT_DATA,
                                         y.flags & NODE_INT_DATA, 0))
            else:
                first = self._step(N, ins, first)
            ins += 1
        return first

    cdef inline int _step(self, Node* N, Instr* ins, int first) noexcept:
        cdef Node* x = &N[ins.a]
        cdef double yv = 0.0, c = 0.0
        cdef int yi = 0, err = MG_OK
        if ins.b >= 0:
            yv = N[ins.b].data
            yi = N[ins.b].flags & NODE_INT_DATA
        if ins.op == OP_POW:
            c = A.consts[ins.out]
        cdef Node* nd = &N[ins.out]
        _set_value(nd, mg_forward(ins.op, x.data, yv, c, &err),
                   mg_int_result(ins.op, x.data, yv, c, x.flags & NODE_INT_DATA,
                                 yi, nd.flags & NODE_INT_CONST))
        return first if first != MG_OK else err

    cdef bytes _order_for(self, int32_t root, bint eliding):
        """_order(root, eliding), kept for the next sweep. May run Python
        code."""
        orders = self.eorders if eliding else self.orders
        order = orders.get(root)
        if order is None:
            order = orders[root] = self._order(root, eliding)
        return order

    cdef bytes _order(self, int32_t root, bint eliding):
        """The ops of fwd (or with eliding, efwd) reachable from root, in
        reverse creation order (an Instr array in a bytes object)."""
        cdef Instr* prog = self.efwd if eliding else self.fwd
        cdef Py_ssize_t n = self.nefwd if eliding else self.ncode
        cdef Instr* out = <Instr*>PyMem_Malloc(checked_bytes(n, sizeof(Instr)))
        if out == NULL:
            raise MemoryError()
        cdef uint32_t epoch
        cdef uint32_t* mark
        cdef Py_ssize_t k, m = 0
        cdef int32_t c
        cdef Instr* ins
        cdef Chain* ch
        try:
            mark = visit_marks(A, &epoch)
            mark[root] = epoch
            for k in range(n - 1, -1, -1):
                ins = &prog[k]
                if mark[ins.out] != epoch:
                    continue
                out[m] = ins[0]
                if ins.op == DOT_FORWARD:        # the first of a fused pair: a MUL
                    out[m].op = OP_MUL
                m += 1
                mark[ins.a] = epoch
                if ins.op == DOT_CHAIN:
                    ch = &self.chains[ins.b]
                    for c in range(2 * ch.n):
                        mark[self.pairs[2 * ch.pairs + c]] = epoch
                elif ins.op == OP_SELECT:
                    for c in range(self.cands[ins.b]):
                        mark[self.cands[ins.b + 1 + c]] = epoch
                elif ins.b >= 0:
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
        if not self.closed or self.python_op is not None:
            return 0
        values = [v for v in values if isinstance(v, Value)]
        cdef list found = self._recorded(values)
        for i in found:                 # Python code from here on
            if i not in _roots:
                _roots[i] = weakref.ref(self)
                self.roots.append(i)
                A.nodes[<int32_t>i].flags |= NODE_TAPE_ROOT
        return len([i for i in found if _roots.get(i) is not None
                    and _roots[i]() is self])

    cdef list _recorded(self, list values):
        """The nodes of values that this tape recorded, in recording order."""
        cdef uint32_t epoch
        cdef uint32_t* mark = visit_marks(A, &epoch)
        cdef Py_ssize_t k
        cdef int32_t i
        cdef int32_t* hits = <int32_t*>PyMem_Malloc(checked_bytes(self.n, sizeof(int32_t)))
        cdef Py_ssize_t nhits = 0
        if hits == NULL:
            raise MemoryError()
        try:
            for v in values:            # no Python code runs in these loops
                if (<Value>v).idx > 0:
                    mark[(<Value>v).idx] = epoch
            for k in range(self.n):
                i = self.nodes[k]
                if mark[i] == epoch:
                    hits[nhits] = i
                    nhits += 1
                    mark[i] = 0
            return [hits[k] for k in range(nhits)]
        finally:
            PyMem_Free(hits)

    def backward(self, Value root):
        """root.backward() over the recording: the root's grad set to 1, then
        the recorded nodes below it in reverse creation order."""
        self._backward(root.idx)

    cdef int _backward(self, int32_t r) except -1:
        if self.reaches_outside or not self.closed or self.python_op is not None:
            return run_backward(A, r)
        cdef bint eliding
        while True:     # an order is made at most once per root and mode; making
            eliding = self.stale == 1       # it can run Python code (a replay)
            order = self._order_for(r, eliding)
            if eliding == (self.stale == 1):
                break
        cdef const Instr* ins = <const Instr*><const char*>order
        cdef Py_ssize_t k = 0, m = len(<bytes>order) // sizeof(Instr)
        if python_backwards() != self.pyback_seen:
            if self._has_python_backward(ins, m):   # a node was given a `_backward`
                if self.elide:
                    self._stop_eliding()
                    return self._backward(r)
                A.nodes[r].grad = 1.0
                A.nodes[r].flags |= NODE_INT_GRAD
                return self._backward_rest(ins, m, r)
            self.pyback_seen = python_backwards()
        if self.stale == 2:
            self._write_links()             # a second sweep: on the nodes themselves
        # No Python code runs from here on.
        A.nodes[r].grad = 1.0
        A.nodes[r].flags |= NODE_INT_GRAD
        cdef Node* N = A.nodes
        cdef double* C = A.consts
        while k < m:
            if ins[k].op == DOT_CHAIN:
                _chain_backward(N, C, &self.chains[ins[k].b], self.pairs)
            elif ins[k].op == DOT_BACKWARD:      # s = acc + m, then m = w * x
                mg_backward_op(N, C, ins[k].out, OP_ADD, ins[k].a, ins[k].b)
                k += 1
                mg_backward_op(N, C, ins[k].out, OP_MUL, ins[k].a, ins[k].b)
            elif ins[k].op == OP_ADD:
                mg_backward_op(N, C, ins[k].out, OP_ADD, ins[k].a, ins[k].b)
            elif ins[k].op == OP_MUL:
                mg_backward_op(N, C, ins[k].out, OP_MUL, ins[k].a, ins[k].b)
            elif ins[k].op == OP_SELECT:
                mg_pass_grad(N, ins[k].out, _picked(self.cands, ins[k].b, N[ins[k].a].data))
            else:
                mg_node_backward(N, C, ins[k].out)
            k += 1
        if eliding:
            self.stale = 2
        return 0

    cdef bint _has_python_backward(self, const Instr* ins, Py_ssize_t m) noexcept:
        cdef Py_ssize_t k
        for k in range(m):
            if A.nodes[ins[k].out].flags & NODE_PYBACK:
                return True
        return False

    cdef int _backward_rest(self, const Instr* ins, Py_ssize_t m, int32_t r) except -1:
        """graph.run_order over the rest of a sweep (a node on it has a
        Python `_backward`)."""
        cdef int32_t* outs = <int32_t*>PyMem_Malloc(checked_bytes(m, sizeof(int32_t)))
        cdef Py_ssize_t k
        if outs == NULL:
            raise MemoryError()
        for k in range(m):
            outs[k] = ins[k].out
        try:
            return run_order(A, outs, m, r)
        finally:
            PyMem_Free(outs)

    def signature(self, bint constants=False):
        """The recorded graph as a list of tuples, one per node in creation
        order: (op, int exponent?, exponent, child refs) where a child ref is
        ('node', position), ('input', position) or ('outside', node index);
        with constants=True, leaves also give their value. Two runs of the
        same code with the same wiring have equal signatures."""
        cdef Py_ssize_t k
        cdef int32_t i, c
        pos = {self.nodes[k]: k for k in range(self.n)}
        inp = {self.inputs[k]: k for k in range(self.ninputs)}
        out = []
        for k in range(self.n):
            # Nodes are read afresh at every use: the allocations below can
            # run Python code, which can move the arena.
            i = self.nodes[k]
            refs = []
            for c in (A.nodes[i].a, A.nodes[i].b):
                if c < 0:
                    continue
                if c in pos:
                    refs.append(('node', pos[c]))
                elif c in inp:
                    refs.append(('input', inp[c]))
                else:
                    refs.append(('outside', c))
            const = A.consts[i] if A.nodes[i].op == OP_POW else None
            if constants and _is_leaf(A.nodes[i].op) and A.nodes[i].a < 0:
                const = A.nodes[i].data
            out.append((A.nodes[i].op, bool(A.nodes[i].flags & NODE_INT_CONST),
                        const, tuple(refs)))
        return out


# The tapes in the eliding mode (borrowed: a tape leaves before it goes).
cdef PyObject** _eliding = NULL
cdef Py_ssize_t _neliding = 0
cdef Py_ssize_t _cap_eliding = 0


cdef bint _join_eliding(Tape t) noexcept:
    global _eliding, _cap_eliding, _neliding
    cdef void* p
    if _neliding == _cap_eliding:
        p = realloc(_eliding, (2 * _cap_eliding + 4) * sizeof(PyObject*))
        if p == NULL:
            return False
        _eliding = <PyObject**>p
        _cap_eliding = 2 * _cap_eliding + 4
    _eliding[_neliding] = <PyObject*>t
    _neliding += 1
    return True


cdef void _leave_eliding(Tape t) noexcept:
    global _neliding
    cdef Py_ssize_t k
    for k in range(_neliding):
        if _eliding[k] == <PyObject*>t:
            _neliding -= 1
            _eliding[k] = _eliding[_neliding]
            return


cdef void _on_stale(int32_t i) noexcept:
    """The arena's on_stale hook (arena.h): every stale tape's links
    written; for i >= 0, link i's tape stops eliding."""
    cdef Py_ssize_t k
    for k in range(_neliding):
        if (<Tape>_eliding[k]).stale:
            (<Tape>_eliding[k])._write_links()
    if i < 0:
        return
    for k in range(_neliding):
        if (<Tape>_eliding[k])._has_link(i):
            (<Tape>_eliding[k])._stop_eliding()
            return


A.on_stale = _on_stale


def recording():
    """Whether a recording is in progress (in any thread)."""
    return bool(R.active)


def recording_here():
    """Whether this thread is recording now."""
    return bool(R.active) and R.thread == PyThread_get_thread_ident()


# --- arguments -------------------------------------------------------------
# micrograd.compile keys its recordings by the structure of the arguments,
# feeds their floats to Tape.replay, and, when it records, calls the
# function with Values in the floats' places. One walker does all three.

cimport cpython.array
import array as _array_module
import numbers as _numbers

cdef extern from "Python.h":
    int Py_EnterRecursiveCall(const char* where) except 1   # nonzero: RecursionError set
    void Py_LeaveRecursiveCall()

cdef object _LIST = "list", _TUPLE = "tuple", _DICT = "dict", _FLOAT = "float"
cdef object _INT = "int", _BOOL = "bool", _ARRAY = "array", _VALUE = "Value"
cdef object _INDEX = "index"
cdef object _OBJ = "obj"
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


cdef object _walk(object obj, list key, cpython.array.array xs, object leaves):
    """Describe obj into key (its structure) and xs (its floats, and the
    ints of index inputs); if leaves is an iterator of Values, return obj
    with the next one in each float's place (float numpy arrays as nested
    lists) and in each index input's (as an Index holding it), else obj."""
    cdef type t = type(obj)
    if t is float:
        key.append(_FLOAT)
        _push(xs, obj)
        return obj if leaves is None else next(leaves)
    if t is Index:
        key.append(_INDEX)
        _push(xs, obj.value)
        return obj if leaves is None else Index(obj.value, next(leaves))
    if t is int or t is bool:
        key.append(_INT if t is int else _BOOL)
        key.append(obj)
        return obj
    if isinstance(obj, Value):
        key.append(_VALUE)
        key.append(id(obj))
        return obj
    if t is list or t is tuple or t is dict:
        Py_EnterRecursiveCall(" while walking the arguments of a compiled function")
        try:
            return _walk_container(obj, t, key, xs, leaves)
        finally:
            Py_LeaveRecursiveCall()
    if is_ndarray(obj):
        return _walk_array(obj, key, xs, leaves)
    if isinstance(obj, _numbers.Integral):
        key.append(_INT)
        key.append(int(obj))
        return obj
    if isinstance(obj, _numbers.Real):
        key.append(_FLOAT)
        _push(xs, float(obj))
        return obj if leaves is None else next(leaves)
    try:
        hash(obj)
    except TypeError:
        raise TypeError(f"compile: cannot take an argument of type "
                        f"{t.__name__!r} (use numbers, Values, lists, "
                        f"tuples, dicts, numpy arrays, or hashable "
                        f"objects)") from None
    key.append(_OBJ)
    key.append(t)
    key.append(obj)
    return obj


cdef object _walk_container(object obj, type t, list key, cpython.array.array xs,
                            object leaves):
    if t is dict:
        names = tuple(obj)
        key.append(_DICT)
        key.append(names)
        items = [_walk(obj[name], key, xs, leaves) for name in names]
        return obj if leaves is None else dict(zip(names, items))
    key.append(_LIST if t is list else _TUPLE)
    key.append(len(obj))
    items = [_walk(item, key, xs, leaves) for item in obj]
    if leaves is None:
        return obj
    return items if t is list else tuple(items)


cdef object _walk_array(object obj, list key, cpython.array.array xs, object leaves):
    kind = obj.dtype.kind
    key.append(_ARRAY)
    key.append(obj.shape)
    key.append(obj.dtype.str)
    if kind == "f":
        if leaves is not None:
            return _walk(obj.tolist(), [], cpython.array.clone(_DOUBLES, 0, False), leaves)
        for x in obj.ravel().tolist():
            _push(xs, x)
    elif kind in "iub":
        key.append(obj.tobytes())
    else:
        raise TypeError(f"compile: unsupported numpy array of dtype {obj.dtype}")
    return obj


def flatten(args, kwargs):
    """(key, numbers) of a call: key, a hashable description of the
    arguments' structure (nesting, lengths, ints and bools, identities of
    Values, other hashable objects); numbers, an array('d') of their floats
    in order (Python floats, numpy float scalars and float arrays' items,
    and the values of Index objects, the index inputs)."""
    cdef list key = []
    cdef cpython.array.array xs = cpython.array.clone(_DOUBLES, 0, False)
    _walk(args, key, xs, None)
    if kwargs:
        _walk(kwargs, key, xs, None)
    return tuple(key), xs


def substitute(args, kwargs, leaves):
    """(args, kwargs) with the Values of leaves (an iterable, in flatten's
    order of the numbers) in the floats' places."""
    it = iter(leaves)
    cdef list key = []
    cdef cpython.array.array xs = cpython.array.clone(_DOUBLES, 0, False)
    return _walk(args, key, xs, it), (_walk(kwargs, key, xs, it) if kwargs else {})
