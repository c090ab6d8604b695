r"""Checks of autograd's pieces: ``unbroadcast`` and the backward passes of ``Function``\s.

``unbroadcast`` is checked as the adjoint of broadcasting (a dot-product test). Derivatives
are compared with central differences of ``forward``, for every input, with
the steps and tolerances of ``check_gradients``.
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Callable

import numpy as np

from pancake.autograd import Tensor, grad
from pancake.testing.errors import explain_error
from pancake.testing.gradcheck import (
    DIRECTION_STREAM,
    GradientCheckError,
    GradientReport,
    TensorComparison,
    compare_inputs,
    diagnose,
    extra_term_hint,
    gradient_failure,
    other_gradients,
    swapped_with,
)
from pancake.testing.hints import MATCH_RTOL, close, elementwise_hint, made_from_the_shape

# x for the adjoint test of unbroadcast: drawn from this stream, this many times
ADJOINT_STREAM, ADJOINT_DRAWS = 20_250_010, 3


def check_unbroadcast(unbroadcast_fn: Callable, grad: np.ndarray, shape: tuple[int, ...]) -> str:
    """Check ``unbroadcast_fn(grad, shape)``, where ``shape`` broadcasts to ``grad.shape``.

    Unbroadcasting is the adjoint (the transpose) of broadcasting: for every x of ``shape``,
    ``<broadcast_to(x, grad.shape), grad> = <x, unbroadcast(grad, shape)>`` (both sides
    are dL/dx · x for a loss whose gradient is ``grad``). The check tests that identity for
    random x, after the shape of the result; ``grad`` must be left as it was.
    """
    grad = np.array(grad, dtype=np.float64)
    shape = tuple(shape)
    what = f"unbroadcast(grad of shape {grad.shape}, {shape})"
    before = grad.copy()
    try:
        got = unbroadcast_fn(grad, shape)
    except np.exceptions.AxisError as error:
        if grad.ndim - len(shape) < 2:
            raise
        raise AssertionError(
            f"{what} raised AxisError: {error}.\nHint: {AXES_SHIFT_HINT}"
        ) from error
    except ValueError as error:
        if "cannot reshape" not in str(error):
            raise
        raise AssertionError(f"{what} raised ValueError: {error}.\nHint: {RESHAPE_HINT}") from error
    if not np.array_equal(grad, before):
        raise AssertionError(
            f"{what} changed grad in place.\nHint: compute new arrays (grad.sum(...)); "
            "grad may be shared with other inputs"
        )
    if got is None:
        raise AssertionError(f"{what} is None: did you forget to `return` it?")
    if np.shape(got) != shape:
        hint = _added_axes_kept_hint(unbroadcast_fn)
        if hint is None:
            hint = unbroadcast_order_hint(np.shape(got), [grad.shape], shape) or _unbroadcast_hint(
                np.shape(got), grad.shape, shape
            )
            hint = f"{_returned_as_is_hint(got, grad, shape) or ''}{hint}"
        raise AssertionError(f"{what} has shape {np.shape(got)}, expected {shape}.\nHint: {hint}")
    got = np.asarray(got, dtype=np.float64)
    rng = np.random.default_rng(ADJOINT_STREAM)
    for _ in range(ADJOINT_DRAWS):
        x = rng.standard_normal(shape)
        if not _adjoint_holds(x, grad, got):
            raise AssertionError(
                f"{what} is not the adjoint of broadcasting: for a random x of shape {shape}, "
                f"<broadcast_to(x, {grad.shape}), grad> = {_broadcast_side(x, grad):.10g} but "
                f"<x, unbroadcast(grad)> = {_reduced_side(x, got):.10g}.\n"
                f"Hint: {_adjoint_hint(grad, got, shape)}"
            )
    return (
        f"{what}: shape OK, <broadcast_to(x), grad> = <x, unbroadcast(grad)> for "
        f"{ADJOINT_DRAWS} random x: OK"
    )


AXES_SHIFT_HINT = (
    "the axis numbers shift after each sum: once grad.sum(axis=0) removes axis 0, the old "
    "axis 1 is axis 0, so summing the added axes one call at a time by their index in grad "
    "skips some (or runs past the last). Sum them in one call, "
    "grad.sum(axis=tuple(range(grad.ndim - len(shape)))), or from the last to the first"
)


STRETCHED_FIRST_HINT = (
    "the stretched axes were looked up before the added ones were summed: until the added "
    "leading axes are gone, axis i of shape is axis i + (grad.ndim - len(shape)) of grad. Sum "
    "the added axes first, then the stretched ones (keepdims=True)"
)
RESHAPE_HINT = (
    "a reshape cannot undo broadcasting: broadcasting made copies of each entry, and the "
    "gradient of an entry is the sum of the gradients of its copies. Sum over the added axes, "
    "then over the stretched ones (keepdims=True); a reshape only regroups the same entries"
)


def _added_axes_one_at_a_time(grad_shape: tuple, shape: tuple) -> tuple:
    """The shape unbroadcast leaves when it sums the added axes one call at a time, by their
    index in grad (shapes only: the check must not hold a working unbroadcast)."""
    lengths = list(grad_shape)
    for axis in range(len(grad_shape) - len(shape)):
        del lengths[axis]  # IndexError once the axes have shifted past the end
    return tuple(1 if size == 1 else lengths[i] for i, size in enumerate(shape))


def _stretched_axes_first(grad_shape: tuple, shape: tuple) -> tuple:
    """The shape unbroadcast leaves when it looks the stretched axes up, by their index in
    shape, before the added axes are summed (shapes only)."""
    lengths = [1 if i < len(shape) and shape[i] == 1 else n for i, n in enumerate(grad_shape)]
    return tuple(lengths[len(grad_shape) - len(shape) :])


def unbroadcast_order_hint(got: tuple, grad_shapes, shape: tuple) -> str | None:
    """The hint when ``got`` is the shape an unbroadcast that sums its axes in a wrong order
    gives for a grad of one of ``grad_shapes``, or None."""
    shape = tuple(shape)
    if tuple(got) == shape:
        return None
    for grad_shape in grad_shapes:
        try:
            if np.broadcast_shapes(tuple(grad_shape), shape) != tuple(grad_shape):
                continue  # shape does not broadcast to grad's: no unbroadcast goes from one to the other
        except ValueError:
            continue
        for wrong_order, hint in (
            (_added_axes_one_at_a_time, AXES_SHIFT_HINT),
            (_stretched_axes_first, STRETCHED_FIRST_HINT),
        ):
            try:
                left = wrong_order(tuple(grad_shape), shape)
            except IndexError:  # this order crashes on these shapes
                continue
            if left == tuple(got):
                return hint
    return None


def _added_axes_kept_hint(unbroadcast_fn: Callable) -> str | None:
    """The hint when, on a generic grad of shape (2, 3) unbroadcast to (3,) (one added
    axis, nothing stretched), ``unbroadcast_fn`` returns the right sums with the added axis
    kept, of shape (1, 3) (summed with keepdims=True), or None."""
    grad = np.random.default_rng(ADJOINT_STREAM + 3).standard_normal((2, 3))
    try:
        got = np.asarray(unbroadcast_fn(grad.copy(), (3,)), dtype=np.float64)
    except Exception:  # it fails on other shapes too: the failure says why
        return None
    if got.shape != (1, 3) or not np.allclose(got[0], grad.sum(axis=0), rtol=1e-12):
        return None
    return (
        "the added leading axes are summed with keepdims=True, which keeps them with length "
        "1 (a grad of shape (2, 3) unbroadcast to (3,) gives shape (1, 3)): sum the added "
        "axes without keepdims (and then the stretched ones with keepdims=True)"
    )


def _returned_as_is_hint(got, grad: np.ndarray, shape: tuple) -> str | None:
    """The start of the hint when unbroadcast returned grad itself, of another shape than
    ``shape``, or None."""
    if np.shape(got) != grad.shape or not np.array_equal(got, grad):
        return None
    same_size = (
        f" (grad has as many entries as {shape}, not the same shape)"
        if grad.size == math.prod(shape)
        else ""
    )
    return (
        f"unbroadcast returned grad as it is, of shape {grad.shape}: nothing was summed (if "
        f"an early return skipped the work, it must test grad.shape == shape{same_size}). "
    )


def _broadcast_side(x: np.ndarray, grad: np.ndarray) -> float:
    """<broadcast_to(x, grad.shape), grad>."""
    return float(np.sum(np.broadcast_to(x, grad.shape) * grad))


def _reduced_side(x: np.ndarray, reduced: np.ndarray) -> float:
    """<x, reduced>, for ``reduced`` of x's shape."""
    return float(np.sum(x * reduced))


