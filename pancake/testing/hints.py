"""Name the mistake behind a wrong gradient: the hints of the gradient checker.

``diagnose`` compares a wrong gradient with the true one (a shape, a sign, a transpose,
a factor). The ``*_hint`` functions go further for a kind of module: each builds what a
common mistake would return, on a generic input of its own, and names the mistake whose
prediction matches. They are asked only after a check has failed, and return None when
no hypothesis matches (or when the module cannot be run on another input).

Generic inputs matter: hypothesis shrinks a failing case to one entry of 0.5 or 1.0, where
1 - x² and 1 - y² may coincide and every error of a single entry is "a constant factor".
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np

from pancake.ops import one_hot, softmax

# How closely a hypothesis must reproduce the wrong gradient to be named.
MATCH_RTOL = 1e-5
# A generic input for element-wise modules: distinct values of both signs, away from 0 and ±1.
GENERIC_POINTS = np.array([[-1.7, -0.8, -0.3, 0.45], [0.6, 1.15, 1.9, -2.3]])
GENERIC_POINTS.setflags(write=False)  # modules get copies: one that writes in place can't spoil it


def diagnose(
    analytic: np.ndarray | None,
    numeric: np.ndarray,
    batch_size: int,
    input_size: int,
    related: dict[str, tuple] | None = None,
    x: np.ndarray | None = None,
) -> str:
    """Name the likely mistake that turns the true gradient ``numeric`` into ``analytic``.

    ``related`` names the shapes of the other arrays in play (grad_output, the input, the
    parameters), so that a gradient of the wrong shape can be traced to one of them; ``x``
    is the input, when the gradient is of x, to say where wrong values lie (x < 0).
    """
    if analytic is None:
        return "backward returned None: did you forget to `return` the gradient?"
    if analytic.shape != numeric.shape:
        return diagnose_shape(analytic.shape, numeric.shape, related, of_input=x is not None)
    largest = float(np.abs(analytic).max(initial=0.0))
    if not np.any(numeric):
        return "the gradient should be zero here; backward gives non-zero values"
    if float(np.abs(numeric).max()) < 1e-6 * largest:
        return (
            "the gradient should be (nearly) zero here: finite differences give at most "
            f"{float(np.abs(numeric).max()):.2g}, backward gives values up to {largest:.3g}"
        )
    if not np.any(analytic):
        return "the gradient is all zero: was it computed and written (or returned) at all?"
    if close(analytic, -numeric):
        return "the gradient has the wrong sign"
    if close(np.abs(analytic), np.abs(numeric)):
        return _sign_lost_hint(wrong_entries(analytic, numeric), x)
    if numeric.ndim == 2 and numeric.shape[0] == numeric.shape[1] and close(analytic, numeric.T):
        return "the gradient is transposed"
    factor = float(np.vdot(analytic, numeric) / np.vdot(numeric, numeric))
    if close(analytic, factor * numeric):
        hint = diagnose_factor(factor, batch_size, input_size)
        if numeric.size > 1 or "constant factor" not in hint:
            return hint  # one entry is always "a factor" of the truth: that says nothing
    if numeric.size > 1 and close(analytic, np.full_like(numeric, numeric.sum())):
        return (
            "every entry of the gradient is the sum of all the entries of the true one: the "
            "sum runs over every axis, the channel (or feature) axis too, where there is one "
            "sum per channel; leave that axis out (axis=(0, 2, 3) on images, axis=0 on rows "
            "of features)"
        )
    filled = analytic != 0
    if np.any(~filled & (numeric != 0)) and close(analytic, np.where(filled, numeric, 0.0)):
        return _filled_in_hint(filled)
    shifted = _shifted_by_one(analytic, numeric)
    if shifted:
        return shifted
    if close(np.sort(analytic, axis=None), np.sort(numeric, axis=None)):
        return (
            "the gradient holds the right values in the wrong places (the entries of the true "
            "gradient, rearranged): check the order of the axes where you reshape or transpose "
            "it back to the tensor's layout, and which entry each value is sent to"
        )
    return where_wrong_hint(analytic, numeric, x) or VALUES_WRONG_HINT


def _shifted_by_one(analytic: np.ndarray, numeric: np.ndarray) -> str | None:
    """The hint when the gradient is the true one moved by one place along an axis (entry i
    holds the value of entry i + 1, or of i - 1), confirmed on at least 3 non-zero entries
    where the two overlap; or None."""
    for axis, length in enumerate(numeric.shape):
        if length < 3:
            continue
        head, tail = range(length - 1), range(1, length)
        for got_part, true_part, which in ((head, tail, "i + 1"), (tail, head, "i - 1")):
            got = np.take(analytic, got_part, axis=axis)
            truth = np.take(numeric, true_part, axis=axis)
            unmoved = np.take(numeric, got_part, axis=axis)
            if np.count_nonzero(truth) >= 3 and close(got, truth) and not close(got, unmoved):
                return (
                    f"the gradient is the true one moved by one place along axis {axis}: its "
                    f"entry i holds the value of entry {which}: an index off by one in a loop, a "
                    "slice or an offset along that axis"
                )
    return None


def _sign_lost_hint(flipped: np.ndarray, x: np.ndarray | None) -> str:
    """The hint for a gradient of the right size everywhere whose sign is wrong at the
    ``flipped`` entries only: where, when that is where x < 0 or x > 0."""
    where = f"at {int(flipped.sum())} of the {flipped.size} entries"
    if x is not None and np.shape(x) == flipped.shape:
        for sign, mask in (("x < 0", np.asarray(x) < 0), ("x > 0", np.asarray(x) > 0)):
            if np.array_equal(flipped, mask):
                where = f"exactly where {sign}"
    return (
        f"the gradient has the right size everywhere but the wrong sign {where}: a sign is "
        "lost (abs(), the square root of a square, |x| for x) or a sign factor is missing "
        "(np.sign(x) in the derivative of |x|)"
    )


def _filled_in_hint(filled: np.ndarray) -> str:
    """The hint for a gradient right where it is filled in and 0 elsewhere: which entries."""
    count = f"only {int(filled.sum())} of the {filled.size} entries of the gradient are filled in"
    flat = np.flatnonzero(filled.ravel())
    if filled.size > 1 and list(flat) == [filled.size - 1]:
        return (
            f"{count}, the last one (and right): is the assignment inside the loop, run once "
            "for every entry? Or is the array made again (zeros) inside the loop, wiping the "
            "entries before? Make it once before the loop, and assign inside it"
        )
    if filled.size > 1 and list(flat) == [0]:
        return (
            f"{count}, the first one (and right): the loop stops after its first entry (a "
            "return or break inside it?); return after the loop"
        )
    return (
        f"{count} (and right); the others are 0 where they should not be: is the assignment "
        "inside the loop, run once for every entry, or does a mask zero too many?"
    )


VALUES_WRONG_HINT = (
    "the values are wrong (not a simple sign, transpose or scale mistake): "
    "re-derive the local derivative and check which cached value you use"
)
UNNAMED_FACTOR = "the gradient is off by a constant factor of"


def wrong_entries(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    """Where ``analytic`` differs from ``numeric`` by more than 1e-6 of its largest entry."""
    return np.abs(analytic - numeric) > 1e-6 * np.abs(numeric).max(initial=0.0) + 1e-12


def where_wrong_hint(analytic: np.ndarray, numeric: np.ndarray, x=None) -> str | None:
    """Where a wrong gradient is wrong, when that is a telling part of it: only where x < 0
    (or x > 0), only at the border of an image, or only in some slices of one axis; or None."""
    wrong = wrong_entries(analytic, numeric)
    if not np.any(wrong) or np.all(wrong):
        return None
    count = f"{int(wrong.sum())} of the {wrong.size} entries"
    if x is not None and np.shape(x) == wrong.shape:
        for where, mask in (("x < 0", np.asarray(x) < 0), ("x > 0", np.asarray(x) > 0)):
            if np.any(mask) and np.array_equal(wrong, mask & wrong) and np.all(wrong[mask]):
                return (
                    f"the gradient is wrong exactly where {where} ({count}) and right "
                    "elsewhere: check what backward does for those inputs (a mask, a branch, "
                    "a slope)"
                )
    if wrong.ndim == 4 and min(wrong.shape[2:]) > 2:
        border = np.ones(wrong.shape[2:], dtype=bool)
        border[1:-1, 1:-1] = False
        if not np.any(wrong[:, :, ~border]):
            return (
                f"the gradient is wrong only at the border of the image ({count}: first or "
                "last rows and columns), right inside: check the padding, and where the "
                "padded gradient is cropped back to the input"
            )
    for axis in range(wrong.ndim):
        others = tuple(a for a in range(wrong.ndim) if a != axis)
        slices = np.any(wrong, axis=others)
        if 0 < slices.sum() < len(slices) and wrong.ndim > 1:
            indices = ", ".join(str(i) for i in np.flatnonzero(slices)[:6])
            return (
                f"the gradient is wrong only at index {indices} of axis {axis} ({count}), "
                f"right at the other {int(len(slices) - slices.sum())} of that axis: look for "
                "what backward does differently there (a loop bound, a slice, a first or last "
                "entry)"
            )
    return None


def diagnose_shape(
    got: tuple, expected: tuple, related: dict[str, tuple] | None = None, *, of_input=False
) -> str:
    """The hint for a gradient of shape ``got`` where ``expected`` belongs.

    The hint relates the two shapes (axes reduced away, kept with length 1, stretched,
    repeated, a few entries too long, flattened) or ``got`` to the shape of another array in
    play, ``related`` ({"grad_output": (4, 2), "weight": (3, 2)...}). ``of_input``: the
    gradient is the input's, which a padding may have made longer.
    """
    got, expected = tuple(got), tuple(expected)
    if got == expected:
        return "check the shapes of the arrays you combine in backward"
    if len(got) > len(expected) and got[len(got) - len(expected) :] == expected:
        extra = got[: len(got) - len(expected)]
        if all(length == 1 for length in extra):  # one example, or a sum with keepdims
            return (
                f"the gradient has extra leading axes of length 1, {extra}: sum over the batch "
                "axis (every example contributes to the same parameter), and without "
                "keepdims=True, which keeps the summed axes with length 1"
            )
        return (
            f"the gradient has extra leading (batch) axes {extra}: "
            "sum over the batch axis, and over every other axis the parameter does not have "
            "(the height and width of images too), since every example contributes to the "
            "same parameter"
        )
    if len(got) == len(expected) == 2 and got == expected[::-1]:
        return "the gradient is transposed"
    if len(got) == len(expected) > 2 and sorted(got) == sorted(expected):
        return (
            f"the gradient's axes are in another order: shape {got}, expected {expected}: "
            "transpose it back to the tensor's layout (channels-last arrays go back to "
            "(N, C, H, W) with .transpose(0, 3, 1, 2)); or, if an array was made with a shape "
            "in another order (np.zeros(shape), fold(..., shape), a reshape), give that shape "
            "in the layout its values are in"
        )
    return (
        made_from_the_shape(got, expected)
        or _outer_product_of(got, related or {})
        or _axis_reduced_away(got, expected)
        or _axes_of_other_lengths(got, expected, of_input)
        or _shape_of_another_array(got, expected, related or {})
        or _flattened(got, expected)
        or _fallback_shape_hint(got, expected)
    )


def made_from_the_shape(got: tuple, expected: tuple) -> str | None:
    """The hint when ``got`` ends in an axis with one entry per axis of ``expected``: an
    array made from the shape tuple itself (np.ones_like(shape)), or None. Not for a tensor
    of one axis, where a length-1 axis has likelier causes."""
    got, expected = tuple(got), tuple(expected)
    if not got or got == expected or len(expected) == 1 or got[-1] != len(expected):
        return None
    if expected and (got[-1] == expected[-1] or _stretched_from(expected, got)):
        return None  # stretched from the tensor's shape: a product that broadcasts is likelier
    return (
        f"the gradient's last axis has {got[-1]} entries, one per axis of the tensor's shape "
        f"{expected} (shape {got}): an array made from the shape tuple itself "
        "(np.ones_like(shape) or np.array(shape) has one entry per axis): make an array of "
        "that shape, np.ones(shape), or np.broadcast_to(grad, shape)"
    )


def _stretched_from(shape: tuple, got: tuple) -> bool:
    """Whether ``shape`` broadcasts to ``got``."""
    try:
        return np.broadcast_shapes(shape, got) == got
    except ValueError:
        return False


def _outer_product_of(got: tuple, related: dict[str, tuple]) -> str | None:
    """The hint when ``got`` is (entries of the input x, entries of grad_output), the shape
    np.outer gives the two batches (it flattens its arguments), or None.

    With one feature in and out, (N, N) is also what an entry-wise product of a column and
    a row gives: that shape names no single mistake, and is left to the other hints.
    """
    batches = {
        name: shape
        for name, shape in related.items()
        if len(shape) >= 2 and (name == "the input x" or name.startswith("grad_output"))
    }
    for first, first_shape in batches.items():
        for second, second_shape in batches.items():
            sizes = (int(np.prod(first_shape)), int(np.prod(second_shape)))
            one_feature_each = first_shape[-1] == second_shape[-1] == 1
            if first != second and got == sizes and not one_feature_each:
                return (
                    f"the gradient has shape {got}: the number of entries of {first} "
                    f"{first_shape} by that of {second} {second_shape}, what np.outer gives "
                    "(it flattens its arguments and pairs every entry with every entry). "
                    "The outer product is the formula for one example; for a batch of rows, "
                    "the matrix product of the transposed rows sums the outer products of "
                    "the examples (x.T @ grad_output)"
                )
    return None


def _axis_reduced_away(got: tuple, expected: tuple) -> str | None:
    """The hint when ``got`` is ``expected`` without one of its axes, or None."""
    if len(got) != len(expected) - 1:
        return None
    axes = [a for a in range(len(expected)) if expected[:a] + expected[a + 1 :] == got]
    if not axes:
        return None
    which = " or ".join(str(a) for a in axes)
    batch = " (axis 0 is the batch: the gradient has one row per example)" if 0 in axes else ""
    if all(expected[a] == 1 for a in axes):  # the same entries: reduced, or flattened rows
        return (
            f"the gradient lost axis {which} of the tensor's shape {expected} (lost axes: shape "
            f"{got}, the same entries). A sum or mean over that axis of length 1{batch}, or a "
            "gradient computed from "
            "flattened rows (reshape(-1, n)), drops it: keep every axis of the tensor "
            "(compute from grad_output itself, or reshape back to the tensor's shape)"
        )
    return (
        f"the gradient lost axis {which} of the tensor's shape {expected}: shape {got}. A sum or "
        f"mean over that axis (or a squeeze) removed it{batch}: keep every axis of the tensor, "
        "and reduce only over axes the tensor does not have"
    )


def _axes_of_other_lengths(got: tuple, expected: tuple, of_input: bool) -> str | None:
    """The hint when ``got`` has ``expected``'s axes with other lengths, or None: an axis
    reduced to length 1 (keepdims), a padding still on (an input's gradient with an even
    number of entries too many on a spatial axis), stretched from length 1, repeated k
    times, or a few entries too long or short (a crop or a slice)."""
    if len(got) != len(expected):
        return None
    differ = [a for a in range(len(got)) if got[a] != expected[a]]
    axes = ("axis " if len(differ) == 1 else "axes ") + listed(differ)
    if 0 in got:
        return None  # an empty axis: the crop of a[p:-p]
    if all(got[a] == 1 for a in differ):
        return (
            f"{axes} of the gradient {'has' if len(differ) == 1 else 'have'} length 1 where "
            "the tensor has "
            f"{listed([expected[a] for a in differ])} entries (shape {got}, expected {expected}): "
            "likely summed or averaged over an axis the tensor has (reduce only over the axes "
            "where the tensor has length 1 or that it does not have), or a matrix product "
            "with its factors in the wrong order"
        )
    padded = [a >= 2 and got[a] - expected[a] in (2, 4, 6, 8) for a in differ]
    if of_input and len(got) >= 3 and all(padded):
        extra = listed([f"+{got[a] - expected[a]}" for a in differ])
        sides = listed([str((got[a] - expected[a]) // 2) for a in differ])
        return (
            f"{axes} of the gradient {'has' if len(differ) == 1 else 'have'} {extra} entries "
            f"(shape {got}, expected {expected}): the padding ({sides} on each side) still "
            "on, or a slice of the wrong length. Crop a padded axis with [p : p + n], n the "
            "length of the input itself (not of the padded array)"
        )
    if all(expected[a] == 1 for a in differ):
        return (
            f"the gradient was broadcast along {axes}, where the tensor has length "
            f"1 (shape {got}, expected {expected}): likely an entry-wise product (*) of arrays "
            "of different shapes, which stretches them (sum over those axes with keepdims=True, "
            "or use the matrix product that sums over them), or axes in another order"
        )
    if all(got[a] % expected[a] == 0 for a in differ):
        times = listed([got[a] // expected[a] for a in differ])
        return (
            f"{axes} of the gradient {'is' if len(differ) == 1 else 'are'} {times} times too "
            f"long (shape {got}, expected "
            f"{expected}): the values were repeated (np.tile or np.repeat multiply a length). "
            "To copy a gradient back over reduced axes, put them back with length 1 and "
            "np.broadcast_to the tensor's shape"
        )
    if len(got) >= 3 and all(a >= 2 and abs(got[a] - expected[a]) <= 4 for a in differ):
        offsets = listed([f"{got[a] - expected[a]:+d}" for a in differ])
        return (
            f"{axes} of the gradient {'has' if len(differ) == 1 else 'have'} "
            f"{offsets} entries (shape {got}, "
            f"expected {expected}): a slice or crop of the wrong length. Crop a padded axis "
            "with [p : p + n], n the length of the input itself (not of the padded array)"
        )
    return None


def _shape_of_another_array(got: tuple, expected: tuple, related: dict[str, tuple]) -> str | None:
    """The hint when ``got`` is the shape of another array in play, or None."""
    names = [name for name, shape in related.items() if tuple(shape) == got and got != expected]
    if not names:
        return None
    return (
        f"the gradient has the shape of {' or of '.join(names)}, {got}, not the tensor's "
        f"{expected}: a gradient has the shape of what it differentiates; check which arrays "
        "you combine (a matrix product's factors and their transposes, the axes you sum, a "
        "term added)"
    )


def _flattened(got: tuple, expected: tuple) -> str | None:
    """The hint when ``got`` is one axis of fewer entries than ``expected``, or None."""
    size, expected_size = int(np.prod(got)), int(np.prod(expected))
    if len(got) != 1 or size > expected_size or len(expected) < 2 and size == expected_size:
        return None
    return (
        f"the gradient is a flat array of {size} entries where the tensor has {expected_size} "
        f"in shape {expected}: a boolean selection such as grad_output[x > 0] keeps only the "
        "selected entries, flattened (so does ravel or reshape(-1)); multiply by the mask "
        "instead (grad_output * (x > 0)), or use np.where, which keeps the shape"
    )


def _fallback_shape_hint(got: tuple, expected: tuple) -> str:
    if len(got) < len(expected) and int(np.prod(got)) == int(np.prod(expected)):
        return (
            f"the gradient has the right number of entries but lost axes: shape {got}, "
            f"expected {expected}: compute it from grad_output itself (not from its "
            "flattened rows), or reshape it back to the tensor's shape"
        )
    if len(got) == len(expected) and 0 in got and 0 not in expected:
        return (
            f"the gradient has an empty axis: shape {got}, expected {expected}. A slice "
            "a[p:-p] is empty when p = 0: crop with a[p : p + n] (n the length to keep)"
        )
    return f"the gradient must have the shape of the tensor, {expected}, not {got}"


def listed(values: Sequence, last: str = "and") -> str:
    """``0``, ``0 and 2``, ``0, 1 and 2`` (or ``0 or 2`` with ``last="or"``)."""
    words = [str(value) for value in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {last} " + words[-1]


def diagnose_factor(factor: float, batch_size: int, input_size: int) -> str:
    """The hint for a gradient that is ``factor`` times the true one."""
    for size, what in ((batch_size, "the batch size"), (input_size, "the number of elements")):
        if size > 1 and np.isclose(factor, size, rtol=1e-3):
            return (
                f"the gradient is {size}x too large, a factor equal to {what}: "
                "a mean was differentiated as a sum (divide by the count)"
            )
        if size > 1 and np.isclose(factor, 1 / size, rtol=1e-3):
            return (
                f"the gradient is {size}x too small, a factor equal to {what}: "
                "a sum was differentiated as a mean (or you divided twice)"
            )
    for power, words in ((0.5, "half"), (2.0, "twice")):
        if np.isclose(factor, power, rtol=1e-6):
            return (
                f"the gradient is {words} the true one: a factor of 2 is "
                f"{'missing' if power < 1 else 'extra'} (the 2 of d(x²)/dx = 2x?)"
            )
    if abs(factor - 1) < 1e-5:
        sign = "+" if factor > 1 else "-"
        return (
            f"the gradient nearly matches (the best-fitting factor is 1 {sign} "
            f"{abs(factor - 1):.0e}) but misses the tolerance: a tiny extra term, or an input "
            "where the function has a kink (finite differences are unreliable there)"
        )
    return f"{UNNAMED_FACTOR} {factor:.6g}"


def close(a: np.ndarray, b: np.ndarray, rtol: float = 1e-6) -> bool:
    """Entry-wise equality up to ``rtol`` of the largest entry of ``b``; when ``b`` holds
    inf or nan, equality (nan equals nothing): an infinite scale would make anything close."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    if not np.all(np.isfinite(b)):
        return bool(np.array_equal(a, b))
    scale = np.abs(b).max(initial=0.0)
    return bool(np.all(np.abs(a - b) <= rtol * scale + 1e-12))


