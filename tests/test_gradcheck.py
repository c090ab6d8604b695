"""The gradient checker is a grading tool: it never fails a correct module and catches each mistake."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pancake.nn import (
    AvgPool2d,
    BCELoss,
    BCEWithLogitsLoss,
    Conv2d,
    CrossEntropyLoss,
    LeakyReLU,
    Linear,
    Module,
    MSELoss,
    Mul,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Softmax,
    Square,
    Tanh,
)
from pancake.ops import softmax
from pancake.testing import GradientCheckError, check_gradients, numerical_gradient
from pancake.testing import strategies as pst

pytestmark = pytest.mark.ex01

# ---------------------------------------------------------------------------
# numerical_gradient


def test_numerical_gradient_of_a_quadratic_is_exact():
    a = np.array([[1.0, -2.0], [0.5, 3.0]])
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    grad = numerical_gradient(lambda v: np.sum(a * v**2), x)
    np.testing.assert_allclose(grad, 2 * a * x, rtol=1e-8)


def test_numerical_gradient_leaves_its_argument_unchanged_and_returns_float64():
    x = np.array([1.0, 2.0], dtype=np.float32)
    grad = numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
    assert grad.dtype == np.float64
    np.testing.assert_array_equal(x, np.array([1.0, 2.0], dtype=np.float32))
    np.testing.assert_allclose(grad, np.cos([1.0, 2.0]), rtol=1e-8)


# ---------------------------------------------------------------------------
# a correct module never fails: every layer and loss, scales 1e-2..1e2, batch 1..8


@st.composite
def correct_cases(draw):
    """A correct module and inputs for it, over batch sizes 1-8 and input scales 1e-2-1e2."""
    batch, features, outputs = (
        draw(pst.batch_sizes()),
        draw(pst.feature_sizes()),
        draw(pst.feature_sizes()),
    )
    scale = draw(pst.scales())
    x = draw(pst.arrays((batch, features), scale=scale))
    away_from_kink = draw(pst.arrays((batch, features), scale=scale, kink_margin=0.1))
    seed = draw(pst.seeds())
    kind = draw(
        st.sampled_from(
            [
                "linear",
                "relu",
                "leaky",
                "sigmoid",
                "tanh",
                "softmax",
                "square",
                "mul",
                "mlp",
                "residual",
                "mse",
                "bce",
                "bce_logits",
                "cross_entropy",
                "cross_entropy_onehot",
            ]
        )
    )
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, 2, size=x.shape).astype(float)
    labels = draw(pst.labels(batch, features))
    cases = {
        "linear": lambda: (Linear(features, outputs, rng=seed), x),
        "relu": lambda: (ReLU(), away_from_kink),
        "leaky": lambda: (LeakyReLU(0.1), away_from_kink),
        "sigmoid": lambda: (Sigmoid(), x),
        "tanh": lambda: (Tanh(), x),
        "softmax": lambda: (Softmax(), x),
        "square": lambda: (Square(), x),
        "mul": lambda: (Mul(float(rng.normal())), x),
        "mlp": lambda: (
            Sequential(
                Linear(features, outputs, rng=seed), Tanh(), Linear(outputs, 2, rng=seed + 1)
            ),
            x,
        ),
        "residual": lambda: (Residual(Sequential(Linear(features, features, rng=seed), Tanh())), x),
        "mse": lambda: (MSELoss(), x, scale * rng.standard_normal(x.shape)),
        "bce": lambda: (BCELoss(), draw(pst.probabilities(x.shape)), targets),
        "bce_logits": lambda: (BCEWithLogitsLoss(), x, targets),
        "cross_entropy": lambda: (CrossEntropyLoss(), x, labels),
        "cross_entropy_onehot": lambda: (CrossEntropyLoss(), x, np.eye(features)[labels]),
    }
    return cases[kind]()


@settings(max_examples=300)
@given(correct_cases())
def test_a_correct_module_always_passes(case):
    module, *inputs = case
    report = check_gradients(module, *inputs)
    assert "OK" in str(report)


def test_report_is_a_table_with_one_row_per_tensor():
    report = check_gradients(Linear(3, 2, rng=0), np.ones((4, 3)))
    text = str(report)
    for name in ("input", "weight", "bias", "max abs err", "max rel err", "(4, 3)", "(3, 2)"):
        assert name in text
    assert [c.name for c in report.comparisons] == ["input", "weight", "bias"]


def test_float32_modules_are_checked_in_float64_on_a_copy():
    layer = Linear(4, 3, rng=0, dtype=np.float32)
    weight_before = layer.weight.data.copy()
    check_gradients(layer, np.ones((2, 4), dtype=np.float32))
    assert layer.weight.data.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.data, weight_before)
    assert not np.any(layer.weight.grad)


# ---------------------------------------------------------------------------
# the catalog of mistakes: each one is caught, with the right hint


class BiasNotSummed(Linear):
    """Adds the per-example bias gradients without summing over the batch."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad += x.T @ grad_output
        self.bias.grad = self.bias.grad + grad_output
        return grad_output @ self.weight.data.T


