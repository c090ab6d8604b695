"""Exercise 12: Conv2d forward and backward through im2col, and the backward pass of MaxPool2d."""

import contextlib
import inspect
import itertools
import re

from pancake.course.prelude import check_gradients, check_values, given, graded, np, pst, st
from pancake.course.spec import Assignment, GradedTest, Part
from pancake.nn import conv
from pancake.nn.conv import Conv2d, MaxPool2d
from pancake.testing.forward import bias_term_hint, with_hint


def convolution_by_definition(x, weight, bias, stride, padding):
    """``out[n, o, i, j] = bias[o] + sum_{c,p,q} weight[o, c, p, q] * x_pad[n, c, i*sh+p, j*sw+q]``,
    one output position at a time, with ``padding`` zeros on each side of ``x``."""
    (sh, sw), (ph, pw) = stride, padding
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kh, kw = weight.shape[2:]
    out_h = (padded.shape[2] - kh) // sh + 1
    out_w = (padded.shape[3] - kw) // sw + 1
    output = np.zeros((x.shape[0], weight.shape[0], out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = padded[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
            output[:, :, i, j] = np.tensordot(window, weight, axes=([1, 2, 3], [1, 2, 3]))
    return output if bias is None else output + bias[:, None, None]


KERNEL_AXES = {1: "C_in", 2: "kh", 3: "kw"}


def kernels_read_in_order(weight, order, windows=(2, 3, 1)):
    """The kernels that windows flattened in ``windows`` order (weight's axes: 1 C_in, 2 kh,
    3 kw; unfold's is (kh, kw, C_in)) meet when ``weight`` is flattened after
    ``weight.transpose(0, *order)``, back in weight's (C_out, C_in, kh, kw) layout."""
    flat = weight.transpose(0, *order).reshape(len(weight), -1)
    met = flat.reshape(len(weight), *(weight.shape[axis] for axis in windows))
    return met.transpose(0, *(windows.index(axis) + 1 for axis in (1, 2, 3)))


def misplaced_input_mistakes(layer, x, weight, bias) -> dict:
    """The convolutions of x copied into the padded buffer at every other offset (rows,
    columns), each with the hint that names it."""
    (ph, pw), (height, width) = layer.padding, x.shape[2:]
    mistakes = {}
    for top, left in itertools.product(range(2 * ph + 1), range(2 * pw + 1)):
        if (top, left) == (ph, pw):
            continue
        hint = (
            f"x is copied into the padded buffer at rows {top} to {top + height - 1} and "
            f"columns {left} to {left + width - 1}: put it in the middle, "
            f"[ph : ph + height, pw : pw + width] ({ph} to {ph + height - 1} and {pw} to "
            f"{pw + width - 1} here), with padding zeros on each side"
        )
        placed = ((0, 0), (0, 0), (top, 2 * ph - top), (left, 2 * pw - left))
        mistakes[hint] = lambda placed=placed: convolution_by_definition(
            np.pad(x, placed), weight, bias, layer.stride, (0, 0)
        )
    return mistakes


def kernel_order_hint(layer, x, output) -> str:
    """A hint line when ``output`` is the convolution with the kernels and the windows
    flattened in different axis orders, or ''. With equal axis lengths several pairs of
    orders give the same output: the likeliest is named (the kernels flattened in weight's
    own order, then other kernel orders, then the windows), and the others mentioned."""
    weight, bias = layer.weight.data, None if layer.bias is None else layer.bias.data
    right, orders = (2, 3, 1), list(itertools.permutations((1, 2, 3)))
    pairs = [(kernels, right) for kernels in orders if kernels != right]
    pairs += [(right, windows) for windows in orders if windows != right]
    pairs += [(k, w) for k in orders for w in orders if right not in (k, w) and k != w]
    matching = [
        (kernels, windows)
        for kernels, windows in pairs
        if np.allclose(
            output,
            convolution_by_definition(
                x,
                kernels_read_in_order(weight, kernels, windows),
                bias,
                layer.stride,
                layer.padding,
            ),
            rtol=1e-9,
            atol=1e-12,
        )
    ]
    if not matching:
        return reshaped_kernel_matrix_hint(layer, x, output)
    hint = order_hint(*matching[0])
    if any(windows != matching[0][1] for _, windows in matching):
        hint += (
            " (with these equal axis lengths, the windows flattened in another order than "
            "unfold's (kh, kw, C_in) give the same output: flatten both in that order)"
        )
    return f"\nHint: {hint}"


def reshaped_kernel_matrix_hint(layer, x, output) -> str:
    """A hint line when the (kh·kw·C_in, C_out) matrix that multiplies the columns was
    made by a reshape of weight (in any axis order) where a transpose belongs; or ''."""
    weight, bias = layer.weight.data, None if layer.bias is None else layer.bias.data
    c_out, c_in, kh, kw = weight.shape
    for order in itertools.permutations((1, 2, 3)):
        matrix = weight.transpose(0, *order).reshape(-1, c_out)  # (kh·kw·C_in, C_out)
        met = matrix.T.reshape(c_out, kh, kw, c_in).transpose(0, 3, 1, 2)
        value = convolution_by_definition(x, met, bias, layer.stride, layer.padding)
        if np.allclose(output, value, rtol=1e-9, atol=1e-12):
            return (
                "\nHint: the matrix the columns are multiplied by is weight reshaped to "
                "(kh·kw·C_in, C_out): a reshape regroups the entries in their order, it is no "
                "transpose. Flatten each kernel, weight.transpose(0, 2, 3, 1).reshape(C_out, "
                "-1), and multiply by its transpose, columns @ kernels.T"
            )
    return ""


def order_hint(kernels, windows) -> str:
    """What to fix when the kernels are flattened in ``kernels`` order and the windows in
    ``windows`` order (weight's axes: 1 C_in, 2 kh, 3 kw)."""

    def named(order):
        return "(" + ", ".join(KERNEL_AXES[axis] for axis in order) + ")"

    if windows == (2, 3, 1):
        said = "weight's (C_in, kh, kw)" if kernels == (1, 2, 3) else named(kernels)
        return (
            f"the kernels are flattened in {said} order, but the windows in (kh, kw, C_in) "
            "order: flatten weight.transpose(0, 2, 3, 1), channels last"
        )
    if kernels == (2, 3, 1):
        return (
            f"the windows are flattened in {named(windows)} order, but the kernels in (kh, "
            "kw, C_in) order: flatten the windows as unfold gives them, (N, H', W', kh, kw, "
            "C_in), without a transpose"
        )
    return (
        f"the kernels are flattened in {named(kernels)} order and the windows in "
        f"{named(windows)} order: flatten both in (kh, kw, C_in) order"
    )


def conv2d_output_hint(layer, x, output) -> str:
    """A hint line when ``layer(x)`` is the convolution of a common mistake, or ''."""
    weight = layer.weight.data
    bias = None if layer.bias is None else layer.bias.data
    (ph, pw), stride = layer.padding, layer.stride
    mistakes = {
        "the windows are taken at stride 1: pass self.stride to unfold": (
            lambda: convolution_by_definition(x, weight, bias, (1, 1), layer.padding)
        ),
        "the input is not padded: copy x into the middle of a zero array with padding rows "
        "and columns on each side": (
            lambda: convolution_by_definition(x, weight, bias, stride, (0, 0))
        ),
        "the input is padded on one side only: put padding rows and columns of zeros on "
        "each side (the padded input has H + 2·p_h rows)": (
            lambda: convolution_by_definition(
                np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw))), weight, bias, stride, (0, 0)
            )
        ),
        "the padding is filled with ones: make the padded buffer with np.zeros": (
            lambda: convolution_by_definition(
                np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=1),
                weight,
                bias,
                stride,
                (0, 0),
            )
        ),
        **misplaced_input_mistakes(layer, x, weight, bias),
        "the kernel is flipped (a true convolution): pancake, like PyTorch, computes a "
        "cross-correlation, without flipping": (
            lambda: convolution_by_definition(
                x, weight[:, :, ::-1, ::-1], bias, stride, layer.padding
            )
        ),
        "the bias is added after the reshape to (N, C_out, H', W'), where it lines up with "
        "the last axis: add it to the (rows, C_out) product, before the reshape": (
            lambda: convolution_by_definition(x, weight, None, stride, layer.padding) + bias
        ),
    }
    for hint, mistake in mistakes.items():
        try:
            value = mistake()
        except (ValueError, TypeError):  # a mistake that cannot happen with these shapes
            continue
        if np.shape(output) == value.shape and np.allclose(output, value, rtol=1e-9, atol=1e-12):
            return f"\nHint: {hint}"
    expected = convolution_by_definition(x, weight, bias, stride, layer.padding)
    if np.shape(output) != expected.shape:
        return ""
    return (
        kernel_order_hint(layer, x, output)
        or bias_term_hint(output, expected, bias, axis=1)
        or border_hint(layer, x, output, expected)
    )


