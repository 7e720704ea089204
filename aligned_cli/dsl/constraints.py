"""Constraint and description methods shared by features and aggregations."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, Self

from aligned_cli.core.ir import Constraint, Severity
from aligned_cli.core.location import Location

ConstraintKind = Literal["required", "lower_bound", "upper_bound", "accepted_values"]


class Constrained:
    """Builder methods that record checks; each returns `self` to allow chaining."""

    def __init__(self) -> None:
        self._description: str | None = None
        self._checks: list[tuple[ConstraintKind, Any, bool, Severity]] = []

    def description(self, text: str) -> Self:
        self._description = text
        return self

    def lower_bound(self, value: float, *, is_inclusive: bool = True) -> Self:
        self._checks.append(("lower_bound", value, is_inclusive, "error"))
        return self

    def upper_bound(self, value: float, *, is_inclusive: bool = True) -> Self:
        self._checks.append(("upper_bound", value, is_inclusive, "error"))
        return self

    def accepted_values(self, values: Iterable[Any]) -> Self:
        # A string is kept whole (not split into characters): the IR check reports it.
        kept = values if isinstance(values, str) else list(values)
        self._checks.append(("accepted_values", kept, True, "error"))
        return self

    def is_required(self) -> Self:
        self._checks.append(("required", None, True, "error"))
        return self

    def constraints_ir(self, location: Location | None) -> list[Constraint]:
        return [
            Constraint(
                kind=kind, value=value, is_inclusive=inclusive, severity=severity, location=location
            )
            for kind, value, inclusive, severity in self._checks
        ]
