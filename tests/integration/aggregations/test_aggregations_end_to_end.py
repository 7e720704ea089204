"""Window aggregations end to end on fixtures/aggregations: `aligned run` (YAML and
DSL views), `store.features_for`, and `materialize` + `/features` with Redis.

Expected values come from a brute-force reading of the fixture's CSV (SPEC §4b).
"""

from __future__ import annotations

import asyncio
import csv
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from rides_reference import FIXTURE, assert_matches, expected, parse_time, window_rows
from typer.testing import CliRunner

from aligned_cli.cli.app import app


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "rides"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("target"))
    return root


def test_aligned_run_builds_aggregations_as_of_each_request(project: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--project-dir", str(project)])
    assert result.exit_code == 0, result.output
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    dataset = con.execute(
        f"SELECT * FROM read_parquet('{project / 'target/datasets/eta.parquet'}')"
    )
    names = [d[0] for d in dataset.description]
    rows = [dict(zip(names, r, strict=True)) for r in dataset.fetchall()]
    assert names[:3] == ["driver_id", "event_timestamp", "label"]
    with (FIXTURE / "data" / "requests.csv").open() as handle:
        spine = list(csv.DictReader(handle))
    assert len(rows) == len(spine)
    for row, request in zip(rows, spine, strict=True):
        t = parse_time(request["event_timestamp"])
        assert t is not None and row["driver_id"] == int(request["driver_id"])
        assert_matches(row, expected(row["driver_id"], t))
    # The last two requests sit exactly 7 days after a trip (excluded) and on it.
    edge = parse_time(spine[-2]["event_timestamp"])
    assert edge is not None and rows[-2]["trips_7d"] == expected(1, edge)["trips_7d"]
    # The DSL view: `fare.aggregate().count().over(days=7)` counts non-NULL fares.
    activity = con.execute(
        f"SELECT driver_id, event_timestamp, trips FROM "
        f"read_parquet('{project / 'target/datasets/activity.parquet'}')"
    ).fetchall()
    for driver, timestamp, trips in activity:
        t = timestamp.replace(tzinfo=UTC)
        assert trips == sum(1 for r in window_rows(driver, t, 7) if r["fare"] is not None)
    manifest = (project / "target" / "manifest.json").read_text()
    assert "feature.rides.trips.trips_7d" in manifest
    # Aggregated features carry their output type like any feature.
    nodes = json.loads(manifest)["nodes"]
    types = {
        uid.rsplit(".", 1)[1]: nodes[uid]["dtype"]
        for uid in nodes
        if uid.startswith("feature.rides.trips.")
    }
    assert types["trips_7d"] == "int64"  # count
    assert types["fare_mean_30d"] == "float"  # mean
    assert types["last_city"] == "string"  # last of a string column


def test_store_features_for_returns_aggregations(project: Path) -> None:
    from aligned_cli import FileSource

    assert CliRunner().invoke(app, ["compile", "--project-dir", str(project)]).exit_code == 0
    t = datetime(2026, 2, 10, 22, tzinfo=UTC)

    async def load() -> Any:
        store = await FileSource.json_at(str(project / "target/manifest.json")).feature_store()
        entities = {"driver_id": [1, 2, 5], "event_timestamp": [t, t, t]}
        names = [f"trips:{n}" for n in expected(1, t)]
        frame = await store.features_for(entities, features=names).to_pandas()
        latest = await store.features_for({"driver_id": [1]}, features=names).to_pandas()
        return frame, latest

    frame, latest = asyncio.run(load())
    for index, driver in enumerate([1, 2, 5]):
        row = {k: (None if v != v else v) for k, v in frame.iloc[index].to_dict().items()}
        assert_matches(row, expected(driver, t))
    # Without a timestamp: as of now, long after the fixture's last trip.
    assert int(latest["trips_7d"].iloc[0]) == 0


@pytest.mark.redis
def test_materialize_serves_aggregates_as_of_materialization(project: Path, redis_url: str) -> None:
    from fastapi.testclient import TestClient

    from aligned_cli.serve import create_app

    (project / "aligned_project.yml").write_text(
        (project / "aligned_project.yml")
        .read_text()
        .replace("{{ env_var('REDIS_URL', 'redis://127.0.0.1:6379/0') }}", redis_url)
    )
    as_of = datetime(2026, 2, 20, 12, tzinfo=UTC)
    runner = CliRunner()
    result = runner.invoke(
        app, ["materialize", "--end", as_of.isoformat(), "--project-dir", str(project)]
    )
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["compile", "--project-dir", str(project)]).exit_code == 0
    client = TestClient(create_app(project / "target" / "manifest.json", redis_url))
    names = [f"trips:{n}" for n in expected(1, as_of)]
    reply = client.post(
        "/features",
        json={"entities": {"driver_id": [1, 4, 99]}, "features": [*names, "trips:fare"]},
    )
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    for index, driver in enumerate([1, 4]):
        features = results[index]["features"]
        served = {n.split(":")[1]: features[n]["value"] for n in names}
        assert_matches(served, expected(driver, as_of))
        assert features["trips:trips_7d"]["event_timestamp"] == "2026-02-20T12:00:00Z"
        assert features["trips:fare"]["status"] == "present"
    assert results[2]["features"]["trips:trips_7d"]["status"] == "not_found"
