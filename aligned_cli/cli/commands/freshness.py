"""`aligned freshness`: how old the newest data of each source and view is."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from aligned_cli.cli.app import cli, handle_errors
from aligned_cli.cli.options import Exclude, LogFormat, ProjectDir, Select, Target, TargetPath, Vars

if TYPE_CHECKING:
    from aligned_cli.compile.compiled import CompiledProject
    from aligned_cli.execute.freshness import FreshnessResult


@cli.command("freshness")
@handle_errors
def freshness_command(
    select: Select = None,
    exclude: Exclude = None,
    target: Target = None,
    project_dir: ProjectDir = Path("."),
    target_path: TargetPath = None,
    vars: Vars = None,
    log_format: LogFormat = "text",
) -> None:
    """Check source/view freshness against warn_after/error_after (target/freshness.json)."""
    from pathlib import Path as _Path

    from aligned_cli.cli.context import compiled_project, selection_args
    from aligned_cli.cli.execution import target_connection
    from aligned_cli.cli.output import warn
    from aligned_cli.cli.selection import resolve_selection
    from aligned_cli.execute.adapters import open_adapter

    compiled = compiled_project(
        project_dir,
        vars_text=vars,
        target_path=target_path,
        log_format=log_format,
    )
    connection = target_connection(compiled, target)
    selected = resolve_selection(
        compiled, selection_args(select), selection_args(exclude), None, indirect_tests=False
    )
    checked = _checked_nodes(compiled, selected)
    models = [uid for uid in sorted(selected) if compiled.graph.kind(uid) == "model"]
    results: dict[str, FreshnessResult] = {}
    needed = set(checked) | _upstream_checked(compiled, models)
    if needed:
        with open_adapter(connection, _Path(compiled.project.root)) as adapter:
            staged: set[str] = set()  # sources brought in once, whatever reads them
            for uid in sorted(needed):
                node = compiled.graph.nodes[uid]["obj"]
                results[uid] = _measure(compiled, adapter, uid, node, staged)
    rows = [results[uid] for uid in sorted(checked)]
    for uid in models:
        rolled_up = _model_result(compiled, uid, results)
        if rolled_up is not None:
            rows.append(rolled_up)
    if rows:
        _print(rows)
    else:
        warn("nothing selected declares freshness (add `freshness:` to a source or view)")
    _write(compiled, rows)
    raise typer.Exit(1 if any(r.status in ("error", "runtime error") for r in rows) else 0)


def _measure(
    compiled: CompiledProject, adapter: Any, uid: str, node: Any, staged: set[str]
) -> FreshnessResult:
    """A source on another engine's connection is measured there; a view over one reads
    its copy, staged first like a file source on PostgreSQL (`staged`: done already)."""
    from aligned_cli.compile.freshness import view_source
    from aligned_cli.execute.adapters import open_adapter
    from aligned_cli.execute.foreign_sources import stage_foreign_source
    from aligned_cli.execute.freshness import measure

    project = compiled.project
    source = node if compiled.graph.kind(uid) == "source" else view_source(project, node)
    if project.on_other_connection(source, adapter.dialect):
        if source is node:
            connection = project.connections[str(node.connection)]
            with open_adapter(connection, Path(project.root)) as origin:
                return measure(compiled, origin, uid, node, at_origin=True)
        if source.name not in staged:
            stage_foreign_source(adapter, project, source)
    elif source.file is not None and source.name not in staged:
        adapter.stage_source(source, project=project.name)
    staged.add(source.name)
    return measure(compiled, adapter, uid, node)


def _checked_nodes(compiled: CompiledProject, selected: set[str]) -> list[str]:
    nodes = compiled.graph.nodes
    return [
        uid
        for uid in sorted(selected)
        if nodes[uid]["kind"] in ("source", "view")
        and getattr(nodes[uid]["obj"], "freshness", None) is not None
    ]


def _upstream_checked(compiled: CompiledProject, models: list[str]) -> set[str]:
    import networkx as nx

    found: set[str] = set()
    for uid in models:
        found |= set(_checked_nodes(compiled, set(nx.ancestors(compiled.dag, uid))))
    return found


def _model_result(
    compiled: CompiledProject, uid: str, results: dict[str, FreshnessResult]
) -> FreshnessResult | None:
    """A model is as fresh as its stalest upstream source or view."""
    import networkx as nx

    upstream = [results[u] for u in sorted(nx.ancestors(compiled.dag, uid)) if u in results]
    if not upstream:
        return None
    order = {"pass": 0, "warn": 1, "error": 2, "runtime error": 3}
    stalest = max(upstream, key=lambda r: (order[r.status], r.age_seconds or float("inf")))
    from dataclasses import replace

    return replace(
        stalest,
        unique_id=uid,
        kind="model",
        name=compiled.graph.nodes[uid]["name"],
        message=f"stalest upstream: {stalest.kind} {stalest.name}",
    )


_LOG_LEVEL = {"pass": "info", "warn": "warn"}  # anything else (error, runtime error): error


def _limit(seconds: int | None) -> str:
    from aligned_cli.core.types import format_duration

    return "-" if seconds is None else format_duration(seconds)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _print(rows: list[FreshnessResult]) -> None:
    from aligned_cli.cli.output import STATUS_STYLE, console, json_logs, line, log_event

    if json_logs():
        for r in rows:
            problem = f" — {r.message}" if r.message and r.status in _PROBLEMS else ""
            log_event(
                _LOG_LEVEL.get(r.status, "error"),
                f"{r.kind} {r.name}: {r.status}{problem}",
                unique_id=r.unique_id,
                age_seconds=r.age_seconds,
                status=r.status,
                reason=r.message,
            )
        return
    from rich.table import Table

    table = Table(title="Freshness")
    for header in ("node", "status", "newest", "age", "warn after", "error after"):
        table.add_column(header)
    for r in rows:
        table.add_row(
            f"{r.kind} {r.name}",
            f"[{STATUS_STYLE[r.status]}]{r.status}[/]",
            r.max_loaded_at.isoformat() if r.max_loaded_at else "-",
            _age(r.age_seconds),
            _limit(r.warn_after),
            _limit(r.error_after),
        )
    console().print(table)
    # Why a node could not be measured (a missing column, an empty source): the table
    # has no room for it, and dbt prints it too.
    for r in rows:
        if r.message and r.status in _PROBLEMS:
            line(f"{r.kind} {r.name}: {r.status} — {r.message}", STATUS_STYLE[r.status])


# Statuses whose message says what went wrong (others' messages are informative).
_PROBLEMS = ("error", "runtime error")


def _write(compiled: CompiledProject, rows: list[FreshnessResult]) -> None:
    import uuid
    from dataclasses import asdict
    from datetime import UTC, datetime

    from aligned_cli import __version__
    from aligned_cli.artifacts.writer import write_json_atomic

    data: dict[str, Any] = {
        "metadata": {
            "aligned_version": __version__,
            "schema_version": "https://aligned.dev/schemas/freshness/v1.json",
            "project_name": compiled.project.name,
            "generated_at": datetime.now(UTC).isoformat(),
            "invocation_id": str(uuid.uuid4()),
        },
        "results": [_jsonable(asdict(r)) for r in rows],
    }
    write_json_atomic(compiled.target_dir / "freshness.json", data)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """Datetimes as ISO-8601 (`2026-03-01T10:00:00+00:00`), not str()'s space form."""
    from datetime import datetime

    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
