"""Running one data-quality test and judging its result (SPEC §6).

`failures` is the number of rows the test query returns (for `unique`: duplicated key
values). `warn_if`/`error_if` take `">10"`, `">=5"`, `"!=0"`, `">1%"` (percent of the
view's rows); by default any failure fails an error-severity test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aligned_cli.core.tests import THRESHOLD_FORM, DataTest, TestChecks, parse_threshold
from aligned_cli.errors import ProjectError

if TYPE_CHECKING:
    from sqlglot import exp

    from aligned_cli.core.ir import Project
    from aligned_cli.execute.adapters.base import Adapter


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
    try:
        operator, limit, percent = parse_threshold(condition)
    except ValueError:
        raise ProjectError(
            f"'{condition}' is not a test threshold",
            hint=THRESHOLD_FORM,
        ) from None
    value: float = float(failures)
    if percent:
        value = 100.0 * failures / total_rows if total_rows else 0.0
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


def run_test(
    adapter: Adapter,
    project: Project,
    test: DataTest,
    relation: exp.Expr | None = None,
    *,
    store_failures: bool = False,
    checks: TestChecks | None = None,
) -> TestOutcome:
    """Execute `test` (against `relation`, default the view's query) and judge it;
    with `store_failures`, also keep its failing rows in a table. `checks`: the test's
    SQL compiled with the project, run as is when the test reads the view's query."""
    from aligned_cli.errors import AlignedError

    if relation is not None or checks is None:
        try:
            checks = _build_checks(adapter, project, test, relation)
        except ProjectError:
            raise
        except AlignedError as error:
            return TestOutcome(status="error", message=error.message)
        except Exception as error:  # the test could not be built: it could not run
            return TestOutcome(status="error", message=f"{type(error).__name__}: {error}")
    if test.kind == "drift":
        return _run_drift(adapter, project, test, checks.failing)
    try:
        failures = int(adapter.fetch_rows(checks.count)[0][0])
        sample: list[dict[str, Any]] = []
        if failures:
            sample = [_jsonable(row) for row in adapter.fetch_arrow(checks.sample).to_pylist()]
        total = None
        if checks.total is not None:
            total = int(adapter.fetch_rows(checks.total)[0][0])
        status = judge(test, failures, total)
        stored = None
        if store_failures:
            from aligned_cli.execute.stored_failures import store_failures as store

            stored = store(adapter, checks.failing, test.name)
    except ProjectError:
        raise
    except AlignedError as error:
        return TestOutcome(status="error", message=error.message)
    except Exception as error:  # the engine rejected the test: it could not run
        return TestOutcome(status="error", message=f"{type(error).__name__}: {error}")
    counted = "duplicated key value(s)" if test.kind == "unique" else "failing row(s)"
    message = None if status == "pass" else f"{failures} {counted}"
    return TestOutcome(
        status=status, failures=failures, sample=sample, message=message, stored=stored
    )


def _build_checks(
    adapter: Adapter, project: Project, test: DataTest, relation: exp.Expr | None
) -> TestChecks:
    """The test's SQL built now: on `relation` (a freshly built table), or when the
    compile has none for this engine."""
    from aligned_cli.compile.dialects import get_dialect
    from aligned_cli.compile.quality import checks_for_test, test_query
    from aligned_cli.compile.views import view_query

    engine = get_dialect(adapter.dialect)
    query = test_query(project, test, adapter.dialect, relation)

    def view_rows() -> exp.Expr:
        return relation if relation is not None else view_query(project, test.view, engine)

    # The engine's own rendering: Spark's drops `AS MATERIALIZED` and numbers
    # unordered rows by scan order, which plain sqlglot output would not.
    return checks_for_test(test, query, view_rows, lambda tree: engine.sql(tree, pretty=False))


def _run_drift(adapter: Adapter, project: Project, test: DataTest, sql: str) -> TestOutcome:
    """Compare this run's mean/stddev with the previous run's, then record this run's."""
    from aligned_cli.errors import AlignedError
    from aligned_cli.execute.drift import drifted, previous_statistics, record_statistics

    try:
        table = adapter.fetch_arrow(sql)
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
