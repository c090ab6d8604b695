"""The operations: one ``Function`` each, with a forward on arrays and a small backward.

Each ``backward`` receives dL/d(output) and returns dL/d(input) for every input, of the
input's shape. Inputs that were broadcast get their gradient summed back to their own
shape with ``unbroadcast``. The plain functions at the end (``add``, ``matmul``, ``tanh``...)
check shapes, then apply the Function: they take Tensors, arrays or numbers, and return a
Tensor if an input is one, an array otherwise.

Every ``backward`` is written with what arrays and Tensors share, so that it runs on
Tensors too and its result can be differentiated again (``create_graph=True``): operators,
the methods ``.sum``, ``.reshape``, ``.swapaxes``, the plain functions of this module, and
the NumPy functions a Tensor takes over (``NUMPY_FUNCTIONS``). A NumPy ufunc such as
``np.exp`` refuses Tensors: use ``exp``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pancake.autograd.tensor import Axis, Function, Shape, Tensor
from pancake.ops import log_softmax as log_softmax_array
from pancake.ops import sigmoid as sigmoid_array

# -- shapes: broadcasting forwards, its reduction backwards, and clear errors -----------


def unbroadcast(grad: np.ndarray, shape: Shape) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched: ``(*broadcast) -> shape``.

    An input of shape ``(3, 1)`` that met one of shape ``(2, 3, 4)`` was copied along a new
    leading axis of 2 and stretched to 4 along its last axis: each of its entries was used
    8 times, and its gradient is the sum of the gradients of those 8 uses.
    """
    ### BEGIN SOLUTION
    if grad.shape == shape:  # nothing was broadcast
        return grad
    added_axes = tuple(range(grad.ndim - len(shape)))
    grad = grad.sum(axis=added_axes)
    stretched_axes = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched_axes, keepdims=True)
    ### END SOLUTION


def shape_of(value) -> Shape:
    """The shape of a Tensor, an array or a number."""
    return value.shape if isinstance(value, Tensor) else np.shape(value)


def check_broadcast(symbol: str, a, b) -> None:
    """Raise a ValueError naming both shapes unless ``a`` and ``b`` broadcast together."""
    try:
        np.broadcast_shapes(shape_of(a), shape_of(b))
    except ValueError:
        raise ValueError(
            f"Tensor {symbol}: shapes {shape_of(a)} and {shape_of(b)} cannot be broadcast"
        ) from None


def check_matmul(a, b) -> None:
    """Raise a ValueError naming both shapes unless ``a @ b`` is defined."""
    a_shape, b_shape = shape_of(a), shape_of(b)
    if not a_shape or not b_shape:
        raise ValueError(f"Tensor @: shapes {a_shape} and {b_shape}: @ needs at least one axis")
    inner_b = b_shape[-2] if len(b_shape) > 1 else b_shape[0]
    if a_shape[-1] != inner_b:
        raise ValueError(f"Tensor @: shapes {a_shape} and {b_shape} are not aligned")
    try:
        np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    except ValueError:
        raise ValueError(
            f"Tensor @: shapes {a_shape} and {b_shape}: batch axes cannot be broadcast"
        ) from None


def keepdims_shape(shape: Shape, axis: Axis) -> Shape:
    """The shape of a reduction over ``axis`` with ``keepdims=True``: reduced axes become 1."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if i in axes else size for i, size in enumerate(shape))


# -- the operations ---------------------------------------------------------------------


class Add(Function):
    """a + b, broadcast: ``(*a), (*b) -> broadcast shape``."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, grad):
        a_shape, b_shape = self.shapes
        return unbroadcast(grad, a_shape), unbroadcast(grad, b_shape)


class Sub(Function):
    """a - b, broadcast: ``(*a), (*b) -> broadcast shape``."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, grad):
        a_shape, b_shape = self.shapes
        return unbroadcast(grad, a_shape), unbroadcast(-grad, b_shape)


class Mul(Function):
    """a * b, broadcast: ``(*a), (*b) -> broadcast shape``."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, grad):
        a, b = self.saved_tensors
        ### BEGIN SOLUTION
        return unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)
        ### END SOLUTION


