"""Where something was declared, so errors can point at it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Location(BaseModel):
    """A place in a project file; `file` is relative to the project root (posix)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    file: str
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)