def border_hint(layer, x, output, expected) -> str:
    """A hint line when the only wrong outputs are those whose windows reach into the
    padding (and some other outputs, right, do not), or ''."""
    if np.shape(output) != expected.shape or layer.padding == (0, 0):
        return ""
    wrong = ~np.isclose(output, expected, rtol=1e-9, atol=1e-12)
    rows, columns = (
        reaches_padding(count, kernel, step, pad, side)
        for count, kernel, step, pad, side in zip(
            expected.shape[2:],
            layer.kernel_size,
            layer.stride,
            layer.padding,
            x.shape[2:],
            strict=True,
        )
    )
    border = rows[:, None] | columns[None, :]
    if border.all() or np.any(wrong[..., ~border]) or not np.any(wrong):
        return ""
    return (
        "\nHint: only outputs whose windows reach into the padding are wrong (the others "
        "match): check the padded buffer, zeros all around and x copied to "
        "[ph : ph + height, pw : pw + width]"
    )


def reaches_padding(count, kernel, step, pad, side):
    """For each of ``count`` window positions along one axis, whether it covers padding."""
    starts = np.arange(count) * step
    return (starts < pad) | (starts + kernel > pad + side)


# A generic layer for the spies: kernel, stride and padding all differ, between the two
# axes too (so a swapped pair shows), and the stride differs from the kernel and from 1.
GENERIC_CONV = dict(
    in_channels=2, out_channels=3, kernel_size=(3, 4), stride=(2, 3), padding=(1, 2)
)
GENERIC_IMAGES = (2, 2, 8, 9)


