"""Convolution and pooling on images in NCHW layout: ``(batch, channels, height, width)``.

A convolution looks at every ``kh x kw`` window of its input. ``unfold`` lists those
windows (without copying: a strided view), ``fold`` sends values given per window back
to the pixels they came from, adding where windows overlap. With them a convolution is
one matrix product (im2col) and its backward pass two more.

Both work on channels-last images ``(N, H, W, C)``: a window is then ``kh`` runs of
``kw * C`` neighbouring numbers in memory, which NumPy copies many times faster than the
scattered single numbers of a channels-first window. The layers take and return NCHW
arrays, as PyTorch's do; ``x.transpose(0, 2, 3, 1)`` is the channels-last view of one.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from pancake import init
from pancake.nn.module import Module, Parameter
from pancake.ops import as_float_array

Pair = tuple[int, int]


def pair(value: int | tuple[int, int], name: str) -> Pair:
    """``3 -> (3, 3)``, ``(3, 5) -> (3, 5)``: a size given for both image axes."""
    values = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(values) != 2 or not all(isinstance(v, int | np.integer) for v in values):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(values[0]), int(values[1])


def unfold(x: np.ndarray, kernel: Pair, stride: Pair) -> np.ndarray:
    """Every window of channels-last ``x``, a view: ``(N, H, W, C) -> (N, H', W', kh, kw, C)``.

    ``unfold(x, k, s)[n, i, j]`` is the window ``x[n, i*sh : i*sh+kh, j*sw : j*sw+kw, :]``,
    with ``H' = (H - kh) // sh + 1`` windows down and ``W' = (W - kw) // sw + 1`` across.
    """
    windows = sliding_window_view(x, kernel, axis=(1, 2))  # (N, H-kh+1, W-kw+1, C, kh, kw)
    return windows[:, :: stride[0], :: stride[1]].transpose(0, 1, 2, 4, 5, 3)


def offset_pixels(offset: Pair, windows: Pair, stride: Pair) -> tuple[slice, ...]:
    """Where entry ``offset = (p, q)`` of every window lies in a channels-last image.

    For ``windows = (H', W')`` windows ``stride`` apart, ``image[offset_pixels(...)]`` is
    the ``(N, H', W', C)`` view whose ``[n, i, j]`` is ``image[n, i*sh + p, j*sw + q]``.
    """
    (p, q), (out_h, out_w), (sh, sw) = offset, windows, stride
    return np.s_[:, p : p + sh * out_h : sh, q : q + sw * out_w : sw]


def fold(windows: np.ndarray, input_shape: tuple, stride: Pair) -> np.ndarray:
    """The reverse of ``unfold``, adding overlaps: ``(N, H', W', kh, kw, C) -> (N, H, W, C)``.

    Each window's values go back to the pixels the window covered; a pixel in several
    windows receives the sum. This is the backward pass of ``unfold``.
    """
    n, out_h, out_w, kh, kw, channels = windows.shape
    if stride == (kh, kw) and tuple(input_shape[1:3]) == (out_h * kh, out_w * kw):
        # The windows tile the image (as MaxPool2d(2) on an even size): each pixel is in
        # exactly one window, so one copy puts every value in place, with nothing to add.
        result = np.empty(input_shape, dtype=windows.dtype)
        result.reshape(n, out_h, kh, out_w, kw, channels)[...] = windows.transpose(0, 1, 3, 2, 4, 5)
        return result
    result = np.zeros(input_shape, dtype=windows.dtype)
    # One slice per kernel offset (kh * kw of them), each covering all windows at once.
    for p in range(kh):
        for q in range(kw):
            result[offset_pixels((p, q), (out_h, out_w), stride)] += windows[:, :, :, p, q]
    return result


def check_images(module: Module, x, channels: int | None, kernel: Pair, padding: Pair = (0, 0)):
    """``x`` as a float array of shape ``(N, C, H, W)`` with room for one window; else an error.

    ``channels`` is the required ``C`` (None: any). Returns the array.
    """
    x = as_float_array(x, module)
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
        n, _, height, width = x.shape
        (ph, pw), c_out = self.padding, self.out_channels
        padded = np.zeros((n, height + 2 * ph, width + 2 * pw, self.in_channels), dtype=x.dtype)
        padded[:, ph : ph + height, pw : pw + width] = x.transpose(0, 2, 3, 1)
        windows = unfold(padded, self.kernel_size, self.stride)  # (N, H', W', kh, kw, C_in)
        out_h, out_w = windows.shape[1:3]
        # im2col: one row per output position, one column per (kernel offset, channel).
        columns = windows.reshape(n * out_h * out_w, -1)
        self.save_for_backward(columns, padded.shape)
        kernels = self.weight.data.transpose(0, 2, 3, 1).reshape(c_out, -1)  # like the columns
        output = columns @ kernels.T  # (N*H'*W', C_out)
        if self.bias is not None:
            output += self.bias.data
        return output.reshape(n, out_h, out_w, c_out).transpose(0, 3, 1, 2)
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(N, C_out, H', W') -> (N, C_in, H, W)``; accumulates weight and bias gradients.

        Returns None when ``needs_input_grad`` is False (a first layer, whose input is data).
        """
        grad_output = self.check_grad_output(grad_output)
        ### BEGIN SOLUTION
        columns, padded_shape = self.saved_tensors
        n, c_out, out_h, out_w = grad_output.shape
        kh, kw = self.kernel_size
        # One row per output position, as the columns: (N*H'*W', C_out).
        grad_rows = grad_output.transpose(0, 2, 3, 1).reshape(-1, c_out)
        grad_kernels = (grad_rows.T @ columns).reshape(c_out, kh, kw, self.in_channels)
        self.weight.grad += grad_kernels.transpose(0, 3, 1, 2)
        if self.bias is not None:
            # The sum of the rows, as a product with ones: NumPy sums a tall, narrow
            # matrix down its rows slowly, 16 or 32 numbers at a time; BLAS does not.
            self.bias.grad += np.ones(len(grad_rows), grad_rows.dtype) @ grad_rows
        ### END SOLUTION
        if not self.needs_input_grad:
            return None  # the input is data: skip the largest product of the step
        ### BEGIN SOLUTION
        # fold, one kernel offset at a time: entry (p, q) of every window sends
        # grad_rows @ weight[:, :, p, q] back to the pixel it saw; overlapping windows add.
        grad_padded = np.zeros(padded_shape, dtype=grad_rows.dtype)
        for p in range(kh):
            for q in range(kw):
                grad_entries = grad_rows @ self.weight.data[:, :, p, q]  # (N*H'*W', C_in)
                grad_padded[offset_pixels((p, q), (out_h, out_w), self.stride)] += (
                    grad_entries.reshape(n, out_h, out_w, -1)
                )
        (ph, pw), (_, height, width, _) = self.padding, padded_shape
        return grad_padded[:, ph : height - ph, pw : width - pw].transpose(0, 3, 1, 2)
        ### END SOLUTION

    def extra_repr(self) -> str:
        bias = "" if self.bias is not None else ", bias=False"
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}{bias}"
        )


