/* The op table: one row per op, with everything the engine knows of it.
 *
 *   code     the op's code (OP_<code>)
 *   name     its `_op` string ('**' ops format their exponent: '**2')
 *   method   the Value method that makes it, "" for none; a unary op with a
 *            method gets it automatically (value.pyx installs it)
 *   arity    children it reads: 0 (leaf), 1 (x, and maybe the constant c),
 *            2 (x and y)
 *   forward  its value from the children's data x, y and the constant c,
 *            with Python's float semantics; where Python raises, the
 *            expression sets *err (MG_ERR_*) and gives the IEEE value
 *   int      whether the value is a Python int, given xi, yi (the children
 *            hold ints) and ci (the constant is an int): micrograd keeps
 *            ints where Python's arithmetic does
 *   grads    the local chain rule: statements setting ga (and gb), the
 *            contributions added to the first (and second) child's grad,
 *            from x, y, c, out (this node's data) and g (its grad), written
 *            as micrograd's `_backward` closures write them
 *   int_grads  statements setting ia (and ib): whether ga (gb) is an int,
 *            given also gi (g is an int)
 *
 * Everything else is derived from the rows: the enum, the names, the
 * arities, the methods and every dispatch (node creation, backward, replay,
 * the fused kernels).  Adding an op is one row here, plus its row in the
 * pure-Python engine (micrograd/pure.py) that the tests compare against.
 */

#ifndef MICROGRAD_C_OPS_H
#define MICROGRAD_C_OPS_H

#include <math.h>
#include <stddef.h>

/* The table's dispatchers are inlined into every loop that calls them, so
   that a loop over one op (replay, the kernels) compiles to that op's row. */
#if defined(__GNUC__) || defined(__clang__)
#define MG_INLINE static inline __attribute__((always_inline))
#else
#define MG_INLINE static __forceinline
#endif

/* Errors a forward value can raise (value.pyx turns them into Python's). */
enum {
    MG_OK = 0,
    MG_ERR_ZERO_POW_NEG,   /* 0.0 ** negative       -> ZeroDivisionError */
    MG_ERR_NEG_POW_FRAC,   /* negative ** fraction  -> ValueError */
    MG_ERR_POW_RANGE,      /* ** overflows          -> OverflowError */
    MG_ERR_MATH_RANGE,     /* math.exp overflows    -> OverflowError */
    MG_ERR_MATH_DOMAIN     /* math.log(x <= 0), math.sin(inf) -> ValueError */
};

static inline int mg_odd_integer(double v) { return fmod(fabs(v), 2.0) == 1.0; }

/* x ** y as CPython's float.__pow__ computes it. */
static inline double mg_pow(double x, double y, int *err)
{
    int negate = 0;
    double r;
    if (y == 0.0) return 1.0;
    if (isnan(x)) return x;
    if (isnan(y)) return x == 1.0 ? 1.0 : y;
    if (isinf(y)) {
        x = fabs(x);
        if (x == 1.0) return 1.0;
        if ((y > 0.0) == (x > 1.0)) return fabs(y);
        return 0.0;
    }
    if (isinf(x)) {
        if (y > 0.0) return mg_odd_integer(y) ? x : fabs(x);
        return mg_odd_integer(y) ? copysign(0.0, x) : 0.0;
    }
    if (x == 0.0) {
        if (y < 0.0) {
            *err = MG_ERR_ZERO_POW_NEG;
            return mg_odd_integer(y) ? copysign(INFINITY, x) : INFINITY;
        }
        return mg_odd_integer(y) ? x : 0.0;
    }
    if (x < 0.0) {
        if (y != floor(y)) { *err = MG_ERR_NEG_POW_FRAC; return NAN; }
        x = -x;
        negate = mg_odd_integer(y);
    }
    if (x == 1.0) return negate ? -1.0 : 1.0;
    r = pow(x, y);
    if (isinf(r)) *err = MG_ERR_POW_RANGE;
    return negate ? -r : r;
}

/* x ** y in a backward pass, which cannot raise: the IEEE value. */
static inline double mg_pow_ieee(double x, double y)
{
    int ignored = MG_OK;
    return mg_pow(x, y, &ignored);
}

/* math.exp, math.log, math.sin, math.cos */
static inline double mg_exp(double x, int *err)
{
    double r = exp(x);
    if (isinf(r) && isfinite(x)) *err = MG_ERR_MATH_RANGE;
    return r;
}

