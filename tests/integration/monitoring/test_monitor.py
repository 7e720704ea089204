"""`aligned monitor` end to end on DuckDB and Postgres, against independent values.

fixtures/monitoring plants a drift of `income` and an accuracy drop in the last two
daily windows (2024-02-09 and -10); see its make_data.py.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

from .reference import churn_metrics, feature_psi, spend_metrics

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "monitoring"
PLANTED = {datetime(2024, 2, 9, tzinfo=UTC), datetime(2024, 2, 10, tzinfo=UTC)}
TOLERANCE = 1e-6


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    target = tmp_path / "monitoring"
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("target"))
    return target


@pytest.fixture(params=["duckdb", "postgres"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The --target to use: `local` (DuckDB) or `warehouse` (a fresh Postgres database)."""
    if request.param == "postgres":
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("postgres_dsn"))
        yield "warehouse"
    else:
        yield "local"


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _run_and_monitor(project: Path, target: str, *extra: str) -> tuple[Any, dict[str, Any]]:
    built = _cli("run", "--project-dir", str(project), "--target", target)
    assert built.exit_code == 0, built.output
    result = _cli("monitor", "--project-dir", str(project), "--target", target, *extra)
    report = json.loads((project / "target" / "monitoring.json").read_text())
    return result, report


def _model(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in report["models"] if m["model"] == name)


