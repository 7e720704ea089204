"""Epoch seconds as a view's time: derived in a view without a time, named by a view
built on it (what the compile error for a view's own derived time suggests)."""

from __future__ import annotations

from pathlib import Path

import duckdb
from typer.testing import CliRunner

from aligned_cli.cli.app import app

FEATURES = """
sources:
  - {name: e, file: data/e.csv}
  - {name: spine, file: data/spine.csv}
feature_views:
  - name: raw
    source: e
    entities: [id]
    unique: {severity: warn}  # its rows are a history, not one per id
    features:
      id: {type: int64}
      val: {type: float}
      epoch: {type: int64}
      ets: {expression: "to_timestamp(epoch)"}
  - name: timed
    source: view:raw
    event_timestamp: ets
    features:
      val: {}
models:
  - name: m
    features: [timed:val]
    spine: spine
"""


def test_epoch_seconds_become_a_time_through_a_view_on_a_view(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text(
        "name: epochs\nconnections:\n  local: {type: duckdb, path: target/e.duckdb}\n"
    )
    # 2024-02-01T00:00Z and 2024-02-08T00:00Z
    (root / "data" / "e.csv").write_text("id,epoch,val\n1,1706745600,1.5\n1,1707350400,2.5\n")
    (root / "data" / "spine.csv").write_text(
        "id,event_timestamp\n1,2024-01-31 00:00:00\n1,2024-02-05 00:00:00\n1,2024-02-09 00:00:00\n"
    )
    (root / "features" / "f.yml").write_text(FEATURES)
    result = CliRunner().invoke(app, ["run", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    rows = duckdb.sql(f"select val from '{root}/target/datasets/m.parquet'").fetchall()
    assert [r[0] for r in rows] == [None, 1.5, 2.5]
