"""explain_error: a hint for each Python or NumPy error that learners' answers raise."""

from __future__ import annotations

import numpy as np
import pytest

try:
    from builtins import ExceptionGroup
except ImportError:  # Python 3.10: the backport hypothesis depends on
    from exceptiongroup import ExceptionGroup

from pancake.course.prelude import graded
from pancake.nn import Linear, ReLU, Sequential
from pancake.testing.errors import EXPLANATIONS, explain_error

x, weight = np.ones((4, 3)), np.ones((3, 2))


def xor_for_a_power():
    return 2.0 ^ 2


def builtin_max_of_an_array():
    return max(np.array([-1.0, 2.0]), 0)


def bias_used_without_a_check():
    bias = None
    return x @ weight + bias.data


def shuffled_order_from_rng_shuffle():
    order = np.random.default_rng(0).shuffle(np.arange(4))
    return order[:2]


def the_maths_wx():
    return weight @ x


def slice_one_short():
    padded = np.zeros((6, 6))
    padded[1:4, 1:4] = np.ones((4, 4))


def axes_not_lined_up():
    return np.ones((2, 3, 4)) * np.ones((2, 4, 3))


def reshape_to_another_size():
    return np.ones((4, 3)).reshape(5, -1)


class ReturnsAList:
    def __iter__(self):
        return [1, 2]


def iter_returning_a_list():
    return list(ReturnsAList())


def reversed_generator():
    return list(reversed(Sequential(ReLU()).children()))


def named_children_called():
    model = Sequential(ReLU())
    return [layer(x) for layer in model.named_children()]


def rng_passed_by_position():
    return Linear(3, 2, True, 0)


def last_axis_counted_from_the_front():
    return x.shape[2]


CRASHES = [
    (xor_for_a_power, "bitwise XOR"),
    (builtin_max_of_an_array, "np.maximum(x, 0)"),
    (bias_used_without_a_check, "self.bias is None"),
    (shuffled_order_from_rng_shuffle, "rng.shuffle(a)"),
    (the_maths_wx, "not the math's W @ x"),
    (slice_one_short, "a slice of n entries from s ends at s + n"),
    (axes_not_lined_up, "their axes do not line up"),
    (reshape_to_another_size, "use -1 for one axis"),
    (iter_returning_a_list, "write it as a generator"),
    (reversed_generator, "reversed(self.layers)"),
    (named_children_called, "unpack them"),
    (rng_passed_by_position, "passed by name, e.g. rng=rng"),
    (last_axis_counted_from_the_front, "shape[-1]"),
]


def raised_by(crash) -> BaseException:
    try:
        crash()
    except Exception as error:  # each crash raises its own type
        return error
    raise AssertionError(f"{crash.__name__} did not raise")


def test_every_explanation_is_exercised_by_a_crash_below():
    given = {explain_error(raised_by(crash)) for crash, _ in CRASHES}
    assert given == {hint for _, _, hint in EXPLANATIONS}


@pytest.mark.parametrize(("crash", "hint"), CRASHES, ids=[c.__name__ for c, _ in CRASHES])
def test_each_crash_gets_its_explanation(crash, hint):
    explanation = explain_error(raised_by(crash))
    assert explanation is not None and hint in explanation


@pytest.mark.parametrize(
    "error",
    [
        NotImplementedError(),
        AssertionError("Linear(x) is wrong"),
        ValueError("operands could not be broadcast together\nHint: sum over the batch axis"),
        KeyError("weight"),
        RuntimeError("'NoneType' object"),  # a message that matches, but not its type
    ],
    ids=["stub", "failed check", "already hinted", "unknown", "other type"],
)
def test_other_errors_get_no_explanation(error):
    assert explain_error(error) is None


def test_a_group_of_failures_gets_the_explanation_of_its_first_known_error():
    group = ExceptionGroup("2 distinct failures", [KeyError("k"), raised_by(the_maths_wx)])
    assert "not the math's W @ x" in explain_error(group)
    assert explain_error(ExceptionGroup("unknown", [KeyError("k")])) is None


def test_a_graded_test_that_crashes_fails_with_the_explanation():
    @graded
    def test_forward():
        the_maths_wx()

    with pytest.raises(AssertionError, match="ValueError: matmul.*\nHint: the inner sizes"):
        test_forward()


def test_a_graded_test_keeps_other_failures_as_they_are():
    @graded
    def test_stub():
        raise NotImplementedError()

    @graded
    def test_passing():
        return "passed"

    with pytest.raises(NotImplementedError):
        test_stub()
    assert test_passing() == "passed"
