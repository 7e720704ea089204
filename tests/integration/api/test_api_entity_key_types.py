"""Entity keys reach every engine in their declared type (SPEC §8: one row per entity
row; §9: a clear message for bad input). An empty or all-NULL key column used to fail
on PostgreSQL (Arrow's null type became text); `"01"` matched key 1 on DuckDB (an
implicit cast, and two rows for one entity row against a string key) and failed on
PostgreSQL. Integer keys take integral floats and canonical integer text, as serving
does; anything else is a UsageError on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import compile_project

from aligned_cli import FeatureStore
from aligned_cli.errors import UsageError

FEATURES = """
sources:
  - {name: users_src, file: data/users.csv}
  - {name: codes_src, file: data/codes.csv}
feature_views:
  - name: users
    source: users_src
    entities: [user_id]
    features: {user_id: {type: int32}, score: {type: float}}
  - name: codes
    source: codes_src
    entities: [code]
    features: {code: {type: string}, val: {type: string}}
"""


@pytest.fixture(params=["local", pytest.param("warehouse", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FeatureStore:
    dsn = "postgresql://127.0.0.1:1/unused"
    if request.param == "warehouse":
        dsn = request.getfixturevalue("postgres_dsn")
    root = tmp_path / "keys"
    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text(
        "name: keys\nconnections:\n  local: {type: duckdb, path: target/keys.duckdb}\n"
        f'  warehouse: {{type: postgres, dsn: "{dsn}"}}\n'
    )
    (root / "features" / "f.yml").write_text(FEATURES)
    (root / "data" / "users.csv").write_text("user_id,score\n1,10.0\n2,20.0\n")
    (root / "data" / "codes.csv").write_text("code,val\n1,one\n01,zero-one\n2,two\n")
    return FeatureStore.from_manifest(compile_project(root)).with_connection(request.param)


def _rows(store: FeatureStore, entities: dict[str, list[object]], feature: str) -> list[object]:
    table = store.features_for(entities, features=[feature]).to_arrow_sync()
    return table.to_pylist()


@pytest.mark.parametrize("keys", [[], [None], [None, None]])
def test_empty_and_all_null_key_columns(store: FeatureStore, keys: list[object]) -> None:
    rows = _rows(store, {"user_id": keys}, "users:score")
    assert rows == [{"user_id": None, "score": None} for _ in keys]
    rows = _rows(store, {"code": keys}, "codes:val")
    assert rows == [{"code": None, "val": None} for _ in keys]


def test_integer_keys_take_integral_floats_and_integer_text(store: FeatureStore) -> None:
    rows = _rows(store, {"user_id": ["2", None, "1"]}, "users:score")
    assert [(r["user_id"], r["score"]) for r in rows] == [(2, 20.0), (None, None), (1, 10.0)]
    rows = _rows(store, {"user_id": [1.0, float("nan"), 2.0]}, "users:score")
    assert [r["score"] for r in rows] == [10.0, None, 20.0]


def test_string_keys_match_exactly(store: FeatureStore) -> None:
    rows = _rows(store, {"code": ["01", "1", "3"]}, "codes:val")
    assert [r["val"] for r in rows] == ["zero-one", "one", None]  # one row per entity row


@pytest.mark.parametrize(
    ("entities", "feature", "fragment"),
    [
        ({"user_id": ["1", "01"]}, "users:score", "not a whole number written plainly"),
        ({"user_id": [1.5]}, "users:score", "numbers with a fraction"),
        ({"user_id": [True, False]}, "users:score", "booleans"),
        ({"user_id": ["abc"]}, "users:score", "not a whole number"),
        ({"code": [1, 2]}, "codes:val", "declared string, but the entities hold int64"),
    ],
)
def test_keys_no_key_of_the_type_can_have_are_usage_errors(
    store: FeatureStore, entities: dict[str, list[object]], feature: str, fragment: str
) -> None:
    with pytest.raises(UsageError, match=fragment):
        store.features_for(entities, features=[feature]).to_arrow_sync()
