"""SPEC §7 / §9 audit, round 3: manifest and run_results details the earlier rounds did
not pin down — the JSON Schema on richer projects (view-on-view, aggregations, Python
DSL, relationships, custom tests), determinism of DSL projects, depends_on vs
parent_map/child_map, the SPEC's edge list, feature_lineage through a view chain,
compiled SQL per dialect, run_results of interrupted and concurrent runs. Real
`aligned` executable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _audit import ALIGNED, aligned, project_yml, write_project

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"

PROJECT = project_yml("g")

CHAIN_YML = """
sources:
  - {name: s, file: data/s.csv}
  - {name: o, file: data/o.csv}
feature_views:
  - name: base
    source: s
    entities: [k]
    event_timestamp: ts
    tags: [t1]
    features:
      k: {type: int64}
      x: {type: float, upper_bound: 10}
      c: {type: string, accepted_values: [a, b]}
      x2: {expression: "x * 2"}
    aggregations:
      n7: {function: count, window: 7d}
      xs: {function: sum, of: x2, window: 7d}
    tests:
      - {name: custom_t, sql: "select * from {{ this }} where x > 100"}
  - name: child
    source: view:base
    features:
      x: {}
      x2: {}
      x3: {expression: "x2 + 1"}
  - name: orders
    source: o
    entities: [oid]
    features:
      oid: {type: int64}
      k: {type: int64, relationships: {to: base, field: k}}
models:
  - name: m
    features: [child:x3, base:n7, child:x]
    spine: o
"""

CHAIN_FILES = {
    "data/s.csv": "k,ts,x,c\n1,2024-01-01 00:00:00,1,a\n2,2024-01-01 00:00:00,2,b\n",
    "data/o.csv": "oid,k,event_timestamp\n1,1,2024-01-02 00:00:00\n2,2,2024-01-02 00:00:00\n",
    "features/f.yml": CHAIN_YML,
}


def _project(root: Path, files: dict[str, str], project: str = PROJECT) -> Path:
    return write_project(root, files, project)


def _aligned(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`aligned` with COLUMNS=200, 120 s."""
    return aligned(root, *args, env={"COLUMNS": "200", **(env or {})}, timeout=120)


def _manifest(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "target" / "manifest.json").read_text())
    return data


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = _project(tmp_path_factory.mktemp("audit3_art") / "g", CHAIN_FILES)
    result = _aligned(root, "compile")
    assert result.returncode == 0, result.stdout + result.stderr
    return _manifest(root)


def _schema() -> dict[str, Any]:
    from importlib.resources import files

    schemas = [
        p
        for p in (files("aligned_cli") / "artifacts" / "schemas").iterdir()
        if p.name.startswith("manifest")
    ]
    assert schemas, "a JSON Schema for the manifest ships in the package"
    data: dict[str, Any] = json.loads(schemas[0].read_text())
    return data


# --- JSON Schema -------------------------------------------------------------------------


def test_a_rich_manifest_validates_against_the_shipped_schema(chain: dict[str, Any]) -> None:
    # SPEC §7: "A JSON Schema for it ships in the package, and the manifest validates
    # against it."
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(chain, _schema())


@pytest.mark.parametrize("fixture", ["aggregations", "titanic_python", "quality"])
def test_fixture_manifests_validate_against_the_shipped_schema(
    tmp_path: Path, fixture: str
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root, ignore=shutil.ignore_patterns("target"))
    result = _aligned(root, "compile")
    assert result.returncode == 0, result.stdout + result.stderr
    jsonschema.validate(_manifest(root), _schema())


