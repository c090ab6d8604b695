"""Compare values with a documented formula, entry by entry, naming the worst entry."""

from __future__ import annotations

import numpy as np


def check_values(what: str, got, expected, *, formula: str, rtol: float = 1e-7) -> str:
    """Compare ``got`` with ``expected`` entry by entry; ``formula`` says what was expected."""
    if got is None:
        raise AssertionError(f"{what} is None: did you forget to `return` it?")
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        message = f"{what} has shape {got.shape}, expected {expected.shape} ({formula})"
        error = AssertionError(f"{message}{_shape_hint(got.shape, expected.shape)}")
        error.unhinted = message  # as below: a caller's hint from a generic input replaces it
        raise error
    if not np.all(np.isfinite(got)):
        raise AssertionError(
            f"{what} contains inf or nan where {formula} is finite.\n{_nan_hint(got)}"
        )
    errors = np.abs(got - expected)
    # relative per entry, plus a sliver of the largest entry for values that cancel to ~0
    tolerance = rtol * (np.abs(expected) + 1e-3 * np.abs(expected).max(initial=0.0)) + 1e-12
    if np.all(errors <= tolerance):
        return f"{what} matches {formula}: OK"
    worst = np.unravel_index(np.argmax(errors - tolerance), expected.shape)
    message = (
        f"{what} is wrong: it should be {formula}; at index {tuple(int(i) for i in worst)} "
        f"it is {_told_apart(got[worst], expected[worst])}"
    )
    hint = (
        _scale_hint(got, expected)
        or _rearranged_hint(got, expected)
        or _per_index_hint(got, expected, tolerance)
        or _where_hint(errors, tolerance, expected)
    )
    error = AssertionError(f"{message}{hint}")
    # A caller that names the mistake itself, on a generic input (forward.with_hint), replaces
    # this hint: on a small failing case a scale or a rearrangement may hold by chance.
    error.unhinted = message
    raise error


def _nan_hint(got: np.ndarray) -> str:
    """Where non-finite values come from: an overflow (inf), or also a log or square root of
    a negative number (nan alone)."""
    if np.any(np.isinf(got)):
        return (
            "Hint: an exp or a log overflowed: use the stable form (subtract the max, "
            "log-sum-exp); or a number was divided by 0"
        )
    return (
        "Hint: an exp or a log overflowed (inf / inf and inf - inf give nan), or nan came from "
        "the log (or square root) of a negative number: use the stable form (subtract the "
        "max, log-sum-exp), and take logs of positive values only (probabilities, not raw "
        "scores: log_softmax(z) = z - logsumexp(z))"
    )


def _told_apart(got: float, expected: float) -> str:
    """'A instead of B', with as many digits as it takes for A and B to read differently
    (6 at least): 0.9 and 0.9 say nothing."""
    for digits in range(6, 18):
        shown = f"{got:.{digits}g}", f"{expected:.{digits}g}"
        if shown[0] != shown[1]:
            break
    return f"{shown[0]} instead of {shown[1]}"


def _scale_hint(got: np.ndarray, expected: np.ndarray) -> str:
    """A hint for values that are all the expected ones times one factor (-1: a sign), or ''."""
    if not np.any(expected):
        return ""
    factor = float(np.vdot(got, expected) / np.vdot(expected, expected))
    if not np.allclose(got, factor * expected, rtol=1e-9, atol=1e-12) or factor == 0:
        return ""
    if np.isclose(factor, -1, rtol=1e-9):
        return ".\nHint: the sign is wrong (every value is negated): look for a minus sign lost or added"
    if np.count_nonzero(expected) < 2:
        return ""  # one value is always some factor of another: that says nothing
    return (
        f".\nHint: every value is {factor:.6g} times the expected one: a factor is missing, "
        "extra, or divides where it multiplies"
    )


