"""A file source says its format by its suffix or by `format:` (SPEC §3.1): an unknown
suffix without `format:` is a located project error, not a file silently read as csv."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

runner = CliRunner()


def _use_file(project: Path, file: str, extra: str = "") -> Path:
    features = project / "features" / "titanic.yml"
    text = features.read_text()
    assert "    file: data/titanic.csv\n" in text
    features.write_text(text.replace("    file: data/titanic.csv\n", f"    file: {file}\n{extra}"))
    return features


def _compile(project: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["compile", "--project-dir", str(project)])
    return result.exit_code, result.output


def test_an_unknown_suffix_is_a_located_project_error(titanic_project: Path) -> None:
    shutil.copy(titanic_project / "data" / "titanic.csv", titanic_project / "data" / "titanic.txt")
    features = _use_file(titanic_project, "data/titanic.txt")
    line = features.read_text().splitlines().index("    file: data/titanic.txt") + 1
    code, output = _compile(titanic_project)
    assert code == 2, output
    assert f"features/titanic.yml:{line}:5:" in output
    assert "data/titanic.txt" in output and "suffix" in output
    assert "format: csv" in output and "format: parquet" in output
    assert "internal error" not in output and "Traceback" not in output


def test_format_makes_any_suffix_readable(titanic_project: Path) -> None:
    shutil.copy(titanic_project / "data" / "titanic.csv", titanic_project / "data" / "titanic.txt")
    _use_file(titanic_project, "data/titanic.txt", "    format: csv\n")
    code, output = _compile(titanic_project)
    assert code == 0, output
    result = runner.invoke(
        app, ["run", "--project-dir", str(titanic_project), "--select", "model:titanic"]
    )
    assert result.exit_code == 0, result.output


def test_a_file_without_a_suffix_needs_format(titanic_project: Path) -> None:
    _use_file(titanic_project, "data/titanic")
    code, output = _compile(titanic_project)
    assert code == 2, output
    assert "format: csv" in output


@pytest.mark.parametrize(
    "file",
    [
        "data/titanic.csv",
        "data/titanic.CSV",
        "data/*.csv",
        "data/titanic.tsv",
        "data/titanic.csv.gz",
        "data/titanic.tsv.zst",
        "data/part-*.parquet",
        "data/titanic.pq",
        "s3://bucket/raw/*.parquet",
        "s3://bucket/raw/titanic.csv",
        "https://example.com/titanic.csv.gz",
    ],
)
def test_known_suffixes_globs_and_urls_still_compile(titanic_project: Path, file: str) -> None:
    _use_file(titanic_project, file)
    code, output = _compile(titanic_project)
    assert code == 0, output
    assert "does not say its format" not in output


@pytest.mark.parametrize("key", ["output", "materialized_source"])
def test_an_output_file_whose_suffix_says_no_format_is_a_located_error(
    titanic_project: Path, key: str
) -> None:
    project = titanic_project
    features = project / "features" / "titanic.yml"
    text = features.read_text()
    if key == "output":
        assert "output: {file: target/datasets/titanic.parquet}" in text
        text = text.replace("titanic.parquet}", "titanic.txt}")
    else:
        text = text.replace(
            "  - name: passenger\n",
            "  - name: passenger\n    materialized_source: {file: target/passenger.dat}\n",
            1,
        )
    features.write_text(text)
    result = runner.invoke(app, ["compile", "--project-dir", str(project)])
    assert result.exit_code == 2, result.output
    assert "features/titanic.yml:" in result.output
    assert "does not say its format" in result.output
    assert "format: parquet|csv" in result.output
