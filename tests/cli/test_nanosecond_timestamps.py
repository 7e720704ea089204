"""Parquet written by pandas holds nanosecond timestamps: a derived feature may mix
such a column with the view's event time (read as an instant) or the current time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

FEATURES = """
sources:
  - name: events
    file: data/events.parquet
    mapping: {SignupTime: signup}
  - {name: spine, file: data/spine.csv}
feature_views:
  - name: users
    source: events
    entities: [id]
    event_timestamp: ts
    features:
      id: {type: int64}
      days_since_signup: {expression: "datediff('day', signup, ts)"}
      old_account: {expression: "signup < current_timestamp - interval 30 day"}
models:
  - name: m
    features: [users:days_since_signup, users:old_account]
    spine: spine
"""


@pytest.mark.parametrize("unit", ["ns", "ms", "s"])
def test_timestamps_of_any_precision_mix_with_the_event_time(tmp_path: Path, unit: str) -> None:
    root = tmp_path / "p"
    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text(
        "name: precise\nconnections:\n  local: {type: duckdb, path: target/p.duckdb}\n"
    )
    table = pa.table(
        {
            "id": pa.array([1], pa.int64()),
            "ts": pa.array([datetime(2024, 3, 11)], pa.timestamp(unit)),
            "SignupTime": pa.array([datetime(2024, 3, 1)], pa.timestamp(unit)),
        }
    )
    pq.write_table(table, root / "data" / "events.parquet")
    (root / "data" / "spine.csv").write_text("id,event_timestamp\n1,2024-03-12 00:00:00\n")
    (root / "features" / "f.yml").write_text(FEATURES)
    result = CliRunner().invoke(app, ["run", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    rows = duckdb.sql(
        f"select days_since_signup, old_account from '{root}/target/datasets/m.parquet'"
    ).fetchall()
    assert rows == [(10, True)]
