"""Parameter gradients from part of the batch: named by central differences of the module's
own forward pass for a grad_output kept at one example, or by the error of rows.T @ an
unflattened grad_output reproduced on the same arrays; and never on the reference."""

from __future__ import annotations

import numpy as np
import pytest

from pancake.nn import Linear
from pancake.nn.normalization import BatchNorm, standardize
from pancake.testing import GradientCheckError, check_gradients

pytestmark = pytest.mark.ex03


class LinearRows(Linear):
    """Linear's reference backward, with the parameter gradients of ``grads(rows, grad_rows)``."""

    def grads(self, rows, grad_rows):
        return rows.T @ grad_rows, grad_rows.sum(axis=0)

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        rows = x.reshape(-1, self.in_features)
        grad_rows = grad_output.reshape(-1, self.out_features)
        weight, bias = self.grads(rows, grad_rows)
        self.weight.grad += weight
        self.bias.grad += bias
        return grad_output @ self.weight.data.T


class BiasFromTheFirstRow(LinearRows):
    def grads(self, rows, grad_rows):
        return rows.T @ grad_rows, grad_rows[0]


class BiasFromTheLastRow(LinearRows):
    def grads(self, rows, grad_rows):
        return rows.T @ grad_rows, grad_rows[-1]


class WeightFromTheFirstRow(LinearRows):
    def grads(self, rows, grad_rows):
        return np.outer(rows[0], grad_rows[0]), grad_rows.sum(axis=0)


class BiasFromTheFirstExample(Linear):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad += x.reshape(-1, self.in_features).T @ grad_output.reshape(
            -1, self.out_features
        )
        self.bias.grad += grad_output[0].reshape(-1, self.out_features).sum(axis=0)
        return grad_output @ self.weight.data.T


class WeightOfUnflattenedGradOutput(Linear):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        rows = x.reshape(-1, self.in_features)
        self.weight.grad += rows.T @ grad_output
        self.bias.grad += grad_output.reshape(-1, self.out_features).sum(axis=0)
        return grad_output @ self.weight.data.T


def hint_of(module, x) -> str:
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(module, x)
    return failure.value.hint or ""


X2 = np.random.default_rng(0).standard_normal((4, 3))
X3 = np.random.default_rng(1).standard_normal((2, 3, 3))


@pytest.mark.parametrize(
    "layer, x, named",
    [
        (BiasFromTheFirstRow(3, 2, rng=0), X2, "share of the first example of the batch only"),
        (BiasFromTheLastRow(3, 2, rng=0), X2, "share of the last example of the batch only"),
        (WeightFromTheFirstRow(3, 2, rng=0), X2, "gradient of 'weight' is the share of the first"),
        (BiasFromTheFirstRow(3, 2, rng=0), X3, "share of the first row of the batch only"),
        (BiasFromTheLastRow(3, 2, rng=0), X3, "share of the last row of the batch only"),
        (BiasFromTheFirstExample(3, 2, rng=0), X3, "share of the first example"),
    ],
    ids=["bias-first", "bias-last", "weight-first", "bias-first-row", "bias-last-row", "first-3d"],
)
def test_a_parameter_gradient_from_one_example_is_named(layer, x, named):
    hint = hint_of(layer, x)
    assert named in hint
    assert "sum over the batch axis" in hint


@pytest.mark.parametrize(
    "x, named",
    [
        (np.random.default_rng(2).standard_normal((1, 1, 1)), "rows.T @ grad_output or x.T @"),
        (np.random.default_rng(3).standard_normal((2, 3, 1)), "fails as rows.T @ grad_output does"),
    ],
    ids=["one-row", "six-rows"],
)
def test_a_weight_gradient_of_an_unflattened_grad_output_is_named(x, named):
    hint = hint_of(WeightOfUnflattenedGradOutput(1, 3, rng=0), x)
    assert named in hint
    assert "grad_output.reshape(-1, out_features)" in hint


@pytest.mark.parametrize("x", [X2, X3, np.ones((1, 3))], ids=["2d", "3d", "one-row"])
def test_the_reference_linear_gets_no_batch_hint(x):
    from pancake.testing.batch_hints import part_of_the_batch_hint

    layer = LinearRows(3, 2, rng=0)
    assert "OK" in str(check_gradients(layer, x))
    direction = np.random.default_rng(4).standard_normal(x.shape[:-1] + (2,))
    layer.zero_grad()
    layer(x)
    layer.backward(direction)
    for name, parameter in layer.named_parameters():
        assert part_of_the_batch_hint(layer, name, parameter.grad, x, (), direction) is None


class BatchNormKeepdims(BatchNorm):
    """Batch statistics with keepdims=True: of shape (1, C, 1, 1) for images."""

    def forward(self, x):
        if self.training:
            mean = x.mean(axis=self.reduce_axes, keepdims=True)
            var = x.var(axis=self.reduce_axes, keepdims=True)
            count = x.size // self.num_features
            m = self.momentum
            self.running_mean[...] = (1 - m) * self.running_mean + m * mean
            self.running_var[...] = (1 - m) * self.running_var + m * var * count / (count - 1)
        return super().forward(x)


