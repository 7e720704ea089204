"""SPEC §6 audit, round 3: data-quality test corners through the real `aligned`
executable (and `.validate()` of the §8 runtime API): exclusive bounds, `warn_if` /
`error_if` counts and percentages, `severity: warn`, `relationships`, custom SQL tests
with `{{ this }}` and Jinja, the `unique` count, samples, `status: error`,
`--store-failures` on PostgreSQL, and build -> test -> swap during `aligned run`."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import duckdb
from _audit import aligned, environ_without, project_yml, results, write_project

PROJECT = project_yml("q")


def _project(root: Path, files: dict[str, str], project: str = PROJECT) -> Path:
    return write_project(root, files, project)


def _aligned(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`aligned` with COLUMNS=200 and no AUDIT3_* variables, 120 s."""
    environ = environ_without("AUDIT3_")
    return aligned(
        root, *args, env={"COLUMNS": "200", **(env or {})}, base_env=environ, timeout=120
    )


def _numbers(n: int) -> str:
    return "k,v\n" + "".join(f"{i},{i}\n" for i in range(1, n + 1))


# --- bounds and thresholds ------------------------------------------------------------

BOUNDS_YML = """
sources: [{name: d_src, file: data/d.csv}]
feature_views:
  - name: d
    source: d_src
    entities: [k]
    features:
      k: {type: int64}
      v: {type: int64, lower_bound: {value: 3, is_inclusive: false}, upper_bound: 198}
"""


def test_lower_bound_exclusive_and_upper_bound_inclusive(tmp_path: Path) -> None:
    # SPEC §6: "`lower_bound`, `upper_bound` (inclusive unless `is_inclusive: false`)".
    root = _project(tmp_path / "p", {"data/d.csv": _numbers(200), "features/f.yml": BOUNDS_YML})
    assert _aligned(root, "test").returncode == 1
    r = results(root)
    assert r["d__v__lower_bound"]["failures"] == 3  # 1, 2 and 3 (= the bound) fail
    assert r["d__v__upper_bound"]["failures"] == 2  # 199, 200; 198 itself passes
    assert sorted(row["v"] for row in r["d__v__lower_bound"]["sample"]) == [1, 2, 3]


PERCENT_YML = """
sources: [{name: d_src, file: data/d.csv}]
feature_views:
  - name: d
    source: d_src
    entities: [k]
    features:
      k: {type: int64}
      v: {type: int64,
          upper_bound: {value: 198, error_if: ">1%"},
          lower_bound: {value: 4, error_if: ">1%"}}
"""


def test_error_if_percent_is_of_the_views_rows(tmp_path: Path) -> None:
    # SPEC §6: "optional `warn_if`/`error_if` (`">10"`, `">1%"`)" — 2 of 200 rows is
    # exactly 1 % (not above: warn, any failure still warns), 3 of 200 is above (fail).
    root = _project(tmp_path / "p", {"data/d.csv": _numbers(200), "features/f.yml": PERCENT_YML})
    result = _aligned(root, "test")
    r = results(root)
    assert (r["d__v__upper_bound"]["status"], r["d__v__upper_bound"]["failures"]) == ("warn", 2)
    assert (r["d__v__lower_bound"]["status"], r["d__v__lower_bound"]["failures"]) == ("fail", 3)
    assert result.returncode == 1


COUNT_YML = """
sources: [{name: d_src, file: data/d.csv}]
feature_views:
  - name: d
    source: d_src
    entities: [k]
    features:
      k: {type: int64}
      v: {type: int64}
    tests:
      - {name: few, sql: "select * from {{ this }} where v <= 5",
         warn_if: ">10", error_if: ">20"}
      - {name: some, sql: "select * from {{ this }} where v <= 15",
         warn_if: ">10", error_if: ">20"}
      - {name: many, sql: "select * from {{ this }} where v <= 25",
         warn_if: ">10", error_if: ">20"}
"""


def test_warn_if_and_error_if_counts(tmp_path: Path) -> None:
    # SPEC §6: "`warn_if`/`error_if` (`">10"`, ...)"; custom SQL tests "returning failing
    # rows": the failure count is the number of rows the SQL returns.
    root = _project(tmp_path / "p", {"data/d.csv": _numbers(40), "features/f.yml": COUNT_YML})
    result = _aligned(root, "test", "-s", "few", "some", "many")
    r = results(root)
    assert (r["few"]["status"], r["few"]["failures"]) == ("pass", 5)
    assert (r["some"]["status"], r["some"]["failures"]) == ("warn", 15)
    assert (r["many"]["status"], r["many"]["failures"]) == ("fail", 25)
    assert result.returncode == 1
    warn_only = _aligned(root, "test", "-s", "few", "some")
    assert warn_only.returncode == 0, warn_only.stdout


