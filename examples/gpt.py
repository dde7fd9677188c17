"""A character-level GPT on scalar Values: train it on a word list, then sample new words.

The model is micrograd.gpt.GPT (token and position embeddings, one attention
layer, RMS norm, an MLP, softmax cross-entropy), trained one word at a time
with Adam (micrograd.optim.Adam, its loop in C). By default the training
step is compiled (GPT.compiled_loss: recorded once per word length, then
replayed in C with each word's tokens); --engine dynamic builds the graph
op by op at every step instead. By default it learns the words in the names
of Unicode's symbols ("arrow", "hedgehog", "smiling", ...), taken from
Python's own unicodedata, so nothing is downloaded; --data learns the lines
of a text file instead (one document per line, e.g. a list of names).

    python examples/gpt.py [--steps N] [--engine compiled|dynamic] [--data names.txt] [--samples K]
"""

import argparse
import random
import sys
import time
import unicodedata

from micrograd.engine import Value
from micrograd.gpt import GPT, CharTokenizer, GPTConfig
from micrograd.optim import Adam


def unicode_words(max_len=12):
    """The lower-case words of 3 to ``max_len`` letters in the names of Unicode's
    symbols (emoji, arrows, math and currency signs: mostly English words)."""
    words = set()
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        if unicodedata.category(ch).startswith("S"):
            words.update(unicodedata.name(ch, "").replace("-", " ").lower().split())
    return sorted(w for w in words if 3 <= len(w) <= max_len and w.isalpha() and w.isascii())


def read_documents(path):
    """The non-empty lines of a text file, stripped."""
    with open(path, encoding="utf-8") as f:
        docs = [line.strip() for line in f]
    return [d for d in docs if d]


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=3000, help="training steps, one document each")
parser.add_argument("--engine", choices=["compiled", "dynamic"], default="compiled",
                    help="replay a recording of the step (default) or build it op by op")
parser.add_argument("--data", metavar="FILE", help="a text file, one document per line "
                    "(default: words from the names of Unicode symbols)")
parser.add_argument("--samples", type=int, default=10, help="documents to generate at the end")
parser.add_argument("--temperature", type=float, default=0.5, help="sampling temperature")
parser.add_argument("--lr", type=float, default=0.01, help="Adam's initial learning rate")
parser.add_argument("--block-size", type=int, default=16,
                    help="most characters per document, plus one (longer ones are cut)")
parser.add_argument("--seed", type=int, default=42)
args = parser.parse_args()
if args.steps < 1:
    parser.error("--steps must be at least 1")
if args.samples < 0:
    parser.error("--samples must be at least 0")
if not args.temperature > 0:
    parser.error("--temperature must be above 0")
if args.block_size < 2:
    parser.error("--block-size must be at least 2")
if args.data:
    try:
        docs = read_documents(args.data)
    except (OSError, UnicodeDecodeError) as exc:
        parser.error(f"--data {args.data}: {getattr(exc, 'strerror', None) or exc}")
    if not docs:
        parser.error(f"--data {args.data}: no documents (non-empty lines)")
else:
    docs = unicode_words()
rng = random.Random(args.seed)
rng.shuffle(docs)
tok = CharTokenizer.from_documents(docs)
cfg = GPTConfig(tok.vocab_size, n_embd=16, block_size=args.block_size, n_head=4, seed=args.seed)
model = GPT(Value, cfg)
opt = Adam(model.parameters(), lr=args.lr, betas=(0.85, 0.99))
loss_of = model.compiled_loss() if args.engine == "compiled" else model.loss
print(f"{len(docs)} documents, {tok.vocab_size} tokens, {len(model.parameters())} "
      f"parameters, engine {args.engine}")

every = max(1, args.steps // 20)
recent = []
t0 = time.perf_counter()
for step in range(args.steps):
    loss = loss_of(tok.encode(docs[step % len(docs)]))
    opt.zero_grad()
    loss.backward()
    opt.lr = args.lr * (1 - step / args.steps)   # linear decay
    opt.step()
    recent.append(loss.data)
    if (step + 1) % every == 0 or step + 1 == args.steps:
        print(f"step {step + 1:5d}/{args.steps}  loss {sum(recent) / len(recent):.4f}")
        recent = []
elapsed = time.perf_counter() - t0
print(f"{args.steps} steps in {elapsed:.1f} s ({1000 * elapsed / args.steps:.2f} ms/step, "
      f"{args.steps / elapsed:.0f} steps/s)")

if args.samples:
    print(f"\n{args.samples} samples at temperature {args.temperature}:")
for _ in range(args.samples):
    print(" ", tok.decode(model.sample(tok.bos, temperature=args.temperature, rng=rng)))
