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


# --- file objects -------------------------------------------------------------------

def _bytes_io(tmp_path):
    import io
    return io.BytesIO(), lambda f: io.BytesIO(f.getvalue())


def _string_io(tmp_path):
    import io
    return io.StringIO(), lambda f: io.StringIO(f.getvalue())


def _open(mode, **kwargs):
    def make(tmp_path):
        path = tmp_path / "f.json"
        def reopen(f):
            f.close()
            return open(path, "rb")
        return open(path, mode, **kwargs), reopen
    return make


class StrWriter:
    """A duck-typed text sink: a write() that takes only str, no io base class."""

    closed = False

    def __init__(self):
        self.parts = []

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str")
        self.parts.append(s)

    def reader(self):
        import io
        return io.StringIO("".join(self.parts))


FILE_OBJECTS = {
    "BytesIO": _bytes_io,
    "StringIO": _string_io,
    "binary file": _open("wb"),
    "text file": _open("w", encoding="utf-8"),
    "unbuffered file": _open("wb", buffering=0),
    "duck-typed writer": lambda tmp_path: (StrWriter(), StrWriter.reader),
}


@pytest.mark.parametrize("kind", FILE_OBJECTS)
def test_file_objects_round_trip_with_the_same_text_as_a_path(tmp_path, kind):
    m = model(sizes=(4, 1))
    for p, x in zip(m.parameters(), AWKWARD):
        p.data = x
    opt = Adam(m.parameters(), lr=0.01)
    m([1.0, 2.0]).backward()
    opt.step()
    meta = {"step": 7, "note": "\u00fcn\u00efcode \u2713", "lrs": (0.1, 0.05)}
    save(m, tmp_path / "ref.json", optimizer=opt, metadata=meta)

    f, reopen = FILE_OBJECTS[kind](tmp_path)
    assert save(m, f, optimizer=opt, metadata=meta) is None
    assert not f.closed                          # the caller's file stays open
    with reopen(f) as reader:
        text = reader.read()
        reader.seek(0)
        target = model(seed=3, sizes=(4, 1))
        opt2 = Adam(target.parameters(), lr=0.5)
        got, got_meta = load(target, reader, optimizer=opt2, return_metadata=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    assert text == (tmp_path / "ref.json").read_bytes()
    assert got is target
    assert param_bits(target) == param_bits(m)
    assert opt2.state_dict() == opt.state_dict()
    assert got_meta == {"step": 7, "note": "\u00fcn\u00efcode \u2713", "lrs": [0.1, 0.05]}


def test_load_reads_a_file_object_from_its_position():
    import io
    m = model(sizes=(2, 1))
    buf = io.BytesIO()
    buf.write(b"header bytes the caller wrote first\n")
    start = buf.tell()
    save(m, buf)
    buf.seek(start)
    assert param_bits(load(model(seed=4, sizes=(2, 1)), buf)) == param_bits(m)
    assert buf.read() == b""                    # read to the end


def test_bad_file_objects_and_their_errors(tmp_path):
    import io
    n = Neuron(2)
    with pytest.raises(TypeError, match=r"path \(str or os.PathLike\) or a file object "
                                        r"with write\(\), not 'int'"):
        save(n, 3)
    with pytest.raises(TypeError, match=r"with read\(\), not 'list'"):
        load(n, [])
    with pytest.raises(ValueError, match=r"^<BytesIO>: not a saved micrograd-c model"):
        load(n, io.BytesIO(b"{ not json"))
    with pytest.raises(ValueError, match=r"<StringIO>: not a saved"):
        load(n, io.StringIO(""))

    class Weird:
        def read(self):
            return 42
    with pytest.raises(TypeError, match="read\\(\\) returned 'int'"):
        load(n, Weird())
    with open(tmp_path / "r.json", "w") as f:       # a file object names its path
        f.write("[]")
    with open(tmp_path / "r.json", "rb") as f, pytest.raises(ValueError) as info:
        load(n, f)
    assert str(info.value).startswith(str(tmp_path / "r.json"))
    with open(tmp_path / "r.json", "rb") as f, pytest.raises(OSError):
        save(n, f)                                  # open for reading only
    assert (tmp_path / "r.json").read_text() == "[]"


# --- argument order ----------------------------------------------------------------

def test_load_takes_the_module_first_or_second(tmp_path):
    m = model(sizes=(3, 1))
    save(m, tmp_path / "m.json")
    a, b = model(seed=5, sizes=(3, 1)), model(seed=6, sizes=(3, 1))
    assert load(a, tmp_path / "m.json") is a
    assert load(tmp_path / "m.json", b) is b
    assert param_bits(a) == param_bits(b) == param_bits(m)
    opt = SGD(a.parameters(), lr=0.1)
    save(a, tmp_path / "o.json", optimizer=opt, metadata={"k": 1})
    assert load(tmp_path / "o.json", b, SGD(b.parameters(), lr=1.0),
                return_metadata=True) == (b, {"k": 1})


def test_ambiguous_or_reversed_arguments_are_refused(tmp_path):
    m, other = model(sizes=(3, 1)), model(seed=2, sizes=(3, 1))
    before = param_bits(other)
    with pytest.raises(TypeError, match="both arguments are Modules"):
        load(m, other)
    with pytest.raises(TypeError, match=r"needs a micrograd.nn.Module, got 'str' and 'str'"):
        load("a.json", "b.json")
    with pytest.raises(TypeError, match="the module comes first"):
        save(tmp_path / "m.json", m)
    assert not (tmp_path / "m.json").exists()
    assert param_bits(other) == before


# --- metadata --------------------------------------------------------------------

def test_metadata_defaults_and_return_shape(tmp_path):
    m = model(sizes=(2, 1))
    save(m, tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text())["metadata"] == {}
    assert load(m, tmp_path / "m.json") is m
    assert load(m, tmp_path / "m.json", return_metadata=True) == (m, {})
    # A file from before metadata existed: no key at all.
    doc = json.loads((tmp_path / "m.json").read_text())
    del doc["metadata"]
    _write(tmp_path / "old.json", doc)
    assert load(m, tmp_path / "old.json", return_metadata=True) == (m, {})
    doc["metadata"] = [1, 2]
    _write(tmp_path / "bad.json", doc)
    with pytest.raises(ValueError, match=r"'metadata' must be an object, not list"):
        load(m, tmp_path / "bad.json")


def _json_data():
    from hypothesis import strategies as st
    scalars = (st.none() | st.booleans() | st.integers()
               | st.floats(allow_nan=False) | st.text())
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20)