SEVERITY_WARN_YML = """
sources: [{name: d_src, file: data/d.csv}]
feature_views:
  - name: d
    source: d_src
    entities: [k]
    features:
      k: {type: int64}
      v: {type: int64, upper_bound: {value: 33, severity: warn, warn_if: ">10"}}
"""


def test_severity_warn_with_warn_if_passes_below_the_threshold(tmp_path: Path) -> None:
    # SPEC §6: "Each test has `severity: error|warn` (default error), optional
    # `warn_if`/`error_if` (`">10"`, ...)". As in dbt, a `severity: warn` test only
    # checks `warn_if`: "warn if more than 10 rows fail" does not warn on 7.
    root = _project(
        tmp_path / "p", {"data/d.csv": _numbers(40), "features/f.yml": SEVERITY_WARN_YML}
    )
    assert _aligned(root, "test").returncode == 0
    r = results(root)["d__v__upper_bound"]
    assert r["failures"] == 7
    assert r["status"] == "pass"


# --- unique ---------------------------------------------------------------------------

UNIQUE_YML = """
sources: [{name: d_src, file: data/d.csv}]
feature_views:
  - name: d
    source: d_src
    entities: [k]
    features:
      k: {type: int64}
      v: {type: int64}
"""


def test_unique_counts_duplicated_key_values_not_rows(tmp_path: Path) -> None:
    # SPEC §6: "its failure count is the number of duplicated key values (as in dbt)".
    data = "k,v\n1,1\n1,2\n1,3\n1,4\n2,1\n2,2\n3,1\n"
    root = _project(tmp_path / "p", {"data/d.csv": data, "features/f.yml": UNIQUE_YML})
    assert _aligned(root, "test").returncode == 1
    unique = results(root)["d__unique"]
    assert (unique["status"], unique["failures"]) == ("fail", 2)
    assert unique["message"] == "2 duplicated key value(s)"
    assert sorted(row["k"] for row in unique["sample"]) == [1, 2]


def test_unique_ignores_null_keys(tmp_path: Path) -> None:
    # SPEC §6: "its failure count is the number of duplicated key values (as in dbt)" —
    # dbt's unique test skips NULLs — and "NULLs fail only `required`"; §4: "NULL
    # entity keys match nothing". Two rows without a key are no duplicated key value.
    data = "k,v\n,1\n,2\n1,3\n2,4\n"
    root = _project(tmp_path / "p", {"data/d.csv": data, "features/f.yml": UNIQUE_YML})
    result = _aligned(root, "test")
    unique = results(root)["d__unique"]
    assert (unique["status"], unique["failures"]) == ("pass", 0)
    assert result.returncode == 0


# --- relationships, custom SQL, errors ----------------------------------------------

REL_YML = """
sources:
  - {name: d_src, file: data/d.csv}
  - {name: o_src, file: data/o.csv}
feature_views:
  - name: driver
    source: d_src
    entities: [driver_id]
    event_timestamp: ts
    features: {driver_id: {type: int64}, rating: {type: float}}
  - name: trip
    source: o_src
    entities: [trip_id]
    features:
      trip_id: {type: int64}
      driver_id: {type: int64, relationships: {to: driver}}
"""


def test_relationships_default_to_the_other_views_entity(tmp_path: Path) -> None:
    # SPEC §6: "`relationships` (to another view's entities)"; "NULLs fail only `required`".
    root = _project(
        tmp_path / "p",
        {
            "data/d.csv": "driver_id,ts,rating\n1,2024-01-01,4\n1,2024-01-02,5\n2,2024-01-01,3\n",
            "data/o.csv": "trip_id,driver_id\n10,1\n11,2\n12,7\n13,\n14,8\n15,7\n",
            "features/f.yml": REL_YML,
        },
    )
    assert _aligned(root, "test").returncode == 1
    rel = results(root)["trip__driver_id__relationships"]
    assert (rel["status"], rel["failures"]) == ("fail", 3)  # 12, 14 and 15; NULL is fine
    assert sorted(row["trip_id"] for row in rel["sample"]) == [12, 14, 15]


