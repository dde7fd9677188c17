"""A bridge to PyTorch: a micrograd model as a ``torch.nn.Module``, and back.

``to_torch(module)`` builds a float64 ``torch.nn.Module`` that computes what
``module`` computes, with a copy of its weights; ``from_torch(source,
module)`` copies weights (trained in PyTorch, say) back into the micrograd
model. Supported: ``micrograd.nn.MLP``, ``Layer`` and ``Neuron`` with any of
their activations ('relu', 'tanh', 'sigmoid', 'linear'), and
``micrograd.gpt.GPT``.

>>> import random, torch
>>> from micrograd.nn import MLP
>>> from micrograd.torch import to_torch, from_torch
>>> random.seed(0)
>>> model = MLP(2, [8, 1], activation="tanh")
>>> net = to_torch(model)                     # a TorchMLP: Linear layers, float64
>>> out = net(torch.tensor([0.5, -1.0], dtype=torch.float64))
>>> abs(out.item() - model([0.5, -1.0]).data) < 1e-12
True
>>> with torch.no_grad():
...     net.layers[1].bias += 1.0            # train in PyTorch...
>>> from_torch(net, model) is model           # ...and copy the weights back
True

PyTorch is an optional dependency: importing this module without it raises
an ImportError that says how to install it. ``import micrograd`` never
imports it.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, Union, overload

try:
    import torch
    from torch import nn
except ImportError as _missing:     # pragma: no cover - exercised with torch hidden
    raise ImportError("micrograd.torch needs PyTorch, an optional dependency of "
                      "micrograd-c: pip install torch") from _missing

from micrograd.gpt import GPT
from micrograd.nn import MLP, Layer, Neuron

if TYPE_CHECKING:
    from micrograd.gpt import GPTConfig
    from micrograd.nn import Module

_M = TypeVar("_M", bound="Module | GPT[Any]")
_Shape = tuple[int, ...]
_Rows = Union[Sequence[Sequence[Any]], Sequence[Any]]   # rows of Values, or one row

__all__ = ["to_torch", "from_torch", "TorchMLP", "TorchGPT"]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")


# ---- the PyTorch modules ----------------------------------------------------------

class TorchMLP(nn.Module):
    """``micrograd.nn.MLP`` in PyTorch: ``nn.Linear`` layers (float64), each
    followed by its activation.

    sizes: ``[nin, h1, ..., nout]``; activations: one name per layer
    ('relu', 'tanh', 'sigmoid' or 'linear'). ``forward(x)`` takes a tensor
    of shape ``(..., nin)`` and returns ``(..., nout)`` (one output keeps
    its last dimension of size 1, where micrograd returns a single Value).
    Layer ``k``'s ``weight[j, i]`` is neuron ``j``'s ``w[i]``, its
    ``bias[j]`` that neuron's ``b``.
    """

    def __init__(self, sizes: Iterable[int], activations: Iterable[str]) -> None:
        super().__init__()
        sizes = [int(n) for n in sizes]
        activations = list(activations)
        if len(sizes) < 2 or len(activations) != len(sizes) - 1:
            raise ValueError(f"need sizes [nin, ..., nout] and one activation per layer, "
                             f"got {len(sizes)} sizes and {len(activations)} activations")
        for act in activations:
            if act not in ACTIVATIONS:
                raise ValueError(f"unknown activation {act!r}; choose one of "
                                 f"{', '.join(map(repr, ACTIVATIONS))}")
        self.layers: nn.ModuleList = nn.ModuleList(nn.Linear(nin, nout, dtype=torch.float64)
                                                   for nin, nout in zip(sizes, sizes[1:]))
        self.activations = activations

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer, act in zip(self.layers, self.activations):
            x = layer(x)
            if act != "linear":
                x = getattr(torch, act)(x)
        return x

    def extra_repr(self) -> str:
        return f"activations={self.activations}"


def _rmsnorm(x: torch.Tensor) -> torch.Tensor:
    # micrograd.gpt.rmsnorm: x / sqrt(mean(x**2) + 1e-5), over the last dimension
    return x * (x.pow(2).mean(dim=-1, keepdim=True) + 1e-5) ** -0.5


class TorchGPT(nn.Module):
    """``micrograd.gpt.GPT`` in PyTorch (float64), all positions at once.

    ``forward(tokens)`` takes a 1-D integer tensor (or list) of at most
    ``block_size`` token ids and returns the ``(len(tokens), vocab_size)``
    logits: row ``pos`` is what ``GPT.forward(tokens[pos], pos, keys,
    values)`` returns after the positions before it. ``loss(tokens)`` is
    ``GPT.loss``: the mean next-token cross-entropy over the first
    ``min(block_size, len(tokens) - 1)`` positions. The weights are
    parameters named as the GPT's attributes (``wte``, ``wpe``, ``wq``,
    ``wk``, ``wv``, ``wo``, ``fc1``, ``fc2``, ``lm_head``), each a
    ``(rows, columns)`` matrix as there.
    """

    MATRICES = ("wte", "wpe", "wq", "wk", "wv", "wo", "fc1", "fc2", "lm_head")
    wte: nn.Parameter
    wpe: nn.Parameter
    wq: nn.Parameter
    wk: nn.Parameter
    wv: nn.Parameter
    wo: nn.Parameter
    fc1: nn.Parameter
    fc2: nn.Parameter
    lm_head: nn.Parameter

    def __init__(self, cfg: "GPTConfig") -> None:
        super().__init__()
        self.vocab_size: int = cfg.vocab_size
        self.n_embd: int = cfg.n_embd
        self.block_size: int = cfg.block_size
        self.n_head: int = cfg.n_head
        self.head_dim: int = cfg.n_embd // cfg.n_head
        for name, shape in _gpt_shapes(cfg).items():
            setattr(self, name, nn.Parameter(torch.zeros(shape, dtype=torch.float64)))

    def _tokens(self, tokens: "torch.Tensor | Sequence[int]") -> torch.Tensor:
        if isinstance(tokens, torch.Tensor):
            if tokens.dtype.is_floating_point or tokens.dtype.is_complex or tokens.dtype == torch.bool:
                raise TypeError(f"tokens must be integer token ids, not a {tokens.dtype} tensor")
            tokens = tokens.to(dtype=torch.long, device=self.wte.device)
        else:
            tokens = torch.as_tensor(tokens, dtype=torch.long, device=self.wte.device)
        if tokens.dim() != 1:
            raise ValueError(f"tokens must be 1-D (one document), got shape {tuple(tokens.shape)}")
        return tokens

    def forward(self, tokens: "torch.Tensor | Sequence[int]") -> torch.Tensor:
        tokens = self._tokens(tokens)
        T = tokens.shape[0]
        if not 1 <= T <= self.block_size:
            raise ValueError(f"a document of {T} tokens: forward takes 1 to block_size="
                             f"{self.block_size}")
        if int(tokens.min()) < 0 or int(tokens.max()) >= self.vocab_size:
            raise IndexError(f"token ids must be in range(vocab_size={self.vocab_size})")
        nh, hd = self.n_head, self.head_dim
        x = self.wte[tokens] + self.wpe[:T]                              # (T, d)
        h = _rmsnorm(x)
        q = (h @ self.wq.T).view(T, nh, hd).transpose(0, 1)             # (nh, T, hd)
        k = (h @ self.wk.T).view(T, nh, hd).transpose(0, 1)
        v = (h @ self.wv.T).view(T, nh, hd).transpose(0, 1)
        att = (q @ k.transpose(1, 2)) * (1.0 / math.sqrt(hd))          # (nh, T, T)
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        a = (att @ v).transpose(0, 1).reshape(T, nh * hd)
        x = x + a @ self.wo.T
        h = torch.relu(_rmsnorm(x) @ self.fc1.T)
        x = x + h @ self.fc2.T
        return _rmsnorm(x) @ self.lm_head.T

    def loss(self, tokens: "torch.Tensor | Sequence[int]") -> torch.Tensor:
        tokens = self._tokens(tokens)
        n = min(self.block_size, tokens.shape[0] - 1)
        if n < 1:
            raise ValueError("a document needs at least 2 tokens (input and target)")
        return nn.functional.cross_entropy(self.forward(tokens[:n]), tokens[1:n + 1])

    def extra_repr(self) -> str:
        return (f"vocab_size={self.vocab_size}, n_embd={self.n_embd}, "
                f"block_size={self.block_size}, n_head={self.n_head}")


def _gpt_shapes(cfg: "GPTConfig") -> dict[str, _Shape]:
    d = cfg.n_embd
    return {"wte": (cfg.vocab_size, d), "wpe": (cfg.block_size, d), "wq": (d, d),
            "wk": (d, d), "wv": (d, d), "wo": (d, d), "fc1": (cfg.mlp_hidden, d),
            "fc2": (d, cfg.mlp_hidden), "lm_head": (cfg.vocab_size, d)}


# ---- what a micrograd model holds ------------------------------------------------------

def _layers(module: object) -> list[tuple[list[Neuron], str]]:
    """``[(neurons, activation)]`` of an MLP, a Layer or a Neuron, checked to
    be what TorchMLP computes; TypeError or ValueError otherwise."""
    if isinstance(module, MLP):
        _plain(module, MLP)
        layers: "list[Layer | None]" = list(module.layers)
    elif isinstance(module, Layer):
        layers = [module]
    elif isinstance(module, Neuron):
        layers = [None]
    else:
        raise TypeError(f"to_torch supports micrograd.nn.MLP, Layer and Neuron and "
                        f"micrograd.gpt.GPT, not {type(module).__name__!r}")
    out: list[tuple[list[Neuron], str]] = []
    for k, layer in enumerate(layers):
        neurons: list[Any]
        if layer is None:
            neurons = [module]
        else:
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {k} is a {type(layer).__name__!r}, not a "
                                f"micrograd.nn.Layer")
            _plain(layer, Layer)
            neurons = list(layer.neurons)
        if not neurons:
            raise ValueError(f"layer {k} has no neurons")
        acts = set()
        for j, n in enumerate(neurons):
            if not isinstance(n, Neuron):
                raise TypeError(f"layer {k}, neuron {j} is a {type(n).__name__!r}, not a "
                                f"micrograd.nn.Neuron")
            _plain(n, Neuron)
            acts.add(n.activation if n.nonlin else "linear")
        if len(acts) > 1:
            raise ValueError(f"layer {k} mixes activations ({', '.join(sorted(acts))}): "
                             f"a TorchMLP layer has one")
        act = acts.pop()
        if act not in ACTIVATIONS:
            raise ValueError(f"layer {k}: unknown activation {act!r}")
        nin = {len(n.w) for n in neurons}
        if len(nin) > 1:
            raise ValueError(f"layer {k}: its neurons have different numbers of inputs "
                             f"({sorted(nin)})")
        if out and nin != {len(out[-1][0])}:
            raise ValueError(f"layer {k} takes {nin.pop()} inputs but layer {k - 1} has "
                             f"{len(out[-1][0])} outputs")
        out.append((neurons, act))
    return out


def _plain(obj: object, cls: type) -> None:
    """Refuse a subclass whose own code may compute something else."""
    from micrograd import nn as mnn

    calls = {Neuron: (mnn._NEURON_CALL, Neuron._per_op), Layer: (mnn._LAYER_CALL,),
             MLP: (MLP.__call__,)}[cls]
    kind = type(obj)
    if kind.__call__ not in calls or (cls is Neuron and getattr(kind, "_activate", None) is not Neuron._activate):
        raise TypeError(f"cannot mirror a {kind.__name__!r}: its __call__ is its own, "
                        f"not micrograd.nn.{cls.__name__}'s")


def _matrices(module: object) -> dict[str, tuple[_Shape, _Rows]]:
    """``{name: (shape, [[Value]] rows or [Value])}`` the torch module holds,
    in its state_dict's names."""
    if isinstance(module, GPT):
        for method in ("forward", "attention", "loss"):
            if getattr(type(module), method) is not getattr(GPT, method):
                raise TypeError(f"cannot mirror a {type(module).__name__!r}: its "
                                f"{method} is its own, not micrograd.gpt.GPT's")
        shapes = _gpt_shapes(module.cfg)
        return {name: (shapes[name], getattr(module, name)) for name in TorchGPT.MATRICES}
    out: dict[str, tuple[_Shape, _Rows]] = {}
    for k, (neurons, _) in enumerate(_layers(module)):
        out[f"layers.{k}.weight"] = ((len(neurons), len(neurons[0].w)), [n.w for n in neurons])
        out[f"layers.{k}.bias"] = ((len(neurons),), [n.b for n in neurons])
    return out


