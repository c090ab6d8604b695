"""Exercise 4: element-wise activations (Sigmoid, ReLU, Tanh) and the cross-entropy loss."""

from pancake.course.prelude import check_gradients, check_values, given, graded, np, pst, st
from pancake.course.spec import Assignment, GradedTest, Part, clean
from pancake.nn.activations import ReLU, Sigmoid, Tanh
from pancake.nn.losses import CrossEntropyLoss
from pancake.testing.forward import (
    capped_log_hint,
    cross_entropy_forward_hint,
    elementwise_forward_hint,
    sign_slip_hint,
    with_hint,
)


def visible_check_sigmoid():
    """The visible check under the `Sigmoid` answer: its output and gradient report."""
    x = np.array([[-2.0, -0.5, 0.3], [1.0, 2.5, -4.0]])
    print(Sigmoid()(x))
    print(check_gradients(Sigmoid(), x))


def stable_sigmoid(x):
    """1 / (1 + exp(-x)), computed without overflow."""
    return np.exp(-np.logaddexp(0, -x))


def check_activation_output(module, x, function, formula, identity="", forms=()):
    """``module(x)`` is ``function(x)``; a failure says if the output is ``function`` at a
    multiple of x (a halved or doubled argument, a lost sign), one of ``forms`` with a sign
    flipped (see ``sign_slip_hint``) or another relation to it, found on generic points.
    ``identity`` is a formula the hint may recall (how the function is built from another)."""
    name = f"{type(module).__name__}()(x)"
    try:
        check_values(name, module(x), function(x), formula=formula)
    except AssertionError as error:
        hint = scaled_argument_hint(module, function, formula, identity)
        hint = hint or sign_slip_hint(module, forms)
        hint = hint or elementwise_forward_hint(module, function, formula)
        raise with_hint(error, hint) from None


# sigmoid's two usual forms, each with its two signs: 1 / (1 + exp(-x)) and exp(x) / (1 + exp(x))
SIGMOID_FORMS = (
    ("1 / (1 {} exp({}x))", lambda s, x: 1 / (1 + s[0] * np.exp(s[1] * x)), (1, -1)),
    ("exp(x) / (1 {} exp({}x))", lambda s, x: np.exp(x) / (1 + s[0] * np.exp(s[1] * x)), (1, 1)),
)


def scaled_argument_hint(module, function, formula, identity="") -> str:
    """A hint line when ``module`` computes ``function`` at c·x (c = 2, 1/2, -1), or ''."""
    points = np.array([-2.3, -0.8, -0.3, 0.45, 1.15, 1.9])
    try:
        output = np.asarray(module(points.copy()), dtype=np.float64)
    except Exception:  # a forward that fails on these points: no hint from here
        return ""
    for factor, words in ((2.0, "2x"), (0.5, "x/2"), (-1.0, "-x")):
        if output.shape == points.shape and np.allclose(output, function(factor * points)):
            return (
                f"\nHint: the output is {formula} with x replaced by {words}: check the "
                f"argument of the function you build it from{identity}"
            )
    return ""


def check_sigmoid_output(x):
    """Sigmoid()(x) is 1 / (1 + exp(-x))."""
    check_activation_output(
        Sigmoid(),
        x,
        stable_sigmoid,
        "1 / (1 + exp(-x))",
        " (σ(x) = (1 + tanh(x/2)) / 2)",
        SIGMOID_FORMS,
    )


def check_sigmoid_at_large_inputs(*, gradient: bool):
    """At |x| up to 1000 the output (and, with ``gradient``, its gradient) is finite:
    0 or 1, and 0."""
    large = np.array([-1000.0, -60.0, 60.0, 1000.0])
    sigmoid = stable_sigmoid(large)
    layer = Sigmoid()
    check_values("Sigmoid()(x) at large |x|", layer(large), sigmoid, formula="1 / (1 + exp(-x))")
    if gradient:
        check_values(
            "Sigmoid().backward(1) at large |x|",
            layer.backward(np.ones_like(large)),
            sigmoid * (1 - sigmoid),
            formula="sigmoid(x) * (1 - sigmoid(x))",
        )


