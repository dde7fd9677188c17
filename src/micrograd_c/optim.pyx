# cython: language_level=3
"""Optimizers whose update loops run in C over the parameters' nodes.

Each step computes, per parameter, exactly the Python expression given in
the class docstring (same operations, same order), so it matches an update
written in Python per parameter bit for bit.

Parameters come in groups, as in PyTorch: ``param_groups`` is a list of
dicts, each with its ``'params'`` and its own hyperparameters. ``step()``
reads every group's hyperparameters (checking them all before it changes
anything), then runs one C loop per group.
"""

from collections import namedtuple

from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.math cimport sqrt, pow
from libc.string cimport memset

from micrograd_c.arena cimport Arena, Node, get_arena, checked_bytes, NODE_INT_DATA, NODE_INT_GRAD
from micrograd_c.arena cimport mg_write_elided
from micrograd_c.value cimport Value, to_double, node_of

cdef Arena* A = get_arena()

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
IncompatibleKeys.__doc__ = """What ``load_state_dict(state, strict=False)`` skipped:
``missing_keys`` (in the optimizer, not in ``state``: kept as they were) and
``unexpected_keys`` (in ``state``, unknown to the optimizer: ignored), as
dotted names such as ``'param_groups.0.lr'``."""

# Keys a group may hold besides its hyperparameters: its parameters, and the
# lr a learning-rate scheduler started from (schedulers add it, as PyTorch's).
_GROUP_EXTRAS = ("params", "initial_lr")

cdef object _MISSING = object()


cdef double _hyper(object x, str name, str where, double low, bint low_open,
                   double high=float("inf"), bint high_closed=False) except? -1.0:
    """A hyperparameter as a float in its range, or TypeError/ValueError."""
    cdef double v
    cdef bint is_int
    if isinstance(x, bool) or not to_double(x, &v, &is_int):
        raise TypeError(f"{where}{name} must be a real number, not {type(x).__name__!r}")
    if not (v > low if low_open else v >= low) or not (v <= high if high_closed else v < high):
        lo = "(" if low_open else "["
        hi = "]" if high_closed else ")"
        raise ValueError(f"{where}{name} must be in {lo}{low}, {high}{hi}, got {x!r}")
    return v


cdef double _real(object x, str what) except? -1.0:
    """A number of a saved state as a float, or ValueError naming it."""
    cdef double v
    cdef bint is_int
    if isinstance(x, bool) or not to_double(x, &v, &is_int):
        raise ValueError(f"{what} must be a real number, not {type(x).__name__!r}")
    return v


cdef object _get(object group, str name, str where):
    try:
        return group[name]
    except KeyError:
        raise ValueError(f"{where}no {name!r} (every group needs its hyperparameters)") from None


cdef double* _zeros(Py_ssize_t n) except NULL:
    cdef size_t nbytes = checked_bytes(n, sizeof(double))
    cdef double* p = <double*>PyMem_Malloc(nbytes)
    if p == NULL:
        raise MemoryError()
    memset(p, 0, nbytes)
    return p


