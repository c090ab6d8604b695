"""Hints for a parameter gradient taken from part of the batch, run again on the check's input.

Every example of a batch contributes to the same parameters: a parameter's gradient is
the sum of the contributions of every example. ``part_of_the_batch_hint`` names a
gradient that is the contribution of one example only (the first or the last, along the
batch axis or among the rows of flattened leading axes), comparing it with central
differences of the module's own forward pass for a grad_output kept at that example
only. ``unflattened_grad_output_hint`` names the shape error of a weight gradient
``rows.T @ grad_output`` in which x was flattened to rows but grad_output was not,
reproducing the learner's error on the same arrays.
"""

from __future__ import annotations

import numpy as np

MATCH_RTOL = 1e-5
MAX_ENTRIES = 100  # the largest parameter whose shares are found by central differences


def _close(a, b, rtol: float = MATCH_RTOL) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(float(np.abs(b).max(initial=0.0)), 1e-12)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= rtol * scale + 1e-12))


def _parameter_gradient(module, parameter, x, others, direction, eps: float = 1e-6):
    """Central differences of sum(direction * module(x)) with respect to ``parameter``."""
    original = parameter.data
    values = np.array(original, dtype=np.float64)
    grad = np.zeros_like(values)
    try:
        for index in np.ndindex(values.shape):
            sums = []
            for shift in (eps, -eps):
                moved = values.copy()
                moved[index] += shift
                parameter.data = moved
                output = np.asarray(module(x, *others), dtype=np.float64)
                sums.append(float(np.sum(direction * output)))
            grad[index] = (sums[0] - sums[1]) / (2 * eps)
    finally:
        parameter.data = original
    return grad


def _kept_at(direction: np.ndarray, where: tuple) -> np.ndarray:
    """``direction`` zeroed everywhere but at the leading index ``where``."""
    kept = np.zeros_like(direction)
    kept[where] = direction[where]
    return kept


def part_of_the_batch_hint(module, name: str, analytic, x, others, direction) -> str | None:
    """The hint when the gradient of parameter ``name`` (``analytic``, from backward of
    ``direction``) is exactly the contribution of the first or the last example (or row)
    of the batch, or the sum of every other example's, where it must be the sum of every
    example's; or None."""
    if direction is None or analytic is None or np.ndim(direction) < 2 or len(direction) < 1:
        return None
    parameter = dict(_named(module)).get(name)
    if parameter is None or np.shape(analytic) != np.shape(parameter.data):
        return None
    if np.size(parameter.data) > MAX_ENTRIES:
        return None  # central differences of a large parameter, several times: too slow
    examples = direction.shape[0]
    leading = direction.shape[:-1]
    rows = int(np.prod(leading))
    if rows < 3:  # of two rows, "the last alone" is also "all but the first": say which
        return None if others else _on_several_examples(module, name, x)
    candidates = []
    if examples > 1:
        candidates += [("the first example", (0,)), ("the last example", (examples - 1,))]
    if len(leading) > 1 and rows > 1:
        last_row = tuple(length - 1 for length in leading)
        candidates += [("the first row", (0,) * len(leading)), ("the last row", last_row)]
    try:
        full = _parameter_gradient(module, parameter, x, others, direction)
        if _close(analytic, full):
            return None
        for which, where in candidates:
            share = _parameter_gradient(module, parameter, x, others, _kept_at(direction, where))
            if _close(share, full) or not np.any(share):
                continue  # that example alone is the whole gradient: no share to tell
            if _close(analytic, share):
                return _one_example_hint(name, which, where)
            if _close(analytic, full - share, 1e-4):
                return _all_but_one_hint(name, which, where)
    except Exception:  # a forward pass that fails on other values: no hint from here
        return None
    return None


