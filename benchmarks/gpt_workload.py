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

``GPTRun(Value, dot=dot, optim=optim)`` is the same step with each linear
layer's rows computed by ``micrograd.engine.dot`` (``dot_gpt``: the very
nodes ``sum()`` builds, so the same numbers) and the update by
``micrograd.optim.Adam`` (its loop in C, the same formula as ``Adam``
below).
"""

import functools
import types

import micrograd.gpt as gpt_module
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


class CAdam:
    """``micrograd.optim.Adam`` (its loop in C) with ``Adam``'s hyperparameters
    above; ``step()`` also zeroes the grads, as ``Adam.step()`` does."""

    def __init__(self, optim, params, lr=1e-2, beta1=0.9, beta2=0.95, eps=1e-8):
        self.opt = optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=eps)

    def step(self):
        self.opt.step()
        self.opt.zero_grad()


@functools.lru_cache(maxsize=None)
def dot_gpt(dot):
    """``GPT`` whose linear layers compute each row with one ``dot`` call.

    ``micrograd.gpt.linear`` is ``[sum(wi * xi for wi, xi in zip(row, x))
    for row in w]``; ``dot(row, x)`` builds the very nodes of that ``sum``
    in one C call.  The subclass runs ``GPT.forward``'s own code with its
    global ``linear`` bound to the dot version, so the rest of the model
    (embeddings, norms, attention, MLP, loss) is the same code, unchanged.
    """
    if "linear" not in GPT.forward.__code__.co_names:
        raise RuntimeError("micrograd.gpt.GPT.forward no longer calls the module's "
                           "linear(): update dot_gpt")

    def linear(x, w):
        """``w @ x``: ``micrograd.gpt.linear`` with each row one ``dot`` call."""
        return [dot(row, x) for row in w]

    fwd = GPT.forward
    forward = types.FunctionType(fwd.__code__, dict(vars(gpt_module), linear=linear),
                                 fwd.__name__, fwd.__defaults__, fwd.__closure__)
    forward.__doc__ = fwd.__doc__
    return type("DotGPT", (GPT,), {"forward": forward, "__module__": __name__,
                                    "__doc__": dot_gpt.__doc__})


class GPTRun:
    """A seeded GPT, its document and its optimizer: the timed pieces of a step.

    With ``dot`` (``micrograd.engine.dot``) the model is ``dot_gpt(dot)``;
    with ``optim`` (``micrograd.optim``) the optimizer is ``CAdam``.
    """

    def __init__(self, Value, cfg=None, text=DOCUMENT, dot=None, optim=None):
        model_class = GPT if dot is None else dot_gpt(dot)
        self.model = model_class(Value, cfg or GPTConfig(**CONFIG))
        self.tokens = tokenize(text, self.model.cfg.block_size)
        params = self.model.parameters()
        self.opt = Adam(params) if optim is None else CAdam(optim, params)
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