# -- element-wise modules: y_i = f(x_i) --------------------------------------------------
def elementwise_hint(module) -> str | None:
    """Name the mistake in the backward of a parameter-free element-wise module, or None.

    On ``GENERIC_POINTS`` x with a generic grad_output g, the true gradient is g·f'(x),
    with f' measured by central differences of the module itself. The hypotheses are
    the mistakes of the chain rule: f' taken at the output, at g, or twice; a formula
    in the output given the input; g or f' alone; a constant in place of f'(x).
    """
    try:
        with np.errstate(all="ignore"):  # probing may hit a pole: no warnings from the hint
            return _elementwise_hint(copy.deepcopy(module))
    except Exception:  # a module that rejects these inputs: no hint from here
        return None


def _elementwise_hint(module) -> str | None:
    if not _is_elementwise(module):  # parameters, if any, stay fixed: f'(x) is ∂y/∂x
        return None
    x = GENERIC_POINTS.copy()
    g = np.random.default_rng(0x6E7).standard_normal(x.shape)
    y = np.asarray(module(x.copy()), dtype=np.float64)
    try:
        returned = module.backward(g.copy())
    except ValueError as error:  # a product that crashes on x of two rows
        parameters = list(module.parameters()) if hasattr(module, "parameters") else []
        if parameters or ("matmul" not in str(error) and "not aligned" not in str(error)):
            raise  # a parameter's gradient may be the product at fault
        return _MATRIX_PRODUCT_HINT
    if returned is None:
        return None
    returned = np.asarray(returned, dtype=np.float64)
    if returned.shape == () and x.size > 1:
        return _ONE_NUMBER_HINT
    if returned.shape != x.shape:
        return _unpacking_hint(returned.shape, x.shape)

    def derivative(at: np.ndarray) -> np.ndarray:
        return _local_derivative(module, at)

    slope = derivative(x)
    if close(returned, g * slope, MATCH_RTOL):
        return None  # correct on generic inputs: the failure lies elsewhere
    hypotheses: list[tuple[Callable[[], np.ndarray], str]] = [
        (
            lambda: g * derivative(y),
            "the derivative is evaluated at the output y = f(x) instead of the input x "
            "(f' is applied to what forward returned): evaluate it at the saved input, or "
            "write it in terms of y without applying f again",
        ),
        (
            lambda: g * slope * slope,
            "the local derivative is applied twice: multiply grad_output by f'(x) once",
        ),
        (
            lambda: g * _output_formula_at(module, x),
            "the derivative's formula in terms of the output y (such as 1 - y² or "
            "y(1 - y)) was given the input x: use the saved output y there",
        ),
        (
            lambda: g * derivative(g),
            "the derivative is evaluated at grad_output instead of at the input x "
            "(for ReLU: the mask is x > 0, not grad_output > 0)",
        ),
        (
            lambda: slope,
            "backward returns the local derivative f'(x) alone: multiply it by "
            "grad_output (the chain rule)",
        ),
        (
            lambda: g,
            "backward returns grad_output unchanged: multiply it by the local derivative f'(x)",
        ),
        (
            lambda: g * y,
            "backward multiplies grad_output by f(x), the function itself: multiply by its "
            "derivative f'(x)",
        ),
        (
            lambda: g / slope,
            "backward divides grad_output by the local derivative f'(x) where the chain "
            "rule multiplies: grad_output * f'(x) (for exp, grad_output * y, not / y)",
        ),
        (
            lambda: g * derivative(-x),
            "the derivative is evaluated at -x: check the signs inside f'(x)",
        ),
    ]
    for predicted, hint in hypotheses:
        if close(returned, predicted(), MATCH_RTOL):
            return hint

    def backward_of(scale: float) -> np.ndarray:
        module(x.copy())
        return np.asarray(module.backward(scale * g), dtype=np.float64)

    not_linear = grad_output_nonlinearity(returned, backward_of(2.0), backward_of(3.0))
    if not_linear is not None:
        return NOT_LINEAR_HINTS[not_linear].format(what="backward's result")
    for name, other_slope in _OTHER_DERIVATIVES.items():
        if close(returned, g * other_slope(x), MATCH_RTOL):
            return (
                f"backward multiplies grad_output by {name}, but this module's f'(x) is "
                "another function: re-derive f'(x) for this module's forward"
            )
    if _one_number_for_grad_output(returned, slope, g):
        return (
            "grad_output is reduced to one number (a sum or a mean) before it is multiplied: "
            "the chain rule here is entry by entry, grad_output * f'(x), each entry of "
            "grad_output with the derivative at its own x"
        )
    ratio = returned / g
    if (
        ratio.flat[0] != 0
        and close(ratio, np.full_like(ratio, ratio.flat[0]), MATCH_RTOL)
        and not close(slope, np.full_like(slope, slope.flat[0]), 1e-3)
    ):
        return (
            f"backward multiplies grad_output by a constant ({ratio.flat[0]:.4g}), but this "
            "module's derivative depends on x: use the input saved by forward"
        )
    true = g * slope
    scale = float(np.vdot(returned, true) / np.vdot(true, true))
    if close(returned, scale * true, MATCH_RTOL):
        if np.isclose(scale, -1.0) or abs(scale) < 1e-9:
            return None  # a sign, or all zero: diagnose names those
        # Entry by entry, no batch: a factor here is never the batch size.
        return diagnose_factor(scale, batch_size=1, input_size=1)
    if close(returned, g * x, MATCH_RTOL):
        return (
            "backward multiplies grad_output by the input x itself: that is ∂y/∂k for "
            "y = k·x, not ∂y/∂x; multiply by the local derivative f'(x)"
        )
    return _output_polynomial_hint(module, y, ratio) or _local_factor_table(x, ratio, slope)


