"""What an assignment is: parts, each one piece of pancake to write, with its checks and tests.

The answer code is never written here: a ``Part`` names the pancake class or function
(``target``) whose source, with its ``### BEGIN SOLUTION`` regions, becomes the answer
cell. Everything around it — instructions, the visible check, the hidden graded tests
and their points — is what a spec describes.
"""

from __future__ import annotations

import importlib
import re
import textwrap
from dataclasses import dataclass


def clean(text: str) -> str:
    """Dedent a triple-quoted block and strip the blank lines around it."""
    return textwrap.dedent(text).strip()


@dataclass(frozen=True)
class GradedTest:
    """A hidden, graded test cell: ``code`` raises (anything) when the answer is wrong.

    ``code`` runs after a prelude (``notebook.GRADED_PRELUDE``) that re-imports
    hypothesis and the checks, so nothing a learner defines can alter them, and binds
    ``np``, ``given``, ``st`` (hypothesis strategies), ``pst`` (``pancake.testing.strategies``),
    ``check_gradients``, ``check_values`` and ``graded``, the hypothesis settings of every
    graded test: ``@graded`` then ``@given(...)`` on a test function, then a call.
    ``code`` must not rebind the names the learner's answers define: import pancake's
    reference layers under other names (``from pancake import nn``).
    ``summary`` is what learners see in place of the hidden code.
    """

    name: str
    points: int
    summary: str
    code: str

    def __post_init__(self):
        if not re.fullmatch(r"[a-z0-9-]+", self.name):
            raise ValueError(f"test name {self.name!r}: use lowercase letters, digits and '-'")
        if self.points <= 0:
            raise ValueError(f"test {self.name!r} must be worth a positive number of points")


@dataclass(frozen=True)
class Part:
    """One answer cell: the pancake object ``target`` (dotted path) that the learner writes.

    ``instructions`` (markdown) come before it, ``check`` (code that prints a report)
    right after it, then the ``tests``. Check and tests refer to the learner's object by
    its plain name (``Linear``): the one the answer cell defines.
    """

    target: str
    instructions: str
    check: str
    tests: tuple[GradedTest, ...]

    @property
    def name(self) -> str:
        """The name the answer cell defines: ``"Linear"`` for ``"pancake.nn.linear.Linear"``."""
        return self.target.rsplit(".", 1)[1]

    @property
    def slug(self) -> str:
        """A cell-id prefix: ``CrossEntropyLoss`` -> ``cross-entropy-loss``, ``ReLU`` -> ``relu``."""
        words = re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "-", self.name)
        return words.replace("_", "-").lower()

    @property
    def points(self) -> int:
        return sum(test.points for test in self.tests)

    def resolve(self) -> object:
        """The class or function ``target`` names, imported from the package."""
        module_name, name = self.target.rsplit(".", 1)
        return getattr(importlib.import_module(module_name), name)


@dataclass(frozen=True)
class Assignment:
    """One notebook ``NN-slug/NN-slug.ipynb``: an introduction, then its parts in order."""

    number: int
    slug: str
    title: str
    introduction: str
    parts: tuple[Part, ...]

    @property
    def name(self) -> str:
        """The nbgrader assignment id and notebook name, e.g. ``03-linear``."""
        return f"{self.number:02d}-{self.slug}"

    @property
    def points(self) -> int:
        return sum(part.points for part in self.parts)

    def __post_init__(self):
        slugs = [part.slug for part in self.parts]
        if len(set(slugs)) != len(slugs):
            raise ValueError(f"assignment {self.slug}: two parts write the same object")
        for part in self.parts:
            names = [test.name for test in part.tests]
            if not names or len(set(names)) != len(names):
                raise ValueError(f"{part.target}: needs tests with distinct names")
