# cython: language_level=3
"""`Value`: the Python handle of a node in the arena.

A handle holds its node's index and, when it has any, its attributes. It is
not tracked by the cyclic garbage collector unless it has attributes (which
can take part in reference cycles, as a `_backward` closure that refers to
its own node does); the graph itself lives in the arena. Each op is one C
call: it computes the forward value with Python's float semantics, raises if
Python would, and only then allocates the node.

The class is micrograd's: `micrograd.engine.Value` by name, open to
monkeypatching (`Value.tanh = tanh`) and subclassing, with ops written in
Python the micrograd way (`out = Value(t, (self,), 'tanh')`, then
`out._backward = closure`).
"""

cimport cython
from cpython.object cimport PyObject, PyTypeObject
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_FromDouble
from cpython.long cimport PyLong_AsDouble, PyLong_FromDouble
from libc.math cimport isfinite
from libc.string cimport memset
from libc.stdint cimport int32_t, uint16_t, uint32_t

from micrograd_c.arena cimport mg_node_backward, mg_write_elided
from micrograd_c.arena cimport (
    Arena, Node, get_arena, arena_reserve, node_put, node_decref,
    Py_INCREF_PTR, Py_DECREF_PTR,
    NODE_INT_DATA, NODE_INT_GRAD, NODE_INT_CONST, NODE_PYBACK, NODE_KEEP,
    NODE_REACHES_PY, NODE_RECORDING, NODE_ELIDED)
from micrograd_c.ops cimport (
    OP_LEAF, OP_ADD, OP_MUL, OP_POW, OP_POWV, OP_CUSTOM, OP_LINK, OP_MAX, OP_SELECT,
    N_OPS,
    MG_OK, MG_ERR_ZERO_POW_NEG, MG_ERR_NEG_POW_FRAC, MG_ERR_POW_RANGE,
    MG_ERR_MATH_RANGE, MG_ERR_MATH_DOMAIN,
    mg_forward, mg_op_names, mg_op_methods, mg_op_arity)
from micrograd_c.graph cimport backward_from, set_py_backward

import copyreg
import numbers

cdef extern from "Python.h":
    ctypedef int (*visitproc)(PyObject*, void*)
    int PyObject_GC_IsTracked(object o)
    void PyObject_GC_Track(void* o)
    void PyObject_GC_UnTrack(void* o)
    int PyObject_GenericSetAttr(object o, object name, object value) except -1
    int PyObject_GenericDelAttr "PyObject_GenericSetAttr"(
        object o, object name, PyObject* null) except -1
    object PyObject_GenericGetDict(object o, void* context)
    int PyObject_GenericSetDict(object o, PyObject* value, void* context) except -1

