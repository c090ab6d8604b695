"""The checker's hints on the mistakes learners really make, diagnosed on generic inputs.

Each entry of ``MISTAKES`` is a realistic wrong module (written the way learners get it
wrong), the input it fails on as hypothesis shrinks it (one entry, round values), and the
words its hint must contain. ``check_gradients`` must name the mistake even there: it
diagnoses on a generic input of the same shape, not on the shrunk example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pytest

from pancake.nn import (
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    CrossEntropyLoss,
    Linear,
    MSELoss,
    Mul,
    ReLU,
    Sequential,
    Sigmoid,
    Square,
    Tanh,
)
from pancake.nn.normalization import BatchNorm
from pancake.ops import one_hot, sigmoid, softmax
from pancake.testing import GradientCheckError, check_gradients
from pancake.testing.hints import divided_by_classes, loss_target_hint, parameter_hint


# -- element-wise activations ------------------------------------------------------------
class TanhInputForOutput(Tanh):
    """1 - x² where 1 - y² belongs: the input used where the output is needed."""

    def backward(self, grad_output):
        x = self.x
        return grad_output * (1 - x * x)

    def forward(self, x):
        self.x = np.asarray(x, dtype=float)
        return super().forward(x)


class TanhOutputForInput(Tanh):
    """1 - tanh(y)² : the derivative evaluated at the output instead of the input."""

    def backward(self, grad_output):
        (y,) = self.saved_tensors
        return grad_output * (1 - np.tanh(y) ** 2)


class TanhTwice(Tanh):
    """The local derivative applied twice."""

    def backward(self, grad_output):
        (y,) = self.saved_tensors
        return grad_output * (1 - y * y) ** 2


class TanhDividedByDerivative(Tanh):
    """g / (1 - y²): the chain rule's product written as a division."""

    def backward(self, grad_output):
        (y,) = self.saved_tensors
        return grad_output / (1 - y * y)


class SigmoidGradOutputInTheDerivative(Sigmoid):
    """g·y·(1 - g): grad_output where the saved y belongs, a square of grad_output."""

    def backward(self, grad_output):
        (y,) = self.saved_tensors
        return grad_output * y * (1 - grad_output)


class LinearInputGradientSquaresGradOutput(Linear):
    """dL/dx = (g * g) @ Wᵀ: grad_output multiplied by itself."""

    def backward(self, grad_output):
        super().backward(grad_output)
        return (grad_output * grad_output) @ self.weight.data.T


class TanhNoChain(Tanh):
    """Returns the local derivative without multiplying by grad_output."""

    def backward(self, grad_output):
        (y,) = self.saved_tensors
        return 1 - y * y


class SigmoidInputForOutput(Sigmoid):
    """x(1 - x) where y(1 - y) belongs."""

    def forward(self, x):
        self.x = np.asarray(x, dtype=float)
        return super().forward(x)

    def backward(self, grad_output):
        return grad_output * self.x * (1 - self.x)


class SigmoidOutputForInput(Sigmoid):
    """σ(y)(1 - σ(y)): sigmoid applied to the saved output again."""

    def backward(self, grad_output):
        (y,) = self.saved_tensors
        s = sigmoid(y)
        return grad_output * s * (1 - s)


class SigmoidWithTanhsDerivative(Sigmoid):
    """1 - y², the derivative of tanh, for the sigmoid's y(1 - y)."""

    def backward(self, grad_output):
        (y,) = self.saved_tensors
        return grad_output * (1 - y * y)


class SigmoidTwice(Sigmoid):
    def backward(self, grad_output):
        (y,) = self.saved_tensors
        return grad_output * (y * (1 - y)) ** 2


class ReluMaskOnGrad(ReLU):
    """The mask computed on grad_output instead of the input."""

    def backward(self, grad_output):
        return grad_output * (grad_output > 0)


class ReluNoChain(ReLU):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        return (x > 0).astype(float)


class SquareConstant(Square):
    """2·g: the x of d(x²)/dx = 2x forgotten."""

    def backward(self, grad_output):
        return 2 * grad_output


class SquareHalf(Square):
    """x·g: the 2 of d(x²)/dx = 2x forgotten."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        return grad_output * x


class SquareTupleNotUnpacked(Square):
    """2·x·g with x the 1-tuple of saved values: the result gains a leading axis of 1."""

    def backward(self, grad_output):
        x = self.saved_tensors
        return 2 * np.asarray(x) * grad_output


class SquarePassThrough(Square):
    def backward(self, grad_output):
        return grad_output


# -- a parameter -----------------------------------------------------------------------
class MulKGradientWithoutInput(Mul):
    """dL/dk = sum(g): the x of d(kx)/dk forgotten."""

    def backward(self, grad_output):
        self.k.grad += np.sum(grad_output)
        return self.k.data * grad_output


class LinearInputGradientNotTransposed(Linear):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad += x.T @ grad_output
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data


class LinearBiasMean(Linear):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad += x.T @ grad_output
        self.bias.grad += grad_output.mean(axis=0)
        return grad_output @ self.weight.data.T


class MulKGradientTimesK(Mul):
    """dL/dk = sum(k·g): k where x belongs."""

    def backward(self, grad_output):
        self.k.grad += np.sum(grad_output * self.k.data)
        return self.k.data * grad_output


class LinearBiasSumOfEverything(Linear):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad += x.T @ grad_output
        self.bias.grad += grad_output.sum()
        return grad_output @ self.weight.data.T


class LinearBiasOverFeatures(Linear):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad += x.T @ grad_output
        self.bias.grad += grad_output.sum(axis=1)
        return grad_output @ self.weight.data.T


class LinearInputGradientFromWeightGrad(Linear):
    """dL/dx = G·(weight.grad)ᵀ: the gradient where the value belongs."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad += x.T @ grad_output
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.grad.T


# -- containers ------------------------------------------------------------------------
class SequentialSkipsLast(Sequential):
    def backward(self, grad_output):
        for layer in reversed(self.layers[:-1]):
            grad_output = layer.backward(grad_output)
        return grad_output


class SequentialForwardOrder(Sequential):
    def backward(self, grad_output):
        for layer in self.layers:
            grad_output = layer.backward(grad_output)
        return grad_output


class SequentialDropsResult(Sequential):
    def backward(self, grad_output):
        for layer in reversed(self.layers):
            layer.backward(grad_output)
        return grad_output


class SequentialReturnsInTheLoop(Sequential):
    """backward's return indented into the loop: the gradient of the last layer's input."""

    def backward(self, grad_output):
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
            return grad_output


class SequentialReversesInPlace(Sequential):
    def backward(self, grad_output):
        self.layers.reverse()
        for layer in self.layers:
            grad_output = layer.backward(grad_output)
        return grad_output


# -- losses ----------------------------------------------------------------------------
class MSEWithoutTwo(MSELoss):
    def backward(self):
        (diff,) = self.saved_tensors
        return diff / diff.size


class CrossEntropyNoTarget(CrossEntropyLoss):
    """softmax(z)/batch: the target forgotten."""

    def backward(self):
        logits, _ = self.saved_tensors
        return softmax(logits) / len(logits)


class CrossEntropySoftmaxOverBatch(CrossEntropyLoss):
    """softmax over axis 0, the examples, instead of the classes."""

    def backward(self):
        logits, target = self.saved_tensors
        return (softmax(logits, axis=0) - target) / len(logits)


class CrossEntropyOverClasses(CrossEntropyLoss):
    """(softmax - target) / C: divided by the number of classes, not the batch size."""

    def backward(self):
        logits, target = self.saved_tensors
        return (softmax(logits) - target) / logits.shape[1]


class LinearSavesOutput(Linear):
    """forward saves its output, so the weight gradient is yᵀg instead of xᵀg."""

    def forward(self, x):
        output = super().forward(x)
        self.save_for_backward(output)
        return output


class SequentialIteratesTheReverseResult(Sequential):
    """``for layer in self.layers.reverse()``: reverse() works in place and returns None."""

    def backward(self, grad_output):
        for layer in self.layers.reverse():
            grad_output = layer.backward(grad_output)
        return grad_output


class MulKGradientByDot(Mul):
    """dL/dk = np.dot(g, x): a matrix product where the sum of entry-wise products belongs."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.k.grad += np.dot(grad_output, x)
        return self.k.data * grad_output


class TanhBracketsForgotten(Tanh):
    """grad_output * 1 - y * y: the brackets of grad_output * (1 - y²) forgotten."""

    def backward(self, grad_output):
        (y,) = self.saved_tensors
        return grad_output * 1 - y * y


class TanhWithSigmoidsDerivative(Tanh):
    """σ(x)(1 - σ(x)) for tanh: another activation's derivative copied."""

    def forward(self, x):
        self.x = np.asarray(x, dtype=float)
        return super().forward(x)

    def backward(self, grad_output):
        s = sigmoid(self.x)
        return grad_output * s * (1 - s)


@dataclass(frozen=True)
class Case:
    name: str
    module: object
    inputs: tuple
    words: tuple[str, ...]