def _adjoint_holds(x: np.ndarray, grad: np.ndarray, reduced: np.ndarray) -> bool:
    """Whether <broadcast_to(x), grad> = <x, reduced>, up to rounding of the products."""
    scale = float(np.sum(np.abs(np.broadcast_to(x, grad.shape) * grad)))
    return abs(_broadcast_side(x, grad) - _reduced_side(x, reduced)) <= 1e-9 * scale + 1e-12


def _adjoint_hint(grad: np.ndarray, got: np.ndarray, shape: tuple) -> str:
    """What the failing result does: sum the trailing axes, average the copies, lose or
    double some, or else."""
    if _adjoint_of_front_aligned_broadcast(grad, got, shape):
        return TRAILING_AXES_HINT
    copies = grad.size // max(1, math.prod(shape))
    probe = np.random.default_rng(ADJOINT_STREAM + 1).standard_normal(shape)
    if copies > 1 and _adjoint_holds(probe, grad, got * copies):
        return (
            "it is the mean over the copies of each entry, not their sum: every copy adds "
            "its own gradient: sum (grad.sum), don't average"
        )
    if not _adjoint_holds(np.ones(shape), grad, got):
        return (
            f"its entries add up to {float(np.sum(got)):.10g}, but every entry of grad "
            f"belongs to exactly one entry of the result, so they must add up to "
            f"grad.sum() = {float(np.sum(grad)):.10g}"
        )
    return _unbroadcast_hint(shape, grad.shape, shape)


