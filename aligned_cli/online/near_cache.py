"""Hashes `serve` read lately, kept in its memory until Redis says they changed.

Redis' server-assisted client-side caching (Redis >= 6): one connection of ours,
subscribed to `__redis__:invalidate`, has tracking on in broadcast mode for the
project's key prefix, so Redis sends it the name of every key under the prefix that
is written, deleted, expired or flushed, whoever changes it (materialize, push, the
worker, a user). A cached hash is dropped as soon as its name arrives; the pending
names are read before every lookup, so a write that Redis acknowledged before a
request reached the server is never answered from memory.

Why it is safe:
- Broadcast tracking belongs to the listening connection alone: the read
  connections may come and go without Redis forgetting what to report.
- If the listener is lost (Redis restarted, the connection killed), everything
  cached is dropped and nothing is cached until a new listener is subscribed.
- A read in flight when one of its keys is invalidated is answered, but not kept
  (it may hold the value from before the write).
- Expiry needs no message: each hash is kept only until its Redis time to live
  (PTTL, read with it) runs out, by our monotonic clock, counted from before the read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

CHANNEL = b"__redis__:invalidate"
LISTENER_NAME = "aligned-serve-near-cache"
RETRY_SECONDS = 1.0  # between attempts to subscribe a listener again
FOREVER = 2**62


@dataclass(frozen=True)
class Token:
    """What a read must show to keep its replies: the listener it began under and the
    last invalidation it could have missed."""

    generation: int
    seen: int


class NearCache:
    """Per key: per field list (the RESP text of the fields a read asked for), the
    HMGET reply and until when (monotonic µs) it may be served. At most `max_keys`
    keys; the oldest stored goes first. One per event loop, used from that loop only."""

    def __init__(
        self, open_listener: Callable[[], Any], prefixes: Sequence[str], max_keys: int
    ) -> None:
        self._open_listener = open_listener  # a redis-py Connection, RESP2, not connected
        self._prefixes = list(prefixes)
        self._max_keys = max_keys
        self._entries: dict[str, dict[str, tuple[int, Sequence[Any]]]] = {}
        self._listener: Any = None
        self._fd: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Task[Any] | None = None
        self._next_attempt = 0.0
        self._generation = 0  # a new listener (or none) is a new generation
        self._invalidations = 0  # messages applied so far
        self._reads = 0  # reads in flight
        self._invalidated: dict[str, int] = {}  # key -> message number, while reads fly
        self.closed = False

    # --- the listener -----------------------------------------------------------

    def active(self) -> bool:
        """Whether lookups may be answered now: a listener is subscribed and every
        invalidation it has received is applied. Starts subscribing one if none is."""
        if self._listener is None:
            self._start_opening()
            return False
        self._drain()
        return self._listener is not None

    async def start(self) -> None:
        """Subscribe a listener now (a server starting), rather than at the first
        request; without one (Redis down), reads go to Redis until one subscribes."""
        task = self._start_opening()
        if task is not None:
            await asyncio.wait([task])

    def _start_opening(self) -> asyncio.Task[Any] | None:
        if self.closed or self._opening is not None or time.monotonic() < self._next_attempt:
            return self._opening
        self._next_attempt = time.monotonic() + RETRY_SECONDS
        loop = asyncio.get_running_loop()
        # In a thread: connecting blocks, and Redis may be down.
        self._opening = loop.create_task(asyncio.to_thread(self._subscribe))
        self._opening.add_done_callback(self._opened)
        return self._opening

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
            if connection.read_response() not in (b"OK", "OK"):
                raise ConnectionError("CLIENT TRACKING was refused")
            connection.send_command("SUBSCRIBE", CHANNEL)
            connection.read_response()
        except BaseException:
            connection.disconnect()
            raise
        return connection

    def _opened(self, task: asyncio.Task[Any]) -> None:
        self._opening = None
        if task.cancelled() or task.exception() is not None:
            return  # no cache until a later attempt subscribes (Redis down, an ACL, Redis 5)
        connection = task.result()
        if self.closed:
            connection.disconnect()
            return
        self._listener = connection
        self._generation += 1
        self._entries.clear()
        socket = getattr(connection, "_sock", None)  # redis-py keeps it private
        if socket is not None:
            # Applied as they come, so they never pile up while no request reads them.
            self._fd, self._loop = socket.fileno(), asyncio.get_running_loop()
            self._loop.add_reader(self._fd, self._drain)

    def _drain(self) -> None:
        """Apply every invalidation received so far."""
        listener = self._listener
        if listener is None:
            return
        try:
            while listener.can_read(timeout=0):
                message = listener.read_response()
                if isinstance(message, list) and len(message) == 3 and message[1] == CHANNEL:
                    self._invalidate(message[2])
        except Exception:  # the listener is gone: so is every promise about the cache
            self._lose_listener()

    def _invalidate(self, keys: list[bytes] | None) -> None:
        self._invalidations += 1
        if keys is None:  # FLUSHDB / FLUSHALL
            self._entries.clear()
            self._generation += 1  # and no read in flight may keep its replies
            return
        for raw in keys:
            key = raw.decode("utf-8", "surrogatepass")
            self._entries.pop(key, None)
            if self._reads:
                self._invalidated[key] = self._invalidations

    def _lose_listener(self) -> None:
        listener, self._listener = self._listener, None
        self._entries.clear()
        self._generation += 1
        if self._fd is not None and self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._fd = None
        if listener is not None:
            listener.disconnect()

    def close(self) -> None:
        self.closed = True
        if self._opening is not None:
            self._opening.cancel()
        self._lose_listener()

    # --- the entries ------------------------------------------------------------

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
        if entry is None:
            if len(self._entries) >= self._max_keys:
                del self._entries[next(iter(self._entries))]
            entry = self._entries[key] = {}
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