def square_net(cls):
    return cls(Linear(3, 3, rng=0), Tanh(), Linear(3, 3, rng=1))


ONE = (np.array([[0.5]]),)
THREE_HALVES = (np.array([[1.5]]),)
SMALL = (np.array([[1.0, -1.0]]),)
BATCH = (np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]),)

MISTAKES = [
    Case("tanh: 1 - x²", TanhInputForOutput(), ONE, ("input", "output")),
    Case("tanh: 1 - tanh(y)²", TanhOutputForInput(), ONE, ("output", "instead of the input")),
    Case("tanh: derivative twice", TanhTwice(), ONE, ("twice",)),
    Case("tanh: no grad_output", TanhNoChain(), ONE, ("grad_output",)),
    Case("tanh: g / f'(x)", TanhDividedByDerivative(), ONE, ("divides grad_output by",)),
    Case(
        "sigmoid: y(1 - g)",
        SigmoidGradOutputInTheDerivative(),
        ONE,
        ("grows with the square of grad_output",),
    ),
    Case(
        "linear: dL/dx from g * g",
        LinearInputGradientSquaresGradOutput(3, 2, rng=0),
        BATCH,
        ("dL/dx grows with the square of grad_output",),
    ),
    Case("sigmoid: x(1 - x)", SigmoidInputForOutput(), ONE, ("input", "output")),
    Case("sigmoid: σ(y)(1 - σ(y))", SigmoidOutputForInput(), ONE, ("instead of the input",)),
    Case("sigmoid: derivative twice", SigmoidTwice(), ONE, ("twice",)),
    Case(
        "sigmoid: tanh's derivative",
        SigmoidWithTanhsDerivative(),
        ONE,
        ("by 1 - y², with y the output", "f'(x) = y - y²"),
    ),
    Case("relu: mask on grad_output", ReluMaskOnGrad(), SMALL, ("grad_output", "input")),
    Case("relu: no grad_output", ReluNoChain(), SMALL, ("grad_output",)),
    Case("square: 2g", SquareConstant(), ONE, ("depends on x",)),
    Case("square: xg", SquareHalf(), ONE, ("factor of 2",)),
    Case("square: g", SquarePassThrough(), THREE_HALVES, ("unchanged",)),
    Case(
        "square: saved tuple not unpacked",
        SquareTupleNotUnpacked(),
        BATCH,
        ("extra leading axis of length 1", "(x,) = self.saved_tensors"),
    ),
    Case("mul: dk = sum(g)", MulKGradientWithoutInput(2.0), ONE, ("k",)),
    Case("linear: bias mean", LinearBiasMean(3, 2, rng=0), BATCH, ("batch",)),
    Case("mul: dk = sum(k·g)", MulKGradientTimesK(2.0), ONE, ("times k itself",)),
    Case(
        "linear: dL/dx from weight.grad",
        LinearInputGradientFromWeightGrad(3, 2, rng=0),
        BATCH,
        ("uses weight.grad where weight.data belongs",),
    ),
    Case(
        "linear: bias summed over everything",
        LinearBiasSumOfEverything(3, 2, rng=0),
        BATCH,
        ("the sum of all of grad_output",),
    ),
    Case(
        "linear: bias summed over axis 1, one entry per output",
        LinearBiasOverFeatures(3, 2, rng=0),
        BATCH,
        ("summed over the features (axis=1)",),
    ),
    Case(
        "linear: bias summed over axis 1, a crash",
        LinearBiasOverFeatures(3, 4, rng=0),
        BATCH,
        ("summed over the features (axis=1)",),
    ),
    Case(
        "cross-entropy: softmax over the batch",
        CrossEntropySoftmaxOverBatch(),
        (np.zeros((2, 3)), np.array([0, 1])),
        ("softmax runs over axis 0",),
    ),
    Case(
        "linear: G W, not G Wᵀ",
        LinearInputGradientNotTransposed(3, 2, rng=0),
        BATCH,
        ("needs a transpose",),
    ),
    Case("sequential: skips a layer", square_net(SequentialSkipsLast), BATCH, ("skip",)),
    Case("sequential: forward order", square_net(SequentialForwardOrder), BATCH, ("reverse",)),
    Case("sequential: drops a result", square_net(SequentialDropsResult), BATCH, ("result",)),
    Case(
        "sequential: drops a result, a crash at module 1",
        SequentialDropsResult(Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1)),
        BATCH,
        ("the result of each module's backward is dropped",),
    ),
    Case(
        "sequential: skips the last module, a crash at module 1",
        SequentialSkipsLast(Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1)),
        BATCH,
        ("backward skips module 2 (Linear(4 -> 2))",),
    ),
    Case(
        "sequential: returns in the loop, a gradient of the wrong shape",
        SequentialReturnsInTheLoop(Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1)),
        BATCH,
        ("runs only the backward of the last module", "`return` inside the loop"),
    ),
    Case(
        "sequential: reverses in place",
        square_net(SequentialReversesInPlace),
        BATCH,
        ("in place",),
    ),
    Case(
        "cross-entropy: divided by the classes, one example",
        CrossEntropyOverClasses(),
        (np.zeros((1, 2)), np.array([0])),
        ("divided by the number of classes (2) where the batch size (1) belongs",),
    ),
    Case(
        "cross-entropy: divided by the classes, a batch",
        CrossEntropyOverClasses(),
        (np.zeros((4, 3)), np.array([0, 1, 2, 0])),
        ("divided by the number of classes (3)", "len(logits)"),
    ),
    Case(
        "linear: saves its output",
        LinearSavesOutput(1, 1, rng=0),
        ONE,
        ("computed from the module's output", "save_for_backward(x)"),
    ),
    Case(
        "linear: saves its output, a batch",
        LinearSavesOutput(3, 3, rng=0, bias=False),
        BATCH,
        ("gradient of 'weight' is computed from the module's output",),
    ),
    Case(
        "sequential: iterates over layers.reverse(), None",
        square_net(SequentialIteratesTheReverseResult),
        BATCH,
        ("list.reverse() and list.sort() work in place and return None",),
    ),
    Case(
        "mul: dk = np.dot(g, x), square: an array added to the scalar k",
        MulKGradientByDot(2.0),
        (np.array([[0.5]]),),
        ("added to a scalar parameter", "np.sum(grad_output * x)"),
    ),
    Case(
        "mul: dk = np.dot(g, x)",
        MulKGradientByDot(2.0),
        (np.arange(6.0).reshape(2, 3),),
        ("np.dot of two arrays of shape (2, 3) is a matrix product",),
    ),
    Case(
        "tanh: brackets forgotten",
        TanhBracketsForgotten(),
        ONE,
        ("does not scale with grad_output",),
    ),
    Case(
        "tanh: the sigmoid's derivative",
        TanhWithSigmoidsDerivative(),
        ONE,
        ("the derivative of the sigmoid",),
    ),
    Case("mse: no 2", MSEWithoutTwo(), (np.array([[1.0]]), np.array([[0.0]])), ("factor of 2",)),
    Case(
        "cross-entropy: no target",
        CrossEntropyNoTarget(),
        (np.zeros((2, 3)), np.array([0, 1])),
        ("target",),
    ),
]


@pytest.mark.parametrize("case", MISTAKES, ids=lambda case: case.name)
def test_each_realistic_mistake_fails_with_a_hint_that_names_it(case):
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(case.module, *case.inputs)
    hint = failure.value.hint
    for word in case.words:
        assert word in hint, f"{case.name}: hint {hint!r} lacks {word!r}"


class ReciprocalNoChain(Sigmoid):
    """1/x whose backward returns f'(x) alone: a module with a pole at 0."""

    def forward(self, x):
        self.save_for_backward(np.asarray(x, dtype=float))
        return 1 / np.asarray(x, dtype=float)

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        return -1 / x**2


def test_a_module_with_a_pole_gets_its_hint_without_linear_algebra_noise(capfd):
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(ReciprocalNoChain(), np.array([[0.5, 2.0]]))
    assert "alone" in failure.value.hint
    assert capfd.readouterr() == ("", "")


def test_the_reduction_hints_stay_silent_on_the_true_gradients():
    """parameter_hint and loss_target_hint name no mistake in a right gradient."""
    rng = np.random.default_rng(3)
    direction, x, k = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), 1.7
    assert parameter_hint("bias", direction.sum(axis=0), np.zeros(3), direction) is None
    assert parameter_hint("k", np.sum(direction * x), np.array(k), direction) is None
    labels = np.array([0, 2, 1, 2])
    truth = (softmax(x) - one_hot(labels, 3)) / len(x)
    assert loss_target_hint(truth, truth, x, labels) is None
    assert divided_by_classes(truth, truth, x) is None


def test_the_output_for_input_hint_stays_silent_on_a_right_linear_layer():
    """A Linear(n -> n) whose bias gradient is wrong gets no hint about its saved input."""
    layer = LinearBiasMean(3, 3, rng=0)
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(layer, np.random.default_rng(1).standard_normal((4, 3)))
    assert failure.value.tensor == "bias"
    assert "output" not in failure.value.hint