TRAILING_AXES_HINT = (
    "the trailing axes of grad were summed, but broadcasting adds axes at the front: sum "
    "over the leading ones, axis=tuple(range(grad.ndim - len(shape)))"
)


def _adjoint_of_front_aligned_broadcast(grad: np.ndarray, got: np.ndarray, shape: tuple) -> bool:
    """Whether ``got`` is the adjoint of broadcasting with ``shape`` aligned on grad's first
    axes (new axes at the back: the mistake of summing the trailing axes), for random x."""
    extra = grad.ndim - len(shape)
    rng = np.random.default_rng(ADJOINT_STREAM + 2)
    for _ in range(ADJOINT_DRAWS):
        x = rng.standard_normal(shape)
        try:
            aligned = np.broadcast_to(x.reshape(shape + (1,) * extra), grad.shape)
        except ValueError:  # shape does not line up with grad's first axes
            return False
        scale = float(np.sum(np.abs(aligned * grad)))
        if extra == 0 or abs(float(np.sum(aligned * grad)) - _reduced_side(x, got)) > (
            1e-9 * scale + 1e-12
        ):
            return False
    return True


def _unbroadcast_hint(got: tuple, grad_shape: tuple, shape: tuple) -> str:
    if len(shape) < len(grad_shape) and got == grad_shape[: len(shape)]:
        return TRAILING_AXES_HINT
    if len(got) > len(shape):
        added = len(grad_shape) - len(shape)
        return (
            f"broadcasting added {added} leading axes to {shape}: sum grad over them, so that "
            f"the result has the {len(shape)} axes of shape"
        )
    if len(got) < len(shape):
        return (
            "keep the stretched axes (length 1 in shape) as axes of length 1: sum over them "
            "with keepdims=True"
        )
    return "sum over every axis where shape has length 1 and grad does not (keepdims=True)"


def check_function_gradients(
    function_cls: type,
    *inputs,
    options: dict | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-10,
    eps: float = 1e-5,
    seed: int = 0,
) -> GradientReport:
    """Compare ``function_cls(**options).backward`` with central differences of its ``forward``.

    ``inputs`` are the arrays ``forward`` takes (they may broadcast together). As in
    ``check_gradients``, the output is projected on a fixed random direction u, and the
    gradient of ``sum(u * forward(*inputs))`` with respect to every input is compared
    entry by entry, with the same steps and tolerances. ``backward(u)`` must return one
    gradient per input, of that input's shape, and leave u as it was. Returns a
    ``GradientReport``; raises ``GradientCheckError`` with a hint.
    """
    try:
        return _check_function_gradients(function_cls, inputs, options, rtol, atol, eps, seed)
    except GradientCheckError as failure:
        if any(said in failure.hint for said in ("broadcast", ".T reverses", "PyTorch")):  # named
            raise
        hint = _batch_axes_hint(function_cls, inputs, options)
        if hint:
            raise failure.with_hint(hint) from None
        raise


