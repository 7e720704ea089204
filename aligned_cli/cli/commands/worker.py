"""`aligned worker`: consume each view's Redis stream into the online store."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from aligned_cli.cli.app import cli, handle_errors
from aligned_cli.cli.commands.materialize import RedisUrl, selected_views
from aligned_cli.cli.options import LogFormat, ProjectDir, Select, TargetPath, Vars


@cli.command("worker")
@handle_errors
def worker_command(
    select: Select = None,
    consumer: Annotated[
        str | None,
        typer.Option("--consumer", help="Consumer name (stable across restarts; default: host)."),
    ] = None,
    block_ms: Annotated[
        int, typer.Option("--block-ms", min=1, help="How long one read waits for messages.")
    ] = 5000,
    count: Annotated[int, typer.Option("--count", min=1, help="Messages per read.")] = 500,
    max_messages: Annotated[
        int | None, typer.Option("--max-messages", min=1, help="Stop after N messages.")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Process what is there, then stop.")] = False,
    claim_idle_ms: Annotated[
        int,
        typer.Option(
            "--claim-idle-ms", min=0, help="Claim other consumers' entries idle this long."
        ),
    ] = 60_000,
    redis_url: RedisUrl = None,
    project_dir: ProjectDir = Path("."),
    target_path: TargetPath = None,
    vars: Vars = None,
    log_format: LogFormat = "text",
) -> None:
    """Apply stream messages (Redis streams declared by sources) to the online store,
    and to each view's offline sink where it declares one."""
    from redis.exceptions import ConnectionError, TimeoutError

    from aligned_cli.cli.context import compiled_project, selection_args
    from aligned_cli.cli.output import info
    from aligned_cli.online.redis_client import connect, project_redis_url, unavailable
    from aligned_cli.online.worker import Worker, WorkerOptions, WorkerStats, stream_views

    compiled = compiled_project(
        project_dir, vars_text=vars, target_path=target_path, log_format=log_format
    )
    project = compiled.project
    names = selected_views(compiled, selection_args(select)) if select else None
    views = stream_views(project, names)
    options = WorkerOptions(
        consumer=consumer or socket.gethostname() or f"worker-{os.getpid()}",
        block_ms=block_ms,
        count=count,
        max_messages=max_messages,
        once=once,
        claim_idle_ms=claim_idle_ms,
    )
    url = project_redis_url(project, redis_url)
    client = connect(url)

    def on_batch(view: str, n: int, stats: WorkerStats) -> None:
        info(f"view {view}: applied {n} messages", view=view, messages=n, total=stats.messages)

    listed = ", ".join(f"{v.view} <- {v.stream}" + (" (+ sink)" if v.sink else "") for v in views)
    info(f"worker {options.consumer}: {listed}", consumer=options.consumer)
    try:
        stats = Worker(project, Path(project.root), client, views, options, on_batch).run()
    except (ConnectionError, TimeoutError) as error:
        raise unavailable(url, error) from None
    finally:
        client.close()
    sunk = f", {stats.sunk} written to sinks" if any(v.sink for v in views) else ""
    info(
        f"worker done: {stats.messages} messages, {stats.written} written, "
        f"{stats.ignored_older} older ignored, {stats.dead} dead-lettered{sunk}",
        messages=stats.messages,
        written=stats.written,
        ignored_older=stats.ignored_older,
        dead=stats.dead,
        sunk=stats.sunk,
    )
