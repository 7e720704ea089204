"""What /push accepts does not depend on how rows are batched, a value of the wrong
shape is a 422 naming its field, and a time no client can be served (year > 9999) is
refused instead of failing every later read of the entity with a 500 (SPEC §10:
"Malformed input → 422 naming the field ... never a 500")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import NOW, aligned, event, write_project
from fastapi.testclient import TestClient

from aligned_cli.online.keys import TS_FIELD
from aligned_cli.serve import create_app

STAMP = (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture()
def api(tmp_path: Path, redis_url: str) -> Iterator[TestClient]:
    root = write_project(tmp_path / "p", redis_url, [event(1, 1, 0.25, 4)])
    assert aligned("materialize", cwd=root).exit_code == 0
    app = create_app(root / "target" / "manifest.json", redis_url)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _row(driver: int, **values: Any) -> dict[str, Any]:
    return {"driver_id": driver, "event_timestamp": STAMP, **values}


def _served(api: TestClient, drivers: list[int], feature: str) -> list[Any]:
    body = {"entities": {"driver_id": drivers}, "features": [f"driver_stats:{feature}"]}
    response = api.post("/features", json=body)
    assert response.status_code == 200, response.text
    return [r["features"][f"driver_stats:{feature}"]["value"] for r in response.json()["results"]]


def test_a_batch_mixing_numbers_and_their_text_is_read_as_each_row_alone(api: TestClient) -> None:
    rows = [
        _row(11, conv_rate=0.5, trips=1),
        _row(12, conv_rate="NaN", trips="2"),
        _row(13, conv_rate="Infinity", trips=3),
    ]
    pushed = api.post("/push", json={"view": "driver_stats", "rows": rows})
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["written"] == 3
    assert _served(api, [11, 12, 13], "conv_rate") == [0.5, "NaN", "Infinity"]
    assert _served(api, [11, 12, 13], "trips") == [1, 2, 3]


@pytest.mark.parametrize("value", [{"x": [1, 2]}, [1, 2.5]])
def test_an_object_or_list_for_a_string_feature_is_a_422(api: TestClient, value: Any) -> None:
    pushed = api.post(
        "/push", json={"view": "driver_stats", "rows": [_row(40), _row(41, city=value)]}
    )
    assert pushed.status_code == 422, pushed.text
    assert "rows.1.city" in pushed.text
    assert _served(api, [40, 41], "city") == [None, None]  # nothing of the batch written


def test_a_time_past_year_9999_is_a_422(api: TestClient) -> None:
    rows = [_row(30), {"driver_id": 31, "event_timestamp": "10000-01-01T00:00:00Z"}]
    pushed = api.post("/push", json={"view": "driver_stats", "rows": rows})
    assert pushed.status_code == 422, pushed.text
    assert "rows.1.event_timestamp" in pushed.text
    # The entity can still be pushed, and read.
    pushed = api.post("/push", json={"view": "driver_stats", "rows": [_row(31, conv_rate=0.1)]})
    assert pushed.status_code == 200 and pushed.json()["written"] == 1
    assert _served(api, [1, 31], "conv_rate") == [0.25, 0.1]


def test_a_stored_time_past_year_9999_is_served_undated(api: TestClient, redis_client: Any) -> None:
    """A source's data may hold such times (engines store them): one entity's row must
    not fail the request for all of them."""
    (key,) = [
        k for k in redis_client.scan_iter("aligned:fleet:driver_stats:*") if k.endswith(b":1")
    ]
    redis_client.hset(key, TS_FIELD, str(300_000_000_000_000_000))  # the year ~11476
    body = {"entities": {"driver_id": [1, 2]}, "features": ["driver_stats:conv_rate"]}
    response = api.post("/features", json=body)
    assert response.status_code == 200, response.text
    one, two = (r["features"]["driver_stats:conv_rate"] for r in response.json()["results"])
    assert one == {"value": 0.25, "status": "present", "event_timestamp": None}
    assert two["status"] == "not_found"
