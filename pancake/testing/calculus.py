"""Checks of chapter 1: central differences (``numerical_gradient``) and the chain rule.

Each takes the learner's function, returns a short report when it behaves as documented,
and otherwise raises a ``GradientCheckError`` whose message names what is wrong and,
where it recognises the mistake, a hint.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from pancake.testing.errors import remade_in_loop_hint
from pancake.testing.gradcheck import FLOAT64_EPS, GradientCheckError, diagnose, numerical_gradient
from pancake.testing.values import check_values

# check_numerical_gradient: central differences of a quadratic are exact but for rounding,
# while a one-sided difference is off by eps/2·f'' (at least 1e-6 here, as f'' >= 2).
EPS = 1e-6  # numerical_gradient's default step, which the check relies on
RTOL = 1e-8
ATOL = 1e-9
# Rounding: f(x ± eps) carries an error of a few ulps of |f|, divided by eps in the quotient,
# and x ± eps itself is rounded to a step that is off by up to ulp(|x|). (A plain central
# difference with a fixed step: tighter than check_gradients' ROUNDING_SAFETY.)
CENTRAL_DIFFERENCE_ROUNDING_SAFETY = 20


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
    try:
        got = numerical_gradient_fn(spy, x.copy())
    except TypeError as error:
        if x.ndim != 0:
            raise
        hint = (
            "x has shape (), a single number with no len() and no rows: size the gradient "
            "with x's shape (np.zeros_like(x)), not len(x), and loop over "
            "`np.ndindex(x.shape)`, which visits every entry of an array of any shape"
        )
        raise GradientCheckError(
            f"numerical_gradient raised TypeError on x of shape (): {error}.\nHint: {hint}",
            "x",
            hint,
        ) from error
    spy.raise_if_not_one_entry_at_a_time()
    spy.raise_if_the_step_is_not(EPS)
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
    hint = (
        remade_in_loop_hint(numerical_gradient_fn)
        or spy.zero_entries_skipped_hint()
        or spy.one_direction_hint()
        or _difference_quotient_hint(got, f, x)
        or _numerical_gradient_hint(got, exact, 2 * curvature + 2 * coupling**2)
    )
    raise GradientCheckError(
        f"numerical_gradient is off by up to {error:.3g} on x of shape {x.shape} "
        f"(allowed {tolerance:.1e}).\nHint: {hint}",
        "gradient",
        hint,
    )


def _difference_quotient_hint(got: np.ndarray, f: Callable, x: np.ndarray) -> str | None:
    """Name what the returned numbers are, in terms of f(x ± eps·e_i) and f(x), or None.

    The check knows f at every point central differences visit, so it can tell a missing
    bracket, a missing division or a sum of the two values apart, entry by entry.
    """
    f_plus, f_minus = np.zeros_like(x), np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = EPS
        f_plus[index], f_minus[index] = f(x + step), f(x - step)
    f_x = np.full_like(x, f(x))
    candidates = [
        (
            (f_x - f_minus) / (2 * EPS),
            "the first point is x itself, not x + eps: (f(x) - f(x - eps)) / (2·eps), half "
            "the slope: f_plus is computed before x[i] is raised (or after it is put back); "
            "set x[i] = original + eps, then f_plus = f(x)",
        ),
        (
            (f_plus - f_x) / (2 * EPS),
            "the second point is x itself, not x - eps: (f(x + eps) - f(x)) / (2·eps), half "
            "the slope: set x[i] = original - eps (after x[i] += eps, x[i] -= eps only brings "
            "x[i] back), then f_minus = f(x)",
        ),
        (
            f_plus - f_minus / (2 * EPS),
            "the numbers returned are f(x + eps) - f(x - eps) / (2·eps): the division applies "
            "to f(x - eps) alone; bracket the numerator, (f_plus - f_minus) / (2 * eps)",
        ),
        (
            f_plus - f_minus,
            "the numbers returned are f(x + eps) - f(x - eps), not divided: divide the "
            "difference by the distance of the two points, 2·eps",
        ),
        (
            (f_plus - f_minus) / 2,
            "the numbers returned are (f(x + eps) - f(x - eps)) / 2: divided by 2 but not by "
            "eps; divide by 2 * eps (with the brackets)",
        ),
        (
            (f_plus + f_minus) / (2 * EPS),
            "the numbers returned are (f(x + eps) + f(x - eps)) / (2·eps): the two values are "
            "added; subtract them, f(x + eps) - f(x - eps)",
        ),
        (
            f_plus,
            "the numbers returned are the values f(x + eps) themselves: return the difference "
            "quotient (f(x + eps) - f(x - eps)) / (2·eps)",
        ),
        (
            f_x,
            "the numbers returned are f(x), the function's value, the same for every entry: "
            "return the difference quotient (f(x + eps) - f(x - eps)) / (2·eps) of each entry",
        ),
    ]
    for predicted, hint in candidates:
        if np.allclose(got, predicted, rtol=1e-6, atol=1e-9):
            return hint
    return _combination_hint(got, f_plus, f_minus)


def _combination_hint(got: np.ndarray, f_plus: np.ndarray, f_minus: np.ndarray) -> str | None:
    """The hint when the numbers returned are a·f(x + eps) ± b·f(x - eps), with a and b
    among 1, 1/2, 1/eps and 1/(2·eps) (brackets or a division misplaced), or None."""
    divisions = {"": 1.0, " / 2": 0.5, " / eps": 1 / EPS, " / (2·eps)": 1 / (2 * EPS)}
    for (plus_text, a), (minus_text, b), sign in itertools.product(
        divisions.items(), divisions.items(), (-1, 1)
    ):
        if plus_text == minus_text and sign < 0:
            continue  # the difference times a factor: the right one, or the factor hints
        if np.allclose(got, a * f_plus + sign * b * f_minus, rtol=1e-6, atol=1e-9):
            return (
                f"the numbers returned are f(x + eps){plus_text} {'-' if sign < 0 else '+'} "
                f"f(x - eps){minus_text}: the difference of the two values, as a whole, is "
                "divided by 2·eps; write (f_plus - f_minus) / (2 * eps), with the brackets"
            )
    return None


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
    if np.allclose(got, EPS**2 * exact, rtol=1e-3, atol=1e-20):
        return (
            "the difference is multiplied by eps instead of divided by it: "
            "a / 2 * eps is (a / 2) * eps; write (f_plus - f_minus) / (2 * eps), with the brackets"
        )
    if np.any(exact) and np.allclose(got, 4 * exact, rtol=1e-6, atol=1e-9):
        return (
            "4 times the derivative: the difference is divided by eps / 2, where the distance "
            "of the two points x ± eps belongs, 2·eps: write (f_plus - f_minus) / (2 * eps)"
        )
    return _eps_factor_hint(got, exact) or diagnose(got, exact, batch_size=1, input_size=1)


def _eps_factor_hint(got: np.ndarray, exact: np.ndarray) -> str | None:
    """The hint when the result is the derivative times c·eps^k (c a power of 2): the
    division by 2·eps done wrong; or None."""
    if not np.any(exact):
        return None
    factor = float(np.vdot(got, exact) / np.vdot(exact, exact))
    if not np.allclose(got, factor * exact, rtol=1e-3, atol=1e-20):
        return None
    for power, c in itertools.product((1, 2, -1), (1, 2, 4, 0.5, 0.25)):
        if np.isclose(factor, c * EPS**power, rtol=1e-3, atol=0):
            times = "" if c == 1 else f"{c:g}·"
            return (
                f"the numbers are {times}eps{'' if power == 1 else f'^{power}'} times the "
                "derivative: the difference is not divided by 2·eps as it should be; write "
                "(f_plus - f_minus) / (2 * eps), with the brackets"
            )
    return None


class _EvaluationSpy:
    """Wraps ``f`` and records every point where it is evaluated, relative to ``x``."""

    def __init__(self, f: Callable[[np.ndarray], float], x: np.ndarray):
        self.f = f
        self.x = x.copy()
        self.changed_entries: list[int] = []
        self.steps: list[tuple[float, float]] = []  # (|x_i| at the moved entry, |step|)
        self.set_to: list[float] = []  # the value the moved entry was given
        self.signs: list[float] = []  # the direction of each move: +1 or -1
        self.moved: set[int] = set()  # the (flat) indices of the entries ever moved

    def __call__(self, point) -> float:
        point = np.asarray(point, dtype=np.float64)
        if point.shape != self.x.shape:  # f is a function of arrays of x's shape only
            hint = (
                f"f was called at a point of shape {point.shape}, but x has shape "
                f"{self.x.shape}: x ± eps·e_i must keep x's shape (move x[index] in place, or "
                "make e_i with np.zeros_like(x))"
            )
            raise GradientCheckError(
                f"numerical_gradient called f at a point of another shape.\nHint: {hint}", "f", hint
            )
        moved = np.flatnonzero(point != self.x)
        self.changed_entries.append(len(moved))
        self.moved.update(int(index) for index in moved)
        if len(moved) == 1:
            index = moved[0]
            start = self.x.flat[index]
            self.steps.append((abs(start), abs(point.flat[index] - start)))
            self.set_to.append(float(point.flat[index]))
            self.signs.append(float(np.sign(point.flat[index] - start)))
        return self.f(point)

    def one_direction_hint(self) -> str | None:
        """The hint when every point was x moved the same way (never x itself, never the
        other way): both values of the difference taken on one side, or None."""
        if 0 in self.changed_entries or len(set(self.signs)) != 1:
            return None
        side, other = ("+", "-") if self.signs[0] > 0 else ("-", "+")
        return (
            f"f was only ever called at x {side} eps, never at x {other} eps: both values of "
            f"the difference are taken at the same point; the second one is f at "
            f"x[index] = original {other} eps"
        )

    def raise_if_the_step_is_not(self, eps: float) -> None:
        """Every move must be ±eps (the argument), up to the rounding of x ± eps."""
        for (start, step), value in zip(self.steps, self.set_to, strict=True):
            if abs(step - eps) > 4 * np.spacing(start + eps):
                hint = _set_to_eps_hint(start, value, eps) or (
                    f"f was called at x ± {step:.3g}: move each entry by the `eps` argument "
                    f"({eps:g} here), not by a step of your own"
                )
                raise GradientCheckError(
                    f"numerical_gradient moved an entry by {step:.3g}.\nHint: {hint}", "x", hint
                )

    def zero_entries_skipped_hint(self) -> str | None:
        """The hint when the entries never moved are exactly those where x is 0 (a loop over
        the nonzero entries only), or None."""
        never = set(range(self.x.size)) - self.moved
        if not never or never != set(np.flatnonzero(self.x == 0).tolist()):
            return None
        return (
            f"the entries where x is 0 ({len(never)} of {self.x.size}) are never moved, and "
            "only those: the loop visits the nonzero entries alone (np.argwhere(x), "
            "np.nonzero(x) and `if x[i]` skip the zeros); 0 is an entry like any other: loop "
            "over every entry, `for index in np.ndindex(x.shape)`"
        )

    def raise_if_not_one_entry_at_a_time(self) -> None:
        if not self.changed_entries:
            hint = self.zero_entries_skipped_hint() or (
                "call f at x + eps·e_i and x - eps·e_i for every entry i"
            )
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


def _set_to_eps_hint(start: float, value: float, eps: float) -> str | None:
    """The hint when the moved entry was set to ±eps itself instead of moved by eps, or None."""
    if abs(abs(value) - eps) > 4 * np.spacing(eps) or start <= 2 * eps:
        return None
    return (
        f"f was called with the entry set to {value:.3g}, that is ±eps itself: its value "
        f"(±{start:.3g} here) was lost; move it from there, x[i] = original + eps and "
        "x[i] = original - eps (then put the original back)"
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
    try:
        check_values("E", e, (k * v) ** 2, formula="(k·v)²")
    except AssertionError as failure:
        hint = _order_hint(chain_rule_gradients_fn) or _e_formula_hint(chain_rule_gradients_fn)
        if hint is None:
            raise
        raise GradientCheckError(f"{failure}\nHint: {hint}", "E", hint) from None
    expected = {
        "dE_dk": float(numerical_gradient(lambda kk: (kk * v) ** 2, np.array(k))),
        "dE_dv": float(numerical_gradient(lambda vv: (k * vv) ** 2, np.array(v))),
    }
    got = {"dE_dk": de_dk, "dE_dv": de_dv}
    for name, true in expected.items():
        if abs(got[name] - true) <= 1e-6 * (1 + abs(true)):
            continue
        hint = _chain_rule_hint(chain_rule_gradients_fn, name) or diagnose(
            np.array(got[name]), np.array(true), batch_size=1, input_size=1
        )
        raise GradientCheckError(
            f"{name} is {got[name]:.6g} at k = {k:.6g}, v = {v:.6g}; central differences give "
            f"{true:.6g}.\nHint: {hint}",
            name,
            hint,
        )
    return f"chain_rule_gradients({k:.6g}, {v:.6g}): E, dE_dk and dE_dv OK"


# A generic point for the chain rule's hints: k and v distinct, of different signs, not 0 or ±1
# (at k = v, or k = 0, several mistakes give the true values or each other's).
GENERIC_K, GENERIC_V = 1.3, -0.7


def _chain_rule_hint(chain_rule_gradients_fn: Callable, name: str) -> str | None:
    """Name the mistake in ``name`` (dE_dk or dE_dv) from the learner's values at a generic point.

    With M = k·v, the true derivatives are 2M·v and 2M·k; each hypothesis is what a
    common mistake would return there. None if the function is right there, or no
    hypothesis matches.
    """
    k, v = GENERIC_K, GENERIC_V
    try:
        got = float(chain_rule_gradients_fn(k, v)[1 if name == "dE_dk" else 2])
    except Exception:  # it fails at other points too: the error says why
        return None
    m = k * v
    inner, other_inner = (v, k) if name == "dE_dk" else (k, v)
    variable = "k" if name == "dE_dk" else "v"
    hypotheses = [
        (2 * m * inner, None),
        (
            2 * m,
            f"the inner derivative is missing: multiply dE/dM = 2·M by dM/d{variable} = "
            f"{'v' if variable == 'k' else 'k'} (the chain rule)",
        ),
        (
            2 * m * other_inner,
            f"dM/d{variable} is {'v' if variable == 'k' else 'k'}, not "
            f"{'k' if variable == 'k' else 'v'}: dE_dk and dE_dv are swapped",
        ),
        (m * inner, "half the true value: d(M²)/dM = 2·M, don't forget the 2"),
        (inner, f"the outer derivative is missing: multiply dM/d{variable} by dE/dM = 2·M"),
        (2 * inner, "dE/dM is 2·M, not 2: multiply by M = k·v"),
        (2 * m * m * inner, "dE/dM is 2·M, not 2·E: d(M²)/dM = 2·M, with M = k·v"),
        (m * m, f"that is E itself, not its derivative with respect to {variable}"),
        (-2 * m * inner, "the gradient has the wrong sign"),
        (
            2 * m + inner,
            f"dE/dM = 2·M and dM/d{variable} = {'v' if variable == 'k' else 'k'} are added: "
            f"the chain rule multiplies them, dE/d{variable} = dE/dM · dM/d{variable}",
        ),
        (
            2 * m * (k + v),
            f"dM/d{variable} is {'v' if variable == 'k' else 'k'}, not k + v: differentiating "
            f"M = k·v by {variable} holds the other factor constant (the product rule: "
            f"d(k·v)/d{variable} = {'v·1 + k·0' if variable == 'k' else 'k·1 + v·0'})",
        ),
        (
            2 * m * k * v,
            f"dE/d{variable} was chained from dE/d{'v' if variable == 'k' else 'k'} (2·M·k·v), "
            f"not from dE/dM: dE/d{variable} = dE/dM · dM/d{variable}",
        ),
    ]
    # Mistakes in dE/dM alone: both derivatives chained through the same wrong dE/dM.
    outer_mistakes = {m * inner, inner, 2 * inner, 2 * m * m * inner, -2 * m * inner}
    if abs(got + 2 * m * inner) <= 1e-6 * (1 + abs(got)) and _right_where_m_is_positive(
        chain_rule_gradients_fn, name
    ):
        return (
            f"{name} has the right size but the wrong sign where M = k·v < 0 (at k = {k}, "
            f"v = {v}), and is right where M > 0: dE/dM is 2·|M| there. √E (or abs) loses "
            "M's sign: √(M²) = |M|; write dE/dM = 2·M = 2·k·v"
        )
    outer = _outer_derivative_hint(chain_rule_gradients_fn)
    for predicted, hint in hypotheses:
        if abs(got - predicted) <= 1e-6 * (1 + abs(predicted)):
            # at this point one hypothesis can coincide with another (2k·v is 2·M):
            # the outer derivative seen on both derivatives is surer
            return hint if hint is None or outer is None or predicted in outer_mistakes else outer
    return outer or (
        f"with dE/dM = 2·M = {2 * m:.4g} (k = {k}, v = {v}), your {name} = {got:.4g} means an "
        f"inner derivative dM/d{variable} = {got / (2 * m):.4g}, but M = k·v gives dM/d{variable} "
        f"= {'v' if variable == 'k' else 'k'} = {inner:.4g}: re-derive dM/d{variable}"
    )


def _right_where_m_is_positive(chain_rule_gradients_fn: Callable, name: str) -> bool:
    """Whether ``name`` (dE_dk or dE_dv) is right at the generic point with v's sign flipped,
    where M = k·v > 0."""
    k, v = GENERIC_K, -GENERIC_V
    try:
        got = float(chain_rule_gradients_fn(k, v)[1 if name == "dE_dk" else 2])
    except Exception:  # it fails at other points too: the error says why
        return False
    true = _true_values(k, v)[1 if name == "dE_dk" else 2]
    return abs(got - true) <= 1e-6 * (1 + abs(true))


def _true_values(k: float, v: float) -> tuple[float, float, float]:
    """(E, dE/dk, dE/dv) for E = M², M = k·v."""
    m = k * v
    return m * m, 2 * m * v, 2 * m * k


def _outer_derivative_hint(chain_rule_gradients_fn: Callable) -> str | None:
    """The hint for both derivatives chained through the same wrong dE/dM (right inner
    derivatives dM/dk = v, dM/dv = k), at a generic point; else None."""
    k, v = GENERIC_K, GENERIC_V
    try:
        _, de_dk, de_dv = (float(value) for value in chain_rule_gradients_fn(k, v))
    except Exception:  # it fails at other points too: the error says why
        return None
    used, m = de_dk / v, k * v
    consistent = abs(de_dv / k - used) <= 1e-6 * (1 + abs(used))
    if not consistent or abs(used - 2 * m) <= 1e-6 * (1 + abs(used)):
        return None
    return (
        f"at k = {k}, v = {v} (M = {m:.4g}) dE_dk = {de_dk:.4g} and dE_dv = {de_dv:.4g} are "
        f"dM/dk = v and dM/dv = k times the same dE/dM = {used:.4g}: the inner derivatives "
        f"are right, the outer one is not: dE/dM = d(M²)/dM = 2·M = {2 * m:.4g}"
    )


# E = (k·v)² as it is sometimes written instead, in k and v.
E_FORMULAS = {
    "2·M (M * 2 doubles M): square it, M * M or M ** 2": lambda k, v: 2 * k * v,
    "M itself: square it, M * M or M ** 2": lambda k, v: k * v,
    "k·v², only v squared: square the product, (k·v)²": lambda k, v: k * v * v,
    "k²·v, only k squared: square the product, (k·v)²": lambda k, v: k * k * v,
}


def _e_formula_hint(chain_rule_gradients_fn: Callable) -> str | None:
    """The hint for an E that is another formula of k and v at two generic points, or None."""
    points = ((GENERIC_K, GENERIC_V), (GENERIC_V, GENERIC_K + 1))
    try:
        got = [float(chain_rule_gradients_fn(k, v)[0]) for k, v in points]
    except Exception:  # it fails at other points too: the error says why
        return None
    for formula, e in E_FORMULAS.items():
        if all(np.isclose(g, e(k, v), rtol=1e-9) for g, (k, v) in zip(got, points, strict=True)):
            return f"E is {formula}"
    return None


def _order_hint(chain_rule_gradients_fn: Callable) -> str | None:
    """The hint for the three right values returned in another order, at a generic point."""
    try:
        got = [float(value) for value in chain_rule_gradients_fn(GENERIC_K, GENERIC_V)]
    except Exception:  # it fails at other points too: the error says why
        return None
    true = _true_values(GENERIC_K, GENERIC_V)
    if np.allclose(got, true) or not np.allclose(sorted(got), sorted(true)):
        return None
    names = {0: "E", 1: "dE_dk", 2: "dE_dv"}
    order = [names[int(np.argmin([abs(g - t) for t in true]))] for g in got]
    return (
        f"the three values are right but come in the order ({', '.join(order)}): return them "
        "as (E, dE_dk, dE_dv)"
    )
