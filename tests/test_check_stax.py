"""pancake.testing.stax: check_stax_layer and check_serial pass pancake's own Dense and
serial for any sizes (wider than the graded tests), and catch the mistakes that the
seeded notebooks do not make, with a hint."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pancake import init, stax
from pancake.testing import check_serial, check_stax_layer
from pancake.testing import strategies as pst

pytestmark = pytest.mark.ex11


@given(
    leading=pst.shapes(min_dims=0, max_dims=3, max_side=3),
    n_in=pst.feature_sizes(),
    n_out=pst.feature_sizes(),
    seed=pst.seeds(),
)
def test_the_reference_dense_passes_its_check(leading, n_in, n_out, seed):
    check_stax_layer(
        stax.Dense(n_out),
        (-1, *leading, n_in),
        param_shapes=((n_in, n_out), (n_out,)),
        expected=lambda params, x: x @ params[0] + params[1],
        seed=seed,
    )


@given(
    widths=st.lists(pst.feature_sizes(max_size=5), min_size=0, max_size=4),
    n_in=pst.feature_sizes(max_size=5),
    seed=pst.seeds(),
)
def test_the_reference_serial_passes_its_check(widths, n_in, seed):
    # Smooth activations: Elu's second derivative jumps at 0, and a hidden pre-activation
    # within a step of 0 made the differences miss a correct gradient by 2e-6 (relative).
    layers = [layer for width in widths for layer in (stax.Dense(width), stax.Sigmoid)]
    check_serial(
        stax.serial, [stax.serial(*layers), stax.Dense(2), stax.Tanh], (-1, n_in), seed=seed
    )


# -- ... and catches the mistakes that the seeded notebooks do not make, with a hint ------


def dense_with_np_dot():
    init_fun, _ = stax.Dense(2)
    return init_fun, lambda params, inputs: np.dot(inputs, params[0]) + params[1]


def serial_with_a_generator_per_layer(*layers):
    """A serial whose init_fun gives every layer a new generator, from the same seed."""

    def init_fun(rng, shape):
        params = []
        for layer_init, _ in layers:
            shape, layer_params = layer_init(np.random.default_rng(0), shape)
            params.append(layer_params)
        return shape, params

    return init_fun, stax.serial(*layers)[1]


def serial_unpacking_the_pair_reversed(*layers):
    """A serial whose init_fun unpacks each layer's (output_shape, params) the other way."""

    def init_fun(rng, shape):
        params = []
        for layer_init, _ in layers:
            layer_params, shape = layer_init(rng, shape)
            params.append(layer_params)
        return shape, params

    return init_fun, stax.serial(*layers)[1]


def serial_with_flat_params(*layers):
    """A serial whose init_fun extends one list with every layer's params."""

    def init_fun(rng, shape):
        params = []
        for layer_init, _ in layers:
            shape, layer_params = layer_init(rng, shape)
            params.extend(layer_params)
        return shape, params

    return init_fun, stax.serial(*layers)[1]


def serial_with_params_last_first(*layers):
    init_fun, apply_fun = stax.serial(*layers)

    def reversed_init_fun(rng, shape):
        shape, params = init_fun(rng, shape)
        return shape, params[::-1]

    return reversed_init_fun, lambda params, x: apply_fun(params[::-1], x)


def dense_keeping_only_the_first_axis(out_dim):
    """Dense announcing (input_shape[0], out_dim): the middle axes dropped from the shape."""
    init_fun, apply_fun = stax.Dense(out_dim)

    def init_dropping_axes(rng, input_shape):
        _, params = init_fun(rng, input_shape)
        return (input_shape[0], out_dim), params

    return init_dropping_axes, apply_fun


def serial_calling_apply_with_inputs_first(*layers):
    """A serial whose apply_fun calls each layer's apply_fun as (inputs, params)."""
    init_fun, _ = stax.serial(*layers)

    def apply_fun(params, inputs, **kwargs):
        for (_, layer_apply), layer_params in zip(layers, params, strict=True):
            inputs = layer_apply(inputs, layer_params, **kwargs)
        return inputs

    return init_fun, apply_fun


def serial_skipping_the_last_layer(*layers):
    init_fun, _ = stax.serial(*layers)
    return init_fun, lambda params, x: stax.serial(*layers[:-1])[1](params[:-1], x)


def dense_sized_by_the_batch_axis(out_dim):
    """Dense whose W has input_shape[0] rows (the batch, -1 or a size) instead of [-1]."""
    _, apply_fun = stax.Dense(out_dim)

    def init_fun(rng, input_shape):
        W = init.glorot_normal((input_shape[0], out_dim), rng=rng)
        return (*input_shape[:-1], out_dim), (W, np.zeros(out_dim))

    return init_fun, apply_fun


