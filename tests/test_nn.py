"""``micrograd.nn`` on the compiled engine: the original's models, reprs and weights."""

import math
import random

import pytest

import micrograd.nn as ours
from micrograd.engine import Value
from micrograd.nn import MLP, Layer, Module, Neuron


def test_reprs_equal_the_original(original):
    for build in (lambda nn: nn.MLP(2, [16, 16, 1]), lambda nn: nn.MLP(3, [4, 2]),
                  lambda nn: nn.Layer(3, 2), lambda nn: nn.Layer(2, 1, nonlin=False),
                  lambda nn: nn.Neuron(5), lambda nn: nn.Neuron(1, nonlin=False)):
        assert repr(build(ours)) == repr(build(original.nn))


def test_repr_literal():
    assert repr(MLP(2, [2, 1])) == "MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2)], Layer of [LinearNeuron(2)]]"


def test_parameter_counts():
    assert len(MLP(2, [16, 16, 1]).parameters()) == (2 + 1) * 16 + (16 + 1) * 16 + (16 + 1) * 1 == 337
    assert len(Layer(3, 4).parameters()) == 16
    assert len(Neuron(7).parameters()) == 8
    assert Module().parameters() == []
    assert all(isinstance(p, Value) for p in MLP(2, [3, 1]).parameters())


@pytest.mark.parametrize("seed", [0, 1337])
def test_same_weights_as_the_original(original, seed):
    random.seed(seed)
    theirs = original.nn.MLP(2, [16, 16, 1])
    random.seed(seed)
    model = MLP(2, [16, 16, 1])
    after_ours = random.random()
    assert [p.data for p in model.parameters()] == [float(p.data) for p in theirs.parameters()]
    # ... and the same number of draws: the generator ends in the same state.
    random.seed(seed)
    original.nn.MLP(2, [16, 16, 1])
    assert random.random() == after_ours


def test_weights_are_uniform_draws_and_bias_zero():
    random.seed(42)
    n = Neuron(3)
    random.seed(42)
    assert [w.data for w in n.w] == [random.uniform(-1, 1) for _ in range(3)]
    assert n.b.data == 0 and type(n.b.data) is int        # Value(0), as the original


def test_forward_equals_the_original(original):
    random.seed(7)
    theirs = original.nn.MLP(3, [4, 4, 1])
    random.seed(7)
    model = MLP(3, [4, 4, 1])
    for x in ([0.5, -1.25, 2.0], [0.0, 0.0, 0.0], [-3.0, 1.0, 0.1]):
        assert model(x).data == float(theirs(x).data)
        # inputs may also be Values
        assert model([Value(v) for v in x]).data == float(theirs(x).data)


def test_neuron_computes_bias_plus_products_in_order():
    random.seed(3)
    n = Neuron(3, nonlin=False)
    x = [0.3, -1.7, 2.2]
    w = [p.data for p in n.w]
    expected = ((0.0 + w[0] * x[0]) + w[1] * x[1]) + w[2] * x[2]
    assert n(x).data == expected


@pytest.mark.parametrize("activation, f", [
    ("relu", lambda s: 0.0 if s < 0 else s),
    ("tanh", math.tanh),
    ("sigmoid", lambda s: 1.0 / (1.0 + math.exp(-s)) if s >= 0 else math.exp(s) / (1.0 + math.exp(s))),
    ("linear", lambda s: s),
])
def test_activation_option(activation, f):
    random.seed(5)
    n = Neuron(2, activation=activation)
    x = [0.8, -0.6]
    s = (0.0 + n.w[0].data * x[0]) + n.w[1].data * x[1]
    assert n(x).data == f(s)
    # nonlin=False wins over the activation
    random.seed(5)
    assert Neuron(2, nonlin=False, activation=activation)(x).data == s


