"""Losses: modules that map (predictions, targets) to a float, the mean over the batch.

``loss_fn(pred, target)`` returns a Python float; ``loss_fn.backward()`` returns dL/dpred.
"""

from __future__ import annotations

import numpy as np

from pancake.nn.module import Module
from pancake.ops import as_float_array, class_probabilities, log_softmax, sigmoid, softmax


class Loss(Module):
    """Base class of losses: ``forward(pred, target) -> float`` and ``backward() -> dL/dpred``."""

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """The loss of ``pred`` against ``target``, averaged over the batch."""
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def backward(self) -> np.ndarray:
        """dL/dpred for the last ``forward``, of the shape of ``pred``."""
        raise NotImplementedError(f"{type(self).__name__} has no backward()")

    def check_same_shape(self, pred, target) -> tuple[np.ndarray, np.ndarray]:
        """Both as float arrays; an error naming both shapes unless they are equal."""
        pred, target = as_float_array(pred, self), as_float_array(target, self)
        if pred.shape != target.shape:
            raise ValueError(
                f"{self!r}: predictions of shape {pred.shape} and targets of shape "
                f"{target.shape} differ; they must have the same shape"
            )
        return pred, target


class MSELoss(Loss):
    """Mean squared error: mean((pred - target)²) over every element; ``(*), (*) -> float``."""

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """``(*), (*) -> float``."""
        pred, target = self.check_same_shape(pred, target)
        diff = pred - target
        self.save_for_backward(diff)
        return float(np.mean(diff * diff))

    def backward(self) -> np.ndarray:
        """dL/dpred = 2 (pred - target) / n, with n the number of elements."""
        (diff,) = self.saved_tensors
        return 2 * diff / diff.size


class BCELoss(Loss):
    """Binary cross-entropy of probabilities: -mean(t log p + (1 - t) log(1 - p)); ``(*), (*) -> float``.

    Each log is clamped at -100, as in PyTorch, so that p = 0 or 1 gives a finite loss.
    """

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """``(*), (*) -> float``; ``pred`` holds probabilities in [0, 1]."""
        pred, target = self.check_same_shape(pred, target)
        if pred.size and (pred.min() < 0 or pred.max() > 1):
            raise ValueError(
                f"{self!r} expects probabilities in [0, 1] (got values in "
                f"[{pred.min():.3g}, {pred.max():.3g}]); for logits use BCEWithLogitsLoss"
            )
        self.save_for_backward(pred, target)
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(pred), -100)
            log_not_p = np.maximum(np.log1p(-pred), -100)
        return float(-np.mean(target * log_p + (1 - target) * log_not_p))

    def backward(self) -> np.ndarray:
        """dL/dp = (p - t) / (p (1 - p)) / n, the denominator kept above 1e-12."""
        pred, target = self.saved_tensors
        return (pred - target) / np.maximum(pred * (1 - pred), 1e-12) / pred.size


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits z: mean(max(z, 0) - z t + log(1 + exp(-|z|))); ``(*), (*) -> float``.

    Equal to ``BCELoss()(sigmoid(z), t)`` but finite for logits of any magnitude.
    """

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """``(*), (*) -> float``; ``pred`` holds logits."""
        logits, target = self.check_same_shape(pred, target)
        self.save_for_backward(logits, target)
        losses = np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))
        return float(np.mean(losses))

    def backward(self) -> np.ndarray:
        """dL/dz = (sigmoid(z) - t) / n."""
        logits, target = self.saved_tensors
        return (sigmoid(logits) - target) / logits.size


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy of logits: ``(batch, classes)`` with labels ``(batch,)`` -> float.

    Targets are integer class labels in ``[0, classes)`` or one-hot (or probability)
    rows of shape ``(batch, classes)``. Uses log-sum-exp, so any logit magnitude is safe.
    """

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """``(batch, classes), (batch,) or (batch, classes) -> float``."""
        logits = as_float_array(pred, self)
        target_probs = class_probabilities(logits, target, owner=self)
        ### BEGIN SOLUTION
        self.save_for_backward(logits, target_probs)
        return float(-np.sum(target_probs * log_softmax(logits)) / len(logits))
        ### END SOLUTION

    def backward(self) -> np.ndarray:
        """dL/dlogits = (softmax(logits) - target) / batch."""
        ### BEGIN SOLUTION
        logits, target_probs = self.saved_tensors
        return (softmax(logits) - target_probs) / len(logits)
        ### END SOLUTION
