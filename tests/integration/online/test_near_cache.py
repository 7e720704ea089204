"""The server's near cache against a real Redis: what it serves from memory is always
what Redis holds, whoever writes, deletes, expires or flushes, and whatever happens
to its listening connection. Whether a read reached Redis is seen by Redis itself
(MONITOR), not by looking inside the server."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import aligned, event, write_project
from fastapi.testclient import TestClient

from aligned_cli.online.near_cache import LISTENER_NAME
from aligned_cli.serve import create_app

KEY = "aligned:fleet:driver_stats:1"
RATE = ["driver_stats:conv_rate"]


@pytest.fixture()
def project(tmp_path: Path, redis_url: str) -> Path:
    root = write_project(tmp_path / "p", redis_url, [event(1, 1, 0.25, 4), event(2, 2, 0.5, 1)])
    assert aligned("materialize", cwd=root).exit_code == 0
    return root


@pytest.fixture(params=[100_000, 1], ids=["cache", "one-key-cache"])
def api(request: Any, project: Path, redis_url: str) -> Iterator[TestClient]:
    app = create_app(project / "target" / "manifest.json", redis_url, cache_size=request.param)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def rate(api: TestClient, driver: int = 1) -> Any:
    response = api.post("/features", json={"entities": {"driver_id": [driver]}, "features": RATE})
    assert response.status_code == 200, response.text
    return response.json()["results"][0]["features"]["driver_stats:conv_rate"]


class Monitor:
    """The HMGETs Redis executes on the test's database for `KEY`, as MONITOR shows
    (its lines read off a plain socket: redis-py's monitor cannot time out and go on)."""

    def __init__(self, redis_url: str) -> None:
        import redis

        kwargs = redis.ConnectionPool.from_url(redis_url).connection_kwargs
        self._db = int(kwargs.get("db", 0))
        self._sock = socket.create_connection((kwargs["host"], kwargs["port"]), timeout=5)
        self._sock.sendall(b"MONITOR\r\n")
        self._buffer = b""
        self._wait_for(lambda line: line == "+OK")
        self.reads = 0

    def _wait_for(self, done: Any) -> None:
        while True:
            while b"\r\n" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\r\n", 1)
                line = raw.decode("utf-8", "replace")
                if f"[{self._db} " in line and f'"HMGET" "{KEY}"' in line:
                    self.reads += 1
                if done(line):
                    return
            self._buffer += self._sock.recv(65536)

    def count_after(self, action: Any, redis_client: Any) -> int:
        """HMGETs of KEY that `action` caused: MONITOR's lines up to a marker sent
        after it (Redis shows commands in the order it runs them)."""
        before = self.reads
        action()
        marker = f"mark-{time.monotonic_ns()}"
        redis_client.echo(marker)
        self._wait_for(lambda line: marker in line)
        return self.reads - before

    def close(self) -> None:
        self._sock.close()


@pytest.fixture()
def monitor(redis_url: str) -> Iterator[Monitor]:
    watching = Monitor(redis_url)
    yield watching
    watching.close()


def test_repeated_reads_are_answered_from_memory(
    api: TestClient, monitor: Monitor, redis_client: Any
) -> None:
    assert monitor.count_after(lambda: rate(api), redis_client) == 1
    assert monitor.count_after(lambda: [rate(api) for _ in range(5)], redis_client) == 0


def test_a_write_by_anyone_is_seen_by_the_next_read(
    api: TestClient, redis_client: Any, monitor: Monitor
) -> None:
    for i in range(40):  # no pause between the write and the read: no window for staleness
        redis_client.hset(KEY, "conv_rate", f"f:{i}.5")
        seen: list[Any] = []
        reads = monitor.count_after(lambda seen=seen: seen.append(rate(api)["value"]), redis_client)
        assert (reads, seen) == (1, [i + 0.5])
        assert rate(api)["value"] == i + 0.5
    # ... and each value was read from Redis once, then from memory.
    assert monitor.count_after(lambda: rate(api), redis_client) == 0


def test_a_push_through_the_server_is_seen_by_the_next_read(api: TestClient) -> None:
    assert rate(api)["value"] == 0.25
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    row = {"driver_id": 1, "event_timestamp": now, "conv_rate": 0.75, "trips": 2}
    assert api.post("/push", json={"view": "driver_stats", "rows": [row]}).status_code == 200
    assert rate(api)["value"] == 0.75


def test_deleted_expired_and_flushed_keys_are_not_found(api: TestClient, redis_client: Any) -> None:
    assert rate(api)["status"] == "present"
    redis_client.delete(KEY)
    assert rate(api)["status"] == "not_found"
    assert rate(api, 2)["status"] == "present"
    redis_client.flushdb()
    assert rate(api, 2)["status"] == "not_found"
    # A key read while absent (cached as absent) is seen once it is written.
    redis_client.hset(KEY, mapping={"__ts": str(int(time.time() * 1e6)), "conv_rate": "f:1.5"})
    assert rate(api)["value"] == 1.5
    # Expiry: kept no longer than Redis' time to live, message or not.
    redis_client.pexpire(KEY, 300)
    assert rate(api)["value"] == 1.5  # read again (the PEXPIRE invalidated it), with its PTTL
    assert rate(api)["value"] == 1.5
    time.sleep(0.35)
    assert rate(api)["status"] == "not_found"


def test_a_lost_listener_empties_the_cache(api: TestClient, redis_client: Any) -> None:
    assert rate(api)["value"] == 0.25
    db = str(redis_client.connection_pool.connection_kwargs.get("db", 0))
    listeners = [
        c for c in redis_client.client_list() if c["name"] == LISTENER_NAME and c["db"] == db
    ]
    assert listeners
    for listener in listeners:  # (ours: other tests' servers use other databases)
        redis_client.client_kill_filter(_id=listener["id"])
    # Written while nobody listens: no message will ever come for it.
    redis_client.hset(KEY, "conv_rate", "f:9.5")
    assert rate(api)["value"] == 9.5
    redis_client.hset(KEY, "conv_rate", "f:8.5")
    assert rate(api)["value"] == 8.5
    # A new listener subscribes (at most a second later) and the cache works again.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rate(api)
        if any(c["name"] == LISTENER_NAME for c in redis_client.client_list()):
            break
        time.sleep(0.05)
    else:
        pytest.fail("no listener subscribed again")
    redis_client.hset(KEY, "conv_rate", "f:7.5")
    assert rate(api)["value"] == 7.5


def test_cache_size_zero_reads_redis_every_time(
    project: Path, redis_url: str, redis_client: Any, monitor: Monitor
) -> None:
    app = create_app(project / "target" / "manifest.json", redis_url, cache_size=0)
    with TestClient(app) as api:
        assert monitor.count_after(lambda: [rate(api) for _ in range(3)], redis_client) == 3
        assert not any(c["name"] == LISTENER_NAME for c in redis_client.client_list())


def test_serve_cli_takes_cache_size() -> None:
    from typer.testing import CliRunner

    from aligned_cli.cli.app import app

    result = CliRunner().invoke(app, ["serve", "--help"])
    assert "--cache-size" in result.output


def test_a_reply_read_while_its_key_changed_is_not_kept(redis_url: str, redis_client: Any) -> None:
    """The race the server cannot see from outside: Redis ran our HMGET, then a write,
    and the write's message arrived before our reply was stored. The reply is
    answered (it was true when read) but never served again."""
    import asyncio

    import redis

    from aligned_cli.online.near_cache import FOREVER, NearCache

    def listener() -> Any:
        pool = redis.ConnectionPool.from_url(redis_url)
        return pool.connection_class(**{**pool.connection_kwargs, "protocol": 2})

    async def scenario() -> tuple[Any, Any, Any]:
        cache = NearCache(listener, ["aligned:fleet:"], 10)
        await cache.start()
        assert cache.active()
        token = cache.begin()  # ... the HMGET is sent and answered here ...
        redis_client.hset(KEY, "conv_rate", "f:3.5")  # ... a write lands before we store
        await asyncio.sleep(0.05)  # its message is read (by the loop's reader)
        cache.store(token, KEY, "fields", ["old"], FOREVER)
        cache.end()
        kept_racing = cache.lookup(KEY, "fields", 0)
        later = cache.begin()  # a read after the write is kept
        cache.store(later, KEY, "fields", ["new"], FOREVER)
        cache.end()
        kept_later = cache.lookup(KEY, "fields", 0)
        redis_client.flushdb()  # and a flush empties it
        await asyncio.sleep(0.05)
        flushed = cache.lookup(KEY, "fields", 0)
        cache.close()
        return kept_racing, kept_later, flushed

    assert asyncio.run(scenario()) == (None, ("new",), None)