def test_mlp_activation_applies_to_hidden_layers_only():
    random.seed(11)
    model = MLP(2, [3, 1], activation="tanh")
    hidden, last = model.layers
    assert all(n.nonlin and n.activation == "tanh" for n in hidden.neurons)
    assert not last.neurons[0].nonlin
    x = [0.4, -0.9]
    h = [math.tanh((0.0 + n.w[0].data * x[0]) + n.w[1].data * x[1]) for n in hidden.neurons]
    out_n = last.neurons[0]
    expected = ((0.0 + out_n.w[0].data * h[0]) + out_n.w[1].data * h[1]) + out_n.w[2].data * h[2]
    assert model(x).data == expected


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError):
        Neuron(2, activation="softplus")


@pytest.mark.parametrize("make, x", [
    (lambda nn: nn.Neuron(3), [1.0, 2.0]),
    (lambda nn: nn.Layer(3, 2), [1.0, 2.0, 3.0, 4.0]),
    (lambda nn: nn.MLP(2, [4, 1]), [1.0]),
    (lambda nn: nn.MLP(2, [4, 1]), []),
    (lambda nn: nn.MLP(2, [4, 1]), [0.5, -1.0, 3.0]),
])
def test_input_size_mismatch_is_zip_as_in_the_original(original, make, x):
    # micrograd's neurons zip weights with inputs: the longer one is cut
    import micrograd.nn as ours
    random.seed(11)
    theirs = make(original.nn)
    random.seed(11)
    mine = make(ours)
    a, b = mine(x), theirs(x)
    a, b = (a if isinstance(a, list) else [a]), (b if isinstance(b, list) else [b])
    assert [v.data for v in a] == [v.data for v in b]


def test_layer_returns_a_single_value_for_one_neuron():
    out = Layer(2, 1)([1.0, 2.0])
    assert isinstance(out, Value)
    outs = Layer(2, 3)([1.0, 2.0])
    assert isinstance(outs, list) and len(outs) == 3


def test_zero_grad():
    random.seed(0)
    model = MLP(2, [3, 1])
    model([1.0, -2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 and type(p.grad) is int for p in model.parameters())


def test_gradients_match_a_hand_computation():
    random.seed(2)
    n = Neuron(2, activation="tanh")
    x = [0.5, -1.5]
    out = n(x)
    out.backward()
    t = out.data
    assert n.w[0].grad == (1.0 - t * t) * x[0]
    assert n.w[1].grad == (1.0 - t * t) * x[1]
    assert n.b.grad == 1.0 - t * t


# --- named_parameters -------------------------------------------------------------------


def test_named_parameters_of_an_mlp_are_its_attribute_paths():
    from micrograd.nn import MLP

    model = MLP(3, [4, 2])
    named = list(model.named_parameters())
    want = [f"layers.{i}.neurons.{j}.{'w.' + str(k) if k < nin else 'b'}"
            for i, (nin, nout) in enumerate([(3, 4), (4, 2)])
            for j in range(nout) for k in range(nin + 1)]
    assert [name for name, _ in named] == want
    assert all(a is b for (_, a), b in zip(named, model.parameters()))
    assert list(model.state_dict()) == want
    assert [n for n, _ in MLP(3, [4, 2]).named_parameters()] == want   # stable


def test_named_parameters_walk_dicts_tuples_and_shared_values():
    from micrograd.engine import Value
    from micrograd.nn import Module, Neuron

    class Net(Module):
        def __init__(self):
            self.head = Neuron(1)
            self.extra = {"scale": Value(2.0), 3: Value(9.0)}
            self.pair = (Value(0.5), self.head.b)           # shares the head's bias
            self.hidden = Value(7.0)                        # not listed by parameters()
            self.loose = Value(1.5)

        def parameters(self):
            return (self.head.parameters() + [self.extra["scale"], self.extra[3]]
                    + list(self.pair) + [Value(4.0)])

    net = Net()
    named = list(net.named_parameters())
    assert [n for n, _ in named] == ["head.w.0", "head.b", "extra.scale", "parameters.3",
                                     "pair.0", "parameters.6"]
    assert [p for _, p in named][:5] == net.parameters()[:3] + [net.extra[3], net.pair[0]]
    assert len({n for n, _ in named}) == len(named)
