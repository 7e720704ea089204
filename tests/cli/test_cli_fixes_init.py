"""`aligned init .` creates the project in the current (empty) folder, named after it;
`aligned init` takes `--log-format` like every other command (SPEC §2, §5, §9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _audit import run_aligned
from typer.testing import CliRunner

from aligned_cli.cli.app import app

runner = CliRunner()


def _project_name(folder: Path) -> str:
    import yaml

    return str(yaml.safe_load((folder / "aligned_project.yml").read_text())["name"])


def test_init_dot_in_an_empty_folder_names_the_project_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "churn_features"
    here.mkdir()
    monkeypatch.chdir(here)
    result = runner.invoke(app, ["init", "."])
    assert result.exit_code == 0, result.output
    assert "churn_features" in result.output
    assert (here / "aligned_project.yml").is_file()
    assert (here / "features").is_dir() and (here / "data").is_dir()
    assert _project_name(here) == "churn_features"


def test_init_dot_is_the_same_project_as_init_name(tmp_path: Path) -> None:
    named = tmp_path / "a"
    named.mkdir()
    assert run_aligned("init", "demo", cwd=named).returncode == 0
    dotted = tmp_path / "b" / "demo"
    dotted.mkdir(parents=True)
    created = run_aligned("init", ".", cwd=dotted)
    assert created.returncode == 0, created.stdout + created.stderr
    assert (named / "demo" / "aligned_project.yml").read_text() == (
        dotted / "aligned_project.yml"
    ).read_text()
    compiled = run_aligned("compile", cwd=dotted)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    manifest = json.loads((dotted / "target" / "manifest.json").read_text())
    assert manifest["metadata"]["project_name"] == "demo"


def test_init_dot_in_a_non_empty_folder_needs_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "mine"
    here.mkdir()
    (here / "keep.txt").write_text("mine")
    monkeypatch.chdir(here)
    refused = runner.invoke(app, ["init", "."])
    assert refused.exit_code == 2, refused.output
    assert "not empty" in refused.output and "--force" in refused.output
    assert not (here / "aligned_project.yml").exists()
    forced = runner.invoke(app, ["init", ".", "--force"])
    assert forced.exit_code == 0, forced.output
    assert _project_name(here) == "mine"
    assert (here / "keep.txt").read_text() == "mine"


def test_init_dot_in_a_folder_with_an_invalid_name_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "my-project"
    here.mkdir()
    monkeypatch.chdir(here)
    result = runner.invoke(app, ["init", "."])
    assert result.exit_code == 2, result.output
    assert "'my-project'" in result.output
    assert "pass a NAME" in result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert list(here.iterdir()) == []


def test_init_accepts_log_format_json(tmp_path: Path) -> None:
    result = run_aligned("init", "demo", "--log-format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert records and all(r["level"] == "info" for r in records)
    assert records[0]["project"] == "demo"
    assert (tmp_path / "demo" / "aligned_project.yml").is_file()


def test_init_errors_follow_log_format_json(tmp_path: Path) -> None:
    assert run_aligned("init", "demo", cwd=tmp_path).returncode == 0
    again = run_aligned("init", "demo", "--log-format", "json", cwd=tmp_path)
    assert again.returncode == 2
    record = json.loads(again.stdout.strip().splitlines()[-1])
    assert record["level"] == "error" and "not empty" in record["msg"]


def test_init_rejects_an_unknown_log_format(tmp_path: Path) -> None:
    result = run_aligned("init", "demo", "--log-format", "xml", cwd=tmp_path)
    assert result.returncode == 2
    assert "--log-format" in result.stdout + result.stderr
    assert not (tmp_path / "demo").exists()


def test_init_help_lists_log_format() -> None:
    result = run_aligned("init", "--help", env={"COLUMNS": "200"})
    assert result.returncode == 0
    assert "--log-format" in result.stdout
