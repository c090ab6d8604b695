"""pancake.ops: the array helpers every layer shares, and the errors that name their caller."""

import numpy as np
import pytest
from hypothesis import given

from pancake import ops
from pancake.nn import CrossEntropyLoss, Linear
from pancake.testing import strategies as pst


def test_as_float_array_keeps_float_dtypes_and_converts_integers():
    assert ops.as_float_array(np.ones(2, np.float32), "f").dtype == np.float32
    assert ops.as_float_array([1, 2], "f").dtype == np.float64
    assert ops.as_float_array(np.array([True]), "f").dtype == np.float64


@pytest.mark.parametrize(
    ("owner", "named"), [("Tensor", "Tensor expects"), (Linear(3, 2), "Linear(3 -> 2) expects")]
)
def test_as_float_array_names_its_caller(owner, named):
    with pytest.raises(TypeError, match=named.replace("(", r"\(").replace(")", r"\)")):
        ops.as_float_array(np.array(["a"]), owner)


@given(x=pst.arrays((3, 5), scale=pst.scales()))
def test_softmax_rows_are_distributions_and_log_softmax_is_their_log(x):
    probabilities = ops.softmax(x)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0)
    np.testing.assert_allclose(np.exp(ops.log_softmax(x)), probabilities, atol=1e-12)
    np.testing.assert_allclose(ops.sigmoid(x), 1 / (1 + np.exp(-x)), atol=1e-12)


def test_log_softmax_is_finite_for_huge_logits():
    assert np.isfinite(ops.log_softmax(np.array([[1e4, -1e4, 0.0]]))).all()


def test_class_probabilities_of_labels_and_of_rows():
    logits = np.zeros((2, 3), np.float32)
    encoded = ops.class_probabilities(logits, np.array([2, 0]), owner="loss")
    np.testing.assert_array_equal(encoded, [[0, 0, 1], [1, 0, 0]])
    assert encoded.dtype == np.float32
    rows = np.full((2, 3), 1 / 3, np.float32)
    np.testing.assert_array_equal(ops.class_probabilities(logits, rows, owner="loss"), rows)


@pytest.mark.parametrize(
    ("logits", "target", "message"),
    [
        (np.zeros(3), np.array([0]), r"expects logits of shape \(batch, classes\), got \(3,\)"),
        (np.zeros((2, 3)), np.array([0, 1, 2]), r"labels of shape \(2,\).*got shape \(3,\)"),
        (np.zeros((2, 3)), np.array([0, 3]), r"labels must lie in \[0, 3\)"),
        (np.zeros((2, 3)), np.array([0.5, 1.0]), "labels must be integers"),
        (
            np.array([0, 2]),
            np.zeros((2, 3)),
            r"are the arguments swapped\? .*loss\(logits, targets\)",
        ),
    ],
)
def test_class_probabilities_errors_name_the_loss(logits, target, message):
    with pytest.raises(ValueError, match="CrossEntropyLoss") as error:
        CrossEntropyLoss()(logits, target)
    assert error.match(message)
