"""SPEC §2 / §9 audit, round 3: Jinja in the project file and on the command line,
type mismatches the earlier rounds did not try (IN, BETWEEN, function arguments),
unknown keys in nested mappings, names at and past the 63-byte limit for every kind,
SQL keywords and mixed case as names on both engines, duplicate keys, ordinary YAML
anchors, and located errors from Python files. Real `aligned` executable; every error
must be exit 2 with no traceback."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import duckdb
import pytest
from _audit import aligned, assert_project_error, environ_without, project_yml, write_project

PROJECT = project_yml("e")

BASE = """
sources:
  - name: s
    file: data/s.csv
    loaded_at_field: ts
    freshness: {warn_after: 1d, error_after: 3d}
feature_views:
  - name: v
    source: s
    entities: [k]
    materialized_source: {file: target/m.parquet}
    features:
      k: {type: int64}
      x: {type: float, upper_bound: {value: 3, severity: warn}}
      sex: {type: string}
    tests:
      - {name: c, sql: "select * from {{ this }} where x > 100"}
models:
  - name: m
    features: [v:x]
    spine: {source: s, event_timestamp: ts}
    target: {feature: v:x, kind: regression}
    output: {file: target/x.parquet}
"""

DATA = "k,x,sex,ts\n1,1.5,male,2024-01-01\n2,2.5,female,2024-01-02\n"


def _project(
    root: Path, features: str = BASE, project: str = PROJECT, extra: dict[str, str] | None = None
) -> Path:
    files = {"data/s.csv": DATA, "features/f.yml": features, **(extra or {})}
    return write_project(root, files, project)


def _aligned(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`aligned` with COLUMNS=200 and no AUDIT3_* or DATABASE_URL variables, 120 s."""
    environ = environ_without("AUDIT3_", "DATABASE_URL")
    return aligned(
        root, *args, env={"COLUMNS": "200", **(env or {})}, base_env=environ, timeout=120
    )


def _project_error(root: Path, *fragments: str, args: tuple[str, ...] = ("compile",)) -> str:
    return assert_project_error(_aligned(root, *args), *fragments)


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# --- §2 Jinja in the project file and --vars ---------------------------------------------

SPEC_PROJECT = """
name: e
feature-paths: [features]
target-path: target
default-connection: local
connections:
  local:    {type: duckdb, path: target/e.duckdb}
  warehouse: {type: postgres, dsn: "{{ env_var('DATABASE_URL') }}"}
online:
  redis: {url: "{{ env_var('REDIS_URL', 'redis://127.0.0.1:6379/0') }}"}
vars:
  start_date: "2026-01-01"
"""


def test_the_spec_project_file_works_until_its_env_var_is_needed(tmp_path: Path) -> None:
    # SPEC §2: the example `aligned_project.yml`; "`env_var(name, default=None)` (missing
    # and no default: a clear error naming the variable and the file)".
    root = _project(tmp_path / "p", project=textwrap.dedent(SPEC_PROJECT).lstrip("\n"))
    result = _aligned(root, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    _project_error(
        root, "DATABASE_URL", "aligned_project.yml", args=("run", "--target", "warehouse")
    )


def test_var_in_the_project_file_comes_from_cli_vars(tmp_path: Path) -> None:
    # SPEC §2: "`var(name, default=None)` (from `vars:` and `--vars`)" in every YAML file.
    project = (
        "name: e\nconnections:\n"
        "  local: {type: duckdb, path: \"target/{{ var('db', 'default') }}.duckdb\"}\n"
    )
    root = _project(tmp_path / "p", project=project)
    assert _aligned(root, "run").returncode == 0
    assert (root / "target" / "default.duckdb").is_file()
    assert _aligned(root, "run", "--vars", "{db: other}").returncode == 0
    assert (root / "target" / "other.duckdb").is_file()


@pytest.mark.parametrize("value", ["{db: ", "[1, 2]", "just text"])
def test_malformed_cli_vars_are_usage_errors(tmp_path: Path, value: str) -> None:
    # SPEC §5: "exit ... 2 usage/project errors"; §9: "never a traceback".
    root = _project(tmp_path / "p")
    _project_error(root, "--vars", args=("compile", "--vars", value))


# --- §9 type mismatches -------------------------------------------------------------------


def test_comparison_type_mismatch_is_caught(tmp_path: Path) -> None:
    # SPEC §9: "Type mismatch in an expression → the expression and the types."
    features = _replace(
        BASE, "sex: {type: string}", 'sex: {type: string}\n      bad: {expression: "sex = 1"}'
    )
    _project_error(_project(tmp_path / "p", features), "sex = 1", "string")


@pytest.mark.parametrize("expression", ["sex in (1, 2)", "sex between 1 and 2", "abs(sex)"])
def test_other_type_mismatches_are_caught_at_compile(tmp_path: Path, expression: str) -> None:
    # SPEC §9: "Type mismatch in an expression → the expression and the types." The tool
    # rejects `sex = 1` at compile; the same mismatch written as IN, BETWEEN or a numeric
    # function only surfaces at `aligned run` as a raw engine error without the expression.
    features = _replace(
        BASE,
        "sex: {type: string}",
        f'sex: {{type: string}}\n      bad: {{expression: "{expression}"}}',
    )
    _project_error(_project(tmp_path / "p", features), expression, "string")


# --- §9 unknown keys ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "bad", "suggestion"),
    [
        ("warn_after", "warn_aftr", "warn_after"),
        ("{file: target/m.parquet}", "fil", "file"),
        ("severity", "sevrity", "severity"),
        ("event_timestamp: ts}", "event_timestmp", "event_timestamp"),
        ("kind", "knd", "kind"),
        ("output: {file", "fle", "file"),
        ("loaded_at_field", "loaded_at_feld", "loaded_at_field"),
        ("{value", "vlue", "value"),
    ],
)
def test_unknown_nested_keys_get_the_closest_valid_key(
    tmp_path: Path, old: str, bad: str, suggestion: str
) -> None:
    # SPEC §9: "Unknown YAML keys are errors (with the closest valid key)".
    new = old.replace(suggestion, bad, 1)
    _project_error(
        _project(tmp_path / "p", _replace(BASE, old, new)), "features/f.yml:", bad, suggestion
    )


