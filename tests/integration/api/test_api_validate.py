"""`.validate()` drops, and `.validate(mode="flag")` flags, rows breaking constraints;
a NULL from missing history is not a `required` violation."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest
from api_helpers import as_of, driver_events, spine_rows

from aligned_cli import FeatureStore
from aligned_cli.errors import AlignedError

RATE, TRIPS = "driver_stats__rate", "trips"


def _reference() -> list[dict[str, bool]]:
    """Per spine row: the as-of values, whether a row existed, and each violation."""
    events = driver_events()
    rows = []
    for row in spine_rows():
        t = row["event_timestamp"].replace(tzinfo=UTC)
        had_row = as_of(events, row["driver_id"], t, "driver_id") is not None
        rate = as_of(events, row["driver_id"], t, "rate")
        trips = as_of(events, row["driver_id"], t, "trips")
        rows.append(
            {
                "had_row": had_row,
                "lower": rate is not None and rate < 0,
                "upper": rate is not None and rate > 1,
                "required": had_row and trips is None,
            }
        )
    return rows


def _entities() -> dict[str, list[object]]:
    spine = spine_rows()
    return {
        "driver_id": [r["driver_id"] for r in spine],
        "event_timestamp": [r["event_timestamp"] for r in spine],
    }


@pytest.fixture()
def store(temporal_manifest: Path) -> FeatureStore:
    return FeatureStore.from_manifest(temporal_manifest)


def test_flag_mode_adds_one_boolean_column_per_constraint(store: FeatureStore) -> None:
    table = store.model("driver_model").features_for(_entities()).validate("flag").to_arrow_sync()
    flags = [
        f"{RATE}__lower_bound__violated",
        f"{RATE}__upper_bound__violated",
        f"{TRIPS}__required__violated",
    ]
    assert table.column_names[-3:] == flags
    assert not any(c.startswith("__aligned") for c in table.column_names)  # helpers dropped
    reference = _reference()
    for flag, key in zip(flags, ["lower", "upper", "required"], strict=True):
        assert table.column(flag).null_count == 0
        assert table.column(flag).to_pylist() == [r[key] for r in reference], flag
    # The data has each kind of violation, and entities without history.
    assert all(any(r[k] for r in reference) for k in ("lower", "upper", "required"))
    missing = [i for i, r in enumerate(reference) if not r["had_row"]]
    assert missing and all(table.column(TRIPS)[i].as_py() is None for i in missing)


def test_drop_mode_keeps_valid_rows_and_rows_without_history(store: FeatureStore) -> None:
    job = store.model("driver_model").features_for(_entities())
    everything = job.to_arrow_sync()
    kept = job.validate().to_pandas_sync()
    reference = _reference()
    valid = [i for i, r in enumerate(reference) if not (r["lower"] or r["upper"] or r["required"])]
    assert len(kept) == len(valid) < everything.num_rows
    assert kept["driver_id"].tolist() == [everything.column("driver_id")[i].as_py() for i in valid]
    assert list(kept.columns) == everything.column_names  # no flag or helper columns


def test_validate_view_rows(store: FeatureStore) -> None:
    events = driver_events()
    kept = store.feature_view("driver_stats").all().validate().to_arrow_sync()
    expected = [
        e for e in events if e["trips"] is not None and (e["rate"] is None or 0 <= e["rate"] <= 1)
    ]
    assert kept.num_rows == len(expected)


def test_validate_titanic_and_bad_mode(titanic_manifest: Path) -> None:
    store = FeatureStore.from_manifest(titanic_manifest)
    assert store.feature_view("passenger").all().validate().to_arrow_sync().num_rows == 891
    with pytest.raises(AlignedError, match="unknown validation mode"):
        store.feature_view("passenger").all().validate("strict")
