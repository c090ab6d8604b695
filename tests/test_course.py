"""The graded exercises, end to end: generated from the package, graded by real nbgrader.

Fast tests check the generator and the committed notebooks. The slow ones build a scratch
course (its own gradebook), submit reference solutions, untouched releases, seeded
mistakes, tampered notebooks and an endless loop, run ``nbgrader autograde``,
``generate_feedback`` and ``export`` on them, and read the grades back.
"""

from __future__ import annotations

import builtins
import csv
import html
import inspect
import re
import shutil
import sqlite3
import statistics
import symtable
import time
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest
import yaml
from course_exploits import SIGINT_LOOP, SUBMISSIONS, Submission
from course_mistakes import ENDLESS_LOOP, MISTAKES, TAMPERS, Mistake, answer_cells
from traitlets.config.loader import PyFileConfigLoader

from pancake.course.assignments import ASSIGNMENTS
from pancake.course.generate import generate, run_nbgrader
from pancake.course.notebook import build_notebook
from pancake.course.sources import has_broken_code, starter_source

ROOT = Path(__file__).resolve().parents[1]
NAMES = [assignment.name for assignment in ASSIGNMENTS]
# Assignments that hand out broken code to fix rather than stubs that raise.
STARTS_BROKEN = {
    assignment.name
    for assignment in ASSIGNMENTS
    if any(has_broken_code(part.resolve()) for part in assignment.parts)
}


def notebook_path(root: Path, folder: str, name: str) -> Path:
    return root / folder / name / f"{name}.ipynb"


def comparable(notebook: nbformat.NotebookNode) -> list[tuple]:
    """What must not differ between two generations of a notebook: each cell's id, type,
    source and metadata (nbgrader's checksums included)."""
    return [(cell.id, cell.cell_type, cell.source, cell.metadata) for cell in notebook.cells]


# -- the generator and the committed notebooks -------------------------------------------


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=NAMES)
def test_answer_cells_hold_the_package_source(assignment):
    notebook = build_notebook(assignment)
    answers = answer_cells(notebook)
    assert [cell.metadata["pancake"]["source"] for cell in answers] == [
        part.target for part in assignment.parts
    ]
    for cell, part in zip(answers, assignment.parts, strict=True):
        assert cell.source == inspect.getsource(part.resolve()).strip()
        assert "### BEGIN SOLUTION" in cell.source


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=NAMES)
def test_committed_solutions_are_current(assignment):
    """Fails when pancake/ or a spec changed without `make exercises`."""
    committed = nbformat.read(notebook_path(ROOT, "solutions", assignment.name), as_version=4)
    generated = build_notebook(assignment)
    assert comparable(committed) == comparable(generated), "run `make exercises`"
    assert committed.metadata == generated.metadata


def test_solutions_and_exercises_hold_exactly_the_assignments():
    for folder in ("solutions", "exercises"):
        found = sorted(path.name for path in (ROOT / folder).iterdir() if path.is_dir())
        assert found == NAMES, f"{folder}/ holds {found}; run `make exercises`"


def test_the_book_lists_every_exercise():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    (part,) = [part for part in toc["parts"] if part.get("caption") == "Exercises"]
    assert [chapter["file"] for chapter in part["chapters"]] == [
        f"exercises/{n}/{n}" for n in NAMES
    ]


def test_nbgrader_config_sets_the_folders_the_sandbox_and_a_time_limit():
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.CourseDirectory.source_directory == "solutions"
    assert config.CourseDirectory.release_directory == "exercises"
    assert config.CourseDirectory.db_url == f"sqlite:///{ROOT / 'gradebook.db'}"
    assert 0 < config.GradeInSandbox.seconds_per_test <= 60
    sanitize, grade = (
        config.Autograde.sanitize_preprocessors,
        config.Autograde.autograde_preprocessors,
    )
    assert sanitize.index(
        "pancake.course.grading.preprocessors.RebuildFromSource"
    ) < sanitize.index("nbgrader.preprocessors.OverwriteCells")
    assert grade[0] == "pancake.course.grading.preprocessors.GradeInSandbox"
    assert not [step for step in grade if step.endswith("Execute")]  # no learner code in its kernel


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=NAMES)
def test_setup_cells_leave_earlier_answers_to_the_learner(assignment):
    """Exercise 10's Mul calls the learner's unbroadcast, not pancake's: no setup cell imports it."""
    cells = {cell.id: cell.source for cell in build_notebook(assignment).cells}
    for number, part in enumerate(assignment.parts):
        imported = set(re.findall(r"\bimport (.+)", cells[f"{part.slug}-setup"]))
        names = {name.strip() for line in imported for name in line.split(",")}
        assert not names & {earlier.name for earlier in assignment.parts[:number]}


