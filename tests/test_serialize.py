"""Saved models: ``Module.state_dict()`` / ``load_state_dict()`` and
``micrograd.save`` / ``micrograd.load``: exact round trips, refusals that
change nothing, atomic writes, and resumed training that continues bit for
bit."""

import json
import math
import os
import random
import struct
import subprocess
import sys
import textwrap

import pytest

import micrograd
from micrograd.data import make_moons
from micrograd.engine import Value
from micrograd.nn import MLP, Layer, Module, Neuron
from micrograd.optim import SGD, Adam
from micrograd.serialize import FORMAT, VERSION, load, save

# Doubles whose repr must survive exactly: signed zero, subnormals, the
# extremes, numbers that need all 17 digits.
AWKWARD = [-0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
           0.1 + 0.2, 1 / 3, -2.0 ** -1074, 9007199254740993.0, 123456789.12345679]


def bits(x):
    return struct.pack("<d", x)


def param_bits(module):
    return [bits(p.data) for p in module.parameters()]


def model(seed=1337, sizes=(16, 16, 1), **kwargs):
    random.seed(seed)
    return MLP(2, list(sizes), **kwargs)


def test_package_exports_save_and_load():
    assert micrograd.save is save and micrograd.load is load


# --- state_dict --------------------------------------------------------------


def test_state_dict_names_every_parameter_by_path_in_order():
    m = model(sizes=(3, 1))
    state = m.state_dict()
    assert list(state) == [
        f"layers.0.neurons.{i}.{p}" for i in range(3) for p in ("w.0", "w.1", "b")
    ] + [f"layers.1.neurons.0.{p}" for p in ("w.0", "w.1", "w.2", "b")]
    assert list(state.values()) == [p.data for p in m.parameters()]
    assert [type(x) for x in state.values()] == [type(p.data) for p in m.parameters()]
    assert list(Neuron(2).state_dict()) == ["w.0", "w.1", "b"]
    assert list(Layer(1, 2).state_dict()) == ["neurons.0.w.0", "neurons.0.b",
                                              "neurons.1.w.0", "neurons.1.b"]
    assert Module().state_dict() == {}


def test_state_dict_is_a_snapshot():
    m = model(sizes=(2, 1))
    state = m.state_dict()
    first = m.parameters()[0]
    old = first.data
    first.data += 1.0
    assert state["layers.0.neurons.0.w.0"] == old


class Tied(Module):
    """A user module: nested modules in a dict, a tied weight, a loose Value."""

    def __init__(self):
        self.blocks = {"enc": Neuron(2), "dec": Neuron(1, nonlin=False)}
        self.scale = Value(2.0)
        self.tied = self.blocks["enc"].w[0]
        self.hidden = [Value(5.0)]

    def parameters(self):
        return (self.blocks["enc"].parameters() + self.blocks["dec"].parameters()
                + [self.scale, self.tied, Value(7.0)])


def test_state_dict_of_a_user_module():
    m = Tied()
    state = m.state_dict()
    assert list(state) == ["blocks.enc.w.0", "blocks.enc.w.1", "blocks.enc.b",
                           "blocks.dec.w.0", "blocks.dec.b", "scale", "parameters.7"]
    assert state["scale"] == 2.0 and state["parameters.7"] == 7.0


def test_round_trip_is_bit_for_bit_with_awkward_floats():
    m = model(sizes=(4, 1))
    for p, x in zip(m.parameters(), AWKWARD):
        p.data = x
    state = m.state_dict()
    other = model(seed=5, sizes=(4, 1))
    other.load_state_dict(state)
    assert param_bits(other) == param_bits(m)
    # Through JSON too (repr precision).
    other = model(seed=6, sizes=(4, 1))
    other.load_state_dict(json.loads(json.dumps(state)))
    assert param_bits(other) == param_bits(m)


def test_load_state_dict_accepts_any_real_number():
    np = pytest.importorskip("numpy")
    from fractions import Fraction

    n = Neuron(2)
    n.load_state_dict({"w.0": 1, "w.1": np.float32(0.5), "b": Fraction(1, 4)})
    assert [p.data for p in n.parameters()] == [1.0, 0.5, 0.25]
    assert all(type(p.data) is float for p in n.parameters())