class Div(Function):
    """a / b, broadcast: ``(*a), (*b) -> broadcast shape``."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, grad):
        a, b = self.saved_tensors
        return unbroadcast(grad / b, a.shape), unbroadcast(-grad * a / (b * b), b.shape)


class Pow(Function):
    """x ** exponent for a constant number ``exponent``: ``(*) -> (*)``."""

    def __init__(self, exponent: float):
        self.exponent = exponent

    def forward(self, x):
        self.save_for_backward(x)
        return x**self.exponent

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * self.exponent * x ** (self.exponent - 1)


class Neg(Function):
    """-x: ``(*) -> (*)``."""

    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class Matmul(Function):
    """a @ b, operands of two axes or more, batch axes broadcast: ``(*, n, k), (*, k, m) -> (*, n, m)``."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, grad):
        a, b = self.saved_tensors
        ### BEGIN SOLUTION
        grad_a = grad @ np.swapaxes(b, -1, -2)
        grad_b = np.swapaxes(a, -1, -2) @ grad
        return unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape)
        ### END SOLUTION


class Sum(Function):
    """Sum over ``axis`` (all if None): ``(*) -> (*)`` less the reduced axes unless keepdims."""

    def __init__(self, axis: Axis = None, keepdims: bool = False):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        self.input_shape = x.shape
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad):
        ### BEGIN SOLUTION
        # Every input entry contributed once to its sum: copy the gradient back along the axes.
        grad = grad.reshape(keepdims_shape(self.input_shape, self.axis))
        return np.broadcast_to(grad, self.input_shape)
        ### END SOLUTION


class Max(Function):
    """Maximum over ``axis`` (all if None): ``(*) -> (*)`` less the reduced axes unless keepdims.

    Where several entries tie for the maximum, the gradient is split equally among them
    (a choice: any split that sums to the gradient is a valid subgradient; PyTorch's
    ``amax`` makes the same choice).
    """

    def __init__(self, axis: Axis = None, keepdims: bool = False):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        largest = x.max(axis=self.axis, keepdims=True)
        is_max = x == largest
        self.save_for_backward(is_max / is_max.sum(axis=self.axis, keepdims=True))
        return largest if self.keepdims else np.squeeze(largest, axis=self.axis)

    def backward(self, grad):
        (share,) = self.saved_tensors
        return grad.reshape(keepdims_shape(share.shape, self.axis)) * share


class BroadcastTo(Function):
    """Copy ``x`` along the axes it broadcasts to, as ``np.broadcast_to``: ``(*x) -> shape``."""

    def __init__(self, shape: Shape):
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        return np.broadcast_to(x, self.shape)

    def backward(self, grad):
        return unbroadcast(grad, self.input_shape)


class Reshape(Function):
    """The same entries in a new shape: ``(*) -> shape``."""

    def __init__(self, shape: Shape):
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, grad):
        return grad.reshape(self.input_shape)


class Transpose(Function):
    """Permute the axes (reverse them if ``axes`` is None): ``(d0, d1, ...) -> (d[axes[0]], ...)``."""

    def __init__(self, axes: Sequence[int] | None = None):
        self.axes = axes

    def forward(self, x):
        return np.transpose(x, self.axes)

    def backward(self, grad):
        # The inverse permutation puts every axis back where it came from.
        inverse = None if self.axes is None else np.argsort([a % grad.ndim for a in self.axes])
        return np.transpose(grad, inverse)


