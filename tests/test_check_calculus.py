"""pancake.testing.calculus: the checks of chapter 1 pass correct answers for any input,
wider than the graded tests (scales up to 100), and catch the classic mistakes."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pancake.calculus import chain_rule_gradients
from pancake.testing import (
    GradientCheckError,
    check_chain_rule,
    check_numerical_gradient,
    numerical_gradient,
)
from pancake.testing import strategies as pst

pytestmark = pytest.mark.ex01


@given(x=pst.arrays(pst.shapes(min_dims=0, max_dims=3, max_side=4), scale=pst.scales()))
def test_central_differences_pass_their_check_at_every_scale(x):
    """Wider than the graded tests (scales up to 100): a correct answer is never failed."""
    check_numerical_gradient(numerical_gradient, x)


@given(k=st.floats(-1e3, 1e3), v=st.floats(-1e3, 1e3))
def test_the_chain_rule_answer_passes_its_check_for_any_values(k, v):
    check_chain_rule(chain_rule_gradients, k, v)


# -- ... and catch the classic mistakes, with a hint ------------------------------------------


def one_sided_difference(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        f_plus = f(x)
        x[index] = original
        grad[index] = (f_plus - f(x)) / eps
    return grad


def divides_by_eps(f, x, eps=1e-6):
    return numerical_gradient(f, x, eps) * 2


def multiplies_by_eps(f, x, eps=1e-6):
    """(f_plus - f_minus) / 2 * eps: operator precedence multiplies by eps."""
    return numerical_gradient(f, x, eps) * (2 * eps) * eps / 2


def never_puts_the_entry_back(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        f_plus = f(x)
        x[index] = original - eps
        grad[index] = (f_plus - f(x)) / (2 * eps)
    return grad


def flat_unit_vectors(f, x, eps=1e-6):
    """e_i as a flat vector of x.size entries: x ± eps·e_i broadcasts to another shape."""
    grad = np.zeros(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = 1.0
        grad[i] = (f(x.reshape(-1) + eps * e) - f(x.reshape(-1) - eps * e)) / (2 * eps)
    return grad.reshape(x.shape)


def forgets_the_two(k, v):
    return (k * v) ** 2, k * v * v, k * v * k


def swaps_the_derivatives(k, v):
    return (k * v) ** 2, 2 * k * v * k, 2 * k * v * v


def returns_a_list(k, v):
    return [(k * v) ** 2, 2 * k * v * v, 2 * k * v * k]


def lower_point_at_x(f, x, eps=1e-6):
    """x[i] -= eps after x[i] += eps: the lower point is x itself."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] += eps
        f_plus = f(x)
        x[index] -= eps
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def upper_point_at_x(f, x, eps=1e-6):
    """f_plus taken before x[i] is raised: the upper point is x itself."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        f_plus = f(x)
        x[index] = original - eps
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def skips_the_zeros(f, x, eps=1e-6):
    """np.argwhere(x) lists the nonzero entries only: a 0 is never moved."""
    grad = np.zeros_like(x)
    for index in map(tuple, np.argwhere(x)):
        original = x[index]
        x[index] = original + eps
        f_plus = f(x)
        x[index] = original - eps
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def loops_over_len(f, x, eps=1e-6):
    """range(len(x)): rows of a matrix, and a TypeError on a 0-d x."""
    grad = np.zeros_like(x)
    for index in range(len(x)):
        original = x[index].copy()
        x[index] = original + eps
        f_plus = f(x)
        x[index] = original - eps
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def chains_dv_from_dk(k, v):
    m = k * v
    de_dk = 2 * m * v
    return m * m, de_dk, de_dk * k


def e_for_its_own_derivative(k, v):
    """d(M²)/dM written M²: E where its derivative 2·M belongs."""
    m = k * v
    return m * m, m * m * v, m * m * k


def differentiates_by_k_not_m(k, v):
    """d(M²)/dM written 2·k: dE_dk = 2k·v is then right (it is 2·M), dE_dv = 2k·k is not."""
    m = k * v
    return m * m, 2 * k * v, 2 * k * k


def returns_e_last(k, v):
    m = k * v
    return 2 * m * v, 2 * m * k, m * m


def doubles_m_for_e(k, v):
    """E = M * 2 where M * M belongs (with the derivatives of M²)."""
    m = k * v
    return m * 2, 2 * m * v, 2 * m * k


def two_e_for_two_m(k, v):
    """d(M²)/dM written 2·E: E where M belongs."""
    m = k * v
    e = m * m
    return e, 2 * e * v, 2 * e * k


def fills_the_last_entry_only(f, x, eps=1e-6):
    """The assignment dedented out of the loop: only the last entry is set."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        f_plus = f(x)
        x[index] = original - eps
        f_minus = f(x)
        x[index] = original
    grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def quotient_of(combine):
    """A numerical_gradient that returns ``combine(f_plus, f_minus, eps)`` for each entry."""

    def numerical_gradient(f, x, eps=1e-6):
        grad = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            original = x[index]
            x[index] = original + eps
            f_plus = f(x)
            x[index] = original - eps
            f_minus = f(x)
            x[index] = original
            grad[index] = combine(f_plus, f_minus, eps)
        return grad

    return numerical_gradient