class _Spy:
    """Calls ``function`` and records the arguments of each call, bound to its parameters."""

    def __init__(self, function):
        self.function, self.calls = function, []

    def __call__(self, *args, **kwargs):
        with contextlib.suppress(TypeError):  # the call itself will say what is wrong
            self.calls.append(inspect.signature(self.function).bind(*args, **kwargs).arguments)
        return self.function(*args, **kwargs)


def helper_calls(layer_cls):
    """(the generic layer, its input, output shape, {helper: calls}) of ``layer_cls``'s forward
    and backward on the generic layer, watching the unfold and offset_pixels they call; the
    calls made before a crash are kept."""
    layer = layer_cls(**GENERIC_CONV, rng=0)
    x = np.random.default_rng(0).standard_normal(GENERIC_IMAGES)
    expected = convolution_by_definition(
        x, layer.weight.data, layer.bias.data, layer.stride, layer.padding
    )
    namespaces = {id(f.__globals__): f.__globals__ for f in (layer_cls.forward, layer_cls.backward)}
    spies = {name: _Spy(getattr(conv, name)) for name in ("unfold", "offset_pixels")}
    saved = [(space, name, space.get(name)) for space in namespaces.values() for name in spies]
    try:
        for space, name, found in saved:
            if found is getattr(conv, name):  # the learner's code calls pancake's helper
                space[name] = spies[name]
        crash = given_shape = None
        try:
            given_shape = np.shape(layer(x))
            layer.backward(np.ones(given_shape))
        except Exception as error:  # reported by the check itself; kept for a hint
            crash = error
    finally:
        for space, name, found in saved:
            if found is None:
                space.pop(name, None)
            else:
                space[name] = found
    calls = {name: spy.calls for name, spy in spies.items()}
    return layer, x, expected.shape, calls | {"crash": crash, "output": given_shape}


def _pair_said(value, right, name) -> str:
    """How the pair ``value`` differs from ``right``, the one ``name`` holds: '' when it
    does not."""
    value = tuple(int(v) for v in np.ravel(value)) if np.size(value) == 2 else value
    if value == right:
        return ""
    if value == right[::-1]:
        return f"{value}, the pair swapped: {name} is (rows, columns) = {right}"
    return f"{value} where {name} = {right} belongs"


