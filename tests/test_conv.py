"""Conv2d, MaxPool2d, AvgPool2d and Flatten: gradients, dtypes, PyTorch, errors, digits."""

from __future__ import annotations

import hypothesis
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pancake.data import ArrayDataset, DataLoader, Normalize, train_test_split
from pancake.datasets import load_digits
from pancake.nn import (
    AvgPool2d,
    Conv2d,
    CrossEntropyLoss,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
)
from pancake.nn.conv import fold
from pancake.optim import Adam
from pancake.testing import check_gradients
from pancake.testing import strategies as pst
from pancake.train import evaluate, fit

pytestmark = pytest.mark.ex12


# ---------------------------------------------------------------------------
# gradients against finite differences


@given(
    settings=pst.conv_settings(),
    out_channels=st.integers(1, 4),
    bias=st.booleans(),
    seed=pst.seeds(),
)
def test_conv2d_gradients(settings, out_channels, bias, seed):
    shape, kernel, stride, padding = settings
    layer = Conv2d(shape[1], out_channels, kernel, stride, padding, bias=bias, rng=seed)
    x = np.random.default_rng(seed).standard_normal(shape)
    report = check_gradients(layer, x)
    names = ["input", "weight", "bias"] if bias else ["input", "weight"]
    assert [comparison.name for comparison in report.comparisons] == names


@given(settings=pst.pool_settings(), seed=pst.seeds())
def test_max_pool_gradients(settings, seed):
    shape, kernel, stride = settings
    check_gradients(MaxPool2d(kernel, stride), pst.distinct_values(shape, seed))


@given(settings=pst.pool_settings(), seed=pst.seeds())
def test_avg_pool_gradients(settings, seed):
    shape, kernel, stride = settings
    x = np.random.default_rng(seed).standard_normal(shape)
    check_gradients(AvgPool2d(kernel, stride), x)


@given(shape=pst.shapes(min_dims=1, max_dims=4, max_side=4), seed=pst.seeds())
def test_flatten_gradients_and_shape(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    assert Flatten()(x).shape == (shape[0], int(np.prod(shape[1:])))
    check_gradients(Flatten(), x)


def test_conv2d_first_layer_skips_the_input_gradient_but_not_the_parameters():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5))
    layer = Conv2d(3, 4, 3, rng=0)
    layer.needs_input_grad = False
    assert layer.backward(np.ones_like(layer(x))) is None
    assert np.abs(layer.weight.grad).sum() > 0
    check_gradients(layer, x)  # parameters only


def test_max_pool_ties_send_the_gradient_to_one_entry_per_window():
    x = np.zeros((1, 1, 4, 4))
    pool = MaxPool2d(2)
    pool(x)
    grad = pool.backward(np.arange(1.0, 5.0).reshape(1, 1, 2, 2))
    expected = np.zeros((4, 4))
    expected[::2, ::2] = [[1, 2], [3, 4]]  # the first entry of each window
    np.testing.assert_array_equal(grad[0, 0], expected)


def test_max_pool_overlapping_windows_add_up_at_a_shared_maximum():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0  # the maximum of all four 2x2 windows of stride 1
    pool = MaxPool2d(2, stride=1)
    pool(x)
    grad = pool.backward(np.ones((1, 1, 2, 2)))
    expected = np.zeros((3, 3))
    expected[1, 1] = 4.0
    np.testing.assert_array_equal(grad[0, 0], expected)


@pytest.mark.parametrize(
    "make_module",
    [
        lambda: Conv2d(2, 3, 3, stride=2, padding=1, rng=0, dtype=np.float32),
        lambda: MaxPool2d(2),
        lambda: AvgPool2d(3, stride=1),
        Flatten,
    ],
    ids=["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"],
)
def test_float32_stays_float32(make_module):
    module = make_module()
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 7)).astype(np.float32)
    output = module(x)
    grad = module.backward(np.ones_like(output))
    assert output.dtype == np.float32 and grad.dtype == np.float32
    for parameter in module.parameters():
        assert parameter.data.dtype == np.float32 and parameter.grad.dtype == np.float32
    check_gradients(module, x)  # in float64 on a copy


# ---------------------------------------------------------------------------
# fold: the sum of the windows at their pixels, tiling or not