_MATRIX_PRODUCT_HINT = (
    "backward takes a matrix product (@ or np.dot) where the chain rule is entry by entry: "
    "for y_i = f(x_i), dL/dx_i = grad_output_i · f'(x_i), so write grad_output * f'(x)"
)

_ONE_NUMBER_HINT = (
    "backward returns one number for the whole input: a sum over the entries (np.sum, or a "
    "matrix product @ / np.dot of two vectors, which adds up the products) where the chain "
    "rule is entry by entry: dL/dx_i = grad_output_i · f'(x_i), one value per entry, "
    "grad_output * f'(x) with no sum"
)

# The derivatives of common activations, for a backward that copied the wrong one.
_OTHER_DERIVATIVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "σ(x)(1 - σ(x)), the derivative of the sigmoid": lambda x: (
        1 / (1 + np.exp(-x)) * (1 - 1 / (1 + np.exp(-x)))
    ),
    "1 - tanh(x)², the derivative of tanh": lambda x: 1 - np.tanh(x) ** 2,
    "σ(x), the sigmoid (the derivative of softplus)": lambda x: 1 / (1 + np.exp(-x)),
    "exp(x)": np.exp,
    "(x > 0), the derivative of ReLU": lambda x: (x > 0).astype(np.float64),
}


NOT_LINEAR_HINTS = {
    "constant": (
        "{what} does not change when grad_output does (backward(2g) gives the same): "
        "grad_output is left out of it; multiply by grad_output (the chain rule)"
    ),
    "comparison": (
        "{what} holds only 0s and 1s and does not change when grad_output does: a "
        "comparison took grad_output in (grad_output * x > 0 compares the product): bracket "
        "the mask, grad_output * (x > 0)"
    ),
    "offset": (
        "part of {what} does not scale with grad_output (backward(2g) is not twice "
        "backward(g)): every term must be multiplied by grad_output; check the brackets, "
        "grad_output * (the whole of f'(x)), and that nothing is added to it"
    ),
    "square": (
        "{what} grows with the square of grad_output (backward(2g) is not twice "
        "backward(g), one of its terms is four times): grad_output appears in two factors, "
        "such as inside the local derivative (y·(1 - grad_output)) where a saved value "
        "(x or y) belongs; multiply grad_output once by f'(x)"
    ),
}


