"""Exercise 8: the training loop, one epoch of it, then a classifier of handwritten digits."""

from pancake import data, datasets, nn, optim
from pancake.course.prelude import given, graded, pst
from pancake.course.spec import Assignment, GradedTest, Part
from pancake.testing import check_train_one_epoch
from pancake.train import accuracy, train_one_epoch


def visible_check_train_one_epoch():
    """The visible check under the `train_one_epoch` answer."""
    print(check_train_one_epoch(train_one_epoch))

    # Your loop trains a classifier of 8x8 handwritten digits (with pancake's own layers).
    X, y = datasets.load_digits()
    X_train, X_test, y_train, y_test = data.train_test_split(
        X, y, test_size=0.25, rng=0, stratify=y
    )
    model = nn.Sequential(nn.Linear(64, 32, rng=0), nn.ReLU(), nn.Linear(32, 10, rng=1))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    loader = data.DataLoader(
        data.ArrayDataset(X_train, y_train), batch_size=32, shuffle=True, rng=0
    )
    for epoch in range(1, 6):
        loss = train_one_epoch(model, nn.CrossEntropyLoss(), optimizer, loader)
        print(
            f"epoch {epoch}: loss {loss:.4f}, test accuracy {accuracy(model(X_test), y_test):.3f}"
        )


@graded
@given(seed=pst.seeds())
def test_train_one_epoch_one_epoch(seed):
    """check_train_one_epoch: the parameters and the loss after one epoch, for random data and models"""
    check_train_one_epoch(train_one_epoch, seed=seed)


@graded
def test_train_one_epoch_digits():
    """5 epochs on the digits reach a test accuracy of at least 0.9"""
    X, y = datasets.load_digits()
    split = data.train_test_split(X, y, test_size=0.25, rng=0, stratify=y)
    X_train, X_test, y_train, y_test = split
    model = nn.Sequential(nn.Linear(64, 32, rng=0), nn.ReLU(), nn.Linear(32, 10, rng=1))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    train_set = data.ArrayDataset(X_train, y_train)
    loader = data.DataLoader(train_set, batch_size=32, shuffle=True, rng=0)
    for _ in range(5):
        train_one_epoch(model, nn.CrossEntropyLoss(), optimizer, loader)
    test_accuracy = accuracy(model(X_test), y_test)
    assert test_accuracy >= 0.9, (
        f"test accuracy {test_accuracy:.3f} after 5 epochs, expected >= 0.9"
    )


TRAIN_ONE_EPOCH = Part(
    target="pancake.train.train_one_epoch",
    instructions="""
        Everything comes together: for each batch `(inputs, targets)` of the loader,

        1. `optimizer.zero_grad()`: `backward` **adds** to the gradients, so clear those of
           the previous batch;
        2. forward: `loss = loss_fn(model(inputs), targets)`;
        3. backward: `model.backward(loss_fn.backward())` fills every `param.grad`;
        4. `optimizer.step()` moves the parameters.

        Return the mean loss **per sample** over the epoch: weight each batch's loss by its
        number of samples (the last batch may be smaller). `fit`, which trains for many
        epochs and shows progress bars, calls this function once per epoch.
    """,
    check=visible_check_train_one_epoch,
    tests=(
        GradedTest(test_train_one_epoch_one_epoch, points=3),
        GradedTest(test_train_one_epoch_digits, points=2),
    ),
)

ASSIGNMENT = Assignment(
    number=8,
    slug="training",
    title="The training loop",
    introduction="""
        This exercise goes with chapter 8. With layers, a loss, an optimizer and a data
        loader, training is a short loop. You write one epoch of it, then train a
        classifier of handwritten digits with it. The layers, optimizer and loader used
        here are pancake's own, so this exercise works whatever the state of the others.
    """,
    parts=(TRAIN_ONE_EPOCH,),
)
