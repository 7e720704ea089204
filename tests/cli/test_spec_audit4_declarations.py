"""SPEC §3 / §6 / §9 audit, round 4: declarations that compiled but broke at run time.

Every case here used to pass `aligned compile` and fail later, as a test `error` or a
raw engine message (and on PostgreSQL differently than on DuckDB): constraint values
of the wrong type (YAML and the Python DSL alike), a model default of the wrong type,
an aggregation named like a feature, two columns mapped onto one name, a spine whose
entity key has another type than the view's, a negative `min_rows`. Also: the view's
automatic `unique` test takes a severity and thresholds like every other test.
Real `aligned` executable; every error is exit 2, located, with no traceback.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb
import pytest
from _audit import aligned, assert_ok, assert_project_error, project_yml, results, write_project

PROJECT = project_yml("d")
DATA = "id,ts,val,s\n1,2024-01-01 00:00:00,10,abc\n1,2024-01-02 00:00:00,20,def\n"
SPINE = "id,event_timestamp\n1,2024-01-02 00:00:00\n2,2024-01-02 00:00:00\n"


def _view(features: str, extra: str = "", models: str = "") -> str:
    return f"""
sources:
  - {{name: feat, file: data/feat.csv}}
  - {{name: spine, file: data/spine.csv}}
feature_views:
  - name: a
    source: feat
    entities: [id]
    event_timestamp: ts
{extra}    features:
      id: {{type: int32}}
{features}
{models}"""


def _project(root: Path, features_yml: str, **extra: str) -> Path:
    files = {"data/feat.csv": DATA, "data/spine.csv": SPINE, "features/f.yml": features_yml}
    return write_project(root, {**files, **extra}, PROJECT)


def _compile(root: Path) -> subprocess.CompletedProcess[str]:
    return aligned(root, "compile")


@pytest.mark.parametrize(
    ("feature", "fragments"),
    [
        ("val: {type: float, lower_bound: {value: abc}}", ["bound 'abc' is not a finite number"]),
        ("val: {type: int64, upper_bound: {value: 2.5}}", ["not a whole number"]),
        (
            "val: {type: float, accepted_values: [a, b]}",
            ["accepted value 'a' is not a finite number"],
        ),
        ("s: {type: string, accepted_values: [1, 2]}", ["accepted value 1 is not a string"]),
        ("s: {type: string, accepted_values: [x, null]}", ["accepted_values lists null"]),
        ("val: {type: bool, lower_bound: 0}", ["has no order to bound"]),
        ("val: {type: float, lower_bound: .nan}", ["bound nan is not a finite number"]),
        ("val: {type: int64, upper_bound: {value: 1e30}}", ["whole number within 64 bits"]),
        ("ts2: {expression: ts, lower_bound: {value: soon}}", ["ISO 8601"]),
    ],
)
def test_yaml_constraint_values_must_fit_the_type(
    tmp_path: Path, feature: str, fragments: list[str]
) -> None:
    root = _project(tmp_path, _view(f"      {feature}"))
    output = assert_project_error(_compile(root), "features/f.yml:", *fragments)
    assert "hint:" in output


def test_yaml_constraint_values_that_fit_compile(tmp_path: Path) -> None:
    features = """      val: {type: float, lower_bound: 0, upper_bound: {value: 100},
            accepted_values: [10, 20.0]}
      s: {type: string, accepted_values: [abc, def], lower_bound: {value: a}}
      ts2: {expression: ts, lower_bound: {value: '2020-01-01'}}
      flag: {expression: "val > 15", accepted_values: [true, false]}"""
    root = _project(tmp_path, _view(features))
    assert_ok(_compile(root))


PY_VIEW = """
from aligned_cli import feature_view, FileSource, Int32, Float, String, EventTimestamp

src = FileSource.csv_at("data/feat.csv")

@feature_view(name="p", source=src)
class P:
    id = Int32().as_entity()
    ts = EventTimestamp()
    val = Float(){constraint}
    s = String()
