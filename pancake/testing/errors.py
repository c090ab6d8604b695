"""What a Python or NumPy error raised inside a learner's code most likely means.

A graded test that crashes shows the error's own message, which names what failed
("matmul: Input operand 1 has a mismatch...") but not the mistake behind it. ``explain_error``
maps the errors that learners' answers really raise to a hint that says what to fix;
``pancake.course.prelude.graded`` adds it to a crashing graded test's message.
"""

from __future__ import annotations

import re

# (exception types, a pattern of the message, the hint): the first match wins.
EXPLANATIONS: list[tuple[tuple[type[BaseException], ...], str, str]] = [
    (
        (TypeError,),
        r"unsupported operand type\(s\) for \^",
        "^ is bitwise XOR in Python, not a power: write x ** 2 (or x * x)",
    ),
    (
        (ValueError,),
        r"truth value of an array with more than one element is ambiguous",
        "Python's max, min, if, and, or compare single numbers, not arrays: for an entry-wise "
        "choice use np.maximum(x, 0), np.minimum or np.where",
    ),
    (
        (AttributeError, TypeError),
        r"'NoneType' object",
        "a value was None: a function or method that ends without `return`, an in-place "
        "method that returns None (list.sort(), list.reverse(), rng.shuffle(a)), or an "
        "optional part used without checking it (with bias=False, self.bias is None)",
    ),
    (
        (ValueError,),
        r"matmul: Input operand \d has a mismatch in its core dimension",
        "the inner sizes of a matrix product differ: in a @ b the last axis of a must be as "
        "long as the second-to-last axis of b. Inputs hold one example per row, so a layer "
        "computes x @ W with x (batch, in) and W (in, out), not the math's W @ x; write down "
        "the shape of each factor",
    ),
    (
        (ValueError,),
        r"could not broadcast input array from shape",
        "values were written into a slice of another shape: check the slice's bounds (a "
        "slice of n entries from s ends at s + n) and that both sides have their axes in "
        "the same order",
    ),
    (
        (ValueError,),
        r"operands could not be broadcast together",
        "two arrays were combined entry by entry, but their axes do not line up: write down "
        "what each axis of each array holds (batch, channels, height, width...) and reshape "
        "or transpose one of them to match",
    ),
    (
        (ValueError,),
        r"cannot reshape array of size",
        "a reshape asked for another number of entries than the array has: compute the new "
        "shape from the array's own shape (or use -1 for one axis)",
    ),
    (
        (TypeError,),
        r"iter\(\) returned non-iterator",
        "__iter__ must return an iterator: write it as a generator (yield each item in "
        "turn), not return a list or one item",
    ),
    (
        (TypeError,),
        r"not reversible|argument to reversed\(\) must be a sequence",
        "reversed() needs a sequence such as a list, not a generator: reversed(self.layers)",
    ),
    (
        (TypeError,),
        r"'tuple' object is not callable",
        "a (name, value) pair was called as a function: named_children() and items() give "
        "pairs, so unpack them (for name, layer in ...) or iterate over the values",
    ),
    (
        (TypeError,),
        r"takes (from \d+ to )?\d+ positional arguments? but \d+ (were|was) given",
        "a function got more positional arguments than it takes: check its signature "
        "(arguments after * must be passed by name, e.g. rng=rng)",
    ),
    (
        (IndexError,),
        r"tuple index out of range",
        "an index past the end of a shape: count the axes, and use shape[-1] for the last "
        "axis whatever their number",
    ),
]


def explain_error(error: BaseException) -> str | None:
    """A hint for ``error`` raised by a learner's code, or None if it is not a known one
    (or already carries a hint). For a group (hypothesis found several distinct failures),
    the hint of its first known error."""
    inner_errors = getattr(error, "exceptions", None)  # an ExceptionGroup (Python >= 3.11)
    if isinstance(inner_errors, tuple | list):
        hints = (explain_error(inner) for inner in inner_errors)
        return next((hint for hint in hints if hint is not None), None)
    message = str(error)
    if "Hint:" in message:
        return None
    for types, pattern, hint in EXPLANATIONS:
        if isinstance(error, types) and re.search(pattern, message):
            return hint
    return None
