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

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint64_t
from cpython.object cimport PyObject


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


cdef extern from "micrograd_c/arena.h":
    # The node struct, its flags and the arena (arena.h says what each is).
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
        NODE_RECORDING
        NODE_ELIDED
    ctypedef void (*node_hook)(int32_t idx) noexcept
    ctypedef struct Arena:
        Node* nodes
        double* consts
        PyObject** handles
        uint64_t* freemap
        int32_t* stack
        int32_t capacity
        int32_t top
        int32_t nfree
        int32_t free_word
        int32_t live
        int32_t pending
        bint releasing
        node_hook on_new
        int32_t nstale
        node_hook on_stale
    void mg_node_backward(Node* N, const double* C, int32_t i) nogil
    void mg_backward_op(Node* N, const double* C, int32_t i, int op, int32_t a,
                        int32_t b) nogil
    int32_t mg_candidate(const Node* N, int32_t b, int64_t k) nogil
    void mg_pass_grad(Node* N, int32_t i, int32_t c) nogil
    void mg_backward_grad(Node* N, const double* C, int32_t i, int op, int32_t a,
                          int32_t b, double out, double g, int gi) nogil
    void mg_add_grad(Node* N, int32_t c, double g, int gi) nogil
    # Making nodes (always inlined: every op and kernel does it).
    int32_t _take_slot "mg_take_slot"(Arena* A) noexcept
    void node_incref "mg_node_incref"(Arena* A, int32_t i) noexcept
    int32_t node_put "mg_node_put"(Arena* A, uint8_t op, double data, int32_t a,
                                   int32_t b, double c, uint16_t flags) noexcept
    # Freeing a node whose children outlive it (the common release).
    bint mg_release_alone(Arena* A, int32_t i) noexcept
    # Every node a recording's replay left unwritten, written (arena.h).
    void mg_write_elided(Arena* A) noexcept


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


cdef inline void node_decref(Arena* A, int32_t i) noexcept:
    """Drop a reference to node i taken by node_incref (or a handle's own,
    see value.pyx). May run Python code (a kept handle can be freed)."""
    cdef Node* n = &A.nodes[i]
    n.refs -= 1
    if n.refs == 0:
        arena_release(A, i)
    elif n.flags & NODE_KEEP:
        Py_DECREF_PTR(A.handles[i])


