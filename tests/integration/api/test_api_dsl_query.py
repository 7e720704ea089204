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
