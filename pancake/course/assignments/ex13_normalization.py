"""Exercise 13: the backward pass of standardisation, and batch normalisation with running statistics."""

import itertools

from pancake.course.prelude import check_gradients, check_values, given, graded, np, pst, st
from pancake.course.spec import Assignment, GradedTest, Part
from pancake.nn.module import Module
from pancake.nn.normalization import BatchNorm, standardize, standardize_backward
from pancake.testing.batch_hints import statistics_shape_hint
from pancake.testing.forward import batch_norm_forward_hint, with_hint


class Standardize(Module):
    """``(x - mean) / sqrt(var + eps)`` with the statistics over ``axes``, and its backward pass
    by ``standardize_backward``: the module that check_gradients differentiates."""

    def __init__(self, axes, eps=1e-5):
        super().__init__()
        self.axes, self.eps = axes, eps

    def forward(self, x):
        mean = x.mean(axis=self.axes, keepdims=True)
        var = x.var(axis=self.axes, keepdims=True)
        x_hat, inv_std = standardize(x, mean, var, self.eps)
        self.save_for_backward(x_hat, inv_std)
        return x_hat

    def backward(self, grad_output):
        x_hat, inv_std = self.saved_tensors
        return standardize_backward(grad_output, x_hat, inv_std, self.axes)


@st.composite
def shapes_and_axes(draw):
    """An array shape of 1 to 3 axes and a non-empty set of its axes, holding 2+ values."""
    shape = draw(pst.shapes(min_dims=1, max_dims=3, max_side=4))
    axes = draw(st.sets(st.sampled_from(range(len(shape))), min_size=1).map(sorted))
    if np.prod([shape[axis] for axis in axes]) < 2:
        shape = tuple(side + 1 if axis in axes else side for axis, side in enumerate(shape))
    return shape, tuple(axes)


# The mistakes of standardize_backward: (what it computes from s, ĝ, x̂ and the means over
# the axes, the hint). The first that reproduces a wrong answer on a generic input is named.
STANDARDIZE_MISTAKES = (
    (
        lambda s, g, x_hat, mean, total: s * (g - total(g) - x_hat * total(g * x_hat)),
        "the means over the axes are sums: use .mean(axis=axes, keepdims=True), which "
        "divides by the N values of each group",
    ),
    (
        lambda s, g, x_hat, mean, total: (g - mean(g) - x_hat * mean(g * x_hat)) / s,
        "the bracket is divided by inv_std: inv_std is already 1 / sqrt(var + eps), "
        "so multiply by it",
    ),
    (
        lambda s, g, x_hat, mean, total: g - mean(g) - x_hat * mean(g * x_hat),
        "the factor inv_std in front of the bracket is missing",
    ),
    (
        lambda s, g, x_hat, mean, total: s * g - mean(g) - x_hat * mean(g * x_hat),
        "inv_std multiplies only grad_x_hat: it multiplies the whole bracket, "
        "inv_std * (grad_x_hat - mean(grad_x_hat) - x_hat * mean(grad_x_hat * x_hat))",
    ),
    (
        lambda s, g, x_hat, mean, total: s * g,
        "backward treats the mean and the variance as constants (inv_std * grad_x_hat): "
        "they depend on x too, so subtract mean(ĝ) and x̂·mean(ĝ·x̂)",
    ),
    (
        lambda s, g, x_hat, mean, total: s * (g - x_hat * mean(g * x_hat)),
        "the term mean(grad_x_hat), from the mean's dependence on x, is missing",
    ),
    (
        lambda s, g, x_hat, mean, total: s * (g - mean(g)),
        "the last term, x_hat * mean(grad_x_hat * x_hat), is missing or wrong: it is the mean "
        "of the product ĝ·x̂ (not the product of the means: the mean of x̂ is 0)",
    ),
    (
        lambda s, g, x_hat, mean, total: s * (g - mean(g) + x_hat * mean(g * x_hat)),
        "the sign of the last term is wrong: subtract x_hat * mean(grad_x_hat * x_hat)",
    ),
)