cdef extern from *:
    """
    #include "micrograd_c/ops.h"

    /* Methods of the unary ops, made from the op table: one C trampoline
       per row, calling the Cython implementation with the row's code. */
    static PyObject *(*mg_unary_impl)(PyObject *, int) = NULL;
    #define MG_TRAMPOLINE(code, ...)                                          \\
        static PyObject *mg_method_##code(PyObject *self, PyObject *unused) { \\
            (void)unused; return mg_unary_impl(self, OP_##code); }
    MG_OPS(MG_TRAMPOLINE)
    #undef MG_TRAMPOLINE
    #define MG_METHODDEF(code, name, method, ...)                             \\
        {method, (PyCFunction)mg_method_##code, METH_NOARGS, NULL},
    static PyMethodDef mg_methoddefs[N_OPS + 1] = {
        MG_OPS(MG_METHODDEF) {NULL, NULL, 0, NULL} };
    #undef MG_METHODDEF

    static int mg_install_op_methods(PyTypeObject *t, void *impl,
                                     const char *const *docs)
    {
        int op;
        mg_unary_impl = (PyObject *(*)(PyObject *, int))impl;
        for (op = 0; op < N_OPS; op++) {
            PyMethodDef *d = &mg_methoddefs[op];
            PyObject *descr;
            if (mg_op_arity[op] != 1 || d->ml_name[0] == '\\0') continue;
            d->ml_doc = docs[op];
            descr = PyDescr_NewMethod(t, d);
            if (descr == NULL) return -1;
            if (PyDict_SetItemString(t->tp_dict, d->ml_name, descr) < 0) {
                Py_DECREF(descr);
                return -1;
            }
            Py_DECREF(descr);
        }
        return 0;
    }

    /* The attribute dict slot: not a Cython field (Cython would make a
       dict for every handle), but the type's tp_dictoffset. */
    static Py_ssize_t mg_dict_offset = 0;
    static PyObject *mg_attrs_get(PyObject *o)
    {
        return mg_dict_offset ? *(PyObject **)((char *)o + mg_dict_offset) : NULL;
    }
    static void mg_attrs_put(PyObject *o, PyObject *d)
    {
        PyObject **p = (PyObject **)((char *)o + mg_dict_offset);
        PyObject *old = *p;
        Py_INCREF(d);
        *p = d;
        Py_XDECREF(old);
    }
    static void mg_attrs_clear(PyObject *o)
    {
        if (mg_dict_offset) {
            PyObject **p = (PyObject **)((char *)o + mg_dict_offset);
            Py_CLEAR(*p);
        }
    }

    /* The cyclic GC's view of a handle: Cython's fields, its attributes,
       then the references its node holds on its children's kept handles
       (see arena.pxd). */
    static traverseproc mg_fields_traverse = NULL;
    static inquiry mg_fields_clear = NULL;
    static int (*mg_children_traverse)(PyObject *, visitproc, void *) = NULL;
    static int mg_value_traverse(PyObject *o, visitproc visit, void *arg)
    {
        int e = mg_fields_traverse(o, visit, arg);
        if (e) return e;
        Py_VISIT(mg_attrs_get(o));
        return mg_children_traverse(o, visit, arg);
    }
    static int mg_value_clear(PyObject *o)
    {
        mg_attrs_clear(o);
        return mg_fields_clear(o);
    }

    /* micrograd's class: named micrograd.engine.Value, and open to
       monkeypatching as a class written in Python is. */
    static int mg_open_type(PyTypeObject *t, const char *name, void *children,
                            Py_ssize_t dict_offset, PyObject *dict_descr)
    {
    #ifdef Py_TPFLAGS_IMMUTABLETYPE
        t->tp_flags &= ~Py_TPFLAGS_IMMUTABLETYPE;
    #endif
        t->tp_name = name;
        t->tp_dictoffset = mg_dict_offset = dict_offset;
        mg_fields_traverse = t->tp_traverse;
        mg_fields_clear = t->tp_clear;
        mg_children_traverse = (int (*)(PyObject *, visitproc, void *))children;
        t->tp_traverse = mg_value_traverse;
        t->tp_clear = mg_value_clear;
        if (PyDict_SetItemString(t->tp_dict, "__dict__", dict_descr) < 0) return -1;
        PyType_Modified(t);
        return 0;
    }

    /* Whether a type is unchanged since it had version tag `tag` (CPython
       gives a type a new tag whenever one of its attributes changes). */
    static unsigned int mg_type_tag(PyTypeObject *t)
    {
        return (t->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG) ? t->tp_version_tag : 0;
    }

    static void mg_set_attr_slots(PyTypeObject *t, void *get, void *set)
    {
        t->tp_getattro = get ? (getattrofunc)get : PyObject_GenericGetAttr;
        t->tp_setattro = (setattrofunc)set;
    }

    /* Handles of Value itself, made and freed the short way: a free list
       of their own, never seen by the cyclic GC. A handle on the free list
       is as a blank one is (index 0, no attributes, no weak references,
       its Python field None), so taking one back only revives it. A handle
       with anything more (attributes, weak references, GC tracking, a
       subclass) or freed while an exception is set goes through Cython's
       generic deallocator. */
    #define MG_HANDLE_FREELIST 4096
    static PyObject *mg_handles_free[MG_HANDLE_FREELIST];
    static int mg_nhandles_free = 0;
    static PyTypeObject *mg_value_type = NULL;
    static destructor mg_generic_dealloc = NULL;
    static void (*mg_release_node)(PyObject *) = NULL;
    static Py_ssize_t mg_weak_offset = 0, mg_none_offset = 0, mg_idx_offset = 0;
    static Arena *mg_arena = NULL;
    #define MG_IDX(o) (*(int32_t *)((char *)(o) + mg_idx_offset))

    static inline void mg_revive(PyObject *o)
    {
    #if PY_VERSION_HEX < 0x030D0000
        _Py_NewReference(o);
    #else
        (void)PyObject_Init(o, mg_value_type);
    #endif
    }

    static PyObject *mg_value_new(void)
    {
        PyObject *o;
        PyTypeObject *t = mg_value_type;
        if (mg_nhandles_free > 0) {
            o = mg_handles_free[--mg_nhandles_free];
            mg_revive(o);
            return o;
        }
        o = t->tp_alloc(t, 0);
        if (o == NULL) return NULL;
        PyObject_GC_UnTrack(o);
        Py_INCREF(Py_None);
        *(PyObject **)((char *)o + mg_none_offset) = Py_None;
        return o;
    }

    static void mg_value_dealloc(PyObject *o)
    {
        int32_t i;
        Arena *A = mg_arena;
        if (Py_TYPE(o) != mg_value_type || PyObject_GC_IsTracked(o)
                || mg_attrs_get(o) != NULL
                || *(PyObject **)((char *)o + mg_weak_offset) != NULL
                || PyErr_Occurred() != NULL) {
            mg_generic_dealloc(o);
            return;
        }
        i = MG_IDX(o);
        if (i > 0) {
            /* The common cases in C, where no Python code runs: the node
               lives on (a parent holds it), or it goes and its children
               stay. Else _release_node, with the release cascade. */
            Node *n = &A->nodes[i];
            int fast = !(n->flags & (NODE_KEEP | NODE_PYBACK)) && A->handles[i] == o
                       && (n->refs > 1 || (!A->releasing && mg_release_alone(A, i)));
            if (fast) {
                n->refs--;
                A->handles[i] = NULL;
                MG_IDX(o) = 0;
            } else {
                Py_SET_REFCNT(o, 1);            /* alive while its node goes */
                mg_release_node(o);
                Py_SET_REFCNT(o, 0);
            }
        }
        if (mg_nhandles_free < MG_HANDLE_FREELIST) {
            mg_handles_free[mg_nhandles_free++] = o;
        } else {
            Py_CLEAR(*(PyObject **)((char *)o + mg_none_offset));
            PyObject_GC_Del(o);
        }
    }

    /* `l + r` and `l * r` for two Values (micrograd's own `Value`, not a
       subclass) whose nodes reach no op written in Python, while the free
       list has a handle and the arena has room: the whole op in C, where no
       Python code can run. Anything else takes Cython's slot (`_binary`),
       which makes the same node. Patching `Value.__add__`/`__mul__` (or
       the reflected forms) replaces these slots, as for any class. */
    static binaryfunc mg_cy_add = NULL, mg_cy_mul = NULL;

    static inline PyObject *mg_fast_binop(PyObject *l, PyObject *r, int op,
                                          binaryfunc slow)
    {
        Arena *A = mg_arena;
        int32_t a, b, i;
        int err = MG_OK;
        double x;
        PyObject *o;
        if (Py_TYPE(l) != mg_value_type || Py_TYPE(r) != mg_value_type
                || mg_nhandles_free == 0 || (A->top >= A->capacity && A->nfree == 0))
            return slow(l, r);
        a = MG_IDX(l);
        b = MG_IDX(r);
        if (a <= 0 || b <= 0
                || (A->nodes[a].flags | A->nodes[b].flags) & (NODE_PYBACK | NODE_REACHES_PY))
            return slow(l, r);
        x = mg_forward(op, A->nodes[a].data, A->nodes[b].data, 0.0, &err);
        o = mg_handles_free[--mg_nhandles_free];
        mg_revive(o);
        i = mg_node_put(A, (uint8_t)op, x, a, b, 0.0, 0);
        MG_IDX(o) = i;
        A->nodes[i].refs += 1;
        A->handles[i] = o;
        return o;
    }
    static PyObject *mg_nb_add(PyObject *l, PyObject *r)
    {
        return mg_fast_binop(l, r, OP_ADD, mg_cy_add);
    }
    static PyObject *mg_nb_mul(PyObject *l, PyObject *r)
    {
        return mg_fast_binop(l, r, OP_MUL, mg_cy_mul);
    }

    static void mg_handles_init(PyTypeObject *t, Arena *A, void *release,
                                Py_ssize_t weak_offset, Py_ssize_t none_offset,
                                Py_ssize_t idx_offset)
    {
        mg_value_type = t;
        mg_arena = A;
        mg_release_node = (void (*)(PyObject *))release;
        mg_weak_offset = weak_offset ? weak_offset : t->tp_weaklistoffset;
        mg_none_offset = none_offset;
        mg_idx_offset = idx_offset;
        mg_generic_dealloc = t->tp_dealloc;
        t->tp_dealloc = mg_value_dealloc;
        mg_cy_add = t->tp_as_number->nb_add;
        mg_cy_mul = t->tp_as_number->nb_multiply;
        t->tp_as_number->nb_add = mg_nb_add;
        t->tp_as_number->nb_multiply = mg_nb_mul;
    }

    static PyObject *mg_new_getset(PyTypeObject *t, const char *name,
                                   getter get, setter set, const char *doc)
    {
        static PyGetSetDef def;
        def.name = name; def.get = get; def.set = set; def.doc = doc;
        return PyDescr_NewGetSet(t, &def);
    }
    """
    int mg_install_op_methods(PyTypeObject* t, void* impl, const char** docs) except -1
    int mg_open_type(PyTypeObject* t, const char* name, void* children,
                     Py_ssize_t dict_offset, object dict_descr) except -1
    PyObject* mg_attrs_get(object o)
    void mg_attrs_put(object o, object d)
    void mg_attrs_clear(object o)
    object mg_value_new()
    void mg_handles_init(PyTypeObject* t, Arena* A, void* release,
                         Py_ssize_t weak_offset, Py_ssize_t none_offset,
                         Py_ssize_t idx_offset)
    unsigned int mg_type_tag(PyTypeObject* t)
    void mg_set_attr_slots(PyTypeObject* t, void* get, void* set)
    PyObject* _PyType_Lookup(PyTypeObject* t, object name)
    object PyObject_GenericGetAttr(object o, object name)
    object mg_new_getset(PyTypeObject* t, const char* name, void* get, void* set,
                         const char* doc)