class WeightGradTransposed(Linear):
    """dW = gᵀ x instead of xᵀ g."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad = self.weight.grad + grad_output.T @ x
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


class InputGradUsesUntransposedWeight(Linear):
    """dx = g W instead of g Wᵀ (only runs when the layer is square)."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad += x.T @ grad_output
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data


class InputGradPlusBias(Linear):
    """dx = g Wᵀ + b: backward mirrors forward's x W + b."""

    def backward(self, grad_output):
        return super().backward(grad_output) + self.bias.data


class BiasGradIntoWeight(Linear):
    """The bias gradient added to weight.grad as well (a copy-paste slip): bias.grad unset."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad += x.T @ grad_output
        self.weight.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


class InputGradMinusX(Linear):
    """dx = g Wᵀ - x: the input itself subtracted."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        return super().backward(grad_output) - x


class InputGradTimesX(Linear):
    """dx = (g Wᵀ) * x: an extra factor, the input itself, entry by entry."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        return super().backward(grad_output) * x


class WeightGradFromReshapedRows(Linear):
    """dW = x.reshape(in, -1) @ g: a reshape where the transpose belongs."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad += x.reshape(self.in_features, -1) @ grad_output
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


class WeightGradByOuter(Linear):
    """dW = np.outer(x, g): the one-example formula on a batch."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad += np.outer(x, grad_output)
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


class WeightGradOverwritten(Linear):
    """``=`` instead of ``+=``: a second backward pass replaces the gradient."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad = x.T @ grad_output
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output @ self.weight.data.T


class WeightGradOnePartInAThousand(Linear):
    """The weight gradient is 0.1 % too large."""

    def backward(self, grad_output):
        grad_input = super().backward(grad_output)
        (x,) = self.saved_tensors
        self.weight.grad += 1e-3 * (x.T @ grad_output)
        return grad_input


class WeightGradFewPartsInAMillion(Linear):
    """The weight gradient is 3e-6 too large: a factor that prints as 1 at six digits."""

    def backward(self, grad_output):
        grad_input = super().backward(grad_output)
        (x,) = self.saved_tensors
        self.weight.grad += 3e-6 * (x.T @ grad_output)
        return grad_input


class SigmoidWrongSign(Sigmoid):
    def backward(self, grad_output):
        (y,) = self.saved_tensors
        return -grad_output * y * (1 - y)


class TanhWrongCache(Tanh):
    """Uses 1 - x² (the input) where 1 - y² (the output) is needed."""

    def forward(self, x):
        self.save_for_backward(np.asarray(x, dtype=float))
        return np.tanh(x)


class TanhOneMinusY(Tanh):
    """1 - y instead of 1 - y²: a wrong polynomial of the output."""

    def backward(self, grad_output):
        (y,) = self.saved_tensors
        return grad_output * (1 - y)


class TanhCosine(Tanh):
    """cos(x): a wrong derivative none of the hint's hypotheses predicts."""

    def forward(self, x):
        self.x = np.asarray(x, dtype=float)
        return super().forward(x)

    def backward(self, grad_output):
        return grad_output * np.cos(self.x)


class ReLUForgetsToReturn(ReLU):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        grad_output * (x > 0)  # noqa: B018 -- the mistake under test: the result is dropped


class ReLUReturnsZeros(ReLU):
    def backward(self, grad_output):
        return np.zeros_like(grad_output)


class ReLUInPlace(ReLU):
    def forward(self, x):
        self.save_for_backward(x.copy())
        return np.maximum(x, 0, out=x)


class ReLUBackwardInPlace(ReLU):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        grad_output[x <= 0] = 0  # right values, but the caller's array is changed
        return grad_output


class MSESumNotMean(MSELoss):
    """Differentiates the sum of squares instead of the mean."""

    def backward(self):
        (diff,) = self.saved_tensors
        return 2 * diff


