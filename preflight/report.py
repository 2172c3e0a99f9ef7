"""One line per check: `ok   <check>: <detail>` or `fix  <check>: <reason and what to do>`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

OK = "ok"
FIX = "fix"

# Exit statuses of `python -m preflight`.
EXIT_OK = 0
EXIT_FIX = 1
# Nothing could be asked: no credentials, no region, or a configuration that does not load.
EXIT_CANNOT_RUN = 2


@dataclass(frozen=True)
class Result:
    """The outcome of one check."""

    status: str
    check: str
    detail: str

    @property
    def line(self) -> str:
        return f"{self.status:<4} {self.check}: {self.detail}"


def ok(check: str, detail: str) -> Result:
    return Result(OK, check, detail)


def fix(check: str, detail: str) -> Result:
    return Result(FIX, check, detail)


def exit_status(results: Iterable[Result]) -> int:
    """1 when any check needs a fix, else 0."""
    return EXIT_FIX if any(r.status == FIX for r in results) else EXIT_OK