"""


@pytest.mark.parametrize(
    ("constraint", "fragments"),
    [
        (
            '.lower_bound("abc")',
            ["features/p.py:", "bound 'abc' is not a finite number", ".lower_bound(0)"],
        ),
        (".upper_bound(None)", ["the bound has no value"]),
        (".upper_bound([1, 2])", ["bound [1, 2] is not a finite number"]),
        ('.accepted_values("ab")', ["accepted_values needs a list, not 'ab'"]),
    ],
)
def test_python_constraint_values_are_checked_as_yaml_ones(
    tmp_path: Path, constraint: str, fragments: list[str]
) -> None:
    """SPEC §3.2: the same IR, so the same checks."""
    py = PY_VIEW.format(constraint=constraint)
    root = write_project(tmp_path, {"data/feat.csv": DATA, "features/p.py": py}, PROJECT)
    assert_project_error(_compile(root), *fragments)


def test_a_model_default_must_fit_the_feature_type(tmp_path: Path) -> None:
    models = "models:\n  - {name: m, features: [a:val], spine: spine, defaults: {val: abc}}\n"
    root = _project(tmp_path, _view("      val: {type: float}", models=models))
    assert_project_error(
        _compile(root), "features/f.yml:", "default 'abc' for 'a:val'", "not a finite number"
    )
    good = models.replace("abc", "-1.5")
    root = _project(tmp_path / "ok", _view("      val: {type: float}", models=good))
    assert_ok(aligned(root, "run"))
    rows = duckdb.sql(f"select val from '{root}/target/datasets/m.parquet'").fetchall()
    assert rows == [(20.0,), (-1.5,)]  # entity 2 has no history: the default


def test_an_aggregation_may_not_take_a_feature_name(tmp_path: Path) -> None:
    """`a:val` must name one thing; it silently meant the aggregation."""
    extra = "    aggregations:\n      val: {function: sum, of: val, window: 7d}\n"
    root = _project(tmp_path, _view("      val: {type: float}", extra=extra))
    assert_project_error(
        _compile(root), "features/f.yml:", "aggregation 'val' of view 'a' has the name of a feature"
    )
    extra = "    aggregations:\n      id: {function: count, window: 7d}\n"
    root = _project(tmp_path / "key", _view("      val: {type: float}", extra=extra))
    assert_project_error(_compile(root), "has the name of a feature")  # id is declared too
    extra = (
        "    aggregations:\n      n: {function: count, window: 7d}\n"
        "      n: {function: count, window: 1d}\n"
    )
    root = _project(tmp_path / "twice", _view("      val: {type: float}", extra=extra))
    assert_project_error(_compile(root), "duplicate key 'n'")


def test_two_columns_mapped_onto_one_name(tmp_path: Path) -> None:
    features = """
sources:
  - {name: feat, file: data/feat.csv, mapping: {id: key, val: key}}
feature_views:
  - {name: a, source: feat, entities: [key], features: {key: {type: int32}}}
"""
    root = _project(tmp_path, features)
    assert_project_error(
        _compile(root), "features/f.yml:2:", "source 'feat' maps both 'id' and 'val' to 'key'"
    )


def test_python_mapping_onto_one_name(tmp_path: Path) -> None:
    py = """
from aligned_cli import feature_view, FileSource, Int32

src = FileSource.csv_at("data/feat.csv", mapping={"id": "key", "val": "key"})

@feature_view(name="p", source=src)
class P:
    key = Int32().as_entity()
"""
    root = write_project(tmp_path, {"data/feat.csv": DATA, "features/p.py": py}, PROJECT)
    assert_project_error(_compile(root), "maps both 'id' and 'val' to 'key'")


def test_spine_key_of_another_type_than_the_view_key(tmp_path: Path) -> None:
    """DuckDB would cast silently (and fail on 'x'), PostgreSQL refuses: one answer,
    at compile time."""
    models = "models:\n  - {name: m, features: [a:val], spine: spine}\n"
    root = _project(
        tmp_path,
        _view("      val: {type: float}", models=models),
        **{"data/spine.csv": "id,event_timestamp\nx1,2024-01-02 00:00:00\n"},
    )
    assert_project_error(
        _compile(root),
        "features/f.yml:",
        "spine 'spine' holds entity key 'id' as string, but view 'a' has it as int32",
    )
    # Comparable types pass: an int64 spine key against the view's int32 key.
    root = _project(tmp_path / "ok", _view("      val: {type: float}", models=models))
    assert_ok(_compile(root))


def test_min_rows_must_be_positive(tmp_path: Path) -> None:
    extra = "    aggregations:\n      mu: {function: mean, of: val, window: 7d, min_rows: -5}\n"
    root = _project(tmp_path, _view("      val: {type: float}", extra=extra))
    assert_project_error(_compile(root), "features/f.yml:", "min_rows -5; it must be at least 1")


def test_the_unique_test_takes_a_severity_and_thresholds(tmp_path: Path) -> None:
    """SPEC §6: each test has severity and warn_if/error_if, the automatic `unique`
    test too (`unique:` on the view)."""
    duplicated = "id,ts,val,s\n1,2024-01-01 00:00:00,10,abc\n1,2024-01-01 00:00:00,20,def\n"

    def project(unique: str) -> Path:
        view = _view("      val: {type: float}", extra=unique)
        return _project(tmp_path, view, **{"data/feat.csv": duplicated})

    root = project("    unique: {severity: warn}\n")
    assert_ok(aligned(root, "test"))  # a warning: exit 0
    assert results(root)["a__unique"]["status"] == "warn"
    # A threshold: one duplicated key is below error_if '>5', so it only warns.
    project("    unique: {error_if: '>5'}\n")
    assert_ok(aligned(root, "test"))
    assert results(root)["a__unique"]["status"] == "warn"
    # Without it, the default: an error.
    project("")
    assert aligned(root, "test").returncode == 1
    assert results(root)["a__unique"]["status"] == "fail"
    # A bad threshold or key is a located error.
    project("    unique: {error_if: 'lots'}\n")
    assert_project_error(_compile(root), "features/f.yml:", "error_if")
    project("    unique: {severity: fatal}\n")
    assert_project_error(_compile(root), "features/f.yml:", "severity")


def test_a_warn_unique_test_does_not_block_a_run(tmp_path: Path) -> None:
    duplicated = "id,ts,val,s\n1,2024-01-01 00:00:00,10,abc\n1,2024-01-01 00:00:00,20,def\n"
    extra = "    unique: {severity: warn}\n    materialized_source: {file: target/a.parquet}\n"
    root = _project(
        tmp_path, _view("      val: {type: float}", extra=extra), **{"data/feat.csv": duplicated}
    )
    assert_ok(aligned(root, "run"))
    assert results(root)["a"]["status"] == "success"
    assert (root / "target" / "a.parquet").exists()


MONITORED = """
sources:
  - {name: feat, file: data/feat.csv}
  - {name: spine, file: data/spine.csv}
  - {name: preds, file: data/preds.csv}
