"""PostgreSQL file export: the COPY/csv fast path gives the general path's values."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from aligned_cli.execute.adapters import Adapter
from aligned_cli.execute.adapters.file_io import FileFormat, write_arrow_file
from aligned_cli.execute.adapters.pg_arrow import stream_query
from aligned_cli.execute.adapters.pg_export import copy_schema, export_by_copy

pytestmark = pytest.mark.postgres

COLUMNS = """
    i2 int2, i4 int4, i8 int8, f4 real, f8 double precision, n numeric(12, 4),
    nu numeric, b boolean, t text, v varchar(40), d date, ts timestamp, tz timestamptz
"""
ROWS = [
    "1, 2, 9223372036854775807, 0.1, 0.1, 12345678.1234, 0.1, true, 'plain', 'v',"
    " '2024-03-01', '2024-03-01 10:00:00.123456', '2024-03-01 10:00:00.000001+00'",
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL",
    "-32768, -2147483648, -9223372036854775808, '-Infinity', 'Infinity', -99999999.9999,"
    " -1.5e10, false, '', '', '0001-01-01', '1969-12-31 23:59:59.999999',"
    " '1900-01-01 00:00:00+00'",
    "0, 0, 0, 'NaN', 'NaN', 0, 'NaN', NULL, E'a,\"b\"\\nc\\r\\nd', 'NULL', '9999-12-31',"
    " '9999-12-31 23:59:59.999999', '2024-07-01 12:00:00.5-05'",
    "7, -7, 4611686018427387904, 3.4028235e38, 5e-324, 0.0001, 1e-30, true, E'\\\\.',"
    " ' spaced ', '1970-01-01', '2000-02-29 00:00:00', '2024-03-10 02:30:00+01'",
    "8, 8, -1, -0, -0, -0.5, 123456789012345678901234567890, false, 'é🙂,\"', '\"',"
    " '2024-01-01', '2024-01-01 00:00:00.000001', '1970-01-01 00:00:00+00'",
]


@pytest.fixture()
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _fill(pg: Adapter) -> None:
    pg.execute(f"CREATE TABLE every_type ({COLUMNS})")
    for row in ROWS:
        pg.execute(f"INSERT INTO every_type VALUES ({row})")


def _general(pg: Adapter, path: Path, fmt: FileFormat) -> None:
    conn = pg.raw_connection  # type: ignore[attr-defined]
    with stream_query(conn, "SELECT * FROM every_type") as reader:
        write_arrow_file(reader, path, fmt)


def _comparable(value: Any) -> Any:
    """NaN equal to NaN, and -0.0 told apart from 0.0."""
    if isinstance(value, float) and (math.isnan(value) or value == 0):
        return repr(value)
    return value


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_copy_path_equals_the_general_path(pg: Adapter, out: Path, fmt: FileFormat) -> None:
    _fill(pg)
    conn = pg.raw_connection  # type: ignore[attr-defined]
    general, fast = out / f"general.{fmt}", out / f"fast.{fmt}"
    _general(pg, general, fmt)
    assert export_by_copy(conn, "SELECT * FROM every_type", fast, fmt) == len(ROWS)
    assert sorted(p.name for p in out.iterdir()) == sorted([general.name, fast.name])
    if fmt == "csv":
        assert fast.read_bytes() == general.read_bytes()
        return
    expected, actual = pq.read_table(general), pq.read_table(fast)
    assert actual.schema == expected.schema
    rows = [[_comparable(v) for v in row.values()] for row in actual.to_pylist()]
    assert rows == [[_comparable(v) for v in row.values()] for row in expected.to_pylist()]
    assert len(rows) == len(ROWS)


def test_adapter_export_uses_the_copy_path(pg: Adapter, out: Path) -> None:
    _fill(pg)
    general, exported = out / "general.csv", out / "exported.csv"
    _general(pg, general, "csv")
    pg.export_file("every_type", exported, "csv")
    assert exported.read_bytes() == general.read_bytes()


def test_values_csv_cannot_carry_fall_back(pg: Adapter, out: Path) -> None:
    """An infinite timestamp does not parse: the fast path declines and leaves nothing."""
    pg.execute("CREATE TABLE odd (id int8, ts timestamp)")
    pg.execute("INSERT INTO odd VALUES (1, '2024-01-01'), (2, 'infinity')")
    conn = pg.raw_connection  # type: ignore[attr-defined]
    assert export_by_copy(conn, "SELECT * FROM odd", out / "odd.parquet", "parquet") is None
    assert list(out.iterdir()) == []


def test_complex_types_take_the_general_path(pg: Adapter, out: Path) -> None:
    pg.execute("CREATE TABLE nested (id int8, tags text[], doc jsonb)")
    pg.execute("""INSERT INTO nested VALUES (1, '{a,b}', '{"k": [1, 2]}'), (2, NULL, NULL)""")
    conn = pg.raw_connection  # type: ignore[attr-defined]
    assert copy_schema(conn, "SELECT * FROM nested") is None
    pg.export_file("nested", out / "nested.parquet", "parquet")
    table = pq.read_table(out / "nested.parquet")
    assert table.column("tags").to_pylist() == [["a", "b"], None]
    assert table.column("doc").to_pylist() == ['{"k": [1, 2]}', None]