def sets_the_entry_to_eps(f, x, eps=1e-6):
    """x[index] = +eps and -eps: the entry's own value lost."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = eps
        f_plus = f(x)
        x[index] = -eps
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def moves_up_twice(f, x, eps=1e-6):
    """x[index] = original + eps for both values (a copy-paste slip): every quotient is 0."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        f_plus = f(x)
        x[index] = original + eps
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def remakes_the_gradient_in_the_loop(f, x, eps=1e-6):
    for index in np.ndindex(x.shape):
        grad = np.zeros_like(x)  # made again for every entry: the earlier ones are lost
        original = x[index]
        x[index] = original + eps
        f_plus = f(x)
        x[index] = original - eps
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def assigns_after_the_loop(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        f_plus = f(x)
        x[index] = original - eps
        f_minus = f(x)
        x[index] = original
    grad[index] = (f_plus - f_minus) / (2 * eps)  # one indent short: the last entry alone
    return grad


def returns_inside_the_loop(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        f_plus = f(x)
        x[index] = original - eps
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
        return grad


def adds_the_local_derivatives(k, v):
    """dE/dM + dM/dk: the chain rule's factors added."""
    m = k * v
    return m * m, 2 * m + v, 2 * m + k


def keeps_both_terms_of_the_product(k, v):
    """dM/dk = dM/dv = v + k: the product rule with neither factor held constant."""
    m = k * v
    return m * m, 2 * m * (v + k), 2 * m * (v + k)


def cubes_the_inner_factor(k, v):
    """dM/dk = v³: an inner derivative no hypothesis names."""
    m = k * v
    return m * m, 2 * m * v**3, 2 * m * k


X = np.array([0.5, -1.0, 2.0])
CATALOG = {
    "f_plus - f_minus / (2 * eps)": (
        lambda: check_numerical_gradient(
            quotient_of(lambda plus, minus, eps: plus - minus / (2 * eps)), X
        ),
        "the division applies to f(x - eps) alone",
    ),
    "the difference not divided": (
        lambda: check_numerical_gradient(quotient_of(lambda plus, minus, eps: plus - minus), X),
        "f(x + eps) - f(x - eps), not divided",
    ),
    "divided by 2 only": (
        lambda: check_numerical_gradient(
            quotient_of(lambda plus, minus, eps: (plus - minus) / 2), X
        ),
        "divided by 2 but not by eps",
    ),
    "the two values added": (
        lambda: check_numerical_gradient(
            quotient_of(lambda plus, minus, eps: (plus + minus) / (2 * eps)), X
        ),
        "the two values are added",
    ),
    "f(x + eps) returned": (
        lambda: check_numerical_gradient(quotient_of(lambda plus, minus, eps: plus), X),
        "the values f(x + eps) themselves",
    ),
    "f_plus / (2 * eps) - f_minus": (
        lambda: check_numerical_gradient(
            quotient_of(lambda plus, minus, eps: plus / (2 * eps) - minus), X
        ),
        "the numbers returned are f(x + eps) / (2·eps) - f(x - eps)",
    ),
    "multiplied by 2·eps": (
        lambda: check_numerical_gradient(
            quotient_of(lambda plus, minus, eps: (plus - minus) * (2 * eps)), X
        ),
        "the numbers are 4·eps^2 times the derivative",
    ),
    "the entry set to ±eps": (
        lambda: check_numerical_gradient(sets_the_entry_to_eps, X),
        "the entry set to 1e-06, that is ±eps itself",
    ),
    "the product rule with neither factor constant": (
        lambda: check_chain_rule(keeps_both_terms_of_the_product, 1.5, -2.0),
        "dM/dk is v, not k + v: differentiating M = k·v by k holds the other factor constant",
    ),
    "an inner derivative of its own": (
        lambda: check_chain_rule(cubes_the_inner_factor, 1.5, -2.0),
        "means an inner derivative dM/dk = -0.343, but M = k·v gives dM/dk = v = -0.7",
    ),
    "the local derivatives added": (
        lambda: check_chain_rule(adds_the_local_derivatives, 1.5, -2.0),
        "dE/dM = 2·M and dM/dk = v are added: the chain rule multiplies them",
    ),
    "E = M * 2": (
        lambda: check_chain_rule(doubles_m_for_e, 1.5, -2.0),
        "E is 2·M (M * 2 doubles M): square it",
    ),
    "d(M²)/dM written 2·E": (
        lambda: check_chain_rule(two_e_for_two_m, 1.5, -2.0),
        "dE/dM is 2·M, not 2·E",
    ),
    "the last entry only": (
        lambda: check_numerical_gradient(fills_the_last_entry_only, X),
        "only 1 of the 3 entries of the gradient are filled in",
    ),
    "the lower point is x itself": (
        lambda: check_numerical_gradient(lower_point_at_x, X),
        "the second point is x itself, not x - eps",
    ),
    "the zeros skipped": (
        lambda: check_numerical_gradient(skips_the_zeros, np.array([0.5, 0.0, -1.0])),
        "the entries where x is 0 (1 of 3) are never moved, and only those",
    ),
    "the zeros skipped, x all 0": (
        lambda: check_numerical_gradient(skips_the_zeros, np.zeros(2)),
        "the entries where x is 0 (2 of 2) are never moved",
    ),
    "the upper point is x itself": (
        lambda: check_numerical_gradient(upper_point_at_x, X),
        "the first point is x itself, not x + eps",
    ),
    "range(len(x)) on a 0-d x": (
        lambda: check_numerical_gradient(loops_over_len, np.array(0.7)),
        "x has shape (), a single number with no len()",
    ),
    "range(len(x)) on a matrix": (
        lambda: check_numerical_gradient(loops_over_len, np.ones((2, 3))),
        "np.ndindex(x.shape)",
    ),
    "dE/dv chained from dE/dk": (
        lambda: check_chain_rule(chains_dv_from_dk, 1.5, -2.0),
        "dE/dv was chained from dE/dk",
    ),
    "one-sided difference": (
        lambda: check_numerical_gradient(one_sided_difference, X),
        "one-sided (forward) difference",
    ),
    "divides by eps": (
        lambda: check_numerical_gradient(divides_by_eps, X),
        "divide by 2·eps",
    ),
    "/ 2 * eps, without brackets": (
        lambda: check_numerical_gradient(multiplies_by_eps, X),
        "multiplied by eps instead of divided by it",
    ),
    "points of another shape": (
        lambda: check_numerical_gradient(flat_unit_vectors, np.ones((2, 3))),
        "x ± eps·e_i must keep x's shape",
    ),
    "the gradient made again inside the loop": (
        lambda: check_numerical_gradient(remakes_the_gradient_in_the_loop, X),
        "`grad = np.zeros_like(x)  # made again for every entry: the earlier ones are lost` is "
        "inside the loop of line",
    ),
    "the gradient assigned after the loop": (
        lambda: check_numerical_gradient(assigns_after_the_loop, X),
        "the last one (and right): is the assignment inside the loop",
    ),
    "a return inside the loop": (
        lambda: check_numerical_gradient(returns_inside_the_loop, X),
        "the first one (and right): the loop stops after its first entry",
    ),
    "both values at x + eps": (
        lambda: check_numerical_gradient(moves_up_twice, X),
        "f was only ever called at x + eps, never at x - eps",
    ),
    "never puts the entry back": (
        lambda: check_numerical_gradient(never_puts_the_entry_back, X),
        "put it back",
    ),
    "forgets the 2 of d(M²)/dM": (
        lambda: check_chain_rule(forgets_the_two, 1.5, -2.0),
        "don't forget the 2",
    ),
    "swaps dM/dk and dM/dv": (
        lambda: check_chain_rule(swaps_the_derivatives, 1.5, -2.0),
        "dE_dk and dE_dv are swapped",
    ),
    "returns a list": (
        lambda: check_chain_rule(returns_a_list, 1.5, -2.0),
        "return the three values as a tuple",
    ),
    "E for its own derivative": (
        lambda: check_chain_rule(e_for_its_own_derivative, 1.5, -2.0),
        "times the same dE/dM = 0.8281: the inner derivatives are right, the outer one is not",
    ),
    "d(M²)/dM as 2k": (
        lambda: check_chain_rule(differentiates_by_k_not_m, 1.5, -2.0),
        "times the same dE/dM = 2.6: the inner derivatives are right, the outer one is not",
    ),
    "returns E last": (
        lambda: check_chain_rule(returns_e_last, 1.5, -2.0),
        "come in the order (dE_dk, dE_dv, E): return them as (E, dE_dk, dE_dv)",
    ),
}


@pytest.mark.parametrize("mistake", CATALOG)
def test_the_checks_catch_each_mistake_with_its_hint(mistake):
    check, hint = CATALOG[mistake]
    with pytest.raises(GradientCheckError, match=re.escape(hint)):
        check()


def misses_the_inner_derivative(k, v):
    m = k * v
    return m * m, 2 * m, 2 * m


def misses_the_outer_derivative(k, v):
    return (k * v) ** 2, v, k


def differentiates_m_squared_as_two(k, v):
    return (k * v) ** 2, 2 * v, 2 * k


def returns_e_for_its_derivatives(k, v):
    e = (k * v) ** 2
    return e, e, e


# Where hypothesis shrinks a failure: k = 1 and v = 2 (2M = 2Mv/v: the missing inner
# derivative reads as "half the true value"), or k = 0 (where 2Mv is 0).
DEGENERATE_CASES = {
    "inner derivative missing, at k = 1, v = 2": (
        misses_the_inner_derivative,
        (1.0, 2.0),
        "the inner derivative is missing",
    ),
    "outer derivative missing, at k = 0": (
        misses_the_outer_derivative,
        (0.0, 1.0),
        "the outer derivative is missing",
    ),
    "d(M²)/dM taken as 2, at k = v = 1": (
        differentiates_m_squared_as_two,
        (1.0, 2.0),
        "dE/dM is 2·M, not 2",
    ),
    "local derivatives added, at k = 0, v = 1 (dE_dk = v = the true 2Mv + v)": (
        adds_the_local_derivatives,
        (0.0, 1.0),
        "the chain rule multiplies them",
    ),
    "E returned for its derivatives, at k = 1, v = 2": (
        returns_e_for_its_derivatives,
        (1.0, 2.0),
        "that is E itself",
    ),
}


def loses_the_sign_of_m(k, v):
    e = (k * v) ** 2
    de_dm = 2 * np.sqrt(e)
    return e, de_dm * v, de_dm * k


def negates_its_derivatives(k, v):
    e = (k * v) ** 2
    return e, -2 * k * v * v, -2 * k * v * k


def test_a_derivative_that_loses_the_sign_of_m_is_named_where_m_is_negative():
    hint = "has the right size but the wrong sign where M = k·v < 0"
    with pytest.raises(GradientCheckError, match=re.escape(hint)):
        check_chain_rule(loses_the_sign_of_m, 0.5, -0.5)
    check_chain_rule(loses_the_sign_of_m, 0.5, 0.5)  # where M > 0 it is right
    with pytest.raises(GradientCheckError, match="the gradient has the wrong sign"):
        check_chain_rule(negates_its_derivatives, 0.5, -0.5)  # wrong everywhere: not this


@pytest.mark.parametrize("case", DEGENERATE_CASES)
def test_chain_rule_hints_are_diagnosed_on_a_generic_point(case):
    function, (k, v), hint = DEGENERATE_CASES[case]
    with pytest.raises(GradientCheckError, match=re.escape(hint)):
        check_chain_rule(function, k, v)


def a_step_of_its_own(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + 1e-4
        f_plus = f(x)
        x[index] = original - 1e-4
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / 2e-4
    return grad


def a_one_sided_difference_with_a_step_of_its_own(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    base = f(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + 1e-3
        grad[index] = (f(x) - base) / 1e-3
        x[index] = original
    return grad


@pytest.mark.parametrize(
    "function", [a_step_of_its_own, a_one_sided_difference_with_a_step_of_its_own]
)
def test_a_step_of_its_own_is_named(function):
    with pytest.raises(GradientCheckError, match="not by a step of your own"):
        check_numerical_gradient(function, np.array([0.3, -1.7, 2.5]))


def divided_by(divisor):
    """Central differences divided by ``divisor(eps)`` instead of 2·eps."""

    def numerical(f, x, eps=1e-6):
        grad = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            original = x[index]
            x[index] = original + eps
            f_plus = f(x)
            x[index] = original - eps
            f_minus = f(x)
            x[index] = original
            grad[index] = (f_plus - f_minus) / divisor(eps)
        return grad

    return numerical


def test_a_difference_divided_by_half_of_eps_is_named():
    with pytest.raises(GradientCheckError, match="4 times the derivative"):
        check_numerical_gradient(divided_by(lambda eps: eps / 2), np.array([0.7]))  # one entry
