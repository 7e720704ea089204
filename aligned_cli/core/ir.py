"""The project IR: what YAML and the Python DSL both compile into.

Everything downstream (graph, compile, execute, artifacts, serving) reads only
these models. They hold resolved, validated declarations; derived expressions are
kept as canonical SQL text in the project's dialect (`Project.dialect`, sqlglot
output) so the IR stays plain data that serialises into the manifest.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aligned_cli.core.location import Location
from aligned_cli.core.types import DataType

Severity = Literal["error", "warn"]


class IRModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class Freshness(IRModel):
    warn_after: int | None = None  # seconds
    error_after: int | None = None  # seconds


# In the order a feature's constraint tests are listed.
ConstraintKind = Literal[
    "required",
    "lower_bound",
    "upper_bound",
    "accepted_values",
    "relationships",
    "null_rate",
    "mean",
    "min",
    "max",
    "drift",
]


class Constraint(IRModel):
    """One declared check on a feature; each becomes a test node."""

    kind: ConstraintKind
    # bound for lower/upper_bound; list for accepted_values; {"to": view, "field": col}
    # for relationships; max proportion for null_rate; {"min":, "max":} for mean/min/max;
    # max relative change for drift.
    value: Any = None
    is_inclusive: bool = True
    severity: Severity = "error"
    warn_if: str | None = None
    error_if: str | None = None
    location: Location | None = None


class CustomTest(IRModel):
    """A SQL test returning failing rows; `{{ this }}` is the view's relation."""

    name: str | None = None
    sql: str
    severity: Severity = "error"
    warn_if: str | None = None
    error_if: str | None = None
    location: Location | None = None


class RowCountTest(IRModel):
    min: int | None = None
    max: int | None = None
    severity: Severity = "error"
    location: Location | None = None


class UniqueTest(IRModel):
    """How the view's automatic `unique` test judges (SPEC §6: every test has these)."""

    severity: Severity = "error"
    warn_if: str | None = None
    error_if: str | None = None
    location: Location | None = None


class Feature(IRModel):
    name: str
    dtype: DataType | None = None  # None until inferred for derived features
    expression: str | None = None  # derived feature: canonical SQL in Project.dialect
    description: str | None = None
    constraints: list[Constraint] = Field(default_factory=list)
    optional: bool = False
    location: Location | None = None

    @property
    def is_derived(self) -> bool:
        return self.expression is not None

    @property
    def is_required(self) -> bool:
        return any(c.kind == "required" for c in self.constraints)


AggregationFunction = Literal[
    "count", "count_distinct", "sum", "mean", "min", "max", "stddev", "last"
]


class Aggregation(IRModel):
    """A feature computed over `t - window < event_timestamp <= t` (SPEC §4b)."""

    name: str
    function: AggregationFunction
    of: str | None = None  # column or feature of the view; None only for count
    window: int  # seconds
    min_rows: int | None = None
    dtype: DataType | None = None
    description: str | None = None
    constraints: list[Constraint] = Field(default_factory=list)
    location: Location | None = None


class Source(IRModel):
    """Where raw data lives: a file (csv/parquet, globs), a table, or a query."""

    name: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    file: str | None = None  # relative to the project root, or a URL
    format: Literal["csv", "parquet"] | None = None
    table: str | None = None
    schema_name: str | None = None
    query: str | None = None
    connection: str | None = None  # None: the run's target connection
    mapping: dict[str, str] = Field(default_factory=dict)  # raw column -> name
    timezone: str | None = None  # zone of naive timestamps; default UTC
    event_timestamp: str | None = None  # for spines
    loaded_at_field: str | None = None
    freshness: Freshness | None = None
    stream: str | None = None  # Redis stream name, for the worker
    # Column -> DuckDB type after `mapping`, read from a file source at compile time
    # (None: unknown). Lets the compiler skip run-time type checks on timestamps.
    columns: dict[str, str] | None = None
    location: Location | None = None

    @property
    def kind(self) -> Literal["file", "table", "query"]:
        if self.file is not None:
            return "file"
        if self.query is not None:
            return "query"
        return "table"

    @property
    def file_format(self) -> Literal["csv", "parquet"]:
        if self.format:
            return self.format
        lowered = (self.file or "").lower()
        return "parquet" if lowered.endswith((".parquet", ".pq")) else "csv"


class SourceRef(IRModel):
    """What a view reads: a source, or another view (`source: view:x`)."""

    kind: Literal["source", "view"]
    name: str

    def __str__(self) -> str:
        return f"view:{self.name}" if self.kind == "view" else self.name


class Output(IRModel):
    """Where a run writes: a file (parquet/csv) or a table on a connection."""

    file: str | None = None
    format: Literal["csv", "parquet"] | None = None
    table: str | None = None
    schema_name: str | None = None
    connection: str | None = None

    @property
    def file_format(self) -> Literal["csv", "parquet"]:
        if self.format:
            return self.format
        return "csv" if (self.file or "").lower().endswith(".csv") else "parquet"