def test_custom_sql_test_count_and_at_most_five_sample_rows(tmp_path: Path) -> None:
    # SPEC §6: custom SQL tests (`select * from {{ this }} where ...`) "returning failing
    # rows"; "reports the failure count and up to 5 sample rows".
    yml = (
        UNIQUE_YML
        + '    tests:\n      - {name: big, sql: "select * from {{ this }} where v > 12"}\n'
    )
    root = _project(tmp_path / "p", {"data/d.csv": _numbers(20), "features/f.yml": yml})
    assert _aligned(root, "test", "-s", "big").returncode == 1
    big = results(root)["big"]
    assert (big["status"], big["failures"]) == ("fail", 8)
    assert len(big["sample"]) == 5
    assert all(row["v"] > 12 for row in big["sample"])


def test_custom_sql_test_renders_var_from_vars_and_cli(tmp_path: Path) -> None:
    # SPEC §2: "Every string in every YAML file is rendered with Jinja2 before parsing,
    # with ... `var(name, default=None)` (from `vars:` and `--vars`)".
    yml = UNIQUE_YML + (
        "    tests:\n"
        "      - {name: big, sql: \"select * from {{ this }} where v > {{ var('max_v') }}\"}\n"
    )
    root = _project(
        tmp_path / "p",
        {"data/d.csv": _numbers(20), "features/f.yml": yml},
        PROJECT + "vars:\n  max_v: 15\n",
    )
    result = _aligned(root, "test", "-s", "big")
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stdout + result.stderr  # 16..20 fail
    assert results(root)["big"]["failures"] == 5
    _aligned(root, "test", "-s", "big", "--vars", "{max_v: 18}")
    assert results(root)["big"]["failures"] == 2


def test_custom_sql_test_renders_env_var(tmp_path: Path) -> None:
    # SPEC §2: `env_var(name, default=None)` in every YAML string.
    yml = UNIQUE_YML + (
        "    tests:\n"
        '      - {name: big, sql: "select * from {{ this }} where v > '
        "{{ env_var('AUDIT3_MAX_V', '100') }}\"}\n"
    )
    root = _project(tmp_path / "p", {"data/d.csv": _numbers(20), "features/f.yml": yml})
    assert _aligned(root, "test", "-s", "big").returncode == 0
    assert results(root)["big"]["failures"] == 0
    assert _aligned(root, "test", "-s", "big", env={"AUDIT3_MAX_V": "17"}).returncode == 1
    assert results(root)["big"]["failures"] == 3


def test_a_test_that_cannot_run_is_error_not_fail(tmp_path: Path) -> None:
    # SPEC §6: "`status: pass|fail|warn|error`; `error` means the test itself could not
    # run, which is not the same as failing".
    yml = (
        UNIQUE_YML
        + '    tests:\n      - {name: broken, sql: "select * from {{ this }} where nope > 1"}\n'
    )
    root = _project(tmp_path / "p", {"data/d.csv": _numbers(3), "features/f.yml": yml})
    result = _aligned(root, "test", "-s", "broken")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    broken = results(root)["broken"]
    assert broken["status"] == "error"
    assert broken["failures"] in (None, 0) and broken["message"]


def test_store_failures_on_postgres(tmp_path: Path, postgres_dsn: str) -> None:
    # SPEC §5: "`aligned test [--select S] [--store-failures]`".
    import psycopg

    root = _project(
        tmp_path / "p",
        {"data/d.csv": _numbers(20), "features/f.yml": BOUNDS_YML},
        PROJECT + f'  warehouse: {{type: postgres, dsn: "{postgres_dsn}"}}\n',
    )
    result = _aligned(root, "test", "--target", "warehouse", "--store-failures")
    assert result.returncode == 1, result.stdout + result.stderr
    with psycopg.connect(postgres_dsn) as conn:
        rows = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_name = 'd__v__lower_bound'"
        ).fetchall()
        assert len(rows) == 1
        schema, table = rows[0]
        count = conn.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
    assert count == (3,)


# --- build -> test -> swap --------------------------------------------------------------

SWAP_YML = """
sources: [{name: s, file: data/s.csv}]
feature_views:
  - name: soft
    source: s
    entities: [k]
    materialized_source: {file: target/materialized/soft.parquet}
    features: {k: {type: int64}, x: {type: float, upper_bound: {value: 5, severity: warn}}}
  - name: hard
    source: s
    entities: [k]
    features: {k: {type: int64}, x: {type: float, upper_bound: 5}}
models:
  - {name: m_soft, features: [soft:x], spine: s}
  - {name: m_hard, features: [hard:x], spine: s}
"""


def _count(path: Path) -> int:
    return int(duckdb.sql(f"select count(*) from '{path}'").fetchall()[0][0])


