"""The `drift` test compares a feature's mean and stddev with the previous run's, on
DuckDB and PostgreSQL; the first run records a baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app


def _project(root: Path, fares: list[float], dsn: str) -> Path:
    (root / "features").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    warehouse = f"  warehouse: {{type: postgres, dsn: '{dsn}'}}\n" if dsn else ""
    (root / "aligned_project.yml").write_text(
        f"name: drifty\nconnections:\n  local: {{type: duckdb, path: ':memory:'}}\n{warehouse}"
    )
    rows = "".join(f"{i},{fare}\n" for i, fare in enumerate(fares))
    (root / "data" / "trips.csv").write_text("trip_id,fare\n" + rows)
    (root / "features" / "f.yml").write_text(
        "sources:\n  - name: trips_csv\n    file: data/trips.csv\n"
        "feature_views:\n  - name: trips\n    source: trips_csv\n    entities: [trip_id]\n"
        "    features:\n      trip_id: {type: int64}\n      fare: {type: float, drift: 0.2}\n"
    )
    return root


def _drift_result(project: Path, args: list[str]) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(
        app, ["test", "--project-dir", str(project), "--select", "trips__fare__drift", *args]
    )
    data = json.loads((project / "target" / "run_results.json").read_text())
    outcome = next(r for r in data["results"] if r["name"] == "trips__fare__drift")
    return result.exit_code, outcome


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_drift_against_the_previous_run(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    dsn = request.getfixturevalue("postgres_dsn") if engine == "postgres" else ""
    args = ["--target", "warehouse"] if dsn else []
    project = _project(tmp_path / "p", [10.0, 12.0, 11.0, 9.0], dsn)
    code, outcome = _drift_result(project, args)
    assert code == 0 and outcome["status"] == "pass"
    assert "recorded" in str(outcome["message"])

    _project(project, [10.5, 12.0, 11.0, 9.5], dsn)  # mean +2.4 %: within 20 %
    code, outcome = _drift_result(project, args)
    assert code == 0 and outcome["status"] == "pass" and outcome["failures"] == 0

    _project(project, [20.0, 24.0, 22.0, 18.0], dsn)  # mean doubles, stddev doubles
    code, outcome = _drift_result(project, args)
    assert code == 1 and outcome["status"] == "fail"
    assert outcome["failures"] == 2
    moved = {m["statistic"] for m in outcome["sample"]}  # type: ignore[union-attr]
    assert moved == {"mean", "stddev"}

    code, outcome = _drift_result(project, args)  # compared with the run just before
    assert code == 0 and outcome["status"] == "pass"
