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
