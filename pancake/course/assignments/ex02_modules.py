"""Exercise 2: the first modules, a forward and a backward pass each: Square and Mul."""

from pancake.course.prelude import check_gradients, check_values, given, graded, np, pst, st
from pancake.course.spec import Assignment, GradedTest, Part
from pancake.nn.basic import Mul, Square
from pancake.testing.forward import elementwise_forward_hint, with_hint


def visible_check_square():
    """The visible check under the `Square` answer."""
    x = np.array([[1.0, -2.0, 0.5], [3.0, 0.1, -1.5]])
    print(Square()(x))
    print(check_gradients(Square(), x))


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
    check_gradients(Square(), x)


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
    print(check_gradients(Mul(3.0), x))


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
    check_gradients(Mul(k), x)


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
