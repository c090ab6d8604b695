"""ex02's check that a module differentiates at the input of its latest forward call, and
the hint when backward uses an older one."""

from __future__ import annotations

import numpy as np
import pytest

from pancake.nn import Mul, Square

pytestmark = pytest.mark.ex02


class SquareKeepingItsFirstInput(Square):
    """Keeps every input in a list made at the first call; backward reads the first."""

    def forward(self, x):
        x = np.asarray(x, dtype=float)
        if not hasattr(self, "inputs"):
            self.inputs = []
        self.inputs.append(x)
        return x * x

    def backward(self, grad_output):
        return grad_output * 2 * self.inputs[0]


class SquareWithoutX(Square):
    def backward(self, grad_output):
        return grad_output * 2


def test_a_backward_at_the_first_input_is_caught_and_named():
    from pancake.course.assignments.ex02_modules import (
        check_follows_the_latest_forward,
        check_module_gradients,
    )

    x = np.random.default_rng(0).standard_normal((2, 3))
    check_module_gradients(Square(), x, Square, lambda x: 2 * x)
    check_module_gradients(Mul(2.0), x, lambda: Mul(1.7), lambda x: np.full_like(x, 1.7))
    with pytest.raises(AssertionError) as failure:
        check_follows_the_latest_forward(SquareKeepingItsFirstInput, lambda x: 2 * x)
    message = str(failure.value)
    assert "backward uses the input of the first forward call, not the input of the latest" in (
        message
    )


def test_a_formula_without_x_is_left_to_the_checks_own_hint():
    from pancake.course.assignments.ex02_modules import stale_input_hint

    assert stale_input_hint(SquareWithoutX, lambda x: 2 * x) == ""
    assert stale_input_hint(Square, lambda x: 2 * x) == ""


def test_a_backward_from_an_old_input_fails_on_one_generic_call_first():
    """A class-level list that starts with an old number: backward is a constant factor,
    which one call on the generic input shows, with the gradient check's own hint."""
    from pancake.course.assignments.ex02_modules import check_follows_the_latest_forward

    class SquareWithAClassList(Square):
        cache = [np.float64(0.3)]

        def forward(self, x):
            self.cache.append(np.asarray(x, dtype=float))
            return np.asarray(x, dtype=float) ** 2

        def backward(self, grad_output):
            return grad_output * 2 * self.cache[0]

    with pytest.raises(AssertionError, match="multiplies grad_output by a constant"):
        check_follows_the_latest_forward(SquareWithAClassList, lambda x: 2 * x)
