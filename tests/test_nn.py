"""The layers, losses and containers of pancake.nn: gradients, dtypes, errors, the Module API."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pancake import init
from pancake.data import DataLoader
from pancake.nn import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    MSELoss,
    Mul,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Softmax,
    Square,
    Tanh,
)
from pancake.testing import check_gradients
from pancake.testing import strategies as pst

ELEMENTWISE = [ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, Identity, Square, Mul]


# ---------------------------------------------------------------------------
# gradients against finite differences


@pytest.mark.ex03
@given(
    leading=st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple),
    batch=pst.batch_sizes(),
    sizes=st.tuples(pst.feature_sizes(), pst.feature_sizes()),
    scale=pst.scales(),
    seed=pst.seeds(),
    bias=st.booleans(),
)
def test_linear_gradients_with_any_leading_axes(leading, batch, sizes, scale, seed, bias):
    in_features, out_features = sizes
    x = scale * np.random.default_rng(seed).standard_normal((*leading, batch, in_features))
    check_gradients(Linear(in_features, out_features, bias=bias, rng=seed), x)


@pytest.mark.parametrize("make_module", ELEMENTWISE, ids=lambda m: m.__name__)
@given(shape=pst.shapes(), scale=pst.scales(), data=st.data())
def test_elementwise_gradients(make_module, shape, scale, data):
    kink_margin = 0.1 if make_module in (ReLU, LeakyReLU) else None
    x = data.draw(pst.arrays(shape, scale=min(scale, 10.0), kink_margin=kink_margin))
    check_gradients(make_module(), x)


@pytest.mark.ex05
@given(batch=pst.batch_sizes(), features=pst.feature_sizes(), seed=pst.seeds())
def test_sequential_and_residual_gradients(batch, features, seed):
    x = np.random.default_rng(seed).standard_normal((batch, features))
    block = Sequential(Linear(features, features, rng=seed), Tanh())
    model = Sequential(
        Linear(features, 7, rng=seed + 1),
        Sigmoid(),
        Linear(7, features, rng=seed + 2),
        Residual(block),
    )
    report = check_gradients(model, x)
    assert [c.name for c in report.comparisons][1:] == [
        name for name, _ in model.named_parameters()
    ]


# ---------------------------------------------------------------------------
# an independent reference: PyTorch's autograd


def torch_grads(build, x_np, *extra):
    """dL/dx from torch for L = build(x, *extra), evaluated in float64."""
    import torch

    x = torch.tensor(x_np, dtype=torch.float64, requires_grad=True)
    loss = build(torch, x, *extra)
    loss.backward()
    return x.grad.numpy()


@pytest.mark.parametrize(
    "module, build",
    [
        (Sigmoid(), lambda t, x, u: (torch_sigmoid(t, x) * u).sum()),
        (Tanh(), lambda t, x, u: (t.tanh(x) * u).sum()),
        (ReLU(), lambda t, x, u: (t.relu(x) * u).sum()),
        (LeakyReLU(0.2), lambda t, x, u: (t.nn.functional.leaky_relu(x, 0.2) * u).sum()),
        (Softmax(), lambda t, x, u: (t.softmax(x, dim=-1) * u).sum()),
    ],
    ids=["sigmoid", "tanh", "relu", "leaky_relu", "softmax"],
)
@given(seed=pst.seeds())
def test_activation_gradients_match_torch(module, build, seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 5)) * 3
    u = rng.standard_normal((4, 5))
    module(x)
    expected = torch_grads(lambda t, xt: build(t, xt, torch.tensor(u)), x)
    np.testing.assert_allclose(module.backward(u), expected, rtol=1e-10, atol=1e-12)


def torch_sigmoid(t, x):
    return t.sigmoid(x)


@pytest.mark.ex03
@given(
    seed=pst.seeds(),
    batch=pst.batch_sizes(),
    sizes=st.tuples(pst.feature_sizes(), pst.feature_sizes()),
)
def test_linear_gradients_match_torch(seed, batch, sizes):
    torch = pytest.importorskip("torch")
    in_features, out_features = sizes
    rng = np.random.default_rng(seed)
    x, u = rng.standard_normal((batch, in_features)), rng.standard_normal((batch, out_features))
    layer = Linear(in_features, out_features, rng=seed)
    weight = torch.tensor(layer.weight.data, requires_grad=True)
    bias = torch.tensor(layer.bias.data, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ((xt @ weight + bias) * torch.tensor(u)).sum().backward()
    layer(x)
    np.testing.assert_allclose(layer.backward(u), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, bias.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.ex04
@given(seed=pst.seeds(), batch=pst.batch_sizes(), classes=st.integers(2, 6), scale=pst.scales())
def test_losses_match_torch(seed, batch, classes, scale):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(seed)
    logits = scale * rng.standard_normal((batch, classes))
    labels = rng.integers(0, classes, size=batch)
    targets = rng.integers(0, 2, size=(batch, classes)).astype(float)
    probs = rng.uniform(0.05, 0.95, size=(batch, classes))
    cases = [
        (CrossEntropyLoss(), logits, labels, lambda x: F.cross_entropy(x, torch.tensor(labels))),
        (
            BCEWithLogitsLoss(),
            logits,
            targets,
            lambda x: F.binary_cross_entropy_with_logits(x, torch.tensor(targets)),
        ),
        (BCELoss(), probs, targets, lambda x: F.binary_cross_entropy(x, torch.tensor(targets))),
        (MSELoss(), logits, targets, lambda x: F.mse_loss(x, torch.tensor(targets))),
    ]
    for loss_fn, pred, target, reference in cases:
        xt = torch.tensor(pred, requires_grad=True)
        expected = reference(xt)
        expected.backward()
        assert loss_fn(pred, target) == pytest.approx(expected.item(), rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(loss_fn.backward(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------
# stability for huge logits


@pytest.mark.ex04
@pytest.mark.parametrize("magnitude", [1e2, 1e4, -1e4])
def test_cross_entropy_is_finite_and_exact_for_huge_logits(magnitude):
    logits = np.array([[magnitude, 0.0, -magnitude], [0.0, magnitude, 0.0]])
    labels = np.array([1, 1])
    loss_fn = CrossEntropyLoss()
    loss = loss_fn(logits, labels)
    # NumPy's logaddexp is an independent stable log-sum-exp
    expected = np.mean(np.logaddexp.reduce(logits, axis=1) - logits[:, 1])
    assert np.isfinite(loss) and loss == pytest.approx(expected)
    grad = loss_fn.backward()
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.abs(grad).max(), 0.5, rtol=1e-12)


@pytest.mark.ex04
@pytest.mark.parametrize("magnitude", [1e4, -1e4])
def test_bce_with_logits_is_finite_and_exact_for_huge_logits(magnitude):
    logits = np.array([[magnitude, -magnitude]])
    targets = np.array([[0.0, 0.0]])
    loss_fn = BCEWithLogitsLoss()
    # softplus(z) - z·t with t = 0: the positive logit costs |magnitude|, the negative one ~0
    assert loss_fn(logits, targets) == pytest.approx(abs(magnitude) / 2)
    grad = loss_fn.backward()
    np.testing.assert_allclose(grad, [[(magnitude > 0) / 2, (magnitude < 0) / 2]], atol=1e-300)


# ---------------------------------------------------------------------------
# dtypes: float32 stays float32


@pytest.mark.parametrize("make_module", [*ELEMENTWISE, Dropout], ids=lambda m: m.__name__)
def test_elementwise_modules_keep_float32(make_module):
    module = make_module(dtype=np.float32) if make_module is Mul else make_module()
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    y = module(x)
    assert y.dtype == np.float32
    assert module.backward(np.ones_like(y)).dtype == np.float32


@pytest.mark.ex05
def test_float32_network_and_loss_stay_float32():
    model = Sequential(
        Linear(4, 8, rng=0, dtype=np.float32), ReLU(), Linear(8, 3, rng=1, dtype=np.float32)
    )
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    logits = model(x)
    assert logits.dtype == np.float32
    loss_fn = CrossEntropyLoss()
    loss_fn(logits, np.array([0, 1, 2, 0, 1]))
    grad = loss_fn.backward()
    assert grad.dtype == np.float32
    assert model.backward(grad).dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


# ---------------------------------------------------------------------------
# errors a learner meets


@pytest.mark.ex03
def test_linear_names_itself_and_both_shapes():
    with pytest.raises(
        ValueError,
        match=r"Linear\(3 -> 2\) expects inputs whose last axis is 3, got shape \(4, 5\)",
    ):
        Linear(3, 2)(np.ones((4, 5)))


@pytest.mark.parametrize(
    "module",
    [
        Linear(3, 2),
        ReLU(),
        Sigmoid(),
        Tanh(),
        Softmax(),
        Identity(),
        Square(),
        Mul(2.0),
        Dropout(),
        LeakyReLU(),
        Residual(Linear(2, 2)),
    ],
    ids=repr,
)
def test_backward_before_forward_is_a_clear_error(module):
    with pytest.raises(RuntimeError, match=r"backward\(\) found nothing saved by forward\(\)"):
        module.backward(np.ones((4, 2)))


@pytest.mark.parametrize(
    "loss_fn", [MSELoss(), BCELoss(), BCEWithLogitsLoss(), CrossEntropyLoss()], ids=repr
)
def test_loss_backward_before_forward_is_a_clear_error(loss_fn):
    with pytest.raises(RuntimeError, match=r"backward\(\) found nothing saved by forward\(\)"):
        loss_fn.backward()


@pytest.mark.parametrize(
    "loss_fn, pred, target",
    [
        (MSELoss(), np.zeros((4, 2)), np.zeros((3, 2))),
        (MSELoss(), np.zeros((4, 1)), np.zeros(4)),  # would broadcast to (4, 4) in NumPy
        (BCELoss(), np.full((4, 1), 0.5), np.zeros((5, 1))),
        (BCEWithLogitsLoss(), np.zeros((4,)), np.zeros((3,))),
        (CrossEntropyLoss(), np.zeros((4, 3)), np.zeros(5, dtype=int)),
        (CrossEntropyLoss(), np.zeros((4, 3)), np.zeros((5, 3))),
    ],
    ids=["mse-batch", "mse-broadcast", "bce", "bce-logits", "ce-labels", "ce-onehot"],
)
def test_losses_reject_mismatched_batches(loss_fn, pred, target):
    with pytest.raises(ValueError) as caught:
        loss_fn(pred, target)
    assert str(pred.shape) in str(caught.value) or "shape" in str(caught.value)
    assert type(loss_fn).__name__ in str(caught.value)


@pytest.mark.ex04
def test_cross_entropy_rejects_bad_labels():
    with pytest.raises(ValueError, match=r"CrossEntropyLoss\(\): labels must lie in \[0, 3\)"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"CrossEntropyLoss\(\): labels must be integers"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.array([0.0, 1.0]))


@pytest.mark.ex04
def test_bce_rejects_values_outside_zero_one():
    with pytest.raises(ValueError, match="BCEWithLogitsLoss"):
        BCELoss()(np.array([1.5, 0.5]), np.array([1.0, 0.0]))


def test_backward_rejects_a_gradient_of_the_wrong_shape():
    layer = Linear(3, 2)
    layer(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"grad_output of shape \(4, 1\).*\(4, 2\)"):
        layer.backward(np.ones((4, 1)))


@pytest.mark.ex02
def test_load_state_dict_checks_keys_and_shapes():
    model = Sequential(Linear(3, 2, rng=0), ReLU(), Linear(2, 1, rng=1))
    state = model.state_dict()
    missing = {k: v for k, v in state.items() if k != "2.bias"}
    with pytest.raises(KeyError, match=r"missing keys \['2.bias'\]"):
        model.load_state_dict(missing)
    wrong = dict(state, **{"0.weight": np.zeros((2, 3))})
    with pytest.raises(
        ValueError, match=r"'0.weight' has shape \(3, 2\) in the model but \(2, 3\)"
    ):
        model.load_state_dict(wrong)


# ---------------------------------------------------------------------------
# the Module API


@pytest.mark.ex02
def test_parameters_are_found_in_definition_order_with_dotted_names():
    model = Sequential(Linear(3, 4, rng=0), ReLU(), Sequential(Linear(4, 2, rng=1), Mul(2.0)))
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight",
        "0.bias",
        "2.0.weight",
        "2.0.bias",
        "2.1.k",
    ]
    assert len(list(model.parameters())) == 5


@pytest.mark.ex02
def test_zero_grad_train_eval_and_state_dict_round_trip():
    model = Sequential(Linear(3, 4, rng=0), Dropout(0.5, rng=0), Linear(4, 2, rng=1))
    model(np.ones((2, 3)))
    model.backward(np.ones((2, 2)))
    assert any(np.any(p.grad) for p in model.parameters())
    model.zero_grad()
    assert not any(np.any(p.grad) for p in model.parameters())
    assert model.eval() is model and not model[1].training
    assert model.train().training and model[1].training
    copy = Sequential(Linear(3, 4, rng=5), Dropout(0.5), Linear(4, 2, rng=6))
    weight_object = copy[0].weight.data
    copy.load_state_dict(model.state_dict())
    assert copy[0].weight.data is weight_object  # loaded in place: optimizers keep their references
    np.testing.assert_array_equal(copy.eval()(np.ones((2, 3))), model.eval()(np.ones((2, 3))))


@pytest.mark.ex05
def test_sequential_indexing_len_iteration_append():
    first, second = Linear(2, 3), ReLU()
    model = Sequential(first)
    assert model.append(second) is model
    assert len(model) == 2 and model[0] is first and model[-1] is second
    assert list(model) == [first, second]
    assert isinstance(model[:1], Sequential) and model[:1][0] is first
    assert "(0): Linear(2 -> 3)" in repr(model)
    with pytest.raises(TypeError, match="Sequential takes Modules"):
        model.append(np.tanh)


@pytest.mark.ex05
def test_residual_needs_the_same_shape():
    with pytest.raises(ValueError, match=r"Residual.*\(4, 3\) to \(4, 2\)"):
        Residual(Linear(3, 2))(np.ones((4, 3)))


def test_dropout_scales_in_training_and_is_identity_in_eval():
    dropout = Dropout(0.25, rng=0)
    x = np.ones((200, 50))
    y = dropout(x)
    kept = y != 0
    assert set(np.unique(y)) == {0.0, 1 / 0.75}
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_array_equal(dropout.backward(np.ones_like(x)), y)  # same mask and scale
    dropout.eval()
    np.testing.assert_array_equal(dropout(x), x)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Dropout(1.0)


# ---------------------------------------------------------------------------
# initialisation


@pytest.mark.ex03
@pytest.mark.parametrize(
    "initializer, expected_std",
    [
        (init.xavier_uniform, np.sqrt(2 / (400 + 200))),
        (init.xavier_normal, np.sqrt(2 / (400 + 200))),
        (init.kaiming_uniform, np.sqrt(2 / 400)),
        (init.kaiming_normal, np.sqrt(2 / 400)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_initializers_have_the_documented_spread(initializer, expected_std):
    weights = initializer((400, 200), rng=0)
    assert weights.shape == (400, 200)
    assert weights.std() == pytest.approx(expected_std, rel=0.02)
    assert abs(weights.mean()) < 0.05 * expected_std * 10
    np.testing.assert_array_equal(weights, initializer((400, 200), rng=0))


@pytest.mark.ex03
def test_initializers_aliases_and_dtype():
    assert init.glorot_uniform is init.xavier_uniform and init.he_normal is init.kaiming_normal
    assert init.zeros((2, 3)).sum() == 0 and init.ones((2,), dtype=np.float32).dtype == np.float32
    bound = np.sqrt(6 / 5)
    assert np.abs(init.xavier_uniform((2, 3), rng=1)).max() <= bound


@pytest.mark.ex03
def test_linear_default_init_is_seeded_and_bounded():
    a, b = Linear(16, 4, rng=3), Linear(16, 4, rng=3)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert np.abs(a.weight.data).max() <= 1 / 4 and a.weight.data.dtype == np.float64
    assert Linear(16, 4, dtype=np.float32).bias.data.dtype == np.float32


@pytest.mark.ex03
def test_a_first_layer_can_skip_its_input_gradient():
    layer = Linear(3, 2, rng=0)
    x, grad = np.ones((4, 3)), np.ones((4, 2))
    layer(x)
    full = layer.backward(grad)
    weight_grad = layer.weight.grad.copy()
    layer.zero_grad()
    layer.needs_input_grad = False
    layer(x)
    assert full.shape == (4, 3) and layer.backward(grad) is None
    np.testing.assert_array_equal(layer.weight.grad, weight_grad)
    report = check_gradients(layer, x)  # the checker's copy computes every gradient
    assert [c.name for c in report.comparisons] == ["input", "weight", "bias"]
    assert layer.needs_input_grad is False


@given(shape=pst.shapes(), scale=pst.scales(), data=st.data())
def test_dropout_gradients_in_eval_mode_and_without_dropping(shape, scale, data):
    x = data.draw(pst.arrays(shape, scale=scale))
    check_gradients(Dropout(0.5, rng=0).eval(), x)
    check_gradients(Dropout(0.0, rng=0), x)


@pytest.mark.ex05
def test_sequential_tells_its_first_module_that_dx_is_unused():
    model = Sequential(Linear(3, 4, rng=0), ReLU(), Linear(4, 2, rng=1))
    assert all(layer.needs_input_grad for layer in model)
    model.needs_input_grad = False
    assert [layer.needs_input_grad for layer in model] == [False, True, True]
    model.append(ReLU())
    assert model[-1].needs_input_grad
    model.needs_input_grad = True
    assert all(layer.needs_input_grad for layer in model)


@pytest.mark.ex05
def test_a_sequential_fed_a_loader_batch_skips_dx_for_that_pass_only():
    X = np.random.default_rng(0).standard_normal((8, 3))
    model = Sequential(Residual(Sequential(Linear(3, 3, rng=0), Tanh())), Linear(3, 2, rng=1))
    reference = Sequential(Residual(Sequential(Linear(3, 3, rng=0), Tanh())), Linear(3, 2, rng=1))
    (batch,) = DataLoader(X, batch_size=8)
    model(batch)
    assert model.backward(np.ones((8, 2))) is None
    reference(X)
    assert reference.backward(np.ones((8, 2))).shape == (8, 3)
    pairs = zip(model.named_parameters(), reference.named_parameters(), strict=True)
    for (name, a), (_, b) in pairs:
        np.testing.assert_array_equal(a.grad, b.grad, err_msg=name)
    model(batch.copy())  # a copy is no longer data: a saliency map asks for dL/dx this way
    assert model.backward(np.ones((8, 2))).shape == (8, 3)
    assert model.needs_input_grad and model[0].needs_input_grad


@pytest.mark.ex05
@pytest.mark.parametrize("first", [ReLU, Flatten], ids=["ReLU", "Flatten"])
def test_a_first_module_without_parameters_still_gets_a_gradient_to_pass_back(first):
    """The Linear after it must not skip dL/dx: the module in front can't pass on a None."""
    model = Sequential(first(), Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1))
    model.needs_input_grad = False
    x = np.random.default_rng(0).standard_normal((5, 3))
    model(x)
    assert model.backward(np.ones((5, 2))).shape == (5, 3)


@pytest.mark.ex05
def test_a_sequential_fed_with_data_skips_only_the_input_gradient():
    x, grad = np.random.default_rng(0).standard_normal((5, 3)), np.ones((5, 2))
    full = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1))
    skipping = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1))
    skipping.needs_input_grad = False
    full(x)
    skipping(x)
    assert full.backward(grad).shape == (5, 3)
    assert skipping.backward(grad) is None
    pairs = zip(full.named_parameters(), skipping.named_parameters(), strict=True)
    for (name, a), (_, b) in pairs:
        np.testing.assert_array_equal(a.grad, b.grad, err_msg=name)
