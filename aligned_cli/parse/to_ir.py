"""Turn validated YAML specs into IR objects, each with its location."""

from __future__ import annotations

from typing import Any, get_args

from aligned_cli.core.ir import (
    Aggregation,
    Connection,
    Constraint,
    ConstraintKind,
    CustomTest,
    Feature,
    FeatureRef,
    FeatureView,
    Freshness,
    Model,
    Output,
    RowCountTest,
    Source,
    SourceRef,
    Spine,
    Target,
    UniqueTest,
)
from aligned_cli.core.location import Location
from aligned_cli.core.types import parse_duration
from aligned_cli.errors import ProjectError
from aligned_cli.parse import monitoring as monitoring_spec
from aligned_cli.parse import schema as s
from aligned_cli.parse.yaml_loader import LoadedYaml, Path_

# Constraint keys of a feature or aggregation, in the order their tests are listed:
# every constraint kind, with `not_null` (another spelling of `required`) after it.
_CONSTRAINT_KEYS = ("required", "not_null", *get_args(ConstraintKind)[1:])

# File suffixes that say a source's format (SPEC §3.1: "by suffix, or `format:`"):
# the ones `Source.file_format` reads as parquet, and those DuckDB's csv reader takes
# (tab-separated, and gzip/zstd-compressed, files are sniffed and decompressed).
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".csv.zst", ".tsv.zst")


def connections(spec: s.ProjectSpec) -> dict[str, Connection]:
    return {
        name: Connection(
            name=name,
            type=c.type,
            path=c.path,
            dsn=c.dsn,
            schema_name=c.schema_name,
            options=c.options,
        )
        for name, c in spec.connections.items()
    }


def freshness(spec: s.FreshnessSpec | None) -> Freshness | None:
    if spec is None:
        return None
    return Freshness(
        warn_after=parse_duration(spec.warn_after) if spec.warn_after is not None else None,
        error_after=parse_duration(spec.error_after) if spec.error_after is not None else None,
    )


def source(spec: s.SourceSpec, loaded: LoadedYaml, path: Path_) -> Source:
    declared = [k for k in ("file", "table", "query") if getattr(spec, k) is not None]
    location = loaded.location(path)
    if len(declared) != 1:
        raise ProjectError(
            f"source '{spec.name}' must declare exactly one of file, table or query"
            + (f" (it declares {', '.join(declared)})" if declared else ""),
            location=location,
            hint="e.g. `file: data/titanic.csv` or `table: passenger`",
        )
    if spec.file is not None and spec.format is None:
        _check_file_suffix(spec, loaded.location((*path, "file")))
    return Source(
        name=spec.name,
        description=spec.description,
        tags=spec.tags,
        file=spec.file,
        format=spec.format,
        table=spec.table,
        schema_name=spec.schema_name,
        query=spec.query,
        connection=spec.connection,
        mapping=spec.mapping,
        timezone=spec.timezone,
        event_timestamp=spec.event_timestamp,
        loaded_at_field=spec.loaded_at_field,
        freshness=freshness(spec.freshness),
        stream=spec.stream,
        location=location,
    )


def _check_file_suffix(spec: s.SourceSpec, location: Location) -> None:
    """A file source without `format:` must say its format by its suffix: anything
    else used to be read as csv without a word (a glob or URL ends with the suffix too)."""
    assert spec.file is not None
    if spec.file.lower().endswith(PARQUET_SUFFIXES + CSV_SUFFIXES):
        return
    raise ProjectError(
        f"source '{spec.name}': the suffix of file '{spec.file}' does not say its format "
        f"(known: {', '.join(PARQUET_SUFFIXES + CSV_SUFFIXES)})",
        location=location,
        hint="add `format: csv` or `format: parquet` to the source",
    )


def output(spec: s.OutputSpec | None, loaded: LoadedYaml, path: Path_) -> Output | None:
    if spec is None:
        return None
    if (spec.file is None) == (spec.table is None):
        raise ProjectError(
            "an output declares exactly one of `file` or `table`",
            location=loaded.location(path),
            hint="e.g. `{file: target/datasets/x.parquet}` or `{table: x}`",
        )
    known = (".csv", *PARQUET_SUFFIXES)
    if spec.file is not None and spec.format is None and not spec.file.lower().endswith(known):
        raise ProjectError(
            f"the suffix of output file '{spec.file}' does not say its format "
            f"(known: {', '.join(known)})",
            location=loaded.location((*path, "file")),
            hint="end the name with .parquet or .csv, or add `format: parquet|csv`",
        )
    return Output(**spec.model_dump())