def standardize_backward_hint(function, ndim, axes) -> str:
    """The hint naming the mistake of a wrong ``standardize_backward``, or ''.

    ``function`` runs on a generic input of ``ndim`` axes of distinct lengths (3, 4, 5),
    standardised over ``axes``, and its result is compared with ``STANDARDIZE_MISTAKES``.
    """
    rng = np.random.default_rng(0x6E7)
    shape = tuple(range(3, 3 + ndim))
    x, g = rng.standard_normal(shape) * 1.7 + 0.3, rng.standard_normal(shape)
    mean_x, var_x = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    s = 1 / np.sqrt(var_x + 1e-5)
    x_hat = (x - mean_x) * s
    try:
        got = np.asarray(function(g.copy(), x_hat.copy(), s.copy(), axes), dtype=np.float64)
    except ValueError:  # arrays that do not broadcast: a mean that lost its axes
        got = None
    if got is None or got.shape != shape:
        return (
            "the means must keep the axes they average over (keepdims=True), so that they "
            "broadcast against grad_x_hat and x_hat of shape (..., N, ...)"
        )

    def mean(values):
        return values.mean(axis=axes, keepdims=True)

    def total(values):
        return values.sum(axis=axes, keepdims=True)

    truth = s * (g - mean(g) - x_hat * mean(g * x_hat))
    if np.allclose(got, truth, rtol=1e-9, atol=1e-12):
        return ""
    for mistake, hint in STANDARDIZE_MISTAKES:
        if np.allclose(got, mistake(s, g, x_hat, mean, total), rtol=1e-9, atol=1e-12):
            return hint
    count = int(np.prod([shape[axis] for axis in axes]))
    return term_by_term_hint(got, standardize_terms(g, x_hat, s, axes), count)


def standardize_terms(g, x_hat, s, axes) -> dict:
    """The terms a standardize_backward is made of, by name: (values, coefficient in the
    truth), with the means over ``axes`` and, as wrong alternatives, over other axes."""

    def over(axis):
        return lambda values: values.mean(axis=axis, keepdims=True)

    terms = {}
    means = {"": over(axes), " over every axis": over(None), " over axis 0": over(0)}
    for where, mean in means.items():
        truth = 1 if where == "" else 0
        terms[f"inv_std·mean(ĝ){where}"] = (s * mean(g), -truth)
        terms[f"inv_std·x̂·mean(ĝ·x̂){where}"] = (s * x_hat * mean(g * x_hat), -truth)
    terms["inv_std·ĝ"] = (s * g, 1)
    terms["inv_std·mean(ĝ·x̂) (no factor x̂)"] = (s * over(axes)(g * x_hat), 0)
    return terms


def term_by_term_hint(got, terms: dict, count: int) -> str:
    """The hint when ``got`` is a sum of the named ``terms`` with other coefficients than
    the truth's: which terms are missing, extra, or off by a factor; '' if it is no such sum.

    Terms that repeat an earlier one (the means over every axis, when those are the axes)
    are left out, so that the coefficients are unique. ``count`` is the number of values
    in each mean, to recognise a factor N, 1/N or N/(N - 1).
    """
    names, columns = [], []
    for name, (values, _) in terms.items():
        column = np.broadcast_to(values, got.shape).ravel()
        candidate = np.stack([*columns, column], axis=1)
        if np.linalg.matrix_rank(candidate, tol=1e-9 * np.abs(candidate).max()) > len(columns):
            names.append(name)
            columns.append(column)
    design = np.stack(columns, axis=1)
    coefficients = np.linalg.lstsq(design, got.ravel(), rcond=None)[0]
    if not np.allclose(design @ coefficients, got.ravel(), rtol=1e-7, atol=1e-9):
        return ""
    fitted = dict(zip(names, coefficients, strict=True))
    differences, missing, extra = [], set(), set()
    for name, coefficient in fitted.items():
        truth = terms[name][1]
        if abs(coefficient - truth) < 1e-6:
            continue
        if abs(truth) < 1e-6:
            differences.append(f"an extra term {coefficient:+.4g}·{name}")
            extra.add(name)
        elif abs(coefficient) < 1e-6:
            differences.append(f"the term {truth:+d}·{name} is missing")
            missing.add(name)
        else:
            differences.append(
                f"{name} has the factor {coefficient:+.4g}, not {truth:+d}"
                f"{_count_factor(coefficient / truth, count)}"
            )
    if not differences:
        return ""
    for where in (" over every axis", " over axis 0"):
        if missing and {name + where for name in missing} == extra:
            return (
                f"the means are taken{where}, not over `axes`: use "
                ".mean(axis=axes, keepdims=True) in both terms"
            )
    return (
        "dL/dx is inv_std · (ĝ - mean(ĝ) - x̂·mean(ĝ·x̂)), the means over `axes`; yours differs "
        f"term by term: {'; '.join(differences)}"
    )


