"""The grader's pieces: the grading environment, notebook rebuilding, the runner's guards, the sandbox.

The end-to-end tests, with real nbgrader, a real gradebook and the seeded exploits of
``course_exploits.py``, are in ``test_course.py`` (slow).
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import inspect
import json
import shutil
import sys
import textwrap
import zlib
from pathlib import Path

import nbformat
import numpy as np
import pytest
from course_exploits import (
    ASKED_ORACLE_SGD,
    FORGE_RESULTS,
    FRAME_ORACLE_SGD,
    ORACLE_SGD,
    REPLACE_THE_RUNNER,
)
from course_mistakes import answer_cells, graded_cells

import pancake
from pancake.course.assignments import ASSIGNMENTS
from pancake.course.edition import edition_files
from pancake.course.grading import notebooks, runner, sandbox
from pancake.course.grading.environment import grading_environment
from pancake.course.grading.grader import Grader
from pancake.course.optimizer_trajectories import RECORDED_STEPS
from pancake.testing.optimizers import recorded

ROOT = Path(__file__).resolve().parents[1]
BY_NAME = {assignment.name: assignment for assignment in ASSIGNMENTS}
PACKAGE = Path(pancake.__file__).parent


def source_notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def linear_environment(tmp_path_factory) -> Path:
    return grading_environment(BY_NAME["03-linear"], 0, ASSIGNMENTS, tmp_path_factory.mktemp("env"))


# -- the grading environment ----------------------------------------------------------------


def test_the_environment_stubs_the_answers_of_the_assignment_and_the_later_ones(
    linear_environment,
):
    copy = linear_environment / "pancake"
    linear = (copy / "nn" / "linear.py").read_text()
    assert "rows.T @ grad_rows" in (PACKAGE / "nn" / "linear.py").read_text()
    assert "rows.T @ grad_rows" not in linear
    assert "Exercise 3 (The Linear layer" in linear
    assert "np.maximum(x, 0)" not in (copy / "nn" / "activations.py").read_text()  # exercise 4


def test_the_environment_keeps_earlier_answers_and_leaves_out_the_course(linear_environment):
    copy = linear_environment / "pancake"
    assert (copy / "nn" / "basic.py").read_text() == (PACKAGE / "nn" / "basic.py").read_text()
    assert not (copy / "course").exists()
    assert not list(copy.rglob("__pycache__"))


def test_a_later_part_is_graded_with_pancakes_own_earlier_parts(tmp_path):
    """The tests of serial build networks of pancake's Dense (part 1 of the same exercise)."""
    stax = BY_NAME["11-stax"]
    first, second = (grading_environment(stax, part, ASSIGNMENTS, tmp_path) for part in (0, 1))
    reference = (PACKAGE / "stax.py").read_text()
    dense_line = "W = W_init((input_shape[-1], out_dim), rng=rng)"
    assert dense_line in reference
    assert dense_line not in (first / "pancake" / "stax.py").read_text()
    assert dense_line in (second / "pancake" / "stax.py").read_text()


# -- the graded tests ------------------------------------------------------------------------

GRADIENT_CHECKS = {"check_gradients", "check_function_gradients"}


def called_names(function) -> set[str]:
    """The names ``function`` calls, and those called by the helpers of its module it calls."""
    module = inspect.getmodule(function)
    names, pending, seen = set(), [function], set()
    while pending:
        caller = pending.pop()
        seen.add(caller)
        tree = ast.parse(textwrap.dedent(inspect.getsource(caller)))
        calls = [node.func for node in ast.walk(tree) if isinstance(node, ast.Call)]
        for name in {call.id for call in calls if isinstance(call, ast.Name)}:
            names.add(name)
            helper = getattr(module, name, None)
            own = inspect.isfunction(helper) and helper.__code__.co_filename == module.__file__
            if own and helper not in seen:
                pending.append(helper)
    return names


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=list(BY_NAME))
def test_every_graded_gradient_check_also_checks_the_forward_values(assignment):
    """A forward that returns zeros, with a backward that returns zeros, agrees with central
    differences: a test that checks gradients must check the output too."""
    for part in assignment.parts:
        for test in part.tests:
            called = called_names(test.function)
            if called & GRADIENT_CHECKS:
                assert "check_values" in called, f"{test.function.__name__} checks no values"


# -- rebuilding a submission from the source notebook ---------------------------------------


