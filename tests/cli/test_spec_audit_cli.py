"""SPEC §2 / §5 conformance audit: `aligned init`, every command's --help, exit codes,
`ls --output json`, --resource-type, the selection grammar and empty selections, all
through the real `aligned` executable."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from _audit import run_aligned

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

COMMANDS = [
    "init",
    "compile",
    "run",
    "test",
    "freshness",
    "ls",
    "lineage",
    "apply",
    "materialize",
    "serve",
    "worker",
    "docs",
]

# Flags the SPEC §5 table promises per command (plus the common ones).
FLAGS = {
    "compile": ["--dialect"],
    "run": ["--select", "--exclude", "--target", "--full-refresh"],
    "test": ["--select", "--store-failures"],
    "freshness": ["--select"],
    "ls": ["--select", "--exclude", "--resource-type", "--output"],
    "apply": ["--to"],
    "materialize": ["--select", "--start", "--end", "--force"],
    "serve": ["--host", "--port", "--token", "--read-token", "--max-entities"],
    "docs": ["--serve"],
}
COMMON = ["--project-dir", "--target-path", "--vars", "--log-format"]


def _aligned(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`aligned *args` (no --project-dir) with COLUMNS=200, run in `cwd`."""
    return run_aligned(*args, env={"COLUMNS": "200"}, cwd=cwd)


@pytest.fixture(scope="module")
def titanic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("audit_cli") / "titanic"
    shutil.copytree(FIXTURES / "titanic_yaml", target, ignore=shutil.ignore_patterns("target"))
    return target