cdef Arena* A = get_arena()
cdef object _Real = numbers.Real
cdef object _Integral = numbers.Integral

# Operand markers for _build: a child that is a plain number (made a leaf),
# or no child at all.
cdef enum:
    NUMBER = -2
    NONE = -1


# --- numbers ---------------------------------------------------------------

cdef int to_double(object x, double* out, bint* is_int) except -1:
    """Store x's value (and whether it is an integer) and return 1 if x is a
    real number, else return 0.

    Real numbers are int, float, bool and anything registered as
    numbers.Real (numpy scalars, Fraction); integers are int, bool and
    numbers.Integral. Values are not numbers here.
    """
    cdef type t = type(x)
    if t is float:
        out[0] = PyFloat_AS_DOUBLE(x)
        is_int[0] = False
        return 1
    if t is int or t is bool:
        out[0] = PyLong_AsDouble(x)
        is_int[0] = True
        return 1
    if isinstance(x, Value):
        return 0
    if isinstance(x, float):
        out[0] = PyFloat_AS_DOUBLE(x)
        is_int[0] = False
        return 1
    if isinstance(x, _Integral):
        out[0] = PyLong_AsDouble(int(x))
        is_int[0] = True
        return 1
    if isinstance(x, _Real):
        out[0] = float(x)
        is_int[0] = False
        return 1
    return 0


cdef double number(object x, str what, bint* is_int) except? -1.0:
    cdef double v
    if not to_double(x, &v, is_int):
        raise TypeError(f"{what} must be a real number (int, float, bool or a "
                        f"numpy scalar), not {type(x).__name__!r}")
    return v


cdef inline object as_python(double x, bint is_int):
    """The number a node holds, as micrograd holds it: an int or a float."""
    if is_int:
        return PyLong_FromDouble(x)
    return PyFloat_FromDouble(x)


cdef int raise_forward_error(int err) except -1:
    """Raise what Python's float math raises for forward error `err`."""
    if err == MG_ERR_ZERO_POW_NEG:
        raise ZeroDivisionError("0.0 cannot be raised to a negative power")
    if err == MG_ERR_NEG_POW_FRAC:
        raise ValueError("math domain error: a negative number cannot be "
                         "raised to a fractional power")
    if err == MG_ERR_POW_RANGE:
        raise OverflowError(34, "Numerical result out of range")
    if err == MG_ERR_MATH_RANGE:
        raise OverflowError("math range error")
    if err == MG_ERR_MATH_DOMAIN:
        raise ValueError("math domain error")
    return 0


cdef inline uint16_t int_flag(bint is_int) noexcept:
    return NODE_INT_DATA if is_int else 0


# --- handles ---------------------------------------------------------------

cdef inline Value _new_handle():
    """A blank handle, untracked by the cyclic GC (it holds nothing yet).
    Allocating may run Python code."""
    return <Value>mg_value_new()


cdef void _release_node(PyObject* o) noexcept:
    """A handle's node loses the handle (the handle is being freed)."""
    cdef Value v = <Value>o
    cdef int32_t i = v.idx
    if i > 0:
        # A kept handle is freed only once its node has no other
        # references: the node goes with it.
        A.nodes[i].flags &= ~(NODE_KEEP | NODE_PYBACK)
        if A.handles[i] == o:
            A.handles[i] = NULL
        v.idx = 0
        node_decref(A, i)


cdef inline void _attach(Value v, int32_t i) noexcept:
    """Make v the handle of node i, which has none. Below an op written in
    Python (whose closure can refer back to its own node), the cyclic GC is
    to see v: it reports the references that nodes hold on kept handles
    (see _visit_kept_children)."""
    v.idx = i
    A.nodes[i].refs += 1
    A.handles[i] = <PyObject*>v
    if A.nodes[i].flags & NODE_REACHES_PY and not PyObject_GC_IsTracked(v):
        PyObject_GC_Track(<PyObject*>v)


cdef void _keep(int32_t i) noexcept:
    """Keep node i's handle as long as the node lives (see arena.pxd)."""
    cdef int32_t k
    if A.nodes[i].flags & NODE_KEEP:
        return
    A.nodes[i].flags |= NODE_KEEP
    for k in range(A.nodes[i].refs - 1):
        Py_INCREF_PTR(A.handles[i])


cdef void _detach(Value v) noexcept:
    """Take v off its node, which keeps its other references. May run
    Python code (the node may be freed)."""
    cdef int32_t i = v.idx, k
    if i <= 0:
        return
    v.idx = 0
    if A.nodes[i].flags & NODE_KEEP:
        # The arena's references to v (v itself is alive: the caller has it).
        A.nodes[i].flags &= ~NODE_KEEP
        for k in range(A.nodes[i].refs - 1):
            Py_DECREF_PTR(<PyObject*>v)
    A.nodes[i].flags &= ~NODE_PYBACK
    if A.handles[i] == <PyObject*>v:
        A.handles[i] = NULL
    node_decref(A, i)


