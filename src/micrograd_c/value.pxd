from libc.stdint cimport int32_t
from cpython.object cimport PyObject

cdef class Value:
    cdef int32_t idx        # the node this handle owns a reference to; 0: none
    cdef PyObject* attrs    # its attribute dict, made on first use (the
                            # type's tp_dictoffset points here); NULL if none
    cdef object __weakref__
    cdef object _gc_capable # always None: a Python field, so that the type
                            # can be tracked by the cyclic GC (handles with
                            # attributes are)

cdef Value wrap(int32_t idx)
cdef Value wrap_kept(int32_t idx)
cdef int to_double(object x, double* out, bint* is_int) except -1
cdef int raise_forward_error(int err) except -1
cdef int32_t node_of(object v) except -1
cdef object python_backward(int32_t idx)
cdef unsigned long long python_backwards() noexcept
