"""The popular GPT script's style (``script_workload``): the same user code,
its own Python Adam loop over ``.data``/``.grad`` and generator-sum linears,
on this package's ``Value``, on ``micrograd.pure`` and on the script's own
``__slots__`` Value (``ScriptValue``). Group ``gpt-script``: the whole
training step, one document per step, the same documents for every engine.

The forward pass is the same float operations on every engine, so the first
loss is equal bit for bit; gradients sum in each engine's own topological
order (a few ulps), so the next losses agree to 1e-9.
"""

import math

import pytest

from harness import measure
from script_workload import ScriptGPT, ScriptValue

ENGINES = ["micrograd-c", "pure", "script"]


@pytest.fixture(scope="module")
def script_reference():
    """The script's losses over its first three steps, on its own Value."""
    run = ScriptGPT(ScriptValue)
    return [run.step() for _ in range(3)]


@pytest.mark.benchmark(group="gpt-script")
@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_gpt_script_step(benchmark, engine, script_reference):
    run = ScriptGPT(engine.Value)
    losses = [run.step() for _ in range(3)]     # untimed: checked against the script's own
    assert losses[0] == script_reference[0], (
        f"{engine.name}: first loss {losses[0]!r}, the script's own Value {script_reference[0]!r}")
    for k, (got, want) in enumerate(zip(losses, script_reference)):
        assert math.isclose(got, want, rel_tol=1e-9), (
            f"{engine.name}: loss of step {k} is {got!r}, the script's own Value {want!r}")
    measure(benchmark, run.step, engine=engine)
