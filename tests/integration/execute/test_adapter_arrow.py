"""Arrow in (register_arrow) and out (fetch_arrow) on both engines."""

from __future__ import annotations

import datetime as dt
import math

import pyarrow as pa
import pytest

from aligned_cli.errors import ExecutionError
from aligned_cli.execute.adapters import Adapter

UTC = dt.UTC


def scalar_table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "score": pa.array([1.5, None, -0.1, 1e300], pa.float64()),
            "name": pa.array(["plain", "", None, 'a,"quoted"\nline'], pa.string()),
            "flag": pa.array([True, False, None, True]),
            "day": pa.array([dt.date(2024, 1, 1), None, dt.date(1999, 12, 31), None]),
            "naive": pa.array(
                [dt.datetime(2024, 3, 10, 2, 30, 0, 123456), None, None, None],
                pa.timestamp("us"),
            ),
            "instant": pa.array(
                [dt.datetime(2024, 3, 10, 7, 0, tzinfo=UTC), None, None, None],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )


def test_scalar_roundtrip(adapter: Adapter) -> None:
    table = scalar_table()
    adapter.register_arrow("people", table)
    result = adapter.fetch_arrow("SELECT * FROM people ORDER BY id")
    assert result.column_names == table.column_names
    assert result.to_pylist() == table.to_pylist()
    assert result.schema.field("naive").type == pa.timestamp("us")
    assert result.schema.field("instant").type.tz == "UTC"


def test_non_utc_zone_keeps_the_instant(adapter: Adapter) -> None:
    instant = dt.datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
    table = pa.table({"t": pa.array([instant], pa.timestamp("us", tz="America/New_York"))})
    adapter.register_arrow("zoned", table)
    (value,) = adapter.fetch_rows("SELECT t FROM zoned")[0]
    assert value == instant


def test_nan_is_a_value_not_null(adapter: Adapter) -> None:
    adapter.register_arrow("nums", pa.table({"x": pa.array([math.nan, None], pa.float64())}))
    values = adapter.fetch_arrow("SELECT x FROM nums").column("x").to_pylist()
    assert math.isnan(values[0])
    assert values[1] is None


def test_lists_and_structs_roundtrip(adapter: Adapter) -> None:
    table = pa.table(
        {
            "id": [1, 2, 3],
            "embedding": pa.array([[0.5, 1.25], [], None], pa.list_(pa.float64())),
            "blob": pa.array([b"\x00\x01", None, b"x"], pa.binary()),
        }
    )
    adapter.register_arrow("vectors", table)
    result = adapter.fetch_arrow("SELECT * FROM vectors ORDER BY id")
    assert result.column("embedding").to_pylist() == [[0.5, 1.25], [], None]
    assert result.column("blob").to_pylist() == [b"\x00\x01", None, b"x"]


def test_register_replaces_and_unregister_removes(adapter: Adapter) -> None:
    adapter.register_arrow("t", pa.table({"a": [1]}))
    adapter.register_arrow("t", pa.table({"a": [2, 3]}))
    assert adapter.fetch_rows("SELECT count(*) FROM t") == [(2,)]
    adapter.unregister("t")
    with pytest.raises(ExecutionError, match="t"):
        adapter.fetch_rows("SELECT * FROM t")


@pytest.mark.postgres
def test_postgres_reads_back_json_numeric_and_arrays(pg: Adapter) -> None:
    result = pg.fetch_arrow(
        "SELECT '{\"a\": 1}'::jsonb AS j, 2.50::numeric(5, 2) AS d, avg(x) AS m, "
        "ARRAY[1, 2]::int4[] AS arr, gen_random_uuid() AS u "
        "FROM (VALUES (1), (2)) AS v(x)"
    )
    row = result.to_pylist()[0]
    assert row["j"] == '{"a": 1}'
    assert str(row["d"]) == "2.50"
    assert row["m"] == pytest.approx(1.5)
    assert result.schema.field("m").type == pa.float64()
    assert row["arr"] == [1, 2]
    assert isinstance(row["u"], str) and len(row["u"]) == 36


@pytest.mark.postgres
def test_postgres_empty_result_has_a_schema(pg: Adapter) -> None:
    result = pg.fetch_arrow("SELECT 1::int4 AS a, now() AS b WHERE false")
    assert result.num_rows == 0
    assert result.schema.field("a").type == pa.int32()
    assert result.schema.field("b").type == pa.timestamp("us", tz="UTC")
