"""The read path of `serve`: every entity x view in one round trip.

One pipelined HMGET per entity and view, packed here as RESP text and read back
through hiredis in C. redis-py's own pipeline packs and parses in Python, one
argument and one reply at a time, which cost more than the round trip; a Lua script
looping over HMGET (one command, one nested reply) kept Redis busy for ~250 µs per
100 entities x 2 views, where the same HMGETs pipelined take ~180 µs end to end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse
from redis.exceptions import TimeoutError as RedisTimeoutError

from aligned_cli.core.ir import FeatureRef
from aligned_cli.online.catalog import Catalog, OnlineView
from aligned_cli.online.codec import (
    FIRST_MICROS,
    LAST_MICROS,
    datetime_to_micros,
    decode,
    to_json_value,
)
from aligned_cli.online.keys import TS_FIELD, key_suffixes
from aligned_cli.online.near_cache import NearCache, expires_at, monotonic_us

if TYPE_CHECKING:
    import redis.asyncio


@dataclass(frozen=True)
class ViewRead:
    """One view's part of a plan, with what every request re-used to build."""

    view: OnlineView
    wanted: list[str]  # its requested features
    labels: list[str]  # `view:feature` for each
    head: str  # RESP up to the key's `$<length>`: `*<n>\r\n$5\r\nHMGET\r\n$`
    tail: str  # RESP of the fields after the key: `__ts`, then `wanted`
    prefix_size: int  # bytes of the key prefix

    @classmethod
    def build(cls, view: OnlineView, wanted: list[str]) -> ViewRead:
        fields = [TS_FIELD, *wanted]
        return cls(
            view=view,
            wanted=wanted,
            labels=[f"{view.name}:{name}" for name in wanted],
            head=f"*{2 + len(fields)}\r\n$5\r\nHMGET\r\n$",
            tail="".join(f"${_size(field)}\r\n{field}\r\n" for field in fields),
            prefix_size=_size(view.key_prefix),
        )


@dataclass(frozen=True)
class ReadPlan:
    """Which hash fields to fetch per view, for one request."""

    views: list[tuple[OnlineView, list[str]]]  # view, its requested features
    reads: list[ViewRead]  # the same, one per view, as sent

    @classmethod
    def build(cls, catalog: Catalog, refs: Sequence[FeatureRef]) -> ReadPlan:
        # Keyed by hash prefix: a view's aggregates live apart from its latest row.
        by_view: dict[str, tuple[OnlineView, list[str]]] = {}
        for ref in refs:
            online = catalog.online_view(ref)
            by_view.setdefault(online.key_prefix, (online, []))[1].append(ref.feature)
        views = list(by_view.values())
        return cls(views, [ViewRead.build(view, wanted) for view, wanted in views])

    def missing_entities(self, entities: Mapping[str, Any]) -> list[str]:
        needed = [e for view, _ in self.views for e in view.entities]
        return [e for e in dict.fromkeys(needed) if e not in entities]

    def mistyped_entity(self, entities: Mapping[str, Sequence[Any]]) -> tuple[str, int] | None:
        """The first key column that every view reading it declares an integer and that
        holds a value naming no integer's key: (column, position), or None. Accepted
        besides ints: integral floats and canonical digit strings (`"1"`, not `"01"`),
        whose stored key text is the same; all within int64."""
        integer_in: dict[str, bool] = {}
        for view, _ in self.views:
            for key in view.entities:
                integer_in[key] = integer_in.get(key, True) and key in view.integer_entities
        for name in sorted(k for k, is_integer in integer_in.items() if is_integer):
            values = entities.get(name, ())
            if all(type(value) is int and _INT64_MIN <= value <= _INT64_MAX for value in values):
                continue  # the common case, fast
            for position, value in enumerate(values):
                if not _names_an_integer(value):
                    return name, position
        return None


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _names_an_integer(value: Any) -> bool:
    if value is None:
        return True  # NULL matches nothing, whatever the type
    if type(value) is int:
        return _INT64_MIN <= value <= _INT64_MAX
    if isinstance(value, float):
        # NaN matches nothing, like NULL; 2.0 is keyed as 2
        return value != value or (value.is_integer() and _INT64_MIN <= value <= _INT64_MAX)
    if isinstance(value, str) and value.isascii() and value.removeprefix("-").isdigit():
        number = int(value)
        return str(number) == value and _INT64_MIN <= number <= _INT64_MAX
    return False  # bool, a list, text that is no canonical integer


