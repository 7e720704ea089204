"""SPEC §6 / §7 conformance audit: data-quality test names, failure counts, severities,
warn_if/error_if, samples, statuses, build -> test -> swap; manifest and run_results
shape, unique ids, JSON Schema and determinism. Real `aligned` executable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _audit import aligned, project_yml, results, write_project

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"

PROJECT = project_yml("q")


def _quality_data() -> str:
    rows = ["k,v,c,w"]
    for i in range(1, 21):
        rows.append(f"{i},{i},{'a' if i % 2 else 'z'},{'' if i <= 8 else i}")
    rows += ["3,3,a,1", "3,3,a,1", "4,4,z,1"]  # k=3 three times, k=4 twice
    return "\n".join(rows) + "\n"


QUALITY_YAML = """
sources:
  - {name: d_src, file: data/d.csv}
  - {name: o_src, file: data/o.csv}
feature_views:
  - name: d
    source: d_src
    entities: [k]
    features:
      k: {type: int64}
      v: {type: int64, upper_bound: {value: 10, is_inclusive: false},
          lower_bound: {value: 12, warn_if: ">10", error_if: ">70%"}}
      c: {type: string, accepted_values: {values: [a], severity: warn}}
      w: {type: int64, not_null: true}
    tests:
      - {name: big_v, sql: "select * from {{ this }} where v > 18"}
      - {name: broken, sql: "select * from {{ this }} where no_such_column > 1"}
  - name: o
    source: o_src
    entities: [oid]
    features:
      oid: {type: int64}
      k: {type: int64, relationships: {to: d, field: k}}
