"""The ``micrograd`` command (also ``python -m micrograd``).

``micrograd demo`` trains micrograd's moons classifier (see
``micrograd.demo``) with a progress bar, prints its accuracy and speed, and
draws the decision boundary into a PNG::

    micrograd demo                         # train, print the summary, write moons.png
    micrograd demo --compare               # ... and time the pure-Python engine too
    micrograd demo --engine dynamic --steps 50 --seed 3 --plot out.png
    micrograd demo --quiet --no-plot

Progress goes to stderr (a tqdm bar); the summary goes to stdout.
"""

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

from micrograd import _integrity

_integrity.check()      # the original's __init__.py would not run the check

from tqdm.auto import tqdm  # noqa: E402

import micrograd  # noqa: E402
from micrograd import demo  # noqa: E402
from micrograd.viz import plot_decision_boundary  # noqa: E402

__all__ = ["main"]

PLOT_HINT = 'pip install "micrograd-c[plot]"'


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _png_path(text: str) -> str:
    if not text.lower().endswith(".png"):
        raise argparse.ArgumentTypeError(f"must name a .png file, got {text!r}")
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"folder {folder!r} does not exist")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``micrograd`` command."""
    parser = argparse.ArgumentParser(
        prog="micrograd",
        description="micrograd-c: a drop-in, C-accelerated micrograd.")
    parser.add_argument("--version", action="version", version=f"micrograd-c {micrograd.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parser.commands = commands       # main() reports a subcommand's errors with its usage

    p = commands.add_parser(
        "demo", help="train the moons classifier and draw its decision boundary",
        description="Train micrograd's moons classifier (MLP 2-16-16-1, svm max-margin loss "
                    "+ L2, SGD) on 100 generated points, print its accuracy and speed, and "
                    "draw the decision boundary.")
    p.add_argument("--engine", choices=demo.ENGINES, default=demo.default_engine(),
                   help="how the graph is built: dynamic (one op at a time, as the original), "
                        "fused (C layer kernels) or compiled (capture and replay). "
                        f"Default: the fastest, {demo.default_engine()}")
    p.add_argument("--steps", type=_positive_int, default=100, help="training steps (default 100)")
    p.add_argument("--seed", type=int, default=1337,
                   help="seed of the initial weights and of the data (default 1337)")
    p.add_argument("--compare", action="store_true",
                   help="also train on micrograd.pure, a pure-Python engine with the same API, "
                        "and print the speedup")
    plot = p.add_mutually_exclusive_group()
    plot.add_argument("--plot", type=_png_path, default="moons.png", metavar="PNG",
                      help="where to draw the decision boundary (default moons.png; needs "
                           f"matplotlib: {PLOT_HINT})")
    plot.add_argument("--no-plot", dest="plot", action="store_const", const=None,
                      help="draw nothing")
    p.add_argument("--quiet", action="store_true", help="no progress, only the summary")
    p.set_defaults(run=run_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            # argparse would report them with the top-level usage: an unknown
            # option of `micrograd demo` is the subcommand's usage error
            parser.commands.choices[args.command].error(
                f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:        # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else 1
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"micrograd {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`micrograd demo | head -3`): stop quietly.
        # Python would complain again while flushing stdout at exit, so
        # point stdout at nothing first (as the Python documentation says).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141      # 128 + SIGPIPE, as a shell reports it


# ---- micrograd demo ---------------------------------------------------------------

def _progress(total: int, label: str, quiet: bool
              ) -> tuple[Callable[[int, float, float], None], Callable[[], object]]:
    """A callback ``update(k, loss, acc)`` showing training progress on stderr (a
    ``tqdm.auto`` bar), and a ``close()``."""
    if quiet:
        return (lambda k, loss, acc: None), (lambda: None)
    bar = tqdm(total=total, desc=label, unit="step", file=sys.stderr)

    def update(k: int, loss: float, acc: float) -> None:
        bar.set_postfix_str(f"loss {loss:.4f}, accuracy {acc:.0%}", refresh=False)
        bar.update()
    return update, bar.close


def _train(run: "demo.MoonsDemo", label: str, quiet: bool) -> float:
    """Train a ``MoonsDemo`` for its steps; returns the seconds spent in ``step()``."""
    update, close = _progress(run.steps, label, quiet)
    elapsed = 0.0
    try:
        for k in range(run.steps):
            t0 = time.perf_counter()
            loss, acc = run.step()
            elapsed += time.perf_counter() - t0
            update(k, loss, acc)
    finally:
        close()
    return elapsed


def _timing(steps: int, seconds: float) -> str:
    return f"{steps} steps in {seconds:.2f} s, {1000 * seconds / steps:.2f} ms/step"


def run_demo(args: argparse.Namespace) -> int:
    """``micrograd demo``: train, summarise, plot."""
    engine = args.engine
    run = demo.MoonsDemo(engine, steps=args.steps, seed=args.seed)
    if not args.quiet:
        print(f"moons demo: MLP 2-{'-'.join(map(str, demo.LAYERS))}, {len(run.y)} points, "
              f"{args.steps} steps of SGD, engine {engine}")
    elapsed = _train(run, engine, args.quiet)
    loss, acc = run.evaluate()
    print(f"accuracy {acc:.1%} ({round(acc * len(run.y))}/{len(run.y)} points), loss {loss:.4f}")
    print(f"{engine}: {_timing(args.steps, elapsed)}")

    if args.compare:
        pure = demo.MoonsDemo("pure", steps=args.steps, seed=args.seed)
        pure_elapsed = _train(pure, "pure Python", args.quiet)
        pure_loss, pure_acc = pure.evaluate()
        print(f"pure Python (micrograd.pure): {_timing(args.steps, pure_elapsed)}, "
              f"accuracy {pure_acc:.1%}, loss {pure_loss:.4f}")
        print(f"speedup: {engine} is {pure_elapsed / elapsed:.1f}x faster than pure Python")

    if args.plot:
        try:
            plot_decision_boundary(run.score, run.X, run.y, args.plot,
                                   title=f"moons, {args.steps} steps: accuracy {acc:.0%}")
        except ImportError as exc:
            if not (exc.name or "").startswith("matplotlib"):
                raise               # matplotlib is there but broken: show why
            print(f"plot skipped: matplotlib is not installed ({PLOT_HINT}, or --no-plot)")
        except OSError as exc:
            print(f"micrograd demo: error: cannot write {args.plot}: {exc}", file=sys.stderr)
            return 1
        else:
            print(f"decision boundary written to {args.plot}")
    return 0
