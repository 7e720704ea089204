"""Constraints on aggregations (SPEC §4b, §6) on fixtures/aggregations, on DuckDB and
PostgreSQL: `aligned test` judges each aggregation as of every distinct (driver, event
time) of the view, `aligned run` judges new rows before the swap, and `.validate()`
checks aggregations like features. Expected counts come from `rides_reference`.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rides_reference import FIXTURE, event_instants, expected
from typer.testing import CliRunner

from aligned_cli.cli.app import app


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "rides"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("target"))
    return root


@pytest.fixture(params=["duckdb", "postgres"])
def engine_args(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    if request.param == "duckdb":
        return []
    monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("postgres_dsn"))
    return ["--target", "warehouse"]


def _failures(check: str) -> int:
    """How many (driver, event time) break the fixture's constraint `check`."""
    count = 0
    for driver, t in event_instants():
        values = expected(driver, t)
        mean = values["fare_mean_30d"]
        broken = {
            "trips_7d__lower_bound": values["trips_7d"] < 1,
            "fare_sum_30d__lower_bound": (values["fare_sum_30d"] or 0) < 0,
            "fare_mean_30d__required": mean is None,
            "fare_mean_30d__upper_bound": mean is not None and mean > 40,
            "trips_7d__upper_bound": values["trips_7d"] > 2,
        }[check]
        count += broken
    return count


def _results(project: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((project / "target" / "run_results.json").read_text())
    return {r["name"]: r for r in data["results"]}


def test_aggregation_constraints_are_judged_as_of_each_event(
    project: Path, engine_args: list[str]
) -> None:
    result = CliRunner().invoke(app, ["test", "--project-dir", str(project), *engine_args])
    assert result.exit_code == 0, result.output  # only warnings fail here
    results = _results(project)
    for check, status in [
        ("trips_7d__lower_bound", "pass"),
        ("fare_sum_30d__lower_bound", "pass"),
        ("fare_mean_30d__required", "warn"),
        ("fare_mean_30d__upper_bound", "warn"),
    ]:
        got = results[f"trips__{check}"]
        assert (got["status"], got["failures"]) == (status, _failures(check)), got
    assert _failures("fare_mean_30d__required") > 0  # the fixture plants failures
    assert _failures("fare_mean_30d__upper_bound") > 0
    # A failing row names the entity and the instant the value broke the constraint.
    sample = results["trips__fare_mean_30d__required"]["sample"]
    assert sample and set(sample[0]) == {"driver_id", "event_timestamp", "fare_mean_30d"}
    for row in sample:
        t = datetime.fromisoformat(row["event_timestamp"])
        assert expected(row["driver_id"], t)["fare_mean_30d"] is None


def test_blocking_aggregation_constraint_keeps_the_old_rows(
    project: Path, engine_args: list[str]
) -> None:
    """Build -> test -> swap: a failing error-severity aggregation constraint is judged
    on the staged rows and keeps the view's old data."""
    features = project / "features" / "trips.yml"
    text = features.read_text()
    text = text.replace(
        "    source: trips_csv\n",
        "    source: trips_csv\n"
        "    materialized_source: {file: target/materialized/trips.parquet}\n",
    )
    text = text.replace(
        "trips_7d:      {function: count, window: 7d, lower_bound: 1}",
        "trips_7d:      {function: count, window: 7d, lower_bound: 1, upper_bound: 2}",
    )
    features.write_text(text)
    result = CliRunner().invoke(app, ["run", "--project-dir", str(project), *engine_args])
    assert result.exit_code == 1, result.output
    results = _results(project)
    failing = results["trips__trips_7d__upper_bound"]
    assert (failing["status"], failing["failures"]) == ("fail", _failures("trips_7d__upper_bound"))
    assert results["trips__trips_7d__lower_bound"]["status"] == "pass"
    assert results["trips"]["status"] == "fail"
    assert "trips__trips_7d__upper_bound" in results["trips"]["message"]
    assert not (project / "target" / "materialized" / "trips.parquet").exists()


def test_validate_checks_aggregation_constraints(project: Path) -> None:
    """`.validate("flag")` flags aggregations like features; an empty window is no
    violation of `required`, a window below `min_rows` is."""
    from aligned_cli import FileSource

    assert CliRunner().invoke(app, ["compile", "--project-dir", str(project)]).exit_code == 0
    instants = [(driver, t) for driver, t in event_instants()][:40]
    instants.append((1, datetime(2030, 1, 1, tzinfo=UTC)))  # far later: empty windows
    entities = {
        "driver_id": [d for d, _ in instants],
        "event_timestamp": [t for _, t in instants],
    }
    names = ["trips:fare_mean_30d", "trips:trips_7d"]

    async def load() -> tuple[Any, Any]:
        store = await FileSource.json_at(str(project / "target/manifest.json")).feature_store()
        flagged = await store.features_for(entities, features=names).validate("flag").to_pandas()
        kept = await store.features_for(entities, features=names).validate("drop").to_pandas()
        return flagged, kept

    flagged, kept = asyncio.run(load())
    want_required = [expected(d, t)["fare_mean_30d"] is None for d, t in instants[:-1]]
    want_upper = [
        (m := expected(d, t)["fare_mean_30d"]) is not None and m > 40 for d, t in instants[:-1]
    ]
    assert list(flagged["fare_mean_30d__required__violated"]) == [*want_required, False]
    assert list(flagged["fare_mean_30d__upper_bound__violated"]) == [*want_upper, False]
    assert not flagged["trips_7d__lower_bound__violated"].iloc[:-1].any()
    # As of 2030 the 7-day count is 0: below its lower bound of 1.
    assert bool(flagged["trips_7d__lower_bound__violated"].iloc[-1])
    assert any(want_required) and any(want_upper)
    broken = [r or u for r, u in zip(want_required, want_upper, strict=True)]
    assert len(kept) == broken.count(False)
    assert not any(c.startswith("__aligned") for c in flagged.columns)
