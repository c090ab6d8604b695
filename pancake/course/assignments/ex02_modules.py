"""Exercise 2: the first modules, a forward and a backward pass each: Square and Mul."""

from pancake.course.prelude import check_gradients, check_values, given, graded, np, pst, st
from pancake.course.spec import Assignment, GradedTest, Part
from pancake.nn.basic import Mul, Square
from pancake.testing.forward import elementwise_forward_hint, with_hint


def stale_input_hint(make, derivative) -> str:
    """When the input gradient of a module made by ``make()`` does not follow the input of
    its latest forward call, on generic inputs: fresh modules run forward(a), forward(b),
    backward(g) and forward(a), forward(c), backward(g) return the same, though
    ``derivative`` (the local derivative, of x) differs at b and c, and the result is not
    one constant times g (that is a formula without x: the check's own hint names it).
    Then what it used is named: a's, or a value kept from an earlier call. Else ''."""
    rng = np.random.default_rng(7)
    a, b, c, g = (rng.standard_normal((3, 4)) + 0.5 for _ in range(4))

    def input_gradient(latest):
        module = make()
        module(a.copy())
        module(latest.copy())
        return np.asarray(module.backward(g.copy()), dtype=np.float64)

    try:
        with_b, with_c = input_gradient(b), input_gradient(c)
    except Exception:  # a crash says what is wrong itself
        return ""
    right = derivative(b) * g
    if (
        with_b.shape != g.shape
        or not np.allclose(with_b, with_c, rtol=1e-9, atol=1e-12)
        or np.allclose(with_b, right, rtol=1e-6)
        or np.allclose(derivative(b), derivative(c))
    ):
        return ""
    factor = with_b / g
    if np.allclose(factor, factor.flat[0], rtol=1e-9):
        return ""
    used = (
        "the input of the first forward call"
        if np.allclose(with_b, derivative(a) * g, rtol=1e-9)
        else "a value kept from an earlier call"
    )
    return (
        f"backward uses {used}, not the input of the latest one: after forward(a), "
        "forward(b), backward gives the same as after forward(a), forward(c). Save the input "
        "in every forward, self.save_for_backward(x), and read it back with (x,) = "
        "self.saved_tensors (a list or an attribute set once, a class attribute above all, "
        "keeps an old x)"
    )


def check_module_gradients(module, x, make, derivative):
    """check_gradients of ``module`` at ``x``, its hint replaced by ``stale_input_hint``'s
    when that one names the mistake."""
    try:
        report = check_gradients(module, x)
    except AssertionError as error:
        hint = stale_input_hint(make, derivative)
        if hint and hasattr(error, "with_hint"):
            raise error.with_hint(hint) from None
        raise
    check_follows_the_latest_forward(make, derivative)
    return report


def check_follows_the_latest_forward(make, derivative):
    """A module used twice (as in training, one batch after the other) differentiates at
    the input of its latest forward call: after forward(a), forward(b), backward(g) is
    derivative(b)·g. (Checked first with one call at b, a generic input.)"""
    rng = np.random.default_rng(8)
    a, b, g = (rng.standard_normal((3, 4)) + 0.5 for _ in range(3))
    # First one call on b: a mistake that a shrunk example hid (|x| = x for x >= 0, a
    # matrix product of 1-entry arrays) fails here, with the gradient check's own hint.
    check_gradients(make(), b)
    module = make()
    module(a.copy())
    module(b.copy())
    got = module.backward(g.copy())
    if np.shape(got) == g.shape and np.allclose(got, derivative(b) * g, rtol=1e-6):
        return
    hint = stale_input_hint(make, derivative)
    raise AssertionError(
        f"{module!r} called on a, then on b (arrays of shape {a.shape}), then backward(g): "
        "dL/dx is not f'(b)·g, the derivative at the latest input"
        + (f"\nHint: {hint}" if hint else "")
    )


def visible_check_square():
    """The visible check under the `Square` answer."""
    x = np.array([[1.0, -2.0, 0.5], [3.0, 0.1, -1.5]])
    print(Square()(x))
    print(check_module_gradients(Square(), x, Square, lambda x: 2 * x))


def check_square_output(x):
    """Square()(x) is x²; a failure names how it differs (on generic points)."""
    try:
        check_values("Square()(x)", Square()(x), x * x, formula="x²")
    except AssertionError as error:
        hint = elementwise_forward_hint(Square(), lambda x: x * x, "x²")
        raise with_hint(error, hint) from None


