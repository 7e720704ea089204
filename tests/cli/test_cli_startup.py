"""`aligned <command>` registers only that command (start-up); the rest still works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from aligned_cli.cli.app import COMMANDS, app, invoked_command

ALIGNED = Path(sys.executable).parent / "aligned"


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["run", "--select", "model:x"], "run"),
        (["--debug", "ls"], "ls"),
        (["--help"], None),
        (["--help", "run"], None),  # the root's help: every command listed
        (["run", "--help"], "run"),
        ([], None),
        (["rn"], "rn"),  # not a command: main() registers them all for click's hint
        (["-h"], None),
        (["compile", "-h"], "compile"),
        (["--log-format", "json", "--project-dir=p", "run"], "run"),  # flags before it
    ],
)
def test_invoked_command(args: list[str], command: str | None) -> None:
    assert invoked_command(args) == command


def test_root_options_are_flags() -> None:
    # `invoked_command` relies on it: a root option taking a value would be mistaken
    # for the command.
    group = typer.main.get_command(app)
    assert all(getattr(p, "is_flag", False) for p in group.params if p.name != "help")


def test_app_has_every_command() -> None:
    group = typer.main.get_command(app)
    assert sorted(group.commands) == sorted(COMMANDS)  # type: ignore[attr-defined]


@pytest.mark.parametrize("args", [["--help"], ["--help", "run"]])
def test_root_help_lists_every_command(args: list[str]) -> None:
    out = subprocess.run([ALIGNED, *args], capture_output=True, text=True, check=True).stdout
    for command in COMMANDS:
        assert f"  {command} " in out


def test_a_command_alone_still_parses_and_typos_get_a_suggestion() -> None:
    run_help = subprocess.run([ALIGNED, "run", "--help"], capture_output=True, text=True)
    assert run_help.returncode == 0 and "--select" in run_help.stdout
    typo = subprocess.run([ALIGNED, "rn"], capture_output=True, text=True)
    assert typo.returncode == 2 and "Did you mean 'run'" in typo.stderr


# `main()` ends the process without the interpreter's teardown (os._exit): exit codes,
# flushed output and exit handlers must be exactly what a normal exit gives.
MAIN_WITH_EXIT_HANDLER = """
import atexit, sys
atexit.register(lambda: print("exit handler ran", file=sys.stderr))
sys.argv = ["aligned", *sys.argv[1:]]
from aligned_cli.cli.app import main
main()
"""


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--version"], 0),
        (["compile"], 0),
        (["ls", "--select", "model:nope", "--output", "json"], 0),
        (["run", "--select", "model:titanic", "--target", "nope"], 2),
        (["compile", "--no-such-flag"], 2),
    ],
)
def test_exit_codes_output_and_exit_handlers(
    args: list[str], code: int, titanic_project: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", MAIN_WITH_EXIT_HANDLER, *args],
        capture_output=True,
        text=True,
        cwd=titanic_project,
    )
    assert done.returncode == code, done.stderr
    assert done.stderr.rstrip().endswith("exit handler ran")


def test_long_piped_output_arrives_whole(titanic_project: Path) -> None:
    import json

    done = subprocess.run(
        [ALIGNED, "ls", "--output", "json", "--project-dir", str(titanic_project)],
        capture_output=True,
        text=True,
        check=True,
    )
    nodes = json.loads(done.stdout)
    assert len(nodes) > 20 and done.stderr == ""


def test_a_failing_test_exits_1(titanic_project: Path) -> None:
    data = titanic_project / "data" / "titanic.csv"
    text = data.read_text()
    assert ',"Braund, Mr. Owen Harris",male,22,' in text
    data.write_text(
        text.replace(',"Braund, Mr. Owen Harris",male,22,', ',"Braund, Mr. Owen Harris",male,222,')
    )
    done = subprocess.run(
        [ALIGNED, "test", "--project-dir", str(titanic_project)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "passenger__age__upper_bound" in done.stdout
