"""The server's near cache against a real Redis: what it serves from memory is always
what Redis holds, whoever writes, deletes, expires or flushes, and whatever happens
to its listening connection. Whether a read reached Redis is seen by Redis itself
(MONITOR), not by looking inside the server."""

from __future__ import annotations

import socket
import threading
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
        self._sync(redis_client)  # count nothing the test did before
        before = self.reads
        action()
        self._sync(redis_client)
        return self.reads - before

    def _sync(self, redis_client: Any) -> None:
        marker = f"mark-{time.monotonic_ns()}"
        redis_client.echo(marker)
        self._wait_for(lambda line: marker in line)

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
        await cache.close()
        return kept_racing, kept_later, flushed

    assert asyncio.run(scenario()) == (None, ("new",), None)


def _listener_for(redis_url: str) -> Any:
    import redis

    pool = redis.ConnectionPool.from_url(redis_url)
    return lambda: pool.connection_class(**{**pool.connection_kwargs, "protocol": 2})


class FreezableProxy:
    """A TCP relay to Redis that can stop relaying without closing anything: a network
    cut without a FIN, or a hung Redis, as the server sees it."""

    def __init__(self, redis_url: str) -> None:
        import redis

        kwargs = redis.ConnectionPool.from_url(redis_url).connection_kwargs
        self.upstream = (kwargs["host"], kwargs["port"])
        self.db = kwargs.get("db", 0)
        self.frozen = threading.Event()
        self.delay = 0.0  # seconds each chunk is held before it is relayed
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{self.db}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.frozen.is_set():
                    time.sleep(0.01)  # held, never delivered
                if self.delay:
                    time.sleep(self.delay)
                target.sendall(data)
        except OSError:
            pass
        finally:  # one side closed: so is the other (Redis sees its client go)
            for end in (source, target):
                end.close()

    def close(self) -> None:
        self.server.close()


