"""SPEC §8 conformance audit: the runtime API snippets verbatim (async and *_sync twins),
entity frame kinds, result column order, point-in-time loads, previous() and
freshness(), on a project compiled by the real `aligned` executable."""

from __future__ import annotations

import asyncio
import shutil
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from _audit import aligned

from aligned_cli import FileSource

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _compile(root: Path) -> None:
    result = aligned(root, "compile")
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def titanic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("audit_api") / "titanic"
    shutil.copytree(FIXTURES / "titanic_yaml", root, ignore=shutil.ignore_patterns("target"))
    _compile(root)
    return root


NOW = datetime.now(UTC).replace(microsecond=0, tzinfo=None)


@pytest.fixture(scope="module")
def matches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("audit_api") / "matches"
    (root / "features").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "aligned_project.yml").write_text(
        "name: m\nconnections:\n  local: {type: duckdb, path: target/m.duckdb}\n"
    )
    rows = ["k,ts,v"]
    for k, days in enumerate([1, 10, 29, 31, 40]):
        rows.append(f"{k},{(NOW - timedelta(days=days)).isoformat(sep=' ')},{k}")
    rows.append(f"9,{(NOW + timedelta(days=3)).isoformat(sep=' ')},9")  # future row
    (root / "data" / "m.csv").write_text("\n".join(rows) + "\n")
    (root / "features" / "f.yml").write_text(
        textwrap.dedent(
            """
            sources: [{name: s, file: data/m.csv}]
            feature_views:
              - name: match
                source: s
                entities: [k]
                event_timestamp: ts
                features: {k: {type: int64}, v: {type: int64}, v2: {expression: "v * 2"}}
              - name: other
                source: s
                entities: [k]
                event_timestamp: ts
                features: {k: {type: int64}, v: {type: int64}}
            """
        )
    )
    _compile(root)
    return root


def _store(root: Path) -> Any:
    async def load() -> Any:
        return await FileSource.json_at(str(root / "target" / "manifest.json")).feature_store()

    return asyncio.run(load())


def test_model_features_for_a_dict_of_lists(titanic: Path) -> None:
    store = _store(titanic)

    async def go() -> pd.DataFrame:
        return await store.model("titanic").features_for({"passenger_id": [3, 1, 2]}).to_pandas()

    df = asyncio.run(go())
    assert list(df["passenger_id"]) == [3, 1, 2]
    assert list(df.columns)[:6] == [
        "passenger_id",
        "constant_filled_age",
        "is_male",
        "sibsp",
        "pclass",
        "family_size",
    ]
    assert df["constant_filled_age"].tolist() == [26.0, 22.0, 38.0]


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow"])
def test_entity_frame_kinds_and_column_order(titanic: Path, kind: str) -> None:
    data = {"extra": ["a", "b", "c"], "passenger_id": [2, 1, 2]}
    entities: Any = {
        "pandas": pd.DataFrame(data),
        "polars": pl.DataFrame(data),
        "arrow": pa.table(data),
    }[kind]
    store = _store(titanic)

    async def go() -> pl.DataFrame:
        job = store.features_for(entities, features=["passenger:age", "passenger:is_male"])
        return await job.to_polars()

    df = asyncio.run(go())
    assert isinstance(df, pl.DataFrame)
    assert df.columns == ["extra", "passenger_id", "age", "is_male"]
    assert df.rows() == [("a", 2, 38.0, False), ("b", 1, 22.0, True), ("c", 2, 38.0, False)]


def test_all_with_limit_and_arrow(titanic: Path) -> None:
    store = _store(titanic)

    async def go() -> tuple[pd.DataFrame, pa.Table]:
        view = store.feature_view("passenger")
        return await view.all(limit=100).to_pandas(), await view.all(limit=3).to_arrow()

    frame, table = asyncio.run(go())
    assert len(frame) == 100
    assert isinstance(table, pa.Table) and table.num_rows == 3


def test_sync_twins_work_inside_a_running_event_loop(titanic: Path) -> None:
    store = _store(titanic)

    async def inside_loop() -> tuple[Any, Any, Any]:
        job = store.features_for({"passenger_id": [1]}, features=["passenger:age"])
        return job.to_pandas_sync(), job.to_polars_sync(), job.to_arrow_sync()

    frame, polars_frame, table = asyncio.run(inside_loop())
    assert frame["age"].tolist() == [22.0]
    assert isinstance(polars_frame, pl.DataFrame)
    assert isinstance(table, pa.Table)


def test_point_in_time_load_and_latest_as_of_now(matches: Path) -> None:
    store = _store(matches)
    entities = pd.DataFrame(
        {
            "k": [0, 0, 9],
            "event_timestamp": pd.to_datetime(
                [NOW - timedelta(days=2), NOW, NOW + timedelta(days=5)], utc=True
            ),
        }
    )

    async def go() -> tuple[pd.DataFrame, pl.DataFrame]:
        pit = await store.features_for(entities, features=["match:v2", "match:v"]).to_pandas()
        latest = await store.features_for({"k": [9, 0]}, features=["match:v"]).to_polars()
        return pit, latest

    pit, latest = asyncio.run(go())
    assert list(pit.columns) == ["k", "event_timestamp", "v2", "v"]
    assert pd.isna(pit["v"][0]) and pit["v"][1] == 0 and pit["v"][2] == 9
    assert latest.rows() == [(9, None), (0, 0)]  # the future row is not "latest as of now"


def test_view_feature_naming_when_two_views_share_a_name(matches: Path) -> None:
    store = _store(matches)

    async def go() -> pd.DataFrame:
        return await store.features_for({"k": [1]}, features=["match:v", "other:v"]).to_pandas()

    assert list(asyncio.run(go()).columns) == ["k", "match__v", "other__v"]


def test_previous_and_freshness(matches: Path) -> None:
    store = _store(matches)

    async def go() -> tuple[pd.DataFrame, datetime]:
        view = store.feature_view("match")
        return await view.previous(days=30).to_pandas(), await view.freshness()

    previous, fresh = asyncio.run(go())
    assert sorted(previous["k"].tolist()) == [0, 1, 2]  # within [now - 30d, now]
    assert fresh.tzinfo is not None and fresh.utcoffset() == timedelta(0)
