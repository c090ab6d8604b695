"""pancake.testing.autograd: the checks of unbroadcast and of Functions' backward passes
pass pancake's own for any shapes (wider than the graded tests), and catch the mistakes
that the seeded notebooks do not make, with a hint."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pancake.autograd as ag
from pancake.testing import (
    GradientCheckError,
    check_function_gradients,
    check_second_derivatives,
    check_unbroadcast,
)
from pancake.testing import strategies as pst

pytestmark = pytest.mark.ex10

MODERATE = st.sampled_from([0.1, 1.0, 3.0])


@settings(max_examples=60)
@given(shapes=pst.broadcastable_shapes(), data=st.data())
def test_the_reference_unbroadcast_and_mul_pass_their_checks(shapes, data):
    a, b = (data.draw(pst.arrays(shape, scale=pst.scales())) for shape in shapes)
    check_unbroadcast(ag.unbroadcast, np.multiply(a, b), shapes[0])
    check_function_gradients(ag.Mul, a, b)


@given(
    batch=pst.broadcastable_shapes(max_dims=2, max_side=3),
    sizes=st.tuples(*[pst.feature_sizes(max_size=4)] * 3),
    data=st.data(),
)
def test_the_reference_matmul_passes_its_check(batch, sizes, data):
    n, k, m = sizes
    scale = data.draw(pst.scales())
    a = data.draw(pst.arrays((*batch[0], n, k), scale=scale))
    b = data.draw(pst.arrays((*batch[1], k, m), scale=scale))
    check_function_gradients(ag.Matmul, a, b)


@given(
    shape=pst.shapes(min_dims=0, max_dims=4, max_side=4),
    keepdims=st.booleans(),
    data=st.data(),
)
def test_the_reference_reductions_and_element_wise_functions_pass_their_check(
    shape, keepdims, data
):
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1)) if shape else None
    x = data.draw(pst.arrays(shape, scale=pst.scales()))
    check_function_gradients(ag.Sum, x, options={"axis": axis, "keepdims": keepdims})
    check_function_gradients(ag.Tanh, x)
    check_function_gradients(ag.Exp, data.draw(pst.arrays(shape, scale=MODERATE)))


# -- ... and catches the mistakes that the seeded notebooks do not make, with a hint ------


class ScalesGradInPlace(ag.Function):
    def forward(self, x):
        self.save_for_backward(x)
        return 3 * x

    def backward(self, grad):
        grad *= 3
        return grad


class OneGradientForTwoInputs(ag.Function):
    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad


def averaging_unbroadcast(grad, shape):
    return grad.mean(axis=0)


def first_copy_unbroadcast(grad, shape):
    return grad[:1]


def wrong_axis_unbroadcast(grad, shape):
    return grad.sum(axis=1, keepdims=True).T


def sums_trailing_axes(grad, shape):
    """Sums the axes past len(shape), where broadcasting added the leading ones."""
    grad = grad.sum(axis=tuple(range(len(shape), grad.ndim)))
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True)


class SumReturningOnes(ag.Sum):
    def backward(self, grad):
        return np.ones(self.input_shape)


class SumWithoutKeepdims(ag.Sum):
    def backward(self, grad):
        return np.broadcast_to(grad, self.input_shape)


class MatmulWithDotT(ag.Matmul):
    def backward(self, grad):
        a, b = self.saved_tensors
        return ag.unbroadcast(grad @ b.T, a.shape), ag.unbroadcast(a.T @ grad, b.shape)


class MatmulFactorsSwapped(ag.Matmul):
    """dL/da = bᵀ @ grad: the right transposes, the wrong order."""

    def backward(self, grad):
        a, b = self.saved_tensors
        return ag.unbroadcast(np.swapaxes(b, -1, -2) @ grad, a.shape), ag.unbroadcast(
            np.swapaxes(a, -1, -2) @ grad, b.shape
        )


class MatmulGradientsReturnedSwapped(ag.Matmul):
    def backward(self, grad):
        grad_a, grad_b = super().backward(grad)
        return grad_b, grad_a


class MulUnbroadcastToTheOtherShape(ag.Mul):
    def backward(self, grad):
        a, b = self.saved_tensors
        return ag.unbroadcast(grad * b, b.shape), ag.unbroadcast(grad * a, a.shape)


def unbroadcast_axis_by_axis(grad, shape):
    """grad.sum(axis=i) for each added axis i, in turn: the axes shift after each sum."""
    for axis in range(grad.ndim - len(shape)):
        grad = grad.sum(axis=axis)
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True)


def unbroadcast_stretched_first(grad, shape):
    """The stretched axes, numbered in shape, summed before the added ones."""
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    grad = grad.sum(axis=stretched, keepdims=True)
    return grad.sum(axis=tuple(range(grad.ndim - len(shape))))


def unbroadcast_by_reshape(grad, shape):
    """A reshape where the copies must be summed."""
    return grad.sum(axis=tuple(range(grad.ndim - len(shape)))).reshape(shape)


class MulUnbroadcastStretchedFirst(ag.Mul):
    def backward(self, grad):
        a, b = self.saved_tensors
        return unbroadcast_stretched_first(grad * b, a.shape), unbroadcast_stretched_first(
            grad * a, b.shape
        )


class MulUnbroadcastByReshape(ag.Mul):
    def backward(self, grad):
        a, b = self.saved_tensors
        return unbroadcast_by_reshape(grad * b, a.shape), unbroadcast_by_reshape(grad * a, b.shape)


class MulSummingAddedAxesOneAtATime(ag.Mul):
    def backward(self, grad):
        a, b = self.saved_tensors
        return unbroadcast_axis_by_axis(grad * b, a.shape), unbroadcast_axis_by_axis(
            grad * a, b.shape
        )


class MatmulGradAWithoutTranspose(ag.Matmul):
    """dL/da = grad @ b: the transpose of b forgotten (the shapes fit for square b)."""

    def backward(self, grad):
        a, b = self.saved_tensors
        return grad @ b, np.swapaxes(a, -1, -2) @ grad


class MulPlusGrad(ag.Mul):
    """dL/da = grad * b + grad: a stray term, grad itself."""

    def backward(self, grad):
        a, b = self.saved_tensors
        return ag.unbroadcast(grad * b + grad, a.shape), ag.unbroadcast(grad * a, b.shape)


X = np.arange(1.0, 7.0).reshape(2, 3)
GRID = np.linspace(-1.0, 1.3, 24).reshape(2, 3, 4)


class MulUnbroadcastBeforeMultiplying(ag.Mul):
    """unbroadcast(grad, a.shape) * b: the product after unbroadcast broadcasts it again."""

    def backward(self, grad):
        a, b = self.saved_tensors
        return ag.unbroadcast(grad, a.shape) * b, ag.unbroadcast(grad, b.shape) * a


CHECKER_CATALOG = {
    "unbroadcast sums trailing axes, a wrong shape": (
        lambda: check_unbroadcast(sums_trailing_axes, GRID, (3, 4)),
        "the trailing axes of grad were summed",
    ),
    "unbroadcast sums trailing axes, the right shape": (
        lambda: check_unbroadcast(sums_trailing_axes, GRID[:, :, :2], (2,)),
        "the trailing axes of grad were summed",
    ),
    "Mul's gradients unbroadcast to each other's shapes": (
        lambda: check_function_gradients(MulUnbroadcastToTheOtherShape, X.T[:, :1], X[0]),
        "the gradient of 'a' has the shape of 'b'",
    ),
    "Matmul's gradients returned in the other order": (
        lambda: check_function_gradients(MatmulGradientsReturnedSwapped, X, X.T[:, :2]),
        "the gradients of 'a' and 'b' come in the other order (each has the other input's shape",
    ),
    "Mul's gradients unbroadcast before the product": (
        lambda: check_function_gradients(MulUnbroadcastBeforeMultiplying, X, X[0]),
        "as the last step (a product taken after it broadcasts the gradient again)",
    ),
    "Sum's backward forgets grad": (
        lambda: check_function_gradients(SumReturningOnes, GRID, options={"axis": 1}),
        "the same gradient whatever grad it is given",
    ),
    "Sum's backward without the keepdims reshape": (
        lambda: check_function_gradients(SumWithoutKeepdims, GRID, options={"axis": 1}),
        "grad has the output's shape, without the reduced axes",
    ),
    "Matmul's backward with .T on batched matrices": (
        lambda: check_function_gradients(
            MatmulWithDotT, GRID, np.linspace(-0.5, 0.8, 8).reshape(4, 2)
        ),
        ".T reverses every axis",
    ),
    "Matmul's dL/da with its factors in the wrong order": (
        lambda: check_function_gradients(MatmulFactorsSwapped, X, X.T[:, :2]),
        "dL/da = grad @ bᵀ (grad on the left)",
    ),
    "backward changes grad in place": (
        lambda: check_function_gradients(ScalesGradInPlace, X),
        "instead of changing grad",
    ),
    "one gradient for two inputs": (
        lambda: check_function_gradients(OneGradientForTwoInputs, X, X),
        "return one gradient per input",
    ),
    "unbroadcast sums the added axes one at a time, a wrong shape": (
        lambda: check_unbroadcast(unbroadcast_axis_by_axis, GRID[:, :1, :2], (2,)),
        "the axis numbers shift after each sum",
    ),
    "unbroadcast sums the added axes one at a time, past the last axis": (
        lambda: check_unbroadcast(unbroadcast_axis_by_axis, GRID, ()),
        "the axis numbers shift after each sum",
    ),
    "Mul's unbroadcast sums the added axes one at a time": (
        lambda: check_function_gradients(MulSummingAddedAxesOneAtATime, X, np.array(2.0)),
        "the axis numbers shift after each sum",
    ),
    "unbroadcast sums the stretched axes before the added ones": (
        lambda: check_unbroadcast(unbroadcast_stretched_first, GRID, (3, 1)),
        "the stretched axes were looked up before the added ones were summed",
    ),
    "Mul's unbroadcast sums the stretched axes before the added ones": (
        lambda: check_function_gradients(MulUnbroadcastStretchedFirst, GRID[0, :, :1], GRID),
        "the stretched axes were looked up before the added ones were summed",
    ),
    "unbroadcast reshapes the stretched axes": (
        lambda: check_unbroadcast(unbroadcast_by_reshape, GRID, (3, 1)),
        "a reshape cannot undo broadcasting",
    ),
    "Mul's unbroadcast reshapes the stretched axes": (
        lambda: check_function_gradients(MulUnbroadcastByReshape, X, X[:1]),
        "a reshape cannot undo broadcasting",
    ),
    "Matmul's dL/da without the transpose of b": (
        lambda: check_function_gradients(
            MatmulGradAWithoutTranspose, GRID[:, :3, :3], GRID[0, :3, :3]
        ),
        "backward computes dL/da as grad @ b, but it is grad @ bᵀ",
    ),
    "Mul's dL/da with grad added": (
        lambda: check_function_gradients(MulPlusGrad, X, X[0] + 1),
        "the gradient of 'a' is the true one plus grad itself",
    ),
    "unbroadcast averages": (
        lambda: check_unbroadcast(averaging_unbroadcast, X, (3,)),
        "don't average",
    ),
    "unbroadcast keeps one copy": (
        lambda: check_unbroadcast(first_copy_unbroadcast, X, (1, 3)),
        "so they must add up to grad.sum()",
    ),
    "unbroadcast sums the wrong axis": (
        lambda: check_unbroadcast(wrong_axis_unbroadcast, np.arange(9.0).reshape(3, 3), (1, 3)),
        "is not the adjoint of broadcasting",
    ),
}


@pytest.mark.parametrize("mistake", CHECKER_CATALOG)
def test_the_checks_catch_each_mistake_with_its_hint(mistake):
    check, hint = CHECKER_CATALOG[mistake]
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check()


# ---------------------------------------------------------------------------
# check_second_derivatives


@pytest.mark.ex14
@pytest.mark.parametrize("function", [ag.Sin, ag.Cos, ag.Softplus, ag.Exp, ag.Tanh, ag.Sigmoid])
@given(x=pst.arrays(pst.shapes(max_dims=3, max_side=4), scale=MODERATE))
def test_second_derivatives_of_pancake_operations_pass(function, x):
    assert "match central differences" in check_second_derivatives(function, x)


class SinSavingItsSlope(ag.Function):
    """sin, whose forward saves the derived array cos(x): a constant under create_graph."""

    def forward(self, x):
        self.save_for_backward(np.cos(x))
        return np.sin(x)

    def backward(self, grad):
        (slope,) = self.saved_tensors
        return grad * slope


class SinWithNumpyCos(ag.Function):
    """sin whose backward calls np.cos: right on arrays, a TypeError on Tensors."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.sin(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * np.cos(x)


