"""pancake.debugging: recording what each layer of a Sequential computes, forward and backward."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from pancake.debugging import record_layers
from pancake.nn import CrossEntropyLoss, Dropout, Identity, Linear, ReLU, Sequential, Tanh
from pancake.testing import strategies as pst

pytestmark = pytest.mark.ex09


def make_model(n_in: int, width: int, seed: int) -> Sequential:
    return Sequential(
        Linear(n_in, width, rng=seed), Tanh(), Linear(width, width, rng=seed + 1), ReLU(),
        Linear(width, 3, rng=seed + 2),
    )  # fmt: skip


@given(
    batch=pst.batch_sizes(), n_in=pst.feature_sizes(), width=pst.feature_sizes(), seed=pst.seeds()
)
def test_records_each_output_and_the_gradient_that_reaches_it(batch, n_in, width, seed):
    model = make_model(n_in, width, seed)
    rng = np.random.default_rng(seed)
    x, labels = rng.normal(size=(batch, n_in)), rng.integers(0, 3, size=batch)
    loss_fn = CrossEntropyLoss()

    # What each layer computes, one layer at a time, by hand.
    outputs = [x]
    for layer in model:
        outputs.append(layer(outputs[-1]))
    loss_fn(outputs[-1], labels)
    grads = [loss_fn.backward()]
    for layer in reversed(model.layers):
        grads.insert(0, layer.backward(grads[0]))

    with record_layers(model) as records:
        loss_fn(model(x), labels)
        model.backward(loss_fn.backward())

    assert [record.name for record in records] == [str(i) for i in range(len(model))]
    for index, record in enumerate(records):
        np.testing.assert_array_equal(record.output, outputs[index + 1])
        np.testing.assert_array_equal(record.grad, grads[index + 1])


def test_records_are_copies_of_the_last_call():
    model = Sequential(Linear(2, 2, rng=0), Identity())
    with record_layers(model) as records:
        first = model(np.ones((1, 2))).copy()
        output = model(np.full((1, 2), 2.0))
        last = output.copy()
        output[...] = -1.0  # a caller changing the arrays afterwards changes no record
        grad = np.ones((1, 2))
        model.backward(grad)
        grad[...] = 5.0
    assert not np.array_equal(first, last)
    np.testing.assert_array_equal(records[1].output, last)
    np.testing.assert_array_equal(records[1].grad, np.ones((1, 2)))


def test_nothing_is_recorded_before_the_passes_run():
    model = Sequential(Linear(2, 2, rng=0))
    with record_layers(model) as records:
        assert records[0].output is None and records[0].grad is None


def test_the_model_is_unchanged_inside_and_after_the_block():
    model = Sequential(Linear(3, 4, rng=0), Dropout(0.5, rng=1), Linear(4, 2, rng=2))
    names = [name for name, _ in model.named_parameters()]
    with record_layers(model):
        assert [name for name, _ in model.named_parameters()] == names
        assert model.eval().training is False
    for layer in model:
        assert "forward" not in vars(layer) and "backward" not in vars(layer)
    assert [name for name, _ in model.named_parameters()] == names


def test_the_layers_are_restored_when_the_block_raises():
    model = Sequential(Linear(3, 2, rng=0))
    with pytest.raises(ValueError, match="expects inputs whose last axis is 3"):
        with record_layers(model):
            model(np.ones((1, 5)))
    assert "forward" not in vars(model[0])
