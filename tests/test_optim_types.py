"""The type stub of micrograd_c.optim and the hints of micrograd.optim and
lr_scheduler, checked by mypy (skipped without it: the `typing` extra)."""

import os
import textwrap

import pytest

api = pytest.importorskip("mypy.api")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mypy(tmp_path, source):
    path = tmp_path / "snippet.py"
    path.write_text(textwrap.dedent(source))
    out, _, status = api.run(["--ignore-missing-imports", "--follow-imports=silent",
                              "--cache-dir", str(tmp_path / "cache"), str(path)])
    return out, status


@pytest.fixture(autouse=True)
def mypypath(monkeypatch):
    monkeypatch.setenv("MYPYPATH", os.pathsep.join([os.path.join(ROOT, "src"), ROOT]))


def test_good_use_type_checks(tmp_path):
    out, status = mypy(tmp_path, """
        from micrograd_c.optim import SGD, AdamW
        from micrograd.optim import lr_scheduler

        def f(ps: list) -> float:
            opt = SGD([{"params": ps, "lr": 0.1}], lr=0.01, momentum=0.9, nesterov=True)
            opt.lr = 0.5
            opt.zero_grad(set_to_none=True)
            keys = opt.load_state_dict(opt.state_dict(), strict=False)
            sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
            sched.step()
            beta1, beta2 = AdamW(ps).betas
            return opt.lr + sched.get_last_lr()[0] + beta1 + len(keys.missing_keys)
    """)
    assert status == 0, out


def test_wrong_types_are_rejected(tmp_path):
    out, status = mypy(tmp_path, """
        from micrograd_c.optim import SGD, Adam
        from micrograd.optim import lr_scheduler

        def g(ps: list) -> None:
            opt = SGD(ps, lr=0.1)
            opt.lr = "fast"
            opt.nesterov = 1.5
            Adam(ps).t = 3
            lr_scheduler.StepLR(opt, step_size="7")
    """)
    assert status == 1
    assert 'snippet.py:7: error: Incompatible types in assignment (expression has type "str", variable has type "float")' in out
    assert "snippet.py:8: error" in out and "snippet.py:9: error" in out
    assert "snippet.py:10: error" in out, out
