"""Test-only helpers for the window-aggregation property tests (SPEC §4b).

A brute-force reference of every aggregation function over the `stats` view of
`pit_helpers.pit_project`, and runners that load the same random rows into DuckDB or
PostgreSQL (through `pit_helpers`' loaders) and run a compiled dataset query.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pit_helpers import SpineRow, ViewRow, _rank
from sqlglot import exp

from aligned_cli.compile.dialects import get_dialect
from aligned_cli.compile.pit import features_query
from aligned_cli.core.ir import Aggregation, FeatureRef, Project

# (name, function, of, min_rows); each is compiled with the window drawn per case.
AGGREGATIONS: list[tuple[str, str, str | None, int | None]] = [
    ("n", "count", None, None),
    ("n_float", "count", "f_float", None),
    ("n_distinct", "count_distinct", "f_int", None),
    ("sum_int", "sum", "f_int", None),
    ("sum_float", "sum", "f_float", None),
    ("mean_int", "mean", "f_int", 2),
    ("mean_float", "mean", "f_float", None),
    ("min_int", "min", "f_int", None),
    ("max_float", "max", "f_float", 2),
    ("sd_float", "stddev", "f_float", None),
    ("sd_int", "stddev", "f_int", None),
    ("last_float", "last", "f_float", None),
    ("last_doubled", "last", "doubled", None),
    ("n_at_least_2", "count", None, 2),
    ("n_float_at_least_2", "count", "f_float", 2),
    ("n_distinct_at_least_3", "count_distinct", "f_int", 3),
]
NAMES = [name for name, *_ in AGGREGATIONS]


def with_aggregations(project: Project, windows: Sequence[int]) -> Project:
    """`project` whose `stats` view declares AGGREGATIONS (window i -> windows[i % n])."""
    aggregations = [
        Aggregation(
            name=name,
            function=function,
            of=of,
            window=windows[index % len(windows)],
            min_rows=min_rows,
        )
        for index, (name, function, of, min_rows) in enumerate(AGGREGATIONS)
    ]
    stats = project.views["stats"].model_copy(update={"aggregations": aggregations})
    return project.model_copy(update={"views": {**project.views, "stats": stats}})


def compiled_sql(project: Project, spine_table: str, dialect_name: str, with_time: bool) -> str:
    dialect = get_dialect(dialect_name)
    spine = exp.select(exp.Star()).from_(exp.to_table(spine_table, quoted=True))
    refs = [FeatureRef(view="stats", feature=n) for n in NAMES]
    refs.append(FeatureRef(view="stats", feature="f_int"))  # a plain feature beside them
    query = features_query(
        project, refs, spine, ["k1", "k2", "t", "tag"], "t" if with_time else None, dialect
    )
    return dialect.sql(query, pretty=False)


# --- the reference ------------------------------------------------------------------


def _value(row: ViewRow, of: str) -> Any:
    if of == "doubled":
        return row.f_int * 2 if row.f_int is not None else None
    return getattr(row, of)


def window_rows(
    rows: Sequence[ViewRow], spine: SpineRow, t: datetime | None, window: int
) -> list[ViewRow]:
    """The entity's events in (t - window, t], one version per event time."""
    if spine.k1 is None or spine.k2 is None or t is None:
        return []
    lower = t - timedelta(seconds=window)
    latest: dict[datetime, ViewRow] = {}
    for row in rows:
        if row.k1 != spine.k1 or row.k2 != spine.k2 or row.ts is None:
            continue
        if not (lower < row.ts <= t):
            continue
        if row.ts not in latest or _rank(row) > _rank(latest[row.ts]):
            latest[row.ts] = row
    return [latest[ts] for ts in sorted(latest)]


def _float_sum(values: list[float]) -> float:
    if any(math.isnan(v) for v in values) or (math.inf in values and -math.inf in values):
        return math.nan
    if math.inf in values:
        return math.inf
    if -math.inf in values:
        return -math.inf
    return math.fsum(values)


def _sql_key(value: float) -> tuple[int, float]:
    """SQL order of floats: NaN above everything."""
    return (1, 0.0) if math.isnan(value) else (0, value)


def reference_value(
    function: str, of: str | None, min_rows: int | None, window: list[ViewRow]
) -> Any:
    # Below `min_rows` (rows, or non-NULL values of `of`) every function is NULL;
    # an empty window is a count of 0 and NULL for the others.
    if of is None:
        return len(window) if len(window) >= (min_rows or 0) else None
    values = [v for r in window if (v := _value(r, of)) is not None]
    if len(values) < (min_rows or 0):
        return None
    if function == "count":
        return len(values)
    if function == "count_distinct":
        return len(set(values))
    if not values:
        return None
    is_float = of == "f_float"
    if function == "sum":
        return _float_sum(values) if is_float else sum(values)
    if function == "mean":
        return (_float_sum(values) if is_float else sum(values)) / len(values)
    if function == "min":
        return min(values, key=_sql_key)
    if function == "max":
        return max(values, key=_sql_key)
    if function == "stddev":
        if len(values) < 2:
            return None
        if any(not math.isfinite(v) for v in values):
            return math.nan
        return statistics.stdev(values)
    if function == "last":  # the latest event's value, NULL or not
        return _value(window[-1], of)
    raise AssertionError(function)


def reference_dataset(
    rows: Sequence[ViewRow],
    spine: Sequence[SpineRow],
    windows: Sequence[int],
    now: datetime | None,
) -> list[tuple[Any, ...]]:
    """(tag, *aggregations) per spine row, in spine order."""
    out = []
    for s in spine:
        t = now if now is not None else s.t
        values = []
        for index, (_, function, of, min_rows) in enumerate(AGGREGATIONS):
            window = window_rows(rows, s, t, windows[index % len(windows)])
            values.append(reference_value(function, of, min_rows, window))
        out.append((s.tag, *values))
    return out


def close(a: Sequence[tuple[Any, ...]], b: Sequence[tuple[Any, ...]]) -> bool:
    """Equal, floats to 1e-9 (sums of floats differ by rounding only), NaN == NaN."""
    if len(a) != len(b):
        return False
    for row_a, row_b in zip(a, b, strict=True):
        if len(row_a) != len(row_b):
            return False
        for x, y in zip(row_a, row_b, strict=True):
            if isinstance(x, float) or isinstance(y, float):
                if x is None or y is None:
                    return False
                if math.isnan(x) or math.isnan(y):
                    if not (math.isnan(x) and math.isnan(y)):
                        return False
                elif not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif x != y:
                return False
    return True
