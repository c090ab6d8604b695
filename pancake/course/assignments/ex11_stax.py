"""Exercise 11: layers as pairs of functions, in the style of JAX's stax: Dense and serial."""

import contextlib
import inspect

from pancake import stax
from pancake.course.prelude import given, graded, np, pst, st
from pancake.course.spec import Assignment, GradedTest, Part
from pancake.stax import Dense, serial
from pancake.testing import check_serial, check_stax_layer


@st.composite
def networks(draw):
    """Random networks of Dense layers and activations, and their input shape."""
    widths = draw(st.lists(pst.feature_sizes(max_size=4), min_size=1, max_size=3))
    activations = st.sampled_from([stax.Tanh, stax.Sigmoid, stax.Identity])
    layers = [layer for width in widths for layer in (stax.Dense(width), draw(activations))]
    return layers, (-1, draw(pst.feature_sizes(max_size=4)))


def constant_init(value):
    """An initializer that fills its shape with ``value``: ``init(shape, rng=rng)``."""
    return lambda shape, rng: np.full(shape, value)


def check_dense_initializers(n_in, n_out):
    """Dense(n_out, W_init, b_init) draws W with W_init and b with b_init."""
    layer = Dense(n_out, W_init=constant_init(2.0), b_init=constant_init(3.0))
    _, (W, b) = layer[0](np.random.default_rng(0), (-1, n_in))
    assert np.all(W == 2.0) and np.all(b == 3.0), (
        "Dense(out_dim, W_init, b_init) must draw W with W_init and b with b_init (each "
        f"called as init(shape, rng=rng)); with constant initializers 2 and 3 it gave W "
        f"entries {np.unique(W)[:3]} and b entries {np.unique(b)[:3]}"
        + _rescaled(W, 2.0, "W", n_in)
        + _rescaled(b, 3.0, "b", n_in)
    )


