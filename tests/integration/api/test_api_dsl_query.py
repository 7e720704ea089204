"""`query(View)`: the store of one Python DSL view class, with no project."""

from __future__ import annotations

from pathlib import Path

import pytest

from aligned_cli import FileSource, Float, Int32, String, feature_view
from aligned_cli.api.dsl_views import query
from aligned_cli.errors import AlignedError

people = FileSource.csv_at("people.csv", mapping={"Id": "person_id", "Age": "age"})


@feature_view(name="person", source=people)
class Person:
    person_id = Int32().as_entity()
    age = Float().lower_bound(0)
    name = String()
    age_next_year = age + 1


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    (tmp_path / "people.csv").write_text("Id,Age,name\n1,30,Ann\n2,-4,Bo\n3,,Cy\n")
    (tmp_path / "more.csv").write_text("Id,Age,name\n7,70,Di\n")
    return tmp_path


def test_query_all_features_for_and_validate(folder: Path) -> None:
    store = query(Person, project_dir=folder)
    df = store.all().to_pandas_sync()
    assert df["person_id"].tolist() == [1, 2, 3]
    assert df["age_next_year"].tolist()[:2] == [31.0, -3.0]
    assert store.all().validate().to_arrow_sync().column("person_id").to_pylist() == [1, 3]
    found = store.features_for({"person_id": [3, 1]}).to_arrow_sync()
    assert found.column_names == ["person_id", "age", "name", "age_next_year"]
    assert found.column("name").to_pylist() == ["Cy", "Ann"]


def test_query_using_source(folder: Path) -> None:
    other = FileSource.csv_at("more.csv", mapping={"Id": "person_id", "Age": "age"})
    df = query(Person, project_dir=folder).using_source(other).all().to_pandas_sync()
    assert df["name"].tolist() == ["Di"]


def test_query_needs_a_view_class() -> None:
    with pytest.raises(AlignedError, match="@feature_view class"):
        query(object())


def test_seed_class_level_forms(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder)
    df = Person.query().all().to_pandas_sync()  # type: ignore[attr-defined]
    assert df["person_id"].tolist() == [1, 2, 3]
    other = FileSource.csv_at("more.csv", mapping={"Id": "person_id", "Age": "age"})
    using = Person.query().using_source(other).all().to_pandas_sync()  # type: ignore[attr-defined]
    assert using["name"].tolist() == ["Di"]


def test_freshness_in_batch_source(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    from datetime import UTC, datetime

    from aligned_cli import EventTimestamp

    visits = FileSource.csv_at("visits.csv")

    @feature_view(name="visit", source=visits)
    class Visit:
        person_id = Int32().as_entity()
        visited_at = EventTimestamp()
        pages = Int32()

    (folder / "visits.csv").write_text(
        "person_id,visited_at,pages\n1,2026-03-01 10:00:00,3\n2,2026-03-02 09:30:00,5\n"
    )
    monkeypatch.chdir(folder)
    fresh = asyncio.run(Visit.freshness_in_batch_source())  # type: ignore[attr-defined]
    assert fresh == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
