"""The learner's side of the course: save answers into your own pancake, and see where you stand.

In the learner edition (``pancake-course release``), ``pancake/course/exercises.json``
lists the exercises: for each part, the pancake object it writes (its *target*, e.g.
``pancake.nn.linear.Linear``), the imports of its notebook's setup cell, and its visible
check. Three commands use it:

- ``pancake-course save NOTEBOOK``: copies the notebook's answer cells into the package,
  each replacing the definition of its target in its module (the previous version is
  kept, and ``pancake-course restore`` puts it back);
- ``pancake-course status``: a table of the exercises, each part a stub, written but
  failing its visible check (with the checker's hint), blocked by another exercise's
  stub, or passing;
- ``pytest -m exNN`` runs the same visible checks, one exercise at a time.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the pancake/ folder this module is in
EDITION_ROOT = PACKAGE_ROOT.parent
MANIFEST = Path(__file__).with_name("exercises.json")
HISTORY = EDITION_ROOT / ".pancake-course" / "history"
CHECK_TIMEOUT = 120  # seconds per visible check: a loop that never ends is reported, not waited on
STUB_EXERCISE = re.compile(r"\bExercise (\d+)\b")


class CourseError(Exception):
    """A mistake in a command's input; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class PublicPart:
    """One answer of an exercise: its ``target``, its notebook's ``setup`` imports, its ``check``.

    ``released`` tells the code the release wrote (a stub, or the course's code) from the
    learner's own.
    """

    target: str
    setup: str
    check: str
    released: str = ""  # definition_digest of the target as the release wrote it

    @property
    def module(self) -> str:
        """``"pancake.nn.linear"`` for the target ``"pancake.nn.linear.Linear"``."""
        return self.target.rsplit(".", 1)[0]

    @property
    def name(self) -> str:
        """``"Linear"`` for the target ``"pancake.nn.linear.Linear"``."""
        return self.target.rsplit(".", 1)[1]


@dataclass(frozen=True)
class Exercise:
    """An exercise as the learner edition knows it: no graded test, no answer."""

    number: int
    name: str
    title: str
    notebook: str
    parts: tuple[PublicPart, ...]

    @property
    def marker(self) -> str:
        """The pytest marker of its checks: ``pytest -m ex03``."""
        return f"ex{self.number:02d}"


def load_exercises(manifest: Path = MANIFEST) -> list[Exercise]:
    """The exercises listed in the edition's ``exercises.json``, in course order."""
    if not manifest.exists():
        raise CourseError(
            f"{manifest} is missing: save and status run in a learner edition "
            "(written by `pancake-course release`)"
        )
    entries = json.loads(manifest.read_text())["exercises"]
    return [
        Exercise(
            number=entry["number"],
            name=entry["name"],
            title=entry["title"],
            notebook=entry["notebook"],
            parts=tuple(PublicPart(**part) for part in entry["parts"]),
        )
        for entry in entries
    ]


# -- where a definition lives ------------------------------------------------------------


def module_file(module: str, package_root: Path = PACKAGE_ROOT) -> Path:
    """The file of a pancake module: ``pancake.nn.linear`` -> ``<package_root>/nn/linear.py``."""
    parts = module.split(".")[1:]
    path = package_root.joinpath(*parts)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def definition_span(tree: ast.Module, name: str) -> tuple[int, int] | None:
    """First and last line (1-based, decorators included) of the top-level ``def``/``class`` ``name``."""
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.ClassDef)) and statement.name == name:
            first = min([statement.lineno] + [d.lineno for d in statement.decorator_list])
            return first, statement.end_lineno
    return None


def definition_digest(text: str, name: str) -> str:
    """A short hash of the top-level definition of ``name`` in the module source ``text``."""
    span = definition_span(ast.parse(text), name)
    lines = text.splitlines()[span[0] - 1 : span[1]] if span else []
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def raises_not_implemented(node: ast.AST) -> bool:
    """True if ``node`` holds a ``raise NotImplementedError`` (a stub still to write)."""
    for raised in ast.walk(node):
        if isinstance(raised, ast.Raise) and raised.exc is not None:
            exc = raised.exc.func if isinstance(raised.exc, ast.Call) else raised.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                return True
    return False


# -- save and restore ----------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerCell:
    """An answer cell of a notebook: its position, id, target and source."""

    index: int
    cell_id: str
    target: str
    source: str

    def describe(self) -> str:
        return f"cell {self.index + 1} ({self.cell_id!r}, writes {self.target})"


def answer_cells(notebook: Path) -> list[AnswerCell]:
    """The cells of ``notebook`` that name a target (``metadata.pancake.source``), in order."""
    try:
        cells = json.loads(notebook.read_text())["cells"]
    except (OSError, ValueError, KeyError) as error:
        raise CourseError(f"{notebook}: not a readable notebook ({error})") from error
    return [
        AnswerCell(
            index=index,
            cell_id=cell.get("id", ""),
            target=cell["metadata"]["pancake"]["source"],
            source="".join(cell["source"]),
        )
        for index, cell in enumerate(cells)
        if "source" in cell.get("metadata", {}).get("pancake", {})
    ]