def _count_factor(ratio: float, count: int) -> str:
    """' (N/(N - 1), ...)' when ``ratio`` is a factor made of the count N of each mean, or ''."""
    for value, words in (
        (count / (count - 1) if count > 1 else None, "N/(N - 1): the mean divides by N, not N - 1"),
        (count, "N: a sum where the mean belongs"),
        (1 / count, "1/N: divided by N once too often"),
    ):
        if value is not None and np.isclose(ratio, value, rtol=1e-6):
            return f" (a factor {words}, N = {count} values per mean)"
    return ""


def check_standardize_gradients(x, axes, module=None):
    """check_gradients of ``module`` (by default ``Standardize(axes)``) at ``x``, its hint
    replaced by the mistake of ``standardize_backward`` over ``axes`` when one of
    ``STANDARDIZE_MISTAKES`` is recognised."""
    try:
        return check_gradients(Standardize(axes) if module is None else module, x)
    except AssertionError as error:
        hint = standardize_backward_hint(standardize_backward, x.ndim, axes)
        if hint and hasattr(error, "with_hint"):
            raise error.with_hint(hint) from None
        raise


def check_sums_to_zero(grad):
    """The input gradient of a standardisation over axis 0 sums to zero over that axis; a
    failure names the mistake of ``standardize_backward`` when it is recognised."""
    total = grad.sum(axis=0)
    try:
        check_values("the sum of dL/dx over the batch", total, np.zeros(total.shape), formula="0")
    except AssertionError as error:
        hint = standardize_backward_hint(standardize_backward, 2, (0,))
        raise AssertionError(f"{error}\nHint: {hint}" if hint else str(error)) from None


def visible_check_standardize_backward():
    """The visible check under the `standardize_backward` answer."""
    x = np.random.default_rng(0).standard_normal((5, 3))
    print(check_standardize_gradients(x, (0,)))


@graded
@given(case=shapes_and_axes(), data=st.data())
def test_standardize_backward_gradients(case, data):
    """the output, then check_gradients of standardisation over random axes of random arrays, of random scales"""
    shape, axes = case
    x, module = data.draw(pst.arrays(shape, scale=pst.scales())), Standardize(axes)
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    expected = (x - mean) / np.sqrt(var + module.eps)
    check_values("Standardize(x)", module(x), expected, formula="(x - mean) / sqrt(var + eps)")
    check_standardize_gradients(x, axes)


@graded
@given(batch=st.integers(2, 6), features=pst.feature_sizes(max_size=4), data=st.data())
def test_standardize_backward_sums_to_zero(batch, features, data):
    """over the batch, the input gradient of every feature sums to zero (a shift of the inputs changes nothing)"""
    x = data.draw(pst.arrays((batch, features), scale=pst.scales()))
    module = Standardize(axes=(0,))
    module(x)
    grad = module.backward(data.draw(pst.arrays((batch, features))))
    check_sums_to_zero(grad)


STANDARDIZE_BACKWARD = Part(
    target="pancake.nn.normalization.standardize_backward",
    instructions="""
        `standardize(x, mean, var, eps)` computes $\\hat x = (x - \\mu) s$ with
        $s = 1/\\sqrt{\\sigma^2 + \\varepsilon}$, and returns $\\hat x$ and $s$. When
        $\\mu$ and $\\sigma^2$ are the mean and the (biased) variance of $x$ over some
        `axes` (with $N$ values each), they depend on $x$ too, and chapter 13 derives

        $$\\frac{\\partial L}{\\partial x} = s\\left(\\hat g - \\operatorname{mean}(\\hat g)
        - \\hat x \\operatorname{mean}(\\hat g\\,\\hat x)\\right)$$

        where $\\hat g = \\partial L / \\partial \\hat x$ and the means are over `axes`
        (keep the dimensions, so that they broadcast). Write
        `standardize_backward(grad_x_hat, x_hat, inv_std, axes)`: `grad_x_hat` and
        `x_hat` have the shape of $x$, `inv_std` ($s$) has size 1 along `axes`. BatchNorm
        (the next part) and LayerNorm both call it.
    """,
    check=visible_check_standardize_backward,
    tests=(
        GradedTest(test_standardize_backward_gradients, points=3),
        GradedTest(test_standardize_backward_sums_to_zero, points=1),
    ),
)