def test_only_answer_cells_come_from_the_submission():
    source = source_notebook("02-modules")
    submitted = nbformat.read(ROOT / "exercises" / "02-modules" / "02-modules.ipynb", as_version=4)
    answer = answer_cells(submitted)[0]
    answer.source = "class Square:\n    pass"
    graded_cells(submitted)[0].source = "print('all tests passed')"
    submitted.cells = [cell for cell in submitted.cells if not cell.id.endswith("-setup")]
    submitted.cells.append(nbformat.from_dict({**graded_cells(submitted)[0], "id": "copied"}))

    rebuilt = notebooks.rebuild(source, submitted)
    assert [cell.id for cell in rebuilt.cells] == [cell.id for cell in source.cells]
    by_id = {cell.id: cell for cell in rebuilt.cells}
    assert by_id[answer.id].source == "class Square:\n    pass"
    for cell in source.cells:
        if cell.id != answer.id and not notebooks.is_answer(cell):
            assert by_id[cell.id].source == cell.source


def test_a_missing_answer_cell_becomes_a_stub():
    source = source_notebook("03-linear")
    rebuilt = notebooks.rebuild(source, nbformat.v4.new_notebook())
    assert answer_cells(rebuilt)[0].source == notebooks.MISSING_ANSWER


def test_each_part_is_one_job_with_the_answers_before_it():
    jobs = notebooks.jobs(source_notebook("10-autograd"))
    names = ["unbroadcast", "Mul", "Matmul", "Sum", "Exp", "Tanh"]
    assert [job["answers"] for job in jobs] == [[name] for name in names]
    mul = jobs[1]
    assert [cell["id"] for cell in mul["cells"]] == [
        "unbroadcast-setup",
        "unbroadcast-answer",
        "mul-setup",
        "mul-answer",
    ]
    assert [test["id"] for test in mul["tests"]] == ["mul-same-shape", "mul-broadcasting"]


def test_printed_text_is_never_stderr_and_errors_become_error_outputs():
    outputs = notebooks.outputs(
        {
            "output": "progress",
            "error": {"ename": "AssertionError", "evalue": "wrong", "traceback": []},
        }
    )
    assert [(o.output_type, o.get("name")) for o in outputs] == [
        ("stream", "stdout"),
        ("error", None),
    ]


# -- the runner's guards, in this process ---------------------------------------------------


def test_the_fingerprint_sees_a_rebound_function_a_swapped_code_and_a_changed_default():
    before = runner.fingerprint()
    allclose, named = np.allclose, pancake.nn.module.Module.named_parameters
    init = pancake.nn.linear.Linear.__init__
    code, defaults = init.__code__, init.__defaults__
    try:
        np.allclose = lambda *args, **kwargs: True
        pancake.nn.module.Module.named_parameters = lambda self: iter(())
        init.__defaults__ = (False,)
        changed = runner.changes(before, runner.fingerprint())
    finally:
        np.allclose, pancake.nn.module.Module.named_parameters = allclose, named
        init.__defaults__ = defaults
    assert "numpy.allclose" in changed
    assert "pancake.nn.module.Module.named_parameters" in changed
    assert "pancake.nn.linear.Linear.__init__" in changed
    assert init.__code__ is code
    assert runner.changes(before, runner.fingerprint()) == []


def test_the_fingerprint_sees_an_import_hook():
    before = runner.fingerprint()
    sys.meta_path.insert(0, object())
    try:
        assert "sys.meta_path" in runner.changes(before, runner.fingerprint())
    finally:
        del sys.meta_path[0]


def test_an_answer_that_is_or_subclasses_pancakes_own_is_refused():
    class Linear(pancake.nn.Linear):
        pass

    class Tanh(pancake.nn.Module):
        pass

    found = runner.own_objects(
        ["Linear", "Sigmoid", "Tanh"],
        {"Linear": Linear, "Sigmoid": pancake.nn.Sigmoid, "Tanh": Tanh},
    )
    assert len(found) == 2 and "Linear is pancake's own" in found[0]


def test_the_graded_cells_purge_of_sys_modules_is_left_out():
    namespace = {"sys": sys}
    source = "import sys\nfor name in ['numpy']:\n    del sys.modules[name]\nimport numpy"
    exec(runner.without_module_purge(source, "test"), namespace)
    assert sys.modules["numpy"] is np


def test_captured_output_is_capped_in_characters():
    text = runner.CappedText(limit=10)
    text.write("x" * 25)
    assert text.getvalue().startswith("x" * 10 + "\n[... 15 more characters")