def fold_by_definition(windows, input_shape, stride):
    """Each window's values added at its pixels, one window at a time."""
    _, out_h, out_w, kh, kw, _ = windows.shape
    result = np.zeros(input_shape)
    for i in range(out_h):
        for j in range(out_w):
            rows, cols = (
                slice(i * stride[0], i * stride[0] + kh),
                slice(j * stride[1], j * stride[1] + kw),
            )
            result[:, rows, cols] += windows[:, i, j]
    return result


@given(
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    windows=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    layout=st.sampled_from(["tiling", "side by side, pixels left over", "any stride"]),
    data=st.data(),
)
def test_fold_adds_each_window_at_its_pixels(kernel, windows, layout, data):
    """fold takes a shortcut when the windows tile the image exactly: check every case."""
    margins = st.tuples(st.integers(0, 2), st.integers(0, 2))
    if layout == "tiling":
        stride, margin = kernel, (0, 0)
    elif layout == "side by side, pixels left over":
        stride, margin = kernel, data.draw(margins.filter(any))
    else:
        stride = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
        margin = data.draw(margins)
    height, width = (
        (n - 1) * s + k + m for n, s, k, m in zip(windows, stride, kernel, margin, strict=True)
    )
    input_shape = (2, height, width, 3)
    values = np.random.default_rng(0).standard_normal((2, *windows, *kernel, 3))
    folded = fold(values, input_shape, stride)
    np.testing.assert_allclose(folded, fold_by_definition(values, input_shape, stride), atol=1e-12)
    assert not np.shares_memory(folded, values)


@pytest.mark.parametrize(
    ("windows", "kernel", "stride", "image"),
    [
        ((3, 2), (2, 3), (2, 3), (6, 6)),  # tiling
        ((3, 3), (2, 2), (1, 1), (6, 6)),  # overlapping, with as many pixels as tiles would have
        ((2, 2), (2, 2), (3, 3), (5, 5)),  # gaps between windows
    ],
)
def test_fold_counts_the_windows_covering_each_pixel(windows, kernel, stride, image):
    ones = np.ones((1, *windows, *kernel, 1))
    expected = fold_by_definition(ones, (1, *image, 1), stride)
    np.testing.assert_array_equal(fold(ones, (1, *image, 1), stride), expected)


# ---------------------------------------------------------------------------
# default initialisation


def test_conv2d_default_init_is_uniform_within_one_over_sqrt_fan_in():
    layer = Conv2d(4, 50, (3, 5), rng=0)
    bound = 1 / np.sqrt(4 * 3 * 5)
    assert layer.weight.shape == (50, 4, 3, 5) and layer.bias.shape == (50,)
    for values in (layer.weight.data, layer.bias.data):
        assert np.abs(values).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.99 * bound  # 3000 draws fill the interval
    assert abs(layer.weight.data.std() - bound / np.sqrt(3)) < 0.05 * bound


# ---------------------------------------------------------------------------
# an independent reference: PyTorch


