"""pancake.autograd: every operation against central differences, the engine, layers, training."""

from __future__ import annotations

import numpy as np
import pytest
from answer_cells import answer_cell
from hypothesis import given, settings
from hypothesis import strategies as st

import pancake.autograd as ag
from pancake import nn
from pancake.autograd import Function, Tensor, no_grad, unbroadcast
from pancake.datasets import load_digits
from pancake.optim import SGD
from pancake.testing import GradientCheckError, check_tensor_gradients
from pancake.testing import strategies as pst

pytestmark = pytest.mark.ex10

MODEST = settings(max_examples=20, deadline=None)

# ---------------------------------------------------------------------------
# strategies: inputs kept where each function is smooth and well conditioned


MODERATE_SCALES = st.sampled_from([0.3, 1.0, 3.0])


def values(shape, scale=MODERATE_SCALES, kink_margin=None):
    """Normal arrays of ``shape``; with ``kink_margin``, no entry near 0."""
    return pst.arrays(shape, scale=scale, kink_margin=kink_margin)


def away_from_zero(shape):
    """Arrays whose entries have magnitude at least 0.5 (safe denominators)."""
    return values(shape, scale=1.0).map(lambda x: np.where(x < 0, -1.0, 1.0) * (0.5 + np.abs(x)))


def positive(shape):
    """Arrays with entries in [0.5, ~4) (safe for log and fractional powers)."""
    return values(shape, scale=1.0).map(lambda x: 0.5 + np.abs(x))


@st.composite
def distinct(draw, shape):
    """Arrays whose entries differ pairwise by at least 0.5: max never ties, even at ±eps."""
    rng = np.random.default_rng(draw(pst.seeds()))
    size = int(np.prod(shape))
    return (rng.permutation(size) + rng.uniform(-0.25, 0.25, size)).reshape(shape)


# ---------------------------------------------------------------------------
# unbroadcast


@pytest.mark.parametrize(
    ("grad_shape", "shape", "expected"),
    [
        ((3, 4), (3, 4), np.ones((3, 4))),
        ((3, 4), (4,), np.full((4,), 3.0)),
        ((3, 4), (3, 1), np.full((3, 1), 4.0)),
        ((2, 3, 4), (), np.array(24.0)),
        ((2, 3, 4), (1, 4), np.full((1, 4), 6.0)),
    ],
)
def test_unbroadcast_sums_the_broadcast_axes(grad_shape, shape, expected):
    np.testing.assert_array_equal(unbroadcast(np.ones(grad_shape), shape), expected)


@MODEST
@given(shapes=pst.broadcastable_shapes(), data=st.data())
def test_unbroadcast_keeps_the_total_and_gives_the_input_shape(shapes, data):
    target_shape = np.broadcast_shapes(*shapes)
    grad = data.draw(values(target_shape))
    reduced = unbroadcast(grad, shapes[0])
    assert reduced.shape == shapes[0]
    np.testing.assert_allclose(reduced.sum(), grad.sum(), atol=1e-9)


# ---------------------------------------------------------------------------
# every operation against central differences

BINARY = {
    "+": (lambda a, b: a + b, values),
    "-": (lambda a, b: a - b, values),
    "*": (lambda a, b: a * b, values),
    "/": (lambda a, b: a / b, away_from_zero),
    "** (tensor exponent)": (lambda a, b: a**b, positive),
}


@pytest.mark.parametrize("name", BINARY)
@MODEST
@given(shapes=pst.broadcastable_shapes(), data=st.data())
def test_binary_operations_with_broadcasting(name, shapes, data):
    op, second_operand = BINARY[name]
    first_operand = positive if name.startswith("**") else values
    a = data.draw(first_operand(shapes[0]))
    b = data.draw(second_operand(shapes[1]))
    assert check_tensor_gradients(op, a, b)


@pytest.mark.parametrize(
    ("a_shape", "b_shape"), [((3, 1), (4,)), ((2, 3, 4), (4,)), ((), (2, 3)), ((2, 3), ())]
)
@pytest.mark.parametrize("name", ["+", "-", "*", "/"])
def test_binary_operations_on_typical_broadcasts(name, a_shape, b_shape):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(a_shape)
    b = 1.0 + rng.uniform(size=b_shape)
    assert check_tensor_gradients(BINARY[name][0], a, b)


