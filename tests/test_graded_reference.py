"""Every graded test and visible check, run in seconds against the reference package.

Each runs as its notebook cell does: the code the generator copies into the cell (the
imports and helpers it needs, the function, a call), after the graded prelude, with the
learner's names bound to pancake's own objects. A graded test that is broken, or whose
cell misses an import, fails here, not only in the slow nbgrader run. The released answers
(``raise NotImplementedError()`` in place of each SOLUTION region, or the broken code of
its ``### BROKEN`` part) fail every graded test,
and each seeded mistake of ``course_mistakes`` fails the graded tests it must lose, on the
grader's own examples, with its hint in a message or in the visible check's output.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import inspect
import io
import linecache

import pytest
from answer_cells import answer_cell
from course_mistakes import MISTAKES
from hypothesis import Phase, settings

from pancake.course import prelude
from pancake.course.assignments import ASSIGNMENTS
from pancake.course.sources import (
    answer_source,
    check_source,
    graded_test_source,
    module_code,
    setup_source,
)


# Fewer examples than the graded 20, and no shrinking: a correct test passes them all,
# and a stub fails on the first.
def graded_with(test_settings: settings):
    """The graded decorator with other hypothesis settings: crashes are still explained."""
    return lambda test: prelude.explained(test_settings(test))


FAST = graded_with(
    settings(prelude.GRADED_SETTINGS, max_examples=4, phases=[Phase.explicit, Phase.generate])
)


@pytest.fixture(autouse=True)
def untrimmed_tracebacks(monkeypatch):
    """Hypothesis trims its frames off the traceback of each failing example, looking up
    the module of every frame: for a cell's code (no file) that scans ``sys.modules``, and
    it cost a third of this file's time. Failures show a few more frames instead."""
    monkeypatch.setenv("HYPOTHESIS_NO_TRACEBACK_TRIM", "1")


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


def run_cell(code: str, namespace: dict) -> None:
    """Run ``code`` as a notebook cell: its source registered as Jupyter does, so that
    hypothesis derandomizes from the test's source and draws the grader's examples."""
    filename = f"<cell-{hashlib.sha1(code.encode()).hexdigest()[:12]}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    exec(compile(code, filename, "exec"), namespace)


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
        run_cell(check_source(part.check, defined(assignment, number)), namespace)
    assert printed.getvalue().strip(), "a visible check prints what it found"


@pytest.mark.parametrize(
    "assignment, number, part, test",
    TESTS,
    ids=[test.name for *_, test in TESTS],
)
def test_each_graded_test_passes_on_the_reference(assignment, number, part, test):
    code = graded_test_source(test.function, defined(assignment, number))
    run_cell(code, graded_namespace(assignment, number))


@pytest.mark.parametrize(
    "assignment, number, part, test",
    TESTS,
    ids=[test.name for *_, test in TESTS],
)
def test_each_graded_test_fails_on_the_released_stub(assignment, number, part, test):
    stub = answer_cell(part.resolve(), setup_source(part.resolve()) + "\n", released=True)
    namespace = graded_namespace(assignment, number, {part.name: stub})
    with pytest.raises(Exception):  # noqa: B017 - any error: the cell scores 0
        run_cell(graded_test_source(test.function, defined(assignment, number)), namespace)


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


# -- seeded mistakes: each loses its graded tests, in seconds ------------------------------

# The grader's own examples (derandomized, 20), without shrinking: a failure is found as in
# the notebook, and reported on the first failing example.
AS_GRADED = graded_with(settings(prelude.GRADED_SETTINGS, phases=[Phase.explicit, Phase.generate]))


def answers_with(mistake) -> dict:
    """The answers of the mistake's notebook, run in turn in one namespace as in a kernel:
    each part's setup cell, then its reference source, with ``mistake`` applied to its own
    (as cells, whose text a crash's explanation shows)."""
    (assignment,) = [a for a in ASSIGNMENTS if a.name == mistake.assignment]
    kernel: dict = {}
    for number, part in enumerate(assignment.parts):
        source = answer_source(part.resolve())
        if part.target == mistake.target:
            source = mistake.apply(source)
        setup = setup_source(part.resolve(), defined(assignment, number)[:-1])
        run_cell(setup + "\n" + source, kernel)
    return {part.name: kernel[part.name] for part in assignment.parts}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the graded cells ignore warnings too
@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.description for m in MISTAKES])
def test_each_seeded_mistake_fails_the_graded_tests_it_loses(mistake):
    """Each grade id the mistake loses is a graded test that fails, and one of those
    failures, or the visible check of the mistaken answer, shows the hint."""
    answers = answers_with(mistake)
    (assignment,) = [a for a in ASSIGNMENTS if a.name == mistake.assignment]
    messages, lost = [], set()
    for assignment_, number, part in CASES:
        if assignment_ is not assignment:
            continue
        for test in part.tests:
            if test.name not in mistake.loses:
                continue
            namespace = graded_namespace(assignment, number, answers)
            namespace["graded"] = AS_GRADED
            with pytest.raises(Exception) as failure:  # noqa: B017 - any error scores 0
                run_cell(graded_test_source(test.function, defined(assignment, number)), namespace)
            messages.append(str(failure.value))
            lost.add(test.name)
        if part.target == mistake.target:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                try:
                    run_cell(check_source(part.check, defined(assignment, number)), dict(answers))
                except Exception as error:  # the check cell stops at the mistake
                    messages.append(str(error))
            messages.append(printed.getvalue())
    assert lost == set(mistake.loses), "every lost grade id is a graded test of the notebook"
    assert any(mistake.hint in text for text in messages)


@pytest.mark.slow  # the nbgrader test checks the same end to end; this one in seconds
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.description for m in MISTAKES])
def test_each_seeded_mistake_keeps_the_other_graded_tests_of_its_answer(mistake):
    """A mistake costs only what it breaks: the mistaken answer's other graded tests pass."""
    answers = answers_with(mistake)
    (assignment,) = [a for a in ASSIGNMENTS if a.name == mistake.assignment]
    for assignment_, number, part in CASES:
        if assignment_ is not assignment or part.target != mistake.target:
            continue
        for test in part.tests:
            if test.name in mistake.loses:
                continue
            namespace = graded_namespace(assignment, number, answers)
            namespace["graded"] = FAST
            run_cell(graded_test_source(test.function, defined(assignment, number)), namespace)
