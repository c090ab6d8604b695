"""Exercise 3: the Linear layer, forward and backward, with any number of batch axes."""

from pancake.course.spec import Assignment, GradedTest, Part

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
    check="""
        from pancake.testing import check_gradients

        x = np.random.default_rng(0).standard_normal((4, 3))
        layer = Linear(3, 2, rng=0)
        print(layer(x))
        print(check_gradients(layer, x))
    """,
    tests=(
        GradedTest(
            name="forward",
            points=1,
            summary="the output is x @ weight + bias for random sizes",
            code="""
                @graded
                @given(batch=pst.batch_sizes(), n_in=pst.feature_sizes(), n_out=pst.feature_sizes(), data=st.data())
                def test_forward(batch, n_in, n_out, data):
                    layer = Linear(n_in, n_out, rng=data.draw(pst.seeds()))
                    x = data.draw(pst.arrays((batch, n_in), scale=pst.scales()))
                    expected = x @ layer.weight.data + layer.bias.data
                    check_values("Linear(x)", layer(x), expected, formula="x @ weight + bias")

                test_forward()
            """,
        ),
        GradedTest(
            name="gradients",
            points=3,
            summary="check_gradients (input, weight, bias, accumulation) for random sizes and batches",
            code="""
                @graded
                @given(batch=pst.batch_sizes(), n_in=pst.feature_sizes(), n_out=pst.feature_sizes(), data=st.data())
                def test_gradients(batch, n_in, n_out, data):
                    layer = Linear(n_in, n_out, rng=data.draw(pst.seeds()))
                    check_gradients(layer, data.draw(pst.arrays((batch, n_in), scale=pst.scales())))

                test_gradients()
            """,
        ),
        GradedTest(
            name="batch-axes",
            points=1,
            summary="check_gradients on inputs with two leading batch axes, (a, b, in_features)",
            code="""
                @graded
                @given(shape=pst.shapes(min_dims=2, max_dims=2, max_side=4), n_in=pst.feature_sizes(), data=st.data())
                def test_batch_axes(shape, n_in, data):
                    layer = Linear(n_in, 3, rng=data.draw(pst.seeds()))
                    check_gradients(layer, data.draw(pst.arrays((*shape, n_in))))

                test_batch_axes()
            """,
        ),
        GradedTest(
            name="no-bias",
            points=1,
            summary="forward and check_gradients of Linear(..., bias=False)",
            code="""
                @graded
                @given(batch=pst.batch_sizes(), n_in=pst.feature_sizes(), n_out=pst.feature_sizes(), data=st.data())
                def test_no_bias(batch, n_in, n_out, data):
                    layer = Linear(n_in, n_out, bias=False, rng=data.draw(pst.seeds()))
                    x = data.draw(pst.arrays((batch, n_in)))
                    check_values("Linear(x, bias=False)", layer(x), x @ layer.weight.data, formula="x @ weight")
                    check_gradients(layer, x)

                test_no_bias()
            """,
        ),
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