REFLECTED = {
    "number + x": lambda x: 2.5 + x,
    "number - x": lambda x: 2.5 - x,
    "number * x": lambda x: 2.5 * x,
    "number / x": lambda x: 2.5 / x,
    "number ** x": lambda x: 2.5**x,
    "array + x": lambda x: np.arange(4.0) + x,
    "array - x": lambda x: np.arange(4.0) - x,
    "array * x": lambda x: np.arange(4.0) * x,
    "array / x": lambda x: np.arange(4.0) / x,
    "array @ x": lambda x: np.arange(12.0).reshape(3, 4) @ x,
    "x @ array": lambda x: x.reshape(2, 2) @ np.arange(4.0).reshape(2, 2),
}


@pytest.mark.parametrize("name", REFLECTED)
@MODEST
@given(x=away_from_zero((4,)))
def test_operations_with_plain_numbers_and_arrays(name, x):
    assert check_tensor_gradients(REFLECTED[name], x)


UNARY = {
    "neg": (lambda x: -x, values),
    "exp": (lambda x: x.exp(), values),
    "log": (lambda x: x.log(), positive),
    "tanh": (lambda x: x.tanh(), values),
    "sigmoid": (lambda x: x.sigmoid(), values),
    "sin": (lambda x: x.sin(), values),
    "cos": (lambda x: x.cos(), values),
    "softplus": (ag.softplus, values),
    "relu": (lambda x: x.relu(), lambda shape: values(shape, kink_margin=0.1)),
    "elu": (ag.elu, lambda shape: values(shape, kink_margin=0.1)),
    "log_softmax": (ag.log_softmax, values),
    "x ** 2": (lambda x: x**2, values),
    "x ** 3": (lambda x: x**3, values),
    "x ** -1": (lambda x: x**-1, away_from_zero),
    "x ** 0.5": (lambda x: x**0.5, positive),
    "sum": (lambda x: x.sum(), values),
    "mean": (lambda x: x.mean(), values),
    "max": (lambda x: x.max(), distinct),
    "reshape to one axis": (lambda x: x.reshape(-1), values),
    "transpose": (lambda x: x.T, values),
}


@pytest.mark.parametrize("name", UNARY)
@MODEST
@given(shape=pst.shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_unary_operations(name, shape, data):
    op, domain = UNARY[name]
    assert check_tensor_gradients(op, data.draw(domain(shape)))


@st.composite
def shape_and_axis(draw):
    """A shape, and an axis argument for it: None, an int (maybe negative) or a tuple."""
    shape = draw(pst.shapes(min_dims=1, max_dims=3, max_side=4))
    ndim = len(shape)
    single = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
    axis = draw(st.none() | single | several.map(tuple))
    return shape, axis


@pytest.mark.parametrize("reduction", ["sum", "mean", "max"])
@MODEST
@given(shape_axis=shape_and_axis(), keepdims=st.booleans(), data=st.data())
def test_reductions_over_any_axis(reduction, shape_axis, keepdims, data):
    shape, axis = shape_axis
    x = data.draw(distinct(shape) if reduction == "max" else values(shape))
    assert check_tensor_gradients(lambda t: getattr(t, reduction)(axis=axis, keepdims=keepdims), x)


@MODEST
@given(shape=pst.shapes(min_dims=1, max_dims=4, max_side=3), data=st.data())
def test_transpose_with_any_permutation(shape, data):
    axes = data.draw(st.permutations(range(len(shape))))
    x = data.draw(values(shape))
    assert check_tensor_gradients(lambda t: t.transpose(*axes), x)
    assert ag.Tensor(x).transpose(*axes).shape == np.transpose(x, axes).shape


@pytest.mark.parametrize(
    "index",
    [1, -1, slice(1, 3), (slice(None), 0), np.array([0, 2, 2, 1]), (np.array([0, 0]), 1)],
    ids=["int", "negative int", "slice", "tuple", "int array with repeats", "array and int"],
)
@MODEST
@given(x=values((3, 4)))
def test_indexing(index, x):
    assert check_tensor_gradients(lambda t: t[index], x)


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [
        ((3, 4), (4, 2)),
        ((2, 3, 4), (4, 2)),
        ((2, 1, 3, 4), (5, 4, 2)),
        ((4,), (4, 2)),
        ((3, 4), (4,)),
        ((4,), (4,)),
        ((4,), (2, 4, 3)),
    ],
)
@MODEST
@given(data=st.data())
def test_matmul(a_shape, b_shape, data):
    a, b = data.draw(values(a_shape)), data.draw(values(b_shape))
    assert check_tensor_gradients(lambda s, t: s @ t, a, b)
    np.testing.assert_allclose((Tensor(a) @ Tensor(b)).data, a @ b)


