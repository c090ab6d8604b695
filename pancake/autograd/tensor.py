"""The Tensor, the Function it records, and backpropagation through the recorded graph.

Every operation on a ``Tensor`` runs at once on NumPy arrays (define-by-run, as in Chainer
and PyTorch) and, when an input requires a gradient, records itself: the output keeps the
``Function`` that made it (``grad_fn``), and the function keeps its inputs. The graph is
whatever ran, Python loops and branches included. ``loss.backward()`` walks that graph
from the loss back to the leaves in reverse topological order.

The same walk differentiates its own result: with ``create_graph=True`` every ``backward``
receives Tensors instead of arrays, so the gradients it computes are recorded in turn
(``grad(grad(f))`` gives second derivatives). ``GradientTape`` (in ``tape.py``) walks a
different record of the same operations: the list of them in the order they ran.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence

import numpy as np

from pancake.ops import as_float_array

Shape = tuple[int, ...]
Axis = int | tuple[int, ...] | None

_grad_enabled = True
# The GradientTapes whose `with` block is running; each is offered every operation.
recording_tapes: list = []
# Numbers every Tensor in creation order: an operation's output is numbered after its inputs.
_creation_counter = itertools.count()


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

    ``backward`` is written with operations that arrays and Tensors share (operators,
    ``.sum``, ``.reshape``, ``np.broadcast_to``, ``np.swapaxes``, ``exp``...), so that the
    same code runs on Tensors under ``create_graph=True``: then ``grad`` is a Tensor, and
    every saved array that is an input's or the output's data is replaced by that Tensor.
    Anything else saved (a mask, a derived array) counts as a constant.
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
        Recording: the output keeps the function as its ``grad_fn`` when an input requires
        a gradient, and every active ``GradientTape`` is offered the operation.
        """
        function = cls(**options)
        tensors = [x for x in inputs if isinstance(x, Tensor)]
        if not tensors:
            return function.forward(*(np.asarray(x) for x in inputs))
        inputs = tuple(as_tensor(x, dtype=tensors[0].dtype) for x in inputs)
        value = function.forward(*(x.data for x in inputs))
        output = Tensor(value)
        if output.data is not value:  # a NumPy scalar, from a 0-d input: save the array
            function.saved_tensors = tuple(
                output.data if saved is value else saved for saved in function.saved_tensors
            )
        if not _grad_enabled:
            return output
        function.inputs = inputs
        if any(x.requires_grad for x in inputs):
            output.requires_grad = True
            output.grad_fn = function
        for tape in recording_tapes:
            tape.record(function, output)
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

    def __array_function__(self, func, types, args, kwargs):
        """NumPy hands ``np.broadcast_to(tensor, ...)`` (and the few others in
        ``functions.NUMPY_FUNCTIONS``) to the Tensor version; any other raises a TypeError."""
        implementation = functions.NUMPY_FUNCTIONS.get(func)
        if implementation is None:
            return NotImplemented
        return implementation(*args, **kwargs)

    def __init__(self, data, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data.data
        self.data: np.ndarray = as_float_array(data, "Tensor")
        self.requires_grad = requires_grad
        self.grad: np.ndarray | None = None
        self.grad_fn: Function | None = None
        self.creation_number = next(_creation_counter)

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
        """A tensor sharing ``data`` but cut from the graph: no gradient flows through it.

        Its ``data`` is a view (the same memory, another array object), so that
        ``create_graph`` can tell ``x`` and ``x.detach()`` apart in what an operation saved.
        """
        return Tensor(self.data.view())

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

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes: ``t.swapaxes(-1, -2)`` transposes the matrices of a batch."""
        return functions.swapaxes(self, axis1, axis2)

    @property
    def T(self) -> Tensor:
        """The tensor with its axes reversed (the transpose of a matrix)."""
        return self.transpose()

    # -- element-wise functions ---------------------------------------------------------
    def exp(self) -> Tensor:
        """exp(x), entry by entry."""
        return functions.Exp.apply(self)

    def sin(self) -> Tensor:
        """sin(x), entry by entry."""
        return functions.Sin.apply(self)

    def cos(self) -> Tensor:
        """cos(x), entry by entry."""
        return functions.Cos.apply(self)

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
    def backward(self, grad=None, create_graph: bool = False) -> None:
        """Add d(self)/d(leaf)·grad to the ``.grad`` of every leaf that requires a gradient.

        ``grad`` is dL/d(self), of this tensor's shape; it defaults to 1 for a scalar.
        With ``create_graph=True`` the ``.grad`` it adds is a Tensor recording how it was
        computed, so that it can be differentiated in turn.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require a gradient: no input had "
                "requires_grad=True, or it was computed under no_grad()"
            )
        backpropagate(self, seed_gradient("backward", self, grad, create_graph))