@pytest.mark.parametrize("state, exc, words", [
    ([1.0, 2.0], TypeError, ["mapping", "list"]),
    (None, TypeError, ["NoneType"]),
    ({"w.0": 1.0, "w.1": 2.0}, ValueError, ["missing 1", "'b'", "2 entries", "3 parameters"]),
    ({"w.0": 1.0, "w.1": 2.0, "b": 0.0, "w.2": 1.0}, ValueError,
     ["unexpected 1", "'w.2'", "4 entries", "3 parameters"]),
    ({"w.0": 1.0, "w.1": "2.0", "b": 0.0}, TypeError, ["'w.1'", "str"]),
    ({"w.0": 1.0, "w.1": None, "b": 0.0}, TypeError, ["'w.1'", "NoneType"]),
    ({"w.0": 1.0, "w.1": True, "b": 0.0}, TypeError, ["'w.1'", "bool"]),
    ({"w.0": 1.0, "w.1": 1 + 0j, "b": 0.0}, TypeError, ["'w.1'", "complex"]),
    ({"w.0": 1.0, "w.1": Value(1.0), "b": 0.0}, TypeError, ["'w.1'", "Value"]),
    ({"w.0": 1.0, "w.1": 10 ** 400, "b": 0.0}, ValueError, ["'w.1'"]),
])
def test_load_state_dict_refuses_and_changes_nothing(state, exc, words):
    n = Neuron(2)
    before = param_bits(n)
    with pytest.raises(exc) as info:
        n.load_state_dict(state)
    for w in words:
        assert w in str(info.value)
    assert param_bits(n) == before


def test_a_refused_state_of_another_mlp_names_both_sizes():
    small, big = model(sizes=(4, 1)), model(sizes=(16, 16, 1))
    before = param_bits(small)
    with pytest.raises(ValueError, match=r"337 entries, the module 17 parameters"):
        small.load_state_dict(big.state_dict())
    assert param_bits(small) == before


# --- save / load ---------------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    m = model()
    for p, x in zip(m.parameters(), AWKWARD + [math.inf, -math.inf]):
        p.data = x
    path = tmp_path / "model.json"
    assert save(m, path) is None
    other = model(seed=0)
    assert load(path, other) is other
    assert param_bits(other) == param_bits(m)
    # str paths work as well as Path objects
    other = model(seed=2)
    load(str(path), other)
    assert param_bits(other) == param_bits(m)


def test_nan_parameters_survive(tmp_path):
    n = Neuron(2)
    n.w[0].data = math.nan
    save(n, tmp_path / "n.json")
    other = Neuron(2)
    load(tmp_path / "n.json", other)
    assert math.isnan(other.w[0].data)
    assert other.w[1].data == n.w[1].data


def test_file_is_readable_versioned_json(tmp_path):
    m = model(sizes=(2, 1))
    save(m, tmp_path / "m.json")
    text = (tmp_path / "m.json").read_text()
    doc = json.loads(text)
    assert doc["format"] == FORMAT == "micrograd-c model" and doc["version"] == VERSION == 1
    assert doc["module"] == {"type": "micrograd.nn.MLP", "summary": repr(m),
                             "n_parameters": 9}
    assert doc["parameters"] == m.state_dict()
    assert doc["optimizer"] is None
    # one parameter a line, with its name, written as repr writes it
    first = m.parameters()[0]
    assert f'    "layers.0.neurons.0.w.0": {first.data!r},\n' in text
    assert text.endswith("}\n")


@pytest.mark.parametrize("other, words", [
    (lambda: model(sizes=(16, 1)), ["another architecture", "saved:", "here:"]),
    (lambda: model(sizes=(16, 16, 1), activation="tanh"), ["TanhNeuron"]),
    (lambda: (random.seed(0), MLP(3, [16, 16, 1]))[1], ["ReLUNeuron(3)"]),
    (lambda: Layer(2, 16), ["micrograd.nn.MLP", "micrograd.nn.Layer"]),
])
def test_load_refuses_another_architecture(tmp_path, other, words):
    save(model(), tmp_path / "m.json")
    target = other()
    before = param_bits(target)
    with pytest.raises(ValueError) as info:
        load(tmp_path / "m.json", target)
    for w in words:
        assert w in str(info.value)
    assert param_bits(target) == before


