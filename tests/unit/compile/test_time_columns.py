"""A view's event and created timestamps name a date, a timestamp or text where the
column's type is known at compile time; anything else would fail only at run time."""

from __future__ import annotations

import pytest

from aligned_cli.compile import resolve_project
from aligned_cli.core.ir import Feature, FeatureView, Project, Source, SourceRef
from aligned_cli.core.location import Location
from aligned_cli.core.types import DataType
from aligned_cli.errors import ProjectError

VIEW_AT = Location(file="features/f.yml", line=5, col=5)


def _project(
    columns: dict[str, str] | None,
    *,
    event: str = "at",
    created: str | None = None,
    features: tuple[Feature, ...] = (),
    child: FeatureView | None = None,
) -> Project:
    source = Source(name="s", file="data/s.csv", columns=columns)
    view = FeatureView(
        name="v",
        source=SourceRef(kind="source", name="s"),
        entities=["id"],
        event_timestamp=event,
        created_timestamp=created,
        features=[Feature(name="id", dtype=DataType.INT64), *features],
        location=VIEW_AT,
    )
    views = {"v": view} if child is None else {"v": view, child.name: child}
    return Project(name="p", root="/tmp", sources={"s": source}, views=views)


@pytest.mark.parametrize(
    "column_type",
    ["TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "DATE", "VARCHAR"],
)
def test_time_columns_of_dates_timestamps_and_text_compile(column_type: str) -> None:
    resolve_project(_project({"id": "BIGINT", "at": column_type}))


def test_time_columns_of_unknown_type_compile() -> None:
    resolve_project(_project(None))  # a table, or a file not readable now
    resolve_project(_project({"id": "BIGINT"}))  # not a column of the file: checked elsewhere


@pytest.mark.parametrize(
    ("column_type", "shown"),
    [
        ("DOUBLE", "float (DOUBLE)"),
        ("BIGINT", "int64 (BIGINT)"),
        ("BOOLEAN", "bool (BOOLEAN)"),
        ("TIME", "TIME"),
        ("BLOB", "BLOB"),
    ],
)
def test_an_event_timestamp_of_another_type_is_a_located_error(
    column_type: str, shown: str
) -> None:
    with pytest.raises(ProjectError) as caught:
        resolve_project(_project({"id": "BIGINT", "at": column_type}))
    assert str(caught.value).startswith(
        f"features/f.yml:5:5: view 'v': event_timestamp 'at' is {shown} in source 's', "
        "not a date or timestamp"
    ), str(caught.value)
    assert "to_timestamp(at)" in (caught.value.hint or "")


def test_a_created_timestamp_declared_as_a_number_is_an_error_at_the_feature() -> None:
    version = Feature(name="version", dtype=DataType.INT64, location=Location(file="f.yml", line=9))
    columns = {"id": "BIGINT", "at": "TIMESTAMP", "version": "VARCHAR"}
    with pytest.raises(ProjectError) as caught:
        resolve_project(_project(columns, created="version", features=(version,)))
    assert str(caught.value).startswith(
        "f.yml:9: view 'v': created_timestamp 'version' is declared int64"
    )


def test_a_time_column_declared_as_a_time_still_reads_the_files_type() -> None:
    at = Feature(name="at", dtype=DataType.TIMESTAMP)
    with pytest.raises(ProjectError, match="is float \\(DOUBLE\\) in source 's'"):
        resolve_project(_project({"id": "BIGINT", "at": "DOUBLE"}, features=(at,)))


def test_a_view_on_a_view_reads_its_parents_types() -> None:
    def child(event: str) -> FeatureView:
        return FeatureView(
            name="w",
            source=SourceRef(kind="view", name="v"),
            entities=["id"],
            event_timestamp=event,
            features=[Feature(name="id", dtype=DataType.INT64)],
        )

    features = (
        Feature(name="fare", dtype=DataType.FLOAT),
        Feature(name="when", expression="to_timestamp(fare)"),
    )
    columns = {"id": "BIGINT", "at": "TIMESTAMP", "fare": "DOUBLE"}
    resolve_project(_project(columns, features=features, child=child("when")))
    resolve_project(_project(columns, features=features, child=child("at")))
    with pytest.raises(ProjectError, match="event_timestamp 'fare' is float in view 'v'"):
        resolve_project(_project(columns, features=features, child=child("fare")))
