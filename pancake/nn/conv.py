"""Convolution and pooling on images in NCHW layout: ``(batch, channels, height, width)``.

A convolution looks at every ``kh x kw`` window of its input. ``unfold`` lists those
windows (without copying: a strided view), ``fold`` sends values given per window back
to the pixels they came from, adding where windows overlap. With them a convolution is
one matrix product (im2col) and its backward pass two more.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from pancake import init
from pancake.nn._checks import as_float_array
from pancake.nn.module import Module, Parameter

Pair = tuple[int, int]


def pair(value: int | tuple[int, int], name: str) -> Pair:
    """``3 -> (3, 3)``, ``(3, 5) -> (3, 5)``: a size given for both image axes."""
    values = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(values) != 2 or not all(isinstance(v, int | np.integer) for v in values):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(values[0]), int(values[1])


def output_size(size: int, kernel: int, stride: int) -> int:
    """The number of windows of width ``kernel``, ``stride`` apart, that fit in ``size``."""
    return (size - kernel) // stride + 1


def unfold(x: np.ndarray, kernel: Pair, stride: Pair) -> np.ndarray:
    """Every window of ``x``, a read-only view: ``(N, C, H, W) -> (N, C, out_h, out_w, kh, kw)``.

    ``unfold(x, k, s)[n, c, i, j]`` is the window ``x[n, c, i*sh : i*sh+kh, j*sw : j*sw+kw]``.
    """
    windows = sliding_window_view(x, kernel, axis=(2, 3))
    return windows[:, :, :: stride[0], :: stride[1]]


def fold(windows: np.ndarray, input_shape: tuple, stride: Pair) -> np.ndarray:
    """The reverse of ``unfold``, adding overlaps: ``(N, C, out_h, out_w, kh, kw) -> input_shape``.

    Each window's values go back to the pixels the window covered; a pixel in several
    windows receives the sum. This is the backward pass of ``unfold``.
    """
    _, _, out_h, out_w, kh, kw = windows.shape
    sh, sw = stride
    result = np.zeros(input_shape, dtype=windows.dtype)
    # One slice per kernel offset (kh * kw of them), each covering all windows at once.
    for p in range(kh):
        for q in range(kw):
            result[:, :, p : p + sh * out_h : sh, q : q + sw * out_w : sw] += windows[..., p, q]
    return result


def check_images(module: Module, x, channels: int | None, kernel: Pair, padding: Pair = (0, 0)):
    """``x`` as a float array of shape ``(N, C, H, W)`` with room for one window; else an error.

    ``channels`` is the required ``C`` (None: any). Returns the array.
    """
    x = as_float_array(module, x)
    expected = f"(batch, {channels if channels is not None else 'channels'}, height, width)"
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        raise ValueError(f"{module!r} expects inputs of shape {expected}, got shape {x.shape}")
    height, width = x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]
    if height < kernel[0] or width < kernel[1]:
        padded = f" ({height}x{width} with padding)" if padding != (0, 0) else ""
        raise ValueError(
            f"{module!r}: input of shape {x.shape} has images of {x.shape[2]}x{x.shape[3]}"
            f"{padded}, smaller than the {kernel[0]}x{kernel[1]} kernel"
        )
    return x


class Conv2d(Module):
    """2-D convolution (cross-correlation, as in PyTorch): ``(N, C_in, H, W) -> (N, C_out, H', W')``.

    ``out[n, o, i, j] = bias[o] + sum_{c,p,q} weight[o, c, p, q] * x_pad[n, c, i*sh+p, j*sw+q]``
    where ``x_pad`` is ``x`` with ``padding`` zeros on each side, and
    ``H' = (H + 2*ph - kh) // sh + 1`` (likewise ``W'``).
    ``weight`` has shape ``(out_channels, in_channels, kh, kw)`` and ``bias``
    ``(out_channels,)``; both start as U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
    ``fan_in = in_channels * kh * kw``, as in PyTorch.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Pair,
        stride: int | Pair = 1,
        padding: int | Pair = 0,
        bias: bool = True,
        *,
        rng: init.Seed = None,
        dtype=np.float64,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = pair(stride, "stride")
        self.padding = pair(padding, "padding")
        if min(in_channels, out_channels, *self.kernel_size, *self.stride) < 1:
            raise ValueError(
                f"Conv2d needs positive channels, kernel_size and stride, got {in_channels}, "
                f"{out_channels}, kernel_size={kernel_size}, stride={stride}"
            )
        if min(self.padding) < 0:
            raise ValueError(f"Conv2d needs padding >= 0, got padding={padding}")
        weight, bias_values = init.conv_weights(
            (out_channels, in_channels, *self.kernel_size), bias, rng=rng, dtype=dtype
        )
        self.weight = Parameter(weight)
        self.bias = None if bias_values is None else Parameter(bias_values)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C_in, H, W) -> (N, C_out, H', W')``."""
        x = check_images(self, x, self.in_channels, self.kernel_size, self.padding)
        ### BEGIN SOLUTION
        (ph, pw) = self.padding
        padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        windows = unfold(padded, self.kernel_size, self.stride)  # (N, C, H', W', kh, kw)
        n, _, out_h, out_w, _, _ = windows.shape
        # im2col: one row per output position, one column per (channel, kernel offset).
        columns = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * out_h * out_w, -1)
        self.save_for_backward(columns, padded.shape)
        kernels = self.weight.data.reshape(self.out_channels, -1)  # (C_out, C_in*kh*kw)
        output = columns @ kernels.T  # (N*H'*W', C_out)
        if self.bias is not None:
            output += self.bias.data
        return output.reshape(n, out_h, out_w, self.out_channels).transpose(0, 3, 1, 2)
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(N, C_out, H', W') -> (N, C_in, H, W)``; accumulates weight and bias gradients.

        Returns None when ``needs_input_grad`` is False (a first layer, whose input is data).
        """
        grad_output = self.check_grad_output(grad_output)
        ### BEGIN SOLUTION
        columns, padded_shape = self.saved_tensors
        n, _, out_h, out_w = grad_output.shape
        # One row per output position, as the columns: (N*H'*W', C_out).
        grad_rows = grad_output.transpose(0, 2, 3, 1).reshape(-1, self.out_channels)
        self.weight.grad += (grad_rows.T @ columns).reshape(self.weight.shape)
        if self.bias is not None:
            self.bias.grad += grad_rows.sum(axis=0)
        ### END SOLUTION
        if not self.needs_input_grad:
            return None  # the input is data: skip the largest product of the step
        ### BEGIN SOLUTION
        grad_columns = grad_rows @ self.weight.data.reshape(self.out_channels, -1)
        grad_windows = grad_columns.reshape(n, out_h, out_w, self.in_channels, *self.kernel_size)
        grad_padded = fold(grad_windows.transpose(0, 3, 1, 2, 4, 5), padded_shape, self.stride)
        (ph, pw) = self.padding
        return grad_padded[:, :, ph : padded_shape[2] - ph, pw : padded_shape[3] - pw]
        ### END SOLUTION

    def extra_repr(self) -> str:
        bias = "" if self.bias is not None else ", bias=False"
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}{bias}"
        )


