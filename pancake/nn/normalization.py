"""Normalisation layers: BatchNorm (statistics over the batch) and LayerNorm (over features).

Both standardise their input, ``x_hat = (x - mean) / sqrt(var + eps)``, then scale and
shift it by learned ``weight`` and ``bias``. They differ in the axes the mean and the
variance are taken over, and BatchNorm keeps running estimates for evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pancake.nn.module import Module, Parameter
from pancake.ops import as_float_array

Axes = tuple[int, ...]


def standardize(x: np.ndarray, mean: np.ndarray, var: np.ndarray, eps: float):
    """``(x - mean) / sqrt(var + eps)`` and ``1 / sqrt(var + eps)``; shapes broadcast with ``x``."""
    inv_std = 1 / np.sqrt(var + eps)
    return (x - mean) * inv_std, inv_std


def standardize_backward(
    grad_x_hat: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, axes: Axes
) -> np.ndarray:
    """dL/dx for ``x_hat = standardize(x, mean(x), var(x), eps)``, statistics over ``axes``.

    ``grad_x_hat`` and ``x_hat`` have the shape of ``x``; ``inv_std`` has size 1 along
    ``axes``. The mean and the variance depend on every ``x`` they summarise, hence the
    two terms subtracted from ``grad_x_hat``.
    """
    ### BEGIN SOLUTION
    mean_grad = grad_x_hat.mean(axis=axes, keepdims=True)
    mean_grad_along_x_hat = (grad_x_hat * x_hat).mean(axis=axes, keepdims=True)
    return inv_std * (grad_x_hat - mean_grad - x_hat * mean_grad_along_x_hat)
    ### END SOLUTION


class BatchNorm(Module):
    """BatchNorm1d and BatchNorm2d: standardise each channel over the batch, scale and shift.

    ``(N, C, *) -> (N, C, *)``, statistics per channel over every axis but the second.

    In training mode the mean and (biased) variance are those of the batch, and the
    running estimates move towards them: ``running = (1 - momentum) * running + momentum *
    batch_statistic``, with the unbiased variance (``n / (n - 1)`` times the biased one, n
    values per channel), as in PyTorch. In eval mode the running estimates are used.
    ``weight`` (ones) and ``bias`` (zeros) have shape ``(num_features,)``;
    ``running_mean`` (zeros) and ``running_var`` (ones) are buffers, saved in the state dict.
    Subclasses set ``input_axes``, the names of the input's axes, channels second.
    """

    input_axes: tuple[str, ...] = ()

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, *, dtype=np.float64
    ):
        super().__init__()
        if num_features < 1:
            raise ValueError(f"{type(self).__name__} needs num_features >= 1, got {num_features}")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = Parameter(np.ones(num_features, dtype=dtype))
        self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype=dtype))

    @property
    def reduce_axes(self) -> Axes:
        """The axes the statistics are taken over: all but the channel axis (1)."""
        return (0, *range(2, len(self.input_axes)))

    def per_channel(self, values: np.ndarray) -> np.ndarray:
        """``(C,)`` reshaped to broadcast against the input: ``(1, C)`` or ``(1, C, 1, 1)``."""
        return values.reshape(1, -1, *[1] * (len(self.input_axes) - 2))

    def check_input(self, x) -> np.ndarray:
        """``x`` as a float array of the expected rank and channels; else a clear error."""
        x = as_float_array(x, self)
        if x.ndim != len(self.input_axes) or x.shape[1] != self.num_features:
            expected = ", ".join((self.input_axes[0], str(self.num_features), *self.input_axes[2:]))
            raise ValueError(f"{self!r} expects inputs of shape ({expected}), got shape {x.shape}")
        if self.training and x.size == self.num_features:
            raise ValueError(
                f"{self!r} in training mode needs more than one value per channel to "
                f"estimate a variance, got input of shape {x.shape}: use a batch of at "
                "least 2, or call .eval() to use the running statistics"
            )
        return x

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, *) -> (N, C, *)``: standardise per channel, then ``* weight + bias``."""
        x = self.check_input(x)
        ### BEGIN SOLUTION
        if self.training:
            mean = x.mean(axis=self.reduce_axes)
            var = x.var(axis=self.reduce_axes)
            count = x.size // self.num_features  # values per channel
            unbiased_var = var * count / (count - 1)
            m = self.momentum
            self.running_mean[...] = (1 - m) * self.running_mean + m * mean
            self.running_var[...] = (1 - m) * self.running_var + m * unbiased_var
        else:
            mean, var = self.running_mean, self.running_var
        x_hat, inv_std = standardize(x, self.per_channel(mean), self.per_channel(var), self.eps)
        self.save_for_backward(x_hat, inv_std, self.training)
        return x_hat * self.per_channel(self.weight.data) + self.per_channel(self.bias.data)
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(N, C, *) -> (N, C, *)``; accumulates weight and bias gradients."""
        grad_output = self.check_grad_output(grad_output)
        ### BEGIN SOLUTION
        x_hat, inv_std, batch_statistics = self.saved_tensors
        self.weight.grad += (grad_output * x_hat).sum(axis=self.reduce_axes)
        self.bias.grad += grad_output.sum(axis=self.reduce_axes)
        grad_x_hat = grad_output * self.per_channel(self.weight.data)
        if batch_statistics:  # the mean and variance depend on x too
            return standardize_backward(grad_x_hat, x_hat, inv_std, self.reduce_axes)
        return grad_x_hat * inv_std
        ### END SOLUTION

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(BatchNorm):
    """Batch normalisation of features: ``(N, C) -> (N, C)``, statistics over the batch."""

    input_axes = ("batch", "num_features")


class BatchNorm2d(BatchNorm):
    """Batch normalisation of images: ``(N, C, H, W) -> (N, C, H, W)``, statistics over N, H, W."""

    input_axes = ("batch", "channels", "height", "width")


class LayerNorm(Module):
    """Standardise each example over its last axes, then scale and shift: ``(*, *shape) -> same``.

    ``normalized_shape`` (an int or a tuple) is the shape of those last axes; the mean and
    the (biased) variance are taken over them, separately for every leading index, so
    training and evaluation compute the same thing. ``weight`` (ones) and ``bias`` (zeros)
    have shape ``normalized_shape``.
    """

    def __init__(
        self, normalized_shape: int | Sequence[int], eps: float = 1e-5, *, dtype=np.float64
    ):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(int(size) for size in shape)
        if not self.normalized_shape or min(self.normalized_shape) < 1:
            raise ValueError(f"LayerNorm needs positive sizes, got {normalized_shape!r}")
        self.eps = eps
        self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))

    @property
    def reduce_axes(self) -> Axes:
        """The last ``len(normalized_shape)`` axes, counted from the end."""
        return tuple(range(-len(self.normalized_shape), 0))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(*, *normalized_shape) -> (*, *normalized_shape)``."""
        x = as_float_array(x, self)
        count = len(self.normalized_shape)
        if x.shape[x.ndim - count :] != self.normalized_shape:
            raise ValueError(
                f"{self!r} expects inputs whose last axes are {self.normalized_shape}, "
                f"got shape {x.shape}"
            )
        mean = x.mean(axis=self.reduce_axes, keepdims=True)
        var = x.var(axis=self.reduce_axes, keepdims=True)
        x_hat, inv_std = standardize(x, mean, var, self.eps)
        self.save_for_backward(x_hat, inv_std)
        return x_hat * self.weight.data + self.bias.data

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(*, *normalized_shape) -> (*, *normalized_shape)``; accumulates weight and bias gradients."""
        grad_output = self.check_grad_output(grad_output)
        x_hat, inv_std = self.saved_tensors
        leading = tuple(range(grad_output.ndim - len(self.normalized_shape)))
        self.weight.grad += (grad_output * x_hat).sum(axis=leading)
        self.bias.grad += grad_output.sum(axis=leading)
        grad_x_hat = grad_output * self.weight.data
        return standardize_backward(grad_x_hat, x_hat, inv_std, self.reduce_axes)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"