# -- starter code: what a released answer cell shows ---------------------------------------


def doubled_plus_one(x):
    """A function whose released version holds two bugs and one stub."""
    ### BEGIN SOLUTION
    y = 2 * x
    ### BROKEN
    # y = 2 + x
    ### END SOLUTION
    for _ in range(1):
        y = y + 1
        ### BEGIN SOLUTION
        y = float(y)
        ### BROKEN
        ### END SOLUTION
    ### BEGIN SOLUTION
    return y
    ### END SOLUTION


def broken_code_not_commented(x):
    ### BEGIN SOLUTION
    return x
    ### BROKEN
    return -x
    ### END SOLUTION


def test_starter_code_replaces_each_region_by_its_broken_part_or_a_stub():
    assert has_broken_code(doubled_plus_one)
    assert starter_source(doubled_plus_one).splitlines()[2:] == [
        "    y = 2 + x",
        "    for _ in range(1):",
        "        y = y + 1",
        "    # YOUR CODE HERE",
        "    raise NotImplementedError()",
    ]


def test_broken_code_must_be_written_as_comments():
    with pytest.raises(ValueError, match="write the broken code as comments"):
        starter_source(broken_code_not_commented)


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=NAMES)
def test_committed_releases_show_the_starter_code_of_each_answer(assignment):
    """nbgrader's stubs where an answer has none; the broken code where it has some."""
    committed = nbformat.read(notebook_path(ROOT, "exercises", assignment.name), as_version=4)
    answers = {cell.id: cell.source for cell in answer_cells(committed)}
    for part in assignment.parts:
        assert answers[f"{part.slug}-answer"] == starter_source(part.resolve())


def free_names(table: symtable.SymbolTable) -> set[str]:
    """The names code reads but neither defines nor imports, in every scope of ``table``."""
    names = {
        symbol.get_name()
        for symbol in table.get_symbols()
        if symbol.is_referenced() and (symbol.is_global() or table.get_type() == "module")
    }
    defined = {
        symbol.get_name()
        for symbol in table.get_symbols()
        if table.get_type() == "module" and (symbol.is_assigned() or symbol.is_imported())
    }
    for child in table.get_children():
        names |= free_names(child)
    return names - defined


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=NAMES)
def test_the_setup_cell_imports_every_name_the_released_code_uses(assignment):
    """The broken code of exercise 9 builds a Softmax, which the reference never uses."""
    cells = {cell.id: cell.source for cell in build_notebook(assignment).cells}
    earlier = set()
    for part in assignment.parts:
        code = f"{cells[f'{part.slug}-setup']}\n{starter_source(part.resolve())}"
        missing = free_names(symtable.symtable(code, "cell", "exec")) - set(dir(builtins))
        assert not missing - earlier, f"{part.target}: nothing in the notebook defines {missing}"
        earlier.add(part.name)


# -- grading with nbgrader ------------------------------------------------------------------


