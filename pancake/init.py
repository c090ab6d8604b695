"""Weight initialisation: fresh arrays drawn with an explicit ``np.random.Generator``.

Weights follow pancake's layout ``(fan_in, fan_out)``: a ``Linear(in, out)`` weight has
shape ``(in, out)``.
"""

from __future__ import annotations

import math

import numpy as np

Shape = tuple[int, ...]
Seed = np.random.Generator | int | None


def as_generator(rng: Seed) -> np.random.Generator:
    """Turn a Generator, a seed or None into a ``np.random.Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def fans(shape: Shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape ``(fan_in, fan_out)``; a vector has fan_in = fan_out = size."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:])
    return shape[0] * receptive, shape[1] * receptive


def zeros(shape: Shape, *, dtype=np.float64) -> np.ndarray:
    """An array of zeros of ``shape``."""
    return np.zeros(shape, dtype=dtype)


def ones(shape: Shape, *, dtype=np.float64) -> np.ndarray:
    """An array of ones of ``shape``."""
    return np.ones(shape, dtype=dtype)


def normal(
    shape: Shape, *, rng: Seed = None, mean: float = 0.0, std: float = 1.0, dtype=np.float64
):
    """Samples of N(mean, std²) of ``shape``."""
    return (mean + std * as_generator(rng).standard_normal(shape)).astype(dtype)


def uniform(
    shape: Shape, *, rng: Seed = None, low: float = 0.0, high: float = 1.0, dtype=np.float64
):
    """Samples of U(low, high) of ``shape``."""
    return as_generator(rng).uniform(low, high, size=shape).astype(dtype)


def xavier_uniform(shape: Shape, *, rng: Seed = None, gain: float = 1.0, dtype=np.float64):
    """Glorot/Xavier uniform: U(-a, a) with a = gain·sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, rng=rng, low=-bound, high=bound, dtype=dtype)


def xavier_normal(shape: Shape, *, rng: Seed = None, gain: float = 1.0, dtype=np.float64):
    """Glorot/Xavier normal: N(0, std²) with std = gain·sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    return normal(shape, rng=rng, std=gain * math.sqrt(2.0 / (fan_in + fan_out)), dtype=dtype)


def kaiming_uniform(
    shape: Shape, *, rng: Seed = None, gain: float = math.sqrt(2.0), dtype=np.float64
):
    """He/Kaiming uniform (fan_in mode): U(-a, a) with a = gain·sqrt(3 / fan_in); gain √2 suits ReLU."""
    fan_in, _ = fans(shape)
    bound = gain * math.sqrt(3.0 / fan_in)
    return uniform(shape, rng=rng, low=-bound, high=bound, dtype=dtype)


def kaiming_normal(
    shape: Shape, *, rng: Seed = None, gain: float = math.sqrt(2.0), dtype=np.float64
):
    """He/Kaiming normal (fan_in mode): N(0, std²) with std = gain / sqrt(fan_in); gain √2 suits ReLU."""
    fan_in, _ = fans(shape)
    return normal(shape, rng=rng, std=gain / math.sqrt(fan_in), dtype=dtype)


glorot_uniform = xavier_uniform
glorot_normal = xavier_normal
he_uniform = kaiming_uniform
he_normal = kaiming_normal


def linear_weights(
    in_features: int, out_features: int, bias: bool = True, *, rng: Seed = None, dtype=np.float64
) -> tuple[np.ndarray, np.ndarray | None]:
    """A Linear layer's default start, as in PyTorch: weight ``(in, out)`` and bias ``(out,)``.

    Both are drawn from U(-1/sqrt(in_features), 1/sqrt(in_features)), weight first; the bias
    is None when ``bias`` is False.
    """
    rng = as_generator(rng)
    bound = 1.0 / math.sqrt(in_features)
    weight = uniform((in_features, out_features), rng=rng, low=-bound, high=bound, dtype=dtype)
    if not bias:
        return weight, None
    return weight, uniform((out_features,), rng=rng, low=-bound, high=bound, dtype=dtype)


def conv_weights(
    shape: Shape, bias: bool = True, *, rng: Seed = None, dtype=np.float64
) -> tuple[np.ndarray, np.ndarray | None]:
    """A Conv2d layer's default start, as in PyTorch: weight ``(out, in, kh, kw)``, bias ``(out,)``.

    Both are drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with ``fan_in = in * kh * kw``,
    weight first; the bias is None when ``bias`` is False.
    """
    rng = as_generator(rng)
    bound = 1.0 / math.sqrt(math.prod(shape[1:]))
    weight = uniform(shape, rng=rng, low=-bound, high=bound, dtype=dtype)
    if not bias:
        return weight, None
    return weight, uniform(shape[:1], rng=rng, low=-bound, high=bound, dtype=dtype)
