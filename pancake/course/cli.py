"""``pancake-course``: the course's commands.

For instructors, in the course repository:
    pancake-course release DIR [--through N] [--force]   write the learner edition
    pancake-course grade ASSIGNMENT... [--jobs N]         grade a class (submitted/), in sandboxes
For learners, in their learner edition:
    pancake-course save NOTEBOOK    write the notebook's answers into your pancake
    pancake-course restore          undo the last save
    pancake-course status           which exercises are stubs, failing or passing
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from pancake.course.learner import CourseError


def release(args: argparse.Namespace) -> None:
    files = instructors("edition", "release").release(
        args.directory, through=args.through, force=args.force
    )
    print(
        f"wrote the learner edition through exercise {args.through}: {len(files)} files in {args.directory}"
    )


def instructors(module: str, command: str):
    """``pancake.course.<module>``, which a learner edition ships without."""
    try:
        return importlib.import_module(f"pancake.course.{module}")
    except ModuleNotFoundError as error:
        if error.name != f"pancake.course.{module}":
            raise
        raise CourseError(
            f"{command} runs in the course repository, not in a learner edition"
        ) from error


def grade(args: argparse.Namespace) -> None:
    grading = instructors("grade", "grade")
    seconds = grading.grade_class(
        args.root.resolve(),
        args.assignments,
        jobs=args.jobs,
        force=args.force,
        student=args.student,
        only_run=args.only_run,
    )
    print(grading.report(seconds))


def grade_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The arguments of ``grade`` (also ``python -m pancake.course.grade``)."""
    parser.add_argument("assignments", nargs="+", help='e.g. 03-linear, or "*" for every one')
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="notebooks at a time")
    parser.add_argument("--force", action="store_true", help="grade graded submissions again")
    parser.add_argument("--student", default="*", help="only these students (a pattern)")
    parser.add_argument(
        "--only-run", action="store_true", help="only run the sandboxes and keep their results"
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: .)")
    return parser


def save(args: argparse.Namespace) -> None:
    from pancake.course import learner

    for line in learner.save(args.notebook):
        print(line)
    print(
        "`pancake-course status` shows where you stand; `pancake-course restore` undoes this save."
    )


def restore(args: argparse.Namespace) -> None:
    from pancake.course import learner

    for line in learner.restore():
        print(line)


def status(args: argparse.Namespace) -> None:
    from pancake.course import learner

    print(learner.status_table(learner.status()))


def parser() -> argparse.ArgumentParser:
    """The argument parser: one subcommand per command."""
    main_parser = argparse.ArgumentParser(
        prog="pancake-course", description=__doc__.splitlines()[0]
    )
    commands = main_parser.add_subparsers(dest="command", required=True)
    released = commands.add_parser("release", help="write the learner edition (instructors)")
    released.add_argument("directory", type=Path, help="a new or empty folder")
    released.add_argument(
        "--through", type=int, default=0, help="keep the reference code of exercises 1..N"
    )
    released.add_argument(
        "--force", action="store_true", help="replace an earlier edition in that folder"
    )
    released.set_defaults(run=release)
    graded = commands.add_parser(
        "grade", help="grade every submission of assignments (instructors)"
    )
    grade_arguments(graded).set_defaults(run=grade)
    saved = commands.add_parser("save", help="write a notebook's answers into your pancake")
    saved.add_argument("notebook", type=Path)
    saved.set_defaults(run=save)
    commands.add_parser("restore", help="undo the last save").set_defaults(run=restore)
    commands.add_parser(
        "status", help="a table of the exercises: stub, failing or passing"
    ).set_defaults(run=status)
    return main_parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except CourseError as error:
        sys.exit(f"pancake-course {args.command}: {error}")


if __name__ == "__main__":
    main()