# -- the sandbox ------------------------------------------------------------------------------

needs_bubblewrap = pytest.mark.skipif(
    sandbox.bubblewrap() is None, reason="bubblewrap is not installed: apt-get install bubblewrap"
)
LIMITS = sandbox.Limits(seconds_per_test=10, output_bytes=200_000)


def job(*tests: str, cells: tuple[str, ...] = ()) -> dict:
    return {
        "cells": [{"id": f"cell-{i}", "source": source} for i, source in enumerate(cells)],
        "tests": [{"id": f"test-{i}", "source": source} for i, source in enumerate(tests)],
        "answers": [],
        "answer_ids": [],
    }


def errors(outcome: sandbox.Outcome) -> dict[str, str]:
    return {
        key: f"{event['error']['ename']}: {event['error']['evalue']}"
        for key, event in {**outcome.cells, **outcome.tests}.items()
        if event.get("error")
    }


@needs_bubblewrap
def test_the_sandbox_sees_only_python_and_its_scratch_folder(linear_environment):
    secret = str(ROOT / "README.md")
    outcome = sandbox.run(
        job(
            f"open({secret!r}).read()",
            f"open({str(ROOT / 'planted.txt')!r}, 'w')",
            "import os\nassert os.getuid() == 65534, os.getuid()",
            "open('scratch.txt', 'w').write('fine')",
            "import pancake\nassert pancake.__file__.startswith('/environment'), pancake.__file__",
        ),
        linear_environment,
        LIMITS,
    )
    found = errors(outcome)
    assert found.keys() == {"test-0", "test-1"}, found
    assert "FileNotFoundError" in found["test-0"] and not (ROOT / "planted.txt").exists()


@needs_bubblewrap
@pytest.mark.slow
def test_a_stuck_test_an_exit_and_a_flood_cost_only_themselves(linear_environment):
    outcome = sandbox.run(
        job(
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
            "import os\nos._exit(0)",
            "import os\nos.write(1, b'x' * 300_000)",
            "assert 1 + 1 == 2",
        ),
        linear_environment,
        sandbox.Limits(seconds_per_test=3, output_bytes=200_000),
    )
    found = errors(outcome)
    assert found.keys() == {"test-0", "test-1", "test-2"}, found
    assert "time limit of 3 s" in found["test-0"]
    assert "exited" in found["test-1"]
    assert "printed more than" in found["test-2"]


@needs_bubblewrap
def test_an_answer_cell_that_kills_the_interpreter_is_left_out_and_the_tests_run(
    linear_environment,
):
    outcome = sandbox.run(
        job("assert total == 3", cells=("total = 3", "import os\nos._exit(1)")),
        linear_environment,
        LIMITS,
    )
    assert errors(outcome).keys() == {"cell-1"}


@needs_bubblewrap
def test_memory_is_capped(linear_environment):
    outcome = sandbox.run(job("x = bytearray(8 * 1024**3)"), linear_environment, LIMITS)
    assert "MemoryError" in errors(outcome)["test-0"]


@needs_bubblewrap
def test_a_learner_cannot_forge_a_result_line(linear_environment):
    forged = '{"nonce": "guess", "test": "test-0", "output": "", "error": null}'
    outcome = sandbox.run(
        job(
            "import os\n"
            f"for fd in range(1, 20):\n"
            f"    try:\n"
            f"        os.write(fd, {forged!r}.encode() + b'\\n')\n"
            f"    except OSError:\n"
            f"        pass\n"
            "assert False"
        ),
        linear_environment,
        LIMITS,
    )
    assert errors(outcome).keys() == {"test-0"}


# -- the recorded optimizer steps -------------------------------------------------------------


def shipped_cases(text: str) -> dict:
    namespace: dict = {}
    exec(text, namespace)
    return json.loads(zlib.decompress(base64.b64decode(namespace["RECORDED"])))


def assert_no_graded_steps(text: str) -> None:
    full = recorded()
    graded = {key for keys in full["suites"].values() for key in keys}
    shipped = shipped_cases(text)
    assert shipped["suites"] == {} and not graded & shipped["cases"].keys()
    assert shipped["cases"] == {k: c for k, c in full["cases"].items() if k not in graded}
    assert len(graded) >= 64 and shipped["cases"]  # the visible checks' cases are there


def test_the_grading_environments_ship_no_graded_optimizer_steps(linear_environment):
    assert_no_graded_steps((linear_environment / RECORDED_STEPS).read_text())


