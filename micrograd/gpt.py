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

from micrograd.engine import dot, take

__all__ = ["GPTConfig", "CharTokenizer", "GPT", "linear", "rmsnorm", "softmax"]


class GPTConfig:
    """The model's sizes and initialisation; the defaults train in seconds.

    vocab_size: number of tokens (with BOS). n_embd: width of the residual
    stream, split into ``n_head`` heads. block_size: the most positions a
    document can have. mlp_ratio: MLP hidden width over ``n_embd``.
    init_std: standard deviation of the Gaussian initial weights, drawn
    from ``random.Random(seed)``.
    """

    def __init__(self, vocab_size, n_embd=16, block_size=8, n_head=4,
                 mlp_ratio=4, init_std=0.08, seed=42):
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

    def __init__(self, chars):
        self.chars = list(chars)
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("the characters of a CharTokenizer must be distinct")
        self.ids = {ch: i for i, ch in enumerate(self.chars)}
        self.bos = len(self.chars)
        self.vocab_size = len(self.chars) + 1

    @classmethod
    def from_documents(cls, docs):
        """A tokenizer for every character that occurs in ``docs``, in sorted order."""
        return cls(sorted(set("".join(docs))))

    def encode(self, doc):
        """``[BOS] + ids of doc + [BOS]`` (a KeyError names an unknown character)."""
        return [self.bos] + [self.ids[ch] for ch in doc] + [self.bos]

    def decode(self, ids):
        """The text of ``ids``, BOS tokens left out."""
        return "".join(self.chars[i] for i in ids if i != self.bos)


# ---- building blocks (lists of Values) ----------------------------------------

def linear(x, w):
    """``w @ x`` for a list-of-rows matrix ``w`` and a vector ``x``: each
    row is ``sum(wi * xi for wi, xi in zip(row, x))``, in one ``dot`` call
    (the same nodes)."""
    return [dot(row, x) for row in w]


def rmsnorm(x):
    """``x / sqrt(mean(x**2) + 1e-5)``."""
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def softmax(logits):
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


class GPT:
    """The model's weights (lists of rows of ``Value``) and its forward pass.

    ``loss(tokens)`` builds the graph of one document's mean next-token
    cross-entropy; ``sample(bos)`` generates a document.
    """

    def __init__(self, Value, cfg):
        self.Value = Value
        self.cfg = cfg
        rng = random.Random(cfg.seed)

        def matrix(nout, nin):
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

    def parameters(self):
        """Every weight, as one list of Values."""
        return self.params

    def attention(self, q, keys, values):
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

    def forward(self, token, pos, keys, values):
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

    def loss(self, tokens):
        """Mean next-token cross-entropy over one document's ``tokens``
        (at most ``block_size`` positions are used)."""
        n = min(self.cfg.block_size, len(tokens) - 1)
        if n < 1:
            raise ValueError("a document needs at least 2 tokens (input and target)")
        keys, values, losses = [], [], []
        for pos in range(n):
            probs = softmax(self.forward(tokens[pos], pos, keys, values))
            losses.append(-take(probs, tokens[pos + 1]).log())
        return sum(losses) * (1.0 / n)

    def compiled_loss(self):
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

        def loss(tokens):
            # Only the first block_size + 1 tokens are used: cut the rest, so
            # that the recording depends on the length used, not the length.
            return compiled(list(tokens[:cut]))
        loss.cache_info = compiled.cache_info
        loss.cache_clear = compiled.cache_clear
        loss.compiled = compiled
        return loss

    def sample(self, bos, temperature=1.0, rng=random):
        """Token ids of one generated document: starting after ``bos``, drawn
        one at a time from the softmax of the logits over ``temperature``,
        until ``bos`` comes out or ``block_size`` positions are used.
        ``rng``: a ``random.Random`` (default: the ``random`` module)."""
        keys, values, out = [], [], []
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
