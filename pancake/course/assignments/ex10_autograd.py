"""Exercise 10: the backward passes of autograd's operations, and unbroadcast."""

from pancake.autograd.functions import Exp, Matmul, Mul, Sum, Tanh, unbroadcast
from pancake.course.prelude import given, graded, np, pst, st
from pancake.course.spec import Assignment, GradedTest, Part, clean
from pancake.testing import check_function_gradients, check_unbroadcast

# Two entries or more: on one, any wrong derivative looks like a scale factor.
SEVERAL_ENTRIES = pst.shapes(max_dims=3, max_side=4).filter(lambda shape: np.prod(shape) > 1)

FUNCTION_CONTRACT = clean(
    """
    From here on you write the `backward` of `Function`s, the operations that Tensors
    record. `forward` (given) computes the output from the input arrays and saves what
    `backward` needs with `self.save_for_backward(...)`. `backward(grad)` receives
    `grad` $= \\bar y = \\partial L / \\partial y$, of the output's shape, and returns
    $\\partial L / \\partial x$ for every input $x$, each of that input's shape: one array
    for one input, a tuple `(grad_a, grad_b)` for two. Compute new arrays (`grad * ...`)
    rather than changing `grad` in place (`grad *= ...`): the engine may pass the same
    array on to other operations. `check_function_gradients` compares your `backward`
    with central differences of `forward`, for every input.
    """
)


def visible_check_unbroadcast():
    """The visible check under the `unbroadcast` answer."""
    grad = np.arange(24.0).reshape(2, 3, 4)
    print(unbroadcast(grad, (3, 1)))
    for shape in [(2, 3, 4), (3, 4), (3, 1), (1, 4), ()]:
        print(check_unbroadcast(unbroadcast, grad, shape))


@graded
@given(
    leading=pst.shapes(min_dims=1, max_dims=2, max_side=4),
    shape=pst.shapes(min_dims=0, max_dims=2, max_side=4),
    data=st.data(),
)
def test_unbroadcast_leading_axes(leading, shape, data):
    """check_unbroadcast when broadcasting only prepended axes: (*leading, *shape) -> shape"""
    grad = data.draw(pst.arrays(leading + shape, scale=pst.scales()))
    check_unbroadcast(unbroadcast, grad, shape)


