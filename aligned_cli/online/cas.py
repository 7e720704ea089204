"""The one write path into the online store: an atomic compare-and-set Lua script.

One EVALSHA call writes a run of up to `ROWS_PER_CALL` rows of one view (KEYS = their
entity hashes), so Redis runs the script once per run rather than once per row, and
a batch's calls go out as one pipelined send of wire bytes built column-wise
(`resp.py`). Keys of one call may hash to different cluster slots: this needs a
single-node Redis (or a primary with replicas), which is all `aligned` connects to.

The script is loaded once per writer (SCRIPT LOAD); if Redis lost its script cache
(restart, SCRIPT FLUSH) the batch is reloaded and replayed, which is safe because the
compare-and-set is idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aligned_cli.online.arrow_constants import text_scalar
from aligned_cli.online.keys import CREATED_FIELD, TS_FIELD
from aligned_cli.online.resp import bulk, bulk_column, join_rows, join_runs

if TYPE_CHECKING:
    import redis

    from aligned_cli.online.rows import WriteBatch

# Rows per EVALSHA. The script holds Redis for its whole run (a few microseconds a
# row), so runs stay short enough not to stall readers; long enough that the call's
# fixed cost disappears.
ROWS_PER_CALL = 500

# KEYS: the entity hashes. ARGV[1]: force ('1'/'0'), ARGV[2]: m, the number of
# features, ARGV[3 .. 2+m]: their names, then per key: event ts (epoch us, '' for
# static views), created ts ('' when NULL), expire-at (epoch ms, '' for no ttl), and
# the m tagged values. Per row the outcome is written, older (the stored row is
# newer) or expired (already past its ttl by the server's clock, which is what expires
# keys: writing it would create a key that expires at once, or delete a stored row
# that is newer). Order is (event ts, created ts), a NULL created losing to any
# non-NULL one. Returns {written, older, expired}.
CAS_SCRIPT = f"""
local force, m = ARGV[1], tonumber(ARGV[2])
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local fields = {{'{TS_FIELD}', '', '{CREATED_FIELD}', ''}}
for j = 1, m do fields[3 + 2 * j] = ARGV[2 + j] end
local written, older, expired = 0, 0, 0
for i = 1, #KEYS do
  local key, at = KEYS[i], 2 + m + (i - 1) * (3 + m)
  local ts, created, expire_at = ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  local status = 1
  if expire_at ~= '' and tonumber(expire_at) < now_ms then
    status = 2
  elseif force ~= '1' and ts ~= '' then
    local cur = redis.call('HMGET', key, '{TS_FIELD}', '{CREATED_FIELD}')
    local cur_ts, new_ts = tonumber(cur[1] or ''), tonumber(ts)
    if cur_ts then  -- absent or unreadable: nothing to protect
      if cur_ts > new_ts then
        status = 0
      elseif cur_ts == new_ts then
        local cur_c, new_c = tonumber(cur[2] or ''), tonumber(created)
        if cur_c and (not new_c or cur_c > new_c) then status = 0 end
      end
    end
  end
  if status == 1 then
    fields[2], fields[4] = ts, created
    for j = 1, m do fields[4 + 2 * j] = ARGV[at + 3 + j] end
    redis.call('HSET', key, unpack(fields))
    if expire_at ~= '' then
      redis.call('PEXPIREAT', key, expire_at)
    else
      redis.call('PERSIST', key)
    end
    written = written + 1
  elseif status == 0 then
    older = older + 1
  else
    expired = expired + 1
  end
end
return {{written, older, expired}}
"""


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

    def __init__(
        self, client: redis.Redis, *, force: bool = False, rows_per_call: int = ROWS_PER_CALL
    ) -> None:
        self._client = client
        self._force = "1" if force else "0"
        self._rows_per_call = rows_per_call
        self._sha: str | None = None

    def _script_sha(self) -> str:
        if self._sha is None:
            self._sha = str(self._client.script_load(CAS_SCRIPT))
        return self._sha

    def write(self, batch: WriteBatch) -> WriteCounts:
        """Write `batch` in one pipelined send (one round trip); counts the outcomes."""
        from redis.exceptions import NoScriptError

        if not len(batch):
            return WriteCounts()
        keys, rows = _wire_rows(batch, self._rows_per_call)
        try:
            replies = self._send(self._commands(batch, keys, rows))
        except NoScriptError:
            self._sha = None  # the server forgot the script: load it again and replay
            replies = self._send(self._commands(batch, keys, rows))
        counts = WriteCounts()
        for written, older, expired in replies:
            counts.add(WriteCounts(int(written), int(older), int(expired)))
        return counts

    def _commands(
        self, batch: WriteBatch, keys: list[bytes], rows: list[bytes]
    ) -> list[list[bytes]]:
        """One EVALSHA per run of rows, as the wire parts of each command."""
        width = len(batch.names)
        shared = b"".join(bulk(arg) for arg in (self._force, str(width), *batch.names))
        sha = bulk(self._script_sha())
        commands: list[list[bytes]] = []
        for index, (run_keys, run_rows) in enumerate(zip(keys, rows, strict=True)):
            count = min(self._rows_per_call, len(batch) - index * self._rows_per_call)
            arguments = 3 + count + 2 + width + count * (3 + width)
            head = b"*%d\r\n$7\r\nEVALSHA\r\n%s%s" % (arguments, sha, bulk(str(count)))
            commands.append([head, run_keys, shared, run_rows])
        return commands

    def _send(self, commands: Sequence[list[bytes]]) -> list[Any]:
        """Send every command at once, then read every reply (as a redis-py pipeline
        does, with the client's retry policy on connection errors)."""
        pool = self._client.connection_pool
        connection: Any = pool.get_connection()  # redis-py leaves Connection untyped
        try:
            replies: list[Any] = connection.retry.call_with_retry(
                lambda: _round_trip(connection, commands),
                lambda _error: connection.disconnect(),
            )
        finally:
            pool.release(connection)
        return replies


def _round_trip(connection: Any, commands: Sequence[list[bytes]]) -> list[Any]:
    from redis.exceptions import ResponseError

    connection.send_packed_command([part for command in commands for part in command])
    replies: list[Any] = []
    first_error: ResponseError | None = None
    for _ in commands:
        try:  # read every reply before raising, so the pooled socket stays in step
            replies.append(connection.read_response())
        except ResponseError as error:
            first_error = first_error or error
    if first_error is not None:
        raise first_error
    return replies


def _wire_rows(batch: WriteBatch, size: int) -> tuple[list[bytes], list[bytes]]:
    """Per run of `size` rows: its keys' wire bytes, and its rows' ARGV wire bytes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def text(values: Any) -> Any:  # '' stands for NULL, as the script expects
        return pc.fill_null(pc.cast(values, pa.string()), text_scalar(""))

    stamps = [text(batch.ts), text(batch.created), text(batch.expire_at_ms)]
    rows = join_rows([bulk_column(column) for column in (*stamps, *batch.values)])
    return join_runs(bulk_column(batch.keys), size), join_runs(rows, size)