feature_views:
  - name: a
    source: feat
    entities: [id]
    event_timestamp: ts
    features:
      id: {type: int32}
      val: {type: float}
models:
  - name: m
    features: [a:val]
    target: {feature: a:val, kind: KIND}
    spine: spine
    predictions: {source: preds, prediction: p, event_timestamp: ts}
    alerts:
      METRIC: {max: 1}
"""


@pytest.mark.parametrize(
    ("kind", "metric", "fragment"),
    [
        ("classification", "mae", "a regression metric, and the model is a classifier"),
        ("regression", "accuracy", "a classification metric, and the model is a regression"),
        ("classification", "roc_auc", "`predictions:` names none"),
    ],
)
def test_an_alert_the_model_never_computes_is_an_error(
    tmp_path: Path, kind: str, metric: str, fragment: str
) -> None:
    """It would never fire: `aligned monitor` computes other metrics for the model."""
    text = MONITORED.replace("KIND", kind).replace("METRIC", metric)
    preds = "id,ts,p\n1,2024-01-03 00:00:00,1\n"
    root = _project(tmp_path, text, **{"data/preds.csv": preds})
    assert_project_error(_compile(root), "features/f.yml:", fragment)
    fitting = "rmse" if kind == "regression" else "accuracy"
    root = _project(
        tmp_path / "ok",
        MONITORED.replace("KIND", kind).replace("METRIC", fitting),
        **{"data/preds.csv": preds},
    )
    assert_ok(_compile(root))


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("val +", "the SQL is incomplete near '+'"),
        ("'abc", "is a quote or a comment left open?"),
    ],
)
def test_transform_sql_errors_read_as_yaml_ones(tmp_path: Path, sql: str, fragment: str) -> None:
    """No sqlglot internals ("Required keyword: 'expression' missing for <class Add>")
    and no traceback from the tokenizer."""
    py = (
        "from aligned_cli import feature_view, FileSource, Int32, Float, transform_sql\n"
        'src = FileSource.csv_at("data/feat.csv")\n'
        '@feature_view(name="p", source=src)\n'
        "class P:\n"
        "    id = Int32().as_entity()\n"
        "    val = Float()\n"
        f"    x = transform_sql({sql!r})\n"
    )
    root = write_project(tmp_path, {"data/feat.csv": DATA, "features/p.py": py}, PROJECT)
    output = assert_project_error(_compile(root), "p.py:7", fragment)
    assert "Required keyword" not in output and "Error tokenizing" not in output


def test_remainder_of_columns_of_unknown_type_stays_an_integer_remainder(tmp_path: Path) -> None:
    """`id % 100` over a table source's column (type unknown at compile time) is left
    to the engine: rewritten into float arithmetic it would round big integers."""
    features = """
sources:
  - {name: t, table: users}
