"""Data sets, the DataLoader, splitting, one-hot and transforms."""

from __future__ import annotations

import math
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pancake.data import (
    ArrayDataset,
    Compose,
    DataLoader,
    Dataset,
    Flatten,
    Normalize,
    RandomNoise,
    RandomShift,
    collate,
    one_hot,
    train_test_split,
)
from pancake.ops import is_data, mark_as_data

pytestmark = pytest.mark.ex07


def indexed(n: int) -> ArrayDataset:
    """Inputs [i, -i] and labels i, so that every batch shows which samples it holds."""
    indices = np.arange(n)
    return ArrayDataset(np.stack([indices, -indices], axis=1).astype(np.float64), indices)


def epoch_labels(loader: DataLoader) -> list[np.ndarray]:
    return [labels for _, labels in loader]


# -- ArrayDataset ----------------------------------------------------------------------------


def test_array_dataset_items_are_rows_and_batches_are_vectorised():
    X, y = np.arange(12).reshape(6, 2), np.arange(6) * 10
    dataset = ArrayDataset(X, y)
    assert isinstance(dataset, Dataset) and len(dataset) == 6
    x3, y3 = dataset[3]
    np.testing.assert_array_equal(x3, [6, 7])
    assert y3 == 30
    xs, ys = dataset[np.array([5, 0])]
    np.testing.assert_array_equal(xs, [[10, 11], [0, 1]])
    np.testing.assert_array_equal(ys, [50, 0])


def test_single_array_dataset_gives_rows_not_tuples():
    dataset = ArrayDataset(np.arange(5))
    assert dataset[2] == 2
    np.testing.assert_array_equal(dataset[np.array([1, 4])], [1, 4])


def test_arrays_of_different_lengths_are_an_error_naming_the_lengths():
    with pytest.raises(ValueError, match=r"\[5, 4\]"):
        ArrayDataset(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match=r"\[3, 3, 2\]"):
        DataLoader(ArrayDataset(np.zeros(3), np.zeros(3), np.zeros(2)), batch_size=2)


# -- DataLoader ------------------------------------------------------------------------------


@given(
    n=st.integers(0, 60),
    batch_size=st.integers(1, 25),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=25, deadline=None)
def test_every_sample_once_per_epoch_and_len_counts_batches(
    n, batch_size, shuffle, drop_last, seed
):
    loader = DataLoader(indexed(n), batch_size, shuffle, drop_last, rng=seed)
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader)
        assert len(loader) == (n // batch_size if drop_last else math.ceil(n / batch_size))
        seen = np.concatenate([labels for _, labels in batches]) if batches else np.zeros(0)
        if drop_last:
            assert len(seen) == n - n % batch_size and len(set(seen)) == len(seen)
            assert set(seen) <= set(range(n))
        else:
            assert sorted(seen) == list(range(n))
        for inputs, labels in batches:
            np.testing.assert_array_equal(inputs[:, 0], labels)
            assert 1 <= len(labels) <= batch_size
        if not shuffle:
            np.testing.assert_array_equal(seen, np.arange(len(seen)))


@given(n=st.integers(2, 60), batch_size=st.integers(1, 25), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None)
def test_same_seed_gives_the_same_orders(n, batch_size, seed):
    def orders(rng):
        loader = DataLoader(indexed(n), batch_size, shuffle=True, rng=rng)
        return [np.concatenate(epoch_labels(loader)) for _ in range(3)]

    for a, b in zip(orders(seed), orders(np.random.default_rng(seed)), strict=True):
        np.testing.assert_array_equal(a, b)


def test_shuffled_epochs_differ():
    loader = DataLoader(indexed(50), batch_size=7, shuffle=True, rng=0)
    first, second = (np.concatenate(epoch_labels(loader)) for _ in range(2))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, np.arange(50))


