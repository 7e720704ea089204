"""Raw rows -> a view's rows, derived features included, by the view's own compiled SQL.

/push and the worker must compute derived features exactly as offline, so they do
not re-implement them: the rows are registered as an Arrow table in an in-memory
DuckDB session and the view's compiled query (`view_query`) runs over it, with the
view's source swapped for that table. One implementation, offline and online.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.core.ir import Connection, Project, Source, SourceRef
from aligned_cli.core.types import DataType
from aligned_cli.errors import AlignedError, ExecutionError
from aligned_cli.online.codec import FIRST_MICROS, LAST_MICROS

if TYPE_CHECKING:
    import pyarrow as pa

    from aligned_cli.execute.adapters import Adapter

INPUT_TABLE = "__aligned_online_rows"
INPUT_SOURCE = "__aligned_online_input"


class RowsError(AlignedError):
    """Pushed rows that cannot be a view's input (HTTP 422); `field` names the culprit."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class ViewTransformer:
    """Compiles each view's input->row query once; runs it on pushed rows.

    Thread-safe: one DuckDB session guarded by a lock (a query takes ~1 ms)."""

    def __init__(self, project: Project, root: Path) -> None:
        from aligned_cli.core.inheritance import resolve_view_inheritance

        self._project = resolve_view_inheritance(project)
        self._root = root
        self._adapter: Adapter | None = None
        self._lock = threading.Lock()
        self._compiled: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {}

    def close(self) -> None:
        if self._adapter is not None:
            self._adapter.close()
            self._adapter = None

    def input_columns(self, view: str) -> tuple[str, ...]:
        return self._compile(view)[1]

    def transform(self, view: str, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
        """The view's rows (keys, timestamps, features) computed from raw `rows`."""
        sql, inputs, required = self._compile(view)
        declared = self._project.views[view]
        types = {f.name: f.dtype for f in declared.features}
        rows = _time_alias(rows, declared.event_timestamp, inputs)
        table = _input_table(rows, inputs, required, types)
        with self._lock:
            adapter = self._session()
            adapter.register_arrow(INPUT_TABLE, table)
            try:
                computed = adapter.fetch_arrow(sql)
            except ExecutionError as error:  # e.g. 'abc' for an int feature
                raise RowsError(f"rows cannot be read as view '{view}': {error}", "rows") from None
            finally:
                adapter.unregister(INPUT_TABLE)
        _check_instants(computed)
        return computed

    def _session(self) -> Adapter:
        if self._adapter is None:
            from aligned_cli.execute.adapters import open_adapter

            memory = Connection(name="online", type="duckdb", path=":memory:")
            self._adapter = open_adapter(memory, self._root)
        return self._adapter

    def _compile(self, view_name: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        cached = self._compiled.get(view_name)
        if cached is not None:
            return cached
        from aligned_cli.compile.dialects import get_dialect
        from aligned_cli.compile.views import resolve_derived_features, view_query

        view = self._project.views[view_name]
        # The columns the original input offers, so expressions resolve the same way
        # (an identity mapping: the compiled SQL stays `SELECT *` over the rows).
        known = _input_names(self._project, view_name)
        # The view, as if it read a table holding exactly the pushed rows.
        swapped = view.model_copy(update={"source": SourceRef(kind="source", name=INPUT_SOURCE)})
        project = self._project.model_copy(
            update={
                "views": {**self._project.views, view_name: swapped},
                "sources": {
                    **self._project.sources,
                    INPUT_SOURCE: Source(
                        name=INPUT_SOURCE, table=INPUT_TABLE, mapping={n: n for n in known}
                    ),
                },
            }
        )
        derived = resolve_derived_features(project, swapped)
        inputs = list(swapped.key_columns)
        inputs += [f.name for f in swapped.features if f.name not in derived]
        for item in derived.values():
            inputs += [name for name in item.reads if name not in derived]
        required = [*swapped.entities, swapped.event_timestamp]
        dialect = get_dialect("duckdb")
        sql = dialect.sql(view_query(project, view_name, dialect), pretty=False)
        compiled = (sql, tuple(dict.fromkeys(inputs)), tuple(c for c in required if c))
        self._compiled[view_name] = compiled
        return compiled


def _input_names(project: Project, view_name: str) -> list[str]:
    from aligned_cli.compile.views import output_columns

    ref = project.views[view_name].source
    if ref.kind == "view":
        return output_columns(project.views[ref.name])
    return list(project.sources[ref.name].mapping.values())


TIME_ALIAS = "event_timestamp"


def _time_alias(
    rows: Sequence[Mapping[str, Any]], event: str | None, inputs: Sequence[str]
) -> Sequence[Mapping[str, Any]]:
    """Rows whose `event_timestamp` names the view's own time column (SPEC §10's /push
    example calls it that whatever the view does), where the view has no input of
    that name and the row does not also give the column itself."""
    if event is None or event == TIME_ALIAS or TIME_ALIAS in inputs:
        return rows
    return [
        {**{k: v for k, v in row.items() if k != TIME_ALIAS}, event: row[TIME_ALIAS]}
        if TIME_ALIAS in row and event not in row
        else row
        for row in rows
    ]


# Types whose values are one JSON scalar: an object or a list is no value of theirs.
_SCALAR_TYPES = frozenset(DataType) - {DataType.JSON, DataType.EMBEDDING}


def _input_table(
    rows: Sequence[Mapping[str, Any]],
    inputs: Sequence[str],
    required: Sequence[str],
    types: Mapping[str, DataType | None],
) -> pa.Table:
    """An Arrow table with exactly `inputs` as columns (absent ones all NULL).

    A column whose values Arrow types differently (`0.5` and `"NaN"`, `1` and `"2"`) is
    passed as text, which the view's query casts to the declared type, as it would each
    value of a single row: whether a row is accepted never depends on its batch."""
    import pyarrow as pa

    known = set(inputs)
    for index, row in enumerate(rows):
        unknown = [name for name in row if name not in known]
        if unknown:
            raise RowsError(
                f"rows[{index}] has unknown column '{unknown[0]}'; "
                f"the view's inputs are: {', '.join(inputs)}",
                field=f"rows.{index}.{unknown[0]}",
            )
        for name in required:
            if row.get(name) is None:
                raise RowsError(f"rows[{index}] needs a value for '{name}'", f"rows.{index}.{name}")
        for name, value in row.items():
            if isinstance(value, Mapping | list) and types.get(name) in _SCALAR_TYPES:
                raise RowsError(
                    f"rows[{index}].{name} is {type(value).__name__}, not a {types[name]} value",
                    f"rows.{index}.{name}",
                )
    arrays = []
    for name in inputs:
        values = [row.get(name) for row in rows]
        try:
            arrays.append(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            arrays.append(pa.array([_as_text(v) for v in values], pa.string()))
    return pa.Table.from_arrays(arrays, names=list(inputs))


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list):
        return json.dumps(value)
    return str(value)


def _check_instants(table: pa.Table) -> None:
    """Every time a row holds must be one a datetime can hold (years 1 to 9999): the
    engine stores later ones, which no client could then be served."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for name, column in zip(table.column_names, table.columns, strict=True):
        if not pa.types.is_timestamp(column.type) or column.null_count == len(column):
            continue
        micros = column.cast(pa.timestamp("us", tz=column.type.tz)).cast(pa.int64())
        outside = pc.or_(pc.less(micros, FIRST_MICROS), pc.greater(micros, LAST_MICROS))
        if pc.any(outside).as_py():
            index = pc.index(outside, True).as_py()
            raise RowsError(
                f"rows[{index}].{name} lies outside the years 1 to 9999",
                f"rows.{index}.{name}",
            )
