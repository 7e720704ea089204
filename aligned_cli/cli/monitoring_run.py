"""What `aligned monitor` does once the project is loaded: run, report, write artifacts."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.cli.output import STATUS_STYLE, console, info, json_logs, log_event, warn

if TYPE_CHECKING:
    from aligned_cli.artifacts.monitoring import ModelMonitoring
    from aligned_cli.compile.compiled import CompiledProject
    from aligned_cli.core.ir import Connection
    from aligned_cli.execute.adapters.base import Adapter

_SHORT = {"accuracy": "acc", "precision": "prec", "recall": "rec", "log_loss": "logloss"}


@dataclass(frozen=True)
class MonitorArgs:
    window_seconds: int
    since_seconds: int | None
    explicit_selection: bool

    @classmethod
    def parse(cls, window: str, since: str | None, *, explicit_selection: bool) -> MonitorArgs:
        from aligned_cli.core.types import parse_duration
        from aligned_cli.errors import UsageError

        try:
            window_seconds = parse_duration(window)
            since_seconds = parse_duration(since) if since else None
        except ValueError as error:
            raise UsageError(str(error), hint="e.g. --window 1d --since 30d") from None
        if window_seconds <= 0:
            raise UsageError("--window must be longer than 0s", hint="e.g. --window 1d")
        return cls(window_seconds, since_seconds, explicit_selection)


def run_monitor(
    compiled: CompiledProject,
    connection: Connection,
    selected: set[str],
    args: MonitorArgs,
    raw_args: dict[str, Any],
) -> int:
    """Monitor every selected model with `predictions:`; the exit code (1 on fail/error)."""
    from aligned_cli.execute.adapters import open_adapter

    started = time.perf_counter()
    models = _monitored_models(compiled, selected, args.explicit_selection)
    results: list[ModelMonitoring] = []
    if models:
        with open_adapter(connection, Path(compiled.project.root)) as adapter:
            _stage_sources(compiled, adapter, models)
            for uid in models:
                results.append(_monitor_one(compiled, adapter, uid, args))
                _report(results[-1])
    _write_artifacts(compiled, connection.name, results, args, raw_args, started)
    return 1 if any(r.status in ("fail", "error") for r in results) else 0


def _monitored_models(compiled: CompiledProject, selected: set[str], explicit: bool) -> list[str]:
    dag = compiled.dag
    uids = [u for u in sorted(selected) if dag.nodes[u]["kind"] == "model"]
    monitored = [u for u in uids if dag.nodes[u]["obj"].predictions is not None]
    if explicit:
        for uid in sorted(set(uids) - set(monitored)):
            warn(f"model '{dag.nodes[uid]['obj'].name}' declares no `predictions:`; skipped")
    if not monitored:
        warn("nothing to monitor: no selected model declares `predictions:`")
    return monitored


def _stage_sources(compiled: CompiledProject, adapter: Adapter, models: list[str]) -> None:
    """Postgres reads file sources from staged tables (a no-op on DuckDB)."""
    import networkx as nx

    dag = compiled.dag
    project = compiled.project
    needed: set[str] = set()
    for uid in models:
        needed |= {
            dag.nodes[a]["obj"].name
            for a in nx.ancestors(dag, uid)
            if dag.nodes[a]["kind"] == "source"
        }
        logged = dag.nodes[uid]["obj"].predictions
        if logged.source in project.sources:
            needed.add(logged.source)
    for name in sorted(needed):
        source = project.sources[name]
        if source.file is not None:
            adapter.stage_source(source, project=project.name)


def _monitor_one(
    compiled: CompiledProject, adapter: Adapter, uid: str, args: MonitorArgs
) -> ModelMonitoring:
    from aligned_cli.artifacts.monitoring import ModelMonitoring
    from aligned_cli.errors import AlignedError
    from aligned_cli.execute.monitoring import MonitorOptions, monitor_model

    model = compiled.dag.nodes[uid]["obj"]
    since = time.time() - args.since_seconds if args.since_seconds is not None else None
    options = MonitorOptions(window_seconds=args.window_seconds, since_epoch=since)
    try:
        return monitor_model(compiled.project, adapter, model, uid, options)
    except AlignedError as error:
        # One model's problem (a missing dataset, a bad column) must not hide the others.
        return ModelMonitoring(
            unique_id=uid,
            model=model.name,
            kind=(model.target.kind if model.target and model.target.kind else "classification"),
            status="error",
            message=error.render(),
            predictions_source=model.predictions.source,
        )


# --- reporting --------------------------------------------------------------------


def _report(result: ModelMonitoring) -> None:
    headline = f"model {result.model}: {result.status.upper()}"
    if result.message:
        headline += f" — {result.message}"
    if json_logs():
        log_event(
            "error" if result.status in ("fail", "error") else "info",
            headline,
            unique_id=result.unique_id,
            status=result.status,
            alerts=[a.describe() for a in result.alerts],
        )
        return
    from rich.markup import escape

    out = console()
    style = STATUS_STYLE[result.status]
    out.print(f"[{style}]{escape(headline)}[/{style}]")
    if result.windows:
        out.print(_table(result))
    for alert in result.alerts:
        colour = "red" if alert.severity == "error" else "yellow"
        out.print(f"  [{colour}]ALERT {escape(alert.describe())}[/{colour}]")


def _table(result: ModelMonitoring) -> Any:
    from rich.table import Table

    alerted = {(a.window_start, a.model_version) for a in result.alerts}
    metric_names = list(dict.fromkeys(m for w in result.windows for m in w.metrics))
    table = Table(title=f"{result.model} ({result.kind})", title_justify="left")
    headers = ["window", "version", "n", "labelled", *(_SHORT.get(m, m) for m in metric_names)]
    for header in [*headers, "max psi", "pred psi"]:
        table.add_column(header, justify="left" if header in headers[:2] else "right")
    daily = all(w.window_start.hour == w.window_start.minute == 0 for w in result.windows)
    for window in result.windows:
        psis = {f: d.psi for f, d in window.feature_drift.items()}
        worst = max(psis, key=lambda f: psis[f]) if psis else None
        table.add_row(
            window.window_start.strftime("%Y-%m-%d" if daily else "%m-%d %H:%M"),
            window.model_version or "",
            str(window.count),
            str(window.labelled),
            *(_number(window.metrics.get(m)) for m in metric_names),
            _number(psis[worst] if worst else None),
            _number(window.prediction_drift.psi if window.prediction_drift else None),
            style="red" if (window.window_start, window.model_version) in alerted else None,
        )
    return table


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


# --- artifacts --------------------------------------------------------------------


def _write_artifacts(
    compiled: CompiledProject,
    target: str,
    results: list[ModelMonitoring],
    args: MonitorArgs,
    raw_args: dict[str, Any],
    started: float,
) -> None:
    """monitoring.json (everything) and run_results.json (one entry per model)."""
    from aligned_cli import __version__
    from aligned_cli.artifacts.monitoring import MONITORING_SCHEMA_VERSION, Monitoring
    from aligned_cli.artifacts.run_results import NodeResult, RunResults, RunResultsMetadata
    from aligned_cli.artifacts.writer import write_json_atomic

    elapsed = round(time.perf_counter() - started, 6)
    metadata = RunResultsMetadata(
        aligned_version=__version__,
        project_name=compiled.project.name,
        generated_at=datetime.now(UTC),
        invocation_id=str(uuid.uuid4()),
        command="monitor",
        target=target,
    )
    monitoring = Monitoring(
        metadata=metadata.model_copy(update={"schema_version": MONITORING_SCHEMA_VERSION}),
        window_seconds=args.window_seconds,
        since_seconds=args.since_seconds,
        models=results,
        elapsed_time=elapsed,
        args=raw_args,
    )
    target_dir = compiled.target_dir
    write_json_atomic(target_dir / "monitoring.json", monitoring.model_dump(mode="json"))
    entries = [
        NodeResult(
            unique_id=r.unique_id,
            kind="model",
            name=r.model,
            status="error" if r.status == "error" else r.status,
            message=r.message or "; ".join(a.describe() for a in r.alerts) or None,
            failures=len(r.alerts),
            output="monitoring.json",
        )
        for r in results
    ]
    run_results = RunResults(
        metadata=metadata, results=entries, elapsed_time=elapsed, args=raw_args
    )
    write_json_atomic(target_dir / "run_results.json", run_results.model_dump(mode="json"))
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    parts = [f"{n} {status}" for status, n in sorted(counts.items())]
    info(f"Done in {elapsed:.2f}s: " + (", ".join(parts) or "nothing monitored"), counts=counts)
