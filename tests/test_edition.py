"""The learner edition: ``pancake-course release``, ``save``, ``restore`` and ``status``.

The edition is written into scratch folders; code that must import the edition's
``pancake`` (not this repository's) runs in a subprocess with the edition first on the path.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from pancake.course import edition, learner
from pancake.course.assignments import ASSIGNMENTS
from pancake.course.learner import CourseError

REPOSITORY = Path(__file__).resolve().parents[1]
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
REGION = re.compile(r"^ *### BEGIN SOLUTION\n(.*?)^ *### END SOLUTION\n", re.MULTILINE | re.DOTALL)


def normalised(line: str) -> str:
    """Stripped, without its comment (a line of code as a reader would copy it)."""
    return line.split("  #")[0].strip() if not line.strip().startswith("#") else ""


def reference_answer_lines() -> dict[str, set[str]]:
    """Every non-trivial line of every SOLUTION body of the package, by file.

    Trivial: shorter than `return x` plus a little, or also written outside the regions
    (such a line gives nothing away).
    """
    answers, outside = {}, set()
    for path in (REPOSITORY / "pancake").rglob("*.py"):
        text = path.read_text()
        answers[str(path)] = {
            normalised(line) for body in REGION.findall(text) for line in body.splitlines()
        }
        outside.update(normalised(line) for line in REGION.sub("", text).splitlines())
    return {
        path: {line for line in lines - outside if len(line) > 8} for path, lines in answers.items()
    }


def edition_lines(root: Path) -> dict[Path, set[str]]:
    """Every file of an edition as normalised lines (a notebook: its cells' sources)."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text()
            if path.suffix == ".ipynb":
                text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
            found[path] = {normalised(line) for line in text.splitlines()}
    return found


def in_edition(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run this interpreter with ``args`` in ``root``, the edition's ``pancake`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(root), "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, check=check
    )


def status_rows(output: str) -> dict[tuple[str, str], str]:
    """``pancake-course status`` output -> {(exercise, part): state}."""
    table = output.split("\n\n")[0]  # the failing parts' hints follow a blank line
    rows = [line.split() for line in table.splitlines()[1:]]
    return {(row[0], row[1]): row[2] for row in rows}


def package_snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text() for p in sorted((root / "pancake").rglob("*.py"))
    }


def typed_answer(target: str) -> str:
    """The reference source of ``target`` without its markers: a learner's complete answer."""
    module, name = target.rsplit(".", 1)
    obj = getattr(__import__(module, fromlist=[name]), name)
    lines = inspect.getsource(obj).splitlines(keepends=True)
    return "".join(line for line in lines if line.strip() not in MARKERS)


def fill_notebook(path: Path, answers: dict[str, str] | None = None) -> None:
    """Write answers into the answer cells of a released notebook (the reference by default)."""
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        target = cell["metadata"].get("pancake", {}).get("source")
        if target:
            source = (answers or {}).get(target) or typed_answer(target)
            cell["source"] = source.splitlines(keepends=True)
    path.write_text(json.dumps(notebook, indent=1))


