"""Name the mistake behind wrong forward values: run a copy of the module again on a
generic input and find which common variant of the expected formula it computes.

Each relation is confirmed entry by entry on that generic input before it is named, so a
hint never rests on a coincidence of the (possibly degenerate) failing example.
"""

from __future__ import annotations

import copy
import itertools

import numpy as np

from pancake.testing.hints import close

# generic points of both signs, none of them 0, ±1 or a simple multiple of another
GENERIC_POINTS = np.array([-2.6, -1.7, -0.9, -0.35, 0.3, 0.8, 1.3, 2.2])


def output_of_copy(module, *inputs, training: bool | None = None):
    """``module``'s output on ``inputs``, run on a deep copy (the module is left as it
    was), as a float array; None when the forward fails or gives no array."""
    module = copy.deepcopy(module)
    if training is not None:
        module.train(training)
    try:
        return np.asarray(module(*[np.array(a) for a in inputs]), dtype=float)
    except Exception:  # a forward that fails on the generic input: no hint from here
        return None


def with_hint(error: AssertionError, hint: str) -> AssertionError:
    """``error`` (a failure of ``check_values``) with ``hint``, which names the mistake from
    a generic input, in place of check_values' own (read from the failing case alone; the
    error keeps its message without it as ``unhinted``)."""
    if not hint:
        return error
    return AssertionError(f"{getattr(error, 'unhinted', error)}{hint}")


def _number(value: float) -> str:
    """``value`` as short as it reads exactly (2, 0.5, -1, 0.01)."""
    return f"{value:.4g}"


# -- element-wise modules: y = f(x) ------------------------------------------------------


def elementwise_forward_hint(module, function, formula: str) -> str:
    """A hint line naming how ``module``'s output differs from ``function`` (whose
    ``formula`` is shown) on generic points, or '': what it is at every point (c·x, f²,
    1 - f, 1/f, f + c), or that it is right below some x and wrong above (or the other way
    round), and what it is there."""
    output = output_of_copy(module, GENERIC_POINTS)
    if output is None or output.shape != GENERIC_POINTS.shape:
        return ""
    expected = function(GENERIC_POINTS)
    if close(output, expected, rtol=1e-9):
        return ""
    step = 1e-5
    derivative = (function(GENERIC_POINTS + step) - function(GENERIC_POINTS - step)) / (2 * step)
    hint = (
        _relation_hint(output, expected, formula, derivative)
        or _one_side_hint(output, expected, formula)
        or _both_sides_hint(output, expected, formula)
    )
    return f"\nHint: {hint}" if hint else ""


def sign_slip_hint(module, forms) -> str:
    """A hint line when ``module`` computes one of the right ``forms`` of its function
    with signs flipped, or ''. Each form is (text, build, right): ``build(signs, x)`` the
    formula with the given signs (+1 or -1, one per ± in ``text``), ``right`` the signs
    that give the function."""
    output = output_of_copy(module, GENERIC_POINTS)
    if output is None or output.shape != GENERIC_POINTS.shape:
        return ""
    for text, build, right in forms:
        for signs in itertools.product((1, -1), repeat=len(right)):
            with np.errstate(divide="ignore", over="ignore"):
                values = build(signs, GENERIC_POINTS)
            if signs != right and close(output, values, rtol=1e-9):
                wrote, meant = (_with_signs(text, chosen) for chosen in (signs, right))
                return f"\nHint: the output is {wrote}, where {meant} belongs: check the signs"
    return ""


def _with_signs(text: str, signs) -> str:
    """``text`` with its ± places filled in by ``signs`` (an argument's + left out)."""
    return text.format(*("+" if sign > 0 else "-" for sign in signs)).replace("(+", "(")


def _one_side_hint(output, expected, formula: str) -> str:
    """'right where x > a but wrong where x < b, where it is ...' (or the other way round):
    the wrong points are all below (or all above) the right ones; or ''."""
    right = np.isclose(output, expected, rtol=1e-9, atol=1e-12)
    wrong = np.flatnonzero(~right)  # GENERIC_POINTS is sorted: a prefix or a suffix
    if right.all() or not right.any() or len(wrong) != wrong[-1] - wrong[0] + 1:
        return ""
    if wrong[0] == 0:
        side, other = _sides(wrong[-1], wrong[-1] + 1, "<", ">")
    elif wrong[-1] == len(right) - 1:
        side, other = _sides(wrong[0], wrong[0] - 1, ">", "<")
    else:
        return ""
    what = _what_it_is(output[wrong], expected[wrong], GENERIC_POINTS[wrong])
    return (
        f"the output is right where {other} but wrong where {side}"
        f"{f', where it is {what} instead of {formula}' if what else ''}: check the branch "
        f"(or the formula) that handles {side}"
    )