def exercise_of(notebook: Path, cells: list[AnswerCell], exercises: list[Exercise]) -> Exercise:
    """The exercise a notebook belongs to: named by its file, confirmed by its answer cells."""
    by_name = {exercise.name: exercise for exercise in exercises}
    exercise = by_name.get(notebook.stem)
    if exercise is None:
        raise CourseError(
            f"{notebook.name} is not an exercise notebook of this course "
            f"(known: {', '.join(by_name)}); keep the notebook's name"
        )
    targets = {part.target for part in exercise.parts}
    for cell in cells:
        if cell.target not in targets:
            owner = next(
                (e.name for e in exercises if cell.target in {p.target for p in e.parts}), None
            )
            where = f"exercise {owner}" if owner else "no exercise of this course"
            raise CourseError(
                f"{notebook.name}, {cell.describe()}: {cell.target} belongs to {where}, "
                f"not to {exercise.name}; save each notebook under its own name"
            )
    if not cells:
        raise CourseError(f"{notebook.name} has no answer cells (cells naming their target)")
    return exercise


def answer_definition(cell: AnswerCell, notebook: Path) -> str | None:
    """The cell's definition of its target, ready to paste into the module; None for a stub.

    The cell must parse and hold exactly one top-level statement: the ``def`` or
    ``class`` of its target's name.
    """
    name = cell.target.rsplit(".", 1)[1]
    where = f"{notebook.name}, {cell.describe()}"
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as error:
        raise CourseError(f"{where} does not parse: line {error.lineno}: {error.msg}") from error
    defined = [s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.ClassDef))]
    if [s.name for s in defined] != [name] or len(tree.body) != 1:
        found = ", ".join(getattr(s, "name", type(s).__name__) for s in tree.body) or "nothing"
        raise CourseError(
            f"{where} must define `{name}` and nothing else (found: {found}); "
            "put helpers inside it, imports inside its functions"
        )
    if raises_not_implemented(tree):
        return None
    return cell.source.strip("\n") + "\n"


def replace_definition(text: str, name: str, definition: str, path: Path) -> str:
    """``text`` (a module's source) with its top-level definition of ``name`` replaced."""
    span = definition_span(ast.parse(text), name)
    if span is None:
        raise CourseError(f"{path} has no top-level definition of `{name}` to replace")
    lines = text.splitlines(keepends=True)
    first, last = span
    return "".join(lines[: first - 1]) + definition + "".join(lines[last:])


def save(
    notebook: Path,
    *,
    exercises: list[Exercise] | None = None,
    package_root: Path = PACKAGE_ROOT,
    history: Path = HISTORY,
) -> list[str]:
    """Write the answers of ``notebook`` into the package; return one line per answer cell.

    Every cell is checked before any file is written: on an error nothing changes. The
    files as they were go to ``history`` first, for ``restore``.
    """
    exercises = load_exercises() if exercises is None else exercises
    if not (package_root.parent / "pyproject.toml").exists():
        raise CourseError(
            f"{package_root} is not in a learner edition's folder: install the edition with "
            "`pip install -e DIR` (editable), so that save writes into your own copy"
        )
    notebook = Path(notebook)
    cells = answer_cells(notebook)
    exercise = exercise_of(notebook, cells, exercises)
    new_texts: dict[Path, str] = {}
    report = []
    for cell in cells:
        definition = answer_definition(cell, notebook)
        module, name = cell.target.rsplit(".", 1)
        path = module_file(module, package_root)
        if definition is None:
            report.append(f"skipped {cell.target}: its cell still raises NotImplementedError")
            continue
        text = new_texts.get(path) or path.read_text()
        new_texts[path] = replace_definition(text, name, definition, path)
        report.append(f"saved {cell.target} into {path}")
    for path, text in new_texts.items():
        try:
            compile(text, str(path), "exec")
        except SyntaxError as error:
            raise CourseError(f"{path} would not compile after saving: {error}") from error
    if new_texts:
        kept = snapshot(exercise, list(new_texts), package_root, history)
        for path, text in new_texts.items():
            path.write_text(text)
        failure = import_failure(sorted({c.target.rsplit(".", 1)[0] for c in cells}), package_root)
        if failure:
            put_back(kept, package_root)
            raise CourseError(
                f"{notebook.name}: not saved, with these answers your package would not "
                f"import: {failure}"
            )
    return report


def import_failure(modules: list[str], package_root: Path) -> str:
    """The last line of the error of importing ``modules`` in a fresh interpreter, or ""."""
    path = os.pathsep.join([str(package_root.parent), os.environ.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", f"import {', '.join(modules)}"],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
    )
    return result.stderr.strip().splitlines()[-1] if result.returncode else ""


def snapshot(exercise: Exercise, paths: list[Path], package_root: Path, history: Path) -> Path:
    """Copy ``paths`` (files of the package) into a new numbered folder of ``history``."""
    number = len(list(history.glob("*"))) + 1 if history.exists() else 1
    folder = history / f"{number:04d}-{exercise.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    for path in paths:
        kept = folder / path.relative_to(package_root)
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, kept)
    return folder


