"""Grade one notebook: its parts, each in a sandbox, against the assignment's grading environment.

Results are kept under ``<course>/.grading/results``, keyed by everything that decides
them (the part's cells and tests, the grading environment, the limits): grading the same
submission again, in parallel or not, gives the same result, and the class command
(``pancake-course grade``) runs the sandboxes in parallel before nbgrader
reads the results in one sequential pass that writes the gradebook.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from pathlib import Path

import nbformat

from pancake.course.assignments import ASSIGNMENTS
from pancake.course.grading import notebooks, sandbox
from pancake.course.grading.environment import grading_environment
from pancake.course.optimizer_trajectories import sealed_for

WORK_FOLDER = ".grading"  # under the course root: environments and results, never published


class Grader:
    """Grades notebooks of the course at ``root`` with ``limits``; reuses earlier results."""

    def __init__(self, root: Path, limits: sandbox.Limits, *, reuse_results: bool = True):
        self.folder = root / WORK_FOLDER
        self.limits = limits
        self.reuse_results = reuse_results
        self.building = threading.Lock()  # one thread builds an environment, others wait

    def environment(self, assignment_name: str, targets: list[str]) -> Path:
        """The folder holding the pancake that the part writing ``targets`` is graded against."""
        known = {assignment.name: assignment for assignment in ASSIGNMENTS}
        if assignment_name not in known:
            raise ValueError(f"unknown assignment {assignment_name!r}; known: {sorted(known)}")
        assignment = known[assignment_name]
        parts = [part.target for part in assignment.parts]
        part = min((parts.index(target) for target in targets if target in parts), default=0)
        with self.building:
            cache = self.folder / "environments"
            return grading_environment(assignment, part, ASSIGNMENTS, cache)

    def grade(self, assignment_name: str, notebook: nbformat.NotebookNode) -> list[sandbox.Outcome]:
        """The outcome of every part of ``notebook`` (rebuilt from the source, see ``notebooks``)."""
        outcomes, fatal = [], {}
        for job in notebooks.jobs(notebook):
            # A cell that stopped the interpreter in one part is left out of the next ones.
            cells = [cell for cell in job["cells"] if cell["id"] not in fatal]
            environment = self.environment(assignment_name, job["targets"])
            outcome = self.grade_part({**job, "cells": cells}, environment)
            fatal.update(
                (key, event)
                for key, event in outcome.cells.items()
                if (event.get("error") or {}).get("ename") == "GradingStopped"
            )
            outcomes.append(outcome)
        return outcomes

    def grade_part(self, job: dict, environment: Path) -> sandbox.Outcome:
        key = json.dumps([job, environment.name, dataclasses.asdict(self.limits)], sort_keys=True)
        path = self.folder / "results" / f"{hashlib.sha256(key.encode()).hexdigest()}.json"
        if self.reuse_results and path.exists():
            return sandbox.Outcome(**json.loads(path.read_text()))
        sealed = sealed_for([test["source"] for test in job["tests"]])
        outcome = sandbox.run({**job, "recorded_steps": sealed}, environment, self.limits)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{threading.get_ident()}.partial")
        partial.write_text(json.dumps(dataclasses.asdict(outcome)))
        partial.replace(path)
        return outcome
