"""`aligned materialize`: write the latest feature values per entity to Redis."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from aligned_cli.cli.app import cli, handle_errors
from aligned_cli.cli.options import LogFormat, ProjectDir, Select, Target, TargetPath, Vars

if TYPE_CHECKING:
    import redis

    from aligned_cli.compile.compiled import CompiledProject
    from aligned_cli.core.ir import Connection
    from aligned_cli.online.materialize import MaterializeOptions, ViewProgress

RedisUrl = Annotated[
    str | None,
    typer.Option(
        "--redis-url", envvar="ALIGNED_REDIS_URL", help="Redis URL (default: online.redis.url)."
    ),
]


@cli.command("materialize")
@handle_errors
def materialize_command(
    select: Select = None,
    start: Annotated[
        str | None,
        typer.Option("--start", help="Write rows with event_timestamp >= T (ISO-8601; UTC)."),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="Latest as of T instead of now (ISO-8601; UTC).")
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Write everything, replacing newer stored rows too."),
    ] = False,
    target: Target = None,
    redis_url: RedisUrl = None,
    batch_rows: Annotated[
        int, typer.Option("--batch-rows", min=1, help="Rows per Redis pipeline.")
    ] = 10_000,
    project_dir: ProjectDir = Path("."),
    target_path: TargetPath = None,
    vars: Vars = None,
    log_format: LogFormat = "text",
) -> None:
    """Write the latest feature values per entity to the online store (incremental)."""
    from aligned_cli.cli.context import compiled_project, selection_args
    from aligned_cli.cli.execution import target_connection
    from aligned_cli.cli.output import info, warn
    from aligned_cli.online.materialize import MaterializeOptions
    from aligned_cli.online.redis_client import connect, project_redis_url

    window = _window(start, end)  # before loading: a bad window is a usage error
    compiled = compiled_project(
        project_dir, vars_text=vars, target_path=target_path, log_format=log_format
    )
    from aligned_cli.pipeline import build_manifest, write_compiled

    # The manifest `serve` reads describes exactly what was materialized.
    write_compiled(compiled, build_manifest(compiled))
    connection = target_connection(compiled, target)
    views = selected_views(compiled, selection_args(select))
    if not views:
        warn("nothing selected: no feature views match the selection")
        return
    options = MaterializeOptions(
        start=window[0],
        end=window[1],
        force=force,
        batch_rows=batch_rows,
    )
    url = project_redis_url(compiled.project, redis_url)
    client = connect(url)
    try:
        results = _run(compiled, views, connection, client, options, url)
    finally:
        client.close()
    for result in results:
        after = result.incremental_after
        since = f" (incremental after {after.isoformat()})" if after else ""
        # Rows already past the view's ttl are never read (the query bounds them); a
        # row can still expire between the read and its write, by Redis' clock.
        expired = result.counts.ignored_expired
        info(
            f"view {result.view}: {result.rows} entities, {result.counts.written} written, "
            f"{result.counts.ignored_older} kept newer"
            + (f", {expired} expired before their write" if expired else "")
            + f", {result.seconds:.2f}s"
            + since,
            view=result.view,
            rows=result.rows,
            written=result.counts.written,
            ignored_older=result.counts.ignored_older,
            ignored_expired=result.counts.ignored_expired,
            watermark=result.watermark.isoformat() if result.watermark else None,
        )


def _run(
    compiled: CompiledProject,
    views: list[str],
    connection: Connection,
    client: redis.Redis,
    options: MaterializeOptions,
    url: str,
) -> list[ViewProgress]:
    from redis.exceptions import ConnectionError, TimeoutError

    from aligned_cli.cli.output import json_logs, log_event
    from aligned_cli.online.materialize import materialize
    from aligned_cli.online.redis_client import unavailable

    try:
        if json_logs():

            def log_batch(progress: ViewProgress) -> None:
                log_event(
                    "info",
                    f"view {progress.view}: {progress.rows} entities",
                    view=progress.view,
                    rows=progress.rows,
                    written=progress.counts.written,
                )

            return materialize(compiled, views, connection, client, options, log_batch)
        return _with_progress_bar(compiled, views, connection, client, options)
    except (ConnectionError, TimeoutError) as error:
        raise unavailable(url, error) from None


def _with_progress_bar(
    compiled: CompiledProject,
    views: list[str],
    connection: Connection,
    client: redis.Redis,
    options: MaterializeOptions,
) -> list[ViewProgress]:
    from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

    from aligned_cli.cli.output import console
    from aligned_cli.online.materialize import materialize

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f} entities"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console(), transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def on_batch(progress: ViewProgress) -> None:
            if progress.view not in tasks:
                tasks[progress.view] = bar.add_task(progress.view, total=None, rate="")
            rate = progress.rows / progress.seconds if progress.seconds else 0.0
            bar.update(tasks[progress.view], completed=progress.rows, rate=f"{rate:,.0f}/s")

        return materialize(compiled, views, connection, client, options, on_batch)


def selected_views(compiled: CompiledProject, select: list[str] | None) -> list[str]:
    """The views selected directly, or through one of their features; all by default."""
    from aligned_cli.graph.selection import select_nodes

    graph = compiled.graph
    if not select:
        return sorted(compiled.project.views)
    from aligned_cli.cli.selection import print_selection_warnings

    names: set[str] = set()
    warnings: list[str] = []
    chosen = select_nodes(graph, select, None, warnings=warnings)
    print_selection_warnings(warnings)
    for uid in chosen:
        data = graph.nodes[uid]
        if data["kind"] == "view":
            names.add(data["name"])
        elif data["kind"] == "feature":  # feature.<project>.<view>.<feature>
            names.add(uid.split(".")[2])
    return sorted(names)


def _window(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """`--start`/`--end` as UTC instants; a start after the end selects nothing, which
    is almost certainly swapped arguments, so it is an error rather than a no-op."""
    from aligned_cli.errors import UsageError

    first, last = _instant(start, "--start"), _instant(end, "--end")
    if first is not None and last is not None and first > last:
        raise UsageError(
            f"--start {start} is after --end {end}",
            hint="--start is the earliest event time to write; swap the two values",
        )
    return first, last


def _instant(text: str | None, option: str) -> datetime | None:
    from aligned_cli.core.instants import as_utc
    from aligned_cli.errors import UsageError

    if text is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise UsageError(
            f"{option} '{text}' is not an ISO-8601 timestamp", hint="e.g. 2026-03-01T10:00:00Z"
        ) from None
