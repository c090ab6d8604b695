"""The course's assignments, one spec module each, in course order.

Every module here defines ``ASSIGNMENT``, an ``Assignment``; they are collected by
number. Its visible checks (``visible_check_<part>``) and graded tests
(``test_<part>_<what>``) are functions of the module, which the generator copies into
their cells. Adding an assignment is writing one more module (copy a neighbour).
"""

from __future__ import annotations

import importlib
import pkgutil

from pancake.course.spec import Assignment


def _collect() -> list[Assignment]:
    modules = [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
    ]
    assignments = sorted((module.ASSIGNMENT for module in modules), key=lambda a: a.number)
    numbers = [a.number for a in assignments]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"two assignments share a number: {numbers}")
    return assignments


ASSIGNMENTS: list[Assignment] = _collect()
