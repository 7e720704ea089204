"""`aligned run` with sources, materializations and outputs in an S3 bucket."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from s3_helpers import FIXTURES, Bucket, titanic_in_bucket
from typer.testing import CliRunner

from aligned_cli.cli.app import app


def _run(project: Path, *extra: str) -> str:
    result = CliRunner().invoke(app, ["run", "--project-dir", str(project), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def _local_dataset(tmp_path: Path) -> list[dict[str, object]]:
    """The dataset the untouched (local files) Titanic example builds."""
    local = tmp_path / "local"
    shutil.copytree(FIXTURES / "titanic_yaml", local, ignore=shutil.ignore_patterns("target"))
    _run(local)
    table = pq.read_table(local / "target" / "datasets" / "titanic.parquet")
    return sorted(table.to_pylist(), key=lambda row: str(row["passenger_id"]))


def _bucket_dataset(bucket: Bucket, key: str) -> list[dict[str, object]]:
    table = pq.read_table(io.BytesIO(bucket.get(key)))
    return sorted(table.to_pylist(), key=lambda row: str(row["passenger_id"]))


def test_titanic_runs_with_data_and_outputs_in_a_bucket(
    s3_titanic: Path, bucket: Bucket, tmp_path: Path
) -> None:
    _run(s3_titanic)
    assert _bucket_dataset(bucket, "datasets/titanic.parquet") == _local_dataset(tmp_path)
    materialized = pq.read_table(io.BytesIO(bucket.get("materialized/passenger.parquet")))
    assert materialized.num_rows == 891
    assert not [k for k in bucket.object_keys() if "aligned_tmp" in k]  # no temporary object left

    manifest = (s3_titanic / "target" / "manifest.json").read_text()
    assert bucket.server.secret not in manifest and bucket.server.key not in manifest
    # Column types were read from the bucket at compile time, as for local files.
    source = json.loads(manifest)["sources"]["titanic_csv"]
    assert source["columns"]["passenger_id"] == "BIGINT"


def test_a_csv_source_in_a_bucket(tmp_path: Path, bucket: Bucket) -> None:
    # Credentials from the standard AWS variables only (the bucket fixture sets them).
    project = titanic_in_bucket(tmp_path / "titanic", bucket, source="csv")
    text = (project / "aligned_project.yml").read_text()
    (project / "aligned_project.yml").write_text(text.split("object_stores:")[0])
    _run(project)
    assert _bucket_dataset(bucket, "datasets/titanic.parquet") == _local_dataset(tmp_path)


def test_a_second_run_replaces_the_outputs(s3_titanic: Path, bucket: Bucket) -> None:
    _run(s3_titanic)
    first = bucket.get("datasets/titanic.parquet")
    _run(s3_titanic)
    assert pq.read_table(io.BytesIO(bucket.get("datasets/titanic.parquet"))).num_rows == 891
    assert len(first) > 0
    assert not [k for k in bucket.object_keys() if "aligned_tmp" in k]


@pytest.mark.postgres
def test_postgres_stages_a_csv_from_a_bucket(
    tmp_path: Path, bucket: Bucket, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = titanic_in_bucket(tmp_path / "titanic", bucket, source="csv")
    monkeypatch.setenv("ALIGNED_TEST_S3_KEY", bucket.server.key)
    monkeypatch.setenv("ALIGNED_TEST_S3_SECRET", bucket.server.secret)
    monkeypatch.setenv("DATABASE_URL", postgres_dsn)
    output = _run(project, "--target", "warehouse")
    assert "ERROR" not in output
    assert _bucket_dataset(bucket, "datasets/titanic.parquet") == _local_dataset(tmp_path)
    # Unchanged objects are not staged again (their ETags are the same).
    import psycopg

    with psycopg.connect(postgres_dsn) as conn:
        loaded = conn.execute("select loaded_at from aligned_staging._aligned_files").fetchall()
    _run(project, "--target", "warehouse")
    with psycopg.connect(postgres_dsn) as conn:
        again = conn.execute("select loaded_at from aligned_staging._aligned_files").fetchall()
    assert loaded == again


def test_the_python_dsl_declares_bucket_sources(tmp_path: Path, bucket: Bucket) -> None:
    project = tmp_path / "titanic_python"
    shutil.copytree(FIXTURES / "titanic_python", project, ignore=shutil.ignore_patterns("target"))
    bucket.put("raw/titanic.csv", (project / "data" / "titanic.csv").read_bytes())
    shutil.rmtree(project / "data")
    features = project / "features" / "titanic.py"
    text = features.read_text().replace("    FileSource,\n", "    AwsS3Config,\n", 1)
    text = text.replace(
        'FileSource.csv_at(\n    "data/titanic.csv",',
        f'AwsS3Config(bucket="{bucket.name}").csv_at(\n    "raw/titanic.csv",',
    )
    features.write_text(text)
    _run(project)
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    assert manifest["sources"]["titanic_csv"]["file"] == bucket.url("raw/titanic.csv")
    table = pq.read_table(project / "target" / "datasets" / "titanic.parquet")
    assert table.num_rows == 891