cdef class Optimizer:
    """Base: holds the parameter groups and the per-parameter state.

    ``params`` is a tuple of every parameter, group after group: the order
    of the state (``slots`` zeroed doubles per parameter, made together with
    the parameter count, so that calling __init__ again can never leave them
    out of step). ``param_groups`` is the list of group dicts the user sees
    and may change (hyperparameters only). Steps find each parameter's node
    through its Value, so they follow a Value even if it is re-initialised.
    """
    cdef tuple _params
    cdef Py_ssize_t n
    cdef list _groups           # param_groups: the dicts the user sees
    cdef tuple _lists           # each group's 'params' list, as made
    cdef tuple _bounds          # group g is _params[_bounds[g]:_bounds[g + 1]]
    cdef list _started          # per group: its momentum buffers exist (SGD)
    cdef dict _defaults
    cdef long long _t           # steps taken (Adam's bias corrections)
    cdef double* state          # `slots` arrays of n doubles, one after the other
    cdef int slots
    cdef str _kind              # the name written into state_dict()
    cdef tuple _names           # the hyperparameters, in their documented order

    def __dealloc__(self):
        PyMem_Free(self.state)

    def __init__(self, params, defaults=None):
        """Make the groups from ``params`` (Values, or dicts with 'params'
        and hyperparameters) and ``defaults`` (a dict of every
        hyperparameter; None: the ones given to the last __init__)."""
        if defaults is None:
            if self._defaults is None:
                raise TypeError(f"{type(self).__name__}: Optimizer.__init__ needs the "
                                f"default hyperparameters")
            defaults = self._defaults
        defaults = dict(zip(self._names, self._parse(defaults, "")))
        if isinstance(params, (set, frozenset)):
            raise TypeError("params must be an ordered iterable of Values or of dicts "
                            "(the state follows their order), not a set")
        given = tuple(params)
        if not given:
            raise ValueError("optimizer got an empty parameter list")
        plain = not isinstance(given[0], dict)
        if plain:
            given = ({"params": given},)
        elif not all(isinstance(g, dict) for g in given):
            raise TypeError("params must be all Values or all dicts (parameter groups)")
        groups, lists, all_params, bounds = [], [], [], [0]
        owner = {}
        for g, group in enumerate(given):
            where = "" if plain else f"param_groups[{g}]: "
            unknown = [k for k in group if k not in self._names and k not in _GROUP_EXTRAS]
            if unknown:
                raise ValueError(
                    f"{where}unknown key{'s' if len(unknown) > 1 else ''} "
                    f"{', '.join(map(repr, unknown))}; a {self._kind} group has 'params' "
                    f"and {', '.join(map(repr, self._names))}")
            if "params" not in group:
                raise ValueError(f"{where}a parameter group needs 'params'")
            ps = group["params"]
            if isinstance(ps, Value):
                ps = [ps]
            elif isinstance(ps, (set, frozenset)):
                raise TypeError(f"{where}params must be an ordered iterable of Values, "
                                f"not a set")
            ps = list(ps)
            if not ps:
                raise ValueError(f"{where}optimizer got an empty parameter list"
                                 if plain else f"{where}empty parameter group")
            for k, p in enumerate(ps):
                if not isinstance(p, Value):
                    raise TypeError(f"{where}params[{k}] must be a Value, not "
                                    f"{type(p).__name__!r}")
                node_of(p)
                first = owner.setdefault(id(p), g)
                if first != g or len(owner) != len(all_params) + 1:
                    if first == g:
                        raise ValueError(f"{where}params contain the same Value twice")
                    raise ValueError(f"a parameter is in both param_groups[{first}] "
                                     f"and param_groups[{g}]")
                all_params.append(p)
            hyper = {**defaults, **{k: v for k, v in group.items() if k in self._names}}
            hyper = dict(zip(self._names, self._parse(hyper, where)))
            if "initial_lr" in group:
                hyper["initial_lr"] = _hyper(group["initial_lr"], "initial_lr", where, 0.0, False)
            groups.append({"params": ps, **hyper})
            lists.append(ps)
            bounds.append(len(all_params))
        # All checked: now change the optimizer.
        cdef double* state = _zeros(len(all_params) * max(self.slots, 1))
        PyMem_Free(self.state)
        self.state = state
        self._params = tuple(all_params)
        self.n = len(all_params)
        self._groups = groups
        self._lists = tuple(lists)
        self._bounds = tuple(bounds)
        self._started = [False] * len(groups)
        self._defaults = defaults
        self._t = 0

    # ---- what subclasses define --------------------------------------------------

    cdef tuple _parse(self, object group, str where):
        """The group's hyperparameters, checked, in the order of _names."""
        raise NotImplementedError

    cdef dict _state_arrays(self):
        return {}

    cdef object _check_arrays(self, dict state, list missing):
        """The arrays of a saved state, checked, to give to _set_arrays."""
        return None

    cdef _set_arrays(self, object arrays):
        pass

    cdef dict _legacy(self, dict state):
        return state

    # ---- groups --------------------------------------------------------------------

    @property
    def param_groups(self):
        """The parameter groups: a list of dicts, each with ``'params'`` (a
        list of Values) and its hyperparameters. Changing a group's
        hyperparameter (``opt.param_groups[0]['lr'] = 0.01``) takes effect at
        the next ``step()``; the parameters of each group, and the number of
        groups, are fixed when the optimizer is made."""
        return self._groups

    @property
    def defaults(self):
        """The hyperparameters given to the constructor (a new dict), which
        groups that do not set their own take."""
        return dict(self._defaults)

    @property
    def params(self):
        """The parameters (a tuple of Values), group after group: the order
        of the state."""
        return self._params

    cdef list _read(self):
        """Every group's hyperparameters, checked (before anything changes),
        and the check that the groups still hold the optimizer's Values."""
        cdef list groups = self._groups
        cdef Py_ssize_t g, k, lo
        if len(groups) != len(self._lists):
            raise RuntimeError(f"param_groups has {len(groups)} groups, the optimizer was "
                               f"made with {len(self._lists)}: groups cannot be added or "
                               f"removed (make a new optimizer)")
        out = []
        for g in range(len(groups)):
            group = groups[g]
            if not isinstance(group, dict):
                raise TypeError(f"param_groups[{g}] must be a dict, not "
                                f"{type(group).__name__!r}")
            out.append(self._parse(group, f"param_groups[{g}]: "))
        for g in range(len(groups)):
            ps = groups[g].get("params")
            lo = self._bounds[g]
            same = ps is self._lists[g] and len(ps) == <Py_ssize_t>self._bounds[g + 1] - lo
            if same:
                for k in range(len(ps)):
                    if (<list>ps)[k] is not self._params[lo + k]:
                        same = False
                        break
            if not same:
                raise RuntimeError(f"param_groups[{g}]['params'] changed since the "
                                   f"optimizer was made; its parameters are fixed (make "
                                   f"a new optimizer)")
        return out

    cdef object _common(self, str name):
        """The hyperparameter `name` if every group has the same, else ValueError."""
        cdef Py_ssize_t i = self._names.index(name)
        values = [self._parse(group, f"param_groups[{g}]: ")[i]
                  for g, group in enumerate(self._groups)]
        if any(v != values[0] for v in values[1:]):
            raise ValueError(f"the parameter groups have different {name} values "
                             f"({', '.join(map(repr, values))}): read "
                             f"param_groups[i][{name!r}]")
        return values[0]

    cdef _set_all(self, str name, object value):
        """Set the hyperparameter `name` of every group (and of defaults),
        all checked before any changes."""
        cdef Py_ssize_t i = self._names.index(name)
        new = []
        for g, group in enumerate(self._groups):
            where = "" if len(self._groups) == 1 else f"param_groups[{g}]: "
            new.append(self._parse({**group, name: value}, where)[i])
        for group, v in zip(self._groups, new):
            group[name] = v
        self._defaults[name] = new[0]

    @property
    def lr(self):
        """The learning rate >= 0 of every group (settable: sets every group,
        e.g. for a schedule). Reading it when the groups have different
        rates raises ValueError: read ``param_groups[i]['lr']`` instead."""
        return self._common("lr")

    @lr.setter
    def lr(self, value):
        self._set_all("lr", value)

    @property
    def weight_decay(self):
        """The weight decay factor >= 0 of every group (settable, as ``lr``)."""
        return self._common("weight_decay")

    @weight_decay.setter
    def weight_decay(self, value):
        self._set_all("weight_decay", value)

    def zero_grad(self, set_to_none=False):
        """Set every parameter's grad to 0 (the int, as Module.zero_grad).

        ``set_to_none`` is accepted for PyTorch's signature (whose default is
        True). A Value's grad is always a number, never None, so it is
        zeroed either way; the optimizers here update every parameter at
        each step, so there is no "skip the ones without a grad" to ask for.
        """
        cdef Py_ssize_t k
        cdef Node* p
        for k in range(self.n):
            p = self._node(k)
            p.grad = 0.0
            p.flags |= NODE_INT_GRAD

    cdef inline Node* _node(self, Py_ssize_t k) noexcept:
        return &A.nodes[(<Value>self._params[k]).idx]

    cdef inline Node* _updated(self, Py_ssize_t k) noexcept:
        """Parameter k's node, about to be updated: for a computed one, the
        nodes a recording left unwritten are written first (arena.h's
        on_stale), as setting its `data` does. Runs no Python code."""
        cdef Node* p = self._node(k)
        if p.a >= 0:
            mg_write_elided(A)
        return p

    # ---- saved state ----------------------------------------------------------------

    def state_dict(self):
        """The optimizer's state, as a new dict of plain numbers, lists and
        strings (JSON-ready): ``'type'``, ``'param_groups'`` (each group's
        hyperparameters, with ``'params'`` the positions of its parameters
        in ``params``) and the per-parameter state."""
        groups = []
        for g, group in enumerate(self._groups):
            where = f"param_groups[{g}]: "
            d = dict(zip(self._names, self._parse(group, where)))
            if "betas" in d:
                d["betas"] = list(d["betas"])
            if "initial_lr" in group:
                d["initial_lr"] = _hyper(group["initial_lr"], "initial_lr", where, 0.0, False)
            d["params"] = list(range(self._bounds[g], self._bounds[g + 1]))
            groups.append(d)
        return {"type": self._kind, "param_groups": groups, **self._state_arrays()}

    def load_state_dict(self, state, strict=True):
        """Restore what ``state_dict()`` returned (same groups, same sizes).

        Everything is checked before anything changes: a state of another
        kind of optimizer, other group sizes, a bad hyperparameter or array
        raises ValueError and leaves the optimizer as it was.

        ``strict=True`` (the default): ``state`` must have exactly the keys
        ``state_dict()`` gives, else ValueError naming the missing and
        unexpected ones. ``strict=False`` tolerates both, as PyTorch's
        ``Module.load_state_dict(strict=False)`` does: what is missing (a
        group's hyperparameter, an array of the state, the 'type') keeps its
        current value, what is unexpected is ignored; what is there is
        checked as strictly as ever, and the number and sizes of the groups
        must still match. Returns ``IncompatibleKeys(missing_keys,
        unexpected_keys)`` (both empty when strict).

        A state saved before parameter groups existed (one group, the
        hyperparameters at the top level) loads too.
        """
        kind = self._kind
        if not isinstance(state, dict):
            raise ValueError(f"not a {kind} state: {state!r:.80}")
        if "param_groups" not in state and "lr" in state:
            state = self._legacy(state)
        missing, unexpected = [], []
        saved_kind = state.get("type", _MISSING)
        if saved_kind is _MISSING:
            missing.append("type")
        elif saved_kind != kind:
            raise ValueError(f"not a {kind} state: its type is {saved_kind!r}")
        known = {"type", "param_groups", *self._state_arrays()}
        unexpected += [str(k) for k in state if k not in known]

        ngroups = len(self._groups)
        new = [None] * ngroups          # per group: (hyperparameters, initial_lr)
        saved_groups = state.get("param_groups", _MISSING)
        if saved_groups is _MISSING:
            missing.append("param_groups")
        else:
            if not isinstance(saved_groups, (list, tuple)):
                raise ValueError(f"{kind} state: param_groups must be a list, not "
                                 f"{type(saved_groups).__name__!r}")
            if len(saved_groups) != ngroups:
                raise ValueError(f"{kind} state has {len(saved_groups)} parameter groups, "
                                 f"this optimizer has {ngroups}")
            for g, saved in enumerate(saved_groups):
                where = f"{kind} state: param_groups[{g}]: "
                if not isinstance(saved, dict):
                    raise ValueError(f"{where}must be a dict, not {type(saved).__name__!r}")
                lo, hi = self._bounds[g], self._bounds[g + 1]
                ps = saved.get("params", _MISSING)
                if ps is _MISSING:
                    missing.append(f"param_groups.{g}.params")
                elif not isinstance(ps, (list, tuple)) or list(ps) != list(range(lo, hi)):
                    size = len(ps) if isinstance(ps, (list, tuple)) else ps
                    raise ValueError(f"{where}its params ({size!r:.60}) are not this "
                                     f"optimizer's group of {hi - lo} parameters "
                                     f"(positions {lo} to {hi - 1})")
                current = self._groups[g]
                hyper = {}
                for name in self._names:
                    if name in saved:
                        hyper[name] = saved[name]
                    else:
                        missing.append(f"param_groups.{g}.{name}")
                        hyper[name] = _get(current, name, f"param_groups[{g}]: ")
                unexpected += [f"param_groups.{g}.{k}" for k in saved
                               if k not in self._names and k not in _GROUP_EXTRAS]
                initial = saved.get("initial_lr", current.get("initial_lr", _MISSING))
                if initial is not _MISSING:
                    initial = _hyper(initial, "initial_lr", where, 0.0, False)
                new[g] = (self._parse(hyper, where), initial)
        arrays = self._check_arrays(state, missing)
        if strict and (missing or unexpected):
            problems = []
            if missing:
                problems.append(f"missing {', '.join(map(repr, missing))}")
            if unexpected:
                problems.append(f"unexpected {', '.join(map(repr, unexpected))}")
            raise ValueError(f"{kind} state does not fit this optimizer "
                             f"({'; '.join(problems)}); strict=False loads it anyway")
        # All checked: now change the optimizer.
        for g in range(ngroups):
            if new[g] is not None:
                hyper, initial = new[g]
                self._groups[g].update(zip(self._names, hyper))
                if initial is not _MISSING:
                    self._groups[g]["initial_lr"] = initial
        self._set_arrays(arrays)
        return IncompatibleKeys(missing, unexpected)

    cdef object _saved_array(self, dict state, str name, list missing):
        """state[name] as a list of n items, _MISSING if absent."""
        xs = state.get(name, _MISSING)
        if xs is _MISSING:
            missing.append(name)
            return _MISSING
        if not isinstance(xs, (list, tuple)):
            raise ValueError(f"{self._kind} state: {name!r} must be a list, not "
                             f"{type(xs).__name__!r}")
        if len(xs) != self.n:
            raise ValueError(f"{self._kind} state has {len(xs)} entries in {name!r}, "
                             f"this optimizer has {self.n} parameters")
        return xs

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for g, group in enumerate(self._groups):
            lines.append(f"Parameter Group {g}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]!r}")
            lines.append(f"    params: {len(group.get('params', ()))} Values")
        lines.append(")")
        return "\n".join(lines)