@MODEST
@given(sizes=st.lists(st.integers(1, 3), min_size=1, max_size=3), data=st.data())
def test_concatenate(sizes, data):
    arrays = [data.draw(values((2, size))) for size in sizes]
    assert check_tensor_gradients(lambda *ts: ag.concatenate(ts, axis=1), *arrays)


@MODEST
@given(batch=pst.batch_sizes(), classes=st.integers(2, 5), data=st.data())
def test_cross_entropy(batch, classes, data):
    logits = data.draw(values((batch, classes), scale=pst.scales()))
    labels = data.draw(pst.labels(batch, classes))
    assert check_tensor_gradients(lambda t: ag.cross_entropy(t, labels), logits)
    expected = nn.CrossEntropyLoss()(logits, labels)
    np.testing.assert_allclose(ag.cross_entropy(Tensor(logits), labels).item(), expected)


def test_cross_entropy_is_finite_for_huge_logits():
    logits = Tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], requires_grad=True)
    loss = ag.cross_entropy(logits, np.array([0, 0]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(logits.grad))


def test_max_splits_the_gradient_among_ties():
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_gradcheck_catches_a_wrong_backward():
    class WrongSquare(Function):
        def forward(self, x):
            self.save_for_backward(x)
            return x * x

        def backward(self, grad):
            (x,) = self.saved_tensors
            return grad * x  # missing the factor 2

    with pytest.raises(GradientCheckError, match="input 0"):
        check_tensor_gradients(WrongSquare.apply, np.array([1.0, -2.0, 3.0]))


# ---------------------------------------------------------------------------
# the engine: accumulation, deep graphs, control flow, no_grad, detach


def test_gradients_accumulate_across_backward_calls():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])


def test_a_tensor_used_twice_gets_both_gradients():
    x = Tensor(3.0, requires_grad=True)
    (x * x + x).backward()
    assert x.grad == pytest.approx(7.0)


def test_only_leaves_get_a_grad_and_constants_none():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([5.0, 6.0])
    hidden = x * c
    hidden.sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 6.0])
    assert hidden.grad is None and c.grad is None


def test_a_graph_ten_thousand_operations_deep():
    x = Tensor(0.5, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.backward()
    assert x.grad == pytest.approx(1.0001**10_000)


def test_python_control_flow_records_what_ran():
    def f(x: Tensor) -> Tensor:
        total = x
        for step in range(5):
            total = total * x if total.sum().item() < 10 else total + step
        return total.sum()

    assert check_tensor_gradients(f, np.array([1.1, 1.3]))
    assert check_tensor_gradients(f, np.array([-0.7, 0.4]))


def test_no_grad_records_nothing_and_restores_itself():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = x * 2
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    with pytest.raises(RuntimeError), no_grad():
        raise RuntimeError
    assert ag.is_grad_enabled()


def test_detach_stops_the_gradient():
    x = Tensor(2.0, requires_grad=True)
    (x * x.detach()).backward()
    assert x.grad == pytest.approx(2.0)


def test_backward_with_an_explicit_gradient():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * 2).backward(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, -2.0])


# ---------------------------------------------------------------------------
# dtypes and plain arrays


def test_integers_become_float64_and_float32_stays_float32():
    assert Tensor([1, 2]).dtype == np.float64
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = (x * 2.0 + 1 - x / 3) ** 2
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_functions_on_plain_arrays_return_plain_arrays():
    x = np.array([-1.0, 0.5])
    np.testing.assert_array_equal(ag.relu(x), [0.0, 0.5])
    assert isinstance(ag.tanh(x), np.ndarray)
    assert isinstance(ag.matmul(np.ones((2, 3)), np.ones(3)), np.ndarray)


