"""A small temporal project written per test, and helpers to run aligned on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

NOW = datetime.now(UTC).replace(microsecond=0)


def write_project(root: Path, redis_url: str, rows: list[dict[str, Any]], ttl: str = "30d") -> Path:
    """`drivers`: a temporal view with created tie-breaker, ttl and a derived feature."""

    (root / "features").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "aligned_project.yml").write_text(
        "name: fleet\n"
        "feature-paths: [features]\n"
        "target-path: target\n"
        "default-connection: local\n"
        "connections:\n  local: {type: duckdb, path: target/aligned.duckdb}\n"
        f"online:\n  redis: {{url: '{redis_url}'}}\n"
    )
    (root / "features" / "drivers.yml").write_text(
        f"""
sources:
  - name: driver_events
    file: data/driver_events.parquet
    stream: driver_events
feature_views:
  - name: driver_stats
    source: driver_events
    entities: [driver_id]
    event_timestamp: event_timestamp
    created_timestamp: created
    ttl: {ttl}
    features:
      driver_id: {{type: int64}}
      conv_rate: {{type: float}}
      trips: {{type: int32}}
      city: {{type: string, optional: true}}
      active: {{type: bool}}
      busy: {{expression: "conv_rate * trips"}}
"""
    )
    write_events(root, rows)
    return root


def write_events(root: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("driver_id", pa.int64()),
            ("event_timestamp", pa.timestamp("us", tz="UTC")),
            ("created", pa.timestamp("us", tz="UTC")),
            ("conv_rate", pa.float64()),
            ("trips", pa.int32()),
            ("city", pa.string()),
            ("active", pa.bool_()),
        ]
    )
    pq.write_table(
        pa.Table.from_pylist(rows, schema=schema), root / "data" / "driver_events.parquet"
    )


def event(
    driver: int, hours_ago: float, conv: float, trips: int = 1, **extra: Any
) -> dict[str, Any]:
    row = {
        "driver_id": driver,
        "event_timestamp": NOW - timedelta(hours=hours_ago),
        "created": extra.pop("created", NOW - timedelta(hours=hours_ago)),
        "conv_rate": conv,
        "trips": trips,
        "city": extra.pop("city", "oslo"),
        "active": extra.pop("active", True),
    }
    return row


def aligned(*args: str, cwd: Path) -> Any:
    """Run the CLI in-process (typer's runner); returns the result."""
    from typer.testing import CliRunner

    from aligned_cli.cli.app import app

    result = CliRunner().invoke(app, [*args, "--project-dir", str(cwd)])
    return result


@pytest.fixture()
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()
