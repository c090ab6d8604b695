"""Layers as pairs of functions, in the style of JAX's stax: no objects, no hidden state.

A layer is a pair ``(init_fun, apply_fun)``:

- ``init_fun(rng, input_shape) -> (output_shape, params)`` draws the parameters, inferring
  every shape from the input's (``rng`` is a ``np.random.Generator``; a batch axis may be -1);
- ``apply_fun(params, inputs) -> outputs`` computes the layer.

``params`` are arrays nested in tuples and lists (a "tree"), one entry per layer.
``apply_fun`` runs on NumPy arrays, and on ``pancake.autograd`` Tensors, which is how
``grad(loss)(params, ...)`` differentiates a model::

    init_fun, apply_fun = serial(Dense(20), Elu, Dense(1), Tanh)
    output_shape, params = init_fun(np.random.default_rng(0), (-1, 41))  # (-1, 1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pancake import autograd as ag
from pancake import init

Shape = tuple[int, ...]
Params = Any  # arrays nested in tuples, lists and dicts
InitFun = Callable[[np.random.Generator, Any], tuple[Any, Params]]
ApplyFun = Callable[[Params, Any], Any]
Layer = tuple[InitFun, ApplyFun]


def small_normal(shape: Shape, *, rng: init.Seed = None, dtype=np.float64) -> np.ndarray:
    """N(0, 0.01²) entries of ``shape``: stax's default for biases."""
    return init.normal(shape, rng=rng, std=1e-2, dtype=dtype)


# -- layers with parameters ------------------------------------------------------------


def Dense(out_dim: int, W_init=init.glorot_normal, b_init=small_normal) -> Layer:
    """A fully connected layer y = x @ W + b: ``(*, in_dim) -> (*, out_dim)``.

    ``params = (W, b)`` with ``W`` of shape ``(in_dim, out_dim)`` and ``b`` of shape
    ``(out_dim,)``; ``in_dim`` is the last axis of the input shape given to ``init_fun``.
    ``W_init`` and ``b_init`` are called as ``W_init(shape, rng=rng)``.
    """

    def init_fun(rng: np.random.Generator, input_shape: Shape) -> tuple[Shape, Params]:
        ### BEGIN SOLUTION
        output_shape = tuple(input_shape[:-1]) + (out_dim,)
        W = W_init((input_shape[-1], out_dim), rng=rng)
        b = b_init((out_dim,), rng=rng)
        return output_shape, (W, b)
        ### END SOLUTION

    def apply_fun(params: Params, inputs):
        ### BEGIN SOLUTION
        W, b = params
        return inputs @ W + b
        ### END SOLUTION

    return init_fun, apply_fun


# -- layers without parameters ---------------------------------------------------------


def elementwise(fun: Callable) -> Layer:
    """A layer with no parameters that applies ``fun`` entry by entry: ``(*) -> (*)``."""

    def init_fun(rng: np.random.Generator, input_shape: Shape) -> tuple[Shape, Params]:
        return input_shape, ()

    def apply_fun(params: Params, inputs):
        return fun(inputs)

    return init_fun, apply_fun


def identity(x):
    """x itself."""
    return x


# Layers used as they are, without calling them: serial(Dense(20), Elu, Dense(1), Tanh).
Identity = elementwise(identity)
Relu = elementwise(ag.relu)
Tanh = elementwise(ag.tanh)
Sigmoid = elementwise(ag.sigmoid)
Elu = elementwise(ag.elu)
LogSoftmax = elementwise(ag.log_softmax)  # along the last axis


# -- combinators: layers made of layers ------------------------------------------------


def serial(*layers: Layer) -> Layer:
    """Layers applied one after the other; each one's output shape is the next one's input shape.

    ``params`` is a list holding each layer's params, in order.
    """
    init_funs, apply_funs = zip(*layers, strict=True) if layers else ((), ())

    def init_fun(rng: np.random.Generator, input_shape: Shape) -> tuple[Shape, Params]:
        rng = init.as_generator(rng)
        ### BEGIN SOLUTION
        params = []
        for layer_init in init_funs:
            input_shape, layer_params = layer_init(rng, input_shape)
            params.append(layer_params)
        return input_shape, params
        ### END SOLUTION

    def apply_fun(params: Params, inputs):
        ### BEGIN SOLUTION
        for layer_apply, layer_params in zip(apply_funs, params, strict=True):
            inputs = layer_apply(layer_params, inputs)
        return inputs
        ### END SOLUTION

    return init_fun, apply_fun


