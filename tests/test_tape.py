"""GradientTape: TensorFlow 2's record of operations, walked backwards (exercise 14)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pancake.autograd as ag
from pancake.autograd import GradientTape, Tensor, no_grad
from pancake.testing import strategies as pst

pytestmark = pytest.mark.ex14


def test_watched_tensor_gets_its_gradient():
    x = Tensor(3.0)
    with GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert tape.gradient(y, x).item() == 6.0


def test_unwatched_constant_is_not_recorded_and_gets_none():
    x = Tensor(3.0)
    with GradientTape() as tape:
        y = x * x
    assert tape.operations == []
    assert tape.gradient(y, x) is None


def test_tensors_created_with_requires_grad_are_watched_automatically():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with GradientTape() as tape:
        loss = (w * w).sum()
    np.testing.assert_array_equal(tape.gradient(loss, w).data, [2.0, 4.0])
    assert w.grad is None  # the tape adds nothing to .grad


def test_one_source_gives_a_tensor_a_list_gives_a_list_with_none_for_unconnected():
    a, b, unused = Tensor(2.0), Tensor(5.0), Tensor(7.0)
    with GradientTape(persistent=True) as tape:
        tape.watch([a, b, unused])
        y = a * b
    one = tape.gradient(y, a)
    assert isinstance(one, Tensor) and one.item() == 5.0
    several = tape.gradient(y, [a, b, unused])
    assert isinstance(several, list) and [g.item() for g in several[:2]] == [5.0, 2.0]
    assert several[2] is None


def test_a_second_gradient_call_on_a_non_persistent_tape_raises():
    x = Tensor(3.0)
    with GradientTape() as tape:
        tape.watch(x)
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="only be called once.*persistent=True"):
        tape.gradient(y, x)


def test_a_persistent_tape_gives_several_gradients():
    x = Tensor(3.0)
    with GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    assert tape.gradient(z, x).item() == 4 * 27.0  # d/dx x⁴
    assert tape.gradient(y, x).item() == 6.0
    assert tape.gradient(z, y).item() == 18.0  # an intermediate source


def test_a_tensor_used_several_times_gets_the_sum_of_its_uses():
    x = Tensor([1.0, -2.0])
    with GradientTape() as tape:
        tape.watch(x)
        y = (x * x * x + x).sum()
    np.testing.assert_array_equal(tape.gradient(y, x).data, 3 * x.data**2 + 1)


def test_operations_before_the_tape_or_under_no_grad_are_not_recorded():
    w = Tensor(2.0, requires_grad=True)
    before = w * 3  # not on the tape: its gradient does not reach w
    with GradientTape() as tape:
        with no_grad():
            constant = w * 5
        y = before * w + constant * w
    assert len(tape.operations) == 3  # two products and their sum
    assert tape.gradient(y, w).item() == 6.0 + 10.0  # `before` and `constant` count as constants


def test_a_non_scalar_target_gives_the_gradient_of_its_sum():
    x = Tensor([1.0, 2.0, 3.0])
    with GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    np.testing.assert_array_equal(tape.gradient(y, x).data, 2 * x.data)
    weights = np.array([1.0, 0.0, -1.0])
    np.testing.assert_array_equal(tape.gradient(y, x, output_gradients=weights).data, [2, 0, -6])


def test_the_record_is_in_execution_order_and_the_walk_goes_backwards():
    x = Tensor(0.5)
    with GradientTape() as tape:
        tape.watch(x)
        y = (x * 2.0).exp().log()
    assert [type(f).__name__ for f, _ in tape.operations] == ["Mul", "Exp", "Log"]
    assert tape.gradient(y, x).item() == pytest.approx(2.0)


def test_nested_tapes_give_the_second_derivative_of_a_cubed():
    a = Tensor(3.0)
    with GradientTape() as outer:
        outer.watch(a)
        with GradientTape() as inner:
            inner.watch(a)
            c = a**3
        dc_da = inner.gradient(c, a)
    d2c_da2 = outer.gradient(dc_da, a)
    assert dc_da.item() == 27.0  # 3a²
    assert d2c_da2.item() == 18.0  # 6a


def test_three_nested_tapes_give_the_third_derivative_of_x_to_the_fourth():
    x = Tensor(np.array([-1.0, 0.5, 2.0]))
    with GradientTape() as t3:
        t3.watch(x)
        with GradientTape() as t2:
            t2.watch(x)
            with GradientTape() as t1:
                t1.watch(x)
                y = x**4
            first = t1.gradient(y, x)
        second = t2.gradient(first, x)
    third = t3.gradient(second, x)
    np.testing.assert_allclose(third.data, 24 * x.data)


def test_a_gradient_taken_inside_its_own_persistent_tape_is_not_recorded_on_it():
    x = Tensor(2.0)
    with GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        recorded = len(tape.operations)
        tape.gradient(y, x)
        assert len(tape.operations) == recorded


def test_without_an_outer_tape_the_gradient_is_a_plain_constant():
    x = Tensor(2.0)
    with GradientTape() as tape:
        tape.watch(x)
        y = x**3
    g = tape.gradient(y, x)
    assert g.grad_fn is None and not g.requires_grad


@given(shape=pst.shapes(min_dims=1, max_dims=2, max_side=4), data=st.data())
def test_tape_gradients_equal_grad_on_an_mlp(shape, data):
    model = ag.MLP([shape[-1], 5, 3], activation=ag.tanh, rng=data.draw(pst.seeds()))
    x = data.draw(pst.arrays(shape))
    labels = np.arange(int(np.prod(shape[:-1]))) % 3
    with GradientTape() as tape:
        loss = ag.cross_entropy(model(x).reshape(-1, 3), labels)
    by_tape = tape.gradient(loss, model.parameters())
    by_graph = ag.grad(ag.cross_entropy(model(x).reshape(-1, 3), labels), model.parameters())
    for a, b in zip(by_tape, by_graph, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


# ---------------------------------------------------------------------------
# the exercise's two operations in Tensor form: Sin and Softplus


def second_derivative_along(op, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """H·v of sum(op(x)²) with the tape: a gradient taken inside an outer tape."""
    x = Tensor(x)
    with GradientTape() as outer:
        outer.watch(x)
        with GradientTape() as inner:
            inner.watch(x)
            f = (op(x) * op(x)).sum()
        along_v = (inner.gradient(f, x) * v).sum()
    return outer.gradient(along_v, x).data


@pytest.mark.parametrize("op", [ag.sin, ag.softplus, ag.sigmoid, ag.log_softmax])
def test_second_derivatives_through_nested_tapes_match_differences(op):
    rng = np.random.default_rng(0)
    x, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))

    def gradient(at):
        tensor = Tensor(at, requires_grad=True)
        return ag.grad((op(tensor) * op(tensor)).sum(), tensor)[0].data

    h = 1e-4
    differences = (gradient(x + h * v) - gradient(x - h * v)) / (2 * h)
    np.testing.assert_allclose(second_derivative_along(op, x, v), differences, rtol=1e-6)


def test_sin_and_cos_are_differentiable_any_number_of_times():
    x = Tensor(np.linspace(-3, 3, 7), requires_grad=True)
    derivative, expected = x.sin(), [np.sin, np.cos, lambda t: -np.sin(t), lambda t: -np.cos(t)]
    for order in range(1, 6):
        (derivative,) = ag.grad(derivative.sum(), x, create_graph=True)
        np.testing.assert_allclose(derivative.data, expected[order % 4](x.data), atol=1e-15)
