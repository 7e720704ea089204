"""SPEC §5 audit, round 3: selection-grammar corner cases on a small chained project
(source -> view -> view-on-view -> model, in nested folders), through the real
`aligned` executable: `2+x`, `x+1`, `@x`, comma intersection with graph operators,
`path:` for folders and files, inherited tags, the three multi-select spellings in
`test`, `--exclude`, `state:modified` for formatting-only vs real changes, every
`--resource-type` word, and empty selections."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from _audit import aligned, project_yml, write_project

PROJECT = project_yml("g")

SOURCES_YML = """
sources:
  - {name: s, file: data/s.csv}
  - {name: o, file: data/o.csv}
"""

BASE_YML = """
feature_views:
  - name: base
    source: s
    entities: [k]
    event_timestamp: ts
    tags: [t1]
    features:
      k: {type: int64}
      x: {type: float, upper_bound: 10}
      c: {type: string}
      x2: {expression: "x * 2"}
    aggregations:
      n7: {function: count, window: 7d}
    tests:
      - {name: custom_t, sql: "select * from {{ this }} where x > 100"}
"""

CHILD_YML = """
feature_views:
  - name: child
    source: view:base
    tags: [t2]
    features:
      x: {}
      x2: {}
      x3: {expression: "x2 + 1"}
"""

ORDERS_YML = """
feature_views:
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

FILES = {
    "data/s.csv": "k,ts,x,c\n1,2024-01-01 00:00:00,1,a\n2,2024-01-01 00:00:00,2,b\n",
    "data/o.csv": "oid,k,event_timestamp\n1,1,2024-01-02 00:00:00\n2,2,2024-01-02 00:00:00\n",
    "features/core/sources.yml": SOURCES_YML,
    "features/core/base.yml": BASE_YML,
    "features/derived/child.yml": CHILD_YML,
    "features/core_extra/orders.yml": ORDERS_YML,
}


