"""Array helpers every part of pancake shares: the bottom layer, which imports only NumPy.

``nn``, ``data``, ``autograd`` and ``stax`` all call these, so that a float conversion,
a softmax or a one-hot encoding is written once and fails with the same clear error.
Each helper that can fail takes ``owner``: the module, loss or function that called it
(an object, printed with ``repr``, or a name), so that its error names the caller.
"""

from __future__ import annotations

import weakref

import numpy as np


def owner_name(owner: object) -> str:
    """How errors name a caller: a string as it is, anything else by its ``repr``."""
    return owner if isinstance(owner, str) else repr(owner)


def as_float_array(x, owner: object) -> np.ndarray:
    """Return ``x`` as a floating-point array (integers become float64), of the same shape.

    Floating arrays keep their dtype (float32 stays float32). Anything else (strings,
    complex numbers, objects) is a ``TypeError`` that names ``owner``.
    """
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return x
    if x.dtype.kind in "iub":  # signed, unsigned, bool
        return x.astype(np.float64)
    raise TypeError(f"{owner_name(owner)} expects a real-valued array, got dtype {x.dtype}")


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) element-wise, ``(*) -> (*)``, as (1 + tanh(x/2)) / 2: no exp overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(x) / sum(exp(x)) along ``axis``, ``(*) -> (*)``; the max is subtracted first."""
    exp = np.exp(x - x.max(axis=axis, keepdims=True))
    exp /= exp.sum(axis=axis, keepdims=True)  # in place: no further array
    return exp


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """x - logsumexp(x) along ``axis``, ``(*) -> (*)``, stable for inputs of any magnitude."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def one_hot(
    labels: np.ndarray, num_classes: int, dtype=np.float64, *, owner: object = "one_hot"
) -> np.ndarray:
    """Integer labels ``(*)`` -> one-hot rows ``(*, num_classes)``; errors name ``owner``."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":  # signed or unsigned integers
        raise ValueError(f"{owner_name(owner)}: labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{owner_name(owner)}: labels must lie in [0, {num_classes}), got values in "
            f"[{labels.min()}, {labels.max()}]"
        )
    return np.eye(num_classes, dtype=dtype)[labels]


def class_probabilities(logits: np.ndarray, target, owner: object) -> np.ndarray:
    """The target of a cross-entropy as rows of class probabilities ``(batch, classes)``.

    ``logits`` has shape ``(batch, classes)``; ``target`` holds integer labels ``(batch,)``
    (one-hot encoded here) or probability rows of the logits' shape (kept as they are).
    The result has the logits' dtype. Any other shape is a ``ValueError`` naming ``owner``.
    """
    target = np.asarray(target)
    if logits.ndim != 2:
        swapped = (
            f" and targets of shape {target.shape}: are the arguments swapped? Call it "
            "with the model's outputs first, loss(logits, targets)"
            if logits.ndim == 1 and target.ndim == 2
            else ""
        )
        raise ValueError(
            f"{owner_name(owner)} expects logits of shape (batch, classes), got {logits.shape}"
            + swapped
        )
    batch, classes = logits.shape
    if target.shape == logits.shape:
        return target.astype(logits.dtype, copy=False)
    if target.ndim != 1 or len(target) != batch:
        raise ValueError(
            f"{owner_name(owner)}: logits of shape {logits.shape} need integer labels of shape "
            f"({batch},) or one-hot targets of shape {logits.shape}, got shape {target.shape}"
        )
    return one_hot(target, classes, dtype=logits.dtype, owner=owner)


# Batches a DataLoader produced, by id; an entry goes when its array is garbage-collected.
_DATA_BATCHES: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()


def mark_as_data(batch: np.ndarray) -> np.ndarray:
    """Remember ``batch`` (any shape) as a batch of data, and return it unchanged.

    Nobody differentiates a loss with respect to its data, so a model fed a batch marked
    here may skip dL/d(batch) (as PyTorch computes no gradient for a tensor that does not
    require one). ``DataLoader`` marks the inputs of every batch it yields.
    """
    if isinstance(batch, np.ndarray):  # anything else (a list, a Tensor) stays unmarked
        _DATA_BATCHES[id(batch)] = batch
    return batch


def is_data(x: object) -> bool:
    """Whether ``x`` is this very array marked by ``mark_as_data`` (a copy of it is not)."""
    return _DATA_BATCHES.get(id(x)) is x
