"""`aligned run` safety: build -> test -> swap, interruption, the run lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

ALIGNED = str(Path(sys.executable).parent / "aligned")


def _write_project(root: Path, rows: str, extra_view: str = "") -> Path:
    (root / "features").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "aligned_project.yml").write_text(
        "name: safety\nconnections:\n  local: {type: duckdb, path: target/safety.duckdb}\n"
    )
    (root / "data" / "drivers.csv").write_text("driver_id,rating\n" + rows)
    (root / "features" / "f.yml").write_text(
        f"""sources:
  - name: drivers_csv
    file: data/drivers.csv
feature_views:
  - name: drivers
    source: drivers_csv
    entities: [driver_id]
    materialized_source: {{file: target/materialized/drivers.parquet}}
    features:
      driver_id: {{type: int64}}
      rating: {{type: float, upper_bound: 5}}
{extra_view}
models:
  - name: ratings
    features: [drivers:rating]
    spine: drivers_csv
"""
    )
    return root


def _results(project: Path) -> dict[str, dict[str, object]]:
    data = json.loads((project / "target" / "run_results.json").read_text())
    return {r["name"]: r for r in data["results"]}


def test_failing_tests_keep_the_old_materialization(tmp_path: Path) -> None:
    project = _write_project(tmp_path / "p", "1,4.0\n2,3.5\n")
    result = CliRunner().invoke(app, ["run", "--project-dir", str(project)])
    assert result.exit_code == 0, result.output
    materialized = project / "target" / "materialized" / "drivers.parquet"
    assert duckdb.sql(f"select count(*) from '{materialized}'").fetchall() == [(2,)]
    assert _results(project)["drivers"]["rows_affected"] == 2

    _write_project(project, "1,4.0\n2,3.5\n3,9.9\n1,1.0\n")  # out of bounds + duplicate key
    result = CliRunner().invoke(app, ["run", "--project-dir", str(project)])
    assert result.exit_code == 1
    results = _results(project)
    assert results["drivers"]["status"] == "fail"
    assert "drivers__unique" in str(results["drivers"]["message"])
    assert results["drivers__unique"]["failures"] == 1
    assert results["drivers__rating__upper_bound"]["failures"] == 1
    assert results["ratings"]["status"] == "skipped"
    assert duckdb.sql(f"select count(*) from '{materialized}'").fetchall() == [(2,)]
    assert [p.name for p in materialized.parent.iterdir()] == ["drivers.parquet"]


_SLOW_VIEW = """  - name: slow
    source: slow_numbers
    entities: [k]
    features:
      k: {type: int64}
"""


def _slow_project(root: Path) -> Path:
    project = _write_project(root, "1,4.0\n", extra_view=_SLOW_VIEW)
    features = project / "features" / "f.yml"
    features.write_text(
        features.read_text().replace(
            "sources:\n",
            # Minutes of work that DuckDB checks for interrupts as it goes.
            'sources:\n  - name: slow_numbers\n    query: "select range as k from '
            'range(20000000000) where hash(range) % 1000003 = 7"\n',
        )
        + "  - name: slow_model\n    features: [slow:k]\n    spine: slow_numbers\n",
    )
    return project


def _start_slow_run(project: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [ALIGNED, "run", "--project-dir", str(project), "--select", "model:slow_model"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        # A child of a background job inherits SIGINT ignored; the test needs Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    for line in process.stdout:  # wait until the slow model's query has started
        if "START model slow_model" in line:
            break
    time.sleep(0.5)
    return process


@pytest.mark.parametrize(
    ("stop", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143)],  # Ctrl-C; a cancelled CI job or `timeout`
)
def test_interrupted_run_writes_results_and_keeps_outputs(
    tmp_path: Path, stop: signal.Signals, code: int
) -> None:
    project = _slow_project(tmp_path / "p")
    first = CliRunner().invoke(app, ["run", "--project-dir", str(project), "--select", "drivers+"])
    assert first.exit_code == 0, first.output
    dataset = project / "target" / "datasets" / "ratings.parquet"
    before = dataset.read_bytes()

    process = _start_slow_run(project)
    process.send_signal(stop)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == code, output
    assert "Traceback" not in output
    results = json.loads((project / "target" / "run_results.json").read_text())
    assert results["interrupted"] is True, output
    statuses = {r["name"]: r["status"] for r in results["results"]}
    assert statuses["slow_model"] == "skipped"
    assert dataset.read_bytes() == before
    assert not any("__aligned_tmp" in p.name for p in (project / "target").rglob("*"))


def test_second_run_fails_fast_on_the_lock(tmp_path: Path) -> None:
    project = _slow_project(tmp_path / "p")
    process = _start_slow_run(project)
    try:
        started = time.time()
        second = subprocess.run(
            [ALIGNED, "run", "--project-dir", str(project), "--select", "model:ratings"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert time.time() - started < 20
        assert second.returncode == 1
        assert "another `aligned run`" in second.stdout + second.stderr
        assert "Traceback" not in second.stdout + second.stderr
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)


def test_run_emits_openlineage_events_to_a_file(titanic_project: Path) -> None:
    events_file = titanic_project / "lineage.jsonl"
    args = ["run", "--project-dir", str(titanic_project), "--openlineage-file", str(events_file)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    kinds = {(e["eventType"], e["job"]["name"].split(".")[-1]) for e in events}
    assert ("START", "titanic") in kinds and ("COMPLETE", "titanic") in kinds
    model_complete = next(
        e
        for e in events
        if e["eventType"] == "COMPLETE"
        and e["job"]["name"].endswith("titanic")
        and e.get("outputs")
    )
    assert model_complete["outputs"][0]["name"].endswith("titanic.parquet")
