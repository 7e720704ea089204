"""`aligned worker`: Redis stream messages -> the view's rows -> the online store.

One consumer group per view (`aligned:{project}:{view}`) on the stream its source
declares. A message is acknowledged only after its row is written; on start the
worker first re-reads its own pending entries (XREADGROUP id 0) and claims entries
other consumers left pending too long (XAUTOCLAIM), so a crash loses nothing. Writes
go through the CAS script, so a message applied twice changes nothing.

A view may also declare an offline sink (`stream_source: {stream: S, sink: ...}`):
the same rows, one per message with its id in `_stream_id`, appended to a parquet
directory or a table (`online.sink`). A batch is acknowledged only after both
writes; the sink de-duplicates by message id, so a batch re-delivered after a crash
(however it is regrouped) leaves each message in it once. Messages that cannot be
transformed go to `<stream>:dead` and never reach the sink.

Message fields are the row's columns. Values are text on the wire: columns declared
string/json/timestamp keep it as is; others are read as JSON where they parse
(`1`, `0.5`, `true`, `null`, `NaN`), an empty value is NULL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aligned_cli.core.ir import Output, Project
from aligned_cli.core.types import DataType
from aligned_cli.errors import ExecutionError, UsageError
from aligned_cli.online.push import PushService
from aligned_cli.online.sink import StreamSink, open_sink
from aligned_cli.online.transform import RowsError

if TYPE_CHECKING:
    import pyarrow as pa
    import redis

_TEXT_TYPES = {DataType.STRING, DataType.JSON, DataType.TIMESTAMP, DataType.DATE}
DEAD_SUFFIX = ":dead"


def group_name(project: str, view: str) -> str:
    return f"aligned:{project}:{view}"


@dataclass(frozen=True)
class StreamView:
    view: str
    stream: str
    group: str
    text_columns: frozenset[str]
    sink: Output | None = None  # the view's offline sink (`stream_source: {sink: ...}`)
    entities: tuple[str, ...] = ()


@dataclass
class WorkerStats:
    messages: int = 0
    written: int = 0
    ignored_older: int = 0
    dead: int = 0
    sunk: int = 0  # rows written to offline sinks (a re-delivered row rewritten counts)
    per_view: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerOptions:
    consumer: str
    block_ms: int = 5000
    count: int = 500
    max_messages: int | None = None
    once: bool = False  # stop when a full round finds nothing
    claim_idle_ms: int = 60_000


def stream_views(project: Project, names: list[str] | None) -> list[StreamView]:
    """The views fed by a Redis stream: their own `stream_source`, else their source's
    `stream` (optionally only `names`)."""
    from aligned_cli.core.inheritance import resolve_view_inheritance

    resolved = resolve_view_inheritance(project)
    found: list[StreamView] = []
    for name, view in resolved.views.items():
        if names is not None and name not in names:
            continue
        stream = view.stream
        if stream is None and view.source.kind == "source":
            stream = project.sources[view.source.name].stream
        if not stream:
            continue
        text = frozenset(f.name for f in view.features if f.dtype in _TEXT_TYPES) | frozenset(
            c for c in (view.event_timestamp, view.created_timestamp) if c
        )
        group = group_name(project.name, name)
        entities = tuple(view.entities)
        found.append(StreamView(name, stream, group, text, view.stream_sink, entities))
    if not found:
        raise UsageError(
            "no selected view reads a stream",
            hint="declare `stream_source: {stream: NAME}` on the view (or `stream:` on its "
            "source) to feed it from Redis",
        )
    return found


def decode_message(fields: Mapping[bytes, bytes], text_columns: frozenset[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for raw_name, raw_value in fields.items():
        name = raw_name.decode()
        value = raw_value.decode()
        if name in text_columns:
            row[name] = value
        elif value == "":
            row[name] = None
        else:
            try:
                row[name] = json.loads(value)
            except ValueError:
                row[name] = value
    return row


class Worker:
    def __init__(
        self,
        project: Project,
        root: Any,
        client: redis.Redis,
        views: list[StreamView],
        options: WorkerOptions,
        on_batch: Callable[[str, int, WorkerStats], None] | None = None,
    ) -> None:
        self._client = client
        self._views = views
        self._options = options
        self._service = PushService(project, root, client)
        self._on_batch = on_batch
        self.stats = WorkerStats()
        self._sinks: dict[str, StreamSink] = {}
        try:
            for view in views:
                if view.sink is not None:
                    self._sinks[view.view] = open_sink(project, root, view.view, view.sink)
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        for sink in self._sinks.values():
            sink.close()
        self._service.close()

    def run(self) -> WorkerStats:
        try:
            self._ensure_groups()
            for view in self._views:
                self._drain_pending(view)
                self._claim_abandoned(view)
            while not self._done():
                read = sum(self._read_new(view) for view in self._views)
                if read == 0 and self._options.once:
                    break
        finally:
            self._close()
        return self.stats

    def _done(self) -> bool:
        limit = self._options.max_messages
        return limit is not None and self.stats.messages >= limit

    def _budget(self) -> int:
        limit = self._options.max_messages
        if limit is None:
            return self._options.count
        return max(0, min(self._options.count, limit - self.stats.messages))

    def _ensure_groups(self) -> None:
        from redis.exceptions import ResponseError

        for view in self._views:
            try:
                # From id 0: messages added before the first worker started count too.
                self._client.xgroup_create(view.stream, view.group, id="0", mkstream=True)
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise

    def _drain_pending(self, view: StreamView) -> None:
        """Our own entries delivered before a crash but never acknowledged."""
        while not self._done():
            reply = self._client.xreadgroup(
                view.group, self._options.consumer, {view.stream: "0"}, count=self._budget()
            )
            entries = _entries(reply)
            if not entries:
                return
            self._apply(view, entries)

    def _claim_abandoned(self, view: StreamView) -> None:
        """Entries another consumer read and left unacknowledged for too long."""
        start = "0-0"
        while not self._done():
            reply = self._client.xautoclaim(
                view.stream,
                view.group,
                self._options.consumer,
                self._options.claim_idle_ms,
                start_id=start,
                count=self._budget(),
            )
            start = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
            entries = [(i, f) for i, f in reply[1] if f is not None]
            if entries:
                self._apply(view, entries)
            if start == "0-0":
                return

    def _read_new(self, view: StreamView) -> int:
        if self._done():
            return 0
        block = None if self._options.once else max(1, self._options.block_ms // len(self._views))
        reply = self._client.xreadgroup(
            view.group,
            self._options.consumer,
            {view.stream: ">"},
            count=self._budget(),
            block=block,
        )
        entries = _entries(reply)
        if entries:
            self._apply(view, entries)
        return len(entries)

    def _apply(self, view: StreamView, entries: list[tuple[Any, Any]]) -> None:
        ids = [entry_id for entry_id, _ in entries]
        rows = [decode_message(fields, view.text_columns) for _, fields in entries]
        dead: list[tuple[Any, Any, str]] = []
        try:
            table = self._service.transform(view.view, rows)
            good = ids
        except RowsError:
            table, good, dead = self._sort_out(view, entries)  # find the bad message(s)
        if good:
            self._write(view, table, good)
        for entry_id, fields, error in dead:
            # A message that can never apply would block the group forever: park it.
            self._client.xadd(
                view.stream + DEAD_SUFFIX, {b"stream_id": entry_id, b"error": error, **fields}
            )
            self.stats.dead += 1
        # Only now, with every row written online and to the sink, may the messages
        # be acknowledged.
        self._ack(view, ids)
        self._count(view, len(ids))

    def _sort_out(
        self, view: StreamView, entries: list[tuple[Any, Any]]
    ) -> tuple[pa.Table | None, list[Any], list[tuple[Any, Any, str]]]:
        """Transform message by message: the rows of the good ones (one table) and
        their ids, and the bad ones with their error."""
        import pyarrow as pa

        tables: list[pa.Table] = []
        good: list[Any] = []
        dead: list[tuple[Any, Any, str]] = []
        for entry_id, fields in entries:
            row = decode_message(fields, view.text_columns)
            try:
                tables.append(self._service.transform(view.view, [row]))
                good.append(entry_id)
            except RowsError as error:
                dead.append((entry_id, fields, error.message))
        table = pa.concat_tables(tables, promote_options="default") if tables else None
        return table, good, dead

    def _write(self, view: StreamView, table: pa.Table | None, ids: list[Any]) -> None:
        """The online write, then the sink's, of the rows of messages `ids`."""
        assert table is not None
        if table.num_rows != len(ids):
            raise ExecutionError(
                f"view '{view.view}': {len(ids)} messages became {table.num_rows} rows"
            )
        counts = self._service.write(view.view, table)
        self.stats.written += counts.written
        self.stats.ignored_older += counts.ignored_older
        sink = self._sinks.get(view.view)
        if sink is not None:
            table, kept = _with_keys(table, [_text(i) for i in ids], view.entities)
            self.stats.sunk += sink.write(table, kept)

    def _ack(self, view: StreamView, ids: list[Any]) -> None:
        self._client.xack(view.stream, view.group, *ids)

    def _count(self, view: StreamView, n: int) -> None:
        self.stats.messages += n
        self.stats.per_view[view.view] = self.stats.per_view.get(view.view, 0) + n
        if self._on_batch is not None:
            self._on_batch(view.view, n, self.stats)


def _text(entry_id: Any) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def _with_keys(
    table: pa.Table, ids: list[str], entities: tuple[str, ...]
) -> tuple[pa.Table, list[str]]:
    """The rows the online store takes (`rows.row_writes` drops a NULL entity key)."""
    import pyarrow.compute as pc

    masks = [pc.is_valid(table.column(name)) for name in entities if name in table.column_names]
    if all(pc.all(m).as_py() for m in masks):
        return table, ids
    keep = masks[0]
    for mask in masks[1:]:
        keep = pc.and_(keep, mask)
    kept = [i for i, k in zip(ids, keep.to_pylist(), strict=True) if k]
    return table.filter(keep), kept


def _entries(reply: Any) -> list[tuple[Any, Any]]:
    entries: list[tuple[Any, Any]] = []
    for _stream, items in reply or []:
        entries.extend((entry_id, fields) for entry_id, fields in items if fields)
    return entries
