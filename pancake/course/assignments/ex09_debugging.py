"""Exercise 9: a training script with four bugs; find and fix them."""

from pancake import data, datasets, nn
from pancake.course.prelude import graded, np
from pancake.course.spec import Assignment, GradedTest, Part
from pancake.debugging import train_digits
from pancake.train import accuracy, predict


def standardised_digits():
    """The digits split 3:1 into (X_train, y_train, X_val, y_val), pixels standardised."""
    X, y = datasets.load_digits()
    X_train, X_val, y_train, y_val = data.train_test_split(X, y, test_size=0.25, rng=0, stratify=y)
    mean, std = X_train.mean(axis=0), np.maximum(X_train.std(axis=0), 0.1)
    return (X_train - mean) / std, y_train, (X_val - mean) / std, y_val


def visible_check_train_digits():
    """The visible check under the `train_digits` answer."""
    X_train, y_train, X_val, y_val = standardised_digits()
    model, history = train_digits(X_train, y_train, X_val, y_val)
    for epoch in range(history.epochs):
        print(
            f"epoch {epoch + 1:2d}: training loss {history.train_loss[epoch]:.4f}, "
            f"validation loss {history.val_loss[epoch]:.4f}, "
            f"validation accuracy {history.val_metrics['accuracy'][epoch]:.3f}"
        )
    measured = accuracy(predict(model, X_val), y_val)
    print(f"validation accuracy, measured here: {measured:.3f}")


@graded
def test_train_digits_outputs_are_logits():
    """bug check: what the trained model outputs, for random data

    The model must output logits, one per class: a softmax before CrossEntropyLoss squashes
    the gradients; and it must stay an MLP, with its ReLU.
    """
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 64)), rng.integers(0, 10, size=64)
    model, _ = train_digits(X, y, X[:8], y[:8], epochs=1)
    outputs = predict(model, X)
    assert outputs.shape == (64, 10), (
        f"for 64 images the model outputs an array of shape {outputs.shape}, expected "
        "(64, 10): one logit per digit class, so the last Linear layer has 10 outputs"
    )
    assert not np.allclose(outputs.sum(axis=1), 1), (
        "every row of the model's outputs sums to 1: the model ends with a softmax, but "
        "CrossEntropyLoss takes logits and applies log-softmax itself; a softmax before it "
        "squashes the gradients"
    )
    far = predict(model, 10 * X)  # logits grow with the input; squashed outputs do not
    assert (far < 0).any() and np.abs(far).max() > 1, (
        f"for inputs 10 times larger the outputs stay between {far.min():.3g} and "
        f"{far.max():.3g}: the model ends with a function that squashes or clips them (a "
        "sigmoid, a ReLU...), but CrossEntropyLoss takes logits, the last Linear layer's "
        "outputs as they are"
    )
    midpoints = predict(model, (X[:32] + X[32:]) / 2)
    assert not np.allclose(midpoints, (outputs[:32] + outputs[32:]) / 2), (
        "the model is affine (its output at a midpoint is the mean of the outputs at the "
        "two ends): keep the ReLU between the two Linear layers, it is an MLP"
    )


def gradients_left(model) -> np.ndarray:
    """Every parameter's gradient, flattened into one vector."""
    return np.concatenate([param.grad.ravel() for param in model.parameters()])


def backward_on(model, X, y):
    """Leave in each parameter's ``.grad`` the gradient of the mean cross-entropy on ``(X, y)``."""
    model.zero_grad()
    loss_fn = nn.CrossEntropyLoss()
    loss_fn(model(X), y)
    model.backward(loss_fn.backward())


def gradients_of(model, X, y, scale=1.0) -> np.ndarray:
    """``scale`` times the gradient of the mean cross-entropy of ``model`` on ``(X, y)``."""
    backward_on(model, X, y)
    return scale * gradients_left(model)


def check_shuffled_at_every_epoch(X, y):
    """At lr = 0 the gradients left after an epoch are those of its last batch: that batch
    must not be the last 32 samples in order, nor the same at every epoch. (A script that
    does not reset the gradients before each backward pass leaves their sum, or zeros:
    the fresh-gradients test names that bug, and the order cannot be seen here.)"""
    left = {}
    for epochs in (1, 2):
        model, _ = train_digits(X.copy(), y.copy(), X[:8], y[:8], epochs=epochs, lr=0.0)
        left[epochs] = gradients_left(model)
    batches = len(X) // 32
    summed = gradients_of(model, X, y, scale=batches)  # the sum of the epoch's batch gradients
    if np.allclose(left[1], 0) or np.allclose(left[1], summed):
        return
    assert not np.allclose(left[1], gradients_of(model, X[-32:], y[-32:])), (
        "the last batch of the epoch is the last 32 samples of the training data, in their "
        "order: the script must shuffle the training data (images and labels together)"
    )
    assert not np.allclose(left[1], left[2]), (
        "the last batch is the same in the first and the second epoch: shuffle the training "
        "data at every epoch, with a new permutation"
    )


