"""Check what one epoch of a ``DataLoader`` must look like, from iteration and ``len()`` only."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pancake.data import ArrayDataset
from pancake.testing.reports import PropertyReport

DATASET_SIZES = (1, 10, 17)
BATCH_SIZES = (1, 4, 10, 32)


@dataclass
class LoaderCase:
    """One loader to check: its data set, whose sample i is ([i, -i], i) or just i, and settings."""

    dataset: Any
    kind: str
    n: int
    batch_size: int
    shuffle: bool
    drop_last: bool

    @property
    def pairs(self) -> bool:
        """Whether batches are (inputs, targets) tuples rather than single arrays."""
        return self.kind != "ArrayDataset(i)"

    @property
    def expected_batches(self) -> int:
        if self.drop_last:
            return self.n // self.batch_size
        return math.ceil(self.n / self.batch_size)

    def __str__(self) -> str:
        return (
            f"{self.kind} of {self.n} sample{'s' * (self.n != 1)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}"
        )


def index_datasets(n: int) -> dict[str, Any]:
    """Data sets of n samples that reveal their indices: named by their kind."""
    indices = np.arange(n)
    inputs = np.stack([indices, -indices], axis=1).astype(np.float64)
    return {
        "ArrayDataset([i, -i], i)": ArrayDataset(inputs, indices),
        "list of ([i, -i], i)": [(inputs[i], i) for i in range(n)],
        "ArrayDataset(i)": ArrayDataset(indices),
    }


def check_data_loader(loader_cls: type, *, seed: int = 0) -> PropertyReport:
    """Check the epochs of ``loader_cls(dataset, batch_size=, shuffle=, drop_last=, rng=seed)``.

    Over data sets of several sizes (arrays, and a plain list of samples) and batch sizes:
    ``len()`` is the number of batches, each sample comes exactly once per epoch (but the
    last ``n % batch_size`` with ``drop_last``), batches have the right shapes and keep
    inputs with their targets; shuffle=False keeps the order; shuffle=True gives the same
    orders for the same seed and a new order every epoch. Raises AssertionError.
    """
    cases = [
        LoaderCase(dataset, kind, n, batch_size, shuffle, drop_last)
        for n in DATASET_SIZES
        for kind, dataset in index_datasets(n).items()
        for batch_size in BATCH_SIZES
        for shuffle in (False, True)
        for drop_last in (False, True)
    ]
    for case in cases:
        loader = loader_cls(
            case.dataset,
            batch_size=case.batch_size,
            shuffle=case.shuffle,
            drop_last=case.drop_last,
            rng=seed,
        )
        _check_epoch(loader, case, f"{loader_cls.__name__}({case})")
    _check_shuffling(loader_cls, seed)
    lines = [
        f"{len(cases)} loaders: {', '.join(map(str, DATASET_SIZES))} samples, batch sizes "
        f"{', '.join(map(str, BATCH_SIZES))}, shuffle and drop_last on and off",
        "len() = number of batches, batch shapes, every sample once per epoch, pairs kept: OK",
        "shuffle=False keeps the order: OK",
        "shuffle=True: a new order every epoch, the same orders for the same seed: OK",
    ]
    return PropertyReport(f"data loader check of {loader_cls.__name__}: OK", lines)


def _check_epoch(loader, case: LoaderCase, where: str) -> None:
    """One epoch: the batch count, each batch, and each sample once, in order unless shuffled."""
    if len(loader) != case.expected_batches:
        rule = "n // batch_size (drop_last)" if case.drop_last else "ceil(n / batch_size)"
        raise AssertionError(
            f"{where}: len() is {len(loader)}, expected {rule} = {case.expected_batches}"
        )
    try:
        batches = list(loader)
    except Exception as error:
        hint = (
            _served_hint(type(loader)) or _slices_hint(type(loader))
            if isinstance(case.dataset, ArrayDataset)
            else "; plain data sets take one int index at a time: yield self.fetch(indices), "
            "which indexes any data set sample by sample (and applies the transform), instead "
            "of indexing the data set with an array"
        )
        raise AssertionError(
            f"{where}: iterating raised {type(error).__name__}: {error}{hint}"
        ) from error
    if len(batches) != case.expected_batches:
        hint = (
            _served_hint(type(loader))
            or _last_batch_only_hint(type(loader))
            or _pieces_hint(type(loader))
            or _slices_hint(type(loader))
            or _batch_count_hint(batches, case)
        )
        raise AssertionError(
            f"{where}: one epoch gave {len(batches)} batches, expected {case.expected_batches}"
            f"{hint or _layout_hint(batches, case)}"
        )
    sizes = [min(case.batch_size, case.n - k * case.batch_size) for k in range(len(batches))]
    try:
        seen = [
            _batch_indices(batch, case.pairs, size, f"{where}, batch {k}")
            for k, (batch, size) in enumerate(zip(batches, sizes, strict=True))
        ]
    except _ShortBatch as error:
        raise AssertionError(f"{error}{_served_hint(type(loader)) or _SHORT_SLICE_HINT}") from None
    except AssertionError as error:
        hint = (
            _served_hint(type(loader)) or _slices_hint(type(loader)) or _layout_hint(batches, case)
        )
        raise AssertionError(f"{error}{hint}") from None
    order = np.concatenate(seen) if seen else np.zeros(0, dtype=int)
    if len(np.unique(order)) != len(order):
        raise AssertionError(
            f"{where}: some samples came twice in one epoch"
            f"{_draws_hint(type(loader)) or _served_hint(type(loader)) or _PERMUTATION_HINT}"
        )
    if not case.shuffle and not np.array_equal(order, np.arange(len(order))):
        raise AssertionError(
            f"{where}: with shuffle=False the samples must come in order 0, 1, 2, ..."
        )


_PERMUTATION_HINT = (
    "; visit a permutation of the indices (rng.permutation(n)), not independently drawn indices"
)
# The generic epochs on which a failure is diagnosed: batches that do not divide the
# samples; a relation is named only when it holds on both (never on a coincidence).
GENERIC_EPOCHS = ((10, 3), (11, 4))


def _served_hint(loader_cls: type, seed: int = 0) -> str:
    """When unshuffled generic epochs serve their first samples only, and the number served
    is n - 1 on each, or len(self) (the number of batches) on each: what was served and that
    cause; the same for shuffled epochs (the permutation drawn over too few samples); else
    ""."""
    for shuffle in (False, True):
        served = [
            _first_samples_served(loader_cls, n, size, seed, shuffle) for n, size in GENERIC_EPOCHS
        ]
        if all(epoch is not None for epoch in served):
            return _too_few_samples_hint(served, shuffle)
    return ""


def _too_few_samples_hint(served: list, shuffle: bool) -> str:
    """The hint for generic epochs that served the first samples only (``served``: one
    (how many, len(loader), the batches' samples) per epoch), if a cause fits each; else ""."""
    causes = {
        "n - 1 leaves out the last: n = len(self.dataset)": [
            last == n - 1 for (last, _, _), (n, _) in zip(served, GENERIC_EPOCHS, strict=True)
        ],
        # unshuffled, one batch of batch_size is a slice's end instead (_SHORT_SLICE_HINT)
        "batch_size is the size of one batch: permute every sample, n = len(self.dataset)": [
            shuffle and last == size
            for (last, _, _), (_, size) in zip(served, GENERIC_EPOCHS, strict=True)
        ],
        "len(self) is the number of batches: "
        + ("permute every sample" if shuffle else "loop over every sample")
        + ", n = len(self.dataset)": [last == count for last, count, _ in served],
    }
    why = next((cause for cause, holds in causes.items() if all(holds)), None)
    if why is None:
        return ""
    (last, _, held), (n, size) = served[0], GENERIC_EPOCHS[0]
    if shuffle:
        return (
            f"; a shuffled epoch of {n} samples in batches of {size} served {_listed(held)}: "
            f"only samples 0 to {last - 1}, {last} of the {n}: the permutation is drawn over "
            f"{last} indices ({why})"
        )
    return (
        f"; an epoch of {n} samples in batches of {size} (no shuffle) served {_listed(held)}: "
        f"they cover {last} of the {n} samples: the epoch stops after sample {last - 1} ({why})"
    )


def _first_samples_served(loader_cls: type, n: int, size: int, seed: int, shuffle=False):
    """(how many samples, len(loader), the batches' samples) of an epoch of ``n`` samples
    in batches of ``size``, when it serves samples 0, 1, 2... (in any order if ``shuffle``)
    but not all; else None."""
    try:
        loader = _generic_loader(loader_cls, n, size, seed, shuffle)
        held = [_samples_in(batch, pairs=True) for batch in loader]
        count = len(loader)
    except Exception:  # the failure says what went wrong
        return None
    if any(samples is None for samples in held):
        return None
    served = [sample for samples in held for sample in samples]
    in_order = sorted(served) if shuffle else served
    if not served or in_order != list(range(len(served))) or len(served) >= n:
        return None
    return len(served), count, held


def _generic_loader(loader_cls: type, n: int, size: int, seed: int, shuffle: bool = False):
    """A loader of ``loader_cls`` over the ``n`` samples ([i, -i], i) of a generic epoch, in
    batches of ``size``, the last one kept (drop_last=False)."""
    dataset = index_datasets(n)["ArrayDataset([i, -i], i)"]
    return loader_cls(dataset, batch_size=size, shuffle=shuffle, drop_last=False, rng=seed)


class _CountingGenerator:
    """A random generator that counts the calls of each of its methods (``calls``)."""

    def __init__(self, generator: np.random.Generator):
        self.generator, self.calls = generator, {}

    def __getattr__(self, name: str):
        method = getattr(self.generator, name)

        def counted(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)

        return counted


def _draws_hint(loader_cls: type, seed: int = 0) -> str:
    """How shuffled generic epochs drew their order from ``loader.rng``, when that is why
    samples repeat: a permutation drawn for every batch (on each epoch), or indices drawn
    one by one; else ""."""
    draws = [_calls_in_an_epoch(loader_cls, n, size, seed) for n, size in GENERIC_EPOCHS]
    if any(epoch is None for epoch in draws):
        return ""
    orders = [calls.get("permutation", 0) + calls.get("shuffle", 0) for _, calls in draws]
    if all(
        batches > 1 and count == batches for (batches, _), count in zip(draws, orders, strict=True)
    ):
        return (
            f"; an epoch of {draws[0][0]} batches drew {orders[0]} permutations from self.rng, "
            "one per batch, so each batch slices another order: draw the order once per "
            "epoch, before the batch loop, then slice it"
        )
    if not any(orders) and all(calls.keys() & {"integers", "choice"} for _, calls in draws):
        return (
            "; the indices were drawn one by one (rng.integers or rng.choice), so some repeat "
            "and others never come: visit a permutation of the indices, rng.permutation(n)"
        )
    return ""


def _calls_in_an_epoch(loader_cls: type, n: int, size: int, seed: int):
    """(the number of batches, {method: calls} of self.rng) of a shuffled epoch of ``n``
    samples in batches of ``size``; None when the loader has no self.rng or fails."""
    try:
        loader = _generic_loader(loader_cls, n, size, seed, shuffle=True)
        rng = loader.rng = _CountingGenerator(loader.rng)
        return len(list(loader)), rng.calls
    except Exception:  # no hint from here
        return None


def _last_batch_only_hint(loader_cls: type, seed: int = 0) -> str:
    """When unshuffled generic epochs each give one batch, their last one: the yield runs
    once, after the loop; else ""."""
    for n, size in GENERIC_EPOCHS:
        try:
            batches = [
                _samples_in(batch, pairs=True)
                for batch in _generic_loader(loader_cls, n, size, seed)
            ]
        except Exception:  # no hint from here
            return ""
        if batches != [list(range(size * ((n - 1) // size), n))]:
            return ""
    n, size = GENERIC_EPOCHS[0]
    return (
        f"; an epoch of {n} samples in batches of {size} gave one batch, the last one: the "
        "yield runs once, after the loop over the batches: indent it into the loop"
    )


def _pieces_hint(loader_cls: type, seed: int = 0) -> str:
    """When unshuffled generic epochs each give batch_size batches (not batches of
    batch_size samples): the epoch cut into batch_size pieces; else ""."""
    counts = []
    for n, size in GENERIC_EPOCHS:
        try:
            counts.append(len(list(_generic_loader(loader_cls, n, size, seed))))
        except Exception:  # no hint from here
            return ""
    if counts != [size for _, size in GENERIC_EPOCHS]:
        return ""
    (n, size), count = GENERIC_EPOCHS[0], counts[0]
    return (
        f"; an epoch of {n} samples with batch_size={size} gave {count} batches: the epoch "
        "was cut into batch_size pieces (np.array_split(order, k) makes k pieces), not into "
        "batches of batch_size samples: slice order[start : start + batch_size] for start "
        "in range(0, n, batch_size)"
    )


# Unshuffled generic epochs on which the slices a loader cuts are read: batches that do
# not divide the samples, and (12, 5), which np.split(order, k) can cut in equal pieces.
SLICE_EPOCHS = ((10, 3), (11, 4), (12, 5))


def _slices_hint(loader_cls: type, seed: int = 0) -> str:
    """What the batches of unshuffled generic epochs are, when each of those that run is
    cut the same wrong way: no batch at all, every batch_size-th sample, slices that run to
    the end, or equal pieces of another size; else "". Epochs that raise are left out (as
    np.split does when its pieces cannot be equal), but one at least must run."""
    epochs = []
    for n, size in SLICE_EPOCHS:
        try:
            held = [
                _samples_in(batch, pairs=True)
                for batch in _generic_loader(loader_cls, n, size, seed)
            ]
        except Exception:  # this epoch says nothing about the slices
            continue
        if any(samples is None for samples in held):
            return ""
        epochs.append((n, size, held))
    for describe in (_no_batch, _whole_epoch, _stepped_slices, _slices_to_the_end, _equal_pieces):
        texts = [describe(n, size, held) for n, size, held in epochs]
        if texts and all(texts):
            return texts[0]
    return ""


def _runs(held: list[list[int]], step: int) -> bool:
    """Whether each batch is an increasing run of sample numbers ``step`` apart."""
    return all(np.all(np.diff(samples) == step) for samples in held)


def _no_batch(n: int, size: int, held: list) -> str:
    if held:
        return ""
    return (
        f"; an epoch of {n} samples in batches of {size} (no shuffle) gave no batch at all: "
        "the loop never reached its yield. Does it run over an iterator that was used up "
        "before (a generator, map or zip is used up by one pass, len(list(it)) included), "
        "or does a condition end it before the first batch?"
    )


def _stepped_slices(n: int, size: int, held: list) -> str:
    if size < 2 or not any(len(samples) > 1 for samples in held) or not _runs(held, size):
        return ""
    return (
        f"; an epoch of {n} samples in batches of {size} (no shuffle) held {_listed(held)}: "
        f"each batch takes samples {size} apart, every batch_size-th one (in order[start::"
        "batch_size] the third number is a step): a batch is the run of batch_size samples "
        "order[start : start + batch_size]"
    )


def _whole_epoch(n: int, size: int, held: list) -> str:
    if size >= n or len(held) < 2 or any(sorted(samples) != list(range(n)) for samples in held):
        return ""
    return (
        f"; an epoch of {n} samples in batches of {size} (no shuffle) gave {len(held)} "
        f"batches of all {n} samples: each batch fetches the whole order (fetch(order)) "
        "where its own slice belongs, fetch(order[start : start + batch_size])"
    )


def _slices_to_the_end(n: int, size: int, held: list) -> str:
    if not held or not _runs(held, 1) or any(samples[-1] != n - 1 for samples in held if samples):
        return ""
    if [samples[0] for samples in held if samples] != list(range(0, n, size))[: len(held)]:
        return ""  # the slices do not start where the batches do: not this mistake
    if max(len(samples) for samples in held) <= size:
        return ""
    return (
        f"; an epoch of {n} samples in batches of {size} (no shuffle) held {_listed(held)}: "
        "each batch runs to the last sample (a slice without its end, order[start:]): end "
        "it at start + batch_size, order[start : start + batch_size]"
    )


def _equal_pieces(n: int, size: int, held: list) -> str:
    sizes = [len(samples) for samples in held]
    expected = [min(size, n - start) for start in range(0, n, size)]
    if (
        sizes == expected
        or not _runs(held, 1)
        or [sample for samples in held for sample in samples] != list(range(n))
        or max(sizes) - min(sizes) > 1
    ):
        return ""
    return (
        f"; an epoch of {n} samples with batch_size={size} gave batches of "
        f"{', '.join(map(str, sizes))} samples, expected {', '.join(map(str, expected))}: the "
        f"epoch was cut into {len(sizes)} equal pieces (np.split or np.array_split(order, k) "
        "make k pieces), not into batches of batch_size samples: slice order[start : start + "
        "batch_size] for start in range(0, n, batch_size)"
    )


def _batch_count_hint(batches: list, case: LoaderCase) -> str:
    count, last_is_full = len(batches), case.n % case.batch_size == 0
    if case.pairs and count == 2 * case.expected_batches and _inputs_then_targets(batches):
        return (
            "; each batch came out as two items, its inputs and then its targets: `yield "
            "from` (or a loop over the pair) yields the pair's parts one by one; yield the "
            "pair itself, yield self.fetch(indices)"
        )
    if count == case.expected_batches + 1 and _is_empty(batches[-1]):
        return (
            "; the last batch is empty: a batch was started at n, where no sample is left "
            "(range(0, n + 1, batch_size)?): start one at every multiple of batch_size below "
            "n, range(0, n, batch_size)"
        )
    if count == case.expected_batches - 1 and not case.drop_last:
        if last_is_full:
            return (
                "; the last batch is missing, though it is full: the loop ends one batch early "
                "(start a batch at every multiple of batch_size below n: range(0, n, batch_size))"
            )
        return "; the last, smaller batch is missing (only drop_last=True skips it)"
    if count == case.expected_batches - 1 and last_is_full:
        return (
            "; the last batch is full (n is a multiple of batch_size), yet it was dropped: "
            "drop_last skips only a batch smaller than batch_size (len(indices) < batch_size, "
            "not <=)"
        )
    if count == case.expected_batches + 1 and case.drop_last:
        return "; with drop_last=True the last, smaller batch must be skipped"
    if count == 0 and case.drop_last:
        return (
            "; with drop_last=True no batch came at all: skip only the last batch, and only "
            "when it is short (len(indices) < batch_size)"
        )
    return ""


def _inputs_then_targets(batches: list) -> bool:
    """Whether ``batches`` alternate a batch's inputs (two columns, [i, -i]) and its targets."""
    inputs, targets = batches[::2], batches[1::2]
    return all(
        isinstance(x, np.ndarray)
        and isinstance(t, np.ndarray)
        and x.ndim == 2
        and x.shape[1:] == (2,)
        and t.ndim == 1
        and len(x) == len(t)
        for x, t in zip(inputs, targets, strict=True)
    )


def _layout_hint(batches: list, case: LoaderCase) -> str:
    """Which samples the batches held, next to the expected ones (unshuffled epochs), and
    what the difference most likely means: batches that do not step by batch_size, or an
    epoch that does not cover the data set."""
    held = [_samples_in(batch, case.pairs) for batch in batches]
    if case.shuffle or any(samples is None for samples in held):
        return ""
    size, n = case.batch_size, case.n
    expected = [list(range(k * size, min(n, (k + 1) * size))) for k in range(case.expected_batches)]
    text = f"; the batches held samples {_listed(held)}, expected {_listed(expected)}"
    starts = [samples[0] for samples in held if samples]
    covered = len({sample for samples in held for sample in samples})
    if size > 1 and len(starts) > 1 and starts == list(range(len(starts))):
        return text + (
            ": the batches start at 0, 1, 2, ...: step the start by batch_size, "
            "for start in range(0, n, batch_size)"
        )
    if 0 < covered < n and len(held) < case.expected_batches:
        return text + (
            f": they cover {covered} of the {n} samples: loop over every sample, n = "
            "len(self.dataset) (len(self) is the number of batches)"
        )
    return text


def _samples_in(batch, pairs: bool) -> list[int] | None:
    """The sample numbers in a batch (sample i has target i), or None if not readable."""
    targets = batch[1] if pairs and isinstance(batch, tuple) and len(batch) == 2 else batch
    try:
        return [int(target) for target in np.asarray(targets).ravel()]
    except (TypeError, ValueError):  # not numbers: the failure says what the batch is
        return None


def _listed(batches: list[list[int]], most: int = 4) -> str:
    """Batches of sample numbers, the first ``most`` of them: [0, 1] [2, 3] ..."""
    shown = " ".join(str(samples) for samples in batches[:most])
    more = f" ... ({len(batches)} batches)" if len(batches) > most else ""
    return (shown or "none") + more


def _is_empty(batch) -> bool:
    """True for a batch of no sample: an empty array, or a pair whose inputs are empty."""
    first = batch[0] if isinstance(batch, tuple) and batch else batch
    return np.size(first) == 0


class _ShortBatch(AssertionError):
    """A batch with fewer samples than it should have."""


_SHORT_SLICE_HINT = (
    "; the batch is short: does its slice end at start + batch_size, "
    "order[start : start + batch_size]?"
)


def _batch_indices(batch, pairs: bool, size: int, where: str) -> np.ndarray:
    """Check one batch's type, shapes and pairing; return the indices of its samples."""
    if not pairs:
        if not isinstance(batch, np.ndarray) or batch.shape != (size,):
            raise AssertionError(
                f"{where}: expected an array of shape ({size},), got {_describe(batch)}"
            )
        return batch
    if not (isinstance(batch, tuple) and len(batch) == 2):
        raise AssertionError(f"{where}: expected a tuple (inputs, targets), got {_describe(batch)}")
    inputs, targets = batch
    if np.shape(inputs) != (size, 2) or np.shape(targets) != (size,):
        short = np.ndim(targets) == 1 and len(targets) < size
        raise (_ShortBatch if short else AssertionError)(
            f"{where}: expected inputs of shape ({size}, 2) and targets of shape ({size},), "
            f"got {np.shape(inputs)} and {np.shape(targets)}"
        )
    if not (np.array_equal(inputs[:, 0], targets) and np.array_equal(inputs[:, 1], -targets)):
        raise AssertionError(
            f"{where}: inputs and targets no longer belong together; index every array "
            "with the same indices"
        )
    return np.asarray(targets)


def _describe(batch) -> str:
    if isinstance(batch, list) and batch and all(isinstance(item, tuple) for item in batch):
        return (
            f"a list of {len(batch)} samples, each a pair (x, y): a batch is one pair of "
            "arrays, the samples stacked (inputs of shape (batch, ...), targets of shape "
            "(batch,)): yield self.fetch(indices), which fetches them all and stacks them"
        )
    if isinstance(batch, tuple):
        return f"a tuple of {len(batch)}: shapes {[np.shape(part) for part in batch]}"
    try:
        return f"a {type(batch).__name__} of shape {np.shape(batch)}"
    except ValueError:  # ragged: np.shape cannot say
        return f"a {type(batch).__name__} of {len(batch)} items of different shapes"


def _check_shuffling(loader_cls: type, seed: int) -> None:
    """Shuffled epochs: not in order, different from one another, reproducible from the seed."""
    dataset = ArrayDataset(np.arange(20))
    where = f"{loader_cls.__name__}(ArrayDataset(i) of 20 samples, batch_size=6, shuffle=True, rng={seed})"

    def two_epochs(rng) -> list[np.ndarray]:
        loader = loader_cls(dataset, batch_size=6, shuffle=True, rng=rng)
        return [np.concatenate(list(loader)) for _ in range(2)]

    first = two_epochs(seed)
    if np.array_equal(first[0], np.arange(20)):
        raise AssertionError(f"{where}: shuffle=True left the samples in order")
    _check_batches_mix(loader_cls, seed, dataset, where)
    if np.array_equal(first[0], first[1]):
        raise AssertionError(
            f"{where}: two epochs came in the same order; draw a new permutation at the start "
            "of every epoch (in __iter__), not once in __init__"
        )
    for rng in (seed, np.random.default_rng(seed)):
        again = two_epochs(rng)
        if not all(np.array_equal(a, b) for a, b in zip(first, again, strict=True)):
            raise AssertionError(
                f"{where}: another loader with rng={rng!r} gave other orders; draw every "
                "permutation from the generator made from rng (pancake.init.as_generator), "
                "never from np.random's global state"
            )
    _check_every_order_comes(loader_cls, seed)


def _check_batches_mix(loader_cls: type, seed: int, dataset, where: str) -> None:
    """Shuffled epochs of 20 samples in batches of 6 do not keep each batch's samples: a
    shuffle keeps all four only once in 20! / (6!³ 2!), about 1e-10 of its epochs."""
    loader = loader_cls(dataset, batch_size=6, shuffle=True, rng=seed)
    unshuffled = [list(range(start, min(20, start + 6))) for start in range(0, 20, 6)]
    for _ in range(2):
        held = [sorted(_samples_in(batch, pairs=False) or ()) for batch in loader]
        if held != unshuffled:
            return
    raise AssertionError(
        f"{where}: in two epochs each batch held the samples it holds without shuffling "
        "(samples 0 to 5, then 6 to 11, ...), only in another order: the shuffle reorders "
        "the samples inside each batch, not the data set: permute every index once per "
        "epoch, order = self.rng.permutation(n), then cut that order into batches"
    )


# Shuffled epochs of 3 samples in which a uniform shuffle shows all 6 orders (a uniform
# shuffle misses one with probability 6 * (5/6) ** 120, about 2e-9)
ORDER_EPOCHS = 120


def _check_every_order_comes(loader_cls: type, seed: int) -> None:
    """Over many shuffled epochs of 3 samples, every one of the 6 orders comes up."""
    loader = loader_cls(ArrayDataset(np.arange(3)), batch_size=3, shuffle=True, rng=seed)
    seen = {tuple(int(i) for i in np.concatenate(list(loader))) for _ in range(ORDER_EPOCHS)}
    missing = sorted(set(itertools.permutations(range(3))) - seen)
    if missing:
        raise AssertionError(
            f"{loader_cls.__name__}(ArrayDataset(i) of 3 samples, batch_size=3, shuffle=True, "
            f"rng={seed}): in {ORDER_EPOCHS} epochs the orders {missing} never came, though a "
            "shuffle gives each of the 6 orders about as often: use each epoch's permutation "
            "as it is, its slices order[start : start + batch_size] (indexing it again, "
            "order[order] or order[indices], applies the permutation twice)"
        )
