"""pancake.course.spec and sources: what a graded test and a part must be, and what the
generator copies into a graded cell."""

from __future__ import annotations

import pytest

from pancake.course.assignments import ex03_linear, ex05_sequential
from pancake.course.sources import check_source, graded_test_source
from pancake.course.spec import GradedTest, Part


def visible_check():
    """Prints something."""
    print("checked")


def test_a_graded_test_is_named_test_part_what_and_documented():
    def test_linear_forward():
        """the output is x @ weight + bias"""

    def test_linear_undocumented():
        pass

    with pytest.raises(ValueError, match="name it test_<part>_<what>"):
        GradedTest(visible_check, points=1)
    with pytest.raises(ValueError, match="docstring's first line is the summary"):
        GradedTest(test_linear_undocumented, points=1)
    with pytest.raises(ValueError, match="positive number of points"):
        GradedTest(test_linear_forward, points=0)
    test = GradedTest(test_linear_forward, points=2)
    assert (test.name, test.summary) == ("linear-forward", "the output is x @ weight + bias")


def test_the_tests_of_a_part_are_named_after_it():
    def test_forward():
        """a summary"""

    with pytest.raises(ValueError, match="name it test_linear_<what>"):
        Part("pancake.nn.linear.Linear", "", visible_check, (GradedTest(test_forward, 1),))


def test_a_graded_cell_copies_the_imports_and_helpers_its_test_uses_but_not_the_learners():
    source = graded_test_source(ex05_sequential.test_sequential_forward, ["Sequential"])
    assert "from itertools import pairwise\nfrom pancake import nn" in source
    assert "@st.composite\ndef perceptrons(draw):" in source  # a helper, with its decorator
    assert source.endswith("test_sequential_forward()")
    assert "import Sequential" not in source and "prelude" not in source


def test_a_check_cell_imports_the_prelude_names_as_the_prelude_does():
    source = check_source(ex03_linear.visible_check_linear, ["Linear"])
    assert source.startswith("import numpy as np\nfrom pancake.testing import check_gradients")
    assert '"""' not in source and "def visible_check" not in source
    assert (
        "from pancake.testing.errors import crashes_explained\n\nwith crashes_explained():"
        in source
    )
    assert "\n    print(check_gradients(layer, x))" in source  # the body, under the with
