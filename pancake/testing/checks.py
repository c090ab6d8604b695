"""Checks for the exercises that are not modules: values, central differences, a training
epoch, autograd Functions and ``unbroadcast``, stax layers ``(init_fun, apply_fun)``.

Each ``check_*`` function takes the learner's code and an input, returns a short report
when the code behaves as documented, and otherwise raises an ``AssertionError`` (a
``GradientCheckError`` for derivatives) whose message names what is wrong and, where it
recognises the mistake, a hint. Like ``check_gradients``, they compare with the
documented mathematics (a formula, central differences, the documented training loop).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence

import numpy as np

from pancake.autograd import Tensor
from pancake.data import ArrayDataset, DataLoader
from pancake.nn import CrossEntropyLoss, Linear, Sequential, Tanh
from pancake.optim import SGD
from pancake.stax import tree_map
from pancake.testing.gradcheck import (
    DIRECTION_STREAM,
    FLOAT64_EPS,
    GradientCheckError,
    GradientReport,
    TensorComparison,
    compare_inputs,
    compare_tensor,
    diagnose,
    gradient_failure,
    numerical_gradient,
)
from pancake.testing.properties import PropertyReport

# check_numerical_gradient: central differences of a quadratic are exact but for rounding,
# while a one-sided difference is off by eps/2·f'' (at least 1e-6 here, as f'' >= 2).
EPS = 1e-6  # numerical_gradient's default step, which the check relies on
RTOL = 1e-8
ATOL = 1e-9
# Rounding: f(x ± eps) carries an error of a few ulps of |f|, divided by eps in the quotient,
# and x ± eps itself is rounded to a step that is off by up to ulp(|x|). (A plain central
# difference with a fixed step: tighter than check_gradients' ROUNDING_SAFETY.)
CENTRAL_DIFFERENCE_ROUNDING_SAFETY = 20


def check_values(what: str, got, expected, *, formula: str, rtol: float = 1e-7) -> str:
    """Compare ``got`` with ``expected`` entry by entry; ``formula`` says what was expected."""
    if got is None:
        raise AssertionError(f"{what} is None: did you forget to `return` it?")
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        raise AssertionError(f"{what} has shape {got.shape}, expected {expected.shape} ({formula})")
    if not np.all(np.isfinite(got)):
        raise AssertionError(
            f"{what} contains inf or nan where {formula} is finite.\nHint: an exp or a log "
            "overflowed: use the stable form (subtract the max, log-sum-exp)"
        )
    errors = np.abs(got - expected)
    # relative per entry, plus a sliver of the largest entry for values that cancel to ~0
    tolerance = rtol * (np.abs(expected) + 1e-3 * np.abs(expected).max(initial=0.0)) + 1e-12
    if np.all(errors <= tolerance):
        return f"{what} matches {formula}: OK"
    worst = np.unravel_index(np.argmax(errors - tolerance), expected.shape)
    raise AssertionError(
        f"{what} is wrong: it should be {formula}; at index {tuple(int(i) for i in worst)} "
        f"it is {got[worst]:.6g} instead of {expected[worst]:.6g}"
    )


def check_numerical_gradient(
    numerical_gradient_fn: Callable, x: np.ndarray, *, seed: int = 0
) -> str:
    """Check central differences ``numerical_gradient_fn(f, x)`` on a quadratic with a known gradient.

    ``f(x) = Σ c·x² + (Σ u·x)²`` (``c`` and ``u`` drawn from ``seed``), whose gradient is
    ``2c·x + 2(Σ u·x)·u``. Also checks that ``f`` is only ever called at points that
    differ from ``x`` in at most one entry, as central differences do.
    """
    x = np.array(x, dtype=np.float64)
    rng = np.random.default_rng(seed)
    curvature = rng.uniform(1.0, 4.0, size=x.shape)
    coupling = rng.standard_normal(x.shape)

    def f(point: np.ndarray) -> float:
        return float(np.sum(curvature * point**2) + np.sum(coupling * point) ** 2)

    exact = 2 * curvature * x + 2 * np.sum(coupling * x) * coupling
    spy = _EvaluationSpy(f, x)
    got = numerical_gradient_fn(spy, x.copy())
    spy.raise_if_not_one_entry_at_a_time()
    if got is None or np.shape(got) != x.shape:
        shape = None if got is None else np.shape(got)
        hint = "return an array of x's shape holding one partial derivative per entry"
        raise GradientCheckError(
            f"numerical_gradient returned {shape} for x of shape {x.shape}.\nHint: {hint}",
            "gradient",
            hint,
        )
    got = np.asarray(got, dtype=np.float64)
    largest = np.abs(exact).max(initial=0.0)
    magnitude_of_f = np.sum(curvature * x**2) + np.sum(np.abs(coupling * x)) ** 2
    step_error = np.abs(x).max(initial=0.0) * largest
    rounding = (
        CENTRAL_DIFFERENCE_ROUNDING_SAFETY * FLOAT64_EPS * (magnitude_of_f + step_error) / EPS
    )
    tolerance = ATOL + RTOL * largest + rounding
    error = float(np.abs(got - exact).max(initial=0.0))
    if error <= tolerance:
        return f"numerical_gradient on x of shape {x.shape}: OK (max error {error:.1e})"
    hint = _numerical_gradient_hint(got, exact, 2 * curvature + 2 * coupling**2)
    raise GradientCheckError(
        f"numerical_gradient is off by up to {error:.3g} on x of shape {x.shape} "
        f"(allowed {tolerance:.1e}).\nHint: {hint}",
        "gradient",
        hint,
    )


def _numerical_gradient_hint(
    got: np.ndarray, exact: np.ndarray, second_derivative: np.ndarray
) -> str:
    """Recognise one-sided differences (off by ±eps/2·f''), else ask ``diagnose``."""
    for sign, name in ((1, "forward"), (-1, "backward")):
        if np.allclose(got - exact, sign * EPS / 2 * second_derivative, rtol=0.05, atol=1e-9):
            return (
                f"this is a one-sided ({name}) difference, accurate only to O(eps): "
                "use (f(x + eps) - f(x - eps)) / (2·eps)"
            )
    if np.allclose(got, 2 * exact, rtol=1e-6, atol=1e-9):
        return "twice too large: the two points x ± eps are 2·eps apart, so divide by 2·eps"
    return diagnose(got, exact, batch_size=1, input_size=1)


class _EvaluationSpy:
    """Wraps ``f`` and records every point where it is evaluated, relative to ``x``."""

    def __init__(self, f: Callable[[np.ndarray], float], x: np.ndarray):
        self.f = f
        self.x = x.copy()
        self.changed_entries: list[int] = []

    def __call__(self, point) -> float:
        point = np.asarray(point, dtype=np.float64)
        if point.shape == self.x.shape:
            self.changed_entries.append(int(np.count_nonzero(point != self.x)))
        return self.f(point)

    def raise_if_not_one_entry_at_a_time(self) -> None:
        if not self.changed_entries:
            hint = "call f at x + eps·e_i and x - eps·e_i for every entry i"
            raise GradientCheckError(f"f was never called.\nHint: {hint}", "f", hint)
        most = max(self.changed_entries)
        if most > 1:
            hint = (
                "perturb one entry at a time, and put it back (x[i] = original) before the next; "
                "`for index in np.ndindex(x.shape)` visits every entry of an array of any shape"
            )
            raise GradientCheckError(
                f"f was called at a point that differs from x in {most} entries.\nHint: {hint}",
                "x",
                hint,
            )


def check_chain_rule(chain_rule_gradients_fn: Callable, k: float, v: float) -> str:
    """Check ``(E, dE_dk, dE_dv) = chain_rule_gradients_fn(k, v)`` for E = (k·v)².

    E is compared with the formula, the derivatives with central differences.
    """
    result = chain_rule_gradients_fn(k, v)
    if not isinstance(result, tuple) or len(result) != 3:
        hint = "return the three values as a tuple: `return e, de_dk, de_dv`"
        raise GradientCheckError(
            f"expected (E, dE_dk, dE_dv), got {result!r}.\nHint: {hint}", "E", hint
        )
    e, de_dk, de_dv = (float(value) for value in result)
    check_values("E", e, (k * v) ** 2, formula="(k·v)²")
    expected = {
        "dE_dk": float(numerical_gradient(lambda kk: (kk * v) ** 2, np.array(k))),
        "dE_dv": float(numerical_gradient(lambda vv: (k * vv) ** 2, np.array(v))),
    }
    got = {"dE_dk": de_dk, "dE_dv": de_dv}
    for name, true in expected.items():
        if abs(got[name] - true) <= 1e-6 * (1 + abs(true)):
            continue
        other = "dE_dv" if name == "dE_dk" else "dE_dk"
        if abs(got[name] - expected[other]) <= 1e-6 * (1 + abs(expected[other])):
            hint = "dE_dk and dE_dv are swapped: dM/dk = v and dM/dv = k"
        elif abs(got[name] - true / 2) <= 1e-6 * (1 + abs(true)):
            hint = "half the true value: d(M²)/dM = 2·M, don't forget the 2"
        else:
            hint = diagnose(np.array(got[name]), np.array(true), batch_size=1, input_size=1)
        raise GradientCheckError(
            f"{name} is {got[name]:.6g} at k = {k:.6g}, v = {v:.6g}; central differences give "
            f"{true:.6g}.\nHint: {hint}",
            name,
            hint,
        )
    return f"chain_rule_gradients({k:.6g}, {v:.6g}): E, dE_dk and dE_dv OK"


# -- train_one_epoch ---------------------------------------------------------------------------


def documented_epoch(model, loss_fn, optimizer, loader, *, zero_grad: bool = True) -> list:
    """One epoch of the documented loop (without ``zero_grad``: a common mistake).

    Returns the (loss, size) of each batch.
    """
    batches = []
    for inputs, targets in loader:
        if zero_grad:
            optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        batches.append((loss, len(targets)))
    return batches


def _training_case(seed: int):
    """A small classifier, its loss, an SGD optimizer and 23 samples in batches of 5."""
    rng = np.random.default_rng(seed)
    inputs, labels = rng.standard_normal((23, 5)), rng.integers(0, 3, size=23)
    model = Sequential(Linear(5, 4, rng=seed), Tanh(), Linear(4, 3, rng=seed + 1))
    loader = DataLoader(ArrayDataset(inputs, labels), batch_size=5)
    return model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.5), loader


def check_train_one_epoch(train_one_epoch_fn: Callable, *, seed: int = 0) -> str:
    """Run ``train_one_epoch_fn(model, loss_fn, optimizer, loader)`` on a small classifier.

    Compares the trained parameters and the returned loss with the documented loop: per
    batch ``zero_grad``, forward, loss, ``backward``, ``step``; then the mean loss per sample.
    """
    model, loss_fn, optimizer, loader = _training_case(seed)
    initial = model.state_dict()
    returned = train_one_epoch_fn(model, loss_fn, optimizer, loader)
    trained = model.state_dict()
    reference = _training_case(seed)
    batches = documented_epoch(*reference)
    if not _same_parameters(trained, reference[0].state_dict()):
        raise AssertionError(
            "after one epoch the parameters differ from those of the documented loop "
            "(zero_grad, forward, loss, backward, step for each batch).\n"
            f"Hint: {_loop_hint(initial, trained, seed)}"
        )
    losses, sizes = np.array(batches).T
    expected = float(np.sum(losses * sizes) / np.sum(sizes))
    if returned is None or not np.isclose(float(returned), expected, rtol=1e-9, atol=0):
        hint = _loss_hint(returned, losses)
        raise AssertionError(
            f"train_one_epoch returned {returned!r}, but the mean loss per sample over the "
            f"epoch is {expected:.6g}.\nHint: {hint}"
        )
    return f"train_one_epoch ({len(batches)} batches of up to 5 samples): parameters and loss OK"


def _same_parameters(got: dict, expected: dict) -> bool:
    return all(
        np.allclose(got[name], value, rtol=1e-9, atol=1e-12) for name, value in expected.items()
    )


def _loop_hint(initial: dict, trained: dict, seed: int) -> str:
    if _same_parameters(trained, initial):
        return "the parameters never change: each batch needs backward(), then optimizer.step()"
    case = _training_case(seed)
    documented_epoch(*case, zero_grad=False)
    if _same_parameters(trained, case[0].state_dict()):
        return (
            "the gradients of earlier batches add up: call optimizer.zero_grad() before each "
            "backward pass"
        )
    return "compare your loop with the documented one, step by step"


def _loss_hint(returned, losses: np.ndarray) -> str:
    if returned is None:
        return "return the mean loss of the epoch"
    candidates = {
        "the mean of the batch losses gives the last, smaller batch too much weight: weight "
        "each batch's loss by its number of samples": np.mean(losses),
        "this is the loss of the last batch only: return the mean over the whole epoch": losses[-1],
        "this is the sum of the batch losses: return the mean loss per sample": np.sum(losses),
    }
    for hint, value in candidates.items():
        if np.isclose(float(returned), value, rtol=1e-9, atol=0):
            return hint
    return "add up loss × batch size over the batches, then divide by the number of samples"


# -- autograd: unbroadcast and the backward passes of Functions ----------------------------


def check_unbroadcast(unbroadcast_fn: Callable, grad: np.ndarray, shape: tuple[int, ...]) -> str:
    """Check ``unbroadcast_fn(grad, shape)``, where ``shape`` broadcasts to ``grad.shape``.

    Broadcasting copied each entry of an array of ``shape`` to several places of
    ``grad.shape``; entry j of the result must be the sum of ``grad`` over the copies of
    entry j, in an array of ``shape``. ``grad`` must be left as it was.
    """
    grad = np.array(grad, dtype=np.float64)
    shape = tuple(shape)
    what = f"unbroadcast(grad of shape {grad.shape}, {shape})"
    before = grad.copy()
    got = unbroadcast_fn(grad, shape)
    if not np.array_equal(grad, before):
        raise AssertionError(
            f"{what} changed grad in place.\nHint: compute new arrays (grad.sum(...)); "
            "grad may be shared with other inputs"
        )
    if got is None:
        raise AssertionError(f"{what} is None: did you forget to `return` it?")
    if np.shape(got) != shape:
        raise AssertionError(
            f"{what} has shape {np.shape(got)}, expected {shape}.\n"
            f"Hint: {_unbroadcast_hint(np.shape(got), grad.shape, shape)}"
        )
    expected = _summed_copies(grad, shape)
    copies = grad.size // math.prod(shape)
    if copies > 1 and np.allclose(np.multiply(got, copies), expected, rtol=1e-9, atol=1e-12):
        raise AssertionError(
            f"{what} is the mean over the copies of each entry, not their sum.\nHint: every "
            "copy adds its own gradient: sum (grad.sum), don't average"
        )
    return check_values(what, got, expected, formula="grad summed over the copies of each entry")


def _summed_copies(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The sum of ``grad`` over the places where broadcasting copied each entry of ``shape``.

    Computed from where each entry went, not with sums over axes: broadcast the indices
    of an array of ``shape`` to ``grad.shape``, then add up ``grad`` by index.
    """
    size = math.prod(shape)
    sources = np.broadcast_to(np.arange(size).reshape(shape), grad.shape)
    return np.bincount(sources.ravel(), weights=grad.ravel(), minlength=size).reshape(shape)