class BatchNorm1dOfTheAnswer(BatchNorm):
    """BatchNorm1d on top of the answer's BatchNorm: ``(N, C) -> (N, C)``."""

    input_axes = ("batch", "num_features")


class BatchNorm2dOfTheAnswer(BatchNorm):
    """BatchNorm2d on top of the answer's BatchNorm: ``(N, C, H, W) -> (N, C, H, W)``."""

    input_axes = ("batch", "channels", "height", "width")


@st.composite
def batch_norms(draw):
    """A BatchNorm1d on ``(N, C)`` or a BatchNorm2d on ``(N, C, H, W)`` built on the answer,
    with random weight and bias, and an input with two or more values per channel."""
    channels = draw(pst.feature_sizes(max_size=4))
    if draw(st.booleans()):
        module, shape = BatchNorm1dOfTheAnswer(channels), (draw(st.integers(2, 6)), channels)
    else:
        sides = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        module = BatchNorm2dOfTheAnswer(channels)
        shape = (draw(st.integers(2, 4)), channels, *sides)
    module.weight.data[...] = draw(pst.arrays((channels,)))
    module.bias.data[...] = draw(pst.arrays((channels,)))
    x = draw(pst.arrays(shape, scale=pst.scales())) + draw(pst.arrays(()))
    return module, x


def batch_norm_by_definition(module, x, mean, var):
    """``weight * (x - mean) / sqrt(var + eps) + bias``, per channel (axis 1)."""
    channel = (1, -1) + (1,) * (x.ndim - 2)
    standardized = (x - mean.reshape(channel)) / np.sqrt(var.reshape(channel) + module.eps)
    return module.weight.data.reshape(channel) * standardized + module.bias.data.reshape(channel)


def training_output(module, x):
    """``module(x)`` in training mode; a statistic of another shape than one value per
    channel, when it reaches the running buffers, fails with a hint instead of a crash."""
    try:
        return module(x)
    except ValueError as error:
        if f"into shape ({module.num_features},)" not in str(error):
            raise
        hint = statistics_shape_hint(module, x) or (
            f"the batch statistics and the running buffers must hold one value per channel, "
            f"shape ({module.num_features},): take them over every axis but the channel "
            f"axis, self.reduce_axes ({module.reduce_axes} here), without keepdims"
        )
        raise AssertionError(f"{module!r} on x of shape {x.shape}: {error}\nHint: {hint}") from None


def training_statistics_hint(module, x, output) -> str:
    """A hint line when the training output standardised with other statistics than the
    batch's mean and biased variance over ``reduce_axes``, or ''."""
    axes = module.reduce_axes
    candidates = {
        "the unbiased variance (ddof=1): normalise with the biased one, x.var(axis=...), "
        "and keep the unbiased one for running_var": (x.mean(axis=axes), x.var(axis=axes, ddof=1)),
        "the running statistics: in training mode, use the batch's mean and variance": (
            module.running_mean,
            module.running_var,
        ),
    }
    try:  # a variance by hand around the mean of shape (C,), which meets x's last axis
        by_hand = ((x - x.mean(axis=axes)) ** 2).mean(axis=axes)
    except ValueError:
        by_hand = None
    if by_hand is not None and by_hand.shape == (module.num_features,) and x.ndim > 2:
        around = (
            f"a variance around the mean of shape ({module.num_features},), which lines up "
            "with the last axis of x, not the channel axis: in ((x - mean) ** 2).mean(...), "
            "subtract self.per_channel(mean), or take x.var(axis=self.reduce_axes)"
        )
        candidates[around] = (x.mean(axis=axes), by_hand)
    for hint, (mean, var) in candidates.items():
        try:
            expected = batch_norm_by_definition(module, x, mean, var)
        except ValueError:  # running buffers the answer reshaped: not this mistake
            continue
        if np.shape(output) == expected.shape and np.allclose(output, expected, rtol=1e-9):
            return f"\nHint: the output is standardised with {hint}"
    return ""


# How a running statistic may be updated from its old value and the batch's (momentum m).
UPDATE_RULES = {
    "momentum * running + (1 - momentum) * batch (the Keras convention)": (
        lambda old, new, m: m * old + (1 - m) * new
    ),
    "the batch statistic alone: the running value is replaced, not blended": (
        lambda old, new, m: new
    ),
    "its starting value: it is never updated in training mode": lambda old, new, m: old,
    "running + momentum * batch: the old value is not decayed by (1 - momentum)": (
        lambda old, new, m: old + m * new
    ),
}


