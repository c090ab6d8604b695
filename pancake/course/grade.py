"""Grade a class: ``pancake-course grade ASSIGNMENT... [--jobs N] [--force]`` (or ``python -m pancake.course.grade``).

Run it from the course root (where ``nbgrader_config.py`` lives). For each assignment
(``"*"``: every one in ``solutions/``):

1. runs every submission not graded yet (``--force``: every one), part by part, each
   part in its own sandbox, ``--jobs`` submissions at a time (default: one per core),
   with a progress bar;
2. runs ``nbgrader autograde``: it reads those results (nothing runs twice), scores the
   graded cells and writes the gradebook, in this process only, one notebook at a time;

then ``nbgrader generate_feedback`` and ``nbgrader export`` (``grades.csv``). The scores
are those that ``nbgrader autograde`` alone gives, one notebook after another.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory
from tqdm.auto import tqdm
from traitlets.config.loader import PyFileConfigLoader

from pancake.course.cli import grade, grade_arguments
from pancake.course.generate import run_nbgrader
from pancake.course.grading import notebooks, sandbox
from pancake.course.grading.grader import Grader


def course_directory(root: Path) -> CourseDirectory:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    course = CourseDirectory(config=config)
    course.root = str(root)
    return course


def limits(root: Path) -> sandbox.Limits:
    """The limits ``nbgrader_config.py`` sets for ``GradeInSandbox`` (so results are shared)."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    seconds = config.GradeInSandbox.get("seconds_per_test", sandbox.Limits.seconds_per_test)
    return sandbox.Limits(seconds_per_test=seconds)


def to_grade(
    course: CourseDirectory, assignment: str, force: bool, student: str = "*"
) -> list[Path]:
    """The submitted notebooks of ``assignment`` that nbgrader will grade, in a fixed order."""
    root = Path(course.root)
    pattern = Path(course.format_path(course.submitted_directory, student, assignment))
    found = sorted(root.glob(str(pattern.relative_to(root) / "*.ipynb")))
    return [path for path in found if force or not _graded(course, path)]


def _graded(course: CourseDirectory, submitted: Path) -> bool:
    student = submitted.parent.parent.name
    folder = Path(course.format_path(course.autograded_directory, student, submitted.parent.name))
    graded = folder / submitted.name
    return graded.exists() and graded.stat().st_mtime >= submitted.stat().st_mtime


def run_sandboxes(
    course: CourseDirectory,
    assignment: str,
    grader: Grader,
    jobs: int,
    force: bool,
    student: str = "*",
) -> list[float]:
    """Run the parts of every submission to grade, ``jobs`` at a time; seconds per notebook."""
    source = Path(course.format_path(course.source_directory, ".", assignment))

    def run_one(path: Path) -> float:
        start = time.perf_counter()
        template = nbformat.read(source / path.name, as_version=4)
        submitted = nbformat.read(path, as_version=4)
        grader.grade(assignment, notebooks.rebuild(template, submitted))
        return time.perf_counter() - start

    paths = to_grade(course, assignment, force, student)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        progress = tqdm(
            pool.map(run_one, paths), total=len(paths), desc=assignment, unit="notebook"
        )
        return list(progress)


def grade_class(
    root: Path,
    assignments: list[str],
    *,
    jobs: int,
    force: bool = False,
    student: str = "*",
    only_run: bool = False,
) -> dict[str, list[float]]:
    """Grade ``assignments``, then give feedback and export; seconds per notebook, by assignment.

    ``only_run``: run the sandboxes and keep their results, nothing more (one job of many).
    """
    course = course_directory(root)
    every = assignments == ["*"]
    if every:
        source = root / course.source_directory
        assignments = sorted(path.name for path in source.iterdir() if path.is_dir())
    sandbox.warn_if_unsandboxed()
    grader = Grader(root, limits(root))
    seconds = {
        assignment: run_sandboxes(course, assignment, grader, jobs, force, student)
        for assignment in assignments
    }
    if only_run:
        return seconds
    options = ["--force"] if force else []
    for assignment in ["*"] if every else assignments:  # nbgrader starts slowly: once for "*"
        run_nbgrader("autograde", assignment, *options, "--log-level=WARN", cwd=root)
        run_nbgrader("generate_feedback", assignment, "--force", "--log-level=WARN", cwd=root)
    run_nbgrader("export", "--log-level=WARN", cwd=root)
    return seconds


def report(seconds: dict[str, list[float]]) -> str:
    """One line per assignment: how many notebooks, and the median seconds each took."""
    return "\n".join(
        f"{assignment}: {len(times)} notebooks, {statistics.median(times):.1f} s each (median)"
        for assignment, times in seconds.items()
        if times
    )


def main(argv: list[str] | None = None) -> None:
    parser = grade_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    grade(parser.parse_args(argv))


if __name__ == "__main__":
    main()
