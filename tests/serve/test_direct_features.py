"""POST /features answered before FastAPI's routing (`FeatureServer.direct_features`):
it answers exactly as the declared route, hands back what it does not answer, steps
aside for middleware and overrides; and the read path's own Redis connections.

Real Redis (the `redis_url` fixture), real DuckDB: a project is materialized per test.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from aligned_cli.serve import create_app
from aligned_cli.serve.app import FeatureServer

NOW = datetime.now(UTC).replace(microsecond=0)
ALL = [f"driver_stats:{name}" for name in ("conv_rate", "trips", "city")]
JSON = "application/json"
# FastAPI reads any `+json` type as JSON; the direct path takes `application/json`
# only, so this one is always answered by the declared route.
DECLARED = "application/vnd.aligned+json"


def write_project(root: Path, redis_url: str) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text(
        "name: fleet\ndefault-connection: local\n"
        "connections:\n  local: {type: duckdb, path: target/aligned.duckdb}\n"
        f"online:\n  redis: {{url: '{redis_url}'}}\n"
    )
    (root / "features" / "drivers.yml").write_text(
        """
sources:
  - name: driver_events
    file: data/driver_events.parquet
feature_views:
  - name: driver_stats
    source: driver_events
    entities: [driver_id]
    event_timestamp: event_timestamp
    ttl: 1d
    features:
      driver_id: {type: int64}
      conv_rate: {type: float}
      trips: {type: int32}
      city: {type: string, optional: true}