def _batch_axes_hint(function_cls: type, inputs, options) -> str | None:
    """The hint when backward is right on matrices but wrong on stacks of matrices that
    share their batch axes (nothing broadcast, so nothing to sum back), or None."""
    arrays = [np.asarray(x, dtype=np.float64) for x in inputs]
    if max(array.ndim for array in arrays) < 3 or min(array.ndim for array in arrays) < 2:
        return None
    batch = np.broadcast_shapes(*(array.shape[:-2] for array in arrays))
    stacks = [np.broadcast_to(array, batch + array.shape[-2:]).copy() for array in arrays]
    matrices = [array[(0,) * (array.ndim - 2)] for array in stacks]
    if not _passes(function_cls, matrices, options) or _passes(function_cls, stacks, options):
        return None
    return (
        f"backward is right for matrices but not for stacks of them (batch axes {batch}): use "
        "operations that act on the last two axes of each batch, @ (np.matmul) and "
        "np.swapaxes(x, -1, -2), not np.dot, .T or an einsum written for matrices ('ij,jk')"
    )


def _passes(function_cls: type, arrays: list, options) -> bool:
    """Whether backward passes the gradient check at ``arrays``."""
    try:
        _check_function_gradients(function_cls, arrays, options, 1e-6, 1e-10, 1e-5, 0)
    except Exception:  # any failure, a crash included
        return False
    return True


def _check_function_gradients(function_cls, inputs, options, rtol, atol, eps, seed):
    options = options or {}
    arrays = [np.array(x, dtype=np.float64) for x in inputs]
    names = _input_names(function_cls, len(arrays))
    described = _describe_function(function_cls, options, names, arrays)

    def forward(*values: np.ndarray) -> np.ndarray:
        return np.asarray(function_cls(**options).forward(*values), dtype=np.float64)

    output = forward(*(array.copy() for array in arrays))
    direction = np.random.default_rng((seed, DIRECTION_STREAM)).standard_normal(output.shape)
    analytic = _returned_gradients(function_cls(**options), arrays, direction, names, described)
    magnitude = float(np.sum(np.abs(direction * output)))
    comparisons = compare_inputs(
        lambda *values: float(np.sum(direction * forward(*values))),
        arrays,
        analytic,
        names,
        magnitude,
        eps,
        rtol,
        atol,
    )
    for position, comparison in enumerate(comparisons):
        if not comparison.passes():
            failure = _function_gradient_failure(
                described,
                comparison,
                comparisons,
                output.shape,
                dict(zip(names, arrays, strict=True)),
                direction,
            )
            if _ignores_grad(function_cls, options, arrays, direction, names, described, position):
                failure = failure.with_hint(GRAD_IGNORED_HINT)
            swapped = _returned_in_another_order(
                function_cls, arrays, options, comparisons, position
            )
            failure = failure.with_hint(swapped) if swapped else failure
            wrong_helper = _own_unbroadcast_hint(function_cls)
            failure = failure.with_hint(wrong_helper) if wrong_helper else failure
            if len(arrays) == 1 and output.shape == arrays[0].shape:
                hint = elementwise_hint(UnaryFunctionAsModule(function_cls, options))
                failure = failure.with_hint(hint) if hint else failure
            raise failure
    return GradientReport(described, comparisons)


