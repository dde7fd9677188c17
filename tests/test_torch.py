"""micrograd.torch: micrograd models as float64 PyTorch modules and back.

The oracle is the micrograd model itself: the PyTorch module must give its
outputs (to 1e-12), its gradients, and, after training in PyTorch and
copying back, the micrograd model must give the PyTorch module's outputs.
"""

import random
import struct
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from hypothesis import given, settings, strategies as st  # noqa: E402

from micrograd.engine import Value  # noqa: E402
from micrograd.gpt import GPT, GPTConfig  # noqa: E402
from micrograd.nn import MLP, Layer, Module, Neuron  # noqa: E402
from micrograd.torch import TorchGPT, TorchMLP, from_torch, to_torch  # noqa: E402

TOL = 1e-12
ACTS = ["relu", "tanh", "sigmoid", "linear"]


def outputs(out):
    """A micrograd model's output (a Value or a list of them) as floats."""
    return [out.data] if isinstance(out, Value) else [v.data for v in out]


def bits(x):
    return struct.pack("<d", x)


def mlp(seed, nin, nouts, activation):
    random.seed(seed)
    return MLP(nin, nouts, activation=activation)


# ---- MLP ------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ACTS)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1),
       sizes=st.lists(st.integers(2, 6), min_size=0, max_size=2),
       nout=st.integers(1, 3), nin=st.integers(1, 4), data=st.data())
def test_mlp_outputs_match(activation, seed, sizes, nout, nin, data):
    model = mlp(seed, nin, sizes + [nout], activation)
    net = to_torch(model)
    assert isinstance(net, TorchMLP) and isinstance(net, torch.nn.Module)
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert sum(p.numel() for p in net.parameters()) == len(model.parameters())
    xs = data.draw(st.lists(st.lists(st.floats(-3, 3), min_size=nin, max_size=nin),
                            min_size=1, max_size=4))
    batch = net(torch.tensor(xs, dtype=torch.float64))
    assert batch.shape == (len(xs), nout)
    for row, got in zip(xs, batch.tolist()):
        want = outputs(model(row))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert abs(g - w) <= TOL * max(1.0, abs(w)), (g, w)
        single = net(torch.tensor(row, dtype=torch.float64)).tolist()
        assert single == pytest.approx(got, abs=1e-15)


@pytest.mark.parametrize("activation", ACTS)
def test_mlp_gradients_match(activation):
    model = mlp(3, 3, [5, 4, 2], activation)
    net = to_torch(model)
    x = [0.3, -1.2, 2.0]
    out = model(x)
    (out[0] * 2.0 + out[1] * -0.5).backward()
    y = net(torch.tensor(x, dtype=torch.float64))
    (y[0] * 2.0 + y[1] * -0.5).backward()
    torch_grads = [g for layer in net.layers
                   for w, b in [(layer.weight.grad.tolist(), layer.bias.grad.tolist())]
                   for row, bj in zip(w, b) for g in row + [bj]]
    assert len(torch_grads) == len(model.parameters())
    for p, g in zip(model.parameters(), torch_grads):
        assert abs(p.grad - g) <= TOL, (p.grad, g)


def test_layout_of_the_weights():
    model = mlp(0, 2, [3, 1], "tanh")
    net = to_torch(model)
    assert net.activations == ["tanh", "linear"]
    first = model.layers[0]
    assert net.layers[0].weight.tolist() == [[w.data for w in n.w] for n in first.neurons]
    assert net.layers[0].bias.tolist() == [n.b.data for n in first.neurons]
    assert "activations=['tanh', 'linear']" in repr(net)


@pytest.mark.parametrize("make", [
    lambda: (random.seed(1), Layer(3, 4, activation="sigmoid"))[1],
    lambda: (random.seed(2), Layer(3, 1, nonlin=False))[1],
    lambda: (random.seed(3), Neuron(4, activation="tanh"))[1],
    lambda: (random.seed(4), Neuron(2))[1],
], ids=["sigmoid layer", "one linear neuron", "tanh neuron", "relu neuron"])
def test_layers_and_neurons(make):
    m = make()
    net = to_torch(m)
    x = [0.7, -0.4, 1.5, 0.1][:len(_first_w(m))]
    got = net(torch.tensor(x, dtype=torch.float64)).tolist()
    want = outputs(m(x))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert abs(g - w) <= TOL


def _first_w(m):
    return m.w if isinstance(m, Neuron) else m.neurons[0].w


def test_the_copy_is_a_copy():
    model = mlp(5, 2, [3, 1], "relu")
    net = to_torch(model)
    before = net.layers[0].weight.tolist()
    model.parameters()[0].data += 1.0
    assert net.layers[0].weight.tolist() == before


# ---- round trip --------------------------------------------------------------------

