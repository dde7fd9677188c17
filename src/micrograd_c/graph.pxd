from libc.stdint cimport int32_t, uint16_t, uint32_t

from micrograd_c.arena cimport Arena, Node

# A node with a Python `_backward` (NODE_PYBACK): called by backward() in
# place of the op's row. Set by value.pyx.
ctypedef int (*py_backward_fn)(int32_t idx) except -1

# backward() of a recorded output (NODE_TAPE_ROOT) goes to its recording.
# Set by tape.pyx.
ctypedef int (*tape_backward_fn)(int32_t root) except -1

cdef void set_py_backward(py_backward_fn fn) noexcept
cdef void set_tape_backward(tape_backward_fn fn) noexcept
cdef uint32_t* visit_marks(Arena* A, uint32_t* epoch) except NULL
cdef int backward_from(Arena* A, int32_t root) except -1
cdef int run_backward(Arena* A, int32_t root) except -1
cdef int run_order(Arena* A, const int32_t* order, Py_ssize_t count,
                   int32_t root) except -1


