"""The names every graded test may use, without importing them: the graded prelude.

An assignment module imports them from here (``from pancake.course.prelude import graded,
given, ...``); in the notebook, each graded cell runs this module's code (all but this
docstring and ``__all__``) after forgetting the imported checks and hypothesis, so that nothing
a learner's answer defines or patches can change them.

- ``graded``: the hypothesis settings of every graded test, applied as ``@graded`` above
  ``@given(...)``; derandomized, so the same submission always gets the same grade;
- ``given``, ``st``: hypothesis; ``pst``: ``pancake.testing.strategies``;
- ``np``, ``check_gradients``, ``check_values``.
"""

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pancake.testing import check_gradients, check_values
from pancake.testing import strategies as pst

graded = settings(
    derandomize=True,  # the same submission always gets the same grade
    max_examples=20,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)

__all__ = ["check_gradients", "check_values", "given", "graded", "np", "pst", "st"]
