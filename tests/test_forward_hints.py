"""Hints on wrong forward values: each family is confirmed on a generic input (a copy of
the module run again), names the mistake, and stays silent on the reference."""

from __future__ import annotations

import numpy as np
import pytest

from pancake.nn import BatchNorm1d, BatchNorm2d, ReLU, Sigmoid, Square, Tanh
from pancake.testing.forward import (
    batch_norm_forward_hint,
    bias_term_hint,
    elementwise_forward_hint,
)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def relu(x):
    return np.maximum(x, 0)


def module_computing(base, function):
    """A module of class ``base`` whose forward returns ``function(x)``."""
    return type(f"Wrong{base.__name__}", (base,), {"forward": lambda self, x: function(x)})()


ELEMENTWISE = [
    ("leaky ReLU", ReLU, relu, "max(x, 0)", lambda x: np.maximum(x, 0.01 * x), "0.01·x"),
    ("abs for ReLU", ReLU, relu, "max(x, 0)", np.abs, "wrong where x < 0, where it is -x"),
    ("branches swapped", ReLU, relu, "max(x, 0)", lambda x: x * (x < 0), "both sides of 0"),
    ("x·|x| for x²", Square, np.square, "x²", lambda x: x * np.abs(x), "negated (-x²)"),
    ("σ squared", Sigmoid, sigmoid, "σ", lambda x: sigmoid(x) ** 2, "(σ)²: the right value"),
    ("2σ(2x) without - 1", Tanh, np.tanh, "tanh(x)", lambda x: 2 * sigmoid(2 * x), "tanh(x) + 1"),
    ("1 - σ", Sigmoid, sigmoid, "σ", lambda x: 1 - sigmoid(x) + 0 * x, "1 - σ"),
    ("np.tan for np.tanh", Tanh, np.tanh, "tanh(x)", np.tan, "np.tan(x) at every point"),
    ("np.tanh for σ", Sigmoid, sigmoid, "σ", np.tanh, "np.tanh(x) at every point, not σ"),
]


@pytest.mark.parametrize("case", ELEMENTWISE, ids=[case[0] for case in ELEMENTWISE])
def test_each_elementwise_forward_mistake_is_named(case):
    _, base, function, formula, wrong, words = case
    assert words in elementwise_forward_hint(module_computing(base, wrong), function, formula)


@pytest.mark.parametrize(
    "module, function",
    [(ReLU(), relu), (Sigmoid(), sigmoid), (Tanh(), np.tanh), (Square(), np.square)],
)
def test_the_reference_activations_get_no_forward_hint(module, function):
    assert elementwise_forward_hint(module, function, "f") == ""


def test_an_unrecognised_elementwise_mistake_gets_no_forward_hint():
    wrong = module_computing(Tanh, lambda x: np.sinh(x) / (2 * np.exp(x)))
    assert elementwise_forward_hint(wrong, np.tanh, "tanh(x)") == ""


def batch_norm_with(base, standardized_by):
    """A ``base`` batch norm whose forward is ``standardized_by(self, x, mean, var)``, with
    the batch statistics in training mode and the running ones in eval mode (no update)."""

    def forward(self, x):
        axes = self.reduce_axes
        mean, var = (
            (x.mean(axis=axes), x.var(axis=axes))
            if self.training
            else (
                self.running_mean,
                self.running_var,
            )
        )
        return standardized_by(self, x, self.per_channel(mean), self.per_channel(var))

    return type("WrongBatchNorm", (base,), {"forward": forward})(3)


