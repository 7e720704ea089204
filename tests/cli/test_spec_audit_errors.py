"""SPEC §2 / §3 / §9 conformance audit: Jinja rendering (env_var, var), located errors
with closest-name hints, exit code 2, no tracebacks, unknown references of every kind.
Real `aligned` executable on small projects written in temporary folders."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from _audit import aligned, assert_project_error, environ_without, project_yml, write_project

PROJECT = project_yml("e")
DATA = "k,x,ts,label\n1,2.0,2024-01-01,1\n2,3.0,2024-01-02,0\n"

BASE = """
sources:
  - name: s
    file: data/s.csv
feature_views:
  - name: v
    source: s
    entities: [k]
    features:
      k: {type: int64}
      x: {type: float}
models:
  - name: m
    features: [v:x]
    spine: s
"""


def _project(
    root: Path, features: str = BASE, project: str = PROJECT, extra: dict[str, str] | None = None
) -> Path:
    files = {"data/s.csv": DATA, "features/f.yml": features, **(extra or {})}
    return write_project(root, files, project)


def _aligned(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`aligned` without AUDIT_* variables."""
    return aligned(root, *args, env=env, base_env=environ_without("AUDIT_"))


def _project_error(root: Path, *fragments: str, command: str = "compile") -> str:
    return assert_project_error(_aligned(root, command), *fragments)


# --- §2 Jinja -----------------------------------------------------------------------


