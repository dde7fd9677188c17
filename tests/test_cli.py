"""The ``micrograd demo`` command and the moons demo behind it (micrograd.demo)."""

import math
import re
import subprocess
import sys

import pytest

import micrograd
from micrograd import demo
from micrograd.cli import main


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)        # the demo draws moons.png into the working folder


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def summary_accuracy(out):
    return float(re.search(r"^accuracy ([\d.]+)%", out, re.M).group(1)) / 100


def test_demo_default_run_reaches_the_accuracy(capsys, tmp_path):
    code, out, err = run(capsys, "demo", "--quiet", "--no-plot")
    assert code == 0, err
    assert summary_accuracy(out) >= 0.97
    assert re.search(rf"^{demo.default_engine()}: 100 steps in [\d.]+ s, [\d.]+ ms/step$", out, re.M)
    assert err == ""
    assert not (tmp_path / "moons.png").exists()


@pytest.mark.parametrize("engine", ["dynamic", "fused", "compiled", "pure"])
def test_engines_follow_the_same_trajectory(engine):
    # The compiled engines build the very same graph: bit for bit. The pure
    # engine may sum a parameter's grads in another order: to rounding.
    reference = demo.MoonsDemo("fused", steps=100)
    run = demo.MoonsDemo(engine, steps=100)
    for _ in range(5):
        want, got = reference.step(), run.step()
        if engine == "pure":
            assert math.isclose(got[0], want[0], rel_tol=1e-9) and got[1] == want[1]
        else:
            assert got == want


def test_per_op_neurons_are_called_one_by_one():
    run = demo.MoonsDemo("dynamic", steps=1)
    neurons = [n for layer in run.model.layers for n in layer.neurons]
    assert all(type(n) is demo.PerOpNeuron for n in neurons)
    pure = demo.MoonsDemo("pure", steps=1)
    from micrograd.pure import Value
    assert all(type(p) is Value for p in pure.model.parameters())
    assert [p.data for p in pure.model.parameters()] == [p.data for p in run.model.parameters()]


def test_compiled_is_the_default(capsys):
    code, out, err = run(capsys, "demo", "--steps", "3", "--quiet", "--no-plot")
    assert code == 0, err
    assert "compiled: 3 steps" in out


def test_compare_prints_the_speedup(capsys):
    code, out, err = run(capsys, "demo", "--compare", "--steps", "2", "--quiet", "--no-plot",
                         "--engine", "fused")
    assert code == 0, err
    assert re.search(r"^pure Python \(micrograd.pure\): 2 steps in .* ms/step", out, re.M)
    assert re.search(r"^speedup: fused is [\d.]+x faster than pure Python$", out, re.M)


@pytest.mark.parametrize("argv, message", [
    (["demo", "--steps", "0"], "must be at least 1"),
    (["demo", "--steps", "many"], "not an integer"),
    (["demo", "--engine", "torch"], "invalid choice"),
    (["demo", "--seed", "x"], "invalid int"),
    (["demo", "--plot", "moons.jpg"], "must name a .png file"),
    (["demo", "--plot", "no/such/folder/moons.png"], "does not exist"),
    (["demo", "--plot", "a.png", "--no-plot"], "not allowed with"),
    (["demo", "--bogus"], "unrecognized arguments"),
    ([], "required"),
])
def test_bad_arguments(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err
    # a subcommand's error comes with the subcommand's usage
    usage = "usage: micrograd demo" if argv[:1] == ["demo"] else "usage: micrograd ["
    assert err.startswith(usage), err


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "demo", "--help")
    assert code == 0 and "--compare" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and micrograd.__version__ in out


def test_progress_bar_with_tqdm(capsys):
    import tqdm.auto
    from micrograd import cli
    assert cli.tqdm is tqdm.auto.tqdm             # a widget in Jupyter, text in a terminal
    code, out, err = run(capsys, "demo", "--steps", "5", "--no-plot", "--engine", "fused")
    assert code == 0
    assert "5/5" in err and "step/s" in err and "accuracy" in err


@pytest.mark.parametrize("engine", ["fused", "compiled"])
def test_train_takes_the_steps_left_as_step_would(engine):
    by_step = demo.MoonsDemo(engine, steps=30)
    want = [by_step.step() for _ in range(30)]
    run = demo.MoonsDemo(engine, steps=30)
    first = [run.step() for _ in range(4)]
    assert first + run.train() == want
    assert run.k == 30 and run.train() == []
    assert [p.data for p in run.model.parameters()] == [p.data for p in by_step.model.parameters()]


def test_train_progress(capsys, monkeypatch):
    import tqdm.auto
    made = []

    class Recording(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            made.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    history = demo.MoonsDemo("fused", steps=10).train(progress=True)
    err = capsys.readouterr().err
    assert len(history) == 10
    assert "fused: 100%" in err and "10/10" in err
    assert f"loss {history[-1][0]:.4f}, accuracy {history[-1][1]:.0%}" in err
    assert made == [{"total": 10, "initial": 0, "desc": "fused", "unit": "step",
                     "disable": False}]
    demo.MoonsDemo("fused", steps=3).train()
    assert capsys.readouterr().err == "" and made[-1]["disable"] is True


def test_plot_is_written(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    code, out, err = run(capsys, "demo", "--steps", "3", "--quiet", "--plot", "boundary.png")
    assert code == 0, err
    assert (tmp_path / "boundary.png").read_bytes()[:4] == b"\x89PNG"
    assert "decision boundary written to boundary.png" in out


def test_without_matplotlib_a_hint(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, out, err = run(capsys, "demo", "--steps", "3", "--quiet")
    assert code == 0
    assert out.splitlines()[-1] == ('plot skipped: matplotlib is not installed '
                                    '(pip install "micrograd-c[plot]", or --no-plot)')
    assert "Traceback" not in err and not (tmp_path / "moons.png").exists()


def test_python_dash_m(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "micrograd", "demo", "--steps", "2", "--quiet",
                           "--no-plot"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 steps in" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "micrograd"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert proc.returncode == 2 and "usage: micrograd" in proc.stderr


def test_unwritable_plot_path(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    (tmp_path / "taken.png").mkdir()
    code, out, err = run(capsys, "demo", "--steps", "1", "--quiet", "--plot", "taken.png")
    assert code == 1
    assert "cannot write taken.png" in err and "Traceback" not in err
