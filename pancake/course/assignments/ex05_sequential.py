"""Exercise 5: Sequential, the container that chains modules forward and backward."""

from itertools import pairwise

from pancake import nn
from pancake.course.prelude import check_values, given, graded, np, pst, st
from pancake.course.spec import Assignment, GradedTest, Part
from pancake.nn import Linear, Tanh
from pancake.nn.containers import Sequential
from pancake.testing.sequential import check_as_data, check_sequential, sequential_hint


@st.composite
def perceptrons(draw):
    """Random multi-layer perceptrons of pancake's reference layers, and an input: (layers, x)."""
    sizes = draw(st.lists(pst.feature_sizes(), min_size=2, max_size=4))
    seed = draw(pst.seeds())
    layers = []
    for index, (n_in, n_out) in enumerate(pairwise(sizes)):
        layers += [nn.Linear(n_in, n_out, rng=seed + index), nn.Tanh()]
    x = draw(pst.arrays((draw(pst.batch_sizes()), sizes[0])))
    return layers, x


def visible_check_sequential():
    """The visible check under the `Sequential` answer."""
    model = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1))
    x = np.random.default_rng(0).standard_normal((5, 3))
    print(check_sequential(model, x))
    print(model(x))


def applied_in_turn(layers, x):
    """The output of ``layers`` applied to ``x`` one after the other."""
    for layer in layers:
        x = layer(x)
    return x


def layers_applied_hint(layers, x, output) -> str:
    """A hint line when ``output`` is that of the first layer alone, or of all layers but one.

    With two layers, the first alone is also every layer but the last: both are named."""
    candidates = {
        "no layer at all, the input itself: return the output of the last layer, the "
        "value the loop computes, not x": [],
        "the first layer alone: is forward's `return` inside the loop?": layers[:1],
        "every layer but the first: the loop must start at self.layers[0]": layers[1:],
        "every layer but the last: the loop must run to the end of self.layers": layers[:-1],
        "the layers applied last to first: forward goes first to last (backward goes back)": (
            layers[::-1]
        ),
        "every layer, then the last one again: return x, the result of the loop, not layer(x)": [
            *layers,
            layers[-1],
        ],
    }
    matching = []
    for which, applied in candidates.items():
        try:
            value = np.asarray(applied_in_turn(applied, x))
        except ValueError:  # those layers do not chain on x: not what forward did
            continue
        if value.shape == np.shape(output) and np.allclose(value, output, rtol=1e-9, atol=1e-12):
            matching.append(which)
    return f"\nHint: the output is that of {'; or of '.join(matching)}" if matching else ""


def check_sequential_output(layers, x, model=None, what="Sequential(*layers)(x)"):
    """``model(x)``, by default Sequential(*layers)(x), is the output of the layers applied in
    turn. A failure's hint comes from spying on the layers (``sequential_hint``), or else
    from the layers whose output it is."""
    expected = applied_in_turn(layers, x)
    model = model or Sequential(*layers)
    try:
        output = model(x)
    except Exception as error:
        hint = sequential_hint(model, x)
        if hint is None:
            raise
        raise AssertionError(
            f"{what} raised {type(error).__name__}: {error}\nHint: {hint}"
        ) from error
    try:
        check_values(what, output, expected, formula="each layer in turn")
    except AssertionError as error:
        hint = sequential_hint(model, x)
        hint = f"\nHint: {hint}" if hint else layers_applied_hint(layers, x, output)
        raise AssertionError(f"{error}{hint}") from None


@graded
@given(case=perceptrons())
def test_sequential_forward(case):
    """the output of random perceptrons is that of their layers applied in turn"""
    layers, x = case
    check_sequential_output(layers, x)


@graded
@given(case=perceptrons())
def test_sequential_gradients(case):
    """the output, then check_gradients (input and every layer's parameters) of random perceptrons, and of the same with needs_input_grad = False (the input is data)"""
    layers, x = case
    check_sequential_output(layers, x)
    check_sequential(Sequential(*layers), x)
    check_as_data(Sequential(*layers), x)


@graded
@given(batch=pst.batch_sizes(), seed=pst.seeds())
def test_sequential_nested(batch, seed):
    """the output, then check_gradients of a Sequential inside a Sequential"""
    first, tanh, last = nn.Linear(3, 4, rng=seed), nn.Tanh(), nn.Linear(4, 2, rng=seed + 1)
    model = Sequential(Sequential(first, tanh), last)
    x = np.random.default_rng(seed).standard_normal((batch, 3))
    check_sequential_output([first, tanh, last], x, model, "Sequential(Sequential(...), ...)(x)")
    check_sequential(model, x)


SEQUENTIAL = Part(
    target="pancake.nn.containers.Sequential",
    instructions="""
        `Sequential(Linear(2, 8), ReLU(), Linear(8, 1))` applies its modules one after the
        other: the output of each is the input of the next. Backpropagation goes the other
        way: the last module gets the gradient first, and passes on what it returns.

        - `forward(x)`: feed `x` through `self.layers` in order, return the last output;
        - `backward(grad_output)`: feed the gradient through `self.layers` in **reverse**
          order (each module's `backward` returns the gradient for the module before it),
          and return the gradient with respect to the input.

        You don't need to do anything for parameters: `Module.named_parameters()` finds
        those of every layer through `named_children()`, which names them `"0.weight"`,
        `"0.bias"`, `"2.weight"`... So `check_gradients` checks every layer's gradients.
    """,
    check=visible_check_sequential,
    tests=(
        GradedTest(test_sequential_forward, points=1),
        GradedTest(test_sequential_gradients, points=3),
        GradedTest(test_sequential_nested, points=1),
    ),
)

ASSIGNMENT = Assignment(
    number=5,
    slug="sequential",
    title="Sequential: a model from modules",
    introduction="""
        This exercise goes with chapter 5. With `Sequential` you can build a multi-layer
        perceptron from the layers of the previous exercises; it is itself a module, so
        it can be checked (and nested) like any other. The layers used here are pancake's
        own, so this exercise works whatever the state of your earlier ones.
    """,
    parts=(SEQUENTIAL,),
)
