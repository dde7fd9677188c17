from libc.stdint cimport int32_t

cdef class Value:
    cdef int32_t idx        # the node this handle owns a reference to; 0: none

cdef Value wrap(int32_t idx)
cdef int to_double(object x, double* out) except -1
cdef int raise_forward_error(int err) except -1