def update_rule_hint(module, batches, momentum) -> str:
    """The hint for one running statistic whose updates follow another rule than
    (1 - momentum) * running + momentum * batch (the unbiased variance), or ''."""
    axes, per_channel = module.reduce_axes, batches[0].size // module.num_features
    statistics = {
        "running_mean": (module.running_mean, 0.0, [b.mean(axis=axes) for b in batches]),
        "running_var": (
            module.running_var,
            1.0,
            [b.var(axis=axes) * per_channel / (per_channel - 1) for b in batches],
        ),
    }

    def updated(update, start, batch_values):
        value = np.full(module.num_features, start)
        for new in batch_values:
            value = update(value, new, momentum)
        return value

    for name, (got, start, batch_values) in statistics.items():
        right = updated(lambda old, new, m: (1 - m) * old + m * new, start, batch_values)
        for rule, update in UPDATE_RULES.items():
            value = updated(update, start, batch_values)
            if np.allclose(got, value, rtol=1e-9) and not np.allclose(value, right, rtol=1e-9):
                return (
                    f"{name} follows {rule}; PyTorch's rule is running = (1 - momentum) * "
                    "running + momentum * batch statistic"
                )
    return ""


def running_statistics_hint(module, batches, momentum) -> str:
    """A hint line naming the mistake of running statistics that miss the expected ones
    after a training forward on each of ``batches``, or ''."""
    axes = module.reduce_axes
    per_channel = batches[0].size // module.num_features
    updates = {
        "momentum weights the old running value (the Keras convention): PyTorch's rule is "
        "running = (1 - momentum) * running + momentum * batch statistic": (
            lambda old, new: momentum * old + (1 - momentum) * new,
            per_channel,
        ),
        "the unbiased variance counts the values per channel, n = x.size // num_features "
        f"({per_channel} here), not the batch size": (
            lambda old, new: (1 - momentum) * old + momentum * new,
            len(batches[0]),
        ),
        "running_var follows the biased variance: use the unbiased one, n / (n - 1) times "
        "the biased variance, with n values per channel": (
            lambda old, new: (1 - momentum) * old + momentum * new,
            None,
        ),
    }
    for hint, (update, count) in updates.items():
        if count is not None and count < 2:
            continue
        mean, var = np.zeros(module.num_features), np.ones(module.num_features)
        for batch in batches:
            biased = batch.var(axis=axes)
            mean = update(mean, batch.mean(axis=axes))
            var = update(var, biased if count is None else biased * count / (count - 1))
        if np.allclose(module.running_mean, mean, rtol=1e-9) and np.allclose(
            module.running_var, var, rtol=1e-9
        ):
            return f"\nHint: {hint}"
    one_statistic = update_rule_hint(module, batches, momentum)
    if one_statistic:
        return f"\nHint: {one_statistic}"
    correction = variance_correction(module, batches, momentum)
    count = variance_count(correction)
    if count is not None and count != per_channel:
        return (
            f"\nHint: running_var follows the unbiased variance n / (n - 1) times the biased "
            f"one with n = {count}, but each channel has n = {per_channel} values "
            f"(x.size // num_features): count the values of one channel, not {count}"
        )
    right = per_channel / (per_channel - 1)
    if count is not None or confirmed_correction(module, batches, momentum) is None:
        return ""
    if np.isclose(correction, right, rtol=1e-9):
        return ""
    return (
        f"\nHint: running_var's updates multiply the biased variance by {correction:.6g}, "
        f"where the unbiased correction n / (n - 1) = {right:.6g} belongs (n = {per_channel} "
        "values per channel): check the correction's formula"
    )


def variance_correction(module, batches, momentum) -> float | None:
    """The factor c the biased variance was multiplied by in running_var's updates, the
    same for every channel, when running_mean is right; else None.

    After the batches, running_var = (1 - momentum)^B + c·Σ_b momentum·(1 - momentum)^(B-1-b)·
    biased_b, linear in c: solved per channel.
    """
    axes, kept = module.reduce_axes, 1 - momentum
    mean = np.zeros(module.num_features)
    weighted = np.zeros(module.num_features)
    for batch in batches:
        mean = kept * mean + momentum * batch.mean(axis=axes)
        weighted = kept * weighted + momentum * batch.var(axis=axes)
    running_var = np.asarray(module.running_var, dtype=np.float64).reshape(-1)
    if running_var.shape != weighted.shape or not np.allclose(module.running_mean, mean, rtol=1e-9):
        return None
    correction = (running_var - kept ** len(batches)) / weighted
    return float(correction[0]) if np.allclose(correction, correction[0], rtol=1e-6) else None