"""
    )
    rows = [
        (1, NOW - timedelta(hours=1), 0.25, 4, "oslo"),
        (2, NOW - timedelta(hours=2), 0.5, 1, None),
        (3, NOW - timedelta(days=3), 0.75, 9, "bergen"),  # past the ttl when written
    ]
    table = pa.table(
        {
            "driver_id": pa.array([r[0] for r in rows], pa.int64()),
            "event_timestamp": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
            "conv_rate": pa.array([r[2] for r in rows], pa.float64()),
            "trips": pa.array([r[3] for r in rows], pa.int32()),
            "city": pa.array([r[4] for r in rows], pa.string()),
        }
    )
    pq.write_table(table, root / "data" / "driver_events.parquet")
    return root


@pytest.fixture()
def project(tmp_path: Path, redis_url: str) -> Path:
    from typer.testing import CliRunner

    from aligned_cli.cli.app import app

    root = write_project(tmp_path / "p", redis_url)
    result = CliRunner().invoke(app, ["materialize", "--project-dir", str(root)])
    assert result.exit_code == 0, result.output
    return root


def server(root: Path, redis_url: str, **kwargs: Any) -> tuple[FeatureServer, list[str]]:
    """The app, and the list its direct path records into: "direct" for a request
    it answered, "declared" for one it handed back."""
    app = create_app(root / "target" / "manifest.json", redis_url, **kwargs)
    assert isinstance(app, FeatureServer) and app.direct_features is not None
    direct, paths = app.direct_features, []

    async def recording(scope: Any, receive: Any, send: Any) -> Any:
        replay = await direct(scope, receive, send)
        paths.append("direct" if replay is None else "declared")
        return replay

    app.direct_features = recording
    return app, paths


@pytest.fixture()
def served(project: Path, redis_url: str) -> Iterator[tuple[TestClient, list[str]]]:
    app, paths = server(project, redis_url, token="full", read_token="ro", max_entities=5)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, paths


def post(client: TestClient, body: Any, kind: str = JSON, token: str | None = "ro") -> Any:
    headers = {"content-type": kind}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post("/features", content=content, headers=headers)


def same_answer(direct: Any, declared: Any) -> None:
    assert direct.status_code == declared.status_code, (direct.text, declared.text)
    assert direct.headers["content-type"] == declared.headers["content-type"]
    assert direct.headers.get("www-authenticate") == declared.headers.get("www-authenticate")
    assert direct.json() == declared.json()


READS = [
    {"entities": {"driver_id": [1]}, "features": ALL},
    {"entities": {"driver_id": [2, 1, 9, None, 3]}, "features": ALL},
    {"entities": {"driver_id": [1.0, "2", "-5"]}, "features": ["driver_stats:trips"]},
    {"entities": {"driver_id": [1], "other": [7]}, "features": ["driver_stats:city"]},
]


def test_reads_answer_as_the_declared_route(served: tuple[TestClient, list[str]]) -> None:
    client, paths = served
    for body in READS:
        for token in ("ro", "full"):
            paths.clear()
            direct, declared = post(client, body, token=token), post(client, body, DECLARED, token)
            assert paths == ["direct", "declared"], body
            same_answer(direct, declared)
            assert direct.status_code == 200
    results = post(client, READS[1]).json()["results"]
    assert [r["entity"]["driver_id"] for r in results] == [2, 1, 9, None, 3]
    trips = [r["features"]["driver_stats:trips"] for r in results]
    assert [t["status"] for t in trips] == [
        "present",
        "present",
        "not_found",
        "not_found",
        "not_found",  # past its ttl: materialize did not write it
    ]
    assert trips[0]["value"] == 1 and trips[1]["value"] == 4
    stamp = (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert trips[0]["event_timestamp"] == stamp
    assert results[0]["features"]["driver_stats:city"] == {
        "value": None,
        "status": "present",
        "event_timestamp": stamp,
    }


def test_errors_of_a_valid_request_are_the_handlers_answers(
    served: tuple[TestClient, list[str]],
) -> None:
    client, paths = served
    bodies = [
        (413, {"entities": {"driver_id": [1, 2, 3, 4, 5, 6]}, "features": ALL}),
        (404, {"entities": {"driver_id": [1]}, "features": ["driver_stats:nope"]}),
        (422, {"entities": {"rider": [1]}, "features": ALL}),
        # A JSON true is no int64 key (a string of digits or 2.0 would be).
        (422, {"entities": {"driver_id": [1, True]}, "features": ALL}),
    ]
    for status, body in bodies:
        paths.clear()
        direct, declared = post(client, body), post(client, body, DECLARED)
        assert paths == ["direct", "declared"]
        same_answer(direct, declared)
        assert direct.status_code == status
    # Valid JSON text, not valid Unicode: it validates as JSON (and is then no integer).
    surrogate = b'{"entities": {"driver_id": ["\\ud800"]}, "features": ["driver_stats:trips"]}'
    direct, declared = post(client, surrogate), post(client, surrogate, DECLARED)
    same_answer(direct, declared)
    assert direct.status_code == 422 and direct.json()["field"].startswith("entities")


@pytest.mark.parametrize(
    ("kind", "authorization", "body"),
    [
        (JSON, None, READS[0]),  # no token: 401
        (JSON, "Bearer nope", READS[0]),  # wrong token: 401
        (JSON, "Basic cm86", READS[0]),  # not a bearer token: 401
        (JSON, "bearer ro", READS[0]),  # the scheme in any case: 200
        (JSON, "Bearer   ro  ", READS[0]),  # as FastAPI splits the header
        (JSON, "Bearer ro", b"{"),  # not JSON: 422
        (JSON, "Bearer ro", {"entities": {"driver_id": [1]}}),  # no selection: 422
        (JSON, "Bearer ro", {"entities": {"driver_id": [1], "x": []}, "features": ALL}),
        (JSON, "Bearer ro", {"entities": {"driver_id": [1]}, "features": ALL, "z": 1}),
        ("text/plain", "Bearer ro", READS[0]),  # not read as JSON: 422
        ("application/json; charset=utf-8", "Bearer ro", READS[0]),
    ],
)
def test_what_the_direct_path_does_not_answer_is_the_declared_routes(
    served: tuple[TestClient, list[str]], kind: str, authorization: str | None, body: Any
) -> None:
    client, paths = served
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {"content-type": kind}
    if authorization is not None:
        headers["authorization"] = authorization
    direct = client.post("/features", content=content, headers=headers)
    # The same request as one the declared route alone answers.
    alone = {**headers, "content-type": DECLARED} if "json" in kind else headers
    declared = client.post("/features", content=content, headers=alone)
    assert direct.status_code == declared.status_code, (direct.text, declared.text)
    assert direct.json() == declared.json()
    assert direct.headers.get("www-authenticate") == declared.headers.get("www-authenticate")
    # It answers a request only when the declared route would have answered 200.
    assert paths[0] == ("direct" if direct.status_code == 200 else "declared")


def test_middleware_and_dependency_overrides_take_the_declared_route(
    project: Path, redis_url: str
) -> None:
    from starlette.middleware.base import BaseHTTPMiddleware

    from aligned_cli.serve.auth import ApiError

    app, paths = server(project, redis_url, read_token="ro")

    async def tag(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["x-tagged"] = "yes"
        return response

    app.add_middleware(BaseHTTPMiddleware, dispatch=tag)
    with TestClient(app) as client:
        response = post(client, READS[0])
        assert response.status_code == 200 and response.headers["x-tagged"] == "yes"
        assert paths == []  # never consulted

    app, paths = server(project, redis_url, read_token="ro")
    route = next(r for r in app.routes if getattr(r, "path", None) == "/features")
    (check,) = [d.dependency for d in getattr(route, "dependencies", [])]

    async def closed() -> None:
        raise ApiError(401, "closed for maintenance")

    assert check is not None
    app.dependency_overrides[check] = closed
    with TestClient(app) as client:
        response = post(client, READS[0])
        assert response.status_code == 401 and "maintenance" in response.json()["error"]
        assert paths == []


def test_a_body_sent_in_several_messages(project: Path, redis_url: str) -> None:
    """An ASGI server hands a large or chunked body over in pieces."""
    app, paths = server(project, redis_url)
    body = orjson.dumps(READS[1])

    async def call(pieces: list[bytes]) -> tuple[int, bytes]:
        messages = [
            {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
            for i, piece in enumerate(pieces)
        ]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/features",
            "raw_path": b"/features",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"test"), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 2),
        }
        await app(scope, receive, send)
        assert sent[0]["type"] == "http.response.start"
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    async def main() -> list[tuple[int, bytes]]:
        async with app.router.lifespan_context(app):
            whole = await call([body])
            pieces = await call([body[:7], b"", body[7:20], body[20:]])
            broken = await call([body[:7], body[7:-1]])  # not all of it: 422
        return [whole, pieces, broken]

    whole, pieces, broken = asyncio.run(main())
    assert whole[0] == pieces[0] == 200 and whole[1] == pieces[1]
    assert broken[0] == 422
    assert paths == ["direct", "direct", "declared"]


def test_idle_connections_redis_dropped_are_all_replaced(redis_url: str) -> None:
    """After a Redis restart every idle connection is dead: the first read that
    meets one gives them all up and reads again on a new connection."""
    import redis
    import redis.asyncio

    from aligned_cli.online.reader import ReadConnections

    admin = redis.Redis.from_url(redis_url)
    admin.hset("k", mapping={"__ts": "1", "a": "x"})
    command = b"*4\r\n$5\r\nHMGET\r\n$1\r\nk\r\n$4\r\n__ts\r\n$1\r\na\r\n"

    async def main() -> list[Any]:
        # Named: other tests may connect to the same Redis meanwhile.
        name = f"idle-replaced-{os.getpid()}"
        client = redis.asyncio.Redis.from_url(redis_url, client_name=name)
        reads = ReadConnections(client)
        try:
            # Five at once: five connections, all idle afterwards.
            together = await asyncio.gather(*[reads.pipelined(command, 1) for _ in range(5)])
            ours = [c["id"] for c in admin.client_list() if c["name"] == name]
            assert len(ours) == 5
            for connection in ours:
                admin.client_kill_filter(_id=connection)
            after = [await reads.pipelined(command, 1) for _ in range(8)]
            # The four other dead ones were given up with the first, not kept to
            # fail a read each later.
            assert len(reads._idle) == 1
            return [*together, *after]
        finally:
            await reads.close()
            await client.aclose()

    try:
        replies = asyncio.run(main())
    finally:
        admin.close()
    assert replies == [[[b"1", b"x"]]] * 13


def test_stamps_of_small_and_large_reads_match_one_by_one() -> None:
    from aligned_cli.online.reader import _FIRST_US, _LAST_US, _datetimes

    epoch = datetime(1970, 1, 1)
    micros = [0, -1, 1, 1_772_359_200_123_456, _FIRST_US, _LAST_US, 86_400_000_000, 7]
    for length in range(len(micros) + 1):  # below and above where numpy takes over
        part = micros[:length]
        assert _datetimes(part) == [epoch + timedelta(microseconds=m) for m in part]


def test_serve_runs_uvicorn_on_uvloop_and_httptools_without_access_log(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from aligned_cli.cli.app import app as cli

    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: runs.append(kwargs))
    result = CliRunner().invoke(cli, ["serve", "--project-dir", str(project), "--port", "0"])
    assert result.exit_code == 0, result.output
    (kwargs,) = runs
    # Both are dependencies of aligned (pyproject), so installed here.
    assert kwargs["loop"] == "uvloop" and kwargs["http"] == "httptools"
    assert kwargs["access_log"] is False