@graded
@given(x=pst.arrays(pst.shapes(), scale=pst.scales()))
def test_sigmoid_forward(x):
    """the output is 1 / (1 + exp(-x)) for arrays of random shapes and scales, and finite for |x| = 1000"""
    check_sigmoid_output(x)
    check_sigmoid_at_large_inputs(gradient=False)


@graded
@given(x=pst.arrays(pst.shapes(), scale=pst.scales()))
def test_sigmoid_gradients(x):
    """the output, then check_gradients on arrays of random shapes and scales, and finite gradients for |x| = 1000"""
    check_sigmoid_output(x)
    check_gradients(Sigmoid(), x)
    check_sigmoid_at_large_inputs(gradient=True)


def visible_check_relu():
    """The visible check under the `ReLU` answer: its output and gradient report."""
    x = np.array([[-2.0, -0.5, 0.3], [1.0, 2.5, -4.0]])
    print(ReLU()(x))
    print(check_gradients(ReLU(), x))


def check_relu_output(x):
    """ReLU()(x) is max(x, 0)."""
    check_activation_output(ReLU(), x, lambda x: np.maximum(x, 0), "max(x, 0)")


@graded
@given(x=pst.arrays(pst.shapes(), scale=pst.scales(), kink_margin=0.1))
def test_relu_forward(x):
    """the output is max(x, 0) for arrays of random shapes and scales"""
    check_relu_output(x)


@graded
@given(x=pst.arrays(pst.shapes(), scale=pst.scales(), kink_margin=0.1))
def test_relu_gradients(x):
    """the output, then check_gradients on arrays of random shapes and scales"""
    check_relu_output(x)
    check_gradients(ReLU(), x)


def visible_check_tanh():
    """The visible check under the `Tanh` answer: its output and gradient report."""
    x = np.array([[-2.0, -0.5, 0.3], [1.0, 2.5, -4.0]])
    print(Tanh()(x))
    print(check_gradients(Tanh(), x))


def check_tanh_output(x):
    """Tanh()(x) is tanh(x)."""
    check_activation_output(Tanh(), x, np.tanh, "tanh(x)", forms=TANH_FORMS)


# tanh's usual forms by exponentials, each with its signs
TANH_FORMS = (
    (
        "(exp(x) {} exp(-x)) / (exp(x) {} exp(-x))",
        lambda s, x: (np.exp(x) + s[0] * np.exp(-x)) / (np.exp(x) + s[1] * np.exp(-x)),
        (-1, 1),
    ),
    (
        "(exp(2x) {} 1) / (exp(2x) {} 1)",
        lambda s, x: (np.exp(2 * x) + s[0]) / (np.exp(2 * x) + s[1]),
        (-1, 1),
    ),
    ("1 {} 2 / (exp({}2x) + 1)", lambda s, x: 1 + s[0] * 2 / (np.exp(s[1] * 2 * x) + 1), (-1, 1)),
)


@graded
@given(x=pst.arrays(pst.shapes(), scale=pst.scales()))
def test_tanh_forward(x):
    """the output is tanh(x) for arrays of random shapes and scales, and finite for |x| = 1000"""
    check_tanh_output(x)
    large = np.array([-1000.0, -60.0, 60.0, 1000.0])
    check_values("Tanh()(x) at large |x|", Tanh()(large), np.tanh(large), formula="tanh(x)")


@graded
@given(x=pst.arrays(pst.shapes(), scale=pst.scales()))
def test_tanh_gradients(x):
    """the output, then check_gradients on arrays of random shapes and scales"""
    check_tanh_output(x)
    check_gradients(Tanh(), x)


