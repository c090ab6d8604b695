"""pancake.testing.training: check_train_one_epoch passes the documented loop for any seed,
and names the classic mistakes of a training loop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from pancake.testing import check_train_one_epoch
from pancake.testing import strategies as pst
from pancake.train import train_one_epoch

pytestmark = pytest.mark.ex08


@given(seed=pst.seeds())
def test_the_reference_loop_passes_for_any_seed(seed):
    assert "and the loss: OK" in check_train_one_epoch(train_one_epoch, seed=seed)


def zeroes_through_the_model_first(model, loss_fn, optimizer, loader):
    """Unusual but correct: the model's zero_grad, before the forward pass; forward() by name."""
    total = count = 0
    for inputs, targets in loader:
        model.zero_grad()
        loss = loss_fn.forward(model.forward(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        total, count = total + loss * len(targets), count + len(targets)
    return total / count


def zeroes_each_gradient_by_hand(model, loss_fn, optimizer, loader):
    """Unusual but correct: zeroes the gradients itself, and counts the samples first."""
    samples = sum(len(targets) for _, targets in loader)
    total = 0.0
    for inputs, targets in loader:
        for param in model.parameters():
            param.grad[...] = 0
        output = model(inputs)
        total += loss_fn(output, targets) * len(targets)
        model.backward(loss_fn.backward())
        optimizer.step()
    return total / samples


@pytest.mark.parametrize("loop", [zeroes_through_the_model_first, zeroes_each_gradient_by_hand])
def test_unusual_correct_loops_pass(loop):
    assert "and the loss: OK" in check_train_one_epoch(loop, seed=3)


def never_zeroes_the_gradients(model, loss_fn, optimizer, loader):
    total = count = 0
    for inputs, targets in loader:
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        total, count = total + loss * len(targets), count + len(targets)
    return total / count


def zeroes_after_each_step(model, loss_fn, optimizer, loader):
    """Gradients left from before the epoch leak into the first step."""
    total = count = 0
    for inputs, targets in loader:
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        optimizer.zero_grad()
        total, count = total + loss * len(targets), count + len(targets)
    return total / count


def divides_by_the_data_set_size(model, loss_fn, optimizer, loader):
    """Wrong with drop_last=True: the loader skips the data set's last samples."""
    total = 0.0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        total += loss * len(targets)
    return total / len(loader.dataset)


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


def zeroes_between_backward_and_step(model, loss_fn, optimizer, loader):
    total = count = 0
    for inputs, targets in loader:
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.zero_grad()
        optimizer.step()
        total, count = total + loss * len(targets), count + len(targets)
    return total / count


def backward_of_ones(model, loss_fn, optimizer, loader):
    total = count = 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        output = model(inputs)
        loss = loss_fn(output, targets)
        model.backward(np.ones_like(output))
        optimizer.step()
        total, count = total + loss * len(targets), count + len(targets)
    return total / count


def skips_the_last_batch(model, loss_fn, optimizer, loader):
    batches = list(loader)[:-1]
    return mean_of_batch_losses(model, loss_fn, optimizer, batches)


def steps_twice(model, loss_fn, optimizer, loader):
    total = count = 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        optimizer.step()
        total, count = total + loss * len(targets), count + len(targets)
    return total / count


def mean_of_batch_losses(*args):
    losses = batch_losses(*args)
    return sum(losses) / len(losses)


def last_batch_loss(*args):
    return batch_losses(*args)[-1]


def weighted_total(model, loss_fn, optimizer, loader) -> tuple[float, int, float]:
    """The loop done right: the total of loss × batch size, the sample count, the last
    batch's loss × size."""
    total = count = last = 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        last = loss * len(targets)
        total, count = total + last, count + len(targets)
    return total, count, last


def floor_divided_mean(*args):
    total, count, _ = weighted_total(*args)
    return total // count


def total_not_divided(*args):
    return weighted_total(*args)[0]


def total_divided_by_the_batch_count(model, loss_fn, optimizer, loader):
    return weighted_total(model, loss_fn, optimizer, loader)[0] / len(loader)


def counts_full_batches(model, loss_fn, optimizer, loader):
    total, _, _ = weighted_total(model, loss_fn, optimizer, loader)
    return total / (len(loader) * loader.batch_size)


def sums_the_batch_means(model, loss_fn, optimizer, loader):
    total = count = 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        total, count = total + loss, count + len(targets)
    return total / count


def total_assigned_not_added(*args):
    _, count, last = weighted_total(*args)
    return last / count


def count_assigned_not_added(model, loss_fn, optimizer, loader):
    total = count = 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        total, count = total + loss * len(targets), len(targets)
    return total / count


def loops_over_the_data_set(model, loss_fn, optimizer, loader):
    total = 0.0
    for inputs, targets in loader.dataset:
        optimizer.zero_grad()
        total += loss_fn(model(inputs[None]), targets[None])
        model.backward(loss_fn.backward())
        optimizer.step()
    return total / len(loader.dataset)


def returns_nothing(*args):
    batch_losses(*args)


def backward_of_the_loss_value(model, loss_fn, optimizer, loader):
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        model.backward(loss)
        optimizer.step()
    return 0.0


def unpacks_targets_first(model, loss_fn, optimizer, loader):
    total = count = 0
    for targets, inputs in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        total, count = total + loss * len(targets), count + len(targets)
    return total / count


@pytest.mark.parametrize(
    "loop, hint",
    [
        (never_zeroes_the_gradients, "call optimizer.zero_grad() before each backward pass"),
        (unpacks_targets_first, "`for inputs, targets in loader`"),
        (zeroes_after_each_step, "from before the epoch"),
        (divides_by_the_data_set_size, "with drop_last=True the loader skips"),
        (never_steps, "optimizer.step() never ran for this batch; call it once per batch"),
        (mean_of_batch_losses, "weight each batch's loss by its number of samples"),
        (last_batch_loss, "the loss of the last batch only"),
        (floor_divided_mean, "// is floor division"),
        (total_divided_by_the_batch_count, "divides by the number of batches"),
        (counts_full_batches, "divided by 25 = len(loader) × batch_size, though the last"),
        (sums_the_batch_means, "multiply each batch's loss by its size before adding"),
        (loops_over_the_data_set, "loop over the loader itself"),
        (total_not_divided, "this is the total loss of the epoch"),
        (total_assigned_not_added, "(total += loss * batch size), don't assign it"),
        (count_assigned_not_added, "total_samples += len(targets) (not =)"),
        (returns_nothing, "return the mean loss of the epoch"),
        (zeroes_between_backward_and_step, "never between backward() and step()"),
        (backward_of_ones, "model.backward(loss_fn.backward())"),
        (skips_the_last_batch, "train on every batch of the loader"),
        (steps_twice, "one step per batch"),
        (backward_of_the_loss_value, "not the loss value"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_each_mistake_is_caught_with_its_hint(loop, hint):
    with pytest.raises(AssertionError) as failure:
        check_train_one_epoch(loop)
    assert hint in str(failure.value)


def epoch_over(pick):
    """A correct loop body over the batches ``pick(loader)`` gives, one step each."""

    def loop(model, loss_fn, optimizer, loader):
        total = count = 0
        for inputs, targets in pick(loader):
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            model.backward(loss_fn.backward())
            optimizer.step()
            total, count = total + loss * len(targets), count + len(targets)
        return total / count

    return loop


def first_batch_each_step(loader):
    return [next(iter(loader)) for _ in range(len(loader))]


def without_the_first(loader):
    batches = iter(loader)
    next(batches)  # a batch taken "to look at it"
    return batches


@pytest.mark.parametrize(
    "pick, hint",
    [
        (first_batch_each_step, "every step trained batch 0, the loader's first"),
        (without_the_first, "the first batch (batch 0) was never trained"),
        (lambda loader: [list(loader)[i] for i in range(len(loader) - 1)], "the last batch"),
        (lambda loader: [*loader, next(iter(loader))], "batch 0 trained at more than one step"),
        (lambda loader: list(loader)[::-1], "in another order than the loader's"),
        (lambda loader: [list(loader)[1]] * len(loader), "every step trained the same batch"),
    ],
    ids=["next-iter-each-step", "first-skipped", "last-skipped", "first-twice", "reversed", "same"],
)
def test_which_batches_the_steps_trained_is_named(pick, hint):
    with pytest.raises(AssertionError) as failure:
        check_train_one_epoch(epoch_over(pick))
    assert hint in str(failure.value)
    assert "more than once: one forward pass per batch" not in str(failure.value)


def test_the_batches_of_a_reference_epoch_get_no_hint():
    from pancake.testing.training import _stepped_batches_hint

    assert _stepped_batches_hint(list(range(5)), [1] * 5, 1) == ""
    assert _stepped_batches_hint([None, 0, 1, 2, 3], [1] * 5, 1) == ""  # step before forward
    assert _stepped_batches_hint([4], [1] * 5, 1) == ""  # one step per epoch: another hint
    assert _stepped_batches_hint([0, 0, 1, 1], [1, 1], 1) == ""  # two steps per batch
    assert "and the loss: OK" in check_train_one_epoch(epoch_over(list), seed=2)


def zero_grad_not_called(model, loss_fn, optimizer, loader):
    total = count = 0
    for inputs, targets in loader:
        optimizer.zero_grad  # noqa: B018 - the slip: the method named, not called
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        total, count = total + loss * len(targets), count + len(targets)
    return total / count


def loss_backward_given_the_loss(model, loss_fn, optimizer, loader):
    total = count = 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward(loss))
        optimizer.step()
        total, count = total + loss * len(targets), count + len(targets)
    return total / count


@pytest.mark.parametrize(
    "loop, hint",
    [
        (zero_grad_not_called, "optimizer.zero_grad is written without parentheses"),
        (loss_backward_given_the_loss, "loss_fn.backward() takes no argument (it was given 1)"),
    ],
    ids=["zero-grad-uncalled", "loss-backward-given-the-loss"],
)
def test_a_method_named_but_not_called_or_called_with_the_loss_is_named(loop, hint):
    with pytest.raises(AssertionError) as failure:
        check_train_one_epoch(loop)
    assert hint in str(failure.value)


def test_a_loop_that_never_names_zero_grad_is_told_to_call_it():
    with pytest.raises(AssertionError) as failure:
        check_train_one_epoch(never_zeroes_the_gradients)
    assert "without parentheses" not in str(failure.value)


def loss_from_a_second_pass(model, loss_fn, optimizer, loader):
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
    total = count = 0
    for inputs, targets in loader:  # the epoch's loss, after training
        total, count = total + loss_fn(model(inputs), targets) * len(targets), count + len(targets)
    return total / count


def test_a_second_pass_over_the_loader_for_the_loss_is_named():
    with pytest.raises(AssertionError) as failure:
        check_train_one_epoch(loss_from_a_second_pass)
    assert "the loop went over the loader 2 times in one epoch" in str(failure.value)
    assert "add up each batch's loss in the training loop itself" in str(failure.value)
