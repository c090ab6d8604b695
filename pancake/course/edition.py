"""Write the learner edition: ``pancake-course release DIR [--through N]`` (``make learner``).

The learner edition is a project a learner installs with ``pip install -e DIR``:

- ``pancake/``: the package, in which every SOLUTION region of the exercises after N is
  a stub raising ``NotImplementedError`` that names its exercise, notebook and chapter
  (the regions of exercises 1..N keep the reference code, without their markers);
  ``pancake/course/`` holds only the learner's commands and ``exercises.json``;
- ``exercises/``: the released notebooks, without outputs;
- ``tests/``: the public checks (the notebooks' visible checks), ``pytest -m exNN``;
- ``README.md``, ``pyproject.toml``, ``.gitignore``.

Nothing else of this repository: no ``solutions/``, no specs or graded tests, no
gradebook, no book sources, no ``.pyc``, no git history. Everything is built in memory
and checked first (balanced markers, every region inside an exercise's target, every
stubbed file compiles, no line of a withheld answer or of a graded test anywhere); on an
error nothing is written.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import shutil
import tempfile
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from string import Template

from pancake.course.assignments import ASSIGNMENTS
from pancake.course.learner import CourseError, definition_digest, definition_span, module_file
from pancake.course.optimizer_trajectories import RECORDED_STEPS, public_module_text
from pancake.course.sources import BEGIN, BROKEN, END, check_source, setup_source
from pancake.course.spec import Assignment

REPOSITORY = Path(__file__).resolve().parents[2]
PACKAGE = "pancake"
LEARNER_FILES = Path(__file__).with_name("learner_files")
# pancake/course/ is the instructor's (specs, graded tests, generator) except these.
LEARNER_COURSE_MODULES = ("__init__.py", "cli.py", "learner.py")
RELEASED_DIRECTORY = "exercises"
MANIFEST = f"{PACKAGE}/course/exercises.json"
COMMENT = re.compile(r"\s+#[^'\"]*$")
TRIVIAL_LENGTH = 8  # normalised answer lines shorter than this (`return x`) say nothing


@dataclass(frozen=True)
class Region:
    """The lines between (and including) a ``### BEGIN SOLUTION`` / ``### END SOLUTION`` pair."""

    path: str  # relative to the repository, e.g. "pancake/nn/linear.py"
    first: int  # 1-based line of the BEGIN marker
    last: int  # 1-based line of the END marker
    indent: str
    body: tuple[str, ...]

    def where(self) -> str:
        return f"{self.path}:{self.first}"


def solution_regions(path: str, text: str) -> list[Region]:
    """The SOLUTION regions of one file; an unbalanced or nested marker raises CourseError."""
    regions, opened = [], None
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        marker = line.strip()
        if marker == BEGIN:
            if opened is not None:
                raise CourseError(
                    f"{path}:{number}: `{BEGIN}` inside the region opened at line {opened}"
                )
            opened = number
        elif marker == END:
            if opened is None:
                raise CourseError(f"{path}:{number}: `{END}` without a `{BEGIN}` before it")
            indent = lines[opened - 1][: len(lines[opened - 1]) - len(lines[opened - 1].lstrip())]
            body = tuple(lines[opened : number - 1])
            regions.append(Region(path, opened, number, indent, body))
            opened = None
    if opened is not None:
        raise CourseError(f"{path}:{opened}: `{BEGIN}` is never closed by `{END}`")
    return regions


def normalised(line: str) -> str:
    """A code line compared for leaks: stripped, its comment dropped."""
    stripped = line.strip()
    return "" if stripped.startswith("#") else COMMENT.sub("", stripped)


# -- which exercise owns each region ----------------------------------------------------


def target_span(target: str, assignment: Assignment, root: Path) -> tuple[str, int, int]:
    """(file relative to ``root``, first line, last line) of a part's target."""
    module, name = target.rsplit(".", 1)
    path = module_file(module, root / PACKAGE)
    if not module.startswith(f"{PACKAGE}.") or not path.exists():
        raise CourseError(f"exercise {assignment.name}: target {target}: no module {module}")
    span = definition_span(ast.parse(path.read_text()), name)
    if span is None:
        raise CourseError(
            f"exercise {assignment.name}: target {target} no longer exists "
            f"(no top-level def or class {name} in {path.relative_to(root)})"
        )
    return str(path.relative_to(root)), *span


def owners(regions: list[Region], assignments: list[Assignment], root: Path) -> dict:
    """Region -> the assignment whose part's target contains it; an orphan raises CourseError."""
    spans = [
        (target_span(part.target, assignment, root), assignment)
        for assignment in assignments
        for part in assignment.parts
    ]
    owned = {}
    for region in regions:
        found = [
            assignment
            for (path, first, last), assignment in spans
            # the END marker may follow the definition's last statement
            if path == region.path and first <= region.first <= last
        ]
        if not found:
            raise CourseError(
                f"{region.where()}: a SOLUTION region inside no exercise's target; "
                "add its object to an assignment's parts or remove the markers"
            )
        owned[region] = found[0]
    return owned