def _rows_data(rows: Any, shape: _Shape) -> list[Any]:
    return [[v.data for v in row] for row in rows] if len(shape) == 2 \
        else [v.data for v in rows]


# ---- the bridge ---------------------------------------------------------------------

@overload
def to_torch(module: "GPT[Any]") -> "TorchGPT": ...
@overload
def to_torch(module: "Module") -> "TorchMLP": ...


def to_torch(module: "Module | GPT[Any]") -> "TorchMLP | TorchGPT":
    """A float64 ``torch.nn.Module`` computing what ``module`` computes, with
    a copy of its weights (later changes on either side do not reach the
    other: use ``from_torch`` to copy back).

    ``micrograd.nn.MLP`` (and ``Layer``, ``Neuron``) -> ``TorchMLP``;
    ``micrograd.gpt.GPT`` -> ``TorchGPT``. Other modules, layers that mix
    activations, and subclasses with their own ``__call__`` raise
    TypeError or ValueError.
    """
    expected = _matrices(module)            # checks the module first
    net: "TorchMLP | TorchGPT"
    if isinstance(module, GPT):
        net = TorchGPT(module.cfg)
    else:
        layers = _layers(module)
        sizes = [len(layers[0][0][0].w)] + [len(neurons) for neurons, _ in layers]
        net = TorchMLP(sizes, [act for _, act in layers])
    with torch.no_grad():
        params = dict(net.named_parameters())
        for name, (shape, rows) in expected.items():
            params[name].copy_(torch.tensor(_rows_data(rows, shape), dtype=torch.float64)
                               .reshape(shape))
    return net