def _unbroadcast_hint(got: tuple, grad_shape: tuple, shape: tuple) -> str:
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
    for comparison in comparisons:
        if not comparison.passes():
            raise _function_gradient_failure(described, comparison, comparisons, output.shape)
    return GradientReport(described, comparisons)


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
            f"grad (dL/d(output)) has shape {direction.shape}, {shapes}: combine them so that "
            "each gradient gets the shape of its input"
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


def _function_gradient_failure(
    described: str,
    comparison: TensorComparison,
    comparisons: list[TensorComparison],
    output_shape: tuple,
) -> GradientCheckError:
    """Explain a wrong gradient: broadcast but not summed back, not sent back, or swapped."""
    name, analytic, numeric = comparison.name, comparison.analytic, comparison.numeric
    if analytic is not None and analytic.shape != numeric.shape:
        hint = _function_shape_hint(name, analytic.shape, numeric.shape, output_shape)
        return GradientCheckError(
            f"{described}: the gradient of '{name}' has shape {analytic.shape}, expected "
            f"{numeric.shape}, the shape of {name}.\nHint: {hint}",
            tensor=name,
            hint=hint,
        )
    for other in comparisons:
        if (
            other is not comparison
            and analytic is not None
            and other.numeric.shape == analytic.shape
            and np.any(other.numeric)
            and np.allclose(analytic, other.numeric, rtol=1e-6, atol=1e-12)
        ):
            hint = (
                f"backward returned the gradient of '{other.name}' for '{name}': return the "
                "gradients in the order of forward's inputs, and check which saved array goes "
                "into which"
            )
            return GradientCheckError(
                f"{described}: the gradients of '{name}' and '{other.name}' are swapped.\n"
                f"Hint: {hint}",
                tensor=name,
                hint=hint,
            )
    return gradient_failure(described, comparison, batch_size=1, input_size=numeric.size)


