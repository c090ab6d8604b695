"""``pancake-course``: the course's commands.

For instructors, in the course repository:
    pancake-course release DIR [--through N] [--force]   write the learner edition
For learners, in their learner edition:
    pancake-course save NOTEBOOK    write the notebook's answers into your pancake
    pancake-course restore          undo the last save
    pancake-course status           which exercises are stubs, failing or passing
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from pancake.course.learner import CourseError


def release(args: argparse.Namespace) -> None:
    try:
        edition = importlib.import_module("pancake.course.edition")
    except ModuleNotFoundError as error:  # a learner edition ships without the instructor's
        if error.name != "pancake.course.edition":
            raise
        raise CourseError(
            "release runs in the course repository, not in a learner edition"
        ) from error
    files = edition.release(args.directory, through=args.through, force=args.force)
    print(
        f"wrote the learner edition through exercise {args.through}: {len(files)} files in {args.directory}"
    )


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