def from_torch(source: "nn.Module | Mapping[str, Any]", module: _M) -> _M:
    """Copy the weights of ``source`` into ``module``'s Values; return ``module``.

    ``source`` is a ``torch.nn.Module`` (as ``to_torch(module)`` made it, or
    any module with the same parameter names and shapes) or its
    ``state_dict()``. The tensors' values become Python floats (float32 and
    other float types exactly; from any device). Missing or unexpected
    names and other shapes raise ValueError, a tensor that is not floating
    point TypeError; nothing is changed then.
    """
    expected = _matrices(module)
    state: Mapping[str, Any]
    if isinstance(source, nn.Module):
        state = source.state_dict()
    elif isinstance(source, Mapping):
        state = source
    else:
        raise TypeError(f"source must be a torch.nn.Module or its state_dict(), not "
                        f"{type(source).__name__!r}")
    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    if missing or unexpected:
        raise ValueError(f"the torch weights do not fit this {type(module).__name__}: "
                         f"missing {missing}, unexpected {unexpected}")
    values: dict[str, list[Any]] = {}
    for name, (shape, _) in expected.items():
        t = state[name]
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name!r} must be a tensor, not {type(t).__name__!r}")
        if tuple(t.shape) != shape:
            raise ValueError(f"{name!r} has shape {tuple(t.shape)}, this "
                             f"{type(module).__name__} needs {shape}")
        if not t.dtype.is_floating_point:
            raise TypeError(f"{name!r} is a {t.dtype} tensor, not floating point")
        values[name] = t.detach().to(device="cpu", dtype=torch.float64).tolist()
    for name, (shape, rows) in expected.items():
        data = values[name]
        if len(shape) == 2:
            for row, xs in zip(rows, data):
                for v, x in zip(row, xs):
                    v.data = x
        else:
            for v, x in zip(rows, data):
                v.data = x
    return module