@pytest.mark.parametrize("activation", ACTS)
def test_train_in_torch_then_copy_back(activation):
    model = mlp(11, 2, [8, 8, 1], activation)
    net = to_torch(model)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    X = torch.tensor([[0.1, 0.9], [-1.0, 0.3], [0.5, -0.5], [2.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([[1.0], [-1.0], [0.5], [0.0]], dtype=torch.float64)
    for _ in range(5):
        opt.zero_grad()
        loss = ((net(X) - y) ** 2).mean()
        loss.backward()
        opt.step()
    old = [p.data for p in model.parameters()]
    assert from_torch(net, model) is model
    new = [p.data for p in model.parameters()]
    assert new != old
    flat = [x for layer in net.layers
            for w, b in [(layer.weight.tolist(), layer.bias.tolist())]
            for row, bj in zip(w, b) for x in row + [bj]]
    assert [bits(x) for x in new] == [bits(x) for x in flat]      # copied exactly
    with torch.no_grad():
        want = net(X).tolist()
    for row, w in zip(X.tolist(), want):
        assert abs(model(row).data - w[0]) <= TOL
    # and from a state_dict as well, into another model of the same shape
    other = mlp(12, 2, [8, 8, 1], activation)
    from_torch(net.state_dict(), other)
    assert [bits(p.data) for p in other.parameters()] == [bits(x) for x in new]


def test_from_a_float32_module():
    model = mlp(0, 2, [4, 1], "tanh")
    net = to_torch(model).float()
    from_torch(net, model)
    want = [float(x) for layer in net.layers for w, b in [(layer.weight, layer.bias)]
            for row, bj in zip(w.tolist(), b.tolist()) for x in row + [bj]]
    assert [p.data for p in model.parameters()] == want
    assert all(type(p.data) is float for p in model.parameters())


def test_from_torch_refuses_and_changes_nothing():
    model = mlp(0, 2, [4, 1], "relu")
    before = [bits(p.data) for p in model.parameters()]
    good = to_torch(model).state_dict()
    cases = [
        (to_torch(mlp(0, 2, [5, 1], "relu")), ValueError, r"'layers.0.weight' has shape \(5, 2\)"),
        (to_torch(mlp(0, 2, [4, 4, 1], "relu")), ValueError, r"unexpected \['layers.2.weight'"),
        ({k: v for k, v in good.items() if k != "layers.1.bias"}, ValueError,
         r"missing \['layers.1.bias'\]"),
        ({**good, "layers.1.bias": torch.zeros(1, dtype=torch.int64)}, TypeError,
         "not floating point"),
        ({**good, "layers.1.bias": [0.0]}, TypeError, "must be a tensor"),
        ([1.0, 2.0], TypeError, "torch.nn.Module or its state_dict"),
    ]
    for source, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            from_torch(source, model)
        assert [bits(p.data) for p in model.parameters()] == before


class Custom(Module):
    def __init__(self):
        self.w = [Value(1.0)]

    def parameters(self):
        return self.w


class OwnCall(MLP):
    def __call__(self, x):
        return super().__call__(x) * 2


class OwnNeuron(Neuron):
    def _activate(self, act):
        return act * 3


def test_what_cannot_be_mirrored():
    with pytest.raises(TypeError, match="supports micrograd.nn.MLP, Layer and Neuron"):
        to_torch(Custom())
    with pytest.raises(TypeError, match="supports"):
        to_torch([1.0])
    with pytest.raises(TypeError, match="'OwnCall': its __call__ is its own"):
        to_torch(OwnCall(2, [3, 1]))
    layer = Layer(2, 2)
    layer.neurons[1] = OwnNeuron(2)
    with pytest.raises(TypeError, match="'OwnNeuron'"):
        to_torch(layer)
    mixed = MLP(2, [3, 1])
    mixed.layers[0].neurons[1] = Neuron(2, activation="tanh")
    with pytest.raises(ValueError, match=r"layer 0 mixes activations \(relu, tanh\)"):
        to_torch(mixed)
    with pytest.raises(TypeError, match="supports"):
        from_torch(to_torch(MLP(1, [1])).state_dict(), Custom())


def test_per_op_neurons_are_mirrored():
    from micrograd.demo import per_op
    model = per_op(mlp(1, 2, [4, 1], "relu"))
    net = to_torch(model)
    got = net(torch.tensor([0.2, -0.3], dtype=torch.float64)).item()
    assert abs(got - model([0.2, -0.3]).data) <= TOL


# ---- GPT --------------------------------------------------------------------------

def gpt(vocab=7, n_embd=8, block_size=6, n_head=2, seed=3, Value=Value):
    return GPT(Value, GPTConfig(vocab, n_embd=n_embd, block_size=block_size, n_head=n_head,
                                seed=seed))


@pytest.mark.parametrize("n_head", [1, 2, 4])
def test_gpt_logits_match_position_by_position(n_head):
    model = gpt(n_head=n_head, seed=n_head)
    net = to_torch(model)
    assert isinstance(net, TorchGPT)
    assert sum(p.numel() for p in net.parameters()) == len(model.parameters())
    rng = random.Random(n_head)
    for length in (1, 3, 6):
        tokens = [rng.randrange(7) for _ in range(length)]
        logits = net(torch.tensor(tokens, dtype=torch.long))
        assert logits.shape == (length, 7) and logits.dtype == torch.float64
        keys, values = [], []
        for pos, tok in enumerate(tokens):
            want = [v.data for v in model.forward(tok, pos, keys, values)]
            got = logits[pos].tolist()
            for g, w in zip(got, want):
                assert abs(g - w) <= TOL, (length, pos, g, w)


def test_gpt_loss_and_gradients_match():
    model = gpt(seed=9)
    net = to_torch(model)
    tokens = [6, 1, 4, 4, 0, 2, 5, 6]                   # longer than block_size: cut as GPT.loss
    loss = model.loss(tokens)
    loss.backward()
    tloss = net.loss(torch.tensor(tokens))
    tloss.backward()
    assert abs(loss.data - tloss.item()) <= TOL
    grads = [g for name in TorchGPT.MATRICES
             for row in getattr(net, name).grad.tolist() for g in row]
    assert len(grads) == len(model.parameters())
    for p, g in zip(model.parameters(), grads):
        assert abs(p.grad - g) <= 1e-11, (p.grad, g)


def test_gpt_train_in_torch_then_copy_back():
    model = gpt(seed=5)
    net = to_torch(model)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    docs = [[6, 0, 1, 2, 6], [6, 3, 3, 6], [6, 5, 4, 1, 0, 6]]
    for step in range(6):
        opt.zero_grad()
        net.loss(torch.tensor(docs[step % 3])).backward()
        opt.step()
    from_torch(net, model)
    for name in TorchGPT.MATRICES:
        assert [[p.data for p in row] for row in getattr(model, name)] \
            == getattr(net, name).tolist()
    with torch.no_grad():
        for doc in docs:
            assert abs(model.loss(doc).data - net.loss(torch.tensor(doc)).item()) <= TOL
            logits = net(torch.tensor(doc[:6]))
            keys, values = [], []
            for pos, tok in enumerate(doc[:6]):
                want = [v.data for v in model.forward(tok, pos, keys, values)]
                assert max(abs(g - w) for g, w in zip(logits[pos].tolist(), want)) <= TOL


def test_gpt_on_the_pure_engine():
    from micrograd.pure import Value as PureValue
    model = gpt(seed=2, Value=PureValue)
    net = to_torch(model)
    keys, values = [], []
    want = [v.data for v in model.forward(3, 0, keys, values)]
    got = net(torch.tensor([3]))[0].tolist()
    assert max(abs(g - w) for g, w in zip(got, want)) <= TOL


def test_gpt_bad_tokens():
    net = to_torch(gpt())
    with pytest.raises(TypeError, match="integer token ids"):
        net(torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="1-D"):
        net(torch.tensor([[1, 2]]))
    with pytest.raises(ValueError, match="7 tokens: forward takes 1 to block_size=6"):
        net(torch.tensor([1] * 7))
    with pytest.raises(ValueError, match="0 tokens"):
        net(torch.tensor([], dtype=torch.long))
    with pytest.raises(IndexError, match=r"range\(vocab_size=7\)"):
        net(torch.tensor([1, 7]))
    with pytest.raises(ValueError, match="at least 2 tokens"):
        net.loss([1])
    assert net([1, 2]).shape == (2, 7)                 # a list of ids works too


def test_gpt_shape_mismatch_is_refused():
    model = gpt()
    before = [bits(p.data) for p in model.parameters()]
    with pytest.raises(ValueError, match=r"'wte' has shape \(9, 8\)"):
        from_torch(to_torch(gpt(vocab=9)), model)
    assert [bits(p.data) for p in model.parameters()] == before


# ---- torch stays optional ------------------------------------------------------------

def test_import_micrograd_does_not_import_torch():
    code = ("import sys\n"
            "import micrograd, micrograd.nn, micrograd.gpt, micrograd.optim, micrograd.demo\n"
            "import micrograd.viz, micrograd.serialize, micrograd.cli, micrograd.capture\n"
            "print('torch' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_without_torch_a_clear_import_error():
    code = ("import sys\n"
            "sys.modules['torch'] = None\n"
            "try:\n"
            "    import micrograd.torch\n"
            "except ImportError as exc:\n"
            "    print(exc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ("micrograd.torch needs PyTorch, an optional dependency "
                                   "of micrograd-c: pip install torch")
