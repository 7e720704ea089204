"""Point-in-time datasets equal a brute-force reference of SPEC §4, on both engines.

Random entities (some without history), ties on event_timestamp broken by created
(NULL created loses), duplicate spine rows, NULL and NaN features, TTL with rows
exactly at t - ttl, naive and aware timestamps, a source in Europe/Oslo across DST
changes, a leap day, microsecond neighbours and NULL entity keys.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pit_helpers import (
    INSTANTS,
    OSLO,
    SpineRow,
    StaticRow,
    ViewRow,
    compiled_sql,
    duckdb_run,
    oslo_safe,
    pit_project,
    postgres_run,
    reference_dataset,
    same,
    with_known_types,
)

_COUNTER = itertools.count()
KEYS1 = st.one_of(st.none(), st.integers(1, 4))
KEYS2 = st.one_of(st.none(), st.sampled_from(["a", "b"]))
MAYBE_INSTANT = st.one_of(st.none(), st.sampled_from(INSTANTS))
FLOATS = st.one_of(st.none(), st.just(float("nan")), st.floats(-10, 10, allow_nan=False))

view_rows = st.lists(
    st.builds(
        ViewRow,
        k1=KEYS1,
        k2=KEYS2,
        ts=MAYBE_INSTANT,
        created=MAYBE_INSTANT,
        f_int=st.one_of(st.none(), st.integers(-100, 100)),
        f_float=FLOATS,
    ),
    max_size=30,
).map(
    # Rows equal on keys, event and created timestamps are a data error whose
    # choice is unspecified (SPEC §4): keep one of each.
    lambda rows: list({(r.k1, r.k2, r.ts, r.created): r for r in rows}.values())
)
spine_rows = st.lists(st.tuples(KEYS1, KEYS2, MAYBE_INSTANT), min_size=1, max_size=15).flatmap(
    # Duplicate some spine rows verbatim.
    lambda base: st.lists(st.sampled_from(base), max_size=4).map(
        lambda extra: [SpineRow(k1, k2, t, i) for i, (k1, k2, t) in enumerate(base + extra)]
    )
)
static_rows = st.dictionaries(
    st.integers(1, 3), st.one_of(st.none(), st.sampled_from(["x", "y"])), max_size=3
).map(lambda d: [StaticRow(k, v) for k, v in d.items()])

SETTINGS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _names() -> tuple[str, str, str]:
    n = next(_COUNTER)
    return (f"view_{n}", f"static_{n}", f"spine_{n}")


def _expected(
    rows: list[ViewRow],
    statics: list[StaticRow],
    spine: list[SpineRow],
    ttl: int | None,
    with_time: bool,
) -> tuple[list[tuple[Any, ...]], datetime]:
    now = datetime.now(UTC)
    expected = reference_dataset(
        rows, statics, spine, timedelta(seconds=ttl) if ttl else None, None if with_time else now
    )
    return expected, now


@pytest.fixture(scope="module")
def duck() -> Iterator[Any]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # what the adapter does
    yield con
    con.close()


@pytest.fixture()
def pg(postgres_dsn: str) -> Iterator[Any]:
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        yield conn


CASES = st.fixed_dictionaries(
    {
        "rows": view_rows,
        "statics": static_rows,
        "spine": spine_rows,
        "ttl": st.sampled_from([None, 3600, 86400]),
        "naive_view": st.booleans(),
        "naive_spine": st.booleans(),
        "oslo": st.booleans(),
        "with_time": st.sampled_from([True, True, True, False]),
        "list_columns": st.booleans(),
        "known_types": st.booleans(),  # Source.columns read at compile time, or unknown
    }
)


def _prepare(case: dict[str, Any]) -> dict[str, Any]:
    if case["oslo"]:
        # Naive Oslo wall times that name one instant only (no DST-ambiguous hour).
        case["rows"] = [r for r in case["rows"] if r.ts is None or oslo_safe(r.ts)]
    return case


def _check(case: dict[str, Any], dialect: str, run: Any, target: Any) -> None:
    case = _prepare(case)
    names = _names()
    project = pit_project(names[0], names[1], case["ttl"], "Europe/Oslo" if case["oslo"] else None)
    spine_type = None
    if case["known_types"]:
        project = with_known_types(project, case["naive_view"] or case["oslo"])
        spine_type = "TIMESTAMP" if case["naive_spine"] else "TIMESTAMP WITH TIME ZONE"
    sql = compiled_sql(
        project, names[2], dialect, case["with_time"], case["list_columns"], spine_type
    )
    before = datetime.now(UTC)
    got = run(
        target,
        names,
        case["rows"],
        case["statics"],
        case["spine"],
        case["naive_view"],
        case["naive_spine"],
        OSLO if case["oslo"] else None,
        sql,
    )
    expected, _ = _expected(
        case["rows"], case["statics"], case["spine"], case["ttl"], case["with_time"]
    )
    # All generated instants are in 2024, far from "now", so `now` is exact enough.
    assert before.year > 2024
    assert same(got, expected), f"\nSQL: {sql}\ncase: {case}\ngot:      {got}\nexpected: {expected}"


@SETTINGS
@given(case=CASES)
def test_duckdb_matches_reference(duck: Any, case: dict[str, Any]) -> None:
    _check(case, "duckdb", duckdb_run, duck)


@pytest.mark.postgres
@SETTINGS
@given(case=CASES)
def test_postgres_matches_reference(pg: Any, case: dict[str, Any]) -> None:
    _check(case, "postgres", postgres_run, pg)


@pytest.fixture()
def new_york_process() -> Iterator[None]:
    """The process (and so DuckDB's default session) in America/New_York."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous
        time.tzset()


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=CASES)
def test_duckdb_result_ignores_process_and_session_time_zone(
    new_york_process: None, case: dict[str, Any]
) -> None:
    import duckdb

    con = duckdb.connect()  # default session zone follows the process: New York
    try:
        zone = con.execute("SELECT current_setting('TimeZone')").fetchall()[0]
        assert zone is not None and zone[0] == "America/New_York"
        _check(case, "duckdb", duckdb_run, con)
    finally:
        con.close()


@pytest.mark.postgres
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=CASES)
def test_postgres_result_ignores_session_time_zone(pg: Any, case: dict[str, Any]) -> None:
    pg.execute("SET TimeZone = 'America/New_York'")
    _check(case, "postgres", postgres_run, pg)