class BatchNormOverAxis0(BatchNorm):
    """Batch statistics over axis 0 only: of shape (C, H, W) for images."""

    def forward(self, x):
        if self.training:
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * x.mean(axis=0)
            self.running_var = (1 - m) * self.running_var + m * x.var(axis=0, ddof=1)
        return x


class BatchNorm2d(BatchNorm):
    input_axes = ("batch", "channels", "height", "width")


@pytest.mark.ex13
@pytest.mark.parametrize(
    "base, named",
    [
        (BatchNormKeepdims, "the right values but the shape (1, 3, 1, 1): keepdims=True"),
        (BatchNormOverAxis0, "taken over axis 0 only, shape (3, 2, 2)"),
        (BatchNorm, None),
    ],
    ids=["keepdims", "axis-0", "reference"],
)
def test_batch_statistics_of_another_shape_are_named(base, named):
    from pancake.testing.batch_hints import statistics_shape_hint

    module = type("Answer", (BatchNorm2d, base), {})(3)
    x = np.random.default_rng(5).standard_normal((2, 3, 2, 2))
    hint = statistics_shape_hint(module, x)
    assert (hint is None) if named is None else (named in hint)
    assert np.array_equal(module.running_mean, np.zeros(3))  # diagnosed on a copy


class BiasOfAnUnflattenedGradOutput(Linear):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        rows = x.reshape(-1, self.in_features)
        self.weight.grad += rows.T @ grad_output.reshape(-1, self.out_features)
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


@pytest.mark.parametrize("shape", [(1, 1, 2), (2, 3, 2)], ids=["one-row", "six-rows"])
def test_a_bias_gradient_summed_over_the_first_axis_only_is_named(shape):
    x = np.random.default_rng(6).standard_normal(shape)
    hint = hint_of(BiasOfAnUnflattenedGradOutput(2, 3, rng=0), x)
    assert "grad_output.sum(axis=0)" in hint
    assert "reshape(-1, out_features)" in hint


class BiasSummedWithKeepdims(Linear):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        rows = x.reshape(-1, self.in_features)
        grad_rows = grad_output.reshape(-1, self.out_features)
        self.weight.grad += rows.T @ grad_rows
        self.bias.grad += grad_rows.sum(axis=0, keepdims=True)
        return grad_output @ self.weight.data.T


@pytest.mark.parametrize("shape", [(1, 1, 2), (2, 3, 2)], ids=["one-row", "six-rows"])
def test_a_bias_summed_with_keepdims_is_not_said_to_sum_the_first_axis_only(shape):
    x = np.random.default_rng(7).standard_normal(shape)
    hint = hint_of(BiasSummedWithKeepdims(2, 3, rng=0), x)
    assert "sums over the first axis only" not in hint
    assert "keepdims" in hint


class BatchNormVarianceByHand(BatchNorm):
    """The variance by hand around the mean of shape (C,), which meets x's last axis."""

    def forward(self, x):
        mean = x.mean(axis=self.reduce_axes)
        var = ((x - mean) ** 2).mean(axis=self.reduce_axes)
        x_hat, _ = standardize(x, self.per_channel(mean), self.per_channel(var), self.eps)
        return x_hat * self.per_channel(self.weight.data) + self.per_channel(self.bias.data)


@pytest.mark.ex13
@pytest.mark.parametrize("base", [BatchNormVarianceByHand, BatchNorm], ids=["by-hand", "reference"])
def test_a_variance_around_a_mean_on_the_last_axis_is_named(base):
    from pancake.course.assignments.ex13_normalization import training_statistics_hint

    module = type("Answer", (BatchNorm2d, base), {})(3)
    x = np.random.default_rng(8).standard_normal((2, 3, 2, 3))
    hint = training_statistics_hint(module, x, module(x))
    assert ("lines up with the last axis of x" in hint) == (base is BatchNormVarianceByHand)


class BiasWithoutTheFirstRow(LinearRows):
    def grads(self, rows, grad_rows):
        return rows.T @ grad_rows, grad_rows[1:].sum(axis=0)


class WeightWithoutTheLastRow(LinearRows):
    def grads(self, rows, grad_rows):
        return rows[:-1].T @ grad_rows[:-1], grad_rows.sum(axis=0)


@pytest.mark.parametrize(
    "layer, named",
    [
        (BiasWithoutTheFirstRow(3, 2, rng=0), "'bias' leaves out the share of the first example"),
        (WeightWithoutTheLastRow(3, 2, rng=0), "'weight' leaves out the share of the last example"),
    ],
    ids=["bias-without-first", "weight-without-last"],
)
def test_a_parameter_gradient_without_one_example_is_named(layer, named):
    assert named in hint_of(layer, X2)


def test_a_batch_of_one_example_is_diagnosed_on_several():
    one = np.random.default_rng(9).standard_normal((1, 3))
    hint = hint_of(BiasWithoutTheFirstRow(3, 2, rng=0), one)
    assert hint.startswith("run again on a batch of 3 examples, the gradient of 'bias' leaves out")
    assert "all zero" not in hint