def confirmed_correction(module, batches, momentum) -> float | None:
    """``variance_correction``, when a fresh module of the same class with three channels,
    trained on generic batches of the same layout, gives the same factor in every channel
    (with one channel, any running_var solves for some factor); else None. (A factor that
    depends on the channel count, as n = x.size, is not confirmed: ``variance_count``
    names those.)"""
    correction = variance_correction(module, batches, momentum)
    if correction is None:
        return None
    try:
        fresh = type(module)(3, momentum=momentum)
        rng = np.random.default_rng(0)
        shape = (len(batches[0]), 3, *np.shape(batches[0])[2:])
        generic = [rng.standard_normal(shape) * (2 + step) + 1 for step in range(len(batches))]
        for batch in generic:
            training_output(fresh, batch)
        again = variance_correction(fresh, generic, momentum)
    except Exception:  # a module that cannot be made again this way: no confirmation
        return None
    return correction if again is not None and np.isclose(again, correction, rtol=1e-6) else None


def variance_count(correction: float | None) -> int | None:
    """The count n of a correction c = n / (n - 1) (n = c / (c - 1)), or None."""
    if correction is None or correction <= 1:
        return None
    count = correction / (correction - 1)
    return round(count) if abs(count - round(count)) < 1e-3 * count else None


def check_training_output(module, x, expected, formula):
    """check_values of ``module(x)`` in training mode against ``expected``, with a hint
    naming the statistics the output was standardised with."""
    output = training_output(module, x)
    try:
        check_values("BatchNorm(x) in training mode", output, expected, formula=formula)
    except AssertionError as error:
        hint = training_statistics_hint(module, x, output)
        hint = hint or batch_norm_forward_hint(module, training=True)
        raise with_hint(error, hint) from None


def check_eval_output(module, output, expected, what="BatchNorm(x) in eval mode"):
    """check_values of ``output``, ``module``'s in eval mode, against ``expected``, with a
    hint naming the part of the formula that differs (on a generic input)."""
    try:
        check_values(what, output, expected, formula="the running statistics")
    except AssertionError as error:
        hint = batch_norm_forward_hint(module, training=False)
        raise with_hint(error, hint) from None


def check_running_statistics(module, batches, momentum, mean, var):
    """running_mean and running_var against ``mean`` and ``var``, expected after a training
    forward on each of ``batches``; a failure names the mistake of the update if recognised."""
    formula = "(1 - momentum) * running + momentum * batch statistic (unbiased variance)"
    try:
        check_values("running_mean", module.running_mean, mean, formula=formula)
        check_values("running_var", module.running_var, var, formula=formula)
    except AssertionError as error:
        hint = running_statistics_hint(module, batches, momentum)
        raise with_hint(error, hint or crossed_update_hint(module, batches, momentum)) from None


def crossed_update_hint(module, batches, momentum) -> str:
    """A hint line when running_mean and running_var follow the update rule from another
    buffer or another batch statistic (a line copied from the other one), each buffer
    read after the lines before it, as code runs; or ''."""
    axes = module.reduce_axes
    count = batches[0].size // module.num_features
    statistics = [
        {
            "the batch mean": batch.mean(axis=axes),
            "the unbiased batch variance": batch.var(axis=axes) * count / (count - 1),
            "the biased batch variance": batch.var(axis=axes),
        }
        for batch in batches
    ]
    buffers, names = ("running_mean", "running_var"), list(statistics[0])
    right = ("running_mean", "the batch mean", "running_var", "the unbiased batch variance")
    for rule in itertools.product(buffers, names, buffers, names):
        running = {"running_mean": np.zeros(module.num_features), "running_var": 1.0}
        for step in statistics:
            for buffer, (old, new) in zip(buffers, (rule[:2], rule[2:]), strict=True):
                running[buffer] = (1 - momentum) * running[old] + momentum * step[new]
        if rule != right and all(
            np.allclose(getattr(module, buffer), running[buffer], rtol=1e-9) for buffer in buffers
        ):
            return "\nHint: " + "; ".join(
                f"{buffer} is updated from {rule[2 * i]} and {rule[2 * i + 1]}, where "
                f"{right[2 * i]} and {right[2 * i + 1]} belong"
                for i, buffer in enumerate(buffers)
                if rule[2 * i : 2 * i + 2] != right[2 * i : 2 * i + 2]
            )
    return ""


