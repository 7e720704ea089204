"""Window aggregations on PostgreSQL give DuckDB's results, end to end on
fixtures/aggregations: `aligned run` (YAML and DSL views) and `store.features_for`."""

from __future__ import annotations

import asyncio
import math
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from rides_reference import FIXTURE, assert_matches, expected
from typer.testing import CliRunner

from aligned_cli.cli.app import app

pytestmark = pytest.mark.postgres


def _same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert len(a) == len(b)
    for left, right in zip(a, b, strict=True):
        assert left.keys() == right.keys()
        for name, value in left.items():
            other = right[name]
            if isinstance(value, float) and isinstance(other, float):
                assert math.isclose(value, other, rel_tol=1e-12), (name, left, right)
            else:
                assert value == other, (name, left, right)


def _run(root: Path, *args: str) -> dict[str, list[dict[str, Any]]]:
    result = CliRunner().invoke(app, ["run", "--project-dir", str(root), *args])
    assert result.exit_code == 0, result.output
    datasets = root / "target" / "datasets"
    return {m: pq.read_table(datasets / f"{m}.parquet").to_pylist() for m in ("eta", "activity")}


def test_aligned_run_on_postgres_matches_duckdb(
    tmp_path: Path, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_dsn)
    roots = [tmp_path / "duck", tmp_path / "pg"]
    for root in roots:
        shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("target"))
    on_duckdb = _run(roots[0])
    on_postgres = _run(roots[1], "--target", "warehouse")
    for model in ("eta", "activity"):
        _same(on_postgres[model], on_duckdb[model])
    for row in on_postgres["eta"]:
        t = row["event_timestamp"].replace(tzinfo=UTC)
        want = expected(row["driver_id"], t)
        assert_matches({k: row[k] for k in want}, want)


def test_features_for_on_postgres_matches_duckdb(tmp_path: Path, postgres_dsn: str) -> None:
    from aligned_cli import FileSource

    root = tmp_path / "rides"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("target"))
    yml = root / "aligned_project.yml"
    yml.write_text(yml.read_text().replace("postgresql://127.0.0.1:5432/postgres", postgres_dsn))
    assert CliRunner().invoke(app, ["compile", "--project-dir", str(root)]).exit_code == 0
    base = datetime(2026, 1, 20, 22, tzinfo=UTC)
    # Spine instants one week apart, plus one exactly 7 days after a trip (excluded).
    times = [base + timedelta(days=7 * i) for i in range(7)]
    times.append(datetime(2026, 1, 11, 22, tzinfo=UTC))
    drivers = [1, 2, 3, 4, 5, 99]
    entities = {
        "driver_id": [d for d in drivers for _ in times],
        "event_timestamp": [t for _ in drivers for t in times],
    }
    names = [f"trips:{n}" for n in expected(1, base)]

    async def load(connection: str) -> list[dict[str, Any]]:
        store = await FileSource.json_at(str(root / "target/manifest.json")).feature_store()
        job = store.with_connection(connection).features_for(entities, features=names)
        return (await job.to_arrow()).to_pylist()

    on_duckdb = asyncio.run(load("local"))
    on_postgres = asyncio.run(load("warehouse"))
    _same(on_postgres, on_duckdb)
    for row in on_postgres:
        want = expected(row["driver_id"], row["event_timestamp"])
        assert_matches({k: row[k] for k in want}, want)
