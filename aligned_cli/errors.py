"""One exception hierarchy for the whole package, and the exit-code map.

User errors (bad project, bad input) carry a location and a hint and are printed
as one readable message by the CLI; anything else escaping is a bug in aligned.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aligned_cli.core.location import Location

# Exit codes mean the same thing in every command (as in dbt).
EXIT_OK = 0
EXIT_FAILURE = 1  # a node or test failed
EXIT_USAGE = 2  # bad invocation or bad project


class AlignedError(Exception):
    """Root of every error aligned raises on purpose."""

    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def render(self) -> str:
        """The one message a user sees: `file:line:col: message` then the hint."""
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.render()


class ProjectError(AlignedError):
    """The project folder is malformed: YAML, references, expressions, names."""


class UsageError(AlignedError):
    """The command line itself is wrong (bad selector, unknown connection...)."""


class ExecutionError(AlignedError):
    """The engine failed to run something aligned asked of it."""

    exit_code = EXIT_FAILURE


class LockError(ExecutionError):
    """Another aligned run holds the target."""


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The existing names closest to `name`, for 'did you mean' hints."""
    pool = sorted(set(candidates))
    found = difflib.get_close_matches(name, pool, n=n, cutoff=0.5)
    if not found:
        lowered = name.lower()
        found = [c for c in pool if lowered in c.lower() or c.lower() in lowered][:n]
    return found


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidates, or None when nothing is close."""
    pool = list(dict.fromkeys(candidates))  # a name may come from several places
    matches = closest(name, pool)
    if matches:
        return "did you mean " + " or ".join(f"'{m}'" for m in matches) + "?"
    if pool:
        shown = ", ".join(sorted(pool)[:8])
        return f"known names: {shown}{', ...' if len(pool) > 8 else ''}"
    return None
