"""Values declared for features (constraint values, model defaults) that fit the
feature's type, checked once every type is known.

A bound or an accepted value the engine cannot compare with the column (`'abc'` as a
float's lower bound, `a` among an int's accepted values) would make the test itself
fail at run time, as an `error` far from the declaration; a default of the wrong type
fails the model's build, and only when some entity has no history. YAML and the Python
DSL build the same IR, so the check is made here, on the IR, for both.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from aligned_cli.core.ir import Aggregation, Constraint, Feature, FeatureView, Project
from aligned_cli.core.types import INTEGER_TYPES, NUMERIC_TYPES, DataType
from aligned_cli.errors import ProjectError

_BOUNDS = ("lower_bound", "upper_bound")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_DOUBLE_MAX = 1.7976931348623157e308
_TEMPORAL = frozenset({DataType.DATE, DataType.TIMESTAMP})
# Types a bound or an accepted value can be compared with.
_COMPARABLE = NUMERIC_TYPES | _TEMPORAL | {DataType.STRING}


def check_declared_values(project: Project) -> None:
    """Raise a located ProjectError for the first constraint value or model default
    that does not fit its feature's type (features of unknown type are left to the
    engine)."""
    for view in project.views.values():
        declared: list[Feature | Aggregation] = [*view.features, *view.aggregations]
        for feature in declared:
            if feature.dtype is None:
                continue
            for constraint in feature.constraints:
                problem = _problem(constraint, feature.dtype)
                if problem is not None:
                    _raise(view, feature, constraint, *problem)
    for model in project.models.values():
        for key, value in model.defaults.items():
            for ref in model.features:
                if key not in (ref.feature, str(ref), f"{ref.view}__{ref.feature}"):
                    continue
                view = project.views[ref.view]
                found = view.feature(ref.feature) or view.aggregation(ref.feature)
                dtype = found.dtype if found is not None else None
                if dtype is None or dtype not in _COMPARABLE | {DataType.BOOL}:
                    continue
                if value is not None and not _fits(value, dtype):
                    raise ProjectError(
                        f"model '{model.name}' has default {value!r} for '{ref}', "
                        f"which is not a {_kind_of(dtype)} ({dtype})",
                        location=model.location,
                        hint=f"give a default of the feature's type; {_example(dtype, key)}",
                    )


def _problem(constraint: Constraint, dtype: DataType) -> tuple[str, str] | None:
    """(what is wrong, a hint), or None when the value fits."""
    kind, value = constraint.kind, constraint.value
    if kind in _BOUNDS:
        if dtype not in _COMPARABLE:
            return f"a {dtype} feature has no order to bound", "remove the bound"
        if value is None:
            return "the bound has no value", f"give one, e.g. `{kind}: 0`"
        if not _fits(value, dtype):
            return f"bound {value!r} is not a {_kind_of(dtype)}", _example(dtype, kind)
    elif kind == "accepted_values":
        if not isinstance(value, list | tuple):
            return (
                f"accepted_values needs a list, not {value!r}",
                "list the values, e.g. `accepted_values: [a, b]`",
            )
        if not value:
            return "accepted_values lists no values", "list at least one value"
        for item in value:
            if item is None:
                return (
                    "accepted_values lists null",
                    "NULLs fail only `required`; list the values a row may hold",
                )
            if dtype in _COMPARABLE | {DataType.BOOL} and not _fits(item, dtype):
                return (
                    f"accepted value {item!r} is not a {_kind_of(dtype)}",
                    _example(dtype, "accepted_values"),
                )
    return None


def _fits(value: Any, dtype: DataType) -> bool:
    if dtype is DataType.BOOL:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False  # YAML's `yes`, a DSL `True`: not a number, date or text
    if isinstance(value, float) and not math.isfinite(value):
        return False  # NaN or infinity: no SQL literal holds it as a bound
    if dtype in INTEGER_TYPES:
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        return whole and _INT64_MIN <= value <= _INT64_MAX
    if dtype in NUMERIC_TYPES:
        return isinstance(value, int | float) and abs(value) <= _DOUBLE_MAX
    if dtype in _TEMPORAL:
        return isinstance(value, date) or (isinstance(value, str) and _is_instant(value))
    return isinstance(value, str)  # string


def _is_instant(text: str) -> bool:
    try:
        datetime.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def _kind_of(dtype: DataType) -> str:
    if dtype in INTEGER_TYPES:
        return "whole number within 64 bits"
    if dtype in NUMERIC_TYPES:
        return "finite number"
    if dtype in _TEMPORAL:
        return f"{dtype} (ISO 8601 text, e.g. '2024-01-31')"
    if dtype is DataType.BOOL:
        return "boolean (true or false)"
    return "string"


def _example(dtype: DataType, kind: str) -> str:
    if dtype is DataType.STRING:
        example = "['1', '2']" if kind == "accepted_values" else "'a'"
        return f"quote it to make it text, e.g. `{kind}: {example}`"
    if dtype in _TEMPORAL:
        return f"write an ISO 8601 date or time, e.g. `{kind}: '2024-01-31'`"
    if dtype is DataType.BOOL:
        return "use true or false"
    return f"write a number, e.g. `{kind}: 0`"


def _raise(
    view: FeatureView,
    feature: Feature | Aggregation,
    constraint: Constraint,
    problem: str,
    hint: str,
) -> None:
    location = constraint.location or feature.location or view.location
    if location is not None and location.file.endswith(".py"):  # the DSL's spelling
        hint = re.sub(r"`(\w+): (.*?)`", r"`.\1(\2)`", hint)
    raise ProjectError(
        f"{constraint.kind} of '{view.name}:{feature.name}' ({feature.dtype}): {problem}",
        location=location,
        hint=hint,
    )
