"""The bundled Titanic example runs on DuckDB and on a real PostgreSQL from the CLI, and
both engines build the same dataset and pass the same tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app


def _run(project: Path, *args: str) -> None:
    result = CliRunner().invoke(app, ["run", "--project-dir", str(project), *args])
    assert result.exit_code == 0, result.output


def test_titanic_on_postgres_equals_duckdb(
    titanic_project: Path, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = titanic_project / "target" / "datasets" / "titanic.parquet"
    _run(titanic_project)
    on_duckdb = pq.read_table(dataset)
    shutil.rmtree(titanic_project / "target")
    monkeypatch.setenv("DATABASE_URL", postgres_dsn)
    _run(titanic_project, "--target", "warehouse")
    on_postgres = pq.read_table(dataset)
    assert on_postgres.num_rows == on_duckdb.num_rows == 891
    assert on_postgres.column_names == on_duckdb.column_names
    for name in ("passenger_id", "constant_filled_age", "is_male", "family_size"):
        assert on_postgres.column(name).to_pylist() == on_duckdb.column(name).to_pylist(), name
    result = CliRunner().invoke(
        app, ["test", "--project-dir", str(titanic_project), "--target", "warehouse"]
    )
    assert result.exit_code == 0, result.output