"""


@pytest.fixture(scope="module")
def quality(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    root = write_project(
        tmp_path_factory.mktemp("audit_quality") / "q",
        {
            "data/d.csv": _quality_data(),
            "data/o.csv": "oid,k\n1,1\n2,99\n3,\n",
            "features/f.yml": QUALITY_YAML,
        },
        PROJECT,
    )
    return root, aligned(root, "test")


def test_test_names_follow_the_spec(quality: tuple[Path, Any]) -> None:
    root, _ = quality
    assert set(results(root)) == {
        "big_v",
        "broken",
        "d__c__accepted_values",
        "d__unique",
        "d__v__lower_bound",
        "d__v__upper_bound",
        "d__w__required",  # `not_null` is named `required`
        "o__k__relationships",
        "o__unique",
    }


def test_failure_counts_statuses_and_samples(quality: tuple[Path, Any]) -> None:
    root, result = quality
    assert result.returncode == 1  # error-severity failures
    r = results(root)
    # unique: the number of duplicated key values (k=3 and k=4), as in dbt
    assert (r["d__unique"]["status"], r["d__unique"]["failures"]) == ("fail", 2)
    # upper_bound exclusive: v >= 10 fails -> 10..20
    assert (r["d__v__upper_bound"]["status"], r["d__v__upper_bound"]["failures"]) == ("fail", 11)
    # lower_bound 12: 14 of 23 rows (60.9%): > 10 rows (warn) but not > 70% (error)
    assert (r["d__v__lower_bound"]["status"], r["d__v__lower_bound"]["failures"]) == ("warn", 14)
    assert (r["d__c__accepted_values"]["status"], r["d__c__accepted_values"]["failures"]) == (
        "warn",
        11,
    )
    assert (r["d__w__required"]["status"], r["d__w__required"]["failures"]) == ("fail", 8)
    # NULLs fail only `required`: the NULL k in o is not a relationships failure
    assert r["o__k__relationships"]["failures"] == 1
    assert r["big_v"]["failures"] == 2
    assert r["broken"]["status"] == "error"  # the test could not run
    assert r["o__unique"]["status"] == "pass"
    for row in r.values():
        assert len(row["sample"]) <= 5
        assert row["status"] in {"pass", "fail", "warn", "error"}
    assert len(r["d__v__upper_bound"]["sample"]) == 5


def test_warn_only_failures_exit_0(quality: tuple[Path, Any]) -> None:
    root, _ = quality
    result = aligned(root, "test", "-s", "d__c__accepted_values")
    assert result.returncode == 0, result.stdout


def test_store_failures_keeps_failing_rows(quality: tuple[Path, Any]) -> None:
    root, _ = quality
    result = aligned(root, "test", "-s", "d__w__required", "--store-failures")
    assert result.returncode == 1
    con = duckdb.connect(str(root / "target" / "q.duckdb"), read_only=True)
    try:
        count = con.sql('select count(*) from aligned_failures."d__w__required"').fetchall()
    finally:
        con.close()
    assert count == [(8,)]


def test_build_test_swap_keeps_old_data_and_skips_descendants(tmp_path: Path) -> None:
    yaml_text = """
        sources: [{name: s, file: data/s.csv}]
        feature_views:
          - name: v
            source: s
            entities: [k]
            materialized_source: {file: target/materialized/v.parquet}
            features: {k: {type: int64}, x: {type: float, upper_bound: 5}}
        models:
          - {name: m, features: [v:x], spine: s}
        """
    root = write_project(
        tmp_path / "p", {"data/s.csv": "k,x\n1,1\n2,2\n", "features/f.yml": yaml_text}, PROJECT
    )
    assert aligned(root, "run").returncode == 0
    (root / "data" / "s.csv").write_text("k,x\n1,1\n2,2\n3,9\n")
    result = aligned(root, "run")
    assert result.returncode == 1
    r = results(root)
    assert r["v"]["status"] == "fail"
    assert r["m"]["status"] == "skipped"
    assert r["v__x__upper_bound"]["failures"] == 1
    materialized = root / "target" / "materialized" / "v.parquet"
    assert duckdb.sql(f"select count(*) from '{materialized}'").fetchall() == [(2,)]
    for row in r.values():
        assert {"status", "timing", "rows_affected", "message", "failures"} <= set(row)
        assert row["status"] in {"success", "error", "skipped", "warn", "fail", "pass"}


# --- §7 manifest -------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("audit_manifest") / "titanic"
    shutil.copytree(FIXTURES / "titanic_yaml", root, ignore=shutil.ignore_patterns("target"))
    result = aligned(root, "compile")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads((root / "target" / "manifest.json").read_text())
    return data


def test_manifest_top_level_keys_and_metadata(manifest: dict[str, Any]) -> None:
    for key in (
        "metadata",
        "sources",
        "feature_views",
        "models",
        "tests",
        "nodes",
        "parent_map",
        "child_map",
        "feature_lineage",
    ):
        assert key in manifest, key
    for key in (
        "aligned_version",
        "schema_version",
        "project_name",
        "generated_at",
        "invocation_id",
    ):
        assert key in manifest["metadata"], key
    assert manifest["metadata"]["project_name"] == "titanic"


def test_manifest_unique_ids_and_node_fields(manifest: dict[str, Any]) -> None:
    nodes = manifest["nodes"]
    for uid in (
        "source.titanic.titanic_csv",
        "view.titanic.passenger",
        "feature.titanic.passenger.age",
        "model.titanic.titanic",
        "test.titanic.passenger__age__upper_bound",
        "test.titanic.passenger__unique",
    ):
        assert uid in nodes, uid
    for uid, node in nodes.items():
        for key in ("kind", "name", "file", "line", "checksum", "depends_on", "compiled_sql"):
            assert key in node, (uid, key)
        assert uid.split(".")[0] == node["kind"]
    assert set(nodes["model.titanic.titanic"]["compiled_sql"]) >= {"duckdb", "postgres"}
    assert nodes["feature.titanic.passenger.age"]["file"] == "features/titanic.yml"
    assert (
        "feature.titanic.passenger.age"
        in manifest["parent_map"]["feature.titanic.passenger.constant_filled_age"]
    )
    assert "model.titanic.titanic" in manifest["child_map"]["feature.titanic.passenger.is_male"]
    lineage = manifest["feature_lineage"]["feature.titanic.passenger.is_male"]
    assert any("Sex" in column for column in lineage)


def test_manifest_validates_against_the_shipped_schema(manifest: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schemas = list((REPO / "aligned_cli" / "artifacts" / "schemas").glob("manifest*.json"))
    assert schemas, "a JSON Schema for the manifest ships in the package"
    jsonschema.validate(manifest, json.loads(schemas[0].read_text()))


def test_same_project_twice_gives_the_same_manifest(tmp_path: Path) -> None:
    manifests = []
    for name in ("one", "two"):
        root = tmp_path / name
        shutil.copytree(FIXTURES / "titanic_yaml", root, ignore=shutil.ignore_patterns("target"))
        result = aligned(root, "compile", env={"ALIGNED_NO_CACHE": "1"})
        assert result.returncode == 0, result.stderr
        data = json.loads((root / "target" / "manifest.json").read_text())
        data["metadata"].pop("generated_at")
        data["metadata"].pop("invocation_id")
        manifests.append(data)
    assert manifests[0] == manifests[1]


def test_compile_writes_compiled_sql_per_dialect(tmp_path: Path) -> None:
    root = tmp_path / "t"
    shutil.copytree(FIXTURES / "titanic_yaml", root, ignore=shutil.ignore_patterns("target"))
    assert aligned(root, "compile", "--dialect", "duckdb").returncode == 0
    assert (root / "target" / "compiled" / "duckdb" / "model.titanic.titanic.sql").is_file()
    assert aligned(root, "compile", "--dialect", "oracle").returncode == 2


def test_unique_covers_keys_event_and_created_timestamps(tmp_path: Path) -> None:
    yaml_text = """
        sources: [{name: s, file: data/s.csv}]
        feature_views:
          - name: v
            source: s
            entities: [k]
            event_timestamp: ts
            created_timestamp: created
            features: {k: {type: int64}, x: {type: int64}}
        """
    data = (
        "k,ts,created,x\n"
        "5,2024-01-01 00:00:00,,1\n5,2024-01-01 00:00:00,,2\n"  # equal, NULL created
        "6,2024-01-01 00:00:00,2024-01-01,1\n6,2024-01-01 00:00:00,2024-01-01,2\n"
        "6,2024-01-02 00:00:00,2024-01-01,1\n"  # other event time: not a duplicate
        "7,2024-01-01 00:00:00,2024-01-01,1\n7,2024-01-01 00:00:00,2024-01-02,1\n"
    )
    root = write_project(tmp_path / "p", {"data/s.csv": data, "features/f.yml": yaml_text}, PROJECT)
    assert aligned(root, "test").returncode == 1
    unique = results(root)["v__unique"]
    assert (unique["status"], unique["failures"]) == ("fail", 2)