class GetItem(Function):
    """x[index] for ints, slices and integer arrays: ``(*) -> shape of x[index]``."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.input_shape = x.shape
        return x[self.index]

    def backward(self, grad):
        return scatter_add(grad, self.index, self.input_shape)


class ScatterAdd(Function):
    """Zeros of ``shape`` to which ``x`` is added at ``index`` (the backward of ``x[index]``).

    ``(shape of zeros[index]) -> shape``. ``np.add.at`` adds once per use, so an entry
    picked twice by ``index`` receives both values.
    """

    def __init__(self, index, shape: Shape):
        self.index = index
        self.shape = shape

    def forward(self, x):
        result = np.zeros(self.shape, dtype=x.dtype)
        np.add.at(result, self.index, x)
        return result

    def backward(self, grad):
        return grad[self.index]


class Concatenate(Function):
    """Join arrays along ``axis``: ``(*, n1, *), (*, n2, *), ... -> (*, n1 + n2 + ..., *)``."""

    def __init__(self, axis: int = 0):
        self.axis = axis

    def forward(self, *arrays):
        self.axis = self.axis % arrays[0].ndim
        self.sizes = [array.shape[self.axis] for array in arrays]
        return np.concatenate(arrays, axis=self.axis)

    def backward(self, grad):
        # Each input gets back its own slice of the gradient along the joined axis.
        before = (slice(None),) * self.axis
        ends = np.cumsum(self.sizes)
        return tuple(
            grad[(*before, slice(end - size, end))]
            for size, end in zip(self.sizes, ends, strict=True)
        )


class Exp(Function):
    """exp(x): ``(*) -> (*)``."""

    def forward(self, x):
        y = np.exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        ### BEGIN SOLUTION
        return grad * y
        ### END SOLUTION


class Sin(Function):
    """sin(x): ``(*) -> (*)``."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.sin(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        ### BEGIN SOLUTION
        return grad * cos(x)
        ### END SOLUTION


class Cos(Function):
    """cos(x): ``(*) -> (*)``."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.cos(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return -grad * sin(x)


class Softplus(Function):
    """log(1 + exp(x)), computed without overflow: ``(*) -> (*)``."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.logaddexp(0, x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        ### BEGIN SOLUTION
        return grad * sigmoid(x)
        ### END SOLUTION


class Log(Function):
    """Natural logarithm of positive x: ``(*) -> (*)``."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.log(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / x


class Tanh(Function):
    """tanh(x): ``(*) -> (*)``."""

    def forward(self, x):
        y = np.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        ### BEGIN SOLUTION
        return grad * (1 - y * y)
        ### END SOLUTION


class Sigmoid(Function):
    """1 / (1 + exp(-x)), computed without overflow: ``(*) -> (*)``."""

    def forward(self, x):
        y = sigmoid_array(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * y * (1 - y)


class Relu(Function):
    """max(x, 0): ``(*) -> (*)``."""

    def forward(self, x):
        self.save_for_backward(x > 0)
        return np.maximum(x, 0)

    def backward(self, grad):
        (positive,) = self.saved_tensors
        return grad * positive


class Elu(Function):
    """x for x > 0, alpha (exp(x) - 1) otherwise: ``(*) -> (*)``."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def forward(self, x):
        y = np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))
        self.save_for_backward(x > 0, y)
        return y

    def backward(self, grad):
        positive, y = self.saved_tensors
        # The slope is 1 for x > 0; for x <= 0, alpha·exp(x) equals the output plus alpha.
        return grad * (positive + ~positive * (y + self.alpha))


class LogSoftmax(Function):
    """x - log(sum(exp(x))) along ``axis``, stable for any magnitude: ``(*) -> (*)``."""

    def __init__(self, axis: int = -1):
        self.axis = axis

    def forward(self, x):
        y = log_softmax_array(x, axis=self.axis)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        # dy_i/dx_j = δ_ij - softmax_j, and softmax = exp(y).
        (y,) = self.saved_tensors
        return grad - exp(y) * grad.sum(axis=self.axis, keepdims=True)


# -- functions on Tensors, arrays and numbers -------------------------------------------


def add(a, b):
    """a + b, broadcast: ``(*a), (*b) -> broadcast shape``."""
    check_broadcast("+", a, b)
    return Add.apply(a, b)


def sub(a, b):
    """a - b, broadcast: ``(*a), (*b) -> broadcast shape``."""
    check_broadcast("-", a, b)
    return Sub.apply(a, b)


def mul(a, b):
    """a * b, broadcast: ``(*a), (*b) -> broadcast shape``."""
    check_broadcast("*", a, b)
    return Mul.apply(a, b)


def div(a, b):
    """a / b, broadcast: ``(*a), (*b) -> broadcast shape``."""
    check_broadcast("/", a, b)
    return Div.apply(a, b)


