"""The names every graded test may use, without importing them: the graded prelude.

An assignment module imports them from here (``from pancake.course.prelude import graded,
given, ...``); in the notebook, each graded cell runs this module's code (all but this
docstring and ``__all__``) after forgetting the imported checks and hypothesis, so that nothing
a learner's answer defines or patches can change them.

- ``graded``: applied as ``@graded`` above ``@given(...)`` (or above a plain test), the
  hypothesis settings of every graded test (``GRADED_SETTINGS``: derandomized, so the same submission always gets
  the same grade), and a crash in the learner's code re-raised with a hint of what it
  most likely means (``explained``);
- ``given``, ``st``: hypothesis; ``pst``: ``pancake.testing.strategies``;
- ``np``, ``check_gradients``, ``check_values``.
"""

import functools

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pancake.testing import check_gradients, check_values
from pancake.testing import strategies as pst
from pancake.testing.errors import explain_crash

GRADED_SETTINGS = settings(
    derandomize=True,  # the same submission always gets the same grade
    max_examples=20,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)


def explained(test):
    """``test``, re-raising a Python or NumPy error of the code under test with where it
    happened in the learner's code and what it most likely means (``explain_crash``);
    other errors pass unchanged."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        try:
            return test(*args, **kwargs)
        except Exception as error:
            explanation = explain_crash(error, test)
            if explanation is None:
                raise
            raise AssertionError(f"{type(error).__name__}: {error}\n{explanation}") from error

    return run


def graded(test):
    """The decorator of every graded test: ``GRADED_SETTINGS`` (for a test with ``@given``),
    with crashes explained."""
    return explained(GRADED_SETTINGS(test) if hasattr(test, "hypothesis") else test)


__all__ = ["check_gradients", "check_values", "given", "graded", "np", "pst", "st"]
