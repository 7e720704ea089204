"""Writing outputs to a bucket is atomic: old object intact, no temporary key left."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from s3_helpers import Bucket

from aligned_cli.core.ir import Connection, Output
from aligned_cli.errors import ExecutionError
from aligned_cli.execute.adapters import open_adapter
from aligned_cli.objectstore.transfer import Remote

QUERY = "SELECT range AS id FROM range(5)"


def _adapter(tmp_path: Path):  # type: ignore[no-untyped-def]
    return open_adapter(Connection(name="local", type="duckdb", path=":memory:"), tmp_path)


def _rows(bucket: Bucket, key: str) -> int:
    return pq.read_table(io.BytesIO(bucket.get(key))).num_rows


def test_outputs_are_written_and_replaced(tmp_path: Path, bucket: Bucket) -> None:
    output = Output(file=bucket.url("out/data.parquet"))
    with _adapter(tmp_path) as adapter:
        assert adapter.write_output(QUERY, output) == 5
        assert _rows(bucket, "out/data.parquet") == 5
        assert adapter.write_output("SELECT 1 AS id", output) == 1
        with adapter.stage_output(QUERY, Output(file=bucket.url("out/staged.csv"))) as staged:
            staged.commit()
        # Read back through the same DuckDB session, as a downstream node would.
        csv_glob = bucket.url("out/*.csv")
        assert adapter.fetch_rows(f"SELECT count(*) FROM read_csv('{csv_glob}')") == [(5,)]
    assert _rows(bucket, "out/data.parquet") == 1
    assert bucket.object_keys() == ["out/data.parquet", "out/staged.csv"]


def test_a_failing_query_leaves_the_old_object(tmp_path: Path, bucket: Bucket) -> None:
    output = Output(file=bucket.url("out/data.parquet"))
    with _adapter(tmp_path) as adapter:
        adapter.write_output(QUERY, output)
        with pytest.raises(ExecutionError):
            adapter.write_output("SELECT error('boom') AS id", output)
    assert _rows(bucket, "out/data.parquet") == 5
    assert bucket.object_keys() == ["out/data.parquet"]


def test_a_failing_copy_leaves_the_old_object_and_no_temporary_one(
    tmp_path: Path, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = Output(file=bucket.url("out/data.parquet"))
    with _adapter(tmp_path) as adapter:
        adapter.write_output(QUERY, output)
        fs = Remote(output.file or "").fs  # the cached filesystem the adapter uses

        def broken_copy(*args: object, **kwargs: object) -> None:
            raise ConnectionError("the network went away")

        monkeypatch.setattr(fs, "copy", broken_copy)
        with pytest.raises(ExecutionError, match="cannot reach"):
            adapter.write_output("SELECT 1 AS id", output)
    assert _rows(bucket, "out/data.parquet") == 5
    assert bucket.object_keys() == ["out/data.parquet"]
