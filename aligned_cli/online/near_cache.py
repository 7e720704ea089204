"""Hashes `serve` read lately, kept in its memory until Redis says they changed.

Redis' server-assisted client-side caching (Redis >= 6): one connection of ours,
subscribed to `__redis__:invalidate`, has tracking on in broadcast mode for the
project's key prefix, so Redis sends it the name of every key under the prefix that
is written, deleted, expired, evicted or flushed, whoever changes it (materialize,
push, the worker, a user), before it acknowledges the change. A cached hash is
dropped when its name arrives; the names received are applied before every lookup.

What bounds how far behind Redis an answer from memory can be:
- The listener is read without blocking and every whole message is applied; while
  part of one is still on its way, answers come from Redis.
- After applying names, the listener PINGs; its PONG comes after every message Redis
  queued before it, so until it comes (a bulk write, a slow path) answers come from
  Redis. A PING also goes out every `HEARTBEAT_SECONDS`; while one is unanswered
  for longer than `LAG_BOUND`, or the last one took longer, answers come from Redis;
  unanswered for `HEARTBEAT_DEADLINE`, the listener is dropped with everything cached
  (a hung Redis, a cut without a reset) and reads go to Redis until a new one
  subscribes. So an answer from memory lags Redis by the path's own delay (a report
  in flight), and by up to `HEARTBEAT_SECONDS + LAG_BOUND` more when that path slows.
- Broadcast tracking belongs to the listening connection alone: the read
  connections may come and go without Redis forgetting what to report.
- A read in flight when one of its keys is invalidated is answered, but not kept.
- Expiry needs no message: each hash is kept only until its Redis time to live
  (PTTL, read with it) runs out, by our monotonic clock, counted from before the read.
- Not reported by Redis, so not seen here: SWAPDB. Serve with `--cache-size 0` where
  databases are swapped under a running server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

CHANNEL = b"__redis__:invalidate"
LISTENER_NAME = "aligned-serve-near-cache"
PING = b"*1\r\n$4\r\nPING\r\n"
HEARTBEAT_SECONDS = 0.1  # a ping this often (one at a time)
LAG_BOUND = 0.05  # a ping unanswered (or last answered) slower than this: lagging
HEARTBEAT_DEADLINE = 3.0  # a ping unanswered this long: the listener is gone
RETRY_SECONDS = (1.0, 30.0)  # first and longest wait before subscribing again
SETTLED_SECONDS = 10.0  # a listener that lived this long resets the back-off
MAX_PENDING = 100_000  # invalidated keys remembered for reads in flight
FOREVER = 2**62

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Token:
    """What a read must show to keep its replies: the listener it began under and the
    last invalidation it could have missed."""

    generation: int
    seen: int


class _Refused(Exception):
    """Redis will not let this user listen (an ACL, Redis < 6): no cache, no retry."""


@dataclass
class _Listener:
    connection: Any  # the redis-py Connection that connected (auth, TLS, database)
    sock: Any  # its socket, non-blocking once subscribed
    reader: Any  # a hiredis.Reader of everything read after connecting
    opened_at: float
    # Whether the reader holds no part of a message. Its `has_data()` alone cannot
    # tell: bytes ending between two parts of a reply are taken into a half-built
    # one, and `has_data()` is then False.
    clean: bool = True


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
        self._listener: _Listener | None = None
        self._fd: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Task[Any] | None = None
        self._timer: asyncio.TimerHandle | None = None  # the next heartbeat, or retry
        self._retry = RETRY_SECONDS[0]
        self._pings: deque[tuple[float, bool]] = deque()  # (sent at, sent for a drain)
        self._last_rtt = 0.0
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
        """Whether lookups may be answered now: the listener is subscribed, every
        message it has received is applied, and it keeps up with Redis (no ping
        unanswered past `LAG_BOUND`, the last one answered within it, none sent for
        invalidations just applied still unanswered)."""
        if self._listener is None:
            return False
        self._drain()
        # Part of a message read (the rest on its way), or names applied whose PING is
        # unanswered (more may follow them): not caught up.
        if self._listener is None or not self._listener.clean or self._drain_ping_pending():
            return False
        if self._last_rtt > LAG_BOUND:
            return False
        return not self._pings or time.monotonic() - self._pings[0][0] <= LAG_BOUND

    def _open(self) -> None:
        self._timer = None
        if self._closed or self._opening is not None or self._loop is None:
            return
        # In a thread: connecting blocks, and Redis may be down.
        self._opening = self._loop.create_task(asyncio.to_thread(self._subscribe))
        self._opening.add_done_callback(self._opened)

    def _subscribe(self) -> _Listener:
        """Connect (redis-py: auth, TLS, database), then speak on the socket directly,
        every byte through one hiredis reader, so the loop never waits for the rest
        of a message (`_drain` reads what has come, and applies what is whole)."""
        import hiredis

        connection = self._open_listener()
        try:
            connection.connect()
            sock = getattr(connection, "_sock", None)  # redis-py keeps it private
            if sock is None:
                raise _Refused("redis-py exposes no socket to listen on")
            reader = hiredis.Reader()

            def call(*args: Any) -> Any:
                sock.sendall(b"".join(connection.pack_command(*args)))
                while (reply := reader.gets()) is False:
                    data = sock.recv(65536)  # (the connection's socket timeout applies)
                    if not data:
                        raise ConnectionError("Redis closed the connection")
                    reader.feed(data)
                if isinstance(reply, hiredis.ReplyError):
                    text = str(reply)
                    if text.upper().startswith(("NOPERM", "ERR UNKNOWN")):
                        raise _Refused(text)
                    raise ConnectionError(text)  # BUSY, LOADING, ...: later
                return reply

            call("CLIENT", "SETNAME", LISTENER_NAME)  # what it is, in CLIENT LIST
            own_id = call("CLIENT", "ID")
            call("PING")  # the heartbeat's command must be allowed too
            prefixes = [word for prefix in self._prefixes for word in ("PREFIX", prefix)]
            call("CLIENT", "TRACKING", "ON", "REDIRECT", own_id, "BCAST", *prefixes)
            call("SUBSCRIBE", CHANNEL)
            sock.setblocking(False)
        except BaseException:
            connection.disconnect()
            raise
        return _Listener(connection, sock, reader, time.monotonic())

    def _opened(self, task: asyncio.Task[Any]) -> None:
        self._opening = None
        error = None if task.cancelled() else task.exception()
        if isinstance(error, _Refused):
            _log.warning("near cache off: Redis refused what its listener needs (%s)", error)
            return
        if task.cancelled() or error is not None:
            if error is not None and self._retry == RETRY_SECONDS[0]:  # once per streak
                _log.warning("near cache: no listener yet (%s); retrying", error)
            self._retry_later()
            return
        listener = task.result()
        if self._closed or self._loop is None:
            listener.connection.disconnect()
            return
        self._listener = listener
        self._generation += 1
        self._clear()
        self._pings.clear()
        self._last_rtt = 0.0
        # Applied as they come, so they never pile up while no request reads them.
        self._fd = listener.sock.fileno()
        self._loop.add_reader(self._fd, self._drain)
        self._timer = self._loop.call_later(HEARTBEAT_SECONDS, self._heartbeat)

    def _retry_later(self) -> None:
        if self._closed or self._loop is None:
            return
        self._timer = self._loop.call_later(self._retry, self._open)
        self._retry = min(self._retry * 2, RETRY_SECONDS[1])

    def _heartbeat(self) -> None:
        self._timer = None
        if self._listener is None:
            return
        self._drain()
        if self._listener is None:
            return
        if self._pings and time.monotonic() - self._pings[0][0] > HEARTBEAT_DEADLINE:
            self._lose_listener()
            return
        if not self._pings:
            self._ping(for_drain=False)
        if self._listener is not None:
            assert self._loop is not None
            self._timer = self._loop.call_later(HEARTBEAT_SECONDS, self._heartbeat)

    def _ping(self, *, for_drain: bool) -> None:
        """A PING: its PONG comes after every message Redis queued before it."""
        assert self._listener is not None
        try:
            sent = self._listener.sock.send(PING)
        except OSError:  # (a full send buffer included: the listener is far behind)
            sent = 0
        if sent != len(PING):
            self._lose_listener()
            return
        self._pings.append((time.monotonic(), for_drain))

    def _drain(self) -> None:
        """Apply every whole message received so far, without waiting for more."""
        import ssl

        listener = self._listener
        if listener is None:
            return
        try:
            while True:
                try:
                    data = listener.sock.recv(65536)
                except (BlockingIOError, ssl.SSLWantReadError):
                    break
                if not data:
                    raise ConnectionError("Redis closed the connection")
                listener.reader.feed(data)
                listener.clean = False
            applied = False
            while (message := listener.reader.gets()) is not False:
                listener.clean = not listener.reader.has_data()
                if not isinstance(message, list) or not message:
                    raise ConnectionError(f"unexpected message {message!r}")
                if message[0] == b"pong":
                    self._pong()
                elif len(message) == 3 and message[1] == CHANNEL:
                    self._invalidate(message[2])
                    applied = True
        except Exception:  # the listener is gone: so is every promise about the cache
            self._lose_listener()
            return
        if applied and not self._drain_ping_pending():
            # Until its PONG, more names may be on their way (a bulk write, a slow
            # path from Redis): no answers from memory meanwhile.
            self._ping(for_drain=True)

    def _drain_ping_pending(self) -> bool:
        return any(for_drain for _, for_drain in self._pings)  # (one or two pings)

    def _pong(self) -> None:
        if not self._pings:
            raise ConnectionError("a PONG for no PING")
        sent_at, _ = self._pings.popleft()
        self._last_rtt = time.monotonic() - sent_at

    def _invalidate(self, keys: list[bytes] | None) -> None:
        """Drop the named keys (all, for a flush)."""
        self._invalidations += 1
        if keys is None:  # FLUSHDB / FLUSHALL
            self._clear()
            self._generation += 1  # and no read in flight may keep its replies
            return
        for raw in keys:
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
            listener.connection.disconnect()
            if time.monotonic() - listener.opened_at >= SETTLED_SECONDS:
                self._retry = RETRY_SECONDS[0]  # it was fine for a while: retry soon
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
