"""Data sets, batches and transforms: ``DataLoader(ArrayDataset(X, y), batch_size=32, shuffle=True)``.

A data set is anything with ``len()`` and integer indexing; a ``DataLoader`` visits every
sample once per epoch, in batches stacked into NumPy arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pancake import init
from pancake.ops import mark_as_data
from pancake.ops import one_hot as one_hot  # re-exported: pancake.data.one_hot


@runtime_checkable
class Dataset(Protocol):
    """Anything with ``len(dataset)`` and ``dataset[i]`` (one sample, or a tuple of arrays)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


class ArrayDataset:
    """Samples are the rows of arrays of equal length: ``ArrayDataset(X, y)[i] == (X[i], y[i])``.

    Indexing with an array of indices returns whole batches at once (no loop per sample).
    With a single array, items are rows of that array rather than 1-tuples.
    """

    def __init__(self, *arrays: np.ndarray):
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array")
        self.arrays = tuple(np.asarray(array) for array in arrays)
        lengths = [len(array) for array in self.arrays]
        if len(set(lengths)) > 1:
            raise ValueError(
                f"ArrayDataset: all arrays must have the same length (one row per sample), "
                f"got lengths {lengths}"
            )

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        """Row(s) ``index`` of every array: an int, a slice or an array of indices."""
        items = tuple(array[index] for array in self.arrays)
        return items[0] if len(items) == 1 else items

    def __repr__(self) -> str:
        shapes = ", ".join(str(array.shape) for array in self.arrays)
        return f"ArrayDataset({shapes})"


def is_integer(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or NumPy), and not a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def collate(samples: Sequence[Any]) -> Any:
    """Stack samples into a batch: arrays ``(*shape) -> (batch, *shape)``, tuples column by column."""
    if isinstance(samples[0], tuple):
        return tuple(np.stack(column) for column in zip(*samples, strict=True))
    return np.stack(samples)


