# cython: language_level=3
"""Topological sort and the reverse sweep of backward(), in C over the arena."""

from libc.stdint cimport uint32_t
from micrograd_c.arena cimport Node, arena_next_epoch
from micrograd_c.ops cimport op_backward


cdef int32_t topo_sort(Arena* A, int32_t root) except -1:
    """Write the non-leaf nodes reachable from `root` into A.topo, children
    before parents, and return their count.

    Iterative DFS on A.stack: popping a node index expands the node (marks
    it with this sort's epoch, pushes its complement ~x, then its unmarked
    children); popping ~x emits x, after everything below it. A node may be
    pushed once per parent but is expanded once, so the stack holds at most
    2 * nodes + 1 entries. Leaves have no backward and are not emitted.
    """
    if A.releasing:
        raise RuntimeError("backward() called while the graph is being freed")
    cdef Node* N = A.nodes
    cdef int32_t* stack = A.stack
    cdef int32_t* topo = A.topo
    cdef uint32_t* mark = A.marks
    cdef uint32_t epoch = arena_next_epoch(A)
    cdef int32_t sp = 1, count = 0, x, a, b
    cdef Node* n
    # The GIL stays held throughout: it is what guards the arena.
    stack[0] = root
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


cdef int run_backward(Arena* A, int32_t root) except -1:
    """backward(): root grad set to 1, then every op's local chain rule in
    reverse topological order, accumulating into the children's grads."""
    cdef int32_t count = topo_sort(A, root)
    cdef Node* N = A.nodes
    cdef int32_t* topo = A.topo
    cdef int32_t i
    N[root].grad = 1.0
    for i in range(count - 1, -1, -1):
        op_backward(N, &N[topo[i]])
    return 0
