"""ex12's spies: what a Conv2d's forward gives unfold and its backward offset_pixels, on a
generic layer, named when it is not what the convolution needs."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from pancake.nn import conv

pytestmark = pytest.mark.ex12


def patched_conv2d(*patches):
    """pancake's Conv2d with ``patches`` (old, new) applied to its source, each old once."""
    source = inspect.getsource(conv.Conv2d)
    for old, new in patches:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    namespace = dict(vars(conv))
    exec(source, namespace)
    return namespace["Conv2d"]


HELPER_MISTAKES = [
    (
        "windows the kernel size apart",
        [
            (
                "unfold(padded, self.kernel_size, self.stride)",
                "unfold(padded, *[self.kernel_size] * 2)",
            )
        ],
        "forward gives unfold the stride (3, 4) where self.stride = (2, 3) belongs (that is the kernel size",
    ),
    (
        "the stride pair swapped in unfold",
        [
            (
                "unfold(padded, self.kernel_size, self.stride)",
                "unfold(padded, self.kernel_size, self.stride[::-1])",
            )
        ],
        "forward gives unfold the stride (3, 2), the pair swapped",
    ),
    (
        "np.pad on every axis",
        [
            (
                "padded[:, ph : ph + height, pw : pw + width] = x.transpose(0, 2, 3, 1)",
                "padded = np.pad(x, (ph, pw)).transpose(0, 2, 3, 1)",
            )
        ],
        "forward gives unfold images of shape (5, 11, 12, 5), where the padded channels-last "
        "input, (N, H + 2·ph, W + 2·pw, C_in), is (2, 10, 13, 2)",
    ),
    (
        "backward folds at stride 1",
        [
            (
                "offset_pixels((p, q), (out_h, out_w), self.stride)",
                "offset_pixels((p, q), (out_h, out_w), (1, 1))",
            )
        ],
        "backward gives offset_pixels the stride (1, 1) where self.stride = (2, 3) belongs",
    ),
    (
        "backward gives the padded size as the window counts",
        [
            (
                "offset_pixels((p, q), (out_h, out_w), self.stride)",
                "offset_pixels((p, q), padded_shape[1:3], self.stride)",
            )
        ],
        "backward gives offset_pixels the window counts (10, 13) where (H', W') = (4, 4) belongs",
    ),
    (
        "backward loops q over range(kh)",
        [
            (
                "for q in range(kw):\n                grad_entries",
                "for q in range(kh):\n                grad_entries",
            )
        ],
        "backward calls offset_pixels for the offsets [(0, 0), (0, 1), (0, 2), (1, 0)",
    ),
]


@pytest.mark.parametrize("case", HELPER_MISTAKES, ids=[case[0] for case in HELPER_MISTAKES])
def test_each_helper_argument_mistake_is_named(case):
    from pancake.course.assignments.ex12_convolutions import conv2d_helper_hint

    _, patches, words = case
    hint = conv2d_helper_hint(patched_conv2d(*patches))
    assert words in hint
    assert "run as Conv2d(2, 3, kernel_size=(3, 4), stride=(2, 3), padding=(1, 2))" in hint


def test_the_reference_and_a_layer_without_the_helpers_get_no_helper_hint():
    from pancake.course.assignments.ex12_convolutions import (
        conv2d_helper_hint,
        convolution_by_definition,
    )

    class ByDefinition(conv.Conv2d):
        def forward(self, x):
            bias = None if self.bias is None else self.bias.data
            return convolution_by_definition(x, self.weight.data, bias, self.stride, self.padding)

    assert conv2d_helper_hint(conv.Conv2d) == ""
    assert conv2d_helper_hint(ByDefinition) == ""
    assert conv.unfold.__name__ == "unfold"  # the spies are gone
    assert conv.offset_pixels.__name__ == "offset_pixels"


def test_the_graded_checks_use_the_helper_hint():
    from pancake.course.assignments.ex12_convolutions import (
        check_conv2d_gradients,
        check_conv2d_output,
        convolution_by_definition,
    )

    layer = conv.Conv2d(2, 2, kernel_size=(2, 3), stride=(3, 2), padding=(1, 0), rng=1)
    x = np.random.default_rng(1).standard_normal((2, 2, 7, 8))
    expected = convolution_by_definition(
        x, layer.weight.data, layer.bias.data, layer.stride, layer.padding
    )
    check_conv2d_output(layer, x, expected)
    check_conv2d_gradients(layer, x)
    (_, patches, words), (_, backward_patches, backward_words) = (
        HELPER_MISTAKES[0],
        HELPER_MISTAKES[3],
    )
    wrong = patched_conv2d(*patches)(2, 2, kernel_size=(2, 3), stride=(3, 2), padding=(1, 0), rng=1)
    with pytest.raises(AssertionError, match="Hint") as failure:
        check_conv2d_output(wrong, x, expected)
    assert words in str(failure.value) and str(failure.value).count("Hint:") == 1
    wrong = patched_conv2d(*backward_patches)(
        2, 2, kernel_size=(2, 3), stride=(3, 2), padding=(1, 0), rng=1
    )
    with pytest.raises(AssertionError) as failure:
        check_conv2d_gradients(wrong, x)
    assert backward_words in str(failure.value) and str(failure.value).count("Hint:") == 1