def test_the_cross_entropy_output_check_names_a_mean_over_every_entry_or_a_sum():
    """Exercise 4's loss_scale_hint: the mean over the classes too, or a sum over the batch."""
    from pancake.course.assignments.ex04_activations_losses import loss_scale_hint

    assert "the classes too" in loss_scale_hint(0.7 / 3, 0.7, (4, 3))
    assert "summed over the examples" in loss_scale_hint(0.7 * 4, 0.7, (4, 3))
    assert loss_scale_hint(0.5, 0.7, (4, 3)) == ""


def test_the_cross_entropy_output_check_names_a_block_of_log_probabilities():
    """Exercise 4's block_hint: log_probabilities[:, labels] where one entry per row belongs."""
    from pancake.course.assignments.ex04_activations_losses import block_hint

    logits = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0], [-1.0, 1.0, 0.0]])
    labels = np.array([0, 2, 1])
    log_probabilities = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    block = -np.mean(log_probabilities[:, labels])
    right = -np.mean(log_probabilities[np.arange(3), labels])
    assert "a (batch, batch) block" in block_hint(block, logits, labels)
    assert block_hint(right, logits, labels) == ""


def test_cross_entropy_with_a_right_backward_and_a_wrong_forward_blames_forward():
    class SummedForward(CrossEntropyLoss):
        def forward(self, pred, target):
            return super().forward(pred, target) * len(pred)

    x = np.random.default_rng(3).standard_normal((4, 3))
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(SummedForward(), x, np.array([0, 2, 1, 2]))
    assert "the mistake is in forward" in failure.value.hint
    with pytest.raises(GradientCheckError) as failure:  # a wrong backward: not forward's fault
        check_gradients(CrossEntropyOverClasses(), x, np.array([0, 2, 1, 2]))
    assert "the mistake is in forward" not in failure.value.hint


# -- exercise 13: standardize_backward and BatchNorm --------------------------------------
def standardize_backward_from(formula):
    """A standardize_backward that computes ``formula(s, g, x_hat, mean, total)``."""

    def wrong(grad_x_hat, x_hat, inv_std, axes):
        def mean(values):
            return values.mean(axis=axes, keepdims=True)

        def total(values):
            return values.sum(axis=axes, keepdims=True)

        return formula(inv_std, grad_x_hat, x_hat, mean, total)

    return wrong


def _standardize_mistakes():
    from pancake.course.assignments.ex13_normalization import STANDARDIZE_MISTAKES

    return STANDARDIZE_MISTAKES


@pytest.mark.parametrize("axes", [(0,), (1,), (0, 2)])
@pytest.mark.parametrize("entry", range(len(_standardize_mistakes())))
def test_each_standardize_backward_mistake_gets_its_own_hint(entry, axes):
    from pancake.course.assignments.ex13_normalization import standardize_backward_hint

    formula, hint = _standardize_mistakes()[entry]
    assert standardize_backward_hint(standardize_backward_from(formula), 3, axes) == hint


def test_standardize_backward_hints_name_keepdims_and_stay_silent_on_the_truth():
    from pancake.course.assignments.ex13_normalization import standardize_backward_hint
    from pancake.nn.normalization import standardize_backward

    def no_keepdims(grad_x_hat, x_hat, inv_std, axes):
        mean_grad = grad_x_hat.mean(axis=axes)
        along = (grad_x_hat * x_hat).mean(axis=axes)
        return inv_std * (grad_x_hat - mean_grad - x_hat * along)

    assert "keepdims=True" in standardize_backward_hint(no_keepdims, 2, (1,))
    for ndim, axes in [(1, (0,)), (2, (0,)), (2, (1,)), (3, (0, 2)), (3, (0, 1, 2))]:
        assert standardize_backward_hint(standardize_backward, ndim, axes) == ""


class BatchNormEvalWithoutInvStd(BatchNorm1d):
    """Eval mode's dL/dx = grad_output·γ, the division by √(running_var + eps) left out."""

    def backward(self, grad_output):
        x_hat, inv_std, batch_statistics = self.saved_tensors
        grad_x = super().backward(grad_output)
        return grad_x if batch_statistics else grad_x / inv_std


class BatchNormEvalDividedTwice(BatchNorm1d):
    def backward(self, grad_output):
        x_hat, inv_std, batch_statistics = self.saved_tensors
        grad_x = super().backward(grad_output)
        return grad_x if batch_statistics else grad_x * inv_std


class BatchNormWeightGradientSummedOverEverything(BatchNorm1d):
    def backward(self, grad_output):
        before = self.weight.grad.copy()
        grad_x = super().backward(grad_output)
        added = self.weight.grad - before
        self.weight.grad[...] = before + added.sum()
        return grad_x


class BatchNormTrainingWithFixedStatistics(BatchNorm2d):
    """Training mode's dL/dx computed as in eval mode: grad_output·γ·inv_std."""

    def backward(self, grad_output):
        x_hat, inv_std, _ = self.saved_tensors
        super().backward(grad_output)
        return grad_output * self.per_channel(self.weight.data) * inv_std


def test_a_training_backward_with_fixed_statistics_is_named():
    module = BatchNormTrainingWithFixedStatistics(2)
    module.weight.data[...] = [1.5, -0.5]
    x = np.random.default_rng(5).standard_normal((3, 2, 2, 2))
    with pytest.raises(GradientCheckError, match="as if the batch mean and variance were"):
        check_gradients(module, x)


def test_a_parameter_gradient_summed_over_every_axis_is_named():
    module = BatchNormWeightGradientSummedOverEverything(3)
    x = np.random.default_rng(4).standard_normal((5, 3))
    with pytest.raises(GradientCheckError, match="the channel \\(or feature\\) axis too"):
        check_gradients(module, x)


@pytest.mark.parametrize(
    "cls, words",
    [
        (BatchNormEvalWithoutInvStd, "times √(running_var + eps) (one value per entry of axis 1)"),
        (BatchNormEvalDividedTwice, "divided by √(running_var + eps)"),
    ],
)
def test_a_gradient_off_by_a_buffers_standard_deviation_is_named(cls, words):
    module = cls(3)
    module.running_var[...] = [0.5, 2.0, 4.0]
    module.weight.data[...] = [1.5, -0.5, 2.0]
    module.eval()
    x = np.random.default_rng(3).standard_normal((4, 3))
    with pytest.raises(GradientCheckError, match=re.escape(words)):
        check_gradients(module, x)


class BatchNormKerasMomentum(BatchNorm):
    """running = m·running + (1 - m)·batch statistic."""

    def forward(self, x):
        old = self.running_mean.copy(), self.running_var.copy()
        output = super().forward(x)
        if self.training:
            for buffer, before in zip((self.running_mean, self.running_var), old, strict=True):
                new = (buffer - (1 - self.momentum) * before) / self.momentum
                buffer[...] = self.momentum * before + (1 - self.momentum) * new
        return output


class BatchNormCountsTheBatch(BatchNorm):
    """The unbiased correction n / (n - 1) with n the batch size, not the values per channel."""

    def forward(self, x):
        old = self.running_var.copy()
        output = super().forward(x)
        if self.training:
            batch = len(x)
            var = x.var(axis=self.reduce_axes)
            self.running_var[...] = (1 - self.momentum) * old + self.momentum * var * batch / (
                batch - 1
            )
        return output


class BatchNormCountsEveryValue(BatchNorm):
    """The unbiased correction n / (n - 1) with n = x.size, every value of the batch."""

    def forward(self, x):
        old = self.running_var.copy()
        output = super().forward(x)
        if self.training:
            var = x.var(axis=self.reduce_axes)
            self.running_var[...] = (1 - self.momentum) * old + self.momentum * var * x.size / (
                x.size - 1
            )
        return output


class BatchNormCorrectionUpsideDown(BatchNorm):
    """The correction written n / (n + 1): no count makes it n / (n - 1)."""

    def forward(self, x):
        old = self.running_var.copy()
        output = super().forward(x)
        if self.training:
            var = x.var(axis=self.reduce_axes)
            count = x.size // self.num_features
            self.running_var[...] = (1 - self.momentum) * old + self.momentum * var * count / (
                count + 1
            )
        return output


class BatchNormVarFromTheMean(BatchNorm):
    """running_var's line copied from running_mean's: it decays the running mean."""

    def forward(self, x):
        old_mean = self.running_mean.copy()
        output = super().forward(x)
        if self.training:
            count = x.size // self.num_features
            var = x.var(axis=self.reduce_axes) * count / (count - 1)
            self.running_var[...] = (1 - self.momentum) * old_mean + self.momentum * var
        return output


def test_a_factor_of_one_channel_is_named_only_when_three_channels_confirm_it():
    from pancake.course.assignments.ex13_normalization import running_statistics_hint

    for cls, named in ((BatchNormVarFromTheMean, False), (BatchNormCorrectionUpsideDown, True)):
        module = type(cls.__name__, (cls, BatchNorm2d), {})(1, momentum=0.5)
        x = np.random.default_rng(1).standard_normal((4, 1, 2, 2)) + 0.5
        batches = [x, 2 * x]
        for batch in batches:
            module(batch)
        hint = running_statistics_hint(module, batches, 0.5)
        assert ("multiply the biased variance by" in hint) == named, (cls.__name__, hint)


