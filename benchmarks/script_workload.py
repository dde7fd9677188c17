"""A scalar GPT written as the popular ~200-line pure-Python scripts write it.

Everything is plain user code: a ``Value`` of the script's own kind
(``ScriptValue``: ``__slots__``, each node keeps its children and their
local gradients, no closures, an iterative topological sort), a state dict
of weight matrices, ``linear`` as generator sums, a softmax shifted by
``max(v.data ...)``, RMS norm, one attention block with a KV cache, and the
script's own Adam loop over ``p.data`` / ``p.grad``. ``ScriptGPT(Value)``
runs that same code with any micrograd-style ``Value`` (this package's, the
pure engine's), which is how users drop this package into such a script::

    >>> run = ScriptGPT(ScriptValue)
    >>> loss = run.step()
    >>> 3.0 < loss < 3.6
    True
"""

import math
import random

from gpt_workload import DOCUMENTS, VOCAB


class ScriptValue:
    """The script's own scalar: data, grad, children and local gradients."""

    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data = data
        self.grad = 0
        self._children = children
        self._local_grads = local_grads

    def __add__(self, other):
        other = other if isinstance(other, ScriptValue) else ScriptValue(other)
        return ScriptValue(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other):
        other = other if isinstance(other, ScriptValue) else ScriptValue(other)
        return ScriptValue(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, other):
        return ScriptValue(self.data ** other, (self,), (other * self.data ** (other - 1),))

    def log(self):
        return ScriptValue(math.log(self.data), (self,), (1 / self.data,))

    def exp(self):
        e = math.exp(self.data)
        return ScriptValue(e, (self,), (e,))

    def relu(self):
        return ScriptValue(max(0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other ** -1

    def __rtruediv__(self, other):
        return other * self ** -1

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            v, expanded = stack.pop()
            if expanded:
                order.append(v)
            elif v not in seen:
                seen.add(v)
                stack.append((v, True))
                stack.extend((c, False) for c in v._children)
        self.grad = 1
        for v in reversed(order):
            for child, local in zip(v._children, v._local_grads):
                child.grad += local * v.grad


class ScriptGPT:
    """The script's model and training loop, on a given ``Value`` class.

    n_embd 16, 4 heads, one block, block_size 8, a 27-token vocabulary; one
    document per step from ``gpt_workload.DOCUMENTS`` (the documents every
    GPT row trains on); Adam (lr 0.01, betas 0.9/0.95) in Python.
    """

    def __init__(self, Value, n_embd=16, n_head=4, block_size=8, seed=42):
        self.Value = Value
        self.n_embd, self.n_head, self.block_size = n_embd, n_head, block_size
        self.head_dim = n_embd // n_head
        self.vocab = len(VOCAB) + 1
        self.bos = len(VOCAB)
        rng = random.Random(seed)

        def matrix(nout, nin, std=0.08):
            return [[Value(rng.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]

        self.state = {
            "wte": matrix(self.vocab, n_embd), "wpe": matrix(block_size, n_embd),
            "wq": matrix(n_embd, n_embd), "wk": matrix(n_embd, n_embd),
            "wv": matrix(n_embd, n_embd), "wo": matrix(n_embd, n_embd),
            "fc1": matrix(4 * n_embd, n_embd), "fc2": matrix(n_embd, 4 * n_embd),
            "lm_head": matrix(self.vocab, n_embd),
        }
        self.params = [p for mat in self.state.values() for row in mat for p in row]
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)
        self.t = 0
        self.k = 0

    # ---- the model, as the script writes it --------------------------------

    @staticmethod
    def linear(x, w):
        return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]

    @staticmethod
    def softmax(logits):
        m = max(v.data for v in logits)
        exps = [(v - m).exp() for v in logits]
        total = sum(exps)
        return [e / total for e in exps]

    @staticmethod
    def rmsnorm(x):
        ms = sum(xi * xi for xi in x) / len(x)
        scale = (ms + 1e-5) ** -0.5
        return [xi * scale for xi in x]

    def gpt(self, token, pos, keys, values):
        s, hd = self.state, self.head_dim
        x = [t + p for t, p in zip(s["wte"][token], s["wpe"][pos])]
        h = self.rmsnorm(x)
        q = self.linear(h, s["wq"])
        keys.append(self.linear(h, s["wk"]))
        values.append(self.linear(h, s["wv"]))
        att = []
        for head in range(self.n_head):
            lo = head * hd
            logits = [sum(q[lo + j] * k[lo + j] for j in range(hd)) / hd ** 0.5 for k in keys]
            w = self.softmax(logits)
            att += [sum(w[t] * values[t][lo + j] for t in range(len(values)))
                    for j in range(hd)]
        x = [a + b for a, b in zip(x, self.linear(att, s["wo"]))]
        h = [v.relu() for v in self.linear(self.rmsnorm(x), s["fc1"])]
        x = [a + b for a, b in zip(x, self.linear(h, s["fc2"]))]
        return self.linear(self.rmsnorm(x), s["lm_head"])

    def tokens(self, doc):
        ids = [self.bos] + [VOCAB.index(ch) for ch in doc] + [self.bos]
        return ids[:self.block_size + 1]

    def loss(self, doc):
        ids = self.tokens(doc)
        n = len(ids) - 1
        keys, values, losses = [], [], []
        for pos in range(n):
            probs = self.softmax(self.gpt(ids[pos], pos, keys, values))
            losses.append(-probs[ids[pos + 1]].log())
        return (1 / n) * sum(losses)

    # ---- the training step ---------------------------------------------------

    def step(self, lr=0.01, b1=0.9, b2=0.95, eps=1e-8):
        doc = DOCUMENTS[self.k % len(DOCUMENTS)]
        self.k += 1
        loss = self.loss(doc)
        loss.backward()
        self.t += 1
        m, v = self.m, self.v
        for i, p in enumerate(self.params):
            m[i] = b1 * m[i] + (1 - b1) * p.grad
            v[i] = b2 * v[i] + (1 - b2) * p.grad ** 2
            m_hat = m[i] / (1 - b1 ** self.t)
            v_hat = v[i] / (1 - b2 ** self.t)
            p.data -= lr * m_hat / (v_hat ** 0.5 + eps)
            p.grad = 0
        return loss.data
