"""A scalar GPT training step written once against any micrograd-style ``Value``.

Only the micrograd API is used on values: ``+ - * / **`` (number exponents),
``relu()``, ``exp()``, ``log()``, ``.data`` and ``.grad``.  The model is one
transformer block: token + position embedding, RMS norm, causal
self-attention with ``n_head`` heads, RMS norm, a ReLU MLP, and a linear head
with softmax cross-entropy; the optimizer is Adam in plain Python over the
parameter list::

    >>> from micrograd.engine import Value
    >>> run = GPTRun(Value)
    >>> loss = run.step()          # forward, backward, Adam update
    >>> 3.0 < loss < 3.6           # about log(27) at initialisation
    True

The weights come from a private ``random.Random(seed)``, so every engine
starts from the same model and, where its arithmetic is the same, follows the
same trajectory bit for bit.
"""

import math
import random

VOCAB = "abcdefghijklmnopqrstuvwxyz"   # + one BOS token: vocab_size 27
DOCUMENT = "charlotte"                  # BOS + 9 letters + BOS: 8 positions at block_size 8


class Config:
    """Model size; the default is small enough for the pure-Python engine."""

    def __init__(self, vocab_size=len(VOCAB) + 1, n_embd=16, block_size=8, n_head=4,
                 mlp_ratio=4, init_std=0.08, seed=42):
        assert n_embd % n_head == 0, "n_embd must divide into n_head heads"
        self.vocab_size = vocab_size
        self.n_embd = n_embd
        self.block_size = block_size
        self.n_head = n_head
        self.head_dim = n_embd // n_head
        self.mlp_hidden = mlp_ratio * n_embd
        self.init_std = init_std
        self.seed = seed


def tokenize(text, block_size):
    """BOS + letters + BOS, cut to ``block_size + 1`` tokens (inputs and targets)."""
    bos = len(VOCAB)
    tokens = [bos] + [VOCAB.index(ch) for ch in text] + [bos]
    return tokens[:block_size + 1]


# ---- model -----------------------------------------------------------------

def linear(x, w):
    """``w @ x`` for a list-of-rows matrix ``w`` and a vector ``x``."""
    return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]


def rmsnorm(x):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def softmax(logits):
    # shift by the max (a plain number: it carries no gradient) for exp's range
    m = max(v.data for v in logits)
    exps = [(v - m).exp() for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


class GPT:
    """Parameters as lists of rows of ``Value``; ``loss(tokens)`` builds the graph."""

    def __init__(self, Value, cfg=None):
        self.Value = Value
        self.cfg = cfg = cfg or Config()
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
        return self.params

    def attention(self, q, keys, values):
        """Causal multi-head attention of one query over the cached keys/values."""
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

    def loss(self, tokens):
        """Mean next-token cross-entropy over ``tokens`` (one document)."""
        n = min(self.cfg.block_size, len(tokens) - 1)
        keys, values, losses = [], [], []
        for pos in range(n):
            tok, target = tokens[pos], tokens[pos + 1]
            x = [t + p for t, p in zip(self.wte[tok], self.wpe[pos])]
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
            # head and cross-entropy
            probs = softmax(linear(rmsnorm(x), self.lm_head))
            losses.append(-probs[target].log())
        return sum(losses) * (1.0 / n)


class Adam:
    """Adam over a list of values, in plain Python; ``step()`` also zeroes the grads."""

    def __init__(self, params, lr=1e-2, beta1=0.9, beta2=0.95, eps=1e-8):
        self.params = params
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = [0.0] * len(params)
        self.v = [0.0] * len(params)
        self.t = 0

    def step(self):
        self.t += 1
        b1, b2, eps = self.beta1, self.beta2, self.eps
        c1 = 1.0 - b1 ** self.t
        c2 = 1.0 - b2 ** self.t
        lr = self.lr
        m, v = self.m, self.v
        for i, p in enumerate(self.params):
            g = p.grad
            m[i] = b1 * m[i] + (1.0 - b1) * g
            v[i] = b2 * v[i] + (1.0 - b2) * g * g
            p.data -= lr * (m[i] / c1) / ((v[i] / c2) ** 0.5 + eps)
            p.grad = 0.0


class GPTRun:
    """A seeded GPT, its document and its optimizer: the timed pieces of a step."""

    def __init__(self, Value, cfg=None, text=DOCUMENT):
        self.model = GPT(Value, cfg)
        self.tokens = tokenize(text, self.model.cfg.block_size)
        self.opt = Adam(self.model.parameters())
        self.losses = []

    def forward_backward(self):
        loss = self.model.loss(self.tokens)
        loss.backward()
        return loss.data

    def update(self):
        self.opt.step()

    def step(self):
        value = self.forward_backward()
        self.update()
        if len(self.losses) < 3:
            self.losses.append(value)
        return value

    def grads(self):
        return [p.grad for p in self.model.parameters()]
