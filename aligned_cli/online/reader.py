"""The read path of `serve`: every entity x view in one round trip (one EVALSHA)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aligned_cli.core.ir import FeatureRef
from aligned_cli.online.catalog import Catalog, OnlineView
from aligned_cli.online.codec import (
    datetime_to_micros,
    decode,
    to_json_value,
)
from aligned_cli.online.keys import CREATED_FIELD, TS_FIELD, entity_key

if TYPE_CHECKING:
    import redis.asyncio


@dataclass(frozen=True)
class ReadPlan:
    """Which hash fields to fetch per view, for one request."""

    views: list[tuple[OnlineView, list[str]]]  # view, its requested features

    @classmethod
    def build(cls, catalog: Catalog, refs: Sequence[FeatureRef]) -> ReadPlan:
        # Keyed by hash prefix: a view's aggregates live apart from its latest row.
        by_view: dict[str, tuple[OnlineView, list[str]]] = {}
        for ref in refs:
            online = catalog.online_view(ref)
            by_view.setdefault(online.key_prefix, (online, []))[1].append(ref.feature)
        return cls(list(by_view.values()))

    def missing_entities(self, entities: Mapping[str, Any]) -> list[str]:
        needed = [e for view, _ in self.views for e in view.entities]
        return [e for e in dict.fromkeys(needed) if e not in entities]


# One EVALSHA per request rather than a pipeline of HMGETs: redis-py packs and parses
# a pipeline one command at a time in Python (most of a 100-entity request), while
# one command with the keys as KEYS comes back as one nested reply (parsed in C by
# hiredis). Read-only, so it is safe to replay after a NOSCRIPT. KEYS: the hashes,
# view by view; ARGV[1]: the number of views, then per view: its field count, the
# fields, and how many of KEYS are its hashes. Returns one HMGET reply per key.
READ_SCRIPT = """
local views, at, k, out = tonumber(ARGV[1]), 2, 1, {}
for _ = 1, views do
  local count = tonumber(ARGV[at])
  local fields = {unpack(ARGV, at + 1, at + count)}
  local keys = tonumber(ARGV[at + count + 1])
  at = at + count + 2
  for _ = 1, keys do
    out[k] = redis.call('HMGET', KEYS[k], unpack(fields))
    k = k + 1
  end
end
return out
"""
READ_SHA = hashlib.sha1(READ_SCRIPT.encode()).hexdigest()


async def read_features(
    client: redis.asyncio.Redis,
    plan: ReadPlan,
    entities: Mapping[str, Sequence[Any]],
    count: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """One result per entity row, in order: `{"entity": ..., "features": ...}`."""
    keys: list[str] = []
    args: list[str | int] = [len(plan.views)]
    rows_of: list[list[int]] = []  # per view: the rows whose key is queued, in order
    for view, wanted in plan.views:
        columns = [entities[e] for e in view.entities]
        rows: list[int] = []
        for row in range(count):
            key = entity_key(view.key_prefix, [column[row] for column in columns])
            if key is not None:  # a NULL key matches nothing
                keys.append(key)
                rows.append(row)
        args += [2 + len(wanted), TS_FIELD, CREATED_FIELD, *wanted, len(rows)]
        rows_of.append(rows)
    replies: list[Any] = await _evalsha(client, keys, args) if keys else []
    now_us = datetime_to_micros(now)
    features: list[dict[str, Any]] = [{} for _ in range(count)]
    start = 0
    for (view, wanted), rows in zip(plan.views, rows_of, strict=True):
        labels = [f"{view.name}:{name}" for name in wanted]
        found = dict(zip(rows, replies[start : start + len(rows)], strict=True))
        start += len(rows)
        for row in range(count):
            features[row].update(_view_values(view, labels, found.get(row), now_us))
    names = list(entities)
    return [
        {"entity": {name: entities[name][row] for name in names}, "features": features[row]}
        for row in range(count)
    ]


async def _evalsha(client: redis.asyncio.Redis, keys: list[str], args: list[str | int]) -> Any:
    from redis.exceptions import NoScriptError

    try:
        return await client.evalsha(READ_SHA, len(keys), *keys, *args)
    except NoScriptError:  # a restarted or flushed Redis: load it and ask again
        await client.script_load(READ_SCRIPT)
        return await client.evalsha(READ_SHA, len(keys), *keys, *args)


def _view_values(
    view: OnlineView, labels: list[str], reply: list[Any] | None, now_us: int
) -> dict[str, dict[str, Any]]:
    """`labels` are the requested features as `view:feature`, in the reply's order."""
    ts_raw = reply[0] if reply else None
    if reply is None or ts_raw is None:
        return {
            label: {"value": None, "status": "not_found", "event_timestamp": None}
            for label in labels
        }
    ts_text = _text(ts_raw)
    ts = int(ts_text) if ts_text else None
    stamp = _iso(ts) if ts is not None else None
    # Redis drops the key at ts + ttl already; this covers a key read in its last
    # moment, or a Redis whose clock lags ours (and keys written without expiry).
    stale = view.ttl is not None and ts is not None and now_us - ts > view.ttl * 1_000_000
    out: dict[str, dict[str, Any]] = {}
    for label, raw in zip(labels, reply[2:], strict=True):
        if stale:
            entry = {"value": None, "status": "outside_ttl", "event_timestamp": stamp}
        elif raw is None:  # a feature added to the view after this row was written
            entry = {"value": None, "status": "not_found", "event_timestamp": None}
        else:
            value = to_json_value(decode(_text(raw)))
            entry = {"value": value, "status": "present", "event_timestamp": stamp}
        out[label] = entry
    return out


_NAIVE_EPOCH = datetime(1970, 1, 1)


def _iso(micros: int) -> str:
    """`codec.iso_utc(micros_to_datetime(micros))`, without the time zone round trip
    (this runs once per entity and view of every request)."""
    return (_NAIVE_EPOCH + timedelta(microseconds=micros)).isoformat() + "Z"


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)
