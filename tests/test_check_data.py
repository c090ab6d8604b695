"""pancake.testing.data: check_data_loader passes the DataLoader and catches buggy loaders."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pancake.data import DataLoader
from pancake.testing import check_data_loader

pytestmark = pytest.mark.ex07


def test_check_data_loader_passes_the_data_loader():
    report = str(check_data_loader(DataLoader))
    assert "data loader check of DataLoader: OK" in report
    assert "144 loaders" in report


class DropsTheLastBatch(DataLoader):
    def __iter__(self):
        order = (
            self.rng.permutation(len(self.dataset))
            if self.shuffle
            else np.arange(len(self.dataset))
        )
        for start in range(0, len(self.dataset) - self.batch_size + 1, self.batch_size):
            yield self.fetch(order[start : start + self.batch_size])


class SamplesWithReplacement(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.integers(0, n, n) if self.shuffle else np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self.fetch(order[start : start + self.batch_size])


class ShufflesColumnsSeparately(DataLoader):
    def __iter__(self):
        for batch in super().__iter__():
            if isinstance(batch, tuple) and self.shuffle:
                yield (batch[0], self.rng.permutation(batch[1]))
            else:
                yield batch


class ShufflesOnceInInit(DataLoader):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = self.rng.permutation(len(self.dataset))

    def __iter__(self):
        order = self.order if self.shuffle else np.arange(len(self.dataset))
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self.fetch(order[start : start + self.batch_size])


class UsesTheGlobalGenerator(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = np.random.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self.fetch(order[start : start + self.batch_size])


class IgnoresShuffle(DataLoader):
    def __iter__(self):
        self.shuffle = False
        yield from super().__iter__()


class IgnoresDropLast(DataLoader):
    def __iter__(self):
        self.drop_last = False
        yield from super().__iter__()


class AlwaysShuffles(DataLoader):
    def __iter__(self):
        self.shuffle = True
        yield from super().__iter__()


class LenIgnoresDropLast(DataLoader):
    def __len__(self):
        return math.ceil(len(self.dataset) / self.batch_size)


class IndexesTheDatasetDirectly(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self.dataset[order[start : start + self.batch_size]]


class EndsOneBatchEarly(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n - self.batch_size, self.batch_size):
            yield self.fetch(order[start : start + self.batch_size])


class StartsABatchAtN(DataLoader):
    """range(0, n + 1, batch_size): an empty batch when batch_size divides n."""

    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n + 1, self.batch_size):
            yield self.fetch(order[start : start + self.batch_size])


class DropsFullBatchesToo(DataLoader):
    """drop_last compared with <=: a full last batch is dropped as well."""

    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            indices = order[start : start + self.batch_size]
            if self.drop_last and len(indices) <= self.batch_size:
                break
            yield self.fetch(indices)


class SlicesFromStartToBatchSize(DataLoader):
    """order[start : batch_size]: the end of the slice does not move, later batches are empty."""

    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            indices = order[start : self.batch_size]
            if self.drop_last and len(indices) < self.batch_size:
                break
            yield self.fetch(indices)


class StartsBatchesAtTheirNumbers(DataLoader):
    """for start in range(len(self)): batch numbers used as the samples they start at."""

    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(len(self)):
            yield self.fetch(order[start : start + self.batch_size])


class CountsBatchesAsSamples(DataLoader):
    """n = len(self): the number of batches taken for the number of samples."""

    def __iter__(self):
        n = len(self)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            yield self.fetch(order[start : start + self.batch_size])


class DropLastWhenNDoesNotDivide(DataLoader):
    """drop_last tested on n % batch_size: no batch at all when it does not divide."""

    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            if self.drop_last and n % self.batch_size:
                break
            yield self.fetch(order[start : start + self.batch_size])


class ServesOneSampleShort(DataLoader):
    """n = len(self.dataset) - 1: the last sample never comes."""

    def __iter__(self):
        n = len(self.dataset) - 1
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            yield self.fetch(order[start : start + self.batch_size])


class PermutesTheBatchCount(DataLoader):
    """rng.permutation(len(self)) when shuffled: a permutation of the batches' count."""

    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(len(self)) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            yield self.fetch(order[start : start + self.batch_size])


