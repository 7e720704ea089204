"""The read path of `serve`: every entity x view in one pipelined round trip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aligned_cli.core.ir import FeatureRef
from aligned_cli.online.catalog import Catalog, OnlineView
from aligned_cli.online.codec import (
    datetime_to_micros,
    decode,
    iso_utc,
    micros_to_datetime,
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


async def read_features(
    client: redis.asyncio.Redis,
    plan: ReadPlan,
    entities: Mapping[str, Sequence[Any]],
    count: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """One result per entity row, in order: `{"entity": ..., "features": ...}`."""
    pipe = client.pipeline(transaction=False)
    slots: list[tuple[int, int]] = []  # (row, view index) of each queued HMGET
    for row in range(count):
        for index, (view, wanted) in enumerate(plan.views):
            key = entity_key(view.key_prefix, [entities[e][row] for e in view.entities])
            if key is None:
                continue  # a NULL key matches nothing
            pipe.hmget(key, [TS_FIELD, CREATED_FIELD, *wanted])
            slots.append((row, index))
    replies: list[Any] = await pipe.execute() if slots else []
    found: dict[tuple[int, int], list[Any]] = dict(zip(slots, replies, strict=True))
    now_us = datetime_to_micros(now)
    results: list[dict[str, Any]] = []
    for row in range(count):
        features: dict[str, Any] = {}
        for index, (view, wanted) in enumerate(plan.views):
            features.update(_view_values(view, wanted, found.get((row, index)), now_us))
        entity = {name: values[row] for name, values in entities.items()}
        results.append({"entity": entity, "features": features})
    return results


def _view_values(
    view: OnlineView, wanted: list[str], reply: list[Any] | None, now_us: int
) -> dict[str, dict[str, Any]]:
    ts_raw = reply[0] if reply else None
    if reply is None or ts_raw is None:
        return {
            f"{view.name}:{name}": {"value": None, "status": "not_found", "event_timestamp": None}
            for name in wanted
        }
    ts_text = _text(ts_raw)
    ts = int(ts_text) if ts_text else None
    stamp = iso_utc(micros_to_datetime(ts)) if ts is not None else None
    # Redis drops the key at ts + ttl already; this covers a key read in its last
    # moment, or a Redis whose clock lags ours (and keys written without expiry).
    stale = view.ttl is not None and ts is not None and now_us - ts > view.ttl * 1_000_000
    out: dict[str, dict[str, Any]] = {}
    for name, raw in zip(wanted, reply[2:], strict=True):
        if stale:
            entry = {"value": None, "status": "outside_ttl", "event_timestamp": stamp}
        elif raw is None:  # a feature added to the view after this row was written
            entry = {"value": None, "status": "not_found", "event_timestamp": None}
        else:
            value = to_json_value(decode(_text(raw)))
            entry = {"value": value, "status": "present", "event_timestamp": stamp}
        out[f"{view.name}:{name}"] = entry
    return out


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)
