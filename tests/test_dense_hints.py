"""ex11's Dense checks: the shapes a Dense gives its initializers, watched by spies, and a
draw rescaled, are named; the reference gets no hint."""

from __future__ import annotations

import numpy as np
import pytest

from pancake import init
from pancake.stax import small_normal

pytestmark = pytest.mark.ex11


def dense_slicing_the_input_shape(out_dim, W_init=init.glorot_normal, b_init=small_normal):
    def init_fun(rng, input_shape):
        in_dim = input_shape[-1:]
        W = W_init((in_dim, out_dim), rng=rng)
        return (*input_shape[:-1], out_dim), (W, b_init((out_dim,), rng=rng))

    def apply_fun(params, inputs):
        W, b = params
        return inputs @ W + b

    return init_fun, apply_fun


def dense_rescaling_its_draw(out_dim, W_init=init.glorot_normal, b_init=small_normal):
    def init_fun(rng, input_shape):
        W = W_init((input_shape[-1], out_dim), rng=rng) * np.sqrt(2 / input_shape[-1])
        return (*input_shape[:-1], out_dim), (W, b_init((out_dim,), rng=rng))

    def apply_fun(params, inputs):
        W, b = params
        return inputs @ W + b

    return init_fun, apply_fun


def test_a_shape_entry_that_is_a_tuple_is_named(monkeypatch):
    from pancake.course.assignments import ex11_stax

    assert ex11_stax.initializer_hint(4, 3) == ""
    assert ex11_stax.initializer_hint() == ""
    ex11_stax.check_dense(4, 3, (-1, 4), seed=0)
    monkeypatch.setattr(ex11_stax, "Dense", dense_slicing_the_input_shape)
    assert "init_fun gives W_init the shape ((4,), 3) where (in_dim, out_dim) = (4, 3)" in (
        ex11_stax.initializer_hint(4, 3)
    )
    with pytest.raises(
        AssertionError, match=r"the shape \(\(5,\), 3\) .* its entry \(5,\) is not a number"
    ):
        ex11_stax.check_dense(5, 2, (-1, 5), seed=0)


def test_a_rescaled_draw_is_named(monkeypatch):
    from pancake.course.assignments import ex11_stax

    ex11_stax.check_dense_initializers(8, 3)
    monkeypatch.setattr(ex11_stax, "Dense", dense_rescaling_its_draw)
    with pytest.raises(
        AssertionError,
        match=r"W is its initializer's draw times 0\.5, √\(2/in_dim\) with in_dim = 8",
    ):
        ex11_stax.check_dense_initializers(8, 3)
    assert ex11_stax._rescaled(np.full((2, 2), 2.0), 2.0, "W", 8) == ""
    assert ex11_stax._rescaled(np.array([1.0, 2.0]), 2.0, "W", 8) == ""  # no one factor


def dense_with_the_shape_as_two_arguments(out_dim, W_init=init.glorot_normal, b_init=small_normal):
    def init_fun(rng, input_shape):
        W = W_init(input_shape[-1], out_dim, rng=rng)
        return (*input_shape[:-1], out_dim), (W, b_init((out_dim,), rng=rng))

    return init_fun, lambda params, inputs: inputs @ params[0] + params[1]


def test_a_shape_given_as_two_arguments_is_named(monkeypatch):
    from pancake.course.assignments import ex11_stax

    monkeypatch.setattr(ex11_stax, "Dense", dense_with_the_shape_as_two_arguments)
    assert "init_fun calls W_init with 2 positional arguments, 5, 3: the shape is one tuple" in (
        ex11_stax.initializer_hint()
    )


def test_a_draw_from_the_other_initializer_is_not_called_a_rescale():
    from pancake.course.assignments import ex11_stax

    assert ex11_stax._rescaled(np.full(3, 2.0), 3.0, "b", 4) == ""