class PermutesTheBatchSize(DataLoader):
    """rng.permutation(self.batch_size) when shuffled: a permutation of one batch's size."""

    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(self.batch_size) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            yield self.fetch(order[start : start + self.batch_size])


class YieldsFromTheBatch(DataLoader):
    """yield from self.fetch(indices): the inputs, then the targets, as two items."""

    def __iter__(self):
        for batch in super().__iter__():
            yield from batch


class DrawsAPermutationPerBatch(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        for start in range(0, n, self.batch_size):
            order = self.rng.permutation(n) if self.shuffle else np.arange(n)
            indices = order[start : start + self.batch_size]
            if self.drop_last and len(indices) < self.batch_size:
                break
            yield self.fetch(indices)


class YieldsAListOfSamples(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            indices = order[start : start + self.batch_size]
            if self.drop_last and len(indices) < self.batch_size:
                break
            yield [self.dataset[i] for i in indices]


class CutsIntoBatchSizePieces(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for indices in np.array_split(order, self.batch_size):
            if self.drop_last and len(indices) < self.batch_size:
                break
            yield self.fetch(indices)


class PermutesTwice(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            indices = order[start : start + self.batch_size]
            if self.drop_last and len(indices) < self.batch_size:
                break
            yield self.fetch(order[indices])


class YieldsAfterTheLoop(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            indices = order[start : start + self.batch_size]
            if self.drop_last and len(indices) < self.batch_size:
                break
        yield self.fetch(indices)


class ShufflesInPlace(DataLoader):
    """Unusual but correct: np.arange shuffled in place by the loader's generator."""

    def __iter__(self):
        n = len(self.dataset)
        order = np.arange(n)
        if self.shuffle:
            self.rng.shuffle(order)
        for start in range(0, n, self.batch_size):
            indices = order[start : start + self.batch_size]
            if self.drop_last and len(indices) < self.batch_size:
                break
            yield self.fetch(indices)


class ShufflesInsideEachBatch(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        for start in range(0, n, self.batch_size):
            indices = np.arange(start, min(n, start + self.batch_size))
            if self.shuffle:
                self.rng.shuffle(indices)
            if self.drop_last and len(indices) < self.batch_size:
                break
            yield self.fetch(indices)


class SplitsIntoEqualPieces(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        yield from map(self.fetch, np.split(order, max(1, n // self.batch_size)))


class SlicesWithAStep(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            yield self.fetch(order[start :: self.batch_size])


class SlicesToTheEnd(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            yield self.fetch(order[start:])


class FetchesTheWholeOrder(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for _ in range(0, n, self.batch_size):
            yield self.fetch(order)


class UsesUpItsSlices(DataLoader):
    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        slices = (order[start : start + self.batch_size] for start in range(0, n, self.batch_size))
        count = len(list(slices))
        for number, indices in enumerate(slices):
            if self.drop_last and number == count - 1 and len(indices) < self.batch_size:
                break
            yield self.fetch(indices)


def test_an_unusual_uniform_shuffle_passes():
    check_data_loader(ShufflesInPlace)


@pytest.mark.parametrize(
    ("buggy_cls", "message"),
    [
        (YieldsAfterTheLoop, "gave one batch, the last one: the yield runs once, after the loop"),
        (PermutesTwice, r"the orders \[\(0, 2, 1\), \(1, 0, 2\), \(2, 1, 0\)\] never came"),
        (
            YieldsAListOfSamples,
            r"got a list of 1 samples, each a pair .*yield self\.fetch\(indices\)",
        ),
        (CutsIntoBatchSizePieces, r"cut into batch_size pieces \(np\.array_split"),
        (
            StartsBatchesAtTheirNumbers,
            r"held samples \[0, 1, 2, 3\] \[1, 2, 3, 4\] .*step the start by batch_size",
        ),
        (CountsBatchesAsSamples, r"they cover \d+ of the \d+ samples: .*len\(self.dataset\)"),
        (DropLastWhenNDoesNotDivide, "no batch came at all: skip only the last batch"),
        (SlicesFromStartToBatchSize, r"the batch is short: .*order\[start : start \+ batch_size\]"),
        (DropsTheLastBatch, "the last, smaller batch is missing"),
        (
            SamplesWithReplacement,
            r"came twice in one epoch; the indices were drawn one by one \(rng.integers",
        ),
        (ServesOneSampleShort, r"stops after sample 8 \(n - 1 leaves out the last"),
        (PermutesTheBatchSize, r"drawn over 3 indices \(batch_size is the size of one batch"),
        (YieldsFromTheBatch, "each batch came out as two items, its inputs and then its targets"),
        (
            PermutesTheBatchCount,
            r"the permutation is drawn over 4 indices \(len\(self\) is the number of batches: "
            "permute every sample",
        ),
        (DrawsAPermutationPerBatch, "drew 4 permutations from self.rng, one per batch"),
        (ShufflesColumnsSeparately, "no longer belong together"),
        (ShufflesOnceInInit, "same order"),
        (UsesTheGlobalGenerator, "other orders"),
        (IgnoresShuffle, "left the samples in order"),
        (IgnoresDropLast, "must be skipped"),
        (AlwaysShuffles, "shuffle=False the samples must come in order"),
        (LenIgnoresDropLast, r"len\(\) is"),
        (IndexesTheDatasetDirectly, r"list of .*yield self\.fetch\(indices\)"),
        (EndsOneBatchEarly, "the loop ends one batch early"),
        (DropsFullBatchesToo, "not <="),
        (StartsABatchAtN, "the last batch is empty"),
        (ShufflesInsideEachBatch, "reorders the samples inside each batch, not the data set"),
        (SplitsIntoEqualPieces, r"batches of 6, 6 samples, expected 5, 5, 2: .*2 equal pieces"),
        (SlicesWithAStep, r"held \[0, 3, 6, 9\] \[3, 6, 9\] .*samples 3 apart"),
        (SlicesToTheEnd, r"runs to the last sample \(a slice without its end"),
        (FetchesTheWholeOrder, r"gave 4 batches of all 10 samples: each batch fetches the whole"),
        (UsesUpItsSlices, r"gave no batch at all: .*an iterator that was used up"),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_check_data_loader_catches_buggy_loaders(buggy_cls, message):
    with pytest.raises(AssertionError, match=message):
        check_data_loader(buggy_cls)


@pytest.mark.parametrize("buggy_cls", [DropsTheLastBatch, EndsOneBatchEarly, StartsABatchAtN])
def test_a_cause_true_on_one_generic_epoch_only_is_not_named(buggy_cls):
    """Both end the epoch at sample 8 of 10 in batches of 3, as n - 1 would: not of 11 in 4."""
    with pytest.raises(AssertionError) as failure:
        check_data_loader(buggy_cls)
    assert "n - 1" not in str(failure.value)
    assert "one per batch" not in str(failure.value)


def test_a_correct_loader_draws_one_permutation_per_epoch():
    from pancake.testing.data import _draws_hint, _served_hint

    assert _draws_hint(DataLoader) == ""
    assert _served_hint(DataLoader) == ""


def test_a_correct_loader_gets_no_slices_hint():
    """The slices of the generic epochs are named only when they are wrong."""
    from pancake.testing.data import _slices_hint

    assert _slices_hint(DataLoader) == ""
    assert _slices_hint(ShufflesInPlace) == ""


def test_batches_of_the_whole_order_are_not_called_slices_to_the_end():
    with pytest.raises(AssertionError) as failure:
        check_data_loader(FetchesTheWholeOrder)
    assert "a slice without its end" not in str(failure.value)