def as_tensor(value, dtype=None) -> Tensor:
    """``value`` if it is a Tensor, else a constant Tensor holding it.

    A Python number or a boolean mask takes ``dtype`` (the dtype of the tensor it meets),
    so that ``x * 2.0`` and ``grad * (x > 0)`` stay float32 when ``x`` is float32.
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, int | float) or (
        isinstance(value, np.ndarray) and value.dtype.kind == "b"
    ):
        return Tensor(np.asarray(value, dtype=dtype))
    return Tensor(value)


# ---------------------------------------------------------------------------------------
# Backpropagation: reverse topological order, no recursion.
# ---------------------------------------------------------------------------------------

# A gradient: an array, or under create_graph a Tensor that records how it was computed.
Gradient = np.ndarray | Tensor


def seed_gradient(caller: str, output: Tensor, grad, create_graph: bool) -> Gradient:
    """dL/d(output) to start a backward pass: ``grad``, or 1 for a one-entry ``output``."""
    if grad is None:
        if output.size != 1:
            raise ValueError(
                f"{caller}() without a gradient needs a scalar, but this tensor has shape "
                f"{output.shape}: give {caller}() a grad of shape {output.shape}"
            )
        grad = np.ones_like(output.data)
    value = grad.data if isinstance(grad, Tensor) else np.asarray(grad, dtype=output.dtype)
    if value.shape != output.shape:
        raise ValueError(
            f"{caller}(grad): grad has shape {value.shape}, the tensor has shape {output.shape}"
        )
    if create_graph:
        return grad if isinstance(grad, Tensor) else Tensor(value)
    return value


def topological_order(*roots: Tensor) -> list[Tensor]:
    """Every tensor the ``roots`` depend on through recorded operations, each after its inputs.

    A search with an explicit stack (recursion would stop at Python's limit of about a
    thousand nested calls) finds them; sorting them by creation puts each after its inputs,
    since an operation's output is created after them. (It is also the order in which a
    ``GradientTape`` recorded them, so both walks add the same numbers in the same order.)
    """
    found: set[Tensor] = set(roots)
    stack = list(roots)
    while stack:
        tensor = stack.pop()
        if tensor.grad_fn is not None:
            for parent in tensor.grad_fn.inputs:
                if parent.requires_grad and parent not in found:
                    found.add(parent)
                    stack.append(parent)
    return sorted(found, key=lambda tensor: tensor.creation_number)


def walk_graph(seeds: dict[Tensor, Gradient]) -> Iterator[tuple[Tensor, Gradient]]:
    """Reverse-mode accumulation from the ``seeds`` (tensor -> its gradient) to the leaves.

    Yields every tensor reached with its complete gradient. Walking the topological order
    backwards guarantees that when a tensor is reached, every operation that used it has
    already sent its share.
    """
    grads = dict(seeds)
    for tensor in reversed(topological_order(*seeds)):
        grad = grads.pop(tensor)
        yield tensor, grad
        if tensor.grad_fn is None:
            continue
        function = tensor.grad_fn
        for parent, parent_grad in zip(
            function.inputs, backward_step(function, tensor, grad), strict=True
        ):
            if parent.requires_grad:
                add_gradient(grads, parent, parent_grad)


def add_gradient(grads: dict[Tensor, Gradient], tensor: Tensor, grad: Gradient) -> None:
    """``grads[tensor] += grad``: a tensor used several times gets the sum of every use."""
    previous = grads.get(tensor)
    grads[tensor] = grad if previous is None else previous + grad


def backpropagate(root: Tensor, grad: Gradient) -> None:
    """Add d(root)/d(leaf)·grad to the ``.grad`` of every leaf ``root`` depends on."""
    for tensor, tensor_grad in walk_graph({root: grad}):
        if tensor.grad_fn is None:
            accumulate_leaf(tensor, tensor_grad)


def backward_step(function: Function, output: Tensor, grad: Gradient) -> tuple:
    """One operation's backward: dL/d(output) -> (dL/d(input) for every input).

    A Tensor ``grad`` (create_graph) runs ``backward`` on Tensors: the saved arrays that
    are the data of an input or of the output are handed to it as those Tensors.
    """
    _check_step_arguments(function, output, grad)
    if isinstance(grad, Tensor):
        with saved_as_tensors(function, output):
            input_grads = function.backward(grad)
    else:
        input_grads = function.backward(grad)
    if not isinstance(input_grads, tuple | list):
        input_grads = (input_grads,)
    check_input_grads(function, input_grads, create_graph=isinstance(grad, Tensor))
    return input_grads


def _check_step_arguments(function: Function, output, grad) -> None:
    """TypeError when ``output`` is not a Tensor or ``grad`` is the Tensor ``function`` made:
    most likely the output and its gradient were passed in the other order."""
    swapped = isinstance(grad, Tensor) and grad.grad_fn is function and output is not grad
    if isinstance(output, Tensor) and not swapped:
        return
    given = "the Tensor it made" if swapped else f"of type {type(output).__name__}, not a Tensor"
    where = "grad" if swapped else "output"
    raise TypeError(
        f"backward_step({type(function).__name__}, output, grad): {where} is {given}: the "
        "arguments are (function, output, grad), the operation's output Tensor second and "
        "the gradient with respect to it third"
    )


@contextlib.contextmanager
def saved_as_tensors(function: Function, output: Tensor) -> Iterator[None]:
    """While it runs, ``function.saved_tensors`` holds Tensors for the inputs and the output."""
    by_data = {id(tensor.data): tensor for tensor in (*function.inputs, output)}
    arrays = function.saved_tensors
    function.saved_tensors = tuple(by_data.get(id(saved), saved) for saved in arrays)
    try:
        yield
    finally:
        function.saved_tensors = arrays


def accumulate_leaf(leaf: Tensor, grad: Gradient) -> None:
    """Add ``grad`` to ``leaf.grad`` (a fresh copy the first time), in the leaf's dtype."""
    if leaf.grad is None:
        leaf.grad = grad if isinstance(grad, Tensor) else np.array(grad, dtype=leaf.dtype)
    else:
        leaf.grad += grad  # in place for arrays; a new Tensor when either is one


