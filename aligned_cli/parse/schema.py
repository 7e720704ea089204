"""The YAML file formats as pydantic models (`extra="forbid"`: unknown keys are errors).

These describe what a user may write; `parse.to_ir` turns them into the IR.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aligned_cli.core.ir import MonitorMetric
from aligned_cli.core.tests import parse_threshold
from aligned_cli.core.types import DataType, parse_duration

Duration = str | int


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _duration_ok(value: Duration | None) -> Duration | None:
    if value is not None:
        parse_duration(value)  # raises ValueError with the accepted forms
    return value


def _threshold_ok(value: str | None) -> str | None:
    if value is not None:
        parse_threshold(value)  # raises ValueError with the accepted form
    return value


class ConnectionSpec(Spec):
    type: Literal["duckdb", "postgres", "spark"]
    path: str | None = None
    dsn: str | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    options: dict[str, Any] = Field(default_factory=dict)


class ObjectStoreSpec(Spec):
    """`object_stores: {s3: {...}}`: how to reach one URL scheme (read when used, so
    env_var() secrets never reach the manifest; see `aligned_cli.objectstore`)."""

    endpoint_url: str | None = None
    region: str | None = None
    key: str | None = None
    secret: str | None = None
    token: str | None = None
    anon: bool = False
    options: dict[str, Any] = Field(default_factory=dict)  # more fsspec storage options


class ProjectSpec(Spec):
    name: str
    feature_paths: list[str] = Field(default_factory=lambda: ["features"], alias="feature-paths")
    target_path: str = Field(default="target", alias="target-path")
    default_connection: str = Field(default="local", alias="default-connection")
    connections: dict[str, ConnectionSpec] = Field(default_factory=dict)
    online: dict[str, Any] = Field(default_factory=dict)
    object_stores: dict[str, ObjectStoreSpec] = Field(default_factory=dict)
    vars: dict[str, Any] = Field(default_factory=dict)
    dialect: Literal["duckdb", "postgres"] = "duckdb"
    version: str | int | None = None
    config_version: int | None = Field(default=None, alias="config-version")


class FreshnessSpec(Spec):
    warn_after: Duration | None = None
    error_after: Duration | None = None

    _check = field_validator("warn_after", "error_after")(_duration_ok)


class SourceSpec(Spec):
    name: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    file: str | None = None
    format: Literal["csv", "parquet"] | None = None
    table: str | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    query: str | None = None
    connection: str | None = None
    mapping: dict[str, str] = Field(default_factory=dict)
    timezone: str | None = None
    event_timestamp: str | None = None
    loaded_at_field: str | None = None
    freshness: FreshnessSpec | None = None
    stream: str | None = None


class CheckSpec(Spec):
    """The long form of a constraint: `lower_bound: {value: 0, severity: warn}`."""

    value: Any = None
    values: list[Any] | None = None
    to: str | None = None
    field: str | None = None
    min: float | None = None
    max: float | None = None
    is_inclusive: bool | None = None
    severity: Literal["error", "warn"] | None = None
    warn_if: str | None = None
    error_if: str | None = None

    _threshold = field_validator("warn_if", "error_if")(_threshold_ok)


class ConstraintsSpec(Spec):
    """The constraint keys shared by features and aggregations (SPEC §6)."""

    required: bool | CheckSpec | None = None
    not_null: bool | CheckSpec | None = None
    lower_bound: float | CheckSpec | None = None
    upper_bound: float | CheckSpec | None = None
    is_inclusive: bool = True
    accepted_values: list[Any] | CheckSpec | None = None
    relationships: CheckSpec | None = None
    null_rate: float | CheckSpec | None = None
    mean: CheckSpec | None = None
    min: CheckSpec | None = None
    max: CheckSpec | None = None
    drift: float | CheckSpec | None = None
    severity: Literal["error", "warn"] | None = None


class FeatureSpec(ConstraintsSpec):
    type: DataType | None = None
    expression: str | None = None
    description: str | None = None
    optional: bool = False


class AggregationSpec(ConstraintsSpec):
    """An aggregation; its constraints are tested on its value as of each of the
    view's events (see `compile.quality`)."""

    function: Literal["count", "count_distinct", "sum", "mean", "min", "max", "stddev", "last"]
    of: str | None = None
    window: Duration
    min_rows: int | None = None
    type: DataType | None = None
    description: str | None = None

    @field_validator("window")
    @classmethod
    def _window_ok(cls, value: Duration) -> Duration:
        if parse_duration(value) <= 0:  # raises ValueError with the accepted forms
            raise ValueError("a window must be positive (t - window < event <= t)")
        return value


