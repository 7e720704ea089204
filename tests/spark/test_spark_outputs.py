"""The Spark adapter's file outputs: written under a temporary name beside the output,
then renamed into place; a dataset (`write_output`) is not read back, a view's staged
output (`stage_output`) is, for its tests. Plus what a run imports: compiled SQL is
run as it is, so neither sqlglot nor the compiler is loaded for it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aligned_cli.core.ir import Connection, Output
from aligned_cli.errors import ExecutionError

QUERY = "SELECT id, CAST(id * 2 AS BIGINT) AS twice FROM range(0, 1000, 1, 3) ORDER BY id DESC"


def _adapter(tmp_path: Path) -> Any:
    from aligned_cli.execute.adapters.spark import SparkAdapter

    connection = Connection(name="spark", type="spark", options={"master": "local[2]"})
    return SparkAdapter(connection, tmp_path)  # the test session: not stopped on close


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def _views(spark: Any) -> set[str]:
    return {t.name for t in spark.catalog.listTables() if t.isTemporary}


def test_a_spark_adapter_imports_no_compiler() -> None:
    code = (
        "import sys\n"
        "import aligned_cli.execute.adapters.spark\n"
        "import aligned_cli.execute.adapters.spark_sources\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'sqlglot'"
        " or m.startswith('aligned_cli.compile.'))\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.spark
def test_write_output_puts_a_parquet_directory_in_place(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq
    from pyspark.sql import DataFrameReader

    adapter = _adapter(tmp_path)
    views = _views(spark)
    read: list[tuple[Any, ...]] = []
    reader = DataFrameReader.parquet

    def recorded(*args: Any) -> Any:
        read.append(args)
        return reader(*args)

    monkeypatch.setattr(DataFrameReader, "parquet", recorded)
    output = Output(file="target/out.parquet")
    assert adapter.write_output(QUERY, output) == 1000
    assert read == []  # rows counted from the footers; no Spark job reads them back
    monkeypatch.undo()
    path = tmp_path / "target" / "out.parquet"
    parts = sorted(path.glob("part-*.parquet"))
    assert parts
    ids = [i for part in parts for i in pq.read_table(part).column("id").to_pylist()]
    assert ids == list(range(999, -1, -1))  # the query's order, part after part
    assert _leftovers(path.parent) == []
    assert _views(spark) == views  # nothing registered to read it back

    # A rerun replaces it whole; a failing one leaves it as it was.
    assert adapter.write_output("SELECT 1 AS id", output) == 1
    assert pq.read_table(path).num_rows == 1
    with pytest.raises(ExecutionError):
        adapter.write_output("SELECT no_such_column FROM range(3)", output)
    assert pq.read_table(path).num_rows == 1
    assert _leftovers(path.parent) == []


@pytest.mark.spark
def test_write_output_writes_one_csv_file(spark: Any, tmp_path: Path) -> None:
    adapter = _adapter(tmp_path)
    output = Output(file="out/rows.csv")
    assert adapter.write_output(QUERY, output) == 1000
    path = tmp_path / "out" / "rows.csv"
    lines = path.read_text().splitlines()
    assert lines[:3] == ["id,twice", "999,1998", "998,1996"]
    assert len(lines) == 1001
    assert _leftovers(path.parent) == []


@pytest.mark.spark
def test_stage_output_reads_the_staged_rows_back_until_committed(
    spark: Any, tmp_path: Path
) -> None:
    adapter = _adapter(tmp_path)
    views = _views(spark)
    output = Output(file="target/view.parquet")
    path = tmp_path / "target" / "view.parquet"
    with adapter.stage_output(QUERY, output) as staged:
        assert staged.rows == 1000
        # The staged directory's name starts with a dot, which Spark skips inside a
        # directory but must still read when it is the path itself.
        rows = spark.sql(f"SELECT COUNT(*), SUM(twice) FROM {staged.relation}").collect()
        assert tuple(rows[0]) == (1000, 999 * 1000)
        assert not path.exists()
        staged.commit()
    assert path.is_dir()
    assert _leftovers(path.parent) == []
    assert _views(spark) == views