def parallel(*layers: Layer) -> Layer:
    """Layers side by side: a sequence of inputs (and input shapes), one per layer, in and out.

    ``params`` is a list holding each layer's params. Combine with ``FanOut`` (one input to
    many) and ``FanInSum`` or ``FanInConcat`` (many outputs to one).
    """
    init_funs, apply_funs = zip(*layers, strict=True) if layers else ((), ())

    def init_fun(rng: np.random.Generator, input_shapes: Sequence[Shape]):
        rng = init.as_generator(rng)
        check_branch_count("parallel", len(layers), len(input_shapes))
        shapes_and_params = [
            layer_init(rng, shape)
            for layer_init, shape in zip(init_funs, input_shapes, strict=True)
        ]
        return [shape for shape, _ in shapes_and_params], [p for _, p in shapes_and_params]

    def apply_fun(params: Params, inputs: Sequence):
        check_branch_count("parallel", len(layers), len(inputs))
        return [
            layer_apply(layer_params, x)
            for layer_apply, layer_params, x in zip(apply_funs, params, inputs, strict=True)
        ]

    return init_fun, apply_fun


def FanOut(num: int) -> Layer:
    """Copy the input ``num`` times: ``x -> [x, x, ...]``, to feed ``parallel``."""

    def init_fun(rng: np.random.Generator, input_shape: Shape):
        return [input_shape] * num, ()

    def apply_fun(params: Params, inputs):
        return [inputs] * num

    return init_fun, apply_fun


# FanInSum adds a list of inputs of one shape: ``[(*), (*), ...] -> (*)``.
def _fan_in_sum_init(rng: np.random.Generator, input_shapes: Sequence[Shape]):
    if any(tuple(shape) != tuple(input_shapes[0]) for shape in input_shapes):
        raise ValueError(f"FanInSum needs inputs of one shape, got shapes {list(input_shapes)}")
    return input_shapes[0], ()


def _fan_in_sum_apply(params: Params, inputs: Sequence):
    total = inputs[0]
    for x in inputs[1:]:
        total = total + x
    return total


FanInSum: Layer = (_fan_in_sum_init, _fan_in_sum_apply)


def FanInConcat(axis: int = -1) -> Layer:
    """Join a list of inputs along ``axis``: ``[(*, n1), (*, n2), ...] -> (*, n1 + n2 + ...)``."""

    def init_fun(rng: np.random.Generator, input_shapes: Sequence[Shape]):
        first = list(input_shapes[0])
        first[axis] = sum(shape[axis] for shape in input_shapes)
        return tuple(first), ()

    def apply_fun(params: Params, inputs: Sequence):
        return ag.concatenate(inputs, axis=axis)

    return init_fun, apply_fun


def check_branch_count(name: str, expected: int, got: int) -> None:
    """A clear error when a combinator gets as many inputs as it has branches."""
    if expected != got:
        raise ValueError(f"{name} has {expected} layers but was given {got} inputs")


# -- gradients of functions of parameter trees -------------------------------------------


def tree_map(f: Callable, tree, *rest):
    """Apply ``f`` to every leaf of ``tree`` (and the matching leaves of ``rest``), same nesting.

    Tuples, lists and dicts are branches; anything else (an array) is a leaf.
    ``tree_map(lambda p, g: p - 0.1 * g, params, grads)`` is a gradient-descent step.
    """
    if isinstance(tree, tuple | list):
        return type(tree)(tree_map(f, *branches) for branches in zip(tree, *rest, strict=True))
    if isinstance(tree, dict):
        return {key: tree_map(f, tree[key], *(other[key] for other in rest)) for key in tree}
    return f(tree, *rest)


def value_and_grad(fun: Callable, argnum: int = 0) -> Callable:
    """``value_and_grad(f)(params, *args) -> (f(params, *args), df/dparams)``, as in JAX.

    ``f`` returns a scalar; the gradient is a tree of arrays nested like ``params``
    (argument ``argnum``), computed by running ``f`` on Tensors and calling ``backward``.
    """

    def value_and_grad_fun(*args):
        leaves = tree_map(lambda array: ag.Tensor(array, requires_grad=True), args[argnum])
        value = fun(*args[:argnum], leaves, *args[argnum + 1 :])
        if not isinstance(value, ag.Tensor) or value.size != 1:
            raise ValueError(
                f"grad: the function must return a scalar Tensor computed from the parameters, "
                f"got {type(value).__name__} of shape {ag.shape_of(value)}"
            )
        if value.requires_grad:
            value.backward()
        grads = tree_map(lambda t: np.zeros_like(t.data) if t.grad is None else t.grad, leaves)
        return value.item(), grads

    return value_and_grad_fun


def grad(fun: Callable, argnum: int = 0) -> Callable:
    """``grad(f)(params, *args)``: the gradient of the scalar ``f`` w.r.t. ``params``, nested alike."""
    value_and_grad_fun = value_and_grad(fun, argnum)

    def grad_fun(*args):
        return value_and_grad_fun(*args)[1]

    return grad_fun