class Course:
    """A scratch nbgrader course under ``root``: submissions in, grades and feedback out."""

    def __init__(self, root: Path):
        self.root = root
        self.timings: list[tuple[str, int, float]] = []
        self.regraded: dict[tuple[str, str], dict[str, float]] = {}  # first scores, by submission
        self.seconds: dict[str, list[float]] = {}  # the class command's, per notebook

    def nbgrader(self, *args: str, notebooks: int = 0) -> None:
        start = time.perf_counter()
        run_nbgrader(*args, "--log-level=ERROR", cwd=self.root)
        self.timings.append((" ".join(args), notebooks, time.perf_counter() - start))

    def notebook(self, folder: str, name: str) -> nbformat.NotebookNode:
        return nbformat.read(notebook_path(self.root, folder, name), as_version=4)

    def submit(self, student: str, name: str, notebook: nbformat.NotebookNode) -> None:
        path = self.root / "submitted" / student / name / f"{name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, path)

    def completed(self, name: str, mistakes: list[Mistake] = ()) -> nbformat.NotebookNode:
        """The released notebook with the reference answers in, and ``mistakes`` applied."""
        answers = {cell.id: cell for cell in answer_cells(self.notebook("solutions", name))}
        notebook = self.notebook("exercises", name)
        for cell in answer_cells(notebook):
            cell.source = answers[cell.id].source
            for mistake in mistakes:
                if mistake.target == cell.metadata["pancake"]["source"]:
                    cell.source = mistake.apply(cell.source)
        return notebook

    def scores(self, student: str, name: str) -> dict[str, float]:
        """Each graded cell's score, by grade id."""
        from nbgrader.api import Gradebook  # slow to import (~8 s): only the slow tests need it

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            submission = gradebook.find_submission_notebook(name, name, student)
            return {grade.name: grade.score for grade in submission.grades}

    def max_scores(self, name: str) -> dict[str, float]:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            notebook = gradebook.find_notebook(name, name)
            return {cell.name: cell.max_score for cell in notebook.grade_cells}

    def feedback(self, student: str, name: str) -> str:
        """The feedback page as text: tags removed, entities decoded."""
        page = (self.root / "feedback" / student / name / f"{name}.html").read_text()
        return html.unescape(re.sub(r"<[^>]+>", "", page))


def can_share_a_submission(a: Mistake, b: Mistake) -> bool:
    """Two mistakes in different answers that lose different tests: neither can hide the
    other's failure or hint (a test that both break would show one message only)."""
    return a.target != b.target and not set(a.loses) & set(b.loses)


def group_mistakes() -> dict[tuple[str, str], list[Mistake]]:
    """(student, assignment) -> the mistakes of one submission, each free to show its hint."""
    submissions: dict[tuple[str, str], list[Mistake]] = defaultdict(list)
    for mistake in MISTAKES:
        number = 1
        while not all(
            can_share_a_submission(m, mistake)
            for m in submissions[f"mistakes-{number}", mistake.assignment]
        ):
            number += 1
        submissions[f"mistakes-{number}", mistake.assignment].append(mistake)
    return dict(submissions)


MISTAKE_SUBMISSIONS = group_mistakes()


def test_each_submission_holds_mistakes_that_cannot_hide_each_other():
    for mistakes in MISTAKE_SUBMISSIONS.values():
        for i, a in enumerate(mistakes):
            for b in mistakes[i + 1 :]:
                assert can_share_a_submission(a, b), (a.description, b.description)
    assert sum(map(len, MISTAKE_SUBMISSIONS.values())) == len(MISTAKES)


def test_each_mistake_is_seeded_once():
    patches = [(mistake.target, mistake.patches) for mistake in MISTAKES]
    repeated = [
        m.description for m, key in zip(MISTAKES, patches, strict=True) if patches.count(key) > 1
    ]
    assert not repeated, f"seeded more than once: {repeated}"


def submission_of(mistake: Mistake) -> tuple[str, str]:
    """(student, assignment) of the submission that holds ``mistake``."""
    return next(key for key, mistakes in MISTAKE_SUBMISSIONS.items() if mistake in mistakes)


