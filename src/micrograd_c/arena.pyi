"""Type stubs of micrograd_c.arena: the node arena's statistics and limits."""

def arena_stats() -> dict[str, int]:
    """The arena's occupancy: ``live`` (nodes alive now), ``capacity``
    (node slots allocated), ``bytes`` (bytes allocated for the slots and
    their bookkeeping) and ``node_bytes`` (size of one node struct)."""

def arena_trim() -> int:
    """Give back the memory of a mostly free arena now; returns the
    capacity after."""

def set_max_capacity(limit: int | None = None) -> int:
    """Set the most node slots the arena may ever hold (None: the default);
    returns the previous limit."""
