"""`model_contract(predictions=..., alerts=...)`: the same keys as YAML, same errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from aligned_cli.core.ir import Alert, MonitorMetric, Predictions
from aligned_cli.errors import ProjectError
from aligned_cli.parse import monitoring as monitoring_spec
from aligned_cli.parse import schema as s


def monitoring_of(
    predictions: Predictions | Mapping[str, Any] | None,
    alerts: Mapping[str, Alert | Mapping[str, Any]] | None,
) -> tuple[Predictions | None, dict[MonitorMetric, Alert]]:
    """Validate through the YAML specs so unknown keys and bad durations fail alike."""
    try:
        resolved = (
            predictions
            if isinstance(predictions, Predictions) or predictions is None
            else monitoring_spec.predictions(s.PredictionsSpec.model_validate(dict(predictions)))
        )
        raw = {
            key: value.model_dump() if isinstance(value, Alert) else dict(value)
            for key, value in (alerts or {}).items()
        }
        spec = s.ModelSpec.model_validate({"name": "_", "features": [], "alerts": raw})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ProjectError(
            f"model_contract: invalid predictions/alerts at '{where}': {first['msg']}",
            hint="predictions: source, prediction, probability, event_timestamp, model_version,"
            " label_delay; alerts: metric -> {min, max, severity}",
        ) from None
    return resolved, monitoring_spec.alerts(spec.alerts)
