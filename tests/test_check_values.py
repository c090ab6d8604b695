"""pancake.testing.values: check_values accepts what matches the formula, to rounding, and
says what is wrong otherwise: the worst entry, a missing return, a shape, an overflow."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from pancake.testing import check_values
from pancake.testing import strategies as pst

pytestmark = pytest.mark.ex01


@given(x=pst.arrays(pst.shapes(min_dims=0), scale=pst.scales()))
def test_values_equal_to_rounding_pass(x):
    rounded = x * (1 + 1e-12)
    assert check_values("y", rounded, x, formula="x") == "y matches x: OK"


def test_a_wrong_entry_is_named_with_both_values():
    expected = np.arange(6.0).reshape(2, 3)
    got = expected.copy()
    got[1, 2] = 7.0
    with pytest.raises(AssertionError, match=r"at index \(1, 2\) it is 7 instead of 5"):
        check_values("y", got, expected, formula="x + 1")


@pytest.mark.parametrize(
    "got, message",
    [
        (None, "did you forget to `return` it"),
        (np.zeros(3), r"has shape \(3,\), expected \(2, 3\) \(x \+ 1\)"),
        (np.full((2, 3), np.inf), "Hint: an exp or a log overflowed"),
        (np.zeros(2), r"Hint: an axis was reduced away.*np\.maximum\(x, 0\), not np\.max"),
    ],
    ids=["None", "shape", "inf", "an axis reduced away"],
)
def test_what_cannot_match_says_why(got, message):
    with pytest.raises(AssertionError, match=message):
        check_values("y", got, np.ones((2, 3)), formula="x + 1")


def test_a_shape_with_no_axis_lost_gets_no_reduction_hint():
    with pytest.raises(AssertionError) as failure:
        check_values("y", np.zeros((3, 2)), np.zeros((2, 3)), formula="x + 1")
    assert "Hint" not in str(failure.value)


def test_a_result_stretched_along_an_axis_of_length_1_is_named():
    per_channel = np.ones(3)  # one value per channel, broadcast on the last axis by mistake
    with pytest.raises(AssertionError, match=r"broadcast along axis 3.*reshape it to \(C, 1, 1\)"):
        check_values("y", np.ones((2, 3, 1, 1)) * per_channel, np.ones((2, 3, 1, 1)), formula="x")
    with pytest.raises(AssertionError) as failure:  # a longer axis, not a stretched one
        check_values("y", np.ones((2, 4)), np.ones((2, 3)), formula="x")
    assert "Hint" not in str(failure.value)


def test_values_rearranged_are_named_but_values_off_by_a_little_are_not():
    expected = np.array([[0.9, 1.3], [-0.4, 2.2]])
    with pytest.raises(AssertionError, match="the values are right but in the wrong places"):
        check_values("y", expected.T, expected, formula="x")
    nearly = expected + np.array([[2e-6, -1e-6], [3e-6, 0.0]])  # close, but not rearranged
    with pytest.raises(AssertionError) as failure:
        check_values("y", nearly, expected, formula="x")
    assert "Hint" not in str(failure.value)


def test_values_close_together_are_shown_with_the_digits_that_tell_them_apart():
    with pytest.raises(AssertionError) as failure:
        check_values("v", np.array([0.9000001]), np.array([0.9]), formula="0.9")
    assert "it is 0.9000001 instead of 0.9" in str(failure.value)


def test_a_nan_without_inf_names_the_log_of_a_negative_number_too():
    with pytest.raises(AssertionError) as failure:
        check_values("v", np.log(np.array([-1.0, 2.0])), np.array([0.0, 1.0]), formula="f")
    assert "the log (or square root) of a negative number" in str(failure.value)


def wrong_message(got, expected) -> str:
    with pytest.raises(AssertionError) as failure:
        check_values("v", got, expected, formula="f")
    return str(failure.value)


def test_values_off_by_one_amount_per_index_of_an_axis_are_named():
    rng = np.random.default_rng(0)
    expected = rng.standard_normal((4, 3, 2))
    per_channel = rng.standard_normal((1, 3, 1))
    message = wrong_message(expected + per_channel, expected)
    assert "same index along axis 1 are off by the same amount" in message
    assert "every value is off by the same amount, 0.5" in wrong_message(expected + 0.5, expected)


def test_values_off_by_one_factor_per_index_of_an_axis_are_named():
    rng = np.random.default_rng(0)
    expected = rng.standard_normal((5, 3))
    message = wrong_message(expected * rng.uniform(2, 3, 3), expected)
    assert "same index along axis 1 are off by the same factor" in message


def test_wrong_values_only_at_the_end_of_an_axis_are_located():
    rng = np.random.default_rng(0)
    expected = rng.standard_normal((4, 5))
    got = expected.copy()
    got[:, -1] += rng.standard_normal(4)
    assert "only the entries at the last index of axis 1 (of 5)" in wrong_message(got, expected)
    got = expected.copy()
    got[:2] += rng.standard_normal((2, 5))
    assert "the first 2 indices of axis 0" in wrong_message(got, expected)


def test_no_structure_is_claimed_for_scattered_errors_or_equal_expected_values():
    rng = np.random.default_rng(0)
    expected = rng.standard_normal((4, 5))
    message = wrong_message(expected + rng.standard_normal((4, 5)), expected)
    assert "Hint" not in message
    repeated = np.zeros((4, 5))
    got = repeated.copy()
    got[:, -1] = 1.0
    assert "only the entries" not in wrong_message(got + [0, 0, 0, 0, 0], repeated)


def test_a_location_is_claimed_only_for_errors_far_out_of_the_tolerance():
    rng = np.random.default_rng(0)
    expected = rng.standard_normal((4, 5))
    got = expected.copy()
    got[:, -1] *= 1 + 1e-6  # out of the tolerance, but barely: elsewhere could be too
    assert "only the entries" not in wrong_message(got, expected)


def test_a_hint_that_names_the_mistake_replaces_check_values_own():
    from pancake.testing.forward import with_hint

    rng = np.random.default_rng(0)
    expected = rng.standard_normal((4, 3, 2))
    with pytest.raises(AssertionError) as offset:
        check_values("v", expected + rng.standard_normal((1, 3, 1)), expected, formula="f")
    named = str(with_hint(offset.value, "\nHint: the bias is missing"))
    assert named.endswith("Hint: the bias is missing") and named.count("Hint:") == 1
    with pytest.raises(AssertionError) as scaled:
        check_values("v", 2 * expected, expected, formula="f")
    # even a factor or a rearrangement, which may hold by chance on a small failing case:
    # the caller's hint, diagnosed on a generic input, is the one shown
    named = str(with_hint(scaled.value, "\nHint: named"))
    assert named.endswith("Hint: named") and named.count("Hint:") == 1
    assert with_hint(scaled.value, "") is scaled.value


def test_a_shape_hint_is_replaced_by_a_hint_from_a_generic_input():
    from pancake.testing.forward import with_hint

    with pytest.raises(AssertionError) as failure:
        check_values("v", np.ones((1, 3)), np.ones((1, 1, 3)), formula="f")
    assert "Hint:" in str(failure.value)  # check_values' own: an axis reduced away
    named = str(with_hint(failure.value, "\nHint: flattened"))
    assert named.endswith("Hint: flattened") and named.count("Hint:") == 1
