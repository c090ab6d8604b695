"""Gradient checking: compare a module's backward pass with central differences.

``check_gradients`` is the grading tool of the course, so it is built to two rules:
a correct implementation never fails it, and a wrong one never passes. The first
rule is kept by a tolerance that grows with the rounding error of the finite
differences (estimated from the magnitude of the computation); the second by
comparing every entry, not a norm, so that an error of one part in a thousand in a
single entry is caught.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from pancake.nn.conv import fold
from pancake.nn.losses import Loss
from pancake.nn.module import Module
from pancake.testing.batch_hints import (
    part_of_the_batch_hint,
    unflattened_bias_hint,
    unflattened_grad_output_hint,
)
from pancake.testing.errors import parsed_shape, with_the_part
from pancake.testing.hints import (
    GENERIC_POINTS,
    MATCH_RTOL,
    NOT_LINEAR_HINTS,
    UNNAMED_FACTOR,
    VALUES_WRONG_HINT,
    changed_by_backward_hint,
    changed_by_forward_hint,
    close,
    container_hint,
    container_order_hint,
    cross_entropy_formula_hint,
    diagnose,
    diagnose_factor,
    diagnose_shape,
    divided_by_classes,
    elementwise_hint,
    forward_skips_hint,
    grad_output_nonlinearity,
    loss_target_hint,
    parameter_hint,
    per_example_sum_hint,
    unchanged_kind,
    wrong_entries,
)

FLOAT64_EPS = np.finfo(np.float64).eps
# Rounding in f(x ± h) is bounded by a small multiple of eps·Σ|terms|; 100 leaves room
# for the growth of rounding through sums and products without hiding real mistakes.
ROUNDING_SAFETY = 100.0
# The projection direction gets a seed stream of its own, so that it never equals an input
# drawn with the same seed (x = default_rng(0).normal(...) would make xᵀu symmetric).
DIRECTION_STREAM = 0x5EED
GENERIC_STREAM = 0x6E7  # the generic input a failure is diagnosed on


class GradientCheckError(AssertionError):
    """Raised when a backward pass disagrees with finite differences; ``hint`` names the likely mistake."""

    def __init__(self, message: str, tensor: str = "", hint: str = ""):
        super().__init__(message)
        self.tensor = tensor
        self.hint = hint

    def with_hint(self, hint: str) -> GradientCheckError:
        """The same failure with another hint (the message's ``Hint:`` line replaced)."""
        message = str(self).rsplit("\nHint: ", 1)[0]
        return GradientCheckError(f"{message}\nHint: {hint}", tensor=self.tensor, hint=hint)


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6):
    """Central differences of a scalar function: ``(f(x + h e_i) - f(x - h e_i)) / 2h`` for each i.

    ``x`` of any shape -> gradient of the same shape, in float64. ``f`` receives a float64
    array (perturbed one entry at a time, in place) and must return a number.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    ### BEGIN SOLUTION
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        f_plus = float(f(x))
        x[index] = original - eps
        f_minus = float(f(x))
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    ### END SOLUTION
    return grad


def extrapolated_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, step: float):
    """Central differences with Richardson extrapolation: ``(4 D(h) - D(2h)) / 3``.

    Central differences are off by c·h² (the curvature of f); combining steps h and 2h
    cancels that term, so the estimate stays exact where f bends on a scale much smaller
    than |x| (a tanh fed inputs of 100).
    """
    return (
        4 * numerical_gradient(f, x.copy(), step) - numerical_gradient(f, x.copy(), 2 * step)
    ) / 3


def step_for(values: np.ndarray, eps: float) -> float:
    """The finite-difference step: ``eps`` relative to the tensor's largest entry (at least eps)."""
    return eps * max(1.0, float(np.abs(values).max(initial=0.0)))


def tolerance(numeric: np.ndarray, magnitude: float, step: float, rtol: float, atol: float):
    """Per-entry tolerance ``atol + rtol·|numeric| + rounding`` (same shape as ``numeric``).

    ``magnitude`` is Σ|terms| of the differentiated scalar: evaluating it rounds by about
    eps·magnitude, which the difference quotient divides by the step.
    """
    rounding = ROUNDING_SAFETY * FLOAT64_EPS * magnitude / step
    return atol + rounding + rtol * np.abs(numeric)


@dataclass
class TensorComparison:
    """Analytic and numerical gradients of one tensor, and the tolerance they are held to."""

    name: str
    analytic: np.ndarray | None
    numeric: np.ndarray
    tolerance: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.numeric.shape

    def errors(self) -> np.ndarray:
        """|analytic - numeric| per entry (same shape as the tensor)."""
        return np.abs(self.analytic - self.numeric)

    def max_abs_error(self) -> float:
        return float(self.errors().max(initial=0.0))

    def max_rel_error(self) -> float:
        """The largest error relative to the largest numerical gradient entry."""
        scale = np.abs(self.numeric).max(initial=0.0)
        return self.max_abs_error() / scale if scale > 0 else self.max_abs_error()

    def passes(self) -> bool:
        return (
            self.analytic is not None
            and self.analytic.shape == self.shape
            and bool(np.all(self.errors() <= self.tolerance))
        )


def compare_tensor(
    name: str,
    objective: Callable[[np.ndarray], float],
    values: np.ndarray,
    analytic: np.ndarray | None,
    magnitude: float,
    eps: float,
    rtol: float,
    atol: float,
) -> TensorComparison:
    """Hold ``analytic`` against the extrapolated central differences of ``objective`` at ``values``.

    ``magnitude`` is Σ|terms| of the objective (see ``tolerance``); the step is ``step_for(values, eps)``.
    """
    step = step_for(values, eps)
    numeric = extrapolated_gradient(objective, values, step)
    return TensorComparison(
        name, analytic, numeric, tolerance(numeric, magnitude, step, rtol, atol)
    )


def compare_inputs(
    objective: Callable[..., float],
    arrays: Sequence[np.ndarray],
    analytic: Sequence[np.ndarray | None],
    names: Sequence[str],
    magnitude: float,
    eps: float,
    rtol: float,
    atol: float,
) -> list[TensorComparison]:
    """``compare_tensor`` for each input of ``objective(*arrays)``, moving one input at a time."""
    comparisons = []
    for position, (name, values) in enumerate(zip(names, arrays, strict=True)):

        def moved_objective(moved: np.ndarray, position=position) -> float:
            return objective(*arrays[:position], moved, *arrays[position + 1 :])

        comparisons.append(
            compare_tensor(
                name, moved_objective, values, analytic[position], magnitude, eps, rtol, atol
            )
        )
    return comparisons


class GradientReport:
    """The result of a passing gradient check: prints as a table, one row per tensor, then ``notes``."""

    def __init__(
        self, module_name: str, comparisons: list[TensorComparison], notes: Sequence[str] = ()
    ):
        self.module_name = module_name
        self.comparisons = comparisons
        self.notes = list(notes)

    def __str__(self) -> str:
        header = f"{'tensor':<16}{'shape':<16}{'max abs err':>13}{'max rel err':>13}"
        lines = [f"gradient check of {self.module_name}: OK", header, "-" * len(header)]
        for c in self.comparisons:
            lines.append(
                f"{c.name:<16}{str(c.shape):<16}{c.max_abs_error():>13.2e}{c.max_rel_error():>13.2e}"
            )
        return "\n".join(lines + self.notes)

    __repr__ = __str__


