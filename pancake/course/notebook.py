"""Build an assignment's nbgrader *source* notebook from its spec and the package's code.

Per part: instructions (markdown), a read-only setup cell with the imports the answer
needs (except what earlier answers of the notebook define: the learner's own is used),
the answer cell (the package source, SOLUTION regions included), a visible check, then
the graded tests, each a read-only cell whose body nbgrader hides from learners.
Cell ids are derived from names, so the same spec always gives the same notebook.
"""

from __future__ import annotations

import nbformat

from pancake.course import prelude
from pancake.course.sources import (
    answer_source,
    check_source,
    graded_test_source,
    has_broken_code,
    module_code,
    setup_source,
)
from pancake.course.spec import Assignment, GradedTest, Part, clean

SCHEMA_VERSION = 3

# Graded tests are hidden and read-only, but they run after the learner's code, in the
# same kernel. So each one first forgets the imported checks and hypothesis, and imports
# them anew (the code of pancake.course.prelude): an answer cell that rebinds or
# monkeypatches them changes nothing here.
FORGET_IMPORTED_CHECKS = clean(
    """
    import sys
    import warnings

    for _module in [m for m in sys.modules if m.startswith(("hypothesis", "pancake.testing", "pancake.course"))]:
        del sys.modules[_module]
    warnings.simplefilter("ignore")  # graded on the checks' verdicts, not on warnings
    """
)
GRADED_PRELUDE = FORGET_IMPORTED_CHECKS + "\n" + module_code(prelude)

HOW_IT_WORKS = clean(
    """
    **How this works.** Each part below asks you to write one piece of pancake. Complete
    the cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line),
    then run the check under it: it prints a report when your code is right and an error
    with a hint when it is not. The graded tests are hidden; they run the same kind of
    checks on many random inputs. Before you submit, restart the kernel and run all cells
    (Kernel ▸ Restart Kernel and Run All Cells). Leave the read-only cells as they are.
    """
)
# For an assignment whose answers start as broken code (``### BROKEN``) instead of stubs.
HOW_IT_WORKS_BROKEN = clean(
    """
    **How this works.** The code in the answer cells below runs, but it is wrong. Find the
    bugs and fix them in place, then run the check under each answer: it runs the code and
    prints what it finds, which you should not take on trust. The graded tests are hidden;
    each checks one thing the code must get right. Before you submit, restart the kernel
    and run all cells (Kernel ▸ Restart Kernel and Run All Cells). Leave the read-only cells
    as they are.
    """
)


SAVE_YOUR_WORK = clean(
    """
    ## Save your work into your pancake

    When the checks above pass, save this notebook, then run in a terminal, in the folder
    of your learner edition of pancake:

    ```bash
    pancake-course save exercises/{name}/{name}.ipynb
    ```

    Your answers replace their stubs in your own `pancake` package, so the next exercises
    and your own experiments use your code. `pancake-course status` shows where you stand,
    and `pancake-course restore` undoes the save. Then submit this notebook as your
    instructor asks.
    """
)


def build_notebook(assignment: Assignment) -> nbformat.NotebookNode:
    """The complete source notebook of ``assignment``."""
    title = f"# Exercise {assignment.number}: {assignment.title}"
    total = f"This exercise is worth **{assignment.points} points**."
    broken = any(has_broken_code(part.resolve()) for part in assignment.parts)
    how = HOW_IT_WORKS_BROKEN if broken else HOW_IT_WORKS
    cells = [
        nbformat.v4.new_markdown_cell(
            f"{title}\n\n{clean(assignment.introduction)}\n\n{how}\n\n{total}",
            id="introduction",
        )
    ]
    for number, part in enumerate(assignment.parts, start=1):
        answered = [earlier.name for earlier in assignment.parts[: number - 1]]
        cells.extend(part_cells(number, part, answered))
    cells.append(
        nbformat.v4.new_markdown_cell(SAVE_YOUR_WORK.format(name=assignment.name), id="save")
    )
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        },
        "language_info": {"name": "python"},
    }
    return notebook


def part_cells(number: int, part: Part, answered: list[str]) -> list[nbformat.NotebookNode]:
    """Instructions, setup, answer, visible check and graded tests of one part.

    ``answered`` are the names the answers of the earlier parts define: the setup cell
    leaves them to those answers rather than importing pancake's.
    """
    target = part.resolve()
    defined = [*answered, part.name]
    heading = f"## Part {number}: `{part.name}` ({part.points} points)"
    return [
        nbformat.v4.new_markdown_cell(
            f"{heading}\n\n{clean(part.instructions)}", id=f"{part.slug}-instructions"
        ),
        nbformat.v4.new_code_cell(
            setup_source(target, answered),
            id=f"{part.slug}-setup",
            metadata=nbgrader(f"{part.slug}-setup", locked=True),
        ),
        nbformat.v4.new_code_cell(
            answer_source(target),
            id=f"{part.slug}-answer",
            metadata={
                **nbgrader(f"{part.slug}-answer", solution=True),
                "pancake": {"source": part.target},
            },
        ),
        nbformat.v4.new_code_cell(check_source(part.check, defined), id=f"{part.slug}-check"),
        *(graded_test_cell(test, defined) for test in part.tests),
    ]


def graded_test_cell(test: GradedTest, answered: list[str]) -> nbformat.NotebookNode:
    """A read-only graded cell: a visible comment, then the hidden prelude and test.

    ``answered``: the names the answers so far define, which the test uses as they are.
    """
    grade_id = test.name
    plural = "s" if test.points > 1 else ""
    source = "\n".join(
        [
            f"# Graded test ({test.points} point{plural}, hidden): {test.summary}",
            "### BEGIN HIDDEN TESTS",
            GRADED_PRELUDE,
            "",
            graded_test_source(test.function, answered),
            "### END HIDDEN TESTS",
        ]
    )
    return nbformat.v4.new_code_cell(
        source,
        id=grade_id,
        metadata=nbgrader(grade_id, grade=True, locked=True, points=test.points),
    )


def nbgrader(
    grade_id: str,
    *,
    solution: bool = False,
    grade: bool = False,
    locked: bool = False,
    points: int = 0,
) -> dict:
    """The ``nbgrader`` cell metadata: an answer (solution), a graded test, or a read-only cell."""
    metadata = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if grade:
        metadata["points"] = points
    return {"nbgrader": metadata}