def test_a_slow_or_silent_listener_is_not_trusted(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No FIN, no reset, no message: a listener whose pings go unanswered past 50 ms
    answers nothing from memory, and past the deadline (here 0.5 s) is dropped with
    everything cached; one whose path lags (pongs slower than 50 ms) answers nothing."""
    import asyncio

    from aligned_cli.online import near_cache
    from aligned_cli.online.near_cache import FOREVER, NearCache

    monkeypatch.setattr(near_cache, "HEARTBEAT_DEADLINE", 0.5)
    proxy = FreezableProxy(redis_url)

    async def scenario() -> list[Any]:
        cache = NearCache(_listener_for(proxy.url), ["aligned:fleet:"], 10)
        await cache.start()
        await asyncio.sleep(0.3)  # pongs keep coming
        seen: list[Any] = [cache.active()]
        cache.store(cache.begin(), KEY, "fields", ["v"], FOREVER)
        cache.end()
        proxy.delay = 0.2  # a slow path: every message arrives 0.2 s late
        await asyncio.sleep(0.6)
        seen += [cache.active(), cache.lookup(KEY, "fields", 0)]
        proxy.delay = 0.0
        await asyncio.sleep(0.6)
        seen.append(cache.active())  # fast again
        proxy.frozen.set()  # silent
        await asyncio.sleep(0.3)
        seen += [cache.active(), cache.lookup(KEY, "fields", 0)]  # lagging, still kept
        await asyncio.sleep(0.6)
        seen += [cache.active(), cache.lookup(KEY, "fields", 0)]  # dropped
        proxy.frozen.clear()
        await cache.close()
        return seen

    try:
        assert asyncio.run(scenario()) == [True, False, ("v",), True, False, ("v",), False, None]
    finally:
        proxy.close()


def test_a_message_read_in_part_or_just_applied_sends_reads_to_redis() -> None:
    """What `active` decides from the bytes the listener has read: a message in part
    (the rest on its way) and names applied whose PING is unanswered (more may follow
    them) both mean "not caught up"; the PONG means caught up."""
    import asyncio

    import hiredis

    from aligned_cli.online.near_cache import NearCache, _Listener

    class Connection:
        def disconnect(self) -> None:
            pass

    ours, redis_end = socket.socketpair()
    ours.setblocking(False)
    message = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$3\r\nkey\r\n"

    async def scenario() -> list[bool]:
        cache = NearCache(lambda: None, ["x"], 10)
        cache._loop = asyncio.get_running_loop()
        cache._listener = _Listener(Connection(), ours, hiredis.Reader(), time.monotonic())
        seen = [cache.active()]
        redis_end.sendall(message[:30])
        seen.append(cache.active())  # part of a message
        redis_end.sendall(message[30:])
        seen.append(cache.active())  # applied; its PING is unanswered
        assert redis_end.recv(100) == b"*1\r\n$4\r\nPING\r\n"
        redis_end.sendall(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        seen.append(cache.active())
        # Cut between two parts of a reply (hiredis holds a half-built one, and its
        # `has_data()` is False): still a message in part.
        boundary = len(b"*3\r\n$7\r\nmessage\r\n")
        redis_end.sendall(message[:boundary])
        seen.append(cache.active())
        redis_end.sendall(message[boundary:])
        seen.append(cache.active())  # applied; its PING is unanswered
        assert redis_end.recv(100) == b"*1\r\n$4\r\nPING\r\n"
        redis_end.sendall(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        seen.append(cache.active())
        return seen

    try:
        assert asyncio.run(scenario()) == [True, False, False, True, False, False, True]
    finally:
        ours.close()
        redis_end.close()


def test_memory_is_bounded_by_replies_not_keys(redis_url: str) -> None:
    """Every order of a key's features is its own reply: the bound counts replies."""
    import asyncio
    import itertools

    from aligned_cli.online.near_cache import FOREVER, NearCache

    async def scenario() -> list[int]:
        cache = NearCache(_listener_for(redis_url), ["aligned:fleet:"], 3)
        await cache.start()
        for order in itertools.permutations("abcd"):
            cache.store(cache.begin(), KEY, "".join(order), ["v"], FOREVER)
            cache.end()
        for other in range(5):
            cache.store(cache.begin(), f"{KEY}{other}", "abcd", ["v"], FOREVER)
            cache.end()
        kept = [
            sum(cache.lookup(k, "".join(o), 0) is not None for o in itertools.permutations("abcd"))
            for k in [KEY, *(f"{KEY}{other}" for other in range(5))]
        ]
        await cache.close()
        return kept

    assert asyncio.run(scenario()) == [0, 0, 0, 1, 1, 1]


def test_a_key_name_that_is_not_text_leaves_the_cache_alone(
    api: TestClient, redis_client: Any, monitor: Monitor
) -> None:
    assert rate(api)["value"] == 0.25
    redis_client.set(b"aligned:fleet:\xff\xfe", b"x")
    assert monitor.count_after(lambda: [rate(api) for _ in range(3)], redis_client) == 0


def test_a_burst_of_names_sends_reads_to_redis_until_the_listener_caught_up(
    redis_url: str, redis_client: Any
) -> None:
    """A server busy while a bulk write lands finds a burst of names at once, and Redis
    may still hold more of them: the cache stays out of the answer until the PING sent
    after them is answered."""
    import asyncio

    from aligned_cli.online.near_cache import NearCache

    async def scenario() -> tuple[bool, bool, bool]:
        cache = NearCache(_listener_for(redis_url), ["aligned:fleet:"], 10)
        await cache.start()
        before = cache.active()
        # The loop is blocked (no await) while ~70 kB of key names are reported.
        pipe = redis_client.pipeline(transaction=False)
        for i in range(2_000):
            pipe.set(f"aligned:fleet:bulk:{i:06d}", "x")
        pipe.execute()
        time.sleep(0.1)
        during = cache.active()
        await asyncio.sleep(0.6)
        after = cache.active()
        await cache.close()
        return before, during, after

    assert asyncio.run(scenario()) == (True, False, True)


def test_no_listener_without_the_server_starting(
    project: Path, redis_url: str, redis_client: Any
) -> None:
    """A TestClient used without `with` runs each request on a new event loop and never
    starts the app: no listener is opened for any of them (they would leak)."""
    app = create_app(project / "target" / "manifest.json", redis_url)
    client = TestClient(app)
    for _ in range(5):
        assert rate(client)["value"] == 0.25
    db = str(redis_client.connection_pool.connection_kwargs.get("db", 0))
    names = [c["name"] for c in redis_client.client_list() if c["db"] == db]
    assert LISTENER_NAME not in names


def test_the_listener_of_a_unix_socket_url_takes_no_tcp_options() -> None:
    """`socket_keepalive` is for TCP (and TLS) connections: redis-py's unix-socket
    connection refuses it, which left the cache off for good."""
    from aligned_cli.serve.app import _AsyncClients

    for url in ("unix:///tmp/redis.sock?db=3", "redis://127.0.0.1:6379/3"):
        listener = _AsyncClients(url, "aligned:p:", 10)._listener()
        assert listener.protocol in (2, "2") and listener.db == 3