class DataLoader:
    """Batches of a data set, one epoch per ``for`` loop: ``(batch, *sample_shape)`` arrays.

    Multi-array data sets give tuples ``(inputs, targets)``. ``shuffle`` draws a new order
    each epoch from ``rng`` (a Generator or a seed: the same seed gives the same orders);
    ``drop_last`` skips a last, smaller batch; ``transform`` maps each batch of inputs
    (the first array). ``len(loader)`` is the number of batches.
    """

    def __init__(
        self,
        dataset: Dataset | np.ndarray,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        *,
        rng: init.Seed = None,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ):
        if isinstance(dataset, tuple):
            raise TypeError(
                "DataLoader got a tuple; to batch arrays X and y together, pass ArrayDataset(X, y)"
            )
        if isinstance(dataset, np.ndarray):
            dataset = ArrayDataset(dataset)
        if not isinstance(dataset, Dataset):
            raise TypeError(
                f"DataLoader needs a data set with len() and indexing, got {type(dataset).__name__}"
            )
        if not is_integer(batch_size) or batch_size < 1:
            raise ValueError(
                f"DataLoader: batch_size must be a positive integer, got {batch_size!r}"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rng = init.as_generator(rng)
        self.transform = transform

    def __len__(self) -> int:
        """The number of batches in an epoch."""
        if self.drop_last:
            return len(self.dataset) // self.batch_size
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        """One epoch of batches, each ``self.fetch(indices)``.

        The indices 0..n-1, in a new ``self.rng`` permutation if ``shuffle``, are cut into
        slices of ``batch_size``; ``drop_last`` skips a last, smaller slice.
        """
        ### BEGIN SOLUTION
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            indices = order[start : start + self.batch_size]
            if self.drop_last and len(indices) < self.batch_size:
                break
            yield self.fetch(indices)
        ### END SOLUTION

    def fetch(self, indices: np.ndarray) -> Any:
        """The batch of the samples at ``indices``, stacked, with ``transform`` applied to the inputs.

        The inputs are marked as data (``pancake.ops.mark_as_data``): a ``Sequential`` fed
        them skips computing dL/d(inputs), which a training loop never uses.
        """
        if isinstance(self.dataset, ArrayDataset):
            batch = self.dataset[indices]
        else:
            batch = collate([self.dataset[int(index)] for index in indices])
        if isinstance(batch, tuple):
            return (self.marked_inputs(batch[0]), *batch[1:])
        return self.marked_inputs(batch)

    def marked_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """``inputs`` after ``transform`` (if any), marked as data."""
        if self.transform is not None:
            inputs = self.transform(inputs)
        return mark_as_data(inputs)

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def train_test_split(
    *arrays: np.ndarray,
    test_size: int | float,
    rng: init.Seed = None,
    stratify: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Shuffle and split arrays of equal length: ``X_train, X_test, y_train, y_test = ...``.

    ``test_size`` is a number of samples or a fraction in (0, 1). With ``stratify=labels``
    each class keeps (as nearly as possible) its share in both parts.
    """
    n = len(ArrayDataset(*arrays))
    n_test = _test_count(test_size, n)
    rng = init.as_generator(rng)
    if stratify is None:
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
    else:
        stratify = np.asarray(stratify)
        if len(stratify) != n:
            raise ValueError(
                f"train_test_split: stratify has {len(stratify)} labels for {n} samples"
            )
        test, train = _stratified_indices(stratify, n_test, rng)
    return [
        part for array in arrays for part in (np.asarray(array)[train], np.asarray(array)[test])
    ]


def _test_count(test_size: int | float, n: int) -> int:
    """The number of test samples; an error unless both parts are non-empty."""
    if isinstance(test_size, float) and 0 < test_size < 1:
        count = math.ceil(test_size * n)
    elif is_integer(test_size):
        count = int(test_size)
    else:
        raise ValueError(
            f"train_test_split: test_size must be a count or a fraction in (0, 1), got {test_size!r}"
        )
    if not 0 < count < n:
        raise ValueError(
            f"train_test_split: test_size={test_size!r} leaves an empty part of {n} samples"
        )
    return count


def _stratified_indices(labels: np.ndarray, n_test: int, rng: np.random.Generator):
    """(test, train) indices with each class split in proportion to its size."""
    classes, counts = np.unique(labels, return_counts=True)
    # Largest remainders: floor each class's share, then give the rest to the largest fractions.
    shares = counts * n_test / len(labels)
    quotas = np.floor(shares).astype(int)
    leftover = n_test - quotas.sum()
    quotas[np.argsort(quotas - shares, kind="stable")[:leftover]] += 1
    test, train = [], []
    for label, quota in zip(classes, quotas, strict=True):
        members = rng.permutation(np.flatnonzero(labels == label))
        test.append(members[:quota])
        train.append(members[quota:])
    return rng.permutation(np.concatenate(test)), rng.permutation(np.concatenate(train))


# -- transforms: callables on a batch of inputs ``(batch, *shape)`` ------------------------------


class Compose:
    """Apply transforms one after the other: ``Compose([Flatten(), Normalize(0.5, 0.5)])``."""

    def __init__(self, transforms: Sequence[Callable[[np.ndarray], np.ndarray]]):
        self.transforms = list(transforms)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class Normalize:
    """(x - mean) / std, broadcast over the batch: ``(batch, *shape) -> (batch, *shape)``."""

    def __init__(self, mean: float | np.ndarray, std: float | np.ndarray):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        if np.any(self.std <= 0):
            raise ValueError("Normalize: std must be positive")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
        return (x - self.mean.astype(dtype)) / self.std.astype(dtype)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class Flatten:
    """Flatten every sample: ``(batch, *shape) -> (batch, prod(shape))``."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1)

    def __repr__(self) -> str:
        return "Flatten()"


class RandomNoise:
    """Add Gaussian noise of standard deviation ``std``: ``(batch, *shape) -> (batch, *shape)``."""

    def __init__(self, std: float, rng: init.Seed = None):
        self.std = std
        self.rng = init.as_generator(rng)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x + (self.std * self.rng.standard_normal(x.shape)).astype(x.dtype)

    def __repr__(self) -> str:
        return f"RandomNoise(std={self.std})"


class RandomShift:
    """Shift each image by up to ``max_shift`` pixels in each direction, filling with zeros.

    Images of ``image_shape`` (height, width) may come flat ``(batch, height * width)`` or
    as ``(batch, height, width)``; the output has the input's shape.
    """

    def __init__(self, max_shift: int, image_shape: tuple[int, int], rng: init.Seed = None):
        self.max_shift = int(max_shift)
        self.image_shape = tuple(image_shape)
        self.rng = init.as_generator(rng)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        height, width = self.image_shape
        m = self.max_shift
        images = x.reshape(len(x), height, width)
        padded = np.pad(images, ((0, 0), (m, m), (m, m)))
        # Image b is read from the window of padded starting at (m - dy_b, m - dx_b).
        dy, dx = self.rng.integers(-m, m + 1, size=(2, len(x)))
        rows = (m - dy)[:, None] + np.arange(height)
        cols = (m - dx)[:, None] + np.arange(width)
        batch = np.arange(len(x))[:, None, None]
        return padded[batch, rows[:, :, None], cols[:, None, :]].reshape(x.shape)

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift}, image_shape={self.image_shape})"
