"""Second and third derivatives: backward passes that record their own graph (create_graph).

Hessian-vector products of every operation are checked against central differences of
its first derivatives, and against PyTorch; ``grad()``, ``.backward()`` and a
``GradientTape`` must give the same first derivatives, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pancake.autograd as ag
from pancake.autograd import GradientTape, Tensor
from pancake.testing import strategies as pst

pytestmark = pytest.mark.ex14

# ---------------------------------------------------------------------------
# Hessian-vector products, and the same product from central differences of gradients


def scalar_of(op, shapes_seed: int):
    """f(*xs) = sum(r·y + s·y²) with y = op(*xs): curvature from op and from the square.

    The square makes the second derivative depend on how each backward treats the
    incoming gradient, not only on the arrays it saved.
    """

    def f(*xs):
        y = op(*xs)
        rng = np.random.default_rng(shapes_seed)
        r, s = rng.standard_normal(ag.shape_of(y)), rng.standard_normal(ag.shape_of(y))
        return (y * r + y * y * s).sum()

    return f


def first_derivatives(f, xs: list[np.ndarray]) -> list[np.ndarray]:
    """The gradient of ``f`` at ``xs`` (array path), one array per input."""
    tensors = [Tensor(x, requires_grad=True) for x in xs]
    return [g.data for g in ag.grad(f(*tensors), tensors)]


def hessian_vector_product(f, xs: list[np.ndarray], vs: list[np.ndarray]) -> list[np.ndarray]:
    """H·v of ``f`` at ``xs``: the gradient of (gradient · v), one array per input."""
    tensors = [Tensor(x, requires_grad=True) for x in xs]
    gradients = ag.grad(f(*tensors), tensors, create_graph=True)
    along_v = sum((g * v).sum() for g, v in zip(gradients, vs, strict=True))
    return [h.data for h in ag.grad(along_v, tensors)]


def gradient_change_along(f, xs, vs, step: float = 1e-3) -> list[np.ndarray]:
    """d/dt gradient(xs + t·vs) at t = 0: central differences, Richardson-extrapolated."""

    def central(h):
        plus = first_derivatives(f, [x + h * v for x, v in zip(xs, vs, strict=True)])
        minus = first_derivatives(f, [x - h * v for x, v in zip(xs, vs, strict=True)])
        return [(p - m) / (2 * h) for p, m in zip(plus, minus, strict=True)]

    coarse, fine = central(step), central(step / 2)
    return [(4 * b - a) / 3 for a, b in zip(coarse, fine, strict=True)]


def assert_hvp_matches_differences(op, xs, seed):
    f = scalar_of(op, seed)
    rng = np.random.default_rng(seed + 1)
    vs = [rng.standard_normal(x.shape) for x in xs]
    exact = hessian_vector_product(f, xs, vs)
    approximate = gradient_change_along(f, xs, vs)
    for mine, reference in zip(exact, approximate, strict=True):
        scale = max(1.0, float(np.max(np.abs(reference), initial=0.0)))
        np.testing.assert_allclose(mine, reference, rtol=1e-6, atol=1e-6 * scale)


# ---------------------------------------------------------------------------
# domains where each operation is smooth


def values(shape, kink_margin=None):
    return pst.arrays(shape, scale=st.sampled_from([0.3, 1.0]), kink_margin=kink_margin)


def positive(shape):
    return values(shape).map(lambda x: 0.5 + np.abs(x))


def away_from_zero(shape):
    return values(shape).map(lambda x: np.where(x < 0, -1.0, 1.0) * (0.5 + np.abs(x)))


@st.composite
def distinct(draw, shape):
    """Entries at least 0.5 apart: the maximum never ties, even after a small step."""
    rng = np.random.default_rng(draw(pst.seeds()))
    size = int(np.prod(shape))
    return ((rng.permutation(size) + rng.uniform(-0.25, 0.25, size)) / 2).reshape(shape)


BINARY = {
    "+": (lambda a, b: a + b, values, values),
    "-": (lambda a, b: a - b, values, values),
    "*": (lambda a, b: a * b, values, values),
    "/": (lambda a, b: a / b, values, away_from_zero),
    "** (tensor exponent)": (lambda a, b: a**b, positive, values),
}


@pytest.mark.parametrize("name", BINARY)
@given(
    shapes=pst.broadcastable_shapes().filter(lambda shapes: shapes[0] != shapes[1]),
    seed=pst.seeds(),
    data=st.data(),
)
def test_binary_hvp_with_broadcasting_matches_differences(name, shapes, seed, data):
    op, first, second = BINARY[name]
    xs = [data.draw(first(shapes[0])), data.draw(second(shapes[1]))]
    assert_hvp_matches_differences(op, xs, seed)


@given(
    batch=pst.broadcastable_shapes(max_dims=2, max_side=3).filter(lambda s: s[0] != s[1]),
    sizes=st.tuples(*[pst.feature_sizes(max_size=3)] * 3),
    seed=pst.seeds(),
    data=st.data(),
)
def test_matmul_hvp_with_broadcast_batch_axes_matches_differences(batch, sizes, seed, data):
    n, k, m = sizes
    xs = [data.draw(values((*batch[0], n, k))), data.draw(values((*batch[1], k, m)))]
    assert_hvp_matches_differences(lambda a, b: a @ b, xs, seed)


UNARY = {
    "neg": (lambda x: -x, values),
    "exp": (lambda x: x.exp(), values),
    "log": (lambda x: x.log(), positive),
    "tanh": (lambda x: x.tanh(), values),
    "sin": (lambda x: x.sin(), values),
    "cos": (lambda x: x.cos(), values),
    "softplus": (ag.softplus, values),
    "sigmoid": (lambda x: x.sigmoid(), values),
    "relu": (lambda x: x.relu(), lambda shape: values(shape, kink_margin=0.1)),
    "elu": (ag.elu, lambda shape: values(shape, kink_margin=0.1)),
    "log_softmax": (ag.log_softmax, values),
    "x ** 3": (lambda x: x**3, values),
    "x ** -1": (lambda x: x**-1, away_from_zero),
    "x ** 0.5": (lambda x: x**0.5, positive),
    "sum over axis 0": (lambda x: x.sum(axis=0), values),
    "mean": (lambda x: x.mean(), values),
    "max over the last axis": (lambda x: x.max(axis=-1), distinct),
    "reshape": (lambda x: x.reshape(-1), values),
    "transpose": (lambda x: x.T, values),
    "swapaxes": (lambda x: x.swapaxes(0, -1), values),
    "index, an entry picked twice": (lambda x: x[np.array([0, 0, -1])], values),
    "concatenate with itself": (lambda x: ag.concatenate([x, x.exp()], axis=-1), values),
    "broadcast_to a new leading axis": (lambda x: ag.broadcast_to(x, (2, *x.shape)), values),
}


@pytest.mark.parametrize("name", UNARY)
@given(shape=pst.shapes(min_dims=1, max_dims=3, max_side=4), seed=pst.seeds(), data=st.data())
def test_unary_hvp_matches_differences(name, shape, seed, data):
    op, domain = UNARY[name]
    assert_hvp_matches_differences(op, [data.draw(domain(shape))], seed)


@given(seed=pst.seeds(), data=st.data())
def test_hvp_of_a_small_network_matches_differences(seed, data):
    x = data.draw(values((4, 3)))
    labels = np.arange(4) % 2
    weights = [data.draw(values((3, 5))), data.draw(values((5,))), data.draw(values((5, 2)))]

    def loss(w1, b1, w2):
        return ag.cross_entropy((x @ w1 + b1).tanh() @ w2, labels)

    assert_hvp_matches_differences(lambda *ws: loss(*ws), weights, seed)


# ---------------------------------------------------------------------------
# higher derivatives of one variable


def test_third_derivative_of_x_to_the_fourth_is_24x():
    x = Tensor(np.array([-1.5, 0.5, 2.0]), requires_grad=True)
    (first,) = ag.grad((x**4).sum(), x, create_graph=True)
    (second,) = ag.grad(first.sum(), x, create_graph=True)
    (third,) = ag.grad(second.sum(), x)
    np.testing.assert_allclose(first.data, 4 * x.data**3)
    np.testing.assert_allclose(second.data, 12 * x.data**2)
    np.testing.assert_allclose(third.data, 24 * x.data)


def test_backward_with_create_graph_leaves_a_differentiable_grad():
    x = Tensor(2.0, requires_grad=True)
    (x**3).backward(create_graph=True)
    assert isinstance(x.grad, Tensor) and x.grad.item() == 12.0
    (second,) = ag.grad(x.grad, x)
    assert second.item() == 12.0  # d/dx 3x² = 6x


@pytest.mark.parametrize("product", [lambda x: x.detach() * x, lambda x: x * x.detach()])
def test_a_detached_copy_stays_a_constant_in_second_derivatives(product):
    x = Tensor(np.array([1.5, -2.0]), requires_grad=True)
    (first,) = ag.grad(product(x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(first.data, x.data)  # d/dx (c·x) = c, c = x held fixed
    assert first.grad_fn is None  # c is a constant: nothing left to differentiate


def test_gradients_without_create_graph_are_constants():
    x = Tensor(2.0, requires_grad=True)
    (first,) = ag.grad(x**3, x)
    assert not first.requires_grad and first.grad_fn is None


# ---------------------------------------------------------------------------
# grad(): the contract of torch.autograd.grad


def test_grad_adds_nothing_to_grad_attributes():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (g,) = ag.grad((x * x).sum(), x)
    np.testing.assert_array_equal(g.data, [2.0, 4.0])
    assert x.grad is None


def test_grad_of_an_unused_input_is_an_error_or_none():
    x, unused = Tensor(1.0, requires_grad=True), Tensor(2.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="do not depend on an input of shape .*allow_unused"):
        ag.grad(x * 3, [x, unused])
    g_x, g_unused = ag.grad(x * 3, [x, unused], allow_unused=True)
    assert g_x.item() == 3.0 and g_unused is None


def test_grad_of_an_input_without_requires_grad_says_so():
    x = Tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="input of shape \\(\\) does not require a gradient"):
        ag.grad(x * 3, Tensor(1.0))


def test_grad_with_grad_outputs_several_outputs_and_an_intermediate_input():
    x = Tensor([1.0, 2.0], requires_grad=True)
    hidden = x * 3
    y, z = hidden * hidden, hidden.sum()
    g_hidden, g_x = ag.grad([y, z], [hidden, x], grad_outputs=[np.array([1.0, -1.0]), None])
    # d/dhidden (hidden·[1, -1]·hidden + sum hidden) = 2·hidden·[1, -1] + 1
    np.testing.assert_array_equal(g_hidden.data, [7.0, -11.0])
    np.testing.assert_array_equal(g_x.data, 3 * g_hidden.data)


def test_grad_of_a_non_scalar_without_grad_outputs_says_so():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="shape \\(2,\\).*grad of shape \\(2,\\)"):
        ag.grad(x * 2, x)


def test_a_backward_that_leaves_tensors_under_create_graph_is_named():
    class ArrayOnly(ag.Function):
        def forward(self, x):
            return 2 * x

        def backward(self, grad):
            return np.full(grad.shape, 2.0)  # an array even when grad is a Tensor

    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="ArrayOnly.backward returned a ndarray .*create_graph"):
        ag.grad(ArrayOnly.apply(x).sum(), x, create_graph=True)


# ---------------------------------------------------------------------------
# grad(), .backward() and GradientTape give the same first derivatives, bit for bit


@given(shape=pst.shapes(min_dims=1, max_dims=2, max_side=4), seed=pst.seeds(), data=st.data())
def test_grad_backward_and_tape_agree_to_the_last_bit(shape, seed, data):
    x0, w0 = data.draw(values(shape)), data.draw(values(shape[-1:]))

    def f(x, w):
        # x is used four times and w three: the order in which their shares add matters
        h = (x * w).tanh()
        return (h * x + (x * x).sigmoid() * w).sum() + (h.exp() * w).mean() + x.max()

    x, w = Tensor(x0, requires_grad=True), Tensor(w0, requires_grad=True)
    by_grad = [g.data for g in ag.grad(f(x, w), [x, w])]
    f(x, w).backward()
    by_backward = [x.grad, w.grad]
    with GradientTape() as tape:
        target = f(x, w)
    by_tape = [g.data for g in tape.gradient(target, [x, w])]
    for a, b, c in zip(by_grad, by_backward, by_tape, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


# ---------------------------------------------------------------------------
# deep graphs: no recursion, so no depth limit


def test_a_ten_thousand_deep_graph_without_create_graph():
    x = Tensor(0.5, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    (g,) = ag.grad(y, x)
    assert g.item() == pytest.approx(1.0001**10_000)


def test_second_derivative_through_a_ten_thousand_deep_graph():
    # x multiplied by itself 10,000 times: d²/dx² xⁿ = n(n - 1) xⁿ⁻², exact at x = 1
    n = 10_000
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(n - 1):
        y = y * x
    (first,) = ag.grad(y, x, create_graph=True)
    (second,) = ag.grad(first, x)
    assert first.item() == n
    assert second.item() == n * (n - 1)


# ---------------------------------------------------------------------------
# PyTorch's second derivatives, to 1e-8 in float64


def same_in_both(op):
    """An operation written with operators and methods that pancake and torch share."""
    return op, lambda torch: op


RELU_DOMAIN = (lambda shape: values(shape, kink_margin=0.1),)
TORCH_PAIRS = {
    # name: (pancake op, torch -> torch op, domain of each input, input shapes)
    "+": (*same_in_both(lambda a, b: a + b), (values, values), [(3, 1), (4,)]),
    "-": (*same_in_both(lambda a, b: a - b), (values, values), [(3, 1), (4,)]),
    "*": (*same_in_both(lambda a, b: a * b), (values, values), [(3, 1), (4,)]),
    "/": (*same_in_both(lambda a, b: a / b), (values, away_from_zero), [(3, 1), (4,)]),
    "**": (*same_in_both(lambda a, b: a**b), (positive, values), [(3, 1), (4,)]),
    "@": (*same_in_both(lambda a, b: a @ b), (values, values), [(2, 3, 4), (4, 2)]),
    "exp": (*same_in_both(lambda x: x.exp()), (values,), [(3, 4)]),
    "log": (*same_in_both(lambda x: x.log()), (positive,), [(3, 4)]),
    "tanh": (*same_in_both(lambda x: x.tanh()), (values,), [(3, 4)]),
    "sigmoid": (*same_in_both(lambda x: x.sigmoid()), (values,), [(3, 4)]),
    "sin, cos": (*same_in_both(lambda x: x.sin() * x.cos()), (values,), [(3, 4)]),
    "softplus": (
        ag.softplus,
        lambda torch: torch.nn.functional.softplus,
        (values,),
        [(3, 4)],
    ),
    "relu": (*same_in_both(lambda x: x.relu()), RELU_DOMAIN, [(3, 4)]),
    "x ** 3": (*same_in_both(lambda x: x**3), (values,), [(3, 4)]),
    "x ** 0.5": (*same_in_both(lambda x: x**0.5), (positive,), [(3, 4)]),
    "-x": (*same_in_both(lambda x: -x), (values,), [(3, 4)]),
    "sum, mean": (*same_in_both(lambda x: x.sum(0) * x.mean()), (values,), [(3, 4)]),
    "reshape, transpose, swapaxes": (
        *same_in_both(lambda x: x.reshape(4, 3).T.swapaxes(0, 1) * x.reshape(4, 3)),
        (values,),
        [(3, 4)],
    ),
    "max": (lambda x: x.max(axis=1), lambda torch: lambda x: x.amax(dim=1), (distinct,), [(3, 4)]),
    "elu": (ag.elu, lambda torch: torch.nn.functional.elu, RELU_DOMAIN, [(3, 4)]),
    "log_softmax": (
        ag.log_softmax,
        lambda torch: lambda x: torch.log_softmax(x, dim=-1),
        (values,),
        [(3, 4)],
    ),
    "index, concatenate, broadcast_to": (
        lambda x: ag.concatenate([x[np.array([0, 0, 2])], ag.broadcast_to(x[0], (2, 4))], 0),
        lambda torch: (
            lambda x: torch.cat([x[torch.tensor([0, 0, 2])], torch.broadcast_to(x[0], (2, 4))], 0)
        ),
        (values,),
        [(3, 4)],
    ),
}


def torch_hvp(torch, f, xs, vs):
    tensors = [torch.tensor(x, requires_grad=True) for x in xs]
    gradients = torch.autograd.grad(f(*tensors), tensors, create_graph=True)
    along_v = sum((g * torch.tensor(v)).sum() for g, v in zip(gradients, vs, strict=True))
    return [h.numpy() for h in torch.autograd.grad(along_v, tensors)]


@pytest.mark.parametrize("name", TORCH_PAIRS)
@settings(max_examples=10)  # a second reference: the gradient checks cover the inputs
@given(seed=pst.seeds(), data=st.data())
def test_hvp_matches_torch(name, seed, data):
    torch = pytest.importorskip("torch")
    ours, torch_version, domains, shapes = TORCH_PAIRS[name]
    theirs = torch_version(torch)
    xs = [data.draw(domain(shape)) for domain, shape in zip(domains, shapes, strict=True)]
    rng = np.random.default_rng(seed)
    vs = [rng.standard_normal(x.shape) for x in xs]

    def square_weighted(op, as_tensor):
        def f(*inputs):
            y = op(*inputs)
            weights = np.random.default_rng(seed + 1).standard_normal(tuple(y.shape))
            return (y * y * as_tensor(weights)).sum() + (y * as_tensor(weights)).sum()

        return f

    mine = hessian_vector_product(square_weighted(ours, Tensor), xs, vs)
    reference = torch_hvp(torch, square_weighted(theirs, torch.tensor), xs, vs)
    for a, b in zip(mine, reference, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_hvp_of_an_mlp_loss_with_respect_to_its_weights_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    model = ag.MLP([6, 8, 5, 3], activation=ag.tanh, rng=1)
    x, labels = rng.standard_normal((10, 6)), rng.integers(0, 3, size=10)
    params = model.parameters()
    vs = [rng.standard_normal(p.shape) for p in params]

    gradients = ag.grad(ag.cross_entropy(model(x), labels), params, create_graph=True)
    along_v = sum((g * v).sum() for g, v in zip(gradients, vs, strict=True))
    mine = [h.data for h in ag.grad(along_v, params)]

    weights = [torch.tensor(p.data, requires_grad=True) for p in params]

    def torch_loss():
        h = torch.tensor(x)
        for index in range(0, len(weights), 2):
            h = h @ weights[index] + weights[index + 1]
            if index + 2 < len(weights):
                h = torch.tanh(h)
        return torch.nn.functional.cross_entropy(h, torch.tensor(labels))

    torch_gradients = torch.autograd.grad(torch_loss(), weights, create_graph=True)
    torch_along_v = sum(
        (g * torch.tensor(v)).sum() for g, v in zip(torch_gradients, vs, strict=True)
    )
    reference = [h.numpy() for h in torch.autograd.grad(torch_along_v, weights)]
    for a, b in zip(mine, reference, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
