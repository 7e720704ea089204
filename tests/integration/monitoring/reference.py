"""Independent reference values for `aligned monitor` on fixtures/monitoring.

Computed from the raw CSVs in Python (scikit-learn, numpy), never through aligned's
SQL, so a shared mistake cannot make both sides agree.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sklearn import metrics as sk

DAY = 86400
PSI_FLOOR = 1e-4


def _rows(project: Path, name: str) -> list[dict[str, str]]:
    with (project / "data" / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def _window(at: datetime) -> datetime:
    return datetime.fromtimestamp(int(at.timestamp()) // DAY * DAY, UTC)


def churn_metrics(
    project: Path, label_delay: timedelta
) -> dict[tuple[datetime, str], dict[str, Any]]:
    """Per (window start, version): count, labelled and the classification metrics."""
    labels = {r["request_id"]: r for r in _rows(project, "labels.csv")}
    groups: dict[tuple[datetime, str], list[tuple[bool | None, bool, float]]] = defaultdict(list)
    for row in _rows(project, "churn_predictions.csv"):
        at = _time(row["predicted_at"])
        label = labels.get(row["request_id"])
        known = label is not None and _time(label["labelled_at"]) <= at + label_delay
        truth = label["churned"] == "true" if known and label else None
        key = (_window(at), row["model_version"])
        groups[key].append(
            (truth, row["predicted_churn"] == "true", float(row["churn_probability"]))
        )
    result = {}
    for key, items in groups.items():
        labelled = [(t, p, q) for t, p, q in items if t is not None]
        y = [t for t, _, _ in labelled]
        yhat = [p for _, p, _ in labelled]
        prob = [q for _, _, q in labelled]
        values: dict[str, Any] = {"count": len(items), "labelled": len(labelled)}
        if labelled:
            values.update(
                accuracy=sk.accuracy_score(y, yhat),
                precision=sk.precision_score(y, yhat),
                recall=sk.recall_score(y, yhat),
                f1=sk.f1_score(y, yhat),
                log_loss=sk.log_loss(y, prob, labels=[False, True]),
                roc_auc=sk.roc_auc_score(y, prob),
            )
        result[key] = values
    return result


def spend_metrics(project: Path) -> dict[datetime, dict[str, float]]:
    groups: dict[datetime, list[tuple[float, float]]] = defaultdict(list)
    for row in _rows(project, "spend_predictions.csv"):
        groups[_window(_time(row["predicted_at"]))].append(
            (float(row["spend"]), float(row["predicted_spend"]))
        )
    result = {}
    for key, pairs in groups.items():
        y = np.array([a for a, _ in pairs])
        yhat = np.array([b for _, b in pairs])
        result[key] = {
            "mae": sk.mean_absolute_error(y, yhat),
            "rmse": math.sqrt(sk.mean_squared_error(y, yhat)),
            "bias": float(np.mean(yhat - y)),
        }
    return result


def feature_psi(project: Path, feature: str, numeric: bool) -> dict[tuple[datetime, str], float]:
    """PSI of a request feature: training requests vs each churn window and version."""
    requests = {r["request_id"]: r for r in _rows(project, "requests.csv")}
    training = [requests[r["request_id"]][feature] for r in _rows(project, "training_spine.csv")]
    serving: dict[tuple[datetime, str], list[str]] = defaultdict(list)
    for row in _rows(project, "churn_predictions.csv"):
        key = (_window(_time(row["predicted_at"])), row["model_version"])
        serving[key].append(requests[row["request_id"]][feature])
    if numeric:
        reference = np.sort(np.array([float(v) for v in training]))
        # NTILE(10): the first len % 10 tiles hold one more row; edges = each tile's max.
        edges = [chunk[-1] for chunk in np.array_split(reference, 10)[:9]]

        def binned(values: list[str]) -> list[int]:
            return [int(np.searchsorted(edges, float(v), side="left")) for v in values]
    else:

        def binned(values: list[str]) -> list[str]:  # type: ignore[misc]
            return values

    expected = _shares(binned(training))
    return {key: _psi(expected, _shares(binned(values))) for key, values in serving.items()}


def _shares(values: list[Any]) -> dict[Any, float]:
    counts: dict[Any, int] = defaultdict(int)
    for value in values:
        counts[value] += 1
    return {k: n / len(values) for k, n in counts.items()}


def _psi(expected: dict[Any, float], actual: dict[Any, float]) -> float:
    total = 0.0
    for key in set(expected) | set(actual):
        p = max(expected.get(key, 0.0), PSI_FLOOR)
        q = max(actual.get(key, 0.0), PSI_FLOOR)
        total += (q - p) * math.log(q / p)
    return total