def _both_sides_hint(output, expected, formula: str) -> str:
    """'wrong on both sides of 0: it is A where x < 0 and B where x > 0', when both are
    named; or ''."""
    negative = GENERIC_POINTS < 0
    below, above = (
        _what_it_is(output[side], expected[side], GENERIC_POINTS[side])
        for side in (negative, ~negative)
    )
    if not below or not above or np.any(np.isclose(output, expected, rtol=1e-9, atol=1e-12)):
        return ""
    return (
        f"the output is wrong on both sides of 0: it is {below} where x < 0 and {above} "
        f"where x > 0, instead of {formula}: check the condition (> or <) and what each "
        "branch returns"
    )


def _sides(last_wrong: int, first_right: int, towards: str, away: str) -> tuple[str, str]:
    """The wrong side and the right side of the points, split between ``last_wrong`` and
    ``first_right``: at 0 when they have opposite signs ('x < 0', 'x > 0')."""
    wrong, right = GENERIC_POINTS[last_wrong], GENERIC_POINTS[first_right]
    if wrong * right < 0:
        return f"x {towards} 0", f"x {away} 0"
    return f"x {towards}= {wrong:g}", f"x {away}= {right:g}"


def _what_it_is(output, expected, x) -> str:
    """What ``output`` is in terms of x and the expected values (0, a constant, -f(x), x,
    a·x + b), or ''."""
    if np.allclose(output, output[0], rtol=1e-9, atol=1e-12):
        return "0" if np.isclose(output[0], 0, atol=1e-12) else f"the constant {_number(output[0])}"
    if close(output, -expected, rtol=1e-9):
        return f"the expected value negated ({'-x²' if close(expected, x * x) else '-f(x)'})"
    slope, intercept = np.polyfit(x, output, 1) if len(x) > 1 else (output[0] / x[0], 0.0)
    if not close(output, slope * x + intercept, rtol=1e-9):
        return ""
    line = {1.0: "x", -1.0: "-x"}.get(round(slope, 9), f"{_number(slope)}·x")
    if np.isclose(intercept, 0, atol=1e-9):
        return line
    return f"{line} {'+' if intercept > 0 else '-'} {_number(abs(intercept))}"


def bias_term_hint(output, expected, bias, axis: int) -> str:
    """A hint line when ``output`` is ``expected`` plus a multiple of ``bias`` laid along
    ``axis`` (the bias missing, added twice, subtracted), confirmed entry by entry; or ''."""
    output, expected = np.asarray(output, dtype=float), np.asarray(expected, dtype=float)
    if bias is None or output.shape != expected.shape or not np.any(bias):
        return ""
    along = np.reshape(bias, (-1,) + (1,) * (output.ndim - axis % output.ndim - 1))
    term = np.broadcast_to(along, output.shape)
    factor = round(float(np.vdot(output - expected, term) / np.vdot(term, term)))
    if factor == 0 or not close(output, expected + factor * term, rtol=1e-9):
        return ""  # whole multiples only: with one channel, any offset is some multiple
    words = {
        -1: "the bias is missing: add it",
        1: "the bias is added twice: add it once",
        -2: "the bias is subtracted: add it",
    }.get(factor, f"the bias is counted {factor + 1} times: add it once")
    times = "" if abs(factor) == 1 else f"{abs(factor)}·"
    return f"\nHint: {words} (the output is the expected one {'+-'[factor < 0]} {times}bias)"


def _relation_hint(output, expected, formula: str, derivative=None) -> str:
    """'the output is <f', f², 1 - f, 1 / f, c·x, a·f + c>: ...' confirmed on every point,
    or ''."""
    with np.errstate(divide="ignore"):  # 1 / f where f is 0: inf, which matches nothing
        reciprocal = 1 / expected
    relations = {
        f"the derivative of {formula}, not the function itself: forward returns f(x), "
        "backward multiplies by f'(x)": derivative,
        f"({formula})²: the right value squared; look for a power (** 2) or a factor "
        "written twice": expected**2,
        f"1 - {formula}: the complement; check which of the two the formula gives": 1 - expected,
        f"1 / ({formula}): the reciprocal; check what divides what": reciprocal,
    }
    for words, values in relations.items():
        if values is not None and close(output, values, rtol=1e-6):
            return f"the output is {words}"
    other = _other_function(output)
    if other:
        return (
            f"the output is {other} at every point, not {formula}: check the name of the "
            "function you call"
        )
    everywhere = _what_it_is(output, expected, GENERIC_POINTS)
    if everywhere:
        return f"the output is {everywhere} at every point, instead of {formula}"
    return _affine_hint(output, expected, formula)


