"""`aligned init`, `compile`, `ls`, `lineage`, `apply` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from aligned_cli.artifacts.manifest import manifest_json_schema, shipped_schema
from aligned_cli.cli.app import app

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_init_creates_a_project_that_compiles_and_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    invoke("init", "demo")
    assert (tmp_path / "demo" / "aligned_project.yml").read_text().startswith("#")
    layout = {p.name for p in (tmp_path / "demo").iterdir() if p.is_dir()}
    assert layout == {"features", "data", "target"}  # SPEC §2
    invoke("compile", "--project-dir", "demo")
    manifest = json.loads((tmp_path / "demo" / "target" / "manifest.json").read_text())
    assert manifest["metadata"]["project_name"] == "demo"
    result = runner.invoke(app, ["run", "--project-dir", "demo", "--select", "model:titanic"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo" / "target" / "datasets" / "titanic.parquet").exists()


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["init", str(tmp_path / "demo")])
    assert result.exit_code == 2
    assert "not empty" in result.output and "--force" in result.output
    assert (tmp_path / "demo" / "keep.txt").read_text() == "mine"


def test_compile_writes_manifest_and_sql_per_dialect(titanic_project: Path) -> None:
    invoke("compile", "--project-dir", str(titanic_project))
    target = titanic_project / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    jsonschema.validate(manifest, shipped_schema())
    node = manifest["nodes"]["model.titanic.titanic"]
    assert set(node["compiled_sql"]) == {"duckdb", "postgres"}
    assert node["file"] == "features/titanic.yml" and node["line"] > 0
    assert "feature.titanic.passenger.is_male" in node["depends_on"]
    assert manifest["feature_lineage"]["feature.titanic.passenger.is_male"] == [
        "source.titanic.titanic_csv.Sex"
    ]
    assert "test.titanic.passenger__age__upper_bound" in manifest["nodes"]
    for dialect in ("duckdb", "postgres"):
        assert (target / "compiled" / dialect / "model.titanic.titanic.sql").is_file()


def test_shipped_manifest_schema_is_current() -> None:
    assert shipped_schema() == manifest_json_schema()


def test_compile_is_deterministic(titanic_project: Path) -> None:
    def snapshot() -> dict[str, Any]:
        invoke("compile", "--project-dir", str(titanic_project))
        data: dict[str, Any] = json.loads(
            (titanic_project / "target" / "manifest.json").read_text()
        )
        data["metadata"].pop("generated_at")
        data["metadata"].pop("invocation_id")
        return data

    assert snapshot() == snapshot()


def test_cached_compile_writes_the_manifest_a_full_serialization_gives(
    titanic_project: Path,
) -> None:
    """A warm compile splices fresh metadata into the cached body's JSON; the file must
    be byte for byte what serializing the whole manifest gives, and JSON-equal to the
    cold compile's but for the metadata."""
    from aligned_cli.artifacts.manifest import parse_manifest

    path = titanic_project / "target" / "manifest.json"
    invoke("compile", "--project-dir", str(titanic_project))
    cold = path.read_text()
    invoke("compile", "--project-dir", str(titanic_project))  # from the compile cache
    warm = path.read_text()
    assert warm == parse_manifest(warm, str(path)).model_dump_json(indent=2) + "\n"
    cold_data, warm_data = json.loads(cold), json.loads(warm)
    assert cold_data["metadata"]["invocation_id"] != warm_data["metadata"]["invocation_id"]
    for data in (cold_data, warm_data):
        del data["metadata"]["invocation_id"], data["metadata"]["generated_at"]
    assert cold_data == warm_data


def test_compile_single_dialect(titanic_project: Path) -> None:
    invoke("compile", "--project-dir", str(titanic_project), "--dialect", "postgres")
    manifest = json.loads((titanic_project / "target" / "manifest.json").read_text())
    assert set(manifest["nodes"]["view.titanic.passenger"]["compiled_sql"]) == {"postgres"}


def test_unknown_dialect_is_a_usage_error(titanic_project: Path) -> None:
    result = runner.invoke(
        app, ["compile", "--project-dir", str(titanic_project), "--dialect", "oracle"]
    )
    assert result.exit_code == 2
    assert "oracle" in result.output and "duckdb" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--select", "model:titanic"], ["model.titanic.titanic"]),
        (
            ["--select", "source:titanic_csv", "--select", "model:titanic"],
            ["model.titanic.titanic", "source.titanic.titanic_csv"],
        ),
        (
            ["--select", "source:titanic_csv model:titanic"],
            ["model.titanic.titanic", "source.titanic.titanic_csv"],
        ),
        (["--select", "passenger:is_male+", "--resource-type", "model"], ["model.titanic.titanic"]),
        (["--select", "nothing_tagged", "--exclude", "view:passenger"], None),
        (["--select", "tag:nope"], []),
    ],
)
def test_ls_json(titanic_project: Path, args: list[str], expected: list[str] | None) -> None:
    result = runner.invoke(
        app, ["ls", "--project-dir", str(titanic_project), "--output", "json", *args]
    )
    if expected is None:  # an unknown name selects nothing, with a warning (as dbt does)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == []
        assert "nothing_tagged" in result.stderr
        return
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["unique_id"] for r in rows] == expected
    assert all(set(r) == {"unique_id", "kind", "name"} for r in rows)


