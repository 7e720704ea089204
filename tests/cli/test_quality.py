"""`aligned test` and blocking checks in `aligned run`, with planted faults and exact
counts (fixtures/quality/features/quality.yml explains each), on DuckDB and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "quality"

EXPECTED = {
    # test name: (status, failures)
    "drivers__unique": ("fail", 1),
    "drivers__city__required": ("fail", 1),
    "drivers__city__accepted_values": ("fail", 1),
    "drivers__rating__lower_bound": ("pass", 0),
    "drivers__rating__upper_bound": ("fail", 1),
    "drivers__rating__null_rate": ("pass", 0),
    "drivers__trips__lower_bound": ("warn", 1),
    "drivers__strict_rating__upper_bound": ("fail", 2),
    "drivers__row_count": ("pass", 0),
    "drivers_no_zero_rating": ("warn", 1),
    "trips__unique": ("pass", 0),
    "trips__driver_id__relationships": ("fail", 1),
}


@pytest.fixture()
def quality_project(tmp_path: Path) -> Path:
    target = tmp_path / "quality"
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("target"))
    return target


def _results(project: Path) -> dict[str, dict[str, object]]:
    data = json.loads((project / "target" / "run_results.json").read_text())
    return {r["name"]: r for r in data["results"]}


def _check_counts(project: Path) -> None:
    results = _results(project)
    got = {name: (r["status"], r["failures"]) for name, r in results.items() if r["kind"] == "test"}
    assert got == EXPECTED


@pytest.fixture(params=["duckdb", "postgres"])
def engine_args(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    if request.param == "duckdb":
        return []
    dsn = request.getfixturevalue("postgres_dsn")
    monkeypatch.setenv("ALIGNED_TEST_POSTGRES_DSN", dsn)
    return ["--target", "warehouse"]


def test_test_reports_exact_counts(quality_project: Path, engine_args: list[str]) -> None:
    result = CliRunner().invoke(app, ["test", "--project-dir", str(quality_project), *engine_args])
    assert result.exit_code == 1, result.output
    _check_counts(quality_project)
    sample = _results(quality_project)["drivers__rating__upper_bound"]["sample"]
    assert isinstance(sample, list) and sample[0]["rating"] == 6.0


def test_selected_tests_only(quality_project: Path) -> None:
    result = CliRunner().invoke(
        app, ["test", "--project-dir", str(quality_project), "--select", "view:trips"]
    )
    assert result.exit_code == 1
    assert set(_results(quality_project)) == {"trips__unique", "trips__driver_id__relationships"}


def test_warn_only_selection_exits_zero(quality_project: Path) -> None:
    result = CliRunner().invoke(
        app, ["test", "--project-dir", str(quality_project), "--select", "drivers_no_zero_rating"]
    )
    assert result.exit_code == 0, result.output
    assert _results(quality_project)["drivers_no_zero_rating"]["status"] == "warn"


def test_broken_custom_sql_is_an_error_not_a_failure(quality_project: Path) -> None:
    features = quality_project / "features" / "quality.yml"
    features.write_text(
        features.read_text().replace("where rating = 0", "where no_such_column = 0")
    )
    result = CliRunner().invoke(
        app, ["test", "--project-dir", str(quality_project), "--select", "drivers_no_zero_rating"]
    )
    assert result.exit_code == 1
    outcome = _results(quality_project)["drivers_no_zero_rating"]
    assert outcome["status"] == "error"
    assert "no_such_column" in str(outcome["message"])


def test_run_blocks_on_failing_tests_and_skips_descendants(quality_project: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--project-dir", str(quality_project)])
    assert result.exit_code == 1
    results = _results(quality_project)
    assert results["trips"]["status"] == "fail"
    assert "trips__driver_id__relationships" in str(results["trips"]["message"])
    assert results["fares"]["status"] == "skipped"
    assert not (quality_project / "target" / "datasets" / "fares.parquet").exists()


def test_empty_selection_warns_and_exits_zero(quality_project: Path) -> None:
    result = CliRunner().invoke(
        app, ["test", "--project-dir", str(quality_project), "--select", "tag:nothing"]
    )
    assert result.exit_code == 0
    assert "nothing selected" in result.output


def test_text_output_ends_with_a_tests_table(quality_project: Path) -> None:
    result = CliRunner().invoke(app, ["test", "--project-dir", str(quality_project)])
    assert result.exit_code == 1
    table = result.output[result.output.index("Tests") :]
    for header in ("test", "status", "failures", "sample"):
        assert header in table
    assert "drivers__unique" in table and '"n_records": 2' in table
