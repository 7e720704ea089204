"""The Python DSL: declare sources, feature views and models in `features/*.py`.

Everything here builds the same IR as the YAML files (SPEC §3.2); aligned imports a
feature file and collects what it declared (see `aligned_cli.parse.python_files`).
"""

from aligned_cli.dsl.features import (
    Bool,
    CreatedTimestamp,
    Date,
    Embedding,
    EventTimestamp,
    FeatureFactory,
    Float,
    Float32,
    Int8,
    Int16,
    Int32,
    Int64,
    Json,
    String,
    Timestamp,
    transform_sql,
)
from aligned_cli.dsl.models import model_contract
from aligned_cli.dsl.sources import AwsS3Config, FileSource, JsonFileSource, PostgreSQLConfig
from aligned_cli.dsl.views import feature_view

__all__ = [
    "AwsS3Config",
    "Bool",
    "CreatedTimestamp",
    "Date",
    "Embedding",
    "EventTimestamp",
    "FeatureFactory",
    "FileSource",
    "Float",
    "Float32",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "Json",
    "JsonFileSource",
    "PostgreSQLConfig",
    "String",
    "Timestamp",
    "feature_view",
    "model_contract",
    "transform_sql",
]