def conv2d_helper_hint(layer_cls) -> str:
    """What the generic layer's forward gave unfold, or its backward offset_pixels, that
    differs from what the convolution needs: the padded input's shape, the kernel, the
    stride, the window counts, the kernel offsets covered; or ''."""
    try:
        layer, x, output_shape, calls = helper_calls(layer_cls)
    except Exception:  # no generic layer to watch: no hint from here
        return ""
    (n, c_in, height, width), (ph, pw) = x.shape, layer.padding
    run = f"\nHint: run as {layer!r} on x of shape {x.shape}, "
    if calls["unfold"]:
        given = calls["unfold"][0]
        images, kernel, stride = (given.get(k) for k in ("x", "kernel", "stride"))
        padded = (n, height + 2 * ph, width + 2 * pw, c_in)
        if np.shape(images) != padded:
            return (
                f"{run}forward gives unfold images of shape {np.shape(images)}, where the "
                f"padded channels-last input, (N, H + 2·ph, W + 2·pw, C_in), is {padded}: pad "
                "only the height and width, ph and pw zeros on each side, and move the channels "
                "last (np.pad pads every axis it gets a pair for)"
            )
        if said := _pair_said(kernel, layer.kernel_size, "self.kernel_size"):
            return f"{run}forward gives unfold the kernel {said}"
        if said := _pair_said(stride, layer.stride, "self.stride"):
            what = (
                " (that is the kernel size: windows are self.stride apart, and overlap when "
                "it is smaller than the kernel)"
                if tuple(np.ravel(stride)) == layer.kernel_size
                else ""
            )
            return f"{run}forward gives unfold the stride {said}{what}"
    if hint := _output_size_hint(calls["crash"], n, output_shape[2:], calls["output"]):
        return f"{run}{hint}"
    offsets = calls["offset_pixels"]
    if offsets:
        for given in offsets:
            if said := _pair_said(given.get("stride"), layer.stride, "self.stride"):
                return (
                    f"{run}backward gives offset_pixels the stride {said}: entry (p, q) of "
                    "window (i, j) is pixel (i·sh + p, j·sw + q), the windows self.stride apart"
                )
            if said := _pair_said(given.get("windows"), output_shape[2:], "(H', W')"):
                return (
                    f"{run}backward gives offset_pixels the window counts {said}: pass the "
                    "output's height and width, grad_output.shape[2:]"
                )
        kh, kw = layer.kernel_size
        done = {tuple(int(v) for v in np.ravel(given.get("offset", ()))) for given in offsets}
        # offsets left out by a backward that crashed midway say nothing: its crash does
        if calls["crash"] is None and done != set(itertools.product(range(kh), range(kw))):
            return (
                f"{run}backward calls offset_pixels for the offsets {sorted(done)}, but a "
                f"{kh}x{kw} kernel has one for every (p, q), p in range(kh) and q in range(kw)"
            )
    return ""


def _output_size_hint(crash, n, windows, given=None) -> str:
    """When forward's output (shape ``given``) has a number of positions one off along the
    height, the width or both from the (H', W') = ``windows`` that unfold gives, or
    ``crash`` is a reshape to such a number (as n·H'·W' rows first, or H', W' next to each
    other): that, and the rule; else ''."""
    if given is not None and len(given) == 4:  # forward returned (backward may crash)
        numbers = list(given[2:])
    elif isinstance(crash, ValueError) and "cannot reshape" in str(crash):
        asked = re.search(r"into shape \(([^)]*)\)", str(crash))
        numbers = [int(v) for v in re.findall(r"-?\d+", asked.group(1))] if asked else []
    else:
        return ""
    out_h, out_w = windows
    for dh, dw in itertools.product((-1, 0, 1), repeat=2):
        h, w = out_h + dh, out_w + dw
        if (dh, dw) == (0, 0) or min(h, w) < 0:
            continue
        pairs = list(itertools.pairwise(numbers))
        if numbers[:1] == [n * h * w] or (h, w) in pairs:
            return (
                f"forward reshapes to {h} x {w} output positions, but unfold gives {out_h} x "
                f"{out_w} windows: H' = (H + 2·ph - kh) // sh + 1 (the + 1 counts the first "
                "window), or read them off the windows, windows.shape[1:3]"
            )
    return ""


def check_conv2d_gradients(layer, x):
    """check_gradients of ``layer`` at ``x``, its hint replaced by what the backward pass of
    the generic layer gave offset_pixels, when that is wrong."""
    try:
        return check_gradients(layer, x)
    except AssertionError as error:
        hint = conv2d_helper_hint(type(layer))
        if hint and hasattr(error, "with_hint"):
            raise error.with_hint(hint.removeprefix("\nHint: ")) from None
        raise