def _on_several_examples(module, name: str, x, examples: int = 3) -> str | None:
    """``part_of_the_batch_hint`` for a batch of one or two rows, where every share is the
    whole gradient or two mistakes give the same one: the same diagnosis on a copy of
    ``module``, run forward and backward on a generic batch of ``examples`` examples of x's
    other axes; or None."""
    import copy

    rng = np.random.default_rng(examples)
    try:
        copied = copy.deepcopy(module)
        bigger = rng.standard_normal((examples, *np.shape(x)[1:]))
        direction = rng.standard_normal(np.shape(copied(bigger)))
        for _, parameter in _named(copied):
            parameter.grad = np.zeros_like(parameter.data)
        copied(bigger)
        copied.backward(direction.copy())
        analytic = np.array(dict(_named(copied))[name].grad, dtype=np.float64)
    except Exception:  # a module that fails on a larger batch: its own check says more
        return None
    hint = part_of_the_batch_hint(copied, name, analytic, bigger, (), direction)
    if hint is None:
        return None
    return f"run again on a batch of {examples} examples, {hint}"


def _one_example_hint(name: str, which: str, where: tuple) -> str:
    index = ", ".join(map(str, where))
    return (
        f"the gradient of '{name}' is the share of {which} of the batch only, that of "
        f"grad_output[{index}] alone: every example contributes to the same '{name}', so its "
        "gradient is the sum of the shares of all of them: sum over the batch axis (after "
        "flattening the leading axes into rows), grad_rows.sum(axis=0) for a bias, "
        "rows.T @ grad_rows for a weight (which adds up the products of every row)"
    )


def _all_but_one_hint(name: str, which: str, where: tuple) -> str:
    index = ", ".join(map(str, where))
    return (
        f"the gradient of '{name}' leaves out the share of {which} of the batch, that of "
        f"grad_output[{index}]: it is the sum over every other example. A slice or a range "
        "that skips one end ([1:], [:-1], range(1, n)) drops it: sum over every row, "
        "grad_rows.sum(axis=0) for a bias, rows.T @ grad_rows for a weight"
    )


def _named(module) -> list:
    named = getattr(module, "named_parameters", None)
    return list(named()) if callable(named) else []


def _error_of(compute) -> str | None:
    """The message of the ValueError ``compute()`` raises, or None."""
    try:
        compute()
    except ValueError as error:
        return str(error)
    return None


def _reproduced(shape: tuple, gradients: dict, message: str) -> list[str]:
    """The names of the ``gradients`` (name: a function computing one) whose addition (+=)
    to a zero gradient of ``shape`` raises the ValueError ``message``, word for word."""

    def added(compute):
        def add():
            grad = np.zeros(shape)
            grad += compute()

        return add

    return [name for name, compute in gradients.items() if _error_of(added(compute)) == message]


def unflattened_bias_hint(module, direction, error: ValueError) -> str | None:
    """The hint when backward's error is that of adding grad_output.sum(axis=0), with
    grad_output of leading axes (N, M, ..., out), to a bias of shape (out,): the same error
    raised by that sum of these arrays (and, if a sum of the rows with keepdims=True raises
    it too, a hint that names both); or None."""
    if direction is None or np.ndim(direction) < 3:
        return None
    bias_shape = (direction.shape[-1],)
    if not any(np.shape(p.data) == bias_shape for _, p in _named(module)):
        return None
    rows = np.reshape(direction, (-1, direction.shape[-1]))
    found = _reproduced(
        bias_shape,
        {
            "unflattened": lambda: direction.sum(axis=0),
            "keepdims": lambda: rows.sum(axis=0, keepdims=True),
        },
        str(error),
    )
    if "unflattened" not in found:
        return None
    fix = (
        "Every row of the leading axes contributes to the bias: flatten them first, "
        "grad_rows = grad_output.reshape(-1, out_features), and take grad_rows.sum(axis=0)"
    )
    if "keepdims" in found:
        return (
            f"the bias gradient has shape {direction.shape[1:]}, not {bias_shape}: what "
            f"grad_output.sum(axis=0) gives for a grad_output of shape {direction.shape} (the "
            "first axis only), or a sum with keepdims=True (which keeps the summed axis with "
            f"length 1). {fix}, without keepdims"
        )
    return (
        f"grad_output.sum(axis=0) sums over the first axis only: grad_output of shape "
        f"{direction.shape} leaves {direction.shape[1:]}, not {bias_shape}. {fix}"
    )


