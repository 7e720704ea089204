"""A test that cannot run (status `error`) says where it is declared, as a project
error would: a custom SQL test naming an unknown column, say."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from aligned_cli.cli.app import app

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_a_test_that_cannot_run_names_its_declaration(tmp_path: Path) -> None:
    project = tmp_path / "quality"
    shutil.copytree(FIXTURES / "quality", project, ignore=shutil.ignore_patterns("target"))
    features = project / "features" / "quality.yml"
    text = features.read_text()
    assert "where rating = 0" in text
    features.write_text(text.replace("where rating = 0", "where ratingz = 0"))
    result = CliRunner().invoke(app, ["test", "--project-dir", str(project)])
    assert result.exit_code == 1
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    broken = next(r for r in results if r["name"] == "drivers_no_zero_rating")
    assert broken["status"] == "error"
    assert broken["message"].startswith("features/quality.yml:"), broken["message"]
    assert "ratingz" in broken["message"]