@graded
def test_train_digits_labels_follow_images():
    """bug check: the training loss the script reports, at lr = 0, for random data

    Images and labels must be shuffled with the same permutation, a new one every epoch.
    """
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(96, 64)), rng.integers(0, 10, size=96)
    check_shuffled_at_every_epoch(X, y)
    # Copies: a script that shuffles its arrays in place must not shuffle these too.
    model, history = train_digits(X.copy(), y.copy(), X[:8], y[:8], epochs=1, lr=0.0)
    assert len(history.train_loss) == 1, (
        f"one epoch recorded {len(history.train_loss)} training losses in the history: "
        "record the epoch's mean loss once, after the loop over its batches"
    )
    expected = nn.CrossEntropyLoss()(predict(model, X), y)
    reported = history.train_loss[0]
    assert np.isclose(reported, expected, rtol=1e-9), (
        "with lr = 0 the weights never change, so the mean training loss of the epoch "
        f"should be the loss of the pairs (X[i], y[i]), {expected:.6f}, but the script "
        f"reports {reported:.6f}: {epoch_data_hint(X, y) or epoch_loss_hint(reported, expected)}"
    )


def trained_pairs(X, y) -> list[tuple[int, int]] | None:
    """(index of the image in X, label it was trained with) for every example of one epoch
    at lr = 0, watched through the script's Sequential (in training mode) and its loss;
    None if the script builds them under other names, or an input row is not one of X's."""
    namespace = train_digits.__globals__
    sequential, loss = namespace.get("Sequential"), namespace.get("CrossEntropyLoss")
    if not (isinstance(sequential, type) and isinstance(loss, type)):
        return None
    inputs, targets, models = [], [], []

    class WatchedSequential(sequential):
        def forward(self, x):
            if self.training:
                inputs.append(np.array(x))
            models.append(self)
            return super().forward(x)

    class WatchedLoss(loss):
        def forward(self, pred, target):
            if models and models[-1].training:
                targets.append(np.array(target))
            return super().forward(pred, target)

    namespace["Sequential"], namespace["CrossEntropyLoss"] = WatchedSequential, WatchedLoss
    try:
        train_digits(X.copy(), y.copy(), X[:8], y[:8], epochs=1, lr=0.0)
    except Exception:  # a script that fails under watch: no diagnosis from it
        return None
    finally:
        namespace["Sequential"], namespace["CrossEntropyLoss"] = sequential, loss
    index = {row.tobytes(): i for i, row in enumerate(X)}
    try:
        rows = [row for batch in inputs for row in np.asarray(batch, dtype=X.dtype)]
        labels = [int(label) for batch in targets for label in np.ravel(batch)]
    except (TypeError, ValueError):  # batches of another kind (one-hot, ragged): no diagnosis
        return None
    if len(rows) != len(labels) or any(row.tobytes() not in index for row in rows):
        return None
    return [(index[row.tobytes()], label) for row, label in zip(rows, labels, strict=True)]


def epoch_data_hint(X, y) -> str | None:
    """What one watched epoch shows about the examples it trained on: labels that do not
    follow their images, samples left out or seen twice; None if every sample was trained
    once with its own label (or the epoch cannot be watched)."""
    pairs = trained_pairs(X, y)
    if pairs is None:
        return None
    mislabelled = sum(label != y[i] for i, label in pairs)
    if mislabelled:
        return (
            f"{mislabelled} of the {len(pairs)} examples of the epoch were trained with "
            "another image's label: shuffle the images and the labels with the same "
            "permutation, X_train[order], y_train[order]"
        )
    seen = np.bincount([i for i, _ in pairs], minlength=len(X))
    if np.any(seen == 0):
        return (
            f"the epoch trained on {int(np.sum(seen > 0))} of the {len(X)} samples: "
            f"{int(np.sum(seen == 0))} were left out (a last batch dropped? the batches must "
            "cover range(0, len(X_train), 32), the last one may be smaller)"
        )
    if np.any(seen > 1):
        return (
            f"the epoch trained on some samples more than once ({int(np.sum(seen > 1))} of "
            f"them): each batch is X_train[start : start + 32], for start in range(0, "
            "len(X_train), 32)"
        )
    return None


