"""SPEC §10 conformance audit (second pass): `aligned materialize`, `aligned serve` (a
real uvicorn subprocess on a free port), `POST /push` and `aligned worker`, all on the
real Redis, checked through redis-py and HTTP as a user would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from _audit import ALIGNED, aligned

pytestmark = pytest.mark.redis

NOW = datetime.now(UTC).replace(microsecond=0)
KEY = "aligned:onl:"


def _ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def _naive(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(sep=" ")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000


def _events(rows: list[tuple[int, float, float, int]]) -> str:
    lines = [f"{d},{_naive(_ago(h))},{c},{t}" for d, h, c, t in rows]
    return "driver_id,event_timestamp,conv_rate,trips\n" + "\n".join(lines) + "\n"


EVENTS = [
    (1, 20, 0.1, 1),  # older row of driver 1
    (1, 2, 0.5, 4),  # latest of driver 1
    (2, 3, 0.1, 3),  # 0.1 * 3 = 0.30000000000000004 in floating point
    (3, 50, 0.9, 9),  # already past its 1d ttl: not written
]

FEATURES_YML = """
sources:
  - {name: ev, file: data/ev.csv}
  - {name: st, file: data/static.csv}
feature_views:
  - name: stats
    source: ev
    entities: [driver_id]
    event_timestamp: event_timestamp
    ttl: TTL
    stream_source: {stream: ev_stream}
    features:
      driver_id: {type: int64}
      conv_rate: {type: float}
      trips: {type: int64}
      busy: {expression: "conv_rate * trips"}
    aggregations:
      trips_2d: {function: sum, of: trips, window: 2d}
  - name: home
    source: st
    entities: [driver_id]
    features:
      driver_id: {type: int64}
      city: {type: string}
      upper_city: {expression: "upper(city)"}
models:
  - name: dispatch
    features: [stats:busy, home:city, stats:trips_2d]
"""


def _write_features(root: Path, ttl: str = "1d") -> None:
    (root / "features" / "f.yml").write_text(
        textwrap.dedent(FEATURES_YML).replace("TTL", ttl).lstrip()
    )


@pytest.fixture()
def project(tmp_path: Path, redis_url: str) -> Path:
    root = tmp_path / "onl"
    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text(
        "name: onl\nconnections:\n  local: {type: duckdb, path: target/a.duckdb}\n"
        f"online:\n  redis: {{url: '{redis_url}'}}\n"
    )
    (root / "data" / "ev.csv").write_text(_events(EVENTS))
    (root / "data" / "static.csv").write_text("driver_id,city\n1,oslo\n2,bergen\n")
    _write_features(root)
    return root


@pytest.fixture()
def client(redis_url: str) -> Iterator[Any]:
    import redis

    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    connection.close()


def _aligned(root: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`aligned` with ALIGNED_NO_CACHE=1."""
    return aligned(root, *args, env={"ALIGNED_NO_CACHE": "1"}, timeout=timeout)


