# cython: language_level=3
"""The process-wide node arena: growth, release cascade, statistics."""

from libc.stdlib cimport realloc
from libc.string cimport memset
from cpython.object cimport PyObject
from libc.stdint cimport int64_t, uint64_t

cdef Arena ARENA
cdef size_t NODE_BYTES = sizeof(Node)
# Per-slot bytes of the arrays beside the nodes (stack: three entries, topo,
# marks, consts, handles, and the free bitmap's one bit, rounded up).
cdef size_t AUX_BYTES = (4 * sizeof(int32_t) + sizeof(uint32_t) + sizeof(double)
                         + sizeof(PyObject*) + 1)
cdef int32_t FIRST_CAPACITY = 1024
cdef int32_t MAX_CAPACITY = 0x7FFFFFC0   # a multiple of 64 (freemap words)


cdef Arena* get_arena() noexcept:
    return &ARENA


cdef int _resize(void** p, size_t nbytes) except -1:
    cdef void* q = realloc(p[0], nbytes)
    if q == NULL:
        raise MemoryError(f"micrograd arena: cannot allocate {nbytes} bytes")
    p[0] = q
    return 0


cdef int arena_grow(Arena* A, int32_t need) except -1:
    """Grow every per-slot array so at least `need` slots exist.

    On failure the arena is left as it was (arrays grown so far are merely
    larger than `capacity` says) and MemoryError is raised.
    """
    cdef int64_t cap = A.capacity if A.capacity > 0 else FIRST_CAPACITY
    while cap < need:
        cap *= 2
    if cap > MAX_CAPACITY:
        if need > MAX_CAPACITY:
            raise MemoryError("micrograd arena: too many live nodes")
        cap = MAX_CAPACITY
    _resize(<void**>&A.nodes, <size_t>cap * sizeof(Node))
    _resize(<void**>&A.stack, (3 * <size_t>cap + 1) * sizeof(int32_t))
    _resize(<void**>&A.topo, <size_t>cap * sizeof(int32_t))
    _resize(<void**>&A.marks, <size_t>cap * sizeof(uint32_t))
    memset(A.marks + A.capacity, 0, <size_t>(cap - A.capacity) * sizeof(uint32_t))
    _resize(<void**>&A.consts, <size_t>cap * sizeof(double))
    _resize(<void**>&A.handles, <size_t>cap * sizeof(PyObject*))
    memset(A.handles + A.capacity, 0, <size_t>(cap - A.capacity) * sizeof(PyObject*))
    _resize(<void**>&A.freemap, <size_t>(cap // 64) * sizeof(uint64_t))
    memset(A.freemap + A.capacity // 64, 0,
           <size_t>(cap // 64 - A.capacity // 64) * sizeof(uint64_t))
    A.capacity = <int32_t>cap
    return 0


cdef int arena_grow_rec(Arena* A, int32_t need) except -1:
    """Grow the recording buffer to at least `need` entries."""
    cdef int64_t cap = A.rec_cap if A.rec_cap > 0 else FIRST_CAPACITY
    while cap < need:
        cap *= 2
    if cap > MAX_CAPACITY:
        raise MemoryError("micrograd arena: recording too long")
    _resize(<void**>&A.rec, <size_t>cap * sizeof(int32_t))
    A.rec_cap = <int32_t>cap
    return 0


cdef void arena_release(Arena* A, int32_t idx) noexcept:
    """Free node `idx` (refs just reached 0) and every node only it kept alive.

    Iterative over `A.stack`. Re-entrant: a hook that drops Python handles
    while a cascade runs only queues more work for the running loop. The
    inner loop keeps the arena's fields in locals and hands them back
    before calling the hook, which may change any of them.
    """
    cdef int32_t j, a, b, sp, low, freed
    cdef uint8_t flags
    cdef Node* N
    cdef Node* n
    cdef int32_t* stack
    cdef uint64_t* freemap
    A.stack[A.pending] = idx
    A.pending += 1
    if A.releasing:
        return
    A.releasing = True
    while A.pending > 0:
        N = A.nodes
        stack = A.stack
        freemap = A.freemap
        sp = A.pending
        low = A.free_word
        freed = 0
        flags = 0
        while sp > 0:
            sp -= 1
            j = stack[sp]
            n = &N[j]
            a = n.a
            b = n.b
            flags = n.flags
            n.op = OP_FREE
            freemap[j >> 6] |= (<uint64_t>1) << (j & 63)
            if (j >> 6) < low:
                low = j >> 6
            freed += 1
            if a >= 0:
                N[a].refs -= 1
                if N[a].refs == 0:
                    stack[sp] = a
                    sp += 1
            if b >= 0:
                N[b].refs -= 1
                if N[b].refs == 0:
                    stack[sp] = b
                    sp += 1
            if flags & NODE_EXTRA:
                break
        A.pending = sp
        A.free_word = low
        A.nfree += freed
        A.live -= freed
        if flags & NODE_EXTRA and A.on_extra_release != NULL:
            # May run Python code (dropping handles, making nodes).
            A.on_extra_release(j)
    A.releasing = False


cdef uint32_t arena_next_epoch(Arena* A) noexcept:
    """A fresh visit mark for a graph traversal; never 0 (new nodes' mark)."""
    cdef int32_t i
    A.epoch += 1
    if A.epoch == 0:
        for i in range(A.top):
            A.marks[i] = 0
        A.epoch = 1
    return A.epoch


def arena_stats():
    """Return the arena's occupancy: a dict with

    - ``live``: nodes alive now (referenced by a Value, a parent or a tape),
    - ``capacity``: node slots allocated,
    - ``bytes``: bytes allocated for the slots and their bookkeeping arrays,
    - ``node_bytes``: size of one node struct.

    >>> from micrograd_c import arena_stats
    >>> arena_stats()['live'] >= 0
    True
    """
    return {
        "live": ARENA.live,
        "capacity": ARENA.capacity,
        "bytes": <size_t>ARENA.capacity * (NODE_BYTES + AUX_BYTES),
        "node_bytes": NODE_BYTES,
    }


cdef int _init_arena() except -1:
    memset(&ARENA, 0, sizeof(Arena))
    arena_grow(&ARENA, FIRST_CAPACITY)
    # Slot 0: the sentinel a blank handle points at. Never freed.
    ARENA.nodes[0].data = 0.0
    ARENA.nodes[0].grad = 0.0
    ARENA.nodes[0].flags = NODE_ORDERED
    ARENA.nodes[0].op = OP_LEAF
    ARENA.nodes[0].a = -1
    ARENA.nodes[0].b = -1
    ARENA.nodes[0].refs = 1
    ARENA.top = 1
    return 0


_init_arena()
