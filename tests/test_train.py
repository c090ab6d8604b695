"""Training: fit, train_one_epoch, evaluate, predict, History, save/load, and errors."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from pancake.data import ArrayDataset, DataLoader, Normalize, train_test_split
from pancake.datasets import load_digits, xor
from pancake.nn import CrossEntropyLoss, Dropout, Linear, Module, MSELoss, ReLU, Sequential
from pancake.optim import SGD, Adam
from pancake.train import (
    History,
    TrainingError,
    accuracy,
    evaluate,
    fit,
    load,
    predict,
    save,
    train_one_epoch,
)

pytestmark = pytest.mark.ex08


def mlp(sizes, seed=0, dtype=np.float64) -> Sequential:
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [Linear(fan_in, fan_out, rng=rng, dtype=dtype), ReLU()]
    return Sequential(*layers[:-1])


@pytest.mark.slow  # trains for 40 epochs: kept out of the fast loop
def test_mlp_with_adam_reaches_97_percent_on_digits():
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=397, rng=0)
    assert len(X_train) == 1400
    normalize = Normalize(X_train.mean(axis=0), X_train.std())
    train = DataLoader(ArrayDataset(X_train, y_train), 32, shuffle=True, rng=0, transform=normalize)
    test = DataLoader(ArrayDataset(X_test, y_test), 256, transform=normalize)
    model = mlp([64, 256, 10])
    history = fit(
        model, CrossEntropyLoss(), Adam(model.parameters()), train, epochs=40, progress=False
    )
    assert history.train_loss[-1] < history.train_loss[0] / 10
    assert evaluate(model, CrossEntropyLoss(), test)["accuracy"] >= 0.97


def test_fit_records_every_epoch_and_learns_xor():
    X, y = xor(200, noise=0.1, seed=0)
    model = mlp([2, 16, 2], seed=1)
    history = fit(
        model,
        CrossEntropyLoss(),
        Adam(model.parameters(), lr=0.02),
        (X, y),
        epochs=15,
        val=xor(100, noise=0.1, seed=1),
        progress=False,
        batch_size=20,
        rng=0,
    )
    assert isinstance(history, History) and history.epochs == 15
    assert len(history.val_loss) == 15
    assert set(history.train_metrics) == set(history.val_metrics) == {"accuracy"}
    assert len(history.train_metrics["accuracy"]) == len(history.val_metrics["accuracy"]) == 15
    assert history.val_metrics["accuracy"][-1] > 0.95
    assert history.val_loss[-1] < history.val_loss[0]


def test_fit_with_a_progress_bar_shows_the_epoch_results(capsys):
    X, y = xor(40, seed=0)
    model = mlp([2, 4, 2])
    fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), (X, y), epochs=2, val=(X, y))
    err = capsys.readouterr().err
    assert "2/2" in err and "val_accuracy=" in err and "loss=" in err


def test_train_one_epoch_returns_the_mean_loss_per_sample():
    X, y = xor(50, seed=0)
    model = mlp([2, 3, 2])
    loss_fn = CrossEntropyLoss()
    loader = DataLoader(ArrayDataset(X, y), batch_size=20)  # batches of 20, 20, 10
    mean = train_one_epoch(model, loss_fn, SGD(model.parameters(), lr=0.0), loader)
    batch_losses = [loss_fn(model(x), t) for x, t in loader]
    assert mean == pytest.approx(
        (20 * batch_losses[0] + 20 * batch_losses[1] + 10 * batch_losses[2]) / 50
    )


def test_train_one_epoch_takes_one_step_per_batch():
    class CountingSGD(SGD):
        steps = 0

        def step(self):
            CountingSGD.steps += 1
            super().step()

    X, y = xor(50, seed=0)
    model = mlp([2, 3, 2])
    before = [p.data.copy() for p in model.parameters()]
    train_one_epoch(
        model,
        CrossEntropyLoss(),
        CountingSGD(model.parameters(), lr=0.1),
        DataLoader(ArrayDataset(X, y), 8),
    )
    assert CountingSGD.steps == 7
    assert all(
        not np.array_equal(p.data, b) for p, b in zip(model.parameters(), before, strict=True)
    )


class ModeSpy(Module):
    """Identity that records the training flag at every forward pass."""

    def __init__(self):
        super().__init__()
        self.modes: list[bool] = []

    def forward(self, x):
        self.modes.append(self.training)
        return x

    def backward(self, grad_output):
        return grad_output


def test_fit_trains_in_train_mode_validates_in_eval_mode_and_restores_the_mode():
    spy = ModeSpy()
    model = Sequential(Linear(2, 2, rng=0), spy)
    X, y = xor(30, seed=0)
    model.eval()
    fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.1),
        (X, y),
        epochs=1,
        val=(X[:10], y[:10]),
        batch_size=10,
        progress=False,
    )
    assert spy.modes == [True, True, True, False]
    assert model.training is False


def test_predict_is_batched_in_eval_mode_and_restores_the_mode():
    model = Sequential(Linear(3, 4, rng=0), Dropout(0.5, rng=0), ReLU(), Linear(4, 2, rng=1))
    X = np.random.default_rng(0).standard_normal((10, 3))
    outputs = predict(model, X, batch_size=3)
    assert model.training is True
    model.eval()
    np.testing.assert_allclose(outputs, model(X))
    assert predict(model, X).shape == (10, 2) and model.training is False
    with pytest.raises(ValueError, match="no samples"):
        predict(model, X[:0])


def test_evaluate_averages_loss_and_accuracy_over_samples():
    model = mlp([2, 5, 2])
    X, y = xor(45, seed=0)
    loss_fn = CrossEntropyLoss()
    results = evaluate(model, loss_fn, DataLoader(ArrayDataset(X, y), batch_size=20))
    model.eval()
    assert results["loss"] == pytest.approx(loss_fn(model(X), y))
    assert results["accuracy"] == pytest.approx(np.mean(model(X).argmax(axis=1) == y))


def test_custom_metrics_are_named_after_their_function():
    def mean_abs_error(pred, target):
        return float(np.mean(np.abs(pred - target)))

    model = Sequential(Linear(2, 1, rng=0))
    X = np.random.default_rng(0).standard_normal((8, 2))
    results = evaluate(model, MSELoss(), (X, X[:, :1]), metrics=[mean_abs_error])
    assert set(results) == {"loss", "mean_abs_error"}
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        evaluate(model, MSELoss(), (X, X[:, :1]), metrics=["f1"])


def test_accuracy_of_scores_one_hot_targets_and_probabilities():
    scores = np.array([[0.1, 2.0], [3.0, -1.0], [0.0, 1.0]])
    assert accuracy(scores, np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert accuracy(scores, np.array([[0, 1], [1, 0], [0, 1]])) == 1.0
    assert accuracy(np.array([[0.9], [0.2]]), np.array([[1.0], [1.0]])) == 0.5


def test_history_plot_draws_one_panel_per_quantity():
    history = History()
    history.record({"loss": 1.0, "accuracy": 0.5}, {"loss": 1.2, "accuracy": 0.4})
    history.record({"loss": 0.5, "accuracy": 0.8}, {"loss": 0.7, "accuracy": 0.7})
    figure = history.plot()
    assert isinstance(figure, Figure)
    loss_panel, accuracy_panel = figure.axes
    assert [line.get_label() for line in loss_panel.lines] == ["training", "validation"]
    np.testing.assert_array_equal(loss_panel.lines[1].get_ydata(), [1.2, 0.7])
    np.testing.assert_array_equal(accuracy_panel.lines[0].get_ydata(), [0.5, 0.8])


def test_a_nan_loss_names_the_epoch_and_the_batch():
    X, y = xor(60, seed=0)
    X[37] = np.nan  # batch 4 (samples 30..39) of each epoch
    model = mlp([2, 4, 2])
    with pytest.raises(TrainingError, match="loss became nan at epoch 1, batch 4"):
        fit(
            model,
            CrossEntropyLoss(),
            SGD(model.parameters(), lr=0.1),
            DataLoader(ArrayDataset(X, y), 10),
            epochs=3,
            progress=False,
        )


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_a_diverging_loss_stops_training_at_the_epoch_it_happens():
    X, y = xor(40, seed=0)
    model = Sequential(Linear(2, 1, rng=0))
    loader = DataLoader(ArrayDataset(X * 100, y[:, None] * 100.0), 10)
    with pytest.raises(
        TrainingError, match=r"loss became (inf|nan) at epoch \d+, batch \d+"
    ) as failure:
        fit(
            model,
            MSELoss(),
            SGD(model.parameters(), lr=10.0),
            loader,
            epochs=50,
            metrics=(),
            progress=False,
        )
    assert isinstance(failure.value, RuntimeError)


def test_fit_rejects_empty_data_and_bad_arguments():
    model = mlp([2, 2])
    optimizer = SGD(model.parameters(), lr=0.1)
    X, y = xor(8, seed=0)
    with pytest.raises(ValueError, match="no batches"):
        fit(
            model,
            CrossEntropyLoss(),
            optimizer,
            DataLoader(ArrayDataset(X, y), 10, drop_last=True),
            epochs=1,
        )
    with pytest.raises(ValueError, match="epochs"):
        fit(model, CrossEntropyLoss(), optimizer, (X, y), epochs=0)
    with pytest.raises(TypeError, match="DataLoader or a tuple"):
        fit(model, CrossEntropyLoss(), optimizer, X, epochs=1)


def test_float32_training_stays_float32():
    X, y = xor(64, seed=0)
    model = mlp([2, 8, 2], dtype=np.float32)
    optimizer = Adam(model.parameters(), lr=0.01)
    fit(model, CrossEntropyLoss(), optimizer, (X.astype(np.float32), y), epochs=2, progress=False)
    for param in model.parameters():
        assert param.data.dtype == np.float32 and param.grad.dtype == np.float32
    state = [
        value for s in optimizer.state for value in s.values() if isinstance(value, np.ndarray)
    ]
    assert state and all(value.dtype == np.float32 for value in state)
    assert predict(model, X.astype(np.float32)).dtype == np.float32


def test_save_and_load_round_trip(tmp_path):
    model = mlp([3, 4, 2], seed=0)
    path = tmp_path / "weights"  # no suffix: saved exactly where asked
    save(model, path)
    other = mlp([3, 4, 2], seed=1)
    X = np.random.default_rng(0).standard_normal((5, 3))
    assert not np.allclose(other(X), model(X))
    assert load(other, path) is other
    np.testing.assert_array_equal(other(X), model(X))
    with pytest.raises(ValueError, match="shape"):
        load(mlp([3, 5, 2]), path)


class ProductCounter(np.ndarray):
    """A weight array that counts the products with its transpose: dL/dx = grad @ W.T."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc is np.matmul and np.shape(inputs[-1]) == ProductCounter.transposed_shape:
            ProductCounter.input_gradient_products += 1
        plain = [np.asarray(value) for value in inputs]
        out = kwargs.pop("out", None)
        if out is None:
            return getattr(ufunc, method)(*plain, **kwargs)
        getattr(ufunc, method)(*plain, out=tuple(np.asarray(value) for value in out), **kwargs)
        return out[0] if len(out) == 1 else out  # in place (``-=``): the counter stays