# ---------------------------------------------------------------------------
# errors that name the shapes


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Tensor(np.ones((3, 4))) @ Tensor(np.ones((5, 2))),
            r"Tensor @: shapes \(3, 4\) and \(5, 2\) are not aligned",
        ),
        (
            lambda: Tensor(np.ones(3)) + Tensor(np.ones(4)),
            r"Tensor \+: shapes \(3,\) and \(4,\) cannot be broadcast",
        ),
        (
            lambda: np.ones((2, 3)) * Tensor(np.ones(4)),
            r"Tensor \*: shapes \(2, 3\) and \(4,\) cannot be broadcast",
        ),
        (lambda: Tensor(2.0) @ Tensor(np.ones(2)), r"Tensor @: shapes \(\) and \(2,\)"),
    ],
)
def test_incompatible_shapes_raise_naming_both(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_backward_on_a_non_scalar_needs_a_gradient():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*grad of shape \(2, 3\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"grad has shape \(3,\)"):
        y.backward(np.ones(3))


def test_backward_on_a_tensor_without_gradient_says_why():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        (Tensor(1.0) * 2).backward()


def test_a_backward_returning_the_wrong_shape_is_named():
    class ForgetsToUnbroadcast(Function):
        def forward(self, a, b):
            self.save_for_backward(a, b)
            return a * b

        def backward(self, grad):
            a, b = self.saved_tensors
            return grad * b, grad * a

    a = Tensor(np.ones((3, 4)), requires_grad=True)
    b = Tensor(np.ones(4), requires_grad=True)
    with pytest.raises(ValueError, match=r"ForgetsToUnbroadcast.backward.*\(3, 4\).*\(4,\)"):
        ForgetsToUnbroadcast.apply(a, b).sum().backward()


def test_linear_names_the_expected_input_size():
    with pytest.raises(ValueError, match=r"last axis is 3, got shape \(4, 5\)"):
        ag.Linear(3, 2, rng=0)(Tensor(np.ones((4, 5))))


# ---------------------------------------------------------------------------
# layers: the same gradients as pancake.nn, and the same training


def twin_models(sizes, seed, dtype=np.float64):
    """An autograd MLP and a pancake.nn Sequential with the same weights."""
    tensor_model = ag.MLP(sizes, rng=seed, dtype=dtype)
    modules = []
    for n_in, n_out in zip(sizes, sizes[1:], strict=False):
        modules += [nn.Linear(n_in, n_out, rng=0, dtype=dtype), nn.ReLU()]
    layer_model = nn.Sequential(*modules[:-1])
    layer_params = list(layer_model.parameters())
    for tensor_param, layer_param in zip(tensor_model.parameters(), layer_params, strict=True):
        layer_param.data[...] = tensor_param.data
    return tensor_model, layer_model


def test_linear_draws_the_same_weights_as_pancake_nn():
    tensor_layer, layer = ag.Linear(5, 3, rng=7), nn.Linear(5, 3, rng=7)
    np.testing.assert_array_equal(tensor_layer.weight.data, layer.weight.data)
    np.testing.assert_array_equal(tensor_layer.bias.data, layer.bias.data)


@MODEST
@given(
    batch=pst.batch_sizes(),
    sizes=st.tuples(pst.feature_sizes(), pst.feature_sizes(), st.integers(2, 5)),
    seed=pst.seeds(),
)
def test_mlp_gradients_equal_the_layer_level_ones(batch, sizes, seed):
    tensor_model, layer_model = twin_models(sizes, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0]))
    labels = rng.integers(0, sizes[-1], size=batch)

    loss = ag.cross_entropy(tensor_model(Tensor(x)), labels)
    loss.backward()
    loss_fn = nn.CrossEntropyLoss()
    layer_loss = loss_fn(layer_model(x), labels)
    layer_model.backward(loss_fn.backward())

    assert loss.item() == pytest.approx(layer_loss, rel=1e-12)
    for tensor_param, layer_param in zip(
        tensor_model.parameters(), layer_model.parameters(), strict=True
    ):
        np.testing.assert_allclose(tensor_param.grad, layer_param.grad, rtol=1e-10, atol=1e-12)


def test_zero_grad_sets_gradients_to_none():
    model = ag.MLP([3, 4, 2], rng=0)
    ag.cross_entropy(model(Tensor(np.ones((2, 3)))), np.array([0, 1])).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def load_digits_split(seed: int = 0):
    """The 8x8 digits, pixels in [0, 1], split 1400 / 397 at random."""
    pytest.importorskip("sklearn")
    x, y = load_digits()
    order = np.random.default_rng(seed).permutation(len(y))
    x, y = x[order], y[order]
    return (x[:1400], y[:1400]), (x[1400:], y[1400:])