class CrossEntropyNotAveraged(CrossEntropyLoss):
    def backward(self):
        return super().backward() * len(self.saved_tensors[0])


class CrossEntropyOverProbabilities(CrossEntropyLoss):
    """-target / p: the derivative with respect to the probabilities, not the logits."""

    def backward(self):
        logits, target = self.saved_tensors
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return -target / probabilities / len(logits)


class CrossEntropyMinusOne(CrossEntropyLoss):
    """softmax - 1: one subtracted from every probability, not only at the class."""

    def backward(self):
        logits, target = self.saved_tensors
        return super().backward() + (target - 1) / len(logits)


class CrossEntropyWithoutSoftmax(CrossEntropyLoss):
    """(logits - target) / N: the softmax left out."""

    def backward(self):
        logits, target = self.saved_tensors
        return (logits - target) / len(logits)


class CrossEntropyThroughTheSoftmaxTwice(CrossEntropyLoss):
    """(softmax - target) / N multiplied by the softmax's derivative p(1 - p) again."""

    def backward(self):
        logits, _ = self.saved_tensors
        p = softmax(logits)
        return super().backward() * p * (1 - p)


class CrossEntropyTargetAloneDivided(CrossEntropyLoss):
    """softmax - target / N: the brackets forgotten."""

    def backward(self):
        logits, target = self.saved_tensors
        n = len(logits)
        return super().backward() * n + target - target / n  # = softmax - target / n


class CrossEntropyOverEveryEntry(CrossEntropyLoss):
    """Divided by logits.size, N·C, where the batch size N belongs."""

    def backward(self):
        return super().backward() / self.saved_tensors[0].shape[1]


class CrossEntropyAveragedTwice(CrossEntropyLoss):
    def backward(self):
        return super().backward() / len(self.saved_tensors[0])


class MulParameterNotSummed(Mul):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.k.grad = self.k.grad + grad_output * x
        return self.k.data * grad_output


class MulParameterWithoutGradOutput(Mul):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.k.grad = self.k.grad + np.sum(x)  # grad_output left out
        return self.k.data * grad_output


class MulParameterWithGradOutputAdded(Mul):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.k.grad = self.k.grad + np.sum(grad_output * x + x**2)  # a term without it
        return self.k.data * grad_output


class MulInputGradSummed(Mul):
    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.k.grad = self.k.grad + np.sum(grad_output * x)
        return np.sum(self.k.data * grad_output)  # the sum copied onto dL/dx


def labels_for(x):
    return np.arange(len(x)) % x.shape[1]


