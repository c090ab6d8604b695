"""The Tensor, the Function it records, and backpropagation through the recorded graph.

Every operation on a ``Tensor`` runs at once on NumPy arrays (define-by-run, as in Chainer
and PyTorch) and, when an input requires a gradient, records itself: the output keeps the
``Function`` that made it (``grad_fn``), and the function keeps its inputs. The graph is
whatever ran, Python loops and branches included. ``loss.backward()`` walks that graph
from the loss back to the leaves in reverse topological order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from pancake.ops import as_float_array

Shape = tuple[int, ...]
Axis = int | tuple[int, ...] | None

_grad_enabled = True


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Inside ``with no_grad():`` operations record nothing (evaluation, parameter updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    """False inside ``no_grad()``."""
    return _grad_enabled


class Function:
    """One operation of the graph: ``forward(*arrays) -> array`` and ``backward(grad) -> grads``.

    ``backward`` receives dL/d(output), of the output's shape, and returns dL/d(input) for
    each input, of that input's shape: one array for one input, a tuple for several.
    Options (an axis, a shape) are given to the constructor.
    """

    inputs: tuple[Tensor, ...] = ()
    saved_tensors: tuple = ()

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        """Compute the output from the input arrays; save what ``backward`` needs."""
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def backward(self, grad: np.ndarray):
        """Given dL/d(output), return dL/d(input) for every input."""
        raise NotImplementedError(f"{type(self).__name__} has no backward()")

    def save_for_backward(self, *arrays) -> None:
        """Keep the arrays that ``backward`` will need (read them with ``self.saved_tensors``)."""
        self.saved_tensors = arrays

    @classmethod
    def apply(cls, *inputs, **options):
        """Run ``cls(**options).forward`` on the inputs' data and record it if a gradient is needed.

        Inputs are Tensors, arrays or numbers. If none is a Tensor, the plain array result
        is returned, so code written with these functions also runs on NumPy arrays.
        """
        function = cls(**options)
        tensors = [x for x in inputs if isinstance(x, Tensor)]
        if not tensors:
            return function.forward(*(np.asarray(x) for x in inputs))
        inputs = tuple(as_tensor(x, dtype=tensors[0].dtype) for x in inputs)
        output = Tensor(function.forward(*(x.data for x in inputs)))
        if _grad_enabled and any(x.requires_grad for x in inputs):
            function.inputs = inputs
            output.requires_grad = True
            output.grad_fn = function
        return output

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class Tensor:
    """An array that records the operations made on it: ``data`` (any shape), ``grad`` (same shape).

    ``data`` is a plain ndarray (integers become float64); optimizers update it in place.
    ``grad`` is None until a ``backward`` reaches this tensor, then an array of the data's
    shape to which every later ``backward`` adds. Only leaves (tensors made by you, not by
    an operation) get a ``.grad``. ``grad_fn`` is the Function that made this tensor.
    """

    # Makes NumPy hand `array + tensor` to Tensor.__radd__ instead of looping over the tensor.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data.data
        self.data: np.ndarray = as_float_array(data, "Tensor")
        self.requires_grad = requires_grad
        self.grad: np.ndarray | None = None
        self.grad_fn: Function | None = None

    # -- what it holds ---------------------------------------------------------------
    @property
    def shape(self) -> Shape:
        """The shape of ``data``."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes of ``data``."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of entries of ``data``."""
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        """The dtype of ``data``."""
        return self.data.dtype

    def item(self) -> float:
        """The value of a one-entry tensor as a Python float."""
        return float(self.data.item())

    def detach(self) -> Tensor:
        """A tensor sharing ``data`` but cut from the graph: no gradient flows through it."""
        return Tensor(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, prefix="Tensor(", separator=", ")
        if self.grad_fn is not None:
            return f"Tensor({body}, grad_fn={self.grad_fn!r})"
        return f"Tensor({body}, requires_grad=True)" if self.requires_grad else f"Tensor({body})"

    # -- arithmetic: `other` may be a Tensor, an array or a number -----------------------
    def __add__(self, other) -> Tensor:
        return functions.add(self, other)

    def __radd__(self, other) -> Tensor:
        return functions.add(other, self)

    def __sub__(self, other) -> Tensor:
        return functions.sub(self, other)

    def __rsub__(self, other) -> Tensor:
        return functions.sub(other, self)

    def __mul__(self, other) -> Tensor:
        return functions.mul(self, other)

    def __rmul__(self, other) -> Tensor:
        return functions.mul(other, self)

    def __truediv__(self, other) -> Tensor:
        return functions.div(self, other)

    def __rtruediv__(self, other) -> Tensor:
        return functions.div(other, self)

    def __pow__(self, exponent) -> Tensor:
        return functions.power(self, exponent)

    def __rpow__(self, base) -> Tensor:
        return functions.power(base, self)

    def __matmul__(self, other) -> Tensor:
        return functions.matmul(self, other)

    def __rmatmul__(self, other) -> Tensor:
        return functions.matmul(other, self)

    def __neg__(self) -> Tensor:
        return functions.Neg.apply(self)

    def __getitem__(self, index) -> Tensor:
        return functions.GetItem.apply(self, index=index)

    # -- reductions and shape -------------------------------------------------------------
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all if None)."""
        return functions.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (all if None): the sum divided by the number of entries summed."""
        total = self.sum(axis=axis, keepdims=keepdims)
        return total / (self.size // max(total.size, 1))

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Maximum over ``axis`` (all if None); tied maxima share the gradient equally."""
        return functions.Max.apply(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape) -> Tensor:
        """The same entries in a new shape: ``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
        return functions.Reshape.apply(self, shape=tuple(shape))

    def transpose(self, *axes) -> Tensor:
        """Permute the axes: ``t.transpose()`` reverses them, ``t.transpose(1, 0, 2)`` permutes."""
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], tuple | list) else axes
        return functions.Transpose.apply(self, axes=tuple(axes) if axes else None)

    @property
    def T(self) -> Tensor:
        """The tensor with its axes reversed (the transpose of a matrix)."""
        return self.transpose()

    # -- element-wise functions ---------------------------------------------------------
    def exp(self) -> Tensor:
        """exp(x), entry by entry."""
        return functions.Exp.apply(self)

    def log(self) -> Tensor:
        """log(x), entry by entry."""
        return functions.Log.apply(self)

    def tanh(self) -> Tensor:
        """tanh(x), entry by entry."""
        return functions.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + exp(-x)), entry by entry."""
        return functions.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        """max(x, 0), entry by entry."""
        return functions.Relu.apply(self)

    # -- gradients -----------------------------------------------------------------------
    def backward(self, grad=None) -> None:
        """Add d(self)/d(leaf)·grad to the ``.grad`` of every leaf that requires a gradient.

        ``grad`` is dL/d(self), of this tensor's shape; it defaults to 1 for a scalar.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require a gradient: no input had "
                "requires_grad=True, or it was computed under no_grad()"
            )
        if grad is None:
            if self.size != 1:
                raise ValueError(
                    f"backward() without an argument needs a scalar, but this tensor has shape "
                    f"{self.shape}: call backward(grad) with a grad of shape {self.shape}"
                )
            grad = np.ones_like(self.data)
        grad = np.asarray(grad, dtype=self.dtype)
        if grad.shape != self.shape:
            raise ValueError(
                f"backward(grad): grad has shape {grad.shape}, the tensor has shape {self.shape}"
            )
        backpropagate(self, grad)


def as_tensor(value, dtype=None) -> Tensor:
    """``value`` if it is a Tensor, else a constant Tensor holding it.

    A Python number takes ``dtype`` (the dtype of the tensor it meets), so that
    ``x * 2.0`` stays float32 when ``x`` is float32.
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, int | float):
        return Tensor(np.asarray(value, dtype=dtype))
    return Tensor(value)