def _as_loaded(x):
    """What JSON gives back: tuples as lists."""
    if isinstance(x, dict):
        return {k: _as_loaded(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_as_loaded(v) for v in x]
    return x


def _same(a, b):
    """Equal, with floats compared bit for bit (-0.0 is not 0.0) and types kept."""
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return type(b) is list and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float):
        return type(b) is float and bits(a) == bits(b)
    return type(a) is type(b) and a == b


def test_metadata_round_trips_any_json_data():
    import io
    from hypothesis import given, strategies as st

    n = Neuron(1)

    @given(st.dictionaries(st.text(max_size=8), _json_data(), max_size=5))
    def check(meta):
        buf = io.BytesIO()
        save(n, buf, metadata=meta)
        buf.seek(0)
        _, got = load(n, buf, return_metadata=True)
        assert _same(_as_loaded(meta), got)

    check()


def test_non_finite_metadata_floats_survive(tmp_path):
    meta = {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "negzero": -0.0}
    save(Neuron(1), tmp_path / "m.json", metadata=meta)
    _, got = load(Neuron(1), tmp_path / "m.json", return_metadata=True)
    assert math.isnan(got["nan"]) and got["inf"] == math.inf and got["ninf"] == -math.inf
    assert bits(got["negzero"]) == bits(-0.0)


class Color:
    pass


def _cycle():
    a = []
    a.append(a)
    return {"a": a}


def _deep(depth):
    x = 0
    for _ in range(depth):
        x = [x]
    return {"x": x}


