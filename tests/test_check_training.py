"""pancake.testing.training: check_train_one_epoch passes the documented loop for any seed,
and names the classic mistakes of a training loop."""

from __future__ import annotations

import pytest
from hypothesis import given

from pancake.testing import check_train_one_epoch
from pancake.testing import strategies as pst
from pancake.train import train_one_epoch

pytestmark = pytest.mark.ex08


@given(seed=pst.seeds())
def test_the_reference_loop_passes_for_any_seed(seed):
    assert "parameters and loss OK" in check_train_one_epoch(train_one_epoch, seed=seed)


def never_zeroes_the_gradients(model, loss_fn, optimizer, loader):
    total = count = 0
    for inputs, targets in loader:
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        total, count = total + loss * len(targets), count + len(targets)
    return total / count


def never_steps(model, loss_fn, optimizer, loader):
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
    return 0.0


def batch_losses(model, loss_fn, optimizer, loader) -> list[float]:
    losses = []
    for inputs, targets in loader:
        optimizer.zero_grad()
        losses.append(loss_fn(model(inputs), targets))
        model.backward(loss_fn.backward())
        optimizer.step()
    return losses


def mean_of_batch_losses(*args):
    losses = batch_losses(*args)
    return sum(losses) / len(losses)


def last_batch_loss(*args):
    return batch_losses(*args)[-1]


def returns_nothing(*args):
    batch_losses(*args)


def backward_of_the_loss_value(model, loss_fn, optimizer, loader):
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        model.backward(loss)
        optimizer.step()
    return 0.0


@pytest.mark.parametrize(
    "loop, hint",
    [
        (never_zeroes_the_gradients, "call optimizer.zero_grad() before each backward pass"),
        (never_steps, "the parameters never change"),
        (mean_of_batch_losses, "weight each batch's loss by its number of samples"),
        (last_batch_loss, "the loss of the last batch only"),
        (returns_nothing, "return the mean loss of the epoch"),
        (backward_of_the_loss_value, "not the loss value"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_each_mistake_is_caught_with_its_hint(loop, hint):
    with pytest.raises(AssertionError) as failure:
        check_train_one_epoch(loop)
    assert hint in str(failure.value)