class CustomTestSpec(Spec):
    name: str | None = None
    sql: str
    severity: Literal["error", "warn"] = "error"
    warn_if: str | None = None
    error_if: str | None = None

    _threshold = field_validator("warn_if", "error_if")(_threshold_ok)


class RowCountSpec(Spec):
    min: int | None = None
    max: int | None = None
    severity: Literal["error", "warn"] = "error"


class UniqueSpec(Spec):
    """The view's automatic `unique` test: `unique: {severity: warn, warn_if: '>10'}`."""

    severity: Literal["error", "warn"] = "error"
    warn_if: str | None = None
    error_if: str | None = None

    _threshold = field_validator("warn_if", "error_if")(_threshold_ok)


class OutputSpec(Spec):
    file: str | None = None
    format: Literal["csv", "parquet"] | None = None
    table: str | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    connection: str | None = None


class StreamSourceSpec(Spec):
    """`stream_source: {stream: NAME, sink: ...}`: the Redis stream `aligned worker`
    reads (SPEC §10), and optionally the offline sink it appends the written rows to:
    `{file: DIR}` (a parquet dataset directory) or `{table: T, schema: S, connection: C}`."""

    stream: str
    sink: OutputSpec | None = None


class ViewSpec(Spec):
    name: str
    description: str | None = None
    source: str
    materialized_source: OutputSpec | None = None
    entities: list[str] | None = None
    event_timestamp: str | None = None
    created_timestamp: str | None = None
    ttl: Duration | None = None
    tags: list[str] = Field(default_factory=list)
    features: dict[str, FeatureSpec | None] = Field(default_factory=dict)
    aggregations: dict[str, AggregationSpec] = Field(default_factory=dict)
    tests: list[CustomTestSpec] = Field(default_factory=list)
    row_count: RowCountSpec | None = None
    unique: UniqueSpec | None = None
    freshness: FreshnessSpec | None = None
    stream_source: StreamSourceSpec | None = None

    _check = field_validator("ttl")(_duration_ok)


class TargetSpec(Spec):
    feature: str | None = None
    column: str | None = None
    kind: Literal["classification", "regression"] | None = None
    name: str | None = None


class SpineSpec(Spec):
    source: str
    event_timestamp: str | None = None


class PredictionsSpec(Spec):
    source: str
    prediction: str
    probability: str | None = None
    event_timestamp: str
    model_version: str | None = None
    label_delay: Duration | None = None

    _check = field_validator("label_delay")(_duration_ok)


class AlertSpec(Spec):
    min: float | None = None
    max: float | None = None
    severity: Literal["error", "warn"] = "error"


class ModelSpec(Spec):
    name: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    features: list[str]
    target: TargetSpec | None = None
    spine: str | SpineSpec | None = None
    output: OutputSpec | None = None
    defaults: dict[str, Any] = Field(default_factory=dict)
    predictions: PredictionsSpec | None = None
    alerts: dict[MonitorMetric, AlertSpec] = Field(default_factory=dict)


class FeaturesFileSpec(Spec):
    """One `features/*.yml` file."""

    version: int | None = None
    sources: list[SourceSpec] = Field(default_factory=list)
    feature_views: list[ViewSpec] = Field(default_factory=list)
    models: list[ModelSpec] = Field(default_factory=list)