def unchanged_kind(once: np.ndarray) -> str:
    """The kind of a result that does not change with grad_output: "comparison" when it
    holds only 0s and 1s (a mask that took grad_output in), else "constant"."""
    return "comparison" if np.all((once == 0) | (once == 1)) else "constant"


def grad_output_nonlinearity(once, twice, thrice) -> str | None:
    """How backward departs from being linear in grad_output, from its results for g, 2g
    and 3g: "constant" when it does not change at all ("comparison" if it holds only 0s
    and 1s: a mask that took grad_output in), "offset" when backward(t·g) =
    t·a + c with c ≠ 0 (a term without grad_output), "square" when it is t·a + t²·b with
    b ≠ 0; each confirmed at t = 3. None otherwise."""
    once, twice, thrice = (np.asarray(r, dtype=np.float64) for r in (once, twice, thrice))
    if not once.shape == twice.shape == thrice.shape:
        return None
    if not close(once, 0 * once) and close(twice, once) and close(thrice, once):
        return unchanged_kind(once)
    offset = 2 * once - twice
    if not close(offset, 0 * offset) and close(thrice, offset + 3 * (twice - once)):
        return "offset"
    square = (twice - 2 * once) / 2
    if not close(square, 0 * square) and close(thrice, 3 * (once - square) + 9 * square):
        return "square"
    return None