feature_views:
  - name: u
    source: t
    entities: [uid]
    features:
      uid: {type: int64}
      raw_id:
      score: {type: float}
      bucket: {expression: "raw_id % 100"}
      half: {expression: "score % 0.5"}
"""
    root = write_project(tmp_path, {"features/f.yml": features}, PROJECT)
    assert_ok(_compile(root))
    sql = (root / "target" / "compiled" / "duckdb" / "view.d.u.sql").read_text()
    bucket = next(line for line in sql.splitlines() if 'AS "bucket"' in line)
    assert '"row"."raw_id" % 100' in bucket and "TRUNC" not in bucket
    half = next(line for line in sql.splitlines() if 'AS "half"' in line)
    assert "TRUNC" in half  # a float's remainder: the portable form


SINK_VIEW = """
  - name: {name}
    source: feat
    entities: [id]
    event_timestamp: ts
    stream_source: {{stream: {stream}, sink: {sink}}}
    features:
      id: {{type: int32}}
      {column}: {{type: float}}
"""


@pytest.mark.parametrize(
    "sinks",
    [
        ("{file: target/streams/x/}", "{file: target/streams/x}"),
        ("{table: log}", "{table: log, connection: local}"),
    ],
)
def test_two_views_may_not_share_a_stream_sink(tmp_path: Path, sinks: tuple[str, str]) -> None:
    """Messages are told apart by their stream id, which two streams can share: a
    shared sink would drop or delete the other view's rows."""
    views = SINK_VIEW.format(name="a", stream="s1", sink=sinks[0], column="val")
    views += SINK_VIEW.format(name="b", stream="s2", sink=sinks[1], column="val")
    text = "sources:\n  - {name: feat, file: data/feat.csv}\nfeature_views:" + views
    root = _project(tmp_path, text)
    assert_project_error(
        _compile(root), "features/f.yml:", "feature views 'a' and 'b' write the same stream sink"
    )


def test_a_stream_sink_view_may_not_have_a_stream_id_column(tmp_path: Path) -> None:
    views = SINK_VIEW.format(name="a", stream="s1", sink="{file: target/x/}", column="_stream_id")
    text = "sources:\n  - {name: feat, file: data/feat.csv}\nfeature_views:" + views
    root = _project(tmp_path, text, **{"data/feat.csv": "id,ts,_stream_id\n1,2024-01-01,1\n"})
    assert_project_error(_compile(root), "has a column named '_stream_id'")


UNIQUE_PY = """
from aligned_cli import feature_view, FileSource, Int32, Float, EventTimestamp

src = FileSource.csv_at("data/feat.csv")

@feature_view(name="p", source=src, unique={settings})
class P:
    id = Int32().as_entity()
    ts = EventTimestamp()
    val = Float()
"""


def test_python_views_set_the_unique_test_too(tmp_path: Path) -> None:
    duplicated = "id,ts,val,s\n1,2024-01-01 00:00:00,10,abc\n1,2024-01-01 00:00:00,20,def\n"
    py = UNIQUE_PY.format(settings='{"severity": "warn"}')
    root = write_project(tmp_path, {"data/feat.csv": duplicated, "features/p.py": py}, PROJECT)
    assert_ok(aligned(root, "test"))
    assert results(root)["p__unique"]["status"] == "warn"
    for settings, fragment in [
        ('{"severity": "fatal"}', "severity must be 'error' or 'warn'"),
        ('{"warn_iff": ">1"}', "not 'warn_iff'"),
        ('{"error_if": "lots"}', "error_if"),
    ]:
        (root / "features" / "p.py").write_text(UNIQUE_PY.format(settings=settings))
        assert_project_error(_compile(root), "p.py:", fragment)


@pytest.mark.parametrize(
    ("bounds", "fragment"),
    [("{}", "with no bound"), ("{min: 0.9, max: 0.1}", "whose min 0.9 is above its max 0.1")],
)
def test_an_alert_no_value_could_pass_or_fail_is_an_error(
    tmp_path: Path, bounds: str, fragment: str
) -> None:
    text = MONITORED.replace("KIND", "classification").replace(
        "METRIC: {max: 1}", f"accuracy: {bounds}"
    )
    preds = "id,ts,p\n1,2024-01-03 00:00:00,1\n"
    root = _project(tmp_path, text, **{"data/preds.csv": preds})
    assert_project_error(_compile(root), "features/f.yml:", fragment)


def test_a_window_longer_than_engines_count_is_an_error(tmp_path: Path) -> None:
    extra = "    aggregations:\n      n: {function: count, window: 999999999w}\n"
    root = _project(tmp_path, _view("      val: {type: float}", extra=extra))
    assert_project_error(_compile(root), "features/f.yml:", "longer than engines can count")
