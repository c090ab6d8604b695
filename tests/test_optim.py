"""Optimizers: PyTorch's documented update rules step for step, in place, dtype-preserving.

Expected trajectories come from three independent places: hand-derived sequences for
simple cases, the functional reference of ``pancake.testing.optimizers`` and
``torch.optim`` itself. (``tests/test_check_optimizers.py`` tests the checker
``check_optimizer``.)
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from pancake.course.optimizer_trajectories import (
    adam_reference,
    sgd_reference,
    teacher_forced_steps,
)
from pancake.nn import Linear, Parameter, ReLU, Sequential
from pancake.optim import SGD, Adam, AdamW, clip_grad_norm
from pancake.testing.optimizers import Problem

pytestmark = pytest.mark.ex06

SHAPES = [(3, 4), (5,), (2, 1, 3)]


def random_problem(seed: int, steps: int, dtype=np.float64):
    """Initial parameters and a gradient sequence ``[step][param]``."""
    rng = np.random.default_rng(seed)
    thetas = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    grads = [[rng.standard_normal(shape).astype(dtype) for shape in SHAPES] for _ in range(steps)]
    return thetas, grads


def reference_trajectory(update, thetas, grads, settings) -> list[list[np.ndarray]]:
    """The parameters after each step of the pure reference function ``update``."""
    problem = Problem(thetas, grads, [], "float64")
    return teacher_forced_steps(update, problem, settings, free_running=True)


def run(optimizer_cls, thetas, grads, **hyperparameters):
    """The parameters after each step of ``optimizer_cls`` fed the gradients ``grads``."""
    params = [Parameter(theta.copy()) for theta in thetas]
    optimizer = optimizer_cls(params, **hyperparameters)
    trajectory = []
    for step_grads in grads:
        optimizer.zero_grad()
        for param, grad in zip(params, step_grads, strict=True):
            param.grad += grad
        optimizer.step()
        trajectory.append([param.data.copy() for param in params])
    return trajectory, params, optimizer


# -- hand-derived sequences ------------------------------------------------------------------


def scalar_steps(optimizer_cls, grads, theta=1.0, **hyperparameters) -> list[float]:
    param = Parameter(np.array([theta]))
    optimizer = optimizer_cls([param], **hyperparameters)
    values = []
    for grad in grads:
        param.grad[...] = grad
        optimizer.step()
        values.append(float(param.data[0]))
    return values


def test_plain_sgd_subtracts_lr_times_gradient():
    assert scalar_steps(SGD, [2.0, -1.0], lr=0.1) == pytest.approx([0.8, 0.9])


def test_momentum_buffer_starts_at_the_first_gradient():
    # b1 = g = 1 (no dampening at the first step), b2 = 0.9 b1 + g = 1.9, b3 = 0.9 b2 + g = 2.71
    undamped = scalar_steps(SGD, [1.0, 1.0, 1.0], lr=0.1, momentum=0.9)
    assert undamped == pytest.approx([1 - 0.1, 1 - 0.1 * (1 + 1.9), 1 - 0.1 * (1 + 1.9 + 2.71)])
    # dampening 0.5: b1 = 1, b2 = 0.9 + 0.5 = 1.4, b3 = 1.26 + 0.5 = 1.76
    damped = scalar_steps(SGD, [1.0, 1.0, 1.0], lr=0.1, momentum=0.9, dampening=0.5)
    assert damped == pytest.approx([1 - 0.1, 1 - 0.1 * (1 + 1.4), 1 - 0.1 * (1 + 1.4 + 1.76)])


def test_nesterov_steps_along_gradient_plus_momentum_times_buffer():
    # b1 = 1, step g + 0.9 b1 = 1.9; b2 = 1.9, step 1 + 0.9 * 1.9 = 2.71
    got = scalar_steps(SGD, [1.0, 1.0], lr=0.1, momentum=0.9, nesterov=True)
    assert got == pytest.approx([1 - 0.19, 1 - 0.19 - 0.271])


def test_sgd_weight_decay_is_added_to_the_gradient():
    # g = 0 + 0.5 * 1 -> theta = 1 - 0.1 * 0.5 = 0.95
    assert scalar_steps(SGD, [0.0], lr=0.1, weight_decay=0.5) == pytest.approx([0.95])


def test_adam_steps_follow_the_definition():
    # Step 1: m̂ = g and v̂ = g², so the step is lr * g / |g| (eps = 0).
    got = scalar_steps(Adam, [3.0, -3.0], lr=0.01, eps=0.0)
    m2 = 0.9 * (0.1 * 3) + 0.1 * -3
    v2 = 0.999 * (0.001 * 9) + 0.001 * 9
    step2 = 0.01 * (m2 / (1 - 0.9**2)) / np.sqrt(v2 / (1 - 0.999**2))
    assert got == pytest.approx([1 - 0.01, 1 - 0.01 - step2])


def test_adamw_shrinks_the_parameter_before_the_adam_step():
    # theta = 2 * (1 - lr * wd) - lr * sign(g)
    got = scalar_steps(AdamW, [1.0], theta=2.0, lr=0.1, weight_decay=0.5, eps=0.0)
    assert got == pytest.approx([2 * (1 - 0.05) - 0.1])


def test_adam_weight_decay_is_an_l2_term_in_the_gradient():
    # g = 0 + 0.5 * 2 = 1 -> first step lr * sign(g)
    assert scalar_steps(Adam, [0.0], theta=2.0, lr=0.1, weight_decay=0.5, eps=0.0) == pytest.approx(
        [1.9]
    )


# -- against the functional reference and against torch.optim ----------------------------------

SGD_SETTINGS = [
    dict(momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay)
    for momentum, dampening, nesterov, weight_decay in itertools.product(
        (0.0, 0.9), (0.0, 0.3), (False, True), (0.0, 0.05)
    )
    if not nesterov or (momentum > 0 and dampening == 0)
]
ADAM_SETTINGS = [
    (Adam, dict(weight_decay=0.0)),
    (Adam, dict(weight_decay=0.1, betas=(0.8, 0.99), eps=1e-6)),
    (AdamW, dict(weight_decay=0.01)),
    (AdamW, dict(weight_decay=0.3, betas=(0.5, 0.9))),
]


@pytest.mark.parametrize("settings", SGD_SETTINGS, ids=str)
def test_sgd_matches_the_functional_reference(settings):
    thetas, grads = random_problem(seed=1, steps=12)
    got, _, _ = run(SGD, thetas, grads, lr=0.05, **settings)
    expected = reference_trajectory(sgd_reference, thetas, grads, {"lr": 0.05, **settings})
    for got_step, expected_step in zip(got, expected, strict=True):
        for g, e in zip(got_step, expected_step, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("optimizer_cls", "settings"), ADAM_SETTINGS, ids=str)
def test_adam_matches_the_functional_reference(optimizer_cls, settings):
    thetas, grads = random_problem(seed=2, steps=12)
    got, _, _ = run(optimizer_cls, thetas, grads, lr=0.01, **settings)
    reference = {
        "lr": 0.01,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "decoupled_weight_decay": optimizer_cls is AdamW,
        **settings,
    }
    expected = reference_trajectory(adam_reference, thetas, grads, reference)
    for got_step, expected_step in zip(got, expected, strict=True):
        for g, e in zip(got_step, expected_step, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


def torch_trajectory(torch_optimizer_cls, thetas, grads, missing=frozenset(), **hyperparameters):
    """The same run in torch.optim; (step, param) pairs in ``missing`` get no gradient."""
    torch = pytest.importorskip("torch")
    params = [torch.tensor(theta, dtype=torch.float64, requires_grad=True) for theta in thetas]
    optimizer = torch_optimizer_cls(params, **hyperparameters)
    trajectory = []
    for step, step_grads in enumerate(grads):
        for i, (param, grad) in enumerate(zip(params, step_grads, strict=True)):
            param.grad = None if (step, i) in missing else torch.tensor(grad, dtype=torch.float64)
        optimizer.step()
        trajectory.append([param.detach().numpy().copy() for param in params])
    return trajectory


def pancake_trajectory(optimizer_cls, thetas, grads, missing=frozenset(), **hyperparameters):
    """As torch_trajectory, with duck-typed parameters whose .grad may be None."""
    params = [SimpleNamespace(data=theta.copy(), grad=None) for theta in thetas]
    optimizer = optimizer_cls(iter(params), **hyperparameters)
    trajectory = []
    for step, step_grads in enumerate(grads):
        for i, (param, grad) in enumerate(zip(params, step_grads, strict=True)):
            param.grad = None if (step, i) in missing else grad.copy()
        optimizer.step()
        trajectory.append([param.data.copy() for param in params])
    return trajectory


# Parameter 1 gets no gradient at steps 2 and 5: it must be skipped, its step count kept.
MISSING = frozenset({(2, 1), (5, 1)})


def assert_same_trajectories(got, expected):
    for step, (got_step, expected_step) in enumerate(zip(got, expected, strict=True)):
        for i, (g, e) in enumerate(zip(got_step, expected_step, strict=True)):
            np.testing.assert_allclose(
                g, e, rtol=1e-10, atol=1e-12, err_msg=f"step {step}, param {i}"
            )


@pytest.mark.parametrize("settings", SGD_SETTINGS, ids=str)
def test_sgd_matches_torch(settings):
    torch = pytest.importorskip("torch")
    thetas, grads = random_problem(seed=3, steps=10)
    expected = torch_trajectory(torch.optim.SGD, thetas, grads, MISSING, lr=0.05, **settings)
    assert_same_trajectories(
        pancake_trajectory(SGD, thetas, grads, MISSING, lr=0.05, **settings), expected
    )


@pytest.mark.parametrize(("optimizer_cls", "settings"), ADAM_SETTINGS, ids=str)
def test_adam_and_adamw_match_torch(optimizer_cls, settings):
    torch = pytest.importorskip("torch")
    torch_cls = torch.optim.AdamW if optimizer_cls is AdamW else torch.optim.Adam
    thetas, grads = random_problem(seed=4, steps=10)
    expected = torch_trajectory(torch_cls, thetas, grads, MISSING, lr=0.01, **settings)
    assert_same_trajectories(
        pancake_trajectory(optimizer_cls, thetas, grads, MISSING, lr=0.01, **settings), expected
    )


def test_adam_with_decoupled_weight_decay_matches_torch():
    torch = pytest.importorskip("torch")
    thetas, grads = random_problem(seed=5, steps=10)
    settings = dict(lr=0.01, weight_decay=0.2, decoupled_weight_decay=True)
    expected = torch_trajectory(torch.optim.Adam, thetas, grads, **settings)
    assert_same_trajectories(pancake_trajectory(Adam, thetas, grads, **settings), expected)


def test_functional_reference_matches_torch():
    """The reference that grades learners is itself checked against torch.optim."""
    torch = pytest.importorskip("torch")
    thetas, grads = random_problem(seed=6, steps=10)
    sgd = dict(lr=0.05, momentum=0.9, dampening=0.2, nesterov=False, weight_decay=0.05)
    assert_same_trajectories(
        reference_trajectory(sgd_reference, thetas, grads, sgd),
        torch_trajectory(torch.optim.SGD, thetas, grads, **sgd),
    )
    adamw = dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
    assert_same_trajectories(
        reference_trajectory(
            adam_reference, thetas, grads, {**adamw, "decoupled_weight_decay": True}
        ),
        torch_trajectory(torch.optim.AdamW, thetas, grads, **adamw),
    )


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    _, grads = random_problem(seed=7, steps=1)
    for max_norm in (0.5, 100.0):
        params = [SimpleNamespace(data=np.zeros_like(g), grad=g.copy()) for g in grads[0]]
        tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads[0]]
        for tensor, g in zip(tensors, grads[0], strict=True):
            tensor.grad = torch.tensor(g)
        expected_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
        assert clip_grad_norm(params, max_norm) == pytest.approx(float(expected_norm))
        for param, tensor in zip(params, tensors, strict=True):
            np.testing.assert_allclose(param.grad, tensor.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_scales_down_to_max_norm_only_when_above():
    grads = [np.array([3.0, 0.0]), np.array([[4.0]])]
    params = [SimpleNamespace(data=np.zeros_like(g), grad=g.copy()) for g in grads]
    assert clip_grad_norm(params, 10.0) == pytest.approx(5.0)
    np.testing.assert_array_equal(params[0].grad, grads[0])
    assert clip_grad_norm(params, 1.0) == pytest.approx(5.0)
    clipped = np.sqrt(sum(np.sum(p.grad**2) for p in params))
    assert clipped == pytest.approx(1.0, rel=1e-5)


# -- in place, duck typing, dtypes, state ----------------------------------------------------

ALL_OPTIMIZERS = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (Adam, dict(lr=0.01, weight_decay=0.01)),
    (AdamW, dict(lr=0.01)),
]


@pytest.mark.parametrize(("optimizer_cls", "settings"), ALL_OPTIMIZERS, ids=str)
def test_parameters_are_updated_in_place(optimizer_cls, settings):
    layer = Linear(3, 2, rng=0)
    arrays = [layer.weight.data, layer.bias.data]
    before = [array.copy() for array in arrays]
    layer.weight.grad[...] = 1.0
    layer.bias.grad[...] = -1.0
    optimizer_cls(layer.parameters(), **settings).step()
    assert layer.weight.data is arrays[0] and layer.bias.data is arrays[1]
    assert not np.array_equal(arrays[0], before[0]) and not np.array_equal(arrays[1], before[1])


@pytest.mark.parametrize(("optimizer_cls", "settings"), ALL_OPTIMIZERS, ids=str)
def test_float32_parameters_gradients_and_state_stay_float32(optimizer_cls, settings):
    thetas, grads = random_problem(seed=8, steps=4, dtype=np.float32)
    _, params, optimizer = run(optimizer_cls, thetas, grads, **settings)
    for param in params:
        assert param.data.dtype == np.float32 and param.grad.dtype == np.float32
    state_arrays = [
        value
        for state in optimizer.state
        for value in state.values()
        if isinstance(value, np.ndarray)
    ]
    assert all(array.dtype == np.float32 for array in state_arrays)
    if optimizer_cls is not SGD or settings.get("momentum"):
        assert state_arrays, "this optimizer keeps arrays in its state"


@pytest.mark.parametrize(("optimizer_cls", "settings"), ALL_OPTIMIZERS, ids=str)
def test_parameters_without_gradient_are_skipped(optimizer_cls, settings):
    with_grad = SimpleNamespace(data=np.ones(3), grad=np.ones(3))
    without = SimpleNamespace(data=np.ones(3), grad=None)
    optimizer = optimizer_cls([with_grad, without], **settings)
    optimizer.step()
    optimizer.zero_grad()
    np.testing.assert_array_equal(without.data, np.ones(3))
    assert without.grad is None
    assert not np.array_equal(with_grad.data, np.ones(3))
    np.testing.assert_array_equal(with_grad.grad, np.zeros(3))


def test_a_generator_of_parameters_is_kept_for_every_step():
    model = Sequential(Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=1))
    optimizer = SGD(model.parameters(), lr=0.1)
    assert len(optimizer.params) == 4
    for param in model.parameters():
        param.grad[...] = 1.0
    before = [param.data.copy() for param in model.parameters()]
    optimizer.step()
    optimizer.step()
    for param, old in zip(model.parameters(), before, strict=True):
        np.testing.assert_allclose(param.data, old - 0.2)


def test_zero_grad_zeroes_in_place():
    param = Parameter(np.ones(4))
    grad = param.grad
    grad += 3.0
    SGD([param], lr=0.1).zero_grad()
    assert param.grad is grad
    np.testing.assert_array_equal(grad, np.zeros(4))


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer_cls", [SGD, Adam, AdamW])
def test_no_parameters_is_a_value_error(optimizer_cls):
    with pytest.raises(ValueError, match="no parameters"):
        optimizer_cls([], lr=0.1)
    with pytest.raises(ValueError, match="no parameters"):
        optimizer_cls(Sequential(ReLU()).parameters(), lr=0.1)


def test_passing_the_model_instead_of_its_parameters_is_explained():
    with pytest.raises(TypeError, match=r"model.parameters\(\)"):
        SGD(Linear(2, 2), lr=0.1)


def test_passing_arrays_instead_of_parameters_is_explained():
    with pytest.raises(TypeError, match=r"parameter 0 is a ndarray.*\.data and \.grad"):
        Adam([np.ones(3)])


@pytest.mark.parametrize(
    ("optimizer_cls", "settings", "message"),
    [
        (SGD, dict(lr=-0.1), "lr must be >= 0"),
        (SGD, dict(lr=0.1, momentum=-0.5), "momentum must be >= 0"),
        (SGD, dict(lr=0.1, nesterov=True), "Nesterov"),
        (SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
        (Adam, dict(betas=(1.0, 0.999)), "betas"),
        (AdamW, dict(eps=-1.0), "eps must be >= 0"),
        (Adam, dict(weight_decay=float("nan")), "weight_decay"),
    ],
)
def test_bad_hyperparameters_are_value_errors(optimizer_cls, settings, message):
    with pytest.raises(ValueError, match=message):
        optimizer_cls([Parameter(np.ones(2))], **settings)


def test_repr_shows_the_hyperparameters():
    assert repr(SGD([Parameter(np.ones(1))], lr=0.5, momentum=0.9)).startswith(
        "SGD(lr=0.5, momentum=0.9"
    )
    assert "weight_decay=0.01" in repr(AdamW([Parameter(np.ones(1))]))


def test_settings_live_in_one_defaults_dict_that_repr_shows():
    optimizer = SGD([Parameter(np.ones(1))], lr=0.5, momentum=0.9)
    assert optimizer.defaults == dict(
        lr=0.5, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0
    )
    assert optimizer.lr == 0.5
    optimizer.lr = 0.25  # a schedule changes the attribute; repr shows the current value
    assert repr(optimizer).startswith("SGD(lr=0.25, momentum=0.9")
    assert AdamW([Parameter(np.ones(1))]).defaults["decoupled_weight_decay"] is True