class BatchNormKerasMeanOnly(BatchNorm):
    """running_mean = m·running + (1 - m)·batch mean; running_var right."""

    def forward(self, x):
        before = self.running_mean.copy()
        output = super().forward(x)
        if self.training:
            self.running_mean[...] = self.momentum * before + (1 - self.momentum) * x.mean(
                axis=self.reduce_axes
            )
        return output


class BatchNormMeanReplaced(BatchNorm):
    """running_mean = the batch mean: replaced, not blended."""

    def forward(self, x):
        output = super().forward(x)
        if self.training:
            self.running_mean[...] = x.mean(axis=self.reduce_axes)
        return output


class BatchNormBiasedRunningVar(BatchNorm):
    def forward(self, x):
        old = self.running_var.copy()
        output = super().forward(x)
        if self.training:
            var = x.var(axis=self.reduce_axes)
            self.running_var[...] = (1 - self.momentum) * old + self.momentum * var
        return output


@pytest.mark.parametrize(
    "cls, words",
    [
        (BatchNormKerasMomentum, "the Keras convention"),
        (BatchNormKerasMeanOnly, "running_mean follows momentum * running + (1 - momentum)"),
        (BatchNormMeanReplaced, "running_mean follows the batch statistic alone"),
        (BatchNormCountsTheBatch, "not the batch size"),
        (BatchNormBiasedRunningVar, "running_var follows the biased variance"),
        (BatchNormCountsEveryValue, "with n = 72, but each channel has n = 24 values"),
        (BatchNormCorrectionUpsideDown, "multiply the biased variance by 0.96, where the unbiased"),
        (BatchNorm2d, None),
    ],
)
def test_the_running_statistics_hint_names_each_mistake(cls, words):
    from pancake.course.assignments.ex13_normalization import running_statistics_hint

    on_images = cls if cls is BatchNorm2d else type(cls.__name__, (cls, BatchNorm2d), {})
    module = on_images(3, momentum=0.3)
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 3)) * 2 + 1
    batches = [x, 2 * x]
    for batch in batches:
        module(batch)
    hint = running_statistics_hint(module, batches, 0.3)
    assert (words in hint) if words else hint == ""


def test_the_training_output_hints_name_the_unbiased_variance_and_per_channel_statistics():
    from pancake.course.assignments.ex13_normalization import (
        training_output,
        training_statistics_hint,
    )

    module = BatchNorm2d(3)
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 3)) * 2 + 1
    unbiased = batch_norm_reference(module, x, ddof=1)
    assert "unbiased variance (ddof=1)" in training_statistics_hint(module, x, unbiased)
    assert training_statistics_hint(module, x, module(x)) == ""

    class OverAxisZero(BatchNorm2d):
        @property
        def reduce_axes(self):
            return (0,)

    with pytest.raises(AssertionError, match="not over axis 0 only"):
        training_output(OverAxisZero(3), x)


def batch_norm_reference(module, x, ddof):
    """The training output of ``module`` with the variance of ``ddof``."""
    axes = module.reduce_axes
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    return (x - mean) / np.sqrt(var + module.eps)


# -- diagnose: symptoms of any gradient ----------------------------------------------------
def test_a_forward_that_writes_into_its_input_is_named_though_the_failing_input_hides_it():
    class ReLUInPlace(ReLU):
        def forward(self, x):
            x *= x > 0  # the caller's array
            self.save_for_backward(x)
            return x

    x = np.array([0.5, -0.1, 0.3, 0.06])
    ReLUInPlace()(x)  # an earlier check ran it: x holds no negative entry now, and a 0
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(ReLUInPlace(), x)
    assert failure.value.hint.startswith("forward() or backward() modified its input array")


def test_diagnose_names_a_sign_lost_where_x_is_negative():
    from pancake.testing.hints import GENERIC_POINTS, diagnose

    x = np.array(GENERIC_POINTS)
    truth = 3 * x**2 * np.sign(x)  # the derivative of |x|³
    hint = diagnose(np.abs(truth), truth, 2, 4, x=x)
    assert hint.startswith(
        "the gradient has the right size everywhere but the wrong sign exactly where x < 0"
    )
    assert diagnose(-truth, truth, 2, 4, x=x) == "the gradient has the wrong sign"


def test_diagnose_names_a_rearranged_gradient_a_partly_filled_one_and_an_empty_axis():
    from pancake.testing.hints import diagnose, diagnose_shape

    truth = np.random.default_rng(2).standard_normal((2, 3, 4))
    rearranged = truth.reshape(2, 4, 3).transpose(0, 2, 1)
    assert "right values in the wrong places" in diagnose(rearranged, truth, 2, truth.size)
    last_only = np.zeros_like(truth)
    last_only[-1, -1, -1] = truth[-1, -1, -1]
    assert "only 1 of the 24 entries" in diagnose(last_only, truth, 2, truth.size)
    assert "a[p:-p] is empty when p = 0" in diagnose_shape((1, 1, 0, 0), (1, 1, 1, 1))
    otherwise = truth + 0.1 * np.random.default_rng(3).standard_normal(truth.shape)
    assert diagnose(otherwise, truth, 2, truth.size).startswith("the values are wrong")


def test_diagnose_names_a_gradient_moved_by_one_place_along_an_axis():
    from pancake.testing.hints import diagnose

    truth = np.random.default_rng(4).standard_normal((2, 5, 3))
    moved = np.zeros_like(truth)
    moved[:, :-1] = truth[:, 1:]  # entry i of axis 1 holds entry i + 1; the last stays 0
    assert diagnose(moved, truth, 2, truth.size).startswith(
        "the gradient is the true one moved by one place along axis 1: its entry i holds the "
        "value of entry i + 1"
    )
    back = np.zeros_like(truth)
    back[:, :, 1:] = truth[:, :, :-1]
    assert "along axis 2: its entry i holds the value of entry i - 1" in diagnose(
        back, truth, 2, truth.size
    )
    assert "moved by one place" not in diagnose(truth[:, ::-1].copy(), truth, 2, truth.size)


# -- exercise 12: Conv2d's output ----------------------------------------------------------
CONV_MISTAKES = [
    ("stride 1", lambda x, w, b: convolution_by_definition(x, w, b, (1, 1), (1, 1)), "stride 1"),
    (
        "no padding",
        lambda x, w, b: convolution_by_definition(x, w, b, (2, 2), (0, 0)),
        "not padded",
    ),
    (
        "padding on one side",
        lambda x, w, b: convolution_by_definition(
            np.pad(x, ((0, 0), (0, 0), (0, 1), (0, 1))), w, b, (2, 2), (0, 0)
        ),
        "on one side only",
    ),
    (
        "kernels flattened channels first",
        lambda x, w, b: convolution_by_definition(
            x, w.reshape(w.shape[0], 3, 3, w.shape[1]).transpose(0, 3, 1, 2), b, (2, 2), (1, 1)
        ),
        "flatten weight.transpose(0, 2, 3, 1)",
    ),
    (
        "flipped kernel",
        lambda x, w, b: convolution_by_definition(x, w[:, :, ::-1, ::-1], b, (2, 2), (1, 1)),
        "flipped",
    ),
]


def convolution_by_definition(*args):
    from pancake.course.assignments.ex12_convolutions import convolution_by_definition

    return convolution_by_definition(*args)


@pytest.mark.parametrize("name, mistake, words", CONV_MISTAKES, ids=[m[0] for m in CONV_MISTAKES])
def test_each_conv2d_output_mistake_gets_its_hint(name, mistake, words):
    from pancake.course.assignments.ex12_convolutions import conv2d_output_hint
    from pancake.nn.conv import Conv2d

    layer = Conv2d(3, 4, kernel_size=3, stride=2, padding=1, rng=0)
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5))
    output = mistake(x, layer.weight.data, layer.bias.data)
    assert words in conv2d_output_hint(layer, x, output)
    truth = convolution_by_definition(x, layer.weight.data, layer.bias.data, (2, 2), (1, 1))
    assert conv2d_output_hint(layer, x, truth) == ""


def test_the_conv2d_check_names_a_bias_added_after_the_reshape():
    from pancake.course.assignments.ex12_convolutions import (
        check_conv2d_output,
        conv2d_output_hint,
    )
    from pancake.nn.conv import Conv2d

    class BiasLast(Conv2d):
        def forward(self, x):
            output = super().forward(x)
            return output - self.bias.data[:, None, None] + self.bias.data

    layer = BiasLast(2, 3, kernel_size=2, rng=0)
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 3))  # W' = 2: a crash
    expected = convolution_by_definition(x, layer.weight.data, layer.bias.data, (1, 1), (0, 0))
    with pytest.raises(AssertionError, match="lines up with the last axis"):
        check_conv2d_output(layer, x, expected)
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4))  # W' = 3: wrong values
    assert "lines up with the last axis" in conv2d_output_hint(layer, x, layer(x))