@pytest.mark.parametrize("meta, exc, words", [
    ([("step", 1)], TypeError, ["metadata must be a dict", "'list'"]),
    ("step=1", TypeError, ["'str'"]),
    ({1: "a"}, TypeError, ["metadata: metadata keys must be str, not 'int' (1)"]),
    ({"a": {"b": {2: 0}}}, TypeError, ["metadata['a']['b']", "not 'int'"]),
    ({"s": {1, 2}}, TypeError, ["metadata['s']: 'set' is not JSON data"]),
    ({"b": b"raw"}, TypeError, ["metadata['b']: 'bytes'"]),
    ({"v": [1, Value(2.0)]}, TypeError, ["metadata['v'][1]: 'Value'"]),
    ({"o": Color()}, TypeError, ["'Color'"]),
    ({"c": 1 + 2j}, TypeError, ["'complex'"]),
    (_cycle(), ValueError, ["refers to itself"]),
    (_deep(200), ValueError, ["MAX_METADATA_DEPTH=100"]),
], ids=["list", "str", "int key", "nested int key", "set", "bytes", "Value", "object",
        "complex", "cycle", "too deep"])
def test_bad_metadata_is_refused_before_anything_is_written(tmp_path, meta, exc, words):
    import io
    n = Neuron(2)
    path = tmp_path / "m.json"
    with pytest.raises(exc) as info:
        save(n, path, metadata=meta)
    for w in words:
        assert w in str(info.value)
    assert not path.exists() and os.listdir(tmp_path) == []
    save(n, path)
    old = path.read_bytes()
    with pytest.raises(exc):
        save(n, path, metadata=meta)
    assert path.read_bytes() == old
    buf = io.BytesIO()
    with pytest.raises(exc):
        save(n, buf, metadata=meta)
    assert buf.getvalue() == b""


def test_metadata_accepts_number_and_mapping_subclasses():
    import enum
    import io
    from collections import OrderedDict
    np = pytest.importorskip("numpy")

    class Level(enum.IntEnum):
        HIGH = 3

    buf = io.BytesIO()
    save(Neuron(1), buf, metadata={"level": Level.HIGH, "x": np.float64(0.5),
                                   "od": OrderedDict(b=1, a=2)})
    buf.seek(0)
    _, got = load(Neuron(1), buf, return_metadata=True)
    assert got == {"level": 3, "x": 0.5, "od": {"b": 1, "a": 2}}
    assert type(got["level"]) is int and list(got["od"]) == ["b", "a"]
    with pytest.raises(TypeError, match="'int64'"):
        save(Neuron(1), io.BytesIO(), metadata={"n": np.int64(3)})


# --- resuming a run with its schedule and its random state -----------------------

def _shuffled_run(m, opt, X, y, start, stop, total):
    """SGD on shuffled mini-batches with a decaying learning rate: both the
    step count and the random generator's state decide the next step."""
    losses = []
    for k in range(start, stop):
        batch = random.sample(range(len(X)), 8)
        opt.lr = 0.5 * (1.0 - 0.9 * k / total)
        loss = moons_step(m, [X[i] for i in batch], [y[i] for i in batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.data)
    return losses


@pytest.mark.parametrize("where", ["path", "BytesIO"])
def test_resume_with_metadata_is_bit_exact(tmp_path, where):
    import io
    X, y = make_moons(32, noise=0.1, seed=7)
    total, cut = 30, 13

    straight = model(sizes=(8, 1))
    opt = SGD(straight.parameters(), lr=0.5, momentum=0.9)
    random.seed(123)
    want = _shuffled_run(straight, opt, X, y, 0, total, total)

    first = model(sizes=(8, 1))
    opt1 = SGD(first.parameters(), lr=0.5, momentum=0.9)
    random.seed(123)
    got = _shuffled_run(first, opt1, X, y, 0, cut, total)
    target = tmp_path / "ckpt.json" if where == "path" else io.BytesIO()
    save(first, target, optimizer=opt1,
         metadata={"step": cut, "total": total, "rng": random.getstate()})
    del first, opt1
    random.seed(999)                               # the process moves on

    resumed = model(seed=42, sizes=(8, 1))
    opt2 = SGD(resumed.parameters(), lr=0.01)
    if where == "BytesIO":
        target.seek(0)
    _, meta = load(resumed, target, optimizer=opt2, return_metadata=True)
    version, state, gauss = meta["rng"]
    random.setstate((version, tuple(state), gauss))
    got += _shuffled_run(resumed, opt2, X, y, meta["step"], meta["total"], meta["total"])

    assert [bits(x) for x in got] == [bits(x) for x in want]
    assert param_bits(resumed) == param_bits(straight)
    assert opt2.state_dict() == opt.state_dict()
