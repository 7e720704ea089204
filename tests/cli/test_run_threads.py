"""`aligned run --threads N`: the engine's worker threads for this run's queries."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app


def _project(root: Path) -> Path:
    """A model whose spine reports the session's `threads` setting as a column."""
    (root / "features").mkdir(parents=True)
    (root / "aligned_project.yml").write_text(
        "name: threads\nconnections:\n  local: {type: duckdb, path: target/t.duckdb}\n"
    )
    (root / "features" / "f.yml").write_text(
        """sources:
  - name: numbers
    query: "select range::BIGINT as id, current_setting('threads')::BIGINT as threads from range(3)"
feature_views:
  - name: ids
    source: numbers
    entities: [id]
    features:
      id: {type: int64}
models:
  - name: settings
    features: [ids:id]
    spine: numbers
"""
    )
    return root


def _threads_seen(project: Path) -> set[int]:
    dataset = project / "target" / "datasets" / "settings.parquet"
    return {row[0] for row in duckdb.sql(f"select threads from '{dataset}'").fetchall()}


def test_threads_sets_the_duckdb_worker_threads(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    result = CliRunner().invoke(app, ["run", "--project-dir", str(project), "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert _threads_seen(project) == {1}
    run_results = json.loads((project / "target" / "run_results.json").read_text())
    assert run_results["args"]["threads"] == 1


def test_without_threads_duckdb_keeps_its_default(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    result = CliRunner().invoke(app, ["run", "--project-dir", str(project)])
    assert result.exit_code == 0, result.output
    default = duckdb.connect().execute("select current_setting('threads')").fetchone()
    assert default is not None
    assert _threads_seen(project) == {default[0]}


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_threads_must_be_a_positive_number(tmp_path: Path, value: str) -> None:
    project = _project(tmp_path / "p")
    result = CliRunner().invoke(app, ["run", "--project-dir", str(project), "--threads", value])
    assert result.exit_code == 2
    assert "--threads" in result.output
