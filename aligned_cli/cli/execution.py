"""What `run` and `test` share: pick the target, lock it, execute, report, write results."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.cli.output import STATUS_STYLE, console, info, json_logs, line, log_event, warn

if TYPE_CHECKING:
    from aligned_cli.artifacts.run_results import NodeResult, RunResults
    from aligned_cli.compile.compiled import CompiledProject


def target_connection(compiled: CompiledProject, target: str | None) -> Any:
    from aligned_cli.errors import UsageError, did_you_mean

    project = compiled.project
    name = target or project.default_connection
    if name not in project.connections:
        raise UsageError(f"unknown --target '{name}'", hint=did_you_mean(name, project.connections))
    return project.connections[name]


def execute(
    compiled: CompiledProject,
    selected: set[str],
    *,
    command: str,
    target: str | None,
    fail_fast: bool,
    args: dict[str, Any],
    full_refresh: bool = False,
    store_failures: bool = False,
    threads: int | None = None,
) -> RunResults:
    """Run `selected` on the target; run_results.json is written whatever happens.

    When the target cannot be used at all (connection refused, lock held, staging
    failed) every selected node ends as `error` with that cause, and the run exits 1
    like any run whose nodes errored; project and usage mistakes still exit 2.
    """
    from aligned_cli.errors import AlignedError
    from aligned_cli.execute.adapters import open_adapter
    from aligned_cli.execute.runner import (
        RunState,
        execution_order,
        fail_unfinished,
        run_nodes,
        skip_unfinished,
    )

    connection = target_connection(compiled, target)
    nodes = execution_order(compiled, selected)
    invocation_id = str(uuid.uuid4())
    started = time.perf_counter()
    state = RunState()
    if not nodes:
        warn("nothing selected: no views, models or tests match the selection")
    try:
        if nodes:
            with (
                open_adapter(connection, Path(compiled.project.root)) as adapter,
                adapter.lock(compiled.project.name),
            ):
                if threads is not None:
                    adapter.use_threads(threads)
                _prepare(compiled, adapter, nodes, force=full_refresh)
                run_nodes(
                    compiled,
                    adapter,
                    nodes,
                    fail_fast=fail_fast,
                    report=_report,
                    state=state,
                    on_start=_report_start,
                    store_failures=store_failures,
                    on_warning=warn,
                )
    except KeyboardInterrupt:
        # Wherever Ctrl-C lands (locking, staging, a query), every node gets a final status.
        state.interrupted = True
        skip_unfinished(compiled, state, nodes, "interrupted")
        raise
    except Exception as error:
        # Connecting, locking or staging failed: no node could run, and each says why
        # (SPEC §9). Engine failures are the run's failure (exit 1, reported below);
        # a project or usage mistake (exit 2) and bugs propagate after the write.
        from aligned_cli.errors import ExecutionError

        cause = error.message if isinstance(error, AlignedError) else f"{error}"
        fail_unfinished(compiled, state, nodes, cause)
        if not isinstance(error, ExecutionError):
            raise
        from aligned_cli.cli.output import error as print_error

        print_error(error.render())
    finally:
        results = _write_results(
            compiled,
            state,
            command,
            connection.name,
            invocation_id,
            time.perf_counter() - started,
            args,
        )
    _summary(results)
    return results


def _prepare(compiled: CompiledProject, adapter: Any, nodes: list[str], *, force: bool) -> None:
    """Bring the sources the nodes read to where the engine reads them: file sources
    staged (Postgres, Spark; DuckDB reads files in place) and sources on another
    engine's connection copied in. `force` (--full-refresh) reloads unchanged files."""
    project = compiled.project
    foreign = [
        s for s in project.sources.values() if project.on_other_connection(s, adapter.dialect)
    ]
    files = adapter.stages_files and any(s.file for s in project.sources.values())
    if not files and not foreign:
        return  # nothing to bring anywhere: no graph walk (nor networkx import) needed
    import networkx as nx

    from aligned_cli.execute.foreign_sources import stage_foreign_source
    from aligned_cli.graph.ids import source_id

    dag = compiled.dag
    needed: set[str] = set()
    for uid in nodes:
        needed |= {a for a in nx.ancestors(dag, uid) if dag.nodes[a]["kind"] == "source"}
    for source in foreign:
        if source_id(project.name, source.name) in needed:
            stage_foreign_source(adapter, project, source)
    for uid in sorted(needed):
        source = dag.nodes[uid]["obj"]
        if source.file is not None and files:
            adapter.stage_source(source, project=project.name, force=force)