def test_arithmetic_on_a_parameter_says_to_use_its_data():
    k = Mul(2.0).k
    for operation in (lambda: k * 2.0, lambda: np.ones(2) * k, lambda: np.ones(2) @ k, lambda: -k):
        with pytest.raises(TypeError, match=r"is not an array: compute with its values, \.data"):
            operation()


# -- exercise 14: walk_tape's seed ---------------------------------------------------------
def test_the_seed_hint_names_a_walk_that_starts_from_ones(monkeypatch):
    from pancake.course.assignments import ex14_tapes

    assert ex14_tapes.seed_hint() == ""
    reference = ex14_tapes.walk_tape

    def from_ones(record, target, seed, is_watched):
        return reference(record, target, np.ones_like(target.data), is_watched)

    monkeypatch.setattr(ex14_tapes, "walk_tape", from_ones)
    assert "walk_tape ignores its seed" in ex14_tapes.seed_hint()


# -- exercise 9: what a low accuracy points to ---------------------------------------------
@pytest.mark.parametrize(
    "layers, outputs, losses, words",
    [
        (
            (Linear(64, 64), ReLU(), Linear(64, 10), ReLU()),
            np.abs,
            (2.3, 0.1),
            "ends with ReLU",
        ),
        ((Linear(64, 64), ReLU(), Linear(64, 10)), np.abs, (2.3, 0.1), "never negative"),
        ((Linear(64, 64), Linear(64, 10)), np.negative, (2.3, 0.1), "not [Linear, ReLU, Linear]"),
        (
            (Linear(64, 64), ReLU(), Linear(64, 10)),
            np.negative,
            (2.3, 50.0),
            "the training loss grows",
        ),
        ((Linear(64, 64), ReLU(), Linear(64, 10)), np.negative, (2.3, 2.2), "hardly goes down"),
        ((Linear(64, 64), ReLU(), Linear(64, 10)), np.negative, (2.3, 0.1), "look at the data"),
    ],
)
def test_the_accuracy_hint_points_to_the_part_of_the_script(layers, outputs, losses, words):
    from types import SimpleNamespace

    from pancake.course.assignments.ex09_debugging import accuracy_hint

    scores = outputs(np.random.default_rng(0).standard_normal((5, 10)))
    history = SimpleNamespace(train_loss=list(losses))
    assert words in accuracy_hint(Sequential(*layers), history, scores)


# -- symptoms of wrong values and shapes ---------------------------------------------------
def test_check_values_names_a_sign_a_factor_and_axes_in_another_order():
    from pancake.testing import check_values

    expected = np.random.default_rng(4).standard_normal((2, 3))
    cases = [
        (-expected, "the sign is wrong"),
        (np.array(-0.7), "the sign is wrong"),
        (3 * expected, "every value is 3 times the expected one"),
        (np.zeros((2, 5, 4, 3)), "the axes are in another order"),
    ]
    for got, words in cases:
        wanted = np.zeros((2, 3, 5, 4)) if got.ndim == 4 else np.asarray(expected)
        wanted = np.array(0.7) if got.ndim == 0 else wanted
        with pytest.raises(AssertionError, match=words):
            check_values("y", got, wanted, formula="f(x)")
    with pytest.raises(AssertionError) as failure:
        check_values("y", np.array(2.1), np.array(0.7), formula="f(x)")  # one value: no factor
    assert "Hint" not in str(failure.value)
    with pytest.raises(AssertionError) as failure:
        check_values("y", expected + 0.1 * expected**2, expected, formula="f(x)")
    assert "Hint" not in str(failure.value)


def test_diagnose_shape_names_an_outer_product_of_two_batches():
    from pancake.testing.hints import diagnose_shape

    related = {"the input x": (4, 3), "grad_output (the output's shape)": (4, 2), "'bias'": (2,)}
    assert "what np.outer gives" in diagnose_shape((12, 8), (3, 2), related)
    assert "what np.outer gives" not in diagnose_shape((12, 8), (3, 2), {})  # no such arrays
    assert "what np.outer gives" not in diagnose_shape((8, 12), (3, 2), {"the input x": (4, 3)})
    one_feature = {"the input x": (4, 1), "grad_output (the output's shape)": (4, 1)}
    assert "what np.outer gives" not in diagnose_shape((4, 4), (1, 1), one_feature)  # or x.T * g
    weight = {"the input x": (4, 1, 1), "'weight'": (1, 3)}  # 4 by 3 entries: a coincidence
    assert "what np.outer gives" not in diagnose_shape((4, 3), (1, 3), weight)
    listed = diagnose_shape((2,), (4, 3, 5), related | {"a row of grad_output": (2,)})
    assert "the shape of 'bias' or of a row of grad_output, (2,)" in listed


def test_diagnose_shape_names_axes_in_another_order():
    from pancake.testing.hints import diagnose_shape

    assert "axes are in another order" in diagnose_shape((2, 5, 4, 3), (2, 3, 5, 4))
    assert "axes are in another order" not in diagnose_shape((2, 5, 4), (2, 5, 3))
    assert "lost axes" in diagnose_shape((6, 3), (2, 3, 3))
    assert "every other axis the parameter does not have" in diagnose_shape((5, 3, 4), (4,))
    assert "lost axes" not in diagnose_shape((6, 3), (2, 3, 4))