def check_gradients(
    module: Module,
    *inputs,
    rtol: float = 1e-6,
    atol: float = 1e-10,
    eps: float = 1e-5,
    seed: int = 0,
) -> GradientReport:
    """Compare ``module.backward`` with central differences for its input and every parameter.

    ``inputs`` are what ``module(*inputs)`` takes: one array for a layer, ``(pred, target)``
    for a loss. The output of a layer is projected on a fixed random direction ``u`` so the
    check differentiates the scalar ``sum(u * module(x))``. The check runs in float64 on a
    copy of the module, with Richardson-extrapolated central differences (steps
    ``eps·max(1, |tensor|)`` and twice that). Entry i passes when
    ``|analytic_i - numeric_i| <= atol + rtol·|numeric_i| + rounding``, where ``rounding``
    bounds the floating-point error of the finite difference itself. It also checks that
    a second backward pass adds to the parameter gradients (``+=``) instead of replacing them.
    Every gradient is checked, dL/dx included, even for a module told it may skip it
    (``needs_input_grad = False``): the check runs on a copy that needs it.
    Returns a ``GradientReport``; raises ``GradientCheckError`` with a hint on the first
    failure. The hint is diagnosed again on a generic input (and parameters) of the same
    shapes, since a shrunk example (one entry, k = 0) can make different mistakes look alike.
    """
    try:
        return _check_gradients(module, inputs, rtol, atol, eps, seed)
    except GradientCheckError as failure:
        raise _hinted_on_a_generic_input(module, inputs, failure, rtol, atol, eps, seed) from None


def _check_gradients(module, inputs, rtol, atol, eps, seed) -> GradientReport:
    module = _float64_copy(module)
    if hasattr(module, "needs_input_grad"):
        module.needs_input_grad = True
    x = np.array(inputs[0], dtype=np.float64)
    others = tuple(_float64_if_floating(value) for value in inputs[1:])
    x_before = x.copy()
    objective = _Objective(module, x, others, np.random.default_rng((seed, DIRECTION_STREAM)))

    analytic_input, first_grads = objective.analytic_gradients()
    if not np.array_equal(x, x_before):
        raise GradientCheckError(
            f"{module!r}: the input changed.\nHint: {INPUT_CHANGED_HINT}",
            tensor="input",
            hint=INPUT_CHANGED_HINT,
        )
    changed = objective.changed_by_forward or objective.changed_by_backward
    _, second_grads = objective.analytic_gradients(zero_first=False)

    comparisons = [objective.compare_input(analytic_input, eps, rtol, atol)]
    for name, parameter in objective.parameters:
        comparisons.append(
            objective.compare_parameter(name, parameter, first_grads[name], eps, rtol, atol)
        )

    batch_size = x.shape[0] if x.ndim >= 2 else 1
    for comparison in comparisons:
        if not comparison.passes():
            hint = (
                changed
                or _swapped_hint(comparison, comparisons)
                or objective.saved_order_hint(comparison)
                or objective.hint_for(comparison)
                or objective.parameter_factor_hint(comparison)
                or objective.buffer_factor_hint(comparison)
                or objective.frozen_statistics_hint(comparison)
                or objective.grad_output_layout_hint(comparison, eps, rtol, atol)
                or objective.input_for_grad_output_hint(comparison, eps, rtol, atol)
                or objective.length_factor_hint(comparison, batch_size, x.size)
                or objective.extra_term_hint(comparison, comparisons, batch_size, x.size)
                or objective.overlap_hint(comparison)
                or objective.grad_output_scaling_hint(comparison)
            )
            raise gradient_failure(
                repr(module),
                comparison,
                batch_size,
                x.size,
                hint,
                objective.shapes_besides(comparison.name),
                x if comparison.name == "input" else None,
            )
    for name, first in first_grads.items():
        _check_accumulation(module, name, first, second_grads[name], changed)
    notes = ["parameter gradients accumulate across backward calls: OK"] if first_grads else []
    return GradientReport(repr(module), comparisons, notes)


INPUT_CHANGED_HINT = (
    "forward() or backward() modified its input array in place: compute new arrays instead"
)


def _writes_into_its_input(module, shape: tuple, others: tuple) -> bool:
    """Whether a copy of ``module`` run on an input of ``shape`` with entries of both signs
    (the failing input may have none below 0, where x[x < 0] = 0 changes nothing) changes
    that input."""
    x = np.resize(GENERIC_POINTS, shape).astype(np.float64)
    before = x.copy()
    try:
        _float64_copy(module)(x, *others)
    except Exception:  # it rejects such an input: no diagnosis from it
        return False
    return not np.array_equal(x, before)


def _hinted_on_a_generic_input(module, inputs, failure, rtol, atol, eps, seed):
    """``failure`` with the hint of the same check on a generic input of the same shape.

    Hypothesis shrinks a failing case to degenerate values (one entry, 0.5, k = 0), where
    different mistakes give the same numbers. The failure keeps its own numbers (the
    worst entry at the failing input) and takes the hint diagnosed on standard normal
    values, if the check fails there too.
    """
    rng = np.random.default_rng((seed, GENERIC_STREAM))
    x = np.asarray(inputs[0])
    if _writes_into_its_input(module, x.shape, inputs[1:]):
        return failure.with_hint(INPUT_CHANGED_HINT)
    generic = (rng.standard_normal(x.shape) * max(1.0, float(np.abs(x).max(initial=0.0))),)
    module = _float64_copy(module)
    for _, parameter in named_parameters(module):  # k = 0 or 1 hides mistakes too
        parameter.data = 0.5 + rng.random(parameter.data.shape)
    generic_hint = ""
    try:
        _check_gradients(module, generic + tuple(inputs[1:]), rtol, atol, eps, seed)
    except GradientCheckError as generic_failure:
        generic_hint = generic_failure.hint or ""
    except Exception:  # the module rejects other values (a loss of probabilities, say)
        return failure
    # An unnamed factor holds on few values by chance (two entries that must sum to 0):
    # it is shown only when the generic input gives the same one, and never taken from it.
    if (
        generic_hint
        and generic_hint != failure.hint
        and not generic_hint.startswith(UNNAMED_FACTOR)
    ):
        return failure.with_hint(generic_hint)
    if failure.hint.startswith(UNNAMED_FACTOR) and generic_hint != failure.hint:
        return failure.with_hint(VALUES_WRONG_HINT)
    return failure


def _changed_grad_output(module: Module) -> GradientCheckError:
    """The failure of a backward that wrote into the grad_output it was given."""
    hint = (
        "backward changed grad_output in place (grad_output *= ..., or an assignment into "
        "it): compute a new array (grad_output * ...) instead; the caller may still need "
        "grad_output (a residual connection adds it to the other branch's gradient)"
    )
    return GradientCheckError(
        f"{module!r}: backward(grad_output) changed grad_output.\nHint: {hint}",
        tensor="input",
        hint=hint,
    )


def other_gradients(comparison: TensorComparison, comparisons: list, fix: str):
    """(what, values, what to fix) for the other tensors' true gradients, which a wrong
    gradient may have picked up; ``fix`` says how to keep them apart."""
    for other in comparisons:
        if other is not comparison:
            yield (
                f"the true gradient of '{other.name}'",
                other.numeric,
                f"the gradient of '{other.name}' went into {comparison.name}'s as well: {fix}",
            )


