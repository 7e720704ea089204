"""The compile cache: a second compile reuses the first only while nothing it read
changed (project files, env vars, --vars, data file headers); never a stale result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aligned_cli.cli.app import app

runner = CliRunner()
CACHE = Path("target") / ".aligned_cache" / "compiled.pickle"


def _compile(project: Path, *extra: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["compile", "--project-dir", str(project), *extra])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads((project / "target" / "manifest.json").read_text())
    return data


def _description(manifest: dict[str, object]) -> object:
    return manifest["models"]["titanic"]["description"]  # type: ignore[index]


def test_cache_is_written_and_reused(titanic_project: Path) -> None:
    first = _compile(titanic_project)
    assert (titanic_project / CACHE).is_file()
    second = _compile(titanic_project)
    assert first["metadata"]["invocation_id"] != second["metadata"]["invocation_id"]  # type: ignore[index]
    first.pop("metadata")
    second.pop("metadata")
    assert first == second


def test_a_changed_yaml_file_is_seen(titanic_project: Path) -> None:
    _compile(titanic_project)
    features = titanic_project / "features" / "titanic.yml"
    features.write_text(features.read_text().replace("Predicts survival", "Edited"))
    assert _description(_compile(titanic_project)) == "Edited"


def test_env_vars_and_cli_vars_are_seen(
    titanic_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    features = titanic_project / "features" / "titanic.yml"
    features.write_text(
        features.read_text().replace(
            "description: Predicts survival",
            "description: \"{{ env_var('ALIGNED_TEST_DESC', 'none') }} {{ var('x', '-') }}\"",
        )
    )
    assert _description(_compile(titanic_project)) == "none -"
    monkeypatch.setenv("ALIGNED_TEST_DESC", "from env")
    assert _description(_compile(titanic_project)) == "from env -"
    assert _description(_compile(titanic_project, "--vars", "{x: y}")) == "from env y"


def test_a_changed_data_file_header_is_seen(titanic_project: Path) -> None:
    manifest = _compile(titanic_project)
    columns = manifest["sources"]["titanic_csv"]["columns"]  # type: ignore[index]
    assert "Ticket" in columns
    data = titanic_project / "data" / "titanic.csv"
    data.write_text(data.read_text().replace("Ticket", "TicketNo", 1))
    manifest = _compile(titanic_project)
    assert "TicketNo" in manifest["sources"]["titanic_csv"]["columns"]  # type: ignore[index]


def test_corrupt_or_disabled_cache_means_a_full_compile(
    titanic_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _compile(titanic_project)
    (titanic_project / CACHE).write_bytes(b"not a pickle")
    assert _description(_compile(titanic_project)) == "Predicts survival"
    monkeypatch.setenv("ALIGNED_NO_CACHE", "1")
    features = titanic_project / "features" / "titanic.yml"
    features.write_text(features.read_text().replace("Predicts survival", "No cache"))
    assert _description(_compile(titanic_project)) == "No cache"


def test_errors_are_never_cached(titanic_project: Path) -> None:
    _compile(titanic_project)
    features = titanic_project / "features" / "titanic.yml"
    good = features.read_text()
    features.write_text(good.replace("source: titanic_csv\n", "source: nope\n"))
    result = CliRunner().invoke(app, ["compile", "--project-dir", str(titanic_project)])
    assert result.exit_code == 2 and "nope" in result.output
    features.write_text(good)
    _compile(titanic_project)


@pytest.mark.parametrize(
    "text",
    [
        "name: x\n",
        "name: x\ntarget-path: out\n",
        "target-path: out/sub_dir-1   # a comment\n",
        "target-path: 'quoted out'\n",
        "target-path: \"{{ env_var('T') }}\"\n",
        "a:\n  target-path: nested\ntarget-path: top\n",
        "a: {b: 1,\n    target-path: nested}\n",
        "target-path: >\n  folded\n",
    ],
)
def test_the_cache_location_reads_target_path_as_yaml_does(text: str, tmp_path: Path) -> None:
    """Where the cache lives comes from `target-path`, read without YAML when it is on a
    plain line of its own; the answer must be what YAML says."""
    import yaml

    from aligned_cli.parse.project_file import project_target_path

    (tmp_path / "aligned_project.yml").write_text(text)
    value = yaml.safe_load(text).get("target-path")
    expected = value if isinstance(value, str) and "{" not in value else "target"
    assert project_target_path(tmp_path) == expected


def test_a_project_with_another_target_path_reuses_its_cache(titanic_project: Path) -> None:
    project_file = titanic_project / "aligned_project.yml"
    text = project_file.read_text()
    assert "target-path: target\n" in text
    project_file.write_text(text.replace("target-path: target\n", "target-path: build/out\n"))

    def compile_once() -> int:
        result = runner.invoke(app, ["compile", "--project-dir", str(titanic_project)])
        assert result.exit_code == 0, result.output
        return cache.stat().st_mtime_ns

    cache = titanic_project / "build" / "out" / ".aligned_cache" / "compiled.pickle"
    written = compile_once()
    assert compile_once() == written  # reused, not written again
    assert (titanic_project / "build" / "out" / "manifest.json").is_file()
    assert not (titanic_project / "target").exists()
