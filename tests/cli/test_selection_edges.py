"""Selection as users write it: SPEC §5's `path:` example, globs over every name,
unique ids, `--exclude` taking a node's tests along, and `state:modified` against the
target folder that `run` itself writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from aligned_cli.cli.app import app

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
runner = CliRunner()


def _ls(project: Path, *args: str) -> list[str]:
    result = runner.invoke(app, ["ls", "--project-dir", str(project), "--output", "json", *args])
    assert result.exit_code == 0, result.output
    return [node["unique_id"] for node in json.loads(result.stdout)]


def test_path_without_the_files_suffix_as_spec_writes_it(titanic_project: Path) -> None:
    by_stem = _ls(titanic_project, "--select", "path:features/titanic")
    assert by_stem and by_stem == _ls(titanic_project, "--select", "path:features/titanic.yml")
    assert by_stem == _ls(titanic_project, "--select", "path:features/*.yml")
    assert _ls(titanic_project, "--select", "path:features/nothing*") == []


def test_a_bare_glob_matches_every_kind_features_included(titanic_project: Path) -> None:
    everything = _ls(titanic_project, "--select", "*")
    assert "feature.titanic.passenger.age" in everything
    assert len(everything) == len(_ls(titanic_project))
    ages = _ls(titanic_project, "--select", "*age*")
    assert "feature.titanic.passenger.age" in ages


def test_a_unique_id_selects_its_node(titanic_project: Path) -> None:
    assert _ls(titanic_project, "--select", "feature.titanic.passenger.age") == [
        "feature.titanic.passenger.age"
    ]


def test_excluding_a_view_leaves_out_its_tests(tmp_path: Path) -> None:
    project = tmp_path / "quality"
    shutil.copytree(FIXTURES / "quality", project, ignore=shutil.ignore_patterns("target"))
    result = runner.invoke(
        app, ["test", "--project-dir", str(project), "--exclude", "view:drivers"]
    )
    ran = {
        r["name"]
        for r in json.loads((project / "target" / "run_results.json").read_text())["results"]
    }
    # Every test of the view and of its features goes; trips' own tests stay (the
    # relationships test belongs to trips' feature, whatever it reads).
    assert ran == {"trips__unique", "trips__driver_id__relationships"}, ran
    assert result.exit_code in (0, 1)


def test_run_state_modified_against_its_own_target_folder(titanic_project: Path) -> None:
    assert runner.invoke(app, ["run", "--project-dir", str(titanic_project)]).exit_code == 0
    features = titanic_project / "features" / "titanic.yml"
    features.write_text(features.read_text().replace("upper_bound: 110", "upper_bound: 120"))
    target = str(titanic_project / "target")
    args = ["--project-dir", str(titanic_project), "--select", "state:modified", "--state", target]
    result = runner.invoke(app, ["run", *args])
    assert result.exit_code == 0, result.output
    ran = [
        r["name"]
        for r in json.loads((titanic_project / "target" / "run_results.json").read_text())[
            "results"
        ]
    ]
    assert ran == ["passenger__age__upper_bound"], ran


def test_a_bare_feature_name_suggests_its_view_feature_name(titanic_project: Path) -> None:
    result = runner.invoke(app, ["ls", "--project-dir", str(titanic_project), "--select", "age"])
    assert result.exit_code == 0
    assert "did you mean 'passenger:age'?" in result.output