def _one_number_for_grad_output(returned: np.ndarray, slope: np.ndarray, g: np.ndarray) -> bool:
    """Whether ``returned`` is c·f'(x), one number c for every entry, where g·f'(x) belongs."""
    nonzero = np.abs(slope) > 1e-9
    if nonzero.sum() < 2 or np.any(returned[~nonzero]):
        return False
    factors = returned[nonzero] / slope[nonzero]
    return close(factors, np.full_like(factors, factors[0]), MATCH_RTOL) and factors[0] != 0


def _unpacking_hint(returned: tuple, expected: tuple) -> str | None:
    """The hint for a backward whose result has an extra leading axis of length 1, or None."""
    if returned != (1, *expected):
        return None  # another shape mistake: diagnose_shape names it
    return (
        "backward's result has an extra leading axis of length 1, as when the tuple of "
        "saved values is used whole: unpack it with a comma, `(x,) = self.saved_tensors`"
    )


def _local_factor_table(x: np.ndarray, ratio: np.ndarray, slope: np.ndarray) -> str | None:
    """The hint when no hypothesis fits: backward's factor against f'(x) at three points."""
    if not np.all(np.isfinite(ratio)):
        return None
    picked = [0, 3, 6]  # x = -1.7, 0.45, 1.9
    points = ", ".join(f"{x.flat[i]:g}" for i in picked)
    yours = ", ".join(f"{ratio.flat[i]:.4g}" for i in picked)
    truth = ", ".join(f"{slope.flat[i]:.4g}" for i in picked)
    return (
        f"the local derivative is wrong: at x = {points}, backward multiplies grad_output "
        f"by {yours}, but f'(x) is {truth}; re-derive f'(x) and check which saved value "
        "(input or output) your formula needs"
    )


def _is_elementwise(module) -> bool:
    """True if the module maps each entry on its own (shape kept, entries permutable)."""
    x = GENERIC_POINTS.copy()
    y = np.asarray(module(x.copy()))
    if y.shape != x.shape:
        return False
    order = np.random.default_rng(1).permutation(x.size)
    shuffled = np.asarray(module(x.reshape(-1)[order].reshape(x.shape)))
    return close(shuffled.reshape(-1), y.reshape(-1)[order])


