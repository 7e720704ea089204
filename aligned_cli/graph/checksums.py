"""Content checksums of nodes, compared by `state:modified` (SPEC §5, §7).

A checksum is the sha256 of a canonical JSON dump of the node's IR object:
sorted keys, no `location` (moving a declaration is not a change), and derived
expressions rewritten as sqlglot's canonical SQL (reformatting is not a change).
Constraints, custom tests and row-count checks are left out of feature and view
checksums: they are test nodes with checksums of their own, so tightening a bound
re-selects that test, not the view's data.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache, lru_cache
from typing import Any

import sqlglot
from pydantic import BaseModel
from sqlglot.errors import SqlglotError

from aligned_cli.core.ir import Aggregation, Feature, FeatureView

# Fields that never count towards a checksum, per IR class.
_ALWAYS_SKIPPED = frozenset({"location"})
_SKIPPED_BY_TYPE: dict[type[BaseModel], frozenset[str]] = {
    Feature: frozenset({"constraints"}),
    Aggregation: frozenset({"constraints"}),
    FeatureView: frozenset({"tests", "row_count", "unique", "stream_sink"}),
}


# `json.dumps(..., sort_keys=True, separators=(",", ":"))`, without building an encoder
# for every one of thousands of nodes.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))

# Values a canonical form keeps as they are (subclasses, e.g. enums, take the long way).
_PLAIN = frozenset({str, int, float, bool, type(None)})

# id(object) -> (object, its canonical form); the object is kept to make ids safe.
CanonicalMemo = dict[int, tuple[BaseModel, dict[str, Any]]]


def node_checksum(
    obj: BaseModel, *, dialect: str = "duckdb", memo: CanonicalMemo | None = None
) -> str:
    """The sha256 hex digest of `obj`'s canonical definition; same in every process.

    `memo` (one per DAG build) shares canonical forms between nodes: a view's
    checksum covers its features, and each feature is a node of its own too.
    """
    text = _ENCODER.encode(_canonical(obj, dialect, memo))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=65536)
def canonical_sql(expression: str, dialect: str = "duckdb") -> str:
    """`COALESCE( age , 0 )` and `coalesce(age,0)` both -> `COALESCE(age, 0)`.

    Text that does not parse is kept as written (stripped); parsing reports it.
    Cached: a view's checksum and each of its features' checksums see the same text.
    """
    try:
        return sqlglot.parse_one(expression, read=dialect).sql(dialect=dialect)
    except SqlglotError:
        return expression.strip()


def _canonical(value: Any, dialect: str, memo: CanonicalMemo | None = None) -> Any:
    kind: type = type(value)
    if kind in _PLAIN:  # most values: checked first, by exact type
        return value
    if _is_model(kind):  # by type, cached: isinstance with pydantic's ABC meta is slow
        known = memo.get(id(value)) if memo is not None else None
        if known is not None and known[0] is value:
            return known[1]
        attrs = vars(value)
        fields = {}
        model: BaseModel = value
        for name in _checked_fields(type(model)):
            item = attrs[name]  # plain values inline: most fields, tens of thousands
            fields[name] = item if type(item) in _PLAIN else _canonical(item, dialect, memo)
        if _is_feature(kind) and value.expression is not None:
            fields["expression"] = canonical_sql(value.expression, dialect)
        if memo is not None:
            memo[id(value)] = (value, fields)
        return fields
    if isinstance(value, dict):
        return {str(key): _canonical(item, dialect, memo) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item, dialect, memo) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)  # enums are StrEnums; anything else by its text


@cache
def _is_model(kind: type) -> bool:
    return issubclass(kind, BaseModel)


@cache
def _is_feature(kind: type) -> bool:
    return issubclass(kind, Feature)


@cache
def _checked_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    """The fields of `cls` that count towards a checksum, in declaration order."""
    skipped = _ALWAYS_SKIPPED | _SKIPPED_BY_TYPE.get(cls, frozenset())
    return tuple(name for name in cls.model_fields if name not in skipped)