def check_input_grads(function: Function, input_grads: tuple, create_graph: bool) -> None:
    """A clear error when ``backward`` returns the wrong number, shape or kind of gradients."""
    name = type(function).__name__
    if len(input_grads) != len(function.inputs):
        raise ValueError(
            f"{name}.backward returned {len(input_grads)} gradients for "
            f"{len(function.inputs)} inputs; return one gradient per input"
        )
    for position, (parent, parent_grad) in enumerate(
        zip(function.inputs, input_grads, strict=True)
    ):
        if create_graph and not isinstance(parent_grad, Tensor):
            raise TypeError(
                f"{name}.backward returned a {type(parent_grad).__name__} for input "
                f"{position} under create_graph=True, where it receives Tensors: write it "
                "with operations Tensors have too (operators, .sum, .reshape, exp, ...)"
            )
        if functions.shape_of(parent_grad) != parent.shape:
            raise ValueError(
                f"{name}.backward returned a gradient of shape "
                f"{functions.shape_of(parent_grad)} for input {position} of shape "
                f"{parent.shape}; a gradient has its input's shape "
                "(sum over broadcast axes with unbroadcast)"
            )


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs=None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, as ``torch.autograd.grad``.

    Returns one Tensor per input, of its shape: d(sum of outputs · grad_outputs)/d(input).
    ``grad_outputs`` defaults to 1 for one-entry outputs. With ``create_graph=True`` the
    gradients record how they were computed, so they can be differentiated again. Nothing
    is added to any ``.grad``. An input the outputs do not depend on is an error, or None
    with ``allow_unused=True``.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor | np.ndarray):
        grad_outputs = [grad_outputs] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad(): {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for position, tensor in enumerate([*outputs, *inputs]):
        if not tensor.requires_grad:
            kind = "output" if position < len(outputs) else "input"
            raise RuntimeError(
                f"grad(): an {kind} of shape {tensor.shape} does not require a gradient "
                "(no requires_grad=True behind it, or computed under no_grad())"
            )
    seeds: dict[Tensor, Gradient] = {}
    for output, grad_output in zip(outputs, grad_outputs, strict=True):
        add_gradient(seeds, output, seed_gradient("grad", output, grad_output, create_graph))
    wanted = set(inputs)
    found = {tensor: g for tensor, g in walk_graph(seeds) if tensor in wanted}
    return tuple(gradient_of(tensor, found, allow_unused) for tensor in inputs)


def gradient_of(tensor: Tensor, found: dict, allow_unused: bool) -> Tensor | None:
    """The gradient ``grad()`` found for an input, as a Tensor; None (or an error) if none."""
    if tensor in found:
        value = found[tensor]
        return value if isinstance(value, Tensor) else Tensor(value)
    if allow_unused:
        return None
    raise RuntimeError(
        f"grad(): the outputs do not depend on an input of shape {tensor.shape}; "
        "pass allow_unused=True to get None for it"
    )


# The operations are Functions working on Tensors, so they are imported once both exist.
from pancake.autograd import functions  # noqa: E402