def _local_derivative(module, at: np.ndarray) -> np.ndarray:
    """f'(at) entry by entry, by Richardson-extrapolated central differences of ``module``."""
    at = np.asarray(at, dtype=np.float64)
    step = 1e-4 * np.maximum(1.0, np.abs(at))

    def difference(h: np.ndarray) -> np.ndarray:
        return (np.asarray(module(at + h)) - np.asarray(module(at - h))) / (2 * h)

    return (4 * difference(step) - difference(2 * step)) / 3


def _output_formula_at(module, x: np.ndarray) -> np.ndarray:
    """φ(x) where f'(z) = φ(f(z)) with φ a polynomial of degree ≤ 2 (tanh: 1 - y², σ: y - y²).

    If no such polynomial fits, NaNs (no hypothesis to test).
    """
    coefficients = _derivative_in_the_output(module)
    if coefficients is None:
        return np.full_like(x, np.nan)
    return coefficients[0] + coefficients[1] * x + coefficients[2] * x**2


def _derivative_in_the_output(module) -> np.ndarray | None:
    """The coefficients (c0, c1, c2) of f'(z) = c0 + c1·y + c2·y², y = f(z), fitted on a grid;
    None if f' is no such polynomial of the output (or f has a pole there)."""
    grid = np.linspace(-3, 3, 61)
    outputs = np.asarray(module(grid), dtype=np.float64)
    slopes = _local_derivative(module, grid)
    if not (np.all(np.isfinite(outputs)) and np.all(np.isfinite(slopes))):
        return None  # a pole (1/x): no polynomial in y describes f'
    return _quadratic_fit(outputs, slopes, 1e-6)


def _quadratic_fit(y: np.ndarray, values: np.ndarray, rtol: float) -> np.ndarray | None:
    """(c0, c1, c2) with values = c0 + c1·y + c2·y² up to ``rtol``, or None."""
    y, values = np.ravel(y), np.ravel(values)
    design = np.stack([np.ones_like(y), y, y**2], axis=1)
    coefficients = np.linalg.lstsq(design, values, rcond=None)[0]
    return coefficients if close(design @ coefficients, values, rtol) else None


def _polynomial_in_y(coefficients: np.ndarray) -> str:
    """``1 - 2y + y²`` for (1, -2, 1): the terms with non-zero coefficients."""
    terms = []
    for power, c in enumerate(coefficients):
        if abs(c) < 1e-6:
            continue
        size = f"{abs(c):.4g}"
        variable = ("", "y", "y²")[power]
        body = variable if variable and size == "1" else f"{size}{variable}"
        terms.append((" - " if c < 0 else " + ") + body)
    text = "".join(terms) or " + 0"
    return ("-" if text.startswith(" - ") else "") + text[3:]


def _output_polynomial_hint(module, y: np.ndarray, ratio: np.ndarray) -> str | None:
    """The hint when backward's factor is one polynomial of the output y and f' another."""
    truth = _derivative_in_the_output(module)
    yours = _quadratic_fit(y, ratio, MATCH_RTOL)
    if truth is None or yours is None or np.allclose(truth, yours, atol=1e-6):
        return None
    known = _known_derivative(yours)
    if known and not _known_derivative(truth):
        return (
            f"backward multiplies grad_output by {_polynomial_in_y(yours)}, the derivative of "
            f"{known} written with its output y, but the derivative of your forward is "
            f"{_polynomial_in_y(truth)}: if the module is {known}, its forward is what is "
            f"wrong (it does not compute {known}); else re-derive backward in terms of y"
        )
    return (
        f"backward multiplies grad_output by {_polynomial_in_y(yours)}, with y the output, "
        f"but the derivative is f'(x) = {_polynomial_in_y(truth)}: re-derive it in terms of y"
    )


# the derivatives of functions whose derivative is a polynomial of their output y
_KNOWN_DERIVATIVES_IN_Y = {"tanh": (1.0, 0.0, -1.0), "the sigmoid": (0.0, 1.0, -1.0)}


def _known_derivative(coefficients: np.ndarray) -> str | None:
    """The function whose derivative, written with its output y, has these (c0, c1, c2)."""
    return next(
        (
            name
            for name, known in _KNOWN_DERIVATIVES_IN_Y.items()
            if np.allclose(coefficients, known, atol=1e-6)
        ),
        None,
    )


# -- containers: modules applied in turn --------------------------------------------------
def container_hint(module, x: np.ndarray, direction: np.ndarray, returned) -> str | None:
    """Name the mistake in a Sequential-like ``backward``, or None.

    ``module`` holds its modules in ``layers`` (applied in turn by forward); ``returned``
    is what its backward gave for ``direction`` at input ``x`` (None: no hint from here).
    On a copy whose inner modules record each
    call of their ``backward`` (which module, the grad_output it got), forward at ``x``
    then backward of ``direction`` show the mistake: a module skipped, the modules
    visited first to last, each result dropped (every module gets ``direction``). None if
    the calls look right.
    """
    if returned is None:
        return None
    return container_order_hint(module, x, direction)


def container_order_hint(module, x: np.ndarray, direction: np.ndarray) -> str | None:
    """``container_hint`` whatever backward returned (or if it crashed): the order in which
    it calls the backward of the inner modules, or None (not a container, or calls in order)."""
    layers = getattr(module, "layers", None)
    if not isinstance(layers, Sequence) or len(layers) < 2:
        return None
    try:
        return _container_hint(copy.deepcopy(module), x, direction)
    except Exception:  # inner modules that cannot be recorded this way: no hint from here
        return None


