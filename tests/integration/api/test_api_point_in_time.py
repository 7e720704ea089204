"""`features_for` with an `event_timestamp` column is point-in-time (SPEC §4),
checked row by row against a brute-force reference on DuckDB and PostgreSQL."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_helpers import as_of, driver_events, spine_rows

from aligned_cli import FeatureStore


def _expected(column: str, ttl: timedelta | None = None) -> list[Any]:
    events = driver_events()
    return [
        as_of(events, row["driver_id"], row["event_timestamp"].replace(tzinfo=UTC), column, ttl)
        for row in spine_rows()
    ]


def _same(actual: list[object], expected: list[object]) -> None:
    assert len(actual) == len(expected)
    for index, (got, want) in enumerate(zip(actual, expected, strict=True)):
        if isinstance(want, float) and isinstance(got, float):
            assert math.isclose(got, want), (index, got, want)
        else:
            assert got == want, (index, got, want)


def _check_store(store: FeatureStore) -> None:
    spine = spine_rows()
    entities = {
        "driver_id": [r["driver_id"] for r in spine],
        "event_timestamp": [r["event_timestamp"] for r in spine],
    }
    job = store.model("driver_model").features_for(entities)
    table = asyncio.run(job.to_arrow())
    # Entity columns first and in order, then the model's features in order; the two
    # views share `rate`, so both are named view__feature.
    assert table.column_names == [
        "driver_id",
        "event_timestamp",
        "driver_stats__rate",
        "trips",
        "driver_recent__rate",
    ]
    assert table.column("driver_id").to_pylist() == entities["driver_id"]
    _same(table.column("driver_stats__rate").to_pylist(), _expected("rate"))
    _same(table.column("trips").to_pylist(), _expected("trips"))
    _same(table.column("driver_recent__rate").to_pylist(), _expected("rate", timedelta(days=2)))

    derived = store.features_for(entities, features=["driver_stats:rate_pct"]).to_arrow_sync()
    _same(
        derived.column("rate_pct").to_pylist(),
        [None if v is None else v * 100 for v in _expected("rate")],
    )


def test_point_in_time_on_duckdb(temporal_manifest: Path) -> None:
    _check_store(FeatureStore.from_manifest(temporal_manifest))


@pytest.mark.postgres
def test_point_in_time_on_postgres(postgres_temporal_manifest: Path) -> None:
    store = FeatureStore.from_manifest(postgres_temporal_manifest).with_connection("warehouse")
    assert store.connection.type == "postgres"
    _check_store(store)
    # offline_store() is the default connection again.
    assert store.offline_store().connection.type == "duckdb"


def test_without_event_timestamp_gets_the_latest_values(temporal_manifest: Path) -> None:
    store = FeatureStore.from_manifest(temporal_manifest)
    events = driver_events()
    now = max(r["event_timestamp"] for r in events)
    table = store.features_for({"driver_id": [3, 5, 1]}, ["driver_stats:trips"]).to_arrow_sync()
    latest = [as_of(events, d, now + timedelta(days=1), "trips") for d in (3, 5, 1)]
    assert table.column("trips").to_pylist() == latest
