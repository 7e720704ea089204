"""Two projects on one database, each with a file source `trips`: `aligned run` of
either reads its own file, whatever the other staged last."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

pytestmark = pytest.mark.postgres

FEATURES_YML = """\
sources:
  - {name: trips, file: data/trips.csv}
  - {name: spine, file: data/spine.csv}
feature_views:
  - name: trip_stats
    source: trips
    entities: [driver_id]
    event_timestamp: event_timestamp
    features:
      fare: {type: float}
models:
  - name: fares
    features: [trip_stats:fare]
    spine: spine
    output: {file: target/datasets/fares.parquet}
"""
SPINE = "driver_id,event_timestamp\n1,2024-03-02 00:00:00\n2,2024-03-02 00:00:00\n"


def _project(root: Path, name: str, dsn: str, fares: tuple[float, float]) -> Path:
    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text(
        f"name: {name}\nfeature-paths: [features]\ntarget-path: target\n"
        "default-connection: warehouse\nconnections:\n"
        f'  warehouse: {{type: postgres, dsn: "{dsn}"}}\n'
    )
    (root / "features" / "trips.yml").write_text(FEATURES_YML)
    (root / "data" / "trips.csv").write_text(
        "driver_id,event_timestamp,fare\n"
        f"1,2024-03-01 10:00:00,{fares[0]}\n2,2024-03-01 11:00:00,{fares[1]}\n"
    )
    (root / "data" / "spine.csv").write_text(SPINE)
    return root


def _run(root: Path) -> list[Any]:
    result = CliRunner().invoke(app, ["run", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(root / "target" / "datasets" / "fares.parquet")
    fares: list[Any] = table.column("fare").to_pylist()
    return fares


def test_two_projects_with_one_source_name_read_their_own_rows(
    tmp_path: Path, postgres_dsn: str
) -> None:
    alpha = _project(tmp_path / "alpha", "alpha", postgres_dsn, (1.5, 2.5))
    beta = _project(tmp_path / "beta", "beta", postgres_dsn, (10.0, 20.0))
    assert _run(alpha) == [1.5, 2.5]
    assert _run(beta) == [10.0, 20.0]
    assert _run(alpha) == [1.5, 2.5]  # beta's staging did not replace alpha's
    with psycopg.connect(postgres_dsn) as conn:
        staged = conn.execute(
            "SELECT relation FROM aligned_staging._aligned_files ORDER BY 1"
        ).fetchall()
    assert staged == [
        ("alpha__spine",),
        ("alpha__trips",),
        ("beta__spine",),
        ("beta__trips",),
    ]
