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
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import UnsatisfiedAssumption

from pancake.testing import check_gradients, check_values
from pancake.testing import strategies as pst
from pancake.testing.errors import explained as explained_error

# Every setting is given: one left out would come from hypothesis's current profile,
# which an answer cell could have loaded (a backend of its own that draws easy inputs).
GRADED_SETTINGS = settings(
    derandomize=True,  # the same submission always gets the same grade
    max_examples=20,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
    backend="hypothesis",
    verbosity=Verbosity.normal,
    report_multiple_bugs=True,
    print_blob=False,
    stateful_step_count=50,
)


def explained(test):
    """``test``, re-raising a Python or NumPy error of the code under test with where it
    happened in the learner's code and what it most likely means (``pancake.testing.errors.explained``);
    other errors pass unchanged. An example that the code under test rejects
    (``hypothesis.assume``, ``reject``) fails: answers must handle every input, not skip
    those they get wrong."""
    if hasattr(test, "hypothesis"):  # a plain test (no @given) draws no example
        test.hypothesis.inner_test = accepting_every_example(test.hypothesis.inner_test)

    @functools.wraps(test)
    def run(*args, **kwargs):
        try:
            return test(*args, **kwargs)
        except Exception as error:
            failure = explained_error(error, test)
            if failure is error:
                raise
            raise failure from error

    return run


def accepting_every_example(inner_test):
    """``inner_test`` (one example of a hypothesis test), failing when it rejects the example."""

    @functools.wraps(inner_test)
    def run(*args, **kwargs):
        try:
            return inner_test(*args, **kwargs)
        except UnsatisfiedAssumption as rejection:
            raise AssertionError(
                "the code under test rejected this example (hypothesis's assume or reject): "
                "an answer must handle every input"
            ) from rejection

    return run


def graded(test):
    """The decorator of every graded test: ``GRADED_SETTINGS`` (for a test with ``@given``),
    with crashes explained."""
    return explained(GRADED_SETTINGS(test) if hasattr(test, "hypothesis") else test)


__all__ = ["check_gradients", "check_values", "given", "graded", "np", "pst", "st"]
