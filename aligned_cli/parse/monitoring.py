"""The `predictions:` and `alerts:` blocks of a model, as IR (see `aligned monitor`)."""

from __future__ import annotations

from aligned_cli.core.ir import Alert, MonitorMetric, Predictions
from aligned_cli.core.types import parse_duration
from aligned_cli.parse import schema as s


def predictions(spec: s.PredictionsSpec | None) -> Predictions | None:
    if spec is None:
        return None
    return Predictions(
        source=spec.source,
        prediction=spec.prediction,
        probability=spec.probability,
        event_timestamp=spec.event_timestamp,
        model_version=spec.model_version,
        label_delay=parse_duration(spec.label_delay) if spec.label_delay is not None else 0,
    )


def alerts(specs: dict[MonitorMetric, s.AlertSpec]) -> dict[MonitorMetric, Alert]:
    return {metric: Alert(**spec.model_dump()) for metric, spec in specs.items()}
