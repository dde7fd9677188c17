# cython: language_level=3
"""The process-wide node arena: growth, the release cascade, statistics."""

from libc.stdlib cimport malloc, free, realloc
from libc.string cimport memcpy
from libc.string cimport memset
from libc.stdint cimport int64_t, uint64_t
from cpython.object cimport PyObject

from micrograd_c.ops cimport OP_LEAF, OP_FREE

cdef Arena ARENA
cdef size_t NODE_BYTES = sizeof(Node)
# Per-slot bytes of the arrays beside the nodes (consts, handles, the
# release stack, and the free bitmap's one bit, rounded up).
cdef size_t AUX_BYTES = sizeof(double) + sizeof(PyObject*) + sizeof(int32_t) + 1
cdef int32_t FIRST_CAPACITY = 1024
# The most slots the arena may hold: a multiple of 64 (freemap words) that
# keeps every index and count in an int32 (a node's refs count at most two
# per node that uses it, plus its handle and recordings). Tests lower it (set_max_capacity)
# to exercise running out of room without allocating gigabytes.
cdef int64_t MAX_CAPACITY = 0x3FFFFFC0   # so that no refcount can pass 2**31
cdef int64_t max_capacity = MAX_CAPACITY
cdef Py_ssize_t AUTO_TRIM = 1 << 22       # slots (about 200 MB with the arrays beside)


cdef Arena* get_arena() noexcept:
    return &ARENA


cdef size_t checked_bytes(Py_ssize_t count, size_t size) except 0:
    """count * size as a byte count for an allocation, or OverflowError if
    that does not fit (every allocation size in the core comes from here).
    Never 0: an empty array still gets one element."""
    if count < 0:
        raise OverflowError(f"micrograd: negative size {count}")
    if count == 0:
        count = 1
    if <size_t>count > (<size_t>0x7FFFFFFFFFFFFFFF) // size:
        raise OverflowError(f"micrograd: {count} items of {size} bytes do not fit in memory")
    return <size_t>count * size


cdef int _resize(void** p, Py_ssize_t count, size_t size) except -1:
    cdef size_t nbytes = checked_bytes(count, size)
    cdef void* q = realloc(p[0], nbytes)
    if q == NULL:
        raise MemoryError(f"micrograd arena: cannot allocate {nbytes} bytes")
    p[0] = q
    return 0


