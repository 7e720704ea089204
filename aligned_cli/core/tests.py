"""Data-quality test nodes derived from a project's declarations (SPEC §6)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from aligned_cli.core.ir import ConstraintKind, IRModel, Project, Severity, UniqueTest
from aligned_cli.core.location import Location

TestKind = Literal[ConstraintKind, "unique", "row_count", "custom"]


# `warn_if`/`error_if`: a comparison and a number, optionally a percentage of the rows.
_THRESHOLD = re.compile(r"^\s*(>=|<=|==|=|!=|>|<)\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")
THRESHOLD_FORM = "write a comparison and a number, e.g. '>10', '!=0' or '>1%'"


def parse_threshold(condition: str) -> tuple[str, float, bool]:
    """`'>1%'` -> ('>', 1.0, True); ValueError naming the accepted form otherwise."""
    match = _THRESHOLD.match(condition)
    if not match:
        raise ValueError(f"'{condition}' is not a test threshold: {THRESHOLD_FORM}")
    operator, number, percent = match.groups()
    return operator, float(number), bool(percent)


class DataTest(IRModel):
    """One test node: `<view>__<feature>__<kind>`, `<view>__unique`, ..."""

    __test__ = False  # not a pytest class

    name: str
    view: str
    feature: str | None = None
    kind: TestKind
    value: Any = None
    is_inclusive: bool = True
    severity: Severity = "error"
    warn_if: str | None = None
    error_if: str | None = None
    sql: str | None = None  # custom tests only
    tags: list[str] = Field(default_factory=list)
    location: Location | None = None


def project_tests(project: Project) -> list[DataTest]:
    """Every test of the project, in declaration order."""
    tests: list[DataTest] = []
    for view in project.views.values():
        unique = view.unique or UniqueTest()
        tests.append(
            DataTest(
                name=f"{view.name}__unique",
                view=view.name,
                kind="unique",
                value=view.key_columns,
                severity=unique.severity,
                warn_if=unique.warn_if,
                error_if=unique.error_if,
                tags=list(view.tags),
                location=unique.location or view.location,
            )
        )
        declared = [(f.name, f.constraints) for f in view.features]
        declared += [(a.name, a.constraints) for a in view.aggregations]
        for feature_name, constraints in declared:
            for c in constraints:
                tests.append(
                    DataTest(
                        name=f"{view.name}__{feature_name}__{c.kind}",
                        view=view.name,
                        feature=feature_name,
                        kind=c.kind,
                        value=c.value,
                        is_inclusive=c.is_inclusive,
                        severity=c.severity,
                        warn_if=c.warn_if,
                        error_if=c.error_if,
                        tags=list(view.tags),
                        location=c.location or view.location,
                    )
                )
        if view.row_count is not None:
            tests.append(
                DataTest(
                    name=f"{view.name}__row_count",
                    view=view.name,
                    kind="row_count",
                    value={"min": view.row_count.min, "max": view.row_count.max},
                    severity=view.row_count.severity,
                    tags=list(view.tags),
                    location=view.row_count.location or view.location,
                )
            )
        for index, custom in enumerate(view.tests, start=1):
            tests.append(
                DataTest(
                    name=custom.name or f"{view.name}__custom_{index}",
                    view=view.name,
                    kind="custom",
                    sql=custom.sql,
                    severity=custom.severity,
                    warn_if=custom.warn_if,
                    error_if=custom.error_if,
                    tags=list(view.tags),
                    location=custom.location or view.location,
                )
            )
    return tests


@dataclass(frozen=True)
class TestChecks:
    """The SQL that running a test executes, compiled with the project (see
    `compile.quality.compile_test_checks`), so that `aligned run` and `aligned test`
    need no SQL builder (nor sqlglot's import) for a test on its view's query."""

    __test__ = False  # not a pytest class

    failing: str  # the failing rows (the test node's compiled SQL)
    count: str  # how many rows fail
    sample: str  # the first few failing rows
    total: str | None  # the view's row count, for percent thresholds (else None)