@pytest.fixture(scope="module")
def edition0(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("editions") / "through0"
    edition.release(root, through=0)
    return root


@pytest.fixture
def learner_edition(edition0, tmp_path) -> Path:
    """A copy of the edition through 0 that a test may change."""
    return Path(shutil.copytree(edition0, tmp_path / "edition"))


def test_edition_holds_no_line_of_any_answer(edition0):
    answers = reference_answer_lines()
    assert sum(map(len, answers.values())) > 100  # the scan has something to find
    withheld = set().union(*answers.values())
    for path, lines in edition_lines(edition0).items():
        assert not lines & withheld, f"{path} holds answer lines {sorted(lines & withheld)[:3]}"


def test_edition_holds_no_graded_test_and_no_instructor_file(edition0):
    present = {str(p.relative_to(edition0)) for p in edition0.rglob("*")}
    for forbidden in ("solutions", "book", ".git", "gradebook.db", "pancake/course/assignments"):
        assert forbidden not in present
    for module in ("generate", "notebook", "spec", "sources", "edition"):
        assert f"pancake/course/{module}.py" not in present
    assert not [p for p in present if p.endswith(".pyc") or "__pycache__" in p]
    visible = {
        normalised(line)
        for assignment in ASSIGNMENTS
        for part in assignment.parts
        for line in inspect.getsource(part.check).splitlines()
    }
    graded = {
        normalised(line)
        for assignment in ASSIGNMENTS
        for part in assignment.parts
        for test in part.tests
        for line in inspect.getsource(test.function).splitlines()
    }
    framework = {
        normalised(line)
        for path in (REPOSITORY / "pancake").rglob("*.py")
        if "course" not in path.parts
        for line in path.read_text().splitlines()
    }
    graded = {line for line in graded - visible - framework if len(line) > 8}
    assert len(graded) > 50
    for path, lines in edition_lines(edition0).items():
        assert not lines & graded, f"{path} holds graded test lines {sorted(lines & graded)[:3]}"
        assert "### BEGIN HIDDEN TESTS" not in lines


# -- no function of the edition behaves as a withheld answer --------------------------------
#
# The line-by-line test above misses a twin: an answer written again under another name
# and other words (the checks once held exercise 8's loop as `documented_epoch`, exercise
# 6's updates as `sgd_reference` and `adam_reference`, exercise 10's unbroadcast as
# `_summed_copies`, exercise 11's serial apply_fun as `_applied_in_turn`). PROBE calls
# every function of the edition's package (but the learner's commands) on the inputs of
# these answers, in the edition, and reports those that give the answer's result. It
# holds its own stand-ins for a model, a loss, an optimizer and stax layers, so that it
# needs none of the edition's stubbed modules.

PROBE = r'''
import importlib, inspect, json, pkgutil, sys, warnings
import numpy as np


class StandInModel:
    """y = x @ w, w of shape (3, 2); backward adds x.T @ grad to w's gradient."""

    def __init__(self):
        self.w = np.linspace(-1.0, 1.0, 6).reshape(3, 2)
        self.grad = np.zeros_like(self.w)

    def __call__(self, x):
        self.x = x
        return x @ self.w

    forward = __call__

    def backward(self, grad):
        self.grad += self.x.T @ grad
        return grad @ self.w.T

    def parameters(self):
        return [self]


class StandInLoss:
    """Half the mean squared error; backward gives its gradient."""

    def __call__(self, pred, target):
        self.difference = pred - target
        return float(0.5 * np.mean(self.difference**2))

    forward = __call__

    def backward(self):
        return self.difference / self.difference.size


class StandInOptimizer:
    def __init__(self, model):
        self.model = model

    def zero_grad(self):
        self.model.grad[...] = 0

    def step(self):
        self.model.w -= 0.5 * self.model.grad


def stand_in_batches():
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((13, 3)), rng.standard_normal((13, 2))
    return [(x[i : i + 5], y[i : i + 5]) for i in range(0, 13, 5)]


def stand_in_stax_layers():
    """Three stax layers, x -> x * w + k, and their params."""
    layers = [
        ((lambda rng, shape: (shape, np.ones(shape[-1]))), (lambda w, x, k=k: x * w + k))
        for k in range(3)
    ]
    params = [np.linspace(1.0, 2.0, 4) * (k + 1) for k in range(3)]
    return layers, params, np.linspace(-1.0, 1.0, 8).reshape(2, 4)


def unbroadcast_inputs():
    """(grad, shape) pairs: axes added in front and stretched, or only stretched."""
    rng = np.random.default_rng(10)
    return [(rng.standard_normal((2, 3, 4)), (3, 1)), (rng.standard_normal((3, 4)), (1, 4))]


OPTIMIZER_INPUTS = {
    "theta": np.linspace(-1.0, 2.0, 6),
    "grad": np.linspace(0.5, -3.0, 6),
    "sgd": dict(lr=0.1, momentum=0.9, dampening=0.0, nesterov=True, weight_decay=0.1),
    "adam": dict(
        lr=0.1, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1, decoupled_weight_decay=False
    ),
}


def functions(package):
    """(name, function) of every function defined in the package's modules, but pancake.course."""
    for module_info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if module_info.name.startswith(package.__name__ + ".course"):
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if inspect.isfunction(value) and value.__module__ == module.__name__:
                yield f"{module.__name__}.{name}", value


def close(got, expected):
    got = got[0] if isinstance(got, tuple) and got else got
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == np.shape(expected) and bool(np.allclose(got, expected, rtol=1e-9))


def gives_unbroadcast(function, expected):
    """Whether ``function`` gives unbroadcast's result on one of the inputs (half an answer
    is a leak too)."""
    for (grad, shape), result in zip(unbroadcast_inputs(), expected["unbroadcast"]):
        try:
            if close(function(grad.copy(), shape), np.array(result)):
                return True
        except Exception:
            pass
    return False


def trains_one_epoch(function, expected):
    model = StandInModel()
    function(model, StandInLoss(), StandInOptimizer(model), stand_in_batches())
    return bool(np.allclose(model.w, expected["train_one_epoch"]))


def applies_in_turn(function, expected):
    return close(function(*stand_in_stax_layers()), expected["serial"])


def steps_as(rule):
    def steps(function, expected):
        parameters = inspect.signature(function).parameters
        settings = {k: v for k, v in OPTIMIZER_INPUTS[rule].items() if k in parameters}
        theta, grad = OPTIMIZER_INPUTS["theta"].copy(), OPTIMIZER_INPUTS["grad"].copy()
        return bool(settings) and close(function(theta, grad, None, 1, **settings), expected[rule])

    return steps


PROBES = {
    "unbroadcast": gives_unbroadcast,
    "train_one_epoch": trains_one_epoch,
    "serial": applies_in_turn,
    "sgd": steps_as("sgd"),
    "adam": steps_as("adam"),
}


def behaves_as(function, expected):
    """The answers whose result ``function`` gives on their inputs."""
    found = []
    for answer, probe in PROBES.items():
        try:
            if probe(function, expected):
                found.append(answer)
        except Exception:
            pass
    return found


def twins(package, expected):
    """{function name: the answers it behaves as}."""
    found = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for name, function in functions(package):
            answers = behaves_as(function, expected)
            if answers:
                found[name] = answers
    return found


if __name__ == "__main__":
    import pancake

    expected = json.loads(sys.argv[1])
    print(json.dumps(twins(pancake, expected)))
'''


def expected_answer_results() -> dict[str, list]:
    """What the reference answers give on PROBE's inputs (computed in this repository)."""
    from pancake.autograd.functions import unbroadcast
    from pancake.nn.module import Parameter
    from pancake.optim import SGD, Adam
    from pancake.stax import serial
    from pancake.train import train_one_epoch

    probe: dict = {}
    exec(PROBE, probe)  # the stand-ins and inputs only: __name__ is not "__main__" here
    model = probe["StandInModel"]()
    train_one_epoch(
        model, probe["StandInLoss"](), probe["StandInOptimizer"](model), probe["stand_in_batches"]()
    )
    inputs = probe["OPTIMIZER_INPUTS"]
    steps = {}
    for rule, optimizer_cls in (("sgd", SGD), ("adam", Adam)):
        param = Parameter(inputs["theta"].copy())
        param.grad[...] = inputs["grad"]
        optimizer_cls([param], **inputs[rule]).step()
        steps[rule] = param.data.tolist()
    layers, params, x = probe["stand_in_stax_layers"]()
    return {
        "serial": serial(*layers)[1](params, x).tolist(),
        "unbroadcast": [
            unbroadcast(grad, shape).tolist() for grad, shape in probe["unbroadcast_inputs"]()
        ],
        "train_one_epoch": model.w.tolist(),
        **steps,
    }


def twins_in(root: Path) -> dict[str, list[str]]:
    """Functions of the edition at ``root`` that behave as a withheld answer."""
    (root / "answer_probe.py").write_text(PROBE)
    result = in_edition(root, "answer_probe.py", json.dumps(expected_answer_results()))
    return json.loads(result.stdout)


def test_no_function_of_the_edition_behaves_as_a_withheld_answer(learner_edition):
    assert twins_in(learner_edition) == {}


def test_the_probe_finds_an_answer_written_again_under_another_name(learner_edition):
    """Planted in the edition's pancake.testing: the reference answers, renamed, and the
    reference update rules of the instructor's recorder (pancake.course)."""
    from pancake.course import optimizer_trajectories

    planted = [
        "from __future__ import annotations\n\nimport math\n\nimport numpy as np\n\n"
        "from pancake.train import skips_input_gradient\n",
        typed_answer("pancake.autograd.functions.unbroadcast").replace("unbroadcast", "summed"),
        typed_answer("pancake.train.train_one_epoch").replace("train_one_epoch", "loop"),
        "def chained(layers, params, inputs):\n"
        "    for (_, layer_apply), layer_params in zip(layers, params, strict=True):\n"
        "        inputs = layer_apply(layer_params, inputs)\n"
        "    return inputs\n",
        inspect.getsource(optimizer_trajectories.sgd_reference),
        inspect.getsource(optimizer_trajectories.adam_reference),
    ]
    (learner_edition / "pancake/testing/planted.py").write_text("\n\n".join(planted))
    assert twins_in(learner_edition) == {
        "pancake.testing.planted.summed": ["unbroadcast"],
        "pancake.testing.planted.loop": ["train_one_epoch"],
        "pancake.testing.planted.chained": ["serial"],
        "pancake.testing.planted.sgd_reference": ["sgd"],
        "pancake.testing.planted.adam_reference": ["adam"],
    }


def test_a_stub_names_its_exercise_notebook_and_chapter(edition0):
    result = in_edition(
        edition0,
        "-c",
        "import numpy as np, pancake; print(pancake.__file__)\n"
        "from pancake.nn import Linear\n"
        "Linear(3, 2)(np.ones((4, 3)))",
        check=False,
    )
    assert result.stdout.startswith(str(edition0))
    assert result.returncode != 0
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("NotImplementedError: Exercise 3 (The Linear layer, chapter 3")
    assert "exercises/03-linear/03-linear.ipynb" in error


@pytest.mark.slow
def test_pytest_m_runs_the_public_checks_of_one_exercise(edition0):
    result = in_edition(
        edition0, "-m", "pytest", "-m", "ex03", "-p", "no:cacheprovider", check=False
    )
    assert "1 failed" in result.stdout and "deselected" in result.stdout
    assert "test_visible_check[03-linear-Linear]" in result.stdout
    assert "NotImplementedError: Exercise 3 (The Linear layer" in result.stdout


def test_the_edition_cannot_release_and_refuses_what_is_not_an_exercise(edition0, tmp_path):
    result = in_edition(edition0, "-m", "pancake.course.cli", "release", str(tmp_path), check=False)
    assert "release runs in the course repository, not in a learner edition" in result.stderr
    with pytest.raises(CourseError, match="--through -1: choose 0"):
        edition.release(tmp_path / "edition", through=-1)
    assert not (tmp_path / "edition").exists()


@pytest.mark.slow
def test_release_through_5_fills_exercises_1_to_5(tmp_path):
    root = tmp_path / "through5"
    edition.release(root, through=5)
    output = in_edition(root, "-m", "pancake.course.cli", "status").stdout
    rows = status_rows(output)
    assert len(rows) == sum(len(a.parts) for a in ASSIGNMENTS)
    given = [
        line for line in output.splitlines() if line.endswith("the course's code, as released")
    ]
    assert len(given) == sum(len(a.parts) for a in ASSIGNMENTS if a.number <= 5)
    for assignment in ASSIGNMENTS:
        expected = "passing" if assignment.number <= 5 else "stub"
        for part in assignment.parts:
            assert rows[assignment.name, part.name] == expected
    assert "### BEGIN SOLUTION" not in (root / "pancake/nn/linear.py").read_text()


@pytest.mark.slow
def test_a_kept_debugging_region_keeps_its_reference_part_only(tmp_path):
    debugging = next(a for a in ASSIGNMENTS if a.slug == "debugging")
    edition.release(tmp_path, through=debugging.number)
    for path in (tmp_path / "pancake").rglob("*.py"):
        assert "### BROKEN" not in path.read_text(), path
    rows = status_rows(in_edition(tmp_path, "-m", "pancake.course.cli", "status").stdout)
    assert rows[debugging.name, debugging.parts[0].name] == "passing"


def save_into(root: Path, notebook: Path) -> list[str]:
    """``pancake-course save notebook`` in the edition at ``root``, in this process (the
    command itself runs in ``test_save_refuses_a_bad_cell_and_changes_nothing``)."""
    return learner.save(
        notebook,
        exercises=learner.load_exercises(root / "pancake/course/exercises.json"),
        package_root=root / "pancake",
        history=root / ".pancake-course/history",
    )


def test_save_writes_answers_that_pass_then_restore_undoes_it(learner_edition):
    notebook = learner_edition / "exercises/01-chain-rule/01-chain-rule.ipynb"
    fill_notebook(notebook)
    before = package_snapshot(learner_edition)
    package = learner_edition / "pancake"
    history = learner_edition / ".pancake-course/history"
    report = save_into(learner_edition, notebook)
    assert len(report) == 2 and all(line.startswith("saved ") for line in report)
    after = package_snapshot(learner_edition)
    assert {path for path in before if before[path] != after[path]} == {
        "pancake/testing/gradcheck.py",
        "pancake/calculus.py",
    }
    rows = status_rows(in_edition(learner_edition, "-m", "pancake.course.cli", "status").stdout)
    assert rows["01-chain-rule", "numerical_gradient"] == "passing"
    assert rows["01-chain-rule", "chain_rule_gradients"] == "passing"
    assert rows["03-linear", "Linear"] == "stub"
    learner.restore(package_root=package, history=history)
    assert package_snapshot(learner_edition) == before


@pytest.mark.slow
def test_status_reports_a_failing_part_with_the_checkers_hint(learner_edition):
    notebook = learner_edition / "exercises/01-chain-rule/01-chain-rule.ipynb"
    fill_notebook(notebook)
    save_into(learner_edition, notebook)
    notebook = learner_edition / "exercises/03-linear/03-linear.ipynb"
    wrong = typed_answer("pancake.nn.linear.Linear").replace(
        "rows.T @ grad_rows", "-(rows.T @ grad_rows)"
    )
    fill_notebook(notebook, {"pancake.nn.linear.Linear": wrong})
    save_into(learner_edition, notebook)
    notebook = learner_edition / "exercises/07-data/07-data.ipynb"
    fill_notebook(notebook)  # DataLoader is right, but its check needs no other exercise
    save_into(learner_edition, notebook)
    notebook = learner_edition / "exercises/08-training/08-training.ipynb"
    fill_notebook(notebook)  # train_one_epoch is right, but its check needs Sequential
    save_into(learner_edition, notebook)
    output = in_edition(learner_edition, "-m", "pancake.course.cli", "status").stdout
    rows = status_rows(output)
    assert rows["03-linear", "Linear"] == "failing"
    assert "03-linear Linear: " in output  # its hint, in full, under the table
    assert "sign" in next(line for line in output.splitlines() if " Linear " in line)
    assert rows["05-sequential", "Sequential"] == "stub"
    assert rows["07-data", "DataLoader"] == "passing"
    assert rows["08-training", "train_one_epoch"] == "blocked"
    assert "needs exercise" in next(line for line in output.splitlines() if "08-training" in line)


LINEAR = "pancake.nn.linear.Linear"
CELL = "cell 4 ('linear-answer', writes pancake.nn.linear.Linear)"
BAD_ANSWERS = {
    "does not parse": (lambda source: source.replace("):", ")", 1), [CELL, "does not parse"]),
    "defines another name": (
        lambda source: source.replace("class Linear", "class Dense"),
        [CELL, "must define `Linear`", "found: Dense"],
    ),
    "defines more": (lambda source: "import os\n" + source, [CELL, "found: Import, Linear"]),
    "does not import": (
        lambda source: source.replace("class Linear(Module)", "class Linear(Modul)"),
        ["03-linear.ipynb", "would not import", "NameError: name 'Modul' is not defined"],
    ),
}


@pytest.mark.parametrize("kind", BAD_ANSWERS)
def test_save_refuses_a_bad_cell_and_changes_nothing(learner_edition, kind):
    spoil, messages = BAD_ANSWERS[kind]
    notebook = learner_edition / "exercises/03-linear/03-linear.ipynb"
    fill_notebook(notebook, {LINEAR: spoil(typed_answer(LINEAR))})
    before = package_snapshot(learner_edition)
    result = in_edition(
        learner_edition, "-m", "pancake.course.cli", "save", str(notebook), check=False
    )
    assert result.returncode != 0
    for message in messages:
        assert message in result.stderr
    assert package_snapshot(learner_edition) == before
    assert not list(learner_edition.glob(".pancake-course/history/*"))


def test_save_refuses_a_package_outside_an_edition_folder(learner_edition, tmp_path):
    installed = Path(shutil.copytree(learner_edition / "pancake", tmp_path / "site" / "pancake"))
    notebook = learner_edition / "exercises/03-linear/03-linear.ipynb"
    fill_notebook(notebook)
    exercises = learner.load_exercises(installed / "course/exercises.json")
    with pytest.raises(CourseError, match="pip install -e DIR"):
        learner.save(notebook, exercises=exercises, package_root=installed, history=tmp_path / "h")
    assert package_snapshot(installed.parent) == package_snapshot(learner_edition)


def test_save_refuses_a_notebook_of_another_assignment(learner_edition):
    notebook = learner_edition / "exercises/04-activations-losses/04-activations-losses.ipynb"
    fill_notebook(notebook)
    renamed = learner_edition / "exercises/03-linear/03-linear.ipynb"
    shutil.copy(notebook, renamed)
    unknown = learner_edition / "exercises/my-copy.ipynb"
    shutil.copy(notebook, unknown)
    before = package_snapshot(learner_edition)
    for path, message in [
        (renamed, "belongs to exercise 04-activations-losses"),
        (unknown, "not an exercise"),
    ]:
        result = in_edition(
            learner_edition, "-m", "pancake.course.cli", "save", str(path), check=False
        )
        assert result.returncode != 0 and message in result.stderr
    assert package_snapshot(learner_edition) == before


def scratch_repository(tmp_path: Path) -> Path:
    """A copy of the package and the released notebooks, to break before a release."""
    root = tmp_path / "repository"
    shutil.copytree(
        REPOSITORY / "pancake", root / "pancake", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(REPOSITORY / "exercises", root / "exercises")
    return root


def break_linear(root: Path, old: str, new: str) -> None:
    path = root / "pancake/nn/linear.py"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def leak_answer_into_notebook(root: Path) -> None:
    path = root / "exercises/03-linear/03-linear.ipynb"
    fill_notebook(path)


def leak_graded_test_into_notebook(root: Path) -> None:
    """The released notebook as if nbgrader had kept a hidden test: its code in a cell."""
    path = root / "exercises/03-linear/03-linear.ipynb"
    notebook = json.loads(path.read_text())
    hidden = inspect.getsource(ASSIGNMENTS[2].parts[0].tests[-1].function)
    notebook["cells"][-2]["source"] += "\n" + hidden
    path.write_text(json.dumps(notebook))


@pytest.mark.parametrize(
    ("breaks", "message"),
    [
        (
            lambda root: break_linear(root, "        ### END SOLUTION\n", ""),
            "inside the region opened",
        ),
        (
            lambda root: break_linear(root, "data.T\n        ### END SOLUTION\n", "data.T\n"),
            "never closed",
        ),
        (
            lambda root: break_linear(root, "        ### BEGIN SOLUTION\n", ""),
            "without a `### BEGIN",
        ),
        (
            lambda root: break_linear(
                root,
                "    def forward(self, x: np.ndarray) -> np.ndarray:\n",
                "    def forward(self, x: np.ndarray) -> np.ndarray:\n"
                "        x = (\n### BEGIN SOLUTION\nx\n### END SOLUTION\n        )\n",
            ),
            "does not compile",
        ),
        (leak_answer_into_notebook, "would give away an answer"),
        (leak_graded_test_into_notebook, "would give away an answer or a graded test"),
    ],
    ids=[
        "nested",
        "unclosed",
        "unopened",
        "uncompilable stub",
        "answer in a notebook",
        "graded test in a notebook",
    ],
)
def test_release_refuses_a_broken_repository_and_writes_nothing(tmp_path, breaks, message):
    root = scratch_repository(tmp_path)
    breaks(root)
    target = tmp_path / "out" / "edition"
    with pytest.raises(CourseError, match=message):
        edition.release(target, root=root)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_release_refuses_orphan_regions_and_missing_targets(tmp_path):
    target = tmp_path / "edition"
    with pytest.raises(
        CourseError,
        match=r"(gradcheck|calculus)\.py:\d+: a SOLUTION region inside no exercise's target",
    ):
        edition.release(target, assignments=ASSIGNMENTS[1:])
    linear = ASSIGNMENTS[2].parts[0]
    moved = dataclasses.replace(linear, target="pancake.nn.dense.Linear")
    assignments = [
        *ASSIGNMENTS[:2],
        dataclasses.replace(ASSIGNMENTS[2], parts=(moved,)),
        *ASSIGNMENTS[3:],
    ]
    with pytest.raises(CourseError, match="target pancake.nn.dense.Linear: no module"):
        edition.release(target, assignments=assignments)
    root = scratch_repository(tmp_path)
    break_linear(root, "class Linear(", "class Dense(")
    with pytest.raises(CourseError, match="target pancake.nn.linear.Linear no longer exists"):
        edition.release(target, root=root)
    assert not target.exists()


def test_release_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "mine.txt").write_text("my notes")
    for force in (False, True):  # --force replaces an edition only
        with pytest.raises(CourseError, match="not empty|replaces a learner edition only"):
            edition.release(tmp_path, through=0, force=force)
        assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]
    (tmp_path / "mine.txt").unlink()
    edition.release(tmp_path, through=0)
    edition.release(tmp_path, through=5, force=True)
    assert json.loads((tmp_path / "pancake/course/exercises.json").read_text())["through"] == 5