def _aligned(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`aligned` with COLUMNS=200, 120 s."""
    return aligned(root, *args, env={"COLUMNS": "200"}, timeout=120)


def _ids(root: Path, *args: str) -> list[str]:
    result = _aligned(root, "ls", "--output", "json", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(result.stdout)
    return [row["unique_id"] for row in rows]


def _ran(root: Path) -> set[str]:
    data = json.loads((root / "target" / "run_results.json").read_text())
    return {r["unique_id"] for r in data["results"]}


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(tmp_path_factory.mktemp("audit3_sel") / "g", FILES, PROJECT)
    result = _aligned(root, "compile")
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def _f(view: str, feature: str) -> str:
    return f"feature.g.{view}.{feature}"


# --- graph operators ----------------------------------------------------------------


def test_n_plus_x_counts_edges_upstream(chain: Path) -> None:
    # SPEC §5: "graph operators `+x`, `x+`, `2+x`, `x+1`, `@x`" / "Depth in graph
    # operators counts edges." Edges: "view → each of its features; input feature →
    # derived feature; a view-on-view feature ← the upstream feature it is computed from".
    assert _ids(chain, "-s", "1+feature:child:x3") == sorted(
        [_f("child", "x2"), _f("child", "x3"), "view.g.child"]
    )
    assert _ids(chain, "-s", "2+feature:child:x3") == sorted(
        [_f("base", "x2"), _f("child", "x2"), _f("child", "x3"), "view.g.base", "view.g.child"]
    )


def test_x_plus_n_counts_edges_downstream(chain: Path) -> None:
    # SPEC §5: "feature → each constraint test on it"; "input feature → derived feature".
    assert _ids(chain, "-s", "feature:base:x+1") == sorted(
        [_f("base", "x"), _f("base", "x2"), _f("child", "x"), "test.g.base__x__upper_bound"]
    )
    # "view → view built on it"; "view → its `unique` and custom SQL tests".
    assert _ids(chain, "-s", "view:base+1") == sorted(
        [
            "view.g.base",
            "view.g.child",
            *(_f("base", f) for f in ("c", "k", "n7", "x", "x2")),
            "test.g.base__unique",
            "test.g.custom_t",
        ]
    )


def test_at_operator_adds_ancestors_of_descendants(chain: Path) -> None:
    # SPEC §5 `@x` (dbt): x, its descendants, and the ancestors of all of those.
    assert _ids(chain, "-s", "@view:child") == sorted(
        [
            "view.g.child",
            _f("child", "x"),
            _f("child", "x2"),
            _f("child", "x3"),
            "test.g.child__unique",
            "model.g.m",
            "view.g.base",
            "source.g.s",
            "source.g.o",
            _f("base", "x"),
            _f("base", "x2"),
            _f("base", "n7"),
        ]
    )


def test_comma_intersects_graph_operator_results(chain: Path) -> None:
    # SPEC §5: "space = union, comma = intersection".
    assert _ids(chain, "-s", "+model:m,tag:t1") == sorted(
        ["view.g.base", _f("base", "n7"), _f("base", "x"), _f("base", "x2")]
    )
    assert _ids(chain, "-s", "view:base+,+model:m", "--resource-type", "view") == [
        "view.g.base",
        "view.g.child",
    ]
    assert _ids(chain, "-s", "model:m+,tag:t1") == []


# --- path: and tag: -----------------------------------------------------------------


def test_path_selects_a_folder_without_matching_a_sibling_prefix(chain: Path) -> None:
    # SPEC §5: "`path:` ... means the declaration's file or folder".
    core = _ids(chain, "-s", "path:features/core")
    assert "source.g.s" in core and "view.g.base" in core
    assert "test.g.base__unique" in core and _f("base", "x2") in core
    assert "view.g.orders" not in core  # features/core_extra is another folder
    assert "model.g.m" not in core
    assert _ids(chain, "-s", "path:features/core/") == core


def test_path_selects_one_file(chain: Path) -> None:
    in_file = _ids(chain, "-s", "path:features/core/base.yml")
    assert "view.g.base" in in_file and "test.g.custom_t" in in_file
    assert "source.g.s" not in in_file  # declared in sources.yml
    assert _ids(chain, "-s", "path:features/core_extra/orders.yml", "--resource-type", "model") == [
        "model.g.m"
    ]


def test_tags_are_inherited_by_features_and_all_kinds_of_tests(chain: Path) -> None:
    # SPEC §5: "Features and tests carry their view's tags and file".
    tagged = set(_ids(chain, "-s", "tag:t1"))
    assert {
        "view.g.base",
        _f("base", "n7"),  # aggregated features too
        "test.g.base__unique",
        "test.g.base__x__upper_bound",
        "test.g.custom_t",
    } <= tagged
    assert not any(uid.startswith(("view.g.child", "feature.g.child")) for uid in tagged)
    assert set(_ids(chain, "-s", "tag:t2")) == {
        "view.g.child",
        _f("child", "x"),
        _f("child", "x2"),
        _f("child", "x3"),
        "test.g.child__unique",
    }


# --- union spellings, exclude, resource types, empty selections --------------------


def test_three_multi_select_spellings_agree_in_test(chain: Path) -> None:
    # SPEC §5: "`--select a b`, `--select "a b"` and `--select a --select b` mean the same."
    runs = []
    for args in (
        ["--select", "view:orders", "view:child"],
        ["--select", "view:orders view:child"],
        ["--select", "view:orders", "--select", "view:child"],
    ):
        result = _aligned(chain, "test", *args)
        assert result.returncode == 0, result.stdout + result.stderr
        runs.append(_ran(chain))
    assert runs[0] == runs[1] == runs[2]
    # "`run` and `test` add the tests of every selected node"
    assert {"test.g.orders__unique", "test.g.child__unique"} <= runs[0]


def test_exclude_subtracts_a_graph_selection(chain: Path) -> None:
    # SPEC §5: "`--exclude` subtracts".
    # +view:child is the view and its ancestors (view.base, source.s), not features
    assert _ids(chain, "-s", "+model:m", "--exclude", "+view:child") == sorted(
        [
            "model.g.m",
            "source.g.o",
            *(_f("child", f) for f in ("x", "x2", "x3")),
            *(_f("base", f) for f in ("n7", "x", "x2")),
        ]
    )
    assert _ids(chain, "-s", "+model:m", "--exclude", "tag:t1 tag:t2") == [
        "model.g.m",
        "source.g.o",
        "source.g.s",
    ]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("source", ["source.g.o", "source.g.s"]),
        ("view", ["view.g.base", "view.g.child"]),
        ("feature", sorted([_f("base", "n7"), _f("child", "x"), _f("child", "x3")])),
        ("model", ["model.g.m"]),
        ("test", []),
    ],
)
def test_resource_type_filters_a_selection(chain: Path, kind: str, expected: list[str]) -> None:
    # SPEC §5: "`--resource-type` takes these five words"; "depth counts edges".
    selected = _ids(chain, "-s", "+model:m", "--resource-type", kind)
    if kind == "feature":
        assert set(expected) <= set(selected)
        assert all(uid.startswith("feature.") for uid in selected)
    else:
        assert selected == expected


def test_empty_intersection_is_an_empty_list_and_a_warning(chain: Path) -> None:
    # SPEC §5: "An empty selection prints `[]` in `ls` and a "nothing selected" warning
    # in `run`/`test`, exit 0."
    assert _ids(chain, "-s", "tag:t1,tag:t2") == []
    for command in ("run", "test"):
        result = _aligned(chain, command, "-s", "tag:t1,tag:t2")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "nothing selected" in (result.stdout + result.stderr).lower()


def test_bare_feature_method_matches_every_view(chain: Path) -> None:
    # SPEC §5: "`feature:passenger:age`" and "a bare name matches ... a `view:feature`".
    assert _ids(chain, "-s", "child:x3") == [_f("child", "x3")]
    assert _ids(chain, "-s", "feature:child:x2") == [_f("child", "x2")]


# --- state:modified ------------------------------------------------------------------


@pytest.fixture()
def stateful(tmp_path: Path) -> tuple[Path, Path]:
    root = write_project(tmp_path / "g", FILES, PROJECT)
    result = _aligned(root, "compile")
    assert result.returncode == 0, result.stdout + result.stderr
    state = tmp_path / "state"
    shutil.copytree(root / "target", state)
    return root, state


def test_state_modified_ignores_formatting_only_changes(stateful: tuple[Path, Path]) -> None:
    # SPEC §5: "`state:modified` with `--state DIR` (compares node checksums with an older
    # manifest)"; reformatting a file is not a modification.
    root, state = stateful
    base = root / "features" / "core" / "base.yml"
    text = base.read_text()
    text = text.replace('x2: {expression: "x * 2"}', 'x2:\n        expression: "x   *   2"')
    text = text.replace("x: {type: float, upper_bound: 10}", "x: {upper_bound: 10, type: float}")
    base.write_text("# reformatted\n\n" + text)
    orders = root / "features" / "core_extra" / "orders.yml"
    head, _, models = orders.read_text().partition("models:")
    orders.write_text(head)
    (root / "features" / "core_extra" / "models.yml").write_text("models:" + models)
    assert _ids(root, "-s", "state:modified", "--state", str(state)) == []


def test_state_modified_selects_a_real_change_and_new_nodes(stateful: tuple[Path, Path]) -> None:
    root, state = stateful
    child = root / "features" / "derived" / "child.yml"
    child.write_text(
        child.read_text().replace('"x2 + 1"', '"x2 + 2"') + '      x4: {expression: "x + 4"}\n'
    )
    modified = set(_ids(root, "-s", "state:modified", "--state", str(state)))
    assert {_f("child", "x3"), _f("child", "x4")} <= modified
    assert not any(uid.startswith(("feature.g.base", "source.", "test.g.base")) for uid in modified)
    assert _f("child", "x2") not in modified
    downstream = set(_ids(root, "-s", "state:modified+", "--state", str(state)))
    assert "model.g.m" in downstream


def test_state_modified_for_a_changed_bound_selects_only_its_test(
    stateful: tuple[Path, Path],
) -> None:
    root, state = stateful
    base = root / "features" / "core" / "base.yml"
    base.write_text(base.read_text().replace("upper_bound: 10", "upper_bound: 11"))
    assert _ids(root, "-s", "state:modified", "--state", str(state)) == [
        "test.g.base__x__upper_bound"
    ]