class PoolWithHeightAndWidthSwapped(conv.MaxPool2d):
    """grad_output moved channels last with .transpose(0, 3, 2, 1): (N, W', H', C)."""

    def backward(self, grad_output):
        is_winner, (n, channels, height, width) = self.saved_tensors
        kh, kw = self.kernel_size
        grad_entries = is_winner * grad_output.transpose(0, 3, 2, 1)
        grad_entries = grad_entries.reshape(kh, kw, *grad_entries.shape[1:])
        grad_windows = grad_entries.transpose(2, 3, 4, 0, 1, 5)
        return conv.fold(grad_windows, (n, height, width, channels), self.stride).transpose(
            0, 3, 1, 2
        )


def test_a_max_pool_crash_is_explained_on_the_generic_case(monkeypatch):
    from pancake.course.assignments import ex12_convolutions
    from pancake.testing import strategies as pst

    x = pst.distinct_values((2, 3, 5, 4), seed=0)
    ex12_convolutions.check_max_pool_gradients(2, 1, x)  # the reference passes
    monkeypatch.setattr(ex12_convolutions, "MaxPool2d", PoolWithHeightAndWidthSwapped)
    with pytest.raises(AssertionError) as failure:
        ex12_convolutions.check_max_pool_gradients(2, 1, x)
    message = str(failure.value)
    assert "and on a generic case, x of shape (2, 2, 6, 7), kernel (2, 3), stride (1, 2)" in message
    assert "lines up with the other after .transpose(0, 2, 1, 3)" in message
    assert message.count("Hint:") == 1


def test_the_output_families_are_named_from_the_generic_layer():
    """x copied to the top-left of the padded buffer: on this example (stride 3 skips the
    last rows) its output is also that of one-sided padding; the generic layer tells."""
    from pancake.course.assignments.ex12_convolutions import (
        check_conv2d_output,
        conv2d_output_hint,
        convolution_by_definition,
    )

    top_left = patched_conv2d(
        ("padded[:, ph : ph + height, pw : pw + width]", "padded[:, :height, :width]")
    )
    layer = top_left(1, 1, kernel_size=(2, 2), stride=(3, 3), padding=(1, 1), rng=0)
    x = np.random.default_rng(0).standard_normal((1, 1, 4, 4))
    expected = convolution_by_definition(
        x, layer.weight.data, layer.bias.data, layer.stride, layer.padding
    )
    assert "padded on one side only" in conv2d_output_hint(layer, x, layer(x))  # the coincidence
    with pytest.raises(AssertionError) as failure:
        check_conv2d_output(layer, x, expected)
    message = str(failure.value)
    assert "run as Conv2d(2, 3, kernel_size=(3, 4), stride=(2, 3), padding=(1, 2))" in message
    assert "x is copied into the padded buffer at rows 0 to 7 and columns 0 to 8" in message
    assert "one side only" not in message and message.count("Hint:") == 1


def test_an_output_size_one_off_is_named_from_the_reshape_that_fails():
    from pancake.course.assignments.ex12_convolutions import _output_size_hint, conv2d_helper_hint

    without_the_one = patched_conv2d(
        (
            "out_h, out_w = windows.shape[1:3]",
            "out_h, out_w = (\n            (side - k) // s\n            for side, k, s in "
            "zip(padded.shape[1:3], self.kernel_size, self.stride, strict=True)\n        )",
        )
    )
    assert "forward reshapes to 3 x 3 output positions, but unfold gives 4 x 4 windows" in (
        conv2d_helper_hint(without_the_one)
    )
    assert (
        _output_size_hint(ValueError("cannot reshape array of size 5 into shape (7,3)"), 2, (4, 4))
        == ""
    )
    assert _output_size_hint(
        ValueError("cannot reshape array of size 5 into shape (2,3,4,3)"), 2, (4, 4)
    )
    assert _output_size_hint(IndexError("index 3"), 2, (4, 4)) == ""


def test_offsets_left_out_by_a_backward_that_crashed_are_not_named():
    """A backward that crashes at its first offset (its gradient array made with x's shape,
    not the padded channels-last one) is explained by its crash, not by the offsets it did
    not reach."""
    from pancake.course.assignments.ex12_convolutions import conv2d_helper_hint

    crashes = patched_conv2d(
        (
            "self.save_for_backward(columns, padded.shape)",
            "self.save_for_backward(columns, x.shape)",
        )
    )
    assert "calls offset_pixels for the offsets" not in conv2d_helper_hint(crashes)