BATCH_NORM_MISTAKES = [
    (
        "eps outside the square root",
        lambda m, x, mean, var: (
            (x - mean) / (np.sqrt(var) + m.eps) * m.per_channel(m.weight.data)
            + m.per_channel(m.bias.data)
        ),
        "eps inside the square root), not (sqrt(var) + eps)",
    ),
    (
        "the standard deviation as the variance",
        lambda m, x, mean, var: (
            (x - mean) / np.sqrt(np.sqrt(var) + m.eps) * m.per_channel(m.weight.data)
            + m.per_channel(m.bias.data)
        ),
        "+ eps) + bias, per channel: divide with",
    ),
    (
        "weight and bias swapped",
        lambda m, x, mean, var: (
            (x - mean) / np.sqrt(var + m.eps) * m.per_channel(m.bias.data)
            + m.per_channel(m.weight.data)
        ),
        "multiply by weight, not bias; add bias, not weight",
    ),
    (
        "x not centred",
        lambda m, x, mean, var: (
            x / np.sqrt(var + m.eps) * m.per_channel(m.weight.data) + m.per_channel(m.bias.data)
        ),
        "x is not centred",
    ),
    (
        "no bias",
        lambda m, x, mean, var: (x - mean) / np.sqrt(var + m.eps) * m.per_channel(m.weight.data),
        "add bias, not 0",
    ),
    (
        "shift before scale",
        lambda m, x, mean, var: (
            ((x - mean) / np.sqrt(var + m.eps) + m.per_channel(m.bias.data))
            * m.per_channel(m.weight.data)
        ),
        "add the bias after the scaling, x̂ · weight + bias, not (x̂ + bias) · weight",
    ),
]


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("base", [BatchNorm1d, BatchNorm2d])
@pytest.mark.parametrize("case", BATCH_NORM_MISTAKES, ids=[case[0] for case in BATCH_NORM_MISTAKES])
def test_each_batch_norm_forward_mistake_is_named(case, base, training):
    _, standardized_by, words = case
    hint = batch_norm_forward_hint(batch_norm_with(base, standardized_by), training=training)
    assert words in hint
    assert ("running_mean" in hint) != training  # the statistics of the mode, named


def test_the_batch_variance_in_eval_mode_is_named():
    class BatchVarianceInEval(BatchNorm2d):
        def forward(self, x):
            if self.training:
                return super().forward(x)
            mean, var = self.running_mean, x.var(axis=self.reduce_axes)
            x_hat = (x - self.per_channel(mean)) / np.sqrt(self.per_channel(var) + self.eps)
            return x_hat * self.per_channel(self.weight.data) + self.per_channel(self.bias.data)

    hint = batch_norm_forward_hint(BatchVarianceInEval(2), training=False)
    assert "divide with running_var, not the batch variance" in hint
    assert batch_norm_forward_hint(BatchVarianceInEval(2), training=True) == ""


def test_the_running_mean_read_as_the_variance_in_eval_mode_is_named():
    class RunningMeanTwiceInEval(BatchNorm2d):
        def forward(self, x):
            if self.training:
                return super().forward(x)
            mean, var = self.running_mean, self.running_mean
            x_hat = (x - self.per_channel(mean)) / np.sqrt(self.per_channel(var) + self.eps)
            return x_hat * self.per_channel(self.weight.data) + self.per_channel(self.bias.data)

    hint = batch_norm_forward_hint(RunningMeanTwiceInEval(2), training=False)
    assert "divide with running_var, not running_mean" in hint


def test_statistics_of_every_entry_together_are_named():
    class OneVarianceForAllChannels(BatchNorm2d):
        def forward(self, x):
            if not self.training:
                return super().forward(x)
            mean = self.per_channel(x.mean(axis=self.reduce_axes))
            x_hat = (x - mean) / np.sqrt(x.var() + self.eps)
            return x_hat * self.per_channel(self.weight.data) + self.per_channel(self.bias.data)

    hint = batch_norm_forward_hint(OneVarianceForAllChannels(3), training=True)
    assert "not the variance of every entry (all channels together)" in hint


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("base", [BatchNorm1d, BatchNorm2d])
def test_the_reference_batch_norm_gets_no_forward_hint(base, training):
    assert batch_norm_forward_hint(base(3), training=training) == ""


@pytest.mark.parametrize(
    "factor, words", [(0, "the bias is missing"), (2, "added twice"), (-1, "subtracted")]
)
@pytest.mark.parametrize("axis, shape", [(-1, (4, 3)), (1, (2, 3, 4, 5))])
def test_a_bias_counted_the_wrong_number_of_times_is_named(factor, words, axis, shape):
    rng = np.random.default_rng(0)
    bias = rng.standard_normal(3)
    without = rng.standard_normal(shape)
    along = bias.reshape((-1,) + (1,) * (len(shape) - axis % len(shape) - 1))
    expected = without + along
    assert words in bias_term_hint(without + factor * along, expected, bias, axis)
    assert bias_term_hint(expected, expected, bias, axis) == ""
    other = rng.standard_normal(3).reshape(along.shape)
    assert bias_term_hint(expected + other, expected, bias, axis) == ""  # not the bias


def conv_case():
    from pancake.nn.conv import Conv2d

    layer = Conv2d(3, 4, kernel_size=(3, 2), stride=(2, 1), padding=(2, 1), rng=0)
    return layer, np.random.default_rng(0).standard_normal((2, 3, 6, 5))


