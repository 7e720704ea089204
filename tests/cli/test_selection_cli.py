"""Selection on the command line: several values per option, blank and malformed
selectors, and what `ls` prints for an empty selection (SPEC §5)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

ALIGNED = str(Path(sys.executable).parent / "aligned")
EXPECTED = ["model.titanic.titanic", "view.titanic.passenger"]


def _ls(project: Path, *args: str) -> list[str]:
    result = CliRunner().invoke(
        app, ["ls", "--project-dir", str(project), "--output", "json", *args]
    )
    assert result.exit_code == 0, result.output
    return [row["unique_id"] for row in json.loads(result.output)]


@pytest.mark.parametrize(
    "args",
    [
        ["--select", "passenger", "titanic", "--exclude", "test:*", "feature:*"],
        ["--select", "passenger titanic", "--exclude", "test:* feature:*"],
        ["-s", "passenger", "-s", "titanic", "--exclude", "test:*", "--exclude", "feature:*"],
        ["--select=passenger", "titanic", "--exclude=test:*", "feature:*"],
    ],
)
def test_several_values_after_one_option_mean_a_union(
    titanic_project: Path, args: list[str]
) -> None:
    assert _ls(titanic_project, *args) == EXPECTED


def test_several_values_after_one_option_from_a_shell(titanic_project: Path) -> None:
    command = [ALIGNED, "ls", "--select", "passenger", "titanic", "--exclude", "test:*"]
    command += ["feature:*", "--output", "json"]
    done = subprocess.run(command, cwd=titanic_project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [row["unique_id"] for row in json.loads(done.stdout)] == EXPECTED


def test_several_values_work_for_run_too(titanic_project: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["run", "--project-dir", str(titanic_project), "--select", "passenger", "titanic"],
    )
    assert result.exit_code == 0, result.output
    assert "unexpected extra argument" not in result.output


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("", "empty selector"),
        (" ", "empty selector"),
        (",", "empty term around a comma"),
        ("passenger,,titanic", "empty term around a comma"),
        ("+", "is not a selector"),
        ("1+", "is not a selector"),
        ("model:", "names no value"),
        ("@@passenger", "is not a selector"),
    ],
)
@pytest.mark.parametrize("option", ["--select", "--exclude"])
def test_blank_or_malformed_selectors_are_usage_errors(
    titanic_project: Path, selector: str, message: str, option: str
) -> None:
    result = CliRunner().invoke(
        app, ["ls", "--project-dir", str(titanic_project), option, selector]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "hint:" in result.output


@pytest.mark.parametrize("output", ["text", "json"])
def test_ls_prints_an_empty_list_for_an_empty_selection(titanic_project: Path, output: str) -> None:
    command = [ALIGNED, "ls", "--select", "tag:nothing_*", "--output", output]
    done = subprocess.run(command, cwd=titanic_project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    if output == "text":
        assert "nothing selected" in done.stderr


def test_lineage_rejects_a_negative_depth(titanic_project: Path) -> None:
    result = CliRunner().invoke(
        app, ["lineage", "passenger", "--depth", "-1", "--project-dir", str(titanic_project)]
    )
    assert result.exit_code == 2, result.output
    assert "--depth" in result.output