def test_unknown_key_in_a_custom_test_gets_the_closest_valid_key(tmp_path: Path) -> None:
    # SPEC §9: "Unknown YAML keys are errors (with the closest valid key)".
    features = _replace(BASE, "{name: c, sql:", "{name: c, sqll:")
    _project_error(_project(tmp_path / "p", features), "features/f.yml:", "sqll", "'sql'")


# --- §9 names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        ("      sex: {type: string}", "      " + "f" * 64 + ": {type: string}", "feature"),
        ("  - name: s\n", "  - name: " + "s" * 64 + "\n", "source"),
        ("  - name: m\n", "  - name: " + "m" * 64 + "\n", "model"),
        ("      sex: {type: string}", "      x-y: {type: string}", "feature"),
        ("  - name: m\n", "  - name: m.1\n", "model"),
        ("  - name: s\n", "  - name: 1s\n", "source"),
    ],
)
def test_bad_names_of_every_kind_are_project_errors(
    tmp_path: Path, old: str, new: str, kind: str
) -> None:
    # SPEC §9: "Names match `[A-Za-z_][A-Za-z0-9_]*` and fit Postgres' 63 bytes."
    _project_error(_project(tmp_path / "p", _replace(BASE, old, new)), "features/f.yml:", kind)


def test_invalid_project_name_is_a_project_error(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", project=PROJECT.replace("name: e", "name: my-project"))
    _project_error(root, "aligned_project.yml", "my-project")


LONG = "v" * 63
LONG_FEATURE = "f" * 63

LONG_YML = f"""
sources: [{{name: s, file: data/s.csv}}]
feature_views:
  - name: {LONG}
    source: s
    entities: [k]
    materialized_source: {{table: {LONG}}}
    features:
      k: {{type: int64}}
      {LONG_FEATURE}: {{type: float, lower_bound: 0, upper_bound: 10}}
models:
  - name: m
    features: ["{LONG}:{LONG_FEATURE}"]
    spine: s
    output: {{table: {"m" * 63}}}
"""


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_names_of_exactly_63_bytes_work_end_to_end(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    # SPEC §9: names "fit Postgres' 63 bytes" — 63 itself fits; the generated test names
    # (`<view>__<feature>__<constraint>`) are longer but must still run and store failures.
    project, args = PROJECT, []
    if engine == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        project += f'  warehouse: {{type: postgres, dsn: "{dsn}"}}\n'
        args = ["--target", "warehouse"]
    root = _project(tmp_path / "p", LONG_YML, project)
    (root / "data" / "s.csv").write_text(f"k,{LONG_FEATURE}\n1,1.5\n2,-1\n3,20\n")
    result = _aligned(root, "test", *args, "--store-failures")
    assert result.returncode == 1, result.stdout + result.stderr
    results = json.loads((root / "target" / "run_results.json").read_text())["results"]
    by_name = {r["name"]: r for r in results}
    assert by_name[f"{LONG}__{LONG_FEATURE}__lower_bound"]["failures"] == 1
    assert by_name[f"{LONG}__{LONG_FEATURE}__upper_bound"]["failures"] == 1
    # the two stored-failure tables must not collide although their names share 63 bytes
    (root / "data" / "s.csv").write_text(f"k,{LONG_FEATURE}\n1,1.5\n2,2\n")
    run = _aligned(root, "run", *args)
    messages = [
        (r["name"], r["status"], r["message"])
        for r in json.loads((root / "target" / "run_results.json").read_text())["results"]
    ]
    assert run.returncode == 0, messages


KEYWORDS_YML = """
sources: [{name: order, file: data/kw.csv, mapping: {"group by": group_}}]
feature_views:
  - name: select
    source: order
    entities: [select]
    features:
      select: {type: int64}
      from: {type: int64, lower_bound: 0}
      Order: {type: int64, accepted_values: [3, 6]}
      group_: {type: int64}
      Where: {expression: "\\"from\\" + \\"Order\\""}
models:
  - {name: table, features: [select:Where, select:group_], spine: {source: order}}
"""


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_sql_keywords_and_mixed_case_names_are_quoted_identifiers(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    # SPEC §9: "Identifiers are built as sqlglot identifiers (quoted), never pasted into
    # SQL text". Names that are valid by the name rule but SQL keywords or mixed case.
    project, args = PROJECT, []
    if engine == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        project += f'  warehouse: {{type: postgres, dsn: "{dsn}"}}\n'
        args = ["--target", "warehouse"]
    root = _project(tmp_path / "p", KEYWORDS_YML, project)
    (root / "data" / "kw.csv").write_text('"select",from,Order,"group by"\n1,2,3,4\n2,5,6,7\n')
    result = _aligned(root, "run", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    rel = duckdb.sql(f"select * from '{root / 'target' / 'datasets' / 'table.parquet'}'")
    assert rel.columns[-2:] == ["Where", "select__group_"] or rel.columns[-2:] == [
        "Where",
        "group_",
    ]
    assert [row[-2] for row in rel.fetchall()] == [5, 11]


# --- §9 YAML safety ---------------------------------------------------------------------


def test_duplicate_keys_in_the_project_file_and_in_flow_mappings(tmp_path: Path) -> None:
    # SPEC §9: "Unknown YAML keys are errors (with the closest valid key), as are
    # duplicate keys."
    root = _project(tmp_path / "a", project=PROJECT + "  local: {type: duckdb}\n")
    _project_error(root, "aligned_project.yml:", "local")
    flow = _replace(BASE, "sex: {type: string}", "sex: {type: string, type: int64}")
    _project_error(_project(tmp_path / "b", flow), "features/f.yml:", "type")


def test_ordinary_anchors_and_merge_keys_are_accepted(tmp_path: Path) -> None:
    # SPEC §9: "YAML is loaded safely (no Python tags; alias bombs refused)" — plain
    # anchors, aliases and merge keys are ordinary YAML and keep working.
    features = """
        sources: [{name: s, file: data/s.csv}]
        feature_views:
          - name: v
            source: s
            entities: [k]
            features:
              k: {type: int64}
              x: &num {type: float, lower_bound: 0}
          - name: w
            source: s
            entities: [k]
            features:
              k: {type: int64}
              x:
                <<: *num
                upper_bound: 5
        """
    root = _project(tmp_path / "p", features)
    result = _aligned(root, "ls", "--resource-type", "test", "--output", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    names = {row["name"] for row in json.loads(result.stdout)}
    assert {"v__x__lower_bound", "w__x__lower_bound", "w__x__upper_bound"} <= names


def test_derived_feature_cycle_names_the_cycle(tmp_path: Path) -> None:
    # SPEC §9: "Cycle → the cycle."
    features = _replace(
        BASE,
        "sex: {type: string}",
        'sex: {type: string}\n      a1: {expression: "a2 + 1"}\n      a2: {expression: "a1 + 1"}',
    )
    output = _project_error(_project(tmp_path / "p", features), "cycle")
    assert "a1" in output and "a2" in output


def test_invalid_name_in_a_python_file_is_located(tmp_path: Path) -> None:
    # SPEC §9 names rule applies to the Python DSL too (§3.2: "the same IR").
    dsl = """
        from aligned_cli import FileSource, Float, Int64, feature_view

        s2 = FileSource.csv_at("data/s.csv")


        @feature_view(name="bad-name", source=s2)
        class Bad:
            k = Int64().as_entity()
            x = Float()
        """
    root = _project(tmp_path / "p", extra={"features/dsl.py": dsl})
    _project_error(root, "features/dsl.py", "bad-name")
