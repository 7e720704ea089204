"""aligned: a compiler-style toolchain for ML feature data.

The Python DSL names are imported lazily so that `aligned --help` stays fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_DSL_NAMES = {
    "feature_view",
    "model_contract",
    "FileSource",
    "PostgreSQLConfig",
    "AwsS3Config",
    "Bool",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "Float",
    "Float32",
    "String",
    "Date",
    "Timestamp",
    "EventTimestamp",
    "CreatedTimestamp",
    "Json",
    "Embedding",
    "transform_sql",
}
_API_NAMES = {"FeatureStore"}


def __getattr__(name: str) -> Any:
    if name in _DSL_NAMES:
        from aligned_cli import dsl

        return getattr(dsl, name)
    if name in _API_NAMES:
        from aligned_cli import api

        return getattr(api, name)
    raise AttributeError(f"module 'aligned_cli' has no attribute {name!r}")


__all__ = sorted(_DSL_NAMES | _API_NAMES | {"__version__"})
