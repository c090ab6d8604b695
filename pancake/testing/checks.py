"""Checks for the exercises that are functions, not modules: values, central differences, a training epoch.

Each ``check_*`` function takes the learner's code and an input, returns a short report
when the code behaves as documented, and otherwise raises an ``AssertionError`` (a
``GradientCheckError`` for derivatives) whose message names what is wrong and, where it
recognises the mistake, a hint. Like ``check_gradients``, they compare with the
documented mathematics (a formula, central differences, the documented training loop).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pancake.data import ArrayDataset, DataLoader
from pancake.nn import CrossEntropyLoss, Linear, Sequential, Tanh
from pancake.optim import SGD
from pancake.testing.gradcheck import GradientCheckError, diagnose, numerical_gradient

# check_numerical_gradient: central differences of a quadratic are exact but for rounding,
# while a one-sided difference is off by eps/2·f'' (at least 1e-6 here, as f'' >= 2).
EPS = 1e-6  # numerical_gradient's default step, which the check relies on
RTOL = 1e-8
ATOL = 1e-9
# Rounding: f(x ± eps) carries an error of a few ulps of |f|, divided by eps in the quotient,
# and x ± eps itself is rounded to a step that is off by up to ulp(|x|).
ROUNDING_SAFETY = 20
FLOAT64_EPS = float(np.finfo(np.float64).eps)


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
    rounding = ROUNDING_SAFETY * FLOAT64_EPS * (magnitude_of_f + step_error) / EPS
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