def _own_unbroadcast_hint(function_cls: type) -> str | None:
    """The hint when the backward of ``function_cls`` calls an ``unbroadcast`` of the
    learner's (not pancake's) that fails its own check on generic shapes, or None."""
    backward = function_cls.backward
    if "unbroadcast" not in getattr(getattr(backward, "__code__", None), "co_names", ()):
        return None  # its backward does not call unbroadcast (Sum, Exp)
    unbroadcast_fn = getattr(backward, "__globals__", {}).get("unbroadcast")
    if unbroadcast_fn is None or (getattr(unbroadcast_fn, "__module__", None) or "").startswith(
        "pancake"
    ):
        return None
    grad = np.random.default_rng(ADJOINT_STREAM + 4).standard_normal((2, 3, 4))
    for generic, shape in ((grad, (3, 1)), (grad[:, :, 0], (3,))):
        try:
            check_unbroadcast(unbroadcast_fn, generic, shape)
        except AssertionError as failure:
            why = str(failure).split("\nHint: ", 1)
        except Exception as error:  # noqa: BLE001 - any crash of the learner's unbroadcast
            why = [
                f"unbroadcast(grad of shape {generic.shape}, {shape}) raises "
                f"{type(error).__name__}: {error}"
            ]
        else:
            continue
        return (
            f"backward calls your unbroadcast, which fails its own check: {why[0].rstrip('.')}"
            + (f" ({why[1]})" if len(why) > 1 else "")
            + "; fix unbroadcast first"
        )
    return None


GRAD_IGNORED_HINT = (
    "backward gives the same gradient whatever grad it is given: multiply the local "
    "derivative by grad, dL/d(output) (the chain rule; for Sum, send grad back to every "
    "entry that made it, np.broadcast_to)"
)


def _ignores_grad(function_cls, options, arrays, direction, names, described, position) -> bool:
    """Whether input ``position``'s gradient is non-zero and the same for grad and 2·grad."""
    try:
        once, twice = (
            _returned_gradients(
                function_cls(**options), arrays, scale * direction, names, described
            )[position]
            for scale in (1, 2)
        )
    except Exception:  # backward fails on another grad: the failure at hand says enough
        return False
    if once is None or twice is None or not np.any(once) or np.shape(once) != np.shape(twice):
        return False
    return np.allclose(once, twice, rtol=1e-9, atol=0)


class UnaryFunctionAsModule:
    """A one-input Function seen as a module (``f(x)``, ``backward(g)``), for the hints of
    element-wise modules: ``pancake.testing.hints.elementwise_hint``."""

    def __init__(self, function_cls: type, options: dict):
        self.function_cls = function_cls
        self.options = options
        self.function = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.function = self.function_cls(**self.options)
        return np.asarray(self.function.forward(np.asarray(x, dtype=np.float64)))

    def backward(self, grad: np.ndarray):
        returned = self.function.backward(grad)
        return returned[0] if isinstance(returned, tuple | list) else returned