REGRADED = "04-activations-losses"


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    """Generate a scratch course, submit every case, grade, give feedback, export."""
    course = Course(tmp_path_factory.mktemp("course"))
    shutil.copy(ROOT / "nbgrader_config.py", course.root)
    start = time.perf_counter()
    generate(course.root)
    course.timings.append(
        ("generate (python -m pancake.course.generate)", 0, time.perf_counter() - start)
    )

    for name in NAMES:
        course.submit("solution", name, course.completed(name))
        course.submit("released", name, course.notebook("exercises", name))
    for (student, name), mistakes in MISTAKE_SUBMISSIONS.items():
        course.submit(student, name, course.completed(name, mistakes))
    for tamper in TAMPERS:
        notebook = course.notebook("exercises", tamper.assignment)
        tamper.edit(notebook)
        course.submit("tamper", tamper.assignment, notebook)
    for submission in SUBMISSIONS:
        name = submission.assignment
        reference = {
            cell.id: cell.source for cell in answer_cells(course.notebook("solutions", name))
        }
        notebook = course.notebook("exercises", name)
        submission.edit(notebook, reference, course.root)
        course.submit(submission.student, name, notebook)
    submitted = len(list((course.root / "submitted").glob("*/*/*.ipynb")))

    # The endless loops first, with a 10 s limit instead of 30 s to keep the test short:
    # the class command then leaves them alone, as graded.
    course.submit(
        "endless-loop",
        ENDLESS_LOOP.assignment,
        course.completed(ENDLESS_LOOP.assignment, [ENDLESS_LOOP]),
    )
    notebook = course.notebook("exercises", SIGINT_LOOP.assignment)
    reference = {cell.id: cell.source for cell in answer_cells(course.completed("02-modules"))}
    SIGINT_LOOP.edit(notebook, reference, course.root)
    course.submit("endless-loop-sigint", SIGINT_LOOP.assignment, notebook)
    course.nbgrader(
        "autograde",
        ENDLESS_LOOP.assignment,
        "--student=endless-loop*",
        "--GradeInSandbox.seconds_per_test=10",
        notebooks=2,
    )

    # The class command: sandboxes on two cores, then nbgrader autograde, feedback, export.
    start = time.perf_counter()
    from pancake.course.grade import grade_class  # imports nbgrader: only the slow tests need it

    course.seconds = grade_class(course.root, ["*"], jobs=2)
    course.timings.append(
        (
            "grade * --jobs 2 (pancake-course grade)",
            submitted,
            time.perf_counter() - start,
        )
    )

    # Grading again, one notebook at a time and from scratch, gives the same scores.
    student, _ = submission_of(next(m for m in MISTAKES if m.assignment == REGRADED))
    course.regraded[student, REGRADED] = course.scores(student, REGRADED)
    course.nbgrader(
        "autograde",
        REGRADED,
        f"--student={student}",
        "--force",
        "--GradeInSandbox.reuse_results=False",
        notebooks=1,
    )

    for command, notebooks, seconds in course.timings:
        per_notebook = f", {seconds / notebooks:.1f} s per notebook" if notebooks else ""
        print(f"nbgrader {command}: {seconds:.1f} s{per_notebook}")
    for name, seconds in course.seconds.items():
        print(f"sandboxes of {name}: {statistics.median(seconds):.1f} s per notebook (median)")
    return course