def train_tensor_model(model, train, epochs, batch_size, seed):
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = train
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch_size):
            batch = order[start : start + batch_size]
            model.zero_grad()
            ag.cross_entropy(model(Tensor(x[batch])), y[batch]).backward()
            optimizer.step()


def train_layer_model(model, train, epochs, batch_size, seed):
    optimizer = SGD(list(model.parameters()), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x, y = train
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch_size):
            batch = order[start : start + batch_size]
            optimizer.zero_grad()
            loss_fn(model(x[batch]), y[batch])
            model.backward(loss_fn.backward())
            optimizer.step()


@pytest.mark.slow  # trains two models: kept out of the fast loop
def test_tensor_mlp_trains_on_digits_like_the_layer_level_one():
    train, test = load_digits_split()
    tensor_model, layer_model = twin_models([64, 64, 10], seed=0)
    train_tensor_model(tensor_model, train, epochs=10, batch_size=32, seed=1)
    train_layer_model(layer_model, train, epochs=10, batch_size=32, seed=1)

    x_test, y_test = test
    with no_grad():
        tensor_accuracy = np.mean(tensor_model(Tensor(x_test)).data.argmax(axis=1) == y_test)
    layer_accuracy = np.mean(layer_model(x_test).argmax(axis=1) == y_test)
    assert tensor_accuracy >= 0.95
    assert layer_accuracy >= 0.95
    assert abs(tensor_accuracy - layer_accuracy) <= 0.01


# ---------------------------------------------------------------------------
# the same gradients as PyTorch


def test_gradients_match_torch_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 5))
    b, index = rng.standard_normal(5), np.array([0, 2, 2, 3])
    ties = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])

    def compute(lib_log_softmax, lib_amax, tensors):
        x_, w_, b_, t_ = tensors
        h = (x_ @ w_ + b_).tanh()
        return (
            (lib_log_softmax(h) * h.exp()).sum()
            + lib_amax(x_).sum()
            + (x_[index] / (1 + x_[index] ** 2)).sum()
            + lib_amax(t_).sum()
        )

    ours = [Tensor(a, requires_grad=True) for a in (x, w, b, ties)]
    compute(ag.log_softmax, lambda t: t.max(axis=1), ours).backward()
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b, ties)]
    compute(
        lambda t: torch.log_softmax(t, dim=-1), lambda t: torch.amax(t, dim=1), theirs
    ).backward()
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------
# the exercise contract: each marked object runs on its own in a notebook cell

ANSWER_IMPORTS = (
    "import numpy as np\n"
    "from pancake.autograd import Axis, Function, Shape, keepdims_shape, unbroadcast\n"
)


def test_marked_operations_work_as_standalone_answer_cells():
    rng = np.random.default_rng(0)
    a, b, m = rng.standard_normal((3, 1)), rng.standard_normal(4), rng.standard_normal((4, 2))
    mul, matmul, sum_ = (answer_cell(f, ANSWER_IMPORTS) for f in (ag.Mul, ag.Matmul, ag.Sum))
    exp, tanh = answer_cell(ag.Exp, ANSWER_IMPORTS), answer_cell(ag.Tanh, ANSWER_IMPORTS)
    assert check_tensor_gradients(mul.apply, a, b)
    assert check_tensor_gradients(
        lambda s, t: matmul.apply(s, t), rng.standard_normal((2, 3, 4)), m
    )
    assert check_tensor_gradients(lambda t: sum_.apply(t, axis=0), m)
    assert check_tensor_gradients(lambda t: tanh.apply(exp.apply(t)), b)
    np.testing.assert_array_equal(
        answer_cell(unbroadcast, ANSWER_IMPORTS)(np.ones((2, 3)), (3,)), [2, 2, 2]
    )


@pytest.mark.parametrize("obj", [ag.Mul, ag.Matmul, ag.Sum, ag.Exp, ag.Tanh])
def test_released_operations_raise_not_implemented_in_backward_only(obj):
    released = answer_cell(obj, ANSWER_IMPORTS, released=True)
    arrays = [np.ones((2, 2)), np.ones((2, 2))][: 2 if obj in (ag.Mul, ag.Matmul) else 1]
    output = released.apply(*(Tensor(x, requires_grad=True) for x in arrays))
    with pytest.raises(NotImplementedError):
        output.sum().backward()


def test_released_unbroadcast_raises_not_implemented():
    with pytest.raises(NotImplementedError):
        answer_cell(unbroadcast, ANSWER_IMPORTS, released=True)(np.ones(2), (2,))
