"""The public checks of your pancake: each exercise notebook's visible checks, run on your package.

``pytest`` runs them all, ``pytest -m ex03`` those of exercise 3. A part you have not
saved yet fails with the NotImplementedError of its stub, which names its notebook.
(The graded tests are not here: your instructor runs them on what you submit.)
"""

import pytest

from pancake.course.learner import load_exercises, run_public_check

PARTS = [
    pytest.param(
        exercise,
        part,
        id=f"{exercise.name}-{part.name}",
        marks=getattr(pytest.mark, exercise.marker),
    )
    for exercise in load_exercises()
    for part in exercise.parts
]


@pytest.mark.parametrize(("exercise", "part"), PARTS)
def test_visible_check(exercise, part):
    """The check under the answer cell of ``part`` passes on your package."""
    run_public_check(exercise, part)
