"""`aligned materialize`: the latest row per entity of each view, into Redis.

Per view: compile the view's rows, rank them in SQL on the offline engine (see
`latest.py`), stream the result as Arrow batches, write each batch with one pipeline
of batched CAS calls, and only then advance the view's watermark.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from aligned_cli.online.cas import CasWriter, WriteCounts
from aligned_cli.online.catalog import Catalog
from aligned_cli.online.codec import datetime_to_micros, micros_to_datetime
from aligned_cli.online.watermarks import Watermark, read_watermark, write_watermark

if TYPE_CHECKING:
    import redis

    from aligned_cli.compile.compiled import CompiledProject
    from aligned_cli.core.ir import Connection, Project
    from aligned_cli.execute.adapters import Adapter

DEFAULT_BATCH_ROWS = 10_000


@dataclass(frozen=True)
class MaterializeOptions:
    start: datetime | None = None  # overrides the watermark (inclusive)
    end: datetime | None = None  # default: now
    force: bool = False  # overwrite newer rows too
    batch_rows: int = DEFAULT_BATCH_ROWS


@dataclass
class ViewProgress:
    view: str
    rows: int = 0
    counts: WriteCounts = field(default_factory=WriteCounts)
    seconds: float = 0.0
    incremental_after: datetime | None = None
    watermark: datetime | None = None


ProgressCallback = Callable[[ViewProgress], None]


def materialize(
    compiled: CompiledProject,
    views: list[str],
    connection: Connection,
    client: redis.Redis,
    options: MaterializeOptions,
    on_batch: ProgressCallback | None = None,
) -> list[ViewProgress]:
    """Materialize `views` (in the order given) from `connection` into `client`."""
    from aligned_cli.execute.adapters import open_adapter

    project = compiled.project
    now = datetime.now(UTC)
    end = options.end or now
    results: list[ViewProgress] = []
    with open_adapter(connection, Path(project.root)) as adapter:
        for name in views:
            _stage_sources(project, name, adapter)
            results.append(
                _materialize_view(compiled, name, adapter, client, options, end, now, on_batch)
            )
    return results


def _materialize_view(
    compiled: CompiledProject,
    name: str,
    adapter: Adapter,
    client: redis.Redis,
    options: MaterializeOptions,
    end: datetime,
    now: datetime,
    on_batch: ProgressCallback | None,
) -> ViewProgress:
    from aligned_cli.compile.dialects import get_dialect
    from aligned_cli.compile.views import view_query
    from aligned_cli.core.inheritance import resolve_view_inheritance
    from aligned_cli.graph.ids import view_id
    from aligned_cli.online.arrow_stream import stream_arrow
    from aligned_cli.online.latest import Bounds, latest_rows_query
    from aligned_cli.online.rows import row_writes

    project = compiled.project
    started = time.perf_counter()
    view = resolve_view_inheritance(project).views[name]
    online = Catalog.from_project(project).view(name)
    checksum = str(compiled.graph.nodes[view_id(project.name, name)]["checksum"])
    progress = ViewProgress(view=name)
    previous = read_watermark(client, project.name, name) if view.event_timestamp else None
    if previous is not None and previous.checksum != checksum:
        previous = None  # the view changed: its stored rows may be stale, write all
    bounds = Bounds(end=end if view.event_timestamp else None)
    if view.event_timestamp:
        after = options.start
        if after is None and previous is not None and not options.force:
            after = micros_to_datetime(previous.ts)
            progress.incremental_after = after
        since = now - timedelta(seconds=view.ttl) if view.ttl is not None else None
        bounds = Bounds(
            end=end, after=after, start_inclusive=options.start is not None, since=since
        )
    dialect = get_dialect(adapter.dialect)
    query = latest_rows_query(view, view_query(project, name, dialect), bounds, dialect)
    writer = CasWriter(client, force=options.force)
    newest: int | None = None
    with stream_arrow(adapter, dialect.sql(query, pretty=False), options.batch_rows) as batches:
        for batch in batches:
            writes = row_writes(online, batch)
            progress.counts.add(writer.write(writes))
            progress.rows += batch.num_rows
            stamp = writes.newest_ts()
            if stamp is not None:
                newest = stamp if newest is None else max(newest, stamp)
            progress.seconds = time.perf_counter() - started
            if on_batch is not None:
                on_batch(progress)
    # Every batch is written: only now may the watermark move (never backwards).
    if newest is not None:
        if previous is not None:
            newest = max(newest, previous.ts)
        write_watermark(client, project.name, name, Watermark(ts=newest, checksum=checksum))
    mark = newest if newest is not None else (previous.ts if previous else None)
    progress.watermark = micros_to_datetime(mark) if mark is not None else None
    if view.aggregations:
        _materialize_aggregates(compiled, name, adapter, writer, options, end, progress)
    progress.seconds = time.perf_counter() - started
    return progress


def _materialize_aggregates(
    compiled: CompiledProject,
    name: str,
    adapter: Adapter,
    writer: CasWriter,
    options: MaterializeOptions,
    as_of: datetime,
    progress: ViewProgress,
) -> None:
    """Every entity's aggregates as of `as_of`, stamped with it (SPEC §4b): recomputed
    in full each time, since every window moves with the clock."""
    from aligned_cli.compile.dialects import get_dialect
    from aligned_cli.online.aggregates import aggregates_query
    from aligned_cli.online.arrow_stream import stream_arrow
    from aligned_cli.online.rows import row_writes

    online = Catalog.from_project(compiled.project).aggregate_views[name]
    dialect = get_dialect(adapter.dialect)
    query = aggregates_query(compiled.project, name, as_of, dialect)
    with stream_arrow(adapter, dialect.sql(query, pretty=False), options.batch_rows) as batches:
        for batch in batches:
            progress.counts.add(writer.write(row_writes(online, batch)))
            progress.rows += batch.num_rows


def _stage_sources(project: Project, view_name: str, adapter: Adapter) -> None:
    """Load the file sources a view reads where the engine needs them (Postgres)."""
    seen: set[str] = set()
    name: str | None = view_name
    while name is not None and name not in seen:
        seen.add(name)
        ref = project.views[name].source
        if ref.kind == "view":
            name = ref.name
            continue
        source = project.sources[ref.name]
        if source.file is not None:
            adapter.stage_source(source, project=project.name)
        name = None


__all__ = [
    "DEFAULT_BATCH_ROWS",
    "MaterializeOptions",
    "ViewProgress",
    "datetime_to_micros",
    "materialize",
]