def test_array_datasets_are_indexed_once_per_batch():
    class CountingDataset(ArrayDataset):
        calls = 0

        def __getitem__(self, index):
            CountingDataset.calls += 1
            return super().__getitem__(index)

    dataset = CountingDataset(np.zeros((30, 3)), np.zeros(30))
    batches = list(DataLoader(dataset, batch_size=8, shuffle=True, rng=0))
    assert len(batches) == 4 and CountingDataset.calls == 4


def test_generic_datasets_are_stacked_like_array_datasets():
    arrays = indexed(11)
    as_list = [arrays[i] for i in range(11)]
    for (x1, y1), (x2, y2) in zip(
        DataLoader(arrays, batch_size=4), DataLoader(as_list, batch_size=4), strict=True
    ):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


def test_a_bare_array_is_batched_like_a_single_array_dataset():
    batches = list(DataLoader(np.arange(10).reshape(5, 2), batch_size=2))
    assert [batch.shape for batch in batches] == [(2, 2), (2, 2), (1, 2)]


def test_collate_stacks_arrays_and_tuples_column_by_column():
    assert collate([np.zeros(3), np.ones(3)]).shape == (2, 3)
    inputs, labels = collate([(np.zeros((2, 2)), 1), (np.ones((2, 2)), 0)])
    assert inputs.shape == (2, 2, 2)
    np.testing.assert_array_equal(labels, [1, 0])


def test_transform_applies_to_the_inputs_only():
    loader = DataLoader(indexed(4), batch_size=4, transform=lambda x: x * 10)
    ((inputs, labels),) = list(loader)
    np.testing.assert_array_equal(inputs[:, 0], [0, 10, 20, 30])
    np.testing.assert_array_equal(labels, [0, 1, 2, 3])


@pytest.mark.parametrize("transform", [None, lambda x: x * 10], ids=["plain", "transformed"])
def test_the_inputs_of_each_batch_are_marked_as_data_and_the_mark_dies_with_them(transform):
    loader = DataLoader(indexed(6), batch_size=4, transform=transform)
    for inputs, labels in loader:
        assert is_data(inputs)
        assert not is_data(labels) and not is_data(inputs.copy())
    single = DataLoader(np.ones((3, 2)), batch_size=2)
    assert all(is_data(batch) for batch in single)
    batch = next(iter(single))
    batch_is_alive = weakref.ref(batch)
    del batch
    assert batch_is_alive() is None, "marking a batch must not keep it in memory"