def test_ls_lists_feature_names_as_view_colon_feature(titanic_project: Path) -> None:
    out = invoke(
        "ls",
        "--project-dir",
        str(titanic_project),
        "--output",
        "json",
        "--resource-type",
        "feature",
        "--select",
        "view:passenger+1",
    )
    names = {r["name"] for r in json.loads(out)}
    assert "passenger:is_male" in names and "passenger:age" in names


def test_lineage_of_a_feature(titanic_project: Path) -> None:
    out = invoke(
        "lineage", "passenger:is_male", "--project-dir", str(titanic_project), "--output", "json"
    )
    data = json.loads(out)
    assert data["unique_id"] == "feature.titanic.passenger.is_male"
    assert "feature.titanic.passenger.sex" in data["upstream"]
    assert "source.titanic.titanic_csv" in data["upstream"]
    assert data["downstream"] == ["model.titanic.titanic"]
    text = invoke("lineage", "passenger:is_male", "--project-dir", str(titanic_project))
    assert "upstream" in text and "model titanic" in text


def test_apply_publishes_the_manifest(titanic_project: Path, tmp_path: Path) -> None:
    destination = tmp_path / "published" / "production.json"
    invoke("apply", "--project-dir", str(titanic_project), "--to", str(destination))
    published = json.loads(destination.read_text())
    assert published["metadata"]["project_name"] == "titanic"


def test_vars_reach_templates(titanic_project: Path) -> None:
    features = titanic_project / "features" / "titanic.yml"
    features.write_text(
        features.read_text().replace(
            "description: Predicts survival", "description: \"{{ var('purpose') }}\""
        )
    )
    invoke("compile", "--project-dir", str(titanic_project), "--vars", "{purpose: testing vars}")
    manifest = json.loads((titanic_project / "target" / "manifest.json").read_text())
    assert manifest["models"]["titanic"]["description"] == "testing vars"


def test_help_and_version_run_as_a_process() -> None:
    exe = Path(sys.executable).parent / "aligned"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("init", "compile", "run", "test", "ls", "lineage", "apply"):
        assert command in out
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("aligned ")


def test_mapping_keys_are_rendered_too(titanic_project: Path) -> None:
    # SPEC §2: every string is rendered, a key like a source column named by a var too.
    features = titanic_project / "features" / "titanic.yml"
    features.write_text(
        features.read_text().replace(
            "mapping: {PassengerId: passenger_id,",
            "mapping: {\"{{ var('id_column', 'PassengerId') }}\": passenger_id,",
        )
    )
    invoke("compile", "--project-dir", str(titanic_project))
    manifest = json.loads((titanic_project / "target" / "manifest.json").read_text())
    assert manifest["sources"]["titanic_csv"]["mapping"]["PassengerId"] == "passenger_id"
    # A key that renders to one the mapping already has is an error at the key.
    clash = "{PassengerId: passenger_id, \"{{ var('twin', 'PassengerId') }}\": pid,"
    features.write_text(
        features.read_text().replace(
            "mapping: {\"{{ var('id_column', 'PassengerId') }}\": passenger_id,",
            f"mapping: {clash}",
        )
    )
    result = runner.invoke(app, ["compile", "--project-dir", str(titanic_project)])
    assert result.exit_code == 2, result.output
    assert "renders to 'PassengerId', which the same mapping already has" in result.output
    assert "titanic.yml:5:" in result.output


def test_dialect_names_are_case_insensitive_and_canonical(titanic_project: Path) -> None:
    invoke("compile", "--project-dir", str(titanic_project), "--dialect", "POSTGRESQL")
    manifest = json.loads((titanic_project / "target" / "manifest.json").read_text())
    compiled = manifest["nodes"]["model.titanic.titanic"]["compiled_sql"]
    assert list(compiled) == ["postgres"]
    assert (titanic_project / "target" / "compiled" / "postgres").is_dir()
    assert not (titanic_project / "target" / "compiled" / "POSTGRESQL").exists()


def test_common_flags_may_come_before_the_command_and_h_is_help(titanic_project: Path) -> None:
    # As dbt takes them: `aligned --log-format json compile --project-dir P`.
    output = invoke("--log-format", "json", f"--project-dir={titanic_project}", "compile")
    assert json.loads(output.strip().splitlines()[-1])["level"] == "info"
    assert invoke("-h").startswith("Usage: aligned")
    assert "--dialect" in invoke("compile", "-h")
    # Anything else before the command is still click's to report.
    result = runner.invoke(app, ["--bogus", "compile"])
    assert result.exit_code == 2 and "No such option: --bogus" in result.output


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["--log-format", "json", "run", "-s", "a"], ["run", "--log-format", "json", "-s", "a"]),
        (
            ["--vars={a: 1}", "--project-dir", "p", "ls"],
            ["ls", "--vars={a: 1}", "--project-dir", "p"],
        ),
        (["run", "--log-format", "json"], ["run", "--log-format", "json"]),
        (["--log-format", "json"], ["--log-format", "json"]),  # no command: click's error
        (["--version"], ["--version"]),
        (["--debug", "--vars", "{}", "run"], ["--debug", "run", "--vars", "{}"]),
        (["--vars", "{}", "--debug", "ls"], ["--debug", "ls", "--vars", "{}"]),
    ],
)
def test_leading_common_flags_move_after_the_command(given: list[str], expected: list[str]) -> None:
    from aligned_cli.cli.argv import move_leading_common_options

    assert move_leading_common_options(given) == expected
