"""What a bad set-up file reports: each problem with its file, line, section, key and fix."""

from __future__ import annotations

from dataclasses import dataclass

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the file: where (``loc``: section, entry index, key...) and what.

    ``at`` is the path whose line to report when it differs from ``loc`` (an unknown key is
    reported on its own line, but named as a key of the table around it).
    """

    loc: Loc
    message: str
    at: Loc | None = None


@dataclass(frozen=True)
class Located:
    """A problem placed in the file: ``file:line: where: message``."""

    source: str
    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        place = f"{self.source}:{self.line}" if self.line else self.source
        if not self.where:
            return f"{place}: {self.message}"
        return f"{place}: {self.where}: {self.message}"


class ClinicFileError(Exception):
    """The set-up file cannot be loaded; ``str()`` is one line per problem, first one first."""

    def __init__(self, problems: list[Located]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))

    @property
    def first(self) -> Located:
        return self.problems[0]
