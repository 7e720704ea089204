"""The point-in-time property test's reference comparison, on a local Spark.

The same generated cases as tests/property (ties broken by created, NULL created,
TTL bounds, entities without history, NULL keys, naive/aware/Oslo timestamps), few
of them: each example runs a few Spark jobs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "property"))

from pit_helpers import SpineRow, StaticRow, ViewRow, duckdb_load
from test_pit_property import CASES, _check

pytestmark = pytest.mark.spark


def spark_run(
    spark: Any,
    names: tuple[str, str, str],
    rows: Sequence[ViewRow],
    statics: Sequence[StaticRow],
    spine: Sequence[SpineRow],
    naive_view: bool,
    naive_spine: bool,
    view_zone: ZoneInfo | None,
    sql: str,
) -> list[tuple[Any, ...]]:
    """Load the case as DuckDB does (same Arrow types), hand it to Spark, run `sql`."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        duckdb_load(con, names, rows, statics, spine, naive_view, naive_spine, view_zone)
        for name in names:
            table = con.sql(f'SELECT * FROM "{name}"').to_arrow_table()
            spark.createDataFrame(table).createOrReplaceTempView(name)
    finally:
        con.close()
    result = spark.sql(sql)
    assert result.columns == ["k1", "k2", "t", "tag", "f_int", "f_float", "doubled", "label"]
    return [(r[3], r[4], r[5], r[6], r[7]) for r in result.collect()]


@settings(
    max_examples=int(os.environ.get("ALIGNED_SPARK_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=CASES)
def test_spark_matches_reference(spark: Any, case: dict[str, Any]) -> None:
    _check(case, "spark", spark_run, spark)
