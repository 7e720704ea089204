"""Hashes `serve` read lately, kept in its memory until Redis says they changed.

Redis' server-assisted client-side caching (Redis >= 6): one connection of ours,
subscribed to `__redis__:invalidate`, has tracking on in broadcast mode for the
project's key prefix, so Redis sends it the name of every key under the prefix that
is written, deleted, expired, evicted or flushed, whoever changes it (materialize,
push, the worker, a user). A cached hash is dropped as soon as its name arrives; the
names received are applied before every lookup, and Redis sends them before it
answers the write, so a write acknowledged before a request reached the server is
not answered from memory.

Why it holds, and where it would not:
- Broadcast tracking belongs to the listening connection alone: the read
  connections may come and go without Redis forgetting what to report.
- The listener is pinged every second; memory answers only while a pong came within
  the last `HEARTBEAT_DEADLINE` seconds. A listener that is closed, reset or silent
  for longer (a hung Redis, a network cut without a FIN) is dropped with everything
  cached, and reads go to Redis until a new listener subscribes.
- A read in flight when one of its keys is invalidated is answered, but not kept.
- A drain that applies a burst of names (a bulk write) may have more waiting in
  Redis: for a moment after it, requests read Redis (`BURST_BYTES`).
- Expiry needs no message: each hash is kept only until its Redis time to live
  (PTTL, read with it) runs out, by our monotonic clock, counted from before the read.
- Not reported by Redis, so not seen here: SWAPDB. Serve with `--cache-size 0` where
  databases are swapped under a running server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

CHANNEL = b"__redis__:invalidate"
LISTENER_NAME = "aligned-serve-near-cache"
HEARTBEAT_SECONDS = 1.0
HEARTBEAT_DEADLINE = 3.0  # no pong for this long: the listener is not trusted
RETRY_SECONDS = (1.0, 30.0)  # first and longest wait before subscribing again
BURST_BYTES = 16_384  # key names applied by one drain that mean "maybe more waiting"
BURST_QUIET_SECONDS = 0.05  # ... and for how long after it reads go to Redis
MAX_PENDING = 100_000  # invalidated keys remembered for reads in flight
FOREVER = 2**62

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Token:
    """What a read must show to keep its replies: the listener it began under and the
    last invalidation it could have missed."""

    generation: int
    seen: int


class NearCache:
    """Per key: per field list (the RESP text of the fields a read asked for), the
    HMGET reply and until when (monotonic µs) it may be served. At most `max_replies`
    replies; the keys stored first go first. One per event loop, used from that loop
    only; it caches only once `start()` has subscribed its listener."""

    def __init__(
        self, open_listener: Callable[[], Any], prefixes: Sequence[str], max_replies: int
    ) -> None:
        self._open_listener = open_listener  # a redis-py Connection, RESP2, not connected
        self._prefixes = list(prefixes)
        self._max_replies = max_replies
        self._entries: dict[str, dict[str, tuple[int, Sequence[Any]]]] = {}
        self._replies = 0
        self._listener: Any = None
        self._fd: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Task[Any] | None = None
        self._timer: asyncio.TimerHandle | None = None  # the next ping, or retry
        self._retry = RETRY_SECONDS[0]
        self._last_pong = 0.0
        self._quiet_until = 0.0  # after a burst of names, more may wait in Redis
        self._generation = 0  # a new listener (or none) is a new generation
        self._invalidations = 0  # messages applied so far
        self._reads = 0  # reads in flight
        self._invalidated: dict[str, int] = {}  # key -> message number, while reads fly
        self._closed = False

    # --- the listener -----------------------------------------------------------

    async def start(self) -> None:
        """Subscribe the listener (a server starting). Without one (Redis down), reads
        go to Redis and a new attempt is made later."""
        self._loop = asyncio.get_running_loop()
        self._open()
        if self._opening is not None:
            await asyncio.wait([self._opening])

    def active(self) -> bool:
        """Whether lookups may be answered now: the listener is subscribed, heard from
        lately, and every invalidation it has received is applied."""
        if self._listener is None:
            return False
        self._drain()
        if self._listener is None:
            return False
        now = time.monotonic()
        return now >= self._quiet_until and now - self._last_pong <= HEARTBEAT_DEADLINE

    def _open(self) -> None:
        self._timer = None
        if self._closed or self._opening is not None or self._loop is None:
            return
        # In a thread: connecting blocks, and Redis may be down.
        self._opening = self._loop.create_task(asyncio.to_thread(self._subscribe))
        self._opening.add_done_callback(self._opened)

    def _subscribe(self) -> Any:
        connection = self._open_listener()
        try:
            connection.connect()
            # Named, so that an operator sees what it is in CLIENT LIST.
            connection.send_command("CLIENT", "SETNAME", LISTENER_NAME)
            connection.read_response()
            connection.send_command("CLIENT", "ID")
            own_id = connection.read_response()
            prefixes = [word for prefix in self._prefixes for word in ("PREFIX", prefix)]
            connection.send_command(
                "CLIENT", "TRACKING", "ON", "REDIRECT", own_id, "BCAST", *prefixes
            )
            connection.read_response()
            connection.send_command("SUBSCRIBE", CHANNEL)
            connection.read_response()
        except BaseException:
            connection.disconnect()
            raise
        return connection

    def _opened(self, task: asyncio.Task[Any]) -> None:
        from redis.exceptions import ResponseError

        self._opening = None
        error = None if task.cancelled() else task.exception()
        if task.cancelled() or error is not None:
            if isinstance(error, ResponseError):  # no CLIENT TRACKING (Redis 5, an ACL)
                _log.warning("near cache off: Redis refused client tracking (%s)", error)
                return
            self._retry_later()
            return
        connection = task.result()
        if self._closed or self._loop is None:
            connection.disconnect()
            return
        self._listener = connection
        self._generation += 1
        self._clear()
        self._retry = RETRY_SECONDS[0]
        self._last_pong = time.monotonic()
        socket = getattr(connection, "_sock", None)  # redis-py keeps it private
        if socket is not None:
            # Applied as they come, so they never pile up while no request reads them.
            self._fd = socket.fileno()
            self._loop.add_reader(self._fd, self._drain)
        self._timer = self._loop.call_later(HEARTBEAT_SECONDS, self._heartbeat)

    def _retry_later(self) -> None:
        if self._closed or self._loop is None:
            return
        self._timer = self._loop.call_later(self._retry, self._open)
        self._retry = min(self._retry * 2, RETRY_SECONDS[1])

    def _heartbeat(self) -> None:
        self._timer = None
        listener = self._listener
        if listener is None:
            return
        self._drain()  # a pong may be waiting
        if self._listener is None:
            return
        if time.monotonic() - self._last_pong > HEARTBEAT_DEADLINE:
            self._lose_listener()
            return
        try:
            listener.send_command("PING")
        except Exception:
            self._lose_listener()
            return
        assert self._loop is not None
        self._timer = self._loop.call_later(HEARTBEAT_SECONDS, self._heartbeat)

    def _drain(self) -> None:
        """Apply every message received so far."""
        listener = self._listener
        if listener is None:
            return
        applied = 0
        try:
            while listener.can_read(timeout=0):
                message = listener.read_response()
                if not isinstance(message, list) or not message:
                    continue
                if message[0] == b"pong":
                    self._last_pong = time.monotonic()
                elif len(message) == 3 and message[1] == CHANNEL:
                    applied += self._invalidate(message[2])
        except Exception:  # the listener is gone: so is every promise about the cache
            self._lose_listener()
            return
        if applied >= BURST_BYTES:
            self._quiet_until = time.monotonic() + BURST_QUIET_SECONDS

    def _invalidate(self, keys: list[bytes] | None) -> int:
        """Drop the named keys (all, for a flush); returns the bytes of names read."""
        self._invalidations += 1
        if keys is None:  # FLUSHDB / FLUSHALL
            self._clear()
            self._generation += 1  # and no read in flight may keep its replies
            return 0
        size = 0
        for raw in keys:
            size += len(raw)
            try:
                key = raw.decode("utf-8", "surrogatepass")
            except UnicodeDecodeError:
                continue  # not text: no key this server reads
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._replies -= len(entry)
            if self._reads:
                self._invalidated[key] = self._invalidations
        if len(self._invalidated) > MAX_PENDING:
            # Under sustained load no moment is free of reads in flight: forget, and
            # let every read in flight go uncached instead.
            self._invalidated.clear()
            self._generation += 1
        return size

    def _lose_listener(self) -> None:
        listener, self._listener = self._listener, None
        self._clear()
        self._generation += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._fd is not None and self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._fd = None
        if listener is not None:
            listener.disconnect()
            self._retry_later()

    async def close(self) -> None:
        self._closed = True
        if self._opening is not None:
            await asyncio.wait([self._opening])  # it disconnects what it opened
        self._lose_listener()

    # --- the entries ------------------------------------------------------------

    def _clear(self) -> None:
        self._entries.clear()
        self._replies = 0

    def lookup(self, key: str, fields: str, now_us: int) -> Sequence[Any] | None:
        """The cached reply to HMGET `key` `fields`, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        found = entry.get(fields)
        if found is None or found[0] <= now_us:
            return None
        return found[1]

    def begin(self) -> Token:
        self._reads += 1
        return Token(self._generation, self._invalidations)

    def store(
        self, token: Token, key: str, fields: str, reply: Sequence[Any], until_us: int
    ) -> None:
        """Keep a reply read under `token`, unless its key changed since the read began."""
        if token.generation != self._generation or self._listener is None:
            return
        if self._invalidated.get(key, 0) > token.seen:
            return
        entry = self._entries.get(key)
        if entry is None or fields not in entry:
            while self._replies >= self._max_replies and self._entries:
                oldest = next(iter(self._entries))
                self._replies -= len(self._entries.pop(oldest))
            entry = self._entries.setdefault(key, {})
            self._replies += 1
        # A tuple of bytes: the collector stops tracking it (and then its entry), so a
        # full collection does not walk a large cache object by object.
        entry[fields] = (until_us, tuple(reply))

    def end(self) -> None:
        self._reads -= 1
        if not self._reads:
            self._invalidated.clear()


def monotonic_us() -> int:
    return time.monotonic_ns() // 1000


def expires_at(started_us: int, pttl: int) -> int:
    """Until when a hash read at `started_us` is served from memory: its PTTL (ms) from
    then, or, with no expiry (-1) or no key (-2, kept until one is written), forever."""
    return started_us + pttl * 1000 if pttl >= 0 else FOREVER