def _report_start(unique_id: str, kind: str, name: str) -> None:
    if json_logs():
        log_event("info", f"START {kind} {name}", unique_id=unique_id, event="start")
        return
    line(f"START {kind} {name}", "dim")


def _report(result: NodeResult) -> None:
    detail = []
    if result.rows_affected is not None:
        detail.append(f"{result.rows_affected} rows")
    if result.failures:
        detail.append(f"{result.failures} failures")
    text = f"{result.kind} {result.name}: {result.status.upper()}"
    if detail:
        text += f" ({', '.join(detail)})"
    text += f" in {result.execution_time:.2f}s"
    if result.message and result.status not in ("success", "pass"):
        text += f" — {result.message}"
    if json_logs():
        log_event(
            "error" if result.status in ("error", "fail") else "info",
            text,
            unique_id=result.unique_id,
            status=result.status,
            rows_affected=result.rows_affected,
            failures=result.failures,
            execution_time=result.execution_time,
        )
        return
    line(text, STATUS_STYLE.get(result.status, ""))


def _write_results(
    compiled: CompiledProject,
    state: Any,
    command: str,
    target: str,
    invocation_id: str,
    elapsed: float,
    args: dict[str, Any],
) -> RunResults:
    from aligned_cli import __version__
    from aligned_cli.artifacts.run_results import RunResults, RunResultsMetadata
    from aligned_cli.artifacts.writer import write_json_atomic

    results = RunResults(
        metadata=RunResultsMetadata(
            aligned_version=__version__,
            project_name=compiled.project.name,
            generated_at=datetime.now(UTC),
            invocation_id=invocation_id,
            command=command,
            target=target,
        ),
        results=state.ordered,
        elapsed_time=round(elapsed, 6),
        args=args,
        interrupted=state.interrupted,
    )
    write_json_atomic(compiled.target_dir / "run_results.json", results.model_dump(mode="json"))
    return results


def _summary(results: RunResults) -> None:
    _tests_table(results)
    counts: dict[str, int] = {}
    for result in results.results:
        counts[result.status] = counts.get(result.status, 0) + 1
    parts = [f"{n} {status}" for status, n in sorted(counts.items())]
    info(
        f"Done in {results.elapsed_time:.2f}s: " + (", ".join(parts) or "nothing to do"),
        counts=counts,
    )


def _tests_table(results: RunResults) -> None:
    """Text mode: one table of the tests that ran (test, status, failures, a sample)."""
    tests = [r for r in results.results if r.kind == "test"]
    if json_logs() or not tests:
        return
    import json

    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Tests", title_justify="left")
    for header in ("test", "status", "failures", "sample"):
        table.add_column(header, justify="right" if header == "failures" else "left")
    for result in tests:
        style = STATUS_STYLE.get(result.status, "")
        sample = json.dumps(result.sample[0], default=str) if result.sample else ""
        if result.status == "error" and result.message:
            sample = result.message
        table.add_row(
            escape(result.name),
            f"[{style}]{result.status}[/{style}]" if style else result.status,
            "" if result.failures is None else str(result.failures),
            escape(sample[:80] + ("…" if len(sample) > 80 else "")),
        )
    console().print(table)


def exit_code(results: RunResults) -> int:
    return 1 if any(r.status in ("error", "fail") for r in results.results) else 0