# ---------------------------------------------------------------------------------------
# Backpropagation: reverse topological order, no recursion.
# ---------------------------------------------------------------------------------------


def topological_order(root: Tensor) -> list[Tensor]:
    """Every tensor ``root`` depends on through recorded operations, each after its inputs.

    A depth-first search with an explicit stack (recursion would stop at Python's limit of
    about a thousand nested calls): a tensor is appended once all its inputs are.
    """
    order: list[Tensor] = []
    visited: set[Tensor] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if tensor in visited:
            continue
        visited.add(tensor)
        stack.append((tensor, True))
        if tensor.grad_fn is not None:
            for parent in tensor.grad_fn.inputs:
                if parent.requires_grad and parent not in visited:
                    stack.append((parent, False))
    return order


def backpropagate(root: Tensor, grad: np.ndarray) -> None:
    """Reverse-mode accumulation from ``root`` (whose gradient is ``grad``) to the leaves.

    Walking the topological order backwards guarantees that when a tensor is reached, every
    operation that used it has already sent its share, so its gradient is complete.
    """
    grads: dict[Tensor, np.ndarray] = {root: grad}
    for tensor in reversed(topological_order(root)):
        grad = grads.pop(tensor)
        if tensor.grad_fn is None:
            accumulate_leaf(tensor, grad)
            continue
        function = tensor.grad_fn
        input_grads = function.backward(grad)
        if not isinstance(input_grads, tuple | list):
            input_grads = (input_grads,)
        check_input_grads(function, input_grads)
        for parent, parent_grad in zip(function.inputs, input_grads, strict=True):
            if parent.requires_grad:
                # A tensor used several times receives the sum of the gradients of each use.
                previous = grads.get(parent)
                grads[parent] = parent_grad if previous is None else previous + parent_grad


def accumulate_leaf(leaf: Tensor, grad: np.ndarray) -> None:
    """Add ``grad`` to ``leaf.grad`` (a fresh copy the first time), in the leaf's dtype."""
    if leaf.grad is None:
        leaf.grad = np.array(grad, dtype=leaf.dtype)
    else:
        leaf.grad += grad


def check_input_grads(function: Function, input_grads: tuple) -> None:
    """A clear error when ``backward`` returns the wrong number or shape of gradients."""
    name = type(function).__name__
    if len(input_grads) != len(function.inputs):
        raise ValueError(
            f"{name}.backward returned {len(input_grads)} gradients for "
            f"{len(function.inputs)} inputs; return one gradient per input"
        )
    for position, (parent, parent_grad) in enumerate(
        zip(function.inputs, input_grads, strict=True)
    ):
        if np.shape(parent_grad) != parent.shape:
            raise ValueError(
                f"{name}.backward returned a gradient of shape {np.shape(parent_grad)} for input "
                f"{position} of shape {parent.shape}; a gradient has its input's shape "
                "(sum over broadcast axes with unbroadcast)"
            )


# The operations are Functions working on Tensors, so they are imported once both exist.
from pancake.autograd import functions  # noqa: E402
