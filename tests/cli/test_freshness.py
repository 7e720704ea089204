"""`aligned freshness` on sources and views, thresholds at the boundary, both engines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app


def _project(root: Path, ages_hours: dict[str, float], dsn: str = "") -> Path:
    now = datetime.now(UTC).replace(tzinfo=None)
    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    connections = "  local: {type: duckdb, path: ':memory:'}\n"
    if dsn:
        connections += f"  warehouse: {{type: postgres, dsn: '{dsn}'}}\n"
    (root / "aligned_project.yml").write_text(f"name: fresh\nconnections:\n{connections}")
    for name, hours in ages_hours.items():
        stamp = (now - timedelta(hours=hours)).isoformat(sep=" ")
        (root / "data" / f"{name}.csv").write_text(f"id,loaded\n1,{stamp}\n2,2020-01-01 00:00:00\n")
    sources = "\n".join(
        f"""  - name: {name}
    file: data/{name}.csv
    loaded_at_field: loaded
    freshness: {{warn_after: 1d, error_after: 2d}}"""
        for name in ages_hours
    )
    (root / "features" / "f.yml").write_text(
        f"""sources:
{sources}
feature_views:
  - name: events
    source: {next(iter(ages_hours))}
    entities: [id]
    event_timestamp: loaded
    freshness: {{warn_after: 1h}}
    features:
      id: {{type: int64}}
models:
  - name: m
    features: [events:id]
"""
    )
    return root


def _results(project: Path) -> dict[str, dict[str, object]]:
    data = json.loads((project / "target" / "freshness.json").read_text())
    return {r["name"]: r for r in data["results"]}


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_statuses_and_model_rollup(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    dsn = request.getfixturevalue("postgres_dsn") if engine == "postgres" else ""
    project = _project(tmp_path / "p", {"fresh_src": 2, "warn_src": 30, "stale_src": 60}, dsn)
    args = ["freshness", "--project-dir", str(project)]
    if dsn:
        args += ["--target", "warehouse"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    rows = _results(project)
    assert rows["fresh_src"]["status"] == "pass"
    assert rows["warn_src"]["status"] == "warn"
    assert rows["stale_src"]["status"] == "error"
    assert rows["events"]["status"] == "warn"  # 2 h old against warn_after 1h
    assert 2 * 3600 - 60 < float(rows["fresh_src"]["age_seconds"]) < 2 * 3600 + 60  # type: ignore[arg-type]
    assert rows["m"]["status"] == "warn" and "events" in str(rows["m"]["message"])


def test_selecting_one_fresh_source_passes(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", {"fresh_src": 1, "stale_src": 100})
    result = CliRunner().invoke(
        app, ["freshness", "--project-dir", str(project), "--select", "source:fresh_src"]
    )
    assert result.exit_code == 0, result.output
    assert set(_results(project)) == {"fresh_src"}
    assert "fresh_src" in result.output


def test_freshness_json_uses_iso_timestamps_and_warn_level(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", {"warn_src": 30})
    result = CliRunner().invoke(
        app,
        ["freshness", "--project-dir", str(project), "--log-format", "json", "-s", "warn_src"],
    )
    assert result.exit_code == 0, result.output
    row = _results(project)["warn_src"]
    for key in ("max_loaded_at", "snapshotted_at"):
        assert datetime.fromisoformat(str(row[key])).tzinfo is not None
        assert "T" in str(row[key])
    logs = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    warned = [log for log in logs if log.get("unique_id") == row["unique_id"]]
    assert [log["level"] for log in warned] == ["warn"]


def test_freshness_table_spells_thresholds_as_durations(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", {"fresh_src": 1})
    result = CliRunner().invoke(
        app, ["freshness", "--project-dir", str(project), "-s", "fresh_src"]
    )
    assert result.exit_code == 0, result.output
    assert "1d" in result.output and "2d" in result.output
    assert "1.0d" not in result.output


def test_project_without_freshness_warns_instead_of_printing_an_empty_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The template's model has no source or view upstream that declares freshness.
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, ["init", "demo"]).exit_code == 0
    result = CliRunner().invoke(app, ["freshness", "--project-dir", "demo"])
    assert result.exit_code == 0, result.output
    assert "nothing selected declares freshness" in result.output
    assert "Freshness" not in result.output  # no empty table
    written = json.loads((tmp_path / "demo" / "target" / "freshness.json").read_text())
    assert written["results"] == []


def test_why_a_node_could_not_be_measured_is_shown(tmp_path: Path) -> None:
    """A runtime error says why on screen and in JSON logs, not only in freshness.json."""
    project = _project(tmp_path / "p", {"broken": 1})
    features = project / "features" / "f.yml"
    features.write_text(
        features.read_text().replace("loaded_at_field: loaded", "loaded_at_field: nope")
    )
    result = CliRunner().invoke(app, ["freshness", "--project-dir", str(project), "-s", "broken"])
    assert result.exit_code == 1, result.output
    assert "source broken: runtime error — " in result.output and "nope" in result.output
    result = CliRunner().invoke(
        app,
        ["freshness", "--project-dir", str(project), "-s", "broken", "--log-format", "json"],
    )
    (log,) = [json.loads(x) for x in result.output.splitlines() if '"source.fresh.broken"' in x]
    assert log["status"] == "runtime error" and "nope" in log["reason"]