@pytest.mark.slow
def test_the_learner_edition_ships_no_graded_optimizer_steps():
    assert_no_graded_steps(edition_files(ROOT, ASSIGNMENTS, through=0)[RECORDED_STEPS])


@pytest.mark.slow
@pytest.mark.parametrize(
    "oracle", [ORACLE_SGD, FRAME_ORACLE_SGD, ASKED_ORACLE_SGD], ids=["files", "frames", "checks"]
)
def test_an_answer_that_looks_the_expected_steps_up_scores_nothing(tmp_path, oracle):
    """Looked up in pancake's files (where they are no more), in the check's frame, or
    asked of the checks themselves (which hold them in the sandbox)."""
    from pancake.testing import check_optimizer, recorded_settings

    namespace: dict = {}
    exec(oracle, namespace)
    check_optimizer(namespace["SGD"], **recorded_settings("sgd-momentum")[0])  # it would pass

    grader = Grader(tmp_path, LIMITS, reuse_results=False)
    notebook = source_notebook("06-optimizers")
    reference = {cell.id: cell.source for cell in answer_cells(notebook)}
    for answer, lost in ((oracle, 4), (reference["sgd-answer"], 0)):
        for cell in answer_cells(notebook):
            if cell.id == "sgd-answer":
                cell.source = answer
        job = notebooks.jobs(notebook)[0]
        assert [test["id"] for test in job["tests"]][0] == "sgd-plain"
        outcome = grader.grade_part(job, grader.environment("06-optimizers", job["targets"]))
        failed = {key for key, event in outcome.tests.items() if event.get("error")}
        assert len(failed) == lost, errors(outcome)
        assert len(outcome.tests) == 4


SENT_STEPS = {"suites": {"graded": ["a key"]}, "cases": {"a key": {"expected": [[4.5]]}}}
ASK_FOR_THE_STEPS = """
import pancake

def peek():
    checks = getattr(getattr(pancake, "test" + "ing"), "optim" + "izers")
    return checks.recorded()["cases"]["a key"]
"""
READ_THE_STEPS = """
from pancake.testing.optimizers import recorded
assert recorded()["cases"]["a key"]["expected"] == [[4.5]]
"""


def test_an_answer_may_not_read_the_graded_steps_the_grader_sent(linear_environment):
    """The checks read them; an answer's function that asks the checks for them is refused."""
    from pancake.testing.optimizers import SEALED_EVENT

    assert SEALED_EVENT in runner.OUT_OF_REACH
    asked = {
        **job("assert peek() is not None", cells=(ASK_FOR_THE_STEPS,)),
        "recorded_steps": SENT_STEPS,
    }
    found = errors(sandbox.run(asked, linear_environment, LIMITS))
    assert "GradingRefused" in found["test-0"] and "pancake.testing.sealed" in found["test-0"], (
        found
    )
    read = {**job(READ_THE_STEPS), "recorded_steps": SENT_STEPS}
    assert not errors(sandbox.run(read, linear_environment, LIMITS))


# -- frames and the heap ----------------------------------------------------------------------

# Each reaches a frame of the grader from a function of an answer (the test calls it).
FRAME_GRABS = {
    "tb_frame": "def peek():\n    try:\n        raise ValueError\n    except ValueError as e:\n"
    "        return e.__traceback__.tb_frame.f_back.f_locals",
    "sys._getframe": "import sys\n\ndef peek():\n    return sys._getframe(1).f_locals",
    "logging": "import logging\n\ndef peek():\n    return logging.currentframe().f_back.f_locals",
    "walk_stack": "import traceback\n\ndef peek():\n    return list(traceback.walk_stack(None))",
    "capture_locals": "import traceback\n\ndef peek():\n    return traceback.StackSummary.extract("
    "traceback.walk_stack(None), capture_locals=True)",
    "walk_tb": "import traceback\n\ndef peek():\n    try:\n        raise ValueError\n"
    "    except ValueError as e:\n        return list(traceback.walk_tb(e.__traceback__))",
    "gi_frame": "def peek():\n    return (i for i in [1]).gi_frame",
    "gc": "import gc\n\ndef peek():\n    return gc.get_referrers(peek)",
    "caught": "import sys\n\ndef peek():\n    try:\n        return sys._getframe(1)\n"
    "    except RuntimeError:\n        return None",
    "proc": "def peek():\n    return open('/proc/self/mem', 'rb')",
    "ctypes": "import ctypes\n\ndef peek():\n    return ctypes.string_at(id(peek), 8)",
    "audit hook": "import sys\n\ndef peek():\n    sys.addaudithook(lambda event, args: None)\n"
    "    return True",
}
# What answers do for their own ends, with frames used inside the library: all fine.
LIBRARY_USES = """
import collections, enum, logging, sys, traceback, typing
from tqdm import tqdm

def peek():
    logging.warning("a warning")
    try:
        raise ValueError("shown")
    except ValueError:
        traceback.print_exc()
    for _ in tqdm(range(3)):
        pass
    print("x" * 30_000)
    enum.Enum("Colour", "red green")
    typing.TypeVar("T")
    return collections.namedtuple("Pair", "a b")(1, 2)
"""


