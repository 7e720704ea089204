"""`aligned apply --to` a folder (existing, or written with a trailing '/') writes
manifest.json inside it, which the runtime API then loads; errors name the user's
path, never the temp file of the atomic write (SPEC §5, §7, §8)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from aligned_cli.cli.app import app

runner = CliRunner()


def _apply(project: Path, to: str) -> str:
    result = runner.invoke(app, ["apply", "--project-dir", str(project), "--to", to])
    assert result.exit_code == 0, result.output
    return result.output


def test_apply_to_a_new_folder_with_a_trailing_slash(titanic_project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "published"
    output = _apply(titanic_project, f"{folder}/")
    assert folder.is_dir()
    written = folder / "manifest.json"
    assert json.loads(written.read_text())["metadata"]["project_name"] == "titanic"
    assert str(written) in output
    assert [p.name for p in folder.iterdir()] == ["manifest.json"]  # no temp file left


def test_apply_to_an_existing_folder(titanic_project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "existing"
    folder.mkdir()
    output = _apply(titanic_project, str(folder))
    written = folder / "manifest.json"
    assert json.loads(written.read_text())["metadata"]["project_name"] == "titanic"
    assert str(written) in output
    assert ".tmp" not in output


def test_apply_to_a_file_path_is_unchanged(titanic_project: Path, tmp_path: Path) -> None:
    destination = tmp_path / "out" / "production.json"
    _apply(titanic_project, str(destination))
    assert json.loads(destination.read_text())["metadata"]["project_name"] == "titanic"


def test_a_definition_applied_to_a_folder_loads_in_the_runtime_api(
    titanic_project: Path, tmp_path: Path
) -> None:
    from aligned_cli.api import FeatureStore  # type: ignore[attr-defined,unused-ignore]

    folder = tmp_path / "deploy"
    _apply(titanic_project, f"{folder}/")
    for where in (folder / "manifest.json", folder):  # the file, or the folder holding it
        store = FeatureStore.from_manifest(where)
        frame = store.feature_view("passenger").all(limit=5).to_pandas_sync()
        assert len(frame) == 5


def test_an_unwritable_destination_names_the_users_path(
    titanic_project: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    to = str(blocker / "manifest.json")
    result = runner.invoke(app, ["apply", "--project-dir", str(titanic_project), "--to", to])
    assert result.exit_code == 2, result.output
    assert to in result.output
    assert ".tmp" not in result.output
    assert "internal error" not in result.output and "Traceback" not in result.output


def test_apply_help_says_what_a_folder_gets() -> None:
    result = runner.invoke(app, ["apply", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "manifest.json inside it" in " ".join(result.output.split())
