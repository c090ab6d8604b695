"""BatchNorm1d, BatchNorm2d and LayerNorm: gradients, running statistics, state dict, PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pancake.nn import BatchNorm1d, BatchNorm2d, Conv2d, LayerNorm, Linear, ReLU, Sequential
from pancake.testing import check_gradients
from pancake.testing import strategies as pst
from pancake.train import load, save

pytestmark = pytest.mark.ex13


@st.composite
def batch_norm_cases(draw, min_batch=1):
    """A BatchNorm1d on ``(N, C)`` or a BatchNorm2d on non-square ``(N, C, H, W)`` and its input.

    Batches 1-4 and channels 1-4; at least two values per channel (training needs a variance).
    """
    channels = draw(st.integers(1, 4))
    if draw(st.booleans()):
        shape = (draw(st.integers(max(2, min_batch), 4)), channels)
        module = BatchNorm1d(channels)
    else:
        sides = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        batch = draw(st.integers(max(min_batch, 1 if sides[0] * sides[1] > 1 else 2), 4))
        shape = (batch, channels, *sides)
        module = BatchNorm2d(channels)
    seed = draw(pst.seeds())
    rng = np.random.default_rng(seed)
    x = draw(pst.scales()) * rng.standard_normal(shape) + rng.standard_normal()
    module.weight.data[...] = rng.standard_normal(channels)
    module.bias.data[...] = rng.standard_normal(channels)
    return module, x


def reference_batch_norm(x, mean, var, weight, bias, eps, axes):
    """The textbook formula, written out for one set of statistics."""
    shape = [1] * x.ndim
    shape[1] = -1
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * weight.reshape(
        shape
    ) + bias.reshape(shape)


# ---------------------------------------------------------------------------
# gradients against finite differences


@given(case=batch_norm_cases())
def test_batch_norm_gradients_in_training_mode(case):
    module, x = case
    check_gradients(module, x)


@given(case=batch_norm_cases(), seed=pst.seeds())
def test_batch_norm_gradients_in_eval_mode(case, seed):
    module, x = case
    rng = np.random.default_rng(seed)
    module.running_mean[...] = rng.standard_normal(module.num_features)
    module.running_var[...] = rng.uniform(0.5, 2.0, module.num_features)
    check_gradients(module.eval(), x)


@given(
    leading=st.lists(st.integers(1, 3), min_size=1, max_size=2).map(tuple),
    normalized=st.lists(st.integers(1, 4), min_size=1, max_size=2).map(tuple),
    scale=pst.scales(),
    seed=pst.seeds(),
)
def test_layer_norm_gradients(leading, normalized, scale, seed):
    rng = np.random.default_rng(seed)
    layer = LayerNorm(normalized)
    layer.weight.data[...] = rng.standard_normal(normalized)
    layer.bias.data[...] = rng.standard_normal(normalized)
    check_gradients(layer, scale * rng.standard_normal((*leading, *normalized)))


@pytest.mark.parametrize(
    ("module", "shape"),
    [
        (BatchNorm1d(3, dtype=np.float32), (4, 3)),
        (BatchNorm2d(2, dtype=np.float32), (3, 2, 4, 5)),
        (LayerNorm((4, 5), dtype=np.float32), (3, 4, 5)),
    ],
    ids=["BatchNorm1d", "BatchNorm2d", "LayerNorm"],
)
@pytest.mark.parametrize("training", [True, False])
def test_float32_stays_float32(module, shape, training):
    module.train(training)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    output = module(x)
    grad = module.backward(np.ones_like(output))
    assert output.dtype == np.float32 and grad.dtype == np.float32
    for array in [*module.state_dict().values(), *(p.grad for p in module.parameters())]:
        assert array.dtype == np.float32
    check_gradients(module, x)


# ---------------------------------------------------------------------------
# running statistics and evaluation mode


@given(case=batch_norm_cases(), momentum=st.sampled_from([0.1, 0.5, 1.0]))
def test_training_updates_running_statistics_with_the_unbiased_variance(case, momentum):
    module, x = case
    module.momentum = momentum
    axes = module.reduce_axes
    count = x.size // module.num_features
    module(x)
    expected_mean = momentum * x.mean(axis=axes)
    expected_var = (1 - momentum) + momentum * x.var(axis=axes, ddof=1)
    np.testing.assert_allclose(module.running_mean, expected_mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(module.running_var, expected_var, rtol=1e-12, atol=1e-12)
    assert count > 1


@given(case=batch_norm_cases())
def test_training_output_uses_the_batch_statistics(case):
    module, x = case
    module.running_mean[...] = 100.0  # must not matter in training mode
    axes = module.reduce_axes
    expected = reference_batch_norm(
        x,
        x.mean(axis=axes),
        x.var(axis=axes),
        module.weight.data,
        module.bias.data,
        module.eps,
        axes,
    )
    np.testing.assert_allclose(module(x), expected, rtol=1e-10, atol=1e-10)


@given(case=batch_norm_cases(min_batch=1), seed=pst.seeds())
def test_eval_mode_uses_running_statistics_and_leaves_them_alone(case, seed):
    module, x = case
    rng = np.random.default_rng(seed)
    module.running_mean[...] = rng.standard_normal(module.num_features)
    module.running_var[...] = rng.uniform(0.5, 2.0, module.num_features)
    before = module.state_dict()
    module.eval()
    expected = reference_batch_norm(
        x,
        module.running_mean,
        module.running_var,
        module.weight.data,
        module.bias.data,
        module.eps,
        module.reduce_axes,
    )
    np.testing.assert_allclose(module(x[:1]), expected[:1], rtol=1e-10, atol=1e-10)
    for name, value in module.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_running_statistics_travel_with_the_state_dict():
    model = Sequential(Conv2d(1, 2, 3, rng=0), BatchNorm2d(2), ReLU())
    x = np.random.default_rng(0).standard_normal((4, 1, 5, 6))
    for _ in range(3):
        model(x)
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias"] + [
        "1.running_mean",
        "1.running_var",
    ]
    assert not np.allclose(state["1.running_mean"], 0)
    state["1.running_mean"] = state["1.running_mean"].copy()
    model[1].running_mean += 1.0  # the saved copy must not follow the model
    fresh = Sequential(Conv2d(1, 2, 3, rng=5), BatchNorm2d(2), ReLU())
    fresh.load_state_dict(state)
    model.load_state_dict(state)
    np.testing.assert_array_equal(fresh.eval()(x), model.eval()(x))
    np.testing.assert_array_equal(fresh[1].running_var, state["1.running_var"])


def test_save_and_load_keep_the_running_statistics(tmp_path):
    model = Sequential(Linear(3, 4, rng=0), BatchNorm1d(4))
    x = np.random.default_rng(0).standard_normal((8, 3))
    model(x)
    save(model.eval(), tmp_path / "model.npz")
    loaded = load(Sequential(Linear(3, 4, rng=1), BatchNorm1d(4)).eval(), tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded[1].running_var, model[1].running_var)
    np.testing.assert_array_equal(loaded(x), model(x))


def test_load_state_dict_checks_buffers():
    module = BatchNorm1d(3)
    state = module.state_dict()
    with pytest.raises(KeyError, match="running_var"):
        module.load_state_dict({k: v for k, v in state.items() if k != "running_var"})
    with pytest.raises(ValueError, match=r"running_mean.*\(3,\).*\(4,\)"):
        module.load_state_dict({**state, "running_mean": np.zeros(4)})


# ---------------------------------------------------------------------------
# an independent reference: PyTorch


@given(case=batch_norm_cases(), momentum=st.sampled_from([0.1, 0.3]), steps=st.integers(1, 3))
def test_batch_norm_matches_torch_in_training_and_eval(case, momentum, steps):
    torch = pytest.importorskip("torch")
    module, x = case
    module.momentum = momentum
    kind = torch.nn.BatchNorm1d if isinstance(module, BatchNorm1d) else torch.nn.BatchNorm2d
    theirs = kind(module.num_features, momentum=momentum).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(module.weight.data))
        theirs.bias.copy_(torch.tensor(module.bias.data))
    rng = np.random.default_rng(steps)
    for step in range(steps):
        batch = x + step * rng.standard_normal(x.shape)
        grad_output = rng.standard_normal(x.shape)
        module.zero_grad()
        output = module(batch)
        grad_input = module.backward(grad_output)
        batch_t = torch.tensor(batch, requires_grad=True)
        theirs.zero_grad()
        output_t = theirs(batch_t)
        output_t.backward(torch.tensor(grad_output))
        for ours, expected in [
            (output, output_t),
            (grad_input, batch_t.grad),
            (module.weight.grad, theirs.weight.grad),
            (module.bias.grad, theirs.bias.grad),
            (module.running_mean, theirs.running_mean),
            (module.running_var, theirs.running_var),
        ]:
            np.testing.assert_allclose(ours, expected.detach().numpy(), rtol=1e-8, atol=1e-8)
    module.eval()
    theirs.eval()
    np.testing.assert_allclose(
        module(x), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-8, atol=1e-8
    )


@given(
    leading=st.lists(st.integers(1, 3), min_size=1, max_size=2).map(tuple),
    normalized=st.lists(st.integers(1, 4), min_size=1, max_size=2).map(tuple),
    seed=pst.seeds(),
)
def test_layer_norm_matches_torch(leading, normalized, seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    layer = LayerNorm(normalized)
    layer.weight.data[...] = rng.standard_normal(normalized)
    layer.bias.data[...] = rng.standard_normal(normalized)
    theirs = torch.nn.LayerNorm(normalized).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(layer.weight.data))
        theirs.bias.copy_(torch.tensor(layer.bias.data))
    x = rng.standard_normal((*leading, *normalized))
    grad_output = rng.standard_normal(x.shape)
    output = layer(x)
    grad_input = layer.backward(grad_output)
    x_t = torch.tensor(x, requires_grad=True)
    output_t = theirs(x_t)
    output_t.backward(torch.tensor(grad_output))
    for ours, expected in [
        (output, output_t),
        (grad_input, x_t.grad),
        (layer.weight.grad, theirs.weight.grad),
        (layer.bias.grad, theirs.bias.grad),
    ]:
        np.testing.assert_allclose(ours, expected.detach().numpy(), rtol=1e-8, atol=1e-8)


# ---------------------------------------------------------------------------
# errors a learner will meet


@pytest.mark.parametrize(
    ("module", "shape", "message"),
    [
        (BatchNorm1d(3), (1, 3), r"BatchNorm1d\(3.*more than one value per channel.*\(1, 3\)"),
        (BatchNorm2d(2), (1, 2, 1, 1), r"BatchNorm2d\(2.*more than one value.*\(1, 2, 1, 1\)"),
        (BatchNorm1d(3), (4, 5), r"BatchNorm1d\(3.*\(batch, 3\).*\(4, 5\)"),
        (BatchNorm2d(3), (4, 3, 5), r"BatchNorm2d\(3.*\(batch, 3, height, width\).*\(4, 3, 5\)"),
        (LayerNorm((2, 3)), (4, 3, 2), r"LayerNorm.*last axes are \(2, 3\).*\(4, 3, 2\)"),
    ],
)
def test_bad_inputs_name_the_module_and_the_shapes(module, shape, message):
    with pytest.raises(ValueError, match=message):
        module(np.ones(shape))


def test_batch_of_one_is_fine_in_eval_mode():
    module = BatchNorm1d(3).eval()
    np.testing.assert_allclose(module(np.ones((1, 3))), np.ones((1, 3)) / np.sqrt(1 + 1e-5))


def test_batch_norm_between_linear_layers_checks_as_a_whole():
    x = np.random.default_rng(0).standard_normal((5, 4))
    model = Sequential(Linear(4, 6, rng=0), BatchNorm1d(6), ReLU(), Linear(6, 3, rng=1))
    check_gradients(model, x)
