"""pancake.stax: stax-style layers, shape inference, and gradients of parameter trees."""

from __future__ import annotations

import numpy as np
import pytest
from answer_cells import answer_cell
from hypothesis import given, settings
from hypothesis import strategies as st

import pancake.autograd as ag
from pancake.nn import log_softmax, sigmoid
from pancake.stax import (
    Dense,
    Elu,
    FanInConcat,
    FanInSum,
    FanOut,
    Identity,
    LogSoftmax,
    Relu,
    Sigmoid,
    Tanh,
    grad,
    parallel,
    serial,
    tree_map,
    value_and_grad,
)
from pancake.testing import numerical_gradient
from pancake.testing import strategies as pst

pytestmark = pytest.mark.ex11

MODEST = settings(max_examples=15, deadline=None)


def shapes_of(params):
    """The params tree with every array replaced by its shape."""
    return tree_map(np.shape, params)


# ---------------------------------------------------------------------------
# shape inference


def test_the_serial_example_infers_every_shape():
    init_fun, apply_fun = serial(Dense(20), Elu, Dense(1), Tanh)
    output_shape, params = init_fun(np.random.default_rng(0), (-1, 41))
    assert output_shape == (-1, 1)
    assert shapes_of(params) == [((41, 20), (20,)), (), ((20, 1), (1,)), ()]
    outputs = apply_fun(params, np.ones((7, 41)))
    assert isinstance(outputs, np.ndarray) and outputs.shape == (7, 1)


@MODEST
@given(
    leading=st.lists(st.integers(1, 3), max_size=2).map(tuple),
    in_dim=pst.feature_sizes(),
    out_dim=pst.feature_sizes(),
    seed=pst.seeds(),
)
def test_dense_works_on_any_leading_axes(leading, in_dim, out_dim, seed):
    init_fun, apply_fun = Dense(out_dim)
    output_shape, (W, b) = init_fun(np.random.default_rng(seed), (*leading, in_dim))
    assert output_shape == (*leading, out_dim)
    assert W.shape == (in_dim, out_dim) and b.shape == (out_dim,)
    x = np.random.default_rng(seed).standard_normal((*leading, in_dim))
    np.testing.assert_allclose(apply_fun((W, b), x), x @ W + b)


def test_dense_uses_the_given_initializers():
    init_fun, _ = Dense(
        3, W_init=lambda shape, rng: np.ones(shape), b_init=lambda shape, rng: np.full(shape, 2.0)
    )
    _, (W, b) = init_fun(np.random.default_rng(0), (-1, 2))
    np.testing.assert_array_equal(W, np.ones((2, 3)))
    np.testing.assert_array_equal(b, [2.0, 2.0, 2.0])


def test_the_same_seed_gives_the_same_parameters():
    init_fun, _ = serial(Dense(4), Relu, Dense(2))
    _, first = init_fun(np.random.default_rng(3), (-1, 5))
    _, second = init_fun(np.random.default_rng(3), (-1, 5))
    _, other = init_fun(np.random.default_rng(4), (-1, 5))
    np.testing.assert_array_equal(first[0][0], second[0][0])
    assert not np.array_equal(first[0][0], other[0][0])


def test_layers_of_one_shape_get_different_parameters():
    init_fun, _ = serial(Dense(3), Dense(3))
    _, ((W1, _), (W2, _)) = init_fun(np.random.default_rng(0), (-1, 3))
    assert not np.array_equal(W1, W2)


@pytest.mark.parametrize(
    ("layer", "reference"),
    [
        (Relu, lambda x: np.maximum(x, 0)),
        (Tanh, np.tanh),
        (Sigmoid, sigmoid),
        (Elu, lambda x: np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1)),
        (LogSoftmax, log_softmax),
        (Identity, lambda x: x),
    ],
    ids=["Relu", "Tanh", "Sigmoid", "Elu", "LogSoftmax", "Identity"],
)
def test_layers_without_parameters_keep_the_shape(layer, reference):
    init_fun, apply_fun = layer
    output_shape, params = init_fun(np.random.default_rng(0), (-1, 3, 4))
    assert output_shape == (-1, 3, 4) and params == ()
    x = np.random.default_rng(0).standard_normal((2, 3, 4)) * 3
    np.testing.assert_allclose(apply_fun(params, x), reference(x), rtol=1e-12, atol=1e-15)
    on_tensor = apply_fun(params, ag.Tensor(x))
    assert isinstance(on_tensor, ag.Tensor)
    np.testing.assert_allclose(on_tensor.data, reference(x), rtol=1e-12, atol=1e-15)


def test_parallel_with_fan_out_and_fan_in():
    residual = serial(FanOut(2), parallel(Dense(4), Identity), FanInSum)
    widened = serial(FanOut(2), parallel(Dense(3), Identity), FanInConcat())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))

    init_fun, apply_fun = residual
    shape, params = init_fun(rng, (-1, 4))
    (W, b), _ = params[1]
    assert shape == (-1, 4)
    np.testing.assert_allclose(apply_fun(params, x), x @ W + b + x)

    init_fun, apply_fun = widened
    shape, params = init_fun(rng, (-1, 4))
    (W, b), _ = params[1]
    assert shape == (-1, 7)
    np.testing.assert_allclose(apply_fun(params, x), np.concatenate([x @ W + b, x], axis=1))


