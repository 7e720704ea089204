"""Running one data-quality test and judging its result (SPEC §6).

`failures` is the number of rows the test query returns (for `unique`: duplicated key
values). `warn_if`/`error_if` take `">10"`, `">=5"`, `"!=0"`, `">1%"` (percent of the
view's rows); by default any failure fails an error-severity test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from aligned_cli.core.tests import DataTest
from aligned_cli.errors import ProjectError

if TYPE_CHECKING:
    from aligned_cli.core.ir import Project
    from aligned_cli.execute.adapters.base import Adapter

SAMPLE_ROWS = 5
_CONDITION = re.compile(r"^\s*(>=|<=|==|=|!=|>|<)\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


@dataclass
class TestOutcome:
    __test__ = False  # not a pytest class

    status: str  # pass | fail | warn | error
    failures: int | None = None
    sample: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None
    stored: str | None = None  # where --store-failures put the failing rows


def threshold_met(condition: str, failures: int, total_rows: int | None) -> bool:
    """Whether `failures` meets `condition` (e.g. '>10', '>1%')."""
    match = _CONDITION.match(condition)
    if not match:
        raise ProjectError(
            f"'{condition}' is not a test threshold",
            hint="write a comparison and a number, e.g. '>10', '!=0' or '>1%'",
        )
    operator, number, percent = match.groups()
    value: float = float(failures)
    if percent:
        value = 100.0 * failures / total_rows if total_rows else 0.0
    limit = float(number)
    return {
        ">": value > limit,
        ">=": value >= limit,
        "<": value < limit,
        "<=": value <= limit,
        "=": value == limit,
        "==": value == limit,
        "!=": value != limit,
    }[operator]


def judge(test: DataTest, failures: int, total_rows: int | None) -> str:
    """pass | warn | fail for a test that ran and returned `failures` rows.

    As in dbt: an error-severity test fails on `error_if` and warns on `warn_if`; a
    warn-severity test only checks `warn_if` (its `error_if` never applies). Both
    default to "any failing row".
    """
    if test.severity == "error" and threshold_met(test.error_if or "!=0", failures, total_rows):
        return "fail"
    if threshold_met(test.warn_if or "!=0", failures, total_rows):
        return "warn"
    return "pass"


def needs_row_count(test: DataTest) -> bool:
    return any(c and c.strip().endswith("%") for c in (test.warn_if, test.error_if))


def run_test(
    adapter: Adapter,
    project: Project,
    test: DataTest,
    relation: exp.Expr | None = None,
    *,
    store_failures: bool = False,
) -> TestOutcome:
    """Execute `test` (against `relation`, default the view's query) and judge it;
    with `store_failures`, also keep its failing rows in a table."""
    from aligned_cli.compile.quality import test_query
    from aligned_cli.errors import AlignedError

    if test.kind == "drift":
        return _run_drift(adapter, project, test, relation)
    try:
        query = test_query(project, test, adapter.dialect, relation)
        dialect = _sqlglot_dialect(adapter.dialect)
        counted = exp.select(exp.Count(this=exp.Star())).from_(query.subquery("failing"))
        failures = int(adapter.fetch_rows(counted.sql(dialect=dialect))[0][0])
        sample: list[dict[str, Any]] = []
        if failures:
            limited = exp.select(exp.Star()).from_(query.subquery("failing")).limit(SAMPLE_ROWS)
            table = adapter.fetch_arrow(limited.sql(dialect=dialect))
            sample = [_jsonable(row) for row in table.to_pylist()]
        total = None
        if needs_row_count(test):
            total = _row_count(adapter, project, test, relation)
        status = judge(test, failures, total)
        stored = None
        if store_failures:
            from aligned_cli.execute.stored_failures import store_failures as store

            stored = store(adapter, query.sql(dialect=dialect), test.name)
    except ProjectError:
        raise
    except AlignedError as error:
        return TestOutcome(status="error", message=error.message)
    except Exception as error:  # the engine rejected the test: it could not run
        return TestOutcome(status="error", message=f"{type(error).__name__}: {error}")
    message = None if status == "pass" else f"{failures} failing row(s)"
    return TestOutcome(
        status=status, failures=failures, sample=sample, message=message, stored=stored
    )


def _run_drift(
    adapter: Adapter, project: Project, test: DataTest, relation: exp.Expr | None
) -> TestOutcome:
    """Compare this run's mean/stddev with the previous run's, then record this run's."""
    from aligned_cli.compile.quality import test_query
    from aligned_cli.errors import AlignedError
    from aligned_cli.execute.drift import drifted, previous_statistics, record_statistics

    try:
        query = test_query(project, test, adapter.dialect, relation)
        table = adapter.fetch_arrow(query.sql(dialect=_sqlglot_dialect(adapter.dialect)))
        row = table.to_pylist()[0] if table.num_rows else {}
    except ProjectError:
        raise
    except AlignedError as error:
        return TestOutcome(status="error", message=error.message)
    except Exception as error:  # the engine rejected the test: it could not run
        return TestOutcome(status="error", message=f"{type(error).__name__}: {error}")
    current = {k: _number(row.get(k)) for k in ("mean", "stddev", "row_count")}
    previous = previous_statistics(project, test)
    record_statistics(project, test, current)
    if previous is None:
        return TestOutcome(status="pass", failures=0, message="first run: statistics recorded")
    moved = drifted(test, current, previous)
    status = judge(test, len(moved), None)
    message = (
        None
        if not moved
        else "; ".join(f"{m['statistic']} {m['previous']:.6g} -> {m['current']:.6g}" for m in moved)
    )
    return TestOutcome(status=status, failures=len(moved), sample=moved, message=message)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if number != number else number  # NaN: no statistic


def _row_count(
    adapter: Adapter, project: Project, test: DataTest, relation: exp.Expr | None
) -> int:
    from aligned_cli.compile.dialects import get_dialect
    from aligned_cli.compile.views import view_query

    source = (
        relation
        if relation is not None
        else view_query(project, test.view, get_dialect(adapter.dialect))
    )
    subquery = source.subquery("rows") if isinstance(source, exp.Query) else source
    sql = exp.select(exp.Count(this=exp.Star())).from_(subquery)
    return int(adapter.fetch_rows(sql.sql(dialect=_sqlglot_dialect(adapter.dialect)))[0][0])


def _sqlglot_dialect(name: str) -> str:
    from aligned_cli.compile.dialects import get_dialect

    return get_dialect(name).sqlglot_name


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    import datetime
    import decimal
    import math

    result: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime.datetime | datetime.date):
            value = value.isoformat()
        elif isinstance(value, decimal.Decimal):
            value = float(value)
        elif isinstance(value, float) and math.isnan(value):
            value = None
        result[key] = value
    return result
