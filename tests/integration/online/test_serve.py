"""The feature server: TestClient against create_app, real Redis, real DuckDB."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import NOW, aligned, event, write_project
from fastapi.testclient import TestClient

from aligned_cli.serve import create_app

ROWS = [event(1, 1, 0.25, 4), event(2, 2, float("nan"), 1, city=None)]
ISO = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture()
def project(tmp_path: Path, redis_url: str) -> Path:
    root = write_project(tmp_path / "p", redis_url, ROWS, ttl="1d")
    result = aligned("materialize", cwd=root)
    assert result.exit_code == 0, result.output
    return root


def client_for(root: Path, redis_url: str, **kwargs: Any) -> TestClient:
    app = create_app(root / "target" / "manifest.json", redis_url, **kwargs)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture()
def api(project: Path, redis_url: str) -> Iterator[TestClient]:
    with client_for(project, redis_url) as client:
        yield client


def features(api: TestClient, ids: list[Any], names: list[str], **kw: Any) -> Any:
    return api.post("/features", json={"entities": {"driver_id": ids}, "features": names}, **kw)


def test_features_in_request_order_with_status(api: TestClient) -> None:
    response = features(api, [2, 9, 1], ["driver_stats:conv_rate", "driver_stats:city"])
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["entity"] for r in results] == [{"driver_id": 2}, {"driver_id": 9}, {"driver_id": 1}]
    two, missing, one = (r["features"] for r in results)
    assert two["driver_stats:conv_rate"]["value"] == "NaN"
    assert two["driver_stats:city"] == {
        "value": None,
        "status": "present",
        "event_timestamp": (NOW - timedelta(hours=2)).strftime(ISO),
    }
    assert missing["driver_stats:conv_rate"]["status"] == "not_found"
    assert one["driver_stats:conv_rate"]["value"] == 0.25


def test_push_computes_derived_features_and_respects_cas(api: TestClient) -> None:
    newer = (NOW - timedelta(minutes=10)).strftime(ISO)
    older = (NOW - timedelta(hours=3)).strftime(ISO)
    row = {"driver_id": 1, "event_timestamp": newer, "conv_rate": 0.5, "trips": 6}
    pushed = api.post("/push", json={"view": "driver_stats", "rows": [row]})
    assert pushed.json() == {"written": 1, "ignored_older": 0, "ignored_expired": 0}
    old = {**row, "event_timestamp": older, "conv_rate": 0.1}
    pushed = api.post("/push", json={"view": "driver_stats", "rows": [old]})
    assert pushed.json() == {"written": 0, "ignored_older": 1, "ignored_expired": 0}
    got = features(api, [1], ["driver_stats:busy", "driver_stats:conv_rate"]).json()
    values = got["results"][0]["features"]
    assert values["driver_stats:busy"]["value"] == 3.0  # conv_rate * trips, by the view's SQL
    assert values["driver_stats:conv_rate"]["event_timestamp"] == newer


def test_push_reports_a_row_already_past_its_ttl_as_expired(api: TestClient) -> None:
    # ttl is 1d: a row from 2 days ago for a new entity is neither written nor "older".
    stale = (NOW - timedelta(days=2)).strftime(ISO)
    row = {"driver_id": 42, "event_timestamp": stale, "conv_rate": 0.5, "trips": 6}
    pushed = api.post("/push", json={"view": "driver_stats", "rows": [row]})
    assert pushed.status_code == 200, pushed.text
    assert pushed.json() == {"written": 0, "ignored_older": 0, "ignored_expired": 1}
    got = features(api, [42], ["driver_stats:conv_rate"]).json()
    assert got["results"][0]["features"]["driver_stats:conv_rate"]["status"] == "not_found"


def test_concurrent_writers_end_with_the_newest(api: TestClient) -> None:
    base = NOW - timedelta(hours=5)
    stamps = [base + timedelta(seconds=i) for i in range(40)]

    def push(order: list[datetime]) -> None:
        for ts in order:
            row = {"driver_id": 7, "event_timestamp": ts.isoformat(), "conv_rate": ts.second / 100}
            assert (
                api.post("/push", json={"view": "driver_stats", "rows": [row]}).status_code == 200
            )

    threads = [
        threading.Thread(target=push, args=(stamps[::-1],)),
        threading.Thread(target=push, args=(stamps,)),
        threading.Thread(target=push, args=(stamps[1::2] + stamps[::2],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    value = features(api, [7], ["driver_stats:conv_rate"]).json()["results"][0]["features"]
    assert value["driver_stats:conv_rate"]["value"] == stamps[-1].second / 100


def test_outside_ttl_when_the_row_outlived_its_ttl(project: Path, redis_url: str) -> None:
    later = datetime.now(UTC) + timedelta(days=2)
    with client_for(project, redis_url, clock=lambda: later) as api:
        value = features(api, [1], ["driver_stats:trips"]).json()["results"][0]["features"]
    assert value["driver_stats:trips"]["status"] == "outside_ttl"
    assert value["driver_stats:trips"]["value"] is None


def test_model_request(project: Path, redis_url: str) -> None:
    (project / "features" / "model.yml").write_text(
        "models:\n  - name: eta\n    features: [driver_stats:trips, driver_stats:busy]\n"
    )
    assert aligned("compile", cwd=project).exit_code == 0
    with client_for(project, redis_url) as api:
        body = {"model": "eta", "entities": {"driver_id": [1]}}
        got = api.post("/features", json=body).json()["results"][0]["features"]
    assert set(got) == {"driver_stats:trips", "driver_stats:busy"}


def test_auth(project: Path, redis_url: str) -> None:
    with client_for(project, redis_url, token="full", read_token="ro") as api:
        names = ["driver_stats:trips"]
        assert features(api, [1], names).status_code == 401
        bad = {"Authorization": "Bearer nope"}
        assert features(api, [1], names, headers=bad).status_code == 401
        assert features(api, [1], names, headers={"Authorization": "Bearer ro"}).status_code == 200
        push = {"view": "driver_stats", "rows": []}
        ro = api.post("/push", json=push, headers={"Authorization": "Bearer ro"})
        assert ro.status_code == 403
        full = api.post("/push", json=push, headers={"Authorization": "Bearer full"})
        assert full.status_code == 200
        assert api.get("/health").status_code == 200


def test_bad_requests(project: Path, redis_url: str) -> None:
    with client_for(project, redis_url, max_entities=3) as api:
        missing = api.post("/features", json={"features": ["driver_stats:trips"]})
        assert missing.status_code == 422 and missing.json()["field"] == "entities"
        wrong_key = features(api, [1], ["driver_stats:trips"])
        assert wrong_key.status_code == 200
        no_key = api.post(
            "/features", json={"entities": {"rider": [1]}, "features": ["driver_stats:trips"]}
        )
        assert no_key.status_code == 422 and "driver_id" in no_key.json()["field"]
        unknown = features(api, [1], ["driver_stats:trip"])
        assert unknown.status_code == 404 and "driver_stats:trip" in unknown.json()["error"]
        unknown_view = api.post("/push", json={"view": "drivers", "rows": []})
        assert unknown_view.status_code == 404 and "drivers" in unknown_view.json()["error"]
        too_many = features(api, [1, 2, 3, 4], ["driver_stats:trips"])
        assert too_many.status_code == 413
        bad_row = api.post("/push", json={"view": "driver_stats", "rows": [{"driver_id": 1}]})
        assert bad_row.status_code == 422 and "event_timestamp" in bad_row.json()["field"]
        assert api.get("/openapi.json").json()["paths"].keys() >= {"/features", "/push", "/health"}


def test_redis_unreachable_is_503(project: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once we leave: nothing listens
    with client_for(project, f"redis://127.0.0.1:{port}/0") as api:
        health = api.get("/health")
        assert health.status_code == 503 and health.json()["redis"] == "unreachable"
        assert features(api, [1], ["driver_stats:trips"]).status_code == 503
        row = {"driver_id": 1, "event_timestamp": NOW.isoformat(), "conv_rate": 0.1}
        assert api.post("/push", json={"view": "driver_stats", "rows": [row]}).status_code == 503


def test_push_rows_may_name_the_time_event_timestamp_whatever_the_view_calls_it() -> None:
    """SPEC §10's /push example sends `event_timestamp`; a view timed by `ts` takes it."""
    from aligned_cli.online.transform import _time_alias

    rows = [{"driver_id": 1, "event_timestamp": "2026-01-01T00:00:00Z", "x": 1}]
    assert _time_alias(rows, "ts", ["driver_id", "ts", "x"]) == [
        {"driver_id": 1, "x": 1, "ts": "2026-01-01T00:00:00Z"}
    ]
    # Left alone: the view's own name, a row giving both, an input named so.
    assert _time_alias(rows, "event_timestamp", ["event_timestamp"]) is rows
    both = [{**rows[0], "ts": "2026-01-02T00:00:00Z"}]
    assert _time_alias(both, "ts", ["ts", "x", "driver_id"]) == both
    assert _time_alias(rows, "ts", ["ts", "event_timestamp"]) is rows
