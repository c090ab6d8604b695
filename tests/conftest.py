"""Shared test settings: modest hypothesis example counts, no deadlines (no flaky timing);
markers for the exercise each test is about, and for the torch cross-checks.

On a developer's machine hypothesis explores new examples on every run; in CI (``CI`` set)
it is derandomized, so a run's result depends only on the code under test.

``pytest -m ex03`` runs everything about exercise 3. A test file about one exercise says
so itself (``pytestmark = pytest.mark.ex06``); a test is marked here too when one of its
parameters belongs to an exercise: an assignment or its name (``"03-linear"``), a seeded
mistake, or an object that an exercise asks for (``Linear``, or a ``Linear(...)``).
"""

import inspect
import os
import re
import sys

# jsonschema (under nbformat) imports rfc3987_syntax for its optional "iri" format checks,
# which builds a parser on import: 1.5 to 4 s of CPU in every test process. Nothing here
# checks IRIs (nbformat validates without format checks); subprocesses are unaffected.
sys.modules.setdefault("rfc3987_syntax", None)

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from pancake.course.assignments import ASSIGNMENTS  # noqa: E402

IN_CI = bool(os.environ.get("CI"))

settings.register_profile(
    "pancake",
    max_examples=25,
    deadline=None,
    derandomize=IN_CI,
    database=None if IN_CI else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("pancake")

# The pancake object each exercise part asks for -> the number of its assignment.
EXERCISE_OF_TARGET = {
    part.resolve(): assignment.number for assignment in ASSIGNMENTS for part in assignment.parts
}
ASSIGNMENT_NAME = re.compile(r"(\d\d)-[a-z0-9-]+")


def exercise_of(value) -> int | None:
    """The exercise a test parameter belongs to, if any."""
    if isinstance(getattr(value, "number", None), int) and hasattr(value, "parts"):
        return value.number  # an Assignment
    name = getattr(value, "assignment", value)  # a seeded Mistake or Tamper has .assignment
    if isinstance(name, str):
        match = ASSIGNMENT_NAME.fullmatch(name)
        return int(match.group(1)) if match else None
    try:
        return EXERCISE_OF_TARGET.get(value, EXERCISE_OF_TARGET.get(type(value)))
    except TypeError:  # unhashable parameters belong to no exercise
        return None


def pytest_collection_modifyitems(items):
    """Add ``exNN`` to tests whose parameters belong to exercise NN, ``torch`` to cross-checks."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        for number in {exercise_of(value) for value in params.values()} - {None}:
            item.add_marker(getattr(pytest.mark, f"ex{number:02d}"))
        function = getattr(item, "function", None)
        if function is not None and 'importorskip("torch")' in inspect.getsource(function):
            item.add_marker(pytest.mark.torch)