@pytest.mark.parametrize(
    "name",
    ["tb_frame", pytest.param("sys._getframe", marks=pytest.mark.slow)]
    + [pytest.param(name, marks=pytest.mark.slow) for name in list(FRAME_GRABS)[2:]],
)
def test_an_answer_may_not_reach_the_graders_frames_or_heap(linear_environment, name):
    outcome = sandbox.run(
        job("assert peek() is not None", "assert True", cells=(FRAME_GRABS[name],)),
        linear_environment,
        LIMITS,
    )
    found = errors(outcome)
    assert found.keys() == {"test-0", "test-1"}, found
    assert "GradingRefused" in found["test-0"] and "out of reach" in found["test-0"], found


def test_libraries_that_look_at_frames_for_their_own_ends_still_work(linear_environment):
    outcome = sandbox.run(
        job("assert peek() == (1, 2)", cells=(LIBRARY_USES,)), linear_environment, LIMITS
    )
    assert not errors(outcome), errors(outcome)
    assert "a warning" in outcome.tests["test-0"]["output"]
    shown = outcome.tests["test-0"]["output"]
    assert "ValueError: shown" in shown and "more characters of output not shown" in shown


def test_an_answer_cannot_change_how_results_are_written(linear_environment):
    """Each made a failing test pass before the runner kept its own names and builtins."""
    outcome = sandbox.run(
        job("assert False", cells=(FORGE_RESULTS, REPLACE_THE_RUNNER)), linear_environment, LIMITS
    )
    assert errors(outcome).keys() == {"test-0"}, outcome


def test_every_hypothesis_setting_of_the_graded_tests_is_given():
    """One left out comes from the current profile, which an answer cell can load."""
    from hypothesis import settings

    from pancake.course import prelude

    call = next(
        node
        for node in ast.walk(ast.parse(inspect.getsource(prelude)))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "settings"
    )
    fields = {
        name
        for name in dir(settings.default)
        if not name.startswith("_") and not callable(getattr(settings.default, name))
    }
    assert {keyword.arg for keyword in call.keywords} == fields


def test_an_answer_that_rejects_the_examples_it_gets_wrong_fails():
    """hypothesis skips an example its code rejects: a Tanh that overflows beyond |x| = 354
    and rejects those inputs passed with a few examples skipped."""
    from hypothesis import assume, given
    from hypothesis import strategies as st

    from pancake.course.prelude import graded

    def overflowing_tanh(x: float) -> float:
        assume(abs(x) < 350)
        return (np.exp(2 * x) - 1) / (np.exp(2 * x) + 1)

    @graded
    @given(st.floats(-1000, 1000))
    def test_tanh(x):
        assert np.isclose(overflowing_tanh(x), np.tanh(x))

    with pytest.raises(AssertionError, match="rejected this example"):
        test_tanh()


def test_nbgrader_reuses_the_results_of_the_class_command(tmp_path):
    """Results are kept by a key that holds the limits: the class command's limits, read
    from nbgrader_config.py, and GradeInSandbox's, from nbgrader's traits, must make the
    same key (30 from the file and 30.0 from a Float trait once did not, and nbgrader ran
    every part again, one at a time)."""
    from traitlets.config.loader import PyFileConfigLoader

    from pancake.course import grade
    from pancake.course.grading.preprocessors import GradeInSandbox

    shutil.copy(Path(pancake.__file__).parents[1] / "nbgrader_config.py", tmp_path)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    from_the_class_command = grade.limits(tmp_path)
    from_nbgrader = GradeInSandbox(config=config).limits
    assert json.dumps(dataclasses.asdict(from_the_class_command), sort_keys=True) == json.dumps(
        dataclasses.asdict(from_nbgrader), sort_keys=True
    )
