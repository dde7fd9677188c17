"""The notebooks in examples/ are stored without outputs, run top to bottom in a
fresh kernel (nbclient), and compute what they say: the moons notebook the
same run as micrograd.demo in this process, bit for bit; the graph notebook
the lecture neuron's hand-computed gradients and its 15-node picture."""

import base64
import json
import math
import re
import shutil
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def test_the_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == ["graph.ipynb", "moons.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    assert code
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"]


def execute(name, tmp_path):
    nbformat = pytest.importorskip(
        "nbformat", reason='nbformat is not installed (pip install "micrograd-c[notebooks]")')
    nbclient = pytest.importorskip(
        "nbclient", reason='nbclient is not installed (pip install "micrograd-c[notebooks]")')
    pytest.importorskip(
        "ipykernel", reason='ipykernel is not installed (pip install "micrograd-c[notebooks]")')
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    # The kernel runs in an empty folder: the notebooks must not need or leave files.
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def cell_with(nb, text):
    """The one code cell whose source contains ``text``."""
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and text in c.source]
    return cell


def stdout(cell):
    return "".join(o.get("text", "") for o in cell.outputs
                   if o.output_type == "stream" and o.name == "stdout")


def printed(cell):
    """``{name: value}`` from the cell's ``name value`` lines."""
    return dict(line.split(" ", 1) for line in stdout(cell).splitlines())


def test_moons_notebook(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    nb = execute("moons.ipynb", tmp_path)
    assert list(tmp_path.iterdir()) == []

    from micrograd.demo import MoonsDemo
    here = MoonsDemo("compiled", steps=100, seed=1337)
    here.train()
    loss, acc = here.evaluate()

    assert stdout(cell_with(nb, "MoonsDemo(")) == (
        f"{len(here.X)} points, {len(here.model.parameters())} parameters\n")
    result = printed(cell_with(nb, "demo.evaluate()"))
    assert float(result["loss"]) == loss                   # the same run, bit for bit
    assert float(result["accuracy"]) == acc >= 0.97

    for source in ("ax.plot(", "plot_decision_boundary("):
        images = [o for o in cell_with(nb, source).outputs
                  if o.output_type in ("display_data", "execute_result") and "image/png" in o.data]
        assert len(images) == 1, source
        assert base64.b64decode(images[0].data["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"


def test_graph_notebook(tmp_path):
    nb = execute("graph.ipynb", tmp_path)
    assert list(tmp_path.iterdir()) == []

    o = math.tanh(2.0 * -3.0 + 0.0 * 1.0 + 6.8813735870195432)
    assert float(printed(cell_with(nb, "o = n.tanh()"))["o"]) == pytest.approx(o, abs=1e-15)
    do_dn = 1 - o ** 2                                      # 0.5, by the choice of b
    want = {"x1.grad": -3.0 * do_dn, "w1.grad": 2.0 * do_dn, "x2.grad": 1.0 * do_dn,
            "w2.grad": 0.0 * do_dn, "b.grad": do_dn, "n.grad": do_dn}
    got = {k: float(v) for k, v in printed(cell_with(nb, "o.backward()")).items()}
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == pytest.approx(want[k], abs=1e-12), k
    assert got["x1.grad"] == pytest.approx(-1.5, abs=1e-12)

    traced = printed(cell_with(nb, "trace(o)"))
    assert (traced["nodes"], traced["edges"]) == ("10", "9")
    assert traced["labels"] == repr(sorted(["x1", "x2", "w1", "w2", "b", "x1*w1", "x2*w2",
                                            "x1*w1 + x2*w2", "n", "o"]))

    picture = cell_with(nb, "draw_dot(o)")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not on PATH: the picture is not checked")
    (svg,) = [o.data["image/svg+xml"] for o in picture.outputs
              if o.output_type == "execute_result"]
    # 10 Values and 5 op nodes; 5 op -> result edges and 9 operand -> op edges
    assert svg.count('class="node"') == 15 and svg.count('class="edge"') == 14
    assert re.search(r">data 0\.7071<", svg) and re.search(r">grad 0\.5000<", svg)
