"""A brute-force reading of fixtures/aggregations' trips (SPEC §4b), shared by the
aggregation integration tests: the expected aggregations of a driver as of `t`."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "aggregations"
DAY = timedelta(days=1)


def parse_time(text: str) -> datetime | None:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None


def trip_rows() -> list[dict[str, Any]]:
    with (FIXTURE / "data" / "trips.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return [
        {
            "driver_id": int(r["driver_id"]),
            "ts": parse_time(r["event_timestamp"]),
            "created": parse_time(r["created_at"]),
            "fare": float(r["fare"]) if r["fare"] else None,
            "city": r["city"],
        }
        for r in rows
    ]


def window_rows(driver: int, t: datetime, days: int) -> list[dict[str, Any]]:
    """The driver's trips in (t - days, t], one version per event (latest created)."""
    latest: dict[datetime, dict[str, Any]] = {}
    for row in trip_rows():
        if row["driver_id"] != driver or not t - days * DAY < row["ts"] <= t:
            continue
        if row["ts"] not in latest or row["created"] > latest[row["ts"]]["created"]:
            latest[row["ts"]] = row
    return [latest[ts] for ts in sorted(latest)]


def expected(driver: int, t: datetime) -> dict[str, Any]:
    fares_30 = [r["fare"] for r in window_rows(driver, t, 30) if r["fare"] is not None]
    tips_7 = [r["fare"] * 1.1 for r in window_rows(driver, t, 7) if r["fare"] is not None]
    cities_90 = [r["city"] for r in window_rows(driver, t, 90)]
    return {
        "trips_7d": len(window_rows(driver, t, 7)),
        "fare_sum_30d": sum(fares_30) if fares_30 else None,
        "fare_mean_30d": sum(fares_30) / len(fares_30) if len(fares_30) >= 3 else None,
        "tip_max_7d": max(tips_7) if tips_7 else None,
        "cities_30d": len({r["city"] for r in window_rows(driver, t, 30)}),
        "last_city": cities_90[-1] if cities_90 else None,
    }


def assert_matches(row: dict[str, Any], want: dict[str, Any]) -> None:
    for name, value in want.items():
        if isinstance(value, float):
            assert row[name] == pytest.approx(value, rel=1e-9), (name, row)
        else:
            assert row[name] == value, (name, row)


def event_instants() -> list[tuple[int, datetime]]:
    """Every distinct (driver, event time) of the trips: where constraints are judged."""
    return sorted({(r["driver_id"], r["ts"]) for r in trip_rows() if r["ts"] is not None})