def _per_index_hint(got: np.ndarray, expected: np.ndarray, tolerance: np.ndarray) -> str:
    """A hint when the values are off by one amount (or one factor) everywhere, or by one
    amount (or factor) per index of one axis, confirmed entry by entry within the
    comparison's tolerance; or ''."""
    offset = got - expected
    if got.size > 1 and np.all(np.abs(offset - offset.mean()) <= tolerance):
        return (
            f".\nHint: every value is off by the same amount, {offset.mean():.6g}: a constant "
            "term is added or missing"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = got / expected
    for axis in _grouping_axes(got.shape):
        others = tuple(a for a in range(got.ndim) if a != axis)
        if np.all(np.abs(offset - offset.mean(axis=others, keepdims=True)) <= tolerance):
            kind = "amount", "term", "a bias, a mean, a per-channel parameter"
        elif np.all(expected != 0) and np.all(
            np.abs(got - expected * ratio.mean(axis=others, keepdims=True)) <= tolerance
        ):
            kind = "factor", "factor", "a weight, a per-channel scale or standard deviation"
        else:
            continue
        return (
            f".\nHint: all the entries with the same index along axis {axis} are off by the "
            f"same {kind[0]} (one {kind[0]} per index, {got.shape[axis]} in all): a {kind[1]} "
            f"with one value per index of axis {axis} ({kind[2]}) is missing, extra, or laid "
            "along another axis"
        )
    return ""


def _grouping_axes(shape: tuple) -> list[int]:
    """The axes of a result of ``shape`` with three indices or more, each grouping three
    entries or more: fewer would let an unrelated mistake look like a term per index."""
    size = int(np.prod(shape))
    return [axis for axis, n in enumerate(shape) if n > 2 and size // n > 2]


def _where_hint(errors: np.ndarray, tolerance: np.ndarray, expected: np.ndarray) -> str:
    """A hint when every wrong entry is among the first (or the last) few indices of one
    axis, the others right, each far out of the tolerance (an error near it could be
    right elsewhere), and the expected values are all distinct (no coincidence of equal
    values): what a slice or a loop's bounds get wrong; or ''."""
    wrong = errors > tolerance
    if np.unique(expected).size != expected.size or np.any(errors[wrong] < 1e3 * tolerance[wrong]):
        return ""
    found = []
    for axis, length in enumerate(wrong.shape):
        others = tuple(a for a in range(wrong.ndim) if a != axis)
        indices = np.flatnonzero(wrong.any(axis=others))
        if length > 1 and len(indices) < length and indices[-1] - indices[0] == len(indices) - 1:
            if indices[0] == 0 or indices[-1] == length - 1:
                found.append((len(indices) / length, axis, indices))
    if not found:
        return ""
    _, axis, indices = min(found, key=lambda item: item[0])
    count, length = len(indices), wrong.shape[axis]
    end = "first" if indices[0] == 0 else "last"
    said = f"the {end} index" if count == 1 else f"the {end} {count} indices"
    return (
        f".\nHint: only the entries at {said} of axis {axis} (of {length}) are wrong, the "
        "others right: look for a slice or a loop's bounds that stop short of them (or go "
        "one too far), or a step that handles them differently"
    )


def _rearranged_hint(got: np.ndarray, expected: np.ndarray) -> str:
    """A hint for the expected values in other places (a reshape where a transpose belongs), or ''."""
    # as tight as the comparison itself: values off by a little are not "rearranged"
    if got.size < 2 or not np.allclose(
        np.sort(got, axis=None), np.sort(expected, axis=None), rtol=1e-9, atol=1e-12
    ):
        return ""
    return (
        ".\nHint: the values are right but in the wrong places (the expected entries, "
        "rearranged): check the order of the axes where you reshape or transpose; reshape to "
        "the layout the values are in (such as (N, H', W', C) for rows of channels-last "
        "values), then transpose to the one wanted"
    )


def _image_lengths_hint(got: tuple, expected: tuple) -> str:
    """A hint for an image-shaped result whose height or width is off, or ''."""
    if len(got) != 4 or len(expected) != 4 or got[:2] != expected[:2]:
        return ""
    return (
        f".\nHint: the height and width are {got[2:]} where {expected[2:]} belong: each is "
        "(n + 2·padding - kernel) // stride + 1 along its own axis; check which padding, "
        "kernel size and stride go with the height ([0]) and which with the width ([1])"
    )


def _shape_hint(got: tuple, expected: tuple) -> str:
    """A hint for a result that lost an axis of the expected shape, was stretched along an
    axis of length 1, or has its axes in another order, or ''."""
    if len(got) == len(expected) > 2 and sorted(got) == sorted(expected):
        return (
            ".\nHint: the axes are in another order: transpose the result back to the "
            "expected layout (channels-last arrays go back to (N, C, H, W) with "
            ".transpose(0, 3, 1, 2))"
        )
    same_rank = len(got) == len(expected)
    stretched = [a for a in range(len(got)) if same_rank and got[a] != expected[a]]
    if stretched and all(expected[a] == 1 for a in stretched):
        return (
            f".\nHint: the result was broadcast along axis {stretched[0]}, which should have "
            "length 1: an array of shape (C,) lines up with the last axis of what it meets; to "
            "apply one value per channel of (N, C, H, W), reshape it to (C, 1, 1) first"
        )
    lost_one_axis = len(got) == len(expected) - 1 and any(
        expected[:axis] + expected[axis + 1 :] == got for axis in range(len(expected))
    )
    if not lost_one_axis:
        return _image_lengths_hint(got, expected)
    return (
        ".\nHint: an axis was reduced away: a reduction (np.max, np.sum, np.mean) was used "
        "where an entry-wise operation belongs (np.maximum(x, 0), not np.max(x, 0))"
    )