cdef unsigned long long _pybacks = 0     # NODE_PYBACK flags set so far


cdef unsigned long long python_backwards() noexcept:
    """How many times a node was flagged NODE_PYBACK (a recording checks
    its nodes again only when this moved)."""
    return _pybacks


cdef inline object attrs_of(object v):
    """v's attribute dict, or None if it has none."""
    cdef PyObject* d = mg_attrs_get(v)
    return <object>d if d != NULL else None


cdef dict _attrs(Value v):
    """v's attribute dict, made if it has none."""
    cdef PyObject* d = mg_attrs_get(v)
    if d == NULL:
        mg_attrs_put(v, {})
        d = mg_attrs_get(v)
    return <dict>d


cdef void _adopt_attrs(Value v, bint may_backward) noexcept:
    global _pybacks
    """v has attributes now: let the cyclic GC see them and keep v as long
    as its node lives; with may_backward, one of them may be a `_backward`
    that backward() must call."""
    if mg_attrs_get(v) == NULL:
        return
    if not PyObject_GC_IsTracked(v):
        PyObject_GC_Track(<PyObject*>v)
    if v.idx > 0:
        _keep(v.idx)
        if may_backward:
            A.nodes[v.idx].flags |= NODE_PYBACK
            _pybacks += 1


cdef bint _has_backward(Value v):
    cdef PyObject* d = mg_attrs_get(v)
    return d != NULL and "_backward" in <dict>d


cdef object python_backward(int32_t i):
    """The Python `_backward` of node i's handle, or None."""
    cdef PyObject* h = A.handles[i]
    if h == NULL or mg_attrs_get(<object>h) == NULL:
        return None
    return (<dict>mg_attrs_get(<object>h)).get("_backward")


cdef Value wrap(int32_t i):
    """The live handle of node i, made if it has none (node i must be kept
    alive by the caller)."""
    cdef PyObject* h = A.handles[i]
    if h != NULL:
        return <Value>h
    if A.nodes[i].flags & NODE_ELIDED:
        A.on_stale(i)                   # written now, and at every replay from now on
    cdef Value v = _new_handle()
    h = A.handles[i]                  # the allocation may have made one
    if h != NULL:
        return <Value>h
    _attach(v, i)
    return v


cdef Value wrap_kept(int32_t i):
    """wrap(i), and the handle stays the node's for as long as it lives."""
    cdef Value v = wrap(i)
    _keep(i)
    return v


cdef int32_t node_of(object v) except -1:
    """The node of Value v; AttributeError for a blank one (made by
    Value.__new__ without __init__), which has no data."""
    cdef int32_t i = (<Value>v).idx
    if i <= 0:
        raise AttributeError(f"this {type(v).__name__} has no data: it was "
                             f"made by __new__ without __init__")
    return i


cdef int32_t _writable(Value v) except -1:
    """v's node, which a setter may change; a blank handle gets a leaf (the
    int 0), as assigning `data` to a fresh object creates the attribute."""
    if v.idx <= 0:
        arena_reserve(A, 1)
        _attach(v, node_put(A, OP_LEAF, 0.0, NONE, NONE, 0.0, NODE_INT_DATA))
        _adopt_attrs(v, _has_backward(v))
    elif A.nodes[v.idx].a >= 0:
        mg_write_elided(A)              # nodes computed from this one are written first
    return v.idx


# --- building nodes ----------------------------------------------------------

cdef inline double _fwd(int op, double x, double y, double c) except? -1.0:
    cdef int err = MG_OK
    cdef double r = mg_forward(op, x, y, c, &err)
    if err != MG_OK:
        raise_forward_error(err)
    return r


cdef inline double _data(int32_t i, double num) noexcept:
    return num if i < 0 else A.nodes[i].data


cdef inline int32_t _child(int32_t i, double x, bint is_int) noexcept:
    """Operand i as a child: a NUMBER becomes a leaf first, as the
    original's `Value(other)` does (in reserved room)."""
    if i == NUMBER:
        return node_put(A, OP_LEAF, x, NONE, NONE, 0.0, int_flag(is_int))
    return i


cdef Value _build(int op, int32_t a, double xa, bint ia, int32_t b, double xb,
                  bint ib, double c, uint16_t flags):
    """One op node over children a and b (node indices, NUMBER or NONE).
    The handle is made first: nothing that runs Python code comes between
    reading the children's data and writing the node."""
    cdef Value v = _new_handle()
    arena_reserve(A, 3)
    cdef double r = _fwd(op, _data(a, xa), _data(b, xb), c)
    a = _child(a, xa, ia)
    b = _child(b, xb, ib)
    _attach(v, node_put(A, op, r, a, b, c, flags))
    return v


cdef Value _compound(int32_t x, bint inverse, int op, int32_t other, double xo,
                     bint io, bint x_left):
    """`op(t, other)` (x_left) or `op(other, t)` where t is x's negation
    (`x * -1`, as the original's `-x`) or, with inverse, `x ** -1`."""
    cdef Value v = _new_handle()
    arena_reserve(A, 4)
    cdef double t, r
    if inverse:
        t = _fwd(OP_POW, A.nodes[x].data, 0.0, -1.0)
    else:
        t = _fwd(OP_MUL, A.nodes[x].data, -1.0, 0.0)
    if x_left:
        r = _fwd(op, t, _data(other, xo), 0.0)
    else:
        r = _fwd(op, _data(other, xo), t, 0.0)
    cdef int32_t n
    if inverse:
        n = node_put(A, OP_POW, t, x, NONE, -1.0, NODE_INT_CONST)
    else:
        n = node_put(A, OP_MUL, t, x, _child(NUMBER, -1.0, True), 0.0, 0)
    other = _child(other, xo, io)
    if x_left:
        _attach(v, node_put(A, op, r, n, other, 0.0, 0))
    else:
        _attach(v, node_put(A, op, r, other, n, 0.0, 0))
    return v


cdef inline bint _operand(object o, int32_t* i, double* x, bint* is_int) except -1:
    """Classify a binary op's other operand: a Value (sets *i) or a number
    (sets *x, *is_int, *i = NUMBER). False for anything else
    (-> NotImplemented)."""
    if isinstance(o, Value):
        i[0] = node_of(o)
        return True
    if to_double(o, x, is_int):
        i[0] = NUMBER
        return True
    return False