def activation_instructions(derivative: str) -> str:
    """The instructions of an activation: its formula and derivative, then what to write."""
    return (
        clean(derivative)
        + "\n\n"
        + clean(
            """
        Like `Square` in exercise 2: `forward` saves what `backward` needs and returns the
        output; `backward(grad_output)` returns `grad_output` times the local derivative,
        element-wise. Choose what to save: the derivative can often be written with the
        output $y$ instead of the input $x$, which saves computing it again.
        """
        )
    )


SIGMOID = Part(
    target="pancake.nn.activations.Sigmoid",
    instructions=activation_instructions(
        """
        $y = \\sigma(x) = 1 / (1 + e^{-x})$, whose derivative is $\\sigma(x)(1 - \\sigma(x))$.
        The function `sigmoid(x)` (already imported) computes $\\sigma$ without overflow.
        """
    ),
    check=visible_check_sigmoid,
    tests=(
        GradedTest(test_sigmoid_forward, points=1),
        GradedTest(test_sigmoid_gradients, points=2),
    ),
)


RELU = Part(
    target="pancake.nn.activations.ReLU",
    instructions=activation_instructions(
        """
        $y = \\max(x, 0)$: its derivative is 1 where $x > 0$ and 0 where $x < 0$ (at
        exactly 0 it is not differentiable; pancake, like PyTorch, uses 0 there).
        """
    ),
    check=visible_check_relu,
    tests=(
        GradedTest(test_relu_forward, points=1),
        GradedTest(test_relu_gradients, points=2),
    ),
)


TANH = Part(
    target="pancake.nn.activations.Tanh",
    instructions=activation_instructions(
        """
        $y = \\tanh(x)$ (`np.tanh`), whose derivative is $1 - \\tanh(x)^2$.
        """
    ),
    check=visible_check_tanh,
    tests=(
        GradedTest(test_tanh_forward, points=1),
        GradedTest(test_tanh_gradients, points=2),
    ),
)


def visible_check_cross_entropy_loss():
    """The visible check under the `CrossEntropyLoss` answer."""
    logits = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0], [-1.0, 1.0, 0.0]])
    labels = np.array([0, 2, 1])
    print(CrossEntropyLoss()(logits, labels))
    print(CrossEntropyLoss()(1000 * logits, labels))  # large logits: finite, about 1000
    print(check_gradients(CrossEntropyLoss(), logits, labels))


def check_cross_entropy_loss(loss_fn, logits, labels, *, one_hot=False):
    """loss_fn(logits, target) is mean(logsumexp(z) - z[label]); target: labels or one-hot rows."""
    picked = logits[np.arange(len(labels)), labels]
    expected = np.mean(np.logaddexp.reduce(logits, axis=1) - picked)
    target = np.eye(logits.shape[1])[labels] if one_hot else labels
    loss = loss_fn(logits, target)
    described = f"CrossEntropyLoss()(z, {'one_hot' if one_hot else 'labels'})"
    try:
        check_values(described, loss, expected, formula="mean(logsumexp(z) - z[label])")
    except AssertionError as error:
        hint = "" if "Hint:" in str(error) else cross_entropy_forward_hint(loss_fn)
        hint = hint or capped_log_hint(loss_fn, loss, expected)
        hint = hint or loss_scale_hint(loss, expected, logits.shape)
        hint = hint or block_hint(loss, logits, labels)
        raise with_hint(error, hint) from None


def loss_scale_hint(loss, expected, shape):
    """A hint line when the loss is the mean over every entry, or the sum over the examples."""
    batch, classes = shape
    scales = {
        "the mean runs over every entry, the classes too: sum over the classes, then take "
        "the mean over the examples only": 1 / classes,
        "the loss is summed over the examples: take their mean": batch,
    }
    for hint, scale in scales.items():
        if np.isclose(loss, scale * expected, rtol=1e-9, atol=0):
            return f"\nHint: {hint}"
    return ""


