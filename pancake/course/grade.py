"""Grade a class: ``python -m pancake.course.grade ASSIGNMENT [--jobs N]``, from the course root.

1. runs every submission of ``ASSIGNMENT`` (``submitted/*/ASSIGNMENT/``), part by part,
   each part in its own sandbox, ``--jobs`` submissions at a time (default: one per
   core), with a progress bar;
2. runs ``nbgrader autograde ASSIGNMENT --force`` once: it reads those results (nothing
   runs twice), scores the graded cells and writes the gradebook, in this process only;
3. runs ``nbgrader generate_feedback`` and ``nbgrader export`` (``grades.csv``).

The same results come from ``nbgrader autograde`` alone, one notebook after another.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory
from tqdm.auto import tqdm
from traitlets.config.loader import PyFileConfigLoader

from pancake.course.generate import run_nbgrader
from pancake.course.grading import notebooks, sandbox
from pancake.course.grading.grader import Grader


def submissions(course: CourseDirectory, assignment: str) -> list[Path]:
    """Every submitted notebook of ``assignment``, in a fixed order."""
    pattern = Path(course.format_path(course.submitted_directory, "*", assignment))
    return sorted(Path(pattern.anchor).glob(str(pattern.relative_to(pattern.anchor) / "*.ipynb")))


def run_submissions(
    course: CourseDirectory, assignment: str, grader: Grader, jobs: int
) -> dict[Path, float]:
    """Run the sandboxes of every submission, ``jobs`` at a time; seconds per submission."""
    paths = submissions(course, assignment)
    source = Path(course.format_path(course.source_directory, ".", assignment))

    def run_one(path: Path) -> float:
        start = time.perf_counter()
        template = nbformat.read(source / path.name, as_version=4)
        submitted = nbformat.read(path, as_version=4)
        grader.grade(assignment, notebooks.rebuild(template, submitted))
        return time.perf_counter() - start

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        seconds = list(
            tqdm(pool.map(run_one, paths), total=len(paths), desc=assignment, unit="notebook")
        )
    return dict(zip(paths, seconds, strict=True))


def grade_class(root: Path, assignment: str, jobs: int) -> dict[Path, float]:
    """Grade, give feedback and export; return the seconds each submission's sandboxes took."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    course = CourseDirectory(config=config)
    course.root = str(root)
    sandbox.warn_if_unsandboxed()
    seconds = run_submissions(course, assignment, Grader(root, sandbox.Limits()), jobs)
    for command in (
        ["autograde", assignment, "--force"],
        ["generate_feedback", assignment, "--force"],
        ["export"],
    ):
        run_nbgrader(*command, "--log-level=WARN", cwd=root)
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment", help="the assignment to grade, e.g. 03-linear")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="submissions at a time")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: .)")
    args = parser.parse_args(argv)
    seconds = sorted(grade_class(args.root.resolve(), args.assignment, args.jobs).values())
    if seconds:
        median = seconds[len(seconds) // 2]
        print(f"{len(seconds)} notebooks; sandboxes took {median:.1f} s per notebook (median)")


if __name__ == "__main__":
    main()
