# cython: language_level=3
"""Topological sort and the reverse sweep of backward(), in C over the arena."""

from micrograd_c.arena cimport Node, arena_next_epoch
from micrograd_c.ops cimport op_backward


cdef int32_t topo_sort(Arena* A, int32_t root) except -1:
    """Write the nodes reachable from `root` into A.topo, children first.

    Iterative post-order DFS: A.stack holds the path, A.cursor the next
    child to visit of each node on it. Each node is pushed once (marked with
    this sort's epoch), so both arrays fit in the arena's capacity.
    """
    if A.releasing:
        raise RuntimeError("backward() called while the graph is being freed")
    cdef Node* N = A.nodes
    cdef int32_t* stack = A.stack
    cdef unsigned char* cursor = A.cursor
    cdef int32_t* topo = A.topo
    cdef unsigned int epoch = arena_next_epoch(A)
    cdef int32_t sp = 1, count = 0, x, child
    cdef Node* n
    # The GIL stays held throughout: it is what guards the arena.
    stack[0] = root
    cursor[0] = 0
    N[root].mark = epoch
    while sp > 0:
        x = stack[sp - 1]
        n = &N[x]
        if cursor[sp - 1] == 0:
            cursor[sp - 1] = 1
            child = n.a
        elif cursor[sp - 1] == 1:
            cursor[sp - 1] = 2
            child = n.b
        else:
            sp -= 1
            topo[count] = x
            count += 1
            continue
        if child >= 0 and N[child].mark != epoch:
            N[child].mark = epoch
            stack[sp] = child
            cursor[sp] = 0
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