cdef object _binary(int op, Value self, object other):
    """`self op other`, or NotImplemented if other is not a number."""
    cdef int32_t j
    cdef double x
    cdef bint xi
    if type(other) is Value:                    # the common case, directly
        return _build2(op, node_of(self), node_of(other))
    if not _operand(other, &j, &x, &xi):
        return NotImplemented
    return _build(op, node_of(self), 0.0, False, j, x, xi, 0.0, 0)


cdef Value _build2(int op, int32_t a, int32_t b):
    """_build for an op over two nodes."""
    cdef Value v = _new_handle()
    arena_reserve(A, 1)
    cdef double r = _fwd(op, A.nodes[a].data, A.nodes[b].data, 0.0)
    _attach(v, node_put(A, op, r, a, b, 0.0, 0))
    return v


cdef object _unary(object self, int op):
    """`self.<method>()` for a unary op of the table (the methods made from
    it call this)."""
    return _build(op, node_of(self), 0.0, False, NONE, 0.0, False, 0.0, 0)


cdef int32_t _custom_node(double x, bint is_int, tuple children) noexcept:
    """The node of `Value(x, children, op)` (arena reserved for len).

    Its children are linked in the arena, as (c0, c1) or, for more, as
    (c0, link(c1, link(c2, ...))) through LINK nodes, so that backward()
    reaches them as the original's does (the node itself, like the
    original's, passes no gradient on unless given a `_backward`).
    """
    cdef Py_ssize_t k = len(children)
    cdef int32_t tail = (<Value>children[k - 1]).idx
    cdef Py_ssize_t j
    if k == 1:
        return node_put(A, OP_CUSTOM, x, tail, NONE, 0.0, int_flag(is_int))
    for j in range(k - 2, 0, -1):
        tail = node_put(A, OP_LINK, 0.0, (<Value>children[j]).idx, tail, 0.0, 0)
    return node_put(A, OP_CUSTOM, x, (<Value>children[0]).idx, tail, 0.0,
                    int_flag(is_int))


cdef list _children_of(int32_t i):
    """The child nodes of node i, a custom node's through its links."""
    cdef list out = []
    cdef int32_t c = A.nodes[i].a
    if c >= 0:
        out.append(c)
    c = A.nodes[i].b
    while c >= 0 and A.nodes[c].op == OP_LINK:
        out.append(A.nodes[c].a)
        c = A.nodes[c].b
    if c >= 0:
        out.append(c)
    return out


cdef enum:
    VISIT_BUDGET = 256      # nodes a handle's traversal looks through at most
    VISIT_SLOTS = 1024      # its table of edge counts (a power of two)


ctypedef struct Region:
    # The nodes reached below a handle, each with the references to it from
    # inside the region (open addressing on the node index; an entry whose
    # stamp is not this traversal's is empty, so nothing is cleared).
    int32_t node[VISIT_SLOTS]
    int32_t count[VISIT_SLOTS]
    uint32_t stamp[VISIT_SLOTS]
    int32_t todo[VISIT_BUDGET]
    uint32_t now
    int n

# One region at a time: the GC's traversals do not nest (the GIL is held).
cdef Region _region


cdef inline int32_t* _count_of(Region* r, int32_t c) noexcept:
    cdef uint32_t h = (<uint32_t>c * 2654435761u) & (VISIT_SLOTS - 1)
    while r.stamp[h] == r.now and r.node[h] != c:
        h = (h + 1) & (VISIT_SLOTS - 1)
    if r.stamp[h] != r.now:
        r.stamp[h] = r.now
        r.node[h] = c
        r.count[h] = 0
    return &r.count[h]


cdef int _visit_kept_children(Value v, visitproc visit, void* arg) noexcept:
    """The cyclic GC's view of the references v's node holds on kept
    handles (one per child slot, see arena.pxd): its children's, and those
    of the nodes in the region it owns: nodes with no handle all of whose
    references come from v's node or from the region (C ops' results, a
    custom node's links), up to a few hundred nodes, so that a cycle
    through ops written in Python with C ops between them is freed in one
    pass. Each reference is reported by one handle only: a region has one
    root, as each of its nodes' parents lie in it."""
    cdef Region* r = &_region
    cdef int32_t x, c, k
    cdef int32_t* cnt
    cdef int e
    if v.idx <= 0:
        return 0
    r.now += 1
    if r.now == 0:                      # wrapped: make every entry stale
        memset(r.stamp, 0, sizeof(r.stamp))
        r.now = 1
    r.todo[0] = v.idx
    r.n = 1
    cdef int budget = VISIT_BUDGET
    while r.n > 0:
        r.n -= 1
        x = r.todo[r.n]
        for k in range(2):
            c = A.nodes[x].a if k == 0 else A.nodes[x].b
            if c < 0:
                continue
            if A.nodes[c].flags & NODE_KEEP:
                e = visit(A.handles[c], arg)
                if e:
                    return e
            elif A.handles[c] == NULL and budget > 0:
                cnt = _count_of(r, c)
                cnt[0] += 1
                if cnt[0] == A.nodes[c].refs and r.n < VISIT_BUDGET:
                    budget -= 1             # every reference is from inside: its own
                    r.todo[r.n] = c
                    r.n += 1
    return 0


# --- backward of nodes with a Python `_backward` -----------------------------

cdef int _call_py_backward(int32_t i) except -1:
    """graph.pyx's call at a NODE_PYBACK node: its handle's `_backward` if it
    has one, else its op's row."""
    fn = python_backward(i)
    if fn is None:
        mg_node_backward(A.nodes, A.consts, i)
    else:
        fn()
    return 0


set_py_backward(_call_py_backward)


# --- the class -----------------------------------------------------------------

# --- take: a selection a recording can replay ------------------------------------

cdef object _on_recorded_read = None


def set_recorded_read_hook(fn):
    """Call fn() whenever the data of a node of the recording in progress is
    read (micrograd.capture warns: the number is baked into the recording)."""
    global _on_recorded_read
    _on_recorded_read = fn


cdef int _index_used_as_int() except -1:
    raise TypeError("an index input of a compiled function selects Values only "
                    "through micrograd.engine.take(values, i); used as an int (to "
                    "index, compare or branch on) it would be baked into the recording")


