"""Running `aligned monitor` for one model: SQL on the engine, results judged.

The engine computes everything per row (see `compile/monitoring.py`); Python only
reads the training dataset into the session when it is a file, picks the decile
edges it returns, and reshapes the small result rows into `ModelMonitoring`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlglot import exp

from aligned_cli.artifacts.monitoring import (
    BinShare,
    FeatureDrift,
    ModelMonitoring,
    WindowMetrics,
)
from aligned_cli.compile import monitoring as sql
from aligned_cli.compile.dialects import Dialect, get_dialect
from aligned_cli.compile.dialects.base import ident
from aligned_cli.compile.relations import source_query
from aligned_cli.core.ir import Model, Output, Project
from aligned_cli.core.types import DataType
from aligned_cli.errors import ExecutionError, ProjectError, did_you_mean
from aligned_cli.execute.adapters.base import Adapter
from aligned_cli.execute.adapters.files import resolve_path
from aligned_cli.execute.monitoring_alerts import judge, status_of

TRAINING_TABLE = "__aligned_monitor_training"
PREDICTION_DRIFT = "prediction"


@dataclass(frozen=True)
class MonitorOptions:
    window_seconds: int
    since_epoch: float | None = None


@dataclass(frozen=True)
class _Reference:
    relation: exp.Expr
    describe: str
    columns: dict[str, bool]  # training column -> numeric


def monitor_model(
    project: Project, adapter: Adapter, model: Model, unique_id: str, options: MonitorOptions
) -> ModelMonitoring:
    """Metrics, drift and alerts of `model`'s logged predictions, per window and version."""
    logged = model.predictions
    if logged is None:
        raise ProjectError(
            f"model '{model.name}' declares no `predictions:`", location=model.location
        )
    if logged.source not in project.sources:
        raise ProjectError(
            f"model '{model.name}': unknown predictions source '{logged.source}'",
            location=model.location,
            hint=did_you_mean(logged.source, project.sources),
        )
    dialect = get_dialect(adapter.dialect)
    columns = _source_columns(project, adapter, dialect, model)
    kind = _kind(project, model)
    reference = _reference(project, adapter, model)
    try:
        scored = sql.scored_query(
            project,
            model,
            dialect,
            source_columns=columns,
            window_seconds=options.window_seconds,
            since_epoch=options.since_epoch,
        )
        has_probability = logged.probability is not None
        windows = _performance(adapter, dialect, scored, kind, has_probability, options)
        drift_columns = _drift_columns(adapter, dialect, project, model, kind, reference)
        _add_drift(adapter, dialect, scored, reference.relation, drift_columns, windows)
    finally:
        if reference.relation.name == TRAINING_TABLE:
            adapter.unregister(TRAINING_TABLE)
    ordered = [windows[key] for key in sorted(windows, key=lambda k: (k[0], k[1] or ""))]
    hits = judge({str(metric): alert for metric, alert in model.alerts.items()}, ordered)
    return ModelMonitoring(
        unique_id=unique_id,
        model=model.name,
        kind=kind,
        status=status_of(hits),
        reference=reference.describe,
        predictions_source=logged.source,
        label_delay=logged.label_delay,
        windows=ordered,
        alerts=hits,
    )


# --- inputs ---------------------------------------------------------------------


def _source_columns(
    project: Project, adapter: Adapter, dialect: Dialect, model: Model
) -> list[str]:
    """The predictions source's columns, read from the engine (a LIMIT 0 query)."""
    assert model.predictions is not None
    logged = model.predictions
    source = project.sources[logged.source]
    probe = source_query(project, source, dialect).limit(0)
    columns = list(adapter.fetch_arrow(dialect.sql(probe, pretty=False)).schema.names)
    wanted = {
        "prediction": logged.prediction,
        "probability": logged.probability,
        "event_timestamp": logged.event_timestamp,
        "model_version": logged.model_version,
        "target column": model.target.column if model.target else None,
    }
    for role, name in wanted.items():
        if name is not None and name not in columns:
            raise ProjectError(
                f"model '{model.name}': the predictions source '{source.name}' has no column"
                f" '{name}' (its {role})",
                location=model.location,
                hint=did_you_mean(name, columns) or f"its columns: {', '.join(columns)}",
            )
    return columns