def test_parallel_and_fan_in_errors_name_the_problem():
    init_fun, _ = parallel(Dense(2), Dense(2))
    with pytest.raises(ValueError, match="parallel has 2 layers but was given 1 inputs"):
        init_fun(np.random.default_rng(0), [(-1, 3)])
    with pytest.raises(ValueError, match="FanInSum needs inputs of one shape"):
        FanInSum[0](np.random.default_rng(0), [(-1, 3), (-1, 4)])


# ---------------------------------------------------------------------------
# gradients of parameter trees


def mse_loss(apply_fun):
    def loss(params, x, y):
        return ((apply_fun(params, x) - y) ** 2).mean()

    return loss


@MODEST
@given(batch=pst.batch_sizes(), in_dim=st.integers(1, 4), seed=pst.seeds())
def test_grad_equals_central_differences_for_every_parameter(batch, in_dim, seed):
    init_fun, apply_fun = serial(Dense(3), Elu, Dense(2), Tanh, Dense(1))
    rng = np.random.default_rng(seed)
    _, params = init_fun(rng, (-1, in_dim))
    x, y = rng.standard_normal((batch, in_dim)), rng.standard_normal((batch, 1))
    loss = mse_loss(apply_fun)

    grads = grad(loss)(params, x, y)
    assert shapes_of(grads) == shapes_of(params)
    for layer_index in (0, 2, 4):
        for leaf in (0, 1):

            def loss_of_leaf(values, layer_index=layer_index, leaf=leaf):
                moved = tree_map(np.copy, params)
                layer = list(moved[layer_index])
                layer[leaf] = values
                moved[layer_index] = tuple(layer)
                return float(loss(moved, x, y).item())

            numeric = numerical_gradient(loss_of_leaf, params[layer_index][leaf])
            np.testing.assert_allclose(grads[layer_index][leaf], numeric, rtol=1e-5, atol=1e-8)


def test_value_and_grad_returns_the_loss_too():
    init_fun, apply_fun = serial(Dense(2), LogSoftmax)
    _, params = init_fun(np.random.default_rng(0), (-1, 3))
    x = np.ones((4, 3))

    def loss(p, x):
        return -apply_fun(p, x)[:, 0].mean()

    value, grads = value_and_grad(loss)(params, x)
    assert value == pytest.approx(float(-apply_fun(params, x)[:, 0].mean()))
    assert shapes_of(grads) == shapes_of(params)


def test_grad_of_a_parameter_the_loss_ignores_is_zero():
    params = {"used": np.ones(2), "unused": np.ones(3)}
    grads = grad(lambda p: (p["used"] * 3.0).sum())(params)
    np.testing.assert_array_equal(grads["used"], [3.0, 3.0])
    np.testing.assert_array_equal(grads["unused"], np.zeros(3))


def test_grad_needs_a_scalar():
    with pytest.raises(ValueError, match=r"scalar Tensor.*shape \(2,\)"):
        grad(lambda p: p * 2)(np.ones(2))


def test_tree_map_walks_several_trees_alike():
    params = [(np.ones(2), np.zeros(1)), ()]
    grads = [(np.full(2, 2.0), np.ones(1)), ()]
    stepped = tree_map(lambda p, g: p - 0.5 * g, params, grads)
    np.testing.assert_array_equal(stepped[0][0], [0.0, 0.0])
    np.testing.assert_array_equal(stepped[0][1], [-0.5])
    assert stepped[1] == ()


def test_a_stax_classifier_learns_two_blobs():
    rng = np.random.default_rng(0)
    centers = np.array([[-2.0, 0.0], [2.0, 0.0]])
    labels = rng.integers(0, 2, size=200)
    x = centers[labels] + rng.standard_normal((200, 2))
    init_fun, apply_fun = serial(Dense(8), Relu, Dense(2), LogSoftmax)
    _, params = init_fun(rng, (-1, 2))

    def loss(p, x, labels):
        return -apply_fun(p, x)[np.arange(len(labels)), labels].mean()

    first = float(loss(params, x, labels))
    for _ in range(100):
        params = tree_map(lambda p, g: p - 0.2 * g, params, grad(loss)(params, x, labels))
    accuracy = np.mean(apply_fun(params, x).argmax(axis=1) == labels)
    assert float(loss(params, x, labels)) < first / 2
    assert accuracy >= 0.95


# ---------------------------------------------------------------------------
# the exercise contract: Dense and serial run on their own in a notebook cell

ANSWER_IMPORTS = (
    "import numpy as np\n"
    "from pancake import init\n"
    "from pancake.stax import Layer, Params, Shape, small_normal\n"
)


def test_dense_and_serial_work_as_standalone_answer_cells():
    dense, serial_ = answer_cell(Dense, ANSWER_IMPORTS), answer_cell(serial, ANSWER_IMPORTS)
    init_fun, apply_fun = serial_(dense(20), Elu, dense(1), Tanh)
    output_shape, params = init_fun(np.random.default_rng(0), (-1, 41))
    assert output_shape == (-1, 1)
    assert shapes_of(params) == [((41, 20), (20,)), (), ((20, 1), (1,)), ()]
    assert apply_fun(params, np.ones((3, 41))).shape == (3, 1)


@pytest.mark.parametrize("obj", [Dense, serial])
def test_released_dense_and_serial_raise_not_implemented(obj):
    released = answer_cell(obj, ANSWER_IMPORTS, released=True)
    layer = released(2) if obj is Dense else released(Dense(2))
    with pytest.raises(NotImplementedError):
        layer[0](np.random.default_rng(0), (-1, 3))
    with pytest.raises(NotImplementedError):
        layer[1]([(np.ones((3, 2)), np.ones(2))], np.ones((1, 3)))
