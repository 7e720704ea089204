"""The one write path into the online store: an atomic compare-and-set Lua script.

The script is loaded once per client (SCRIPT LOAD) and run with EVALSHA inside
pipelines; if Redis lost its script cache (restart, SCRIPT FLUSH) the batch is
reloaded and replayed, which is safe because the compare-and-set is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aligned_cli.online.keys import CREATED_FIELD, TS_FIELD

if TYPE_CHECKING:
    import redis

# KEYS[1]: the entity hash. ARGV: event ts (epoch us, '' for static views), created ts
# ('' when NULL), expire-at (epoch ms, '' for no ttl), force ('1'/'0'), then field,
# value pairs. Returns 1 when written, 0 when the stored row is newer, 2 when the row
# is already past its ttl (by the server's clock, which is what expires keys): writing
# it would create a key that expires at once, or delete a stored row that is newer.
# Order is (event ts, created ts) with a NULL created losing to any non-NULL one.
CAS_SCRIPT = f"""
local key = KEYS[1]
local ts, created, expire_at, force = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if expire_at ~= '' then
  local now = redis.call('TIME')
  if tonumber(expire_at) < tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) then
    return 2
  end
end
if force ~= '1' and ts ~= '' then
  local cur = redis.call('HMGET', key, '{TS_FIELD}', '{CREATED_FIELD}')
  local cur_ts, new_ts = tonumber(cur[1] or ''), tonumber(ts)
  if cur_ts then  -- absent or unreadable: nothing to protect
    if cur_ts > new_ts then return 0 end
    if cur_ts == new_ts then
      local cur_c, new_c = tonumber(cur[2] or ''), tonumber(created)
      if cur_c and (not new_c or cur_c > new_c) then return 0 end
    end
  end
end
redis.call('HSET', key, '{TS_FIELD}', ts, '{CREATED_FIELD}', created, unpack(ARGV, 5))
if expire_at ~= '' then
  redis.call('PEXPIREAT', key, expire_at)
else
  redis.call('PERSIST', key)
end
return 1
"""


@dataclass(frozen=True)
class RowWrite:
    """One entity row ready for the script: `fields` is [name, value, name, value...]."""

    key: str
    ts: int | None  # epoch microseconds
    created: int | None  # epoch microseconds
    expire_at_ms: int | None
    fields: list[str]


@dataclass
class WriteCounts:
    written: int = 0
    ignored_older: int = 0  # the stored row is newer
    ignored_expired: int = 0  # the row is past its ttl already

    def add(self, other: WriteCounts) -> None:
        self.written += other.written
        self.ignored_older += other.ignored_older
        self.ignored_expired += other.ignored_expired


class CasWriter:
    """Pipelined compare-and-set writes with one Redis client."""

    def __init__(self, client: redis.Redis, *, force: bool = False) -> None:
        self._client = client
        self._force = "1" if force else "0"
        self._sha: str | None = None

    def _script_sha(self) -> str:
        if self._sha is None:
            self._sha = str(self._client.script_load(CAS_SCRIPT))
        return self._sha

    def write(self, rows: Sequence[RowWrite]) -> WriteCounts:
        """Write `rows` in one pipeline (one round trip); counts written vs older."""
        from redis.exceptions import NoScriptError

        if not rows:
            return WriteCounts()
        try:
            results = self._run(rows)
        except NoScriptError:
            self._sha = None  # the server forgot the script: load it again and replay
            results = self._run(rows)
        return WriteCounts(
            written=sum(1 for r in results if r == 1),
            ignored_older=sum(1 for r in results if r == 0),
            ignored_expired=sum(1 for r in results if r == 2),
        )

    def _run(self, rows: Sequence[RowWrite]) -> list[Any]:
        sha = self._script_sha()
        force = self._force
        pipe = self._client.pipeline(transaction=False)
        queue: Callable[..., Any] = pipe.execute_command  # redis-py leaves it untyped
        for row in rows:
            queue(
                "EVALSHA",
                sha,
                1,
                row.key,
                "" if row.ts is None else row.ts,
                "" if row.created is None else row.created,
                "" if row.expire_at_ms is None else row.expire_at_ms,
                force,
                *row.fields,
            )
        results: list[Any] = pipe.execute()
        return results