@graded
@given(grad_shape=pst.shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_unbroadcast_stretched_axes(grad_shape, data):
    """check_unbroadcast when broadcasting only stretched axes of length 1"""
    stretched = data.draw(
        st.lists(st.booleans(), min_size=len(grad_shape), max_size=len(grad_shape))
    )
    shape = tuple(
        1 if stretch else size for stretch, size in zip(stretched, grad_shape, strict=True)
    )
    grad = data.draw(pst.arrays(grad_shape, scale=pst.scales()))
    check_unbroadcast(unbroadcast, grad, shape)


@graded
@given(shapes=pst.broadcastable_shapes(), data=st.data())
def test_unbroadcast_any_shapes(shapes, data):
    """check_unbroadcast for both of any two shapes that broadcast together, scalars included"""
    grad = data.draw(pst.arrays(np.broadcast_shapes(*shapes), scale=pst.scales()))
    for shape in shapes:
        check_unbroadcast(unbroadcast, grad, shape)


UNBROADCAST = Part(
    target="pancake.autograd.functions.unbroadcast",
    instructions="""
        NumPy's broadcasting lets `a * b` combine arrays of different shapes: it first
        prepends axes of length 1 to the shorter shape, then stretches every axis of length
        1 to the other operand's length. An `a` of shape `(3, 1)` that meets a `b` of shape
        `(2, 3, 4)` is used as if it had shape `(2, 3, 4)`: each of its entries is copied
        2 × 4 = 8 times. The gradients of repeated uses add up, so the gradient of an entry
        of `a` is the **sum** of the gradients of its 8 copies.

        `unbroadcast(grad, shape)` undoes broadcasting in the backward pass: `grad` has the
        broadcast shape, the result has `shape`.

        1. Sum `grad` over its leading axes, the `grad.ndim - len(shape)` ones that
           broadcasting prepended; that drops them.
        2. Then sum over every axis where `shape` has length 1 and `grad` does not, keeping
           it with length 1 (`keepdims=True`).

        With `grad` of shape `(2, 3, 4)`: `shape` `(3, 4)` sums over axis 0; `(3, 1)` over
        axis 0, then over the last axis, kept; `()` over every axis. Compute new arrays,
        leave `grad` as it is. Your `Mul` and `Matmul` (parts 2 and 3) use your `unbroadcast`.
    """,
    check=visible_check_unbroadcast,
    tests=(
        GradedTest(test_unbroadcast_leading_axes, points=1),
        GradedTest(test_unbroadcast_stretched_axes, points=1),
        GradedTest(test_unbroadcast_any_shapes, points=1),
    ),
)


def visible_check_mul():
    """The visible check under the `Mul` answer."""
    rng = np.random.default_rng(0)
    print(check_function_gradients(Mul, rng.standard_normal((2, 3)), rng.standard_normal((2, 3))))
    print(
        check_function_gradients(Mul, rng.standard_normal((3, 1)), rng.standard_normal(4))
    )  # -> (3, 4)


@graded
@given(shape=pst.shapes(min_dims=0, max_dims=3, max_side=4), data=st.data())
def test_mul_same_shape(shape, data):
    """check_function_gradients(Mul, a, b) for a and b of one random shape"""
    a, b = (data.draw(pst.arrays(shape, scale=pst.scales())) for _ in range(2))
    check_function_gradients(Mul, a, b)


@graded
@given(
    shapes=pst.broadcastable_shapes().filter(lambda shapes: shapes[0] != shapes[1]), data=st.data()
)
def test_mul_broadcasting(shapes, data):
    """check_function_gradients(Mul, a, b) for two different shapes that broadcast (this runs your unbroadcast)"""
    a, b = (data.draw(pst.arrays(shape, scale=pst.scales())) for shape in shapes)
    check_function_gradients(Mul, a, b)


MUL = Part(
    target="pancake.autograd.functions.Mul",
    instructions=FUNCTION_CONTRACT
    + "\n\n"
    + clean(
        """
        `Mul` computes $y = a \\odot b$, element-wise, broadcast: $\\bar a = \\bar y \\odot b$
        and $\\bar b = \\bar y \\odot a$. When `a` and `b` have different shapes, `grad * b`
        has the broadcast shape: sum it back to `a.shape` with your `unbroadcast` (and
        `grad * a` to `b.shape`). The first graded test multiplies arrays of one shape; the
        second broadcasts them, so it runs your `unbroadcast` too: if that test fails, check
        `unbroadcast` first.
        """
    ),
    check=visible_check_mul,
    tests=(
        GradedTest(test_mul_same_shape, points=1),
        GradedTest(test_mul_broadcasting, points=2),
    ),
)


def visible_check_matmul():
    """The visible check under the `Matmul` answer."""
    rng = np.random.default_rng(0)
    print(
        check_function_gradients(Matmul, rng.standard_normal((2, 3)), rng.standard_normal((3, 4)))
    )
    print(
        check_function_gradients(
            Matmul, rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))
        )
    )


@graded
@given(
    n=pst.feature_sizes(max_size=4),
    k=pst.feature_sizes(max_size=4),
    m=pst.feature_sizes(max_size=4),
    data=st.data(),
)
def test_matmul_matrices(n, k, m, data):
    """check_function_gradients(Matmul, a, b) for matrices of random sizes (n, k) and (k, m)"""
    a = data.draw(pst.arrays((n, k), scale=pst.scales()))
    b = data.draw(pst.arrays((k, m), scale=pst.scales()))
    check_function_gradients(Matmul, a, b)