def _input_names(function_cls: type, count: int) -> list[str]:
    """The names of ``forward``'s arguments (``a``, ``b``), or ``input 0``, ``input 1``..."""
    parameters = list(inspect.signature(function_cls.forward).parameters.values())[1:]
    names = [p.name for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    return names if len(names) == count else [f"input {i}" for i in range(count)]


def _describe_function(function_cls: type, options: dict, names: list, arrays: list) -> str:
    """``Sum(axis=1) on x of shape (2, 3)``: the function, its options and its inputs."""
    settings = ", ".join(f"{key}={value!r}" for key, value in options.items())
    call = f"{function_cls.__name__}({settings})" if settings else function_cls.__name__
    shapes = ", ".join(
        f"{name} of shape {array.shape}" for name, array in zip(names, arrays, strict=True)
    )
    return f"{call} on {shapes}"


def _returned_gradients(function, arrays, direction, names, described) -> list:
    """Run ``forward`` then ``backward(direction)``: one gradient (or None) per input."""
    function.forward(*(array.copy() for array in arrays))
    grad = direction.copy()
    try:
        returned = function.backward(grad)
    except ValueError as error:  # NumPy's shape errors: say which shapes must line up
        shapes = ", ".join(
            f"{name} has shape {array.shape}" for name, array in zip(names, arrays, strict=True)
        )
        hint = (
            _crash_hint(error, direction.shape, arrays)
            or explain_error(error)
            or (
                f"grad (dL/d(output)) has shape {direction.shape}, {shapes}: combine them so "
                "that each gradient gets the shape of its input"
            )
        )
        raise GradientCheckError(
            f"{described}: backward raised ValueError: {error}\nHint: {hint}", hint=hint
        ) from error
    if not np.array_equal(grad, direction):
        hint = (
            "compute a new array (grad * ...) instead of changing grad (grad *= ...): it may "
            "be shared"
        )
        raise GradientCheckError(f"{described}: backward changed grad.\nHint: {hint}", hint=hint)
    if not isinstance(returned, tuple | list):
        returned = (returned,)
    if len(returned) != len(arrays):
        hint = (
            "return one gradient per input, as a tuple in the order of forward's inputs "
            f"({', '.join(names)})"
        )
        raise GradientCheckError(
            f"{described}: backward returned {len(returned)} gradients for {len(arrays)} "
            f"inputs.\nHint: {hint}",
            hint=hint,
        )
    return [None if g is None else np.asarray(g, dtype=np.float64) for g in returned]


def _crash_hint(error: ValueError, grad_shape: tuple, arrays: list) -> str | None:
    """Name a shape error of backward: .T on batched matrices, or a reduction's axes not restored."""
    if "matmul" in str(error):
        order = (
            "a matrix product in backward has mismatched sizes: for out = a @ b, "
            "dL/da = grad @ bᵀ (grad on the left) and dL/db = aᵀ @ grad (aᵀ on the left)"
        )
        if any(array.ndim > 2 for array in arrays):
            return order + (
                "; on inputs of more than 2 axes, transpose with np.swapaxes(x, -1, -2), which "
                "swaps the last two axes (.T reverses every axis, the batch axes too)"
            )
        return order
    if "axes don't match array" in str(error):
        return (
            "NumPy's transpose takes the new order of every axis (x.transpose(0, 2, 1)), not "
            "two axes to swap as PyTorch's x.transpose(-1, -2) does: swap the last two axes "
            "with np.swapaxes(x, -1, -2)"
        )
    if "is out of bounds for array of dimension" in str(error) and _raised_in(error, "unbroadcast"):
        return AXES_SHIFT_HINT
    if "cannot reshape" in str(error) and _raised_in(error, "unbroadcast"):
        return RESHAPE_HINT
    if "broadcast" in str(error) and len(arrays) == 1 and len(grad_shape) < arrays[0].ndim:
        return "grad has the output's shape, without the reduced axes: " + (
            _restore_reduced_axes_hint(arrays[0].shape)
        )
    return None


def _raised_in(error: BaseException, function_name: str) -> bool:
    """Whether ``error`` was raised inside a function whose name holds ``function_name``."""
    frame = error.__traceback__
    while frame is not None:
        if function_name in frame.tb_frame.f_code.co_name:
            return True
        frame = frame.tb_next
    return False


def _restore_reduced_axes_hint(shape: tuple) -> str:
    """How to send grad, of a reduction's output shape, back to an input of ``shape``."""
    return (
        "reshape grad so that the reduced axes are there with length 1 (keepdims), "
        f"then np.broadcast_to it to {shape}"
    )


def _function_gradient_failure(
    described: str,
    comparison: TensorComparison,
    comparisons: list[TensorComparison],
    output_shape: tuple,
    inputs: dict[str, np.ndarray],
    grad: np.ndarray,
) -> GradientCheckError:
    """Explain a wrong gradient: broadcast but not summed back, not sent back, swapped, a
    product with a transpose missing or misplaced, or an extra term; ``inputs`` are the
    function's inputs by name, ``grad`` the dL/d(output) its backward was given."""
    name, analytic, numeric = comparison.name, comparison.analytic, comparison.numeric
    if analytic is not None and analytic.shape != numeric.shape:
        others = {c.name: c.numeric.shape for c in comparisons if c is not comparison}
        hint = _function_shape_hint(name, analytic.shape, numeric.shape, output_shape, others)
        return GradientCheckError(
            f"{described}: the gradient of '{name}' has shape {analytic.shape}, expected "
            f"{numeric.shape}, the shape of {name}.\nHint: {hint}",
            tensor=name,
            hint=hint,
        )
    other = swapped_with(comparison, comparisons, rtol=1e-6)
    if other is not None:
        hint = (
            f"backward returned the gradient of '{other.name}' for '{name}': return the "
            "gradients in the order of forward's inputs, and check which saved array goes "
            "into which"
        )
        return GradientCheckError(
            f"{described}: the gradients of '{name}' and '{other.name}' are swapped.\nHint: {hint}",
            tensor=name,
            hint=hint,
        )
    hint = _product_order_hint(comparison, inputs, grad) or extra_term_hint(
        comparison, _function_terms(comparison, comparisons, inputs, grad), 1, numeric.size
    )
    return gradient_failure(described, comparison, 1, numeric.size, hint)


def _function_terms(comparison, comparisons, inputs: dict, grad: np.ndarray):
    """(what, values, what to fix) for the arrays a function's wrong gradient may have
    picked up: the inputs, grad, and the other inputs' true gradients."""
    yield from other_gradients(comparison, comparisons, "return each input's gradient on its own")
    for other, values in inputs.items():
        yield (
            f"'{other}' itself",
            values,
            "remove that term: every term of a gradient is grad times a local derivative, "
            "and the inputs appear only inside the derivatives",
        )
    yield (
        "grad itself",
        grad,
        "that term is grad not multiplied by the local derivative: every term of the chain "
        "rule is grad times a derivative",
    )


def _product_order_hint(comparison, inputs: dict, grad: np.ndarray) -> str | None:
    """The hint when the true gradient of a matrix product's input is one product of grad
    and the other input (each transposed or not, in either order) and backward computed
    another, or None."""
    name = comparison.name
    others = [(other, values) for other, values in inputs.items() if other != name]
    if len(others) != 1 or np.ndim(grad) < 2 or np.ndim(others[0][1]) < 2:
        return None
    other, values = others[0]

    def transposed(array):
        return np.swapaxes(array, -1, -2)

    factors = {
        "grad": grad,
        "gradᵀ": transposed(grad),
        other: values,
        f"{other}ᵀ": transposed(values),
    }
    right, computed = [], []
    for (left, a), (right_name, b) in itertools.product(factors.items(), repeat=2):
        if ("grad" in left) == ("grad" in right_name):
            continue  # one factor is grad, the other the other input
        try:
            product = a @ b
        except ValueError:  # the sizes do not fit
            continue
        if product.shape != comparison.numeric.shape:
            continue  # (a product summed over broadcast batch axes is not tried)
        formula = f"{left} @ {right_name}"
        if close(product, comparison.numeric, MATCH_RTOL):
            right.append(formula)
        if comparison.analytic is not None and close(product, comparison.analytic, MATCH_RTOL):
            computed.append(formula)
    if len(right) != 1 or len(computed) != 1:
        return None  # none, or several products alike (1 x 1 matrices): it names nothing
    return (
        f"backward computes dL/d{name} as {computed[0]}, but it is {right[0]}: check which "
        "factor is transposed and on which side of @ it goes (the shapes fit either way "
        "when the matrices are square)"
    )


def _returned_in_another_order(
    function_cls: type, arrays: list, options: dict, comparisons: list, position: int
) -> str | None:
    """The hint when input ``position``'s gradient has another input's shape, that input's
    has this one's, and backward passes the check on generic inputs of these shapes once
    the two are swapped back: the gradients returned in another order; or None."""
    comparison = comparisons[position]
    if comparison.analytic is None or comparison.analytic.shape == comparison.numeric.shape:
        return None
    other = next(
        (
            j
            for j, c in enumerate(comparisons)
            if j != position
            and c.analytic is not None
            and c.numeric.shape == comparison.analytic.shape
            and c.analytic.shape == comparison.numeric.shape
        ),
        None,
    )
    if other is None:
        return None

    class SwappedBack(function_cls):
        def backward(self, grad):
            returned = list(super().backward(grad))
            returned[position], returned[other] = returned[other], returned[position]
            return tuple(returned)

    rng = np.random.default_rng(0x5A1)
    generic = [rng.uniform(0.5, 1.5, a.shape) * rng.choice([-1, 1], a.shape) for a in arrays]
    if not _passes(SwappedBack, generic, options):
        return None
    return (
        f"the gradients of '{comparison.name}' and '{comparisons[other].name}' come in the "
        "other order (each has the other input's shape, and swapped back they are right): "
        "return them in the order of forward's inputs, "
        f"({', '.join(c.name for c in comparisons)})"
    )


def _function_shape_hint(
    name: str, got: tuple, expected: tuple, output_shape: tuple, others: dict[str, tuple]
) -> str:
    """The hint for a gradient of ``name`` of shape ``got``; ``others`` are the other inputs' shapes."""
    from_the_shape = made_from_the_shape(got, expected)
    if from_the_shape:
        return from_the_shape
    try:
        was_broadcast = np.broadcast_shapes(got, expected) == got
    except ValueError:
        was_broadcast = False
    if was_broadcast:
        return (
            f"{name} was broadcast to {got} in forward: sum its gradient back to {name}'s "
            f"shape with unbroadcast(..., {name}.shape), as the last step (a product taken "
            "after it broadcasts the gradient again)"
        )
    matrix_axes = [output_shape[:-2] + expected[-2:]] if len(expected) >= 2 else []
    wrong_order = unbroadcast_order_hint(got, [output_shape, *matrix_axes], expected)
    if wrong_order:
        return f"unbroadcast gives the gradient of '{name}' the shape {got}: {wrong_order}"
    for other, shape in others.items():
        if got == shape:
            return (
                f"the gradient of '{name}' has the shape of '{other}': sum each gradient back "
                f"to its own input's shape, unbroadcast(..., {name}.shape)"
            )
    if got == output_shape:
        return (
            f"that is the output's shape: send grad back to every entry of {name} that made "
            f"it (after a reduction: {_restore_reduced_axes_hint(expected)})"
        )
    return diagnose(np.zeros(got), np.zeros(expected), batch_size=1, input_size=1)


def check_second_derivatives(
    function_cls: type, x, *, rtol: float = 1e-6, atol: float = 1e-9, seed: int = 0
) -> str:
    """Check that ``function_cls.backward`` can be differentiated: its second derivatives.

    For a Function of one input, runs ``sum(u * f(x))`` through the engine with
    ``create_graph=True``, so that ``backward`` receives Tensors, and compares the
    Hessian-vector product d/dx (gradient · v) with central differences of first
    derivatives along v (Richardson-extrapolated). Returns a one-line report; raises
    ``GradientCheckError`` naming the worst entry, with a hint.
    """
    name = function_cls.__name__
    x = np.array(x, dtype=np.float64)
    rng = np.random.default_rng((seed, DIRECTION_STREAM))
    u, v = rng.standard_normal(x.shape), rng.standard_normal(x.shape)

    def first_derivative(at: np.ndarray, create_graph: bool = False):
        tensor = Tensor(at, requires_grad=True)
        (gradient,) = grad(
            (function_cls.apply(tensor) * u).sum(), tensor, create_graph=create_graph
        )
        return tensor, gradient

    try:
        tensor, gradient = first_derivative(x, create_graph=True)
        if gradient.grad_fn is None:
            raise GradientCheckError(
                f"{name}: with create_graph=True the gradient records no operation, so it "
                "cannot be differentiated: compute the derivative in backward from the saved "
                "input or output with Tensor operations (not from an array derived in "
                "forward, nor from .data)"
            )
        (exact,) = grad((gradient * v).sum(), tensor)
    except TypeError as error:
        raise GradientCheckError(
            f"{name}.backward failed on Tensors ({error}): under create_graph it receives "
            "Tensors, so use pancake's functions (sin, cos, exp...) rather than NumPy's"
        ) from None

    def along_v(step: float) -> np.ndarray:
        plus = first_derivative(x + step * v)[1].data
        minus = first_derivative(x - step * v)[1].data
        return (plus - minus) / (2 * step)

    step = 1e-3 * max(1.0, float(np.max(np.abs(x))))
    expected = (4 * along_v(step / 2) - along_v(step)) / 3
    error = np.abs(exact.data - expected)
    allowed = atol + rtol * np.abs(expected)
    if np.any(error > allowed):
        worst = np.unravel_index(np.argmax(error - allowed), x.shape)
        raise GradientCheckError(
            f"{name}: second derivative (Hessian-vector product) at entry {worst} is "
            f"{exact.data[worst]:.6g}, central differences of first derivatives give "
            f"{expected[worst]:.6g}. If first derivatives pass, backward treats something "
            "as a constant that depends on x: compute the derivative in backward from the "
            "saved input with Tensor operations (not from an array derived in forward)"
        )
    return f"{name}: second derivatives match central differences (largest error {error.max():.1e})"
