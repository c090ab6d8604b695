"""What an assignment is: parts, each one piece of pancake to write, with its checks and tests.

The answer code is never written here: a ``Part`` names the pancake class or function
(``target``) whose source, with its ``### BEGIN SOLUTION`` regions, becomes the answer
cell. Everything around it — instructions, the visible check, the hidden graded tests
and their points — is what a spec describes; the check and the tests are functions of
the spec's module, copied into their cells as the answers are.
"""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass


def clean(text: str) -> str:
    """Dedent a triple-quoted block and strip the blank lines around it."""
    return textwrap.dedent(text).strip()


@dataclass(frozen=True)
class GradedTest:
    """A hidden, graded test cell: ``function`` raises (anything) when the answer is wrong.

    ``function`` is a test of the assignment's module, named ``test_<part>_<what>``
    (``test_linear_forward``: grade id ``linear-forward``), whose docstring's first line is
    the summary learners see in place of the hidden code. It refers to the learner's object
    by its plain name (``Linear``, which the module imports from pancake so that a fast test
    runs it against the reference) and may use the graded prelude's names
    (``pancake.course.prelude``: ``graded``, ``given``, ``st``, ``pst``, ``np``,
    ``check_gradients``, ``check_values``): ``@graded`` then ``@given(...)`` on the test.
    The notebook cell holds the prelude, the imports and module-level helpers the test
    uses, the test's source, and a call.
    """

    function: Callable
    points: int

    def __post_init__(self):
        if not self.function.__name__.startswith("test_"):
            raise ValueError(f"graded test {self.function.__name__}: name it test_<part>_<what>")
        if not inspect.getdoc(self.function):
            raise ValueError(f"{self.name}: its docstring's first line is the summary learners see")
        if self.points <= 0:
            raise ValueError(f"test {self.name!r} must be worth a positive number of points")

    @property
    def name(self) -> str:
        """The grade id: ``"linear-batch-axes"`` for ``test_linear_batch_axes``."""
        return self.function.__name__.removeprefix("test_").replace("_", "-")

    @property
    def summary(self) -> str:
        """The first line of the test's docstring."""
        return inspect.getdoc(self.function).splitlines()[0]


@dataclass(frozen=True)
class Part:
    """One answer cell: the pancake object ``target`` (dotted path) that the learner writes.

    ``instructions`` (markdown) come before it, the body of ``check`` (a function of the
    assignment's module that prints a report) right after it, then the ``tests``. Check
    and tests refer to the learner's object by its plain name (``Linear``): the one the
    answer cell defines.
    """

    target: str
    instructions: str
    check: Callable
    tests: tuple[GradedTest, ...]

    def __post_init__(self):
        prefix = self.slug.replace("-", "_")
        for test in self.tests:
            if not test.name.startswith(f"{self.slug}-"):
                raise ValueError(
                    f"graded test {test.function.__name__} of {self.name}: "
                    f"name it test_{prefix}_<what>"
                )

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