def block_hint(loss, logits, labels):
    """A hint line when the loss averages the (batch, batch) block log_softmax[:, labels]
    (every example's log-probability of every label) instead of one entry per row, or ''."""
    log_probabilities = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    block = -np.mean(log_probabilities[:, labels])
    if len(labels) < 2 or not np.isclose(loss, block, rtol=1e-9, atol=0):
        return ""
    return (
        "\nHint: the loss averages log_probabilities[:, labels], a (batch, batch) block: every "
        "example's log-probability of every example's label. Pick one entry per row, "
        "log_probabilities[np.arange(len(labels)), labels]"
    )


@graded
@given(batch=pst.batch_sizes(), classes=pst.feature_sizes(2, 6), data=st.data())
def test_cross_entropy_loss_forward(batch, classes, data):
    """the loss of random logits, with integer labels and with one-hot targets"""
    logits = data.draw(pst.arrays((batch, classes), scale=pst.scales()))
    labels = data.draw(pst.labels(batch, classes))
    check_cross_entropy_loss(CrossEntropyLoss(), logits, labels)
    check_cross_entropy_loss(CrossEntropyLoss(), logits, labels, one_hot=True)


@graded
@given(batch=pst.batch_sizes(), classes=pst.feature_sizes(2, 6), data=st.data())
def test_cross_entropy_loss_large_logits(batch, classes, data):
    """logits in the thousands give the right, finite loss and gradient"""
    scale = st.sampled_from([1e3, 1e4])
    logits = data.draw(pst.arrays((batch, classes), scale=scale))
    labels = data.draw(pst.labels(batch, classes))
    loss_fn = CrossEntropyLoss()
    check_cross_entropy_loss(loss_fn, logits, labels)
    assert np.all(np.isfinite(loss_fn.backward())), "backward() gives inf or nan for large logits"


@graded
@given(batch=pst.batch_sizes(), classes=pst.feature_sizes(2, 6), data=st.data())
def test_cross_entropy_loss_gradients(batch, classes, data):
    """the output, then check_gradients on random logits and labels"""
    logits = data.draw(pst.arrays((batch, classes), scale=pst.scales()))
    labels = data.draw(pst.labels(batch, classes))
    check_cross_entropy_loss(CrossEntropyLoss(), logits, labels)
    check_gradients(CrossEntropyLoss(), logits, labels)


CROSS_ENTROPY = Part(
    target="pancake.nn.losses.CrossEntropyLoss",
    instructions="""
        The loss of a classifier. For logits $z$ of shape `(batch, classes)` and target
        probabilities $t$ (one-hot rows: `class_probabilities` already turns integer
        labels into them), the loss is the mean over the batch of
        $-\\sum_c t_c \\log \\mathrm{softmax}(z)_c$, and its gradient is

        $$\\frac{\\partial L}{\\partial z} = \\frac{\\mathrm{softmax}(z) - t}{\\text{batch}}.$$

        - `forward(pred, target)`: save what `backward` needs and return the loss as a
          Python `float`. Use `log_softmax(z)` (already imported), not
          `np.log(softmax(z))`: for logits in the hundreds, `softmax` rounds to 0 and its
          log is $-\\infty$;
        - `backward()`: a loss is where backpropagation starts, so it takes no
          argument; return $\\partial L / \\partial z$ (use `softmax`, already imported).
    """,
    check=visible_check_cross_entropy_loss,
    tests=(
        GradedTest(test_cross_entropy_loss_forward, points=1),
        GradedTest(test_cross_entropy_loss_large_logits, points=1),
        GradedTest(test_cross_entropy_loss_gradients, points=2),
    ),
)

ASSIGNMENT = Assignment(
    number=4,
    slug="activations-losses",
    title="Activations and the cross-entropy loss",
    introduction="""
        This exercise goes with chapter 4. Activations put the non-linearity between two
        linear layers; the loss turns a prediction into one number to minimise, and is
        where backpropagation starts. Each part is one module; they are independent.
    """,
    parts=(SIGMOID, RELU, TANH, CROSS_ENTROPY),
)