CATALOG = [
    # (mistake, module factory, input builder, expected hint fragment)
    (
        "bias not summed over batch",
        lambda: BiasNotSummed(3, 2, rng=0),
        None,
        "sum over the batch axis",
    ),
    ("weight grad transposed", lambda: WeightGradTransposed(3, 2, rng=0), None, "transposed"),
    (
        "square weight grad transposed",
        lambda: WeightGradTransposed(3, 3, rng=0),
        None,
        "transposed",
    ),
    (
        "input grad with W, not W.T",
        lambda: InputGradUsesUntransposedWeight(3, 3, rng=0),
        None,
        "values are wrong",
    ),
    (
        "= instead of +=",
        lambda: WeightGradOverwritten(3, 2, rng=0),
        None,
        "overwritten instead of accumulated",
    ),
    (
        "one part in a thousand",
        lambda: WeightGradOnePartInAThousand(3, 2, rng=0),
        None,
        "constant factor of 1.001",
    ),
    (
        "a few parts in a million (never 'a constant factor of 1')",
        lambda: WeightGradFewPartsInAMillion(3, 2, rng=0),
        None,
        "nearly matches (the best-fitting factor is 1 + 3e-06) but misses the tolerance",
    ),
    (
        "input grad + bias",
        lambda: InputGradPlusBias(3, 3, rng=0),
        None,
        "the gradient of 'input' is the true one plus 'bias' itself (broadcast to",
    ),
    (
        "input grad + bias, of another width (a crash)",
        lambda: InputGradPlusBias(3, 7, rng=0),
        None,
        "the gradient has the shape of a row of grad_output (its last axis) or of 'bias', (7,)",
    ),
    (
        "bias grad into weight.grad",
        lambda: BiasGradIntoWeight(3, 2, rng=0),
        None,
        "the gradient of 'weight' is the true one plus the true gradient of 'bias' (broadcast",
    ),
    (
        "input grad - x",
        lambda: InputGradMinusX(3, 2, rng=0),
        None,
        "the gradient of 'input' is the true one minus the input x itself",
    ),
    (
        "input grad times x",
        lambda: InputGradTimesX(3, 2, rng=0),
        None,
        "the gradient of 'input' is the true one times the input x, entry by entry",
    ),
    (
        "weight grad from x reshaped, not transposed",
        lambda: WeightGradFromReshapedRows(3, 2, rng=0),
        None,
        "a reshape keeps the entries in their order and only regroups them, so it is no transpose",
    ),
    (
        "weight grad by np.outer",
        lambda: WeightGradByOuter(3, 2, rng=0),
        None,
        "what np.outer gives",
    ),
    ("wrong sign", SigmoidWrongSign, None, "wrong sign"),
    ("wrong cached value", TanhWrongCache, None, "was given the input x"),
    (
        "a wrong polynomial of the output",
        TanhOneMinusY,
        None,
        "backward multiplies grad_output by 1 - y, with y the output, but the derivative is "
        "f'(x) = 1 - y²",
    ),
    ("an unrecognised wrong derivative", TanhCosine, None, "the local derivative is wrong"),
    ("forgot to return", ReLUForgetsToReturn, "kinks", "returned None"),
    ("all zero", ReLUReturnsZeros, "kinks", "all zero"),
    ("forward modifies its input", ReLUInPlace, "kinks", "modified its input array in place"),
    (
        "backward modifies grad_output",
        ReLUBackwardInPlace,
        "kinks",
        "backward changed grad_output in place",
    ),
    ("sum instead of mean (elements)", MSESumNotMean, "regression", "number of elements"),
    (
        "mean over batch missing",
        CrossEntropyNotAveraged,
        "labels",
        "factor equal to the batch size",
    ),
    ("mean over batch twice", CrossEntropyAveragedTwice, "labels", "too small"),
    (
        "dL/dp for dL/dlogits",
        CrossEntropyOverProbabilities,
        "labels",
        "that is dL/dp, the derivative with respect to the probabilities",
    ),
    ("softmax - 1", CrossEntropyMinusOne, "labels", "1 is subtracted from every probability"),
    ("logits - target", CrossEntropyWithoutSoftmax, "labels", "the raw logits are used"),
    (
        "the softmax's derivative applied again",
        CrossEntropyThroughTheSoftmaxTwice,
        "labels",
        "it is multiplied by p(1 - p), the softmax's derivative, once more",
    ),
    (
        "softmax - target / N",
        CrossEntropyTargetAloneDivided,
        "labels",
        "the division by N applies to the target alone",
    ),
    (
        "scalar parameter not summed",
        lambda: MulParameterNotSummed(1.5),
        None,
        "sum over the batch axis",
    ),
    (
        "grad_output left out of a parameter's gradient",
        lambda: MulParameterWithoutGradOutput(1.5),
        None,
        "the gradient of 'k' does not change when grad_output does",
    ),
    (
        "a term without grad_output in a parameter's gradient",
        lambda: MulParameterWithGradOutputAdded(1.5),
        None,
        "part of the gradient of 'k' does not scale with grad_output",
    ),
    (
        "the input gradient summed to one number",
        lambda: MulInputGradSummed(1.5),
        None,
        "backward returns one number for the whole input",
    ),
]


def inputs_for(kind, x):
    if kind == "kinks":
        away_from_zero = np.sign(x) * (0.1 + np.abs(x))
        away_from_zero[0, 0] = -abs(away_from_zero[0, 0])  # both signs, so the mistakes show
        away_from_zero[-1, -1] = abs(away_from_zero[-1, -1])
        return (away_from_zero,)
    if kind == "regression":
        return x, np.flip(x, axis=0) + 1
    if kind == "labels":
        return x, labels_for(x)
    return (x,)


@pytest.mark.parametrize("mistake, make_module, kind, hint", CATALOG, ids=[c[0] for c in CATALOG])
@settings(max_examples=10)
@given(batch=st.integers(2, 6), seed=pst.seeds())
def test_each_mistake_is_caught_with_its_hint(mistake, make_module, kind, hint, batch, seed):
    x = np.random.default_rng(seed).standard_normal((batch, 3))
    with pytest.raises(GradientCheckError) as caught:
        check_gradients(make_module(), *inputs_for(kind, x))
    assert hint in str(caught.value), f"{mistake}: {caught.value}"
    assert hint in caught.value.hint


