# cython: language_level=3
"""backward(): reach every node below the root, children after parents, and
apply each op's local chain rule (ops.h), in C over the arena.

Two ways to order the nodes:

- The index sweep. When every node below the root has a lower index than
  its parent (NODE_ORDERED, the usual case: the arena hands out free slots
  lowest first, so a graph built step by step lies in creation order),
  descending index order is a topological order. One pass from the root
  down visits the marked nodes, applies their backward and marks their
  children; it stops when no marked node is left below. No sort, no stack,
  and the memory is read in order.
- The DFS. Otherwise, an iterative post-order DFS writes a topological order
  into the scratch `topo`, swept in reverse. The index sweep also hands over
  to it if the indices it scans outnumber the nodes it finds (a small graph
  spread over a large arena).

Nodes with a Python `_backward` (ops written in Python, micrograd's way).
Both sweeps run in C until they meet one; from there the rest of the order
is copied into a buffer of this call's own and swept by `run_order`, which
calls each Python `_backward` in its place. Python code can then do
anything, backward() of another graph included, so that sweep holds no
pointer across the call, and the root is pinned (which pins every node
below it) until it is done. A graph without such nodes pays one flag test
per node.

The GIL stays held throughout: it is what guards the arena.
"""

from libc.stdlib cimport malloc, free, realloc
from libc.string cimport memcpy, memset

from micrograd_c.arena cimport mg_node_backward, mg_write_elided
from micrograd_c.arena cimport (
    MG_MOVING_ARENA, NODE_ORDERED, NODE_PYBACK, NODE_INT_GRAD, node_incref, node_decref, checked_bytes)

from micrograd_c.arena cimport NODE_TAPE_ROOT

cdef py_backward_fn _py_backward = NULL
cdef tape_backward_fn _tape_backward = NULL


cdef void set_py_backward(py_backward_fn fn) noexcept:
    global _py_backward
    _py_backward = fn


cdef void set_tape_backward(tape_backward_fn fn) noexcept:
    global _tape_backward
    _tape_backward = fn


# --- scratch ----------------------------------------------------------------
# Traversal buffers sized to the arena: a DFS stack (3 * cap + 1), a
# topological order (cap) and per-slot visit marks (an epoch per slot, 0 for
# slots never visited).

ctypedef struct Scratch:
    int32_t* stack
    int32_t* topo
    uint32_t* marks
    Py_ssize_t cap
    uint32_t epoch

cdef Scratch S


cdef int _grow(void** p, Py_ssize_t count, size_t size) except -1:
    cdef void* q = realloc(p[0], checked_bytes(count, size))
    if q == NULL:
        raise MemoryError("micrograd: cannot allocate traversal scratch")
    p[0] = q
    return 0


cdef int _reserve(Arena* A) except -1:
    """Scratch for traversals of every slot the arena has (shrunk again when
    the arena was; moved to fresh memory in the stress mode, see arena.pxd)."""
    cdef Py_ssize_t cap = A.capacity, keep
    if S.cap >= cap and S.cap <= 4 * cap and not MG_MOVING_ARENA:
        return 0
    keep = min(S.cap, cap)
    if MG_MOVING_ARENA:
        _refresh(<void**>&S.stack, 3 * cap + 1, sizeof(int32_t))
        _refresh(<void**>&S.topo, cap, sizeof(int32_t))
    _grow(<void**>&S.stack, 3 * cap + 1, sizeof(int32_t))
    _grow(<void**>&S.topo, cap, sizeof(int32_t))
    _grow(<void**>&S.marks, cap, sizeof(uint32_t))
    memset(S.marks + keep, 0, <size_t>(cap - keep) * sizeof(uint32_t))
    S.cap = cap
    return 0


cdef int _refresh(void** p, Py_ssize_t count, size_t size) except -1:
    """The stress mode: a scratch buffer (no contents to keep) to fresh
    memory, the old one freed."""
    cdef void* q = malloc(checked_bytes(count, size))
    if q == NULL:
        raise MemoryError("micrograd: cannot allocate traversal scratch")
    free(p[0])
    p[0] = q
    return 0


cdef uint32_t _next_epoch() noexcept:
    """A fresh visit mark; never 0 (the mark of slots never visited)."""
    cdef Py_ssize_t i
    S.epoch += 1
    if S.epoch == 0:
        for i in range(S.cap):
            S.marks[i] = 0
        S.epoch = 1
    return S.epoch


cdef uint32_t* visit_marks(Arena* A, uint32_t* epoch) except NULL:
    """Per-slot marks for a traversal of the caller's and a fresh epoch
    (valid until the next call that can run Python code)."""
    _reserve(A)
    epoch[0] = _next_epoch()
    return S.marks


# --- orders -------------------------------------------------------------------