@pytest.mark.ex14
def test_a_backward_that_treats_a_derived_array_as_constant_fails_with_a_hint():
    x = np.linspace(-2, 2, 5)
    check_function_gradients(SinSavingItsSlope, x)  # first derivatives are right
    with pytest.raises(GradientCheckError, match="not from an array derived in forward"):
        check_second_derivatives(SinSavingItsSlope, x)


@pytest.mark.ex14
def test_a_backward_calling_a_numpy_ufunc_fails_with_a_hint():
    x = np.linspace(-2, 2, 5)
    check_function_gradients(SinWithNumpyCos, x)
    with pytest.raises(GradientCheckError, match="use pancake's functions"):
        check_second_derivatives(SinWithNumpyCos, x)


LEARNER_CELL = """
import numpy as np
from pancake.autograd.functions import Function


def unbroadcast(grad, shape):
    if grad.shape == shape:
        return grad
    added_axes = tuple(range(grad.ndim - len(shape)))
    grad = grad.sum(axis=added_axes, keepdims=True)  # the added axes kept
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True)


class Mul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, grad):
        a, b = self.saved_tensors
        return unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)
"""


def test_added_axes_summed_with_keepdims_are_named_and_blamed_in_the_functions_that_call_it():
    namespace = {"__name__": "learner"}  # as a notebook's cells: not pancake's module
    exec(compile(LEARNER_CELL, "<cell>", "exec"), namespace)
    kept = "the added leading axes are summed with keepdims=True"
    with pytest.raises(AssertionError, match=re.escape(kept)):
        check_unbroadcast(namespace["unbroadcast"], np.ones((1,)), ())  # hypothesis's shrunk case
    with pytest.raises(GradientCheckError) as failure:
        check_function_gradients(namespace["Mul"], np.ones(3), np.float64(2.0))
    assert "backward calls your unbroadcast, which fails its own check" in failure.value.hint
    assert kept in failure.value.hint
    # pancake's own Mul, with pancake's own unbroadcast, is not blamed
    check_function_gradients(ag.functions.Mul, np.ones(3), np.float64(2.0))


class MatmulTransposedAsInPyTorch(ag.functions.Matmul):
    def backward(self, grad):
        a, b = self.saved_tensors
        return grad @ b.transpose(-1, -2), a.transpose(-1, -2) @ grad


def test_a_pytorch_style_transpose_of_two_axes_is_named():
    with pytest.raises(GradientCheckError, match=re.escape("not two axes to swap as PyTorch's")):
        check_function_gradients(MatmulTransposedAsInPyTorch, np.ones((2, 3, 4)), np.ones((4, 5)))
