"""Every broken project in fixtures/broken/ fails `aligned compile` with exit 2 and one
readable, located message (the lines of its expected.txt), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

BROKEN = Path(__file__).resolve().parents[2] / "fixtures" / "broken"
CASES = sorted(p.name for p in BROKEN.iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES)
def test_broken_project_gives_a_located_error(case: str) -> None:
    folder = BROKEN / case
    expected = [line for line in (folder / "expected.txt").read_text().splitlines() if line]
    result = CliRunner().invoke(app, ["compile", "--project-dir", str(folder)])
    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    assert "internal error" not in output
    for fragment in expected:
        assert fragment in output, f"{fragment!r} missing from:\n{output}"
    assert not (folder / "target").exists() or case == "not_a_project"
