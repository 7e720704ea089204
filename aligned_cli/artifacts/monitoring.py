"""`target/monitoring.json`: per model, window and version, metrics, drift and alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aligned_cli.artifacts.run_results import RunResultsMetadata

MONITORING_SCHEMA_VERSION = "https://aligned.dev/schemas/monitoring/v1.json"
MonitorStatus = Literal["pass", "warn", "fail", "error"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BinShare(_Model):
    bin: str  # a decile `d01`..`d10`, a category, `positive`/`negative`, or `<null>`
    training: float
    serving: float


class FeatureDrift(_Model):
    psi: float
    bins: list[BinShare] = Field(default_factory=list)


class WindowMetrics(_Model):
    window_start: datetime
    window_end: datetime
    model_version: str | None = None
    count: int
    labelled: int
    metrics: dict[str, float | None] = Field(default_factory=dict)
    feature_drift: dict[str, FeatureDrift] = Field(default_factory=dict)
    prediction_drift: FeatureDrift | None = None


class AlertHit(_Model):
    metric: str
    feature: str | None = None  # for `psi`
    window_start: datetime
    model_version: str | None = None
    value: float
    min: float | None = None
    max: float | None = None
    severity: Literal["error", "warn"]

    def describe(self) -> str:
        bound = f">= {self.min:g}" if self.min is not None else f"<= {self.max:g}"
        what = f"{self.metric}({self.feature})" if self.feature else self.metric
        version = f" {self.model_version}" if self.model_version else ""
        when = self.window_start.strftime("%Y-%m-%d %H:%M")
        return f"{what} = {self.value:.4g} at {when}{version}, expected {bound}"


class ModelMonitoring(_Model):
    unique_id: str
    model: str
    kind: Literal["classification", "regression"]
    status: MonitorStatus
    message: str | None = None
    reference: str | None = None  # the training dataset drift is measured against
    predictions_source: str
    label_delay: int = 0
    windows: list[WindowMetrics] = Field(default_factory=list)
    alerts: list[AlertHit] = Field(default_factory=list)


class Monitoring(_Model):
    metadata: RunResultsMetadata
    window_seconds: int
    since_seconds: int | None = None
    models: list[ModelMonitoring]
    elapsed_time: float
    args: dict[str, Any] = Field(default_factory=dict)