@pytest.mark.slow
class TestGrading:
    """Everything here reads the one graded scratch course of the ``course`` fixture."""

    @pytest.mark.parametrize("name", NAMES)
    def test_committed_exercises_are_current(self, course, name):
        """The committed releases are what `nbgrader generate_assignment` makes of the package."""
        committed = nbformat.read(notebook_path(ROOT, "exercises", name), as_version=4)
        generated = course.notebook("exercises", name)
        assert comparable(committed) == comparable(generated), "run `make exercises`"

    @pytest.mark.parametrize("name", NAMES)
    def test_reference_solutions_score_full_marks(self, course, name):
        assert course.scores("solution", name) == course.max_scores(name)

    @pytest.mark.parametrize("name", NAMES)
    def test_released_notebooks_score_zero(self, course, name):
        scores = course.scores("released", name)
        assert scores.keys() == course.max_scores(name).keys()
        assert set(scores.values()) == {0}
        expected = "AssertionError" if name in STARTS_BROKEN else "NotImplementedError"
        assert expected in course.feedback("released", name)

    @pytest.mark.parametrize("mistake", MISTAKES, ids=[m.description for m in MISTAKES])
    def test_a_seeded_mistake_loses_points_and_the_feedback_shows_its_hint(self, course, mistake):
        student, name = submission_of(mistake)
        scores = course.scores(student, name)
        assert {cell: scores[cell] for cell in mistake.loses} == dict.fromkeys(mistake.loses, 0)
        assert mistake.hint in course.feedback(student, name)

    @pytest.mark.parametrize(
        "student, name", MISTAKE_SUBMISSIONS, ids=[":".join(key) for key in MISTAKE_SUBMISSIONS]
    )
    def test_a_mistake_costs_only_the_tests_of_its_own_answer(self, course, student, name):
        lost = {cell for mistake in MISTAKE_SUBMISSIONS[student, name] for cell in mistake.loses}
        full = course.max_scores(name)
        kept = {
            cell: score for cell, score in course.scores(student, name).items() if cell not in lost
        }
        assert kept == {cell: full[cell] for cell in kept}

    def test_an_endless_loop_times_out_and_the_rest_is_graded(self, course):
        name = ENDLESS_LOOP.assignment
        expected = {
            cell: 0 if cell in ENDLESS_LOOP.loses else points
            for cell, points in course.max_scores(name).items()
        }
        assert course.scores("endless-loop", name) == expected
        assert ENDLESS_LOOP.hint in course.feedback("endless-loop", name)

    @pytest.mark.parametrize(
        "submission",
        [*SUBMISSIONS, SIGINT_LOOP],
        ids=[s.description for s in [*SUBMISSIONS, SIGINT_LOOP]],
    )
    def test_exploits_earn_nothing_and_faults_cost_only_what_they_touch(
        self, course, submission: Submission
    ):
        """Each exploit loses its cells (every one, for those with no work), each fault only
        the tests it hits, each correct unusual answer nothing; the feedback says why."""
        name = submission.assignment
        student = "endless-loop-sigint" if submission is SIGINT_LOOP else submission.student
        full = course.max_scores(name)
        lost = full.keys() if submission.loses is None else submission.loses
        expected = {cell: 0 if cell in lost else points for cell, points in full.items()}
        assert course.scores(student, name) == expected
        assert submission.shows in course.feedback(student, name)

    def test_the_gradebook_and_the_course_stay_out_of_reach(self, course):
        (reach,) = [s for s in SUBMISSIONS if "gradebook" in s.description]
        feedback = course.feedback(reach.student, reach.assignment)
        for attempt in ("gradebook", "hidden tests", "plant a file"):
            assert f"{attempt} failed" in feedback
        assert not (course.root / "planted.txt").exists()
        with sqlite3.connect(course.root / "gradebook.db") as gradebook:
            extra = gradebook.execute("SELECT extra_credit FROM grade").fetchall()
        assert {value for (value,) in extra} <= {None, 0}
        with open(course.root / "grades.csv", newline="") as file:
            rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(file)}
        row = rows[reach.student, reach.assignment]
        assert float(row["score"]) == 0 and float(row["max_score"]) == sum(
            course.max_scores(reach.assignment).values()
        )

    def test_feedback_of_a_flood_of_output_stays_small(self, course):
        (flood,) = [s for s in SUBMISSIONS if "megabyte" in s.description]
        page = course.root / "feedback" / flood.student / flood.assignment
        assert (page / f"{flood.assignment}.html").stat().st_size < 1_000_000

    @pytest.mark.parametrize("tamper", TAMPERS, ids=[t.description for t in TAMPERS])
    def test_tampering_earns_nothing(self, course, tamper):
        scores = course.scores("tamper", tamper.assignment)
        assert scores.keys() == course.max_scores(tamper.assignment).keys()
        assert set(scores.values()) == {0}

    def test_grading_the_same_submission_twice_gives_the_same_scores(self, course):
        assert course.regraded
        for (student, name), first in course.regraded.items():
            assert course.scores(student, name) == first

    def test_exported_grades_match_the_gradebook(self, course):
        with open(course.root / "grades.csv", newline="") as file:
            rows = {(row["student_id"], row["assignment"]): row for row in csv.DictReader(file)}
        for name in NAMES:
            total = sum(course.max_scores(name).values())
            solution, released = rows["solution", name], rows["released", name]
            assert float(solution["score"]) == float(solution["max_score"]) == total
            assert float(released["score"]) == 0
