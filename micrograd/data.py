"""Small datasets made on the spot, with no dependency and no download."""

import math
import random

__all__ = ["make_moons"]


def make_moons(n_samples: int = 100, noise: float = 0.1,
               seed: int | float | str | bytes | bytearray | None = None
               ) -> tuple[list[list[float]], list[int]]:
    """Two interleaving half circles, as scikit-learn's ``make_moons``.

    Returns ``(X, y)``: ``X`` a list of ``[x0, x1]`` float pairs, ``y`` a list
    of labels -1 (upper moon) and +1 (lower moon), the form micrograd's demo
    trains on. ``noise`` is the standard deviation of Gaussian noise added
    to each coordinate; the points are shuffled. The same ``seed`` gives the
    same data on every platform (Python's own ``random.Random``).

    >>> X, y = make_moons(100, noise=0.1, seed=1)
    >>> len(X), sorted(set(y))
    (100, [-1, 1])
    """
    if not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples must be an int >= 2, got {n_samples!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    rng = random.Random(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    points: list[tuple[list[float], int]] = []
    for i in range(n_out):
        t = math.pi * i / max(n_out - 1, 1)
        points.append(([math.cos(t), math.sin(t)], -1))
    for i in range(n_in):
        t = math.pi * i / max(n_in - 1, 1)
        points.append(([1.0 - math.cos(t), 0.5 - math.sin(t)], 1))
    rng.shuffle(points)
    if noise:
        for xy, _ in points:
            xy[0] += rng.gauss(0.0, noise)
            xy[1] += rng.gauss(0.0, noise)
    return [xy for xy, _ in points], [label for _, label in points]
