# The op table: each op's forward value and local gradient, side by side.
#
# Forward values follow Python's own float math bit for bit (the `+`, `*` and
# `**` of `float`, and `math.tanh`, `math.exp`, `math.log`), so a graph built
# here holds exactly the numbers the original micrograd computes. Forward
# errors are reported through `err` (FWD_* codes) and turned into the
# exception Python would raise by the caller, before anything is allocated.
#
# Backward mirrors the original's `_backward` closures expression for
# expression (same operand order), so gradients round the same way.

from libc.stdint cimport int32_t
from libc.math cimport tanh, exp, log, pow, fabs, floor, fmod, copysign
from libc.math cimport isnan, isinf, isfinite, INFINITY, NAN

from micrograd_c.arena cimport Arena, Node
from micrograd_c.arena cimport (
    OP_LEAF, OP_ADD, OP_MUL, OP_POW, OP_POWV, OP_RELU, OP_TANH, OP_EXP, OP_LOG,
    OP_SIGMOID, OP_CUSTOM, OP_FREE, N_OPS)


cdef enum:
    FWD_OK = 0
    FWD_ZERO_POW_NEG    # 0.0 ** negative      -> ZeroDivisionError
    FWD_NEG_POW_FRAC    # negative ** fraction -> ValueError (complex result)
    FWD_POW_RANGE       # float ** overflows   -> OverflowError
    FWD_MATH_RANGE      # math.exp overflows   -> OverflowError
    FWD_MATH_DOMAIN     # math.log(x <= 0)     -> ValueError


cdef inline bint _odd_integer(double v) noexcept nogil:
    return fmod(fabs(v), 2.0) == 1.0


cdef inline double float_pow(double x, double y, int* err) noexcept nogil:
    """`x ** y` as CPython's float.__pow__ computes it.

    Where Python raises, `err` is set and the IEEE value is returned (the
    backward sweep uses that value, as it cannot raise).
    """
    cdef bint negate = False
    cdef double r
    if y == 0.0:
        return 1.0
    if isnan(x):
        return x
    if isnan(y):
        return 1.0 if x == 1.0 else y
    if isinf(y):
        x = fabs(x)
        if x == 1.0:
            return 1.0
        if (y > 0.0) == (x > 1.0):
            return fabs(y)
        return 0.0
    if isinf(x):
        if y > 0.0:
            return x if _odd_integer(y) else fabs(x)
        return copysign(0.0, x) if _odd_integer(y) else 0.0
    if x == 0.0:
        if y < 0.0:
            err[0] = FWD_ZERO_POW_NEG
            return copysign(INFINITY, x) if _odd_integer(y) else INFINITY
        return x if _odd_integer(y) else 0.0
    if x < 0.0:
        if y != floor(y):
            err[0] = FWD_NEG_POW_FRAC
            return NAN
        x = -x
        negate = _odd_integer(y)
    if x == 1.0:
        return -1.0 if negate else 1.0
    r = pow(x, y)
    if isinf(r):
        err[0] = FWD_POW_RANGE
    return -r if negate else r


cdef inline double math_exp(double x, int* err) noexcept nogil:
    cdef double r = exp(x)
    if isinf(r) and isfinite(x):
        err[0] = FWD_MATH_RANGE
    return r


cdef inline double math_log(double x, int* err) noexcept nogil:
    if isnan(x):
        return x
    if x <= 0.0:
        err[0] = FWD_MATH_DOMAIN
        return -INFINITY if x == 0.0 else NAN
    return log(x)


cdef inline double sigmoid(double x) noexcept nogil:
    cdef double e
    if x >= 0.0:
        return 1.0 / (1.0 + exp(-x))
    e = exp(x)
    return e / (1.0 + e)


cdef inline double op_forward(int op, double x, double y, double c,
                              int* err) noexcept nogil:
    """The value of op applied to child values x (and y) and constant c."""
    if op == OP_ADD:
        return x + y
    elif op == OP_MUL:
        return x * y
    elif op == OP_POW:
        return float_pow(x, c, err)
    elif op == OP_POWV:
        return float_pow(x, y, err)
    elif op == OP_RELU:
        return 0.0 if x < 0.0 else x
    elif op == OP_TANH:
        return tanh(x)
    elif op == OP_EXP:
        return math_exp(x, err)
    elif op == OP_LOG:
        return math_log(x, err)
    elif op == OP_SIGMOID:
        return sigmoid(x)
    return x


cdef inline void local_backward(Node* N, const double* C, int op, int32_t i,
                                int32_t a, int32_t b) noexcept nogil:
    """Accumulate the local gradients of node i (op over children a, b)
    into the children."""
    cdef double g = N[i].grad
    cdef double x, y, t
    cdef int ignored = 0
    if op == OP_ADD:
        N[a].grad += g
        N[b].grad += g
    elif op == OP_MUL:
        N[a].grad += N[b].data * g
        N[b].grad += N[a].data * g
    elif op == OP_POW:
        x = N[a].data
        t = C[i]
        N[a].grad += (t * float_pow(x, t - 1.0, &ignored)) * g
    elif op == OP_POWV:
        x = N[a].data
        y = N[b].data
        N[a].grad += (y * float_pow(x, y - 1.0, &ignored)) * g
        if x > 0.0:
            t = N[i].data * log(x)
        elif x == 0.0 and y >= 0.0:
            t = 0.0
        else:
            t = NAN
        N[b].grad += t * g
    elif op == OP_RELU:
        N[a].grad += (<double>(N[i].data > 0.0)) * g
    elif op == OP_TANH:
        t = N[i].data
        N[a].grad += (1.0 - t * t) * g
    elif op == OP_EXP:
        N[a].grad += N[i].data * g
    elif op == OP_LOG:
        N[a].grad += g / N[a].data
    elif op == OP_SIGMOID:
        t = N[i].data
        N[a].grad += (t * (1.0 - t)) * g
    # OP_LEAF, OP_CUSTOM: nothing flows further.


cdef inline void op_backward(Arena* A, int32_t i) noexcept nogil:
    """Accumulate node i's local gradients into its children."""
    cdef Node* n = &A.nodes[i]
    local_backward(A.nodes, A.consts, n.op, i, n.a, n.b)