def _function_shape_hint(name: str, got: tuple, expected: tuple, output_shape: tuple) -> str:
    try:
        was_broadcast = np.broadcast_shapes(got, expected) == got
    except ValueError:
        was_broadcast = False
    if was_broadcast:
        return (
            f"{name} was broadcast to {got} in forward: sum its gradient back to {name}'s "
            f"shape with unbroadcast(..., {name}.shape)"
        )
    if got == output_shape:
        return (
            f"that is the output's shape: send grad back to every entry of {name} that made "
            "it (after a reduction: reshape grad so that the reduced axes are there with "
            f"length 1, then np.broadcast_to it to {expected})"
        )
    return diagnose(np.zeros(got), np.zeros(expected), batch_size=1, input_size=1)


# -- stax layers: (init_fun, apply_fun) pairs ----------------------------------------------

INPUT_STREAM = 0x1A7E  # the seed stream of the inputs, apart from the parameters' and u's


def check_stax_layer(
    layer,
    input_shape: Sequence[int],
    *,
    param_shapes=None,
    expected: Callable | None = None,
    formula: str = "the documented formula",
    batch_size: int = 3,
    rtol: float = 1e-6,
    atol: float = 1e-10,
    eps: float = 1e-5,
    seed: int = 0,
) -> PropertyReport:
    """Check a stax layer ``(init_fun, apply_fun)`` on inputs of ``input_shape`` (-1: a batch).

    - ``init_fun(rng, input_shape)`` returns ``(output_shape, params)``, params being arrays
      nested in tuples, lists or dicts, the same ones for the same seed; with
      ``param_shapes`` (their shapes nested in tuples), they must have those shapes;
    - ``apply_fun(params, x)``, for x of ``input_shape`` with -1 = ``batch_size``, has the
      shape ``output_shape`` announced, and equals ``expected(params, x)`` if given
      (``formula`` says what that is);
    - ``apply_fun`` runs on pancake.autograd Tensors, and its gradients with respect to
      every parameter, through ``sum(u * output)`` as in ``check_gradients``, match
      central differences.

    Returns a ``PropertyReport``; raises ``AssertionError`` (``GradientCheckError`` for
    the gradients) with a hint.
    """
    init_fun, apply_fun = layer
    input_shape = tuple(input_shape)
    described = f"{_layer_name(init_fun)} on inputs of shape {input_shape}"
    output_shape, params = _initialised(init_fun, input_shape, seed, described)
    shapes = _shapes(params)
    if param_shapes is not None:
        _check_param_shapes(shapes, param_shapes, described)
    _, again = _initialised(init_fun, input_shape, seed, described)
    if not _same_leaves(params, again):
        raise AssertionError(
            f"{described}: init_fun gave other parameters for the same seed.\nHint: draw every "
            "random number from rng (pass rng=rng to the initializers)"
        )
    x = np.random.default_rng((seed, INPUT_STREAM)).standard_normal(
        _concrete(input_shape, batch_size)
    )
    y = np.asarray(apply_fun(params, x))
    if y.shape != _concrete(output_shape, batch_size):
        raise AssertionError(
            f"{described}: init_fun announced the output shape {output_shape}, but apply_fun's "
            f"output for inputs of shape {x.shape} (-1 = {batch_size}) has shape {y.shape}.\n"
            "Hint: work out the output shape from input_shape: the axes the layer does not "
            "change stay as they are, -1 included"
        )
    lines = [
        f"init_fun: output shape {output_shape}, parameter shapes {shapes}",
        "the same seed gives the same parameters: OK",
        f"apply_fun: output of shape {y.shape} for inputs of shape {x.shape}: OK",
    ]
    if expected is not None:
        lines.append(check_values("apply_fun(params, x)", y, expected(params, x), formula=formula))
    comparisons = _parameter_comparisons(
        apply_fun, params, x, y, described, eps=eps, rtol=rtol, atol=atol, seed=seed
    )
    lines.append("gradients with respect to the parameters, through Tensors:")
    lines += [
        f"  {c.name:<16}{str(c.shape):<12} max abs error {c.max_abs_error():.2e}"
        for c in comparisons
    ]
    return PropertyReport(f"stax layer check of {described}: OK", lines)


