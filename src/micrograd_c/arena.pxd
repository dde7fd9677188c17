# The node arena: every graph node is a Node struct in one contiguous,
# growable array owned by a single process-wide Arena. The arena is storage
# only: nodes, the arrays beside them, the free list and the release
# cascade. Traversal scratch lives in graph.pyx, recording state in tape.pyx.
#
# THE RULE. Any call that can run Python code can grow the arena, which
# moves `nodes` and every array beside it: an allocation (the cyclic GC runs
# gc.callbacks and __del__), a Py_DECREF that may free an object, __hash__,
# __eq__, __float__, __index__, a user's `_backward`. No pointer into arena
# memory (Node*, consts, handles) is held across such a call: hold indices
# and fetch A.nodes again after it. Sizes read before such a call are
# checked again after it.
#
# Ownership. A node is referenced by its handle (at most one live `Value`),
# by each parent that lists it as a child (once per slot, so `a + a` holds
# two references) and by recordings. `refs` counts all of them; the node
# returns to the free list when it drops to zero, and its children are
# released iteratively from `Arena.stack` (no C recursion, so a 10^6-long
# chain frees safely).
#
# Kept handles. A node flagged NODE_KEEP has a handle that must live as long
# as the node does, as in micrograd, where each parent's `_prev` set holds
# its children: a handle that `_prev` handed out (so `id()`-keyed walkers see
# one object per node), or one that carries attributes (a label, a
# `_backward`). While kept, the handle's Python refcount includes one
# reference per reference of the node other than the handle's own (refs - 1):
# parents hold their children's kept handles. value.pyx reports those
# references to the cyclic GC from the parents' handles.
#
# Slot 0 is a permanent sentinel: a handle whose index is 0 owns nothing,
# which is what a freshly allocated (zero-filled) handle holds.

from libc.stdint cimport int32_t, uint8_t, uint16_t, uint64_t
from cpython.object cimport PyObject

from micrograd_c.ops cimport OP_LEAF, OP_POW, OP_RELU, mg_int_result

cdef extern from *:
    """
    #if defined(_MSC_VER)
    #include <intrin.h>
    static inline int mg_ctz64(unsigned long long x) {
        unsigned long i; _BitScanForward64(&i, x); return (int)i;
    }
    #else
    static inline int mg_ctz64(unsigned long long x) { return __builtin_ctzll(x); }
    #endif
    """
    int mg_ctz64(uint64_t x) nogil

cdef extern from *:
    """
    /* The moving-arena stress mode (setup.py: MICROGRAD_C_MOVING=1): every
       reservation moves the arena to fresh memory and frees the old block,
       so a pointer into it kept across a call that can allocate nodes
       becomes a use after free (AddressSanitizer reports it). */
    #ifndef MG_MOVING_ARENA
    #define MG_MOVING_ARENA 0
    #endif
    """
    const int MG_MOVING_ARENA

cdef extern from "Python.h":
    # Reference counting on borrowed handle pointers (no temporary object).
    void Py_INCREF_PTR "Py_INCREF"(PyObject* o) nogil
    void Py_DECREF_PTR "Py_DECREF"(PyObject* o)
    Py_ssize_t Py_REFCNT_PTR "Py_REFCNT"(PyObject* o) nogil


cdef extern from "micrograd_c/node.h":
    # The node struct and its flags (node.h says what each is).
    ctypedef struct Node:
        double data
        double grad
        int32_t a
        int32_t b
        int32_t refs
        uint8_t op
        uint16_t flags
    enum:
        NODE_INT_DATA
        NODE_INT_GRAD
        NODE_INT_CONST
        NODE_ORDERED
        NODE_TAPE_ROOT
        NODE_PYBACK
        NODE_KEEP
        NODE_REACHES_PY
    void mg_node_backward(Node* N, const double* C, int32_t i) nogil
    void mg_backward_op(Node* N, const double* C, int32_t i, int op, int32_t a,
                        int32_t b) nogil
# Fields few nodes need live in arrays beside the nodes, indexed alike, so
# the hot struct stays small: Arena.consts (OP_POW's exponent) and
# Arena.handles (the node's live Value).


ctypedef void (*node_hook)(int32_t idx) noexcept


ctypedef struct Arena:
    Node* nodes
    double* consts      # per slot: the op's constant (OP_POW's exponent)
    PyObject** handles  # per slot, borrowed: the live Value, or NULL (kept
                        # NULL whenever the slot has no handle)
    uint64_t* freemap   # bit i set: slot i is free (below `top`)
    int32_t* stack      # work stack of the release cascade (capacity + 1)
    int32_t capacity    # slots allocated in every array above
    int32_t top         # slots ever handed out (high-water mark)
    int32_t nfree       # set bits in freemap
    int32_t free_word   # no freemap word below this one has a set bit
    int32_t live        # nodes alive, not counting the sentinel
    int32_t pending     # entries on `stack` waiting to be released
    bint releasing      # a release cascade is running
    node_hook on_new    # if set, told of every node made (tape.pyx records)


