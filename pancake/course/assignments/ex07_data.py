"""Exercise 7: the DataLoader, one epoch of batches, shuffled or not, the last one dropped or not."""

from pancake.course.prelude import check_values, given, graded, np, pst, st
from pancake.course.spec import Assignment, GradedTest, Part
from pancake.data import ArrayDataset, DataLoader
from pancake.testing import check_data_loader


def visible_check_data_loader():
    """The visible check under the `DataLoader` answer."""
    for batch in DataLoader(ArrayDataset(np.arange(10)), batch_size=4, shuffle=True, rng=0):
        print(batch)
    print(check_data_loader(DataLoader))


@graded
@given(seed=pst.seeds())
def test_data_loader_epochs(seed):
    """check_data_loader (batch counts and shapes, every sample once, shuffle, drop_last) with random seeds"""
    check_data_loader(DataLoader, seed=seed)


@graded
@given(n=st.integers(1, 20), batch_size=st.integers(1, 8), drop_last=st.booleans())
def test_data_loader_transform(n, batch_size, drop_last):
    """the transform is applied to the inputs of every batch"""
    inputs, targets = np.arange(2.0 * n).reshape(n, 2), np.arange(n)
    loader = DataLoader(
        ArrayDataset(inputs, targets), batch_size, drop_last=drop_last, transform=np.negative
    )
    for batch_inputs, batch_targets in loader:
        if np.size(batch_inputs) and np.array_equal(batch_inputs, inputs[batch_targets]):
            raise AssertionError(
                "the batch holds the inputs as they are, not -x: the transform was not "
                "applied, or applied twice (fetch applies it: yield self.fetch(indices) as "
                "it is, without applying the transform again)"
            )
        check_values("the transformed inputs", batch_inputs, -inputs[batch_targets], formula="-x")


DATA_LOADER = Part(
    target="pancake.data.DataLoader",
    instructions="""
        `DataLoader(dataset, batch_size, shuffle=False, drop_last=False, rng=None)` cuts a
        data set into batches; one `for batch in loader` loop is one **epoch**. Complete
        `__iter__`, a generator (it `yield`s each batch):

        - every sample comes exactly once per epoch: in order `0, 1, 2, ...` without
          shuffling, and with `shuffle=True` in a new random order each epoch, drawn from
          `self.rng` (`self.rng.permutation(n)`), so that the same seed gives the same orders;
        - batches hold `self.batch_size` samples, except the last one, which may be smaller,
          and which `drop_last=True` skips;
        - `self.fetch(indices)` builds the batch of the samples at `indices` (stacked arrays,
          a tuple `(inputs, targets)` for a data set of pairs, with `transform` applied).
    """,
    check=visible_check_data_loader,
    tests=(
        GradedTest(test_data_loader_epochs, points=3),
        GradedTest(test_data_loader_transform, points=1),
    ),
)

ASSIGNMENT = Assignment(
    number=7,
    slug="data",
    title="Data loaders",
    introduction="""
        This exercise goes with chapter 7. Training visits the data in small batches, in a
        new order every epoch: that is the job of the `DataLoader`. Its constructor, `len()`
        and `fetch` are given; you write the loop over one epoch.
    """,
    parts=(DATA_LOADER,),
)
