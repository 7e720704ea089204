"""Judging monitored windows against a model's `alerts:` bounds."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from aligned_cli.artifacts.monitoring import AlertHit, MonitorStatus, WindowMetrics
from aligned_cli.core.ir import Alert


def judge(alerts: Mapping[str, Alert], windows: list[WindowMetrics]) -> list[AlertHit]:
    """Every (window, version, metric[, feature]) value outside its bounds.

    A metric with no value in a window (e.g. no labels yet) raises no alert:
    missing labels are not evidence of a bad model.
    """
    hits: list[AlertHit] = []
    for window in windows:
        for metric, feature, value in _values(window):
            alert = alerts.get(metric)
            if alert is None or value is None:
                continue
            too_low = alert.min is not None and value < alert.min
            too_high = alert.max is not None and value > alert.max
            if too_low or too_high:
                hits.append(
                    AlertHit(
                        metric=metric,
                        feature=feature,
                        window_start=window.window_start,
                        model_version=window.model_version,
                        value=value,
                        min=alert.min if too_low else None,
                        max=alert.max if too_high else None,
                        severity=alert.severity,
                    )
                )
    return hits


def status_of(hits: list[AlertHit]) -> MonitorStatus:
    if any(h.severity == "error" for h in hits):
        return "fail"
    return "warn" if hits else "pass"


def _values(window: WindowMetrics) -> Iterator[tuple[str, str | None, float | None]]:
    yield "count", None, float(window.count)
    for name, value in window.metrics.items():
        yield name, None, value
    for feature, drift in window.feature_drift.items():
        yield "psi", feature, drift.psi
    if window.prediction_drift is not None:
        yield "prediction_psi", None, window.prediction_drift.psi
