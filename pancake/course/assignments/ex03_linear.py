"""Exercise 3: the Linear layer, forward and backward, with any number of batch axes."""

from pancake.course.prelude import check_gradients, check_values, given, graded, np, pst, st
from pancake.course.spec import Assignment, GradedTest, Part
from pancake.nn.linear import Linear
from pancake.testing.forward import bias_term_hint, output_of_copy, with_hint
from pancake.testing.sequential import check_as_data


def visible_check_linear():
    """The visible check under the `Linear` answer."""
    x = np.random.default_rng(0).standard_normal((4, 3))
    layer = Linear(3, 2, rng=0)
    print(layer(x))
    print(check_gradients(layer, x))


def check_linear_output(layer, x):
    """layer(x) is x @ weight + bias."""
    expected = x @ layer.weight.data + layer.bias.data
    output = layer(x)
    try:
        check_values("Linear(x)", output, expected, formula="x @ weight + bias")
    except AssertionError as error:
        hint = bias_term_hint(output, expected, layer.bias.data, axis=-1)
        raise with_hint(error, hint or transposed_weight_hint(layer, x, output)) from None


def transposed_weight_hint(layer, x, output) -> str:
    """A hint line when a square weight was used transposed, x @ weight.T + bias; or ''."""
    weight = layer.weight.data
    if weight.shape[0] != weight.shape[1] or np.shape(output) != np.shape(x):
        return ""
    if not np.allclose(output, x @ weight.T + layer.bias.data, rtol=1e-9, atol=1e-12):
        return ""
    return (
        "\nHint: the output is x @ weight.T + bias: weight has shape (in_features, "
        "out_features), so that x @ weight needs no transpose"
    )


@graded
@given(batch=pst.batch_sizes(), n_in=pst.feature_sizes(), n_out=pst.feature_sizes(), data=st.data())
def test_linear_forward(batch, n_in, n_out, data):
    """the output is x @ weight + bias for random sizes"""
    layer = Linear(n_in, n_out, rng=data.draw(pst.seeds()))
    x = data.draw(pst.arrays((batch, n_in), scale=pst.scales()))
    check_linear_output(layer, x)


@graded
@given(batch=pst.batch_sizes(), n_in=pst.feature_sizes(), n_out=pst.feature_sizes(), data=st.data())
def test_linear_gradients(batch, n_in, n_out, data):
    """the output, then check_gradients (input, weight, bias, accumulation) for random sizes and batches, and the parameter gradients with needs_input_grad = False (the input is data)"""
    layer = Linear(n_in, n_out, rng=data.draw(pst.seeds()))
    x = data.draw(pst.arrays((batch, n_in), scale=pst.scales()))
    check_linear_output(layer, x)
    check_gradients(layer, x)
    check_as_data(layer, x)


@graded
@given(
    shape=pst.shapes(min_dims=2, max_dims=2, max_side=4), n_in=pst.feature_sizes(), data=st.data()
)
def test_linear_batch_axes(shape, n_in, data):
    """the output, then check_gradients on inputs with two leading batch axes, (a, b, in_features)"""
    layer = Linear(n_in, 3, rng=data.draw(pst.seeds()))
    x = data.draw(pst.arrays((*shape, n_in)))
    expected = x @ layer.weight.data + layer.bias.data
    try:
        check_values("Linear(x)", layer(x), expected, formula="x @ weight + bias")
    except AssertionError as error:
        raise with_hint(error, merged_leading_axes_hint(layer)) from None
    check_gradients(layer, x)


def merged_leading_axes_hint(layer) -> str:
    """A hint line when a copy of ``layer`` maps x of shape (2, 3, in_features) to an output
    of shape (6, out_features): the leading axes flattened into rows and left so; or ''."""
    x = np.random.default_rng(3).standard_normal((2, 3, layer.in_features))
    output = output_of_copy(layer, x)
    if output is None or output.shape != (6, layer.out_features):
        return ""
    return (
        f"\nHint: on x of shape {x.shape} the output has shape {output.shape}, not "
        f"(2, 3, {layer.out_features}): the leading axes were flattened into rows and not put "
        "back; x @ weight works on any number of leading axes as it is (or reshape the "
        "result back to x.shape[:-1] + (out_features,))"
    )


@graded
@given(batch=pst.batch_sizes(), n_in=pst.feature_sizes(), n_out=pst.feature_sizes(), data=st.data())
def test_linear_no_bias(batch, n_in, n_out, data):
    """forward and check_gradients of Linear(..., bias=False)"""
    layer = Linear(n_in, n_out, bias=False, rng=data.draw(pst.seeds()))
    x = data.draw(pst.arrays((batch, n_in)))
    check_values("Linear(x, bias=False)", layer(x), x @ layer.weight.data, formula="x @ weight")
    check_gradients(layer, x)


LINEAR = Part(
    target="pancake.nn.linear.Linear",
    instructions="""
        `Linear(in_features, out_features)` computes $y = x W + b$ with `self.weight`
        ($W$, shape `(in_features, out_features)`) and `self.bias` ($b$, shape
        `(out_features,)`, or `None` when built with `bias=False`). `x` has shape
        `(batch, in_features)`, or more generally any number of leading axes
        `(*, in_features)`.

        - `forward(x)`: save `x` for `backward` (`self.save_for_backward(x)`), return
          `x @ W + b`;
        - `backward(grad_output)` (shape `(*, out_features)`), with $G$ = `grad_output`,
          in its two marked places:
          - first add $\\partial L / \\partial W = x^\\top G$ to `self.weight.grad`: flatten
            the leading axes of both (`x.reshape(-1, self.in_features)`, and likewise for
            $G$), so that the product sums over every example of the batch; and add
            $\\partial L / \\partial b$, the sum of $G$ over the batch, to `self.bias.grad`
            (if there is a bias);
          - then return $\\partial L / \\partial x = G W^\\top$. (The lines between skip
            it for a first layer, whose input is data and needs no gradient.)

        Gradients are **accumulated** (`+=`), and each has the shape of its parameter.
    """,
    check=visible_check_linear,
    tests=(
        GradedTest(test_linear_forward, points=1),
        GradedTest(test_linear_gradients, points=3),
        GradedTest(test_linear_batch_axes, points=1),
        GradedTest(test_linear_no_bias, points=1),
    ),
)

ASSIGNMENT = Assignment(
    number=3,
    slug="linear",
    title="The Linear layer",
    introduction="""
        This exercise goes with chapter 3. `Linear` is the layer with the most interesting
        backward pass of the course: three gradients (input, weight, bias), matrix
        products whose shapes must line up, and a sum over the batch, because every
        example contributes to the same parameters.
    """,
    parts=(LINEAR,),
)