def _materialize(root: Path, *args: str) -> dict[str, dict[str, Any]]:
    """Runs `aligned materialize --log-format json`; the last record per view."""
    result = _aligned(root, "materialize", "--log-format", "json", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    summary: dict[str, dict[str, Any]] = {}
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if "view" in record and "ignored_older" in record:
                summary[record["view"]] = record
    return summary


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Server:
    def __init__(self, url: str) -> None:
        self.url = url

    def features(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        status, answer = _http("POST", self.url + "/features", body)
        assert status == 200, answer
        return list(answer["results"])

    def push(self, view: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        status, answer = _http("POST", self.url + "/push", {"view": view, "rows": rows})
        assert status == 200, answer
        return dict(answer)


def _start_server(root: Path, redis_url: str) -> tuple[subprocess.Popen[str], Server]:
    port = _free_port()
    redis_arg = ["--redis-url", redis_url]
    process = subprocess.Popen(
        [ALIGNED, "serve", "--project-dir", str(root), "--port", str(port), *redis_arg],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ALIGNED_TOKEN": "", "ALIGNED_READ_TOKEN": ""},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"aligned serve exited: {process.stderr.read()}")  # type: ignore[union-attr]
        try:
            if _http("GET", url + "/health")[0] == 200:
                return process, Server(url)
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError("aligned serve did not answer /health within 20 s")


@pytest.fixture()
def serve(project: Path, redis_url: str) -> Iterator[Any]:
    """`serve()` starts `aligned serve` (which compiles when there is no manifest yet;
    `compile=True` recompiles first); stopped at teardown."""
    started: list[subprocess.Popen[str]] = []

    def start(root: Path = project, compile: bool = False) -> Server:
        if compile:
            assert _aligned(root, "compile").returncode == 0
        process, server = _start_server(root, redis_url)
        started.append(process)
        return server

    try:
        yield start
    finally:
        for process in started:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# ---------------------------------------------------------------------------------
# materialize
# ---------------------------------------------------------------------------------


def test_one_hash_per_entity_and_view_with_event_time_and_expiry(
    project: Path, redis_url: str, client: Any
) -> None:
    _materialize(project, "--redis-url", redis_url)
    keys = set(client.keys("aligned:onl:*"))
    assert {f"{KEY}stats:1", f"{KEY}stats:2", f"{KEY}home:1", f"{KEY}home:2"} <= keys
    assert f"{KEY}stats:3" not in keys  # its row is past event_timestamp + ttl
    one = client.hgetall(f"{KEY}stats:1")
    assert one["__ts"] == str(_micros(_ago(2)))  # the event timestamp is stored
    assert one["conv_rate"] == "f:0.5" and one["trips"] == "i:4" and one["busy"] == "f:2"
    # Expires exactly at event_timestamp + ttl (ms), not "now + ttl".
    expected_ms = (_micros(_ago(2)) // 1000) + 86_400_000
    assert client.pexpiretime(f"{KEY}stats:1") == expected_ms
    assert client.pexpiretime(f"{KEY}stats:2") == (_micros(_ago(3)) // 1000) + 86_400_000
    assert client.ttl(f"{KEY}home:1") == -1  # static view, no ttl: never expires
    assert client.hget(f"{KEY}home:2", "upper_city") == "s:BERGEN"


def test_incremental_watermark_lives_in_redis_and_a_wiped_redis_refills(
    project: Path, redis_url: str, client: Any
) -> None:
    first = _materialize(project, "--redis-url", redis_url)
    assert first["stats"]["written"] >= 2
    watermarks = client.hgetall("aligned:onl:watermarks")
    assert json.loads(watermarks["stats"])["ts"] == _micros(_ago(2))
    # Nothing new: the next run writes no latest row of stats.
    (project / "data" / "ev.csv").write_text(_events([*EVENTS, (2, 1, 0.7, 1)]))
    second = _materialize(project, "--redis-url", redis_url)
    assert second["stats"]["rows"] - 3 == 1  # 1 newer latest row + 3 aggregate rows
    assert client.hget(f"{KEY}stats:2", "conv_rate") == "f:0.7"
    assert json.loads(client.hget("aligned:onl:watermarks", "stats"))["ts"] == _micros(_ago(1))
    client.flushdb()
    third = _materialize(project, "--redis-url", redis_url)
    assert client.hget(f"{KEY}stats:1", "conv_rate") == "f:0.5"
    assert client.hget(f"{KEY}stats:2", "conv_rate") == "f:0.7"
    assert third["stats"]["written"] == second["stats"]["written"] + 1


def test_select_only_writes_the_selected_view(project: Path, redis_url: str, client: Any) -> None:
    _materialize(project, "--redis-url", redis_url, "--select", "home")
    keys = set(client.keys("aligned:onl:*"))
    assert f"{KEY}home:1" in keys
    assert not any(key.startswith(f"{KEY}stats") for key in keys)


def test_end_gives_the_latest_row_as_of_that_time(
    project: Path, redis_url: str, client: Any
) -> None:
    _materialize(project, "--redis-url", redis_url, "--end", _iso(_ago(10)))
    assert client.hget(f"{KEY}stats:1", "conv_rate") == "f:0.1"  # the 20h-old row
    assert client.hget(f"{KEY}stats:1", "__ts") == str(_micros(_ago(20)))
    assert not client.exists(f"{KEY}stats:2")  # its only row is after --end


def test_start_only_writes_rows_from_that_time(project: Path, redis_url: str, client: Any) -> None:
    _materialize(project, "--redis-url", redis_url, "--start", _iso(_ago(2.5)))
    assert client.hget(f"{KEY}stats:1", "conv_rate") == "f:0.5"
    assert not client.exists(f"{KEY}stats:2")  # 3h old < start


# ---------------------------------------------------------------------------------
# serve + push
# ---------------------------------------------------------------------------------


def test_model_and_feature_requests_statuses_and_aggregate_timestamps(
    project: Path, redis_url: str, serve: Any
) -> None:
    before = datetime.now(UTC)
    _materialize(project, "--redis-url", redis_url)
    after = datetime.now(UTC)
    server = serve()
    results = server.features({"model": "dispatch", "entities": {"driver_id": [2, 9, 1]}})
    assert [r["entity"] for r in results] == [{"driver_id": 2}, {"driver_id": 9}, {"driver_id": 1}]
    two, nine, one = (r["features"] for r in results)
    assert list(two) == ["stats:busy", "home:city", "stats:trips_2d"]
    assert two["stats:busy"] == {
        "value": 0.1 * 3,
        "status": "present",
        "event_timestamp": _iso(_ago(3)),
    }
    assert two["home:city"] == {"value": "bergen", "status": "present", "event_timestamp": None}
    assert all(
        v == {"value": None, "status": "not_found", "event_timestamp": None} for v in nine.values()
    )
    assert one["stats:trips_2d"]["value"] == 5 and one["stats:trips_2d"]["status"] == "present"
    # An aggregate is served with the materialization time as its event_timestamp.
    stamp = datetime.fromisoformat(one["stats:trips_2d"]["event_timestamp"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= stamp <= after
    by_features = server.features(
        {"features": ["home:upper_city", "stats:conv_rate"], "entities": {"driver_id": [1]}}
    )
    assert list(by_features[0]["features"]) == ["home:upper_city", "stats:conv_rate"]
    assert by_features[0]["features"]["home:upper_city"]["value"] == "OSLO"
    assert by_features[0]["features"]["stats:conv_rate"]["value"] == 0.5


def test_outside_ttl_when_the_ttl_was_shortened(project: Path, redis_url: str, serve: Any) -> None:
    _materialize(project, "--redis-url", redis_url)
    _write_features(project, ttl="1h")  # the stored 2h- and 3h-old rows still live in Redis
    server = serve(compile=True)
    got = server.features({"features": ["stats:busy"], "entities": {"driver_id": [1]}})
    assert got[0]["features"]["stats:busy"] == {
        "value": None,
        "status": "outside_ttl",
        "event_timestamp": _iso(_ago(2)),
    }


def test_push_computes_derived_features_exactly_as_offline(
    project: Path, redis_url: str, serve: Any, client: Any
) -> None:
    _materialize(project, "--redis-url", redis_url)
    server = serve()
    offline = server.features({"features": ["stats:busy"], "entities": {"driver_id": [2]}})
    stored = client.hgetall(f"{KEY}stats:2")
    client.flushdb()
    raw = {"driver_id": 2, "event_timestamp": _iso(_ago(3)), "conv_rate": 0.1, "trips": 3}
    assert server.push("stats", [raw])["written"] == 1
    online = server.features({"features": ["stats:busy"], "entities": {"driver_id": [2]}})
    assert online == offline
    pushed = client.hgetall(f"{KEY}stats:2")
    assert {k: pushed[k] for k in ("busy", "conv_rate", "trips", "__ts")} == {
        k: stored[k] for k in ("busy", "conv_rate", "trips", "__ts")
    }
    home = server.push("home", [{"driver_id": 7, "city": "rome"}])
    assert home["written"] == 1
    assert client.hget(f"{KEY}home:7", "upper_city") == "s:ROME"


def test_push_older_row_is_ignored_and_expired_rows_are_not_stored(
    project: Path, serve: Any, client: Any
) -> None:
    server = serve()
    newer = {"driver_id": 5, "event_timestamp": _iso(_ago(0.1)), "conv_rate": 0.5, "trips": 2}
    older = {**newer, "event_timestamp": _iso(_ago(1)), "conv_rate": 0.9}
    assert server.push("stats", [newer]) == {"written": 1, "ignored_older": 0, "ignored_expired": 0}
    answer = server.push("stats", [older])
    assert answer["written"] == 0 and answer["ignored_older"] == 1
    assert client.hget(f"{KEY}stats:5", "conv_rate") == "f:0.5"
    # Pushed row's key expires at its event_timestamp + ttl too.
    assert client.pexpiretime(f"{KEY}stats:5") == _micros(_ago(0.1)) // 1000 + 86_400_000
    expired = {**newer, "driver_id": 6, "event_timestamp": _iso(_ago(30))}
    answer = server.push("stats", [expired])
    assert answer["written"] == 0
    assert not client.exists(f"{KEY}stats:6")


def test_materialize_keeps_a_newer_pushed_row_unless_forced(
    project: Path, redis_url: str, serve: Any, client: Any
) -> None:
    server = serve()
    newer = {"driver_id": 1, "event_timestamp": _iso(_ago(0.5)), "conv_rate": 0.75, "trips": 4}
    assert server.push("stats", [newer])["written"] == 1
    kept = _materialize(project, "--redis-url", redis_url)
    assert kept["stats"]["ignored_older"] >= 1
    assert client.hget(f"{KEY}stats:1", "conv_rate") == "f:0.75"
    _materialize(project, "--redis-url", redis_url, "--force")
    assert client.hget(f"{KEY}stats:1", "conv_rate") == "f:0.5"
    assert client.hget(f"{KEY}stats:1", "__ts") == str(_micros(_ago(2)))


# ---------------------------------------------------------------------------------
# worker
# ---------------------------------------------------------------------------------


def _message(driver: int, hours: float, conv: float, trips: int) -> dict[str, str]:
    return {
        "driver_id": str(driver),
        "event_timestamp": _iso(_ago(hours)),
        "conv_rate": str(conv),
        "trips": str(trips),
    }


def test_worker_applies_stream_messages_with_cas_and_acks(
    project: Path, redis_url: str, client: Any
) -> None:
    client.xadd("ev_stream", _message(7, 0.2, 0.1, 3))
    client.xadd("ev_stream", _message(7, 1.0, 0.9, 9))  # older: must not win
    client.xadd("ev_stream", _message(8, 0.1, 0.5, 2))
    result = _aligned(project, "worker", "--once", "--redis-url", redis_url)
    assert result.returncode == 0, result.stdout + result.stderr
    seven = client.hgetall(f"{KEY}stats:7")
    assert seven["conv_rate"] == "f:0.1" and seven["busy"] == f"f:{0.1 * 3!r}"
    assert seven["__ts"] == str(_micros(_ago(0.2)))
    assert client.hget(f"{KEY}stats:8", "busy") == "f:1"
    groups = client.xinfo_groups("ev_stream")
    assert len(groups) == 1 and groups[0]["pending"] == 0


def test_worker_resumes_after_being_killed(project: Path, redis_url: str, client: Any) -> None:
    client.xadd("ev_stream", _message(11, 0.1, 0.5, 1))
    options = ["--redis-url", redis_url, "--consumer", "w1", "--block-ms", "200"]
    worker = subprocess.Popen(
        [ALIGNED, "worker", "--project-dir", str(project), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not client.exists(f"{KEY}stats:11") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.exists(f"{KEY}stats:11")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    client.xadd("ev_stream", _message(12, 0.1, 0.25, 4))  # arrives while no worker runs
    result = _aligned(project, "worker", "--once", "--consumer", "w1", "--redis-url", redis_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert client.hget(f"{KEY}stats:12", "busy") == "f:1"
    assert client.xinfo_groups("ev_stream")[0]["pending"] == 0


def test_serve_serves_the_project_as_it_is_now_not_the_last_compile(
    project: Path, serve: Any
) -> None:
    """An edit made after the last compile (a new model here; the Redis URL alike) is
    what `serve` serves, as `materialize` compiles before it writes."""
    _materialize(project)
    (project / "features" / "more.yml").write_text(
        "models:\n  - name: cities\n    features: [home:upper_city]\n"
    )
    server = serve()
    results = server.features({"model": "cities", "entities": {"driver_id": [1]}})
    assert results[0]["features"]["home:upper_city"]["value"] == "OSLO"


def test_serve_serves_a_published_target_folder_without_its_project(
    project: Path, serve: Any, tmp_path: Path
) -> None:
    _materialize(project)
    published = tmp_path / "published"
    (published / "target").mkdir(parents=True)
    (published / "target" / "manifest.json").write_bytes(
        (project / "target" / "manifest.json").read_bytes()
    )
    server = serve(published)
    results = server.features({"model": "dispatch", "entities": {"driver_id": [1]}})
    assert results[0]["features"]["home:city"]["value"] == "oslo"