def _kind(project: Project, model: Model) -> sql.Kind:
    """The declared target kind; else a bool/string target or a probability column
    means classification."""
    target = model.target
    if target is None:
        raise ProjectError(
            f"model '{model.name}' has no `target:`, so its predictions have no ground truth",
            location=model.location,
            hint="declare `target: {feature: view:label}` or `target: {column: label}`",
        )
    if target.kind is not None:
        return target.kind
    if model.predictions is not None and model.predictions.probability is not None:
        return "classification"
    dtype = _dtype(project, target.feature.view, target.feature.feature) if target.feature else None
    return "classification" if dtype in (DataType.BOOL, DataType.STRING) else "regression"


def _dtype(project: Project, view_name: str, feature: str) -> DataType | None:
    view = project.views.get(view_name)
    found = view.feature(feature) if view else None
    return found.dtype if found else None


def _reference(project: Project, adapter: Adapter, model: Model) -> _Reference:
    """The training dataset `aligned run` wrote: a table on the target, or a file
    loaded into the session (Postgres cannot read parquet itself)."""
    output = model.output or Output(file=f"{project.target_path}/datasets/{model.name}.parquet")
    hint = f"build it first: aligned run --select model:{model.name}"
    if output.table:
        schema = output.schema_name or adapter.default_schema()
        table = exp.Table(this=ident(output.table), db=ident(schema))
        try:
            schema_of = adapter.fetch_arrow(
                f"SELECT * FROM {table.sql(adapter.dialect)} LIMIT 0"
            ).schema
        except ExecutionError:
            raise ProjectError(
                f"model '{model.name}': its training dataset table {schema}.{output.table}"
                " cannot be read",
                location=model.location,
                hint=hint,
            ) from None
        import pyarrow as pa

        numeric = {f.name: _arrow_numeric(f.type, pa) for f in schema_of}
        return _Reference(table, f"{schema}.{output.table}", numeric)
    assert output.file is not None
    path = resolve_path(Path(project.root), output.file)
    if not path.exists():
        raise ProjectError(
            f"model '{model.name}': its training dataset {output.file} does not exist",
            location=model.location,
            hint=hint,
        )
    data = _read_file(path, output.file_format)
    import pyarrow as pa

    adapter.register_arrow(TRAINING_TABLE, data)
    numeric = {f.name: _arrow_numeric(f.type, pa) for f in data.schema}
    return _Reference(exp.Table(this=ident(TRAINING_TABLE)), output.file, numeric)


def _read_file(path: Path, fmt: str) -> Any:
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    return pq.read_table(path) if fmt == "parquet" else pa_csv.read_csv(path)


def _arrow_numeric(dtype: Any, pa: Any) -> bool:
    types = pa.types
    return bool(types.is_integer(dtype) or types.is_floating(dtype) or types.is_decimal(dtype))


# --- performance ----------------------------------------------------------------

_Key = tuple[int, str | None]


def _performance(
    adapter: Adapter,
    dialect: Dialect,
    scored: exp.Query,
    kind: sql.Kind,
    has_probability: bool,
    options: MonitorOptions,
) -> dict[_Key, WindowMetrics]:
    query = sql.performance_query(scored.copy(), kind, has_probability)
    names = sql.metric_names(kind, has_probability)
    windows: dict[_Key, WindowMetrics] = {}
    for row in adapter.fetch_rows(dialect.sql(query, copy=False)):
        bucket, version, count, labelled, *values = row
        start = int(bucket) * options.window_seconds
        key = (int(bucket), version or None)
        windows[key] = WindowMetrics(
            window_start=datetime.fromtimestamp(start, UTC),
            window_end=datetime.fromtimestamp(start + options.window_seconds, UTC),
            model_version=version or None,
            count=int(count),
            labelled=int(labelled),
            metrics={name: _float(v) for name, v in zip(names, values, strict=True)},
        )
    return windows