def visible_check_batch_norm():
    """The visible check under the `BatchNorm` answer."""
    x = np.random.default_rng(0).standard_normal((4, 3)) * 2 + 1
    bn = BatchNorm1dOfTheAnswer(3)
    print("training output:\n", bn(x))
    print("running_mean", bn.running_mean, "running_var", bn.running_var)
    print(check_gradients(bn, x))
    print(check_eval_gradients(bn.eval(), x))


@graded
@given(case=batch_norms())
def test_batch_norm_training_forward(case):
    """in training mode the output standardises each channel with the batch's mean and biased variance"""
    module, x = case
    axes = module.reduce_axes
    expected = batch_norm_by_definition(module, x, x.mean(axis=axes), x.var(axis=axes))
    check_training_output(
        module, x, expected, formula="weight * (x - batch mean) / sqrt(batch var + eps) + bias"
    )


@graded
@given(case=batch_norms(), momentum=st.sampled_from([0.1, 0.5, 1.0]), steps=st.integers(1, 3))
def test_batch_norm_running_statistics(case, momentum, steps):
    """each training forward moves running_mean and running_var towards the batch mean and the unbiased variance, by momentum"""
    module, x = case
    module.momentum = momentum
    axes = module.reduce_axes
    mean, var = np.zeros(module.num_features), np.ones(module.num_features)
    batches = [x * (step + 1) for step in range(steps)]
    for batch in batches:
        training_output(module, batch)
        mean = (1 - momentum) * mean + momentum * batch.mean(axis=axes)
        var = (1 - momentum) * var + momentum * batch.var(axis=axes, ddof=1)
    check_running_statistics(module, batches, momentum, mean, var)


def check_running_statistics_unchanged(module, running):
    """running_mean and running_var of ``module`` (in eval mode) are still ``running``."""
    try:
        check_values(
            "running_mean after eval", module.running_mean, running[0], formula="unchanged"
        )
        check_values("running_var after eval", module.running_var, running[1], formula="unchanged")
    except AssertionError as error:
        raise AssertionError(
            f"{error}\nHint: forward in eval mode changed the running statistics: update them "
            "only in training mode (if self.training:); in eval mode standardise with them as "
            "they are"
        ) from None


@graded
@given(case=batch_norms(), data=st.data())
def test_batch_norm_eval_forward(case, data):
    """in eval mode the output uses running_mean and running_var, which stay unchanged, even for a batch of one"""
    module, x = case
    channels = module.num_features
    module.running_mean[...] = data.draw(pst.arrays((channels,)))
    module.running_var[...] = np.exp(data.draw(pst.arrays((channels,))))
    running = module.running_mean.copy(), module.running_var.copy()
    module.eval()
    expected = batch_norm_by_definition(module, x, *running)
    output = module(x)
    check_running_statistics_unchanged(module, running)
    check_eval_output(module, output, expected)
    check_eval_output(module, module(x[:1]), expected[:1], "BatchNorm(x[:1]) in eval mode")
    check_running_statistics_unchanged(module, running)


@graded
@given(case=batch_norms())
def test_batch_norm_training_gradients(case):
    """the output, then check_gradients in training mode (input through the batch statistics, weight, bias, accumulation)"""
    module, x = case
    axes = module.reduce_axes
    expected = batch_norm_by_definition(module, x, x.mean(axis=axes), x.var(axis=axes))
    check_training_output(module, x, expected, formula="the batch's statistics")
    check_standardize_gradients(x, axes, module)


@graded
@given(case=batch_norms(), data=st.data())
def test_batch_norm_eval_gradients(case, data):
    """the output, then check_gradients in eval mode, with random running statistics"""
    module, x = case
    module.running_mean[...] = data.draw(pst.arrays((module.num_features,)))
    module.running_var[...] = np.exp(data.draw(pst.arrays((module.num_features,))))
    running = module.running_mean.copy(), module.running_var.copy()
    expected = batch_norm_by_definition(module, x, *running)
    try:
        check_values(
            "BatchNorm(x) in eval mode",
            module.eval()(x),
            expected,
            formula="the running statistics",
        )
    except AssertionError:  # a forward that moved the running statistics says so
        check_running_statistics_unchanged(module, running)
        raise
    check_eval_gradients(module, x)