# An epoch of 96 samples in 3 batches of 32: how the mean loss of the epoch is miscounted.
EPOCH_LOSS_SLIPS = {
    1 / 32: "32 (the batch size) times too small: each batch's loss is already a mean over "
    "its examples; add loss * len(targets) to the total, so that dividing by the number of "
    "samples gives the mean",
    32: "32 (the batch size) times too large: the sum of loss * len(targets) is divided by "
    "the number of batches; divide it by the number of samples, len(X_train)",
    3: "3 (the number of batches) times too large: the batch means are summed and never "
    "averaged; weight each by its size and divide by the number of samples",
}


def epoch_loss_hint(reported: float, expected: float) -> str:
    """What a reported mean loss of the epoch says: miscounted by a factor, or labels
    shuffled apart from their images."""
    for ratio, slip in EPOCH_LOSS_SLIPS.items():
        if np.isclose(reported, ratio * expected, rtol=1e-9):
            return f"the loss is {slip}"
    return "are the labels shuffled with their images?"


@graded
def test_train_digits_fresh_gradients():
    """bug check: the gradients left in the model after an epoch at lr = 0

    Each step must use the gradient of its own batch: zero_grad before each backward pass.
    """
    added_up = gradients_added_up()
    assert added_up is None, (
        f"after 3 identical batches, {added_up[0]}.grad is {added_up[1]:.2f} times the "
        "gradient of one batch: gradients add up (+=) from batch to batch unless they are "
        "reset before each backward pass" + only_some_reset(added_up[2])
    )


def only_some_reset(fresh: list[str]) -> str:
    """What it says when the gradients of ``fresh`` parameters were reset and others not."""
    if not fresh:
        return ""
    return (
        f"; those of {', '.join(fresh)} are reset, the others not: zero_grad resets only "
        "the parameters it was given (the optimizer's); give the optimizer every parameter, "
        "SGD(model.parameters(), ...)"
    )


def gradients_added_up():
    """(name, |left| / |one batch's|, the names of the parameters whose gradients were
    reset) for the first parameter whose gradient, after an epoch at lr = 0 of three
    identical batches, is not one batch's gradient; None if none is, or if every gradient
    is zero (reset after each step rather than before each backward pass: each step still
    used its own batch's gradient)."""
    # 96 copies of one image: every batch of 32 has the same gradient.
    rng = np.random.default_rng(2)
    X, y = np.repeat(rng.normal(size=(1, 64)), 96, axis=0), np.full(96, 3)
    model, _ = train_digits(X, y, X[:8], y[:8], epochs=1, lr=0.0)
    left = [param.grad.copy() for param in model.parameters()]
    if not any(np.any(grad) for grad in left):
        return None
    backward_on(model, X[:32], y[:32])
    named = list(model.named_parameters())
    fresh = [  # reset: one batch's gradient, not zero (a zero gradient may be anything's)
        name
        for (name, param), grad in zip(named, left, strict=True)
        if np.any(param.grad) and np.allclose(grad, param.grad)
    ]
    for (name, param), grad in zip(named, left, strict=True):
        if not np.allclose(grad, param.grad):
            return name, np.linalg.norm(grad) / np.linalg.norm(param.grad), fresh
    return None


@graded
def test_train_digits_validation_data():
    """bug check: the validation loss and accuracy the script reports

    They must be measured on the validation data, not on the training data.
    """
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(96, 64)), rng.integers(0, 10, size=96)
    X_val, y_val = rng.normal(size=(40, 64)), rng.integers(0, 10, size=40)
    model, history = train_digits(X, y, X_val, y_val, epochs=2)
    outputs = predict(model, X_val)
    measured = {
        "loss": nn.CrossEntropyLoss()(outputs, y_val),
        "accuracy": accuracy(outputs, y_val),
    }
    recorded = {"loss": history.val_loss[-1], "accuracy": history.val_metrics["accuracy"][-1]}
    for name, value in measured.items():
        assert np.isclose(recorded[name], value, equal_nan=True), (
            f"the script records a validation {name} of {recorded[name]:.4f}, but the "
            f"model's {name} on the validation data is {value:.4f}: which data does it "
            "evaluate?"
        )


def weights_never_move() -> bool:
    """Whether an epoch of training leaves every weight as the script initialises it (the
    same seed: the model of 0 epochs), on a few random digits."""
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(64, 64)), rng.integers(0, 10, size=64)
    try:
        untrained, _ = train_digits(X, y, X[:8], y[:8], epochs=0)
        trained, _ = train_digits(X, y, X[:8], y[:8], epochs=1)
    except Exception:  # a script that cannot run 0 epochs: no diagnosis from it
        return False
    return all(
        np.array_equal(a.data, b.data)
        for a, b in zip(untrained.parameters(), trained.parameters(), strict=True)
    )