@graded
@given(
    batch=pst.broadcastable_shapes(max_dims=2, max_side=3).filter(
        lambda shapes: shapes[0] != shapes[1]
    ),
    sizes=st.tuples(*[pst.feature_sizes(max_size=3)] * 3),
    data=st.data(),
)
def test_matmul_batch_axes(batch, sizes, data):
    """check_function_gradients(Matmul, a, b) with different batch axes that broadcast (this runs your unbroadcast)"""
    n, k, m = sizes
    a = data.draw(pst.arrays((*batch[0], n, k)))
    b = data.draw(pst.arrays((*batch[1], k, m)))
    check_function_gradients(Matmul, a, b)


MATMUL = Part(
    target="pancake.autograd.functions.Matmul",
    instructions="""
        `Matmul` computes $Y = AB$ for operands of two axes or more,
        `(*, n, k) @ (*, k, m) -> (*, n, m)`, where the leading (batch) axes `*` broadcast.
        Its backward pass is $\\bar A = \\bar Y B^\\top$ and $\\bar B = A^\\top \\bar Y$, with
        the transpose of the **last two axes** only (`np.swapaxes(b, -1, -2)`; `b.T` would
        reverse them all). The shapes tell you the order of the factors: $\\bar Y B^\\top$ is
        `(n, m) @ (m, k) -> (n, k)`, the shape of $A$. When batch axes were broadcast, sum
        each gradient back to its operand's shape with your `unbroadcast`, as in `Mul`.
        The first graded test multiplies matrices; the second, operands whose batch axes
        broadcast (it runs your `unbroadcast` too).
    """,
    check=visible_check_matmul,
    tests=(
        GradedTest(test_matmul_matrices, points=2),
        GradedTest(test_matmul_batch_axes, points=1),
    ),
)


def visible_check_sum():
    """The visible check under the `Sum` answer."""
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    print(check_function_gradients(Sum, x))
    print(check_function_gradients(Sum, x, options={"axis": 1}))
    print(check_function_gradients(Sum, x, options={"axis": (0, 2), "keepdims": True}))


@graded
@given(
    x=pst.arrays(pst.shapes(min_dims=0, max_dims=3, max_side=4), scale=pst.scales()),
    keepdims=st.booleans(),
)
def test_sum_all_axes(x, keepdims):
    """check_function_gradients(Sum, x) over every axis (axis=None), with and without keepdims"""
    check_function_gradients(Sum, x, options={"axis": None, "keepdims": keepdims})


@graded
@given(shape=pst.shapes(min_dims=1, max_dims=3, max_side=4), keepdims=st.booleans(), data=st.data())
def test_sum_axis(shape, keepdims, data):
    """check_function_gradients(Sum, x) over a random axis or tuple of axes, with and without keepdims"""
    x = data.draw(pst.arrays(shape, scale=pst.scales()))
    ndim = len(shape)
    axes = st.lists(st.integers(0, ndim - 1), min_size=1, unique=True).map(tuple)
    axis = data.draw(st.integers(-ndim, ndim - 1) | axes)
    check_function_gradients(Sum, x, options={"axis": axis, "keepdims": keepdims})


SUM = Part(
    target="pancake.autograd.functions.Sum",
    instructions="""
        `Sum(axis, keepdims)` sums `x` over `axis` (an int, a tuple of ints, or `None` for
        every axis) and drops those axes, unless `keepdims=True`. Each entry of `x` counts
        once in its sum, so $\\bar x$ is $\\bar y$ copied back along the summed axes:

        1. reshape `grad` so that the summed axes are back, with length 1:
           `keepdims_shape(self.input_shape, self.axis)` is that shape, whatever `keepdims`;
        2. broadcast it to `self.input_shape` (`np.broadcast_to`).

        Broadcasting is the backward pass of a sum, as a sum is the backward pass of
        broadcasting (`unbroadcast`).
    """,
    check=visible_check_sum,
    tests=(
        GradedTest(test_sum_all_axes, points=1),
        GradedTest(test_sum_axis, points=2),
    ),
)