def stream_sink(spec: s.StreamSourceSpec | None, loaded: LoadedYaml, path: Path_) -> Output | None:
    """`stream_source: {sink: ...}` of a view, checked (`stream_sink_problem`)."""
    if spec is None or spec.sink is None:
        return None
    sink = Output(**spec.sink.model_dump())
    problem = stream_sink_problem(sink)
    if problem is not None:
        message, hint = problem
        raise ProjectError(message, location=loaded.location((*path, "sink")), hint=hint)
    return sink


def stream_sink_problem(sink: Output) -> tuple[str, str] | None:
    """What is wrong with a stream sink, as (message, hint); None: nothing.

    A file sink is a directory of parquet part files (one per batch the worker
    writes), so csv and object-store URLs are out; a table sink lives on a connection."""
    example = "e.g. `sink: {file: target/streams/trips/}` or `sink: {table: trips_log}`"
    if (sink.file is None) == (sink.table is None):
        return "a stream sink declares exactly one of `file` or `table`", example
    if sink.file is not None:
        if sink.format == "csv" or sink.file.lower().endswith(".csv"):
            return (
                f"stream sink '{sink.file}': a stream sink writes parquet part files, not csv",
                "name a directory, e.g. `sink: {file: target/streams/trips/}`",
            )
        if "://" in sink.file:
            return (
                f"stream sink '{sink.file}' is not a local directory",
                "the worker appends part files to a local directory; use a `table` sink to "
                "write to a database",
            )
        if sink.connection is not None or sink.schema_name is not None:
            return (
                "a stream sink's `connection` and `schema` apply to a `table` sink only",
                example,
            )
    elif sink.format is not None:
        return "a stream sink's `format` applies to a `file` sink only", example
    return None


def source_ref(text: str) -> SourceRef:
    kind, sep, name = text.partition(":")
    if sep and kind.strip() == "view":
        return SourceRef(kind="view", name=name.strip())
    if sep and kind.strip() == "source":
        return SourceRef(kind="source", name=name.strip())
    return SourceRef(kind="source", name=text.strip())


def view(spec: s.ViewSpec, loaded: LoadedYaml, path: Path_) -> FeatureView:
    features = [
        _feature(name, fspec or s.FeatureSpec(), loaded, (*path, "features", name))
        for name, fspec in spec.features.items()
    ]
    aggregations = [
        Aggregation(
            name=name,
            function=a.function,
            of=a.of,
            window=parse_duration(a.window),
            min_rows=a.min_rows,
            dtype=a.type,
            description=a.description,
            constraints=_constraints(a, loaded, (*path, "aggregations", name)),
            location=loaded.location((*path, "aggregations", name)),
        )
        for name, a in spec.aggregations.items()
    ]
    tests = [
        CustomTest(location=loaded.location((*path, "tests", i)), **t.model_dump())
        for i, t in enumerate(spec.tests)
    ]
    row_count = None
    if spec.row_count is not None:
        row_count = RowCountTest(
            location=loaded.location((*path, "row_count")), **spec.row_count.model_dump()
        )
    unique = None
    if spec.unique is not None:
        unique = UniqueTest(location=loaded.location((*path, "unique")), **spec.unique.model_dump())
    return FeatureView(
        name=spec.name,
        description=spec.description,
        tags=spec.tags,
        source=source_ref(spec.source),
        entities=spec.entities or [],
        event_timestamp=spec.event_timestamp,
        created_timestamp=spec.created_timestamp,
        ttl=parse_duration(spec.ttl) if spec.ttl is not None else None,
        features=features,
        aggregations=aggregations,
        materialized_source=output(
            spec.materialized_source, loaded, (*path, "materialized_source")
        ),
        tests=tests,
        row_count=row_count,
        unique=unique,
        freshness=freshness(spec.freshness),
        stream=spec.stream_source.stream if spec.stream_source else None,
        stream_sink=stream_sink(spec.stream_source, loaded, (*path, "stream_source")),
        location=loaded.location(path),
    )