def power(base, exponent):
    """base ** exponent, broadcast; a Tensor or array exponent needs a positive base.

    A number exponent is the Function ``Pow``; any other exponent is computed as
    exp(exponent · log(base)), so its gradient comes from Exp, Mul and Log.
    """
    if not isinstance(exponent, Tensor) and np.ndim(exponent) == 0:
        return Pow.apply(base, exponent=float(exponent))
    check_broadcast("**", base, exponent)
    return exp(mul(exponent, log(base)))


def matmul(a, b):
    """a @ b as in NumPy: ``(*, n, k) @ (*, k, m) -> (*, n, m)``; a 1-D operand is a row or column."""
    check_matmul(a, b)
    a_is_vector, b_is_vector = len(shape_of(a)) == 1, len(shape_of(b)) == 1
    if a_is_vector:
        a = reshape(a, (1, -1))
    if b_is_vector:
        b = reshape(b, (-1, 1))
    product = Matmul.apply(a, b)
    if a_is_vector or b_is_vector:
        drop = (-2,) * a_is_vector + (-1,) * b_is_vector
        product = reshape(product, tuple(np.delete(shape_of(product), drop)))
    return product


def reshape(x, shape: Shape):
    """The entries of ``x`` in a new shape."""
    return Reshape.apply(x, shape=shape)


def broadcast_to(x, shape: Shape):
    """``x`` copied along the axes it broadcasts to: ``(*x) -> shape``."""
    return BroadcastTo.apply(x, shape=tuple(shape))


def transpose(x, axes: Sequence[int] | None = None):
    """Permute the axes of ``x`` (reverse them if ``axes`` is None)."""
    return Transpose.apply(x, axes=None if axes is None else tuple(axes))


def swapaxes(x, axis1: int, axis2: int):
    """Exchange two axes of ``x``: ``swapaxes(x, -1, -2)`` transposes a batch of matrices."""
    axes = list(range(len(shape_of(x))))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes)


def scatter_add(x, index, shape: Shape):
    """Zeros of ``shape`` with ``x`` added at ``index``; entries picked twice get both."""
    return ScatterAdd.apply(x, index=index, shape=shape)


def exp(x):
    """exp(x), entry by entry: ``(*) -> (*)``."""
    return Exp.apply(x)


def sin(x):
    """sin(x), entry by entry: ``(*) -> (*)``."""
    return Sin.apply(x)


def softplus(x):
    """log(1 + exp(x)), entry by entry, a smooth ReLU: ``(*) -> (*)``."""
    return Softplus.apply(x)


def cos(x):
    """cos(x), entry by entry: ``(*) -> (*)``."""
    return Cos.apply(x)


def log(x):
    """Natural logarithm, entry by entry: ``(*) -> (*)``."""
    return Log.apply(x)


def tanh(x):
    """tanh(x), entry by entry: ``(*) -> (*)``."""
    return Tanh.apply(x)


def sigmoid(x):
    """1 / (1 + exp(-x)), entry by entry: ``(*) -> (*)``."""
    return Sigmoid.apply(x)


def relu(x):
    """max(x, 0), entry by entry: ``(*) -> (*)``."""
    return Relu.apply(x)


def elu(x, alpha: float = 1.0):
    """x for x > 0, alpha (exp(x) - 1) otherwise: ``(*) -> (*)``."""
    return Elu.apply(x, alpha=alpha)


def log_softmax(x, axis: int = -1):
    """Log-probabilities x - logsumexp(x) along ``axis``: ``(*) -> (*)``."""
    return LogSoftmax.apply(x, axis=axis)


def concatenate(xs: Sequence, axis: int = 0):
    """Join tensors (or arrays) along ``axis``: ``(*, n1, *), (*, n2, *) -> (*, n1 + n2, *)``."""
    return Concatenate.apply(*xs, axis=axis)


# The NumPy functions that, given a Tensor, run these versions (see Tensor.__array_function__):
# the backward passes use them on arrays and on Tensors alike.
NUMPY_FUNCTIONS = {
    np.broadcast_to: broadcast_to,
    np.swapaxes: swapaxes,
    np.transpose: transpose,
}