cdef int arena_grow(Arena* A, Py_ssize_t need) except -1:
    """Grow every per-slot array so at least `need` slots exist.

    Checks first, then grows: past the capacity limit it raises MemoryError
    with nothing changed; if an allocation fails, the arrays grown so far
    are merely larger than `capacity` says.
    """
    cdef int64_t cap = A.capacity if A.capacity > 0 else FIRST_CAPACITY
    if need > max_capacity:
        raise MemoryError(f"micrograd arena: {need} nodes would exceed its limit "
                          f"of {max_capacity}")
    while cap < need:
        cap *= 2
    if cap > max_capacity:
        cap = max_capacity
    _resize(<void**>&A.nodes, cap, sizeof(Node))
    _resize(<void**>&A.consts, cap, sizeof(double))
    _resize(<void**>&A.handles, cap, sizeof(PyObject*))
    memset(A.handles + A.capacity, 0, <size_t>(cap - A.capacity) * sizeof(PyObject*))
    _resize(<void**>&A.stack, cap + 1, sizeof(int32_t))
    _resize(<void**>&A.freemap, (cap + 63) // 64, sizeof(uint64_t))
    memset(A.freemap + (A.capacity + 63) // 64, 0,
           <size_t>((cap + 63) // 64 - (A.capacity + 63) // 64) * sizeof(uint64_t))
    A.capacity = <int32_t>cap
    return 0


cdef int _moved(void** p, Py_ssize_t used, Py_ssize_t count, size_t size) except -1:
    """p[0] copied (its first `used` items, the rest zeroed) to fresh memory
    of `count` items; the old block freed (the stress mode's move)."""
    cdef void* q = malloc(checked_bytes(count, size))
    if q == NULL:
        raise MemoryError("micrograd arena: cannot allocate")
    memcpy(q, p[0], <size_t>used * size)
    memset(<char*>q + <size_t>used * size, 0, <size_t>(count - used) * size)
    free(p[0])
    p[0] = q
    return 0


cdef Py_ssize_t _moves = 0


cdef int arena_move(Arena* A) except -1:
    """The stress mode's move (MG_MOVING_ARENA): every array to fresh
    memory. At every reservation while the arena has at most 8192 slots in
    use, and at every (slots / 4)-th beyond (a copy per op would make big
    graphs quadratic)."""
    global _moves
    _moves += 1
    if A.top > 8192 and _moves % (A.top // 4):
        return 0
    cdef Py_ssize_t cap = A.capacity, top = A.top
    _moved(<void**>&A.nodes, top, cap, sizeof(Node))
    _moved(<void**>&A.consts, top, cap, sizeof(double))
    _moved(<void**>&A.handles, top, cap, sizeof(PyObject*))
    _moved(<void**>&A.stack, A.pending, cap + 1, sizeof(int32_t))
    _moved(<void**>&A.freemap, (top + 63) // 64, (cap + 63) // 64, sizeof(uint64_t))
    return 0


cdef void _trim(Arena* A, Py_ssize_t at_least) noexcept:
    """Give memory back once most of an arena of at least `at_least` slots
    is free: the free slots at the top leave the free list, and the arrays
    shrink to twice what is left (never below what is in use)."""
    cdef Py_ssize_t top = A.top, cap, removed = 0
    if A.capacity < at_least or <Py_ssize_t>A.live * 8 > A.capacity:
        return
    while top > 1 and A.freemap[(top - 1) >> 6] >> ((top - 1) & 63) & 1:
        top -= 1
        A.freemap[top >> 6] &= ~((<uint64_t>1) << (top & 63))
        removed += 1
    cap = FIRST_CAPACITY
    while cap < 2 * top:
        cap *= 2
    if 4 * cap > A.capacity:
        # Not worth a copy: leave the slots free, and the arena as it is.
        while removed > 0:
            A.freemap[top >> 6] |= (<uint64_t>1) << (top & 63)
            top += 1
            removed -= 1
        return
    A.top = <int32_t>top
    A.nfree -= <int32_t>removed
    # Shrinking in place cannot fail for want of memory; if it does, the
    # block simply stays as large as it was.
    _shrink(<void**>&A.nodes, cap * sizeof(Node))
    _shrink(<void**>&A.consts, cap * sizeof(double))
    _shrink(<void**>&A.handles, cap * sizeof(PyObject*))
    _shrink(<void**>&A.stack, (cap + 1) * sizeof(int32_t))
    _shrink(<void**>&A.freemap, ((cap + 63) // 64) * sizeof(uint64_t))
    A.capacity = <int32_t>cap


cdef void _shrink(void** p, size_t nbytes) noexcept:
    cdef void* q = realloc(p[0], nbytes)
    if q != NULL:
        p[0] = q


cdef inline bint _drop_kept(Arena* A, int32_t c) noexcept:
    """Drop the reference a freed parent held on c's kept handle, if that
    runs no Python code (the handle stays alive); True if it must be left
    to the caller, because it would free the handle."""
    cdef PyObject* h = A.handles[c]
    if Py_REFCNT_PTR(h) > 1:
        Py_DECREF_PTR(h)
        return False
    return True


cdef enum:
    NOTHING = -0x80000000     # _unref: nothing more to do


cdef inline int32_t _unref(Arena* A, Node* N, int32_t c) noexcept:
    """Drop a freed parent's reference to child c. Returns the stack entry
    that follows: c (to free it too), ~c (its kept handle must be freed,
    which runs Python code) or NOTHING."""
    N[c].refs -= 1
    if N[c].refs == 0:
        return c
    if N[c].flags & NODE_KEEP and _drop_kept(A, c):
        return ~c
    return NOTHING


cdef int32_t _release_run(Arena* A) noexcept:
    """Work through A.stack until it is empty (returns -1) or a kept handle
    must be freed (returns its node: the caller drops the handle, which runs
    Python code). An entry j >= 0 is a node to free; ~c is a node whose kept
    handle is to be freed next. The loop keeps the arena's counts in locals
    and hands them back before it returns."""
    cdef Node* N = A.nodes
    cdef int32_t* stack = A.stack
    cdef uint64_t* freemap = A.freemap
    cdef int32_t sp = A.pending, low = A.free_word, freed = 0, e, a, b, out = -1
    while sp > 0:
        sp -= 1
        e = stack[sp]
        if e < 0:
            out = ~e
            break
        a = N[e].a
        b = N[e].b
        N[e].op = OP_FREE
        freemap[e >> 6] |= (<uint64_t>1) << (e & 63)
        if (e >> 6) < low:
            low = e >> 6
        freed += 1
        if b >= 0:
            e = _unref(A, N, b)
            if e != NOTHING:
                stack[sp] = e
                sp += 1
        if a >= 0:
            e = _unref(A, N, a)
            if e == ~a:
                out = a
                break
            if e != NOTHING:
                stack[sp] = e
                sp += 1
    A.pending = sp
    A.free_word = low
    A.nfree += freed
    A.live -= freed
    return out


cdef void arena_release(Arena* A, int32_t idx) noexcept:
    """Free node `idx` (refs just reached 0) and every node only it kept alive.

    Iterative over `A.stack` (no C recursion: a 10^6-long chain frees
    safely). Re-entrant: a handle freed on the way (which runs Python code)
    that frees more nodes only queues them for the running loop.
    """
    cdef int32_t c
    if not A.releasing and mg_release_alone(A, idx):
        return
    A.stack[A.pending] = idx
    A.pending += 1
    if A.releasing:
        return
    A.releasing = True
    while True:
        c = _release_run(A)
        if c < 0:
            break
        # The last reference to c's kept handle, held by a freed parent:
        # freeing the handle (Python code) drops its own reference to c.
        Py_DECREF_PTR(A.handles[c])
    # Graphs of millions of nodes give their memory back when freed (a
    # training loop rebuilding a smaller graph every step would only grow
    # the arena again: arena_trim() does it on demand).
    _trim(A, AUTO_TRIM)
    A.releasing = False


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


def arena_trim():
    """Give back the memory of a mostly free arena now (it happens by itself
    when a graph of millions of nodes is freed); returns the capacity after.

    >>> from micrograd_c.arena import arena_trim
    >>> arena_trim() >= 1024
    True
    """
    if not ARENA.releasing:
        _trim(&ARENA, 16 * FIRST_CAPACITY)
    return ARENA.capacity


def set_max_capacity(limit=None):
    """Set the most node slots the arena may ever hold (None: the default,
    about 2**31); returns the previous limit. Growing past it raises
    MemoryError. For tests of running out of room; never below the slots
    in use now."""
    global max_capacity
    previous = max_capacity
    cdef int64_t n = MAX_CAPACITY if limit is None else limit
    if n < ARENA.capacity or n > MAX_CAPACITY:
        raise ValueError(f"limit must be in [{ARENA.capacity}, {MAX_CAPACITY}], got {limit!r}")
    max_capacity = n
    return previous


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