cdef class Index:
    """Index(value, leaf=None)
--

An int argument of a compiled function that selects Values (an
    embedding row, a target class) and is an input of the recording rather
    than part of its structure (``micrograd.compile(..., index_inputs=...)``).
    Only ``take`` reads it; ``value`` is the int."""
    cdef readonly object value
    cdef readonly object leaf      # the recording's input that holds it, or None

    @cython.embedsignature(False)       # the class docstring has it (see Value)
    def __init__(self, value, leaf=None):
        self.value = value
        self.leaf = leaf

    def __index__(self):
        _index_used_as_int()

    def __bool__(self):
        _index_used_as_int()

    def __richcmp__(self, other, int op):
        _index_used_as_int()

    def __repr__(self):
        return f"Index({self.value!r})"


def take(values, i):
    """``values[i]``, the same Value (or row) as plain indexing, in a
    dynamic run. In a function compiled with ``index_inputs``, where i is
    such an input, the selection is recorded: replays read the index given
    to each call, so documents with other tokens replay the same recording.
    values: a list of Values, or of rows of Values (an embedding table:
    a row is selected). An index out of range raises IndexError, when the
    function is called and when it is replayed.

    >>> from micrograd.engine import Value, take
    >>> table = [Value(0.5), Value(-1.0)]
    >>> take(table, 1) is table[1]
    True
    """
    if type(i) is not Index:
        return values[i]
    picked = values[(<Index>i).value]
    leaf = (<Index>i).leaf
    if leaf is None or not A.on_new:        # not recording: plain indexing
        return picked
    if isinstance(picked, Value):
        return _select(values, (<Index>i).value, leaf)
    if not isinstance(picked, (list, tuple)):
        raise TypeError(f"take: a recorded selection needs Values or rows of "
                        f"Values, not {type(picked).__name__!r}")
    return [_select([row[j] for row in values], (<Index>i).value, leaf)
            for j in range(len(picked))]


cdef tuple _values_of(object seq, str what):
    """seq as a tuple of Values that have nodes; TypeError `what, not 'T'`
    for anything else (AttributeError for a blank Value, as node_of)."""
    cdef tuple items = tuple(seq)
    for v in items:
        if not isinstance(v, Value):
            raise TypeError(f"{what}, not {type(v).__name__!r}")
        node_of(v)
    return items


cdef Value _select(list_or_seq, object k, Value leaf):
    """A SELECT node over the candidates, reading its index from leaf."""
    cdef tuple cands = _values_of(list_or_seq, "take: a recorded selection needs Values")
    cdef Py_ssize_t n = len(cands), j
    cdef Value picked = cands[k]
    cdef Value v = _new_handle()
    arena_reserve(A, n + 1)
    cdef int32_t tail = (<Value>cands[n - 1]).idx
    for j in range(n - 2, -1, -1):
        tail = node_put(A, OP_LINK, 0.0, (<Value>cands[j]).idx, tail, 0.0, 0)
    cdef Node* p = &A.nodes[picked.idx]
    _attach(v, node_put(A, OP_SELECT, p.data, node_of(leaf), tail, 0.0,
                        p.flags & NODE_INT_DATA))
    return v


def _rebuild(cls, data, grad):
    """Unpickle (or copy) a Value: a leaf of class cls with data and grad
    (the graph is not copied)."""
    cdef Value v = cls.__new__(cls)
    Value.__init__(v, data)
    v.grad = grad
    return v