def convolution(x, weight, bias, stride, padding):
    from pancake.course.assignments.ex12_convolutions import convolution_by_definition

    return convolution_by_definition(x, weight, bias, stride, padding)


CONV_FORWARD_MISTAKES = [
    (
        "x at the top-left of the padded buffer",
        lambda x, w, b: convolution(
            np.pad(x, ((0, 0), (0, 0), (0, 4), (0, 2))), w, b, (2, 1), (0, 0)
        ),
        "rows 0 to 5 and columns 0 to 4: put it in the middle",
    ),
    (
        "x one row too low in the padded buffer",
        lambda x, w, b: convolution(
            np.pad(x, ((0, 0), (0, 0), (3, 1), (1, 1))), w, b, (2, 1), (0, 0)
        ),
        "rows 3 to 8 and columns 1 to 5",
    ),
    (
        "the padding filled with ones",
        lambda x, w, b: convolution(
            np.pad(x, ((0, 0), (0, 0), (2, 2), (1, 1)), constant_values=1), w, b, (2, 1), (0, 0)
        ),
        "the padding is filled with ones",
    ),
    (
        "kernels flattened as (kw, kh, C_in)",
        lambda x, w, b: convolution(
            x, w.transpose(0, 3, 2, 1).reshape(4, 3, 2, 3).transpose(0, 3, 1, 2), b, (2, 1), (2, 1)
        ),
        "flattened in (kw, kh, C_in) order",
    ),
    (
        "bias subtracted",
        lambda x, w, b: convolution(x, w, -b, (2, 1), (2, 1)),
        "the bias is subtracted",
    ),
    (
        "the top padding rows set to 1",
        lambda x, w, b: convolution(
            np.pad(
                x,
                ((0, 0), (0, 0), (2, 2), (1, 1)),
                constant_values=[(0, 0), (0, 0), (1, 0), (0, 0)],
            ),
            w,
            b,
            (2, 1),
            (0, 0),
        ),
        "only outputs whose windows reach into the padding are wrong",
    ),
]


@pytest.mark.parametrize(
    "case", CONV_FORWARD_MISTAKES, ids=[case[0] for case in CONV_FORWARD_MISTAKES]
)
def test_each_conv2d_forward_family_names_its_mistake(case):
    from pancake.course.assignments.ex12_convolutions import conv2d_output_hint

    _, mistake, words = case
    layer, x = conv_case()
    output = mistake(x, layer.weight.data, layer.bias.data)
    assert words in conv2d_output_hint(layer, x, output)


def test_the_conv2d_forward_families_stay_silent_on_the_reference_and_on_noise():
    from pancake.course.assignments.ex12_convolutions import conv2d_output_hint

    layer, x = conv_case()
    truth = convolution(x, layer.weight.data, layer.bias.data, (2, 1), (2, 1))
    assert conv2d_output_hint(layer, x, truth) == ""
    noise = np.random.default_rng(1).standard_normal(truth.shape) * 1e-3
    assert conv2d_output_hint(layer, x, truth + noise) == ""


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda k, x: k + x, "x + 1.7 at every point"),
        (lambda k, x: x / k, "0.5882·x at every point"),
        (lambda k, x: x, "the output is x at every point"),
    ],
)
def test_a_mul_forward_mistake_is_named_in_terms_of_x_and_k(wrong, words):
    from pancake.nn import Mul

    class WrongMul(Mul):
        def forward(self, x):
            return wrong(self.k.data, x)

    assert words in elementwise_forward_hint(WrongMul(1.7), lambda x: 1.7 * x, "k·x")
    assert elementwise_forward_hint(Mul(1.7), lambda x: 1.7 * x, "k·x") == ""


def cross_entropy_computing(term):
    """A CrossEntropyLoss whose forward is -sum(target · term(logits)) / batch."""
    from pancake.nn import CrossEntropyLoss
    from pancake.ops import class_probabilities

    class WrongCrossEntropy(CrossEntropyLoss):
        def forward(self, pred, target):
            target = class_probabilities(pred, target, owner=self)
            return float(-np.sum(target * term(pred)) / len(pred))

    return WrongCrossEntropy()


