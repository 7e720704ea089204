"""SPEC §10 conformance audit: `aligned materialize` then the feature server's contract
(statuses, ISO-8601 UTC timestamps, ignored_older, 401/403/404/413/422/503, /health
body, /openapi.json). Real Redis, real DuckDB, the real `aligned materialize`."""

from __future__ import annotations

import re
import socket
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from _audit import run_aligned
from fastapi.testclient import TestClient

from aligned_cli.serve import create_app

NOW = datetime.now(UTC).replace(microsecond=0)
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$")


def _naive(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(sep=" ")


@pytest.fixture()
def project(tmp_path: Path, redis_url: str) -> Path:
    root = tmp_path / "p"
    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text(
        "name: srv\nconnections:\n  local: {type: duckdb, path: target/srv.duckdb}\n"
    )
    (root / "data" / "s.csv").write_text(
        "driver_id,event_timestamp,conv_rate,trips\n"
        f"1,{_naive(NOW - timedelta(hours=1))},0.5,2\n"
        f"2,{_naive(NOW - timedelta(hours=3))},0.25,4\n"
    )
    (root / "features" / "f.yml").write_text(
        textwrap.dedent(
            """
            sources: [{name: s, file: data/s.csv}]
            feature_views:
              - name: driver_stats
                source: s
                entities: [driver_id]
                event_timestamp: event_timestamp
                ttl: 1d
                features:
                  driver_id: {type: int64}
                  conv_rate: {type: float}
                  trips: {type: int64}
                  busy: {expression: "conv_rate * trips"}
            models:
              - name: dispatch
                features: [driver_stats:busy, driver_stats:conv_rate]
            """
        )
    )
    result = run_aligned("materialize", "--project-dir", str(root), "--redis-url", redis_url)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.fixture()
def api(project: Path, redis_url: str) -> Iterator[TestClient]:
    app = create_app(
        project / "target" / "manifest.json",
        redis_url,
        token="full",
        read_token="read",
        max_entities=3,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


READ = {"Authorization": "Bearer read"}
FULL = {"Authorization": "Bearer full"}


def _features(api: TestClient, ids: list[Any], names: list[str], headers: Any = READ) -> Any:
    body = {"entities": {"driver_id": ids}, "features": names}
    return api.post("/features", json=body, headers=headers)


def test_features_in_request_order_with_status_and_utc_timestamps(api: TestClient) -> None:
    response = _features(api, [2, 7, 1], ["driver_stats:conv_rate", "driver_stats:busy"])
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["entity"] for r in results] == [{"driver_id": 2}, {"driver_id": 7}, {"driver_id": 1}]
    two, missing, one = (r["features"] for r in results)
    assert two["driver_stats:conv_rate"]["value"] == 0.25
    assert two["driver_stats:busy"]["value"] == 1.0
    assert two["driver_stats:busy"]["status"] == "present"
    assert ISO_UTC.match(two["driver_stats:busy"]["event_timestamp"])
    assert missing["driver_stats:busy"] == {
        "value": None,
        "status": "not_found",
        "event_timestamp": None,
    }
    assert one["driver_stats:conv_rate"]["value"] == 0.5


def test_model_request(api: TestClient) -> None:
    response = api.post(
        "/features", json={"model": "dispatch", "entities": {"driver_id": [1]}}, headers=READ
    )
    assert response.status_code == 200, response.text
    assert set(response.json()["results"][0]["features"]) == {
        "driver_stats:busy",
        "driver_stats:conv_rate",
    }


def test_push_writes_derived_features_and_counts_ignored_older(api: TestClient) -> None:
    newer = (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    older = (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    row = {"driver_id": 1, "event_timestamp": newer, "conv_rate": 0.5, "trips": 6}
    pushed = api.post("/push", json={"view": "driver_stats", "rows": [row]}, headers=FULL)
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["written"] == 1 and pushed.json()["ignored_older"] == 0
    stale = {**row, "event_timestamp": older, "conv_rate": 0.1}
    pushed = api.post("/push", json={"view": "driver_stats", "rows": [stale]}, headers=FULL)
    assert pushed.json()["written"] == 0 and pushed.json()["ignored_older"] == 1
    got = _features(api, [1], ["driver_stats:busy"]).json()["results"][0]["features"]
    assert got["driver_stats:busy"]["value"] == 3.0


def test_auth(api: TestClient) -> None:
    body = {"entities": {"driver_id": [1]}, "features": ["driver_stats:busy"]}
    assert api.post("/features", json=body).status_code == 401
    assert (
        api.post("/features", json=body, headers={"Authorization": "Bearer no"}).status_code == 401
    )
    assert api.post("/features", json=body, headers=FULL).status_code == 200
    push = {"view": "driver_stats", "rows": []}
    assert api.post("/push", json=push, headers=READ).status_code == 403
    assert api.post("/push", json=push).status_code == 401
    health = api.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "redis": "ok"}


def test_error_statuses_name_the_culprit(api: TestClient) -> None:
    unknown_feature = _features(api, [1], ["driver_stats:nope"])
    assert unknown_feature.status_code == 404 and "driver_stats:nope" in unknown_feature.text
    unknown_view = _features(api, [1], ["nope:x"])
    assert unknown_view.status_code == 404 and "nope" in unknown_view.text
    unknown_model = api.post(
        "/features", json={"model": "nope", "entities": {"driver_id": [1]}}, headers=READ
    )
    assert unknown_model.status_code == 404 and "nope" in unknown_model.text
    push_unknown = api.post("/push", json={"view": "nope", "rows": []}, headers=FULL)
    assert push_unknown.status_code == 404 and "nope" in push_unknown.text
    too_many = _features(api, [1, 2, 3, 4], ["driver_stats:busy"])
    assert too_many.status_code == 413
    malformed = api.post(
        "/features", json={"entities": "x", "features": ["driver_stats:busy"]}, headers=READ
    )
    assert malformed.status_code == 422 and "entities" in malformed.text
    assert api.get("/openapi.json").status_code == 200


def test_an_integer_key_takes_integers_only(api: TestClient) -> None:
    # "1" and 1.0 are the same key as 1; "abc" can be no int64 driver_id: 422, not a
    # silent not_found.
    wrong = _features(api, [1, "abc"], ["driver_stats:busy"])
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["field"] == "entities.driver_id.1"
    assert "'abc'" in wrong.json()["error"]
    same = _features(api, ["1", 2.0, None], ["driver_stats:conv_rate"])
    assert same.status_code == 200, same.text
    statuses = [r["features"]["driver_stats:conv_rate"]["status"] for r in same.json()["results"]]
    assert statuses == ["present", "present", "not_found"]


def test_health_is_503_when_redis_is_unreachable(project: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(project / "target" / "manifest.json", f"redis://127.0.0.1:{port}/0")
    with TestClient(app, raise_server_exceptions=False) as client:
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["redis"] == "unreachable"
        response = client.post(
            "/features", json={"entities": {"driver_id": [1]}, "features": ["driver_stats:busy"]}
        )
        assert response.status_code == 503
        assert "Traceback" not in response.text


def test_serve_binds_loopback_by_default() -> None:
    result = run_aligned("serve", "--help", timeout=30)
    assert "127.0.0.1" in result.stdout
