"""Every graded test and visible check, run in seconds against the reference package.

Each runs as its notebook cell does: the code the generator copies into the cell (the
imports and helpers it needs, the function, a call), after the graded prelude, with the
learner's names bound to pancake's own objects. A graded test that is broken, or whose
cell misses an import, fails here, not only in the slow nbgrader run. The released stubs
(``raise NotImplementedError()`` in place of each SOLUTION region) fail every graded test.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io

import pytest
from answer_cells import answer_cell
from hypothesis import Phase, settings

from pancake.course import prelude
from pancake.course.assignments import ASSIGNMENTS
from pancake.course.sources import check_source, graded_test_source, module_code, setup_source

# Fewer examples than the graded 20, and no shrinking: a correct test passes them all,
# and a stub fails on the first.
FAST = settings(prelude.graded, max_examples=4, phases=[Phase.explicit, Phase.generate])

CASES = [
    (assignment, number, part)
    for assignment in ASSIGNMENTS
    for number, part in enumerate(assignment.parts)
]
TESTS = [
    (assignment, number, part, test) for assignment, number, part in CASES for test in part.tests
]


def defined(assignment, number) -> list[str]:
    """The names the answers of parts 0..number define."""
    return [part.name for part in assignment.parts[: number + 1]]


def graded_namespace(assignment, number, answers: dict | None = None) -> dict:
    """What a graded cell of part ``number`` starts from: the prelude, then the answers."""
    namespace: dict = {}
    exec(module_code(prelude), namespace)
    namespace["graded"] = FAST
    for part in assignment.parts[: number + 1]:
        namespace[part.name] = part.resolve()
    namespace.update(answers or {})
    return namespace


@pytest.mark.parametrize(
    "assignment, number, part",
    CASES,
    ids=[f"{a.name}:{p.slug}" for a, _, p in CASES],
)
def test_the_visible_check_runs_on_the_reference(assignment, number, part):
    namespace = {part.name: part.resolve() for part in assignment.parts[: number + 1]}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(check_source(part.check, defined(assignment, number)), namespace)
    assert printed.getvalue().strip(), "a visible check prints what it found"


@pytest.mark.parametrize(
    "assignment, number, part, test",
    TESTS,
    ids=[test.name for *_, test in TESTS],
)
def test_each_graded_test_passes_on_the_reference(assignment, number, part, test):
    code = graded_test_source(test.function, defined(assignment, number))
    exec(code, graded_namespace(assignment, number))


@pytest.mark.parametrize(
    "assignment, number, part, test",
    TESTS,
    ids=[test.name for *_, test in TESTS],
)
def test_each_graded_test_fails_on_the_released_stub(assignment, number, part, test):
    stub = answer_cell(part.resolve(), setup_source(part.resolve()) + "\n", released=True)
    namespace = graded_namespace(assignment, number, {part.name: stub})
    with pytest.raises(Exception):  # noqa: B017 - any error: the cell scores 0
        exec(graded_test_source(test.function, defined(assignment, number)), namespace)


@pytest.mark.parametrize("assignment, number, part", CASES, ids=[p.target for _, _, p in CASES])
def test_the_module_names_the_learner_object_as_the_reference(assignment, number, part):
    """Tests run as module functions see pancake's object under the learner's name."""
    module = inspect.getmodule(part.check)
    assert getattr(module, part.name) is part.resolve()
    for test in part.tests:
        assert inspect.getmodule(test.function) is module


@pytest.mark.parametrize(
    "assignment, number, part",
    CASES,
    ids=[f"{a.name}:{p.slug}" for a, _, p in CASES],
)
def test_check_and_graded_cells_never_import_the_learner_objects(assignment, number, part):
    """Exercise 10's Mul tests run the learner's unbroadcast: no cell imports pancake's."""
    names = defined(assignment, number)
    sources = [check_source(part.check, names)]
    sources += [graded_test_source(test.function, names) for test in part.tests]
    for source in sources:
        imported = {
            alias.asname or alias.name
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        assert not imported & set(names)