def test_env_var_and_var_render_everywhere(tmp_path: Path) -> None:
    features = BASE.replace("file: data/s.csv", "file: \"{{ env_var('AUDIT_DATA_DIR') }}/s.csv\"")
    features = features.replace(
        "x: {type: float}", "x: {type: float, upper_bound: \"{{ var('hi') }}\"}"
    )
    root = _project(tmp_path / "p", features, PROJECT + "vars:\n  hi: 2.5\n")
    result = _aligned(root, "test", env={"AUDIT_DATA_DIR": "data"})
    assert result.returncode == 1, result.stdout + result.stderr  # 3.0 > 2.5
    result = _aligned(root, "test", "--vars", "{hi: 10}", env={"AUDIT_DATA_DIR": "data"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_env_var_default_is_used(tmp_path: Path) -> None:
    features = BASE.replace(
        "file: data/s.csv", "file: \"{{ env_var('AUDIT_NOPE', 'data/s.csv') }}\""
    )
    root = _project(tmp_path / "p", features)
    assert _aligned(root, "compile").returncode == 0


def test_missing_env_var_names_the_variable_and_the_file(tmp_path: Path) -> None:
    features = BASE.replace("file: data/s.csv", "file: \"{{ env_var('AUDIT_MISSING_VAR') }}\"")
    _project_error(_project(tmp_path / "p", features), "AUDIT_MISSING_VAR", "features/f.yml")


def test_missing_var_is_an_error_and_var_default_works(tmp_path: Path) -> None:
    missing = BASE.replace("file: data/s.csv", "file: \"data/{{ var('fname') }}\"")
    _project_error(_project(tmp_path / "a", missing), "fname")
    defaulted = BASE.replace("file: data/s.csv", "file: \"data/{{ var('fname', 's.csv') }}\"")
    assert _aligned(_project(tmp_path / "b", defaulted), "compile").returncode == 0


def test_jinja_inside_vars_is_rendered(tmp_path: Path) -> None:
    project = PROJECT + "vars:\n  data_dir: \"{{ env_var('AUDIT_DIR', 'data') }}\"\n"
    features = BASE.replace("file: data/s.csv", "file: \"{{ var('data_dir') }}/s.csv\"")
    root = _project(tmp_path / "p", features, project)
    result = _aligned(root, "compile")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    assert manifest["sources"]["s"]["file"] == "data/s.csv"


# --- §9 located errors that conform ------------------------------------------------


def test_malformed_yaml_is_located(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", BASE.replace("entities: [k]", "entities: [k"))
    output = _project_error(root)
    assert "features/f.yml:" in output


def test_unknown_key_gets_the_closest_valid_key(tmp_path: Path) -> None:
    root = _project(
        tmp_path / "p", BASE.replace("x: {type: float}", "x: {type: float, lowr_bound: 0}")
    )
    _project_error(root, "features/f.yml:10:", "lowr_bound", "lower_bound")


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    root = _project(
        tmp_path / "p",
        BASE.replace("      x: {type: float}", "      x: {type: float}\n      x: {type: int64}"),
    )
    _project_error(root, "features/f.yml:")


def test_unknown_feature_reference_gets_closest_names(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", BASE.replace("features: [v:x]", "features: [v:xx]"))
    _project_error(root, "features/f.yml:", "v:xx", "'x'")


def test_unknown_source_reference_gets_closest_names(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", BASE.replace("    source: s\n", "    source: ss\n"))
    _project_error(root, "features/f.yml:", "ss", "'s'")


def test_view_cycle_is_reported(tmp_path: Path) -> None:
    features = """
feature_views:
  - name: a
    source: view:b
    features: {k: {type: int64}}
  - name: b
    source: view:a
    features: {k: {type: int64}}
"""
    output = _project_error(_project(tmp_path / "p", features), "cycle")
    assert "a" in output and "b" in output


def test_expression_type_mismatch_names_expression_and_types(tmp_path: Path) -> None:
    features = BASE.replace(
        "x: {type: float}", "x: {type: float}\n      y: {expression: \"x + 'a'\"}"
    )
    _project_error(_project(tmp_path / "p", features), "x + 'a'", "float", "string")


def test_expression_unknown_column(tmp_path: Path) -> None:
    features = BASE.replace("x: {type: float}", 'x: {type: float}\n      y: {expression: "xx * 2"}')
    _project_error(_project(tmp_path / "p", features), "xx")


@pytest.mark.parametrize(
    ("name", "hint"),
    [("v-bad", "not a valid name"), ("v" * 64, "63")],
)
def test_names_match_the_rule_and_fit_63_bytes(tmp_path: Path, name: str, hint: str) -> None:
    features = BASE.replace("  - name: v\n", f"  - name: {name}\n").replace("[v:x]", f"[{name}:x]")
    _project_error(_project(tmp_path / "p", features), hint)


def test_yaml_python_tags_and_alias_bombs_are_refused(tmp_path: Path) -> None:
    tagged = BASE.replace("file: data/s.csv", "file: !!python/object/apply:os.getcwd []")
    _project_error(_project(tmp_path / "a", tagged))
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefghij":
        refs = ", ".join([f"*{chr(ord(level) - 1)}"] * 9)
        bomb += f"{level}: &{level} [{refs}]\n"
    _project_error(_project(tmp_path / "b", bomb))


def test_same_name_in_two_yaml_files_names_both(tmp_path: Path) -> None:
    extra = {"features/other.yml": "sources:\n  - name: s\n    file: data/s.csv\n"}
    _project_error(_project(tmp_path / "p", extra=extra), "features/f.yml", "features/other.yml")


def test_same_name_in_python_and_yaml_names_both(tmp_path: Path) -> None:
    extra = {
        "features/dup.py": """
            from aligned_cli import FileSource, Int64, feature_view

            src = FileSource.csv_at("data/s.csv")

            @feature_view(name="v", source=src)
            class V:
                k = Int64().as_entity()
            """
    }
    _project_error(_project(tmp_path / "p", extra=extra), "features/f.yml", "features/dup.py")


def test_python_file_that_fails_to_import_is_located(tmp_path: Path) -> None:
    extra = {"features/bad.py": "x = 1\nraise RuntimeError('boom here')\n"}
    _project_error(_project(tmp_path / "p", extra=extra), "features/bad.py", "boom here")


def test_unknown_key_in_the_project_file(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", project=PROJECT + "nmae: x\n")
    _project_error(root, "aligned_project.yml", "nmae", "name")


def test_unknown_entity_column_gets_closest_names(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", BASE.replace("entities: [k]", "entities: [kk]"))
    _project_error(root, "kk", "'k'")


def test_failed_run_leaves_earlier_outputs_and_writes_run_results(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    assert _aligned(root, "run").returncode == 0
    dataset = root / "target" / "datasets" / "m.parquet"
    before = dataset.read_bytes()
    (root / "data" / "s.csv").write_text("k,x,ts,label\n1,oops,2024-01-01,1\n")
    result = _aligned(root, "run")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert dataset.read_bytes() == before
    assert sorted(p.name for p in dataset.parent.iterdir()) == ["m.parquet"]
    statuses = {
        r["name"]: r["status"]
        for r in json.loads((root / "target" / "run_results.json").read_text())["results"]
    }
    assert statuses["m"] == "error"


# --- §9 discrepancies: unknown references accepted at compile time -------------------


def test_unknown_source_connection_is_a_project_error(tmp_path: Path) -> None:
    features = BASE.replace(
        "    file: data/s.csv\n", "    file: data/s.csv\n    connection: warehous\n"
    )
    root = _project(
        tmp_path / "p", features, PROJECT + "  warehouse: {type: duckdb, path: target/w.duckdb}\n"
    )
    _project_error(root, "warehous", "warehouse")


def test_unknown_output_connection_is_a_project_error(tmp_path: Path) -> None:
    features = BASE.replace(
        "    spine: s\n", "    spine: s\n    output: {table: m_out, connection: nope}\n"
    )
    _project_error(_project(tmp_path / "p", features), "nope")


def test_defaults_for_an_unknown_feature_is_a_project_error(tmp_path: Path) -> None:
    features = BASE.replace("    spine: s\n", "    spine: s\n    defaults: {xx: 1}\n")
    _project_error(_project(tmp_path / "p", features), "xx")


def test_target_column_missing_from_the_spine_is_a_project_error(tmp_path: Path) -> None:
    features = BASE.replace("    spine: s\n", "    spine: s\n    target: {column: lable}\n")
    _project_error(_project(tmp_path / "p", features), "lable", "label")


def test_target_column_of_the_spine_is_accepted(tmp_path: Path) -> None:
    features = BASE.replace("    spine: s\n", "    spine: s\n    target: {column: label}\n")
    root = _project(tmp_path / "p", features)
    assert _aligned(root, "run").returncode == 0


def test_spine_event_timestamp_column_missing_is_a_project_error(tmp_path: Path) -> None:
    features = BASE.replace("    spine: s\n", "    spine: {source: s, event_timestamp: tss}\n")
    _project_error(_project(tmp_path / "p", features), "tss", "ts")


def test_view_event_timestamp_column_missing_is_a_project_error(tmp_path: Path) -> None:
    features = BASE.replace("entities: [k]", "entities: [k]\n    event_timestamp: tss")
    _project_error(_project(tmp_path / "p", features), "tss", "ts")


def test_feature_without_a_source_column_is_a_project_error(tmp_path: Path) -> None:
    features = BASE.replace("x: {type: float}", "x: {type: float}\n      lable: {type: int64}")
    _project_error(_project(tmp_path / "p", features), "lable", "label")


def test_unknown_timezone_is_a_project_error(tmp_path: Path) -> None:
    features = BASE.replace(
        "    file: data/s.csv\n", "    file: data/s.csv\n    timezone: Mars/Base\n"
    ).replace("entities: [k]", "entities: [k]\n    event_timestamp: ts")
    _project_error(_project(tmp_path / "p", features), "Mars/Base")


def test_compile_for_snowflake_is_quiet(tmp_path: Path) -> None:
    features = BASE.replace("x: {type: float}", 'x: {type: float}\n      y: {expression: "x * 2"}')
    result = _aligned(_project(tmp_path / "p", features), "compile", "--dialect", "snowflake")
    assert result.returncode == 0
    assert "Cannot traverse scope" not in result.stderr