@pytest.mark.parametrize(
    "term, words",
    [
        (lambda z: z, "not the raw logits z"),
        (lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), "their log is missing"),
        (lambda z: z - np.log(np.exp(z).sum(axis=0)), "over the batch (axis=0)"),
        (lambda z: -(z - np.log(np.exp(z).sum(axis=1, keepdims=True))), "negate the sum"),
    ],
)
def test_a_cross_entropy_forward_mistake_is_named(term, words):
    from pancake.testing.forward import cross_entropy_forward_hint

    assert words in cross_entropy_forward_hint(cross_entropy_computing(term))


def test_a_cross_entropy_of_one_entry_per_example_is_named():
    from pancake.nn import CrossEntropyLoss
    from pancake.ops import class_probabilities, log_softmax
    from pancake.testing.forward import cross_entropy_forward_hint

    class PerExample(CrossEntropyLoss):
        def forward(self, pred, target):
            target = class_probabilities(pred, target, owner=self)
            return -np.sum(target * log_softmax(pred), axis=1) / len(pred)

    hint = cross_entropy_forward_hint(PerExample())
    assert (
        "the loss has one entry per example (shape (5,) for a batch of 5): each example's "
        "cross-entropy divided by the batch size" in hint
    )


def test_log_probabilities_cut_off_by_an_eps_are_named_on_large_logits():
    from pancake.course.assignments.ex04_activations_losses import check_cross_entropy_loss
    from pancake.nn import CrossEntropyLoss
    from pancake.ops import class_probabilities, softmax

    class ClippedLog(CrossEntropyLoss):
        def forward(self, pred, target):
            target = class_probabilities(pred, target, owner=self)
            return float(-np.sum(target * np.log(softmax(pred) + 1e-12)) / len(pred))

    logits, labels = np.array([[1000.0, -1000.0], [0.0, 3.0]]), np.array([1, 0])
    with pytest.raises(AssertionError, match="the log-probabilities are cut off"):
        check_cross_entropy_loss(ClippedLog(), logits, labels)
    check_cross_entropy_loss(CrossEntropyLoss(), logits, labels)


def test_the_reference_cross_entropy_gets_no_forward_hint():
    from pancake.nn import CrossEntropyLoss
    from pancake.testing.forward import cross_entropy_forward_hint

    assert cross_entropy_forward_hint(CrossEntropyLoss()) == ""


def test_a_square_weight_used_transposed_is_named():
    from pancake.course.assignments.ex03_linear import transposed_weight_hint
    from pancake.nn import Linear

    layer, x = Linear(3, 3, rng=0), np.random.default_rng(0).standard_normal((4, 3))
    transposed = x @ layer.weight.data.T + layer.bias.data
    assert "x @ weight.T + bias" in transposed_weight_hint(layer, x, transposed)
    assert transposed_weight_hint(layer, x, layer(x)) == ""


def test_windows_flattened_channels_first_are_named_as_the_windows():
    from pancake.course.assignments.ex12_convolutions import (
        conv2d_output_hint,
        kernels_read_in_order,
    )
    from pancake.nn.conv import Conv2d

    layer = Conv2d(2, 3, kernel_size=(3, 4), padding=1, rng=0)
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 6))
    weight, bias = layer.weight.data, layer.bias.data
    met = kernels_read_in_order(weight, (2, 3, 1), windows=(1, 2, 3))
    output = convolution(x, met, bias, (1, 1), (1, 1))
    hint = conv2d_output_hint(layer, x, output)
    assert "the windows are flattened in (C_in, kh, kw) order" in hint
    assert "equal axis lengths" not in hint  # (2, 3, 4): one pair of orders alone
    assert np.array_equal(kernels_read_in_order(weight, (2, 3, 1)), weight)


def test_kernels_read_in_another_order_with_equal_axis_lengths_mention_the_windows_too():
    from pancake.course.assignments.ex12_convolutions import (
        conv2d_output_hint,
        kernels_read_in_order,
    )

    layer, x = conv_case()  # C_in = kh = 3
    met = kernels_read_in_order(layer.weight.data, (1, 2, 3))
    output = convolution(x, met, layer.bias.data, (2, 1), (2, 1))
    hint = conv2d_output_hint(layer, x, output)
    assert "the kernels are flattened in weight's (C_in, kh, kw) order" in hint
    assert "with these equal axis lengths, the windows" in hint


def test_a_one_channel_offset_is_not_called_a_multiple_of_the_bias():
    bias, expected = np.array([0.7]), np.random.default_rng(0).standard_normal((4, 1))
    assert bias_term_hint(expected + 0.7 * 0.4, expected, bias, axis=-1) == ""
    assert "the bias is missing" in bias_term_hint(expected - 0.7, expected, bias, axis=-1)