@hypothesis.settings(max_examples=10)  # a second reference: the gradient checks cover the inputs
@given(settings=pst.conv_settings(), out_channels=st.integers(1, 4), seed=pst.seeds())
def test_conv2d_matches_torch(settings, out_channels, seed):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    shape, kernel, stride, padding = settings
    layer = Conv2d(shape[1], out_channels, kernel, stride, padding, rng=seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    output = layer(x)
    grad_output = rng.standard_normal(output.shape)
    grad_input = layer.backward(grad_output)

    x_t = torch.tensor(x, requires_grad=True)
    weight_t = torch.tensor(layer.weight.data, requires_grad=True)
    bias_t = torch.tensor(layer.bias.data, requires_grad=True)
    output_t = functional.conv2d(x_t, weight_t, bias_t, stride=stride, padding=padding)
    output_t.backward(torch.tensor(grad_output))
    for ours, theirs in [
        (output, output_t),
        (grad_input, x_t.grad),
        (layer.weight.grad, weight_t.grad),
        (layer.bias.grad, bias_t.grad),
    ]:
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("kind", ["max", "avg"])
@hypothesis.settings(max_examples=10)  # a second reference: the gradient checks cover the inputs
@given(settings=pst.pool_settings(), seed=pst.seeds(), ties=st.booleans())
def test_pooling_matches_torch(kind, settings, seed, ties):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    shape, kernel, stride = settings
    rng = np.random.default_rng(seed)
    # Rounded inputs have many equal values: ties must go where PyTorch sends them.
    x = np.round(rng.standard_normal(shape)) if ties else rng.standard_normal(shape)
    pool = MaxPool2d(kernel, stride) if kind == "max" else AvgPool2d(kernel, stride)
    output = pool(x)
    grad_output = rng.standard_normal(output.shape)
    grad_input = pool.backward(grad_output)

    x_t = torch.tensor(x, requires_grad=True)
    torch_pool = functional.max_pool2d if kind == "max" else functional.avg_pool2d
    output_t = torch_pool(x_t, kernel, stride)
    output_t.backward(torch.tensor(grad_output))
    np.testing.assert_allclose(output, output_t.detach().numpy(), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(grad_input, x_t.grad.numpy(), rtol=1e-8, atol=1e-8)


# ---------------------------------------------------------------------------
# errors a learner will meet


@pytest.mark.parametrize(
    ("module", "shape", "message"),
    [
        (
            Conv2d(3, 8, 3),
            (2, 4, 5, 5),
            r"Conv2d\(3, 8.*\(batch, 3, height, width\).*\(2, 4, 5, 5\)",
        ),
        (Conv2d(3, 8, 3), (3, 5, 5), r"Conv2d\(3, 8.*\(batch, 3, height, width\).*\(3, 5, 5\)"),
        (Conv2d(1, 2, 5), (1, 1, 4, 9), r"Conv2d\(1, 2.*\(1, 1, 4, 9\).*4x9.*smaller.*5x5 kernel"),
        (
            Conv2d(1, 2, 5, padding=(0, 1)),
            (1, 1, 4, 3),
            r"\(1, 1, 4, 3\).*4x3 \(4x5 with padding\).*smaller.*5x5",
        ),
        (MaxPool2d(3), (1, 2, 2, 8), r"MaxPool2d.*\(1, 2, 2, 8\).*2x8.*smaller.*3x3"),
        (AvgPool2d(2), (4, 4), r"AvgPool2d.*\(batch, channels, height, width\).*\(4, 4\)"),
    ],
)
def test_bad_inputs_name_the_module_and_the_shapes(module, shape, message):
    with pytest.raises(ValueError, match=message):
        module(np.zeros(shape))


def test_backward_before_forward_and_wrong_grad_shape():
    layer = Conv2d(1, 1, 2)
    with pytest.raises(RuntimeError, match="found nothing saved by forward"):
        layer.backward(np.zeros((1, 1, 2, 2)))
    layer(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"\(1, 1, 3, 3\).*\(1, 1, 2, 2\)"):
        layer.backward(np.zeros((1, 1, 3, 3)))


@pytest.mark.parametrize("bad", [0, (2, 0), (1, 2, 3), 1.5])
def test_bad_sizes_are_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        Conv2d(1, 1, bad)


# ---------------------------------------------------------------------------
# a small CNN learns the digits


@pytest.mark.slow
def test_cnn_reaches_98_percent_on_digits():
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=397, rng=0, stratify=y)
    normalize = Normalize(X_train.mean(), X_train.std())

    def as_images(pixels):
        return normalize(pixels).reshape(-1, 1, 8, 8)

    model = Sequential(
        Conv2d(1, 32, 3, padding=1, rng=0),
        ReLU(),
        MaxPool2d(2),
        Conv2d(32, 64, 3, padding=1, rng=1),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(64 * 2 * 2, 10, rng=2),
    )
    train = DataLoader(
        ArrayDataset(X_train, y_train), batch_size=32, shuffle=True, rng=0, transform=as_images
    )
    history = fit(
        model,
        CrossEntropyLoss(),
        Adam(model.parameters(), lr=1e-3),
        train,
        epochs=15,
        progress=False,
    )
    assert history.train_loss[-1] < history.train_loss[0] / 10
    accuracy = evaluate(model, CrossEntropyLoss(), (as_images(X_test), y_test))["accuracy"]
    assert accuracy >= 0.98
