/* The node arena's storage and the making of nodes (arena.pxd tells the
 * ownership rules; arena.pyx grows, frees and measures the arena).
 *
 * Making a node is in C, always inlined, because every op and every kernel
 * does it: it is most of the engine's time per node.
 */

#ifndef MICROGRAD_C_ARENA_H
#define MICROGRAD_C_ARENA_H

#include <Python.h>
#include <stdint.h>
#include "micrograd_c/node.h"

#if defined(_MSC_VER)
#include <intrin.h>
static inline int mg_ctz64(unsigned long long x)
{
    unsigned long i;
    _BitScanForward64(&i, x);
    return (int)i;
}
#else
static inline int mg_ctz64(unsigned long long x) { return __builtin_ctzll(x); }
#endif

typedef void (*node_hook)(int32_t idx);

typedef struct {
    Node *nodes;
    double *consts;      /* per slot: the op's constant (OP_POW's exponent) */
    PyObject **handles;  /* per slot, borrowed: the live Value, or NULL (kept
                            NULL whenever the slot has no handle) */
    uint64_t *freemap;   /* bit i set: slot i is free (below `top`) */
    int32_t *stack;      /* work stack of the release cascade (capacity + 1) */
    int32_t capacity;    /* slots allocated in every array above */
    int32_t top;         /* slots ever handed out (high-water mark) */
    int32_t nfree;       /* set bits in freemap */
    int32_t free_word;   /* no freemap word below this one has a set bit */
    int32_t live;        /* nodes alive, not counting the sentinel */
    int32_t pending;     /* entries on `stack` waiting to be released */
    int releasing;       /* a release cascade is running */
    node_hook on_new;    /* if set, told of every node made (tape.pyx records) */
    int32_t nstale;      /* recordings whose last replay left nodes unwritten */
    node_hook on_stale;  /* tape.pyx: on_stale(-1) writes those nodes (run
                            before a node's data changes or a backward() that
                            may reach them); on_stale(i) too, before elided
                            node i gets a handle, and its recording writes
                            every node from then on */
} Arena;

/* Before anything that can see a node a recording's replay left unwritten
   (a dynamic backward, a `_backward`, a change to a computed node's data or
   grad): every such node written (tape.pyx). Runs no Python code. */
MG_INLINE void mg_write_elided(Arena *A)
{
    if (A->nstale) A->on_stale(-1);
}

/* The lowest free slot (or a new one at the top), in reserved room. Lowest
   first, so a graph rebuilt every step lies in memory in creation order,
   which is the order backward() walks. */
MG_INLINE int32_t mg_take_slot(Arena *A)
{
    int32_t w;
    uint64_t bits;
    if (A->nfree > 0) {
        w = A->free_word;
        while (A->freemap[w] == 0) w++;
        bits = A->freemap[w];
        A->freemap[w] = bits & (bits - 1);
        A->free_word = w;
        A->nfree--;
        return w * 64 + mg_ctz64(bits);
    }
    return A->top++;
}

/* A new reference to node i from a parent or a recording. */
MG_INLINE void mg_node_incref(Arena *A, int32_t i)
{
    Node *n = &A->nodes[i];
    n->refs++;
    if (n->flags & NODE_KEEP) Py_INCREF(A->handles[i]);
}

/* Allocate a node (refs 0, grad the int 0) whose children are a and b (-1:
   none), in room made by arena_reserve; it takes a reference on each child.
   flags: NODE_INT_DATA for a leaf holding an int, NODE_INT_CONST for an int
   exponent; an op's int-ness follows from its children by the table. */
MG_INLINE int32_t mg_node_put(Arena *A, uint8_t op, double data, int32_t a,
                              int32_t b, double c, uint16_t flags)
{
    int32_t i = mg_take_slot(A);
    uint16_t fa = NODE_ORDERED, fb = NODE_ORDERED;
    Node *N, *n;
    if (a >= 0) {
        mg_node_incref(A, a);
        fa = A->nodes[a].flags;
        if (a > i) fa &= ~NODE_ORDERED;
    }
    if (b >= 0) {
        mg_node_incref(A, b);
        fb = A->nodes[b].flags;
        if (b > i) fb &= ~NODE_ORDERED;
    }
    N = A->nodes;
    if ((fa | fb) & (NODE_PYBACK | NODE_REACHES_PY)) flags |= NODE_REACHES_PY;
    /* An int result needs an int child (or, for ReLU, a negative one): the
       table's rule is asked only then, so float graphs skip it. */
    if (((fa | fb) & NODE_INT_DATA || (op == OP_RELU && N[a].data < 0.0))
            && mg_int_result(op, a >= 0 ? N[a].data : 0.0, b >= 0 ? N[b].data : 0.0,
                             c, a >= 0 ? N[a].flags & NODE_INT_DATA : 0,
                             b >= 0 ? N[b].flags & NODE_INT_DATA : 0,
                             flags & NODE_INT_CONST))
        flags |= NODE_INT_DATA;
    if (flags & NODE_INT_DATA) data += 0.0;   /* an int has no sign of zero */
    n = &N[i];
    n->data = data;
    n->grad = 0.0;
    n->a = a;
    n->b = b;
    n->refs = 0;
    n->op = op;
    n->flags = flags | (fa & fb & NODE_ORDERED) | NODE_INT_GRAD;
    if (op == OP_POW) A->consts[i] = c;
    A->live++;
    if (A->on_new != NULL) A->on_new(i);
    return i;
}

/* Slot j returns to the free list (its node has no references left). */
MG_INLINE void mg_free_slot(Arena *A, int32_t j)
{
    A->nodes[j].op = OP_FREE;
    A->freemap[j >> 6] |= (uint64_t)1 << (j & 63);
    if ((j >> 6) < A->free_word) A->free_word = j >> 6;
    A->nfree++;
    A->live--;
}

/* Whether child c (-1: none) outlives losing `uses` references with nothing
   more to do (no kept handle to let go). */
MG_INLINE int mg_stays(const Node *N, int32_t c, int32_t uses)
{
    return c < 0 || (N[c].refs > uses && !(N[c].flags & NODE_KEEP));
}

/* The common case of a release, done directly: node i (its refs just
   reached 0) is freed and its children all outlive it (an op's result
   dropped while its operands live on). Returns 0, changing nothing, if it
   is not that case; the release cascade (arena.pyx) does the rest. Runs no
   Python code. */
MG_INLINE int mg_release_alone(Arena *A, int32_t i)
{
    Node *N = A->nodes;
    int32_t a = N[i].a, b = N[i].b, uses = 1 + (a == b);
    if (!(mg_stays(N, a, uses) && mg_stays(N, b, uses))) return 0;
    if (a >= 0) N[a].refs--;
    if (b >= 0) N[b].refs--;
    mg_free_slot(A, i);
    return 1;
}

#endif /* MICROGRAD_C_ARENA_H */