def test_run_swaps_despite_warn_failures_and_blocks_on_error_failures(tmp_path: Path) -> None:
    # SPEC §6: "During `aligned run`, a view's error-severity tests run on the new data
    # before it replaces the old (build → test → swap); a failure keeps the old data and
    # skips descendants." Warn-severity failures do not block.
    root = _project(tmp_path / "p", {"data/s.csv": "k,x\n1,1\n2,2\n", "features/f.yml": SWAP_YML})
    first = _aligned(root, "run")
    assert first.returncode == 0, first.stdout + first.stderr
    (root / "data" / "s.csv").write_text("k,x\n1,1\n2,2\n3,9\n")
    second = _aligned(root, "run")
    assert second.returncode == 1
    r = results(root)
    assert r["soft"]["status"] == "success"
    assert r["soft__x__upper_bound"]["status"] == "warn"
    assert _count(root / "target" / "materialized" / "soft.parquet") == 3
    assert r["m_soft"]["status"] == "success"
    assert _count(root / "target" / "datasets" / "m_soft.parquet") == 3
    assert r["hard"]["status"] == "fail"
    assert r["hard__x__upper_bound"]["status"] == "fail"
    assert r["m_hard"]["status"] == "skipped"
    assert _count(root / "target" / "datasets" / "m_hard.parquet") == 2  # old data kept
    for row in r.values():
        assert {"status", "timing", "rows_affected", "message", "failures"} <= set(row)


# --- runtime validation -----------------------------------------------------------------

VALIDATE_YML = """
sources: [{name: s, file: data/s.csv}]
feature_views:
  - name: p
    source: s
    entities: [k]
    features:
      k: {type: int64}
      age: {type: float, lower_bound: 0, upper_bound: 110}
      sex: {type: string, accepted_values: [male, female]}
      ok: {type: bool, required: true}
      lim: {type: int64, upper_bound: {value: 10, is_inclusive: false}}
models:
  - {name: m, features: [p:age, p:sex, p:ok, p:lim]}
"""

VALIDATE_DATA = (
    "k,age,sex,ok,lim\n"
    "1,30,male,true,5\n"  # valid
    "2,200,female,true,5\n"  # age above its bound
    "3,40,x,true,5\n"  # sex not accepted
    "4,50,,true,5\n"  # NULL sex: NULLs fail only `required`
    "5,60,male,,5\n"  # ok is required
    "6,70,female,true,10\n"  # lim exclusive bound
    "7,,male,true,9\n"  # NULL age: valid
)


def _validated(root: Path, mode: str) -> Any:
    from aligned_cli import FileSource

    async def load() -> Any:
        store = await FileSource.json_at(str(root / "target" / "manifest.json")).feature_store()
        job = store.model("m").features_for({"k": [1, 2, 3, 4, 5, 6, 7]})
        return await job.validate(mode).to_pandas()

    cwd = os.getcwd()
    os.chdir(root)
    try:
        return asyncio.run(load())
    finally:
        os.chdir(cwd)


def test_validate_drop_and_flag_bounds_and_required(tmp_path: Path) -> None:
    # SPEC §6: "Runtime validation (`.validate()`) drops or flags rows that break the
    # constraints."
    root = _project(tmp_path / "p", {"data/s.csv": VALIDATE_DATA, "features/f.yml": VALIDATE_YML})
    assert _aligned(root, "compile").returncode == 0
    flagged = _validated(root, "flag")
    assert flagged["k"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert flagged["age__upper_bound__violated"].tolist() == [
        False,
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    assert flagged["ok__required__violated"].tolist() == [
        False,
        False,
        False,
        False,
        True,
        False,
        False,
    ]
    assert flagged["lim__upper_bound__violated"].tolist() == [
        False,
        False,
        False,
        False,
        False,
        True,
        False,
    ]
    assert not flagged["age__lower_bound__violated"].any()  # NULL age (k=7) is no violation


def test_validate_null_does_not_break_accepted_values(tmp_path: Path) -> None:
    # SPEC §6: "NULLs fail only `required`" and "Runtime validation (`.validate()`)
    # drops or flags rows that break the constraints."
    root = _project(tmp_path / "p", {"data/s.csv": VALIDATE_DATA, "features/f.yml": VALIDATE_YML})
    assert _aligned(root, "compile").returncode == 0
    flagged = _validated(root, "flag")
    assert flagged["sex__accepted_values__violated"].tolist() == [
        False,
        False,
        True,
        False,
        False,
        False,
        False,
    ]
    assert _validated(root, "drop")["k"].tolist() == [1, 4, 7]