def test_only_arrays_are_marked():
    assert mark_as_data([1.0, 2.0]) == [1.0, 2.0]
    assert not is_data([1.0, 2.0])


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True, "8"])
def test_batch_size_must_be_a_positive_integer(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(indexed(4), batch_size=batch_size)


def test_a_tuple_of_arrays_asks_for_array_dataset():
    with pytest.raises(TypeError, match=r"ArrayDataset\(X, y\)"):
        DataLoader((np.zeros((4, 2)), np.zeros(4)), batch_size=2)


def test_something_without_len_is_not_a_dataset():
    with pytest.raises(TypeError, match="len"):
        DataLoader(iter(range(3)), batch_size=2)


# -- one_hot and train_test_split ---------------------------------------------------------------


def test_one_hot_rows():
    encoded = one_hot(np.array([2, 0, 1]), 3)
    np.testing.assert_array_equal(encoded, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert encoded.dtype == np.float64
    assert one_hot(np.array([[1], [0]]), 2, dtype=np.float32).shape == (2, 1, 2)
    assert one_hot(np.array([1]), 2, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize(
    ("labels", "message"), [(np.array([0, 3]), r"\[0, 3\)"), (np.array([0.0, 1.0]), "integers")]
)
def test_one_hot_rejects_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        one_hot(labels, 3)


def test_train_test_split_partitions_and_keeps_rows_together():
    X, y = np.arange(40).reshape(20, 2), np.arange(20)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, rng=1)
    assert len(X_test) == len(y_test) == 5 and len(X_train) == len(y_train) == 15
    assert sorted(np.concatenate([y_train, y_test])) == list(range(20))
    np.testing.assert_array_equal(X_train[:, 0], 2 * y_train)
    np.testing.assert_array_equal(X_test[:, 0], 2 * y_test)
    again = train_test_split(X, y, test_size=5, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(again[3], y_test)


def test_stratified_split_keeps_class_shares():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    features = np.arange(100)
    _, _, train_labels, test_labels = train_test_split(
        features, labels, test_size=25, rng=0, stratify=labels
    )
    # Shares 12.5, 7.5 and 5: one of the two halves is rounded up.
    assert np.bincount(test_labels).tolist() in ([13, 7, 5], [12, 8, 5])
    assert len(test_labels) == 25 and len(train_labels) == 75


@given(
    counts=st.lists(st.integers(1, 30), min_size=1, max_size=5),
    fraction=st.floats(0.05, 0.95),
    seed=st.integers(0, 1000),
)
@settings(max_examples=25, deadline=None)
def test_stratified_split_shares_within_one_sample(counts, fraction, seed):
    labels = np.repeat(np.arange(len(counts)), counts)
    n = len(labels)
    n_test = math.ceil(fraction * n)
    if not 0 < n_test < n:
        return
    _, test = train_test_split(labels, test_size=fraction, rng=seed, stratify=labels)
    assert len(test) == n_test
    test_counts = np.bincount(test, minlength=len(counts))
    assert np.all(np.abs(test_counts - np.array(counts) * n_test / n) < 1)


@pytest.mark.parametrize("test_size", [0, 10, 1.0, 0.0, -0.5, "half"])
def test_train_test_split_rejects_sizes_that_leave_a_part_empty(test_size):
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(np.arange(10), test_size=test_size, rng=0)


def test_train_test_split_rejects_arrays_of_different_lengths():
    with pytest.raises(ValueError, match=r"\[10, 9\]"):
        train_test_split(np.arange(10), np.arange(9), test_size=2)


# -- transforms -----------------------------------------------------------------------------


def test_normalize_keeps_float32():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    out = Normalize(mean=np.array([1.0, 2.0]), std=2.0)(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, (x - [1, 2]) / 2)


def test_normalize_rejects_a_zero_std():
    with pytest.raises(ValueError, match="positive"):
        Normalize(0.0, np.array([1.0, 0.0]))


def test_flatten_and_compose():
    x = np.zeros((4, 3, 5))
    assert Flatten()(x).shape == (4, 15)
    pipeline = Compose([Flatten(), lambda z: z + 1])
    np.testing.assert_array_equal(pipeline(x), np.ones((4, 15)))


def test_random_noise_has_the_requested_std_and_keeps_dtype():
    x = np.zeros((200, 50), dtype=np.float32)
    noisy = RandomNoise(0.3, rng=0)(x)
    assert noisy.dtype == np.float32
    assert noisy.std() == pytest.approx(0.3, rel=0.05)


def test_random_shift_moves_each_image_by_at_most_max_shift():
    images = np.zeros((64, 7, 7))
    images[:, 3, 3] = 1.0
    shifted = RandomShift(2, (7, 7), rng=0)(images.reshape(64, 49)).reshape(64, 7, 7)
    rows, cols = np.nonzero(shifted.sum(axis=0))
    assert shifted.sum() == pytest.approx(64)  # the pixel stays inside the image
    assert rows.min() == 1 and rows.max() == 5 and cols.min() == 1 and cols.max() == 5
    offsets = {tuple(np.argwhere(image)[0] - 3) for image in shifted}
    assert len(offsets) > 10  # each image gets its own shift


def test_random_shift_keeps_shape_and_crops_at_the_border():
    images = np.ones((3, 4, 4), dtype=np.float32)
    shifted = RandomShift(1, (4, 4), rng=1)(images)
    assert shifted.shape == (3, 4, 4) and shifted.dtype == np.float32
    np.testing.assert_array_equal(RandomShift(0, (4, 4), rng=1)(images), images)