@cython.freelist(4096)
@cython.auto_pickle(False)
cdef class Value:
    """Value(data, _children=(), _op='', label='')
--

A scalar and its gradient: a node of the autograd graph.

    micrograd's ``Value``: arithmetic builds the graph and ``backward()``
    fills in ``grad`` of every node the result depends on. Ints stay ints
    where Python's arithmetic keeps them (``Value(2) * 3`` holds 6).

    >>> a = Value(-4.0); b = Value(2.0)
    >>> c = a * b + b ** 3
    >>> c.backward()
    >>> a.grad, b.grad
    (2.0, -4.0)

    Ops written in Python work as in micrograd: make the output with
    ``Value(data, (children...), 'op')`` and give it a ``_backward``
    closure; ``backward()`` calls it in its place in the topological order.
    """

    # The class docstring carries the signature in CPython's form (a first
    # line ending in "--"), which gives Value a __text_signature__ and so
    # an inspect.signature(); Cython's own would precede it and hide it.
    @cython.embedsignature(False)
    def __init__(self, data, _children=(), _op='', label=''):
        """Value(data, _children=(), _op='', label='')

        data: a real number (int, float, bool, numpy scalar). _children and
        _op describe a node built by hand (as in the original, it passes no
        gradient on unless it is given a ``_backward``); label names it in
        graph pictures. Calling __init__ again re-makes the handle as a new
        node; nodes built on the old one keep it.
        """
        cdef bint is_int
        cdef double x = number(data, "Value data", &is_int)
        cdef tuple children = _values_of(_children, "_children must be Values")
        cdef Py_ssize_t k = len(children)
        arena_reserve(A, k if k > 1 else 1)
        cdef int32_t i = (_custom_node(x, is_int, children) if k else
                          node_put(A, OP_LEAF, x, NONE, NONE, 0.0, int_flag(is_int)))
        _detach(self)
        if type(self) is Value and mg_attrs_get(self) == NULL:
            PyObject_GC_UnTrack(<PyObject*>self)    # holds nothing (yet)
        _attach(self, i)
        for c in _children_of(i):       # handed to this node, as micrograd's _prev holds them
            if A.handles[c] != NULL:
                _keep(c)
        d = attrs_of(self)
        if d:                              # re-made: the old node's own attributes go
            d.pop("_backward", None)
            d.pop("_op", None)
        if _op != '':
            _attrs(self)["_op"] = _op
        if label != '':
            _attrs(self)["label"] = label
        if mg_attrs_get(self) != NULL:
            _adopt_attrs(self, False)

    def __dealloc__(self):
        _release_node(<PyObject*>self)
        mg_attrs_clear(self)                # may run Python code: last

    def __reduce_ex__(self, protocol):
        d = attrs_of(self)
        state = dict(d) if d else None
        slots = {name: getattr(self, name) for name in copyreg._slotnames(type(self))
                 if hasattr(self, name)}
        if slots:
            state = (state, slots)
        return (_rebuild, (type(self), self.data, self.grad), state)

    def __setstate__(self, state):
        slots = None
        if isinstance(state, tuple):
            state, slots = state
        if state:
            _attrs(self).update(state)
            _adopt_attrs(self, "_backward" in state)
        for name, value in (slots or {}).items():
            setattr(self, name, value)

    @property
    def data(self):
        """The scalar this node holds (an int or a float, as micrograd's)."""
        cdef Node* n = &A.nodes[node_of(self)]
        if n.flags & NODE_RECORDING and _on_recorded_read is not None:
            _on_recorded_read()             # a number baked into the recording
            n = &A.nodes[node_of(self)]
        return as_python(n.data, n.flags & NODE_INT_DATA)

    @data.setter
    def data(self, value):
        cdef bint is_int
        cdef double x = number(value, "data", &is_int)
        cdef Node* n = &A.nodes[_writable(self)]
        n.data = x
        n.flags = (n.flags & ~NODE_INT_DATA) | int_flag(is_int)

    @property
    def grad(self):
        """d(root)/d(this node), accumulated by backward() (an int until a
        float is added, as micrograd's)."""
        cdef Node* n = &A.nodes[node_of(self)]
        return as_python(n.grad, n.flags & NODE_INT_GRAD)

    @grad.setter
    def grad(self, value):
        cdef bint is_int
        cdef double x = number(value, "grad", &is_int)
        cdef Node* n = &A.nodes[_writable(self)]
        n.grad = x
        n.flags = (n.flags & ~NODE_INT_GRAD) | (NODE_INT_GRAD if is_int else 0)

    @property
    def _op(self):
        """The op that produced this node: ``''``, ``'+'``, ``'*'``, ``'**2'``, ``'ReLU'``, ..."""
        d = attrs_of(self)
        if d and "_op" in d:
            return d["_op"]
        cdef int32_t i = node_of(self)
        cdef int op = A.nodes[i].op
        if op == OP_POW:
            if A.nodes[i].flags & NODE_INT_CONST:
                return f'**{int(A.consts[i])}'
            return f'**{A.consts[i]}'
        return mg_op_names[op].decode()

    @_op.setter
    def _op(self, value):
        _attrs(self)["_op"] = value
        _adopt_attrs(self, False)

    @property
    def _prev(self):
        """The set of this node's children: the same objects for as long as
        the nodes live (so `id()`-keyed walkers see each node once)."""
        cdef int32_t i = node_of(self)
        return {wrap_kept(c) for c in _children_of(i)}

    @_prev.setter
    def _prev(self, children):
        # micrograd's __init__ written out by hand (`self._prev =
        # set(_children)`): the node is re-made with these children.
        cdef object data = self.data if self.idx > 0 else 0
        cdef object grad = self.grad if self.idx > 0 else 0
        d = attrs_of(self)
        saved = dict(d) if d else None
        Value.__init__(self, data, tuple(children))
        if saved:
            _attrs(self).update(saved)
            _adopt_attrs(self, "_backward" in saved)
        self.grad = grad

    @property
    def _backward(self):
        """Apply this node's local chain rule once: its Python closure if it
        was given one (ops written in Python), else its op's row."""
        d = attrs_of(self)
        if d and "_backward" in d:
            return d["_backward"]
        return self._chain_rule

    @_backward.setter
    def _backward(self, fn):
        _attrs(self)["_backward"] = fn
        _writable(self)
        _adopt_attrs(self, True)

    @_backward.deleter
    def _backward(self):
        d = attrs_of(self)
        if d:
            d.pop("_backward", None)

    def _chain_rule(self):
        """The op's local chain rule, applied once (the default `_backward`)."""
        cdef int32_t i = node_of(self)
        mg_write_elided(A)      # its children may be a recording's unwritten links
        mg_node_backward(A.nodes, A.consts, i)

    def backward(self):
        """Set this node's grad to 1 and accumulate d(self)/d(node) into the
        grad of every node it depends on. Grads are not zeroed first."""
        backward_from(A, node_of(self))

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    # --- arithmetic (decomposed exactly as the original) -------------------

    def __add__(self, other):
        return _binary(OP_ADD, self, other)

    def __radd__(self, other):            # other + self  ->  self + other
        return _binary(OP_ADD, self, other)

    def __mul__(self, other):
        return _binary(OP_MUL, self, other)

    def __rmul__(self, other):            # other * self  ->  self * other
        return _binary(OP_MUL, self, other)

    def __neg__(self):                    # self * -1
        return _build(OP_MUL, node_of(self), 0.0, False, NUMBER, -1.0, True, 0.0, 0)

    def __sub__(self, other):             # self + (-other)
        cdef double x
        cdef bint xi
        if isinstance(other, Value):
            return _compound(node_of(other), False, OP_ADD, node_of(self), 0.0,
                             False, False)
        if not to_double(other, &x, &xi):
            return NotImplemented
        if type(other) is not float:
            x = number(-other, "operand", &xi)   # Python's negation (int 0 -> 0)
        else:
            x = -x
        return _build(OP_ADD, node_of(self), 0.0, False, NUMBER, x, xi, 0.0, 0)

    def __rsub__(self, other):            # other + (-self)  ->  (-self) + other
        cdef int32_t j
        cdef double x
        cdef bint xi
        if not _operand(other, &j, &x, &xi):
            return NotImplemented
        return _compound(node_of(self), False, OP_ADD, j, x, xi, True)

    def __truediv__(self, other):         # self * other**-1
        cdef double x
        cdef bint xi
        if isinstance(other, Value):
            return _compound(node_of(other), True, OP_MUL, node_of(self), 0.0,
                             False, False)
        if not to_double(other, &x, &xi):
            return NotImplemented
        if type(other) is float or type(other) is int or type(other) is bool:
            x = _fwd(OP_POW, x, 0.0, -1.0)
        else:
            x = number(other ** -1, "operand", &xi)
        return _build(OP_MUL, node_of(self), 0.0, False, NUMBER, x, False, 0.0, 0)

    def __rtruediv__(self, other):        # other * self**-1  ->  self**-1 * other
        cdef int32_t j
        cdef double x
        cdef bint xi
        if not _operand(other, &j, &x, &xi):
            return NotImplemented
        return _compound(node_of(self), True, OP_MUL, j, x, xi, True)

    def __pow__(self, other, mod):
        cdef double c
        cdef bint ci
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported for Value")
        if isinstance(other, Value):
            return _build(OP_POWV, node_of(self), 0.0, False, node_of(other), 0.0,
                          False, 0.0, 0)
        if not to_double(other, &c, &ci):
            return NotImplemented
        out = _build(OP_POW, node_of(self), 0.0, False, NONE, 0.0, False, c,
                     NODE_INT_CONST if ci else 0)
        if ci and int(c) != other:          # |int| > 2**53: keep its digits
            out._op = f'**{other}'
        return out

    def max(self, other):
        """The larger of self and other (a Value or a number), as Python's
        ``max(self, other)`` picks it (self on a tie); its gradient goes to
        the one picked. '_op' 'max'."""
        cdef int32_t j
        cdef double x
        cdef bint xi
        if not _operand(other, &j, &x, &xi):
            raise TypeError(f"max() of a Value and a {type(other).__name__!r}")
        return _build(OP_MAX, node_of(self), 0.0, False, j, x, xi, 0.0, 0)

    def __rpow__(self, other, mod):       # Value(other) ** self
        cdef double x
        cdef bint xi
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported for Value")
        if not to_double(other, &x, &xi):
            return NotImplemented
        return _build(OP_POWV, NUMBER, x, xi, node_of(self), 0.0, False, 0.0, 0)