@pytest.mark.parametrize("fixture", ["titanic_python", "aggregations"])
def test_dsl_and_aggregation_projects_compile_deterministically(
    tmp_path: Path, fixture: str
) -> None:
    # SPEC §7: "Same project twice → identical manifest apart from `generated_at` and
    # `invocation_id`."
    manifests = []
    for seed, name in enumerate(("one", "two"), start=1):
        root = tmp_path / name
        shutil.copytree(FIXTURES / fixture, root, ignore=shutil.ignore_patterns("target"))
        env = {"ALIGNED_NO_CACHE": "1", "PYTHONHASHSEED": str(seed)}  # different set orders
        result = _aligned(root, "compile", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        data = _manifest(root)
        data["metadata"].pop("generated_at")
        data["metadata"].pop("invocation_id")
        manifests.append(json.dumps(data, sort_keys=False))
    assert manifests[0] == manifests[1]


# --- nodes, edges, lineage ----------------------------------------------------------------


def test_depends_on_matches_parent_map_and_child_map_is_its_inverse(
    chain: dict[str, Any],
) -> None:
    # SPEC §7: `nodes` (unique_id → {..., depends_on, ...}), `parent_map`, `child_map`.
    nodes, parents, children = chain["nodes"], chain["parent_map"], chain["child_map"]
    assert set(parents) == set(nodes) == set(children)
    inverse: dict[str, set[str]] = {uid: set() for uid in nodes}
    for uid, node in nodes.items():
        assert sorted(node["depends_on"]) == sorted(parents[uid]), uid
        for parent in node["depends_on"]:
            assert parent in nodes, (uid, parent)
            inverse[parent].add(uid)
    assert {uid: set(kids) for uid, kids in children.items()} == inverse


def test_every_edge_kind_the_spec_lists(chain: dict[str, Any]) -> None:
    # SPEC §5: "Edges: source → view that reads it; view → view built on it; view → each
    # of its features; input feature → derived feature; a view-on-view feature ← the
    # upstream feature it is computed from; feature → model that uses it; spine source →
    # model; feature → each constraint test on it; view → its `unique` and custom SQL tests."
    parents = {uid: set(p) for uid, p in chain["parent_map"].items()}
    edges = [
        ("source.g.s", "view.g.base"),
        ("view.g.base", "view.g.child"),
        ("view.g.base", "feature.g.base.x"),
        ("view.g.base", "feature.g.base.n7"),
        ("feature.g.base.x", "feature.g.base.x2"),
        ("feature.g.base.x", "feature.g.child.x"),
        ("feature.g.base.x2", "feature.g.child.x2"),
        ("feature.g.child.x2", "feature.g.child.x3"),
        ("feature.g.child.x3", "model.g.m"),
        ("feature.g.base.n7", "model.g.m"),
        ("source.g.o", "model.g.m"),
        ("feature.g.base.x", "test.g.base__x__upper_bound"),
        ("feature.g.base.c", "test.g.base__c__accepted_values"),
        ("feature.g.orders.k", "test.g.orders__k__relationships"),
        ("view.g.base", "test.g.base__unique"),
        ("view.g.base", "test.g.custom_t"),
        ("view.g.child", "test.g.child__unique"),
    ]
    missing = [(a, b) for a, b in edges if a not in parents.get(b, set())]
    assert missing == []
    # features of a view-on-view hang off their own view, not the parent's
    assert "view.g.child" in parents["feature.g.child.x"]


def test_node_fields_and_unique_id_formats(chain: dict[str, Any]) -> None:
    # SPEC §7: nodes (unique_id → {kind, name, file, line, checksum, depends_on,
    # compiled_sql{dialect: sql}}); "Unique ids: `source.<project>.<name>`, ...".
    prefixes = {
        "source": "source.g.",
        "view": "view.g.",
        "feature": "feature.g.",
        "model": "model.g.",
        "test": "test.g.",
    }
    for uid, node in chain["nodes"].items():
        assert uid.startswith(prefixes[node["kind"]]), uid
        assert node["file"] == "features/f.yml"
        assert isinstance(node["line"], int) and node["line"] >= 1
        assert isinstance(node["checksum"], str) and len(node["checksum"]) >= 16
        assert isinstance(node["compiled_sql"], dict)
    names = {uid: node["name"] for uid, node in chain["nodes"].items()}
    assert names["feature.g.child.x3"] == "child:x3"
    assert names["test.g.base__c__accepted_values"] == "base__c__accepted_values"
    for uid in ("view.g.base", "view.g.child", "model.g.m", "test.g.base__unique"):
        assert "duckdb" in chain["nodes"][uid]["compiled_sql"], uid
    lines = chain["nodes"]
    assert lines["view.g.base"]["line"] < lines["view.g.child"]["line"] < lines["model.g.m"]["line"]


def test_feature_lineage_reaches_source_columns_through_a_view_chain(
    chain: dict[str, Any],
) -> None:
    # SPEC §7: "`feature_lineage` (feature → upstream columns)"; §3.1: "every column
    # they name must resolve ..., which is how feature-level lineage is built".
    lineage = chain["feature_lineage"]
    for feature in ("feature.g.child.x3", "feature.g.child.x2", "feature.g.base.x2"):
        upstream = lineage[feature]
        assert upstream and all("x" in column for column in upstream), (feature, upstream)
        assert any(column.startswith("source.g.s") for column in upstream), upstream
    assert not any(col.rsplit(".", 1)[-1] == "c" for col in lineage["feature.g.child.x3"])


def test_compile_dialect_postgres_writes_its_sql_files(tmp_path: Path) -> None:
    # SPEC §5: "`aligned compile [--dialect D]` ... writes `target/manifest.json`,
    # `target/compiled/<dialect>/<node>.sql`"; §7 `compiled_sql{dialect: sql}`.
    root = _project(tmp_path / "g", CHAIN_FILES)
    result = _aligned(root, "compile", "--dialect", "postgres")
    assert result.returncode == 0, result.stdout + result.stderr
    folder = root / "target" / "compiled" / "postgres"
    for uid in ("model.g.m", "view.g.child", "test.g.base__unique", "test.g.custom_t"):
        path = folder / f"{uid}.sql"
        assert path.is_file(), uid
        assert "select" in path.read_text().lower()
        assert _manifest(root)["nodes"][uid]["compiled_sql"]["postgres"].strip()


# --- run_results -----------------------------------------------------------------------

SLOW_SQL = {
    # Far more work than a run may take: it is interrupted long before it ends, and a
    # busy CI box must not let it finish before the signal arrives.
    "duckdb": "(select count(*) from range(300000000000) t(i) where i % 7 = 3) < 0",
    "postgres": "(select count(*) from generate_series(1, 400000000) t(i) where i % 7 = 3) < 0",
}


def _slow_project(root: Path, engine: str, extra_project: str = "") -> Path:
    yml = f"""
        sources: [{{name: s, file: data/s.csv}}]
        feature_views:
          - name: a
            source: s
            entities: [k]
            features: {{k: {{type: int64}}, x: {{type: float}}}}
          - name: v
            source: s
            entities: [k]
            materialized_source: {{table: v_mat}}
            features: {{k: {{type: int64}}, x: {{type: float}}}}
            tests:
              - {{name: slow, sql: "select * from {{{{ this }}}} where {SLOW_SQL[engine]}"}}
        models:
          - {{name: m, features: [v:x], spine: s, output: {{file: target/datasets/m.parquet}}}}
          - {{name: m0, features: [a:x], spine: s}}
        """
    return _project(
        root,
        {"data/s.csv": "k,x\n1,1\n2,2\n", "features/f.yml": yml},
        PROJECT + extra_project,
    )


def _start(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [ALIGNED, "run", *args, "--project-dir", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        # A child of a background job inherits SIGINT ignored; the tests need Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for(process: subprocess.Popen[str], root: Path, seconds: float = 30) -> None:
    """Until the slow test is running (compile done, view `a` and model `m0` built)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (root / "target" / "datasets" / "m0.parquet").exists():
            time.sleep(1.0)
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    raise AssertionError("the run never reached its slow test")


def test_an_interrupted_run_writes_every_selected_nodes_final_status(tmp_path: Path) -> None:
    # SPEC §9: "A failed or interrupted run leaves earlier outputs untouched ..., leaves no
    # temporary objects behind, and still writes `run_results.json` with every selected
    # node's final status."
    root = _slow_project(tmp_path / "p", "duckdb")
    process = _start(root)
    _wait_for(process, root)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode != 0
    data = json.loads((root / "target" / "run_results.json").read_text())
    statuses = {r["name"]: r["status"] for r in data["results"]}
    assert set(statuses) == {"a", "a__unique", "m0", "v", "slow", "v__unique", "m"}
    assert statuses["a"] == statuses["m0"] == "success"
    assert statuses["m"] == "skipped" and statuses["v"] in ("skipped", "error")
    for row in data["results"]:
        assert {"status", "timing", "rows_affected", "message", "failures"} <= set(row)
    leftovers = [
        p.name for p in (root / "target").rglob("*") if "tmp" in p.name.lower() and p.is_file()
    ]
    assert leftovers == []
    con = duckdb.connect(str(root / "target" / "g.duckdb"), read_only=True)
    try:
        tables = {
            row[0] for row in con.sql("select table_name from information_schema.tables").fetchall()
        }
    finally:
        con.close()
    assert not any("tmp" in t.lower() for t in tables), tables
    assert "v_mat" not in tables  # never built: the interruption came first


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_a_second_run_on_the_same_target_fails_fast_with_a_lock_message(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    # SPEC §9: "Two runs against one target do not interleave: the second waits or fails
    # fast with a clear lock message."
    extra, args = "", []
    if engine == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        extra, args = f'  warehouse: {{type: postgres, dsn: "{dsn}"}}\n', ["--target", "warehouse"]
    root = _slow_project(tmp_path / "p", engine, extra)
    first = _start(root, *args)
    try:
        _wait_for(first, root)
        started = time.monotonic()
        second = aligned(root, "run", *args, timeout=120)
        waited = time.monotonic() - started  # the second run alone
        still_running = first.poll() is None
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert still_running, "the first run finished before the second started: inconclusive"
    assert second.returncode != 0
    assert waited < 20
    assert "lock" in (second.stdout + second.stderr).lower()
    assert "Traceback" not in second.stderr


def test_log_format_json_prints_one_json_object_per_line(tmp_path: Path) -> None:
    # SPEC §5: "Common flags: ... `--log-format json`" (CI reads it line by line).
    root = _project(tmp_path / "g", CHAIN_FILES)
    for args in (("run",), ("test",), ("run", "-s", "tag:nothing"), ("compile", "--vars", "[1]")):
        result = _aligned(root, *args, "--log-format", "json")
        lines = [
            line for line in (result.stdout + "\n" + result.stderr).splitlines() if line.strip()
        ]
        assert lines, args
        for line in lines:
            assert isinstance(json.loads(line), dict), (args, line)