class MulKGradientProductOfSums(Mul):
    """dL/dk = sum(g)·sum(x): a product of sums where the sum of products belongs."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.k.grad += np.sum(grad_output) * np.sum(x)
        return self.k.data * grad_output


class CrossEntropySoftmaxOverEverything(CrossEntropyLoss):
    """exp(z) / exp(z).sum(): the softmax normalised over the whole batch."""

    def backward(self):
        logits, target = self.saved_tensors
        exp = np.exp(logits)
        return (exp / exp.sum() - target) / len(logits)


@pytest.mark.parametrize(
    "module, inputs, words",
    [
        (MulKGradientProductOfSums(2.0), BATCH, "a product of sums"),
        (
            CrossEntropySoftmaxOverEverything(),
            (np.zeros((2, 3)), np.array([0, 1])),
            "normalised over every entry of the batch at once",
        ),
    ],
)
def test_the_product_of_sums_and_the_softmax_over_everything_are_named(module, inputs, words):
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(module, *inputs)
    assert words in failure.value.hint


def test_the_product_of_sums_hint_stays_silent_on_the_true_gradient():
    rng = np.random.default_rng(5)
    direction, x = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert parameter_hint("k", np.sum(direction * x), np.array(1.7), direction, x) is None


@pytest.mark.parametrize(
    "forward, words",
    [
        (lambda layers, x: applied(layers[::-1], x), "applied last to first"),
        (lambda layers, x: applied([*layers, layers[-1]], x), "then the last one again"),
        (lambda layers, x: x, "no layer at all, the input itself"),
    ],
)
def test_the_sequential_output_check_names_the_order_a_layer_applied_twice_and_none(forward, words):
    from pancake.course.assignments.ex05_sequential import layers_applied_hint

    layers = [Linear(3, 3, rng=0), Tanh(), Linear(3, 3, rng=1), Tanh()]
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert words in layers_applied_hint(layers, x, forward(layers, x))
    assert layers_applied_hint(layers, x, applied(layers, x)) == ""


def applied(layers, x):
    for layer in layers:
        x = layer(x)
    return x


def test_a_key_error_in_walk_tape_says_to_read_gradients_with_get(monkeypatch):
    from pancake.course.assignments import ex14_tapes

    def by_index(operations, target, seed, is_watched):
        grads = {target: seed}
        for _, output in reversed(operations):
            grads[output]  # noqa: B018 - the mistake: a KeyError for an output the target skips
        return grads

    monkeypatch.setattr(ex14_tapes, "walk_tape", by_index)
    with pytest.raises(AssertionError, match=r"read it with grads.get\(output\)"):
        ex14_tapes.test_walk_tape_skips_what_the_target_does_not_need.hypothesis.inner_test(
            np.array([0.5, -1.0])
        )


# -- exercise 12: MaxPool2d's backward -----------------------------------------------------
def max_pool_with(backward):
    """A MaxPool2d whose backward is ``backward(x, grad_output, kernel, stride)``."""
    from pancake.nn.conv import MaxPool2d

    class Pool(MaxPool2d):
        def forward(self, x):
            self.x = x
            return super().forward(x)

        def backward(self, grad_output):
            return backward(self.x, grad_output, self.kernel_size, self.stride)

    return Pool


def _max_pool_cases():
    from pancake.course.assignments.ex12_convolutions import MAX_POOL_MISTAKES

    return list(MAX_POOL_MISTAKES.items())


@pytest.mark.parametrize("hint, switches", _max_pool_cases())
def test_each_max_pool_mistake_gets_its_hint(hint, switches):
    from pancake.course.assignments.ex12_convolutions import (
        max_pool_backward_hint,
        routed_to_winners,
    )

    def backward(x, grad_output, kernel, stride):
        return routed_to_winners(x, grad_output, kernel, stride, **switches)

    assert max_pool_backward_hint(max_pool_with(backward)) == hint


def test_the_max_pool_hint_stays_silent_on_the_reference():
    from pancake.course.assignments.ex12_convolutions import max_pool_backward_hint
    from pancake.nn.conv import MaxPool2d

    assert max_pool_backward_hint(MaxPool2d) == ""


# -- exercise 7: the transform ---------------------------------------------------------------
def test_a_transform_applied_twice_is_named(monkeypatch):
    from pancake.course.assignments import ex07_data
    from pancake.data import DataLoader

    class TransformsTwice(DataLoader):
        def fetch(self, indices):
            inputs, targets = super().fetch(indices)
            return self.transform(inputs), targets

    monkeypatch.setattr(ex07_data, "DataLoader", TransformsTwice)
    with pytest.raises(AssertionError, match="applied twice"):
        ex07_data.test_data_loader_transform.hypothesis.inner_test(3, 2, False)
    monkeypatch.setattr(ex07_data, "DataLoader", DataLoader)
    ex07_data.test_data_loader_transform.hypothesis.inner_test(3, 2, False)


# -- session 4 (A): shapes related to the arrays in play, containers, element-wise products
@pytest.mark.parametrize(
    "got, expected, related, words",
    [
        ((2,), (1, 2), {}, "the gradient lost axis 0 of the tensor's shape (1, 2)"),
        ((3,), (4, 3), {}, "lost axis 0"),
        ((4, 16), (4, 4), {}, "axis 1 of the gradient is 4 times too long"),
        ((2, 6, 16), (2, 3, 4), {}, "np.tile or np.repeat"),
        ((1, 1, 7, 8), (1, 1, 6, 8), {}, "axis 2 of the gradient has +1 entries"),
        ((2, 3, 7, 6), (2, 3, 6, 5), {}, "Crop a padded axis with [p : p + n]"),
        # twice as long, and as long as the padding of 2 on each side leaves it: the padding
        ((3, 3, 3, 8), (3, 3, 3, 4), {}, "axis 3 of the gradient has +4 entries"),
        ((3, 3, 3, 8), (3, 3, 3, 4), {}, "the padding (2 on each side) still on"),
        ((1, 1, 1, 3), (1, 1, 1, 1), {}, "the padding (1 on each side) still on"),
        ((1, 1), (4, 1), {}, "axis 0 of the gradient has length 1 where the tensor has 4"),
        ((4, 4), (1, 1), {}, "broadcast along axes 0 and 1"),
        ((3,), (4,), {}, "grad_output[x > 0]"),
        ((4,), (2, 3), {}, "boolean selection"),
        ((1, 1), (), {}, "keepdims=True"),
        ((1, 3), (3,), {}, "keepdims=True"),
        ((4, 3), (2, 5), {"grad_output": (4, 3)}, "the shape of grad_output, (4, 3)"),
    ],
)
def test_diagnose_shape_relates_the_wrong_shape_to_the_tensor_and_the_arrays_in_play(
    got, expected, related, words
):
    from pancake.testing.hints import diagnose_shape

    assert words in diagnose_shape(got, expected, related, of_input=True)


def test_a_padding_is_named_only_for_the_gradient_of_an_input():
    from pancake.testing.hints import diagnose_shape

    assert "padding" in diagnose_shape((1, 1, 3, 3), (1, 1, 3, 1), of_input=True)
    assert "padding" not in diagnose_shape((1, 1, 3, 3), (1, 1, 3, 1))  # a kernel's


def test_diagnose_shape_keeps_its_fallback_for_unrelated_shapes():
    from pancake.testing.hints import diagnose_shape

    hint = diagnose_shape((4, 3), (2, 5), {"grad_output": (4, 2)})
    assert hint == "the gradient must have the shape of the tensor, (2, 5), not (4, 3)"


class SquareByMatrixProduct(Square):
    """grad_output @ 2x: a matrix product where the chain rule is entry by entry."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        return grad_output @ (2 * x)


class SquareSumsGradOutput(Square):
    """np.sum(grad_output) * 2x: grad_output summed before the product."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        return np.sum(grad_output) * 2 * x


class TanhAveragesGradOutput(Tanh):
    """np.mean(grad_output) * (1 - y²): grad_output averaged before the product."""

    def backward(self, grad_output):
        (y,) = self.saved_tensors
        return np.mean(grad_output) * (1 - y * y)


class SquareSavesNothing(Square):
    """forward without save_for_backward: backward finds nothing saved."""

    def forward(self, x):
        return np.asarray(x, dtype=float) ** 2


class ReLUSelectsTheEntries(ReLU):
    """grad_output[x > 0]: a boolean selection, flat, where a mask product belongs."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        return grad_output[x > 0]


class CrossEntropyAveragedOverTheBatch(CrossEntropyLoss):
    """(softmax - target) / batch, then its mean over the batch axis: one row for all."""

    def backward(self):
        logits, target = self.saved_tensors
        return np.mean((softmax(logits) - target) / len(logits), axis=0)


class SequentialNegativeIndices(Sequential):
    """self.layers[-i] for i in range(n): -0 is the first layer, then the last, ..."""

    def backward(self, grad_output):
        for i in range(len(self.layers)):
            grad_output = self.layers[-i].backward(grad_output)
        return grad_output


class SequentialForwardStopsShort(Sequential):
    """forward over range(len(self.layers) - 1): the last layer never runs."""

    def forward(self, x):
        for i in range(len(self.layers) - 1):
            x = self.layers[i](x)
        return x


def four_layers(cls):
    return cls(Linear(2, 2, rng=0), Tanh(), Linear(2, 2, rng=1), Tanh())


SESSION_4_MISTAKES = [
    Case("square: g @ 2x, one entry", SquareByMatrixProduct(), (np.array([0.5]),), ("@",)),
    Case("square: g @ 2x", SquareByMatrixProduct(), BATCH, ("entry by entry",)),
    Case("square: sum(g) * 2x", SquareSumsGradOutput(), BATCH, ("reduced to one number",)),
    Case("tanh: mean(g) (1 - y²)", TanhAveragesGradOutput(), BATCH, ("reduced to one number",)),
    Case("square: nothing saved", SquareSavesNothing(), BATCH, ("save_for_backward",)),
    Case("relu: g[x > 0]", ReLUSelectsTheEntries(), BATCH, ("boolean selection",)),
    Case(
        "cross-entropy: averaged over the batch",
        CrossEntropyAveragedOverTheBatch(),
        (np.array([[0.2, -1.0, 0.7], [1.3, 0.1, -0.4]]), np.array([0, 2])),
        ("lost axis 0",),
    ),
    Case(
        "sequential: layers[-i]",
        four_layers(SequentialNegativeIndices),
        (np.array([[0.5, -1.0], [1.5, 0.3]]),),
        ("in the order [0, 3, 2, 1]", "self.layers[-i] with i = 0"),
    ),
    Case(
        "sequential: forward stops one short",
        four_layers(SequentialForwardStopsShort),
        (np.array([[0.5, -1.0], [1.5, 0.3]]),),
        ("forward never runs module 3",),
    ),
]


@pytest.mark.parametrize("case", SESSION_4_MISTAKES, ids=lambda case: case.name)
def test_each_session_4_mistake_fails_with_a_hint_that_names_it(case):
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(case.module, *case.inputs)
    for word in case.words:
        assert word in failure.value.hint, f"{case.name}: {failure.value.hint!r} lacks {word!r}"


def test_the_container_and_element_wise_hints_stay_silent_on_right_modules():
    from pancake.testing.hints import container_order_hint, elementwise_hint, forward_skips_hint

    model = four_layers(Sequential)
    x = np.array([[0.5, -1.0], [1.5, 0.3]])
    assert container_order_hint(model, x, np.ones((2, 2))) is None
    assert forward_skips_hint(model, x) is None
    assert elementwise_hint(Square()) is None
    assert elementwise_hint(ReLU()) is None


class BatchNormWithoutWeight(BatchNorm2d):
    """dL/dx̂ = grad_output, without the factor γ (weight)."""

    def backward(self, grad_output):
        weight = self.weight.data.copy()
        self.weight.data = np.ones_like(weight)
        try:
            return super().backward(grad_output)
        finally:
            self.weight.data = weight


class BatchNormGradientsSwapped(BatchNorm2d):
    """weight.grad gets sum(g), bias.grad sum(g · x̂): the two gradients swapped."""

    def backward(self, grad_output):
        weight_before, bias_before = self.weight.grad.copy(), self.bias.grad.copy()
        grad_x = super().backward(grad_output)
        weight_added = self.weight.grad - weight_before
        bias_added = self.bias.grad - bias_before
        self.weight.grad, self.bias.grad = weight_before + bias_added, bias_before + weight_added
        return grad_x


@pytest.mark.parametrize(
    "cls, words",
    [
        (
            BatchNormWithoutWeight,
            "off by a factor equal to 'weight' (one value per entry of axis 1)",
        ),
        (BatchNormGradientsSwapped, "the true gradient of 'bias': the two are swapped"),
    ],
)
def test_a_factor_of_a_parameter_and_swapped_gradients_are_named(cls, words):
    module = cls(3)
    module.weight.data = np.array([0.7, 1.3, 1.9])  # γ = 1 would hide a missing factor γ
    x = np.random.default_rng(2).standard_normal((4, 3, 2, 2))
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(module, x)
    assert words in failure.value.hint


