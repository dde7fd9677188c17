# cython: language_level=3
"""backward(): reach every node below the root, children after parents, and
apply each op's local chain rule (ops.pxd), in C over the arena.

Two ways to order the nodes:

- The index sweep. When every node below the root has a lower index than
  its parent (NODE_ORDERED, the usual case: the arena hands out free slots
  lowest first, so a graph built step by step lies in creation order),
  descending index order is a topological order. One pass from the root
  down visits the marked nodes, applies their backward and marks their
  children; it stops when no marked node is left below. No sort, no stack,
  and the memory is read in order.
- The DFS. Otherwise, an iterative post-order DFS writes a topological order
  into A.topo, swept in reverse. The index sweep also hands over to it if
  the indices it scans outnumber the nodes it finds (a small graph spread
  over a large arena).

The GIL stays held throughout: it is what guards the arena.
"""

from libc.stdint cimport uint32_t
from micrograd_c.arena cimport Node, NODE_ORDERED, arena_next_epoch
from micrograd_c.ops cimport op_backward


cdef int32_t topo_sort(Arena* A, int32_t nroots) except -1:
    """Write the non-leaf nodes reachable from the `nroots` nodes placed on
    A.stack into A.topo, children before parents; return their count.

    Popping a node index expands it (marks it with this sort's epoch,
    pushes its complement ~x, then its unmarked children); popping ~x emits
    x, after everything below it. A node may be pushed once per parent but
    is expanded once, so the stack holds at most nroots + 2 * nodes entries.
    Leaves have no backward and are not emitted.
    """
    cdef Node* N = A.nodes
    cdef int32_t* stack = A.stack
    cdef int32_t* topo = A.topo
    cdef uint32_t* mark = A.marks
    cdef uint32_t epoch = arena_next_epoch(A)
    cdef int32_t sp = nroots, count = 0, x, a, b
    cdef Node* n
    while sp > 0:
        sp -= 1
        x = stack[sp]
        if x < 0:
            topo[count] = ~x
            count += 1
            continue
        if mark[x] == epoch:
            continue
        mark[x] = epoch
        n = &N[x]
        a = n.a
        if a < 0:
            continue
        stack[sp] = ~x
        sp += 1
        b = n.b
        if b >= 0 and mark[b] != epoch:
            stack[sp] = b
            sp += 1
        if mark[a] != epoch:
            stack[sp] = a
            sp += 1
    return count


cdef int32_t index_sweep(Arena* A, int32_t root) noexcept:
    """Backward over an ordered graph in descending index order.

    Returns 0 when done, or the number of DFS roots it left on A.stack when
    it hands over: the marked nodes not yet reached, all below every node
    it has processed (A.topo lists each node it marked, for that case).
    """
    cdef Node* N = A.nodes
    cdef uint32_t* mark = A.marks
    cdef int32_t* marked = A.topo
    cdef uint32_t epoch = arena_next_epoch(A)
    cdef int32_t i = root, nmarked = 0, pending = 1, done = 0, a, b, k, nroots
    cdef Node* n
    mark[root] = epoch
    while True:
        if mark[i] == epoch:
            n = &N[i]
            op_backward(A, i)
            done += 1
            pending -= 1
            a = n.a
            b = n.b
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
            nroots = 0
            for k in range(nmarked):
                if marked[k] <= i:
                    A.stack[nroots] = marked[k]
                    nroots += 1
            return nroots


cdef int run_backward(Arena* A, int32_t root) except -1:
    """backward(): root grad set to 1, then every op's local chain rule in
    reverse topological order, accumulating into the children's grads."""
    if A.releasing:
        raise RuntimeError("backward() called while the graph is being freed")
    cdef Node* N = A.nodes
    cdef int32_t nroots, count, i
    N[root].grad = 1.0
    if N[root].flags & NODE_ORDERED:
        nroots = index_sweep(A, root)
        if nroots == 0:
            return 0
    else:
        A.stack[0] = root
        nroots = 1
    count = topo_sort(A, nroots)
    for i in range(count - 1, -1, -1):
        op_backward(A, A.topo[i])
    return 0