class MaxPool2d(Module):
    """The largest value of each window, per channel: ``(N, C, H, W) -> (N, C, H', W')``.

    Windows are ``kernel_size`` wide and ``stride`` apart (by default ``stride =
    kernel_size``: windows side by side). Where a window holds several equal maxima the
    gradient goes to the first one (in row-major order), as in PyTorch.
    """

    def __init__(self, kernel_size: int | Pair, stride: int | Pair | None = None):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError(f"MaxPool2d needs positive sizes, got {self!r}")

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, H, W) -> (N, C, H', W')``."""
        x = check_images(self, x, None, self.kernel_size)
        windows = unfold(x, self.kernel_size, self.stride)
        flat = windows.reshape(*windows.shape[:4], -1)  # (N, C, H', W', kh*kw)
        winners = flat.argmax(axis=-1)  # the first maximum of each window
        self.save_for_backward(winners, x.shape)
        return np.take_along_axis(flat, winners[..., None], axis=-1)[..., 0]

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(N, C, H', W') -> (N, C, H, W)``: each window's gradient goes to its maximum."""
        grad_output = self.check_grad_output(grad_output)
        ### BEGIN SOLUTION
        winners, input_shape = self.saved_tensors
        kw = self.kernel_size[1]
        out_h, out_w = winners.shape[2:]
        # The row and column, in the input, of each window's maximum.
        rows = np.arange(out_h)[:, None] * self.stride[0] + winners // kw
        cols = np.arange(out_w)[None, :] * self.stride[1] + winners % kw
        images = np.arange(input_shape[0] * input_shape[1]).reshape(*input_shape[:2], 1, 1)
        flat_index = (images * input_shape[2] + rows) * input_shape[3] + cols
        # bincount adds the gradients of overlapping windows that share a maximum.
        grad = np.bincount(
            flat_index.ravel(), weights=grad_output.ravel(), minlength=math.prod(input_shape)
        )
        return grad.reshape(input_shape).astype(grad_output.dtype, copy=False)
        ### END SOLUTION

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class AvgPool2d(Module):
    """The mean of each window, per channel: ``(N, C, H, W) -> (N, C, H', W')``.

    Windows are ``kernel_size`` wide and ``stride`` apart (by default ``stride = kernel_size``).
    """

    def __init__(self, kernel_size: int | Pair, stride: int | Pair | None = None):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError(f"AvgPool2d needs positive sizes, got {self!r}")

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, H, W) -> (N, C, H', W')``."""
        x = check_images(self, x, None, self.kernel_size)
        self.save_for_backward(x.shape)
        return unfold(x, self.kernel_size, self.stride).mean(axis=(-2, -1))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(N, C, H', W') -> (N, C, H, W)``: each window shares its gradient equally."""
        grad_output = self.check_grad_output(grad_output)
        (input_shape,) = self.saved_tensors
        kh, kw = self.kernel_size
        share = grad_output / (kh * kw)
        windows = np.broadcast_to(share[..., None, None], (*share.shape, kh, kw))
        return fold(windows, input_shape, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class Flatten(Module):
    """Flatten all but the batch axis: ``(N, *) -> (N, prod(*))``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, *) -> (N, prod(*))``."""
        x = as_float_array(self, x)
        if x.ndim < 1:
            raise ValueError(f"{self!r} expects an input with a batch axis, got shape {x.shape}")
        self.save_for_backward(x.shape)
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(N, prod(*)) -> (N, *)``."""
        grad_output = self.check_grad_output(grad_output)
        (input_shape,) = self.saved_tensors
        return grad_output.reshape(input_shape)
