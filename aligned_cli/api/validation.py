"""`.validate()`: drop or flag the rows of a result that break feature constraints.

Vectorised over the Arrow result (pyarrow.compute, no row loops). A NULL fails only
`required`, and only when the view had a row for that entity: a NULL because the
entity has no history (or none within the TTL) is not a violation. Each view's
"row found" indicator is a hidden column the query selects from the view side.
Aggregations are checked like features; for them "a row" means a row inside the
window (a hidden `count` over it), so an empty window is no violation, while a window
below `min_rows` is (as in the aggregation's data-quality test).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from aligned_cli.core.ir import Aggregation, Constraint, Feature, FeatureView
from aligned_cli.errors import UsageError

if TYPE_CHECKING:
    import pyarrow as pa

ValidationMode = Literal["drop", "flag"]
CHECKED = ("required", "lower_bound", "upper_bound", "accepted_values")
FLAG_SUFFIX = "violated"


@dataclass(frozen=True)
class FeatureCheck:
    """The constraints of one result column; `found` names the hidden column that
    is TRUE (or a positive count) where the view had a row, NULL or 0 where it did
    not (None: every row is a view row)."""

    column: str
    feature: Feature | Aggregation
    found: str | None = None


def constrained(view: FeatureView, name: str) -> Feature | Aggregation | None:
    """The feature or aggregation `name` of `view` when it declares constraints."""
    declared = view.feature(name) or view.aggregation(name)
    return declared if declared is not None and declared.constraints else None


def window_found(name: str, aggregation: Aggregation) -> Aggregation | None:
    """The hidden `count` telling rows with an empty window (no violation of
    `required`) from NULLs of a non-empty one; None when nothing needs it."""
    if not any(c.kind == "required" for c in aggregation.constraints):
        return None
    return Aggregation(name=name, function="count", window=aggregation.window)


def flag_name(column: str, constraint: Constraint) -> str:
    """`age__upper_bound__violated`: True where the row breaks the constraint."""
    return f"{column}__{constraint.kind}__{FLAG_SUFFIX}"


def validate_table(
    table: pa.Table, checks: Sequence[FeatureCheck], mode: ValidationMode
) -> pa.Table:
    """`table` without violating rows (`drop`), or with one boolean column per
    constraint appended (`flag`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if mode not in ("drop", "flag"):
        raise UsageError(f"unknown validation mode '{mode}'; use 'drop' or 'flag'")
    flags: list[tuple[str, pa.ChunkedArray]] = []
    for check in checks:
        for constraint in check.feature.constraints:
            if constraint.kind in CHECKED:
                flags.append(
                    (flag_name(check.column, constraint), _violations(table, check, constraint))
                )
    if mode == "flag":
        for name, flag in flags:
            table = table.append_column(pa.field(name, pa.bool_(), nullable=False), flag)
        return table
    if not flags:
        return table
    broken = flags[0][1]
    for _, flag in flags[1:]:
        broken = pc.or_(broken, flag)
    return table.filter(pc.invert(broken))


def _violations(table: pa.Table, check: FeatureCheck, constraint: Constraint) -> pa.ChunkedArray:
    """True where the row breaks `constraint`, never NULL."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = table.column(check.column)
    if constraint.kind == "required":
        had_row = (
            # TRUE/NULL for a view's row, a count for an aggregation's window.
            pc.fill_null(pc.cast(table.column(check.found), pa.bool_()), False)
            if check.found
            else pa.chunked_array([pa.array([True] * table.num_rows, pa.bool_())])
        )
        return pc.and_(pc.is_null(values), had_row)
    if constraint.kind == "accepted_values":
        accepted = _value_set(list(constraint.value or []), values.type)
        # `is_in` says False (not NULL) for a NULL value: keep NULLs NULL here.
        broken = pc.if_else(
            pc.is_null(values), None, pc.invert(pc.is_in(values, value_set=accepted))
        )
    else:
        bound = _scalar(constraint.value, values.type)
        if constraint.kind == "lower_bound":
            broken = (
                pc.less(values, bound) if constraint.is_inclusive else pc.less_equal(values, bound)
            )
        else:
            broken = (
                pc.greater(values, bound)
                if constraint.is_inclusive
                else pc.greater_equal(values, bound)
            )
    # NULLs fail only `required` (SPEC §6).
    return pc.fill_null(broken, False)


def _value_set(values: list[object], kind: pa.DataType) -> pa.Array:
    import pyarrow as pa

    try:
        return pa.array(values).cast(kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.array([str(v) for v in values]).cast(kind)


def _scalar(value: object, kind: pa.DataType) -> pa.Scalar:
    import pyarrow as pa
    import pyarrow.types as pt

    # Compare integers against a float bound as floats (age > 110.5).
    target = pa.float64() if pt.is_integer(kind) and isinstance(value, float) else kind
    return pa.scalar(value).cast(target)