def dense_returning_params_first(out_dim):
    """Dense whose init_fun returns (params, output_shape), the pair swapped."""
    init_fun, apply_fun = stax.Dense(out_dim)

    def swapped_init_fun(rng, input_shape):
        output_shape, params = init_fun(rng, input_shape)
        return params, output_shape

    return swapped_init_fun, apply_fun


def dense_as_in_the_math(out_dim):
    """Dense whose apply_fun computes W @ inputs + b, the math's Wx."""
    init_fun, _ = stax.Dense(out_dim)
    return init_fun, lambda params, inputs: params[0] @ inputs + params[1]


def dense_with_a_bias_per_input(out_dim):
    """Dense whose b has in_dim entries (W's first axis copied) instead of out_dim."""
    _, apply_fun = stax.Dense(out_dim)

    def init_fun(rng, input_shape):
        W = init.glorot_normal((input_shape[-1], out_dim), rng=rng)
        return (*input_shape[:-1], out_dim), (W, np.zeros(input_shape[-1]))

    return init_fun, apply_fun


def dense_unpacking_b_w(out_dim):
    """Dense whose apply_fun unpacks params as b, W: the other order than init_fun's."""
    init_fun, _ = stax.Dense(out_dim)

    def apply_fun(params, inputs, **kwargs):
        b, W = params
        return inputs @ W + b

    return init_fun, apply_fun


def dense_with_weights_of_its_own(out_dim):
    """Dense whose apply_fun uses the W and b its init_fun made last, not the params given."""
    kept = {}

    def init_fun(rng, input_shape):
        kept["W"] = init.glorot_normal((input_shape[-1], out_dim), rng=rng)
        kept["b"] = np.zeros(out_dim)
        return (*input_shape[:-1], out_dim), (kept["W"], kept["b"])

    return init_fun, lambda params, inputs: inputs @ kept["W"] + kept["b"]


def dense_without_its_bias(out_dim):
    """Dense whose apply_fun adds the b its init_fun made (zeros), not params[1]."""
    init_fun, _ = stax.Dense(out_dim)
    return init_fun, lambda params, inputs: inputs @ params[0] + np.zeros(out_dim)


def serial_applying_params_reversed(*layers):
    """A serial whose apply_fun pairs the layers with the params last layer first."""
    init_fun, _ = stax.serial(*layers)

    def apply_fun(params, inputs, **kwargs):
        for (_, layer_apply), layer_params in zip(layers, reversed(params), strict=True):
            inputs = layer_apply(layer_params, inputs, **kwargs)
        return inputs

    return init_fun, apply_fun


def serial_returning_inside_the_loop(*layers):
    """A serial whose apply_fun returns right after the first layer."""
    init_fun, _ = stax.serial(*layers)

    def apply_fun(params, inputs, **kwargs):
        for (_, layer_apply), layer_params in zip(layers, params, strict=True):
            inputs = layer_apply(layer_params, inputs, **kwargs)
            return inputs

    return init_fun, apply_fun


def dense_with_a_dict_of_params(out_dim):
    """Dense whose params are {"W": W, "b": b} (the Flax/Haiku habit)."""
    init_fun, _ = stax.Dense(out_dim)

    def dict_init_fun(rng, input_shape):
        output_shape, (W, b) = init_fun(rng, input_shape)
        return output_shape, {"W": W, "b": b}

    return dict_init_fun, lambda params, inputs: inputs @ params["W"] + params["b"]


