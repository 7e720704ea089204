"""The batched compare-and-set writer: many rows per EVALSHA, outcomes per row."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from aligned_cli.online.cas import CasWriter
from aligned_cli.online.catalog import OnlineView
from aligned_cli.online.codec import decode
from aligned_cli.online.rows import row_writes

VIEW = OnlineView(
    name="v",
    entities=("id",),
    event_timestamp="ts",
    created_timestamp=None,
    ttl=None,
    features=("x", "s"),
    key_prefix="aligned:p:v:",
)


def _table(ids: list[int | None], micros: list[int], xs: list[float | None]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "ts": pa.array(micros, pa.timestamp("us", tz="UTC")),
            "x": pa.array(xs, pa.float64()),
            "s": pa.array([f"é:{i}\r\n" for i in range(len(ids))]),  # multi-byte, CRLF
        }
    )


def test_runs_of_rows_keep_per_row_outcomes(redis_client: Any) -> None:
    writer = CasWriter(redis_client, rows_per_call=3)  # several EVALSHA per batch
    ids = list(range(10))
    first = writer.write(row_writes(VIEW, _table(ids, [100] * 10, [1.0] * 10)))
    assert (first.written, first.ignored_older) == (10, 0)
    # Even ids older than stored, odd ids newer; a NULL key is dropped.
    stamps = [50 if i % 2 == 0 else 200 for i in ids]
    second = writer.write(
        row_writes(VIEW, _table([*ids, None], [*stamps, 300], [2.0] * 10 + [None]))
    )
    assert (second.written, second.ignored_older, second.ignored_expired) == (5, 5, 0)
    for i in ids:
        stored = redis_client.hgetall(f"aligned:p:v:{i}")
        assert decode(stored[b"x"].decode()) == (1.0 if i % 2 == 0 else 2.0)
        assert decode(stored[b"s"].decode()) == f"é:{i}\r\n"
        assert stored[b"__ts"] == (b"100" if i % 2 == 0 else b"200")


def test_a_flushed_script_cache_is_reloaded(redis_client: Any) -> None:
    writer = CasWriter(redis_client)
    writer.write(row_writes(VIEW, _table([1], [100], [1.0])))
    redis_client.script_flush()
    counts = writer.write(row_writes(VIEW, _table([1, 2], [200, 200], [3.0, None])))
    assert counts.written == 2
    assert redis_client.hget("aligned:p:v:2", "x") == b"n"