class Pool2d(Module):
    """What MaxPool2d and AvgPool2d share: windows ``kernel_size`` wide, ``stride`` apart.

    By default ``stride = kernel_size``: windows side by side, without overlap.
    """

    def __init__(self, kernel_size: int | Pair, stride: int | Pair | None = None):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError(f"{self!r} needs positive sizes")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class MaxPool2d(Pool2d):
    """The largest value of each window, per channel: ``(N, C, H, W) -> (N, C, H', W')``.

    Where a window holds several equal maxima the gradient goes to the first one (in
    row-major order), as in PyTorch.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, H, W) -> (N, C, H', W')``."""
        x = check_images(self, x, None, self.kernel_size)
        windows = unfold(x.transpose(0, 2, 3, 1), self.kernel_size, self.stride)
        n, out_h, out_w, kh, kw, channels = windows.shape
        # Entry k = p * kw + q of every window, copied into one image per kernel offset.
        entries = windows.transpose(3, 4, 0, 1, 2, 5).reshape(kh * kw, n, out_h, out_w, channels)
        output = entries.max(axis=0)  # (N, H', W', C)
        # is_winner[k] marks the windows whose first maximum is entry k: one per window.
        is_winner = entries == output
        found = is_winner[0].copy()
        for k in range(1, kh * kw):
            is_winner[k] &= ~found  # an equal maximum found earlier keeps the gradient
            found |= is_winner[k]
        self.save_for_backward(is_winner, x.shape)
        return output.transpose(0, 3, 1, 2)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(N, C, H', W') -> (N, C, H, W)``: each window's gradient goes to its maximum."""
        grad_output = self.check_grad_output(grad_output)
        ### BEGIN SOLUTION
        is_winner, (n, channels, height, width) = self.saved_tensors
        kh, kw = self.kernel_size
        # Each window's whole gradient at its winning entry, zero at the others.
        grad_entries = is_winner * grad_output.transpose(0, 2, 3, 1)  # (kh*kw, N, H', W', C)
        grad_entries = grad_entries.reshape(kh, kw, *grad_entries.shape[1:])
        grad_windows = grad_entries.transpose(2, 3, 4, 0, 1, 5)  # (N, H', W', kh, kw, C)
        # fold sends each entry back to its pixel, adding where overlapping windows share one.
        grad = fold(grad_windows, (n, height, width, channels), self.stride)
        return grad.transpose(0, 3, 1, 2)
        ### END SOLUTION


class AvgPool2d(Pool2d):
    """The mean of each window, per channel: ``(N, C, H, W) -> (N, C, H', W')``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, H, W) -> (N, C, H', W')``."""
        x = check_images(self, x, None, self.kernel_size)
        self.save_for_backward(x.shape)
        windows = unfold(x.transpose(0, 2, 3, 1), self.kernel_size, self.stride)
        return windows.mean(axis=(3, 4)).transpose(0, 3, 1, 2)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(N, C, H', W') -> (N, C, H, W)``: each window shares its gradient equally."""
        grad_output = self.check_grad_output(grad_output)
        (n, channels, height, width) = self.saved_tensors[0]
        kh, kw = self.kernel_size
        share = grad_output.transpose(0, 2, 3, 1) / (kh * kw)  # (N, H', W', C)
        windows = np.broadcast_to(share[:, :, :, None, None], (*share.shape[:3], kh, kw, channels))
        return fold(windows, (n, height, width, channels), self.stride).transpose(0, 3, 1, 2)


class Flatten(Module):
    """Flatten all but the batch axis: ``(N, *) -> (N, prod(*))``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, *) -> (N, prod(*))``."""
        x = as_float_array(x, self)
        if x.ndim < 1:
            raise ValueError(f"{self!r} expects an input with a batch axis, got shape {x.shape}")
        self.save_for_backward(x.shape)
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """``(N, prod(*)) -> (N, *)``."""
        grad_output = self.check_grad_output(grad_output)
        (input_shape,) = self.saved_tensors
        return grad_output.reshape(input_shape)