def _start(window: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(window["window_start"].replace("Z", "+00:00"))


def test_metrics_drift_and_alerts_match_independent_values(project: Path, engine: str) -> None:
    result, report = _run_and_monitor(project, engine)

    assert result.exit_code == 1, result.output  # the churn accuracy alert is an error
    assert "ALERT accuracy" in result.output
    assert report["metadata"]["command"] == "monitor"
    assert report["window_seconds"] == 86400

    churn = _model(report, "churn")
    assert churn["status"] == "fail"
    expected = churn_metrics(project, timedelta(days=1))
    assert len(churn["windows"]) == len(expected) == 10
    for window in churn["windows"]:
        want = expected[(_start(window), window["model_version"])]
        assert window["count"] == want["count"]
        assert window["labelled"] == want["labelled"]
        for name in ("accuracy", "precision", "recall", "f1", "log_loss", "roc_auc"):
            assert window["metrics"][name] == pytest.approx(want[name], abs=TOLERANCE), name

    for feature, numeric in (("income", True), ("tenure", True), ("segment", False)):
        psi = feature_psi(project, feature, numeric)
        for window in churn["windows"]:
            got = window["feature_drift"][f"customer_request:{feature}"]["psi"]
            assert got == pytest.approx(psi[(_start(window), window["model_version"])], abs=1e-6)
            planted = feature == "income" and _start(window) in PLANTED
            assert (got > 0.2) == planted, (feature, window["window_start"], got)

    alerted = {(a["metric"], a["feature"], a["window_start"][:10]) for a in churn["alerts"]}
    assert alerted == {
        ("accuracy", None, "2024-02-09"),
        ("accuracy", None, "2024-02-10"),
        ("psi", "customer_request:income", "2024-02-09"),
        ("psi", "customer_request:income", "2024-02-10"),
    }

    spend = _model(report, "spend")
    assert spend["status"] == "warn"  # its mae alert has severity warn
    expected_spend = spend_metrics(project)
    for window in spend["windows"]:
        assert window["model_version"] is None
        for name, value in expected_spend[_start(window)].items():
            assert window["metrics"][name] == pytest.approx(value, abs=TOLERANCE), name
        assert window["prediction_drift"]["psi"] >= 0

    run_results = json.loads((project / "target" / "run_results.json").read_text())
    statuses = {r["name"]: r["status"] for r in run_results["results"]}
    assert statuses == {"churn": "fail", "spend": "warn"}
    assert run_results["metadata"]["command"] == "monitor"


def test_labels_arrive_only_after_the_label_delay(project: Path) -> None:
    """Labels come 12h after a prediction: with a 1h delay none is known yet, so no
    performance metric (and no accuracy alert) exists; drift still fires."""
    features = project / "features" / "churn.yml"
    features.write_text(features.read_text().replace("label_delay: 1d", "label_delay: 1h"))
    result, report = _run_and_monitor(project, "local", "--select", "churn")

    churn = _model(report, "churn")
    assert all(w["labelled"] == 0 for w in churn["windows"])
    assert all(w["metrics"]["accuracy"] is None for w in churn["windows"])
    assert {a["metric"] for a in churn["alerts"]} == {"psi"}
    assert result.exit_code == 1


def test_window_since_and_selection(project: Path) -> None:
    # --since far back keeps everything; 2-day windows halve the windows.
    result, report = _run_and_monitor(
        project, "local", "--select", "spend", "--window", "2d", "--since", "10000d"
    )
    assert result.exit_code == 0, result.output  # warn only
    assert [m["model"] for m in report["models"]] == ["spend"]
    assert sum(w["count"] for w in report["models"][0]["windows"]) == 2000
    assert len(report["models"][0]["windows"]) == 5
    # --since 1d: the fixture's predictions are older than that: nothing in any window.
    result = _cli("monitor", "--project-dir", str(project), "--since", "1d")
    report = json.loads((project / "target" / "monitoring.json").read_text())
    assert result.exit_code == 0, result.output
    assert all(m["windows"] == [] and m["status"] == "pass" for m in report["models"])


def test_missing_training_dataset_is_an_error_with_a_hint(project: Path) -> None:
    result = _cli("monitor", "--project-dir", str(project), "--select", "churn")
    assert result.exit_code == 1
    assert "aligned run --select model:churn" in result.output
    report = json.loads((project / "target" / "monitoring.json").read_text())
    assert _model(report, "churn")["status"] == "error"


def test_unknown_keys_are_errors(project: Path) -> None:
    features = project / "features" / "churn.yml"
    text = features.read_text()
    features.write_text(text.replace("label_delay: 1d", "label_delay: 1d\n      bogus: 1"))
    result = _cli("monitor", "--project-dir", str(project))
    assert result.exit_code == 2
    assert "bogus" in result.output

    features.write_text(text.replace("accuracy: {min: 0.8}", "acuracy: {min: 0.8}"))
    result = _cli("monitor", "--project-dir", str(project))
    assert result.exit_code == 2
    assert "acuracy" in result.output


def test_bad_window_is_a_usage_error(project: Path) -> None:
    result = _cli("monitor", "--project-dir", str(project), "--window", "soon")
    assert result.exit_code == 2
    assert "duration" in result.output


MULTICLASS = """
sources:
  - {name: feats, file: data/feats.csv}
  - {name: spine, file: data/spine.csv}
  - {name: preds, file: data/preds.csv}
feature_views:
  - name: f
    source: feats
    entities: [id]
    event_timestamp: ts
    features:
      x: {type: float}
models:
  - name: clf
    features: [f:x]
    target: {column: label, kind: classification}
    spine: spine
    predictions: {source: preds, prediction: pred, event_timestamp: at}
    alerts:
      accuracy: {min: 0.9}
"""


@pytest.mark.parametrize(
    ("classes", "predicted"),
    [(["cat", "dog", "cat"], ["dog", "cat", "cat"]), (["0", "2", "1"], ["2", "0", "1"])],
)
def test_accuracy_compares_the_classes_whatever_their_labels(
    tmp_path: Path, classes: list[str], predicted: list[str]
) -> None:
    """`cat`/`dog` or 0/1/2: accuracy is the share of predictions equal to the label
    (it was 1.0 for all-wrong predictions: every class but true/1 counted as negative)."""
    from sklearn.metrics import accuracy_score

    root = tmp_path / "multi"
    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text(
        "name: multi\nconnections:\n  local: {type: duckdb, path: target/multi.duckdb}\n"
    )
    (root / "features" / "m.yml").write_text(MULTICLASS)
    (root / "data" / "feats.csv").write_text("id,ts,x\n1,2024-01-01,1.0\n2,2024-01-01,2.0\n")
    spine = "".join(f"{i % 2 + 1},2024-01-02,{c}\n" for i, c in enumerate(classes))
    (root / "data" / "spine.csv").write_text("id,event_timestamp,label\n" + spine)
    preds = "".join(
        f"{i % 2 + 1},2024-03-01 1{i}:00:00,{p},{c}\n"
        for i, (p, c) in enumerate(zip(predicted, classes, strict=True))
    )
    (root / "data" / "preds.csv").write_text("id,at,pred,label\n" + preds)
    result, report = _run_and_monitor(root, "local")
    (window,) = _model(report, "clf")["windows"]
    expected = accuracy_score(classes, predicted)
    assert window["metrics"]["accuracy"] == pytest.approx(expected)
    assert result.exit_code == 1  # accuracy 1/3 < 0.9: the alert fires
