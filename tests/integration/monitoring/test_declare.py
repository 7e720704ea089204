"""The Python DSL twin of `predictions:` / `alerts:` validates like YAML."""

from __future__ import annotations

import pytest

from aligned_cli.core.ir import Alert, Predictions
from aligned_cli.dsl.monitoring import monitoring_of
from aligned_cli.errors import ProjectError


def test_dsl_accepts_the_yaml_keys() -> None:
    predictions, alerts = monitoring_of(
        {"source": "p", "prediction": "y", "event_timestamp": "at", "label_delay": "1d"},
        {"accuracy": {"min": 0.8}, "psi": Alert(max=0.2, severity="warn")},
    )
    assert predictions == Predictions(
        source="p", prediction="y", event_timestamp="at", label_delay=86400
    )
    assert alerts["accuracy"].min == 0.8
    assert alerts["psi"].severity == "warn"


@pytest.mark.parametrize(
    ("predictions", "alerts", "message"),
    [
        ({"source": "p", "prediction": "y", "event_timestamp": "at", "bogus": 1}, None, "bogus"),
        (
            {"source": "p", "prediction": "y", "event_timestamp": "at", "label_delay": "x"},
            None,
            "label_delay",
        ),
        (None, {"acuracy": {"min": 1}}, "acuracy"),
        (None, {"accuracy": {"minimum": 1}}, "minimum"),
    ],
)
def test_dsl_rejects_unknown_keys(
    predictions: dict[str, object] | None, alerts: dict[str, object] | None, message: str
) -> None:
    with pytest.raises(ProjectError, match=message):
        monitoring_of(predictions, alerts)  # type: ignore[arg-type]
