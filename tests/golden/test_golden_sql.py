"""Compiled SQL against checked-in golden files (ALIGNED_UPDATE_GOLDEN=1 rewrites).

Each golden file must also re-parse with sqlglot in its own dialect.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlglot

from aligned_cli.compile import compile_model_sql, compile_view_sql
from aligned_cli.core.ir import (
    Aggregation,
    Feature,
    FeatureRef,
    FeatureView,
    Model,
    Project,
    Source,
    SourceRef,
    Spine,
    Target,
)
from aligned_cli.core.types import DataType
from aligned_cli.errors import ProjectError

GOLDEN = Path(__file__).parent / "sql"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DIALECTS = ["duckdb", "postgres", "spark", "bigquery", "snowflake", "trino"]


def titanic() -> Project:
    from aligned_cli.parse import load_project

    return load_project(FIXTURES / "titanic_yaml")


def synthetic() -> Project:
    """A temporal view (ttl, created, two keys), a static view, and a model on both."""
    trips = FeatureView(
        name="trips",
        source=SourceRef(kind="source", name="trip_events"),
        entities=["driver_id", "city"],
        event_timestamp="event_at",
        created_timestamp="loaded_at",
        ttl=86400,
        features=[
            Feature(name="fare", dtype=DataType.FLOAT),
            Feature(name="rating", dtype=DataType.FLOAT32),
            Feature(name="fare_per_star", expression="fare / nullif(rating, 0)"),
        ],
    )
    drivers = FeatureView(
        name="drivers",
        source=SourceRef(kind="source", name="driver_table"),
        entities=["driver_id"],
        features=[
            Feature(name="rating", dtype=DataType.INT16),
            Feature(name="joined", dtype=DataType.DATE),
        ],
    )
    model = Model(
        name="eta",
        features=[
            FeatureRef(view="trips", feature="fare"),
            FeatureRef(view="trips", feature="rating"),
            FeatureRef(view="drivers", feature="rating"),
            FeatureRef(view="trips", feature="fare_per_star"),
        ],
        target=Target(feature=FeatureRef(view="drivers", feature="joined"), name="label"),
        spine=Spine(source="requests", event_timestamp="requested_at"),
        defaults={"fare": 0},
    )
    return Project(
        name="synthetic",
        root="/tmp",
        sources={
            "trip_events": Source(
                name="trip_events", file="data/trips/*.parquet", timezone="Europe/Oslo"
            ),
            "driver_table": Source(
                name="driver_table",
                table="drivers",
                schema_name="public",
                mapping={"id": "driver_id", "stars": "rating"},
            ),
            "requests": Source(
                name="requests", query="SELECT driver_id, city, requested_at FROM requests"
            ),
        },
        views={"trips": trips, "drivers": drivers},
        models={"eta": model},
    )


def aggregations() -> Project:
    """Window aggregations of both forms on three windows: a 90-day sum puts every
    count/sum/mean in the framed (DuckDB) or running-sums form, the rest a range join."""
    project = synthetic()
    trips = project.views["trips"].model_copy(
        update={
            "ttl": None,
            "aggregations": [
                Aggregation(name="trips_7d", function="count", window=7 * 86400),
                Aggregation(name="fare_mean_30d", function="mean", of="fare", window=30 * 86400),
                Aggregation(
                    name="fare_max_7d", function="max", of="fare", window=7 * 86400, min_rows=2
                ),
                Aggregation(name="last_rating", function="last", of="rating", window=30 * 86400),
                Aggregation(name="fare_sum_90d", function="sum", of="fare", window=90 * 86400),
            ],
        }
    )
    model = Model(
        name="eta_windows",
        features=[
            FeatureRef(view="trips", feature="fare"),
            FeatureRef(view="trips", feature="trips_7d"),
            FeatureRef(view="trips", feature="fare_mean_30d"),
            FeatureRef(view="trips", feature="fare_max_7d"),
            FeatureRef(view="trips", feature="last_rating"),
            FeatureRef(view="trips", feature="fare_sum_90d"),
        ],
        spine=Spine(source="requests", event_timestamp="requested_at"),
    )
    return project.model_copy(
        update={"views": {**project.views, "trips": trips}, "models": {"eta_windows": model}}
    )


CASES: dict[str, tuple[Callable[[], Project], str, str]] = {
    "aggregations__model__eta_windows": (aggregations, "model", "eta_windows"),
    "titanic__view__passenger": (titanic, "view", "passenger"),
    "titanic__model__titanic": (titanic, "model", "titanic"),
    "synthetic__view__trips": (synthetic, "view", "trips"),
    "synthetic__view__drivers": (synthetic, "view", "drivers"),
    "synthetic__model__eta": (synthetic, "model", "eta"),
}


EXPECTED_ERRORS: dict[tuple[str, str], str] = {
    # Trino has no `* EXCEPT`: a spine whose columns are unknown cannot be output.
    ("aggregations__model__eta_windows", "trino"): "dialect 'trino' cannot express a spine",
    ("synthetic__model__eta", "trino"): "dialect 'trino' cannot express a spine",
    ("titanic__model__titanic", "trino"): "dialect 'trino' cannot express a spine",
    # Snowflake cannot number the rows of a spine whose columns are unknown in one
    # order for every read of it (ROW_NUMBER needs an ORDER BY; no MATERIALIZED).
    ("aggregations__model__eta_windows", "snowflake"): "dialect 'snowflake' cannot express a spine",
    ("synthetic__model__eta", "snowflake"): "dialect 'snowflake' cannot express a spine",
    ("titanic__model__titanic", "snowflake"): "dialect 'snowflake' cannot express a spine",
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_sql_matches_golden(case: str, dialect: str) -> None:
    build, kind, name = CASES[case]
    compile_sql = compile_view_sql if kind == "view" else compile_model_sql
    expected_error = EXPECTED_ERRORS.get((case, dialect))
    if expected_error is not None:
        with pytest.raises(ProjectError, match=re.escape(expected_error)):
            compile_sql(build(), name, dialect)
        return
    sql = compile_sql(build(), name, dialect) + "\n"
    path = GOLDEN / dialect / f"{case}.sql"
    if os.environ.get("ALIGNED_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql)
    assert path.exists(), f"{path} is missing; run with ALIGNED_UPDATE_GOLDEN=1"
    assert sql == path.read_text(), f"{path} differs; review and rerun with ALIGNED_UPDATE_GOLDEN=1"
    reparsed = sqlglot.parse_one(path.read_text(), read=dialect)
    assert reparsed.sql(dialect=dialect, pretty=True) + "\n" == sql