# NumPy functions of one array whose names are easily mixed up with the ones a module
# computes (np.tan for np.tanh, np.exp for np.expm1, ...)
_NAMED_FUNCTIONS = {
    name: getattr(np, name)
    for name in "tan sin cos sinh cosh tanh arctan arcsinh exp expm1 exp2 log log1p log2 log10 "
    "sqrt".split()
}


def _other_function(output) -> str:
    """'np.tan(x)' when ``output`` is a NumPy function of the generic points, confirmed
    on every one of them; or ''."""
    with np.errstate(all="ignore"):
        for name, function in _NAMED_FUNCTIONS.items():
            if close(output, function(GENERIC_POINTS), rtol=1e-9):
                return f"np.{name}(x)"
    return ""


def _affine_hint(output, expected, formula: str) -> str:
    """'the output is a·f + c at every point' (a factor, a constant term, or both off),
    or ''."""
    terms = np.stack([expected, np.ones_like(expected)], axis=1)
    (factor, shift), *_ = np.linalg.lstsq(terms, output, rcond=None)
    if not close(output, factor * expected + shift, rtol=1e-9):
        return ""
    factor, shift = (0.0 if np.isclose(v, 0, atol=1e-9) else float(v) for v in (factor, shift))
    grouped = f"({formula})" if " " in formula else formula
    scaled = formula if np.isclose(factor, 1) else f"{_number(factor)}·{grouped}"
    said = scaled if shift == 0 else f"{scaled} {'+-'[shift < 0]} {_number(abs(shift))}"
    if np.isclose(factor, 1):
        fix = "a constant term is added or missing"
    elif shift == 0:
        fix = "a factor is missing or extra"
    else:
        fix = "a factor and a constant term differ from the definition"
    return (
        f"the output is {said} at every point: {fix} (compare the formula with the "
        "definition term by term, brackets included)"
    )


# -- batch normalisation: weight · (x - mean) / sqrt(var + eps) + bias, per channel ------

RUNNING = ("running_mean", "running_var")


def batch_norm_forward_hint(module, *, training: bool) -> str:
    """A hint line naming which part of the batch-norm formula ``module`` gets wrong in the
    mode of ``training``: the mean, the variance or the way eps and the square root are
    applied, the weight or the bias, confirmed on a generic input and generic parameters
    and running statistics; or ''."""
    module = copy.deepcopy(module)
    channels = module.num_features
    rng = np.random.default_rng(0x5EED)
    module.weight.data[...] = rng.uniform(1.5, 2.5, channels) * rng.choice([-1, 1], channels)
    module.bias.data[...] = rng.uniform(0.5, 1.5, channels)
    module.running_mean[...] = rng.uniform(0.2, 1, channels)  # > 0: a square root of it is real
    module.running_var[...] = rng.uniform(2.0, 3.0, channels)
    shape = (5, channels, 3, 2)[: len(module.reduce_axes) + 1]
    per_channel = (1, -1) + (1,) * (len(shape) - 2)
    x = rng.standard_normal(shape) * rng.uniform(0.5, 3, channels).reshape(per_channel)
    x += rng.uniform(-2, 2, channels).reshape(per_channel)
    parts = _batch_norm_parts(module, x)
    output = output_of_copy(module, x, training=training)
    if output is None or output.shape != x.shape:
        return ""
    statistics = ("the batch mean", "the batch variance") if training else RUNNING
    right = (*statistics, "sqrt({var} + eps)", "weight", "bias")
    found = _matching_parts(output, x, parts, per_channel, right)
    if found is None or found == right:
        return ""
    return f"\nHint: {_batch_norm_words(found, right)}"


