"""Per-view incremental watermarks, stored in Redis beside the data.

A watermark belongs to one view definition (its checksum): change the view and the
next `materialize` writes it in full. Wipe Redis and the watermark goes with the data,
so the next run refills everything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aligned_cli.online.keys import watermarks_key

if TYPE_CHECKING:
    import redis


@dataclass(frozen=True)
class Watermark:
    ts: int  # epoch microseconds of the greatest event timestamp written
    checksum: str


def read_watermark(client: redis.Redis, project: str, view: str) -> Watermark | None:
    raw = client.hget(watermarks_key(project), view)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return Watermark(ts=int(data["ts"]), checksum=str(data["checksum"]))
    except (ValueError, KeyError, TypeError):
        return None  # unreadable: treat as absent, i.e. write in full


def write_watermark(client: redis.Redis, project: str, view: str, mark: Watermark) -> None:
    payload = json.dumps({"ts": mark.ts, "checksum": mark.checksum})
    client.hset(watermarks_key(project), view, payload)