def check_conv2d_output(layer, x, expected):
    """check_values of ``layer(x)`` against ``expected``, the convolution's definition, with
    a hint when the output is that of a common mistake, or when the generic layer gives
    unfold the wrong input."""
    try:
        output = layer(x)
    except (ValueError, IndexError, TypeError) as error:
        if hint := conv2d_helper_hint(type(layer)):
            raise AssertionError(
                f"{layer!r} on x of shape {x.shape} raised {type(error).__name__}: {error}{hint}"
            ) from None
        if layer.bias is None or f"({layer.out_channels},)" not in str(error):
            raise
        raise AssertionError(
            f"{layer!r} on x of shape {x.shape}: {error}\nHint: the bias of shape "
            f"({layer.out_channels},) lines up with the last axis of (N, C_out, H', W'): add "
            "it to the (rows, C_out) product, before the reshape"
        ) from None
    try:
        return check_values("Conv2d(x)", output, expected, formula="the convolution's definition")
    except AssertionError as error:
        wrong_there, hint = generic_output_hint(type(layer))
        if not wrong_there:  # a mistake of this case only: named from it
            hint = conv2d_output_hint(layer, x, output)
        if hint:
            raise with_hint(error, hint) from None
        if hint := conv2d_helper_hint(type(layer)):  # replaces check_values' own hint
            raise AssertionError(f"{str(error).split(chr(10) + 'Hint: ')[0]}{hint}") from None
        raise


def generic_output_hint(layer_cls) -> tuple[bool, str]:
    """(whether ``layer_cls``'s output is wrong on the generic layer, the hint of the
    output families there, prefixed by that layer, or ''): a relation that holds on the
    failing example by a coincidence of its sizes (all padding on one side looks like
    one-sided padding when the stride skips the last rows) is not named from it."""
    layer = layer_cls(**GENERIC_CONV, rng=0)
    x = np.random.default_rng(0).standard_normal(GENERIC_IMAGES)
    expected = convolution_by_definition(
        x, layer.weight.data, layer.bias.data, layer.stride, layer.padding
    )
    try:
        output = np.asarray(layer(x), dtype=np.float64)
    except Exception:  # wrong there too, in a way the output cannot show
        return True, ""
    if output.shape == expected.shape and np.allclose(output, expected, rtol=1e-9, atol=1e-12):
        return False, ""
    hint = conv2d_output_hint(layer, x, output)
    if not hint:
        return True, ""
    return (
        True,
        f"\nHint: run as {layer!r} on x of shape {x.shape}: {hint.removeprefix(chr(10) + 'Hint: ')}",
    )


def visible_check_conv2d():
    """The visible check under the `Conv2d` answer."""
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5))
    layer = Conv2d(3, 4, kernel_size=3, stride=2, padding=1, rng=0)
    print(layer, "->", layer(x).shape)
    expected = convolution_by_definition(
        x, layer.weight.data, layer.bias.data, layer.stride, layer.padding
    )
    print(check_conv2d_output(layer, x, expected))
    print(check_conv2d_gradients(layer, x))


def check_conv2d_keeps_float32(settings, *, gradients: bool):
    """A float32 layer fed float32 images returns float32 (and, with ``gradients``, float32
    gradients): the input's dtype is kept throughout."""
    shape, kernel, stride, padding = settings
    layer = Conv2d(shape[1], 2, kernel, stride, padding, rng=0, dtype=np.float32)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    output = layer(x)
    found = {"output": output.dtype}
    if gradients:
        found["dL/dx"] = layer.backward(np.ones_like(output)).dtype
        found["weight.grad"] = layer.weight.grad.dtype
    wrong = {name: str(dtype) for name, dtype in found.items() if dtype != np.float32}
    assert not wrong, (
        f"a float32 Conv2d fed float32 images gives {wrong}: keep the input's dtype "
        "(a zero array made without dtype=x.dtype is float64)"
    )


@graded
@given(settings=pst.conv_settings(), out_channels=st.integers(1, 4), data=st.data())
def test_conv2d_forward(settings, out_channels, data):
    """the output equals the convolution's definition, for random kernels (1-5), strides (1-3), paddings (0-2) and non-square inputs; float32 stays float32"""
    shape, kernel, stride, padding = settings
    layer = Conv2d(shape[1], out_channels, kernel, stride, padding, rng=data.draw(pst.seeds()))
    x = data.draw(pst.arrays(shape, scale=pst.scales()))
    expected = convolution_by_definition(x, layer.weight.data, layer.bias.data, stride, padding)
    check_conv2d_output(layer, x, expected)
    check_conv2d_keeps_float32(settings, gradients=False)


