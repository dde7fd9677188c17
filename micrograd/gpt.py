"""A character-level GPT on scalar Values, written once against any ``Value`` class.

One transformer block: token and position embeddings, RMS norm, causal
self-attention with ``n_head`` heads, RMS norm, a ReLU MLP, and a linear head
with softmax cross-entropy. Embeddings and the cross-entropy's target are
selected with ``micrograd.engine.take``, linear layers are
``micrograd.engine.dot`` rows, the softmax shift is a ``max`` that is
``detach``-ed; so the same model runs on the compiled engine and on
``micrograd.pure`` (where those are plain indexing and sums), starts from the
same weights on every engine, and its step compiles (``compiled_loss``:
one recording per document length, replayed with each document's tokens).
On the compiled engine, train it with ``micrograd.optim.Adam``:

>>> from micrograd.engine import Value
>>> from micrograd.gpt import GPT, GPTConfig, CharTokenizer
>>> from micrograd.optim import Adam
>>> tok = CharTokenizer.from_documents(["emma", "olivia", "ava"])
>>> model = GPT(Value, GPTConfig(vocab_size=tok.vocab_size))
>>> opt = Adam(model.parameters(), lr=0.01)
>>> for word in ["emma", "olivia", "ava"]:
...     loss = model.loss(tok.encode(word))
...     opt.zero_grad()
...     loss.backward()
...     opt.step()
>>> new_word = tok.decode(model.sample(tok.bos))

``examples/gpt.py`` trains it on a word list and samples new words.
"""

import math
import random
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from micrograd.engine import dot, take

if TYPE_CHECKING:
    from micrograd.capture import CompiledFunction

__all__ = ["GPTConfig", "CharTokenizer", "GPT", "Scalar", "CompiledLoss", "linear", "rmsnorm",
           "softmax"]

S = TypeVar("S", bound="Scalar")


class Scalar(Protocol):
    """What the model needs of a Value: micrograd's arithmetic and ops
    (``micrograd.engine.Value`` and ``micrograd.pure.Value`` have them)."""

    @property
    def data(self) -> float: ...
    def __add__(self: S, other: S | float, /) -> S: ...
    def __radd__(self: S, other: float, /) -> S: ...
    def __sub__(self: S, other: S | float, /) -> S: ...
    def __mul__(self: S, other: S | float, /) -> S: ...
    def __rmul__(self: S, other: float, /) -> S: ...
    def __truediv__(self: S, other: S | float, /) -> S: ...
    def __pow__(self: S, other: float, /) -> S: ...
    def __neg__(self: S) -> S: ...
    def max(self: S, other: S, /) -> S: ...
    def detach(self: S) -> S: ...
    def exp(self: S) -> S: ...
    def log(self: S) -> S: ...
    def relu(self: S) -> S: ...
    def backward(self) -> None: ...


class CompiledLoss(Protocol[S]):
    """``GPT.compiled_loss()``: the loss of a document's tokens, compiled,
    with the compiled function's ``cache_info`` and ``cache_clear``."""

    compiled: "CompiledFunction[[Sequence[Any]], S]"

    def __call__(self, tokens: Sequence[int], /) -> S: ...
    def cache_info(self) -> dict[str, Any]: ...
    def cache_clear(self) -> None: ...


class _Sampler(Protocol):
    def choices(self, population: Sequence[int], weights: Sequence[float], /) -> list[int]: ...