async def read_features(
    connections: ReadConnections,
    plan: ReadPlan,
    entities: Mapping[str, Sequence[Any]],
    count: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """One result per entity row, in order: `{"entity": ..., "features": ...}`.

    Event timestamps are naive UTC datetimes, for `orjson.dumps(option=JSON_OPTIONS)`
    to write as ISO-8601 with a `Z` (in C: formatting them here cost more than the
    Redis read). Runs once per request over every entity x view, so it is written for
    speed: plain loops, no per-value helper calls on the common paths.
    """
    keys_of: list[list[str]] = []  # per view: the key suffixes asked for
    rows_of: list[list[int] | None] = []  # per view: its queued rows, None for all
    suffixes: dict[tuple[str, ...], list[str | None]] = {}  # per entity-column tuple
    for read in plan.reads:
        view = read.view
        texts = suffixes.get(view.entities)
        if texts is None:
            texts = key_suffixes([entities[e] for e in view.entities])
            suffixes[view.entities] = texts
        if None in texts:  # a NULL key matches nothing: not asked for
            rows_of.append([row for row, text in enumerate(texts) if text is not None])
            keys_of.append([text for text in texts if text is not None])
        else:
            rows_of.append(None)
            keys_of.append(texts)  # type: ignore[arg-type]
    cache = connections.cache
    if cache is not None and cache.active():
        replies = await _through_cache(connections, cache, plan.reads, keys_of)
    else:
        queued = sum(map(len, keys_of))
        commands = [_hmgets(read, keys) for read, keys in zip(plan.reads, keys_of, strict=True)]
        packed = "".join(commands).encode("utf-8", "surrogatepass")
        replies = await connections.pipelined(packed, queued) if queued else []
    now_us = datetime_to_micros(now)
    features: list[dict[str, Any]] = [{} for _ in range(count)]
    start = 0
    for read, rows in zip(plan.reads, rows_of, strict=True):
        queued = count if rows is None else len(rows)
        view_replies = replies[start : start + queued]
        start += queued
        if rows is None:
            targets = features
        else:
            targets = [features[row] for row in rows]
            for row in set(range(count)).difference(rows):
                _fill_missing(features[row], read.labels)
        _fill(targets, view_replies, read.labels, read.view.ttl, now_us)
    names = list(entities)
    if len(names) == 1:
        name = names[0]
        return [
            {"entity": {name: value}, "features": found}
            for value, found in zip(entities[name], features, strict=True)
        ]
    return [
        {"entity": {name: entities[name][row] for name in names}, "features": features[row]}
        for row in range(count)
    ]


# What `orjson.dumps` needs for the timestamps `read_features` returns.
JSON_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def _fill(
    targets: list[dict[str, Any]],
    replies: list[Any],
    labels: list[str],
    ttl: int | None,
    now_us: int,
) -> None:
    """Each target gets the view's requested features (`labels`) from its HMGET
    reply (`[__ts, *wanted]`).

    Column by column (comprehensions and one flat loop per feature, a third less
    Python than row by row). A view with a row past its ttl, or stored without a
    time (aligned never writes one), goes row by row (`_fill_rows`)."""
    columns = list(zip(*replies, strict=True)) or [()] * (1 + len(labels))
    if b"" in columns[0]:
        return _fill_rows(targets, replies, labels, ttl, now_us)
    times = [None if raw is None else int(raw) for raw in columns[0]]
    live = [ts for ts in times if ts is not None]
    if live:
        oldest, newest = min(live), max(live)
        stale = ttl is not None and oldest < now_us - ttl * 1_000_000
        if stale or oldest < _FIRST_US or newest > _LAST_US:  # (no datetime for those)
            return _fill_rows(targets, replies, labels, ttl, now_us)
    stamps: Sequence[datetime | None] = _datetimes(live)
    if len(live) < len(times):  # not found: None
        found = iter(stamps)
        stamps = [None if ts is None else next(found) for ts in times]
    for label, column in zip(labels, columns[1:], strict=True):
        for target, raw, stamp in zip(targets, column, stamps, strict=True):
            # No row (stamp None), or a feature added after this row was written.
            if raw is None or stamp is None:
                target[label] = {"value": None, "status": "not_found", "event_timestamp": None}
                continue
            # The common tags inline (`decode` + `to_json_value` for the rest); int()
            # and float() read the bytes as they come.
            tag = raw[0]
            if tag == _FLOAT:
                value: Any = float(raw[2:])
                if value - value != 0.0:  # NaN or an infinity
                    value = to_json_value(value)
            elif tag == _INT:
                value = int(raw[2:])
            elif tag == _STR:
                value = raw[2:].decode()
            else:
                value = _value(raw)
            target[label] = {"value": value, "status": "present", "event_timestamp": stamp}
    return None


def _datetimes(micros: list[int]) -> list[datetime]:
    """Epoch microseconds as naive UTC datetimes (numpy makes them in C, a seventh
    of the time `epoch + timedelta` takes one by one, past the few of a small
    request, for which numpy's own overhead is the larger)."""
    if len(micros) <= 4:
        return [_NAIVE_EPOCH + timedelta(0, 0, ts) for ts in micros]
    stamps: list[datetime] = np.array(micros, np.int64).view("datetime64[us]").tolist()
    return stamps


# The microseconds datetime holds (numpy gives plain ints outside them).
_FIRST_US, _LAST_US = FIRST_MICROS, LAST_MICROS


def _fill_rows(
    targets: list[dict[str, Any]],
    replies: list[Any],
    labels: list[str],
    ttl: int | None,
    now_us: int,
) -> None:
    """`_fill` row by row, for views with rows past their ttl or without a time."""
    # Redis drops the key at ts + ttl already; this covers a key read in its last
    # moment, or a Redis whose clock lags ours (and keys written without expiry).
    oldest = None if ttl is None else now_us - ttl * 1_000_000
    for target, reply in zip(targets, replies, strict=True):
        ts_raw = reply[0]
        if ts_raw is None:  # no row
            for label in labels:
                target[label] = {"value": None, "status": "not_found", "event_timestamp": None}
            continue
        stamp: datetime | None = None  # a row stored without its time: undated
        if ts_raw:
            ts = int(ts_raw)
            # An instant no datetime holds (year > 9999, from a source's data): served
            # undated rather than failing the whole request.
            stamp = _NAIVE_EPOCH + timedelta(0, 0, ts) if _FIRST_US <= ts <= _LAST_US else None
            if oldest is not None and ts < oldest:
                for label in labels:
                    target[label] = {
                        "value": None,
                        "status": "outside_ttl",
                        "event_timestamp": stamp,
                    }
                continue
        for label, raw in zip(labels, reply[1:], strict=True):
            if raw is None:  # a feature added to the view after this row was written
                target[label] = {"value": None, "status": "not_found", "event_timestamp": None}
                continue
            value = _value(raw)
            target[label] = {"value": value, "status": "present", "event_timestamp": stamp}


def _value(raw: bytes | str) -> Any:
    """A stored value as JSON-ready Python."""
    return to_json_value(decode(_text(raw)))


def _fill_missing(target: dict[str, Any], labels: list[str]) -> None:
    for label in labels:
        target[label] = {
            "value": None,
            "status": "not_found",
            "event_timestamp": None,
        }


_FLOAT, _INT, _STR = ord("f"), ord("i"), ord("s")


def _hmgets(read: ViewRead, suffixes: list[str]) -> str:
    """`HMGET <prefix><suffix> __ts *wanted` for each key suffix, as the RESP text
    redis-py would send."""
    head, tail, prefix, size = read.head, read.tail, read.view.key_prefix, read.prefix_size
    # `$<length>` counts bytes: len() is right while every key is ASCII.
    text = "".join([f"{head}{size + len(key)}\r\n{prefix}{key}\r\n{tail}" for key in suffixes])
    if text.isascii():
        return text
    return "".join([f"{head}{size + _size(key)}\r\n{prefix}{key}\r\n{tail}" for key in suffixes])


async def _through_cache(
    connections: ReadConnections,
    cache: NearCache,
    reads: Sequence[ViewRead],
    keys_of: Sequence[Sequence[str]],
) -> list[Any]:
    """The replies `pipelined` would give for every read's keys, those cached taken
    from memory, the rest read (with their time to live) in one round trip and kept."""
    started = monotonic_us()
    replies: list[Any] = []
    missed: list[tuple[int, ViewRead, str]] = []  # (position in replies, read, key)
    for read, keys in zip(reads, keys_of, strict=True):
        prefix, fields = read.view.key_prefix, read.tail
        for suffix in keys:
            key = prefix + suffix
            found = cache.lookup(key, fields, started)
            if found is None:
                missed.append((len(replies), read, key))
            replies.append(found)
    if not missed:
        return replies
    packed = "".join([_hmget_pttl(read, key) for _, read, key in missed])
    token = cache.begin()
    try:
        got = await connections.pipelined(packed.encode("utf-8", "surrogatepass"), 2 * len(missed))
        for (position, read, key), reply, pttl in zip(missed, got[::2], got[1::2], strict=True):
            replies[position] = reply
            cache.store(token, key, read.tail, reply, expires_at(started, pttl))
    finally:
        cache.end()
    return replies


def _hmget_pttl(read: ViewRead, key: str) -> str:
    """`HMGET <key> __ts *wanted`, then `PTTL <key>`, as RESP text."""
    name = f"{_size(key)}\r\n{key}\r\n"
    return f"{read.head}{name}{read.tail}*2\r\n$4\r\nPTTL\r\n${name}"


def _size(text: str) -> int:
    """Bytes of `text` as sent (UTF-8; a lone surrogate from JSON passes through, to
    name a key that does not exist rather than fail the request)."""
    return len(text.encode("utf-8", "surrogatepass"))


class ReadConnections:
    """The read path's Redis connections, for one event loop.

    redis-py's own connections (made by the client's pool, so they connect,
    authenticate, select the database and speak TLS as the URL says), kept idle in
    a list here rather than in the pool: the pool's `get_connection` and `release`
    take a lock, check the socket, record metrics and dispatch events, about 20 µs
    a request, as much as the round trip of a one-entity read. A connection comes
    back here only with every reply read (any failure disconnects it first), so
    none can hand stale replies to the next request."""

    def __init__(self, client: redis.asyncio.Redis, cache: NearCache | None = None) -> None:
        self._pool: Any = client.connection_pool  # redis-py leaves connections untyped
        self._idle: list[Any] = []
        self.cache = cache

    async def pipelined(self, packed: bytes, count: int) -> list[Any]:
        """Send `count` packed commands on one connection and return their replies
        (an error reply raises), all within `READ_TIMEOUT`. Reads are idempotent:
        a connection Redis has dropped (a restart) is given up, with every idle one,
        and the commands sent again, once, on a new connection."""
        try:
            async with asyncio.timeout(READ_TIMEOUT):  # connecting included
                idle = self._idle
                connection = idle.pop() if idle else self._pool.make_connection()
                try:
                    return await self._round_trip(connection, packed, count)
                except RedisConnectionError:
                    await self._drop_idle()
                    return await self._round_trip(self._pool.make_connection(), packed, count)
        except TimeoutError:
            raise RedisTimeoutError(f"no reply from Redis in {READ_TIMEOUT:g} s") from None

    async def _round_trip(self, connection: Any, packed: bytes, count: int) -> list[Any]:
        try:
            # Connects first when it is not (a new connection, or one given up).
            await connection.send_packed_command(packed, check_health=False)
            replies = await _replies(connection, count)
        except BaseException:
            # Replies may be left unread (a timeout, a cancelled request): the
            # connection must never hand them to the next caller.
            await connection.disconnect(nowait=True)
            raise
        finally:
            self._idle.append(connection)
        for reply in replies:
            if isinstance(reply, Exception):  # hiredis hands error replies back as values
                raise reply
        return replies

    async def close(self) -> None:
        """Disconnect the idle connections (those in use close when they fail) and
        the near cache's listener."""
        if self.cache is not None:
            await self.cache.close()
        await self._drop_idle()

    async def _drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.disconnect(nowait=True)


# Seconds for one request's reads, connecting included. The async client has no
# socket_timeout: with one, redis-py wraps every send in a new task.
READ_TIMEOUT = 10.0


async def _replies(connection: Any, count: int) -> list[Any]:
    """`count` replies, read straight off redis-py's hiredis reader when it has one:
    `read_response()` costs microseconds of Python per reply, hundreds per request."""
    parser = getattr(connection, "_parser", None)
    reader = getattr(parser, "_reader", None)
    more = getattr(parser, "read_from_socket", None)
    if _NOT_ENOUGH_DATA is None or not isinstance(reader, _HIREDIS_READER) or more is None:
        return [await connection.read_response() for _ in range(count)]
    replies: list[Any] = []
    while True:
        # Every complete reply buffered so far, in C; only ours can come on this
        # connection (RESP2: nothing unasked for).
        replies += iter(reader.gets, _NOT_ENOUGH_DATA)
        if len(replies) >= count:
            break
        try:
            await more()
        except OSError as error:  # (redis-py's read_response would say so too)
            raise RedisConnectionError(f"reading from Redis: {error}") from error
    if len(replies) != count:
        raise InvalidResponse(f"{len(replies)} replies to {count} commands")
    return replies


def _hiredis() -> tuple[Any, Any]:
    """hiredis' Reader type and redis-py's "no complete reply yet" marker, or Nones
    (then replies come through redis-py's public `read_response`)."""
    try:
        import hiredis
        from redis._parsers.hiredis import NOT_ENOUGH_DATA
    except ImportError:
        return None, None
    return hiredis.Reader, NOT_ENOUGH_DATA


_HIREDIS_READER, _NOT_ENOUGH_DATA = _hiredis()


_NAIVE_EPOCH = datetime(1970, 1, 1)


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)
