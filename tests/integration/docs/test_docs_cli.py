"""`aligned docs` and `aligned lineage --impact` as a user runs them (no browser)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from aligned_cli.cli.app import app
from aligned_cli.docs.site import embeddable_json

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def embedded(index: Path) -> dict[str, Any]:
    match = re.search(
        r'<script id="aligned-data" type="application/json">(.*?)</script>', index.read_text(), re.S
    )
    assert match is not None
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def test_impact_lists_downstream_models_and_tests_with_paths(titanic_project: Path) -> None:
    out = invoke(
        "lineage",
        "--impact",
        "passenger:age",
        "--project-dir",
        str(titanic_project),
        "--output",
        "json",
    )
    found = json.loads(out)
    assert found["unique_id"] == "feature.titanic.passenger.age"
    assert found["models"] == [
        {
            "unique_id": "model.titanic.titanic",
            "name": "titanic",
            "path": [
                "feature.titanic.passenger.age",
                "feature.titanic.passenger.constant_filled_age",
                "model.titanic.titanic",
            ],
        }
    ]
    assert [t["name"] for t in found["tests"]] == [
        "passenger__age__lower_bound",
        "passenger__age__upper_bound",
    ]
    text = invoke("lineage", "--impact", "passenger:age", "--project-dir", str(titanic_project))
    assert "affects 1 model(s) and 2 test(s)" in text
    assert "feature:passenger:constant_filled_age -> model:titanic" in " ".join(text.split())


def test_impact_of_a_source_reaches_every_test_and_the_model(titanic_project: Path) -> None:
    out = invoke(
        "lineage",
        "--impact",
        "source:titanic_csv",
        "--output",
        "json",
        "--project-dir",
        str(titanic_project),
    )
    found = json.loads(out)
    assert [m["name"] for m in found["models"]] == ["titanic"]
    assert len(found["tests"]) == 8  # 7 constraint tests + the view's unique test
    assert all(t["path"][0] == "source.titanic.titanic_csv" for t in found["tests"])


def test_impact_of_an_unknown_node_is_a_usage_error(titanic_project: Path) -> None:
    result = runner.invoke(
        app, ["lineage", "--impact", "nope", "--project-dir", str(titanic_project)]
    )
    assert result.exit_code == 2
    assert "no node named 'nope'" in result.output


def test_docs_writes_an_offline_site_with_the_manifest_embedded(titanic_project: Path) -> None:
    invoke("docs", "--project-dir", str(titanic_project))
    site = titanic_project / "target" / "docs"
    assets = {"index.html", "app.js", "monitoring.js", "style.css"}
    assert {p.name for p in site.iterdir()} == assets
    page = (site / "index.html").read_text()
    # Offline: nothing is loaded from another host.
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "https://" not in (site / "app.js").read_text()
    assert "https://" not in (site / "monitoring.js").read_text()
    data = embedded(site / "index.html")
    assert data["manifest"]["metadata"]["project_name"] == "titanic"
    assert data["run_results"] is None and data["freshness"] is None
    assert data["monitoring"] is None  # no `aligned monitor` yet: no Monitoring view
    kinds = {n["kind"] for n in data["graph"]["nodes"]}
    assert kinds == {"source", "view", "model"}  # features are expanded on focus
    assert ["view.titanic.passenger", "model.titanic.titanic"] in data["graph"]["edges"]
    assert (titanic_project / "target" / "manifest.json").exists()


def test_docs_embeds_the_last_run_results(titanic_project: Path) -> None:
    invoke("run", "--project-dir", str(titanic_project))
    invoke("docs", "--project-dir", str(titanic_project))
    data = embedded(titanic_project / "target" / "docs" / "index.html")
    statuses = {r["unique_id"]: r["status"] for r in data["run_results"]["results"]}
    assert statuses["model.titanic.titanic"] == "success"


def test_docs_embeds_the_monitoring_report(monitoring_project: Path) -> None:
    invoke("run", "--project-dir", str(monitoring_project))
    monitored = runner.invoke(app, ["monitor", "--project-dir", str(monitoring_project)])
    assert monitored.exit_code == 1, monitored.output  # the planted accuracy alert is an error
    invoke("docs", "--project-dir", str(monitoring_project))
    site = monitoring_project / "target" / "docs"
    page = (site / "index.html").read_text()
    assert page.index('src="monitoring.js"') < page.index('src="app.js"')
    report = embedded(site / "index.html")["monitoring"]
    assert [m["model"] for m in report["models"]] == ["churn", "spend"]
    assert len(report["models"][0]["windows"]) == 10


def test_embedded_json_cannot_close_the_script_element() -> None:
    text = embeddable_json({"description": "</script><script>alert(1)</script>"})
    assert "</" not in text
    assert json.loads(text) == {"description": "</script><script>alert(1)</script>"}


def test_layout_places_every_layer_left_to_right(titanic_project: Path) -> None:
    invoke("docs", "--project-dir", str(titanic_project))
    data = embedded(titanic_project / "target" / "docs" / "index.html")
    x = {n["id"]: n["x"] for n in data["graph"]["nodes"]}
    assert (
        x["source.titanic.titanic_csv"] < x["view.titanic.passenger"] < x["model.titanic.titanic"]
    )