static inline double mg_log(double x, int *err)
{
    if (isnan(x)) return x;
    if (x <= 0.0) { *err = MG_ERR_MATH_DOMAIN; return x == 0.0 ? -INFINITY : NAN; }
    return log(x);
}

static inline double mg_trig(double r, double x, int *err)
{
    if (isinf(x)) *err = MG_ERR_MATH_DOMAIN;
    return r;
}

/* 1 / (1 + e**-x), in two branches so that exp never overflows. */
static inline double mg_sigmoid(double x)
{
    double e;
    if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
    e = exp(x);
    return e / (1.0 + e);
}

/* d(x ** y)/dy: x ** y * log(x) for x > 0; 0 at x == 0 for y >= 0 (the
   limit from the right); nan elsewhere. */
static inline double mg_pow_exponent_grad(double x, double y, double out)
{
    if (x > 0.0) return out * log(x);
    if (x == 0.0 && y >= 0.0) return 0.0;
    return NAN;
}

/* The table.  `OP` is applied to every row. */
#define MG_OPS(OP)                                                             \
/*  code     name       method     arity                                       \
        forward                              int                               \
        grads                                int_grads                   */    \
OP( LEAF,    "",        "",        0,                                          \
        x,                                   xi,                               \
        (void)0,                             (void)0                   )       \
OP( ADD,     "+",       "",        2,                                          \
        x + y,                               xi && yi,                         \
        ga = g; gb = g,                      ia = gi; ib = gi          )       \
OP( MUL,     "*",       "",        2,                                          \
        x * y,                               xi && yi,                         \
        ga = y * g; gb = x * g,              ia = yi && gi; ib = xi && gi )    \
OP( POW,     "**",      "",        1,       /* x ** c, c a number */           \
        mg_pow(x, c, err),                   xi && ci && c >= 0.0,             \
        ga = c == 0.0 ? 0.0 : (c * mg_pow_ieee(x, c - 1.0)) * g,               \
                                             ia = xi && ci && c >= 1.0 && gi ) \
OP( POWV,    "**",      "",        2,       /* x ** y, y a Value */            \
        mg_pow(x, y, err),                   xi && yi && y >= 0.0,             \
        ga = y == 0.0 ? 0.0 : (y * mg_pow_ieee(x, y - 1.0)) * g;               \
        gb = mg_pow_exponent_grad(x, y, out) * g,                              \
                                             ia = xi && yi && y >= 1.0 && gi;  \
                                             ib = 0                    )       \
OP( RELU,    "ReLU",    "relu",    1,                                          \
        x < 0.0 ? 0.0 : x,                   xi || x < 0.0,                    \
        ga = (double)(out > 0.0) * g,        ia = gi                   )       \
OP( TANH,    "tanh",    "tanh",    1,                                          \
        tanh(x),                             0,                                \
        ga = (1.0 - out * out) * g,          ia = 0                    )       \
OP( EXP,     "exp",     "exp",     1,                                          \
        mg_exp(x, err),                      0,                                \
        ga = out * g,                        ia = 0                    )       \
OP( LOG,     "log",     "log",     1,                                          \
        mg_log(x, err),                      0,                                \
        ga = g / x,                          ia = 0                    )       \
OP( SIGMOID, "sigmoid", "sigmoid", 1,                                          \
        mg_sigmoid(x),                       0,                                \
        ga = (out * (1.0 - out)) * g,        ia = 0                    )       \
OP( SIN,     "sin",     "sin",     1,                                          \
        mg_trig(sin(x), x, err),             0,                                \
        ga = cos(x) * g,                     ia = 0                    )       \
OP( COS,     "cos",     "cos",     1,                                          \
        mg_trig(cos(x), x, err),             0,                                \
        ga = -sin(x) * g,                    ia = 0                    )       \
OP( MAX,     "max",     "",        2,       /* x.max(y), as Python's max(x, y) */ \
        y > x ? y : x,                       y > x ? yi : xi,                  \
        ga = y > x ? 0.0 : g; gb = y > x ? g : 0.0,                            \
                                             ia = !(y > x) && gi;              \
                                             ib = y > x && gi          )       \
/* SELECT, take(values, i): its first child is the index (a recording's    \
   input), the second a LINK chain of the candidates (c0, link(c1, ...));   \
   its value and its gradient go to candidate i, which node.h handles. */   \
OP( SELECT,  "take",    "",        2,                                          \
        x,                                   0,                                \
        (void)0,                             (void)0                   )       \