def counting_first_layer(model: Sequential) -> Sequential:
    """``model`` with its first layer's weight counting the input-gradient products."""
    weight = model[0].weight
    assert weight.shape[0] != weight.shape[1], "W and W.T must differ in shape"
    weight.data = weight.data.view(ProductCounter)
    ProductCounter.transposed_shape = weight.shape[::-1]
    ProductCounter.input_gradient_products = 0
    return model


def first_layer_input_gradients(train) -> tuple[int, dict]:
    """How many times ``train(model, loss_fn, optimizer, loader)`` computed dL/dx of the
    first layer (the product grad @ W1.T), and the parameters it trained."""
    model = counting_first_layer(mlp([2, 4, 3], seed=0))
    X, y = xor(20, seed=0)
    loader = DataLoader(ArrayDataset(X, y), batch_size=5)
    train(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), loader)
    assert isinstance(model[0].weight.data, ProductCounter), "the weight must be updated in place"
    return ProductCounter.input_gradient_products, model.state_dict()


def explicit_loop_epoch(model, loss_fn, optimizer, loader):
    """One epoch as the book's explicit loop writes it: dL/dx of the batches is dropped."""
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        optimizer.step()


def copying_loop_epoch(model, loss_fn, optimizer, loader):
    """The explicit loop on copies of the batches, which are not marked as data."""
    for x, y in loader:
        optimizer.zero_grad()
        loss_fn(model(x.copy()), y)
        model.backward(loss_fn.backward())
        optimizer.step()