def _container_hint(module, x: np.ndarray, direction: np.ndarray) -> str | None:
    layers = list(module.layers)
    calls: list[tuple[int, np.ndarray]] = []  # (which module, the grad_output it got)
    for index, layer in enumerate(layers):
        layer.backward = _recording_backward(layer.backward, index, calls)
    module(x)
    try:
        module.backward(direction.copy())
        crashed = False
    except ValueError:  # shapes that do not line up: the calls so far still tell
        crashed = True
    order = [index for index, _ in calls]
    if order and order == list(range(len(order))) and (crashed or len(order) == len(layers)):
        return (
            "backward visits the modules first to last: go in reverse order, last to first, "
            "starting with self.layers[-1] (self.layers[-i] with i = 0 is self.layers[0])"
        )
    last_to_first = list(reversed(range(len(layers))))
    if sorted(order) == sorted(last_to_first) and order != last_to_first:
        start = (
            " (self.layers[-i] with i = 0 is self.layers[0], the first)" if order[0] == 0 else ""
        )
        return (
            f"backward visits the modules in the order {order}{start}: go last to first, "
            f"{last_to_first} (for layer in reversed(self.layers))"
        )
    if len(calls) > 1 and all(np.array_equal(grad, direction) for _, grad in calls):
        return DROPPED_RESULTS_HINT
    if order == last_to_first[:1] and not crashed:
        return (
            f"backward runs only the backward of the last module ({layers[-1]!r}) and skips "
            "the others: is its `return` inside the loop, or does the loop stop early? Call "
            "the backward of every module, last to first, then return"
        )
    # after a crash, only the modules due before the one that crashed are known skipped
    due = (
        last_to_first[: last_to_first.index(order[-1]) + 1] if crashed and order else last_to_first
    )
    for skipped in due:
        if skipped not in order:
            return (
                f"backward skips module {skipped} ({layers[skipped]!r}): call the backward "
                "of every module, last to first"
            )
    if calls and all(np.array_equal(grad, direction) for _, grad in calls):
        return DROPPED_RESULTS_HINT
    return None


DROPPED_RESULTS_HINT = (
    "the result of each module's backward is dropped: assign it, "
    "`grad_output = layer.backward(grad_output)`, and return the last one"
)


def forward_skips_hint(module, x: np.ndarray) -> str | None:
    """The hint when a container's forward does not run every module in ``layers``, or None."""
    layers = getattr(module, "layers", None)
    if not isinstance(layers, Sequence):
        return None
    try:
        module = copy.deepcopy(module)
        ran: list[int] = []
        for index, layer in enumerate(module.layers):
            layer.forward = _recording_forward(layer.forward, index, ran)
        module(np.array(x, dtype=np.float64))
    except Exception:  # a forward that fails otherwise: no hint from here
        return None
    skipped = [index for index in range(len(layers)) if index not in ran]
    if not skipped:
        return None
    return (
        f"forward never runs module {skipped[0]} ({layers[skipped[0]]!r}), so its backward "
        "has nothing saved: apply every module in turn, `for layer in self.layers: x = "
        "layer(x)` (range(len(self.layers) - 1) stops one short)"
    )


def _recording_forward(forward: Callable, index: int, ran: list) -> Callable:
    """``forward`` that first appends ``index`` to ``ran``."""

    def recorded(*args, **kwargs):
        ran.append(index)
        return forward(*args, **kwargs)

    return recorded


def _recording_backward(backward: Callable, index: int, calls: list) -> Callable:
    """``backward`` that first appends ``(index, a copy of its grad_output)`` to ``calls``."""

    def recorded(grad_output, *args, **kwargs):
        calls.append((index, np.array(grad_output, dtype=np.float64)))
        return backward(grad_output, *args, **kwargs)

    return recorded


def changed_by_forward_hint(first: np.ndarray, second) -> str | None:
    """The hint when two forward passes on the same input give different outputs, or None."""
    second = np.asarray(second, dtype=np.float64)
    if np.array_equal(second, first, equal_nan=True) or close(second, first):
        return None  # the same nan twice is no change
    return (
        "forward changes the module: two forward passes on the same input give different "
        "outputs. Nothing forward updates may change what the next forward computes (in eval "
        "mode, BatchNorm uses its running statistics and leaves them as they are)"
    )


def changed_by_backward_hint(before: np.ndarray, after: np.ndarray) -> str | None:
    """The hint when forward gives another output after a backward pass, or None."""
    after, before = np.asarray(after, dtype=np.float64), np.asarray(before, dtype=np.float64)
    if np.array_equal(after, before, equal_nan=True) or close(after, before):
        return None
    return (
        "backward changed the module: forward gives a different output after a backward "
        "pass. Don't modify the module in place in backward (e.g. `self.layers.reverse()`: "
        "iterate over `reversed(self.layers)` instead; and never update parameters there)"
    )


# -- losses and scalar parameters ---------------------------------------------------------
def loss_target_hint(analytic, numeric, pred: np.ndarray, target) -> str | None:
    """The hint when a loss's gradient misses its target (analytic - numeric ∝ target), or
    when cross-entropy's softmax runs over the batch axis."""
    if analytic is None or np.shape(analytic) != pred.shape:
        return None
    target = np.asarray(target)
    if target.shape != pred.shape:
        if not (np.issubdtype(target.dtype, np.integer) and pred.ndim == 2):
            return None
        target = one_hot(target, pred.shape[1], owner="loss_target_hint")
    if softmax_over_batch(analytic, numeric, pred, target):
        return (
            "the softmax runs over axis 0, the batch: each example's probabilities are a "
            "softmax over its own classes, the last axis (softmax(logits, axis=-1))"
        )
    if softmax_over_batch(analytic, numeric, pred, target, axis=None):
        return (
            "the softmax is normalised over every entry of the batch at once: each example's "
            "probabilities are a softmax over its own classes, the last axis (axis=-1, "
            "keepdims=True for the sum)"
        )
    difference = np.asarray(analytic, np.float64) - numeric
    if not np.any(target) or not np.any(difference):
        return None
    factor = float(np.vdot(difference, target) / np.vdot(target, target))
    if factor != 0 and close(difference, factor * target, 1e-6):
        return (
            "the gradient does not depend on the target as it should: it must involve "
            "pred - target (did you forget to subtract the target?)"
        )
    return None