def _layer_name(init_fun: Callable) -> str:
    """``Dense`` for the ``init_fun`` that ``Dense(...)`` defines."""
    return getattr(init_fun, "__qualname__", "layer").split(".<locals>")[0]


def _concrete(shape: Sequence[int], batch_size: int) -> tuple[int, ...]:
    return tuple(batch_size if size == -1 else size for size in shape)


def _initialised(init_fun: Callable, input_shape: tuple, seed: int, described: str):
    """``init_fun(default_rng(seed), input_shape)`` as ``(output_shape, params)``."""
    result = init_fun(np.random.default_rng(seed), input_shape)
    if not (isinstance(result, tuple | list) and len(result) == 2):
        raise AssertionError(
            f"{described}: init_fun returned {type(result).__name__}, expected a pair "
            "(output_shape, params)"
        )
    output_shape, params = result
    return tuple(output_shape), params


def _leaves(tree, path: str = "params") -> list[tuple[str, object]]:
    """The arrays of a parameter tree with their paths, ``("params[0][1]", b)``, in order."""
    if isinstance(tree, tuple | list):
        return [
            leaf
            for index, branch in enumerate(tree)
            for leaf in _leaves(branch, f"{path}[{index}]")
        ]
    if isinstance(tree, dict):
        return [
            leaf for key, branch in tree.items() for leaf in _leaves(branch, f"{path}[{key!r}]")
        ]
    return [(path, tree)]