# -- the stubs ------------------------------------------------------------------------------


def notebook_path(assignment: Assignment) -> str:
    """``exercises/03-linear/03-linear.ipynb``."""
    return f"{RELEASED_DIRECTORY}/{assignment.name}/{assignment.name}.ipynb"


def stub_lines(assignment: Assignment, indent: str) -> list[str]:
    """``raise NotImplementedError(...)`` naming the exercise, its notebook and its chapter."""
    notebook = notebook_path(assignment)
    message = (
        f"Exercise {assignment.number} ({assignment.title}, chapter {assignment.number} "
        f"of the book) is yours to write: complete {notebook}, then run "
        f"`pancake-course save {notebook}`"
    )
    pieces = textwrap.wrap(message, 64, drop_whitespace=False)
    return [
        f"{indent}raise NotImplementedError(",
        *(f"{indent}    {json.dumps(piece)}" for piece in pieces),
        f"{indent})",
    ]


def reference_part(region: Region) -> list[str]:
    """The region's reference code: its body up to a ``### BROKEN`` line, if it has one.

    (A debugging exercise keeps, after that line, the broken code its notebook starts from.)
    """
    body = list(region.body)
    marker = f"{region.indent}{BROKEN}"
    return body[: body.index(marker)] if marker in body else body


def released_source(text: str, regions: list[Region], owned, through: int) -> str:
    """``text`` with each region of an exercise after ``through`` stubbed, and markers removed."""
    lines = text.splitlines()
    for region in sorted(regions, key=lambda r: r.first, reverse=True):
        assignment = owned[region]
        kept = (
            reference_part(region)
            if assignment.number <= through
            else stub_lines(assignment, region.indent)
        )
        lines[region.first - 1 : region.last] = kept
    return "\n".join(lines) + "\n"


# -- what the edition holds ----------------------------------------------------------------


def package_files(root: Path) -> Iterable[Path]:
    """The package's Python files that the edition ships (no cache, no instructor modules)."""
    course = root / PACKAGE / "course"
    for path in sorted((root / PACKAGE).rglob("*.py")):
        if path.parent == course and path.name in LEARNER_COURSE_MODULES:
            yield path
        elif course not in path.parents:
            yield path


def manifest(assignments: list[Assignment], through: int, files: dict[str, str], root: Path) -> str:
    """``exercises.json``: per exercise its notebook and, per part, target, setup and check.

    ``files`` are the edition's package files (paths relative to ``root``), for the digest
    of each target as released.
    """
    exercises = []
    for assignment in assignments:
        parts = []
        for number, part in enumerate(assignment.parts):
            answered = [earlier.name for earlier in assignment.parts[:number]]
            module, name = part.target.rsplit(".", 1)
            path = module_file(module, root / PACKAGE).relative_to(root).as_posix()
            parts.append(
                {
                    "target": part.target,
                    "setup": setup_source(part.resolve(), answered),
                    "check": check_source(part.check, [*answered, part.name]),
                    "released": definition_digest(files[path], name),
                }
            )
        exercises.append(
            {
                "number": assignment.number,
                "name": assignment.name,
                "title": assignment.title,
                "notebook": notebook_path(assignment),
                "parts": parts,
            }
        )
    return json.dumps({"through": through, "exercises": exercises}, indent=1) + "\n"


def released_notebook(path: Path) -> str:
    """A released notebook without outputs or execution counts."""
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def pyproject(assignments: list[Assignment]) -> str:
    """The learner edition's ``pyproject.toml``: the same runtime dependencies, one marker per exercise."""
    requirements = [
        requirement.split(";")[0].strip()
        for requirement in metadata.requires(PACKAGE) or []
        if "extra ==" not in requirement
    ]
    markers = [f'    "ex{a.number:02d}: exercise {a.number}, {a.title}",' for a in assignments]
    return Template((LEARNER_FILES / "pyproject.toml.in").read_text()).substitute(
        version=metadata.version(PACKAGE),
        dependencies="\n".join(f'    "{requirement}",' for requirement in requirements),
        markers="\n".join(markers),
    )


def readme(assignments: list[Assignment], through: int) -> str:
    """The learner README: install, open, check, save, submit; which exercises are yours."""
    rows = [
        f"| {a.number} | {a.title} | `{notebook_path(a)}` | "
        f"{'filled in for you' if a.number <= through else 'yours to write'} |"
        for a in assignments
    ]
    return Template((LEARNER_FILES / "README.md.in").read_text()).substitute(
        exercises="\n".join(rows)
    )