def _windows_covering(image: tuple, kernel, stride, padding) -> np.ndarray:
    """``(H, W)``: how many windows (``kernel``, every ``stride`` pixels of the image padded
    by ``padding``) cover each pixel of an image of ``image`` = (H, W): ``fold`` of ones."""
    padded = [length + 2 * pad for length, pad in zip(image, padding, strict=True)]
    windows = [(length - k) // s + 1 for length, k, s in zip(padded, kernel, stride, strict=True)]
    ones = np.ones((1, *windows, *kernel, 1))
    count = fold(ones, (1, *padded, 1), tuple(stride))[0, :, :, 0]
    (ph, pw), (height, width) = padding, image
    return count[ph : ph + height, pw : pw + width]


class _Objective:
    """The scalar the check differentiates: the loss, or sum(u * output) for a layer."""

    def __init__(self, module: Module, x: np.ndarray, others: tuple, rng: np.random.Generator):
        self.module = module
        # Named once, before any backward pass: a backward that reorders the module's
        # children must not rename its parameters under the check.
        self.parameters = named_parameters(module)
        self.x = x
        self.others = others
        output = module(x, *others)
        self.output = np.array(output, dtype=np.float64)
        self.changed_by_forward = changed_by_forward_hint(self.output, module(x, *others))
        self.changed_by_backward: str | None = None
        self.first_grads: dict[str, np.ndarray] = {}  # the parameter gradients of one pass
        # A loss maps (pred, target) to a number; its backward() takes no argument.
        self.is_loss = isinstance(module, Loss) or (bool(others) and np.ndim(output) == 0)
        self.direction = None if self.is_loss else rng.standard_normal(np.shape(output))
        self.magnitude = self._magnitude(self.output)

    def __call__(self, x: np.ndarray) -> float:
        # A plain array: the arithmetic of an ndarray subclass (__array_ufunc__) is the
        # learner's own, and could show the check another function than the values.
        output = np.asarray(self.module(x, *self.others), dtype=np.float64)
        if self.is_loss:
            return float(output)
        return float(np.sum(self.direction * output))

    def _magnitude(self, output: np.ndarray) -> float:
        """Σ|terms| of the objective, which bounds the rounding error of evaluating it."""
        if self.is_loss:
            return abs(float(output)) + float(np.abs(self.x).max(initial=0.0))
        return float(np.sum(np.abs(self.direction * output)))

    def analytic_gradients(self, zero_first: bool = True):
        """One forward and backward pass: (dL/dx, {name: accumulated dL/dparam})."""
        if zero_first:
            for _, parameter in self.parameters:
                parameter.grad = np.zeros_like(parameter.data)
        self.module(self.x, *self.others)
        sent = None if self.is_loss else self.direction.copy()
        try:
            if self.is_loss:
                grad_input = self.module.backward()
            else:
                grad_input = self.module.backward(sent)
        except ValueError as error:  # NumPy's shape errors: explain them
            named = (
                container_order_hint(self.module, self.x, self.direction)
                or elementwise_hint(self.module)
                or unflattened_grad_output_hint(self.module, self.x, self.direction, error)
                or unflattened_bias_hint(self.module, self.direction, error)
                or _reshape_hint(error, self.shapes_besides(None))
                or _batched_transpose_hint(self.module, self.x, self.direction, error)
                or _product_order_hint(self.parameters, self.x, self.direction, error)
            )
            related = self.shapes_besides(None)
            raise _backward_crashed(self.module, error, self.direction, named, related) from error
        except RuntimeError as error:
            if "nothing saved by forward" not in str(error):  # Module.require_forward's
                raise
            raise _backward_before_forward(self.module, self.x, error) from error
        except IndexError as error:
            if not isinstance(getattr(self.module, "layers", None), Sequence):
                raise
            hint = (
                f"backward indexes self.layers out of range ({len(self.module.layers)} modules: "
                f"indices 0 to {len(self.module.layers) - 1}): go from the last, "
                "self.layers[len(self.layers) - 1], down to self.layers[0], or iterate over "
                "reversed(self.layers)"
            )
            raise GradientCheckError(
                f"{self.module!r}: backward() raised IndexError: {error}\nHint: {hint}", hint=hint
            ) from error
        except TypeError as error:
            if "'NoneType'" not in str(error):
                raise
            raise _backward_used_none(self.module, error) from error
        if sent is not None and not np.array_equal(sent, self.direction):
            raise _changed_grad_output(self.module)
        if isinstance(grad_input, tuple | list):
            hint = (
                f"backward returned a {type(grad_input).__name__} of {len(grad_input)} values: a "
                "module's backward returns one array, dL/dx (the gradients of its parameters "
                "are added to their .grad)"
            )
            raise GradientCheckError(
                f"{self.module!r}: backward returned a {type(grad_input).__name__}.\nHint: {hint}",
                tensor="input",
                hint=hint,
            )
        grads = {name: np.array(p.grad, dtype=np.float64) for name, p in self.parameters}
        if zero_first:
            self.first_grads = grads
            after = np.array(self.module(self.x, *self.others), dtype=np.float64)
            self.changed_by_backward = changed_by_backward_hint(self.output, after)
        return (None if grad_input is None else np.asarray(grad_input, dtype=np.float64)), grads

    def shapes_besides(self, name: str | None) -> dict[str, tuple]:
        """The shapes of the arrays in play other than tensor ``name`` (None: all), by what
        they are."""
        shapes = {"the input x": self.x.shape}
        if self.is_loss:
            shapes["the target"] = np.shape(self.others[0])
        else:
            shapes["grad_output (the output's shape)"] = self.direction.shape
        if self.x.ndim >= 2:
            shapes["a row of the input x (its last axis)"] = self.x.shape[-1:]
        if not self.is_loss and self.direction.ndim >= 2:
            shapes["a row of grad_output (its last axis)"] = self.direction.shape[-1:]
        shapes.update({f"'{other}'": p.data.shape for other, p in self.parameters})
        return {what: shape for what, shape in shapes.items() if name is None or name not in what}

    def hint_for(self, comparison: TensorComparison) -> str | None:
        """A hint from the hypotheses of ``pancake.testing.hints`` for this kind of module."""
        if comparison.name in ("input", "pred"):
            if self.is_loss:
                return (
                    loss_target_hint(
                        comparison.analytic, comparison.numeric, self.x, self.others[0]
                    )
                    or divided_by_classes(comparison.analytic, comparison.numeric, self.x)
                    or cross_entropy_formula_hint(
                        comparison.analytic, comparison.numeric, self.x, self.others[0]
                    )
                )
            return (
                self.grad_for_data_hint(comparison.analytic)
                or elementwise_hint(self.module)
                or container_hint(self.module, self.x, self.direction, comparison.analytic)
            )
        value = dict(self.parameters)[comparison.name].data
        return (
            container_order_hint(self.module, self.x, self.direction)
            or parameter_hint(comparison.name, comparison.analytic, value, self.direction, self.x)
            or part_of_the_batch_hint(
                self.module,
                comparison.name,
                comparison.analytic,
                self.x,
                self.others,
                self.direction,
            )
            or self.output_for_input_hint(comparison)
        )

    def overlap_hint(self, comparison: TensorComparison) -> str | None:
        """The hint when an image module's input gradient (its windows: ``kernel_size``,
        ``stride``, ``padding``) is wrong exactly at the pixels that more than one window
        covers: shares assigned (=) where they add up (+=); or None."""
        kernel, stride = (
            getattr(self.module, "kernel_size", None),
            getattr(self.module, "stride", None),
        )
        padding = getattr(self.module, "padding", (0, 0))
        analytic, numeric = comparison.analytic, comparison.numeric
        if comparison.name != "input" or kernel is None or stride is None or self.x.ndim != 4:
            return None
        if analytic is None or analytic.shape != numeric.shape:
            return None
        overlapped = _windows_covering(self.x.shape[2:], kernel, stride, padding) > 1
        wrong = wrong_entries(analytic, numeric)
        if not np.any(overlapped) or not np.array_equal(np.any(wrong, axis=(0, 1)), overlapped):
            return None
        return (
            "the input gradient is wrong exactly at the pixels that more than one window "
            "covers (the windows overlap: stride smaller than the kernel), right elsewhere: "
            "each window adds its share to the pixels it covers; add (+=) into the gradient, "
            "don't assign (=), which keeps only the last window's share"
        )

    def grad_output_scaling_hint(self, comparison: TensorComparison) -> str | None:
        """The hint when a gradient does not scale with grad_output (backward is linear in
        it: backward(2g) must be twice backward(g)), or None."""
        once = comparison.analytic
        if self.is_loss or once is None or not np.any(once):
            return None
        try:
            twice = self._gradient_for(comparison.name, 2 * self.direction)
        except Exception:  # a backward that fails on other values: no hint from here
            return None
        if twice is None or twice.shape != once.shape or close(twice, 2 * once, MATCH_RTOL):
            return None
        what = "dL/dx" if comparison.name == "input" else f"the gradient of '{comparison.name}'"
        if close(twice, once, MATCH_RTOL):
            return NOT_LINEAR_HINTS[unchanged_kind(once)].format(what=what)
        try:
            thrice = self._gradient_for(comparison.name, 3 * self.direction)
        except Exception:  # a backward that fails on other values: no hint from here
            return None
        kind = grad_output_nonlinearity(once, twice, thrice)
        return NOT_LINEAR_HINTS["square" if kind == "square" else "offset"].format(what=what)

    def _gradient_for(self, name: str, direction: np.ndarray) -> np.ndarray | None:
        """Tensor ``name``'s gradient from a fresh forward and backward(direction)."""
        for _, parameter in self.parameters:
            parameter.grad = np.zeros_like(parameter.data)
        self.module(self.x, *self.others)
        returned = self.module.backward(direction.copy())
        if name == "input":
            return None if returned is None else np.asarray(returned, dtype=np.float64)
        return np.array(dict(self.parameters)[name].grad, dtype=np.float64)

    def parameter_factor_hint(self, comparison: TensorComparison) -> str | None:
        """The hint when a gradient is the true one times (or divided by) a parameter's
        values, one per entry of an axis (γ per channel) or one for all, or None."""
        analytic, numeric = comparison.analytic, comparison.numeric
        if analytic is None or analytic.shape != numeric.shape or not np.any(numeric):
            return None
        for name, parameter in self.parameters:
            for values, where in _aligned(np.asarray(parameter.data, np.float64), numeric.shape):
                if close(values, np.ones_like(values), 1e-3) or not np.all(values):
                    continue  # γ = 1 changes nothing; a zero (β = 0) divides nothing
                for predicted, verb in ((numeric / values, "missing"), (numeric * values, "extra")):
                    if close(analytic, predicted, MATCH_RTOL):
                        attribute = name.rsplit(".", 1)[-1]
                        return (
                            f"the gradient of '{comparison.name}' is off by a factor equal to "
                            f"'{attribute}' ({where}): a factor {attribute} is {verb} "
                            f"where the chain rule goes through it (the output is "
                            f"multiplied by {attribute}, so is the gradient that flows back)"
                        )
        return None

    def frozen_statistics_hint(self, comparison: TensorComparison) -> str | None:
        """The hint when a normalisation layer in training mode (``reduce_axes``, ``eps``)
        gives dL/dx = grad_output·γ/√(var + eps), the rule of fixed statistics, or None."""
        module = self.module
        axes, eps = getattr(module, "reduce_axes", None), getattr(module, "eps", None)
        weight = dict(self.parameters).get("weight")
        if comparison.name != "input" or not getattr(module, "training", False):
            return None
        if axes is None or eps is None or weight is None or comparison.analytic is None:
            return None
        inv_std = 1 / np.sqrt(self.x.var(axis=tuple(axes), keepdims=True) + eps)
        gamma = np.asarray(weight.data, np.float64).reshape(inv_std.shape)
        if not close(comparison.analytic, self.direction * gamma * inv_std, MATCH_RTOL):
            return None
        return (
            "dL/dx is grad_output·γ/√(var + eps), as if the batch mean and variance were "
            "constants (eval mode's rule): in training mode they are computed from x, so "
            "their derivatives add two terms; use standardize_backward(grad_x_hat, x_hat, "
            "inv_std, axes) there"
        )

    def buffer_factor_hint(self, comparison: TensorComparison) -> str | None:
        """The hint when a gradient is the true one times (or divided by) a buffer's values
        or their square root (√(running_var + eps): a standard deviation), one per entry of
        an axis or one for all, or None."""
        analytic, numeric = comparison.analytic, comparison.numeric
        if analytic is None or analytic.shape != numeric.shape or not np.any(numeric):
            return None
        for form, values in self._buffer_forms():
            for aligned, where in _aligned(values, numeric.shape):
                if close(aligned, np.ones_like(aligned), 1e-3) or not np.all(aligned):
                    continue  # a factor 1 changes nothing; a zero divides nothing
                if close(analytic, numeric * aligned, MATCH_RTOL):
                    return (
                        f"the gradient of '{comparison.name}' is the true one times {form} "
                        f"({where}): backward leaves out a division by {form}, which forward "
                        "applies, so the chain rule applies it too"
                    )
                if close(analytic, numeric / aligned, MATCH_RTOL):
                    return (
                        f"the gradient of '{comparison.name}' is the true one divided by "
                        f"{form} ({where}): backward divides by {form} once more than forward "
                        "does (or multiplies where it should divide)"
                    )
        return None

    def _buffer_forms(self) -> list[tuple[str, np.ndarray]]:
        """Each buffer of the module as it is and, when it holds no negative value, its square
        root, with eps added if the module has one: (how it is written, values)."""
        buffers = self.module.named_buffers() if hasattr(self.module, "named_buffers") else ()
        eps = getattr(self.module, "eps", None)
        forms = []
        for name, values in buffers:
            values = np.asarray(values, dtype=np.float64)
            forms.append((name, values))
            if np.all(values >= 0):
                if isinstance(eps, float) and eps > 0:
                    forms.append((f"√({name} + eps)", np.sqrt(values + eps)))
                forms.append((f"√{name}", np.sqrt(values)))
        return forms

    def length_factor_hint(
        self, comparison: TensorComparison, batch_size: int, input_size: int
    ) -> str | None:
        """The hint when a wrong gradient is the true one times (or divided by) exactly the
        length of one set of axes of grad_output (of the logits, for a loss): H'·W', the
        classes; or None (the batch size and the number of elements are ``diagnose``'s,
        and a length that several sets of axes have names none)."""
        analytic, numeric = comparison.analytic, comparison.numeric
        if analytic is None or analytic.shape != numeric.shape or not np.any(numeric):
            return None
        factor = float(np.vdot(analytic, numeric) / np.vdot(numeric, numeric))
        if not close(analytic, factor * numeric) or factor <= 0:
            return None
        named = diagnose_factor(factor, batch_size, input_size)
        # a parameter's gradient is a sum over grad_output's axes: a factor 2 there is likelier
        # an axis of length 2 than the 2 of d(x²)/dx
        doubled = comparison.name not in ("input", "pred") and (
            "the gradient is half" in named or "the gradient is twice" in named
        )
        if "constant factor" not in named and not doubled:
            return None
        # the axes a gradient is summed or averaged over: grad_output's for a layer, the
        # input's (the logits) for a loss
        name, shape = (
            ("the input x", self.x.shape) if self.is_loss else ("grad_output", self.direction.shape)
        )
        for ratio, too in ((factor, "large"), (1 / factor, "small")):
            length = round(ratio)
            if length < 2 or abs(ratio - length) > 1e-6 * ratio:
                continue
            found = _axes_of_length(name, shape, length)
            if not found:
                continue
            them = "them" if len(found) > 1 or found[0].startswith("the lengths") else "it"
            fix = (
                f"a sum over {them} where a mean belongs (divide by {length})"
                if too == "large"
                else f"a mean over {them} (or a division by {length}) where a sum belongs"
            )
            if len(found) > 1:  # several sets of axes alike: list them, claim none
                sets = " or ".join(found)
                return f"the gradient is {length}x too {too}, {length} being {sets}: {fix}"
            return f"the gradient is {length}x too {too}, a factor equal to {found[0]}: {fix}"
        return None

    def extra_term_hint(
        self, comparison: TensorComparison, comparisons: list, batch_size: int, input_size: int
    ) -> str | None:
        """``extra_term_hint`` with the arrays of this module in play, else an extra factor."""
        terms = self._terms_in_play(comparison, comparisons)
        return extra_term_hint(comparison, terms, batch_size, input_size) or (
            self._extra_factor_hint(comparison)
        )

    def _extra_factor_hint(self, comparison: TensorComparison) -> str | None:
        """The hint when a wrong gradient is the true one times (or divided by), entry by
        entry, the input, the output or grad_output, or None (a parameter's factor is
        ``parameter_factor_hint``'s; one number for all entries is ``diagnose``'s)."""
        analytic, numeric = comparison.analytic, comparison.numeric
        arrays = [("the input x", self.x), ("the output of forward", self.output)]
        if not self.is_loss:
            arrays.append(("grad_output", self.direction))
        for what, values in arrays:
            for fitted, how in _fitted(values, numeric.shape):
                if close(fitted, np.full_like(fitted, fitted.flat[0]), 1e-3) or not np.all(fitted):
                    continue  # a constant is a scalar factor; a zero divides nothing
                for predicted, verb in (
                    (numeric * fitted, "times"),
                    (numeric / fitted, "divided by"),
                ):
                    if close(analytic, predicted, MATCH_RTOL):
                        return (
                            f"the gradient of '{comparison.name}' is the true one {verb} "
                            f"{what}{how}, entry by entry: that factor is not part of the "
                            f"chain rule's product here; remove it (check the brackets and "
                            "what each factor differentiates)"
                        )
        return None

    def _terms_in_play(self, comparison: TensorComparison, comparisons: list):
        """(what, values, what to fix) for each array a wrong gradient may have picked up."""
        name = comparison.name
        yield from other_gradients(
            comparison, comparisons, "check which .grad (or returned value) each term is added to"
        )
        for other, parameter in self.parameters:
            if other != name:
                attribute = other.rsplit(".", 1)[-1]
                yield (
                    f"'{attribute}' itself",
                    np.asarray(parameter.data, dtype=np.float64),
                    f"remove that term: a term that does not depend on {name} (as {attribute} "
                    "added in forward) differentiates to zero, it does not carry its value "
                    "into the gradient",
                )
        yield (
            "the input x itself",
            self.x,
            "remove that term: the gradient is grad_output times local derivatives, and the "
            "input appears only inside them",
        )
        if not self.is_loss:
            yield (
                "grad_output itself",
                self.direction,
                "that term is grad_output not multiplied by the local derivative: every term "
                "of the chain rule is grad_output times a derivative",
            )
        yield (
            "the output of forward",
            self.output,
            "remove that term: the forward value does not enter the gradient, except through "
            "a derivative written in terms of it",
        )

    def grad_output_layout_hint(self, comparison, eps, rtol, atol) -> str | None:
        """The hint when backward turned an image-shaped grad_output (N, C, H', W') into rows
        with its axes in another order than channels-last, .transpose(0, 2, 3, 1) (no
        transpose at all, or another one), or None: the gradient is then the true one for
        grad_output's values in that order."""
        if self.is_loss or self.direction.ndim != 4 or comparison.analytic is None:
            return None
        original = self.direction
        n, channels, height, width = original.shape
        read_as = {}  # the orders of the axes, by the grad_output they amount to
        for order in itertools.permutations((1, 2, 3)):
            rows = original.transpose(0, *order).reshape(n, height, width, channels)
            direction = np.ascontiguousarray(rows.transpose(0, 3, 1, 2))
            key = direction.tobytes()
            read_as.setdefault(key, (direction, []))[1].append(order)
        for direction, orders in read_as.values():
            if (2, 3, 1) in orders:
                continue  # channels last: the right rows (or the same values for these shapes)
            self.direction = direction
            try:
                if not self._passes_with_direction(comparison, eps, rtol, atol):
                    continue
            finally:
                self.direction = original
            how = " or ".join(
                "without a transpose"
                if order == (1, 2, 3)
                else f"as .transpose(0, {order[0]}, {order[1]}, {order[2]})"
                for order in orders
            )
            return (
                f"backward turns grad_output (N, C, H', W') into rows {how}: move the channels "
                "last, grad_output.transpose(0, 2, 3, 1), then reshape it to rows (-1, C), "
                "in the order of the columns"
            )
        return None

    def saved_order_hint(self, comparison: TensorComparison) -> str | None:
        """The hint when backward reads what forward saved in another order than it was
        saved: handed self.saved_tensors in some other order, backward gives the right
        gradient (on a copy of the module). None otherwise, or when forward saved fewer
        than two arrays or more than three."""
        module = copy.deepcopy(self.module)
        module(self.x, *self.others)
        saved = getattr(module, "_saved_tensors", None)
        if not isinstance(saved, tuple) or not 2 <= len(saved) <= 3:
            return None
        for order in list(itertools.permutations(range(len(saved))))[1:]:
            try:
                reordered = tuple(saved[i] for i in order)
                gradient = self._gradient_with_saved(module, comparison.name, reordered)
            except Exception:  # in that order backward fails: not the learner's order
                continue
            if replace(comparison, analytic=gradient).passes():
                return (
                    "backward reads self.saved_tensors in another order than forward saved "
                    "them: unpack them in the order of save_for_backward (after "
                    "save_for_backward(a, b), a, b = self.saved_tensors)"
                )
        return None

    def _gradient_with_saved(self, module: Module, name: str, saved: tuple) -> np.ndarray | None:
        """The gradient of ``name`` (the input, or a parameter) that ``module``'s backward
        gives after a forward pass whose saved tensors are replaced by ``saved``."""
        parameters = dict(named_parameters(module))
        for parameter in parameters.values():
            parameter.grad = np.zeros_like(parameter.data)
        module(self.x, *self.others)
        module._saved_tensors = saved
        grad_input = module.backward() if self.is_loss else module.backward(self.direction.copy())
        if name in parameters:
            return np.asarray(parameters[name].grad, dtype=np.float64)
        return None if grad_input is None else np.asarray(grad_input, dtype=np.float64)

    def input_for_grad_output_hint(self, comparison, eps, rtol, atol) -> str | None:
        """The hint when a gradient is the true one had grad_output been the input x (x used
        where grad_output belongs), or None. Only for outputs of x's shape."""
        if self.is_loss or self.direction.shape != self.x.shape or comparison.analytic is None:
            return None
        original = self.direction
        self.direction = self.x.copy()
        try:
            if not np.any(self.x) or not self._passes_with_direction(comparison, eps, rtol, atol):
                return None
        finally:
            self.direction = original
        return (
            f"the gradient of '{comparison.name}' is computed from the input x where grad_output "
            "belongs (the rows of x summed or multiplied in place of grad_output's): every "
            "gradient flows back from grad_output"
        )

    def _passes_with_direction(self, comparison, eps, rtol, atol) -> bool:
        """Whether ``comparison.analytic`` is the true gradient for ``self.direction``, along
        two random directions of the tensor (a few evaluations, not one per entry): a wrong
        gradient that agrees along both differs nowhere, but by chance."""
        analytic = comparison.analytic
        if comparison.name == "input":
            values, parameter = self.x, None
        else:
            parameter = dict(self.parameters)[comparison.name]
            values = parameter.data

        def objective_at(moved: np.ndarray) -> float:
            if parameter is None:
                return self(moved)
            parameter.data = moved
            return self(self.x)

        if analytic is None or analytic.shape != values.shape:
            return False
        directions = np.random.default_rng(GENERIC_STREAM).standard_normal((2, *values.shape))
        step = step_for(values, eps)
        try:
            for v in directions:
                slope = float(
                    extrapolated_gradient(
                        lambda t, v=v: objective_at(values + t * v), np.array(0.0), step
                    )
                )
                expected = float(np.vdot(analytic, v))
                scale = float(np.linalg.norm(analytic)) * float(np.linalg.norm(v)) + atol
                if abs(slope - expected) > max(rtol, 1e-6) * scale:
                    return False
        finally:
            if parameter is not None:
                parameter.data = values
        return True

    def output_for_input_hint(self, comparison: TensorComparison) -> str | None:
        """The hint when a parameter's gradient is the one it would have if the module's
        output were its input (forward saved its result where its input belongs), or None.

        Only for a module whose output has its input's shape (Linear(n -> n)).
        """
        analytic = comparison.analytic
        if (
            self.output.shape != self.x.shape
            or analytic is None
            or analytic.shape != comparison.shape
        ):
            return None
        parameter = dict(self.parameters)[comparison.name]
        original = parameter.data

        def objective_at(values: np.ndarray) -> float:
            parameter.data = values
            return self(self.output)

        try:
            at_output = extrapolated_gradient(objective_at, original, step_for(original, 1e-5))
        finally:
            parameter.data = original
        if close(at_output, comparison.numeric, 1e-3) or not close(analytic, at_output, MATCH_RTOL):
            return None
        if self._forward_saves_its_input():
            return None  # the output was not saved for the input: the formula is off
        attribute = comparison.name.rsplit(".", 1)[-1]
        return (
            f"the gradient of '{attribute}' is computed from the module's output, not from its "
            "input: forward must save its input x (save_for_backward(x)), since "
            f"∂output/∂{attribute} involves x"
        )

    def _forward_saves_its_input(self) -> bool:
        """Whether a forward pass of a copy of the module on x saves x itself (seen in its
        ``_saved_tensors``) and not its output."""
        try:
            module = copy.deepcopy(self.module)
            output = np.asarray(module(self.x.copy()), dtype=np.float64)
            saved = getattr(module, "_saved_tensors", None) or ()
            arrays = [np.asarray(value, dtype=np.float64) for value in saved]
        except Exception:  # nothing to tell from the saved values
            return False

        def kept(value) -> bool:
            return any(a.shape == np.shape(value) and np.allclose(a, value) for a in arrays)

        return kept(self.x) and not kept(output)

    def grad_for_data_hint(self, analytic) -> str | None:
        """The hint when dL/dx is what it would be if a parameter's value were its gradient
        (``weight.grad`` used where ``weight.data`` belongs), or None.

        Compared along two random directions of x (a few evaluations, not one per entry):
        two wrong gradients that agree along both differ nowhere, but by chance.
        """
        if analytic is None or analytic.shape != self.x.shape:
            return None
        directions = np.random.default_rng(GENERIC_STREAM).standard_normal((2, *self.x.shape))
        slopes = [float(np.vdot(analytic, v)) for v in directions]
        for name, parameter in self.parameters:
            original = parameter.data
            parameter.data = self.first_grads[name]
            try:
                with_grad = [self._slope_along(v) for v in directions]
            except Exception:  # a gradient of the wrong shape: forward cannot use it
                continue
            finally:
                parameter.data = original
            scale = float(np.linalg.norm(analytic)) * float(np.linalg.norm(directions[0]))
            if scale > 0 and np.allclose(slopes, with_grad, rtol=0, atol=1e-6 * scale):
                attribute = name.rsplit(".", 1)[-1]
                return (
                    f"the gradient of the input uses {attribute}.grad where {attribute}.data "
                    f"belongs: dL/dx depends on the value of {attribute}, not on its gradient"
                )
        return None

    def _slope_along(self, v: np.ndarray) -> float:
        """d/dt of the objective at x + t·v, t = 0: extrapolated central differences."""
        step = step_for(self.x, 1e-5)
        return float(extrapolated_gradient(lambda t: self(self.x + t * v), np.array(0.0), step))

    def compare_input(self, analytic, eps, rtol, atol) -> TensorComparison:
        name = "pred" if self.is_loss else "input"
        return compare_tensor(name, self, self.x, analytic, self.magnitude, eps, rtol, atol)

    def compare_parameter(self, name, parameter, analytic, eps, rtol, atol) -> TensorComparison:
        original = parameter.data

        def objective_at(values: np.ndarray) -> float:
            parameter.data = values
            return self(self.x)

        try:
            return compare_tensor(
                name, objective_at, original, analytic, self.magnitude, eps, rtol, atol
            )
        finally:
            parameter.data = original


def swapped_with(
    comparison: TensorComparison, comparisons: list, rtol: float = MATCH_RTOL
) -> TensorComparison | None:
    """The other comparison whose true gradient ``comparison``'s wrong one equals (up to
    ``rtol`` of its largest entry), or None: two gradients swapped, or one formula for both."""
    analytic = comparison.analytic
    for other in comparisons:
        if (
            other is not comparison
            and analytic is not None
            and other.numeric.shape == analytic.shape
            and np.any(other.numeric)
            and close(analytic, other.numeric, rtol)
        ):
            return other
    return None


def _swapped_hint(comparison: TensorComparison, comparisons: list) -> str | None:
    """The hint when a wrong gradient is another tensor's true gradient, or None."""
    other = swapped_with(comparison, comparisons)
    if other is None:
        return None
    return (
        f"the gradient of '{comparison.name}' is the true gradient of '{other.name}': "
        "the two are swapped (or one formula is used for both); check which saved "
        "array each gradient is computed from"
    )


def _aligned(values: np.ndarray, shape: tuple):
    """``values`` (a scalar or a vector) broadcast against ``shape`` along each axis of its
    length: pairs (array, where), e.g. γ of shape (C,) along axis 1 of (N, C, H, W)."""
    if values.ndim == 0:
        yield values, "one number for every entry"
        return
    if values.ndim != 1:
        return
    for axis, length in enumerate(shape):
        if length == len(values):
            aligned = values.reshape([-1 if a == axis else 1 for a in range(len(shape))])
            yield aligned, f"one value per entry of axis {axis}"


def extra_term_hint(
    comparison: TensorComparison, terms, batch_size: int, input_size: int
) -> str | None:
    """The hint when a wrong gradient is the true one plus (or minus) one of ``terms``
    (what, values, what to fix): a parameter's values, the input, the output, grad_output,
    another tensor's true gradient..., as it is, broadcast, or summed over its leading axes;
    or None.

    The relation must hold entry by entry, so that it is no coincidence of one number;
    a gradient off by a factor ``diagnose`` names (a sign, 2, the batch size) is left to it.
    """
    analytic, numeric = comparison.analytic, comparison.numeric
    if analytic is None or analytic.shape != numeric.shape or not np.any(analytic):
        return None
    if np.any(numeric):
        factor = float(np.vdot(analytic, numeric) / np.vdot(numeric, numeric))
        named = diagnose_factor(factor, batch_size, input_size)
        if close(analytic, factor * numeric) and "constant factor" not in named:
            return None
    difference = analytic - numeric
    for what, values, consequence in terms:
        for fitted, how in _fitted(values, numeric.shape):
            if not np.any(fitted) or close(fitted, numeric, MATCH_RTOL):
                continue
            for sign, relation in ((1, "the true one plus"), (-1, "the true one minus")):
                if close(difference, sign * fitted, MATCH_RTOL):
                    return (
                        f"the gradient of '{comparison.name}' is {relation} {what}{how}: "
                        f"{consequence}"
                    )
    return None


def _axes_of_length(name: str, shape: tuple, length: int) -> list[str]:
    """Descriptions of the sets of axes of ``shape`` (none of length 1) whose lengths
    multiply to ``length``."""
    axes = [axis for axis, size in enumerate(shape) if size > 1]
    found = []
    for count in range(1, len(axes) + 1):
        for chosen in itertools.combinations(axes, count):
            if math.prod(shape[axis] for axis in chosen) != length:
                continue
            if count == 1:
                found.append(f"the length of axis {chosen[0]} of {name}, {shape}")
            else:
                lengths = "·".join(str(shape[axis]) for axis in chosen)
                listed = ", ".join(str(axis) for axis in chosen[:-1]) + f" and {chosen[-1]}"
                found.append(
                    f"the lengths of axes {listed} of {name}, {shape}, multiplied ({lengths})"
                )
    return found[:3]


def _fitted(values: np.ndarray, shape: tuple):
    """``values`` made into an array of ``shape``, the ways a stray term could get there:
    pairs (array, how): as it is, broadcast, or summed over its leading axes."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim > len(shape):
        values = values.sum(axis=tuple(range(values.ndim - len(shape))))
        summed = " summed over its leading axes"
    else:
        summed = ""
    try:
        fitted = np.broadcast_to(values, shape)
    except ValueError:
        return
    stretched = " broadcast" if values.shape != tuple(shape) else ""
    how = f"{summed}{' and' if summed and stretched else ''}{stretched}"
    yield fitted, f" ({how.strip()} to {tuple(shape)})" if how else ""


def named_parameters(module) -> list:
    """``module.named_parameters()``, or none for an object that has no such method."""
    if not hasattr(module, "named_parameters"):
        return []
    return list(module.named_parameters())


def _float64_copy(module: Module) -> Module:
    """A deep copy of ``module`` whose parameters and gradients are float64."""
    module = copy.deepcopy(module)
    for _, parameter in named_parameters(module):
        parameter.data = np.array(parameter.data, dtype=np.float64)
        parameter.grad = np.zeros_like(parameter.data)
    return module


def _float64_if_floating(value):
    value = np.asarray(value)
    return value.astype(np.float64) if np.issubdtype(value.dtype, np.floating) else value


def _check_accumulation(
    module: Module, name: str, first: np.ndarray, second: np.ndarray, changed: str | None
) -> None:
    """After two backward passes from zero, a parameter's gradient must be twice the first."""
    if first.shape != second.shape or np.allclose(second, 2 * first, rtol=1e-9, atol=1e-12):
        return
    if changed:
        hint = changed
    elif np.allclose(second, first, rtol=1e-9, atol=1e-12):
        hint = (
            "the gradient is overwritten instead of accumulated: write "
            f"`self.{name.rsplit('.', 1)[-1]}.grad += ...`, not `= ...`"
        )
    else:
        hint = "a second backward pass must add exactly the same gradient again"
    raise GradientCheckError(
        f"{module!r}: parameter '{name}' after two backward passes is not twice the gradient "
        f"of one pass.\nHint: {hint}",
        tensor=name,
        hint=hint,
    )


def gradient_failure(
    owner: str,
    comparison: TensorComparison,
    batch_size: int,
    input_size: int,
    hint: str | None = None,
    related: dict[str, tuple] | None = None,
    x: np.ndarray | None = None,
):
    """A GradientCheckError naming ``owner``, the tensor, the worst entry and the likely mistake.

    ``hint`` names the mistake when the caller knows better than ``diagnose``; ``related``
    are the shapes of the other arrays in play, for a gradient of the wrong shape.
    """
    name, analytic, numeric = comparison.name, comparison.analytic, comparison.numeric
    hint = hint or diagnose(analytic, numeric, batch_size, input_size, related, x)
    where = f"{owner}: the gradient of '{name}'"
    if analytic is None or analytic.shape != numeric.shape:
        got = "None" if analytic is None else f"shape {analytic.shape}"
        detail = f"{where} has {got}, expected shape {numeric.shape}."
    else:
        excess = comparison.errors() - comparison.tolerance
        worst = np.unravel_index(np.argmax(excess), numeric.shape)
        detail = (
            f"{where} is wrong: worst entry at index {tuple(int(i) for i in worst)}: "
            f"backward gives {analytic[worst]:.6g}, finite differences give {numeric[worst]:.6g} "
            f"(max abs error {comparison.max_abs_error():.3g})."
        )
    return GradientCheckError(f"{detail}\nHint: {hint}", tensor=name, hint=hint)


def _backward_before_forward(module, x, error: RuntimeError) -> GradientCheckError:
    """Explain "backward() found nothing saved by forward()" raised by a backward right after
    a forward."""
    hint = forward_skips_hint(module, x) or (
        "forward ran, but saved nothing for backward: call self.save_for_backward(...) in "
        "forward with the arrays backward needs (backward reads them from self.saved_tensors)"
    )
    return GradientCheckError(
        f"{module!r}: backward() raised RuntimeError: {error}\nHint: {hint}", tensor="", hint=hint
    )


def _saved_count_hint(module, error: ValueError) -> str | None:
    """The hint for a tuple unpacked into another number of names than it holds, with the
    number of values forward saved; or None."""
    saved = getattr(module, "__dict__", {}).get("_saved_tensors", None)
    if "values to unpack" not in str(error):
        return None
    count = f" (forward saved {len(saved)})" if isinstance(saved, tuple) else ""
    return (
        "backward unpacks a tuple into another number of names than it holds: "
        f"self.saved_tensors holds every value forward saved with save_for_backward{count}; "
        "unpack them all, in the order they were saved: x, k = self.saved_tensors"
    )


def _backward_crashed(
    module, error: ValueError, direction=None, hint: str | None = None, related=None
) -> GradientCheckError:
    """Explain a shape error raised inside backward, e.g. adding a (2, 3) gradient to a (3, 2) one.

    ``direction`` is the grad_output backward was given (None for a loss); ``hint``, if
    given, names the mistake already (the modules of a container visited out of order);
    ``related`` are the shapes of the arrays in play, by name.
    """
    if hint:
        hint = with_the_part(error, hint)
        return GradientCheckError(
            f"{module!r}: backward() raised ValueError: {error}\nHint: {hint}", tensor="", hint=hint
        )
    shapes = [parsed_shape(found) for found in re.findall(r"\(([\d, ]*)\)", str(error))]
    hint = (
        _saved_count_hint(module, error) or "check the shapes of the arrays you combine in backward"
    )
    if "not aligned" in str(error) and len(shapes) >= 2 and shapes[0] == shapes[1]:
        hint = (
            f"np.dot of two arrays of shape {shapes[0]} is a matrix product, not an "
            "entry-wise one: multiply entry by entry with *, then sum (np.sum) if one number "
            "is needed"
        )
    elif "matmul" in str(error):
        hint = (
            "a matrix product in backward has mismatched inner sizes: one of its factors "
            "needs a transpose (.T), or was reshaped with the lengths of another array; "
            "write down the shape of each factor"
        )
    elif (
        len(shapes) >= 2
        and _one_per_example(shapes[1], shapes[0], direction)
        and shapes[1] not in [tuple(shape) for shape in (related or {}).values()]
    ):  # a gradient of as many entries as the batch, and of no array in play (bias (2,))
        hint = per_example_sum_hint(
            f"a gradient of shape {shapes[1]} (added to a parameter of shape {shapes[0]})"
        )
    elif (
        "output operand" in str(error)
        and len(shapes) >= 2
        and shapes[0] == ()
        and all(length == 1 for length in shapes[1])
    ):
        hint = (
            f"a gradient of shape {shapes[1]} was added to a scalar parameter: a sum with "
            "keepdims=True (which keeps the summed axes with length 1), or a matrix product "
            "(np.dot, @) of arrays of one entry, gives an array; a scalar's gradient is one "
            "number, np.sum(grad_output * x) without keepdims"
        )
    elif "output operand" in str(error) and len(shapes) >= 2 and shapes[0] == ():
        hint = (
            f"a gradient of shape {shapes[1]} was added to a scalar parameter: its gradient is "
            "one number, the sum over every entry, np.sum(grad_output * x) (np.dot and @ of "
            "two arrays give an array, a matrix product, not the sum of the products)"
        )
    elif "output operand" in str(error) and len(shapes) >= 2:
        # "non-broadcastable output operand with shape A doesn't match the broadcast shape B":
        # a gradient of shape B was added (+=) to a parameter's .grad of shape A.
        hint = (
            f"a gradient of shape {shapes[1]} was added to a parameter of shape {shapes[0]}: "
            + diagnose_shape(shapes[1], shapes[0], related)
        )
    elif len(shapes) >= 2 and _transposed_operand(shapes[0], shapes[1], related or {}):
        hint = _transposed_operand(shapes[0], shapes[1], related or {})
    elif len(shapes) >= 2:
        # "operands could not be broadcast together with shapes A B": A is what the
        # gradient is added to (the parameter's .grad), B the wrong gradient.
        hint = diagnose_shape(shapes[1], shapes[0], related)
    hint = with_the_part(error, hint)
    return GradientCheckError(
        f"{module!r}: backward() raised ValueError: {error}\nHint: {hint}", tensor="", hint=hint
    )


def _reshape_hint(error: ValueError, arrays: dict[str, tuple]) -> str | None:
    """The hint when backward reshapes an array with a length of another array, or None.

    ``arrays`` are the shapes in play by name ("the input x", "grad_output ..."): the array
    reshaped is the one of the error's size, the length at fault one of another's axes.
    """
    found = re.search(r"cannot reshape array of size (\d+) into shape \(([-\d, ]*)\)", str(error))
    if not found:
        return None
    size = int(found.group(1))
    asked = [int(n) for n in re.findall(r"-?\d+", found.group(2)) if int(n) > 0]
    for name, shape in arrays.items():
        if int(np.prod(shape)) != size:
            continue
        for other, other_shape in arrays.items():
            foreign = [n for n in asked if n in other_shape and n not in shape]
            if other != name and foreign:
                return (
                    f"backward reshapes {name} (shape {shape}, {size} entries) with the length "
                    f"{foreign[0]}, an axis of {other} (shape {other_shape}): reshape each "
                    f"array with its own lengths ({_short(name)}.shape[-1], or -1)"
                )
    return None


def _short(name: str) -> str:
    """``x`` for "the input x", ``grad_output`` for "grad_output (the output's shape)"."""
    return "x" if name == "the input x" else name.split()[0].strip("'")


def _batched_transpose_hint(module, x, direction, error: ValueError) -> str | None:
    """The hint for a matrix product that fails on a grad_output of 3 axes or more, but not
    on the same values with the leading axes flattened (2-d arrays), or None."""
    if "matmul" not in str(error) or direction is None or np.ndim(direction) < 3:
        return None
    try:
        flat = copy.deepcopy(module)
        flat(np.reshape(x, (-1, np.shape(x)[-1])))
        flat.backward(np.reshape(direction, (-1, np.shape(direction)[-1])))
    except Exception:  # it fails on 2-d arrays too: another mistake
        return None
    return (
        "backward works on 2-d arrays but its matrix product fails with batch axes, on "
        f"grad_output of shape {np.shape(direction)}: something assumes 2-d arrays. .T "
        "reverses every axis of an array of 3 axes or more (the batch axes too): transpose "
        "only 2-d arrays (grad_output @ W.T) or swap the last two axes, .swapaxes(-1, -2); and "
        "axis 1 is the last axis of a 2-d array only: flatten the leading axes with "
        "reshape(-1, x.shape[-1]), not x.shape[1]"
    )


def _product_order_hint(parameters, x, direction, error: ValueError) -> str | None:
    """The hint for a matrix product that fails in backward, when every product of
    grad_output and a weight matrix (or their transposes) with x's shape has grad_output on
    the left: dL/dx = grad_output @ W.T with one row per example; or None."""
    if "matmul" not in str(error) or direction is None or np.ndim(direction) != 2 or x.ndim != 2:
        return None
    arrays = [("grad_output", direction)]
    arrays += [(name.rsplit(".", 1)[-1], p.data) for name, p in parameters if np.ndim(p.data) == 2]
    fitting = []
    for (left, a), (right, b) in itertools.permutations(arrays, 2):
        for a_t, b_t in itertools.product((False, True), repeat=2):
            first, second = (a.T if a_t else a), (b.T if b_t else b)
            if first.shape[1] == second.shape[0] and (first.shape[0], second.shape[1]) == x.shape:
                fitting.append((left + ".T" * a_t, right + ".T" * b_t))
    if len(arrays) < 2 or not fitting or any(left != "grad_output" for left, _ in fitting):
        return None
    products = " or ".join(dict.fromkeys(f"{left} @ {right}" for left, right in fitting))
    return (
        f"dL/dx has x's shape {x.shape}, one row per example, and the products of grad_output "
        f"{np.shape(direction)} and the weights with that shape put grad_output on the left: "
        f"{products}"
    )


def _transposed_operand(first: tuple, second: tuple, related: dict[str, tuple]) -> str | None:
    """The hint when two operands that do not broadcast would, after a transpose of one of
    them (grad_output in (N, C, H', W') met channels-last arrays), or None."""
    for moved, fixed in ((second, first), (first, second)):
        if not 2 < len(moved) <= 5:
            continue
        for order in itertools.permutations(range(len(moved))):
            reordered = tuple(moved[axis] for axis in order)
            if order == tuple(range(len(moved))) or not _fits_into(reordered, fixed):
                continue
            names = [name for name, shape in related.items() if tuple(shape) == moved]
            which = f"{names[0].split(' (')[0]}, of shape {moved}," if names else f"shape {moved}"
            return (
                f"arrays of shapes {first} and {second} were combined entry by entry: "
                f"{which} lines up with the other after .transpose{order}: its axes are in "
                "another order (channels-last arrays are (N, H, W, C); grad_output is "
                "(N, C, H', W'))"
            )
    return None


def _fits_into(shape: tuple, target: tuple) -> bool:
    """Whether ``shape`` is ``target``'s trailing axes (so that it lines up with them)."""
    return len(shape) <= len(target) and target[len(target) - len(shape) :] == shape


def _backward_used_none(module, error: TypeError) -> GradientCheckError:
    """Explain a TypeError about None raised inside backward (``for layer in None``)."""
    hint = (
        "backward used None as a value: list.reverse() and list.sort() work in place and "
        "return None (iterate over reversed(self.layers) instead), and so does a function "
        "or a backward without `return`"
    )
    return GradientCheckError(
        f"{module!r}: backward() raised TypeError: {error}\nHint: {hint}", tensor="", hint=hint
    )


def _one_per_example(got: tuple, expected: tuple, direction) -> bool:
    """Whether ``got`` is one entry per row of grad_output ``direction``, where ``expected`` belongs."""
    if direction is None or np.ndim(direction) < 2 or got == expected:
        return False
    return got == (int(np.prod(np.shape(direction)[:-1])),)
