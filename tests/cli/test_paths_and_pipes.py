"""Files aligned writes are readable by others, unusable paths are clear errors, and a
closed pipe ends the command quietly (SPEC §7, §9)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

ALIGNED = str(Path(sys.executable).parent / "aligned")


@pytest.fixture()
def umask_022() -> Iterator[None]:
    from aligned_cli.artifacts.writer import current_umask

    previous = os.umask(0o022)
    current_umask.cache_clear()
    try:
        yield
    finally:
        os.umask(previous)
        current_umask.cache_clear()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_artifacts_follow_the_umask_not_0600(titanic_project: Path, umask_022: None) -> None:
    published = titanic_project.parent / "published" / "manifest.json"
    for args in (["compile"], ["apply", "--to", str(published)]):
        result = CliRunner().invoke(app, [*args, "--project-dir", str(titanic_project)])
        assert result.exit_code == 0, result.output
    assert _mode(titanic_project / "target" / "manifest.json") == 0o644
    assert _mode(published) == 0o644


@pytest.mark.parametrize(
    "args",
    [
        ["compile", "--target-path", "/proc/aligned_x", "--project-dir", "{project}"],
        ["apply", "--to", "/proc/aligned_x/manifest.json", "--project-dir", "{project}"],
        ["init", "/proc/aligned_x"],
    ],
)
def test_unusable_paths_are_clear_errors(titanic_project: Path, args: list[str]) -> None:
    args = [arg.format(project=titanic_project) for arg in args]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "/proc/aligned_x" in result.output
    assert "internal error" not in result.output


def test_feature_path_outside_the_project_is_a_project_error(titanic_project: Path) -> None:
    project_file = titanic_project / "aligned_project.yml"
    text = project_file.read_text().replace("[features]", "[../../../etc]")
    project_file.write_text(text)
    result = CliRunner().invoke(app, ["compile", "--project-dir", str(titanic_project)])
    assert result.exit_code == 2, result.output
    assert "aligned_project.yml:2" in result.output
    assert "outside the project folder" in result.output
    assert "internal error" not in result.output


@pytest.mark.parametrize("root", ['"."', '""', "./"])
def test_the_project_root_as_feature_path_skips_the_project_file_and_target(
    titanic_project: Path, root: str
) -> None:
    project_file = titanic_project / "aligned_project.yml"
    project_file.write_text(project_file.read_text().replace("[features]", f"[{root}]"))
    (titanic_project / "target").mkdir(exist_ok=True)
    (titanic_project / "target" / "stray.yml").write_text("not: [a, feature, file\n")
    for _ in range(2):  # the second compile finds its own artifacts in target/
        result = CliRunner().invoke(app, ["compile", "--project-dir", str(titanic_project)])
        assert result.exit_code == 0, result.output
    listed = CliRunner().invoke(app, ["ls", "--project-dir", str(titanic_project)])
    assert "passenger" in listed.output


def test_a_closed_pipe_ends_ls_quietly(titanic_project: Path) -> None:
    reader, writer = os.pipe()
    os.close(reader)  # like `| head -0`: nobody reads
    with os.fdopen(writer, "w") as closed:
        done = subprocess.run(
            [ALIGNED, "ls"], cwd=titanic_project, stdout=closed, stderr=subprocess.PIPE, text=True
        )
    assert done.returncode == 141
    assert done.stderr == ""


def test_head_reads_the_first_lines_and_nothing_complains(titanic_project: Path) -> None:
    done = subprocess.run(
        f"'{ALIGNED}' ls | head -3",
        shell=True,
        cwd=titanic_project,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 3
    assert done.stderr == ""


def test_materialize_rejects_a_start_after_the_end(titanic_project: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "materialize",
            "--start",
            "2026-01-01",
            "--end",
            "2025-01-01",
            "--project-dir",
            str(titanic_project),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "--start 2026-01-01 is after --end 2025-01-01" in result.output