def _shapes(tree):
    """The shapes of a parameter tree's arrays, nested alike (lists become tuples)."""
    if isinstance(tree, tuple | list):
        return tuple(_shapes(branch) for branch in tree)
    if isinstance(tree, dict):
        return {key: _shapes(branch) for key, branch in tree.items()}
    return np.shape(tree)


def _same_leaves(tree, other) -> bool:
    """Whether two parameter trees hold equal arrays, nested alike."""
    if _shapes(tree) != _shapes(other):
        return False
    pairs = zip(_leaves(tree), _leaves(other), strict=True)
    return all(np.array_equal(a, b) for (_, a), (_, b) in pairs)


def _check_param_shapes(shapes, expected, described: str) -> None:
    mismatch = _shape_mismatch(shapes, expected, "params")
    if mismatch is None:
        return
    path, got, want = mismatch
    hint = "each parameter's shape follows from input_shape"
    if _is_shape(got) and _is_shape(want) and len(got) == 2 and got == want[::-1]:
        hint = f"{path} is transposed: {want}, not {got}"
    raise AssertionError(
        f"{described}: the shapes of {path} are {got}, expected {want} (all parameters: "
        f"{shapes}, expected {expected}).\nHint: {hint}"
    )


def _is_shape(node) -> bool:
    return isinstance(node, tuple) and all(isinstance(size, int | np.integer) for size in node)


