"""From a submitted notebook to sandbox jobs, and from their outcomes back to cell outputs.

The instructor's source notebook is the template: every cell of it, in its order, with
the learner's answer cells put in by grade id. So a deleted, moved, edited or copied
read-only cell changes nothing; only answer cells come from the learner.

Each part is one job: the setup and answer cells up to the part's graded tests, then the
tests. Visible checks and other free cells are the learner's own business: never run.
"""

from __future__ import annotations

import copy

import nbformat

MISSING_ANSWER = "raise NotImplementedError('this answer cell is missing from the submission')"


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_answer(cell: nbformat.NotebookNode) -> bool:
    return cell.metadata.get("nbgrader", {}).get("solution", False) is True


def is_graded_test(cell: nbformat.NotebookNode) -> bool:
    nbgrader = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and nbgrader.get("grade") is True and not is_answer(cell)


def is_setup(cell: nbformat.NotebookNode) -> bool:
    nbgrader = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and nbgrader.get("locked") is True and not nbgrader.get("grade")


def rebuild(
    source: nbformat.NotebookNode, submitted: nbformat.NotebookNode
) -> nbformat.NotebookNode:
    """``source`` with each answer cell's code taken from ``submitted`` (first cell of its id)."""
    answers: dict[str, str] = {}
    for cell in submitted.cells:
        if cell.get("cell_type") == "code" and isinstance(cell.get("metadata"), dict):
            answers.setdefault(grade_id(cell), cell.get("source", ""))
    notebook = copy.deepcopy(source)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if is_answer(cell):
            cell.source = answers.get(grade_id(cell), MISSING_ANSWER)
    return notebook


def jobs(notebook: nbformat.NotebookNode) -> list[dict]:
    """One job per part: the setup and answer cells up to its graded tests, and the tests.

    ``targets`` are the pancake objects the part's own answer cells write (the
    generator's ``pancake.source`` metadata), ``answer_ids`` those cells; ``answers`` their
    names, which must not be pancake's own objects.
    """
    found: list[dict] = []
    cells: list[dict] = []
    targets: list[str] = []
    answer_ids: list[str] = []
    for cell in notebook.cells:
        if is_setup(cell) or is_answer(cell):
            if found and found[-1]["cells"] == cells:
                targets, answer_ids = [], []  # the first cell of a new part
            cells.append({"id": grade_id(cell), "source": cell.source})
            target = cell.metadata.get("pancake", {}).get("source")
            if is_answer(cell) and target:
                targets.append(target)
                answer_ids.append(grade_id(cell))
        elif is_graded_test(cell):
            test = {"id": grade_id(cell), "source": cell.source}
            if found and found[-1]["cells"] == cells:
                found[-1]["tests"].append(test)
            else:
                answers = [target.rsplit(".", 1)[-1] for target in targets]
                job = {"cells": list(cells), "targets": list(targets), "answers": answers}
                job["answer_ids"] = list(answer_ids)
                found.append({**job, "tests": [test]})
    return found


def write_outcomes(notebook: nbformat.NotebookNode, outcomes: list) -> None:
    """Put each cell's output and each test's result into the notebook's cells."""
    by_id = {grade_id(cell): cell for cell in notebook.cells if grade_id(cell)}
    for outcome in outcomes:
        for key, event in [*outcome.cells.items(), *outcome.tests.items()]:
            cell = by_id.get(key)
            if cell is not None and not cell.outputs:
                cell.outputs = outputs(event)
    for cell in notebook.cells:
        if is_graded_test(cell) and not cell.outputs and grade_id(cell) not in _ran(outcomes):
            cell.outputs = outputs(
                {"error": {"ename": "GradingStopped", "evalue": "not run", "traceback": []}}
            )


def _ran(outcomes: list) -> set[str]:
    return {key for outcome in outcomes for key in outcome.tests}


def outputs(event: dict) -> list[nbformat.NotebookNode]:
    """A result as notebook outputs: its printed text (stdout) and its error, if any.

    Printed text, whatever the stream it went to, is shown as stdout: nbgrader would
    give 0 to a graded cell with stderr output (a progress bar, a logged warning).
    """
    result = []
    if event.get("output"):
        result.append(nbformat.v4.new_output("stream", name="stdout", text=event["output"]))
    error = event.get("error")
    if error:
        traceback = error.get("traceback") or [f"{error['ename']}: {error['evalue']}"]
        result.append(
            nbformat.v4.new_output(
                "error", ename=error["ename"], evalue=error["evalue"], traceback=traceback
            )
        )
    return result