def test_a_halved_square_is_named_as_a_factor():
    wrong = module_computing(Square, lambda x: x * x / 2)
    assert "0.5·x² at every point" in elementwise_forward_hint(wrong, np.square, "x²")


def test_a_kernel_matrix_made_by_a_reshape_where_a_transpose_belongs_is_named():
    from pancake.course.assignments.ex12_convolutions import conv2d_output_hint

    layer, x = conv_case()
    weight = layer.weight.data
    matrix = weight.transpose(0, 2, 3, 1).reshape(-1, 4)  # (kh·kw·C_in, C_out), no .T
    met = matrix.T.reshape(4, 3, 2, 3).transpose(0, 3, 1, 2)
    output = convolution(x, met, layer.bias.data, (2, 1), (2, 1))
    assert "a reshape regroups the entries in their order" in conv2d_output_hint(layer, x, output)


def test_a_cross_entropy_without_the_target_is_named():
    from pancake.nn import CrossEntropyLoss
    from pancake.ops import log_softmax
    from pancake.testing.forward import cross_entropy_forward_hint

    class EveryClass(CrossEntropyLoss):
        def forward(self, pred, target):
            return float(-np.sum(log_softmax(pred)) / len(pred))

    assert "the target is not used" in cross_entropy_forward_hint(EveryClass())


@pytest.mark.parametrize(
    "base, function, formula, wrong, words",
    [
        (Sigmoid, sigmoid, "σ", lambda x: sigmoid(x) * (1 - sigmoid(x)), "the derivative of σ"),
        (Square, np.square, "x²", lambda x: 2 * x, "the derivative of x²"),
        (Sigmoid, sigmoid, "σ", lambda x: 2 * sigmoid(x) - 1, "2·σ - 1 at every point"),
        (Square, np.square, "x²", lambda x: x * x / 2, "0.5·x² at every point"),
    ],
)
def test_an_elementwise_output_that_is_the_derivative_or_an_affine_function_of_f_is_named(
    base, function, formula, wrong, words
):
    hint = elementwise_forward_hint(module_computing(base, wrong), function, formula)
    assert words in hint


def test_a_running_buffer_updated_from_the_other_buffer_is_named():
    from pancake.course.assignments.ex13_normalization import crossed_update_hint

    class CopiedLine(BatchNorm1d):
        def forward(self, x):
            mean, var = x.mean(axis=0), x.var(axis=0, ddof=1)
            m = self.momentum
            self.running_mean[...] = (1 - m) * self.running_mean + m * mean
            self.running_var[...] = (1 - m) * self.running_mean + m * var
            return x

    batches = [np.random.default_rng(step).standard_normal((4, 3)) for step in range(2)]
    wrong, right = CopiedLine(3, momentum=0.5), BatchNorm1d(3, momentum=0.5)
    for batch in batches:
        wrong(batch)
        right(batch)
    hint = crossed_update_hint(wrong, batches, 0.5)
    assert "running_var is updated from running_mean and the unbiased batch variance" in hint
    assert "running_mean is updated" not in hint
    assert crossed_update_hint(right, batches, 0.5) == ""


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda x: 1 / (1 - np.exp(-x)), "1 / (1 - exp(-x)), where 1 / (1 + exp(-x)) belongs"),
        (
            lambda x: np.exp(x) / (1 + np.exp(-x)),
            "exp(x) / (1 + exp(-x)), where exp(x) / (1 + exp(x))",
        ),
    ],
)
def test_a_sigmoid_with_a_sign_flipped_is_named(wrong, words):
    from pancake.course.assignments.ex04_activations_losses import SIGMOID_FORMS
    from pancake.testing.forward import sign_slip_hint

    assert words in sign_slip_hint(module_computing(Sigmoid, wrong), SIGMOID_FORMS)
    assert sign_slip_hint(Sigmoid(), SIGMOID_FORMS) == ""


def test_a_tanh_with_a_sign_flipped_is_named():
    from pancake.course.assignments.ex04_activations_losses import TANH_FORMS
    from pancake.testing.forward import sign_slip_hint

    wrong = module_computing(Tanh, lambda x: 1 - 2 / (np.exp(-2 * x) + 1))
    assert "1 - 2 / (exp(-2x) + 1), where 1 - 2 / (exp(2x) + 1) belongs" in sign_slip_hint(
        wrong, TANH_FORMS
    )
    assert sign_slip_hint(Tanh(), TANH_FORMS) == ""
