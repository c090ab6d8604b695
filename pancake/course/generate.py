"""Regenerate the exercises: ``python -m pancake.course.generate`` (what ``make exercises`` runs).

1. writes ``solutions/NN-name/NN-name.ipynb``, the nbgrader source notebooks, from the
   specs in ``pancake.course.assignments`` and the package's code;
2. runs ``nbgrader generate_assignment --force`` on each, which writes the released
   notebooks to ``exercises/`` (SOLUTION regions become ``raise NotImplementedError()``,
   hidden tests are removed) and records the assignments in ``gradebook.db``;
3. puts the broken starter code of a bug-hunting answer (``### BROKEN``, see
   ``sources.starter_source``) in its released cell, in place of nbgrader's stubs;
4. records the optimizer steps that ``check_optimizer`` compares with, in the package
   (``pancake.course.optimizer_trajectories``).

Run it from the repository root, where ``nbgrader_config.py`` lives. ``--root`` writes
the course elsewhere (the tests use it to check that the committed notebooks are current).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from pancake.course import optimizer_trajectories
from pancake.course.assignments import ASSIGNMENTS
from pancake.course.notebook import build_notebook
from pancake.course.sources import has_broken_code, starter_source
from pancake.course.spec import Assignment

SOURCE_DIRECTORY = "solutions"
RELEASE_DIRECTORY = "exercises"


def write_source(assignment: Assignment, root: Path) -> Path:
    """Write the source notebook of ``assignment`` under ``root/solutions``; return its path."""
    path = root / SOURCE_DIRECTORY / assignment.name / f"{assignment.name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(build_notebook(assignment), path)
    return path


def run_nbgrader(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``nbgrader <args>`` with this interpreter; raise if it fails.

    nbgrader runs helper programs (``alembic``) found on PATH, so the interpreter's own
    ``bin`` folder goes first on PATH: the venv works without being activated.
    """
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, check=True)


def release(root: Path, name: str = "*") -> None:
    """Run ``nbgrader generate_assignment`` on the course at ``root``: one assignment, or all."""
    run_nbgrader(
        "generate_assignment",
        name,
        "--force",
        "--log-level=WARN",
        f"--CourseDirectory.root={root}",
        f"--CourseDirectory.source_directory={SOURCE_DIRECTORY}",
        f"--CourseDirectory.release_directory={RELEASE_DIRECTORY}",
        f"--CourseDirectory.db_url=sqlite:///{root / 'gradebook.db'}",
    )


def show_broken_code(assignment: Assignment, root: Path) -> None:
    """In the released notebook of ``assignment``, show starter code where it has some."""
    starters = {
        f"{part.slug}-answer": starter_source(part.resolve())
        for part in assignment.parts
        if has_broken_code(part.resolve())
    }
    if not starters:
        return
    path = root / RELEASE_DIRECTORY / assignment.name / f"{assignment.name}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        cell.source = starters.get(cell.id, cell.source)
    nbformat.write(notebook, path)


def generate(root: Path, names: list[str] | None = None) -> list[Assignment]:
    """Write and release every assignment (or those named) of the course at ``root``."""
    known = {assignment.name: assignment for assignment in ASSIGNMENTS}
    unknown = sorted(set(names or ()) - known.keys())
    if unknown:
        raise SystemExit(f"unknown assignments {unknown}; known: {sorted(known)}")
    chosen = [known[name] for name in names] if names else ASSIGNMENTS
    for assignment in chosen:
        write_source(assignment, root)
    for name in names or ["*"]:  # one nbgrader run for all: it starts slowly
        release(root, name)
    for assignment in chosen:
        show_broken_code(assignment, root)
    return chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="assignments to regenerate (default: all)")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: .)")
    args = parser.parse_args(argv)
    for assignment in generate(args.root.resolve(), args.names or None):
        print(f"{assignment.name}: {assignment.points} points")
    optimizer_trajectories.main()


if __name__ == "__main__":
    main()