def _ls(project: Path, *args: str) -> list[dict[str, str]]:
    result = _aligned("ls", "--project-dir", str(project), "--output", "json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _ids(project: Path, *args: str) -> list[str]:
    return [row["unique_id"] for row in _ls(project, *args)]


# --- §2 init ----------------------------------------------------------------------


def test_init_then_compile_run_test_at_once(tmp_path: Path) -> None:
    created = _aligned("init", "demo", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    project = tmp_path / "demo"
    assert (project / "aligned_project.yml").is_file()
    assert (project / "features").is_dir()
    assert (project / "data").is_dir()
    for command in ("compile", "run", "test"):
        result = _aligned(command, cwd=project)
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    assert (project / "target" / "manifest.json").is_file()
    assert (project / "target" / "run_results.json").is_file()
    assert list((project / "target" / "compiled").iterdir())
    assert list((project / "target" / "datasets").glob("*.parquet"))


def test_init_refuses_an_existing_project_and_bad_names(tmp_path: Path) -> None:
    assert _aligned("init", "demo", cwd=tmp_path).returncode == 0
    again = _aligned("init", "demo", cwd=tmp_path)
    assert again.returncode == 2
    assert "Traceback" not in again.stderr
    bad = _aligned("init", "my-project", cwd=tmp_path)
    assert bad.returncode == 2


# --- §5 commands, help, exit codes ------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_its_flags(command: str) -> None:
    result = _aligned(command, "--help")
    assert result.returncode == 0, result.stderr
    for flag in FLAGS.get(command, []) + (COMMON if command != "init" else []):
        assert flag in result.stdout, f"{command} --help lacks {flag}"


def test_version_and_unknown_command() -> None:
    version = _aligned("--version")
    assert version.returncode == 0
    assert version.stdout.strip()
    assert _aligned("no-such-command").returncode == 2


def test_not_a_project_is_exit_2(tmp_path: Path) -> None:
    result = _aligned("compile", "--project-dir", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout


def test_unknown_target_connection_is_exit_2_with_suggestion(titanic: Path) -> None:
    result = _aligned("run", "--project-dir", str(titanic), "--target", "locl")
    assert result.returncode == 2
    assert "local" in result.stderr


# --- §5 ls ------------------------------------------------------------------------


def test_ls_json_shape_and_sorting(titanic: Path) -> None:
    rows = _ls(titanic)
    assert rows, "ls lists every node by default"
    assert all(set(row) == {"unique_id", "kind", "name"} for row in rows)
    ids = [row["unique_id"] for row in rows]
    assert ids == sorted(ids)
    kinds = {row["kind"] for row in rows}
    assert kinds == {"source", "view", "feature", "model", "test"}
    by_id = {row["unique_id"]: row for row in rows}
    assert by_id["feature.titanic.passenger.age"]["name"] == "passenger:age"
    assert by_id["view.titanic.passenger"] == {
        "unique_id": "view.titanic.passenger",
        "kind": "view",
        "name": "passenger",
    }
    assert "test.titanic.passenger__age__upper_bound" in by_id
    assert "test.titanic.passenger__unique" in by_id
    assert "test.titanic.passenger__survived__required" in by_id


@pytest.mark.parametrize("kind", ["source", "view", "feature", "model", "test"])
def test_resource_type_takes_the_five_words(titanic: Path, kind: str) -> None:
    rows = _ls(titanic, "--resource-type", kind)
    assert rows and {row["kind"] for row in rows} == {kind}


def test_resource_type_unknown_word_is_exit_2(titanic: Path) -> None:
    result = _aligned("ls", "--project-dir", str(titanic), "--resource-type", "sources")
    assert result.returncode == 2


FEATURES_OF_MODEL = [
    "feature.titanic.passenger.constant_filled_age",
    "feature.titanic.passenger.family_size",
    "feature.titanic.passenger.is_male",
    "feature.titanic.passenger.pclass",
    "feature.titanic.passenger.sibsp",
    "feature.titanic.passenger.survived",
]


def test_selection_methods(titanic: Path) -> None:
    assert _ids(titanic, "-s", "model:titanic") == ["model.titanic.titanic"]
    assert _ids(titanic, "-s", "view:passenger") == ["view.titanic.passenger"]
    assert _ids(titanic, "-s", "source:titanic_csv") == ["source.titanic.titanic_csv"]
    assert _ids(titanic, "-s", "feature:passenger:age") == ["feature.titanic.passenger.age"]
    # bare names: a source, view or model name, or view:feature
    assert _ids(titanic, "-s", "passenger") == ["view.titanic.passenger"]
    assert _ids(titanic, "-s", "titanic") == ["model.titanic.titanic"]
    assert _ids(titanic, "-s", "titanic_csv") == ["source.titanic.titanic_csv"]
    assert _ids(titanic, "-s", "passenger:age") == ["feature.titanic.passenger.age"]


def test_tag_and_path_selection(titanic: Path) -> None:
    tagged = _ids(titanic, "-s", "tag:titanic")
    assert "view.titanic.passenger" in tagged
    assert "feature.titanic.passenger.age" in tagged  # features carry their view's tags
    assert "test.titanic.passenger__unique" in tagged  # tests too
    assert "model.titanic.titanic" not in tagged
    in_file = _ids(titanic, "-s", "path:features/titanic.yml")
    assert in_file == _ids(titanic, "-s", "path:features")
    assert "model.titanic.titanic" in in_file and "test.titanic.passenger__unique" in in_file


def test_graph_operators_count_edges(titanic: Path) -> None:
    one_up = _ids(titanic, "-s", "1+model:titanic")
    assert one_up == sorted(
        [*FEATURES_OF_MODEL, "model.titanic.titanic", "source.titanic.titanic_csv"]
    )
    all_up = _ids(titanic, "-s", "+model:titanic")
    assert {"view.titanic.passenger", "feature.titanic.passenger.age"} <= set(all_up)
    assert "test.titanic.passenger__unique" not in all_up


def test_graph_operators_downstream_and_at(titanic: Path) -> None:
    view_down_1 = _ids(titanic, "-s", "view:passenger+1")
    assert "test.titanic.passenger__unique" in view_down_1  # view -> its unique test
    assert "model.titanic.titanic" not in view_down_1  # two edges away
    assert "test.titanic.passenger__age__upper_bound" not in view_down_1
    assert "model.titanic.titanic" in _ids(titanic, "-s", "view:passenger+2")
    assert _ids(titanic, "-s", "2+model:titanic", "--resource-type", "view") == [
        "view.titanic.passenger"
    ]
    age_down = _ids(titanic, "-s", "passenger:age+")
    assert {
        "feature.titanic.passenger.constant_filled_age",
        "test.titanic.passenger__age__upper_bound",
        "model.titanic.titanic",
    } <= set(age_down)
    at = set(_ids(titanic, "-s", "@feature:passenger:age"))
    assert {"model.titanic.titanic", "feature.titanic.passenger.is_male"} <= at  # parents of kids


def test_union_intersection_and_exclude(titanic: Path) -> None:
    assert _ids(titanic, "-s", "model:titanic source:titanic_csv") == [
        "model.titanic.titanic",
        "source.titanic.titanic_csv",
    ]
    assert _ids(titanic, "-s", "tag:titanic,view:passenger") == ["view.titanic.passenger"]
    assert _ids(titanic, "-s", "+model:titanic", "--exclude", "tag:titanic") == [
        "model.titanic.titanic",
        "source.titanic.titanic_csv",
    ]
    assert _ids(titanic, "-s", "+model:titanic", "--exclude", "tag:titanic", "titanic_csv") == [
        "model.titanic.titanic"
    ]


def test_three_spellings_of_a_multi_select_agree(titanic: Path) -> None:
    spaced = _ids(titanic, "--select", "model:titanic", "passenger:age")
    quoted = _ids(titanic, "--select", "model:titanic passenger:age")
    repeated = _ids(titanic, "--select", "model:titanic", "--select", "passenger:age")
    assert (
        spaced
        == quoted
        == repeated
        == [
            "feature.titanic.passenger.age",
            "model.titanic.titanic",
        ]
    )


def test_empty_selection_prints_empty_list_and_warns_in_run_and_test(titanic: Path) -> None:
    result = _aligned("ls", "--project-dir", str(titanic), "-s", "tag:nope", "--output", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == []
    text = _aligned("ls", "--project-dir", str(titanic), "-s", "model:titanic,view:passenger")
    assert text.returncode == 0 and text.stdout.strip() == "[]"
    for command in ("run", "test"):
        result = _aligned(command, "--project-dir", str(titanic), "-s", "tag:nope")
        assert result.returncode == 0, result.stderr
        assert "nothing selected" in (result.stdout + result.stderr).lower()


def test_run_and_test_add_the_tests_of_selected_nodes(titanic: Path) -> None:
    result = _aligned("test", "--project-dir", str(titanic), "-s", "passenger:age")
    assert result.returncode == 0, result.stderr
    ran = {
        r["name"]
        for r in json.loads((titanic / "target" / "run_results.json").read_text())["results"]
    }
    assert ran == {"passenger__age__lower_bound", "passenger__age__upper_bound"}


def test_state_modified_compares_with_an_older_manifest(tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(FIXTURES / "titanic_yaml", project, ignore=shutil.ignore_patterns("target"))
    assert _aligned("compile", "--project-dir", str(project)).returncode == 0
    state = tmp_path / "state"
    shutil.copytree(project / "target", state)
    yml = project / "features" / "titanic.yml"
    yml.write_text(yml.read_text().replace("coalesce(age, 0)", "coalesce(age, 1)"))
    modified = _ids(project, "-s", "state:modified", "--state", str(state))
    assert "feature.titanic.passenger.constant_filled_age" in modified
    assert "feature.titanic.passenger.is_male" not in modified
    downstream = _ids(project, "-s", "state:modified+", "--state", str(state))
    assert "model.titanic.titanic" in downstream
    missing = _aligned("ls", "--project-dir", str(project), "-s", "state:modified")
    assert missing.returncode == 2


def test_lineage_apply_and_docs(titanic: Path, tmp_path: Path) -> None:
    lineage = _aligned(
        "lineage", "passenger:is_male", "--project-dir", str(titanic), "--output", "json"
    )
    assert lineage.returncode == 0, lineage.stderr
    data = json.loads(lineage.stdout)
    assert "feature.titanic.passenger.sex" in data["upstream"]
    assert "model.titanic.titanic" in data["downstream"]
    assert _aligned("lineage", "no_such_node", "--project-dir", str(titanic)).returncode == 2
    published = tmp_path / "published" / "store.json"
    applied = _aligned("apply", "--to", str(published), "--project-dir", str(titanic))
    assert applied.returncode == 0, applied.stderr
    assert json.loads(published.read_text())["metadata"]["project_name"] == "titanic"
    docs = _aligned("docs", "--project-dir", str(titanic))
    assert docs.returncode == 0, docs.stderr
    assert (titanic / "target" / "docs" / "index.html").is_file()