CHECKER_CATALOG = {
    "params as a dict": (
        lambda: check_stax_layer(
            dense_with_a_dict_of_params(2), (-1, 3), param_shapes=((3, 2), (2,))
        ),
        "params is a dict (the Flax/Haiku habit)",
    ),
    "apply_fun returns inside its loop": (
        lambda: check_serial(
            serial_returning_inside_the_loop, [stax.Dense(3), stax.Tanh, stax.Dense(2)], (-1, 3)
        ),
        "apply_fun stops after layer 0, the layers after it never run",
    ),
    "apply_fun pairs the layers with reversed params (a crash)": (
        lambda: check_serial(serial_applying_params_reversed, [stax.Dense(3), stax.Tanh], (-1, 3)),
        "the apply_fun of layer 0 got params[1], the params of layer 1",
    ),
    "apply_fun pairs the layers with reversed params (no crash)": (
        lambda: check_serial(
            serial_applying_params_reversed, [stax.Dense(3), stax.Dense(3)], (-1, 3)
        ),
        "the apply_fun of layer 0 got params[1], the params of layer 1",
    ),
    "apply_fun uses W and b from init_fun's closure": (
        lambda: check_stax_layer(dense_with_weights_of_its_own(2), (-1, 3)),
        "same output with other values in the params (each entry doubled plus 1): it does "
        "not use the params",
    ),
    "apply_fun ignores params[1]": (
        lambda: check_stax_layer(dense_without_its_bias(2), (-1, 3)),
        "it does not use params[1]",
    ),
    "params extended, not appended (as many as the layers)": (
        lambda: check_serial(serial_with_flat_params, [stax.Dense(3), stax.Tanh], (-1, 3)),
        "the layers' params are in one flat list",
    ),
    "params extended, not appended": (
        lambda: check_serial(serial_with_flat_params, [stax.Dense(3), stax.Dense(2)], (-1, 3)),
        "the layers' params are in one flat list",
    ),
    "each layer's pair unpacked as (params, output_shape)": (
        lambda: check_serial(
            serial_unpacking_the_pair_reversed, [stax.Dense(1), stax.Tanh], (-1, 1)
        ),
        "params holds a layer's output shape where its params belong",
    ),
    "apply_fun unpacks b, W (matmul error)": (
        lambda: check_stax_layer(dense_unpacking_b_w(2), (-1, 3)),
        "gives the announced output shape when given the params in the other order",
    ),
    "apply_fun unpacks b, W (another shape)": (
        lambda: check_stax_layer(dense_unpacking_b_w(1), (-1, 1)),
        "unpack params in the order init_fun returns them (W, b = params)",
    ),
    "params collected last layer first": (
        lambda: check_serial(
            serial_with_params_last_first, [stax.Dense(3), stax.Dense(2)], (-1, 3)
        ),
        "the layers' params, last layer first",
    ),
    "output shape (input_shape[0], out_dim), where reversed params fit the shape": (
        lambda: check_stax_layer(dense_keeping_only_the_first_axis(3), (-1, 3, 3)),
        "the axes the layer does not change stay as they are",
    ),
    "each layer's apply_fun called as (inputs, params)": (
        lambda: check_serial(
            serial_calling_apply_with_inputs_first, [stax.Dense(3), stax.Tanh], (-1, 3)
        ),
        "the apply_fun of layer 0 was called with (inputs, params)",
    ),
    "apply_fun skips the last layer": (
        lambda: check_serial(serial_skipping_the_last_layer, [stax.Dense(3), stax.Tanh], (-1, 3)),
        "called the apply_fun of layer 1 0 times",
    ),
    "W sized by input_shape[0], a -1": (
        lambda: check_stax_layer(dense_sized_by_the_batch_axis(2), (-1, 3)),
        "read in_dim off the last axis, input_shape[-1]",
    ),
    "W sized by input_shape[0], a size": (
        lambda: check_stax_layer(
            dense_sized_by_the_batch_axis(2), (4, 3), param_shapes=((3, 2), (2,))
        ),
        "read in_dim off the last axis, input_shape[-1]",
    ),
    "apply_fun with np.dot": (
        lambda: check_stax_layer(dense_with_np_dot(), (-1, 3)),
        "must also run on pancake.autograd Tensors",
    ),
    "init_fun returns (params, output_shape)": (
        lambda: check_stax_layer(
            dense_returning_params_first(2), (-1, 3), param_shapes=((3, 2), (2,))
        ),
        "return (output_shape, params), the output shape first",
    ),
    "b of shape (in_dim,)": (
        lambda: check_stax_layer(
            dense_with_a_bias_per_input(2), (-1, 3), param_shapes=((3, 2), (2,))
        ),
        "params[1] has the input's size, input_shape[-1] = 3, where the output's size belongs",
    ),
    "apply_fun computes W @ inputs": (
        lambda: check_stax_layer(dense_as_in_the_math(2), (-1, 3)),
        "multiply them on the left, inputs @ W",
    ),
    "two layers get the same parameters": (
        lambda: check_serial(serial_with_a_generator_per_layer, [stax.Dense(3)] * 2, (-1, 3)),
        "got the same parameters",
    ),
}


@pytest.mark.parametrize("mistake", CHECKER_CATALOG)
def test_the_checks_catch_each_mistake_with_its_hint(mistake):
    check, hint = CHECKER_CATALOG[mistake]
    with pytest.raises(AssertionError, match=re.escape(hint)):
        check()