def check_eval_gradients(module, x):
    """check_gradients of ``module`` in eval mode (its report); a failure says if backward treats the
    running statistics as the batch's (the training formula, through standardize_backward)."""
    try:
        return check_gradients(module, x)
    except AssertionError as error:
        if batch_formula_in_eval(module, x) and hasattr(error, "with_hint"):
            raise error.with_hint(
                "in eval mode the running statistics are constants, not functions of x: "
                "dL/dx = grad_x_hat * inv_std (standardize_backward is the training formula; "
                "save whether forward ran in training mode)"
            ) from None
        raise


def batch_formula_in_eval(batch_norm, x) -> bool:
    """Whether ``batch_norm``'s backward in eval mode gives the training formula's dL/dx."""
    batch_norm.eval()
    g = np.random.default_rng(0x6E7).standard_normal(x.shape)
    try:
        batch_norm(x)
        got = np.asarray(batch_norm.backward(g.copy()), dtype=np.float64)
    except Exception:  # a backward that fails: the check's own message says why
        return False
    channel = (1, -1) + (1,) * (x.ndim - 2)
    inv_std = 1 / np.sqrt(batch_norm.running_var.reshape(channel) + batch_norm.eps)
    x_hat = (x - batch_norm.running_mean.reshape(channel)) * inv_std
    grad_x_hat = g * batch_norm.weight.data.reshape(channel)
    batch = standardize_backward(grad_x_hat, x_hat, inv_std, batch_norm.reduce_axes)
    return got.shape == x.shape and np.allclose(got, batch, rtol=1e-7, atol=1e-10)


BATCH_NORM = Part(
    target="pancake.nn.normalization.BatchNorm",
    instructions="""
        `BatchNorm` is the code of `BatchNorm1d` (inputs `(N, C)`) and `BatchNorm2d`
        (inputs `(N, C, H, W)`): each channel is standardised with statistics taken over
        every axis but the channel axis, `self.reduce_axes`, then scaled by
        `self.weight` ($\\gamma$) and shifted by `self.bias` ($\\beta$), both of shape
        `(C,)`. `self.per_channel(v)` reshapes a `(C,)` vector to broadcast against the
        input. `standardize` and your `standardize_backward` do the arithmetic.

        - `forward(x)` in training mode (`self.training`): use the batch's mean and
          biased variance (`x.var`), and update the buffers in place:
          `running_mean` $\\leftarrow (1-m)\\,$`running_mean`$\\, + m\\,\\mu$ and
          `running_var` $\\leftarrow (1-m)\\,$`running_var`$\\, + m\\,\\frac{n}{n-1}\\sigma^2$
          ($m$ = `self.momentum`, $n$ values per channel: the **unbiased** variance). In
          eval mode use the running statistics instead, and leave them alone. Save what
          `backward` needs (including which statistics were used), return
          $\\gamma \\hat x + \\beta$.
        - `backward(grad_output)`: accumulate $\\partial L / \\partial\\gamma$ and
          $\\partial L / \\partial\\beta$ (sums over `reduce_axes`), and return
          $\\partial L / \\partial x$: through the batch statistics
          (`standardize_backward`) in training mode; with constant statistics, simply
          `grad_output * weight * inv_std`, in eval mode.
    """,
    check=visible_check_batch_norm,
    tests=(
        GradedTest(test_batch_norm_training_forward, points=2),
        GradedTest(test_batch_norm_running_statistics, points=2),
        GradedTest(test_batch_norm_eval_forward, points=1),
        GradedTest(test_batch_norm_training_gradients, points=2),
        GradedTest(test_batch_norm_eval_gradients, points=1),
    ),
)

ASSIGNMENT = Assignment(
    number=13,
    slug="normalization",
    title="Batch normalisation",
    introduction="""
        This exercise goes with chapter 13. First the backward pass of standardisation
        through its own mean and variance, the formula of the chapter; then batch
        normalisation: statistics of the batch and running estimates in training,
        running estimates in evaluation, and the backward pass of both modes.
    """,
    parts=(STANDARDIZE_BACKWARD, BATCH_NORM),
)