class GPTConfig:
    """The model's sizes and initialisation; the defaults train in seconds.

    vocab_size: number of tokens (with BOS). n_embd: width of the residual
    stream, split into ``n_head`` heads. block_size: the most positions a
    document can have. mlp_ratio: MLP hidden width over ``n_embd``.
    init_std: standard deviation of the Gaussian initial weights, drawn
    from ``random.Random(seed)``.
    """

    vocab_size: int
    n_embd: int
    block_size: int
    n_head: int
    head_dim: int
    mlp_hidden: int
    init_std: float
    seed: int

    def __init__(self, vocab_size: int, n_embd: int = 16, block_size: int = 8, n_head: int = 4,
                 mlp_ratio: int = 4, init_std: float = 0.08, seed: int = 42) -> None:
        if n_embd % n_head:
            raise ValueError(f"n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
        self.vocab_size = vocab_size
        self.n_embd = n_embd
        self.block_size = block_size
        self.n_head = n_head
        self.head_dim = n_embd // n_head
        self.mlp_hidden = mlp_ratio * n_embd
        self.init_std = init_std
        self.seed = seed


class CharTokenizer:
    """Characters to token ids and back, plus a BOS token (id ``len(chars)``)
    that starts and ends every document.

    >>> tok = CharTokenizer("abc")
    >>> tok.encode("cab")
    [3, 2, 0, 1, 3]
    >>> tok.decode([2, 0, 1])
    'cab'
    """

    chars: list[str]
    ids: dict[str, int]
    bos: int
    vocab_size: int

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars = list(chars)
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("the characters of a CharTokenizer must be distinct")
        self.ids = {ch: i for i, ch in enumerate(self.chars)}
        self.bos = len(self.chars)
        self.vocab_size = len(self.chars) + 1

    @classmethod
    def from_documents(cls, docs: Iterable[str]) -> "CharTokenizer":
        """A tokenizer for every character that occurs in ``docs``, in sorted order."""
        return cls(sorted(set("".join(docs))))

    def encode(self, doc: Iterable[str]) -> list[int]:
        """``[BOS] + ids of doc + [BOS]`` (a KeyError names an unknown character)."""
        return [self.bos] + [self.ids[ch] for ch in doc] + [self.bos]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``, BOS tokens left out."""
        return "".join(self.chars[i] for i in ids if i != self.bos)


# ---- building blocks (lists of Values) ----------------------------------------

def linear(x: Sequence[S], w: Sequence[Sequence[S]]) -> list[S]:
    """``w @ x`` for a list-of-rows matrix ``w`` and a vector ``x``: each
    row is ``sum(wi * xi for wi, xi in zip(row, x))``, in one ``dot`` call
    (the same nodes)."""
    return [dot(row, x) for row in w]


def rmsnorm(x: Sequence[S]) -> list[S]:
    """``x / sqrt(mean(x**2) + 1e-5)``."""
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def softmax(logits: Sequence[S]) -> list[S]:
    """Probabilities from logits, shifted by their max for ``exp``'s range.

    The max is a Value (``max`` of the logits, ``detach``-ed: no gradient
    flows through the shift), not a number read from ``.data``, so that a
    recording (``micrograd.compile``) recomputes it at every replay.
    """
    m = logits[0]
    for v in logits[1:]:
        m = m.max(v)
    m = m.detach()
    exps = [(v - m).exp() for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


class GPT(Generic[S]):
    """The model's weights (lists of rows of ``Value``) and its forward pass.

    ``loss(tokens)`` builds the graph of one document's mean next-token
    cross-entropy; ``sample(bos)`` generates a document. ``GPT(Value, cfg)``
    is a ``GPT[Value]``: its weights and losses are of the class given.
    """

    Value: Callable[[float], S]
    cfg: GPTConfig
    wte: list[list[S]]
    wpe: list[list[S]]
    wq: list[list[S]]
    wk: list[list[S]]
    wv: list[list[S]]
    wo: list[list[S]]
    fc1: list[list[S]]
    fc2: list[list[S]]
    lm_head: list[list[S]]
    params: list[S]

    def __init__(self, Value: Callable[[float], S], cfg: GPTConfig) -> None:
        self.Value = Value
        self.cfg = cfg
        rng = random.Random(cfg.seed)

        def matrix(nout: int, nin: int) -> list[list[S]]:
            return [[Value(rng.gauss(0.0, cfg.init_std)) for _ in range(nin)] for _ in range(nout)]

        d = cfg.n_embd
        self.wte = matrix(cfg.vocab_size, d)
        self.wpe = matrix(cfg.block_size, d)
        self.wq = matrix(d, d)
        self.wk = matrix(d, d)
        self.wv = matrix(d, d)
        self.wo = matrix(d, d)
        self.fc1 = matrix(cfg.mlp_hidden, d)
        self.fc2 = matrix(d, cfg.mlp_hidden)
        self.lm_head = matrix(cfg.vocab_size, d)
        mats = [self.wte, self.wpe, self.wq, self.wk, self.wv, self.wo,
                self.fc1, self.fc2, self.lm_head]
        self.params = [p for mat in mats for row in mat for p in row]

    def parameters(self) -> list[S]:
        """Every weight, as one list of Values."""
        return self.params

    def attention(self, q: Sequence[S], keys: Sequence[Sequence[S]],
                  values: Sequence[Sequence[S]]) -> list[S]:
        """Causal multi-head attention of one query over the cached keys and values."""
        cfg = self.cfg
        hd = cfg.head_dim
        scale = 1.0 / math.sqrt(hd)
        out = []
        for h in range(cfg.n_head):
            lo = h * hd
            qh = q[lo:lo + hd]
            logits = [sum(qh[j] * k[lo + j] for j in range(hd)) * scale for k in keys]
            weights = softmax(logits)
            out += [sum(weights[t] * values[t][lo + j] for t in range(len(values)))
                    for j in range(hd)]
        return out

    def forward(self, token: Any, pos: int, keys: list[list[S]],
                values: list[list[S]]) -> list[S]:
        """The next-token logits at position ``pos`` after ``token``.

        ``keys`` and ``values`` hold the earlier positions' keys and values
        (start with two empty lists); this position's are appended to them.
        ``token`` selects its embedding through ``take`` (an int, or an
        index input of a compiled step).
        """
        x = [t + p for t, p in zip(take(self.wte, token), self.wpe[pos])]
        # attention block (pre-norm, residual)
        h = rmsnorm(x)
        q = linear(h, self.wq)
        keys.append(linear(h, self.wk))
        values.append(linear(h, self.wv))
        a = linear(self.attention(q, keys, values), self.wo)
        x = [xi + ai for xi, ai in zip(x, a)]
        # MLP block (pre-norm, residual)
        h = rmsnorm(x)
        h = [hi.relu() for hi in linear(h, self.fc1)]
        m = linear(h, self.fc2)
        x = [xi + mi for xi, mi in zip(x, m)]
        return linear(rmsnorm(x), self.lm_head)

    def loss(self, tokens: Sequence[Any]) -> S:
        """Mean next-token cross-entropy over one document's ``tokens``
        (at most ``block_size`` positions are used)."""
        n = min(self.cfg.block_size, len(tokens) - 1)
        if n < 1:
            raise ValueError("a document needs at least 2 tokens (input and target)")
        keys: list[list[S]] = []
        values: list[list[S]] = []
        losses: list[S] = []
        for pos in range(n):
            probs = softmax(self.forward(tokens[pos], pos, keys, values))
            losses.append(-take(probs, tokens[pos + 1]).log())
        return sum(losses) * (1.0 / n)

    def compiled_loss(self) -> "CompiledLoss[S]":
        """``loss`` compiled (``micrograd.compile``): the tokens are index
        inputs, so documents of one length replay one recording (the cache
        keeps one per length used, ``block_size`` of them). The function
        returned has the compiled function's ``cache_info`` and
        ``cache_clear``, and the compiled function as ``compiled``.

        >>> from micrograd.engine import Value
        >>> tok = CharTokenizer("ab")
        >>> model = GPT(Value, GPTConfig(tok.vocab_size, n_embd=4, n_head=1))
        >>> loss = model.compiled_loss()
        >>> a, b = loss(tok.encode("ab")).data, loss(tok.encode("ba")).data
        >>> loss.cache_info()["recordings"]
        1
        """
        import micrograd
        compiled = micrograd.compile(self.loss, index_inputs="tokens",
                                     cache_size=self.cfg.block_size)
        cut = self.cfg.block_size + 1

        def loss(tokens: Sequence[int]) -> S:
            # Only the first block_size + 1 tokens are used: cut the rest, so
            # that the recording depends on the length used, not the length.
            return compiled(list(tokens[:cut]))
        fn: Any = loss
        fn.cache_info = compiled.cache_info
        fn.cache_clear = compiled.cache_clear
        fn.compiled = compiled
        return cast("CompiledLoss[S]", fn)

    def sample(self, bos: int, temperature: float = 1.0, rng: _Sampler = random) -> list[int]:
        """Token ids of one generated document: starting after ``bos``, drawn
        one at a time from the softmax of the logits over ``temperature``,
        until ``bos`` comes out or ``block_size`` positions are used.
        ``rng``: a ``random.Random`` (default: the ``random`` module)."""
        keys: list[list[S]] = []
        values: list[list[S]] = []
        out: list[int] = []
        token = bos
        for pos in range(self.cfg.block_size):
            logits = [v.data / temperature for v in self.forward(token, pos, keys, values)]
            m = max(logits)
            weights = [math.exp(v - m) for v in logits]
            token = rng.choices(range(len(weights)), weights)[0]
            if token == bos:
                break
            out.append(token)
        return out