def restore(*, package_root: Path = PACKAGE_ROOT, history: Path = HISTORY) -> list[str]:
    """Undo the last ``save``: put back the files it changed; return one line per file."""
    saves = sorted(history.glob("*")) if history.exists() else []
    if not saves:
        raise CourseError("nothing to restore: no `pancake-course save` has been run here")
    return put_back(saves[-1], package_root)


def put_back(kept: Path, package_root: Path) -> list[str]:
    """Copy the files of the snapshot ``kept`` back into the package, then delete it."""
    restored = []
    for copy in sorted(p for p in kept.rglob("*") if p.is_file()):
        path = package_root / copy.relative_to(kept)
        shutil.copy2(copy, path)
        restored.append(f"restored {path} as it was before save {kept.name}")
    shutil.rmtree(kept)
    return restored


# -- visible checks and status ------------------------------------------------------------


@dataclass(frozen=True)
class PartStatus:
    """Where one part stands: ``state`` is stub, blocked, failing or passing."""

    exercise: Exercise
    part: PublicPart
    state: str
    detail: str = ""


def run_public_check(exercise: Exercise, part: PublicPart) -> str:
    """Run the visible check of ``part`` on the installed package; return what it printed.

    The namespace is the notebook's: each part's setup imports and target up to this
    one, then the check. Raises whatever the check raises.
    """
    namespace: dict = {}
    parts = exercise.parts[: exercise.parts.index(part) + 1]
    output = io.StringIO()
    with contextlib.redirect_stdout(output), time_limit(CHECK_TIMEOUT):
        for earlier in parts:
            exec(earlier.setup, namespace)
            exec(f"from {earlier.module} import {earlier.name}", namespace)
        exec(part.check, namespace)
    return output.getvalue()


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise TimeoutError in the block after ``seconds`` (where SIGALRM exists)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def stop(signum, frame):
        raise TimeoutError(f"the check ran for more than {seconds} s: an endless loop?")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def part_status(
    exercise: Exercise, part: PublicPart, package_root: Path = PACKAGE_ROOT
) -> PartStatus:
    """Read the part's definition in the package, then run its visible check."""
    path = module_file(part.module, package_root)
    definitions = [
        statement
        for statement in ast.parse(path.read_text()).body
        if isinstance(statement, (ast.FunctionDef, ast.ClassDef)) and statement.name == part.name
    ]
    if not definitions:
        return PartStatus(exercise, part, "failing", f"{path} has no definition of {part.name}")
    if raises_not_implemented(definitions[0]):
        return PartStatus(exercise, part, "stub", f"write it in {Path(exercise.notebook).name}")
    try:
        run_public_check(exercise, part)
    except NotImplementedError as error:
        blocker = STUB_EXERCISE.search(str(error))
        if blocker:  # the check met the stub of another part
            number = int(blocker.group(1))
            needed = "another part" if number == exercise.number else f"exercise {number}"
            return PartStatus(exercise, part, "blocked", f"needs {needed} first")
        return PartStatus(exercise, part, "failing", first_line(error))
    except Exception as error:  # the check's verdict, whatever the learner's code raised
        hint = getattr(error, "hint", "") or first_line(error)
        return PartStatus(exercise, part, "failing", hint)
    given = definition_digest(path.read_text(), part.name) == part.released
    return PartStatus(exercise, part, "passing", "the course's code, as released" if given else "")


def first_line(error: BaseException) -> str:
    """``"TypeName: first line of the message"``."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def status(exercises: list[Exercise] | None = None) -> list[PartStatus]:
    """The status of every part of every exercise, on the installed package."""
    exercises = load_exercises() if exercises is None else exercises
    return [part_status(exercise, part) for exercise in exercises for part in exercise.parts]


def status_table(rows: list[PartStatus], width: int = 72) -> str:
    """The rows as an aligned table (details cut at ``width``), then each failing part's hint."""
    table = [("exercise", "part", "status", "detail")]
    for row in rows:
        detail = row.detail if len(row.detail) <= width else row.detail[: width - 3] + "..."
        table.append((row.exercise.name, row.part.name, row.state, detail))
    widths = [max(len(line[column]) for line in table) for column in range(3)]
    lines = [
        (
            "  ".join(cell.ljust(size) for cell, size in zip(line[:3], widths, strict=True))
            + "  "
            + line[3]
        ).rstrip()
        for line in table
    ]
    failing = [row for row in rows if row.state == "failing"]
    if failing:
        lines += ["", "failing (the checker's hint):"]
        lines += [f"  {row.exercise.name} {row.part.name}: {row.detail}" for row in failing]
    return "\n".join(lines)
