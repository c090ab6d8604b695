"""The package a part is graded against: pancake without the answers that part asks for.

Part P of assignment N is graded against a copy of pancake in which the SOLUTION regions
of that part, the later parts of N and every later assignment are stubs (the learner
edition's stubs, ``pancake.course.edition``), and ``pancake/course`` (specs, hidden tests,
the generator) is left out. An answer cell that imports pancake's own ``Sigmoid`` gets a
stub. Earlier answers keep the reference code, so a bug in exercise 3 never costs points
in exercise 5, and the tests of ``serial`` build on pancake's own ``Dense`` (part 1 of the
same assignment) whatever the learner's part 1 does.

The learner edition (``pancake-course release DIR --through N-1``) stubs whole
assignments; grading needs this finer cut, with the edition's own region and stub code.
"""

from __future__ import annotations

import hashlib
import shutil
from collections import defaultdict
from pathlib import Path

import pancake
from pancake.course.edition import solution_regions, stub_lines, target_span
from pancake.course.optimizer_trajectories import RECORDED_STEPS, public_module_text
from pancake.course.spec import Assignment

LEFT_OUT = ("course", "__pycache__")  # folders of the package the sandbox never sees


def grading_environment(
    assignment: Assignment, part: int, assignments: list[Assignment], cache: Path
) -> Path:
    """A folder holding the ``pancake`` to grade part ``part`` (0-based) of ``assignment`` with.

    Built once per package version and part under ``cache`` (a folder of the course that
    learners never see); put the returned folder first on ``sys.path``.
    """
    package = Path(pancake.__file__).parent
    stubbed = [
        (later, each)
        for later in assignments
        for number, each in enumerate(later.parts)
        if later.number > assignment.number or (later is assignment and number >= part)
    ]
    folder = cache / f"{assignment.name}-part{part + 1}-{_fingerprint(package)}"
    if not (folder / "pancake" / "__init__.py").exists():
        staging = folder.with_name(folder.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(package, staging / "pancake", ignore=shutil.ignore_patterns(*LEFT_OUT))
        root = package.parent
        for path, text in stubbed_files(stubbed, root).items():
            (staging / path).write_text(text)
        (staging / RECORDED_STEPS).write_text(public_module_text())  # the grader sends the rest
        staging.rename(folder)
    return folder


def stubbed_files(stubbed: list[tuple[Assignment, object]], root: Path) -> dict[str, str]:
    """File (relative to ``root``) -> its text with the regions of the ``stubbed`` parts stubbed."""
    spans = defaultdict(list)
    for assignment, part in stubbed:
        path, first, last = target_span(part.target, assignment, root)
        spans[path].append((first, last, assignment))
    files = {}
    for path, owners in spans.items():
        text = (root / path).read_text()
        lines = text.splitlines()
        for region in sorted(solution_regions(path, text), key=lambda r: r.first, reverse=True):
            owner = [a for first, last, a in owners if first <= region.first <= last]
            if owner:
                lines[region.first - 1 : region.last] = stub_lines(owner[0], region.indent)
        files[path] = "\n".join(lines) + "\n"
    return files


def _fingerprint(package: Path) -> str:
    """A short hash of the package's ``.py`` files that the copy holds: a changed answer or
    check makes a new copy (the course's own files do not)."""
    digest = hashlib.sha256()
    copied = (p for p in package.rglob("*.py") if LEFT_OUT[0] not in p.relative_to(package).parts)
    for path in sorted(copied):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
