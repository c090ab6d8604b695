"""What grading in sandboxes costs: each assignment's reference notebook, graded part by part
in bubblewrap, against the same cells and tests run once in one plain interpreter.

``python -m benchmarks.grading [--repeats 3]``. The two runs alternate (a slow stretch of
a shared machine hits both); the table shows medians over the repeats and their ratio.
The plain run is what nbgrader's kernel did: every setup and answer cell, then every
graded test, in one interpreter (here without a kernel, so it is a lower bound).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from pancake.course.assignments import ASSIGNMENTS
from pancake.course.grading import notebooks, sandbox
from pancake.course.grading.grader import Grader
from pancake.course.optimizer_trajectories import sealed_for

ROOT = Path(__file__).resolve().parents[1]


def one_interpreter_job(jobs: list[dict]) -> dict:
    """Every cell of every part once, then every test: the notebook run top to bottom."""
    cells = {cell["id"]: cell for job in jobs for cell in job["cells"]}
    tests = [test for job in jobs for test in job["tests"]]
    return {
        "cells": list(cells.values()),
        "tests": tests,
        "answers": [],
        "answer_ids": [],
        "recorded_steps": sealed_for([test["source"] for test in tests]),
    }


def measure(name: str, grader: Grader, repeats: int) -> tuple[float, float]:
    """Median seconds of the sandboxed grading and of the plain run of one notebook."""
    notebook = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    jobs = notebooks.jobs(notebook)
    environment = grader.environment(name, jobs[0]["targets"])
    plain_limits = sandbox.Limits(seconds_per_test=120)
    sandboxed, plain = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        outcomes = grader.grade(name, notebook)
        sandboxed.append(time.perf_counter() - start)
        failed = [key for o in outcomes for key, event in o.tests.items() if event.get("error")]
        assert not failed, f"{name}: the reference fails {failed}"
        start = time.perf_counter()
        sandbox.run(one_interpreter_job(jobs), environment, plain_limits, sandboxed=False)
        plain.append(time.perf_counter() - start)
    return statistics.median(sandboxed), statistics.median(plain)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"bubblewrap: {sandbox.bubblewrap() or 'not available'}")
    print("| assignment | parts | sandboxed s | one interpreter s | ratio |")
    print("|---|--:|--:|--:|--:|")
    with tempfile.TemporaryDirectory() as folder:
        grader = Grader(Path(folder), sandbox.Limits(), reuse_results=False)
        for assignment in ASSIGNMENTS:
            name = assignment.name
            sandboxed, plain = measure(name, grader, args.repeats)
            parts = len(assignment.parts)
            print(f"| {name} | {parts} | {sandboxed:.1f} | {plain:.1f} | {sandboxed / plain:.2f} |")


if __name__ == "__main__":
    main()