def test_the_catalog_has_at_least_eight_distinct_hints():
    assert len({hint for *_, hint in CATALOG}) >= 8


def test_error_message_names_the_tensor_and_the_worst_entry():
    x = np.random.default_rng(0).standard_normal((4, 3))
    with pytest.raises(GradientCheckError) as caught:
        check_gradients(WeightGradOnePartInAThousand(3, 2, rng=0), x)
    message = str(caught.value)
    assert "'weight'" in message and "worst entry at index" in message
    assert caught.value.tensor == "weight"


@pytest.mark.parametrize("scale", pst.SCALES)
@pytest.mark.parametrize(
    "make_module",
    [lambda: Linear(5, 4, rng=0), Sigmoid, Tanh, Square],
    ids=["linear", "sigmoid", "tanh", "square"],
)
def test_an_input_gradient_off_by_one_part_in_a_thousand_is_caught(make_module, scale):
    """Wherever the gradient is measurable, a 0.1 % error in dL/dx fails the check."""
    module = make_module()
    if scale > 1 and not isinstance(module, (Linear, Square)):
        pytest.skip("a saturated sigmoid/tanh has gradients below what finite differences resolve")
    correct = type(module)
    module.__class__ = type(
        "OffByOnePartInAThousand",
        (correct,),
        {"backward": lambda self, grad: 1.001 * correct.backward(self, grad)},
    )
    x = scale * np.random.default_rng(1).standard_normal((6, 5))
    with pytest.raises(GradientCheckError, match="1.001"):
        check_gradients(module, x)


def test_a_single_wrong_entry_is_caught():
    class OneEntryOff(Linear):
        def backward(self, grad_output):
            grad_input = super().backward(grad_output)
            self.bias.grad[1] *= 1.001
            return grad_input

    with pytest.raises(GradientCheckError, match="'bias'"):
        check_gradients(OneEntryOff(4, 3, rng=0), np.random.default_rng(2).standard_normal((5, 4)))


class DuckTypedScale:
    """Not a pancake Module: forward/backward only, y = 3x (backward returns 3.003 g if buggy)."""

    def __init__(self, factor=3.0):
        self.factor = factor

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        return 3.0 * x

    def backward(self, grad_output):
        return self.factor * grad_output


class DuckTypedSquaredError:
    """Not a pancake Loss: mean((pred - target)²) with backward() taking no argument."""

    def __call__(self, pred, target):
        self.diff = pred - target
        return float(np.mean(self.diff**2))

    def backward(self):
        return 2 * self.diff / self.diff.size


def test_objects_that_only_look_like_modules_and_losses_are_checked_too():
    x = np.random.default_rng(3).standard_normal((4, 2))
    check_gradients(DuckTypedScale(), x)
    check_gradients(DuckTypedSquaredError(), x, np.zeros_like(x))
    with pytest.raises(GradientCheckError, match="1.001"):
        check_gradients(DuckTypedScale(3.003), x)


