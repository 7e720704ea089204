"""The /features read path: its fast paths answer exactly as the general ones do."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import NOW, aligned, event, write_project
from fastapi.testclient import TestClient

from aligned_cli.serve import create_app

ROWS = [event(1, 1, 0.25, 4), event(2, 2, float("nan"), 1, city=None, active=False)]
ALL = [f"driver_stats:{name}" for name in ("conv_rate", "trips", "city", "active", "busy")]
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


def read(api: TestClient, ids: list[Any], names: list[str] = ALL) -> list[dict[str, Any]]:
    response = api.post("/features", json={"entities": {"driver_id": ids}, "features": names})
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def present(value: Any, hours_ago: int) -> dict[str, Any]:
    stamp = (NOW - timedelta(hours=hours_ago)).strftime(ISO)
    return {"value": value, "status": "present", "event_timestamp": stamp}


def test_every_value_type_column_by_column(api: TestClient) -> None:
    one, two = (r["features"] for r in read(api, [1, 2]))
    assert one == {
        "driver_stats:conv_rate": present(0.25, 1),
        "driver_stats:trips": present(4, 1),
        "driver_stats:city": present("oslo", 1),
        "driver_stats:active": present(True, 1),
        "driver_stats:busy": present(1.0, 1),
    }
    assert two == {
        "driver_stats:conv_rate": present("NaN", 2),
        "driver_stats:trips": present(1, 2),
        "driver_stats:city": present(None, 2),  # stored NULL: present, no value
        "driver_stats:active": present(False, 2),
        "driver_stats:busy": present("NaN", 2),
    }


def test_a_row_past_its_ttl_sends_the_view_row_by_row_with_the_same_values(
    api: TestClient, project: Path, redis_url: str
) -> None:
    fresh = read(api, [1, 2])
    # Driver 2's row (2 h old) is past the 1 d ttl by then, driver 1's (1 h) is not.
    later = NOW + timedelta(days=1, minutes=-90)
    with client_for(project, redis_url, clock=lambda: later) as client:
        one, two = read(client, [1, 2])
    assert one == fresh[0]
    stamp = (NOW - timedelta(hours=2)).strftime(ISO)
    stale = {"value": None, "status": "outside_ttl", "event_timestamp": stamp}
    assert two["features"] == dict.fromkeys(ALL, stale)


def test_missing_null_and_odd_entities_in_request_order(api: TestClient) -> None:
    ids: list[Any] = [2, None, 9, 1.0, "1", 1]
    results = read(api, ids, ["driver_stats:trips"])
    assert [r["entity"] for r in results] == [{"driver_id": i} for i in ids]
    statuses = [r["features"]["driver_stats:trips"]["status"] for r in results]
    # 1.0 and "1" name driver 1 (the key's text is the same); NULL matches nothing.
    assert statuses == ["present", "not_found", "not_found", "present", "present", "present"]
    missing = results[1]["features"]["driver_stats:trips"]
    assert missing == {"value": None, "status": "not_found", "event_timestamp": None}


@pytest.mark.parametrize("odd", [True, "ø:x", 1.5, [1], "01", "-0", "²", " 1", 2**70])
def test_a_value_no_integer_key_can_hold_is_a_422(api: TestClient, odd: Any) -> None:
    body = {"entities": {"driver_id": [1, odd]}, "features": ["driver_stats:trips"]}
    response = api.post("/features", json=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["field"].startswith("entities.driver_id")


def test_a_lone_surrogate_entity_is_a_422_not_a_500(api: TestClient) -> None:
    # Valid JSON text, not valid Unicode: Python's json reads it, nothing can echo it.
    body = b'{"entities": {"driver_id": ["\\ud800", 1]}, "features": ["driver_stats:trips"]}'
    response = api.post("/features", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["field"].startswith("entities")


def test_the_shortcut_and_the_declared_route_answer_alike(project: Path, redis_url: str) -> None:
    body = orjson.dumps({"entities": {"driver_id": [1, 2, 9]}, "features": ALL})
    with client_for(project, redis_url, token="full", read_token="ro") as api:
        answers = [
            api.post(
                "/features",
                content=body,
                headers={"content-type": kind, "authorization": "Bearer ro"},
            )
            for kind in ("application/json", "application/json; charset=utf-8")
        ]
        # FastAPI reads `+json` types as JSON too; the shortcut leaves them to it.
        answers.append(
            api.post(
                "/features",
                content=body,
                headers={"content-type": "application/vnd.x+json", "authorization": "Bearer ro"},
            )
        )
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert answers[0].json() == answers[1].json() == answers[2].json()
        # Errors are the declared route's: the token is checked before the body.
        bad = {"entities": {"driver_id": [1]}}
        assert api.post("/features", json=bad).status_code == 401
        wrong = api.post("/features", json=bad, headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == "Bearer"
        invalid = api.post("/features", json=bad, headers={"authorization": "Bearer ro"})
        assert invalid.status_code == 422, invalid.text
        assert "features" in invalid.json()["error"]
        lists = {"entities": {"driver_id": [1], "x": []}, "features": ALL}
        uneven = api.post("/features", json=lists, headers={"authorization": "Bearer full"})
        assert uneven.status_code == 422 and uneven.json()["field"] == "body"
        not_json = api.post(
            "/features",
            content=b"{",
            headers={"content-type": "application/json", "authorization": "Bearer ro"},
        )
        assert not_json.status_code == 422
        unknown = {"entities": {"driver_id": [1]}, "features": ["driver_stats:nope"]}
        missing = api.post("/features", json=unknown, headers={"authorization": "Bearer ro"})
        assert missing.status_code == 404 and "driver_stats:nope" in missing.json()["error"]


def test_repeated_selections_reuse_their_plan_and_stay_correct(api: TestClient) -> None:
    for _ in range(3):
        assert read(api, [1], ["driver_stats:trips"])[0]["features"] == {
            "driver_stats:trips": present(4, 1)
        }
        assert set(read(api, [1], ["driver_stats:city", "driver_stats:trips"])[0]["features"]) == {
            "driver_stats:city",
            "driver_stats:trips",
        }


def test_openapi_describes_the_features_bodies_and_bearer_auth(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    post = schema["paths"]["/features"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/FeaturesRequest"}
    ok = post["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/FeaturesResponse"}
    assert {"401", "404", "413", "422", "503"} <= set(post["responses"])
    assert post["security"] == [{"HTTPBearer": []}]
    assert {"FeaturesRequest", "FeatureResult", "FeatureValue"} <= set(
        schema["components"]["schemas"]
    )


def test_a_connection_redis_dropped_is_replaced(api: TestClient, redis_client: Any) -> None:
    assert read(api, [1], ["driver_stats:trips"])[0]["features"]["driver_stats:trips"]["value"]
    own = redis_client.client_id()
    db = redis_client.connection_pool.connection_kwargs.get("db", 0)
    served = [c for c in redis_client.client_list() if int(c["db"]) == db and int(c["id"]) != own]
    assert served
    for connection in served:  # only this test's app uses this database
        redis_client.client_kill_filter(_id=connection["id"])
    results = read(api, [1, 2], ["driver_stats:trips"])
    assert [r["features"]["driver_stats:trips"]["value"] for r in results] == [4, 1]


def test_a_redis_that_never_answers_is_503_after_the_read_timeout(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aligned_cli.online import reader

    monkeypatch.setattr(reader, "READ_TIMEOUT", 0.5)
    with socket.socket() as silent:  # accepts connections (its backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        with client_for(project, f"redis://127.0.0.1:{port}/0") as api:
            response = api.post(
                "/features",
                json={"entities": {"driver_id": [1]}, "features": ["driver_stats:trips"]},
            )
            assert response.status_code == 503, response.text
            assert "Redis" in response.json()["error"]
            health = api.get("/health")
            assert health.status_code == 503 and health.json()["redis"] == "unreachable"


def test_stamps_made_in_bulk_match_one_by_one() -> None:
    from datetime import datetime

    from aligned_cli.online.reader import _FIRST_US, _LAST_US, _datetimes

    micros = [0, -1, 1, 1_772_359_200_123_456, _FIRST_US, _LAST_US]
    epoch = datetime(1970, 1, 1)
    assert _datetimes(micros) == [epoch + timedelta(microseconds=m) for m in micros]
    assert _datetimes([]) == []


def test_concurrent_reads_each_get_their_own_replies(api: TestClient) -> None:
    import threading

    failures: list[str] = []

    def reader(ids: list[int]) -> None:
        for _ in range(20):
            results = read(api, ids, ["driver_stats:trips"])
            got = [r["features"]["driver_stats:trips"]["value"] for r in results]
            if got != [{1: 4, 2: 1}.get(i) for i in ids]:
                failures.append(f"{ids}: {got}")

    threads = [threading.Thread(target=reader, args=(ids,)) for ids in ([1], [2, 1], [9, 2])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_replies_read_through_redis_py_when_hiredis_cannot_be_reached_into(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aligned_cli.online import reader

    fast = read(api, [1, 9, 2])
    monkeypatch.setattr(reader, "_NOT_ENOUGH_DATA", None)  # as if redis-py changed inside
    assert read(api, [1, 9, 2]) == fast
