"""Importing Python feature files: what is collected, and errors at the user's line."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from aligned_cli.core.ir import Aggregation, SourceRef
from aligned_cli.errors import ProjectError
from aligned_cli.parse.python_files import PythonDeclarations, load_python_file


def load(root: Path, text: str, name: str = "features/f.py") -> PythonDeclarations:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return load_python_file(path, root)


def load_error(root: Path, text: str) -> ProjectError:
    with pytest.raises(ProjectError) as caught:
        load(root, text)
    rendered = caught.value.render()
    assert "Traceback" not in rendered and "aligned_cli" not in caught.value.message
    return caught.value


def test_syntax_error_points_at_the_users_line(tmp_path: Path) -> None:
    error = load_error(tmp_path, "from aligned_cli import Int32\n\nx = (1,\ny = 2 +\n")
    assert error.message.startswith("SyntaxError: ")
    assert error.location is not None
    assert error.location.file == "features/f.py" and error.location.line in (3, 4)


def test_name_error_gives_type_message_and_line(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        """
        from aligned_cli import feature_view, Int32

        @feature_view(name="v", source="s")
        class V:
            key = Int32().as_entity()
            age = Flaot()
        """,
    )
    assert error.message == "NameError: name 'Flaot' is not defined"
    assert str(error.location) == "features/f.py:6"


def test_exception_in_a_helper_function_points_at_its_deepest_line(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        """
        def helper():
            return {}["missing"]

        value = helper()
        """,
    )
    assert error.message == "KeyError: 'missing'"
    assert str(error.location) == "features/f.py:2"


def test_dsl_error_is_located_in_the_users_file(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        """
        from aligned_cli import Timestamp

        ts = Timestamp()
        part = ts.date_part("fortnight")
        """,
    )
    assert "unknown date part 'fortnight'" in error.message
    assert str(error.location) == "features/f.py:4"
    assert error.hint is not None and "year" in error.hint


def test_module_is_not_left_behind_and_no_bytecode_is_written(tmp_path: Path) -> None:
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "shared_mapping.py").write_text("MAPPING = {'Id': 'id'}\n")
    before = set(sys.modules)
    found = load(
        tmp_path,
        """
        from aligned_cli import FileSource
        from helpers.shared_mapping import MAPPING

        raw = FileSource.csv_at("data/raw.csv", mapping=MAPPING)
        """,
    )
    assert found.sources[0].mapping == {"Id": "id"}
    assert set(sys.modules) - before == set()
    assert str(tmp_path) not in sys.path
    assert not list(tmp_path.rglob("__pycache__"))


def test_source_names_come_from_name_variable_or_reader(tmp_path: Path) -> None:
    found = load(
        tmp_path,
        """
        from aligned_cli import FileSource, PostgreSQLConfig, feature_view, Int32

        by_variable = FileSource.parquet_at("data/x.dat", timezone="Europe/Oslo")
        named = FileSource.csv_at("data/y.csv", name="explicit")
        warehouse = PostgreSQLConfig(env_var="WAREHOUSE_DSN", schema="raw")
        orders = warehouse.table("orders", mapping={"OrderId": "order_id"})

        @feature_view(name="inline_reader", source=FileSource.csv_at("data/z.tsv"))
        class InlineReader:
            key = Int32().as_entity()
        """,
    )
    sources = {s.name: s for s in found.sources}
    assert set(sources) == {"by_variable", "explicit", "orders", "inline_reader_source"}
    assert sources["by_variable"].format == "parquet"  # the suffix would not say
    assert sources["by_variable"].timezone == "Europe/Oslo"
    assert sources["inline_reader_source"].file == "data/z.tsv"
    assert sources["inline_reader_source"].file_format == "csv"
    assert sources["orders"].table == "orders" and sources["orders"].schema_name == "raw"
    assert sources["orders"].connection == "WAREHOUSE_DSN"
    assert [c.name for c in found.connections] == ["WAREHOUSE_DSN"]
    assert found.views[0].source == SourceRef(kind="source", name="inline_reader_source")
    assert str(sources["explicit"].location) == "features/f.py:4"


def test_event_time_aggregations_ttl_and_view_on_view(tmp_path: Path) -> None:
    found = load(
        tmp_path,
        """
        from datetime import timedelta
        from aligned_cli import (
            CreatedTimestamp, EventTimestamp, FileSource, Float, Int64, String,
            feature_view,
        )

        trips = FileSource.parquet_at("data/trips.parquet")

        @feature_view(name="trip", source=trips, ttl="30d", materialized_source="target/m.parquet")
        class Trip:
            rider_id = Int64().as_entity()
            event_timestamp = EventTimestamp()
            loaded_at = CreatedTimestamp()
            fare = Float()
            city = String()
            hour = event_timestamp.hour()
            fare_sum_30d = fare.aggregate().sum().over(days=30)
            fare_mean_7d = fare.aggregate().mean().over("7d", min_rows=3)
            last_city = city.aggregate().last().over(timedelta(days=90))

        trip = Trip()

        @feature_view(name="trip_extra", source=Trip, ttl=timedelta(hours=2))
        class TripExtra:
            fare = trip.fare
            city_name = trip.city
            double_fare = trip.fare * 2
        """,
    )
    views = {v.name: v for v in found.views}
    base = views["trip"]
    assert base.entities == ["rider_id"]
    assert base.event_timestamp == "event_timestamp" and base.created_timestamp == "loaded_at"
    assert base.ttl == 30 * 86400
    assert [f.name for f in base.features] == ["rider_id", "fare", "city", "hour"]
    assert base.feature("hour").expression == "EXTRACT(HOUR FROM event_timestamp)"  # type: ignore[union-attr]
    assert base.materialized_source is not None
    assert base.materialized_source.file == "target/m.parquet"
    assert [a.model_dump(exclude={"location"}) for a in base.aggregations] == [
        Aggregation(name="fare_sum_30d", function="sum", of="fare", window=2592000).model_dump(
            exclude={"location"}
        ),
        Aggregation(
            name="fare_mean_7d", function="mean", of="fare", window=604800, min_rows=3
        ).model_dump(exclude={"location"}),
        Aggregation(name="last_city", function="last", of="city", window=7776000).model_dump(
            exclude={"location"}
        ),
    ]
    assert [s.name for s in found.sources] == ["trips"]  # the output file is no source

    extra = views["trip_extra"]
    assert extra.source == SourceRef(kind="view", name="trip")
    assert extra.ttl == 7200
    assert extra.entities == []  # inherited from `trip` when the project is merged
    by_name = {f.name: f for f in extra.features}
    assert by_name["fare"].expression is None and by_name["fare"].dtype is not None
    assert by_name["city_name"].expression == "city"
    assert by_name["double_fare"].expression == "fare * 2"


def test_model_with_string_refs_and_regression_target(tmp_path: Path) -> None:
    found = load(
        tmp_path,
        """
        from aligned_cli import FileSource, Float, Int32, feature_view, model_contract

        spine = FileSource.csv_at("data/spine.csv", event_timestamp="asof")

        @feature_view(name="house", source="houses")
        class House:
            house_id = Int32().as_entity()
            price = Float()
            rooms = Int32()

        house = House()

        @model_contract(
            name="pricing", features=["house:rooms"], spine=spine,
            output=FileSource.csv_at("target/out.csv"),
        )
        class Pricing:
            price_target = house.price.as_regression_target()
        """,
    )
    [model] = found.models
    assert [str(f) for f in model.features] == ["house:rooms"]
    assert model.target is not None and model.target.kind == "regression"
    assert str(model.target.feature) == "house:price" and model.target.name == "price_target"
    assert model.spine is not None and model.spine.source == "spine"
    assert model.output is not None and model.output.file_format == "csv"
    assert [s.name for s in found.sources] == ["spine"]
    assert found.sources[0].event_timestamp == "asof"
    assert found.views[0].source == SourceRef(kind="source", name="houses")


def test_two_targets_is_an_error_at_the_second(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        """
        from aligned_cli import Bool, Int32, feature_view, model_contract

        @feature_view(name="p", source="s")
        class P:
            key = Int32().as_entity()
            a = Bool()
            b = Bool()

        p = P()

        @model_contract(name="m", features=[p.a])
        class M:
            first = p.a.as_classification_target()
            second = p.b.as_classification_target()
        """,
    )
    assert "one target" in error.message
    assert str(error.location) == "features/f.py:14"


def test_feature_of_no_view_in_model_is_an_error(tmp_path: Path) -> None:
    error = load_error(
        tmp_path,
        """
        from aligned_cli import Float, model_contract

        loose = Float()

        @model_contract(name="m", features=[loose])
        class M:
            pass
        """,
    )
    assert "belongs to no feature view" in error.message
    assert str(error.location) == "features/f.py:3"


def test_objects_of_an_imported_feature_file_are_not_collected_twice(tmp_path: Path) -> None:
    load(
        tmp_path,
        """
        from aligned_cli import FileSource, Int32, feature_view

        base_source = FileSource.csv_at("data/base.csv")

        @feature_view(name="base", source=base_source)
        class Base:
            key = Int32().as_entity()
        """,
        name="features/base.py",
    )
    found = load(
        tmp_path,
        """
        from aligned_cli import feature_view, Int32
        from features.base import Base

        @feature_view(name="derived", source=Base)
        class Derived:
            key = Int32().as_entity()
        """,
    )
    assert [v.name for v in found.views] == ["derived"]
    assert found.sources == []
    assert found.views[0].source == SourceRef(kind="view", name="base")


def test_stream_source_names_the_views_redis_stream(tmp_path: Path) -> None:
    found = load(
        tmp_path,
        """
        from aligned_cli import feature_view, FileSource, Int32, Float, EventTimestamp

        trips = FileSource.csv_at("data/trips.csv")

        @feature_view(name="trips", source=trips, stream_source="trip_events")
        class Trips:
            driver_id = Int32().as_entity()
            at = EventTimestamp()
            fare = Float()
        """,
    )
    assert found.views[0].stream == "trip_events"


def test_postgres_config_keeps_the_env_var_template_not_the_dsn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DSN (a password) is read when aligned connects, never kept in the IR."""
    monkeypatch.setenv("WAREHOUSE_DSN", "postgresql://u:secret@db/x")
    found = load(
        tmp_path,
        """
        from aligned_cli import PostgreSQLConfig

        drivers = PostgreSQLConfig(env_var="WAREHOUSE_DSN").table("drivers")
        """,
    )
    assert [c.dsn for c in found.connections] == ["{{ env_var('WAREHOUSE_DSN') }}"]