def cross_entropy_formula_hint(analytic, numeric, pred: np.ndarray, target) -> str | None:
    """The hint when cross-entropy's gradient over logits ``pred`` is another formula in the
    probabilities p = softmax(pred) and the target t than (p - t) / N, or None.

    Only for a true gradient that is mean cross-entropy's; when it is not, but backward
    gives mean cross-entropy's, the mistake is in forward."""
    if analytic is None or np.ndim(pred) != 2 or np.shape(analytic) != pred.shape:
        return None
    target = np.asarray(target)
    if target.shape != pred.shape:
        if not np.issubdtype(target.dtype, np.integer):
            return None
        target = one_hot(target, pred.shape[1], owner="cross_entropy_formula_hint")
    batch = len(pred)
    probabilities = softmax(pred, axis=-1)
    if not close(numeric, (probabilities - target) / batch, 1e-4):
        if close(analytic, (probabilities - target) / batch, MATCH_RTOL):
            return (
                "backward gives (softmax(logits) - target) / N, the gradient of mean "
                "cross-entropy, but the loss forward computes has another gradient: the "
                "mistake is in forward (one log-probability per example, the one at its "
                "label, averaged over the examples)"
            )
        return None
    with np.errstate(all="ignore"):
        formulas = {
            "that is dL/dp, the derivative with respect to the probabilities (-target / p): the "
            "gradient with respect to the logits goes through the softmax as well, and comes "
            "out as (softmax(logits) - target) / N": -target / probabilities / batch,
            "1 is subtracted from every probability: subtract the target, which is 1 only at "
            "each example's class, (softmax(logits) - target) / N": (probabilities - 1) / batch,
            "log-probabilities are used where probabilities belong: (softmax(logits) - target) "
            "/ N, not log_softmax": (np.log(probabilities) - target) / batch,
            "the raw logits are used where the probabilities belong: apply the softmax first, "
            "(softmax(logits) - target) / N": (pred - target) / batch,
            "exp(logits) is used without dividing by its sum over the classes: the probabilities "
            "are softmax(logits), which sum to 1 in each row": (np.exp(pred) - target) / batch,
            "the division by N applies to the target alone (softmax(logits) - target / N): "
            "bracket the difference, (softmax(logits) - target) / N": probabilities
            - target / batch,
            "the division by N applies to the probabilities alone (softmax(logits) / N - "
            "target): bracket the difference, (softmax(logits) - target) / N": probabilities / batch
            - target,
            "it is multiplied by p(1 - p), the softmax's derivative, once more: (softmax(logits) "
            "- target) / N already goes through the softmax (the log-softmax's derivative "
            "folded into it), so nothing multiplies it": (probabilities - target)
            / batch
            * probabilities
            * (1 - probabilities),
        }
    for hint, predicted in formulas.items():
        if np.all(np.isfinite(predicted)) and close(analytic, predicted, MATCH_RTOL):
            return f"the gradient is not (softmax(logits) - target) / N: {hint}"
    return None


def divided_by_classes(analytic, numeric, pred: np.ndarray) -> str | None:
    """The hint when a loss's gradient over logits ``pred`` of shape (batch, classes) is
    divided by the number of classes where the batch size belongs, or None."""
    if analytic is None or np.ndim(pred) != 2 or np.shape(analytic) != pred.shape:
        return None
    batch, classes = pred.shape
    if (
        classes < 2
        or classes == batch
        or not close(analytic, numeric * batch / classes, MATCH_RTOL)
    ):
        return None
    return (
        f"the gradient is divided by the number of classes ({classes}) where the batch size "
        f"({batch}) belongs: the loss is a mean over the examples, so divide by len(logits), "
        "the length of the first axis"
    )


def softmax_over_batch(
    analytic, numeric, pred: np.ndarray, target: np.ndarray, axis: int | None = 0
) -> bool:
    """Whether ``numeric`` is the gradient of mean cross-entropy and ``analytic`` the same
    with the softmax taken over ``axis`` (0: the examples; None: every entry) instead of
    the classes."""
    if pred.ndim != 2 or target.shape != pred.shape:
        return False
    batch = len(pred)
    if not close(numeric, (softmax(pred, axis=-1) - target) / batch, 1e-4):
        return False
    exp = np.exp(pred - pred.max(axis=axis, keepdims=True))
    return close(analytic, (exp / exp.sum(axis=axis, keepdims=True) - target) / batch, MATCH_RTOL)


def parameter_hint(name: str, analytic, value: np.ndarray, direction, inputs=None) -> str | None:
    """The hint when a parameter's gradient is a common wrong reduction of grad_output, or None.

    ``value`` is the parameter, ``direction`` the grad_output of shape ``(*, out)`` the
    check passed to backward, ``inputs`` the module's input. The hypotheses: a scalar's
    gradient that is the sum of grad_output alone, or times the parameter itself, or times
    the sum of the inputs (a product of sums); a vector's gradient (a bias) that
    is the sum over every entry, one number copied to each, or a sum over the last axis.
    """
    if direction is None or analytic is None or not np.any(analytic):
        return None
    analytic = np.asarray(analytic, dtype=np.float64)
    total = float(np.sum(direction))
    if np.shape(value) == () and analytic.shape == ():
        if close(analytic, total, 1e-9):
            return (
                f"the gradient of '{name}' is the sum of grad_output alone: multiply grad_output "
                f"by ∂output/∂{name} (for y = k·x, that is x) before summing"
            )
        if close(analytic, float(value) * total, 1e-9):
            return (
                f"the gradient of '{name}' is the sum of grad_output times {name} itself: "
                f"∂output/∂{name} is what {name} multiplies (for y = k·x, that is x), "
                f"so sum grad_output * x"
            )
        if inputs is not None and np.shape(inputs) == np.shape(direction):
            if close(analytic, total * float(np.sum(inputs)), 1e-9):
                return (
                    f"the gradient of '{name}' is sum(grad_output) · sum(x), a product of sums: "
                    "it is the sum of the products, np.sum(grad_output * x)"
                )
        return None
    if analytic.size > 1 and close(analytic, np.full(analytic.shape, total), 1e-9):
        return (
            f"every entry of the gradient of '{name}' is the sum of all of grad_output: sum "
            "over the batch axis only (axis=0, after flattening any leading axes into rows), "
            "one sum per output feature"
        )
    if np.ndim(direction) < 2:
        return None
    per_example = np.reshape(direction, (-1, np.shape(direction)[-1])).sum(axis=1)
    if analytic.shape == per_example.shape and close(analytic, per_example, 1e-9):
        return per_example_sum_hint(f"the gradient of '{name}'")
    return _reshaped_for_transposed_hint(name, analytic, direction, inputs)


def _reshaped_for_transposed_hint(name: str, analytic, direction, inputs) -> str | None:
    """The hint when a weight's gradient (in, out) is the rows of x reshaped to (in, N),
    where they must be transposed, times the rows of grad_output; or None."""
    if inputs is None or analytic.ndim != 2 or np.ndim(inputs) < 2:
        return None
    rows = np.reshape(inputs, (-1, np.shape(inputs)[-1]))
    grad_rows = np.reshape(direction, (-1, np.shape(direction)[-1]))
    if (
        len(rows) < 2
        or len(rows) != len(grad_rows)
        or analytic.shape != (rows.shape[1], grad_rows.shape[1])
    ):
        return None  # one row: its reshape is its transpose
    if not close(analytic, rows.reshape(rows.shape[1], -1) @ grad_rows, MATCH_RTOL):
        return None
    return (
        f"the gradient of '{name}' is x's rows reshaped to {rows.shape[::-1]} times grad_output's "
        "rows: a reshape keeps the entries in their order and only regroups them, so it is no "
        "transpose; use rows.T (the transpose) in rows.T @ grad_rows"
    )


def per_example_sum_hint(what: str) -> str:
    """The hint for ``what`` (a gradient) summed over the features (axis 1): one number per example."""
    return (
        f"{what} was summed over the features (axis=1), giving one number per example: "
        "sum over the batch axis instead (axis=0), one sum per output feature"
    )