@pytest.mark.slow
def test_a_learner_fills_every_notebook_and_trains_digits_with_their_own_code(tmp_path):
    """Release through 0, install in a fresh venv, fill and save every notebook, then train."""
    root = tmp_path / "edition"
    edition.release(root, through=0)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # The dependencies come from this project's venv, as plain paths: its editable pancake
    # (a .pth import hook) is not processed, so only the edition's pancake can be imported.
    Path(site, "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-e",
            str(root),
        ],
        check=True,
    )
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("PYTHONPATH", None)

    def run(*args: str) -> str:
        return subprocess.run(
            args, cwd=root, env=env, capture_output=True, text=True, check=True
        ).stdout

    assert run(str(python), "-c", "import pancake; print(pancake.__file__)").startswith(str(root))
    for assignment in ASSIGNMENTS:
        notebook = root / edition.notebook_path(assignment)
        fill_notebook(notebook)
        run(str(venv / "bin" / "pancake-course"), "save", str(notebook))
    assert "is yours to write" not in "".join(
        p.read_text() for p in (root / "pancake").rglob("*.py")
    )
    rows = status_rows(run(str(venv / "bin" / "pancake-course"), "status"))
    assert set(rows.values()) == {"passing"}
    assert " passed" in run(str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider")
    accuracy = float(run(str(python), "-c", DIGITS).strip())
    print(f"the learner's pancake: digits test accuracy {accuracy:.4f}")
    assert accuracy >= 0.97


# Chapter 8's final model: an MLP on the digits, trained by the learner's fit loop.
DIGITS = """
import numpy as np
from pancake.data import ArrayDataset, Compose, DataLoader, Normalize, RandomNoise, train_test_split
from pancake.datasets import load_digits
from pancake.nn import CrossEntropyLoss, Linear, ReLU, Sequential
from pancake.optim import Adam
from pancake.train import evaluate, fit

X, y = load_digits()
X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=397, rng=0, stratify=y)
normalize = Normalize(mean=X_rest.mean(axis=0), std=np.maximum(X_rest.std(axis=0), 0.1))
model = Sequential(Linear(64, 120, rng=0), ReLU(), Linear(120, 10, rng=1))
loader = DataLoader(ArrayDataset(X_rest, y_rest), batch_size=32, shuffle=True, rng=0,
                    transform=Compose([RandomNoise(0.1, rng=3), normalize]))
fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=1e-3), loader, epochs=40, progress=False)
print(evaluate(model, CrossEntropyLoss(), (normalize(X_test), y_test))["accuracy"])
"""