class Plain(Module):
    """A user module without a repr of its own: compared by parameter names."""

    def __init__(self, n):
        self.w = [Value(float(k)) for k in range(n)]

    def parameters(self):
        return self.w


def test_user_module_without_repr_is_compared_by_names(tmp_path):
    save(Plain(3), tmp_path / "p.json")
    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["module"]["summary"] is None
    assert doc["module"]["type"].endswith("test_serialize.Plain")
    loaded = load(tmp_path / "p.json", Plain(3))
    assert [p.data for p in loaded.parameters()] == [0.0, 1.0, 2.0]
    target = Plain(2)
    with pytest.raises(ValueError, match=r"does not fit this model.*unexpected 1: 'w.2'"):
        load(tmp_path / "p.json", target)
    assert [p.data for p in target.parameters()] == [0.0, 1.0]


def _write(path, doc):
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


@pytest.mark.parametrize("edit, words", [
    (lambda d: "{ not json", ["invalid JSON"]),
    (lambda d: json.dumps(d)[: len(json.dumps(d)) // 2], ["invalid JSON"]),   # truncated
    (lambda d: [], ["not a saved micrograd-c model"]),
    (lambda d: {**d, "format": "something else"}, ["not a saved micrograd-c model"]),
    (lambda d: {**d, "version": 2}, ["format version 2", "newer"]),
    (lambda d: {**d, "version": "1"}, ["bad format version"]),
    (lambda d: {**d, "module": None}, ["no module description"]),
    (lambda d: {**d, "parameters": [1.0, 2.0]}, ["'parameters'"]),
    (lambda d: {**d, "parameters": {**d["parameters"], "w.0": "x"}}, ["'w.0'", "str"]),
    (lambda d: {**d, "parameters": {"w.0": 1.0}}, ["missing 2"]),
])
def test_load_refuses_bad_files_and_changes_nothing(tmp_path, edit, words):
    n = Neuron(2)
    save(n, tmp_path / "good.json")
    doc = json.loads((tmp_path / "good.json").read_text())
    bad = _write(tmp_path / "bad.json", edit(doc))
    target = Neuron(2)
    before = param_bits(target)
    with pytest.raises(ValueError) as info:
        load(bad, target)
    assert str(bad) in str(info.value)
    for w in words:
        assert w in str(info.value)
    assert param_bits(target) == before


def test_bad_arguments(tmp_path):
    n = Neuron(2)
    with pytest.raises(TypeError, match="micrograd.nn.Module"):
        save([1.0], tmp_path / "x.json")
    with pytest.raises(TypeError, match="optimizer"):
        save(n, tmp_path / "x.json", optimizer=object())
    with pytest.raises(ValueError, match="not a parameter of the module"):
        save(n, tmp_path / "x.json", optimizer=SGD([Value(1.0)], lr=0.1))
    assert not (tmp_path / "x.json").exists()
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.json", n)
    with pytest.raises(FileNotFoundError):
        save(n, tmp_path / "no" / "such" / "dir.json")
    with pytest.raises(TypeError, match="micrograd.nn.Module"):
        load(tmp_path / "x.json", object())


# --- atomic writes ------------------------------------------------------------


def test_save_replaces_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "m.json"
    a, b = model(seed=1), model(seed=2)
    save(a, path)
    save(b, path)
    assert sorted(os.listdir(tmp_path)) == ["m.json"]
    loaded = load(path, model(seed=3))
    assert param_bits(loaded) == param_bits(b)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_file_mode_follows_the_umask_and_is_kept_on_replace(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "m.json"
    save(Neuron(1), path)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o600)
    save(Neuron(1), path)
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_failure_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    old = model(seed=1)
    save(old, path)
    original = path.read_bytes()

    real_fsync = os.fsync

    def disk_full(fd):          # the data is half written when the disk fills
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save(model(seed=2), path)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert path.read_bytes() == original
    assert sorted(os.listdir(tmp_path)) == ["m.json"]
    assert param_bits(load(path, model(seed=3))) == param_bits(old)


def test_crash_before_the_rename_keeps_the_old_file(tmp_path):
    # A process that dies (no cleanup at all) after writing the temporary
    # file but before renaming it: the model file is the old one, whole.
    path = tmp_path / "m.json"
    old = model(seed=1)
    save(old, path)
    original = path.read_bytes()
    child = textwrap.dedent(f"""
        import os, random
        from micrograd.nn import MLP
        from micrograd.serialize import save
        random.seed(2)
        m = MLP(2, [16, 16, 1])
        os.replace = lambda *a: os._exit(3)     # die right before the rename
        save(m, {str(path)!r})
    """)
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert path.read_bytes() == original
    leftovers = [f for f in os.listdir(tmp_path) if f != "m.json"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".m.json.")
    assert leftovers[0].endswith(".tmp")
    assert param_bits(load(path, model(seed=3))) == param_bits(old)


# --- optimizers: resuming is exact ---------------------------------------------------


def moons_step(m, X, y):
    inputs = [list(map(Value, row)) for row in X]
    scores = list(map(m, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    return sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in m.parameters())


def train(m, opt, X, y, steps):
    losses = []
    for _ in range(steps):
        loss = moons_step(m, X, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.data)
    return losses


@pytest.mark.parametrize("make_opt", [
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
    lambda ps: Adam(ps, lr=0.01, betas=(0.8, 0.99), weight_decay=1e-4),
], ids=["sgd-momentum", "adam"])
def test_resume_50_steps_equals_25_save_load_25(tmp_path, make_opt):
    X, y = make_moons(16, noise=0.1, seed=4)

    straight = model(sizes=(8, 1))
    opt = make_opt(straight.parameters())
    want = train(straight, opt, X, y, 50)

    first = model(sizes=(8, 1))
    opt1 = make_opt(first.parameters())
    got = train(first, opt1, X, y, 25)
    save(first, tmp_path / "ckpt.json", optimizer=opt1)
    del first, opt1

    resumed = model(seed=99, sizes=(8, 1))            # other weights, fresh state
    opt2 = make_opt(resumed.parameters())
    assert load(tmp_path / "ckpt.json", resumed, optimizer=opt2) is resumed
    got += train(resumed, opt2, X, y, 25)

    assert got == want
    assert param_bits(resumed) == param_bits(straight)
    assert opt2.state_dict() == opt.state_dict()


def test_optimizer_state_is_in_the_file(tmp_path):
    m = Neuron(2)
    opt = Adam(m.parameters(), lr=0.01)
    m([1.0, 2.0]).backward()
    opt.step()
    save(m, tmp_path / "m.json", optimizer=opt)
    saved = json.loads((tmp_path / "m.json").read_text())["optimizer"]
    assert saved["type"] == "Adam"
    assert saved["parameters"] == ["w.0", "w.1", "b"]
    assert saved["state"] == opt.state_dict() and saved["state"]["t"] == 1


def test_optimizer_mismatches_are_refused_and_change_nothing(tmp_path):
    random.seed(0)
    m = Neuron(3)
    sgd = SGD(m.parameters(), lr=0.1, momentum=0.9)
    m([1.0, 2.0, 3.0]).backward()
    sgd.step()
    save(m, tmp_path / "with.json", optimizer=sgd)
    save(m, tmp_path / "without.json")

    random.seed(1)
    target = Neuron(3)
    before = param_bits(target)

    cases = [
        ("without.json", SGD(target.parameters(), lr=0.5), "no optimizer state"),
        ("with.json", Adam(target.parameters()), "state of a SGD optimizer, not of a Adam"),
        ("with.json", SGD(target.parameters()[::-1], lr=0.5), "other parameters"),
        ("with.json", SGD(target.parameters()[:2], lr=0.5), "2 here"),
    ]
    for name, opt, words in cases:
        opt_before = opt.state_dict()
        with pytest.raises(ValueError, match=words):
            load(tmp_path / name, target, optimizer=opt)
        assert param_bits(target) == before
        assert opt.state_dict() == opt_before

    # A broken optimizer state in the file: the model is rolled back too.
    doc = json.loads((tmp_path / "with.json").read_text())
    doc["optimizer"]["state"]["buf"] = [0.0]
    _write(tmp_path / "broken.json", doc)
    opt = SGD(target.parameters(), lr=0.5)
    with pytest.raises(ValueError, match="cannot load the optimizer state"):
        load(tmp_path / "broken.json", target, optimizer=opt)
    assert param_bits(target) == before
    assert opt.lr == 0.5

    # Loading the model alone from a file with optimizer state is fine.
    load(tmp_path / "with.json", target)
    assert param_bits(target) == param_bits(m)