def _constraints(spec: s.ConstraintsSpec, loaded: LoadedYaml, path: Path_) -> list[Constraint]:
    """The constraints of a feature or an aggregation, each located at its key."""
    if spec.model_fields_set.isdisjoint(_CONSTRAINT_KEYS):
        return []  # every constraint key defaults to None: most features have none
    constraints: list[Constraint] = []
    for key in _CONSTRAINT_KEYS:
        value = getattr(spec, key)
        if value is None or value is False:
            continue
        constraints.append(_constraint(key, value, spec, loaded.location((*path, key))))
    return constraints


def _feature(name: str, spec: s.FeatureSpec, loaded: LoadedYaml, path: Path_) -> Feature:
    constraints = _constraints(spec, loaded, path)
    if spec.expression is not None and spec.type is None and not spec.expression.strip():
        raise ProjectError(
            f"feature '{name}' has an empty expression", location=loaded.location(path)
        )
    return Feature(
        name=name,
        dtype=spec.type,
        expression=written_expression(spec.expression),
        description=spec.description,
        constraints=constraints,
        optional=spec.optional,
        location=loaded.location(path),
    )


def written_expression(text: str | None) -> str | None:
    """A derived expression as the user wrote it (SQL in the project's dialect, which
    a feature file does not know: the compiler parses it in that dialect).

    Kept as written, not re-spelled by sqlglot, so errors name the expression the
    user wrote ('abs(sex)', not 'ABS(sex)'); checksums compare canonical SQL
    (`graph.checksums`), so reformatting it is still not a change.
    """
    return text.strip() if text is not None else None


def _constraint(key: str, value: Any, feature: s.ConstraintsSpec, location: Any) -> Constraint:
    kind = "required" if key == "not_null" else key
    check = value if isinstance(value, s.CheckSpec) else None
    if check is None:
        payload: Any = None if key in ("required", "not_null") else value
    elif key == "accepted_values":
        payload = check.values if check.values is not None else check.value
    elif key == "relationships":
        payload = {"to": check.to, "field": check.field}
    elif key in ("mean", "min", "max"):
        payload = {"min": check.min, "max": check.max}
    else:
        payload = check.value
    inclusive = feature.is_inclusive
    if check is not None and check.is_inclusive is not None:
        inclusive = check.is_inclusive
    return Constraint(
        kind=kind,
        value=payload,
        is_inclusive=inclusive,
        severity=(check.severity if check and check.severity else feature.severity) or "error",
        warn_if=check.warn_if if check else None,
        error_if=check.error_if if check else None,
        location=location,
    )


def model(spec: s.ModelSpec, loaded: LoadedYaml, path: Path_) -> Model:
    refs: list[FeatureRef] = []
    for i, text in enumerate(spec.features):
        refs.append(_feature_ref(text, loaded, (*path, "features", i)))
    target = None
    if spec.target is not None:
        if (spec.target.feature is None) == (spec.target.column is None):
            raise ProjectError(
                f"model '{spec.name}': a target names exactly one of `feature` or `column`",
                location=loaded.location((*path, "target")),
                hint="e.g. `target: {feature: passenger:survived, kind: classification}`",
            )
        target = Target(
            feature=_feature_ref(spec.target.feature, loaded, (*path, "target", "feature"))
            if spec.target.feature
            else None,
            column=spec.target.column,
            kind=spec.target.kind,
            name=spec.target.name,
        )
    spine = None
    if isinstance(spec.spine, str):
        spine = Spine(source=spec.spine)
    elif spec.spine is not None:
        spine = Spine(source=spec.spine.source, event_timestamp=spec.spine.event_timestamp)
    return Model(
        name=spec.name,
        description=spec.description,
        tags=spec.tags,
        features=refs,
        target=target,
        spine=spine,
        output=output(spec.output, loaded, (*path, "output")),
        defaults=spec.defaults,
        predictions=monitoring_spec.predictions(spec.predictions),
        alerts=monitoring_spec.alerts(spec.alerts),
        location=loaded.location(path),
    )


def _feature_ref(text: str, loaded: LoadedYaml, path: Path_) -> FeatureRef:
    try:
        return FeatureRef.parse(text)
    except ValueError as error:
        raise ProjectError(
            str(error), location=loaded.location(path), hint="e.g. passenger:age"
        ) from None
