"""Every program in examples/ runs, as a user runs it, with a small step count."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# example -> its arguments for a quick run
SMOKE = {
    "moons.py": ["--steps", "3"],
    "gpt.py": ["--steps", "20", "--samples", "3"],
    "regression.py": ["--steps", "20"],
}


def run_example(name, *args, cwd):
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args],
                          capture_output=True, text=True, timeout=120, cwd=cwd)
    assert proc.returncode == 0, f"{name} {' '.join(args)} failed:\n{proc.stderr}"
    return proc.stdout


def test_every_example_has_a_smoke_run():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(SMOKE)


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_example_runs(name, tmp_path):
    out = run_example(name, *SMOKE[name], cwd=tmp_path)
    steps = SMOKE[name][1]
    assert re.search(rf"^{steps} steps in [\d.]+ s \([\d.]+ ms/step(, \d+ steps/s)?\)$", out,
                     re.M), out


def losses(out):
    return [float(x) for x in re.findall(r"loss ([\d.]+)", out)]


def test_moons_example_learns(tmp_path):
    out = run_example("moons.py", "--steps", "20", cwd=tmp_path)
    assert "number of parameters 337" in out
    assert losses(out)[-1] < losses(out)[0]


def test_regression_example_fits(tmp_path):
    out = run_example("regression.py", "--steps", "20", cwd=tmp_path)
    assert losses(out)[-1] < 0.1 * losses(out)[0]
    assert len(re.findall(r"^target [+-]1\.0  prediction [+-][\d.]+$", out, re.M)) == 4


def test_gpt_example_on_the_builtin_words(tmp_path):
    out = run_example("gpt.py", "--steps", "20", "--samples", "3", cwd=tmp_path)
    n_docs = int(re.match(r"(\d+) documents, 27 tokens, \d+ parameters", out).group(1))
    assert n_docs > 1000
    assert 3.0 < losses(out)[0] < 3.6              # about log(27) at the start
    samples = out.split("samples at temperature 0.5:\n")[1].splitlines()
    assert len(samples) == 3 and all(re.fullmatch(r"  [a-z]*", s) for s in samples)


def test_gpt_example_on_a_file(tmp_path):
    data = tmp_path / "names.txt"
    data.write_text("emma\nolivia\n\nava\nisabella\n", encoding="utf-8")
    out = run_example("gpt.py", "--data", str(data), "--steps", "30", "--samples", "5",
                      cwd=tmp_path)
    assert out.startswith("4 documents, 10 tokens")    # a b e i l m o s v + BOS
    samples = out.split("samples at temperature 0.5:\n")[1].splitlines()
    assert len(samples) == 5 and all(set(s.strip()) <= set("abeilmosv") for s in samples)


def test_gpt_engines_train_the_same_numbers(tmp_path):
    # The compiled step replays a recording with each word's tokens: the same
    # losses, to the printed digit, as building the graph op by op.
    compiled = run_example("gpt.py", "--steps", "40", "--samples", "2", cwd=tmp_path)
    dynamic = run_example("gpt.py", "--steps", "40", "--samples", "2", "--engine", "dynamic",
                          cwd=tmp_path)
    assert "engine compiled" in compiled and "engine dynamic" in dynamic
    assert len(losses(compiled)) == 20 and losses(compiled) == losses(dynamic)
    assert compiled.split("samples at")[1] == dynamic.split("samples at")[1]


@pytest.mark.parametrize("args, message", [
    (["--steps", "0"], "--steps must be at least 1"),
    (["--samples", "-1"], "--samples must be at least 0"),
    (["--temperature", "0"], "--temperature must be above 0"),
    (["--block-size", "1"], "--block-size must be at least 2"),
    (["--engine", "jit"], "invalid choice: 'jit'"),
    (["--data", "no-such-file.txt"], "--data no-such-file.txt: No such file or directory"),
])
def test_gpt_example_refuses_bad_arguments(tmp_path, args, message):
    proc = subprocess.run([sys.executable, str(EXAMPLES / "gpt.py"), *args],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("name, args, message", [
    ("moons.py", ["--steps", "-3"], "--steps must be at least 1"),
    ("moons.py", ["--steps", "x"], "invalid int value"),
    ("regression.py", ["--steps", "0"], "--steps must be at least 1"),
    ("regression.py", ["--lr", "-1"], "--lr must be above 0"),
])
def test_examples_refuse_bad_arguments(tmp_path, name, args, message):
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert proc.stderr.startswith("usage: ") and "Traceback" not in proc.stderr


def test_gpt_example_refuses_an_empty_file(tmp_path):
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, str(EXAMPLES / "gpt.py"), "--data", "empty.txt"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and "no documents" in proc.stderr, proc.stderr