@graded
@given(
    settings=pst.conv_settings(), out_channels=st.integers(1, 4), bias=st.booleans(), data=st.data()
)
def test_conv2d_gradients(settings, out_channels, bias, data):
    """the output, then check_gradients (input, weight, bias, accumulation) for random kernels, strides, paddings and inputs; float32 stays float32"""
    shape, kernel, stride, padding = settings
    layer = Conv2d(
        shape[1], out_channels, kernel, stride, padding, bias=bias, rng=data.draw(pst.seeds())
    )
    x = data.draw(pst.arrays(shape, scale=pst.scales()))
    bias_values = None if layer.bias is None else layer.bias.data
    expected = convolution_by_definition(x, layer.weight.data, bias_values, stride, padding)
    check_conv2d_output(layer, x, expected)
    check_conv2d_gradients(layer, x)
    check_conv2d_keeps_float32(settings, gradients=True)


@graded
@given(settings=pst.conv_settings(), data=st.data())
def test_conv2d_first_layer(settings, data):
    """with needs_input_grad = False, backward returns None and the parameter gradients still pass check_gradients"""
    shape, kernel, stride, padding = settings
    layer = Conv2d(shape[1], 2, kernel, stride, padding, rng=data.draw(pst.seeds()))
    layer.needs_input_grad = False
    x = data.draw(pst.arrays(shape))
    expected = convolution_by_definition(x, layer.weight.data, layer.bias.data, stride, padding)
    check_conv2d_output(layer, x, expected)
    grad_input = layer.backward(np.ones(layer(x).shape))
    assert grad_input is None, "a first layer (needs_input_grad = False) returns None"
    check_conv2d_gradients(layer, x)


CONV2D = Part(
    target="pancake.nn.conv.Conv2d",
    instructions="""
        `Conv2d(in_channels, out_channels, kernel_size, stride, padding)` computes, for
        `x` of shape `(N, C_in, H, W)`,

        $$y_{n,o,i,j} = b_o + \\sum_{c,p,q} w_{o,c,p,q}\\,
        \\tilde x_{n,c,\\,i s_h + p,\\,j s_w + q}$$

        with `self.weight` ($w$, shape `(C_out, C_in, kh, kw)`), `self.bias` ($b$, shape
        `(C_out,)`, or `None`), and $\\tilde x$ the input with `padding` rows and
        columns of zeros on **each** side. `self.kernel_size`, `self.stride` and
        `self.padding` are pairs `(rows, columns)`. The output has shape
        `(N, C_out, H', W')`, $H' = \\lfloor (H + 2p_h - k_h) / s_h \\rfloor + 1$.

        Two helpers work on channels-last images `(N, H, W, C)`:
        `unfold(images, kernel, stride)` returns every window as a view of shape
        `(N, H', W', kh, kw, C)`, and `offset_pixels((p, q), (H', W'), stride)` is the
        index of the pixels that entry `(p, q)` of every window covers:
        `images[offset_pixels(...)]` has shape `(N, H', W', C)`.
        `x.transpose(0, 2, 3, 1)` is the channels-last view of `x`.

        - `forward(x)`: build the padded channels-last input (a zero array of shape
          `(N, H + 2p_h, W + 2p_w, C_in)` with `x` copied into its middle), take its
          windows, reshape them to the im2col matrix with one row per output position
          `(N·H'·W', kh·kw·C_in)`, save what `backward` needs, multiply by the kernels
          flattened in the same order (`weight.transpose(0, 2, 3, 1)`), add the bias and
          return the result reshaped to `(N, C_out, H', W')`.
        - `backward(grad_output)`, in its two marked places: first add
          $\\partial L/\\partial w$ (the im2col matrix times the gradient, as in
          `Linear`, reshaped back to the weight's layout) and $\\partial L/\\partial b$ (a
          sum over every output position of every image); then return
          $\\partial L/\\partial x$: the gradient of the im2col matrix folded back onto
          the padded input, one kernel offset at a time (entry `(p, q)` of every window
          sends the gradient's rows times `weight[:, :, p, q]` to the pixels it covers,
          adding where windows overlap), without the padding, in NCHW layout.

        Gradients are **accumulated** (`+=`); no Python loop over positions. Keep the
        input's dtype: float32 images give a float32 output and float32 gradients.
    """,
    check=visible_check_conv2d,
    tests=(
        GradedTest(test_conv2d_forward, points=2),
        GradedTest(test_conv2d_gradients, points=3),
        GradedTest(test_conv2d_first_layer, points=1),
    ),
)