def visible_check_exp():
    """The visible check under the `Exp` answer."""
    print(check_function_gradients(Exp, np.linspace(-3, 3, 7)))


@graded
@given(x=pst.arrays(SEVERAL_ENTRIES, scale=st.sampled_from([0.1, 1.0, 3.0])))
def test_exp_gradients(x):
    """check_function_gradients(Exp, x) for arrays of random shapes (two entries or more)"""
    check_function_gradients(Exp, x)


EXP = Part(
    target="pancake.autograd.functions.Exp",
    instructions="""
        $y = e^x$ is its own derivative: $\\bar x = \\bar y \\odot e^x = \\bar y \\odot y$.
        `forward` saved the output $y$, so nothing needs computing again.
    """,
    check=visible_check_exp,
    tests=(GradedTest(test_exp_gradients, points=1),),
)


def visible_check_tanh():
    """The visible check under the `Tanh` answer."""
    print(check_function_gradients(Tanh, np.linspace(-3, 3, 7)))

    from pancake import datasets
    from pancake.autograd import Tensor
    from pancake.optim import SGD

    images, labels = datasets.load_digits()
    one_hot = np.eye(10)[labels]
    rng = np.random.default_rng(0)
    W1 = Tensor(rng.standard_normal((64, 32)) / 8, requires_grad=True)
    W2 = Tensor(rng.standard_normal((32, 10)) / np.sqrt(32), requires_grad=True)
    optimizer = SGD([W1, W2], lr=1.0)
    for step in range(1, 201):
        scores = Exp.apply(Matmul.apply(Tanh.apply(Matmul.apply(images, W1)), W2))
        probabilities = scores / Sum.apply(scores, axis=1, keepdims=True)
        loss = -Sum.apply(Mul.apply(one_hot, probabilities.log())) / len(labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 0:
            accuracy = np.mean(probabilities.data.argmax(axis=1) == labels)
            print(f"step {step}: loss {loss.item():.3f}, training accuracy {accuracy:.3f}")


@graded
@given(x=pst.arrays(SEVERAL_ENTRIES, scale=pst.scales()))
def test_tanh_gradients(x):
    """check_function_gradients(Tanh, x) for arrays of random shapes (two entries or more) and scales"""
    check_function_gradients(Tanh, x)


TANH = Part(
    target="pancake.autograd.functions.Tanh",
    instructions="""
        $y = \\tanh x$ has the derivative $1 - \\tanh^2 x = 1 - y^2$:
        $\\bar x = \\bar y \\odot (1 - y^2)$, with the output $y$ that `forward` saved.

        Under the check, all your operations together train a small network on the 8×8
        digits: two products (`Matmul`), a `Tanh`, a softmax (`Exp` and `Sum`) and a
        cross-entropy (`Mul`). pancake records them and calls your backward passes.
    """,
    check=visible_check_tanh,
    tests=(GradedTest(test_tanh_gradients, points=1),),
)

ASSIGNMENT = Assignment(
    number=10,
    slug="autograd",
    title="Automatic differentiation: the backward passes of the operations",
    introduction="""
        This exercise goes with chapter 10. A define-by-run framework records each
        operation as it runs, and its backward pass calls each recorded operation's own
        small `backward`. You write those: first `unbroadcast`, which makes broadcasting
        differentiable, then the backward passes of `Mul`, `Matmul`, `Sum`, `Exp` and
        `Tanh`. The checks compare each with central differences, on shapes drawn by
        hypothesis, broadcasting included. Your `Mul` and `Matmul` call your `unbroadcast`;
        everything else (the `Tensor`, backpropagation, the other operations) is pancake's.
    """,
    parts=(UNBROADCAST, MUL, MATMUL, SUM, EXP, TANH),
)
