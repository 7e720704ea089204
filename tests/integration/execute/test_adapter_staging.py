"""Staging file sources into PostgreSQL: same values as DuckDB, reloaded only on change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aligned_cli.core.ir import Source
from aligned_cli.core.naming import staging_table
from aligned_cli.errors import ExecutionError, ProjectError
from aligned_cli.execute.adapters import Adapter
from aligned_cli.execute.adapters.pg_staging import staging_relation

pytestmark = pytest.mark.postgres

CSV = """PassengerId,Name,Age,Boarded,Survived,Fare
1,"Braund, Mr. Owen",22,2024-03-10 02:30:00,0,7.25
2,Cumings,,2024-03-10 03:00:00.5,1,
3,"",26.5,,1,8.05
"""
PROJECT = "proj"
MAPPING = {"PassengerId": "passenger_id", "Age": "age", "Survived": "survived"}


def write_csv(root: Path, text: str = CSV) -> Source:
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "titanic.csv").write_text(text)
    return Source(name="titanic_csv", file="data/titanic.csv", mapping=dict(MAPPING))


def duckdb_view(path: Path, mapping: dict[str, str]) -> list[dict[str, object]]:
    """What a DuckDB run reads from the same file, with the mapping applied."""
    relation = duckdb.sql(f"SELECT * FROM read_csv('{path}')")
    assert relation is not None
    rows: list[dict[str, object]] = relation.to_arrow_table().to_pylist()
    return [{mapping.get(k, k): v for k, v in row.items()} for row in rows]


def staged(pg: Adapter, name: str = "titanic_csv") -> list[dict[str, object]]:
    query = f"SELECT * FROM {staging_relation(PROJECT, name)} ORDER BY passenger_id"
    rows: list[dict[str, object]] = pg.fetch_arrow(query).to_pylist()
    return rows


def test_stage_applies_mapping_and_matches_duckdb(
    pg: Adapter, project_root: Path, temp_tables: Callable[[Adapter], list[str]]
) -> None:
    source = write_csv(project_root)
    assert pg.stage_source(source, project=PROJECT) is True
    rows = staged(pg)
    assert list(rows[0]) == ["passenger_id", "Name", "age", "Boarded", "survived", "Fare"]
    assert rows == duckdb_view(project_root / "data" / "titanic.csv", MAPPING)
    assert rows[1]["age"] is None
    assert temp_tables(pg) == []


def test_restage_only_when_content_changes(pg: Adapter, project_root: Path) -> None:
    source = write_csv(project_root)
    assert pg.stage_source(source, project=PROJECT) is True
    (sha_before,) = pg.fetch_rows(
        "SELECT sha256 FROM aligned_staging._aligned_files WHERE relation = 'proj__titanic_csv'"
    )[0]
    assert pg.stage_source(source, project=PROJECT) is False

    write_csv(project_root, CSV + '4,"New",30,2024-03-11 00:00:00,1,9.5\n')
    assert pg.stage_source(source, project=PROJECT) is True
    assert [r["passenger_id"] for r in staged(pg)] == [1, 2, 3, 4]
    (sha_after,) = pg.fetch_rows(
        "SELECT sha256 FROM aligned_staging._aligned_files WHERE relation = 'proj__titanic_csv'"
    )[0]
    assert sha_after != sha_before
    assert pg.stage_source(source, project=PROJECT) is False
    assert pg.stage_source(source, project=PROJECT, force=True) is True


def test_mapping_change_restages(pg: Adapter, project_root: Path) -> None:
    source = write_csv(project_root)
    pg.stage_source(source, project=PROJECT)
    renamed = source.model_copy(update={"mapping": {**MAPPING, "Name": "name"}})
    assert pg.stage_source(renamed, project=PROJECT) is True
    assert "name" in staged(pg)[0]


def test_dropped_staging_table_is_reloaded(pg: Adapter, project_root: Path) -> None:
    source = write_csv(project_root)
    pg.stage_source(source, project=PROJECT)
    pg.execute(f"DROP TABLE {staging_relation(PROJECT, 'titanic_csv')}")
    assert pg.stage_source(source, project=PROJECT) is True
    assert len(staged(pg)) == 3


def test_parquet_glob_source(pg: Adapter, project_root: Path) -> None:
    folder = project_root / "data" / "events"
    folder.mkdir(parents=True)
    for part in (1, 2):
        table = pa.table({"id": [part * 10, part * 10 + 1], "v": [float(part), None]})
        pq.write_table(table, folder / f"part{part}.parquet")
    source = Source(name="events", file="data/events/*.parquet")
    assert pg.stage_source(source, project=PROJECT) is True
    ids = pg.fetch_rows(f"SELECT id FROM {staging_relation(PROJECT, 'events')} ORDER BY id")
    assert ids == [(10,), (11,), (20,), (21,)]


def test_missing_file_names_the_path(pg: Adapter, project_root: Path) -> None:
    source = Source(name="ghost", file="data/nope.csv")
    with pytest.raises(ProjectError, match=r"ghost.*data/nope\.csv"):
        pg.stage_source(source, project=PROJECT)


def test_mapping_of_unknown_column_is_an_error(pg: Adapter, project_root: Path) -> None:
    source = write_csv(project_root).model_copy(update={"mapping": {"Agee": "age"}})
    with pytest.raises(ProjectError, match="Agee") as info:
        pg.stage_source(source, project=PROJECT)
    assert info.value.hint is not None and "Age" in info.value.hint


def test_failed_restage_keeps_the_old_table(
    pg: Adapter, project_root: Path, temp_tables: Callable[[Adapter], list[str]]
) -> None:
    source = write_csv(project_root)
    pg.stage_source(source, project=PROJECT)
    # Same columns sniffed, but the renamed column now collides: the load fails.
    clash = source.model_copy(update={"mapping": {**MAPPING, "Name": "age"}})
    with pytest.raises(ExecutionError, match="age"):
        pg.stage_source(clash, project=PROJECT)
    assert len(staged(pg)) == 3
    assert temp_tables(pg) == []


def test_duckdb_stage_source_is_a_no_op(duck: Adapter, project_root: Path) -> None:
    assert duck.stage_source(write_csv(project_root), project=PROJECT) is False


def test_bad_value_late_in_file_keeps_old_table(
    pg: Adapter, project_root: Path, temp_tables: Callable[[Adapter], list[str]]
) -> None:
    """DuckDB sniffs types from a sample; a bad value past it fails mid-load."""
    good = "a,b\n" + "".join(f"{i},x\n" for i in range(30_000))
    (project_root / "big.csv").write_text(good)
    source = Source(name="big", file="big.csv")
    pg.stage_source(source, project=PROJECT)
    (project_root / "big.csv").write_text(good + "abc,x\n")
    with pytest.raises(ExecutionError, match=r"big.*big\.csv.*abc"):
        pg.stage_source(source, project=PROJECT)
    assert pg.fetch_rows(f"SELECT count(*) FROM {staging_relation(PROJECT, 'big')}") == [(30_000,)]
    assert temp_tables(pg) == []


def test_projects_sharing_a_source_name_stage_apart(pg: Adapter, project_root: Path) -> None:
    source = write_csv(project_root)
    assert pg.stage_source(source, project="alpha") is True
    write_csv(project_root, CSV + '4,"Only beta",30,2024-03-11 00:00:00,1,9.5\n')
    assert pg.stage_source(source, project="beta") is True
    # Beta's load neither replaced alpha's table nor its bookkeeping row.
    assert len(pg.fetch_rows(f"SELECT 1 FROM {staging_relation('alpha', 'titanic_csv')}")) == 3
    assert len(pg.fetch_rows(f"SELECT 1 FROM {staging_relation('beta', 'titanic_csv')}")) == 4
    assert pg.stage_source(source, project="beta") is False
    rows = pg.fetch_rows(
        "SELECT relation, project, source FROM aligned_staging._aligned_files ORDER BY 1"
    )
    assert rows == [
        ("alpha__titanic_csv", "alpha", "titanic_csv"),
        ("beta__titanic_csv", "beta", "titanic_csv"),
    ]


def test_long_names_fit_an_identifier(pg: Adapter, project_root: Path) -> None:
    """PostgreSQL would cut a longer name silently; ours is cut with a hash instead."""
    project, name = "p" * 60, "titanic_csv"
    table = staging_table(project, name)
    assert len(table.encode()) == 63 and table != staging_table(project, name + "2")
    pg.stage_source(write_csv(project_root), project=project)
    found = pg.fetch_rows(
        "SELECT relname::text FROM pg_class WHERE relnamespace = 'aligned_staging'::regnamespace"
        " AND relname NOT LIKE '\\_aligned%'"
    )
    assert found == [(table,)]
    assert pg.stage_source(write_csv(project_root), project=project) is False


def test_staging_names() -> None:
    assert staging_table("shop", "trips") == "shop__trips"
    # A `__` in the project would make `a__b` + `c` and `a` + `b__c` one name.
    assert staging_table("a__b", "c") != staging_table("a", "b__c")
    assert staging_table("a__b", "c").startswith("a__b__c_")
    long = staging_table("é" * 40, "x")  # 2-byte characters: cut on a boundary
    assert len(long.encode()) <= 63 and long.startswith("é" * 27)


def test_bookkeeping_from_before_namespaces_is_migrated(pg: Adapter, project_root: Path) -> None:
    pg.execute("CREATE SCHEMA aligned_staging")
    pg.execute(
        "CREATE TABLE aligned_staging._aligned_files ("
        "source text PRIMARY KEY, sha256 text NOT NULL, loaded_at timestamptz NOT NULL)"
    )
    pg.execute("INSERT INTO aligned_staging._aligned_files VALUES ('titanic_csv', 'x', now())")
    assert pg.stage_source(write_csv(project_root), project=PROJECT) is True
    rows = pg.fetch_rows(
        "SELECT relation, project, source FROM aligned_staging._aligned_files ORDER BY 1"
    )
    # The old row keeps naming the old (unnamespaced) table it describes.
    assert rows == [("proj__titanic_csv", PROJECT, "titanic_csv"), ("titanic_csv", None, None)]
    assert pg.stage_source(write_csv(project_root), project=PROJECT) is False
