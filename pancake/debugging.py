"""Debugging training: look inside a network, and the training script of chapter 9's exercise.

``with record_layers(model) as records:`` keeps, for every layer of a ``Sequential``, its
output on the forward pass and the gradient that reaches that output on the backward
pass, so that their statistics can be compared across depth (PyTorch's forward and
backward hooks do the same). ``train_digits`` is a small training script written out
by hand; the exercise hands it out with bugs in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from pancake.nn import (
    CrossEntropyLoss,
    Linear,
    ReLU,
    Sequential,
    Softmax,  # noqa: F401 -- the broken starter code of exercise 9 uses it
)
from pancake.optim import SGD
from pancake.train import History, evaluate


@dataclass
class LayerRecord:
    """What one layer saw last: its ``output`` ``(batch, *features)`` and ``grad`` = dL/d(output).

    Both are None until the layer has run forward (``output``) and backward (``grad``).
    """

    name: str
    output: np.ndarray | None = None
    grad: np.ndarray | None = None


@contextmanager
def record_layers(model: Sequential) -> Iterator[list[LayerRecord]]:
    """Record each layer's output and output gradient while the ``with`` block runs.

    Yields one ``LayerRecord`` per layer of ``model``, in order, named by position
    (``"0"``, ``"1"``...); each holds copies of the arrays of the last forward and
    backward call. The layers compute exactly what they computed before, and are left
    unchanged when the block ends. (A copy of the model made inside the block would
    still record into, and run, the original layers: copy it before or after.)
    """
    records = [LayerRecord(name) for name, _ in model.named_children()]
    for layer, record in zip(model, records, strict=True):
        # An attribute of the instance hides the method of its class until it is deleted.
        layer.forward = _recording_forward(layer.forward, record)
        layer.backward = _recording_backward(layer.backward, record)
    try:
        yield records
    finally:
        for layer in model:
            del layer.forward, layer.backward


def _recording_forward(forward, record: LayerRecord):
    def recorded(*inputs):
        output = forward(*inputs)
        record.output = np.array(output, copy=True)
        return output

    return recorded


def _recording_backward(backward, record: LayerRecord):
    def recorded(grad_output):
        record.grad = np.array(grad_output, copy=True)
        return backward(grad_output)

    return recorded


def train_digits(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    epochs: int = 20,
    lr: float = 0.05,
    seed: int = 0,
) -> tuple[Sequential, History]:
    """Train an MLP ``(n, 64) -> (n, 10)`` on standardised digits with SGD, batches of 32.

    ``X_train`` ``(n, 64)`` and ``y_train`` ``(n,)`` are shuffled at every epoch; after
    each epoch the model is evaluated on ``X_val``, ``y_val``. Returns the model (its
    outputs are logits) and a ``History``: the mean training loss of each epoch, and
    the validation loss and accuracy.
    """
    rng = np.random.default_rng(seed)
    ### BEGIN SOLUTION
    model = Sequential(Linear(64, 64, rng=rng), ReLU(), Linear(64, 10, rng=rng))
    ### BROKEN
    # model = Sequential(Linear(64, 64, rng=rng), ReLU(), Linear(64, 10, rng=rng), Softmax())
    ### END SOLUTION
    loss_fn = CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=lr, momentum=0.9)
    history = History()
    for _ in range(epochs):
        order = rng.permutation(len(X_train))
        ### BEGIN SOLUTION
        X_train, y_train = X_train[order], y_train[order]
        ### BROKEN
        # X_train = X_train[order]
        ### END SOLUTION
        total_loss = 0.0
        for start in range(0, len(X_train), 32):
            inputs, targets = X_train[start : start + 32], y_train[start : start + 32]
            ### BEGIN SOLUTION
            optimizer.zero_grad()
            ### BROKEN
            ### END SOLUTION
            loss = loss_fn(model(inputs), targets)
            model.backward(loss_fn.backward())
            optimizer.step()
            total_loss += loss * len(targets)
        ### BEGIN SOLUTION
        val_results = evaluate(model, loss_fn, (X_val, y_val))
        ### BROKEN
        # val_results = evaluate(model, loss_fn, (X_train, y_train))
        ### END SOLUTION
        history.record({"loss": total_loss / len(X_train)}, val_results)
    return model, history