def unflattened_grad_output_hint(module, x, direction, error: ValueError) -> str | None:
    """The hint when backward's error is that of a weight gradient rows.T @ grad_output, x
    flattened to rows but grad_output not (x with leading axes, a weight of shape (in,
    out)): the same error raised by that product of these arrays (also naming x.T @
    grad_output when it raises it too); or None."""
    if direction is None or np.ndim(x) < 3 or np.ndim(direction) < 3:
        return None
    rows = np.reshape(x, (-1, np.shape(x)[-1]))
    weight_shape = (rows.shape[1], direction.shape[-1])
    if not any(np.shape(p.data) == weight_shape for _, p in _named(module)):
        return None
    found = _reproduced(
        weight_shape,
        {
            "rows.T @ grad_output": lambda: rows.T @ direction,
            "x.T @ grad_output": lambda: np.asarray(x).T @ direction,
        },
        str(error),
    )
    if "rows.T @ grad_output" not in found:
        return None
    return (
        f"the weight gradient fails as {' or '.join(found)} does, with grad_output of shape "
        f"{direction.shape}: a product with grad_output left unflattened keeps its leading "
        f"axes, where the weight's gradient has shape {weight_shape}. Flatten x and "
        "grad_output to rows, rows = x.reshape(-1, in_features), grad_rows = "
        "grad_output.reshape(-1, out_features), and take rows.T @ grad_rows (and "
        "grad_rows.sum(axis=0) for the bias)"
    )


def statistics_shape_hint(module, x: np.ndarray) -> str | None:
    """The hint when a BatchNorm's training forward combines its running buffers (one
    value per channel, shape (C,)) with batch statistics of the right values but another
    shape: kept reduced axes (keepdims=True), or taken over axis 0 only. Found by running
    the forward of a copy of ``module`` on a generic input of x's shape, with buffers that
    record the arrays they are combined with; or None."""
    import copy

    axes, channels = getattr(module, "reduce_axes", None), getattr(module, "num_features", None)
    if axes is None or channels is None or np.ndim(x) < 2:
        return None
    seen: list[np.ndarray] = []

    class Buffer(np.ndarray):
        """A running buffer that records the other operands of each operation on it."""

        def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
            seen.extend(np.array(value) for value in inputs if not isinstance(value, Buffer))
            plain = [np.asarray(value) if isinstance(value, Buffer) else value for value in inputs]
            if out is not None:
                kwargs["out"] = tuple(np.asarray(array) for array in out)
            result = getattr(ufunc, method)(*plain, **kwargs)
            return result.view(Buffer) if isinstance(result, np.ndarray) else result

    generic = np.random.default_rng(0).standard_normal(np.shape(x)) * 1.5 + 0.3
    copied = copy.deepcopy(module)
    copied.train()
    copied.running_mean = np.zeros(channels).view(Buffer)
    copied.running_var = np.ones(channels).view(Buffer)
    try:
        copied(generic)
    except Exception:  # the shape error this diagnoses, or another one
        pass
    m = getattr(module, "momentum", 0.1)
    count = generic.size // channels
    variants = {
        "keepdims": dict(axis=axes, keepdims=True),
        "axis 0": dict(axis=0),
    }
    for kind, reduction in variants.items():
        mean = generic.mean(**reduction)
        var = generic.var(**reduction)
        statistics = (mean, var, var * count / (count - 1))
        if mean.shape == (channels,):
            continue
        if any(
            value.shape == stat.shape and (np.allclose(value, stat) or np.allclose(value, m * stat))
            for value in seen
            for stat in statistics
        ):
            return _statistics_shape_text(kind, mean.shape, channels, axes)
    return None


def _statistics_shape_text(kind: str, shape: tuple, channels: int, axes: tuple) -> str:
    if kind == "keepdims":
        return (
            f"the batch statistics have the right values but the shape {shape}: keepdims=True "
            "keeps the reduced axes with length 1, and the running buffers hold one value per "
            f"channel, shape ({channels},), so (1 - momentum) * running_mean + momentum * mean "
            f"broadcasts ({channels},) with {shape} into a larger array. Take the mean and the "
            f"variance over self.reduce_axes ({axes} here) without keepdims, shape ({channels},) "
            "(self.per_channel(mean) shapes them for x)"
        )
    return (
        f"the batch statistics were taken over axis 0 only, shape {shape} (one value per "
        f"channel and position): they must hold one value per channel, shape ({channels},), "
        f"like the running buffers: take them over every axis but the channel axis, "
        f"self.reduce_axes ({axes} here), not over axis 0 only"
    )