def max_pool_by_definition(x, kernel, stride):
    """``out[n, c, i, j]``: the largest value of the window at ``(i*sh, j*sw)``, one at a time."""
    (kh, kw), (sh, sw) = kernel, stride
    out_h = (x.shape[2] - kh) // sh + 1
    out_w = (x.shape[3] - kw) // sw + 1
    output = np.zeros((*x.shape[:2], out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            output[:, :, i, j] = x[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw].max(
                axis=(2, 3)
            )
    return output


def routed_to_winners(x, grad_output, kernel, stride, *, entry, everywhere=False):
    """Each window's gradient sent to its first maximum, by definition, with the switches of
    the mistakes: ``entry(k, kh, kw)`` reads the winner's (row, column) off its flat index
    k; ``everywhere`` sends it to the whole window."""
    (kh, kw), (sh, sw) = kernel, stride
    result = np.zeros(x.shape)
    n, c = np.indices(x.shape[:2])
    for i in range(grad_output.shape[2]):
        for j in range(grad_output.shape[3]):
            window = x[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
            p, q = entry(window.reshape(*x.shape[:2], -1).argmax(axis=-1), kh, kw)
            for dp, dq in np.ndindex(kh, kw) if everywhere else [(p, q)]:
                np.add.at(result, (n, c, i * sh + dp, j * sw + dq), grad_output[:, :, i, j])
    return result


MAX_POOL_MISTAKES = {
    "the winner's row and column are read the wrong way: entry k of a window is kernel row "
    "k // kw, column k % kw (arrange the entries as (kh, kw), then the window axes)": dict(
        entry=lambda k, kh, kw: (k % kh, k // kh)
    ),
    "every entry of a window gets its gradient: only the window's first maximum does "
    "(multiply by is_winner)": dict(entry=lambda k, kh, kw: (k // kw, k % kw), everywhere=True),
}


def generic_max_pool_backward(pool_cls):
    """``pool_cls``'s backward run on a generic input (kernel (2, 3), stride (1, 2):
    non-square, overlapping rows; H' = 5, W' = 3 differ, and differ from the channels):
    (x, grad_output, what it returned)."""
    x = pst.distinct_values((2, 2, 6, 7), seed=1)
    pool = pool_cls((2, 3), (1, 2))
    grad_output = np.random.default_rng(1).standard_normal(pool(x).shape)
    return x, grad_output, pool.backward(grad_output)


def max_pool_backward_hint(pool_cls) -> str:
    """The mistake of ``pool_cls``'s backward, recognised on a generic input (see
    ``generic_max_pool_backward``), or ''."""
    try:
        x, grad_output, got = generic_max_pool_backward(pool_cls)
        got = np.asarray(got, dtype=np.float64)
    except (ValueError, TypeError, IndexError, AttributeError):
        return ""
    for hint, switches in MAX_POOL_MISTAKES.items():
        expected = routed_to_winners(x, grad_output, (2, 3), (1, 2), **switches)
        if got.shape == expected.shape and np.allclose(got, expected, rtol=1e-9):
            return hint
    return ""


def check_max_pool_gradients(kernel, stride, x):
    """check_gradients of ``MaxPool2d(kernel, stride)`` at ``x``, its hint replaced by the
    mistake of ``MAX_POOL_MISTAKES`` that the backward pass makes, if one matches."""
    try:
        return check_gradients(MaxPool2d(kernel, stride), x)
    except AssertionError as error:
        hint = max_pool_backward_hint(MaxPool2d)
        if hint and hasattr(error, "with_hint"):
            raise error.with_hint(hint) from None
        if "backward() raised" in str(error):
            # A crash on a small case can come from deep inside a helper (fold), where
            # arrays of lengths 1 and 2 happened to broadcast: the crash on the generic
            # input, whose shapes all differ, is the one explained.
            x = pst.distinct_values((2, 2, 6, 7), seed=1)
            try:
                check_gradients(MaxPool2d((2, 3), (1, 2)), x)
            except AssertionError as generic:
                if "backward() raised" in str(generic) and "\nHint: " in str(generic):
                    raise AssertionError(
                        f"{str(error).split(chr(10) + 'Hint: ')[0]}\nand on a generic case, "
                        f"x of shape {x.shape}, kernel (2, 3), stride (1, 2): {generic}"
                    ) from None
        raise


def check_max_pool_backward(grad_input, expected):
    """check_values of MaxPool2d's backward against ``expected``, with the hint of
    ``max_pool_backward_hint`` when it recognises the mistake."""
    try:
        check_values(
            "MaxPool2d.backward(grad_output)",
            grad_input,
            expected,
            formula="each window's gradient added at its first maximum",
        )
    except AssertionError as error:
        hint = max_pool_backward_hint(MaxPool2d)
        raise AssertionError(f"{error}\nHint: {hint}" if hint else str(error)) from None


def visible_check_max_pool2d():
    """The visible check under the `MaxPool2d` answer."""
    x = np.array([[[[1.0, 3, 2, 0], [4, 2, 1, 1], [0, 0, 5, 5], [2, 1, 5, 2]]]])
    pool = MaxPool2d(2)
    print(pool(x))
    print(pool.backward(np.array([[[[10.0, 20], [30, 40]]]])))
    print(check_max_pool_gradients(2, 1, pst.distinct_values((2, 3, 5, 4), seed=0)))


@graded
@given(settings=pst.pool_settings(), seed=pst.seeds())
def test_max_pool2d_gradients(settings, seed):
    """the output, then check_gradients for random kernels (1-5), strides (1-3, overlapping windows too) and inputs without ties"""
    shape, kernel, stride = settings
    x = pst.distinct_values(shape, seed)
    expected = max_pool_by_definition(x, kernel, stride)
    check_values(
        "MaxPool2d(x)", MaxPool2d(kernel, stride)(x), expected, formula="each window's max"
    )
    check_max_pool_gradients(kernel, stride, x)


@graded
@given(settings=pst.pool_settings(), data=st.data())
def test_max_pool2d_ties(settings, data):
    """on inputs with many equal values, each window sends its whole gradient to its first maximum, and overlapping windows add up; float32 stays float32"""
    shape, kernel, stride = settings
    x = np.round(data.draw(pst.arrays(shape)))  # rounding makes ties
    pool = MaxPool2d(kernel, stride)
    output = pool(x)
    grad_output = data.draw(pst.arrays(output.shape))
    expected = np.zeros(shape)
    kh, kw = kernel
    for i in range(output.shape[2]):
        for j in range(output.shape[3]):
            window = x[:, :, i * stride[0] : i * stride[0] + kh, j * stride[1] : j * stride[1] + kw]
            first = window.reshape(*shape[:2], -1).argmax(axis=-1)  # the first maximum
            rows, cols = i * stride[0] + first // kw, j * stride[1] + first % kw
            n, c = np.indices(shape[:2])
            np.add.at(expected, (n, c, rows, cols), grad_output[:, :, i, j])
    check_max_pool_backward(pool.backward(grad_output), expected)
    grad_input = pool.backward(grad_output.astype(np.float32))
    assert grad_input.dtype == np.float32, (
        f"MaxPool2d.backward returns {grad_input.dtype} for a float32 grad_output: "
        "keep grad_output's dtype"
    )


MAX_POOL2D = Part(
    target="pancake.nn.conv.MaxPool2d",
    instructions="""
        `MaxPool2d(kernel_size, stride)` keeps the largest value of each window of each
        channel. Its `forward` is given: it saves `is_winner`, a boolean array of shape
        `(kh * kw, N, H', W', C)` that is True at entry `k = p * kw + q` (kernel row `p`,
        column `q`) of each window's first maximum, and only there, and the input's shape.

        Write `backward(grad_output)` (shape `(N, C, H', W')`): each window's gradient
        goes, whole, to its maximum; every other input gets nothing from that window.
        Windows overlap when the stride is smaller than the kernel, and a value that is
        the maximum of several windows receives the **sum** of their gradients. Put each
        window's gradient at its winning entry, arrange the entries as `unfold`'s windows
        `(N, H', W', kh, kw, C)`, and send them back to the pixels with `fold`, which adds
        where windows overlap (vectorised: no Python loop over positions). Return an array
        of the input's shape and of `grad_output`'s dtype.
    """,
    check=visible_check_max_pool2d,
    tests=(
        GradedTest(test_max_pool2d_gradients, points=2),
        GradedTest(test_max_pool2d_ties, points=2),
    ),
)

ASSIGNMENT = Assignment(
    number=12,
    slug="convolutions",
    title="Convolutions and pooling",
    introduction="""
        This exercise goes with chapter 12. You write the convolution layer as one matrix
        product on the windows of its input (im2col) and its backward pass, which folds
        the gradient of the windows back onto the pixels; then the backward pass of max
        pooling, which routes each window's gradient to its maximum.
    """,
    parts=(CONV2D, MAX_POOL2D),
)