class ArithmeticOfItsOwn(np.ndarray):
    """Right values, but multiplying it (as the check's objective does) uses ``.seen``."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [i.seen if isinstance(i, ArithmeticOfItsOwn) else np.asarray(i) for i in inputs]
        return getattr(ufunc, method)(*plain, **kwargs)


class SigmoidShowingTheIdentity(Module):
    """Sigmoid's values; its arithmetic is the identity's, and so is its backward."""

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        output = (1 / (1 + np.exp(-x))).view(ArithmeticOfItsOwn)
        output.seen = x
        return output

    def backward(self, grad_output):
        return grad_output


def test_an_output_with_arithmetic_of_its_own_cannot_choose_the_function_checked():
    x = np.random.default_rng(0).standard_normal((3, 4))
    output = SigmoidShowingTheIdentity()(x)
    assert np.allclose(np.asarray(output), 1 / (1 + np.exp(-x)))  # the right values
    assert np.allclose(np.sum(output * np.ones_like(x)), np.sum(x))  # the identity's sums
    with pytest.raises(GradientCheckError, match="'input' is wrong"):
        check_gradients(SigmoidShowingTheIdentity(), x)


def test_a_factor_equal_to_axis_lengths_is_named():
    class BiasMeanOverPositions(Conv2d):
        """The bias gradient averaged over the H'·W' output positions."""

        def backward(self, grad_output):
            before = self.bias.grad.copy()
            grad_input = super().backward(grad_output)
            positions = grad_output.shape[2] * grad_output.shape[3]
            self.bias.grad[...] = before + grad_output.sum(axis=(0, 2, 3)) / positions
            return grad_input

    logits = np.random.default_rng(2).standard_normal((4, 3))  # 4 examples: not 3, the classes
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(CrossEntropyOverEveryEntry(), logits, np.array([0, 2, 1, 2]))
    assert "3x too small, a factor equal to the length of axis 1 of the input x" in (
        failure.value.hint
    )
    images = np.random.default_rng(2).standard_normal((2, 3, 5, 5))
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(BiasMeanOverPositions(3, 2, 3, rng=0), images)
    assert "9x too small, a factor equal to the lengths of axes 2 and 3 of grad_output" in (
        failure.value.hint
    )

    class BiasMeanOverRows(Conv2d):
        """The bias gradient averaged over the N·H'·W' rows."""

        def backward(self, grad_output):
            before = self.bias.grad.copy()
            grad_input = super().backward(grad_output)
            self.bias.grad[...] = before + grad_output.mean(axis=(0, 2, 3))
            return grad_input

    images = np.random.default_rng(2).standard_normal((2, 3, 6, 6))  # rows: 2·4·4 = 32
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(BiasMeanOverRows(3, 5, 3, rng=0), images)
    assert "32x too small, a factor equal to the lengths of axes 0, 2 and 3 of grad_output" in (
        failure.value.hint
    )
    square = np.random.default_rng(2).standard_normal((2, 3, 5, 5))  # rows 2·3·3 = 18 = 2·9
    with pytest.raises(GradientCheckError) as failure:  # with 3 output channels: (0, 1, 2) too
        check_gradients(BiasMeanOverRows(3, 3, 3, rng=0), square)
    assert "a factor equal to" not in failure.value.hint  # several sets alike: listed, none claimed
    assert "18x too small, 18 being the lengths of axes 0, 1 and 2 of grad_output" in (
        failure.value.hint
    )


class AvgPoolAssignsItsShares(AvgPool2d):
    """Each window's share assigned (=) to its pixels: overlapping windows overwrite."""

    def backward(self, grad_output):
        (n, channels, height, width) = self.saved_tensors[0]
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        share = grad_output / (kh * kw)
        grad = np.zeros((n, channels, height, width))
        for i in range(share.shape[2]):
            for j in range(share.shape[3]):
                grad[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw] = share[
                    :, :, i : i + 1, j : j + 1
                ]
        return grad


def test_shares_assigned_where_windows_overlap_are_named():
    x = np.random.default_rng(3).standard_normal((2, 2, 7, 7))
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(AvgPoolAssignsItsShares(3, stride=2), x)
    assert "wrong exactly at the pixels that more than one window covers" in str(failure.value)
    check_gradients(AvgPool2d(3, stride=2), x)  # the reference: no failure, no hint


class LinearInputGradWeightFirst(Linear):
    """dL/dx = W @ grad_output.T-style order: the weight on the left of @."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.weight.grad += x.T @ grad_output
        if self.bias is not None:
            self.bias.grad += grad_output.sum(axis=0)
        return self.weight.data.T @ grad_output


def test_a_product_with_the_weight_on_the_left_is_named_by_the_products_that_fit():
    x = np.random.default_rng(4).standard_normal((4, 3))
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(LinearInputGradWeightFirst(3, 2, rng=0), x)
    assert "put grad_output on the left: grad_output @ weight.T" in str(failure.value)


class MulTimesKInTheParameterGradient(Mul):
    """Saves x, but dL/dk = sum(g · k · x): the same number as from a saved output k·x."""

    def backward(self, grad_output):
        (x,) = self.saved_tensors
        self.k.grad += np.sum(grad_output * self.k.data * x)
        return self.k.data * grad_output


class MulSavingItsOutput(Mul):
    def forward(self, x):
        y = self.k.data * np.asarray(x, dtype=float)
        self.save_for_backward(y)
        return y


def test_an_extra_parameter_factor_is_not_blamed_on_a_saved_output():
    """Both give dL/dk = sum(g · k · x); what forward saved tells them apart."""
    x = np.random.default_rng(0).standard_normal((4, 3))
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(MulTimesKInTheParameterGradient(1.7), x)
    assert "off by a factor equal to 'k'" in str(failure.value)
    assert "computed from the module's output" not in str(failure.value)
    with pytest.raises(GradientCheckError) as failure:
        check_gradients(MulSavingItsOutput(1.7), x)
    assert "computed from the module's output" in str(failure.value)
