"""Training loops: ``fit`` a model, ``evaluate`` and ``predict`` with it, ``save`` and ``load`` it.

``history = fit(model, CrossEntropyLoss(), Adam(model.parameters()), train_loader,
epochs=20, val=val_loader)`` trains with progress bars and returns the per-epoch losses
and metrics; ``history.plot()`` draws them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from pancake import init
from pancake.data import ArrayDataset, DataLoader
from pancake.nn.module import Module

Metric = Callable[[np.ndarray, np.ndarray], float]
Data = DataLoader | tuple[np.ndarray, np.ndarray]


class TrainingError(RuntimeError):
    """Training cannot go on: the loss became nan or infinite."""


def accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    """The fraction of correct predictions: ``(batch, classes)`` scores vs labels ``(batch,)`` or one-hot.

    Single-column predictions ``(batch,)`` or ``(batch, 1)`` are read as probabilities of
    class 1 (threshold 0.5).
    """
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.ndim == 2 and pred.shape[1] > 1:
        predicted = pred.argmax(axis=1)
        labels = target.argmax(axis=1) if target.ndim == 2 else target
    else:
        predicted = pred.reshape(len(pred)) > 0.5
        labels = target.reshape(len(target))
    return float(np.mean(predicted == labels))


METRICS: dict[str, Metric] = {"accuracy": accuracy}


@contextmanager
def input_gradient_skipped(model: Module) -> Iterator[Module]:
    """For a ``with`` block, tell ``model`` that nobody needs dL/d(input), then restore.

    A model trained on data never uses the gradient with respect to the data, and its
    first layer's ``backward`` then skips computing it (for ``Linear``, a third of the
    arithmetic of a backward pass). A model-like object without ``needs_input_grad``
    (any object with ``forward`` and ``backward``) is left as it is.
    """
    if not hasattr(model, "needs_input_grad"):
        yield model
        return
    needed = model.needs_input_grad
    model.needs_input_grad = False
    try:
        yield model
    finally:
        model.needs_input_grad = needed


def skips_input_gradient(train_fn: Callable) -> Callable:
    """Decorate ``train_fn(model, ...)`` so that ``model`` skips dL/d(input) while it runs.

    For training functions whose inputs are data batches: ``train_one_epoch`` and so
    ``fit``. The wrapper keeps ``train_fn``'s name, docstring and signature.
    """

    @functools.wraps(train_fn)
    def train_without_input_gradient(model: Module, *args, **kwargs):
        with input_gradient_skipped(model):
            return train_fn(model, *args, **kwargs)

    return train_without_input_gradient


@skips_input_gradient
def train_one_epoch(model: Module, loss_fn: Module, optimizer: Any, loader: DataLoader) -> float:
    """One pass over ``loader``: forward, loss, backward and step for each batch; the mean loss per sample.

    The batches are data: while it runs, ``model`` skips dL/d(inputs) (``skips_input_gradient``).
    """
    ### BEGIN SOLUTION
    total_loss, total_samples = 0.0, 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        total_loss += loss * len(targets)
        total_samples += len(targets)
    return total_loss / total_samples
    ### END SOLUTION


class LossMonitor:
    """Stands in for the loss during an epoch: adds up loss and metrics of every batch.

    With ``epoch`` given (training), a loss that is not finite raises a TrainingError
    naming the epoch and the batch, before the step that would spread it to the weights.
    """

    def __init__(
        self, loss_fn: Module, metrics: dict[str, Metric], epoch: int | None = None, bar=None
    ):
        self.loss_fn = loss_fn
        self.metrics = metrics
        self.epoch = epoch
        self.bar = bar
        self.batches = 0
        self.samples = 0
        self.sums = dict.fromkeys(["loss", *metrics], 0.0)

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float:
        """The loss of the batch, as ``loss_fn`` computes it."""
        loss = self.loss_fn(pred, target)
        self.batches += 1
        if self.epoch is not None and not math.isfinite(loss):
            raise TrainingError(
                f"the loss became {loss} at epoch {self.epoch}, batch {self.batches}; "
                "try a smaller learning rate, and check the inputs for nan or huge values"
            )
        size = len(target)
        self.samples += size
        self.sums["loss"] += loss * size
        for name, metric in self.metrics.items():
            self.sums[name] += metric(pred, target) * size
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{self.sums['loss'] / self.samples:.4f}", refresh=False)
        return loss

    forward = __call__

    def backward(self) -> np.ndarray:
        """dL/dpred of the last batch."""
        return self.loss_fn.backward()

    def averages(self) -> dict[str, float]:
        """Loss and metrics averaged over the samples seen."""
        return {name: total / self.samples for name, total in self.sums.items()}


@dataclass
class History:
    """What ``fit`` measured after each epoch: losses and metrics on training and validation data."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_metrics: dict[str, list[float]] = field(default_factory=dict)
    val_metrics: dict[str, list[float]] = field(default_factory=dict)

    def record(self, train: dict[str, float], val: dict[str, float] | None) -> None:
        """Append one epoch's results (dicts with "loss" and one entry per metric)."""
        for results, losses, metrics in (
            (train, self.train_loss, self.train_metrics),
            (val, self.val_loss, self.val_metrics),
        ):
            if results is None:
                continue
            losses.append(results["loss"])
            for name, value in results.items():
                if name != "loss":
                    metrics.setdefault(name, []).append(value)

    @property
    def epochs(self) -> int:
        """The number of epochs recorded."""
        return len(self.train_loss)

    def plot(self) -> Figure:
        """Loss and metric curves per epoch, training and validation: one panel per quantity."""
        panels = {"loss": (self.train_loss, self.val_loss)}
        for name, values in self.train_metrics.items():
            panels[name] = (values, self.val_metrics.get(name, []))
        figure = Figure(figsize=(4.5 * len(panels), 3.2), layout="constrained")
        for ax, (name, (train, val)) in zip(
            figure.subplots(1, len(panels), squeeze=False)[0], panels.items(), strict=True
        ):
            ax.plot(range(1, len(train) + 1), train, marker=".", label="training")
            if val:
                ax.plot(range(1, len(val) + 1), val, marker=".", label="validation")
            ax.set(xlabel="epoch", ylabel=name, title=name)
            ax.legend()
        return figure