/* Nodes that compute nothing and pass no gradient on (unless a Python      \
   `_backward` is set on them, see graph.pyx):                               \
   CUSTOM, `Value(data, _children, _op)` made by user code, links its first \
   child and, for more than one, the rest (two directly, more through LINK  \
   nodes: (c0, link(c1, link(c2, ...)))); FREE marks a free slot. */        \
OP( CUSTOM,  "",        "",        2,                                          \
        x,                                   0,                                \
        (void)0,                             (void)0                   )       \
OP( LINK,    "",        "",        2,                                          \
        0.0,                                 0,                                \
        (void)0,                             (void)0                   )       \
/* DETACH, x.detach(): x's value, through which no gradient flows (a        \
   softmax's shift); recomputed on replay. */                               \
OP( DETACH,  "detach",  "detach",  1,                                          \
        x,                                   xi,                               \
        (void)0,                             (void)0                   )       \
OP( FREE,    "<freed>", "",        0,                                          \
        0.0,                                 0,                                \
        (void)0,                             (void)0                   )

/* ---- derived from the table ------------------------------------------- */

#define MG_ENUM(code, ...) OP_##code,
enum { MG_OPS(MG_ENUM) N_OPS };
#undef MG_ENUM

#define MG_NAME(code, name, ...) name,
static const char *const mg_op_names[N_OPS] = { MG_OPS(MG_NAME) };
#undef MG_NAME

#define MG_METHOD(code, name, method, ...) method,
static const char *const mg_op_methods[N_OPS] = { MG_OPS(MG_METHOD) };
#undef MG_METHOD

#define MG_ARITY(code, name, method, arity, ...) arity,
static const unsigned char mg_op_arity[N_OPS] = { MG_OPS(MG_ARITY) };
#undef MG_ARITY

/* Ops whose rows have grads: every row between LEAF and CUSTOM (leaves,
   user nodes, links and free slots pass nothing on). */
MG_INLINE int mg_has_grads(int op)
{
    return (unsigned)(op - 1) < (unsigned)(OP_CUSTOM - 1);
}

/* The value of op over child values x (and y) and constant c. */
MG_INLINE double mg_forward(int op, double x, double y, double c, int *err)
{
    (void)y; (void)c; (void)err;
    switch (op) {
#define MG_FORWARD(code, name, method, arity, forward, ...)                    \
    case OP_##code: return (forward);
    MG_OPS(MG_FORWARD)
#undef MG_FORWARD
    }
    return x;
}

/* Whether op's value is a Python int (see the table's `int` column). */
MG_INLINE int mg_int_result(int op, double x, double y, double c,
                                int xi, int yi, int ci)
{
    (void)x; (void)y; (void)c; (void)xi; (void)yi; (void)ci;
    switch (op) {
#define MG_INT(code, name, method, arity, forward, ints, ...)                  \
    case OP_##code: return (ints) ? 1 : 0;
    MG_OPS(MG_INT)
#undef MG_INT
    }
    return 0;
}

/* A node's local gradients: what backward() adds to its children (*ga to
   the first, *gb to the second). */
MG_INLINE void mg_local_grads(int op, double x, double y, double c, double out,
                              double g, double *pa, double *pb)
{
    double ga = 0.0, gb = 0.0;
    (void)x; (void)y; (void)c; (void)out; (void)g;
    switch (op) {
#define MG_GRADS(code, name, method, arity, forward, ints, grads, ...)         \
    case OP_##code: { grads; break; }
    MG_OPS(MG_GRADS)
#undef MG_GRADS
    }
    *pa = ga;
    *pb = gb;
}

/* Whether those contributions are Python ints (only asked when g is one:
   otherwise neither is). */
MG_INLINE void mg_local_grad_ints(int op, double x, double y, double c,
                                  int xi, int yi, int ci, int *pa, int *pb)
{
    int ia = 0, ib = 0, gi = 1;
    (void)x; (void)y; (void)c; (void)xi; (void)yi; (void)ci; (void)gi;
    switch (op) {
#define MG_GRAD_INTS(code, name, method, arity, forward, ints, grads, int_grads) \
    case OP_##code: { int_grads; break; }
    MG_OPS(MG_GRAD_INTS)
#undef MG_GRAD_INTS
    }
    *pa = ia;
    *pb = ib;
}

#endif /* MICROGRAD_C_OPS_H */