def test_the_parameter_factor_and_swap_hints_stay_silent_on_a_right_batch_norm():
    module = BatchNorm2d(3)
    module.weight.data = np.array([0.7, 1.3, 1.9])
    check_gradients(module, np.random.default_rng(2).standard_normal((4, 3, 2, 2)))


def _over(axis):
    return lambda values: values.mean(axis=axis, keepdims=True)


@pytest.mark.parametrize(
    "formula, words",
    [
        (
            lambda s, g, x_hat, mean, total: s * (g - _over(0)(g) - x_hat * _over(0)(g * x_hat)),
            "the means are taken over axis 0, not over `axes`",
        ),
        (
            lambda s, g, x_hat, mean, total: (
                s * (g - _over(None)(g) - x_hat * _over(None)(g * x_hat))
            ),
            "the means are taken over every axis, not over `axes`",
        ),
        (
            lambda s, g, x_hat, mean, total: s * (g - mean(g) - 4 / 3 * x_hat * mean(g * x_hat)),
            "inv_std·x̂·mean(ĝ·x̂) has the factor -1.333, not -1 (a factor N/(N - 1)",
        ),
        (
            lambda s, g, x_hat, mean, total: s * (g - mean(g) - mean(g * x_hat)),
            "an extra term -1·inv_std·mean(ĝ·x̂) (no factor x̂)",
        ),
    ],
)
def test_standardize_backward_mistakes_outside_the_list_are_described_term_by_term(formula, words):
    """Axes (1,) of the generic (3, 4, 5) input: 4 values per mean, so N/(N - 1) = 4/3."""
    from pancake.course.assignments.ex13_normalization import standardize_backward_hint

    assert words in standardize_backward_hint(standardize_backward_from(formula), 3, (1,))


def test_the_term_by_term_hint_is_silent_on_what_is_no_sum_of_the_terms():
    from pancake.course.assignments.ex13_normalization import standardize_backward_hint

    def squared(grad_x_hat, x_hat, inv_std, axes):
        return inv_std * grad_x_hat**2

    assert standardize_backward_hint(squared, 3, (1,)) == ""


class BatchNormUpdatesInEval(BatchNorm2d):
    """In eval mode, running_mean moves towards the batch mean after each forward."""

    def forward(self, x):
        output = super().forward(x)
        if not self.training:
            self.running_mean[...] = 0.9 * self.running_mean + 0.1 * x.mean(axis=(0, 2, 3))
        return output


def test_a_forward_that_changes_the_module_is_named_not_blamed_on_backward():
    from pancake.testing.hints import changed_by_forward_hint

    module = BatchNormUpdatesInEval(3).eval()
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(module, np.random.default_rng(2).standard_normal((4, 3, 2, 2)))
    assert "forward changes the module" in failure.value.hint
    assert changed_by_forward_hint(np.ones(3), np.ones(3)) is None
    assert changed_by_forward_hint(np.array([np.nan, 1.0]), np.array([np.nan, 1.0])) is None
    check_gradients(BatchNorm2d(3).eval(), np.random.default_rng(2).standard_normal((4, 3, 2, 2)))


class LinearFlattensXWithOutFeatures(Linear):
    """rows = x.reshape(-1, out_features): x flattened with grad_output's length."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        rows = x.reshape(-1, self.out_features)
        self.weight.grad += rows.T @ grad_output.reshape(-1, self.out_features)
        return grad_output @ self.weight.data.T


class LinearTransposesABatch(Linear):
    """(W @ grad_output.T).T: .T of a 3-d grad_output reverses every axis."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad += x.reshape(-1, self.in_features).T @ grad_output.reshape(
            -1, self.out_features
        )
        self.bias.grad += grad_output.reshape(-1, self.out_features).sum(axis=0)
        return (self.weight.data @ grad_output.T).T


@pytest.mark.parametrize(
    "module, x, words",
    [
        (LinearFlattensXWithOutFeatures(3, 7, rng=0), np.ones((4, 3)), "with the length 7"),
        (LinearTransposesABatch(3, 2, rng=0), np.ones((2, 4, 3)), ".swapaxes(-1, -2)"),
    ],
)
def test_a_reshape_with_another_arrays_length_and_a_batched_transpose_are_named(module, x, words):
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(module, x)
    assert words in failure.value.hint


class Conv2dRowsWithoutTranspose(Conv2d):
    """grad_rows = grad_output.reshape(-1, C_out): the channels not moved last first."""

    def backward(self, grad_output):
        n, channels, height, width = grad_output.shape
        as_rows = grad_output.reshape(n, height, width, channels).transpose(0, 3, 1, 2)
        return super().backward(np.ascontiguousarray(as_rows))


def test_grad_output_read_in_another_layout_is_named_and_a_right_conv_gets_no_such_hint():
    x = np.random.default_rng(3).standard_normal((2, 2, 5, 4))
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(Conv2dRowsWithoutTranspose(2, 3, 3, padding=1, rng=0), x)
    assert "into rows without a transpose" in failure.value.hint
    check_gradients(Conv2d(2, 3, 3, padding=1, rng=0), x)


def test_check_values_names_values_in_the_wrong_places_and_an_image_of_other_lengths():
    from pancake.testing import check_values

    expected = np.arange(24.0).reshape(1, 2, 3, 4)
    rearranged = expected.reshape(1, 3, 4, 2).transpose(0, 3, 1, 2)
    with pytest.raises(AssertionError, match="the values are right but in the wrong places"):
        check_values("y", rearranged, expected, formula="f")
    with pytest.raises(AssertionError) as failure:
        check_values("y", np.zeros((1, 2, 4, 2)), np.zeros((1, 2, 3, 3)), formula="f")
    assert "which padding, kernel size and stride go with the height" in str(failure.value)
    with pytest.raises(AssertionError) as failure:
        check_values("y", expected + 1, expected, formula="f")
    assert "wrong places" not in str(failure.value)