def _shape_mismatch(got, expected, path: str):
    """The first place where two trees of shapes differ, as ``(path, got, expected)``."""
    if _is_shape(got) or _is_shape(expected):
        return None if got == expected else (path, got, expected)
    if isinstance(expected, dict):
        if not isinstance(got, dict) or got.keys() != expected.keys():
            return path, got, expected
        branches = [(got[key], expected[key], f"{path}[{key!r}]") for key in expected]
    else:
        if not isinstance(got, tuple) or len(got) != len(expected):
            return path, got, expected
        branches = [
            (g, e, f"{path}[{i}]") for i, (g, e) in enumerate(zip(got, expected, strict=True))
        ]
    return next(
        (found for branch in branches if (found := _shape_mismatch(*branch)) is not None), None
    )


def _parameter_comparisons(apply_fun, params, x, y, described, *, eps, rtol, atol, seed):
    """Gradients of ``sum(u * apply_fun(params, x))`` through Tensors vs central differences."""
    leaves = _leaves(params)
    arrays = [np.array(leaf, dtype=np.float64) for _, leaf in leaves]
    direction = np.random.default_rng((seed, DIRECTION_STREAM)).standard_normal(y.shape)
    tensors = [Tensor(array, requires_grad=True) for array in arrays]
    hint = (
        "apply_fun must also run on pancake.autograd Tensors, which is how grad differentiates "
        "it: use operators (@, +, *) and pancake.autograd's functions, not np.* functions"
    )
    try:
        output = apply_fun(_with_leaves(params, tensors), x)
        if not isinstance(output, Tensor):
            raise TypeError(f"it returned a {type(output).__name__}, not a Tensor")
        (output * direction).sum().backward()
    except Exception as error:
        raise AssertionError(
            f"{described}: apply_fun on Tensor parameters failed: {type(error).__name__}: "
            f"{error}\nHint: {hint}"
        ) from error
    magnitude = float(np.sum(np.abs(direction * y)))
    comparisons = []
    for position, ((path, _), values, tensor) in enumerate(
        zip(leaves, arrays, tensors, strict=True)
    ):

        def objective(moved: np.ndarray, position=position) -> float:
            moved_leaves = [*arrays[:position], moved, *arrays[position + 1 :]]
            return float(np.sum(direction * apply_fun(_with_leaves(params, moved_leaves), x)))

        analytic = np.zeros_like(values) if tensor.grad is None else tensor.grad
        comparison = compare_tensor(path, objective, values, analytic, magnitude, eps, rtol, atol)
        if not comparison.passes():
            raise gradient_failure(described, comparison, batch_size=1, input_size=values.size)
        comparisons.append(comparison)
    return comparisons