def _rescaled(values, drawn, name, n_in) -> str:
    """A hint line when every entry of ``values`` is the constant ``drawn`` times one other
    factor: the initializer's draw rescaled; else '' (and for the other initializer's
    constant, 2 or 3: a draw from the wrong initializer, which the message shows)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or not np.all(values == values.flat[0]) or values.flat[0] in (2.0, 3.0):
        return ""
    factor = float(values.flat[0]) / drawn
    which = ""
    for form, value in (("1/√in_dim", 1 / np.sqrt(n_in)), ("√(2/in_dim)", np.sqrt(2 / n_in))):
        if n_in > 1 and np.isclose(factor, value, rtol=1e-9):
            which = f", {form} with in_dim = {n_in}"
    return (
        f"\nHint: {name} is its initializer's draw times {factor:.4g}{which}: use the draw "
        "as it is (the initializer is where a scale belongs, and it is the caller's choice)"
    )


def initializer_hint(n_in=5, n_out=3) -> str:
    """What Dense(n_out)'s init_fun, given input shape (-1, n_in) (generic sizes by
    default), passes its initializers as shapes, watched by spies around its own default
    initializers, when it is not (in_dim, out_dim) for W_init and (out_dim,) for b_init;
    else ''."""
    defaults = inspect.signature(Dense).parameters
    given, extra = {}, {}

    def spy(name):
        initializer = defaults[name].default

        def watched(shape, *args, **kwargs):
            given.setdefault(name, shape)
            extra.setdefault(name, args)
            return initializer(shape, *args, **kwargs)

        return watched

    with contextlib.suppress(Exception):  # the shapes given before a crash still tell
        Dense(n_out, W_init=spy("W_init"), b_init=spy("b_init"))[0](
            np.random.default_rng(0), (-1, n_in)
        )
    for name, right, what in (
        ("W_init", (n_in, n_out), "(in_dim, out_dim)"),
        ("b_init", (n_out,), "(out_dim,)"),
    ):
        shape = given.get(name)
        if shape is None or (isinstance(shape, tuple) and shape == right and not extra[name]):
            continue
        if extra[name]:
            return (
                f"\nHint: for input shape (-1, {n_in}), init_fun calls {name} with "
                f"{1 + len(extra[name])} positional arguments, {shape!r}, "
                f"{', '.join(map(repr, extra[name]))}: the shape is one tuple, and rng a "
                f"keyword, {name}({right}, rng=rng) here"
            )
        entries = shape if isinstance(shape, tuple | list) else (shape,)
        odd = [entry for entry in entries if not isinstance(entry, int | np.integer)]
        why = (
            f": its entry {odd[0]!r} is not a number (input_shape[-1] is the number of input "
            "features; a slice such as input_shape[-1:] is a tuple)"
            if odd
            else ""
        )
        return (
            f"\nHint: for input shape (-1, {n_in}), init_fun gives {name} the shape {shape!r} "
            f"where {what} = {right} belongs{why}"
        )
    return ""


def check_dense(n_in, n_out, input_shape, seed):
    """check_stax_layer on Dense(n_out) as documented: y = x @ W + b with params (W, b),
    each drawn with its own initializer. A crash is explained by the shapes the initializers
    were given, when they are wrong."""
    try:
        check_stax_layer(
            Dense(n_out),
            input_shape,
            param_shapes=((n_in, n_out), (n_out,)),
            expected=lambda params, x: x @ params[0] + params[1],
            formula="x @ W + b",
            seed=seed,
        )
    except (TypeError, ValueError, IndexError) as error:
        if not (hint := initializer_hint()):
            raise
        raise AssertionError(
            f"Dense({n_out}) on inputs of shape {input_shape} raised {type(error).__name__}: "
            f"{error}{hint}"
        ) from None
    check_dense_initializers(n_in, n_out)


def visible_check_dense():
    """The visible check under the `Dense` answer."""
    init_fun, apply_fun = Dense(20)
    output_shape, (W, b) = init_fun(np.random.default_rng(0), (-1, 41))
    print("output shape", output_shape, " W", W.shape, " b", b.shape)
    print(
        check_stax_layer(
            Dense(3),
            (-1, 5),
            param_shapes=((5, 3), (3,)),
            expected=lambda params, x: x @ params[0] + params[1],
            formula="x @ W + b",
        )
    )


@graded
@given(n_in=pst.feature_sizes(), n_out=pst.feature_sizes(), seed=pst.seeds())
def test_dense_layer(n_in, n_out, seed):
    """check_stax_layer (shapes, output x @ W + b, same parameters for the same seed, gradients) on inputs (-1, in_dim) of random sizes"""
    input_shape = (-1, n_in)
    check_dense(n_in, n_out, input_shape, seed)


@graded
@given(
    leading=pst.shapes(min_dims=0, max_dims=3, max_side=3),
    n_in=pst.feature_sizes(),
    n_out=pst.feature_sizes(),
    seed=pst.seeds(),
)
def test_dense_leading_axes(leading, n_in, n_out, seed):
    """check_stax_layer on inputs with any number of leading axes, (*, in_dim)"""
    input_shape = (*leading, n_in)
    check_dense(n_in, n_out, input_shape, seed)


DENSE = Part(
    target="pancake.stax.Dense",
    instructions="""
        A stax layer is a pair of functions, and holds no state:

        - `init_fun(rng, input_shape) -> (output_shape, params)` draws the parameters,
          working out their shapes from the shape of the input (`rng` is a
          `np.random.Generator`; a batch size not known yet is written -1);
        - `apply_fun(params, inputs) -> outputs` computes the layer with those parameters.

        `Dense(out_dim)` returns the pair of $y = xW + b$, `(*, in_dim) -> (*, out_dim)`:

        - `init_fun`: read `in_dim` off the input shape, `input_shape[-1]`; draw `W` of shape
          `(in_dim, out_dim)` with `W_init(shape, rng=rng)` and `b` of shape `(out_dim,)`
          with `b_init(shape, rng=rng)`; return the output shape, which is the input shape
          with its last entry replaced by `out_dim` (`Dense(20)` turns `(-1, 41)` into
          `(-1, 20)`), and `params = (W, b)`;
        - `apply_fun(params, inputs)`: unpack `W, b = params`, return `inputs @ W + b`.

        Draw every random number from `rng`, so that the same seed gives the same
        parameters. Write `apply_fun` with operators (`@`, `+`): then it runs on pancake's
        Tensors too, which is how `grad` differentiates it. `check_stax_layer` checks the
        shapes, the output, and the gradients with respect to `W` and `b` (through Tensors)
        against central differences.
    """,
    check=visible_check_dense,
    tests=(
        GradedTest(test_dense_layer, points=3),
        GradedTest(test_dense_leading_axes, points=1),
    ),
)


def visible_check_serial():
    """The visible check under the `serial` answer."""
    init_fun, apply_fun = serial(stax.Dense(20), stax.Elu, stax.Dense(1), stax.Tanh)
    output_shape, params = init_fun(np.random.default_rng(0), (-1, 41))
    print("output shape:", output_shape)
    for index, layer_params in enumerate(params):
        print(f"layer {index}:", [p.shape for p in layer_params])
    print(
        check_serial(
            serial, [stax.Dense(4), stax.Tanh, stax.Dense(4), stax.Tanh, stax.Dense(1)], (-1, 3)
        )
    )


@graded
@given(network=networks(), seed=pst.seeds())
def test_serial_chain(network, seed):
    """check_serial on random networks of Dense layers and activations"""
    layers, input_shape = network
    check_serial(serial, layers, input_shape, seed=seed)


@graded
@given(n_in=pst.feature_sizes(max_size=4), seed=pst.seeds())
def test_serial_nested(n_in, seed):
    """check_serial on a serial inside a serial"""
    layers = [serial(stax.Dense(3), stax.Tanh), stax.Dense(2)]
    check_serial(serial, layers, (-1, n_in), seed=seed)


SERIAL = Part(
    target="pancake.stax.serial",
    instructions="""
        `serial(*layers)` chains layers into one layer, itself a pair `(init_fun, apply_fun)`.
        `init_funs` and `apply_funs` (already there) hold the layers' functions, in order.

        - `init_fun(rng, input_shape)`: call each layer's init_fun in turn, first to last,
          giving each one the output shape of the layer before (the first gets
          `input_shape`) and the same `rng` (a Generator moves on as it draws, so two layers
          of one shape still get different parameters); collect the params of each layer in
          a list, in order; return the last output shape and that list;
        - `apply_fun(params, inputs)`: feed `inputs` through each layer's apply_fun in turn,
          first to last, each with its own entry of `params`, and return the last output.

        Layers without parameters, such as `Tanh`, are pairs too, whose params are `()`.
        `check_serial` compares your `serial` with the layers it chains (every layer's
        shapes, the composition), then checks it as a stax layer. It uses pancake's `Dense`,
        so it works whatever the state of yours.
    """,
    check=visible_check_serial,
    tests=(
        GradedTest(test_serial_chain, points=3),
        GradedTest(test_serial_nested, points=1),
    ),
)

ASSIGNMENT = Assignment(
    number=11,
    slug="stax",
    title="Layers as pairs of functions: Dense and serial",
    introduction="""
        This exercise goes with chapter 11. In the functional style of JAX's `stax`, a layer
        is a pair of functions, `(init_fun, apply_fun)`, and its parameters are data handed
        to them. You write `Dense`, whose `init_fun` works out the shapes of its parameters
        from the shape of its input, and `serial`, which chains layers so that every
        parameter shape follows from the first input shape. The checks build layers and
        random networks and compare their shapes, outputs and gradients with what the
        layers are documented to do.
    """,
    parts=(DENSE, SERIAL),
)
