/* A graph node, as the arena stores it (arena.pxd has the arena itself). */

#ifndef MICROGRAD_C_NODE_H
#define MICROGRAD_C_NODE_H

#include <stdint.h>
#include "micrograd_c/ops.h"

typedef struct {        /* 32 bytes: two to a cache line */
    double data;
    double grad;
    int32_t a;          /* first child, -1 if none */
    int32_t b;          /* second child, -1 if none */
    int32_t refs;       /* handle + parents + recordings referring to it */
    uint8_t op;         /* op code (ops.h) */
    uint8_t spare;
    uint16_t flags;     /* NODE_* bits below */
} Node;

enum {
    NODE_INT_DATA = 1,  /* data is a Python int (micrograd keeps ints exact) */
    NODE_INT_GRAD = 2,  /* grad is a Python int */
    NODE_INT_CONST = 4, /* OP_POW's exponent is an int: `_op` prints '**2' */
    NODE_ORDERED = 8,   /* every node below it has a lower index than its
                           parent: descending index order is a topological
                           order of its graph (see graph.pyx) */
    NODE_TAPE_ROOT = 16,/* an output of a Tape: backward() goes to the tape */
    NODE_PYBACK = 32,   /* its handle may hold a Python `_backward`, which
                           backward() calls instead of the op's row */
    NODE_KEEP = 64,     /* its handle is kept as long as it lives (arena.pxd) */
    NODE_REACHES_PY = 128,/* a node below it has NODE_PYBACK: its handle is
                           seen by the cyclic GC (value.pyx) */
    NODE_RECORDING = 256, /* made by (or an input of) the recording in
                           progress: reading its data warns (capture.py) */
    NODE_ELIDED = 512     /* a recording's replay may leave its data and grad
                           unwritten (a link inside a dot chain, tape.pyx):
                           the arena's on_stale hook runs before it gets a
                           handle */
};

/* Add the local gradients of a node of op (children a and b, value out,
   grad g, an int if gi) to its children's grads, keeping track of which
   grads are Python ints. C: the ops' constants (OP_POW's exponent),
   indexed like the nodes (i: the node's own index). Loops that know the op
   pass it as a constant, and get that row compiled in. */
MG_INLINE void mg_backward_grad(Node *N, const double *C, int32_t i, int op,
                                int32_t a, int32_t b, double out, double g,
                                int gi)
{
    int binary = mg_op_arity[op] == 2;      /* b is a child (a constant for a constant op) */
    double x, y = 0.0, c, ga, gb;
    int ia = 0, ib = 0;
    x = N[a].data;
    if (binary) y = N[b].data;
    c = op == OP_POW ? C[i] : 0.0;
    mg_local_grads(op, x, y, c, out, g, &ga, &gb);
    if (gi)
        mg_local_grad_ints(op, x, y, c, N[a].flags & NODE_INT_DATA,
                           binary ? N[b].flags & NODE_INT_DATA : 0,
                           N[i].flags & NODE_INT_CONST, &ia, &ib);
    N[a].grad += ga;
    N[a].flags &= ia ? 0xFFFF : (uint16_t)~NODE_INT_GRAD;
    if (binary) {
        N[b].grad += gb;
        N[b].flags &= ib ? 0xFFFF : (uint16_t)~NODE_INT_GRAD;
    }
}

/* mg_backward_grad for node i, from its own value and grad. */
MG_INLINE void mg_backward_op(Node *N, const double *C, int32_t i, int op,
                              int32_t a, int32_t b)
{
    mg_backward_grad(N, C, i, op, a, b, N[i].data, N[i].grad,
                     N[i].flags & NODE_INT_GRAD);
}

/* Candidate k of a SELECT node's chain b (LINK nodes, then the last
   candidate itself; k < 0 counts from the end, as Python's), -1 if there
   is none. */
MG_INLINE int32_t mg_candidate(const Node *N, int32_t b, int64_t k)
{
    int32_t c;
    if (k < 0) {
        for (c = b; N[c].op == OP_LINK; c = N[c].b) k++;
        k++;                            /* the last candidate */
        if (k < 0) return -1;
    }
    while (k > 0 && b >= 0 && N[b].op == OP_LINK) {
        b = N[b].b;
        k--;
    }
    if (b < 0 || k > 0) return -1;
    return N[b].op == OP_LINK ? N[b].a : b;
}

/* Gradient g (an int if gi) into node c, as an identity op passes it. */
MG_INLINE void mg_add_grad(Node *N, int32_t c, double g, int gi)
{
    N[c].grad += g;
    N[c].flags &= gi ? 0xFFFF : (uint16_t)~NODE_INT_GRAD;
}

/* A node's gradient into one node c, as an identity op passes it. */
MG_INLINE void mg_pass_grad(Node *N, int32_t i, int32_t c)
{
    mg_add_grad(N, c, N[i].grad, N[i].flags & NODE_INT_GRAD);
}

/* mg_backward_op for node i's own op; nothing for ops without grads. */
MG_INLINE void mg_node_backward(Node *N, const double *C, int32_t i)
{
    Node *n = &N[i];
    int op = n->op;
    int32_t c;
    if (op == OP_ADD)           /* the two ops most nodes have, compiled in */
        mg_backward_op(N, C, i, OP_ADD, n->a, n->b);
    else if (op == OP_MUL)
        mg_backward_op(N, C, i, OP_MUL, n->a, n->b);
    else if (op == OP_SELECT) { /* to the candidate the index picks */
        c = mg_candidate(N, n->b, (int64_t)N[n->a].data);
        if (c >= 0) mg_pass_grad(N, i, c);
    }
    else if (mg_has_grads(op))
        mg_backward_op(N, C, i, op, n->a, n->b);
}

#endif /* MICROGRAD_C_NODE_H */
