"""The package a submission is graded against: pancake without the answers it is asked for.

Assignment N is graded against an edition of pancake in which the SOLUTION regions of
assignments N and later are stubs (``raise NotImplementedError``) and the specs with the
hidden tests (``pancake/course/assignments``) are left out: an answer cell that imports
pancake's own ``Sigmoid`` gets a stub. Earlier answers keep the reference code, so a bug
in exercise 3 never costs points in exercise 5.

``grading_environment`` is the one place that decides what this edition is: when the
learner edition (``pancake-course release DIR --through N-1``) is available it can build
it instead, and nothing else changes.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import shutil
from collections import defaultdict
from pathlib import Path

import pancake
from pancake.course.spec import Assignment

SOLUTION_REGION = re.compile(
    r"^(?P<indent> *)### BEGIN SOLUTION\n.*?^ *### END SOLUTION\n", re.MULTILINE | re.DOTALL
)
LEFT_OUT = ("course/assignments", "__pycache__")


def grading_environment(assignment: Assignment, assignments: list[Assignment], cache: Path) -> Path:
    """A folder holding the ``pancake`` package to grade ``assignment`` with: put it on sys.path.

    Built once per package version and assignment under ``cache`` (a folder of the
    course that learners never see); returns the folder that holds ``pancake/``.
    """
    stubbed = [later for later in assignments if later.number >= assignment.number]
    package = Path(pancake.__file__).parent
    folder = cache / f"{assignment.name}-{_fingerprint(package)}"
    if not (folder / "pancake" / "__init__.py").exists():
        staging = folder.with_name(folder.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(package, staging / "pancake", ignore=_left_out(package))
        for path, lines in _regions_to_stub(stubbed).items():
            copy = staging / "pancake" / path.relative_to(package)
            copy.write_text(stub_regions(path.read_text(), lines, _stub_message(path, stubbed)))
        staging.rename(folder)
    return folder


def stub_regions(source: str, lines: set[int], message: str) -> str:
    """``source`` with each SOLUTION region that starts on one of ``lines`` (1-based) stubbed."""

    def stub(match: re.Match) -> str:
        line = source.count("\n", 0, match.start()) + 1
        if line not in lines:
            return match.group(0)
        return f"{match.group('indent')}raise NotImplementedError({message!r})\n"

    return SOLUTION_REGION.sub(stub, source)


def _regions_to_stub(assignments: list[Assignment]) -> dict[Path, set[int]]:
    """Source file -> the line numbers of every line of the targets of ``assignments``."""
    lines: dict[Path, set[int]] = defaultdict(set)
    for assignment in assignments:
        for part in assignment.parts:
            target = part.resolve()
            body, first = inspect.getsourcelines(target)
            lines[Path(inspect.getsourcefile(target))].update(range(first, first + len(body)))
    return lines


def _stub_message(path: Path, assignments: list[Assignment]) -> str:
    names = ", ".join(a.name for a in assignments if any(_in(path, p) for p in a.parts))
    return f"not in the grading environment: this is an answer of exercise {names}"


def _in(path: Path, part) -> bool:
    return Path(inspect.getsourcefile(part.resolve())) == path


def _left_out(package: Path):
    def ignore(folder: str, names: list[str]) -> list[str]:
        relative = Path(folder).relative_to(package)
        return [
            name for name in names if (relative / name).as_posix() in LEFT_OUT or name in LEFT_OUT
        ]

    return ignore


def _fingerprint(package: Path) -> str:
    """A short hash of every ``.py`` file of the package: a changed answer makes a new edition."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
