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


@st.composite
def conv_settings(draw, max_kernel: int = 5, max_stride: int = 3, max_padding: int = 2):
    """``(input_shape, kernel, stride, padding)`` for a Conv2d: each size a pair drawn apart.

    Kernels 1 to ``max_kernel``, strides 1 to ``max_stride``, paddings 0 to
    ``max_padding``; inputs ``(batch 1-4, channels 1-4, height, width)``, not necessarily
    square, whose padded images hold at least one window.
    """
    kernel = draw(st.tuples(st.integers(1, max_kernel), st.integers(1, max_kernel)))
    stride = draw(st.tuples(st.integers(1, max_stride), st.integers(1, max_stride)))
    padding = draw(st.tuples(st.integers(0, max_padding), st.integers(0, max_padding)))
    sides = [
        draw(st.integers(max(1, k - 2 * p), max(1, k - 2 * p) + 5))
        for k, p in zip(kernel, padding, strict=True)
    ]
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 4)), *sides)
    return shape, kernel, stride, padding


@st.composite
def pool_settings(draw, max_kernel: int = 5, max_stride: int = 3):
    """``(input_shape, kernel, stride)`` for a pooling layer, as ``conv_settings`` without padding."""
    shape, kernel, stride, _ = draw(conv_settings(max_kernel, max_stride, max_padding=0))
    return shape, kernel, stride


def distinct_values(shape: tuple, seed: int, gap: float = 0.1) -> np.ndarray:
    """An array of ``shape`` whose entries all differ by at least ``gap``, in random order.

    For max pooling: finite differences never change which entry of a window is largest.
    """
    size = int(np.prod(shape))
    order = np.random.default_rng(seed).permutation(size)
    return (gap * (order - size / 2)).reshape(shape)