# --- attribute access -------------------------------------------------------------
# `.data` and `.grad` are what training loops touch most (`p.data -= lr *
# p.grad` for every parameter, every step), so Value has its own
# tp_getattro and tp_setattro: for these two names on a Value itself (not a
# subclass, which may redefine them) whose class still has its own `data`
# and `grad` (Python's type version tag says nothing changed since that was
# checked), they read and write the node directly; everything else goes the
# generic way.

cdef object _DATA = "data", _GRAD = "grad"
cdef PyObject* _DATA_DESCR = NULL
cdef PyObject* _GRAD_DESCR = NULL
cdef unsigned int _checked_tag = 0


cdef bint _fast_attrs() noexcept:
    """Whether `data` and `grad` of a plain Value are still the class's own."""
    global _checked_tag
    cdef PyTypeObject* t = <PyTypeObject*>Value
    cdef unsigned int tag = mg_type_tag(t)
    if tag != 0 and tag == _checked_tag:
        return True
    if _PyType_Lookup(t, _DATA) != _DATA_DESCR or _PyType_Lookup(t, _GRAD) != _GRAD_DESCR:
        return False                    # (the lookups give the class a fresh tag)
    _checked_tag = mg_type_tag(t)
    return _checked_tag != 0


cdef object _getattro(object self, object name):
    cdef Node* n
    if type(self) is Value and (name is _DATA or name is _GRAD) and _fast_attrs():
        n = &A.nodes[node_of(self)]
        if name is _DATA:
            return as_python(n.data, n.flags & NODE_INT_DATA)
        return as_python(n.grad, n.flags & NODE_INT_GRAD)
    return PyObject_GenericGetAttr(self, name)


cdef int _setattro(object self, object name, PyObject* value) except -1:
    cdef bint is_int
    cdef double x
    cdef Node* n
    if value == NULL:
        return PyObject_GenericDelAttr(self, name, NULL)
    if type(self) is Value and (name is _DATA or name is _GRAD) and _fast_attrs():
        x = number(<object>value, name, &is_int)
        n = &A.nodes[_writable(<Value>self)]
        if name is _DATA:
            n.data = x
            n.flags = (n.flags & ~NODE_INT_DATA) | int_flag(is_int)
        else:
            n.grad = x
            n.flags = (n.flags & ~NODE_INT_GRAD) | (NODE_INT_GRAD if is_int else 0)
        return 0
    PyObject_GenericSetAttr(self, name, <object>value)
    if mg_attrs_get(self) != NULL:
        _adopt_attrs(<Value>self, False)    # `_backward` has its own setter
    return 0


# --- the class opened up --------------------------------------------------------

cdef object _get_dict(object self, void* context):
    """`v.__dict__` / `vars(v)`: the attributes, which the caller may change
    at will: adopted as if set (see _adopt_attrs)."""
    d = PyObject_GenericGetDict(self, context)
    _adopt_attrs(<Value>self, True)
    return d


cdef int _set_dict(object self, PyObject* value, void* context) except -1:
    PyObject_GenericSetDict(self, value, context)
    _adopt_attrs(<Value>self, True)
    return 0


def _op_doc(int op):
    name = mg_op_methods[op].decode()
    # The first line is the signature in CPython's form (inspect.signature).
    return (f"{name}($self, /)\n--\n\n"
            f"x.{name}(): a new Value, the op {mg_op_names[op].decode()!r} of "
            f"micrograd_c's op table (ops.h) applied to x, with its gradient")

# The docstrings live as long as the module (the methods point at them).
cdef list _docs = [_op_doc(op).encode() for op in range(N_OPS)]
cdef const char* _doc_ptrs[64]
for _k in range(N_OPS):
    _doc_ptrs[_k] = _docs[_k]

cdef PyTypeObject* _T = <PyTypeObject*>Value
cdef Py_ssize_t _dict_offset_of(Value probe):
    return <char*>&probe.attrs - <char*><PyObject*>probe

cdef Py_ssize_t _none_offset_of(Value probe):
    """Where the _gc_capable field lies (Cython gives no way to take its
    address): found by putting a marker there."""
    marker = object()
    probe._gc_capable = marker
    cdef PyObject** words = <PyObject**>(<PyObject*>probe)
    cdef Py_ssize_t k
    for k in range((<PyTypeObject*>Value).tp_basicsize // sizeof(PyObject*)):
        if words[k] == <PyObject*>marker:
            probe._gc_capable = None
            return k * sizeof(PyObject*)
    raise SystemError("micrograd_c.value: cannot find a Value field")

cdef Py_ssize_t _dict_offset = _dict_offset_of(Value.__new__(Value))
mg_install_op_methods(_T, <void*>_unary, _doc_ptrs)
mg_open_type(_T, "micrograd.engine.Value", <void*>_visit_kept_children, _dict_offset,
             mg_new_getset(_T, "__dict__", <void*>_get_dict, <void*>_set_dict,
                           "The Value's attributes (label, _backward, yours)."))
Value.label = ''      # the default of micrograd's lecture Value (vars(v)['label'] when set)
_DATA_DESCR = _PyType_Lookup(_T, _DATA)
_GRAD_DESCR = _PyType_Lookup(_T, _GRAD)
mg_set_attr_slots(_T, NULL, <void*>_setattro)
cdef Value _probe = Value.__new__(Value)
mg_handles_init(_T, A, <void*>_release_node, 0, _none_offset_of(_probe),
                <Py_ssize_t>(<char*>&_probe.idx - <char*><PyObject*>_probe))
_probe = None
