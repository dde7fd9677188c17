"""A scalar GPT training step, written once against any micrograd-style ``Value``.

The model is ``micrograd.gpt.GPT`` (one transformer block: token + position
embedding, RMS norm, causal self-attention with 4 heads, RMS norm, a ReLU
MLP, and a linear head with softmax cross-entropy); the optimizer is Adam in
plain Python over the parameter list. Both use only the API every engine
has (``+ - * / **`` with number exponents, ``relu()``, ``exp()``,
``log()``, ``max``, ``detach``, ``dot``, ``take``, ``.data`` and ``.grad``;
``micrograd.pure`` has them all), so every engine runs the same code::

    >>> from micrograd.engine import Value
    >>> run = GPTRun(Value)
    >>> loss = run.step()          # forward, backward, Adam update
    >>> 3.0 < loss < 3.6           # about log(27) at initialisation
    True

The weights come from a private ``random.Random(seed)``, so every engine
starts from the same model and, where its arithmetic is the same, follows the
same trajectory bit for bit.

``GPTRun(Value, optim=optim)`` is the same step updated by
``micrograd.optim.Adam`` (its loop in C, the same formula as ``Adam``
below); ``compiled=True`` also runs the loss through
``GPT.compiled_loss()`` (recorded once, replayed with each document's
tokens). ``TorchGPT`` is the same model written the way a PyTorch user
writes it: all positions at once with a causal mask, ``torch.optim.Adam``.
"""

import math

from micrograd.gpt import GPT, CharTokenizer, GPTConfig

VOCAB = "abcdefghijklmnopqrstuvwxyz"   # + one BOS token: vocab_size 27
DOCUMENT = "charlotte"                  # BOS + 9 letters + BOS: 8 positions at block_size 8
# The documents the training-step rows cycle through, one per step (every
# engine the same ones): names of 8 letters or more, so that every one
# uses all 8 positions (one recording for the compiled row).
DOCUMENTS = ["charlotte", "isabella", "patricia", "jennifer", "victoria", "margaret"]


# The benchmark's model: small enough for the pure-Python engine.
CONFIG = dict(vocab_size=len(VOCAB) + 1, n_embd=16, block_size=8, n_head=4)


def tokenize(text, block_size):
    """BOS + letters + BOS, cut to ``block_size + 1`` tokens (inputs and targets)."""
    return CharTokenizer(VOCAB).encode(text)[:block_size + 1]


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


class CAdam:
    """``micrograd.optim.Adam`` (its loop in C) with ``Adam``'s hyperparameters
    above; ``step()`` also zeroes the grads, as ``Adam.step()`` does."""

    def __init__(self, optim, params, lr=1e-2, beta1=0.9, beta2=0.95, eps=1e-8):
        self.opt = optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=eps)

    def step(self):
        self.opt.step()
        self.opt.zero_grad()


class GPTRun:
    """A seeded GPT, its documents and its optimizer: the timed pieces of a step.

    ``step()`` trains on the next of ``DOCUMENTS`` (cycling);
    ``forward_backward()`` always on ``DOCUMENT``. With ``optim``
    (``micrograd.optim``) the optimizer is ``CAdam``; with ``compiled`` the
    loss is ``GPT.compiled_loss()``, recorded here (untimed).
    """

    def __init__(self, Value, cfg=None, optim=None, compiled=False):
        self.model = GPT(Value, cfg or GPTConfig(**CONFIG))
        block = self.model.cfg.block_size
        self.tokens = tokenize(DOCUMENT, block)
        self.docs = [tokenize(d, block) for d in DOCUMENTS]
        params = self.model.parameters()
        self.opt = Adam(params) if optim is None else CAdam(optim, params)
        self.loss = self.model.compiled_loss() if compiled else self.model.loss
        if compiled:
            self.loss(self.tokens)      # the recording: every document replays it
        self.losses = []
        self.k = 0

    def forward_backward(self):
        loss = self.loss(self.tokens)
        loss.backward()
        return loss.data

    def update(self):
        self.opt.step()

    def step(self):
        loss = self.loss(self.docs[self.k % len(self.docs)])
        self.k += 1
        loss.backward()
        self.update()
        if len(self.losses) < 3:
            self.losses.append(loss.data)
        return loss.data

    def grads(self):
        return [p.grad for p in self.model.parameters()]


class TorchGPT:
    """``micrograd.gpt.GPT`` in PyTorch, as its users write it: the same
    weights (``GPT(float, cfg)`` draws them as plain floats), every position
    of a document at once with a causal mask, ``F.cross_entropy``, and
    ``torch.optim.Adam`` with ``Adam``'s hyperparameters. The same methods
    as ``GPTRun``; ``dtype`` is ``torch.float64`` or ``torch.float32``.
    """

    def __init__(self, torch, dtype, cfg=None, lr=1e-2, betas=(0.9, 0.95), eps=1e-8):
        self.torch = torch
        self.cfg = cfg = cfg or GPTConfig(**CONFIG)
        init = GPT(float, cfg)
        names = ["wte", "wpe", "wq", "wk", "wv", "wo", "fc1", "fc2", "lm_head"]
        self.w = {n: torch.tensor(getattr(init, n), dtype=dtype, requires_grad=True)
                  for n in names}
        self.params = list(self.w.values())     # GPT.parameters()'s order, flattened
        self.opt = torch.optim.Adam(self.params, lr=lr, betas=betas, eps=eps)
        T = cfg.block_size
        self.mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        self.tokens = self._ids(tokenize(DOCUMENT, T))
        self.docs = [self._ids(tokenize(d, T)) for d in DOCUMENTS]
        self.losses = []
        self.k = 0

    def _ids(self, tokens):
        return self.torch.tensor(tokens, dtype=self.torch.long)

    @staticmethod
    def _rmsnorm(x):
        return x * (x.pow(2).mean(-1, keepdim=True) + 1e-5).rsqrt()

    def loss(self, ids):
        torch, w, cfg = self.torch, self.w, self.cfg
        F = torch.nn.functional
        idx, targets = ids[:-1], ids[1:]
        T, H, hd = len(idx), cfg.n_head, cfg.head_dim
        x = w["wte"][idx] + w["wpe"][:T]
        h = self._rmsnorm(x)
        q, k, v = (torch.matmul(h, w[n].t()).view(T, H, hd).transpose(0, 1)
                   for n in ("wq", "wk", "wv"))
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(self.mask[:T, :T], float("-inf")).softmax(-1)
        y = torch.matmul(att, v).transpose(0, 1).reshape(T, cfg.n_embd)
        x = x + torch.matmul(y, w["wo"].t())
        h = torch.relu(torch.matmul(self._rmsnorm(x), w["fc1"].t()))
        x = x + torch.matmul(h, w["fc2"].t())
        logits = torch.matmul(self._rmsnorm(x), w["lm_head"].t())
        return F.cross_entropy(logits, targets)

    def forward_backward(self):
        loss = self.loss(self.tokens)
        loss.backward()
        return loss.item()

    def update(self):
        # zeroed, not set to None, as the scalar engines' Adam does: a later
        # step() still updates every parameter (torch skips a None grad)
        self.opt.step()
        self.opt.zero_grad(set_to_none=False)

    def step(self):
        self.opt.zero_grad()
        loss = self.loss(self.docs[self.k % len(self.docs)])
        self.k += 1
        loss.backward()
        self.opt.step()
        value = loss.item()
        if len(self.losses) < 3:
            self.losses.append(value)
        return value

    def grads(self):
        return [g for p in self.params for g in p.grad.flatten().tolist()]
