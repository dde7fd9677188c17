# Cython's view of the op table (ops.h): the codes the Cython modules name,
# and the table's derived functions. What each op computes is in ops.h.

cdef extern from "micrograd_c/ops.h" nogil:
    enum:
        MG_OK
        MG_ERR_ZERO_POW_NEG
        MG_ERR_NEG_POW_FRAC
        MG_ERR_POW_RANGE
        MG_ERR_MATH_RANGE
        MG_ERR_MATH_DOMAIN

    enum:
        OP_LEAF
        OP_ADD
        OP_MUL
        OP_POW
        OP_POWV
        OP_RELU
        OP_MAX
        OP_SELECT
        OP_CUSTOM
        OP_LINK
        OP_DETACH
        OP_FREE
        N_OPS

    const char* const mg_op_names[]
    const char* const mg_op_methods[]
    const unsigned char mg_op_arity[]
    bint mg_has_grads(int op)
    double mg_forward(int op, double x, double y, double c, int* err)
    int mg_int_result(int op, double x, double y, double c, int xi, int yi, int ci)
    double mg_pow(double x, double y, int* err)