def edition_files(root: Path, assignments: list[Assignment], through: int) -> dict[str, str]:
    """Every file of the edition, relative path -> text, checked; raises CourseError."""
    last = max(a.number for a in assignments)
    if not 0 <= through <= last:
        raise CourseError(f"--through {through}: choose 0 (every exercise a stub) to {last}")
    sources = {str(path.relative_to(root)): path.read_text() for path in package_files(root)}
    regions = {path: solution_regions(path, text) for path, text in sources.items()}
    owned = owners([r for found in regions.values() for r in found], assignments, root)
    files = {
        path: released_source(text, regions[path], owned, through) if regions[path] else text
        for path, text in sources.items()
    }
    files[RECORDED_STEPS] = public_module_text()
    check_compiles(files)
    files[MANIFEST] = manifest(assignments, through, files, root)
    for assignment in assignments:
        released = root / notebook_path(assignment)
        if not released.exists():
            raise CourseError(f"{released} is missing: run `make exercises` first")
        files[notebook_path(assignment)] = released_notebook(released)
    files["tests/test_public_checks.py"] = (LEARNER_FILES / "test_public_checks.py").read_text()
    files["README.md"] = readme(assignments, through)
    files["pyproject.toml"] = pyproject(assignments)
    files[".gitignore"] = "__pycache__/\n*.egg-info/\n.pancake-course/\n.ipynb_checkpoints/\n"
    withheld = withheld_lines(sources, regions, owned, through)
    check_no_answers(files, withheld | graded_lines(assignments, files))
    return files


def withheld_lines(sources: dict[str, str], regions, owned, through: int) -> set[str]:
    """Normalised answer lines of the exercises after ``through`` that appear nowhere public.

    Public: the package outside every SOLUTION region, and the regions kept (1..N).
    """
    public, withheld = set(), set()
    for path, text in sources.items():
        lines = text.splitlines()
        inside = {n for r in regions[path] for n in range(r.first, r.last + 1)}
        public.update(normalised(line) for n, line in enumerate(lines, 1) if n not in inside)
        for region in regions[path]:
            kept = public if owned[region].number <= through else withheld
            kept.update(normalised(line) for line in region.body)
    return {line for line in withheld - public if len(line) >= TRIVIAL_LENGTH}


def graded_lines(assignments: list[Assignment], files: dict[str, str]) -> set[str]:
    """Normalised lines of the graded tests that appear nowhere in the edition's package.

    (A test line such as ``check_gradients(layer, x)`` that the package or a visible check
    also writes gives nothing away.)
    """
    parts = [part for assignment in assignments for part in assignment.parts]
    package = [text for path, text in files.items() if path.endswith(".py")]
    checks = [inspect.getsource(part.check) for part in parts]
    tests = [inspect.getsource(test.function) for part in parts for test in part.tests]
    public = {normalised(line) for text in package + checks for line in text.splitlines()}
    graded = {normalised(line) for text in tests for line in text.splitlines()}
    return {line for line in graded - public if len(line) >= TRIVIAL_LENGTH}


def check_no_answers(files: dict[str, str], withheld: set[str]) -> None:
    """Raise CourseError if a line of a withheld answer is in any file (notebooks: cell sources)."""
    for path, text in files.items():
        lines = text.splitlines()
        if path.endswith(".ipynb"):
            cells = json.loads(text)["cells"]
            lines = [line for cell in cells for line in "".join(cell["source"]).splitlines()]
        leaked = sorted({normalised(line) for line in lines} & withheld)
        if leaked:
            raise CourseError(
                f"{path} would give away an answer or a graded test: {leaked[0]!r} (a dirty stub)"
            )


def check_compiles(files: dict[str, str]) -> None:
    """Raise CourseError if a stubbed Python file does not compile."""
    for path, text in files.items():
        if path.endswith(".py"):
            try:
                compile(text, path, "exec")
            except SyntaxError as error:
                raise CourseError(f"{path} does not compile once stubbed: {error}") from error


def release(
    directory: Path,
    *,
    through: int = 0,
    force: bool = False,
    root: Path = REPOSITORY,
    assignments: list[Assignment] | None = None,
) -> dict[str, str]:
    """Write the learner edition into ``directory`` (new or empty; ``force`` replaces it).

    Returns the files written (relative path -> text). The edition is written into a
    temporary folder beside ``directory`` and moved into place only when complete;
    ``force`` replaces only a folder that holds an edition.
    """
    directory = Path(directory).resolve()
    if directory.exists() and any(directory.iterdir()):
        if not force:
            raise CourseError(
                f"{directory} is not empty: choose a new folder, or --force to replace it"
            )
        if not (directory / MANIFEST).exists():
            raise CourseError(f"{directory}: --force replaces a learner edition only, not this")
    files = edition_files(root, ASSIGNMENTS if assignments is None else assignments, through)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        for path, text in files.items():
            (staging / path).parent.mkdir(parents=True, exist_ok=True)
            (staging / path).write_text(text)
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return files