cdef Py_ssize_t topo_sort(Arena* A, Py_ssize_t nroots) noexcept:
    """Write the nodes reachable from the `nroots` nodes placed on S.stack
    that have a backward to apply (not leaves, but leaves with a Python
    `_backward`) into S.topo, children before parents; return their count.

    Popping a node index expands it (marks it with this sort's epoch,
    pushes its complement ~x, then its unmarked children); popping ~x emits
    x, after everything below it. A node may be pushed once per parent but
    is expanded once, so the stack holds at most nroots + 2 * nodes entries.
    """
    cdef Node* N = A.nodes
    cdef int32_t* stack = S.stack
    cdef uint32_t* mark = S.marks
    cdef uint32_t epoch = _next_epoch()
    cdef Py_ssize_t sp = nroots, count = 0
    cdef int32_t x, a, b
    while sp > 0:
        sp -= 1
        x = stack[sp]
        if x < 0:
            S.topo[count] = ~x
            count += 1
            continue
        if mark[x] == epoch:
            continue
        mark[x] = epoch
        a = N[x].a
        if a < 0 and not (N[x].flags & NODE_PYBACK):
            continue
        stack[sp] = ~x
        sp += 1
        b = N[x].b
        if b >= 0 and mark[b] != epoch:
            stack[sp] = b
            sp += 1
        if a >= 0 and mark[a] != epoch:
            stack[sp] = a
            sp += 1
    return count


cdef Py_ssize_t _handover(int32_t* marked, Py_ssize_t nmarked, int32_t i) noexcept:
    """Put the marked nodes at or below index i (not yet swept) on S.stack
    as DFS roots; return how many."""
    cdef Py_ssize_t k, nroots = 0
    for k in range(nmarked):
        if marked[k] <= i:
            S.stack[nroots] = marked[k]
            nroots += 1
    return nroots


cdef Py_ssize_t index_sweep(Arena* A, int32_t root) noexcept:
    """Backward over an ordered graph in descending index order.

    Returns 0 when done, or the number of DFS roots it left on S.stack when
    it hands over: at a node with a Python `_backward`, or when it scans
    far more slots than it finds nodes. (S.topo lists every node it marked.)
    """
    cdef Node* N = A.nodes
    cdef uint32_t* mark = S.marks
    cdef int32_t* marked = S.topo
    cdef uint32_t epoch = _next_epoch()
    cdef int32_t i = root, a, b
    cdef Py_ssize_t nmarked = 1, pending = 1, done = 0
    mark[root] = epoch
    marked[0] = root
    while True:
        if mark[i] == epoch:
            if N[i].flags & NODE_PYBACK:
                return _handover(marked, nmarked, i)
            mg_node_backward(N, A.consts, i)
            done += 1
            pending -= 1
            a = N[i].a
            b = N[i].b
            if a >= 0 and mark[a] != epoch:
                mark[a] = epoch
                marked[nmarked] = a
                nmarked += 1
                pending += 1
            if b >= 0 and mark[b] != epoch:
                mark[b] = epoch
                marked[nmarked] = b
                nmarked += 1
                pending += 1
            if pending == 0:
                return 0
        i -= 1
        if root - i > 4 * done + 4096:
            return _handover(marked, nmarked, i)


# --- backward -------------------------------------------------------------------

cdef int backward_from(Arena* A, int32_t root) except -1:
    """Value.backward(): over the recording that made root, if any (tape.pyx
    decides), else run_backward."""
    if A.nodes[root].flags & NODE_TAPE_ROOT and _tape_backward != NULL:
        return _tape_backward(root)
    return run_backward(A, root)


cdef int run_backward(Arena* A, int32_t root) except -1:
    """backward(): the root's grad set to the int 1, then every node's local
    chain rule in a topological order, accumulating into the children."""
    cdef Py_ssize_t nroots, count, k
    cdef int32_t j
    if A.releasing:
        raise RuntimeError("backward() called while the graph is being freed")
    mg_write_elided(A)          # a recording's unwritten nodes, which it may reach
    _reserve(A)
    A.nodes[root].grad = 1.0
    A.nodes[root].flags |= NODE_INT_GRAD
    if A.nodes[root].flags & NODE_ORDERED:
        nroots = index_sweep(A, root)
        if nroots == 0:
            return 0
    else:
        S.stack[0] = root
        nroots = 1
    count = topo_sort(A, nroots)
    for k in range(count - 1, -1, -1):
        j = S.topo[k]
        if A.nodes[j].flags & NODE_PYBACK:
            return _sweep_rest(A, count, k, root)
        mg_node_backward(A.nodes, A.consts, j)
    return 0


cdef int _sweep_rest(Arena* A, Py_ssize_t count, Py_ssize_t k, int32_t root) except -1:
    """run_order over S.topo[k], S.topo[k - 1], ..., S.topo[0]."""
    cdef int32_t* rest = <int32_t*>malloc(checked_bytes(k + 1, sizeof(int32_t)))
    cdef Py_ssize_t m
    if rest == NULL:
        raise MemoryError()
    for m in range(k + 1):
        rest[m] = S.topo[k - m]
    try:
        return run_order(A, rest, k + 1, root)
    finally:
        free(rest)


cdef int run_order(Arena* A, const int32_t* order, Py_ssize_t count,
                   int32_t root) except -1:
    """Apply the backward of each node of `order` (the caller's memory, not
    the scratch) in turn, calling Python `_backward`s where nodes have one.
    `root` is pinned meanwhile: every node of the order lies below it."""
    cdef Py_ssize_t k
    cdef int32_t j
    node_incref(A, root)
    try:
        for k in range(count):
            j = order[k]
            if A.nodes[j].flags & NODE_PYBACK and _py_backward != NULL:
                _py_backward(j)                 # anything may happen here
                mg_write_elided(A)              # after a replay, say: as a plain one leaves them
            else:
                mg_node_backward(A.nodes, A.consts, j)
    finally:
        node_decref(A, root)
    return 0
