"""Type stubs of micrograd_c.graph: backward() in C.

The module has no Python-level names: ``Value.backward()`` and
``Tape.backward()`` call it.
"""
