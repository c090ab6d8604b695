"""Check one epoch of a training loop against the documented loop: parameters and loss."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pancake.data import ArrayDataset, DataLoader
from pancake.nn import CrossEntropyLoss, Linear, Sequential, Tanh
from pancake.optim import SGD


def documented_epoch(model, loss_fn, optimizer, loader, *, zero_grad: bool = True) -> list:
    """One epoch of the documented loop (without ``zero_grad``: a common mistake).

    Returns the (loss, size) of each batch.
    """
    batches = []
    for inputs, targets in loader:
        if zero_grad:
            optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        batches.append((loss, len(targets)))
    return batches


def _training_case(seed: int):
    """A small classifier, its loss, an SGD optimizer and 23 samples in batches of 5."""
    rng = np.random.default_rng(seed)
    inputs, labels = rng.standard_normal((23, 5)), rng.integers(0, 3, size=23)
    model = Sequential(Linear(5, 4, rng=seed), Tanh(), Linear(4, 3, rng=seed + 1))
    loader = DataLoader(ArrayDataset(inputs, labels), batch_size=5)
    return model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.5), loader


def check_train_one_epoch(train_one_epoch_fn: Callable, *, seed: int = 0) -> str:
    """Run ``train_one_epoch_fn(model, loss_fn, optimizer, loader)`` on a small classifier.

    Compares the trained parameters and the returned loss with the documented loop: per
    batch ``zero_grad``, forward, loss, ``backward``, ``step``; then the mean loss per sample.
    """
    model, loss_fn, optimizer, loader = _training_case(seed)
    initial = model.state_dict()
    given_to_backward = _record_backward_inputs(model)
    try:
        returned = train_one_epoch_fn(model, loss_fn, optimizer, loader)
    except ValueError as error:
        if given_to_backward and given_to_backward[-1] == ():
            raise AssertionError(
                "model.backward() was given a number (shape ()), not an array of the "
                "model's output shape.\nHint: model.backward takes dL/d(output), the gradient "
                "that loss_fn.backward() returns, not the loss value: "
                "model.backward(loss_fn.backward())"
            ) from error
        raise
    trained = model.state_dict()
    reference = _training_case(seed)
    batches = documented_epoch(*reference)
    if not _same_parameters(trained, reference[0].state_dict()):
        raise AssertionError(
            "after one epoch the parameters differ from those of the documented loop "
            "(zero_grad, forward, loss, backward, step for each batch).\n"
            f"Hint: {_loop_hint(initial, trained, seed)}"
        )
    losses, sizes = np.array(batches).T
    expected = float(np.sum(losses * sizes) / np.sum(sizes))
    if returned is None or not np.isclose(float(returned), expected, rtol=1e-9, atol=0):
        hint = _loss_hint(returned, losses)
        raise AssertionError(
            f"train_one_epoch returned {returned!r}, but the mean loss per sample over the "
            f"epoch is {expected:.6g}.\nHint: {hint}"
        )
    return f"train_one_epoch ({len(batches)} batches of up to 5 samples): parameters and loss OK"


def _record_backward_inputs(model) -> list[tuple]:
    """Make ``model.backward`` record the shape of each grad_output it is given; return the list."""
    shapes: list[tuple] = []
    backward = model.backward

    def recorded(grad_output):
        shapes.append(np.shape(grad_output))
        return backward(grad_output)

    model.backward = recorded
    return shapes


def _same_parameters(got: dict, expected: dict) -> bool:
    return all(
        np.allclose(got[name], value, rtol=1e-9, atol=1e-12) for name, value in expected.items()
    )


def _loop_hint(initial: dict, trained: dict, seed: int) -> str:
    if _same_parameters(trained, initial):
        return (
            "the parameters never change: each batch needs backward(), then optimizer.step() "
            "while the gradients are still there (zero_grad() goes before backward(), never "
            "between backward() and step())"
        )
    case = _training_case(seed)
    documented_epoch(*case, zero_grad=False)
    if _same_parameters(trained, case[0].state_dict()):
        return (
            "the gradients of earlier batches add up: call optimizer.zero_grad() before each "
            "backward pass"
        )
    return "compare your loop with the documented one, step by step"


def _loss_hint(returned, losses: np.ndarray) -> str:
    if returned is None:
        return "return the mean loss of the epoch"
    candidates = {
        "the mean of the batch losses gives the last, smaller batch too much weight: weight "
        "each batch's loss by its number of samples": np.mean(losses),
        "this is the loss of the last batch only: return the mean over the whole epoch": losses[-1],
        "this is the sum of the batch losses: return the mean loss per sample": np.sum(losses),
    }
    for hint, value in candidates.items():
        if np.isclose(float(returned), value, rtol=1e-9, atol=0):
            return hint
    return "add up loss × batch size over the batches, then divide by the number of samples"