def _batch_norm_parts(module, x) -> dict:
    """The variants of each part of the formula, name -> per-channel values (or a function
    of the variance, for the way eps and the square root are applied)."""
    axes, eps = module.reduce_axes, module.eps
    count = x.size // module.num_features
    batch_var = x.var(axis=axes)
    return {
        "mean": {
            "the batch mean": x.mean(axis=axes),
            "running_mean": module.running_mean.copy(),
            "running_var": module.running_var.copy(),
            "0": np.zeros(module.num_features),
            "the mean of every entry (all channels together)": np.full(
                module.num_features, x.mean()
            ),
        },
        "var": {
            "the batch variance": batch_var,
            "the unbiased batch variance": batch_var * count / (count - 1),
            "running_var": module.running_var.copy(),
            "running_mean": module.running_mean.copy(),
            "the batch standard deviation": np.sqrt(batch_var),
            "sqrt(running_var)": np.sqrt(module.running_var),
            "the variance of every entry (all channels together)": np.full(
                module.num_features, x.var()
            ),
        },
        "spread": {
            "sqrt({var} + eps)": lambda var: np.sqrt(var + eps),
            "(sqrt({var}) + eps)": lambda var: np.sqrt(var) + eps,
            "sqrt({var})": np.sqrt,
            "({var} + eps)": lambda var: var + eps,
        },
        "weight": {"weight": module.weight.data.copy(), "bias": module.bias.data.copy(), "1": 1},
        "bias": {
            "bias": module.bias.data.copy(),
            "weight": module.weight.data.copy(),
            "0": 0,
            "bias · weight": module.bias.data * module.weight.data,
        },
    }


def _matching_parts(output, x, parts, per_channel, right) -> tuple | None:
    """The names (mean, var, spread, weight, bias) of the combination of ``parts`` whose
    formula gives ``output`` entry by entry, the one closest to ``right`` (the fewest
    parts changed: std + eps is also sqrt(var) + eps), or None (none, or a tie)."""

    def channel(values):
        return np.reshape(values, per_channel) if np.ndim(values) else values

    found = []
    for names in itertools.product(*(parts[part] for part in parts)):
        mean, var, spread, weight, bias = (parts[p][n] for p, n in zip(parts, names, strict=True))
        values = (x - channel(mean)) / channel(spread(var)) * channel(weight) + channel(bias)
        if close(output, values, rtol=1e-9):
            found.append(names)
    changes = sorted(
        (sum(a != b for a, b in zip(names, right, strict=True)), names) for names in found
    )
    if not changes or (len(changes) > 1 and changes[0][0] == changes[1][0]):
        return None
    return changes[0][1]


def _batch_norm_words(found: tuple, right: tuple) -> str:
    """What the output is, and each part that differs from the right one."""
    mean, var, spread, weight, bias = found
    formula = f"{weight} · (x - {mean}) / {spread.format(var=var)} + {bias}"
    fixes = []
    if mean != right[0]:
        fixes.append(
            f"subtract {right[0]}, not {mean}" + (": x is not centred" if mean == "0" else "")
        )
    if var != right[1]:
        fixes.append(f"divide with {right[1]}, not {var}")
    if spread != right[2]:
        fixes.append(
            f"divide by sqrt(var + eps) (eps inside the square root), not {spread.format(var='var')}"
        )
    if weight != right[3]:
        fixes.append(f"multiply by weight, not {weight}")
    if bias == "bias · weight":
        fixes.append("add the bias after the scaling, x̂ · weight + bias, not (x̂ + bias) · weight")
    elif bias != right[4]:
        fixes.append(f"add bias, not {bias}")
    return f"the output is {formula}, per channel: {'; '.join(fixes)}"


# -- cross-entropy: mean over the batch of -sum(target · log_softmax(z)) -----------------


def _generic_logits() -> tuple[np.ndarray, np.ndarray]:
    """Logits (5, 3) of both signs and labels with every class: where no mistake of the
    cross-entropy gives the right value by chance."""
    rng = np.random.default_rng(0xCE)
    return rng.standard_normal((5, 3)) * 2, np.array([0, 2, 1, 2, 0])