def resolve_metrics(metrics: Sequence[str | Metric]) -> dict[str, Metric]:
    """Metric names (see ``METRICS``) or functions ``f(pred, target) -> float``, by name."""
    resolved = {}
    for metric in metrics:
        if callable(metric):
            resolved[metric.__name__] = metric
        elif metric in METRICS:
            resolved[metric] = METRICS[metric]
        else:
            raise ValueError(
                f"unknown metric {metric!r}; use one of {sorted(METRICS)} or a function"
            )
    return resolved


def as_loader(data: Data, batch_size: int, shuffle: bool, rng: init.Seed = None) -> DataLoader:
    """A DataLoader as is, or arrays ``(X, y)`` wrapped into one."""
    if isinstance(data, DataLoader):
        loader = data
    elif isinstance(data, tuple) and len(data) == 2:
        loader = DataLoader(ArrayDataset(*data), batch_size=batch_size, shuffle=shuffle, rng=rng)
    else:
        raise TypeError(f"expected a DataLoader or a tuple (X, y), got {type(data).__name__}")
    if len(loader) == 0:
        raise ValueError(
            f"{loader!r} has no batches: the data set is empty, or smaller than batch_size with drop_last"
        )
    return loader


@contextmanager
def model_mode(model: Module, training: bool) -> Iterator[Module]:
    """Put ``model`` in train (True) or eval (False) mode for a ``with`` block, then back as it was."""
    was_training = model.training
    model.train(training)
    try:
        yield model
    finally:
        model.train(was_training)


def fit(
    model: Module,
    loss_fn: Module,
    optimizer: Any,
    train: Data,
    *,
    epochs: int,
    val: Data | None = None,
    metrics: Sequence[str | Metric] = ("accuracy",),
    progress: bool = True,
    batch_size: int = 32,
    rng: init.Seed = None,
) -> History:
    """Train for ``epochs`` epochs with ``train_one_epoch``, evaluating on ``val`` after each.

    ``train`` and ``val`` are DataLoaders or arrays ``(X, y)`` (then batched by
    ``batch_size``, training data shuffled with ``rng``). Training metrics are averaged over
    the epoch's batches, as they were computed during training. The model is in train mode
    while it learns, in eval mode while it is evaluated, and in its original mode afterwards;
    it does not compute the gradient with respect to its input batches (nobody uses it).
    """
    if epochs < 1:
        raise ValueError(f"fit: epochs must be at least 1, got {epochs}")
    train_loader = as_loader(train, batch_size, shuffle=True, rng=rng)
    val_loader = None if val is None else as_loader(val, batch_size, shuffle=False)
    metric_fns = resolve_metrics(metrics)
    history = History()
    epoch_bar = tqdm(range(1, epochs + 1), desc="fit", unit="epoch", disable=not progress)
    with model_mode(model, training=True):
        for epoch in epoch_bar:
            batches = tqdm(train_loader, desc=f"epoch {epoch}", leave=False, disable=not progress)
            monitor = LossMonitor(
                loss_fn, metric_fns, epoch=epoch, bar=batches if progress else None
            )
            mean_loss = train_one_epoch(model, monitor, optimizer, batches)
            train_results = {**monitor.averages(), "loss": mean_loss}
            val_results = (
                None
                if val_loader is None
                else evaluate(model, loss_fn, val_loader, metric_fns.values())
            )
            history.record(train_results, val_results)
            epoch_bar.set_postfix(_postfix(train_results, val_results))
    return history


def _postfix(train: dict[str, float], val: dict[str, float] | None) -> dict[str, str]:
    """The epoch bar's summary: loss=0.1234, accuracy=0.9500, val_loss=..."""
    shown = {name: f"{value:.4f}" for name, value in train.items()}
    shown.update({f"val_{name}": f"{value:.4f}" for name, value in (val or {}).items()})
    return shown


def evaluate(
    model: Module,
    loss_fn: Module,
    data: Data,
    metrics: Sequence[str | Metric] = ("accuracy",),
    *,
    batch_size: int = 256,
) -> dict[str, float]:
    """Mean loss and metrics of ``model`` on ``data`` (a DataLoader or ``(X, y)``), in eval mode."""
    loader = as_loader(data, batch_size, shuffle=False)
    monitor = LossMonitor(loss_fn, resolve_metrics(metrics))
    with model_mode(model, training=False):
        for inputs, targets in loader:
            monitor(model(inputs), targets)
    return monitor.averages()


def predict(model: Module, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for inputs ``(n, *shape)``, computed in eval mode, ``batch_size`` at a time."""
    if len(X) == 0:
        raise ValueError("predict: X has no samples")
    with model_mode(model, training=False):
        return np.concatenate(
            [model(X[start : start + batch_size]) for start in range(0, len(X), batch_size)]
        )


def save(model: Module, path: str | Path) -> None:
    """Write the model's parameters and buffers (its ``state_dict``) to the ``.npz`` file ``path``."""
    with open(path, "wb") as file:
        np.savez(file, **model.state_dict())


def load(model: Module, path: str | Path) -> Module:
    """Read arrays written by ``save`` into ``model`` (names and shapes must match); returns it."""
    with np.load(path, allow_pickle=False) as archive:
        model.load_state_dict({name: archive[name] for name in archive.files})
    return model