def _with_leaves(tree, leaves: Sequence):
    """``tree`` with its arrays replaced, in order, by ``leaves``."""
    replacements = iter(leaves)
    return tree_map(lambda _: next(replacements), tree)


def check_serial(
    serial_fn: Callable, layers: Sequence, input_shape: Sequence[int], *, seed: int = 0
) -> PropertyReport:
    """Check ``serial_fn(*layers)`` against the layers it chains, then as a stax layer.

    ``init_fun`` must give the first layer's init_fun ``input_shape`` and each next one
    the output shape of the one before, all with the one rng (so that layers of one shape
    get different parameters), and return the last output shape and the list of the
    layers' params, in order. ``apply_fun(params, x)`` must equal each layer's apply_fun
    applied in turn, first to last, each with its own params. Then ``check_stax_layer``.
    """
    input_shape = tuple(input_shape)
    init_fun, apply_fun = serial_fn(*layers)
    described = f"serial of {len(layers)} layers on inputs of shape {input_shape}"
    layer_inputs, layer_shapes, last_shape = _threaded_shapes(layers, input_shape, seed)
    output_shape, params = _initialised(init_fun, input_shape, seed, described)
    if not isinstance(params, tuple | list) or len(params) != len(layers):
        raise AssertionError(
            f"{described}: params has shapes {_shapes(params)}.\nHint: params is a list with "
            "one entry per layer, the params that layer's init_fun returned, in order"
        )
    for index, (layer_params, expected) in enumerate(zip(params, layer_shapes, strict=True)):
        if _shapes(layer_params) != expected:
            raise AssertionError(
                f"{described}: the params of layer {index} have shapes {_shapes(layer_params)}, "
                f"but for its input shape {layer_inputs[index]} they have shapes {expected}.\n"
                "Hint: give each layer's init_fun the output shape of the layer before it "
                "(the first one gets input_shape)"
            )
    if output_shape != last_shape:
        raise AssertionError(
            f"{described}: init_fun returned the output shape {output_shape}, expected "
            f"{last_shape}.\nHint: return the output shape of the last layer"
        )
    _check_layers_differ(params, described)
    x = np.random.default_rng((seed, INPUT_STREAM)).standard_normal(_concrete(input_shape, 3))
    formula = "each layer's apply_fun applied in turn, first to last, each with its own params"
    try:
        output = apply_fun(params, x)
    except Exception as error:
        raise AssertionError(
            f"{described}: apply_fun raised {type(error).__name__}: {error}\nHint: it should "
            f"be {formula}"
        ) from error
    values = check_values(
        "apply_fun(params, x)", output, _applied_in_turn(layers, params, x), formula=formula
    )
    report = check_stax_layer((init_fun, apply_fun), input_shape, seed=seed)
    report.lines[:0] = [
        f"each layer's init_fun gets the output shape of the one before: {layer_inputs}",
        values,
    ]
    return report


def _threaded_shapes(layers: Sequence, input_shape: tuple, seed: int):
    """Each layer's input shape and parameter shapes when chained, and the last output shape."""
    rng = np.random.default_rng(seed)
    shape, inputs, param_shapes = input_shape, [], []
    for init_fun, _ in layers:
        inputs.append(shape)
        shape, layer_params = init_fun(rng, shape)
        param_shapes.append(_shapes(layer_params))
    return inputs, param_shapes, tuple(shape)


def _check_layers_differ(params: Sequence, described: str) -> None:
    """Two layers with parameters of the same shapes must not get the same values."""
    for later, layer_params in enumerate(params):
        for earlier in range(later):
            if _leaves(layer_params) and _same_leaves(layer_params, params[earlier]):
                raise AssertionError(
                    f"{described}: layers {earlier} and {later} got the same parameters.\n"
                    "Hint: pass the one rng to every layer's init_fun in turn (it moves on as "
                    "it draws); don't make a new generator for each layer"
                )


def _applied_in_turn(layers: Sequence, params: Sequence, x: np.ndarray):
    for (_, apply_fun), layer_params in zip(layers, params, strict=True):
        x = apply_fun(layer_params, x)
    return x
