"""micrograd.gpt: the tokenizer, and the model on both engines."""

import math
import random

import pytest

from conftest import compiled_value, pure_value
from micrograd.gpt import GPT, CharTokenizer, GPTConfig


def test_tokenizer_round_trip():
    tok = CharTokenizer.from_documents(["cab", "bad"])
    assert tok.chars == ["a", "b", "c", "d"] and tok.bos == 4 and tok.vocab_size == 5
    assert tok.encode("dab") == [4, 3, 0, 1, 4]
    assert tok.decode(tok.encode("dab")) == "dab"
    with pytest.raises(KeyError):
        tok.encode("z")
    with pytest.raises(ValueError, match="distinct"):
        CharTokenizer("aba")


def test_config_checks_the_heads():
    with pytest.raises(ValueError, match="multiple of n_head"):
        GPTConfig(27, n_embd=10, n_head=4)


def test_loss_is_the_same_on_both_engines():
    tok = CharTokenizer("abcdefghijklmnopqrstuvwxyz")
    cfg = GPTConfig(tok.vocab_size, n_embd=8, block_size=6, n_head=2)
    tokens = tok.encode("micrograd")        # 11 tokens: cut to block_size positions
    runs = []
    for Value in (compiled_value(), pure_value()):
        model = GPT(Value, cfg)
        loss = model.loss(tokens)
        loss.backward()
        runs.append((loss.data, [p.grad for p in model.parameters()]))
    (loss_c, grads_c), (loss_p, grads_p) = runs
    assert loss_c == loss_p
    assert abs(loss_c - math.log(27)) < 0.2         # about uniform at initialisation
    assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15) for a, b in zip(grads_c, grads_p))
    assert any(g != 0.0 for g in grads_c)


def test_sample_stops_at_bos_or_block_size():
    tok = CharTokenizer("ab")
    model = GPT(compiled_value(), GPTConfig(tok.vocab_size, n_embd=4, block_size=5, n_head=1))
    rng = random.Random(0)
    lengths = {len(model.sample(tok.bos, rng=rng)) for _ in range(30)}
    assert lengths <= set(range(6)) and len(lengths) > 1
    V = compiled_value()
    model.forward = lambda token, pos, keys, values: [V(0.0), V(0.0), V(50.0)]   # BOS
    assert model.sample(tok.bos, rng=rng) == []
    model.forward = lambda token, pos, keys, values: [V(50.0), V(0.0), V(0.0)]   # 'a'
    assert tok.decode(model.sample(tok.bos, rng=rng)) == "aaaaa"


def test_compiled_training_step_replays_dynamic_bit_for_bit():
    # The tokens are index inputs (take) and the softmax's shift is a
    # detached max node, so a replay reads nothing baked in at recording:
    # every document of one length replays one recording, its loss equals
    # the dynamic one bit for bit over Adam steps, and its gradients to the
    # last bits (the recording's backward sums in creation order;
    # micrograd.capture's documentation).
    from micrograd.optim import Adam

    Value = compiled_value()
    tok = CharTokenizer("abcdefgh")
    cfg = GPTConfig(tok.vocab_size, n_embd=8, block_size=8, n_head=2)
    random.seed(3)
    model = GPT(Value, cfg)
    params = model.parameters()
    opt = Adam(params, lr=0.02)
    step = model.compiled_loss()
    words = ("bead", "cafe", "face", "dead", "hag", "gab", "badgecafe")
    for doc in [tok.encode(w) for w in words] * 2:
        loss_c = step(doc)
        opt.zero_grad()
        loss_c.backward()
        grads_c = [p.grad for p in params]
        loss_d = model.loss(doc)
        opt.zero_grad()
        loss_d.backward()
        assert loss_c.data == loss_d.data
        for a, b in zip(grads_c, (p.grad for p in params)):
            assert a == pytest.approx(b, rel=1e-12, abs=1e-15)
        opt.step()
    # lengths 6, 5 and 11 (cut to block_size + 1 = 9 tokens): three recordings
    info = step.cache_info()
    assert info["recordings"] == 3 and info["cache_size"] == cfg.block_size


def test_gpt_loss_checks_its_document():
    tok = CharTokenizer("ab")
    model = GPT(compiled_value(), GPTConfig(tok.vocab_size, n_embd=4, n_head=1))
    for loss in (model.loss, model.compiled_loss()):
        with pytest.raises(ValueError, match="at least 2 tokens"):
            loss([tok.bos])
        with pytest.raises(IndexError):
            loss([tok.bos, tok.vocab_size])
