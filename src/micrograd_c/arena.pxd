# The node arena: every graph node is a Node struct in one contiguous,
# growable array owned by a single process-wide Arena.
#
# Ownership. A node is referenced by (a) at most one live Python handle
# (a `Value`), (b) each parent node that lists it as a child (once per slot,
# so `a + a` holds two references) and (c) recorded tapes. `refs` counts all
# of them; the node returns to the free list when it drops to zero, and its
# children are released iteratively from `Arena.stack` (no C recursion, so
# a 10^6-long chain frees safely).
#
# Slot 0 is a permanent sentinel: a handle whose index is 0 owns nothing,
# which is what a freshly allocated (zero-filled) handle holds.

from libc.stdint cimport int32_t, uint32_t, uint8_t, uint64_t
from cpython.object cimport PyObject
from cpython.pythread cimport PyThread_get_thread_ident

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


ctypedef struct Node:   # 32 bytes: two to a cache line
    double data
    double grad
    int32_t a           # first child, -1 if none
    int32_t b           # second child, -1 if none
    int32_t refs        # handle + parents + tapes referring to this node
    uint8_t op          # op code (below; its math is in ops.pxd)
    uint8_t flags       # NODE_* bits below
# Fields few nodes need live in arrays beside the nodes, indexed alike, so
# the hot struct stays small: Arena.consts (OP_POW's exponent) and
# Arena.handles (the node's live Value).


# Op codes; what each op computes is in ops.pxd.
cdef enum:
    OP_LEAF = 0     # a Value made from a number
    OP_ADD          # a + b
    OP_MUL          # a * b
    OP_POW          # a ** c, c a number
    OP_POWV         # a ** b, b a Value
    OP_RELU
    OP_TANH
    OP_EXP
    OP_LOG
    OP_SIGMOID
    OP_CUSTOM       # Value(data, _children, _op) made by user code: no backward
    OP_FREE         # a slot on the free list
    N_OPS


cdef enum:
    NODE_INT_CONST = 1  # OP_POW's exponent was an integer: `_op` prints '**2'
    NODE_EXTRA = 2      # has an entry in the Python-side extras table
    NODE_ORDERED = 4    # every node below it has a lower index than its
                        # parent: descending index order is a topological
                        # order of its graph (see graph.pyx)
    NODE_TAPE_ROOT = 8  # an output of a Tape: backward() goes to the tape


ctypedef void (*release_hook)(int32_t idx) noexcept
ctypedef int (*backward_hook)(int32_t root) except -1


ctypedef struct Arena:
    Node* nodes
    int32_t* stack      # work stack of the release cascade and the DFS
                        # (3 * capacity + 1 entries)
    int32_t* topo       # topological order of the last backward (capacity)
    uint32_t* marks     # per slot: epoch of the last traversal that saw it
                        # (0 for new slots); apart from the nodes so
                        # traversals stay in cache
    double* consts      # per slot: the op's constant (OP_POW's exponent)
    PyObject** handles  # per slot, borrowed: the live Value, or NULL (kept
                        # NULL whenever the slot has no handle)
    uint64_t* freemap   # bit i set: slot i is free (below `top`)
    int32_t capacity    # slots allocated in every array above
    int32_t top         # slots ever handed out (high-water mark)
    int32_t nfree       # set bits in freemap
    int32_t free_word   # no freemap word below this one has a set bit
    int32_t live        # nodes alive, not counting the sentinel
    int32_t pending     # entries on `stack` waiting to be released
    bint releasing      # a release cascade is running
    uint32_t epoch      # current topological-sort epoch
    release_hook on_extra_release   # called for freed NODE_EXTRA nodes
    backward_hook tape_backward     # backward() of a NODE_TAPE_ROOT node
    # Recording (tape.pyx): while `recording`, every node that the thread
    # `rec_thread` creates is appended to `rec` and starts with one
    # reference, the recording's own. (Other threads' nodes are theirs.)
    bint recording
    unsigned long rec_thread
    int32_t* rec
    int32_t rec_n
    int32_t rec_cap


cdef Arena* get_arena() noexcept
cdef int arena_grow(Arena* A, int32_t need) except -1
cdef int arena_grow_rec(Arena* A, int32_t need) except -1
cdef void arena_release(Arena* A, int32_t idx) noexcept
cdef uint32_t arena_next_epoch(Arena* A) noexcept


cdef inline int arena_reserve(Arena* A, int32_t n) except -1:
    """Make room for the next `n` node_put calls (MemoryError if the arena
    cannot grow)."""
    if A.capacity - A.top + A.nfree < n:
        arena_grow(A, A.top + n)
    if A.recording and A.rec_cap - A.rec_n < n:
        arena_grow_rec(A, A.rec_n + n)
    return 0


cdef inline int32_t node_put(Arena* A, uint8_t op, double data,
                             int32_t a, int32_t b, double c) noexcept:
    """Allocate a node (refs 0) whose children are `a` and `b` (-1: none),
    in room made by arena_reserve. The node takes a reference on each child.

    Free slots are reused lowest index first, so a graph rebuilt every step
    lies in memory in creation order, which is the order backward() walks.
    """
    cdef int32_t i, w
    cdef uint64_t bits
    cdef uint8_t ordered = NODE_ORDERED
    cdef Node* n
    if A.nfree > 0:
        w = A.free_word
        while A.freemap[w] == 0:
            w += 1
        bits = A.freemap[w]
        A.freemap[w] = bits & (bits - 1)
        A.free_word = w
        A.nfree -= 1
        i = w * 64 + mg_ctz64(bits)
    else:
        i = A.top
        A.top += 1
    if a >= 0:
        A.nodes[a].refs += 1
        if a > i or not (A.nodes[a].flags & NODE_ORDERED):
            ordered = 0
    if b >= 0:
        A.nodes[b].refs += 1
        if b > i or not (A.nodes[b].flags & NODE_ORDERED):
            ordered = 0
    n = &A.nodes[i]
    n.data = data
    n.grad = 0.0
    n.a = a
    n.b = b
    n.refs = 0
    if A.recording and PyThread_get_thread_ident() == A.rec_thread:
        A.rec[A.rec_n] = i
        A.rec_n += 1
        n.refs = 1
    n.op = op
    n.flags = ordered
    if op == OP_POW:
        A.consts[i] = c
    A.live += 1
    return i


cdef inline void node_decref(Arena* A, int32_t i) noexcept:
    cdef Node* n = &A.nodes[i]
    n.refs -= 1
    if n.refs == 0:
        arena_release(A, i)