cdef Arena* get_arena() noexcept
cdef int arena_grow(Arena* A, Py_ssize_t need) except -1
cdef int arena_move(Arena* A) except -1
cdef void arena_release(Arena* A, int32_t idx) noexcept
cdef size_t checked_bytes(Py_ssize_t count, size_t size) except 0


cdef inline int arena_reserve(Arena* A, Py_ssize_t n) except -1:
    """Make room for the next `n` node_put calls (MemoryError if the arena
    cannot grow, OverflowError if n is past what it can ever hold)."""
    if n > <Py_ssize_t>A.capacity - A.top + A.nfree:
        arena_grow(A, <Py_ssize_t>A.top + n)
    elif MG_MOVING_ARENA:
        arena_move(A)
    return 0


cdef inline int32_t _take_slot(Arena* A) noexcept:
    """The lowest free slot (or a new one at the top), in reserved room.
    Lowest first, so a graph rebuilt every step lies in memory in creation
    order, which is the order backward() walks."""
    cdef int32_t i, w
    cdef uint64_t bits
    if A.nfree > 0:
        w = A.free_word
        while A.freemap[w] == 0:
            w += 1
        bits = A.freemap[w]
        A.freemap[w] = bits & (bits - 1)
        A.free_word = w
        A.nfree -= 1
        return w * 64 + mg_ctz64(bits)
    i = A.top
    A.top += 1
    return i


cdef inline void node_incref(Arena* A, int32_t i) noexcept:
    """A new reference to node i from a parent or a recording."""
    cdef Node* n = &A.nodes[i]
    n.refs += 1
    if n.flags & NODE_KEEP:
        Py_INCREF_PTR(A.handles[i])


cdef inline void node_decref(Arena* A, int32_t i) noexcept:
    """Drop a reference to node i taken by node_incref (or a handle's own,
    see value.pyx). May run Python code (a kept handle can be freed)."""
    cdef Node* n = &A.nodes[i]
    n.refs -= 1
    if n.refs == 0:
        arena_release(A, i)
    elif n.flags & NODE_KEEP:
        Py_DECREF_PTR(A.handles[i])


cdef inline int32_t node_put(Arena* A, uint8_t op, double data, int32_t a,
                             int32_t b, double c, uint16_t flags) noexcept:
    """Allocate a node (refs 0, grad the int 0) whose children are `a` and
    `b` (-1: none), in room made by arena_reserve; it takes a reference on
    each child. `flags`: NODE_INT_DATA for a leaf holding an int,
    NODE_INT_CONST for an int exponent; an op's int-ness follows from its
    children by the table."""
    cdef int32_t i = _take_slot(A)
    cdef uint16_t fa = NODE_ORDERED, fb = NODE_ORDERED
    cdef Node* n
    if a >= 0:
        node_incref(A, a)
        fa = A.nodes[a].flags
        if a > i:
            fa &= ~NODE_ORDERED
    if b >= 0:
        node_incref(A, b)
        fb = A.nodes[b].flags
        if b > i:
            fb &= ~NODE_ORDERED
    if (fa | fb) & (NODE_PYBACK | NODE_REACHES_PY):
        flags |= NODE_REACHES_PY
    # An int result needs an int child (or, for ReLU, a negative one): the
    # table's rule is asked only then, so float graphs skip it.
    if ((fa | fb) & NODE_INT_DATA or (op == OP_RELU and A.nodes[a].data < 0.0)) and \
            mg_int_result(op, A.nodes[a].data if a >= 0 else 0.0,
                          A.nodes[b].data if b >= 0 else 0.0, c,
                          A.nodes[a].flags & NODE_INT_DATA if a >= 0 else 0,
                          A.nodes[b].flags & NODE_INT_DATA if b >= 0 else 0,
                          flags & NODE_INT_CONST):
        flags |= NODE_INT_DATA
    if flags & NODE_INT_DATA:
        data += 0.0             # an int has no sign of zero: -0.0 is 0
    n = &A.nodes[i]
    n.data = data
    n.grad = 0.0
    n.a = a
    n.b = b
    n.refs = 0
    n.op = op
    n.flags = flags | (fa & fb & NODE_ORDERED) | NODE_INT_GRAD
    if op == OP_POW:
        A.consts[i] = c
    A.live += 1
    if A.on_new != NULL:
        A.on_new(i)
    return i