cdef class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum (heavy-ball or
    Nesterov's), dampening and L2 weight decay, as PyTorch's ``SGD``.

    ``SGD(params, lr, momentum=0.0, weight_decay=0.0, *, dampening=0.0,
    nesterov=False)``; ``params`` is a list of Values or of parameter groups
    (dicts with ``'params'`` and any of the hyperparameters, the rest taken
    from the arguments). ``step()`` does, for each parameter ``p`` of each
    group, with that group's hyperparameters::

        g = p.grad
        if weight_decay != 0:
            g = g + weight_decay * p.data
        if momentum != 0:
            if buf is None:                     # the group's first such step
                buf = g
            else:
                buf = momentum * buf + (1 - dampening) * g
            if nesterov:
                g = g + momentum * buf
            else:
                g = buf
        p.data -= lr * g

    Ranges: ``lr >= 0``, ``0 <= momentum < 1``, ``0 <= dampening <= 1``,
    ``weight_decay >= 0``; ``nesterov=True`` needs a momentum and zero
    dampening (ValueError otherwise). ``lr``, ``momentum``, ``dampening``,
    ``weight_decay`` and ``nesterov`` are settable at any time, for every
    group at once (or per group through ``param_groups``).

    >>> from micrograd.engine import Value
    >>> w = Value(1.0); w.grad = 0.5
    >>> SGD([w], lr=0.1).step(); w.data
    0.95
    >>> a, b = Value(1.0), Value(1.0)
    >>> opt = SGD([{'params': [a], 'lr': 0.5}, {'params': [b]}], lr=0.1, momentum=0.9)
    >>> [group['lr'] for group in opt.param_groups]
    [0.5, 0.1]
    """

    def __cinit__(self):
        self.slots = 1                  # the momentum buffer
        self._kind = "SGD"
        self._names = ("lr", "momentum", "dampening", "weight_decay", "nesterov")

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, *, dampening=0.0,
                 nesterov=False):
        Optimizer.__init__(self, params, {"lr": lr, "momentum": momentum,
                                          "dampening": dampening,
                                          "weight_decay": weight_decay,
                                          "nesterov": nesterov})

    cdef tuple _parse(self, object group, str where):
        lr = _hyper(_get(group, "lr", where), "lr", where, 0.0, False)
        momentum = _hyper(_get(group, "momentum", where), "momentum", where, 0.0, False,
                          1.0)
        dampening = _hyper(_get(group, "dampening", where), "dampening", where, 0.0, False,
                           1.0, True)
        weight_decay = _hyper(_get(group, "weight_decay", where), "weight_decay", where,
                              0.0, False)
        nesterov = _get(group, "nesterov", where)
        if not isinstance(nesterov, bool):
            raise TypeError(f"{where}nesterov must be True or False, not "
                            f"{type(nesterov).__name__!r}")
        if nesterov and (momentum == 0.0 or dampening != 0.0):
            raise ValueError(f"{where}Nesterov momentum requires a momentum and zero "
                             f"dampening (momentum={momentum!r}, dampening={dampening!r})")
        return (lr, momentum, dampening, weight_decay, nesterov)

    @property
    def momentum(self):
        """Momentum factor in [0, 1) of every group (settable, as ``lr``)."""
        return self._common("momentum")

    @momentum.setter
    def momentum(self, value):
        self._set_all("momentum", value)

    @property
    def dampening(self):
        """Dampening of the momentum in [0, 1] of every group (settable)."""
        return self._common("dampening")

    @dampening.setter
    def dampening(self, value):
        self._set_all("dampening", value)

    @property
    def nesterov(self):
        """Whether every group uses Nesterov momentum (settable)."""
        return self._common("nesterov")

    @nesterov.setter
    def nesterov(self, value):
        self._set_all("nesterov", value)

    def step(self):
        """One update of every parameter from its current grad."""
        cdef list hyper = self._read()
        cdef Node* p
        cdef Py_ssize_t g, k, lo, hi
        cdef double d, lr, mom, damp, wd
        cdef bint nesterov, started
        cdef double* buf = self.state
        for g in range(len(hyper)):
            lr, mom, damp, wd, nesterov = hyper[g]
            lo = self._bounds[g]
            hi = self._bounds[g + 1]
            started = self._started[g]
            # No Python code runs in this loop: p stays valid.
            for k in range(lo, hi):
                p = self._updated(k)
                d = p.grad
                if wd != 0.0:
                    d = d + wd * p.data
                if mom != 0.0:
                    if started:
                        buf[k] = mom * buf[k] + (1.0 - damp) * d
                    else:
                        buf[k] = d
                    if nesterov:
                        d = d + mom * buf[k]
                    else:
                        d = buf[k]
                p.data -= lr * d
                p.flags &= ~NODE_INT_DATA
            if mom != 0.0 and not started:
                self._started[g] = True

    cdef dict _state_arrays(self):
        cdef Py_ssize_t g, k
        bufs = []
        for g in range(len(self._groups)):
            for k in range(self._bounds[g], self._bounds[g + 1]):
                bufs.append(self.state[k] if self._started[g] else None)
        return {"momentum_buffer": bufs}

    cdef object _check_arrays(self, dict state, list missing):
        xs = self._saved_array(state, "momentum_buffer", missing)
        if xs is _MISSING:
            return None
        out = []
        for g in range(len(self._groups)):
            lo, hi = self._bounds[g], self._bounds[g + 1]
            nones = sum(x is None for x in xs[lo:hi])
            if nones not in (0, hi - lo):
                raise ValueError(f"SGD state: the momentum_buffer of param_groups[{g}] "
                                 f"must be all numbers or all None (no buffer yet)")
            out.append(None if nones else
                       [_real(xs[k], f"SGD state: momentum_buffer[{k}]")
                        for k in range(lo, hi)])
        return out

    cdef _set_arrays(self, object arrays):
        cdef Py_ssize_t g, k, lo
        if arrays is None:
            return
        for g, bufs in enumerate(arrays):
            lo = self._bounds[g]
            self._started[g] = bufs is not None
            for k in range(self._bounds[g + 1] - lo):
                self.state[lo + k] = bufs[k] if bufs is not None else 0.0

    cdef dict _legacy(self, dict state):
        # {"type", "lr", "momentum", "weight_decay", "buf"}: one group; its
        # buffers were always in use (they started at 0).
        state = dict(state)
        group = {k: state.pop(k) for k in ("lr", "momentum", "weight_decay") if k in state}
        group.update(dampening=0.0, nesterov=False, params=list(range(self.n)))
        state["param_groups"] = [group]
        if "buf" in state:
            state["momentum_buffer"] = state.pop("buf")
        return state


cdef class Adam(Optimizer):
    """Adam (Kingma & Ba), with bias correction, as PyTorch's default Adam.

    ``Adam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0.0)``; ``params`` is a list of Values or of parameter
    groups (dicts with ``'params'`` and any of the hyperparameters).
    ``step()`` increments ``t`` and does, for each parameter ``p`` of each
    group, with that group's hyperparameters (``m`` and ``v`` start at 0)::

        g = p.grad + weight_decay * p.data      # only if weight_decay != 0
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        p.data -= lr * m_hat / (math.sqrt(v_hat) + eps)

    Ranges: ``lr >= 0``, betas in [0, 1), ``eps > 0``, ``weight_decay >=
    0``. ``lr``, ``betas``, ``eps`` and ``weight_decay`` are settable at any
    time, for every group at once (or per group through ``param_groups``).
    """

    def __cinit__(self):
        self.slots = 2                  # the moments m, then v
        self._kind = "Adam"
        self._names = ("lr", "betas", "eps", "weight_decay")

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.0):
        Optimizer.__init__(self, params, {"lr": lr, "betas": betas, "eps": eps,
                                          "weight_decay": weight_decay})

    cdef tuple _parse(self, object group, str where):
        lr = _hyper(_get(group, "lr", where), "lr", where, 0.0, False)
        betas = _get(group, "betas", where)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"{where}betas must be a pair, got {betas!r}") from None
        beta1 = _hyper(b1, "betas[0]", where, 0.0, False, 1.0)
        beta2 = _hyper(b2, "betas[1]", where, 0.0, False, 1.0)
        eps = _hyper(_get(group, "eps", where), "eps", where, 0.0, True)
        weight_decay = _hyper(_get(group, "weight_decay", where), "weight_decay", where,
                              0.0, False)
        return (lr, (beta1, beta2), eps, weight_decay)

    @property
    def t(self):
        """Steps taken (the bias corrections' exponent)."""
        return self._t

    @property
    def betas(self):
        """(beta1, beta2) of every group (settable, as ``lr``)."""
        return self._common("betas")

    @betas.setter
    def betas(self, value):
        self._set_all("betas", value)

    @property
    def eps(self):
        """The term added to the denominator, of every group (settable)."""
        return self._common("eps")

    @eps.setter
    def eps(self, value):
        self._set_all("eps", value)

    def step(self):
        """One update of every parameter from its current grad."""
        cdef list hyper = self._read()
        cdef Node* p
        cdef Py_ssize_t g, k, lo, hi
        cdef double d, m_hat, v_hat, c1, c2, lr, b1, b2, eps, wd
        cdef double* m = self.state
        cdef double* v = self.state + self.n
        cdef bint decoupled = self._kind == "AdamW"
        self._t += 1
        for g in range(len(hyper)):
            lr, (b1, b2), eps, wd = hyper[g]
            lo = self._bounds[g]
            hi = self._bounds[g + 1]
            c1 = 1.0 - pow(b1, <double>self._t)
            c2 = 1.0 - pow(b2, <double>self._t)
            # No Python code runs in this loop: p stays valid.
            for k in range(lo, hi):
                p = self._updated(k)
                d = p.grad
                if wd != 0.0:
                    if decoupled:
                        p.data = p.data * (1.0 - lr * wd)
                    else:
                        d = d + wd * p.data
                m[k] = b1 * m[k] + (1.0 - b1) * d
                v[k] = b2 * v[k] + (1.0 - b2) * d * d
                m_hat = m[k] / c1
                v_hat = v[k] / c2
                p.data -= lr * m_hat / (sqrt(v_hat) + eps)
                p.flags &= ~NODE_INT_DATA

    cdef dict _state_arrays(self):
        cdef Py_ssize_t k
        return {"t": self._t,
                "m": [self.state[k] for k in range(self.n)],
                "v": [self.state[self.n + k] for k in range(self.n)]}

    cdef object _check_arrays(self, dict state, list missing):
        kind = self._kind
        t = state.get("t", _MISSING)
        if t is _MISSING:
            missing.append("t")
        elif isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= 2 ** 62:
            raise ValueError(f"{kind} state: t must be an int in [0, 2**62], got {t!r}")
        out = [t]
        for name in ("m", "v"):
            xs = self._saved_array(state, name, missing)
            out.append(xs if xs is _MISSING else
                       [_real(x, f"{kind} state: {name}[{k}]") for k, x in enumerate(xs)])
        return out

    cdef _set_arrays(self, object arrays):
        cdef Py_ssize_t k
        t, m, v = arrays
        if t is not _MISSING:
            self._t = t
        if m is not _MISSING:
            for k in range(self.n):
                self.state[k] = m[k]
        if v is not _MISSING:
            for k in range(self.n):
                self.state[self.n + k] = v[k]

    cdef dict _legacy(self, dict state):
        # {"type", "lr", "betas", "eps", "weight_decay", "t", "m", "v"}: one group.
        state = dict(state)
        group = {k: state.pop(k) for k in self._names if k in state}
        group["params"] = list(range(self.n))
        state["param_groups"] = [group]
        return state


cdef class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch's
    ``AdamW``.

    ``AdamW(params, lr=0.001, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0.01)``; ``step()`` increments ``t`` and does, for each
    parameter ``p`` of each group (``m`` and ``v`` start at 0)::

        p.data = p.data * (1 - lr * weight_decay)   # only if weight_decay != 0
        g = p.grad
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        p.data -= lr * m_hat / (math.sqrt(v_hat) + eps)

    The decay shrinks the weights directly instead of entering the
    gradient (and so the moments) as Adam's L2 ``weight_decay`` does.
    Hyperparameters, ranges and groups as ``Adam``.
    """

    def __cinit__(self):
        self._kind = "AdamW"

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0.01):
        Optimizer.__init__(self, params, {"lr": lr, "betas": betas, "eps": eps,
                                          "weight_decay": weight_decay})