class LinearBiasFromTheInput(Linear):
    """dL/db = the sum of x's rows: the input where grad_output belongs."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        rows = x.reshape(-1, self.in_features)
        self.weight.grad += rows.T @ grad_output.reshape(-1, self.out_features)
        self.bias.grad += rows.sum(axis=0)
        return grad_output @ self.weight.data.T


@pytest.mark.parametrize(
    "module, words",
    [
        (LinearBiasFromTheInput(3, 3, rng=0), "computed from the input x where grad_output"),
        (LinearBiasFromTheInput(3, 2, rng=0), "the shape of a row of the input x"),
    ],
)
def test_the_input_used_where_grad_output_belongs_is_named(module, words):
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(module, np.random.default_rng(0).standard_normal((4, 3)))
    assert words in failure.value.hint


def test_a_matrix_product_written_for_matrices_only_is_named_on_stacks_of_them():
    from pancake.autograd.functions import Matmul, unbroadcast
    from pancake.testing import check_function_gradients

    class MatmulByDot(Matmul):
        """np.dot for the products: not a batched matrix product for 3-d operands."""

        def backward(self, grad):
            a, b = self.saved_tensors
            grad_a = np.dot(grad, np.swapaxes(b, -1, -2))
            grad_b = np.dot(np.swapaxes(a, -1, -2), grad)
            return unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape)

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))
    with pytest.raises(GradientCheckError) as failure:
        check_function_gradients(MatmulByDot, a, b)
    assert "right for matrices but not for stacks of them" in failure.value.hint
    check_function_gradients(MatmulByDot, a[0], b)  # right on matrices: no failure at all
    check_function_gradients(Matmul, a, b)


def test_unbroadcast_returning_grad_as_it_is_is_named():
    from pancake.autograd.functions import unbroadcast
    from pancake.testing import check_unbroadcast

    def shortcut_by_size(grad, shape):
        return grad if grad.size == np.prod(shape) else unbroadcast(grad, shape)

    with pytest.raises(
        AssertionError, match=r"test grad.shape == shape \(grad has as many entries"
    ):
        check_unbroadcast(shortcut_by_size, np.ones((1, 3)), (3,))
    check_unbroadcast(shortcut_by_size, np.ones((2, 3)), (1, 3))  # right where it does the work


class SquareReturnsATuple(Square):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        return grad_output * 2 * x, None


class SequentialIndexesPastTheEnd(Sequential):
    def backward(self, grad_output):
        for i in range(len(self.layers), 0, -1):
            grad_output = self.layers[i].backward(grad_output)
        return grad_output


class TanhHalfDerivative(Tanh):
    """(1 - y²) / 2: a factor of the derivative, on an element-wise module."""

    def backward(self, grad_output):
        (y,) = self.saved_tensors
        return grad_output * (1 - y * y) / 2


@pytest.mark.parametrize(
    "module, x, words",
    [
        (SquareReturnsATuple(), BATCH[0], "backward returned a tuple of 2 values"),
        (four_layers(SequentialIndexesPastTheEnd), np.ones((2, 2)), "indices 0 to 3"),
        (TanhHalfDerivative(), np.ones((2, 2)), "half the true one"),
    ],
)
def test_a_tuple_an_index_past_the_end_and_an_element_wise_factor_are_named(module, x, words):
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(module, x)
    assert words in failure.value.hint
    assert "batch size" not in failure.value.hint


def test_a_scaled_argument_of_an_activation_is_named_and_silent_on_the_truth():
    from pancake.course.assignments.ex04_activations_losses import scaled_argument_hint

    class TanhOfTwiceX(Tanh):
        def forward(self, x):
            return np.tanh(2 * np.asarray(x, dtype=float))

    assert "replaced by 2x" in scaled_argument_hint(TanhOfTwiceX(), np.tanh, "tanh(x)")
    assert scaled_argument_hint(Tanh(), np.tanh, "tanh(x)") == ""


def test_the_training_formula_in_eval_mode_is_named_and_silent_on_the_truth():
    from pancake.course.assignments.ex13_normalization import (
        batch_formula_in_eval,
        check_eval_gradients,
    )
    from pancake.nn.normalization import standardize_backward

    class BatchNormAlwaysTrainingFormula(BatchNorm2d):
        def backward(self, grad_output):
            x_hat, inv_std, _ = self.saved_tensors
            self.weight.grad += (grad_output * x_hat).sum(axis=self.reduce_axes)
            self.bias.grad += grad_output.sum(axis=self.reduce_axes)
            grad_x_hat = grad_output * self.per_channel(self.weight.data)
            return standardize_backward(grad_x_hat, x_hat, inv_std, self.reduce_axes)

    x = np.random.default_rng(4).standard_normal((4, 3, 2, 2))
    with pytest.raises(GradientCheckError, match="the running statistics are constants"):
        check_eval_gradients(BatchNormAlwaysTrainingFormula(3).eval(), x)
    assert not batch_formula_in_eval(BatchNorm2d(3), x)
    check_eval_gradients(BatchNorm2d(3).eval(), x)


def test_a_scalar_gradient_kept_with_keepdims_is_named():
    class MulKeepsDims(Mul):
        def backward(self, grad_output):
            (x,) = self.saved_tensors
            self.k.grad += np.sum(grad_output * x, keepdims=True)
            return self.k.data * grad_output

    with pytest.raises(GradientCheckError, match="keepdims=True"):
        check_gradients(MulKeepsDims(2.0), np.array([[0.5, -1.0], [1.5, 0.3]]))


def test_operands_that_line_up_after_a_transpose_are_named():
    from pancake.testing.gradcheck import _transposed_operand

    related = {"grad_output (the output's shape)": (4, 2, 3, 5)}
    hint = _transposed_operand((6, 4, 3, 5, 2), (4, 2, 3, 5), related)
    assert (
        "grad_output, of shape (4, 2, 3, 5), lines up with the other after .transpose(0, 2, 3, 1)"
        in hint
    )
    assert _transposed_operand((6, 4, 3, 5, 2), (4, 7, 3, 5), related) is None


def test_where_a_gradient_is_wrong_is_said_when_it_is_telling():
    from pancake.testing.hints import where_wrong_hint

    rng = np.random.default_rng(6)
    x, true = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    negatives_wrong = np.where(x < 0, 0.3 * true, true)
    assert "exactly where x < 0" in where_wrong_hint(negatives_wrong, true, x)
    image = rng.standard_normal((2, 3, 5, 6))
    border_wrong = image.copy()
    border_wrong[:, :, 0, :] += 1.0
    assert "only at the border of the image" in where_wrong_hint(border_wrong, image)
    last_row_wrong = true.copy()
    last_row_wrong[-1] *= 2
    assert "only at index 3 of axis 0" in where_wrong_hint(last_row_wrong, true)
    assert where_wrong_hint(true + 1.0, true, x) is None  # wrong everywhere: nothing to locate
    assert where_wrong_hint(true, true, x) is None


def test_a_flat_gradient_of_every_entry_is_named_too():
    from pancake.testing.hints import diagnose_shape

    assert "boolean selection" in diagnose_shape((6,), (2, 3))  # every x > 0: all selected


def test_a_constant_factor_seen_on_two_values_that_sum_to_zero_is_not_claimed(monkeypatch):
    """Two values per channel: dL/dx is (d, -d) whatever the mistake, so any wrong gradient
    is 'a constant factor' of the true one there. The claim must hold on the generic input
    too, or the hint says no more than that the values are wrong."""
    import pancake.nn.normalization as normalization

    def squared_x_hat(grad_x_hat, x_hat, inv_std, axes):  # x̂² where x̂ belongs
        mean_grad = grad_x_hat.mean(axis=axes, keepdims=True)
        along = (grad_x_hat * x_hat**2).mean(axis=axes, keepdims=True)
        return inv_std * (grad_x_hat - mean_grad - x_hat * along)

    monkeypatch.setattr(normalization, "standardize_backward", squared_x_hat)
    x = np.array([[[[0.3]]], [[[-1.2]]]])  # (N, C, H, W) = (2, 1, 1, 1)
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(BatchNorm2d(1), x)
    assert "constant factor" not in failure.value.hint


def test_an_array_made_from_the_shape_tuple_is_named_only_where_no_likelier_cause_fits():
    from pancake.testing.hints import made_from_the_shape

    assert "one per axis of the tensor's shape (2, 3, 4)" in made_from_the_shape(
        (1, 1, 3), (2, 3, 4)
    )
    assert "np.ones(shape)" in made_from_the_shape((0,), ())
    assert made_from_the_shape((1,), (4,)) is None  # one axis: a sum with keepdims fits too
    assert made_from_the_shape((2, 3), (2, 3)) is None
    assert made_from_the_shape((3, 2), (3, 2, 2)) is None  # the last axis is the tensor's
    assert made_from_the_shape((1, 3, 3), (1, 1, 1)) is None  # stretched: a broadcast


def test_grad_output_nonlinearity_tells_an_offset_from_a_square_and_linear_from_both():
    from pancake.testing.hints import grad_output_nonlinearity

    a, b = np.array([0.5, -1.5, 2.0]), np.array([1.0, 0.25, -3.0])
    results = {
        "linear": [t * a for t in (1, 2, 3)],
        "offset": [t * a + b for t in (1, 2, 3)],
        "square": [t * a + t * t * b for t in (1, 2, 3)],
        "cube": [t * a + t**3 * b for t in (1, 2, 3)],
        "constant": [b for t in (1, 2, 3)],
        "comparison": [(a > 0).astype(float) for t in (1, 2, 3)],
    }
    kinds = {name: grad_output_nonlinearity(*values) for name, values in results.items()}
    assert kinds == {
        "linear": None,
        "offset": "offset",
        "square": "square",
        "cube": None,
        "constant": "constant",
        "comparison": "comparison",
    }


class LinearWithTheMathsOrder(Linear):
    def backward(self, grad_output):
        weight = self.weight.data
        return weight @ grad_output  # (in, out) @ (N, out): the inner sizes differ


def test_a_gradient_check_names_the_product_that_crashed_in_backward():
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(LinearWithTheMathsOrder(3, 2, rng=0), np.ones((4, 3)))
    assert (
        "\nHint: `weight @ grad_output` multiplies `weight` of shape (3, 2) by `grad_output` of "
        "shape (4, 2): the last axis of the left factor (2) must match"
    ) in str(failure.value)


class TanhComputingTan(Tanh):
    def forward(self, x):
        y = np.tan(x)
        self.save_for_backward(y)
        return y


def test_a_right_backward_under_a_wrong_forward_points_at_the_forward():
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(TanhComputingTan(), np.array([[0.3, -0.8], [1.1, 0.5]]))
    assert (
        "backward multiplies grad_output by 1 - y², the derivative of tanh written with its "
        "output y, but the derivative of your forward is 1 + y²: if the module is tanh, its "
        "forward is what is wrong"
    ) in failure.value.hint


class CrossEntropySavedPairSwapped(CrossEntropyLoss):
    """Reads the saved (logits, target_probs) back as target_probs, logits."""

    def backward(self):
        target_probs, logits = self.saved_tensors
        return (softmax(logits) - target_probs) / len(logits)


class CrossEntropyWithoutTheBatch(CrossEntropyLoss):
    """Reads the pair in its order, but forgets to divide by the batch."""

    def backward(self):
        logits, target_probs = self.saved_tensors
        return softmax(logits) - target_probs


def test_saved_tensors_read_in_another_order_are_named_and_only_then():
    logits, labels = np.random.default_rng(0).standard_normal((4, 3)), np.array([0, 2, 1, 1])
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(CrossEntropySavedPairSwapped(), logits, labels)
    assert "reads self.saved_tensors in another order than forward saved them" in (
        failure.value.hint
    )
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(CrossEntropyWithoutTheBatch(), logits, labels)
    assert "another order" not in failure.value.hint
    check_gradients(CrossEntropyLoss(), logits, labels)  # the truth passes