def _float(value: Any) -> float | None:
    return None if value is None else round(float(value), 10)


# --- drift ----------------------------------------------------------------------


def _drift_columns(
    adapter: Adapter,
    dialect: Dialect,
    project: Project,
    model: Model,
    kind: sql.Kind,
    reference: _Reference,
) -> list[sql.DriftColumn]:
    """Each input feature, then the prediction (against the training target:
    the training data has labels, not predictions)."""
    pending: list[tuple[str, str, str, bool]] = []  # name, serving, training, numeric
    for index, ref in enumerate(model.features):
        training = _training_column(reference, f"{ref.view}__{ref.feature}", ref.feature)
        if training is None:
            continue  # not in the dataset (e.g. an older run): nothing to compare
        dtype = _dtype(project, ref.view, ref.feature)
        numeric = dtype.is_numeric if dtype else reference.columns[training]
        pending.append((str(ref), sql.feature_column(index), training, numeric))
    target_column = _target_training_column(model, reference)
    if target_column is not None:
        numeric = kind == "regression"
        pending.append((PREDICTION_DRIFT, sql.PREDICTION, target_column, numeric))
    numeric_columns = [training for _, _, training, numeric in pending if numeric]
    edges = _edges(adapter, dialect, reference.relation, numeric_columns)
    columns = []
    for name, serving, training, numeric in pending:
        binary = name == PREDICTION_DRIFT and kind == "classification"
        columns.append(
            sql.DriftColumn(
                name=name,
                serving=serving,
                training=training,
                edges=edges.get(training) if numeric else None,
                binary=binary,
            )
        )
    return columns


def _training_column(reference: _Reference, *candidates: str) -> str | None:
    return next((c for c in candidates if c in reference.columns), None)


def _target_training_column(model: Model, reference: _Reference) -> str | None:
    target = model.target
    if target is None:
        return None
    if target.column is not None:
        return _training_column(reference, target.column)
    assert target.feature is not None
    names = [n for n in (target.name, target.feature.feature) if n]
    return _training_column(reference, *names, f"{target.feature.view}__{target.feature.feature}")


def _edges(
    adapter: Adapter, dialect: Dialect, training: exp.Expr, columns: Sequence[str]
) -> dict[str, tuple[float, ...]]:
    if not columns:
        return {}
    query = sql.decile_edges_query(training, columns)
    (row,) = adapter.fetch_rows(dialect.sql(query, copy=False))
    edges: dict[str, tuple[float, ...]] = {}
    for i, name in enumerate(columns):
        values = row[i * 9 : (i + 1) * 9]
        edges[name] = tuple(float(v) for v in values if v is not None)
    return edges


def _add_drift(
    adapter: Adapter,
    dialect: Dialect,
    scored: exp.Query,
    training: exp.Expr,
    columns: list[sql.DriftColumn],
    windows: dict[_Key, WindowMetrics],
) -> None:
    if not columns:
        return
    query = sql.drift_query(scored.copy(), training, columns)
    for feature, bucket, version, bin_, p, q, psi in adapter.fetch_rows(
        dialect.sql(query, copy=False)
    ):
        window = windows.get((int(bucket), version or None))
        if window is None:
            continue
        if feature == PREDICTION_DRIFT:
            if window.prediction_drift is None:
                window.prediction_drift = FeatureDrift(psi=_float(psi) or 0.0)
            drift = window.prediction_drift
        else:
            drift = window.feature_drift.setdefault(feature, FeatureDrift(psi=_float(psi) or 0.0))
        drift.bins.append(BinShare(bin=str(bin_), training=float(p), serving=float(q)))
