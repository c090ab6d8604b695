"""Hypothesis strategies for gradient checks: well-conditioned arrays, shapes, labels.

Arrays are drawn as a seed and a scale, then filled by ``np.random.Generator``: the values
are well spread (no denormals, no huge outliers), reproducible, and hypothesis still
shrinks a failure to a small shape. ``arrays(..., kink_margin=m)`` keeps every entry at
least ``m · scale`` away from 0, where ReLU-like functions have a kink.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

SCALES = (1e-2, 1e-1, 1.0, 1e1, 1e2)


def seeds() -> st.SearchStrategy[int]:
    """Seeds for ``np.random.default_rng``."""
    return st.integers(min_value=0, max_value=2**32 - 1)


def scales() -> st.SearchStrategy[float]:
    """Magnitudes of the inputs, from 1e-2 to 1e2."""
    return st.sampled_from(SCALES)


def batch_sizes(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[int]:
    """Batch sizes, 1 to 8 by default."""
    return st.integers(min_size, max_size)


def feature_sizes(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[int]:
    """Numbers of features, 1 to 8 by default."""
    return st.integers(min_size, max_size)


def shapes(min_dims: int = 1, max_dims: int = 3, max_side: int = 5) -> st.SearchStrategy[tuple]:
    """Array shapes with ``min_dims`` to ``max_dims`` axes of length 1 to ``max_side``."""
    return st.lists(st.integers(1, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


@st.composite
def broadcastable_shapes(
    draw, num_shapes: int = 2, max_dims: int = 3, max_side: int = 4
) -> tuple[tuple, ...]:
    """``num_shapes`` shapes that broadcast together, with prepended and stretched axes.

    Each is a shape of up to ``max_dims`` axes with some leading axes dropped (a scalar
    when all are) and some axes set to length 1.
    """
    full = draw(shapes(min_dims=0, max_dims=max_dims, max_side=max_side))
    result = []
    for _ in range(num_shapes):
        kept = full[len(full) - draw(st.integers(0, len(full))) :]
        stretched = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
        result.append(
            tuple(1 if stretch else side for stretch, side in zip(stretched, kept, strict=True))
        )
    return tuple(result)


@st.composite
def arrays(
    draw,
    shape: tuple | st.SearchStrategy[tuple],
    scale: float | st.SearchStrategy[float] = 1.0,
    kink_margin: float | None = None,
    dtype=np.float64,
) -> np.ndarray:
    """Normal(0, scale²) arrays of ``shape``; with ``kink_margin``, |x| >= kink_margin·scale."""
    shape = draw(shape) if isinstance(shape, st.SearchStrategy) else shape
    scale = draw(scale) if isinstance(scale, st.SearchStrategy) else scale
    values = np.random.default_rng(draw(seeds())).standard_normal(shape)
    if kink_margin is not None:
        values = np.sign(values) * (kink_margin + np.abs(values))
        values[values == 0] = kink_margin
    return (scale * values).astype(dtype)


@st.composite
def labels(draw, batch_size: int, num_classes: int) -> np.ndarray:
    """Integer class labels of shape ``(batch_size,)`` in ``[0, num_classes)``."""
    rng = np.random.default_rng(draw(seeds()))
    return rng.integers(0, num_classes, size=batch_size)


@st.composite
def probabilities(draw, shape: tuple, margin: float = 0.05) -> np.ndarray:
    """Values in ``[margin, 1 - margin]``, e.g. predictions for BCELoss away from 0 and 1."""
    rng = np.random.default_rng(draw(seeds()))
    return rng.uniform(margin, 1 - margin, size=shape)