def accuracy_hint(model, history, outputs) -> str:
    """Which part of the script a low accuracy points to: the model, the updates, or the data."""
    layers = [type(layer).__name__ for layer in getattr(model, "layers", ())]
    if layers and layers[-1] != "Linear":
        return (
            f"the model ends with {layers[-1]}, not with its last Linear layer: "
            "CrossEntropyLoss takes the raw scores (logits) of Linear(64, 10)"
        )
    if np.all(outputs >= 0):
        return "the model's outputs are never negative: they must be logits, of any sign"
    if layers != ["Linear", "ReLU", "Linear"]:
        return f"the model's layers are {layers}, not [Linear, ReLU, Linear]: the MLP of the script"
    first, last = history.train_loss[0], history.train_loss[-1]
    losses = f"{first:.4g} at the first epoch, {last:.4g} at the last"
    if not last < 2 * first and gradients_added_up() is not None:
        return (
            f"the training loss grows ({losses}): the gradients add up from step to step; "
            "optimizer.zero_grad() resets them before each backward pass"
        )
    if not last < 2 * first:
        return (
            f"the training loss grows ({losses}), though each step uses its own batch's "
            "gradient: the steps are too large; is SGD given the script's lr (and momentum "
            "0.9) unchanged?"
        )
    if last > 0.5 * first and weights_never_move():
        return (
            f"the training loss hardly goes down ({losses}), and after an epoch of training "
            "every weight is still exactly as initialised: no step moved them. Does step() "
            "run after backward (right after zero_grad the gradients are all zero, so a step "
            "taken before backward moves nothing)? Does the optimizer hold the model's own "
            "parameters, model.parameters()?"
        )
    if last > 0.5 * first:
        return (
            f"the training loss hardly goes down ({losses}): either the steps do not learn "
            "(each batch: zero_grad(), backward, step()) or the labels no longer match their "
            "images (shuffle both with one permutation)"
        )
    return (
        "the model and its training loss look right: look at the data each step trains on "
        "(each image with its own label, every batch of every epoch)"
    )


@graded
def test_train_digits_accuracy():
    """trained on 3/4 of the digits, the model recognises at least 95% of the rest"""
    X_train, y_train, X_val, y_val = standardised_digits()
    model, history = train_digits(X_train, y_train, X_val, y_val)
    outputs = predict(model, X_val)
    val_accuracy = accuracy(outputs, y_val)
    assert val_accuracy >= 0.95, (
        f"validation accuracy {val_accuracy:.3f} after training, expected >= 0.95\n"
        f"Hint: {accuracy_hint(model, history, outputs)}"
    )


TRAIN_DIGITS = Part(
    target="pancake.debugging.train_digits",
    instructions="""
        `train_digits` below is a training script written out by hand: an MLP, SGD with
        momentum, batches of 32, the training data shuffled at every epoch, and an
        evaluation on the validation data after each epoch. It runs without an error, yet
        it does not learn, and not every number it reports is what it claims to be: it
        holds **four bugs**, each one a mistake that people make in real training code.
        Bugs hide each other (the script may look as broken after you fix one), so check
        each suspicion on its own. Fix them in place: change as little as you can, and
        keep the signature and what the function returns.

        Chapter 9's checks will find them: compare the loss of the first epoch with ln 10,
        measure the accuracy yourself instead of trusting what the script reports, look at
        the model's outputs, train on a handful of digits, look at the gradients after a
        step. The cell under the function runs the script on the digits; try your own
        experiments in new cells (they are not graded). Each bug has a hidden test of its
        own, and a last test trains on the digits and measures the validation accuracy.
    """,
    check=visible_check_train_digits,
    tests=(
        GradedTest(test_train_digits_outputs_are_logits, points=2),
        GradedTest(test_train_digits_labels_follow_images, points=2),
        GradedTest(test_train_digits_fresh_gradients, points=2),
        GradedTest(test_train_digits_validation_data, points=2),
        GradedTest(test_train_digits_accuracy, points=4),
    ),
)

ASSIGNMENT = Assignment(
    number=9,
    slug="debugging",
    title="Debugging a training script",
    introduction="""
        This exercise goes with chapter 9. Code that trains a network rarely crashes when it
        is wrong: it trains a little worse, or reports numbers that are not what they claim
        to be. Here you are given such a script, and you debug it. The layers, loss,
        optimizer and evaluation it uses are pancake's own, so this exercise works whatever
        the state of the others.
    """,
    parts=(TRAIN_DIGITS,),
)
