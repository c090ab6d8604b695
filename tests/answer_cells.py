"""Re-create a pancake object from its source, as a notebook answer cell does."""

from __future__ import annotations

import inspect

from pancake.course.sources import starter_source


def answer_cell(obj, imports: str, *, released: bool = False):
    """``obj`` exec'd from its source after ``imports``; ``released``: as the released
    notebook shows it (SOLUTION regions become stubs, or the broken code to fix)."""
    source = starter_source(obj) if released else inspect.getsource(obj)
    namespace: dict = {}
    exec(imports + source, namespace)
    return namespace[obj.__name__]
