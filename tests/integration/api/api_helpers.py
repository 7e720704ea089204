"""The temporal project of the runtime API tests, and its brute-force
point-in-time reference (SPEC §4)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

from aligned_cli.pipeline import build_manifest, load_and_compile, write_compiled

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
# Events on an hourly grid over the last 60 days, so ties and windows are easy to hit.
START = NOW - timedelta(days=60)
DRIVERS = [1, 2, 3, 4, 5]

TEMPORAL_PROJECT = """\
name: rides
feature-paths: [features]
target-path: target
default-connection: local
connections:
  local: {{type: duckdb, path: target/aligned.duckdb}}
  warehouse: {{type: postgres, dsn: "{dsn}"}}
"""

TEMPORAL_FEATURES = """\
sources:
  - name: driver_events
    file: data/driver_events.parquet
  - name: departure_log
    file: data/departures.csv
    loaded_at_field: loaded_at

feature_views:
  - name: driver_stats
    source: driver_events
    entities: [driver_id]
    event_timestamp: event_timestamp
    created_timestamp: created
    features:
      rate:  {type: float, lower_bound: 0, upper_bound: 1}
      trips: {type: int64, required: true}
      rate_pct: {expression: "rate * 100"}
  - name: driver_recent
    source: driver_events
    entities: [driver_id]
    event_timestamp: event_timestamp
    created_timestamp: created
    ttl: 2d
    features:
      rate: {type: float}
  - name: departures
    source: departure_log
    entities: [station_id]
    event_timestamp: departed_at
    features:
      delay: {type: float}

models:
  - name: driver_model
    features: [driver_stats:rate, driver_stats:trips, driver_recent:rate]
"""


def compile_project(root: Path) -> Path:
    """`aligned compile`: the project's target/manifest.json."""
    compiled = load_and_compile(root)
    path: Path = write_compiled(compiled, build_manifest(compiled))
    return path


class Event(TypedDict):
    driver_id: int
    event_timestamp: datetime
    created: datetime | None
    rate: float | None
    trips: int | None


class SpineRow(TypedDict):
    driver_id: int
    event_timestamp: datetime  # naive: read as UTC


def driver_events(seed: int = 7) -> list[Event]:
    """Feature rows with ties on event_timestamp broken by `created` (NULLs too),
    NULL feature values, and out-of-bounds rates for `.validate()`."""
    rng = random.Random(seed)
    rows: list[Event] = []
    seen: set[tuple[object, ...]] = set()
    for _ in range(400):
        driver = rng.choice(DRIVERS[:-1])  # driver 5 has no history at all
        event = START + timedelta(hours=rng.randrange(0, 60 * 24, 6))
        created: datetime | None = event + timedelta(minutes=rng.choice([0, 5, 10]))
        if rng.random() < 0.1:
            created = None
        if (driver, event, created) in seen:
            continue  # equal keys, event and created: unspecified which wins
        seen.add((driver, event, created))
        rate = None if rng.random() < 0.1 else round(rng.uniform(-0.1, 1.1), 3)
        rows.append(
            {
                "driver_id": driver,
                "event_timestamp": event,
                "created": created,
                "rate": rate,
                "trips": None if rng.random() < 0.05 else rng.randrange(0, 50),
            }
        )
    return rows


def spine_rows(seed: int = 11) -> list[SpineRow]:
    rng = random.Random(seed)
    rows: list[SpineRow] = []
    for _ in range(150):
        hours = rng.randrange(-48, 61 * 24, 3)  # before, inside and after the events
        rows.append(
            {
                "driver_id": rng.choice([*DRIVERS, 99]),
                # Naive on purpose: naive instants are read as UTC.
                "event_timestamp": (START + timedelta(hours=hours)).replace(tzinfo=None),
            }
        )
    return rows


def write_temporal_project(root: Path, dsn: str = "postgresql://127.0.0.1:5432/postgres") -> Path:
    """A project with temporal views; returns the path of its compiled manifest."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text(TEMPORAL_PROJECT.format(dsn=dsn))
    (root / "features" / "rides.yml").write_text(TEMPORAL_FEATURES)
    schema = pa.schema(
        [
            ("driver_id", pa.int64()),
            ("event_timestamp", pa.timestamp("us", tz="UTC")),
            ("created", pa.timestamp("us", tz="UTC")),
            ("rate", pa.float64()),
            ("trips", pa.int64()),
        ]
    )
    pq.write_table(
        pa.Table.from_pylist(driver_events(), schema=schema),
        root / "data" / "driver_events.parquet",
    )
    (root / "data" / "departures.csv").write_text(
        "station_id,departed_at,delay,loaded_at\n"
        "1,2026-01-01 10:00:00,1.5,2026-01-02 08:00:00\n"
        "1,2026-01-03 10:00:00,0.5,2026-01-04 09:30:00\n"
        "2,2026-01-02 12:00:00,3.0,2026-01-02 13:00:00\n"
    )
    return compile_project(root)


def as_of(
    events: list[Event],
    driver: int,
    t: datetime | None,
    column: str,
    ttl: timedelta | None = None,
) -> Any:
    """Brute force SPEC §4: the row with the greatest event_timestamp <= t (within
    ttl), ties broken by the greatest `created` (a NULL created loses)."""
    if t is None or driver is None:
        return None
    qualifying = [
        r
        for r in events
        if r["driver_id"] == driver
        and r["event_timestamp"] <= t
        and (ttl is None or r["event_timestamp"] >= t - ttl)
    ]
    if not qualifying:
        return None
    best = max(
        qualifying,
        key=lambda r: (r["event_timestamp"], r["created"] is not None, r["created"] or START),
    )
    return best[column]  # type: ignore[literal-required]
