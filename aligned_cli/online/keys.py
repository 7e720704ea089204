"""Redis key names and the canonical text of entity values (see the package docstring)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

PREFIX = "aligned"
TS_FIELD = "__ts"
CREATED_FIELD = "__created"


def project_prefix(project: str) -> str:
    """What every key of the project starts with."""
    return f"{PREFIX}:{project}:"


def view_prefix(project: str, view: str) -> str:
    return f"{project_prefix(project)}{view}:"


def watermarks_key(project: str) -> str:
    # Three segments: cannot collide with an entity key, which always has four or more.
    return f"{project_prefix(project)}watermarks"


def escape(text: str) -> str:
    """Percent-escape the separator so `a:b` as one value differs from two values."""
    return text.replace("%", "%25").replace(":", "%3A")


def entity_text(value: Any) -> str | None:
    """The canonical text of one entity value; None for NULL (matches nothing).

    Must agree with `codec.entity_text_array` (the vectorised form used on writes):
    integers and integral floats as digits, bools as true/false, strings as is.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN keys match nothing, as NULL
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def entity_key(prefix: str, values: Sequence[Any]) -> str | None:
    """The hash key of one entity of a view (`prefix` from `view_prefix`)."""
    parts: list[str] = []
    for value in values:
        text = entity_text(value)
        if text is None:
            return None
        parts.append(escape(text))
    return prefix + ":".join(parts)


def key_suffixes(columns: Sequence[Sequence[Any]]) -> list[str | None]:
    """Per row of the entity `columns`, what `entity_key` appends to a view's prefix
    (None for a NULL key). Runs over every entity of a `serve` request, so the
    common case, one integer column, takes a fast path."""
    if len(columns) == 1:
        column = columns[0]
        if all(type(value) is int for value in column):  # not bool: `type`, not isinstance
            return list(map(str, column))
        texts = map(entity_text, column)
        return [None if text is None else escape(text) for text in texts]
    return [entity_key("", values) for values in zip(*columns, strict=True)]
