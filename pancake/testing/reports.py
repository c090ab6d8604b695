"""What a passing property check returns: a report that prints one line per thing checked."""

from collections.abc import Sequence


class PropertyReport:
    """The result of a passing check: a title and one line per thing checked."""

    def __init__(self, title: str, lines: Sequence[str]):
        self.title = title
        self.lines = list(lines)

    def __str__(self) -> str:
        return "\n".join([self.title, *(f"  {line}" for line in self.lines)])

    __repr__ = __str__