def _losses_of_each_example(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """logsumexp(z) - z[label] of each row."""
    return np.logaddexp.reduce(logits, axis=1) - logits[np.arange(len(labels)), labels]


def cross_entropy_forward_hint(loss_fn) -> str:
    """A hint line naming what ``loss_fn`` computes instead of the cross-entropy, on
    generic logits: -sum(target · term) / divisor with another term (the logits, the
    probabilities, a log-softmax over the batch axis), divisor or sign; or ''."""
    logits, labels = _generic_logits()
    loss = output_of_copy(loss_fn, logits, labels)
    if loss is not None and loss.shape == labels.shape:
        return f"\nHint: {_per_example_words(loss, logits, labels)}"
    if loss is None or loss.size != 1:
        return ""
    target = np.eye(3)[labels]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    terms = {
        "log_softmax(z)": log_probabilities,
        "log_softmax(z, axis=0)": logits - np.logaddexp.reduce(logits, axis=0),
        "z - logsumexp(z) over every entry": logits - np.logaddexp.reduce(logits, axis=None),
        "z": logits,
        "z - max(z)": shifted,
        "softmax(z)": np.exp(log_probabilities),
    }
    divisors = {"batch": 5, "1": 1, "(batch · classes)": 15, "classes": 3}
    weights = {"target": target, "every class": np.ones_like(target)}
    found = []
    for (term, values), (divisor, count), sign, (weight, by) in itertools.product(
        terms.items(), divisors.items(), (-1, 1), weights.items()
    ):
        if np.isclose(float(loss.flat[0]), sign * np.sum(by * values) / count, rtol=1e-9):
            found.append((term, divisor, sign, weight))
    right = ("log_softmax(z)", "batch", -1, "target")
    changes = sorted((sum(a != b for a, b in zip(f, right, strict=True)), f) for f in found)
    if (
        not changes
        or changes[0][1] == right
        or (len(changes) > 1 and changes[0][0] == changes[1][0])
    ):
        return ""
    return f"\nHint: {_cross_entropy_words(changes[0][1], right)}"


def capped_log_hint(loss_fn, loss, expected) -> str:
    """A hint line when the loss is below the cross-entropy here, yet right on generic
    moderate logits: log-probabilities cut off at log(eps), as log(softmax(z) + eps) or
    clipped probabilities give for large logits; or ''."""
    if not (np.size(loss) == 1 and np.isfinite(loss) and float(loss) < expected):
        return ""
    logits, labels = _generic_logits()
    moderate = output_of_copy(loss_fn, logits, labels)
    right = np.mean(_losses_of_each_example(logits, labels))
    if (
        moderate is None
        or moderate.size != 1
        or not np.isclose(float(moderate[()]), right, rtol=1e-6)
    ):
        return ""
    return (
        f"\nHint: on moderate logits the loss is right, but here it is {float(loss):.6g}, "
        f"below the cross-entropy {expected:.6g}: the log-probabilities are cut off. "
        "log(softmax(z) + eps), or clipped probabilities, cannot go below log(eps) (-27.6 for "
        "eps = 1e-12), while a label's log-probability can be -1000 for large logits: take "
        "them as z - logsumexp(z), log_softmax(z), which needs no eps"
    )


def _per_example_words(loss: np.ndarray, logits: np.ndarray, labels: np.ndarray) -> str:
    """The hint for a loss of one entry per example: what the entries are, when they are
    each example's cross-entropy (or it divided by the batch size)."""
    batch = len(labels)
    each = _losses_of_each_example(logits, labels)
    said = {
        "each example's cross-entropy": each,
        "each example's cross-entropy divided by the batch size": each / batch,
    }
    what = next(
        (f": {name}" for name, values in said.items() if np.allclose(loss, values, rtol=1e-9)),
        "",
    )
    return (
        f"the loss has one entry per example (shape {loss.shape} for a batch of {batch})"
        f"{what}; the loss is one number, the mean over the examples: sum over the classes "
        "(axis=1) and then over the examples too, and divide by the batch size once"
    )


TERMS_SAID = {
    "log_softmax(z, axis=0)": "a log-softmax over the batch (axis=0)",
    "z - logsumexp(z) over every entry": "a log-sum-exp over every entry (give the sum axis=1, "
    "keepdims=True)",
    "z": "the raw logits z",
    "z - max(z)": "z - max(z) alone (the log-sum-exp is missing)",
    "softmax(z)": "the probabilities softmax(z) (their log is missing)",
}
DIVISORS_SAID = {
    "1": "the loss is summed over the examples: take their mean",
    "(batch · classes)": "the mean runs over every entry, the classes too: sum over the "
    "classes, then take the mean over the examples only",
    "classes": "the sum is divided by the number of classes: divide by the batch size",
}


def _cross_entropy_words(found: tuple, right: tuple) -> str:
    """What the loss is, and each part that differs from the cross-entropy."""
    term, divisor, sign, weight = found
    fixes = []
    if weight != right[3]:
        fixes.append(
            "the target is not used: every class's term is summed; multiply by the target "
            "(one-hot rows), so that only each example's label counts"
        )
    if term != right[0]:
        fixes.append(
            f"take the log-probabilities, log_softmax(z) over the classes (axis=1), not {TERMS_SAID[term]}"
        )
    if divisor != right[1]:
        fixes.append(DIVISORS_SAID[divisor])
    if sign != right[2]:
        fixes.append("negate the sum: the loss is minus the log-probability of the label")
    shown = f"{'-' if sign < 0 else ''}sum({'target · ' if weight == 'target' else ''}{term}) / {divisor}"
    return f"the loss is {shown}: {'; '.join(fixes)}"