def test_the_counter_sees_each_input_gradient_product():
    products, _ = first_layer_input_gradients(copying_loop_epoch)
    assert products == 4


def test_every_loop_over_a_data_loader_skips_the_gradient_of_the_input_batches():
    def fit_one_epoch(model, loss_fn, optimizer, loader):
        fit(model, loss_fn, optimizer, loader, epochs=1, metrics=(), progress=False)

    def train_on_a_list_of_copies(model, loss_fn, optimizer, loader):
        """Not a DataLoader: train_one_epoch itself tells the model its batches are data."""
        batches = [(x.copy(), y) for x, y in loader]
        train_one_epoch(model, loss_fn, optimizer, batches)

    _, expected = first_layer_input_gradients(copying_loop_epoch)
    for train in (explicit_loop_epoch, train_one_epoch, fit_one_epoch, train_on_a_list_of_copies):
        products, trained = first_layer_input_gradients(train)
        assert products == 0, train.__name__
        for name, value in expected.items():
            np.testing.assert_array_equal(trained[name], value, err_msg=name)


def test_train_one_epoch_restores_the_input_gradient_setting():
    model = mlp([2, 4, 2], seed=0)
    X, y = xor(20, seed=0)
    loader = DataLoader(ArrayDataset(X, y), batch_size=10)
    train_one_epoch(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), loader)
    assert model.needs_input_grad
    model(X)  # not a loader's batch: the first layer computes dL/dx again
    assert model[0].needs_input_grad
    assert model.backward(np.ones((20, 2))).shape == (20, 2)
