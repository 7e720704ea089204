"""fixtures/titanic_python declares, through the DSL, what fixtures/titanic_yaml does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlglot

from aligned_cli.core.ir import FeatureRef, Project, Spine
from aligned_cli.core.types import DataType
from aligned_cli.parse.python_files import load_python_file

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
PY_ROOT = FIXTURES / "titanic_python"


def test_dsl_file_declares_the_titanic_source_view_and_model() -> None:
    found = load_python_file(PY_ROOT / "features" / "titanic.py", PY_ROOT)

    [source] = found.sources
    assert source.name == "titanic_csv"
    assert source.file == "data/titanic.csv" and source.kind == "file"
    assert source.file_format == "csv"
    assert source.mapping["PassengerId"] == "passenger_id"
    assert source.location is not None and str(source.location) == "features/titanic.py:14"

    [view] = found.views
    assert view.name == "passenger" and view.tags == ["titanic"]
    assert view.source.kind == "source" and view.source.name == "titanic_csv"
    assert view.entities == ["passenger_id"]
    assert view.event_timestamp is None and view.ttl is None
    assert str(view.location) == "features/titanic.py:39"  # the `class` line
    dtypes = {f.name: f.dtype for f in view.features}
    assert dtypes == {
        "passenger_id": DataType.INT32,
        "age": DataType.FLOAT,
        "sex": DataType.STRING,
        "survived": DataType.BOOL,
        "sibsp": DataType.INT32,
        "pclass": DataType.INT32,
        "fare": DataType.FLOAT,
        "cabin": DataType.STRING,
        "name": DataType.STRING,
        "is_male": None,
        "constant_filled_age": None,
        "family_size": None,
    }
    age = view.feature("age")
    assert age is not None and age.description == "Age in years"
    assert [(c.kind, c.value) for c in age.constraints] == [
        ("lower_bound", 0),
        ("upper_bound", 110),
    ]
    sex = view.feature("sex")
    assert sex is not None and sex.constraints[0].value == ["male", "female"]
    survived = view.feature("survived")
    assert survived is not None and survived.is_required
    cabin = view.feature("cabin")
    assert cabin is not None and cabin.optional
    expressions = {f.name: f.expression for f in view.features if f.expression}
    assert expressions == {
        "is_male": "sex = 'male'",
        "constant_filled_age": "COALESCE(age, 0)",
        "family_size": "sibsp + parch + 1",
    }
    assert str(view.feature("is_male").location) == "features/titanic.py:49"  # type: ignore[union-attr]

    [model] = found.models
    assert model.name == "titanic" and model.description == "Predicts survival"
    assert [str(r) for r in model.features] == [
        "passenger:constant_filled_age",
        "passenger:is_male",
        "passenger:sibsp",
        "passenger:pclass",
        "passenger:family_size",
    ]
    assert model.target is not None
    assert model.target.feature == FeatureRef(view="passenger", feature="survived")
    assert model.target.kind == "classification" and model.target.name == "did_survive"
    assert model.spine == Spine(source="titanic_csv")
    assert model.output is not None and model.output.file == "target/datasets/titanic.parquet"


def _comparable(project: Project) -> Any:
    """The project as plain data without locations, roots, and with canonical SQL."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: walk(v) for k, v in node.items() if k not in ("location", "root")}
            if isinstance(out.get("expression"), str):
                parsed = sqlglot.parse_one(out["expression"], read="duckdb")
                out["expression"] = parsed.sql(dialect="duckdb")
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(project.model_dump())


def test_python_and_yaml_fixtures_load_to_the_same_project() -> None:
    from aligned_cli.parse import load_project

    from_yaml = _comparable(load_project(FIXTURES / "titanic_yaml"))
    from_python = _comparable(load_project(PY_ROOT))
    # The DSL names the target after its attribute; YAML leaves the name unset.
    assert from_python["models"]["titanic"]["target"].pop("name") == "did_survive"
    assert from_yaml["models"]["titanic"]["target"].pop("name") is None
    assert from_python == from_yaml
