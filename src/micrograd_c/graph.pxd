from libc.stdint cimport int32_t
from micrograd_c.arena cimport Arena

cdef int32_t topo_sort(Arena* A, int32_t nroots) except -1
cdef int run_backward(Arena* A, int32_t root) except -1