@graded
@given(x=pst.arrays(pst.shapes(), scale=pst.scales()))
def test_square_forward(x):
    """the output is x² for arrays of random shapes"""
    check_square_output(x)


@graded
@given(x=pst.arrays(pst.shapes(), scale=pst.scales()))
def test_square_gradients(x):
    """the output, then check_gradients on arrays of random shapes and scales"""
    check_values("Square()(x)", Square()(x), x * x, formula="x²")
    check_module_gradients(Square(), x, Square, lambda x: 2 * x)


SQUARE = Part(
    target="pancake.nn.basic.Square",
    instructions="""
        A module computes its output in `forward` and, in `backward`, turns the gradient
        of the loss with respect to its output (`grad_output`, $\\partial L / \\partial y$)
        into the gradient with respect to its input, by the chain rule:
        $\\partial L / \\partial x = \\partial L / \\partial y \\cdot \\partial y / \\partial x$.

        Complete `Square`, which computes $y = x^2$ element-wise:

        - `forward(x)`: keep what `backward` will need with `self.save_for_backward(...)`,
          then return $x^2$;
        - `backward(grad_output)`: get it back with `(x,) = self.saved_tensors` and
          return $\\partial L / \\partial x$, an array of the shape of `x`.
    """,
    check=visible_check_square,
    tests=(
        GradedTest(test_square_forward, points=1),
        GradedTest(test_square_gradients, points=2),
    ),
)


def visible_check_mul():
    """The visible check under the `Mul` answer."""
    x = np.array([[1.0, -2.0, 0.5], [3.0, 0.1, -1.5]])
    print(Mul(3.0)(x))
    print(check_module_gradients(Mul(3.0), x, lambda: Mul(1.7), lambda x: np.full_like(x, 1.7)))


def check_mul_output(x, k):
    """Mul(k)(x) is k·x; a failure names how it differs (on generic points, k = 1.7)."""
    try:
        check_values("Mul(k)(x)", Mul(k)(x), k * x, formula="k·x")
    except AssertionError as error:
        hint = elementwise_forward_hint(Mul(1.7), lambda x: 1.7 * x, "k·x (k = 1.7 here)")
        raise with_hint(error, hint) from None


@graded
@given(x=pst.arrays(pst.shapes(), scale=pst.scales()), k=st.floats(-3, 3))
def test_mul_forward(x, k):
    """the output is k·x for random k and arrays of random shapes"""
    check_mul_output(x, k)


@graded
@given(x=pst.arrays(pst.shapes(), scale=pst.scales()), k=st.floats(-3, 3))
def test_mul_gradients(x, k):
    """the output, then check_gradients (input, k, accumulation) for random k and arrays"""
    check_values("Mul(k)(x)", Mul(k)(x), k * x, formula="k·x")
    check_module_gradients(Mul(k), x, lambda: Mul(1.7), lambda x: np.full_like(x, 1.7))


MUL = Part(
    target="pancake.nn.basic.Mul",
    instructions="""
        `Mul(k)` computes $y = k \\cdot x$ where `k` is a **parameter**: a `Parameter` of
        shape `()` whose value is `self.k.data` and whose gradient lives in `self.k.grad`.
        Besides returning $\\partial L / \\partial x$, its `backward` must add
        $\\partial L / \\partial k$ to `self.k.grad`.

        - $\\partial L / \\partial k = \\sum_i \\frac{\\partial L}{\\partial y_i} x_i$: the one
          number $k$ touches every entry of $x$, so every entry contributes to its gradient;
        - **add** it (`+=`), don't assign it: when a parameter is used several times
          (several batches, several places in a model), its gradients add up.
    """,
    check=visible_check_mul,
    tests=(
        GradedTest(test_mul_forward, points=1),
        GradedTest(test_mul_gradients, points=3),
    ),
)

ASSIGNMENT = Assignment(
    number=2,
    slug="modules",
    title="Modules: forward and backward",
    introduction="""
        This exercise goes with chapter 2. A pancake module is a function with a memory:
        `forward` computes and remembers what `backward` will need; `backward` applies the
        chain rule. You will write the two modules whose composition is chapter 1's
        $E = (k \\cdot v)^2$: `Square` (no parameter) and `Mul` (one trainable parameter).
        `pancake.testing.check_gradients` compares your `backward` with central
        differences and tells you which gradient is off, and how.
    """,
    parts=(SQUARE, MUL),
)