class FeatureView(IRModel):
    name: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    source: SourceRef
    entities: list[str]
    event_timestamp: str | None = None
    created_timestamp: str | None = None
    ttl: int | None = None  # seconds
    features: list[Feature] = Field(default_factory=list)
    aggregations: list[Aggregation] = Field(default_factory=list)
    materialized_source: Output | None = None
    tests: list[CustomTest] = Field(default_factory=list)
    row_count: RowCountTest | None = None
    unique: UniqueTest | None = None  # None: the defaults (error severity, no thresholds)
    freshness: Freshness | None = None
    stream: str | None = None  # Redis stream feeding this view (`stream_source`)
    # Where `aligned worker` also appends the rows it writes online (`stream_source:
    # {sink: ...}`): a parquet dataset directory (`file`) or a table on a connection.
    stream_sink: Output | None = None
    location: Location | None = None

    def feature(self, name: str) -> Feature | None:
        return next((f for f in self.features if f.name == name), None)

    def aggregation(self, name: str) -> Aggregation | None:
        return next((a for a in self.aggregations if a.name == name), None)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features] + [a.name for a in self.aggregations]

    @property
    def key_columns(self) -> list[str]:
        """Entities, then event and created timestamps where declared."""
        cols = list(self.entities)
        for col in (self.event_timestamp, self.created_timestamp):
            if col and col not in cols:
                cols.append(col)
        return cols


class FeatureRef(IRModel):
    """`view:feature`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    view: str
    feature: str

    def __str__(self) -> str:
        return f"{self.view}:{self.feature}"

    @classmethod
    def parse(cls, text: str) -> FeatureRef:
        view, sep, feature = text.partition(":")
        if not sep or not view or not feature or ":" in feature:
            raise ValueError(f"'{text}' is not a feature reference; write view:feature")
        return cls(view=view.strip(), feature=feature.strip())


class Target(IRModel):
    feature: FeatureRef | None = None  # a view's feature, joined point-in-time
    column: str | None = None  # or a column of the spine
    kind: Literal["classification", "regression"] | None = None
    name: str | None = None  # column name in the dataset (DSL attribute name)


class Spine(IRModel):
    source: str
    event_timestamp: str | None = None  # None: the source's, else a column named event_timestamp


MonitorMetric = Literal[
    "count",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "log_loss",
    "roc_auc",
    "mae",
    "rmse",
    "bias",
    "psi",
    "prediction_psi",
]


# What each kind of model is judged by (`aligned monitor`); the rest apply to every model.
CLASSIFICATION_METRICS: tuple[MonitorMetric, ...] = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "log_loss",
    "roc_auc",
)
REGRESSION_METRICS: tuple[MonitorMetric, ...] = ("mae", "rmse", "bias")
PROBABILITY_METRICS: tuple[MonitorMetric, ...] = ("log_loss", "roc_auc")


class Predictions(IRModel):
    """Where a deployed model's predictions are logged (for `aligned monitor`)."""

    source: str
    prediction: str
    probability: str | None = None
    event_timestamp: str
    model_version: str | None = None
    label_delay: int = 0  # seconds after the prediction when its label is known


class Alert(IRModel):
    """A bound on one monitored metric; `psi` bounds every input feature's PSI."""

    min: float | None = None
    max: float | None = None
    severity: Severity = "error"


class Model(IRModel):
    name: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    features: list[FeatureRef]
    target: Target | None = None
    spine: Spine | None = None
    output: Output | None = None
    defaults: dict[str, Any] = Field(default_factory=dict)
    predictions: Predictions | None = None
    alerts: dict[MonitorMetric, Alert] = Field(default_factory=dict)
    location: Location | None = None


class Connection(IRModel):
    name: str
    type: Literal["duckdb", "postgres", "spark"]
    path: str | None = None  # duckdb database file (":memory:" allowed)
    dsn: str | None = None  # postgres
    schema_name: str | None = None  # where aligned writes tables
    options: dict[str, Any] = Field(default_factory=dict)


class Project(IRModel):
    """A whole loaded project: the single input to graph and compile."""

    name: str
    root: str  # absolute path of the project directory
    feature_paths: list[str] = Field(default_factory=lambda: ["features"])
    target_path: str = "target"
    default_connection: str = "local"
    connections: dict[str, Connection] = Field(default_factory=dict)
    online: dict[str, Any] = Field(default_factory=dict)
    vars: dict[str, Any] = Field(default_factory=dict)
    dialect: str = "duckdb"  # dialect of derived expressions
    sources: dict[str, Source] = Field(default_factory=dict)
    views: dict[str, FeatureView] = Field(default_factory=dict)
    models: dict[str, Model] = Field(default_factory=dict)
    location: Location | None = None

    def connection(self, name: str | None = None) -> Connection:
        return self.connections[name or self.default_connection]

    def home_connection(self, engine: str) -> str | None:
        """The connection SQL compiled for `engine` reads from: the default connection
        when it is of that engine, else the project's first connection of that engine."""
        default = self.connections.get(self.default_connection)
        if default is not None and default.type == engine:
            return default.name
        return next((c.name for c in self.connections.values() if c.type == engine), None)

    def on_other_connection(self, source: Source, engine: str) -> bool:
        """Whether `source` lives on another connection than the one a run on `engine`
        reads (`connection: warehouse` read by a DuckDB run, or a second DuckDB
        database): such a run reads a staged copy (`execute.foreign_sources`)."""
        connection = self.connections.get(source.connection or "")
        if connection is None:
            return False
        return connection.type != engine or connection.name != self.home_connection(engine)

    def lookup_views(self, model: Model) -> list[FeatureView]:
        """Views `model` reads through a point-in-time lookup (not aggregations only),
        in the order the model first names them."""
        refs = [*model.features, *([model.target.feature] if model.target else [])]
        views: dict[str, FeatureView] = {}
        for ref in refs:
            if ref is None:
                continue
            view = self.views.get(ref.view)
            if view is None or not view.event_timestamp or view.aggregation(ref.feature):
                continue
            views.setdefault(view.name, view)
        return list(views.values())
