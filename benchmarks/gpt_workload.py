"""A scalar GPT training step, written once against any micrograd-style ``Value``.

The model is ``micrograd.gpt.GPT`` (one transformer block: token + position
embedding, RMS norm, causal self-attention with 4 heads, RMS norm, a ReLU
MLP, and a linear head with softmax cross-entropy); the optimizer is Adam in
plain Python over the parameter list. Both use only the micrograd API on
values (``+ - * / **`` with number exponents, ``relu()``, ``exp()``,
``log()``, ``.data`` and ``.grad``), so every engine runs the same code::

    >>> from micrograd.engine import Value
    >>> run = GPTRun(Value)
    >>> loss = run.step()          # forward, backward, Adam update
    >>> 3.0 < loss < 3.6           # about log(27) at initialisation
    True

The weights come from a private ``random.Random(seed)``, so every engine
starts from the same model and, where its arithmetic is the same, follows the
same trajectory bit for bit.
"""

from micrograd.gpt import GPT, CharTokenizer, GPTConfig

VOCAB = "abcdefghijklmnopqrstuvwxyz"   # + one BOS token: vocab_size 27
DOCUMENT = "charlotte"                  # BOS + 9 letters + BOS: 8 positions at block_size 8


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


class GPTRun:
    """A seeded GPT, its document and its optimizer: the timed pieces of a step."""

    def __init__(self, Value, cfg=None, text=DOCUMENT):
        self.model = GPT(Value, cfg or GPTConfig(**CONFIG))
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
